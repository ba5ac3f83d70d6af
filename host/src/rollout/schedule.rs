//! Scheduled retirements: a timer per plugin, armed again at start.

use std::sync::Arc;
use std::time::Duration;

use time::OffsetDateTime;

use super::Rollout;
use crate::store::StoreError;
use crate::time::to_rfc3339;

impl Rollout {
    /// Arms the timers of scheduled retirements (at start).
    pub async fn resume_schedules(self: &Arc<Self>) -> Result<(), StoreError> {
        for record in self.records.plugins().await? {
            if let (Some(at), Some(_)) = (&record.retire_at, &record.active)
                && let Ok(at) =
                    OffsetDateTime::parse(at, &time::format_description::well_known::Rfc3339)
            {
                self.schedule(record.name.clone(), at);
            }
        }
        Ok(())
    }

    pub(super) fn schedule(self: &Arc<Self>, name: String, at: OffsetDateTime) {
        let this = self.clone();
        tokio::spawn(async move {
            let wait = (at - OffsetDateTime::now_utc()).max(time::Duration::ZERO);
            tokio::time::sleep(Duration::from_secs_f64(wait.as_seconds_f64())).await;
            let _guard = this.lock.lock().await;
            let record = match this.records.plugin(&name).await {
                Ok(Some(r)) => r,
                Ok(None) => return,
                Err(e) => {
                    tracing::error!(plugin = %name, error = %e, "scheduled retirement failed");
                    return;
                }
            };
            // Still scheduled for this time (not rescheduled or retired since)?
            if record.active.is_none() || record.retire_at.as_deref() != Some(&to_rfc3339(at)) {
                return;
            }
            let mut record = record;
            match this.publish(&mut record, None, "plugin.retired").await {
                Ok(o) => {
                    tracing::info!(plugin = %name, retired = ?o.retired, "scheduled retirement carried out")
                }
                Err(e) => {
                    tracing::error!(plugin = %name, error = %e, "scheduled retirement failed")
                }
            }
        });
    }
}

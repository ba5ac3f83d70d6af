//! Scheduled retirements. Every replica arms a timer for each scheduled
//! retirement (at start, and when another replica schedules one) and looks
//! for due ones every lease period besides; whichever replica leads the
//! `retirements` job (a database lease, see
//! [`ReplicaStore::lead`](crate::store::replicas::ReplicaStore::lead))
//! carries them out, so exactly one replica retires a plugin, and another
//! does if that one dies.

use std::sync::Arc;
use std::time::Duration;

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::Rollout;
use crate::store::StoreError;
use crate::time::to_rfc3339;

/// The job scheduled retirements run as.
const JOB: &str = "retirements";

impl Rollout {
    /// Arms the timers of scheduled retirements and starts looking for due
    /// ones every lease period (at start).
    pub async fn resume_schedules(self: &Arc<Self>) -> Result<(), StoreError> {
        self.arm_schedules().await?;
        let this = self.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(this.replica.lease).await;
                this.retire_due().await;
            }
        });
        Ok(())
    }

    /// Arms a timer for each scheduled retirement that has none here.
    pub(super) async fn arm_schedules(self: &Arc<Self>) -> Result<(), StoreError> {
        for record in self.records.plugins().await? {
            if let (Some(at), Some(_)) = (&record.retire_at, &record.active)
                && let Ok(at) = OffsetDateTime::parse(at, &Rfc3339)
            {
                self.schedule(record.name.clone(), at);
            }
        }
        Ok(())
    }

    /// Arms a timer for the retirement of `name` at `at` (once per plugin
    /// and time).
    pub(super) fn schedule(self: &Arc<Self>, name: String, at: OffsetDateTime) {
        let armed = (name, to_rfc3339(at));
        if !self.armed.lock().expect("lock").insert(armed.clone()) {
            return;
        }
        let this = self.clone();
        tokio::spawn(async move {
            let wait = (at - OffsetDateTime::now_utc()).max(time::Duration::ZERO);
            tokio::time::sleep(Duration::from_secs_f64(wait.as_seconds_f64())).await;
            this.armed.lock().expect("lock").remove(&armed);
            this.retire_due().await;
        });
    }

    /// Retires every plugin whose scheduled time has come, if this replica
    /// leads the job (its lead lasts two lease periods, renewed each time
    /// it looks).
    async fn retire_due(&self) {
        let term = self.replica.lease * 2 + Duration::from_secs(1);
        match self.jobs.lead(JOB, &self.replica.id, term).await {
            Ok(true) => {}
            Ok(false) => return,
            Err(e) => {
                tracing::error!(error = %e, "scheduled retirements: could not tell which replica leads");
                return;
            }
        }
        let _guard = self.lock.lock().await;
        let records = match self.records.plugins().await {
            Ok(records) => records,
            Err(e) => {
                tracing::error!(error = %e, "scheduled retirements could not be read");
                return;
            }
        };
        let now = OffsetDateTime::now_utc();
        for mut record in records {
            let due = record
                .retire_at
                .as_deref()
                .and_then(|at| OffsetDateTime::parse(at, &Rfc3339).ok())
                .is_some_and(|at| at <= now);
            if !due || record.active.is_none() {
                continue;
            }
            let name = record.name.clone();
            match self
                .publish(&mut record, None, "plugin.retired", "admin")
                .await
            {
                Ok(o) => {
                    tracing::info!(plugin = %name, retired = ?o.retired, "scheduled retirement carried out")
                }
                Err(e) => {
                    tracing::error!(plugin = %name, error = %e, "scheduled retirement failed")
                }
            }
        }
    }
}

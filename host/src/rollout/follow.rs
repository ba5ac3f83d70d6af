//! Following other replicas' rollout steps: each replica sharing the
//! database brings the versions it serves in line with the plugin records
//! when the change feed says they changed.

use std::sync::Arc;

use super::files::{fetch_version, source};
use super::{Rollout, RolloutError};

impl Rollout {
    /// Brings the versions this replica serves in line with the records,
    /// after another replica changed them (see [`Rollout::follow`]): each
    /// plugin whose record moved on is loaded (its files fetched from the
    /// database if this replica lacks them), checked and swapped in, or
    /// retired. The replica that took the step recorded and announced it.
    /// Returns how many plugins changed.
    pub async fn sync(&self) -> Result<usize, RolloutError> {
        let _guard = self.lock.lock().await;
        let mut changed = 0;
        for record in self.records.plugins().await? {
            let applied = self
                .applied
                .lock()
                .expect("lock")
                .get(&record.name)
                .copied();
            if applied.is_some_and(|r| r >= record.revision) {
                continue;
            }
            let new = match &record.active {
                None => None,
                Some(version) => {
                    let (manifest, wasm) =
                        fetch_version(&self.dir, &record, version, self.components.as_deref())
                            .await
                            .map_err(|e| RolloutError::Invalid(format!("{e:#}")))?;
                    let loaded = self
                        .runtime
                        .load(source(&self.config, manifest, wasm, record.config.as_ref()))
                        .await
                        .map_err(|e| RolloutError::Invalid(e.to_string()))?;
                    Some(loaded)
                }
            };
            if new.is_some() || self.registry.get(&record.name).is_some() {
                let next = self.next_state(&record.name, &new)?;
                let swap = self.swap(&record.name, new, next.catalogue, next.bindings);
                tracing::info!(plugin = %record.name, from = ?next.old_label, to = ?next.new_label, swap_us = swap.as_micros() as u64, "plugin swapped as another replica did");
                changed += 1;
            }
            self.applied
                .lock()
                .expect("lock")
                .insert(record.name.clone(), record.revision);
        }
        Ok(changed)
    }

    /// Follows the change feed: whenever plugin records change (or the feed
    /// was lost), brings this replica in line ([`Rollout::sync`]), until the
    /// process ends.
    pub async fn follow(
        self: Arc<Self>,
        mut changes: tokio::sync::broadcast::Receiver<crate::store::changes::Change>,
    ) {
        use tokio::sync::broadcast::error::RecvError;
        loop {
            let (due, credentials) = match changes.recv().await {
                Ok(change) => (
                    change.concerns(crate::store::changes::PLUGINS),
                    change.concerns(crate::store::changes::CREDENTIALS),
                ),
                Err(RecvError::Lagged(_)) => (true, true),
                Err(RecvError::Closed) => return,
            };
            if credentials {
                let reloaded = self.runtime.credentials().reload().await;
                if let Err(e) = reloaded {
                    tracing::error!(error = %e, "could not read the credentials another replica set");
                } else if let Err(e) = self.credentials_changed().await {
                    tracing::error!(error = %e, "could not serve as the credentials another replica set allow");
                }
            }
            if due && let Err(e) = self.sync().await {
                tracing::error!(error = %e, "could not serve the plugin versions another replica chose");
            }
            // A retirement another replica scheduled is carried out by
            // whichever replica leads the job when it is due.
            if due && let Err(e) = self.arm_schedules().await {
                tracing::error!(error = %e, "could not read the scheduled retirements");
            }
        }
    }
}

//! [`WebhookStore`] on the embedded store: the deliveries by id (`webhooks`),
//! plus two indexes so that neither the sender nor a listing reads every
//! delivery ever made: pending deliveries by when they are due (`webhooks_due`,
//! `{at:012}/{id}`), and deliveries by account (`webhooks_by_account`,
//! `{account}/{created_at}/{id}`). A delivery and its index entries are
//! written together, in one batch, so a scan for due deliveries never finds
//! an entry whose delivery is not written yet. Earlier versions wrote an
//! entry before its delivery: one that a crash left without its delivery,
//! or behind a settled delivery, is skipped and removed.

use std::collections::HashSet;

use super::{Delivery, DeliveryStatus, WebhookStore};
use crate::store::{Store, StoreError, Table};

/// Webhook deliveries in the embedded store.
pub struct EmbeddedWebhooks {
    table: Table,
    due: Table,
    by_account: Table,
}

fn due_key(at: i64, id: &str) -> String {
    format!("{:012}/{id}", at.max(0))
}

fn account_key(d: &Delivery) -> String {
    format!("{}/{}/{}", d.account_id, d.created_at, d.id)
}

impl EmbeddedWebhooks {
    /// The store's webhook trees; builds the indexes if this data directory
    /// has none complete yet (it predates them, or a build was cut off).
    pub async fn open(store: &Store) -> Result<Self, StoreError> {
        let this = Self {
            table: store.table("webhooks")?,
            due: store.table("webhooks_due")?,
            by_account: store.table("webhooks_by_account")?,
        };
        // The due index holds the completeness record of both.
        let indexed = this
            .table
            .index_once(&this.due, |_, d: Delivery| {
                if d.status == DeliveryStatus::Pending {
                    this.due
                        .put_unflushed(&due_key(d.next_attempt_at, &d.id), &())?;
                }
                this.by_account.put_unflushed(&account_key(&d), &())
            })
            .await?;
        if indexed > 0 {
            tracing::info!(
                deliveries = indexed,
                "indexed the stored webhook deliveries"
            );
        }
        Ok(this)
    }

    /// Every delivery, for a copy to another database.
    pub(crate) fn export(&self) -> impl Iterator<Item = Result<Delivery, StoreError>> + '_ {
        self.table.records()
    }
}

#[async_trait::async_trait]
impl WebhookStore for EmbeddedWebhooks {
    async fn enqueue(&self, delivery: &Delivery) -> Result<bool, StoreError> {
        let added = self.table.store().transaction(|tx| {
            if tx.contains(&self.table, &delivery.id)? {
                return Ok::<_, StoreError>(false);
            }
            if delivery.status == DeliveryStatus::Pending {
                tx.put(
                    &self.due,
                    &due_key(delivery.next_attempt_at, &delivery.id),
                    &(),
                );
            }
            tx.put(&self.by_account, &account_key(delivery), &());
            tx.put(&self.table, &delivery.id, delivery);
            Ok(true)
        })?;
        if added {
            self.table.flush().await?;
        }
        Ok(added)
    }

    async fn deliveries_of(
        &self,
        account_id: &str,
        limit: usize,
    ) -> Result<Vec<Delivery>, StoreError> {
        let mut out = Vec::new();
        for key in self.by_account.keys_rev(&format!("{account_id}/"), None) {
            let key = key?;
            let id = key.rsplit('/').next().unwrap_or_default();
            if let Some(d) = self.table.get::<Delivery>(id)? {
                out.push(d);
                if out.len() == limit {
                    break;
                }
            }
        }
        Ok(out)
    }

    async fn pending(&self) -> Result<u64, StoreError> {
        // Due times are digits; the completeness record sorts before them.
        // An entry a crash left behind its settled delivery counts until a
        // scan for due deliveries removes it.
        let mut n = 0;
        for item in self.due.scan_from::<()>("0", "") {
            item?;
            n += 1;
        }
        Ok(n)
    }

    async fn due(
        &self,
        now: i64,
        limit: usize,
        busy: &HashSet<String>,
    ) -> Result<(Vec<Delivery>, Option<i64>), StoreError> {
        let mut stale = Vec::new();
        let mut due = Vec::new();
        let mut next_due = None;
        // Due times are digits; the completeness record (`!complete`) sorts
        // before them.
        for item in self.due.scan_from::<()>("0", "") {
            let (key, ()) = item?;
            let Some((at, id)) = key
                .split_once('/')
                .and_then(|(at, id)| Some((at.parse::<i64>().ok()?, id)))
            else {
                stale.push(key);
                continue;
            };
            if at > now {
                next_due = Some(at);
                break;
            }
            if busy.contains(id) {
                continue;
            }
            if due.len() >= limit {
                break;
            }
            match self.table.get::<Delivery>(id)? {
                Some(d) if d.status == DeliveryStatus::Pending && d.next_attempt_at == at => {
                    due.push(d);
                }
                // Left by a crash between writes: the delivery was never
                // stored, or it was settled or rescheduled.
                _ => stale.push(key),
            }
        }
        for key in stale {
            self.due.remove_unflushed(&key)?;
        }
        Ok((due, next_due))
    }

    async fn record_attempt(&self, d: &Delivery, was_due_at: i64) -> Result<(), StoreError> {
        // The delivery and its due entries change together: a scan between
        // them would take the new entry, not yet matching the delivery, for
        // one a crash left, and remove it.
        let mut batch = self.table.store().batch();
        let was_due = due_key(was_due_at, &d.id);
        if d.status != DeliveryStatus::Pending || d.next_attempt_at != was_due_at {
            batch.remove(&self.due, &was_due);
        }
        if d.status == DeliveryStatus::Pending {
            batch.put(&self.due, &due_key(d.next_attempt_at, &d.id), &());
        }
        batch.put(&self.table, &d.id, d);
        batch.commit()?;
        self.table.flush().await
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;
    use std::sync::Arc;

    use super::{EmbeddedWebhooks, due_key};
    use crate::store::Store;
    use crate::store::webhooks::conformance::delivery;
    use crate::store::webhooks::{DeliveryStatus, WebhookStore};

    async fn fresh() -> (tempfile::TempDir, Arc<dyn WebhookStore>) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        (dir, Arc::new(EmbeddedWebhooks::open(&store).await.unwrap()))
    }

    crate::store::webhooks::conformance::suite!(fresh);

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_scan_for_due_deliveries_while_others_are_enqueued_and_retried_loses_none() {
        let (_dir, hooks) = fresh().await;
        let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
        // The sender's scans, as often as they can run.
        let scanner = {
            let (hooks, done) = (hooks.clone(), done.clone());
            tokio::spawn(async move {
                let none = HashSet::new();
                while !done.load(std::sync::atomic::Ordering::SeqCst) {
                    hooks.due(1_000, usize::MAX, &none).await.unwrap();
                    tokio::task::yield_now().await;
                }
            })
        };
        for i in 0..300 {
            let d = delivery(
                "acct_a",
                &format!("task_{i:04}"),
                990,
                "2026-01-01T00:00:00Z",
            );
            hooks.enqueue(&d).await.unwrap();
            // Retried later (an attempt failed).
            let retried = crate::store::webhooks::Delivery {
                attempts: 1,
                next_attempt_at: 995,
                ..d
            };
            hooks.record_attempt(&retried, 990).await.unwrap();
        }
        done.store(true, std::sync::atomic::Ordering::SeqCst);
        scanner.await.unwrap();
        let (due, _) = hooks.due(1_000, usize::MAX, &HashSet::new()).await.unwrap();
        assert_eq!(due.len(), 300, "every pending delivery is due");
        assert_eq!(hooks.pending().await.unwrap(), 300);
    }

    #[tokio::test]
    async fn deliveries_stored_before_the_indexes_are_listed_and_due() {
        let dir = tempfile::tempdir().unwrap();
        {
            // A data directory from before the indexes: deliveries only.
            let store = Store::open(dir.path()).unwrap();
            let table = store.table("webhooks").unwrap();
            let old = delivery("acct_a", "task_old", 990, "2026-01-01T00:00:00Z");
            let old = crate::store::webhooks::Delivery {
                status: DeliveryStatus::Delivered,
                ..old
            };
            let new = delivery("acct_a", "task_new", 990, "2026-01-02T00:00:00Z");
            let other = delivery("acct_b", "task_b", 995, "2026-01-03T00:00:00Z");
            for d in [old, new, other] {
                table.put(&d.id, &d).await.unwrap();
            }
        }
        let store = Store::open(dir.path()).unwrap();
        let hooks = EmbeddedWebhooks::open(&store).await.unwrap();
        let listed: Vec<String> = hooks
            .deliveries_of("acct_a", 100)
            .await
            .unwrap()
            .into_iter()
            .map(|d| d.task_id)
            .collect();
        assert_eq!(
            listed,
            ["task_new", "task_old"],
            "the account's, newest first"
        );
        // An index entry whose delivery never reached the disk is dropped.
        let due = store.table("webhooks_due").unwrap();
        due.put_unflushed(&due_key(980, "evt_lost"), &()).unwrap();
        let (ready, next) = hooks.due(1000, 16, &HashSet::new()).await.unwrap();
        let ready: Vec<&str> = ready.iter().map(|d| d.task_id.as_str()).collect();
        assert_eq!((ready, next), (vec!["task_new", "task_b"], None));
        assert_eq!(due.keys_rev("0", None).count(), 2, "the lost entry went");
    }
}

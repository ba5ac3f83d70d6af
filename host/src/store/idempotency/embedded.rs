//! [`IdempotencyStore`] on the embedded store: the tree `idempotency`, by key.
//! Which keys a request holds now is kept in memory (one process serves a data
//! directory): a record without a response that no request holds was left by a
//! process that stopped.

use std::collections::HashMap;
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use super::{IdempotencyStore, Reservation, StoredResponse};
use crate::store::{Store, StoreError, Table};

/// Idempotency keys in the embedded store.
pub struct EmbeddedIdempotency {
    table: Table,
    /// Keys held by a running request, with their records.
    running: Mutex<HashMap<String, Record>>,
}

/// A stored key.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Record {
    /// SHA-256 of method, path and body.
    pub(crate) fingerprint: String,
    /// The task id reserved for this request.
    pub(crate) task_id: String,
    /// When the key was first used (unix seconds).
    pub(crate) created_at: i64,
    /// The response, once the request finished.
    pub(crate) response: Option<StoredResponse>,
}

impl EmbeddedIdempotency {
    /// The store's `idempotency` tree.
    pub fn new(store: &Store) -> Result<Self, StoreError> {
        Ok(Self {
            table: store.table("idempotency")?,
            running: Mutex::default(),
        })
    }

    /// Every key (`{account}/{key}`) with its record, for a copy to
    /// another database.
    pub(crate) fn export(&self) -> impl Iterator<Item = Result<(String, Record), StoreError>> + '_ {
        self.table.scan()
    }

    fn running(&self) -> std::sync::MutexGuard<'_, HashMap<String, Record>> {
        self.running.lock().expect("idempotency lock")
    }
}

#[async_trait::async_trait]
impl IdempotencyStore for EmbeddedIdempotency {
    async fn reserve(
        &self,
        key: &str,
        fingerprint: &str,
        now: i64,
        ttl_secs: i64,
    ) -> Result<Reservation, StoreError> {
        let reservation = {
            let mut running = self.running();
            if let Some(held) = running.get(key) {
                return Ok(if held.fingerprint == fingerprint {
                    Reservation::InProgress
                } else {
                    Reservation::Conflict
                });
            }
            let stored = self
                .table
                .get::<Record>(key)?
                .filter(|r| r.created_at > now - ttl_secs);
            let record = match stored {
                Some(r) if r.fingerprint != fingerprint => return Ok(Reservation::Conflict),
                Some(Record {
                    response: Some(stored),
                    ..
                }) => return Ok(Reservation::Replay(stored)),
                // Left by a process that stopped mid-request.
                Some(r) => r,
                None => {
                    let r = Record {
                        fingerprint: fingerprint.to_string(),
                        task_id: crate::ids::new("task"),
                        created_at: now,
                        response: None,
                    };
                    self.table.put_unflushed(key, &r)?;
                    r
                }
            };
            let task_id = record.task_id.clone();
            running.insert(key.to_string(), record);
            Reservation::Run { task_id }
        };
        self.table.flush().await?;
        Ok(reservation)
    }

    async fn complete(&self, key: &str, response: &StoredResponse) -> Result<(), StoreError> {
        {
            let mut running = self.running();
            let Some(mut record) = running.remove(key) else {
                return Err(StoreError::Conflict("the key is not reserved"));
            };
            record.response = Some(response.clone());
            self.table.put_unflushed(key, &record)?;
        }
        self.table.flush().await
    }

    async fn release(&self, key: &str) -> Result<(), StoreError> {
        {
            let mut running = self.running();
            if running.remove(key).is_some() {
                self.table.remove_unflushed(key)?;
            }
        }
        self.table.flush().await
    }

    async fn abandon(&self, key: &str) -> Result<(), StoreError> {
        self.running().remove(key);
        Ok(())
    }

    async fn purge(&self, before: i64) -> Result<usize, StoreError> {
        let mut old = Vec::new();
        for item in self.table.scan::<Record>() {
            let (key, record) = item?;
            if record.created_at < before {
                old.push(key);
            }
        }
        let mut purged = 0;
        {
            let running = self.running();
            for key in old.iter().filter(|k| !running.contains_key(*k)) {
                self.table.remove_unflushed(key)?;
                purged += 1;
            }
        }
        self.table.flush().await?;
        Ok(purged)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::EmbeddedIdempotency;
    use crate::store::Store;
    use crate::store::idempotency::{IdempotencyStore, Reservation};

    async fn fresh() -> (tempfile::TempDir, Arc<dyn IdempotencyStore>) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        (dir, Arc::new(EmbeddedIdempotency::new(&store).unwrap()))
    }

    crate::store::idempotency::conformance::suite!(fresh);

    #[tokio::test]
    async fn a_key_left_by_a_stopped_process_runs_again_with_its_task_id() {
        let dir = tempfile::tempdir().unwrap();
        let first = {
            let store = Store::open(dir.path()).unwrap();
            let keys = EmbeddedIdempotency::new(&store).unwrap();
            keys.reserve("acct/k", "f", 1000, 60).await.unwrap()
        };
        let store = Store::open(dir.path()).unwrap();
        let keys = EmbeddedIdempotency::new(&store).unwrap();
        let again = keys.reserve("acct/k", "f", 1001, 60).await.unwrap();
        assert!(matches!(first, Reservation::Run { .. }));
        assert_eq!(again, first);
    }
}

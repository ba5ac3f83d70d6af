//! [`IdempotencyStore`] on PostgreSQL: the table `idempotency_keys`, one
//! row per account and key (the caller's scope, `{account}/{key}`, split at
//! its first `/`).
//!
//! Several gateway processes may share the database, so which request
//! holds a key is kept in the row (`holder`), not in memory. Each
//! [`PgIdempotency`] takes a random holder id and keeps a connection of its
//! own that holds a session-level advisory lock on it; a holder whose lock
//! is gone (its process stopped, or lost its connection) holds nothing, so
//! its key counts as left by a process that stopped: a retry runs again
//! with the key's task id. Each method is one transaction; a reservation
//! locks the key's row, so of concurrent requests with a key one runs.

use std::time::Duration;

use tokio_postgres::NoTls;

use super::{IdempotencyStore, Reservation, StoredResponse};
use crate::store::StoreError;
use crate::store::pg::{PgStore, from_json, to_json};

/// The first key of the advisory locks that holder ids take ("imi" 1).
const HOLDER_LOCKS: i32 = 0x696d_6901;

/// Whether the holder `holder` (a column or parameter) runs: its advisory
/// lock is held in this database.
fn holder_runs(holder: &str) -> String {
    format!(
        "EXISTS (SELECT 1 FROM pg_locks l \
         WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 2 \
           AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) \
           AND l.classid::bigint = {HOLDER_LOCKS} AND l.objid::bigint = {holder})"
    )
}

/// Idempotency keys in PostgreSQL.
pub struct PgIdempotency {
    pg: PgStore,
    /// This process's holder id.
    holder: i32,
    /// Keeps the connection that holds the holder id's lock (and takes it
    /// again if the connection is lost).
    lease: tokio::task::JoinHandle<()>,
}

impl Drop for PgIdempotency {
    fn drop(&mut self) {
        // The lease's connection closes with its client: the holder's keys
        // are left, as by a process that stopped.
        self.lease.abort();
    }
}

/// A connection of its own holding the lock of `holder`; `None` if
/// another process holds that id.
async fn take_lease(
    config: &tokio_postgres::Config,
    holder: i32,
) -> Result<Option<(tokio_postgres::Client, tokio::task::JoinHandle<()>)>, StoreError> {
    let (client, connection) = config.connect(NoTls).await?;
    let connection = tokio::spawn(async move {
        let _ = connection.await;
    });
    let taken: bool = client
        .query_one(
            "SELECT pg_try_advisory_lock($1, $2)",
            &[&HOLDER_LOCKS, &holder],
        )
        .await?
        .get(0);
    Ok(taken.then_some((client, connection)))
}

/// Holds the lease while the process runs: when its connection ends, takes
/// it again.
async fn keep_lease(
    config: tokio_postgres::Config,
    holder: i32,
    mut lease: (tokio_postgres::Client, tokio::task::JoinHandle<()>),
) {
    loop {
        let (_client, connection) = lease;
        let _ = connection.await;
        tracing::warn!(
            holder,
            "lost the connection that holds the idempotency keys; taking it again"
        );
        lease = loop {
            tokio::time::sleep(Duration::from_secs(1)).await;
            match take_lease(&config, holder).await {
                Ok(Some(lease)) => break lease,
                Ok(None) => tracing::error!(holder, "the holder id is taken by another process"),
                Err(e) => tracing::warn!(error = %e, "could not take the idempotency lease"),
            }
        };
    }
}

/// The caller's scope as account and key.
fn split(scope: &str) -> (&str, &str) {
    scope.split_once('/').unwrap_or(("", scope))
}

/// Stores a key (`{account}/{key}`) as another database kept it, within
/// the caller's transaction (a copy to this database).
pub(crate) async fn import(
    tx: &tokio_postgres::Transaction<'_>,
    scope: &str,
    record: &super::embedded::Record,
) -> Result<(), StoreError> {
    let (account, key) = split(scope);
    let response = record.response.as_ref();
    let status = response.map(|r| i32::from(r.status));
    let headers = response.map(|r| to_json(&r.headers));
    let body = response.map(|r| r.body.as_slice());
    tx.execute(
        "INSERT INTO idempotency_keys (account_id, key, fingerprint, task_id, created_at, \
         response_status, response_headers, response_body) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        &[
            &account,
            &key,
            &record.fingerprint,
            &record.task_id,
            &record.created_at,
            &status,
            &headers,
            &body,
        ],
    )
    .await?;
    Ok(())
}

impl PgIdempotency {
    /// The idempotency keys of the database `pg`, held by a new holder id
    /// whose lease this process keeps until the store drops.
    pub async fn new(pg: &PgStore) -> Result<Self, StoreError> {
        for _ in 0..8 {
            let holder = rand::random_range(1..i32::MAX);
            if let Some(lease) = take_lease(pg.config(), holder).await? {
                let config = pg.config().clone();
                return Ok(Self {
                    pg: pg.clone(),
                    holder,
                    lease: tokio::spawn(keep_lease(config, holder, lease)),
                });
            }
        }
        Err(StoreError::Database(
            "could not take a free idempotency holder id".into(),
        ))
    }
}

#[async_trait::async_trait]
impl IdempotencyStore for PgIdempotency {
    async fn reserve(
        &self,
        key: &str,
        fingerprint: &str,
        now: i64,
        ttl_secs: i64,
    ) -> Result<Reservation, StoreError> {
        let (account, key) = split(key);
        let task_id = crate::ids::new("task");
        let mut client = self.pg.client().await?;
        let tx = client.transaction().await?;
        let inserted = tx
            .execute(
                "INSERT INTO idempotency_keys \
                 (account_id, key, fingerprint, task_id, created_at, holder) \
                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (account_id, key) DO NOTHING",
                &[&account, &key, &fingerprint, &task_id, &now, &self.holder],
            )
            .await?;
        if inserted == 1 {
            tx.commit().await?;
            return Ok(Reservation::Run { task_id });
        }
        let row = tx
            .query_one(
                &format!(
                    "SELECT fingerprint, task_id, created_at, response_status, \
                     response_headers, response_body, holder, \
                     holder IS NOT NULL AND (holder = $3 OR {}) \
                     FROM idempotency_keys WHERE account_id = $1 AND key = $2 FOR UPDATE",
                    holder_runs("holder")
                ),
                &[&account, &key, &self.holder],
            )
            .await?;
        let stored_fingerprint: String = row.get(0);
        let held: bool = row.get(7);
        if held {
            return Ok(if stored_fingerprint == fingerprint {
                Reservation::InProgress
            } else {
                Reservation::Conflict
            });
        }
        let created_at: i64 = row.get(2);
        let reservation = if created_at <= now - ttl_secs {
            // Expired: the key is new again.
            tx.execute(
                "UPDATE idempotency_keys SET fingerprint = $3, task_id = $4, created_at = $5, \
                 response_status = NULL, response_headers = NULL, response_body = NULL, \
                 holder = $6 WHERE account_id = $1 AND key = $2",
                &[&account, &key, &fingerprint, &task_id, &now, &self.holder],
            )
            .await?;
            Reservation::Run { task_id }
        } else if stored_fingerprint != fingerprint {
            Reservation::Conflict
        } else if let Some(status) = row.get::<_, Option<i32>>(3) {
            Reservation::Replay(StoredResponse {
                status: u16::try_from(status).unwrap_or_default(),
                headers: from_json("idempotency_keys", row.get(4))?,
                body: row.get(5),
            })
        } else {
            // Left by a process that stopped mid-request: run again with
            // its task id.
            tx.execute(
                "UPDATE idempotency_keys SET holder = $3 WHERE account_id = $1 AND key = $2",
                &[&account, &key, &self.holder],
            )
            .await?;
            Reservation::Run {
                task_id: row.get(1),
            }
        };
        tx.commit().await?;
        Ok(reservation)
    }

    async fn complete(&self, key: &str, response: &StoredResponse) -> Result<(), StoreError> {
        let (account, key) = split(key);
        let client = self.pg.client().await?;
        let status = i32::from(response.status);
        let headers = to_json(&response.headers);
        let completed = client
            .execute(
                "UPDATE idempotency_keys SET response_status = $4, response_headers = $5, \
                 response_body = $6, holder = NULL \
                 WHERE account_id = $1 AND key = $2 AND holder = $3",
                &[
                    &account,
                    &key,
                    &self.holder,
                    &status,
                    &headers,
                    &response.body,
                ],
            )
            .await?;
        if completed == 0 {
            return Err(StoreError::Conflict("the key is not reserved"));
        }
        Ok(())
    }

    async fn release(&self, key: &str) -> Result<(), StoreError> {
        let (account, key) = split(key);
        let client = self.pg.client().await?;
        client
            .execute(
                "DELETE FROM idempotency_keys WHERE account_id = $1 AND key = $2 AND holder = $3",
                &[&account, &key, &self.holder],
            )
            .await?;
        Ok(())
    }

    async fn abandon(&self, key: &str) -> Result<(), StoreError> {
        let (account, key) = split(key);
        let client = self.pg.client().await?;
        client
            .execute(
                "UPDATE idempotency_keys SET holder = NULL \
                 WHERE account_id = $1 AND key = $2 AND holder = $3",
                &[&account, &key, &self.holder],
            )
            .await?;
        Ok(())
    }

    async fn purge(&self, before: i64) -> Result<usize, StoreError> {
        let client = self.pg.client().await?;
        let purged = client
            .execute(
                &format!(
                    "DELETE FROM idempotency_keys WHERE created_at < $1 \
                     AND (holder IS NULL OR (holder <> $2 AND NOT {}))",
                    holder_runs("holder")
                ),
                &[&before, &self.holder],
            )
            .await?;
        Ok(usize::try_from(purged).unwrap_or(usize::MAX))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use super::PgIdempotency;
    use crate::store::idempotency::{IdempotencyStore, Reservation};
    use crate::store::pg::testing::{TestDb, fresh_store};

    async fn fresh_pg() -> (TestDb, Arc<dyn IdempotencyStore>) {
        let (db, pg) = fresh_store().await;
        (db, Arc::new(PgIdempotency::new(&pg).await.unwrap()))
    }

    crate::store::idempotency::conformance::suite!(fresh_pg);

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn a_key_held_by_another_process_waits_and_one_left_by_a_stopped_one_runs_again() {
        let (_db, pg) = fresh_store().await;
        let first = PgIdempotency::new(&pg).await.unwrap();
        let second = PgIdempotency::new(&pg).await.unwrap();
        let run = first.reserve("acct_a/k", "f", 1000, 60).await.unwrap();
        assert!(matches!(run, Reservation::Run { .. }));
        assert_eq!(
            second.reserve("acct_a/k", "f", 1001, 60).await.unwrap(),
            Reservation::InProgress,
            "the first process runs it"
        );
        assert_eq!(
            second.reserve("acct_a/k", "g", 1001, 60).await.unwrap(),
            Reservation::Conflict
        );
        assert_eq!(second.purge(5000).await.unwrap(), 0, "a held key stays");
        // The first process stops mid-request.
        drop(first);
        let mut again = None;
        for _ in 0..100 {
            match second.reserve("acct_a/k", "f", 1002, 60).await.unwrap() {
                Reservation::InProgress => tokio::time::sleep(Duration::from_millis(50)).await,
                other => {
                    again = Some(other);
                    break;
                }
            }
        }
        assert_eq!(again, Some(run), "a retry runs with the first task id");
        second
            .complete(
                "acct_a/k",
                &crate::store::idempotency::StoredResponse {
                    status: 201,
                    headers: vec![],
                    body: b"{}".to_vec(),
                },
            )
            .await
            .unwrap();
    }
}

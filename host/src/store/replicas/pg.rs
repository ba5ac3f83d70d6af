//! [`ReplicaStore`] on PostgreSQL: the table `replicas`, one row per
//! replica, its heartbeat time by the database's clock (so replicas whose
//! clocks disagree still agree on who lives).

use std::time::Duration;

use super::{FORGET_AFTER, Heartbeat, ReplicaStore, ReplicaView, ServedPlugin};
use crate::store::StoreError;
use crate::store::pg::{PgStore, from_json, to_json};

/// Heartbeats in PostgreSQL.
pub struct PgReplicas {
    pg: PgStore,
}

impl PgReplicas {
    /// The heartbeats of the database `pg`.
    pub fn new(pg: &PgStore) -> Self {
        Self { pg: pg.clone() }
    }
}

#[async_trait::async_trait]
impl ReplicaStore for PgReplicas {
    async fn heartbeat(&self, beat: &Heartbeat) -> Result<(), StoreError> {
        let mut client = self.pg.client().await?;
        let tx = client.transaction().await?;
        // Not waited to disk: the next heartbeat says it again.
        tx.batch_execute("SET LOCAL synchronous_commit TO OFF")
            .await?;
        tx.execute(
            "INSERT INTO replicas (id, address, version, started_at, last_heartbeat, plugins) \
             VALUES ($1, $2, $3, $4, now(), $5) \
             ON CONFLICT (id) DO UPDATE SET address = EXCLUDED.address, \
             version = EXCLUDED.version, started_at = EXCLUDED.started_at, \
             last_heartbeat = EXCLUDED.last_heartbeat, plugins = EXCLUDED.plugins",
            &[
                &beat.id,
                &beat.address,
                &beat.version,
                &beat.started_at,
                &to_json(&beat.plugins),
            ],
        )
        .await?;
        tx.execute(
            "DELETE FROM replicas WHERE last_heartbeat < now() - make_interval(secs => $1)",
            &[&FORGET_AFTER.as_secs_f64()],
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn replicas(&self, live_within: Duration) -> Result<Vec<ReplicaView>, StoreError> {
        let client = self.pg.client().await?;
        let rows = client
            .query(
                "SELECT id, address, version, started_at, plugins, \
                 to_char(last_heartbeat AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), \
                 last_heartbeat >= now() - make_interval(secs => $1) \
                 FROM replicas ORDER BY started_at, id",
                &[&live_within.as_secs_f64()],
            )
            .await?;
        rows.iter()
            .map(|row| {
                Ok(ReplicaView {
                    heartbeat: Heartbeat {
                        id: row.get(0),
                        address: row.get(1),
                        version: row.get(2),
                        started_at: row.get(3),
                        plugins: from_json::<Vec<ServedPlugin>>("replicas", row.get(4))?,
                    },
                    last_heartbeat: row.get(5),
                    live: row.get(6),
                })
            })
            .collect()
    }

    async fn lead(&self, job: &str, holder: &str, term: Duration) -> Result<bool, StoreError> {
        let client = self.pg.client().await?;
        // One statement: of replicas racing for a free job, one row wins.
        let led = client
            .query_opt(
                "INSERT INTO replica_jobs (job, holder, until) \
                 VALUES ($1, $2, now() + make_interval(secs => $3)) \
                 ON CONFLICT (job) DO UPDATE SET holder = EXCLUDED.holder, until = EXCLUDED.until \
                 WHERE replica_jobs.until < now() OR replica_jobs.holder = EXCLUDED.holder \
                 RETURNING holder",
                &[&job, &holder, &term.as_secs_f64()],
            )
            .await?;
        Ok(led.is_some())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::PgReplicas;
    use crate::store::pg::testing::{TestDb, fresh_store};

    async fn fresh_pg() -> (TestDb, Arc<PgReplicas>) {
        let (db, pg) = fresh_store().await;
        (db, Arc::new(PgReplicas::new(&pg)))
    }

    crate::store::replicas::conformance::suite!(fresh_pg);
}

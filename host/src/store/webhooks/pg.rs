//! [`WebhookStore`] on PostgreSQL: the table `webhook_deliveries`, indexed
//! by account and creation, and (a partial index) pending deliveries by
//! when they are due. An index is part of its table, so no entry outlives
//! or predates its delivery.

use std::collections::HashSet;

use tokio_postgres::Row;
use tokio_postgres::types::ToSql;

use super::{Delivery, WebhookStore};
use crate::store::StoreError;
use crate::store::pg::{PgStore, from_text, to_text, to_u32};

/// Webhook deliveries in PostgreSQL.
pub struct PgWebhooks {
    pg: PgStore,
}

impl PgWebhooks {
    /// The webhook deliveries of the database `pg`.
    pub fn new(pg: &PgStore) -> Self {
        Self { pg: pg.clone() }
    }
}

const COLUMNS: &str = "id, account_id, task_id, event, url, body, status, attempts, \
     next_attempt_at, last_error, created_at";

const VALUES: &str = "($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)";

fn delivery_from(row: &Row) -> Result<Delivery, StoreError> {
    Ok(Delivery {
        id: row.get(0),
        account_id: row.get(1),
        task_id: row.get(2),
        event: row.get(3),
        url: row.get(4),
        body: row.get(5),
        status: from_text("webhook_deliveries", row.get(6))?,
        attempts: to_u32("webhook_deliveries", row.get(7))?,
        next_attempt_at: row.get(8),
        last_error: row.get(9),
        created_at: row.get(10),
    })
}

/// A delivery's columns, in the order of [`COLUMNS`].
struct Params {
    status: String,
    attempts: i64,
}

impl Params {
    fn of(d: &Delivery) -> Self {
        Self {
            status: to_text(&d.status),
            attempts: i64::from(d.attempts),
        }
    }

    fn params<'a>(&'a self, d: &'a Delivery) -> [&'a (dyn ToSql + Sync); 11] {
        [
            &d.id,
            &d.account_id,
            &d.task_id,
            &d.event,
            &d.url,
            &d.body,
            &self.status,
            &self.attempts,
            &d.next_attempt_at,
            &d.last_error,
            &d.created_at,
        ]
    }
}

/// Stores a delivery within the caller's transaction (a copy to this
/// database).
pub(crate) async fn import(
    tx: &tokio_postgres::Transaction<'_>,
    delivery: &Delivery,
) -> Result<(), StoreError> {
    let p = Params::of(delivery);
    tx.execute(
        &format!("INSERT INTO webhook_deliveries ({COLUMNS}) VALUES {VALUES}"),
        &p.params(delivery),
    )
    .await?;
    Ok(())
}

#[async_trait::async_trait]
impl WebhookStore for PgWebhooks {
    async fn enqueue(&self, delivery: &Delivery) -> Result<bool, StoreError> {
        let client = self.pg.client().await?;
        let p = Params::of(delivery);
        let stored = client
            .execute(
                &format!(
                    "INSERT INTO webhook_deliveries ({COLUMNS}) VALUES {VALUES} \
                     ON CONFLICT (id) DO NOTHING"
                ),
                &p.params(delivery),
            )
            .await?;
        Ok(stored == 1)
    }

    async fn deliveries_of(
        &self,
        account_id: &str,
        limit: usize,
    ) -> Result<Vec<Delivery>, StoreError> {
        let client = self.pg.client().await?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = client
            .query(
                &format!(
                    "SELECT {COLUMNS} FROM webhook_deliveries WHERE account_id = $1 \
                     ORDER BY created_at DESC, id DESC LIMIT $2"
                ),
                &[&account_id, &limit],
            )
            .await?;
        rows.iter().map(delivery_from).collect()
    }

    async fn pending(&self) -> Result<u64, StoreError> {
        let client = self.pg.client().await?;
        let row = client
            .query_one(
                "SELECT count(*) FROM webhook_deliveries WHERE status = 'pending'",
                &[],
            )
            .await?;
        Ok(u64::try_from(row.get::<_, i64>(0)).unwrap_or(0))
    }

    async fn due(
        &self,
        now: i64,
        limit: usize,
        busy: &HashSet<String>,
    ) -> Result<(Vec<Delivery>, Option<i64>), StoreError> {
        let client = self.pg.client().await?;
        let replica = self.pg.replica();
        let busy: Vec<&str> = busy.iter().map(String::as_str).collect();
        let take = i64::try_from(limit).unwrap_or(i64::MAX);
        // Claimed by this replica for one attempt (bounded by its timeout)
        // and a lease: replicas never send the same attempt, and one that
        // dies with a delivery claimed leaves it to another after that.
        let claim = (crate::webhooks::ATTEMPT_TIMEOUT + replica.lease).as_secs_f64();
        let rows = client
            .query(
                &format!(
                    "UPDATE webhook_deliveries SET claimed_by = $4, \
                       claimed_until = now() + make_interval(secs => $5) \
                     WHERE id IN ( \
                       SELECT id FROM webhook_deliveries \
                       WHERE status = 'pending' AND next_attempt_at <= $1 AND NOT (id = ANY($2)) \
                         AND (claimed_until IS NULL OR claimed_until < now() OR claimed_by = $4) \
                       ORDER BY next_attempt_at, id LIMIT $3 FOR UPDATE SKIP LOCKED) \
                     RETURNING {COLUMNS}"
                ),
                &[&now, &busy, &take, &replica.id, &claim],
            )
            .await?;
        let mut due = rows
            .iter()
            .map(delivery_from)
            .collect::<Result<Vec<_>, _>>()?;
        due.sort_by(|a, b| (a.next_attempt_at, &a.id).cmp(&(b.next_attempt_at, &b.id)));
        // As a scan by due time would: when as many are due as the limit,
        // it never reaches one not yet due.
        let next_due = if due.len() >= limit {
            None
        } else {
            client
                .query_one(
                    "SELECT min(next_attempt_at) FROM webhook_deliveries \
                     WHERE status = 'pending' AND next_attempt_at > $1",
                    &[&now],
                )
                .await?
                .get(0)
        };
        Ok((due, next_due))
    }

    async fn record_attempt(&self, d: &Delivery, _was_due_at: i64) -> Result<(), StoreError> {
        // The due index follows the row: nothing to move by hand.
        let client = self.pg.client().await?;
        let p = Params::of(d);
        client
            .execute(
                &format!(
                    "INSERT INTO webhook_deliveries ({COLUMNS}) VALUES {VALUES} \
                     ON CONFLICT (id) DO UPDATE SET account_id = EXCLUDED.account_id, \
                     task_id = EXCLUDED.task_id, event = EXCLUDED.event, url = EXCLUDED.url, \
                     body = EXCLUDED.body, status = EXCLUDED.status, \
                     attempts = EXCLUDED.attempts, next_attempt_at = EXCLUDED.next_attempt_at, \
                     last_error = EXCLUDED.last_error, created_at = EXCLUDED.created_at, \
                     claimed_by = NULL, claimed_until = NULL"
                ),
                &p.params(d),
            )
            .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::PgWebhooks;
    use crate::store::pg::testing::{TestDb, fresh_store};
    use crate::store::webhooks::WebhookStore;

    async fn fresh_pg() -> (TestDb, Arc<dyn WebhookStore>) {
        let (db, pg) = fresh_store().await;
        (db, Arc::new(PgWebhooks::new(&pg)))
    }

    crate::store::webhooks::conformance::suite!(fresh_pg);

    fn as_replica(pg: &crate::store::pg::PgStore, id: &str) -> PgWebhooks {
        PgWebhooks::new(&pg.clone().with_replica(crate::replicas::Replica {
            id: id.to_string(),
            lease: std::time::Duration::from_secs(60),
        }))
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn replicas_never_take_the_same_attempt() {
        use crate::store::webhooks::conformance::delivery;
        use std::collections::HashSet;
        let (_db, pg) = fresh_store().await;
        let (a, b) = (as_replica(&pg, "rep_a"), as_replica(&pg, "rep_b"));
        let none = HashSet::new();
        for i in 0..4 {
            let d = delivery(
                "acct_a",
                &format!("task_{i}"),
                1000 + i,
                "2026-12-01T00:00:01Z",
            );
            assert!(a.enqueue(&d).await.unwrap());
        }
        // Both look at once: each delivery goes to one of them.
        let (mine, theirs) = tokio::join!(a.due(2000, 3, &none), b.due(2000, 3, &none));
        let (mine, theirs) = (mine.unwrap().0, theirs.unwrap().0);
        let mut all: Vec<String> = mine
            .iter()
            .chain(&theirs)
            .map(|d| d.task_id.clone())
            .collect();
        all.sort();
        assert_eq!(all, ["task_0", "task_1", "task_2", "task_3"], "each once");
        let own = b.due(2000, 10, &none).await.unwrap().0;
        assert_eq!(own, theirs, "its own claims again, none of the other's");
        // An attempt that leaves it pending ends the claim: due again, it
        // may go to either replica.
        let mut retried = mine[0].clone();
        retried.attempts = 1;
        retried.next_attempt_at = 1500;
        a.record_attempt(&retried, mine[0].next_attempt_at)
            .await
            .unwrap();
        let busy: HashSet<String> = theirs.iter().map(|d| d.id.clone()).collect();
        let again = b.due(2000, 10, &busy).await.unwrap().0;
        assert_eq!(
            again.iter().map(|d| d.id.as_str()).collect::<Vec<_>>(),
            [retried.id.as_str()]
        );
        assert_eq!(again[0].attempts, 1);
    }
}

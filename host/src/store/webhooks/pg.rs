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

    async fn due(
        &self,
        now: i64,
        limit: usize,
        busy: &HashSet<String>,
    ) -> Result<(Vec<Delivery>, Option<i64>), StoreError> {
        let mut client = self.pg.client().await?;
        let busy: Vec<&str> = busy.iter().map(String::as_str).collect();
        let fetch = i64::try_from(limit).unwrap_or(i64::MAX - 1) + 1;
        // One snapshot for the due deliveries and the next one due.
        let tx = client
            .build_transaction()
            .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .await?;
        let rows = tx
            .query(
                &format!(
                    "SELECT {COLUMNS} FROM webhook_deliveries \
                     WHERE status = 'pending' AND next_attempt_at <= $1 AND NOT (id = ANY($2)) \
                     ORDER BY next_attempt_at, id LIMIT $3"
                ),
                &[&now, &busy, &fetch],
            )
            .await?;
        // As a scan by due time would: when more are due than the limit,
        // it never reaches one not yet due.
        let next_due = if rows.len() > limit {
            None
        } else {
            tx.query_one(
                "SELECT min(next_attempt_at) FROM webhook_deliveries \
                 WHERE status = 'pending' AND next_attempt_at > $1",
                &[&now],
            )
            .await?
            .get(0)
        };
        tx.commit().await?;
        let due = rows
            .iter()
            .take(limit)
            .map(delivery_from)
            .collect::<Result<_, _>>()?;
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
                     last_error = EXCLUDED.last_error, created_at = EXCLUDED.created_at"
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
}

//! [`AuditStore`] on PostgreSQL: the table `audit`, by id (time-ordered, in
//! byte order); an entry is never replaced, by its primary key. The
//! [`PgModeration`](crate::store::moderation::PgModeration) store adds the
//! entries of moderation steps to the same table in their transactions.

use tokio_postgres::GenericClient;
use tokio_postgres::Row;

use super::{AuditEntry, AuditQuery, AuditStore};
use crate::store::StoreError;
use crate::store::pg::{PgStore, from_json, is_unique_violation, to_json};

/// The audit log in PostgreSQL.
pub struct PgAudit {
    pg: PgStore,
}

impl PgAudit {
    /// The audit log of the database `pg`.
    pub fn new(pg: &PgStore) -> Self {
        Self { pg: pg.clone() }
    }
}

const COLUMNS: &str = "id, at, actor, action, account_id, key_id, details, evidence";

fn entry_from(row: &Row) -> Result<AuditEntry, StoreError> {
    Ok(AuditEntry {
        id: row.get(0),
        at: row.get(1),
        actor: row.get(2),
        action: row.get(3),
        account_id: row.get(4),
        key_id: row.get(5),
        details: row.get(6),
        evidence: from_json("audit", row.get(7))?,
    })
}

/// Adds `entry` within the caller's transaction (or alone);
/// [`StoreError::Conflict`] if one with its id exists.
pub(crate) async fn insert(
    client: &(impl GenericClient + Sync),
    entry: &AuditEntry,
) -> Result<(), StoreError> {
    let evidence = to_json(&entry.evidence);
    client
        .execute(
            &format!("INSERT INTO audit ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"),
            &[
                &entry.id,
                &entry.at,
                &entry.actor,
                &entry.action,
                &entry.account_id,
                &entry.key_id,
                &entry.details,
                &evidence,
            ],
        )
        .await
        .map_err(|e| {
            if is_unique_violation(&e) {
                StoreError::Conflict("an audit entry with this id exists")
            } else {
                e.into()
            }
        })?;
    Ok(())
}

#[async_trait::async_trait]
impl AuditStore for PgAudit {
    async fn append(&self, entry: &AuditEntry) -> Result<(), StoreError> {
        let client = self.pg.client().await?;
        insert(&**client, entry).await
    }

    async fn list(
        &self,
        q: &AuditQuery,
        limit: usize,
    ) -> Result<(Vec<AuditEntry>, bool), StoreError> {
        let client = self.pg.client().await?;
        let fetch = i64::try_from(limit).unwrap_or(i64::MAX - 1) + 1;
        let rows = client
            .query(
                &format!(
                    "SELECT {COLUMNS} FROM audit \
                     WHERE ($1::text IS NULL OR id < $1) \
                       AND ($2::text IS NULL OR account_id = $2) \
                       AND ($3::text IS NULL OR key_id = $3) \
                       AND ($4::text IS NULL OR actor = $4) \
                       AND ($5::text IS NULL OR starts_with(action, $5)) \
                     ORDER BY id DESC LIMIT $6"
                ),
                &[
                    &q.after,
                    &q.account_id,
                    &q.key_id,
                    &q.actor,
                    &q.action,
                    &fetch,
                ],
            )
            .await?;
        let more = rows.len() > limit;
        let entries = rows
            .iter()
            .take(limit)
            .map(entry_from)
            .collect::<Result<_, _>>()?;
        Ok((entries, more))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::PgAudit;
    use crate::store::audit::AuditStore;
    use crate::store::pg::testing::{TestDb, fresh_store};

    async fn fresh_pg() -> (TestDb, Arc<dyn AuditStore>) {
        let (db, pg) = fresh_store().await;
        (db, Arc::new(PgAudit::new(&pg)))
    }

    crate::store::audit::conformance::suite!(fresh_pg);
}

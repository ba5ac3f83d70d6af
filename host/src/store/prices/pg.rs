//! [`PriceStore`] on PostgreSQL: tables `changelog` (by id) and
//! `price_changes` (each row referencing the changelog entry that shares
//! its id, ordered by model, effective second and id). Entry ids are unique
//! by the primary key: a change and its entry, or a batch of entries, is
//! one transaction that a taken id rolls back whole.

use std::collections::HashSet;

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use tokio_postgres::Row;

use super::{ChangelogEntry, PriceChange, PriceStore, PricingError};
use crate::store::StoreError;
use crate::store::pg::{PgStore, is_unique_violation};

/// Price changes and the changelog in PostgreSQL.
pub struct PgPrices {
    pg: PgStore,
}

impl PgPrices {
    /// The prices and changelog of the database `pg`.
    pub fn new(pg: &PgStore) -> Self {
        Self { pg: pg.clone() }
    }
}

const ENTRY_COLUMNS: &str = "id, kind, model, effective_at, details, created_at";

fn entry_from(row: &Row) -> ChangelogEntry {
    ChangelogEntry {
        id: row.get(0),
        kind: row.get(1),
        model: row.get(2),
        effective_at: row.get(3),
        details: row.get(4),
        created_at: row.get(5),
    }
}

/// Adds `entry` within the caller's transaction;
/// [`PricingError::Conflict`] if its id is taken.
async fn insert_entry(
    tx: &tokio_postgres::Transaction<'_>,
    entry: &ChangelogEntry,
) -> Result<(), PricingError> {
    tx.execute(
        &format!("INSERT INTO changelog ({ENTRY_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6)"),
        &[
            &entry.id,
            &entry.kind,
            &entry.model,
            &entry.effective_at,
            &entry.details,
            &entry.created_at,
        ],
    )
    .await
    .map_err(|e| {
        if is_unique_violation(&e) {
            PricingError::Conflict(format!("changelog entry {} exists", entry.id))
        } else {
            PricingError::Store(e.into())
        }
    })?;
    Ok(())
}

/// Adds a price change (whose changelog entry is stored) within the
/// caller's transaction.
async fn insert_change(
    tx: &tokio_postgres::Transaction<'_>,
    change: &PriceChange,
    effective: OffsetDateTime,
) -> Result<(), StoreError> {
    tx.execute(
        "INSERT INTO price_changes \
         (id, model, per_image, per_second, effective_at, effective_unix) \
         VALUES ($1, $2, $3, $4, $5, $6)",
        &[
            &change.id,
            &change.model,
            &change.per_image,
            &change.per_second,
            &change.effective_at,
            &effective.unix_timestamp(),
        ],
    )
    .await?;
    Ok(())
}

/// Stores a changelog entry, within the caller's transaction (a copy to
/// this database).
pub(crate) async fn import_entry(
    tx: &tokio_postgres::Transaction<'_>,
    entry: &ChangelogEntry,
) -> Result<(), PricingError> {
    insert_entry(tx, entry).await
}

/// Stores a price change whose changelog entry is stored, within the
/// caller's transaction (a copy to this database).
pub(crate) async fn import_change(
    tx: &tokio_postgres::Transaction<'_>,
    change: &PriceChange,
) -> Result<(), PricingError> {
    let effective = OffsetDateTime::parse(&change.effective_at, &Rfc3339).map_err(|_| {
        PricingError::Invalid(format!(
            "price change {}: effective_at {:?} is not an RFC 3339 time",
            change.id, change.effective_at
        ))
    })?;
    Ok(insert_change(tx, change, effective).await?)
}

#[async_trait::async_trait]
impl PriceStore for PgPrices {
    async fn schedule_price(
        &self,
        change: &PriceChange,
        entry: &ChangelogEntry,
    ) -> Result<(), PricingError> {
        if change.id != entry.id {
            return Err(PricingError::Invalid(format!(
                "price change {} and changelog entry {} must share their id",
                change.id, entry.id
            )));
        }
        let effective = OffsetDateTime::parse(&change.effective_at, &Rfc3339).map_err(|_| {
            PricingError::Invalid(format!(
                "effective_at {:?} is not an RFC 3339 time",
                change.effective_at
            ))
        })?;
        let mut client = self.pg.client().await?;
        let tx = client.transaction().await.map_err(StoreError::from)?;
        insert_entry(&tx, entry).await?;
        insert_change(&tx, change, effective).await?;
        crate::store::changes::announce(&tx, crate::store::changes::PRICES)
            .await
            .map_err(StoreError::from)?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(())
    }

    async fn announce(&self, entries: &[ChangelogEntry]) -> Result<(), PricingError> {
        let mut ids = HashSet::new();
        if let Some(twice) = entries.iter().find(|e| !ids.insert(e.id.as_str())) {
            return Err(PricingError::Conflict(format!(
                "changelog entry {} is given twice",
                twice.id
            )));
        }
        if entries.is_empty() {
            return Ok(());
        }
        let mut client = self.pg.client().await?;
        let tx = client.transaction().await.map_err(StoreError::from)?;
        for entry in entries {
            insert_entry(&tx, entry).await?;
        }
        crate::store::changes::announce(&tx, crate::store::changes::PRICES)
            .await
            .map_err(StoreError::from)?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(())
    }

    async fn price_changes(&self) -> Result<Vec<PriceChange>, StoreError> {
        let client = self.pg.client().await?;
        let rows = client
            .query(
                "SELECT id, model, per_image, per_second, effective_at FROM price_changes \
                 ORDER BY model, effective_unix, id",
                &[],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|row| PriceChange {
                id: row.get(0),
                model: row.get(1),
                per_image: row.get(2),
                per_second: row.get(3),
                effective_at: row.get(4),
            })
            .collect())
    }

    async fn entries_of_kinds(&self, kinds: &[&str]) -> Result<Vec<ChangelogEntry>, StoreError> {
        let client = self.pg.client().await?;
        let rows = client
            .query(
                &format!("SELECT {ENTRY_COLUMNS} FROM changelog WHERE kind = ANY($1) ORDER BY id"),
                &[&kinds],
            )
            .await?;
        Ok(rows.iter().map(entry_from).collect())
    }

    async fn changelog(
        &self,
        limit: usize,
        after: Option<&str>,
    ) -> Result<(Vec<ChangelogEntry>, bool), StoreError> {
        let client = self.pg.client().await?;
        let fetch = i64::try_from(limit).unwrap_or(i64::MAX - 1) + 1;
        let rows = client
            .query(
                &format!(
                    "SELECT {ENTRY_COLUMNS} FROM changelog WHERE $1::text IS NULL OR id < $1 \
                     ORDER BY id DESC LIMIT $2"
                ),
                &[&after, &fetch],
            )
            .await?;
        let more = rows.len() > limit;
        Ok((rows.iter().take(limit).map(entry_from).collect(), more))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::PgPrices;
    use crate::store::pg::testing::{TestDb, fresh_store};
    use crate::store::prices::PriceStore;

    async fn fresh_pg() -> (TestDb, Arc<dyn PriceStore>) {
        let (db, pg) = fresh_store().await;
        (db, Arc::new(PgPrices::new(&pg)))
    }

    crate::store::prices::conformance::suite!(fresh_pg);
}

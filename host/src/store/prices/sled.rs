//! [`PriceStore`] on sled: price changes in `prices`, keyed
//! `{model}\0{unix seconds + 10^12, 20 digits}\0{id}` so that a model's
//! changes sort by when they take effect, and the changelog in `changelog`,
//! keyed by entry id (time-ordered ids: key order is announcement order).
//! A price change and its entry go in one transaction over both trees; a
//! batch of entries in one transaction over `changelog`.

use std::collections::HashSet;

use ::sled::Transactional;
use ::sled::transaction::{ConflictableTransactionError, TransactionError};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::{ChangelogEntry, PriceChange, PriceStore, PricingError};
use crate::store::{Store, StoreError, Table};

/// Price changes and the changelog in sled.
pub struct SledPrices {
    prices: Table,
    changelog: Table,
}

impl SledPrices {
    /// The store's `prices` and `changelog` trees.
    pub fn open(store: &Store) -> Result<Self, StoreError> {
        Ok(Self {
            prices: store.table("prices")?,
            changelog: store.table("changelog")?,
        })
    }
}

/// Keys sort by model, then effective second, then id.
impl SledPrices {
    /// Every changelog entry, oldest first, for a copy to another database.
    pub(crate) fn export_changelog(
        &self,
    ) -> impl Iterator<Item = Result<ChangelogEntry, StoreError>> + '_ {
        self.changelog.records()
    }
}

fn price_key(model: &str, effective: OffsetDateTime, id: &str) -> String {
    format!(
        "{model}\u{0}{:020}\u{0}{id}",
        effective.unix_timestamp() + 1_000_000_000_000
    )
}

fn encode<T: serde::Serialize>(value: &T) -> Vec<u8> {
    serde_json::to_vec(value).expect("records serialise")
}

/// A transaction's outcome as a [`PricingError`].
fn settled<T>(result: Result<T, TransactionError<PricingError>>) -> Result<T, PricingError> {
    result.map_err(|e| match e {
        TransactionError::Abort(e) => e,
        TransactionError::Storage(e) => PricingError::Store(e.into()),
    })
}

fn exists(id: &str) -> ConflictableTransactionError<PricingError> {
    ConflictableTransactionError::Abort(PricingError::Conflict(format!(
        "changelog entry {id} exists"
    )))
}

#[async_trait::async_trait]
impl PriceStore for SledPrices {
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
        let key = price_key(&change.model, effective, &change.id);
        let (change_bytes, entry_bytes) = (encode(change), encode(entry));
        settled(
            (self.prices.tree(), self.changelog.tree()).transaction(|(prices, changelog)| {
                if changelog.get(entry.id.as_bytes())?.is_some() {
                    return Err(exists(&entry.id));
                }
                prices.insert(key.as_bytes(), change_bytes.as_slice())?;
                changelog.insert(entry.id.as_bytes(), entry_bytes.as_slice())?;
                Ok(())
            }),
        )?;
        self.changelog.note_reads(1);
        self.prices.note_writes(1);
        self.changelog.note_writes(1);
        self.changelog.flush().await?;
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
        let encoded: Vec<(&str, Vec<u8>)> =
            entries.iter().map(|e| (e.id.as_str(), encode(e))).collect();
        settled(self.changelog.tree().transaction(|changelog| {
            for (id, bytes) in &encoded {
                if changelog.get(id.as_bytes())?.is_some() {
                    return Err(exists(id));
                }
                changelog.insert(id.as_bytes(), bytes.as_slice())?;
            }
            Ok(())
        }))?;
        self.changelog.note_reads(entries.len() as u64);
        self.changelog.note_writes(entries.len() as u64);
        self.changelog.flush().await?;
        Ok(())
    }

    async fn price_changes(&self) -> Result<Vec<PriceChange>, StoreError> {
        self.prices
            .scan::<PriceChange>()
            .map(|item| item.map(|(_, change)| change))
            .collect()
    }

    async fn entries_of_kinds(&self, kinds: &[&str]) -> Result<Vec<ChangelogEntry>, StoreError> {
        let mut out = Vec::new();
        for item in self.changelog.scan::<ChangelogEntry>() {
            let (_, entry) = item?;
            if kinds.contains(&entry.kind.as_str()) {
                out.push(entry);
            }
        }
        Ok(out)
    }

    async fn changelog(
        &self,
        limit: usize,
        after: Option<&str>,
    ) -> Result<(Vec<ChangelogEntry>, bool), StoreError> {
        let mut page = Vec::new();
        for item in self.changelog.scan_rev::<ChangelogEntry>(after) {
            let (_, entry) = item?;
            if page.len() == limit {
                return Ok((page, true));
            }
            page.push(entry);
        }
        Ok((page, false))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::{SledPrices, price_key};
    use crate::store::Store;
    use crate::store::prices::conformance::{change, entry};
    use crate::store::prices::{PriceChange, PriceStore};

    async fn fresh() -> (tempfile::TempDir, Arc<dyn PriceStore>) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        (dir, Arc::new(SledPrices::open(&store).unwrap()))
    }

    crate::store::prices::conformance::suite!(fresh);

    #[tokio::test]
    async fn records_keep_the_trees_and_keys_of_earlier_releases() {
        let dir = tempfile::tempdir().unwrap();
        let (old, newer) = (
            change("chg_b", "m", Some(5), "2026-01-02T00:00:00Z"),
            change("chg_a", "m", Some(7), "2026-01-03T00:00:00Z"),
        );
        {
            // A data directory written the way releases before the store
            // trait did: the key format, one put per record.
            let store = Store::open(dir.path()).unwrap();
            let prices = store.table("prices").unwrap();
            for c in [&newer, &old] {
                let at = time::OffsetDateTime::parse(
                    &c.effective_at,
                    &time::format_description::well_known::Rfc3339,
                )
                .unwrap();
                prices
                    .put(&price_key(&c.model, at, &c.id), c)
                    .await
                    .unwrap();
            }
            let changelog = store.table("changelog").unwrap();
            let e = entry("chg_b", "price_changed", Some("m"));
            changelog.put(&e.id, &e).await.unwrap();
        }
        let store = Store::open(dir.path()).unwrap();
        let prices = SledPrices::open(&store).unwrap();
        let changes: Vec<PriceChange> = prices.price_changes().await.unwrap();
        assert_eq!(changes, [old, newer], "by effective time, not id");
        let (page, more) = prices.changelog(10, None).await.unwrap();
        assert_eq!((page.len(), more), (1, false));
        assert_eq!(page[0].id, "chg_b");
    }
}

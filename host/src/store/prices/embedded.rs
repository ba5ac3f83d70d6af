//! [`PriceStore`] on the embedded store: price changes in `prices`, keyed
//! `{model}\0{unix seconds + 10^12, 20 digits}\0{id}` so that a model's
//! changes sort by when they take effect, and the changelog in `changelog`,
//! keyed by entry id (time-ordered ids: key order is announcement order).
//! A price change and its entry go in one transaction over both trees; a
//! batch of entries in one transaction over `changelog`.

use std::collections::HashSet;

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::{ChangelogEntry, PriceChange, PriceStore, PricingError};
use crate::store::{Store, StoreError, Table};

/// Price changes and the changelog in the embedded store.
pub struct EmbeddedPrices {
    prices: Table,
    changelog: Table,
}

impl EmbeddedPrices {
    /// The store's `prices` and `changelog` trees.
    pub fn open(store: &Store) -> Result<Self, StoreError> {
        Ok(Self {
            prices: store.table("prices")?,
            changelog: store.table("changelog")?,
        })
    }
}

/// Keys sort by model, then effective second, then id.
impl EmbeddedPrices {
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

fn exists(id: &str) -> PricingError {
    PricingError::Conflict(format!("changelog entry {id} exists"))
}

#[async_trait::async_trait]
impl PriceStore for EmbeddedPrices {
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
        self.changelog.store().transaction(|tx| {
            if tx.contains(&self.changelog, &entry.id)? {
                return Err(exists(&entry.id));
            }
            tx.put(&self.prices, &key, change);
            tx.put(&self.changelog, &entry.id, entry);
            Ok(())
        })?;
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
        self.changelog.store().transaction(|tx| {
            for entry in entries {
                if tx.contains(&self.changelog, &entry.id)? {
                    return Err(exists(&entry.id));
                }
                tx.put(&self.changelog, &entry.id, entry);
            }
            Ok(())
        })?;
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

    use super::{EmbeddedPrices, price_key};
    use crate::store::Store;
    use crate::store::prices::conformance::{change, entry};
    use crate::store::prices::{PriceChange, PriceStore};

    async fn fresh() -> (tempfile::TempDir, Arc<dyn PriceStore>) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        (dir, Arc::new(EmbeddedPrices::open(&store).unwrap()))
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
        let prices = EmbeddedPrices::open(&store).unwrap();
        let changes: Vec<PriceChange> = prices.price_changes().await.unwrap();
        assert_eq!(changes, [old, newer], "by effective time, not id");
        let (page, more) = prices.changelog(10, None).await.unwrap();
        assert_eq!((page.len(), more), (1, false));
        assert_eq!(page[0].id, "chg_b");
    }
}

//! Prices and the public changelog.
//!
//! A model's price starts as the configured one; operators schedule changes
//! with an `effective_at`. A task pays the price in force when it was
//! submitted. Launches, retirements and price changes go to the changelog
//! that `GET /v1/changelog` serves.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::config::{Config, PriceConfig};
use crate::store::{StoreError, Table};
use crate::time::{now_rfc3339, to_rfc3339};

/// A scheduled price.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PriceChange {
    /// `chg_…`, shared with its changelog entry.
    pub id: String,
    /// The model.
    pub model: String,
    /// Credits per image.
    pub per_image: Option<i64>,
    /// Credits per second of video.
    pub per_second: Option<i64>,
    /// When it takes effect (RFC 3339).
    pub effective_at: String,
}

/// One changelog entry.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ChangelogEntry {
    /// `chg_…`.
    pub id: String,
    /// `model_launched`, `model_retired`, `price_changed`, `policy_updated`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The model concerned, if any.
    pub model: Option<String>,
    /// When it takes (or took) effect.
    pub effective_at: String,
    /// What changed.
    pub details: serde_json::Value,
    /// When it was announced.
    pub created_at: String,
}

/// Pricing failures.
#[derive(Debug, thiserror::Error)]
pub enum PricingError {
    /// Bad input.
    #[error("{0}")]
    Invalid(String),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Prices and changelog.
#[derive(Clone)]
pub struct Pricing {
    prices: Table,
    changelog: Table,
}

fn parse_time(text: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(text, &Rfc3339).ok()
}

/// Keys sort by model, then effective time.
fn price_key(model: &str, effective: OffsetDateTime, id: &str) -> String {
    format!(
        "{model}\u{0}{:020}\u{0}{id}",
        effective.unix_timestamp() + 1_000_000_000_000
    )
}

impl Pricing {
    /// Prices in `prices`, changelog in `changelog`.
    pub fn new(prices: Table, changelog: Table) -> Self {
        Self { prices, changelog }
    }

    /// The price of `model` at `at`: the latest scheduled change in effect,
    /// else the configuration's.
    pub fn price_at(
        &self,
        config: &Config,
        model: &str,
        at: OffsetDateTime,
    ) -> Result<Option<PriceConfig>, StoreError> {
        let prefix = format!("{model}\u{0}");
        let mut current = None;
        for item in self.prices.scan_from::<PriceChange>(&prefix, &prefix) {
            let (_, change) = item?;
            match parse_time(&change.effective_at) {
                Some(t) if t <= at => {
                    current = Some(PriceConfig {
                        per_image: change.per_image,
                        per_second: change.per_second,
                    })
                }
                _ => break,
            }
        }
        Ok(current.or_else(|| config.price(model)))
    }

    /// Schedules a price change and announces it.
    pub async fn schedule(
        &self,
        model: &str,
        per_image: Option<i64>,
        per_second: Option<i64>,
        effective_at: Option<&str>,
    ) -> Result<PriceChange, PricingError> {
        if per_image.is_none() && per_second.is_none() {
            return Err(PricingError::Invalid("give per_image or per_second".into()));
        }
        if per_image.is_some_and(|c| c < 0) || per_second.is_some_and(|c| c < 0) {
            return Err(PricingError::Invalid("prices cannot be negative".into()));
        }
        let effective = match effective_at {
            Some(text) => parse_time(text).ok_or_else(|| {
                PricingError::Invalid(format!("effective_at {text:?} is not an RFC 3339 time"))
            })?,
            None => OffsetDateTime::now_utc(),
        };
        let change = PriceChange {
            id: crate::ids::new("chg"),
            model: model.to_string(),
            per_image,
            per_second,
            effective_at: to_rfc3339(effective),
        };
        self.prices
            .put(&price_key(model, effective, &change.id), &change)
            .await?;
        self.announce(ChangelogEntry {
            id: change.id.clone(),
            kind: "price_changed".into(),
            model: Some(model.to_string()),
            effective_at: change.effective_at.clone(),
            details: serde_json::json!({ "per_image": per_image, "per_second": per_second }),
            created_at: now_rfc3339(),
        })
        .await?;
        Ok(change)
    }

    /// Adds an entry to the changelog.
    pub async fn announce(&self, entry: ChangelogEntry) -> Result<(), StoreError> {
        self.changelog.put(&entry.id, &entry).await
    }

    /// The changelog's model entries in the order they take effect.
    fn model_events(&self) -> Result<Vec<ChangelogEntry>, StoreError> {
        let mut events: Vec<ChangelogEntry> = self
            .changelog
            .scan::<ChangelogEntry>()
            .map(|item| item.map(|(_, e)| e))
            .filter(|e| {
                e.as_ref().map_or(true, |e| {
                    e.model.is_some() && (e.kind == "model_launched" || e.kind == "model_retired")
                })
            })
            .collect::<Result<_, _>>()?;
        events.sort_by(|a, b| {
            let t = |e: &ChangelogEntry| parse_time(&e.effective_at).map(|t| t.unix_timestamp());
            t(a).cmp(&t(b)).then_with(|| a.id.cmp(&b.id))
        });
        Ok(events)
    }

    /// The models live now by the changelog (launched and not retired
    /// since), and the retired ones with when.
    pub fn model_states(
        &self,
    ) -> Result<
        (
            std::collections::BTreeSet<String>,
            std::collections::BTreeMap<String, String>,
        ),
        StoreError,
    > {
        let now = OffsetDateTime::now_utc();
        let mut live = std::collections::BTreeSet::new();
        let mut retired = std::collections::BTreeMap::new();
        for e in self.model_events()? {
            let model = e.model.clone().expect("filtered");
            if parse_time(&e.effective_at).is_some_and(|t| t > now) {
                continue;
            }
            if e.kind == "model_launched" {
                retired.remove(&model);
                live.insert(model);
            } else {
                live.remove(&model);
                retired.insert(model, e.effective_at.clone());
            }
        }
        Ok((live, retired))
    }

    /// Models whose retirement is announced for later (or was announced as
    /// scheduled and not undone by a launch since).
    pub fn scheduled_retirements(&self) -> Result<std::collections::BTreeSet<String>, StoreError> {
        let mut scheduled = std::collections::BTreeSet::new();
        for e in self.model_events()? {
            let model = e.model.clone().expect("filtered");
            if e.kind == "model_launched" {
                scheduled.remove(&model);
            } else if e.details["scheduled"] == true {
                scheduled.insert(model);
            }
        }
        Ok(scheduled)
    }

    /// When each model is scheduled to retire (announced, not yet effective).
    pub fn upcoming_retirements(
        &self,
    ) -> Result<std::collections::BTreeMap<String, String>, StoreError> {
        let now = OffsetDateTime::now_utc();
        let mut upcoming = std::collections::BTreeMap::new();
        for e in self.model_events()? {
            let model = e.model.clone().expect("filtered");
            if e.kind == "model_launched" {
                upcoming.remove(&model);
            } else if parse_time(&e.effective_at).is_some_and(|t| t > now) {
                upcoming.insert(model, e.effective_at.clone());
            }
        }
        Ok(upcoming)
    }

    /// At start: announces `model_launched` for models served that the
    /// changelog does not show as live, and `model_retired` for models it
    /// shows as live that are no longer served.
    pub async fn announce_launches(&self, models: &[String]) -> Result<(), StoreError> {
        let (live, _) = self.model_states()?;
        for model in live.iter().filter(|m| !models.contains(m)) {
            let now = now_rfc3339();
            self.announce(ChangelogEntry {
                id: crate::ids::new("chg"),
                kind: "model_retired".into(),
                model: Some(model.clone()),
                effective_at: now.clone(),
                details: serde_json::json!({ "reason": "no longer served after a restart" }),
                created_at: now,
            })
            .await?;
        }
        for model in models.iter().filter(|m| !live.contains(*m)) {
            let now = now_rfc3339();
            self.announce(ChangelogEntry {
                id: crate::ids::new("chg"),
                kind: "model_launched".into(),
                model: Some(model.clone()),
                effective_at: now.clone(),
                details: serde_json::json!({}),
                created_at: now,
            })
            .await?;
        }
        Ok(())
    }

    /// The changelog, newest first, before the entry `after`.
    pub fn changelog(
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

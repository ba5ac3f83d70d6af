//! The prices aggregate's storage: scheduled price changes and the public
//! changelog (launches, retirements, price changes, policy updates). Each
//! change is one commit group, durable when it returns: a price change is
//! stored with its changelog entry or not at all, and a batch of entries is
//! announced whole or not at all. Entry ids are unique: a write that would
//! replace an entry is refused and changes nothing.

#[cfg(test)]
pub(crate) mod conformance;
mod embedded;
pub(crate) mod pg;

pub use self::embedded::EmbeddedPrices;
pub use self::pg::PgPrices;

use serde::{Deserialize, Serialize};

use super::StoreError;

/// A scheduled price.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
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
    /// Bad input; nothing changed.
    #[error("{0}")]
    Invalid(String),
    /// A bad field, named (`per_image`, `effective_at`…); nothing changed.
    #[error("{1}")]
    InvalidField(&'static str, String),
    /// The write would replace a stored record; nothing changed.
    #[error("{0}")]
    Conflict(String),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Where price changes and the changelog are kept.
#[async_trait::async_trait]
pub trait PriceStore: Send + Sync + 'static {
    /// Stores a price change and its changelog entry as one commit group:
    /// both or neither. Refused, with nothing changed, if the two do not
    /// share their id ([`PricingError::Invalid`]), if `effective_at` is not
    /// an RFC 3339 time ([`PricingError::Invalid`]), or if the id is
    /// already in the changelog ([`PricingError::Conflict`]).
    async fn schedule_price(
        &self,
        change: &PriceChange,
        entry: &ChangelogEntry,
    ) -> Result<(), PricingError>;

    /// Adds `entries` to the changelog as one commit group: all or none.
    /// Refused, with nothing changed, if an id is already in the changelog
    /// or given twice ([`PricingError::Conflict`]).
    async fn announce(&self, entries: &[ChangelogEntry]) -> Result<(), PricingError>;

    /// Every price change, by model, then by the second it takes effect,
    /// then by id (the order in which a model's prices succeed each other).
    async fn price_changes(&self) -> Result<Vec<PriceChange>, StoreError>;

    /// The changelog entries whose type is one of `kinds`, by id.
    async fn entries_of_kinds(&self, kinds: &[&str]) -> Result<Vec<ChangelogEntry>, StoreError>;

    /// The changelog by id, newest first, from the entry before `after` (or
    /// the newest), at most `limit`; and whether there are more.
    async fn changelog(
        &self,
        limit: usize,
        after: Option<&str>,
    ) -> Result<(Vec<ChangelogEntry>, bool), StoreError>;
}

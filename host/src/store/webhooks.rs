//! The webhooks aggregate's storage: one delivery per event and receiver,
//! with where it stands, found by account (newest first) and, while
//! pending, by when it is due. Each change is one commit group, durable
//! when it returns.

#[cfg(test)]
pub(crate) mod conformance;
mod embedded;
pub(crate) mod pg;

pub use self::embedded::EmbeddedWebhooks;
pub use self::pg::PgWebhooks;

use std::collections::HashSet;

use serde::{Deserialize, Serialize};

use super::StoreError;

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum DeliveryStatus {
    /// Waiting for its next attempt.
    Pending,
    /// The receiver answered 2xx.
    Delivered,
    /// Every attempt failed.
    Failed,
}

/// One event to one URL.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delivery {
    /// `evt_…`, also the `webhook-id`.
    pub id: String,
    /// The account.
    pub account_id: String,
    /// The task.
    pub task_id: String,
    /// `task.succeeded`, `task.failed`, `task.canceled`.
    pub event: String,
    /// Where.
    pub url: String,
    /// The JSON body sent.
    pub body: String,
    /// Where it stands.
    pub status: DeliveryStatus,
    /// Attempts so far.
    pub attempts: u32,
    /// When the next attempt is due (unix seconds).
    pub next_attempt_at: i64,
    /// The last failure.
    pub last_error: Option<String>,
    /// When it was created.
    pub created_at: String,
}

/// Where webhook deliveries are kept.
#[async_trait::async_trait]
pub trait WebhookStore: Send + Sync + 'static {
    /// Stores a new delivery, unless one with its id exists. Returns
    /// whether it was stored.
    async fn enqueue(&self, delivery: &Delivery) -> Result<bool, StoreError>;

    /// An account's deliveries, newest first, at most `limit`.
    async fn deliveries_of(
        &self,
        account_id: &str,
        limit: usize,
    ) -> Result<Vec<Delivery>, StoreError>;

    /// Pending deliveries due at `now`, the longest due first, except those
    /// in `busy`, at most `limit`; and, if the scan reached one not yet due,
    /// when that one is due.
    async fn due(
        &self,
        now: i64,
        limit: usize,
        busy: &HashSet<String>,
    ) -> Result<(Vec<Delivery>, Option<i64>), StoreError>;

    /// Records an attempt: `delivery` as it is after it (delivered, failed,
    /// or pending until its next attempt), replacing it as it was when due
    /// at `was_due_at`.
    async fn record_attempt(&self, delivery: &Delivery, was_due_at: i64) -> Result<(), StoreError>;

    /// How many deliveries are pending (waiting for their first attempt or
    /// a retry), for the metrics.
    async fn pending(&self) -> Result<u64, StoreError>;
}

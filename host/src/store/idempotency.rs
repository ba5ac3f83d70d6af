//! The idempotency aggregate's storage: `Idempotency-Key`s, scoped to an
//! account, each with the fingerprint of the request that first used it,
//! the task id reserved for that request, and its response once kept.
//! Each method is one commit group, durable when it returns.

#[cfg(test)]
pub(crate) mod conformance;
mod embedded;
pub(crate) mod pg;

pub use self::embedded::EmbeddedIdempotency;
pub use self::pg::PgIdempotency;

use serde::{Deserialize, Serialize};

use super::StoreError;

/// A response kept for replay.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredResponse {
    /// HTTP status.
    pub status: u16,
    /// The headers worth replaying.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

/// What a request with a key may do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reservation {
    /// Run, creating its task (if any) with this id: new for a new key, the
    /// first attempt's for one left by a process that stopped mid-request
    /// (so a retry finds the task it created). The key is the caller's
    /// until [`IdempotencyStore::complete`] or [`IdempotencyStore::release`].
    Run {
        /// The task id reserved for the request.
        task_id: String,
    },
    /// The key's request finished: answer with its response.
    Replay(StoredResponse),
    /// The key was used with another request.
    Conflict,
    /// A request with the key (and the same fingerprint) is running now.
    InProgress,
}

/// Where idempotency keys are kept.
#[async_trait::async_trait]
pub trait IdempotencyStore: Send + Sync + 'static {
    /// Reserves `key` for a request with `fingerprint` at `now` (unix
    /// seconds). A key first used at or before `now - ttl_secs` counts as
    /// unused.
    async fn reserve(
        &self,
        key: &str,
        fingerprint: &str,
        now: i64,
        ttl_secs: i64,
    ) -> Result<Reservation, StoreError>;

    /// Keeps the response of the request that reserved `key`: it is
    /// replayed from now on.
    async fn complete(&self, key: &str, response: &StoredResponse) -> Result<(), StoreError>;

    /// Gives up `key` for a request whose response is not kept (a retry
    /// runs again, as a new request).
    async fn release(&self, key: &str) -> Result<(), StoreError>;

    /// Lets go of `key` for a request that stopped without an answer (its
    /// client left): the reservation stays, and a retry runs with its task
    /// id, finding the task it may have created.
    async fn abandon(&self, key: &str) -> Result<(), StoreError>;

    /// Forgets keys first used before `before` (unix seconds) that no
    /// request holds. Returns how many.
    async fn purge(&self, before: i64) -> Result<usize, StoreError>;
}

//! Idempotency keys: the rules over the [`IdempotencyStore`] (how long a
//! key is kept, and the clock), for the HTTP layer's `Idempotency-Key`
//! middleware (`api/idempotency.rs`).

use std::sync::Arc;

use crate::store::StoreError;
pub use crate::store::idempotency::{IdempotencyStore, Reservation, StoredResponse};

/// How long a key is kept.
pub const KEY_TTL_SECS: i64 = 48 * 3600;

/// Idempotency keys.
#[derive(Clone)]
pub struct Idempotency {
    store: Arc<dyn IdempotencyStore>,
}

impl Idempotency {
    /// The keys kept in `store`.
    pub fn new(store: Arc<dyn IdempotencyStore>) -> Self {
        Self { store }
    }

    /// Reserves `key` (scoped to an account) for a request with
    /// `fingerprint` (see [`Reservation`]).
    pub async fn reserve(&self, key: &str, fingerprint: &str) -> Result<Reservation, StoreError> {
        self.store
            .reserve(key, fingerprint, crate::time::now_unix(), KEY_TTL_SECS)
            .await
    }

    /// Keeps the response of the request holding `key`, for replay.
    pub async fn complete(&self, key: &str, response: &StoredResponse) -> Result<(), StoreError> {
        self.store.complete(key, response).await
    }

    /// Forgets `key`: its request's response is not kept.
    pub async fn release(&self, key: &str) -> Result<(), StoreError> {
        self.store.release(key).await
    }

    /// Lets go of `key` for a request that stopped without an answer; a
    /// retry runs with the same task id.
    pub async fn abandon(&self, key: &str) -> Result<(), StoreError> {
        self.store.abandon(key).await
    }

    /// Forgets keys older than [`KEY_TTL_SECS`]. Returns how many.
    pub async fn purge(&self) -> Result<usize, StoreError> {
        self.store
            .purge(crate::time::now_unix() - KEY_TTL_SECS)
            .await
    }
}

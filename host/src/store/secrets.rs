//! The gateway's own secrets: the hash of the admin key and the key that
//! signs file URLs. Several gateways sharing one database must agree on
//! them, so a secret made at first start is kept only if no other gateway
//! kept one first.

#[cfg(test)]
pub(crate) mod conformance;
pub(crate) mod pg;
mod sled;

pub use self::pg::PgSecrets;
pub use self::sled::SledSecrets;

use super::StoreError;

/// Where the gateway's secrets are kept. Each change is durable when it
/// returns.
#[async_trait::async_trait]
pub trait SecretStore: Send + Sync + 'static {
    /// The secret named `name`, if one is kept.
    async fn secret(&self, name: &str) -> Result<Option<String>, StoreError>;

    /// Keeps `value` as `name`, replacing any kept before.
    async fn set_secret(&self, name: &str, value: &str) -> Result<(), StoreError>;

    /// Keeps `value` as `name` unless a secret of that name is kept
    /// already. Returns the secret kept, and whether it is `value`.
    async fn keep_first(&self, name: &str, value: &str) -> Result<(String, bool), StoreError>;
}

//! The gateway's own secrets: the hash of the admin key and the key that
//! signs file URLs. Several gateways sharing one database must agree on
//! them, so a secret made at first start is kept only if no other gateway
//! kept one first. Beside them, the upstream credentials operators set at
//! run time, sealed (see `crate::credentials`): the store only keeps the
//! sealed text.

#[cfg(test)]
pub(crate) mod conformance;
mod embedded;
pub(crate) mod pg;

pub use self::embedded::EmbeddedSecrets;
pub use self::pg::PgSecrets;

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

    /// Every stored credential: name and sealed record.
    async fn credentials(&self) -> Result<Vec<(String, String)>, StoreError>;

    /// Keeps the sealed record of credential `name`, replacing any kept
    /// before, and announces the change to other replicas.
    async fn put_credential(&self, name: &str, sealed: &str) -> Result<(), StoreError>;

    /// Removes credential `name` and announces it. Returns whether one was
    /// kept.
    async fn remove_credential(&self, name: &str) -> Result<bool, StoreError>;
}

/// The key under which credential `name` is kept, beside the gateway's own
/// secrets.
fn credential_key(name: &str) -> String {
    format!("{CREDENTIAL_PREFIX}{name}")
}

/// What the keys of credentials start with.
const CREDENTIAL_PREFIX: &str = "credential/";

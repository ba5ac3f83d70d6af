//! The accounts aggregate's storage: accounts, their API keys and the
//! index from a secret's hash to its key. Each method is one atomic commit
//! group: an account or key is changed by applying a change to the
//! *current* record (compare-and-set, retried), so concurrent changes all
//! land and none undoes another (a key's use is recorded without ever
//! rewriting its status).

#[cfg(test)]
pub(crate) mod conformance;
mod embedded;
pub(crate) mod pg;

pub use self::embedded::EmbeddedAccounts;
pub use self::pg::PgAccounts;

use serde::{Deserialize, Serialize};

use super::StoreError;

/// An account's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum AccountStatus {
    /// In good standing.
    Active,
    /// Its keys are refused until an operator lifts the suspension.
    Suspended,
    /// Closed for good; its unused credits were forfeited.
    Closed,
}

/// An account.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Account {
    /// `acct_…`.
    pub id: String,
    /// Contact address.
    pub email: String,
    /// State.
    pub status: AccountStatus,
    /// Whether an operator froze its credits (no new holds).
    pub credits_frozen: bool,
    /// Credits it may owe: holds are placed while the balance plus this,
    /// less what is held, covers them, so the balance may go below zero
    /// down to minus this (0: no credit, the balance stays at zero or
    /// above).
    #[serde(default)]
    pub credit_line: i64,
    /// Its own limits, overriding the configured defaults.
    #[serde(default)]
    pub limits: Limits,
    /// Where its task events go, besides each task's own `webhook_url`.
    #[serde(default)]
    pub webhook_url: Option<String>,
    /// The `whsec_…` secret its webhooks are signed with.
    #[serde(default)]
    pub webhook_secret: Option<String>,
    /// When it was created.
    pub created_at: String,
}

impl Account {
    /// Whether it may be used (its keys, its console playground): only
    /// while active, not suspended or closed.
    pub fn usable(&self) -> bool {
        self.status == AccountStatus::Active
    }
}

/// Limits that override the configured defaults.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limits {
    /// Requests per minute per key.
    pub requests_per_minute: Option<u32>,
    /// Unfinished tasks at once (accounts only).
    pub max_concurrent_tasks: Option<u32>,
}

/// A key's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum KeyStatus {
    /// Usable.
    Active,
    /// Refused until an operator lifts the suspension.
    Suspended,
    /// Refused for good.
    Revoked,
}

/// An API key (without its secret).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ApiKey {
    /// `key_…`.
    pub id: String,
    /// Its account.
    pub account_id: String,
    /// A name for people.
    pub name: String,
    /// The visible start of the secret, to recognise it.
    pub prefix: String,
    /// State.
    pub status: KeyStatus,
    /// When it was created.
    pub created_at: String,
    /// When it was last used (updated at most once a minute).
    pub last_used_at: Option<String>,
    /// Its own request rate, overriding the account's and the default.
    #[serde(default)]
    pub requests_per_minute: Option<u32>,
    /// The most credits it may hold or spend in all, if limited.
    #[serde(default)]
    pub credit_limit: Option<i64>,
    /// SHA-256 of the current secret, hex (never shown; the API builds
    /// its own view of a key).
    pub hash: String,
}

/// Account and key failures.
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    /// No such account (or not visible to the caller).
    #[error("no such account")]
    AccountNotFound,
    /// No such key (or not visible to the caller).
    #[error("no such key")]
    KeyNotFound,
    /// The operation does not apply in the current state.
    #[error("{0}")]
    Conflict(String),
    /// Bad input.
    #[error("{0}")]
    Invalid(String),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A change to apply to the current account. It may run more than once (on
/// a conflicting write it runs again on the newer record); an error leaves
/// the record as it was.
pub type AccountChange<'a> = &'a mut (dyn FnMut(&mut Account) -> Result<(), AccountError> + Send);

/// A change to apply to the current key, as [`AccountChange`]. A change of
/// `hash` moves the key's index entry in the same commit.
pub type KeyChange<'a> = &'a mut (dyn FnMut(&mut ApiKey) -> Result<(), AccountError> + Send);

/// Which accounts to list (for operators' pages).
#[derive(Debug, Clone, Default)]
pub struct AccountQuery {
    /// Only accounts whose id is after this one (the next page).
    pub after: Option<String>,
    /// Only accounts in this state.
    pub status: Option<AccountStatus>,
    /// Only accounts whose email address contains this, ignoring case.
    pub email: Option<String>,
}

/// Where accounts and keys are kept. Changes are durable when they return,
/// except [`AccountStore::touch_key`].
#[async_trait::async_trait]
pub trait AccountStore: Send + Sync + 'static {
    /// Stores a new account.
    async fn insert_account(&self, account: &Account) -> Result<(), AccountError>;

    /// An account.
    async fn account(&self, id: &str) -> Result<Option<Account>, AccountError>;

    /// Accounts matching `q` in id order, at most `limit`.
    async fn list_accounts(
        &self,
        q: &AccountQuery,
        limit: usize,
    ) -> Result<Vec<Account>, AccountError>;

    /// Applies `change` to the current account and stores the result, all
    /// or nothing. [`AccountError::AccountNotFound`] if there is none.
    async fn update_account(
        &self,
        id: &str,
        change: AccountChange<'_>,
    ) -> Result<Account, AccountError>;

    /// Stores a new key and its index entry together.
    async fn insert_key(&self, key: &ApiKey) -> Result<(), AccountError>;

    /// A key.
    async fn key(&self, id: &str) -> Result<Option<ApiKey>, AccountError>;

    /// The key whose current secret hashes to `hash`.
    async fn key_by_hash(&self, hash: &str) -> Result<Option<ApiKey>, AccountError>;

    /// An account's keys, oldest first.
    async fn keys_of(&self, account_id: &str) -> Result<Vec<ApiKey>, AccountError>;

    /// Applies `change` to the current key and stores it, moving its index
    /// entry if the hash changed, all or nothing. [`AccountError::KeyNotFound`]
    /// if there is none.
    async fn update_key(&self, id: &str, change: KeyChange<'_>) -> Result<ApiKey, AccountError>;

    /// Records that key `id` was used at `at` (RFC 3339), on the current
    /// record and nothing else of it, unless it was used less than
    /// `min_interval_secs` before. Not waited to disk: losing it in a
    /// crash is harmless.
    async fn touch_key(
        &self,
        id: &str,
        at: &str,
        min_interval_secs: i64,
    ) -> Result<(), AccountError>;
}

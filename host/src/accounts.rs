//! Accounts and their API keys.
//!
//! A key's secret is shown once, when it is created or rotated; only its
//! SHA-256 is stored, in an index from hash to key id, so authentication is
//! one lookup. Secrets are 192-bit random tokens, for which a fast hash is
//! the right tool (a password hash such as argon2 protects low-entropy
//! secrets); the stored and presented hashes are compared in constant time.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::store::{Store, StoreError, Table};
use crate::time::now_rfc3339;

/// An account's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
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

/// Limits that override the configured defaults.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limits {
    /// Requests per minute per key.
    pub requests_per_minute: Option<u32>,
    /// Unfinished tasks at once (accounts only).
    pub max_concurrent_tasks: Option<u32>,
}

/// A key's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
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
    /// SHA-256 of the current secret, hex.
    hash: String,
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

/// Why a presented key is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Not a key we know (or a rotated-away secret).
    Unknown,
    /// Revoked.
    Revoked,
    /// Suspended.
    Suspended,
    /// Its account is suspended or closed.
    AccountSuspended,
}

/// The accounts store.
#[derive(Clone)]
pub struct Accounts {
    accounts: Table,
    keys: Table,
    key_index: Table,
}

/// A new secret: the key record and the secret, shown once.
pub struct NewSecret {
    /// The key.
    pub key: ApiKey,
    /// The secret.
    pub secret: String,
}

fn digest(secret: &str) -> String {
    crate::ids::hex(&Sha256::digest(secret.as_bytes()))
}

fn visible_prefix(secret: &str) -> String {
    secret.chars().take(14).collect()
}

impl Accounts {
    /// The store's account and key tables.
    pub fn new(store: &Store) -> Result<Self, StoreError> {
        Ok(Self {
            accounts: store.table("accounts")?,
            keys: store.table("keys")?,
            key_index: store.table("key_index")?,
        })
    }

    /// Creates an account.
    pub async fn create(&self, email: &str) -> Result<Account, AccountError> {
        let email = email.trim();
        if email.len() > 254
            || !email.contains('@')
            || email.starts_with('@')
            || email.ends_with('@')
        {
            return Err(AccountError::Invalid(format!(
                "{email:?} is not an email address"
            )));
        }
        let account = Account {
            id: crate::ids::new("acct"),
            email: email.to_string(),
            status: AccountStatus::Active,
            credits_frozen: false,
            limits: Limits::default(),
            webhook_url: None,
            webhook_secret: Some(crate::webhooks::new_secret()),
            created_at: now_rfc3339(),
        };
        self.accounts.put(&account.id, &account).await?;
        Ok(account)
    }

    /// An account.
    pub fn get(&self, id: &str) -> Result<Account, AccountError> {
        self.accounts.get(id)?.ok_or(AccountError::AccountNotFound)
    }

    /// Rewrites an account after `change`.
    pub async fn update(
        &self,
        id: &str,
        change: impl FnOnce(&mut Account) -> Result<(), AccountError>,
    ) -> Result<Account, AccountError> {
        let mut account = self.get(id)?;
        change(&mut account)?;
        self.accounts.put(id, &account).await?;
        Ok(account)
    }

    /// Creates a key for an account.
    pub async fn create_key(
        &self,
        account_id: &str,
        name: &str,
        requests_per_minute: Option<u32>,
        credit_limit: Option<i64>,
    ) -> Result<NewSecret, AccountError> {
        if requests_per_minute == Some(0) {
            return Err(AccountError::Invalid(
                "requests_per_minute must be at least 1".into(),
            ));
        }
        if credit_limit.is_some_and(|l| l < 0) {
            return Err(AccountError::Invalid(
                "credit_limit cannot be negative".into(),
            ));
        }
        let account = self.get(account_id)?;
        if account.status == AccountStatus::Closed {
            return Err(AccountError::Conflict("the account is closed".into()));
        }
        let name = name.trim();
        if name.is_empty() || name.len() > 100 {
            return Err(AccountError::Invalid(
                "name must be 1 to 100 characters".into(),
            ));
        }
        let secret = crate::ids::secret("imini_sk_");
        let key = ApiKey {
            id: crate::ids::new("key"),
            account_id: account_id.to_string(),
            name: name.to_string(),
            prefix: visible_prefix(&secret),
            status: KeyStatus::Active,
            created_at: now_rfc3339(),
            last_used_at: None,
            requests_per_minute,
            credit_limit,
            hash: digest(&secret),
        };
        self.key_index.put(&key.hash, &key.id).await?;
        self.keys.put(&key.id, &key).await?;
        Ok(NewSecret { key, secret })
    }

    /// A key.
    pub fn key(&self, id: &str) -> Result<ApiKey, AccountError> {
        self.keys.get(id)?.ok_or(AccountError::KeyNotFound)
    }

    /// An account's keys, oldest first.
    pub fn keys_of(&self, account_id: &str) -> Result<Vec<ApiKey>, AccountError> {
        let mut keys = Vec::new();
        for item in self.keys.scan::<ApiKey>() {
            let (_, key) = item?;
            if key.account_id == account_id {
                keys.push(key);
            }
        }
        Ok(keys)
    }

    /// Gives a key a new secret; the old one stops working at once.
    pub async fn rotate_key(&self, id: &str) -> Result<NewSecret, AccountError> {
        let mut key = self.key(id)?;
        if key.status == KeyStatus::Revoked {
            return Err(AccountError::Conflict(
                "a revoked key cannot be rotated".into(),
            ));
        }
        let secret = crate::ids::secret("imini_sk_");
        let old_hash = std::mem::replace(&mut key.hash, digest(&secret));
        key.prefix = visible_prefix(&secret);
        self.key_index.put(&key.hash, &key.id).await?;
        self.keys.put(&key.id, &key).await?;
        self.key_index.remove(&old_hash).await?;
        Ok(NewSecret { key, secret })
    }

    /// Sets a key's state.
    pub async fn set_key_status(
        &self,
        id: &str,
        status: KeyStatus,
    ) -> Result<ApiKey, AccountError> {
        let mut key = self.key(id)?;
        if key.status == KeyStatus::Revoked && status != KeyStatus::Revoked {
            return Err(AccountError::Conflict("a revoked key stays revoked".into()));
        }
        key.status = status;
        self.keys.put(&key.id, &key).await?;
        Ok(key)
    }

    /// The account and key behind a presented secret, or why it is refused.
    pub fn authenticate(
        &self,
        secret: &str,
    ) -> Result<Result<(Account, ApiKey), Refusal>, AccountError> {
        let Some((account, key)) = self.identify(secret)? else {
            return Ok(Err(Refusal::Unknown));
        };
        match key.status {
            KeyStatus::Revoked => return Ok(Err(Refusal::Revoked)),
            KeyStatus::Suspended => return Ok(Err(Refusal::Suspended)),
            KeyStatus::Active => {}
        }
        if account.status != AccountStatus::Active {
            return Ok(Err(Refusal::AccountSuspended));
        }
        Ok(Ok((account, key)))
    }

    /// The account and key behind a presented secret, whatever their state
    /// (for the few routes a suspended account may use: its enforcement
    /// notices and appeals).
    pub fn identify(&self, secret: &str) -> Result<Option<(Account, ApiKey)>, AccountError> {
        let hash = digest(secret);
        let Some(key_id) = self.key_index.get::<String>(&hash)? else {
            return Ok(None);
        };
        let Some(key) = self.keys.get::<ApiKey>(&key_id)? else {
            return Ok(None);
        };
        // The index already matched; compare the full hashes in constant time
        // anyway, so the decision never rests on a timing-dependent compare.
        if !bool::from(key.hash.as_bytes().ct_eq(hash.as_bytes())) {
            return Ok(None);
        }
        let account = self.get(&key.account_id)?;
        Ok(Some((account, key)))
    }

    /// Records that a key was used, at most once a minute (no flush: losing
    /// it in a crash is harmless).
    pub fn touch(&self, key: &ApiKey) -> Result<(), StoreError> {
        let now = crate::time::now_unix();
        let recent = key
            .last_used_at
            .as_deref()
            .map(crate::time::unix_seconds)
            .is_some_and(|t| now - t < 60);
        if !recent {
            let mut key = key.clone();
            key.last_used_at = Some(now_rfc3339());
            self.keys.put_unflushed(&key.id, &key)?;
        }
        Ok(())
    }
}

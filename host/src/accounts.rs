//! Accounts and their API keys.
//!
//! A key's secret is shown once, when it is created or rotated; only its
//! SHA-256 is stored, in an index from hash to key id, so authentication is
//! one lookup. Secrets are 192-bit random tokens, for which a fast hash is
//! the right tool (a password hash such as argon2 protects low-entropy
//! secrets); the stored and presented hashes are compared in constant time.

use std::sync::Arc;

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

pub use crate::store::accounts::{
    Account, AccountError, AccountQuery, AccountStatus, AccountStore, ApiKey, KeyStatus, Limits,
};
use crate::time::now_rfc3339;

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

/// Accounts and keys: their rules, over an [`AccountStore`].
#[derive(Clone)]
pub struct Accounts {
    store: Arc<dyn AccountStore>,
}

/// A new secret: the key record and the secret, shown once.
pub struct NewSecret {
    /// The key.
    pub key: ApiKey,
    /// The secret.
    pub secret: String,
}

/// How often a key's time of use is recorded, at most.
const TOUCH_INTERVAL_SECS: i64 = 60;

fn digest(secret: &str) -> String {
    crate::ids::hex(&Sha256::digest(secret.as_bytes()))
}

fn visible_prefix(secret: &str) -> String {
    secret.chars().take(14).collect()
}

impl Accounts {
    /// The rules over `store`.
    pub fn new(store: Arc<dyn AccountStore>) -> Self {
        Self { store }
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
            credit_line: 0,
            limits: Limits::default(),
            webhook_url: None,
            webhook_secret: Some(crate::webhooks::new_secret()),
            created_at: now_rfc3339(),
        };
        self.store.insert_account(&account).await?;
        Ok(account)
    }

    /// An account.
    pub async fn get(&self, id: &str) -> Result<Account, AccountError> {
        self.store
            .account(id)
            .await?
            .ok_or(AccountError::AccountNotFound)
    }

    /// Accounts matching `q` in id order, at most `limit` (for operators).
    pub async fn list(&self, q: &AccountQuery, limit: usize) -> Result<Vec<Account>, AccountError> {
        self.store.list_accounts(q, limit).await
    }

    /// Applies `change` to the current account, atomically: concurrent
    /// changes all land. `change` may run more than once.
    pub async fn update(
        &self,
        id: &str,
        mut change: impl FnMut(&mut Account) -> Result<(), AccountError> + Send,
    ) -> Result<Account, AccountError> {
        self.store.update_account(id, &mut change).await
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
        let account = self.get(account_id).await?;
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
        self.store.insert_key(&key).await?;
        Ok(NewSecret { key, secret })
    }

    /// A key.
    pub async fn key(&self, id: &str) -> Result<ApiKey, AccountError> {
        self.store.key(id).await?.ok_or(AccountError::KeyNotFound)
    }

    /// An account's keys, oldest first.
    pub async fn keys_of(&self, account_id: &str) -> Result<Vec<ApiKey>, AccountError> {
        self.store.keys_of(account_id).await
    }

    /// Gives a key a new secret; the old one stops working at once. A key
    /// revoked meanwhile stays revoked and keeps no usable secret.
    pub async fn rotate_key(&self, id: &str) -> Result<NewSecret, AccountError> {
        let secret = crate::ids::secret("imini_sk_");
        let (hash, prefix) = (digest(&secret), visible_prefix(&secret));
        let key = self
            .store
            .update_key(id, &mut |key| {
                if key.status == KeyStatus::Revoked {
                    return Err(AccountError::Conflict(
                        "a revoked key cannot be rotated".into(),
                    ));
                }
                key.hash.clone_from(&hash);
                key.prefix.clone_from(&prefix);
                Ok(())
            })
            .await?;
        Ok(NewSecret { key, secret })
    }

    /// Sets a key's state. A revoked key stays revoked, whatever raced it.
    pub async fn set_key_status(
        &self,
        id: &str,
        status: KeyStatus,
    ) -> Result<ApiKey, AccountError> {
        self.store
            .update_key(id, &mut |key| {
                if key.status == KeyStatus::Revoked && status != KeyStatus::Revoked {
                    return Err(AccountError::Conflict("a revoked key stays revoked".into()));
                }
                key.status = status;
                Ok(())
            })
            .await
    }

    /// The account and key behind a presented secret, or why it is refused.
    pub async fn authenticate(
        &self,
        secret: &str,
    ) -> Result<Result<(Account, ApiKey), Refusal>, AccountError> {
        let Some((account, key)) = self.identify(secret).await? else {
            return Ok(Err(Refusal::Unknown));
        };
        match key.status {
            KeyStatus::Revoked => return Ok(Err(Refusal::Revoked)),
            KeyStatus::Suspended => return Ok(Err(Refusal::Suspended)),
            KeyStatus::Active => {}
        }
        if !account.usable() {
            return Ok(Err(Refusal::AccountSuspended));
        }
        Ok(Ok((account, key)))
    }

    /// The account and key behind a presented secret, whatever their state
    /// (for the few routes a suspended account may use: its enforcement
    /// notices and appeals).
    pub async fn identify(&self, secret: &str) -> Result<Option<(Account, ApiKey)>, AccountError> {
        let hash = digest(secret);
        let Some(key) = self.store.key_by_hash(&hash).await? else {
            return Ok(None);
        };
        // The index already matched; compare the full hashes in constant time
        // anyway, so the decision never rests on a timing-dependent compare.
        if !bool::from(key.hash.as_bytes().ct_eq(hash.as_bytes())) {
            return Ok(None);
        }
        let account = self.get(&key.account_id).await?;
        Ok(Some((account, key)))
    }

    /// Records that a key was used, at most once a minute (not waited to
    /// disk: losing it in a crash is harmless). Only the time of use is
    /// written, on the current record: a revoke, suspension or rotation
    /// that landed since `key` was read stays as it is.
    pub async fn touch(&self, key: &ApiKey) -> Result<(), AccountError> {
        let now = crate::time::now_unix();
        let recent = key
            .last_used_at
            .as_deref()
            .map(crate::time::unix_seconds)
            .is_some_and(|t| now - t < TOUCH_INTERVAL_SECS);
        if !recent {
            self.store
                .touch_key(&key.id, &now_rfc3339(), TOUCH_INTERVAL_SECS)
                .await?;
        }
        Ok(())
    }
}

//! [`AccountStore`] on the embedded store: tables `accounts` (by account
//! id), `keys` (by key id) and `key_index` (a secret's hash to its key id).
//! Changes apply to the current record in a transaction (a key and its
//! index entry together).

use super::{Account, AccountChange, AccountError, AccountQuery, AccountStore, ApiKey, KeyChange};
use crate::store::{Store, StoreError, Table};

/// Accounts and keys in the embedded store.
pub struct EmbeddedAccounts {
    accounts: Table,
    keys: Table,
    key_index: Table,
}

impl EmbeddedAccounts {
    /// The store's account and key trees.
    pub fn new(store: &Store) -> Result<Self, StoreError> {
        Ok(Self {
            accounts: store.table("accounts")?,
            keys: store.table("keys")?,
            key_index: store.table("key_index")?,
        })
    }
}

impl EmbeddedAccounts {
    /// Every account, for a copy to another database.
    pub(crate) fn export_accounts(&self) -> impl Iterator<Item = Result<Account, StoreError>> + '_ {
        self.accounts.records()
    }

    /// Every key, for a copy to another database.
    pub(crate) fn export_keys(&self) -> impl Iterator<Item = Result<ApiKey, StoreError>> + '_ {
        self.keys.records()
    }
}

#[async_trait::async_trait]
impl AccountStore for EmbeddedAccounts {
    async fn insert_account(&self, account: &Account) -> Result<(), AccountError> {
        self.accounts.put(&account.id, account).await?;
        Ok(())
    }

    async fn account(&self, id: &str) -> Result<Option<Account>, AccountError> {
        Ok(self.accounts.get(id)?)
    }

    async fn list_accounts(
        &self,
        q: &AccountQuery,
        limit: usize,
    ) -> Result<Vec<Account>, AccountError> {
        let email = q.email.as_deref().map(str::to_lowercase);
        let mut found = Vec::new();
        // `after` itself is skipped below: the range starts at it.
        for item in self
            .accounts
            .scan_from::<Account>(q.after.as_deref().unwrap_or_default(), "")
        {
            let (id, account) = item?;
            if q.after.as_deref() == Some(id.as_str())
                || q.status.is_some_and(|s| s != account.status)
                || email
                    .as_deref()
                    .is_some_and(|e| !account.email.to_lowercase().contains(e))
            {
                continue;
            }
            found.push(account);
            if found.len() >= limit {
                break;
            }
        }
        Ok(found)
    }

    async fn update_account(
        &self,
        id: &str,
        change: AccountChange<'_>,
    ) -> Result<Account, AccountError> {
        let account = self.accounts.store().transaction(|tx| {
            let mut account: Account = tx
                .get(&self.accounts, id)?
                .ok_or(AccountError::AccountNotFound)?;
            change(&mut account)?;
            tx.put(&self.accounts, id, &account);
            Ok::<_, AccountError>(account)
        })?;
        self.accounts.flush().await?;
        Ok(account)
    }

    async fn insert_key(&self, key: &ApiKey) -> Result<(), AccountError> {
        self.keys.store().transaction(|tx| {
            tx.put(&self.key_index, &key.hash, &key.id);
            tx.put(&self.keys, &key.id, key);
            Ok::<_, StoreError>(())
        })?;
        self.keys.flush().await?;
        Ok(())
    }

    async fn key(&self, id: &str) -> Result<Option<ApiKey>, AccountError> {
        Ok(self.keys.get(id)?)
    }

    async fn key_by_hash(&self, hash: &str) -> Result<Option<ApiKey>, AccountError> {
        let Some(id) = self.key_index.get::<String>(hash)? else {
            return Ok(None);
        };
        Ok(self.keys.get(&id)?)
    }

    async fn keys_of(&self, account_id: &str) -> Result<Vec<ApiKey>, AccountError> {
        let mut keys = Vec::new();
        for item in self.keys.scan::<ApiKey>() {
            let (_, key) = item?;
            if key.account_id == account_id {
                keys.push(key);
            }
        }
        Ok(keys)
    }

    async fn update_key(&self, id: &str, change: KeyChange<'_>) -> Result<ApiKey, AccountError> {
        let key = self.keys.store().transaction(|tx| {
            let mut key: ApiKey = tx.get(&self.keys, id)?.ok_or(AccountError::KeyNotFound)?;
            let old_hash = key.hash.clone();
            change(&mut key)?;
            if key.hash != old_hash {
                tx.put(&self.key_index, &key.hash, &key.id);
                tx.remove(&self.key_index, &old_hash);
            }
            tx.put(&self.keys, id, &key);
            Ok::<_, AccountError>(key)
        })?;
        self.keys.flush().await?;
        Ok(key)
    }

    async fn touch_key(
        &self,
        id: &str,
        at: &str,
        min_interval_secs: i64,
    ) -> Result<(), AccountError> {
        let used_at = crate::time::unix_seconds(at);
        let recent = |key: &ApiKey| {
            key.last_used_at
                .as_deref()
                .map(crate::time::unix_seconds)
                .is_some_and(|t| used_at - t < min_interval_secs)
        };
        // Most calls find a recent use and write nothing: they read
        // without the writer lock.
        if self.keys.get::<ApiKey>(id)?.is_none_or(|key| recent(&key)) {
            return Ok(());
        }
        self.keys.store().transaction(|tx| {
            if let Some(mut key) = tx.get::<ApiKey>(&self.keys, id)?
                && !recent(&key)
            {
                key.last_used_at = Some(at.to_string());
                tx.put(&self.keys, id, &key);
            }
            Ok::<_, AccountError>(())
        })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::EmbeddedAccounts;
    use crate::store::accounts::{AccountStore, conformance};

    fn fresh() -> (tempfile::TempDir, Arc<dyn AccountStore>) {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::store::Store::open(dir.path()).unwrap();
        (dir, Arc::new(EmbeddedAccounts::new(&store).unwrap()))
    }

    conformance::suite!(fresh);
}

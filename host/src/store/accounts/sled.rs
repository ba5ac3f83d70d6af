//! [`AccountStore`] on sled: trees `accounts` (by account id), `keys` (by
//! key id) and `key_index` (a secret's hash to its key id). Changes apply to
//! the current record with a compare-and-swap (one record) or a transaction
//! over `keys` and `key_index` (a key and its index entry), retried on a
//! conflicting write.

use std::cell::RefCell;

use ::sled::Transactional;
use ::sled::transaction::{ConflictableTransactionError, TransactionError};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::{Account, AccountChange, AccountError, AccountQuery, AccountStore, ApiKey, KeyChange};
use crate::store::{Store, StoreError, Table};

/// Accounts and keys in sled.
pub struct SledAccounts {
    accounts: Table,
    keys: Table,
    key_index: Table,
}

impl SledAccounts {
    /// The store's account and key trees.
    pub fn new(store: &Store) -> Result<Self, StoreError> {
        Ok(Self {
            accounts: store.table("accounts")?,
            keys: store.table("keys")?,
            key_index: store.table("key_index")?,
        })
    }
}

impl SledAccounts {
    /// Every account, for a copy to another database.
    pub(crate) fn export_accounts(&self) -> impl Iterator<Item = Result<Account, StoreError>> + '_ {
        self.accounts.records()
    }

    /// Every key, for a copy to another database.
    pub(crate) fn export_keys(&self) -> impl Iterator<Item = Result<ApiKey, StoreError>> + '_ {
        self.keys.records()
    }
}

fn decode<T: DeserializeOwned>(tree: &'static str, bytes: &[u8]) -> Result<T, StoreError> {
    serde_json::from_slice(bytes).map_err(|source| StoreError::Corrupt { tree, source })
}

fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    serde_json::to_vec(value).expect("records serialise")
}

/// A transaction's outcome as an [`AccountError`].
fn settled<T>(result: Result<T, TransactionError<AccountError>>) -> Result<T, AccountError> {
    result.map_err(|e| match e {
        TransactionError::Abort(e) => e,
        TransactionError::Storage(e) => AccountError::Store(e.into()),
    })
}

fn abort(e: impl Into<AccountError>) -> ConflictableTransactionError<AccountError> {
    ConflictableTransactionError::Abort(e.into())
}

#[async_trait::async_trait]
impl AccountStore for SledAccounts {
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
        let tree = self.accounts.tree();
        let account = loop {
            let current = tree
                .get(id)
                .map_err(StoreError::from)?
                .ok_or(AccountError::AccountNotFound)?;
            self.accounts.note_reads(1);
            let mut account: Account = decode("accounts", &current)?;
            change(&mut account)?;
            if tree
                .compare_and_swap(id, Some(current), Some(encode(&account)))
                .map_err(StoreError::from)?
                .is_ok()
            {
                self.accounts.note_writes(1);
                break account;
            }
            // Another change landed first: apply this one to it.
        };
        self.accounts.flush().await?;
        Ok(account)
    }

    async fn insert_key(&self, key: &ApiKey) -> Result<(), AccountError> {
        let (index_entry, record) = (encode(&key.id), encode(key));
        settled(
            (self.keys.tree(), self.key_index.tree()).transaction(|(keys, index)| {
                index.insert(key.hash.as_bytes(), index_entry.as_slice())?;
                keys.insert(key.id.as_bytes(), record.as_slice())?;
                Ok(())
            }),
        )?;
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
        // sled may run the transaction again on a conflict; each run applies
        // the change to the record as it then is.
        let change = RefCell::new(change);
        let moved = std::cell::Cell::new(false);
        let key = settled((self.keys.tree(), self.key_index.tree()).transaction(
            |(keys, index)| {
                let current = keys
                    .get(id.as_bytes())?
                    .ok_or_else(|| abort(AccountError::KeyNotFound))?;
                let mut key: ApiKey = decode("keys", &current).map_err(abort)?;
                let old_hash = key.hash.clone();
                (change.borrow_mut())(&mut key).map_err(abort)?;
                moved.set(key.hash != old_hash);
                if key.hash != old_hash {
                    index.insert(key.hash.as_bytes(), encode(&key.id))?;
                    index.remove(old_hash.as_bytes())?;
                }
                keys.insert(id.as_bytes(), encode(&key))?;
                Ok(key)
            },
        ))?;
        self.keys.note_reads(1);
        self.keys.note_writes(if moved.get() { 2 } else { 1 });
        if moved.get() {
            self.key_index.note_removes(1);
        }
        self.keys.flush().await?;
        Ok(key)
    }

    async fn touch_key(
        &self,
        id: &str,
        at: &str,
        min_interval_secs: i64,
    ) -> Result<(), AccountError> {
        let tree = self.keys.tree();
        let used_at = crate::time::unix_seconds(at);
        loop {
            let Some(current) = tree.get(id).map_err(StoreError::from)? else {
                return Ok(());
            };
            self.keys.note_reads(1);
            let mut key: ApiKey = decode("keys", &current)?;
            let recent = key
                .last_used_at
                .as_deref()
                .map(crate::time::unix_seconds)
                .is_some_and(|t| used_at - t < min_interval_secs);
            if recent {
                return Ok(());
            }
            key.last_used_at = Some(at.to_string());
            if tree
                .compare_and_swap(id, Some(current), Some(encode(&key)))
                .map_err(StoreError::from)?
                .is_ok()
            {
                self.keys.note_writes(1);
                return Ok(());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::SledAccounts;
    use crate::store::accounts::{AccountStore, conformance};

    fn fresh() -> (tempfile::TempDir, Arc<dyn AccountStore>) {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::store::Store::open(dir.path()).unwrap();
        (dir, Arc::new(SledAccounts::new(&store).unwrap()))
    }

    conformance::suite!(fresh);
}

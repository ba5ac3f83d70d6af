//! [`AccountStore`] on PostgreSQL: tables `accounts` and `api_keys`, the
//! secret's hash a unique column of its key (so a rotation moves the index
//! entry in the same row). A change reads the current row `FOR UPDATE`,
//! applies the caller's change and writes it back in one transaction:
//! concurrent changes of one record wait for each other, and each applies
//! to the record as the one before left it. A key's use updates only its
//! use columns, so it never rewrites the key's status.

use tokio_postgres::types::ToSql;
use tokio_postgres::{GenericClient, Row};

use super::{
    Account, AccountChange, AccountError, AccountQuery, AccountStore, ApiKey, KeyChange, Limits,
};
use crate::store::StoreError;
use crate::store::pg::{PgStore, from_text, is_unique_violation, to_text, to_u32};

/// Accounts and keys in PostgreSQL.
pub struct PgAccounts {
    pg: PgStore,
}

impl PgAccounts {
    /// The accounts and keys of the database `pg`.
    pub fn new(pg: &PgStore) -> Self {
        Self { pg: pg.clone() }
    }
}

const ACCOUNT_COLUMNS: &str = "id, email, status, credits_frozen, requests_per_minute, \
     max_concurrent_tasks, webhook_url, webhook_secret, created_at, credit_line";

const KEY_COLUMNS: &str = "id, account_id, name, prefix, status, created_at, last_used_at, \
     requests_per_minute, credit_limit, hash";

fn optional_u32(table: &'static str, value: Option<i64>) -> Result<Option<u32>, StoreError> {
    value.map(|v| to_u32(table, v)).transpose()
}

fn account_from(row: &Row) -> Result<Account, StoreError> {
    Ok(Account {
        id: row.get(0),
        email: row.get(1),
        status: from_text("accounts", row.get(2))?,
        credits_frozen: row.get(3),
        limits: Limits {
            requests_per_minute: optional_u32("accounts", row.get(4))?,
            max_concurrent_tasks: optional_u32("accounts", row.get(5))?,
        },
        webhook_url: row.get(6),
        webhook_secret: row.get(7),
        created_at: row.get(8),
        credit_line: row.get(9),
    })
}

fn key_from(row: &Row) -> Result<ApiKey, StoreError> {
    Ok(ApiKey {
        id: row.get(0),
        account_id: row.get(1),
        name: row.get(2),
        prefix: row.get(3),
        status: from_text("api_keys", row.get(4))?,
        created_at: row.get(5),
        last_used_at: row.get(6),
        requests_per_minute: optional_u32("api_keys", row.get(7))?,
        credit_limit: row.get(8),
        hash: row.get(9),
    })
}

/// An account's columns, in the order of [`ACCOUNT_COLUMNS`].
struct AccountParams {
    status: String,
    requests_per_minute: Option<i64>,
    max_concurrent_tasks: Option<i64>,
}

impl AccountParams {
    fn of(a: &Account) -> Self {
        Self {
            status: to_text(&a.status),
            requests_per_minute: a.limits.requests_per_minute.map(i64::from),
            max_concurrent_tasks: a.limits.max_concurrent_tasks.map(i64::from),
        }
    }

    fn params<'a>(&'a self, a: &'a Account) -> [&'a (dyn ToSql + Sync); 10] {
        [
            &a.id,
            &a.email,
            &self.status,
            &a.credits_frozen,
            &self.requests_per_minute,
            &self.max_concurrent_tasks,
            &a.webhook_url,
            &a.webhook_secret,
            &a.created_at,
            &a.credit_line,
        ]
    }
}

/// A key's columns, in the order of [`KEY_COLUMNS`].
struct KeyParams {
    status: String,
    requests_per_minute: Option<i64>,
    last_used_unix: Option<i64>,
}

impl KeyParams {
    fn of(k: &ApiKey) -> Self {
        Self {
            status: to_text(&k.status),
            requests_per_minute: k.requests_per_minute.map(i64::from),
            last_used_unix: k.last_used_at.as_deref().map(crate::time::unix_seconds),
        }
    }

    /// The columns of [`KEY_COLUMNS`], then `last_used_unix`.
    fn params<'a>(&'a self, k: &'a ApiKey) -> [&'a (dyn ToSql + Sync); 11] {
        [
            &k.id,
            &k.account_id,
            &k.name,
            &k.prefix,
            &self.status,
            &k.created_at,
            &k.last_used_at,
            &self.requests_per_minute,
            &k.credit_limit,
            &k.hash,
            &self.last_used_unix,
        ]
    }
}

/// A write refused by a constraint, as the caller's error.
fn refused(e: tokio_postgres::Error, what: &str) -> AccountError {
    if is_unique_violation(&e) {
        AccountError::Conflict(format!("{what} exists"))
    } else if e.code() == Some(&tokio_postgres::error::SqlState::FOREIGN_KEY_VIOLATION) {
        AccountError::AccountNotFound
    } else {
        AccountError::Store(e.into())
    }
}

/// Stores a new account, within the caller's transaction or alone.
pub(crate) async fn insert_account(
    client: &(impl GenericClient + Sync),
    account: &Account,
) -> Result<(), AccountError> {
    let p = AccountParams::of(account);
    client
        .execute(
            &format!(
                "INSERT INTO accounts ({ACCOUNT_COLUMNS}) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
            ),
            &p.params(account),
        )
        .await
        .map_err(|e| refused(e, "an account with this id"))?;
    Ok(())
}

/// Stores a new key, within the caller's transaction or alone.
pub(crate) async fn insert_key(
    client: &(impl GenericClient + Sync),
    key: &ApiKey,
) -> Result<(), AccountError> {
    let p = KeyParams::of(key);
    client
        .execute(
            &format!(
                "INSERT INTO api_keys ({KEY_COLUMNS}, last_used_unix) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
            ),
            &p.params(key),
        )
        .await
        .map_err(|e| refused(e, "a key with this id or secret"))?;
    Ok(())
}

#[async_trait::async_trait]
impl AccountStore for PgAccounts {
    async fn insert_account(&self, account: &Account) -> Result<(), AccountError> {
        insert_account(&**self.pg.client().await?, account).await
    }

    async fn account(&self, id: &str) -> Result<Option<Account>, AccountError> {
        let client = self.pg.client().await?;
        let row = client
            .query_opt(
                &format!("SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE id = $1"),
                &[&id],
            )
            .await
            .map_err(StoreError::from)?;
        Ok(row.as_ref().map(account_from).transpose()?)
    }

    async fn list_accounts(
        &self,
        q: &AccountQuery,
        limit: usize,
    ) -> Result<Vec<Account>, AccountError> {
        let client = self.pg.client().await?;
        let after = q.after.as_deref().unwrap_or_default();
        let status = q.status.as_ref().map(to_text);
        let email = q.email.as_deref().map(str::to_lowercase);
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = client
            .query(
                &format!(
                    "SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE id > $1 \
                     AND ($2::text IS NULL OR status = $2) \
                     AND ($3::text IS NULL OR strpos(lower(email), $3) > 0) \
                     ORDER BY id LIMIT $4"
                ),
                &[&after, &status, &email, &limit],
            )
            .await
            .map_err(StoreError::from)?;
        Ok(rows.iter().map(account_from).collect::<Result<_, _>>()?)
    }

    async fn update_account(
        &self,
        id: &str,
        change: AccountChange<'_>,
    ) -> Result<Account, AccountError> {
        let mut client = self.pg.client().await?;
        let tx = client.transaction().await.map_err(StoreError::from)?;
        let row = tx
            .query_opt(
                &format!("SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE id = $1 FOR UPDATE"),
                &[&id],
            )
            .await
            .map_err(StoreError::from)?
            .ok_or(AccountError::AccountNotFound)?;
        let mut account = account_from(&row)?;
        // An error rolls the transaction back as it drops.
        change(&mut account)?;
        if account.id != id {
            return Err(AccountError::Invalid(
                "an account's id never changes".into(),
            ));
        }
        let p = AccountParams::of(&account);
        tx.execute(
            "UPDATE accounts SET email = $2, status = $3, credits_frozen = $4, \
             requests_per_minute = $5, max_concurrent_tasks = $6, webhook_url = $7, \
             webhook_secret = $8, created_at = $9, credit_line = $10 WHERE id = $1",
            &p.params(&account),
        )
        .await
        .map_err(StoreError::from)?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(account)
    }

    async fn insert_key(&self, key: &ApiKey) -> Result<(), AccountError> {
        insert_key(&**self.pg.client().await?, key).await
    }

    async fn key(&self, id: &str) -> Result<Option<ApiKey>, AccountError> {
        let client = self.pg.client().await?;
        let row = client
            .query_opt(
                &format!("SELECT {KEY_COLUMNS} FROM api_keys WHERE id = $1"),
                &[&id],
            )
            .await
            .map_err(StoreError::from)?;
        Ok(row.as_ref().map(key_from).transpose()?)
    }

    async fn key_by_hash(&self, hash: &str) -> Result<Option<ApiKey>, AccountError> {
        let client = self.pg.client().await?;
        let row = client
            .query_opt(
                &format!("SELECT {KEY_COLUMNS} FROM api_keys WHERE hash = $1"),
                &[&hash],
            )
            .await
            .map_err(StoreError::from)?;
        Ok(row.as_ref().map(key_from).transpose()?)
    }

    async fn keys_of(&self, account_id: &str) -> Result<Vec<ApiKey>, AccountError> {
        let client = self.pg.client().await?;
        let rows = client
            .query(
                &format!("SELECT {KEY_COLUMNS} FROM api_keys WHERE account_id = $1 ORDER BY id"),
                &[&account_id],
            )
            .await
            .map_err(StoreError::from)?;
        Ok(rows.iter().map(key_from).collect::<Result<_, _>>()?)
    }

    async fn update_key(&self, id: &str, change: KeyChange<'_>) -> Result<ApiKey, AccountError> {
        let mut client = self.pg.client().await?;
        let tx = client.transaction().await.map_err(StoreError::from)?;
        let row = tx
            .query_opt(
                &format!("SELECT {KEY_COLUMNS} FROM api_keys WHERE id = $1 FOR UPDATE"),
                &[&id],
            )
            .await
            .map_err(StoreError::from)?
            .ok_or(AccountError::KeyNotFound)?;
        let mut key = key_from(&row)?;
        change(&mut key)?;
        if key.id != id {
            return Err(AccountError::Invalid("a key's id never changes".into()));
        }
        let p = KeyParams::of(&key);
        tx.execute(
            "UPDATE api_keys SET account_id = $2, name = $3, prefix = $4, status = $5, \
             created_at = $6, last_used_at = $7, requests_per_minute = $8, credit_limit = $9, \
             hash = $10, last_used_unix = $11 WHERE id = $1",
            &p.params(&key),
        )
        .await
        .map_err(|e| refused(e, "a key with this secret"))?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(key)
    }

    async fn touch_key(
        &self,
        id: &str,
        at: &str,
        min_interval_secs: i64,
    ) -> Result<(), AccountError> {
        let used_at = crate::time::unix_seconds(at);
        let mut client = self.pg.client().await?;
        let tx = client.transaction().await.map_err(StoreError::from)?;
        // Losing a use in a crash is harmless: do not wait for the disk.
        tx.batch_execute("SET LOCAL synchronous_commit TO OFF")
            .await
            .map_err(StoreError::from)?;
        tx.execute(
            "UPDATE api_keys SET last_used_at = $2, last_used_unix = $3 \
             WHERE id = $1 AND (last_used_unix IS NULL OR $3 - last_used_unix >= $4)",
            &[&id, &at, &used_at, &min_interval_secs],
        )
        .await
        .map_err(StoreError::from)?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::PgAccounts;
    use crate::store::accounts::{AccountStore, conformance};
    use crate::store::pg::testing::{TestDb, fresh_store_blocking};

    fn fresh_pg() -> (TestDb, Arc<dyn AccountStore>) {
        let (db, pg) = fresh_store_blocking();
        (db, Arc::new(PgAccounts::new(&pg)))
    }

    conformance::suite!(fresh_pg);
}

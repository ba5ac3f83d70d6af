//! [`SecretStore`] on PostgreSQL: the table `secrets`, one row per secret;
//! the first secret kept wins by the primary key (`INSERT … ON CONFLICT DO
//! NOTHING`).

use super::{CREDENTIAL_PREFIX, SecretStore, credential_key};
use crate::store::StoreError;
use crate::store::changes::{CREDENTIALS, announce};
use crate::store::pg::PgStore;

/// The gateway's secrets in PostgreSQL.
pub struct PgSecrets {
    pg: PgStore,
}

impl PgSecrets {
    /// The secrets of the database `pg`.
    pub fn new(pg: &PgStore) -> Self {
        Self { pg: pg.clone() }
    }
}

/// Stores a secret within the caller's transaction (a copy to this
/// database).
pub(crate) async fn import(
    tx: &tokio_postgres::Transaction<'_>,
    name: &str,
    value: &str,
) -> Result<(), StoreError> {
    tx.execute(
        "INSERT INTO secrets (name, value) VALUES ($1, $2)",
        &[&name, &value],
    )
    .await?;
    Ok(())
}

#[async_trait::async_trait]
impl SecretStore for PgSecrets {
    async fn secret(&self, name: &str) -> Result<Option<String>, StoreError> {
        let client = self.pg.client().await?;
        let row = client
            .query_opt("SELECT value FROM secrets WHERE name = $1", &[&name])
            .await?;
        Ok(row.map(|r| r.get(0)))
    }

    async fn set_secret(&self, name: &str, value: &str) -> Result<(), StoreError> {
        let client = self.pg.client().await?;
        client
            .execute(
                "INSERT INTO secrets (name, value) VALUES ($1, $2)
                 ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value",
                &[&name, &value],
            )
            .await?;
        Ok(())
    }

    async fn keep_first(&self, name: &str, value: &str) -> Result<(String, bool), StoreError> {
        let mut client = self.pg.client().await?;
        let tx = client.transaction().await?;
        // A concurrent insert of the same name waits for this one's
        // transaction, then does nothing; the read after it sees the winner.
        let inserted = tx
            .execute(
                "INSERT INTO secrets (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
                &[&name, &value],
            )
            .await?;
        let kept: String = tx
            .query_one("SELECT value FROM secrets WHERE name = $1", &[&name])
            .await?
            .get(0);
        tx.commit().await?;
        Ok((kept, inserted == 1))
    }

    async fn credentials(&self) -> Result<Vec<(String, String)>, StoreError> {
        let client = self.pg.client().await?;
        let rows = client
            .query(
                "SELECT substr(name, $2), value FROM secrets
                 WHERE starts_with(name, $1) ORDER BY name",
                &[&CREDENTIAL_PREFIX, &(CREDENTIAL_PREFIX.len() as i32 + 1)],
            )
            .await?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
    }

    async fn put_credential(&self, name: &str, sealed: &str) -> Result<(), StoreError> {
        let mut client = self.pg.client().await?;
        let tx = client.transaction().await?;
        tx.execute(
            "INSERT INTO secrets (name, value) VALUES ($1, $2)
             ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value",
            &[&credential_key(name), &sealed],
        )
        .await?;
        announce(&tx, CREDENTIALS).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn remove_credential(&self, name: &str) -> Result<bool, StoreError> {
        let mut client = self.pg.client().await?;
        let tx = client.transaction().await?;
        let removed = tx
            .execute(
                "DELETE FROM secrets WHERE name = $1",
                &[&credential_key(name)],
            )
            .await?;
        if removed > 0 {
            announce(&tx, CREDENTIALS).await?;
        }
        tx.commit().await?;
        Ok(removed > 0)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::PgSecrets;
    use crate::store::pg::testing::{TestDb, fresh_store};
    use crate::store::secrets::SecretStore;

    async fn fresh_pg() -> (TestDb, Arc<dyn SecretStore>) {
        let (db, pg) = fresh_store().await;
        (db, Arc::new(PgSecrets::new(&pg)))
    }

    crate::store::secrets::conformance::suite!(fresh_pg);
}

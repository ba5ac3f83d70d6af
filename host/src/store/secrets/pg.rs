//! [`SecretStore`] on PostgreSQL: the table `secrets`, one row per secret;
//! the first secret kept wins by the primary key (`INSERT … ON CONFLICT DO
//! NOTHING`).

use super::SecretStore;
use crate::store::StoreError;
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

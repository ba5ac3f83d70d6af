//! [`PluginStore`] on PostgreSQL: tables `plugins` (one row per plugin,
//! with its revision) and `plugin_versions` (its installed versions, in
//! order). A save is one transaction: a conditional `UPDATE … WHERE
//! revision = expected` (or an insert, for a record never stored), then its
//! versions replaced. Of concurrent saves from one revision the database
//! lets exactly one through: the others wait for its row lock, then find
//! the revision moved.

use std::collections::HashMap;

use tokio_postgres::Row;

use super::{ComponentStore, PluginRecord, PluginSaveError, PluginStore, VersionRecord};
use crate::store::StoreError;
use crate::store::pg::{PgStore, from_text, to_text};

/// Plugin records in PostgreSQL.
pub struct PgPlugins {
    pg: PgStore,
}

impl PgPlugins {
    /// The plugin records of the database `pg`.
    pub fn new(pg: &PgStore) -> Self {
        Self { pg: pg.clone() }
    }

    async fn read(&self, name: Option<&str>) -> Result<Vec<PluginRecord>, StoreError> {
        let mut client = self.pg.client().await?;
        // One snapshot for the records and their versions.
        let tx = client
            .build_transaction()
            .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .await?;
        let rows = tx
            .query(
                "SELECT name, kind, active, history, retired_at, retire_at, config, revision \
                 FROM plugins WHERE $1::text IS NULL OR name = $1 ORDER BY name",
                &[&name],
            )
            .await?;
        let version_rows = tx
            .query(
                "SELECT plugin, version, sha256, wit_version, installed_at, bundled, models, \
                 categories FROM plugin_versions WHERE $1::text IS NULL OR plugin = $1 \
                 ORDER BY plugin, position",
                &[&name],
            )
            .await?;
        tx.commit().await?;
        let mut versions: HashMap<String, Vec<VersionRecord>> = HashMap::new();
        for row in &version_rows {
            versions
                .entry(row.get(0))
                .or_default()
                .push(version_from(row));
        }
        rows.iter()
            .map(|row| record_from(row, &mut versions))
            .collect()
    }
}

fn version_from(row: &Row) -> VersionRecord {
    VersionRecord {
        version: row.get(1),
        sha256: row.get(2),
        wit_version: row.get(3),
        installed_at: row.get(4),
        bundled: row.get(5),
        models: row.get(6),
        categories: row.get(7),
    }
}

fn record_from(
    row: &Row,
    versions: &mut HashMap<String, Vec<VersionRecord>>,
) -> Result<PluginRecord, StoreError> {
    let name: String = row.get(0);
    let revision: i64 = row.get(7);
    Ok(PluginRecord {
        versions: versions.remove(&name).unwrap_or_default(),
        kind: from_text("plugins", row.get(1))?,
        active: row.get(2),
        history: row.get(3),
        retired_at: row.get(4),
        retire_at: row.get(5),
        config: row.get(6),
        revision: u64::try_from(revision).unwrap_or_default(),
        name,
    })
}

#[async_trait::async_trait]
impl PluginStore for PgPlugins {
    async fn plugin(&self, name: &str) -> Result<Option<PluginRecord>, StoreError> {
        Ok(self.read(Some(name)).await?.pop())
    }

    async fn plugins(&self) -> Result<Vec<PluginRecord>, StoreError> {
        self.read(None).await
    }

    async fn save_plugin(&self, record: &mut PluginRecord) -> Result<(), PluginSaveError> {
        if record.name.is_empty() {
            return Err(PluginSaveError::Invalid(
                "a plugin record needs a name".into(),
            ));
        }
        let expected = record.revision;
        let stale = |stored: i64| PluginSaveError::Stale {
            name: record.name.clone(),
            expected,
            stored: u64::try_from(stored).unwrap_or_default(),
        };
        let (Ok(expected_i), Ok(new)) = (i64::try_from(expected), i64::try_from(expected + 1))
        else {
            return Err(PluginSaveError::Invalid("revision out of range".into()));
        };
        let kind = to_text(&record.kind);
        let mut client = self.pg.client().await?;
        let tx = client.transaction().await.map_err(StoreError::from)?;
        let params = record_params(record, &kind, &new, &expected_i);
        let saved = if expected == 0 {
            tx.execute(INSERT_RECORD, &params).await
        } else {
            tx.execute(
                "UPDATE plugins SET kind = $2, active = $3, history = $4, retired_at = $5, \
                 retire_at = $6, config = $7, revision = $8 WHERE name = $1 AND revision = $9",
                &params,
            )
            .await
        }
        .map_err(StoreError::from)?;
        if saved == 0 {
            let stored: i64 = tx
                .query_opt(
                    "SELECT revision FROM plugins WHERE name = $1",
                    &[&record.name],
                )
                .await
                .map_err(StoreError::from)?
                .map_or(0, |row| row.get(0));
            return Err(stale(stored));
        }
        tx.execute(
            "DELETE FROM plugin_versions WHERE plugin = $1",
            &[&record.name],
        )
        .await
        .map_err(StoreError::from)?;
        insert_versions(&tx, record).await?;
        // Every replica brings its serving versions in line.
        crate::store::changes::announce(&tx, crate::store::changes::PLUGINS)
            .await
            .map_err(StoreError::from)?;
        tx.commit().await.map_err(StoreError::from)?;
        record.revision = expected + 1;
        Ok(())
    }
}

/// Stores a new plugin record at revision `$8`, if `$9` (the revision the
/// caller read) is 0 and no record of the name exists.
const INSERT_RECORD: &str = "INSERT INTO plugins \
     (name, kind, active, history, retired_at, retire_at, config, revision) \
     SELECT $1, $2, $3, $4, $5, $6, $7, $8 WHERE $9::bigint = 0 \
     ON CONFLICT (name) DO NOTHING";

/// A record's columns, then its new revision and the one read (`$1`..`$9`
/// of [`INSERT_RECORD`] and of the save's update).
fn record_params<'a>(
    record: &'a PluginRecord,
    kind: &'a String,
    new: &'a i64,
    expected: &'a i64,
) -> [&'a (dyn tokio_postgres::types::ToSql + Sync); 9] {
    [
        &record.name,
        kind,
        &record.active,
        &record.history,
        &record.retired_at,
        &record.retire_at,
        &record.config,
        new,
        expected,
    ]
}

/// Stores the rows of `record`'s versions, within the caller's transaction.
async fn insert_versions(
    tx: &tokio_postgres::Transaction<'_>,
    record: &PluginRecord,
) -> Result<(), PluginSaveError> {
    for (position, v) in record.versions.iter().enumerate() {
        let position = i32::try_from(position)
            .map_err(|_| PluginSaveError::Invalid("too many versions".into()))?;
        tx.execute(
            "INSERT INTO plugin_versions (plugin, position, version, sha256, wit_version, \
             installed_at, bundled, models, categories) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            &[
                &record.name,
                &position,
                &v.version,
                &v.sha256,
                &v.wit_version,
                &v.installed_at,
                &v.bundled,
                &v.models,
                &v.categories,
            ],
        )
        .await
        .map_err(StoreError::from)?;
    }
    Ok(())
}

/// Stores a plugin's record as another database kept it (at revision 1
/// here), within the caller's transaction (a copy to this database).
pub(crate) async fn import(
    tx: &tokio_postgres::Transaction<'_>,
    record: &PluginRecord,
) -> Result<(), PluginSaveError> {
    let kind = to_text(&record.kind);
    tx.execute(INSERT_RECORD, &record_params(record, &kind, &1, &0))
        .await
        .map_err(StoreError::from)?;
    insert_versions(tx, record).await
}

/// Stores a version's component and manifest within the caller's
/// transaction, unless they are there.
pub(crate) async fn import_component(
    tx: &tokio_postgres::Transaction<'_>,
    plugin: &str,
    version: &str,
    manifest: &str,
    wasm: &[u8],
) -> Result<(), StoreError> {
    tx.execute(
        "INSERT INTO plugin_components (plugin, version, manifest, wasm) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (plugin, version) DO NOTHING",
        &[&plugin, &version, &manifest, &wasm],
    )
    .await?;
    Ok(())
}

#[async_trait::async_trait]
impl ComponentStore for PgPlugins {
    async fn put_component(
        &self,
        plugin: &str,
        version: &str,
        manifest: &str,
        wasm: &[u8],
    ) -> Result<(), StoreError> {
        let client = self.pg.client().await?;
        client
            .execute(
                "INSERT INTO plugin_components (plugin, version, manifest, wasm) \
                 VALUES ($1, $2, $3, $4) ON CONFLICT (plugin, version) DO NOTHING",
                &[&plugin, &version, &manifest, &wasm],
            )
            .await?;
        Ok(())
    }

    async fn component(
        &self,
        plugin: &str,
        version: &str,
    ) -> Result<Option<(String, Vec<u8>)>, StoreError> {
        let client = self.pg.client().await?;
        Ok(client
            .query_opt(
                "SELECT manifest, wasm FROM plugin_components WHERE plugin = $1 AND version = $2",
                &[&plugin, &version],
            )
            .await?
            .map(|row| (row.get(0), row.get(1))))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::PgPlugins;
    use crate::store::pg::testing::{TestDb, fresh_store};
    use crate::store::plugins::PluginStore;

    async fn fresh_pg() -> (TestDb, Arc<dyn PluginStore>) {
        let (db, pg) = fresh_store().await;
        (db, Arc::new(PgPlugins::new(&pg)))
    }

    crate::store::plugins::conformance::suite!(fresh_pg);

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_versions_files_are_kept_once_for_every_replica() {
        use crate::store::plugins::ComponentStore;
        let (_db, pg) = fresh_store().await;
        let (a, b) = (PgPlugins::new(&pg), PgPlugins::new(&pg));
        assert_eq!(b.component("swap", "1.0.0").await.unwrap(), None);
        a.put_component("swap", "1.0.0", "name = \"swap\"", b"\0asm one")
            .await
            .unwrap();
        // Kept once: a second put of the version changes nothing.
        a.put_component("swap", "1.0.0", "other", b"other")
            .await
            .unwrap();
        assert_eq!(
            b.component("swap", "1.0.0").await.unwrap(),
            Some(("name = \"swap\"".to_string(), b"\0asm one".to_vec()))
        );
        assert_eq!(b.component("swap", "2.0.0").await.unwrap(), None);
    }
}

//! [`PluginStore`] on the embedded store: one JSON record per plugin in
//! `plugin_versions`, keyed by the plugin's name. A save is a transaction
//! that writes only if the stored revision is still the expected one.

use super::{PluginRecord, PluginSaveError, PluginStore};
use crate::store::{Store, StoreError, Table};

/// Plugin records in the embedded store.
pub struct EmbeddedPlugins {
    records: Table,
}

impl EmbeddedPlugins {
    /// The store's `plugin_versions` tree.
    pub fn open(store: &Store) -> Result<Self, StoreError> {
        Ok(Self {
            records: store.table("plugin_versions")?,
        })
    }
}

#[async_trait::async_trait]
impl PluginStore for EmbeddedPlugins {
    async fn plugin(&self, name: &str) -> Result<Option<PluginRecord>, StoreError> {
        self.records.get(name)
    }

    async fn plugins(&self) -> Result<Vec<PluginRecord>, StoreError> {
        self.records
            .scan::<PluginRecord>()
            .map(|item| item.map(|(_, record)| record))
            .collect()
    }

    async fn save_plugin(&self, record: &mut PluginRecord) -> Result<(), PluginSaveError> {
        if record.name.is_empty() {
            return Err(PluginSaveError::Invalid(
                "a plugin record needs a name".into(),
            ));
        }
        let expected = record.revision;
        let new = PluginRecord {
            revision: expected + 1,
            ..record.clone()
        };
        self.records.store().transaction(|tx| {
            let stored = tx
                .get::<PluginRecord>(&self.records, &record.name)?
                .map_or(0, |r| r.revision);
            if stored != expected {
                return Err(PluginSaveError::Stale {
                    name: record.name.clone(),
                    expected,
                    stored,
                });
            }
            tx.put(&self.records, &record.name, &new);
            Ok(())
        })?;
        self.records.flush().await?;
        record.revision = new.revision;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::EmbeddedPlugins;
    use crate::store::Store;
    use crate::store::plugins::conformance::record;
    use crate::store::plugins::{PluginKind, PluginStore};

    async fn fresh() -> (tempfile::TempDir, Arc<dyn PluginStore>) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        (dir, Arc::new(EmbeddedPlugins::open(&store).unwrap()))
    }

    crate::store::plugins::conformance::suite!(fresh);

    #[tokio::test]
    async fn records_of_earlier_releases_read_and_save_at_revision_zero() {
        let dir = tempfile::tempdir().unwrap();
        // As releases before revisions wrote it, byte for byte.
        let old = r#"{"name":"moderation-basic","kind":"policy","active":"0.2.0","history":["0.1.0","0.2.0"],"versions":[{"version":"0.2.0","sha256":"ab","wit_version":"0.3.0","installed_at":"2026-01-01T00:00:00Z","bundled":false,"models":[],"categories":["violence"]}],"retired_at":null,"retire_at":null,"config":{"threshold":0.5}}"#;
        {
            let store = Store::open(dir.path()).unwrap();
            let table = store.table("plugin_versions").unwrap();
            table
                .put(
                    "moderation-basic",
                    &serde_json::from_str::<serde_json::Value>(old).unwrap(),
                )
                .await
                .unwrap();
        }
        let store = Store::open(dir.path()).unwrap();
        let plugins = EmbeddedPlugins::open(&store).unwrap();
        let mut r = plugins.plugin("moderation-basic").await.unwrap().unwrap();
        assert_eq!((r.kind, r.revision), (PluginKind::Policy, 0));
        assert_eq!(r.history, ["0.1.0", "0.2.0"]);
        assert_eq!(r.versions[0].categories, ["violence"]);

        // The same fields, in the same form, plus the revision.
        let mut written = serde_json::to_value(&r).unwrap();
        written.as_object_mut().unwrap().remove("revision");
        assert_eq!(
            written,
            serde_json::from_str::<serde_json::Value>(old).unwrap()
        );

        r.active = Some("0.1.0".into());
        plugins.save_plugin(&mut r).await.unwrap();
        assert_eq!(r.revision, 1);
        let mut fresh = record("moderation-basic", PluginKind::Policy);
        let err = plugins.save_plugin(&mut fresh).await.unwrap_err();
        assert!(
            err.to_string().contains("changed since it was read"),
            "{err}"
        );
        assert_eq!(
            plugins.plugin("moderation-basic").await.unwrap().unwrap(),
            r
        );
    }
}

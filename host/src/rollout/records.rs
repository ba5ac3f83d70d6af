//! The records of plugin versions as the rollout reads and keeps them:
//! the stored ones, seeded for plugins never changed at run time (bundled,
//! from the configuration's files, or waiting for their credentials), and
//! the files behind each version.

use std::collections::BTreeMap;
use std::path::PathBuf;

use sha2::{Digest, Sha256};

use super::files::{bundled, describe, version_file};
use super::{PluginRecord, Rollout, RolloutError, VersionFiles, VersionRecord, write_durably};
use crate::plugins::{LoadedPlugin, Manifest};
use crate::store::StoreError;

impl Rollout {
    /// Every plugin's record: installed ones, and loaded ones never changed
    /// at run time (their single, current version).
    pub async fn records(&self) -> Result<Vec<PluginRecord>, StoreError> {
        let mut out: BTreeMap<String, PluginRecord> = self
            .records
            .plugins()
            .await?
            .into_iter()
            .map(|r| (r.name.clone(), r))
            .collect();
        for plugin in self.registry.list() {
            let name = plugin.core().manifest().name.clone();
            out.entry(name).or_insert_with(|| self.seed(&plugin));
        }
        for (name, (manifest, _)) in self.waiting.lock().expect("lock").iter() {
            out.entry(name.clone()).or_insert_with(|| {
                self.seed_parts(manifest, String::new(), Vec::new(), Vec::new())
            });
        }
        Ok(out.into_values().collect())
    }

    /// The credentials plugin `name` waits for before its models serve:
    /// none if it serves (or is unknown).
    pub fn waiting_for(&self, name: &str) -> Vec<String> {
        if let Some(plugin) = self.registry.get(name) {
            return plugin.core().missing_credentials();
        }
        match self.waiting.lock().expect("lock").get(name) {
            Some((manifest, _)) => self.runtime.credentials().missing(&manifest.credentials),
            None => Vec::new(),
        }
    }

    /// A record for a loaded plugin that has none yet: its one version,
    /// bundled or from a configured file.
    pub(super) fn seed(&self, plugin: &LoadedPlugin) -> PluginRecord {
        let core = plugin.core();
        let (models, categories) = describe(plugin);
        self.seed_parts(
            core.manifest(),
            core.wit_version.clone(),
            models,
            categories,
        )
    }

    /// A record for a plugin that has none yet, from its manifest and what
    /// loading it told (nothing yet for one waiting for its credentials).
    pub(super) fn seed_parts(
        &self,
        m: &Manifest,
        wit_version: String,
        models: Vec<String>,
        categories: Vec<String>,
    ) -> PluginRecord {
        let file = self.config_file(&m.name);
        let sha256 = match &file {
            Some((_, wasm)) => std::fs::read(wasm).map(|b| crate::ids::hex(&Sha256::digest(&b))),
            None => Ok(bundled(&m.name, Some(&m.version))
                .map(|(_, b)| crate::ids::hex(&Sha256::digest(&b)))
                .unwrap_or_default()),
        }
        .unwrap_or_default();
        PluginRecord {
            name: m.name.clone(),
            kind: m.kind,
            active: Some(m.version.clone()),
            history: vec![m.version.clone()],
            versions: vec![VersionRecord {
                version: m.version.clone(),
                sha256,
                wit_version,
                installed_at: String::new(),
                bundled: file.is_none(),
                models,
                categories,
            }],
            retired_at: None,
            retire_at: None,
            config: None,
            revision: 0,
        }
    }

    /// The manifest and bytes of `version` from the configuration's
    /// `[[plugins]]` files, when that is where it comes from and it is not
    /// in the data directory yet (a file plugin never changed at run time:
    /// the step's record keeps a copy).
    pub(super) fn config_file_version(
        &self,
        record: &PluginRecord,
        version: &str,
    ) -> Result<Option<VersionFiles>, RolloutError> {
        if version_file(&self.dir, &record.name, version, "wasm").exists() {
            return Ok(None);
        }
        let Some((manifest_path, wasm_path)) = self.config_file(&record.name) else {
            return Ok(None);
        };
        let manifest = Manifest::from_toml(&std::fs::read_to_string(manifest_path)?)
            .map_err(|e| RolloutError::Invalid(e.to_string()))?;
        if manifest.version != version {
            return Ok(None);
        }
        Ok(Some((manifest, std::fs::read(wasm_path)?.into())))
    }

    /// The (manifest, component) paths of the configured file plugin `name`.
    pub(super) fn config_file(&self, name: &str) -> Option<(PathBuf, PathBuf)> {
        self.config.plugins.iter().find_map(|f| {
            let text = std::fs::read_to_string(&f.manifest).ok()?;
            let m = Manifest::from_toml(&text).ok()?;
            (m.name == name).then(|| (f.manifest.clone(), f.wasm.clone()))
        })
    }

    /// Saves a record over the revision it was read at, first copying into
    /// the data directory the files of versions that came from the
    /// configuration (so that rollback finds them even if the configuration
    /// changes).
    pub(super) async fn save(&self, record: &mut PluginRecord) -> Result<(), RolloutError> {
        for v in record.versions.iter().filter(|v| !v.bundled) {
            let wasm_path = version_file(&self.dir, &record.name, &v.version, "wasm");
            if wasm_path.exists() {
                continue;
            }
            if let Some((manifest, wasm)) = self.config_file(&record.name) {
                let (wasm, manifest) = (std::fs::read(wasm)?, std::fs::read_to_string(manifest)?);
                std::fs::create_dir_all(self.dir.join(&record.name))?;
                write_durably(&wasm_path, &wasm)?;
                write_durably(
                    &version_file(&self.dir, &record.name, &v.version, "toml"),
                    manifest.as_bytes(),
                )?;
                self.share(&record.name, &v.version, &manifest, &wasm)
                    .await?;
            }
        }
        self.records.save_plugin(record).await?;
        // This replica serves as the record says (the change feed will
        // bring the others in line).
        self.applied
            .lock()
            .expect("lock")
            .insert(record.name.clone(), record.revision);
        Ok(())
    }

    /// Keeps a version's files where other replicas find them.
    pub(super) async fn share(
        &self,
        name: &str,
        version: &str,
        manifest: &str,
        wasm: &[u8],
    ) -> Result<(), StoreError> {
        match &self.components {
            Some(components) => {
                components
                    .put_component(name, version, manifest, wasm)
                    .await
            }
            None => Ok(()),
        }
    }

    /// The record of `name` (seeded from the loaded plugin if it has none).
    pub(super) async fn record(&self, name: &str) -> Result<Option<PluginRecord>, StoreError> {
        if let Some(r) = self.records.plugin(name).await? {
            return Ok(Some(r));
        }
        if let Some(p) = self.registry.get(name) {
            return Ok(Some(self.seed(&p)));
        }
        let waiting = self.waiting.lock().expect("lock");
        Ok(waiting
            .get(name)
            .map(|(m, _)| self.seed_parts(m, String::new(), Vec::new(), Vec::new())))
    }
}

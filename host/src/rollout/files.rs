//! Where plugin versions live and how they load: the component and
//! manifest files under `<data dir>/plugins`, the bundled components, and
//! the plugins to serve at start.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::PluginRecord;
use crate::bundled::BUNDLED;
use crate::config::Config;
use crate::plugins::{
    LoadedPlugin, Manifest, PluginKind, PluginRegistry, PluginRuntime, PluginSource,
};
use crate::store::plugins::{ComponentStore, PluginStore};

/// The directory of installed plugin files.
pub fn plugins_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("plugins")
}

/// The source of a plugin: its manifest, bytes and the operator's settings
/// (with a run-time configuration override).
pub fn source(
    config: &Config,
    manifest: Manifest,
    wasm: Arc<[u8]>,
    over: Option<&Value>,
) -> PluginSource {
    let settings = config.plugin_settings(&manifest.name);
    let plugin_config = match over {
        Some(v) => v.clone(),
        None => settings
            .config
            .clone()
            .map_or(json!({}), |t| serde_json::to_value(t).unwrap_or_default()),
    };
    let policy = manifest.kind == PluginKind::Policy;
    PluginSource {
        manifest,
        wasm,
        config: plugin_config,
        extra_allowed_hosts: settings.allowed_hosts.clone(),
        call_timeout: config.call_timeout(&settings, policy),
        memory_bytes: config.memory_bytes(&settings),
    }
}

/// The bundled component of `name` at `version`, if the binary has it.
pub(super) fn bundled(name: &str, version: Option<&str>) -> Option<(Manifest, Arc<[u8]>)> {
    BUNDLED.iter().find_map(|b| {
        let m = Manifest::from_toml(b.manifest).ok()?;
        (m.name == name && version.is_none_or(|v| v == m.version))
            .then(|| (m, Arc::<[u8]>::from(b.wasm)))
    })
}

/// The path of a stored version's file: `<dir>/<name>/<version>.<ext>`
/// (not `Path::with_extension`, which would take the version's last
/// `.N` for an extension).
pub(super) fn version_file(dir: &Path, name: &str, version: &str, ext: &str) -> PathBuf {
    dir.join(name).join(format!("{version}.{ext}"))
}

/// A plugin to load at start: manifest, bytes, whether bundled, run-time
/// configuration.
type StartSource = (Manifest, Arc<[u8]>, bool, Option<Value>);

/// Loads the plugins to serve at start: the bundled ones and those of the
/// configuration, replaced by the active installed version of the same name
/// where there is one, and without retired plugins. Any failure stops the
/// start, with the plugin named.
/// Returns the registry, the revision of each plugin record it follows, and
/// the bundled plugins left waiting for their credentials.
pub async fn load_at_start(
    runtime: &Arc<PluginRuntime>,
    config: &Config,
    records: &dyn PluginStore,
    components: Option<&dyn ComponentStore>,
    dir: &Path,
) -> anyhow::Result<(PluginRegistry, BTreeMap<String, u64>, Waiting)> {
    let mut revisions = BTreeMap::new();
    let mut sources: Vec<StartSource> = Vec::new();
    for b in BUNDLED {
        let manifest = Manifest::from_toml(b.manifest)
            .with_context(|| format!("bundled plugin {}", b.crate_name))?;
        sources.push((manifest, Arc::from(b.wasm), true, None));
    }
    for file in &config.plugins {
        let text = std::fs::read_to_string(&file.manifest)
            .with_context(|| format!("reading {}", file.manifest.display()))?;
        let manifest = Manifest::from_toml(&text)
            .with_context(|| format!("in {}", file.manifest.display()))?;
        let wasm = std::fs::read(&file.wasm)
            .with_context(|| format!("reading {}", file.wasm.display()))?;
        // A file plugin with a bundled plugin's name replaces it.
        sources.retain(|(m, _, bundled, _)| !(*bundled && m.name == manifest.name));
        sources.push((manifest, wasm.into(), false, None));
    }
    for record in records.plugins().await? {
        revisions.insert(record.name.clone(), record.revision);
        sources.retain(|(m, ..)| m.name != record.name);
        let Some(version) = &record.active else {
            tracing::info!(plugin = %record.name, "plugin retired; not loaded");
            continue;
        };
        let (manifest, wasm) = fetch_version(dir, &record, version, components)
            .await
            .with_context(|| format!("the active version of plugin {}", record.name))?;
        // Installed versions were admitted by an operator: they load even
        // without the credentials a bundled adapter waits for.
        sources.push((manifest, wasm, false, record.config.clone()));
    }

    let registry = PluginRegistry::default();
    let mut waiting = Waiting::new();
    for (manifest, wasm, is_bundled, over) in sources {
        let settings = config.plugin_settings(&manifest.name);
        if settings.enabled == Some(false) {
            tracing::info!(plugin = %manifest.name, "plugin disabled in the configuration");
            continue;
        }
        // A bundled adapter of a third-party upstream is compiled only once
        // the operator has given it its credentials (or enabled it
        // explicitly); any other plugin is loaded, and its models wait.
        let missing = runtime.credentials().missing(&manifest.credentials);
        if is_bundled && settings.enabled != Some(true) && !missing.is_empty() {
            tracing::info!(plugin = %manifest.name, ?missing, "bundled plugin waits for its credentials: set them to launch it");
            waiting.insert(manifest.name.clone(), (manifest, wasm));
            continue;
        }
        if !missing.is_empty() {
            tracing::warn!(plugin = %manifest.name, ?missing, "plugin loaded, but its models wait for its credentials");
        }
        let loaded = runtime
            .load(source(config, manifest, wasm, over.as_ref()))
            .await?;
        let core = loaded.core();
        tracing::info!(plugin = %core.label(), wit = %core.wit_version, from_cache = core.from_cache, compile_ms = core.compile_time.as_millis() as u64, "plugin loaded");
        registry.insert(loaded)?;
    }
    Ok((registry, revisions, waiting))
}

/// Bundled plugins not loaded until their credentials are set: manifest and
/// component by name.
pub type Waiting = BTreeMap<String, (Manifest, Arc<[u8]>)>;

/// The manifest and bytes of a recorded version: from the data directory,
/// else (installed through another replica) from the database, then kept
/// in the data directory.
pub(super) async fn fetch_version(
    dir: &Path,
    record: &PluginRecord,
    version: &str,
    components: Option<&dyn ComponentStore>,
) -> anyhow::Result<(Manifest, Arc<[u8]>)> {
    let local = match stored_version(dir, record, version) {
        Ok(found) => return Ok(found),
        Err(e) => e,
    };
    let Some(components) = components else {
        return Err(local);
    };
    let recorded = record.versions.iter().find(|v| v.version == version);
    let (Some(recorded), false) = (recorded, recorded.is_some_and(|v| v.bundled)) else {
        return Err(local);
    };
    let Some((text, wasm)) = components.component(&record.name, version).await? else {
        return Err(local.context("and the database does not keep it either"));
    };
    if crate::ids::hex(&Sha256::digest(&wasm)) != recorded.sha256 {
        anyhow::bail!(
            "{}@{version} in the database does not match its recorded checksum",
            record.name
        );
    }
    let manifest = Manifest::from_toml(&text)?;
    std::fs::create_dir_all(dir.join(&record.name))?;
    crate::durable::write_file(&version_file(dir, &record.name, version, "wasm"), &wasm)?;
    crate::durable::write_file(
        &version_file(dir, &record.name, version, "toml"),
        text.as_bytes(),
    )?;
    Ok((manifest, wasm.into()))
}

/// The manifest and bytes of a recorded version.
pub(super) fn stored_version(
    dir: &Path,
    record: &PluginRecord,
    version: &str,
) -> anyhow::Result<(Manifest, Arc<[u8]>)> {
    let v = record
        .versions
        .iter()
        .find(|v| v.version == version)
        .with_context(|| format!("version {version} is not recorded"))?;
    if v.bundled {
        return bundled(&record.name, Some(version)).with_context(|| {
            format!(
                "{}@{version} is no longer bundled in this binary",
                record.name
            )
        });
    }
    let (text, wasm) = stored_files(dir, record, version)?;
    Ok((Manifest::from_toml(&text)?, wasm.into()))
}

/// The manifest's text and the component's bytes of an installed (not
/// bundled) version, as kept under `dir`, checked against the recorded
/// checksum.
pub fn stored_files(
    dir: &Path,
    record: &PluginRecord,
    version: &str,
) -> anyhow::Result<(String, Vec<u8>)> {
    let v = record
        .versions
        .iter()
        .find(|v| v.version == version)
        .with_context(|| format!("version {version} is not recorded"))?;
    let (toml_path, wasm_path) = (
        version_file(dir, &record.name, version, "toml"),
        version_file(dir, &record.name, version, "wasm"),
    );
    let text = std::fs::read_to_string(&toml_path)
        .with_context(|| format!("reading {}", toml_path.display()))?;
    let wasm =
        std::fs::read(&wasm_path).with_context(|| format!("reading {}", wasm_path.display()))?;
    if crate::ids::hex(&Sha256::digest(&wasm)) != v.sha256 {
        anyhow::bail!(
            "{} does not match its recorded checksum",
            wasm_path.display()
        );
    }
    Ok((text, wasm))
}

pub(super) fn describe(loaded: &LoadedPlugin) -> (Vec<String>, Vec<String>) {
    match loaded {
        LoadedPlugin::Provider(p) => (p.models.iter().map(|m| m.id.clone()).collect(), Vec::new()),
        LoadedPlugin::Policy(p) => (Vec::new(), p.info.categories.clone()),
    }
}

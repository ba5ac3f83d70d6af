//! `imini plugin check`: validates a component and its manifest offline,
//! exactly as a gateway would before it lets a version serve (the
//! manifest, compiling, the world and WIT version, the imports, the
//! self-check call), with the settings of a configuration file if given.

use std::path::Path;
use std::sync::Arc;

use crate::config::Config;
use crate::plugins::{LoadedPlugin, Manifest};

/// A plugin loaded on this machine as a gateway would load it, with what
/// its calls need to run.
pub struct Local {
    /// The executor its calls run on.
    pub executor: tokio::runtime::Runtime,
    /// The plugin.
    pub plugin: LoadedPlugin,
    /// Its manifest.
    pub manifest: Manifest,
    /// Where it was compiled to; removed when this is dropped.
    _cache: tempfile::TempDir,
}

/// Loads `component` with `manifest` under the settings of `config` (a
/// gateway's configuration file; its defaults if none), tracing each
/// outbound HTTP exchange to stderr if `trace`.
pub fn load(
    component: &Path,
    manifest: &Path,
    config: Option<&Path>,
    trace: bool,
) -> anyhow::Result<Local> {
    let wasm = std::fs::read(component)
        .map_err(|e| anyhow::anyhow!("reading {}: {e}", component.display()))?;
    let text = std::fs::read_to_string(manifest)
        .map_err(|e| anyhow::anyhow!("reading {}: {e}", manifest.display()))?;
    let manifest = Manifest::from_toml(&text).map_err(|e| anyhow::anyhow!("{e}"))?;
    let config = match config {
        Some(path) => Config::load(path)?,
        None => Config::default(),
    };
    let cache = tempfile::tempdir()?;
    let executor = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let plugin = executor.block_on(async {
        let plugins = crate::server::plugin_runtime(&config, cache.path(), trace)?;
        let source = crate::rollout::source(&config, manifest.clone(), Arc::from(wasm), None);
        anyhow::Ok(plugins.load(source).await?)
    })?;
    Ok(Local {
        executor,
        plugin,
        manifest,
        _cache: cache,
    })
}

/// Checks `component` with `manifest`; prints what a gateway would see of
/// it, or fails with the reason it would refuse it.
pub fn check(component: &Path, manifest: &Path, config: Option<&Path>) -> anyhow::Result<()> {
    let Local {
        plugin, manifest, ..
    } = load(component, manifest, config, false)?;
    let core = plugin.core();
    println!(
        "ok: {} is a valid {} plugin (imini:plugin@{}), compiled in {} ms",
        core.label(),
        manifest.kind,
        core.wit_version,
        core.compile_time.as_millis()
    );
    match &plugin {
        LoadedPlugin::Provider(p) => {
            for m in &p.models {
                println!("  model {} ({})", m.id, m.name);
            }
        }
        LoadedPlugin::Policy(p) => {
            println!("  policy {}: {}", p.info.name, p.info.categories.join(", "));
        }
    }
    let ctx = core.context();
    if !ctx.allowed_hosts.is_empty() {
        println!("  may reach {}", ctx.allowed_hosts.join(", "));
    }
    for name in &manifest.credentials {
        let state = if ctx.credentials.contains_key(name) {
            "configured"
        } else {
            "not configured: its calls cannot use it"
        };
        println!("  credential {name}: {state}");
    }
    Ok(())
}

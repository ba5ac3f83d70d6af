//! `imini plugin check`: validates a component and its manifest offline,
//! exactly as a gateway would before it lets a version serve (the
//! manifest, compiling, the world and WIT version, the imports, the
//! self-check call), with the settings of a configuration file if given.

use std::path::Path;
use std::sync::Arc;

use crate::config::Config;
use crate::plugins::{LoadedPlugin, Manifest};

/// Checks `component` with `manifest`; prints what a gateway would see of
/// it, or fails with the reason it would refuse it.
pub fn check(component: &Path, manifest: &Path, config: Option<&Path>) -> anyhow::Result<()> {
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
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let loaded = runtime.block_on(async {
        let plugins = crate::server::plugin_runtime(&config, cache.path())?;
        let source = crate::rollout::source(&config, manifest.clone(), Arc::from(wasm), None);
        anyhow::Ok(plugins.load(source).await?)
    })?;
    let core = loaded.core();
    println!(
        "ok: {} is a valid {} plugin (imini:plugin@{}), compiled in {} ms",
        core.label(),
        manifest.kind,
        core.wit_version,
        core.compile_time.as_millis()
    );
    match &loaded {
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

//! `imini plugin check`: validates a component and its manifest offline,
//! exactly as a gateway would before it lets a version serve (the
//! manifest, compiling, the world and WIT version, the imports, the
//! self-check call), with the settings of a configuration file if given.

use std::path::PathBuf;
use std::sync::Arc;

use crate::config::Config;
use crate::plugins::{LoadedPlugin, Manifest};

/// A built plugin on this machine and the settings it runs with.
#[derive(Debug, clap::Args)]
pub struct LocalArgs {
    /// The component (`.wasm`).
    pub component: PathBuf,
    /// Its manifest (`.toml`).
    pub manifest: PathBuf,
    /// A gateway configuration file whose `[sandbox]`, `[plugin_settings]`
    /// (e.g. an upstream's base_url) and `[credentials]` apply.
    #[arg(long)]
    pub config: Option<PathBuf>,
}

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

/// Loads the component with its manifest under the settings of the
/// configuration file (a gateway's defaults if none), tracing each
/// outbound HTTP exchange to stderr if `trace`.
pub fn load(args: &LocalArgs, trace: bool) -> anyhow::Result<Local> {
    let (component, manifest) = (&args.component, &args.manifest);
    let wasm = std::fs::read(component)
        .map_err(|e| anyhow::anyhow!("reading {}: {e}", component.display()))?;
    let text = std::fs::read_to_string(manifest)
        .map_err(|e| anyhow::anyhow!("reading {}: {e}", manifest.display()))?;
    load_bytes(wasm, &text, args.config.as_deref(), trace)
}

/// Loads a component given as bytes with its manifest's text, as [`load`].
pub fn load_bytes(
    wasm: Vec<u8>,
    manifest: &str,
    config: Option<&std::path::Path>,
    trace: bool,
) -> anyhow::Result<Local> {
    let manifest = Manifest::from_toml(manifest).map_err(|e| anyhow::anyhow!("{e}"))?;
    let config = match config {
        Some(path) => Config::load(path)?,
        None => Config::default(),
    };
    let cache = tempfile::tempdir()?;
    let executor = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let plugin = executor.block_on(async {
        let credentials = crate::credentials::Credentials::fixed(config.secrets()?);
        let plugins = crate::server::plugin_runtime(&config, cache.path(), trace, credentials)?;
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

/// Checks the plugin; prints what a gateway would see of it, or fails with
/// the reason it would refuse it.
pub fn check(args: &LocalArgs) -> anyhow::Result<()> {
    let Local {
        plugin, manifest, ..
    } = load(args, false)?;
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
        let state = if ctx.credentials.get(name).is_some() {
            "configured"
        } else {
            "not configured: its calls cannot use it"
        };
        println!("  credential {name}: {state}");
    }
    Ok(())
}

//! `imini plugin …`: roll plugin versions out on a running gateway (with the
//! admin key): install a component with its manifest, list, activate, roll
//! back, retire; and, on this machine, start a new plugin crate.

pub(super) mod check;
mod new;
mod run;

use clap::Subcommand;
use serde_json::{Value, json};

use super::admin::{Call, Target};
use crate::plugins::PluginKind;

/// The kinds `plugin new` writes.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum NewKind {
    /// Serves models: an adapter of an OpenAI-compatible image API.
    Provider,
    /// Checks requests: refuses the words its configuration lists.
    Policy,
}

/// Plugin operations.
#[derive(Debug, Subcommand)]
pub enum PluginCommand {
    /// Write a new plugin crate (on this machine; no gateway needed) that
    /// builds with `cargo build --target wasm32-wasip2 --release` and whose
    /// own tests pass as written.
    New {
        /// The plugin's name: lowercase letters, digits and '-', starting
        /// with a letter.
        name: String,
        /// What it is.
        #[arg(long, value_enum, default_value = "provider")]
        kind: NewKind,
        /// Where to write it [default: ./NAME]; it must not exist, or be
        /// empty.
        #[arg(long)]
        dir: Option<std::path::PathBuf>,
        /// A local copy of imini-sdk to depend on [default: the imini
        /// repository, as a git dependency].
        #[arg(long)]
        sdk_path: Option<std::path::PathBuf>,
    },
    /// Check a component and its manifest as a gateway would before it lets
    /// the version serve (on this machine; no gateway needed), with the
    /// settings of --config if given.
    Check {
        /// The plugin and the settings it runs with.
        #[command(flatten)]
        plugin: check::LocalArgs,
    },
    /// Run one call of a component on this machine, in the gateway's
    /// sandbox, printing every outbound HTTP exchange: a provider
    /// generates (or submits and is polled to the end) and its outputs are
    /// checked as a gateway checks them; a policy checks the request.
    Run {
        /// The plugin and the settings it runs with.
        #[command(flatten)]
        plugin: check::LocalArgs,
        /// The request, as JSON: {"prompt": …} and optionally "model",
        /// "negative_prompt", "n", "size" ("WIDTHxHEIGHT"), "seed",
        /// "duration_ms", "extra_params" (an object).
        #[arg(long)]
        request: String,
        /// Write the outputs into this directory.
        #[arg(long)]
        out: Option<std::path::PathBuf>,
    },
    /// Upload a version (compiled, checked and smoke-called before it may
    /// serve) and, unless --no-activate, make it serve.
    Install {
        /// The component (`.wasm`).
        #[arg(long)]
        component: std::path::PathBuf,
        /// Its manifest (`.toml`).
        #[arg(long)]
        manifest: std::path::PathBuf,
        /// Keep the serving version; activate later.
        #[arg(long)]
        no_activate: bool,
    },
    /// List plugins with their versions.
    List,
    /// Make an installed version serve.
    Activate {
        /// The plugin's name.
        name: String,
        /// The version.
        version: String,
    },
    /// Go back to the version that served before.
    Rollback {
        /// The plugin's name.
        name: String,
    },
    /// Retire a plugin (its models answer 404 MODEL_NOT_FOUND), now or at
    /// --at (announced in the changelog now).
    Retire {
        /// The plugin's name.
        name: String,
        /// When (RFC 3339).
        #[arg(long)]
        at: Option<String>,
    },
    /// Replace a plugin's operator configuration (a JSON object) at run time.
    Config {
        /// The plugin's name.
        name: String,
        /// The configuration, as JSON.
        #[arg(long)]
        json: String,
    },
}

impl PluginCommand {
    /// Runs the command against the gateway.
    pub fn run(self, target: &Target) -> anyhow::Result<()> {
        let call: Call = match self {
            Self::Check { plugin } => return check::check(&plugin),
            Self::Run {
                plugin,
                request,
                out,
            } => return run::run(&plugin, &request, out.as_deref()),
            Self::New {
                name,
                kind,
                dir,
                sdk_path,
            } => {
                let kind = match kind {
                    NewKind::Provider => PluginKind::Provider,
                    NewKind::Policy => PluginKind::Policy,
                };
                let dir = new::scaffold(&name, kind, dir, sdk_path)?;
                println!(
                    "wrote the {kind} plugin {name} in {}:\n  cd {0}\n  cargo test\n  cargo build --target wasm32-wasip2 --release",
                    dir.display()
                );
                return Ok(());
            }
            Self::Install {
                component,
                manifest,
                no_activate,
            } => return install(target, &component, &manifest, !no_activate),
            Self::List => ("GET", "/admin/v1/plugins".into(), None),
            Self::Activate { name, version } => (
                "POST",
                format!("/admin/v1/plugins/{name}/activate"),
                Some(json!({ "version": version })),
            ),
            Self::Rollback { name } => (
                "POST",
                format!("/admin/v1/plugins/{name}/rollback"),
                Some(json!({})),
            ),
            Self::Retire { name, at } => (
                "POST",
                format!("/admin/v1/plugins/{name}/retire"),
                Some(json!({ "at": at })),
            ),
            Self::Config { name, json } => {
                let config: Value = serde_json::from_str(&json)
                    .map_err(|e| anyhow::anyhow!("--json is not valid JSON: {e}"))?;
                (
                    "POST",
                    format!("/admin/v1/plugins/{name}/config"),
                    Some(json!({ "config": config })),
                )
            }
        };
        super::admin::execute(target, call)
    }
}

/// Uploads a component and its manifest as multipart.
fn install(
    target: &Target,
    component: &std::path::Path,
    manifest: &std::path::Path,
    activate: bool,
) -> anyhow::Result<()> {
    let wasm = std::fs::read(component)
        .map_err(|e| anyhow::anyhow!("reading {}: {e}", component.display()))?;
    let text = std::fs::read_to_string(manifest)
        .map_err(|e| anyhow::anyhow!("reading {}: {e}", manifest.display()))?;
    let form = reqwest::multipart::Form::new()
        .text("manifest", text)
        .part(
            "component",
            reqwest::multipart::Part::bytes(wasm).file_name("component.wasm"),
        )
        .text("activate", activate.to_string());
    super::admin::send(target, "POST", "/admin/v1/plugins", |r| r.multipart(form))
}

//! The plugin runtime: loading WebAssembly components and calling them in a
//! sandbox.
//!
//! One [`PluginRuntime`] per process owns the wasmtime engine ([`engine`]),
//! the linkers with the host functions ([`sandbox`]) and the outbound HTTP
//! client ([`outbound`]). Loading compiles a component once (or takes it from
//! the on-disk cache), checks its WIT version and world, pre-links it into an
//! `InstancePre` and smoke-tests it. Every call then gets a fresh `Store` with
//! a memory limit and a deadline; a trap or a timeout fails that call only and
//! names the plugin and its version.

pub mod bindings;
mod calls;
mod engine;
pub mod manifest;
mod outbound;
mod outputs;
mod registry;
mod sandbox;
mod v0_1;

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use wasmtime::component::{HasSelf, Linker};
use wasmtime::{Store, Trap, UpdateDeadline};

use bindings::policy::PolicyPre;
use bindings::provider::{Provider, ProviderPre};
use bindings::{policy_api, provider_api, types};
use calls::{PolicyPreOf, ProviderPreOf};
pub use engine::EngineLimits;
use engine::PluginEngine;
pub use manifest::{Manifest, MediaCheck, OutputCheck, PluginKind};
pub use outbound::Outbound;
pub use outputs::FetchError;
pub use registry::{DuplicatePlugin, PluginRegistry};
use sandbox::CallState;
pub use sandbox::{PluginContext, printable};

/// The WIT package the plugins implement.
pub const WIT_PACKAGE: &str = "imini:plugin";
/// The WIT versions this host supports: from the first (inclusive) to the
/// second (exclusive), as (major, minor, patch).
pub const WIT_SUPPORTED: ((u64, u64, u64), (u64, u64, u64)) = ((0, 1, 0), (0, 3, 0));

/// The supported range in words, e.g. `>=0.1.0, <0.3.0`.
pub fn wit_supported_range() -> String {
    let ((a, b, c), (x, y, z)) = WIT_SUPPORTED;
    format!(">={a}.{b}.{c}, <{x}.{y}.{z}")
}

/// Failures to set up the runtime or to load a plugin.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    /// The engine could not be configured.
    #[error("plugin engine: {0}")]
    Engine(String),
    /// The artifact cache directory is unusable.
    #[error("plugin cache: {0}")]
    Cache(String),
    /// The bytes are not a valid component for this engine.
    #[error("compiling the component failed: {0}")]
    Compile(String),
    /// The component does not fit the contract (world, WIT version, imports).
    #[error("plugin {plugin} is not a valid imini plugin: {reason}")]
    Invalid {
        /// `name@version`.
        plugin: String,
        /// What is wrong.
        reason: String,
    },
    /// The smoke call after loading failed.
    #[error("plugin {plugin} failed its self-check: {reason}")]
    SelfCheck {
        /// `name@version`.
        plugin: String,
        /// What failed.
        reason: String,
    },
    /// The plugin refuses the operator's configuration.
    #[error("plugin {plugin} refuses its configuration: {reason}")]
    Config {
        /// `name@version`.
        plugin: String,
        /// What it says is wrong.
        reason: String,
    },
}

/// Why a call into a plugin did not return normally.
#[derive(Debug, Clone, thiserror::Error)]
#[error("plugin {plugin}: {kind}")]
pub struct CallError {
    /// `name@version`.
    pub plugin: String,
    /// What happened.
    pub kind: CallErrorKind,
}

/// The ways a call can fail inside the sandbox.
#[derive(Debug, Clone, thiserror::Error)]
pub enum CallErrorKind {
    /// The call ran past its deadline and was interrupted.
    #[error("call exceeded its deadline of {0:?}")]
    Deadline(Duration),
    /// The guest asked for more memory than it may use.
    #[error("call exceeded its memory limit of {} MiB", .0 / (1024 * 1024))]
    MemoryLimit(usize),
    /// The guest trapped (a panic, an out-of-bounds access...). What it
    /// says (a panic's message and source location, wasmtime's account of
    /// the trap) goes to the log only: callers are told that it crashed.
    #[error("call trapped (the plugin crashed; the gateway's log has the details)")]
    Trap(String),
    /// Every slot of the instance pool of its kind stayed taken for as long
    /// as the call may take (its deadline), so it never started.
    #[error("no sandbox instance became free within {0:?} (the pool, sandbox.{1}, is busy)")]
    PoolBusy(Duration, &'static str),
}

/// What a loaded plugin needs besides its bytes.
#[derive(Debug, Clone)]
pub struct PluginSource {
    /// The manifest.
    pub manifest: Manifest,
    /// The component's bytes.
    pub wasm: Arc<[u8]>,
    /// The operator's configuration for it, as a JSON object.
    pub config: serde_json::Value,
    /// Hosts the operator allows beyond the manifest's.
    pub extra_allowed_hosts: Vec<String>,
    /// Wall-clock bound of one call.
    pub call_timeout: Duration,
    /// Memory bound of one call, in bytes.
    pub memory_bytes: usize,
}

/// The process-wide runtime.
pub struct PluginRuntime {
    engine: PluginEngine,
    linker: Linker<CallState>,
    outbound: Outbound,
    /// Slots for provider calls.
    provider_permits: Arc<Semaphore>,
    /// Slots for policy calls, apart, so that slow provider calls cannot
    /// hold up the checks of new requests.
    policy_permits: Arc<Semaphore>,
    /// The credentials in force.
    credentials: Arc<crate::credentials::Credentials>,
    max_memory_bytes: usize,
    max_output_bytes: usize,
}

/// A loaded plugin of either kind.
#[derive(Clone)]
pub enum LoadedPlugin {
    /// A provider.
    Provider(Arc<ProviderPlugin>),
    /// A policy.
    Policy(Arc<PolicyPlugin>),
}

/// What every loaded plugin carries.
pub struct PluginCore {
    runtime: Arc<PluginRuntime>,
    context: Arc<PluginContext>,
    /// The WIT version the component was built against.
    pub wit_version: String,
    /// Whether its compiled code came from the on-disk cache.
    pub from_cache: bool,
    /// How long compiling (or loading from the cache) took.
    pub compile_time: Duration,
    /// Its name and version as metric labels.
    metric: crate::metrics::PluginName,
}

/// How a call that returned ended, for the metrics: `ok`, or
/// `plugin_error` when the plugin answered with its own error.
pub(crate) trait Answer {
    /// The outcome label.
    fn outcome(&self) -> &'static str;
}

impl<T> Answer for Result<T, types::PluginError> {
    fn outcome(&self) -> &'static str {
        if self.is_ok() { "ok" } else { "plugin_error" }
    }
}

impl<T> Answer for Vec<T> {
    fn outcome(&self) -> &'static str {
        "ok"
    }
}

/// A loaded provider plugin.
pub struct ProviderPlugin {
    core: PluginCore,
    pre: ProviderPreOf,
    /// The models it declared when loaded.
    pub models: Vec<provider_api::ModelInfo>,
}

/// A loaded policy plugin.
pub struct PolicyPlugin {
    core: PluginCore,
    pre: PolicyPreOf,
    /// What it declared when loaded.
    pub info: policy_api::PolicyInfo,
    /// What its `check-output` reads, from its manifest's `output_check`
    /// and its configuration: `None` when the manifest does not say (it
    /// is given every output).
    output_reads: Option<OutputReads>,
}

/// What a policy's `check-output` reads, resolved against its
/// configuration.
#[derive(Debug, Clone, Copy)]
struct OutputReads {
    /// The text outputs come with.
    text: bool,
    /// The outputs' bytes.
    media: bool,
}

impl PolicyPlugin {
    /// Whether its `check-output` has anything to read in `outputs`: yes,
    /// unless its manifest says what it reads (`output_check`) and
    /// `outputs` hold none of it. The gateway skips the call otherwise.
    pub fn reads_outputs(&self, outputs: &[types::Media]) -> bool {
        let Some(reads) = self.output_reads else {
            return true;
        };
        let text = || {
            outputs
                .iter()
                .any(|m| m.text.as_deref().is_some_and(|t| !t.is_empty()))
        };
        (reads.media && !outputs.is_empty()) || (reads.text && text())
    }
}

/// Per-call inputs from the request being served.
#[derive(Debug, Clone, Default)]
pub struct CallInput {
    /// The request id, for the plugin's log lines.
    pub request_id: String,
    /// Reference media; the `i`-th is handle `i + 1`.
    pub blobs: Vec<Bytes>,
}

impl PluginRuntime {
    /// Builds the runtime: engine, linker with WASI (empty context) and the
    /// imini host functions.
    pub fn new(
        limits: &EngineLimits,
        cache_dir: &std::path::Path,
        outbound: Outbound,
        credentials: Arc<crate::credentials::Credentials>,
    ) -> Result<Arc<Self>, RuntimeError> {
        let engine = PluginEngine::new(limits, cache_dir)?;
        let mut linker = Linker::new(engine.engine());
        wasmtime_wasi::p2::add_to_linker_async(&mut linker)
            .map_err(|e| RuntimeError::Engine(format!("{e:#}")))?;
        Provider::add_to_linker::<_, HasSelf<_>>(&mut linker, |s| s)
            .map_err(|e| RuntimeError::Engine(format!("{e:#}")))?;
        // The same host functions under 0.1.0's names.
        bindings::v0_1::provider::Provider::add_to_linker::<_, HasSelf<_>>(&mut linker, |s| s)
            .map_err(|e| RuntimeError::Engine(format!("{e:#}")))?;
        Ok(Arc::new(Self {
            engine,
            linker,
            outbound,
            provider_permits: Arc::new(Semaphore::new(limits.provider_calls.max(1) as usize)),
            policy_permits: Arc::new(Semaphore::new(limits.policy_calls.max(1) as usize)),
            credentials,
            max_memory_bytes: limits.memory_bytes,
            max_output_bytes: limits.max_output_bytes,
        }))
    }

    /// The credentials in force.
    pub fn credentials(&self) -> &Arc<crate::credentials::Credentials> {
        &self.credentials
    }

    /// Compiles (or takes from the cache), validates and smoke-tests a
    /// plugin. Nothing is published: the caller decides what to do with it.
    pub async fn load(
        self: &Arc<Self>,
        source: PluginSource,
    ) -> Result<LoadedPlugin, RuntimeError> {
        let label = format!("{}@{}", source.manifest.name, source.manifest.version);
        let started = Instant::now();
        let runtime = self.clone();
        let wasm = source.wasm.clone();
        let (component, from_cache) =
            tokio::task::spawn_blocking(move || runtime.engine.compile(&wasm))
                .await
                .map_err(|e| RuntimeError::Compile(format!("compiler task failed: {e}")))??;
        let compile_time = started.elapsed();

        let invalid = |reason: String| RuntimeError::Invalid {
            plugin: label.clone(),
            reason,
        };
        let wit_version = self
            .check_exports(&component, source.manifest.kind)
            .map_err(invalid)?;
        let v0_1 = wit_version.starts_with("0.1.");
        let pre = self.linker.instantiate_pre(&component).map_err(|e| {
            invalid(format!(
                "its imports cannot be satisfied by this gateway: {e:#}"
            ))
        })?;

        let mut allowed_hosts = source.manifest.allowed_hosts.clone();
        allowed_hosts.extend(source.extra_allowed_hosts.iter().cloned());
        let context = Arc::new(PluginContext {
            config_json: source.config.to_string(),
            allowed_hosts,
            credentials: self.credentials.clone(),
            call_timeout: source.call_timeout,
            memory_bytes: source.memory_bytes.min(self.max_memory_bytes),
            manifest: source.manifest.clone(),
        });
        let core = PluginCore {
            runtime: self.clone(),
            context,
            wit_version,
            from_cache,
            compile_time,
            metric: crate::metrics::PluginName::new(
                &source.manifest.name,
                &source.manifest.version,
            ),
        };
        let self_check = |reason: String| RuntimeError::SelfCheck {
            plugin: label.clone(),
            reason,
        };
        let refused = |e: types::PluginError| RuntimeError::Config {
            plugin: label.clone(),
            reason: printable(&e.message, 500),
        };
        let config_json = source.config.to_string();
        match source.manifest.kind {
            PluginKind::Provider => {
                let pre = if v0_1 {
                    bindings::v0_1::provider::ProviderPre::new(pre).map(ProviderPreOf::V0_1)
                } else {
                    ProviderPre::new(pre).map(ProviderPreOf::Now)
                }
                .map_err(|e| invalid(format!("{e:#}")))?;
                let mut plugin = ProviderPlugin {
                    core,
                    pre,
                    models: Vec::new(),
                };
                plugin
                    .validate_config(&CallInput::default(), &config_json)
                    .await
                    .map_err(|e| self_check(e.kind.to_string()))?
                    .map_err(refused)?;
                let models = plugin
                    .models(&CallInput::default())
                    .await
                    .map_err(|e| self_check(e.kind.to_string()))?;
                validate_models(&models).map_err(self_check)?;
                plugin.models = models;
                Ok(LoadedPlugin::Provider(Arc::new(plugin)))
            }
            PluginKind::Policy => {
                let pre = if v0_1 {
                    bindings::v0_1::policy::PolicyPre::new(pre).map(PolicyPreOf::V0_1)
                } else {
                    PolicyPre::new(pre).map(PolicyPreOf::Now)
                }
                .map_err(|e| invalid(format!("{e:#}")))?;
                let output_reads = source.manifest.output_check.as_ref().map(|c| OutputReads {
                    text: c.text,
                    media: c.reads_media(&source.config),
                });
                let mut plugin = PolicyPlugin {
                    core,
                    pre,
                    info: policy_api::PolicyInfo {
                        name: String::new(),
                        categories: Vec::new(),
                    },
                    output_reads,
                };
                plugin
                    .validate_config(&CallInput::default(), &config_json)
                    .await
                    .map_err(|e| self_check(e.kind.to_string()))?
                    .map_err(refused)?;
                let info = plugin
                    .describe(&CallInput::default())
                    .await
                    .map_err(|e| self_check(e.kind.to_string()))?
                    .map_err(|e| {
                        self_check(format!("describe returned an error: {}", e.message))
                    })?;
                plugin.info = info;
                Ok(LoadedPlugin::Policy(Arc::new(plugin)))
            }
        }
    }

    /// Finds the plugin interface the component exports and checks that its
    /// WIT version is one this host supports. Returns that version.
    fn check_exports(
        &self,
        component: &wasmtime::component::Component,
        kind: PluginKind,
    ) -> Result<String, String> {
        let wanted = match kind {
            PluginKind::Provider => "model-provider",
            PluginKind::Policy => "content-policy",
        };
        let ty = component.component_type();
        let exports: Vec<String> = ty
            .exports(self.engine.engine())
            .map(|(name, _)| name.to_string())
            .collect();
        let prefix = format!("{WIT_PACKAGE}/{wanted}@");
        let Some(version) = exports.iter().find_map(|e| e.strip_prefix(&prefix)) else {
            let found = if exports.is_empty() {
                "nothing".to_string()
            } else {
                exports.join(", ")
            };
            return Err(format!(
                "the manifest says {kind}, so the component must export {WIT_PACKAGE}/{wanted}; it exports {found}"
            ));
        };
        let mut parts = version
            .split(['.', '-', '+'])
            .map(|p| p.parse::<u64>().ok());
        let parsed = (
            parts.next().flatten(),
            parts.next().flatten(),
            parts.next().flatten(),
        );
        let (min, max) = WIT_SUPPORTED;
        let supported = match parsed {
            (Some(a), Some(b), Some(c)) => (a, b, c) >= min && (a, b, c) < max,
            _ => false,
        };
        if !supported {
            return Err(format!(
                "it is built against {WIT_PACKAGE}@{version}, but this gateway supports {WIT_PACKAGE} {}",
                wit_supported_range()
            ));
        }
        Ok(version.to_string())
    }
}

fn validate_models(models: &[provider_api::ModelInfo]) -> Result<(), String> {
    if models.is_empty() {
        return Err("it declares no models".into());
    }
    for m in models {
        let well_formed = m.id.split_once('/').is_some_and(|(v, n)| {
            let ok = |s: &str| {
                !s.is_empty()
                    && s.bytes().all(|b| {
                        b.is_ascii_lowercase() || b.is_ascii_digit() || b"-._".contains(&b)
                    })
            };
            ok(v) && ok(n)
        });
        if !well_formed {
            return Err(format!(
                "model id {:?} must look like vendor/name (lowercase)",
                m.id
            ));
        }
        if m.max_n == 0
            || m.min_size.width > m.max_size.width
            || m.min_size.height > m.max_size.height
        {
            return Err(format!("model {} declares impossible limits", m.id));
        }
    }
    Ok(())
}

impl PluginCore {
    /// The plugin's manifest.
    pub fn manifest(&self) -> &Manifest {
        &self.context.manifest
    }

    /// `name@version`.
    pub fn label(&self) -> String {
        self.context.label()
    }

    /// The credentials its manifest names that are not set: while there
    /// are any, its models are not served.
    pub fn missing_credentials(&self) -> Vec<String> {
        self.context
            .credentials
            .missing(&self.context.manifest.credentials)
    }

    /// What its calls run with (limits, allowlist, configuration, the
    /// credentials injected).
    pub fn context(&self) -> &PluginContext {
        &self.context
    }

    /// A fresh store for one call, with its limits and deadline, once a slot
    /// in the instance pool is free. A call waits for a slot for as long as
    /// its deadline (`call_timeout`); the deadline of the call itself starts
    /// once it has one.
    async fn store(&self, input: &CallInput) -> Result<Slot, CallErrorKind> {
        let wait = self.context.call_timeout;
        let (permits, setting) = match self.context.manifest.kind {
            PluginKind::Provider => (&self.runtime.provider_permits, "max_concurrent_calls"),
            PluginKind::Policy => (&self.runtime.policy_permits, "max_concurrent_policy_calls"),
        };
        let permit = tokio::time::timeout(wait, permits.clone().acquire_owned())
            .await
            .map_err(|_| CallErrorKind::PoolBusy(wait, setting))?
            .expect("the call semaphore is never closed");
        let state = CallState::new(
            self.context.clone(),
            self.runtime.outbound.clone(),
            input.blobs.clone(),
            input.request_id.clone(),
        );
        let mut store = Store::new(self.runtime.engine.engine(), state);
        store.limiter(|s| &mut s.limiter);
        store.set_epoch_deadline(1);
        // At each tick: stop the guest once its deadline has passed; yield
        // to the executor if it has computed for half a tick or more since
        // it last waited on the host, so a busy guest cannot starve other
        // requests. A tick that fell while the guest waited on an HTTP
        // request finds it just resumed: it goes on without a yield.
        store.epoch_deadline_callback(|mut ctx| {
            let now = Instant::now();
            let state = ctx.data_mut();
            if now >= state.deadline {
                return Ok(UpdateDeadline::Interrupt);
            }
            let computed = now.saturating_duration_since(state.running_since);
            state.running_since = now;
            if computed < engine::EPOCH_TICK / 2 {
                return Ok(UpdateDeadline::Continue(1));
            }
            // On a serving thread, this moves the call's request or task to
            // the shared runtime.
            crate::serving::guest_ticked();
            Ok(UpdateDeadline::Yield(1))
        });
        Ok(Slot {
            store,
            _permit: permit,
        })
    }

    /// Runs `call` in a fresh store, bounded by the plugin's deadline (also
    /// while it waits on a host function), and classifies failures.
    async fn run<R: Answer, F>(
        &self,
        input: &CallInput,
        export: &'static str,
        call: F,
    ) -> Result<R, CallError>
    where
        F: AsyncFnOnce(&mut Store<CallState>) -> wasmtime::Result<R>,
    {
        let started = Instant::now();
        let span = if crate::telemetry::exporting() {
            tracing::info_span!(
                "plugin_call",
                plugin = %self.context.manifest.name,
                version = %self.context.manifest.version,
                call = export
            )
        } else {
            tracing::Span::none()
        };
        let result = tracing::Instrument::instrument(self.run_unmeasured(input, call), span).await;
        let outcome = match &result {
            Ok(answer) => answer.outcome(),
            Err(e) => match e.kind {
                CallErrorKind::Deadline(_) => "deadline",
                CallErrorKind::MemoryLimit(_) => "memory_limit",
                CallErrorKind::Trap(_) => "trap",
                CallErrorKind::PoolBusy(..) => "pool_busy",
            },
        };
        crate::metrics::metrics().plugin_call(&self.metric, export, outcome, started.elapsed());
        result
    }

    async fn run_unmeasured<R, F>(&self, input: &CallInput, call: F) -> Result<R, CallError>
    where
        F: AsyncFnOnce(&mut Store<CallState>) -> wasmtime::Result<R>,
    {
        let error = |kind| CallError {
            plugin: self.label(),
            kind,
        };
        let mut slot = self.store(input).await.map_err(error)?;
        let store = &mut slot.store;
        let timeout = self.context.call_timeout;
        // The epoch check interrupts running guest code; this bound also
        // covers time spent inside host functions.
        let outcome = tokio::time::timeout(timeout + Duration::from_secs(1), call(store)).await;
        match outcome {
            Ok(Ok(value)) => Ok(value),
            Err(_) => Err(error(CallErrorKind::Deadline(timeout))),
            Ok(Err(e)) => {
                let data = store.data();
                let stderr = String::from_utf8_lossy(&data.stderr.contents())
                    .trim()
                    .to_string();
                if !stderr.is_empty() {
                    // Escaped: a guest's newline must not start a line of
                    // the gateway's log.
                    tracing::warn!(plugin = %self.label(), request_id = %input.request_id, stderr = %sandbox::printable(&stderr, sandbox::MAX_LOG_LINE), "plugin wrote to stderr before failing");
                }
                let kind = if data.limiter.hit {
                    CallErrorKind::MemoryLimit(self.context.memory_bytes)
                } else if matches!(e.downcast_ref::<Trap>(), Some(Trap::Interrupt)) {
                    CallErrorKind::Deadline(timeout)
                } else {
                    let detail = match stderr.lines().find(|l| l.contains("panicked")) {
                        Some(line) => line.to_string(),
                        None => format!("{:#}", e),
                    };
                    tracing::warn!(plugin = %self.label(), request_id = %input.request_id, trap = %sandbox::printable(&detail, sandbox::MAX_LOG_LINE), "plugin call trapped");
                    CallErrorKind::Trap(detail)
                };
                Err(error(kind))
            }
        }
    }
}

/// The store of one call and its slot in the instance pool. The fields drop
/// in order: the store (which gives its instance back to wasmtime's pool)
/// before the permit, so a call that is handed the permit always finds a
/// free instance. The other way round, a waiting call could be woken and
/// instantiate while the pool was still full, and fail.
struct Slot {
    store: Store<CallState>,
    _permit: OwnedSemaphorePermit,
}

impl LoadedPlugin {
    /// The shared parts.
    pub fn core(&self) -> &PluginCore {
        match self {
            LoadedPlugin::Provider(p) => &p.core,
            LoadedPlugin::Policy(p) => &p.core,
        }
    }
}

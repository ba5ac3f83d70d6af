//! Operator configuration: a TOML file (unknown keys are rejected), validated
//! once at start. Command-line flags and `IMINI_*` variables override the
//! file's `listen` and `data_dir`.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

mod accounts;

pub use self::accounts::{AccountsConfig, Signup};

/// Configuration problems, reported before anything starts.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("reading {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The TOML is malformed or has unknown keys.
    #[error("{path}: {source}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// Why.
        source: toml::de::Error,
    },
    /// A value is out of range or inconsistent.
    #[error("invalid configuration: {0}")]
    Invalid(String),
}

/// The whole configuration.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Address to listen on (default 127.0.0.1:8080).
    pub listen: Option<SocketAddr>,
    /// Data directory (default ./data).
    pub data_dir: Option<PathBuf>,
    /// The HTTP server.
    #[serde(default)]
    pub server: ServerConfig,
    /// The plugin sandbox.
    #[serde(default)]
    pub sandbox: SandboxConfig,
    /// Upstream credentials by name; plugins name them, never see them.
    #[serde(default)]
    pub credentials: BTreeMap<String, CredentialConfig>,
    /// Extra plugins loaded from files.
    #[serde(default)]
    pub plugins: Vec<PluginFile>,
    /// Per-plugin settings by plugin name (bundled or loaded from files).
    #[serde(default)]
    pub plugin_settings: BTreeMap<String, PluginSettings>,
    /// Task time limits.
    #[serde(default)]
    pub tasks: TasksConfig,
    /// Public models served by several provider models, with fallback.
    #[serde(default)]
    pub routes: Vec<crate::catalogue::RouteConfig>,
    /// How long prompts, references and outputs are kept.
    #[serde(default)]
    pub retention: RetentionConfig,
    /// Where the gateway may connect on callers' behalf.
    #[serde(default)]
    pub network: NetworkConfig,
    /// Default rate limits; accounts and keys can have their own.
    #[serde(default)]
    pub limits: LimitsConfig,
    /// Prices by model id, in integer credits. The bundled canvas models
    /// have defaults; a model without a price cannot be used by accounts.
    #[serde(default)]
    pub prices: BTreeMap<String, PriceConfig>,
    /// Content moderation: which policies check which models, and what
    /// happens to those who break the rules.
    #[serde(default)]
    pub moderation: ModerationConfig,
    /// Plugin rollout: a watched directory of components to install.
    #[serde(default)]
    pub rollout: RolloutConfig,
    /// Where the state is kept: sled in the data directory, or PostgreSQL.
    #[serde(default)]
    pub store: crate::store::backend::StoreConfig,
    /// Several replicas on one database: how long their leases last.
    #[serde(default)]
    pub replicas: ReplicasConfig,
    /// Where media blobs are kept: a directory (default `<data_dir>/media`)
    /// or an S3-compatible bucket.
    #[serde(default)]
    pub media: crate::media::backend::MediaConfig,
    /// Metrics and traces.
    #[serde(default)]
    pub telemetry: TelemetryConfig,
    /// Amounts owed: when a debt under a credit line becomes overdue.
    #[serde(default)]
    pub billing: crate::overdue::BillingConfig,
    /// Where email to people goes: an SMTP server, or (absent) the log.
    #[serde(default)]
    pub email: Option<crate::people::mail::EmailConfig>,
    /// How people join the console and how long they stay logged in.
    #[serde(default)]
    pub accounts: AccountsConfig,
}

/// Metrics and traces.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TelemetryConfig {
    /// A token that may read `GET /metrics` besides the admin key (so the
    /// scraper need not hold the admin key). `IMINI_METRICS_TOKEN`
    /// overrides it.
    pub metrics_token: Option<String>,
    /// An OpenTelemetry collector's OTLP/HTTP base URL
    /// (`http://127.0.0.1:4318`): when set, spans are exported to
    /// `<otlp_endpoint>/v1/traces` (protobuf).
    pub otlp_endpoint: Option<String>,
    /// The `service.name` of exported spans.
    pub service_name: String,
}

impl Default for TelemetryConfig {
    fn default() -> Self {
        Self {
            metrics_token: None,
            otlp_endpoint: None,
            service_name: "imini".into(),
        }
    }
}

impl TelemetryConfig {
    /// Where traces go, if anywhere.
    pub fn otlp(&self) -> Option<crate::telemetry::Otlp> {
        Some(crate::telemetry::Otlp {
            endpoint: self.otlp_endpoint.clone()?,
            service_name: self.service_name.clone(),
        })
    }
}

/// Leases, unless `[replicas] lease_secs` says.
pub const DEFAULT_LEASE_SECS: u64 = 15;

/// Replicas sharing a database (see [`crate::replicas`]).
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ReplicasConfig {
    /// How long a replica's lease on a task or a webhook attempt lasts
    /// unless renewed: how soon another replica takes over the work of one
    /// that died.
    pub lease_secs: u64,
}

impl Default for ReplicasConfig {
    fn default() -> Self {
        Self {
            lease_secs: DEFAULT_LEASE_SECS,
        }
    }
}

impl ReplicasConfig {
    /// This process as the replica of `data_dir`, with these leases.
    pub fn replica(&self, data_dir: &std::path::Path) -> std::io::Result<crate::replicas::Replica> {
        crate::replicas::Replica::of_data_dir(
            data_dir,
            std::time::Duration::from_secs(self.lease_secs),
        )
    }
}

/// Plugin rollout settings.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RolloutConfig {
    /// A directory the gateway watches: each `<stem>.toml` manifest with a
    /// `<stem>.wasm` component beside it is installed and activated when its
    /// version is new (relative to the configuration file).
    pub watch_dir: Option<PathBuf>,
    /// How often the directory is checked, in milliseconds (default 2000).
    pub watch_interval_ms: Option<u64>,
}

impl RolloutConfig {
    /// How often the watched directory is checked.
    pub fn watch_interval(&self) -> Duration {
        Duration::from_millis(self.watch_interval_ms.unwrap_or(2_000).max(100))
    }
}

/// Content moderation.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ModerationConfig {
    /// The policy plugins that check every model, in order. Unset: every
    /// loaded policy plugin, by name. Empty: none.
    pub policies: Option<Vec<String>>,
    /// Policies checked after the global ones for particular models.
    pub models: BTreeMap<String, ModelPolicies>,
    /// Whether a task whose output a policy intercepts is still charged
    /// (the upstream was paid for it); by default its hold is released.
    pub charge_intercepted: bool,
    /// The sliding window in which strikes count, in hours.
    pub strike_window_hours: f64,
    /// Strikes on one key within the window that suspend the key (0: never).
    pub key_strikes: u32,
    /// Strikes on one account within the window that suspend the account
    /// (0: never).
    pub account_strikes: u32,
    /// Days after an enforcement notice during which it can be appealed;
    /// after that the action is final.
    pub appeal_days: u32,
    /// Deadline of one policy call, in milliseconds, unless the plugin's
    /// own `call_timeout_ms` is set. A policy past it fails closed.
    pub policy_timeout_ms: u64,
}

/// The policies bound to one model.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelPolicies {
    /// Policy plugin names, checked in order after the global ones.
    pub policies: Vec<String>,
}

impl Default for ModerationConfig {
    fn default() -> Self {
        Self {
            policies: None,
            models: BTreeMap::new(),
            charge_intercepted: false,
            strike_window_hours: 24.0,
            key_strikes: 3,
            account_strikes: 5,
            appeal_days: 7,
            policy_timeout_ms: 2_000,
        }
    }
}

impl ModerationConfig {
    /// The strike window.
    pub fn strike_window(&self) -> Duration {
        Duration::from_secs_f64(self.strike_window_hours * 3600.0)
    }
}

/// The privacy promise.
#[derive(Debug, Clone, Copy, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RetentionConfig {
    /// Days after a task finishes when its prompt, references and outputs
    /// are deleted (fractions allowed); unset keeps them.
    pub days: Option<f64>,
}

impl RetentionConfig {
    /// The retention period, if any.
    pub fn period(&self) -> Option<Duration> {
        self.days
            .filter(|d| *d > 0.0)
            .map(|d| Duration::from_secs_f64(d * 86_400.0))
    }
}

/// Outbound connections made for callers (webhooks, reference URLs).
#[derive(Debug, Clone, Copy, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NetworkConfig {
    /// Let webhooks and reference media URLs reach loopback, private and
    /// link-local addresses (off by default: a caller's URL must not reach
    /// into the gateway's network).
    pub allow_private: bool,
}

/// How long tasks may take.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TasksConfig {
    /// Seconds from submission after which an unfinished task fails with
    /// `UPSTREAM_TIMEOUT` (and its hold is released).
    pub timeout_secs: u64,
    /// The same, per model id.
    pub model_timeouts: BTreeMap<String, u64>,
}

impl Default for TasksConfig {
    fn default() -> Self {
        Self {
            timeout_secs: 900,
            model_timeouts: BTreeMap::new(),
        }
    }
}

/// Fair-use limits.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsConfig {
    /// Requests per minute per API key.
    pub requests_per_minute: u32,
    /// Unfinished tasks per account at once.
    pub max_concurrent_tasks: u32,
    /// The Redis server where request rates are counted, shared by every
    /// gateway that names it (`IMINI_REDIS_URL` overrides it); unset, each
    /// gateway counts in its own memory.
    pub redis_url: Option<String>,
    /// What the limiter's Redis keys start with (default `imini:`), so that
    /// several deployments or tests can share one server.
    pub redis_prefix: Option<String>,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        Self {
            requests_per_minute: 600,
            max_concurrent_tasks: 32,
            redis_url: None,
            redis_prefix: None,
        }
    }
}

/// A model's price.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PriceConfig {
    /// Credits per output image.
    pub per_image: Option<i64>,
    /// Credits per second of video (started seconds count).
    pub per_second: Option<i64>,
}

/// HTTP server settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// Largest request body accepted, reference media included (413 past it).
    pub max_body_bytes: usize,
    /// How long the blocking OpenAI-compatible calls wait for a task before
    /// answering 504 with the task id.
    pub sync_wait_secs: u64,
    /// The public base URL used in absolute links (signed file URLs); by
    /// default taken from the request's Host header.
    pub public_url: Option<String>,
    /// How long signed file URLs stay valid.
    pub signed_url_ttl_secs: u64,
    /// The model used when an OpenAI-compatible image call names none.
    pub default_image_model: String,
    /// The model used when an OpenAI-compatible video call names none.
    pub default_video_model: String,
    /// Threads of their own that serve connections, each running its
    /// connections' requests, and the tasks they start, on a runtime of its
    /// own; by default one per CPU. 0 serves them on the shared runtime,
    /// whose workers pass work between them. A request or task whose plugin
    /// computes through an epoch tick (10 ms) moves to the shared runtime,
    /// so that it holds up no other connection of its thread.
    pub threads: Option<u32>,
}

impl ServerConfig {
    /// How many serving threads there are: `threads`, or one per CPU.
    pub fn serving_threads(&self) -> u32 {
        self.threads.unwrap_or_else(|| {
            std::thread::available_parallelism().map_or(1, |n| n.get().min(256) as u32)
        })
    }
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            max_body_bytes: 32 * 1024 * 1024,
            sync_wait_secs: 120,
            public_url: None,
            signed_url_ttl_secs: 3600,
            default_image_model: "imini/canvas-image".into(),
            default_video_model: "imini/canvas-video".into(),
            threads: None,
        }
    }
}

/// Sandbox settings; each can be lowered per plugin in `plugin_settings`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SandboxConfig {
    /// Memory one call may use, in MiB.
    pub memory_mib: u32,
    /// Wall-clock bound of one call, in milliseconds.
    pub call_timeout_ms: u64,
    /// Provider calls running at once; more wait for a slot, up to their
    /// call timeout.
    pub max_concurrent_calls: u32,
    /// Policy calls running at once, in a pool of their own (slow provider
    /// calls cannot hold up the checks of new requests).
    pub max_concurrent_policy_calls: u32,
    /// Bound of one outbound HTTP exchange, in milliseconds.
    pub outbound_timeout_ms: u64,
    /// Largest upstream response body, in MiB.
    pub max_response_mib: u32,
    /// Largest output a provider may return, in MiB: a larger one fails its
    /// call (refunded).
    pub max_output_mib: u32,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        Self {
            memory_mib: 256,
            call_timeout_ms: 60_000,
            max_concurrent_calls: 64,
            max_concurrent_policy_calls: 64,
            outbound_timeout_ms: 120_000,
            max_response_mib: 64,
            max_output_mib: 64,
        }
    }
}

/// Where a credential's secret comes from: an environment variable (preferred)
/// or the file itself.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CredentialConfig {
    /// The environment variable holding the secret.
    pub env: Option<String>,
    /// The secret itself.
    pub value: Option<String>,
}

/// A plugin loaded from files.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PluginFile {
    /// The component (`.wasm`), relative to the configuration file.
    pub wasm: PathBuf,
    /// Its manifest (`.toml`), relative to the configuration file.
    pub manifest: PathBuf,
}

/// Settings for one plugin.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PluginSettings {
    /// Set to false to not load this plugin (bundled ones included).
    pub enabled: Option<bool>,
    /// The plugin's own configuration, given to it as JSON.
    pub config: Option<toml::Table>,
    /// Hosts it may reach beyond its manifest's (e.g. a self-hosted upstream).
    #[serde(default)]
    pub allowed_hosts: Vec<String>,
    /// Its call deadline in milliseconds (at most the sandbox's).
    pub call_timeout_ms: Option<u64>,
    /// Its memory limit in MiB (at most the sandbox's).
    pub memory_mib: Option<u32>,
}

impl Config {
    /// Reads and validates a configuration file; relative paths (plugins,
    /// `rollout.watch_dir`, `media.path`) are resolved against its
    /// directory.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let mut config: Config = toml::from_str(&text).map_err(|source| ConfigError::Parse {
            path: path.to_path_buf(),
            source,
        })?;
        let base = path.parent().unwrap_or(Path::new("."));
        for p in &mut config.plugins {
            p.wasm = base.join(&p.wasm);
            p.manifest = base.join(&p.manifest);
        }
        if let Some(dir) = &mut config.rollout.watch_dir {
            *dir = base.join(&*dir);
        }
        if let Some(dir) = &mut config.media.path {
            *dir = base.join(&*dir);
        }
        config.validate()?;
        Ok(config)
    }

    /// Checks ranges and consistency.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let s = &self.sandbox;
        let bad = |m: &str| Err(ConfigError::Invalid(m.to_string()));
        self.store.validate().map_err(ConfigError::Invalid)?;
        self.billing.check().map_err(ConfigError::Invalid)?;
        if let Some(email) = &self.email {
            email.check().map_err(ConfigError::Invalid)?;
        }
        if let Some(url) = &self.telemetry.otlp_endpoint
            && !(url.starts_with("http://") || url.starts_with("https://"))
        {
            return bad(
                "telemetry.otlp_endpoint must be an http:// or https:// URL (the collector's OTLP/HTTP port, usually 4318)",
            );
        }
        if self.telemetry.metrics_token.as_deref() == Some("") {
            return bad(
                "telemetry.metrics_token must not be empty (leave it out to allow only the admin key)",
            );
        }
        if !(1..=300).contains(&self.replicas.lease_secs) {
            return bad("replicas.lease_secs must be between 1 and 300");
        }
        self.limits.validate_redis().map_err(ConfigError::Invalid)?;
        self.accounts.validate().map_err(ConfigError::Invalid)?;
        self.media.validate().map_err(ConfigError::Invalid)?;
        if !(16..=4096).contains(&s.memory_mib) {
            return bad("sandbox.memory_mib must be between 16 and 4096");
        }
        if !(10..=3_600_000).contains(&s.call_timeout_ms) {
            return bad("sandbox.call_timeout_ms must be between 10 and 3600000");
        }
        if !(1..=10_000).contains(&s.max_concurrent_calls) {
            return bad("sandbox.max_concurrent_calls must be between 1 and 10000");
        }
        if !(1..=10_000).contains(&s.max_concurrent_policy_calls) {
            return bad("sandbox.max_concurrent_policy_calls must be between 1 and 10000");
        }
        if !(1..=4096).contains(&s.max_output_mib) {
            return bad("sandbox.max_output_mib must be between 1 and 4096");
        }
        if self.limits.requests_per_minute == 0 || self.limits.max_concurrent_tasks == 0 {
            return bad(
                "limits.requests_per_minute and limits.max_concurrent_tasks must be at least 1",
            );
        }
        if self
            .retention
            .days
            .is_some_and(|d| !(d > 0.0 && d <= 36_500.0))
        {
            return bad("retention.days must be more than 0 and at most 36500");
        }
        if self.server.max_body_bytes < 1024 {
            return bad("server.max_body_bytes must be at least 1024");
        }
        if self.server.threads.is_some_and(|n| n > 256) {
            return bad("server.threads must be at most 256 (0 serves on the shared runtime)");
        }
        for (model, price) in &self.prices {
            if price.per_image.is_some_and(|c| c < 0) || price.per_second.is_some_and(|c| c < 0) {
                return Err(ConfigError::Invalid(format!(
                    "prices.{model:?}: credits cannot be negative"
                )));
            }
        }
        let m = &self.moderation;
        if !(m.strike_window_hours > 0.0 && m.strike_window_hours <= 24.0 * 366.0) {
            return bad("moderation.strike_window_hours must be more than 0 and at most 8784");
        }
        if !(1..=365).contains(&m.appeal_days) {
            return bad("moderation.appeal_days must be between 1 and 365");
        }
        if !(10..=60_000).contains(&m.policy_timeout_ms) {
            return bad("moderation.policy_timeout_ms must be between 10 and 60000");
        }
        for (name, c) in &self.credentials {
            if c.env.is_some() == c.value.is_some() {
                return Err(ConfigError::Invalid(format!(
                    "credentials.{name}: give exactly one of env or value"
                )));
            }
        }
        Ok(())
    }

    /// The secrets of every configured credential that resolves.
    pub fn secrets(&self) -> Result<std::collections::HashMap<String, String>, ConfigError> {
        self.credentials
            .iter()
            .map(|(name, c)| {
                let secret = match (&c.env, &c.value) {
                    (Some(var), _) => std::env::var(var).map_err(|_| {
                        ConfigError::Invalid(format!(
                            "credentials.{name}: environment variable {var} is not set"
                        ))
                    })?,
                    (None, Some(v)) => v.clone(),
                    (None, None) => unreachable!("validated"),
                };
                Ok((name.clone(), secret))
            })
            .collect()
    }

    /// The price of `model`: the configured one, else the bundled canvas
    /// models' defaults (10 credits an image, 5 a second of animation).
    pub fn price(&self, model: &str) -> Option<PriceConfig> {
        self.prices.get(model).copied().or(match model {
            "imini/canvas-image" => Some(PriceConfig {
                per_image: Some(10),
                per_second: None,
            }),
            "imini/canvas-video" => Some(PriceConfig {
                per_image: None,
                per_second: Some(5),
            }),
            _ => None,
        })
    }

    /// The settings for plugin `name` (defaults if none).
    pub fn plugin_settings(&self, name: &str) -> PluginSettings {
        self.plugin_settings.get(name).cloned().unwrap_or_default()
    }

    /// A plugin's call deadline: its own setting, else the sandbox's (for
    /// providers) or the moderation one (for policies), never more than the
    /// sandbox's.
    pub fn call_timeout(&self, settings: &PluginSettings, policy: bool) -> Duration {
        let max = self.sandbox.call_timeout_ms;
        let default = if policy {
            self.moderation.policy_timeout_ms
        } else {
            max
        };
        Duration::from_millis(settings.call_timeout_ms.unwrap_or(default).min(max))
    }

    /// A plugin's memory limit in bytes.
    pub fn memory_bytes(&self, settings: &PluginSettings) -> usize {
        let max = self.sandbox.memory_mib;
        settings.memory_mib.unwrap_or(max).min(max) as usize * 1024 * 1024
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_unknown_keys() {
        assert!(toml::from_str::<Config>("listen = \"127.0.0.1:1\"\nbogus = 1").is_err());
        assert!(toml::from_str::<Config>("[sandbox]\nmemory = 1").is_err());
        let c: Config = toml::from_str("[sandbox]\nmemory_mib = 64").unwrap();
        assert_eq!(c.sandbox.memory_mib, 64);
        c.validate().unwrap();
    }

    #[test]
    fn accounts_default_to_invitations_and_check_their_ranges() {
        let c: Config = toml::from_str("").unwrap();
        assert_eq!(c.accounts.signup, Signup::Invite);
        assert_eq!(c.accounts.login_attempts_per_minute, 5);
        let c: Config =
            toml::from_str("[accounts]\nsignup = \"open\"\nsession_idle_minutes = 30").unwrap();
        assert_eq!(c.accounts.signup, Signup::Open);
        c.validate().unwrap();
        assert!(toml::from_str::<Config>("[accounts]\nsignup = \"maybe\"").is_err());
        assert!(toml::from_str::<Config>("[accounts]\nsign_up = \"open\"").is_err());
        let c: Config =
            toml::from_str("[accounts]\nsession_idle_minutes = 2880\nsession_max_days = 1")
                .unwrap();
        let err = c.validate().unwrap_err().to_string();
        assert!(err.contains("session_idle_minutes"), "{err}");
    }

    #[test]
    fn validates_ranges() {
        let c: Config = toml::from_str("[sandbox]\nmemory_mib = 1").unwrap();
        assert!(c.validate().is_err());
        let c: Config = toml::from_str("[credentials.x]\nenv = \"A\"\nvalue = \"b\"").unwrap();
        assert!(c.validate().is_err());
    }

    #[test]
    fn serving_threads_are_bounded() {
        let c: Config = toml::from_str("[server]\nthreads = 256").unwrap();
        c.validate().unwrap();
        let c: Config = toml::from_str("[server]\nthreads = 0").unwrap();
        assert_eq!(c.server.serving_threads(), 0, "the shared runtime");
        let c: Config = toml::from_str("").unwrap();
        assert_eq!(
            c.server.serving_threads() as usize,
            std::thread::available_parallelism().unwrap().get(),
            "one per CPU by default"
        );
        let c: Config = toml::from_str("[server]\nthreads = 257").unwrap();
        let err = c.validate().unwrap_err().to_string();
        assert!(err.contains("server.threads"), "{err}");
    }
}

//! Plugin versions on a running gateway: install, activate, roll back,
//! retire and reconfigure providers and policies without a redeploy.
//!
//! Every plugin has a history of versions kept in the data directory
//! (`plugins/<name>/<version>.wasm` and `.toml`, with a record in the
//! database) and one active version. A new version is compiled, checked
//! against the contract and smoke-called before it may serve; a failure
//! leaves the serving version alone. Publishing a version swaps three
//! pointers under one lock (the registry entry, the catalogue, the policy
//! bindings): calls already running keep the version they started with, new
//! ones get the new one, and asynchronous jobs are polled and cancelled
//! through whichever version serves their model (the job handle is the
//! contract). Models that appear are launched, models that disappear are
//! retired, policy changes are announced, all in the changelog; every step
//! is in the audit log.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::Instant;

use serde::Serialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use crate::audit::{Audit, NewEntry};
use crate::catalogue::Catalogue;
use crate::config::Config;
use crate::moderation::Moderation;
use crate::plugins::{LoadedPlugin, Manifest, PluginRegistry, PluginRuntime};
use crate::pricing::{ChangelogEntry, Pricing, PricingError};
use crate::store::StoreError;
use crate::store::plugins::{ComponentStore, PluginSaveError, PluginStore};
use crate::time::to_rfc3339;

mod credentials;
mod files;
mod follow;
mod records;
mod schedule;
mod step;
mod watch;

use crate::durable::write_file as write_durably;
pub use credentials::CredentialEffect;
pub use files::{Waiting, load_at_start, plugins_dir, source, stored_files};
use files::{describe, fetch_version, version_file};
use step::Next;

/// A version's manifest and component.
type VersionFiles = (Manifest, Arc<[u8]>);

/// The records of plugin versions, kept by [`PluginStore`].
pub use crate::store::plugins::{PluginRecord, VersionRecord};

/// Why a rollout step was refused.
#[derive(Debug, thiserror::Error)]
pub enum RolloutError {
    /// The component or manifest is not acceptable; nothing changed.
    #[error("{0}")]
    Invalid(String),
    /// No such plugin or version.
    #[error("{0}")]
    NotFound(String),
    /// Not possible in the current state.
    #[error("{0}")]
    Conflict(String),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Files failed.
    #[error("plugin files: {0}")]
    Io(#[from] std::io::Error),
}

impl From<PluginSaveError> for RolloutError {
    fn from(e: PluginSaveError) -> Self {
        match e {
            PluginSaveError::Stale { .. } => Self::Conflict(e.to_string()),
            PluginSaveError::Invalid(m) => Self::Invalid(m),
            PluginSaveError::Store(e) => Self::Store(e),
        }
    }
}

impl From<PricingError> for RolloutError {
    fn from(e: PricingError) -> Self {
        match e {
            PricingError::Invalid(m) | PricingError::InvalidField(_, m) => Self::Invalid(m),
            PricingError::Conflict(m) => Self::Conflict(m),
            PricingError::Store(e) => Self::Store(e),
        }
    }
}

/// What a rollout step did, with its timings.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Outcome {
    /// The plugin.
    pub plugin: String,
    /// The version serving now (none when retired).
    pub active: Option<String>,
    /// The version that served before.
    pub previous: Option<String>,
    /// Compile (or cache load) + contract check + smoke call, in ms.
    pub validate_ms: f64,
    /// The swap itself, in µs.
    pub swap_us: f64,
    /// Models launched by the step.
    pub launched: Vec<String>,
    /// Models retired by the step.
    pub retired: Vec<String>,
}

impl Outcome {
    /// A step that left the serving version as it was.
    fn unchanged(record: &PluginRecord) -> Self {
        Self {
            plugin: record.name.clone(),
            active: record.active.clone(),
            previous: record.active.clone(),
            validate_ms: 0.0,
            swap_us: 0.0,
            launched: Vec::new(),
            retired: Vec::new(),
        }
    }
}

/// The rollout service.
pub struct Rollout {
    runtime: Arc<PluginRuntime>,
    registry: Arc<PluginRegistry>,
    catalogue: Arc<RwLock<Arc<Catalogue>>>,
    moderation: Arc<Moderation>,
    pricing: Pricing,
    audit: Audit,
    config: Config,
    records: Arc<dyn PluginStore>,
    /// Versions' files shared with other replicas (PostgreSQL).
    components: Option<Arc<dyn ComponentStore>>,
    dir: PathBuf,
    /// The revision of each plugin's record this replica serves as.
    applied: std::sync::Mutex<BTreeMap<String, u64>>,
    /// Jobs one replica does at a time (scheduled retirements).
    jobs: Arc<dyn crate::store::replicas::ReplicaStore>,
    /// This process as a replica (whose lease says how long a job's lead
    /// lasts, and how often due retirements are looked for).
    replica: crate::replicas::Replica,
    /// The retirement timers armed here: (plugin, time).
    armed: std::sync::Mutex<std::collections::BTreeSet<(String, String)>>,
    /// Bundled plugins waiting for their credentials, not yet loaded.
    waiting: std::sync::Mutex<Waiting>,
    /// One rollout step at a time (it also keeps the swaps of the registry,
    /// catalogue and bindings in step; the store's revisions guard the
    /// records themselves).
    lock: tokio::sync::Mutex<()>,
}

/// What the rollout service works with.
pub struct RolloutParts {
    /// Compiles and loads components.
    pub runtime: Arc<PluginRuntime>,
    /// The active plugins.
    pub registry: Arc<PluginRegistry>,
    /// The catalogue requests read.
    pub catalogue: Arc<RwLock<Arc<Catalogue>>>,
    /// Policy bindings.
    pub moderation: Arc<Moderation>,
    /// The changelog.
    pub pricing: Pricing,
    /// The audit log.
    pub audit: Audit,
    /// The configuration (routes, plugin settings).
    pub config: Config,
    /// Plugin records.
    pub records: Arc<dyn PluginStore>,
    /// Versions' files shared with other replicas (PostgreSQL).
    pub components: Option<Arc<dyn ComponentStore>>,
    /// `<data dir>/plugins`.
    pub dir: PathBuf,
    /// The revision of each plugin record the registry was loaded from.
    pub revisions: BTreeMap<String, u64>,
    /// Jobs one replica does at a time.
    pub jobs: Arc<dyn crate::store::replicas::ReplicaStore>,
    /// This process as a replica.
    pub replica: crate::replicas::Replica,
    /// Bundled plugins waiting for their credentials.
    pub waiting: Waiting,
}

impl Rollout {
    /// The service.
    pub fn new(parts: RolloutParts) -> Arc<Self> {
        Arc::new(Self {
            runtime: parts.runtime,
            registry: parts.registry,
            catalogue: parts.catalogue,
            moderation: parts.moderation,
            pricing: parts.pricing,
            audit: parts.audit,
            config: parts.config,
            records: parts.records,
            components: parts.components,
            dir: parts.dir,
            applied: std::sync::Mutex::new(parts.revisions),
            jobs: parts.jobs,
            replica: parts.replica,
            armed: std::sync::Mutex::default(),
            waiting: std::sync::Mutex::new(parts.waiting),
            lock: tokio::sync::Mutex::new(()),
        })
    }

    /// Installs a version from its manifest and component, after compiling,
    /// checking and smoke-calling it; with `activate`, it then serves. The
    /// audit log names `actor` (`admin` for the admin key, a login's
    /// `user_…` for a person), as for every step below.
    pub async fn install(
        &self,
        manifest_toml: &str,
        wasm: Vec<u8>,
        activate: bool,
        actor: &str,
    ) -> Result<Outcome, RolloutError> {
        let manifest =
            Manifest::from_toml(manifest_toml).map_err(|e| RolloutError::Invalid(e.to_string()))?;
        let _guard = self.lock.lock().await;
        let name = manifest.name.clone();
        let mut record = self.record(&name).await?.unwrap_or_else(|| PluginRecord {
            name: name.clone(),
            kind: manifest.kind,
            active: None,
            history: Vec::new(),
            versions: Vec::new(),
            retired_at: None,
            retire_at: None,
            config: None,
            revision: 0,
        });
        if record.kind != manifest.kind {
            return Err(RolloutError::Invalid(format!(
                "plugin {name} is a {}; this manifest says {}",
                record.kind, manifest.kind
            )));
        }
        let sha = crate::ids::hex(&Sha256::digest(&wasm));
        if record
            .versions
            .iter()
            .any(|v| v.version == manifest.version && v.sha256 != sha)
        {
            return Err(RolloutError::Conflict(format!(
                "{name}@{} is already installed with other bytes; give the new build a new version",
                manifest.version
            )));
        }
        let started = Instant::now();
        let loaded = self
            .runtime
            .load(source(
                &self.config,
                manifest.clone(),
                Arc::from(wasm.as_slice()),
                record.config.as_ref(),
            ))
            .await
            .map_err(|e| RolloutError::Invalid(e.to_string()))?;
        let validate = started.elapsed();
        if !record
            .versions
            .iter()
            .any(|v| v.version == manifest.version)
        {
            let dir = self.dir.join(&name);
            std::fs::create_dir_all(&dir)?;
            write_durably(
                &version_file(&self.dir, &name, &manifest.version, "wasm"),
                &wasm,
            )?;
            write_durably(
                &version_file(&self.dir, &name, &manifest.version, "toml"),
                manifest_toml.as_bytes(),
            )?;
            self.share(&name, &manifest.version, manifest_toml, &wasm)
                .await?;
            let (models, categories) = describe(&loaded);
            record.versions.push(VersionRecord {
                version: manifest.version.clone(),
                sha256: sha,
                wit_version: loaded.core().wit_version.clone(),
                installed_at: to_rfc3339(OffsetDateTime::now_utc()),
                bundled: false,
                models,
                categories,
            });
        }
        self.save(&mut record).await?;
        self.log(
            actor,
            "plugin.installed",
            json!({ "plugin": name, "version": manifest.version, "activate": activate, "validate_ms": validate.as_secs_f64() * 1e3 }),
        )
        .await?;
        if !activate {
            return Ok(Outcome {
                validate_ms: validate.as_secs_f64() * 1e3,
                ..Outcome::unchanged(&record)
            });
        }
        record.history.push(manifest.version.clone());
        let mut outcome = self
            .publish(&mut record, Some(loaded), "plugin.activated", actor)
            .await?;
        outcome.validate_ms = validate.as_secs_f64() * 1e3;
        Ok(outcome)
    }

    /// Makes an installed version serve.
    pub async fn activate(
        &self,
        name: &str,
        version: &str,
        actor: &str,
    ) -> Result<Outcome, RolloutError> {
        let _guard = self.lock.lock().await;
        let mut record = self.existing(name).await?;
        if !record.versions.iter().any(|v| v.version == version) {
            return Err(RolloutError::NotFound(format!(
                "{name} has no version {version}; installed: {}",
                record
                    .versions
                    .iter()
                    .map(|v| v.version.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
        record.history.push(version.to_string());
        self.switch(&mut record, version, "plugin.activated", actor)
            .await
    }

    /// Goes back to the version that served before the current one.
    pub async fn rollback(&self, name: &str, actor: &str) -> Result<Outcome, RolloutError> {
        let _guard = self.lock.lock().await;
        let mut record = self.existing(name).await?;
        if record.history.len() < 2 {
            return Err(RolloutError::Conflict(format!(
                "{name} has no earlier version to roll back to"
            )));
        }
        record.history.pop();
        let version = record.history.last().cloned().expect("checked");
        self.switch(&mut record, &version, "plugin.rolled_back", actor)
            .await
    }

    /// Loads `version` of a recorded plugin and publishes it.
    async fn switch(
        &self,
        record: &mut PluginRecord,
        version: &str,
        action: &str,
        actor: &str,
    ) -> Result<Outcome, RolloutError> {
        let started = Instant::now();
        let (manifest, wasm) = match self.config_file_version(record, version)? {
            Some(found) => found,
            None => fetch_version(&self.dir, record, version, self.components.as_deref())
                .await
                .map_err(|e| RolloutError::Invalid(format!("{e:#}")))?,
        };
        let loaded = self
            .runtime
            .load(source(&self.config, manifest, wasm, record.config.as_ref()))
            .await
            .map_err(|e| RolloutError::Invalid(e.to_string()))?;
        let validate = started.elapsed();
        let mut outcome = self.publish(record, Some(loaded), action, actor).await?;
        outcome.validate_ms = validate.as_secs_f64() * 1e3;
        Ok(outcome)
    }

    /// Replaces the operator's configuration of a plugin at run time; the
    /// active version is reloaded with it (and must pass its self-check).
    pub async fn configure(
        &self,
        name: &str,
        config: Value,
        actor: &str,
    ) -> Result<Outcome, RolloutError> {
        if !config.is_object() {
            return Err(RolloutError::Invalid("config must be a JSON object".into()));
        }
        let _guard = self.lock.lock().await;
        let mut record = self.existing(name).await?;
        let version = record
            .active
            .clone()
            .ok_or_else(|| RolloutError::Conflict(format!("{name} is retired")))?;
        let previous = record.config.replace(config);
        let result = self
            .switch(&mut record, &version, "plugin.configured", actor)
            .await;
        if result.is_err() {
            record.config = previous;
        }
        result
    }

    /// Retires a plugin now, or schedules it (announced in the changelog
    /// now, carried out at `at`).
    pub async fn retire(
        self: &Arc<Self>,
        name: &str,
        at: Option<OffsetDateTime>,
        actor: &str,
    ) -> Result<Outcome, RolloutError> {
        let now = OffsetDateTime::now_utc();
        let _guard = self.lock.lock().await;
        let mut record = self.existing(name).await?;
        if record.active.is_none() {
            return Err(RolloutError::Conflict(format!("{name} is already retired")));
        }
        match at.filter(|at| *at > now) {
            None => {
                self.publish(&mut record, None, "plugin.retired", actor)
                    .await
            }
            Some(at) => {
                let models = self.models_of(name);
                let entries: Vec<ChangelogEntry> = models
                    .iter()
                    .map(|model| {
                        changelog(
                            "model_retired",
                            Some(model),
                            at,
                            json!({ "plugin": name, "scheduled": true }),
                        )
                    })
                    .collect();
                self.pricing.announce(&entries).await?;
                record.retire_at = Some(to_rfc3339(at));
                self.save(&mut record).await?;
                self.log(
                    actor,
                    "plugin.retirement_scheduled",
                    json!({ "plugin": name, "at": to_rfc3339(at), "models": models }),
                )
                .await?;
                self.schedule(name.to_string(), at);
                Ok(Outcome::unchanged(&record))
            }
        }
    }

    /// The models a plugin serves now.
    fn models_of(&self, name: &str) -> Vec<String> {
        match self.registry.get(name) {
            Some(LoadedPlugin::Provider(p)) => p.models.iter().map(|m| m.id.clone()).collect(),
            _ => Vec::new(),
        }
    }

    async fn existing(&self, name: &str) -> Result<PluginRecord, RolloutError> {
        self.record(name)
            .await?
            .ok_or_else(|| RolloutError::NotFound(format!("no plugin named {name}")))
    }

    /// Puts `new` in place of the plugin's serving version (or retires it
    /// with `None`): builds the next catalogue and policy bindings, refuses
    /// the step if they are inconsistent, then records, swaps and
    /// announces; the audit log names `actor`.
    async fn publish(
        &self,
        record: &mut PluginRecord,
        new: Option<LoadedPlugin>,
        action: &str,
        actor: &str,
    ) -> Result<Outcome, RolloutError> {
        let name = record.name.clone();
        let Next {
            catalogue,
            bindings,
            is_policy,
            launched,
            retired,
            old_label,
            new_label,
            now,
        } = self.next_state(&name, &new)?;

        // Record first, so that a crash after the swap restarts into it.
        record.active = new.as_ref().map(|p| p.core().manifest().version.clone());
        if record.active.is_none() {
            record.retired_at = Some(to_rfc3339(now));
        } else {
            record.retired_at = None;
        }
        record.retire_at = None;
        self.save(record).await?;

        let swap = self.swap(&name, new, catalogue, bindings);

        // The step's announcements, in one commit.
        let scheduled = self.pricing.scheduled_retirements();
        let mut entries = Vec::new();
        for id in &launched {
            entries.push(changelog(
                "model_launched",
                Some(id),
                now,
                json!({ "plugin": new_label }),
            ));
        }
        for id in retired.iter().filter(|id| !scheduled.contains(*id)) {
            entries.push(changelog(
                "model_retired",
                Some(id),
                now,
                json!({ "plugin": old_label }),
            ));
        }
        if is_policy {
            entries.push(changelog(
                "policy_updated",
                None,
                now,
                json!({ "policy": name, "version": record.active, "previous": old_label.as_ref().map(|l| l.split('@').nth(1).unwrap_or_default().to_string()), "action": action }),
            ));
        }
        self.pricing.announce(&entries).await?;
        self.log(
            actor,
            if is_policy && action != "plugin.retired" {
                "policy.updated"
            } else {
                action
            },
            json!({
                "plugin": name,
                "from": old_label,
                "to": new_label,
                "launched": launched,
                "retired": retired,
                "swap_us": swap.as_secs_f64() * 1e6,
                "step": action,
            }),
        )
        .await?;
        tracing::info!(plugin = %name, from = ?old_label, to = ?new_label, ?launched, ?retired, swap_us = swap.as_micros() as u64, "plugin swapped");
        Ok(Outcome {
            plugin: name,
            active: record.active.clone(),
            previous: old_label.and_then(|l| l.split('@').nth(1).map(str::to_string)),
            validate_ms: 0.0,
            swap_us: swap.as_secs_f64() * 1e6,
            launched,
            retired,
        })
    }

    /// Records a step `actor` took in the audit log.
    async fn log(&self, actor: &str, action: &str, details: Value) -> Result<(), StoreError> {
        self.audit
            .record(
                NewEntry {
                    actor: actor.into(),
                    action: action.into(),
                    details,
                    ..NewEntry::default()
                },
                OffsetDateTime::now_utc(),
            )
            .await
            .map(|_| ())
    }
}

fn changelog(
    kind: &str,
    model: Option<&String>,
    at: OffsetDateTime,
    details: Value,
) -> ChangelogEntry {
    ChangelogEntry {
        id: crate::ids::new("chg"),
        kind: kind.into(),
        model: model.cloned(),
        effective_at: to_rfc3339(at),
        details,
        created_at: to_rfc3339(OffsetDateTime::now_utc()),
    }
}

//! Content moderation: the policy pipeline and what follows a refusal.
//!
//! Every policy plugin bound to a model (the global list, then the model's
//! own, in order) checks each request before anything is held or sent
//! upstream, and each output before it is stored or served. A policy that
//! denies stops the request; one that flags lets it through and records it;
//! one that traps, runs past its deadline or returns an error fails closed:
//! the request is refused and the incident recorded. Every refusal, flag
//! and incident is a flagged-request record (kept past retention, with the
//! interaction), and a refusal of an account's request is a strike (see
//! [`enforcement`]).

pub mod enforcement;

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

use sha2::{Digest, Sha256};

use crate::accounts::Accounts;
use crate::config::ModerationConfig;
use crate::plugins::bindings::policy_api::Action;
use crate::plugins::bindings::types::{GenerationRequest, Media};
use crate::plugins::{CallInput, PluginRegistry, PolicyPlugin};
use crate::store::StoreError;
use crate::store::moderation::ModerationStore;
pub use crate::store::moderation::{Flag, FlagQuery, Interaction, OutputEvidence};
use crate::time::Clock;

/// The policies bound to each model.
#[derive(Default)]
pub struct Bindings {
    /// Checked for every model, in order.
    pub global: Vec<Arc<PolicyPlugin>>,
    /// Checked after the global ones for particular models, in order.
    pub models: BTreeMap<String, Vec<Arc<PolicyPlugin>>>,
}

impl Bindings {
    /// Resolves the configured policy names against the loaded plugins.
    /// Without a configured global list, every loaded policy is global.
    pub fn build(config: &ModerationConfig, registry: &PluginRegistry) -> Result<Self, String> {
        Self::from_policies(config, &registry.policies())
    }

    /// Resolves the configured policy names against `loaded`.
    pub fn from_policies(
        config: &ModerationConfig,
        loaded: &BTreeMap<String, Arc<PolicyPlugin>>,
    ) -> Result<Self, String> {
        let resolve = |names: &[String], at: &str| {
            names
                .iter()
                .map(|name| {
                    loaded.get(name).cloned().ok_or_else(|| {
                        format!(
                            "{at} names the policy {name:?}, which is not loaded (loaded policies: {})",
                            loaded.keys().cloned().collect::<Vec<_>>().join(", ")
                        )
                    })
                })
                .collect::<Result<Vec<_>, String>>()
        };
        let global = match &config.policies {
            Some(names) => resolve(names, "moderation.policies")?,
            None => loaded.values().cloned().collect(),
        };
        let mut models = BTreeMap::new();
        for (model, bound) in &config.models {
            let at = format!("moderation.models.{model:?}.policies");
            models.insert(model.clone(), resolve(&bound.policies, &at)?);
        }
        Ok(Self { global, models })
    }

    /// The policies that check `model`, in order.
    pub fn for_model(&self, model: &str) -> Vec<Arc<PolicyPlugin>> {
        let mut all = self.global.clone();
        all.extend(self.models.get(model).into_iter().flatten().cloned());
        all
    }
}

/// Who made the request being checked.
#[derive(Debug, Clone, Copy)]
pub struct Caller<'a> {
    /// The account (the admin key's pseudo-account for operator requests).
    pub account_id: &'a str,
    /// The key used, for account keys.
    pub key_id: Option<&'a str>,
    /// Whether the caller is an account (operators get no strikes).
    pub account: bool,
    /// The request's id.
    pub request_id: &'a str,
    /// The task, for output checks.
    pub task_id: Option<&'a str>,
}

impl OutputEvidence {
    /// The evidence of an output's bytes.
    pub fn of(mime: &str, bytes: &[u8], text: Option<&str>) -> Self {
        Self {
            mime: mime.to_string(),
            bytes: bytes.len(),
            sha256: crate::ids::hex(&Sha256::digest(bytes)),
            dhash: imini_sdk::imaging::dhash(bytes).map(imini_sdk::imaging::hash_hex),
            text: text.map(str::to_string),
        }
    }
}

impl Flag {
    /// The evidence this record is, for the audit log.
    pub fn evidence(&self) -> crate::audit::Evidence {
        crate::audit::Evidence {
            request_id: self.request_id.clone(),
            policy: self.policy.clone(),
            category: self.category.clone(),
            at: self.created_at.clone(),
            flag_id: self.id.clone(),
        }
    }
}

/// The outcome of a check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Every policy allowed; `flagged` when one flagged it for review.
    Allowed {
        /// Whether a policy flagged it.
        flagged: bool,
    },
    /// A policy denied it.
    Denied {
        /// The category of the terms.
        category: String,
    },
    /// A policy failed, so it was refused (fail closed).
    Failed {
        /// The policy, `name@version`.
        policy: String,
    },
}

/// What is being checked.
enum Stage<'a> {
    Request,
    Output(&'a [Media]),
}

/// The moderation service.
pub struct Moderation {
    bindings: RwLock<Arc<Bindings>>,
    config: ModerationConfig,
    store: Arc<dyn ModerationStore>,
    accounts: Accounts,
    /// The clock of strike windows and appeal deadlines.
    pub clock: Clock,
    /// Makes the automatic suspensions one at a time (see the strikes in
    /// [`enforcement`]).
    suspensions: tokio::sync::Mutex<()>,
}

/// What the moderation service is built from.
pub struct ModerationParts {
    /// The policy bindings.
    pub bindings: Bindings,
    /// The operator's settings.
    pub config: ModerationConfig,
    /// Where flags, strikes, notices and appeals (and the audit entries
    /// of their steps) are kept.
    pub store: Arc<dyn ModerationStore>,
    /// Accounts and keys, which enforcement suspends.
    pub accounts: Accounts,
    /// The clock.
    pub clock: Clock,
}

impl Moderation {
    /// The service, over its store, once it has finished the enforcement
    /// steps an interruption cut short (see
    /// [`Moderation::resume_enforcement`]).
    pub async fn start(parts: ModerationParts) -> Result<Self, StoreError> {
        let this = Self {
            bindings: RwLock::new(Arc::new(parts.bindings)),
            config: parts.config,
            store: parts.store,
            accounts: parts.accounts,
            clock: parts.clock,
            suspensions: tokio::sync::Mutex::new(()),
        };
        let resumed = this.resume_enforcement().await?;
        if resumed > 0 {
            tracing::info!(
                notices = resumed,
                "applied the enforcement steps an interruption cut short"
            );
        }
        Ok(this)
    }

    /// The policy bindings in force.
    pub fn bindings(&self) -> Arc<Bindings> {
        self.bindings.read().expect("lock").clone()
    }

    /// Puts new bindings in force: the next check uses them; checks under
    /// way finish with the policies they started with.
    pub fn set_bindings(&self, bindings: Bindings) {
        *self.bindings.write().expect("lock") = Arc::new(bindings);
    }

    /// The operator's settings.
    pub fn config(&self) -> &ModerationConfig {
        &self.config
    }

    /// Checks a request before anything is held or sent upstream.
    /// `interaction` gives what a flagged-request record keeps; it is only
    /// called when one is written.
    pub async fn check_request(
        &self,
        caller: &Caller<'_>,
        req: &GenerationRequest,
        input: &CallInput,
        interaction: &(dyn Fn() -> Interaction + Sync),
    ) -> Result<Outcome, StoreError> {
        self.check(caller, req, input, Stage::Request, interaction)
            .await
    }

    /// Checks outputs before they are stored or served.
    pub async fn check_output(
        &self,
        caller: &Caller<'_>,
        req: &GenerationRequest,
        outputs: &[Media],
        input: &CallInput,
        interaction: &(dyn Fn() -> Interaction + Sync),
    ) -> Result<Outcome, StoreError> {
        self.check(caller, req, input, Stage::Output(outputs), interaction)
            .await
    }

    async fn check(
        &self,
        caller: &Caller<'_>,
        req: &GenerationRequest,
        input: &CallInput,
        stage: Stage<'_>,
        interaction: &(dyn Fn() -> Interaction + Sync),
    ) -> Result<Outcome, StoreError> {
        let mut flagged = false;
        for policy in self.bindings().for_model(&req.model) {
            let stage_name = match stage {
                Stage::Request => "request",
                Stage::Output(_) => "output",
            };
            let policy_name = &policy.core().manifest().name;
            let count = |action, category: Option<&str>| {
                crate::metrics::metrics().verdict(policy_name, stage_name, action, category);
            };
            let result = match stage {
                Stage::Request => policy.check_request(input, req).await,
                Stage::Output(outputs) if !policy.reads_outputs(outputs) => {
                    // Its manifest says it reads nothing these outputs hold.
                    count("skipped", None);
                    continue;
                }
                Stage::Output(outputs) => policy.check_output(input, req, outputs).await,
            };
            let label = policy.core().label();
            let record = |action: &str, category: Option<String>, reason: Option<String>| Flag {
                id: crate::ids::new("flag"),
                created_at: crate::time::to_rfc3339(self.clock.now()),
                stage: stage_name.into(),
                action: action.into(),
                policy: label.clone(),
                category,
                reason,
                account_id: caller.account_id.into(),
                key_id: caller.key_id.map(str::to_string),
                request_id: caller.request_id.into(),
                task_id: caller.task_id.map(str::to_string),
                model: req.model.clone(),
                interaction: interaction(),
            };
            let failure = match result {
                Ok(Ok(mut verdict)) => {
                    // The policy's words reach the log and callers: one
                    // line each, of a bounded length.
                    verdict.category = verdict.category.map(|c| crate::plugins::printable(&c, 100));
                    verdict.reason = verdict.reason.map(|r| crate::plugins::printable(&r, 1000));
                    match verdict.action {
                        Action::Allow => {
                            count("allow", None);
                            continue;
                        }
                        Action::Flag => {
                            count("flag", verdict.category.as_deref());
                            let flag = record("flag", verdict.category, verdict.reason);
                            tracing::info!(flag_id = %flag.id, policy = %label, category = ?flag.category, "policy flagged a request for review");
                            self.store.record_flag(&flag).await?;
                            flagged = true;
                            continue;
                        }
                        Action::Deny => {
                            let category = verdict.category.unwrap_or_else(|| "unspecified".into());
                            count("deny", Some(&category));
                            let flag = record("deny", Some(category.clone()), verdict.reason);
                            tracing::info!(flag_id = %flag.id, policy = %label, %category, stage = %flag.stage, "policy refused");
                            self.store.record_flag(&flag).await?;
                            if caller.account {
                                self.strike(caller, &flag).await?;
                            }
                            return Ok(Outcome::Denied { category });
                        }
                    }
                }
                Ok(Err(e)) => format!(
                    "the policy returned an error ({:?}): {}",
                    e.kind,
                    crate::plugins::printable(&e.message, 1000)
                ),
                Err(e) => e.kind.to_string(),
            };
            // Fail closed: the request is refused and the incident kept.
            count("error", None);
            let flag = record("error", None, Some(failure.clone()));
            tracing::error!(flag_id = %flag.id, policy = %label, failure = %failure, "policy failed; refusing (fail closed)");
            self.store.record_flag(&flag).await?;
            return Ok(Outcome::Failed { policy: label });
        }
        Ok(Outcome::Allowed { flagged })
    }

    /// One flagged-request record.
    pub async fn flag(&self, id: &str) -> Result<Option<Flag>, StoreError> {
        self.store.flag(id).await
    }

    /// Flagged requests matching `q`, newest first, and whether there are more.
    pub async fn flags(
        &self,
        q: &FlagQuery,
        limit: usize,
    ) -> Result<(Vec<Flag>, bool), StoreError> {
        self.store.flags(q, limit).await
    }
}

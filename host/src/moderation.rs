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

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::accounts::Accounts;
use crate::audit::Audit;
use crate::config::ModerationConfig;
use crate::plugins::bindings::policy_api::Action;
use crate::plugins::bindings::types::{GenerationRequest, Media};
use crate::plugins::{CallInput, PluginRegistry, PolicyPlugin};
use crate::store::{StoreError, Table};
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

/// The interaction kept with a flagged-request record.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Interaction {
    /// The prompt.
    pub prompt: String,
    /// The negative prompt.
    pub negative_prompt: Option<String>,
    /// Provider parameters, as JSON text.
    pub extra_params: String,
    /// Reference files, `file_…`.
    pub references: Vec<String>,
    /// The outputs checked (intercepted outputs are never stored; this is
    /// what is known of them).
    pub outputs: Vec<OutputEvidence>,
}

/// What is kept of an output a policy saw.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OutputEvidence {
    /// Its MIME type.
    pub mime: String,
    /// Its size in bytes.
    pub bytes: usize,
    /// SHA-256 of its bytes, hex.
    pub sha256: String,
    /// Its difference hash (images in a format the gateway decodes), for an
    /// image blocklist.
    pub dhash: Option<String>,
    /// Text the provider returned with it.
    pub text: Option<String>,
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

/// A flagged request: a refusal, a flag for review, or a policy failure.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Flag {
    /// `flag_…`, time-ordered.
    pub id: String,
    /// When (RFC 3339).
    pub created_at: String,
    /// `request` (before anything ran) or `output` (after the provider).
    pub stage: String,
    /// `deny`, `flag` or `error` (the policy failed; the request was refused).
    pub action: String,
    /// The policy, `name@version`.
    pub policy: String,
    /// The category of the terms.
    pub category: Option<String>,
    /// The policy's grounds (for operators; never shown to the caller).
    pub reason: Option<String>,
    /// The account.
    pub account_id: String,
    /// The key.
    pub key_id: Option<String>,
    /// The request.
    pub request_id: String,
    /// The task, for output checks.
    pub task_id: Option<String>,
    /// The model asked for.
    pub model: String,
    /// What was asked and produced, kept for the audit past retention.
    pub interaction: Interaction,
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

/// Query of the flagged-request list.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FlagQuery {
    /// Only this account's.
    pub account_id: Option<String>,
    /// Only `deny`, `flag` or `error`.
    pub action: Option<String>,
    /// Only this category.
    pub category: Option<String>,
    /// Only `request` or `output`.
    pub stage: Option<String>,
    /// Older than this id (cursor).
    pub after: Option<String>,
    /// At most this many (default 50, at most 500).
    pub limit: Option<usize>,
}

/// The moderation service.
pub struct Moderation {
    bindings: RwLock<Arc<Bindings>>,
    config: ModerationConfig,
    flags: Table,
    strikes: Table,
    notices: Table,
    appeals: Table,
    accounts: Accounts,
    /// The audit log.
    pub audit: Audit,
    /// The clock of strike windows and appeal deadlines.
    pub clock: Clock,
    /// Serialises enforcement and appeal decisions.
    lock: tokio::sync::Mutex<()>,
}

/// What the moderation service is built from.
pub struct ModerationParts {
    /// The policy bindings.
    pub bindings: Bindings,
    /// The operator's settings.
    pub config: ModerationConfig,
    /// The database.
    pub store: crate::store::Store,
    /// Accounts and keys, which enforcement suspends.
    pub accounts: Accounts,
    /// The audit log.
    pub audit: Audit,
    /// The clock.
    pub clock: Clock,
}

impl Moderation {
    /// The service, on its tables.
    pub fn new(parts: ModerationParts) -> Result<Self, StoreError> {
        let store = parts.store;
        Ok(Self {
            bindings: RwLock::new(Arc::new(parts.bindings)),
            config: parts.config,
            flags: store.table("moderation_flags")?,
            strikes: store.table("moderation_strikes")?,
            notices: store.table("moderation_notices")?,
            appeals: store.table("moderation_appeals")?,
            accounts: parts.accounts,
            audit: parts.audit,
            clock: parts.clock,
            lock: tokio::sync::Mutex::new(()),
        })
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
            let result = match stage {
                Stage::Request => policy.check_request(input, req).await,
                Stage::Output(outputs) => policy.check_output(input, req, outputs).await,
            };
            let label = policy.core().label();
            let record = |action: &str, category: Option<String>, reason: Option<String>| Flag {
                id: crate::ids::new("flag"),
                created_at: crate::time::to_rfc3339(self.clock.now()),
                stage: match stage {
                    Stage::Request => "request",
                    Stage::Output(_) => "output",
                }
                .into(),
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
                Ok(Ok(verdict)) => match verdict.action {
                    Action::Allow => continue,
                    Action::Flag => {
                        let flag = record("flag", verdict.category, verdict.reason);
                        tracing::info!(flag_id = %flag.id, policy = %label, category = ?flag.category, "policy flagged a request for review");
                        self.flags.put(&flag.id, &flag).await?;
                        flagged = true;
                        continue;
                    }
                    Action::Deny => {
                        let category = verdict.category.unwrap_or_else(|| "unspecified".into());
                        let flag = record("deny", Some(category.clone()), verdict.reason);
                        tracing::info!(flag_id = %flag.id, policy = %label, %category, stage = %flag.stage, "policy refused");
                        self.flags.put(&flag.id, &flag).await?;
                        if caller.account {
                            self.strike(caller, &flag).await?;
                        }
                        return Ok(Outcome::Denied { category });
                    }
                },
                Ok(Err(e)) => format!("the policy returned an error ({:?}): {}", e.kind, e.message),
                Err(e) => e.kind.to_string(),
            };
            // Fail closed: the request is refused and the incident kept.
            let flag = record("error", None, Some(failure.clone()));
            tracing::error!(flag_id = %flag.id, policy = %label, failure = %failure, "policy failed; refusing (fail closed)");
            self.flags.put(&flag.id, &flag).await?;
            return Ok(Outcome::Failed { policy: label });
        }
        Ok(Outcome::Allowed { flagged })
    }

    /// One flagged-request record.
    pub fn flag(&self, id: &str) -> Result<Option<Flag>, StoreError> {
        self.flags.get(id)
    }

    /// Flagged requests matching `q`, newest first, and whether there are more.
    pub fn flags(&self, q: &FlagQuery, limit: usize) -> Result<(Vec<Flag>, bool), StoreError> {
        let mut out = Vec::new();
        for item in self.flags.scan_rev::<Flag>(q.after.as_deref()) {
            let (_, f) = item?;
            let keep = q.account_id.as_ref().is_none_or(|a| &f.account_id == a)
                && q.action.as_ref().is_none_or(|a| &f.action == a)
                && q.category
                    .as_ref()
                    .is_none_or(|c| f.category.as_ref() == Some(c))
                && q.stage.as_ref().is_none_or(|s| &f.stage == s);
            if !keep {
                continue;
            }
            if out.len() == limit {
                return Ok((out, true));
            }
            out.push(f);
        }
        Ok((out, false))
    }
}

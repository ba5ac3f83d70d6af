//! Credentials set or removed at run time: bundled plugins that waited for
//! theirs are loaded, and the catalogue serves the models of plugins whose
//! credentials are complete and stops serving (without retiring) those of
//! plugins that lack one. No restart, on this replica and, through the
//! change feed, on the others.

use std::collections::BTreeSet;
use std::sync::Arc;

use serde::Serialize;
use serde_json::json;
use time::OffsetDateTime;

use super::files::source;
use super::{Rollout, RolloutError, changelog};
use crate::moderation::Bindings;

/// What a credential change did to the models served.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CredentialEffect {
    /// Models served from now on.
    pub launched: Vec<String>,
    /// Models no longer served until their plugin's credentials are set.
    pub waiting: Vec<String>,
}

impl Rollout {
    /// The credentials in force.
    pub fn credentials(&self) -> &Arc<crate::credentials::Credentials> {
        self.runtime.credentials()
    }

    /// The credentials each plugin (loaded or waiting) names.
    pub fn credential_names(&self) -> Vec<(String, Vec<String>)> {
        let mut names: Vec<(String, Vec<String>)> = self
            .registry
            .list()
            .iter()
            .map(|p| {
                let m = p.core().manifest();
                (m.name.clone(), m.credentials.clone())
            })
            .collect();
        for (name, (m, _)) in self.waiting.lock().expect("lock").iter() {
            names.push((name.clone(), m.credentials.clone()));
        }
        names
    }

    /// Brings the serving state in line with the credentials in force (see
    /// the module's documentation).
    pub async fn credentials_changed(&self) -> Result<CredentialEffect, RolloutError> {
        let _guard = self.lock.lock().await;
        let credentials = self.runtime.credentials();
        let ready: Vec<_> = self
            .waiting
            .lock()
            .expect("lock")
            .iter()
            .filter(|(_, (m, _))| credentials.missing(&m.credentials).is_empty())
            .map(|(name, (m, wasm))| (name.clone(), m.clone(), wasm.clone()))
            .collect();
        let mut policy_loaded = false;
        for (name, manifest, wasm) in ready {
            let loaded = self
                .runtime
                .load(source(&self.config, manifest, wasm, None))
                .await
                .map_err(|e| RolloutError::Invalid(e.to_string()))?;
            let core = loaded.core();
            tracing::info!(plugin = %core.label(), compile_ms = core.compile_time.as_millis() as u64, "bundled plugin loaded: its credentials are set");
            policy_loaded |= matches!(loaded, crate::plugins::LoadedPlugin::Policy(_));
            self.waiting.lock().expect("lock").remove(&name);
            self.registry.set(&name, Some(loaded));
        }
        // A bundled policy that waited (a classifier's key) checks requests
        // from now on where the bindings take every loaded policy
        // (`moderation.policies` unset), as it would after a restart.
        if policy_loaded {
            let bindings =
                Bindings::from_policies(self.moderation.config(), &self.registry.policies())
                    .map_err(RolloutError::Conflict)?;
            self.moderation.set_bindings(bindings);
        }

        let current = self.catalogue.read().expect("lock").clone();
        let next = self
            .catalogue_of(&self.registry.providers())?
            .with_retired(current.retired().clone());
        let before: BTreeSet<String> = current.routes().map(|r| r.info.id.clone()).collect();
        let after: BTreeSet<String> = next.routes().map(|r| r.info.id.clone()).collect();
        let effect = CredentialEffect {
            launched: after.difference(&before).cloned().collect(),
            waiting: before.difference(&after).cloned().collect(),
        };
        *self.catalogue.write().expect("lock") = Arc::new(next);
        if !effect.launched.is_empty() || !effect.waiting.is_empty() {
            tracing::info!(launched = ?effect.launched, waiting = ?effect.waiting, "models follow the credentials in force");
        }
        Ok(effect)
    }

    /// After this replica set or removed credential `name` (`action` is
    /// `credential.set` or `credential.removed`): serves accordingly,
    /// announces the models launched in the changelog (once per model) and
    /// records the step in the audit log (the name, never the value).
    pub async fn credential_step(
        &self,
        action: &str,
        name: &str,
    ) -> Result<CredentialEffect, RolloutError> {
        let effect = self.credentials_changed().await?;
        let (live, _) = self.pricing.model_states();
        let catalogue = self.catalogue.read().expect("lock").clone();
        let now = OffsetDateTime::now_utc();
        let entries: Vec<_> = effect
            .launched
            .iter()
            .filter(|id| !live.contains(*id))
            .map(|id| {
                let plugin = catalogue.get(id).map(|r| r.plugin.core().label());
                changelog(
                    "model_launched",
                    Some(id),
                    now,
                    json!({ "plugin": plugin, "credential": name }),
                )
            })
            .collect();
        self.pricing.announce(&entries).await?;
        self.log(
            "admin",
            action,
            json!({ "credential": name, "launched": effect.launched, "waiting": effect.waiting }),
        )
        .await?;
        Ok(effect)
    }
}

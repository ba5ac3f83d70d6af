//! A rollout step's effect on the serving state: the catalogue and policy
//! bindings that serving a version (or retiring a plugin) makes, and the
//! swap that puts them in place. The replica that takes a step and the
//! replicas that follow it share these.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Instant;

use time::OffsetDateTime;

use super::{Rollout, RolloutError};
use crate::catalogue::{Catalogue, Retired};
use crate::moderation::Bindings;
use crate::plugins::LoadedPlugin;
use crate::time::to_rfc3339;

/// What a rollout step makes of the serving state.
pub(super) struct Next {
    pub(super) catalogue: Catalogue,
    pub(super) bindings: Option<Bindings>,
    pub(super) is_policy: bool,
    pub(super) launched: Vec<String>,
    pub(super) retired: Vec<String>,
    pub(super) old_label: Option<String>,
    pub(super) new_label: Option<String>,
    pub(super) now: OffsetDateTime,
}

impl Rollout {
    /// What serving `new` in place of the plugin `name` (or retiring it
    /// with `None`) makes of the catalogue and the policy bindings; refused
    /// if they would be inconsistent.
    pub(super) fn next_state(
        &self,
        name: &str,
        new: &Option<LoadedPlugin>,
    ) -> Result<Next, RolloutError> {
        let old = self.registry.get(name);
        let old_label = old.as_ref().map(|p| p.core().label());
        let new_label = new.as_ref().map(|p| p.core().label());

        // The next catalogue: every provider, this one replaced.
        let mut providers: Vec<_> = self
            .registry
            .providers()
            .into_iter()
            .filter(|p| p.core().manifest().name != name)
            .collect();
        if let Some(LoadedPlugin::Provider(p)) = new {
            providers.push(p.clone());
        }
        let current = self.catalogue.read().expect("lock").clone();
        let next = self.catalogue_of(&providers)?;

        // The next policy bindings, if a policy changes.
        let is_policy = matches!(old, Some(LoadedPlugin::Policy(_)))
            || matches!(new, Some(LoadedPlugin::Policy(_)));
        let bindings = if is_policy {
            let mut policies = self.registry.policies();
            policies.remove(name);
            if let Some(LoadedPlugin::Policy(p)) = new {
                policies.insert(name.to_string(), p.clone());
            }
            Some(
                Bindings::from_policies(&self.moderation.config().clone(), &policies)
                    .map_err(|e| RolloutError::Conflict(format!("{e}; nothing changed")))?,
            )
        } else {
            None
        };

        let now = OffsetDateTime::now_utc();
        let before: BTreeSet<String> = current.routes().map(|r| r.info.id.clone()).collect();
        let after: BTreeSet<String> = next.routes().map(|r| r.info.id.clone()).collect();
        let launched: Vec<String> = after.difference(&before).cloned().collect();
        // A model whose plugin waits for a credential is not retired.
        let retired: Vec<String> = before
            .difference(&after)
            .filter(|id| !next.unavailable().contains_key(*id))
            .cloned()
            .collect();
        let mut retired_map = current.retired().clone();
        for id in &retired {
            retired_map.insert(
                id.clone(),
                Retired {
                    at: to_rfc3339(now),
                    plugin: old_label.clone(),
                    last: current.get(id).and_then(|r| r.targets.first().cloned()),
                },
            );
        }
        Ok(Next {
            catalogue: next.with_retired(retired_map),
            bindings,
            is_policy,
            launched,
            retired,
            old_label,
            new_label,
            now,
        })
    }

    /// The catalogue of `providers` and the configured routes they can
    /// serve (all of whose targets they declare).
    pub(super) fn catalogue_of(
        &self,
        providers: &[Arc<crate::plugins::ProviderPlugin>],
    ) -> Result<Catalogue, RolloutError> {
        let served: BTreeSet<String> = providers
            .iter()
            .flat_map(|p| p.models.iter().map(|m| m.id.clone()))
            .collect();
        let routes: Vec<_> = self
            .config
            .routes
            .iter()
            .filter(|r| r.targets.iter().all(|t| served.contains(t)))
            .cloned()
            .collect();
        Catalogue::build(providers, &routes)
            .map_err(|e| RolloutError::Invalid(format!("{e}; nothing changed")))
    }

    /// Serves `new` (or nothing) as plugin `name` with the catalogue and
    /// bindings of `next`: three pointers swapped. Returns how long it took.
    pub(super) fn swap(
        &self,
        name: &str,
        new: Option<LoadedPlugin>,
        catalogue: Catalogue,
        bindings: Option<Bindings>,
    ) -> std::time::Duration {
        let started = Instant::now();
        // A version chosen for a waiting bundled plugin takes its place.
        self.waiting.lock().expect("lock").remove(name);
        self.registry.set(name, new);
        *self.catalogue.write().expect("lock") = Arc::new(catalogue);
        if let Some(b) = bindings {
            self.moderation.set_bindings(b);
        }
        started.elapsed()
    }
}

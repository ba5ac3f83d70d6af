//! The registry of loaded plugins, by name, with their manifests.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

use super::{LoadedPlugin, PolicyPlugin, ProviderPlugin};

/// Two plugins with one name.
#[derive(Debug, thiserror::Error)]
#[error("two plugins are named {0}; plugin names must be unique")]
pub struct DuplicatePlugin(pub String);

/// Every loaded plugin, by name.
#[derive(Default)]
pub struct PluginRegistry {
    plugins: RwLock<BTreeMap<String, LoadedPlugin>>,
}

impl PluginRegistry {
    /// Adds a plugin; its name must be new.
    pub fn insert(&self, plugin: LoadedPlugin) -> Result<(), DuplicatePlugin> {
        let name = plugin.core().manifest().name.clone();
        let mut plugins = self.plugins.write().expect("lock");
        if plugins.contains_key(&name) {
            return Err(DuplicatePlugin(name));
        }
        plugins.insert(name, plugin);
        Ok(())
    }

    /// The plugin named `name`.
    pub fn get(&self, name: &str) -> Option<LoadedPlugin> {
        self.plugins.read().expect("lock").get(name).cloned()
    }

    /// Puts `plugin` in place of the one of the same name (or removes
    /// `name`'s with `None`); returns the one replaced.
    pub fn set(&self, name: &str, plugin: Option<LoadedPlugin>) -> Option<LoadedPlugin> {
        let mut plugins = self.plugins.write().expect("lock");
        match plugin {
            Some(p) => plugins.insert(name.to_string(), p),
            None => plugins.remove(name),
        }
    }

    /// Every plugin, in name order.
    pub fn list(&self) -> Vec<LoadedPlugin> {
        self.plugins
            .read()
            .expect("lock")
            .values()
            .cloned()
            .collect()
    }

    /// The policy plugins by name.
    pub fn policies(&self) -> BTreeMap<String, Arc<PolicyPlugin>> {
        self.plugins
            .read()
            .expect("lock")
            .iter()
            .filter_map(|(name, p)| match p {
                LoadedPlugin::Policy(p) => Some((name.clone(), p.clone())),
                LoadedPlugin::Provider(_) => None,
            })
            .collect()
    }

    /// The provider plugins, in name order.
    pub fn providers(&self) -> Vec<Arc<ProviderPlugin>> {
        self.list()
            .into_iter()
            .filter_map(|p| match p {
                LoadedPlugin::Provider(p) => Some(p),
                LoadedPlugin::Policy(_) => None,
            })
            .collect()
    }
}

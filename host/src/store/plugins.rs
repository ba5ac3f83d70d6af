//! The plugin versions aggregate's storage: per plugin, its installed
//! versions, which one serves, its activation history, its retirement and
//! its run-time configuration, as one record. A record is saved whole, in
//! one commit group, and only over the revision it was read at
//! (compare-and-set): a save based on a stale read is refused and changes
//! nothing, so no step undoes another it did not see.

#[cfg(test)]
pub(crate) mod conformance;
mod embedded;
pub(crate) mod pg;

pub use self::embedded::EmbeddedPlugins;
pub use self::pg::PgPlugins;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::StoreError;

/// What a plugin is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum PluginKind {
    /// Serves models (the `provider` world).
    Provider,
    /// Moderates requests and outputs (the `policy` world).
    Policy,
}

impl std::fmt::Display for PluginKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            PluginKind::Provider => "provider",
            PluginKind::Policy => "policy",
        })
    }
}

/// One installed version of a plugin.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct VersionRecord {
    /// Its version.
    pub version: String,
    /// SHA-256 of the component, hex.
    pub sha256: String,
    /// The WIT version it was built against.
    pub wit_version: String,
    /// When it was installed (RFC 3339).
    pub installed_at: String,
    /// Whether its bytes are the ones bundled in the binary.
    pub bundled: bool,
    /// The models it serves (providers).
    pub models: Vec<String>,
    /// The categories it can return (policies).
    pub categories: Vec<String>,
}

/// A plugin's versions and which one serves.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PluginRecord {
    /// The plugin's name.
    pub name: String,
    /// Provider or policy.
    pub kind: PluginKind,
    /// The version serving, if any.
    pub active: Option<String>,
    /// Versions activated, oldest first; rollback goes one step back.
    pub history: Vec<String>,
    /// Every version kept.
    pub versions: Vec<VersionRecord>,
    /// When the plugin was retired, if it is.
    pub retired_at: Option<String>,
    /// A scheduled retirement.
    pub retire_at: Option<String>,
    /// The operator's configuration set at run time (overrides the file's).
    pub config: Option<Value>,
    /// The revision this record was read at: how many times it was saved
    /// (0 if never, or only by releases that did not count).
    #[serde(default)]
    pub revision: u64,
}

/// Why a plugin record was not saved.
#[derive(Debug, thiserror::Error)]
pub enum PluginSaveError {
    /// The stored record is not the one this was read from; nothing
    /// changed.
    #[error(
        "plugin {name} changed since it was read (revision {expected}, now {stored}); \
         read it again"
    )]
    Stale {
        /// The plugin.
        name: String,
        /// The revision the record was read at.
        expected: u64,
        /// The stored revision.
        stored: u64,
    },
    /// The record cannot be stored; nothing changed.
    #[error("{0}")]
    Invalid(String),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Where plugin records are kept.
#[async_trait::async_trait]
pub trait PluginStore: Send + Sync + 'static {
    /// The record of plugin `name`.
    async fn plugin(&self, name: &str) -> Result<Option<PluginRecord>, StoreError>;

    /// Every record, by name.
    async fn plugins(&self) -> Result<Vec<PluginRecord>, StoreError>;

    /// Stores `record` in place of the stored one, as one commit group,
    /// durable when it returns, if the stored one is at `record.revision`
    /// (a record never stored is at 0); `record.revision` is then the new
    /// revision. [`PluginSaveError::Stale`] if another save came first,
    /// [`PluginSaveError::Invalid`] if the name is empty; either way
    /// nothing changed, `record` included.
    async fn save_plugin(&self, record: &mut PluginRecord) -> Result<(), PluginSaveError>;
}

/// Where the files of installed plugin versions are shared by replicas
/// (PostgreSQL; on sled, the data directory's files are the only copy).
#[async_trait::async_trait]
pub trait ComponentStore: Send + Sync + 'static {
    /// Keeps a version's manifest and component (once: a version's bytes
    /// never change).
    async fn put_component(
        &self,
        plugin: &str,
        version: &str,
        manifest: &str,
        wasm: &[u8],
    ) -> Result<(), StoreError>;

    /// A version's manifest and component, if kept.
    async fn component(
        &self,
        plugin: &str,
        version: &str,
    ) -> Result<Option<(String, Vec<u8>)>, StoreError>;
}

//! Replicas' heartbeats: each gateway sharing a database says, a few times
//! a lease, that it lives, where it listens, which build it runs and which
//! plugin versions it serves. A replica whose heartbeat is older than two
//! lease periods is shown as not live; an hour after its last heartbeat it
//! is forgotten. Work one replica at a time does is led by one replica for
//! a term.

#[cfg(test)]
pub(crate) mod conformance;
mod embedded;
mod pg;

pub use self::embedded::MemoryReplicas;
pub use self::pg::PgReplicas;

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::StoreError;

/// How long a replica is listed after its last heartbeat.
pub const FORGET_AFTER: Duration = Duration::from_secs(3600);

/// A plugin version a replica serves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ServedPlugin {
    /// The plugin's name.
    pub name: String,
    /// The version it serves.
    pub version: String,
}

/// What a replica says of itself at each heartbeat.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Heartbeat {
    /// `rep_…`.
    pub id: String,
    /// Where it listens (`http://host:port`).
    pub address: String,
    /// The gateway's version.
    pub version: String,
    /// When it started (RFC 3339).
    pub started_at: String,
    /// The plugins it serves, by name.
    pub plugins: Vec<ServedPlugin>,
}

/// A replica as listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplicaView {
    /// Its last heartbeat.
    pub heartbeat: Heartbeat,
    /// When that was (RFC 3339, UTC).
    pub last_heartbeat: String,
    /// Whether it was within the window asked for.
    pub live: bool,
}

/// Where heartbeats are kept.
#[async_trait::async_trait]
pub trait ReplicaStore: Send + Sync + 'static {
    /// Records a heartbeat (replacing the replica's last one), and forgets
    /// replicas silent for [`FORGET_AFTER`].
    async fn heartbeat(&self, beat: &Heartbeat) -> Result<(), StoreError>;

    /// The replicas known, oldest start first; `live` when their last
    /// heartbeat is within `live_within` (by the database's clock).
    async fn replicas(&self, live_within: Duration) -> Result<Vec<ReplicaView>, StoreError>;

    /// Whether replica `holder` leads `job` (work one replica at a time
    /// does) for the next `term`: it does if nobody leads it, if its
    /// leader's term ran out, or if it led it already (the term starts
    /// again).
    async fn lead(&self, job: &str, holder: &str, term: Duration) -> Result<bool, StoreError>;
}

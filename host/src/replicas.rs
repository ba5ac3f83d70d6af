//! Replicas: gateways that share one PostgreSQL database behind a load
//! balancer. Each process is a replica with an id of its own. Work exactly
//! one replica must do is leased to it for a short time, renewed while it
//! lives: the tasks it runs (and polls) and the webhook attempts it makes.
//! A replica that dies stops renewing; once its leases lapse, another
//! replica claims the work and resumes it from what is stored.
//!
//! A replica is known by its data directory (each replica has its own): a
//! process that starts again on it is the same replica, and takes back at
//! once the tasks it held when it stopped, as on sled.
//!
//! On sled one process owns the data directory, so it is the only replica
//! and nothing needs leasing.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use crate::plugins::PluginRegistry;
use crate::store::StoreError;
use crate::store::replicas::{Heartbeat, ReplicaStore, ReplicaView, ServedPlugin};

/// This process as a replica.
#[derive(Debug, Clone)]
pub struct Replica {
    /// `rep_…`, new at each start.
    pub id: String,
    /// How long a lease lasts unless renewed.
    pub lease: Duration,
}

impl Replica {
    /// A new replica whose leases last `lease`.
    pub fn new(lease: Duration) -> Self {
        Self {
            id: crate::ids::new("rep"),
            lease,
        }
    }

    /// The replica whose data directory is `data_dir`: its id is kept
    /// there (in `replica-id`), made at the first start.
    pub fn of_data_dir(data_dir: &Path, lease: Duration) -> std::io::Result<Self> {
        let path = data_dir.join("replica-id");
        let id = match std::fs::read_to_string(&path) {
            Ok(id) if crate::ids::is_valid("rep", id.trim()) => id.trim().to_string(),
            Ok(_) => {
                return Err(std::io::Error::other(format!(
                    "{} does not hold a replica id (rep_…): remove it to make a new one",
                    path.display()
                )));
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let id = crate::ids::new("rep");
                crate::durable::write_file(&path, id.as_bytes())?;
                id
            }
            Err(e) => return Err(e),
        };
        Ok(Self { id, lease })
    }

    /// How often its leases are renewed: three times a lease, so one late
    /// or failed renewal loses nothing.
    pub fn renew_every(&self) -> Duration {
        (self.lease / 3).max(Duration::from_millis(100))
    }
}

impl Default for Replica {
    fn default() -> Self {
        Self::new(Duration::from_secs(crate::config::DEFAULT_LEASE_SECS))
    }
}

/// The replicas sharing the database, as their heartbeats tell.
pub struct Replicas {
    store: Arc<dyn ReplicaStore>,
    plugins: Arc<PluginRegistry>,
    replica: Replica,
    address: String,
    started_at: String,
}

impl Replicas {
    /// This process, `replica`, listening at `address` and serving the
    /// plugins of `plugins`, with heartbeats kept in `store`.
    pub fn new(
        store: Arc<dyn ReplicaStore>,
        plugins: Arc<PluginRegistry>,
        replica: Replica,
        address: String,
    ) -> Arc<Self> {
        Arc::new(Self {
            store,
            plugins,
            replica,
            address,
            started_at: crate::time::now_rfc3339(),
        })
    }

    /// Says that this replica lives, with the plugin versions it serves now.
    pub async fn beat(&self) -> Result<(), StoreError> {
        let mut plugins: Vec<ServedPlugin> = self
            .plugins
            .list()
            .iter()
            .map(|p| {
                let m = p.core().manifest();
                ServedPlugin {
                    name: m.name.clone(),
                    version: m.version.clone(),
                }
            })
            .collect();
        plugins.sort_by(|a, b| a.name.cmp(&b.name));
        self.store
            .heartbeat(&Heartbeat {
                id: self.replica.id.clone(),
                address: self.address.clone(),
                version: env!("CARGO_PKG_VERSION").to_string(),
                started_at: self.started_at.clone(),
                plugins,
            })
            .await
    }

    /// Beats three times a lease until the process ends.
    pub async fn run(self: Arc<Self>) {
        let mut every = tokio::time::interval(self.replica.renew_every());
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            every.tick().await;
            if let Err(e) = self.beat().await {
                tracing::warn!(error = %e, "could not record this replica's heartbeat");
            }
        }
    }

    /// The replicas known, oldest start first; live when heard from within
    /// two lease periods.
    pub async fn list(&self) -> Result<Vec<ReplicaView>, StoreError> {
        self.store.replicas(self.replica.lease * 2).await
    }
}

//! Which database the gateway keeps its state in, and every store opened
//! on it: the embedded one in the data directory (fjall; one process), or
//! PostgreSQL (any number of replicas sharing it).
//!
//! Configured by `[store]`: `backend = "embedded" | "postgres"` (`"sled"`,
//! the embedded store's name before fjall, means `"embedded"`), `url`,
//! `pool_size` and, for the embedded store, `cache_mb`. The environment
//! variable `IMINI_STORE_URL` overrides `url`, and a `postgres://` (or
//! `postgresql://`) URL there selects PostgreSQL by itself.

use std::path::Path;
use std::sync::Arc;

use serde::Deserialize;

use super::accounts::{AccountStore, EmbeddedAccounts, PgAccounts};
use super::audit::{AuditStore, EmbeddedAudit, PgAudit};
use super::files::{EmbeddedFiles, FileStore, PgFiles};
use super::idempotency::{EmbeddedIdempotency, IdempotencyStore, PgIdempotency};
use super::ledger::LedgerStore;
use super::moderation::{EmbeddedModeration, ModerationStore, PgModeration};
use super::people::{EmbeddedPeople, PeopleStore, PgPeople};
use super::pg::PgStore;
use super::plugins::{ComponentStore, EmbeddedPlugins, PgPlugins, PluginStore};
use super::prices::{EmbeddedPrices, PgPrices, PriceStore};
use super::replicas::{MemoryReplicas, PgReplicas, ReplicaStore};
use super::secrets::{EmbeddedSecrets, PgSecrets, SecretStore};
use super::tasks::{EmbeddedTasks, PgTasks, TaskStore};
use super::webhooks::{EmbeddedWebhooks, PgWebhooks, WebhookStore};
use super::{OpCounts, Store, StoreError};
use crate::replicas::Replica;

/// The environment variable that overrides `[store] url`.
pub const URL_VARIABLE: &str = "IMINI_STORE_URL";

/// Connections in the pool unless `pool_size` says.
pub const DEFAULT_POOL_SIZE: usize = 16;

/// The embedded store's block cache in MiB unless `cache_mb` says. The
/// blocks a generation reads (accounts, keys, the newest ledger entries)
/// fit in it; the records a generation writes are read back from the
/// write buffers, which are bounded apart (docs/operations.md).
pub const DEFAULT_CACHE_MB: u64 = 16;

/// The smallest and largest `cache_mb` accepted.
const CACHE_MB_RANGE: std::ops::RangeInclusive<u64> = 1..=65_536;

/// The kinds of database.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    /// The embedded store (fjall), in the data directory.
    #[serde(alias = "sled", alias = "fjall")]
    Embedded,
    /// PostgreSQL, at `url`.
    Postgres,
}

/// `[store]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StoreConfig {
    /// The database (default the embedded one, or PostgreSQL if
    /// `IMINI_STORE_URL` is a PostgreSQL URL).
    pub backend: Option<Backend>,
    /// The PostgreSQL URL, `postgres://user:password@host:port/database`.
    pub url: Option<String>,
    /// The most connections the gateway opens (PostgreSQL).
    pub pool_size: Option<usize>,
    /// The most memory the embedded store's block cache may hold, in MiB
    /// (default [`DEFAULT_CACHE_MB`]).
    pub cache_mb: Option<u64>,
    /// sled's page compression: no longer has an effect (fjall compresses
    /// its table files itself), accepted so that a configuration file
    /// written for an earlier version still loads; a start logs a warning.
    pub compression: Option<bool>,
}

/// Where the state is kept, once the configuration and the environment are
/// read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolved {
    /// The embedded store in the data directory.
    Embedded {
        /// The bound of its block cache, in bytes.
        cache_bytes: u64,
    },
    /// PostgreSQL.
    Postgres {
        /// Its URL.
        url: String,
        /// The pool's size.
        pool_size: usize,
    },
}

fn is_postgres_url(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}

impl StoreConfig {
    /// Checks what the file says alone.
    pub fn validate(&self) -> Result<(), String> {
        if self.pool_size.is_some_and(|n| !(1..=1000).contains(&n)) {
            return Err("store.pool_size must be between 1 and 1000".into());
        }
        if self.cache_mb.is_some_and(|n| !CACHE_MB_RANGE.contains(&n)) {
            return Err(format!(
                "store.cache_mb must be between {} and {}",
                CACHE_MB_RANGE.start(),
                CACHE_MB_RANGE.end()
            ));
        }
        if self.backend == Some(Backend::Postgres) && self.cache_mb.is_some() {
            return Err(
                "store.cache_mb is for backend = \"embedded\"; PostgreSQL keeps its own cache"
                    .into(),
            );
        }
        if self.backend == Some(Backend::Postgres) && self.compression.is_some() {
            return Err(
                "store.compression is for backend = \"embedded\" (and has no effect since fjall); \
                 PostgreSQL compresses by its own settings"
                    .into(),
            );
        }
        if let Some(url) = &self.url
            && !is_postgres_url(url)
        {
            return Err("store.url must be a postgres:// URL".into());
        }
        if self.backend == Some(Backend::Embedded) && self.url.is_some() {
            return Err(
                "store.url is for backend = \"postgres\"; the embedded store lives in the data directory"
                    .into(),
            );
        }
        Ok(())
    }

    /// Where the state is kept, given the value of `IMINI_STORE_URL`
    /// (`env_url`), which overrides `url` and, if it is a PostgreSQL URL,
    /// selects PostgreSQL (`cache_mb` then has no use and is ignored).
    pub fn resolve(&self, env_url: Option<&str>) -> Result<Resolved, String> {
        self.validate()?;
        let env_url = env_url.map(str::trim).filter(|u| !u.is_empty());
        if let Some(url) = env_url
            && !is_postgres_url(url)
        {
            return Err(format!("{URL_VARIABLE} must be a postgres:// URL"));
        }
        let backend = match (env_url, self.backend) {
            (Some(_), _) => Backend::Postgres,
            (None, Some(backend)) => backend,
            (None, None) => Backend::Embedded,
        };
        match backend {
            Backend::Embedded => {
                if self.compression.is_some() {
                    tracing::warn!(
                        "store.compression no longer has an effect (the embedded store, fjall, \
                         compresses its table files itself); remove it from the configuration"
                    );
                }
                Ok(Resolved::Embedded {
                    cache_bytes: self.cache_mb.unwrap_or(DEFAULT_CACHE_MB) << 20,
                })
            }
            Backend::Postgres => {
                let url = env_url.or(self.url.as_deref()).ok_or_else(|| {
                    format!("backend = \"postgres\" needs store.url or {URL_VARIABLE}")
                })?;
                Ok(Resolved::Postgres {
                    url: url.to_string(),
                    pool_size: self.pool_size.unwrap_or(DEFAULT_POOL_SIZE),
                })
            }
        }
    }
}

/// Tasks and the ledger: one store implements both, as their holds are
/// written in the same commit groups.
pub trait TaskLedger: TaskStore + LedgerStore {}

impl<T: TaskStore + LedgerStore> TaskLedger for T {}

/// Every store, over one database.
pub struct Stores {
    /// The gateway's secrets.
    pub secrets: Arc<dyn SecretStore>,
    /// Accounts and keys.
    pub accounts: Arc<dyn AccountStore>,
    /// Tasks and the ledger.
    pub tasks: Arc<dyn TaskLedger>,
    /// Idempotency keys.
    pub idempotency: Arc<dyn IdempotencyStore>,
    /// Plugin versions.
    pub plugins: Arc<dyn PluginStore>,
    /// Plugin versions' files shared by replicas (none on the embedded
    /// store, where the
    /// data directory's files are the only copy).
    pub components: Option<Arc<dyn ComponentStore>>,
    /// Prices and the changelog.
    pub prices: Arc<dyn PriceStore>,
    /// File records.
    pub files: Arc<dyn FileStore>,
    /// Webhook deliveries.
    pub webhooks: Arc<dyn WebhookStore>,
    /// The audit log.
    pub audit: Arc<dyn AuditStore>,
    /// Replicas' heartbeats.
    pub replicas: Arc<dyn ReplicaStore>,
    /// Changes other replicas made to what is kept in memory.
    pub changes: Arc<super::changes::ChangeFeed>,
    /// Moderation records.
    pub moderation: Arc<dyn ModerationStore>,
    /// People's logins, sessions, tokens and login events.
    pub people: Arc<dyn PeopleStore>,
    /// The embedded database, for its operation counts.
    embedded: Option<Store>,
    /// What it is, for the logs.
    pub description: String,
}

impl Stores {
    /// Opens every store on the database `resolved` names (the embedded one
    /// under `data_dir/store`, copied first from an earlier version's sled
    /// database if need be: [`super::from_sled`]), bringing a PostgreSQL
    /// schema up to date.
    /// On PostgreSQL, `replica` is this process as one of the replicas that
    /// may share the database.
    pub async fn open(
        resolved: &Resolved,
        data_dir: &Path,
        replica: &Replica,
    ) -> Result<Self, StoreError> {
        match resolved {
            Resolved::Embedded { cache_bytes } => {
                let (store, _copied) = super::from_sled::open(data_dir, *cache_bytes)?;
                Ok(Self {
                    secrets: Arc::new(EmbeddedSecrets::new(&store)?),
                    accounts: Arc::new(EmbeddedAccounts::new(&store)?),
                    tasks: Arc::new(EmbeddedTasks::open(&store).await?),
                    idempotency: Arc::new(EmbeddedIdempotency::new(&store)?),
                    plugins: Arc::new(EmbeddedPlugins::open(&store)?),
                    components: None,
                    prices: Arc::new(EmbeddedPrices::open(&store)?),
                    files: Arc::new(EmbeddedFiles::open(&store).await?),
                    webhooks: Arc::new(EmbeddedWebhooks::open(&store).await?),
                    audit: Arc::new(EmbeddedAudit::open(&store)?),
                    replicas: Arc::new(MemoryReplicas::default()),
                    changes: Arc::new(super::changes::ChangeFeed::silent()),
                    moderation: Arc::new(EmbeddedModeration::open(&store)?),
                    people: Arc::new(EmbeddedPeople::new(&store)?),
                    description: format!(
                        "fjall in {} (cache of {} MiB)",
                        data_dir.join(super::from_sled::STORE_DIR).display(),
                        cache_bytes >> 20,
                    ),
                    embedded: Some(store),
                })
            }
            Resolved::Postgres { url, pool_size } => {
                let pg = PgStore::open(url, *pool_size)
                    .await?
                    .with_replica(replica.clone());
                Ok(Self {
                    secrets: Arc::new(PgSecrets::new(&pg)),
                    accounts: Arc::new(PgAccounts::new(&pg)),
                    tasks: Arc::new(PgTasks::new(&pg)),
                    idempotency: Arc::new(PgIdempotency::new(&pg).await?),
                    plugins: Arc::new(PgPlugins::new(&pg)),
                    components: Some(Arc::new(PgPlugins::new(&pg))),
                    prices: Arc::new(PgPrices::new(&pg)),
                    files: Arc::new(PgFiles::new(&pg)),
                    webhooks: Arc::new(PgWebhooks::new(&pg)),
                    audit: Arc::new(PgAudit::new(&pg)),
                    replicas: Arc::new(PgReplicas::new(&pg)),
                    changes: Arc::new(super::changes::ChangeFeed::listen(&pg)),
                    moderation: Arc::new(PgModeration::new(&pg)),
                    people: Arc::new(PgPeople::new(&pg)),
                    embedded: None,
                    description: format!(
                        "PostgreSQL (schema version {}, pool of {pool_size})",
                        pg.schema_version().await?
                    ),
                })
            }
        }
    }

    /// Whether other processes (replicas) may share the database: true on
    /// PostgreSQL, false on the embedded store, which one process owns.
    pub fn shared(&self) -> bool {
        self.embedded.is_none()
    }

    /// The embedded database's operation counts (none for PostgreSQL).
    pub fn op_counts(&self) -> Option<OpCounts> {
        self.embedded.as_ref().map(Store::op_counts)
    }
}

#[cfg(test)]
mod tests {
    use super::{Backend, Resolved, StoreConfig, Stores};
    use crate::store::pg::testing::TestDb;

    fn parse(toml: &str) -> StoreConfig {
        toml::from_str(toml).unwrap()
    }

    #[test]
    fn the_embedded_store_is_the_default_and_a_postgres_url_in_the_environment_selects_postgres() {
        let none = StoreConfig::default();
        let default = Resolved::Embedded {
            cache_bytes: 16 << 20,
        };
        assert_eq!(none.resolve(None), Ok(default.clone()));
        assert_eq!(none.resolve(Some("")), Ok(default), "empty: unset");
        assert_eq!(
            none.resolve(Some("postgres://imini@db/imini")),
            Ok(Resolved::Postgres {
                url: "postgres://imini@db/imini".into(),
                pool_size: 16
            })
        );
        // Over a file that says the embedded store, too; "sled" (its name
        // before fjall) and "fjall" name it as well.
        for name in ["embedded", "sled", "fjall"] {
            let embedded = parse(&format!("backend = \"{name}\""));
            assert_eq!(embedded.backend, Some(Backend::Embedded));
            assert!(matches!(
                embedded.resolve(Some("postgresql://db/x")),
                Ok(Resolved::Postgres { .. })
            ));
        }
        let err = none.resolve(Some("mysql://db/x")).unwrap_err();
        assert!(err.contains("IMINI_STORE_URL"), "{err}");
    }

    #[test]
    fn the_environment_overrides_the_files_url() {
        let c = parse("backend = \"postgres\"\nurl = \"postgres://file/db\"\npool_size = 4");
        assert_eq!(c.backend, Some(Backend::Postgres));
        assert_eq!(
            c.resolve(None),
            Ok(Resolved::Postgres {
                url: "postgres://file/db".into(),
                pool_size: 4
            })
        );
        assert_eq!(
            c.resolve(Some("postgres://env/db")),
            Ok(Resolved::Postgres {
                url: "postgres://env/db".into(),
                pool_size: 4
            })
        );
    }

    #[test]
    fn the_embedded_cache_is_small_unless_configured() {
        assert_eq!(
            StoreConfig::default().resolve(None),
            Ok(Resolved::Embedded {
                cache_bytes: super::DEFAULT_CACHE_MB << 20,
            })
        );
        assert_eq!(
            parse("cache_mb = 256").resolve(None),
            Ok(Resolved::Embedded {
                cache_bytes: 256 << 20,
            })
        );
        // PostgreSQL chosen by the environment: the embedded setting is
        // unused.
        assert!(matches!(
            parse("cache_mb = 256").resolve(Some("postgres://env/db")),
            Ok(Resolved::Postgres { .. })
        ));
        for bad in ["cache_mb = 0", "cache_mb = 65537"] {
            let err = parse(bad).validate().unwrap_err();
            assert!(
                err.contains("store.cache_mb must be between 1 and 65536"),
                "{err}"
            );
        }
        let err = parse("backend = \"postgres\"\nurl = \"postgres://db/x\"\ncache_mb = 8")
            .validate()
            .unwrap_err();
        assert!(
            err.contains("cache_mb is for backend = \"embedded\""),
            "{err}"
        );
        assert!(toml::from_str::<StoreConfig>("cache_mb = -1").is_err());
    }

    #[test]
    fn compression_of_an_earlier_version_still_loads_and_does_nothing() {
        assert_eq!(
            parse("compression = true").resolve(None),
            Ok(Resolved::Embedded {
                cache_bytes: super::DEFAULT_CACHE_MB << 20,
            })
        );
        let err = parse("backend = \"postgres\"\nurl = \"postgres://db/x\"\ncompression = true")
            .validate()
            .unwrap_err();
        assert!(
            err.contains("compression is for backend = \"embedded\""),
            "{err}"
        );
        assert!(toml::from_str::<StoreConfig>("compression = \"zstd\"").is_err());
    }

    #[test]
    fn inconsistent_settings_are_refused() {
        let err = parse("backend = \"postgres\"").resolve(None).unwrap_err();
        assert!(err.contains("store.url or IMINI_STORE_URL"), "{err}");
        assert!(parse("pool_size = 0").validate().is_err());
        assert!(parse("url = \"http://db\"").validate().is_err());
        assert!(
            parse("backend = \"sled\"\nurl = \"postgres://db/x\"")
                .validate()
                .is_err()
        );
        assert!(toml::from_str::<StoreConfig>("backend = \"mysql\"").is_err());
        assert!(toml::from_str::<StoreConfig>("pool = 3").is_err());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn every_store_opens_on_either_backend_and_shares_its_database() {
        let dir = tempfile::tempdir().unwrap();
        let db = TestDb::create().await;
        let pg = Resolved::Postgres {
            url: db.url(),
            pool_size: 2,
        };
        let embedded = Resolved::Embedded {
            cache_bytes: 1 << 20,
        };
        for resolved in [embedded, pg] {
            let stores = Stores::open(&resolved, dir.path(), &Default::default())
                .await
                .unwrap();
            let (kept, first) = stores.secrets.keep_first("k", "v1").await.unwrap();
            assert_eq!((kept.as_str(), first), ("v1", true), "{resolved:?}");
            stores
                .tasks
                .credit(
                    "acct_a",
                    crate::store::ledger::EntryKind::Topup,
                    7,
                    "admin",
                    None,
                )
                .await
                .unwrap();
            assert_eq!(
                stores.op_counts().is_some(),
                matches!(resolved, Resolved::Embedded { .. })
            );
            drop(stores);
            // Opened again (another replica, or a restart): the same state.
            let again = Stores::open(&resolved, dir.path(), &Default::default())
                .await
                .unwrap();
            assert_eq!(
                again.secrets.secret("k").await.unwrap().as_deref(),
                Some("v1")
            );
            assert_eq!(again.tasks.balance("acct_a").await.unwrap().balance, 7);
        }
    }
}

//! Durable state in PostgreSQL: a connection pool over one database, whose
//! schema is brought to this binary's version at start.
//!
//! Each store trait's PostgreSQL implementation (`store/<aggregate>/pg.rs`)
//! runs every method as one transaction, and leaves to the database what it
//! can enforce (unique keys, foreign keys, conditional updates).
//!
//! Migrations are embedded in the binary and numbered; the database records
//! the ones applied in `imini_schema_version`. They run at start in one
//! transaction under a transaction-scoped advisory lock, so replicas that
//! start at the same moment on an empty database wait for each other and
//! all come up; a database whose schema is newer than the binary knows is
//! refused, naming both versions.

#[cfg(test)]
pub(crate) mod testing;

use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Pool, PoolError, RecyclingMethod, Runtime};
use tokio_postgres::NoTls;

use super::StoreError;

/// How long one statement may run before the server cancels it.
pub const STATEMENT_TIMEOUT: Duration = Duration::from_secs(30);

/// How long the migrations at start may take (waiting for another
/// replica's included).
const MIGRATION_TIMEOUT: Duration = Duration::from_secs(600);

/// How long a caller waits for a connection from a full pool.
const POOL_WAIT: Duration = Duration::from_secs(30);

/// How long opening a connection may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// The advisory lock the migrations run under ("imini" and 1).
const MIGRATION_LOCK: i64 = 0x696d_696e_6900_0001;

/// The migrations, in order: version `i + 1` is `MIGRATIONS[i]`.
const MIGRATIONS: &[(&str, &str)] = &[
    ("secrets", include_str!("pg/migrations/0001_secrets.sql")),
    ("accounts", include_str!("pg/migrations/0002_accounts.sql")),
    ("audit", include_str!("pg/migrations/0003_audit.sql")),
    ("plugins", include_str!("pg/migrations/0004_plugins.sql")),
    ("prices", include_str!("pg/migrations/0005_prices.sql")),
    (
        "idempotency",
        include_str!("pg/migrations/0006_idempotency.sql"),
    ),
    ("files", include_str!("pg/migrations/0007_files.sql")),
    ("webhooks", include_str!("pg/migrations/0008_webhooks.sql")),
    (
        "moderation",
        include_str!("pg/migrations/0009_moderation.sql"),
    ),
    ("tasks", include_str!("pg/migrations/0010_tasks.sql")),
    ("leases", include_str!("pg/migrations/0011_leases.sql")),
    ("replicas", include_str!("pg/migrations/0012_replicas.sql")),
    (
        "plugin_components",
        include_str!("pg/migrations/0013_plugin_components.sql"),
    ),
    (
        "credit_lines",
        include_str!("pg/migrations/0014_credit_lines.sql"),
    ),
    ("people", include_str!("pg/migrations/0015_people.sql")),
    (
        "second_factor",
        include_str!("pg/migrations/0016_second_factor.sql"),
    ),
];

/// The schema version this binary knows.
pub const SCHEMA_VERSION: i32 = MIGRATIONS.len() as i32;

/// A PostgreSQL database: a pool of connections, each with the statement
/// timeout set.
#[derive(Clone)]
pub struct PgStore {
    pool: Pool,
    config: tokio_postgres::Config,
    /// This process as one of the replicas sharing the database: whose
    /// leases it takes, and for how long.
    replica: std::sync::Arc<crate::replicas::Replica>,
}

impl From<tokio_postgres::Error> for StoreError {
    fn from(e: tokio_postgres::Error) -> Self {
        StoreError::Database(describe(&e))
    }
}

impl From<PoolError> for StoreError {
    fn from(e: PoolError) -> Self {
        match e {
            PoolError::Backend(e) => e.into(),
            other => StoreError::Database(format!("connection pool: {other}")),
        }
    }
}

/// An error in words: the server's message and code, or the client's.
fn describe(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("{} ({}): {}", db.severity(), db.code().code(), db.message()),
        None => match std::error::Error::source(e) {
            Some(source) => format!("{e}: {source}"),
            None => e.to_string(),
        },
    }
}

/// An enum stored as the text it serialises to (`"active"`).
pub(crate) fn to_text<T: serde::Serialize>(value: &T) -> String {
    match serde_json::to_value(value).expect("records serialise") {
        serde_json::Value::String(s) => s,
        other => other.to_string(),
    }
}

/// An enum read back from its text; [`StoreError::Corrupt`] if it is not
/// one.
pub(crate) fn from_text<T: serde::de::DeserializeOwned>(
    table: &'static str,
    text: String,
) -> Result<T, StoreError> {
    serde_json::from_value(serde_json::Value::String(text)).map_err(|source| StoreError::Corrupt {
        tree: table,
        source,
    })
}

/// A value stored as JSON (a nested payload), as JSON.
pub(crate) fn to_json<T: serde::Serialize>(value: &T) -> serde_json::Value {
    serde_json::to_value(value).expect("records serialise")
}

/// A nested payload read back from JSON.
pub(crate) fn from_json<T: serde::de::DeserializeOwned>(
    table: &'static str,
    value: serde_json::Value,
) -> Result<T, StoreError> {
    serde_json::from_value(value).map_err(|source| StoreError::Corrupt {
        tree: table,
        source,
    })
}

/// A column that holds a `u32` (as BIGINT).
pub(crate) fn to_u32(table: &'static str, value: i64) -> Result<u32, StoreError> {
    u32::try_from(value).map_err(|_| corrupt(table, format!("{value} is out of range")))
}

/// [`StoreError::Corrupt`] for a value the schema allows but the record
/// cannot hold.
pub(crate) fn corrupt(table: &'static str, why: String) -> StoreError {
    StoreError::Corrupt {
        tree: table,
        source: <serde_json::Error as serde::de::Error>::custom(why),
    }
}

/// Whether `e` is the server refusing a write that breaks a unique
/// constraint.
pub(crate) fn is_unique_violation(e: &tokio_postgres::Error) -> bool {
    e.code() == Some(&tokio_postgres::error::SqlState::UNIQUE_VIOLATION)
}

impl PgStore {
    /// Connects to the database at `url` (`postgres://…`) with a pool of at
    /// most `pool_size` connections, and brings its schema to this binary's
    /// version. Refuses a database whose schema is newer.
    pub async fn open(url: &str, pool_size: usize) -> Result<Self, StoreError> {
        let mut config: tokio_postgres::Config = url
            .parse()
            .map_err(|e| StoreError::Database(format!("the URL {}: {e}", redacted(url))))?;
        let timeout = format!("-c statement_timeout={}", STATEMENT_TIMEOUT.as_millis());
        let options = match config.get_options() {
            Some(given) => format!("{given} {timeout}"),
            None => timeout,
        };
        config.options(options);
        if config.get_application_name().is_none() {
            config.application_name("imini");
        }
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        let manager = Manager::from_config(
            config.clone(),
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(pool_size.max(1))
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(POOL_WAIT))
            .create_timeout(Some(CONNECT_TIMEOUT))
            .build()
            .map_err(|e| StoreError::Database(format!("connection pool: {e}")))?;
        let store = Self {
            pool,
            config,
            replica: Default::default(),
        };
        store.migrate().await?;
        Ok(store)
    }

    /// The same database, as `replica` (by default a new replica with the
    /// default lease).
    pub fn with_replica(mut self, replica: crate::replicas::Replica) -> Self {
        self.replica = std::sync::Arc::new(replica);
        self
    }

    /// This process as a replica.
    pub(crate) fn replica(&self) -> &crate::replicas::Replica {
        &self.replica
    }

    /// A connection from the pool.
    pub(crate) async fn client(&self) -> Result<deadpool_postgres::Client, StoreError> {
        Ok(self.pool.get().await?)
    }

    /// The connection settings (for a connection held outside the pool).
    pub fn config(&self) -> &tokio_postgres::Config {
        &self.config
    }

    /// Applies the migrations the database lacks, in one transaction under
    /// an advisory lock; refuses a schema newer than this binary's.
    async fn migrate(&self) -> Result<(), StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        // Waiting for another replica's migrations, and running a long one,
        // may take longer than a statement may.
        tx.batch_execute(&format!(
            "SET LOCAL statement_timeout = {}",
            MIGRATION_TIMEOUT.as_millis()
        ))
        .await?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
            .await?;
        tx.batch_execute(
            "CREATE TABLE IF NOT EXISTS imini_schema_version (
                 version INTEGER PRIMARY KEY,
                 name TEXT NOT NULL,
                 applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
             )",
        )
        .await?;
        let current: i32 = tx
            .query_one(
                "SELECT COALESCE(MAX(version), 0) FROM imini_schema_version",
                &[],
            )
            .await?
            .get(0);
        if current > SCHEMA_VERSION {
            return Err(StoreError::Database(format!(
                "the database schema is at version {current}, newer than this imini knows \
                 (version {SCHEMA_VERSION}): run the imini release that migrated it, or a newer one"
            )));
        }
        for (i, (name, sql)) in MIGRATIONS.iter().enumerate().skip(current as usize) {
            let version = i as i32 + 1;
            tx.batch_execute(sql).await.map_err(|e| {
                StoreError::Database(format!("migration {version} ({name}): {}", describe(&e)))
            })?;
            tx.execute(
                "INSERT INTO imini_schema_version (version, name) VALUES ($1, $2)",
                &[&version, name],
            )
            .await?;
            tracing::info!(version, name, "applied a database migration");
        }
        tx.commit().await?;
        Ok(())
    }

    /// The schema version the database is at.
    pub async fn schema_version(&self) -> Result<i32, StoreError> {
        let client = self.client().await?;
        Ok(client
            .query_one(
                "SELECT COALESCE(MAX(version), 0) FROM imini_schema_version",
                &[],
            )
            .await?
            .get(0))
    }
}

/// `url` without its password, for messages.
fn redacted(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            match userinfo.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::testing::TestDb;
    use super::{PgStore, SCHEMA_VERSION, redacted};
    use crate::store::StoreError;

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn simultaneous_starts_on_an_empty_database_all_come_up_and_migrate_once() {
        let db = TestDb::create().await;
        let opens: Vec<_> = (0..8)
            .map(|_| {
                let url = db.url();
                tokio::spawn(async move { PgStore::open(&url, 2).await })
            })
            .collect();
        let mut stores = Vec::new();
        for open in opens {
            stores.push(open.await.unwrap().expect("every replica comes up"));
        }
        let client = stores[0].client().await.unwrap();
        let rows = client
            .query(
                "SELECT version, name FROM imini_schema_version ORDER BY version",
                &[],
            )
            .await
            .unwrap();
        let versions: Vec<i32> = rows.iter().map(|r| r.get(0)).collect();
        assert_eq!(
            versions,
            (1..=SCHEMA_VERSION).collect::<Vec<_>>(),
            "each migration applied exactly once"
        );
        for store in &stores {
            assert_eq!(store.schema_version().await.unwrap(), SCHEMA_VERSION);
        }
        // Opening a migrated database again changes nothing.
        PgStore::open(&db.url(), 1).await.unwrap();
        let count: i64 = client
            .query_one("SELECT count(*) FROM imini_schema_version", &[])
            .await
            .unwrap()
            .get(0);
        assert_eq!(count, i64::from(SCHEMA_VERSION));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_schema_newer_than_the_binary_is_refused_naming_both_versions() {
        let db = TestDb::create().await;
        let store = PgStore::open(&db.url(), 1).await.unwrap();
        let newer = SCHEMA_VERSION + 1;
        store
            .client()
            .await
            .unwrap()
            .execute(
                "INSERT INTO imini_schema_version (version, name) VALUES ($1, 'from the future')",
                &[&newer],
            )
            .await
            .unwrap();
        let refused = PgStore::open(&db.url(), 1).await.err().expect("refused");
        let StoreError::Database(message) = &refused else {
            panic!("{refused:?}");
        };
        assert!(
            message.contains(&format!("at version {newer}"))
                && message.contains(&format!("(version {SCHEMA_VERSION})")),
            "{message}"
        );
    }

    #[test]
    fn passwords_are_left_out_of_messages() {
        assert_eq!(
            redacted("postgres://imini:s3cret@db:5432/imini"),
            "postgres://imini:***@db:5432/imini"
        );
        assert_eq!(
            redacted("postgres://postgres@127.0.0.1/x"),
            "postgres://postgres@127.0.0.1/x"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn statements_run_under_the_timeout() {
        let db = TestDb::create().await;
        let store = PgStore::open(&db.url(), 1).await.unwrap();
        let client = store.client().await.unwrap();
        let timeout: String = client
            .query_one("SHOW statement_timeout", &[])
            .await
            .unwrap()
            .get(0);
        assert_eq!(timeout, "30s");
    }
}

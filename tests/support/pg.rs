//! PostgreSQL for the end-to-end tests: a database made for one test (or
//! one gateway) on the server at `IMINI_TEST_PG_URL` (default the local
//! one as `postgres`), dropped with it, and only it.

/// The server the tests use unless `IMINI_TEST_PG_URL` names another.
const DEFAULT_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// Whether the end-to-end suite runs its gateways on PostgreSQL
/// (`IMINI_E2E_STORE=postgres`) rather than on sled, the default.
pub fn e2e_on_postgres() -> bool {
    match std::env::var("IMINI_E2E_STORE").as_deref() {
        Ok("postgres") => true,
        Ok("sled") | Ok("") | Err(_) => false,
        Ok(other) => panic!("IMINI_E2E_STORE is `sled` or `postgres`, not `{other}`"),
    }
}

/// For a test of sled's own files (an upgrade from an earlier layout):
/// true, after saying so, when the suite runs on PostgreSQL, where the
/// test has nothing to check.
pub fn skip_on_postgres(why: &str) -> bool {
    let skip = e2e_on_postgres();
    if skip {
        eprintln!("skipped on PostgreSQL: {why}");
    }
    skip
}

/// A database made for a test, dropped with it.
pub struct Database {
    admin_url: String,
    name: String,
}

fn run<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime")
        .block_on(f)
}

async fn execute(url: &str, sql: &str) -> Result<(), tokio_postgres::Error> {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls).await?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    client.batch_execute(sql).await
}

impl Database {
    /// Creates an empty database with a random name.
    pub fn create() -> Self {
        let admin_url =
            std::env::var("IMINI_TEST_PG_URL").unwrap_or_else(|_| DEFAULT_URL.to_string());
        let name = format!("imini_e2e_{:016x}", rand_u64());
        if let Err(e) = run(execute(&admin_url, &format!("CREATE DATABASE \"{name}\""))) {
            panic!(
                "PostgreSQL is needed for these tests: start it or install the Debian package \
                 `postgresql` (set IMINI_TEST_PG_URL to use another server) [{e}]"
            );
        }
        Self { admin_url, name }
    }

    /// Its URL: the admin URL with the database name replaced.
    pub fn url(&self) -> String {
        let authority = self.admin_url.find("://").map_or(0, |i| i + 3);
        let end = self.admin_url[authority..]
            .find(['/', '?'])
            .map_or(self.admin_url.len(), |i| authority + i);
        format!("{}/{}", &self.admin_url[..end], self.name)
    }
}

impl Database {
    /// Ends every connection to the database, as a restart of the server
    /// would; returns how many there were.
    pub fn drop_connections(&self) -> usize {
        let sql = format!(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{}'",
            self.name
        );
        run(async {
            let (client, connection) =
                tokio_postgres::connect(&self.admin_url, tokio_postgres::NoTls)
                    .await
                    .expect("connect");
            tokio::spawn(async move {
                let _ = connection.await;
            });
            client.query(&sql, &[]).await.expect("terminate").len()
        })
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        let sql = format!("DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)", self.name);
        if let Err(e) = run(execute(&self.admin_url, &sql)) {
            eprintln!("could not drop the test database {}: {e}", self.name);
        }
    }
}

fn rand_u64() -> u64 {
    use std::hash::{BuildHasher, RandomState};
    RandomState::new().hash_one(std::time::SystemTime::now())
}

//! Databases for tests: each test makes its own, named `imini_t_<random>`,
//! on the server at `IMINI_TEST_PG_URL` (by default the local one, as the
//! `postgres` user), so tests run in parallel; its guard drops exactly that
//! database, and no other, when the test ends (passed or not).

use super::PgStore;

/// The server tests use unless `IMINI_TEST_PG_URL` names another.
const DEFAULT_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// Why a test could not start, in one line.
const NEEDED: &str = "PostgreSQL is needed for the store tests: start it or install the Debian \
                      package `postgresql` (set IMINI_TEST_PG_URL to use another server)";

/// A database made for one test, dropped with its guard.
pub(crate) struct TestDb {
    admin_url: String,
    name: String,
}

fn admin_url() -> String {
    std::env::var("IMINI_TEST_PG_URL").unwrap_or_else(|_| DEFAULT_URL.to_string())
}

/// `url` with its database name replaced by `name`.
fn with_database(url: &str, name: &str) -> String {
    let authority = url.find("://").map_or(0, |i| i + 3);
    let (base, query) = match url.find('?') {
        Some(q) => url.split_at(q),
        None => (url, ""),
    };
    let host_end = base[authority..]
        .find('/')
        .map_or(base.len(), |i| authority + i);
    format!("{}/{name}{query}", &base[..host_end])
}

async fn admin_client(url: &str) -> Result<tokio_postgres::Client, tokio_postgres::Error> {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls).await?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    Ok(client)
}

impl TestDb {
    /// Makes a new, empty database. Panics with one line saying what is
    /// needed if the server cannot be reached.
    pub(crate) async fn create() -> Self {
        let admin_url = admin_url();
        let client = match admin_client(&admin_url).await {
            Ok(client) => client,
            Err(e) => panic!("{NEEDED} [{}]", crate::store::StoreError::from(e)),
        };
        let name = format!("imini_t_{}", crate::ids::hex(&rand::random::<[u8; 8]>()));
        client
            .batch_execute(&format!("CREATE DATABASE \"{name}\""))
            .await
            .unwrap_or_else(|e| panic!("could not create the test database {name}: {e:?}"));
        Self { admin_url, name }
    }

    /// The URL of this database.
    pub(crate) fn url(&self) -> String {
        with_database(&self.admin_url, &self.name)
    }

    /// Its name.
    #[allow(dead_code)]
    pub(crate) fn name(&self) -> &str {
        &self.name
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        // Async drop is not a thing: drop the database from a thread with a
        // runtime of its own, and wait for it, so that none is left behind.
        let (admin_url, name) = (self.admin_url.clone(), self.name.clone());
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime");
            runtime.block_on(async {
                let client = admin_client(&admin_url).await?;
                client
                    .batch_execute(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                    .await
            })
        })
        .join();
        match dropped {
            Ok(Ok(())) => {}
            Ok(Err(e)) => eprintln!("could not drop the test database {}: {e:?}", self.name),
            Err(_) => eprintln!("could not drop the test database {}", self.name),
        }
    }
}

/// A fresh database and a store opened on it (migrated).
pub(crate) async fn fresh_store() -> (TestDb, PgStore) {
    let db = TestDb::create().await;
    let store = PgStore::open(&db.url(), 4)
        .await
        .unwrap_or_else(|e| panic!("could not open the test database: {e}"));
    (db, store)
}

/// [`fresh_store`] for suites whose `fresh` is not async (the test runs
/// on a multi-threaded runtime).
pub(crate) fn fresh_store_blocking() -> (TestDb, PgStore) {
    tokio::task::block_in_place(|| tokio::runtime::Handle::current().block_on(fresh_store()))
}

#[cfg(test)]
mod tests {
    use super::{TestDb, admin_client, admin_url, with_database};

    #[test]
    fn the_database_name_is_replaced_and_the_rest_kept() {
        assert_eq!(
            with_database("postgres://postgres@127.0.0.1:5432/postgres", "t"),
            "postgres://postgres@127.0.0.1:5432/t"
        );
        assert_eq!(
            with_database("postgres://u:p@h/postgres?sslmode=disable", "t"),
            "postgres://u:p@h/t?sslmode=disable"
        );
        assert_eq!(
            with_database("postgres://h:5432", "t"),
            "postgres://h:5432/t"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_test_database_is_dropped_with_its_guard_and_no_other() {
        let (a, b) = (TestDb::create().await, TestDb::create().await);
        let name = a.name().to_string();
        let admin = admin_client(&admin_url()).await.unwrap();
        let exists = async |name: &str| {
            admin
                .query_one(
                    "SELECT count(*) FROM pg_database WHERE datname = $1",
                    &[&name],
                )
                .await
                .unwrap()
                .get::<_, i64>(0)
                == 1
        };
        assert!(exists(&name).await);
        drop(a);
        assert!(!exists(&name).await, "dropped with its guard");
        assert!(exists(b.name()).await, "the other is kept");
    }
}

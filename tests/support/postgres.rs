//! PostgreSQL for the end-to-end tests: each test makes its own database
//! on the server at `IMINI_TEST_PG_URL` (default the local one as
//! `postgres`) and drops it, and only it, at the end.

/// The server the tests use unless `IMINI_TEST_PG_URL` names another.
const DEFAULT_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// A database made for one test, dropped with it.
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
    /// Makes a new, empty database; fails with one line saying what is
    /// needed if the server cannot be reached.
    pub fn create() -> Self {
        let admin_url =
            std::env::var("IMINI_TEST_PG_URL").unwrap_or_else(|_| DEFAULT_URL.to_string());
        let name = format!("imini_e2e_{:016x}", crate::random_u64());
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

impl Drop for Database {
    fn drop(&mut self) {
        let sql = format!("DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)", self.name);
        if let Err(e) = run(execute(&self.admin_url, &sql)) {
            eprintln!("could not drop the test database {}: {e}", self.name);
        }
    }
}

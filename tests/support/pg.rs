//! PostgreSQL for the end-to-end tests: a database made for one test (or
//! one gateway) on the server at `IMINI_TEST_PG_URL` (default the local
//! one as `postgres`), dropped with it, and only it.

/// The server the tests use unless `IMINI_TEST_PG_URL` names another.
const DEFAULT_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// Whether the end-to-end suite runs its gateways on PostgreSQL
/// (`IMINI_E2E_STORE=postgres`) rather than on the embedded store, the
/// default.
pub fn e2e_on_postgres() -> bool {
    match std::env::var("IMINI_E2E_STORE").as_deref() {
        Ok("postgres") => true,
        Ok("embedded") | Ok("") | Err(_) => false,
        Ok(other) => panic!("IMINI_E2E_STORE is `embedded` or `postgres`, not `{other}`"),
    }
}

/// For a test of the embedded store's own files (an upgrade from an
/// earlier layout):
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
        Self::create_on(admin_url)
    }

    /// Creates an empty database with a random name on the server whose
    /// administrative URL is `admin_url`.
    pub fn create_on(admin_url: String) -> Self {
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

/// A PostgreSQL server of a test's own, started from the installed server
/// binaries (`initdb`, `pg_ctl`) on a free loopback port, that the test
/// may restart; stopped when dropped. As root, it runs as the `postgres`
/// user (the server refuses to run as root).
pub struct Server {
    dir: tempfile::TempDir,
    bin: std::path::PathBuf,
    port: u16,
    as_postgres: bool,
}

impl Server {
    /// Makes and starts a server.
    pub fn start() -> Self {
        let bin = std::fs::read_dir("/usr/lib/postgresql")
            .into_iter()
            .flatten()
            .filter_map(Result::ok)
            .map(|e| e.path().join("bin"))
            .filter(|b| b.join("initdb").is_file())
            .max()
            .unwrap_or_else(|| {
                panic!("initdb is needed for this test: install the Debian package `postgresql`")
            });
        let as_postgres = std::process::Command::new("id")
            .arg("-u")
            .output()
            .is_ok_and(|o| o.stdout.starts_with(b"0\n"));
        let dir = tempfile::tempdir().expect("temp dir");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let server = Self {
            dir,
            bin,
            port,
            as_postgres,
        };
        if as_postgres {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(server.dir.path(), std::fs::Permissions::from_mode(0o755))
                .expect("chmod");
            let chowned = std::process::Command::new("chown")
                .args(["-R", "postgres:postgres", &server.path("")])
                .status();
            assert!(chowned.is_ok_and(|s| s.success()), "chown to postgres");
        }
        let initdb = server.bin.join("initdb");
        server.run(
            initdb.to_str().unwrap(),
            &[
                "-D",
                &server.path("data"),
                "-A",
                "trust",
                "-U",
                "postgres",
                "--no-sync",
            ],
        );
        let options = format!(
            "-p {port} -c listen_addresses=127.0.0.1 -k {} -c fsync=off",
            server.path("")
        );
        server.pg_ctl(&["-o", &options, "start"]);
        server
    }

    /// The administrative URL (database `postgres`).
    pub fn admin_url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// Restarts the server (fast shutdown: every connection is cut, open
    /// transactions are rolled back), waiting until it accepts
    /// connections again.
    pub fn restart(&self) {
        self.pg_ctl(&["-m", "fast", "restart"]);
    }

    fn path(&self, name: &str) -> String {
        self.dir.path().join(name).to_string_lossy().into_owned()
    }

    /// Runs `pg_ctl` on the server (its output to the server's log: a
    /// server started with pg_ctl's own output would keep it open).
    fn pg_ctl(&self, args: &[&str]) {
        let pg_ctl = self.bin.join("pg_ctl");
        let (data, log) = (self.path("data"), self.path("log"));
        let mut all = vec!["-D", data.as_str(), "-l", log.as_str(), "-w", "-t", "60"];
        all.extend_from_slice(args);
        self.run(pg_ctl.to_str().unwrap(), &all);
    }

    /// `program`, to run as `postgres` when this process is root.
    fn command(&self, program: &str) -> std::process::Command {
        if self.as_postgres {
            let mut c = std::process::Command::new("runuser");
            c.args(["-u", "postgres", "--", program]);
            c
        } else {
            std::process::Command::new(program)
        }
    }

    /// Runs `program` with `args`, which must succeed.
    fn run(&self, program: &str, args: &[&str]) {
        let out = self
            .command(program)
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("{program}: {e}"));
        assert!(
            out.status.success(),
            "{program} {args:?} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let pg_ctl = self.bin.join("pg_ctl");
        let data = self.path("data");
        let _ = self
            .command(pg_ctl.to_str().unwrap())
            .args(["-D", &data, "-m", "immediate", "stop"])
            .output();
    }
}

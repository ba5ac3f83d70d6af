//! Redis for the end-to-end tests: the shared server (at
//! `IMINI_TEST_REDIS_URL`, default the local one), where each test uses a
//! random key prefix of its own and deletes only its keys; and throwaway
//! `redis-server`s that a test starts, kills and starts again.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The server the tests use unless `IMINI_TEST_REDIS_URL` names another.
const DEFAULT_URL: &str = "redis://127.0.0.1:6379";

/// A key prefix of one test on the shared server; its keys are deleted
/// with it.
pub struct Prefix {
    /// The server's URL.
    pub url: String,
    /// `imini_e2e_<random>:`.
    pub prefix: String,
}

fn connect(url: &str, timeout: Duration) -> redis::RedisResult<redis::Connection> {
    redis::Client::open(url)?.get_connection_with_timeout(timeout)
}

impl Prefix {
    /// A new prefix; fails with one line saying what is needed if the
    /// server does not answer.
    pub fn new() -> Self {
        let url = std::env::var("IMINI_TEST_REDIS_URL").unwrap_or_else(|_| DEFAULT_URL.to_string());
        let ping = connect(&url, Duration::from_secs(2))
            .and_then(|mut c| redis::cmd("PING").query::<String>(&mut c));
        if let Err(e) = ping {
            panic!(
                "Redis is needed on 127.0.0.1:6379 for the tests (Debian package: redis-server), \
                 or set IMINI_TEST_REDIS_URL [{e}]"
            );
        }
        let prefix = format!("imini_e2e_{:016x}:", crate::random_u64());
        Self { url, prefix }
    }
}

impl Default for Prefix {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for Prefix {
    fn drop(&mut self) {
        let Ok(mut connection) = connect(&self.url, Duration::from_secs(2)) else {
            return;
        };
        let keys: Vec<String> =
            redis::Commands::scan_match::<_, String>(&mut connection, format!("{}*", self.prefix))
                .map(|keys| keys.filter_map(Result::ok).collect())
                .unwrap_or_default();
        if !keys.is_empty() {
            let _: redis::RedisResult<i64> = redis::Commands::del(&mut connection, &keys);
        }
    }
}

/// A `redis-server` of a test's own on 127.0.0.1, keeping nothing on disk,
/// killed with its guard.
pub struct Server {
    /// Its port.
    pub port: u16,
    child: Option<Child>,
}

impl Server {
    /// Starts one on `port` and waits (10 s at most) until it answers.
    pub fn start(port: u16) -> Self {
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "redis-server is needed for these tests (Debian package: redis-server) [{e}]"
                )
            });
        let server = Self {
            port,
            child: Some(child),
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while connect(&server.url(), Duration::from_millis(200)).is_err() {
            assert!(
                Instant::now() < deadline,
                "redis-server did not start on {port}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        server
    }

    /// `redis://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Kills it (SIGKILL), as a crash would.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A port nothing listens on right now.
pub fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
    listener.local_addr().expect("its address").port()
}

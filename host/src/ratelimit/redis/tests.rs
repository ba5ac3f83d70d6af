//! The Redis limiter against a real server: the machine's at
//! 127.0.0.1:6379 unless `IMINI_TEST_REDIS_URL` names another. Each test
//! uses keys under a random prefix of its own and deletes those, and only
//! those, when it ends. The outage tests start a throwaway `redis-server`
//! of their own on a free port.

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ::redis::Commands;

use super::{RedisLimiter, TIMEOUT, decision};
use crate::ratelimit::Limiter;

/// The server the tests use unless `IMINI_TEST_REDIS_URL` names another.
const DEFAULT_URL: &str = "redis://127.0.0.1:6379";

/// Why a test could not start, in one line.
const NEEDED: &str = "Redis is needed on 127.0.0.1:6379 for the tests (Debian package: \
                      redis-server), or set IMINI_TEST_REDIS_URL";

fn test_url() -> String {
    std::env::var("IMINI_TEST_REDIS_URL").unwrap_or_else(|_| DEFAULT_URL.to_string())
}

/// A synchronous connection to `url`, or a panic saying what is needed.
fn connect(url: &str) -> ::redis::Connection {
    let connected = ::redis::Client::open(url)
        .and_then(|c| c.get_connection_with_timeout(Duration::from_secs(2)));
    match connected {
        Ok(connection) => connection,
        Err(e) => panic!("{NEEDED} [{e}]"),
    }
}

/// A key prefix made for one test; its keys are deleted with it.
pub(crate) struct TestPrefix {
    url: String,
    prefix: String,
}

impl TestPrefix {
    pub(crate) fn new() -> Self {
        let url = test_url();
        let _: String = ::redis::cmd("PING")
            .query(&mut connect(&url))
            .unwrap_or_else(|e| panic!("{NEEDED} [{e}]"));
        let prefix = format!("imini_t_{}:", crate::ids::hex(&rand::random::<[u8; 8]>()));
        Self { url, prefix }
    }

    pub(crate) fn limiter(&self) -> RedisLimiter {
        RedisLimiter::new(&self.url, &self.prefix).unwrap()
    }
}

impl Drop for TestPrefix {
    fn drop(&mut self) {
        let mut connection = connect(&self.url);
        let keys: Vec<String> = connection
            .scan_match::<_, String>(format!("{}*", self.prefix))
            .map(|keys| keys.filter_map(Result::ok).collect())
            .unwrap_or_default();
        if !keys.is_empty() {
            let _: Result<i64, _> = connection.del(&keys);
        }
    }
}

async fn fresh() -> (TestPrefix, Arc<Limiter>) {
    let prefix = TestPrefix::new();
    let limiter = Arc::new(Limiter::Redis(prefix.limiter()));
    (prefix, limiter)
}

crate::ratelimit::conformance::suite!(fresh);

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn replicas_share_one_budget() {
    let prefix = TestPrefix::new();
    let (a, b) = (prefix.limiter(), prefix.limiter());
    let mut remaining = Vec::new();
    for i in 0..20 {
        let replica = if i % 2 == 0 { &a } else { &b };
        let d = replica.check("key_shared", 10).await.unwrap();
        if d.allowed {
            remaining.push(d.remaining);
        }
    }
    assert_eq!(remaining, (0..10).rev().collect::<Vec<u32>>(), "10, not 20");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_is_kept_in_server_time_and_expires_when_its_bucket_is_full() {
    let prefix = TestPrefix::new();
    let limiter = prefix.limiter();
    let mut connection = connect(&prefix.url);
    let key = format!("{}ratelimit:key_t", prefix.prefix);
    assert!(limiter.check("key_t", 60).await.unwrap().allowed);
    let (secs, micros): (u64, u64) = ::redis::cmd("TIME").query(&mut connection).unwrap();
    let server_now = secs * 1_000_000 + micros;
    let tat: u64 = connection.get(&key).unwrap();
    assert!(
        tat > server_now && tat <= server_now + 1_000_000,
        "one interval ahead of the server's clock: {tat} vs {server_now}"
    );
    let ttl: i64 = connection.pttl(&key).unwrap();
    assert!((1..=1_000).contains(&ttl), "{ttl} ms");
    for _ in 0..9 {
        assert!(limiter.check("key_t", 60).await.unwrap().allowed);
    }
    let ttl: i64 = connection.pttl(&key).unwrap();
    assert!((9_000..=10_000).contains(&ttl), "{ttl} ms");
    // At 6000 a minute the bucket is full again after 10 ms: the key goes.
    let fast = format!("{}ratelimit:key_f", prefix.prefix);
    assert!(limiter.check("key_f", 6_000).await.unwrap().allowed);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let exists: bool = connection.exists(&fast).unwrap();
    assert!(!exists, "an idle key vanishes");
}

#[test]
fn replies_of_another_shape_are_not_decisions() {
    assert!(decision(&[1, 1_000_000], 60, 1_000_000).is_some());
    assert_eq!(
        decision(&[1, 1_000_000], 60, 1_000_000).unwrap().remaining,
        59
    );
    assert!(decision(&[2, 5], 60, 1_000_000).is_none());
    assert!(decision(&[1, -5], 60, 1_000_000).is_none());
    assert!(decision(&[0, 5], 60, 1_000_000).is_none());
}

/// A `redis-server` of a test's own, on `port`, keeping nothing on disk;
/// killed with its guard.
struct Throwaway {
    port: u16,
    child: Option<Child>,
}

impl Throwaway {
    fn start(port: u16) -> Self {
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("redis-server is needed for the tests (Debian package: redis-server) [{e}]")
            });
        let server = Self {
            port,
            child: Some(child),
        };
        let url = server.url();
        let deadline = Instant::now() + Duration::from_secs(10);
        while ::redis::Client::open(url.as_str())
            .and_then(|c| c.get_connection_with_timeout(Duration::from_millis(200)))
            .is_err()
        {
            assert!(Instant::now() < deadline, "redis-server did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        server
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Throwaway {
    fn drop(&mut self) {
        self.kill();
    }
}

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// Checks until one is answered (10 s at most), failing otherwise.
async fn until_answered(limiter: &RedisLimiter) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match limiter.check("key_o", 600).await {
            Ok(d) => {
                assert!(d.allowed, "{d:?}");
                return;
            }
            Err(e) => assert!(Instant::now() < deadline, "still unavailable: {e}"),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A check that is refused, and how long it took.
async fn refused(limiter: &RedisLimiter) -> Duration {
    let started = Instant::now();
    let answer = limiter.check("key_o", 600).await;
    assert!(answer.is_err(), "{answer:?}");
    started.elapsed()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outage_fails_closed_quickly_and_ends_without_a_new_limiter() {
    let port = free_port();
    // Nothing listens yet: unavailable, within the timeout.
    let limiter = RedisLimiter::new(&format!("redis://127.0.0.1:{port}"), "imini_t:").unwrap();
    limiter.ping_at_start().await;
    for _ in 0..3 {
        let took = refused(&limiter).await;
        assert!(took <= TIMEOUT + Duration::from_millis(300), "{took:?}");
    }
    let mut server = Throwaway::start(port);
    until_answered(&limiter).await;
    // The server dies: refused, quickly; it comes back: answered again.
    server.kill();
    for _ in 0..3 {
        let took = refused(&limiter).await;
        assert!(took <= TIMEOUT + Duration::from_millis(300), "{took:?}");
    }
    let _server = Throwaway::start(port);
    until_answered(&limiter).await;
}

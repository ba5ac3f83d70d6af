//! The limiter in Redis, shared by every gateway that names the same server
//! and prefix: the GCRA step of [`super::local`], done in one Lua script so
//! that it is atomic however many replicas ask at once, on the server's
//! clock (`TIME`) so that replicas whose clocks differ still agree. Each
//! key's theoretical arrival time is one string, `<prefix>ratelimit:<key
//! id>`, in microseconds, set to expire when its bucket is full again, so
//! idle keys vanish by themselves.
//!
//! It fails closed: a check that Redis does not answer within [`TIMEOUT`]
//! (connecting included) is [`Unavailable`], and the request is refused.
//! The connection manager of the `redis` crate reconnects by itself, so the
//! limiter recovers without a restart. An outage is logged at warn when it
//! starts (and again each minute it lasts), and at info when it ends, not
//! once per refused request.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use ::redis::aio::{ConnectionManager, ConnectionManagerConfig};
use ::redis::{Client, Script};

use super::{Decision, Unavailable, WINDOW};

/// The most one check may take, waiting for a connection included; past
/// it the request is refused, so a dead Redis never holds requests.
pub const TIMEOUT: Duration = Duration::from_millis(500);

/// How often a lasting outage is logged again at warn.
const WARN_EVERY: Duration = Duration::from_secs(60);

/// The window in microseconds, the script's unit.
const WINDOW_US: u64 = WINDOW.as_micros() as u64;

/// One GCRA step. KEYS[1]: the key's theoretical arrival time (TAT), in
/// microseconds of server time. ARGV[1]: the interval between requests,
/// ARGV[2]: the window, both in microseconds. Answers `{1, ahead}` when the
/// request may go ahead (`ahead`: how long until the bucket is full again),
/// or `{0, backlog, wait}` when it may not. The TAT is written as an integer
/// (`%.0f`: Lua's default formatting would round it to 14 digits) and
/// expires when the bucket is full again.
const GCRA: &str = r#"
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000000 + tonumber(time[2])
local interval = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or 0) or 0
if tat < now then
  tat = now
end
local ahead = tat + interval - now
if ahead > window then
  return {0, tat - now, ahead - window}
end
redis.call('SET', KEYS[1], string.format('%.0f', tat + interval), 'PX', math.ceil(ahead / 1000))
return {1, ahead}
"#;

/// The limiter's connection, script and outage bookkeeping.
pub struct RedisLimiter {
    /// Reconnects by itself; clones share one multiplexed connection.
    connection: ConnectionManager,
    /// [`GCRA`], run with EVALSHA (loaded when the server lacks it).
    script: Script,
    /// What every key starts with.
    prefix: String,
    /// `host:port`, for the logs (never the password).
    server: String,
    /// Whether an outage is under way (read on every check, cheaply).
    down: AtomicBool,
    /// The outage under way, if any.
    outage: Mutex<Outage>,
}

/// An outage, for its log lines.
#[derive(Default)]
struct Outage {
    /// When it began.
    since: Option<Instant>,
    /// When it was last logged at warn.
    warned: Option<Instant>,
    /// Requests refused during it.
    refused: u64,
}

impl RedisLimiter {
    /// A limiter on the server at `url` (connected on first use, within a
    /// Tokio runtime), its keys starting with `prefix`. Only a URL that
    /// does not parse is an error.
    pub fn new(url: &str, prefix: &str) -> Result<Self, String> {
        let client =
            Client::open(url).map_err(|e| format!("limits.redis_url or IMINI_REDIS_URL: {e}"))?;
        let server = client.get_connection_info().addr().to_string();
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(TIMEOUT))
            .set_response_timeout(Some(TIMEOUT))
            .set_min_delay(Duration::from_millis(50))
            .set_max_delay(Duration::from_millis(500))
            .set_number_of_retries(4);
        let connection = ConnectionManager::new_lazy_with_config(client, config)
            .map_err(|e| format!("limits.redis_url or IMINI_REDIS_URL: {e}"))?;
        Ok(Self {
            connection,
            script: Script::new(GCRA),
            prefix: prefix.to_string(),
            server,
            down: AtomicBool::new(false),
            outage: Mutex::new(Outage::default()),
        })
    }

    /// The Redis key of API key `key`.
    fn key(&self, key: &str) -> String {
        format!("{}ratelimit:{key}", self.prefix)
    }

    /// Checks (and on success counts) one request of `key` at `per_minute`
    /// (0 counts as 1), allowing bursts of up to a minute's worth.
    pub async fn check(&self, key: &str, per_minute: u32) -> Result<Decision, Unavailable> {
        let per_minute = per_minute.max(1);
        let interval = (WINDOW_US / u64::from(per_minute)).max(1);
        let mut connection = self.connection.clone();
        let mut invocation = self.script.prepare_invoke();
        invocation.key(self.key(key)).arg(interval).arg(WINDOW_US);
        let answer = tokio::time::timeout(
            TIMEOUT,
            invocation.invoke_async::<Vec<i64>>(&mut connection),
        )
        .await;
        let decided = match answer {
            Ok(Ok(reply)) => decision(&reply, per_minute, interval)
                .ok_or_else(|| format!("the script answered {reply:?}")),
            Ok(Err(e)) => Err(e.to_string()),
            Err(_) => Err(format!("no answer within {} ms", TIMEOUT.as_millis())),
        };
        match decided {
            Ok(decision) => {
                self.answered();
                Ok(decision)
            }
            Err(error) => {
                self.failed(&error);
                Err(Unavailable(error))
            }
        }
    }

    /// Connects at start, within [`TIMEOUT`], to say in the log whether the
    /// server answers; a server that does not is logged as an outage (the
    /// gateway still starts).
    pub async fn ping_at_start(&self) {
        let mut connection = self.connection.clone();
        let ping = ::redis::cmd("PING");
        match tokio::time::timeout(TIMEOUT, ping.query_async::<String>(&mut connection)).await {
            Ok(Ok(_)) => tracing::info!(
                server = %self.server,
                prefix = %self.prefix,
                "request rates are counted in Redis, shared by the gateways that use it"
            ),
            Ok(Err(e)) => self.failed(&e.to_string()),
            Err(_) => self.failed(&format!("no answer within {} ms", TIMEOUT.as_millis())),
        }
    }

    /// What it is, for the logs.
    pub fn description(&self) -> String {
        format!("in Redis at {} (keys {}*)", self.server, self.prefix)
    }

    /// Ends the outage under way, if any, logging it.
    fn answered(&self) {
        if !self.down.load(Ordering::Relaxed) {
            return;
        }
        let mut outage = self.outage.lock().expect("lock");
        if let Some(since) = outage.since.take() {
            self.down.store(false, Ordering::Relaxed);
            tracing::info!(
                server = %self.server,
                down_secs = since.elapsed().as_secs(),
                refused = outage.refused,
                "Redis answers again: request rates are checked again"
            );
            *outage = Outage::default();
        }
    }

    /// Counts a failed check, logging at warn when an outage starts and
    /// once a minute while it lasts.
    fn failed(&self, error: &str) {
        let now = Instant::now();
        let mut outage = self.outage.lock().expect("lock");
        outage.refused += 1;
        match (outage.since, outage.warned) {
            (None, _) => {
                outage.since = Some(now);
                outage.warned = Some(now);
                self.down.store(true, Ordering::Relaxed);
                tracing::warn!(
                    server = %self.server,
                    error,
                    "Redis does not answer: account requests get 503 RATE_LIMITER_UNAVAILABLE until it does (rate limits fail closed)"
                );
            }
            (Some(since), Some(warned)) if now - warned >= WARN_EVERY => {
                outage.warned = Some(now);
                tracing::warn!(
                    server = %self.server,
                    error,
                    down_secs = (now - since).as_secs(),
                    refused = outage.refused,
                    "Redis still does not answer: account requests get 503"
                );
            }
            _ => tracing::debug!(error, "rate limits cannot be checked"),
        }
    }
}

/// The decision the script's `reply` stands for, at `limit` requests a
/// minute, `interval` microseconds apart.
fn decision(reply: &[i64], limit: u32, interval: u64) -> Option<Decision> {
    let micros = |v: i64| u64::try_from(v).ok();
    match *reply {
        [1, ahead] => {
            let ahead = micros(ahead)?;
            Some(Decision {
                allowed: true,
                limit,
                remaining: (WINDOW_US.saturating_sub(ahead) / interval) as u32,
                reset: Duration::from_micros(ahead),
                retry_after: Duration::ZERO,
            })
        }
        [0, backlog, wait] => Some(Decision {
            allowed: false,
            limit,
            remaining: 0,
            reset: Duration::from_micros(micros(backlog)?),
            retry_after: Duration::from_micros(micros(wait)?),
        }),
        _ => None,
    }
}

#[cfg(test)]
pub(crate) mod tests;

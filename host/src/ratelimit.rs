//! Request rate limits per API key: GCRA (the generic cell rate algorithm,
//! a token bucket kept as one timestamp per key), with the numbers for the
//! `x-ratelimit-*` headers.
//!
//! Two limiters behind one [`Limiter`]: the in-process one ([`local`], the
//! default), and one in Redis ([`redis`]) that gateway replicas share, used
//! when `[limits] redis_url` or `IMINI_REDIS_URL` is set. Both count the
//! same way: a key at N requests a minute may burst a minute's worth, then
//! gets one request every 60/N seconds. The Redis one fails closed: when
//! Redis cannot answer, [`Limiter::check`] says [`Unavailable`] and the
//! request is refused (rate limits protect what upstream providers are paid).

use std::time::{Duration, Instant};

use crate::config::LimitsConfig;

pub mod local;
pub mod redis;

#[cfg(test)]
pub(crate) mod conformance;

pub use self::local::LocalLimiter;
pub use self::redis::RedisLimiter;

/// The window a rate is expressed over.
pub const WINDOW: Duration = Duration::from_secs(60);

/// The environment variable that overrides `[limits] redis_url`.
pub const REDIS_URL_VARIABLE: &str = "IMINI_REDIS_URL";

/// The prefix of the limiter's Redis keys unless `[limits] redis_prefix`
/// says.
pub const DEFAULT_REDIS_PREFIX: &str = "imini:";

/// The outcome of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    /// Whether the request may go ahead.
    pub allowed: bool,
    /// Requests per minute.
    pub limit: u32,
    /// Requests left right now.
    pub remaining: u32,
    /// Time until the bucket is full again.
    pub reset: Duration,
    /// When refused: how long to wait.
    pub retry_after: Duration,
}

impl Decision {
    /// How long to wait, in whole seconds as people and `Retry-After` are
    /// told it (at least 1).
    pub fn retry_after_secs(&self) -> u64 {
        self.retry_after.as_secs_f64().ceil().max(1.0) as u64
    }
}

/// The limiter could not decide (Redis unreachable, too slow or failing):
/// the request is refused, not let through.
#[derive(Debug, Clone, thiserror::Error)]
#[error("rate limits cannot be checked: {0}")]
pub struct Unavailable(pub String);

/// Where the counts are kept, once the configuration and the environment
/// are read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolved {
    /// In this process.
    Local,
    /// In Redis, shared by every gateway with the same URL and prefix.
    Redis {
        /// `redis://[user:password@]host:port[/db]`.
        url: String,
        /// What every key starts with.
        prefix: String,
    },
}

/// Whether `url` names a Redis server this build can reach (no TLS).
fn is_redis_url(url: &str) -> bool {
    ["redis://", "redis+unix://", "unix://"]
        .iter()
        .any(|scheme| url.starts_with(scheme))
}

impl LimitsConfig {
    /// Checks the Redis settings of the file alone.
    pub fn validate_redis(&self) -> Result<(), String> {
        if let Some(url) = &self.redis_url
            && !is_redis_url(url)
        {
            return Err(
                "limits.redis_url must be a redis:// URL (TLS, rediss://, is not supported)".into(),
            );
        }
        if let Some(prefix) = &self.redis_prefix
            && (prefix.is_empty()
                || prefix.len() > 64
                || prefix.chars().any(|c| c.is_whitespace() || c.is_control()))
        {
            return Err(
                "limits.redis_prefix must be 1 to 64 characters without spaces or control characters"
                    .into(),
            );
        }
        Ok(())
    }

    /// Where the counts are kept, given the value of `IMINI_REDIS_URL`
    /// (`env_url`, which overrides `redis_url`; empty means unset).
    pub fn resolve_limiter(&self, env_url: Option<&str>) -> Result<Resolved, String> {
        self.validate_redis()?;
        let env_url = env_url.map(str::trim).filter(|u| !u.is_empty());
        if let Some(url) = env_url
            && !is_redis_url(url)
        {
            return Err(format!(
                "{REDIS_URL_VARIABLE} must be a redis:// URL (TLS, rediss://, is not supported)"
            ));
        }
        Ok(match env_url.or(self.redis_url.as_deref()) {
            None => Resolved::Local,
            Some(url) => Resolved::Redis {
                url: url.to_string(),
                prefix: self
                    .redis_prefix
                    .clone()
                    .unwrap_or_else(|| DEFAULT_REDIS_PREFIX.to_string()),
            },
        })
    }
}

/// The limiter the `rate_limit` middleware asks.
pub enum Limiter {
    /// In this process (the default).
    Local(LocalLimiter),
    /// In Redis, shared by replicas.
    Redis(RedisLimiter),
}

impl Default for Limiter {
    fn default() -> Self {
        Self::Local(LocalLimiter::default())
    }
}

impl Limiter {
    /// The limiter `resolved` names. A Redis URL that does not parse is an
    /// error; a Redis server that does not answer is not: the gateway
    /// starts, logs a warning, and refuses account requests with 503 until
    /// the server is back.
    pub async fn open(resolved: &Resolved) -> Result<Self, String> {
        match resolved {
            Resolved::Local => Ok(Self::default()),
            Resolved::Redis { url, prefix } => {
                let limiter = RedisLimiter::new(url, prefix)?;
                limiter.ping_at_start().await;
                Ok(Self::Redis(limiter))
            }
        }
    }

    /// Checks (and on success counts) one request of `key` at `per_minute`
    /// (0 counts as 1), allowing bursts of up to a minute's worth.
    pub async fn check(&self, key: &str, per_minute: u32) -> Result<Decision, Unavailable> {
        match self {
            Self::Local(limiter) => Ok(limiter.check(key, per_minute, Instant::now())),
            Self::Redis(limiter) => limiter.check(key, per_minute).await,
        }
    }

    /// What it is, for the logs.
    pub fn description(&self) -> String {
        match self {
            Self::Local(_) => "in this process".to_string(),
            Self::Redis(limiter) => limiter.description(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Resolved, is_redis_url};
    use crate::config::LimitsConfig;

    fn parse(toml: &str) -> LimitsConfig {
        toml::from_str(toml).unwrap()
    }

    #[test]
    fn local_is_the_default_and_the_environment_overrides_the_file() {
        assert_eq!(
            LimitsConfig::default().resolve_limiter(None),
            Ok(Resolved::Local)
        );
        assert_eq!(
            LimitsConfig::default().resolve_limiter(Some(" ")),
            Ok(Resolved::Local),
            "empty: unset"
        );
        let file = parse("redis_url = \"redis://file:6379\"");
        assert_eq!(
            file.resolve_limiter(None),
            Ok(Resolved::Redis {
                url: "redis://file:6379".into(),
                prefix: "imini:".into()
            })
        );
        let prefixed = parse("redis_url = \"redis://file:6379\"\nredis_prefix = \"eu:\"");
        assert_eq!(
            prefixed.resolve_limiter(Some("redis://env:6380/2")),
            Ok(Resolved::Redis {
                url: "redis://env:6380/2".into(),
                prefix: "eu:".into()
            })
        );
    }

    #[test]
    fn bad_urls_and_prefixes_are_refused() {
        assert!(is_redis_url("redis://:secret@db:6379/0"));
        assert!(!is_redis_url("rediss://db:6379"));
        let err = LimitsConfig::default()
            .resolve_limiter(Some("http://db"))
            .unwrap_err();
        assert!(err.contains("IMINI_REDIS_URL"), "{err}");
        let err = parse("redis_url = \"rediss://db\"")
            .validate_redis()
            .unwrap_err();
        assert!(err.contains("limits.redis_url"), "{err}");
        for prefix in ["", "a b", &"x".repeat(65)] {
            let c = LimitsConfig {
                redis_prefix: Some(prefix.to_string()),
                ..LimitsConfig::default()
            };
            assert!(c.validate_redis().is_err(), "{prefix:?}");
        }
        assert!(toml::from_str::<LimitsConfig>("redis = \"redis://db\"").is_err());
    }
}

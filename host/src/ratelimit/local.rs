//! The in-process limiter: one theoretical arrival time per key in a map,
//! on this process's monotonic clock. Exact for one gateway; replicas
//! each keep their own (see [`super::redis`] for a shared one). Each key
//! may have its own rate, which is why this is not `governor` (whose keyed
//! limiter has one quota for all keys).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::{Decision, WINDOW};

/// Per-key limiter state.
#[derive(Default)]
pub struct LocalLimiter {
    /// Theoretical arrival time per key.
    tat: Mutex<HashMap<String, Instant>>,
}

impl LocalLimiter {
    /// Checks (and on success counts) one request of `key` at `per_minute`,
    /// allowing bursts of up to a minute's worth.
    pub fn check(&self, key: &str, per_minute: u32, now: Instant) -> Decision {
        let per_minute = per_minute.max(1);
        let interval = WINDOW / per_minute;
        let mut tat = self.tat.lock().expect("lock");
        if tat.len() > 100_000 {
            // Forget keys whose buckets are full again.
            tat.retain(|_, t| *t > now);
        }
        let current = tat.get(key).copied().filter(|t| *t > now).unwrap_or(now);
        let next = current + interval;
        let ahead = next - now;
        if ahead > WINDOW {
            let backlog = current - now;
            return Decision {
                allowed: false,
                limit: per_minute,
                remaining: 0,
                reset: backlog,
                retry_after: ahead - WINDOW,
            };
        }
        tat.insert(key.to_string(), next);
        let remaining = ((WINDOW - ahead).as_nanos() / interval.as_nanos()) as u32;
        Decision {
            allowed: true,
            limit: per_minute,
            remaining,
            reset: ahead,
            retry_after: Duration::ZERO,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn fresh() -> ((), std::sync::Arc<super::super::Limiter>) {
        ((), std::sync::Arc::new(super::super::Limiter::default()))
    }

    crate::ratelimit::conformance::suite!(fresh);

    #[test]
    fn a_minutes_worth_bursts_then_one_per_interval() {
        let rl = LocalLimiter::default();
        let t0 = Instant::now();
        for i in 0..60 {
            let d = rl.check("k", 60, t0);
            assert!(d.allowed, "request {i}");
            assert_eq!(d.remaining, 59 - i);
        }
        let refused = rl.check("k", 60, t0);
        assert!(!refused.allowed);
        assert_eq!(refused.retry_after, Duration::from_secs(1));
        assert!(rl.check("other", 60, t0).allowed, "keys are independent");
        assert!(
            rl.check("k", 60, t0 + Duration::from_secs(1)).allowed,
            "one more after one interval"
        );
        assert!(!rl.check("k", 60, t0 + Duration::from_secs(1)).allowed);
    }
}

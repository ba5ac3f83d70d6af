//! The behaviour every [`Limiter`] must have, as tests an implementation
//! runs with `suite!(fresh)`, where `fresh().await` returns a guard
//! (dropped after the test) and a limiter that has counted nothing yet.
//!
//! The limiters run on real clocks (the Redis one on the server's), so the
//! tests use rates whose interval is long next to the time a burst takes:
//! at 60 a minute, a burst of 60 checks must take less than a second.

use std::sync::Arc;
use std::time::Duration;

use super::Limiter;

/// The tests, for an implementation's `fresh` constructor.
macro_rules! suite {
    ($fresh:path) => {
        $crate::ratelimit::conformance::suite!(@tests $fresh;
            a_minutes_worth_bursts_then_one_request_per_interval,
            refused_requests_are_not_counted,
            keys_have_their_own_budgets_and_rates,
            a_rate_of_zero_counts_as_one,
            concurrent_checks_never_pass_the_rate,
        );
    };
    (@tests $fresh:path; $($name:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $name() {
                let (_guard, limiter) = $fresh().await;
                $crate::ratelimit::conformance::$name(limiter).await;
            }
        )*
    };
}
pub(crate) use suite;

const SECOND: Duration = Duration::from_secs(1);

pub(crate) async fn a_minutes_worth_bursts_then_one_request_per_interval(limiter: Arc<Limiter>) {
    for i in 0..60u32 {
        let d = limiter.check("key_a", 60).await.unwrap();
        assert!(d.allowed, "request {i}: {d:?}");
        assert_eq!((d.limit, d.remaining), (60, 59 - i), "request {i}");
        // Full again i + 1 seconds after the burst began, less the time
        // the burst has taken.
        assert!(
            d.reset <= SECOND * (i + 1) && d.reset > SECOND * i,
            "request {i}: {d:?}"
        );
        assert_eq!(d.retry_after, Duration::ZERO);
    }
    let refused = limiter.check("key_a", 60).await.unwrap();
    assert!(!refused.allowed, "{refused:?}");
    assert_eq!((refused.limit, refused.remaining), (60, 0));
    assert!(
        refused.retry_after > Duration::ZERO && refused.retry_after <= SECOND,
        "one interval at most: {refused:?}"
    );
    assert!(
        refused.reset > SECOND * 59 && refused.reset <= SECOND * 60,
        "{refused:?}"
    );
    // One interval later, exactly one more.
    tokio::time::sleep(SECOND + Duration::from_millis(50)).await;
    let next = limiter.check("key_a", 60).await.unwrap();
    assert!(next.allowed, "{next:?}");
    assert_eq!(next.remaining, 0);
    assert!(!limiter.check("key_a", 60).await.unwrap().allowed);
}

pub(crate) async fn refused_requests_are_not_counted(limiter: Arc<Limiter>) {
    for _ in 0..2 {
        assert!(limiter.check("key_r", 2).await.unwrap().allowed);
    }
    let first = limiter.check("key_r", 2).await.unwrap();
    assert!(!first.allowed);
    // Refusals do not push the next allowed request further away.
    let mut last = first;
    for _ in 0..20 {
        last = limiter.check("key_r", 2).await.unwrap();
        assert!(!last.allowed);
    }
    assert!(last.retry_after <= first.retry_after, "{first:?} {last:?}");
    assert!(
        first.retry_after > SECOND * 29 && first.retry_after <= SECOND * 30,
        "{first:?}"
    );
}

pub(crate) async fn keys_have_their_own_budgets_and_rates(limiter: Arc<Limiter>) {
    for i in 0..3 {
        let d = limiter.check("key_a", 3).await.unwrap();
        assert!(d.allowed && d.limit == 3 && d.remaining == 2 - i, "{d:?}");
    }
    assert!(!limiter.check("key_a", 3).await.unwrap().allowed);
    let b = limiter.check("key_b", 5).await.unwrap();
    assert!(b.allowed, "another key is not held back: {b:?}");
    assert_eq!((b.limit, b.remaining), (5, 4));
    assert!(!limiter.check("key_a", 3).await.unwrap().allowed);
}

pub(crate) async fn a_rate_of_zero_counts_as_one(limiter: Arc<Limiter>) {
    let d = limiter.check("key_z", 0).await.unwrap();
    assert!(d.allowed, "{d:?}");
    assert_eq!((d.limit, d.remaining), (1, 0));
    let refused = limiter.check("key_z", 0).await.unwrap();
    assert!(!refused.allowed, "{refused:?}");
    assert!(
        refused.retry_after > SECOND * 59 && refused.retry_after <= SECOND * 60,
        "{refused:?}"
    );
}

pub(crate) async fn concurrent_checks_never_pass_the_rate(limiter: Arc<Limiter>) {
    let checks: Vec<_> = (0..50)
        .map(|_| {
            let limiter = limiter.clone();
            tokio::spawn(async move { limiter.check("key_c", 20).await.unwrap() })
        })
        .collect();
    let mut remaining = Vec::new();
    for check in checks {
        let d = check.await.unwrap();
        if d.allowed {
            remaining.push(d.remaining);
        }
    }
    remaining.sort_unstable();
    // Exactly 20 allowed, each one counted once: every remaining count
    // from 19 down to 0 was answered exactly once.
    assert_eq!(remaining, (0..20).collect::<Vec<u32>>());
}

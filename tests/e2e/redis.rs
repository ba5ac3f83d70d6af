//! Rate limits in Redis (`[limits] redis_url`, `IMINI_REDIS_URL`): gateways
//! sharing one Redis share each key's rate, and an outage answers 503
//! `RATE_LIMITER_UNAVAILABLE` at once (fail closed) and ends without a
//! restart. The shared-rate test uses the machine's Redis (see
//! `imini_tests::redis`) under a key prefix of its own; the outage tests
//! start, kill and start again a `redis-server` of their own.

use std::time::{Duration, Instant};

use imini_tests::pg::Database;
use imini_tests::redis::{Prefix, Server, free_port};
use imini_tests::{Answer, Gateway, assert_error};
use serde_json::json;

fn remaining(answer: &Answer) -> u32 {
    answer.headers["x-ratelimit-remaining-requests"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap()
}

#[test]
fn two_gateways_on_one_redis_allow_a_keys_rate_once_between_them() {
    let db = std::sync::Arc::new(Database::create());
    let redis = Prefix::new();
    // a names Redis in its file, b in IMINI_REDIS_URL; both on one database,
    // so that the key exists on both.
    let a = Gateway::start_on_database(
        &format!(
            "[limits]\nredis_url = \"{}\"\nredis_prefix = \"{}\"\n",
            redis.url, redis.prefix
        ),
        db.clone(),
        &[],
    );
    let b = Gateway::start_on_database(
        &format!("[limits]\nredis_prefix = \"{}\"\n", redis.prefix),
        db,
        &[("IMINI_REDIS_URL", &redis.url)],
    );
    for gw in [&a, &b] {
        assert!(
            gw.logs().contains("request rates are counted in Redis"),
            "{}",
            gw.logs()
        );
    }
    let acct = a.account("shared-rate@example.com", 0);
    let created = a.post(
        &format!("/admin/v1/accounts/{}/keys", acct.id),
        &json!({"name": "ten", "requests_per_minute": 10}),
    );
    let key = created.json()["secret"].as_str().unwrap().to_string();

    let mut allowed = Vec::new();
    let mut refused = 0;
    for i in 0..20 {
        let gw = if i % 2 == 0 { &a } else { &b };
        let answer = gw.request_with("GET", "/v1/account", Some(&key), None);
        match answer.status {
            200 => {
                assert_eq!(answer.headers["x-ratelimit-limit-requests"], "10");
                allowed.push(remaining(&answer));
            }
            _ => {
                assert_error(&answer, 429, "RATE_LIMITED");
                refused += 1;
            }
        }
    }
    // One budget of 10 between the two, counted down across both.
    assert_eq!(allowed, (0..10).rev().collect::<Vec<u32>>());
    assert_eq!(refused, 10);
    // The admin key is not limited.
    for gw in [&a, &b] {
        assert_eq!(
            gw.get(&format!("/admin/v1/accounts/{}", acct.id)).status,
            200
        );
    }
}

/// Asserts that an account request is refused with 503
/// `RATE_LIMITER_UNAVAILABLE` and `Retry-After: 1`, within 2 s.
fn assert_unavailable(gw: &Gateway, key: &str) {
    let started = Instant::now();
    let answer = gw.request_with("GET", "/v1/account", Some(key), None);
    let took = started.elapsed();
    let e = assert_error(&answer, 503, "RATE_LIMITER_UNAVAILABLE");
    assert_eq!(e["type"], "api_error");
    assert_eq!(answer.headers["retry-after"], "1");
    assert!(took < Duration::from_secs(2), "answered after {took:?}");
}

/// Waits (10 s at most) until an account request is answered 200.
fn until_served(gw: &Gateway, key: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let answer = gw.request_with("GET", "/v1/account", Some(key), None);
        if answer.status == 200 {
            assert!(answer.headers.contains_key("x-ratelimit-limit-requests"));
            return;
        }
        assert_error(&answer, 503, "RATE_LIMITER_UNAVAILABLE");
        assert!(Instant::now() < deadline, "still 503 after 10 s");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn a_redis_outage_answers_503_at_once_and_ends_without_a_restart() {
    let port = free_port();
    let mut redis = Server::start(port);
    let gw = Gateway::start_with_config(&format!("[limits]\nredis_url = \"{}\"\n", redis.url()));
    let acct = gw.account("outage@example.com", 0);
    let ok = gw.request_with("GET", "/v1/account", Some(&acct.key), None);
    assert_eq!(ok.status, 200);
    assert_eq!(remaining(&ok), 599);

    redis.kill();
    for _ in 0..5 {
        assert_unavailable(&gw, &acct.key);
    }
    // The admin key is not rate limited: it is served through the outage.
    assert_eq!(
        gw.get(&format!("/admin/v1/accounts/{}", acct.id)).status,
        200
    );

    let _redis = Server::start(port);
    until_served(&gw, &acct.key);
    let logs = gw.logs();
    assert_eq!(
        logs.matches("Redis does not answer").count(),
        1,
        "one warning for the outage, not one per request: {logs}"
    );
    assert!(logs.contains("Redis answers again"), "{logs}");
    assert!(
        !logs.contains("request failed"),
        "refusals are not logged one by one: {logs}"
    );
}

#[test]
fn a_gateway_starts_while_redis_is_down_and_serves_once_it_is_up() {
    let port = free_port();
    let gw = Gateway::start_with_config(&format!(
        "[limits]\nredis_url = \"redis://127.0.0.1:{port}\"\n"
    ));
    assert!(gw.logs().contains("Redis does not answer"), "{}", gw.logs());
    let acct = gw.account("down-at-start@example.com", 0);
    assert_unavailable(&gw, &acct.key);
    let _redis = Server::start(port);
    until_served(&gw, &acct.key);
}

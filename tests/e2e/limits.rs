//! Fair use: requests per minute per key, unfinished tasks per account.

use imini_tests::{Gateway, assert_error, guests};
use serde_json::json;

#[test]
fn a_key_past_its_rate_gets_429_with_retry_after() {
    let gw = Gateway::start();
    let acct = gw.account("rate@example.com", 0);
    let slow = gw.post(
        &format!("/admin/v1/accounts/{}/keys", acct.id),
        &json!({"name": "slow", "requests_per_minute": 5}),
    );
    let slow_key = slow.json()["secret"].as_str().unwrap().to_string();
    let mut remaining = Vec::new();
    for _ in 0..5 {
        let ok = gw.request_with("GET", "/v1/account", Some(&slow_key), None);
        assert_eq!(ok.status, 200);
        assert_eq!(ok.headers["x-ratelimit-limit-requests"], "5");
        assert!(ok.headers.contains_key("x-ratelimit-reset-requests"));
        remaining.push(
            ok.headers["x-ratelimit-remaining-requests"]
                .to_str()
                .unwrap()
                .parse::<u32>()
                .unwrap(),
        );
    }
    assert_eq!(remaining, [4, 3, 2, 1, 0]);
    let refused = gw.request_with("GET", "/v1/account", Some(&slow_key), None);
    let e = assert_error(&refused, 429, "RATE_LIMITED");
    assert_eq!(e["type"], "rate_limit_error");
    let wait: u64 = refused.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=12).contains(&wait), "retry after {wait}s");
    // Another key of the same account has its own budget (the default).
    assert_eq!(
        gw.request_with("GET", "/v1/account", Some(&acct.key), None)
            .status,
        200
    );
}

#[test]
fn an_account_runs_at_most_its_cap_of_tasks_at_once() {
    let config = format!(
        "[[plugins]]\nwasm = {:?}\nmanifest = {:?}\n[credentials.sandbox-test]\nvalue = \"t\"\n[plugin_settings.sandbox]\ncall_timeout_ms = 1500\n[prices.\"test/loop\"]\nper_image = 1\n",
        guests::SANDBOX_GUEST_WASM,
        guests::SANDBOX_GUEST_MANIFEST
    );
    let gw = Gateway::start_with_config(&config);
    let acct = gw.account("cap@example.com", 100);
    let limits = gw.post(
        &format!("/admin/v1/accounts/{}/limits", acct.id),
        &json!({"max_concurrent_tasks": 1}),
    );
    assert_eq!(limits.json()["rate_limits"]["max_concurrent_tasks"], 1);
    let body = json!({"model": "test/loop", "prompt": "spin", "size": "64x64"});
    let first = gw.request_with("POST", "/v1/images/generate", Some(&acct.key), Some(&body));
    assert_eq!(first.status, 202);
    let second = gw.request_with("POST", "/v1/images/generate", Some(&acct.key), Some(&body));
    let e = assert_error(&second, 429, "RATE_LIMITED");
    assert!(e["message"].as_str().unwrap().contains("1 tasks at once"));
    assert_eq!(second.headers["retry-after"], "1");
    // Refused: nothing held for it.
    let view = gw.account_view(&acct.id);
    assert_eq!(view["credits_held"], 1);
    // When the first ends (its deadline), a new one is accepted.
    let task_id = first.json()["task_id"].as_str().unwrap().to_string();
    for _ in 0..100 {
        let t = gw
            .request_with(
                "GET",
                &format!("/v1/tasks/{task_id}"),
                Some(&acct.key),
                None,
            )
            .json();
        if t["status"] == "failed" {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let third = gw.request_with(
        "POST",
        "/v1/images/generate",
        Some(&acct.key),
        Some(&json!({"model": "test/loop", "prompt": "again", "size": "64x64"})),
    );
    assert_eq!(
        third.status,
        202,
        "{}",
        String::from_utf8_lossy(&third.body)
    );
}

#[test]
fn a_key_with_a_credit_limit_stops_at_it() {
    let gw = Gateway::start();
    let acct = gw.account("keylimit@example.com", 1000);
    let limited = gw.post(
        &format!("/admin/v1/accounts/{}/keys", acct.id),
        &json!({"name": "intern", "credit_limit": 25}),
    );
    assert_eq!(limited.json()["credit_limit"], 25);
    let key = limited.json()["secret"].as_str().unwrap().to_string();
    let body = json!({"model": "imini/canvas-image", "prompt": "x", "size": "64x64"});
    let send = |k: &str| gw.request_with("POST", "/v1/images/generations", Some(k), Some(&body));
    assert_eq!(send(&key).status, 200);
    assert_eq!(send(&key).status, 200);
    let e = assert_error(&send(&key), 402, "INSUFFICIENT_CREDITS");
    assert!(e["message"].as_str().unwrap().contains("at most 25"), "{e}");
    assert_eq!(
        send(&acct.key).status,
        200,
        "the account's other key is not limited"
    );
    assert_eq!(gw.account_view(&acct.id)["credit_balance"], 970);
}

#[test]
fn an_accounts_cap_on_tasks_holds_across_replicas() {
    // Two replicas on one PostgreSQL database: the cap is counted in the
    // hold's transaction, so it is one cap, not one per replica.
    let config = format!(
        "[[plugins]]\nwasm = {:?}\nmanifest = {:?}\n[credentials.sandbox-test]\nvalue = \"t\"\n[plugin_settings.sandbox]\ncall_timeout_ms = 1500\n[prices.\"test/loop\"]\nper_image = 1\n",
        guests::SANDBOX_GUEST_WASM,
        guests::SANDBOX_GUEST_MANIFEST
    );
    let db = std::sync::Arc::new(imini_tests::pg::Database::create());
    let a = Gateway::start_on_database(&config, db.clone(), &[]);
    let b = Gateway::start_on_database(&config, db, &[]);
    let acct = a.account("cap-replicas@example.com", 100);
    let limits = b.post(
        &format!("/admin/v1/accounts/{}/limits", acct.id),
        &json!({"max_concurrent_tasks": 2}),
    );
    assert_eq!(limits.status, 200);
    let body = json!({"model": "test/loop", "prompt": "spin", "size": "64x64"});
    let submit =
        |gw: &Gateway| gw.request_with("POST", "/v1/images/generate", Some(&acct.key), Some(&body));
    assert_eq!(submit(&a).status, 202);
    assert_eq!(submit(&b).status, 202);
    // Two run (one on each replica): a third is refused by either.
    for gw in [&a, &b] {
        let e = assert_error(&submit(gw), 429, "RATE_LIMITED");
        assert!(
            e["message"].as_str().unwrap().contains("2 tasks at once"),
            "{e}"
        );
    }
    assert_eq!(
        a.account_view(&acct.id)["credits_held"],
        2,
        "nothing held for the refused"
    );
}

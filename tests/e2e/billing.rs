//! Accounts, keys and exact billing: holds, captures, releases, 402, races,
//! crashes and tenant isolation.

use std::time::Duration;

use imini_tests::{Gateway, TestAccount, assert_error, assert_reconciles};
use serde_json::{Value, json};

fn image(gw: &Gateway, who: &TestAccount, n: u32) -> imini_tests::Answer {
    let body = json!({"model": "imini/canvas-image", "prompt": "a red kite over green hills", "size": "64x64", "n": n, "response_format": "url"});
    gw.request_with(
        "POST",
        "/v1/images/generations",
        Some(&who.key),
        Some(&body),
    )
}

fn types(entries: &[Value]) -> Vec<&str> {
    entries
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect()
}

#[test]
fn a_generation_holds_then_captures_its_price() {
    let gw = Gateway::start();
    let alice = gw.account("alice@example.com", 100);
    let account = gw
        .request_with("GET", "/v1/account", Some(&alice.key), None)
        .json();
    assert_eq!(
        (
            account["credit_balance"].as_i64(),
            account["credits_held"].as_i64()
        ),
        (Some(100), Some(0))
    );
    assert_eq!(account["email"], "alice@example.com");

    let answer = image(&gw, &alice, 2);
    assert_eq!(
        answer.status,
        200,
        "{}",
        String::from_utf8_lossy(&answer.body)
    );
    let task_id = answer.json()["id"].as_str().unwrap().to_string();

    let account = gw
        .request_with("GET", "/v1/account", Some(&alice.key), None)
        .json();
    assert_eq!(
        (
            account["credit_balance"].as_i64(),
            account["credits_held"].as_i64()
        ),
        (Some(80), Some(0)),
        "2 images at 10 credits"
    );
    let task = gw
        .request_with(
            "GET",
            &format!("/v1/tasks/{task_id}"),
            Some(&alice.key),
            None,
        )
        .json();
    assert_eq!(
        task["cost"],
        json!({"held": 20, "charged": 20, "refunded": 0})
    );

    let ledger = gw
        .request_with("GET", "/v1/account/ledger", Some(&alice.key), None)
        .json();
    let entries = ledger["data"].as_array().unwrap();
    assert_eq!(types(entries), ["topup", "hold", "capture"]);
    assert_eq!(entries[1]["task_id"], task_id.as_str());
    assert_eq!(entries[1]["actor"], alice.key_id.as_str());
    assert_eq!(entries[2]["amount"], -20);
    assert_eq!(entries[2]["balance_after"], 80);
    assert_reconciles(&gw, &alice.id);

    // The native face quotes the price.
    let native = gw.request_with(
        "POST",
        "/v1/images/generate",
        Some(&alice.key),
        Some(&json!({"model": "imini/canvas-image", "prompt": "x", "size": "64x64", "n": 3})),
    );
    assert_eq!(native.status, 202);
    assert_eq!(native.json()["cost"]["credits"], 30);
}

#[test]
fn without_enough_credits_the_answer_is_402_and_nothing_changes() {
    let gw = Gateway::start();
    let bob = gw.account("bob@example.com", 15);
    let e = assert_error(&image(&gw, &bob, 2), 402, "INSUFFICIENT_CREDITS");
    assert_eq!(e["type"], "insufficient_quota");
    assert!(
        e["message"].as_str().unwrap().contains("20")
            && e["message"].as_str().unwrap().contains("15"),
        "{e}"
    );
    assert_eq!(types(&gw.ledger(&bob.id)), ["topup"]);
    let tasks = gw
        .request_with("GET", "/v1/tasks", Some(&bob.key), None)
        .json();
    assert_eq!(
        tasks["data"].as_array().unwrap().len(),
        0,
        "no task was created"
    );
    assert_eq!(image(&gw, &bob, 1).status, 200, "one image still fits");
}

#[test]
fn two_hundred_concurrent_requests_for_thirty_seven_credits_worth() {
    const K: i64 = 37;
    let gw = Gateway::start_with_config(
        "[limits]\nmax_concurrent_tasks = 1000\nrequests_per_minute = 100000\n",
    );
    let carol = gw.account("carol@example.com", K * 10);
    let statuses: Vec<u16> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..200)
            .map(|_| s.spawn(|| image(&gw, &carol, 1).status))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let ok = statuses.iter().filter(|s| **s == 200).count() as i64;
    let refused = statuses.iter().filter(|s| **s == 402).count() as i64;
    assert_eq!(
        (ok, refused),
        (K, 200 - K),
        "exactly K succeed, the rest get 402: {statuses:?}"
    );
    let (balance, held) = assert_reconciles(&gw, &carol.id);
    assert_eq!((balance, held), (0, 0));
    let captures = gw
        .ledger(&carol.id)
        .iter()
        .filter(|e| e["type"] == "capture")
        .count() as i64;
    assert_eq!(captures, K);
}

#[test]
fn a_failed_generation_releases_its_hold() {
    let config = format!(
        "[[plugins]]\nwasm = {:?}\nmanifest = {:?}\n[credentials.sandbox-test]\nvalue = \"t\"\n[prices.\"test/trap\"]\nper_image = 7\n",
        imini_tests::guests::SANDBOX_GUEST_WASM,
        imini_tests::guests::SANDBOX_GUEST_MANIFEST
    );
    let gw = Gateway::start_with_config(&config);
    let dave = gw.account("dave@example.com", 50);
    let body = json!({"model": "test/trap", "prompt": "x", "size": "64x64"});
    let e = assert_error(
        &gw.request_with(
            "POST",
            "/v1/images/generations",
            Some(&dave.key),
            Some(&body),
        ),
        502,
        "UPSTREAM_ERROR",
    );
    let task = gw
        .request_with(
            "GET",
            &format!("/v1/tasks/{}", e["task_id"].as_str().unwrap()),
            Some(&dave.key),
            None,
        )
        .json();
    assert_eq!(
        task["cost"],
        json!({"held": 7, "charged": 0, "refunded": 7})
    );
    assert_eq!(types(&gw.ledger(&dave.id)), ["topup", "hold", "release"]);
    assert_eq!(assert_reconciles(&gw, &dave.id), (50, 0));
    // A model with no price cannot be used by accounts.
    let body = json!({"model": "test/loop", "prompt": "x", "size": "64x64"});
    assert_error(
        &gw.request_with(
            "POST",
            "/v1/images/generations",
            Some(&dave.key),
            Some(&body),
        ),
        503,
        "MODEL_UNAVAILABLE",
    );
}

#[test]
fn keys_rotate_revoke_and_suspend() {
    let gw = Gateway::start();
    let frank = gw.account("frank@example.com", 100);
    let get = |key: &str| gw.request_with("GET", "/v1/account", Some(key), None);
    let admin_ok = |path: &str| assert_eq!(gw.post(path, &json!({})).status, 200, "{path}");
    assert_eq!(get(&frank.key).status, 200);

    let created = gw.request_with(
        "POST",
        "/v1/keys",
        Some(&frank.key),
        Some(&json!({"name": "ci"})),
    );
    assert_eq!(created.status, 201);
    let second = created.json();
    let second_secret = second["secret"].as_str().unwrap().to_string();
    assert!(second_secret.starts_with(second["prefix"].as_str().unwrap()));
    let listed = gw
        .request_with("GET", "/v1/keys", Some(&frank.key), None)
        .json();
    assert_eq!(listed["data"].as_array().unwrap().len(), 2);
    assert!(
        listed["data"]
            .as_array()
            .unwrap()
            .iter()
            .all(|k| k.get("secret").is_none()),
        "secrets are never listed"
    );

    let rotated = gw
        .request_with(
            "POST",
            &format!("/v1/keys/{}/rotate", second["id"].as_str().unwrap()),
            Some(&frank.key),
            None,
        )
        .json();
    let rotated_secret = rotated["secret"].as_str().unwrap();
    assert_error(&get(&second_secret), 401, "INVALID_API_KEY");
    assert_eq!(get(rotated_secret).status, 200);

    let revoked = gw.request_with(
        "DELETE",
        &format!("/v1/keys/{}", second["id"].as_str().unwrap()),
        Some(&frank.key),
        None,
    );
    assert_eq!(revoked.json()["status"], "revoked");
    assert_error(&get(rotated_secret), 403, "KEY_REVOKED");

    admin_ok(&format!("/admin/v1/keys/{}/suspend", frank.key_id));
    assert_error(&get(&frank.key), 403, "PERMISSION_DENIED");
    admin_ok(&format!("/admin/v1/keys/{}/unsuspend", frank.key_id));
    assert_eq!(get(&frank.key).status, 200);

    admin_ok(&format!("/admin/v1/accounts/{}/suspend", frank.id));
    assert_error(&get(&frank.key), 403, "ACCOUNT_SUSPENDED");
    admin_ok(&format!("/admin/v1/accounts/{}/unsuspend", frank.id));
    assert_eq!(get(&frank.key).status, 200);

    // Account keys cannot use admin routes.
    assert_error(
        &gw.request_with(
            "POST",
            "/admin/v1/accounts",
            Some(&frank.key),
            Some(&json!({"email": "x@y.z"})),
        ),
        403,
        "PERMISSION_DENIED",
    );
}

#[test]
fn one_account_cannot_see_anothers_things() {
    let gw = Gateway::start();
    let a = gw.account("a@example.com", 100);
    let b = gw.account("b@example.com", 100);
    let answer = gw.request_with(
        "POST",
        "/v1/images/generate",
        Some(&a.key),
        Some(&json!({"model": "imini/canvas-image", "prompt": "x", "size": "64x64"})),
    );
    let task_id = answer.json()["task_id"].as_str().unwrap().to_string();
    let mut task = Value::Null;
    for _ in 0..100 {
        task = gw
            .request_with("GET", &format!("/v1/tasks/{task_id}"), Some(&a.key), None)
            .json();
        if task["status"] == "succeeded" {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let file_url = task["images"][0]["url"].as_str().unwrap();
    assert_error(
        &gw.request_with("GET", &format!("/v1/tasks/{task_id}"), Some(&b.key), None),
        404,
        "TASK_NOT_FOUND",
    );
    assert_error(
        &gw.request_with("GET", file_url, Some(&b.key), None),
        404,
        "NOT_FOUND",
    );
    assert_error(
        &gw.request_with(
            "POST",
            &format!("/v1/keys/{}/rotate", a.key_id),
            Some(&b.key),
            None,
        ),
        404,
        "NOT_FOUND",
    );
    assert_error(
        &gw.request_with(
            "DELETE",
            &format!("/v1/keys/{}", a.key_id),
            Some(&b.key),
            None,
        ),
        404,
        "NOT_FOUND",
    );
    let b_tasks = gw
        .request_with("GET", "/v1/tasks", Some(&b.key), None)
        .json();
    assert_eq!(b_tasks["data"].as_array().unwrap().len(), 0);
    let b_ledger = gw
        .request_with("GET", "/v1/account/ledger", Some(&b.key), None)
        .json();
    assert_eq!(types(b_ledger["data"].as_array().unwrap()), ["topup"]);
    assert_eq!(
        gw.request_with("GET", file_url, Some(&a.key), None).status,
        200
    );
}

#[test]
fn operators_adjust_freeze_and_close() {
    let gw = Gateway::start();
    let g = gw.account("grace@example.com", 100);
    let path = |action: &str| format!("/admin/v1/accounts/{}/{action}", g.id);
    assert_error(
        &gw.post(&path("adjust"), &json!({"credits": -5})),
        400,
        "INVALID_PARAMETER",
    );
    assert_eq!(
        gw.post(
            &path("adjust"),
            &json!({"credits": -30, "reason": "goodwill reversal"})
        )
        .json()["credit_balance"],
        70
    );
    assert_error(
        &gw.post(
            &path("adjust"),
            &json!({"credits": -71, "reason": "too much"}),
        ),
        409,
        "CONFLICT",
    );

    assert_eq!(
        gw.post(&path("freeze"), &json!({})).json()["credits_frozen"],
        true
    );
    assert_error(&image(&gw, &g, 1), 403, "PERMISSION_DENIED");
    assert_eq!(
        gw.post(&path("unfreeze"), &json!({})).json()["credits_frozen"],
        false
    );
    assert_eq!(image(&gw, &g, 1).status, 200);

    let closed = gw.request_with("POST", "/v1/account/close", Some(&g.key), None);
    assert_eq!(
        closed.status,
        200,
        "{}",
        String::from_utf8_lossy(&closed.body)
    );
    assert_eq!(closed.json()["status"], "closed");
    let entries = gw.ledger(&g.id);
    let last = entries.last().unwrap();
    assert_eq!(
        (last["type"].as_str(), last["amount"].as_i64()),
        (Some("forfeit"), Some(-60))
    );
    assert_eq!(assert_reconciles(&gw, &g.id), (0, 0));
    assert_error(
        &gw.request_with("GET", "/v1/account", Some(&g.key), None),
        403,
        "ACCOUNT_SUSPENDED",
    );
}

#[test]
fn a_revoke_racing_a_thousand_requests_is_never_undone() {
    // Eight clients keep using a key while an operator revokes it. Every
    // request sent after the revoke answered is refused, and the key stays
    // revoked for good, across a restart (a request's record of the key's
    // use, written from the copy it read before the revoke, must not bring
    // the key back).
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    use std::sync::{Arc, Mutex};
    use std::time::Instant;

    let mut gw = Gateway::start_with_config("[limits]\nrequests_per_minute = 1000000\n");
    let ivan = gw.account("ivan@example.com", 10);
    let key_id = ivan.key_id.clone();
    let stop = Arc::new(AtomicBool::new(false));
    let sent = Arc::new(AtomicUsize::new(0));
    // Requests sent after the revoke had answered.
    let sent_after = Arc::new(AtomicUsize::new(0));
    let revoked_at: Arc<Mutex<Option<Instant>>> = Arc::default();
    let clients: Vec<_> = (0..8)
        .map(|_| {
            let (base, key) = (gw.base.clone(), ivan.key.clone());
            let (stop, sent, sent_after, revoked_at) = (
                stop.clone(),
                sent.clone(),
                sent_after.clone(),
                revoked_at.clone(),
            );
            std::thread::spawn(move || {
                let client = reqwest::blocking::Client::new();
                let mut late_successes = Vec::new();
                let mut refused = 0;
                while !stop.load(Ordering::SeqCst) {
                    let after_revoke = revoked_at.lock().unwrap().is_some();
                    let answer = client
                        .get(format!("{base}/v1/account"))
                        .bearer_auth(&key)
                        .send()
                        .unwrap();
                    sent.fetch_add(1, Ordering::SeqCst);
                    if after_revoke {
                        sent_after.fetch_add(1, Ordering::SeqCst);
                    }
                    match answer.status().as_u16() {
                        200 if after_revoke => late_successes.push(answer.text().unwrap()),
                        200 => {}
                        403 => {
                            let body: Value = answer.json().unwrap();
                            assert_eq!(body["error"]["code"], "KEY_REVOKED", "{body}");
                            refused += 1;
                        }
                        other => panic!("unexpected {other}: {}", answer.text().unwrap()),
                    }
                }
                (late_successes, refused)
            })
        })
        .collect();
    // Generous deadlines: the suite runs tests in parallel on 2 cores.
    let wait_for = |what: &str, counter: &AtomicUsize, count: usize| {
        let deadline = Instant::now() + Duration::from_secs(120);
        while counter.load(Ordering::SeqCst) < count {
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            std::thread::sleep(Duration::from_millis(10));
        }
    };
    wait_for("300 requests", &sent, 300);
    let revoke = gw.post(&format!("/admin/v1/keys/{key_id}/revoke"), &json!({}));
    assert_eq!(revoke.status, 200);
    *revoked_at.lock().unwrap() = Some(Instant::now());
    wait_for("1,000 requests after the revoke", &sent_after, 1000);
    stop.store(true, Ordering::SeqCst);
    let mut refused = 0;
    for client in clients {
        let (late, r) = client.join().unwrap();
        assert!(
            late.is_empty(),
            "requests after the revoke succeeded: {late:?}"
        );
        refused += r;
    }
    assert!(
        refused >= 1000,
        "the requests after the revoke were refused: {refused}"
    );

    gw.restart();
    assert_error(
        &gw.request_with("GET", "/v1/account", Some(&ivan.key), None),
        403,
        "KEY_REVOKED",
    );
}

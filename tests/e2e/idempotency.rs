//! `Idempotency-Key`: replays never run or charge twice.

use imini_tests::{Gateway, assert_error, assert_reconciles};
use serde_json::json;

#[test]
fn the_same_key_and_body_replay_one_task_and_one_charge() {
    let gw = Gateway::start();
    let acct = gw.account("idem@example.com", 1000);
    let body = json!({"model": "imini/canvas-image", "prompt": "a blue lake", "size": "64x64"});
    let send = |key: &str, body: &serde_json::Value| {
        gw.request_headers(
            "POST",
            "/v1/images/generations",
            &acct.key,
            body,
            &[("idempotency-key", key)],
        )
    };
    let first = send("order-1", &body);
    assert_eq!(
        first.status,
        200,
        "{}",
        String::from_utf8_lossy(&first.body)
    );
    let second = send("order-1", &body);
    assert_eq!(second.status, 200);
    assert_eq!(second.headers["idempotent-replayed"], "true");
    assert_eq!(first.json()["id"], second.json()["id"], "the same task");
    assert!(first.headers.get("idempotent-replayed").is_none());

    // Concurrent duplicates: one task, one charge.
    let body2 = json!({"model": "imini/canvas-image", "prompt": "a green lake", "size": "64x64"});
    let ids: Vec<String> = std::thread::scope(|s| {
        let hs: Vec<_> = (0..12)
            .map(|_| {
                s.spawn(|| {
                    send("order-2", &body2).json()["id"]
                        .as_str()
                        .unwrap()
                        .to_string()
                })
            })
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert!(ids.iter().all(|id| *id == ids[0]), "{ids:?}");

    // Another body with a used key is refused and changes nothing.
    let other = json!({"model": "imini/canvas-image", "prompt": "a red lake", "size": "64x64"});
    let refused = send("order-1", &other);
    let e = assert_error(&refused, 409, "IDEMPOTENCY_CONFLICT");
    assert_eq!(e["type"], "conflict_error");
    assert_eq!(refused.headers["x-should-retry"], "false");

    let entries = gw.ledger(&acct.id);
    let captures = entries.iter().filter(|e| e["type"] == "capture").count();
    assert_eq!(captures, 2, "two distinct requests, two charges");
    assert_eq!(assert_reconciles(&gw, &acct.id), (980, 0));

    // Keys are per account: another account's identical key is its own.
    let other_acct = gw.account("idem2@example.com", 100);
    let theirs = gw.request_headers(
        "POST",
        "/v1/images/generations",
        &other_acct.key,
        &body,
        &[("idempotency-key", "order-1")],
    );
    assert_eq!(theirs.status, 200);
    assert_ne!(theirs.json()["id"], first.json()["id"]);
}

#[test]
fn refused_requests_are_not_kept_and_can_be_retried() {
    let gw = Gateway::start();
    let acct = gw.account("retry@example.com", 5);
    let body = json!({"model": "imini/canvas-image", "prompt": "x", "size": "64x64"});
    let send = || {
        gw.request_headers(
            "POST",
            "/v1/images/generations",
            &acct.key,
            &body,
            &[("idempotency-key", "k1")],
        )
    };
    assert_error(&send(), 402, "INSUFFICIENT_CREDITS");
    gw.post(
        &format!("/admin/v1/accounts/{}/topup", acct.id),
        &json!({"credits": 5}),
    );
    assert_eq!(send().status, 200, "after a top-up the same key runs");
    let bad = gw.request_headers(
        "POST",
        "/v1/images/generations",
        &acct.key,
        &body,
        &[("idempotency-key", "")],
    );
    assert_error(&bad, 400, "INVALID_PARAMETER");
}

#[test]
fn a_retry_after_the_client_left_gets_the_first_attempts_image_and_one_charge() {
    // The first attempt's client gives up while the upstream works; the
    // retry with the same key waits for that same task and answers its
    // image. The upstream is called once, and the account charged once.
    let (mock, config) = imini_tests::slow_openai(std::time::Duration::from_secs(2));
    let gw = Gateway::start_with_config(&config);
    let acct = gw.account("leaver@example.com", 1000);
    let body = json!({"model": "openai/dall-e-3", "prompt": "a patient heron", "response_format": "b64_json"});
    let send = |timeout_ms: u64| {
        reqwest::blocking::Client::builder()
            .timeout(std::time::Duration::from_millis(timeout_ms))
            .build()
            .unwrap()
            .post(format!("{}/v1/images/generations", gw.base))
            .bearer_auth(&acct.key)
            .header("idempotency-key", "heron-1")
            .json(&body)
            .send()
    };
    assert!(send(500).is_err(), "the first client gives up");
    let retry = send(15_000).expect("the retry is answered");
    assert_eq!(retry.status(), 200);
    let answer: serde_json::Value = retry.json().unwrap();
    assert!(answer["data"][0]["b64_json"].is_string(), "{answer}");
    assert_eq!(mock.received().len(), 1, "the upstream ran once");
    let entries = gw.ledger(&acct.id);
    let kinds: Vec<&str> = entries
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["topup", "hold", "capture"]);
    assert_eq!(assert_reconciles(&gw, &acct.id), (950, 0));
}

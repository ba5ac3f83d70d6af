//! Webhooks: Standard Webhooks signatures (checked here from the spec, not
//! with the gateway's signer), retries, restarts, and the private-address
//! guard.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use hmac::{Hmac, Mac};
use imini_tests::mock::{Mock, Received, Reply};
use imini_tests::{Gateway, assert_error};
use serde_json::{Value, json};
use sha2::Sha256;

/// Verifies a delivery as a receiver would, from the Standard Webhooks spec:
/// HMAC-SHA256 over `id.timestamp.body` with the base64-decoded secret.
fn verify(secret: &str, req: &Received) -> Value {
    let id = req.header("webhook-id").expect("webhook-id");
    let ts = req.header("webhook-timestamp").expect("webhook-timestamp");
    let sig = req.header("webhook-signature").expect("webhook-signature");
    let key = B64
        .decode(secret.strip_prefix("whsec_").expect("whsec_ prefix"))
        .unwrap();
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).unwrap();
    mac.update(format!("{id}.{ts}.").as_bytes());
    mac.update(&req.body);
    let expected = format!("v1,{}", B64.encode(mac.finalize().into_bytes()));
    assert!(
        sig.split(' ').any(|s| s == expected),
        "signature {sig} != {expected}"
    );
    let age = (std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
        - ts.parse::<i64>().unwrap())
    .abs();
    assert!(age < 60, "timestamp is current");
    req.json()
}

fn wait_for(mock: &Mock, count: usize, limit: Duration) -> Vec<Received> {
    let started = Instant::now();
    while started.elapsed() < limit {
        let got: Vec<Received> = mock
            .received()
            .into_iter()
            .filter(|r| r.path == "/hook")
            .collect();
        if got.len() >= count {
            return got;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    panic!("the receiver got fewer than {count} deliveries in {limit:?}");
}

#[test]
fn task_events_are_signed_and_delivered_to_the_task_and_account_endpoints() {
    let receiver = Mock::with_handler(|_| Reply::json(200, &json!({})));
    let gw = Gateway::start_with_config("[network]\nallow_private = true\n");
    let acct = gw.account("hooks@example.com", 100);
    let endpoint = gw
        .request_with("GET", "/v1/account/webhook", Some(&acct.key), None)
        .json();
    let secret = endpoint["secret"].as_str().unwrap().to_string();
    assert!(secret.starts_with("whsec_"));

    let body = json!({"model": "imini/canvas-image", "prompt": "a kite", "size": "64x64", "webhook_url": format!("{}/hook", receiver.url)});
    let task_id = gw.submit_image(&acct.key, &body);
    let got = wait_for(&receiver, 1, Duration::from_secs(10));
    let event = verify(&secret, &got[0]);
    assert_eq!(event["type"], "task.succeeded");
    assert_eq!(event["data"]["task_id"], task_id.as_str());
    assert_eq!(event["data"]["status"], "succeeded");
    assert!(
        event["data"]["outputs"][0]["url"]
            .as_str()
            .unwrap()
            .starts_with("/v1/files/file_")
    );

    // An account-level endpoint gets every task's events, failures too.
    let set = gw.request_with(
        "POST",
        "/v1/account/webhook",
        Some(&acct.key),
        Some(&json!({"url": format!("{}/hook", receiver.url)})),
    );
    assert_eq!(set.status, 200);
    let bad =
        json!({"model": "imini/canvas-image", "prompt": "x", "size": "64x64", "n": 1, "seed": 1});
    let second = gw.request_with("POST", "/v1/images/generate", Some(&acct.key), Some(&bad));
    let second_id = second.json()["task_id"].as_str().unwrap().to_string();
    let got = wait_for(&receiver, 2, Duration::from_secs(10));
    let event = verify(&secret, &got[1]);
    assert_eq!(event["data"]["task_id"], second_id.as_str());

    let deliveries = gw
        .request_with(
            "GET",
            "/v1/account/webhook/deliveries",
            Some(&acct.key),
            None,
        )
        .json();
    assert_eq!(deliveries["data"].as_array().unwrap().len(), 2);
    assert!(
        deliveries["data"]
            .as_array()
            .unwrap()
            .iter()
            .all(|d| d["status"] == "delivered")
    );
}

#[test]
fn a_failing_receiver_is_retried_and_a_restart_loses_nothing() {
    let calls = Arc::new(AtomicU32::new(0));
    let seen = calls.clone();
    // Fails the first attempt, then accepts.
    let receiver = Mock::with_handler(move |_| {
        if seen.fetch_add(1, Ordering::SeqCst) == 0 {
            Reply::json(500, &json!({"error": "down"}))
        } else {
            Reply::json(204, &json!({}))
        }
    });
    let mut gw = Gateway::start_with_config("[network]\nallow_private = true\n");
    let acct = gw.account("retry-hooks@example.com", 100);
    let secret = gw
        .request_with("GET", "/v1/account/webhook", Some(&acct.key), None)
        .json()["secret"]
        .as_str()
        .unwrap()
        .to_string();
    let body = json!({"model": "imini/canvas-image", "prompt": "a kite", "size": "64x64", "webhook_url": format!("{}/hook", receiver.url)});
    assert_eq!(
        gw.request_with("POST", "/v1/images/generate", Some(&acct.key), Some(&body))
            .status,
        202
    );
    let first = wait_for(&receiver, 1, Duration::from_secs(10));
    // The first attempt failed; once it is recorded, the retry is due a
    // second later. Crash then. (Killed before the failure is recorded, the
    // gateway would send that attempt again: at least once.)
    let deadline = Instant::now() + Duration::from_secs(10);
    while gw
        .request_with(
            "GET",
            "/v1/account/webhook/deliveries",
            Some(&acct.key),
            None,
        )
        .json()["data"][0]["attempts"]
        != 1
    {
        assert!(Instant::now() < deadline, "the failed attempt is recorded");
        std::thread::sleep(Duration::from_millis(10));
    }
    gw.kill();
    gw.restart();
    let all = wait_for(&receiver, 2, Duration::from_secs(15));
    assert_eq!(
        all[1].header("webhook-id"),
        first[0].header("webhook-id"),
        "the same event, retried"
    );
    verify(&secret, &all[1]);
    let deliveries = gw
        .request_with(
            "GET",
            "/v1/account/webhook/deliveries",
            Some(&acct.key),
            None,
        )
        .json();
    let d = &deliveries["data"][0];
    assert_eq!(
        (d["status"].as_str(), d["attempts"].as_u64()),
        (Some("delivered"), Some(2))
    );
}

#[test]
fn private_addresses_are_refused_unless_allowed() {
    let gw = Gateway::start();
    let acct = gw.account("ssrf@example.com", 100);
    for url in [
        "http://127.0.0.1:9/hook",
        "http://10.0.0.1/hook",
        "http://169.254.169.254/latest",
        "http://[::1]/x",
        "ftp://example.com/x",
    ] {
        let body = json!({"model": "imini/canvas-image", "prompt": "x", "size": "64x64", "webhook_url": url});
        let e = assert_error(
            &gw.request_with("POST", "/v1/images/generate", Some(&acct.key), Some(&body)),
            400,
            "INVALID_PARAMETER",
        );
        assert_eq!(e["param"], "webhook_url", "{url}");
    }
    assert_error(
        &gw.request_with(
            "POST",
            "/v1/account/webhook",
            Some(&acct.key),
            Some(&json!({"url": "http://localhost:8080/x"})),
        ),
        400,
        "INVALID_PARAMETER",
    );
    assert_eq!(
        gw.account_view(&acct.id)["credit_balance"],
        100,
        "nothing was charged"
    );
    let tasks = gw
        .request_with("GET", "/v1/tasks", Some(&acct.key), None)
        .json();
    assert_eq!(tasks["data"].as_array().unwrap().len(), 0);
}

#[test]
fn replicas_on_one_database_send_each_attempt_once() {
    // Every event's first attempt fails, so each is retried a second later,
    // when any of the three replicas may take it.
    let attempts: Arc<std::sync::Mutex<std::collections::HashMap<String, u32>>> = Arc::default();
    let seen = attempts.clone();
    let receiver = Mock::with_handler(move |req| {
        let id = req.header("webhook-id").unwrap_or_default().to_string();
        let mut seen = seen.lock().unwrap();
        let n = seen.entry(id).or_default();
        *n += 1;
        if *n == 1 {
            Reply::json(503, &json!({"error": "busy"}))
        } else {
            Reply::json(204, &json!({}))
        }
    });
    let db = Arc::new(imini_tests::pg::Database::create());
    let config = "[network]\nallow_private = true\n[replicas]\nlease_secs = 1\n";
    let replicas: Vec<Gateway> = (0..3)
        .map(|_| Gateway::start_on_database(config, db.clone(), &[]))
        .collect();
    let acct = replicas[0].account("replica-hooks@example.com", 1_000);
    let set = replicas[1].request_with(
        "POST",
        "/v1/account/webhook",
        Some(&acct.key),
        Some(&json!({"url": format!("{}/hook", receiver.url)})),
    );
    assert_eq!(set.status, 200, "{}", String::from_utf8_lossy(&set.body));
    const TASKS: usize = 12;
    for i in 0..TASKS {
        let body = json!({"model": "imini/canvas-image", "prompt": format!("a kite {i}"), "size": "64x64"});
        replicas[i % 3].submit_image(&acct.key, &body);
    }
    // Two attempts per event: the failed one and the retry.
    wait_for(&receiver, 2 * TASKS, Duration::from_secs(30));
    // Longer than a lease and a retry: no replica sends any of them again.
    std::thread::sleep(Duration::from_secs(3));
    let attempts = attempts.lock().unwrap();
    assert_eq!(attempts.len(), TASKS, "one event per task: {attempts:?}");
    assert!(
        attempts.values().all(|n| *n == 2),
        "each attempt sent once: {attempts:?}"
    );
    let deliveries = replicas[2]
        .request_with(
            "GET",
            "/v1/account/webhook/deliveries",
            Some(&acct.key),
            None,
        )
        .json();
    let data = deliveries["data"].as_array().unwrap();
    assert_eq!(data.len(), TASKS);
    assert!(
        data.iter()
            .all(|d| d["status"] == "delivered" && d["attempts"] == 2),
        "{deliveries}"
    );
}

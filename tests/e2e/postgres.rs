//! Gateways on PostgreSQL (`IMINI_STORE_URL`): replicas sharing one
//! database share accounts, tasks, idempotency keys and credits, and bill
//! exactly once. Each test makes its own database (see
//! `imini_tests::postgres`) and drops it, and only it, at the end.

use std::sync::Arc;
use std::time::{Duration, Instant};

use imini_tests::pg::Database;
use imini_tests::{Gateway, assert_reconciles};
use serde_json::json;

/// A gateway on `db`, with its own data directory.
fn replica(db: &Arc<Database>) -> Gateway {
    let gw = Gateway::start_on_database(
        "[limits]\nmax_concurrent_tasks = 1000\nrequests_per_minute = 100000\n\
         [replicas]\nlease_secs = 2\n",
        db.clone(),
        &[],
    );
    assert!(
        gw.logs().contains("PostgreSQL (schema version"),
        "{}",
        gw.logs()
    );
    gw
}

#[test]
fn replicas_on_one_database_share_accounts_tasks_keys_and_credits() {
    let db = Arc::new(Database::create());
    let (a, b) = (replica(&db), replica(&db));

    // An account made on one replica is known to the other.
    let alice = a.account("alice@example.com", 100);
    let body = json!({"model": "imini/canvas-image", "prompt": "a lantern", "size": "64x64"});
    let task_id = b.submit_image(&alice.key, &body);
    let mut status = String::new();
    for _ in 0..300 {
        let task = a
            .request_with(
                "GET",
                &format!("/v1/tasks/{task_id}"),
                Some(&alice.key),
                None,
            )
            .json();
        status = task["status"].as_str().unwrap_or_default().to_string();
        if status == "succeeded" {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert_eq!(status, "succeeded", "the task made on b, read on a");

    // An Idempotency-Key used on one replica replays on the other.
    let keyed = |gw: &Gateway| {
        let answer = gw.request_headers(
            "POST",
            "/v1/images/generate",
            &alice.key,
            &body,
            &[("idempotency-key", "same-request")],
        );
        assert_eq!(
            answer.status,
            202,
            "{}",
            String::from_utf8_lossy(&answer.body)
        );
        answer.json()["task_id"].as_str().unwrap().to_string()
    };
    assert_eq!(keyed(&a), keyed(&b), "one task for one key");

    let tasks = b.tasks_when_all(&alice.key, "succeeded");
    assert_eq!(tasks.len(), 2, "{tasks:?}");
    assert!(
        tasks.iter().all(|t| t["status"] == "succeeded"),
        "{tasks:?}"
    );
    let captures = a
        .ledger(&alice.id)
        .iter()
        .filter(|e| e["type"] == "capture")
        .count();
    assert_eq!(captures, 2, "each task charged once");
    let (balance, held) = assert_reconciles(&b, &alice.id);
    assert_eq!(held, 0);
    assert!(balance < 100, "charged: {balance}");
}

#[test]
fn a_thousand_requests_racing_on_three_replicas_spend_exactly_the_credits() {
    // Credits for exactly 100 images; 1,000 requests from 50 clients,
    // spread round robin over three replicas.
    const K: usize = 100;
    const REQUESTS: usize = 1_000;
    const CLIENTS: usize = 50;
    let db = Arc::new(Database::create());
    let replicas = [replica(&db), replica(&db), replica(&db)];
    let carol = replicas[0].account("carol@example.com", K as i64 * 10);
    let body = json!({"model": "imini/canvas-image", "prompt": "a kite", "size": "64x64", "response_format": "url"});
    let statuses: Vec<u16> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..CLIENTS)
            .map(|c| {
                let (replicas, carol, body) = (&replicas, &carol, &body);
                s.spawn(move || {
                    (0..REQUESTS / CLIENTS)
                        .map(|i| {
                            let gw = &replicas[(c * (REQUESTS / CLIENTS) + i) % 3];
                            gw.request_with(
                                "POST",
                                "/v1/images/generations",
                                Some(&carol.key),
                                Some(body),
                            )
                            .status
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    let ok = statuses.iter().filter(|s| **s == 200).count();
    let refused = statuses.iter().filter(|s| **s == 402).count();
    assert_eq!(
        (ok, refused),
        (K, REQUESTS - K),
        "others: {:?}",
        statuses
            .iter()
            .filter(|s| ![200, 402].contains(*s))
            .collect::<Vec<_>>()
    );
    for gw in &replicas {
        assert_eq!(
            assert_reconciles(gw, &carol.id),
            (0, 0),
            "spent to the credit, nothing held"
        );
    }
    let captures = replicas[1]
        .ledger(&carol.id)
        .iter()
        .filter(|e| e["type"] == "capture")
        .count();
    assert_eq!(captures, K, "each success charged once");
}

#[test]
fn tasks_of_a_replica_killed_mid_run_are_finished_by_another_and_charged_once() {
    let db = Arc::new(Database::create());
    let (mut a, b) = (replica(&db), replica(&db));
    let dan = a.account("dan@example.com", 10_000);
    let (base, key) = (a.base.clone(), dan.key.clone());
    // Native submissions to A return at once; A runs them in the background.
    let submitter = std::thread::spawn(move || {
        let client = reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(5))
            .build()
            .unwrap();
        for i in 0..300 {
            let body = json!({"model": "imini/canvas-image", "prompt": format!("harbour at dusk {i}"), "size": "512x512"});
            let sent = client
                .post(format!("{base}/v1/images/generate"))
                .bearer_auth(&key)
                .json(&body)
                .send();
            if sent.is_err() {
                break; // A is gone
            }
        }
    });
    std::thread::sleep(Duration::from_millis(700));
    a.kill();
    submitter.join().unwrap();
    let killed = Instant::now();

    // B takes A's tasks over once their leases (2 s) lapse, and finishes
    // every one: none is lost, none waits for A to come back.
    let tasks = b.tasks_when_all(&dan.key, "succeeded");
    assert!(!tasks.is_empty(), "A accepted tasks before it died");
    let unfinished: Vec<_> = tasks
        .iter()
        .filter(|t| t["status"] != "succeeded")
        .collect();
    assert!(unfinished.is_empty(), "every task finished: {unfinished:?}");
    assert!(
        b.logs()
            .contains("took over the tasks of a replica that stopped"),
        "A died with tasks in flight; B's log:\n{}",
        b.logs()
    );
    eprintln!("B finished A's tasks {:?} after the kill", killed.elapsed());
    let entries = b.ledger(&dan.id);
    for task in &tasks {
        let id = task["task_id"].as_str().unwrap();
        let captures = entries
            .iter()
            .filter(|e| e["type"] == "capture" && e["task_id"] == id)
            .count();
        assert_eq!(captures, 1, "task {id} charged exactly once");
    }
    let (balance, held) = assert_reconciles(&b, &dan.id);
    assert_eq!(held, 0, "no hold is left open");
    assert_eq!(balance, 10_000 - 10 * tasks.len() as i64);
}

#[test]
fn replicas_are_listed_live_with_their_plugins_until_one_stops() {
    let db = Arc::new(Database::create());
    let (a, mut b) = (replica(&db), replica(&db));
    let listed = |gw: &Gateway| -> Vec<serde_json::Value> {
        let answer = gw.get("/admin/v1/replicas");
        assert_eq!(
            answer.status,
            200,
            "{}",
            String::from_utf8_lossy(&answer.body)
        );
        let body = answer.json();
        assert_eq!(body["object"], "list");
        body["data"].as_array().unwrap().clone()
    };
    let both = listed(&b);
    let addresses: Vec<&str> = both
        .iter()
        .map(|r| r["address"].as_str().unwrap())
        .collect();
    assert_eq!(
        addresses,
        [a.base.as_str(), b.base.as_str()],
        "oldest start first"
    );
    for r in &both {
        assert!(r["id"].as_str().unwrap().starts_with("rep_"), "{r}");
        assert_eq!(r["live"], true, "{r}");
        assert_eq!(r["version"], env!("CARGO_PKG_VERSION"));
        assert!(r["last_heartbeat"].as_str().unwrap().ends_with('Z'), "{r}");
        let canvas = r["plugins"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == "canvas")
            .unwrap_or_else(|| panic!("canvas is served: {r}"));
        assert!(canvas["version"].is_string(), "{r}");
    }
    // An account key is not an operator.
    let erin = a.account("erin@example.com", 0);
    let refused = a.request_with("GET", "/admin/v1/replicas", Some(&erin.key), None);
    assert_eq!(
        refused.status,
        403,
        "{}",
        String::from_utf8_lossy(&refused.body)
    );

    // B dies: after two lease periods (2 s each) A lists it as not live.
    let b_id = both[1]["id"].clone();
    b.kill();
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let now = listed(&a);
        let b_now = now.iter().find(|r| r["id"] == b_id).expect("still listed");
        if b_now["live"] == false {
            assert_eq!(now.iter().filter(|r| r["live"] == true).count(), 1);
            break;
        }
        assert!(Instant::now() < deadline, "B still live: {now:?}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn a_price_set_through_one_replica_is_charged_by_another_within_a_second_and_a_revoked_key_refused()
{
    let db = Arc::new(Database::create());
    let (a, b) = (replica(&db), replica(&db));
    let ivy = a.account("ivy@example.com", 1_000);
    let body = json!({"model": "imini/canvas-image", "prompt": "a paper boat", "size": "64x64"});
    let balance = |gw: &Gateway| gw.account_view(&ivy.id)["credit_balance"].as_i64().unwrap();
    let charged = |gw: &Gateway| -> i64 {
        let before = balance(gw);
        let answer = gw.request_with(
            "POST",
            "/v1/images/generations",
            Some(&ivy.key),
            Some(&body),
        );
        assert_eq!(
            answer.status,
            200,
            "{}",
            String::from_utf8_lossy(&answer.body)
        );
        before - balance(gw)
    };
    assert_eq!(charged(&b), 10, "the configured price");

    let set = a.post(
        "/admin/v1/prices",
        &json!({"model": "imini/canvas-image", "per_image": 7}),
    );
    assert_eq!(set.status, 201, "{}", String::from_utf8_lossy(&set.body));
    let set_at = Instant::now();
    // B charges the new price within a second of A's answer.
    loop {
        if charged(&b) == 7 {
            break;
        }
        assert!(
            set_at.elapsed() < Duration::from_secs(1),
            "B still charges the old price after {:?}",
            set_at.elapsed()
        );
    }

    // A key revoked through A is refused by B at its next request.
    let revoked = a.post(&format!("/admin/v1/keys/{}/revoke", ivy.key_id), &json!({}));
    assert_eq!(
        revoked.status,
        200,
        "{}",
        String::from_utf8_lossy(&revoked.body)
    );
    let refused = b.request_with("GET", "/v1/account", Some(&ivy.key), None);
    imini_tests::assert_error(&refused, 403, "KEY_REVOKED");
}

#[test]
fn connections_lost_mid_load_fail_requests_cleanly_and_service_resumes_without_a_restart() {
    let db = Arc::new(Database::create());
    // As a server restart would, five times over two seconds: every
    // connection of both replicas (pools, feeds, held locks) is cut.
    load_through_an_outage(&db, || {
        let mut dropped = 0;
        for _ in 0..5 {
            dropped += db.drop_connections();
            std::thread::sleep(Duration::from_millis(400));
        }
        assert!(dropped > 0, "the replicas had connections to cut");
    });
}

#[test]
fn a_database_server_restarted_mid_load_fails_requests_cleanly_and_service_resumes() {
    // A server of the test's own, really restarted (fast shutdown: open
    // transactions rolled back, every connection cut, a second or so down).
    let server = imini_tests::pg::Server::start();
    let db = Arc::new(Database::create_on(server.admin_url()));
    load_through_an_outage(&db, || server.restart());
}

/// Two replicas on `db` under load from four clients while `outage` runs:
/// the requests it hits fail cleanly (5xx in the error shape), both
/// replicas serve again without a restart, and the ledger holds nothing
/// and charged each capture once.
fn load_through_an_outage(db: &Arc<Database>, outage: impl FnOnce()) {
    let (a, b) = (replica(db), replica(db));
    let jo = a.account("jo@example.com", 100_000);
    let body = json!({"model": "imini/canvas-image", "prompt": "a lighthouse", "size": "64x64", "response_format": "url"});
    let stop = std::sync::atomic::AtomicBool::new(false);
    let statuses = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for gw in [&a, &b, &a, &b] {
            let (stop, statuses, jo, body) = (&stop, &statuses, &jo, &body);
            s.spawn(move || {
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let answer = gw.request_with(
                        "POST",
                        "/v1/images/generations",
                        Some(&jo.key),
                        Some(body),
                    );
                    if answer.status != 200 {
                        // A failure is a clean answer in the error shape.
                        let code = answer.json()["error"]["code"].clone();
                        imini_tests::assert_error(&answer, answer.status, code.as_str().unwrap());
                    }
                    statuses.lock().unwrap().push(answer.status);
                }
            });
        }
        std::thread::sleep(Duration::from_millis(500));
        outage();
        std::thread::sleep(Duration::from_millis(1500));
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
    });
    let statuses = statuses.into_inner().unwrap();
    let ok = statuses.iter().filter(|s| **s == 200).count();
    let failed: Vec<u16> = statuses.iter().copied().filter(|s| *s != 200).collect();
    assert!(ok > 0, "{statuses:?}");
    assert!(
        failed.iter().all(|s| *s >= 500),
        "only server-side failures while the database was cut off: {failed:?}"
    );
    eprintln!("{ok} answered, {} failed during the outage", failed.len());
    // Both replicas serve again without a restart.
    for gw in [&a, &b] {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let answer =
                gw.request_with("POST", "/v1/images/generations", Some(&jo.key), Some(&body));
            if answer.status == 200 {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "not serving again: {}",
                String::from_utf8_lossy(&answer.body)
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }
    // No half-written state: once leases lapse and the tasks cut off are
    // taken over, nothing is held, and the ledger reconciles.
    // (The entries and the totals are two reads: they agree once nothing
    // is being settled between them.)
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let held = a.account_view(&jo.id)["credits_held"].as_i64().unwrap();
        if held == 0 {
            break;
        }
        assert!(Instant::now() < deadline, "{held} credits still held");
        std::thread::sleep(Duration::from_millis(250));
    }
    assert_eq!(assert_reconciles(&a, &jo.id).1, 0);
    let captures = b
        .ledger(&jo.id)
        .iter()
        .filter(|e| e["type"] == "capture")
        .count();
    let balance = a.account_view(&jo.id)["credit_balance"].as_i64().unwrap();
    assert_eq!(
        balance,
        100_000 - 10 * captures as i64,
        "each capture charged once"
    );
}

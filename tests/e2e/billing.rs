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
        "[[plugins]]\nwasm = {:?}\nmanifest = {:?}\n[prices.\"test/trap\"]\nper_image = 7\n",
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
fn a_crash_under_load_loses_nothing_and_charges_once() {
    crash_under_load(|_| {});
}

#[test]
fn a_crash_under_load_loses_nothing_also_in_a_data_directory_from_before_the_open_task_index() {
    let gw = crash_under_load(|gw| {
        // What an older gateway leaves: tasks and holds, but no index of the
        // tasks not yet over. The next start builds it from them.
        let db = sled::open(gw.data_dir.join("db")).unwrap();
        let index = db.open_tree("tasks_open").unwrap();
        assert!(!index.is_empty(), "the index was stored");
        index.clear().unwrap();
        db.flush().unwrap();
    });
    assert!(
        gw.logs()
            .contains("indexed the stored tasks not known to be over"),
        "{}",
        gw.logs()
    );
}

/// Submits native generations, SIGKILLs the gateway while some run, calls
/// `between` on the stopped gateway, restarts it, and checks that every
/// accepted task finished, charged exactly once, and nothing stays held.
fn crash_under_load(between: impl FnOnce(&Gateway)) -> Gateway {
    let mut gw = Gateway::start_with_config(
        "[limits]\nmax_concurrent_tasks = 1000\nrequests_per_minute = 100000\n",
    );
    let erin = gw.account("erin@example.com", 10_000);
    let base = gw.base.clone();
    let key = erin.key.clone();
    // Native submissions return at once; the tasks run in the background.
    let submitter = std::thread::spawn(move || {
        let client = reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(5))
            .build()
            .unwrap();
        for i in 0..400 {
            let body = json!({"model": "imini/canvas-image", "prompt": format!("storm over the ocean {i}"), "size": "512x512"});
            if client
                .post(format!("{base}/v1/images/generate"))
                .bearer_auth(&key)
                .json(&body)
                .send()
                .is_err()
            {
                break; // the gateway is gone
            }
        }
    });
    std::thread::sleep(Duration::from_millis(700));
    gw.kill();
    submitter.join().unwrap();
    between(&gw);
    gw.restart();
    assert!(
        gw.logs().contains("resuming a task left unfinished"),
        "the crash interrupted tasks in flight"
    );

    // Every task finishes after the restart.
    let tasks = gw.tasks_when_all(&erin.key, "succeeded");
    assert!(
        !tasks.is_empty(),
        "some tasks were accepted before the crash"
    );
    assert!(
        tasks.iter().all(|t| t["status"] == "succeeded"),
        "every task finished: {tasks:?}"
    );
    let (balance, held) = assert_reconciles(&gw, &erin.id);
    assert_eq!(held, 0, "no hold is left open");
    let entries = gw.ledger(&erin.id);
    for task in &tasks {
        let id = task["task_id"].as_str().unwrap();
        let captures = entries
            .iter()
            .filter(|e| e["type"] == "capture" && e["task_id"] == id)
            .count();
        assert_eq!(captures, 1, "task {id} charged exactly once");
        assert_eq!(task["cost"]["charged"], 10);
        let file = gw.request_with(
            "GET",
            task["images"][0]["url"].as_str().unwrap(),
            Some(&erin.key),
            None,
        );
        assert_eq!(file.status, 200, "the output of {id} is stored");
    }
    // Holds of requests that never became tasks were released.
    let charged = 10 * tasks.len() as i64;
    assert_eq!(balance, 10_000 - charged);
    gw
}

#[test]
fn a_crash_during_synchronous_requests_charges_each_answer_once() {
    // The OpenAI face answers with the image, so its task and hold reach
    // the disk with the capture: a crash before that must leave no hold
    // open and charge nothing, and every image answered must stay charged
    // exactly once.
    let mut gw = Gateway::start_with_config(
        "[limits]\nmax_concurrent_tasks = 1000\nrequests_per_minute = 100000\n",
    );
    let gina = gw.account("gina@example.com", 100_000);
    let clients: Vec<_> = (0..4)
        .map(|c| {
            let (base, key) = (gw.base.clone(), gina.key.clone());
            std::thread::spawn(move || {
                let client = reqwest::blocking::Client::builder()
                    .timeout(Duration::from_secs(5))
                    .build()
                    .unwrap();
                let mut answered = Vec::new();
                for i in 0..2000 {
                    let body = json!({"model": "imini/canvas-image", "prompt": format!("harbour lights {c} {i}"), "size": "256x256", "response_format": "url"});
                    let Ok(answer) = client
                        .post(format!("{base}/v1/images/generations"))
                        .bearer_auth(&key)
                        .json(&body)
                        .send()
                    else {
                        break; // the gateway is gone
                    };
                    let status = answer.status();
                    let Ok(body) = answer.json::<Value>() else {
                        break; // cut off mid-answer
                    };
                    assert_eq!(status, 200, "{body}");
                    answered.push(body["id"].as_str().expect("a task id").to_string());
                }
                answered
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(800));
    gw.kill();
    let answered: Vec<String> = clients
        .into_iter()
        .flat_map(|c| c.join().unwrap())
        .collect();
    assert!(
        !answered.is_empty(),
        "images were answered before the crash"
    );
    gw.restart();

    // Every stored task is over. One nobody received is failed and
    // uncharged; only the request each client had in flight may have been
    // charged without its answer arriving, if the crash fell between the
    // capture's commit and the answer's last byte.
    let tasks = gw.tasks_when_all(&gina.key, "succeeded");
    let (balance, held) = assert_reconciles(&gw, &gina.id);
    assert_eq!(held, 0, "no hold is left open");
    let entries = gw.ledger(&gina.id);
    let captures = |id: &str| {
        entries
            .iter()
            .filter(|e| e["type"] == "capture" && e["task_id"] == id)
            .count()
    };
    for id in &answered {
        let task = tasks
            .iter()
            .find(|t| t["task_id"] == id.as_str())
            .unwrap_or_else(|| panic!("the answered task {id} survived the crash"));
        assert_eq!(task["status"], "succeeded");
        assert_eq!(captures(id), 1, "the answered task {id} is charged once");
    }
    let mut charged_unanswered = 0;
    for task in &tasks {
        let id = task["task_id"].as_str().unwrap();
        if answered.iter().any(|a| a == id) {
            continue;
        }
        match task["status"].as_str() {
            Some("failed") => assert_eq!(captures(id), 0, "unanswered {id} is not charged"),
            Some("succeeded") => {
                assert_eq!(captures(id), 1);
                charged_unanswered += 1;
            }
            other => panic!("task {id} is {other:?} after the restart"),
        }
    }
    assert!(
        charged_unanswered <= 4,
        "at most the request each of the 4 clients had in flight: {charged_unanswered}"
    );
    let charged = tasks
        .iter()
        .map(|t| captures(t["task_id"].as_str().unwrap()))
        .sum::<usize>();
    assert_eq!(balance, 100_000 - 10 * charged as i64);
}

#[test]
fn a_crash_while_synchronous_requests_wait_charges_none_of_them() {
    // Sixteen synchronous requests wait on a slow upstream while their
    // tasks and holds reach the disk with another commit; the gateway dies
    // before any is answered. Nobody received an image, so
    // after the restart none is charged, none runs again, and no hold is
    // left open.
    use base64::Engine as _;
    let image =
        base64::engine::general_purpose::STANDARD.encode(imini_tests::png(32, 32, [9, 9, 9]));
    let mock = imini_tests::mock::Mock::with_handler(move |_| {
        imini_tests::mock::Reply::json(
            200,
            &json!({"created": 1_713_833_628, "data": [{"b64_json": image}]}),
        )
        .delayed(Duration::from_secs(4))
    });
    let config = format!(
        r#"[credentials.openai]
value = "sk-test"
[plugin_settings.openai-images]
allowed_hosts = ["{host}"]
[plugin_settings.openai-images.config]
base_url = "{url}"
timeout_ms = 20000
[prices."openai/dall-e-3"]
per_image = 50
[limits]
max_concurrent_tasks = 100
"#,
        host = mock.host_port,
        url = mock.url,
    );
    let mut gw = Gateway::start_with_config(&config);
    let hana = gw.account("hana@example.com", 10_000);
    let clients: Vec<_> = (0..16)
        .map(|i| {
            let (base, key) = (gw.base.clone(), hana.key.clone());
            std::thread::spawn(move || {
                let body = json!({"model": "openai/dall-e-3", "prompt": format!("a slow sunrise {i}"), "response_format": "b64_json"});
                reqwest::blocking::Client::builder()
                    .timeout(Duration::from_secs(15))
                    .build()
                    .unwrap()
                    .post(format!("{base}/v1/images/generations"))
                    .bearer_auth(&key)
                    .json(&body)
                    .send()
                    .and_then(|a| a.error_for_status())
                    .is_ok()
            })
        })
        .collect();
    imini_tests::wait_until("every request to reach the upstream", || {
        mock.received().len() == 16
    });
    // Any durable write now (here an operator creating an account) puts
    // the queued tasks and their holds on disk with it, as sled's own
    // periodic write (every 500 ms) would.
    gw.account("someone-else@example.com", 1);
    gw.kill();
    let answered = clients
        .into_iter()
        .map(|c| c.join().unwrap())
        .filter(|&ok| ok)
        .count();
    assert_eq!(answered, 0, "the gateway died before answering");
    gw.restart();

    let tasks = gw.tasks_when_all(&hana.key, "failed");
    assert_eq!(tasks.len(), 16, "every task is kept, for the record");
    for task in &tasks {
        assert_eq!(task["status"], "failed", "{task}");
        assert_eq!(task["cost"]["charged"], 0, "{task}");
    }
    let (balance, held) = assert_reconciles(&gw, &hana.id);
    assert_eq!(
        (balance, held),
        (10_000, 0),
        "nothing charged, nothing held"
    );
    // None of them ran again: the upstream saw each request once.
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(mock.received().len(), 16, "no task was run again");
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

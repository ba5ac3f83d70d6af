//! Moving up: `imini store migrate` copies a stopped sled gateway's data
//! directory into PostgreSQL, and a gateway started on that database shows
//! every account the same views (balance, ledger, bills, tasks, files,
//! installed plugins) and goes on from there.

use std::process::Command;

use imini_tests::pg::Database;
use imini_tests::{Gateway, assert_reconciles, binary, guests, this_month};
use serde_json::{Value, json};

/// Runs `imini store migrate` with `args`; its exit status and output.
fn migrate(args: &[&std::ffi::OsStr]) -> (bool, String) {
    let out = Command::new(binary())
        .args(["store", "migrate"])
        .args(args)
        .env_remove("IMINI_STORE_URL")
        .env_remove("IMINI_CONFIG")
        .env_remove("IMINI_DATA_DIR")
        .output()
        .expect("run imini store migrate");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// `value` without the times a key was last used (reading the views uses
/// the key).
fn without_use_times(mut value: Value) -> Value {
    match &mut value {
        Value::Object(map) => {
            map.remove("last_used_at");
            for v in map.values_mut() {
                *v = without_use_times(v.take());
            }
        }
        Value::Array(items) => {
            for v in items {
                *v = without_use_times(v.take());
            }
        }
        _ => {}
    }
    value
}

/// What an account's holder and the operator see of it.
fn views(gw: &Gateway, account: &str, key: &str) -> Vec<(String, Value)> {
    let user = |path: &str| gw.request_with("GET", path, Some(key), None).json();
    let mut views = vec![
        ("admin account".to_string(), gw.account_view(account)),
        ("ledger".to_string(), Value::from(gw.ledger(account))),
        ("account".to_string(), user("/v1/account")),
        (
            "bill".to_string(),
            user(&format!("/v1/account/bills/{}", this_month())),
        ),
        ("usage".to_string(), user("/v1/account/usage?group_by=key")),
        ("disputes".to_string(), gw.get("/admin/v1/disputes").json()),
        ("changelog".to_string(), user("/v1/changelog")),
    ];
    let tasks = gw.tasks(key);
    for task in &tasks {
        let id = task["task_id"].as_str().expect("a task id");
        views.push((format!("task {id}"), user(&format!("/v1/tasks/{id}"))));
    }
    views.push(("tasks".to_string(), Value::from(tasks)));
    views
        .into_iter()
        .map(|(what, v)| (what, without_use_times(v)))
        .collect()
}

#[test]
fn a_sled_gateway_with_history_moves_to_postgresql_with_the_same_views() {
    let db = Database::create();
    let shared = tempfile::tempdir().unwrap();
    let replicas_config = format!("[media]\npath = {:?}\n", shared.path().join("media"));

    // A sled gateway with some history.
    let mut old = Gateway::start_embedded("");
    let acct = old.account("moving@example.com", 500);
    let generate = |gw: &Gateway, prompt: &str, idempotency: Option<&str>| {
        let body = json!({"model": "imini/canvas-image", "prompt": prompt, "size": "64x64"});
        let headers: Vec<(&str, &str)> = idempotency
            .map(|k| ("idempotency-key", k))
            .into_iter()
            .collect();
        let answer =
            gw.request_headers("POST", "/v1/images/generations", &acct.key, &body, &headers);
        assert_eq!(
            answer.status,
            200,
            "{}",
            String::from_utf8_lossy(&answer.body)
        );
        answer.json()
    };
    let first = generate(&old, "a lantern", Some("order-1"));
    generate(&old, "a harbour", None);
    old.submit_image(
        &acct.key,
        &json!({"model": "imini/canvas-image", "prompt": "a kite", "size": "64x64"}),
    );
    assert_eq!(old.tasks_when_all(&acct.key, "succeeded").len(), 3);
    for (action, body) in [
        ("refund", json!({"credits": 10, "reason": "blurry"})),
        ("adjust", json!({"credits": -5, "reason": "correction"})),
    ] {
        let answer = old.post(&format!("/admin/v1/accounts/{}/{action}", acct.id), &body);
        assert_eq!(
            answer.status,
            200,
            "{}",
            String::from_utf8_lossy(&answer.body)
        );
    }
    let dispute = old.request_with(
        "POST",
        &format!("/v1/account/bills/{}/disputes", this_month()),
        Some(&acct.key),
        Some(&json!({"reason": "one image was blank"})),
    );
    assert_eq!(dispute.status, 201);
    let price = old.post(
        "/admin/v1/prices",
        &json!({"model": "imini/canvas-image", "per_image": 20, "effective_at": "2099-01-01T00:00:00Z"}),
    );
    assert_eq!(
        price.status,
        201,
        "{}",
        String::from_utf8_lossy(&price.body)
    );
    let installed = old.install_plugin(
        std::fs::read(guests::SWAP_V1_WASM).unwrap(),
        &std::fs::read_to_string(guests::SWAP_V1_MANIFEST).unwrap(),
    );
    assert_eq!(
        installed.status,
        201,
        "{}",
        String::from_utf8_lossy(&installed.body)
    );
    let image_url = first["data"][0]["url"].as_str().unwrap().to_string();
    let image = old.get_url(&image_url).body;
    let before = views(&old, &acct.id, &acct.key);

    // While the gateway runs, its data directory is refused.
    let data = old.data_dir.clone();
    let config_path = shared.path().join("imini.toml");
    std::fs::write(&config_path, &replicas_config).unwrap();
    let url = db.url();
    let args = [
        "--from".as_ref(),
        data.as_os_str(),
        "--to".as_ref(),
        url.as_ref(),
        "--config".as_ref(),
        config_path.as_os_str(),
    ];
    let (ok, out) = migrate(&args);
    assert!(!ok && out.contains("stop the gateway"), "{out}");

    old.stop();
    let (ok, out) = migrate(&args);
    assert!(ok, "{out}");
    assert!(out.contains("ledgers verified: 1 accounts"), "{out}");
    assert!(out.contains("0 already there, 0 missing"), "{out}");
    // Once is enough: a second copy into the same database is refused.
    let (ok, again) = migrate(&args);
    assert!(
        !ok && again.contains("already holds imini records"),
        "{again}"
    );

    // A replica on PostgreSQL, with its own (empty) data directory.
    let new = Gateway::start_on_database(&replicas_config, std::sync::Arc::new(db), &[]);
    let after = views(&new, &acct.id, &acct.key);
    for ((what, was), (_, is)) in before.iter().zip(&after) {
        assert_eq!(was, is, "{what} is the same after the move");
    }
    assert_eq!(before.len(), after.len());

    // The signed URL (made with the copied signing secret) serves the same
    // image from the shared media; the idempotent request still replays.
    let moved_url = image_url.replace(&old.base, &new.base);
    assert_eq!(new.get_url(&moved_url).body, image);
    let replay = generate(&new, "a lantern", Some("order-1"));
    assert_eq!(replay["id"], first["id"]);
    // The installed plugin version serves, its files fetched from the
    // database; and the account goes on from its balance.
    assert_eq!(new.get("/v1/models/test/swap").status, 200);
    let balance = new.account_view(&acct.id)["credit_balance"]
        .as_i64()
        .unwrap();
    generate(&new, "a new start", None);
    let (after_one, held) = assert_reconciles(&new, &acct.id);
    assert_eq!(held, 0);
    assert!(after_one < balance, "the next image is charged");
}

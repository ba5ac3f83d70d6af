//! Restarts: state survives a crash, plugins come back from the cache.

use imini_tests::{Gateway, decode_png};
use serde_json::{Value, json};

#[test]
fn a_restart_after_a_crash_keeps_tasks_and_files_and_skips_compiling() {
    // A cache of its own, empty at first (not the one the suite shares).
    let cache = tempfile::tempdir().unwrap();
    let mut gw = Gateway::start_with_env(
        "",
        &[("IMINI_PLUGIN_CACHE", cache.path().to_str().unwrap())],
    );
    assert!(
        gw.logs().contains("plugin=canvas@0.1.0") && gw.logs().contains("from_cache=false"),
        "{}",
        gw.logs()
    );
    let answer = gw.post("/v1/images/generations", &json!({"prompt": "a purple desert at sunset", "size": "128x128", "response_format": "url"}));
    assert_eq!(answer.status, 200);
    let task_id = answer.json()["id"].as_str().unwrap().to_string();

    gw.kill(); // SIGKILL, like a crash
    gw.restart();
    let plugins = gw.get("/admin/v1/plugins").json();
    let canvas = plugins["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "canvas")
        .expect("canvas listed")
        .clone();
    assert_eq!(
        canvas["from_cache"], true,
        "the canvas plugin came from the cache: {canvas}"
    );

    let task = gw.get(&format!("/v1/tasks/{task_id}")).json();
    assert_eq!(task["status"], "succeeded");
    let file = gw.get(task["images"][0]["url"].as_str().unwrap());
    assert_eq!(file.status, 200);
    assert_eq!(decode_png(&file.body).0, 128);
}

#[test]
fn sigterm_stops_gracefully() {
    let mut gw = Gateway::start();
    let status = gw.stop();
    assert!(status.success(), "exit status {status:?}");
    assert!(gw.logs().contains("imini stopped"));
}

#[test]
fn each_account_lists_its_own_tasks_also_after_an_upgrade_from_before_the_owner_index() {
    if imini_tests::pg::skip_on_postgres(
        "it writes a sled data directory as an earlier version left it",
    ) {
        return;
    }
    let mut gw = Gateway::start();
    let ann = gw.account("ann@example.com", 1_000);
    let ben = gw.account("ben@example.com", 1_000);
    let submit = |key: &str, i: usize| -> String {
        let body = json!({"model": "imini/canvas-image", "prompt": format!("tide pool {i}"), "size": "64x64"});
        gw.submit_image(key, &body)
    };
    // Interleaved, so neither account's tasks are contiguous.
    let (mut anns, mut bens) = (Vec::new(), Vec::new());
    for i in 0..5 {
        anns.push(submit(&ann.key, i));
        if i < 3 {
            bens.push(submit(&ben.key, i));
        }
    }
    anns.reverse();
    bens.reverse();
    let ids = |tasks: Vec<Value>| -> Vec<String> {
        tasks
            .iter()
            .map(|t| t["task_id"].as_str().unwrap().to_string())
            .collect()
    };
    let listed = |gw: &Gateway| {
        // Newest first, in pages of two.
        let mut pages = Vec::new();
        let mut after = String::new();
        loop {
            let path = format!("/v1/tasks?limit=2{after}");
            let page = gw.request_with("GET", &path, Some(&ann.key), None).json();
            let data = page["data"].as_array().unwrap().clone();
            assert!(data.len() <= 2, "{page}");
            pages.extend(data);
            if page["has_more"] != true {
                break;
            }
            after = format!("&after={}", page["last_id"].as_str().unwrap());
        }
        (ids(pages), ids(gw.tasks(&ben.key)))
    };
    assert_eq!(listed(&gw), (anns.clone(), bens.clone()));

    // A data directory written before the index existed: the next start
    // builds it from the stored tasks.
    assert!(gw.stop().success());
    let db = sled::open(gw.data_dir.join("db")).unwrap();
    assert!(
        db.drop_tree("tasks_by_owner").unwrap(),
        "the index was stored"
    );
    db.flush().unwrap();
    drop(db);
    gw.restart();
    assert!(
        gw.logs().contains("indexed the stored tasks by owner"),
        "{}",
        gw.logs()
    );
    assert_eq!(listed(&gw), (anns, bens));
}

#[test]
fn a_compressed_data_directory_keeps_its_state_and_refuses_to_be_opened_uncompressed() {
    // sled's setting; on PostgreSQL it would be refused as a sled-only one.
    let mut gw = Gateway::start_on_sled("[store]\ncompression = true\n");
    assert!(gw.logs().contains("compressed"), "{}", gw.logs());
    let answer = gw.post(
        "/v1/images/generations",
        &json!({"prompt": "a compressed harbour", "size": "64x64", "response_format": "url"}),
    );
    assert_eq!(answer.status, 200);
    let task_id = answer.json()["id"].as_str().unwrap().to_string();
    gw.kill();
    gw.restart();
    let task = gw.get(&format!("/v1/tasks/{task_id}")).json();
    assert_eq!(task["status"], "succeeded", "{task}");
    gw.kill();

    // The same data directory, configured the other way: a clear refusal,
    // and nothing changed (it still opens as it was made).
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("imini.toml");
    std::fs::write(&config, "[store]\ncompression = false\n").unwrap();
    let out = std::process::Command::new(imini_tests::binary())
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(&gw.data_dir)
        .arg("--config")
        .arg(&config)
        .env("IMINI_ADMIN_KEY", "imini_admin_unused_0123456789")
        .env_remove("IMINI_CONFIG")
        .env_remove("IMINI_STORE_URL")
        .env_remove("IMINI_REDIS_URL")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("was created with compression on")
            && stderr.contains("set [store] compression = true"),
        "{stderr}"
    );
    gw.restart();
    let task = gw.get(&format!("/v1/tasks/{task_id}")).json();
    assert_eq!(task["status"], "succeeded", "{task}");
}

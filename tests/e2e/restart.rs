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
fn on_the_shared_runtime_or_on_threads_of_its_own_it_answers_concurrent_requests_and_stops_gracefully()
 {
    for threads in [0, 3] {
        let mut gw = Gateway::start_with_config(&format!("[server]\nthreads = {threads}"));
        let ann = gw.account("ann@example.com", 1_000);
        // Eight clients at once, each on connections of its own.
        let answers: Vec<_> = std::thread::scope(|s| {
            let calls: Vec<_> = (0..8)
                .map(|i| {
                    let (gw, key) = (&gw, &ann.key);
                    s.spawn(move || {
                        let body = json!({"model": "imini/canvas-image", "prompt": format!("a kite {i}"), "size": "64x64", "response_format": "url"});
                        gw.request_with("POST", "/v1/images/generations", Some(key), Some(&body))
                    })
                })
                .collect();
            calls.into_iter().map(|c| c.join().unwrap()).collect()
        });
        for answer in &answers {
            assert_eq!(answer.status, 200, "threads = {threads}: {}", answer.json());
            let file = gw.get_url(answer.json()["data"][0]["url"].as_str().unwrap());
            assert_eq!(decode_png(&file.body).0, 64, "threads = {threads}");
        }
        imini_tests::assert_reconciles(&gw, &ann.id);
        let status = gw.stop();
        assert!(
            status.success(),
            "threads = {threads}: exit status {status:?}"
        );
        assert!(gw.logs().contains("imini stopped"), "{}", gw.logs());
    }
}

#[test]
fn each_account_lists_its_own_tasks_also_after_an_upgrade_from_before_the_owner_index() {
    if imini_tests::pg::skip_on_postgres("it writes a data directory as an earlier version left it")
    {
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
    {
        let db = imini_tests::embedded::open(&gw.data_dir);
        let index = imini_tests::embedded::keyspace(&db, "tasks_by_owner");
        assert!(!index.is_empty().unwrap(), "the index was stored");
        db.delete_keyspace(index).unwrap();
        db.persist(fjall::PersistMode::SyncAll).unwrap();
    }
    gw.restart();
    assert!(
        gw.logs().contains("indexed the stored tasks by owner"),
        "{}",
        gw.logs()
    );
    assert_eq!(listed(&gw), (anns, bens));
}

#[test]
fn a_data_directory_of_an_earlier_version_on_sled_is_copied_at_its_first_start() {
    // With sled's compression setting, which no longer does anything: the
    // configuration file of an earlier version still loads.
    let mut gw = Gateway::start_embedded("[store]\ncompression = true\n");
    assert!(
        gw.logs()
            .contains("store.compression no longer has an effect"),
        "{}",
        gw.logs()
    );
    let ann = gw.account("ann@example.com", 1_000);
    let answer = gw.request_with(
        "POST",
        "/v1/images/generations",
        Some(&ann.key),
        Some(&json!({"prompt": "a harbour before the upgrade", "size": "64x64", "response_format": "url"})),
    );
    assert_eq!(answer.status, 200, "{}", answer.json());
    let task_id = answer.json()["id"].as_str().unwrap().to_string();
    let before = gw
        .request_with("GET", &format!("/v1/tasks/{task_id}"), Some(&ann.key), None)
        .json();
    let file_path = before["images"][0]["url"].as_str().unwrap().to_string();
    let image = gw.request_with("GET", &file_path, Some(&ann.key), None);
    assert_eq!(image.status, 200);
    let ledger = gw.ledger(&ann.id);
    assert!(gw.stop().success());

    // The data directory as the version before fjall left it.
    let records = imini_tests::embedded::back_to_sled(&gw.data_dir);
    assert!(records > 10, "{records} records");
    gw.restart();
    let logs = gw.logs();
    assert!(logs.contains("copied the sled database to fjall"), "{logs}");
    assert!(gw.data_dir.join("db.before-fjall").join("conf").is_file());
    assert!(!gw.data_dir.join("db").exists());

    // The same account, key, task, file and ledger; and it goes on.
    let task = gw
        .request_with("GET", &format!("/v1/tasks/{task_id}"), Some(&ann.key), None)
        .json();
    assert_eq!(task["status"], "succeeded", "{task}");
    assert_eq!(task, before);
    let file = gw.request_with("GET", &file_path, Some(&ann.key), None);
    assert_eq!((file.status, &file.body), (200, &image.body));
    assert_eq!(gw.ledger(&ann.id), ledger);
    let again = gw.request_with(
        "POST",
        "/v1/images/generations",
        Some(&ann.key),
        Some(&json!({"prompt": "a harbour after the upgrade", "size": "64x64", "response_format": "url"})),
    );
    assert_eq!(again.status, 200, "{}", again.json());
    assert_eq!(gw.ledger(&ann.id).len(), ledger.len() + 2);

    // The next start copies nothing.
    gw.kill();
    gw.restart();
    assert_eq!(
        gw.logs()
            .matches("copied the sled database to fjall")
            .count(),
        1,
        "{}",
        gw.logs()
    );
    assert_eq!(gw.ledger(&ann.id).len(), ledger.len() + 2);
}

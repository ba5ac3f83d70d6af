//! Restarts: state survives a crash, plugins come back from the cache.

use imini_tests::{Gateway, decode_png};
use serde_json::json;

#[test]
fn a_restart_after_a_crash_keeps_tasks_and_files_and_skips_compiling() {
    let mut gw = Gateway::start();
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

//! Scheduled prices and the changelog.

use imini_tests::{Gateway, assert_error};
use serde_json::json;

fn charged(gw: &Gateway, key: &str) -> i64 {
    let body = json!({"model": "imini/canvas-image", "prompt": "a price tag", "size": "64x64"});
    let answer = gw.request_with("POST", "/v1/images/generations", Some(key), Some(&body));
    assert_eq!(
        answer.status,
        200,
        "{}",
        String::from_utf8_lossy(&answer.body)
    );
    let task_id = answer.json()["id"].as_str().unwrap().to_string();
    gw.request_with("GET", &format!("/v1/tasks/{task_id}"), Some(key), None)
        .json()["cost"]["charged"]
        .as_i64()
        .unwrap()
}

#[test]
fn a_task_pays_the_price_in_force_when_it_was_submitted() {
    let gw = Gateway::start_with_config("[prices.\"imini/canvas-image\"]\nper_image = 12\n");
    let acct = gw.account("prices@example.com", 1000);
    assert_eq!(charged(&gw, &acct.key), 12, "the configured price");

    // A change scheduled for later does not apply yet.
    let later = gw.post("/admin/v1/prices", &json!({"model": "imini/canvas-image", "per_image": 50, "effective_at": "2099-01-01T00:00:00Z"}));
    assert_eq!(
        later.status,
        201,
        "{}",
        String::from_utf8_lossy(&later.body)
    );
    assert_eq!(charged(&gw, &acct.key), 12);

    // One whose time has come applies to the next task.
    let now = gw.post("/admin/v1/prices", &json!({"model": "imini/canvas-image", "per_image": 30, "effective_at": "2020-01-01T00:00:00Z"}));
    assert_eq!(now.status, 201);
    assert_eq!(charged(&gw, &acct.key), 30);
    let model = gw.get("/v1/models/imini/canvas-image").json();
    assert_eq!(model["pricing"], json!([{"unit": "image", "credits": 30}]));

    let log = gw
        .request_with("GET", "/v1/changelog", Some(&acct.key), None)
        .json();
    let entries = log["data"].as_array().unwrap();
    let price_changes: Vec<_> = entries
        .iter()
        .filter(|e| e["type"] == "price_changed")
        .collect();
    assert_eq!(price_changes.len(), 2);
    assert!(price_changes.iter().any(|e| e["effective_at"] == "2099-01-01T00:00:00Z" && e["details"]["per_image"] == 50));
    assert!(
        entries
            .iter()
            .any(|e| e["type"] == "model_launched" && e["model"] == "imini/canvas-image")
    );

    assert_error(
        &gw.post(
            "/admin/v1/prices",
            &json!({"model": "nobody/none", "per_image": 1}),
        ),
        404,
        "MODEL_NOT_FOUND",
    );
    assert_error(
        &gw.post(
            "/admin/v1/prices",
            &json!({"model": "imini/canvas-image", "per_image": -1}),
        ),
        400,
        "INVALID_PARAMETER",
    );
    assert_error(
        &gw.post(
            "/admin/v1/prices",
            &json!({"model": "imini/canvas-image", "per_image": 1, "effective_at": "tomorrow"}),
        ),
        400,
        "INVALID_PARAMETER",
    );
    assert_error(
        &gw.request_with(
            "POST",
            "/admin/v1/prices",
            Some(&acct.key),
            Some(&json!({"model": "imini/canvas-image", "per_image": 1})),
        ),
        403,
        "PERMISSION_DENIED",
    );
}

#[test]
fn launches_are_announced_once() {
    let mut gw = Gateway::start();
    gw.restart();
    let log = gw.get("/v1/changelog").json();
    let launches = log["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"] == "model_launched")
        .count();
    assert_eq!(
        launches, 2,
        "canvas-image and canvas-video, once each across restarts"
    );
}

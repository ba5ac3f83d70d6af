//! Retention: outputs and references are deleted after the configured
//! period; the task record stays for billing.

use std::time::{Duration, Instant};

use imini_tests::Gateway;
use serde_json::json;

#[test]
fn outputs_and_references_are_deleted_after_the_retention_period() {
    // 0.00002 days is about 1.7 seconds.
    let gw = Gateway::start_with_config("[retention]\ndays = 0.00002\n");
    let acct = gw.account("privacy@example.com", 100);
    let answer = gw.request_with(
        "POST",
        "/v1/images/generations",
        Some(&acct.key),
        Some(&json!({"prompt": "a private garden", "size": "64x64", "response_format": "url"})),
    );
    assert_eq!(answer.status, 200);
    let task_id = answer.json()["id"].as_str().unwrap().to_string();
    let task = gw
        .request_with(
            "GET",
            &format!("/v1/tasks/{task_id}"),
            Some(&acct.key),
            None,
        )
        .json();
    let file_url = task["images"][0]["url"].as_str().unwrap().to_string();
    assert_eq!(
        gw.request_with("GET", &file_url, Some(&acct.key), None)
            .status,
        200
    );

    let started = Instant::now();
    loop {
        let task = gw
            .request_with(
                "GET",
                &format!("/v1/tasks/{task_id}"),
                Some(&acct.key),
                None,
            )
            .json();
        if task["purged"] == true {
            assert_eq!(task["status"], "succeeded", "the record stays");
            assert_eq!(task["cost"]["charged"], 10, "and so does what it cost");
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "not purged in time: {task}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(
        gw.request_with("GET", &file_url, Some(&acct.key), None)
            .status,
        404,
        "the output is gone"
    );
}

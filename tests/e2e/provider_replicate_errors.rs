//! The bundled `replicate` adapter's failures, against the loopback mock
//! of `provider_replicate`: predictions that end `failed` or `canceled`
//! upstream, and every error class of the create call. Each fails the task
//! with the right code and releases the hold in full.

use std::time::{Duration, Instant};

use imini_tests::mock::Reply;
use imini_tests::{assert_error, assert_reconciles};
use serde_json::{Value, json};

use super::provider_replicate::{
    CREATE_PATH, CREDITS, TOKEN, Upstream, prediction, setup, start_task, task, wait_final,
};
use imini_tests::assert_refunded;

fn replicate_error(status: u16, title: &str, detail: &str) -> Reply {
    Reply::json(
        status,
        &json!({"detail": detail, "status": status, "title": title}),
    )
}

/// Runs one prediction whose final fields are `outcome`, asserts the task
/// failed with `code` and its hold was released in full; returns the task.
fn prediction_fails(outcome: Value, code: &str) -> Value {
    let upstream = Upstream::default();
    upstream.finish();
    let (gw, _mock, dave) = setup(upstream.handler(move |_| outcome.clone(), Vec::new()));
    let id = start_task(&gw, &dave);
    let (view, _) = wait_final(&gw, &dave, &id);
    assert_eq!(view["status"], "failed", "{view}");
    assert_eq!(view["error"]["code"], code, "{view}");
    assert_eq!(
        view["cost"],
        json!({"held": 6, "charged": 0, "refunded": 6})
    );
    assert_refunded(&gw, &dave.id, &id, 6);
    assert_eq!(assert_reconciles(&gw, &dave.id), (CREDITS, 0));
    let logs = gw.logs();
    assert!(!logs.contains(TOKEN), "the token is never logged");
    json!({"task": view, "logs": logs})
}

#[test]
fn a_failed_prediction_fails_the_task_and_releases_the_hold() {
    let failed = prediction_fails(
        json!({"status": "failed", "error": "CUDA error: out of memory", "logs": "Traceback…"}),
        "UPSTREAM_ERROR",
    );
    assert!(
        failed["logs"]
            .as_str()
            .unwrap()
            .contains("CUDA error: out of memory"),
        "the operator sees Replicate's error in the log"
    );
}

#[test]
fn an_nsfw_failure_is_a_content_policy_violation() {
    prediction_fails(
        json!({"status": "failed",
               "error": "All generated images contained NSFW content. Try running it again with a different prompt."}),
        "CONTENT_POLICY_VIOLATION",
    );
}

#[test]
fn a_prediction_canceled_upstream_fails_the_task() {
    prediction_fails(json!({"status": "canceled"}), "UPSTREAM_ERROR");
}

/// Runs one generation whose create call is answered with `reply`, asserts
/// the caller gets `status`/`code`, that the task failed with that code and
/// that the hold was released in full. Returns the error and the log.
fn create_fails_with(reply: Reply, status: u16, code: &str) -> (Value, String) {
    let reply_has_retry_after = reply.headers.iter().any(|(n, _)| n == "retry-after");
    let (gw, mock, erin) = setup(move |_| reply.clone());
    let started = Instant::now();
    let answer = gw.request_with(
        "POST",
        "/v1/images/generations",
        Some(&erin.key),
        Some(&json!({"model": "replicate/flux-schnell", "prompt": "a cat", "size": "1024x1024"})),
    );
    let error = assert_error(&answer, status, code);
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "failed promptly, not after a long wait"
    );
    let received = mock.received();
    // A short Retry-After is waited out once; otherwise there is one call.
    let calls = if reply_has_retry_after { 2 } else { 1 };
    assert_eq!(received.len(), calls, "create calls, no polls");
    assert!(received.iter().all(|r| r.path == CREATE_PATH));

    let task_id = error["task_id"].as_str().expect("the task is named");
    let view = task(&gw, &erin, task_id);
    assert_eq!(view["status"], "failed");
    assert_eq!(view["error"]["code"], code);
    assert_eq!(
        view["cost"],
        json!({"held": 3, "charged": 0, "refunded": 3})
    );
    assert_refunded(&gw, &erin.id, task_id, 3);
    assert_eq!(assert_reconciles(&gw, &erin.id), (CREDITS, 0));
    let logs = gw.logs();
    assert!(!logs.contains(TOKEN), "the token is never logged");
    (error, logs)
}

#[test]
fn a_401_is_an_upstream_error_naming_the_credential() {
    let (error, logs) = create_fails_with(
        replicate_error(
            401,
            "Unauthenticated",
            "You did not pass a valid authentication token",
        ),
        502,
        "UPSTREAM_ERROR",
    );
    assert!(
        error["message"].as_str().unwrap().contains("credential"),
        "{error}"
    );
    assert!(
        logs.contains("You did not pass a valid authentication token"),
        "{logs}"
    );
}

#[test]
fn a_422_is_an_invalid_parameter_with_replicates_detail() {
    let (error, _) = create_fails_with(
        replicate_error(
            422,
            "Input validation failed",
            "- input.num_inference_steps: Must be less than or equal to 4",
        ),
        400,
        "INVALID_PARAMETER",
    );
    let message = error["message"].as_str().unwrap();
    assert!(
        message.contains("input.num_inference_steps: Must be less than or equal to 4"),
        "Replicate's detail reaches the caller: {message}"
    );
}

#[test]
fn a_429_with_retry_after_is_an_upstream_error() {
    let (error, logs) = create_fails_with(
        replicate_error(
            429,
            "Request was throttled",
            "Request was throttled. Expected available in 2 seconds.",
        )
        .header("retry-after", "1"),
        502,
        "UPSTREAM_ERROR",
    );
    assert!(
        error["message"].as_str().unwrap().contains("rate-limiting"),
        "{error}"
    );
    assert!(logs.contains("Expected available in 2 seconds"), "{logs}");
}

#[test]
fn a_500_is_an_upstream_error() {
    create_fails_with(
        replicate_error(500, "Internal Server Error", "Something went wrong"),
        502,
        "UPSTREAM_ERROR",
    );
}

#[test]
fn malformed_json_is_an_upstream_error() {
    create_fails_with(
        Reply::bytes(
            201,
            "application/json",
            b"{\"id\": \"abc\", \"status\": ".to_vec(),
        ),
        502,
        "UPSTREAM_ERROR",
    );
}

#[test]
fn a_create_call_slower_than_timeout_ms_is_an_upstream_timeout() {
    create_fails_with(
        Reply::json(201, &prediction("127.0.0.1", "starting", json!({})))
            .delayed(Duration::from_millis(2_000)),
        504,
        "UPSTREAM_TIMEOUT",
    );
}

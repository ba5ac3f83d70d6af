//! Every reachable error answers the documented status, code and shape, and
//! changes nothing.

use imini_tests::{ADMIN_KEY, Gateway, assert_error};
use serde_json::json;

fn task_count(gw: &Gateway) -> usize {
    gw.get("/v1/tasks?limit=100").json()["data"]
        .as_array()
        .expect("list")
        .len()
}

#[test]
fn bad_requests_get_documented_errors_and_create_nothing() {
    let gw = Gateway::start();
    let path = "/v1/images/generations";

    let e = assert_error(
        &gw.raw("POST", path, "application/json", b"{not json".to_vec()),
        400,
        "INVALID_PARAMETER",
    );
    assert_eq!(e["type"], "invalid_request_error");
    let e = assert_error(
        &gw.post(path, &json!({"size": "256x256"})),
        400,
        "INVALID_PARAMETER",
    );
    assert_eq!(e["param"], "prompt", "a missing field is named");
    let e = assert_error(
        &gw.post(
            path,
            &json!({"prompt": "x", "size": "256x256", "colour": "red"}),
        ),
        400,
        "INVALID_PARAMETER",
    );
    assert_eq!(e["param"], "colour", "an unknown field is named");
    let e = assert_error(
        &gw.post(path, &json!({"prompt": "x", "n": "two"})),
        400,
        "INVALID_PARAMETER",
    );
    assert_eq!(e["param"], "n");
    let e = assert_error(
        &gw.post(path, &json!({"model": "nobody/nothing", "prompt": "x"})),
        404,
        "MODEL_NOT_FOUND",
    );
    assert_eq!(e["type"], "not_found_error");
    let e = assert_error(
        &gw.post(path, &json!({"prompt": "x", "size": "big"})),
        400,
        "INVALID_PARAMETER",
    );
    assert_eq!(e["param"], "size");
    let e = assert_error(
        &gw.post(path, &json!({"prompt": "x", "size": "9000x9000"})),
        400,
        "INVALID_PARAMETER",
    );
    assert_eq!(e["param"], "size");
    let e = assert_error(
        &gw.post(path, &json!({"prompt": "x", "n": 9})),
        400,
        "INVALID_PARAMETER",
    );
    assert_eq!(e["param"], "n");
    assert_error(
        &gw.post(path, &json!({"prompt": "   "})),
        400,
        "INVALID_PROMPT",
    );
    assert_error(
        &gw.post(path, &json!({"prompt": "x", "stream": true})),
        400,
        "UNSUPPORTED_PARAMETER",
    );
    assert_error(
        &gw.post(path, &json!({"prompt": "x", "response_format": "gif"})),
        400,
        "INVALID_PARAMETER",
    );
    assert_error(
        &gw.post(path, &json!({"model": "imini/canvas-video", "prompt": "x"})),
        400,
        "INVALID_PARAMETER",
    );
    assert_error(
        &gw.raw("POST", path, "text/plain", b"prompt=x".to_vec()),
        415,
        "UNSUPPORTED_MEDIA_TYPE",
    );

    let native = "/v1/images/generate";
    let e = assert_error(
        &gw.post(
            native,
            &json!({"model": "imini/canvas-image", "prompt": "x", "aspect_ratio": "7:5"}),
        ),
        400,
        "INVALID_PARAMETER",
    );
    assert_eq!(e["param"], "aspect_ratio");
    let e = assert_error(
        &gw.post(
            native,
            &json!({"model": "imini/canvas-image", "prompt": "x", "resolution": "8K"}),
        ),
        400,
        "INVALID_PARAMETER",
    );
    assert_eq!(e["param"], "resolution");
    let e = assert_error(
        &gw.post(native, &json!({"prompt": "x"})),
        400,
        "INVALID_PARAMETER",
    );
    assert_eq!(e["param"], "model");

    assert_eq!(task_count(&gw), 0, "no failed request created a task");
}

#[test]
fn keys_are_required_and_checked() {
    let gw = Gateway::start();
    let body = json!({"prompt": "x"});
    let e = assert_error(
        &gw.request_with("POST", "/v1/images/generations", None, Some(&body)),
        401,
        "INVALID_API_KEY",
    );
    assert_eq!(e["type"], "authentication_error");
    assert_error(
        &gw.request_with(
            "POST",
            "/v1/images/generations",
            Some("imini_admin_wrong"),
            Some(&body),
        ),
        401,
        "INVALID_API_KEY",
    );
    assert_error(
        &gw.request_with("GET", "/v1/models", Some(&format!("{ADMIN_KEY}x")), None),
        401,
        "INVALID_API_KEY",
    );
    assert_error(
        &gw.request_with(
            "GET",
            "/v1/tasks/task_01a20d1a29117411985b9bcc797cb949",
            None,
            None,
        ),
        401,
        "INVALID_API_KEY",
    );
    assert_eq!(task_count(&gw), 0);
}

#[test]
fn oversized_bodies_get_413() {
    let gw = Gateway::start_with_config("[server]\nmax_body_bytes = 4096\n");
    let big = json!({"prompt": "x".repeat(10_000)});
    let e = assert_error(
        &gw.post("/v1/images/generations", &big),
        413,
        "PAYLOAD_TOO_LARGE",
    );
    assert_eq!(e["type"], "invalid_request_error");
    assert_eq!(task_count(&gw), 0);
}

#[test]
fn unknown_things_are_404_in_the_error_shape() {
    let gw = Gateway::start();
    assert_error(&gw.get("/v1/nothing-here"), 404, "NOT_FOUND");
    assert_error(
        &gw.get("/v1/tasks/task_01a20d1a29117411985b9bcc797cb949"),
        404,
        "TASK_NOT_FOUND",
    );
    assert_error(&gw.get("/v1/tasks/not-an-id"), 404, "TASK_NOT_FOUND");
    assert_error(
        &gw.get("/v1/files/file_01a20d1a29117411985b9bcc797cb949/content"),
        404,
        "NOT_FOUND",
    );
    assert_error(&gw.get("/v1/models/nobody/nothing"), 404, "MODEL_NOT_FOUND");
    assert_error(
        &gw.request("DELETE", "/v1/models", None),
        405,
        "METHOD_NOT_ALLOWED",
    );
}

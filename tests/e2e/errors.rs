//! Every reachable error answers the documented status, code and shape, and
//! changes nothing.

use imini_tests::{ADMIN_KEY, Answer, Gateway, assert_error};
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
    // A native request without a model gets the default one; a model
    // that is not text is named.
    let e = assert_error(
        &gw.post(native, &json!({"model": 7, "prompt": "x"})),
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

/// Sends `body` as `content_type` with `key`.
fn raw_with(gw: &Gateway, path: &str, key: &str, content_type: &str, body: &[u8]) -> Answer {
    let response = reqwest::blocking::Client::new()
        .post(format!("{}{path}", gw.base))
        .bearer_auth(key)
        .header("content-type", content_type)
        .body(body.to_vec())
        .send()
        .expect("request");
    Answer {
        status: response.status().as_u16(),
        headers: response.headers().clone(),
        body: response.bytes().expect("body").to_vec(),
    }
}

/// Asserts the error shape of `answer`, served as JSON.
fn assert_json_error(answer: &Answer, status: u16, code: &str) -> serde_json::Value {
    assert_eq!(
        answer
            .headers
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("application/json"),
        "the error is JSON; body: {}",
        String::from_utf8_lossy(&answer.body)
    );
    let e = assert_error(answer, status, code);
    assert!(
        e["request_id"]
            .as_str()
            .is_some_and(|r| r.starts_with("req_")),
        "{e}"
    );
    e
}

#[test]
fn undecodable_path_parameters_are_400_in_the_error_shape() {
    let gw = Gateway::start();
    let acct = gw.account("paths@example.com", 100);
    let bad = "%ff%fe";
    // Every route of the router with a path parameter: (method, path, the
    // parameter at fault, whether it is an admin route). Where a route has
    // two parameters, each is tried.
    let routes: &[(&str, String, &str, bool)] = &[
        (
            "GET",
            format!("/v1/models/{bad}/canvas-image"),
            "vendor",
            false,
        ),
        ("GET", format!("/v1/models/imini/{bad}"), "name", false),
        ("GET", format!("/v1/images/tasks/{bad}"), "task_id", false),
        ("GET", format!("/v1/tasks/{bad}"), "task_id", false),
        ("POST", format!("/v1/tasks/{bad}/cancel"), "task_id", false),
        ("GET", format!("/v1/videos/tasks/{bad}"), "task_id", false),
        ("GET", format!("/v1/videos/{bad}"), "video_id", false),
        (
            "GET",
            format!("/v1/videos/{bad}/content"),
            "video_id",
            false,
        ),
        ("GET", format!("/v1/files/{bad}/content"), "file_id", false),
        ("GET", format!("/v1/account/bills/{bad}"), "month", false),
        (
            "POST",
            format!("/v1/account/bills/{bad}/disputes"),
            "month",
            false,
        ),
        ("DELETE", format!("/v1/keys/{bad}"), "key_id", false),
        ("POST", format!("/v1/keys/{bad}/rotate"), "key_id", false),
        (
            "POST",
            format!("/admin/v1/disputes/{bad}/accept"),
            "dispute_id",
            true,
        ),
        (
            "POST",
            format!("/admin/v1/disputes/disp_1/{bad}"),
            "action",
            true,
        ),
        ("GET", format!("/admin/v1/plugins/{bad}"), "name", true),
        (
            "POST",
            format!("/admin/v1/plugins/{bad}/rollback"),
            "name",
            true,
        ),
        (
            "POST",
            format!("/admin/v1/plugins/canvas/{bad}"),
            "action",
            true,
        ),
        (
            "GET",
            format!("/admin/v1/accounts/{bad}"),
            "account_id",
            true,
        ),
        (
            "GET",
            format!("/admin/v1/accounts/{bad}/ledger"),
            "account_id",
            true,
        ),
        (
            "POST",
            format!("/admin/v1/accounts/{bad}/suspend"),
            "account_id",
            true,
        ),
        (
            "POST",
            format!("/admin/v1/accounts/{}/{bad}", acct.id),
            "action",
            true,
        ),
        (
            "POST",
            format!("/admin/v1/keys/{bad}/suspend"),
            "key_id",
            true,
        ),
        (
            "POST",
            format!("/admin/v1/keys/{}/{bad}", acct.key_id),
            "action",
            true,
        ),
        ("GET", format!("/admin/v1/flags/{bad}"), "flag_id", true),
        (
            "POST",
            format!("/admin/v1/appeals/{bad}/accept"),
            "appeal_id",
            true,
        ),
        (
            "POST",
            format!("/admin/v1/appeals/appeal_1/{bad}"),
            "action",
            true,
        ),
    ];
    for (method, path, param, admin) in routes {
        let key = if *admin { ADMIN_KEY } else { acct.key.as_str() };
        let body = (*method == "POST").then(|| json!({}));
        let answer = gw.request_with(method, path, Some(key), body.as_ref());
        let e = assert_json_error(&answer, 400, "INVALID_PARAMETER");
        assert_eq!(e["param"], *param, "{method} {path}: {e}");
        assert_eq!(e["type"], "invalid_request_error", "{method} {path}");
    }
    assert_eq!(task_count(&gw), 0, "nothing was created");
}

#[test]
fn malformed_or_partial_signed_urls_are_403() {
    let gw = Gateway::start();
    let url = gw.image_url(&json!({"prompt": "a signed lighthouse", "size": "64x64"}));
    assert_eq!(gw.get_url(&url).status, 200, "the signed URL works");
    let (path, query) = url.split_once('?').expect("a signed URL has a query");
    let param = |name: &str| {
        query
            .split('&')
            .find_map(|kv| kv.strip_prefix(&format!("{name}=")))
            .unwrap_or_else(|| panic!("{name} in {query}"))
            .to_string()
    };
    let (expires, signature) = (param("expires"), param("signature"));
    let queries = [
        "expires=abc&signature=zz".to_string(),
        format!("expires=abc&signature={signature}"),
        format!("expires={expires}"),
        format!("signature={signature}"),
        format!("expires=&signature={signature}"),
        format!("expires={expires}&signature="),
        format!("expires={expires}&expires={expires}&signature={signature}"),
        format!("expires={expires}&signature={signature}&signature={signature}"),
        format!("expires={expires}&signature=zz"),
        format!("expires=99999999999&signature={signature}"),
    ];
    for q in &queries {
        // Without a key, and with the owner's: a bad signature is refused
        // either way.
        let e = assert_json_error(
            &gw.get_url(&format!("{path}?{q}")),
            403,
            "PERMISSION_DENIED",
        );
        assert_eq!(e["type"], "permission_error", "{q}");
        let relative = path.strip_prefix(&gw.base).expect("on the gateway");
        assert_json_error(
            &gw.get(&format!("{relative}?{q}")),
            403,
            "PERMISSION_DENIED",
        );
    }
    // Unrelated parameters change nothing.
    assert_eq!(gw.get_url(&format!("{url}&download=1")).status, 200);
}

#[test]
fn multipart_bodies_without_a_boundary_are_400_in_the_error_shape() {
    let gw = Gateway::start();
    let acct = gw.account("multipart@example.com", 100);
    let routes = [
        ("/v1/files", acct.key.as_str()),
        ("/v1/videos", acct.key.as_str()),
        ("/admin/v1/plugins", ADMIN_KEY),
    ];
    let body = b"--x\r\ncontent-disposition: form-data; name=\"prompt\"\r\n\r\nhi\r\n--x--\r\n";
    for (path, key) in routes {
        for content_type in [
            "multipart/form-data",
            "multipart/form-data; boundary=",
            "multipart/form-data; charset=utf-8",
        ] {
            let e = assert_json_error(
                &raw_with(&gw, path, key, content_type, body),
                400,
                "INVALID_PARAMETER",
            );
            assert_eq!(e["param"], "body", "{path} {content_type}: {e}");
        }
    }
    // The plugin upload takes nothing but multipart.
    let e = assert_json_error(
        &raw_with(
            &gw,
            "/admin/v1/plugins",
            ADMIN_KEY,
            "application/json",
            b"{}",
        ),
        400,
        "INVALID_PARAMETER",
    );
    assert_eq!(e["param"], "body");
    assert_eq!(task_count(&gw), 0, "nothing was created");
}

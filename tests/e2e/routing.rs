//! Routes: a public model served by several provider models; a retryable
//! failure moves to the next, the caller pays once, health is visible.

use imini_tests::mock::{Mock, Reply};
use imini_tests::{Gateway, assert_error, assert_reconciles, guests};
use serde_json::json;

fn gateway(upstream: &Mock) -> Gateway {
    Gateway::start_with_config(&format!(
        r#"
[[plugins]]
wasm = {wasm:?}
manifest = {manifest:?}

[credentials.sandbox-test]
value = "s3cret"

[plugin_settings.sandbox]
allowed_hosts = [{host:?}]

[plugin_settings.sandbox.config]
allowed_url = "{url}/image.png"
forbidden_url = "{url}/nope.png"

[[routes]]
model = "imini/resilient"
targets = ["test/fetch", "imini/canvas-image"]

[prices."imini/resilient"]
per_image = 6
"#,
        wasm = guests::SANDBOX_GUEST_WASM,
        manifest = guests::SANDBOX_GUEST_MANIFEST,
        host = upstream.host_port,
        url = upstream.url,
    ))
}

#[test]
fn a_retryable_failure_falls_back_to_the_next_route_and_is_charged_once() {
    let upstream = Mock::with_handler(|_| Reply::json(503, &json!({"error": "overloaded"})));
    let gw = gateway(&upstream);
    let acct = gw.account("routes@example.com", 100);
    let body = json!({"model": "imini/resilient", "prompt": "green hills", "size": "64x64", "response_format": "b64_json"});
    let answer = gw.request_with(
        "POST",
        "/v1/images/generations",
        Some(&acct.key),
        Some(&body),
    );
    assert_eq!(
        answer.status,
        200,
        "{}",
        String::from_utf8_lossy(&answer.body)
    );
    assert_eq!(
        upstream.received().len(),
        1,
        "the first route was tried once"
    );
    assert_eq!(
        assert_reconciles(&gw, &acct.id),
        (94, 0),
        "charged once, at the route's price"
    );

    let model = gw.get("/v1/models/imini/resilient").json();
    let routes = model["routes"].as_array().unwrap();
    assert_eq!(routes.len(), 2);
    assert_eq!(
        (
            routes[0]["model"].as_str(),
            routes[0]["requests"].as_u64(),
            routes[0]["success_rate"].as_f64()
        ),
        (Some("test/fetch"), Some(1), Some(0.0))
    );
    assert_eq!(
        (
            routes[1]["model"].as_str(),
            routes[1]["success_rate"].as_f64()
        ),
        (Some("imini/canvas-image"), Some(1.0))
    );
    assert!(routes[1]["latency_ms"].as_f64().is_some());
}

#[test]
fn a_non_retryable_failure_does_not_fall_back() {
    let upstream = Mock::with_handler(|_| Reply::json(400, &json!({"error": "bad prompt"})));
    let gw = gateway(&upstream);
    let acct = gw.account("routes2@example.com", 100);
    let body = json!({"model": "imini/resilient", "prompt": "green hills", "size": "64x64"});
    assert_error(
        &gw.request_with(
            "POST",
            "/v1/images/generations",
            Some(&acct.key),
            Some(&body),
        ),
        400,
        "INVALID_PARAMETER",
    );
    let model = gw.get("/v1/models/imini/resilient").json();
    assert_eq!(
        model["routes"][1]["requests"], 0,
        "the second route was not used"
    );
    assert_eq!(assert_reconciles(&gw, &acct.id), (100, 0), "refunded");
}

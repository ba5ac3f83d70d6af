//! The sandbox, proven with a test guest loaded from a file path given in the
//! configuration: a loop hits the deadline, a memory bomb hits the limit, a
//! panic traps, an unlisted host is never contacted; each fails only its own
//! call, and the gateway keeps serving.

use imini_tests::mock::Mock;
use imini_tests::{Gateway, assert_error, decode_png, guests};
use serde_json::json;

fn png_64() -> Vec<u8> {
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, 64, 64);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().unwrap();
    writer.write_image_data(&[200u8; 64 * 64 * 3]).unwrap();
    writer.finish().unwrap();
    out
}

struct Setup {
    gw: Gateway,
    allowed: Mock,
    forbidden: Mock,
}

fn setup() -> Setup {
    let allowed = Mock::start(200, "image/png", png_64());
    let forbidden = Mock::start(200, "image/png", png_64());
    let config = format!(
        r#"
[[plugins]]
wasm = {wasm:?}
manifest = {manifest:?}

[credentials.sandbox-test]
value = "s3cret-for-tests"

[plugin_settings.sandbox]
call_timeout_ms = 1500
memory_mib = 32
allowed_hosts = [{allowed_host:?}]

[plugin_settings.sandbox.config]
allowed_url = "{allowed_url}/image.png"
forbidden_url = "{forbidden_url}/image.png"
"#,
        wasm = guests::SANDBOX_GUEST_WASM,
        manifest = guests::SANDBOX_GUEST_MANIFEST,
        allowed_host = allowed.host_port,
        allowed_url = allowed.url,
        forbidden_url = forbidden.url,
    );
    Setup {
        gw: Gateway::start_with_config(&config),
        allowed,
        forbidden,
    }
}

fn generate(gw: &Gateway, model: &str) -> imini_tests::Answer {
    gw.post("/v1/images/generations", &json!({"model": model, "prompt": "anything", "size": "64x64", "response_format": "b64_json"}))
}

fn still_serves(gw: &Gateway) {
    let ok = generate(gw, "imini/canvas-image");
    assert_eq!(
        ok.status,
        200,
        "the gateway still serves: {}",
        String::from_utf8_lossy(&ok.body)
    );
}

#[test]
fn a_plugin_loaded_from_a_config_path_serves_through_the_allowlist_with_an_injected_credential() {
    let s = setup();
    let models = s.gw.get("/v1/models").json();
    assert!(
        models["data"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["id"] == "test/fetch" && m["provider"]["plugin"] == "sandbox")
    );
    let answer = generate(&s.gw, "test/fetch");
    assert_eq!(
        answer.status,
        200,
        "{}",
        String::from_utf8_lossy(&answer.body)
    );
    let received = s.allowed.received();
    assert_eq!(received.len(), 1);
    assert!(received[0].request_line.starts_with("GET /image.png "));
    let auth = received[0]
        .headers
        .iter()
        .find(|(n, _)| n == "authorization")
        .map(|(_, v)| v.as_str());
    assert_eq!(
        auth,
        Some("Bearer s3cret-for-tests"),
        "the host injected the credential"
    );
    use base64::Engine as _;
    let png = base64::engine::general_purpose::STANDARD
        .decode(answer.json()["data"][0]["b64_json"].as_str().unwrap())
        .unwrap();
    assert_eq!(decode_png(&png).0, 64);
}

#[test]
fn an_unlisted_host_is_never_contacted() {
    let s = setup();
    let answer = generate(&s.gw, "test/forbidden");
    assert_error(&answer, 502, "UPSTREAM_ERROR");
    assert!(
        s.forbidden.received().is_empty(),
        "the forbidden host got no connection"
    );
    assert!(
        s.gw.logs().contains("outside its allowlist"),
        "the attempt is logged"
    );
    still_serves(&s.gw);
}

#[test]
fn an_infinite_loop_is_stopped_by_the_deadline_without_blocking_others() {
    let s = setup();
    let gw = &s.gw;
    std::thread::scope(|scope| {
        let looping = scope.spawn(|| generate(gw, "test/loop"));
        // While the guest spins, other requests are served.
        std::thread::sleep(std::time::Duration::from_millis(200));
        still_serves(gw);
        let answer = looping.join().unwrap();
        let e = assert_error(&answer, 502, "UPSTREAM_ERROR");
        let message = e["message"].as_str().unwrap();
        assert!(
            message.contains("sandbox@0.1.0") && message.contains("deadline"),
            "{message}"
        );
        assert!(e["task_id"].is_string());
    });
    still_serves(gw);
}

#[test]
fn a_memory_bomb_hits_the_limit() {
    let s = setup();
    let e = assert_error(&generate(&s.gw, "test/oom"), 502, "UPSTREAM_ERROR");
    let message = e["message"].as_str().unwrap();
    assert!(
        message.contains("sandbox@0.1.0") && message.contains("memory limit of 32 MiB"),
        "{message}"
    );
    still_serves(&s.gw);
}

#[test]
fn a_trap_fails_only_its_own_call() {
    let s = setup();
    let e = assert_error(&generate(&s.gw, "test/trap"), 502, "UPSTREAM_ERROR");
    let message = e["message"].as_str().unwrap();
    assert!(
        message.contains("sandbox@0.1.0") && message.contains("trapped"),
        "{message}"
    );
    let task =
        s.gw.get(&format!("/v1/tasks/{}", e["task_id"].as_str().unwrap()))
            .json();
    assert_eq!(task["status"], "failed");
    assert_eq!(task["error"]["code"], "UPSTREAM_ERROR");
    assert!(
        s.gw.logs().contains("panics on purpose"),
        "the guest's panic message reaches the log"
    );
    still_serves(&s.gw);
}

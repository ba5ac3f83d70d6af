//! The sandbox, proven with a test guest loaded from a file path given in the
//! configuration: a loop hits the deadline, a memory bomb hits the limit, a
//! panic traps, an unlisted host is never contacted; each fails only its own
//! call, and the gateway keeps serving. And the boundary: outputs the host
//! cannot vouch for are refused (refunded), a plugin's own error reaches
//! the caller and its text can never forge a log line, and a busy provider
//! pool does not hold up the checks of new requests.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use imini_tests::mock::{Mock, Reply};
use imini_tests::{Gateway, assert_error, assert_refunded, decode_png, guests};
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
    setup_with(Mock::start(200, "image/png", png_64()), "")
}

/// The sandbox guest with `allowed` as the host it may reach, and `server`
/// as the configuration's `[server]` section.
fn setup_with(allowed: Mock, server: &str) -> Setup {
    let forbidden = Mock::start(200, "image/png", png_64());
    let config = format!(
        r#"
{server}

[sandbox]
max_output_mib = 1

[[plugins]]
wasm = {wasm:?}
manifest = {manifest:?}

[prices."test/bloat"]
per_image = 7
[prices."test/hollow"]
per_image = 7
[prices."test/liar"]
per_image = 7
[prices."test/mislabelled"]
per_image = 7

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
    assert!(
        !message.contains("panic") && !message.contains("src/lib.rs"),
        "the panic's text and source location stay in the log: {message}"
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

#[test]
fn outputs_the_host_cannot_vouch_for_fail_their_call_naming_the_plugin_and_are_refunded() {
    let s = setup();
    let acct = s.gw.account("outputs@example.com", 100);
    for (model, reason) in [
        (
            "test/bloat",
            "larger than the gateway accepts (1 MiB, sandbox.max_output_mib)",
        ),
        (
            "test/hollow",
            "declared image/png has no readable image header",
        ),
        ("test/liar", "declared 128x128 is 64x64"),
        ("test/mislabelled", "declared image/jpeg is image/png"),
    ] {
        let answer = s.gw.request_with(
            "POST",
            "/v1/images/generations",
            Some(&acct.key),
            Some(&json!({"model": model, "prompt": "anything", "size": "64x64"})),
        );
        let e = assert_error(&answer, 502, "UPSTREAM_ERROR");
        let message = e["message"].as_str().unwrap();
        assert!(
            message.contains("sandbox@0.1.0 returned an unusable output")
                && message.contains(reason),
            "{model}: {message}"
        );
        assert_refunded(&s.gw, &acct.id, e["task_id"].as_str().unwrap(), 7);
    }
    assert_eq!(
        s.gw.account_view(&acct.id)["credit_balance"],
        100,
        "nothing charged"
    );
    still_serves(&s.gw);
}

#[test]
fn a_plugins_error_reaches_the_caller_and_its_text_never_forges_a_log_line() {
    let s = setup();
    let e = assert_error(&generate(&s.gw, "test/error"), 502, "UPSTREAM_ERROR");
    let message = e["message"].as_str().unwrap();
    assert!(
        message.contains(
            r"sandbox@0.1.0 reported upstream: quota exhausted for project p-42\nERROR imini: forged"
        ),
        "the plugin's words, with its name and the newline escaped: {message}"
    );
    let logs = s.gw.logs();
    assert!(
        logs.contains(r"about to fail\n2026-12-05T00:00:00.000000Z  INFO imini: forged line"),
        "the log line is kept, escaped"
    );
    let forged: Vec<&str> = logs
        .lines()
        .filter(|l| l.contains("forged") && !l.contains("sandbox"))
        .collect();
    assert!(
        forged.is_empty(),
        "lines a plugin wrote on its own: {forged:?}"
    );
}

#[test]
fn an_output_url_outside_the_allowlist_is_refused_at_once_and_logged() {
    let s = setup();
    let e = assert_error(
        &generate(&s.gw, "test/forbidden-output"),
        502,
        "UPSTREAM_ERROR",
    );
    let message = e["message"].as_str().unwrap();
    assert!(
        message.contains("not in the plugin's allowed hosts"),
        "{message}"
    );
    assert!(
        s.forbidden.received().is_empty(),
        "the host got no connection"
    );
    let refusals =
        s.gw.logs()
            .lines()
            .filter(|l| l.contains("WARN") && l.contains("refused to fetch a provider's output"))
            .count();
    assert_eq!(
        refusals, 1,
        "refused once, as a warning, and not tried again"
    );
}

#[test]
fn the_admin_view_of_a_plugin_shows_its_effective_settings_and_no_secret() {
    let s = setup();
    let answer = s.gw.get("/admin/v1/plugins/sandbox");
    assert_eq!(answer.status, 200);
    assert!(
        !String::from_utf8_lossy(&answer.body).contains("s3cret-for-tests"),
        "the credential's secret is never shown"
    );
    let settings = &answer.json()["settings"];
    assert_eq!(settings["call_timeout_ms"], 1500);
    assert_eq!(settings["memory_mib"], 32);
    assert_eq!(settings["allowed_hosts"], json!([s.allowed.host_port]));
    assert_eq!(
        settings["config"]["allowed_url"],
        format!("{}/image.png", s.allowed.url)
    );
    assert_eq!(
        settings["credentials"],
        json!([{"name": "sandbox-test", "configured": true}])
    );
}

#[test]
fn stuck_provider_calls_do_not_hold_up_a_new_requests_policy_check() {
    // An upstream that holds every request until released (15 s at most).
    let release = Arc::new(AtomicBool::new(false));
    let gate = release.clone();
    let stuck = Mock::with_handler(move |_| {
        let until = Instant::now() + Duration::from_secs(15);
        while !gate.load(Ordering::Relaxed) && Instant::now() < until {
            std::thread::sleep(Duration::from_millis(10));
        }
        Reply::bytes(200, "image/png", png_64())
    });
    let gw = Gateway::start_with_config(&format!(
        r#"
[limits]
max_concurrent_tasks = 100

[credentials.sandbox-test]
value = "s3cret-for-tests"

[[plugins]]
wasm = {wasm:?}
manifest = {manifest:?}

[plugin_settings.sandbox]
call_timeout_ms = 30000
allowed_hosts = [{host:?}]

[plugin_settings.sandbox.config]
stuck_url = "{url}/stuck.png"
"#,
        wasm = guests::SANDBOX_GUEST_WASM,
        manifest = guests::SANDBOX_GUEST_MANIFEST,
        host = stuck.host_port,
        url = stuck.url,
    ));
    let finished = AtomicUsize::new(0);
    std::thread::scope(|scope| {
        // Every slot of the provider pool (64 by default) waits on the
        // upstream.
        let calls: Vec<_> = (0..64)
            .map(|_| {
                scope.spawn(|| {
                    let answer = generate(&gw, "test/stuck");
                    finished.fetch_add(1, Ordering::SeqCst);
                    answer
                })
            })
            .collect();
        imini_tests::wait_until("64 provider calls stuck upstream", || {
            stuck.received().len() == 64
        });
        let refused = gw.post(
            "/v1/images/generations",
            &json!({"model": "imini/canvas-image", "prompt": "extreme gore, dismembered bodies", "size": "64x64"}),
        );
        let stuck_still = 64 - finished.load(Ordering::SeqCst);
        release.store(true, Ordering::Relaxed);
        assert_error(&refused, 400, "CONTENT_POLICY_VIOLATION");
        assert_eq!(
            stuck_still, 64,
            "the policy answered while every provider call was still stuck"
        );
        for call in calls {
            assert_eq!(call.join().unwrap().status, 200, "the stuck calls end well");
        }
    });
}

/// `imini_moved_off_serving_threads_total`, read from `/metrics`.
fn moved_off_serving_threads(gw: &Gateway) -> u64 {
    let metrics = gw.get("/metrics");
    assert_eq!(metrics.status, 200);
    let text = String::from_utf8_lossy(&metrics.body);
    text.lines()
        .find_map(|l| l.strip_prefix("imini_moved_off_serving_threads_total "))
        .unwrap_or_else(|| panic!("no imini_moved_off_serving_threads_total in:\n{text}"))
        .parse()
        .expect("a count")
}

#[test]
fn a_plugin_waiting_on_a_slow_upstream_stays_on_its_serving_thread() {
    // The upstream answers after 35 ms, so epoch ticks (every 10 ms) fall
    // while the plugin waits: the plugin has not computed through them, and
    // its requests never leave their serving thread.
    let slow = Mock::with_handler(|_| {
        Reply::bytes(200, "image/png", png_64()).delayed(Duration::from_millis(35))
    });
    let s = setup_with(slow, "[server]\nthreads = 1");
    for _ in 0..5 {
        let answer = generate(&s.gw, "test/fetch");
        assert_eq!(
            answer.status,
            200,
            "{}",
            String::from_utf8_lossy(&answer.body)
        );
    }
    assert_eq!(s.allowed.received().len(), 5);
    assert_eq!(
        moved_off_serving_threads(&s.gw),
        0,
        "no request moved off the serving thread"
    );
}

#[test]
fn a_plugin_spinning_on_a_serving_thread_holds_up_none_of_its_other_connections() {
    // One serving thread: every connection is handed to it, and so is the
    // task of the spinning plugin.
    let gw = Gateway::start_with_config(&format!(
        r#"
[server]
threads = 1

[[plugins]]
wasm = {wasm:?}
manifest = {manifest:?}

[prices."test/loop"]
per_image = 1

[credentials.sandbox-test]
value = "s3cret-for-tests"

[plugin_settings.sandbox]
call_timeout_ms = 10000
"#,
        wasm = guests::SANDBOX_GUEST_WASM,
        manifest = guests::SANDBOX_GUEST_MANIFEST,
    ));
    let started = gw.post(
        "/v1/images/generate",
        &json!({"model": "test/loop", "prompt": "spin", "size": "64x64"}),
    );
    assert_eq!(started.status, 202, "{}", started.json());
    let id = started.json()["task_id"].as_str().unwrap().to_string();
    let status = || gw.get(&format!("/v1/tasks/{id}")).json()["status"].clone();
    imini_tests::wait_until("the plugin spins", || status() == "processing");
    // Had the spinning task stayed on the thread, each of these would have
    // waited on it for most of a second (measured: twenty took 16 s), and
    // the plugin's 10 s would have run out before the last.
    for _ in 0..30 {
        still_serves(&gw);
    }
    assert_eq!(
        status(),
        "processing",
        "thirty generations were answered while the plugin still spun"
    );
    assert_ne!(
        moved_off_serving_threads(&gw),
        0,
        "the task moved off the serving thread"
    );
    let canceled = gw.post(&format!("/v1/tasks/{id}/cancel"), &json!({}));
    assert_eq!(canceled.status, 200, "{}", canceled.json());
    assert_eq!(status(), "canceled");
}

//! The sandbox's instance pools (`[sandbox] max_concurrent_calls` for
//! provider calls, `max_concurrent_policy_calls` for policy calls): when
//! every instance is taken, a call waits for one, up to its plugin's
//! deadline, rather than failing.

use imini_tests::{Gateway, assert_error, guests};
use serde_json::json;

/// A gateway whose pools have one instance each, with the sandbox test
/// guest (deadline 1.5 s) and `extra` appended to the configuration.
fn one_instance(extra: &str) -> Gateway {
    Gateway::start_with_config(&format!(
        r#"
[sandbox]
max_concurrent_calls = 1
max_concurrent_policy_calls = 1

[[plugins]]
wasm = {wasm:?}
manifest = {manifest:?}

[credentials.sandbox-test]
value = "t"

[plugin_settings.sandbox]
call_timeout_ms = 1500
{extra}
"#,
        wasm = guests::SANDBOX_GUEST_WASM,
        manifest = guests::SANDBOX_GUEST_MANIFEST,
    ))
}

fn generate(gw: &Gateway, model: &str) -> imini_tests::Answer {
    gw.post(
        "/v1/images/generations",
        &json!({"model": model, "prompt": "a lighthouse at dusk", "size": "64x64", "response_format": "b64_json"}),
    )
}

#[test]
fn concurrent_calls_share_one_instance_and_all_succeed() {
    // Each request makes several plugin calls (the bundled policy, then the
    // provider), each kind through its one instance, from 8 clients at
    // once: a call handed a pool's slot must find an instance free.
    let gw = one_instance("");
    let failures: Vec<String> = std::thread::scope(|scope| {
        let clients: Vec<_> = (0..8)
            .map(|_| {
                scope.spawn(|| {
                    (0..25)
                        .map(|_| generate(&gw, "imini/canvas-image"))
                        .filter(|a| a.status != 200)
                        .map(|a| format!("{} {}", a.status, String::from_utf8_lossy(&a.body)))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        clients
            .into_iter()
            .flat_map(|c| c.join().unwrap())
            .collect()
    });
    assert!(
        failures.is_empty(),
        "{} of 200 failed, e.g. {}",
        failures.len(),
        failures[0]
    );
}

#[test]
fn a_call_waits_for_a_busy_instance() {
    let gw = one_instance("");
    std::thread::scope(|scope| {
        // The guest spins until its 1.5 s deadline, holding the only instance.
        let looping = scope.spawn(|| generate(&gw, "test/loop"));
        std::thread::sleep(std::time::Duration::from_millis(300));
        let started = std::time::Instant::now();
        let waited = generate(&gw, "imini/canvas-image");
        assert_eq!(
            waited.status,
            200,
            "{}",
            String::from_utf8_lossy(&waited.body)
        );
        assert!(
            started.elapsed() >= std::time::Duration::from_millis(800),
            "it was served once the loop ended, not before: {:?}",
            started.elapsed()
        );
        assert_error(&looping.join().unwrap(), 502, "UPSTREAM_ERROR");
    });
}

#[test]
fn the_wait_for_an_instance_is_bounded_by_the_plugins_deadline() {
    // canvas may take 300 ms; no policy runs, so its only call is the
    // provider's.
    let gw = one_instance(
        "[plugin_settings.canvas]\ncall_timeout_ms = 300\n\n[moderation]\npolicies = []\n",
    );
    std::thread::scope(|scope| {
        let looping = scope.spawn(|| generate(&gw, "test/loop"));
        std::thread::sleep(std::time::Duration::from_millis(300));
        let started = std::time::Instant::now();
        let e = assert_error(&generate(&gw, "imini/canvas-image"), 502, "UPSTREAM_ERROR");
        let message = e["message"].as_str().unwrap();
        assert!(
            message.contains("canvas@") && message.contains("no sandbox instance became free"),
            "{message}"
        );
        assert!(
            started.elapsed() < std::time::Duration::from_millis(1100),
            "it gave up before the loop ended: {:?}",
            started.elapsed()
        );
        assert_error(&looping.join().unwrap(), 502, "UPSTREAM_ERROR");
    });
    // Once the instance is free again, canvas serves.
    assert_eq!(generate(&gw, "imini/canvas-image").status, 200);
}

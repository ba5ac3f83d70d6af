//! WIT versions: a plugin built against 0.1.0 (the `legacy` test guest,
//! made with wit-bindgen from the frozen `wit/v0.1`, not with imini-sdk)
//! loads and serves through the host's adapter beside 0.2.0 plugins; and
//! 0.2.0's `validate-config`: a configuration a plugin refuses is not made
//! live, at install or through `plugin config`, and the reason is given.

use imini_tests::mock::Mock;
use imini_tests::{Gateway, assert_error, decode_png, guests, png};
use serde_json::json;

fn body(answer: &imini_tests::Answer) -> String {
    String::from_utf8_lossy(&answer.body).into_owned()
}

#[test]
fn a_plugin_built_against_wit_0_1_loads_and_serves_through_the_adapter() {
    let gw = Gateway::start_with_config(&format!(
        r#"
[[plugins]]
wasm = {wasm:?}
manifest = {manifest:?}
[plugin_settings.legacy.config]
shade = 40
[prices."test/legacy"]
per_image = 2
[prices."test/legacy-fail"]
per_image = 2
"#,
        wasm = guests::LEGACY_WASM,
        manifest = guests::LEGACY_MANIFEST,
    ));
    let list = gw.get("/admin/v1/plugins").json();
    assert_eq!(list["wit_supported"], ">=0.1.0, <0.3.0", "{list}");
    let legacy = gw.get("/admin/v1/plugins/legacy").json();
    assert_eq!(legacy["wit_version"], "0.1.0", "{legacy}");
    let canvas = gw.get("/admin/v1/plugins/canvas").json();
    assert_eq!(canvas["wit_version"], "0.2.0", "{canvas}");

    let generate = |model: &str| {
        gw.post(
            "/v1/images/generations",
            &json!({"model": model, "prompt": "a grey square", "size": "64x64", "response_format": "b64_json"}),
        )
    };
    let pixel = |answer: &imini_tests::Answer| {
        use base64::Engine as _;
        let b64 = answer.json()["data"][0]["b64_json"]
            .as_str()
            .unwrap()
            .to_string();
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(b64)
            .unwrap();
        let (w, h, rgb) = decode_png(&bytes);
        assert_eq!((w, h), (64, 64));
        rgb[0]
    };
    let answer = generate("test/legacy");
    assert_eq!(answer.status, 200, "{}", body(&answer));
    assert_eq!(
        pixel(&answer),
        40,
        "the configured shade, read through host.config@0.1.0"
    );
    assert!(
        gw.logs().contains("legacy plugin drawing"),
        "host.log@0.1.0 reaches the log"
    );
    let failed = generate("test/legacy-fail");
    let error = assert_error(&failed, 502, "UPSTREAM_ERROR");
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("legacy@0.1.0 reported upstream: the legacy upstream is down"),
        "{error}"
    );

    // A 0.1 plugin cannot validate a configuration: it is taken as before.
    let configured = gw.post(
        "/admin/v1/plugins/legacy/config",
        &json!({"config": {"shade": 200}}),
    );
    assert_eq!(configured.status, 200, "{}", body(&configured));
    assert_eq!(pixel(&generate("test/legacy")), 200);
}

#[test]
fn a_configuration_the_plugin_refuses_is_not_made_live() {
    let upstream = Mock::start(200, "image/png", png(64, 64, [9, 9, 9]));
    let gw = Gateway::start_with_config(&format!(
        r#"
[credentials.sandbox-test]
value = "t"
[plugin_settings.sandbox]
allowed_hosts = [{host:?}]
[plugin_settings.sandbox.config]
allowed_url = 7
[prices."test/fetch"]
per_image = 1
"#,
        host = upstream.host_port,
    ));
    let wasm = std::fs::read(guests::SANDBOX_GUEST_WASM).unwrap();
    let manifest = std::fs::read_to_string(guests::SANDBOX_GUEST_MANIFEST).unwrap();

    // Install: refused with the plugin's reason; nothing installed.
    let refused = gw.install_plugin(wasm, &manifest);
    assert_eq!(refused.status, 400, "{}", body(&refused));
    let message = refused.json()["error"]["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        message.contains("refuses its configuration")
            && message.contains("allowed_url must be a URL in text"),
        "{message}"
    );
    assert_error(&gw.get("/admin/v1/plugins/sandbox"), 404, "NOT_FOUND");

    // A bundled plugin's `plugin config`: refused, the old one stays live.
    let bad = gw.post(
        "/admin/v1/plugins/policy-terms/config",
        &json!({"config": {"categories": 3}}),
    );
    assert_eq!(bad.status, 400, "{}", body(&bad));
    assert!(
        body(&bad).contains("refuses its configuration"),
        "{}",
        body(&bad)
    );
    let policy = gw.get("/admin/v1/plugins/policy-terms").json();
    assert_eq!(policy["settings"]["config"], json!({}), "{policy}");
    let still = gw.post(
        "/v1/images/generations",
        &json!({"model": "imini/canvas-image", "prompt": "a kite", "size": "64x64"}),
    );
    assert_eq!(still.status, 200, "{}", body(&still));
}

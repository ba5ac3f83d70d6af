//! Credentials set at run time through the admin API: a bundled adapter
//! waiting for its credential launches when it is set, a rotation applies
//! to the next upstream request, a removal stops its models (503, not
//! retired), values are sealed at rest and never shown; all without a
//! restart. An installed plugin without its credential is installed but
//! its models wait.

use base64::Engine as _;
use imini_tests::mock::{Mock, Reply};
use imini_tests::{Gateway, assert_error, guests, png};
use serde_json::{Value, json};

/// A sealing key for the tests (32 bytes in base64).
fn key(byte: u8) -> String {
    base64::engine::general_purpose::STANDARD.encode([byte; 32])
}

const KEY_ENV: &str = "IMINI_CREDENTIAL_KEY";

/// A mock of OpenAI's Images API that answers one PNG in base64.
fn openai_mock() -> Mock {
    let image = base64::engine::general_purpose::STANDARD.encode(png(32, 32, [10, 200, 10]));
    Mock::with_handler(move |_| {
        Reply::json(
            200,
            &json!({"created": 1_713_833_628, "data": [{"b64_json": image}]}),
        )
    })
}

/// The openai-images adapter pointed at `mock`, with no credential.
fn openai_config(mock: &Mock) -> String {
    format!(
        r#"
[plugin_settings.openai-images]
allowed_hosts = ["{host}"]
[plugin_settings.openai-images.config]
base_url = "{url}"

[prices."openai/gpt-image-1"]
per_image = 40
"#,
        host = mock.host_port,
        url = mock.url,
    )
}

fn credential<'a>(list: &'a Value, name: &str) -> &'a Value {
    list["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("{name} not listed: {list}"))
}

fn generate(gw: &Gateway, key: &str) -> imini_tests::Answer {
    gw.request_with(
        "POST",
        "/v1/images/generations",
        Some(key),
        Some(&json!({"model": "openai/gpt-image-1", "prompt": "a red kite", "response_format": "b64_json"})),
    )
}

fn body(answer: &imini_tests::Answer) -> String {
    String::from_utf8_lossy(&answer.body).into_owned()
}

#[test]
fn a_credential_set_at_run_time_launches_rotates_and_stops_an_adapter_without_a_restart() {
    let mock = openai_mock();
    let mut gw = Gateway::start_with_env(&openai_config(&mock), &[(KEY_ENV, &key(1))]);
    let alice = gw.account("cred-alice@example.com", 1_000);

    // Waiting: shown with the reason, its models not served.
    let plugin = gw.get("/admin/v1/plugins/openai-images").json();
    assert_eq!(plugin["status"], "waiting", "{plugin}");
    assert_eq!(plugin["waiting_for"], json!(["openai"]));
    let list = gw.get("/admin/v1/credentials").json();
    assert_eq!(list["sealing"]["available"], true, "{list}");
    let openai = credential(&list, "openai");
    assert_eq!(openai["set"], false);
    assert_eq!(openai["used_by"], json!(["openai-images"]));
    assert_error(&generate(&gw, &alice.key), 404, "MODEL_NOT_FOUND");

    // Set: launched at once, and the upstream gets the value.
    let set = gw.request(
        "PUT",
        "/admin/v1/credentials/openai",
        Some(&json!({"value": "sk-first-0001"})),
    );
    assert_eq!(set.status, 200, "{}", body(&set));
    let set = set.json();
    assert_eq!(set["set"], true);
    assert_eq!(set["source"], "store");
    assert!(
        set["launched"]
            .as_array()
            .unwrap()
            .contains(&json!("openai/gpt-image-1")),
        "{set}"
    );
    let answer = generate(&gw, &alice.key);
    assert_eq!(answer.status, 200, "{}", body(&answer));
    assert_eq!(
        mock.received().last().unwrap().header("authorization"),
        Some("Bearer sk-first-0001")
    );
    assert_eq!(
        gw.get("/admin/v1/plugins/openai-images").json()["status"],
        "serving"
    );
    let changelog = gw.get("/v1/changelog").json();
    assert!(
        changelog["data"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["type"] == "model_launched" && e["model"] == "openai/gpt-image-1"),
        "{changelog}"
    );

    // Rotate: the next request carries the new value.
    let rotated = gw.request(
        "PUT",
        "/admin/v1/credentials/openai",
        Some(&json!({"value": "sk-second-0002"})),
    );
    assert_eq!(rotated.status, 200, "{}", body(&rotated));
    assert_eq!(generate(&gw, &alice.key).status, 200);
    assert_eq!(
        mock.received().last().unwrap().header("authorization"),
        Some("Bearer sk-second-0002")
    );

    // Never shown: not in answers, the audit log, the gateway's log, nor in
    // the clear in the data directory.
    let list = gw.get("/admin/v1/credentials").json();
    let audit = gw.get("/admin/v1/audit?action=credential").json();
    assert_eq!(
        audit["data"].as_array().unwrap().len(),
        2,
        "set twice: {audit}"
    );
    assert_eq!(audit["data"][0]["details"]["credential"], "openai");
    for shown in [
        list.to_string(),
        audit.to_string(),
        rotated.json().to_string(),
        gw.logs(),
    ] {
        assert!(
            !shown.contains("sk-second") && !shown.contains("sk-first"),
            "{shown}"
        );
    }
    if gw.database().is_none() {
        for file in gw.data_files() {
            let bytes = std::fs::read(&file).unwrap_or_default();
            assert!(
                !bytes.windows(9).any(|w| w == b"sk-second"),
                "{} holds the value in the clear",
                file.display()
            );
        }
    }

    // Kept across a restart, sealed under the key.
    gw.restart();
    assert_eq!(generate(&gw, &alice.key).status, 200);
    assert_eq!(
        mock.received().last().unwrap().header("authorization"),
        Some("Bearer sk-second-0002")
    );

    // Under another key it does not open: shown as such, the adapter waits.
    gw.restart_with_env(KEY_ENV, &key(2));
    let openai = credential(&gw.get("/admin/v1/credentials").json(), "openai").clone();
    assert_eq!(openai["set"], false, "{openai}");
    assert!(
        openai["error"].as_str().unwrap().contains("does not open"),
        "{openai}"
    );
    assert_eq!(
        gw.get("/admin/v1/plugins/openai-images").json()["status"],
        "waiting"
    );

    // Back under its key, then removed: its models are unavailable (503,
    // nothing charged), not retired, and come back when it is set again.
    gw.restart_with_env(KEY_ENV, &key(1));
    assert_eq!(generate(&gw, &alice.key).status, 200);
    let removed = gw.request("DELETE", "/admin/v1/credentials/openai", None);
    assert_eq!(removed.status, 200, "{}", body(&removed));
    assert!(
        removed.json()["waiting"]
            .as_array()
            .unwrap()
            .contains(&json!("openai/gpt-image-1")),
        "{}",
        body(&removed)
    );
    let before = gw.account_view(&alice.id)["credit_balance"].clone();
    let refused = generate(&gw, &alice.key);
    let error = assert_error(&refused, 503, "MODEL_UNAVAILABLE");
    assert!(
        error["message"].as_str().unwrap().contains("credential"),
        "{error}"
    );
    assert_eq!(gw.account_view(&alice.id)["credit_balance"], before);
    let model = gw.get("/v1/models/openai/gpt-image-1").json();
    assert_eq!(model["status"], "unavailable", "{model}");
    assert_error(
        &gw.request("DELETE", "/admin/v1/credentials/openai", None),
        404,
        "NOT_FOUND",
    );
    let again = gw.request(
        "PUT",
        "/admin/v1/credentials/openai",
        Some(&json!({"value": "sk-third-0003"})),
    );
    assert_eq!(again.status, 200, "{}", body(&again));
    assert_eq!(generate(&gw, &alice.key).status, 200);
}

#[test]
fn credentials_are_refused_clearly_without_a_key_or_with_bad_input() {
    let mock = openai_mock();
    let mut gw = Gateway::start_with_config(&format!(
        "{}\n[credentials.fal]\nvalue = \"from-the-file\"\n",
        openai_config(&mock)
    ));

    // No sealing key: said, and nothing is kept.
    let list = gw.get("/admin/v1/credentials").json();
    assert_eq!(list["sealing"]["available"], false, "{list}");
    let refused = gw.request(
        "PUT",
        "/admin/v1/credentials/openai",
        Some(&json!({"value": "sk-1"})),
    );
    let error = assert_error(&refused, 409, "CONFLICT");
    assert!(
        error["message"].as_str().unwrap().contains(KEY_ENV),
        "{error}"
    );
    assert_eq!(
        credential(&gw.get("/admin/v1/credentials").json(), "openai")["set"],
        false
    );

    gw.restart_with_env(KEY_ENV, &key(3));
    // The configuration file's credential is not the API's to change.
    let file = credential(&gw.get("/admin/v1/credentials").json(), "fal").clone();
    assert_eq!(
        (file["set"].clone(), file["source"].clone()),
        (json!(true), json!("config"))
    );
    let error = assert_error(
        &gw.request(
            "PUT",
            "/admin/v1/credentials/fal",
            Some(&json!({"value": "x"})),
        ),
        409,
        "CONFLICT",
    );
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("[credentials.fal]"),
        "{error}"
    );
    assert_error(
        &gw.request("DELETE", "/admin/v1/credentials/fal", None),
        409,
        "CONFLICT",
    );
    // Bad names and values: 400, nothing set.
    for (name, value) in [
        ("Open%20AI", json!({"value": "sk-1"})),
        ("openai", json!({"value": ""})),
        ("openai", json!({"value": "sk-1\r\nX-Evil: 1"})),
        ("openai", json!({"value": 3})),
        ("openai", json!({"secret": "sk-1"})),
    ] {
        let answer = gw.request(
            "PUT",
            &format!("/admin/v1/credentials/{name}"),
            Some(&value),
        );
        assert_eq!(answer.status, 400, "{name} {value}: {}", body(&answer));
        assert!(!body(&answer).contains("sk-1"), "{}", body(&answer));
    }
    assert_eq!(
        credential(&gw.get("/admin/v1/credentials").json(), "openai")["set"],
        false
    );
    // Only the admin key.
    let bob = gw.account("cred-bob@example.com", 10);
    assert_error(
        &gw.request_with("GET", "/admin/v1/credentials", Some(&bob.key), None),
        403,
        "PERMISSION_DENIED",
    );
}

#[test]
fn a_plugin_installed_without_its_credential_waits_and_serves_once_it_is_set() {
    let upstream = Mock::start(200, "image/png", png(64, 64, [1, 2, 3]));
    let gw = Gateway::start_with_env(
        &format!(
            r#"
[[plugins]]
wasm = {wasm:?}
manifest = {manifest:?}
[plugin_settings.sandbox]
allowed_hosts = [{host:?}]
[plugin_settings.sandbox.config]
allowed_url = "{url}/image.png"
[prices."test/fetch"]
per_image = 3
"#,
            wasm = guests::SANDBOX_GUEST_WASM,
            manifest = guests::SANDBOX_GUEST_MANIFEST,
            host = upstream.host_port,
            url = upstream.url,
        ),
        &[(KEY_ENV, &key(4))],
    );
    let carol = gw.account("cred-carol@example.com", 100);
    let call = || {
        gw.request_with(
            "POST",
            "/v1/images/generations",
            Some(&carol.key),
            Some(&json!({"model": "test/fetch", "prompt": "x", "size": "64x64"})),
        )
    };

    let plugin = gw.get("/admin/v1/plugins/sandbox").json();
    assert_eq!(plugin["status"], "waiting", "{plugin}");
    assert_eq!(plugin["waiting_for"], json!(["sandbox-test"]));
    assert_error(&call(), 503, "MODEL_UNAVAILABLE");
    assert!(
        gw.get("/v1/models").json()["data"]
            .as_array()
            .unwrap()
            .iter()
            .all(|m| m["id"] != "test/fetch"),
        "an unavailable model is not listed"
    );

    let set = gw.request(
        "PUT",
        "/admin/v1/credentials/sandbox-test",
        Some(&json!({"value": "s3cret-set-live"})),
    );
    assert_eq!(set.status, 200, "{}", body(&set));
    let answer = call();
    assert_eq!(answer.status, 200, "{}", body(&answer));
    assert_eq!(
        upstream.received().last().unwrap().header("authorization"),
        Some("Bearer s3cret-set-live")
    );
    assert_eq!(
        gw.get("/admin/v1/plugins/sandbox").json()["status"],
        "serving"
    );
}

#[test]
fn a_credential_set_through_one_replica_is_used_by_another_within_a_second() {
    use std::time::{Duration, Instant};
    let db = std::sync::Arc::new(imini_tests::pg::Database::create());
    let mock = openai_mock();
    let config = format!("{}\n[replicas]\nlease_secs = 2\n", openai_config(&mock));
    let sealing = key(5);
    let a = Gateway::start_on_database(&config, db.clone(), &[(KEY_ENV, &sealing)]);
    let b = Gateway::start_on_database(&config, db.clone(), &[(KEY_ENV, &sealing)]);
    let dana = a.account("cred-dana@example.com", 1_000);

    let set = a.request(
        "PUT",
        "/admin/v1/credentials/openai",
        Some(&json!({"value": "sk-shared-0005"})),
    );
    assert_eq!(set.status, 200, "{}", body(&set));
    let set_at = Instant::now();
    loop {
        let answer = generate(&b, &dana.key);
        if answer.status == 200 {
            break;
        }
        assert!(
            set_at.elapsed() < Duration::from_secs(1),
            "B does not serve after {:?}: {}",
            set_at.elapsed(),
            body(&answer)
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(
        mock.received().last().unwrap().header("authorization"),
        Some("Bearer sk-shared-0005")
    );

    // Removed through B: A stops serving its models too.
    assert_eq!(
        b.request("DELETE", "/admin/v1/credentials/openai", None)
            .status,
        200
    );
    let removed_at = Instant::now();
    loop {
        let answer = generate(&a, &dana.key);
        if answer.status == 503 {
            break;
        }
        assert!(
            removed_at.elapsed() < Duration::from_secs(1),
            "A still answers {} after {:?}",
            answer.status,
            removed_at.elapsed()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

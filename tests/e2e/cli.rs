//! The operator's command line drives a running gateway.

use std::process::Command;

use imini_tests::{ADMIN_KEY, Gateway, binary};
use serde_json::Value;

fn imini(gw: &Gateway, args: &[&str]) -> (bool, Value, String) {
    let out = Command::new(binary())
        .args(args)
        .args(["--url", &gw.base])
        .env("IMINI_ADMIN_KEY", ADMIN_KEY)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let value = serde_json::from_str(&stdout).unwrap_or(Value::Null);
    (
        out.status.success(),
        value,
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

#[test]
fn accounts_keys_credits_and_prices_from_the_command_line() {
    let gw = Gateway::start();
    let (ok, account, err) = imini(&gw, &["account", "create", "--email", "cli@example.com"]);
    assert!(ok, "{err}");
    let id = account["id"].as_str().unwrap().to_string();
    let (ok, account, _) = imini(
        &gw,
        &[
            "account",
            "topup",
            &id,
            "--credits",
            "250",
            "--reason",
            "invoice 7",
        ],
    );
    assert!(ok);
    assert_eq!(account["credit_balance"], 250);
    let (ok, account, _) = imini(
        &gw,
        &[
            "account",
            "adjust",
            &id,
            "--credits",
            "-50",
            "--reason",
            "correction",
        ],
    );
    assert!(ok);
    assert_eq!(account["credit_balance"], 200);
    let (ok, account, err) = imini(&gw, &["account", "credit-line", &id, "--credits", "100"]);
    assert!(ok, "{err}");
    assert_eq!(
        (&account["credit_line"], &account["credits_available"]),
        (&Value::from(100), &Value::from(300))
    );
    let (ok, key, _) = imini(&gw, &["key", "create", &id, "--name", "ci"]);
    assert!(ok);
    let secret = key["secret"].as_str().unwrap().to_string();
    assert_eq!(
        gw.request_with("GET", "/v1/account", Some(&secret), None)
            .json()["credit_balance"],
        200
    );
    let (ok, _, _) = imini(&gw, &["account", "freeze", &id]);
    assert!(ok);
    assert_eq!(gw.account_view(&id)["credits_frozen"], true);
    let (ok, _, _) = imini(&gw, &["key", "revoke", key["id"].as_str().unwrap()]);
    assert!(ok);
    assert_eq!(
        gw.request_with("GET", "/v1/account", Some(&secret), None)
            .status,
        403
    );
    let (ok, change, _) = imini(
        &gw,
        &["price", "set", "imini/canvas-image", "--per-image", "12"],
    );
    assert!(ok);
    assert_eq!(change["per_image"], 12);
    let (ok, ledger, _) = imini(&gw, &["account", "ledger", &id]);
    assert!(ok);
    assert_eq!(ledger["data"].as_array().unwrap().len(), 2);

    // Refusals come back as errors with the API's message.
    let (ok, _, err) = imini(
        &gw,
        &[
            "account",
            "adjust",
            &id,
            "--credits",
            "-1000",
            "--reason",
            "too much",
        ],
    );
    assert!(!ok);
    assert!(err.contains("409") && err.contains("below zero"), "{err}");
    let (ok, _, err) = imini(&gw, &["account", "close", &id]);
    assert!(ok, "{err}");
    assert_eq!(gw.account_view(&id)["status"], "closed");
}

/// `imini plugin check FILE MANIFEST`, on this machine: (ok, stdout, stderr).
fn check(wasm: &str, manifest: &str) -> (bool, String, String) {
    let out = Command::new(binary())
        .args(["plugin", "check", wasm, manifest])
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).to_string(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

#[test]
fn plugin_check_validates_a_component_offline_as_a_gateway_would() {
    use imini_tests::guests;
    let (ok, out, err) = check(guests::SANDBOX_GUEST_WASM, guests::SANDBOX_GUEST_MANIFEST);
    assert!(ok, "{err}");
    assert!(
        out.contains("ok: sandbox@0.1.0 is a valid provider plugin (imini:plugin@0.2.0)"),
        "{out}"
    );
    assert!(out.contains("model test/loop"), "its models: {out}");
    assert!(
        out.contains("credential sandbox-test: not configured"),
        "what it lacks to serve: {out}"
    );

    // A component whose self-check traps, and one of the other kind.
    let (ok, _, err) = check(guests::BROKEN_GUEST_WASM, guests::BROKEN_GUEST_MANIFEST);
    assert!(!ok);
    assert!(err.contains("swap@3.0.0 failed its self-check"), "{err}");
    assert!(
        err.contains("broken on purpose"),
        "the panic, in the log: {err}"
    );
    let (ok, _, err) = check(guests::POLICY_GUEST_WASM, guests::SANDBOX_GUEST_MANIFEST);
    assert!(!ok);
    assert!(
        err.contains(
            "the manifest says provider, so the component must export imini:plugin/model-provider"
        ),
        "{err}"
    );
    let (ok, _, err) = check(guests::SANDBOX_GUEST_WASM, "/nonexistent/imini-plugin.toml");
    assert!(!ok);
    assert!(
        err.contains("reading /nonexistent/imini-plugin.toml"),
        "{err}"
    );
}

#[test]
fn plugin_run_makes_one_call_in_the_sandbox_and_shows_its_http_exchange() {
    use imini_tests::{guests, mock::Mock, png};
    let image = png(64, 64, [10, 20, 30]);
    let upstream = Mock::start(200, "image/png", image.clone());
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("imini.toml");
    std::fs::write(
        &config,
        format!(
            "[credentials.sandbox-test]\nvalue = \"s3cret-for-tests\"\n\
             [plugin_settings.sandbox]\nallowed_hosts = [{:?}]\n\
             [plugin_settings.sandbox.config]\nallowed_url = \"{}/image.png\"\n",
            upstream.host_port, upstream.url
        ),
    )
    .unwrap();
    let run = |wasm: &str, manifest: &str, request: &str| {
        let out = Command::new(binary())
            .args([
                "plugin",
                "run",
                wasm,
                manifest,
                "--request",
                request,
                "--config",
            ])
            .arg(&config)
            .arg("--out")
            .arg(dir.path().join("out"))
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).to_string(),
            String::from_utf8_lossy(&out.stderr).to_string(),
        )
    };
    let sandbox = |model: &str| {
        run(
            guests::SANDBOX_GUEST_WASM,
            guests::SANDBOX_GUEST_MANIFEST,
            &format!(r#"{{"model": "{model}", "prompt": "a fox"}}"#),
        )
    };

    let (ok, out, err) = sandbox("test/fetch");
    assert!(ok, "{err}");
    assert!(out.contains("output 0: image/png 64x64"), "{out}");
    assert!(
        err.contains(&format!("> GET {}/image.png", upstream.url)) && err.contains("< 200"),
        "the exchange is shown: {err}"
    );
    assert!(
        err.contains("> authorization: (the credential, injected by the gateway)"),
        "{err}"
    );
    assert!(!err.contains("s3cret-for-tests"), "never the secret: {err}");
    assert_eq!(
        std::fs::read(dir.path().join("out/output-0.png")).unwrap(),
        image,
        "the output, written"
    );
    assert_eq!(upstream.received().len(), 1);

    // An output a gateway would refuse, and the plugin's own error.
    let (ok, out, _) = sandbox("test/liar");
    assert!(!ok);
    assert!(
        out.contains("refused by the gateway: an output declared 128x128 is 64x64"),
        "{out}"
    );
    let (ok, _, err) = sandbox("test/error");
    assert!(!ok);
    assert!(err.contains("quota exhausted for project p-42"), "{err}");

    // A policy checks the request.
    let (ok, out, err) = run(
        guests::POLICY_GUEST_WASM,
        guests::POLICY_GUEST_MANIFEST,
        r#"{"prompt": "a quiet lake"}"#,
    );
    assert!(ok, "{err}");
    assert!(out.contains("verdict: Action::Allow"), "{out}");
}

/// Runs a user command in `dir` with `key` (or none) in `IMINI_API_KEY`.
fn user(
    gw: &Gateway,
    dir: &std::path::Path,
    key: Option<&str>,
    args: &[&str],
) -> (bool, String, String) {
    let mut command = Command::new(binary());
    command
        .args(args)
        .current_dir(dir)
        .env("IMINI_URL", &gw.base)
        .env_remove("IMINI_API_KEY");
    if let Some(key) = key {
        command.env("IMINI_API_KEY", key);
    }
    let out = command.output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).to_string(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

#[test]
fn users_generate_images_and_videos_and_manage_their_tasks_from_the_command_line() {
    let gw = Gateway::start();
    let acct = gw.account("cli-user@example.com", 1_000);
    let dir = tempfile::tempdir().unwrap();
    let key = Some(acct.key.as_str());

    let (ok, stdout, stderr) = user(
        &gw,
        dir.path(),
        key,
        &[
            "generate",
            "--prompt",
            "a red kite over hills",
            "--size",
            "96x64",
            "-n",
            "2",
            "--seed",
            "3",
            "-o",
            "kite.png",
        ],
    );
    assert!(ok, "{stderr}");
    assert_eq!(
        stdout.lines().collect::<Vec<_>>(),
        ["kite-1.png", "kite-2.png"]
    );
    let first = std::fs::read(dir.path().join("kite-1.png")).unwrap();
    let second = std::fs::read(dir.path().join("kite-2.png")).unwrap();
    assert_eq!(imini_tests::decode_png(&first).0, 96);
    assert_eq!(imini_tests::decode_png(&second).1, 64);
    assert!(first != second, "two images, two seeds");
    assert_eq!(gw.account_view(&acct.id)["credit_balance"], 1_000 - 20);

    // A reference image (the second kite; the scene is the first's): the
    // output is derived from it, so it is neither.
    std::fs::write(dir.path().join("kite-ref.png"), &second).unwrap();
    let (ok, stdout, stderr) = user(
        &gw,
        dir.path(),
        key,
        &[
            "generate",
            "--prompt",
            "a red kite over hills",
            "--size",
            "96x64",
            "--seed",
            "3",
            "--image",
            "kite-ref.png",
            "-o",
            "edited.png",
        ],
    );
    assert!(ok, "{stderr}");
    assert_eq!(stdout.trim(), "edited.png");
    let edited = std::fs::read(dir.path().join("edited.png")).unwrap();
    assert!(
        edited != first && edited != second,
        "the edit is a new image"
    );

    let (ok, stdout, stderr) = user(
        &gw,
        dir.path(),
        key,
        &[
            "video",
            "--prompt",
            "ocean waves",
            "--duration",
            "1",
            "--size",
            "320x180",
        ],
    );
    assert!(ok, "{stderr}");
    let video = stdout.trim().to_string();
    assert!(
        video.starts_with("task_") && video.ends_with(".gif"),
        "{video}"
    );
    assert!(
        std::fs::read(dir.path().join(&video))
            .unwrap()
            .starts_with(b"GIF8")
    );
    let task_id = video.trim_end_matches(".gif");

    let (ok, listed, stderr) = user(&gw, dir.path(), key, &["tasks", "list"]);
    assert!(ok, "{stderr}");
    assert_eq!(listed.lines().count(), 3, "{listed}");
    assert!(
        listed.lines().next().unwrap().starts_with(task_id),
        "newest first: {listed}"
    );
    let (ok, listed, _) = user(&gw, dir.path(), key, &["tasks", "list", "--type", "video"]);
    assert!(ok);
    assert_eq!(listed.lines().count(), 1, "{listed}");
    let (ok, shown, _) = user(&gw, dir.path(), key, &["tasks", "show", task_id]);
    assert!(ok);
    let shown: Value = serde_json::from_str(&shown).unwrap();
    assert_eq!(shown["status"], "succeeded");
    let (ok, _, stderr) = user(&gw, dir.path(), key, &["tasks", "cancel", task_id]);
    assert!(!ok);
    assert!(stderr.contains("TASK_NOT_CANCELABLE"), "{stderr}");

    // Refusals are clear, and cost nothing.
    let (ok, _, stderr) = user(
        &gw,
        dir.path(),
        key,
        &["generate", "--prompt", "extreme gore, dismembered bodies"],
    );
    assert!(!ok);
    assert!(stderr.contains("CONTENT_POLICY_VIOLATION"), "{stderr}");
    let (ok, _, stderr) = user(&gw, dir.path(), None, &["tasks", "list"]);
    assert!(!ok);
    assert!(stderr.contains("IMINI_API_KEY"), "{stderr}");
    let (ok, _, stderr) = user(&gw, dir.path(), Some("imini_sk_wrong"), &["tasks", "list"]);
    assert!(!ok);
    assert!(stderr.contains("INVALID_API_KEY"), "{stderr}");
    let (ok, _, stderr) = user(
        &gw,
        dir.path(),
        key,
        &["generate", "--prompt", "x", "--image", "missing.png"],
    );
    assert!(!ok);
    assert!(stderr.contains("missing.png"), "{stderr}");
    assert_eq!(gw.account_view(&acct.id)["credit_balance"], 1_000 - 30 - 5);
}

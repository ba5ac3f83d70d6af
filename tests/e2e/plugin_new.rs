//! A plugin author's first hour, outside this repository: `imini-sdk` as
//! `cargo package` makes it for publishing, `imini plugin new` writing a
//! provider and a policy into a temporary folder, each crate's own tests
//! passing, both built with plain cargo for `wasm32-wasip2`, installed on a
//! running gateway and serving.

use std::path::{Path, PathBuf};
use std::process::Command;

use base64::Engine as _;
use imini_tests::mock::{Mock, Reply};
use imini_tests::{Gateway, assert_error, binary, png};
use serde_json::json;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the workspace")
        .to_path_buf()
}

/// Runs `cmd`, failing the test with its output unless it succeeds.
fn run(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{cmd:?} failed:\n{text}");
    text
}

fn cargo() -> Command {
    let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    // Outside the workspace: no setting of this one's may leak in, but the
    // dependencies built once serve every run.
    cmd.env_remove("CARGO_TARGET_DIR")
        .env_remove("RUSTFLAGS")
        .env(
            "CARGO_TARGET_DIR",
            workspace().join("target").join("plugin-new"),
        );
    cmd
}

/// `imini-sdk` as it would be published, unpacked into `dir`.
fn packaged_sdk(dir: &Path) -> PathBuf {
    let out = dir.join("package");
    run(cargo()
        .current_dir(workspace())
        .args(["package", "-p", "imini-sdk", "--allow-dirty", "--no-verify"])
        .env("CARGO_TARGET_DIR", &out));
    let krate = std::fs::read_dir(out.join("package"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "crate"))
        .expect("the packaged crate");
    run(Command::new("tar")
        .arg("xzf")
        .arg(&krate)
        .arg("-C")
        .arg(dir));
    let sdk = dir.join(krate.file_stem().unwrap());
    assert!(
        sdk.join("wit/imini-plugin.wit").is_file(),
        "the WIT is inside the packaged crate"
    );
    sdk
}

/// `imini plugin new` in `dir`, then its tests and its release build;
/// returns the component and the manifest.
fn new_plugin(dir: &Path, sdk: &Path, name: &str, kind: &str) -> (Vec<u8>, String) {
    let crate_dir = dir.join(name);
    let said = run(Command::new(binary())
        .args(["plugin", "new", name, "--kind", kind, "--dir"])
        .arg(&crate_dir)
        .arg("--sdk-path")
        .arg(sdk));
    assert!(
        said.contains("cargo build --target wasm32-wasip2 --release"),
        "{said}"
    );
    let tested = run(cargo().current_dir(&crate_dir).arg("test"));
    assert!(tested.contains("test result: ok."), "{tested}");
    run(cargo()
        .current_dir(&crate_dir)
        .args(["build", "--target", "wasm32-wasip2", "--release"]));
    let wasm = workspace()
        .join("target/plugin-new/wasm32-wasip2/release")
        .join(format!("{}.wasm", name.replace('-', "_")));
    (
        std::fs::read(&wasm).unwrap_or_else(|e| panic!("{}: {e}", wasm.display())),
        std::fs::read_to_string(crate_dir.join("imini-plugin.toml")).unwrap(),
    )
}

#[test]
fn plugins_written_by_plugin_new_outside_the_workspace_pass_their_tests_and_serve() {
    let dir = tempfile::tempdir().unwrap();
    assert!(
        !dir.path().starts_with(workspace()),
        "the plugins are written outside the workspace"
    );
    let sdk = packaged_sdk(dir.path());
    let (provider_wasm, provider_manifest) =
        new_plugin(dir.path(), &sdk, "acme-images", "provider");
    let (policy_wasm, policy_manifest) = new_plugin(dir.path(), &sdk, "no-spoilers", "policy");

    // An OpenAI-compatible upstream, as the provider template expects.
    let image = png(24, 16, [200, 100, 50]);
    let b64 = base64::engine::general_purpose::STANDARD.encode(&image);
    let upstream = Mock::with_handler(move |_| {
        Reply::json(200, &json!({"created": 1, "data": [{"b64_json": b64}]}))
    });
    let gw = Gateway::start_with_config(&format!(
        r#"
[credentials.acme-images]
value = "sk-acme"

[plugin_settings.acme-images]
allowed_hosts = [{host:?}]

[plugin_settings.acme-images.config]
base_url = "{url}"

[plugin_settings.no-spoilers.config]
blocked_words = ["ending of"]
"#,
        host = upstream.host_port,
        url = upstream.url,
    ));
    for (wasm, manifest) in [
        (provider_wasm, provider_manifest),
        (policy_wasm, policy_manifest),
    ] {
        let installed = gw.install_plugin(wasm, &manifest);
        assert_eq!(
            installed.status,
            201,
            "{}",
            String::from_utf8_lossy(&installed.body)
        );
    }

    let answer = gw.post(
        "/v1/images/generations",
        &json!({"model": "acme-images/image", "prompt": "a red fox", "size": "1024x1024", "response_format": "b64_json"}),
    );
    assert_eq!(
        answer.status,
        200,
        "{}",
        String::from_utf8_lossy(&answer.body)
    );
    let served = base64::engine::general_purpose::STANDARD
        .decode(answer.json()["data"][0]["b64_json"].as_str().unwrap())
        .unwrap();
    assert_eq!(served, image, "the upstream's image, as it answered");
    let received = upstream.received();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].path, "/v1/images/generations");
    assert_eq!(received[0].header("authorization"), Some("Bearer sk-acme"));
    assert_eq!(received[0].json()["prompt"], "a red fox");

    // The new policy checks every model's requests.
    let refused = gw.post(
        "/v1/images/generations",
        &json!({"model": "imini/canvas-image", "prompt": "the Ending Of the film", "size": "64x64"}),
    );
    let e = assert_error(&refused, 400, "CONTENT_POLICY_VIOLATION");
    assert!(e["message"].as_str().unwrap().contains("custom"), "{e}");
    assert_eq!(upstream.received().len(), 1, "nothing more went upstream");
}

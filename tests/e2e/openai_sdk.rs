//! The official OpenAI Python SDK against the gateway, changing only
//! `base_url`. The SDK is installed from PyPI into `target/pyenv` (pinned in
//! tests/python/requirements.txt) the first time, and again when the pin
//! changes.

use std::path::PathBuf;
use std::process::Command;

use imini_tests::{ADMIN_KEY, Gateway};

#[test]
fn the_official_openai_python_sdk_works_by_changing_base_url() {
    let python = imini_tests::python_tools();
    let gw = Gateway::start();
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("python/openai_sdk_check.py");
    let out = Command::new(python)
        .arg(script)
        .arg(&gw.base)
        .arg(ADMIN_KEY)
        .output()
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(
        out.status.success(),
        "the SDK check failed:\n{stdout}\n{stderr}\ngateway log:\n{}",
        gw.logs()
    );
    assert!(stdout.contains("openai sdk check: ok"), "{stdout}");
}

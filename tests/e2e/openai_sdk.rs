//! The official OpenAI Python SDK against the gateway, changing only
//! `base_url`. The SDK is installed from PyPI into `target/pyenv` (pinned in
//! tests/python/requirements.txt) the first time, and again when the pin
//! changes.

use std::path::PathBuf;
use std::process::Command;

use imini_tests::{ADMIN_KEY, Gateway};

fn python_with_sdk() -> PathBuf {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf();
    let requirements = root.join("tests/python/requirements.txt");
    let pins = std::fs::read_to_string(&requirements).unwrap();
    let venv = root.join("target/pyenv");
    let python = venv.join("bin/python");
    let stamp = venv.join("installed-requirements.txt");
    if python.exists() && std::fs::read_to_string(&stamp).ok().as_deref() == Some(pins.as_str()) {
        return python;
    }
    let run = |cmd: &mut Command, what: &str| {
        let out = cmd.output().unwrap_or_else(|e| panic!("{what}: {e}"));
        assert!(
            out.status.success(),
            "{what} failed:\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    };
    run(
        Command::new("python3").args(["-m", "venv"]).arg(&venv),
        "creating the virtualenv (python3 -m venv)",
    );
    run(
        Command::new(venv.join("bin/pip"))
            .args(["install", "--quiet", "--disable-pip-version-check", "-r"])
            .arg(&requirements),
        "installing the OpenAI SDK from PyPI",
    );
    std::fs::write(&stamp, pins).unwrap();
    python
}

#[test]
fn the_official_openai_python_sdk_works_by_changing_base_url() {
    let python = python_with_sdk();
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

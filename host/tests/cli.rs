//! The command line itself (this also makes `cargo test` build the `imini`
//! binary that the end-to-end tests in tests/ start).

use std::process::Command;

fn imini() -> Command {
    Command::new(env!("CARGO_BIN_EXE_imini"))
}

#[test]
fn help_lists_serve_and_its_flags() {
    let out = imini().args(["serve", "--help"]).output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for flag in [
        "--listen",
        "--data-dir",
        "--config",
        "IMINI_LISTEN",
        "IMINI_DATA_DIR",
        "IMINI_CONFIG",
    ] {
        assert!(text.contains(flag), "{flag} missing from:\n{text}");
    }
}

#[test]
fn a_config_with_unknown_keys_is_refused_before_starting() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("imini.toml");
    std::fs::write(&config, "[sandbox]\nmemory = 64\n").unwrap();
    let out = imini()
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path().join("data"))
        .arg("--config")
        .arg(&config)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("unknown field") && err.contains("memory"),
        "{err}"
    );
    assert!(!dir.path().join("data").exists(), "nothing was created");
}

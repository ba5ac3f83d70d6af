//! Python virtualenvs for the tests that run Python tools (the OpenAI SDK
//! check, moto's S3 server): made under `target/` from a requirements file
//! in tests/python/ the first time, and again when its pins change.
//!
//! Only the standard library: the host's unit tests include this file too
//! (through tests/support/moto.rs).

use std::path::{Path, PathBuf};
use std::process::Command;

/// The python of the virtualenv `target/<name>` with
/// `tests/python/<requirements>` installed, under the workspace `root`;
/// or which step failed, with what it printed.
pub fn venv(root: &Path, name: &str, requirements: &str) -> Result<PathBuf, String> {
    let requirements = root.join("tests/python").join(requirements);
    let pins = std::fs::read_to_string(&requirements)
        .map_err(|e| format!("reading {}: {e}", requirements.display()))?;
    let venv = root.join("target").join(name);
    let python = venv.join("bin/python");
    let stamp = venv.join("installed-requirements.txt");
    if python.exists() && std::fs::read_to_string(&stamp).ok().as_deref() == Some(pins.as_str()) {
        return Ok(python);
    }
    let run = |cmd: &mut Command, what: &str| match cmd.output() {
        Ok(out) if out.status.success() => Ok(()),
        Ok(out) => Err(format!(
            "{what} failed:\n{}\n{}",
            String::from_utf8_lossy(&out.stdout).trim(),
            String::from_utf8_lossy(&out.stderr).trim()
        )),
        Err(e) => Err(format!("{what} failed: {e}")),
    };
    run(
        Command::new("python3").args(["-m", "venv"]).arg(&venv),
        "creating the virtualenv (python3 -m venv)",
    )?;
    run(
        Command::new(venv.join("bin/pip"))
            .args(["install", "--quiet", "--disable-pip-version-check", "-r"])
            .arg(&requirements),
        &format!("installing {} from PyPI", requirements.display()),
    )?;
    std::fs::write(&stamp, pins).map_err(|e| format!("writing {}: {e}", stamp.display()))?;
    Ok(python)
}

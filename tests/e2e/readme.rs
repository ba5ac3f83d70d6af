//! README's quick start, run as written: every command of its `sh` blocks
//! and its Python block, in order, against a gateway. Only what a reader
//! would fill in is filled in: the address (the test's gateway listens on
//! a free port, not 8080), `$KEY`, `$USER_KEY`, and the `task_…`, `file_…`
//! and `acct_…` ids earlier commands answered. So README cannot drift
//! from what the gateway does.

use std::path::{Path, PathBuf};
use std::process::Command;

use imini_tests::{ADMIN_KEY, Gateway};
use serde_json::Value;

/// A fenced block of the quick start: its language and its text.
struct Block {
    lang: String,
    text: String,
}

fn quick_start() -> Vec<Block> {
    let readme =
        std::fs::read_to_string(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../README.md"))
            .expect("README.md");
    let start = readme
        .find("\n## Quick start")
        .expect("a Quick start section");
    let section = &readme[start + 1..];
    let end = section[3..].find("\n## ").map_or(section.len(), |i| i + 3);
    let section = &section[..end];
    let mut blocks = Vec::new();
    let mut lines = section.lines();
    while let Some(line) = lines.next() {
        if let Some(lang) = line.strip_prefix("```") {
            let text: Vec<&str> = lines
                .by_ref()
                .take_while(|l| !l.starts_with("```"))
                .collect();
            blocks.push(Block {
                lang: lang.trim().to_string(),
                text: text.join("\n"),
            });
        }
    }
    blocks
}

/// The commands of a shell block: continuation lines joined, comments
/// (whole lines, and `  # …` after a command) left out.
fn commands(block: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    for line in block.lines() {
        let line = match line.find("  #") {
            Some(i) => &line[..i],
            None => line,
        };
        let trimmed = line.trim();
        if current.is_empty() && (trimmed.is_empty() || trimmed.starts_with('#')) {
            continue;
        }
        match trimmed.strip_suffix('\\') {
            Some(head) => {
                current.push_str(head);
                current.push(' ');
            }
            None => {
                current.push_str(trimmed);
                out.push(std::mem::take(&mut current));
            }
        }
    }
    out
}

/// What the commands so far answered that later ones refer to.
#[derive(Default)]
struct Seen {
    task: Option<String>,
    file: Option<String>,
    account: Option<String>,
    user_key: Option<String>,
}

impl Seen {
    fn learn(&mut self, answer: &Value) {
        if let Some(t) = answer["task_id"].as_str() {
            self.task = Some(t.to_string());
        }
        if let Some(f) = answer["images"][0]["file_id"].as_str() {
            self.file = Some(f.to_string());
        }
        if let Some(a) = answer["id"].as_str().filter(|a| a.starts_with("acct_")) {
            self.account = Some(a.to_string());
        }
        if let Some(s) = answer["secret"].as_str() {
            self.user_key = Some(s.to_string());
        }
    }

    /// `text` with the reader's parts filled in.
    fn fill(&self, text: &str, address: &str) -> String {
        let mut text = text
            .replace("http://127.0.0.1:8080", &format!("http://{address}"))
            .replace("localhost:8080", address);
        for (placeholder, value) in [
            ("task_…", &self.task),
            ("file_…", &self.file),
            ("acct_…", &self.account),
        ] {
            if text.contains(placeholder) {
                let value = value
                    .as_deref()
                    .unwrap_or_else(|| panic!("no earlier command answered a {placeholder}"));
                text = text.replace(placeholder, value);
            }
        }
        text
    }
}

fn assert_file(dir: &Path, name: &str, magic: &[u8]) {
    let bytes = std::fs::read(dir.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
    assert!(
        bytes.starts_with(magic),
        "{name} is not the expected format"
    );
}

#[test]
fn every_command_of_the_readme_quick_start_works_as_written() {
    let gw = Gateway::start();
    let address = gw.base.trim_start_matches("http://").to_string();
    let dir = tempfile::tempdir().unwrap();
    let bin_dir = imini_tests::binary()
        .parent()
        .expect("the binary's directory")
        .to_path_buf();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let python = imini_tests::python_tools();
    let mut seen = Seen::default();
    // `export` lines carry on to the commands after them, as in a shell.
    let mut exports = String::new();
    let blocks = quick_start();
    assert!(
        blocks.len() >= 4,
        "the quick start has {} blocks",
        blocks.len()
    );
    let mut ran = 0;
    for block in &blocks {
        match block.lang.as_str() {
            "sh" => {
                for command in commands(&block.text) {
                    // The task must have finished before its file is asked for.
                    if command.contains("task_…") {
                        let task = seen.task.clone().expect("a task id");
                        imini_tests::wait_until("the quick start's task finishes", || {
                            gw.get(&format!("/v1/tasks/{task}")).json()["status"] == "succeeded"
                        });
                    }
                    let filled = seen.fill(&command, &address);
                    if filled.starts_with("export ") {
                        exports.push_str(&filled);
                        exports.push('\n');
                        continue;
                    }
                    let mut cmd = Command::new("bash");
                    cmd.arg("-c")
                        .arg(format!("set -eo pipefail\n{exports}{filled}"))
                        .current_dir(dir.path())
                        .env("KEY", ADMIN_KEY)
                        .env("PATH", &path)
                        .env("PYTHONPATH", "");
                    if let Some(key) = &seen.user_key {
                        cmd.env("USER_KEY", key);
                    }
                    let out = cmd.output().unwrap();
                    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
                    assert!(
                        out.status.success(),
                        "README command failed: {command}\n{stdout}\n{}",
                        String::from_utf8_lossy(&out.stderr)
                    );
                    if let Ok(answer) = serde_json::from_str::<Value>(&stdout) {
                        assert!(
                            answer.get("error").is_none_or(Value::is_null),
                            "README command answered an error: {command}\n{stdout}"
                        );
                        seen.learn(&answer);
                    }
                    ran += 1;
                }
            }
            "python" => {
                let key = seen.user_key.clone().expect("the user's key, made above");
                let script = format!("USER_KEY = {key:?}\n{}", seen.fill(&block.text, &address));
                let out = Command::new(&python)
                    .arg("-c")
                    .arg(&script)
                    .current_dir(dir.path())
                    .output()
                    .unwrap();
                assert!(
                    out.status.success(),
                    "README's Python failed:\n{}",
                    String::from_utf8_lossy(&out.stderr)
                );
                ran += 1;
            }
            other => panic!("a quick start block in an unexpected language: {other:?}"),
        }
    }
    assert!(ran >= 15, "{ran} commands ran");
    // What the commands wrote.
    let png = b"\x89PNG\r\n\x1a\n";
    for name in ["out.png", "image.png", "lighthouse.png", "snowy.png"] {
        assert_file(dir.path(), name, png);
    }
    assert_file(dir.path(), "waves.gif", b"GIF8");
}

//! Builds guest crates (plugins) for `wasm32-wasip2` from a build script, once,
//! into their own target directory, the way wasmtime builds its test programs.
//! Shared by the host's build script (bundled plugins) and the tests' (test
//! guests) through `#[path]`.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The guest target.
pub const TARGET: &str = "wasm32-wasip2";
/// The cargo profile guests are built with (see the workspace manifest).
pub const PROFILE: &str = "guest";

/// The workspace root, from a member's manifest directory.
pub fn workspace_root() -> PathBuf {
    let dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("run by cargo"));
    dir.ancestors()
        .find(|d| d.join("Cargo.lock").exists() || d.join("wit").is_dir())
        .expect("the workspace root holds wit/")
        .to_path_buf()
}

/// The package names of the crates directly under `dir` (one per folder with
/// a Cargo.toml), sorted.
pub fn crates_in(dir: &Path) -> Vec<(String, PathBuf)> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
    {
        let path = entry.expect("directory entry").path();
        let manifest = path.join("Cargo.toml");
        if let Ok(text) = std::fs::read_to_string(&manifest) {
            let name = text
                .lines()
                .find_map(|l| {
                    l.trim()
                        .strip_prefix("name = ")
                        .map(|n| n.trim_matches('"').to_string())
                })
                .unwrap_or_else(|| panic!("no package name in {}", manifest.display()));
            found.push((name, path));
        }
    }
    found.sort();
    found
}

/// Makes sure the wasm32-wasip2 standard library is installed, installing it
/// with rustup when possible (rustup's auto-install may be disabled).
fn ensure_target() {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let sysroot = Command::new(&rustc)
        .args(["--print", "sysroot"])
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| PathBuf::from(s.trim()));
    let installed = |root: &Option<PathBuf>| {
        root.as_ref()
            .is_some_and(|r| r.join("lib/rustlib").join(TARGET).is_dir())
    };
    if installed(&sysroot) {
        return;
    }
    println!("cargo:warning=installing the {TARGET} target with rustup (needed to build plugins)");
    let status = Command::new("rustup")
        .args(["target", "add", TARGET])
        .status();
    if !matches!(status, Ok(s) if s.success()) || !installed(&sysroot) {
        panic!(
            "\n\nThe {TARGET} target is not installed, and it could not be installed automatically.\n\
             Run this once, then build again:\n\n    rustup target add {TARGET}\n\n"
        );
    }
}

/// Builds `packages` for wasm32-wasip2 and returns the path of each one's
/// `.wasm`, in the same order.
pub fn build(packages: &[String]) -> Vec<PathBuf> {
    ensure_target();
    let root = workspace_root();
    let target_dir = root.join("target").join("guests");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(&root)
        .args(["build", "--target", TARGET, "--profile", PROFILE])
        .env("CARGO_TARGET_DIR", &target_dir)
        // Flags meant for the host build must not leak into the guests.
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_BUILD_TARGET")
        .env_remove("CARGO_PROFILE_RELEASE_DEBUG")
        .env_remove("CARGO_BUILD_RUSTFLAGS");
    for p in packages {
        cmd.args(["-p", p]);
    }
    let status = cmd.status().expect("running cargo to build the plugins");
    assert!(
        status.success(),
        "building the plugins for {TARGET} failed (see above)"
    );
    packages
        .iter()
        .map(|p| {
            let wasm = target_dir
                .join(TARGET)
                .join(PROFILE)
                .join(format!("{}.wasm", p.replace('-', "_")));
            assert!(wasm.exists(), "cargo did not produce {}", wasm.display());
            wasm
        })
        .collect()
}

/// Tells cargo to run the build script again when guest sources change.
pub fn rerun_if_changed(paths: &[PathBuf]) {
    for p in paths {
        println!("cargo:rerun-if-changed={}", p.display());
    }
}

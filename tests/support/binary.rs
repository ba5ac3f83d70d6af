//! Which `imini` binary the tests start, refusing one older than the
//! sources it is built from.

use std::path::{Path, PathBuf};

static BINARY: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();

/// Names the `imini` binary to start (for programs other than the tests,
/// such as the bench, whose binary does not sit in `deps/`).
pub fn set_binary(path: PathBuf) {
    let _ = BINARY.set(path);
}

/// The `imini` binary: the one given to [`set_binary`], `IMINI_BIN`, or the
/// one cargo built beside this test.
pub fn binary() -> PathBuf {
    if let Some(path) = BINARY.get() {
        return path.clone();
    }
    if let Some(path) = std::env::var_os("IMINI_BIN") {
        return path.into();
    }
    let exe = std::env::current_exe().expect("test binary path");
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("target/<profile>/deps/..");
    let bin = dir.join("imini");
    assert!(
        bin.exists(),
        "{} does not exist: run the tests with `cargo test` from the workspace root (it builds the binary), or set IMINI_BIN",
        bin.display()
    );
    // `cargo test -p imini-tests` alone does not rebuild the gateway: the
    // tests would silently run an old build.
    let built = std::fs::metadata(&bin).and_then(|m| m.modified()).ok();
    if let (Some(built), Some((source, changed))) = (built, newest_source())
        && changed > built
    {
        panic!(
            "{} is older than {}: build it first (`cargo test --workspace --no-run`, or run `cargo test --workspace`), or set IMINI_BIN",
            bin.display(),
            source.display()
        );
    }
    bin
}

/// The most recently changed file the gateway binary is built from (its
/// sources, the bundled plugins, the SDK and the WIT contract), with when.
fn newest_source() -> Option<(PathBuf, std::time::SystemTime)> {
    fn walk(dir: &Path, newest: &mut Option<(PathBuf, std::time::SystemTime)>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let Ok(meta) = entry.metadata() else { continue };
            if meta.is_dir() {
                if path.file_name().is_some_and(|n| n != "target") {
                    walk(&path, newest);
                }
            } else if path
                .extension()
                .is_some_and(|e| e == "rs" || e == "wit" || e == "toml")
                && let Ok(changed) = meta.modified()
                && newest.as_ref().is_none_or(|(_, t)| changed > *t)
            {
                *newest = Some((path, changed));
            }
        }
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent()?;
    let mut newest = None;
    // What `cargo build -p imini` rebuilds the binary for (the host's build
    // script watches the whole of plugins/, sdk/ and wit/); not the host's
    // benches, which a build of the binary leaves alone.
    for dir in ["host/src", "host/build", "plugins", "sdk", "wit"] {
        walk(&root.join(dir), &mut newest);
    }
    for file in ["host/build.rs", "host/Cargo.toml"] {
        let path = root.join(file);
        if let Ok(changed) = std::fs::metadata(&path).and_then(|m| m.modified())
            && newest.as_ref().is_none_or(|(_, t)| changed > *t)
        {
            newest = Some((path, changed));
        }
    }
    newest
}

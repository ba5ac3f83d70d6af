//! moto's S3-compatible server for the tests of the S3 media store: one
//! server per test process on a free loopback port, started at first use
//! and stopped when the process ends (it serves until its standard input
//! closes); each test makes a bucket of its own with a random name and
//! deletes only it. moto comes from PyPI (`moto[server]`, pinned in
//! tests/python/requirements-moto.txt), installed into `target/pyenv-moto`
//! the first time and again when the pin changes.
//!
//! Only the standard library: the host's unit tests include this file too.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

/// Virtualenvs (a path of its own, as the host's tests include this file).
#[path = "python.rs"]
pub mod python;

/// The dummy credentials moto accepts, as the gateway reads them from the
/// environment.
pub const CREDENTIALS: [(&str, &str); 3] = [
    ("AWS_ACCESS_KEY_ID", "test"),
    ("AWS_SECRET_ACCESS_KEY", "test"),
    ("AWS_DEFAULT_REGION", "us-east-1"),
];

/// The running server.
struct Server {
    endpoint: String,
    python: PathBuf,
    /// Held until the process ends: the server stops when its standard
    /// input closes.
    _process: Mutex<(Child, ChildStdin, BufReader<ChildStdout>)>,
}

fn root() -> PathBuf {
    // Both the host and the tests crate sit one level below the workspace.
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the workspace")
        .to_path_buf()
}

fn needed(what: &str, detail: impl std::fmt::Display) -> ! {
    panic!(
        "moto's S3 server is needed for these tests: python3 with venv (Debian package \
         python3-venv) and the PyPI package `moto[server]` (installed by the tests into \
         target/pyenv-moto); {what} failed [{detail}]"
    )
}

/// The virtualenv's python, with moto installed.
fn python_with_moto() -> PathBuf {
    python::venv(&root(), "pyenv-moto", "requirements-moto.txt")
        .unwrap_or_else(|e| needed("installing moto", e))
}

fn server() -> &'static Server {
    static SERVER: OnceLock<Server> = OnceLock::new();
    SERVER.get_or_init(|| {
        let python = python_with_moto();
        let mut child = Command::new(&python)
            .arg(root().join("tests/python/moto_server.py"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| needed("starting moto's server", e));
        let stdin = child.stdin.take().expect("piped");
        let mut stdout = BufReader::new(child.stdout.take().expect("piped"));
        // The port, read on a thread so that a server that never starts
        // fails the test in bounded time.
        let (tx, rx) = std::sync::mpsc::channel();
        let reader = std::thread::spawn(move || {
            let mut line = String::new();
            let read = stdout.read_line(&mut line);
            let _ = tx.send((read.map(|_| line), stdout));
        });
        let (line, stdout) = match rx.recv_timeout(Duration::from_secs(60)) {
            Ok((Ok(line), stdout)) => (line, stdout),
            Ok((Err(e), _)) => needed("reading moto's port", e),
            Err(_) => {
                let _ = child.kill();
                needed("starting moto's server", "no port within 60 s")
            }
        };
        reader.join().expect("the reader");
        let port: u16 = line
            .trim()
            .parse()
            .unwrap_or_else(|_| needed("starting moto's server", format!("it said {line:?}")));
        Server {
            endpoint: format!("http://127.0.0.1:{port}"),
            python,
            _process: Mutex::new((child, stdin, stdout)),
        }
    })
}

fn random_name() -> String {
    use std::hash::BuildHasher;
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let seed = (
        std::process::id(),
        std::time::SystemTime::now(),
        COUNTER.fetch_add(1, Ordering::Relaxed),
    );
    let n = std::collections::hash_map::RandomState::new().hash_one(seed);
    format!("imini-test-{n:016x}")
}

/// A bucket of one test on the shared server, deleted (with its objects)
/// when dropped.
pub struct Bucket {
    /// The server's URL, `http://127.0.0.1:<port>`.
    pub endpoint: String,
    /// The bucket's random name.
    pub name: String,
    python: PathBuf,
}

fn bucket_command(python: &Path, action: &str, endpoint: &str, name: &str) -> Result<(), String> {
    let out = Command::new(python)
        .arg(root().join("tests/python/moto_bucket.py"))
        .args([action, endpoint, name])
        .output()
        .map_err(|e| e.to_string())?;
    if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).trim().to_string())
    }
}

impl Bucket {
    /// A new, empty bucket on moto's server (started if need be).
    pub fn create() -> Self {
        let server = server();
        let name = random_name();
        if let Err(e) = bucket_command(&server.python, "create", &server.endpoint, &name) {
            panic!(
                "creating the bucket {name} on moto at {}: {e}",
                server.endpoint
            );
        }
        Self {
            endpoint: server.endpoint.clone(),
            name,
            python: server.python.clone(),
        }
    }
}

impl Drop for Bucket {
    fn drop(&mut self) {
        if let Err(e) = bucket_command(&self.python, "delete", &self.endpoint, &self.name) {
            eprintln!("deleting the test bucket {}: {e}", self.name);
        }
    }
}

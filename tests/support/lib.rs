//! Support for the end-to-end tests: start the real `imini` binary on
//! 127.0.0.1 port 0 with a temporary data directory, talk to it over HTTP,
//! stop it (gracefully or with SIGKILL), and fake upstreams on loopback.

mod accounts;
pub mod bench;
mod binary;
pub mod browser;
pub mod conformance;
pub mod embedded;
pub mod mock;
pub mod moto;
pub mod pg;
pub mod redis;
pub mod smtp;

pub use accounts::{
    TestAccount, assert_charged_once, assert_outputs_served, assert_reconciles, assert_refunded,
    task_entries,
};
pub use binary::{binary, set_binary};
/// Python virtualenvs for the tests that run Python tools.
pub use moto::python;

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// Paths of the test guest plugins, built by the build script.
pub mod guests {
    include!(concat!(env!("OUT_DIR"), "/guests.rs"));
}

/// The admin key the tests start gateways with.
pub const ADMIN_KEY: &str = "imini_admin_test_key_0123456789";

/// Cargo's target directory, where the tests keep what outlives a test.
pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"))
}

/// The plugin cache the suite's gateways share (`IMINI_PLUGIN_CACHE`).
pub fn shared_plugin_cache() -> PathBuf {
    target_dir().join("e2e-plugin-cache")
}

/// A running gateway.
pub struct Gateway {
    child: Option<Child>,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// The data directory (kept across restarts).
    pub data_dir: PathBuf,
    config: Option<PathBuf>,
    log: PathBuf,
    env: Vec<(String, String)>,
    /// The PostgreSQL database it keeps its state in (none: the embedded
    /// store in the data directory).
    database: Option<std::sync::Arc<pg::Database>>,
    _dir: std::sync::Arc<tempfile::TempDir>,
    client: reqwest::blocking::Client,
}

impl Gateway {
    /// The process id of the running gateway.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }
}

/// An HTTP answer.
#[derive(Debug)]
pub struct Answer {
    /// Status code.
    pub status: u16,
    /// Headers.
    pub headers: reqwest::header::HeaderMap,
    /// Body bytes.
    pub body: Vec<u8>,
}

impl Answer {
    /// The body as JSON (panics with the body if it is not).
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }
}

impl Gateway {
    /// Starts a gateway with no configuration file.
    pub fn start() -> Self {
        Self::start_with_config("")
    }

    /// Starts a gateway with `config` (TOML) as its configuration file, on
    /// the embedded store, or on a database of its own when the suite runs on PostgreSQL
    /// ([`pg::e2e_on_postgres`]).
    pub fn start_with_config(config: &str) -> Self {
        Self::start_with_env(config, &[])
    }

    /// As [`Gateway::start_with_config`], with the environment variables
    /// `env` set for the process.
    pub fn start_with_env(config: &str, env: &[(&str, &str)]) -> Self {
        let database = pg::e2e_on_postgres().then(|| std::sync::Arc::new(pg::Database::create()));
        Self::launch(config, database, env)
    }

    /// Starts a gateway with `config` on the embedded store in its data
    /// directory, also when the suite runs on PostgreSQL.
    pub fn start_embedded(config: &str) -> Self {
        Self::launch(config, None, &[])
    }

    /// Starts a gateway with `config` and the environment variables `env`
    /// on `database`, which other gateways (replicas) may share.
    pub fn start_on_database(
        config: &str,
        database: std::sync::Arc<pg::Database>,
        env: &[(&str, &str)],
    ) -> Self {
        Self::launch(config, Some(database), env)
    }

    /// The database this gateway keeps its state in, when on PostgreSQL.
    pub fn database(&self) -> Option<&std::sync::Arc<pg::Database>> {
        self.database.as_ref()
    }

    fn launch(
        config: &str,
        database: Option<std::sync::Arc<pg::Database>>,
        env: &[(&str, &str)],
    ) -> Self {
        // Several gateways run at once: a small pool each keeps them under
        // the server's connection limit.
        let config = match &database {
            Some(_) if !config.contains("[store]") => format!("{config}\n[store]\npool_size = 8\n"),
            _ => config.to_string(),
        };
        let env = database
            .iter()
            .map(|db| ("IMINI_STORE_URL".to_string(), db.url()))
            .chain(env.iter().map(|(k, v)| (k.to_string(), v.to_string())))
            .collect();
        let dir = tempfile::tempdir().expect("temp dir");
        let data_dir = dir.path().join("data");
        let config_path = (!config.is_empty()).then(|| {
            let p = dir.path().join("imini.toml");
            std::fs::write(&p, &config).expect("write config");
            p
        });
        let log = dir.path().join("imini.log");
        let mut gw = Self {
            child: None,
            base: String::new(),
            data_dir,
            config: config_path,
            log,
            env,
            database,
            _dir: std::sync::Arc::new(dir),
            client: reqwest::blocking::Client::builder()
                .timeout(Duration::from_secs(60))
                .build()
                .expect("client"),
        };
        gw.spawn();
        gw
    }

    fn spawn(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .expect("log file");
        let mut cmd = Command::new(binary());
        cmd.arg("serve")
            .args(["--listen", "127.0.0.1:0", "--data-dir"])
            .arg(&self.data_dir)
            .env("IMINI_ADMIN_KEY", ADMIN_KEY)
            // Compiling the bundled plugins takes seconds of CPU at each
            // start from an empty data directory: the suite's gateways
            // share one cache (a test may name its own in `env`).
            .env("IMINI_PLUGIN_CACHE", shared_plugin_cache())
            .env("RUST_LOG", "info")
            .env_remove("IMINI_CONFIG")
            .env_remove("IMINI_REDIS_URL")
            .stdout(Stdio::piped())
            .stderr(log);
        if let Some(config) = &self.config {
            cmd.arg("--config").arg(config);
        }
        cmd.envs(self.env.iter().map(|(k, v)| (k, v)));
        let mut child = cmd.spawn().expect("start imini");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(url) = line.strip_prefix("imini listening on ") {
                    let _ = tx.send(url.to_string());
                }
            }
        });
        match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(base) => self.base = base,
            Err(_) => {
                let _ = child.kill();
                panic!("imini did not start; its log:\n{}", self.logs());
            }
        }
        self.child = Some(child);
    }

    /// The gateway's log so far.
    pub fn logs(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The link of the last email the gateway wrote to its log (no
    /// `[email]` configured) whose path is `path`.
    pub fn emailed_link(&self, path: &str) -> String {
        let logs = self.logs();
        let needle = format!("{}{path}?token=", self.base);
        let start = logs
            .rfind(&needle)
            .unwrap_or_else(|| panic!("no {path} link in the log"));
        logs[start..]
            .chars()
            .take_while(|c| !c.is_whitespace() && *c != '"' && *c != '\\')
            .collect()
    }

    /// Stops the process with SIGKILL, as a crash would.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Stops the process with SIGTERM and waits for it to exit.
    pub fn stop(&mut self) -> std::process::ExitStatus {
        let mut child = self.child.take().expect("running");
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(child.id().to_string())
            .status();
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(status) = child.try_wait().expect("wait") {
                return status;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                panic!("imini did not stop on SIGTERM");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Starts the process again on the same data directory and config.
    pub fn restart(&mut self) {
        self.kill();
        self.spawn();
    }

    /// Starts the process again with an environment variable set (e.g.
    /// `IMINI_TEST_CLOCK_OFFSET_SECS` to move the moderation clock).
    pub fn restart_with_env(&mut self, name: &str, value: &str) {
        self.env.retain(|(k, _)| k != name);
        self.env.push((name.to_string(), value.to_string()));
        self.restart();
    }

    /// Starts the process again without the environment variable `name`.
    pub fn restart_without_env(&mut self, name: &str) {
        self.env.retain(|(k, _)| k != name);
        self.restart();
    }

    /// Every file under the data directory, for what it must not hold.
    pub fn data_files(&self) -> Vec<PathBuf> {
        fn walk(dir: &std::path::Path, out: &mut Vec<PathBuf>) {
            for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    walk(&path, out);
                } else {
                    out.push(path);
                }
            }
        }
        let mut out = Vec::new();
        walk(&self.data_dir, &mut out);
        out
    }

    /// Sends a request with the admin key.
    pub fn request(&self, method: &str, path: &str, body: Option<&Value>) -> Answer {
        self.request_with(method, path, Some(ADMIN_KEY), body)
    }

    /// Sends a request with `key` (or none) and a JSON body (or none).
    pub fn request_with(
        &self,
        method: &str,
        path: &str,
        key: Option<&str>,
        body: Option<&Value>,
    ) -> Answer {
        let mut req = self.client.request(
            method.parse().expect("method"),
            format!("{}{path}", self.base),
        );
        if let Some(key) = key {
            req = req.bearer_auth(key);
        }
        if let Some(body) = body {
            req = req.json(body);
        }
        answer(req.send().expect("request"))
    }

    /// Sends a JSON body with `key` and extra headers.
    pub fn request_headers(
        &self,
        method: &str,
        path: &str,
        key: &str,
        body: &Value,
        headers: &[(&str, &str)],
    ) -> Answer {
        let mut req = self
            .client
            .request(
                method.parse().expect("method"),
                format!("{}{path}", self.base),
            )
            .bearer_auth(key)
            .json(body);
        for (n, v) in headers {
            req = req.header(*n, *v);
        }
        answer(req.send().expect("request"))
    }

    /// Sends raw bytes as the body with a content type.
    pub fn raw(&self, method: &str, path: &str, content_type: &str, body: Vec<u8>) -> Answer {
        let req = self
            .client
            .request(
                method.parse().expect("method"),
                format!("{}{path}", self.base),
            )
            .bearer_auth(ADMIN_KEY)
            .header("content-type", content_type)
            .body(body);
        answer(req.send().expect("request"))
    }

    /// GET with the admin key.
    pub fn get(&self, path: &str) -> Answer {
        self.request("GET", path, None)
    }

    /// POST JSON with the admin key.
    pub fn post(&self, path: &str, body: &Value) -> Answer {
        self.request("POST", path, Some(body))
    }

    /// GET an absolute URL with no key.
    pub fn get_url(&self, url: &str) -> Answer {
        answer(self.client.get(url).send().expect("request"))
    }

    /// Installs a plugin version (`POST /admin/v1/plugins` with the
    /// component and its manifest).
    pub fn install_plugin(&self, wasm: Vec<u8>, manifest: &str) -> Answer {
        let form = reqwest::blocking::multipart::Form::new()
            .text("manifest", manifest.to_string())
            .part(
                "component",
                reqwest::blocking::multipart::Part::bytes(wasm).file_name("plugin.wasm"),
            );
        answer(
            self.client
                .post(format!("{}/admin/v1/plugins", self.base))
                .bearer_auth(ADMIN_KEY)
                .multipart(form)
                .send()
                .expect("upload"),
        )
    }

    /// Generates with the admin key through the OpenAI face (`body`
    /// without `response_format`: a URL) and returns the first image's
    /// signed URL.
    pub fn image_url(&self, body: &Value) -> String {
        let answer = self.post("/v1/images/generations", body);
        assert_eq!(
            answer.status,
            200,
            "{}",
            String::from_utf8_lossy(&answer.body)
        );
        answer.json()["data"][0]["url"]
            .as_str()
            .expect("url")
            .to_string()
    }
}

pub fn answer(response: reqwest::blocking::Response) -> Answer {
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response.bytes().expect("body").to_vec();
    Answer {
        status,
        headers,
        body,
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Decodes a PNG: (width, height, pixels as RGB or RGBA bytes).
pub fn decode_png(bytes: &[u8]) -> (u32, u32, Vec<u8>) {
    let decoder = png::Decoder::new(std::io::Cursor::new(bytes));
    let mut reader = decoder.read_info().expect("a PNG");
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).expect("a PNG frame");
    buf.truncate(info.buffer_size());
    (info.width, info.height, buf)
}

/// Asserts an error answer has the documented shape, status and code.
pub fn assert_error(answer: &Answer, status: u16, code: &str) -> Value {
    assert_eq!(
        answer.status,
        status,
        "status; body: {}",
        String::from_utf8_lossy(&answer.body)
    );
    let body = answer.json();
    let error = &body["error"];
    assert_eq!(error["code"], code, "code; body: {body}");
    assert_eq!(error["status"], status, "status field; body: {body}");
    assert!(
        error["message"].as_str().is_some_and(|m| !m.is_empty()),
        "message; body: {body}"
    );
    assert!(error["type"].is_string(), "type; body: {body}");
    assert!(
        error.get("param").is_some(),
        "param present (may be null); body: {body}"
    );
    let request_id = answer
        .headers
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .expect("x-request-id header");
    assert_eq!(
        error["request_id"], request_id,
        "request id matches the header"
    );
    error.clone()
}

/// A small, real PNG of one colour.
pub fn png(width: u32, height: u32, rgb: [u8; 3]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, width, height);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().unwrap();
    let pixels: Vec<u8> = rgb
        .iter()
        .copied()
        .cycle()
        .take((width * height * 3) as usize)
        .collect();
    writer.write_image_data(&pixels).unwrap();
    writer.finish().unwrap();
    out
}

/// A mock of the OpenAI Images API that answers every generation with one
/// 32x32 PNG (`b64_json`) after `delay`, and the gateway configuration that
/// points the bundled `openai-images` adapter at it, with a 20 s upstream
/// timeout and `openai/dall-e-3` at 50 credits an image.
pub fn slow_openai(delay: Duration) -> (mock::Mock, String) {
    use base64::Engine as _;
    let image = base64::engine::general_purpose::STANDARD.encode(png(32, 32, [9, 9, 9]));
    let mock = mock::Mock::with_handler(move |_| {
        mock::Reply::json(
            200,
            &serde_json::json!({"created": 1_713_833_628, "data": [{"b64_json": image}]}),
        )
        .delayed(delay)
    });
    let config = format!(
        r#"[credentials.openai]
value = "sk-test"
[plugin_settings.openai-images]
allowed_hosts = ["{host}"]
[plugin_settings.openai-images.config]
base_url = "{url}"
timeout_ms = 20000
[prices."openai/dall-e-3"]
per_image = 50
"#,
        host = mock.host_port,
        url = mock.url,
    );
    (mock, config)
}

/// Waits (at most 10 s) until `done` holds, failing with `what` otherwise.
pub fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// The current month, `YYYY-MM` (UTC), as the gateway's clock has it: the
/// gateway runs on this machine, so ask it.
pub fn this_month() -> String {
    let out = std::process::Command::new("date")
        .args(["-u", "+%Y-%m"])
        .output()
        .expect("date runs");
    String::from_utf8(out.stdout)
        .expect("date prints text")
        .trim()
        .to_string()
}

/// A random number, for names tests make (databases, key prefixes).
pub fn random_u64() -> u64 {
    use std::hash::{BuildHasher, RandomState};
    RandomState::new().hash_one(std::time::SystemTime::now())
}

/// SHA-256 of `bytes`, lowercase hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The python of `target/pyenv`, with the Python tools the tests run
/// (tests/python/requirements.txt: the OpenAI SDK, the Prometheus parser),
/// installed from PyPI the first time.
/// Made once per test process, however many tests ask at once.
pub fn python_tools() -> PathBuf {
    static PYTHON: std::sync::OnceLock<Result<PathBuf, String>> = std::sync::OnceLock::new();
    let made = PYTHON.get_or_init(|| {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .expect("the workspace")
            .to_path_buf();
        python::venv(&root, "pyenv", "requirements.txt")
    });
    made.clone().unwrap_or_else(|e| panic!("{e}"))
}

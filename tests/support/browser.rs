//! A real headless Chromium, driven over WebDriver by chromedriver on
//! loopback (the Debian packages `chromium` and `chromium-driver`), for the
//! console's tests. Each browser has a fresh profile and stops with its
//! value.
//!
//! The client speaks the handful of W3C WebDriver commands the tests use
//! over the blocking `reqwest` this crate already has: the WebDriver crates
//! with a rustls backend bring a second TLS stack built with CMake, for a
//! plain-HTTP protocol on 127.0.0.1.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::{Value, json};

/// The key of an element reference in WebDriver answers.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// Where the test run saves the console's screenshots, for reviewers.
pub fn screenshot_dir() -> PathBuf {
    crate::target_dir().join("console-screenshots")
}

fn find_program(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    names.iter().find_map(|name| {
        std::env::split_paths(&path)
            .map(|dir| dir.join(name))
            .find(|p| p.is_file())
    })
}

/// A headless Chromium with one WebDriver session.
pub struct Browser {
    driver: Child,
    url: String,
    http: reqwest::blocking::Client,
    _profile: tempfile::TempDir,
}

impl Browser {
    /// Starts chromedriver and a headless Chromium with a fresh profile.
    pub fn start() -> Self {
        let chromium = find_program(&["chromium", "chromium-browser"]).unwrap_or_else(|| {
            panic!(
                "Chromium is missing: install the Debian package `chromium` (and `chromium-driver`)"
            )
        });
        let chromedriver = find_program(&["chromedriver"]).unwrap_or_else(|| {
            panic!("chromedriver is missing: install the Debian package `chromium-driver`")
        });
        let port = crate::redis::free_port();
        let driver = Command::new(chromedriver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let profile = tempfile::tempdir().expect("a profile directory");
        let http = reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .expect("an HTTP client");
        let base = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let ready = http
                .get(format!("{base}/status"))
                .send()
                .ok()
                .and_then(|r| r.json::<Value>().ok())
                .is_some_and(|v| v["value"]["ready"] == true);
            if ready {
                break;
            }
            assert!(Instant::now() < deadline, "chromedriver did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        let args = [
            "--headless".to_string(),
            "--no-sandbox".into(),
            "--disable-gpu".into(),
            "--disable-quic".into(),
            "--no-first-run".into(),
            "--disable-background-networking".into(),
            "--disable-component-update".into(),
            "--disable-sync".into(),
            "--window-size=1280,900".into(),
            format!("--user-data-dir={}", profile.path().display()),
        ];
        let capabilities = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": chromium, "args": args},
        }}});
        let session: Value = http
            .post(format!("{base}/session"))
            .json(&capabilities)
            .send()
            .and_then(|r| r.json())
            .expect("a WebDriver session");
        let id = session["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session: {session}"))
            .to_string();
        Self {
            driver,
            url: format!("{base}/session/{id}"),
            http,
            _profile: profile,
        }
    }

    /// A command's value, or the WebDriver error's name (such as `stale
    /// element reference`) and message.
    fn try_command(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value, String> {
        let mut request = self.http.request(method, format!("{}{path}", self.url));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let answer: Value = request
            .send()
            .and_then(|r| r.json())
            .unwrap_or_else(|e| panic!("WebDriver {path}: {e}"));
        match answer["value"]["error"].as_str() {
            Some(error) => Err(format!("{error}: {}", answer["value"]["message"])),
            None => Ok(answer["value"].clone()),
        }
    }

    fn command(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        self.try_command(method, path, body)
            .unwrap_or_else(|e| panic!("WebDriver {path}: {e}"))
    }

    /// Opens `url` and waits for it to load.
    pub fn goto(&self, url: &str) {
        self.command(reqwest::Method::POST, "/url", Some(json!({"url": url})));
    }

    /// The address of the page shown.
    pub fn current_url(&self) -> String {
        self.command(reqwest::Method::GET, "/url", None)
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// The page's HTML as the browser has it.
    pub fn source(&self) -> String {
        self.command(reqwest::Method::GET, "/source", None)
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// The elements matching the CSS selector.
    pub fn find_all(&self, css: &str) -> Vec<String> {
        let found = self.command(
            reqwest::Method::POST,
            "/elements",
            Some(json!({"using": "css selector", "value": css})),
        );
        found
            .as_array()
            .map(|all| {
                all.iter()
                    .filter_map(|e| e[ELEMENT].as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    }

    fn find(&self, css: &str) -> String {
        self.find_all(css)
            .into_iter()
            .next()
            .unwrap_or_else(|| panic!("no element {css:?} on {}", self.current_url()))
    }

    /// Types `text` into the field matching `css` (after clearing it).
    pub fn fill(&self, css: &str, text: &str) {
        let id = self.find(css);
        self.command(
            reqwest::Method::POST,
            &format!("/element/{id}/clear"),
            Some(json!({})),
        );
        self.command(
            reqwest::Method::POST,
            &format!("/element/{id}/value"),
            Some(json!({"text": text})),
        );
    }

    /// Clicks the element matching `css` (to submit a form and wait for
    /// its answer, [`Browser::submit`]).
    pub fn click(&self, css: &str) {
        let id = self.find(css);
        self.command(
            reqwest::Method::POST,
            &format!("/element/{id}/click"),
            Some(json!({})),
        );
    }

    /// Clicks the submit button matching `css` and waits until its page
    /// has been replaced by the answer (a click may return before the
    /// form's navigation has begun).
    pub fn submit(&self, css: &str) {
        // A page that reloads itself (a running task's) may replace the
        // button between finding and clicking it: find it again.
        let mut attempts = 0;
        let id = loop {
            let id = self.find(css);
            match self.try_command(
                reqwest::Method::POST,
                &format!("/element/{id}/click"),
                Some(json!({})),
            ) {
                Ok(_) => break id,
                Err(e) if e.starts_with("stale element reference") && attempts < 3 => {
                    attempts += 1;
                }
                Err(e) => panic!("WebDriver clicking {css:?}: {e}"),
            }
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            match self.try_command(reqwest::Method::GET, &format!("/element/{id}/name"), None) {
                // Chromium may say the old page's node is gone in either
                // words, depending on when the poll lands.
                Err(e)
                    if e.starts_with("stale element reference")
                        || e.contains("does not belong to the document") =>
                {
                    return;
                }
                Err(e) => panic!("WebDriver after submitting {css:?}: {e}"),
                Ok(_) => {}
            }
            assert!(Instant::now() < deadline, "submitting {css:?} led nowhere");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The visible text of the element matching `css`.
    pub fn text(&self, css: &str) -> String {
        let id = self.find(css);
        self.command(reqwest::Method::GET, &format!("/element/{id}/text"), None)
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// The attribute `name` of the element matching `css`.
    pub fn attribute(&self, css: &str, name: &str) -> Option<String> {
        let id = self.find(css);
        self.command(
            reqwest::Method::GET,
            &format!("/element/{id}/attribute/{name}"),
            None,
        )
        .as_str()
        .map(str::to_string)
    }

    /// The value of the cookie `name` the browser holds for the page's
    /// site (HttpOnly ones too), if it has one.
    pub fn cookie(&self, name: &str) -> Option<String> {
        self.try_command(reqwest::Method::GET, &format!("/cookie/{name}"), None)
            .ok()
            .and_then(|c| c["value"].as_str().map(str::to_string))
    }

    /// Resizes the window (e.g. to a phone's width).
    pub fn resize(&self, width: u32, height: u32) {
        self.command(
            reqwest::Method::POST,
            "/window/rect",
            Some(json!({"width": width, "height": height})),
        );
    }

    /// The page's width as laid out, and the window's inner width: a page
    /// that fits has no horizontal scrolling.
    pub fn widths(&self) -> (i64, i64) {
        let v = self.command(
            reqwest::Method::POST,
            "/execute/sync",
            Some(json!({
                "script": "return [document.documentElement.scrollWidth, window.innerWidth];",
                "args": []
            })),
        );
        (v[0].as_i64().unwrap_or(0), v[1].as_i64().unwrap_or(0))
    }

    /// Runs `script` in the page (WebDriver's own, which the page's CSP
    /// does not govern) and returns what it returns.
    pub fn script(&self, script: &str) -> Value {
        self.command(
            reqwest::Method::POST,
            "/execute/sync",
            Some(json!({"script": script, "args": []})),
        )
    }

    /// Chooses the file at `path` in the file input matching `css`.
    pub fn choose_file(&self, css: &str, path: &std::path::Path) {
        let id = self.find(css);
        self.command(
            reqwest::Method::POST,
            &format!("/element/{id}/value"),
            Some(json!({"text": path.display().to_string()})),
        );
    }

    /// Selects the option of value `value` in the select matching `css`.
    pub fn select(&self, css: &str, value: &str) {
        self.click(&format!("{css} option[value=\"{value}\"]"));
    }

    /// Signs up at the console of `gw` (with `[accounts] signup = "open"`),
    /// confirms the address through the emailed link and logs in; returns
    /// the account's id, from the overview.
    pub fn sign_up_and_log_in(&self, gw: &crate::Gateway, email: &str, password: &str) -> String {
        self.goto(&format!("{}/console/signup", gw.base));
        self.fill("#email", email);
        self.fill("#password", password);
        self.submit("button[type=submit]");
        assert_eq!(self.text("h1").trim(), "Check your email");
        self.goto(&gw.emailed_link("/console/verify-email"));
        self.fill("#email", email);
        self.fill("#password", password);
        self.submit("button[type=submit]");
        assert_eq!(self.current_url(), format!("{}/console", gw.base));
        self.text("#account-id").trim().to_string()
    }

    /// Saves a screenshot of the page as `<screenshot_dir>/<name>.png`.
    pub fn screenshot(&self, name: &str) -> PathBuf {
        let png = self.command(reqwest::Method::GET, "/screenshot", None);
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(png.as_str().unwrap_or_default())
            .expect("a base64 PNG");
        let dir = screenshot_dir();
        std::fs::create_dir_all(&dir).expect("the screenshot folder");
        let path = dir.join(format!("{name}.png"));
        std::fs::write(&path, bytes).expect("the screenshot is written");
        path
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.http.delete(&self.url).send();
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

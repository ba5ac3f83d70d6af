//! A provider conformance suite any adapter can run: success, every error
//! class, an upstream timeout, cancel, and a restart in the middle of a job,
//! each against the real gateway in front of a loopback mock of the
//! adapter's upstream.
//!
//! # How an adapter plugs in
//!
//! Describe the adapter with a type implementing [`Adapter`]: the gateway
//! configuration for a mock at a given URL (credential, allowed host,
//! `base_url`, `timeout_ms = 1000`, `poll_interval_ms = 50` and the price;
//! [`api_config`] writes the usual layout), the native request to make and
//! the credits it holds, whether the adapter is synchronous or
//! asynchronous, and the vendor's wire shapes:
//!
//! - [`Adapter::answer`]: the vendor's API as the suite scripts it, for
//!   every call but the outputs' downloads (the suite serves those itself).
//!   The submit call (or the synchronous generation) answers a job id (or
//!   the outputs, by URL or inline base64); each poll calls
//!   [`Script::poll`], which counts it and says whether the job is queued,
//!   running or done; once done, the job ends as [`Script::outcome`] says:
//!   succeeded with [`Script::url`]s or [`Script::bytes`], failed with a
//!   message, refused by the vendor's moderation, or an adapter-specific
//!   [`Outcome::Other`]. The cancel call answers as the vendor does.
//! - [`Adapter::error`]: how the vendor writes an error body for a status
//!   and a message (and [`Adapter::error_text`], if the adapter shows the
//!   message otherwise, say with a field path in front).
//! - [`Adapter::refusal`]: how a content-policy refusal looks: an answer to
//!   the submit call (a synchronous API) or a job that ends refused.
//! - [`Adapter::submit_call`] and [`Adapter::cancel_call`]: which method
//!   and path start a job and cancel one.
//!
//! Then give each scenario a test of its own in the adapter's test file, so
//! failures are named and scenarios run in parallel:
//!
//! ```ignore
//! #[test]
//! fn conformance_success() {
//!     let run = conformance::success(&Fal);
//!     // Then what only fal does: its exact wire format, its metadata...
//!     assert_eq!(run.submitted().json()["num_images"], 2);
//! }
//! #[test]
//! fn conformance_error_classes() { conformance::error_classes(&Fal); }
//! #[test]
//! fn conformance_timeout() { conformance::timeout(&Fal); }
//! #[test]
//! fn conformance_cancel() { conformance::cancel(&Fal); }
//! #[test]
//! fn conformance_restart_mid_job() { conformance::restart_mid_job(&Fal); }
//! ```
//!
//! [`cancel`] and [`restart_mid_job`] are for asynchronous adapters: a
//! synchronous one has no upstream job to cancel or to resume.
//!
//! # What each scenario checks
//!
//! - [`success`]: the native API accepts the request (202, holding
//!   [`Adapter::cost`]); an asynchronous task is `processing` while the
//!   vendor's job runs, then `succeeded`; the vendor was called once to
//!   start the work, every API call carried the credential (and passed
//!   [`Adapter::check_call`]); each output URL was downloaded once, without
//!   the credential; the task serves exactly the bytes the vendor served;
//!   the hold was captured once and the ledger reconciles; the secret is
//!   never logged. It returns the run for adapter-specific checks.
//! - [`error_classes`]: against one gateway, one after the other, the
//!   submit call answered 400, 401, 403, 404, 422, 429 (with a short
//!   `Retry-After`, waited out once), 500, 502 and 503 in the vendor's
//!   error shape, then an unreadable body, a content-policy refusal, a job
//!   that fails upstream (asynchronous adapters) and the adapter's
//!   [`Adapter::extra_cases`]. Each fails the task promptly with the
//!   expected code ([`Adapter::error_code`]) and HTTP status (image
//!   adapters are called through the OpenAI face, which answers it), the
//!   message the caller reads says the vendor's reason (or, for a refused
//!   credential, that it was the gateway's credential, without the
//!   vendor's text), the log has the vendor's reason, and the hold is
//!   released in full. A failure names the case.
//! - [`timeout`]: the submit call answers after twice the adapter's
//!   `timeout_ms`: `UPSTREAM_TIMEOUT` (504), refunded.
//! - [`cancel`]: canceling a running task cancels the vendor's job once,
//!   stops the polls, releases the hold; a second cancel is refused (409).
//! - [`restart_mid_job`]: the gateway is killed while the job runs; the
//!   restarted gateway polls the same job (not submitted again), the task
//!   succeeds with the vendor's outputs and is charged once.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{Value, json};

use crate::mock::{Job, Mock, Received, Reply, Stage};
use crate::{
    Answer, Gateway, TestAccount, assert_charged_once, assert_error, assert_reconciles,
    assert_refunded, png, wait_until,
};

/// The `timeout_ms` the adapter's configuration must set for the suite.
pub const TIMEOUT_MS: u64 = 1_000;
/// The `poll_interval_ms` an asynchronous adapter's configuration sets.
pub const POLL_INTERVAL_MS: u64 = 50;
/// The credits of the account each scenario runs with.
pub const CREDITS: i64 = 1_000;

/// Whether the adapter answers in one call or runs a job it polls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// One call returns the outputs.
    Synchronous,
    /// A submit call returns a job the gateway polls.
    Asynchronous,
}

/// What the adapter makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Images: `/v1/images/generate`, and the OpenAI face
    /// (`/v1/images/generations`) for the error classes.
    Image,
    /// Videos: `/v1/videos/generate`.
    Video,
}

/// An output the mocked vendor serves, under `/files/out-{i}.{ext}`.
#[derive(Debug, Clone)]
pub struct Output {
    /// The file.
    pub bytes: Vec<u8>,
    /// Its MIME type (`image/png`, `video/mp4`).
    pub mime: &'static str,
    /// Its width (for images, checked against the task's output).
    pub width: u32,
    /// Its height.
    pub height: u32,
}

impl Output {
    fn path(&self, i: usize) -> String {
        let ext = self.mime.rsplit('/').next().unwrap_or("bin");
        format!("/files/out-{i}.{ext}")
    }
}

/// How the mocked vendor's job ends, once [`Script::poll`] says
/// [`Stage::Done`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// It succeeded with the outputs.
    Succeeded,
    /// It failed, the vendor saying this.
    Failed(String),
    /// The vendor's moderation refused it.
    Refused,
    /// An ending only this adapter knows, named by one of its
    /// [`Adapter::extra_cases`].
    Other(&'static str),
}

/// Something wrong the mocked vendor does in an error case.
#[derive(Debug, Clone)]
pub enum Fault {
    /// The submit call (or synchronous generation) is answered with this.
    Answer(Reply),
    /// The submit call's usual answer, its body cut in half: unreadable.
    Truncated,
    /// The submit call's usual answer, after this delay.
    Late(Duration),
    /// The job is accepted, polled, and ends so (asynchronous adapters).
    Ends(Outcome),
}

/// What the caller and the operator must see of a failure.
#[derive(Debug, Clone)]
pub struct Expect {
    /// The task's (and the caller's) error code.
    pub code: &'static str,
    /// Texts the caller's error message contains.
    pub says: Vec<String>,
    /// Texts the caller's error message does not contain.
    pub hides: Vec<String>,
    /// Texts the gateway's log contains.
    pub logs: Vec<String>,
    /// How many submit calls reach the vendor.
    pub submits: usize,
}

impl Expect {
    /// `code`, one submit call, nothing else checked.
    pub fn code(code: &'static str) -> Self {
        Self {
            code,
            says: Vec::new(),
            hides: Vec::new(),
            logs: Vec::new(),
            submits: 1,
        }
    }

    /// Also: the caller's message contains `text`.
    pub fn says(mut self, text: impl Into<String>) -> Self {
        self.says.push(text.into());
        self
    }

    /// Also: the gateway's log contains `text`.
    pub fn logs(mut self, text: impl Into<String>) -> Self {
        self.logs.push(text.into());
        self
    }
}

/// One error case: a name for failure messages, what goes wrong upstream,
/// and what must come of it.
#[derive(Debug, Clone)]
pub struct Case {
    /// E.g. `"the submit call answers 401"`.
    pub name: String,
    /// What the vendor does.
    pub fault: Fault,
    /// What the caller, the task, the ledger and the log show.
    pub expect: Expect,
}

/// The error code the SDK's classification gives a non-2xx answer to a
/// submit call (an adapter may differ: [`Adapter::error_code`]).
pub fn standard_code(status: u16) -> &'static str {
    match status {
        400 | 404 | 413 | 422 => "INVALID_PARAMETER",
        408 | 504 => "UPSTREAM_TIMEOUT",
        _ => "UPSTREAM_ERROR",
    }
}

/// The HTTP status the gateway answers an error code with.
pub fn http_status(code: &str) -> u16 {
    match code {
        "INVALID_PARAMETER" | "CONTENT_POLICY_VIOLATION" => 400,
        "UPSTREAM_TIMEOUT" => 504,
        "MODEL_UNAVAILABLE" => 503,
        "UPSTREAM_ERROR" => 502,
        other => panic!("no HTTP status known for {other}"),
    }
}

/// The OpenAI error `type` of an error code.
fn error_type(code: &str) -> &'static str {
    match code {
        "INVALID_PARAMETER" => "invalid_request_error",
        "CONTENT_POLICY_VIOLATION" => "content_policy_violation",
        _ => "api_error",
    }
}

/// A description of a provider adapter for the suite.
pub trait Adapter: Clone + Send + Sync + 'static {
    /// A short name for failure messages (e.g. the plugin's name).
    fn name(&self) -> &'static str;

    /// The gateway's configuration (TOML) for the vendor mocked at `mock`:
    /// the credential, the plugin's allowed host and `base_url`,
    /// `timeout_ms` = [`TIMEOUT_MS`], `poll_interval_ms` =
    /// [`POLL_INTERVAL_MS`] (asynchronous), and the model's price.
    fn config(&self, mock: &Mock) -> String;

    /// The credential's secret, which the gateway never logs.
    fn secret(&self) -> &'static str;

    /// The header carrying the credential on every API call, and its value
    /// (e.g. `("authorization", "Bearer sk-test")`).
    fn credential_header(&self) -> (&'static str, String);

    /// Synchronous or asynchronous.
    fn mode(&self) -> Mode;

    /// Image or video.
    fn kind(&self) -> Kind {
        Kind::Image
    }

    /// The native request body every scenario makes (with `model`; for
    /// images, only fields the OpenAI face also takes).
    fn request(&self) -> Value;

    /// The credits the request holds (and a success captures).
    fn cost(&self) -> i64;

    /// The outputs the vendor makes for the request: by default `n` PNGs
    /// of 40x30 in different colours.
    fn outputs(&self) -> Vec<Output> {
        let n = self.request()["n"].as_u64().unwrap_or(1) as u8;
        (0..n)
            .map(|i| Output {
                bytes: png(40, 30, [200, 40 + 60 * i, 255 - 50 * i]),
                mime: "image/png",
                width: 40,
                height: 30,
            })
            .collect()
    }

    /// Whether the vendor returns the outputs inline (base64) rather than
    /// by URL: then nothing is downloaded.
    fn inline_outputs(&self) -> bool {
        false
    }

    /// The method and path of the call that starts the work.
    fn submit_call(&self) -> (&'static str, String);

    /// The method and path of the call that cancels the job (asynchronous).
    fn cancel_call(&self) -> Option<(&'static str, String)> {
        None
    }

    /// The progress (percent) the task shows while the vendor's job runs,
    /// if the vendor reports one.
    fn running_progress(&self) -> Option<u64> {
        None
    }

    /// The vendor's answer to `request`, a call of its API (never an
    /// output's download), as `script` says the job goes.
    fn answer(&self, request: &Received, script: &Script) -> Reply;

    /// The vendor's error answer with `status` and `message`.
    fn error(&self, status: u16, message: &str) -> Reply;

    /// The text of `message` the adapter shows when the vendor answered it
    /// with `status` (by default the message itself).
    fn error_text(&self, status: u16, message: &str) -> String {
        let _ = status;
        message.to_string()
    }

    /// The code a non-2xx `status` to the submit call gives (by default
    /// [`standard_code`]).
    fn error_code(&self, status: u16) -> &'static str {
        standard_code(status)
    }

    /// How the vendor refuses content: by default a job that ends
    /// [`Outcome::Refused`]; a synchronous API answers the call.
    fn refusal(&self) -> Fault {
        Fault::Ends(Outcome::Refused)
    }

    /// Error cases only this adapter has, run after the standard ones.
    fn extra_cases(&self) -> Vec<Case> {
        Vec::new()
    }

    /// Checks every call of the vendor's API beyond the credential (a
    /// version header, say).
    fn check_call(&self, call: &Received) {
        let _ = call;
    }
}

/// The usual configuration of an adapter built on the SDK's
/// `ApiSettings`: `credential` with `secret`, `plugin`'s allowed host and
/// `base_url` at `mock`, [`TIMEOUT_MS`], [`POLL_INTERVAL_MS`] when
/// `asynchronous`, then `extra` (prices, other settings) as is.
pub fn api_config(
    plugin: &str,
    credential: &str,
    secret: &str,
    mock: &Mock,
    asynchronous: bool,
    extra: &str,
) -> String {
    let poll = if asynchronous {
        format!("poll_interval_ms = {POLL_INTERVAL_MS}\n")
    } else {
        String::new()
    };
    format!(
        r#"[credentials.{credential}]
value = {secret:?}

[plugin_settings.{plugin}]
allowed_hosts = ["{host}"]
[plugin_settings.{plugin}.config]
base_url = "{url}"
{poll}timeout_ms = {TIMEOUT_MS}

{extra}"#,
        host = mock.host_port,
        url = mock.url,
    )
}

/// What the mocked vendor is scripted to do, handed to
/// [`Adapter::answer`].
pub struct Script<'a> {
    /// The mock's `host:port`, for URLs it answers.
    pub host: &'a str,
    /// How the job ends.
    pub outcome: &'a Outcome,
    outputs: &'a [Output],
    job: &'a Job,
}

impl Script<'_> {
    /// Counts one poll of the job and says where it stands: queued at the
    /// first poll, running until the scenario lets it finish, then done.
    pub fn poll(&self) -> Stage {
        self.job.poll()
    }

    /// How many outputs the job makes.
    pub fn count(&self) -> usize {
        self.outputs.len()
    }

    /// The URL at which the mock serves output `i`.
    pub fn url(&self, i: usize) -> String {
        format!("http://{}{}", self.host, self.outputs[i].path(i))
    }

    /// Every output's URL.
    pub fn urls(&self) -> Vec<String> {
        (0..self.count()).map(|i| self.url(i)).collect()
    }

    /// Output `i`'s bytes.
    pub fn bytes(&self, i: usize) -> &[u8] {
        &self.outputs[i].bytes
    }

    /// Output `i`'s bytes in base64.
    pub fn base64(&self, i: usize) -> String {
        base64::engine::general_purpose::STANDARD.encode(self.bytes(i))
    }

    /// Output `i`.
    pub fn output(&self, i: usize) -> &Output {
        &self.outputs[i]
    }
}

#[derive(Default)]
struct State {
    fault: Option<Fault>,
    job: Job,
}

/// The mocked vendor: a [`Mock`] answering through [`Adapter::answer`], the
/// outputs it serves, and the job the scenario moves on.
pub struct Vendor {
    /// The mock.
    pub mock: Mock,
    outputs: Arc<Vec<Output>>,
    state: Arc<Mutex<State>>,
}

impl Vendor {
    /// Starts the mock of `adapter`'s vendor, with a job that runs until
    /// [`Vendor::finish`] and succeeds.
    pub fn start<A: Adapter>(adapter: &A) -> Self {
        let outputs = Arc::new(adapter.outputs());
        let state = Arc::new(Mutex::new(State::default()));
        let (adapter, served, shared) = (adapter.clone(), outputs.clone(), state.clone());
        let (submit_method, submit_path) = adapter.submit_call();
        let mock = Mock::with_handler(move |req| {
            if req.method == "GET"
                && let Some((_, out)) = served
                    .iter()
                    .enumerate()
                    .find(|(i, o)| o.path(*i) == req.path)
            {
                return Reply::bytes(200, out.mime, out.bytes.clone());
            }
            let (fault, job) = {
                let s = shared.lock().unwrap();
                (s.fault.clone(), s.job.clone())
            };
            let submit = req.method == submit_method && req.path == submit_path;
            let outcome = match &fault {
                Some(Fault::Ends(outcome)) => outcome.clone(),
                _ => Outcome::Succeeded,
            };
            let host = req.header("host").unwrap_or_default().to_string();
            let script = Script {
                host: &host,
                outcome: &outcome,
                outputs: &served,
                job: &job,
            };
            match fault {
                Some(Fault::Answer(reply)) if submit => reply,
                Some(Fault::Truncated) if submit => {
                    let mut reply = adapter.answer(req, &script);
                    reply.body.truncate(reply.body.len() / 2);
                    reply
                }
                Some(Fault::Late(delay)) if submit => adapter.answer(req, &script).delayed(delay),
                _ => adapter.answer(req, &script),
            }
        });
        Self {
            mock,
            outputs,
            state,
        }
    }

    /// A new job, which ends at its second poll if `finished`, and a fault
    /// (none: the job succeeds).
    pub fn script(&self, fault: Option<Fault>, finished: bool) {
        let job = Job::default();
        if finished {
            job.finish();
        }
        let mut s = self.state.lock().unwrap();
        s.fault = fault;
        s.job = job;
    }

    /// The current job.
    pub fn job(&self) -> Job {
        self.state.lock().unwrap().job.clone()
    }

    /// How many polls the current job answered.
    pub fn polls(&self) -> u32 {
        self.job().polls()
    }

    /// Lets the current job end at its next poll.
    pub fn finish(&self) {
        self.job().finish()
    }

    /// Everything the mock received.
    pub fn received(&self) -> Vec<Received> {
        self.mock.received()
    }

    /// The bytes of the outputs the vendor serves.
    pub fn outputs(&self) -> Vec<Vec<u8>> {
        self.outputs.iter().map(|o| o.bytes.clone()).collect()
    }

    fn is_output(&self, call: &Received) -> bool {
        self.outputs
            .iter()
            .enumerate()
            .any(|(i, o)| o.path(i) == call.path)
    }
}

/// A gateway configured for the adapter in front of its [`Vendor`], and an
/// account with [`CREDITS`]: what each scenario runs on, and what an
/// adapter's own tests may run on.
pub struct Harness<A: Adapter> {
    /// The adapter.
    pub adapter: A,
    /// The mocked vendor.
    pub vendor: Vendor,
    /// The gateway.
    pub gw: Gateway,
    /// The account.
    pub account: TestAccount,
}

impl<A: Adapter> Harness<A> {
    /// Starts the vendor's mock, a gateway for it and an account.
    pub fn start(adapter: &A) -> Self {
        let vendor = Vendor::start(adapter);
        let gw = Gateway::start_with_config(&adapter.config(&vendor.mock));
        let account = gw.account(&format!("{}-user@example.com", adapter.name()), CREDITS);
        Self {
            adapter: adapter.clone(),
            vendor,
            gw,
            account,
        }
    }

    fn what(&self) -> &'static str {
        self.adapter.name()
    }

    /// Makes the adapter's request with the native API, asserts it was
    /// accepted (202, queued, holding [`Adapter::cost`]) and returns the
    /// task id.
    pub fn submit(&self) -> String {
        let path = match self.adapter.kind() {
            Kind::Image => "/v1/images/generate",
            Kind::Video => "/v1/videos/generate",
        };
        let answer = self.gw.request_with(
            "POST",
            path,
            Some(&self.account.key),
            Some(&self.adapter.request()),
        );
        assert_eq!(
            answer.status,
            202,
            "{}: {}",
            self.what(),
            String::from_utf8_lossy(&answer.body)
        );
        let body = answer.json();
        assert_eq!(body["status"], "queued", "{}: {body}", self.what());
        assert_eq!(
            body["cost"]["credits"],
            self.adapter.cost(),
            "{}: {body}",
            self.what()
        );
        body["task_id"].as_str().expect("a task id").to_string()
    }

    /// Makes the adapter's request through the OpenAI face (images), which
    /// waits for the task.
    pub fn generate_openai(&self) -> Answer {
        self.gw.request_with(
            "POST",
            "/v1/images/generations",
            Some(&self.account.key),
            Some(&self.adapter.request()),
        )
    }

    /// The task's view (`/v1/tasks/{id}`, or `/v1/videos/tasks/{id}`).
    pub fn view(&self, id: &str) -> Value {
        let path = match self.adapter.kind() {
            Kind::Image => format!("/v1/tasks/{id}"),
            Kind::Video => format!("/v1/videos/tasks/{id}"),
        };
        self.gw
            .request_with("GET", &path, Some(&self.account.key), None)
            .json()
    }

    /// Cancels the task (`POST /v1/tasks/{id}/cancel`).
    pub fn cancel(&self, id: &str) -> Answer {
        self.gw.request_with(
            "POST",
            &format!("/v1/tasks/{id}/cancel"),
            Some(&self.account.key),
            None,
        )
    }

    /// Polls the task until it is final and its hold settled; returns it
    /// and every status seen.
    ///
    /// The gateway stores a task's final status a moment before it captures
    /// or releases the hold, so wait for both.
    pub fn wait_final(&self, id: &str) -> (Value, Vec<String>) {
        let mut seen: Vec<String> = Vec::new();
        let mut view = Value::Null;
        wait_until("the task to finish", || {
            view = self.view(id);
            let status = view["status"].as_str().unwrap_or_default().to_string();
            if seen.last() != Some(&status) {
                seen.push(status.clone());
            }
            let cost = &view["cost"];
            let settled = cost["charged"].as_i64().unwrap_or(-1)
                + cost["refunded"].as_i64().unwrap_or(-1)
                == cost["held"].as_i64().unwrap_or(-2);
            ["succeeded", "failed", "canceled"].contains(&status.as_str()) && settled
        });
        (view, seen)
    }

    /// Waits until the task is processing while the vendor's job runs
    /// (two polls answered, and the vendor's progress if it reports one).
    fn wait_running(&self, id: &str) -> Value {
        wait_until("the vendor's job to be running", || {
            self.vendor.polls() >= 2
        });
        let mut view = Value::Null;
        wait_until("the task to be processing", || {
            view = self.view(id);
            view["status"] == "processing"
                && self
                    .adapter
                    .running_progress()
                    .is_none_or(|p| view["progress"] == p)
        });
        view
    }

    /// The calls of the vendor's API in `received` (not the downloads).
    fn api_calls<'r>(&self, received: &'r [Received]) -> Vec<&'r Received> {
        received
            .iter()
            .filter(|r| !self.vendor.is_output(r))
            .collect()
    }

    /// The submit calls in `received`.
    fn submits<'r>(&self, received: &'r [Received]) -> Vec<&'r Received> {
        let (method, path) = self.adapter.submit_call();
        received
            .iter()
            .filter(|r| r.method == method && r.path == path)
            .collect()
    }

    /// Asserts every API call carries the credential (and passes the
    /// adapter's checks), and no download carries it.
    fn assert_credentials(&self, received: &[Received]) {
        let (header, value) = self.adapter.credential_header();
        for call in received {
            if self.vendor.is_output(call) {
                assert!(
                    call.header(header).is_none()
                        && !call
                            .headers
                            .iter()
                            .any(|(_, v)| v.contains(self.adapter.secret())),
                    "{}: the credential is not sent to the output host: {}",
                    self.what(),
                    call.request_line
                );
            } else {
                assert_eq!(
                    call.header(header),
                    Some(value.as_str()),
                    "{}: the host injected the operator's credential into {}",
                    self.what(),
                    call.request_line
                );
                self.adapter.check_call(call);
            }
        }
    }

    /// Asserts the task lists exactly the vendor's outputs, each served to
    /// the owner with the vendor's bytes and type (and size, for images).
    pub fn assert_outputs(&self, view: &Value) {
        let key = match self.adapter.kind() {
            Kind::Image => "images",
            Kind::Video => "videos",
        };
        let listed = view[key]
            .as_array()
            .unwrap_or_else(|| panic!("{}: the task lists its {key}: {view}", self.what()));
        let outputs = self.adapter.outputs();
        assert_eq!(listed.len(), outputs.len(), "{}: {view}", self.what());
        for (listed, output) in listed.iter().zip(&outputs) {
            assert_eq!(listed["mime_type"], output.mime, "{}: {view}", self.what());
            if self.adapter.kind() == Kind::Image {
                assert_eq!(
                    (listed["width"].as_u64(), listed["height"].as_u64()),
                    (Some(output.width.into()), Some(output.height.into())),
                    "{}: the image's size: {view}",
                    self.what()
                );
            }
            let url = listed["url"].as_str().expect("an output URL");
            let file = self
                .gw
                .request_with("GET", url, Some(&self.account.key), None);
            assert_eq!(file.status, 200, "{}: {url}", self.what());
            assert!(
                file.body == output.bytes,
                "{}: {url} serves the vendor's bytes",
                self.what()
            );
        }
    }

    /// Asserts the secret is not in the gateway's log.
    fn assert_secret_not_logged(&self) {
        assert!(
            !self.gw.logs().contains(self.adapter.secret()),
            "{}: the secret is never logged",
            self.what()
        );
    }

    /// Asserts a failed or canceled task's hold was released in full and
    /// the account is whole.
    fn assert_made_whole(&self, id: &str, view: &Value, what: &str) {
        let cost = self.adapter.cost();
        assert_eq!(
            view["cost"],
            json!({"held": cost, "charged": 0, "refunded": cost}),
            "{}: {what}: {view}",
            self.what()
        );
        assert_refunded(&self.gw, &self.account.id, id, cost);
        assert_eq!(
            assert_reconciles(&self.gw, &self.account.id),
            (CREDITS, 0),
            "{}: {what}: the full balance is back",
            self.what()
        );
    }

    /// Runs one error case and checks everything [`Expect`] says.
    fn run_case(&self, case: &Case) {
        let name = format!("{}: {}", self.what(), case.name);
        let finished = matches!(case.fault, Fault::Ends(_));
        self.vendor.script(Some(case.fault.clone()), finished);
        let before = self.vendor.received().len();
        let started = Instant::now();
        let expect = &case.expect;
        let (id, message) = match self.adapter.kind() {
            Kind::Image => {
                let answer = self.generate_openai();
                assert_eq!(
                    answer.status,
                    http_status(expect.code),
                    "{name}: the caller's status; {}",
                    String::from_utf8_lossy(&answer.body)
                );
                let error = assert_error(&answer, http_status(expect.code), expect.code);
                assert_eq!(
                    error["type"],
                    error_type(expect.code),
                    "{name}: the error type"
                );
                let id = error["task_id"]
                    .as_str()
                    .unwrap_or_else(|| panic!("{name}: the task is named: {error}"))
                    .to_string();
                (
                    id,
                    error["message"].as_str().unwrap_or_default().to_string(),
                )
            }
            Kind::Video => {
                let id = self.submit();
                let (view, _) = self.wait_final(&id);
                let message = view["error"]["message"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string();
                (id, message)
            }
        };
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{name}: failed promptly, not after a long wait"
        );
        let (view, _) = self.wait_final(&id);
        assert_eq!(view["status"], "failed", "{name}: {view}");
        assert_eq!(view["error"]["code"], expect.code, "{name}: {view}");
        assert_eq!(
            view["error"]["message"], message,
            "{name}: the task keeps the caller's message"
        );
        for text in &expect.says {
            assert!(
                message.contains(text.as_str()),
                "{name}: the caller's message says {text:?}: {message}"
            );
        }
        for text in &expect.hides {
            assert!(
                !message.contains(text.as_str()),
                "{name}: the caller's message does not say {text:?}: {message}"
            );
        }

        // What reached the vendor in this case.
        let received = self.vendor.received()[before..].to_vec();
        let submits = self.submits(&received);
        assert_eq!(
            submits.len(),
            expect.submits,
            "{name}: submit calls (a short Retry-After is waited out once): {:?}",
            received.iter().map(|r| &r.request_line).collect::<Vec<_>>()
        );
        if !finished {
            assert_eq!(
                received.len(),
                expect.submits,
                "{name}: submit calls only, no polls: {:?}",
                received.iter().map(|r| &r.request_line).collect::<Vec<_>>()
            );
        }
        self.assert_credentials(&received);
        self.assert_made_whole(&id, &view, &case.name);
        let logs = self.gw.logs();
        for text in &expect.logs {
            assert!(
                logs.contains(text.as_str()),
                "{name}: the operator sees {text:?} in the log"
            );
        }
    }
}

/// Panics unless the adapter is asynchronous.
fn require_async<A: Adapter>(adapter: &A, scenario: &str) {
    assert_eq!(
        adapter.mode(),
        Mode::Asynchronous,
        "{}: {scenario} needs an asynchronous adapter (a synchronous one has no upstream job)",
        adapter.name()
    );
}

/// A successful run, for the adapter's own checks after [`success`].
pub struct Success<A: Adapter> {
    /// The gateway, vendor and account it ran on.
    pub harness: Harness<A>,
    /// The task.
    pub task_id: String,
    /// The finished task's view.
    pub view: Value,
    /// Everything the vendor received.
    pub received: Vec<Received>,
}

impl<A: Adapter> Success<A> {
    /// The one submit call.
    pub fn submitted(&self) -> &Received {
        let submits = self.harness.submits(&self.received);
        assert_eq!(submits.len(), 1);
        submits[0]
    }

    /// The calls with `method` to `path`.
    pub fn calls(&self, method: &str, path: &str) -> Vec<&Received> {
        crate::mock::calls(&self.received, method, path)
    }
}

/// The request succeeds: see the module's documentation.
pub fn success<A: Adapter>(adapter: &A) -> Success<A> {
    let h = Harness::start(adapter);
    let what = adapter.name();
    let cost = adapter.cost();
    let id = h.submit();
    if adapter.mode() == Mode::Asynchronous {
        // The task is processing while the vendor's job is, nothing charged.
        let view = h.wait_running(&id);
        assert_eq!(
            view["cost"],
            json!({"held": cost, "charged": 0, "refunded": 0}),
            "{what}: {view}"
        );
        h.vendor.finish();
    }
    let (view, seen) = h.wait_final(&id);
    assert_eq!(
        seen.last().map(String::as_str),
        Some("succeeded"),
        "{what}: {view}"
    );
    assert!(
        seen.iter()
            .all(|s| ["queued", "processing", "succeeded"].contains(&s.as_str())),
        "{what}: {seen:?}"
    );

    // What reached the vendor.
    let received = h.vendor.received();
    assert_eq!(h.submits(&received).len(), 1, "{what}: one submit call");
    h.assert_credentials(&received);
    if adapter.mode() == Mode::Asynchronous {
        assert!(
            h.vendor.polls() >= 3,
            "{what}: queued, running, done: {} polls",
            h.vendor.polls()
        );
    } else {
        assert_eq!(h.api_calls(&received).len(), 1, "{what}: one call");
    }
    if let Some((method, path)) = adapter.cancel_call() {
        assert!(
            crate::mock::calls(&received, method, &path).is_empty(),
            "{what}: nothing canceled"
        );
    }
    for (i, output) in adapter.outputs().iter().enumerate() {
        let downloads = crate::mock::calls(&received, "GET", &output.path(i)).len();
        let expected = usize::from(!adapter.inline_outputs());
        assert_eq!(downloads, expected, "{what}: downloads of output {i}");
    }

    // The outputs are exactly the vendor's; charged once.
    assert_eq!(view["model"], adapter.request()["model"], "{what}: {view}");
    assert_eq!(view["progress"], 100, "{what}: {view}");
    h.assert_outputs(&view);
    assert_eq!(
        view["cost"],
        json!({"held": cost, "charged": cost, "refunded": 0}),
        "{what}: {view}"
    );
    assert_charged_once(&h.gw, &h.account.id, &id, cost);
    assert_eq!(
        assert_reconciles(&h.gw, &h.account.id),
        (CREDITS - cost, 0),
        "{what}"
    );
    h.assert_secret_not_logged();
    Success {
        harness: h,
        task_id: id,
        view,
        received,
    }
}

/// The standard error cases for `adapter`, then its own.
pub fn cases<A: Adapter>(adapter: &A) -> Vec<Case> {
    let secret = adapter.secret();
    // Vendors quote part of a refused key: the caller must not see it.
    let quoted_key = format!("{}***", &secret[..secret.len().min(4)]);
    let mut cases = Vec::new();
    for status in [400u16, 401, 403, 404, 422, 429, 500, 502, 503] {
        let message = match status {
            401 | 403 => format!("Incorrect API key provided: {quoted_key} (conformance {status})"),
            _ => format!("Conformance case {status}: the vendor says no"),
        };
        let text = adapter.error_text(status, &message);
        let code = adapter.error_code(status);
        let mut reply = adapter.error(status, &message);
        let mut expect = Expect::code(code).logs(text.clone());
        match status {
            401 | 403 => {
                expect = expect.says("credential");
                expect.hides = vec![text, quoted_key.clone()];
            }
            429 => {
                reply = reply.header("retry-after", "1");
                expect = expect.says("rate-limiting");
                expect.submits = 2;
            }
            _ => expect = expect.says(text),
        }
        let name = if status == 429 {
            "the submit call answers 429 with Retry-After: 1".to_string()
        } else {
            format!("the submit call answers {status}")
        };
        cases.push(Case {
            name,
            fault: Fault::Answer(reply),
            expect,
        });
    }
    cases.push(Case {
        name: "the submit call's answer is unreadable".into(),
        fault: Fault::Truncated,
        expect: Expect::code("UPSTREAM_ERROR"),
    });
    cases.push(Case {
        name: "the vendor refuses the content".into(),
        fault: adapter.refusal(),
        expect: Expect::code("CONTENT_POLICY_VIOLATION"),
    });
    if adapter.mode() == Mode::Asynchronous {
        let message = "Conformance job failure: CUDA error: out of memory";
        cases.push(Case {
            name: "the vendor's job fails".into(),
            fault: Fault::Ends(Outcome::Failed(message.into())),
            expect: Expect::code("UPSTREAM_ERROR").says(message).logs(message),
        });
    }
    cases.extend(adapter.extra_cases());
    cases
}

/// Every error class, one after the other against one gateway: see the
/// module's documentation.
pub fn error_classes<A: Adapter>(adapter: &A) {
    let h = Harness::start(adapter);
    for case in cases(adapter) {
        h.run_case(&case);
    }
    h.assert_secret_not_logged();
}

/// The submit call answers after twice `timeout_ms`: `UPSTREAM_TIMEOUT`.
pub fn timeout<A: Adapter>(adapter: &A) {
    let h = Harness::start(adapter);
    h.run_case(&Case {
        name: format!("the submit call answers after {}ms", 2 * TIMEOUT_MS),
        fault: Fault::Late(Duration::from_millis(2 * TIMEOUT_MS)),
        expect: Expect::code("UPSTREAM_TIMEOUT").says("in time"),
    });
    h.assert_secret_not_logged();
}

/// Canceling a running task cancels the vendor's job and releases the hold.
pub fn cancel<A: Adapter>(adapter: &A) {
    require_async(adapter, "cancel");
    let what = adapter.name();
    let (method, path) = adapter
        .cancel_call()
        .unwrap_or_else(|| panic!("{what}: an asynchronous adapter names its cancel call"));
    let h = Harness::start(adapter);
    let id = h.submit();
    h.wait_running(&id);

    let canceled = h.cancel(&id);
    assert_eq!(
        canceled.status,
        200,
        "{what}: {}",
        String::from_utf8_lossy(&canceled.body)
    );
    assert_eq!(canceled.json()["status"], "canceled", "{what}");
    let received = h.vendor.received();
    let cancels = crate::mock::calls(&received, method, &path);
    assert_eq!(cancels.len(), 1, "{what}: the vendor was asked to cancel");
    h.assert_credentials(&received);

    // No more polls once canceled.
    let polls = h.vendor.polls();
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(h.vendor.polls(), polls, "{what}: polling stopped");

    let view = h.view(&id);
    assert_eq!(view["status"], "canceled", "{what}: {view}");
    h.assert_made_whole(&id, &view, "canceled");
    assert_error(&h.cancel(&id), 409, "TASK_NOT_CANCELABLE");
    h.assert_secret_not_logged();
}

/// The gateway is killed while the vendor's job runs; once restarted it
/// polls the same job, which succeeds, charged once.
pub fn restart_mid_job<A: Adapter>(adapter: &A) {
    require_async(adapter, "restart mid-job");
    let what = adapter.name();
    let mut h = Harness::start(adapter);
    let id = h.submit();
    h.wait_running(&id);

    // A crash while the vendor is still working on it.
    h.gw.kill();
    let polls_before = h.vendor.polls();
    h.gw.restart();
    // The restarted gateway polls the same job again...
    wait_until("polls after the restart", || {
        h.vendor.polls() > polls_before
    });
    assert_eq!(h.view(&id)["status"], "processing", "{what}");
    // ...and the job finishes.
    h.vendor.finish();
    let (view, _) = h.wait_final(&id);
    assert_eq!(view["status"], "succeeded", "{what}: {view}");

    let received = h.vendor.received();
    assert_eq!(
        h.submits(&received).len(),
        1,
        "{what}: the job is not submitted again after the restart"
    );
    h.assert_credentials(&received);
    h.assert_outputs(&view);
    assert_charged_once(&h.gw, &h.account.id, &id, adapter.cost());
    assert_eq!(
        assert_reconciles(&h.gw, &h.account.id),
        (CREDITS - adapter.cost(), 0),
        "{what}"
    );
    h.assert_secret_not_logged();
}

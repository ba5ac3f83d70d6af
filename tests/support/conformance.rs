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

mod harness;
mod scenarios;
mod vendor;

pub use harness::Harness;
pub use scenarios::{Success, cancel, cases, error_classes, restart_mid_job, success, timeout};
pub use vendor::{Script, Vendor};

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

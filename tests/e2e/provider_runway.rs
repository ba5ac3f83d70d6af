//! The bundled `runway` adapter against a loopback mock speaking Runway's
//! documented API: the image-to-video call with the injected key, the API
//! version and the reference image as a data URI, polling through
//! `PENDING` and `RUNNING` to `SUCCEEDED` with an output URL the gateway
//! downloads, failed tasks, every error class of the submit call,
//! cancelling, and billing (per second: the hold is captured once on
//! success and released on every failure).

use std::time::{Duration, Instant};

use base64::Engine as _;
use imini_tests::mock::{Job, Mock, Received, Reply, Stage, calls};
use imini_tests::{
    Answer, Gateway, TestAccount, assert_charged_once, assert_reconciles, png, wait_until,
};
use serde_json::{Value, json};

const KEY: &str = "key_runway_test";
const CREDITS: i64 = 1_000;
/// 2 credits a second, 5 seconds.
const COST: i64 = 10;
const TASK: &str = "17f20503-6c24-4c16-946b-35dbbce2af2f";
const SUBMIT_PATH: &str = "/v1/image_to_video";
const TASK_PATH: &str = "/v1/tasks/17f20503-6c24-4c16-946b-35dbbce2af2f";
const OUTPUT_PATH: &str = "/files/out.mp4";

/// The bytes of a (fake) MP4 the mock serves as the output.
fn mp4() -> Vec<u8> {
    let mut bytes = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom".to_vec();
    bytes.extend((0..200u8).map(|i| i.wrapping_mul(7)));
    bytes
}

/// The reference image the tests send, as a data URI.
fn data_uri(bytes: &[u8]) -> String {
    let encoded = base64::engine::general_purpose::STANDARD.encode(bytes);
    format!("data:image/png;base64,{encoded}")
}

/// The gateway's configuration for a mock Runway at `mock`.
fn config(mock: &Mock) -> String {
    format!(
        r#"[credentials.runway]
value = {KEY:?}

[plugin_settings.runway]
allowed_hosts = ["{host}"]
[plugin_settings.runway.config]
base_url = "{url}"
poll_interval_ms = 50
timeout_ms = 1000

[prices."runway/gen4-turbo"]
per_second = 2
"#,
        host = mock.host_port,
        url = mock.url,
    )
}

/// A gateway in front of a mock Runway answering with `handler`, and an
/// account with [`CREDITS`].
fn setup(
    handler: impl Fn(&Received) -> Reply + Send + Sync + 'static,
) -> (Gateway, Mock, TestAccount) {
    let mock = Mock::with_handler(handler);
    let gw = Gateway::start_with_config(&config(&mock));
    let account = gw.account("runway-user@example.com", CREDITS);
    (gw, mock, account)
}

/// Runway's task object in `status`, with `extra` fields.
fn runway_task(status: &str, extra: Value) -> Value {
    let mut t = json!({"id": TASK, "status": status, "createdAt": "2024-06-27T19:49:32.334Z"});
    if let (Value::Object(t), Value::Object(extra)) = (&mut t, extra) {
        t.extend(extra);
    }
    t
}

/// The mock's moving parts: how many polls it answered, and whether the
/// task may finish.
#[derive(Clone, Default)]
struct Upstream(Job);

impl std::ops::Deref for Upstream {
    type Target = Job;
    fn deref(&self) -> &Job {
        &self.0
    }
}

impl Upstream {
    /// A mock Runway whose task is `PENDING` at the first poll, then
    /// `RUNNING` (at 40 %) until [`Job::finish`] is set, then ends with
    /// `outcome` (the task's final fields). [`OUTPUT_PATH`] serves [`mp4`].
    fn handler(
        &self,
        outcome: impl Fn(&str) -> Value + Send + Sync + 'static,
    ) -> impl Fn(&Received) -> Reply + Send + Sync + 'static {
        let this = self.clone();
        move |req: &Received| {
            let host = req.header("host").unwrap_or_default().to_string();
            match (req.method.as_str(), req.path.as_str()) {
                ("POST", SUBMIT_PATH) => Reply::json(200, &json!({"id": TASK})),
                ("GET", TASK_PATH) => match this.poll() {
                    Stage::Queued => Reply::json(200, &runway_task("PENDING", json!({}))),
                    Stage::Running => {
                        Reply::json(200, &runway_task("RUNNING", json!({"progress": 0.4})))
                    }
                    Stage::Done => Reply::json(200, &runway_task("", outcome(&host))),
                },
                ("DELETE", TASK_PATH) => Reply::bytes(204, "application/json", Vec::new()),
                ("GET", OUTPUT_PATH) => Reply::bytes(200, "video/mp4", mp4()),
                _ => Reply::json(404, &json!({"error": "Not found"})),
            }
        }
    }
}

/// The final fields of a task that succeeded with the mock's own video.
fn succeeded(host: &str) -> Value {
    json!({"status": "SUCCEEDED", "progress": 1.0,
           "output": [format!("http://{host}{OUTPUT_PATH}")]})
}

fn generate(gw: &Gateway, who: &TestAccount, body: &Value) -> Answer {
    gw.request_with("POST", "/v1/videos/generate", Some(&who.key), Some(body))
}

fn task(gw: &Gateway, who: &TestAccount, id: &str) -> Value {
    gw.request_with(
        "GET",
        &format!("/v1/videos/tasks/{id}"),
        Some(&who.key),
        None,
    )
    .json()
}

/// Starts a 5-second video of `image` and returns the task id.
fn start_task(gw: &Gateway, who: &TestAccount, image: &[u8]) -> String {
    let answer = generate(
        gw,
        who,
        &json!({"model": "runway/gen4-turbo", "prompt": "waves roll onto a beach", "duration": 5,
                "size": "1280x720", "seed": 9, "reference_images": [{"url": data_uri(image)}]}),
    );
    assert_eq!(
        answer.status,
        202,
        "{}",
        String::from_utf8_lossy(&answer.body)
    );
    let body = answer.json();
    assert_eq!(body["cost"]["credits"], COST);
    body["task_id"].as_str().unwrap().to_string()
}

/// Polls the task until it is final and its hold settled; returns it and
/// every status seen.
fn wait_final(gw: &Gateway, who: &TestAccount, id: &str) -> (Value, Vec<String>) {
    let mut seen: Vec<String> = Vec::new();
    let mut view = Value::Null;
    wait_until("the task to finish", || {
        view = task(gw, who, id);
        let status = view["status"].as_str().unwrap().to_string();
        if seen.last() != Some(&status) {
            seen.push(status.clone());
        }
        let cost = &view["cost"];
        let settled = cost["charged"].as_i64().unwrap() + cost["refunded"].as_i64().unwrap()
            == cost["held"].as_i64().unwrap();
        ["succeeded", "failed", "canceled"].contains(&status.as_str()) && settled
    });
    (view, seen)
}

/// Asserts the task's hold was released in full and the account is whole.
fn assert_made_whole(gw: &Gateway, who: &TestAccount, id: &str, view: &Value) {
    assert_eq!(
        view["cost"],
        json!({"held": COST, "charged": 0, "refunded": COST}),
        "{view}"
    );
    imini_tests::assert_refunded(gw, &who.id, id, COST);
    assert_eq!(assert_reconciles(gw, &who.id), (CREDITS, 0));
}

#[test]
fn gen4_turbo_animates_the_reference_image_polls_and_stores_the_video() {
    let image = png(32, 18, [30, 140, 220]);
    let upstream = Upstream::default();
    let (gw, mock, alice) = setup(upstream.handler(succeeded));
    let id = start_task(&gw, &alice, &image);
    // The task is processing, with Runway's progress, while Runway's is running.
    // (The gateway stores a poll's answer a moment after the mock sent it.)
    let mut view = Value::Null;
    wait_until("Runway's progress on the task", || {
        view = task(&gw, &alice, &id);
        view["progress"] == 40
    });
    assert_eq!(view["status"], "processing", "{view}");
    assert_eq!(
        view["cost"],
        json!({"held": COST, "charged": 0, "refunded": 0})
    );
    upstream.finish();
    let (view, seen) = wait_final(&gw, &alice, &id);
    assert_eq!(seen.last().map(String::as_str), Some("succeeded"), "{view}");

    // What reached "Runway": one submit call, in its wire format.
    let received = mock.received();
    let submitted = calls(&received, "POST", SUBMIT_PATH);
    assert_eq!(submitted.len(), 1, "one task started");
    let call = submitted[0];
    assert_eq!(call.header("authorization"), Some("Bearer key_runway_test"));
    assert_eq!(call.header("x-runway-version"), Some("2024-11-06"));
    assert_eq!(
        call.json(),
        json!({"model": "gen4_turbo", "promptText": "waves roll onto a beach",
               "promptImage": data_uri(&image), "ratio": "1280:720", "duration": 5, "seed": 9})
    );
    // Then polls, each with the key and the version.
    let polls = calls(&received, "GET", TASK_PATH);
    assert!(
        polls.len() >= 3,
        "pending, running, succeeded: {}",
        polls.len()
    );
    assert!(polls.iter().all(
        |p| p.header("authorization") == Some("Bearer key_runway_test")
            && p.header("x-runway-version") == Some("2024-11-06")
    ));
    // And the video, downloaded once without the key.
    let download = calls(&received, "GET", OUTPUT_PATH);
    assert_eq!(download.len(), 1);
    assert!(download[0].header("authorization").is_none());
    assert!(calls(&received, "DELETE", TASK_PATH).is_empty());

    // The video is exactly the bytes "Runway" served.
    assert_eq!(view["model"], "runway/gen4-turbo");
    assert_eq!(view["progress"], 100);
    let video = &view["videos"][0];
    assert_eq!(video["mime_type"], "video/mp4", "{view}");
    assert_eq!(
        (
            video["width"].as_u64(),
            video["height"].as_u64(),
            video["duration"].as_f64()
        ),
        (Some(1280), Some(720), Some(5.0))
    );
    let file = gw.request_with(
        "GET",
        video["url"].as_str().unwrap(),
        Some(&alice.key),
        None,
    );
    assert_eq!(file.status, 200);
    assert_eq!(file.body, mp4());
    assert_eq!(view["provider_metadata"]["runway_task_id"], TASK);

    // Charged once: 2 credits a second for 5 seconds.
    assert_eq!(
        view["cost"],
        json!({"held": COST, "charged": COST, "refunded": 0})
    );
    assert_charged_once(&gw, &alice.id, &id, COST);
    assert_eq!(assert_reconciles(&gw, &alice.id), (CREDITS - COST, 0));
    assert!(!gw.logs().contains(KEY), "the key is never logged");
}

#[test]
fn the_model_is_listed_as_an_asynchronous_video_model() {
    let (gw, mock, _) = setup(|_| Reply::json(500, &json!({})));
    let model = gw.get("/v1/models/runway/gen4-turbo").json();
    assert_eq!(model["provider"]["plugin"], "runway");
    assert_eq!(model["provider"]["version"], "0.1.0");
    let caps = &model["capabilities"];
    assert_eq!(caps["mode"], "async", "{model}");
    assert_eq!(caps["default_size"], "1280x720");
    assert!(
        caps["sizes"]
            .as_array()
            .unwrap()
            .contains(&json!("1584x672"))
    );
    assert!(mock.received().is_empty());
}

/// Runs one task whose final fields are `outcome`, asserts it failed with
/// `code` and its hold was released in full; returns the task.
fn task_fails(outcome: Value, code: &str) -> Value {
    let upstream = Upstream::default();
    upstream.finish();
    let (gw, _mock, bob) = setup(upstream.handler(move |_| outcome.clone()));
    let id = start_task(&gw, &bob, &png(8, 8, [1, 2, 3]));
    let (view, _) = wait_final(&gw, &bob, &id);
    assert_eq!(view["status"], "failed", "{view}");
    assert_eq!(view["error"]["code"], code, "{view}");
    assert_made_whole(&gw, &bob, &id, &view);
    view
}

#[test]
fn a_safety_failure_is_a_content_policy_violation() {
    task_fails(
        json!({"status": "FAILED", "failure": "The input image did not pass moderation",
               "failureCode": "SAFETY.INPUT.IMAGE"}),
        "CONTENT_POLICY_VIOLATION",
    );
}

#[test]
fn a_failed_task_is_an_upstream_error() {
    task_fails(
        json!({"status": "FAILED", "failure": "An internal error occurred",
               "failureCode": "INTERNAL.BAD_OUTPUT.CODE01"}),
        "UPSTREAM_ERROR",
    );
}

/// Runs one generation whose submit call is answered with `reply`, asserts
/// the task failed with `code` and that the hold was released in full.
/// Returns the task and the gateway's log.
fn submit_fails_with(reply: Reply, code: &str) -> (Value, String) {
    let reply_has_retry_after = reply.headers.iter().any(|(n, _)| n == "retry-after");
    let (gw, mock, carol) = setup(move |_| reply.clone());
    let started = Instant::now();
    let id = start_task(&gw, &carol, &png(8, 8, [9, 9, 9]));
    let (view, _) = wait_final(&gw, &carol, &id);
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(view["status"], "failed", "{view}");
    assert_eq!(view["error"]["code"], code, "{view}");
    let received = mock.received();
    // A short Retry-After is waited out once; otherwise there is one call.
    let calls = if reply_has_retry_after { 2 } else { 1 };
    assert_eq!(received.len(), calls, "submit calls, no polls");
    assert!(received.iter().all(|r| r.path == SUBMIT_PATH));
    assert_made_whole(&gw, &carol, &id, &view);
    let logs = gw.logs();
    assert!(!logs.contains(KEY), "the key is never logged");
    (view, logs)
}

#[test]
fn a_400_is_an_invalid_parameter_with_runways_message() {
    let (view, _) = submit_fails_with(
        Reply::json(
            400,
            &json!({"error": "promptImage: the image is too small"}),
        ),
        "INVALID_PARAMETER",
    );
    let message = view["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("promptImage: the image is too small"),
        "{message}"
    );
}

#[test]
fn a_401_is_an_upstream_error_naming_the_credential() {
    let (view, logs) = submit_fails_with(
        Reply::json(401, &json!({"error": "Invalid API key"})),
        "UPSTREAM_ERROR",
    );
    let message = view["error"]["message"].as_str().unwrap();
    assert!(message.contains("credential"), "{message}");
    assert!(logs.contains("Invalid API key"), "{logs}");
}

#[test]
fn a_429_with_retry_after_is_an_upstream_error() {
    let (view, logs) = submit_fails_with(
        Reply::json(429, &json!({"error": "Too many requests"})).header("retry-after", "1"),
        "UPSTREAM_ERROR",
    );
    let message = view["error"]["message"].as_str().unwrap();
    assert!(message.contains("rate-limiting"), "{message}");
    assert!(logs.contains("Too many requests"), "{logs}");
}

#[test]
fn a_500_is_an_upstream_error() {
    submit_fails_with(
        Reply::json(500, &json!({"error": "Internal server error"})),
        "UPSTREAM_ERROR",
    );
}

#[test]
fn malformed_json_is_an_upstream_error() {
    submit_fails_with(
        Reply::bytes(200, "application/json", b"{\"id\": ".to_vec()),
        "UPSTREAM_ERROR",
    );
}

#[test]
fn a_submit_slower_than_timeout_ms_is_an_upstream_timeout() {
    submit_fails_with(
        Reply::json(200, &json!({"id": TASK})).delayed(Duration::from_millis(2_000)),
        "UPSTREAM_TIMEOUT",
    );
}

#[test]
fn canceling_a_task_deletes_the_runway_task_and_releases_the_hold() {
    let upstream = Upstream::default();
    let (gw, mock, dave) = setup(upstream.handler(succeeded));
    let id = start_task(&gw, &dave, &png(8, 8, [4, 5, 6]));
    wait_until("the task to be running", || upstream.polls() >= 2);

    let path = format!("/v1/tasks/{id}/cancel");
    let canceled = gw.request_with("POST", &path, Some(&dave.key), None);
    assert_eq!(
        canceled.status,
        200,
        "{}",
        String::from_utf8_lossy(&canceled.body)
    );
    assert_eq!(canceled.json()["status"], "canceled");
    let received = mock.received();
    let deletes = calls(&received, "DELETE", TASK_PATH);
    assert_eq!(deletes.len(), 1, "Runway was asked to cancel the task");
    assert_eq!(
        deletes[0].header("authorization"),
        Some("Bearer key_runway_test")
    );
    assert_eq!(deletes[0].header("x-runway-version"), Some("2024-11-06"));

    let polls = upstream.polls();
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(upstream.polls(), polls, "polling stopped");
    let view = task(&gw, &dave, &id);
    assert_eq!(view["status"], "canceled");
    assert_made_whole(&gw, &dave, &id, &view);
}

#[test]
fn a_video_without_a_reference_image_fails_with_invalid_parameter() {
    let (gw, mock, erin) = setup(|_| Reply::json(500, &json!({"error": "unexpected"})));
    let answer = generate(
        &gw,
        &erin,
        &json!({"model": "runway/gen4-turbo", "prompt": "a quiet street", "duration": 5}),
    );
    // The gateway holds before the plugin sees the request: the task is
    // accepted, then fails with the plugin's error and is refunded.
    assert_eq!(
        answer.status,
        202,
        "{}",
        String::from_utf8_lossy(&answer.body)
    );
    let id = answer.json()["task_id"].as_str().unwrap().to_string();
    let (view, _) = wait_final(&gw, &erin, &id);
    assert_eq!(view["status"], "failed", "{view}");
    assert_eq!(view["error"]["code"], "INVALID_PARAMETER", "{view}");
    let message = view["error"]["message"].as_str().unwrap();
    assert!(message.contains("needs a reference image"), "{message}");
    assert!(mock.received().is_empty(), "nothing reached Runway");
    assert_made_whole(&gw, &erin, &id, &view);
}

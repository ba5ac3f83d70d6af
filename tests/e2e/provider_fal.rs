//! The bundled `fal` adapter against a loopback mock speaking fal's queue
//! API: the submit call and injected key, status polls through `IN_QUEUE`
//! and `IN_PROGRESS` to `COMPLETED`, the result with image URLs the gateway
//! downloads, failed results, every error class of the submit call,
//! cancelling, a restart in the middle of a job, and billing (the hold is
//! captured once on success and released on every failure).

use std::time::{Duration, Instant};

use imini_tests::mock::{Job, Mock, Received, Reply, Stage, calls};
use imini_tests::{
    Answer, Gateway, TestAccount, assert_charged_once, assert_error, assert_outputs_served,
    assert_reconciles, assert_refunded, png, wait_until,
};
use serde_json::{Value, json};

const KEY: &str = "fal_test";
const CREDITS: i64 = 1_000;
const PRICE: i64 = 4;
const REQUEST: &str = "764cabcf-b745-4b3e-ae38-1200304cf45b";
const SUBMIT_PATH: &str = "/fal-ai/flux/dev";
/// fal's status, result and cancel endpoints live under the app's
/// `owner/alias`, without its `/dev` subpath.
const REQUEST_PATH: &str = "/fal-ai/flux/requests/764cabcf-b745-4b3e-ae38-1200304cf45b";

/// The gateway's configuration for a mock fal at `mock`.
fn config(mock: &Mock) -> String {
    format!(
        r#"[credentials.fal]
value = {KEY:?}

[plugin_settings.fal]
allowed_hosts = ["{host}"]
[plugin_settings.fal.config]
base_url = "{url}"
poll_interval_ms = 50
timeout_ms = 1000

[prices."fal/flux-dev"]
per_image = {PRICE}
"#,
        host = mock.host_port,
        url = mock.url,
    )
}

/// A gateway in front of a mock fal answering with `handler`, and an
/// account with [`CREDITS`].
fn setup(
    handler: impl Fn(&Received) -> Reply + Send + Sync + 'static,
) -> (Gateway, Mock, TestAccount) {
    let mock = Mock::with_handler(handler);
    let gw = Gateway::start_with_config(&config(&mock));
    let account = gw.account("fal-user@example.com", CREDITS);
    (gw, mock, account)
}

/// fal's answer to a submit call.
fn queued(host: &str) -> Value {
    let base = format!("http://{host}{REQUEST_PATH}");
    json!({
        "request_id": REQUEST,
        "response_url": base,
        "status_url": format!("{base}/status"),
        "cancel_url": format!("{base}/cancel"),
        "queue_position": 0,
    })
}

fn status(host: &str, state: &str) -> Value {
    json!({"status": state, "queue_position": 0,
           "response_url": format!("http://{host}{REQUEST_PATH}")})
}

/// The mock's moving parts: how many status polls it answered, and whether
/// the request may complete.
#[derive(Clone, Default)]
struct Upstream(Job);

impl std::ops::Deref for Upstream {
    type Target = Job;
    fn deref(&self) -> &Job {
        &self.0
    }
}

impl Upstream {
    /// A mock fal whose request is `IN_QUEUE` at the first poll, then
    /// `IN_PROGRESS` until [`Job::finish`] is set, then `COMPLETED`
    /// with `result` as the result endpoint's answer. Files under `/files/`
    /// serve `images`.
    fn handler(
        &self,
        result: impl Fn(&str) -> Reply + Send + Sync + 'static,
        images: Vec<Vec<u8>>,
    ) -> impl Fn(&Received) -> Reply + Send + Sync + 'static {
        let this = self.clone();
        move |req: &Received| {
            let host = req.header("host").unwrap_or_default().to_string();
            let status_path = format!("{REQUEST_PATH}/status");
            let cancel_path = format!("{REQUEST_PATH}/cancel");
            match (req.method.as_str(), req.path.as_str()) {
                ("POST", SUBMIT_PATH) => Reply::json(200, &queued(&host)),
                ("GET", p) if p == status_path => match this.poll() {
                    Stage::Queued => Reply::json(202, &status(&host, "IN_QUEUE")),
                    Stage::Running => Reply::json(202, &status(&host, "IN_PROGRESS")),
                    Stage::Done => Reply::json(200, &status(&host, "COMPLETED")),
                },
                ("GET", REQUEST_PATH) => result(&host),
                ("PUT", p) if p == cancel_path => {
                    Reply::json(202, &json!({"status": "CANCELLATION_REQUESTED"}))
                }
                ("GET", p) if p.starts_with("/files/img-") => {
                    let i: usize = p["/files/img-".len()..]
                        .trim_end_matches(".png")
                        .parse()
                        .unwrap_or(usize::MAX);
                    match images.get(i) {
                        Some(bytes) => Reply::bytes(200, "image/png", bytes.clone()),
                        None => Reply::json(404, &json!({"detail": "Not found"})),
                    }
                }
                _ => Reply::json(404, &json!({"detail": "Not Found"})),
            }
        }
    }
}

/// The result of a completed request with `n` images served by the mock
/// (each 40x30, as fal reports).
fn result_with(n: usize) -> impl Fn(&str) -> Reply + Send + Sync + 'static {
    move |host: &str| {
        let images: Vec<Value> = (0..n)
            .map(|i| {
                json!({"url": format!("http://{host}/files/img-{i}.png"),
                            "width": 40, "height": 30, "content_type": "image/png"})
            })
            .collect();
        Reply::json(
            200,
            &json!({"images": images, "seed": 7, "has_nsfw_concepts": vec![false; n],
                    "prompt": "a lighthouse at dusk", "timings": {"inference": 1.25}}),
        )
    }
}

fn native(gw: &Gateway, who: &TestAccount, body: &Value) -> Answer {
    gw.request_with("POST", "/v1/images/generate", Some(&who.key), Some(body))
}

fn task(gw: &Gateway, who: &TestAccount, id: &str) -> Value {
    gw.request_with("GET", &format!("/v1/tasks/{id}"), Some(&who.key), None)
        .json()
}

/// Creates a task with the native API and returns its id.
fn start_task(gw: &Gateway, who: &TestAccount) -> String {
    let answer = native(
        gw,
        who,
        &json!({"model": "fal/flux-dev", "prompt": "a lighthouse at dusk", "n": 2,
                "size": "1024x768", "seed": 7}),
    );
    assert_eq!(
        answer.status,
        202,
        "{}",
        String::from_utf8_lossy(&answer.body)
    );
    let body = answer.json();
    assert_eq!(body["status"], "queued");
    body["task_id"].as_str().unwrap().to_string()
}

/// Polls the task until it is final and its hold settled (the gateway
/// stores the final status a moment before it settles the hold).
fn wait_final(gw: &Gateway, who: &TestAccount, id: &str) -> Value {
    let mut view = Value::Null;
    wait_until("the task to finish", || {
        view = task(gw, who, id);
        let cost = &view["cost"];
        let settled = cost["charged"].as_i64().unwrap() + cost["refunded"].as_i64().unwrap()
            == cost["held"].as_i64().unwrap();
        ["succeeded", "failed", "canceled"].contains(&view["status"].as_str().unwrap()) && settled
    });
    view
}

#[test]
fn flux_dev_queues_a_request_polls_it_and_stores_the_outputs() {
    let images = [png(40, 30, [250, 200, 0]), png(40, 30, [0, 120, 60])];
    let upstream = Upstream::default();
    let (gw, mock, alice) = setup(upstream.handler(result_with(2), images.to_vec()));

    let id = start_task(&gw, &alice);
    wait_until("two status polls", || upstream.polls() >= 2);
    let view = task(&gw, &alice, &id);
    assert_eq!(view["status"], "processing", "{view}");
    assert_eq!(
        view["cost"],
        json!({"held": 8, "charged": 0, "refunded": 0})
    );
    upstream.finish();
    let view = wait_final(&gw, &alice, &id);
    assert_eq!(view["status"], "succeeded", "{view}");

    // What reached "fal".
    let received = mock.received();
    let submitted = calls(&received, "POST", SUBMIT_PATH);
    assert_eq!(submitted.len(), 1, "one request queued");
    assert_eq!(
        submitted[0].header("authorization"),
        Some("Key fal_test"),
        "the host injected the operator's key"
    );
    assert_eq!(
        submitted[0].json(),
        json!({"prompt": "a lighthouse at dusk", "num_images": 2,
               "image_size": {"width": 1024, "height": 768}, "seed": 7, "output_format": "png"})
    );
    let polls = calls(&received, "GET", &format!("{REQUEST_PATH}/status"));
    assert!(polls.len() >= 3, "{}", polls.len());
    assert!(
        polls
            .iter()
            .all(|p| p.header("authorization") == Some("Key fal_test"))
    );
    let fetched = calls(&received, "GET", REQUEST_PATH);
    assert_eq!(
        fetched.len(),
        1,
        "the result is fetched once, when completed"
    );
    assert_eq!(fetched[0].header("authorization"), Some("Key fal_test"));
    for i in 0..2 {
        let download = calls(&received, "GET", &format!("/files/img-{i}.png"));
        assert_eq!(download.len(), 1);
        assert!(
            download[0].header("authorization").is_none(),
            "the key is not sent to the output host"
        );
    }

    // The outputs are exactly the bytes "fal" served.
    assert_outputs_served(&gw, &alice.key, &view, &images);
    for output in view["images"].as_array().unwrap() {
        assert_eq!(output["mime_type"], "image/png");
        assert_eq!(
            (output["width"].as_u64(), output["height"].as_u64()),
            (Some(40), Some(30)),
            "the size fal reports"
        );
    }
    assert_eq!(view["provider_metadata"]["request_id"], REQUEST);
    assert_eq!(view["provider_metadata"]["seed"], 7);

    assert_charged_once(&gw, &alice.id, &id, 8);
    assert_eq!(assert_reconciles(&gw, &alice.id), (CREDITS - 8, 0));
}

#[test]
fn the_model_is_listed_as_asynchronous() {
    let (gw, mock, _) = setup(|_| Reply::json(500, &json!({})));
    let dev = gw.get("/v1/models/fal/flux-dev").json();
    assert_eq!(dev["provider"]["plugin"], "fal");
    assert_eq!(dev["capabilities"]["mode"], "async");
    assert_eq!(dev["capabilities"]["max_n"], 4);
    assert_eq!(dev["capabilities"]["seed"], true);
    assert_eq!(dev["pricing"], json!([{"unit": "image", "credits": PRICE}]));
    assert!(mock.received().is_empty());
}

/// Runs one request whose result endpoint answers `result`, asserts the
/// task failed with `code` and its hold was released in full; returns the
/// task.
fn request_fails(result: Reply, code: &str) -> Value {
    let upstream = Upstream::default();
    upstream.finish();
    let (gw, _mock, bob) = setup(upstream.handler(move |_| result.clone(), Vec::new()));
    let id = start_task(&gw, &bob);
    let view = wait_final(&gw, &bob, &id);
    assert_eq!(view["status"], "failed", "{view}");
    assert_eq!(view["error"]["code"], code, "{view}");
    assert_eq!(
        view["cost"],
        json!({"held": 8, "charged": 0, "refunded": 8})
    );
    assert_refunded(&gw, &bob.id, &id, 8);
    assert_eq!(assert_reconciles(&gw, &bob.id), (CREDITS, 0));
    assert!(!gw.logs().contains(KEY), "the key is never logged");
    view
}

#[test]
fn a_request_that_failed_upstream_fails_the_task_and_releases_the_hold() {
    request_fails(
        Reply::json(500, &json!({"detail": "Internal Server Error"})),
        "UPSTREAM_ERROR",
    );
}

#[test]
fn a_request_fal_rejected_when_it_ran_is_an_invalid_parameter() {
    let view = request_fails(
        Reply::json(
            422,
            &json!({"detail": [{"loc": ["body", "image_size", "width"],
                                "msg": "ensure this value is less than or equal to 14142",
                                "type": "value_error"}]}),
        ),
        "INVALID_PARAMETER",
    );
    assert!(
        view["error"]["message"]
            .as_str()
            .unwrap()
            .contains("body.image_size.width: ensure this value is less than or equal to 14142"),
        "{view}"
    );
}

#[test]
fn images_all_flagged_by_the_safety_checker_are_a_content_policy_violation() {
    request_fails(
        Reply::json(
            200,
            &json!({"images": [{"url": "http://127.0.0.1:1/files/img-0.png"},
                               {"url": "http://127.0.0.1:1/files/img-1.png"}],
                    "has_nsfw_concepts": [true, true], "seed": 7}),
        ),
        "CONTENT_POLICY_VIOLATION",
    );
}

/// Runs one generation whose submit call is answered with `reply`, asserts
/// the caller gets `status`/`code`, that the task failed with that code and
/// that the hold was released in full. Returns the error and the log.
fn submit_fails_with(reply: Reply, status: u16, code: &str) -> (Value, String) {
    let reply_has_retry_after = reply.headers.iter().any(|(n, _)| n == "retry-after");
    let (gw, mock, carol) = setup(move |_| reply.clone());
    let started = Instant::now();
    let answer = gw.request_with(
        "POST",
        "/v1/images/generations",
        Some(&carol.key),
        Some(&json!({"model": "fal/flux-dev", "prompt": "a cat", "size": "1024x1024"})),
    );
    let error = assert_error(&answer, status, code);
    assert!(started.elapsed() < Duration::from_secs(10));
    let received = mock.received();
    // A short Retry-After is waited out once; otherwise there is one call.
    let calls = if reply_has_retry_after { 2 } else { 1 };
    assert_eq!(received.len(), calls, "submit calls, no polls");
    assert!(received.iter().all(|r| r.path == SUBMIT_PATH));

    let task_id = error["task_id"].as_str().expect("the task is named");
    let view = task(&gw, &carol, task_id);
    assert_eq!(view["status"], "failed");
    assert_eq!(view["error"]["code"], code);
    assert_refunded(&gw, &carol.id, task_id, 4);
    assert_eq!(assert_reconciles(&gw, &carol.id), (CREDITS, 0));
    let logs = gw.logs();
    assert!(!logs.contains(KEY), "the key is never logged");
    (error, logs)
}

#[test]
fn a_401_is_an_upstream_error_naming_the_credential() {
    let (error, logs) = submit_fails_with(
        Reply::json(
            401,
            &json!({"detail": "No user found for Key ID and Secret"}),
        ),
        502,
        "UPSTREAM_ERROR",
    );
    assert!(
        error["message"].as_str().unwrap().contains("credential"),
        "{error}"
    );
    assert!(
        logs.contains("No user found for Key ID and Secret"),
        "{logs}"
    );
}

#[test]
fn a_422_is_an_invalid_parameter_with_fals_detail() {
    let (error, _) = submit_fails_with(
        Reply::json(
            422,
            &json!({"detail": [{"loc": ["body", "num_inference_steps"],
                                "msg": "ensure this value is less than or equal to 50",
                                "type": "value_error.number.not_le"}]}),
        ),
        400,
        "INVALID_PARAMETER",
    );
    let message = error["message"].as_str().unwrap();
    assert!(
        message.contains("body.num_inference_steps: ensure this value is less than or equal to 50"),
        "fal's detail reaches the caller: {message}"
    );
}

#[test]
fn a_429_with_retry_after_is_an_upstream_error() {
    let (error, logs) = submit_fails_with(
        Reply::json(429, &json!({"detail": "Too many concurrent requests"}))
            .header("retry-after", "1"),
        502,
        "UPSTREAM_ERROR",
    );
    assert!(
        error["message"].as_str().unwrap().contains("rate-limiting"),
        "{error}"
    );
    assert!(logs.contains("Too many concurrent requests"), "{logs}");
}

#[test]
fn a_500_is_an_upstream_error() {
    submit_fails_with(
        Reply::json(500, &json!({"detail": "Internal Server Error"})),
        502,
        "UPSTREAM_ERROR",
    );
}

#[test]
fn malformed_json_is_an_upstream_error() {
    submit_fails_with(
        Reply::bytes(200, "application/json", b"{\"request_id\": ".to_vec()),
        502,
        "UPSTREAM_ERROR",
    );
}

#[test]
fn a_submit_slower_than_timeout_ms_is_an_upstream_timeout() {
    // fal's `timeout_ms` is 1000 in this configuration.
    submit_fails_with(
        Reply::json(200, &queued("127.0.0.1")).delayed(Duration::from_millis(2_000)),
        504,
        "UPSTREAM_TIMEOUT",
    );
}

#[test]
fn canceling_a_task_cancels_the_fal_request_and_releases_the_hold() {
    let upstream = Upstream::default();
    let (gw, mock, dave) = setup(upstream.handler(result_with(2), Vec::new()));
    let id = start_task(&gw, &dave);
    wait_until("the request to be in progress", || upstream.polls() >= 2);

    let canceled = gw.request_with(
        "POST",
        &format!("/v1/tasks/{id}/cancel"),
        Some(&dave.key),
        None,
    );
    assert_eq!(
        canceled.status,
        200,
        "{}",
        String::from_utf8_lossy(&canceled.body)
    );
    assert_eq!(canceled.json()["status"], "canceled");
    let received = mock.received();
    let cancels = calls(&received, "PUT", &format!("{REQUEST_PATH}/cancel"));
    assert_eq!(cancels.len(), 1, "fal was asked to cancel the request");
    assert_eq!(cancels[0].header("authorization"), Some("Key fal_test"));

    let polls = upstream.polls();
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(upstream.polls(), polls, "polling stopped");
    assert_refunded(&gw, &dave.id, &id, 8);
    assert_eq!(assert_reconciles(&gw, &dave.id), (CREDITS, 0));
}

#[test]
fn a_restart_mid_request_resumes_polling_and_charges_once() {
    let images = [png(40, 30, [1, 2, 3]), png(40, 30, [3, 2, 1])];
    let upstream = Upstream::default();
    let (mut gw, mock, erin) = setup(upstream.handler(result_with(2), images.to_vec()));
    let id = start_task(&gw, &erin);
    wait_until("the request to be in progress", || upstream.polls() >= 2);

    gw.kill();
    let polls_before = upstream.polls();
    gw.restart();
    wait_until("polls after the restart", || {
        upstream.polls() > polls_before
    });
    upstream.finish();
    let view = wait_final(&gw, &erin, &id);
    assert_eq!(view["status"], "succeeded", "{view}");

    let received = mock.received();
    assert_eq!(
        calls(&received, "POST", SUBMIT_PATH).len(),
        1,
        "the request is not queued again after the restart"
    );
    assert_outputs_served(&gw, &erin.key, &view, &images);
    assert_charged_once(&gw, &erin.id, &id, 8);
    assert_eq!(assert_reconciles(&gw, &erin.id), (CREDITS - 8, 0));
}

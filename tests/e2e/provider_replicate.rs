//! The bundled `replicate` adapter against a loopback mock speaking
//! Replicate's documented predictions API: the create call and injected
//! token, polling through `starting` and `processing` to `succeeded` with
//! output URLs the gateway downloads, cancelling, a restart in the middle of
//! a job, and billing (the hold is captured once on success).
//!
//! The failures (predictions that end badly and every error class of the
//! create call) are in `provider_replicate_errors`, which shares the mock
//! and the helpers defined here.

use std::time::Duration;

use imini_tests::mock::{Job, Mock, Received, Reply, Stage, calls};
use imini_tests::{
    Answer, Gateway, TestAccount, assert_charged_once, assert_error, assert_outputs_served,
    assert_reconciles, assert_refunded, png, wait_until,
};
use serde_json::{Value, json};

pub(crate) const TOKEN: &str = "r8_test";
pub(crate) const CREDITS: i64 = 1_000;
const PRICE: i64 = 3;
const PREDICTION: &str = "gm3qorzdhgbfurvjtvhg6dckhu";
pub(crate) const CREATE_PATH: &str = "/v1/models/black-forest-labs/flux-schnell/predictions";

/// The gateway's configuration for a mock Replicate at `mock`.
fn config(mock: &Mock) -> String {
    format!(
        r#"[credentials.replicate]
value = {TOKEN:?}

[plugin_settings.replicate]
allowed_hosts = ["{host}"]
[plugin_settings.replicate.config]
base_url = "{url}"
poll_interval_ms = 50
timeout_ms = 1000

[prices."replicate/flux-schnell"]
per_image = {PRICE}
[prices."replicate/flux-dev"]
per_image = 5
"#,
        host = mock.host_port,
        url = mock.url,
    )
}

/// A gateway in front of a mock Replicate answering with `handler`, and an
/// account with [`CREDITS`].
pub(crate) fn setup(
    handler: impl Fn(&Received) -> Reply + Send + Sync + 'static,
) -> (Gateway, Mock, TestAccount) {
    let mock = Mock::with_handler(handler);
    let gw = Gateway::start_with_config(&config(&mock));
    let account = gw.account("replicate-user@example.com", CREDITS);
    (gw, mock, account)
}

/// Replicate's prediction object in `status`, as its API answers it.
pub(crate) fn prediction(host: &str, status: &str, extra: Value) -> Value {
    let base = format!("http://{host}/v1/predictions/{PREDICTION}");
    let mut p = json!({
        "id": PREDICTION,
        "model": "black-forest-labs/flux-schnell",
        "version": "dp-4d0bcc010b3049749a251855f12800be",
        "input": {"prompt": "a lighthouse at dusk", "num_outputs": 2, "aspect_ratio": "16:9",
                  "seed": 7, "output_format": "png"},
        "logs": "",
        "output": null,
        "data_removed": false,
        "error": null,
        "status": status,
        "created_at": "2025-01-08T13:24:38.421Z",
        "urls": {
            "cancel": format!("{base}/cancel"),
            "get": base,
            "stream": format!("http://{host}/v1/streams/abc"),
            "web": format!("https://replicate.com/p/{PREDICTION}"),
        },
    });
    if let (Value::Object(p), Value::Object(extra)) = (&mut p, extra) {
        p.extend(extra);
    }
    p
}

/// The mock's moving parts: how many polls it answered, and whether the
/// prediction may finish.
#[derive(Clone, Default)]
pub(crate) struct Upstream(Job);

impl std::ops::Deref for Upstream {
    type Target = Job;
    fn deref(&self) -> &Job {
        &self.0
    }
}

impl Upstream {
    /// A mock Replicate whose prediction is `starting` at the first poll,
    /// then `processing` until [`Job::finish`] is set, then ends with
    /// `outcome` (the prediction's final fields). Files under `/files/`
    /// serve `images`.
    pub(crate) fn handler(
        &self,
        outcome: impl Fn(&str) -> Value + Send + Sync + 'static,
        images: Vec<Vec<u8>>,
    ) -> impl Fn(&Received) -> Reply + Send + Sync + 'static {
        let this = self.clone();
        move |req: &Received| {
            let host = req.header("host").unwrap_or_default().to_string();
            let poll_path = format!("/v1/predictions/{PREDICTION}");
            match (req.method.as_str(), req.path.as_str()) {
                ("POST", CREATE_PATH) => {
                    Reply::json(201, &prediction(&host, "starting", json!({})))
                }
                ("GET", p) if p == poll_path => match this.poll() {
                    Stage::Queued => Reply::json(200, &prediction(&host, "starting", json!({}))),
                    Stage::Running => {
                        let logs = "Using seed: 7\n  0%|          | 0/4 [00:00<?, ?it/s]\n 50%|#####     | 2/4 [00:00<00:00,  3.1it/s]";
                        Reply::json(200, &prediction(&host, "processing", json!({"logs": logs})))
                    }
                    Stage::Done => Reply::json(200, &prediction(&host, "", outcome(&host))),
                },
                ("POST", p) if p == format!("{poll_path}/cancel") => Reply::json(
                    200,
                    &prediction(
                        &host,
                        "canceled",
                        json!({"completed_at": "2025-01-08T13:24:40Z"}),
                    ),
                ),
                ("GET", p) if p.starts_with("/files/out-") => {
                    let i: usize = p["/files/out-".len()..]
                        .trim_end_matches(".png")
                        .parse()
                        .unwrap_or(usize::MAX);
                    match images.get(i) {
                        Some(bytes) => Reply::bytes(200, "image/png", bytes.clone()),
                        None => Reply::json(404, &json!({"detail": "Not found."})),
                    }
                }
                _ => Reply::json(404, &json!({"detail": "Not found.", "status": 404})),
            }
        }
    }
}

/// The final fields of a prediction that succeeded with `n` outputs served
/// by the mock itself.
fn succeeded_with(n: usize) -> impl Fn(&str) -> Value + Send + Sync + 'static {
    move |host: &str| {
        let output: Vec<String> = (0..n)
            .map(|i| format!("http://{host}/files/out-{i}.png"))
            .collect();
        json!({"status": "succeeded", "output": output, "logs": "100%|##########| 4/4",
               "completed_at": "2025-01-08T13:24:39.6Z", "metrics": {"predict_time": 0.8, "image_count": n}})
    }
}

fn native(gw: &Gateway, who: &TestAccount, body: &Value) -> Answer {
    gw.request_with("POST", "/v1/images/generate", Some(&who.key), Some(body))
}

pub(crate) fn task(gw: &Gateway, who: &TestAccount, id: &str) -> Value {
    gw.request_with("GET", &format!("/v1/tasks/{id}"), Some(&who.key), None)
        .json()
}

/// Creates a task with the native API and returns its id.
pub(crate) fn start_task(gw: &Gateway, who: &TestAccount) -> String {
    let answer = native(
        gw,
        who,
        &json!({"model": "replicate/flux-schnell", "prompt": "a lighthouse at dusk", "n": 2,
                "aspect_ratio": "16:9", "seed": 7}),
    );
    assert_eq!(
        answer.status,
        202,
        "{}",
        String::from_utf8_lossy(&answer.body)
    );
    let body = answer.json();
    assert_eq!(body["status"], "queued");
    assert_eq!(body["cost"]["credits"], 2 * PRICE);
    body["task_id"].as_str().unwrap().to_string()
}

/// Polls the task until it is final and its hold settled; returns it and
/// every status seen.
///
/// The gateway stores a task's final status a moment before it captures or
/// releases the hold, so a final task may briefly still show its credits as
/// only held: wait for both.
pub(crate) fn wait_final(gw: &Gateway, who: &TestAccount, id: &str) -> (Value, Vec<String>) {
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

#[test]
fn flux_schnell_creates_a_prediction_polls_it_and_stores_the_outputs() {
    let images = [png(56, 32, [220, 120, 40]), png(56, 32, [40, 90, 200])];
    let upstream = Upstream::default();
    let (gw, mock, alice) = setup(upstream.handler(succeeded_with(2), images.to_vec()));

    let id = start_task(&gw, &alice);
    // The task is processing while Replicate's prediction is.
    wait_until("two polls", || upstream.polls() >= 2);
    let view = task(&gw, &alice, &id);
    assert_eq!(view["status"], "processing", "{view}");
    assert_eq!(
        view["cost"],
        json!({"held": 6, "charged": 0, "refunded": 0})
    );
    upstream.finish();
    let (view, seen) = wait_final(&gw, &alice, &id);
    assert_eq!(seen.last().map(String::as_str), Some("succeeded"), "{view}");
    assert!(
        seen.iter()
            .all(|s| ["queued", "processing", "succeeded"].contains(&s.as_str())),
        "{seen:?}"
    );

    // What reached "Replicate": one create call, in its wire format.
    let received = mock.received();
    let created = calls(&received, "POST", CREATE_PATH);
    assert_eq!(created.len(), 1, "one prediction created");
    let call = created[0];
    assert_eq!(
        call.header("authorization"),
        Some("Bearer r8_test"),
        "the host injected the operator's token"
    );
    assert!(
        call.header("content-type")
            .is_some_and(|c| c.starts_with("application/json"))
    );
    assert_eq!(
        call.json(),
        json!({"input": {"prompt": "a lighthouse at dusk", "num_outputs": 2, "aspect_ratio": "16:9",
                         "seed": 7, "output_format": "png"}})
    );
    assert!(
        call.header("prefer").is_none(),
        "asynchronous: no Prefer: wait"
    );
    // Then polls of the prediction, each with the token, honouring the
    // 50 ms poll interval (no burst).
    let polls = calls(&received, "GET", &format!("/v1/predictions/{PREDICTION}"));
    assert!(
        polls.len() >= 3,
        "starting, processing, succeeded: {}",
        polls.len()
    );
    assert_eq!(polls.len() as u32, upstream.polls());
    assert!(
        polls
            .iter()
            .all(|p| p.header("authorization") == Some("Bearer r8_test"))
    );
    // And the outputs, downloaded without the token.
    for i in 0..2 {
        let download = calls(&received, "GET", &format!("/files/out-{i}.png"));
        assert_eq!(download.len(), 1, "output {i} downloaded once");
        assert!(
            download[0].header("authorization").is_none(),
            "the token is not sent to the output host"
        );
    }
    assert!(
        calls(
            &received,
            "POST",
            &format!("/v1/predictions/{PREDICTION}/cancel")
        )
        .is_empty()
    );

    // The outputs are exactly the bytes "Replicate" served.
    assert_eq!(view["model"], "replicate/flux-schnell");
    assert_eq!(view["progress"], 100);
    assert_outputs_served(&gw, &alice.key, &view, &images);
    for output in view["images"].as_array().unwrap() {
        assert_eq!(output["mime_type"], "image/png");
        assert_eq!(
            (output["width"].as_u64(), output["height"].as_u64()),
            (Some(56), Some(32)),
            "the size read from each image (Replicate does not say)"
        );
    }
    assert_eq!(view["provider_metadata"]["prediction_id"], PREDICTION);
    assert_eq!(view["provider_metadata"]["metrics"]["predict_time"], 0.8);

    // Charged once: hold, then capture.
    assert_eq!(
        view["cost"],
        json!({"held": 6, "charged": 6, "refunded": 0})
    );
    assert_charged_once(&gw, &alice.id, &id, 6);
    assert_eq!(assert_reconciles(&gw, &alice.id), (CREDITS - 6, 0));
}

#[test]
fn the_models_are_listed_as_asynchronous_with_fluxs_aspect_ratios() {
    let (gw, mock, bob) = setup(|_| Reply::json(500, &json!({})));
    let schnell = gw.get("/v1/models/replicate/flux-schnell").json();
    assert_eq!(schnell["provider"]["plugin"], "replicate");
    assert_eq!(schnell["provider"]["version"], "0.1.0");
    let caps = &schnell["capabilities"];
    assert_eq!(caps["mode"], "async");
    assert_eq!(caps["max_n"], 4);
    assert_eq!(caps["seed"], true);
    assert_eq!(caps["default_size"], "1024x1024");
    assert!(
        caps["sizes"]
            .as_array()
            .unwrap()
            .contains(&json!("1344x768"))
    );
    assert!(
        caps["aspect_ratios"]
            .as_array()
            .unwrap()
            .contains(&json!("21:9"))
    );
    assert_eq!(
        schnell["pricing"],
        json!([{"unit": "image", "credits": PRICE}])
    );
    let dev = gw.get("/v1/models/replicate/flux-dev").json();
    assert_eq!(dev["capabilities"]["mode"], "async");

    // Sizes and counts FLUX does not take are refused before anything is held.
    let e = assert_error(
        &native(
            &gw,
            &bob,
            &json!({"model": "replicate/flux-schnell", "prompt": "x", "size": "512x512"}),
        ),
        400,
        "INVALID_PARAMETER",
    );
    assert_eq!(e["param"], "size");
    let e = assert_error(
        &native(
            &gw,
            &bob,
            &json!({"model": "replicate/flux-dev", "prompt": "x", "n": 5}),
        ),
        400,
        "INVALID_PARAMETER",
    );
    assert_eq!(e["param"], "n");
    assert!(mock.received().is_empty(), "nothing reached Replicate");
    assert_eq!(assert_reconciles(&gw, &bob.id), (CREDITS, 0));
}

#[test]
fn flux_dev_sends_the_size_as_an_aspect_ratio_and_passes_guidance() {
    let upstream = Upstream::default();
    upstream.finish();
    let image = png(16, 16, [10, 200, 10]);
    let handler = upstream.handler(succeeded_with(1), vec![image.clone()]);
    let (gw, mock, carol) = setup(move |req| {
        // flux-dev's create call, answered like flux-schnell's.
        if req.method == "POST" && req.path == "/v1/models/black-forest-labs/flux-dev/predictions" {
            let host = req.header("host").unwrap_or_default();
            return Reply::json(201, &prediction(host, "starting", json!({})));
        }
        handler(req)
    });
    let answer = gw.request_with(
        "POST",
        "/v1/images/generations",
        Some(&carol.key),
        Some(
            &json!({"model": "replicate/flux-dev", "prompt": "a fern", "size": "832x1216",
                     "response_format": "b64_json", "extra_params": {"guidance": 3.5}}),
        ),
    );
    assert_eq!(
        answer.status,
        200,
        "{}",
        String::from_utf8_lossy(&answer.body)
    );
    let received = mock.received();
    let created = calls(
        &received,
        "POST",
        "/v1/models/black-forest-labs/flux-dev/predictions",
    );
    assert_eq!(created.len(), 1);
    assert_eq!(
        created[0].json(),
        json!({"input": {"prompt": "a fern", "num_outputs": 1, "aspect_ratio": "2:3",
                         "output_format": "png", "guidance": 3.5}})
    );
    use base64::Engine as _;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(answer.json()["data"][0]["b64_json"].as_str().unwrap())
        .unwrap();
    assert_eq!(bytes, image);
    assert_eq!(assert_reconciles(&gw, &carol.id), (CREDITS - 5, 0));
}

#[test]
fn canceling_a_task_cancels_the_prediction_and_releases_the_hold() {
    let upstream = Upstream::default();
    let (gw, mock, frank) = setup(upstream.handler(succeeded_with(2), Vec::new()));
    let id = start_task(&gw, &frank);
    wait_until("the prediction to be processing", || upstream.polls() >= 2);

    let canceled = gw.request_with(
        "POST",
        &format!("/v1/tasks/{id}/cancel"),
        Some(&frank.key),
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
    let cancel_calls = calls(
        &received,
        "POST",
        &format!("/v1/predictions/{PREDICTION}/cancel"),
    );
    assert_eq!(
        cancel_calls.len(),
        1,
        "Replicate was asked to stop the prediction"
    );
    assert_eq!(
        cancel_calls[0].header("authorization"),
        Some("Bearer r8_test")
    );

    // No more polls once canceled.
    let polls = upstream.polls();
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(upstream.polls(), polls, "polling stopped");

    let view = task(&gw, &frank, &id);
    assert_eq!(view["status"], "canceled");
    assert_eq!(
        view["cost"],
        json!({"held": 6, "charged": 0, "refunded": 6})
    );
    assert_refunded(&gw, &frank.id, &id, 6);
    assert_eq!(assert_reconciles(&gw, &frank.id), (CREDITS, 0));
    assert_error(
        &gw.request_with(
            "POST",
            &format!("/v1/tasks/{id}/cancel"),
            Some(&frank.key),
            None,
        ),
        409,
        "TASK_NOT_CANCELABLE",
    );
}

#[test]
fn a_restart_mid_prediction_resumes_polling_and_charges_once() {
    let images = [png(24, 24, [90, 10, 90]), png(24, 24, [10, 90, 90])];
    let upstream = Upstream::default();
    let (mut gw, mock, grace) = setup(upstream.handler(succeeded_with(2), images.to_vec()));
    let id = start_task(&gw, &grace);
    wait_until("the prediction to be processing", || upstream.polls() >= 2);

    // A crash while Replicate is still working on it.
    gw.kill();
    let polls_before = upstream.polls();
    gw.restart();
    // The restarted gateway polls the same prediction again...
    wait_until("polls after the restart", || {
        upstream.polls() > polls_before
    });
    assert_eq!(task(&gw, &grace, &id)["status"], "processing");
    // ...and the prediction finishes.
    upstream.finish();
    let (view, _) = wait_final(&gw, &grace, &id);
    assert_eq!(view["status"], "succeeded", "{view}");

    let received = mock.received();
    assert_eq!(
        calls(&received, "POST", CREATE_PATH).len(),
        1,
        "the prediction is not created again after the restart"
    );
    assert_outputs_served(&gw, &grace.key, &view, &images);
    assert_charged_once(&gw, &grace.id, &id, 6);
    assert_eq!(assert_reconciles(&gw, &grace.id), (CREDITS - 6, 0));
}

#[test]
fn a_task_canceled_through_another_replica_stays_canceled_and_uncharged() {
    // Two replicas on one PostgreSQL database: A runs the task and polls
    // Replicate; the owner cancels it through B.
    let images = [png(24, 24, [90, 10, 90]), png(24, 24, [10, 90, 90])];
    let upstream = Upstream::default();
    let mock = Mock::with_handler(upstream.handler(succeeded_with(2), images.to_vec()));
    let db = std::sync::Arc::new(imini_tests::pg::Database::create());
    let a = Gateway::start_on_database(&config(&mock), db.clone(), &[]);
    let b = Gateway::start_on_database(&config(&mock), db, &[]);
    let hana = a.account("hana@example.com", CREDITS);
    let id = start_task(&a, &hana);
    wait_until("the prediction to be processing", || upstream.polls() >= 2);

    let canceled = b.request_with(
        "POST",
        &format!("/v1/tasks/{id}/cancel"),
        Some(&hana.key),
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
    let cancels = calls(
        &received,
        "POST",
        &format!("/v1/predictions/{PREDICTION}/cancel"),
    );
    assert_eq!(cancels.len(), 1, "Replicate was asked to stop");

    // A, still polling, then sees the prediction succeed and downloads its
    // outputs: the cancel stands, and nothing is charged.
    upstream.finish();
    wait_until("A to fetch the outputs", || {
        !calls(&mock.received(), "GET", "/files/out-1.png").is_empty()
    });
    std::thread::sleep(Duration::from_millis(300));
    for gw in [&a, &b] {
        let view = task(gw, &hana, &id);
        assert_eq!(view["status"], "canceled", "{view}");
        assert_eq!(
            view["cost"],
            json!({"held": 6, "charged": 0, "refunded": 6})
        );
    }
    assert_refunded(&b, &hana.id, &id, 6);
    assert_eq!(assert_reconciles(&a, &hana.id), (CREDITS, 0));
}

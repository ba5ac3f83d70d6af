//! The bundled `replicate` adapter against a loopback mock speaking
//! Replicate's documented predictions API. The provider conformance suite
//! ([`imini_tests::conformance`]) runs success, cancelling and a restart in
//! the middle of a prediction here, and every error class and a timeout in
//! `provider_replicate_errors`; what is Replicate's own is checked here: the
//! create call's wire format and polls through `starting` and `processing`,
//! the prediction's metadata, flux-dev's aspect ratio and guidance, the
//! models' listing, and a cancel through another replica.

use std::time::Duration;

use imini_tests::conformance::{
    self, Adapter, Case, Expect, Fault, Harness, Mode, Outcome, Script,
};
use imini_tests::mock::{Mock, Received, Reply, Stage, calls};
use imini_tests::{
    Gateway, TestAccount, assert_error, assert_reconciles, assert_refunded, wait_until,
};
use serde_json::{Value, json};

const TOKEN: &str = "r8_test";
const PRICE: i64 = 3;
const PREDICTION: &str = "gm3qorzdhgbfurvjtvhg6dckhu";
const CREATE_PATH: &str = "/v1/models/black-forest-labs/flux-schnell/predictions";
const DEV_CREATE_PATH: &str = "/v1/models/black-forest-labs/flux-dev/predictions";

/// Replicate's `flux-schnell` (and `flux-dev`) for the conformance suite.
#[derive(Clone)]
pub(crate) struct Replicate;

/// Replicate's prediction object in `status`, as its API answers it.
fn prediction(host: &str, status: &str, extra: Value) -> Value {
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

/// A prediction canceled upstream (not by the gateway).
const CANCELED_UPSTREAM: &str = "canceled upstream";

impl Replicate {
    /// A prediction's final fields, as `script` says it ends.
    fn ended(&self, script: &Script) -> Value {
        match script.outcome {
            Outcome::Succeeded => {
                json!({"status": "succeeded", "output": script.urls(), "logs": "100%|##########| 4/4",
                       "completed_at": "2025-01-08T13:24:39.6Z",
                       "metrics": {"predict_time": 0.8, "image_count": script.count()}})
            }
            Outcome::Failed(message) => {
                json!({"status": "failed", "error": message, "logs": "Traceback…"})
            }
            Outcome::Refused => json!({"status": "failed",
                "error": "All generated images contained NSFW content. Try running it again with a different prompt."}),
            Outcome::Other(CANCELED_UPSTREAM) => json!({"status": "canceled"}),
            Outcome::Other(other) => panic!("no such outcome: {other}"),
        }
    }
}

impl Adapter for Replicate {
    fn name(&self) -> &'static str {
        "replicate"
    }

    fn config(&self, mock: &Mock) -> String {
        conformance::api_config(
            "replicate",
            "replicate",
            TOKEN,
            mock,
            true,
            &format!(
                "[prices.\"replicate/flux-schnell\"]\nper_image = {PRICE}\n\
                 [prices.\"replicate/flux-dev\"]\nper_image = 5\n"
            ),
        )
    }

    fn secret(&self) -> &'static str {
        TOKEN
    }

    fn credential_header(&self) -> (&'static str, String) {
        ("authorization", format!("Bearer {TOKEN}"))
    }

    fn mode(&self) -> Mode {
        Mode::Asynchronous
    }

    fn request(&self) -> Value {
        json!({"model": "replicate/flux-schnell", "prompt": "a lighthouse at dusk", "n": 2,
               "aspect_ratio": "16:9", "seed": 7})
    }

    fn cost(&self) -> i64 {
        2 * PRICE
    }

    fn submit_call(&self) -> (&'static str, String) {
        ("POST", CREATE_PATH.into())
    }

    fn cancel_call(&self) -> Option<(&'static str, String)> {
        Some(("POST", format!("/v1/predictions/{PREDICTION}/cancel")))
    }

    /// The prediction is `starting` at the first poll, then `processing`
    /// until the scenario lets it end.
    fn answer(&self, req: &Received, script: &Script) -> Reply {
        let host = script.host;
        let poll_path = format!("/v1/predictions/{PREDICTION}");
        match (req.method.as_str(), req.path.as_str()) {
            ("POST", CREATE_PATH | DEV_CREATE_PATH) => {
                Reply::json(201, &prediction(host, "starting", json!({})))
            }
            ("GET", p) if p == poll_path => match script.poll() {
                Stage::Queued => Reply::json(200, &prediction(host, "starting", json!({}))),
                Stage::Running => {
                    let logs = "Using seed: 7\n  0%|          | 0/4 [00:00<?, ?it/s]\n 50%|#####     | 2/4 [00:00<00:00,  3.1it/s]";
                    Reply::json(200, &prediction(host, "processing", json!({"logs": logs})))
                }
                Stage::Done => Reply::json(200, &prediction(host, "", self.ended(script))),
            },
            ("POST", p) if p == format!("{poll_path}/cancel") => Reply::json(
                200,
                &prediction(
                    host,
                    "canceled",
                    json!({"completed_at": "2025-01-08T13:24:40Z"}),
                ),
            ),
            _ => Reply::json(404, &json!({"detail": "Not found.", "status": 404})),
        }
    }

    /// Replicate's problem details.
    fn error(&self, status: u16, message: &str) -> Reply {
        let title = match status {
            401 => "Unauthenticated",
            403 => "Forbidden",
            404 => "Not found",
            422 => "Input validation failed",
            429 => "Request was throttled",
            s if s >= 500 => "Internal Server Error",
            _ => "Bad request",
        };
        Reply::json(
            status,
            &json!({"detail": message, "status": status, "title": title}),
        )
    }

    /// An unknown model on create is the operator's set-up: final.
    fn error_code(&self, status: u16) -> &'static str {
        match status {
            404 => "UPSTREAM_ERROR",
            s => conformance::standard_code(s),
        }
    }

    fn extra_cases(&self) -> Vec<Case> {
        vec![Case {
            name: "the prediction is canceled upstream".into(),
            fault: Fault::Ends(Outcome::Other(CANCELED_UPSTREAM)),
            expect: Expect::code("UPSTREAM_ERROR").says("canceled"),
        }]
    }
}

#[test]
fn conformance_success_with_replicates_wire_format() {
    let run = conformance::success(&Replicate);

    // One create call, in Replicate's wire format.
    let call = run.submitted();
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
    // Then polls of the prediction (starting, processing, succeeded).
    let polls = run.calls("GET", &format!("/v1/predictions/{PREDICTION}"));
    assert!(polls.len() >= 3, "{}", polls.len());
    assert_eq!(polls.len() as u32, run.harness.vendor.polls());

    assert_eq!(run.view["provider_metadata"]["prediction_id"], PREDICTION);
    assert_eq!(
        run.view["provider_metadata"]["metrics"]["predict_time"],
        0.8
    );
}

#[test]
fn conformance_cancel() {
    conformance::cancel(&Replicate);
}

#[test]
fn conformance_restart_mid_job() {
    conformance::restart_mid_job(&Replicate);
}

#[test]
fn the_models_are_listed_as_asynchronous_with_fluxs_aspect_ratios() {
    let h = Harness::start(&Replicate);
    let (gw, bob) = (&h.gw, &h.account);
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
    let native =
        |body: &Value| gw.request_with("POST", "/v1/images/generate", Some(&bob.key), Some(body));
    let e = assert_error(
        &native(&json!({"model": "replicate/flux-schnell", "prompt": "x", "size": "512x512"})),
        400,
        "INVALID_PARAMETER",
    );
    assert_eq!(e["param"], "size");
    let e = assert_error(
        &native(&json!({"model": "replicate/flux-dev", "prompt": "x", "n": 5})),
        400,
        "INVALID_PARAMETER",
    );
    assert_eq!(e["param"], "n");
    assert!(h.vendor.received().is_empty(), "nothing reached Replicate");
    assert_eq!(assert_reconciles(gw, &bob.id), (conformance::CREDITS, 0));
}

#[test]
fn flux_dev_sends_the_size_as_an_aspect_ratio_and_passes_guidance() {
    let h = Harness::start(&Replicate);
    h.vendor.script(None, true);
    let answer = h.gw.request_with(
        "POST",
        "/v1/images/generations",
        Some(&h.account.key),
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
    let received = h.vendor.received();
    let created = calls(&received, "POST", DEV_CREATE_PATH);
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
    assert_eq!(bytes, h.vendor.outputs()[0], "the first output, as n is 1");
    assert_eq!(
        assert_reconciles(&h.gw, &h.account.id),
        (conformance::CREDITS - 5, 0)
    );
}

fn task(gw: &Gateway, who: &TestAccount, id: &str) -> Value {
    gw.request_with("GET", &format!("/v1/tasks/{id}"), Some(&who.key), None)
        .json()
}

#[test]
fn a_task_canceled_through_another_replica_stays_canceled_and_uncharged() {
    // Two replicas on one PostgreSQL database: A runs the task and polls
    // Replicate; the owner cancels it through B.
    let vendor = conformance::Vendor::start(&Replicate);
    let db = std::sync::Arc::new(imini_tests::pg::Database::create());
    let a = Gateway::start_on_database(&Replicate.config(&vendor.mock), db.clone(), &[]);
    let b = Gateway::start_on_database(&Replicate.config(&vendor.mock), db, &[]);
    let hana = a.account("hana@example.com", conformance::CREDITS);
    let accepted = a.request_with(
        "POST",
        "/v1/images/generate",
        Some(&hana.key),
        Some(&Replicate.request()),
    );
    assert_eq!(
        accepted.status,
        202,
        "{}",
        String::from_utf8_lossy(&accepted.body)
    );
    let accepted = accepted.json();
    assert_eq!(accepted["status"], "queued");
    assert_eq!(accepted["cost"]["credits"], 6);
    let id = accepted["task_id"].as_str().unwrap().to_string();
    wait_until("the prediction to be processing", || vendor.polls() >= 2);

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
    let received = vendor.received();
    let cancels = calls(
        &received,
        "POST",
        &format!("/v1/predictions/{PREDICTION}/cancel"),
    );
    assert_eq!(cancels.len(), 1, "Replicate was asked to stop");

    // A, still polling, then sees the prediction succeed and downloads its
    // outputs: the cancel stands, and nothing is charged.
    vendor.finish();
    wait_until("A to fetch the outputs", || {
        !calls(&vendor.received(), "GET", "/files/out-1.png").is_empty()
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
    assert_eq!(assert_reconciles(&a, &hana.id), (conformance::CREDITS, 0));
}

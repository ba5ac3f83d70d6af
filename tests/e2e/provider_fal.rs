//! The bundled `fal` adapter against a loopback mock speaking fal's queue
//! API. The provider conformance suite ([`imini_tests::conformance`]) runs
//! success, every error class, a timeout, cancelling and a restart in the
//! middle of a request; what is fal's own is checked here: the submit
//! call's wire format, status polls through `IN_QUEUE` and `IN_PROGRESS` to
//! `COMPLETED` and the result endpoint, the sizes and metadata fal
//! reports, a request fal rejects when it runs, and the model's listing.

use imini_tests::conformance::{self, Adapter, Case, Expect, Fault, Mode, Outcome, Script};
use imini_tests::mock::{Mock, Received, Reply, Stage};
use serde_json::{Value, json};

const KEY: &str = "fal_test";
const PRICE: i64 = 4;
const REQUEST: &str = "764cabcf-b745-4b3e-ae38-1200304cf45b";
const SUBMIT_PATH: &str = "/fal-ai/flux/dev";
/// fal's status, result and cancel endpoints live under the app's
/// `owner/alias`, without its `/dev` subpath.
const REQUEST_PATH: &str = "/fal-ai/flux/requests/764cabcf-b745-4b3e-ae38-1200304cf45b";

/// fal's `flux-dev` for the conformance suite.
#[derive(Clone)]
struct Fal;

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

/// The result endpoint's answer for a completed request with `urls`, each
/// flagged by the safety checker or not.
fn result(script: &Script, flagged: bool) -> Reply {
    let images: Vec<Value> = (0..script.count())
        .map(|i| {
            let out = script.output(i);
            json!({"url": script.url(i), "width": out.width, "height": out.height,
                   "content_type": out.mime})
        })
        .collect();
    Reply::json(
        200,
        &json!({"images": images, "seed": 7, "has_nsfw_concepts": vec![flagged; script.count()],
                "prompt": "a lighthouse at dusk", "timings": {"inference": 1.25}}),
    )
}

/// fal rejecting the input when the request runs (its validation list).
const REJECTED_WHEN_RUN: &str = "rejected when it ran";

impl Adapter for Fal {
    fn name(&self) -> &'static str {
        "fal"
    }

    fn config(&self, mock: &Mock) -> String {
        conformance::api_config(
            "fal",
            "fal",
            KEY,
            mock,
            true,
            &format!("[prices.\"fal/flux-dev\"]\nper_image = {PRICE}\n"),
        )
    }

    fn secret(&self) -> &'static str {
        KEY
    }

    fn credential_header(&self) -> (&'static str, String) {
        ("authorization", format!("Key {KEY}"))
    }

    fn mode(&self) -> Mode {
        Mode::Asynchronous
    }

    fn request(&self) -> Value {
        json!({"model": "fal/flux-dev", "prompt": "a lighthouse at dusk", "n": 2,
               "size": "1024x768", "seed": 7})
    }

    fn cost(&self) -> i64 {
        2 * PRICE
    }

    fn submit_call(&self) -> (&'static str, String) {
        ("POST", SUBMIT_PATH.into())
    }

    fn cancel_call(&self) -> Option<(&'static str, String)> {
        Some(("PUT", format!("{REQUEST_PATH}/cancel")))
    }

    fn answer(&self, req: &Received, script: &Script) -> Reply {
        let host = script.host;
        let status_path = format!("{REQUEST_PATH}/status");
        let cancel_path = format!("{REQUEST_PATH}/cancel");
        match (req.method.as_str(), req.path.as_str()) {
            ("POST", SUBMIT_PATH) => Reply::json(200, &queued(host)),
            ("GET", p) if p == status_path => match script.poll() {
                Stage::Queued => Reply::json(202, &status(host, "IN_QUEUE")),
                Stage::Running => Reply::json(202, &status(host, "IN_PROGRESS")),
                Stage::Done => Reply::json(200, &status(host, "COMPLETED")),
            },
            ("GET", REQUEST_PATH) => match script.outcome {
                Outcome::Succeeded => result(script, false),
                Outcome::Refused => result(script, true),
                Outcome::Failed(message) => self.error(500, message),
                Outcome::Other(REJECTED_WHEN_RUN) => Reply::json(
                    422,
                    &json!({"detail": [{"loc": ["body", "image_size", "width"],
                                        "msg": "ensure this value is less than or equal to 14142",
                                        "type": "value_error"}]}),
                ),
                Outcome::Other(other) => panic!("no such outcome: {other}"),
            },
            ("PUT", p) if p == cancel_path => {
                Reply::json(202, &json!({"status": "CANCELLATION_REQUESTED"}))
            }
            _ => Reply::json(404, &json!({"detail": "Not Found"})),
        }
    }

    /// fal's `{"detail": …}`; a 422 is FastAPI's validation list.
    fn error(&self, status: u16, message: &str) -> Reply {
        let detail = if status == 422 {
            json!([{"loc": ["body", "num_inference_steps"], "msg": message,
                    "type": "value_error.number.not_le"}])
        } else {
            json!(message)
        };
        Reply::json(status, &json!({ "detail": detail }))
    }

    fn error_text(&self, status: u16, message: &str) -> String {
        if status == 422 {
            format!("body.num_inference_steps: {message}")
        } else {
            message.to_string()
        }
    }

    /// An unknown app on submit is the operator's set-up: final.
    fn error_code(&self, status: u16) -> &'static str {
        match status {
            404 => "UPSTREAM_ERROR",
            s => conformance::standard_code(s),
        }
    }

    fn extra_cases(&self) -> Vec<Case> {
        vec![Case {
            name: "the result endpoint answers 422: fal rejected the input when it ran".into(),
            fault: Fault::Ends(Outcome::Other(REJECTED_WHEN_RUN)),
            expect: Expect::code("INVALID_PARAMETER")
                .says("body.image_size.width: ensure this value is less than or equal to 14142"),
        }]
    }
}

#[test]
fn conformance_success_with_fals_wire_format() {
    let run = conformance::success(&Fal);

    // The submit call in fal's wire format.
    assert_eq!(
        run.submitted().json(),
        json!({"prompt": "a lighthouse at dusk", "num_images": 2,
               "image_size": {"width": 1024, "height": 768}, "seed": 7, "output_format": "png"})
    );
    // Status polls, then the result, fetched once, when completed.
    let polls = run.calls("GET", &format!("{REQUEST_PATH}/status"));
    assert!(polls.len() >= 3, "{}", polls.len());
    assert_eq!(polls.len() as u32, run.harness.vendor.polls());
    assert_eq!(
        run.calls("GET", REQUEST_PATH).len(),
        1,
        "the result is fetched once, when completed"
    );

    // The size and the metadata fal reports.
    for output in run.view["images"].as_array().unwrap() {
        assert_eq!(
            (output["width"].as_u64(), output["height"].as_u64()),
            (Some(40), Some(30)),
            "the size fal reports"
        );
    }
    assert_eq!(run.view["provider_metadata"]["request_id"], REQUEST);
    assert_eq!(run.view["provider_metadata"]["seed"], 7);
}

#[test]
fn conformance_error_classes() {
    conformance::error_classes(&Fal);
}

#[test]
fn conformance_timeout() {
    conformance::timeout(&Fal);
}

#[test]
fn conformance_cancel() {
    conformance::cancel(&Fal);
}

#[test]
fn conformance_restart_mid_job() {
    conformance::restart_mid_job(&Fal);
}

#[test]
fn the_model_is_listed_as_asynchronous() {
    let h = conformance::Harness::start(&Fal);
    let dev = h.gw.get("/v1/models/fal/flux-dev").json();
    assert_eq!(dev["provider"]["plugin"], "fal");
    assert_eq!(dev["capabilities"]["mode"], "async");
    assert_eq!(dev["capabilities"]["max_n"], 4);
    assert_eq!(dev["capabilities"]["seed"], true);
    assert_eq!(dev["pricing"], json!([{"unit": "image", "credits": PRICE}]));
    assert!(h.vendor.received().is_empty());
}

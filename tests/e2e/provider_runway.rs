//! The bundled `runway` adapter against a loopback mock speaking Runway's
//! documented API. The provider conformance suite
//! ([`imini_tests::conformance`]) runs success, every error class, a
//! timeout, cancelling and a restart in the middle of a task; what is
//! Runway's own is checked here: the image-to-video call's wire format (the
//! API version and the reference image as a data URI), Runway's progress,
//! the video's size and duration (billed per second), the model's listing,
//! and a video without a reference image.

use base64::Engine as _;
use imini_tests::conformance::{self, Adapter, Harness, Kind, Mode, Outcome, Output, Script};
use imini_tests::mock::{Mock, Received, Reply, Stage};
use imini_tests::png;
use serde_json::{Value, json};

const KEY: &str = "key_runway_test";
/// 2 credits a second, 5 seconds.
const COST: i64 = 10;
const TASK: &str = "17f20503-6c24-4c16-946b-35dbbce2af2f";
const SUBMIT_PATH: &str = "/v1/image_to_video";
const TASK_PATH: &str = "/v1/tasks/17f20503-6c24-4c16-946b-35dbbce2af2f";
const VERSION: &str = "2024-11-06";

/// The bytes of a (fake) MP4 the mock serves as the output.
fn mp4() -> Vec<u8> {
    let mut bytes = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom".to_vec();
    bytes.extend((0..200u8).map(|i| i.wrapping_mul(7)));
    bytes
}

/// The reference image the requests send.
fn reference() -> Vec<u8> {
    png(32, 18, [30, 140, 220])
}

/// An image as a data URI.
fn data_uri(bytes: &[u8]) -> String {
    let encoded = base64::engine::general_purpose::STANDARD.encode(bytes);
    format!("data:image/png;base64,{encoded}")
}

/// Runway's `gen4-turbo` for the conformance suite.
#[derive(Clone)]
struct Runway;

/// Runway's task object in `status`, with `extra` fields.
fn runway_task(status: &str, extra: Value) -> Value {
    let mut t = json!({"id": TASK, "status": status, "createdAt": "2024-06-27T19:49:32.334Z"});
    if let (Value::Object(t), Value::Object(extra)) = (&mut t, extra) {
        t.extend(extra);
    }
    t
}

impl Adapter for Runway {
    fn name(&self) -> &'static str {
        "runway"
    }

    fn config(&self, mock: &Mock) -> String {
        conformance::api_config(
            "runway",
            "runway",
            KEY,
            mock,
            true,
            "[prices.\"runway/gen4-turbo\"]\nper_second = 2\n",
        )
    }

    fn secret(&self) -> &'static str {
        KEY
    }

    fn credential_header(&self) -> (&'static str, String) {
        ("authorization", format!("Bearer {KEY}"))
    }

    fn mode(&self) -> Mode {
        Mode::Asynchronous
    }

    fn kind(&self) -> Kind {
        Kind::Video
    }

    /// A 5-second video of [`reference`].
    fn request(&self) -> Value {
        json!({"model": "runway/gen4-turbo", "prompt": "waves roll onto a beach", "duration": 5,
               "size": "1280x720", "seed": 9, "reference_images": [{"url": data_uri(&reference())}]})
    }

    fn cost(&self) -> i64 {
        COST
    }

    fn outputs(&self) -> Vec<Output> {
        vec![Output {
            bytes: mp4(),
            mime: "video/mp4",
            width: 1280,
            height: 720,
        }]
    }

    fn submit_call(&self) -> (&'static str, String) {
        ("POST", SUBMIT_PATH.into())
    }

    fn cancel_call(&self) -> Option<(&'static str, String)> {
        Some(("DELETE", TASK_PATH.into()))
    }

    /// Runway's `RUNNING` task is at 40 %.
    fn running_progress(&self) -> Option<u64> {
        Some(40)
    }

    /// The task is `PENDING` at the first poll, then `RUNNING` until the
    /// scenario lets it end.
    fn answer(&self, req: &Received, script: &Script) -> Reply {
        match (req.method.as_str(), req.path.as_str()) {
            ("POST", SUBMIT_PATH) => Reply::json(200, &json!({"id": TASK})),
            ("GET", TASK_PATH) => match script.poll() {
                Stage::Queued => Reply::json(200, &runway_task("PENDING", json!({}))),
                Stage::Running => {
                    Reply::json(200, &runway_task("RUNNING", json!({"progress": 0.4})))
                }
                Stage::Done => {
                    let ended = match script.outcome {
                        Outcome::Succeeded => {
                            json!({"status": "SUCCEEDED", "progress": 1.0, "output": script.urls()})
                        }
                        Outcome::Failed(message) => json!({"status": "FAILED", "failure": message,
                            "failureCode": "INTERNAL.BAD_OUTPUT.CODE01"}),
                        Outcome::Refused => json!({"status": "FAILED",
                            "failure": "The input image did not pass moderation",
                            "failureCode": "SAFETY.INPUT.IMAGE"}),
                        Outcome::Other(other) => panic!("no such outcome: {other}"),
                    };
                    Reply::json(200, &runway_task("", ended))
                }
            },
            ("DELETE", TASK_PATH) => Reply::bytes(204, "application/json", Vec::new()),
            _ => Reply::json(404, &json!({"error": "Not found"})),
        }
    }

    fn error(&self, status: u16, message: &str) -> Reply {
        Reply::json(status, &json!({ "error": message }))
    }

    /// Every call names the API version.
    fn check_call(&self, call: &Received) {
        assert_eq!(
            call.header("x-runway-version"),
            Some(VERSION),
            "{}",
            call.request_line
        );
    }
}

#[test]
fn conformance_success_with_runways_wire_format() {
    let run = conformance::success(&Runway);

    // One submit call, in Runway's wire format.
    assert_eq!(
        run.submitted().json(),
        json!({"model": "gen4_turbo", "promptText": "waves roll onto a beach",
               "promptImage": data_uri(&reference()), "ratio": "1280:720", "duration": 5, "seed": 9})
    );
    let polls = run.calls("GET", TASK_PATH);
    assert!(
        polls.len() >= 3,
        "pending, running, succeeded: {}",
        polls.len()
    );

    // The video's size and duration, as asked.
    let video = &run.view["videos"][0];
    assert_eq!(
        (
            video["width"].as_u64(),
            video["height"].as_u64(),
            video["duration"].as_f64()
        ),
        (Some(1280), Some(720), Some(5.0)),
        "{}",
        run.view
    );
    assert_eq!(run.view["provider_metadata"]["runway_task_id"], TASK);
}

#[test]
fn conformance_error_classes() {
    conformance::error_classes(&Runway);
}

#[test]
fn conformance_timeout() {
    conformance::timeout(&Runway);
}

#[test]
fn conformance_cancel() {
    conformance::cancel(&Runway);
}

#[test]
fn conformance_restart_mid_job() {
    conformance::restart_mid_job(&Runway);
}

#[test]
fn the_model_is_listed_as_an_asynchronous_video_model() {
    let h = Harness::start(&Runway);
    let model = h.gw.get("/v1/models/runway/gen4-turbo").json();
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
    assert!(h.vendor.received().is_empty());
}

#[test]
fn a_video_without_a_reference_image_fails_with_invalid_parameter() {
    let h = Harness::start(&Runway);
    // The gateway holds before the plugin sees the request: the task is
    // accepted, then fails with the plugin's error and is refunded.
    let answer = h.gw.request_with(
        "POST",
        "/v1/videos/generate",
        Some(&h.account.key),
        Some(&json!({"model": "runway/gen4-turbo", "prompt": "a quiet street", "duration": 5})),
    );
    assert_eq!(
        answer.status,
        202,
        "{}",
        String::from_utf8_lossy(&answer.body)
    );
    let id = answer.json()["task_id"].as_str().unwrap().to_string();
    let (view, _) = h.wait_final(&id);
    assert_eq!(view["status"], "failed", "{view}");
    assert_eq!(view["error"]["code"], "INVALID_PARAMETER", "{view}");
    let message = view["error"]["message"].as_str().unwrap();
    assert!(message.contains("needs a reference image"), "{message}");
    assert!(h.vendor.received().is_empty(), "nothing reached Runway");
    assert_eq!(
        view["cost"],
        json!({"held": COST, "charged": 0, "refunded": COST}),
        "{view}"
    );
    imini_tests::assert_refunded(&h.gw, &h.account.id, &id, COST);
    assert_eq!(
        imini_tests::assert_reconciles(&h.gw, &h.account.id),
        (conformance::CREDITS, 0)
    );
}

//! Unit tests of the adapter: the model table, the wire format, the
//! handle, the mapping of prediction statuses and the error classes.

use imini_sdk::upstream::Call;
use imini_sdk::{
    CallMode, ErrorKind, GenerationRequest, JobProgress, JobStatus, MediaData, MediaKind, Provider,
    Size, http,
};
use serde_json::{Value, json};

use crate::Replicate;
use crate::errors::upstream_error;
use crate::models::{ASPECT_RATIOS, FLUX_DEV, FLUX_SCHNELL, Model, aspect_ratio};
use crate::settings::{DEFAULT_BASE_URL, Settings};
use crate::wire::{Handle, job_status, last_percent, request_body};

fn request(model: &str) -> GenerationRequest {
    GenerationRequest {
        model: model.to_string(),
        kind: MediaKind::Image,
        prompt: "a lighthouse".to_string(),
        negative_prompt: None,
        n: 2,
        size: Size::new(1344, 768),
        aspect_ratio: None,
        resolution: None,
        duration_ms: None,
        generate_audio: false,
        seed: Some(42),
        references: Vec::new(),
        extra_params: "{}".to_string(),
    }
}

fn response(status: u16, headers: &[(&str, &str)], body: Value) -> http::Response {
    http::Response::new(status, headers, body.to_string())
}

fn settings() -> Settings {
    Settings::from_config(&json!({})).unwrap()
}

fn model(id: &str) -> &'static Model {
    Model::find(id).unwrap()
}

#[test]
fn models_are_asynchronous_with_fluxs_sizes() {
    let infos = <Replicate as Provider>::models();
    assert_eq!(infos.len(), 2);
    for info in &infos {
        assert_eq!(info.mode, CallMode::Asynchronous);
        assert_eq!((info.max_n, info.supports_seed), (4, true));
        assert_eq!(info.sizes.len(), ASPECT_RATIOS.len());
        assert_eq!(info.aspect_ratios.len(), ASPECT_RATIOS.len());
        let wh = |s: Size| (s.width, s.height);
        assert_eq!(wh(info.default_size), (1024, 1024));
        assert_eq!(
            (wh(info.min_size), wh(info.max_size)),
            ((640, 640), (1536, 1536))
        );
    }
    assert_eq!(infos[0].id, FLUX_SCHNELL);
    assert_eq!(infos[1].id, FLUX_DEV);
}

#[test]
fn the_body_follows_replicates_wire_format() {
    let body = request_body(model(FLUX_SCHNELL), &request(FLUX_SCHNELL)).unwrap();
    assert_eq!(
        body,
        json!({"input": {"prompt": "a lighthouse", "num_outputs": 2, "aspect_ratio": "16:9",
                         "seed": 42, "output_format": "png"}})
    );

    // The caller's aspect ratio wins when Replicate accepts it.
    let mut req = request(FLUX_DEV);
    req.aspect_ratio = Some("9:21".into());
    req.seed = None;
    req.extra_params = json!({"guidance": 3.5, "megapixels": "0.25", "go_fast": null}).to_string();
    let body = request_body(model(FLUX_DEV), &req).unwrap();
    assert_eq!(body["input"]["aspect_ratio"], "9:21");
    assert_eq!(body["input"]["guidance"], 3.5, "guidance is passed through");
    assert!(body["input"].get("seed").is_none());
    assert!(
        body["input"].get("megapixels").is_none(),
        "it would change the size"
    );
    assert!(body["input"].get("go_fast").is_none());
    assert_eq!(aspect_ratio(&req), ("9:21", 640, 1536));

    // One it does not accept: the closest to the resolved size.
    let mut req = request(FLUX_SCHNELL);
    req.aspect_ratio = Some("7:4".into());
    req.size = Size::new(1216, 832);
    assert_eq!(aspect_ratio(&req).0, "3:2");
    req.aspect_ratio = None;
    req.size = Size::new(1000, 1010);
    assert_eq!(aspect_ratio(&req).0, "1:1");

    let mut negative = request(FLUX_SCHNELL);
    negative.negative_prompt = Some("fog".into());
    let e = request_body(model(FLUX_SCHNELL), &negative).unwrap_err();
    assert_eq!(e.kind, ErrorKind::InvalidRequest);
}

#[test]
fn handles_round_trip_and_bare_ids_are_accepted() {
    let handle = Handle {
        id: "gm3qorzdhgbfurvjtvhg6dckhu".into(),
    };
    assert_eq!(Handle::decode(&handle.encode().unwrap()).unwrap(), handle);
    // Byte for byte what earlier versions wrote (running jobs carry it).
    assert_eq!(
        handle.encode().unwrap(),
        r#"{"id":"gm3qorzdhgbfurvjtvhg6dckhu","v":1}"#
    );
    let bare = Handle::decode("gm3qorzdhgbfurvjtvhg6dckhu").unwrap();
    assert_eq!(bare, handle);
    let earlier = r#"{"v":1,"id":"gm3qorzdhgbfurvjtvhg6dckhu","width":1344,"height":768}"#;
    assert_eq!(
        Handle::decode(earlier).unwrap(),
        handle,
        "an earlier version's handle"
    );
    for bad in ["", "{}", "../x", "{\"id\": \"a/b\"}", "{nope"] {
        assert_eq!(
            Handle::decode(bad).unwrap_err().kind,
            ErrorKind::Internal,
            "{bad}"
        );
    }
}

#[test]
fn prediction_statuses_map_to_job_statuses() {
    let handle = Handle { id: "p1".into() };
    let m = model(FLUX_SCHNELL);
    let s = settings();

    let running = job_status(m, &handle, &s, &json!({"status": "starting", "logs": null})).unwrap();
    assert!(matches!(
        running,
        JobStatus::Running(JobProgress {
            percent: None,
            poll_after_ms: Some(1000)
        })
    ));
    let logs = "Using seed: 1\n  0%|          | 0/4 [00:00<?, ?it/s]\n 50%|#####     | 2/4 [00:00<00:00, 3.1it/s]";
    let running = job_status(
        m,
        &handle,
        &s,
        &json!({"status": "processing", "logs": logs}),
    )
    .unwrap();
    assert!(matches!(
        running,
        JobStatus::Running(JobProgress {
            percent: Some(50),
            ..
        })
    ));

    let done = json!({"status": "succeeded", "output": ["https://replicate.delivery/a/out-0.png",
                      "https://replicate.delivery/a/out-1.webp"], "metrics": {"predict_time": 1.2}});
    let JobStatus::Succeeded(result) = job_status(m, &handle, &s, &done).unwrap() else {
        panic!("succeeded")
    };
    assert_eq!(result.outputs.len(), 2);
    assert_eq!(result.outputs[0].mime, "image/png");
    assert_eq!(result.outputs[1].mime, "image/webp");
    assert_eq!(
        (result.outputs[0].width, result.outputs[0].height),
        (0, 0),
        "the size is left for the gateway to read from each image"
    );
    assert!(matches!(&result.outputs[0].data, MediaData::Url(u) if u.ends_with("out-0.png")));
    let metadata: Value = serde_json::from_str(&result.metadata).unwrap();
    assert_eq!(metadata["metrics"]["predict_time"], 1.2);
    assert_eq!(metadata["prediction_id"], "p1");

    // One URL.
    let single = json!({"status": "succeeded", "output": "https://replicate.delivery/b.png",
                        "input": {"aspect_ratio": "4:3"}});
    let JobStatus::Succeeded(result) = job_status(m, &handle, &s, &single).unwrap() else {
        panic!("succeeded")
    };
    assert_eq!(result.outputs.len(), 1);
    assert!(matches!(&result.outputs[0].data, MediaData::Url(u) if u.ends_with("b.png")));

    for unusable in [json!([]), json!([3]), Value::Null] {
        let done = json!({"status": "succeeded", "output": unusable});
        let JobStatus::Failed(e) = job_status(m, &handle, &s, &done).unwrap() else {
            panic!("failed")
        };
        assert_eq!((e.kind, e.retryable), (ErrorKind::Upstream, false));
    }

    let failed = json!({"status": "failed", "error": "CUDA out of memory"});
    let JobStatus::Failed(e) = job_status(m, &handle, &s, &failed).unwrap() else {
        panic!("failed")
    };
    assert_eq!((e.kind, e.retryable), (ErrorKind::Upstream, false));
    assert!(e.message.contains("CUDA out of memory"), "{}", e.message);

    let nsfw = json!({"status": "failed", "error": "All generated images contained NSFW content. Try running it again with a different prompt."});
    let JobStatus::Failed(e) = job_status(m, &handle, &s, &nsfw).unwrap() else {
        panic!("failed")
    };
    assert_eq!(e.kind, ErrorKind::ContentPolicy);

    let canceled = json!({"status": "canceled"});
    assert!(matches!(
        job_status(m, &handle, &s, &canceled).unwrap(),
        JobStatus::Canceled
    ));
    let odd = json!({"status": "aborted"});
    assert!(matches!(
        job_status(m, &handle, &s, &odd).unwrap(),
        JobStatus::Failed(_)
    ));
}

#[test]
fn percentages_come_from_the_last_one_in_the_logs() {
    assert_eq!(last_percent("  0%|\n 25%|##\n100%|####"), Some(100));
    assert_eq!(last_percent("no progress"), None);
    assert_eq!(last_percent("loading 7%"), Some(7));
    assert_eq!(last_percent("1234% nonsense"), None);
    assert_eq!(last_percent("%"), None);
}

#[test]
fn settings_have_defaults_and_accept_a_trailing_v1() {
    let s = settings();
    assert_eq!(s.api.base_url, DEFAULT_BASE_URL);
    assert_eq!((s.api.timeout_ms, s.api.poll_interval_ms), (30_000, 1_000));
    let s = Settings::from_config(
        &json!({"base_url": "http://127.0.0.1:9/v1/", "poll_interval_ms": 50}),
    )
    .unwrap();
    assert_eq!(s.api.base_url, "http://127.0.0.1:9");
    assert_eq!(s.api.poll_interval_ms, 50);
    assert_eq!(s.prediction_url("x"), "http://127.0.0.1:9/v1/predictions/x");
    assert!(Settings::from_config(&json!({"timeout_ms": 0})).is_err());
    assert!(Settings::from_config(&json!({"base_url": 3})).is_err());
}

#[test]
fn errors_are_classified_from_status_and_replicates_body() {
    let problem = |status: u16, title: &str, detail: &str| json!({"detail": detail, "status": status, "title": title});
    let e = upstream_error(
        &response(
            401,
            &[],
            problem(
                401,
                "Unauthenticated",
                "You did not pass a valid authentication token",
            ),
        ),
        Call::Create,
    );
    assert_eq!((e.kind, e.retryable), (ErrorKind::Unauthorized, false));
    assert!(
        e.message.contains("valid authentication token"),
        "{}",
        e.message
    );

    let e = upstream_error(
        &response(
            422,
            &[],
            problem(
                422,
                "Input validation failed",
                "- input.num_outputs: Must be less than or equal to 4",
            ),
        ),
        Call::Create,
    );
    assert_eq!((e.kind, e.retryable), (ErrorKind::InvalidRequest, false));
    assert!(
        e.message.contains("Must be less than or equal to 4"),
        "{}",
        e.message
    );

    let e = upstream_error(
        &response(
            429,
            &[("retry-after", "3")],
            problem(
                429,
                "Request was throttled",
                "Expected available in 3 seconds.",
            ),
        ),
        Call::Create,
    );
    assert_eq!(
        (e.kind, e.retryable, e.retry_after_ms),
        (ErrorKind::RateLimited, true, Some(3_000))
    );

    let e = upstream_error(
        &response(404, &[], problem(404, "Not found", "Not found.")),
        Call::Read,
    );
    assert_eq!((e.kind, e.retryable), (ErrorKind::Upstream, false));

    let e = upstream_error(
        &response(
            402,
            &[],
            problem(402, "Insufficient credit", "You have insufficient credit"),
        ),
        Call::Create,
    );
    assert_eq!((e.kind, e.retryable), (ErrorKind::Upstream, false));

    let e = upstream_error(
        &http::Response {
            status: 502,
            headers: Vec::new(),
            body: b"<html>bad gateway</html>".to_vec(),
        },
        Call::Read,
    );
    assert_eq!((e.kind, e.retryable), (ErrorKind::Upstream, true));
    assert!(e.message.contains("bad gateway"), "{}", e.message);
}

//! Unit tests of the adapter: the model, the wire format, the handle and
//! its URLs, the mapping of queue statuses and results, and the error
//! classes.

use imini_sdk::upstream::Call;
use imini_sdk::{
    CallMode, ErrorKind, GenerationRequest, JobProgress, JobStatus, MediaData, MediaKind, Provider,
    Size, http,
};
use serde_json::{Value, json};

use crate::Fal;
use crate::errors::{result_error, upstream_error};
use crate::models::{FLUX_DEV, Model};
use crate::settings::{DEFAULT_BASE_URL, Settings};
use crate::wire::{Handle, completed, queue_status, request_body};

fn request() -> GenerationRequest {
    GenerationRequest {
        model: FLUX_DEV.to_string(),
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

fn model() -> &'static Model {
    Model::find(FLUX_DEV).unwrap()
}

fn handle() -> Handle {
    Handle {
        id: "764cabcf-b745-4b3e-ae38-1200304cf45b".into(),
        app: "fal-ai/flux/dev".into(),
        size: Some((1344, 768)),
    }
}

#[test]
fn the_model_is_asynchronous_and_takes_any_size() {
    let infos = <Fal as Provider>::models();
    assert_eq!(infos.len(), 1);
    let info = &infos[0];
    assert_eq!(info.id, FLUX_DEV);
    assert_eq!(info.mode, CallMode::Asynchronous);
    assert_eq!((info.max_n, info.supports_seed), (4, true));
    assert!(info.sizes.is_empty());
    assert_eq!(info.resolutions, ["512", "1K", "2K"]);
}

#[test]
fn the_body_follows_fals_wire_format() {
    let mut req = request();
    req.extra_params = json!({"guidance_scale": 4, "enable_safety_checker": false}).to_string();
    let body = request_body(model(), &req).unwrap();
    assert_eq!(
        body,
        json!({"prompt": "a lighthouse", "num_images": 2,
               "image_size": {"width": 1344, "height": 768}, "seed": 42,
               "output_format": "png", "guidance_scale": 4})
    );
    req.negative_prompt = Some("fog".into());
    assert_eq!(
        request_body(model(), &req).unwrap_err().kind,
        ErrorKind::InvalidRequest
    );
}

#[test]
fn handles_round_trip_and_urls_use_the_apps_root() {
    let h = handle();
    assert_eq!(Handle::decode(&h.encode().unwrap(), model()).unwrap(), h);
    // Byte for byte what earlier versions wrote (running jobs carry it).
    let written = r#"{"app":"fal-ai/flux/dev","height":768,"id":"764cabcf-b745-4b3e-ae38-1200304cf45b","v":1,"width":1344}"#;
    assert_eq!(h.encode().unwrap(), written);
    let bare = Handle::decode("764cabcf-b745-4b3e-ae38-1200304cf45b", model()).unwrap();
    assert_eq!((bare.app.as_str(), bare.size), ("fal-ai/flux/dev", None));
    for bad in [
        "",
        "{}",
        "a/b",
        r#"{"id": "x", "app": "fal-ai/../admin"}"#,
        r#"{"id": "x", "app": "solo"}"#,
    ] {
        assert_eq!(
            Handle::decode(bad, model()).unwrap_err().kind,
            ErrorKind::Internal,
            "{bad}"
        );
    }
    let settings = Settings::from_config(&json!({"base_url": "http://127.0.0.1:9/"})).unwrap();
    assert_eq!(
        settings.request_url(&h),
        "http://127.0.0.1:9/fal-ai/flux/requests/764cabcf-b745-4b3e-ae38-1200304cf45b"
    );
    let defaults = Settings::from_config(&json!({})).unwrap();
    assert_eq!(defaults.api.base_url, DEFAULT_BASE_URL);
    assert_eq!(
        (defaults.api.timeout_ms, defaults.api.poll_interval_ms),
        (30_000, 1_000)
    );
    assert!(Settings::from_config(&json!({"poll_interval_ms": -1})).is_err());
}

#[test]
fn queue_statuses_map_to_job_statuses() {
    let s = Settings::from_config(&json!({"poll_interval_ms": 50})).unwrap();
    let h = handle();
    for state in ["IN_QUEUE", "IN_PROGRESS"] {
        let job = queue_status(&h, &s, &json!({"status": state, "queue_position": 2})).unwrap();
        assert!(matches!(
            job,
            Some(JobStatus::Running(JobProgress {
                percent: None,
                poll_after_ms: Some(50)
            }))
        ));
    }
    assert!(
        queue_status(&h, &s, &json!({"status": "COMPLETED", "error": null}))
            .unwrap()
            .is_none()
    );
    let failed =
        json!({"status": "COMPLETED", "error": "NSFW content detected", "error_type": "x"});
    let Some(JobStatus::Failed(e)) = queue_status(&h, &s, &failed).unwrap() else {
        panic!("failed")
    };
    assert_eq!(e.kind, ErrorKind::ContentPolicy);
    assert!(matches!(
        queue_status(&h, &s, &json!({"status": "CANCELLED"})).unwrap(),
        Some(JobStatus::Canceled)
    ));
    assert!(matches!(
        queue_status(&h, &s, &json!({"status": "EXPLODED"})).unwrap(),
        Some(JobStatus::Failed(_))
    ));
    assert!(queue_status(&h, &s, &json!({})).is_err());
}

#[test]
fn results_are_read_and_fully_flagged_results_refused() {
    let result = json!({
        "images": [{"url": "https://v3.fal.media/files/a.png", "width": 1344, "height": 768, "content_type": "image/png"},
                   {"url": "https://v3.fal.media/files/b.jpeg", "content_type": "image/jpeg"}],
        "seed": 42, "has_nsfw_concepts": [false, false], "timings": {"inference": 1.5}, "prompt": "a lighthouse"});
    let out = completed(model(), &handle(), &result).unwrap();
    assert_eq!(out.outputs.len(), 2);
    assert_eq!(out.outputs[1].mime, "image/jpeg");
    assert_eq!(
        (out.outputs[1].width, out.outputs[1].height),
        (1344, 768),
        "the size asked for when fal does not say"
    );
    assert!(matches!(&out.outputs[0].data, MediaData::Url(u) if u.ends_with("a.png")));
    let metadata: Value = serde_json::from_str(&out.metadata).unwrap();
    assert_eq!(metadata["seed"], 42);

    let partly = json!({"images": [{"url": "https://fal.media/1.png"}, {"url": "https://fal.media/2.png"}],
                        "has_nsfw_concepts": [true, false]});
    let out = completed(model(), &handle(), &partly).unwrap();
    assert_eq!(out.outputs.len(), 1, "the blacked-out image is dropped");
    assert!(matches!(&out.outputs[0].data, MediaData::Url(u) if u.ends_with("2.png")));

    let all = json!({"images": [{"url": "https://fal.media/1.png"}], "has_nsfw_concepts": [true]});
    let e = completed(model(), &handle(), &all).unwrap_err();
    assert_eq!((e.kind, e.retryable), (ErrorKind::ContentPolicy, false));

    let e = completed(model(), &handle(), &json!({"images": []})).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Upstream);
}

#[test]
fn errors_are_classified_from_status_and_fals_detail() {
    let e = upstream_error(
        &response(
            401,
            &[],
            json!({"detail": "No user found for Key ID and Secret"}),
        ),
        Call::Create,
    );
    assert_eq!((e.kind, e.retryable), (ErrorKind::Unauthorized, false));
    assert!(e.message.contains("No user found"), "{}", e.message);

    let validation = json!({"detail": [{"loc": ["body", "num_images"], "msg": "ensure this value is less than or equal to 4", "type": "value_error"}]});
    let e = upstream_error(&response(422, &[], validation.clone()), Call::Create);
    assert_eq!(e.kind, ErrorKind::InvalidRequest);
    assert!(
        e.message
            .contains("body.num_images: ensure this value is less than or equal to 4"),
        "{}",
        e.message
    );

    let e = upstream_error(
        &response(
            429,
            &[("retry-after", "4")],
            json!({"detail": "Too many requests"}),
        ),
        Call::Create,
    );
    assert_eq!(
        (e.kind, e.retry_after_ms),
        (ErrorKind::RateLimited, Some(4_000))
    );

    let e = upstream_error(
        &response(404, &[], json!({"detail": "Not found"})),
        Call::Read,
    );
    assert_eq!((e.kind, e.retryable), (ErrorKind::Upstream, false));

    let e = upstream_error(
        &response(400, &[], json!({"status": "ALREADY_COMPLETED"})),
        Call::Cancel,
    );
    assert_eq!((e.kind, e.retryable), (ErrorKind::Upstream, false));

    // A completed request whose result is an error: the job failed.
    let JobStatus::Failed(e) = result_error(&response(422, &[], validation)).unwrap() else {
        panic!("failed")
    };
    assert_eq!(e.kind, ErrorKind::InvalidRequest);
    let JobStatus::Failed(e) = result_error(&response(
        500,
        &[],
        json!({"detail": "Internal Server Error"}),
    ))
    .unwrap() else {
        panic!("failed")
    };
    assert_eq!((e.kind, e.retryable), (ErrorKind::Upstream, false));
    assert!(result_error(&response(429, &[], json!({}))).is_err());
}

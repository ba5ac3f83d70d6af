//! Unit tests of the adapter: the model table, the wire format, the
//! handle, the mapping of task statuses and the error classes.

use imini_sdk::upstream::Call;
use imini_sdk::{
    CallMode, ErrorKind, GenerationRequest, JobProgress, JobStatus, MediaData, MediaKind,
    PluginError, Provider, Reference, Size, http,
};
use serde_json::{Value, json};

use crate::Runway;
use crate::errors::upstream_error;
use crate::models::{GEN4_TURBO, Model, RATIOS, ratio};
use crate::settings::{DEFAULT_BASE_URL, Settings};
use crate::wire::{Handle, job_status, percent, prompt_image, request_body};

fn reference(url: Option<&str>) -> Reference {
    Reference {
        kind: MediaKind::Image,
        role: "reference".to_string(),
        mime: "image/png".to_string(),
        url: url.map(str::to_string),
        data: 7,
    }
}

fn request() -> GenerationRequest {
    GenerationRequest {
        model: GEN4_TURBO.to_string(),
        kind: MediaKind::Video,
        prompt: "waves roll in".to_string(),
        negative_prompt: None,
        n: 1,
        size: Size::new(1280, 720),
        aspect_ratio: None,
        resolution: None,
        duration_ms: Some(10_000),
        generate_audio: false,
        seed: Some(42),
        references: vec![reference(None)],
        extra_params: "{}".to_string(),
    }
}

fn response(status: u16, headers: &[(&str, &str)], body: Value) -> http::Response {
    http::Response::new(status, headers, body.to_string())
}

fn settings() -> Settings {
    Settings::from_config(&json!({})).unwrap()
}

fn model() -> &'static Model {
    Model::find(GEN4_TURBO).unwrap()
}

fn blob(handle: u64) -> Result<Vec<u8>, PluginError> {
    assert_eq!(handle, 7, "the reference's blob is read");
    Ok(b"\x89PNG".to_vec())
}

#[test]
fn the_model_is_an_asynchronous_video_model_with_runways_ratios() {
    let infos = <Runway as Provider>::models();
    assert_eq!(infos.len(), 1);
    let info = &infos[0];
    assert_eq!(info.id, GEN4_TURBO);
    assert_eq!(
        (info.kind, info.mode),
        (MediaKind::Video, CallMode::Asynchronous)
    );
    assert_eq!(info.durations_ms, [5_000, 10_000]);
    assert_eq!(info.sizes.len(), RATIOS.len());
    let wh = |s: Size| (s.width, s.height);
    assert_eq!(wh(info.default_size), (1280, 720));
    assert_eq!(
        (wh(info.min_size), wh(info.max_size)),
        ((720, 672), (1584, 1280))
    );
    assert!(info.supports_seed && info.supports_references);
    assert_eq!(info.max_n, 1);
}

#[test]
fn the_body_follows_runways_wire_format() {
    let image = prompt_image(model(), &request(), blob).unwrap();
    assert_eq!(image, "data:image/png;base64,iVBORw==");
    let (body, size, duration) = request_body(model(), &request(), image).unwrap();
    assert_eq!(
        body,
        json!({"model": "gen4_turbo", "promptText": "waves roll in",
               "promptImage": "data:image/png;base64,iVBORw==", "ratio": "1280:720",
               "duration": 10, "seed": 42})
    );
    assert_eq!(((size.width, size.height), duration), ((1280, 720), 10_000));

    // A public URL is sent as it is, without reading the bytes.
    let mut req = request();
    req.references = vec![reference(Some("https://example.com/cat.png"))];
    let image = prompt_image(model(), &req, |_| panic!("not read")).unwrap();
    assert_eq!(image, "https://example.com/cat.png");

    // No seed, the default length, and the closest ratio to an odd size.
    req.seed = None;
    req.duration_ms = None;
    req.size = Size::new(1000, 1010);
    let (body, size, duration) = request_body(model(), &req, image).unwrap();
    assert!(body.get("seed").is_none());
    assert_eq!(
        (body["ratio"].as_str(), body["duration"].as_u64()),
        (Some("960:960"), Some(5))
    );
    assert_eq!(((size.width, size.height), duration), ((960, 960), 5_000));
    req.size = Size::new(2000, 800);
    assert_eq!((ratio(&req).width, ratio(&req).height), (1584, 672));
}

#[test]
fn requests_runway_cannot_take_are_invalid() {
    let mut req = request();
    req.references.clear();
    let e = prompt_image(model(), &req, blob).unwrap_err();
    assert_eq!(e.kind, ErrorKind::InvalidRequest);
    assert_eq!(e.message, "runway/gen4-turbo needs a reference image");

    let mut req = request();
    req.duration_ms = Some(7_000);
    let e = request_body(model(), &req, String::new()).unwrap_err();
    assert_eq!(e.kind, ErrorKind::InvalidRequest);
    req.duration_ms = Some(5_000);
    req.negative_prompt = Some("fog".into());
    assert!(request_body(model(), &req, String::new()).is_err());
    req.negative_prompt = None;
    req.seed = Some(u64::from(u32::MAX) + 1);
    assert!(request_body(model(), &req, String::new()).is_err());
    assert_eq!(
        Model::find("runway/gen3").err().map(|e| e.kind),
        Some(ErrorKind::UnknownModel)
    );
}

#[test]
fn handles_round_trip_and_bare_ids_are_accepted() {
    let handle = Handle {
        id: "17f20503-6c24-4c16-946b-35dbbce2af2f".into(),
        size: Some((1280, 720)),
        duration_ms: Some(5_000),
    };
    assert_eq!(Handle::decode(&handle.encode().unwrap()).unwrap(), handle);
    // Byte for byte what earlier versions wrote (running jobs carry it).
    assert_eq!(
        handle.encode().unwrap(),
        r#"{"duration_ms":5000,"height":720,"id":"17f20503-6c24-4c16-946b-35dbbce2af2f","v":1,"width":1280}"#
    );
    let bare = Handle::decode("17f20503-6c24-4c16-946b-35dbbce2af2f").unwrap();
    assert_eq!(
        (bare.id.as_str(), bare.size, bare.duration_ms),
        (handle.id.as_str(), None, None)
    );
    for bad in ["", "{}", "../x", "a_b", "{\"id\": \"a/b\"}", "{nope"] {
        assert_eq!(
            Handle::decode(bad).unwrap_err().kind,
            ErrorKind::Internal,
            "{bad}"
        );
    }
}

#[test]
fn task_statuses_map_to_job_statuses() {
    let handle = Handle {
        id: "t1".into(),
        size: Some((720, 1280)),
        duration_ms: Some(10_000),
    };
    let (m, s) = (model(), settings());
    for status in ["PENDING", "THROTTLED"] {
        let running = job_status(m, &handle, &s, &json!({"id": "t1", "status": status})).unwrap();
        assert!(matches!(
            running,
            JobStatus::Running(JobProgress {
                percent: None,
                poll_after_ms: Some(5000)
            })
        ));
    }
    let running = job_status(
        m,
        &handle,
        &s,
        &json!({"status": "RUNNING", "progress": 0.4}),
    )
    .unwrap();
    assert!(matches!(
        running,
        JobStatus::Running(JobProgress {
            percent: Some(40),
            ..
        })
    ));
    assert_eq!((percent(1.7), percent(-1.0), percent(0.555)), (100, 0, 56));

    let done = json!({"id": "t1", "status": "SUCCEEDED", "createdAt": "2024-06-27T19:49:32.334Z",
                      "output": ["https://dnznrvs05pmza.cloudfront.net/a.mp4?_jwt=x"]});
    let JobStatus::Succeeded(result) = job_status(m, &handle, &s, &done).unwrap() else {
        panic!("succeeded")
    };
    let video = &result.outputs[0];
    assert_eq!(
        (video.kind, video.mime.as_str()),
        (MediaKind::Video, "video/mp4")
    );
    assert_eq!(
        (video.width, video.height, video.duration_ms),
        (720, 1280, Some(10_000))
    );
    assert!(matches!(&video.data, MediaData::Url(u) if u.contains("a.mp4")));
    let metadata: Value = serde_json::from_str(&result.metadata).unwrap();
    assert_eq!(metadata["runway_task_id"], "t1");
    assert_eq!(metadata["upstream_model"], "gen4_turbo");

    for unusable in [json!([]), json!([3]), Value::Null] {
        let done = json!({"status": "SUCCEEDED", "output": unusable});
        let JobStatus::Failed(e) = job_status(m, &handle, &s, &done).unwrap() else {
            panic!("failed")
        };
        assert_eq!((e.kind, e.retryable), (ErrorKind::Upstream, false));
    }

    let failed = json!({"status": "FAILED", "failure": "Internal error", "failureCode": "INTERNAL.BAD_OUTPUT"});
    let JobStatus::Failed(e) = job_status(m, &handle, &s, &failed).unwrap() else {
        panic!("failed")
    };
    assert_eq!((e.kind, e.retryable), (ErrorKind::Upstream, false));
    assert!(e.message.contains("Internal error"), "{}", e.message);

    let unsafe_input = json!({"status": "FAILED", "failure": "The input image was flagged",
                              "failureCode": "SAFETY.INPUT.IMAGE"});
    let JobStatus::Failed(e) = job_status(m, &handle, &s, &unsafe_input).unwrap() else {
        panic!("failed")
    };
    assert_eq!((e.kind, e.retryable), (ErrorKind::ContentPolicy, false));

    assert!(matches!(
        job_status(m, &handle, &s, &json!({"status": "CANCELLED"})).unwrap(),
        JobStatus::Canceled
    ));
    assert!(matches!(
        job_status(m, &handle, &s, &json!({"status": "ARCHIVED"})).unwrap(),
        JobStatus::Failed(_)
    ));
    assert!(job_status(m, &handle, &s, &json!({})).is_err());
}

#[test]
fn settings_have_defaults_and_accept_a_trailing_v1() {
    let s = settings();
    assert_eq!(s.api.base_url, DEFAULT_BASE_URL);
    assert_eq!((s.api.timeout_ms, s.api.poll_interval_ms), (30_000, 5_000));
    let s = Settings::from_config(
        &json!({"base_url": "http://127.0.0.1:9/v1/", "poll_interval_ms": 50, "timeout_ms": 900}),
    )
    .unwrap();
    assert_eq!(s.api.base_url, "http://127.0.0.1:9");
    assert_eq!((s.api.timeout_ms, s.api.poll_interval_ms), (900, 50));
    assert_eq!(s.task_url("x"), "http://127.0.0.1:9/v1/tasks/x");
    assert!(Settings::from_config(&json!({"timeout_ms": 0})).is_err());
    assert!(Settings::from_config(&json!({"poll_interval_ms": "fast"})).is_err());
    assert!(Settings::from_config(&json!({"base_url": 3})).is_err());
}

#[test]
fn errors_are_classified_from_status_and_runways_body() {
    let e = upstream_error(
        &response(
            400,
            &[],
            json!({"error": "promptImage: Invalid URL", "docUrl": "https://docs.dev.runwayml.com"}),
        ),
        Call::Create,
    );
    assert_eq!((e.kind, e.retryable), (ErrorKind::InvalidRequest, false));
    assert_eq!(e.message, "Runway answered 400: promptImage: Invalid URL");

    let e = upstream_error(
        &response(401, &[], json!({"error": "Invalid API key"})),
        Call::Create,
    );
    assert_eq!((e.kind, e.retryable), (ErrorKind::Unauthorized, false));
    assert!(e.message.contains("Invalid API key"), "{}", e.message);

    let e = upstream_error(
        &response(
            429,
            &[("retry-after", "3")],
            json!({"error": "Too many requests"}),
        ),
        Call::Create,
    );
    assert_eq!(
        (e.kind, e.retryable, e.retry_after_ms),
        (ErrorKind::RateLimited, true, Some(3_000))
    );

    let e = upstream_error(
        &response(404, &[], json!({"error": "Task not found"})),
        Call::Read,
    );
    assert_eq!((e.kind, e.retryable), (ErrorKind::Upstream, false));
    let e = upstream_error(
        &response(404, &[], json!({"error": "Not found"})),
        Call::Cancel,
    );
    assert_eq!((e.kind, e.retryable), (ErrorKind::Upstream, false));

    let e = upstream_error(
        &response(402, &[], json!({"error": "You do not have enough credits"})),
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

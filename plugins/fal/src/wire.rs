//! fal's wire format: the input that queues a request, the status and
//! result objects `poll` reads into a job status, and the handle the
//! gateway persists between calls.

use imini_sdk::{
    ErrorKind, GenerationRequest, GenerationResult, JobProgress, JobStatus, Media, MediaData,
    PluginError, job,
};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::errors::{describe_detail, failure};
use crate::models::Model;
use crate::settings::Settings;

/// What the gateway persists for a queued request: its id, the app that
/// took it, and the size asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Handle {
    pub(super) id: String,
    pub(super) app: String,
    /// Width and height asked for, used when the result does not say.
    pub(super) size: Option<(u32, u32)>,
}

/// The vendor name handle errors give.
const VENDOR: &str = "fal";
/// The version of the handle's JSON format.
const HANDLE_VERSION: u32 = 1;

/// The handle as JSON: `{"v":1,"id","app","width","height"}`.
#[derive(Serialize, Deserialize)]
struct Stored {
    id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    app: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    width: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    height: Option<u32>,
}

impl Handle {
    pub(super) fn encode(&self) -> Result<String, PluginError> {
        let (width, height) = self.size.unzip();
        let stored = Stored {
            id: self.id.clone(),
            app: Some(self.app.clone()),
            width,
            height,
        };
        job::encode_handle(HANDLE_VERSION, &stored)
    }

    /// Reads a handle: the JSON this plugin writes, or a bare request id
    /// (then of `model`'s app).
    pub(super) fn decode(handle: &str, model: &Model) -> Result<Self, PluginError> {
        let stored = job::decode_handle_or(VENDOR, HANDLE_VERSION, handle, |id| {
            Some(Stored {
                id: id.to_string(),
                app: None,
                width: None,
                height: None,
            })
        })?;
        let parsed = Self {
            id: stored.id,
            app: stored.app.unwrap_or_else(|| model.app.to_string()),
            size: stored.width.zip(stored.height),
        };
        if !valid_id(&parsed.id) || !valid_app(&parsed.app) {
            return Err(job::malformed_handle(VENDOR, handle));
        }
        Ok(parsed)
    }
}

/// Whether `id` can be a request id (a UUID; safe in a URL path).
pub(super) fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 128
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Whether `app` is `owner/alias[/path…]` of safe segments.
fn valid_app(app: &str) -> bool {
    let segments: Vec<&str> = app.split('/').collect();
    segments.len() >= 2
        && segments.iter().all(|s| {
            !s.is_empty()
                && *s != "."
                && *s != ".."
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
        })
}

/// fal's input for `req`.
pub(super) fn request_body(model: &Model, req: &GenerationRequest) -> Result<Value, PluginError> {
    if req.negative_prompt.is_some() {
        return Err(PluginError::invalid_request(format!(
            "{} does not accept negative_prompt; describe what you want in the prompt instead",
            model.id
        )));
    }
    if !req.references.is_empty() {
        return Err(PluginError::invalid_request(format!(
            "{} does not accept reference images",
            model.id
        )));
    }
    let Value::Object(extra) = req.extra_params()? else {
        return Err(PluginError::invalid_request(
            "extra_params must be a JSON object",
        ));
    };
    let mut input = Map::new();
    input.insert("prompt".into(), json!(req.prompt));
    input.insert("num_images".into(), json!(req.n.clamp(1, model.max_n)));
    input.insert(
        "image_size".into(),
        json!({ "width": req.size.width, "height": req.size.height }),
    );
    if let Some(seed) = req.seed {
        input.insert("seed".into(), json!(seed));
    }
    input.insert("output_format".into(), json!("png"));
    for key in model.passthrough {
        if let Some(value) = extra.get(*key).filter(|v| !v.is_null()) {
            input.insert((*key).to_string(), value.clone());
        }
    }
    Ok(Value::Object(input))
}

/// Where a queued request stands from fal's status object; `None` once it
/// completed (the result is then fetched).
pub(super) fn queue_status(
    handle: &Handle,
    settings: &Settings,
    status: &Value,
) -> Result<Option<JobStatus>, PluginError> {
    let state = status
        .get("status")
        .and_then(Value::as_str)
        .ok_or_else(|| PluginError::upstream("fal's status has no status"))?;
    let running = || {
        Ok(Some(JobStatus::Running(JobProgress {
            percent: None,
            poll_after_ms: Some(settings.api.poll_interval_ms),
        })))
    };
    match state {
        "IN_QUEUE" | "IN_PROGRESS" => running(),
        "COMPLETED" => match status.get("error").filter(|e| !e.is_null()) {
            // Recent queue versions report a failure on the status itself.
            Some(error) => Ok(Some(JobStatus::Failed(failure(
                &describe_detail(error),
                status.get("error_type").and_then(Value::as_str),
            )))),
            None => Ok(None),
        },
        "CANCELLED" | "CANCELED" => Ok(Some(JobStatus::Canceled)),
        other => Ok(Some(JobStatus::Failed(
            PluginError::upstream(format!(
                "fal's request {} is in an unknown state {other:?}",
                handle.id
            ))
            .retryable(false),
        ))),
    }
}

/// The outputs of a completed request: `{"images": [{"url", "width",
/// "height", "content_type"}], "seed", "has_nsfw_concepts", "timings"}`.
pub(super) fn completed(
    model: &Model,
    handle: &Handle,
    result: &Value,
) -> Result<GenerationResult, PluginError> {
    let images = result
        .get("images")
        .and_then(Value::as_array)
        .ok_or_else(|| PluginError::upstream("fal's result has no images list"))?;
    if images.is_empty() {
        return Err(PluginError::upstream(format!(
            "fal's request {} returned no images",
            handle.id
        ))
        .retryable(false));
    }
    let flags: Vec<bool> = result
        .get("has_nsfw_concepts")
        .and_then(Value::as_array)
        .map(|a| a.iter().map(|f| f.as_bool().unwrap_or(false)).collect())
        .unwrap_or_default();
    let flagged = |i: usize| flags.get(i).copied().unwrap_or(false);
    if (0..images.len()).all(flagged) {
        // fal's safety checker blacked every image out.
        return Err(PluginError::new(
            ErrorKind::ContentPolicy,
            format!(
                "fal's safety checker flagged every image of request {}",
                handle.id
            ),
        )
        .retryable(false));
    }
    let (asked_w, asked_h) = handle.size.unwrap_or((0, 0));
    let mut outputs = Vec::new();
    for (i, image) in images.iter().enumerate() {
        if flagged(i) {
            continue;
        }
        let url = image
            .get("url")
            .and_then(Value::as_str)
            .filter(|u| !u.is_empty())
            .ok_or_else(|| PluginError::upstream(format!("fal's image {i} has no url")))?;
        let dim = |k: &str, fallback: u32| {
            image
                .get(k)
                .and_then(Value::as_u64)
                .and_then(|d| u32::try_from(d).ok())
                .unwrap_or(fallback)
        };
        let mime = image
            .get("content_type")
            .and_then(Value::as_str)
            .filter(|m| m.starts_with("image/"))
            .unwrap_or("image/png");
        outputs.push(Media::image(
            mime,
            dim("width", asked_w),
            dim("height", asked_h),
            MediaData::Url(url.to_string()),
        ));
    }

    let mut metadata = Map::new();
    metadata.insert("upstream_app".into(), json!(model.app));
    metadata.insert("request_id".into(), json!(handle.id));
    for key in ["seed", "timings", "has_nsfw_concepts"] {
        if let Some(v) = result.get(key).filter(|v| !v.is_null()) {
            metadata.insert(key.to_string(), v.clone());
        }
    }
    Ok(GenerationResult {
        outputs,
        metadata: Value::Object(metadata).to_string(),
    })
}

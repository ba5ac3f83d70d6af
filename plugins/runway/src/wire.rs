//! Runway's wire format: the body that starts a task, the task object
//! `poll` reads into a job status, and the handle the gateway persists
//! between calls.

use imini_sdk::{
    Blob, GenerationRequest, GenerationResult, JobProgress, JobStatus, Media, MediaData, MediaKind,
    PluginError, Size, job,
};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::errors::failure;
use crate::models::{DURATIONS_MS, Model, ratio, ratio_name};
use crate::settings::Settings;

/// What the gateway persists for a task: its id, and the size and length
/// its outputs have (Runway's answers do not say).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Handle {
    pub(super) id: String,
    /// Width and height of the outputs.
    pub(super) size: Option<(u32, u32)>,
    /// Length of the outputs.
    pub(super) duration_ms: Option<u32>,
}

/// The vendor name handle errors give.
const VENDOR: &str = "Runway";
/// The version of the handle's JSON format.
const HANDLE_VERSION: u32 = 1;

/// The handle as JSON: `{"v":1,"id","width","height","duration_ms"}`.
#[derive(Serialize, Deserialize)]
struct Stored {
    id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    width: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    height: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    duration_ms: Option<u32>,
}

impl Handle {
    pub(super) fn encode(&self) -> Result<String, PluginError> {
        let (width, height) = self.size.unzip();
        let stored = Stored {
            id: self.id.clone(),
            width,
            height,
            duration_ms: self.duration_ms,
        };
        job::encode_handle(HANDLE_VERSION, &stored)
    }

    /// Reads a handle: the JSON this plugin writes, or a bare task id.
    pub(super) fn decode(handle: &str) -> Result<Self, PluginError> {
        let stored = job::decode_handle_or(VENDOR, HANDLE_VERSION, handle, |id| {
            Some(Stored {
                id: id.to_string(),
                width: None,
                height: None,
                duration_ms: None,
            })
        })?;
        if !valid_id(&stored.id) {
            return Err(job::malformed_handle(VENDOR, handle));
        }
        Ok(Self {
            id: stored.id,
            size: stored.width.zip(stored.height),
            duration_ms: stored.duration_ms,
        })
    }
}

/// Whether `id` can be a task id (a UUID; safe in a URL path).
pub(super) fn valid_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 128 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

/// The prompt image Runway reads: the first reference image's public URL,
/// or else its bytes (read with `read`) as a base64 data URI.
pub(super) fn prompt_image(
    model: &Model,
    req: &GenerationRequest,
    read: impl FnOnce(Blob) -> Result<Vec<u8>, PluginError>,
) -> Result<String, PluginError> {
    let reference = req
        .references
        .iter()
        .find(|r| r.kind == MediaKind::Image)
        .ok_or_else(|| {
            PluginError::invalid_request(format!("{} needs a reference image", model.id))
        })?;
    if let Some(url) = reference.url.as_deref().filter(|u| u.starts_with("http")) {
        return Ok(url.to_string());
    }
    let bytes = read(reference.data)?;
    let mime = if reference.mime.trim().is_empty() {
        "image/png"
    } else {
        reference.mime.trim()
    };
    Ok(imini_sdk::media::data_url(mime, &bytes))
}

/// Runway's request body for `req` with `image` as the prompt image, the
/// ratio (output size) and the length asked for.
pub(super) fn request_body(
    model: &Model,
    req: &GenerationRequest,
    image: String,
) -> Result<(Value, Size, u32), PluginError> {
    if req.negative_prompt.is_some() {
        return Err(PluginError::invalid_request(format!(
            "{} does not accept negative_prompt; describe what you want in the prompt instead",
            model.id
        )));
    }
    let duration_ms = req.duration_ms.unwrap_or(DURATIONS_MS[0]);
    if !DURATIONS_MS.contains(&duration_ms) {
        return Err(PluginError::invalid_request(format!(
            "{} makes videos of 5 or 10 seconds, not {} ms",
            model.id, duration_ms
        )));
    }
    let size = ratio(req);
    let mut body = Map::new();
    body.insert("model".into(), json!(model.upstream));
    body.insert("promptText".into(), json!(req.prompt));
    body.insert("promptImage".into(), json!(image));
    body.insert("ratio".into(), json!(ratio_name(size)));
    body.insert("duration".into(), json!(duration_ms / 1000));
    if let Some(seed) = req.seed {
        // Runway takes seeds from 0 to 4294967295.
        let seed = u32::try_from(seed).map_err(|_| {
            PluginError::invalid_request(format!("{} takes seeds up to 4294967295", model.id))
        })?;
        body.insert("seed".into(), json!(seed));
    }
    Ok((Value::Object(body), size, duration_ms))
}

/// Where a task stands, from Runway's task object.
pub(super) fn job_status(
    model: &Model,
    handle: &Handle,
    settings: &Settings,
    task: &Value,
) -> Result<JobStatus, PluginError> {
    let status = task
        .get("status")
        .and_then(Value::as_str)
        .ok_or_else(|| PluginError::upstream("Runway's task has no status"))?;
    match status {
        "PENDING" | "THROTTLED" | "RUNNING" => Ok(JobStatus::Running(JobProgress {
            percent: task.get("progress").and_then(Value::as_f64).map(percent),
            poll_after_ms: Some(settings.api.poll_interval_ms),
        })),
        // The task is over: an answer that cannot be used ends it.
        "SUCCEEDED" => Ok(match succeeded(model, handle, task) {
            Ok(result) => JobStatus::Succeeded(result),
            Err(e) => JobStatus::Failed(e.retryable(false)),
        }),
        "FAILED" => Ok(JobStatus::Failed(failure(task))),
        "CANCELLED" => Ok(JobStatus::Canceled),
        other => Ok(JobStatus::Failed(
            PluginError::upstream(format!(
                "Runway's task {} is in an unknown status {other:?}",
                handle.id
            ))
            .retryable(false),
        )),
    }
}

/// Runway's progress (0 to 1) as a percentage.
pub(super) fn percent(progress: f64) -> u8 {
    (progress.clamp(0.0, 1.0) * 100.0).round() as u8
}

/// The outputs of a succeeded task: `output` is a list of video URLs.
fn succeeded(
    model: &Model,
    handle: &Handle,
    task: &Value,
) -> Result<GenerationResult, PluginError> {
    let urls: Vec<&str> = match task.get("output") {
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| {
                item.as_str().ok_or_else(|| {
                    PluginError::upstream(format!(
                        "Runway's task {} has an output that is not a URL: {item}",
                        handle.id
                    ))
                })
            })
            .collect::<Result<_, _>>()?,
        Some(Value::String(url)) => vec![url.as_str()],
        _ => Vec::new(),
    };
    if urls.is_empty() {
        return Err(PluginError::upstream(format!(
            "Runway's task {} succeeded with no output",
            handle.id
        )));
    }
    let (width, height) = handle.size.unwrap_or((0, 0));
    let duration_ms = handle.duration_ms.unwrap_or(DURATIONS_MS[0]);
    let outputs = urls
        .into_iter()
        .map(|url| {
            Media::video(
                "video/mp4",
                width,
                height,
                duration_ms,
                MediaData::Url(url.to_string()),
            )
        })
        .collect();

    let mut metadata = Map::new();
    metadata.insert("upstream_model".into(), json!(model.upstream));
    metadata.insert("runway_task_id".into(), json!(handle.id));
    if let Some(created) = task.get("createdAt").filter(|v| !v.is_null()) {
        metadata.insert("created_at".into(), created.clone());
    }
    Ok(GenerationResult {
        outputs,
        metadata: Value::Object(metadata).to_string(),
    })
}

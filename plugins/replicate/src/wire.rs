//! Replicate's wire format: the body that creates a prediction, the
//! prediction object `poll` reads into a job status, and the handle the
//! gateway persists between calls.

use imini_sdk::{
    GenerationRequest, GenerationResult, JobProgress, JobStatus, Media, MediaData, PluginError, job,
};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::errors::{error_text, failure};
use crate::models::{Model, aspect_ratio};
use crate::settings::Settings;

/// What the gateway persists for a prediction: its id, as
/// `{"v":1,"id":…}` (earlier versions also wrote the size asked for, which
/// is not needed and ignored).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct Handle {
    pub(super) id: String,
}

/// The vendor name handle errors give.
const VENDOR: &str = "Replicate";
/// The version of the handle's JSON format.
const HANDLE_VERSION: u32 = 1;

impl Handle {
    pub(super) fn encode(&self) -> Result<String, PluginError> {
        job::encode_handle(HANDLE_VERSION, self)
    }

    /// Reads a handle: the JSON this plugin writes, or a bare prediction id.
    pub(super) fn decode(handle: &str) -> Result<Self, PluginError> {
        let parsed = job::decode_handle_or(VENDOR, HANDLE_VERSION, handle, |id| {
            Some(Self { id: id.to_string() })
        })?;
        if !valid_id(&parsed.id) {
            return Err(job::malformed_handle(VENDOR, handle));
        }
        Ok(parsed)
    }
}

/// Whether `id` can be a prediction id (and is safe in a URL path).
pub(super) fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 128
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Replicate's request body for `req` (`{"input": {…}}`), and the size the
/// outputs will have.
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
    let (ratio, _, _) = aspect_ratio(req);

    let mut input = Map::new();
    input.insert("prompt".into(), json!(req.prompt));
    input.insert("num_outputs".into(), json!(req.n.clamp(1, model.max_n)));
    input.insert("aspect_ratio".into(), json!(ratio));
    if let Some(seed) = req.seed {
        input.insert("seed".into(), json!(seed));
    }
    input.insert("output_format".into(), json!("png"));
    for key in model.passthrough {
        if let Some(value) = extra.get(*key).filter(|v| !v.is_null()) {
            input.insert((*key).to_string(), value.clone());
        }
    }
    Ok(json!({ "input": input }))
}

/// Where a prediction stands, from Replicate's prediction object.
pub(super) fn job_status(
    model: &Model,
    handle: &Handle,
    settings: &Settings,
    prediction: &Value,
) -> Result<JobStatus, PluginError> {
    let status = prediction
        .get("status")
        .and_then(Value::as_str)
        .ok_or_else(|| PluginError::upstream("Replicate's prediction has no status"))?;
    match status {
        "starting" | "processing" => Ok(JobStatus::Running(JobProgress {
            percent: prediction
                .get("logs")
                .and_then(Value::as_str)
                .and_then(last_percent),
            poll_after_ms: Some(settings.api.poll_interval_ms),
        })),
        // The prediction is over: an answer that cannot be used ends it.
        "succeeded" => Ok(match succeeded(model, handle, prediction) {
            Ok(result) => JobStatus::Succeeded(result),
            Err(e) => JobStatus::Failed(e.retryable(false)),
        }),
        "failed" => Ok(JobStatus::Failed(failure(prediction))),
        "canceled" => Ok(JobStatus::Canceled),
        other => Ok(JobStatus::Failed(
            PluginError::upstream(format!(
                "Replicate's prediction {} ended as {other:?}: {}",
                handle.id,
                error_text(prediction).unwrap_or("(no error message)")
            ))
            .retryable(false),
        )),
    }
}

/// The outputs of a succeeded prediction: `output` is one URL or a list.
fn succeeded(
    model: &Model,
    handle: &Handle,
    prediction: &Value,
) -> Result<GenerationResult, PluginError> {
    let urls: Vec<&str> = match prediction.get("output") {
        Some(Value::String(url)) => vec![url.as_str()],
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| {
                item.as_str().ok_or_else(|| {
                    PluginError::upstream(format!(
                        "Replicate's prediction {} has an output that is not a URL: {item}",
                        handle.id
                    ))
                })
            })
            .collect::<Result<_, _>>()?,
        _ => Vec::new(),
    };
    if urls.is_empty() {
        return Err(PluginError::upstream(format!(
            "Replicate's prediction {} succeeded with no output",
            handle.id
        ))
        .retryable(false));
    }
    // Replicate does not say the outputs' size: 0 x 0 lets the gateway read
    // it from each image.
    let outputs = urls
        .into_iter()
        .map(|url| Media::image(mime_of_url(url), 0, 0, MediaData::Url(url.to_string())))
        .collect();

    let mut metadata = Map::new();
    metadata.insert("upstream_model".into(), json!(model.upstream));
    metadata.insert("prediction_id".into(), json!(handle.id));
    for key in ["version", "metrics", "created_at", "completed_at"] {
        if let Some(v) = prediction.get(key).filter(|v| !v.is_null()) {
            metadata.insert(key.to_string(), v.clone());
        }
    }
    Ok(GenerationResult {
        outputs,
        metadata: Value::Object(metadata).to_string(),
    })
}

/// The last percentage in a prediction's logs (`" 50%|█████     | 2/4"`).
pub(super) fn last_percent(logs: &str) -> Option<u8> {
    let bytes = logs.as_bytes();
    bytes
        .iter()
        .enumerate()
        .rev()
        .filter(|(_, b)| **b == b'%')
        .find_map(|(i, _)| {
            let start = bytes[..i]
                .iter()
                .rposition(|b| !b.is_ascii_digit())
                .map_or(0, |p| p + 1);
            let digits = &logs[start..i];
            if digits.is_empty() || digits.len() > 3 {
                return None;
            }
            digits.parse::<u8>().ok().filter(|p| *p <= 100)
        })
}

/// The image type an output URL names; png (what the plugin asks) otherwise.
fn mime_of_url(url: &str) -> &'static str {
    let path = url.split(['?', '#']).next().unwrap_or(url);
    match path
        .rsplit_once('.')
        .map(|(_, ext)| ext.to_ascii_lowercase())
    {
        Some(ext) if ext == "jpg" || ext == "jpeg" => "image/jpeg",
        Some(ext) if ext == "webp" => "image/webp",
        _ => "image/png",
    }
}

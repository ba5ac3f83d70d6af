//! Image generation: the native task API and the OpenAI-compatible face.

use std::time::Duration;

use axum::Extension;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::error::{ApiError, ErrorCode};
use super::extract::{
    JsonBody, MultipartForm, PathParams, QueryParams, form_value, list_response, multipart_error,
    next_field, page_limit, parse_json,
};
use super::generate::{Generation, submit};
use super::idempotency::ReservedTaskId;
use super::references::RefInput;
use super::{AppState, RequestId};
use crate::auth::Principal;
use crate::catalogue::SizeRequest;
use crate::plugins::bindings::types::MediaKind;
use crate::tasks::{Status, Task};
use crate::time::unix_seconds;

/// `POST /v1/images/generate` (native).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NativeImageRequest {
    /// Default: `server.default_image_model`.
    model: Option<String>,
    prompt: String,
    negative_prompt: Option<String>,
    n: Option<u32>,
    size: Option<String>,
    aspect_ratio: Option<String>,
    resolution: Option<String>,
    seed: Option<u64>,
    #[serde(default)]
    images: Vec<RefInput>,
    #[serde(default)]
    extra_params: Map<String, Value>,
    webhook_url: Option<String>,
}

/// `POST /v1/images/generations` (OpenAI), plus the native fields an SDK
/// sends through `extra_body`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpenAiImageRequest {
    model: Option<String>,
    prompt: String,
    n: Option<u32>,
    size: Option<String>,
    quality: Option<String>,
    style: Option<String>,
    background: Option<String>,
    moderation: Option<String>,
    output_format: Option<String>,
    output_compression: Option<u8>,
    response_format: Option<String>,
    user: Option<String>,
    stream: Option<bool>,
    partial_images: Option<u32>,
    negative_prompt: Option<String>,
    aspect_ratio: Option<String>,
    resolution: Option<String>,
    seed: Option<u64>,
    /// Edits: how closely to follow the input image (passed to the
    /// provider as a parameter it may honour).
    input_fidelity: Option<String>,
    #[serde(default)]
    extra_params: Map<String, Value>,
}

/// `POST /v1/images/generate`: answers 202 with the task.
pub async fn native_generate(
    State(state): State<AppState>,
    who: Principal,
    Extension(RequestId(request_id)): Extension<RequestId>,
    reserved: Option<Extension<ReservedTaskId>>,
    JsonBody(body): JsonBody<NativeImageRequest>,
) -> Result<Response, ApiError> {
    let model = body
        .model
        .unwrap_or_else(|| state.config.server.default_image_model.clone());
    let (task, price) = submit(
        &state,
        &who,
        &request_id,
        Generation {
            kind: MediaKind::Image,
            duration_secs: None,
            generate_audio: false,
            reserved: reserved.as_ref().map(|r| &r.0),
            model: &model,
            prompt: &body.prompt,
            negative_prompt: body.negative_prompt.as_deref(),
            n: body.n,
            size: SizeRequest {
                size: body.size.as_deref(),
                aspect_ratio: body.aspect_ratio.as_deref(),
                resolution: body.resolution.as_deref(),
            },
            seed: body.seed,
            extra_params: body.extra_params,
            webhook_url: body.webhook_url,
            references: (&body.images, "images"),
            synchronous: false,
        },
    )
    .await?;
    Ok(super::generate::accepted(&task, &request_id, price))
}

/// `POST /v1/images/generations`: waits for the task and answers in OpenAI's
/// shape.
pub async fn openai_generations(
    State(state): State<AppState>,
    call: OpenAiCall,
    JsonBody(body): JsonBody<OpenAiImageRequest>,
) -> Result<Response, ApiError> {
    openai_images(&state, call, body, &[]).await
}

/// `POST /v1/images/edits` (OpenAI): a multipart form with the image to
/// edit as `image` (or `image[]`, several), an optional `mask` (a PNG,
/// transparent where the image is to change) and the fields of a
/// generation. The files reach the plugin as reference media (roles
/// `image` and `mask`), checked by the policies with the prompt; the answer
/// is that of `/v1/images/generations`.
pub async fn openai_edits(
    State(state): State<AppState>,
    call: OpenAiCall,
    MultipartForm(mut form): MultipartForm,
) -> Result<Response, ApiError> {
    let mut fields = Map::new();
    let mut references = Vec::new();
    let mut mask = None;
    while let Some(field) = next_field(&state, &mut form, "body").await? {
        let name = field.name().unwrap_or_default().to_string();
        match name.as_str() {
            "image" | "image[]" | "mask" => {
                let bytes = field
                    .bytes()
                    .await
                    .map_err(|e| multipart_error(&state, &name, e))?;
                if name == "mask" {
                    if mask.is_some() {
                        return Err(ApiError::invalid("mask", "send one mask"));
                    }
                    mask = Some(RefInput::upload(bytes, "mask"));
                } else {
                    references.push(RefInput::upload(bytes, "image"));
                }
            }
            _ => {
                let text = field
                    .text()
                    .await
                    .map_err(|e| multipart_error(&state, &name, e))?;
                fields.insert(name.clone(), form_value(&name, text)?);
            }
        }
    }
    if references.is_empty() {
        return Err(ApiError::invalid(
            "image",
            "the form has no image to edit: send it as a file field `image` (or `image[]`)",
        ));
    }
    let body: OpenAiImageRequest = parse_json(Value::Object(fields).to_string().as_bytes())?;
    references.extend(mask);
    openai_images(&state, call, body, &references).await
}

/// Who asks, for an OpenAI images call: the caller, the request id, the
/// task id an idempotent request reserved, and the headers (for the
/// public base of the URLs answered).
pub struct OpenAiCall {
    who: Principal,
    request_id: String,
    reserved: Option<ReservedTaskId>,
    headers: HeaderMap,
}

impl axum::extract::FromRequestParts<AppState> for OpenAiCall {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &AppState,
    ) -> Result<Self, ApiError> {
        let who = Principal::from_request_parts(parts, state).await?;
        Ok(Self {
            who,
            request_id: parts
                .extensions
                .get::<RequestId>()
                .map(|r| r.0.clone())
                .unwrap_or_default(),
            reserved: parts.extensions.get::<ReservedTaskId>().cloned(),
            headers: parts.headers.clone(),
        })
    }
}

/// Runs an OpenAI images request (a generation, or an edit of
/// `references`), waiting for the task, and answers in OpenAI's shape.
async fn openai_images(
    state: &AppState,
    call: OpenAiCall,
    body: OpenAiImageRequest,
    references: &[RefInput],
) -> Result<Response, ApiError> {
    let OpenAiCall {
        who,
        request_id,
        reserved,
        headers,
    } = call;
    if body.stream == Some(true) || body.partial_images.is_some_and(|p| p > 0) {
        return Err(ApiError::unsupported(
            "stream",
            "streaming is not supported yet; omit stream",
        ));
    }
    if let Some(format) = body.output_format.as_deref().filter(|f| *f != "png") {
        return Err(ApiError::unsupported(
            "output_format",
            format!("output_format {format:?} is not supported; use png"),
        ));
    }
    let b64 = match body.response_format.as_deref() {
        None | Some("url") => false,
        Some("b64_json") => true,
        Some(other) => {
            return Err(ApiError::invalid(
                "response_format",
                format!("response_format must be url or b64_json, not {other:?}"),
            ));
        }
    };
    // OpenAI's quality, style, background and moderation reach the provider
    // as parameters it may honour.
    let mut extra = body.extra_params;
    for (key, value) in [
        ("quality", body.quality),
        ("style", body.style),
        ("background", body.background),
        ("moderation", body.moderation),
        ("user", body.user),
        ("input_fidelity", body.input_fidelity),
    ] {
        if let Some(v) = value {
            extra.entry(key).or_insert(Value::String(v));
        }
    }
    if let Some(c) = body.output_compression {
        extra.entry("output_compression").or_insert(json!(c));
    }
    let model = body
        .model
        .unwrap_or_else(|| state.config.server.default_image_model.clone());
    let (task, _) = submit(
        state,
        &who,
        &request_id,
        Generation {
            kind: MediaKind::Image,
            duration_secs: None,
            generate_audio: false,
            reserved: reserved.as_ref(),
            model: &model,
            prompt: &body.prompt,
            negative_prompt: body.negative_prompt.as_deref(),
            n: body.n,
            size: SizeRequest {
                size: body.size.as_deref(),
                aspect_ratio: body.aspect_ratio.as_deref(),
                resolution: body.resolution.as_deref(),
            },
            seed: body.seed,
            extra_params: extra,
            webhook_url: None,
            references: (references, "image"),
            synchronous: true,
        },
    )
    .await?;
    let wait = Duration::from_secs(state.config.server.sync_wait_secs);
    let task = state.tasks.wait(&task.id, wait).await?.unwrap_or(task);
    match task.status {
        Status::Succeeded => {}
        Status::Failed | Status::Canceled => {
            let e = task.error.unwrap_or_else(|| crate::tasks::TaskError {
                code: ErrorCode::UpstreamError.to_string(),
                message: "the task did not finish".into(),
            });
            // Stored as text; a code this version does not know (written by
            // another version) is the provider's failure.
            let code = ErrorCode::from_wire(&e.code).unwrap_or(ErrorCode::UpstreamError);
            return Err(ApiError::new(code, e.message).with_task(&task.id));
        }
        Status::Queued | Status::Processing => {
            // The task id is given out now: the task must outlive a crash.
            state.tasks.detach(&task).await?;
            return Err(ApiError::new(
                ErrorCode::UpstreamTimeout,
                format!(
                    "the image is not ready after {}s; poll GET /v1/tasks/{}",
                    wait.as_secs(),
                    task.id
                ),
            )
            .with_task(&task.id));
        }
    }
    let base = super::files::public_base(state, &headers);
    let expires = crate::time::now_unix() + state.config.server.signed_url_ttl_secs as i64;
    let mut data = Vec::new();
    for output in &task.outputs {
        if b64 {
            let record = state
                .media
                .record(&output.file_id)
                .await?
                .ok_or_else(ApiError::internal)?;
            data.push(ImageData::Bytes(state.media.read(&record).await?.into()));
        } else {
            let query = state.signer.sign(&output.file_id, expires);
            data.push(ImageData::Url(format!(
                "{base}/v1/files/{}/content?{query}",
                output.file_id
            )));
        }
    }
    let (w, h) = (task.request.width, task.request.height);
    let body = images_answer(
        unix_seconds(&task.created_at),
        &task.id,
        &format!("{w}x{h}"),
        &data,
    );
    Ok((
        [(
            axum::http::header::CONTENT_TYPE,
            axum::http::HeaderValue::from_static("application/json"),
        )],
        body,
    )
        .into_response())
}

/// One image of an OpenAI images answer.
pub enum ImageData {
    /// Sent as `b64_json`.
    Bytes(bytes::Bytes),
    /// Sent as `url`.
    Url(String),
}

/// The body of an OpenAI images answer. Base64 needs no JSON escaping, so
/// images are encoded straight into the body rather than built as a string
/// that serde then scans and copies again (a 1024x1024 PNG is about 1.4 MB
/// of base64).
pub fn images_answer(created: i64, id: &str, size: &str, data: &[ImageData]) -> Vec<u8> {
    let b64_len: usize = data
        .iter()
        .map(|d| match d {
            ImageData::Bytes(b) => b.len().div_ceil(3) * 4,
            ImageData::Url(u) => u.len(),
        })
        .sum();
    let mut body = String::with_capacity(b64_len + 128 + 32 * data.len());
    let text = |s: &str| serde_json::to_string(s).expect("a string serialises");
    body.push_str(&format!("{{\"created\":{created},\"data\":["));
    for (i, d) in data.iter().enumerate() {
        if i > 0 {
            body.push(',');
        }
        match d {
            ImageData::Bytes(bytes) => {
                body.push_str("{\"b64_json\":\"");
                base64::engine::general_purpose::STANDARD.encode_string(bytes, &mut body);
                body.push_str("\"}");
            }
            ImageData::Url(url) => body.push_str(&format!("{{\"url\":{}}}", text(url))),
        }
    }
    body.push_str(&format!(
        "],\"id\":{},\"size\":{},\"output_format\":\"png\"}}",
        text(id),
        text(size)
    ));
    body.into_bytes()
}

/// `GET /v1/images/tasks/{task_id}`.
pub async fn get_image_task(
    state: State<AppState>,
    who: Principal,
    id: PathParams<String>,
) -> Result<Response, ApiError> {
    task_view(state, who, id, Some("image")).await
}

/// `GET /v1/tasks/{task_id}`.
pub async fn get_task(
    state: State<AppState>,
    who: Principal,
    id: PathParams<String>,
) -> Result<Response, ApiError> {
    task_view(state, who, id, None).await
}

pub(super) async fn task_view(
    State(state): State<AppState>,
    who: Principal,
    PathParams(id): PathParams<String>,
    kind: Option<&str>,
) -> Result<Response, ApiError> {
    let not_found =
        || ApiError::new(ErrorCode::TaskNotFound, format!("no task {id:?}")).with_param("task_id");
    if !crate::ids::is_valid("task", &id) {
        return Err(not_found());
    }
    let task = state
        .tasks
        .get(&id, &who.owner)
        .await?
        .filter(|t| kind.is_none_or(|k| t.kind == k))
        .ok_or_else(not_found)?;
    Ok(axum::Json(task_json(&state, &task).await?).into_response())
}

/// Query of `GET /v1/tasks`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    status: Option<crate::tasks::Status>,
    #[serde(rename = "type")]
    kind: Option<String>,
    model: Option<String>,
    limit: Option<usize>,
    after: Option<String>,
}

/// `GET /v1/tasks`: the caller's tasks, newest first, cursor-paginated.
pub async fn list_tasks(
    State(state): State<AppState>,
    who: Principal,
    QueryParams(q): QueryParams<ListQuery>,
) -> Result<Response, ApiError> {
    let limit = page_limit(q.limit, q.after.as_deref(), 20, 100, "task")?;
    let filter = crate::tasks::TaskFilter {
        status: q.status,
        kind: q.kind,
        model: q.model,
    };
    let (tasks, has_more) = state
        .tasks
        .list(&who.owner, &filter, limit, q.after.as_deref())
        .await?;
    let mut data = Vec::with_capacity(tasks.len());
    for task in &tasks {
        data.push(task_json(&state, task).await?);
    }
    Ok(list_response(
        data,
        has_more,
        tasks.last().map(|t| t.id.clone()),
    ))
}

/// The native JSON view of a task.
pub(super) async fn task_json(state: &AppState, task: &Task) -> Result<Value, ApiError> {
    let outputs: Vec<Value> = task
        .outputs
        .iter()
        .map(|o| {
            let mut v = json!({ "url": format!("/v1/files/{}/content", o.file_id), "file_id": o.file_id, "mime_type": o.mime, "width": o.width, "height": o.height });
            if let Some(ms) = o.duration_ms {
                v["duration"] = json!(f64::from(ms) / 1000.0);
            }
            if let Some(text) = &o.text {
                v["text"] = json!(text);
            }
            v
        })
        .collect();
    let mut view = json!({
        "task_id": task.id,
        "type": task.kind,
        "model": task.model,
        "status": task.status,
        "progress": task.progress,
        "created_at": task.created_at,
        "completed_at": task.completed_at,
        "error": task.error.as_ref().map(|e| json!({ "code": e.code, "message": e.message })),
        "request_id": task.request_id,
        "purged": task.purged,
        "provider_metadata": task.metadata.as_deref().and_then(|m| serde_json::from_str::<Value>(m).ok()),
        "cost": cost_json(state.tasks.hold_of(task).await?),
    });
    view[if task.kind == "video" {
        "videos"
    } else {
        "images"
    }] = Value::Array(outputs);
    Ok(view)
}

/// What a task cost: held, charged and refunded credits, from its hold.
fn cost_json(hold: Option<crate::ledger::Hold>) -> Value {
    use crate::ledger::HoldStatus;
    let (held, charged, refunded) = match hold {
        None => (0, 0, 0),
        Some(h) => match h.status {
            HoldStatus::Open => (h.amount, 0, 0),
            HoldStatus::Captured => (h.amount, h.amount, 0),
            HoldStatus::Released => (h.amount, 0, h.amount),
        },
    };
    json!({ "held": held, "charged": charged, "refunded": refunded })
}

#[cfg(test)]
mod tests {
    use base64::Engine as _;

    use super::{ImageData, images_answer};

    #[test]
    fn the_answer_is_the_json_openai_clients_parse() {
        let png: Vec<u8> = (0..=255u8).cycle().take(1000).collect();
        let body = images_answer(
            1_700_000_000,
            "task_1",
            "64x64",
            &[
                ImageData::Bytes(png.clone().into()),
                ImageData::Url("http://h/v1/files/f\"1/content?sig=a&exp=2".into()),
            ],
        );
        let v: serde_json::Value = serde_json::from_slice(&body).expect("valid JSON");
        assert_eq!(v["created"], 1_700_000_000);
        assert_eq!(v["id"], "task_1");
        assert_eq!(v["size"], "64x64");
        assert_eq!(v["output_format"], "png");
        let b64 = v["data"][0]["b64_json"].as_str().unwrap();
        assert_eq!(
            base64::engine::general_purpose::STANDARD
                .decode(b64)
                .unwrap(),
            png
        );
        assert_eq!(
            v["data"][1]["url"],
            "http://h/v1/files/f\"1/content?sig=a&exp=2"
        );
        assert_eq!(v["data"].as_array().unwrap().len(), 2);
    }
}

//! Video generation: the native task API and OpenAI's `/v1/videos`, and
//! cancelling tasks.

use axum::Extension;
use axum::extract::{FromRequest, Request, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::error::{ApiError, ErrorCode};
use super::extract::{
    JsonBody, MultipartForm, PathParams, QueryParams, form_value, multipart_error, next_field,
    page_limit, parse_json,
};
use super::generate::{Generation, submit};
use super::idempotency::ReservedTaskId;
use super::images::{task_json, task_view};
use super::references::RefInput;
use super::{AppState, RequestId};
use crate::auth::Principal;
use crate::catalogue::SizeRequest;
use crate::plugins::bindings::types::MediaKind;
use crate::tasks::{CancelError, Status, Task, TaskFilter};
use crate::time::unix_seconds;

/// The role of OpenAI's `input_reference`: the image the video starts from.
const FIRST_FRAME: &str = "first-frame";

/// How soon OpenAI clients should poll a running video again.
const POLL_AFTER_MS: u32 = 1000;

/// `POST /v1/videos/generate` (native).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NativeVideoRequest {
    /// Default: `server.default_video_model`.
    model: Option<String>,
    prompt: String,
    negative_prompt: Option<String>,
    n: Option<u32>,
    duration: Option<f64>,
    size: Option<String>,
    aspect_ratio: Option<String>,
    resolution: Option<String>,
    seed: Option<u64>,
    #[serde(default)]
    generate_audio: bool,
    #[serde(default)]
    reference_images: Vec<RefInput>,
    #[serde(default)]
    reference_videos: Vec<RefInput>,
    #[serde(default)]
    extra_params: Map<String, Value>,
    webhook_url: Option<String>,
}

/// `POST /v1/videos/generate`: answers 202 with the task.
pub async fn native_generate(
    State(state): State<AppState>,
    who: Principal,
    Extension(RequestId(request_id)): Extension<RequestId>,
    reserved: Option<Extension<ReservedTaskId>>,
    JsonBody(body): JsonBody<NativeVideoRequest>,
) -> Result<Response, ApiError> {
    let param = if body.reference_images.is_empty() && !body.reference_videos.is_empty() {
        "reference_videos"
    } else {
        "reference_images"
    };
    let references: Vec<RefInput> = body
        .reference_images
        .iter()
        .chain(&body.reference_videos)
        .cloned()
        .collect();
    let model = body
        .model
        .unwrap_or_else(|| state.config.server.default_video_model.clone());
    let generation = Generation {
        kind: MediaKind::Video,
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
        duration_secs: body.duration,
        generate_audio: body.generate_audio,
        seed: body.seed,
        extra_params: body.extra_params,
        webhook_url: body.webhook_url,
        references: (&references, param),
        synchronous: false,
    };
    let (task, price) = submit(&state, &who, &request_id, generation).await?;
    Ok(super::generate::accepted(&task, &request_id, price))
}

/// `GET /v1/videos/tasks/{task_id}`.
pub async fn get_video_task(
    state: State<AppState>,
    who: Principal,
    id: PathParams<String>,
) -> Result<Response, ApiError> {
    task_view(state, who, id, Some("video")).await
}

/// `POST /v1/tasks/{task_id}/cancel`: stops a queued or processing task and
/// releases its hold; `409 TASK_NOT_CANCELABLE` once it has finished.
pub async fn cancel(
    State(state): State<AppState>,
    who: Principal,
    PathParams(id): PathParams<String>,
) -> Result<Response, ApiError> {
    let not_found =
        || ApiError::new(ErrorCode::TaskNotFound, format!("no task {id:?}")).with_param("task_id");
    if !crate::ids::is_valid("task", &id) {
        return Err(not_found());
    }
    match state.tasks.cancel(&id, &who.owner).await {
        Ok(task) => Ok(axum::Json(task_json(&state, &task).await?).into_response()),
        Err(CancelError::NotFound) => Err(not_found()),
        Err(CancelError::Finished(task)) => {
            let status = serde_json::to_value(task.status).expect("serialises");
            Err(ApiError::new(
                ErrorCode::TaskNotCancelable,
                format!(
                    "the task has already finished ({})",
                    status.as_str().unwrap_or_default()
                ),
            )
            .with_task(&task.id))
        }
        Err(CancelError::Store(e)) => Err(e.into()),
    }
}

/// `POST /v1/videos` (OpenAI), as JSON or multipart form fields.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpenAiVideoRequest {
    model: Option<String>,
    prompt: String,
    /// Seconds, as OpenAI sends them ("4") or as a number.
    seconds: Option<Value>,
    size: Option<String>,
    seed: Option<u64>,
    aspect_ratio: Option<String>,
    resolution: Option<String>,
    /// In JSON: the image to start from, as a `file_…` id, a `data:` URL or
    /// an http(s) URL (in a form: a file).
    input_reference: Option<String>,
    #[serde(default)]
    extra_params: Map<String, Value>,
}

/// Reads the create body from JSON or a multipart form, with its
/// `input_reference`, if any, as the image to start from.
async fn openai_body(
    state: &AppState,
    req: Request,
) -> Result<(OpenAiVideoRequest, Option<RefInput>), ApiError> {
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    if !content_type.starts_with("multipart/form-data") {
        let JsonBody(mut body) = JsonBody::<OpenAiVideoRequest>::from_request(req, state).await?;
        let reference = body.input_reference.take().map(|url| RefInput {
            url,
            reference_type: Some(FIRST_FRAME.into()),
            upload: None,
        });
        return Ok((body, reference));
    }
    let MultipartForm(mut form) = MultipartForm::from_request(req, state).await?;
    let mut fields = Map::new();
    let mut reference = None;
    while let Some(field) = next_field(state, &mut form, "body").await? {
        let name = field.name().unwrap_or_default().to_string();
        if name == "input_reference" {
            if reference.is_some() {
                return Err(ApiError::invalid(
                    "input_reference",
                    "send one input_reference",
                ));
            }
            let bytes = field
                .bytes()
                .await
                .map_err(|e| multipart_error(state, "input_reference", e))?;
            reference = Some(RefInput::upload(bytes, FIRST_FRAME));
            continue;
        }
        let text = field
            .text()
            .await
            .map_err(|e| multipart_error(state, &name, e))?;
        fields.insert(name.clone(), form_value(&name, text)?);
    }
    let body = parse_json(Value::Object(fields).to_string().as_bytes())?;
    Ok((body, reference))
}

/// The OpenAI video object of a task.
fn openai_video(task: &Task) -> Value {
    let status = match task.status {
        Status::Queued => "queued",
        Status::Processing => "in_progress",
        Status::Succeeded => "completed",
        Status::Failed | Status::Canceled => "failed",
    };
    let seconds = task
        .request
        .duration_ms
        .map(|ms| format!("{}", f64::from(ms) / 1000.0));
    json!({
        "id": task.id,
        "object": "video",
        "model": task.model,
        "status": status,
        "progress": task.progress,
        "created_at": unix_seconds(&task.created_at),
        "completed_at": task.completed_at.as_deref().map(unix_seconds),
        "expires_at": null,
        "size": format!("{}x{}", task.request.width, task.request.height),
        "seconds": seconds,
        "quality": "standard",
        "remixed_from_video_id": null,
        "error": match (&task.error, task.status) {
            (Some(e), _) => json!({ "code": e.code, "message": e.message }),
            (None, Status::Canceled) => json!({ "code": "canceled", "message": "the video was canceled" }),
            _ => Value::Null,
        },
    })
}

fn with_poll_hint(task: &Task, mut response: Response) -> Response {
    if !task.status.is_final() {
        response
            .headers_mut()
            .insert("openai-poll-after-ms", HeaderValue::from(POLL_AFTER_MS));
    }
    response
}

/// `POST /v1/videos`.
pub async fn openai_create(
    State(state): State<AppState>,
    who: Principal,
    Extension(RequestId(request_id)): Extension<RequestId>,
    reserved: Option<Extension<ReservedTaskId>>,
    req: Request,
) -> Result<Response, ApiError> {
    let (body, reference) = openai_body(&state, req).await?;
    let references: Vec<RefInput> = reference.into_iter().collect();
    let duration_secs =
        match &body.seconds {
            None => None,
            Some(Value::Number(n)) => n.as_f64(),
            Some(Value::String(s)) => Some(s.trim().parse::<f64>().map_err(|_| {
                ApiError::invalid("seconds", format!("seconds {s:?} is not a number"))
            })?),
            Some(_) => return Err(ApiError::invalid("seconds", "seconds must be a number")),
        };
    let model = body
        .model
        .clone()
        .unwrap_or_else(|| state.config.server.default_video_model.clone());
    let generation = Generation {
        kind: MediaKind::Video,
        reserved: reserved.as_ref().map(|r| &r.0),
        model: &model,
        prompt: &body.prompt,
        negative_prompt: None,
        n: None,
        size: SizeRequest {
            size: body.size.as_deref(),
            aspect_ratio: body.aspect_ratio.as_deref(),
            resolution: body.resolution.as_deref(),
        },
        duration_secs,
        generate_audio: false,
        seed: body.seed,
        extra_params: body.extra_params,
        webhook_url: None,
        references: (&references, "input_reference"),
        synchronous: false,
    };
    let (task, _) = submit(&state, &who, &request_id, generation).await?;
    Ok(with_poll_hint(
        &task,
        axum::Json(openai_video(&task)).into_response(),
    ))
}

async fn own_video(state: &AppState, who: &Principal, id: &str) -> Result<Task, ApiError> {
    let not_found =
        || ApiError::new(ErrorCode::NotFound, format!("no video {id:?}")).with_param("video_id");
    if !crate::ids::is_valid("task", id) {
        return Err(not_found());
    }
    state
        .tasks
        .get(id, &who.owner)
        .await?
        .filter(|t| t.kind == "video")
        .ok_or_else(not_found)
}

/// `GET /v1/videos/{id}`.
pub async fn openai_get(
    State(state): State<AppState>,
    who: Principal,
    PathParams(id): PathParams<String>,
) -> Result<Response, ApiError> {
    let task = own_video(&state, &who, &id).await?;
    Ok(with_poll_hint(
        &task,
        axum::Json(openai_video(&task)).into_response(),
    ))
}

/// Query of `GET /v1/videos/{id}/content`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContentQuery {
    variant: Option<String>,
}

/// `GET /v1/videos/{id}/content`: the video's bytes once completed.
pub async fn openai_content(
    State(state): State<AppState>,
    who: Principal,
    PathParams(id): PathParams<String>,
    QueryParams(q): QueryParams<ContentQuery>,
) -> Result<Response, ApiError> {
    if let Some(variant) = q.variant.as_deref().filter(|v| *v != "video") {
        return Err(ApiError::unsupported(
            "variant",
            format!("variant {variant:?} is not available; only video"),
        ));
    }
    let task = own_video(&state, &who, &id).await?;
    let Some(output) = task
        .outputs
        .first()
        .filter(|_| task.status == Status::Succeeded)
    else {
        let status = openai_video(&task)["status"].clone();
        return Err(ApiError::new(
            ErrorCode::Conflict,
            format!("the video is not ready (status {status})"),
        )
        .with_task(&task.id));
    };
    let record = state
        .media
        .record(&output.file_id)
        .await?
        .ok_or_else(ApiError::internal)?;
    let bytes = state.media.read(&record).await?;
    let mut response = bytes.into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(&record.mime)
            .unwrap_or(HeaderValue::from_static("application/octet-stream")),
    );
    Ok(response)
}

/// Query of `GET /v1/videos`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    limit: Option<usize>,
    after: Option<String>,
    order: Option<String>,
}

/// `GET /v1/videos`: the caller's videos, newest first.
pub async fn openai_list(
    State(state): State<AppState>,
    who: Principal,
    QueryParams(q): QueryParams<ListQuery>,
) -> Result<Response, ApiError> {
    if q.order.as_deref().is_some_and(|o| o != "desc") {
        return Err(ApiError::unsupported(
            "order",
            "only order=desc (newest first) is supported",
        ));
    }
    let limit = page_limit(q.limit, q.after.as_deref(), 20, 100, "task")?;
    let filter = TaskFilter {
        kind: Some("video".into()),
        ..TaskFilter::default()
    };
    let (tasks, has_more) = state
        .tasks
        .list(&who.owner, &filter, limit, q.after.as_deref())
        .await?;
    Ok(axum::Json(json!({
        "object": "list",
        "data": tasks.iter().map(openai_video).collect::<Vec<_>>(),
        "has_more": has_more,
        "first_id": tasks.first().map(|t| t.id.clone()),
        "last_id": tasks.last().map(|t| t.id.clone()),
    }))
    .into_response())
}

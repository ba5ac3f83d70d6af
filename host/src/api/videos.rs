//! Video generation: the native task API and OpenAI's `/v1/videos`, and
//! cancelling tasks.

use axum::Extension;
use axum::extract::{FromRequest, Request, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Map, Value};

use super::error::{ApiError, ErrorCode};
use super::extract::{
    JsonBody, MultipartForm, PathParams, QueryParams, form_value, multipart_error, next_field,
    page_limit, parse_json,
};
use super::generate::{Generation, submit};
use super::idempotency::ReservedTaskId;
use super::images::task_view;
use super::references::RefInput;
use super::task_view::task_json;
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
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NativeVideoRequest {
    /// The model, `vendor/name`; `server.default_video_model` if omitted.
    model: Option<String>,
    /// What to film.
    prompt: String,
    /// What not to show.
    negative_prompt: Option<String>,
    /// How many videos; 1 if omitted.
    n: Option<u32>,
    /// Seconds, one of the model's `durations`.
    duration: Option<f64>,
    /// `WxH`; or give `aspect_ratio` and `resolution`.
    size: Option<String>,
    /// e.g. `16:9`.
    aspect_ratio: Option<String>,
    /// e.g. `720p`.
    resolution: Option<String>,
    /// For models that honour one: 0 to 2^64-1.
    #[schema(format = "uint64")]
    seed: Option<u64>,
    /// Whether to ask for a sound track.
    #[serde(default)]
    generate_audio: bool,
    /// Images to start from or follow.
    #[serde(default)]
    reference_images: Vec<RefInput>,
    /// Videos to follow.
    #[serde(default)]
    reference_videos: Vec<RefInput>,
    /// Provider parameters, passed to the plugin as they are.
    #[serde(default)]
    #[schema(value_type = Object)]
    extra_params: Map<String, Value>,
    /// Where this task's events go (else the account's webhook).
    webhook_url: Option<String>,
}

/// Starts a video task; poll it, or wait for its webhook.
#[utoipa::path(post, path = "/v1/videos/generate", tag = "videos", operation_id = "generate_video", request_body = NativeVideoRequest,
    security(("account_key" = []), ("admin_key" = [])),
    responses((status = 202, description = "The task, queued, and what it holds", body = super::generate::Accepted, links(
        ("GetTask" = (operation_id = "get_task", parameters(("task_id" = "$response.body#/task_id")))),
        ("CancelTask" = (operation_id = "cancel", parameters(("task_id" = "$response.body#/task_id"))))
    ))))]
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

/// A video task of the caller's.
#[utoipa::path(get, path = "/v1/videos/tasks/{task_id}", tag = "tasks",
    params(("task_id" = String, Path, description = "`task_…`")),
    security(("account_key" = []), ("admin_key" = [])),
    responses((status = 200, description = "The task", body = super::task_view::TaskView)))]
pub async fn get_video_task(
    state: State<AppState>,
    who: Principal,
    id: PathParams<String>,
) -> Result<Response, ApiError> {
    task_view(state, who, id, Some("video")).await
}

/// Stops a queued or processing task and releases its hold; `409
/// TASK_NOT_CANCELABLE` once it has finished.
#[utoipa::path(post, path = "/v1/tasks/{task_id}/cancel", tag = "tasks",
    params(("task_id" = String, Path, description = "`task_…`")),
    security(("account_key" = []), ("admin_key" = [])),
    responses((status = 200, description = "The task, canceled", body = super::task_view::TaskView)))]
pub async fn cancel(
    State(state): State<AppState>,
    who: Principal,
    PathParams(id): PathParams<String>,
) -> Result<Response, ApiError> {
    let task = cancel_task(&state, &who.owner, &id).await?;
    Ok(axum::Json(task_json(&state, &task).await?).into_response())
}

/// Cancels task `id` of `owner` (the API's and the console's): another
/// owner's task is "not found"; a finished one, `TASK_NOT_CANCELABLE`.
pub async fn cancel_task(state: &AppState, owner: &str, id: &str) -> Result<Task, ApiError> {
    let not_found =
        || ApiError::new(ErrorCode::TaskNotFound, format!("no task {id:?}")).with_param("task_id");
    if !crate::ids::is_valid("task", id) {
        return Err(not_found());
    }
    match state.tasks.cancel(id, owner).await {
        Ok(task) => Ok(task),
        Err(CancelError::NotFound) => Err(not_found()),
        Err(CancelError::Finished(task)) => Err(ApiError::new(
            ErrorCode::TaskNotCancelable,
            format!("the task has already finished ({})", task.status.as_str()),
        )
        .with_task(&task.id)),
        Err(CancelError::Store(e)) => Err(e.into()),
    }
}

/// `POST /v1/videos` (OpenAI), as JSON or multipart form fields.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OpenAiVideoRequest {
    /// The model, `vendor/name`; `server.default_video_model` if omitted.
    model: Option<String>,
    /// What to film.
    prompt: String,
    /// Seconds, as OpenAI sends them ("4") or as a number.
    #[schema(value_type = Option<String>, examples("4"))]
    seconds: Option<Value>,
    /// `WxH`, e.g. `1280x720`.
    size: Option<String>,
    /// For models that honour one: 0 to 2^64-1.
    #[schema(format = "uint64")]
    seed: Option<u64>,
    /// e.g. `16:9`.
    aspect_ratio: Option<String>,
    /// e.g. `720p`.
    resolution: Option<String>,
    /// In JSON: the image to start from, as a `file_…` id, a `data:` URL or
    /// an http(s) URL (in a form: a file).
    input_reference: Option<String>,
    /// Provider parameters, passed to the plugin as they are.
    #[serde(default)]
    #[schema(value_type = Object)]
    extra_params: Map<String, Value>,
}

/// The multipart form of `POST /v1/videos`: the fields of
/// [`OpenAiVideoRequest`] as text, and `input_reference` as a file.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)] // The form's schema; the handler reads the fields one by one.
struct VideoForm {
    /// What to film.
    prompt: String,
    model: Option<String>,
    /// Seconds, e.g. `4`.
    seconds: Option<String>,
    size: Option<String>,
    /// The image to start from.
    #[schema(value_type = Option<String>, format = Binary)]
    input_reference: Option<Vec<u8>>,
}

/// A video, as OpenAI's videos API shows it.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct VideoView {
    /// The task's id, `task_…`.
    id: String,
    /// `video`.
    object: &'static str,
    model: String,
    /// `queued`, `in_progress`, `completed` or `failed`.
    status: &'static str,
    /// Percent done.
    progress: u8,
    /// Unix seconds.
    created_at: i64,
    /// Unix seconds.
    completed_at: Option<i64>,
    /// Always null: videos are kept by the retention settings.
    expires_at: Option<i64>,
    /// `WxH`.
    size: String,
    /// Length in seconds, as text (e.g. `"4"`).
    seconds: Option<String>,
    /// `standard`.
    quality: &'static str,
    /// Always null.
    remixed_from_video_id: Option<String>,
    /// Why it failed, or `canceled`.
    error: Option<super::task_view::TaskErrorView>,
}

/// The list of `GET /v1/videos`.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct VideoList {
    /// `list`.
    object: &'static str,
    /// Newest first.
    data: Vec<VideoView>,
    /// Whether another page follows (`after=<last_id>`).
    has_more: bool,
    first_id: Option<String>,
    last_id: Option<String>,
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
fn openai_video(task: &Task) -> VideoView {
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
    VideoView {
        id: task.id.clone(),
        object: "video",
        model: task.model.clone(),
        status,
        progress: task.progress,
        created_at: unix_seconds(&task.created_at),
        completed_at: task.completed_at.as_deref().map(unix_seconds),
        expires_at: None,
        size: format!("{}x{}", task.request.width, task.request.height),
        seconds,
        quality: "standard",
        remixed_from_video_id: None,
        error: match (&task.error, task.status) {
            (Some(e), _) => Some(super::task_view::TaskErrorView {
                code: e.code.clone(),
                message: e.message.clone(),
            }),
            (None, Status::Canceled) => Some(super::task_view::TaskErrorView {
                code: "canceled".into(),
                message: "the video was canceled".into(),
            }),
            _ => None,
        },
    }
}

fn with_poll_hint(task: &Task, mut response: Response) -> Response {
    if !task.status.is_final() {
        response
            .headers_mut()
            .insert("openai-poll-after-ms", HeaderValue::from(POLL_AFTER_MS));
    }
    response
}

/// Starts a video (OpenAI's videos API), as JSON or a multipart form with
/// `input_reference` as a file; poll `GET /v1/videos/{video_id}`.
#[utoipa::path(post, path = "/v1/videos", tag = "videos",
    request_body(content(
        (OpenAiVideoRequest = "application/json"),
        (VideoForm = "multipart/form-data"),
    )),
    security(("account_key" = []), ("admin_key" = [])),
    responses((status = 200, description = "The video, queued", body = VideoView, links(
        ("GetVideo" = (operation_id = "openai_get", parameters(("video_id" = "$response.body#/id")))),
        ("GetVideoContent" = (operation_id = "openai_content", parameters(("video_id" = "$response.body#/id"))))
    ))))]
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

/// A video of the caller's (OpenAI's videos API).
#[utoipa::path(get, path = "/v1/videos/{video_id}", tag = "videos",
    params(("video_id" = String, Path, description = "The task's id, `task_…`")),
    security(("account_key" = []), ("admin_key" = [])),
    responses((status = 200, description = "The video", body = VideoView)))]
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
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ContentQuery {
    /// `video`, the only one there is.
    variant: Option<String>,
}

/// The video's bytes once completed; `409 CONFLICT` before.
#[utoipa::path(get, path = "/v1/videos/{video_id}/content", tag = "videos",
    params(("video_id" = String, Path, description = "The task's id, `task_…`"), ContentQuery),
    security(("account_key" = []), ("admin_key" = [])),
    responses((status = 200, description = "The video file, with its own MIME type (video/mp4, image/gif…)", content_type = "*/*", body = Vec<u8>)))]
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
        let status = openai_video(&task).status;
        return Err(ApiError::new(
            ErrorCode::Conflict,
            format!("the video is not ready (status {status:?})"),
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
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Videos per page: 20 by default, at most 100.
    limit: Option<usize>,
    /// The `task_…` id of the last video of the previous page.
    after: Option<String>,
    /// `desc` (newest first), the only order there is.
    order: Option<String>,
}

/// The caller's videos, newest first (OpenAI's videos API).
#[utoipa::path(get, path = "/v1/videos", tag = "videos", params(ListQuery),
    security(("account_key" = []), ("admin_key" = [])),
    responses((status = 200, description = "A page of videos", body = VideoList)))]
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
    Ok(axum::Json(VideoList {
        object: "list",
        data: tasks.iter().map(openai_video).collect(),
        has_more,
        first_id: tasks.first().map(|t| t.id.clone()),
        last_id: tasks.last().map(|t| t.id.clone()),
    })
    .into_response())
}

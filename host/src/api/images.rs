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
use super::extract::Page;
use super::extract::{
    JsonBody, MultipartForm, PathParams, QueryParams, form_value, list_response, multipart_error,
    next_field, page_limit, parse_json,
};
use super::generate::{Accepted, Generation, submit};
use super::idempotency::ReservedTaskId;
use super::references::RefInput;
use super::task_view::{TaskView, task_json};
use super::{AppState, RequestId};
use crate::auth::Principal;
use crate::catalogue::SizeRequest;
use crate::plugins::bindings::types::MediaKind;
use crate::tasks::Status;
use crate::time::unix_seconds;

/// `POST /v1/images/generate` (native).
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NativeImageRequest {
    /// The model, `vendor/name`; `server.default_image_model` if omitted.
    model: Option<String>,
    /// What to draw.
    prompt: String,
    /// What not to draw (checked by the content policies too).
    negative_prompt: Option<String>,
    /// How many images, 1 to the model's `max_n`; 1 if omitted.
    n: Option<u32>,
    /// `WxH`, e.g. `1024x1024`; or give `aspect_ratio` and `resolution`.
    size: Option<String>,
    /// e.g. `16:9`.
    aspect_ratio: Option<String>,
    /// e.g. `1k`.
    resolution: Option<String>,
    /// For models that honour one: 0 to 2^64-1.
    #[schema(format = "uint64")]
    seed: Option<u64>,
    /// Reference images.
    #[serde(default)]
    images: Vec<RefInput>,
    /// Provider parameters, passed to the plugin as they are.
    #[serde(default)]
    #[schema(value_type = Object)]
    extra_params: Map<String, Value>,
    /// Where this task's events go (else the account's webhook).
    webhook_url: Option<String>,
}

/// `POST /v1/images/generations` (OpenAI), plus the native fields an SDK
/// sends through `extra_body`. `/v1/images/edits` takes the same fields as
/// a multipart form, with the files.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OpenAiImageRequest {
    /// The model, `vendor/name`; `server.default_image_model` if omitted.
    model: Option<String>,
    /// What to draw.
    prompt: String,
    /// How many images; 1 if omitted.
    n: Option<u32>,
    /// `WxH`, e.g. `1024x1024`.
    size: Option<String>,
    /// Passed to the provider, which may honour it.
    quality: Option<String>,
    /// Passed to the provider, which may honour it.
    style: Option<String>,
    /// Passed to the provider, which may honour it.
    background: Option<String>,
    /// Passed to the provider, which may honour it.
    moderation: Option<String>,
    /// `png` (the only one served).
    output_format: Option<String>,
    /// Passed to the provider, which may honour it.
    output_compression: Option<u8>,
    /// `url` (the default) or `b64_json`.
    response_format: Option<String>,
    /// Passed to the provider, which may honour it.
    user: Option<String>,
    /// Streaming is not supported: omit it, or false.
    stream: Option<bool>,
    /// Streaming is not supported: omit it, or 0.
    partial_images: Option<u32>,
    /// What not to draw.
    negative_prompt: Option<String>,
    /// e.g. `16:9`.
    aspect_ratio: Option<String>,
    /// e.g. `1k`.
    resolution: Option<String>,
    /// For models that honour one: 0 to 2^64-1.
    #[schema(format = "uint64")]
    seed: Option<u64>,
    /// Edits: how closely to follow the input image (passed to the
    /// provider as a parameter it may honour).
    input_fidelity: Option<String>,
    /// Provider parameters, passed to the plugin as they are.
    #[serde(default)]
    #[schema(value_type = Object)]
    extra_params: Map<String, Value>,
}

/// The multipart form of `POST /v1/images/edits`: the fields of
/// [`OpenAiImageRequest`] as text, and the files.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)] // The form's schema; the handler reads the fields one by one.
struct ImageEditForm {
    /// The image to edit (PNG, JPEG, WebP or GIF); send several as `image[]`.
    #[schema(value_type = String, format = Binary)]
    image: Vec<u8>,
    /// Transparent where the image is to change.
    #[schema(value_type = Option<String>, format = Binary)]
    mask: Option<Vec<u8>>,
    /// What the edited image shows.
    prompt: String,
    model: Option<String>,
    n: Option<u32>,
    size: Option<String>,
    /// `url` (the default) or `b64_json`.
    response_format: Option<String>,
}

/// The answer of the OpenAI images routes (written by [`images_answer`]).
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ImagesResponse {
    /// When the task was created (Unix seconds).
    pub created: i64,
    /// The images.
    pub data: Vec<ImageDatum>,
    /// The task that made them.
    pub id: String,
    /// `WxH`.
    pub size: String,
    /// `png`.
    pub output_format: String,
}

/// One image of an [`ImagesResponse`]: a URL or the bytes.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ImageDatum {
    /// A signed URL of the image, valid for `server.signed_url_ttl_secs`.
    #[serde(default)]
    pub url: Option<String>,
    /// The PNG, base64 (with `response_format=b64_json`).
    #[serde(default)]
    pub b64_json: Option<String>,
}

/// Starts an image task; poll it, or wait for its webhook.
#[utoipa::path(post, path = "/v1/images/generate", tag = "images", operation_id = "generate_image", request_body = NativeImageRequest,
    security(("account_key" = []), ("admin_key" = [])),
    responses((status = 202, description = "The task, queued, and what it holds", body = Accepted, links(
        ("GetTask" = (operation_id = "get_task", parameters(("task_id" = "$response.body#/task_id")))),
        ("CancelTask" = (operation_id = "cancel", parameters(("task_id" = "$response.body#/task_id"))))
    ))))]
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

/// Generates images and waits for them (OpenAI's images API).
#[utoipa::path(post, path = "/v1/images/generations", tag = "images", request_body = OpenAiImageRequest,
    security(("account_key" = []), ("admin_key" = [])),
    responses((status = 200, description = "The images", body = ImagesResponse)))]
pub async fn openai_generations(
    State(state): State<AppState>,
    call: OpenAiCall,
    JsonBody(body): JsonBody<OpenAiImageRequest>,
) -> Result<Response, ApiError> {
    openai_images(&state, call, body, &[]).await
}

#[utoipa::path(post, path = "/v1/images/edits", tag = "images",
    request_body(content = ImageEditForm, content_type = "multipart/form-data"),
    security(("account_key" = []), ("admin_key" = [])),
    responses((status = 200, description = "The edited images", body = ImagesResponse)))]
/// Edits images (OpenAI's images API): a multipart form with the image to
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

/// An image task of the caller's.
#[utoipa::path(get, path = "/v1/images/tasks/{task_id}", tag = "tasks",
    params(("task_id" = String, Path, description = "`task_…`")),
    security(("account_key" = []), ("admin_key" = [])),
    responses((status = 200, description = "The task", body = TaskView)))]
pub async fn get_image_task(
    state: State<AppState>,
    who: Principal,
    id: PathParams<String>,
) -> Result<Response, ApiError> {
    task_view(state, who, id, Some("image")).await
}

/// A task of the caller's, image or video.
#[utoipa::path(get, path = "/v1/tasks/{task_id}", tag = "tasks",
    params(("task_id" = String, Path, description = "`task_…`")),
    security(("account_key" = []), ("admin_key" = [])),
    responses((status = 200, description = "The task", body = TaskView)))]
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
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Only tasks in this state.
    status: Option<crate::tasks::Status>,
    /// `image` or `video`.
    #[serde(rename = "type")]
    kind: Option<String>,
    /// Only tasks of this model.
    model: Option<String>,
    /// Tasks per page: 20 by default, at most 100.
    limit: Option<usize>,
    /// The `task_…` id of the last task of the previous page.
    after: Option<String>,
}

/// The caller's tasks, newest first, cursor-paginated.
#[utoipa::path(get, path = "/v1/tasks", tag = "tasks", params(ListQuery),
    security(("account_key" = []), ("admin_key" = [])),
    responses((status = 200, description = "A page of tasks", body = Page<TaskView>)))]
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
        // The body is the documented schema, with no field it lacks.
        let typed: super::ImagesResponse = serde_json::from_slice(&body).expect("the schema");
        assert_eq!(typed.data.len(), 2);
        assert!(typed.data[0].b64_json.is_some() && typed.data[0].url.is_none());
    }
}

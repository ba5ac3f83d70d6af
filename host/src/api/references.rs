//! Reference media given with a request: a `file_…` the caller uploaded
//! (`POST /v1/files`), an inline `data:` URL, or an http(s) URL the gateway
//! downloads (never from loopback, private or link-local addresses unless
//! the operator allows it). Each becomes a file of the caller's, handed to
//! the plugin as a blob.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use serde::Deserialize;

use super::AppState;
use super::error::ApiError;
use super::extract::{MultipartForm, multipart_error, next_field};
use crate::auth::Principal;
use crate::media::FileRecord;
use crate::tasks::StoredReference;

/// The most references one request may carry.
pub const MAX_REFERENCES: usize = 8;

/// A reference as callers give it.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefInput {
    /// `file_…`, `data:…` or `http(s)://…` (empty for an upload).
    pub url: String,
    /// How it is meant to be used, e.g. "style", "subject", "first-frame"
    /// (also accepted as `role`).
    #[serde(alias = "role")]
    pub reference_type: Option<String>,
    /// The bytes, when they came as a file in a multipart form.
    #[serde(skip)]
    #[schema(ignore)]
    pub upload: Option<bytes::Bytes>,
}

impl RefInput {
    /// A file of a multipart form, to be used as `role`.
    pub fn upload(bytes: bytes::Bytes, role: &str) -> Self {
        Self {
            url: String::new(),
            reference_type: Some(role.to_string()),
            upload: Some(bytes),
        }
    }
}

fn kind_of(mime: &str) -> Option<&'static str> {
    if mime.starts_with("image/") {
        Some("image")
    } else if mime.starts_with("video/") {
        Some("video")
    } else {
        None
    }
}

/// Stores uploaded or downloaded bytes as a reference file, after checking
/// they are an image or a video.
async fn store(
    state: &AppState,
    who: &Principal,
    bytes: &[u8],
    param: &str,
) -> Result<FileRecord, ApiError> {
    let mime = crate::media::format::sniff(bytes)
        .filter(|m| kind_of(m).is_some())
        .ok_or_else(|| ApiError::invalid(param, "the reference is not an image or video this gateway recognises (PNG, JPEG, GIF, WebP, MP4, MOV, WebM)"))?;
    Ok(state
        .media
        .put(&who.owner, mime, "reference", None, bytes)
        .await?)
}

/// Resolves references into files of the caller, in order.
pub async fn resolve(
    state: &AppState,
    who: &Principal,
    inputs: &[RefInput],
    param: &str,
) -> Result<Vec<StoredReference>, ApiError> {
    if inputs.len() > MAX_REFERENCES {
        return Err(ApiError::invalid(
            param,
            format!("at most {MAX_REFERENCES} references per request"),
        ));
    }
    let mut out = Vec::with_capacity(inputs.len());
    for (i, input) in inputs.iter().enumerate() {
        let (record, url) = if let Some(bytes) = &input.upload {
            let param = match input.reference_type.as_deref() {
                Some("mask") => "mask".to_string(),
                _ => format!("{param}[{i}]"),
            };
            (store(state, who, bytes, &param).await?, None)
        } else if input.url.starts_with("file_") {
            let param = format!("{param}[{i}].url");
            let record = state
                .media
                .record(&input.url)
                .await?
                .filter(|r| r.owner == who.owner)
                .ok_or_else(|| ApiError::invalid(&param, format!("no file {:?}", input.url)))?;
            (record, None)
        } else if let Some(rest) = input.url.strip_prefix("data:") {
            let param = format!("{param}[{i}].url");
            let (meta, data) = rest.split_once(',').ok_or_else(|| {
                ApiError::invalid(&param, "a data: URL needs a comma before its data")
            })?;
            if !meta.ends_with(";base64") {
                return Err(ApiError::invalid(
                    &param,
                    "data: URLs must be base64 (data:<mime>;base64,<data>)",
                ));
            }
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(data.trim())
                .map_err(|_| ApiError::invalid(&param, "the data: URL is not valid base64"))?;
            (store(state, who, &bytes, &param).await?, None)
        } else {
            let param = format!("{param}[{i}].url");
            let url = crate::net::check_public_url(&input.url, state.config.network.allow_private)
                .await
                .map_err(|m| ApiError::invalid(&param, format!("reference URL: {m}")))?;
            let bytes = download(state, url.clone()).await.map_err(|m| {
                ApiError::invalid(&param, format!("could not fetch the reference: {m}"))
            })?;
            (
                store(state, who, &bytes, &param).await?,
                Some(url.to_string()),
            )
        };
        let kind = kind_of(&record.mime).unwrap_or("image").to_string();
        out.push(StoredReference {
            file_id: record.id,
            kind,
            role: input
                .reference_type
                .clone()
                .unwrap_or_else(|| "reference".into()),
            mime: record.mime,
            url,
        });
    }
    Ok(out)
}

/// Downloads a reference, capped at the request body limit, following no
/// redirects (a redirect could lead inside).
async fn download(state: &AppState, url: reqwest::Url) -> Result<Vec<u8>, String> {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .timeout(std::time::Duration::from_secs(30))
        .build()
        .map_err(|e| e.to_string())?;
    let mut response = client
        .get(url)
        .send()
        .await
        .map_err(|e| e.without_url().to_string())?;
    if !response.status().is_success() {
        return Err(format!("it answered {}", response.status()));
    }
    let limit = state.config.server.max_body_bytes;
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| e.without_url().to_string())?
    {
        if body.len() + chunk.len() > limit {
            return Err(format!("it is larger than {limit} bytes"));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// A stored file.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct FileView {
    /// `file_…`: give it as a reference's `url`.
    id: String,
    /// `file`.
    object: &'static str,
    /// Its size.
    bytes: u64,
    mime_type: String,
    /// `reference`, or `output` for what a task made.
    purpose: String,
    /// RFC 3339.
    created_at: String,
}

/// The file view.
pub fn file_json(record: &FileRecord) -> FileView {
    FileView {
        id: record.id.clone(),
        object: "file",
        bytes: record.bytes,
        mime_type: record.mime.clone(),
        purpose: record.purpose.clone(),
        created_at: record.created_at.clone(),
    }
}

/// The multipart form of `POST /v1/files`.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)] // The form's schema; the handler reads the fields one by one.
struct UploadForm {
    /// A reference image or video.
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
    /// What the file is for; it is stored as a reference whichever is
    /// given.
    purpose: Option<UploadPurpose>,
}

/// The purposes `POST /v1/files` takes: `reference`, and the OpenAI ones an
/// image can have (an SDK's `files.create` sends one).
#[derive(Debug, Clone, Copy, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
#[allow(dead_code)] // Checked, not kept: every upload is a reference.
enum UploadPurpose {
    Reference,
    Vision,
    UserData,
    Assistants,
}

/// Uploads a reference image or video (multipart, field `file`); its
/// `file_…` id can be given as a reference URL.
#[utoipa::path(post, path = "/v1/files", tag = "files",
    request_body(content = UploadForm, content_type = "multipart/form-data"),
    security(("account_key" = []), ("admin_key" = [])),
    responses((status = 201, description = "The file, stored", body = FileView, links(
        ("GetFileContent" = (operation_id = "content", parameters(("file_id" = "$response.body#/id"))))
    ))))]
pub async fn upload(
    State(state): State<AppState>,
    who: Principal,
    MultipartForm(mut form): MultipartForm,
) -> Result<Response, ApiError> {
    let mut stored = None;
    while let Some(field) = next_field(&state, &mut form, "file").await? {
        match field.name() {
            Some("file") => {
                let bytes = field
                    .bytes()
                    .await
                    .map_err(|e| multipart_error(&state, "file", e))?;
                stored = Some(store(&state, &who, &bytes, "file").await?);
            }
            Some("purpose") => {
                let text = field
                    .text()
                    .await
                    .map_err(|e| multipart_error(&state, "purpose", e))?;
                serde_json::from_value::<UploadPurpose>(serde_json::Value::String(text.clone()))
                    .map_err(|_| {
                        ApiError::invalid(
                            "purpose",
                            format!(
                                "purpose {text:?} is not one of reference, vision, user_data, assistants"
                            ),
                        )
                    })?;
            }
            Some(other) => {
                return Err(ApiError::invalid(
                    other,
                    format!("unknown form field {other:?}; send `file`"),
                ));
            }
            None => return Err(ApiError::invalid("file", "a form field has no name")),
        }
    }
    let record = stored.ok_or_else(|| ApiError::invalid("file", "the form has no `file` field"))?;
    Ok((StatusCode::CREATED, axum::Json(file_json(&record))).into_response())
}

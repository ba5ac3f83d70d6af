//! Extractors that turn malformed input into the API's error shape: path
//! parameters, query strings, JSON and multipart bodies, and the bearer key.
//! Handlers use these, never axum's own extractors, whose rejections are
//! plain text.

use axum::extract::rejection::PathRejection;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use bytes::Bytes;
use serde::de::DeserializeOwned;

use super::AppState;
use super::error::{ApiError, ErrorCode};
use crate::auth::Principal;

/// A JSON body parsed into `T`, with errors naming the field at fault.
pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, ApiError> {
        let is_json = req
            .headers()
            .get(axum::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|ct| {
                ct.split(';')
                    .next()
                    .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"))
            });
        if !is_json {
            return Err(ApiError::new(
                ErrorCode::UnsupportedMediaType,
                "send the body as JSON with content-type: application/json",
            ));
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|e| {
            if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                too_large(state)
            } else {
                ApiError::invalid("body", "the request body could not be read")
            }
        })?;
        parse_json(&bytes).map(JsonBody)
    }
}

/// Query parameters parsed into `T`; malformed or unknown ones are a 400.
pub struct QueryParams<T>(pub T);

impl<T: DeserializeOwned + Send> FromRequestParts<AppState> for QueryParams<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|q| QueryParams(q.0))
            .map_err(|e| ApiError::invalid("query", e.body_text()))
    }
}

/// A `multipart/form-data` body. A body of another type, or one whose
/// boundary is missing or malformed, is 400 INVALID_PARAMETER about `body`.
pub struct MultipartForm(pub axum::extract::Multipart);

impl FromRequest<AppState> for MultipartForm {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, ApiError> {
        let rejected = |why: &str| {
            ApiError::invalid(
                "body",
                format!("send the body as multipart/form-data with a boundary: {why}"),
            )
        };
        // axum takes `boundary=` (empty), which no body can use (RFC 2046:
        // 1 to 70 characters).
        let empty_boundary = req
            .headers()
            .get(axum::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|ct| {
                ct.split(';').skip(1).any(|p| {
                    p.split_once('=').is_some_and(|(name, value)| {
                        name.trim().eq_ignore_ascii_case("boundary")
                            && value.trim().trim_matches('"').is_empty()
                    })
                })
            });
        if empty_boundary {
            return Err(rejected("the boundary is empty"));
        }
        axum::extract::Multipart::from_request(req, state)
            .await
            .map(MultipartForm)
            .map_err(|e| rejected(&e.body_text()))
    }
}

/// Path parameters parsed into `T` (a `String` or a tuple of them). A
/// parameter that is not valid UTF-8 once percent-decoded (`%ff%fe`) is a
/// 400 INVALID_PARAMETER naming it, on every route alike.
pub struct PathParams<T>(pub T);

impl<T: DeserializeOwned + Send> FromRequestParts<AppState> for PathParams<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|p| PathParams(p.0))
            .map_err(path_rejection)
    }
}

/// The error of a path that does not fit its route's parameters.
fn path_rejection(rejection: PathRejection) -> ApiError {
    use axum::extract::path::ErrorKind;
    let kind = match rejection {
        PathRejection::FailedToDeserializePathParams(e) => e.into_kind(),
        // A handler asking for parameters its route does not have.
        other => {
            tracing::error!(error = %other, "a handler's path parameters do not fit its route");
            return ApiError::internal();
        }
    };
    match kind {
        ErrorKind::InvalidUtf8InPathParam { key } => ApiError::invalid(
            &key,
            format!("the path parameter {key} is not valid UTF-8 once percent-decoded"),
        ),
        ErrorKind::ParseErrorAtKey { ref key, .. }
        | ErrorKind::DeserializeError { ref key, .. } => ApiError::invalid(
            key,
            format!("the path parameter {key} is not valid: {kind}"),
        ),
        ErrorKind::ParseErrorAtIndex { .. } | ErrorKind::ParseError { .. } => {
            ApiError::invalid("path", format!("a path parameter is not valid: {kind}"))
        }
        // Wrong arity, an unsupported type: a handler that does not fit its
        // route, not the caller's fault.
        other => {
            tracing::error!(error = %other, "a handler's path parameters do not fit its route");
            ApiError::internal()
        }
    }
}

/// Checks a cursor page: `limit` (default `default`, at most `max`) and
/// `after`, which must be an id with `prefix`. Returns the limit.
pub fn page_limit(
    limit: Option<usize>,
    after: Option<&str>,
    default: usize,
    max: usize,
    prefix: &str,
) -> Result<usize, ApiError> {
    let limit = limit.unwrap_or(default);
    if !(1..=max).contains(&limit) {
        return Err(ApiError::invalid(
            "limit",
            format!("limit must be between 1 and {max}"),
        ));
    }
    if let Some(after) = after.filter(|a| !crate::ids::is_valid(prefix, a)) {
        return Err(ApiError::invalid(
            "after",
            format!("after must be a {prefix}_ id, not {after:?}"),
        ));
    }
    Ok(limit)
}

/// The envelope of every paginated answer.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct Page<T> {
    /// `list`.
    pub object: &'static str,
    /// This page, newest first.
    pub data: Vec<T>,
    /// Whether another page follows: ask again with `after=<last_id>`.
    pub has_more: bool,
    /// The id of this page's last item.
    pub last_id: Option<String>,
}

/// The envelope of an answer that is never paginated: `has_more` is false.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct List<T> {
    /// `list`.
    pub object: &'static str,
    /// Every item.
    pub data: Vec<T>,
    /// Always false.
    pub has_more: bool,
}

impl<T> List<T> {
    /// All of `data`.
    pub fn of(data: Vec<T>) -> Self {
        Self {
            object: "list",
            data,
            has_more: false,
        }
    }
}

/// A page as the answer.
pub fn list_response<T: serde::Serialize>(
    data: Vec<T>,
    has_more: bool,
    last_id: Option<String>,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    axum::Json(Page {
        object: "list",
        data,
        has_more,
        last_id,
    })
    .into_response()
}

/// The next field of a multipart form: a body over the limit is 413, any
/// other fault 400 naming `param`.
pub async fn next_field<'f>(
    state: &AppState,
    form: &'f mut axum::extract::Multipart,
    param: &str,
) -> Result<Option<axum::extract::multipart::Field<'f>>, ApiError> {
    form.next_field()
        .await
        .map_err(|e| multipart_error(state, param, e))
}

/// A multipart fault: 413 past the body limit, else 400 naming `param`.
pub fn multipart_error(
    state: &AppState,
    param: &str,
    e: axum::extract::multipart::MultipartError,
) -> ApiError {
    if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
        too_large(state)
    } else {
        ApiError::invalid(param, e.body_text())
    }
}

/// A text field of a multipart form as the JSON body of the same request
/// would carry it: whole numbers for `n`, `seed`, `output_compression` and
/// `partial_images`, a boolean for `stream`, an object for `extra_params`,
/// text otherwise.
pub fn form_value(name: &str, text: String) -> Result<serde_json::Value, ApiError> {
    use serde_json::Value;
    match name {
        "n" | "seed" | "output_compression" | "partial_images" => text
            .trim()
            .parse::<u64>()
            .map(Value::from)
            .map_err(|_| ApiError::invalid(name, format!("{name} must be a whole number"))),
        "stream" => match text.trim() {
            "true" => Ok(Value::Bool(true)),
            "false" => Ok(Value::Bool(false)),
            _ => Err(ApiError::invalid(name, "stream must be true or false")),
        },
        "extra_params" => match serde_json::from_str::<Value>(&text) {
            Ok(v @ Value::Object(_)) => Ok(v),
            _ => Err(ApiError::invalid(
                name,
                "extra_params must be a JSON object",
            )),
        },
        _ => Ok(Value::String(text)),
    }
}

/// The 413 error, naming the limit.
pub fn too_large(state: &AppState) -> ApiError {
    ApiError::new(
        ErrorCode::PayloadTooLarge,
        format!(
            "the request body is larger than the {} bytes this gateway accepts",
            state.config.server.max_body_bytes
        ),
    )
}

/// Parses JSON, naming the field at fault in errors.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    // Every body is an object: serde would also read a struct from an
    // array of its fields in order (`[]` as all defaults).
    if bytes.trim_ascii_start().first() == Some(&b'[') {
        return Err(ApiError::invalid(
            "body",
            "the body must be a JSON object, not an array",
        ));
    }
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let message = inner.to_string();
        // serde names missing and unknown fields in the message only.
        let field = message
            .split('`')
            .nth(1)
            .filter(|_| {
                message.starts_with("missing field") || message.starts_with("unknown field")
            })
            .map(str::to_string);
        let param = field
            .or_else(|| (path != ".").then_some(path))
            .unwrap_or_else(|| "body".into());
        let message = match inner.classify() {
            serde_json::error::Category::Syntax | serde_json::error::Category::Eof => {
                format!("the body is not valid JSON: {message}")
            }
            _ => format!(
                "invalid request: {}",
                message.split(" at line").next().unwrap_or(&message)
            ),
        };
        ApiError::invalid(&param, message)
    })
}

impl FromRequestParts<AppState> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        match parts.extensions.get::<Principal>() {
            Some(who) => Ok(who.clone()),
            None => principal(state, &parts.headers).await,
        }
    }
}

/// The account behind the request's bearer key even when the key or the
/// account is suspended: what a suspended account may still do is read its
/// enforcement notices and appeal them. Revoked keys and closed accounts
/// are refused as everywhere.
pub struct Appellant {
    /// The account.
    pub account_id: String,
}

impl FromRequestParts<AppState> for Appellant {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = bearer(&parts.headers)?;
        match state.accounts.identify(token).await? {
            Some((account, key))
                if key.status != crate::accounts::KeyStatus::Revoked
                    && account.status != crate::accounts::AccountStatus::Closed =>
            {
                Ok(Self {
                    account_id: account.id,
                })
            }
            // The admin key and unusable keys: the usual answer.
            _ => match principal(state, &parts.headers).await? {
                who if who.admin => Err(ApiError::new(
                    ErrorCode::PermissionDenied,
                    "this route is for account keys",
                )),
                who => Ok(Self {
                    account_id: who.owner,
                }),
            },
        }
    }
}

/// The bearer token of a request.
pub(super) fn bearer(headers: &axum::http::HeaderMap) -> Result<&str, ApiError> {
    let header = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let Some(header) = header else {
        return Err(ApiError::new(
            ErrorCode::InvalidApiKey,
            "missing API key: send Authorization: Bearer <key>",
        ));
    };
    Ok(header
        .strip_prefix("Bearer ")
        .or_else(|| header.strip_prefix("bearer "))
        .map(str::trim)
        .unwrap_or_default())
}

/// The caller behind the request's bearer key.
pub async fn principal(
    state: &AppState,
    headers: &axum::http::HeaderMap,
) -> Result<Principal, ApiError> {
    let token = bearer(headers)?;
    use crate::auth::AuthFailure;
    match state.auth.authenticate(token).await {
        Ok(Ok(principal)) => Ok(principal),
        Ok(Err(AuthFailure::Invalid)) => Err(ApiError::new(
            ErrorCode::InvalidApiKey,
            "the API key is not valid",
        )),
        Ok(Err(AuthFailure::Revoked)) => Err(ApiError::new(
            ErrorCode::KeyRevoked,
            "this API key was revoked",
        )),
        Ok(Err(AuthFailure::KeySuspended)) => Err(ApiError::new(
            ErrorCode::PermissionDenied,
            "this API key is suspended",
        )),
        Ok(Err(AuthFailure::AccountSuspended)) => Err(ApiError::new(
            ErrorCode::AccountSuspended,
            "the account of this API key is suspended or closed; GET /v1/account/notices says why",
        )),
        Err(e) => Err(e.into()),
    }
}

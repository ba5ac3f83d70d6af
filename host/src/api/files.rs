//! `GET /v1/files/{id}/content`: a stored file, to its owner (bearer key) or
//! to anyone holding a valid signed URL.

use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, Uri, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::AppState;
use super::error::{ApiError, ErrorCode};
use super::extract::{PathParams, principal};

/// The signature of a signed URL, as written in the query: read as text so
/// that a malformed one is refused like a wrong one.
#[derive(Debug, Default, Deserialize)]
struct Signed {
    expires: Option<String>,
    signature: Option<String>,
}

/// The signed-URL parameters of a request: none (the owner's bearer key
/// decides), or both, well-formed (`expires` a unix time). Anything else, a
/// partial or malformed signature, is 403 PERMISSION_DENIED, as a wrong one
/// is.
fn signed_query(uri: &Uri) -> Result<Option<(i64, String)>, ApiError> {
    let denied = || {
        ApiError::new(
            ErrorCode::PermissionDenied,
            "this link is invalid or has expired",
        )
    };
    // Unknown parameters are ignored; only `expires` and `signature`
    // (repeated, say) can make the query unreadable.
    let signed = Query::<Signed>::try_from_uri(uri).map_err(|_| denied())?.0;
    match (signed.expires, signed.signature) {
        (None, None) => Ok(None),
        (Some(expires), Some(signature)) => {
            let expires = expires.parse::<i64>().map_err(|_| denied())?;
            Ok(Some((expires, signature)))
        }
        _ => Err(denied()),
    }
}

/// A stored file's bytes, to its owner's key, or to anyone with a signed
/// URL (`expires` and `signature`, as the OpenAI face answers them).
#[utoipa::path(get, path = "/v1/files/{file_id}/content", tag = "files",
    params(("file_id" = String, Path, description = "`file_…`"),
        ("expires" = Option<i64>, Query, description = "A signed URL's expiry (Unix seconds)"),
        ("signature" = Option<String>, Query, description = "A signed URL's signature")),
    security(("account_key" = []), ("admin_key" = []), ()),
    responses((status = 200, description = "The file, with its own MIME type (image/png, image/gif, video/mp4…)", content_type = "*/*", body = Vec<u8>)))]
pub async fn content(
    State(state): State<AppState>,
    PathParams(file_id): PathParams<String>,
    uri: Uri,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let not_found =
        || ApiError::new(ErrorCode::NotFound, format!("no file {file_id:?}")).with_param("file_id");
    if !crate::ids::is_valid("file", &file_id) {
        return Err(not_found());
    }
    let record = state.media.record(&file_id).await?.ok_or_else(not_found)?;
    let allowed = match signed_query(&uri)? {
        Some((expires, signature)) => {
            if !state
                .signer
                .verify(&file_id, expires, &signature, crate::time::now_unix())
            {
                return Err(ApiError::new(
                    ErrorCode::PermissionDenied,
                    "this link is invalid or has expired",
                ));
            }
            true
        }
        None => principal(&state, &headers).await?.owner == record.owner,
    };
    if !allowed {
        // Someone else's file does not exist for this caller.
        return Err(not_found());
    }
    let bytes = state.media.read(&record).await?;
    let mut response = bytes.into_response();
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(&record.mime)
            .unwrap_or(HeaderValue::from_static("application/octet-stream")),
    );
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, max-age=31536000, immutable"),
    );
    h.insert(
        header::ETAG,
        HeaderValue::from_str(&format!("\"{}\"", record.sha256)).expect("hex is a valid header"),
    );
    Ok(response)
}

/// The base of absolute URLs: the configured public URL, or this request's
/// Host.
pub fn public_base(state: &AppState, headers: &HeaderMap) -> String {
    if let Some(url) = &state.config.server.public_url {
        return url.trim_end_matches('/').to_string();
    }
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("127.0.0.1");
    format!("http://{host}")
}

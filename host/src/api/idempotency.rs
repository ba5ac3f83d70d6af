//! `Idempotency-Key` on POST, with Stripe's semantics: the same key and body
//! replay the first response (and never run, or charge, twice); the same key
//! with another body is `409 IDEMPOTENCY_CONFLICT`. Keys are scoped to the
//! caller's account and kept at least 24 hours.
//!
//! Requests with one key run one at a time (a second waits for the first's
//! response). The key is reserved before the request runs, with a task id,
//! so a retry after a crash, or after the client left, finds the task the
//! first attempt created instead of creating another.
//! Responses to requests refused before they ran (4xx other than 402 after a
//! hold...) are not kept, as Stripe does; a retry runs again.

use std::time::Duration;

use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

use super::AppState;
use super::error::{ApiError, ErrorCode};
use super::extract::{principal, too_large};
use crate::idempotency::{Idempotency, Reservation, StoredResponse};

/// The task id an idempotent request may use for the task it creates.
#[derive(Debug, Clone)]
pub struct ReservedTaskId(pub String);

/// The longest key accepted.
const MAX_KEY_LEN: usize = 255;

/// A reserved key, let go if the request stops without an answer (its
/// client left): a retry then runs with the same task id.
struct Held {
    keys: Idempotency,
    key: Option<String>,
}

impl Held {
    /// The request ended: keep its response, or forget the key.
    async fn settle(mut self, response: Option<&StoredResponse>) -> Result<(), ApiError> {
        let key = self.key.take().expect("settled once");
        match response {
            Some(r) => self.keys.complete(&key, r).await?,
            None => self.keys.release(&key).await?,
        }
        Ok(())
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            let keys = self.keys.clone();
            tokio::spawn(async move {
                if let Err(e) = keys.abandon(&key).await {
                    tracing::warn!(error = %e, "could not let go of an idempotency key");
                }
            });
        }
    }
}

/// Whether a response is kept for replay: the request ran (2xx, or a server
/// error after it started).
fn keep(status: StatusCode) -> bool {
    status.is_success() || status.is_server_error()
}

/// The middleware.
pub async fn idempotency_layer(
    State(state): State<AppState>,
    req: Request,
    next: Next,
) -> Response {
    let Some(key) = req.headers().get("idempotency-key").cloned() else {
        return next.run(req).await;
    };
    if req.method() != Method::POST {
        return next.run(req).await;
    }
    let key = match key.to_str() {
        Ok(k) if !k.is_empty() && k.len() <= MAX_KEY_LEN => k.to_string(),
        _ => {
            return ApiError::invalid(
                "Idempotency-Key",
                format!("the Idempotency-Key header must be 1 to {MAX_KEY_LEN} visible characters"),
            )
            .into_response();
        }
    };
    // An unauthenticated request is refused by its handler; nothing to keep.
    let who = match req.extensions().get::<crate::auth::Principal>() {
        Some(who) => who.clone(),
        None => match principal(&state, req.headers()).await {
            Ok(who) => who,
            Err(_) => return next.run(req).await,
        },
    };
    let (parts, body) = req.into_parts();
    let bytes = match to_bytes(body, state.config.server.max_body_bytes).await {
        Ok(b) => b,
        Err(_) => return too_large(&state).into_response(),
    };
    let fingerprint = {
        let mut h = Sha256::new();
        h.update(parts.method.as_str());
        h.update([0]);
        h.update(parts.uri.path());
        h.update([0]);
        h.update(&bytes);
        crate::ids::hex(&h.finalize())
    };
    let scope = format!("{}/{key}", who.owner);
    run_once(&state, &scope, &fingerprint, parts, bytes, next)
        .await
        .unwrap_or_else(IntoResponse::into_response)
}

async fn run_once(
    state: &AppState,
    scope: &str,
    fingerprint: &str,
    mut parts: axum::http::request::Parts,
    bytes: bytes::Bytes,
    next: Next,
) -> Result<Response, ApiError> {
    let keys = &state.idempotency;
    let conflict = || {
        let mut e = ApiError::new(
            ErrorCode::IdempotencyConflict,
            "this Idempotency-Key was used with another request; use a new key for a new request",
        )
        .with_param("Idempotency-Key")
        .into_response();
        e.headers_mut()
            .insert("x-should-retry", HeaderValue::from_static("false"));
        e
    };
    let task_id = loop {
        match keys.reserve(scope, fingerprint).await? {
            Reservation::Run { task_id } => break task_id,
            Reservation::Replay(stored) => return Ok(replay(stored)),
            Reservation::Conflict => return Ok(conflict()),
            // The same request runs now: wait for its response (until the
            // client gives up).
            Reservation::InProgress => tokio::time::sleep(Duration::from_millis(20)).await,
        }
    };
    let held = Held {
        keys: keys.clone(),
        key: Some(scope.to_string()),
    };
    parts.extensions.insert(ReservedTaskId(task_id));
    let response = next
        .run(Request::from_parts(parts, Body::from(bytes)))
        .await;
    if !keep(response.status()) {
        held.settle(None).await?;
        return Ok(response);
    }
    // Keep the response as the client gets it (error bodies are rendered by
    // the request-id middleware, inside this one, so they are final here).
    let (parts, body) = response.into_parts();
    let body = to_bytes(body, usize::MAX)
        .await
        .map_err(|_| ApiError::internal())?;
    let stored = StoredResponse {
        status: parts.status.as_u16(),
        headers: kept_headers(&parts.headers),
        body: body.to_vec(),
    };
    held.settle(Some(&stored)).await?;
    Ok(Response::from_parts(parts, Body::from(body)))
}

/// Headers worth replaying (not per-response ones like the date).
fn kept_headers(headers: &HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .filter(|(n, _)| {
            let n = n.as_str();
            n == "content-type"
                || n == "x-request-id"
                || n == "x-should-retry"
                || n == "retry-after"
        })
        .filter_map(|(n, v)| Some((n.to_string(), v.to_str().ok()?.to_string())))
        .collect()
}

fn replay(stored: StoredResponse) -> Response {
    let mut response = (
        StatusCode::from_u16(stored.status).unwrap_or(StatusCode::OK),
        stored.body,
    )
        .into_response();
    let headers = response.headers_mut();
    for (n, v) in stored.headers {
        if let (Ok(n), Ok(v)) = (HeaderName::try_from(n), HeaderValue::try_from(v)) {
            headers.insert(n, v);
        }
    }
    headers.insert("idempotent-replayed", HeaderValue::from_static("true"));
    response
}

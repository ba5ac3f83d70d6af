//! `Idempotency-Key` on POST, with Stripe's semantics: the same key and body
//! replay the first response (and never run, or charge, twice); the same key
//! with another body is `409 IDEMPOTENCY_CONFLICT`. Keys are scoped to the
//! caller's account and kept at least 24 hours.
//!
//! Requests with one key run one at a time. The record is written before the
//! request runs and carries a reserved task id, so a retry after a crash
//! finds the task the first attempt created instead of creating another.
//! Responses to requests refused before they ran (4xx other than 402 after a
//! hold...) are not kept, as Stripe does; a retry runs again.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::AppState;
use super::error::{ApiError, ErrorCode};
use super::extract::{principal, too_large};
use crate::store::Table;

/// The task id an idempotent request may use for the task it creates.
#[derive(Debug, Clone)]
pub struct ReservedTaskId(pub String);

/// How long a key is kept.
pub const KEY_TTL_SECS: i64 = 48 * 3600;
/// The longest key accepted.
const MAX_KEY_LEN: usize = 255;

/// A stored key.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Record {
    /// SHA-256 of method, path and body.
    fingerprint: String,
    /// The task id reserved for this request.
    task_id: String,
    /// When the key was first used (unix seconds).
    created_at: i64,
    /// The response, once the request finished.
    response: Option<StoredResponse>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct StoredResponse {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

/// The idempotency store and the per-key locks.
#[derive(Clone)]
pub struct Idempotency {
    table: Table,
    locks: Arc<Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>>,
}

impl Idempotency {
    /// The store over `table`.
    pub fn new(table: Table) -> Self {
        Self {
            table,
            locks: Arc::default(),
        }
    }

    /// Forgets keys older than [`KEY_TTL_SECS`]. Returns how many.
    pub async fn purge(&self) -> Result<usize, crate::store::StoreError> {
        let cutoff = crate::time::now_unix() - KEY_TTL_SECS;
        let mut old = Vec::new();
        for item in self.table.scan::<Record>() {
            let (key, record) = item?;
            if record.created_at < cutoff {
                old.push(key);
            }
        }
        for key in &old {
            self.table.remove(key).await?;
        }
        Ok(old.len())
    }

    fn lock(&self, scope: &str) -> Arc<tokio::sync::Mutex<()>> {
        self.locks
            .lock()
            .expect("lock")
            .entry(scope.to_string())
            .or_default()
            .clone()
    }

    fn unlock(&self, scope: &str, lock: Arc<tokio::sync::Mutex<()>>) {
        let mut locks = self.locks.lock().expect("lock");
        // Two references: the map's and ours; nobody else waits.
        if Arc::strong_count(&lock) == 2 {
            locks.remove(scope);
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
        None => match principal(&state, req.headers()) {
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
    let idem = &state.idempotency;
    let lock = idem.lock(&scope);
    let guard = lock.lock().await;
    let response = run_once(&state, &scope, &fingerprint, parts, bytes, next).await;
    drop(guard);
    idem.unlock(&scope, lock);
    response.unwrap_or_else(IntoResponse::into_response)
}

async fn run_once(
    state: &AppState,
    scope: &str,
    fingerprint: &str,
    mut parts: axum::http::request::Parts,
    bytes: bytes::Bytes,
    next: Next,
) -> Result<Response, ApiError> {
    let table = &state.idempotency.table;
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
    let record = match table.get::<Record>(scope)? {
        Some(r) if r.created_at < crate::time::now_unix() - KEY_TTL_SECS => None,
        other => other,
    };
    let record = match record {
        Some(r) if r.fingerprint != fingerprint => return Ok(conflict()),
        Some(Record {
            response: Some(stored),
            ..
        }) => return Ok(replay(stored)),
        // Left by a process that died mid-request: run again with its task id.
        Some(r) => r,
        None => {
            let r = Record {
                fingerprint: fingerprint.to_string(),
                task_id: crate::ids::new("task"),
                created_at: crate::time::now_unix(),
                response: None,
            };
            table.put(scope, &r).await?;
            r
        }
    };
    parts
        .extensions
        .insert(ReservedTaskId(record.task_id.clone()));
    let response = next
        .run(Request::from_parts(parts, Body::from(bytes)))
        .await;
    if !keep(response.status()) {
        table.remove(scope).await?;
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
    table
        .put(
            scope,
            &Record {
                response: Some(stored),
                ..record
            },
        )
        .await?;
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

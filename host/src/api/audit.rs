//! Records every operator request that changed something (an admin-key
//! request other than GET that succeeded) in the audit log, with its route,
//! the ids it names and its JSON body.

use axum::body::Body;
use axum::extract::{MatchedPath, Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::AppState;
use crate::audit::NewEntry;
use crate::auth::Principal;

/// Put in a response's extensions by a handler that wrote its own audit
/// entry, so the request is not recorded twice.
#[derive(Debug, Clone, Copy)]
pub struct Audited;

/// Request bodies up to this size are kept in the entry when they are JSON.
const MAX_RECORDED_BODY: usize = 16 * 1024;

/// The most of an operator answer read to find the account it created.
const MAX_ANSWER_READ: usize = 1024 * 1024;

/// The middleware.
pub async fn audit_layer(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let admin = req.extensions().get::<Principal>().is_some_and(|p| p.admin);
    if !admin || matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        return next.run(req).await;
    }
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| path.clone(), |m| m.as_str().to_string());
    let (parts, body) = req.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, state.config.server.max_body_bytes).await else {
        return super::extract::too_large(&state).into_response();
    };
    let recorded_body = if bytes.is_empty() {
        Value::Null
    } else if bytes.len() <= MAX_RECORDED_BODY {
        serde_json::from_slice(&bytes).unwrap_or_else(|_| json!({ "bytes": bytes.len() }))
    } else {
        json!({ "bytes": bytes.len() })
    };
    let mut response = next
        .run(Request::from_parts(parts, Body::from(bytes)))
        .await;
    let own_entry = response.extensions_mut().remove::<Audited>().is_some();
    if !response.status().is_success() || own_entry {
        return response;
    }
    let segment_with = |prefix: &str| {
        path.split('/')
            .find(|s| s.starts_with(prefix))
            .map(str::to_string)
    };
    let key_id = segment_with("key_");
    let mut account_id = segment_with("acct_");
    if account_id.is_none()
        && let Some(k) = key_id.as_deref()
    {
        account_id = state.accounts.key(k).await.ok().map(|k| k.account_id);
    }
    if account_id.is_none() {
        // A creation names its new account only in the answer.
        let (parts, body) = response.into_parts();
        let bytes = axum::body::to_bytes(body, MAX_ANSWER_READ)
            .await
            .unwrap_or_default();
        account_id = serde_json::from_slice::<Value>(&bytes).ok().and_then(|v| {
            [&v["account_id"], &v["id"]]
                .into_iter()
                .filter_map(Value::as_str)
                .find(|id| id.starts_with("acct_"))
                .map(str::to_string)
        });
        response = Response::from_parts(parts, Body::from(bytes));
    }
    let entry = NewEntry {
        actor: "admin".into(),
        action: format!("{method} {route}"),
        account_id,
        key_id,
        details: json!({
            "path": path,
            "body": recorded_body,
            "status": response.status().as_u16(),
        }),
        evidence: Vec::new(),
    };
    if let Err(e) = state
        .audit
        .record(entry, state.moderation.clock.now())
        .await
    {
        tracing::error!(error = %e, %path, "could not write the audit entry of an operator action");
    }
    response
}

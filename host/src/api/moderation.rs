//! Moderation routes: an account's enforcement notices and appeals, and the
//! operator's flagged requests, audit log, appeal decisions and policy
//! bindings.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde::Deserialize;
use serde_json::json;

use super::AppState;
use super::admin::{admin_only, optional_body};
use super::error::{ApiError, ErrorCode};
use super::extract::{Appellant, JsonBody, PathParams, QueryParams, list_response, page_limit};
use crate::audit::AuditQuery;
use crate::auth::Principal;
use crate::moderation::FlagQuery;
use crate::moderation::enforcement::{AppealStatus, EnforcementError};

impl From<EnforcementError> for ApiError {
    fn from(e: EnforcementError) -> Self {
        match e {
            EnforcementError::NotFound(what) => {
                ApiError::new(ErrorCode::NotFound, format!("no such {what}"))
                    .with_param(&format!("{what}_id"))
            }
            EnforcementError::Closed(_) => ApiError::invalid("notice_id", e.to_string()),
            EnforcementError::Conflict(m) => ApiError::new(ErrorCode::Conflict, m),
            EnforcementError::Invalid(m) => ApiError::invalid("message", m),
            EnforcementError::Account(e) => e.into(),
            EnforcementError::Store(e) => e.into(),
        }
    }
}

/// `GET /v1/account/notices`: the enforcement actions taken against the
/// caller's account, newest first (suspended accounts may read them).
pub async fn account_notices(
    State(state): State<AppState>,
    who: Appellant,
) -> Result<Response, ApiError> {
    let now = state.moderation.clock.now();
    let data = state
        .moderation
        .notices_of(&who.account_id)
        .await?
        .iter()
        .map(|n| n.to_json(now))
        .collect();
    Ok(list_response(data, false, None))
}

/// Body of an appeal.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewAppeal {
    notice_id: String,
    message: String,
}

/// `POST /v1/account/appeals`: appeals a notice within its appeal period.
pub async fn create_appeal(
    State(state): State<AppState>,
    who: Appellant,
    JsonBody(body): JsonBody<NewAppeal>,
) -> Result<Response, ApiError> {
    let appeal = state
        .moderation
        .appeal(&who.account_id, &body.notice_id, &body.message)
        .await?;
    Ok((StatusCode::CREATED, axum::Json(appeal_json(&appeal))).into_response())
}

/// `GET /v1/account/appeals`: the caller's appeals, newest first.
pub async fn account_appeals(
    State(state): State<AppState>,
    who: Appellant,
) -> Result<Response, ApiError> {
    let data = state
        .moderation
        .appeals(Some(&who.account_id), None)
        .await?
        .iter()
        .map(appeal_json)
        .collect();
    Ok(list_response(data, false, None))
}

fn appeal_json(a: &crate::moderation::enforcement::Appeal) -> serde_json::Value {
    let mut v = serde_json::to_value(a).expect("serialises");
    v["object"] = json!("appeal");
    v
}

/// `GET /admin/v1/flags?account_id=&action=&category=&stage=&after=&limit=`:
/// refused, flagged and failed checks, newest first.
pub async fn flags(
    State(state): State<AppState>,
    who: Principal,
    QueryParams(q): QueryParams<FlagQuery>,
) -> Result<Response, ApiError> {
    admin_only(&who)?;
    let limit = page_limit(q.limit, q.after.as_deref(), 50, 500, "flag")?;
    let (list, has_more) = state.moderation.flags(&q, limit).await?;
    let last_id = list.last().map(|f| f.id.clone());
    let data = list.iter().map(flag_json).collect();
    Ok(list_response(data, has_more, last_id))
}

/// `GET /admin/v1/flags/{flag_id}`.
pub async fn flag(
    State(state): State<AppState>,
    who: Principal,
    PathParams(flag_id): PathParams<String>,
) -> Result<Response, ApiError> {
    admin_only(&who)?;
    let flag =
        state.moderation.flag(&flag_id).await?.ok_or_else(|| {
            ApiError::new(ErrorCode::NotFound, "no such flag").with_param("flag_id")
        })?;
    Ok(axum::Json(flag_json(&flag)).into_response())
}

fn flag_json(f: &crate::moderation::Flag) -> serde_json::Value {
    let mut v = serde_json::to_value(f).expect("serialises");
    v["object"] = json!("flag");
    v
}

/// `GET /admin/v1/audit?account_id=&key_id=&actor=&action=&after=&limit=`:
/// the audit log, newest first.
pub async fn audit(
    State(state): State<AppState>,
    who: Principal,
    QueryParams(q): QueryParams<AuditQuery>,
) -> Result<Response, ApiError> {
    admin_only(&who)?;
    let limit = page_limit(q.limit, q.after.as_deref(), 50, 500, "aud")?;
    let (list, has_more) = state.audit.list(&q, limit).await?;
    let last_id = list.last().map(|e| e.id.clone());
    let data = list
        .iter()
        .map(|e| {
            let mut v = serde_json::to_value(e).expect("serialises");
            v["object"] = json!("audit_entry");
            v
        })
        .collect();
    Ok(list_response(data, has_more, last_id))
}

/// Query of the operator's notice and appeal lists.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnforcementQuery {
    account_id: Option<String>,
    status: Option<AppealStatus>,
}

/// `GET /admin/v1/notices?account_id=`: enforcement notices, newest first.
pub async fn notices(
    State(state): State<AppState>,
    who: Principal,
    QueryParams(q): QueryParams<EnforcementQuery>,
) -> Result<Response, ApiError> {
    admin_only(&who)?;
    let now = state.moderation.clock.now();
    let list = match &q.account_id {
        Some(id) => state.moderation.notices_of(id).await?,
        None => state.moderation.all_notices().await?,
    };
    Ok(list_response(
        list.iter().map(|n| n.to_json(now)).collect(),
        false,
        None,
    ))
}

/// `GET /admin/v1/appeals?status=&account_id=`: appeals, newest first.
pub async fn appeals(
    State(state): State<AppState>,
    who: Principal,
    QueryParams(q): QueryParams<EnforcementQuery>,
) -> Result<Response, ApiError> {
    admin_only(&who)?;
    let list = state
        .moderation
        .appeals(q.account_id.as_deref(), q.status)
        .await?;
    Ok(list_response(
        list.iter().map(appeal_json).collect(),
        false,
        None,
    ))
}

/// Body of an appeal decision.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AppealDecision {
    note: String,
}

/// `POST /admin/v1/appeals/{appeal_id}/reinstate` or `…/uphold`.
pub async fn decide_appeal(
    State(state): State<AppState>,
    who: Principal,
    PathParams((appeal_id, action)): PathParams<(String, String)>,
    body: Bytes,
) -> Result<Response, ApiError> {
    admin_only(&who)?;
    let body: AppealDecision = optional_body(&body)?;
    let reinstate = match action.as_str() {
        "reinstate" => true,
        "uphold" => false,
        other => {
            return Err(ApiError::new(
                ErrorCode::NotFound,
                format!("no appeal action {other:?}; use reinstate or uphold"),
            ));
        }
    };
    let appeal = state
        .moderation
        .decide(&appeal_id, reinstate, &body.note)
        .await?;
    let mut response = axum::Json(appeal_json(&appeal)).into_response();
    // The decision wrote its own, richer audit entry.
    response.extensions_mut().insert(super::audit::Audited);
    Ok(response)
}

/// `GET /admin/v1/policies`: the policies bound to each model, in the order
/// they check it.
pub async fn policies(State(state): State<AppState>, who: Principal) -> Result<Response, ApiError> {
    admin_only(&who)?;
    let bindings = state.moderation.bindings();
    let describe = |p: &std::sync::Arc<crate::plugins::PolicyPlugin>| {
        json!({
            "plugin": p.core().manifest().name,
            "version": p.core().manifest().version,
            "categories": p.info.categories,
        })
    };
    let catalogue = state.catalogue.read().expect("lock").clone();
    let models: serde_json::Map<String, serde_json::Value> = catalogue
        .routes()
        .map(|r| {
            let bound: Vec<_> = bindings
                .for_model(&r.info.id)
                .iter()
                .map(describe)
                .collect();
            (r.info.id.clone(), json!(bound))
        })
        .collect();
    let c = state.moderation.config();
    Ok(axum::Json(json!({
        "object": "policy_bindings",
        "global": bindings.global.iter().map(describe).collect::<Vec<_>>(),
        "models": models,
        "charge_intercepted": c.charge_intercepted,
        "enforcement": {
            "strike_window_hours": c.strike_window_hours,
            "key_strikes": c.key_strikes,
            "account_strikes": c.account_strikes,
            "appeal_days": c.appeal_days,
        },
    }))
    .into_response())
}

//! Moderation routes: an account's enforcement notices and appeals, and the
//! operator's flagged requests, audit log, appeal decisions and policy
//! bindings.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde::Deserialize;

use super::AppState;
use super::admin::{admin_only, optional_body};
use super::error::{ApiError, ErrorCode};
use super::extract::{
    Appellant, JsonBody, Page, PathParams, QueryParams, list_response, page_limit,
};
use crate::audit::AuditEntry;
use crate::audit::AuditQuery;
use crate::auth::Principal;
use crate::moderation::enforcement::{Appeal, AppealStatus, EnforcementError, NoticeView};
use crate::moderation::{Flag, FlagQuery};

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

/// The enforcement actions taken against the caller's account, newest
/// first (suspended accounts may read them).
#[utoipa::path(get, path = "/v1/account/notices", tag = "moderation",
    security(("account_key" = [])),
    responses((status = 200, description = "The notices", body = Page<NoticeView>)))]
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
        .map(|n| n.view(now))
        .collect::<Vec<_>>();
    Ok(list_response(data, false, None))
}

/// Body of an appeal.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAppeal {
    /// The notice appealed, `ntc_…`.
    notice_id: String,
    /// What the account says.
    message: String,
}

/// An appeal.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct AppealView {
    /// `appeal`.
    object: &'static str,
    #[serde(flatten)]
    appeal: Appeal,
}

/// Appeals a notice within its appeal period.
#[utoipa::path(post, path = "/v1/account/appeals", tag = "moderation", request_body = NewAppeal,
    security(("account_key" = [])),
    responses((status = 201, description = "The appeal, pending", body = AppealView)))]
pub async fn create_appeal(
    State(state): State<AppState>,
    who: Appellant,
    JsonBody(body): JsonBody<NewAppeal>,
) -> Result<Response, ApiError> {
    let appeal = state
        .moderation
        .appeal(&who.account_id, &body.notice_id, &body.message)
        .await?;
    Ok((StatusCode::CREATED, axum::Json(appeal_json(appeal))).into_response())
}

/// The caller's appeals, newest first.
#[utoipa::path(get, path = "/v1/account/appeals", tag = "moderation",
    security(("account_key" = [])),
    responses((status = 200, description = "The appeals", body = Page<AppealView>)))]
pub async fn account_appeals(
    State(state): State<AppState>,
    who: Appellant,
) -> Result<Response, ApiError> {
    let data = state
        .moderation
        .appeals(Some(&who.account_id), None)
        .await?
        .into_iter()
        .map(appeal_json)
        .collect::<Vec<_>>();
    Ok(list_response(data, false, None))
}

fn appeal_json(appeal: Appeal) -> AppealView {
    AppealView {
        object: "appeal",
        appeal,
    }
}

/// A flagged request.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct FlagView {
    /// `flag`.
    object: &'static str,
    #[serde(flatten)]
    flag: Flag,
}

/// Refused, flagged and failed checks, newest first, cursor-paginated.
#[utoipa::path(get, path = "/admin/v1/flags", tag = "moderation", params(FlagQuery),
    security(("admin_key" = [])),
    responses((status = 200, description = "A page of flagged requests", body = Page<FlagView>)))]
pub async fn flags(
    State(state): State<AppState>,
    who: Principal,
    QueryParams(q): QueryParams<FlagQuery>,
) -> Result<Response, ApiError> {
    admin_only(&who)?;
    let limit = page_limit(q.limit, q.after.as_deref(), 50, 500, "flag")?;
    let (list, has_more) = state.moderation.flags(&q, limit).await?;
    let last_id = list.last().map(|f| f.id.clone());
    let data = list.into_iter().map(flag_json).collect::<Vec<_>>();
    Ok(list_response(data, has_more, last_id))
}

/// One flagged request, with what was asked and produced.
#[utoipa::path(get, path = "/admin/v1/flags/{flag_id}", tag = "moderation",
    params(("flag_id" = String, Path, description = "`flag_…`")),
    security(("admin_key" = [])),
    responses((status = 200, description = "The flagged request", body = FlagView)))]
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
    Ok(axum::Json(flag_json(flag)).into_response())
}

fn flag_json(flag: Flag) -> FlagView {
    FlagView {
        object: "flag",
        flag,
    }
}

/// An audit log entry.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct AuditEntryView {
    /// `audit_entry`.
    object: &'static str,
    #[serde(flatten)]
    entry: AuditEntry,
}

/// The audit log, newest first, cursor-paginated.
#[utoipa::path(get, path = "/admin/v1/audit", tag = "moderation", params(AuditQuery),
    security(("admin_key" = [])),
    responses((status = 200, description = "A page of the audit log", body = Page<AuditEntryView>)))]
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
        .into_iter()
        .map(|entry| AuditEntryView {
            object: "audit_entry",
            entry,
        })
        .collect::<Vec<_>>();
    Ok(list_response(data, has_more, last_id))
}

/// Query of the operator's notice and appeal lists.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct EnforcementQuery {
    /// Only this account's.
    account_id: Option<String>,
    /// Appeals only: only those in this state.
    status: Option<AppealStatus>,
}

/// Enforcement notices, newest first.
#[utoipa::path(get, path = "/admin/v1/notices", tag = "moderation", params(EnforcementQuery),
    security(("admin_key" = [])),
    responses((status = 200, description = "The notices", body = Page<NoticeView>)))]
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
        list.iter().map(|n| n.view(now)).collect::<Vec<_>>(),
        false,
        None,
    ))
}

/// Appeals, newest first.
#[utoipa::path(get, path = "/admin/v1/appeals", tag = "moderation", params(EnforcementQuery),
    security(("admin_key" = [])),
    responses((status = 200, description = "The appeals", body = Page<AppealView>)))]
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
        list.into_iter().map(appeal_json).collect::<Vec<_>>(),
        false,
        None,
    ))
}

/// Body of an appeal decision.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, default)]
pub struct AppealDecision {
    /// The operator's note, shown to the account.
    note: String,
}

/// How an appeal is decided.
#[derive(Debug, Clone, Copy, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum AppealAction {
    /// Undoes the action, voiding the strikes it rested on.
    Reinstate,
    /// The action stands.
    Uphold,
}

/// Decides a pending appeal. The body may be empty.
#[utoipa::path(post, path = "/admin/v1/appeals/{appeal_id}/{action}", tag = "moderation",
    params(("appeal_id" = String, Path, description = "`apl_…`"),
        ("action" = inline(AppealAction), Path, description = "The decision")),
    request_body(content = Option<AppealDecision>, description = "May be empty"),
    security(("admin_key" = [])),
    responses((status = 200, description = "The appeal, decided", body = AppealView)))]
pub async fn decide_appeal(
    State(state): State<AppState>,
    who: Principal,
    PathParams((appeal_id, action)): PathParams<(String, String)>,
    body: Bytes,
) -> Result<Response, ApiError> {
    admin_only(&who)?;
    let body: AppealDecision = optional_body(&body)?;
    let reinstate = match super::admin::action::<AppealAction>(&action, "appeal")
        .map_err(|e| ApiError::new(e.code, format!("{}; use reinstate or uphold", e.message)))?
    {
        AppealAction::Reinstate => true,
        AppealAction::Uphold => false,
    };
    let appeal = state
        .moderation
        .decide(&appeal_id, reinstate, &body.note, "admin")
        .await?;
    let mut response = axum::Json(appeal_json(appeal)).into_response();
    // The decision wrote its own, richer audit entry.
    response.extensions_mut().insert(super::audit::Audited);
    Ok(response)
}

/// The content policies in force.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct PolicyBindings {
    /// `policy_bindings`.
    object: &'static str,
    /// The policies every request is checked by, in order.
    global: Vec<BoundPolicy>,
    /// Each model's policies, in the order they check it.
    models: std::collections::BTreeMap<String, Vec<BoundPolicy>>,
    /// Whether an intercepted output is charged.
    charge_intercepted: bool,
    enforcement: EnforcementSettings,
}

/// A policy bound to requests.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct BoundPolicy {
    plugin: String,
    version: String,
    /// The categories it can return.
    categories: Vec<String>,
}

/// When refusals lead to suspensions.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct EnforcementSettings {
    strike_window_hours: f64,
    key_strikes: u32,
    account_strikes: u32,
    appeal_days: u32,
}

/// The policies bound to each model, in the order they check it, and the
/// enforcement settings.
#[utoipa::path(get, path = "/admin/v1/policies", tag = "moderation",
    security(("admin_key" = [])),
    responses((status = 200, description = "The bindings", body = PolicyBindings)))]
pub async fn policies(State(state): State<AppState>, who: Principal) -> Result<Response, ApiError> {
    admin_only(&who)?;
    let bindings = state.moderation.bindings();
    let describe = |p: &std::sync::Arc<crate::plugins::PolicyPlugin>| BoundPolicy {
        plugin: p.core().manifest().name.clone(),
        version: p.core().manifest().version.clone(),
        categories: p.info.categories.clone(),
    };
    let catalogue = state.catalogue.read().expect("lock").clone();
    let models = catalogue
        .routes()
        .map(|r| {
            let bound = bindings
                .for_model(&r.info.id)
                .iter()
                .map(describe)
                .collect();
            (r.info.id.clone(), bound)
        })
        .collect();
    let c = state.moderation.config();
    Ok(axum::Json(PolicyBindings {
        object: "policy_bindings",
        global: bindings.global.iter().map(describe).collect(),
        models,
        charge_intercepted: c.charge_intercepted,
        enforcement: EnforcementSettings {
            strike_window_hours: c.strike_window_hours,
            key_strikes: c.key_strikes,
            account_strikes: c.account_strikes,
            appeal_days: c.appeal_days,
        },
    })
    .into_response())
}

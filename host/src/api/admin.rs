//! Operator routes (admin key): accounts, credits and keys.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::AppState;
use super::account::{
    AccountView, KeyView, LedgerEntryView, LedgerPage, account_json, key_json, ledger_page,
    new_secret_json,
};
use super::error::{ApiError, ErrorCode};
use super::extract::{JsonBody, List, Page, PathParams, QueryParams, parse_json};
use super::operate::{AccountAction, Acted, ActionBody, act_on_account, decide_dispute_as};
use crate::accounts::KeyStatus;
use crate::auth::Principal;
use crate::moderation::enforcement::NoticeAction;
use crate::store::ledger::Dispute;

pub(super) fn admin_only(who: &Principal) -> Result<(), ApiError> {
    if who.admin {
        Ok(())
    } else {
        Err(ApiError::new(
            ErrorCode::PermissionDenied,
            "this route needs the admin key",
        ))
    }
}

/// A JSON body that may be empty, or `null` (then every field takes its
/// default).
pub(super) fn optional_body<T: DeserializeOwned>(bytes: &Bytes) -> Result<T, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) || bytes.trim_ascii() == b"null" {
        parse_json(b"{}")
    } else {
        parse_json(bytes)
    }
}

/// An action named in a path (`…/{action}`), as its enum; an unknown one is
/// 404 NOT_FOUND, as a route that does not exist.
pub(super) fn action<T: DeserializeOwned>(action: &str, what: &str) -> Result<T, ApiError> {
    serde_json::from_value(serde_json::Value::String(action.to_string()))
        .map_err(|_| ApiError::new(ErrorCode::NotFound, format!("no {what} action {action:?}")))
}

/// Body of account creation.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAccount {
    /// The account's email address (unique).
    email: String,
}

/// Creates an account, with no credits and no key.
#[utoipa::path(post, path = "/admin/v1/accounts", tag = "admin", request_body = NewAccount,
    security(("admin_key" = [])),
    responses((status = 201, description = "The account", body = AccountView, links(
        ("GetAccount" = (operation_id = "get_account", parameters(("account_id" = "$response.body#/id")))),
        ("GetAccountLedger" = (operation_id = "account_ledger", parameters(("account_id" = "$response.body#/id")))),
        ("ActOnAccount" = (operation_id = "account_action", parameters(("account_id" = "$response.body#/id"))))
    ))))]
pub async fn create_account(
    State(state): State<AppState>,
    who: Principal,
    JsonBody(body): JsonBody<NewAccount>,
) -> Result<Response, ApiError> {
    admin_only(&who)?;
    let account = state.accounts.create(&body.email).await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(account_json(&state, &account).await?),
    )
        .into_response())
}

/// An account and its credits.
#[utoipa::path(get, path = "/admin/v1/accounts/{account_id}", tag = "admin",
    params(("account_id" = String, Path, description = "`acct_…`")),
    security(("admin_key" = [])),
    responses((status = 200, description = "The account", body = AccountView)))]
pub async fn get_account(
    State(state): State<AppState>,
    who: Principal,
    PathParams(account_id): PathParams<String>,
) -> Result<Response, ApiError> {
    admin_only(&who)?;
    let account = state.accounts.get(&account_id).await?;
    Ok(axum::Json(account_json(&state, &account).await?).into_response())
}

/// An account's ledger, oldest first, cursor-paginated.
#[utoipa::path(get, path = "/admin/v1/accounts/{account_id}/ledger", tag = "admin",
    params(("account_id" = String, Path, description = "`acct_…`"), LedgerPage),
    security(("admin_key" = [])),
    responses((status = 200, description = "A page of the ledger", body = Page<LedgerEntryView>)))]
pub async fn account_ledger(
    State(state): State<AppState>,
    who: Principal,
    PathParams(account_id): PathParams<String>,
    QueryParams(q): QueryParams<LedgerPage>,
) -> Result<Response, ApiError> {
    admin_only(&who)?;
    let page = q;
    let account = state.accounts.get(&account_id).await?;
    ledger_page(&state, &account.id, page).await
}

/// Acts on an account: `topup`, `adjust` and `refund` (with `credits` and
/// `reason`), `freeze`, `unfreeze`, `suspend`, `unsuspend`, `close`,
/// `limits` (`requests_per_minute`, `max_concurrent_tasks`; absent means the
/// default), `keys` (creates a key named `name`, optionally with its own
/// `requests_per_minute`) and `credit_line` (how far below zero the balance
/// may go). The body may be empty. A payment (`topup`, `adjust`, `refund`)
/// that covers what the account owed lifts an overdue suspension at once.
#[utoipa::path(post, path = "/admin/v1/accounts/{account_id}/{action}", tag = "admin",
    params(("account_id" = String, Path, description = "`acct_…`"),
        ("action" = inline(AccountAction), Path, description = "What to do")),
    request_body(content = Option<ActionBody>, description = "The fields the action reads; may be empty"),
    security(("admin_key" = [])),
    responses((status = 200, description = "The account after the action", body = AccountView),
        (status = 201, description = "`keys`: the new key, with its secret", body = KeyView, links(
            ("ActOnKey" = (operation_id = "key_action", parameters(("key_id" = "$response.body#/id"))))
        ))))]
pub async fn account_action(
    State(state): State<AppState>,
    who: Principal,
    PathParams((account_id, action)): PathParams<(String, String)>,
    body: Bytes,
) -> Result<Response, ApiError> {
    admin_only(&who)?;
    let body: ActionBody = optional_body(&body)?;
    let action = self::action::<AccountAction>(&action, "account")?;
    match act_on_account(&state, &account_id, action, body, "admin").await? {
        Acted::Key(new) => {
            Ok((StatusCode::CREATED, axum::Json(new_secret_json(&new))).into_response())
        }
        Acted::Account { account, enforced } => {
            let mut response = axum::Json(account_json(&state, &account).await?).into_response();
            if enforced {
                // Enforcement actions write their own audit entry (with a
                // notice).
                response.extensions_mut().insert(super::audit::Audited);
            }
            Ok(response)
        }
    }
}

/// What `POST /admin/v1/keys/{key_id}/{action}` does.
#[derive(Debug, Clone, Copy, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum KeyAction {
    /// Refused until unsuspended (a notice to the account).
    Suspend,
    Unsuspend,
    /// For good.
    Revoke,
}

/// Suspends, unsuspends or revokes a key, optionally with a `reason`
/// (shown to the account in the notice of a suspension). The body may be
/// empty.
#[utoipa::path(post, path = "/admin/v1/keys/{key_id}/{action}", tag = "admin",
    params(("key_id" = String, Path, description = "`key_…`"),
        ("action" = inline(KeyAction), Path, description = "What to do")),
    request_body(content = Option<ActionBody>, description = "`reason`; may be empty"),
    security(("admin_key" = [])),
    responses((status = 200, description = "The key after the action", body = KeyView)))]
pub async fn key_action(
    State(state): State<AppState>,
    who: Principal,
    PathParams((key_id, action)): PathParams<(String, String)>,
    body: Bytes,
) -> Result<Response, ApiError> {
    admin_only(&who)?;
    let body: ActionBody = optional_body(&body)?;
    let status = match self::action::<KeyAction>(&action, "key")? {
        KeyAction::Suspend => KeyStatus::Suspended,
        KeyAction::Unsuspend => KeyStatus::Active,
        KeyAction::Revoke => KeyStatus::Revoked,
    };
    let enforced = if status == KeyStatus::Suspended {
        let key = state.accounts.key(&key_id).await?;
        state
            .moderation
            .enforce_by_admin(
                &key.account_id,
                Some(&key.id),
                NoticeAction::KeySuspended,
                body.reason.as_deref(),
            )
            .await?
            .is_some()
    } else {
        state.accounts.set_key_status(&key_id, status).await?;
        false
    };
    let key = state.accounts.key(&key_id).await?;
    let mut response = axum::Json(key_json(&key)).into_response();
    if enforced {
        response.extensions_mut().insert(super::audit::Audited);
    }
    Ok(response)
}

/// Query of `GET /admin/v1/disputes`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DisputeQuery {
    /// Only disputes in this state.
    status: Option<crate::bills::DisputeStatus>,
    /// Only this account's.
    account_id: Option<String>,
}

/// Bill disputes, newest first.
#[utoipa::path(get, path = "/admin/v1/disputes", tag = "admin", params(DisputeQuery),
    security(("admin_key" = [])),
    responses((status = 200, description = "The disputes", body = List<Dispute>)))]
pub async fn disputes(
    State(state): State<AppState>,
    who: Principal,
    QueryParams(q): QueryParams<DisputeQuery>,
) -> Result<Response, ApiError> {
    admin_only(&who)?;
    let list = state
        .disputes
        .list(q.status, q.account_id.as_deref())
        .await?;
    Ok(axum::Json(List::of(list)).into_response())
}

/// Body of a dispute decision.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, default)]
pub struct Decision {
    /// `resolve`: credits given back, as an adjustment (0 by default).
    credits: i64,
    /// The operator's note, shown to the account.
    note: String,
}

/// How a dispute is decided.
#[derive(Debug, Clone, Copy, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum DisputeAction {
    /// For the account, giving `credits` back.
    Resolve,
    /// Against the account.
    Reject,
}

/// Decides an open dispute. The body may be empty.
#[utoipa::path(post, path = "/admin/v1/disputes/{dispute_id}/{action}", tag = "admin",
    params(("dispute_id" = String, Path, description = "`dsp_…`"),
        ("action" = inline(DisputeAction), Path, description = "The decision")),
    request_body(content = Option<Decision>, description = "May be empty"),
    security(("admin_key" = [])),
    responses((status = 200, description = "The dispute, decided", body = Dispute)))]
pub async fn decide_dispute(
    State(state): State<AppState>,
    who: Principal,
    PathParams((id, action)): PathParams<(String, String)>,
    body: Bytes,
) -> Result<Response, ApiError> {
    admin_only(&who)?;
    let body: Decision = optional_body(&body)?;
    let resolve = matches!(
        self::action::<DisputeAction>(&action, "dispute")?,
        DisputeAction::Resolve
    );
    let dispute =
        decide_dispute_as(&state, &id, resolve, body.credits, &body.note, "admin").await?;
    Ok(axum::Json(dispute).into_response())
}

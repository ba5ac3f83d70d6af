//! Operator routes (admin key): accounts, credits and keys.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::AppState;
use super::account::{Page, account_json, close_account, key_json, ledger_page, new_secret_json};
use super::error::{ApiError, ErrorCode};
use super::extract::{JsonBody, PathParams, QueryParams, parse_json};
use crate::accounts::{AccountStatus, KeyStatus};
use crate::auth::Principal;
use crate::moderation::enforcement::NoticeAction;

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

/// A JSON body that may be empty (then every field takes its default).
pub(super) fn optional_body<T: DeserializeOwned>(bytes: &Bytes) -> Result<T, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        parse_json(b"{}")
    } else {
        parse_json(bytes)
    }
}

/// Body of account creation.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewAccount {
    email: String,
}

/// `POST /admin/v1/accounts`.
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

/// `GET /admin/v1/accounts/{id}`.
pub async fn get_account(
    State(state): State<AppState>,
    who: Principal,
    PathParams(account_id): PathParams<String>,
) -> Result<Response, ApiError> {
    admin_only(&who)?;
    let account = state.accounts.get(&account_id).await?;
    Ok(axum::Json(account_json(&state, &account).await?).into_response())
}

/// Body of credit and key actions.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ActionBody {
    credits: Option<i64>,
    reason: Option<String>,
    name: Option<String>,
    requests_per_minute: Option<u32>,
    max_concurrent_tasks: Option<u32>,
    credit_limit: Option<i64>,
}

/// `GET /admin/v1/accounts/{id}/ledger`.
pub async fn account_ledger(
    State(state): State<AppState>,
    who: Principal,
    PathParams(account_id): PathParams<String>,
    QueryParams(q): QueryParams<Page>,
) -> Result<Response, ApiError> {
    admin_only(&who)?;
    let page = q;
    let account = state.accounts.get(&account_id).await?;
    ledger_page(&state, &account.id, page).await
}

/// `POST /admin/v1/accounts/{id}/{action}`: `topup`, `adjust` and `refund`
/// (with `credits` and `reason`), `freeze`, `unfreeze`, `suspend`, `unsuspend`,
/// `close`, `limits` (`requests_per_minute`, `max_concurrent_tasks`; absent
/// means the default), and `keys` (creates a key named `name`, optionally
/// with its own `requests_per_minute`).
pub async fn account_action(
    State(state): State<AppState>,
    who: Principal,
    PathParams((account_id, action)): PathParams<(String, String)>,
    body: Bytes,
) -> Result<Response, ApiError> {
    admin_only(&who)?;
    let account = state.accounts.get(&account_id).await?;
    let body: ActionBody = optional_body(&body)?;
    let set_status = |from: AccountStatus, to: AccountStatus| {
        move |a: &mut crate::accounts::Account| {
            if a.status != from {
                return Err(crate::accounts::AccountError::Conflict(
                    format!("the account is {:?}, not {from:?}", a.status).to_lowercase(),
                ));
            }
            a.status = to;
            Ok(())
        }
    };
    // Enforcement actions write their own audit entry (with a notice).
    let mut enforced = false;
    let updated = match action.as_str() {
        "topup" => {
            let credits = body
                .credits
                .ok_or_else(|| ApiError::invalid("credits", "give the credits to add"))?;
            if account.status == AccountStatus::Closed {
                return Err(ApiError::new(ErrorCode::Conflict, "the account is closed"));
            }
            state
                .ledger
                .topup(&account.id, credits, "admin", body.reason.as_deref())
                .await?;
            account
        }
        "adjust" => {
            let credits = body.credits.filter(|c| *c != 0).ok_or_else(|| {
                ApiError::invalid(
                    "credits",
                    "give a non-zero number of credits (negative to deduct)",
                )
            })?;
            let reason = body
                .reason
                .filter(|r| !r.trim().is_empty())
                .ok_or_else(|| ApiError::invalid("reason", "an adjustment needs a reason"))?;
            state
                .ledger
                .adjust(&account.id, credits, "admin", &reason)
                .await?;
            account
        }
        "refund" => {
            let credits = body
                .credits
                .ok_or_else(|| ApiError::invalid("credits", "give the credits to give back"))?;
            let reason = body
                .reason
                .filter(|r| !r.trim().is_empty())
                .ok_or_else(|| ApiError::invalid("reason", "a refund needs a reason"))?;
            state
                .ledger
                .refund(&account.id, credits, "admin", &reason)
                .await?;
            account
        }
        "freeze" => {
            enforced = state
                .moderation
                .enforce_by_admin(
                    &account.id,
                    None,
                    NoticeAction::CreditsFrozen,
                    body.reason.as_deref(),
                )
                .await?
                .is_some();
            account
        }
        "unfreeze" => {
            state
                .accounts
                .update(&account.id, |a| {
                    a.credits_frozen = false;
                    Ok(())
                })
                .await?
        }
        "suspend" => {
            state
                .moderation
                .enforce_by_admin(
                    &account.id,
                    None,
                    NoticeAction::AccountSuspended,
                    body.reason.as_deref(),
                )
                .await?;
            enforced = true;
            account
        }
        "unsuspend" => {
            state
                .accounts
                .update(
                    &account.id,
                    set_status(AccountStatus::Suspended, AccountStatus::Active),
                )
                .await?
        }
        "close" => close_account(&state, &account.id, "admin").await?,
        "limits" => {
            if body.requests_per_minute == Some(0) || body.max_concurrent_tasks == Some(0) {
                return Err(ApiError::invalid(
                    "requests_per_minute",
                    "limits must be at least 1",
                ));
            }
            state
                .accounts
                .update(&account.id, |a| {
                    a.limits.requests_per_minute = body.requests_per_minute;
                    a.limits.max_concurrent_tasks = body.max_concurrent_tasks;
                    Ok(())
                })
                .await?
        }
        "keys" => {
            let name = body.name.unwrap_or_else(|| "default".into());
            let new = state
                .accounts
                .create_key(
                    &account.id,
                    &name,
                    body.requests_per_minute,
                    body.credit_limit,
                )
                .await?;
            return Ok((StatusCode::CREATED, axum::Json(new_secret_json(&new))).into_response());
        }
        other => {
            return Err(ApiError::new(
                ErrorCode::NotFound,
                format!("no account action {other:?}"),
            ));
        }
    };
    let account = state.accounts.get(&updated.id).await?;
    let mut response = axum::Json(account_json(&state, &account).await?).into_response();
    if enforced {
        response.extensions_mut().insert(super::audit::Audited);
    }
    Ok(response)
}

/// `POST /admin/v1/keys/{id}/{action}`: `suspend`, `unsuspend`, `revoke`,
/// optionally with a `reason` (shown to the account in the notice of a
/// suspension).
pub async fn key_action(
    State(state): State<AppState>,
    who: Principal,
    PathParams((key_id, action)): PathParams<(String, String)>,
    body: Bytes,
) -> Result<Response, ApiError> {
    admin_only(&who)?;
    let body: ActionBody = optional_body(&body)?;
    let status = match action.as_str() {
        "suspend" => KeyStatus::Suspended,
        "unsuspend" => KeyStatus::Active,
        "revoke" => KeyStatus::Revoked,
        other => {
            return Err(ApiError::new(
                ErrorCode::NotFound,
                format!("no key action {other:?}"),
            ));
        }
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
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DisputeQuery {
    status: Option<crate::bills::DisputeStatus>,
    account_id: Option<String>,
}

/// `GET /admin/v1/disputes?status=&account_id=`.
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
    Ok(
        axum::Json(serde_json::json!({ "object": "list", "data": list, "has_more": false }))
            .into_response(),
    )
}

/// Body of a dispute decision.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Decision {
    credits: i64,
    note: String,
}

/// `POST /admin/v1/disputes/{id}/resolve` (`credits` returned as an
/// adjustment) or `…/reject`.
pub async fn decide_dispute(
    State(state): State<AppState>,
    who: Principal,
    PathParams((id, action)): PathParams<(String, String)>,
    body: Bytes,
) -> Result<Response, ApiError> {
    admin_only(&who)?;
    let body: Decision = optional_body(&body)?;
    let resolve = match action.as_str() {
        "resolve" => true,
        "reject" => false,
        other => {
            return Err(ApiError::new(
                ErrorCode::NotFound,
                format!("no dispute action {other:?}"),
            ));
        }
    };
    let dispute = state
        .disputes
        .decide(&id, resolve, body.credits, &body.note)
        .await?;
    Ok(axum::Json(serde_json::to_value(dispute).expect("serialises")).into_response())
}

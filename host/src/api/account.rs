//! The caller's own account: balance, ledger, keys, closing.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use super::AppState;
use super::error::{ApiError, ErrorCode};
use super::extract::{JsonBody, PathParams, QueryParams, list_response, page_limit};
use crate::accounts::{Account, AccountStatus, ApiKey, KeyStatus, NewSecret};
use crate::auth::Principal;
use crate::ledger::Entry;

/// The account view, with its credits.
pub async fn account_json(state: &AppState, account: &Account) -> Result<Value, ApiError> {
    let b = state.ledger.balance(&account.id).await?;
    Ok(json!({
        "id": account.id,
        "object": "account",
        "email": account.email,
        "status": account.status,
        "credit_balance": b.balance,
        "credits_held": b.held,
        "credits_available": b.available(),
        "credits_frozen": account.credits_frozen,
        "rate_limits": {
            "requests_per_minute": account.limits.requests_per_minute.unwrap_or(state.config.limits.requests_per_minute),
            "max_concurrent_tasks": account.limits.max_concurrent_tasks.unwrap_or(state.config.limits.max_concurrent_tasks),
        },
        "created_at": account.created_at,
    }))
}

/// The key view (never the secret).
pub fn key_json(key: &ApiKey) -> Value {
    json!({
        "id": key.id,
        "object": "api_key",
        "account_id": key.account_id,
        "name": key.name,
        "prefix": key.prefix,
        "status": key.status,
        "created_at": key.created_at,
        "last_used_at": key.last_used_at,
        "requests_per_minute": key.requests_per_minute,
        "credit_limit": key.credit_limit,
    })
}

/// The key view plus the secret, shown this once.
pub fn new_secret_json(new: &NewSecret) -> Value {
    let mut v = key_json(&new.key);
    v["secret"] = json!(new.secret);
    v
}

fn ledger_entry_json(entry: &Entry) -> Value {
    let mut v = serde_json::to_value(entry).expect("entries serialise");
    v["object"] = json!("ledger_entry");
    v
}

/// The caller's account; the admin key has none.
async fn own_account(state: &AppState, who: &Principal) -> Result<Account, ApiError> {
    if who.admin {
        return Err(ApiError::new(
            ErrorCode::PermissionDenied,
            "the admin key has no account; use an account's API key",
        ));
    }
    Ok(state.accounts.get(&who.owner).await?)
}

/// `GET /v1/account`.
pub async fn get_account(
    State(state): State<AppState>,
    who: Principal,
) -> Result<Response, ApiError> {
    let account = own_account(&state, &who).await?;
    Ok(axum::Json(account_json(&state, &account).await?).into_response())
}

/// Query of a ledger page.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Page {
    after: Option<String>,
    limit: Option<usize>,
}

/// `GET /v1/account/ledger`: entries oldest first, cursor-paginated.
pub async fn ledger(
    State(state): State<AppState>,
    who: Principal,
    QueryParams(q): QueryParams<Page>,
) -> Result<Response, ApiError> {
    let page = q;
    let account = own_account(&state, &who).await?;
    ledger_page(&state, &account.id, page).await
}

/// A page of an account's ledger.
pub async fn ledger_page(
    state: &AppState,
    account_id: &str,
    page: Page,
) -> Result<Response, ApiError> {
    let limit = page_limit(page.limit, page.after.as_deref(), 100, 1000, "le")?;
    let (entries, has_more) = state
        .ledger
        .entries(account_id, page.after.as_deref(), limit)
        .await?;
    let last_id = entries.last().map(|e| e.id.clone());
    Ok(list_response(
        entries.iter().map(ledger_entry_json).collect(),
        has_more,
        last_id,
    ))
}

/// Body of key creation.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewKey {
    name: String,
    requests_per_minute: Option<u32>,
    credit_limit: Option<i64>,
}

/// `POST /v1/keys`: a new key for the caller's account, secret shown once.
pub async fn create_key(
    State(state): State<AppState>,
    who: Principal,
    JsonBody(body): JsonBody<NewKey>,
) -> Result<Response, ApiError> {
    let account = own_account(&state, &who).await?;
    let new = state
        .accounts
        .create_key(
            &account.id,
            &body.name,
            body.requests_per_minute,
            body.credit_limit,
        )
        .await?;
    Ok((StatusCode::CREATED, axum::Json(new_secret_json(&new))).into_response())
}

/// `GET /v1/keys`.
pub async fn list_keys(
    State(state): State<AppState>,
    who: Principal,
) -> Result<Response, ApiError> {
    let account = own_account(&state, &who).await?;
    let keys = state.accounts.keys_of(&account.id).await?;
    Ok(axum::Json(json!({ "object": "list", "data": keys.iter().map(key_json).collect::<Vec<_>>(), "has_more": false })).into_response())
}

/// One of the caller's keys; another account's key does not exist for them.
async fn own_key(state: &AppState, who: &Principal, key_id: &str) -> Result<ApiKey, ApiError> {
    let account = own_account(state, who).await?;
    let not_found =
        || ApiError::new(ErrorCode::NotFound, format!("no key {key_id:?}")).with_param("key_id");
    if !crate::ids::is_valid("key", key_id) {
        return Err(not_found());
    }
    state
        .accounts
        .key(key_id)
        .await
        .ok()
        .filter(|k| k.account_id == account.id)
        .ok_or_else(not_found)
}

/// `POST /v1/keys/{id}/rotate`: a new secret; the old one stops working.
pub async fn rotate_key(
    State(state): State<AppState>,
    who: Principal,
    PathParams(key_id): PathParams<String>,
) -> Result<Response, ApiError> {
    let key = own_key(&state, &who, &key_id).await?;
    let new = state.accounts.rotate_key(&key.id).await?;
    Ok(axum::Json(new_secret_json(&new)).into_response())
}

/// `DELETE /v1/keys/{id}`: revokes the key.
pub async fn revoke_key(
    State(state): State<AppState>,
    who: Principal,
    PathParams(key_id): PathParams<String>,
) -> Result<Response, ApiError> {
    let key = own_key(&state, &who, &key_id).await?;
    let key = state
        .accounts
        .set_key_status(&key.id, KeyStatus::Revoked)
        .await?;
    Ok(axum::Json(key_json(&key)).into_response())
}

/// Closes an account: refuses while credits are held, forfeits the unused
/// balance (a ledger entry), then marks it closed.
pub async fn close_account(
    state: &AppState,
    account_id: &str,
    actor: &str,
) -> Result<Account, ApiError> {
    let account = state.accounts.get(account_id).await?;
    if account.status == AccountStatus::Closed {
        return Err(ApiError::new(
            ErrorCode::Conflict,
            "the account is already closed",
        ));
    }
    if state.ledger.balance(account_id).await?.held > 0 {
        return Err(ApiError::new(
            ErrorCode::Conflict,
            "tasks of this account are still running; close it when they finish",
        ));
    }
    state.ledger.forfeit(account_id, actor).await?;
    Ok(state
        .accounts
        .update(account_id, |a| {
            a.status = AccountStatus::Closed;
            Ok(())
        })
        .await?)
}

/// `POST /v1/account/close`.
pub async fn close(State(state): State<AppState>, who: Principal) -> Result<Response, ApiError> {
    let account = own_account(&state, &who).await?;
    let account = close_account(&state, &account.id, who.actor()).await?;
    Ok(axum::Json(account_json(&state, &account).await?).into_response())
}

/// Query of `GET /v1/account/usage`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UsageQuery {
    start: Option<String>,
    end: Option<String>,
    group_by: Option<crate::bills::GroupBy>,
}

/// `GET /v1/account/usage?start=YYYY-MM-DD&end=YYYY-MM-DD&group_by=model|key|day`:
/// charges from `start` (default: 30 days ago) to before `end` (default:
/// tomorrow), grouped (default: by model).
pub async fn usage(
    State(state): State<AppState>,
    who: Principal,
    QueryParams(q): QueryParams<UsageQuery>,
) -> Result<Response, ApiError> {
    let account = own_account(&state, &who).await?;
    let today = time::OffsetDateTime::now_utc().replace_time(time::Time::MIDNIGHT);
    let start = match q.start.as_deref() {
        Some(s) => crate::bills::day_start(s, "start")?,
        None => today - time::Duration::days(30),
    };
    let end = match q.end.as_deref() {
        Some(s) => crate::bills::day_start(s, "end")?,
        None => today + time::Duration::days(1),
    };
    if end <= start {
        return Err(ApiError::invalid("end", "end must be after start"));
    }
    let group_by = q.group_by.unwrap_or(crate::bills::GroupBy::Model);
    let rows = crate::bills::usage(
        &state.ledger,
        &state.tasks,
        &account.id,
        start,
        end,
        group_by,
    )
    .await?;
    let key = match group_by {
        crate::bills::GroupBy::Model => "model",
        crate::bills::GroupBy::Key => "key_id",
        crate::bills::GroupBy::Day => "day",
    };
    let data: Vec<Value> = rows
        .iter()
        .map(|r| json!({ key: r.group, "tasks": r.tasks, "credits": r.credits }))
        .collect();
    Ok(axum::Json(json!({
        "object": "list",
        "group_by": key,
        "start": start.date().to_string(),
        "end": end.date().to_string(),
        "data": data,
    }))
    .into_response())
}

/// `GET /v1/account/bills/{YYYY-MM}`.
pub async fn bill(
    State(state): State<AppState>,
    who: Principal,
    PathParams(month): PathParams<String>,
) -> Result<Response, ApiError> {
    let account = own_account(&state, &who).await?;
    let bill = crate::bills::bill(&state.ledger, &state.tasks, &account.id, &month).await?;
    let mut v = serde_json::to_value(&bill).expect("bills serialise");
    v["object"] = json!("bill");
    v["account_id"] = json!(account.id);
    v["charges"] = json!(
        bill.charges
            .iter()
            .map(|r| json!({ "model": r.group, "tasks": r.tasks, "credits": r.credits }))
            .collect::<Vec<_>>()
    );
    Ok(axum::Json(v).into_response())
}

/// Body of a dispute.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewDispute {
    reason: String,
}

/// `POST /v1/account/bills/{YYYY-MM}/disputes`: within 30 days of the
/// month's end.
pub async fn dispute(
    State(state): State<AppState>,
    who: Principal,
    PathParams(month): PathParams<String>,
    JsonBody(body): JsonBody<NewDispute>,
) -> Result<Response, ApiError> {
    let account = own_account(&state, &who).await?;
    let dispute = state
        .disputes
        .file(
            &account.id,
            &month,
            &body.reason,
            time::OffsetDateTime::now_utc(),
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(serde_json::to_value(dispute).expect("serialises")),
    )
        .into_response())
}

/// The account's webhook endpoint and signing secret.
fn webhook_json(account: &Account) -> Value {
    json!({ "object": "webhook_endpoint", "url": account.webhook_url, "secret": account.webhook_secret })
}

/// `GET /v1/account/webhook`.
pub async fn get_webhook(
    State(state): State<AppState>,
    who: Principal,
) -> Result<Response, ApiError> {
    let account = own_account(&state, &who).await?;
    let account = if account.webhook_secret.is_none() {
        // Accounts made before webhooks existed get their secret now.
        state
            .accounts
            .update(&account.id, |a| {
                a.webhook_secret = Some(crate::webhooks::new_secret());
                Ok(())
            })
            .await?
    } else {
        account
    };
    Ok(axum::Json(webhook_json(&account)).into_response())
}

/// Body of `POST /v1/account/webhook`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SetWebhook {
    url: Option<String>,
}

/// `POST /v1/account/webhook` `{url}`: where every task's events also go
/// (`null` to stop).
pub async fn set_webhook(
    State(state): State<AppState>,
    who: Principal,
    JsonBody(body): JsonBody<SetWebhook>,
) -> Result<Response, ApiError> {
    let account = own_account(&state, &who).await?;
    if let Some(url) = &body.url {
        state
            .webhooks
            .check_url(url)
            .await
            .map_err(|e| ApiError::invalid("url", e.to_string()))?;
    }
    let account = state
        .accounts
        .update(&account.id, |a| {
            a.webhook_url = body.url.clone();
            a.webhook_secret
                .get_or_insert_with(crate::webhooks::new_secret);
            Ok(())
        })
        .await?;
    Ok(axum::Json(webhook_json(&account)).into_response())
}

/// `GET /v1/account/webhook/deliveries`: the latest 100, newest first.
pub async fn webhook_deliveries(
    State(state): State<AppState>,
    who: Principal,
) -> Result<Response, ApiError> {
    let account = own_account(&state, &who).await?;
    let deliveries = state.webhooks.deliveries(&account.id, 100).await?;
    let data = deliveries.iter().map(|d| {
        json!({
            "id": d.id, "object": "webhook_delivery", "event": d.event, "task_id": d.task_id, "url": d.url,
            "status": d.status, "attempts": d.attempts, "last_error": d.last_error, "created_at": d.created_at,
        })
    });
    Ok(list_response(data.collect(), false, None))
}

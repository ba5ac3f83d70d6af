//! The caller's own account: balance, ledger, keys, closing.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::AppState;
use super::error::{ApiError, ErrorCode};
use super::extract::{JsonBody, List, Page, PathParams, QueryParams, list_response, page_limit};
use crate::accounts::{Account, AccountStatus, ApiKey, KeyStatus, NewSecret};
use crate::auth::Principal;
use crate::ledger::Entry;
use crate::store::ledger::Dispute;

/// An account, with its credits.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct AccountView {
    /// `acct_…`.
    id: String,
    /// `account`.
    object: &'static str,
    email: String,
    status: AccountStatus,
    /// Credits on the account, held ones included.
    credit_balance: i64,
    /// Credits held by running tasks.
    credits_held: i64,
    /// What new requests can spend: the balance plus the credit line, less
    /// what is held.
    credits_available: i64,
    /// How far below zero the balance may go (0: no credit).
    credit_line: i64,
    /// Credits owed: the part of the balance below zero.
    amount_due: i64,
    /// When what is owed must be paid (RFC 3339): the end of the month the
    /// debt began in, plus the grace days; still owed after it, the account
    /// is suspended until a payment covers the balance. Absent when nothing
    /// is owed.
    #[serde(skip_serializing_if = "Option::is_none")]
    due_by: Option<String>,
    /// Whether the operator froze its credits (no new tasks).
    credits_frozen: bool,
    rate_limits: RateLimits,
    /// RFC 3339.
    created_at: String,
}

/// The limits in force for an account.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct RateLimits {
    requests_per_minute: u32,
    max_concurrent_tasks: u32,
}

/// The account view, with its credits.
pub async fn account_json(state: &AppState, account: &Account) -> Result<AccountView, ApiError> {
    let b = state.ledger.balance(&account.id).await?;
    let due_by = state.overdue.due_by(&account.id, b).await?;
    Ok(AccountView {
        id: account.id.clone(),
        object: "account",
        email: account.email.clone(),
        status: account.status,
        credit_balance: b.balance,
        credits_held: b.held,
        credits_available: b.spendable(account.credit_line),
        credit_line: account.credit_line,
        amount_due: b.due(),
        due_by,
        credits_frozen: account.credits_frozen,
        rate_limits: RateLimits {
            requests_per_minute: account
                .limits
                .requests_per_minute
                .unwrap_or(state.config.limits.requests_per_minute),
            max_concurrent_tasks: account
                .limits
                .max_concurrent_tasks
                .unwrap_or(state.config.limits.max_concurrent_tasks),
        },
        created_at: account.created_at.clone(),
    })
}

/// An API key (never its secret, except once, when it is made).
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct KeyView {
    /// `key_…`.
    id: String,
    /// `api_key`.
    object: &'static str,
    account_id: String,
    name: String,
    /// The secret's first characters, to tell keys apart.
    prefix: String,
    status: KeyStatus,
    /// RFC 3339.
    created_at: String,
    /// RFC 3339, to the minute.
    last_used_at: Option<String>,
    /// The key's own rate, below the account's.
    requests_per_minute: Option<u32>,
    /// The most the key may have spent.
    credit_limit: Option<i64>,
    /// The secret: shown when the key is made or rotated, never again.
    #[serde(skip_serializing_if = "Option::is_none")]
    secret: Option<String>,
}

/// The key view (never the secret).
pub fn key_json(key: &ApiKey) -> KeyView {
    KeyView {
        id: key.id.clone(),
        object: "api_key",
        account_id: key.account_id.clone(),
        name: key.name.clone(),
        prefix: key.prefix.clone(),
        status: key.status,
        created_at: key.created_at.clone(),
        last_used_at: key.last_used_at.clone(),
        requests_per_minute: key.requests_per_minute,
        credit_limit: key.credit_limit,
        secret: None,
    }
}

/// The key view plus the secret, shown this once.
pub fn new_secret_json(new: &NewSecret) -> KeyView {
    KeyView {
        secret: Some(new.secret.clone()),
        ..key_json(&new.key)
    }
}

/// A ledger entry.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct LedgerEntryView {
    /// `ledger_entry`.
    object: &'static str,
    #[serde(flatten)]
    entry: Entry,
}

/// The caller's account; the admin key has none.
pub(super) async fn own_account(state: &AppState, who: &Principal) -> Result<Account, ApiError> {
    if who.admin {
        return Err(ApiError::new(
            ErrorCode::PermissionDenied,
            "the admin key has no account; use an account's API key",
        ));
    }
    Ok(state.accounts.get(&who.owner).await?)
}

/// The caller's account and credits (an account key only).
#[utoipa::path(get, path = "/v1/account", tag = "account", operation_id = "get_own_account",
    security(("account_key" = [])),
    responses((status = 200, description = "The account", body = AccountView)))]
pub async fn get_account(
    State(state): State<AppState>,
    who: Principal,
) -> Result<Response, ApiError> {
    let account = own_account(&state, &who).await?;
    Ok(axum::Json(account_json(&state, &account).await?).into_response())
}

/// Query of a ledger page.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct LedgerPage {
    /// The `le_…` id of the last entry of the previous page.
    after: Option<String>,
    /// Entries per page: 100 by default, at most 1000.
    limit: Option<usize>,
}

/// The caller's ledger: every credit movement, oldest first,
/// cursor-paginated.
#[utoipa::path(get, path = "/v1/account/ledger", tag = "account", params(LedgerPage),
    security(("account_key" = [])),
    responses((status = 200, description = "A page of the ledger", body = Page<LedgerEntryView>)))]
pub async fn ledger(
    State(state): State<AppState>,
    who: Principal,
    QueryParams(q): QueryParams<LedgerPage>,
) -> Result<Response, ApiError> {
    let page = q;
    let account = own_account(&state, &who).await?;
    ledger_page(&state, &account.id, page).await
}

/// A page of an account's ledger.
pub async fn ledger_page(
    state: &AppState,
    account_id: &str,
    page: LedgerPage,
) -> Result<Response, ApiError> {
    let limit = page_limit(page.limit, page.after.as_deref(), 100, 1000, "le")?;
    let (entries, has_more) = state
        .ledger
        .entries(account_id, page.after.as_deref(), limit)
        .await?;
    let last_id = entries.last().map(|e| e.id.clone());
    Ok(list_response(
        entries
            .into_iter()
            .map(|entry| LedgerEntryView {
                object: "ledger_entry",
                entry,
            })
            .collect(),
        has_more,
        last_id,
    ))
}

/// Body of key creation.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewKey {
    /// A name to tell it apart.
    name: String,
    /// Its own rate, below the account's.
    requests_per_minute: Option<u32>,
    /// The most it may spend.
    credit_limit: Option<i64>,
}

/// A new key for the caller's account; the secret is shown this once.
#[utoipa::path(post, path = "/v1/keys", tag = "account", request_body = NewKey,
    security(("account_key" = [])),
    responses((status = 201, description = "The key, with its secret", body = KeyView, links(
        ("RotateKey" = (operation_id = "rotate_key", parameters(("key_id" = "$response.body#/id")))),
        ("RevokeKey" = (operation_id = "revoke_key", parameters(("key_id" = "$response.body#/id"))))
    ))))]
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

/// The caller's keys (never their secrets).
#[utoipa::path(get, path = "/v1/keys", tag = "account",
    security(("account_key" = [])),
    responses((status = 200, description = "The keys", body = List<KeyView>)))]
pub async fn list_keys(
    State(state): State<AppState>,
    who: Principal,
) -> Result<Response, ApiError> {
    let account = own_account(&state, &who).await?;
    let keys = state.accounts.keys_of(&account.id).await?;
    Ok(axum::Json(List::of(keys.iter().map(key_json).collect())).into_response())
}

/// One of the caller's keys; another account's key does not exist for them.
async fn own_key(state: &AppState, who: &Principal, key_id: &str) -> Result<ApiKey, ApiError> {
    let account = own_account(state, who).await?;
    account_key(state, &account.id, key_id).await
}

/// A key of `account_id` (the API's and the console's): another account's
/// key, or a malformed id, is "not found".
pub async fn account_key(
    state: &AppState,
    account_id: &str,
    key_id: &str,
) -> Result<ApiKey, ApiError> {
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
        .filter(|k| k.account_id == account_id)
        .ok_or_else(not_found)
}

/// A new secret for a key; the old one stops working.
#[utoipa::path(post, path = "/v1/keys/{key_id}/rotate", tag = "account",
    params(("key_id" = String, Path, description = "`key_…`")),
    security(("account_key" = [])),
    responses((status = 200, description = "The key, with its new secret", body = KeyView)))]
pub async fn rotate_key(
    State(state): State<AppState>,
    who: Principal,
    PathParams(key_id): PathParams<String>,
) -> Result<Response, ApiError> {
    let key = own_key(&state, &who, &key_id).await?;
    let new = state.accounts.rotate_key(&key.id).await?;
    Ok(axum::Json(new_secret_json(&new)).into_response())
}

/// Revokes a key of the caller's.
#[utoipa::path(delete, path = "/v1/keys/{key_id}", tag = "account",
    params(("key_id" = String, Path, description = "`key_…`")),
    security(("account_key" = [])),
    responses((status = 200, description = "The key, revoked", body = KeyView)))]
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

/// Who closes an account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Closer {
    /// Its owner: it must owe nothing.
    Owner,
    /// An operator: it may owe (the debt stays on its ledger).
    Operator,
}

/// Closes an account as its owner `actor` (see [`close_account_as`]).
pub async fn close_account(
    state: &AppState,
    account_id: &str,
    actor: &str,
) -> Result<Account, ApiError> {
    close_account_as(state, account_id, actor, Closer::Owner).await
}

/// Closes an account: refuses while credits are held (and, for its owner,
/// while it owes), forfeits the unused balance (a ledger entry by `actor`),
/// then marks it closed.
pub async fn close_account_as(
    state: &AppState,
    account_id: &str,
    actor: &str,
    by: Closer,
) -> Result<Account, ApiError> {
    let account = state.accounts.get(account_id).await?;
    if account.status == AccountStatus::Closed {
        return Err(ApiError::new(
            ErrorCode::Conflict,
            "the account is already closed",
        ));
    }
    let b = state.ledger.balance(account_id).await?;
    if b.held > 0 {
        return Err(ApiError::new(
            ErrorCode::Conflict,
            "tasks of this account are still running; close it when they finish",
        ));
    }
    // An operator may close an account that owes (the debt stays on its
    // ledger); its owner pays first.
    if b.due() > 0 && by == Closer::Owner {
        return Err(ApiError::new(
            ErrorCode::Conflict,
            format!(
                "this account owes {} credits; pay them before closing it",
                b.due()
            ),
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

/// Closes the caller's account: refused while tasks run; the unused balance
/// is forfeited.
#[utoipa::path(post, path = "/v1/account/close", tag = "account",
    security(("account_key" = [])),
    responses((status = 200, description = "The account, closed", body = AccountView)))]
pub async fn close(State(state): State<AppState>, who: Principal) -> Result<Response, ApiError> {
    let account = own_account(&state, &who).await?;
    let account = close_account(&state, &account.id, who.actor()).await?;
    Ok(axum::Json(account_json(&state, &account).await?).into_response())
}

/// Query of `GET /v1/account/usage`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct UsageQuery {
    /// `YYYY-MM-DD`, the first day counted; 30 days ago by default.
    start: Option<String>,
    /// `YYYY-MM-DD`, the day after the last counted; tomorrow by default.
    end: Option<String>,
    /// `model` (the default), `key` or `day`.
    #[param(inline)]
    group_by: Option<crate::bills::GroupBy>,
}

/// Charges over days, by model, key or day.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct Usage {
    /// `list`.
    object: &'static str,
    /// `model`, `key_id` or `day`: the field that names each row's group.
    group_by: &'static str,
    /// `YYYY-MM-DD`.
    start: String,
    /// `YYYY-MM-DD`.
    end: String,
    data: Vec<UsageView>,
}

/// One group of [`Usage`]: its name is under the key `group_by` says.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct UsageView {
    #[serde(skip_serializing_if = "Option::is_none")]
    model: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    key_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    day: Option<String>,
    /// Tasks charged.
    tasks: u64,
    /// Credits charged.
    credits: i64,
}

/// The caller's charges from `start` (default: 30 days ago) to before
/// `end` (default: tomorrow), grouped (default: by model).
#[utoipa::path(get, path = "/v1/account/usage", tag = "account", params(UsageQuery),
    security(("account_key" = [])),
    responses((status = 200, description = "The usage", body = Usage)))]
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
    let data = rows
        .iter()
        .map(|r| {
            let name = |k| (key == k).then(|| r.group.clone());
            UsageView {
                model: name("model"),
                key_id: name("key_id"),
                day: name("day"),
                tasks: r.tasks,
                credits: r.credits,
            }
        })
        .collect();
    Ok(axum::Json(Usage {
        object: "list",
        group_by: key,
        start: start.date().to_string(),
        end: end.date().to_string(),
        data,
    })
    .into_response())
}

/// A month's bill.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct BillView {
    /// `bill`.
    object: &'static str,
    account_id: String,
    /// `YYYY-MM`.
    month: String,
    opening_balance: i64,
    topups: i64,
    /// Charges by model.
    charges: Vec<ChargeView>,
    charges_total: i64,
    refunds: i64,
    adjustments: i64,
    forfeited: i64,
    closing_balance: i64,
    /// Credits owed when the month ended (the closing balance below zero).
    amount_due: i64,
    /// When what is owed must be paid (RFC 3339); absent when nothing is
    /// owed. Still owed after it, the account is suspended until a payment
    /// covers the balance.
    #[serde(skip_serializing_if = "Option::is_none")]
    due_by: Option<String>,
}

/// A model's charges in a bill.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct ChargeView {
    model: String,
    tasks: u64,
    credits: i64,
}

/// A month's bill of the caller's account, from its ledger.
#[utoipa::path(get, path = "/v1/account/bills/{month}", tag = "account",
    params(("month" = String, Path, description = "`YYYY-MM`")),
    security(("account_key" = [])),
    responses((status = 200, description = "The bill", body = BillView)))]
pub async fn bill(
    State(state): State<AppState>,
    who: Principal,
    PathParams(month): PathParams<String>,
) -> Result<Response, ApiError> {
    let account = own_account(&state, &who).await?;
    let bill = crate::bills::bill(
        &state.ledger,
        &state.tasks,
        &account.id,
        &month,
        state.config.billing.overdue_grace_days,
    )
    .await?;
    Ok(axum::Json(BillView {
        object: "bill",
        account_id: account.id,
        charges: bill
            .charges
            .iter()
            .map(|r| ChargeView {
                model: r.group.clone(),
                tasks: r.tasks,
                credits: r.credits,
            })
            .collect(),
        month: bill.month,
        opening_balance: bill.opening_balance,
        topups: bill.topups,
        charges_total: bill.charges_total,
        refunds: bill.refunds,
        adjustments: bill.adjustments,
        forfeited: bill.forfeited,
        closing_balance: bill.closing_balance,
        amount_due: bill.amount_due,
        due_by: bill.due_by,
    })
    .into_response())
}

/// Body of a dispute.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewDispute {
    /// Why the bill is wrong.
    reason: String,
}

/// Disputes a month's bill, within 30 days of the month's end.
#[utoipa::path(post, path = "/v1/account/bills/{month}/disputes", tag = "account",
    params(("month" = String, Path, description = "`YYYY-MM`")),
    request_body = NewDispute,
    security(("account_key" = [])),
    responses((status = 201, description = "The dispute, open", body = Dispute)))]
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
    Ok((StatusCode::CREATED, axum::Json(dispute)).into_response())
}

//! Accounts, for staff: the list (search by id or email, filter by
//! status) and one account's page (credits, limits, keys, logins, ledger),
//! with the operator's actions through the admin API's own function
//! ([`act_on_account`]).

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::{Staff, wire};
use crate::accounts::{Account, AccountError, AccountQuery, AccountStatus};
use crate::api::operate::{AccountAction, Acted, ActionBody, act_on_account, record_act};
use crate::api::{ApiError, AppState};
use crate::console::SignedForm;
use crate::console::{Chrome, api_error_page, error_page, failure_page, page, url_escape};
use crate::people::PeopleError;

/// Accounts per page of the list.
const PER_PAGE: usize = 50;

/// Ledger entries per page of an account's ledger.
const LEDGER_PER_PAGE: usize = 25;

/// An account as the list shows it.
struct AccountRow {
    id: String,
    email: String,
    status: &'static str,
    frozen: bool,
    created_at: String,
}

/// The accounts list.
#[derive(Template)]
#[template(path = "console/admin/accounts.html")]
struct AccountsPage {
    chrome: Chrome,
    q: String,
    status: String,
    rows: Vec<AccountRow>,
    next: Option<String>,
}

/// Query of the accounts list.
#[derive(Debug, Deserialize)]
pub(crate) struct ListQuery {
    /// An account id (`acct_…`), or part of an email address.
    #[serde(default)]
    q: String,
    /// `active`, `suspended`, `closed`, or empty for all.
    #[serde(default)]
    status: String,
    /// The last account id of the previous page.
    after: Option<String>,
}

fn status_name(s: AccountStatus) -> &'static str {
    match s {
        AccountStatus::Active => "active",
        AccountStatus::Suspended => "suspended",
        AccountStatus::Closed => "closed",
    }
}

fn parse_status(s: &str) -> Option<AccountStatus> {
    crate::console::from_wire(s)
}

/// `GET /console/admin/accounts`: search by id or email, filter by status.
pub(crate) async fn list(
    State(state): State<AppState>,
    staff: Staff,
    Query(q): Query<ListQuery>,
) -> Response {
    let text = q.q.trim().to_string();
    let status = parse_status(&q.status);
    let found = if text.starts_with("acct_") {
        match state.accounts.get(&text).await {
            Ok(a) if status.is_none_or(|s| s == a.status) => Ok(vec![a]),
            Ok(_) | Err(AccountError::AccountNotFound) => Ok(Vec::new()),
            Err(e) => Err(e),
        }
    } else {
        let query = AccountQuery {
            after: q.after.clone(),
            status,
            email: (!text.is_empty()).then(|| text.clone()),
        };
        state.accounts.list(&query, PER_PAGE).await
    };
    let accounts = match found {
        Ok(a) => a,
        Err(e) => return failure_page("the accounts list", &e),
    };
    let status = status.map(status_name).unwrap_or_default().to_string();
    let next = (accounts.len() == PER_PAGE).then(|| {
        let last = accounts.last().map(|a| a.id.as_str()).unwrap_or_default();
        format!(
            "/console/admin/accounts?q={}&status={}&after={}",
            url_escape(&text),
            url_escape(&status),
            url_escape(last)
        )
    });
    let rows = accounts
        .into_iter()
        .map(|a| AccountRow {
            status: status_name(a.status),
            frozen: a.credits_frozen,
            id: a.id,
            email: a.email,
            created_at: a.created_at,
        })
        .collect();
    page(
        &AccountsPage {
            chrome: staff.person.chrome("accounts"),
            q: text,
            status,
            rows,
            next,
        },
        StatusCode::OK,
    )
}

/// A key as the account's page shows it.
struct KeyRow {
    id: String,
    name: String,
    prefix: String,
    status: String,
    created_at: String,
    last_used_at: String,
}

/// A login of the account, with its recent logins.
struct LoginRow {
    id: String,
    email: String,
    role: String,
    verified: bool,
    disabled: bool,
    second_factor: bool,
    events: Vec<EventRow>,
}

/// One login event.
struct EventRow {
    at: String,
    address: String,
    user_agent: String,
}

/// A ledger entry as the account's page shows it.
struct LedgerRow {
    id: String,
    kind: String,
    amount: i64,
    balance_after: i64,
    held_after: i64,
    actor: String,
    reason: String,
    created_at: String,
}

/// An action's refusal, shown at its form.
struct ActionError {
    action: &'static str,
    message: String,
}

/// One account's page.
#[derive(Template)]
#[template(path = "console/admin/account.html")]
struct AccountPage {
    chrome: Chrome,
    may_act: bool,
    notice: Option<String>,
    error: Option<ActionError>,
    id: String,
    email: String,
    status: &'static str,
    closed: bool,
    suspended: bool,
    frozen: bool,
    balance: i64,
    held: i64,
    available: i64,
    credit_line: i64,
    amount_due: i64,
    due_by: Option<String>,
    requests_per_minute: String,
    max_concurrent_tasks: String,
    keys: Vec<KeyRow>,
    logins: Vec<LoginRow>,
    ledger: Vec<LedgerRow>,
    ledger_next: Option<String>,
}

impl AccountPage {
    /// The refusal to show at the form of `action`, if it was refused.
    fn error_for(&self, action: &str) -> Option<&str> {
        self.error
            .as_ref()
            .filter(|e| e.action == action)
            .map(|e| e.message.as_str())
    }
}

/// Query of an account's page.
#[derive(Debug, Deserialize)]
pub(crate) struct ShowQuery {
    /// The last ledger entry of the previous page.
    after: Option<String>,
    /// The action just done, to say so.
    done: Option<String>,
    /// The action on a login just done, to say so.
    login_done: Option<String>,
}

/// `GET /console/admin/accounts/{id}`.
pub(crate) async fn show(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Query(q): Query<ShowQuery>,
) -> Response {
    let notice = q
        .done
        .as_deref()
        .and_then(|d| action_of(d).ok())
        .map(done_text)
        .or_else(|| q.login_done.as_deref().and_then(super::logins::done_text));
    match account_page(&state, &staff, &id, q.after.as_deref(), notice, None).await {
        Ok(view) => page(&view, StatusCode::OK),
        Err(e) => e,
    }
}

/// What the page says after `action` was done.
fn done_text(action: AccountAction) -> String {
    match action {
        AccountAction::Topup => "Credits added.",
        AccountAction::Adjust => "Balance adjusted.",
        AccountAction::Refund => "Credits given back.",
        AccountAction::Freeze => "Credits frozen: no new tasks.",
        AccountAction::Unfreeze => "Credits unfrozen.",
        AccountAction::Suspend => "Account suspended: its keys are refused.",
        AccountAction::Unsuspend => "Account reinstated.",
        AccountAction::Close => "Account closed.",
        AccountAction::Limits => "Limits set.",
        AccountAction::CreditLine => "Credit line set.",
        AccountAction::Keys => "Key made.",
    }
    .to_string()
}

/// An action the console offers (keys are made by their account).
fn action_of(name: &str) -> Result<AccountAction, ()> {
    let action: AccountAction = crate::console::from_wire(name).ok_or(())?;
    if action == AccountAction::Keys {
        return Err(());
    }
    Ok(action)
}

async fn account_page(
    state: &AppState,
    staff: &Staff,
    id: &str,
    after: Option<&str>,
    notice: Option<String>,
    error: Option<ActionError>,
) -> Result<AccountPage, Response> {
    let account = match state.accounts.get(id).await {
        Ok(a) => a,
        Err(e) => return Err(api_error_page(&ApiError::from(e))),
    };
    let fail = |what: &str, e: &dyn std::fmt::Display| failure_page(what, e);
    let b = state
        .ledger
        .balance(id)
        .await
        .map_err(|e| fail("an account's balance", &e))?;
    let due_by = state
        .overdue
        .due_by(id, b)
        .await
        .map_err(|e| fail("an account's due date", &e))?;
    let keys = state
        .accounts
        .keys_of(id)
        .await
        .map_err(|e| fail("an account's keys", &e))?;
    let (entries, more) = state
        .ledger
        .entries(id, after, LEDGER_PER_PAGE)
        .await
        .map_err(|e| fail("an account's ledger", &e))?;
    let logins = logins_of(state, &account)
        .await
        .map_err(|e| error_page(&e))?;
    let ledger_next = more.then(|| entries.last()).flatten().map(|e| {
        format!(
            "/console/admin/accounts/{}?after={}#ledger",
            url_escape(id),
            url_escape(&e.id)
        )
    });
    let limit = |v: Option<u32>| v.map_or_else(|| "default".to_string(), |n| n.to_string());
    Ok(AccountPage {
        chrome: staff.person.chrome("accounts"),
        may_act: staff.may_act(),
        notice,
        error,
        id: account.id.clone(),
        email: account.email.clone(),
        status: status_name(account.status),
        closed: account.status == AccountStatus::Closed,
        suspended: account.status == AccountStatus::Suspended,
        frozen: account.credits_frozen,
        balance: b.balance,
        held: b.held,
        available: b.spendable(account.credit_line),
        credit_line: account.credit_line,
        amount_due: b.due(),
        due_by,
        requests_per_minute: limit(account.limits.requests_per_minute),
        max_concurrent_tasks: limit(account.limits.max_concurrent_tasks),
        keys: keys
            .into_iter()
            .map(|k| KeyRow {
                id: k.id,
                name: k.name,
                prefix: k.prefix,
                status: format!("{:?}", k.status).to_lowercase(),
                created_at: k.created_at,
                last_used_at: k.last_used_at.unwrap_or_else(|| "never".into()),
            })
            .collect(),
        logins,
        ledger: entries
            .into_iter()
            .map(|e| LedgerRow {
                id: e.id,
                kind: wire(&e.kind),
                amount: e.amount,
                balance_after: e.balance_after,
                held_after: e.held_after,
                actor: e.actor,
                reason: e.reason.unwrap_or_default(),
                created_at: e.created_at,
            })
            .collect(),
        ledger_next,
    })
}

/// The logins that use `account` (a login is made with its own account,
/// under the same address), with their ten latest logins.
async fn logins_of(state: &AppState, account: &Account) -> Result<Vec<LoginRow>, PeopleError> {
    let mut rows = Vec::new();
    let email = crate::people::normalise_email(&account.email).unwrap_or_default();
    if let Some(login) = state.people.login_by_email(&email).await?
        && login.account_id == account.id
    {
        let events = state.people.login_events(&login.id, 10).await?;
        rows.push(LoginRow {
            role: wire(&login.role),
            verified: login.email_verified_at.is_some(),
            disabled: login.disabled,
            second_factor: login.second_factor.is_some(),
            id: login.id,
            email: login.email,
            events: events
                .into_iter()
                .map(|e| EventRow {
                    at: time::OffsetDateTime::from_unix_timestamp(e.at)
                        .map(crate::time::to_rfc3339)
                        .unwrap_or_default(),
                    address: e.address,
                    user_agent: e.user_agent,
                })
                .collect(),
        });
    }
    Ok(rows)
}

/// The fields of the action forms; each action reads the ones it needs.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct ActionForm {
    #[serde(default)]
    credits: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    requests_per_minute: String,
    #[serde(default)]
    max_concurrent_tasks: String,
    #[serde(default)]
    credit_line: String,
}

/// A number field: empty is `None`; anything but a whole number is said so.
fn number<T: std::str::FromStr>(field: &str) -> Result<Option<T>, String> {
    let field = field.trim();
    if field.is_empty() {
        return Ok(None);
    }
    field
        .parse()
        .map(Some)
        .map_err(|_| format!("Enter a whole number, not {field:?}."))
}

impl ActionForm {
    /// The admin API's body of these fields.
    fn body(&self) -> Result<ActionBody, String> {
        Ok(ActionBody {
            credits: number(&self.credits)?,
            reason: Some(self.reason.trim().to_string()).filter(|r| !r.is_empty()),
            requests_per_minute: number(&self.requests_per_minute)?,
            max_concurrent_tasks: number(&self.max_concurrent_tasks)?,
            credit_line: number(&self.credit_line)?,
            ..ActionBody::default()
        })
    }
}

/// `POST /console/admin/accounts/{id}/{action}`: an operator's action,
/// through the admin API's function; recorded in the audit log under the
/// operator's login. Support is refused (403) and nothing changes.
pub(crate) async fn act(
    State(state): State<AppState>,
    Path((id, action)): Path<(String, String)>,
    SignedForm { by: staff, form }: SignedForm<ActionForm, Staff>,
) -> Response {
    if let Err(refused) = staff.check_may_act() {
        return refused;
    }
    let Ok(action) = action_of(&action) else {
        return crate::console::not_found().await;
    };
    let body = match form.body() {
        Ok(body) => body,
        Err(message) => {
            return refused(
                &state,
                &staff,
                &id,
                action.name(),
                StatusCode::BAD_REQUEST,
                message,
            )
            .await;
        }
    };
    let actor = staff.person.actor().to_string();
    match act_on_account(&state, &id, action, body.clone(), &actor).await {
        Ok(Acted::Account { account, enforced }) => {
            // An enforcement step wrote its own entry, naming the actor.
            if !enforced {
                let details = serde_json::json!({ "via": "console", "body": body });
                let name = format!("account.{}", action.name());
                record_act(&state, &actor, &name, &account.id, details).await;
            }
            Redirect::to(&format!(
                "/console/admin/accounts/{}?done={}",
                url_escape(&account.id),
                action.name()
            ))
            .into_response()
        }
        Ok(Acted::Key(_)) => crate::console::not_found().await,
        Err(e) if e.code == crate::api::ErrorCode::InternalError => api_error_page(&e),
        Err(e) => {
            refused(
                &state,
                &staff,
                &id,
                action.name(),
                e.status_and_type().0,
                e.message,
            )
            .await
        }
    }
}

/// The account's page with `action`'s refusal at its form.
pub(super) async fn refused(
    state: &AppState,
    staff: &Staff,
    id: &str,
    action: &'static str,
    status: StatusCode,
    message: String,
) -> Response {
    let error = Some(ActionError { action, message });
    match account_page(state, staff, id, None, None, error).await {
        Ok(view) => page(&view, status),
        Err(e) => e,
    }
}

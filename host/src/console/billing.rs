//! Billing: the usage of the last 30 days as a chart, the monthly
//! statements, the ledger page by page, and disputes of a bill. Every figure
//! comes from the same functions as the API's `/v1/account/usage`,
//! `/v1/account/bills/{month}` and `/v1/account/ledger`.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use time::OffsetDateTime;

use super::usage::{UsageChart, usage_chart};
use super::{Chrome, Person, SignedForm, api_error_page, failure_page, page};
use crate::api::{ApiError, AppState};
use crate::store::ledger::{DisputeStatus, Entry, EntryKind};

/// Ledger entries per page.
const LEDGER_PAGE: usize = 50;

/// A ledger entry as the page lists it.
struct EntryRow {
    at: String,
    kind: &'static str,
    amount: i64,
    balance_after: i64,
    task_id: String,
    actor: String,
    reason: String,
}

/// A dispute as the page lists it.
struct DisputeRow {
    month: String,
    status: &'static str,
    reason: String,
    resolution: String,
    credits_returned: i64,
}

/// The billing page.
#[derive(Template)]
#[template(path = "console/billing.html")]
struct BillingPage {
    chrome: Chrome,
    chart: UsageChart,
    months: Vec<String>,
    entries: Vec<EntryRow>,
    next_page: Option<String>,
    disputes: Vec<DisputeRow>,
}

/// Query of the billing page: the ledger's page.
#[derive(Debug, Deserialize)]
pub(super) struct BillingQuery {
    after: Option<String>,
}

fn kind_name(kind: EntryKind) -> &'static str {
    match kind {
        EntryKind::Topup => "top-up",
        EntryKind::Hold => "hold",
        EntryKind::Capture => "charge",
        EntryKind::Release => "release",
        EntryKind::Refund => "refund",
        EntryKind::Adjustment => "adjustment",
        EntryKind::Forfeit => "forfeit",
    }
}

fn status_name(status: DisputeStatus) -> &'static str {
    match status {
        DisputeStatus::Open => "open",
        DisputeStatus::Resolved => "resolved",
        DisputeStatus::Rejected => "rejected",
    }
}

fn entry_row(e: Entry) -> EntryRow {
    EntryRow {
        at: e.created_at.replace('T', " ").replace('Z', " UTC"),
        kind: kind_name(e.kind),
        amount: e.amount,
        balance_after: e.balance_after,
        task_id: e.task_id.unwrap_or_default(),
        actor: e.actor,
        reason: e.reason.unwrap_or_default(),
    }
}

/// The months from `created_at`'s to now, newest first.
fn months_since(created_at: &str, now: OffsetDateTime) -> Vec<String> {
    let start = crate::time::unix_seconds(created_at);
    let start = OffsetDateTime::from_unix_timestamp(start).unwrap_or(now);
    let (mut y, mut m) = (start.year(), u8::from(start.month()));
    let (ny, nm) = (now.year(), u8::from(now.month()));
    let mut months = Vec::new();
    while (y, m) <= (ny, nm) {
        months.push(format!("{y:04}-{m:02}"));
        (y, m) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
    }
    months.reverse();
    months
}

/// `GET /console/billing`.
pub(super) async fn show(
    State(state): State<AppState>,
    person: Person,
    Query(q): Query<BillingQuery>,
) -> Response {
    match billing(&state, &person, q.after.as_deref()).await {
        Ok(view) => page(&view, StatusCode::OK),
        Err(e) => api_error_page(&e),
    }
}

async fn billing(
    state: &AppState,
    person: &Person,
    after: Option<&str>,
) -> Result<BillingPage, ApiError> {
    let account_id = person.account_id();
    let account = state.accounts.get(account_id).await?;
    let now = OffsetDateTime::now_utc();
    let chart = usage_chart(state, account_id).await?;
    let (entries, has_more) = state.ledger.entries(account_id, after, LEDGER_PAGE).await?;
    let next_page = has_more
        .then(|| entries.last().map(|e| e.id.clone()))
        .flatten();
    let disputes = state
        .disputes
        .list(None, Some(account_id))
        .await?
        .into_iter()
        .rev()
        .map(|d| DisputeRow {
            month: d.month,
            status: status_name(d.status),
            reason: d.reason,
            resolution: d.resolution.unwrap_or_default(),
            credits_returned: d.credits_returned,
        })
        .collect();
    Ok(BillingPage {
        chrome: person.chrome("billing"),
        chart,
        months: months_since(&account.created_at, now),
        entries: entries.into_iter().map(entry_row).collect(),
        next_page,
        disputes,
    })
}

/// A month's statement, with the form to dispute it.
#[derive(Template)]
#[template(path = "console/statement.html")]
struct StatementPage {
    chrome: Chrome,
    bill: crate::bills::Bill,
    notice: Option<&'static str>,
    reason: String,
    reason_error: Option<String>,
}

/// Query of a statement: whether a dispute was just filed.
#[derive(Debug, Deserialize)]
pub(super) struct StatementQuery {
    #[serde(default)]
    disputed: bool,
}

async fn statement(
    state: &AppState,
    person: &Person,
    month: &str,
    status: StatusCode,
    notice: Option<&'static str>,
    reason: String,
    reason_error: Option<String>,
) -> Response {
    match crate::bills::bill(
        &state.ledger,
        &state.tasks,
        person.account_id(),
        month,
        state.config.billing.overdue_grace_days,
    )
    .await
    {
        Ok(bill) => page(
            &StatementPage {
                chrome: person.chrome("billing"),
                bill,
                notice,
                reason,
                reason_error,
            },
            status,
        ),
        Err(e) => api_error_page(&e.into()),
    }
}

/// `GET /console/billing/{month}`.
pub(super) async fn show_statement(
    State(state): State<AppState>,
    person: Person,
    Path(month): Path<String>,
    Query(q): Query<StatementQuery>,
) -> Response {
    let notice = q
        .disputed
        .then_some("Your dispute is filed. An operator will look at it; its decision shows on the billing page.");
    statement(
        &state,
        &person,
        &month,
        StatusCode::OK,
        notice,
        String::new(),
        None,
    )
    .await
}

/// The fields of the dispute form.
#[derive(Debug, Deserialize)]
pub(super) struct DisputeForm {
    #[serde(default)]
    reason: String,
}

/// `POST /console/billing/{month}/dispute`: disputes the month's bill, as
/// `POST /v1/account/bills/{month}/disputes` does.
pub(super) async fn dispute(
    State(state): State<AppState>,
    Path(month): Path<String>,
    SignedForm { by: person, form }: SignedForm<DisputeForm>,
) -> Response {
    match state
        .disputes
        .file(
            person.account_id(),
            &month,
            &form.reason,
            OffsetDateTime::now_utc(),
        )
        .await
    {
        Ok(_) => Redirect::to(&format!("/console/billing/{month}?disputed=true")).into_response(),
        Err(
            e @ (crate::bills::BillError::Invalid("reason", _)
            | crate::bills::BillError::Conflict(_)),
        ) => {
            let message = e.to_string();
            let status = ApiError::from(e).status_and_type().0;
            statement(
                &state,
                &person,
                &month,
                status,
                None,
                form.reason,
                Some(message),
            )
            .await
        }
        Err(crate::bills::BillError::Store(e)) => failure_page("a dispute", &e),
        Err(e) => api_error_page(&e.into()),
    }
}

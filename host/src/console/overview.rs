//! The overview: the account's credits, its usage of the last 30 days (a
//! chart kept while the balance does not move; see `usage`), and its
//! recent tasks.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;

use std::sync::Arc;

use super::usage::UsageChart;
use super::{Chrome, Person, failure_page, page};
use crate::api::AppState;

/// A task as the overview lists it.
struct TaskRow {
    id: String,
    model: String,
    status: &'static str,
    created_at: String,
}

/// The overview page.
#[derive(Template)]
#[template(path = "console/overview.html")]
struct OverviewPage {
    chrome: Chrome,
    account_id: String,
    active: bool,
    status: &'static str,
    balance: i64,
    held: i64,
    available: i64,
    credit_line: i64,
    amount_due: i64,
    due_by: Option<String>,
    chart: Arc<UsageChart>,
    tasks: Vec<TaskRow>,
}

/// `GET /console`: the overview of the person's account.
pub(super) async fn home(State(state): State<AppState>, person: Person) -> Response {
    match overview(&state, &person).await {
        Ok(view) => page(&view, StatusCode::OK),
        Err(e) => failure_page("the overview", &e),
    }
}

async fn overview(state: &AppState, person: &Person) -> Result<OverviewPage, String> {
    let account_id = person.account_id();
    let account = state
        .accounts
        .get(account_id)
        .await
        .map_err(|e| e.to_string())?;
    let b = state
        .ledger
        .balance(account_id)
        .await
        .map_err(|e| e.to_string())?;
    let due_by = state
        .overdue
        .due_by(account_id, b)
        .await
        .map_err(|e| e.to_string())?;
    let chart = state
        .overview_charts
        .chart(state, account_id, b)
        .await
        .map_err(|e| e.message)?;
    let (tasks, _) = state
        .tasks
        .list(account_id, &crate::tasks::TaskFilter::default(), 10, None)
        .await
        .map_err(|e| e.to_string())?;
    let status = match account.status {
        crate::accounts::AccountStatus::Active => "active",
        crate::accounts::AccountStatus::Suspended => "suspended",
        crate::accounts::AccountStatus::Closed => "closed",
    };
    Ok(OverviewPage {
        chrome: person.chrome("overview"),
        account_id: account_id.to_string(),
        active: account.status == crate::accounts::AccountStatus::Active,
        status,
        balance: b.balance,
        held: b.held,
        available: b.spendable(account.credit_line),
        credit_line: account.credit_line,
        amount_due: b.due(),
        due_by,
        chart,
        tasks: tasks
            .into_iter()
            .map(|t| TaskRow {
                id: t.id,
                model: t.model,
                status: t.status.as_str(),
                created_at: t.created_at,
            })
            .collect(),
    })
}

//! The audit log, for staff: newest first, filtered by actor, account and
//! action, page by page.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;

use super::Staff;
use crate::api::AppState;
use crate::audit::AuditQuery;
use crate::console::{Chrome, failure_page, page, url_escape};

/// Entries per page.
const PER_PAGE: usize = 50;

/// An entry as the page shows it.
struct EntryRow {
    at: String,
    actor: String,
    action: String,
    account_id: String,
    key_id: String,
    details: String,
}

/// The audit log page.
#[derive(Template)]
#[template(path = "console/admin/audit.html")]
struct AuditPage {
    chrome: Chrome,
    actor: String,
    account_id: String,
    action: String,
    rows: Vec<EntryRow>,
    next: Option<String>,
}

/// Query of the audit log page: empty fields do not filter.
#[derive(Debug, Deserialize)]
pub(crate) struct AuditFilter {
    #[serde(default)]
    actor: String,
    #[serde(default)]
    account_id: String,
    /// Actions starting with this (`account.`, `POST /admin/v1/keys`…).
    #[serde(default)]
    action: String,
    /// The last entry of the previous page.
    after: Option<String>,
}

/// `GET /console/admin/audit`.
pub(crate) async fn list(
    State(state): State<AppState>,
    staff: Staff,
    Query(f): Query<AuditFilter>,
) -> Response {
    let given = |s: &str| Some(s.trim().to_string()).filter(|s| !s.is_empty());
    let q = AuditQuery {
        account_id: given(&f.account_id),
        key_id: None,
        actor: given(&f.actor),
        action: given(&f.action),
        after: f.after.clone(),
        limit: None,
    };
    let (entries, more) = match state.audit.list(&q, PER_PAGE).await {
        Ok(found) => found,
        Err(e) => return failure_page("the audit log", &e),
    };
    let next = more.then(|| entries.last()).flatten().map(|e| {
        format!(
            "/console/admin/audit?actor={}&account_id={}&action={}&after={}",
            url_escape(f.actor.trim()),
            url_escape(f.account_id.trim()),
            url_escape(f.action.trim()),
            url_escape(&e.id)
        )
    });
    let rows = entries
        .into_iter()
        .map(|e| EntryRow {
            at: e.at,
            actor: e.actor,
            action: e.action,
            account_id: e.account_id.unwrap_or_default(),
            key_id: e.key_id.unwrap_or_default(),
            details: e.details.to_string(),
        })
        .collect();
    page(
        &AuditPage {
            chrome: staff.person.chrome("audit"),
            actor: f.actor.trim().to_string(),
            account_id: f.account_id.trim().to_string(),
            action: f.action.trim().to_string(),
            rows,
            next,
        },
        StatusCode::OK,
    )
}

//! Bill disputes, for staff: the list by state, and deciding an open one
//! through the admin API's own function ([`decide_dispute_as`]). Support
//! decides too, but only an operator gives credits back.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::{Staff, refused};
use crate::api::operate::{decide_dispute_as, record_act};
use crate::api::{AppState, ErrorCode};
use crate::bills::DisputeStatus;
use crate::console::SignedForm;
use crate::console::{Chrome, api_error_page, failure_page, page};

/// A dispute as the list shows it.
struct DisputeRow {
    id: String,
    account_id: String,
    month: String,
    reason: String,
    status: String,
    open: bool,
    credits_returned: i64,
    resolution: String,
    created_at: String,
}

/// The disputes page.
#[derive(Template)]
#[template(path = "console/admin/disputes.html")]
struct DisputesPage {
    chrome: Chrome,
    may_give_credits: bool,
    status: String,
    notice: Option<String>,
    error: Option<(String, String)>,
    rows: Vec<DisputeRow>,
}

impl DisputesPage {
    /// The refusal to show at dispute `id`'s forms, if its decision was
    /// refused.
    fn error_for(&self, id: &str) -> Option<&str> {
        crate::console::error_at(&self.error, id)
    }
}

/// Query of the disputes page.
#[derive(Debug, Deserialize)]
pub(crate) struct DisputesQuery {
    /// `open` (the default), `resolved`, `rejected`, or `all`.
    status: Option<String>,
    /// The dispute just decided, to say so.
    decided: Option<String>,
}

/// `GET /console/admin/disputes`.
pub(crate) async fn list(
    State(state): State<AppState>,
    staff: Staff,
    Query(q): Query<DisputesQuery>,
) -> Response {
    let status = q.status.unwrap_or_else(|| "open".into());
    let notice = q.decided.map(|id| format!("Dispute {id} decided."));
    match disputes_page(&state, &staff, status, notice, None).await {
        Ok(view) => page(&view, StatusCode::OK),
        Err(e) => e,
    }
}

async fn disputes_page(
    state: &AppState,
    staff: &Staff,
    status: String,
    notice: Option<String>,
    error: Option<(String, String)>,
) -> Result<DisputesPage, Response> {
    let filter: Option<DisputeStatus> = crate::console::from_wire(&status);
    let status = if filter.is_some() {
        status
    } else {
        "all".into()
    };
    let list = state
        .disputes
        .list(filter, None)
        .await
        .map_err(|e| failure_page("the disputes", &e))?;
    Ok(DisputesPage {
        chrome: staff.person.chrome("disputes"),
        may_give_credits: staff.may_act(),
        status,
        notice,
        error,
        rows: list
            .into_iter()
            .map(|d| DisputeRow {
                open: d.status == DisputeStatus::Open,
                status: super::wire(&d.status),
                id: d.id,
                account_id: d.account_id,
                month: d.month,
                reason: d.reason,
                credits_returned: d.credits_returned,
                resolution: d.resolution.unwrap_or_default(),
                created_at: d.created_at,
            })
            .collect(),
    })
}

/// The fields of a decision.
#[derive(Debug, Deserialize)]
pub(crate) struct DecisionForm {
    #[serde(default)]
    credits: String,
    #[serde(default)]
    note: String,
}

/// `POST /console/admin/disputes/{id}/{resolve|reject}`: decides it, named
/// in the audit log and the ledger by the person's login. Giving credits
/// back is an operator's: support's is refused (403), and changes nothing.
pub(crate) async fn decide(
    State(state): State<AppState>,
    Path((id, action)): Path<(String, String)>,
    SignedForm { by: staff, form }: SignedForm<DecisionForm, Staff>,
) -> Response {
    let resolve = match action.as_str() {
        "resolve" => true,
        "reject" => false,
        _ => return crate::console::not_found().await,
    };
    let show_error = |message: String| {
        let (state, staff, id) = (&state, &staff, id.clone());
        async move {
            match disputes_page(state, staff, "open".into(), None, Some((id, message))).await {
                Ok(view) => page(&view, StatusCode::BAD_REQUEST),
                Err(e) => e,
            }
        }
    };
    let credits = match form.credits.trim() {
        "" => 0,
        n => match n.parse::<i64>() {
            Ok(n) => n,
            Err(_) => return show_error(format!("Enter a whole number, not {n:?}.")).await,
        },
    };
    if credits != 0 && !staff.may_act() {
        return refused(
            "Your role (support) decides disputes; only an operator gives credits back.",
        );
    }
    let actor = staff.person.actor().to_string();
    match decide_dispute_as(&state, &id, resolve, credits, form.note.trim(), &actor).await {
        Ok(dispute) => {
            let details = serde_json::json!({
                "via": "console",
                "dispute_id": dispute.id,
                "credits": credits,
                "note": form.note.trim(),
            });
            let name = if resolve {
                "dispute.resolve"
            } else {
                "dispute.reject"
            };
            record_act(&state, &actor, name, &dispute.account_id, details).await;
            Redirect::to(&format!(
                "/console/admin/disputes?decided={}",
                crate::console::url_escape(&dispute.id)
            ))
            .into_response()
        }
        Err(e) if e.code == ErrorCode::InternalError => api_error_page(&e),
        Err(e) => show_error(e.message).await,
    }
}

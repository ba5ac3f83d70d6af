//! The appeals queue, for staff: appeals by state, each with the notice
//! it appeals and that notice's evidence (the flagged requests), and the
//! decision forms. Deciding goes through the moderation service's own
//! function, as `POST /admin/v1/appeals/{id}/{action}` does, naming the
//! person's login in the audit log. Support decides appeals too: a
//! decision lifts or keeps a suspension or freeze but moves no credits.

use std::collections::BTreeMap;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::{Staff, wire};
use crate::api::{ApiError, AppState, ErrorCode};
use crate::audit::Evidence;
use crate::console::{
    Chrome, SignedForm, api_error_page, failure_page, in_words, page, url_escape,
};
use crate::moderation::enforcement::{AppealStatus, Notice};

/// An appeal as the queue shows it, with its notice.
struct AppealRow {
    id: String,
    account_id: String,
    message: String,
    status: String,
    pending: bool,
    created_at: String,
    decided_at: String,
    note: String,
    notice: Option<NoticeRow>,
}

/// The notice an appeal is about.
struct NoticeRow {
    id: String,
    action: String,
    key_id: String,
    reason: String,
    by: String,
    created_at: String,
    evidence: Vec<Evidence>,
}

impl From<&Notice> for NoticeRow {
    fn from(n: &Notice) -> Self {
        Self {
            id: n.id.clone(),
            action: wire(&n.action).replace('_', " "),
            key_id: n.key_id.clone().unwrap_or_default(),
            reason: n.reason.clone(),
            by: n.by.clone(),
            created_at: n.created_at.clone(),
            evidence: n.evidence.clone(),
        }
    }
}

/// The appeals page.
#[derive(Template)]
#[template(path = "console/admin/appeals.html")]
struct AppealsPage {
    chrome: Chrome,
    status: String,
    account_id: String,
    notice: Option<String>,
    error: Option<(String, String)>,
    rows: Vec<AppealRow>,
}

impl AppealsPage {
    /// The refusal to show at appeal `id`'s forms, if its decision was
    /// refused.
    fn error_for(&self, id: &str) -> Option<&str> {
        crate::console::error_at(&self.error, id)
    }
}

/// Query of the appeals page.
#[derive(Debug, Deserialize)]
pub(crate) struct AppealsQuery {
    /// `pending` (the default), `reinstated`, `upheld`, or `all`.
    status: Option<String>,
    /// Only this account's.
    #[serde(default)]
    account_id: String,
    /// The appeal just decided, to say so.
    decided: Option<String>,
}

/// `GET /console/admin/moderation/appeals`.
pub(crate) async fn list(
    State(state): State<AppState>,
    staff: Staff,
    Query(q): Query<AppealsQuery>,
) -> Response {
    let status = q.status.unwrap_or_else(|| "pending".into());
    let notice = q.decided.map(|id| format!("Appeal {id} decided."));
    let account_id = q.account_id.trim().to_string();
    match appeals_page(&state, &staff, status, account_id, notice, None).await {
        Ok(view) => page(&view, StatusCode::OK),
        Err(e) => e,
    }
}

async fn appeals_page(
    state: &AppState,
    staff: &Staff,
    status: String,
    account_id: String,
    notice: Option<String>,
    error: Option<(String, String)>,
) -> Result<AppealsPage, Response> {
    let filter: Option<AppealStatus> = crate::console::from_wire(&status);
    let status = if filter.is_some() {
        status
    } else {
        "all".into()
    };
    let account = Some(account_id.as_str()).filter(|a| !a.is_empty());
    let appeals = state
        .moderation
        .appeals(account, filter)
        .await
        .map_err(|e| failure_page("the appeals", &e))?;
    // The notices appealed, read once per account.
    let mut notices: BTreeMap<String, Vec<Notice>> = BTreeMap::new();
    for a in &appeals {
        if !notices.contains_key(&a.account_id) {
            let of = state
                .moderation
                .notices_of(&a.account_id)
                .await
                .map_err(|e| failure_page("an account's notices", &e))?;
            notices.insert(a.account_id.clone(), of);
        }
    }
    let rows = appeals
        .into_iter()
        .map(|a| AppealRow {
            notice: notices
                .get(&a.account_id)
                .and_then(|of| of.iter().find(|n| n.id == a.notice_id))
                .map(NoticeRow::from),
            pending: a.status == AppealStatus::Pending,
            status: wire(&a.status),
            id: a.id,
            account_id: a.account_id,
            message: a.message,
            created_at: a.created_at,
            decided_at: a.decided_at.unwrap_or_default(),
            note: a.note.unwrap_or_default(),
        })
        .collect();
    Ok(AppealsPage {
        chrome: staff.person.chrome("moderation"),
        status,
        account_id,
        notice,
        error,
        rows,
    })
}

/// The field of a decision.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct DecisionForm {
    #[serde(default)]
    note: String,
}

/// `POST /console/admin/moderation/appeals/{id}/{reinstate|uphold}`:
/// decides it through the moderation service, as the admin API does; the
/// audit log names the person's login. A refusal (already decided, say)
/// is shown at the appeal; nothing changed.
pub(crate) async fn decide(
    State(state): State<AppState>,
    Path((id, action)): Path<(String, String)>,
    SignedForm { by: staff, form }: SignedForm<DecisionForm, Staff>,
) -> Response {
    let reinstate = match action.as_str() {
        "reinstate" => true,
        "uphold" => false,
        _ => return crate::console::not_found().await,
    };
    let actor = staff.person.actor().to_string();
    match state
        .moderation
        .decide(&id, reinstate, form.note.trim(), &actor)
        .await
        .map_err(ApiError::from)
    {
        Ok(appeal) => Redirect::to(&format!(
            "/console/admin/moderation/appeals?decided={}",
            url_escape(&appeal.id)
        ))
        .into_response(),
        Err(e) if e.code == ErrorCode::InternalError => api_error_page(&e),
        Err(e) => {
            let status = e.status_and_type().0;
            let error = Some((id, in_words(&e)));
            match appeals_page(&state, &staff, "all".into(), String::new(), None, error).await {
                Ok(view) => page(&view, status),
                Err(e) => e,
            }
        }
    }
}

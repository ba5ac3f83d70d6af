//! Enforcement notices (what was done to the account or a key, and why)
//! and appeals, through the same moderation service as
//! `/v1/account/notices` and `/v1/account/appeals`. A suspended account's
//! person can read and appeal them here.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::{Chrome, Person, SignedForm, api_error_page, page, wire};
use crate::api::{ApiError, AppState};
use crate::moderation::enforcement::EnforcementError;

/// A notice as the page shows it.
struct NoticeRow {
    id: String,
    action: String,
    reason: String,
    evidence: usize,
    created_at: String,
    appeal_until: String,
    status: String,
    appealable: bool,
    appeal: Option<AppealRow>,
    /// The appeal message typed, when it was refused.
    kept: String,
    /// Why it was refused.
    error: Option<String>,
}

/// A notice's appeal as the page shows it.
struct AppealRow {
    message: String,
    status: String,
    note: String,
}

/// The notices page.
#[derive(Template)]
#[template(path = "console/notices.html")]
struct NoticesPage {
    chrome: Chrome,
    notice: Option<&'static str>,
    notices: Vec<NoticeRow>,
}

/// A serde name (`account_suspended_overdue`) as words.
fn words<T: serde::Serialize>(value: &T) -> String {
    wire(value).replace('_', " ")
}

/// Query of the page: whether an appeal was just filed.
#[derive(Debug, Deserialize)]
pub(super) struct NoticesQuery {
    #[serde(default)]
    appealed: bool,
}

async fn render(
    state: &AppState,
    person: &Person,
    status: StatusCode,
    notice: Option<&'static str>,
    // The notice whose appeal was refused, the message typed, and why.
    refused: Option<(String, String, String)>,
) -> Response {
    let now = state.moderation.clock.now();
    let account_id = person.account_id();
    let notices = match state.moderation.notices_of(account_id).await {
        Ok(n) => n,
        Err(e) => return api_error_page(&e.into()),
    };
    let appeals = match state.moderation.appeals(Some(account_id), None).await {
        Ok(a) => a,
        Err(e) => return api_error_page(&ApiError::from(e)),
    };
    let rows = notices
        .iter()
        .map(|n| {
            let view = n.view(now);
            let appeal = appeals
                .iter()
                .find(|a| a.notice_id == view.id)
                .map(|a| AppealRow {
                    message: a.message.clone(),
                    status: words(&a.status),
                    note: a.note.clone().unwrap_or_default(),
                });
            let (kept, error) = match &refused {
                Some((id, kept, why)) if *id == view.id => (kept.clone(), Some(why.clone())),
                _ => (String::new(), None),
            };
            NoticeRow {
                kept,
                error,
                action: words(&view.action),
                status: words(&view.status),
                evidence: view.evidence.len(),
                id: view.id,
                reason: view.reason,
                created_at: view.created_at,
                appeal_until: view.appeal_until,
                appealable: view.appealable,
                appeal,
            }
        })
        .collect();
    page(
        &NoticesPage {
            chrome: person.chrome("notices"),
            notice,
            notices: rows,
        },
        status,
    )
}

/// `GET /console/notices`.
pub(super) async fn show(
    State(state): State<AppState>,
    person: Person,
    Query(q): Query<NoticesQuery>,
) -> Response {
    let notice = q
        .appealed
        .then_some("Your appeal is filed. An operator decides; the decision shows here.");
    render(&state, &person, StatusCode::OK, notice, None).await
}

/// The fields of the appeal form.
#[derive(Debug, Deserialize)]
pub(super) struct AppealForm {
    #[serde(default)]
    message: String,
}

/// `POST /console/notices/{id}/appeal`: appeals a notice, as
/// `POST /v1/account/appeals` does.
pub(super) async fn appeal(
    State(state): State<AppState>,
    Path(notice_id): Path<String>,
    SignedForm { by: person, form }: SignedForm<AppealForm>,
) -> Response {
    match state
        .moderation
        .appeal(person.account_id(), &notice_id, &form.message)
        .await
    {
        Ok(_) => Redirect::to("/console/notices?appealed=true").into_response(),
        Err(
            e @ (EnforcementError::Invalid(_)
            | EnforcementError::Closed(_)
            | EnforcementError::Conflict(_)),
        ) => {
            let why = e.to_string();
            let status = ApiError::from(e).status_and_type().0;
            render(
                &state,
                &person,
                status,
                None,
                Some((notice_id, form.message, why)),
            )
            .await
        }
        Err(e) => api_error_page(&e.into()),
    }
}

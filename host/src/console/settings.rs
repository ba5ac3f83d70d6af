//! The person's settings: their password, their sessions and recent
//! logins, and closing the account (with what it forfeits spelled out).

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::{
    Chrome, CsrfForm, Person, SignedForm, api_error_page, error_page, failure_page, in_words, page,
};
use crate::accounts::AccountStatus;
use crate::api::AppState;
use crate::people::PeopleError;

/// How many of the person's logins the page lists.
const RECENT_LOGINS: usize = 10;

/// A session as the page lists it.
struct SessionRow {
    id: String,
    user_agent: String,
    address: String,
    created_at: String,
    last_seen_at: String,
    current: bool,
}

/// A login as the page lists it.
struct LoginRow {
    at: String,
    address: String,
    user_agent: String,
    news: &'static str,
}

/// The settings page.
#[derive(Template)]
#[template(path = "console/settings.html")]
struct SettingsPage {
    chrome: Chrome,
    notice: Option<String>,
    current_error: Option<String>,
    password_error: Option<String>,
    sessions: Vec<SessionRow>,
    logins: Vec<LoginRow>,
    /// When the second factor was set up, if it is on.
    second_factor_since: Option<String>,
    /// Its recovery codes not used yet.
    recovery_left: usize,
    account_id: String,
    closed: bool,
    balance: i64,
    amount_due: i64,
    close_error: Option<String>,
}

/// What the page shows besides the current state: a notice, or errors.
#[derive(Default)]
struct Outcome {
    notice: Option<String>,
    current_error: Option<String>,
    password_error: Option<String>,
    close_error: Option<String>,
}

/// A time as a person reads it: `2026-12-06 12:40 UTC`.
fn when(unix: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .map(|t| super::readable(&crate::time::to_rfc3339(t)))
        .unwrap_or_default()
}

/// Renders the page with the account's and the login's current state.
async fn render(
    state: &AppState,
    person: &Person,
    status: StatusCode,
    outcome: Outcome,
) -> Response {
    let login_id = &person.who.login.id;
    let sessions = match state.people.sessions(login_id).await {
        Ok(s) => s,
        Err(e) => return error_page(&e),
    };
    let events = match state.people.login_events(login_id, RECENT_LOGINS).await {
        Ok(e) => e,
        Err(e) => return error_page(&e),
    };
    let account = match state.accounts.get(person.account_id()).await {
        Ok(a) => a,
        Err(e) => return failure_page("the settings' account", &e),
    };
    let b = match state.ledger.balance(person.account_id()).await {
        Ok(b) => b,
        Err(e) => return failure_page("the settings' balance", &e),
    };
    let view = SettingsPage {
        chrome: person.chrome("settings"),
        notice: outcome.notice,
        current_error: outcome.current_error,
        password_error: outcome.password_error,
        sessions: sessions
            .into_iter()
            .rev()
            .map(|s| SessionRow {
                current: s.id == person.who.session.id,
                id: s.id,
                user_agent: s.user_agent,
                address: s.address,
                created_at: when(s.created_at),
                last_seen_at: when(s.last_seen_at),
            })
            .collect(),
        logins: events
            .into_iter()
            .map(|e| LoginRow {
                at: when(e.at),
                address: e.address,
                user_agent: e.user_agent,
                news: match (e.new_device, e.new_address) {
                    (true, true) => "new device and address",
                    (true, false) => "new device",
                    (false, true) => "new address",
                    (false, false) => "",
                },
            })
            .collect(),
        recovery_left: person
            .who
            .login
            .second_factor
            .as_ref()
            .map_or(0, |f| f.recovery_codes.len()),
        second_factor_since: person
            .who
            .login
            .second_factor
            .as_ref()
            .map(|f| super::readable(&f.since)),
        account_id: account.id,
        closed: account.status == AccountStatus::Closed,
        balance: b.balance.max(0),
        amount_due: b.due(),
        close_error: outcome.close_error,
    };
    page(&view, status)
}

/// Query of the settings page.
#[derive(Debug, Deserialize)]
pub(super) struct SettingsQuery {
    /// The second factor was just turned `on` or `off`, to say so.
    second_factor: Option<String>,
}

/// `GET /console/settings`.
pub(super) async fn show(
    State(state): State<AppState>,
    person: Person,
    Query(q): Query<SettingsQuery>,
) -> Response {
    let notice = match q.second_factor.as_deref() {
        Some("on") => {
            Some("The second factor is on: each login asks for a code from your app.".into())
        }
        Some("off") => Some("The second factor is off.".into()),
        _ => None,
    };
    let outcome = Outcome {
        notice,
        ..Outcome::default()
    };
    render(&state, &person, StatusCode::OK, outcome).await
}

/// The fields of the password form.
#[derive(Debug, Deserialize)]
pub(super) struct PasswordForm {
    #[serde(default)]
    current_password: String,
    #[serde(default)]
    password: String,
}

/// `POST /console/settings/password`: changes the password with the
/// current one; the person's other sessions end.
pub(super) async fn change_password(
    State(state): State<AppState>,
    SignedForm { by: person, form }: SignedForm<PasswordForm>,
) -> Response {
    match state
        .people
        .change_password(&person.who.session, &form.current_password, &form.password)
        .await
    {
        Ok(_) => {
            let notice = "Your password is changed, and your other sessions ended.";
            render(
                &state,
                &person,
                StatusCode::OK,
                Outcome {
                    notice: Some(notice.into()),
                    ..Outcome::default()
                },
            )
            .await
        }
        Err(e) if e.field().is_some() || matches!(e, PeopleError::Throttled { .. }) => {
            let message = e.to_string();
            let status = super::status_of(&e);
            let outcome = if e.field() == Some("password") {
                Outcome {
                    password_error: Some(message),
                    ..Outcome::default()
                }
            } else {
                Outcome {
                    current_error: Some(message),
                    ..Outcome::default()
                }
            };
            render(&state, &person, status, outcome).await
        }
        Err(e) => error_page(&e),
    }
}

/// `POST /console/settings/sessions/{id}/end`: ends one of the person's
/// sessions.
pub(super) async fn end_session(
    State(state): State<AppState>,
    Path(id): Path<String>,
    SignedForm { by: person, .. }: SignedForm<CsrfForm>,
) -> Response {
    match state.people.revoke_session(&person.who.login.id, &id).await {
        Ok(_) => Redirect::to("/console/settings").into_response(),
        Err(e) => error_page(&e),
    }
}

/// The fields of the form that closes the account.
#[derive(Debug, Deserialize)]
pub(super) struct CloseForm {
    #[serde(default)]
    confirm: String,
}

/// `POST /console/settings/close`: closes the account, as
/// `POST /v1/account/close` does, once the person typed its id.
pub(super) async fn close(
    State(state): State<AppState>,
    SignedForm { by: person, form }: SignedForm<CloseForm>,
) -> Response {
    let refuse = |why: String| Outcome {
        close_error: Some(why),
        ..Outcome::default()
    };
    if form.confirm.trim() != person.account_id() {
        let why = format!(
            "Type the account id, {}, to confirm. Nothing was closed.",
            person.account_id()
        );
        return render(&state, &person, StatusCode::BAD_REQUEST, refuse(why)).await;
    }
    match crate::api::account::close_account(&state, person.account_id(), person.actor()).await {
        Ok(_) => {
            let notice = "The account is closed. Its keys no longer work.";
            render(
                &state,
                &person,
                StatusCode::OK,
                Outcome {
                    notice: Some(notice.into()),
                    ..Outcome::default()
                },
            )
            .await
        }
        Err(e) if e.status_and_type().0 == StatusCode::CONFLICT => {
            let why = format!("{} Nothing was closed.", in_words(&e));
            render(&state, &person, StatusCode::CONFLICT, refuse(why)).await
        }
        Err(e) => api_error_page(&e),
    }
}

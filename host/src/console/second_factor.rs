//! The second factor in the console: the login's second step (the code
//! after the password), and setting one up or turning it off in the
//! settings. The rules (codes good once, throttling, the ticket's
//! lifetime) are the people service's.

use askama::Template;
use axum::Extension;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use std::net::SocketAddr;

use super::{
    Chrome, GuestForm, Person, SignedForm, error_page, form_page, page, safe_next, session_cookie,
    status_of, visitor,
};
use crate::api::AppState;
use crate::people::{NewSecondFactor, PeopleError};

/// The login's second step: the code.
#[derive(Template)]
#[template(path = "console/login_code.html")]
struct CodePage {
    csrf: String,
    next: String,
    ticket: String,
    code_error: Option<String>,
    form_error: Option<String>,
}

/// The page asking for the code, after a right password.
pub(super) fn ask_code(ticket: String, next: String) -> Response {
    form_page(StatusCode::OK, |csrf| CodePage {
        csrf,
        next,
        ticket,
        code_error: None,
        form_error: None,
    })
}

/// The fields of the code form.
#[derive(Debug, Deserialize)]
pub(super) struct CodeForm {
    next: Option<String>,
    #[serde(default)]
    ticket: String,
    #[serde(default)]
    code: String,
}

/// `POST /console/login/code`.
pub(super) async fn log_in_with_code(
    State(state): State<AppState>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
    GuestForm(form): GuestForm<CodeForm>,
) -> Response {
    let next = safe_next(form.next.as_deref());
    let (address, agent) = visitor(peer.as_ref().map(|Extension(c)| c), &headers);
    match state
        .people
        .log_in_with_code(&form.ticket, &form.code, &address, &agent)
        .await
    {
        Ok(done) => {
            let mut response = Redirect::to(&next).into_response();
            response.headers_mut().insert(
                header::SET_COOKIE,
                session_cookie(&state, Some(&done.session.cookie)),
            );
            response
        }
        Err(e @ PeopleError::LoginStepEnded) => super::auth::login_again(&state, next, &e),
        Err(e) => {
            let message = e.to_string();
            form_page(status_of(&e), |csrf| CodePage {
                csrf,
                next,
                ticket: form.ticket,
                code_error: (e.field() == Some("code")).then(|| message.clone()),
                form_error: e.field().is_none().then_some(message),
            })
        }
    }
}

/// The page that sets up a second factor, or turns it off.
#[derive(Template)]
#[template(path = "console/second_factor.html")]
struct SecondFactorPage {
    chrome: Chrome,
    /// When it was set up, if it is on.
    since: Option<String>,
    /// Its recovery codes not used yet.
    recovery_left: usize,
    /// The secret being set up, if it is off.
    setup: Option<NewSecondFactor>,
    password_error: Option<String>,
    code_error: Option<String>,
    form_error: Option<String>,
}

/// Renders the page for the person's login as it is now; `secret` is the
/// one being set up, shown again after a refusal.
fn render(
    state: &AppState,
    person: &Person,
    status: StatusCode,
    secret: Option<&str>,
    error: Option<&PeopleError>,
) -> Response {
    let login = &person.who.login;
    let setup = match &login.second_factor {
        Some(_) => None,
        None => match state.people.second_factor_setup(login, secret) {
            Ok(setup) => Some(setup),
            Err(e) => return error_page(&e),
        },
    };
    let message = error.map(ToString::to_string);
    let field = error.and_then(PeopleError::field);
    let view = SecondFactorPage {
        chrome: person.chrome("settings"),
        since: login
            .second_factor
            .as_ref()
            .map(|f| super::readable(&f.since)),
        recovery_left: login
            .second_factor
            .as_ref()
            .map_or(0, |f| f.recovery_codes.len()),
        setup,
        password_error: message
            .clone()
            .filter(|_| field == Some("current_password")),
        code_error: message.clone().filter(|_| field == Some("code")),
        form_error: message.filter(|_| field.is_none()),
    };
    page(&view, status)
}

/// `GET /console/settings/second-factor`.
pub(super) async fn show(State(state): State<AppState>, person: Person) -> Response {
    render(&state, &person, StatusCode::OK, None, None)
}

/// The fields of the forms that set up or turn off the second factor.
#[derive(Debug, Deserialize)]
pub(super) struct SecondFactorForm {
    #[serde(default)]
    password: String,
    #[serde(default)]
    code: String,
    /// The secret being set up (turning on only).
    #[serde(default)]
    secret: String,
}

/// The recovery codes, shown once, after the second factor was turned on.
#[derive(Template)]
#[template(path = "console/recovery_codes.html")]
struct RecoveryCodesPage {
    chrome: Chrome,
    codes: Vec<String>,
}

/// `POST /console/settings/second-factor`: turns it on, and shows the
/// recovery codes once.
pub(super) async fn enable(
    State(state): State<AppState>,
    SignedForm { by: person, form }: SignedForm<SecondFactorForm>,
) -> Response {
    let enabled = state
        .people
        .enable_second_factor(
            &person.who.session,
            &form.password,
            &form.secret,
            &form.code,
        )
        .await;
    match enabled {
        Ok(enabled) => page(
            &RecoveryCodesPage {
                chrome: person.chrome("settings"),
                codes: enabled.recovery_codes,
            },
            StatusCode::OK,
        ),
        Err(e) => refused(&state, person, e, &form.secret).await,
    }
}

/// `POST /console/settings/second-factor/off`: turns it off.
pub(super) async fn disable(
    State(state): State<AppState>,
    SignedForm { by: person, form }: SignedForm<SecondFactorForm>,
) -> Response {
    let disabled = state
        .people
        .disable_second_factor(&person.who.session, &form.password, &form.code)
        .await;
    match disabled {
        Ok(_) => Redirect::to("/console/settings?second_factor=off").into_response(),
        Err(e) => refused(&state, person, e, "").await,
    }
}

/// The page again after a refusal to turn it on or off, with the refusal
/// next to its field (and the secret being set up, `secret`, kept).
async fn refused(state: &AppState, mut person: Person, e: PeopleError, secret: &str) -> Response {
    match e {
        e if e.field().is_some() || matches!(e, PeopleError::Throttled { .. }) => {
            render(state, &person, status_of(&e), Some(secret), Some(&e))
        }
        e @ PeopleError::SecondFactorExpired => {
            render(state, &person, status_of(&e), None, Some(&e))
        }
        e @ (PeopleError::SecondFactorOn | PeopleError::SecondFactorOff) => {
            // Changed meanwhile (another tab): show it as it is now.
            if let Ok(Some(login)) = state.people.login(&person.who.login.id).await {
                person.who.login = login;
            }
            render(state, &person, StatusCode::CONFLICT, None, Some(&e))
        }
        e => error_page(&e),
    }
}

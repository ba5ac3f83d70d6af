//! The pages before login: logging in and out, signing up, and the links
//! emails carry.

use askama::Template;
use axum::Extension;
use axum::extract::{ConnectInfo, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use std::net::SocketAddr;

use super::{
    CsrfForm, GuestForm, MessagePage, SESSION_COOKIE, SignedForm, cookie, error_page, form_page,
    page, safe_next, session_cookie, status_of, visitor,
};
use crate::api::AppState;
use crate::people::{LoginStep, PeopleError};

/// The fields of the login form.
#[derive(Debug, Deserialize)]
pub(super) struct LoginForm {
    next: Option<String>,
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
}

/// `POST /console/login`.
pub(super) async fn log_in(
    State(state): State<AppState>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
    GuestForm(form): GuestForm<LoginForm>,
) -> Response {
    let next = safe_next(form.next.as_deref());
    let (address, agent) = visitor(peer.as_ref().map(|Extension(c)| c), &headers);
    match state
        .people
        .log_in(&form.email, &form.password, &address, &agent)
        .await
    {
        Ok(LoginStep::Done(done)) => {
            let mut response = Redirect::to(&next).into_response();
            response.headers_mut().insert(
                header::SET_COOKIE,
                session_cookie(&state, Some(&done.session.cookie)),
            );
            response
        }
        Ok(LoginStep::CodeNeeded { ticket }) => super::second_factor::ask_code(ticket, next),
        Err(e) => {
            let status = status_of(&e);
            let message = e.to_string();
            form_page(status, |csrf| LoginPage {
                csrf,
                next,
                email: form.email,
                notice: None,
                email_error: (e.field() == Some("email")).then(|| message.clone()),
                password_error: (e.field() == Some("password")).then(|| message.clone()),
                form_error: e.field().is_none().then_some(message),
                signup_open: signup_open(&state),
            })
        }
    }
}

/// The login page again, saying why (a second step that ended).
pub(super) fn login_again(state: &AppState, next: String, e: &PeopleError) -> Response {
    form_page(status_of(e), |csrf| LoginPage {
        csrf,
        next,
        email: String::new(),
        notice: None,
        email_error: None,
        password_error: None,
        form_error: Some(e.to_string()),
        signup_open: signup_open(state),
    })
}

/// `POST /console/logout`: ends the session.
pub(super) async fn log_out(
    State(state): State<AppState>,
    headers: HeaderMap,
    _: SignedForm<CsrfForm>,
) -> Response {
    if let Some(value) = cookie(&headers, SESSION_COOKIE)
        && let Err(e) = state.people.log_out(value).await
    {
        return error_page(&e);
    }
    let mut response = Redirect::to("/console/login").into_response();
    response
        .headers_mut()
        .insert(header::SET_COOKIE, session_cookie(&state, None));
    response
}

/// Whether anyone may sign up.
fn signup_open(state: &AppState) -> bool {
    state.config.accounts.signup == crate::config::Signup::Open
}

/// The sign-up page.
#[derive(Template)]
#[template(path = "console/signup.html")]
struct SignupPage {
    csrf: String,
    email: String,
    form_error: Option<String>,
    email_error: Option<String>,
    password_error: Option<String>,
}

/// Sign-up is closed, or by invitation only.
fn signup_refused(state: &AppState) -> Response {
    let refusal = match state.config.accounts.signup {
        crate::config::Signup::Closed => PeopleError::SignupClosed,
        _ => PeopleError::InviteOnly,
    };
    let message = refusal.to_string();
    page(
        &MessagePage {
            heading: "Sign up",
            message: &message,
            link: "/console/login",
            link_text: "Log in",
        },
        StatusCode::FORBIDDEN,
    )
}

/// `GET /console/signup`.
pub(super) async fn signup_page(State(state): State<AppState>) -> Response {
    if !signup_open(&state) {
        return signup_refused(&state);
    }
    form_page(StatusCode::OK, |csrf| SignupPage {
        csrf,
        email: String::new(),
        form_error: None,
        email_error: None,
        password_error: None,
    })
}

/// The fields of the sign-up form.
#[derive(Debug, Deserialize)]
pub(super) struct SignupForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
}

/// `POST /console/signup`.
pub(super) async fn sign_up(
    State(state): State<AppState>,
    GuestForm(form): GuestForm<SignupForm>,
) -> Response {
    if !signup_open(&state) {
        return signup_refused(&state);
    }
    match state.people.sign_up(&form.email, &form.password).await {
        Ok(()) => page(
            &MessagePage {
                heading: "Check your email",
                message: "We sent a link to confirm your address. Open it, then log in.",
                link: "/console/login",
                link_text: "Log in",
            },
            StatusCode::OK,
        ),
        Err(e) if e.field().is_some() => {
            let message = e.to_string();
            form_page(StatusCode::BAD_REQUEST, |csrf| SignupPage {
                csrf,
                email: form.email,
                form_error: None,
                email_error: (e.field() == Some("email")).then(|| message.clone()),
                password_error: (e.field() == Some("password")).then_some(message),
            })
        }
        Err(e) => error_page(&e),
    }
}

/// Query of a link from an email.
#[derive(Debug, Deserialize)]
pub(super) struct LinkQuery {
    #[serde(default)]
    token: String,
}

/// `GET /console/verify-email?token=…`: the link that confirms an address.
pub(super) async fn verify_email(
    State(state): State<AppState>,
    Query(q): Query<LinkQuery>,
) -> Response {
    match state.people.verify_email(&q.token).await {
        Ok(_) => form_page(StatusCode::OK, |csrf| LoginPage {
            csrf,
            next: "/console".into(),
            email: String::new(),
            notice: Some("Your email address is confirmed. Log in.".into()),
            form_error: None,
            email_error: None,
            password_error: None,
            signup_open: signup_open(&state),
        }),
        Err(e) => error_page(&e),
    }
}

/// The login page.
#[derive(Template)]
#[template(path = "console/login.html")]
struct LoginPage {
    csrf: String,
    next: String,
    email: String,
    notice: Option<String>,
    form_error: Option<String>,
    email_error: Option<String>,
    password_error: Option<String>,
    signup_open: bool,
}

/// Query of the login page.
#[derive(Debug, Deserialize)]
pub(super) struct LoginQuery {
    next: Option<String>,
}

/// `GET /console/login`.
pub(super) async fn login_page(
    State(state): State<AppState>,
    Query(q): Query<LoginQuery>,
) -> Response {
    form_page(StatusCode::OK, |csrf| LoginPage {
        csrf,
        next: safe_next(q.next.as_deref()),
        email: String::new(),
        notice: None,
        form_error: None,
        email_error: None,
        password_error: None,
        signup_open: signup_open(&state),
    })
}

/// The login page with `notice` above it and `email` filled in (after a
/// page that made or confirmed the login).
pub(super) fn login_with_notice(state: &AppState, email: String, notice: &str) -> Response {
    form_page(StatusCode::OK, |csrf| LoginPage {
        csrf,
        next: "/console".into(),
        email,
        notice: Some(notice.into()),
        form_error: None,
        email_error: None,
        password_error: None,
        signup_open: signup_open(state),
    })
}

/// The page that asks for a reset link.
#[derive(Template)]
#[template(path = "console/forgot.html")]
struct ForgotPage {
    csrf: String,
    email: String,
    email_error: Option<String>,
}

/// `GET /console/forgot-password`.
pub(super) async fn forgot_page() -> Response {
    form_page(StatusCode::OK, |csrf| ForgotPage {
        csrf,
        email: String::new(),
        email_error: None,
    })
}

/// The fields of the form that asks for a reset link.
#[derive(Debug, Deserialize)]
pub(super) struct ForgotForm {
    #[serde(default)]
    email: String,
}

/// `POST /console/forgot-password`: sends a reset link if the address has
/// a login, and answers the same whether or not it does.
pub(super) async fn forgot(
    State(state): State<AppState>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
    GuestForm(form): GuestForm<ForgotForm>,
) -> Response {
    let (address, _) = visitor(peer.as_ref().map(|Extension(c)| c), &headers);
    match state
        .people
        .request_password_reset(&form.email, &address)
        .await
    {
        Ok(()) => page(
            &MessagePage {
                heading: "Check your email",
                message: "If that address has a login, a link to choose a new password is on \
                          its way. It works once, within an hour.",
                link: "/console/login",
                link_text: "Log in",
            },
            StatusCode::OK,
        ),
        Err(e) if e.field() == Some("email") => {
            let message = e.to_string();
            form_page(StatusCode::BAD_REQUEST, |csrf| ForgotPage {
                csrf,
                email: form.email,
                email_error: Some(message),
            })
        }
        Err(e) => error_page(&e),
    }
}

/// The page that sets a new password with a reset link.
#[derive(Template)]
#[template(path = "console/reset.html")]
struct ResetPage {
    csrf: String,
    token: String,
    password_error: Option<String>,
}

/// `GET /console/reset-password?token=…`: the link from the email. The
/// token is only taken when the form is sent, so a mail scanner opening
/// the link uses nothing up.
pub(super) async fn reset_page(Query(q): Query<LinkQuery>) -> Response {
    form_page(StatusCode::OK, |csrf| ResetPage {
        csrf,
        token: q.token,
        password_error: None,
    })
}

/// The fields of the form that sets a new password.
#[derive(Debug, Deserialize)]
pub(super) struct ResetForm {
    #[serde(default)]
    token: String,
    #[serde(default)]
    password: String,
}

/// `POST /console/reset-password`.
pub(super) async fn reset(
    State(state): State<AppState>,
    GuestForm(form): GuestForm<ResetForm>,
) -> Response {
    match state
        .people
        .reset_password(&form.token, &form.password)
        .await
    {
        Ok(_) => form_page(StatusCode::OK, |csrf| LoginPage {
            csrf,
            next: "/console".into(),
            email: String::new(),
            notice: Some("Your new password is set, and every session ended. Log in.".into()),
            form_error: None,
            email_error: None,
            password_error: None,
            signup_open: signup_open(&state),
        }),
        Err(e) if e.field() == Some("password") => {
            let message = e.to_string();
            form_page(StatusCode::BAD_REQUEST, |csrf| ResetPage {
                csrf,
                token: form.token,
                password_error: Some(message),
            })
        }
        Err(e) => error_page(&e),
    }
}

//! The web console at `/console`: server-rendered pages (askama templates
//! compiled into the binary) with plain forms that work without
//! JavaScript, and the project's own stylesheet, embedded too. Pages call
//! the same domain services as the API; nothing here knows a rule of its
//! own.
//!
//! Every answer carries a strict Content-Security-Policy (only this
//! origin's own stylesheet, no inline script, no framing, forms posting
//! only here) and is not cached. Forms carry a CSRF token: before login, a
//! double-submit token (a cookie and the same value in the form); after
//! it, the session's own.

use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;

use std::net::SocketAddr;

use axum::extract::ConnectInfo;
use axum::extract::rejection::FormRejection;
use axum::http::HeaderMap;
use axum::{Extension, Form};

use crate::api::AppState;
use crate::people::{Authenticated, PeopleError};

/// The cookie of the double-submit token of the forms shown before login.
pub const FORM_COOKIE: &str = "imini_form";

/// The stylesheet, embedded.
const STYLESHEET: &str = include_str!("../assets/console.css");

/// The cookie of a logged-in session.
pub const SESSION_COOKIE: &str = "imini_session";

/// The console's routes, under `/console`.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/", get(home))
        .route("/login", get(login_page).post(log_in))
        .route("/logout", post(log_out))
        .route("/signup", get(signup_page).post(sign_up))
        .route("/verify-email", get(verify_email))
        .route("/assets/console.css", get(stylesheet))
        // Nested under the API's router, whose fallback answers JSON: any
        // other console path is a page that needs a login first.
        .route("/{*rest}", get(elsewhere))
        .fallback(not_found)
        .layer(middleware::from_fn(page_headers))
        .with_state(state)
}

/// The headers of every console answer.
async fn page_headers(req: axum::extract::Request, next: Next) -> Response {
    let mut response = next.run(req).await;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'self'; img-src 'self' data:; \
             form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    headers
        .entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    response
}

/// Renders a template as a page (a template that fails to render is a
/// bug; the person sees a plain error page).
fn page(template: &impl Template, status: StatusCode) -> Response {
    match template.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "a console page failed to render");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                Html("<!doctype html><title>Error</title><p>This page could not be shown.</p>"),
            )
                .into_response()
        }
    }
}

/// Where to go back to after logging in: a console path only (never
/// another site).
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n)
            if n.starts_with("/console")
                && !n.starts_with("//")
                && !n.contains('\\')
                && n.chars().all(|c| !c.is_control()) =>
        {
            n.to_string()
        }
        _ => "/console".to_string(),
    }
}

/// A person who is not logged in is sent to the login page, with the page
/// they asked for to come back to.
fn to_login(next: &str) -> Response {
    let target = format!("/console/login?next={}", url_escape(next));
    Redirect::to(&target).into_response()
}

/// Percent-encodes what is not unreserved in a query value.
fn url_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The value of cookie `name` in the request's `Cookie` headers.
fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find_map(|(k, v)| (k == name).then_some(v))
}

/// Whether cookies must be `Secure` (the console is served over https).
fn secure(state: &AppState) -> bool {
    state
        .config
        .server
        .public_url
        .as_deref()
        .is_some_and(|u| u.starts_with("https://"))
}

/// The session cookie: `value`, or removed when `None`.
fn session_cookie(state: &AppState, value: Option<&str>) -> HeaderValue {
    let secure = if secure(state) { "; Secure" } else { "" };
    let cookie = match value {
        Some(v) => format!("{SESSION_COOKIE}={v}; Path=/console; HttpOnly; SameSite=Lax{secure}"),
        None => {
            format!("{SESSION_COOKIE}=; Path=/console; HttpOnly; SameSite=Lax; Max-Age=0{secure}")
        }
    };
    HeaderValue::from_str(&cookie).expect("base64url is a valid header value")
}

/// The person logged in with this request's session, or the answer that
/// sends them to log in (with `asked` to come back to).
async fn signed_in(
    state: &AppState,
    headers: &HeaderMap,
    asked: &str,
) -> Result<Authenticated, Response> {
    let Some(value) = cookie(headers, SESSION_COOKIE) else {
        return Err(to_login(asked));
    };
    match state.people.session(value).await {
        Ok(who) => Ok(who),
        Err(PeopleError::SessionEnded) => {
            let mut response = to_login(asked);
            response
                .headers_mut()
                .insert(header::SET_COOKIE, session_cookie(state, None));
            Err(response)
        }
        Err(e) => Err(error_page(&e)),
    }
}

/// The status of a page that shows `e`.
fn status_of(e: &PeopleError) -> StatusCode {
    match e {
        PeopleError::Throttled { .. } => StatusCode::TOO_MANY_REQUESTS,
        PeopleError::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        PeopleError::CsrfMismatch => StatusCode::FORBIDDEN,
        PeopleError::WrongCredentials => StatusCode::UNAUTHORIZED,
        PeopleError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        _ => StatusCode::BAD_REQUEST,
    }
}

/// An error the person can do nothing about but wait or retry.
fn error_page(e: &PeopleError) -> Response {
    let status = status_of(e);
    let message = e.to_string();
    page(
        &ErrorPage {
            heading: "That did not work",
            message: &message,
        },
        status,
    )
}

/// Where a request comes from: the peer's address and the browser.
fn visitor(peer: Option<&ConnectInfo<SocketAddr>>, headers: &HeaderMap) -> (String, String) {
    let address = peer.map_or_else(|| "unknown".to_string(), |c| c.0.ip().to_string());
    let agent = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .chars()
        .take(300)
        .collect();
    (address, agent)
}

/// Whether a form's double-submit token matches its cookie.
fn form_token_matches(headers: &HeaderMap, presented: &str) -> bool {
    cookie(headers, FORM_COOKIE).is_some_and(|c| {
        !c.is_empty()
            && bool::from(subtle::ConstantTimeEq::ct_eq(
                c.as_bytes(),
                presented.as_bytes(),
            ))
    })
}

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
    who: String,
    account_id: String,
    csrf: String,
    active: bool,
    status: &'static str,
    balance: i64,
    held: i64,
    available: i64,
    credit_line: i64,
    amount_due: i64,
    due_by: Option<String>,
    tasks: Vec<TaskRow>,
}

/// `GET /console`: the overview of the person's account.
async fn home(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let who = match signed_in(&state, &headers, "/console").await {
        Ok(who) => who,
        Err(response) => return response,
    };
    match overview(&state, &who).await {
        Ok(view) => page(&view, StatusCode::OK),
        Err(e) => error_page(&PeopleError::Internal(e)),
    }
}

async fn overview(state: &AppState, who: &Authenticated) -> Result<OverviewPage, String> {
    let account_id = &who.login.account_id;
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
        who: who.login.email.clone(),
        account_id: account_id.clone(),
        csrf: crate::people::People::csrf_token(&who.session).to_string(),
        active: account.status == crate::accounts::AccountStatus::Active,
        status,
        balance: b.balance,
        held: b.held,
        available: b.spendable(account.credit_line),
        credit_line: account.credit_line,
        amount_due: b.due(),
        due_by,
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

/// The fields of the login form.
#[derive(Debug, Deserialize)]
struct LoginForm {
    #[serde(default)]
    csrf: String,
    next: Option<String>,
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
}

/// `POST /console/login`.
async fn log_in(
    State(state): State<AppState>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
    form: Result<Form<LoginForm>, FormRejection>,
) -> Response {
    let Ok(Form(form)) = form else {
        return error_page(&PeopleError::CsrfMismatch);
    };
    if !form_token_matches(&headers, &form.csrf) {
        return error_page(&PeopleError::CsrfMismatch);
    }
    let next = safe_next(form.next.as_deref());
    let (address, agent) = visitor(peer.as_ref().map(|Extension(c)| c), &headers);
    match state
        .people
        .log_in(&form.email, &form.password, &address, &agent)
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

/// The fields of a form that only carries its CSRF token.
#[derive(Debug, Deserialize)]
struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

/// `POST /console/logout`: ends the session.
async fn log_out(
    State(state): State<AppState>,
    headers: HeaderMap,
    form: Result<Form<CsrfForm>, FormRejection>,
) -> Response {
    let who = match signed_in(&state, &headers, "/console").await {
        Ok(who) => who,
        Err(response) => return response,
    };
    let presented = form.map(|Form(f)| f.csrf).unwrap_or_default();
    if let Err(e) = crate::people::People::check_csrf(&who.session, &presented) {
        return error_page(&e);
    }
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

/// A page that tells the person something, with one link onwards.
#[derive(Template)]
#[template(path = "console/message.html")]
struct MessagePage<'a> {
    heading: &'a str,
    message: &'a str,
    link: &'a str,
    link_text: &'a str,
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
async fn signup_page(State(state): State<AppState>) -> Response {
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
struct SignupForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
}

/// `POST /console/signup`.
async fn sign_up(
    State(state): State<AppState>,
    headers: HeaderMap,
    form: Result<Form<SignupForm>, FormRejection>,
) -> Response {
    if !signup_open(&state) {
        return signup_refused(&state);
    }
    let Ok(Form(form)) = form else {
        return error_page(&PeopleError::CsrfMismatch);
    };
    if !form_token_matches(&headers, &form.csrf) {
        return error_page(&PeopleError::CsrfMismatch);
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
struct LinkQuery {
    #[serde(default)]
    token: String,
}

/// `GET /console/verify-email?token=…`: the link that confirms an address.
async fn verify_email(State(state): State<AppState>, Query(q): Query<LinkQuery>) -> Response {
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

/// Any other console page: logged out, the login page first, then back.
async fn elsewhere(uri: axum::http::Uri) -> Response {
    let asked = uri
        .path_and_query()
        .map_or("/console", axum::http::uri::PathAndQuery::as_str);
    to_login(&format!("/console{asked}"))
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
struct LoginQuery {
    next: Option<String>,
}

/// A new double-submit token, and its cookie.
fn form_token() -> (String, HeaderValue) {
    let token = crate::ids::secret("");
    let cookie = format!("{FORM_COOKIE}={token}; Path=/console; HttpOnly; SameSite=Strict");
    let value = HeaderValue::from_str(&cookie).expect("hex digits are a valid header value");
    (token, value)
}

/// A page with a form shown before login: `view` made with a new
/// double-submit token, which the answer also sets as the cookie.
fn form_page<T: Template>(status: StatusCode, view: impl FnOnce(String) -> T) -> Response {
    let (csrf, cookie) = form_token();
    let mut response = page(&view(csrf), status);
    response.headers_mut().insert(header::SET_COOKIE, cookie);
    response
}

/// `GET /console/login`.
async fn login_page(State(state): State<AppState>, Query(q): Query<LoginQuery>) -> Response {
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

/// `GET /console/assets/console.css`.
async fn stylesheet() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        STYLESHEET,
    )
        .into_response()
}

/// The error page.
#[derive(Template)]
#[template(path = "console/error.html")]
struct ErrorPage<'a> {
    heading: &'a str,
    message: &'a str,
}

/// A console page that does not exist.
async fn not_found() -> Response {
    page(
        &ErrorPage {
            heading: "Page not found",
            message: "There is no such page in the console.",
        },
        StatusCode::NOT_FOUND,
    )
}

#[cfg(test)]
mod tests {
    use super::{safe_next, url_escape};

    #[test]
    fn after_login_a_person_goes_back_only_to_a_console_page() {
        assert_eq!(
            safe_next(Some("/console/tasks?page=2")),
            "/console/tasks?page=2"
        );
        for elsewhere in [
            None,
            Some("https://evil.example/"),
            Some("//evil.example/console"),
            Some("/v1/account"),
            Some("/console\\@evil"),
            Some("/console\r\nSet-Cookie: x=1"),
        ] {
            assert_eq!(safe_next(elsewhere), "/console", "{elsewhere:?}");
        }
    }

    #[test]
    fn the_page_to_come_back_to_is_escaped_in_the_login_link() {
        assert_eq!(
            url_escape("/console/tasks?a=1&b=2"),
            "/console/tasks%3Fa%3D1%26b%3D2"
        );
    }
}

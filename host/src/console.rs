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

mod auth;
mod billing;
mod forms;
mod invite;
mod keys;
mod models;
mod notices;
mod operators;
mod overview;
mod playground;
mod second_factor;
mod settings;
mod tasks;
mod usage;
mod webhook;

use askama::Template;
use axum::Router;
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};

use std::net::SocketAddr;

use crate::api::ApiError;
use crate::api::AppState;
use crate::people::{Authenticated, People, PeopleError, Role};
pub(crate) use forms::{CsrfForm, GuestForm, SignedForm};
pub use usage::OverviewCharts;

/// The cookie of the double-submit token of the forms shown before login.
pub const FORM_COOKIE: &str = "imini_form";

/// The stylesheet, embedded.
const STYLESHEET: &str = include_str!("../assets/console.css");

/// The cookie of a logged-in session.
pub const SESSION_COOKIE: &str = "imini_session";

/// The console's routes, under `/console`.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/", get(overview::home))
        .route("/login", get(auth::login_page).post(auth::log_in))
        .route("/login/code", post(second_factor::log_in_with_code))
        .route("/logout", post(auth::log_out))
        .route("/signup", get(auth::signup_page).post(auth::sign_up))
        .route("/verify-email", get(auth::verify_email))
        .route(
            "/accept-invite",
            get(invite::accept_page).post(invite::accept),
        )
        .route(
            "/forgot-password",
            get(auth::forgot_page).post(auth::forgot),
        )
        .route("/reset-password", get(auth::reset_page).post(auth::reset))
        .route("/billing", get(billing::show))
        .route("/billing/{month}", get(billing::show_statement))
        .route("/billing/{month}/dispute", post(billing::dispute))
        .route("/models", get(models::show))
        .route("/notices", get(notices::show))
        .route("/notices/{id}/appeal", post(notices::appeal))
        .route("/webhook", get(webhook::show).post(webhook::set))
        .route("/settings", get(settings::show))
        .route("/settings/password", post(settings::change_password))
        .route(
            "/settings/second-factor",
            get(second_factor::show).post(second_factor::enable),
        )
        .route("/settings/second-factor/off", post(second_factor::disable))
        .route("/settings/sessions/{id}/end", post(settings::end_session))
        .route("/settings/close", post(settings::close))
        .route("/admin/accounts", get(operators::accounts::list))
        .route("/admin/accounts/{id}", get(operators::accounts::show))
        .route(
            "/admin/accounts/{id}/{action}",
            post(operators::accounts::act),
        )
        .route("/admin/logins/{id}/{action}", post(operators::logins::act))
        .route("/admin/disputes", get(operators::disputes::list))
        .route(
            "/admin/disputes/{id}/{action}",
            post(operators::disputes::decide),
        )
        .route("/admin/audit", get(operators::audit::list))
        .route(
            "/admin/plugins",
            get(operators::plugins::list).post(operators::plugins::upload),
        )
        .route("/admin/plugins/{name}", get(operators::plugins::show))
        .route(
            "/admin/plugins/{name}/{action}",
            post(operators::plugins::act),
        )
        .route(
            "/admin/prices",
            get(operators::prices::list).post(operators::prices::schedule),
        )
        .route("/admin/moderation", get(operators::flags::list))
        .route("/admin/moderation/flags/{id}", get(operators::flags::show))
        .route("/admin/moderation/appeals", get(operators::appeals::list))
        .route(
            "/admin/moderation/appeals/{id}/{action}",
            post(operators::appeals::decide),
        )
        .route("/keys", get(keys::list).post(keys::create))
        .route("/keys/{id}/rotate", post(keys::rotate))
        .route("/keys/{id}/revoke", post(keys::revoke))
        .route("/tasks", get(tasks::list))
        .route("/tasks/{id}", get(tasks::show))
        .route("/tasks/{id}/cancel", post(tasks::cancel))
        .route("/playground", get(playground::show).post(playground::post))
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
             media-src 'self'; form-action 'self'; frame-ancestors 'none'; \
             base-uri 'none'",
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

/// A logged-in person: the request's live session. A handler taking one
/// sends a logged-out browser to the login page, and (for a page it asked
/// for) back to it afterwards.
pub(crate) struct Person {
    /// Who, and their session.
    pub who: Authenticated,
}

impl FromRequestParts<AppState> for Person {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        // Only a page can be come back to; after a form, the overview. (The
        // path is the one under the `/console` this router is nested at.)
        let asked = match (&parts.method, parts.uri.path_and_query()) {
            (&Method::GET, Some(pq)) if pq.path() != "/" => format!("/console{pq}"),
            _ => "/console".to_string(),
        };
        signed_in(state, &parts.headers, &asked)
            .await
            .map(|who| Person { who })
    }
}

impl Person {
    /// The account whose credits, keys and tasks the person uses.
    pub fn account_id(&self) -> &str {
        &self.who.login.account_id
    }

    /// How the ledger and the audit log name the person: their login's id
    /// (`user_…`), as a key is named by its id.
    pub fn actor(&self) -> &str {
        &self.who.login.id
    }

    /// What the person may do in the console.
    pub fn role(&self) -> Role {
        self.who.login.role
    }

    /// What every page's header shows, on the page `here`.
    pub fn chrome(&self, here: &'static str) -> Chrome {
        Chrome {
            who: self.who.login.email.clone(),
            csrf: People::csrf_token(&self.who.session).to_string(),
            here,
            staff: self.role() != Role::User,
        }
    }

    /// Refuses a form that does not carry the session's CSRF token.
    // The error is the page to answer at once, never kept: its size does
    // not matter.
    #[allow(clippy::result_large_err)]
    pub fn check(&self, presented: &str) -> Result<(), Response> {
        People::check_csrf(&self.who.session, presented).map_err(|e| error_page(&e))
    }
}

/// The header of every page after login: who is logged in, the token
/// their forms carry, and which page this is (for the navigation).
pub(crate) struct Chrome {
    /// The person's email address.
    pub who: String,
    /// The session's CSRF token.
    pub csrf: String,
    /// This page, as the navigation names it.
    pub here: &'static str,
    /// Whether the person is staff (operator or support): the navigation
    /// shows the operators' pages.
    pub staff: bool,
}

/// A page that shows an error of a domain service (the API's own
/// message, which is written for people too).
pub(crate) fn api_error_page(e: &ApiError) -> Response {
    let (status, _) = e.status_and_type();
    page(
        &ErrorPage {
            heading: "That did not work",
            message: &e.message,
        },
        status,
    )
}

/// A domain service's refusal in words for a page: the API's message
/// (written for people too), as a sentence.
pub(crate) fn in_words(e: &ApiError) -> String {
    let mut chars = e.message.chars();
    let mut out: String = chars.next().map_or_else(String::new, |c| {
        c.to_uppercase().chain(chars).collect::<String>()
    });
    if !out.ends_with(['.', '!', '?']) {
        out.push('.');
    }
    out
}

/// The refusal to show at the forms of row `id`, when `error` (the row's
/// id and the message) is about it.
pub(crate) fn error_at<'a>(error: &'a Option<(String, String)>, id: &str) -> Option<&'a str> {
    error
        .as_ref()
        .filter(|(at, _)| at == id)
        .map(|(_, message)| message.as_str())
}

/// A value as its JSON string names it (`topup`, `operator`…).
pub(crate) fn wire<T: serde::Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => s,
        _ => String::new(),
    }
}

/// The value a JSON string names, as a form or a path gives it (the
/// inverse of [`wire`]); `None` if it names none.
pub(crate) fn from_wire<T: serde::de::DeserializeOwned>(name: &str) -> Option<T> {
    serde_json::from_value(serde_json::Value::String(name.to_string())).ok()
}

/// A time as people read it: `2026-12-06 12:40 UTC`, from RFC 3339.
pub(crate) fn readable(rfc3339: &str) -> String {
    match (rfc3339.get(..10), rfc3339.get(11..16)) {
        (Some(day), Some(time)) => format!("{day} {time} UTC"),
        _ => rfc3339.to_string(),
    }
}

/// An unexpected failure of a store or service: logged, and shown as a
/// page that says to try again.
pub(crate) fn failure_page(what: &str, e: &dyn std::fmt::Display) -> Response {
    tracing::error!(error = %e, "console: {what}");
    page(
        &ErrorPage {
            heading: "That did not work",
            message: "Something went wrong on our side. Try again in a moment.",
        },
        StatusCode::INTERNAL_SERVER_ERROR,
    )
}

/// The status of a page that shows `e`.
fn status_of(e: &PeopleError) -> StatusCode {
    match e {
        PeopleError::Throttled { .. } => StatusCode::TOO_MANY_REQUESTS,
        PeopleError::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        PeopleError::CsrfMismatch => StatusCode::FORBIDDEN,
        PeopleError::WrongCredentials | PeopleError::WrongCode | PeopleError::CodeUsed => {
            StatusCode::UNAUTHORIZED
        }
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

/// Any other console path: logged out, the login page first (then back);
/// logged in, there is no such page.
async fn elsewhere(person: Result<Person, Response>) -> Response {
    match person {
        Ok(_) => not_found().await,
        Err(to_login) => to_login,
    }
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

/// A page that tells the person something, with one link onwards.
#[derive(Template)]
#[template(path = "console/message.html")]
pub(crate) struct MessagePage<'a> {
    heading: &'a str,
    message: &'a str,
    link: &'a str,
    link_text: &'a str,
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

//! The page of the link an invitation's email carries: the invited person
//! chooses their password, and their login is made.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;

use super::{GuestForm, error_page, form_page};
use crate::api::AppState;

/// The page that accepts an invitation.
#[derive(Template)]
#[template(path = "console/accept_invite.html")]
struct AcceptPage {
    csrf: String,
    token: String,
    password_error: Option<String>,
}

/// Query of the invitation's link.
#[derive(Debug, Deserialize)]
pub(super) struct InviteQuery {
    #[serde(default)]
    token: String,
}

/// `GET /console/accept-invite?token=…`: the form. The token is only taken
/// when the form is sent, so a mail scanner opening the link uses nothing
/// up.
pub(super) async fn accept_page(Query(q): Query<InviteQuery>) -> Response {
    form_page(StatusCode::OK, |csrf| AcceptPage {
        csrf,
        token: q.token,
        password_error: None,
    })
}

/// The fields of the form that accepts an invitation.
#[derive(Debug, Deserialize)]
pub(super) struct AcceptForm {
    #[serde(default)]
    token: String,
    #[serde(default)]
    password: String,
}

/// `POST /console/accept-invite`: makes the login, then shows the login
/// page (with the address filled in). A weak password is refused next to
/// its field without using the link up; a used or expired link is said so.
pub(super) async fn accept(
    State(state): State<AppState>,
    GuestForm(form): GuestForm<AcceptForm>,
) -> Response {
    match state
        .people
        .accept_invite(&form.token, &form.password)
        .await
    {
        Ok(login) => super::auth::login_with_notice(
            &state,
            login.email,
            "Your login is ready. Log in with your new password.",
        ),
        Err(e) if e.field() == Some("password") => {
            let message = e.to_string();
            form_page(StatusCode::BAD_REQUEST, |csrf| AcceptPage {
                csrf,
                token: form.token,
                password_error: Some(message),
            })
        }
        Err(e) => error_page(&e),
    }
}

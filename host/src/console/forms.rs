//! The console's forms, checked against cross-site request forgery before
//! a handler sees them: [`GuestForm`] for the forms shown before login (a
//! double-submit token: the `imini_form` cookie and the same value in the
//! form) and [`SignedForm`] for a logged-in person's (the session's own
//! token). A form without the right token, or a body that is not such a
//! form, gets the "form has expired" page and changes nothing.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::response::Response;
use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::operators::Staff;
use super::{Person, error_page, form_token_matches};
use crate::api::AppState;
use crate::people::PeopleError;

/// The token every form carries, read apart from the form's own fields.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct CsrfForm {
    /// The form's CSRF token.
    #[serde(default)]
    pub csrf: String,
}

/// The answer to a forged or malformed form.
fn expired() -> Response {
    error_page(&PeopleError::CsrfMismatch)
}

/// The body of a urlencoded form, its token, and its fields as `T`.
async fn read<T: DeserializeOwned + Send>(
    req: Request,
    state: &AppState,
) -> Result<(String, T), Response> {
    let body = Bytes::from_request(req, state)
        .await
        .map_err(|_| expired())?;
    let token: CsrfForm = serde_urlencoded::from_bytes(&body).map_err(|_| expired())?;
    let fields = serde_urlencoded::from_bytes(&body).map_err(|_| expired())?;
    Ok((token.csrf, fields))
}

/// A form posted before login, its double-submit token matched.
pub(crate) struct GuestForm<T>(pub T);

impl<T: DeserializeOwned + Send> FromRequest<AppState> for GuestForm<T> {
    type Rejection = Response;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Response> {
        let headers = req.headers().clone();
        let (token, fields) = read(req, state).await?;
        if !form_token_matches(&headers, &token) {
            return Err(expired());
        }
        Ok(Self(fields))
    }
}

/// Who may send a [`SignedForm`]: a logged-in [`Person`], or [`Staff`].
pub(crate) trait Sender: FromRequestParts<AppState, Rejection = Response> + Send {
    /// The person behind it.
    fn person(&self) -> &Person;
}

impl Sender for Person {
    fn person(&self) -> &Person {
        self
    }
}

impl Sender for Staff {
    fn person(&self) -> &Person {
        &self.person
    }
}

/// A logged-in person's form, its token matched with their session's.
pub(crate) struct SignedForm<T, S = Person> {
    /// Who sent it.
    pub by: S,
    /// Its fields.
    pub form: T,
}

impl<T: DeserializeOwned + Send, S: Sender> FromRequest<AppState> for SignedForm<T, S> {
    type Rejection = Response;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Response> {
        let (mut parts, body) = req.into_parts();
        let by = S::from_request_parts(&mut parts, state).await?;
        let (token, form) = read(Request::from_parts(parts, body), state).await?;
        by.person().check(&token)?;
        Ok(Self { by, form })
    }
}

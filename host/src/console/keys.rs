//! The account's API keys: the list (never a secret), making one, rotating
//! its secret and revoking it. A new secret is shown once, on the page that
//! answers the form, and never again.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::{Chrome, CsrfForm, Person, SignedForm, api_error_page, failure_page, in_words, page};
use crate::accounts::{ApiKey, KeyStatus, NewSecret};
use crate::api::AppState;
use crate::api::account::account_key;

/// A key as the list shows it (its prefix, never its secret).
struct KeyRow {
    id: String,
    name: String,
    prefix: String,
    created_at: String,
    last_used_at: String,
    status: &'static str,
    active: bool,
    requests_per_minute: String,
    credit_limit: String,
}

impl KeyRow {
    /// The row of `key`.
    fn of(key: &ApiKey) -> Self {
        Self {
            id: key.id.clone(),
            name: key.name.clone(),
            prefix: key.prefix.clone(),
            created_at: key.created_at.clone(),
            last_used_at: key.last_used_at.clone().unwrap_or_else(|| "never".into()),
            status: status_name(key.status),
            active: key.status == KeyStatus::Active,
            requests_per_minute: key
                .requests_per_minute
                .map_or_else(|| "account's".into(), |r| r.to_string()),
            credit_limit: key
                .credit_limit
                .map_or_else(|| "none".into(), |c| c.to_string()),
        }
    }
}

/// A key's status as the list writes it.
fn status_name(status: KeyStatus) -> &'static str {
    match status {
        KeyStatus::Active => "active",
        KeyStatus::Suspended => "suspended",
        KeyStatus::Revoked => "revoked",
    }
}

/// What was typed into the form, kept when it is shown again.
#[derive(Debug, Default, Deserialize)]
pub(super) struct NewKeyForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    requests_per_minute: String,
    #[serde(default)]
    credit_limit: String,
}

/// Which field an error is about, and what it says.
#[derive(Default)]
struct FieldErrors {
    name: Option<String>,
    requests_per_minute: Option<String>,
    credit_limit: Option<String>,
    form: Option<String>,
}

/// The keys page.
#[derive(Template)]
#[template(path = "console/keys.html")]
struct KeysPage {
    chrome: Chrome,
    keys: Vec<KeyRow>,
    form: NewKeyForm,
    errors: FieldErrors,
}

/// The page that shows a new secret, once.
#[derive(Template)]
#[template(path = "console/key_secret.html")]
struct SecretPage {
    chrome: Chrome,
    heading: &'static str,
    key: KeyRow,
    secret: String,
}

/// Renders the page: the account's keys, newest first, and the form with
/// what was typed and its errors.
async fn render(
    state: &AppState,
    person: &Person,
    status: StatusCode,
    form: NewKeyForm,
    errors: FieldErrors,
) -> Response {
    let keys = match state.accounts.keys_of(person.account_id()).await {
        Ok(keys) => keys,
        Err(e) => return failure_page("the keys", &e),
    };
    let view = KeysPage {
        chrome: person.chrome("keys"),
        keys: keys.iter().rev().map(KeyRow::of).collect(),
        form,
        errors,
    };
    page(&view, status)
}

/// `GET /console/keys`.
pub(super) async fn list(State(state): State<AppState>, person: Person) -> Response {
    let form = NewKeyForm::default();
    render(
        &state,
        &person,
        StatusCode::OK,
        form,
        FieldErrors::default(),
    )
    .await
}

/// A number typed into an optional field: blank is none.
fn optional<T: std::str::FromStr>(text: &str, what: &str) -> Result<Option<T>, String> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    text.parse()
        .map(Some)
        .map_err(|_| format!("{what} must be a whole number, or left blank."))
}

/// `POST /console/keys`: makes a key and shows its secret, once.
pub(super) async fn create(
    State(state): State<AppState>,
    SignedForm { by: person, form }: SignedForm<NewKeyForm>,
) -> Response {
    let mut errors = FieldErrors::default();
    let rpm = optional::<u32>(&form.requests_per_minute, "Requests per minute")
        .map_err(|e| errors.requests_per_minute = Some(e))
        .ok()
        .flatten();
    let limit = optional::<i64>(&form.credit_limit, "The credit limit")
        .map_err(|e| errors.credit_limit = Some(e))
        .ok()
        .flatten();
    if errors.requests_per_minute.is_none() && errors.credit_limit.is_none() {
        match state
            .accounts
            .create_key(person.account_id(), &form.name, rpm, limit)
            .await
        {
            Ok(new) => return secret_page(&person, "Your new key", &new),
            Err(e) => {
                let e = crate::api::ApiError::from(e);
                let message = in_words(&e);
                // The service names the field its message is about.
                if e.message.starts_with("name") {
                    errors.name = Some(message);
                } else if e.message.starts_with("requests_per_minute") {
                    errors.requests_per_minute = Some(message);
                } else if e.message.starts_with("credit_limit") {
                    errors.credit_limit = Some(message);
                } else if e.status_and_type().0.is_client_error() {
                    errors.form = Some(message);
                } else {
                    return api_error_page(&e);
                }
            }
        }
    }
    render(&state, &person, StatusCode::BAD_REQUEST, form, errors).await
}

/// The page with a secret, shown this once.
fn secret_page(person: &Person, heading: &'static str, new: &NewSecret) -> Response {
    page(
        &SecretPage {
            chrome: person.chrome("keys"),
            heading,
            key: KeyRow::of(&new.key),
            secret: new.secret.clone(),
        },
        StatusCode::OK,
    )
}

/// `POST /console/keys/{id}/rotate`: a new secret for the key, shown once;
/// the old one stops working.
pub(super) async fn rotate(
    State(state): State<AppState>,
    Path(id): Path<String>,
    SignedForm { by: person, .. }: SignedForm<CsrfForm>,
) -> Response {
    let key = match account_key(&state, person.account_id(), &id).await {
        Ok(key) => key,
        Err(e) => return api_error_page(&e),
    };
    match state.accounts.rotate_key(&key.id).await {
        Ok(new) => secret_page(&person, "The key's new secret", &new),
        Err(e) => api_error_page(&e.into()),
    }
}

/// `POST /console/keys/{id}/revoke`: revokes the key, for good.
pub(super) async fn revoke(
    State(state): State<AppState>,
    Path(id): Path<String>,
    SignedForm { by: person, .. }: SignedForm<CsrfForm>,
) -> Response {
    let key = match account_key(&state, person.account_id(), &id).await {
        Ok(key) => key,
        Err(e) => return api_error_page(&e),
    };
    match state
        .accounts
        .set_key_status(&key.id, KeyStatus::Revoked)
        .await
    {
        Ok(_) => Redirect::to("/console/keys").into_response(),
        Err(e) => api_error_page(&e.into()),
    }
}

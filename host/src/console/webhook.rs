//! The account's webhook endpoint: where every task's events also go, its
//! signing secret, and the latest deliveries, through the same functions as
//! `/v1/account/webhook`.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;

use super::{Chrome, Person, SignedForm, api_error_page, page, wire};
use crate::api::webhook::{endpoint_of, set_endpoint};
use crate::api::{ApiError, AppState};

/// Deliveries the page lists.
const DELIVERIES: usize = 20;

/// A delivery as the page lists it.
struct DeliveryRow {
    created_at: String,
    event: String,
    task_id: String,
    status: String,
    attempts: u32,
    last_error: String,
}

/// The webhook page.
#[derive(Template)]
#[template(path = "console/webhook.html")]
struct WebhookPage {
    chrome: Chrome,
    notice: Option<&'static str>,
    url: String,
    url_error: Option<String>,
    secret: String,
    deliveries: Vec<DeliveryRow>,
}

async fn render(
    state: &AppState,
    person: &Person,
    status: StatusCode,
    notice: Option<&'static str>,
    typed: Option<(String, String)>,
) -> Result<Response, ApiError> {
    let account = state.accounts.get(person.account_id()).await?;
    let account = endpoint_of(state, account).await?;
    let deliveries = state
        .webhooks
        .deliveries(person.account_id(), DELIVERIES)
        .await?
        .into_iter()
        .map(|d| DeliveryRow {
            created_at: d.created_at,
            event: d.event,
            task_id: d.task_id,
            status: wire(&d.status),
            attempts: d.attempts,
            last_error: d.last_error.unwrap_or_default(),
        })
        .collect();
    let (url, url_error) = match typed {
        Some((url, why)) => (url, Some(why)),
        None => (account.webhook_url.unwrap_or_default(), None),
    };
    Ok(page(
        &WebhookPage {
            chrome: person.chrome("webhook"),
            notice,
            url,
            url_error,
            secret: account.webhook_secret.unwrap_or_default(),
            deliveries,
        },
        status,
    ))
}

/// `GET /console/webhook`.
pub(super) async fn show(State(state): State<AppState>, person: Person) -> Response {
    render(&state, &person, StatusCode::OK, None, None)
        .await
        .unwrap_or_else(|e| api_error_page(&e))
}

/// The fields of the endpoint form.
#[derive(Debug, Deserialize)]
pub(super) struct EndpointForm {
    #[serde(default)]
    url: String,
}

/// `POST /console/webhook`: sets the endpoint (empty: stop sending).
pub(super) async fn set(
    State(state): State<AppState>,
    SignedForm { by: person, form }: SignedForm<EndpointForm>,
) -> Response {
    let url = form.url.trim();
    let answer = match set_endpoint(
        &state,
        person.account_id(),
        (!url.is_empty()).then_some(url),
    )
    .await
    {
        Ok(_) if url.is_empty() => {
            let notice = "Saved: task events are no longer sent to an endpoint of the account.";
            render(&state, &person, StatusCode::OK, Some(notice), None).await
        }
        Ok(_) => {
            let notice = "Saved: every task's events now also go to this endpoint.";
            render(&state, &person, StatusCode::OK, Some(notice), None).await
        }
        Err(e) if e.param.as_deref() == Some("url") => {
            let status = e.status_and_type().0;
            render(&state, &person, status, None, Some((form.url, e.message))).await
        }
        Err(e) => Err(e),
    };
    answer.unwrap_or_else(|e| api_error_page(&e))
}

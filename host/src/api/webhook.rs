//! The account's webhook endpoint: where every task's events also go, the
//! secret that signs them, and the latest deliveries. The console's
//! webhook page calls the same functions.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::AppState;
use super::account::own_account;
use super::error::ApiError;
use super::extract::{JsonBody, Page, list_response};
use crate::accounts::Account;
use crate::auth::Principal;

/// The account with its webhook signing secret, made now for an account
/// made before webhooks existed.
pub async fn endpoint_of(state: &AppState, account: Account) -> Result<Account, ApiError> {
    if account.webhook_secret.is_some() {
        return Ok(account);
    }
    Ok(state
        .accounts
        .update(&account.id, |a| {
            a.webhook_secret
                .get_or_insert_with(crate::webhooks::new_secret);
            Ok(())
        })
        .await?)
}

/// Sets where every task's events of `account_id` also go (`None` to
/// stop), after checking the URL as deliveries will; the account after.
pub async fn set_endpoint(
    state: &AppState,
    account_id: &str,
    url: Option<&str>,
) -> Result<Account, ApiError> {
    if let Some(url) = url {
        state
            .webhooks
            .check_url(url)
            .await
            .map_err(|e| ApiError::invalid("url", e.to_string()))?;
    }
    Ok(state
        .accounts
        .update(account_id, |a| {
            a.webhook_url = url.map(str::to_string);
            a.webhook_secret
                .get_or_insert_with(crate::webhooks::new_secret);
            Ok(())
        })
        .await?)
}

/// The account's webhook endpoint and signing secret.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct WebhookView {
    /// `webhook_endpoint`.
    object: &'static str,
    /// Where every task's events go, besides a task's own `webhook_url`.
    url: Option<String>,
    /// Signs the deliveries (docs/webhooks.md).
    secret: Option<String>,
}

/// The account's webhook endpoint and signing secret.
fn webhook_json(account: &Account) -> WebhookView {
    WebhookView {
        object: "webhook_endpoint",
        url: account.webhook_url.clone(),
        secret: account.webhook_secret.clone(),
    }
}

/// The caller's webhook endpoint and signing secret.
#[utoipa::path(get, path = "/v1/account/webhook", tag = "account",
    security(("account_key" = [])),
    responses((status = 200, description = "The endpoint", body = WebhookView)))]
pub async fn get_webhook(
    State(state): State<AppState>,
    who: Principal,
) -> Result<Response, ApiError> {
    let account = endpoint_of(&state, own_account(&state, &who).await?).await?;
    Ok(axum::Json(webhook_json(&account)).into_response())
}

/// Body of `POST /v1/account/webhook`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetWebhook {
    /// An https URL (http on loopback only when allowed); `null` to stop.
    url: Option<String>,
}

/// Sets where every task's events also go (`null` to stop).
#[utoipa::path(post, path = "/v1/account/webhook", tag = "account", request_body = SetWebhook,
    security(("account_key" = [])),
    responses((status = 200, description = "The endpoint", body = WebhookView)))]
pub async fn set_webhook(
    State(state): State<AppState>,
    who: Principal,
    JsonBody(body): JsonBody<SetWebhook>,
) -> Result<Response, ApiError> {
    let account = own_account(&state, &who).await?;
    let account = set_endpoint(&state, &account.id, body.url.as_deref()).await?;
    Ok(axum::Json(webhook_json(&account)).into_response())
}

/// A webhook delivery.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct DeliveryView {
    /// `whd_…`.
    id: String,
    /// `webhook_delivery`.
    object: &'static str,
    /// e.g. `task.succeeded`.
    event: String,
    task_id: String,
    url: String,
    status: crate::webhooks::DeliveryStatus,
    attempts: u32,
    last_error: Option<String>,
    /// RFC 3339.
    created_at: String,
}

/// The caller's latest 100 webhook deliveries, newest first.
#[utoipa::path(get, path = "/v1/account/webhook/deliveries", tag = "account",
    security(("account_key" = [])),
    responses((status = 200, description = "The deliveries", body = Page<DeliveryView>)))]
pub async fn webhook_deliveries(
    State(state): State<AppState>,
    who: Principal,
) -> Result<Response, ApiError> {
    let account = own_account(&state, &who).await?;
    let deliveries = state.webhooks.deliveries(&account.id, 100).await?;
    let data = deliveries
        .into_iter()
        .map(|d| DeliveryView {
            id: d.id,
            object: "webhook_delivery",
            event: d.event,
            task_id: d.task_id,
            url: d.url,
            status: d.status,
            attempts: d.attempts,
            last_error: d.last_error,
            created_at: d.created_at,
        })
        .collect();
    Ok(list_response(data, false, None))
}

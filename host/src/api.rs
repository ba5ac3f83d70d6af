//! The HTTP edge: routes, request ids, and error rendering. Handlers parse,
//! call one domain function and map its errors; nothing else.

mod account;
mod admin;
mod error;
mod extract;
mod files;
mod images;
mod models;
mod plugins;

use std::sync::{Arc, RwLock};

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::HeaderValue;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

pub use error::ApiError;

use crate::auth::Auth;
use crate::catalogue::Catalogue;
use crate::config::Config;
use crate::media::Media;
use crate::signing::UrlSigner;
use crate::tasks::Tasks;

/// What every handler can reach.
pub struct Gateway {
    /// The configuration in force.
    pub config: Config,
    /// Key verification.
    pub auth: Auth,
    /// Accounts and keys.
    pub accounts: crate::accounts::Accounts,
    /// Credits.
    pub ledger: crate::ledger::Ledger,
    /// Every loaded plugin.
    pub plugins: Arc<crate::plugins::PluginRegistry>,
    /// The models and their plugins.
    pub catalogue: Arc<RwLock<Arc<Catalogue>>>,
    /// The task engine.
    pub tasks: Arc<Tasks>,
    /// Stored files.
    pub media: Media,
    /// Signs and checks expiring file URLs.
    pub signer: UrlSigner,
}

/// The shared state of the router.
pub type AppState = Arc<Gateway>;

/// The request id of the current request, in its extensions.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// Builds the router.
pub fn router(state: AppState) -> Router {
    let limit = state.config.server.max_body_bytes;
    Router::new()
        .route("/healthz", get(healthz))
        .route("/v1/models", get(models::list))
        .route("/v1/models/{vendor}/{name}", get(models::get_one))
        .route("/v1/images/generations", post(images::openai_generations))
        .route("/v1/images/generate", post(images::native_generate))
        .route("/v1/images/tasks/{task_id}", get(images::get_image_task))
        .route("/v1/tasks", get(images::list_tasks))
        .route("/v1/tasks/{task_id}", get(images::get_task))
        .route("/v1/files/{file_id}/content", get(files::content))
        .route("/v1/account", get(account::get_account))
        .route("/v1/account/ledger", get(account::ledger))
        .route("/v1/account/close", post(account::close))
        .route(
            "/v1/keys",
            get(account::list_keys).post(account::create_key),
        )
        .route(
            "/v1/keys/{key_id}",
            axum::routing::delete(account::revoke_key),
        )
        .route("/v1/keys/{key_id}/rotate", post(account::rotate_key))
        .route("/admin/v1/plugins", get(plugins::list))
        .route("/admin/v1/accounts", post(admin::create_account))
        .route("/admin/v1/accounts/{account_id}", get(admin::get_account))
        .route(
            "/admin/v1/accounts/{account_id}/ledger",
            get(admin::account_ledger),
        )
        .route(
            "/admin/v1/accounts/{account_id}/{action}",
            post(admin::account_action),
        )
        .route("/admin/v1/keys/{key_id}/{action}", post(admin::key_action))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(limit))
        .layer(middleware::from_fn(request_id))
        .with_state(state)
}

async fn healthz(State(state): State<AppState>) -> Response {
    let models = state.catalogue.read().expect("lock").routes().count();
    axum::Json(serde_json::json!({ "status": "ok", "models": models })).into_response()
}

async fn not_found() -> ApiError {
    ApiError::new(
        "NOT_FOUND",
        "no such route; see the API reference in README.md",
    )
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        "METHOD_NOT_ALLOWED",
        "this route does not accept that method",
    )
}

/// Gives every request an id (`x-request-id` on the response), traces it,
/// and renders an [`ApiError`] into the documented JSON body.
async fn request_id(mut req: Request, next: Next) -> Response {
    let id = crate::ids::new("req");
    req.extensions_mut().insert(RequestId(id.clone()));
    let span = tracing::info_span!("request", request_id = %id, method = %req.method(), path = %req.uri().path());
    let started = std::time::Instant::now();
    let mut response = tracing::Instrument::instrument(next.run(req), span.clone()).await;
    if let Some(error) = response.extensions_mut().remove::<ApiError>() {
        let (status, _) = error.status_and_type();
        if status.is_server_error() {
            tracing::warn!(parent: &span, code = error.code, message = %error.message, "request failed");
        } else {
            tracing::debug!(parent: &span, code = error.code, message = %error.message, "request refused");
        }
        let headers = std::mem::take(response.headers_mut());
        response = (status, axum::Json(error.body(&id))).into_response();
        response.headers_mut().extend(headers);
    } else if response.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
        // A limit hit outside our extractors (e.g. by the body limit layer).
        let error = ApiError::new("PAYLOAD_TOO_LARGE", "the request body is too large");
        response = (response.status(), axum::Json(error.body(&id))).into_response();
    }
    tracing::debug!(parent: &span, status = response.status().as_u16(), elapsed_ms = started.elapsed().as_millis() as u64, "answered");
    response.headers_mut().insert(
        "x-request-id",
        HeaderValue::from_str(&id).expect("ids are ASCII"),
    );
    response
}

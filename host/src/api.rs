//! The HTTP edge: routes, request ids, and error rendering. Handlers parse,
//! call one domain function and map its errors; nothing else.

pub(crate) mod account;
pub(crate) mod admin;
mod audit;
mod credentials;
pub mod doc;
mod error;
pub(crate) mod extract;
pub(crate) mod files;
pub(crate) mod generate;
pub mod idempotency;
pub mod images;
mod invitations;
pub(crate) mod logins;
pub(crate) mod models;
mod moderation;
pub(crate) mod operate;
pub(crate) mod plugins;
pub(crate) mod references;
mod replicas;
pub(crate) mod task_view;
pub(crate) mod videos;
pub(crate) mod webhook;

use std::sync::{Arc, RwLock};

use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::HeaderValue;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use error::{ApiError, ErrorCode};

use crate::auth::Auth;
use crate::catalogue::Catalogue;
use crate::config::Config;
use crate::media::Media;
use crate::signing::UrlSigner;
use crate::tasks::Tasks;

/// What every handler can reach.
pub struct Gateway {
    /// The console overview's usage charts, kept per account.
    pub overview_charts: crate::console::OverviewCharts,
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
    /// Success and latency per provider model.
    pub health: Arc<crate::catalogue::RouteHealth>,
    /// Webhook deliveries.
    pub webhooks: std::sync::Arc<crate::webhooks::Webhooks>,
    /// Bill disputes.
    pub disputes: crate::bills::Disputes,
    /// Prices and the changelog.
    pub pricing: crate::pricing::Pricing,
    /// Request rates per key: in this process, or in Redis.
    pub limiter: Arc<crate::ratelimit::Limiter>,
    /// Stored `Idempotency-Key` results.
    pub idempotency: crate::idempotency::Idempotency,
    /// Content policies and enforcement.
    pub moderation: Arc<crate::moderation::Moderation>,
    /// The audit log.
    pub audit: crate::audit::Audit,
    /// Plugin versions: install, activate, roll back, retire.
    pub rollout: Arc<crate::rollout::Rollout>,
    /// The replicas sharing the database.
    pub replicas: Arc<crate::replicas::Replicas>,
    /// The token that may read `GET /metrics` besides the admin key.
    pub metrics_token: Option<crate::metrics::MetricsToken>,
    /// Amounts owed past their due date.
    pub overdue: crate::overdue::Overdue,
    /// People's logins and sessions (the console).
    pub people: crate::people::People,
}

/// The shared state of the router.
pub type AppState = Arc<Gateway>;

/// The request id of the current request, in its extensions.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// Every route, each from its annotated handler: the router and the
/// OpenAPI document (doc.rs) are built from the same list, so neither can
/// have a route the other lacks. (Add routes with `routes!` only.)
fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(<doc::Fixed as utoipa::OpenApi>::openapi())
        .routes(routes!(healthz))
        .routes(routes!(metrics))
        .routes(routes!(doc::document))
        .routes(routes!(models::list))
        .routes(routes!(models::get_one))
        .routes(routes!(images::openai_generations))
        .routes(routes!(images::openai_edits))
        .routes(routes!(images::native_generate))
        .routes(routes!(images::get_image_task))
        .routes(routes!(images::list_tasks))
        .routes(routes!(images::get_task))
        .routes(routes!(videos::cancel))
        .routes(routes!(videos::native_generate))
        .routes(routes!(videos::get_video_task))
        .routes(routes!(videos::openai_list, videos::openai_create))
        .routes(routes!(videos::openai_get))
        .routes(routes!(videos::openai_content))
        .routes(routes!(references::upload))
        .routes(routes!(files::content))
        .routes(routes!(account::get_account))
        .routes(routes!(account::ledger))
        .routes(routes!(account::close))
        .routes(routes!(account::usage))
        .routes(routes!(webhook::get_webhook, webhook::set_webhook))
        .routes(routes!(webhook::webhook_deliveries))
        .routes(routes!(account::bill))
        .routes(routes!(account::dispute))
        .routes(routes!(admin::disputes))
        .routes(routes!(admin::decide_dispute))
        .routes(routes!(account::list_keys, account::create_key))
        .routes(routes!(account::revoke_key))
        .routes(routes!(account::rotate_key))
        .routes(routes!(models::changelog))
        .routes(routes!(models::schedule_price))
        .routes(routes!(plugins::list, plugins::install))
        .routes(routes!(plugins::get_one))
        .routes(routes!(credentials::list))
        .routes(routes!(credentials::set, credentials::remove))
        .routes(routes!(replicas::list))
        .routes(routes!(plugins::action))
        .routes(routes!(admin::create_account))
        .routes(routes!(admin::get_account))
        .routes(routes!(admin::account_ledger))
        .routes(routes!(admin::account_action))
        .routes(routes!(admin::key_action))
        .routes(routes!(invitations::invite))
        .routes(routes!(logins::get_login))
        .routes(routes!(logins::login_action))
        .routes(routes!(moderation::account_notices))
        .routes(routes!(
            moderation::account_appeals,
            moderation::create_appeal
        ))
        .routes(routes!(moderation::flags))
        .routes(routes!(moderation::flag))
        .routes(routes!(moderation::audit))
        .routes(routes!(moderation::notices))
        .routes(routes!(moderation::appeals))
        .routes(routes!(moderation::decide_appeal))
        .routes(routes!(moderation::policies))
}

/// Builds the router.
pub fn router(state: AppState) -> Router {
    let limit = state.config.server.max_body_bytes;
    let (router, _) = routes().split_for_parts();
    let console = crate::console::router(state.clone())
        .layer(DefaultBodyLimit::max(limit))
        .layer(middleware::from_fn(request_id));
    let api = router
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn(render_errors))
        .layer(DefaultBodyLimit::max(limit))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            audit::audit_layer,
        ))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            idempotency::idempotency_layer,
        ))
        .layer(middleware::from_fn_with_state(state.clone(), rate_limit))
        .layer(middleware::from_fn(request_id))
        .with_state(state);
    // The console answers pages, not JSON errors: outside the API's layers.
    Router::new().nest("/console", console).merge(api)
}

/// The answer of `GET /healthz`.
#[derive(serde::Serialize, utoipa::ToSchema)]
struct Health {
    /// Always `ok`: the gateway answers.
    status: &'static str,
    /// How many models it serves now.
    models: usize,
}

/// Whether the gateway answers, and how many models it serves; no key.
#[utoipa::path(get, path = "/healthz", tag = "service", security(()),
    responses((status = 200, description = "The gateway answers", body = Health)))]
async fn healthz(State(state): State<AppState>) -> axum::Json<Health> {
    let models = state.catalogue.read().expect("lock").routes().count();
    axum::Json(Health {
        status: "ok",
        models,
    })
}

/// `GET /metrics`: the metrics as OpenMetrics text, for the admin key or
/// the metrics token.
#[utoipa::path(get, path = "/metrics", tag = "service",
    security(("admin_key" = []), ("metrics_token" = [])),
    responses((status = 200, description = "The metrics, OpenMetrics text format (docs/operations.md lists them)", content_type = "application/openmetrics-text; version=1.0.0; charset=utf-8", body = String)))]
async fn metrics(State(state): State<AppState>, headers: axum::http::HeaderMap) -> Response {
    let allowed = match (&state.metrics_token, extract::bearer(&headers)) {
        (Some(token), Ok(given)) if token.matches(given) => Ok(()),
        _ => extract::principal(&state, &headers)
            .await
            .and_then(|who| admin::admin_only(&who)),
    };
    if let Err(e) = allowed {
        return e.into_response();
    }
    // A store that does not answer fails the scrape (the gateway cannot
    // serve either), rather than showing an empty queue.
    let webhook_queue = match state.webhooks.queue_depth().await {
        Ok(n) => n,
        Err(e) => return ApiError::from(e).into_response(),
    };
    let now = crate::metrics::Snapshot {
        tasks: state.tasks.running_now(),
        webhook_queue,
    };
    let text = crate::metrics::metrics().render(now).await;
    (
        [(
            axum::http::header::CONTENT_TYPE,
            crate::metrics::CONTENT_TYPE,
        )],
        text,
    )
        .into_response()
}

async fn not_found() -> ApiError {
    ApiError::new(
        ErrorCode::NotFound,
        "no such route; see the API reference in docs/api.md",
    )
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        ErrorCode::MethodNotAllowed,
        "this route does not accept that method",
    )
}

/// Gives every request an id (`x-request-id` on the response) and a
/// tracing span, renders errors raised by the layers it wraps, counts the
/// request in the metrics and writes its access-log line (`info`, target
/// `imini::access`).
async fn request_id(mut req: Request, next: Next) -> Response {
    let id = crate::ids::new("req");
    req.extensions_mut().insert(RequestId(id.clone()));
    let method = req.method().clone();
    // The route's pattern, not the path: ids in paths would make every
    // request a series of its own.
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", MatchedPath::as_str)
        .to_string();
    let span = tracing::info_span!("request", request_id = %id, method = %method, path = %req.uri().path(), status = tracing::field::Empty);
    let started = std::time::Instant::now();
    let facts = Arc::new(crate::metrics::RequestFacts::default());
    let response = tracing::Instrument::instrument(
        crate::metrics::with_facts(facts.clone(), next.run(req)),
        span.clone(),
    )
    .await;
    let mut response = render_error(response, &id, &span);
    let took = started.elapsed();
    let status = response.status().as_u16();
    span.record("status", status);
    let model = facts.model.get().map_or("", String::as_str);
    tracing::info!(
        target: "imini::access",
        request_id = %id,
        method = %method,
        route = %route,
        status,
        duration_ms = took.as_micros() as f64 / 1000.0,
        account = %facts.account.get().map_or("", String::as_str),
        model = %model,
        "request"
    );
    crate::metrics::metrics().request(&method, route, status, model, took);
    response.headers_mut().insert(
        "x-request-id",
        HeaderValue::from_str(&id).expect("ids are ASCII"),
    );
    response
}

/// Counts the request against its key's rate (account keys only) and puts
/// the `x-ratelimit-*` headers on the answer; past the rate, `429
/// RATE_LIMITED` with `Retry-After`. When the rate cannot be checked (the
/// limiter's Redis does not answer), `503 RATE_LIMITER_UNAVAILABLE` with
/// `Retry-After: 1`: fail closed, as rate limits protect upstream spend.
async fn rate_limit(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let Ok(who) = extract::principal(&state, req.headers()).await else {
        return next.run(req).await;
    };
    // Authenticated once per request: the extractor reuses it.
    req.extensions_mut().insert(who.clone());
    crate::metrics::note_account(&who.owner);
    let Some(key_id) = who.key_id.as_deref() else {
        return next.run(req).await;
    };
    let rate = who
        .requests_per_minute
        .unwrap_or(state.config.limits.requests_per_minute);
    let Ok(decision) = state.limiter.check(key_id, rate).await else {
        crate::metrics::metrics().rate_limited("unavailable");
        // The limiter logs the outage (once, not per request).
        return ApiError::new(
            ErrorCode::RateLimiterUnavailable,
            "request rates cannot be checked right now, so the request was not run; retry shortly",
        )
        .retry_after(1)
        .into_response();
    };
    let mut response = if decision.allowed {
        next.run(req).await
    } else {
        crate::metrics::metrics().rate_limited("rate");
        let wait = decision.retry_after_secs();
        ApiError::new(
            ErrorCode::RateLimited,
            format!("this key may send {rate} requests a minute; retry in {wait}s"),
        )
        .retry_after(wait)
        .into_response()
    };
    let h = response.headers_mut();
    h.insert(
        "x-ratelimit-limit-requests",
        HeaderValue::from(decision.limit),
    );
    h.insert(
        "x-ratelimit-remaining-requests",
        HeaderValue::from(decision.remaining),
    );
    let reset = format!("{:.3}s", decision.reset.as_secs_f64());
    h.insert(
        "x-ratelimit-reset-requests",
        HeaderValue::from_str(&reset).expect("ASCII"),
    );
    response
}

/// Renders handler errors into the documented body, innermost, so that
/// layers in between (idempotency) see final responses.
async fn render_errors(req: Request, next: Next) -> Response {
    let id = req
        .extensions()
        .get::<RequestId>()
        .map(|r| r.0.clone())
        .unwrap_or_default();
    let response = next.run(req).await;
    render_error(response, &id, &tracing::Span::current())
}

/// Turns a response carrying an [`ApiError`] into the JSON error body with
/// the request id, logging it: the one place errors are written and logged.
fn render_error(mut response: Response, id: &str, span: &tracing::Span) -> Response {
    if let Some(error) = response.extensions_mut().remove::<ApiError>() {
        let (status, _) = error.status_and_type();
        // The rate limiter logs its outages itself, once, not per request.
        if status.is_server_error() && error.code != ErrorCode::RateLimiterUnavailable {
            tracing::warn!(parent: span, code = error.code.as_str(), message = %error.message, "request failed");
        } else {
            tracing::debug!(parent: span, code = error.code.as_str(), message = %error.message, "request refused");
        }
        let headers = std::mem::take(response.headers_mut());
        response = (status, axum::Json(error.body(id))).into_response();
        response.headers_mut().extend(headers);
    } else if (response.status().is_client_error() || response.status().is_server_error())
        && !is_json(&response)
        // The console's own error pages.
        && !has_type(&response, "text/html")
    {
        // A refusal raised outside our extractors and handlers (the body
        // limit layer, or a raw axum rejection): never answered as text.
        let error = fallback_error(response.status());
        tracing::debug!(parent: span, code = error.code.as_str(), status = response.status().as_u16(), "an error without the error shape was rendered");
        let mut headers = std::mem::take(response.headers_mut());
        headers.remove(axum::http::header::CONTENT_TYPE);
        headers.remove(axum::http::header::CONTENT_LENGTH);
        let (status, _) = error.status_and_type();
        response = (status, axum::Json(error.body(id))).into_response();
        response.headers_mut().extend(headers);
    }
    response
}

/// Whether a response already has a JSON body.
fn is_json(response: &Response) -> bool {
    has_type(response, "application/json")
}

/// Whether the response's media type is `media`.
fn has_type(response: &Response, media: &str) -> bool {
    response
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|ct| ct.split(';').next())
        .is_some_and(|m| m.trim().eq_ignore_ascii_case(media))
}

/// The error in the documented shape for an error status that came without
/// one: the code of that status, else the generic code of its class.
fn fallback_error(status: axum::http::StatusCode) -> ApiError {
    use axum::http::StatusCode as S;
    let (code, message) = match status {
        S::PAYLOAD_TOO_LARGE => (ErrorCode::PayloadTooLarge, "the request body is too large"),
        S::UNSUPPORTED_MEDIA_TYPE => (
            ErrorCode::UnsupportedMediaType,
            "the request body is not of a type this route accepts",
        ),
        S::NOT_FOUND => (ErrorCode::NotFound, "no such resource"),
        S::METHOD_NOT_ALLOWED => (
            ErrorCode::MethodNotAllowed,
            "this route does not accept that method",
        ),
        S::UNAUTHORIZED => (ErrorCode::InvalidApiKey, "the API key is not valid"),
        S::FORBIDDEN => (ErrorCode::PermissionDenied, "this request is not allowed"),
        S::CONFLICT => (
            ErrorCode::Conflict,
            "the request conflicts with the current state",
        ),
        S::TOO_MANY_REQUESTS => (ErrorCode::RateLimited, "too many requests; retry later"),
        s if s.is_client_error() => (ErrorCode::InvalidParameter, "the request is not valid"),
        _ => (
            ErrorCode::InternalError,
            "the gateway failed to handle this request; retry later",
        ),
    };
    ApiError::new(code, message)
}

#[cfg(test)]
mod tests {
    use axum::http::{StatusCode, header};
    use axum::response::IntoResponse;

    use super::{ApiError, ErrorCode, render_error};

    fn rendered(response: axum::response::Response) -> (StatusCode, String, serde_json::Value) {
        let response = render_error(response, "req_1", &tracing::Span::none());
        let status = response.status();
        let content_type = response.headers()[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .to_string();
        let body = futures_body(response);
        (status, content_type, body)
    }

    fn futures_body(response: axum::response::Response) -> serde_json::Value {
        let bytes = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(axum::body::to_bytes(response.into_body(), usize::MAX))
            .unwrap();
        serde_json::from_slice(&bytes).unwrap()
    }

    #[test]
    fn an_api_error_is_rendered_with_the_request_id() {
        let (status, content_type, body) =
            rendered(ApiError::new(ErrorCode::TaskNotFound, "no task").into_response());
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(content_type, "application/json");
        assert_eq!(body["error"]["code"], "TASK_NOT_FOUND");
        assert_eq!(body["error"]["request_id"], "req_1");
    }

    #[test]
    fn a_plain_text_refusal_is_rendered_in_the_error_shape() {
        for (raw, status, code) in [
            (
                StatusCode::BAD_REQUEST,
                StatusCode::BAD_REQUEST,
                "INVALID_PARAMETER",
            ),
            (
                StatusCode::UNPROCESSABLE_ENTITY,
                StatusCode::BAD_REQUEST,
                "INVALID_PARAMETER",
            ),
            (
                StatusCode::PAYLOAD_TOO_LARGE,
                StatusCode::PAYLOAD_TOO_LARGE,
                "PAYLOAD_TOO_LARGE",
            ),
            (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "UNSUPPORTED_MEDIA_TYPE",
            ),
            (StatusCode::NOT_FOUND, StatusCode::NOT_FOUND, "NOT_FOUND"),
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                StatusCode::INTERNAL_SERVER_ERROR,
                "INTERNAL_ERROR",
            ),
        ] {
            let mut response = (raw, "Invalid URL: plain text").into_response();
            response
                .headers_mut()
                .insert("x-extra", "kept".parse().unwrap());
            let response = render_error(response, "req_1", &tracing::Span::none());
            assert_eq!(response.status(), status, "{raw}");
            assert_eq!(response.headers()["x-extra"], "kept");
            assert_eq!(response.headers()[header::CONTENT_TYPE], "application/json");
            let body = futures_body(response);
            assert_eq!(body["error"]["code"], code, "{raw}");
            assert_eq!(body["error"]["status"], status.as_u16());
            assert_eq!(body["error"]["request_id"], "req_1");
        }
    }

    #[test]
    fn successes_and_json_errors_pass_through() {
        let ok = render_error("fine".into_response(), "req_1", &tracing::Span::none());
        assert_eq!(ok.status(), StatusCode::OK);
        assert_eq!(
            ok.headers()[header::CONTENT_TYPE],
            "text/plain; charset=utf-8"
        );
        let json = (
            StatusCode::CONFLICT,
            axum::Json(serde_json::json!({"error": {"code": "X"}})),
        )
            .into_response();
        let (status, _, body) = rendered(json);
        assert_eq!(status, StatusCode::CONFLICT);
        assert_eq!(body["error"]["code"], "X");
    }
}

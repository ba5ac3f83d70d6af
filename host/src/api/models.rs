//! The catalogue on the wire: `GET /v1/models` and `GET /v1/models/{id}`.

use axum::extract::State;
use axum::response::{IntoResponse, Response};

use super::AppState;
use super::error::{ApiError, ErrorCode};
use super::extract::{Page, PathParams, QueryParams, list_response, page_limit};
use crate::auth::Principal;
use crate::catalogue::{Route, kind_name};
use crate::plugins::bindings::provider_api::CallMode;
use crate::store::prices::{ChangelogEntry, PriceChange};

/// A model served now.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct ModelView {
    /// When an announced retirement takes effect (RFC 3339), if one is.
    retires_at: Option<String>,
    /// `vendor/name`.
    id: String,
    /// `model`.
    object: &'static str,
    /// Always 0 (OpenAI's field).
    created: i64,
    /// The vendor part of the id.
    owned_by: String,
    name: String,
    description: String,
    /// `image`, `video` or `audio`.
    modality: &'static str,
    /// `active`.
    status: &'static str,
    /// The price in force now: per image, per second of video.
    pricing: Vec<PriceView>,
    capabilities: Capabilities,
    provider: ProviderRef,
    /// The provider models the model is routed to, in order.
    routes: Vec<RouteView>,
}

/// A model that is not served now: retired, or waiting for a credential.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GoneModel {
    id: String,
    /// `model`.
    object: &'static str,
    owned_by: String,
    /// `unavailable` or `retired`.
    status: &'static str,
    /// Why it is unavailable.
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'static str>,
    /// When it was retired (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    retired_at: Option<String>,
}

/// What `GET /v1/models/{vendor}/{name}` answers.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum ModelAnswer {
    /// Served now.
    Served(Box<ModelView>),
    /// Retired or unavailable.
    Gone(GoneModel),
}

/// One unit of a model's price.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct PriceView {
    /// `image` or `second`.
    unit: &'static str,
    /// Credits per unit.
    credits: i64,
}

/// What a model accepts.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct Capabilities {
    /// `sync` or `async`.
    mode: &'static str,
    max_n: u32,
    /// Sizes as `WxH`.
    sizes: Vec<String>,
    min_size: String,
    max_size: String,
    default_size: String,
    aspect_ratios: Vec<String>,
    resolutions: Vec<String>,
    /// Video durations, in seconds.
    durations: Vec<f64>,
    /// Whether `seed` is honoured.
    seed: bool,
    /// Whether reference images are taken.
    reference_media: bool,
}

/// The plugin serving a model.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct ProviderRef {
    plugin: String,
    version: String,
}

/// One provider model a model is routed to, with its health.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct RouteView {
    /// 1 for the first tried.
    priority: usize,
    model: String,
    plugin: String,
    version: String,
    /// Requests it has served since the gateway started.
    requests: u64,
    /// Their success rate (0 to 1), once it has served one.
    success_rate: Option<f64>,
    /// Their mean latency in milliseconds, once it has served one.
    latency_ms: Option<f64>,
}

/// The list of `GET /v1/models`.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct ModelList {
    /// `list`.
    object: &'static str,
    data: Vec<ModelView>,
}

/// A model on the wire; `upcoming` are the announced retirements (read
/// once per answer, not once per model).
fn model_view(
    state: &AppState,
    route: &Route,
    upcoming: &std::collections::BTreeMap<String, String>,
) -> ModelView {
    let m = &route.info;
    let core = route.plugin.core();
    let size = |s: &crate::plugins::bindings::types::Size| format!("{}x{}", s.width, s.height);
    let pricing = prices_now(state, &m.id)
        .into_iter()
        .map(|(unit, credits)| PriceView { unit, credits })
        .collect();
    ModelView {
        retires_at: upcoming.get(&m.id).cloned(),
        id: m.id.clone(),
        object: "model",
        created: 0,
        owned_by: m.id.split('/').next().unwrap_or_default().to_string(),
        name: m.name.clone(),
        description: m.description.clone(),
        modality: kind_name(m.kind),
        status: "active",
        pricing,
        capabilities: Capabilities {
            mode: match m.mode {
                CallMode::Synchronous => "sync",
                CallMode::Asynchronous => "async",
            },
            max_n: m.max_n,
            sizes: m.sizes.iter().map(size).collect(),
            min_size: size(&m.min_size),
            max_size: size(&m.max_size),
            default_size: size(&m.default_size),
            aspect_ratios: m.aspect_ratios.clone(),
            resolutions: m.resolutions.clone(),
            durations: m
                .durations_ms
                .iter()
                .map(|ms| f64::from(*ms) / 1000.0)
                .collect(),
            seed: m.supports_seed,
            reference_media: m.supports_references,
        },
        provider: ProviderRef {
            plugin: core.manifest().name.clone(),
            version: core.manifest().version.clone(),
        },
        routes: route
            .targets
            .iter()
            .enumerate()
            .map(|(i, t)| {
                let s = state.health.get(&t.model);
                let total = s.succeeded + s.failed;
                RouteView {
                    priority: i + 1,
                    model: t.model.clone(),
                    plugin: t.plugin.core().manifest().name.clone(),
                    version: t.plugin.core().manifest().version.clone(),
                    requests: total,
                    success_rate: (total > 0).then(|| s.succeeded as f64 / total as f64),
                    latency_ms: (total > 0).then_some((s.latency_ms * 10.0).round() / 10.0),
                }
            })
            .collect(),
    }
}

/// `404 MODEL_NOT_FOUND` for `id`, saying when it was retired if it was;
/// `503 MODEL_UNAVAILABLE` for a model whose plugin waits for a credential.
pub fn model_not_found(catalogue: &crate::catalogue::Catalogue, id: &str) -> ApiError {
    if catalogue.unavailable().contains_key(id) {
        return ApiError::new(
            ErrorCode::ModelUnavailable,
            format!("model {id:?} is not available now: {UNAVAILABLE}; nothing was charged"),
        )
        .with_param("model");
    }
    let message = match catalogue.retired().get(id) {
        Some(r) => format!(
            "model {id:?} was retired on {}; GET /v1/models lists the models served now",
            r.at
        ),
        None => format!("model {id:?} does not exist; GET /v1/models lists them"),
    };
    ApiError::new(ErrorCode::ModelNotFound, message).with_param("model")
}

/// Why a model is unavailable, as callers are told (the credential's name
/// is the operator's business: the admin API shows it).
const UNAVAILABLE: &str = "its provider is waiting for a credential the operator has not set";

/// The models served now, with their prices and capabilities.
#[utoipa::path(get, path = "/v1/models", tag = "models", operation_id = "list_models",
    security(("account_key" = []), ("admin_key" = [])),
    responses((status = 200, description = "The models", body = ModelList)))]
pub async fn list(State(state): State<AppState>, _who: Principal) -> Result<Response, ApiError> {
    let catalogue = state.catalogue.read().expect("lock").clone();
    let upcoming = state.pricing.upcoming_retirements();
    let data = catalogue
        .routes()
        .map(|r| model_view(&state, r, &upcoming))
        .collect();
    Ok(axum::Json(ModelList {
        object: "list",
        data,
    })
    .into_response())
}

/// A model's prices in force now, as (unit, credits): per `image`, per
/// `second` (of video); none when the operator set no price.
pub(crate) fn prices_now(state: &AppState, model: &str) -> Vec<(&'static str, i64)> {
    let price = state
        .pricing
        .price_at(&state.config, model, time::OffsetDateTime::now_utc());
    let mut pricing = Vec::new();
    if let Some(p) = price {
        if let Some(credits) = p.per_image {
            pricing.push(("image", credits));
        }
        if let Some(credits) = p.per_second {
            pricing.push(("second", credits));
        }
    }
    pricing
}

/// One model: served, retired or unavailable.
#[utoipa::path(get, path = "/v1/models/{vendor}/{name}", tag = "models", operation_id = "get_model",
    params(("vendor" = String, Path, description = "The vendor part of the model id"),
           ("name" = String, Path, description = "The name part of the model id")),
    security(("account_key" = []), ("admin_key" = [])),
    responses((status = 200, description = "The model", body = ModelAnswer)))]
pub async fn get_one(
    State(state): State<AppState>,
    _who: Principal,
    PathParams((vendor, name)): PathParams<(String, String)>,
) -> Result<Response, ApiError> {
    let id = format!("{vendor}/{name}");
    let catalogue = state.catalogue.read().expect("lock").clone();
    let Some(route) = catalogue.get(&id) else {
        // A retired model is still described, as retired.
        if catalogue.unavailable().contains_key(&id) {
            return Ok(axum::Json(ModelAnswer::Gone(GoneModel {
                id,
                object: "model",
                owned_by: vendor,
                status: "unavailable",
                reason: Some(UNAVAILABLE),
                retired_at: None,
            }))
            .into_response());
        }
        if let Some(r) = catalogue.retired().get(&id) {
            return Ok(axum::Json(ModelAnswer::Gone(GoneModel {
                id,
                object: "model",
                owned_by: vendor,
                status: "retired",
                reason: None,
                retired_at: Some(r.at.clone()),
            }))
            .into_response());
        }
        return Err(model_not_found(&catalogue, &id));
    };
    let upcoming = state.pricing.upcoming_retirements();
    Ok(axum::Json(ModelAnswer::Served(Box::new(model_view(
        &state, route, &upcoming,
    ))))
    .into_response())
}

/// Query of `GET /v1/changelog`.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ChangelogQuery {
    /// Entries per page: 50 by default, at most 200.
    limit: Option<usize>,
    /// The `chg_…` id of the last entry of the previous page.
    after: Option<String>,
}

/// Launches, retirements, price changes and policy updates, newest first.
#[utoipa::path(get, path = "/v1/changelog", tag = "models", params(ChangelogQuery),
    security(("account_key" = []), ("admin_key" = [])),
    responses((status = 200, description = "A page of the changelog", body = Page<ChangelogEntry>)))]
pub async fn changelog(
    State(state): State<AppState>,
    _who: Principal,
    QueryParams(q): QueryParams<ChangelogQuery>,
) -> Result<Response, ApiError> {
    let limit = page_limit(q.limit, q.after.as_deref(), 50, 200, "chg")?;
    let (entries, has_more) = state.pricing.changelog(limit, q.after.as_deref()).await?;
    let last_id = entries.last().map(|e| e.id.clone());
    Ok(list_response(entries, has_more, last_id))
}

/// Body of `POST /admin/v1/prices`: `per_image`, `per_second` or both.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPrice {
    /// The model, `vendor/name`.
    pub model: String,
    /// Credits per image (at least 0).
    pub per_image: Option<i64>,
    /// Credits per second of video (at least 0).
    pub per_second: Option<i64>,
    /// When it takes effect (RFC 3339); now if omitted.
    pub effective_at: Option<String>,
}

/// Schedules a price, now or at `effective_at`, and announces it in the
/// changelog.
#[utoipa::path(post, path = "/admin/v1/prices", tag = "admin", request_body = NewPrice,
    security(("admin_key" = [])),
    responses((status = 201, description = "The price change, scheduled", body = PriceChange)))]
pub async fn schedule_price(
    State(state): State<AppState>,
    who: Principal,
    super::extract::JsonBody(body): super::extract::JsonBody<NewPrice>,
) -> Result<Response, ApiError> {
    if !who.admin {
        return Err(ApiError::new(
            ErrorCode::PermissionDenied,
            "this route needs the admin key",
        ));
    }
    let change = schedule_price_of(&state, &body).await?;
    Ok((axum::http::StatusCode::CREATED, axum::Json(change)).into_response())
}

/// Schedules the price `body` gives for a model served now, and announces
/// it: what `POST /admin/v1/prices` and the console's prices page both do.
pub async fn schedule_price_of(state: &AppState, body: &NewPrice) -> Result<PriceChange, ApiError> {
    if state
        .catalogue
        .read()
        .expect("lock")
        .get(&body.model)
        .is_none()
    {
        return Err(ApiError::new(
            ErrorCode::ModelNotFound,
            format!("model {:?} does not exist", body.model),
        )
        .with_param("model"));
    }
    Ok(state
        .pricing
        .schedule(
            &body.model,
            body.per_image,
            body.per_second,
            body.effective_at.as_deref(),
        )
        .await?)
}

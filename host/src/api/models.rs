//! The catalogue on the wire: `GET /v1/models` and `GET /v1/models/{id}`.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::AppState;
use super::error::{ApiError, ErrorCode};
use super::extract::{PathParams, QueryParams, list_response, page_limit};
use crate::auth::Principal;
use crate::catalogue::{Route, kind_name};
use crate::plugins::bindings::provider_api::CallMode;

/// A model on the wire; `upcoming` are the announced retirements (read
/// once per answer, not once per model).
fn model_view(
    state: &AppState,
    route: &Route,
    upcoming: &std::collections::BTreeMap<String, String>,
) -> Value {
    let m = &route.info;
    let core = route.plugin.core();
    let size = |s: &crate::plugins::bindings::types::Size| format!("{}x{}", s.width, s.height);
    let price = state
        .pricing
        .price_at(&state.config, &m.id, time::OffsetDateTime::now_utc());
    let mut pricing = Vec::new();
    if let Some(p) = price {
        if let Some(c) = p.per_image {
            pricing.push(json!({ "unit": "image", "credits": c }));
        }
        if let Some(c) = p.per_second {
            pricing.push(json!({ "unit": "second", "credits": c }));
        }
    }
    let retires_at = upcoming.get(&m.id);
    json!({
        "retires_at": retires_at,
        "id": m.id,
        "object": "model",
        "created": 0,
        "owned_by": m.id.split('/').next().unwrap_or_default(),
        "name": m.name,
        "description": m.description,
        "modality": kind_name(m.kind),
        "status": "active",
        "pricing": pricing,
        "capabilities": {
            "mode": match m.mode { CallMode::Synchronous => "sync", CallMode::Asynchronous => "async" },
            "max_n": m.max_n,
            "sizes": m.sizes.iter().map(size).collect::<Vec<_>>(),
            "min_size": size(&m.min_size),
            "max_size": size(&m.max_size),
            "default_size": size(&m.default_size),
            "aspect_ratios": m.aspect_ratios,
            "resolutions": m.resolutions,
            "durations": m.durations_ms.iter().map(|ms| f64::from(*ms) / 1000.0).collect::<Vec<_>>(),
            "seed": m.supports_seed,
            "reference_media": m.supports_references,
        },
        "provider": { "plugin": core.manifest().name, "version": core.manifest().version },
        "routes": route.targets.iter().enumerate().map(|(i, t)| {
            let s = state.health.get(&t.model);
            let total = s.succeeded + s.failed;
            json!({
                "priority": i + 1,
                "model": t.model,
                "plugin": t.plugin.core().manifest().name,
                "version": t.plugin.core().manifest().version,
                "requests": total,
                "success_rate": (total > 0).then(|| s.succeeded as f64 / total as f64),
                "latency_ms": (total > 0).then_some((s.latency_ms * 10.0).round() / 10.0),
            })
        }).collect::<Vec<_>>(),
    })
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

/// `GET /v1/models`.
pub async fn list(State(state): State<AppState>, _who: Principal) -> Result<Response, ApiError> {
    let catalogue = state.catalogue.read().expect("lock").clone();
    let upcoming = state.pricing.upcoming_retirements();
    let data = catalogue
        .routes()
        .map(|r| model_view(&state, r, &upcoming))
        .collect::<Vec<Value>>();
    Ok(axum::Json(json!({ "object": "list", "data": data })).into_response())
}

/// `GET /v1/models/{vendor}/{name}`.
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
            return Ok(axum::Json(json!({
                "id": id,
                "object": "model",
                "owned_by": vendor,
                "status": "unavailable",
                "reason": UNAVAILABLE,
            }))
            .into_response());
        }
        if let Some(r) = catalogue.retired().get(&id) {
            return Ok(axum::Json(json!({
                "id": id,
                "object": "model",
                "owned_by": vendor,
                "status": "retired",
                "retired_at": r.at,
            }))
            .into_response());
        }
        return Err(model_not_found(&catalogue, &id));
    };
    let upcoming = state.pricing.upcoming_retirements();
    Ok(axum::Json(model_view(&state, route, &upcoming)).into_response())
}

/// Query of `GET /v1/changelog`.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChangelogQuery {
    limit: Option<usize>,
    after: Option<String>,
}

/// `GET /v1/changelog`: launches, retirements, price changes, newest first.
pub async fn changelog(
    State(state): State<AppState>,
    _who: Principal,
    QueryParams(q): QueryParams<ChangelogQuery>,
) -> Result<Response, ApiError> {
    let limit = page_limit(q.limit, q.after.as_deref(), 50, 200, "chg")?;
    let (entries, has_more) = state.pricing.changelog(limit, q.after.as_deref()).await?;
    let last_id = entries.last().map(|e| e.id.clone());
    let data = entries
        .iter()
        .map(|e| serde_json::to_value(e).expect("entries serialise"))
        .collect();
    Ok(list_response(data, has_more, last_id))
}

/// Body of `POST /admin/v1/prices`.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewPrice {
    model: String,
    per_image: Option<i64>,
    per_second: Option<i64>,
    effective_at: Option<String>,
}

/// `POST /admin/v1/prices`: schedules a price (now, or at `effective_at`).
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
    let change = state
        .pricing
        .schedule(
            &body.model,
            body.per_image,
            body.per_second,
            body.effective_at.as_deref(),
        )
        .await?;
    Ok((
        axum::http::StatusCode::CREATED,
        axum::Json(serde_json::to_value(change).expect("serialises")),
    )
        .into_response())
}

//! The catalogue on the wire: `GET /v1/models` and `GET /v1/models/{id}`.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::AppState;
use super::error::ApiError;
use crate::auth::Principal;
use crate::catalogue::{Route, kind_name};
use crate::plugins::bindings::provider_api::CallMode;

fn model_view(route: &Route) -> Value {
    let m = &route.info;
    let core = route.plugin.core();
    let size = |s: &crate::plugins::bindings::types::Size| format!("{}x{}", s.width, s.height);
    json!({
        "id": m.id,
        "object": "model",
        "created": 0,
        "owned_by": m.id.split('/').next().unwrap_or_default(),
        "name": m.name,
        "description": m.description,
        "modality": kind_name(m.kind),
        "status": "active",
        "pricing": [],
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
    })
}

/// `GET /v1/models`.
pub async fn list(State(state): State<AppState>, _who: Principal) -> Response {
    let catalogue = state.catalogue.read().expect("lock").clone();
    let data: Vec<Value> = catalogue.routes().map(model_view).collect();
    axum::Json(json!({ "object": "list", "data": data })).into_response()
}

/// `GET /v1/models/{vendor}/{name}`.
pub async fn get_one(
    State(state): State<AppState>,
    _who: Principal,
    Path((vendor, name)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let id = format!("{vendor}/{name}");
    let catalogue = state.catalogue.read().expect("lock").clone();
    let route = catalogue.get(&id).ok_or_else(|| {
        ApiError::new("MODEL_NOT_FOUND", format!("model {id:?} does not exist")).with_param("model")
    })?;
    Ok(axum::Json(model_view(route)).into_response())
}

//! `GET /admin/v1/plugins`: what is loaded, for operators.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::AppState;
use super::error::ApiError;
use crate::auth::Principal;
use crate::plugins::LoadedPlugin;

/// Lists every loaded plugin with its manifest and load facts (admin key).
pub async fn list(State(state): State<AppState>, who: Principal) -> Result<Response, ApiError> {
    if !who.admin {
        return Err(ApiError::new(
            "PERMISSION_DENIED",
            "this route needs the admin key",
        ));
    }
    let data: Vec<Value> = state
        .plugins
        .list()
        .iter()
        .map(|plugin| {
            let core = plugin.core();
            let m = core.manifest();
            let mut view = json!({
                "name": m.name,
                "version": m.version,
                "kind": m.kind,
                "description": m.description,
                "wit_version": core.wit_version,
                "allowed_hosts": m.allowed_hosts,
                "credentials": m.credentials,
                "from_cache": core.from_cache,
                "compile_ms": core.compile_time.as_secs_f64() * 1000.0,
            });
            match plugin {
                LoadedPlugin::Provider(p) => {
                    view["models"] =
                        json!(p.models.iter().map(|m| m.id.clone()).collect::<Vec<_>>());
                }
                LoadedPlugin::Policy(p) => view["categories"] = json!(p.info.categories),
            }
            view
        })
        .collect();
    Ok(axum::Json(json!({ "object": "list", "data": data })).into_response())
}

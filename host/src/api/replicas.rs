//! `GET /admin/v1/replicas`: the gateways sharing the database, from their
//! heartbeats.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::AppState;
use super::admin::admin_only;
use super::error::ApiError;
use crate::auth::Principal;

/// `GET /admin/v1/replicas`: each replica's id, address, version, start,
/// last heartbeat, whether it is live, and the plugin versions it serves.
pub async fn list(State(state): State<AppState>, who: Principal) -> Result<Response, ApiError> {
    admin_only(&who)?;
    let data: Vec<_> = state
        .replicas
        .list()
        .await?
        .into_iter()
        .map(|v| {
            json!({
                "object": "replica",
                "id": v.heartbeat.id,
                "address": v.heartbeat.address,
                "version": v.heartbeat.version,
                "started_at": v.heartbeat.started_at,
                "last_heartbeat": v.last_heartbeat,
                "live": v.live,
                "plugins": v.heartbeat.plugins,
            })
        })
        .collect();
    Ok(axum::Json(json!({ "object": "list", "data": data })).into_response())
}

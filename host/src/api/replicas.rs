//! `GET /admin/v1/replicas`: the gateways sharing the database, from their
//! heartbeats.

use axum::extract::State;
use axum::response::{IntoResponse, Response};

use super::AppState;
use super::admin::admin_only;
use super::error::ApiError;
use crate::auth::Principal;

/// A gateway sharing the database.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct ReplicaView {
    /// `replica`.
    object: &'static str,
    id: String,
    /// Where it listens.
    address: String,
    /// The gateway's version.
    version: String,
    /// RFC 3339.
    started_at: String,
    /// RFC 3339.
    last_heartbeat: String,
    /// Whether its heartbeat is recent.
    live: bool,
    /// The plugin versions it serves.
    plugins: Vec<crate::store::replicas::ServedPlugin>,
}

/// Each replica's id, address, version, start, last heartbeat, whether it
/// is live, and the plugin versions it serves.
#[utoipa::path(get, path = "/admin/v1/replicas", tag = "plugins", operation_id = "list_replicas",
    security(("admin_key" = [])),
    responses((status = 200, description = "The replicas", body = ReplicaList)))]
pub async fn list(State(state): State<AppState>, who: Principal) -> Result<Response, ApiError> {
    admin_only(&who)?;
    let data: Vec<_> = state
        .replicas
        .list()
        .await?
        .into_iter()
        .map(|v| ReplicaView {
            object: "replica",
            id: v.heartbeat.id,
            address: v.heartbeat.address,
            version: v.heartbeat.version,
            started_at: v.heartbeat.started_at,
            last_heartbeat: v.last_heartbeat,
            live: v.live,
            plugins: v.heartbeat.plugins,
        })
        .collect();
    Ok(axum::Json(ReplicaList {
        object: "list",
        data,
    })
    .into_response())
}

/// The list of `GET /admin/v1/replicas`.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct ReplicaList {
    /// `list`.
    object: &'static str,
    data: Vec<ReplicaView>,
}

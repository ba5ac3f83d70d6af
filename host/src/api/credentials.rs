//! Credential routes (admin key): list, set or rotate, remove the upstream
//! credentials plugins name. A value goes in and never comes out: not in an
//! answer, the audit log or a log line.

use std::collections::{BTreeMap, BTreeSet};

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::AppState;
use super::admin::admin_only;
use super::error::{ApiError, ErrorCode};
use super::extract::{JsonBody, PathParams};
use crate::auth::Principal;
use crate::credentials::{CredentialError, CredentialInfo};

impl From<CredentialError> for ApiError {
    fn from(e: CredentialError) -> Self {
        match e {
            CredentialError::Invalid(m) => ApiError::invalid("value", m),
            CredentialError::Conflict(m) => ApiError::new(ErrorCode::Conflict, m),
            CredentialError::NotFound(m) => ApiError::new(ErrorCode::NotFound, m),
            CredentialError::Store(e) => e.into(),
        }
    }
}

/// Body of `PUT /admin/v1/credentials/{name}`.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetCredential {
    /// The secret; it is sealed, and never shown again.
    value: String,
}

/// A credential: never its value.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct CredentialView {
    /// `credential`.
    object: &'static str,
    /// Its name, as plugins' manifests give it.
    name: String,
    /// Whether a value is in force.
    set: bool,
    /// Where it comes from, when set or stored.
    source: Option<crate::credentials::Source>,
    /// When it was last set through the API (RFC 3339).
    updated_at: Option<String>,
    /// Why a stored credential is not in force (it cannot be opened).
    error: Option<String>,
    /// The plugins naming it.
    used_by: BTreeSet<String>,
    /// After a set or remove: the plugins whose models launched.
    #[serde(skip_serializing_if = "Option::is_none")]
    launched: Option<Vec<String>>,
    /// After a set or remove: the plugins still waiting for a credential.
    #[serde(skip_serializing_if = "Option::is_none")]
    waiting: Option<Vec<String>>,
}

/// The credentials, and whether they can be set here.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct CredentialList {
    /// `list`.
    object: &'static str,
    data: Vec<CredentialView>,
    sealing: Sealing,
}

/// Whether credentials can be set through the API (it needs a sealing key).
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct Sealing {
    available: bool,
    /// Why not.
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
}

/// The plugins (loaded or waiting) naming each credential.
fn users(state: &AppState) -> BTreeMap<String, BTreeSet<String>> {
    let mut users: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (plugin, names) in state.rollout.credential_names() {
        for name in names {
            users.entry(name).or_default().insert(plugin.clone());
        }
    }
    users
}

fn view(info: &CredentialInfo, users: &BTreeMap<String, BTreeSet<String>>) -> CredentialView {
    CredentialView {
        object: "credential",
        name: info.name.clone(),
        set: info.set,
        source: info.source,
        updated_at: info.updated_at.clone(),
        error: info.error.clone(),
        used_by: users.get(&info.name).cloned().unwrap_or_default(),
        launched: None,
        waiting: None,
    }
}

/// Every credential in force, stored, or named by a plugin, with where it
/// comes from and which plugins use it; never a value. `sealing` says
/// whether credentials can be set here.
#[utoipa::path(get, path = "/admin/v1/credentials", tag = "plugins", operation_id = "list_credentials",
    security(("admin_key" = [])),
    responses((status = 200, description = "The credentials", body = CredentialList)))]
pub async fn list(State(state): State<AppState>, who: Principal) -> Result<Response, ApiError> {
    admin_only(&who)?;
    let users = users(&state);
    let credentials = state.rollout.credentials();
    let named: BTreeSet<String> = users.keys().cloned().collect();
    let data = credentials
        .list(&named)
        .iter()
        .map(|c| view(c, &users))
        .collect();
    let sealing = match credentials.sealing() {
        Ok(()) => Sealing {
            available: true,
            reason: None,
        },
        Err(reason) => Sealing {
            available: false,
            reason: Some(reason.to_string()),
        },
    };
    Ok(axum::Json(CredentialList {
        object: "list",
        data,
        sealing,
    })
    .into_response())
}

/// Sets or rotates a credential. It is in force for the next outbound
/// request; plugins that waited for it launch their models.
#[utoipa::path(put, path = "/admin/v1/credentials/{name}", tag = "plugins",
    params(("name" = String, Path, description = "The credential's name")),
    request_body = SetCredential,
    security(("admin_key" = [])),
    responses((status = 200, description = "The credential, and what it launched", body = CredentialView)))]
pub async fn set(
    State(state): State<AppState>,
    who: Principal,
    PathParams(name): PathParams<String>,
    JsonBody(body): JsonBody<SetCredential>,
) -> Result<Response, ApiError> {
    admin_only(&who)?;
    state.rollout.credentials().set(&name, &body.value).await?;
    let effect = state
        .rollout
        .credential_step("credential.set", &name)
        .await?;
    answer(&state, &name, effect)
}

/// Removes a stored credential. The models of plugins that need it stop
/// being served (they are not retired) until it is set again.
#[utoipa::path(delete, path = "/admin/v1/credentials/{name}", tag = "plugins",
    params(("name" = String, Path, description = "The credential's name")),
    security(("admin_key" = [])),
    responses((status = 200, description = "The credential, and the plugins now waiting", body = CredentialView)))]
pub async fn remove(
    State(state): State<AppState>,
    who: Principal,
    PathParams(name): PathParams<String>,
) -> Result<Response, ApiError> {
    admin_only(&who)?;
    state.rollout.credentials().remove(&name).await?;
    let effect = state
        .rollout
        .credential_step("credential.removed", &name)
        .await?;
    answer(&state, &name, effect)
}

fn answer(
    state: &AppState,
    name: &str,
    effect: crate::rollout::CredentialEffect,
) -> Result<Response, ApiError> {
    let users = users(state);
    let named = BTreeSet::from([name.to_string()]);
    let info = state
        .rollout
        .credentials()
        .list(&named)
        .into_iter()
        .find(|c| c.name == name)
        .expect("a named credential is listed");
    let v = CredentialView {
        launched: Some(effect.launched),
        waiting: Some(effect.waiting),
        ..view(&info, &users)
    };
    let mut response = axum::Json(v).into_response();
    // The step wrote its own audit entry, without the request's body.
    response.extensions_mut().insert(super::audit::Audited);
    Ok(response)
}

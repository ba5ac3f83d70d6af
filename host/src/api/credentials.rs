//! Credential routes (admin key): list, set or rotate, remove the upstream
//! credentials plugins name. A value goes in and never comes out: not in an
//! answer, the audit log or a log line.

use std::collections::{BTreeMap, BTreeSet};

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

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
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SetCredential {
    value: String,
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

fn view(info: &CredentialInfo, users: &BTreeMap<String, BTreeSet<String>>) -> Value {
    let mut v = serde_json::to_value(info).expect("serialises");
    v["object"] = json!("credential");
    v["used_by"] = json!(users.get(&info.name).cloned().unwrap_or_default());
    v
}

/// `GET /admin/v1/credentials`: every credential in force, stored, or named
/// by a plugin, with where it comes from and which plugins use it; never a
/// value. `sealing` says whether credentials can be set here.
pub async fn list(State(state): State<AppState>, who: Principal) -> Result<Response, ApiError> {
    admin_only(&who)?;
    let users = users(&state);
    let credentials = state.rollout.credentials();
    let named: BTreeSet<String> = users.keys().cloned().collect();
    let data: Vec<Value> = credentials
        .list(&named)
        .iter()
        .map(|c| view(c, &users))
        .collect();
    let sealing = match credentials.sealing() {
        Ok(()) => json!({ "available": true }),
        Err(reason) => json!({ "available": false, "reason": reason }),
    };
    Ok(axum::Json(json!({ "object": "list", "data": data, "sealing": sealing })).into_response())
}

/// `PUT /admin/v1/credentials/{name}` with `{"value": "…"}`: sets or rotates
/// a credential. It is in force for the next outbound request; plugins
/// that waited for it launch their models.
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

/// `DELETE /admin/v1/credentials/{name}`: removes a stored credential. The
/// models of plugins that need it stop being served (they are not retired)
/// until it is set again.
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
    let mut v = view(&info, &users);
    v["launched"] = json!(effect.launched);
    v["waiting"] = json!(effect.waiting);
    let mut response = axum::Json(v).into_response();
    // The step wrote its own audit entry, without the request's body.
    response.extensions_mut().insert(super::audit::Audited);
    Ok(response)
}

//! Plugin routes (admin key): what is loaded and installed, and the rollout
//! steps: install a version, activate, roll back, retire, reconfigure.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde::Deserialize;
use serde_json::{Value, json};

use super::AppState;
use super::admin::{admin_only, optional_body};
use super::error::{ApiError, ErrorCode};
use super::extract::{MultipartForm, PathParams};
use crate::auth::Principal;
use crate::plugins::LoadedPlugin;
use crate::rollout::{PluginRecord, RolloutError};

impl From<RolloutError> for ApiError {
    fn from(e: RolloutError) -> Self {
        match e {
            RolloutError::Invalid(m) => ApiError::invalid("component", m),
            RolloutError::NotFound(m) => ApiError::new(ErrorCode::NotFound, m),
            RolloutError::Conflict(m) => ApiError::new(ErrorCode::Conflict, m),
            RolloutError::Store(e) => e.into(),
            RolloutError::Io(e) => {
                tracing::error!(error = %e, "plugin files failed");
                ApiError::internal()
            }
        }
    }
}

fn view(state: &AppState, record: &PluginRecord) -> Value {
    let mut v = serde_json::to_value(record).expect("serialises");
    // The store's revision is its own business, not the API's.
    if let Some(fields) = v.as_object_mut() {
        fields.remove("revision");
    }
    v["object"] = json!("plugin");
    let waiting_for = state.rollout.waiting_for(&record.name);
    v["status"] = json!(if record.active.is_none() {
        "retired"
    } else if waiting_for.is_empty() {
        "serving"
    } else {
        "waiting"
    });
    v["waiting_for"] = json!(waiting_for);
    if let Some(plugin) = state.plugins.get(&record.name) {
        let core = plugin.core();
        let m = core.manifest();
        v["version"] = json!(m.version);
        v["description"] = json!(m.description);
        v["wit_version"] = json!(core.wit_version);
        v["allowed_hosts"] = json!(m.allowed_hosts);
        v["credentials"] = json!(m.credentials);
        v["from_cache"] = json!(core.from_cache);
        v["settings"] = settings(core.context());
        v["compile_ms"] = json!(core.compile_time.as_secs_f64() * 1000.0);
        match &plugin {
            LoadedPlugin::Provider(p) => {
                v["models"] = json!(p.models.iter().map(|m| m.id.clone()).collect::<Vec<_>>());
            }
            LoadedPlugin::Policy(p) => v["categories"] = json!(p.info.categories),
        }
    }
    v
}

/// The settings a plugin's calls run with: the manifest's as the operator's
/// `[sandbox]`, `[plugin_settings]` and run-time configuration changed them.
/// Of credentials, only the names and whether each is set: never a secret.
fn settings(ctx: &crate::plugins::PluginContext) -> Value {
    let credentials: Vec<Value> = ctx
        .manifest
        .credentials
        .iter()
        .map(|name| json!({"name": name, "configured": ctx.credentials.get(name).is_some()}))
        .collect();
    json!({
        "allowed_hosts": ctx.allowed_hosts,
        "call_timeout_ms": ctx.call_timeout.as_millis() as u64,
        "memory_mib": ctx.memory_bytes >> 20,
        "config": serde_json::from_str::<Value>(&ctx.config_json).unwrap_or(Value::Null),
        "credentials": credentials,
    })
}

fn audited(mut response: Response) -> Response {
    // The rollout step wrote its own audit entries.
    response.extensions_mut().insert(super::audit::Audited);
    response
}

/// `GET /admin/v1/plugins`: every plugin with its versions, the serving one
/// first in detail (manifest, WIT version, whether it came from the
/// compile cache, its models or policy categories).
pub async fn list(State(state): State<AppState>, who: Principal) -> Result<Response, ApiError> {
    admin_only(&who)?;
    let data: Vec<Value> = state
        .rollout
        .records()
        .await?
        .iter()
        .map(|r| view(&state, r))
        .collect();
    Ok(axum::Json(json!({ "object": "list", "data": data, "wit_supported": crate::plugins::wit_supported_range() })).into_response())
}

/// `GET /admin/v1/plugins/{name}`.
pub async fn get_one(
    State(state): State<AppState>,
    who: Principal,
    PathParams(name): PathParams<String>,
) -> Result<Response, ApiError> {
    admin_only(&who)?;
    let record = state
        .rollout
        .records()
        .await?
        .into_iter()
        .find(|r| r.name == name)
        .ok_or_else(|| ApiError::new(ErrorCode::NotFound, format!("no plugin named {name}")))?;
    Ok(axum::Json(view(&state, &record)).into_response())
}

/// `POST /admin/v1/plugins`: multipart with `manifest` (the TOML text),
/// `component` (the `.wasm`) and optionally `activate` (`true` by default).
/// The version is compiled, checked and smoke-called before anything
/// changes; answers 201 with what serves now and the timings.
pub async fn install(
    State(state): State<AppState>,
    who: Principal,
    MultipartForm(mut form): MultipartForm,
) -> Result<Response, ApiError> {
    admin_only(&who)?;
    let mut manifest = None;
    let mut component = None;
    let mut activate = true;
    while let Some(field) = form
        .next_field()
        .await
        .map_err(|e| ApiError::invalid("body", format!("the multipart body is malformed: {e}")))?
    {
        let name = field.name().unwrap_or_default().to_string();
        let bytes = field
            .bytes()
            .await
            .map_err(|e| ApiError::invalid(&name, format!("could not read the field: {e}")))?;
        match name.as_str() {
            "manifest" => {
                manifest = Some(String::from_utf8(bytes.to_vec()).map_err(|_| {
                    ApiError::invalid("manifest", "the manifest must be UTF-8 TOML")
                })?)
            }
            "component" => component = Some(bytes.to_vec()),
            "activate" => {
                activate = match bytes.as_ref() {
                    b"true" => true,
                    b"false" => false,
                    _ => return Err(ApiError::invalid("activate", "activate is true or false")),
                }
            }
            other => {
                return Err(ApiError::invalid(
                    other,
                    "unknown field; send manifest, component and optionally activate",
                ));
            }
        }
    }
    let manifest = manifest.ok_or_else(|| {
        ApiError::invalid("manifest", "send the manifest (TOML) as the manifest field")
    })?;
    let component = component
        .ok_or_else(|| ApiError::invalid("component", "send the .wasm as the component field"))?;
    let outcome = state
        .rollout
        .install(&manifest, component, activate)
        .await?;
    Ok(audited(
        (StatusCode::CREATED, axum::Json(json!(outcome))).into_response(),
    ))
}

/// Body of the plugin actions.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PluginAction {
    version: Option<String>,
    at: Option<String>,
    config: Option<Value>,
}

/// `POST /admin/v1/plugins/{name}/{action}`: `activate` (`version`),
/// `rollback`, `retire` (now, or at `at`, RFC 3339), `config` (`config`, a
/// JSON object that replaces the operator configuration).
pub async fn action(
    State(state): State<AppState>,
    who: Principal,
    PathParams((name, action)): PathParams<(String, String)>,
    body: Bytes,
) -> Result<Response, ApiError> {
    admin_only(&who)?;
    let body: PluginAction = optional_body(&body)?;
    let outcome = match action.as_str() {
        "activate" => {
            let version = body
                .version
                .ok_or_else(|| ApiError::invalid("version", "give the version to activate"))?;
            state.rollout.activate(&name, &version).await?
        }
        "rollback" => state.rollout.rollback(&name).await?,
        "retire" => {
            let at = body
                .at
                .map(|t| {
                    time::OffsetDateTime::parse(&t, &time::format_description::well_known::Rfc3339)
                        .map_err(|_| ApiError::invalid("at", "at must be an RFC 3339 time"))
                })
                .transpose()?;
            state.rollout.retire(&name, at).await?
        }
        "config" => {
            let config = body
                .config
                .ok_or_else(|| ApiError::invalid("config", "give the configuration object"))?;
            state.rollout.configure(&name, config).await?
        }
        other => {
            return Err(ApiError::new(
                ErrorCode::NotFound,
                format!("no plugin action {other:?}; use activate, rollback, retire or config"),
            ));
        }
    };
    Ok(audited(axum::Json(json!(outcome)).into_response()))
}

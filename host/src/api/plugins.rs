//! Plugin routes (admin key): what is loaded and installed, and the rollout
//! steps: install a version, activate, roll back, retire, reconfigure.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde::Deserialize;
use serde_json::Value;

use super::AppState;
use super::admin::{admin_only, optional_body};
use super::error::{ApiError, ErrorCode};
use super::extract::{MultipartForm, PathParams};
use crate::auth::Principal;
use crate::plugins::LoadedPlugin;
use crate::rollout::{Outcome, PluginRecord, RolloutError};

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

/// A plugin: its versions, and the serving one in detail.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct PluginView {
    /// `plugin`.
    object: &'static str,
    name: String,
    kind: crate::store::plugins::PluginKind,
    /// The serving version; null once retired.
    active: Option<String>,
    /// The versions activated before, oldest first (what `rollback` goes
    /// back to).
    history: Vec<String>,
    /// Every installed version.
    versions: Vec<crate::store::plugins::VersionRecord>,
    /// When it was retired (RFC 3339).
    retired_at: Option<String>,
    /// When it is to be retired (RFC 3339).
    retire_at: Option<String>,
    /// The operator's configuration set at run time.
    config: Option<Value>,
    /// `serving`, `waiting` (for a credential) or `retired`.
    status: &'static str,
    /// The credentials it waits for.
    waiting_for: Vec<String>,
    /// The loaded version's manifest and runtime facts, while it is loaded
    /// (the fields below are absent otherwise).
    #[serde(flatten)]
    loaded: LoadedView,
}

/// What is known of a loaded plugin: every field is absent while it is not
/// loaded (retired, or waiting for a credential).
#[derive(Debug, Default, serde::Serialize, utoipa::ToSchema)]
pub struct LoadedView {
    #[serde(skip_serializing_if = "Option::is_none")]
    version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    /// The WIT package version it was built against.
    #[serde(skip_serializing_if = "Option::is_none")]
    wit_version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    allowed_hosts: Option<Vec<String>>,
    /// The credentials its manifest names.
    #[serde(skip_serializing_if = "Option::is_none")]
    credentials: Option<Vec<String>>,
    /// Whether its compiled code came from the compile cache.
    #[serde(skip_serializing_if = "Option::is_none")]
    from_cache: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    settings: Option<Settings>,
    /// How long compiling took.
    #[serde(skip_serializing_if = "Option::is_none")]
    compile_ms: Option<f64>,
    /// A provider's models.
    #[serde(skip_serializing_if = "Option::is_none")]
    models: Option<Vec<String>>,
    /// A policy's categories.
    #[serde(skip_serializing_if = "Option::is_none")]
    categories: Option<Vec<String>>,
}

/// The settings a plugin's calls run with.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct Settings {
    allowed_hosts: Vec<String>,
    call_timeout_ms: u64,
    memory_mib: u64,
    /// The configuration it reads (`host.config`).
    config: Option<Value>,
    /// The credentials it names, and whether each is set (never a value).
    credentials: Vec<CredentialSetting>,
}

/// Whether a credential a plugin names is set.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct CredentialSetting {
    name: String,
    configured: bool,
}

fn view(state: &AppState, record: &PluginRecord) -> PluginView {
    let waiting_for = state.rollout.waiting_for(&record.name);
    let status = if record.active.is_none() {
        "retired"
    } else if waiting_for.is_empty() {
        "serving"
    } else {
        "waiting"
    };
    let loaded = state
        .plugins
        .get(&record.name)
        .map_or_else(LoadedView::default, |plugin| {
            let core = plugin.core();
            let m = core.manifest();
            let (models, categories) = match &plugin {
                LoadedPlugin::Provider(p) => {
                    (Some(p.models.iter().map(|m| m.id.clone()).collect()), None)
                }
                LoadedPlugin::Policy(p) => (None, Some(p.info.categories.clone())),
            };
            LoadedView {
                version: Some(m.version.clone()),
                description: Some(m.description.clone()),
                wit_version: Some(core.wit_version.to_string()),
                allowed_hosts: Some(m.allowed_hosts.clone()),
                credentials: Some(m.credentials.clone()),
                from_cache: Some(core.from_cache),
                settings: Some(settings(core.context())),
                compile_ms: Some(core.compile_time.as_secs_f64() * 1000.0),
                models,
                categories,
            }
        });
    PluginView {
        object: "plugin",
        name: record.name.clone(),
        kind: record.kind,
        active: record.active.clone(),
        history: record.history.clone(),
        versions: record.versions.clone(),
        retired_at: record.retired_at.clone(),
        retire_at: record.retire_at.clone(),
        config: record.config.clone(),
        status,
        waiting_for,
        loaded,
    }
}

/// The settings a plugin's calls run with: the manifest's as the operator's
/// `[sandbox]`, `[plugin_settings]` and run-time configuration changed them.
/// Of credentials, only the names and whether each is set: never a secret.
fn settings(ctx: &crate::plugins::PluginContext) -> Settings {
    Settings {
        allowed_hosts: ctx.allowed_hosts.clone(),
        call_timeout_ms: ctx.call_timeout.as_millis() as u64,
        memory_mib: (ctx.memory_bytes >> 20) as u64,
        config: serde_json::from_str::<Value>(&ctx.config_json).ok(),
        credentials: ctx
            .manifest
            .credentials
            .iter()
            .map(|name| CredentialSetting {
                name: name.clone(),
                configured: ctx.credentials.get(name).is_some(),
            })
            .collect(),
    }
}

fn audited(mut response: Response) -> Response {
    // The rollout step wrote its own audit entries.
    response.extensions_mut().insert(super::audit::Audited);
    response
}

/// The plugins, and the WIT versions this gateway loads.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct PluginList {
    /// `list`.
    object: &'static str,
    data: Vec<PluginView>,
    /// A semver range, e.g. `>=1.0.0, <2.0.0`.
    wit_supported: String,
}

/// Every plugin with its versions, the serving one in detail (manifest,
/// WIT version, whether it came from the compile cache, its models or
/// policy categories).
#[utoipa::path(get, path = "/admin/v1/plugins", tag = "plugins", operation_id = "list_plugins",
    security(("admin_key" = [])),
    responses((status = 200, description = "The plugins", body = PluginList)))]
pub async fn list(State(state): State<AppState>, who: Principal) -> Result<Response, ApiError> {
    admin_only(&who)?;
    let data = state
        .rollout
        .records()
        .await?
        .iter()
        .map(|r| view(&state, r))
        .collect();
    Ok(axum::Json(PluginList {
        object: "list",
        data,
        wit_supported: crate::plugins::wit_supported_range(),
    })
    .into_response())
}

/// One plugin.
#[utoipa::path(get, path = "/admin/v1/plugins/{name}", tag = "plugins", operation_id = "get_plugin",
    params(("name" = String, Path, description = "The plugin's name")),
    security(("admin_key" = [])),
    responses((status = 200, description = "The plugin", body = PluginView)))]
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

/// The multipart form of `POST /admin/v1/plugins`.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)] // The form's schema; the handler reads the fields one by one.
struct InstallForm {
    /// The manifest, `imini-plugin.toml`'s text.
    manifest: String,
    /// The component, the `.wasm`.
    #[schema(value_type = String, format = Binary)]
    component: Vec<u8>,
    /// `true` (the default) or `false`: install without serving it.
    activate: Option<String>,
}

/// Installs a plugin version (multipart: `manifest`, the TOML text;
/// `component`, the `.wasm`; optionally `activate`, `true` by default). The
/// version is compiled, checked and smoke-called before anything changes.
#[utoipa::path(post, path = "/admin/v1/plugins", tag = "plugins",
    request_body(content = InstallForm, content_type = "multipart/form-data"),
    security(("admin_key" = [])),
    responses((status = 201, description = "What serves now, and the timings", body = Outcome)))]
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
        (StatusCode::CREATED, axum::Json(outcome)).into_response(),
    ))
}

/// Body of the plugin actions; each reads the field it needs.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, default)]
pub struct PluginAction {
    /// `activate`: the installed version to serve.
    version: Option<String>,
    /// `retire`: when (RFC 3339); now if omitted.
    at: Option<String>,
    /// `config`: the operator configuration, replacing the one in force.
    #[schema(value_type = Option<Object>)]
    config: Option<Value>,
}

/// What `POST /admin/v1/plugins/{name}/{action}` does.
#[derive(Debug, Clone, Copy, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum PluginStep {
    /// Serves `version`.
    Activate,
    /// Serves the version before.
    Rollback,
    /// Stops serving its models, now or `at`.
    Retire,
    /// Replaces its configuration with `config`.
    Config,
}

/// A rollout step: `activate` (`version`), `rollback`, `retire` (now, or
/// at `at`, RFC 3339), `config` (`config`, a JSON object that replaces the
/// operator configuration). The body may be empty.
#[utoipa::path(post, path = "/admin/v1/plugins/{name}/{action}", tag = "plugins",
    params(("name" = String, Path, description = "The plugin's name"),
        ("action" = inline(PluginStep), Path, description = "The step")),
    request_body(content = Option<PluginAction>, description = "The field the step reads; may be empty"),
    security(("admin_key" = [])),
    responses((status = 200, description = "What serves now, and the timings", body = Outcome)))]
pub async fn action(
    State(state): State<AppState>,
    who: Principal,
    PathParams((name, action)): PathParams<(String, String)>,
    body: Bytes,
) -> Result<Response, ApiError> {
    admin_only(&who)?;
    let body: PluginAction = optional_body(&body)?;
    let step = super::admin::action::<PluginStep>(&action, "plugin").map_err(|e| {
        ApiError::new(
            e.code,
            format!("{}; use activate, rollback, retire or config", e.message),
        )
    })?;
    let outcome = match step {
        PluginStep::Activate => {
            let version = body
                .version
                .ok_or_else(|| ApiError::invalid("version", "give the version to activate"))?;
            state.rollout.activate(&name, &version).await?
        }
        PluginStep::Rollback => state.rollout.rollback(&name).await?,
        PluginStep::Retire => {
            let at = body
                .at
                .map(|t| {
                    time::OffsetDateTime::parse(&t, &time::format_description::well_known::Rfc3339)
                        .map_err(|_| ApiError::invalid("at", "at must be an RFC 3339 time"))
                })
                .transpose()?;
            state.rollout.retire(&name, at).await?
        }
        PluginStep::Config => {
            let config = body
                .config
                .ok_or_else(|| ApiError::invalid("config", "give the configuration object"))?;
            state.rollout.configure(&name, config).await?
        }
    };
    Ok(audited(axum::Json(outcome).into_response()))
}

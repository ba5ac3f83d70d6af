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
    pub(crate) object: &'static str,
    pub(crate) name: String,
    pub(crate) kind: crate::store::plugins::PluginKind,
    /// The serving version; null once retired.
    pub(crate) active: Option<String>,
    /// The versions activated before, oldest first (what `rollback` goes
    /// back to).
    pub(crate) history: Vec<String>,
    /// Every installed version.
    pub(crate) versions: Vec<crate::store::plugins::VersionRecord>,
    /// When it was retired (RFC 3339).
    pub(crate) retired_at: Option<String>,
    /// When it is to be retired (RFC 3339).
    pub(crate) retire_at: Option<String>,
    /// The operator's configuration set at run time.
    pub(crate) config: Option<Value>,
    /// `serving`, `waiting` (for a credential) or `retired`.
    pub(crate) status: &'static str,
    /// The credentials it waits for.
    pub(crate) waiting_for: Vec<String>,
    /// The loaded version's manifest and runtime facts, while it is loaded
    /// (the fields below are absent otherwise).
    #[serde(flatten)]
    pub(crate) loaded: LoadedView,
}

/// What is known of a loaded plugin: every field is absent while it is not
/// loaded (retired, or waiting for a credential).
#[derive(Debug, Default, serde::Serialize, utoipa::ToSchema)]
pub struct LoadedView {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) description: Option<String>,
    /// The WIT package version it was built against.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) wit_version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) allowed_hosts: Option<Vec<String>>,
    /// The credentials its manifest names.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) credentials: Option<Vec<String>>,
    /// Whether its compiled code came from the compile cache.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) from_cache: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) settings: Option<Settings>,
    /// How long compiling took.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) compile_ms: Option<f64>,
    /// A provider's models.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) models: Option<Vec<String>>,
    /// A policy's categories.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) categories: Option<Vec<String>>,
}

/// The settings a plugin's calls run with.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct Settings {
    pub(crate) allowed_hosts: Vec<String>,
    pub(crate) call_timeout_ms: u64,
    pub(crate) memory_mib: u64,
    /// The configuration it reads (`host.config`).
    pub(crate) config: Option<Value>,
    /// The credentials it names, and whether each is set (never a value).
    pub(crate) credentials: Vec<CredentialSetting>,
}

/// Whether a credential a plugin names is set.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct CredentialSetting {
    pub(crate) name: String,
    pub(crate) configured: bool,
}

/// A plugin as the admin API and the console show it: its record, whether
/// it serves, and what is known of its loaded version.
pub(crate) fn view(state: &AppState, record: &PluginRecord) -> PluginView {
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
    let data = plugin_views(&state).await?;
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
    Ok(axum::Json(plugin_view(&state, &name).await?).into_response())
}

/// Every plugin, as [`view`] shows it.
pub(crate) async fn plugin_views(state: &AppState) -> Result<Vec<PluginView>, ApiError> {
    Ok(state
        .rollout
        .records()
        .await?
        .iter()
        .map(|r| view(state, r))
        .collect())
}

/// The plugin `name`, as [`view`] shows it; 404 if there is none.
pub(crate) async fn plugin_view(state: &AppState, name: &str) -> Result<PluginView, ApiError> {
    let record = state
        .rollout
        .records()
        .await?
        .into_iter()
        .find(|r| r.name == name)
        .ok_or_else(|| ApiError::new(ErrorCode::NotFound, format!("no plugin named {name}")))?;
    Ok(view(state, &record))
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
    let outcome = install_plugin(&state, manifest, component, activate, "admin").await?;
    Ok(audited(
        (StatusCode::CREATED, axum::Json(outcome)).into_response(),
    ))
}

/// Installs a plugin version from its manifest's text and its component
/// as `actor` (`admin` for the admin key, a login's `user_…` for a
/// person), serving it with `activate`: what `POST /admin/v1/plugins` and
/// the console's upload form both do. A missing part is refused, naming
/// it.
pub async fn install_plugin(
    state: &AppState,
    manifest: Option<String>,
    component: Option<Vec<u8>>,
    activate: bool,
    actor: &str,
) -> Result<Outcome, ApiError> {
    let manifest = manifest.ok_or_else(|| {
        ApiError::invalid("manifest", "send the manifest (TOML) as the manifest field")
    })?;
    let component = component
        .ok_or_else(|| ApiError::invalid("component", "send the .wasm as the component field"))?;
    Ok(state
        .rollout
        .install(&manifest, component, activate, actor)
        .await?)
}

/// Body of the plugin actions; each reads the field it needs.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, default)]
pub struct PluginAction {
    /// `activate`: the installed version to serve.
    pub version: Option<String>,
    /// `retire`: when (RFC 3339); now if omitted.
    pub at: Option<String>,
    /// `config`: the operator configuration, replacing the one in force.
    #[schema(value_type = Option<Object>)]
    pub config: Option<Value>,
}

/// What `POST /admin/v1/plugins/{name}/{action}` does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
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
    let outcome = plugin_step(&state, &name, step, body, "admin").await?;
    Ok(audited(axum::Json(outcome).into_response()))
}

/// Takes rollout step `step` of plugin `name` with the field of `body` it
/// reads, as `actor` (`admin` for the admin key, a login's `user_…` for a
/// person): what `POST /admin/v1/plugins/{name}/{action}` and the
/// console's plugin page both do.
pub async fn plugin_step(
    state: &AppState,
    name: &str,
    step: PluginStep,
    body: PluginAction,
    actor: &str,
) -> Result<Outcome, ApiError> {
    let outcome = match step {
        PluginStep::Activate => {
            let version = body
                .version
                .ok_or_else(|| ApiError::invalid("version", "give the version to activate"))?;
            state.rollout.activate(name, &version, actor).await?
        }
        PluginStep::Rollback => state.rollout.rollback(name, actor).await?,
        PluginStep::Retire => {
            let at = body
                .at
                .map(|t| {
                    time::OffsetDateTime::parse(&t, &time::format_description::well_known::Rfc3339)
                        .map_err(|_| ApiError::invalid("at", "at must be an RFC 3339 time"))
                })
                .transpose()?;
            state.rollout.retire(name, at, actor).await?
        }
        PluginStep::Config => {
            let config = body
                .config
                .ok_or_else(|| ApiError::invalid("config", "give the configuration object"))?;
            state.rollout.configure(name, config, actor).await?
        }
    };
    Ok(outcome)
}

//! Plugins, for staff: every plugin with its versions and which one
//! serves, and one plugin's page (versions, settings, configuration). An
//! operator uploads a version and takes the rollout steps (activate, roll
//! back, retire, configure) through the admin API's own functions
//! ([`install_plugin`], [`plugin_step`]), which name the operator's login
//! in the audit log; support reads, and a step posted anyway is refused
//! (403), changing nothing.

use askama::Template;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::{Staff, parse_when};
use crate::api::plugins::{
    PluginAction, PluginStep, PluginView, install_plugin, plugin_step, plugin_view, plugin_views,
};
use crate::api::{ApiError, AppState, ErrorCode};
use crate::console::{Chrome, SignedForm, api_error_page, in_words, page, url_escape};

/// What support is told when it posts a step.
const SUPPORT_READS: &str = "Your role (support) reads plugins; only an operator changes them.";

/// A plugin as the list shows it.
struct PluginRow {
    name: String,
    kind: String,
    status: &'static str,
    active: String,
    versions: String,
    retire_at: Option<String>,
    waiting_for: String,
}

/// The plugins list.
#[derive(Template)]
#[template(path = "console/admin/plugins.html")]
struct PluginsPage {
    chrome: Chrome,
    may_act: bool,
    rows: Vec<PluginRow>,
    upload_error: Option<String>,
    /// The plugin the upload form belongs to (none: the list's).
    from: String,
}

/// An installed version as the plugin's page shows it.
struct VersionRow {
    version: String,
    active: bool,
    installed_at: String,
    wit_version: String,
    sha256: String,
    bundled: bool,
    serves: String,
}

/// One plugin's page.
#[derive(Template)]
#[template(path = "console/admin/plugin.html")]
struct PluginPage {
    chrome: Chrome,
    may_act: bool,
    notice: Option<String>,
    error: Option<(&'static str, String)>,
    upload_error: Option<String>,
    from: String,
    name: String,
    kind: String,
    status: &'static str,
    active: Option<String>,
    description: String,
    wit_version: String,
    retired_at: Option<String>,
    retire_at: Option<String>,
    waiting_for: String,
    /// The version a roll back goes to, if there is one.
    previous: Option<String>,
    versions: Vec<VersionRow>,
    allowed_hosts: String,
    call_timeout_ms: String,
    memory_mib: String,
    credentials: Vec<(String, bool)>,
    /// The configuration to edit: the operator's, else the one in force.
    config: String,
}

impl PluginPage {
    /// The refusal to show at the form of `step`, if it was refused.
    fn error_for(&self, step: &str) -> Option<&str> {
        self.error
            .as_ref()
            .filter(|(s, _)| *s == step)
            .map(|(_, m)| m.as_str())
    }
}

/// A list of words, or "none".
fn listed(items: &[String]) -> String {
    if items.is_empty() {
        "none".into()
    } else {
        items.join(", ")
    }
}

/// `GET /console/admin/plugins`.
pub(crate) async fn list(State(state): State<AppState>, staff: Staff) -> Response {
    list_page(&state, &staff, StatusCode::OK, None).await
}

/// The list, with the upload form's refusal.
async fn list_page(
    state: &AppState,
    staff: &Staff,
    status: StatusCode,
    upload_error: Option<String>,
) -> Response {
    let views = match plugin_views(state).await {
        Ok(v) => v,
        Err(e) => return api_error_page(&e),
    };
    let rows = views
        .into_iter()
        .map(|v| PluginRow {
            kind: v.kind.to_string(),
            status: v.status,
            active: v.active.clone().unwrap_or_else(|| "none".into()),
            versions: listed(
                &v.versions
                    .iter()
                    .map(|x| x.version.clone())
                    .collect::<Vec<_>>(),
            ),
            retire_at: v.retire_at,
            waiting_for: v.waiting_for.join(", "),
            name: v.name,
        })
        .collect();
    let view = PluginsPage {
        chrome: staff.person.chrome("plugins"),
        may_act: staff.may_act(),
        rows,
        upload_error,
        from: String::new(),
    };
    page(&view, status)
}

/// The page of plugin `v`.
fn plugin_page(
    staff: &Staff,
    v: PluginView,
    notice: Option<String>,
    error: Option<(&'static str, String)>,
    upload_error: Option<String>,
) -> PluginPage {
    let settings = v.loaded.settings.as_ref();
    let in_force = settings.and_then(|s| s.config.clone());
    let config = v
        .config
        .clone()
        .or(in_force)
        .unwrap_or_else(|| serde_json::json!({}));
    let previous = (v.active.is_some() && v.history.len() >= 2)
        .then(|| v.history[v.history.len() - 2].clone());
    let versions = v
        .versions
        .iter()
        .rev()
        .map(|x| VersionRow {
            active: v.active.as_deref() == Some(x.version.as_str()),
            version: x.version.clone(),
            installed_at: x.installed_at.clone(),
            wit_version: x.wit_version.clone(),
            sha256: x.sha256.chars().take(12).collect(),
            bundled: x.bundled,
            serves: if x.models.is_empty() {
                listed(&x.categories)
            } else {
                listed(&x.models)
            },
        })
        .collect();
    PluginPage {
        chrome: staff.person.chrome("plugins"),
        may_act: staff.may_act(),
        notice,
        error,
        upload_error,
        from: v.name.clone(),
        kind: v.kind.to_string(),
        status: v.status,
        active: v.active.clone(),
        description: v.loaded.description.clone().unwrap_or_default(),
        wit_version: v.loaded.wit_version.clone().unwrap_or_default(),
        retired_at: v.retired_at.clone(),
        retire_at: v.retire_at.clone(),
        waiting_for: v.waiting_for.join(", "),
        previous,
        versions,
        allowed_hosts: settings.map_or_else(String::new, |s| listed(&s.allowed_hosts)),
        call_timeout_ms: settings.map_or_else(String::new, |s| s.call_timeout_ms.to_string()),
        memory_mib: settings.map_or_else(String::new, |s| s.memory_mib.to_string()),
        credentials: settings.map_or_else(Vec::new, |s| {
            s.credentials
                .iter()
                .map(|c| (c.name.clone(), c.configured))
                .collect()
        }),
        config: serde_json::to_string_pretty(&config).unwrap_or_default(),
        name: v.name,
    }
}

/// Query of a plugin's page.
#[derive(Debug, Deserialize)]
pub(crate) struct ShowQuery {
    /// The step just taken, to say so.
    done: Option<String>,
}

/// `GET /console/admin/plugins/{name}`.
pub(crate) async fn show(
    State(state): State<AppState>,
    staff: Staff,
    Path(name): Path<String>,
    Query(q): Query<ShowQuery>,
) -> Response {
    let v = match plugin_view(&state, &name).await {
        Ok(v) => v,
        Err(e) => return api_error_page(&e),
    };
    let active = v.active.clone().unwrap_or_default();
    let notice = q.done.as_deref().and_then(|done| match done {
        "installed" if v.active.is_some() => Some(format!("Installed. Version {active} serves.")),
        "installed" => Some("Installed.".to_string()),
        "activate" | "rollback" => Some(format!("Version {active} serves now.")),
        "retire" if v.active.is_none() => Some("Retired: its models are no longer served.".into()),
        "retire" => Some("Retirement scheduled, and announced in the changelog.".into()),
        "config" => Some("Configuration set; the serving version reloaded with it.".into()),
        _ => None,
    });
    page(&plugin_page(&staff, v, notice, None, None), StatusCode::OK)
}

/// The fields of the step forms; each step reads the one it needs.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct StepForm {
    #[serde(default)]
    version: String,
    #[serde(default)]
    at: String,
    #[serde(default)]
    config: String,
}

/// The step a form names, and its name as the forms use it.
fn step_of(action: &str) -> Option<(PluginStep, &'static str)> {
    Some(match action {
        "activate" => (PluginStep::Activate, "activate"),
        "rollback" => (PluginStep::Rollback, "rollback"),
        "retire" => (PluginStep::Retire, "retire"),
        "config" => (PluginStep::Config, "config"),
        _ => return None,
    })
}

/// `POST /console/admin/plugins/{name}/{action}`: a rollout step through
/// the admin API's function, named in the audit log by the operator's
/// login. A refusal is shown at its form; nothing changed.
pub(crate) async fn act(
    State(state): State<AppState>,
    Path((name, action)): Path<(String, String)>,
    SignedForm { by: staff, form }: SignedForm<StepForm, Staff>,
) -> Response {
    if let Err(refused) = staff.only_operators(SUPPORT_READS) {
        return refused;
    }
    let Some((step, step_name)) = step_of(&action) else {
        return crate::console::not_found().await;
    };
    let body = match step {
        PluginStep::Activate => Ok(PluginAction {
            version: Some(form.version.trim().to_string()),
            ..PluginAction::default()
        }),
        PluginStep::Rollback => Ok(PluginAction::default()),
        PluginStep::Retire => parse_when(&form.at).map(|at| PluginAction {
            at,
            ..PluginAction::default()
        }),
        PluginStep::Config => serde_json::from_str(form.config.trim())
            .map(|config| PluginAction {
                config: Some(config),
                ..PluginAction::default()
            })
            .map_err(|e| format!("This is not JSON: {e}.")),
    };
    let refused = |status: StatusCode, message: String| {
        let (state, staff, name) = (&state, &staff, &name);
        async move {
            match plugin_view(state, name).await {
                Ok(v) => page(
                    &plugin_page(staff, v, None, Some((step_name, message)), None),
                    status,
                ),
                Err(e) => api_error_page(&e),
            }
        }
    };
    let body = match body {
        Ok(body) => body,
        Err(message) => return refused(StatusCode::BAD_REQUEST, message).await,
    };
    match plugin_step(&state, &name, step, body, staff.person.actor()).await {
        Ok(_) => Redirect::to(&format!(
            "/console/admin/plugins/{}?done={step_name}",
            url_escape(&name)
        ))
        .into_response(),
        Err(e) if e.code == ErrorCode::InternalError || e.code == ErrorCode::NotFound => {
            api_error_page(&e)
        }
        Err(e) => refused(e.status_and_type().0, in_words(&e)).await,
    }
}

/// What the upload form sent.
#[derive(Default)]
struct Upload {
    csrf: String,
    manifest: Option<Vec<u8>>,
    component: Option<Vec<u8>>,
    activate: bool,
    from: String,
}

/// Reads the upload form (a file input left empty still sends an empty
/// part: no file).
async fn read_upload(state: &AppState, form: &mut Multipart) -> Result<Upload, ApiError> {
    let mut upload = Upload::default();
    while let Some(field) = crate::api::extract::next_field(state, form, "body").await? {
        let name = field.name().unwrap_or_default().to_string();
        let bytes = field
            .bytes()
            .await
            .map_err(|e| crate::api::extract::multipart_error(state, &name, e))?;
        let text = || String::from_utf8_lossy(&bytes).into_owned();
        match name.as_str() {
            "csrf" => upload.csrf = text(),
            "from" => upload.from = text(),
            "activate" => upload.activate = &bytes[..] == b"true",
            "manifest" if !bytes.is_empty() => upload.manifest = Some(bytes.to_vec()),
            "component" if !bytes.is_empty() => upload.component = Some(bytes.to_vec()),
            _ => {}
        }
    }
    Ok(upload)
}

/// `POST /console/admin/plugins` (multipart: `manifest`, `component`,
/// `activate`): installs a version through the admin API's function, then
/// shows its plugin's page. A refusal is shown at the upload form of the
/// page it was sent from; nothing changed.
pub(crate) async fn upload(
    State(state): State<AppState>,
    staff: Staff,
    form: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> Response {
    // The form is read before any refusal: a browser still sending a
    // large file would otherwise see the connection closed, not the answer.
    let Ok(mut form) = form else {
        return api_error_page(&ApiError::invalid(
            "body",
            "the form did not arrive as a form; reload the page and try again",
        ));
    };
    let upload = match read_upload(&state, &mut form).await {
        Ok(u) => u,
        Err(e) => return api_error_page(&e),
    };
    if let Err(forged) = staff.person.check(&upload.csrf) {
        return forged;
    }
    if let Err(refused) = staff.only_operators(SUPPORT_READS) {
        return refused;
    }
    let Upload {
        manifest,
        component,
        activate,
        from,
        ..
    } = upload;
    let files = match (manifest, component) {
        (None, _) => Err("Choose the plugin's manifest, its imini-plugin.toml file."),
        (_, None) => Err("Choose the plugin's component, its .wasm file."),
        (Some(manifest), Some(component)) => String::from_utf8(manifest)
            .map(|manifest| (manifest, component))
            .map_err(|_| "The manifest must be a text file (UTF-8 TOML)."),
    };
    let outcome = match files {
        Err(m) => Err((StatusCode::BAD_REQUEST, m.to_string())),
        Ok((manifest, component)) => {
            let actor = staff.person.actor();
            match install_plugin(&state, Some(manifest), Some(component), activate, actor).await {
                Ok(outcome) => Ok(outcome),
                Err(e) if e.code == ErrorCode::InternalError => return api_error_page(&e),
                Err(e) => Err((e.status_and_type().0, in_words(&e))),
            }
        }
    };
    match outcome {
        Ok(outcome) => Redirect::to(&format!(
            "/console/admin/plugins/{}?done=installed",
            url_escape(&outcome.plugin)
        ))
        .into_response(),
        Err((status, message)) if !from.is_empty() => match plugin_view(&state, &from).await {
            Ok(v) => page(&plugin_page(&staff, v, None, None, Some(message)), status),
            Err(_) => list_page(&state, &staff, status, Some(message)).await,
        },
        Err((status, message)) => list_page(&state, &staff, status, Some(message)).await,
    }
}

//! The operator's configuration of this plugin, and the authenticated
//! calls to fal's queue it shapes.

use imini_sdk::upstream::{ApiDefaults, ApiSettings};
use imini_sdk::{PluginError, host, http};
use serde_json::Value;

use crate::wire::Handle;

pub(super) const DEFAULT_BASE_URL: &str = "https://queue.fal.run";
/// The defaults of the operator's settings; fal's paths carry no version,
/// so `base_url` is taken as given.
const DEFAULTS: ApiDefaults = ApiDefaults {
    base_url: DEFAULT_BASE_URL,
    timeout_ms: 30_000,
    poll_interval_ms: 1_000,
    strip_v1: false,
};
/// The credential the operator configures (`[credentials.fal]`).
const CREDENTIAL: &str = "fal";

/// The operator's settings for this plugin.
pub(super) struct Settings {
    pub(super) api: ApiSettings,
}

impl Settings {
    pub(super) fn load() -> Result<Self, PluginError> {
        Self::from_config(&host::config())
    }

    pub(super) fn from_config(config: &Value) -> Result<Self, PluginError> {
        ApiSettings::from_config(config, &DEFAULTS).map(|api| Self { api })
    }

    /// The URL of a queued request, `{base_url}/{owner}/{alias}/requests/{id}`.
    pub(super) fn request_url(&self, handle: &Handle) -> String {
        format!(
            "{}/{}/requests/{}",
            self.api.base_url,
            app_root(&handle.app),
            handle.id
        )
    }

    /// A request to fal's queue carrying the operator's key.
    pub(super) fn call(&self, method: &str, url: &str) -> http::Request {
        self.api
            .request(method, url, CREDENTIAL, "authorization", "Key ")
    }
}

/// An app's `owner/alias`, without the subpath.
fn app_root(app: &str) -> String {
    app.split('/').take(2).collect::<Vec<_>>().join("/")
}

//! The operator's configuration of this plugin, and the authenticated
//! calls to Runway's API it shapes.

use imini_sdk::upstream::{ApiDefaults, ApiSettings};
use imini_sdk::{PluginError, host, http};
use serde_json::Value;

pub(super) const DEFAULT_BASE_URL: &str = "https://api.dev.runwayml.com";
/// The defaults of the operator's settings; every path carries `/v1`, so a
/// `base_url` ending in `/v1` is accepted too.
const DEFAULTS: ApiDefaults = ApiDefaults {
    base_url: DEFAULT_BASE_URL,
    timeout_ms: 30_000,
    poll_interval_ms: 5_000,
    strip_v1: true,
};
/// The credential the operator configures (`[credentials.runway]`).
const CREDENTIAL: &str = "runway";
/// The version of Runway's API this plugin speaks; Runway requires it on
/// every call.
pub(super) const API_VERSION: &str = "2024-11-06";

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

    pub(super) fn task_url(&self, id: &str) -> String {
        format!("{}/v1/tasks/{id}", self.api.base_url)
    }

    /// A request to Runway's API carrying the operator's key and the API
    /// version.
    pub(super) fn call(&self, method: &str, url: &str) -> http::Request {
        self.api
            .request(method, url, CREDENTIAL, "authorization", "Bearer ")
            .header("X-Runway-Version", API_VERSION)
    }
}

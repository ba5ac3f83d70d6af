//! The operator's configuration of this plugin, and the authenticated
//! calls to Runway's API it shapes.

use imini_sdk::{PluginError, host, http};
use serde_json::Value;

pub(super) const DEFAULT_BASE_URL: &str = "https://api.dev.runwayml.com";
const DEFAULT_TIMEOUT_MS: u32 = 30_000;
const DEFAULT_POLL_INTERVAL_MS: u32 = 5_000;
/// The credential the operator configures (`[credentials.runway]`).
const CREDENTIAL: &str = "runway";
/// The version of Runway's API this plugin speaks; Runway requires it on
/// every call.
pub(super) const API_VERSION: &str = "2024-11-06";

/// The operator's settings for this plugin.
pub(super) struct Settings {
    pub(super) base_url: String,
    pub(super) timeout_ms: u32,
    pub(super) poll_interval_ms: u32,
}

impl Settings {
    pub(super) fn load() -> Result<Self, PluginError> {
        Self::from_config(&host::config())
    }

    pub(super) fn from_config(config: &Value) -> Result<Self, PluginError> {
        let mut base_url = host::config_url(config, "base_url", DEFAULT_BASE_URL)?;
        if let Some(origin) = base_url.strip_suffix("/v1") {
            base_url = origin.to_string();
        }
        let millis = |key: &str, default: u32| host::config_millis(config, key, default);
        Ok(Self {
            base_url,
            timeout_ms: millis("timeout_ms", DEFAULT_TIMEOUT_MS)?,
            poll_interval_ms: millis("poll_interval_ms", DEFAULT_POLL_INTERVAL_MS)?,
        })
    }

    pub(super) fn task_url(&self, id: &str) -> String {
        format!("{}/v1/tasks/{id}", self.base_url)
    }

    /// A request to Runway's API carrying the operator's key and the API
    /// version.
    pub(super) fn call(&self, method: &str, url: &str) -> http::Request {
        http::Request::new(method, url)
            .credential(CREDENTIAL, "authorization", "Bearer ")
            .timeout_ms(self.timeout_ms)
            .header("accept", "application/json")
            .header("X-Runway-Version", API_VERSION)
    }
}

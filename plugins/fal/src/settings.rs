//! The operator's configuration of this plugin, and the authenticated
//! calls to fal's queue it shapes.

use imini_sdk::{PluginError, host, http};
use serde_json::Value;

use crate::wire::Handle;

pub(super) const DEFAULT_BASE_URL: &str = "https://queue.fal.run";
const DEFAULT_TIMEOUT_MS: u32 = 30_000;
const DEFAULT_POLL_INTERVAL_MS: u32 = 1_000;
/// The credential the operator configures (`[credentials.fal]`).
const CREDENTIAL: &str = "fal";

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
        let base_url = host::config_url(config, "base_url", DEFAULT_BASE_URL)?;
        let millis = |key: &str, default: u32| host::config_millis(config, key, default);
        Ok(Self {
            base_url,
            timeout_ms: millis("timeout_ms", DEFAULT_TIMEOUT_MS)?,
            poll_interval_ms: millis("poll_interval_ms", DEFAULT_POLL_INTERVAL_MS)?,
        })
    }

    /// The URL of a queued request, `{base_url}/{owner}/{alias}/requests/{id}`.
    pub(super) fn request_url(&self, handle: &Handle) -> String {
        format!(
            "{}/{}/requests/{}",
            self.base_url,
            app_root(&handle.app),
            handle.id
        )
    }

    /// A request to fal's queue carrying the operator's key.
    pub(super) fn call(&self, method: &str, url: &str) -> http::Request {
        http::Request::new(method, url)
            .credential(CREDENTIAL, "authorization", "Key ")
            .timeout_ms(self.timeout_ms)
            .header("accept", "application/json")
    }
}

/// An app's `owner/alias`, without the subpath.
fn app_root(app: &str) -> String {
    app.split('/').take(2).collect::<Vec<_>>().join("/")
}

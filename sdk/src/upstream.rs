//! The settings most provider adapters read for the upstream API they call,
//! the authenticated JSON requests those settings shape, and the
//! classification of the API's error answers.
//!
//! An adapter of an asynchronous API typically lets the operator move the
//! API's origin (`base_url`, for a proxy or a test server), bound each call
//! (`timeout_ms`) and pace the gateway's polls (`poll_interval_ms`).
//! [`ApiSettings`] reads those three keys the same way for every adapter, so
//! operators meet the same keys, defaults and errors everywhere.
//!
//! ```
//! use imini_sdk::upstream::{ApiDefaults, ApiSettings};
//!
//! const DEFAULTS: ApiDefaults = ApiDefaults {
//!     base_url: "https://api.acme.example",
//!     timeout_ms: 30_000,
//!     poll_interval_ms: 1_000,
//!     strip_v1: true,
//! };
//!
//! let config = serde_json::json!({ "base_url": "http://127.0.0.1:9/v1/" });
//! let settings = ApiSettings::from_config(&config, &DEFAULTS).unwrap();
//! assert_eq!(settings.base_url, "http://127.0.0.1:9");
//! let url = format!("{}/v1/jobs/1", settings.base_url);
//! let _request = settings.request("GET", &url, "acme", "authorization", "Bearer ");
//! ```
//!
//! A synchronous adapter reads the same `base_url` and `timeout_ms` (and may
//! ignore `poll_interval_ms`); add its own keys beside them from the same
//! configuration.
//!
//! [`UpstreamErrors`] turns a non-2xx answer into a [`PluginError`]: the
//! SDK's classification by status, a message naming the vendor and the
//! detail the adapter read from the vendor's error body, and the rules that
//! make some statuses final (not retryable) on some [`Call`]s.

use serde_json::Value;

use crate::types::PluginError;
use crate::{host, http};

mod errors;
pub use errors::{Call, UpstreamErrors};

/// What an adapter assumes when the operator leaves a setting out, and how
/// it reads `base_url`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ApiDefaults {
    /// The API's origin, without a trailing slash.
    pub base_url: &'static str,
    /// How long one API call may take, in milliseconds.
    pub timeout_ms: u32,
    /// How long the gateway waits between polls of a running job, in
    /// milliseconds.
    pub poll_interval_ms: u32,
    /// Whether a trailing `/v1` is dropped from the configured `base_url`:
    /// set it when the adapter writes the version into every path itself,
    /// so the operator may give the origin with or without it.
    pub strip_v1: bool,
}

/// The operator's settings for the upstream API an adapter calls.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiSettings {
    /// The API's origin (config key `base_url`), trimmed and without
    /// trailing slashes (nor a trailing `/v1` when the defaults ask so).
    pub base_url: String,
    /// How long one API call may take (config key `timeout_ms`).
    pub timeout_ms: u32,
    /// How long the gateway waits between polls of a running job (config
    /// key `poll_interval_ms`).
    pub poll_interval_ms: u32,
}

impl ApiSettings {
    /// Reads the settings from `config` (the operator's configuration of the
    /// plugin, [`host::config`]), taking `defaults` for the keys it leaves
    /// out. A key of the wrong type, or a duration that is not a positive
    /// integer, is an error rather than silently the default.
    pub fn from_config(config: &Value, defaults: &ApiDefaults) -> Result<Self, PluginError> {
        let mut base_url = host::config_url(config, "base_url", defaults.base_url)?;
        if defaults.strip_v1
            && let Some(origin) = base_url.strip_suffix("/v1")
        {
            base_url = origin.to_string();
        }
        let millis = |key: &str, default: u32| host::config_millis(config, key, default);
        Ok(Self {
            base_url,
            timeout_ms: millis("timeout_ms", defaults.timeout_ms)?,
            poll_interval_ms: millis("poll_interval_ms", defaults.poll_interval_ms)?,
        })
    }

    /// A request with `method` to `url` that expects JSON back, bounded by
    /// [`ApiSettings::timeout_ms`], and for which the gateway puts the
    /// credential named `credential` in `header` after `prefix` (e.g.
    /// `"Bearer "`). Add any other header the API requires to the result.
    pub fn request(
        &self,
        method: &str,
        url: &str,
        credential: &str,
        header: &str,
        prefix: &str,
    ) -> http::Request {
        http::Request::new(method, url)
            .credential(credential, header, prefix)
            .timeout_ms(self.timeout_ms)
            .header("accept", "application/json")
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::types::ErrorKind;

    const DEFAULTS: ApiDefaults = ApiDefaults {
        base_url: "https://api.acme.example",
        timeout_ms: 30_000,
        poll_interval_ms: 1_000,
        strip_v1: true,
    };

    fn settings(base_url: &str, timeout_ms: u32, poll_interval_ms: u32) -> ApiSettings {
        ApiSettings {
            base_url: base_url.to_string(),
            timeout_ms,
            poll_interval_ms,
        }
    }

    #[test]
    fn missing_keys_take_the_defaults() {
        for config in [json!({}), json!({"base_url": null, "timeout_ms": null})] {
            assert_eq!(
                ApiSettings::from_config(&config, &DEFAULTS).unwrap(),
                settings("https://api.acme.example", 30_000, 1_000)
            );
        }
    }

    #[test]
    fn given_keys_win_and_the_base_url_is_normalised() {
        let config = json!({
            "base_url": " http://127.0.0.1:9/v1/ ",
            "timeout_ms": 900,
            "poll_interval_ms": 50,
        });
        assert_eq!(
            ApiSettings::from_config(&config, &DEFAULTS).unwrap(),
            settings("http://127.0.0.1:9", 900, 50)
        );
        let keep_v1 = ApiDefaults {
            strip_v1: false,
            ..DEFAULTS
        };
        assert_eq!(
            ApiSettings::from_config(&config, &keep_v1)
                .unwrap()
                .base_url,
            "http://127.0.0.1:9/v1"
        );
    }

    #[test]
    fn invalid_keys_are_errors() {
        for config in [
            json!({"base_url": 3}),
            json!({"base_url": "  "}),
            json!({"base_url": "ftp://files.example"}),
            json!({"timeout_ms": 5_000_000_000u64}),
            json!({"timeout_ms": 0}),
            json!({"poll_interval_ms": -1}),
            json!({"poll_interval_ms": "fast"}),
        ] {
            let error = ApiSettings::from_config(&config, &DEFAULTS).unwrap_err();
            assert_eq!(error.kind, ErrorKind::InvalidRequest, "{config}");
            let key = config.as_object().unwrap().keys().next().unwrap().clone();
            assert!(
                error
                    .message
                    .starts_with(&format!("plugin configuration: {key} must be")),
                "{config}: {}",
                error.message
            );
            assert_eq!(
                error.details.as_ref().and_then(|d| d.param.as_deref()),
                Some(key.as_str())
            );
        }
    }

    #[test]
    fn requests_carry_the_credential_timeout_and_accept_header() {
        let request = settings("http://127.0.0.1:9", 900, 50)
            .request(
                "GET",
                "http://127.0.0.1:9/v1/jobs/1",
                "acme",
                "authorization",
                "Key ",
            )
            .header("x-extra", "1")
            .inner;
        assert_eq!(
            (request.method.as_str(), request.url.as_str()),
            ("GET", "http://127.0.0.1:9/v1/jobs/1")
        );
        let credential = request.credential.unwrap();
        assert_eq!(
            (
                credential.name.as_str(),
                credential.header.as_str(),
                credential.prefix.as_str()
            ),
            ("acme", "authorization", "Key ")
        );
        assert_eq!(request.timeout_ms, Some(900));
        assert_eq!(
            request.headers,
            [
                ("accept".to_string(), "application/json".to_string()),
                ("x-extra".to_string(), "1".to_string()),
            ]
        );
    }
}

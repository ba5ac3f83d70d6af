//! Functions the gateway offers every plugin: logging, the operator's
//! configuration for this plugin, and reading reference blobs.

use crate::__bindings::provider::imini::plugin::host as raw;
use crate::types::{Blob, PluginError};

pub use raw::LogLevel;

/// Writes a line to the gateway's log at `level`.
pub fn log(level: LogLevel, message: &str) {
    raw::log(level, message);
}

/// Logs at info level.
pub fn info(message: &str) {
    raw::log(LogLevel::Info, message);
}

/// Logs at warn level.
pub fn warn(message: &str) {
    raw::log(LogLevel::Warn, message);
}

/// Logs at debug level.
pub fn debug(message: &str) {
    raw::log(LogLevel::Debug, message);
}

/// The operator's configuration for this plugin as JSON (an empty object if
/// none was given).
pub fn config() -> serde_json::Value {
    serde_json::from_str(&raw::config()).unwrap_or_else(|_| serde_json::json!({}))
}

/// Reads a configuration given as JSON text (what `validate_config`
/// receives); used by the export macros.
#[doc(hidden)]
pub fn parse_config(text: &str) -> Result<serde_json::Value, PluginError> {
    serde_json::from_str(text)
        .map_err(|e| PluginError::invalid_request(format!("plugin configuration is not JSON: {e}")))
}

/// The operator's configuration for this plugin, deserialised into `T`.
pub fn config_as<T: serde::de::DeserializeOwned>() -> Result<T, PluginError> {
    serde_json::from_str(&raw::config())
        .map_err(|e| PluginError::internal(format!("plugin configuration is invalid: {e}")))
}

/// The error of a bad setting `key` of the operator's configuration: the
/// configuration is refused, the message and `details.param` naming the key.
pub fn config_error(key: &str, message: impl core::fmt::Display) -> PluginError {
    PluginError::invalid_request(format!("plugin configuration: {key} {message}")).with_param(key)
}

/// The operator's configuration as a table whose keys are all among
/// `keys` (absent, it is an empty table); anything else is refused, naming
/// the key that is not a setting of this `what` (e.g. "policy").
pub fn config_table<'a>(
    config: &'a serde_json::Value,
    keys: &[&str],
    what: &str,
) -> Result<&'a serde_json::Map<String, serde_json::Value>, PluginError> {
    static EMPTY: std::sync::LazyLock<serde_json::Map<String, serde_json::Value>> =
        std::sync::LazyLock::new(serde_json::Map::new);
    let table = match config {
        serde_json::Value::Null => &*EMPTY,
        serde_json::Value::Object(map) => map,
        other => {
            return Err(PluginError::invalid_request(format!(
                "plugin configuration must be a table (got {other})"
            )));
        }
    };
    if let Some(key) = table.keys().find(|k| !keys.contains(&k.as_str())) {
        return Err(config_error(
            key,
            format!(
                "is not a setting of this {what} (its settings: {})",
                keys.join(", ")
            ),
        ));
    }
    Ok(table)
}

/// A URL setting of `config` (such as an upstream's `base_url`): an http(s)
/// URL, trimmed, without trailing slashes; `default` when absent.
pub fn config_url(
    config: &serde_json::Value,
    key: &str,
    default: &str,
) -> Result<String, PluginError> {
    let url = match config.get(key) {
        None | Some(serde_json::Value::Null) => default.to_string(),
        Some(serde_json::Value::String(s))
            if s.trim().starts_with("http://") || s.trim().starts_with("https://") =>
        {
            s.trim().to_string()
        }
        Some(other) => {
            return Err(config_error(
                key,
                format!("must be an http(s) URL (got {other})"),
            ));
        }
    };
    Ok(url.trim_end_matches('/').to_string())
}

/// A duration setting of `config` in milliseconds: a positive whole number
/// (at most `u32::MAX`); `default` when absent.
pub fn config_millis(
    config: &serde_json::Value,
    key: &str,
    default: u32,
) -> Result<u32, PluginError> {
    match config.get(key) {
        None | Some(serde_json::Value::Null) => Ok(default),
        Some(v) => v
            .as_u64()
            .filter(|ms| *ms > 0)
            .and_then(|ms| u32::try_from(ms).ok())
            .ok_or_else(|| {
                config_error(
                    key,
                    format!("must be a positive whole number of milliseconds (got {v})"),
                )
            }),
    }
}

/// A text setting of `config`: a non-empty string, trimmed; `None` when
/// absent.
pub fn config_text(config: &serde_json::Value, key: &str) -> Result<Option<String>, PluginError> {
    match config.get(key) {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(serde_json::Value::String(s)) if !s.trim().is_empty() => {
            Ok(Some(s.trim().to_string()))
        }
        Some(other) => Err(config_error(
            key,
            format!("must be a non-empty string (got {other})"),
        )),
    }
}

/// The size of a blob in bytes, or `None` if the handle is not valid.
pub fn blob_size(handle: Blob) -> Option<u64> {
    raw::blob_size(handle)
}

/// Reads a whole blob into memory.
pub fn blob_read_all(handle: Blob) -> Result<Vec<u8>, PluginError> {
    const CHUNK: u32 = 1 << 20;
    let mut out = Vec::with_capacity(raw::blob_size(handle).unwrap_or(0) as usize);
    loop {
        let chunk = raw::blob_read(handle, out.len() as u64, CHUNK)
            .map_err(|e| PluginError::internal(format!("reading blob {handle}: {e}")))?;
        if chunk.is_empty() {
            return Ok(out);
        }
        out.extend_from_slice(&chunk);
    }
}

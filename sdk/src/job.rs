//! Handles of asynchronous jobs: versioned JSON the gateway persists.
//!
//! [`Provider::submit`](crate::Provider::submit) returns a handle that the
//! gateway stores and hands back to `poll` and `cancel`, possibly after a
//! restart and to a newer version of the plugin. Write it as a small serde
//! type with [`encode_handle`], which adds the format's version as `"v"`
//! (`{"v":1,"id":"…",…}`, keys in alphabetical order), and read it back
//! with [`decode_handle`], which accepts that version only and answers a
//! clear internal error for anything else.
//!
//! To keep reading what an earlier version of the plugin wrote, use
//! [`decode_handle_or`]: its fallback gets the handle's text when it is not
//! the current format, e.g. a bare job id, or the JSON of an older
//! version, which the fallback may decode in turn with [`decode_handle`]
//! at that version. Keep the fields that an older version wrote readable
//! (new ones `Option` or `#[serde(default)]`) and the version only changes
//! when the format does not stay compatible.
//!
//! ```
//! use imini_sdk::job::{decode_handle_or, encode_handle, malformed_handle};
//!
//! #[derive(serde::Serialize, serde::Deserialize, Debug, PartialEq)]
//! struct Handle {
//!     id: String,
//!     #[serde(default, skip_serializing_if = "Option::is_none")]
//!     width: Option<u32>,
//! }
//!
//! let handle = Handle { id: "j-1".into(), width: Some(512) };
//! let text = encode_handle(1, &handle).unwrap();
//! assert_eq!(text, r#"{"id":"j-1","v":1,"width":512}"#);
//!
//! // Version 0 of the plugin wrote the bare id.
//! let decode = |text: &str| {
//!     decode_handle_or("Acme", 1, text, |bare| {
//!         Some(Handle { id: bare.to_string(), width: None })
//!     })
//! };
//! assert_eq!(decode(&text).unwrap(), handle);
//! assert_eq!(decode(" j-0 ").unwrap().id, "j-0");
//!
//! // The adapter's own checks give the same error as a handle that does
//! // not parse.
//! let error = malformed_handle("Acme", "../x");
//! assert_eq!(error.message, r#"malformed Acme job handle "../x""#);
//! ```

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::types::PluginError;

/// The key of a handle's version.
pub const VERSION_KEY: &str = "v";

/// `handle` as the JSON text of version `version` of its format: its
/// fields and `"v": version`, in alphabetical order.
///
/// `T` must serialise to a JSON object (a struct or a map) without a `"v"`
/// field; anything else is an internal error, a bug of the plugin.
pub fn encode_handle<T: Serialize>(version: u32, handle: &T) -> Result<String, PluginError> {
    let invalid = |why: &str| PluginError::internal(format!("encoding the job handle: {why}"));
    let value = serde_json::to_value(handle).map_err(|e| invalid(&e.to_string()))?;
    let Value::Object(mut fields) = value else {
        return Err(invalid("it is not a JSON object"));
    };
    if fields
        .insert(VERSION_KEY.to_string(), Value::from(version))
        .is_some()
    {
        return Err(invalid(
            "it has a field named \"v\", which holds the version",
        ));
    }
    Ok(Value::Object(fields).to_string())
}

/// Reads `handle` as [`encode_handle`] wrote it at `version`: a JSON object
/// (whitespace around is ignored) whose `"v"` is `version` and whose other
/// fields are a `T`. Anything else is [`malformed_handle`], naming `vendor`.
pub fn decode_handle<T: DeserializeOwned>(
    vendor: &str,
    version: u32,
    handle: &str,
) -> Result<T, PluginError> {
    decode_handle_or(vendor, version, handle, |_| None)
}

/// Like [`decode_handle`], but a handle that is not of `version` (or not
/// JSON at all) goes to `older` with its text trimmed: the way to read the
/// formats earlier versions of the plugin wrote. `older` answers `None` for
/// a handle it does not read either, which is then [`malformed_handle`].
pub fn decode_handle_or<T: DeserializeOwned>(
    vendor: &str,
    version: u32,
    handle: &str,
    older: impl FnOnce(&str) -> Option<T>,
) -> Result<T, PluginError> {
    let trimmed = handle.trim();
    current(version, trimmed)
        .or_else(|| older(trimmed))
        .ok_or_else(|| malformed_handle(vendor, handle))
}

/// `text` as version `version` of `T`'s format, if it is.
fn current<T: DeserializeOwned>(version: u32, text: &str) -> Option<T> {
    if !text.starts_with('{') {
        return None;
    }
    let Ok(Value::Object(mut fields)) = serde_json::from_str(text) else {
        return None;
    };
    let written = fields.remove(VERSION_KEY)?;
    if written.as_u64() != Some(u64::from(version)) {
        return None;
    }
    serde_json::from_value(Value::Object(fields)).ok()
}

/// The error for a job handle this plugin cannot use (an internal error:
/// the gateway stores handles as the plugin wrote them): `malformed
/// <vendor> job handle "<handle>"`.
pub fn malformed_handle(vendor: &str, handle: &str) -> PluginError {
    PluginError::internal(format!("malformed {vendor} job handle {handle:?}"))
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;
    use crate::types::ErrorKind;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Job {
        id: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        width: Option<u32>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        height: Option<u32>,
    }

    /// What version 1 of the plugin wrote, before version 2 renamed `id`.
    #[derive(Debug, Deserialize)]
    struct JobV1 {
        task: String,
    }

    fn job(id: &str, size: Option<(u32, u32)>) -> Job {
        Job {
            id: id.to_string(),
            width: size.map(|s| s.0),
            height: size.map(|s| s.1),
        }
    }

    fn assert_malformed(result: Result<Job, PluginError>, handle: &str) {
        let error = result.unwrap_err();
        assert_eq!(
            (error.kind, error.retryable),
            (ErrorKind::Internal, false),
            "{handle}"
        );
        assert_eq!(
            error.message,
            format!("malformed Acme job handle {handle:?}")
        );
    }

    #[test]
    fn handles_are_versioned_json_in_alphabetical_order() {
        assert_eq!(
            encode_handle(1, &job("j-1", Some((1344, 768)))).unwrap(),
            r#"{"height":768,"id":"j-1","v":1,"width":1344}"#
        );
        assert_eq!(
            encode_handle(3, &job("j-1", None)).unwrap(),
            r#"{"id":"j-1","v":3}"#
        );
        for size in [None, Some((1, 2))] {
            let text = encode_handle(1, &job("j-1", size)).unwrap();
            assert_eq!(
                decode_handle::<Job>("Acme", 1, &format!(" {text}\n")).unwrap(),
                job("j-1", size)
            );
        }
        // Keys in any order, and fields an older version wrote, are read.
        let written = r#"{"v": 1, "width": 5, "id": "j-2", "height": 6, "seed": 9}"#;
        assert_eq!(
            decode_handle::<Job>("Acme", 1, written).unwrap(),
            job("j-2", Some((5, 6)))
        );
    }

    #[test]
    fn what_cannot_be_encoded_is_an_internal_error() {
        #[derive(Serialize)]
        struct Versioned {
            v: u32,
        }
        for error in [
            encode_handle(1, &"bare").unwrap_err(),
            encode_handle(1, &Versioned { v: 2 }).unwrap_err(),
        ] {
            assert_eq!(error.kind, ErrorKind::Internal);
            assert!(
                error.message.starts_with("encoding the job handle: "),
                "{}",
                error.message
            );
        }
    }

    #[test]
    fn other_versions_and_shapes_are_malformed() {
        for handle in [
            "",
            "  ",
            "j-1",
            "{nope",
            "[1]",
            "\"j-1\"",
            "{}",
            r#"{"id":"j-1"}"#,
            r#"{"v":2,"id":"j-1"}"#,
            r#"{"v":"1","id":"j-1"}"#,
            r#"{"v":1}"#,
            r#"{"v":1,"id":5}"#,
            r#"{"v":1,"id":"j-1","width":"wide"}"#,
        ] {
            assert_malformed(decode_handle::<Job>("Acme", 1, handle), handle);
        }
    }

    #[test]
    fn older_formats_are_read_by_the_fallback() {
        let decode = |handle: &str| {
            decode_handle_or("Acme", 2, handle, |old| {
                if let Ok(v1) = decode_handle::<JobV1>("Acme", 1, old) {
                    return Some(job(&v1.task, None));
                }
                // Version 0 wrote the bare id.
                (!old.is_empty() && !old.starts_with('{')).then(|| job(old, None))
            })
        };
        let current = encode_handle(2, &job("j-3", Some((7, 8)))).unwrap();
        assert_eq!(decode(&current).unwrap(), job("j-3", Some((7, 8))));
        assert_eq!(decode(r#"{"v":1,"task":"j-1"}"#).unwrap(), job("j-1", None));
        assert_eq!(decode("  j-0 ").unwrap(), job("j-0", None));
        for handle in ["", r#"{"v":1,"id":"j-1"}"#, r#"{"v":3,"id":"j-1"}"#] {
            assert_malformed(decode(handle), handle);
        }
        // The fallback sees the trimmed text, and only when needed.
        let mut seen = None;
        let _ = decode_handle_or::<Job>("Acme", 1, " x ", |old| {
            seen = Some(old.to_string());
            None
        });
        assert_eq!(seen.as_deref(), Some("x"));
        let text = encode_handle(1, &job("j-1", None)).unwrap();
        let read = decode_handle_or::<Job>("Acme", 1, &text, |_| panic!("not needed"));
        assert_eq!(read.unwrap(), job("j-1", None));
    }
}

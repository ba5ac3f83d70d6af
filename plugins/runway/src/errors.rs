//! Runway's errors, classified into the SDK's kinds: non-2xx answers of the
//! API (by status, call and Runway's error body) and the failures of tasks
//! that ended badly.

use imini_sdk::upstream::{Call, UpstreamErrors};
use imini_sdk::{ErrorKind, PluginError, http};
use serde_json::Value;

/// The text of Runway's documented error body, `{"error": "…"}` (some
/// answers add `issues` or `docUrl`, which the text already summarises).
fn error_text(body: &[u8]) -> Option<String> {
    let value: Value = serde_json::from_slice(body).ok()?;
    match value.get("error")? {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        Value::Object(o) => o
            .get("message")
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string),
        _ => None,
    }
}

/// The typed error for a non-2xx answer: the SDK's classification and
/// rules (see [`UpstreamErrors`]) with Runway's error body.
pub(super) fn upstream_error(response: &http::Response, call: Call) -> PluginError {
    UpstreamErrors::new("Runway").error(response, error_text(&response.body), call)
}

/// The error of a failed task: the model's own failure, which trying the
/// same input again does not fix; a refusal of Runway's moderation
/// (`failureCode` `SAFETY…`) is a content-policy error.
pub(super) fn failure(task: &Value) -> PluginError {
    let text = |key: &str| {
        task.get(key)
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
    };
    let code = text("failureCode").unwrap_or_default();
    let reason = text("failure").unwrap_or("(no failure message)");
    let message = if code.is_empty() {
        format!("Runway's task failed: {reason}")
    } else {
        format!("Runway's task failed ({code}): {reason}")
    };
    if code.starts_with("SAFETY") {
        PluginError::new(ErrorKind::ContentPolicy, message).retryable(false)
    } else {
        PluginError::upstream(message).retryable(false)
    }
}

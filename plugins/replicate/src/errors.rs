//! Replicate's errors, classified into the SDK's kinds: non-2xx answers of
//! the API (by status, call and Replicate's problem-details body) and the
//! failures of predictions that ended badly.

use imini_sdk::{ErrorKind, PluginError, http};
use serde_json::Value;

/// Which API call an error answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Call {
    Create,
    Read,
    Cancel,
}

/// Replicate's documented error body: `{"detail", "status", "title"}`
/// (problem details), with `invalid_fields` on 422s.
#[derive(Debug, Default)]
struct ReplicateError {
    title: Option<String>,
    detail: Option<String>,
}

impl ReplicateError {
    fn parse(body: &[u8]) -> Option<Self> {
        let value: Value = serde_json::from_slice(body).ok()?;
        let text = |key: &str| {
            value
                .get(key)
                .and_then(Value::as_str)
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
        };
        let error = Self {
            title: text("title"),
            detail: text("detail"),
        };
        (error.title.is_some() || error.detail.is_some()).then_some(error)
    }

    fn describe(&self) -> String {
        match (&self.title, &self.detail) {
            (Some(title), Some(detail)) => format!("{title}: {detail}"),
            (Some(only), None) | (None, Some(only)) => only.clone(),
            (None, None) => "(no detail)".to_string(),
        }
    }
}

/// The typed error for a non-2xx answer: the SDK's classification by status
/// (with `retry-after`), refined with Replicate's error body and the call it
/// answered.
pub(super) fn upstream_error(response: &http::Response, call: Call) -> PluginError {
    let status = response.status;
    let base = match response.clone().error_for_status() {
        Err(e) => e,
        Ok(_) => PluginError::upstream(format!("Replicate answered {status}")),
    };
    let message = match ReplicateError::parse(&response.body) {
        Some(detail) => format!("Replicate answered {status}: {}", detail.describe()),
        // Not Replicate's error shape (a proxy's page...): keep the SDK's
        // message, which quotes the start of the body.
        None => format!("Replicate: {}", base.message),
    };
    match status {
        // An unknown model (on create) or prediction (on poll or cancel) is
        // not the caller's fault: the operator's set-up or Replicate's state.
        404 => PluginError::upstream(message).retryable(false),
        // Out of credit on Replicate's side: no retry helps.
        402 => PluginError::upstream(message).retryable(false),
        // A prediction that already finished cannot be canceled.
        409 if call == Call::Cancel => PluginError::upstream(message).retryable(false),
        _ => PluginError { message, ..base },
    }
}

/// The error of a failed prediction: the model's own failure, which trying
/// the same input again does not fix; an NSFW refusal is a content-policy
/// error.
pub(super) fn failure(prediction: &Value) -> PluginError {
    let text = error_text(prediction).unwrap_or("(no error message)");
    let message = format!("Replicate's prediction failed: {text}");
    if text.to_ascii_lowercase().contains("nsfw") {
        PluginError::new(ErrorKind::ContentPolicy, message).retryable(false)
    } else {
        PluginError::upstream(message).retryable(false)
    }
}

/// A prediction's `error`, which is usually text but may be any JSON.
pub(super) fn error_text(prediction: &Value) -> Option<&str> {
    match prediction.get("error")? {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim()),
        Value::Object(o) => o
            .get("detail")
            .or_else(|| o.get("message"))
            .and_then(Value::as_str),
        _ => None,
    }
}

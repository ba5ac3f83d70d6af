//! Replicate's errors, classified into the SDK's kinds: non-2xx answers of
//! the API (by status, call and Replicate's problem-details body) and the
//! failures of predictions that ended badly.

use imini_sdk::upstream::{Call, UpstreamErrors};
use imini_sdk::{ErrorKind, PluginError, http};
use serde_json::Value;

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

/// The typed error for a non-2xx answer: the SDK's classification (see
/// [`UpstreamErrors`]) with Replicate's error body. On top of the SDK's
/// rules, an unknown model (on create) is not the caller's fault but the
/// operator's set-up: final too.
pub(super) fn upstream_error(response: &http::Response, call: Call) -> PluginError {
    let detail = ReplicateError::parse(&response.body).map(|e| e.describe());
    UpstreamErrors::new("Replicate")
        .final_on(404, &[Call::Create])
        .error(response, detail, call)
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

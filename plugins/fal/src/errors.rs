//! fal's errors, classified into the SDK's kinds: non-2xx answers of the
//! queue (by status, call and fal's `{"detail": …}` body), failed results,
//! and the failures of requests that completed badly.

use imini_sdk::upstream::{Call, UpstreamErrors};
use imini_sdk::{ErrorKind, JobStatus, PluginError, http};
use serde_json::Value;

/// fal's `detail`: text, or FastAPI's validation list `[{"loc", "msg",
/// "type"}]`, or an object.
pub(super) fn describe_detail(detail: &Value) -> String {
    match detail {
        Value::String(s) => s.trim().to_string(),
        Value::Array(items) => items
            .iter()
            .map(|item| {
                let msg = item
                    .get("msg")
                    .and_then(Value::as_str)
                    .map(str::to_string)
                    .unwrap_or_else(|| item.to_string());
                let loc: Vec<String> = item
                    .get("loc")
                    .and_then(Value::as_array)
                    .map(|l| {
                        l.iter()
                            .map(|p| match p {
                                Value::String(s) => s.clone(),
                                other => other.to_string(),
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                if loc.is_empty() {
                    msg
                } else {
                    format!("{}: {msg}", loc.join("."))
                }
            })
            .collect::<Vec<_>>()
            .join("; "),
        Value::Object(o) => o
            .get("message")
            .or_else(|| o.get("msg"))
            .and_then(Value::as_str)
            .map(str::to_string)
            .unwrap_or_else(|| detail.to_string()),
        other => other.to_string(),
    }
}

/// The typed error for a non-2xx answer: the SDK's classification (see
/// [`UpstreamErrors`]) with fal's `{"detail": …}` body. On top of the
/// SDK's rules, an unknown app (on submit) is not the caller's fault but
/// the operator's set-up, and a 400 to a cancel is a request that already
/// finished: both final.
pub(super) fn upstream_error(response: &http::Response, call: Call) -> PluginError {
    let detail = serde_json::from_slice::<Value>(&response.body)
        .ok()
        .and_then(|v| {
            v.get("detail")
                .filter(|d| !d.is_null())
                .map(describe_detail)
        });
    UpstreamErrors::new("fal")
        .final_on(404, &[Call::Create])
        .final_on(400, &[Call::Cancel])
        .error(response, detail, call)
}

/// The error of a request that completed with a failure: the model's own,
/// which trying the same input again does not fix; an NSFW refusal is a
/// content-policy error.
pub(super) fn failure(text: &str, error_type: Option<&str>) -> PluginError {
    let message = format!("fal's request failed: {text}");
    let policy = text.to_ascii_lowercase().contains("nsfw")
        || error_type.is_some_and(|t| t.to_ascii_lowercase().contains("content_policy"));
    if policy {
        PluginError::new(ErrorKind::ContentPolicy, message).retryable(false)
    } else {
        PluginError::upstream(message).retryable(false)
    }
}

/// A completed request whose result endpoint answers an error: the job
/// failed (a 4xx is the input's fault, as fal validates it only when it
/// runs); a rate limit is the endpoint's and worth another poll.
pub(super) fn result_error(response: &http::Response) -> Result<JobStatus, PluginError> {
    let error = upstream_error(response, Call::Read);
    if error.kind == ErrorKind::RateLimited {
        return Err(error);
    }
    let error = if error.kind == ErrorKind::Upstream && response.status >= 500 {
        PluginError {
            retryable: false,
            ..error
        }
    } else {
        error
    };
    Ok(JobStatus::Failed(error))
}

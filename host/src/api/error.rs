//! The one error type of the HTTP edge: a code from API.md, its status and
//! type, a message safe to show, and the parameter at fault. Rendered (with
//! the request id) and logged in one place, the request-id middleware.

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// An error answered to a client.
#[derive(Debug, Clone)]
pub struct ApiError {
    /// The machine-readable code, e.g. `INVALID_PARAMETER`.
    pub code: &'static str,
    /// A human-readable message.
    pub message: String,
    /// The request parameter at fault.
    pub param: Option<String>,
    /// The task concerned, when there is one (e.g. a 504 while it runs on).
    pub task_id: Option<String>,
    /// For 429: seconds to wait (the `Retry-After` header).
    pub retry_after_secs: Option<u64>,
    /// For content policy refusals: the category of the terms.
    pub category: Option<Box<str>>,
}

impl ApiError {
    /// An error with `code` and `message`.
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            param: None,
            task_id: None,
            retry_after_secs: None,
            category: None,
        }
    }

    /// 400 INVALID_PARAMETER about `param`.
    pub fn invalid(param: &str, message: impl Into<String>) -> Self {
        Self::new("INVALID_PARAMETER", message).with_param(param)
    }

    /// 400 UNSUPPORTED_PARAMETER about `param`.
    pub fn unsupported(param: &str, message: impl Into<String>) -> Self {
        Self::new("UNSUPPORTED_PARAMETER", message).with_param(param)
    }

    /// 500, with a message that reveals nothing internal.
    pub fn internal() -> Self {
        Self::new(
            "INTERNAL_ERROR",
            "the gateway failed to handle this request; retry later",
        )
    }

    /// Names the parameter at fault.
    pub fn with_param(mut self, param: &str) -> Self {
        self.param = Some(param.to_string());
        self
    }

    /// Sets `Retry-After`.
    pub fn retry_after(mut self, secs: u64) -> Self {
        self.retry_after_secs = Some(secs);
        self
    }

    /// Names the content policy category of a refusal.
    pub fn with_category(mut self, category: &str) -> Self {
        self.category = Some(category.into());
        self
    }

    /// Names the task concerned.
    pub fn with_task(mut self, task_id: &str) -> Self {
        self.task_id = Some(task_id.to_string());
        self
    }

    /// The HTTP status and OpenAI error type of the code.
    pub fn status_and_type(&self) -> (StatusCode, &'static str) {
        match self.code {
            "INVALID_PARAMETER" | "INVALID_PROMPT" | "UNSUPPORTED_PARAMETER" => {
                (StatusCode::BAD_REQUEST, "invalid_request_error")
            }
            "CONTENT_POLICY_VIOLATION" => (StatusCode::BAD_REQUEST, "content_policy_violation"),
            "INVALID_API_KEY" => (StatusCode::UNAUTHORIZED, "authentication_error"),
            "INSUFFICIENT_CREDITS" => (StatusCode::PAYMENT_REQUIRED, "insufficient_quota"),
            "ACCOUNT_SUSPENDED" | "KEY_REVOKED" | "PERMISSION_DENIED" => {
                (StatusCode::FORBIDDEN, "permission_error")
            }
            "MODEL_NOT_FOUND" | "TASK_NOT_FOUND" | "NOT_FOUND" => {
                (StatusCode::NOT_FOUND, "not_found_error")
            }
            "METHOD_NOT_ALLOWED" => (StatusCode::METHOD_NOT_ALLOWED, "invalid_request_error"),
            "IDEMPOTENCY_CONFLICT" | "TASK_NOT_CANCELABLE" | "CONFLICT" => {
                (StatusCode::CONFLICT, "conflict_error")
            }
            "PAYLOAD_TOO_LARGE" => (StatusCode::PAYLOAD_TOO_LARGE, "invalid_request_error"),
            "UNSUPPORTED_MEDIA_TYPE" => {
                (StatusCode::UNSUPPORTED_MEDIA_TYPE, "invalid_request_error")
            }
            "RATE_LIMITED" => (StatusCode::TOO_MANY_REQUESTS, "rate_limit_error"),
            "UPSTREAM_ERROR" => (StatusCode::BAD_GATEWAY, "api_error"),
            "MODEL_UNAVAILABLE" => (StatusCode::SERVICE_UNAVAILABLE, "api_error"),
            "UPSTREAM_TIMEOUT" => (StatusCode::GATEWAY_TIMEOUT, "api_error"),
            _ => (StatusCode::INTERNAL_SERVER_ERROR, "api_error"),
        }
    }

    /// The JSON body, with the request id.
    pub fn body(&self, request_id: &str) -> serde_json::Value {
        let (status, kind) = self.status_and_type();
        let mut error = json!({
            "code": self.code,
            "message": self.message,
            "type": kind,
            "param": self.param,
            "status": status.as_u16(),
            "request_id": request_id,
        });
        if let Some(task_id) = &self.task_id {
            error["task_id"] = json!(task_id);
        }
        if let Some(category) = &self.category {
            error["category"] = json!(category);
        }
        json!({ "error": error })
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        // The body is written by the request-id middleware, which knows the
        // request id; carry the error there in the response's extensions.
        let (status, _) = self.status_and_type();
        let mut response = status.into_response();
        if let Some(secs) = self.retry_after_secs {
            response
                .headers_mut()
                .insert("retry-after", HeaderValue::from(secs));
        }
        if self.code == "UNSUPPORTED_MEDIA_TYPE" {
            response
                .headers_mut()
                .insert("accept", HeaderValue::from_static("application/json"));
        }
        response.extensions_mut().insert(self);
        response
    }
}

impl From<crate::tasks::TaskStoreError> for ApiError {
    fn from(e: crate::tasks::TaskStoreError) -> Self {
        match e {
            crate::tasks::TaskStoreError::Ledger(e) => e.into(),
            crate::tasks::TaskStoreError::Store(e) => e.into(),
            crate::tasks::TaskStoreError::TooManyTasks { cap } => Self::new(
                "RATE_LIMITED",
                format!("this account may run {cap} tasks at once; retry when one finishes"),
            )
            .retry_after(1),
        }
    }
}

impl From<crate::media::MediaError> for ApiError {
    fn from(e: crate::media::MediaError) -> Self {
        tracing::error!(error = %e, "media storage failed");
        Self::internal()
    }
}

impl From<crate::accounts::AccountError> for ApiError {
    fn from(e: crate::accounts::AccountError) -> Self {
        use crate::accounts::AccountError as E;
        match e {
            E::AccountNotFound => {
                Self::new("NOT_FOUND", "no such account").with_param("account_id")
            }
            E::KeyNotFound => Self::new("NOT_FOUND", "no such key").with_param("key_id"),
            E::Conflict(m) => Self::new("CONFLICT", m),
            E::Invalid(m) => Self::new("INVALID_PARAMETER", m),
            E::Store(e) => {
                tracing::error!(error = %e, "account storage failed");
                Self::internal()
            }
        }
    }
}

impl From<crate::ledger::LedgerError> for ApiError {
    fn from(e: crate::ledger::LedgerError) -> Self {
        use crate::ledger::LedgerError as E;
        match e {
            E::Insufficient { .. } | E::KeyLimit { .. } => {
                Self::new("INSUFFICIENT_CREDITS", e.to_string())
            }
            E::WouldGoNegative { .. } => Self::new("CONFLICT", e.to_string()),
            E::NotPositive => Self::invalid("credits", e.to_string()),
            E::Store(e) => {
                tracing::error!(error = %e, "ledger storage failed");
                Self::internal()
            }
        }
    }
}

impl From<crate::store::StoreError> for ApiError {
    fn from(e: crate::store::StoreError) -> Self {
        tracing::error!(error = %e, "storage failed");
        Self::internal()
    }
}

impl From<crate::pricing::PricingError> for ApiError {
    fn from(e: crate::pricing::PricingError) -> Self {
        match e {
            crate::pricing::PricingError::Invalid(m) => Self::new("INVALID_PARAMETER", m),
            crate::pricing::PricingError::Store(e) => e.into(),
        }
    }
}

impl From<crate::bills::BillError> for ApiError {
    fn from(e: crate::bills::BillError) -> Self {
        use crate::bills::BillError as E;
        match e {
            E::Invalid(param, m) => Self::invalid(param, m),
            E::Conflict(m) => Self::new("CONFLICT", m),
            E::NotFound => Self::new("NOT_FOUND", "no such dispute").with_param("dispute_id"),
            E::Store(e) => e.into(),
            E::Tasks(e) => e.into(),
        }
    }
}

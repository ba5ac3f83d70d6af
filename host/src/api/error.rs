//! The one error type of the HTTP edge: a code from docs/api.md, its status and
//! type, a message safe to show, and the parameter at fault. Rendered (with
//! the request id) and logged in one place, the request-id middleware.

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

pub use crate::error_code::ErrorCode;

/// An error answered to a client.
#[derive(Debug, Clone)]
pub struct ApiError {
    /// The machine-readable code.
    pub code: ErrorCode,
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
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
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
        Self::new(ErrorCode::InvalidParameter, message).with_param(param)
    }

    /// 400 UNSUPPORTED_PARAMETER about `param`.
    pub fn unsupported(param: &str, message: impl Into<String>) -> Self {
        Self::new(ErrorCode::UnsupportedParameter, message).with_param(param)
    }

    /// 500, with a message that reveals nothing internal.
    pub fn internal() -> Self {
        Self::new(
            ErrorCode::InternalError,
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
        self.code.status_and_type()
    }

    /// The JSON body, with the request id.
    pub fn body(&self, request_id: &str) -> super::doc::ErrorBody {
        let (status, kind) = self.status_and_type();
        super::doc::ErrorBody {
            error: super::doc::ErrorDetail {
                code: self.code,
                message: self.message.clone(),
                kind,
                param: self.param.clone(),
                status: status.as_u16(),
                request_id: request_id.to_string(),
                task_id: self.task_id.clone(),
                category: self.category.clone(),
            },
        }
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
        if self.code == ErrorCode::UnsupportedMediaType {
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
                ErrorCode::RateLimited,
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
                Self::new(ErrorCode::NotFound, "no such account").with_param("account_id")
            }
            E::KeyNotFound => Self::new(ErrorCode::NotFound, "no such key").with_param("key_id"),
            E::Conflict(m) => Self::new(ErrorCode::Conflict, m),
            E::Invalid(m) => Self::new(ErrorCode::InvalidParameter, m),
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
                Self::new(ErrorCode::InsufficientCredits, e.to_string())
            }
            E::WouldGoNegative { .. } => Self::new(ErrorCode::Conflict, e.to_string()),
            E::NotPositive | E::TooLarge => Self::invalid("credits", e.to_string()),
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
            crate::pricing::PricingError::Invalid(m) => Self::new(ErrorCode::InvalidParameter, m),
            crate::pricing::PricingError::InvalidField(param, m) => Self::invalid(param, m),
            crate::pricing::PricingError::Conflict(m) => Self::new(ErrorCode::Conflict, m),
            crate::pricing::PricingError::Store(e) => e.into(),
        }
    }
}

impl From<crate::bills::BillError> for ApiError {
    fn from(e: crate::bills::BillError) -> Self {
        use crate::bills::BillError as E;
        match e {
            E::Invalid(param, m) => Self::invalid(param, m),
            E::Conflict(m) => Self::new(ErrorCode::Conflict, m),
            E::NotFound => {
                Self::new(ErrorCode::NotFound, "no such dispute").with_param("dispute_id")
            }
            E::Store(e) => e.into(),
            E::Tasks(e) => e.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{ApiError, ErrorCode};
    use axum::http::StatusCode;

    #[test]
    fn every_code_round_trips_through_its_wire_string() {
        let mut seen = std::collections::HashSet::new();
        for &code in ErrorCode::ALL {
            let wire = code.as_str();
            assert!(seen.insert(wire), "{wire} is written by two codes");
            assert_eq!(ErrorCode::from_wire(wire), Some(code), "{wire}");
            assert_eq!(code.to_string(), wire);
            assert!(
                wire.bytes().all(|b| b.is_ascii_uppercase() || b == b'_'),
                "{wire}"
            );
            let (status, kind) = code.status_and_type();
            assert!(
                status.is_client_error() || status.is_server_error(),
                "{wire}"
            );
            assert!(!kind.is_empty(), "{wire}");
        }
        assert_eq!(ErrorCode::ALL.len(), 24, "the error table of docs/api.md");
        assert_eq!(ErrorCode::from_wire("invalid_parameter"), None);
        assert_eq!(ErrorCode::from_wire("NO_SUCH_CODE"), None);
    }

    #[test]
    fn the_body_is_the_documented_shape() {
        let body = ApiError::invalid("size", "size \"big\" must look like 1024x1024").body("req_1");
        assert_eq!(
            serde_json::to_value(body).unwrap(),
            serde_json::json!({"error": {
                "code": "INVALID_PARAMETER",
                "message": "size \"big\" must look like 1024x1024",
                "type": "invalid_request_error",
                "param": "size",
                "status": 400,
                "request_id": "req_1",
            }})
        );
        let e = ApiError::new(ErrorCode::UpstreamTimeout, "still running").with_task("task_1");
        assert_eq!(
            e.status_and_type(),
            (StatusCode::GATEWAY_TIMEOUT, "api_error")
        );
        assert_eq!(
            serde_json::to_value(e.body("req_2")).unwrap()["error"]["task_id"],
            "task_1"
        );
    }
}

//! The error codes of the API (the error table of docs/api.md), each mapped to its
//! HTTP status and OpenAI error type in one place. Below the HTTP edge so
//! the domain (a task's failure, kept with the task) names codes by type:
//! a code without a status cannot compile.

use http::StatusCode;

/// Declares [`ErrorCode`] from one table: variant, wire string, status and
/// OpenAI error type. The generated `match`es are exhaustive, so a code
/// without a status and type cannot compile.
macro_rules! error_codes {
    ($($(#[$doc:meta])* $variant:ident => $wire:literal, $status:ident, $kind:literal;)+) => {
        /// A machine-readable error code of the API (docs/api.md, "Errors").
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum ErrorCode {
            $($(#[$doc])* $variant,)+
        }

        impl ErrorCode {
            /// Every code, in the order of the table.
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant,)+];

            /// The code as written on the wire, e.g. `INVALID_PARAMETER`.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(ErrorCode::$variant => $wire,)+
                }
            }

            /// The HTTP status and OpenAI error type of the code.
            pub const fn status_and_type(self) -> (StatusCode, &'static str) {
                match self {
                    $(ErrorCode::$variant => (StatusCode::$status, $kind),)+
                }
            }

            /// The code written as `wire`, if it is one (e.g. a stored task
            /// error); callers choose their own fallback.
            pub fn from_wire(wire: &str) -> Option<Self> {
                match wire {
                    $($wire => Some(ErrorCode::$variant),)+
                    _ => None,
                }
            }
        }
    };
}

error_codes! {
    /// Malformed input, or a value the model does not accept.
    InvalidParameter => "INVALID_PARAMETER", BAD_REQUEST, "invalid_request_error";
    /// An empty or too long prompt.
    InvalidPrompt => "INVALID_PROMPT", BAD_REQUEST, "invalid_request_error";
    /// A parameter this gateway or model does not support.
    UnsupportedParameter => "UNSUPPORTED_PARAMETER", BAD_REQUEST, "invalid_request_error";
    /// A content policy refused the request or intercepted the output.
    ContentPolicyViolation => "CONTENT_POLICY_VIOLATION", BAD_REQUEST, "content_policy_violation";
    /// A missing or wrong key.
    InvalidApiKey => "INVALID_API_KEY", UNAUTHORIZED, "authentication_error";
    /// The account's credits do not cover the price.
    InsufficientCredits => "INSUFFICIENT_CREDITS", PAYMENT_REQUIRED, "insufficient_quota";
    /// Not allowed: an invalid signed URL, a suspended key, an admin route.
    PermissionDenied => "PERMISSION_DENIED", FORBIDDEN, "permission_error";
    /// A revoked key.
    KeyRevoked => "KEY_REVOKED", FORBIDDEN, "permission_error";
    /// A suspended or closed account.
    AccountSuspended => "ACCOUNT_SUSPENDED", FORBIDDEN, "permission_error";
    /// An unknown or retired model.
    ModelNotFound => "MODEL_NOT_FOUND", NOT_FOUND, "not_found_error";
    /// An unknown task (or another owner's).
    TaskNotFound => "TASK_NOT_FOUND", NOT_FOUND, "not_found_error";
    /// An unknown route, file, account, key…
    NotFound => "NOT_FOUND", NOT_FOUND, "not_found_error";
    /// The route does not accept that method.
    MethodNotAllowed => "METHOD_NOT_ALLOWED", METHOD_NOT_ALLOWED, "invalid_request_error";
    /// An action that does not fit the state of what it acts on.
    Conflict => "CONFLICT", CONFLICT, "conflict_error";
    /// An `Idempotency-Key` reused with a different body.
    IdempotencyConflict => "IDEMPOTENCY_CONFLICT", CONFLICT, "conflict_error";
    /// The task has already finished.
    TaskNotCancelable => "TASK_NOT_CANCELABLE", CONFLICT, "conflict_error";
    /// Past a rate or a cap; `Retry-After` says when to retry.
    RateLimited => "RATE_LIMITED", TOO_MANY_REQUESTS, "rate_limit_error";
    /// The body is larger than the gateway accepts.
    PayloadTooLarge => "PAYLOAD_TOO_LARGE", PAYLOAD_TOO_LARGE, "invalid_request_error";
    /// The body is not of a type the route accepts.
    UnsupportedMediaType => "UNSUPPORTED_MEDIA_TYPE", UNSUPPORTED_MEDIA_TYPE, "invalid_request_error";
    /// The provider or its plugin failed.
    UpstreamError => "UPSTREAM_ERROR", BAD_GATEWAY, "api_error";
    /// No plugin serves the model now, or a content policy failed.
    ModelUnavailable => "MODEL_UNAVAILABLE", SERVICE_UNAVAILABLE, "api_error";
    /// Request rates cannot be checked (the shared limiter's Redis does not
    /// answer): refused rather than let through; `Retry-After` is 1.
    RateLimiterUnavailable => "RATE_LIMITER_UNAVAILABLE", SERVICE_UNAVAILABLE, "api_error";
    /// The task is still running after the wait bound.
    UpstreamTimeout => "UPSTREAM_TIMEOUT", GATEWAY_TIMEOUT, "api_error";
    /// The gateway failed.
    InternalError => "INTERNAL_ERROR", INTERNAL_SERVER_ERROR, "api_error";
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

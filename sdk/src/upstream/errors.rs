//! The classification of an upstream's non-2xx answers, shared by adapters.

use crate::http;
use crate::types::PluginError;

/// Which call of an upstream API an answer replied to: what decides whether
/// some statuses are final (see [`UpstreamErrors`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Call {
    /// The call that starts the work: a synchronous generation, or the
    /// creation (submission) of an asynchronous job.
    Create,
    /// A read of a job that exists: its status or its result (`poll`).
    Read,
    /// A request to stop a job (`cancel`).
    Cancel,
}

impl Call {
    /// Every call, for a rule that holds whatever the call.
    pub const ALL: &'static [Call] = &[Call::Create, Call::Read, Call::Cancel];
}

/// Turns an upstream's non-2xx answer into a [`PluginError`], the same way
/// for every adapter.
///
/// The kind, the retryable flag and `retry_after_ms` are the SDK's
/// classification by status ([`http::Response::error_for_status`]: 400 and
/// 422 the caller's fault, 401 and 403 the credential, 429 a rate limit
/// with `retry-after`, 5xx retryable upstream failures, …). The message is
/// `"<vendor> answered <status>: <detail>"` when the adapter could read a
/// detail from the vendor's error body, else `"<vendor>: <the SDK's
/// message>"` (which quotes the start of the body: a proxy's page, say).
///
/// Then come the rules: a status that is **final** for a call gives an
/// upstream error that is not retryable, whatever the SDK's class. The
/// defaults, which [`UpstreamErrors::new`] starts with, are:
///
/// - 402 on every call: out of credit, which no retry fixes;
/// - 404 on [`Call::Read`] and [`Call::Cancel`]: the job is unknown to the
///   upstream, which is not the caller's fault and no retry brings back
///   (on [`Call::Create`] a 404 stays the SDK's invalid request);
/// - 409 on [`Call::Cancel`]: the job already finished.
///
/// An adapter adds rules with [`UpstreamErrors::final_on`] and drops some
/// with [`UpstreamErrors::not_final_on`]. Parsing the vendor's error body
/// stays in the adapter, as does anything the body says beyond a status
/// (a content-policy code, say): refine the returned error.
///
/// ```
/// use imini_sdk::upstream::{Call, UpstreamErrors};
/// use imini_sdk::{ErrorKind, http};
///
/// // Acme's errors are `{"error": "…"}`; its unknown models are final too.
/// fn acme_error(response: &http::Response, call: Call) -> imini_sdk::PluginError {
///     let detail = serde_json::from_slice::<serde_json::Value>(&response.body)
///         .ok()
///         .and_then(|v| v.get("error")?.as_str().map(str::to_string));
///     UpstreamErrors::new("Acme")
///         .final_on(404, &[Call::Create])
///         .error(response, detail, call)
/// }
///
/// let response = http::Response {
///     status: 404,
///     headers: Vec::new(),
///     body: br#"{"error": "no such job"}"#.to_vec(),
/// };
/// let error = acme_error(&response, Call::Read);
/// assert_eq!((error.kind, error.retryable), (ErrorKind::Upstream, false));
/// assert_eq!(error.message, "Acme answered 404: no such job");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpstreamErrors {
    vendor: String,
    /// The (status, call) pairs that are final.
    finals: Vec<(u16, Call)>,
}

impl UpstreamErrors {
    /// The classification for `vendor` (its display name, which starts
    /// every message), with the default rules.
    pub fn new(vendor: impl Into<String>) -> Self {
        Self {
            vendor: vendor.into(),
            finals: Vec::new(),
        }
        .final_on(402, Call::ALL)
        .final_on(404, &[Call::Read, Call::Cancel])
        .final_on(409, &[Call::Cancel])
    }

    /// Makes `status` final on `calls`: a non-retryable upstream error.
    pub fn final_on(mut self, status: u16, calls: &[Call]) -> Self {
        for &call in calls {
            if !self.is_final(status, call) {
                self.finals.push((status, call));
            }
        }
        self
    }

    /// Drops the rule that makes `status` final on `calls`: the SDK's
    /// classification applies again.
    pub fn not_final_on(mut self, status: u16, calls: &[Call]) -> Self {
        self.finals
            .retain(|&(s, c)| !(s == status && calls.contains(&c)));
        self
    }

    /// Whether `status` is final on `call`.
    pub fn is_final(&self, status: u16, call: Call) -> bool {
        self.finals.contains(&(status, call))
    }

    /// The error for `response`, a non-2xx answer to `call`, with `detail`
    /// the text the adapter read from the vendor's error body (`None`, or
    /// empty, when the body is not the vendor's shape).
    pub fn error(
        &self,
        response: &http::Response,
        detail: Option<String>,
        call: Call,
    ) -> PluginError {
        let vendor = &self.vendor;
        let status = response.status;
        let base = match response.clone().error_for_status() {
            Err(e) => e,
            // Not an error status: called by mistake; still an error.
            Ok(_) => PluginError::upstream(format!("{vendor} answered {status}")),
        };
        let message = match detail.filter(|d| !d.is_empty()) {
            Some(detail) => format!("{vendor} answered {status}: {detail}"),
            None => format!("{vendor}: {}", base.message),
        };
        if self.is_final(status, call) {
            PluginError::upstream(message).retryable(false)
        } else {
            PluginError { message, ..base }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::ErrorKind;

    fn response(status: u16, headers: &[(&str, &str)], body: &str) -> http::Response {
        http::Response::new(status, headers, body)
    }

    /// Kind, retryable, retry-after and message of an error.
    fn parts(e: PluginError) -> (ErrorKind, bool, Option<u32>, String) {
        (e.kind, e.retryable, e.retry_after_ms, e.message)
    }

    fn detail(text: &str) -> Option<String> {
        Some(text.to_string())
    }

    #[test]
    fn the_sdks_class_is_kept_with_the_vendors_detail_or_the_sdks_message() {
        let acme = UpstreamErrors::new("Acme");
        assert_eq!(
            parts(acme.error(&response(422, &[], "{}"), detail("bad size"), Call::Create)),
            (
                ErrorKind::InvalidRequest,
                false,
                None,
                "Acme answered 422: bad size".to_string()
            )
        );
        assert_eq!(
            parts(acme.error(&response(401, &[], "{}"), detail("bad key"), Call::Read)),
            (
                ErrorKind::Unauthorized,
                false,
                None,
                "Acme answered 401: bad key".to_string()
            )
        );
        assert_eq!(
            parts(acme.error(
                &response(429, &[("Retry-After", "3")], "{}"),
                detail("slow down"),
                Call::Read
            )),
            (
                ErrorKind::RateLimited,
                true,
                Some(3_000),
                "Acme answered 429: slow down".to_string()
            )
        );
        // Not the vendor's shape (or an empty detail): the SDK's message,
        // which quotes the body.
        for none in [None, detail("")] {
            assert_eq!(
                parts(acme.error(
                    &response(502, &[], "<html>bad gateway</html>"),
                    none,
                    Call::Read
                )),
                (
                    ErrorKind::Upstream,
                    true,
                    None,
                    "Acme: upstream answered 502: <html>bad gateway</html>".to_string()
                )
            );
        }
        assert_eq!(
            parts(acme.error(&response(504, &[], ""), None, Call::Create)),
            (
                ErrorKind::Timeout,
                true,
                None,
                "Acme: upstream answered 504: ".to_string()
            )
        );
        // A success passed by mistake is still an error.
        assert_eq!(
            parts(acme.error(&response(200, &[], "{}"), None, Call::Create)),
            (
                ErrorKind::Upstream,
                true,
                None,
                "Acme: Acme answered 200".to_string()
            )
        );
    }

    #[test]
    fn the_default_rules_make_credit_unknown_jobs_and_finished_cancels_final() {
        let acme = UpstreamErrors::new("Acme");
        let final_ = |status: u16, call: Call| {
            let e = acme.error(
                &response(status, &[("retry-after", "9")], "x"),
                detail("d"),
                call,
            );
            assert_eq!(e.message, format!("Acme answered {status}: d"));
            assert_eq!(e.retry_after_ms, None);
            (e.kind, e.retryable)
        };
        for &call in Call::ALL {
            assert_eq!(final_(402, call), (ErrorKind::Upstream, false), "{call:?}");
        }
        assert_eq!(final_(404, Call::Read), (ErrorKind::Upstream, false));
        assert_eq!(final_(404, Call::Cancel), (ErrorKind::Upstream, false));
        assert_eq!(final_(409, Call::Cancel), (ErrorKind::Upstream, false));
        // The SDK's classes elsewhere.
        assert_eq!(
            final_(404, Call::Create),
            (ErrorKind::InvalidRequest, false)
        );
        assert_eq!(final_(409, Call::Read), (ErrorKind::Upstream, false));
        assert_eq!(
            final_(400, Call::Cancel),
            (ErrorKind::InvalidRequest, false)
        );
        assert_eq!(final_(500, Call::Cancel), (ErrorKind::Upstream, true));
        assert!(acme.is_final(404, Call::Read) && !acme.is_final(404, Call::Create));
    }

    #[test]
    fn adapters_add_and_drop_rules() {
        let errors = UpstreamErrors::new("fal")
            .final_on(404, &[Call::Create])
            .final_on(400, &[Call::Cancel])
            .final_on(503, &[Call::Cancel])
            .not_final_on(404, &[Call::Cancel]);
        let e = errors.error(&response(404, &[], ""), detail("no app"), Call::Create);
        assert_eq!(
            parts(e),
            (
                ErrorKind::Upstream,
                false,
                None,
                "fal answered 404: no app".to_string()
            )
        );
        let e = errors.error(&response(400, &[], ""), detail("done"), Call::Cancel);
        assert_eq!((e.kind, e.retryable), (ErrorKind::Upstream, false));
        let e = errors.error(&response(400, &[], ""), detail("bad"), Call::Create);
        assert_eq!((e.kind, e.retryable), (ErrorKind::InvalidRequest, false));
        let e = errors.error(&response(503, &[], ""), None, Call::Cancel);
        assert_eq!((e.kind, e.retryable), (ErrorKind::Upstream, false));
        let e = errors.error(&response(503, &[], ""), None, Call::Read);
        assert_eq!((e.kind, e.retryable), (ErrorKind::Upstream, true));
        // Dropped: the SDK's invalid request again.
        let e = errors.error(&response(404, &[], ""), None, Call::Cancel);
        assert_eq!((e.kind, e.retryable), (ErrorKind::InvalidRequest, false));
        assert!(errors.is_final(404, Call::Read));
        // Adding a rule twice keeps one.
        assert_eq!(
            UpstreamErrors::new("x").final_on(402, &[Call::Read]),
            UpstreamErrors::new("x")
        );
    }
}

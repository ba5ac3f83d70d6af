//! Outbound HTTP through the gateway.
//!
//! The gateway sends the request itself: it checks the URL's host against the
//! plugin's allowed hosts, applies a timeout, and injects the credential the
//! plugin names (the plugin never sees the secret).

use crate::__bindings::provider::imini::plugin::http as raw;
use crate::types::{ErrorKind, PluginError};

pub use raw::HttpError;

/// An outbound request under construction.
#[derive(Debug, Clone)]
pub struct Request {
    pub(crate) inner: raw::Request,
}

/// An upstream's answer.
#[derive(Debug, Clone)]
pub struct Response {
    /// The status code.
    pub status: u16,
    /// Header names (lowercase) and values.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl Request {
    /// A request with `method` to `url`.
    pub fn new(method: &str, url: &str) -> Self {
        Self {
            inner: raw::Request {
                method: method.to_string(),
                url: url.to_string(),
                headers: Vec::new(),
                body: Vec::new(),
                timeout_ms: None,
                credential: None,
            },
        }
    }

    /// A GET request.
    pub fn get(url: &str) -> Self {
        Self::new("GET", url)
    }

    /// A POST request.
    pub fn post(url: &str) -> Self {
        Self::new("POST", url)
    }

    /// A DELETE request.
    pub fn delete(url: &str) -> Self {
        Self::new("DELETE", url)
    }

    /// Adds a header.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.inner
            .headers
            .push((name.to_string(), value.to_string()));
        self
    }

    /// Asks the gateway to put the credential `name` in `header`, after
    /// `prefix` (e.g. `"Bearer "`).
    pub fn credential(mut self, name: &str, header: &str, prefix: &str) -> Self {
        self.inner.credential = Some(raw::Credential {
            name: name.to_string(),
            header: header.to_string(),
            prefix: prefix.to_string(),
        });
        self
    }

    /// Sets the timeout for the whole exchange.
    pub fn timeout_ms(mut self, ms: u32) -> Self {
        self.inner.timeout_ms = Some(ms);
        self
    }

    /// Sets a raw body.
    pub fn body(mut self, body: Vec<u8>) -> Self {
        self.inner.body = body;
        self
    }

    /// Sets a JSON body and its content type.
    pub fn json<T: serde::Serialize>(self, value: &T) -> Result<Self, PluginError> {
        let body = serde_json::to_vec(value)
            .map_err(|e| PluginError::internal(format!("encoding the request: {e}")))?;
        Ok(self.header("content-type", "application/json").body(body))
    }

    /// Sends the request and waits for the whole response.
    pub fn send(self) -> Result<Response, PluginError> {
        let response = raw::send(&self.inner).map_err(PluginError::from)?;
        Ok(Response {
            status: response.status,
            headers: response.headers,
            body: response.body,
        })
    }
}

impl Response {
    /// An answer made by hand: what an adapter's tests feed its error
    /// mapping and parsing, without an upstream.
    pub fn new(status: u16, headers: &[(&str, &str)], body: impl Into<Vec<u8>>) -> Self {
        Self {
            status,
            headers: headers
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect(),
            body: body.into(),
        }
    }

    /// The first value of a header (names compare case-insensitively).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Whether the status is 2xx.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// Parses the body as JSON.
    pub fn json<T: serde::de::DeserializeOwned>(&self) -> Result<T, PluginError> {
        serde_json::from_slice(&self.body).map_err(|e| {
            PluginError::upstream(format!(
                "upstream answered invalid JSON ({e}), status {}",
                self.status
            ))
        })
    }

    /// Turns a non-2xx status into the matching [`PluginError`]: 400 and 422
    /// are the caller's fault, 401 and 403 a credential problem, 429 a rate
    /// limit (with `retry-after`), 408 and 504 timeouts, others upstream
    /// failures (retryable for 5xx).
    pub fn error_for_status(self) -> Result<Self, PluginError> {
        if self.is_success() {
            return Ok(self);
        }
        let snippet: String = String::from_utf8_lossy(&self.body)
            .chars()
            .take(300)
            .collect();
        let message = format!("upstream answered {}: {snippet}", self.status);
        let error = match self.status {
            400 | 404 | 413 | 422 => PluginError::new(ErrorKind::InvalidRequest, message),
            401 | 403 => PluginError::new(ErrorKind::Unauthorized, message),
            408 | 504 => PluginError::new(ErrorKind::Timeout, message),
            429 => {
                let error = PluginError::new(ErrorKind::RateLimited, message);
                match self.retry_after_ms() {
                    Some(ms) => error.retry_after_ms(ms),
                    None => error,
                }
            }
            s if s >= 500 => PluginError::upstream(message),
            _ => PluginError::upstream(message).retryable(false),
        };
        Err(error)
    }

    /// The `retry-after` header in milliseconds, when it is a number of seconds.
    pub fn retry_after_ms(&self) -> Option<u32> {
        let secs: f64 = self.header("retry-after")?.trim().parse().ok()?;
        (secs >= 0.0).then(|| (secs * 1000.0).min(u32::MAX as f64) as u32)
    }
}

impl From<HttpError> for PluginError {
    fn from(e: HttpError) -> Self {
        match e {
            HttpError::Timeout => PluginError::new(ErrorKind::Timeout, "upstream timed out"),
            HttpError::Connection(m) => PluginError::upstream(format!("connection failed: {m}")),
            HttpError::TooLarge => {
                PluginError::upstream("upstream response too large").retryable(false)
            }
            HttpError::HostNotAllowed(m) => PluginError::internal(format!("host not allowed: {m}")),
            HttpError::CredentialNotAllowed(m) => {
                PluginError::internal(format!("credential not allowed: {m}"))
            }
            HttpError::InvalidRequest(m) => {
                PluginError::internal(format!("invalid outbound request: {m}"))
            }
        }
    }
}

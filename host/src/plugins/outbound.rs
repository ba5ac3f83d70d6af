//! Outbound HTTP executed for plugins: one pooled client, no redirects (a
//! redirect could leave the allowlist), timeouts and a response size cap.

use std::time::Duration;

use super::bindings::http_api::{HttpError, Response};

/// The shared outbound HTTP client.
#[derive(Clone, Debug)]
pub struct Outbound {
    client: reqwest::Client,
    max_timeout: Duration,
    max_response_bytes: usize,
}

impl Outbound {
    /// A client with connection pooling, no redirects, no proxy from the
    /// environment, and the given bounds.
    pub fn new(max_timeout: Duration, max_response_bytes: usize) -> Result<Self, reqwest::Error> {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .pool_idle_timeout(Duration::from_secs(90))
            .user_agent(concat!("imini/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Self {
            client,
            max_timeout,
            max_response_bytes,
        })
    }

    /// The longest any outbound exchange may take.
    pub fn max_timeout(&self) -> Duration {
        self.max_timeout
    }

    /// Sends one request (already checked against the allowlist) and reads the
    /// whole response.
    pub async fn send(
        &self,
        url: reqwest::Url,
        method: &str,
        headers: Vec<(String, String)>,
        credential: Option<(String, String)>,
        body: Vec<u8>,
        timeout: Duration,
    ) -> Result<Response, HttpError> {
        let method = reqwest::Method::from_bytes(method.as_bytes())
            .map_err(|_| HttpError::InvalidRequest(format!("invalid method {method:?}")))?;
        let mut header_map = reqwest::header::HeaderMap::new();
        for (name, value) in headers {
            let name = reqwest::header::HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| HttpError::InvalidRequest(format!("invalid header name {name:?}")))?;
            let value = reqwest::header::HeaderValue::from_str(&value).map_err(|_| {
                HttpError::InvalidRequest(format!("invalid value for header {name}"))
            })?;
            header_map.append(name, value);
        }
        if let Some((name, value)) = credential {
            let name = reqwest::header::HeaderName::from_bytes(name.as_bytes()).map_err(|_| {
                HttpError::InvalidRequest(format!("invalid credential header {name:?}"))
            })?;
            let mut value = reqwest::header::HeaderValue::from_str(&value).map_err(|_| {
                HttpError::InvalidRequest("credential is not a valid header value".into())
            })?;
            value.set_sensitive(true);
            // The host's value replaces anything the guest put there.
            header_map.insert(name, value);
        }
        let exchange = async {
            let mut response = self
                .client
                .request(method, url)
                .headers(header_map)
                .body(body)
                .send()
                .await
                .map_err(classify)?;
            let status = response.status().as_u16();
            let headers = response
                .headers()
                .iter()
                .filter_map(|(n, v)| Some((n.as_str().to_string(), v.to_str().ok()?.to_string())))
                .collect();
            if response.content_length().unwrap_or(0) > self.max_response_bytes as u64 {
                return Err(HttpError::TooLarge);
            }
            let mut body = Vec::new();
            while let Some(chunk) = response.chunk().await.map_err(classify)? {
                if body.len() + chunk.len() > self.max_response_bytes {
                    return Err(HttpError::TooLarge);
                }
                body.extend_from_slice(&chunk);
            }
            Ok(Response {
                status,
                headers,
                body,
            })
        };
        tokio::time::timeout(timeout, exchange)
            .await
            .unwrap_or(Err(HttpError::Timeout))
    }
}

fn classify(e: reqwest::Error) -> HttpError {
    if e.is_timeout() {
        HttpError::Timeout
    } else {
        // Keep the chain (connection refused, DNS...) but not the URL's query.
        let e = e.without_url();
        let mut message = e.to_string();
        let mut source = std::error::Error::source(&e);
        while let Some(s) = source {
            message.push_str(": ");
            message.push_str(&s.to_string());
            source = s.source();
        }
        HttpError::Connection(message)
    }
}

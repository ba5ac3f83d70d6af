//! Outbound HTTP executed for plugins: pooled clients, no redirects (a
//! redirect could leave the allowlist), timeouts and a response size cap.

use std::time::Duration;

use super::bindings::http_api::{HttpError, Response};

/// The outbound HTTP clients.
#[derive(Clone, Debug)]
pub struct Outbound {
    /// One client for the shared runtime, then one for each serving thread
    /// (`[server] threads`): a pooled connection lives on the thread that
    /// opened it, so a request served there uses that thread's pool rather
    /// than hand every exchange to another thread.
    clients: std::sync::Arc<[reqwest::Client]>,
    max_timeout: Duration,
    max_response_bytes: usize,
    /// Whether each exchange is written to stderr (`imini plugin run`).
    trace: bool,
}

impl Outbound {
    /// Clients with connection pooling, no redirects, no proxy from the
    /// environment, and the given bounds: one for the shared runtime and
    /// one for each of `serving_threads`.
    pub fn new(
        max_timeout: Duration,
        max_response_bytes: usize,
        serving_threads: u32,
    ) -> Result<Self, reqwest::Error> {
        let clients = (0..=serving_threads)
            .map(|_| {
                reqwest::Client::builder()
                    .redirect(reqwest::redirect::Policy::none())
                    .no_proxy()
                    .pool_idle_timeout(Duration::from_secs(90))
                    .user_agent(concat!("imini/", env!("CARGO_PKG_VERSION")))
                    .build()
            })
            .collect::<Result<_, _>>()?;
        Ok(Self {
            clients,
            max_timeout,
            max_response_bytes,
            trace: false,
        })
    }

    /// The same client, writing every exchange to stderr for a plugin
    /// author (`imini plugin run`): the request line, headers (an injected
    /// credential's value hidden) and body, then the status, headers and
    /// body of the answer, bodies cut to 2 KiB.
    pub fn traced(mut self) -> Self {
        self.trace = true;
        self
    }

    /// The client of the thread this runs on.
    fn client(&self) -> &reqwest::Client {
        crate::serving::serving_thread()
            .and_then(|i| self.clients.get(i + 1))
            .unwrap_or(&self.clients[0])
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
        if self.trace {
            eprintln!("> {method} {url}");
            for (name, value) in &header_map {
                eprintln!("> {name}: {}", value.to_str().unwrap_or("(not text)"));
            }
            if let Some((name, _)) = &credential {
                eprintln!("> {name}: (the credential, injected by the gateway)");
            }
            trace_body(">", &body);
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
        crate::telemetry::inject_trace_context(&mut header_map);
        let exchange = async {
            let mut response = self
                .client()
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
        let outcome = tokio::time::timeout(timeout, exchange)
            .await
            .unwrap_or(Err(HttpError::Timeout));
        if self.trace {
            match &outcome {
                Ok(r) => {
                    eprintln!("< {}", r.status);
                    for (name, value) in &r.headers {
                        eprintln!("< {name}: {value}");
                    }
                    trace_body("<", &r.body);
                }
                Err(e) => eprintln!("< failed: {e:?}"),
            }
        }
        outcome
    }
}

/// A body for the trace: text as it is (cut), otherwise its size.
fn trace_body(side: &str, body: &[u8]) {
    const SHOWN: usize = 2048;
    if body.is_empty() {
        return;
    }
    match std::str::from_utf8(&body[..body.len().min(SHOWN)]) {
        Ok(text) if !text.contains('\0') => {
            let more = if body.len() > SHOWN { " …" } else { "" };
            eprintln!("{side}\n{text}{more}");
        }
        _ => eprintln!("{side} ({} bytes)", body.len()),
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

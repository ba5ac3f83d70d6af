//! The per-call sandbox: the store data of one plugin call and the host
//! functions the guest may import (log, config, blobs, outbound HTTP).

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use wasmtime::ResourceLimiter;
use wasmtime::component::ResourceTable;
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use super::bindings::{host_api, http_api, types};
use super::manifest::{Manifest, host_allowed};
use super::outbound::Outbound;

/// Everything a loaded plugin's calls share: its identity, its operator
/// configuration, what it may reach and the secrets the host may inject.
#[derive(Debug)]
pub struct PluginContext {
    /// The plugin's manifest.
    pub manifest: Manifest,
    /// The operator's configuration for it, as JSON text.
    pub config_json: String,
    /// Hosts it may reach: its manifest's plus the operator's additions.
    pub allowed_hosts: Vec<String>,
    /// The gateway's credentials in force; the plugin may name those its
    /// manifest declares.
    pub credentials: Arc<crate::credentials::Credentials>,
    /// Wall-clock bound of one call.
    pub call_timeout: Duration,
    /// Linear memory one call may use, in bytes.
    pub memory_bytes: usize,
}

impl PluginContext {
    /// `name@version`, for logs and errors.
    pub fn label(&self) -> String {
        format!("{}@{}", self.manifest.name, self.manifest.version)
    }
}

/// The store data of one call.
pub struct CallState {
    wasi: WasiCtx,
    table: ResourceTable,
    pub(super) limiter: Limiter,
    pub(super) plugin: Arc<PluginContext>,
    outbound: Outbound,
    blobs: Vec<Bytes>,
    request_id: String,
    pub(super) deadline: Instant,
    /// Since when the guest has run without waiting on the host: the call's
    /// start, the end of its last HTTP request, or its last epoch callback.
    pub(super) running_since: Instant,
    pub(super) stderr: MemoryOutputPipe,
}

/// Bytes of guest stderr kept per call (a panic message fits).
const STDERR_CAPACITY: usize = 16 * 1024;
/// The longest log line a guest may write.
pub(super) const MAX_LOG_LINE: usize = 4096;

/// Text from a plugin made safe for one line of the log or an error
/// message: control characters (newlines included) escaped, so that it can
/// never pass for a line of the gateway's own, and at most `max` bytes,
/// cut at a character boundary with an ellipsis.
pub fn printable(text: &str, max: usize) -> String {
    let mut out = String::with_capacity(text.len().min(max) + 3);
    for c in text.chars() {
        let fits = |n: usize, out: &String| out.len() + n <= max;
        if c.is_control() {
            let escaped: String = c.escape_default().collect();
            if !fits(escaped.len(), &out) {
                out.push('…');
                break;
            }
            out.push_str(&escaped);
        } else {
            if !fits(c.len_utf8(), &out) {
                out.push('…');
                break;
            }
            out.push(c);
        }
    }
    out
}

impl CallState {
    /// A fresh sandbox: no filesystem, no environment, no sockets, stderr
    /// captured for the log.
    pub fn new(
        plugin: Arc<PluginContext>,
        outbound: Outbound,
        blobs: Vec<Bytes>,
        request_id: String,
    ) -> Self {
        let stderr = MemoryOutputPipe::new(STDERR_CAPACITY);
        let wasi = WasiCtx::builder()
            .stderr(stderr.clone())
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false)
            .build();
        Self {
            wasi,
            table: ResourceTable::new(),
            limiter: Limiter {
                memory_bytes: plugin.memory_bytes,
                hit: false,
            },
            deadline: Instant::now() + plugin.call_timeout,
            running_since: Instant::now(),
            plugin,
            outbound,
            blobs,
            request_id,
            stderr,
        }
    }

    /// The blob behind a handle: handle `i + 1` is the `i`-th blob given at
    /// creation (0 is never valid).
    fn blob(&self, handle: types::Blob) -> Option<&Bytes> {
        usize::try_from(handle)
            .ok()?
            .checked_sub(1)
            .and_then(|i| self.blobs.get(i))
    }
}

impl WasiView for CallState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

/// Bounds a call's memory and remembers whether the bound was hit, so that
/// the resulting trap is reported as what it is.
pub struct Limiter {
    memory_bytes: usize,
    /// Whether a growth was refused.
    pub hit: bool,
}

impl ResourceLimiter for Limiter {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.memory_bytes {
            self.hit = true;
            return Ok(false);
        }
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= 100_000)
    }
}

impl types::Host for CallState {}

impl host_api::Host for CallState {
    async fn log(&mut self, level: host_api::LogLevel, message: String) -> wasmtime::Result<()> {
        let message = printable(&message, MAX_LOG_LINE);
        let plugin = self.plugin.label();
        let request_id = self.request_id.as_str();
        use host_api::LogLevel as L;
        match level {
            L::Trace => tracing::trace!(%plugin, request_id, "{message}"),
            L::Debug => tracing::debug!(%plugin, request_id, "{message}"),
            L::Info => tracing::info!(%plugin, request_id, "{message}"),
            L::Warn => tracing::warn!(%plugin, request_id, "{message}"),
            L::Error => tracing::error!(%plugin, request_id, "{message}"),
        }
        Ok(())
    }

    async fn config(&mut self) -> wasmtime::Result<String> {
        Ok(self.plugin.config_json.clone())
    }

    async fn blob_size(&mut self, handle: types::Blob) -> wasmtime::Result<Option<u64>> {
        Ok(self.blob(handle).map(|b| b.len() as u64))
    }

    async fn blob_read(
        &mut self,
        handle: types::Blob,
        offset: u64,
        len: u32,
    ) -> wasmtime::Result<Result<Vec<u8>, String>> {
        let Some(blob) = self.blob(handle) else {
            return Ok(Err(format!("no blob with handle {handle} in this call")));
        };
        let start = usize::try_from(offset)
            .unwrap_or(usize::MAX)
            .min(blob.len());
        let end = start.saturating_add(len as usize).min(blob.len());
        Ok(Ok(blob[start..end].to_vec()))
    }
}

impl http_api::Host for CallState {
    async fn send(
        &mut self,
        req: http_api::Request,
    ) -> wasmtime::Result<Result<http_api::Response, http_api::HttpError>> {
        use http_api::HttpError;
        let url = match reqwest::Url::parse(&req.url) {
            Ok(url) if matches!(url.scheme(), "http" | "https") && url.host_str().is_some() => url,
            _ => {
                return Ok(Err(HttpError::InvalidRequest(format!(
                    "not an http(s) URL: {}",
                    req.url
                ))));
            }
        };
        let host = url.host_str().unwrap_or_default();
        let port = url.port_or_known_default().unwrap_or(0);
        if !host_allowed(&self.plugin.allowed_hosts, host, port) {
            tracing::warn!(plugin = %self.plugin.label(), request_id = %self.request_id, %host, port, "plugin tried to reach a host outside its allowlist");
            return Ok(Err(HttpError::HostNotAllowed(format!("{host}:{port}"))));
        }
        let credential = match &req.credential {
            None => None,
            Some(c) if !self.plugin.manifest.credentials.contains(&c.name) => {
                return Ok(Err(HttpError::CredentialNotAllowed(format!(
                    "credential {:?} is not declared in the manifest",
                    c.name
                ))));
            }
            // Read at each request: a rotation applies to the next one.
            Some(c) => match self.plugin.credentials.get(&c.name) {
                Some(secret) => Some((c.header.clone(), format!("{}{secret}", c.prefix))),
                None => {
                    return Ok(Err(HttpError::CredentialNotAllowed(format!(
                        "credential {:?} is not set by the operator",
                        c.name
                    ))));
                }
            },
        };
        let remaining = self.deadline.saturating_duration_since(Instant::now());
        let timeout = req
            .timeout_ms
            .map(|ms| Duration::from_millis(ms.into()))
            .unwrap_or(remaining)
            .min(remaining)
            .min(self.outbound.max_timeout());
        let answer = self
            .outbound
            .send(url, &req.method, req.headers, credential, req.body, timeout)
            .await;
        // A tick that fell while the guest waited is not time it computed.
        self.running_since = Instant::now();
        Ok(answer)
    }
}

#[cfg(test)]
mod tests {
    use super::printable;

    #[test]
    fn control_characters_are_escaped_and_the_text_is_capped() {
        assert_eq!(
            printable(
                "one\n2026-12-05T00:00:00Z  INFO imini: forged\r\u{1b}[31m",
                100
            ),
            "one\\n2026-12-05T00:00:00Z  INFO imini: forged\\r\\u{1b}[31m"
        );
        assert_eq!(printable("héllo wörld", 6), "héllo…");
        assert_eq!(printable("plain", 5), "plain");
    }
}

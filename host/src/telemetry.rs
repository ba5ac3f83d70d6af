//! Logging and traces: `tracing` to stderr, filtered by `RUST_LOG` (default
//! `info`), as text or JSON lines; and, when `[telemetry] otlp_endpoint` is
//! set, the same spans exported over OTLP/HTTP (protobuf) to an
//! OpenTelemetry collector, with the W3C trace context passed on to the
//! upstream calls plugins make.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};

use opentelemetry::propagation::{Injector, TextMapPropagator};
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::{Protocol, WithExportConfig};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::Layer;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// Whether spans are exported (then upstream calls carry `traceparent`).
static EXPORTING: AtomicBool = AtomicBool::new(false);

/// Where traces go.
#[derive(Debug, Clone)]
pub struct Otlp {
    /// The collector's OTLP/HTTP base URL (`http://collector:4318`); spans
    /// are sent to `<endpoint>/v1/traces`.
    pub endpoint: String,
    /// `service.name` of the exported spans.
    pub service_name: String,
}

/// Keeps the trace exporter; [`Telemetry::shutdown`] sends what it holds.
pub struct Telemetry {
    provider: Option<SdkTracerProvider>,
}

impl Telemetry {
    /// Sends the spans not yet sent and stops the exporter.
    pub fn shutdown(self) {
        if let Some(provider) = self.provider
            && let Err(e) = provider.shutdown()
        {
            tracing::warn!(error = %e, "the trace exporter did not shut down cleanly");
        }
    }
}

/// Installs the global subscriber: logs to stderr in `format` (`text` or
/// `json`), and spans to `otlp` if given.
pub fn init(format: &str, otlp: Option<&Otlp>) -> anyhow::Result<Telemetry> {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,wasmtime=warn,cranelift=warn"));
    // Colours only on a terminal, so that logs in files stay plain text.
    let logs = tracing_subscriber::fmt::layer()
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    let logs = if format == "json" {
        logs.json().boxed()
    } else {
        logs.boxed()
    };
    let Some(otlp) = otlp else {
        tracing_subscriber::registry()
            .with(filter)
            .with(logs)
            .try_init()?;
        return Ok(Telemetry { provider: None });
    };
    let endpoint = format!("{}/v1/traces", otlp.endpoint.trim_end_matches('/'));
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_protocol(Protocol::HttpBinary)
        .with_endpoint(&endpoint)
        .build()?;
    let provider = SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(
            opentelemetry_sdk::Resource::builder()
                .with_service_name(otlp.service_name.clone())
                .build(),
        )
        .build();
    let spans = tracing_opentelemetry::layer().with_tracer(provider.tracer("imini"));
    tracing_subscriber::registry()
        .with(filter)
        .with(logs)
        .with(spans)
        .try_init()?;
    EXPORTING.store(true, Ordering::Relaxed);
    tracing::info!(%endpoint, "exporting traces over OTLP/HTTP");
    Ok(Telemetry {
        provider: Some(provider),
    })
}

/// Whether spans are exported: the spans only traces need (tasks, plugin
/// calls) are made only then, as they cost CPU on every request.
pub fn exporting() -> bool {
    EXPORTING.load(Ordering::Relaxed)
}

/// Makes `span` part of the trace of the current span (a task started by a
/// request continues its trace) without keeping the current span open
/// until `span` ends. Without an exporter it changes nothing.
pub fn continue_trace(span: &tracing::Span) {
    let _ = span.set_parent(tracing::Span::current().context());
}

/// Puts the current span's trace context on an outbound request
/// (`traceparent`, W3C Trace Context), when traces are exported.
pub fn inject_trace_context(headers: &mut http::HeaderMap) {
    if !EXPORTING.load(Ordering::Relaxed) {
        return;
    }
    let context = tracing::Span::current().context();
    TraceContextPropagator::new().inject_context(&context, &mut HeaderInjector(headers));
}

struct HeaderInjector<'a>(&'a mut http::HeaderMap);

impl Injector for HeaderInjector<'_> {
    fn set(&mut self, key: &str, value: String) {
        if let (Ok(name), Ok(value)) = (
            http::HeaderName::from_bytes(key.as_bytes()),
            http::HeaderValue::from_str(&value),
        ) {
            self.0.insert(name, value);
        }
    }
}

//! The gateway benchmark harness: what the gateway adds on top of an
//! upstream, measured on loopback.
//!
//! It starts a mock upstream (hyper) that answers OpenAI's Images API with
//! the URL of an image it serves (after an optional fixed delay), as the
//! real API does, so the gateway downloads and stores each output; a plain
//! reverse proxy (hyper) in front of it; and the real `imini` binary with
//! the bundled OpenAI adapter routed to the mock, and an account's key:
//! auth, rate limiting, the durable credit hold and the bundled content
//! policies all on, answering its own signed URL. Then [rlt](https://docs.rs/rlt), a load
//! generator, drives each of the three at fixed concurrencies for a bounded
//! time (or number of requests), and the figures are compared: requests per
//! second, p50, p99 and max latency, errors, the latency the gateway adds
//! over the direct upstream, its throughput against the proxy's, and the
//! CPU time the gateway's process spent per request.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use clap::Parser;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};
use rlt::{BenchSuite, IterInfo, IterReport, Status};
use serde_json::{Value, json};
use tokio::sync::watch;

use crate::{Gateway, png};

/// A server this harness started; it stops when dropped.
pub struct Server {
    /// Its address.
    pub addr: SocketAddr,
    stop: watch::Sender<bool>,
    /// Connections it has accepted.
    pub accepted: Arc<AtomicU64>,
}

impl Server {
    /// `http://addr`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

/// Serves `handler` on a loopback port until the returned server is dropped
/// (the listener closes and open connections end).
async fn serve<F, Fut>(handler: F) -> std::io::Result<Server>
where
    F: Fn(Request<Incoming>) -> Fut + Clone + Send + Sync + 'static,
    Fut: std::future::Future<Output = Response<Full<Bytes>>> + Send + 'static,
{
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let (stop, mut stopped) = watch::channel(false);
    let accepted = Arc::new(AtomicU64::new(0));
    let count = accepted.clone();
    tokio::spawn(async move {
        loop {
            let (stream, _) = tokio::select! {
                conn = listener.accept() => match conn {
                    Ok(c) => c,
                    Err(_) => continue,
                },
                _ = stopped.changed() => return,
            };
            let _ = stream.set_nodelay(true);
            count.fetch_add(1, Ordering::Relaxed);
            let handler = handler.clone();
            let mut stopped = stopped.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |req| {
                    let handler = handler.clone();
                    async move { Ok::<_, Infallible>(handler(req).await) }
                });
                let conn = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service);
                tokio::select! {
                    _ = conn => {}
                    _ = stopped.changed() => {}
                }
            });
        }
    });
    Ok(Server {
        addr,
        stop,
        accepted,
    })
}

/// What the mock upstream does.
#[derive(Debug, Clone, Copy, Default)]
pub struct MockBehaviour {
    /// A fixed delay before each answer.
    pub delay: Duration,
    /// Answer every `n`-th request with 500 (0: never), to check that errors
    /// are counted.
    pub fail_every: u64,
}

/// The mock upstream: `POST /v1/images/generations` answers OpenAI's
/// documented response as the real API (and Replicate, fal) does for a
/// URL, `{"created", "data": [{"url"}]}`, naming its own `GET /img/1.png`,
/// which serves a fixed 64x64 PNG: the gateway downloads and stores each
/// output, as it does in production.
pub async fn mock_upstream(behaviour: MockBehaviour) -> std::io::Result<Server> {
    let image = Bytes::from(png(64, 64, [40, 90, 160]));
    let seen = Arc::new(AtomicU64::new(0));
    serve(move |req: Request<Incoming>| {
        let image = image.clone();
        let seen = seen.clone();
        async move {
            // Read the request as a real server would.
            let path = req.uri().path().to_string();
            let host = req
                .headers()
                .get("host")
                .and_then(|h| h.to_str().ok())
                .unwrap_or("127.0.0.1")
                .to_string();
            let _ = req.into_body().collect().await;
            if path == "/img/1.png" {
                return Response::builder()
                    .header("content-type", "image/png")
                    .body(Full::new(image))
                    .expect("response");
            }
            if !behaviour.delay.is_zero() {
                tokio::time::sleep(behaviour.delay).await;
            }
            let ok_path = path == "/v1/images/generations";
            let n = seen.fetch_add(u64::from(ok_path), Ordering::Relaxed) + 1;
            let fail = behaviour.fail_every > 0 && n.is_multiple_of(behaviour.fail_every);
            let (status, body) = if !ok_path {
                (
                    404,
                    Bytes::from_static(br#"{"error":{"message":"not found"}}"#),
                )
            } else if fail {
                (
                    500,
                    Bytes::from_static(
                        br#"{"error":{"message":"mock failure","type":"server_error"}}"#,
                    ),
                )
            } else {
                let body = json!({
                    "created": 1_700_000_000,
                    "data": [{ "url": format!("http://{host}/img/1.png") }],
                });
                (200, Bytes::from(body.to_string()))
            };
            Response::builder()
                .status(status)
                .header("content-type", "application/json")
                .body(Full::new(body))
                .expect("response")
        }
    })
    .await
}

/// A plain reverse proxy to `upstream`: each request is forwarded as is over
/// a pooled keep-alive client and the answer passed back. The baseline a
/// gateway's throughput is compared with.
pub async fn reverse_proxy(upstream: SocketAddr) -> std::io::Result<Server> {
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    let client: Client<HttpConnector, Full<Bytes>> =
        Client::builder(TokioExecutor::new()).build(connector);
    serve(move |req: Request<Incoming>| {
        let client = client.clone();
        async move {
            let (mut parts, body) = req.into_parts();
            let bytes = body
                .collect()
                .await
                .map(|b| b.to_bytes())
                .unwrap_or_default();
            let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
            parts.uri = format!("http://{upstream}{path}").parse().expect("uri");
            parts.headers.remove(hyper::header::HOST);
            let answer = match client
                .request(Request::from_parts(parts, Full::new(bytes)))
                .await
            {
                Ok(answer) => answer,
                Err(_) => {
                    return Response::builder()
                        .status(502)
                        .body(Full::new(Bytes::new()))
                        .expect("response");
                }
            };
            let (parts, body) = answer.into_parts();
            let bytes = body
                .collect()
                .await
                .map(|b| b.to_bytes())
                .unwrap_or_default();
            Response::from_parts(parts, Full::new(bytes))
        }
    })
    .await
}

/// One endpoint under load: where to POST what.
#[derive(Clone)]
pub struct Target {
    /// A short name for the table.
    pub name: &'static str,
    /// The URL.
    pub url: hyper::Uri,
    /// Extra headers (the API key).
    pub headers: Vec<(&'static str, String)>,
    /// The JSON body.
    pub body: Bytes,
}

#[derive(Clone)]
struct Suite {
    target: Target,
}

#[async_trait::async_trait]
impl BenchSuite for Suite {
    type WorkerState = Client<HttpConnector, Full<Bytes>>;

    async fn state(&self, _worker: u32) -> anyhow::Result<Self::WorkerState> {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        // One keep-alive connection per worker.
        Ok(Client::builder(TokioExecutor::new())
            .pool_max_idle_per_host(1)
            .build(connector))
    }

    async fn bench(
        &mut self,
        client: &mut Self::WorkerState,
        _: &IterInfo,
    ) -> anyhow::Result<IterReport> {
        let started = tokio::time::Instant::now();
        let mut req =
            Request::post(self.target.url.clone()).header("content-type", "application/json");
        for (name, value) in &self.target.headers {
            req = req.header(*name, value);
        }
        let req = req
            .body(Full::new(self.target.body.clone()))
            .expect("request");
        // Transport failures count as errors, not as aborted iterations.
        let (status, bytes) = match client.request(req).await {
            Ok(answer) => {
                let status = Status::from(answer.status());
                match answer.into_body().collect().await {
                    Ok(body) => (status, body.to_bytes().len() as u64),
                    Err(_) => (Status::error(-1), 0),
                }
            }
            Err(_) => (Status::error(-1), 0),
        };
        Ok(IterReport {
            duration: started.elapsed(),
            status,
            bytes,
            items: 1,
        })
    }
}

/// How long a load run lasts.
#[derive(Debug, Clone, Copy)]
pub enum Limit {
    /// For this long.
    Time(Duration),
    /// For this many requests.
    Requests(u64),
}

/// The figures of one load run.
#[derive(Debug, Clone, Copy, Default)]
pub struct Figures {
    /// Requests sent.
    pub requests: u64,
    /// Requests that did not get a 2xx answer (transport failures included).
    pub errors: u64,
    /// Requests per second.
    pub rps: f64,
    /// Median latency, ms.
    pub p50_ms: f64,
    /// 99th percentile latency, ms.
    pub p99_ms: f64,
    /// Largest latency, ms.
    pub max_ms: f64,
    /// The CPU time (user and system) the target's process spent per
    /// request, in µs: measured for the gateway, which runs alone in its
    /// process (the mock and the proxy share the harness's).
    pub cpu_us: Option<f64>,
}

/// The CPU time process `pid` has used so far, in seconds (Linux: utime and
/// stime from `/proc/<pid>/stat`, in the kernel's fixed 100 ticks a second).
pub fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may hold spaces; the fields after it don't.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i)?.parse::<u64>().ok();
    // utime and stime are fields 14 and 15, the 12th and 13th after ')'.
    Some((ticks(11)? + ticks(12)?) as f64 / 100.0)
}

#[derive(Parser)]
struct RltArgs {
    #[command(flatten)]
    bench: rlt::cli::BenchCli,
}

/// Drives `target` with `concurrency` workers (one keep-alive connection
/// each) for `limit`, with rlt, and reads its JSON report. Without a `rate`
/// the workers are closed-loop (each sends its next request when the last
/// is answered); with one, they share that many requests per second.
pub async fn load(
    target: &Target,
    concurrency: u32,
    limit: Limit,
    rate: Option<u32>,
) -> anyhow::Result<Figures> {
    let dir = tempfile::tempdir()?;
    let report = dir.path().join("report.json");
    let mut args = vec![
        "rlt".to_string(),
        "-c".into(),
        concurrency.to_string(),
        "--collector".into(),
        "silent".into(),
        "-o".into(),
        "json".into(),
        "-O".into(),
        report.display().to_string(),
    ];
    match limit {
        Limit::Time(d) => args.extend(["-d".into(), format!("{}ms", d.as_millis())]),
        Limit::Requests(n) => args.extend(["-n".into(), n.to_string()]),
    }
    if let Some(rate) = rate {
        args.extend(["--rate".into(), rate.to_string()]);
    }
    let cli = RltArgs::try_parse_from(args)?.bench;
    rlt::cli::run(
        cli,
        Suite {
            target: target.clone(),
        },
    )
    .await?;
    let report: Value = serde_json::from_slice(&std::fs::read(&report)?)?;
    figures(&report)
}

/// The figures of an rlt JSON report.
fn figures(report: &Value) -> anyhow::Result<Figures> {
    let summary = &report["summary"]["iters"];
    let requests = summary["total"].as_u64().unwrap_or(0);
    let ok: u64 = report["status"]
        .as_object()
        .map(|m| {
            m.iter()
                .filter(|(k, _)| k.starts_with("Success("))
                .filter_map(|(_, v)| v.as_u64())
                .sum()
        })
        .unwrap_or(0);
    let failed_iterations: u64 = report["errors"]
        .as_object()
        .map(|m| m.values().filter_map(Value::as_u64).sum())
        .unwrap_or(0);
    let latency = &report["latency"];
    let ms = |v: &Value| v.as_f64().unwrap_or(0.0) * 1e3;
    Ok(Figures {
        requests: requests + failed_iterations,
        errors: requests - ok.min(requests) + failed_iterations,
        rps: summary["rate"].as_f64().unwrap_or(0.0),
        p50_ms: ms(&latency["percentiles"]["p50"]),
        p99_ms: ms(&latency["percentiles"]["p99"]),
        max_ms: ms(&latency["stats"]["max"]),
        cpu_us: None,
    })
}

/// The harness's options.
#[derive(Debug, Clone)]
pub struct Options {
    /// Concurrencies to run at.
    pub concurrencies: Vec<u32>,
    /// How long each run lasts.
    pub limit: Limit,
    /// Requests per concurrency level sent before measuring, to warm up
    /// connections and the gateway.
    pub warmup: u64,
    /// Requests per second for every run (open loop), instead of as many as
    /// the target answers: the added latency then measures the work each
    /// request costs, not the queue in front of a saturated target.
    pub rate: Option<u32>,
    /// Measured runs per target and concurrency; the one with the median
    /// throughput is reported (this shared machine varies from run to run).
    pub repeat: u32,
}

/// One concurrency level: the three targets' figures.
#[derive(Debug, Clone, Copy)]
pub struct Row {
    /// Concurrent connections.
    pub concurrency: u32,
    /// Straight to the mock upstream.
    pub direct: Figures,
    /// Through the plain reverse proxy.
    pub proxy: Figures,
    /// Through the gateway.
    pub gateway: Figures,
}

/// Everything the harness started, stopped when dropped.
pub struct Setup {
    /// The mock upstream.
    pub upstream: Server,
    /// The reverse proxy.
    pub proxy: Server,
    /// The gateway process.
    pub gateway: Gateway,
    /// The API key the load uses.
    pub key: String,
}

/// The gateway's configuration for the bench: the OpenAI adapter routed to
/// the mock, rate limits on (high enough not to refuse), every moderation
/// setting at its default (the bundled policies on).
fn gateway_config(upstream: &Server) -> String {
    format!(
        r#"
[credentials.openai]
value = "sk-bench"

[plugin_settings.openai-images]
allowed_hosts = ["{addr}"]
[plugin_settings.openai-images.config]
base_url = "{url}"

[prices."openai/gpt-image-1"]
per_image = 1

[limits]
requests_per_minute = 60000000
max_concurrent_tasks = 100000
"#,
        addr = upstream.addr,
        url = upstream.url(),
    )
}

/// Starts the mock, the proxy and the gateway (with an account holding
/// enough credits and a key). The gateway is started from blocking code,
/// so call this outside the runtime's async context (it enters `rt`).
pub fn start(rt: &tokio::runtime::Runtime, mock: MockBehaviour) -> anyhow::Result<Setup> {
    let upstream = rt.block_on(mock_upstream(mock))?;
    let proxy = rt.block_on(reverse_proxy(upstream.addr))?;
    let gateway = Gateway::start_with_config(&gateway_config(&upstream));
    let account = gateway.account("bench@example.com", 1_000_000_000_000);
    Ok(Setup {
        upstream,
        proxy,
        gateway,
        key: account.key,
    })
}

/// The three targets of a setup.
pub fn targets(setup: &Setup) -> [Target; 3] {
    let upstream_body = Bytes::from(
        json!({"model": "gpt-image-1", "prompt": "a lighthouse at dusk, watercolor", "n": 1, "size": "1024x1024"})
            .to_string(),
    );
    let gateway_body = Bytes::from(
        json!({"model": "openai/gpt-image-1", "prompt": "a lighthouse at dusk, watercolor", "n": 1, "size": "1024x1024"})
            .to_string(),
    );
    let auth = vec![("authorization", "Bearer sk-bench".to_string())];
    [
        Target {
            name: "direct",
            url: format!("{}/v1/images/generations", setup.upstream.url())
                .parse()
                .expect("uri"),
            headers: auth.clone(),
            body: upstream_body.clone(),
        },
        Target {
            name: "proxy",
            url: format!("{}/v1/images/generations", setup.proxy.url())
                .parse()
                .expect("uri"),
            headers: auth,
            body: upstream_body,
        },
        Target {
            name: "gateway",
            url: format!("{}/v1/images/generations", setup.gateway.base)
                .parse()
                .expect("uri"),
            headers: vec![("authorization", format!("Bearer {}", setup.key))],
            body: gateway_body,
        },
    ]
}

/// One measured run of `target`, with the CPU time of process `pid` (if
/// given) per request.
fn measured(
    rt: &tokio::runtime::Runtime,
    target: &Target,
    concurrency: u32,
    opts: &Options,
    pid: Option<u32>,
) -> anyhow::Result<Figures> {
    let before = pid.and_then(cpu_seconds);
    let mut figures = rt.block_on(load(target, concurrency, opts.limit, opts.rate))?;
    let after = pid.and_then(cpu_seconds);
    if let (Some(before), Some(after)) = (before, after) {
        figures.cpu_us = Some((after - before) * 1e6 / figures.requests.max(1) as f64);
    }
    Ok(figures)
}

/// Runs every concurrency level against the three targets.
pub fn run(
    rt: &tokio::runtime::Runtime,
    setup: &Setup,
    opts: &Options,
) -> anyhow::Result<Vec<Row>> {
    let [direct, proxy, gateway] = targets(setup);
    let mut rows = Vec::new();
    for &c in &opts.concurrencies {
        let measure = |t: &Target, pid: Option<u32>| -> anyhow::Result<Figures> {
            if opts.warmup > 0 {
                rt.block_on(load(t, c, Limit::Requests(opts.warmup), opts.rate))?;
            }
            let runs = (0..opts.repeat.max(1))
                .map(|_| measured(rt, t, c, opts, pid))
                .collect::<anyhow::Result<Vec<Figures>>>()?;
            Ok(median_run(runs, opts.rate.is_some()))
        };
        rows.push(Row {
            concurrency: c,
            direct: measure(&direct, None)?,
            proxy: measure(&proxy, None)?,
            gateway: measure(&gateway, setup.gateway.pid())?,
        });
    }
    Ok(rows)
}

/// The middle run, whole, so its figures stay consistent with each other:
/// by throughput, or by median latency for runs at a set rate (which all
/// deliver that rate). Of an even count, the higher middle one.
fn median_run(mut runs: Vec<Figures>, rated: bool) -> Figures {
    if rated {
        runs.sort_by(|a, b| a.p50_ms.total_cmp(&b.p50_ms));
    } else {
        runs.sort_by(|a, b| a.rps.total_cmp(&b.rps));
    }
    runs[runs.len() / 2]
}

/// The result table, as Markdown.
pub fn table(rows: &[Row]) -> String {
    let mut out = String::from(
        "| conc | target | requests | errors | req/s | p50 ms | p99 ms | max ms |\n|---:|---|---:|---:|---:|---:|---:|---:|\n",
    );
    for r in rows {
        for (name, f) in [
            ("direct", r.direct),
            ("proxy", r.proxy),
            ("gateway", r.gateway),
        ] {
            out.push_str(&format!(
                "| {} | {name} | {} | {} | {:.0} | {:.3} | {:.3} | {:.3} |\n",
                r.concurrency, f.requests, f.errors, f.rps, f.p50_ms, f.p99_ms, f.max_ms
            ));
        }
    }
    out.push_str(
        "\n| conc | added p50 ms | added p99 ms | gateway / proxy throughput | gateway / direct throughput | gateway CPU µs / request |\n|---:|---:|---:|---:|---:|---:|\n",
    );
    for r in rows {
        out.push_str(&format!(
            "| {} | {:.3} | {:.3} | {:.2} | {:.2} | {} |\n",
            r.concurrency,
            r.gateway.p50_ms - r.direct.p50_ms,
            r.gateway.p99_ms - r.direct.p99_ms,
            r.gateway.rps / r.proxy.rps.max(f64::MIN_POSITIVE),
            r.gateway.rps / r.direct.rps.max(f64::MIN_POSITIVE),
            r.gateway
                .cpu_us
                .map_or_else(|| "n/a".to_string(), |us| format!("{us:.0}")),
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::{Figures, median_run};

    #[test]
    fn the_median_run_is_reported_whole() {
        let run = |rps: f64, p50_ms: f64| Figures {
            rps,
            p50_ms,
            ..Figures::default()
        };
        let runs = vec![run(900.0, 1.0), run(300.0, 3.0), run(600.0, 2.5)];
        let picked = median_run(runs.clone(), false);
        assert_eq!((picked.rps, picked.p50_ms), (600.0, 2.5));
        // At a set rate the throughputs agree; the middle latency decides.
        let rated = vec![run(100.0, 1.0), run(101.0, 3.0), run(99.0, 2.0)];
        let picked = median_run(rated, true);
        assert_eq!((picked.rps, picked.p50_ms), (99.0, 2.0));
        assert_eq!(median_run(vec![run(5.0, 9.0)], false).p50_ms, 9.0);
    }
}

//! Figures for the foundation and for billing: the cost of one plugin call
//! (fresh instance + call, pooling allocator), the cold start of `imini
//! serve` (first run and with the plugin cache), the end-to-end latency of
//! one 512x512 canvas image over HTTP, the durable ledger hold and capture,
//! and generation throughput with billing on and off. Prints tables; run
//! with
//!
//! ```text
//! cargo bench -p imini --bench gateway            # everything
//! cargo bench -p imini --bench gateway -- billing # one section: plugins, serve, billing, tasks, micro, storage, disk, rollout, moderation
//! ```

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use imini::bundled::BUNDLED;
use imini::plugins::bindings::types::{GenerationRequest, MediaKind, Size};
use imini::plugins::{
    CallInput, EngineLimits, LoadedPlugin, Manifest, Outbound, PluginRuntime, PluginSource,
};

#[path = "gateway/disk.rs"]
mod disk;
#[path = "gateway/ledger.rs"]
mod ledger;
#[path = "gateway/micro.rs"]
mod micro;
#[path = "gateway/moderation.rs"]
mod moderation;
#[path = "gateway/rollout.rs"]
mod rollout;
#[path = "gateway/storage.rs"]
mod storage;

use disk::disk_figures;
use ledger::ledger_ops;
use micro::micro;
use moderation::moderation_figures;
use rollout::rollout_figures;
use storage::storage_figures;

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn report(name: &str, mut samples: Vec<Duration>, unit: &str) {
    samples.sort();
    let scale = |d: Duration| match unit {
        "µs" => d.as_secs_f64() * 1e6,
        _ => d.as_secs_f64() * 1e3,
    };
    let mean = samples.iter().sum::<Duration>() / samples.len() as u32;
    println!(
        "| {name:<46} | {:>6} | {:>9.1} | {:>9.1} | {:>9.1} | {unit} |",
        samples.len(),
        scale(percentile(&samples, 0.5)),
        scale(percentile(&samples, 0.99)),
        scale(mean),
    );
}

fn request(prompt: &str, size: u32) -> GenerationRequest {
    GenerationRequest {
        model: "imini/canvas-image".into(),
        kind: MediaKind::Image,
        prompt: prompt.into(),
        negative_prompt: None,
        n: 1,
        size: Size {
            width: size,
            height: size,
        },
        aspect_ratio: None,
        resolution: None,
        duration_ms: None,
        generate_audio: false,
        seed: Some(1),
        references: Vec::new(),
        extra_params: "{}".into(),
    }
}

/// A plugin runtime as the gateway configures it (256 MiB per instance, 64
/// calls at once), compiling into a temporary cache kept with it.
fn plugin_runtime() -> (tempfile::TempDir, Arc<PluginRuntime>) {
    let cache = tempfile::tempdir().unwrap();
    let outbound = Outbound::new(Duration::from_secs(10), 1 << 20, 0).unwrap();
    let limits = EngineLimits {
        memory_bytes: 256 << 20,
        provider_calls: 64,
        policy_calls: 64,
        max_output_bytes: 64 << 20,
    };
    let runtime = PluginRuntime::new(
        &limits,
        cache.path(),
        outbound,
        imini::credentials::Credentials::fixed(Default::default()),
    )
    .unwrap();
    (cache, runtime)
}

async fn plugin_calls() {
    let (_cache, runtime) = plugin_runtime();
    let canvas = BUNDLED
        .iter()
        .find(|b| b.crate_name == "canvas")
        .expect("canvas is bundled");
    let source = PluginSource {
        manifest: Manifest::from_toml(canvas.manifest).unwrap(),
        wasm: Arc::from(canvas.wasm),
        config: serde_json::json!({}),
        extra_allowed_hosts: Vec::new(),
        call_timeout: Duration::from_secs(30),
        memory_bytes: 256 << 20,
    };
    let started = Instant::now();
    let LoadedPlugin::Provider(plugin) = runtime.load(source.clone()).await.unwrap() else {
        unreachable!()
    };
    let first_load = started.elapsed();
    let started = Instant::now();
    let _ = runtime.load(source).await.unwrap();
    let cached_load = started.elapsed();
    println!(
        "canvas component: {} KiB; load (compile + validate + smoke call) {:.1} ms first, {:.1} ms from the cache\n",
        canvas.wasm.len() / 1024,
        first_load.as_secs_f64() * 1e3,
        cached_load.as_secs_f64() * 1e3
    );

    println!(
        "| measurement                                    |      n |       p50 |       p99 |      mean | unit |"
    );
    println!(
        "|------------------------------------------------|--------|-----------|-----------|-----------|------|"
    );
    let input = CallInput::default();
    for _ in 0..200 {
        plugin.models(&input).await.unwrap();
    }
    let samples: Vec<Duration> = {
        let mut v = Vec::new();
        for _ in 0..5000 {
            let t = Instant::now();
            std::hint::black_box(plugin.models(&input).await.unwrap());
            v.push(t.elapsed());
        }
        v
    };
    report("plugin call: fresh instance + models()", samples, "µs");

    let mut samples = Vec::new();
    for i in 0..40 {
        let req = request(&format!("a lighthouse at dusk, watercolor {i}"), 512);
        let t = Instant::now();
        let out = plugin.generate(&input, &req).await.unwrap().unwrap();
        samples.push(t.elapsed());
        std::hint::black_box(out);
    }
    report("plugin call: canvas generate 512x512 PNG", samples, "ms");
}

fn header() {
    println!(
        "| measurement                                    |      n |       p50 |       p99 |      mean | unit |"
    );
    println!(
        "|------------------------------------------------|--------|-----------|-----------|-----------|------|"
    );
}

struct Serve {
    child: std::process::Child,
    base: String,
}

fn serve(data_dir: &std::path::Path) -> (Serve, Duration) {
    serve_with(data_dir, None)
}

fn serve_with(data_dir: &std::path::Path, config: Option<&std::path::Path>) -> (Serve, Duration) {
    serve_logged(data_dir, config, None)
}

/// Starts `imini serve`; with `log`, its `info` log goes to that file.
fn serve_logged(
    data_dir: &std::path::Path,
    config: Option<&std::path::Path>,
    log: Option<&std::path::Path>,
) -> (Serve, Duration) {
    let started = Instant::now();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_imini"));
    cmd.args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data_dir);
    if let Some(config) = config {
        cmd.arg("--config").arg(config);
    }
    match log {
        Some(path) => cmd
            .env("RUST_LOG", "info")
            .stderr(std::fs::File::create(path).unwrap()),
        None => cmd.env("RUST_LOG", "warn").stderr(Stdio::null()),
    };
    let mut child = cmd
        .env("IMINI_ADMIN_KEY", "bench-key")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let base = loop {
        let line = lines.next().expect("imini exited").unwrap();
        if let Some(url) = line.strip_prefix("imini listening on ") {
            break url.to_string();
        }
    };
    (Serve { child, base }, started.elapsed())
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn gateway() {
    let dir = tempfile::tempdir().unwrap();
    let mut first = Vec::new();
    let mut cached = Vec::new();
    for i in 0..5 {
        let fresh = dir.path().join(format!("fresh{i}"));
        first.push(serve(&fresh).1);
        cached.push(serve(&fresh).1);
    }
    report("cold start of imini serve, empty data dir", first, "ms");
    report("cold start of imini serve, plugin cache warm", cached, "ms");

    let (server, _) = serve(&dir.path().join("e2e"));
    let client = reqwest::Client::new();
    let post = |format: &'static str, i: usize| {
        client
            .post(format!("{}/v1/images/generations", server.base))
            .bearer_auth("bench-key")
            .json(&serde_json::json!({"prompt": format!("green hills under a blue sky {i}"), "size": "512x512", "response_format": format}))
            .send()
    };
    for format in ["b64_json", "url"] {
        for i in 0..10 {
            post(format, i).await.unwrap().bytes().await.unwrap();
        }
        let mut samples = Vec::new();
        for i in 0..100 {
            let t = Instant::now();
            let response = post(format, i).await.unwrap();
            assert!(response.status().is_success());
            response.bytes().await.unwrap();
            samples.push(t.elapsed());
        }
        report(
            &format!("HTTP: one 512x512 canvas image ({format})"),
            samples,
            "ms",
        );
    }
}

/// Creates an account with credits and a key on a running gateway; returns
/// the key.
async fn account_key(client: &reqwest::Client, base: &str) -> String {
    let admin = |path: &str, body: serde_json::Value| {
        client
            .post(format!("{base}{path}"))
            .bearer_auth("bench-key")
            .json(&body)
            .send()
    };
    let account: serde_json::Value = admin(
        "/admin/v1/accounts",
        serde_json::json!({"email": "bench@example.com"}),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let id = account["id"].as_str().unwrap().to_string();
    admin(
        &format!("/admin/v1/accounts/{id}/topup"),
        serde_json::json!({"credits": 1_000_000_000i64}),
    )
    .await
    .unwrap();
    let key: serde_json::Value = admin(
        &format!("/admin/v1/accounts/{id}/keys"),
        serde_json::json!({"name": "bench"}),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    key["secret"].as_str().unwrap().to_string()
}

const OPEN_LIMITS: &str =
    "[limits]\nrequests_per_minute = 100000000\nmax_concurrent_tasks = 1000000\n";

async fn billing_throughput() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("imini.toml"), OPEN_LIMITS).unwrap();
    let (server, _) = serve_with(
        &dir.path().join("data"),
        Some(&dir.path().join("imini.toml")),
    );
    let client = reqwest::Client::new();
    let account_key = account_key(&client, &server.base).await;

    println!(
        "| 512x512 canvas images, 8 concurrent clients, 400 requests | gen/s | p50 ms | p99 ms |"
    );
    println!(
        "|-----------------------------------------------------------|-------|--------|--------|"
    );
    for round in 0..2 {
        for (label, key) in [
            ("billing off (admin key: no hold)", "bench-key"),
            (
                "billing on (account key: durable hold + capture)",
                account_key.as_str(),
            ),
        ] {
            let started = Instant::now();
            let mut handles = Vec::new();
            for w in 0..8 {
                let (client, base, key) = (client.clone(), server.base.clone(), key.to_string());
                handles.push(tokio::spawn(async move {
                    let mut lat = Vec::new();
                    for i in 0..50 {
                        let body = serde_json::json!({"prompt": format!("storm over the ocean {w} {i}"), "size": "512x512", "response_format": "url"});
                        let t = Instant::now();
                        let r = client.post(format!("{base}/v1/images/generations")).bearer_auth(&key).json(&body).send().await.unwrap();
                        assert!(r.status().is_success(), "{}", r.status());
                        r.bytes().await.unwrap();
                        lat.push(t.elapsed());
                    }
                    lat
                }));
            }
            let mut lat = Vec::new();
            for h in handles {
                lat.extend(h.await.unwrap());
            }
            let rate = 400.0 / started.elapsed().as_secs_f64();
            lat.sort();
            if round == 1 {
                println!(
                    "| {label:<57} | {rate:>5.1} | {:>6.1} | {:>6.1} |",
                    percentile(&lat, 0.5).as_secs_f64() * 1e3,
                    percentile(&lat, 0.99).as_secs_f64() * 1e3
                );
            }
        }
    }
    println!("(a first round of each warmed up and is not shown)\n");
}

/// A Replicate-like upstream on loopback: predictions stay `processing`
/// until `done` is set, then succeed with a small PNG it serves itself.
fn slow_upstream(
    done: Arc<std::sync::atomic::AtomicBool>,
    png: Arc<Vec<u8>>,
) -> std::net::SocketAddr {
    use std::sync::atomic::{AtomicU64, Ordering};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let addr = listener.local_addr().unwrap();
    let counter = Arc::new(AtomicU64::new(0));
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            loop {
                let (stream, _) = listener.accept().await.unwrap();
                let (done, png, counter) = (done.clone(), png.clone(), counter.clone());
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                        let (done, png, counter) = (done.clone(), png.clone(), counter.clone());
                        async move {
                            let path = req.uri().path().to_string();
                            let (status, ctype, body): (u16, &str, Vec<u8>) = if path == "/out.png" {
                                (200, "image/png", (*png).clone())
                            } else if req.method() == hyper::Method::POST {
                                let id = counter.fetch_add(1, Ordering::Relaxed);
                                (201, "application/json", serde_json::json!({"id": format!("p{id:08}"), "status": "starting"}).to_string().into_bytes())
                            } else {
                                let id = path.rsplit('/').next().unwrap_or_default().to_string();
                                let host = req.headers().get("host").and_then(|h| h.to_str().ok()).unwrap_or_default().to_string();
                                let v = if done.load(Ordering::Relaxed) {
                                    serde_json::json!({"id": id, "status": "succeeded", "output": [format!("http://{host}/out.png")]})
                                } else {
                                    serde_json::json!({"id": id, "status": "processing", "logs": ""})
                                };
                                (200, "application/json", v.to_string().into_bytes())
                            };
                            Ok::<_, std::convert::Infallible>(
                                hyper::Response::builder()
                                    .status(status)
                                    .header("content-type", ctype)
                                    .body(http_body_util::Full::new(bytes::Bytes::from(body)))
                                    .unwrap(),
                            )
                        }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                        .await;
                });
            }
        });
    });
    addr
}

/// (RSS in MiB, CPU seconds so far) of a process, from /proc.
fn rss_and_cpu(pid: u32) -> (f64, f64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let rss_kb: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0.0);
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit(')')
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // utime and stime are fields 14 and 15 of /proc/pid/stat (11 and 12 after the name).
    (rss_kb / 1024.0, (ticks(11) + ticks(12)) / 100.0)
}

async fn pending_tasks() {
    const TASKS: usize = 10_000;
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut png = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut png, 8, 8);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        let mut w = enc.write_header().unwrap();
        w.write_image_data(&[120u8; 8 * 8 * 3]).unwrap();
    }
    let upstream = slow_upstream(done.clone(), Arc::new(png));
    let dir = tempfile::tempdir().unwrap();
    let config = format!(
        "{OPEN_LIMITS}\n[credentials.replicate]\nvalue = \"r8_bench\"\n[plugin_settings.replicate]\nallowed_hosts = [\"{upstream}\"]\n[plugin_settings.replicate.config]\nbase_url = \"http://{upstream}\"\npoll_interval_ms = 5000\n[prices.\"replicate/flux-schnell\"]\nper_image = 1\n"
    );
    std::fs::write(dir.path().join("imini.toml"), config).unwrap();
    let (server, _) = serve_with(
        &dir.path().join("data"),
        Some(&dir.path().join("imini.toml")),
    );
    let pid = server.child.id();
    let client = reqwest::Client::new();
    let key = account_key(&client, &server.base).await;
    let (rss_idle, _) = rss_and_cpu(pid);

    let started = Instant::now();
    let mut handles = Vec::new();
    for w in 0..32 {
        let (client, base, key) = (client.clone(), server.base.clone(), key.clone());
        handles.push(tokio::spawn(async move {
            let mut ids = Vec::new();
            for i in (w..TASKS).step_by(32) {
                let body = serde_json::json!({"model": "replicate/flux-schnell", "prompt": format!("slow {i}"), "size": "1024x1024"});
                let r = client.post(format!("{base}/v1/images/generate")).bearer_auth(&key).json(&body).send().await.unwrap();
                assert_eq!(r.status(), 202);
                let v: serde_json::Value = r.json().await.unwrap();
                ids.push(v["task_id"].as_str().unwrap().to_string());
            }
            ids
        }));
    }
    let mut ids = Vec::new();
    for h in handles {
        ids.extend(h.await.unwrap());
    }
    let submit_secs = started.elapsed().as_secs_f64();
    tokio::time::sleep(Duration::from_secs(10)).await;
    let (_, cpu0) = rss_and_cpu(pid);
    tokio::time::sleep(Duration::from_secs(10)).await;
    let (rss, cpu1) = rss_and_cpu(pid);
    println!("| {TASKS} pending polled tasks (poll every 5 s)        | value |");
    println!("|----------------------------------------------------|-------|");
    println!(
        "| submit rate (tasks/s, 32 clients)                  | {:>5.0} |",
        TASKS as f64 / submit_secs
    );
    println!("| gateway RSS before the tasks (MiB)                 | {rss_idle:>5.1} |");
    println!("| gateway RSS with them pending (MiB)                | {rss:>5.1} |");
    println!(
        "| gateway CPU while they poll (% of one core)        | {:>5.1} |",
        (cpu1 - cpu0) / 10.0 * 100.0
    );

    // Upstream completion to `succeeded`, on a sample of tasks.
    let sample: Vec<String> = ids.iter().step_by(TASKS / 40).cloned().collect();
    let flipped = Instant::now();
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut delays = Vec::new();
    let mut waiting = sample.clone();
    while !waiting.is_empty() && flipped.elapsed() < Duration::from_secs(60) {
        let mut still = Vec::new();
        for id in waiting {
            let t: serde_json::Value = client
                .get(format!("{}/v1/tasks/{id}", server.base))
                .bearer_auth(&key)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            if t["status"] == "succeeded" {
                delays.push(flipped.elapsed());
            } else {
                still.push(id);
            }
        }
        waiting = still;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    delays.sort();
    if !delays.is_empty() {
        println!(
            "| upstream done → task succeeded, p50 / max (s), {} sampled | {:.2} / {:.2} |",
            delays.len(),
            percentile(&delays, 0.5).as_secs_f64(),
            delays.last().unwrap().as_secs_f64()
        );
    }
    println!(
        "(the poll interval is 5 s, so the delay is bounded by it; it is a provider setting)\n"
    );

    // Starting again with the tasks stored and over: a start reads the
    // tasks left open, not every task; without the index (a data directory
    // from an older gateway, or as every start did before it) it reads and
    // announces them all.
    tokio::time::sleep(Duration::from_secs(6)).await; // the last polls
    drop(server);
    let (data, config) = (dir.path().join("data"), dir.path().join("imini.toml"));
    let (mut indexed, mut scanned) = (Vec::new(), Vec::new());
    for _ in 0..3 {
        indexed.push(serve_with(&data, Some(&config)).1);
        let db = fjall::Database::builder(data.join("store")).open().unwrap();
        db.keyspace("tasks_open", fjall::KeyspaceCreateOptions::default)
            .unwrap()
            .clear()
            .unwrap();
        db.persist(fjall::PersistMode::SyncAll).unwrap();
        drop(db);
        scanned.push(serve_with(&data, Some(&config)).1);
    }
    indexed.sort();
    scanned.sort();
    println!(
        "| start to listening with {TASKS} tasks over (s, median of 3) | {:.3} |",
        indexed[1].as_secs_f64()
    );
    println!(
        "| the same, reading every task (no open-task index)      | {:.3} |\n",
        scanned[1].as_secs_f64()
    );
}

fn main() {
    // `cargo test --benches` runs benches with no arguments meant for us;
    // `cargo bench` passes --bench.
    let args: Vec<String> = std::env::args().collect();
    if !args.iter().any(|a| a == "--bench") {
        return;
    }
    let filters: Vec<&String> = args
        .iter()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let wanted =
        |section: &str| filters.is_empty() || filters.iter().any(|f| f.as_str() == section);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        if wanted("plugins") || wanted("serve") {
            plugin_calls().await;
            gateway().await;
        }
        if wanted("billing") {
            println!();
            header();
            ledger_ops().await;
            billing_throughput().await;
        }
        if wanted("tasks") {
            pending_tasks().await;
        }
        if wanted("micro") {
            micro().await;
        }
        if wanted("storage") {
            storage_figures().await;
        }
        if wanted("disk") {
            disk_figures().await;
        }
        if wanted("rollout") {
            rollout_figures().await;
        }
        if wanted("moderation") {
            moderation_figures().await;
        }
    });
}

//! Figures for the foundation and for billing: the cost of one plugin call
//! (fresh instance + call, pooling allocator), the cold start of `imini
//! serve` (first run and with the plugin cache), the end-to-end latency of
//! one 512x512 canvas image over HTTP, the durable ledger hold and capture,
//! and generation throughput with billing on and off. Prints tables; run
//! with
//!
//! ```text
//! cargo bench -p imini --bench gateway            # everything
//! cargo bench -p imini --bench gateway -- billing # one section: plugins, serve, billing, tasks, micro, rollout, moderation
//! ```

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use imini::plugins::bindings::types::{GenerationRequest, MediaKind, Size};
use imini::plugins::{
    CallInput, EngineLimits, LoadedPlugin, Manifest, Outbound, PluginRuntime, PluginSource,
};
use imini::server::BUNDLED;

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

async fn plugin_calls() {
    let cache = tempfile::tempdir().unwrap();
    let outbound = Outbound::new(Duration::from_secs(10), 1 << 20).unwrap();
    let limits = EngineLimits {
        memory_bytes: 256 << 20,
        max_concurrent_calls: 64,
    };
    let runtime = PluginRuntime::new(&limits, cache.path(), outbound, Default::default()).unwrap();
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

/// Loads a bundled plugin by crate name into `runtime` with `config`.
async fn bundled(
    runtime: &Arc<PluginRuntime>,
    crate_name: &str,
    config: serde_json::Value,
) -> LoadedPlugin {
    let b = BUNDLED
        .iter()
        .find(|b| b.crate_name == crate_name)
        .unwrap_or_else(|| panic!("{crate_name} is bundled"));
    runtime
        .load(PluginSource {
            manifest: Manifest::from_toml(b.manifest).unwrap(),
            wasm: Arc::from(b.wasm),
            config,
            extra_allowed_hosts: Vec::new(),
            call_timeout: Duration::from_secs(30),
            memory_bytes: 256 << 20,
        })
        .await
        .unwrap()
}

fn time_n<T>(n: usize, mut f: impl FnMut() -> T) -> Vec<Duration> {
    (0..n)
        .map(|_| {
            let t = Instant::now();
            std::hint::black_box(f());
            t.elapsed()
        })
        .collect()
}

async fn time_n_async<T, F: std::future::Future<Output = T>>(
    n: usize,
    mut f: impl FnMut() -> F,
) -> Vec<Duration> {
    let mut v = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        std::hint::black_box(f().await);
        v.push(t.elapsed());
    }
    v
}

/// A benign prompt of about `chars` characters.
fn long_prompt(chars: usize) -> String {
    let words = "a quiet harbour at dawn with fishing boats, gulls over the water, soft watercolor light,                  warm colours, mist on the hills behind the town, a lighthouse on the rocks, ";
    words.chars().cycle().take(chars).collect()
}

/// Micro-benchmarks: plugin instantiate + call for the canvas and OpenAI
/// adapters and the policy plugin, ledger hold + capture, a rate-limit
/// check, request parsing and response encoding.
async fn micro() {
    let cache = tempfile::tempdir().unwrap();
    let outbound = Outbound::new(Duration::from_secs(10), 1 << 20).unwrap();
    let limits = EngineLimits {
        memory_bytes: 256 << 20,
        max_concurrent_calls: 64,
    };
    let runtime = PluginRuntime::new(&limits, cache.path(), outbound, Default::default()).unwrap();
    let input = CallInput::default();
    header();
    for name in ["canvas", "openai-images"] {
        let LoadedPlugin::Provider(p) = bundled(&runtime, name, serde_json::json!({})).await else {
            unreachable!()
        };
        time_n_async(200, || p.models(&input)).await;
        let samples = time_n_async(3000, || p.models(&input)).await;
        report(
            &format!("plugin: instantiate + models(), {name}"),
            samples,
            "µs",
        );
    }
    let LoadedPlugin::Policy(policy) =
        bundled(&runtime, "policy-terms", serde_json::json!({})).await
    else {
        unreachable!()
    };
    let mut req = request(&long_prompt(2000), 512);
    req.model = "openai/gpt-image-1".into();
    time_n_async(200, || policy.check_request(&input, &req)).await;
    let samples = time_n_async(3000, || policy.check_request(&input, &req)).await;
    report(
        "plugin: instantiate + check_request, policy-terms, 2,000 chars",
        samples,
        "µs",
    );
    // The output check: one 512x512 PNG (decoded and hashed in the sandbox).
    let png = {
        let mut out = Vec::new();
        let mut e = png::Encoder::new(&mut out, 512, 512);
        e.set_color(png::ColorType::Rgb);
        let mut w = e.write_header().unwrap();
        let pixels: Vec<u8> = (0..512 * 512 * 3).map(|i| (i % 251) as u8).collect();
        w.write_image_data(&pixels).unwrap();
        w.finish().unwrap();
        out
    };
    let output_input = CallInput {
        request_id: String::new(),
        blobs: vec![bytes::Bytes::from(png)],
    };
    let outputs = vec![imini::plugins::bindings::types::Media {
        kind: MediaKind::Image,
        mime: "image/png".into(),
        width: 512,
        height: 512,
        duration_ms: None,
        data: imini::plugins::bindings::types::MediaData::Blob(1),
        text: Some("a lighthouse at dusk, watercolor".into()),
    }];
    let samples = time_n_async(500, || policy.check_output(&output_input, &req, &outputs)).await;
    report(
        "plugin: check_output, policy-terms, one 512x512 PNG",
        samples,
        "µs",
    );
    let mut short = request("a lighthouse at dusk, watercolor", 512);
    short.model = "openai/gpt-image-1".into();
    let samples = time_n_async(3000, || policy.check_request(&input, &short)).await;
    report(
        "plugin: instantiate + check_request, policy-terms, 32 chars",
        samples,
        "µs",
    );

    let limiter = imini::ratelimit::RateLimiter::default();
    let keys: Vec<String> = (0..1000).map(|i| format!("key_{i}")).collect();
    let mut i = 0;
    let samples = time_n(100_000, || {
        i += 1;
        limiter.check(&keys[i % keys.len()], 600_000, Instant::now())
    });
    report("rate limit: GCRA check (1,000 keys)", samples, "µs");

    let body = serde_json::json!({"model": "openai/gpt-image-1", "prompt": "a lighthouse at dusk, watercolor", "n": 1, "size": "1024x1024", "response_format": "b64_json"}).to_string();
    let samples = time_n(100_000, || {
        serde_json::from_slice::<imini::api::images::OpenAiImageRequest>(body.as_bytes()).unwrap()
    });
    report("request parse: OpenAI images body", samples, "µs");
    for (label, size) in [("64x64 PNG", 64u32), ("1024x1024 PNG", 1024)] {
        let png = {
            let mut out = Vec::new();
            let mut e = png::Encoder::new(&mut out, size, size);
            e.set_color(png::ColorType::Rgb);
            let mut w = e.write_header().unwrap();
            let pixels: Vec<u8> = (0..size * size * 3).map(|i| (i % 251) as u8).collect();
            w.write_image_data(&pixels).unwrap();
            w.finish().unwrap();
            out
        };
        let samples = time_n(2000, || {
            use base64::Engine as _;
            let answer = serde_json::json!({"created": 1, "data": [{"b64_json": base64::engine::general_purpose::STANDARD.encode(&png)}], "id": "task_x"});
            serde_json::to_vec(&answer).unwrap()
        });
        report(
            &format!("response encode: b64_json, {label}"),
            samples,
            "µs",
        );
    }
}

fn header() {
    println!(
        "| measurement                                    |      n |       p50 |       p99 |      mean | unit |"
    );
    println!(
        "|------------------------------------------------|--------|-----------|-----------|-----------|------|"
    );
}

/// The latency the content-policy pipeline adds to a request: 64x64
/// canvas images with a 2,000-character prompt, through a gateway with the
/// bundled policies and through one with none (`[moderation] policies =
/// []`), one request at a time, interleaved.
async fn moderation_figures() {
    let dir = tempfile::tempdir().unwrap();
    let none = dir.path().join("none.toml");
    std::fs::write(&none, "[moderation]\npolicies = []\n").unwrap();
    let (with, _) = serve(&dir.path().join("with"));
    let (without, _) = serve_with(&dir.path().join("without"), Some(&none));
    let client = reqwest::Client::new();
    let prompt = long_prompt(2000);
    let post = |base: String| {
        let client = client.clone();
        let prompt = prompt.clone();
        async move {
            let t = Instant::now();
            let r = client
                .post(format!("{base}/v1/images/generations"))
                .bearer_auth("bench-key")
                .json(&serde_json::json!({"prompt": prompt, "size": "64x64", "response_format": "url"}))
                .send()
                .await
                .unwrap();
            assert!(r.status().is_success(), "{}", r.text().await.unwrap());
            r.bytes().await.unwrap();
            t.elapsed()
        }
    };
    for _ in 0..50 {
        post(with.base.clone()).await;
        post(without.base.clone()).await;
    }
    let (mut on, mut off) = (Vec::new(), Vec::new());
    for _ in 0..500 {
        on.push(post(with.base.clone()).await);
        off.push(post(without.base.clone()).await);
    }
    header();
    on.sort();
    off.sort();
    let added = |p: f64| percentile(&on, p).saturating_sub(percentile(&off, p));
    report(
        "HTTP 64x64 image, 2,000-char prompt, bundled policies",
        on.clone(),
        "ms",
    );
    report(
        "HTTP 64x64 image, 2,000-char prompt, no policies",
        off.clone(),
        "ms",
    );
    println!(
        "\nmoderation pipeline (request + output checks): adds p50 {:.0} µs, p99 {:.0} µs\n",
        added(0.5).as_secs_f64() * 1e6,
        added(0.99).as_secs_f64() * 1e6
    );
}

/// `wasm` with a custom section naming `version` appended: new bytes (so a
/// fresh compile, as for a real new build) with the same behaviour.
fn new_build(wasm: &[u8], version: &str) -> Vec<u8> {
    fn leb(mut n: usize, out: &mut Vec<u8>) {
        loop {
            let byte = (n & 0x7f) as u8;
            n >>= 7;
            if n == 0 {
                out.push(byte);
                return;
            }
            out.push(byte | 0x80);
        }
    }
    let name = b"imini-bench-build";
    let mut payload = Vec::new();
    leb(name.len(), &mut payload);
    payload.extend_from_slice(name);
    payload.extend_from_slice(version.as_bytes());
    let mut out = wasm.to_vec();
    out.push(0);
    leb(payload.len(), &mut out);
    out.extend(payload);
    out
}

/// A plugin version swapped on a running gateway: time from upload to
/// serving, the swap itself, and throughput during swaps against before.
async fn rollout_figures() {
    let dir = tempfile::tempdir().unwrap();
    let (server, _) = serve(&dir.path().join("rollout"));
    let client = reqwest::Client::new();
    let canvas = BUNDLED.iter().find(|b| b.crate_name == "canvas").unwrap();
    let upload = |version: String| {
        let manifest = canvas
            .manifest
            .replace("version = \"0.1.0\"", &format!("version = \"{version}\""));
        let form = reqwest::multipart::Form::new()
            .text("manifest", manifest)
            .part(
                "component",
                reqwest::multipart::Part::bytes(new_build(canvas.wasm, &version))
                    .file_name("c.wasm"),
            );
        client
            .post(format!("{}/admin/v1/plugins", server.base))
            .bearer_auth("bench-key")
            .multipart(form)
            .send()
    };
    let mut upload_to_serving = Vec::new();
    let mut swaps = Vec::new();
    for i in 0..10 {
        let t = Instant::now();
        let answer: serde_json::Value = upload(format!("0.2.{i}"))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        upload_to_serving.push(t.elapsed());
        swaps.push(Duration::from_secs_f64(
            answer["swap_us"].as_f64().unwrap() / 1e6,
        ));
    }
    header();
    report(
        "rollout: upload to serving (compile+validate+swap)",
        upload_to_serving,
        "ms",
    );
    report("rollout: the swap itself", swaps, "µs");

    // Throughput of small canvas images, 8 clients, before and during swaps.
    let base = server.base.clone();
    let measure = |secs: f64| {
        let base = base.clone();
        async move {
            let done = Arc::new(std::sync::atomic::AtomicU64::new(0));
            let failed = Arc::new(std::sync::atomic::AtomicU64::new(0));
            let until = Instant::now() + Duration::from_secs_f64(secs);
            let mut workers = Vec::new();
            for _ in 0..8 {
                let (done, failed, base) = (done.clone(), failed.clone(), base.clone());
                workers.push(tokio::spawn(async move {
                    let client = reqwest::Client::new();
                    while Instant::now() < until {
                        let ok = client
                            .post(format!("{base}/v1/images/generations"))
                            .bearer_auth("bench-key")
                            .json(&serde_json::json!({"prompt": "a small red kite", "size": "64x64", "response_format": "url"}))
                            .send()
                            .await
                            .is_ok_and(|r| r.status().is_success());
                        if ok { done.fetch_add(1, std::sync::atomic::Ordering::Relaxed); } else { failed.fetch_add(1, std::sync::atomic::Ordering::Relaxed); }
                    }
                }));
            }
            (workers, done, failed, secs)
        }
    };
    let (workers, done, failed, secs) = measure(3.0).await;
    for w in workers {
        w.await.unwrap();
    }
    let before = done.load(std::sync::atomic::Ordering::Relaxed) as f64 / secs;
    let (workers, done, failed_during, secs) = measure(3.0).await;
    let swapper = {
        let client = client.clone();
        let base = server.base.clone();
        tokio::spawn(async move {
            let mut n = 0;
            let until = Instant::now() + Duration::from_secs(3);
            while Instant::now() < until {
                let version = if n % 2 == 0 { "0.2.0" } else { "0.2.1" };
                let answer = client
                    .post(format!("{base}/admin/v1/plugins/canvas/activate"))
                    .bearer_auth("bench-key")
                    .json(&serde_json::json!({"version": version}))
                    .send()
                    .await
                    .unwrap();
                assert!(
                    answer.status().is_success(),
                    "activating {version}: {}",
                    answer.text().await.unwrap()
                );
                n += 1;
            }
            n
        })
    };
    for w in workers {
        w.await.unwrap();
    }
    let swaps_done = swapper.await.unwrap();
    let during = done.load(std::sync::atomic::Ordering::Relaxed) as f64 / secs;
    println!(
        "\nrollout: 64x64 canvas images/s with 8 clients: {before:.0} before, {during:.0} while swapping canvas {swaps_done} times in 3 s ({:.1}% of before); failed requests: {} before, {} during\n",
        during / before * 100.0,
        failed.load(std::sync::atomic::Ordering::Relaxed),
        failed_during.load(std::sync::atomic::Ordering::Relaxed),
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
    let started = Instant::now();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_imini"));
    cmd.args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data_dir);
    if let Some(config) = config {
        cmd.arg("--config").arg(config);
    }
    let mut child = cmd
        .env("IMINI_ADMIN_KEY", "bench-key")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
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

async fn ledger_ops() {
    let dir = tempfile::tempdir().unwrap();
    let store = imini::store::Store::open(dir.path()).unwrap();
    let ledger = imini::ledger::Ledger::new(&store).unwrap();
    ledger
        .topup("acct_bench", 1_000_000_000, "admin", None)
        .await
        .unwrap();
    let (mut holds, mut captures) = (Vec::new(), Vec::new());
    for i in 0..2000 {
        let task = format!("task_{i:032}");
        let t = Instant::now();
        ledger
            .hold("acct_bench", &task, 10, "key_bench", None)
            .await
            .unwrap();
        holds.push(t.elapsed());
        let t = Instant::now();
        ledger.capture(&task).await.unwrap();
        captures.push(t.elapsed());
    }
    report("ledger: durable hold (fsync), one at a time", holds, "µs");
    report(
        "ledger: durable capture (fsync), one at a time",
        captures,
        "µs",
    );

    // 64 concurrent callers share fsyncs (group commit).
    let ledger = Arc::new(ledger);
    let started = Instant::now();
    let mut handles = Vec::new();
    for w in 0..64 {
        let ledger = ledger.clone();
        handles.push(tokio::spawn(async move {
            for i in 0..100 {
                let task = format!("task_c{w:03}_{i:028}");
                ledger
                    .hold("acct_bench", &task, 10, "key_bench", None)
                    .await
                    .unwrap();
                ledger.capture(&task).await.unwrap();
            }
        }));
    }
    for h in handles {
        h.await.unwrap();
    }
    let per_sec = 6400.0 / started.elapsed().as_secs_f64();
    println!(
        "\nledger: hold + capture pairs per second, 64 concurrent callers (group commit): {per_sec:.0}\n"
    );
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
            println!("\n| measurement                                    |      n |       p50 |       p99 |      mean | unit |");
            println!("|------------------------------------------------|--------|-----------|-----------|-----------|------|");
            ledger_ops().await;
            billing_throughput().await;
        }
        if wanted("tasks") {
            pending_tasks().await;
        }
        if wanted("micro") {
            micro().await;
        }
        if wanted("rollout") {
            rollout_figures().await;
        }
        if wanted("moderation") {
            moderation_figures().await;
        }
    });
}

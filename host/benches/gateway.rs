//! Figures for the foundation and for billing: the cost of one plugin call
//! (fresh instance + call, pooling allocator), the cold start of `imini
//! serve` (first run and with the plugin cache), the end-to-end latency of
//! one 512x512 canvas image over HTTP, the durable ledger hold and capture,
//! and generation throughput with billing on and off. Prints tables; run
//! with
//!
//! ```text
//! cargo bench -p imini --bench gateway            # everything
//! cargo bench -p imini --bench gateway -- billing # one section: plugins, serve, billing
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

fn main() {
    // `cargo test --benches` runs benches with no arguments meant for us;
    // `cargo bench` passes --bench.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        plugin_calls().await;
        gateway().await;
    });
}

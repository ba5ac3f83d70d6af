//! A section of the gateway bench (see `../gateway.rs`).

#[allow(clippy::wildcard_imports)]
use super::*;

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
pub(super) fn long_prompt(chars: usize) -> String {
    let words = "a quiet harbour at dawn with fishing boats, gulls over the water, soft watercolor light,                  warm colours, mist on the hills behind the town, a lighthouse on the rocks, ";
    words.chars().cycle().take(chars).collect()
}

/// Micro-benchmarks: plugin instantiate + call for the canvas and OpenAI
/// adapters and the policy plugin, ledger hold + capture, a rate-limit
/// check, request parsing, response encoding and the host's output check.
pub(super) async fn micro() {
    let (_cache, runtime) = super::plugin_runtime();
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

    let limiter = imini::ratelimit::LocalLimiter::default();
    let keys: Vec<String> = (0..1000).map(|i| format!("key_{i}")).collect();
    let mut i = 0;
    let samples = time_n(100_000, || {
        i += 1;
        limiter.check(&keys[i % keys.len()], 600_000, Instant::now())
    });
    report("rate limit: GCRA check (1,000 keys)", samples, "µs");

    // A record about the size of a task's: what each of the gateway's
    // durable writes and reads costs before any fsync.
    let dir = tempfile::tempdir().unwrap();
    let store = imini::store::Store::open(dir.path()).unwrap();
    let record = serde_json::json!({
        "id": "task_0192f0c8a7b57d3e9c1b2a3d4e5f6a7b", "owner": "acct_0192f0c8a7b57d3e9c1b2a3d4e5f6a7b",
        "model": "openai/gpt-image-1", "status": "succeeded", "progress": 100,
        "request": { "prompt": long_prompt(600), "n": 1, "size": "1024x1024", "extra_params": "{}" },
        "outputs": [{ "file_id": "file_0192f0c8a7b57d3e9c1b2a3d4e5f6a7b", "mime": "image/png", "width": 1024, "height": 1024 }],
        "created_at": "2026-11-24T19:00:00Z", "completed_at": "2026-11-24T19:00:01Z",
    });
    let keys: Vec<String> = (0..20_000).map(|i| format!("task_{i:032}")).collect();
    // As JSON, as stored, and packed, as databases from before compressed
    // tables store the records of the generation path.
    for (table, how) in [
        (store.table("bench").unwrap(), "JSON"),
        (
            store
                .clone()
                .packing_records(true)
                .packed_table("bench_packed")
                .unwrap(),
            "packed",
        ),
    ] {
        let mut i = 0;
        let samples = time_n(keys.len(), || {
            i += 1;
            table.put_unflushed(&keys[i - 1], &record).unwrap();
        });
        report(
            &format!("store: write a 1 KB {how} record (embedded, no fsync)"),
            samples,
            "µs",
        );
        let samples = time_n(keys.len(), || {
            i -= 1;
            table.get::<serde_json::Value>(&keys[i]).unwrap().unwrap()
        });
        report(
            &format!("store: read a 1 KB {how} record (embedded)"),
            samples,
            "µs",
        );
    }

    let body = serde_json::json!({"model": "openai/gpt-image-1", "prompt": "a lighthouse at dusk, watercolor", "n": 1, "size": "1024x1024", "response_format": "b64_json"}).to_string();
    let samples = time_n(100_000, || {
        serde_json::from_slice::<imini::api::images::OpenAiImageRequest>(body.as_bytes()).unwrap()
    });
    report("request parse: OpenAI images body", samples, "µs");
    let LoadedPlugin::Provider(canvas) = bundled(&runtime, "canvas", serde_json::json!({})).await
    else {
        unreachable!()
    };
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
        let png = bytes::Bytes::from(png);
        let samples = time_n(2000, || {
            use imini::api::images::{ImageData, images_answer};
            images_answer(1, "task_x", "1024x1024", &[ImageData::Bytes(png.clone())])
        });
        report(
            &format!("response encode: b64_json, {label}"),
            samples,
            "µs",
        );
        // What the host checks of every output before storing it: size,
        // format, MIME type, and the header's width and height.
        let declared = imini::plugins::bindings::types::Media {
            kind: MediaKind::Image,
            mime: "image/png".into(),
            width: size,
            height: size,
            duration_ms: None,
            data: imini::plugins::bindings::types::MediaData::Blob(0),
            text: None,
        };
        let samples = time_n(20_000, || {
            let mut media = declared.clone();
            canvas.accept_output(&mut media, &png).unwrap();
            media
        });
        report(&format!("output check: {label}"), samples, "µs");
    }
}

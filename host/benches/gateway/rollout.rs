//! A section of the gateway bench (see `../gateway.rs`).

#[allow(clippy::wildcard_imports)]
use super::*;

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
pub(super) async fn rollout_figures() {
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

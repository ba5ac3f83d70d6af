//! A section of the gateway bench (see `../gateway.rs`).

#[allow(clippy::wildcard_imports)]
use super::*;
use crate::micro::long_prompt;

/// The latency the content-policy pipeline adds to a request: 64x64
/// canvas images with a 2,000-character prompt, through a gateway with the
/// bundled policies and through one with none (`[moderation] policies =
/// []`), one request at a time, interleaved.
pub(super) async fn moderation_figures() {
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

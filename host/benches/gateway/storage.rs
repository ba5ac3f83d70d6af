//! A section of the gateway bench (see `../gateway.rs`): what one
//! generation costs the store, from the gateway's own counters.

#[allow(clippy::wildcard_imports)]
use super::*;

/// The store's operation counts a gateway logged when it stopped, after an
/// account, two scheduled prices, one warm-up generation and `n` more, one
/// at a time, through the OpenAI face with an account key (billed).
async fn store_ops_after(n: usize) -> [u64; 4] {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("imini.toml"), OPEN_LIMITS).unwrap();
    let log = dir.path().join("imini.log");
    let (mut server, _) = serve_logged(
        &dir.path().join("data"),
        Some(&dir.path().join("imini.toml")),
        Some(&log),
    );
    let client = reqwest::Client::new();
    let key = account_key(&client, &server.base).await;
    // Scheduled prices for the model generated with, one in force and one
    // to come: a price lookup that read the store would count here.
    for (credits, at) in [(10, "2020-01-01T00:00:00Z"), (20, "2099-01-01T00:00:00Z")] {
        let r = client
            .post(format!("{}/admin/v1/prices", server.base))
            .bearer_auth("bench-key")
            .json(&serde_json::json!({"model": "imini/canvas-image", "per_image": credits, "effective_at": at}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    }
    for i in 0..=n {
        let body = serde_json::json!({"prompt": format!("a lantern in the snow {i}"), "size": "256x256", "response_format": "url"});
        let r = client
            .post(format!("{}/v1/images/generations", server.base))
            .bearer_auth(&key)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "{}", r.status());
        r.bytes().await.unwrap();
    }
    // A graceful stop, which logs the counts.
    let pid = server.child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    server.child.wait().unwrap();
    let text = std::fs::read_to_string(&log).unwrap();
    let line = text
        .lines()
        .find(|l| l.contains("imini stopped"))
        .expect("the gateway logs its store operations when it stops");
    ["reads=", "writes=", "removes=", "fsyncs="].map(|field| {
        let at = line.find(field).expect(field) + field.len();
        line[at..]
            .split(|c: char| !c.is_ascii_digit())
            .next()
            .unwrap()
            .parse()
            .unwrap()
    })
}

/// What one generation costs the store, from the gateway's own counters:
/// the difference between a run with 200 more generations and one without,
/// divided by 200.
pub(super) async fn storage_figures() {
    const N: usize = 200;
    let base = store_ops_after(0).await;
    let loaded = store_ops_after(N).await;
    println!(
        "| store operations per generation (OpenAI face, account key, one at a time) | count |"
    );
    println!("|---|---:|");
    for (i, name) in [
        "records read",
        "records written",
        "records removed",
        "fsyncs",
    ]
    .iter()
    .enumerate()
    {
        println!(
            "| {name} | {:.2} |",
            (loaded[i] - base[i]) as f64 / N as f64
        );
    }
    println!();
}

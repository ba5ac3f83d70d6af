//! Generating images through both faces with the bundled canvas provider.

use base64::Engine as _;
use imini_tests::{Gateway, decode_png};
use serde_json::json;

fn openai_b64(gw: &Gateway, body: serde_json::Value) -> Vec<Vec<u8>> {
    let answer = gw.post("/v1/images/generations", &body);
    assert_eq!(
        answer.status,
        200,
        "{}",
        String::from_utf8_lossy(&answer.body)
    );
    let json = answer.json();
    assert!(
        json["id"]
            .as_str()
            .is_some_and(|id| id.starts_with("task_"))
    );
    assert!(json["created"].as_i64().is_some_and(|t| t > 1_700_000_000));
    json["data"]
        .as_array()
        .expect("data")
        .iter()
        .map(|d| {
            base64::engine::general_purpose::STANDARD
                .decode(d["b64_json"].as_str().expect("b64_json"))
                .expect("base64")
        })
        .collect()
}

fn mean_abs_diff(a: &[u8], b: &[u8]) -> f64 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| f64::from(x.abs_diff(*y)))
        .sum::<f64>()
        / a.len() as f64
}

#[test]
fn openai_face_returns_pngs_of_the_requested_size() {
    let gw = Gateway::start();
    let images = openai_b64(
        &gw,
        json!({"model": "imini/canvas-image", "prompt": "a red fox in a snowy forest", "size": "512x320", "n": 2, "response_format": "b64_json"}),
    );
    assert_eq!(images.len(), 2);
    for png in &images {
        let (w, h, _) = decode_png(png);
        assert_eq!((w, h), (512, 320));
    }
    assert_ne!(images[0], images[1], "the n images of one request differ");
}

#[test]
fn openai_face_url_is_a_signed_link_that_works_without_a_key() {
    let gw = Gateway::start();
    let url =
        gw.image_url(&json!({"prompt": "a lighthouse at dusk, watercolor", "size": "256x256"}));
    assert!(
        url.starts_with(&gw.base),
        "{url} is absolute, on the gateway"
    );
    let fetched = gw.get_url(&url);
    assert_eq!(fetched.status, 200);
    assert_eq!(fetched.headers["content-type"], "image/png");
    assert_eq!(decode_png(&fetched.body).0, 256);
    // Tampering with the signature is refused.
    let flipped = if url.ends_with('0') { '1' } else { '0' };
    let tampered = format!("{}{flipped}", &url[..url.len() - 1]);
    let refused = gw.get_url(&tampered);
    assert_eq!(refused.status, 403);
}

#[test]
fn prompts_matter_and_seeds_reproduce() {
    let gw = Gateway::start();
    let generate = |prompt: &str, seed: u64| {
        openai_b64(&gw, json!({"prompt": prompt, "size": "256x256", "seed": seed, "response_format": "b64_json"})).remove(0)
    };
    let a1 = generate("a lighthouse at dusk, watercolor", 7);
    let a2 = generate("a lighthouse at dusk, watercolor", 7);
    let b = generate("neon city at night", 7);
    let a_other_seed = generate("a lighthouse at dusk, watercolor", 8);
    assert_eq!(a1, a2, "same prompt and seed give identical bytes");
    assert_ne!(a1, a_other_seed, "another seed gives another image");
    let (pa, pb) = (decode_png(&a1).2, decode_png(&b).2);
    let diff = mean_abs_diff(&pa, &pb);
    assert!(
        diff > 20.0,
        "different prompts give clearly different pixels (mean abs diff {diff:.1})"
    );
}

#[test]
fn native_face_runs_a_task_and_serves_its_files_to_the_owner() {
    let gw = Gateway::start();
    let answer = gw.post(
        "/v1/images/generate",
        &json!({"model": "imini/canvas-image", "prompt": "green hills under a blue sky", "aspect_ratio": "16:9", "resolution": "1K", "seed": 3}),
    );
    assert_eq!(
        answer.status,
        202,
        "{}",
        String::from_utf8_lossy(&answer.body)
    );
    let submitted = answer.json();
    let task_id = submitted["task_id"].as_str().expect("task_id").to_string();
    assert_eq!(submitted["model"], "imini/canvas-image");
    assert!(["queued", "processing", "succeeded"].contains(&submitted["status"].as_str().unwrap()));
    assert_eq!(
        submitted["request_id"],
        answer.headers["x-request-id"].to_str().unwrap()
    );

    let mut task = serde_json::Value::Null;
    for _ in 0..200 {
        task = gw.get(&format!("/v1/images/tasks/{task_id}")).json();
        if task["status"] == "succeeded" || task["status"] == "failed" {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert_eq!(task["status"], "succeeded", "{task}");
    assert_eq!(task["progress"], 100);
    assert_eq!(task["type"], "image");
    assert!(task["completed_at"].is_string());
    let image = &task["images"][0];
    assert_eq!(
        (image["width"].as_u64(), image["height"].as_u64()),
        (Some(1344), Some(768))
    );
    let file = gw.get(image["url"].as_str().unwrap());
    assert_eq!(file.status, 200);
    assert_eq!(decode_png(&file.body).0, 1344);
    // The generic task route shows the same task.
    assert_eq!(
        gw.get(&format!("/v1/tasks/{task_id}")).json()["task_id"],
        task_id.as_str()
    );
    // The file needs the key (or a signature).
    let anonymous = gw.request_with("GET", image["url"].as_str().unwrap(), None, None);
    assert_eq!(anonymous.status, 401);
}

#[test]
fn models_are_listed_with_capabilities() {
    let gw = Gateway::start();
    let list = gw.get("/v1/models").json();
    assert_eq!(list["object"], "list");
    let ids: Vec<&str> = list["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert!(
        ids.contains(&"imini/canvas-image") && ids.contains(&"imini/canvas-video"),
        "{ids:?}"
    );
    let one = gw.get("/v1/models/imini/canvas-image").json();
    assert_eq!(one["modality"], "image");
    assert_eq!(one["provider"]["plugin"], "canvas");
    assert_eq!(one["capabilities"]["max_n"], 4);
    let plugins = gw.get("/admin/v1/plugins").json();
    let canvas = &plugins["data"][0];
    assert_eq!(
        (
            canvas["name"].as_str(),
            canvas["kind"].as_str(),
            canvas["wit_version"].as_str()
        ),
        (Some("canvas"), Some("provider"), Some("0.2.0"))
    );
    assert_eq!(
        canvas["models"],
        json!(["imini/canvas-image", "imini/canvas-video"])
    );
    let health = gw.request_with("GET", "/healthz", None, None);
    assert_eq!(health.status, 200);
}

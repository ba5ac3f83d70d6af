//! Videos through both faces, cancelling, and task time limits.

use std::time::Duration;

use imini_tests::{Gateway, assert_error, assert_reconciles, guests};
use serde_json::{Value, json};

fn wait_final(gw: &Gateway, path: &str, key: &str) -> Value {
    for _ in 0..200 {
        let t = gw.request_with("GET", path, Some(key), None).json();
        let s = t["status"].as_str().unwrap_or_default().to_string();
        if ["succeeded", "failed", "canceled", "completed"].contains(&s.as_str()) {
            return t;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("{path} did not finish");
}

fn gif_frames(bytes: &[u8]) -> (u16, u16, usize) {
    let mut options = gif::DecodeOptions::new();
    options.set_color_output(gif::ColorOutput::Indexed);
    let mut decoder = options
        .read_info(std::io::Cursor::new(bytes))
        .expect("a GIF");
    let (w, h) = (decoder.width(), decoder.height());
    let mut frames = 0;
    while decoder.read_next_frame().expect("frame").is_some() {
        frames += 1;
    }
    (w, h, frames)
}

#[test]
fn a_native_video_task_is_billed_per_second_and_serves_an_animation() {
    let gw = Gateway::start();
    let acct = gw.account("video@example.com", 100);
    let body = json!({"model": "imini/canvas-video", "prompt": "ocean waves at dawn", "duration": 2, "aspect_ratio": "16:9", "resolution": "360p", "seed": 3});
    let answer = gw.request_with("POST", "/v1/videos/generate", Some(&acct.key), Some(&body));
    assert_eq!(
        answer.status,
        202,
        "{}",
        String::from_utf8_lossy(&answer.body)
    );
    assert_eq!(
        answer.json()["cost"]["credits"],
        10,
        "5 credits a second, 2 seconds"
    );
    let task_id = answer.json()["task_id"].as_str().unwrap().to_string();
    let task = wait_final(&gw, &format!("/v1/videos/tasks/{task_id}"), &acct.key);
    assert_eq!(task["status"], "succeeded", "{task}");
    assert_eq!(task["type"], "video");
    let video = &task["videos"][0];
    assert_eq!(
        (
            video["width"].as_u64(),
            video["height"].as_u64(),
            video["duration"].as_f64()
        ),
        (Some(640), Some(360), Some(2.0))
    );
    let file = gw.request_with("GET", video["url"].as_str().unwrap(), Some(&acct.key), None);
    assert_eq!(file.headers["content-type"], "image/gif");
    let (w, h, frames) = gif_frames(&file.body);
    assert_eq!((w, h), (640, 360));
    assert_eq!(frames, 20, "10 frames a second");
    assert_eq!(
        task["cost"],
        json!({"held": 10, "charged": 10, "refunded": 0})
    );
    assert_eq!(assert_reconciles(&gw, &acct.id), (90, 0));
    // The image route does not show video tasks.
    assert_error(
        &gw.request_with(
            "GET",
            &format!("/v1/images/tasks/{task_id}"),
            Some(&acct.key),
            None,
        ),
        404,
        "TASK_NOT_FOUND",
    );

    let bad = json!({"model": "imini/canvas-video", "prompt": "x", "duration": 7});
    let e = assert_error(
        &gw.request_with("POST", "/v1/videos/generate", Some(&acct.key), Some(&bad)),
        400,
        "INVALID_PARAMETER",
    );
    assert_eq!(e["param"], "duration");
    let image_model = json!({"model": "imini/canvas-image", "prompt": "x"});
    assert_error(
        &gw.request_with(
            "POST",
            "/v1/videos/generate",
            Some(&acct.key),
            Some(&image_model),
        ),
        400,
        "INVALID_PARAMETER",
    );
}

#[test]
fn the_openai_videos_face_creates_polls_lists_and_downloads() {
    let gw = Gateway::start();
    let created = gw.post(
        "/v1/videos",
        &json!({"prompt": "neon city at night", "seconds": "1", "size": "320x180"}),
    );
    assert_eq!(
        created.status,
        200,
        "{}",
        String::from_utf8_lossy(&created.body)
    );
    let video = created.json();
    assert_eq!(video["object"], "video");
    assert_eq!(video["model"], "imini/canvas-video");
    assert_eq!(
        (video["size"].as_str(), video["seconds"].as_str()),
        (Some("320x180"), Some("1"))
    );
    assert!(["queued", "in_progress"].contains(&video["status"].as_str().unwrap()));
    assert!(created.headers.contains_key("openai-poll-after-ms"));
    let id = video["id"].as_str().unwrap().to_string();
    let done = wait_final(&gw, &format!("/v1/videos/{id}"), imini_tests::ADMIN_KEY);
    assert_eq!(done["status"], "completed", "{done}");
    assert_eq!(done["progress"], 100);
    let content = gw.get(&format!("/v1/videos/{id}/content"));
    assert_eq!(content.status, 200);
    assert_eq!(gif_frames(&content.body).0, 320);
    let list = gw.get("/v1/videos").json();
    assert_eq!(list["data"][0]["id"], id.as_str());

    // Multipart, as the SDK sends it with a file.
    let form = reqwest::blocking::multipart::Form::new()
        .text("prompt", "snowy forest")
        .text("seconds", "2")
        .text("size", "256x144");
    let multipart = reqwest::blocking::Client::new()
        .post(format!("{}/v1/videos", gw.base))
        .bearer_auth(imini_tests::ADMIN_KEY)
        .multipart(form)
        .send()
        .unwrap();
    assert_eq!(multipart.status(), 200);
    let m: Value = multipart.json().unwrap();
    assert_eq!(m["seconds"], "2");

    assert_error(
        &gw.get(&format!("/v1/videos/{id}/content?variant=thumbnail")),
        400,
        "UNSUPPORTED_PARAMETER",
    );
    assert_error(
        &gw.get("/v1/videos/task_01a20d1a29117411985b9bcc797cb949"),
        404,
        "NOT_FOUND",
    );
}

fn sandbox_config(extra: &str) -> String {
    format!(
        "[[plugins]]\nwasm = {:?}\nmanifest = {:?}\n[credentials.sandbox-test]\nvalue = \"t\"\n[plugin_settings.sandbox]\ncall_timeout_ms = 5000\n[prices.\"test/loop\"]\nper_image = 4\n{extra}",
        guests::SANDBOX_GUEST_WASM,
        guests::SANDBOX_GUEST_MANIFEST
    )
}

#[test]
fn a_running_task_can_be_canceled_and_its_hold_is_released() {
    let gw = Gateway::start_with_config(&sandbox_config(""));
    let acct = gw.account("cancel@example.com", 50);
    let submitted = gw.request_with(
        "POST",
        "/v1/images/generate",
        Some(&acct.key),
        Some(&json!({"model": "test/loop", "prompt": "spin", "size": "64x64"})),
    );
    let task_id = submitted.json()["task_id"].as_str().unwrap().to_string();
    std::thread::sleep(Duration::from_millis(200));
    let canceled = gw.request_with(
        "POST",
        &format!("/v1/tasks/{task_id}/cancel"),
        Some(&acct.key),
        None,
    );
    assert_eq!(
        canceled.status,
        200,
        "{}",
        String::from_utf8_lossy(&canceled.body)
    );
    let task = canceled.json();
    assert_eq!(task["status"], "canceled");
    assert_eq!(
        task["cost"],
        json!({"held": 4, "charged": 0, "refunded": 4})
    );
    assert_eq!(assert_reconciles(&gw, &acct.id), (50, 0));
    let again = gw.request_with(
        "POST",
        &format!("/v1/tasks/{task_id}/cancel"),
        Some(&acct.key),
        None,
    );
    let e = assert_error(&again, 409, "TASK_NOT_CANCELABLE");
    assert_eq!(e["type"], "conflict_error");
    // Someone else's task does not exist for them.
    let other = gw.account("other@example.com", 0);
    assert_error(
        &gw.request_with(
            "POST",
            &format!("/v1/tasks/{task_id}/cancel"),
            Some(&other.key),
            None,
        ),
        404,
        "TASK_NOT_FOUND",
    );
}

#[test]
fn a_task_past_its_models_time_limit_fails_and_is_refunded() {
    let gw = Gateway::start_with_config(&sandbox_config(
        "[tasks.model_timeouts]\n\"test/loop\" = 1\n",
    ));
    let acct = gw.account("timeout@example.com", 50);
    let submitted = gw.request_with(
        "POST",
        "/v1/images/generate",
        Some(&acct.key),
        Some(&json!({"model": "test/loop", "prompt": "spin", "size": "64x64"})),
    );
    let task_id = submitted.json()["task_id"].as_str().unwrap().to_string();
    let task = wait_final(&gw, &format!("/v1/tasks/{task_id}"), &acct.key);
    assert_eq!(task["status"], "failed");
    assert_eq!(task["error"]["code"], "UPSTREAM_TIMEOUT");
    assert_eq!(task["cost"]["refunded"], 4);
    assert_eq!(assert_reconciles(&gw, &acct.id), (50, 0));
}

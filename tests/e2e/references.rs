//! Reference media: uploads, data: URLs and http(s) URLs reach the plugin
//! as blobs; private addresses and foreign files are refused.

use base64::Engine as _;
use imini_tests::mock::Mock;
use imini_tests::{Gateway, assert_error, guests};
use serde_json::json;

fn png(shade: u8) -> Vec<u8> {
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, 8, 8);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().unwrap();
    writer.write_image_data(&[shade; 8 * 8 * 3]).unwrap();
    writer.finish().unwrap();
    out
}

fn config(allow_private: bool) -> String {
    format!(
        "[[plugins]]\nwasm = {:?}\nmanifest = {:?}\n[credentials.sandbox-test]\nvalue = \"t\"\n[prices.\"test/reference\"]\nper_image = 1\n[network]\nallow_private = {allow_private}\n",
        guests::SANDBOX_GUEST_WASM,
        guests::SANDBOX_GUEST_MANIFEST
    )
}

/// Generates with one reference and returns the output bytes.
fn echo(gw: &Gateway, key: &str, url: &str) -> Vec<u8> {
    let body = json!({"model": "test/reference", "prompt": "echo", "size": "64x64", "images": [{"url": url, "reference_type": "style"}]});
    let id = gw.submit_image(key, &body);
    for _ in 0..100 {
        let task = gw
            .request_with("GET", &format!("/v1/tasks/{id}"), Some(key), None)
            .json();
        if task["status"] == "succeeded" {
            return gw
                .request_with(
                    "GET",
                    task["images"][0]["url"].as_str().unwrap(),
                    Some(key),
                    None,
                )
                .body;
        }
        assert_ne!(task["status"], "failed", "{task}");
        std::thread::sleep(std::time::Duration::from_millis(30));
    }
    panic!("the task did not finish");
}

#[test]
fn uploads_data_urls_and_http_urls_reach_the_plugin() {
    let served = png(90);
    let upstream = Mock::start(200, "image/png", served.clone());
    let gw = Gateway::start_with_config(&config(true));
    let acct = gw.account("refs@example.com", 100);

    let form = reqwest::blocking::multipart::Form::new().part(
        "file",
        reqwest::blocking::multipart::Part::bytes(png(10)).file_name("ref.png"),
    );
    let uploaded = reqwest::blocking::Client::new()
        .post(format!("{}/v1/files", gw.base))
        .bearer_auth(&acct.key)
        .multipart(form)
        .send()
        .unwrap();
    assert_eq!(uploaded.status(), 201);
    let file: serde_json::Value = uploaded.json().unwrap();
    assert_eq!(file["mime_type"], "image/png");
    let file_id = file["id"].as_str().unwrap();
    assert_eq!(echo(&gw, &acct.key, file_id), png(10), "an uploaded file");

    let data_url = format!(
        "data:image/png;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(png(50))
    );
    assert_eq!(echo(&gw, &acct.key, &data_url), png(50), "a data: URL");

    assert_eq!(
        echo(&gw, &acct.key, &format!("{}/ref.png", upstream.url)),
        served,
        "an http URL, fetched by the gateway"
    );

    // Another account cannot use this account's file.
    let other = gw.account("other-refs@example.com", 100);
    let body = json!({"model": "test/reference", "prompt": "x", "size": "64x64", "images": [{"url": file_id}]});
    let e = assert_error(
        &gw.request_with("POST", "/v1/images/generate", Some(&other.key), Some(&body)),
        400,
        "INVALID_PARAMETER",
    );
    assert_eq!(e["param"], "images[0].url");
}

#[test]
fn bad_references_are_refused_before_anything_is_charged() {
    let gw = Gateway::start_with_config(&config(false));
    let acct = gw.account("badrefs@example.com", 100);
    let send = |model: &str, url: &str| {
        let body =
            json!({"model": model, "prompt": "x", "size": "64x64", "images": [{"url": url}]});
        gw.request_with("POST", "/v1/images/generate", Some(&acct.key), Some(&body))
    };
    let e = assert_error(
        &send("test/reference", "http://127.0.0.1:9/secret.png"),
        400,
        "INVALID_PARAMETER",
    );
    assert_eq!(e["param"], "images[0].url");
    assert!(e["message"].as_str().unwrap().contains("private"), "{e}");
    let not_media = format!(
        "data:text/plain;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(b"hello")
    );
    assert_error(
        &send("test/reference", &not_media),
        400,
        "INVALID_PARAMETER",
    );
    assert_error(
        &send("test/reference", "data:image/png;base64,@@@"),
        400,
        "INVALID_PARAMETER",
    );
    // A model that reads no references refuses them.
    let e = assert_error(
        &send("test/hollow", "data:image/png;base64,AAAA"),
        400,
        "UNSUPPORTED_PARAMETER",
    );
    assert_eq!(e["param"], "images");
    assert_eq!(gw.account_view(&acct.id)["credit_balance"], 100);
    assert_eq!(
        gw.request_with("GET", "/v1/tasks", Some(&acct.key), None)
            .json()["data"]
            .as_array()
            .unwrap()
            .len(),
        0
    );
}

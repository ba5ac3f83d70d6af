//! Image edits (`POST /v1/images/edits`, multipart) and references on the
//! video routes, with canvas, whose outputs are visibly derived from the
//! reference: charged like generations, checked by the policies, refused in
//! the error shape without a charge.

use std::time::Duration;

use base64::Engine as _;
use imini_tests::{Gateway, TestAccount, assert_error, decode_png, png};
use reqwest::blocking::multipart::{Form, Part};
use serde_json::json;

/// The price of a canvas image.
const PRICE: i64 = 10;

fn edit(gw: &Gateway, who: &TestAccount, form: Form) -> imini_tests::Answer {
    let response = reqwest::blocking::Client::new()
        .post(format!("{}/v1/images/edits", gw.base))
        .bearer_auth(&who.key)
        .multipart(form)
        .timeout(Duration::from_secs(60))
        .send()
        .unwrap();
    imini_tests::answer(response)
}

fn file(bytes: Vec<u8>, name: &str) -> Part {
    Part::bytes(bytes)
        .file_name(name.to_string())
        .mime_str("image/png")
        .unwrap()
}

/// A PNG: black on the left half, white on the right.
fn halves(width: u32, height: u32) -> Vec<u8> {
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, width, height);
    encoder.set_color(png::ColorType::Rgb);
    let mut writer = encoder.write_header().unwrap();
    let data: Vec<u8> = (0..height)
        .flat_map(|_| {
            (0..width).flat_map(move |x| {
                if x < width / 2 {
                    [0, 0, 0]
                } else {
                    [255, 255, 255]
                }
            })
        })
        .collect();
    writer.write_image_data(&data).unwrap();
    drop(writer);
    out
}

/// The mean brightness of columns `x0..x1`.
fn brightness(rgb: &[u8], width: u32, x0: u32, x1: u32) -> f64 {
    let (mut sum, mut n) = (0u64, 0u64);
    for (i, px) in rgb.chunks_exact(3).enumerate() {
        let x = i as u32 % width;
        if (x0..x1).contains(&x) {
            sum += px.iter().map(|&c| u64::from(c)).sum::<u64>();
            n += 3;
        }
    }
    sum as f64 / n as f64
}

#[test]
fn an_edit_is_derived_from_its_image_and_charged_per_output() {
    let gw = Gateway::start();
    let acct = gw.account("edit@example.com", 100);
    let answer = edit(
        &gw,
        &acct,
        Form::new()
            .part("image", file(halves(64, 64), "halves.png"))
            .text("prompt", "a snowy forest under a blue sky")
            .text("size", "64x64")
            .text("n", "2")
            .text("response_format", "b64_json"),
    );
    assert_eq!(
        answer.status,
        200,
        "{}",
        String::from_utf8_lossy(&answer.body)
    );
    let body = answer.json();
    let images = body["data"].as_array().unwrap();
    assert_eq!(images.len(), 2);
    for image in images {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(image["b64_json"].as_str().unwrap())
            .unwrap();
        let (w, h, rgb) = decode_png(&bytes);
        assert_eq!((w, h), (64, 64));
        // Without a mask, the reference shows through the scene: its dark
        // half stays darker than its light half.
        let (dark, light) = (brightness(&rgb, w, 0, 32), brightness(&rgb, w, 32, 64));
        assert!(light - dark > 100.0, "dark {dark}, light {light}");
    }
    imini_tests::assert_reconciles(&gw, &acct.id);
    assert_eq!(gw.account_view(&acct.id)["credit_balance"], 100 - 2 * PRICE);
    // The same prompt without the image is another picture.
    let plain = gw.request_with(
        "POST",
        "/v1/images/generations",
        Some(&acct.key),
        Some(&json!({"prompt": "a snowy forest under a blue sky", "size": "64x64", "response_format": "b64_json"})),
    );
    let plain = base64::engine::general_purpose::STANDARD
        .decode(plain.json()["data"][0]["b64_json"].as_str().unwrap())
        .unwrap();
    let (_, _, plain) = decode_png(&plain);
    let (dark, light) = (
        brightness(&plain, 64, 0, 32),
        brightness(&plain, 64, 32, 64),
    );
    assert!((light - dark).abs() < 100.0, "dark {dark}, light {light}");
}

#[test]
fn bad_edits_are_refused_in_the_error_shape_without_a_charge() {
    let gw = Gateway::start();
    let acct = gw.account("bad-edit@example.com", 100);
    let form = || {
        Form::new()
            .text("prompt", "a quiet harbour")
            .text("size", "64x64")
    };
    let no_image = assert_error(&edit(&gw, &acct, form()), 400, "INVALID_PARAMETER");
    assert_eq!(no_image["param"], "image");
    let not_an_image = edit(
        &gw,
        &acct,
        form().part("image", Part::bytes(b"hello".to_vec()).file_name("a.txt")),
    );
    let error = assert_error(&not_an_image, 400, "INVALID_PARAMETER");
    assert_eq!(error["param"], "image[0]", "{error}");
    let unknown = edit(
        &gw,
        &acct,
        form()
            .part("image", file(png(8, 8, [1, 2, 3]), "a.png"))
            .text("colour", "blue"),
    );
    assert_error(&unknown, 400, "INVALID_PARAMETER");
    let not_a_number = edit(
        &gw,
        &acct,
        form()
            .part("image", file(png(8, 8, [1, 2, 3]), "a.png"))
            .text("n", "two"),
    );
    assert_eq!(
        assert_error(&not_a_number, 400, "INVALID_PARAMETER")["param"],
        "n"
    );
    // A mask without transparency: canvas cannot tell what to redraw.
    let opaque_mask = edit(
        &gw,
        &acct,
        form()
            .part("image", file(png(8, 8, [1, 2, 3]), "a.png"))
            .part("mask", file(png(8, 8, [0, 0, 0]), "mask.png")),
    );
    let error = assert_error(&opaque_mask, 400, "INVALID_PARAMETER");
    assert!(
        error["message"].as_str().unwrap().contains("alpha"),
        "{error}"
    );
    // The prompt of an edit is checked like any other.
    let refused = edit(
        &gw,
        &acct,
        Form::new()
            .part("image", file(png(8, 8, [1, 2, 3]), "a.png"))
            .text("prompt", "extreme gore, dismembered bodies"),
    );
    assert_error(&refused, 400, "CONTENT_POLICY_VIOLATION");
    imini_tests::assert_reconciles(&gw, &acct.id);
    assert_eq!(gw.account_view(&acct.id)["credit_balance"], 100);
}

#[test]
fn videos_start_from_a_reference_and_native_routes_default_their_model() {
    let gw = Gateway::start();
    let acct = gw.account("video-ref@example.com", 1_000);
    let red = png(16, 16, [230, 20, 20]);
    let data_url = format!(
        "data:image/png;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(&red)
    );
    // OpenAI's route, as JSON: input_reference as a data: URL.
    let video = gw.request_with(
        "POST",
        "/v1/videos",
        Some(&acct.key),
        Some(&json!({"prompt": "ocean waves", "seconds": "1", "size": "320x180", "input_reference": data_url})),
    );
    assert_eq!(
        video.status,
        200,
        "{}",
        String::from_utf8_lossy(&video.body)
    );
    let id = video.json()["id"].as_str().unwrap().to_string();
    // The native route without a model: the default video model.
    let native = gw.request_with(
        "POST",
        "/v1/videos/generate",
        Some(&acct.key),
        Some(&json!({"prompt": "ocean waves", "duration": 1, "reference_images": [{"url": data_url, "reference_type": "first-frame"}]})),
    );
    assert_eq!(
        native.status,
        202,
        "{}",
        String::from_utf8_lossy(&native.body)
    );
    assert_eq!(native.json()["model"], "imini/canvas-video");
    let native_image = gw.request_with(
        "POST",
        "/v1/images/generate",
        Some(&acct.key),
        Some(&json!({"prompt": "a quiet harbour", "size": "64x64"})),
    );
    assert_eq!(native_image.status, 202);
    assert_eq!(native_image.json()["model"], "imini/canvas-image");
    let tasks = gw.tasks_when_all(&acct.key, "succeeded");
    assert!(
        tasks.iter().all(|t| t["status"] == "succeeded"),
        "{tasks:?}"
    );
    let content = gw.request_with(
        "GET",
        &format!("/v1/videos/{id}/content"),
        Some(&acct.key),
        None,
    );
    assert_eq!(content.status, 200);
    let mut options = gif::DecodeOptions::new();
    options.set_color_output(gif::ColorOutput::RGBA);
    let mut decoder = options.read_info(content.body.as_slice()).unwrap();
    let first = decoder.read_next_frame().unwrap().unwrap().buffer.to_vec();
    let mut middle = first.clone();
    let mut frames = 1;
    while let Some(frame) = decoder.read_next_frame().unwrap() {
        frames += 1;
        if frames == 6 {
            middle = frame.buffer.to_vec();
        }
    }
    let reddish = |rgba: &[u8]| {
        rgba.chunks_exact(4)
            .filter(|p| {
                i32::from(p[0]) > i32::from(p[1]) + 80 && i32::from(p[0]) > i32::from(p[2]) + 80
            })
            .count() as f64
            / (rgba.len() / 4) as f64
    };
    assert!(
        reddish(&first) > 0.9,
        "the first frame is the reference: {}",
        reddish(&first)
    );
    assert!(
        reddish(&middle) < reddish(&first),
        "it drifts into the scene"
    );
}

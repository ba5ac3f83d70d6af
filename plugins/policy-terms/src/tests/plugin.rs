//! The plugin's glue: which parts of a request and of its outputs are
//! checked, and image blocklisting.

use serde_json::json;

use imini_sdk::imaging;
use imini_sdk::{
    Action, GenerationRequest, Media, MediaData, MediaKind, PluginError, Reference, Size,
};

use crate::{Config, Rules, check_output_with, check_request_with};

fn request(prompt: &str) -> GenerationRequest {
    GenerationRequest {
        size: Size::new(512, 512),
        ..GenerationRequest::image("imini/canvas-image", prompt)
    }
}

fn no_blobs(_: u64) -> Result<Vec<u8>, PluginError> {
    panic!("no blob should be read")
}

/// A 64 x 48 PNG: a horizontal ramp, bright on the `bright_left` side.
fn ramp_png(bright_left: bool) -> Vec<u8> {
    let (w, h) = (64u32, 48u32);
    let mut data = Vec::new();
    for _ in 0..h {
        for x in 0..w {
            let v = (x * 255 / (w - 1)) as u8;
            data.push(if bright_left { 255 - v } else { v });
        }
    }
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, w, h);
        enc.set_color(png::ColorType::Grayscale);
        let mut writer = enc.write_header().unwrap();
        writer.write_image_data(&data).unwrap();
    }
    out
}

fn blocklisting(hash: u64) -> Rules {
    let config = json!({"image_blocklist": [
        {"hash": imaging::hash_hex(hash), "category": "sexual_minors", "label": "known-bad-1"}
    ]});
    Rules::build(&Config::from_json(config).unwrap()).unwrap()
}

#[test]
fn negative_prompt_is_not_checked() {
    let negative = "gore, beheading, nude children";
    let mut req = request("a peaceful meadow");
    req.negative_prompt = Some(negative.into());
    req.extra_params =
        json!({"negative_prompt": negative, "negativePrompt": [negative]}).to_string();
    let v = check_request_with(&Rules::defaults(), &req, &mut no_blobs).unwrap();
    assert_eq!(v.action, Action::Allow, "{v:?}");
    // The same words in the prompt are denied.
    let v = check_request_with(&Rules::defaults(), &request(negative), &mut no_blobs).unwrap();
    assert_eq!(v.action, Action::Deny);
}

#[test]
fn a_negative_prompt_that_removes_clothing_counts_as_nudity_with_the_prompt() {
    let with = |prompt: &str, negative: &str| {
        let mut req = request(prompt);
        req.negative_prompt = Some(negative.into());
        check_request_with(&Rules::defaults(), &req, &mut no_blobs).unwrap()
    };
    let v = with("a 10 year old girl at the beach", "clothes, swimsuit");
    assert_eq!(v.action, Action::Deny, "{v:?}");
    assert_eq!(v.category.as_deref(), Some("sexual_minors"));
    assert_eq!(
        with("little boy in a bedroom", "Shirt, PANTS").action,
        Action::Deny
    );
    assert_eq!(
        with("little boy in a bedroom", "blurry, (clothes:1.4)").action,
        Action::Deny
    );
    // A garment with words around it keeps out something else.
    assert_eq!(
        with(
            "a child's portrait in a studio",
            "modern clothing, clothing logos"
        )
        .action,
        Action::Allow
    );
    // Without a minor or a real person, or with an ordinary negative
    // prompt, it passes.
    assert_eq!(
        with("a marble statue in a museum", "clothes").action,
        Action::Allow
    );
    assert_eq!(
        with(
            "a 10 year old girl at the beach",
            "blurry, extra fingers, watermark"
        )
        .action,
        Action::Allow
    );
    assert_eq!(
        with("kids building a sandcastle", "low quality").action,
        Action::Allow
    );
}

#[test]
fn extra_params_strings_are_checked_recursively() {
    let mut req = request("a portrait");
    req.extra_params =
        json!({"style": {"presets": ["cinematic", "beheading scene"]}, "n": 2}).to_string();
    let v = check_request_with(&Rules::defaults(), &req, &mut no_blobs).unwrap();
    assert_eq!(v.action, Action::Deny);
    assert_eq!(v.category.as_deref(), Some("violence"));

    // Combinations span the prompt and the parameters.
    let mut req = request("a child on a bed");
    req.extra_params = json!({"style": "nude"}).to_string();
    let v = check_request_with(&Rules::defaults(), &req, &mut no_blobs).unwrap();
    assert_eq!(v.category.as_deref(), Some("sexual_minors"));

    // Phrases do not span them.
    let mut req = request("a fresh pipe");
    req.extra_params = json!({"x": "bomb pop ice cream"}).to_string();
    let v = check_request_with(&Rules::defaults(), &req, &mut no_blobs).unwrap();
    assert_eq!(v.action, Action::Allow, "{v:?}");
}

#[test]
fn benign_request_is_allowed_with_no_reason() {
    let v = check_request_with(
        &Rules::defaults(),
        &request("a red fox in the snow"),
        &mut no_blobs,
    )
    .unwrap();
    assert_eq!(
        (v.action, v.category, v.reason),
        (Action::Allow, None, None)
    );
}

#[test]
fn blocklisted_reference_image_is_denied() {
    let png = ramp_png(true);
    let rules = blocklisting(imaging::dhash(&png).unwrap() ^ 0b101); // 2 bits off
    let mut req = request("make it look like a painting");
    req.references.push(Reference {
        kind: MediaKind::Image,
        role: "style".into(),
        mime: "image/png".into(),
        url: None,
        data: 7,
    });
    let mut read = |h: u64| {
        assert_eq!(h, 7);
        Ok(png.clone())
    };
    let v = check_request_with(&rules, &req, &mut read).unwrap();
    assert_eq!(v.action, Action::Deny);
    assert_eq!(v.category.as_deref(), Some("sexual_minors"));
    let reason = v.reason.unwrap();
    assert!(
        reason.contains("within 2 of blocklist entry \"known-bad-1\""),
        "{reason}"
    );
    assert!(
        reason.starts_with("reference image 1: image hash "),
        "{reason}"
    );

    // A different image passes, and so does an undecodable one.
    let mut other = |_| Ok(ramp_png(false));
    assert_eq!(
        check_request_with(&rules, &req, &mut other).unwrap().action,
        Action::Allow
    );
    let mut junk = |_| Ok(b"not an image".to_vec());
    assert_eq!(
        check_request_with(&rules, &req, &mut junk).unwrap().action,
        Action::Allow
    );
}

#[test]
fn outputs_text_and_images_are_checked() {
    let png = ramp_png(true);
    let rules = blocklisting(imaging::dhash(&png).unwrap());
    let mut fine = Media::image("image/png", 64, 48, MediaData::Bytes(ramp_png(false)));
    fine.text = Some("a red fox in the snow".into());
    assert_eq!(
        check_output_with(&rules, &[fine.clone()], &mut no_blobs)
            .unwrap()
            .action,
        Action::Allow
    );

    let inline = Media::image("image/png", 64, 48, MediaData::Bytes(png.clone()));
    let v = check_output_with(&rules, &[fine.clone(), inline], &mut no_blobs).unwrap();
    assert_eq!(v.action, Action::Deny);
    assert!(v.reason.unwrap().starts_with("output 2: image hash"));

    let blob = Media::image("image/png", 64, 48, MediaData::Blob(3));
    let mut read = |_| Ok(png.clone());
    assert_eq!(
        check_output_with(&rules, &[blob], &mut read)
            .unwrap()
            .action,
        Action::Deny
    );

    // URLs are not fetched; other media types are not hashed.
    let url = Media::image(
        "image/png",
        64,
        48,
        MediaData::Url("https://x.example/a.png".into()),
    );
    let video = Media::video("video/mp4", 64, 48, 1000, MediaData::Bytes(png.clone()));
    assert_eq!(
        check_output_with(&rules, &[url, video], &mut no_blobs)
            .unwrap()
            .action,
        Action::Allow
    );

    let mut captioned = fine;
    captioned.text = Some("revised prompt: a beheading".into());
    let v = check_output_with(&Rules::defaults(), &[captioned], &mut no_blobs).unwrap();
    assert_eq!(
        (v.action, v.category.as_deref()),
        (Action::Deny, Some("violence"))
    );
}

#[test]
fn describe_lists_the_categories() {
    let info = crate::info();
    assert_eq!(info.name, "policy-terms");
    assert_eq!(
        info.categories,
        [
            "sexual_minors",
            "violence",
            "terrorism",
            "self_harm",
            "hate",
            "deepfake",
            "fraud",
            "ip_infringement"
        ]
    );
}

#[test]
fn never_panics_on_odd_input() {
    let rules = Rules::defaults();
    let odd = [
        "",
        " ",
        "\u{0}",
        "🙂🙂🙂",
        "a\u{301}\u{301}\u{301}",
        "\u{FEFF}\u{200B}",
        "ǅ",
        "İstanbul",
        "ﬁ ﬂ",
        "1 2 3 4 5 6 7 8 9 0",
        "!!!!@@@@$$$$||||",
        "a b c d e f g h",
        "99999999999999999999999999 year old",
        "猫 の 写真",
        "كلب",
        "x".repeat(10_000).as_str(),
    ]
    .map(String::from);
    for text in odd {
        let mut req = request(&text);
        req.extra_params = text.clone();
        let _ = check_request_with(&rules, &req, &mut no_blobs).unwrap();
    }
}

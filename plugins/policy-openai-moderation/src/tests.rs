//! What is sent, how OpenAI's answer is read and judged, and the
//! configuration's checks, natively (no host).

use imini_sdk::{
    Action, ErrorKind, GenerationRequest, Media, MediaData, MediaKind, PluginError, Reference, http,
};
use serde_json::{Value, json};

use crate::config::CATEGORIES;
use crate::{
    Config, Item, ModerationCall, body, check, judge, output_calls, parse_scores, request_calls,
};

fn config(value: Value) -> Config {
    Config::from_json(&value).unwrap()
}

fn defaults() -> Config {
    config(json!({}))
}

/// An answer in OpenAI's documented shape, every category at `low` except
/// those given.
fn answer(high: &[(&str, f64)]) -> Value {
    let mut scores = serde_json::Map::new();
    let mut flags = serde_json::Map::new();
    let mut types = serde_json::Map::new();
    for c in CATEGORIES {
        let score = high
            .iter()
            .find(|(n, _)| *n == c.name)
            .map_or(0.000_12, |(_, s)| *s);
        scores.insert(c.name.into(), json!(score));
        flags.insert(c.name.into(), json!(score > 0.5));
        types.insert(c.name.into(), json!(["text"]));
    }
    json!({
        "id": "modr-970d409ef3bef3b70c73d8232df86e7d",
        "model": "omni-moderation-2024-09-26",
        "results": [{
            "flagged": flags.values().any(|f| f == &json!(true)),
            "categories": flags,
            "category_scores": scores,
            "category_applied_input_types": types,
        }]
    })
}

fn scores(high: &[(&str, f64)]) -> crate::Scores {
    parse_scores(answer(high).to_string().as_bytes()).unwrap()
}

fn png(tag: u8) -> Vec<u8> {
    let mut bytes = b"\x89PNG\r\n\x1a\n".to_vec();
    bytes.push(tag);
    bytes
}

fn blobs(handle: u64) -> Result<Vec<u8>, PluginError> {
    Ok(png(handle as u8))
}

fn reference(kind: MediaKind, mime: &str, data: u64) -> Reference {
    Reference {
        kind,
        role: "style".into(),
        mime: mime.into(),
        url: None,
        data,
    }
}

fn config_error(value: Value) -> PluginError {
    match Config::from_json(&value) {
        Ok(c) => panic!("{value} is accepted: {c:?}"),
        Err(e) => e,
    }
}

#[test]
fn the_defaults_check_every_category_with_a_lower_bar_for_minors() {
    let c = defaults();
    assert_eq!(c.api.base_url, "https://api.openai.com");
    assert_eq!(c.api.timeout_ms, 5_000);
    assert_eq!(c.model, "omni-moderation-latest");
    assert!(c.check_negative_prompt);
    assert_eq!(c.rules.len(), 13);
    for rule in &c.rules {
        let expected = if rule.name == "sexual/minors" {
            0.2
        } else {
            0.5
        };
        assert_eq!(rule.deny_at, expected, "{}", rule.name);
        assert_eq!(rule.flag_at, None);
    }
    assert_eq!(
        c.categories(),
        [
            "sexual",
            "sexual_minors",
            "harassment",
            "violence",
            "hate",
            "illicit",
            "self_harm"
        ]
    );
    // Null is no configuration.
    assert_eq!(Config::from_json(&Value::Null).unwrap(), c);
}

#[test]
fn settings_are_read_and_every_bad_one_names_its_key() {
    let c = config(json!({
        "base_url": "http://127.0.0.1:9/v1/", "timeout_ms": 900, "model": "omni-moderation-2024-09-26",
        "check_negative_prompt": false,
        "categories": {
            "violence": {"deny_at": 0.8, "flag_at": 0.3},
            "sexual": {"enabled": false},
            "harassment": {"category": "hate"},
        }
    }));
    assert_eq!(
        (c.api.base_url.as_str(), c.api.timeout_ms),
        ("http://127.0.0.1:9", 900)
    );
    assert_eq!(c.model, "omni-moderation-2024-09-26");
    assert!(!c.check_negative_prompt);
    assert_eq!(c.rules.len(), 12, "sexual is off");
    let violence = c.rules.iter().find(|r| r.name == "violence").unwrap();
    assert_eq!((violence.deny_at, violence.flag_at), (0.8, Some(0.3)));
    let harassment = c.rules.iter().find(|r| r.name == "harassment").unwrap();
    assert_eq!(harassment.category, "hate");
    assert!(!c.categories().contains(&"sexual".to_string()));

    for (value, param, says) in [
        (
            json!({"categories": {"violence": {"deny_at": 1.5}}}),
            "categories.violence.deny_at",
            "must be a number above 0 and at most 1 (got 1.5)",
        ),
        (
            json!({"categories": {"sexual/minors": {"deny_at": 0}}}),
            "categories.sexual/minors.deny_at",
            "must be a number above 0 and at most 1 (got 0)",
        ),
        (
            json!({"categories": {"hate": {"deny_at": "high"}}}),
            "categories.hate.deny_at",
            "must be a number above 0 and at most 1",
        ),
        (
            json!({"categories": {"hate": {"flag_at": 0.6}}}),
            "categories.hate.flag_at",
            "must be below deny_at (0.5)",
        ),
        (
            json!({"categories": {"hate": {"deny_at": 0.3, "flag_at": 0.3}}}),
            "categories.hate.flag_at",
            "must be below deny_at (0.3)",
        ),
        (
            json!({"categories": {"gore": {"deny_at": 0.3}}}),
            "categories.gore",
            "is not one of OpenAI's categories",
        ),
        (
            json!({"categories": {"hate": {"deny": 0.3}}}),
            "categories.hate.deny",
            "is not a category setting",
        ),
        (
            json!({"categories": {"hate": {"enabled": "no"}}}),
            "categories.hate.enabled",
            "must be true or false",
        ),
        (
            json!({"categories": {"hate": {"category": "Hate Speech"}}}),
            "categories.hate.category",
            "must be a category name",
        ),
        (
            json!({"categories": {"hate": 0.3}}),
            "categories.hate",
            "must be a table",
        ),
        (
            json!({"categories": ["hate"]}),
            "categories",
            "must be a table",
        ),
        (
            json!({"threshold": 0.3}),
            "threshold",
            "is not a setting of this policy",
        ),
        (
            json!({"base_url": "api.openai.com"}),
            "base_url",
            "must be an http(s) URL",
        ),
        (
            json!({"timeout_ms": 0}),
            "timeout_ms",
            "must be a positive whole number",
        ),
        (json!({"model": ""}), "model", "must be a non-empty string"),
        (
            json!({"check_negative_prompt": "yes"}),
            "check_negative_prompt",
            "must be true or false",
        ),
    ] {
        let e = config_error(value.clone());
        assert_eq!(e.kind, ErrorKind::InvalidRequest, "{value}");
        assert!(
            e.message
                .starts_with(&format!("plugin configuration: {param} ")),
            "{value}: {}",
            e.message
        );
        assert!(e.message.contains(says), "{value}: {}", e.message);
        assert_eq!(
            e.details.and_then(|d| d.param).as_deref(),
            Some(param),
            "{value}"
        );
    }
}

#[test]
fn a_request_is_sent_as_text_and_one_image_a_call() {
    let mut req = GenerationRequest::image("imini/canvas-image", "  a fox in the snow ");
    req.negative_prompt = Some("blurry, text".into());
    req.references = vec![
        reference(MediaKind::Image, "image/png", 1),
        reference(MediaKind::Video, "video/mp4", 2),
        reference(MediaKind::Image, "image/jpeg", 3),
    ];
    let calls = request_calls(&defaults(), &req, &mut blobs).unwrap();
    let data = |tag: u8, mime: &str| imini_sdk::media::data_url(mime, &png(tag));
    assert_eq!(
        calls,
        [
            ModerationCall {
                what: "the prompt with its negative prompt and reference image 1".into(),
                items: vec![
                    Item::Text("a fox in the snow\n\nNegative prompt: blurry, text".into()),
                    Item::Image(data(1, "image/png")),
                ],
            },
            ModerationCall {
                what: "reference image 3".into(),
                items: vec![Item::Image(data(3, "image/jpeg"))],
            },
        ]
    );
    assert_eq!(
        body(&defaults(), &calls[0]),
        json!({"model": "omni-moderation-latest", "input": [
            {"type": "text", "text": "a fox in the snow\n\nNegative prompt: blurry, text"},
            {"type": "image_url", "image_url": {"url": data(1, "image/png")}},
        ]})
    );

    // The negative prompt can stay out; a plain prompt is one text call.
    let quiet = config(json!({"check_negative_prompt": false}));
    let mut plain = GenerationRequest::image("imini/canvas-image", "a fox");
    plain.negative_prompt = Some("gore".into());
    assert_eq!(
        request_calls(&quiet, &plain, &mut blobs).unwrap(),
        [ModerationCall {
            what: "the prompt".into(),
            items: vec![Item::Text("a fox".into())]
        }]
    );
}

#[test]
fn outputs_are_sent_as_their_text_and_images_from_bytes_blobs_or_urls() {
    let mut first = Media::image("image/png", 0, 0, MediaData::Blob(7));
    first.text = Some("a revised prompt".into());
    let outputs = vec![
        first,
        Media::image("image/webp", 0, 0, MediaData::Bytes(png(8))),
        Media::video("video/mp4", 64, 64, 1_000, MediaData::Blob(9)),
        Media::image(
            "image/png",
            0,
            0,
            MediaData::Url("https://x.test/o.png".into()),
        ),
    ];
    let calls = output_calls(&outputs, &mut blobs).unwrap();
    assert_eq!(
        calls,
        [
            ModerationCall {
                what: "the outputs' text and output 1".into(),
                items: vec![
                    Item::Text("a revised prompt".into()),
                    Item::Image(imini_sdk::media::data_url("image/png", &png(7))),
                ],
            },
            ModerationCall {
                what: "output 2".into(),
                items: vec![Item::Image(imini_sdk::media::data_url(
                    "image/webp",
                    &png(8)
                ))],
            },
            ModerationCall {
                what: "output 4".into(),
                items: vec![Item::Image("https://x.test/o.png".into())],
            },
        ]
    );
    // A video alone: nothing OpenAI reads, no call.
    let video = [Media::video("video/mp4", 64, 64, 1_000, MediaData::Blob(9))];
    assert!(output_calls(&video, &mut blobs).unwrap().is_empty());
}

#[test]
fn the_documented_answer_is_read_and_anything_else_is_an_error() {
    let s = scores(&[("violence", 0.91)]);
    assert_eq!(s.model.as_deref(), Some("omni-moderation-2024-09-26"));
    assert_eq!(s.scores.len(), 13);
    assert_eq!(s.scores["violence"], 0.91);

    // Several results: each category's highest score counts.
    let mut two = answer(&[("hate", 0.7)]);
    let second = answer(&[("violence", 0.6)])["results"][0].clone();
    two["results"].as_array_mut().unwrap().push(second);
    let s = parse_scores(two.to_string().as_bytes()).unwrap();
    assert_eq!((s.scores["hate"], s.scores["violence"]), (0.7, 0.6));

    for (body, says) in [
        ("<html>bad gateway</html>".to_string(), "not JSON"),
        (json!({"id": "x"}).to_string(), "no results"),
        (json!({"results": []}).to_string(), "no results"),
        (
            json!({"results": [{"flagged": false}]}).to_string(),
            "without category_scores",
        ),
        (
            json!({"results": [{"category_scores": {"hate": "low"}}]}).to_string(),
            "score of hate",
        ),
        (
            json!({"results": [{"category_scores": {"hate": 1.5}}]}).to_string(),
            "not between 0 and 1",
        ),
    ] {
        let e = parse_scores(body.as_bytes()).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Upstream, "{body}");
        assert!(e.message.contains(says), "{body}: {}", e.message);
    }
}

#[test]
fn scores_are_judged_against_each_categorys_thresholds() {
    let c = defaults();
    assert_eq!(judge(&c, "the prompt", &scores(&[])).unwrap(), None);
    // Under the threshold passes; at or over it refuses, as our category.
    assert_eq!(
        judge(&c, "the prompt", &scores(&[("violence/graphic", 0.49)])).unwrap(),
        None
    );
    let f = judge(&c, "the prompt", &scores(&[("violence/graphic", 0.5)]))
        .unwrap()
        .unwrap();
    assert!(f.deny);
    assert_eq!(f.category, "violence");
    assert_eq!(
        f.reason,
        "OpenAI moderation (omni-moderation-2024-09-26) on the prompt: violence/graphic scored 0.500, refused at 0.5"
    );
    // The minors' lower bar.
    let f = judge(&c, "x", &scores(&[("sexual/minors", 0.25)]))
        .unwrap()
        .unwrap();
    assert_eq!((f.deny, f.category.as_str()), (true, "sexual_minors"));
    // The strongest refusal names the verdict.
    let f = judge(
        &c,
        "x",
        &scores(&[("hate", 0.6), ("self-harm/intent", 0.95), ("illicit", 0.7)]),
    )
    .unwrap()
    .unwrap();
    assert_eq!(f.category, "self_harm");

    // A flag band under a raised bar.
    let banded = config(json!({"categories": {"violence": {"deny_at": 0.8, "flag_at": 0.4}}}));
    assert_eq!(
        judge(&banded, "x", &scores(&[("violence", 0.39)])).unwrap(),
        None
    );
    let f = judge(&banded, "x", &scores(&[("violence", 0.7)]))
        .unwrap()
        .unwrap();
    assert_eq!((f.deny, f.category.as_str()), (false, "violence"));
    assert!(f.reason.contains("flagged at 0.4"), "{}", f.reason);
    assert!(
        judge(&banded, "x", &scores(&[("violence", 0.8)]))
            .unwrap()
            .unwrap()
            .deny
    );
    // A refusal elsewhere beats a stronger flag.
    let f = judge(&banded, "x", &scores(&[("violence", 0.79), ("hate", 0.55)]))
        .unwrap()
        .unwrap();
    assert_eq!((f.deny, f.category.as_str()), (true, "hate"));

    // A checked category the answer does not score fails; a disabled one
    // is not needed.
    let mut partial = scores(&[]);
    partial.scores.remove("illicit");
    let e = judge(&c, "x", &partial).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Upstream);
    assert!(
        e.message.contains("categories.illicit.enabled = false"),
        "{}",
        e.message
    );
    let without = config(json!({"categories": {"illicit": {"enabled": false}}}));
    assert_eq!(judge(&without, "x", &partial).unwrap(), None);
}

fn reply(status: u16, body: Value) -> http::Response {
    http::Response::new(status, &[], body.to_string())
}

fn two_images() -> Vec<ModerationCall> {
    let mut req = GenerationRequest::image("m/x", "a prompt");
    req.references = vec![
        reference(MediaKind::Image, "image/png", 1),
        reference(MediaKind::Image, "image/png", 2),
    ];
    request_calls(&defaults(), &req, &mut blobs).unwrap()
}

#[test]
fn a_check_stops_at_the_first_refusal_and_fails_closed_on_any_other_answer() {
    let calls = two_images();
    assert_eq!(calls.len(), 2);

    let mut sent = Vec::new();
    let v = check(&defaults(), &calls, &mut |b| {
        sent.push(b.clone());
        Ok(reply(200, answer(&[])))
    })
    .unwrap();
    assert_eq!(v.action, Action::Allow);
    assert_eq!(sent.len(), 2, "every image is checked");

    let mut sent = 0;
    let v = check(&defaults(), &calls, &mut |_| {
        sent += 1;
        Ok(reply(200, answer(&[("violence", 0.97)])))
    })
    .unwrap();
    assert_eq!(
        (v.action, v.category.as_deref()),
        (Action::Deny, Some("violence"))
    );
    assert_eq!(sent, 1, "the first refusal ends the check");
    assert!(
        v.reason
            .unwrap()
            .contains("on the prompt and reference image 1")
    );

    // A flag on the second image is kept.
    let banded = config(json!({"categories": {"hate": {"flag_at": 0.2}}}));
    let mut n = 0;
    let v = check(&banded, &calls, &mut |_| {
        n += 1;
        Ok(reply(
            200,
            answer(if n == 2 { &[("hate", 0.3)] } else { &[] }),
        ))
    })
    .unwrap();
    assert_eq!(
        (v.action, v.category.as_deref()),
        (Action::Flag, Some("hate"))
    );
    assert!(v.reason.unwrap().contains("reference image 2"));

    // Rate limits, server errors, refused keys, timeouts and unreadable
    // answers are errors: the gateway refuses (fail closed).
    let openai_error =
        |m: &str| json!({"error": {"message": m, "type": "x", "param": null, "code": null}});
    for (response, kind) in [
        (
            reply(429, openai_error("Rate limit reached")),
            ErrorKind::RateLimited,
        ),
        (
            reply(500, openai_error("The server had an error")),
            ErrorKind::Upstream,
        ),
        (reply(503, json!("overloaded")), ErrorKind::Upstream),
        (
            reply(401, openai_error("Incorrect API key")),
            ErrorKind::Unauthorized,
        ),
        (reply(200, json!({"results": "none"})), ErrorKind::Upstream),
        (
            http::Response::new(200, &[], "{\"results\": ["),
            ErrorKind::Upstream,
        ),
    ] {
        let status = response.status;
        let e = check(&defaults(), &calls, &mut |_| Ok(response.clone())).unwrap_err();
        assert_eq!(e.kind, kind, "{status}: {}", e.message);
        assert!(e.message.starts_with("OpenAI moderation"), "{}", e.message);
    }
    let e = check(&defaults(), &calls, &mut |_| {
        Err(PluginError::new(ErrorKind::Timeout, "upstream timed out"))
    })
    .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Timeout);
    // OpenAI's message is kept for the operator.
    let e = check(&defaults(), &calls, &mut |_| {
        Ok(reply(
            429,
            openai_error("Rate limit reached for omni-moderation"),
        ))
    })
    .unwrap_err();
    assert!(
        e.message.contains("Rate limit reached for omni-moderation"),
        "{}",
        e.message
    );
}

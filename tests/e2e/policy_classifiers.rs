//! The classifier policies through the gateway, against loopback mocks
//! speaking each classifier's documented wire format:
//! `policy-openai-moderation` (OpenAI's `POST /v1/moderations`, the
//! multi-modal input form, scores per category) and `policy-llama-guard`
//! (Llama Guard 3 behind an OpenAI-compatible `POST /v1/chat/completions`,
//! answering `safe` or `unsafe` and hazard codes). Chained after
//! `policy-terms`, each refuses what only it catches, with its category and
//! nothing charged; thresholds and hazard actions follow the configuration;
//! output images reach OpenAI's check; and every answer that is not a
//! verdict (429, 500, a stall past the timeout, malformed JSON, unknown
//! text) refuses the request (fail closed). Both are bundled but wait
//! until asked for. Llama Guard's own tests are in policy_llama_guard.rs,
//! with the helpers here.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine as _;
use imini_tests::mock::{Mock, Received, Reply};
use imini_tests::{Answer, Gateway, TestAccount, assert_error};
use serde_json::{Value, json};

const OPENAI_KEY: &str = "sk-moderation-test-0001";
pub(crate) const LLAMA_KEY: &str = "lg-test-key-0002";
/// The classifiers' HTTP timeout in these gateways; how long a stalling
/// mock waits, well past it and past the policies' deadlines (3 s here, 2 s
/// by default); and how long a refusal may take, under the stall with room
/// for a busy machine.
pub(crate) const TIMEOUT_MS: u64 = 1_000;
pub(crate) const STALL: Duration = Duration::from_secs(8);
const WITHIN: Duration = Duration::from_secs(6);

/// OpenAI's documented moderation categories.
const CATEGORIES: [&str; 13] = [
    "sexual",
    "sexual/minors",
    "harassment",
    "harassment/threatening",
    "hate",
    "hate/threatening",
    "illicit",
    "illicit/violent",
    "self-harm",
    "self-harm/intent",
    "self-harm/instructions",
    "violence",
    "violence/graphic",
];

/// Prompts the mock OpenAI scores high in one category (every other
/// category scores next to nothing). None of them is one `policy-terms`
/// refuses.
const SCORED: &[(&str, &str, f64)] = &[
    ("an orchard at noon", "violence/graphic", 0.93),
    ("a crowded market", "violence", 0.79),
    ("a stormy market", "violence", 0.81),
    ("a sleepy market", "violence", 0.39),
    ("a portrait in a garden", "sexual/minors", 0.21),
    ("a portrait in a field", "sexual/minors", 0.19),
];

/// OpenAI's answer, in its documented shape, with `high` scores.
fn moderation_answer(high: &[(&str, f64)]) -> Value {
    let score = |c: &str| {
        high.iter()
            .find(|(n, _)| *n == c)
            .map_or(0.000_031, |(_, s)| *s)
    };
    let map = |f: &dyn Fn(&str) -> Value| -> serde_json::Map<String, Value> {
        CATEGORIES.iter().map(|c| (c.to_string(), f(c))).collect()
    };
    json!({
        "id": "modr-5558",
        "model": "omni-moderation-2024-09-26",
        "results": [{
            "flagged": CATEGORIES.iter().any(|c| score(c) > 0.5),
            "categories": map(&|c| json!(score(c) > 0.5)),
            "category_scores": map(&|c| json!(score(c))),
            "category_applied_input_types": map(&|c| if c == "sexual/minors" { json!(["text"]) } else { json!(["text", "image"]) }),
        }]
    })
}

pub(crate) fn openai_error(status: u16, message: &str, kind: &str) -> Reply {
    Reply::json(
        status,
        &json!({"error": {"message": message, "type": kind, "param": null, "code": null}}),
    )
}

/// A request's text item and images (decoded from their `data:` URLs).
fn moderation_input(r: &Received) -> (Option<String>, Vec<Vec<u8>>) {
    let body = r.json();
    let mut text = None;
    let mut images = Vec::new();
    for item in body["input"].as_array().into_iter().flatten() {
        match item["type"].as_str() {
            Some("text") => text = item["text"].as_str().map(str::to_string),
            Some("image_url") => {
                let url = item["image_url"]["url"].as_str().unwrap_or_default();
                let b64 = url
                    .strip_prefix("data:image/png;base64,")
                    .unwrap_or_else(|| panic!("not a PNG data: URL: {url:.60}"));
                images.push(
                    base64::engine::general_purpose::STANDARD
                        .decode(b64)
                        .unwrap(),
                );
            }
            other => panic!("unknown input item type {other:?}"),
        }
    }
    (text, images)
}

/// A mock of OpenAI's moderation endpoint: [`SCORED`] prompts score high,
/// the `faults` prompts fail in their way, images in `bad_images` score
/// high for graphic violence, and everything else scores next to nothing.
fn openai_mock(bad_images: Arc<Mutex<Vec<Vec<u8>>>>) -> Mock {
    Mock::with_handler(move |r| {
        if (r.method.as_str(), r.path.as_str()) != ("POST", "/v1/moderations") {
            return openai_error(404, "Unknown request URL", "invalid_request_error");
        }
        let (text, images) = moderation_input(r);
        let text = text.unwrap_or_default();
        let starts = |p: &str| text.starts_with(p);
        if starts("a lighthouse in fog") {
            return openai_error(
                429,
                "Rate limit reached for omni-moderation-latest",
                "requests",
            )
            .header("retry-after", "1");
        }
        if starts("a lighthouse in rain") {
            return openai_error(500, "The server had an error", "server_error");
        }
        if starts("a lighthouse in snow") {
            return Reply::bytes(
                200,
                "application/json",
                b"{\"results\": [{\"flagged\"".to_vec(),
            );
        }
        if starts("a lighthouse in wind") {
            let mut answer = moderation_answer(&[]);
            let scores = answer["results"][0]["category_scores"]
                .as_object_mut()
                .unwrap();
            scores.remove("illicit");
            return Reply::json(200, &answer);
        }
        if starts("a lighthouse at night") {
            return Reply::json(200, &moderation_answer(&[])).delayed(STALL);
        }
        let bad = bad_images.lock().unwrap();
        if images.iter().any(|i| bad.contains(i)) {
            return Reply::json(200, &moderation_answer(&[("violence/graphic", 0.95)]));
        }
        let high: Vec<(&str, f64)> = SCORED
            .iter()
            .filter(|(p, _, _)| starts(p))
            .map(|(_, c, s)| (*c, *s))
            .collect();
        Reply::json(200, &moderation_answer(&high))
    })
}

/// A gateway with `policy-terms` then the OpenAI classifier at `mock`
/// (its `violence` bar raised to 0.8 with a flag band from 0.4), strikes
/// off so one account can be refused many times.
fn openai_gateway(mock: &Mock) -> Gateway {
    Gateway::start_with_config(&format!(
        r#"
[credentials.openai-moderation]
value = "{OPENAI_KEY}"

[plugin_settings.policy-openai-moderation]
allowed_hosts = ["{host}"]
call_timeout_ms = 3000
[plugin_settings.policy-openai-moderation.config]
base_url = "{url}"
timeout_ms = {TIMEOUT_MS}
[plugin_settings.policy-openai-moderation.config.categories.violence]
deny_at = 0.8
flag_at = 0.4

[moderation]
policies = ["policy-terms", "policy-openai-moderation"]
key_strikes = 0
account_strikes = 0
"#,
        host = mock.host_port,
        url = mock.url,
    ))
}

pub(crate) fn generate(gw: &Gateway, who: &TestAccount, body: Value) -> Answer {
    gw.request_with(
        "POST",
        "/v1/images/generations",
        Some(&who.key),
        Some(&body),
    )
}

fn prompt(gw: &Gateway, who: &TestAccount, prompt: &str) -> Answer {
    generate(gw, who, json!({"prompt": prompt, "size": "64x64"}))
}

fn balance(gw: &Gateway, who: &TestAccount) -> i64 {
    gw.account_view(&who.id)["credit_balance"].as_i64().unwrap()
}

pub(crate) fn body_text(answer: &Answer) -> String {
    String::from_utf8_lossy(&answer.body).into_owned()
}

/// Asserts the request was refused under `category`, without a charge.
pub(crate) fn assert_refused(gw: &Gateway, who: &TestAccount, text: &str, category: &str) {
    let before = balance(gw, who);
    let answer = prompt(gw, who, text);
    let error = assert_error(&answer, 400, "CONTENT_POLICY_VIOLATION");
    assert_eq!(error["category"], category, "{text:?}: {error}");
    assert_eq!(
        error["message"],
        format!(
            "this request was refused under the content policy (category: {category}); nothing was charged"
        )
    );
    assert_eq!(balance(gw, who), before, "{text:?}: nothing charged");
}

/// Asserts the request was served.
pub(crate) fn assert_served(gw: &Gateway, who: &TestAccount, text: &str) {
    let answer = prompt(gw, who, text);
    assert_eq!(answer.status, 200, "{text:?}: {}", body_text(&answer));
}

/// Asserts the request was refused because a policy failed (fail closed),
/// without a charge, within [`WITHIN`].
pub(crate) fn assert_failed_closed(gw: &Gateway, who: &TestAccount, text: &str) {
    let before = balance(gw, who);
    let started = Instant::now();
    let answer = prompt(gw, who, text);
    let error = assert_error(&answer, 503, "MODEL_UNAVAILABLE");
    assert!(
        error["message"].as_str().unwrap().contains("moderation"),
        "{text:?}: {error}"
    );
    assert!(
        started.elapsed() < WITHIN,
        "{text:?} took {:?}",
        started.elapsed()
    );
    assert_eq!(balance(gw, who), before, "{text:?}: nothing charged");
}

pub(crate) fn flags(gw: &Gateway, query: &str) -> Vec<Value> {
    let answer = gw.get(&format!("/admin/v1/flags?limit=500&{query}"));
    assert_eq!(answer.status, 200, "{}", body_text(&answer));
    answer.json()["data"].as_array().unwrap().clone()
}

/// The moderation calls whose text starts with `prompt`.
fn moderations_of(mock: &Mock, prompt: &str) -> Vec<Received> {
    mock.received()
        .into_iter()
        .filter(|r| moderation_input(r).0.is_some_and(|t| t.starts_with(prompt)))
        .collect()
}

#[test]
fn openai_moderation_refuses_by_category_and_threshold_after_policy_terms() {
    let mock = openai_mock(Arc::default());
    let gw = openai_gateway(&mock);
    let acct = gw.account("openai-moderation@example.com", 10_000);

    // Allowed: the request the mock received is OpenAI's documented shape,
    // with the operator's key.
    assert_served(&gw, &acct, "a quiet harbour at dawn");
    let calls = moderations_of(&mock, "a quiet harbour at dawn");
    assert_eq!(calls.len(), 1, "one request check");
    let call = &calls[0];
    assert_eq!(
        (call.method.as_str(), call.path.as_str()),
        ("POST", "/v1/moderations")
    );
    assert_eq!(
        call.header("authorization"),
        Some(format!("Bearer {OPENAI_KEY}").as_str())
    );
    assert_eq!(call.header("content-type"), Some("application/json"));
    assert_eq!(
        call.json(),
        json!({"model": "omni-moderation-latest",
               "input": [{"type": "text", "text": "a quiet harbour at dawn"}]})
    );
    // The negative prompt goes with the prompt, labelled.
    let answer = generate(
        &gw,
        &acct,
        json!({"prompt": "a sleepy market", "negative_prompt": "fog, people", "size": "64x64"}),
    );
    assert_eq!(answer.status, 200, "{}", body_text(&answer));
    let calls = moderations_of(&mock, "a sleepy market\n\nNegative prompt:");
    assert_eq!(calls.len(), 1);
    assert_eq!(
        calls[0].json()["input"][0]["text"],
        "a sleepy market\n\nNegative prompt: fog, people"
    );

    // Refused under the category OpenAI's maps to, nothing charged.
    assert_refused(&gw, &acct, "an orchard at noon", "violence");
    let denied = flags(&gw, "action=deny");
    assert_eq!(denied.len(), 1, "{denied:?}");
    assert_eq!(denied[0]["policy"], "policy-openai-moderation@0.1.0");
    assert_eq!(denied[0]["category"], "violence");
    assert_eq!(denied[0]["stage"], "request");
    let reason = denied[0]["reason"].as_str().unwrap();
    assert!(
        reason.contains("violence/graphic scored 0.930, refused at 0.5"),
        "{reason}"
    );

    // The operator's thresholds: violence refuses from 0.8 and is flagged
    // from 0.4; sexual/minors keeps its lower default bar, 0.2.
    assert_served(&gw, &acct, "a crowded market");
    let flagged = flags(&gw, "action=flag");
    assert_eq!(flagged.len(), 1, "{flagged:?}");
    assert_eq!(flagged[0]["category"], "violence");
    assert!(
        flagged[0]["reason"]
            .as_str()
            .unwrap()
            .contains("violence scored 0.790, flagged at 0.4"),
        "{}",
        flagged[0]
    );
    assert_refused(&gw, &acct, "a stormy market", "violence");
    assert_served(&gw, &acct, "a portrait in a field");
    assert_refused(&gw, &acct, "a portrait in a garden", "sexual_minors");
    assert_eq!(
        flags(&gw, "action=flag").len(),
        1,
        "0.39 and 0.19 pass unflagged"
    );

    // The chain: policy-terms goes first, and what it refuses never
    // reaches OpenAI; what only the classifier catches (above) is refused
    // by the classifier.
    assert_refused(&gw, &acct, "a beheading in a public square", "violence");
    assert!(moderations_of(&mock, "a beheading").is_empty());
    let denied = flags(&gw, "action=deny");
    assert_eq!(denied[0]["policy"], "policy-terms@0.1.0");
    let policies = gw.get("/admin/v1/policies").json();
    let global: Vec<&str> = policies["global"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["plugin"].as_str().unwrap())
        .collect();
    assert_eq!(global, ["policy-terms", "policy-openai-moderation"]);
    assert!(
        policies["global"][1]["categories"]
            .as_array()
            .unwrap()
            .contains(&json!("sexual_minors")),
        "{policies}"
    );
    // No check failed along the way.
    assert!(flags(&gw, "action=error").is_empty());
}

#[test]
fn openai_moderation_checks_reference_and_output_images() {
    let bad_images: Arc<Mutex<Vec<Vec<u8>>>> = Arc::default();
    let mock = openai_mock(bad_images.clone());
    let gw = openai_gateway(&mock);
    let acct = gw.account("openai-images-check@example.com", 10_000);

    // A reference image goes as a data: URL of its bytes, with the prompt.
    let reference = imini_tests::png(8, 8, [200, 30, 30]);
    let data_url = format!(
        "data:image/png;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(&reference)
    );
    let body = json!({"model": "imini/canvas-image", "prompt": "a red kite", "size": "64x64",
                      "images": [{"url": data_url, "reference_type": "style"}]});
    gw.submit_image(&acct.key, &body);
    let tasks = gw.tasks_when_all(&acct.key, "succeeded");
    assert_eq!(tasks[0]["status"], "succeeded", "{tasks:?}");
    let calls = moderations_of(&mock, "a red kite");
    assert_eq!(calls.len(), 1, "{calls:?}");
    let (text, images) = moderation_input(&calls[0]);
    assert_eq!(text.as_deref(), Some("a red kite"));
    assert_eq!(images, [reference], "the reference's own bytes");

    // The output's image reaches the check of outputs, alone.
    let request = json!({"prompt": "a quiet harbour at dawn", "size": "64x64", "seed": 7,
                         "response_format": "b64_json"});
    let before = mock.received().len();
    let answer = generate(&gw, &acct, request.clone());
    assert_eq!(answer.status, 200, "{}", body_text(&answer));
    let served = base64::engine::general_purpose::STANDARD
        .decode(answer.json()["data"][0]["b64_json"].as_str().unwrap())
        .unwrap();
    let received = mock.received();
    let new: Vec<_> = received[before..].iter().map(moderation_input).collect();
    assert_eq!(
        new,
        [
            (Some("a quiet harbour at dawn".to_string()), vec![]),
            (None, vec![served.clone()]),
        ],
        "the request, then its output"
    );

    // An output OpenAI scores high is intercepted: never served, nothing
    // charged.
    bad_images.lock().unwrap().push(served);
    let before = balance(&gw, &acct);
    let answer = generate(&gw, &acct, request);
    let error = assert_error(&answer, 400, "CONTENT_POLICY_VIOLATION");
    assert!(
        error["message"].as_str().unwrap().contains("intercepted"),
        "{error}"
    );
    assert_eq!(balance(&gw, &acct), before);
    let task_id = error["task_id"].as_str().unwrap();
    let task = gw
        .request_with(
            "GET",
            &format!("/v1/tasks/{task_id}"),
            Some(&acct.key),
            None,
        )
        .json();
    assert_eq!(task["status"], "failed", "{task}");
    let output = flags(&gw, "stage=output");
    assert_eq!(output.len(), 1, "{output:?}");
    assert_eq!(output[0]["policy"], "policy-openai-moderation@0.1.0");
    assert_eq!(output[0]["category"], "violence");
    assert_eq!(output[0]["task_id"], task_id);
    assert!(
        output[0]["reason"]
            .as_str()
            .unwrap()
            .contains("on output 1"),
        "{}",
        output[0]
    );
}

#[test]
fn openai_moderation_fails_closed_and_refuses_a_bad_configuration() {
    let mock = openai_mock(Arc::default());
    let gw = openai_gateway(&mock);
    let acct = gw.account("openai-moderation-faults@example.com", 10_000);

    // A 429, a 500, JSON cut short, an answer without a checked category,
    // and a stall past the timeout: each refuses the request (503), fast.
    for text in [
        "a lighthouse in fog",
        "a lighthouse in rain",
        "a lighthouse in snow",
        "a lighthouse in wind",
        "a lighthouse at night",
    ] {
        assert_failed_closed(&gw, &acct, text);
        assert_eq!(moderations_of(&mock, text).len(), 1, "{text:?}: asked once");
    }
    let failures = flags(&gw, "action=error");
    assert_eq!(failures.len(), 5, "{failures:?}");
    let reasons: Vec<&str> = failures
        .iter()
        .rev()
        .map(|f| f["reason"].as_str().unwrap())
        .collect();
    for (reason, says) in reasons.iter().zip([
        "OpenAI moderation answered 429: Rate limit reached",
        "OpenAI moderation answered 500: The server had an error",
        "OpenAI moderation answered something that is not JSON",
        "OpenAI moderation gave no score for \"illicit\"",
        "timed out",
    ]) {
        assert!(reason.contains(says), "{says:?} not in {reason:?}");
    }
    for f in &failures {
        assert_eq!(f["policy"], "policy-openai-moderation@0.1.0");
    }
    // Not the caller's fault: no strike, and the gateway keeps serving.
    let strikes = gw.get(&format!(
        "/admin/v1/audit?account_id={}&action=strike",
        acct.id
    ));
    assert_eq!(strikes.json()["data"], json!([]));
    assert_served(&gw, &acct, "a quiet harbour at dawn");

    // A threshold out of range is refused naming its key; the old
    // configuration stays live.
    let bad = gw.post(
        "/admin/v1/plugins/policy-openai-moderation/config",
        &json!({"config": {"base_url": mock.url, "categories": {"violence": {"deny_at": 1.5}}}}),
    );
    assert_eq!(bad.status, 400, "{}", body_text(&bad));
    let message = bad.json()["error"]["message"].as_str().unwrap().to_string();
    assert!(
        message.contains("refuses its configuration")
            && message.contains(
                "categories.violence.deny_at must be a number above 0 and at most 1 (got 1.5)"
            ),
        "{message}"
    );
    assert_served(&gw, &acct, "a crowded market");
    assert_refused(&gw, &acct, "a stormy market", "violence");
}

#[test]
fn the_classifiers_are_bundled_but_wait_until_asked_for() {
    let mock = openai_mock(Arc::default());
    let sealing = base64::engine::general_purpose::STANDARD.encode([7u8; 32]);
    // Configured, but without its credential; `moderation.policies` unset.
    let gw = Gateway::start_with_env(
        &format!(
            r#"
[plugin_settings.policy-openai-moderation]
allowed_hosts = ["{host}"]
[plugin_settings.policy-openai-moderation.config]
base_url = "{url}"
"#,
            host = mock.host_port,
            url = mock.url,
        ),
        &[("IMINI_CREDENTIAL_KEY", &sealing)],
    );
    let acct = gw.account("classifiers-wait@example.com", 1_000);
    for (plugin, credential) in [
        ("policy-openai-moderation", "openai-moderation"),
        ("policy-llama-guard", "llama-guard"),
    ] {
        let view = gw.get(&format!("/admin/v1/plugins/{plugin}")).json();
        assert_eq!(view["status"], "waiting", "{view}");
        assert_eq!(view["waiting_for"], json!([credential]), "{view}");
    }
    let global = |gw: &Gateway| -> Vec<String> {
        gw.get("/admin/v1/policies").json()["global"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["plugin"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(global(&gw), ["policy-terms"]);
    assert_served(&gw, &acct, "an orchard at noon");
    assert!(mock.received().is_empty());

    // Its key set at run time: it checks the next request.
    let set = gw.request(
        "PUT",
        "/admin/v1/credentials/openai-moderation",
        Some(&json!({"value": OPENAI_KEY})),
    );
    assert_eq!(set.status, 200, "{}", body_text(&set));
    assert_eq!(global(&gw), ["policy-openai-moderation", "policy-terms"]);
    assert_refused(&gw, &acct, "an orchard at noon", "violence");
    assert_eq!(
        mock.received()[0].header("authorization"),
        Some(format!("Bearer {OPENAI_KEY}").as_str())
    );

    // Removed: still bound, so every request fails closed until it is set
    // again.
    let removed = gw.request("DELETE", "/admin/v1/credentials/openai-moderation", None);
    assert_eq!(removed.status, 200, "{}", body_text(&removed));
    assert_failed_closed(&gw, &acct, "a quiet harbour at dawn");
    let failure = &flags(&gw, "action=error")[0];
    assert!(
        failure["reason"]
            .as_str()
            .unwrap()
            .contains("openai-moderation"),
        "{failure}"
    );
}

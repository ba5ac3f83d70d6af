//! `policy-llama-guard` through the gateway, against a loopback mock of
//! Llama Guard 3 behind an OpenAI-compatible `POST /v1/chat/completions`
//! (answering `safe` or `unsafe` and hazard codes): hazards denied,
//! flagged or ignored as configured, after `policy-terms`; its key sent
//! when asked; every answer that is not a verdict refuses the request
//! (fail closed). The shared helpers are in policy_classifiers.rs.

use imini_tests::Gateway;
use imini_tests::mock::{Mock, Reply};
use serde_json::json;

use super::policy_classifiers::{
    LLAMA_KEY, STALL, TIMEOUT_MS, assert_failed_closed, assert_refused, assert_served, body_text,
    flags, generate, openai_error,
};

/// What the mock Llama Guard answers to a message, or how it fails.
fn llama_guard_mock() -> Mock {
    Mock::with_handler(|r| {
        if (r.method.as_str(), r.path.as_str()) != ("POST", "/v1/chat/completions") {
            return openai_error(404, "Not Found", "NotFoundError");
        }
        let body = r.json();
        let text = body["messages"][0]["content"].as_str().unwrap_or_default();
        let starts = |p: &str| text.starts_with(p);
        let content = if starts("a lighthouse in fog") {
            return openai_error(429, "Too many requests", "RateLimitError");
        } else if starts("a lighthouse in rain") {
            return openai_error(500, "CUDA out of memory", "InternalServerError");
        } else if starts("a lighthouse at noon") {
            return Reply::json(200, &json!({"id": "chatcmpl-1", "choices": []}));
        } else if starts("a lighthouse at night") {
            return Reply::json(200, &json!({})).delayed(STALL);
        } else if starts("a lighthouse in snow") {
            "I am not sure."
        } else if starts("a lighthouse in wind") {
            "unsafe\nS99"
        } else if starts("an orchard at noon") {
            "\n\nunsafe\nS10"
        } else if starts("a letter to my doctor") {
            "\n\nunsafe\nS6"
        } else if starts("a ballot box in a town hall") {
            "\n\nunsafe\nS13"
        } else if starts("a knight on a hill") {
            "\n\nunsafe\nS1"
        } else {
            "\n\nsafe"
        };
        Reply::json(
            200,
            &json!({
                "id": "chatcmpl-9f3", "object": "chat.completion", "created": 1_733_460_000,
                "model": body["model"],
                "choices": [{"index": 0, "message": {"role": "assistant", "content": content},
                             "logprobs": null, "finish_reason": "stop", "stop_reason": null}],
                "usage": {"prompt_tokens": 230, "completion_tokens": 5, "total_tokens": 235},
            }),
        )
    })
}

#[test]
fn llama_guard_denies_flags_or_ignores_its_hazards_and_fails_closed() {
    let mock = llama_guard_mock();
    // Enabled without a key (a local vLLM or Ollama); S1 ignored and S13
    // refused by the operator, S6 flagged by default.
    let gw = Gateway::start_with_config(&format!(
        r#"
[plugin_settings.policy-llama-guard]
enabled = true
allowed_hosts = ["{host}"]
call_timeout_ms = 3000
[plugin_settings.policy-llama-guard.config]
base_url = "{url}"
model = "llama-guard3:1b"
timeout_ms = {TIMEOUT_MS}
[plugin_settings.policy-llama-guard.config.hazards]
S1 = "ignore"
S13 = "deny"

[moderation]
policies = ["policy-terms", "policy-llama-guard"]
key_strikes = 0
account_strikes = 0
"#,
        host = mock.host_port,
        url = mock.url,
    ));
    let acct = gw.account("llama-guard@example.com", 10_000);

    // Safe: the request is the documented chat completion, without a key.
    let answer = generate(
        &gw,
        &acct,
        json!({"prompt": "a quiet harbour at dawn", "negative_prompt": "fog", "size": "64x64"}),
    );
    assert_eq!(answer.status, 200, "{}", body_text(&answer));
    let calls = mock.received();
    assert_eq!(
        calls.len(),
        1,
        "the request only: outputs without text are not sent"
    );
    assert_eq!(
        (calls[0].method.as_str(), calls[0].path.as_str()),
        ("POST", "/v1/chat/completions")
    );
    assert_eq!(calls[0].header("authorization"), None);
    assert_eq!(
        calls[0].json(),
        json!({"model": "llama-guard3:1b",
               "messages": [{"role": "user", "content": "a quiet harbour at dawn\n\nNegative prompt: fog"}],
               "temperature": 0, "max_tokens": 32})
    );

    // Each code as configured, under its category.
    assert_refused(&gw, &acct, "an orchard at noon", "hate");
    assert_refused(&gw, &acct, "a ballot box in a town hall", "elections");
    assert_served(&gw, &acct, "a knight on a hill");
    assert_served(&gw, &acct, "a letter to my doctor");
    let flagged = flags(&gw, "action=flag");
    assert_eq!(flagged.len(), 1, "{flagged:?}");
    assert_eq!(flagged[0]["category"], "specialized_advice");
    assert_eq!(flagged[0]["policy"], "policy-llama-guard@0.1.0");
    let denied = flags(&gw, "action=deny");
    assert_eq!(denied.len(), 2, "{denied:?}");
    assert_eq!(
        denied[1]["reason"],
        "Llama Guard (llama-guard3:1b) on the prompt: unsafe, S10 (Hate)"
    );
    // policy-terms first: what it refuses is never sent.
    assert_refused(&gw, &acct, "a beheading in a public square", "violence");
    assert_eq!(mock.received().len(), 5);

    // Fail closed on anything but a verdict.
    for text in [
        "a lighthouse in fog",
        "a lighthouse in rain",
        "a lighthouse at noon",
        "a lighthouse at night",
        "a lighthouse in snow",
        "a lighthouse in wind",
    ] {
        assert_failed_closed(&gw, &acct, text);
    }
    let failures = flags(&gw, "action=error");
    let reasons: Vec<&str> = failures
        .iter()
        .rev()
        .map(|f| f["reason"].as_str().unwrap())
        .collect();
    assert_eq!(reasons.len(), 6, "{reasons:?}");
    for (reason, says) in reasons.iter().zip([
        "Llama Guard answered 429: Too many requests",
        "Llama Guard answered 500: CUDA out of memory",
        "Llama Guard answered no choices",
        "timed out",
        "Llama Guard answered \"I am not sure.\"",
        "the unknown hazard code \"S99\"",
    ]) {
        assert!(reason.contains(says), "{says:?} not in {reason:?}");
    }
    assert_served(&gw, &acct, "a quiet harbour at dawn");
}

#[test]
fn llama_guard_sends_its_key_when_asked_and_refuses_a_bad_configuration() {
    let mock = llama_guard_mock();
    // Its credential set: loaded without `enabled`, bound with every
    // loaded policy (`moderation.policies` unset).
    let gw = Gateway::start_with_config(&format!(
        r#"
[credentials.llama-guard]
value = "{LLAMA_KEY}"
[plugin_settings.policy-llama-guard]
allowed_hosts = ["{host}"]
[plugin_settings.policy-llama-guard.config]
base_url = "{url}/v1"
api_key = true
"#,
        host = mock.host_port,
        url = mock.url,
    ));
    let acct = gw.account("llama-guard-key@example.com", 1_000);
    assert_refused(&gw, &acct, "an orchard at noon", "hate");
    let call = &mock.received()[0];
    assert_eq!(call.path, "/v1/chat/completions");
    assert_eq!(
        call.header("authorization"),
        Some(format!("Bearer {LLAMA_KEY}").as_str())
    );
    assert_eq!(call.json()["model"], "meta-llama/Llama-Guard-3-8B");

    // Its own timeout (5 s by default) is longer than the policy deadline
    // (`moderation.policy_timeout_ms`, 2 s): a stall is cut at the
    // deadline, and the request refused.
    assert_failed_closed(&gw, &acct, "a lighthouse at night");
    let failure = &flags(&gw, "action=error")[0];
    assert_eq!(failure["policy"], "policy-llama-guard@0.1.0");
    let reason = failure["reason"].as_str().unwrap();
    assert!(
        reason.contains("timed out") || reason.contains("deadline"),
        "{reason}"
    );

    let bad = gw.post(
        "/admin/v1/plugins/policy-llama-guard/config",
        &json!({"config": {"base_url": mock.url, "hazards": {"S15": "deny"}}}),
    );
    assert_eq!(bad.status, 400, "{}", body_text(&bad));
    let message = bad.json()["error"]["message"].as_str().unwrap().to_string();
    assert!(
        message.contains("hazards.S15 is not one of Llama Guard 3's hazard codes"),
        "{message}"
    );
    let missing = gw.post(
        "/admin/v1/plugins/policy-llama-guard/config",
        &json!({"config": {}}),
    );
    assert_eq!(missing.status, 400, "{}", body_text(&missing));
    assert!(
        body_text(&missing).contains("base_url is required"),
        "{}",
        body_text(&missing)
    );
    assert_refused(&gw, &acct, "an orchard at noon", "hate");
}

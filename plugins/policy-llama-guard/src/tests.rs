//! What is sent, how Llama Guard's answer is read and judged, and the
//! configuration's checks, natively (no host).

use imini_sdk::{
    Action as Verdicts, ErrorKind, GenerationRequest, Media, MediaData, PluginError, http,
};
use serde_json::{Value, json};

use crate::config::{Action, hazard_of};
use crate::{Answer, Config, body, check, judge, output_text, parse_answer, request_text};

const BASE: &str = "http://127.0.0.1:8000";

fn config(extra: Value) -> Config {
    let mut value = json!({"base_url": BASE});
    value
        .as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    Config::from_json(&value).unwrap()
}

/// A chat completion in the OpenAI-compatible shape vLLM and Ollama answer.
fn completion(content: &str, finish: &str) -> Value {
    json!({
        "id": "chatcmpl-7a1c", "object": "chat.completion", "created": 1_733_460_000,
        "model": "meta-llama/Llama-Guard-3-8B",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content},
                     "logprobs": null, "finish_reason": finish}],
        "usage": {"prompt_tokens": 212, "completion_tokens": 4, "total_tokens": 216},
    })
}

fn parse(content: &str) -> Result<Answer, PluginError> {
    parse_answer(completion(content, "stop").to_string().as_bytes())
}

fn hazards(codes: &[&str]) -> Answer {
    Answer::Unsafe(codes.iter().map(|c| hazard_of(c).unwrap()).collect())
}

#[test]
fn the_defaults_need_a_base_url_and_deny_what_the_terms_prohibit() {
    let c = config(json!({}));
    assert_eq!(c.api.base_url, BASE);
    assert_eq!(c.api.timeout_ms, 5_000);
    assert_eq!(c.model, "meta-llama/Llama-Guard-3-8B");
    assert!(!c.api_key && c.check_negative_prompt);
    let by_action = |a: Action| -> Vec<&str> {
        crate::HAZARDS
            .iter()
            .filter(|h| c.action(h.code) == Some(a))
            .map(|h| h.code)
            .collect()
    };
    assert_eq!(
        by_action(Action::Deny),
        [
            "S1", "S2", "S3", "S4", "S5", "S8", "S9", "S10", "S11", "S12"
        ]
    );
    assert_eq!(by_action(Action::Flag), ["S6", "S7", "S13"]);
    assert_eq!(by_action(Action::Ignore), ["S14"]);
    assert_eq!(
        c.categories(),
        [
            "violence",
            "illicit",
            "sex_crimes",
            "sexual_minors",
            "deepfake",
            "specialized_advice",
            "privacy",
            "ip_infringement",
            "terrorism",
            "hate",
            "self_harm",
            "sexual",
            "elections"
        ]
    );

    let e = Config::from_json(&json!({})).unwrap_err();
    assert!(
        e.message
            .starts_with("plugin configuration: base_url is required"),
        "{}",
        e.message
    );
    assert_eq!(e.details.and_then(|d| d.param).as_deref(), Some("base_url"));
}

#[test]
fn settings_are_read_and_every_bad_one_names_its_key() {
    let c = config(json!({
        "base_url": "http://127.0.0.1:11434/v1", "timeout_ms": 700, "model": "llama-guard3:1b",
        "api_key": true, "check_negative_prompt": false,
        "hazards": {"S6": "ignore", "S14": "deny", "S1": "flag"},
    }));
    assert_eq!(
        (c.api.base_url.as_str(), c.api.timeout_ms),
        ("http://127.0.0.1:11434", 700)
    );
    assert_eq!(c.model, "llama-guard3:1b");
    assert!(c.api_key && !c.check_negative_prompt);
    assert_eq!(c.action("S6"), Some(Action::Ignore));
    assert_eq!(c.action("S14"), Some(Action::Deny));
    assert_eq!(c.action("S1"), Some(Action::Flag));
    assert!(!c.categories().contains(&"specialized_advice".to_string()));
    assert!(
        c.categories()
            .contains(&"code_interpreter_abuse".to_string())
    );

    for (extra, param, says) in [
        (
            json!({"hazards": {"S15": "deny"}}),
            "hazards.S15",
            "is not one of Llama Guard 3's hazard codes",
        ),
        (
            json!({"hazards": {"S1": "block"}}),
            "hazards.S1",
            "must be \"deny\", \"flag\" or \"ignore\" (got \"block\")",
        ),
        (json!({"hazards": ["S1"]}), "hazards", "must be a table"),
        (
            json!({"base_url": "localhost:8000"}),
            "base_url",
            "must be an http(s) URL",
        ),
        (
            json!({"timeout_ms": -5}),
            "timeout_ms",
            "must be a positive whole number",
        ),
        (json!({"model": 3}), "model", "must be a non-empty string"),
        (
            json!({"api_key": "sk-1"}),
            "api_key",
            "must be true or false",
        ),
        (
            json!({"apikey": true}),
            "apikey",
            "is not a setting of this policy",
        ),
    ] {
        let mut value = json!({"base_url": BASE});
        value
            .as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        let e = Config::from_json(&value).unwrap_err();
        assert_eq!(e.kind, ErrorKind::InvalidRequest, "{extra}");
        assert!(
            e.message
                .starts_with(&format!("plugin configuration: {param} ")),
            "{extra}: {}",
            e.message
        );
        assert!(e.message.contains(says), "{extra}: {}", e.message);
        assert_eq!(e.details.and_then(|d| d.param).as_deref(), Some(param));
    }
}

#[test]
fn the_prompt_goes_as_the_one_user_message() {
    let c = config(json!({}));
    let mut req = GenerationRequest::image("imini/canvas-image", " a fox in the snow ");
    req.negative_prompt = Some("clothes".into());
    let text = request_text(&c, &req).unwrap();
    assert_eq!(
        text,
        (
            "the prompt with its negative prompt".to_string(),
            "a fox in the snow\n\nNegative prompt: clothes".to_string()
        )
    );
    assert_eq!(
        body(&c, &text.1),
        json!({"model": "meta-llama/Llama-Guard-3-8B",
               "messages": [{"role": "user", "content": "a fox in the snow\n\nNegative prompt: clothes"}],
               "temperature": 0, "max_tokens": 32})
    );
    let quiet = config(json!({"check_negative_prompt": false}));
    assert_eq!(request_text(&quiet, &req).unwrap().1, "a fox in the snow");
    assert_eq!(
        request_text(&c, &GenerationRequest::image("m/x", "  ")),
        None
    );

    // Outputs: their text only.
    let mut captioned = Media::image("image/png", 0, 0, MediaData::Blob(1));
    captioned.text = Some("a revised prompt".into());
    let plain = Media::image("image/png", 0, 0, MediaData::Blob(2));
    assert_eq!(
        output_text(&[plain.clone(), captioned]).unwrap().1,
        "a revised prompt"
    );
    assert_eq!(output_text(&[plain]), None);
}

#[test]
fn safe_and_unsafe_answers_are_read_and_anything_else_is_an_error() {
    assert_eq!(parse("safe").unwrap(), Answer::Safe);
    // vLLM's answers start with blank lines.
    assert_eq!(parse("\n\nsafe").unwrap(), Answer::Safe);
    assert_eq!(parse("\n\nunsafe\nS1").unwrap(), hazards(&["S1"]));
    assert_eq!(
        parse("unsafe\nS10, s1,S10").unwrap(),
        hazards(&["S10", "S1"])
    );
    assert_eq!(parse("UNSAFE\nS14").unwrap(), hazards(&["S14"]));

    for (content, says) in [
        ("maybe", "neither \"safe\" nor \"unsafe\""),
        ("", "neither"),
        ("unsafe", "neither"),
        ("safe\nS1", "neither"),
        ("unsafe\nS1\nbecause", "neither"),
        ("I cannot help with that.", "neither"),
        ("unsafe\nS15", "unknown hazard code \"S15\""),
        ("unsafe\nO3", "unknown hazard code \"O3\""),
        ("unsafe\nS1,", "unknown hazard code \"\""),
    ] {
        let e = parse(content).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Upstream, "{content:?}");
        assert!(e.message.contains(says), "{content:?}: {}", e.message);
    }
    for (body, says) in [
        ("<html>502</html>".to_string(), "not JSON"),
        (json!({"choices": []}).to_string(), "no choices"),
        (
            json!({"choices": [{"text": "safe"}]}).to_string(),
            "without message.content",
        ),
        (
            completion("unsafe\nS1,S2,S3", "length").to_string(),
            "cut at 32 tokens",
        ),
    ] {
        let e = parse_answer(body.as_bytes()).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Upstream, "{body}");
        assert!(e.message.contains(says), "{body}: {}", e.message);
    }
}

#[test]
fn hazards_deny_flag_or_pass_as_configured() {
    let c = config(json!({}));
    let v = judge(&c, "the prompt", &Answer::Safe);
    assert_eq!((v.action, v.category), (Verdicts::Allow, None));

    let v = judge(&c, "the prompt", &hazards(&["S6", "S10", "S1"]));
    assert_eq!(
        (v.action, v.category.as_deref()),
        (Verdicts::Deny, Some("hate"))
    );
    assert_eq!(
        v.reason.as_deref(),
        Some(
            "Llama Guard (meta-llama/Llama-Guard-3-8B) on the prompt: unsafe, S6 (Specialized Advice), S10 (Hate), S1 (Violent Crimes)"
        )
    );
    let v = judge(&c, "x", &hazards(&["S14", "S13"]));
    assert_eq!(
        (v.action, v.category.as_deref()),
        (Verdicts::Flag, Some("elections"))
    );
    assert_eq!(judge(&c, "x", &hazards(&["S14"])).action, Verdicts::Allow);
    assert_eq!(
        judge(&c, "x", &hazards(&["S4"])).category.as_deref(),
        Some("sexual_minors")
    );

    let tuned = config(json!({"hazards": {"S1": "ignore", "S6": "deny"}}));
    assert_eq!(
        judge(&tuned, "x", &hazards(&["S1"])).action,
        Verdicts::Allow
    );
    let v = judge(&tuned, "x", &hazards(&["S6"]));
    assert_eq!(
        (v.action, v.category.as_deref()),
        (Verdicts::Deny, Some("specialized_advice"))
    );
}

fn reply(status: u16, body: Value) -> http::Response {
    http::Response::new(status, &[], body.to_string())
}

#[test]
fn a_check_makes_one_call_and_fails_closed_on_any_other_answer() {
    let c = config(json!({}));
    let text = || Some(("the prompt".to_string(), "a fox".to_string()));
    let mut sent = Vec::new();
    let v = check(&c, text(), &mut |b| {
        sent.push(b.clone());
        Ok(reply(200, completion("safe", "stop")))
    })
    .unwrap();
    assert_eq!(v.action, Verdicts::Allow);
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0]["messages"][0]["content"], "a fox");

    // Nothing to check: no call.
    let v = check(&c, None, &mut |_| panic!("no call")).unwrap();
    assert_eq!(v.action, Verdicts::Allow);

    let error =
        |m: &str| json!({"object": "error", "message": m, "type": "BadRequestError", "code": 400});
    let openai_error = |m: &str| json!({"error": {"message": m, "type": "server_error"}});
    for (response, kind, says) in [
        (
            reply(429, openai_error("too many requests")),
            ErrorKind::RateLimited,
            "too many requests",
        ),
        (
            reply(500, openai_error("CUDA out of memory")),
            ErrorKind::Upstream,
            "CUDA out of memory",
        ),
        (
            reply(404, error("The model `x` does not exist.")),
            ErrorKind::InvalidRequest,
            "Llama Guard",
        ),
        (
            reply(200, completion("perhaps", "stop")),
            ErrorKind::Upstream,
            "perhaps",
        ),
        (
            reply(200, json!({"error": "no"})),
            ErrorKind::Upstream,
            "no choices",
        ),
    ] {
        let status = response.status;
        let e = check(&c, text(), &mut |_| Ok(response.clone())).unwrap_err();
        assert_eq!(e.kind, kind, "{status}: {}", e.message);
        assert!(e.message.starts_with("Llama Guard"), "{}", e.message);
        assert!(e.message.contains(says), "{}", e.message);
    }
    let e = check(&c, text(), &mut |_| {
        Err(PluginError::new(ErrorKind::Timeout, "upstream timed out"))
    })
    .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Timeout);
}

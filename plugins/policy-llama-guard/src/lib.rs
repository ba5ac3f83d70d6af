//! # policy-llama-guard: Llama Guard 3 as an imini policy
//!
//! Asks Llama Guard 3, served behind an OpenAI-compatible chat endpoint
//! (vLLM, Ollama, a hosted provider), whether a prompt is safe:
//! `POST {base_url}/v1/chat/completions` with the prompt (and the negative
//! prompt, labelled) as the one user message, `temperature` 0 and a few
//! tokens to answer in. The server's chat template wraps it in Llama
//! Guard's own instructions. The answer is `safe`, or `unsafe` and a line
//! of hazard codes (`S1,S10`); each code is denied, flagged or ignored as
//! configured, under the category of our terms it maps to
//! ([`config::HAZARDS`]).
//!
//! It reads text only: reference and output images are not sent (the
//! vision variant, Llama Guard 3 11B Vision, is not supported); outputs are
//! checked on the text they come with, and outputs without any pass
//! without a call.
//!
//! It fails closed: a non-2xx answer (429, 5xx…), a timeout, an answer that
//! is not the chat completion shape, or text other than `safe` / `unsafe`
//! and known codes, is an error, and the gateway refuses the request (503,
//! nothing charged). With `api_key = true` the gateway injects the
//! operator's `llama-guard` credential as `Authorization: Bearer …`.
//!
//! The crate is organised as: the configuration ([`config`]), and here
//! what is sent ([`request_text`], [`output_text`], [`body`]), how the
//! answer is read ([`parse_answer`]) and judged ([`judge`], [`check`]),
//! all free of host calls so they are tested natively, and the glue to
//! the WIT interface.

pub mod config;
#[cfg(test)]
mod tests;

use imini_sdk::upstream::{Call, UpstreamErrors};
use imini_sdk::{
    GenerationRequest, Media, PluginError, Policy, PolicyInfo, Verdict, export_policy, host, http,
};
use serde_json::{Value, json};

pub use config::{Action, Config, HAZARDS, Hazard};

/// The policy's name.
pub const NAME: &str = "policy-llama-guard";
/// The credential sent when `api_key = true` (`[credentials.llama-guard]`).
pub const CREDENTIAL: &str = "llama-guard";
/// Tokens Llama Guard may answer with: `unsafe` and a few codes fit; an
/// answer cut short fails closed.
pub const MAX_TOKENS: u32 = 32;

/// The text a request is checked on, and what it is in words: the prompt
/// and, unless the operator turned it off, the negative prompt, labelled.
/// None when both are empty.
pub fn request_text(config: &Config, req: &GenerationRequest) -> Option<(String, String)> {
    let mut text = req.prompt.trim().to_string();
    let mut what = "the prompt".to_string();
    if config.check_negative_prompt
        && let Some(negative) = req.negative_prompt.as_deref().map(str::trim)
        && !negative.is_empty()
    {
        if !text.is_empty() {
            text.push_str("\n\n");
        }
        text.push_str("Negative prompt: ");
        text.push_str(negative);
        what.push_str(" with its negative prompt");
    }
    (!text.is_empty()).then_some((what, text))
}

/// The text outputs came with (revised prompts, captions), if any.
pub fn output_text(outputs: &[Media]) -> Option<(String, String)> {
    let texts: Vec<&str> = outputs
        .iter()
        .filter_map(|m| m.text.as_deref().map(str::trim))
        .filter(|t| !t.is_empty())
        .collect();
    (!texts.is_empty()).then(|| ("the outputs' text".to_string(), texts.join("\n\n")))
}

/// The chat completion request for `text`.
pub fn body(config: &Config, text: &str) -> Value {
    json!({
        "model": config.model,
        "messages": [{"role": "user", "content": text}],
        "temperature": 0,
        "max_tokens": MAX_TOKENS,
    })
}

/// What Llama Guard answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// `safe`.
    Safe,
    /// `unsafe` and its hazards, in the order given.
    Unsafe(Vec<&'static Hazard>),
}

/// Reads the chat completion, `{"choices": [{"message": {"content"},
/// "finish_reason"}], …}`, and its text: `safe`, or `unsafe` and a line of
/// codes from S1 to S14 (case and spaces aside). Anything else, or an
/// answer cut at the token limit, is an upstream error, so the check fails
/// closed.
pub fn parse_answer(body: &[u8]) -> Result<Answer, PluginError> {
    let malformed = |what: String| PluginError::upstream(format!("Llama Guard answered {what}"));
    let completion: Value = serde_json::from_slice(body)
        .map_err(|e| malformed(format!("something that is not JSON ({e})")))?;
    let choice = completion
        .get("choices")
        .and_then(Value::as_array)
        .and_then(|c| c.first())
        .ok_or_else(|| malformed("no choices".into()))?;
    let content = choice
        .pointer("/message/content")
        .and_then(Value::as_str)
        .ok_or_else(|| malformed("a choice without message.content".into()))?;
    if choice.get("finish_reason").and_then(Value::as_str) == Some("length") {
        return Err(malformed(format!(
            "an answer cut at {MAX_TOKENS} tokens: {content:?}"
        )));
    }
    let unknown = || {
        malformed(format!(
            "{content:?}, which is neither \"safe\" nor \"unsafe\" and hazard codes"
        ))
    };
    let lines: Vec<&str> = content
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    match lines.as_slice() {
        [verdict] if verdict.eq_ignore_ascii_case("safe") => Ok(Answer::Safe),
        [verdict, codes] if verdict.eq_ignore_ascii_case("unsafe") => {
            let mut hazards = Vec::new();
            for code in codes.split(',').map(str::trim) {
                let hazard = config::hazard_of(&code.to_ascii_uppercase()).ok_or_else(|| {
                    malformed(format!("the unknown hazard code {code:?} in {content:?}"))
                })?;
                if !hazards.contains(&hazard) {
                    hazards.push(hazard);
                }
            }
            Ok(Answer::Unsafe(hazards))
        }
        _ => Err(unknown()),
    }
}

/// The verdict on an answer: refused under the first hazard that denies,
/// else flagged under the first that flags, else allowed.
pub fn judge(config: &Config, what: &str, answer: &Answer) -> Verdict {
    let Answer::Unsafe(hazards) = answer else {
        return Verdict::allow();
    };
    let listed: Vec<String> = hazards
        .iter()
        .map(|h| format!("{} ({})", h.code, h.name))
        .collect();
    let reason = format!(
        "Llama Guard ({}) on {what}: unsafe, {}",
        config.model,
        listed.join(", ")
    );
    let first = |action: Action| {
        hazards
            .iter()
            .find(|h| config.action(h.code) == Some(action))
    };
    if let Some(h) = first(Action::Deny) {
        Verdict::deny(h.category, reason)
    } else if let Some(h) = first(Action::Flag) {
        Verdict::flag(h.category, reason)
    } else {
        Verdict::allow()
    }
}

/// The typed error for a non-2xx answer, with the server's message when
/// its body is OpenAI's `{"error": {"message", …}}` (vLLM, Ollama and
/// hosted endpoints answer so).
pub fn upstream_error(response: &http::Response) -> PluginError {
    let detail = serde_json::from_slice::<Value>(&response.body)
        .ok()
        .and_then(|v| match v.get("error")? {
            Value::String(m) => Some(m.clone()),
            e => e.get("message")?.as_str().map(str::to_string),
        });
    UpstreamErrors::new("Llama Guard").error(response, detail, Call::Create)
}

/// Checks `text` (what it is, and the text) through `send` (one HTTP
/// exchange with the endpoint); nothing to check is allowed without a call.
pub fn check(
    config: &Config,
    text: Option<(String, String)>,
    send: &mut dyn FnMut(&Value) -> Result<http::Response, PluginError>,
) -> Result<Verdict, PluginError> {
    let Some((what, text)) = text else {
        return Ok(Verdict::allow());
    };
    let response = send(&body(config, &text))?;
    if !response.is_success() {
        return Err(upstream_error(&response));
    }
    Ok(judge(config, &what, &parse_answer(&response.body)?))
}

/// One exchange with the chat endpoint.
fn send(config: &Config, body: &Value) -> Result<http::Response, PluginError> {
    let url = format!("{}/v1/chat/completions", config.api.base_url);
    let request = if config.api_key {
        config
            .api
            .request("POST", &url, CREDENTIAL, "authorization", "Bearer ")
    } else {
        http::Request::post(&url)
            .timeout_ms(config.api.timeout_ms)
            .header("accept", "application/json")
    };
    request.json(body)?.send()
}

/// The live configuration.
fn load() -> Result<Config, PluginError> {
    Config::from_json(&host::config())
}

struct LlamaGuard;

impl Policy for LlamaGuard {
    fn validate_config(config: &Value) -> Result<(), PluginError> {
        Config::from_json(config).map(|_| ())
    }

    fn describe() -> Result<PolicyInfo, PluginError> {
        Ok(PolicyInfo {
            name: NAME.to_string(),
            categories: load()?.categories(),
        })
    }

    fn check_request(req: GenerationRequest) -> Result<Verdict, PluginError> {
        let config = load()?;
        check(&config, request_text(&config, &req), &mut |body| {
            send(&config, body)
        })
    }

    fn check_output(_req: GenerationRequest, outputs: Vec<Media>) -> Result<Verdict, PluginError> {
        let config = load()?;
        check(&config, output_text(&outputs), &mut |body| {
            send(&config, body)
        })
    }
}

export_policy!(LlamaGuard);

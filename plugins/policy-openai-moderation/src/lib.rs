//! # policy-openai-moderation: OpenAI's moderation endpoint as an imini policy
//!
//! Sends what a request or its outputs say and show to OpenAI's
//! `POST /v1/moderations` (model `omni-moderation-latest` unless
//! configured), in its multi-modal input form: the prompt (with the
//! negative prompt, labelled as such) as a `text` item, and each image as
//! an `image_url` item holding a `data:` URL of its bytes. OpenAI answers
//! a score from 0 to 1 for each of its categories; a score at or above the
//! category's `deny_at` refuses under the category of our terms it maps to
//! ([`config::CATEGORIES`]), one at or above its `flag_at` lets the request
//! through and records it for review.
//!
//! OpenAI's moderation takes one image per call, so the text goes with the
//! first image and every further image is a call of its own; the first
//! refusal ends the check.
//!
//! It fails closed: a non-2xx answer (429, 5xx…), a timeout, an answer that
//! is not the documented JSON, or one that lacks the score of a category
//! the configuration checks, is an error, and the gateway refuses the
//! request (503, nothing charged). The gateway injects the operator's
//! `openai-moderation` credential as `Authorization: Bearer …`; this plugin
//! never sees it.
//!
//! The crate is organised as: the configuration ([`config`]), and here
//! what is sent ([`request_calls`], [`output_calls`], [`body`]), how the
//! answer is read ([`parse_scores`]) and judged ([`judge`], [`check`]), all
//! free of host calls so they are tested natively, and the glue to the WIT
//! interface.

pub mod config;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

use imini_sdk::upstream::{Call, UpstreamErrors};
use imini_sdk::{
    Blob, GenerationRequest, Media, MediaData, MediaKind, PluginError, Policy, PolicyInfo, Verdict,
    export_policy, host, http,
};
use serde_json::{Value, json};

pub use config::Config;

/// The policy's name.
pub const NAME: &str = "policy-openai-moderation";
/// The credential the operator configures (`[credentials.openai-moderation]`).
pub const CREDENTIAL: &str = "openai-moderation";

/// One item of OpenAI's multi-modal moderation input.
#[derive(Debug, Clone, PartialEq)]
pub enum Item {
    /// `{"type": "text", "text": …}`.
    Text(String),
    /// `{"type": "image_url", "image_url": {"url": …}}`: a `data:` URL, or
    /// the URL an output is at.
    Image(String),
}

impl Item {
    fn to_json(&self) -> Value {
        match self {
            Item::Text(text) => json!({"type": "text", "text": text}),
            Item::Image(url) => json!({"type": "image_url", "image_url": {"url": url}}),
        }
    }
}

/// One call to the moderation endpoint, and what it checks (for the
/// operator's record: "the prompt", "reference image 2"…).
#[derive(Debug, Clone, PartialEq)]
pub struct ModerationCall {
    /// What the items are, in words.
    pub what: String,
    /// The input items.
    pub items: Vec<Item>,
}

/// Reads a blob's bytes.
pub type BlobReader<'a> = dyn FnMut(Blob) -> Result<Vec<u8>, PluginError> + 'a;

fn is_image(kind: MediaKind, mime: &str) -> bool {
    matches!(kind, MediaKind::Image) || mime.trim().to_ascii_lowercase().starts_with("image/")
}

/// Splits texts and images into calls: the text with the first image,
/// then one call per further image (OpenAI's moderation takes one image a
/// call). Nothing to check: no call.
fn calls(text: Option<(String, String)>, images: Vec<(String, String)>) -> Vec<ModerationCall> {
    let mut out = Vec::new();
    let mut images = images.into_iter();
    if let Some((what, text)) = text {
        let mut call = ModerationCall {
            what,
            items: vec![Item::Text(text)],
        };
        if let Some((what, url)) = images.next() {
            call.what = format!("{} and {what}", call.what);
            call.items.push(Item::Image(url));
        }
        out.push(call);
    }
    out.extend(images.map(|(what, url)| ModerationCall {
        what,
        items: vec![Item::Image(url)],
    }));
    out
}

/// What a request is checked on: its prompt (and, unless the operator
/// turned it off, its negative prompt, labelled) and its reference images
/// as `data:` URLs of the bytes the gateway holds. Video and audio
/// references are not sent: OpenAI's moderation does not read them.
pub fn request_calls(
    config: &Config,
    req: &GenerationRequest,
    read_blob: &mut BlobReader<'_>,
) -> Result<Vec<ModerationCall>, PluginError> {
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
    let text = (!text.is_empty()).then_some((what, text));
    let mut images = Vec::new();
    for (i, r) in req.references.iter().enumerate() {
        if !is_image(r.kind, &r.mime) {
            continue;
        }
        let bytes = read_blob(r.data)?;
        images.push((
            format!("reference image {}", i + 1),
            imini_sdk::media::data_url(r.mime.trim(), &bytes),
        ));
    }
    Ok(calls(text, images))
}

/// What outputs are checked on: the text they came with (a revised
/// prompt, a caption) and every image, from its bytes (inline or held by
/// the gateway) or its URL. Videos and audio are not sent.
pub fn output_calls(
    outputs: &[Media],
    read_blob: &mut BlobReader<'_>,
) -> Result<Vec<ModerationCall>, PluginError> {
    let texts: Vec<&str> = outputs
        .iter()
        .filter_map(|m| m.text.as_deref().map(str::trim))
        .filter(|t| !t.is_empty())
        .collect();
    let text = (!texts.is_empty()).then(|| ("the outputs' text".to_string(), texts.join("\n\n")));
    let mut images = Vec::new();
    for (i, m) in outputs.iter().enumerate() {
        if !is_image(m.kind, &m.mime) {
            continue;
        }
        let url = match &m.data {
            MediaData::Bytes(bytes) => imini_sdk::media::data_url(m.mime.trim(), bytes),
            MediaData::Blob(handle) => {
                imini_sdk::media::data_url(m.mime.trim(), &read_blob(*handle)?)
            }
            MediaData::Url(url) => url.clone(),
        };
        images.push((format!("output {}", i + 1), url));
    }
    Ok(calls(text, images))
}

/// OpenAI's request body for one call.
pub fn body(config: &Config, call: &ModerationCall) -> Value {
    json!({
        "model": config.model,
        "input": call.items.iter().map(Item::to_json).collect::<Vec<_>>(),
    })
}

/// What OpenAI answered: the model that scored, and each category's
/// highest score over the results.
#[derive(Debug, Clone, PartialEq)]
pub struct Scores {
    /// The `model` of the answer (a snapshot, e.g. `omni-moderation-2024-09-26`).
    pub model: Option<String>,
    /// Category name to score.
    pub scores: BTreeMap<String, f64>,
}

/// Reads OpenAI's answer, `{"id", "model", "results": [{"flagged",
/// "categories", "category_scores", "category_applied_input_types"}]}`.
/// Anything else (not JSON, no results, a score that is not a number
/// between 0 and 1) is an upstream error, so the check fails closed.
pub fn parse_scores(body: &[u8]) -> Result<Scores, PluginError> {
    let malformed =
        |what: &str| PluginError::upstream(format!("OpenAI moderation answered {what}"));
    let answer: Value = serde_json::from_slice(body)
        .map_err(|e| malformed(&format!("something that is not JSON ({e})")))?;
    let results = answer
        .get("results")
        .and_then(Value::as_array)
        .filter(|r| !r.is_empty())
        .ok_or_else(|| malformed("no results"))?;
    let mut scores: BTreeMap<String, f64> = BTreeMap::new();
    for (i, result) in results.iter().enumerate() {
        let map = result
            .get("category_scores")
            .and_then(Value::as_object)
            .ok_or_else(|| malformed(&format!("a result without category_scores (result {i})")))?;
        for (name, score) in map {
            let score = score
                .as_f64()
                .filter(|s| (0.0..=1.0).contains(s))
                .ok_or_else(|| {
                    malformed(&format!(
                        "a score of {name} that is not between 0 and 1: {score}"
                    ))
                })?;
            let best = scores.entry(name.clone()).or_insert(score);
            *best = best.max(score);
        }
    }
    Ok(Scores {
        model: answer
            .get("model")
            .and_then(Value::as_str)
            .map(str::to_string),
        scores,
    })
}

/// A category at or above one of its thresholds.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    /// Refuse (at or above `deny_at`) or only flag.
    pub deny: bool,
    /// The category the verdict names.
    pub category: String,
    /// The reason kept for operators.
    pub reason: String,
    /// The score, to keep the strongest finding.
    pub score: f64,
}

/// Judges one call's scores under the configuration: the strongest refusal,
/// else the strongest flag, else none. A category the configuration checks
/// that the answer does not score is an error (a model that does not know
/// it: disable the category).
pub fn judge(config: &Config, what: &str, scores: &Scores) -> Result<Option<Finding>, PluginError> {
    let mut best: Option<Finding> = None;
    for rule in &config.rules {
        let score = *scores.scores.get(rule.name).ok_or_else(|| {
            PluginError::upstream(format!(
                "OpenAI moderation gave no score for {:?}; if the model {:?} does not score it, set categories.{}.enabled = false",
                rule.name, config.model, rule.name
            ))
        })?;
        let (deny, at) = if score >= rule.deny_at {
            (true, rule.deny_at)
        } else {
            match rule.flag_at {
                Some(flag_at) if score >= flag_at => (false, flag_at),
                _ => continue,
            }
        };
        let stronger = best
            .as_ref()
            .is_none_or(|b| (deny, score) > (b.deny, b.score));
        if stronger {
            let model = scores.model.as_deref().unwrap_or(&config.model);
            best = Some(Finding {
                deny,
                category: rule.category.clone(),
                reason: format!(
                    "OpenAI moderation ({model}) on {what}: {} scored {score:.3}, {} at {at}",
                    rule.name,
                    if deny { "refused" } else { "flagged" }
                ),
                score,
            });
        }
    }
    Ok(best)
}

/// The typed error for a non-2xx answer, with OpenAI's error message when
/// its body is OpenAI's `{"error": {"message", …}}`.
pub fn upstream_error(response: &http::Response) -> PluginError {
    let detail = serde_json::from_slice::<Value>(&response.body)
        .ok()
        .and_then(|v| match v.get("error")? {
            Value::String(m) => Some(m.clone()),
            e => e.get("message")?.as_str().map(str::to_string),
        });
    UpstreamErrors::new("OpenAI moderation").error(response, detail, Call::Create)
}

/// Runs `calls` through `send` (one HTTP exchange with the endpoint) and
/// judges each answer; the first refusal ends the check, otherwise the
/// strongest flag is the verdict.
pub fn check(
    config: &Config,
    calls: &[ModerationCall],
    send: &mut dyn FnMut(&Value) -> Result<http::Response, PluginError>,
) -> Result<Verdict, PluginError> {
    let mut flag: Option<Finding> = None;
    for call in calls {
        let response = send(&body(config, call))?;
        if !response.is_success() {
            return Err(upstream_error(&response));
        }
        match judge(config, &call.what, &parse_scores(&response.body)?)? {
            Some(f) if f.deny => return Ok(Verdict::deny(&f.category, f.reason)),
            Some(f) if flag.as_ref().is_none_or(|b| f.score > b.score) => flag = Some(f),
            _ => {}
        }
    }
    Ok(match flag {
        Some(f) => Verdict::flag(&f.category, f.reason),
        None => Verdict::allow(),
    })
}

/// One exchange with OpenAI's moderation endpoint.
fn send(config: &Config, body: &Value) -> Result<http::Response, PluginError> {
    let url = format!("{}/v1/moderations", config.api.base_url);
    config
        .api
        .request("POST", &url, CREDENTIAL, "authorization", "Bearer ")
        .json(body)?
        .send()
}

/// The live configuration.
fn load() -> Result<Config, PluginError> {
    Config::from_json(&host::config())
}

struct OpenAiModeration;

impl Policy for OpenAiModeration {
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
        let calls = request_calls(&config, &req, &mut host::blob_read_all)?;
        check(&config, &calls, &mut |body| send(&config, body))
    }

    fn check_output(_req: GenerationRequest, outputs: Vec<Media>) -> Result<Verdict, PluginError> {
        let config = load()?;
        let calls = output_calls(&outputs, &mut host::blob_read_all)?;
        check(&config, &calls, &mut |body| send(&config, body))
    }
}

export_policy!(OpenAiModeration);

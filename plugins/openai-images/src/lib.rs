//! # openai-images: OpenAI's Images API behind imini
//!
//! Adapts OpenAI's synchronous `POST /v1/images/generations` for two models:
//! `openai/gpt-image-1` and `openai/dall-e-3`. The gateway injects the
//! operator's `openai` credential as `Authorization: Bearer …`; this plugin
//! never sees it.
//!
//! Operator configuration (`[plugin_settings.openai-images.config]`), all
//! optional:
//!
//! - `base_url`: the API's origin, default `https://api.openai.com` (a
//!   trailing `/v1`, as OpenAI's SDKs spell it, is accepted too).
//! - `timeout_ms`: how long one generation may take, default 120000 (the
//!   gateway also caps it with the plugin's call deadline).
//! - `organization`, `project`: sent as `OpenAI-Organization` and
//!   `OpenAI-Project` when set.
//!
//! Outputs are asked for as base64 (`gpt-image-1` always answers so; for
//! `dall-e-3` the plugin asks `response_format: b64_json`), so no download
//! host beyond the API is needed. An output given as a `url` is handed to the
//! gateway, which downloads it only from the plugin's allowed hosts.

use imini_sdk::upstream::{ApiDefaults, ApiSettings, Call, UpstreamErrors};
use imini_sdk::{
    ErrorKind, GenerationRequest, GenerationResult, Media, MediaData, ModelInfo, PluginError,
    Provider, Size, export_provider, host, http,
};
use serde_json::{Map, Value, json};

/// The public id of OpenAI's GPT Image 1.
pub const GPT_IMAGE_1: &str = "openai/gpt-image-1";
/// The public id of OpenAI's DALL·E 3.
pub const DALL_E_3: &str = "openai/dall-e-3";

/// The defaults of the operator's settings; every path carries `/v1`, so a
/// `base_url` ending in `/v1` is accepted too. The API is synchronous:
/// `poll_interval_ms` does not apply.
const DEFAULTS: ApiDefaults = ApiDefaults {
    base_url: "https://api.openai.com",
    timeout_ms: 120_000,
    poll_interval_ms: 1_000,
    strip_v1: true,
};
/// The credential the operator configures (`[credentials.openai]`).
const CREDENTIAL: &str = "openai";

/// Parameters of the caller's `extra_params` (where the gateway's
/// OpenAI-compatible face also puts `quality`, `style`, `background`,
/// `moderation` and `user`) that go to OpenAI unchanged. OpenAI decides
/// which model accepts which, and says so in a 400 otherwise.
const PASSTHROUGH: &[&str] = &[
    "quality",
    "style",
    "background",
    "output_format",
    "output_compression",
    "moderation",
    "user",
];

/// Error codes OpenAI uses when its own safety rules refuse a request.
const CONTENT_POLICY_CODES: &[&str] = &["content_policy_violation", "moderation_blocked"];

/// One model this plugin serves.
struct Model {
    id: &'static str,
    /// The model name on OpenAI's wire.
    upstream: &'static str,
    name: &'static str,
    description: &'static str,
    sizes: &'static [(u32, u32)],
    max_n: u32,
    /// Whether to ask `response_format: b64_json` (models that default to URLs).
    ask_b64: bool,
}

const MODELS: &[Model] = &[
    Model {
        id: GPT_IMAGE_1,
        upstream: "gpt-image-1",
        name: "GPT Image 1",
        description: "OpenAI's natively multimodal image model: close prompt following and legible text in images",
        sizes: &[(1024, 1024), (1536, 1024), (1024, 1536)],
        max_n: 4,
        ask_b64: false,
    },
    Model {
        id: DALL_E_3,
        upstream: "dall-e-3",
        name: "DALL·E 3",
        description: "OpenAI's DALL·E 3: detailed images that follow long prompts; one image per request",
        sizes: &[(1024, 1024), (1792, 1024), (1024, 1792)],
        max_n: 1,
        ask_b64: true,
    },
];

impl Model {
    fn info(&self) -> ModelInfo {
        let mut info =
            ModelInfo::image(self.id, self.name, self.description, Size::new(1024, 1024));
        info.sizes = self.sizes.iter().map(|&(w, h)| Size::new(w, h)).collect();
        let (min, max) = self.sizes.iter().fold(
            ((u32::MAX, u32::MAX), (0, 0)),
            |((min_w, min_h), (max_w, max_h)), &(w, h)| {
                ((min_w.min(w), min_h.min(h)), (max_w.max(w), max_h.max(h)))
            },
        );
        info.min_size = Size::new(min.0, min.1);
        info.max_size = Size::new(max.0, max.1);
        info.max_n = self.max_n;
        info.supports_seed = false;
        info
    }
}

/// The operator's settings for this plugin.
struct Settings {
    /// `base_url` and `timeout_ms`.
    api: ApiSettings,
    organization: Option<String>,
    project: Option<String>,
}

impl Settings {
    fn load() -> Result<Self, PluginError> {
        Self::from_config(&host::config())
    }

    fn from_config(config: &Value) -> Result<Self, PluginError> {
        let text = |key: &str| host::config_text(config, key);
        Ok(Self {
            api: ApiSettings::from_config(config, &DEFAULTS)?,
            organization: text("organization")?,
            project: text("project")?,
        })
    }

    /// A request to OpenAI's API carrying the operator's key, and the
    /// organization and project when set.
    fn call(&self, method: &str, url: &str) -> http::Request {
        let mut call = self
            .api
            .request(method, url, CREDENTIAL, "authorization", "Bearer ");
        if let Some(org) = &self.organization {
            call = call.header("openai-organization", org);
        }
        if let Some(project) = &self.project {
            call = call.header("openai-project", project);
        }
        call
    }
}

struct OpenAiImages;

impl Provider for OpenAiImages {
    fn validate_config(config: &Value) -> Result<(), PluginError> {
        Settings::from_config(config).map(|_| ())
    }

    fn models() -> Vec<ModelInfo> {
        MODELS.iter().map(Model::info).collect()
    }

    fn generate(req: GenerationRequest) -> Result<GenerationResult, PluginError> {
        let model = MODELS
            .iter()
            .find(|m| m.id == req.model)
            .ok_or_else(|| PluginError::unknown_model(&req.model))?;
        let settings = Settings::load()?;
        let body = request_body(model, &req)?;

        let url = format!("{}/v1/images/generations", settings.api.base_url);
        let response = settings.call("POST", &url).json(&body)?.send()?;
        if !response.is_success() {
            return Err(upstream_error(&response));
        }
        parse_result(model, &req, &body, &response)
    }
}

/// OpenAI's request body for `req`.
fn request_body(model: &Model, req: &GenerationRequest) -> Result<Map<String, Value>, PluginError> {
    if req.negative_prompt.is_some() {
        return Err(PluginError::invalid_request(format!(
            "{} does not accept negative_prompt; describe what you want in the prompt instead",
            model.id
        )));
    }
    if req.seed.is_some() {
        return Err(PluginError::invalid_request(format!(
            "{} does not accept a seed",
            model.id
        )));
    }
    if !req.references.is_empty() {
        return Err(PluginError::invalid_request(format!(
            "{} does not accept reference images here",
            model.id
        )));
    }
    let extra = req.extra_params()?;
    let Value::Object(extra) = extra else {
        return Err(PluginError::invalid_request(
            "extra_params must be a JSON object",
        ));
    };

    let mut body = Map::new();
    body.insert("model".into(), json!(model.upstream));
    body.insert("prompt".into(), json!(req.prompt));
    body.insert("n".into(), json!(req.n.max(1)));
    body.insert(
        "size".into(),
        json!(format!("{}x{}", req.size.width, req.size.height)),
    );
    for key in PASSTHROUGH {
        if let Some(value) = extra.get(*key).filter(|v| !v.is_null()) {
            body.insert((*key).to_string(), value.clone());
        }
    }
    if model.ask_b64 {
        body.insert("response_format".into(), json!("b64_json"));
    }
    Ok(body)
}

/// Reads OpenAI's success body: `{"created", "data": [{"b64_json"} |
/// {"url"}, with "revised_prompt"], "usage", …}`.
fn parse_result(
    model: &Model,
    req: &GenerationRequest,
    body: &Map<String, Value>,
    response: &http::Response,
) -> Result<GenerationResult, PluginError> {
    let answer: Value = response.json()?;
    let items = answer
        .get("data")
        .and_then(Value::as_array)
        .ok_or_else(|| PluginError::upstream("OpenAI's answer has no data list"))?;
    if items.is_empty() {
        return Err(PluginError::upstream("OpenAI answered no images"));
    }
    // The format OpenAI says it used, else the one asked for, else its default.
    let format = answer
        .get("output_format")
        .and_then(Value::as_str)
        .or_else(|| body.get("output_format").and_then(Value::as_str))
        .unwrap_or("png");
    let declared_mime = mime_of_format(format);

    let mut outputs = Vec::with_capacity(items.len());
    for (i, item) in items.iter().take(req.n.max(1) as usize).enumerate() {
        let (mime, data) = if let Some(b64) = item.get("b64_json").and_then(Value::as_str) {
            let bytes = imini_sdk::media::decode_base64(&format!("OpenAI's image {i}"), b64)?;
            (
                sniff_mime(&bytes).unwrap_or(declared_mime),
                MediaData::Bytes(bytes),
            )
        } else if let Some(url) = item.get("url").and_then(Value::as_str) {
            (declared_mime, MediaData::Url(url.to_string()))
        } else {
            return Err(PluginError::upstream(format!(
                "OpenAI's image {i} has neither b64_json nor url"
            )));
        };
        // OpenAI does not say the size it made (gpt-image-1 may choose):
        // 0 x 0 lets the gateway read it from the image.
        let mut media = Media::image(mime, 0, 0, data);
        media.text = item
            .get("revised_prompt")
            .and_then(Value::as_str)
            .map(str::to_string);
        outputs.push(media);
    }

    let mut metadata = Map::new();
    metadata.insert("upstream_model".into(), json!(model.upstream));
    for key in ["created", "usage", "quality", "background", "output_format"] {
        if let Some(v) = answer.get(key).filter(|v| !v.is_null()) {
            metadata.insert(key.to_string(), v.clone());
        }
    }
    Ok(GenerationResult {
        outputs,
        metadata: Value::Object(metadata).to_string(),
    })
}

fn mime_of_format(format: &str) -> &'static str {
    match format.to_ascii_lowercase().as_str() {
        "jpeg" | "jpg" => "image/jpeg",
        "webp" => "image/webp",
        _ => "image/png",
    }
}

/// The image type from its first bytes, when recognisable.
fn sniff_mime(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("image/jpeg")
    } else if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        Some("image/webp")
    } else {
        None
    }
}

/// OpenAI's documented error body: `{"error": {"message", "type", "param",
/// "code"}}`.
#[derive(Debug, Default)]
struct OpenAiError {
    message: Option<String>,
    kind: Option<String>,
    param: Option<String>,
    code: Option<String>,
}

impl OpenAiError {
    fn parse(body: &[u8]) -> Option<Self> {
        let value: Value = serde_json::from_slice(body).ok()?;
        let text = |v: &Value, key: &str| {
            v.get(key)
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
        };
        match value.get("error")? {
            Value::String(message) => Some(Self {
                message: Some(message.clone()),
                ..Self::default()
            }),
            error @ Value::Object(_) => Some(Self {
                message: text(error, "message"),
                kind: text(error, "type"),
                param: text(error, "param"),
                code: text(error, "code"),
            }),
            _ => None,
        }
    }

    fn is_content_policy(&self) -> bool {
        [&self.code, &self.kind]
            .iter()
            .filter_map(|s| s.as_deref())
            .any(|c| CONTENT_POLICY_CODES.contains(&c))
    }

    fn describe(&self) -> String {
        let mut out = self
            .message
            .clone()
            .unwrap_or_else(|| "(no message)".to_string());
        let details: Vec<String> = [("param", &self.param), ("code", &self.code)]
            .iter()
            .filter_map(|(name, v)| v.as_ref().map(|v| format!("{name}: {v}")))
            .collect();
        if !details.is_empty() {
            out.push_str(&format!(" ({})", details.join(", ")));
        }
        out
    }
}

/// The typed error for a non-2xx answer: the SDK's classification (see
/// [`UpstreamErrors`]) with OpenAI's own error body, which also tells a
/// refusal of OpenAI's safety rules and an account out of money.
fn upstream_error(response: &http::Response) -> PluginError {
    let detail = OpenAiError::parse(&response.body);
    let mut error = UpstreamErrors::new("OpenAI").error(
        response,
        detail.as_ref().map(OpenAiError::describe),
        Call::Create,
    );
    let Some(detail) = detail else {
        return error;
    };
    if detail.is_content_policy() {
        return PluginError::new(ErrorKind::ContentPolicy, error.message).retryable(false);
    }
    if detail.code.as_deref() == Some("insufficient_quota") {
        // The account is out of money, not momentarily over a rate.
        error.retryable = false;
        error.retry_after_ms = None;
    }
    error
}

export_provider!(OpenAiImages);

#[cfg(test)]
mod tests {
    use super::*;

    fn request(model: &str, extra: Value) -> GenerationRequest {
        GenerationRequest {
            size: Size::new(1024, 1536),
            extra_params: extra.to_string(),
            ..GenerationRequest::image(model, "a lighthouse")
        }
    }

    fn response(status: u16, headers: &[(&str, &str)], body: Value) -> http::Response {
        http::Response::new(status, headers, body.to_string())
    }

    fn model(id: &str) -> &'static Model {
        MODELS.iter().find(|m| m.id == id).unwrap()
    }

    fn error_body(message: &str, code: Value) -> Value {
        json!({"error": {"message": message, "type": "invalid_request_error", "param": null, "code": code}})
    }

    #[test]
    fn models_declare_openais_sizes() {
        let infos = <OpenAiImages as Provider>::models();
        let gpt = &infos[0];
        assert_eq!(gpt.id, GPT_IMAGE_1);
        assert_eq!((gpt.max_n, gpt.supports_seed), (4, false));
        let wh = |s: Size| (s.width, s.height);
        assert_eq!(
            (wh(gpt.min_size), wh(gpt.max_size)),
            ((1024, 1024), (1536, 1536))
        );
        let dalle = &infos[1];
        assert_eq!(dalle.max_n, 1);
        assert_eq!(wh(dalle.max_size), (1792, 1792));
        assert_eq!(wh(dalle.default_size), (1024, 1024));
    }

    #[test]
    fn the_body_follows_openais_wire_format() {
        let extra = json!({"quality": "hd", "style": "vivid", "user": "u-1", "other": 1, "background": null});
        let body = request_body(model(DALL_E_3), &request(DALL_E_3, extra)).unwrap();
        assert_eq!(
            Value::Object(body),
            json!({"model": "dall-e-3", "prompt": "a lighthouse", "n": 1, "size": "1024x1536",
                   "quality": "hd", "style": "vivid", "user": "u-1", "response_format": "b64_json"})
        );
        let body = request_body(model(GPT_IMAGE_1), &request(GPT_IMAGE_1, json!({}))).unwrap();
        assert!(!body.contains_key("response_format"));

        let mut seeded = request(GPT_IMAGE_1, json!({}));
        seeded.seed = Some(7);
        let e = request_body(model(GPT_IMAGE_1), &seeded).unwrap_err();
        assert_eq!(e.kind, ErrorKind::InvalidRequest);
    }

    #[test]
    fn base64_and_url_outputs_are_read() {
        let png = b"\x89PNG\r\n\x1a\nrest".to_vec();
        let req = request(GPT_IMAGE_1, json!({}));
        let answer = json!({"created": 1, "data": [{"b64_json": imini_sdk::media::encode_base64(&png)}],
                            "usage": {"total_tokens": 3}});
        let result = parse_result(
            model(GPT_IMAGE_1),
            &req,
            &Map::new(),
            &response(200, &[], answer),
        )
        .unwrap();
        assert_eq!(result.outputs.len(), 1);
        assert_eq!(result.outputs[0].mime, "image/png");
        assert_eq!(
            (result.outputs[0].width, result.outputs[0].height),
            (0, 0),
            "the size is left for the gateway to read from the image"
        );
        assert!(matches!(&result.outputs[0].data, MediaData::Bytes(b) if *b == png));
        let metadata: Value = serde_json::from_str(&result.metadata).unwrap();
        assert_eq!(metadata["usage"]["total_tokens"], 3);

        let mut body = Map::new();
        body.insert("output_format".into(), json!("webp"));
        let answer =
            json!({"created": 1, "data": [{"url": "https://x/y.webp", "revised_prompt": "r"}]});
        let result =
            parse_result(model(DALL_E_3), &req, &body, &response(200, &[], answer)).unwrap();
        assert_eq!(result.outputs[0].mime, "image/webp");
        assert_eq!(result.outputs[0].text.as_deref(), Some("r"));
        assert!(matches!(&result.outputs[0].data, MediaData::Url(u) if u == "https://x/y.webp"));

        let broken = http::Response {
            status: 200,
            headers: Vec::new(),
            body: b"{\"data\": [".to_vec(),
        };
        let e = parse_result(model(GPT_IMAGE_1), &req, &Map::new(), &broken).unwrap_err();
        assert_eq!((e.kind, e.retryable), (ErrorKind::Upstream, true));
    }

    #[test]
    fn settings_have_defaults_and_openais_extra_keys() {
        let s = Settings::from_config(&json!({})).unwrap();
        assert_eq!(
            (s.api.base_url.as_str(), s.api.timeout_ms),
            ("https://api.openai.com", 120_000)
        );
        assert_eq!((s.organization, s.project), (None, None));

        let s = Settings::from_config(&json!({
            "base_url": " http://127.0.0.1:9/v1// ", "timeout_ms": 900,
            "organization": " org-1 ", "project": null,
        }))
        .unwrap();
        assert_eq!(
            (s.api.base_url.as_str(), s.api.timeout_ms),
            ("http://127.0.0.1:9", 900)
        );
        assert_eq!(
            (s.organization.as_deref(), s.project.as_deref()),
            (Some("org-1"), None)
        );

        for (config, message) in [
            (
                json!({"base_url": ""}),
                "plugin configuration: base_url must be an http(s) URL (got \"\")",
            ),
            (
                json!({"timeout_ms": 0}),
                "plugin configuration: timeout_ms must be a positive whole number of milliseconds (got 0)",
            ),
            (
                json!({"timeout_ms": "1s"}),
                "plugin configuration: timeout_ms must be a positive whole number of milliseconds (got \"1s\")",
            ),
            (
                json!({"project": 3}),
                "plugin configuration: project must be a non-empty string (got 3)",
            ),
        ] {
            let Err(e) = Settings::from_config(&config) else {
                panic!("{config} is accepted")
            };
            assert_eq!(
                (e.kind, e.message.as_str()),
                (ErrorKind::InvalidRequest, message)
            );
        }
    }

    #[test]
    fn errors_are_classified_from_status_and_openais_body() {
        let e = upstream_error(&response(
            400,
            &[],
            error_body("Invalid size", json!("invalid_value")),
        ));
        assert_eq!((e.kind, e.retryable), (ErrorKind::InvalidRequest, false));
        assert!(e.message.contains("Invalid size"), "{}", e.message);

        let e = upstream_error(&response(
            400,
            &[],
            error_body("rejected", json!("content_policy_violation")),
        ));
        assert_eq!((e.kind, e.retryable), (ErrorKind::ContentPolicy, false));

        let e = upstream_error(&response(
            400,
            &[],
            error_body("rejected", json!("moderation_blocked")),
        ));
        assert_eq!(e.kind, ErrorKind::ContentPolicy);

        let e = upstream_error(&response(401, &[], error_body("bad key", Value::Null)));
        assert_eq!(e.kind, ErrorKind::Unauthorized);

        let e = upstream_error(&response(
            429,
            &[("retry-after", "7")],
            error_body("slow down", json!("rate_limit_exceeded")),
        ));
        assert_eq!(
            (e.kind, e.retryable, e.retry_after_ms),
            (ErrorKind::RateLimited, true, Some(7_000))
        );

        let e = upstream_error(&response(
            429,
            &[],
            error_body("quota", json!("insufficient_quota")),
        ));
        assert_eq!((e.kind, e.retryable), (ErrorKind::RateLimited, false));

        let e = upstream_error(&response(503, &[], json!("overloaded")));
        assert_eq!((e.kind, e.retryable), (ErrorKind::Upstream, true));
    }
}

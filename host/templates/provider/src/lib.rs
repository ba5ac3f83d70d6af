//! {{name}}: an imini provider plugin for an OpenAI-compatible image API.
//!
//! `generate` posts the prompt, count and size to
//! `{base_url}/v1/images/generations` with the `{{name}}` credential and
//! returns the base64 images it answers. The operator configures
//! `base_url` (`[plugin_settings.{{name}}.config]`).
//!
//! Build: `cargo build --target wasm32-wasip2 --release`.
//! Test:  `cargo test` (the request and answer mapping, on this machine).

use imini_sdk::{
    GenerationRequest, GenerationResult, Media, MediaData, ModelInfo, PluginError, Provider, Size,
    export_provider, host, http,
};
use serde_json::{Value, json};

/// The model it serves: `vendor/name`, lowercase.
const MODEL: &str = "{{name}}/image";

struct Plugin;

impl Provider for Plugin {
    /// The gateway asks before a configuration goes live: one without a
    /// usable `base_url` is refused, with this reason.
    fn validate_config(config: &Value) -> Result<(), PluginError> {
        base_url(config).map(|_| ())
    }

    fn models() -> Vec<ModelInfo> {
        vec![ModelInfo::image(
            MODEL,
            "{{name}} image",
            "Images from an OpenAI-compatible API",
            Size::new(1024, 1024),
        )]
    }

    fn generate(req: GenerationRequest) -> Result<GenerationResult, PluginError> {
        let url = format!("{}/v1/images/generations", base_url(&host::config())?);
        let response = http::Request::post(&url)
            .credential("{{name}}", "authorization", "Bearer ")
            .json(&request_body(&req))?
            .send()?
            .error_for_status()?;
        outputs(&response.json()?)
    }
}

/// The API's origin from the configuration: an http(s) URL, without a
/// trailing slash.
fn base_url(config: &Value) -> Result<String, PluginError> {
    config
        .get("base_url")
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|u| u.starts_with("http://") || u.starts_with("https://"))
        .map(|u| u.trim_end_matches('/').to_string())
        .ok_or_else(|| {
            PluginError::invalid_request(
                "base_url must be the API's http(s) URL, e.g. \"https://api.example.com\"",
            )
            .with_param("base_url")
        })
}

/// The body the API expects.
fn request_body(req: &GenerationRequest) -> Value {
    json!({
        "prompt": req.prompt,
        "n": req.n,
        "size": format!("{}x{}", req.size.width, req.size.height),
        "response_format": "b64_json",
    })
}

/// The images of an answer. Their size is left at 0 x 0: the gateway reads
/// it from each image.
fn outputs(answer: &Value) -> Result<GenerationResult, PluginError> {
    let items = answer
        .get("data")
        .and_then(Value::as_array)
        .ok_or_else(|| PluginError::upstream("the answer has no data"))?;
    let mut outputs = Vec::new();
    for item in items {
        let b64 = item
            .get("b64_json")
            .and_then(Value::as_str)
            .ok_or_else(|| PluginError::upstream("an image has no b64_json"))?;
        let bytes = imini_sdk::media::decode_base64("an image", b64)?;
        outputs.push(Media::image("image/png", 0, 0, MediaData::Bytes(bytes)));
    }
    if outputs.is_empty() {
        return Err(PluginError::upstream("the answer has no image"));
    }
    Ok(GenerationResult::new(outputs))
}

export_provider!(Plugin);

#[cfg(test)]
mod tests {
    use super::*;

    fn request(prompt: &str) -> GenerationRequest {
        GenerationRequest {
            n: 2,
            size: Size::new(512, 768),
            ..GenerationRequest::image(MODEL, prompt)
        }
    }

    #[test]
    fn the_request_carries_the_prompt_count_and_size() {
        assert_eq!(
            request_body(&request("a red fox")),
            json!({"prompt": "a red fox", "n": 2, "size": "512x768", "response_format": "b64_json"})
        );
    }

    #[test]
    fn a_configuration_without_a_usable_base_url_is_refused() {
        for config in [json!({}), json!({"base_url": 3}), json!({"base_url": "api.example.com"})] {
            let e = Plugin::validate_config(&config).unwrap_err();
            assert!(e.message.contains("base_url"), "{config}: {}", e.message);
        }
        assert!(Plugin::validate_config(&json!({"base_url": "https://api.example.com/"})).is_ok());
        assert_eq!(
            base_url(&json!({"base_url": "https://api.example.com/"})).unwrap(),
            "https://api.example.com"
        );
    }

    #[test]
    fn base64_images_become_outputs() {
        let answer = json!({"data": [{"b64_json": "iVBORw0KGgo="}]});
        let result = outputs(&answer).unwrap();
        assert_eq!(result.outputs.len(), 1);
        assert!(matches!(&result.outputs[0].data, MediaData::Bytes(b) if b.starts_with(b"\x89PNG")));
    }

    #[test]
    fn an_answer_without_images_is_an_upstream_error() {
        for answer in [json!({}), json!({"data": []}), json!({"data": [{"url": "x"}]})] {
            assert!(outputs(&answer).is_err(), "{answer}");
        }
    }
}

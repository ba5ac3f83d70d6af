//! A test-only provider that misbehaves on purpose, to prove the sandbox:
//! `test/loop` never returns, `test/oom` allocates without bound,
//! `test/trap` panics, `test/fetch` fetches the configured `allowed_url`
//! with the `sandbox-test` credential and returns the body as a PNG, and
//! `test/forbidden` tries the configured `forbidden_url`, and
//! `test/reference` answers with its first reference medium.

use imini_sdk::{
    GenerationRequest, GenerationResult, Media, MediaData, ModelInfo, PluginError, Provider, Size,
    export_provider, host, http,
};

struct Sandbox;

impl Provider for Sandbox {
    fn models() -> Vec<ModelInfo> {
        ["loop", "oom", "trap", "fetch", "forbidden", "reference"]
            .iter()
            .map(|m| {
                let mut info = ModelInfo::image(
                    &format!("test/{m}"),
                    m,
                    "misbehaves on purpose",
                    Size::new(64, 64),
                );
                info.supports_references = *m == "reference";
                info
            })
            .collect()
    }

    fn generate(req: GenerationRequest) -> Result<GenerationResult, PluginError> {
        host::info(&format!("sandbox guest asked for {}", req.model));
        match req.model.as_str() {
            "test/loop" => {
                let mut x: u64 = 1;
                loop {
                    x = std::hint::black_box(x.wrapping_mul(6364136223846793005).wrapping_add(1));
                }
            }
            "test/oom" => {
                let mut hoard: Vec<Vec<u8>> = Vec::new();
                loop {
                    // Touch every page so the memory is really committed.
                    hoard.push(vec![1u8; 1 << 20]);
                    std::hint::black_box(&hoard);
                }
            }
            "test/trap" => panic!("the sandbox guest panics on purpose"),
            "test/fetch" => fetch("allowed_url"),
            "test/forbidden" => fetch("forbidden_url"),
            "test/reference" => echo_reference(&req),
            other => Err(PluginError::unknown_model(other)),
        }
    }
}

/// Returns the first reference's bytes as the output, read through the
/// host's blob functions.
fn echo_reference(req: &GenerationRequest) -> Result<GenerationResult, PluginError> {
    let first = req
        .references
        .first()
        .ok_or_else(|| PluginError::invalid_request("no reference given"))?;
    let bytes = host::blob_read_all(first.data)?;
    let mut media = Media::image(&first.mime, 64, 64, MediaData::Bytes(bytes));
    media.text = Some(format!(
        "role={} kind={:?} url={:?}",
        first.role, first.kind, first.url
    ));
    Ok(GenerationResult::new(vec![media]))
}

fn fetch(key: &str) -> Result<GenerationResult, PluginError> {
    let config = host::config();
    let url = config
        .get(key)
        .and_then(|u| u.as_str())
        .ok_or_else(|| PluginError::internal(format!("config has no {key}")))?;
    let response = http::Request::get(url)
        .credential("sandbox-test", "authorization", "Bearer ")
        .timeout_ms(5_000)
        .send()?
        .error_for_status()?;
    Ok(GenerationResult::new(vec![Media::image(
        "image/png",
        64,
        64,
        MediaData::Bytes(response.body),
    )]))
}

export_provider!(Sandbox);

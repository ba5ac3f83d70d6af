//! A test-only provider that misbehaves on purpose, to prove the sandbox:
//! `test/loop` never returns, `test/oom` allocates without bound,
//! `test/trap` panics, `test/fetch` fetches the configured `allowed_url`
//! with the `sandbox-test` credential and returns the body as a PNG, and
//! `test/forbidden` tries the configured `forbidden_url`,
//! `test/reference` answers with its first reference medium; and to prove
//! the host's checks of what comes back: `test/bloat` returns 2 MiB of
//! "PNG" (the signature, then zeros), `test/hollow` 4 KiB of the same,
//! `test/liar` the fetched 64x64 PNG declared 128x128, `test/mislabelled`
//! the same declared as JPEG, `test/forbidden-output` the `forbidden_url`
//! as its output, `test/error` an error (after a log line) whose text has
//! a newline, and `test/stuck` fetches the configured `stuck_url`.

use imini_sdk::{
    GenerationRequest, GenerationResult, Media, MediaData, ModelInfo, PluginError, Provider, Size,
    export_provider, host, http,
};

struct Sandbox;

impl Provider for Sandbox {
    /// URLs in the configuration must be text: anything else is refused,
    /// naming the key (WIT 0.2.0's `validate-config`).
    fn validate_config(config: &serde_json::Value) -> Result<(), PluginError> {
        for key in ["allowed_url", "forbidden_url", "stuck_url"] {
            if config.get(key).is_some_and(|v| !v.is_string()) {
                return Err(
                    PluginError::invalid_request(format!("{key} must be a URL in text"))
                        .with_param(key),
                );
            }
        }
        Ok(())
    }

    fn models() -> Vec<ModelInfo> {
        [
            "loop",
            "oom",
            "trap",
            "fetch",
            "forbidden",
            "reference",
            "bloat",
            "hollow",
            "liar",
            "mislabelled",
            "forbidden-output",
            "error",
            "stuck",
        ]
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
            "test/bloat" => Ok(hollow_png(2 << 20)),
            "test/hollow" => Ok(hollow_png(4096)),
            "test/liar" => declared_otherwise("image/png", 128, 128),
            "test/mislabelled" => declared_otherwise("image/jpeg", 64, 64),
            "test/forbidden-output" => {
                let url = config_str("forbidden_url")?;
                Ok(GenerationResult::new(vec![Media::image(
                    "image/png",
                    0,
                    0,
                    MediaData::Url(url),
                )]))
            }
            "test/error" => {
                host::info("about to fail\n2026-12-05T00:00:00.000000Z  INFO imini: forged line");
                Err(PluginError::upstream(
                    "quota exhausted for project p-42\nERROR imini: forged",
                ))
            }
            "test/stuck" => fetch("stuck_url"),
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
    // Its size is the reference's, which the gateway reads from it.
    let mut media = Media::image(&first.mime, 0, 0, MediaData::Bytes(bytes));
    media.text = Some(format!(
        "role={} kind={:?} url={:?}",
        first.role, first.kind, first.url
    ));
    Ok(GenerationResult::new(vec![media]))
}

/// The PNG signature followed by zeros, `len` bytes, declared 64x64.
fn hollow_png(len: usize) -> GenerationResult {
    let mut bytes = b"\x89PNG\r\n\x1a\n".to_vec();
    bytes.resize(len, 0);
    GenerationResult::new(vec![Media::image(
        "image/png",
        64,
        64,
        MediaData::Bytes(bytes),
    )])
}

/// The fetched 64x64 PNG, declared as `mime`, `width` x `height`.
fn declared_otherwise(
    mime: &str,
    width: u32,
    height: u32,
) -> Result<GenerationResult, PluginError> {
    let mut result = fetch("allowed_url")?;
    let media = &mut result.outputs[0];
    media.mime = mime.to_string();
    (media.width, media.height) = (width, height);
    Ok(result)
}

fn config_str(key: &str) -> Result<String, PluginError> {
    host::config()
        .get(key)
        .and_then(|u| u.as_str())
        .map(str::to_string)
        .ok_or_else(|| PluginError::internal(format!("config has no {key}")))
}

fn fetch(key: &str) -> Result<GenerationResult, PluginError> {
    let url = config_str(key)?;
    let response = http::Request::get(&url)
        .credential("sandbox-test", "authorization", "Bearer ")
        .timeout_ms(20_000)
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

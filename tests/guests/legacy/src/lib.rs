//! A provider built against WIT 0.1.0 with wit-bindgen alone, as a plugin
//! built before 0.2.0 is: `test/legacy` draws a square in the grey level
//! the operator configures (`shade`, 0-255) after logging a line, so a test
//! sees its exports, its `host.config` and `host.log` imports work through
//! the host's 0.1.0 adapter; `test/legacy-fail` fails with an upstream
//! error; `submit`, `poll` and `cancel` are refused.

// The generated bindings export the component's functions by name, which
// the workspace's `unsafe_code` lint flags (imini-sdk's macros do the same
// from outside the plugin crate, where the lint does not look).
#![allow(unsafe_code)]

wit_bindgen::generate!({
    world: "provider",
    path: "../../../wit/v0.1",
    generate_all,
});

use exports::imini::plugin::model_provider::{CallMode, Guest, JobStatus, ModelInfo, Submission};
use imini::plugin::host;
use imini::plugin::types::{
    ErrorKind, GenerationRequest, GenerationResult, Media, MediaData, MediaKind, PluginError, Size,
};

struct Legacy;

fn error(kind: ErrorKind, message: &str) -> PluginError {
    PluginError {
        kind,
        message: message.to_string(),
        retryable: false,
        retry_after_ms: None,
    }
}

fn model(id: &str) -> ModelInfo {
    let size = Size {
        width: 64,
        height: 64,
    };
    ModelInfo {
        id: id.to_string(),
        name: "Legacy".to_string(),
        description: "A plugin built against WIT 0.1.0".to_string(),
        kind: MediaKind::Image,
        mode: CallMode::Synchronous,
        max_n: 1,
        sizes: vec![size],
        min_size: size,
        max_size: size,
        aspect_ratios: Vec::new(),
        resolutions: Vec::new(),
        default_size: size,
        durations_ms: Vec::new(),
        supports_seed: false,
        supports_references: false,
    }
}

/// A 64x64 grey PNG.
fn square(shade: u8) -> Vec<u8> {
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, 64, 64);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().expect("header");
    writer
        .write_image_data(&[shade; 64 * 64 * 3])
        .expect("pixels");
    writer.finish().expect("finish");
    out
}

/// The configured `shade`, read by hand from `{"shade": N}`.
fn shade() -> u8 {
    let config = host::config();
    config
        .split_once("\"shade\"")
        .and_then(|(_, rest)| {
            let digits: String = rest
                .trim_start_matches([':', ' '])
                .chars()
                .take_while(char::is_ascii_digit)
                .collect();
            digits.parse().ok()
        })
        .unwrap_or(128)
}

impl Guest for Legacy {
    fn models() -> Vec<ModelInfo> {
        vec![model("test/legacy"), model("test/legacy-fail")]
    }

    fn generate(req: GenerationRequest) -> Result<GenerationResult, PluginError> {
        if req.model == "test/legacy-fail" {
            return Err(error(ErrorKind::Upstream, "the legacy upstream is down"));
        }
        host::log(host::LogLevel::Info, "legacy plugin drawing");
        Ok(GenerationResult {
            outputs: vec![Media {
                kind: MediaKind::Image,
                mime: "image/png".to_string(),
                width: 64,
                height: 64,
                duration_ms: None,
                data: MediaData::Bytes(square(shade())),
                text: None,
            }],
            metadata: "{}".to_string(),
        })
    }

    fn submit(_req: GenerationRequest) -> Result<Submission, PluginError> {
        Err(error(ErrorKind::InvalidRequest, "not asynchronous"))
    }

    fn poll(_model: String, _handle: String) -> Result<JobStatus, PluginError> {
        Err(error(ErrorKind::InvalidRequest, "not asynchronous"))
    }

    fn cancel(_model: String, _handle: String) -> Result<(), PluginError> {
        Err(error(ErrorKind::InvalidRequest, "not asynchronous"))
    }
}

export!(Legacy);

//! # canvas: imini's bundled offline provider
//!
//! Draws real pictures with no network: a deterministic scene derived from the
//! words of the prompt and the seed ([`art`]), as PNG stills
//! (`imini/canvas-image`) or looping GIF animations (`imini/canvas-video`).
//! The video model is asynchronous to exercise the task path: `submit` packs
//! the job into the handle (the plugin keeps no state), `poll` renders it.
//!
//! Both read reference media: an image edit (a reference image, and
//! optionally a `mask` whose transparent part is redrawn) keeps the
//! reference where the mask is opaque, or blends it with the scene without
//! one; an animation with a reference image starts from it (the handle
//! carries a thumbnail of it) and drifts into the scene and back.

pub mod art;

use art::reference::{Mask, Picture};
use base64::Engine as _;
use imini_sdk::{
    GenerationRequest, GenerationResult, JobStatus, Media, MediaData, MediaKind, ModelInfo,
    PluginError, Provider, Size, Submission, export_provider,
};

/// The still-image model.
pub const IMAGE_MODEL: &str = "imini/canvas-image";
/// The animation model.
pub const VIDEO_MODEL: &str = "imini/canvas-video";

/// Frames per second of the animations.
const FPS: u32 = 10;
/// The seed used when the caller gives none: the prompt alone decides.
const DEFAULT_SEED: u64 = 0;

struct Canvas;

impl Provider for Canvas {
    fn models() -> Vec<ModelInfo> {
        let ratios = ["1:1", "16:9", "9:16", "4:3", "3:4", "3:2", "2:3", "21:9"]
            .map(String::from)
            .to_vec();
        let mut image = ModelInfo::image(
            IMAGE_MODEL,
            "Canvas Image",
            "Offline, deterministic PNG scenes drawn from the prompt's words; for trying the API",
            Size::new(1024, 1024),
        );
        image.aspect_ratios = ratios.clone();
        image.resolutions = vec!["512".into(), "1K".into(), "2K".into()];
        image.supports_references = true;

        let mut video = ModelInfo::video(
            VIDEO_MODEL,
            "Canvas Video",
            "Offline, deterministic looping GIF animations drawn from the prompt's words",
            Size::new(640, 360),
            vec![1_000, 2_000, 3_000, 4_000, 5_000],
        );
        video.min_size = Size::new(64, 64);
        video.max_size = Size::new(1280, 1280);
        video.aspect_ratios = ratios;
        video.resolutions = vec!["360p".into(), "480p".into(), "720p".into()];
        video.supports_references = true;
        vec![image, video]
    }

    fn generate(req: GenerationRequest) -> Result<GenerationResult, PluginError> {
        if req.model != IMAGE_MODEL {
            return Err(PluginError::unsupported(&req.model, "generate"));
        }
        let seed = req.seed.unwrap_or(DEFAULT_SEED);
        let Size { width, height } = req.size;
        let (reference, mask) = references(&req)?;
        let outputs = (0..req.n.max(1))
            .map(|i| {
                // Each of the n images gets its own seed, so they differ while
                // the whole set stays reproducible.
                let seed = seed.wrapping_add(i as u64);
                let png = match &reference {
                    Some(r) => {
                        art::render_edit_png(&req.prompt, seed, width, height, r, mask.as_ref())
                    }
                    None => art::render_png(&req.prompt, seed, width, height),
                };
                Media::image("image/png", width, height, MediaData::Bytes(png))
            })
            .collect();
        Ok(GenerationResult::new(outputs))
    }

    fn submit(req: GenerationRequest) -> Result<Submission, PluginError> {
        if req.model != VIDEO_MODEL {
            return Err(PluginError::unsupported(&req.model, "submit"));
        }
        let (reference, _) = references(&req)?;
        let job = Job {
            seed: req.seed.unwrap_or(DEFAULT_SEED),
            width: req.size.width,
            height: req.size.height,
            duration_ms: req.duration_ms.unwrap_or(2_000),
            start: reference.map(|r| r.thumbnail(THUMBNAIL_EDGE)),
            prompt: req.prompt,
        };
        Ok(Submission {
            handle: job.encode(),
            poll_after_ms: Some(0),
        })
    }

    fn poll(model: String, handle: String) -> Result<JobStatus, PluginError> {
        if model != VIDEO_MODEL {
            return Err(PluginError::unsupported(&model, "poll"));
        }
        let job = Job::decode(&handle)?;
        let frames = (job.duration_ms * FPS).div_ceil(1000).max(1);
        let gif = art::render_gif(
            &job.prompt,
            job.seed,
            job.width,
            job.height,
            frames,
            (100 / FPS) as u16,
            job.start.as_ref(),
        );
        let media = Media::video(
            "image/gif",
            job.width,
            job.height,
            job.duration_ms,
            MediaData::Bytes(gif),
        );
        Ok(JobStatus::Succeeded(GenerationResult::new(vec![media])))
    }

    fn cancel(_model: String, _handle: String) -> Result<(), PluginError> {
        // Nothing runs between submit and poll, so there is nothing to stop.
        Ok(())
    }
}

/// The longest side of the reference thumbnail an animation job carries.
const THUMBNAIL_EDGE: u32 = 32;

/// The image to start from and the mask of an edit, from the request's
/// references: the first image that is not a mask, and the first `mask`.
fn references(req: &GenerationRequest) -> Result<(Option<Picture>, Option<Mask>), PluginError> {
    let (mut picture, mut mask) = (None, None);
    for (i, r) in req.references.iter().enumerate() {
        let bytes = || imini_sdk::host::blob_read_all(r.data);
        if r.role == "mask" {
            if mask.is_none() {
                mask = Some(Mask::decode(&bytes()?).ok_or_else(|| {
                    PluginError::invalid_request("the mask must be a PNG with an alpha channel (transparent where the image is to change)")
                        .with_param("mask")
                })?);
            }
        } else if picture.is_none() && matches!(r.kind, MediaKind::Image) {
            picture = Some(Picture::decode(&bytes()?).ok_or_else(|| {
                PluginError::invalid_request(format!(
                    "reference {} could not be read: canvas reads PNG, JPEG and GIF images",
                    i + 1
                ))
            })?);
        }
    }
    if mask.is_some() && picture.is_none() {
        return Err(
            PluginError::invalid_request("a mask needs an image to edit").with_param("mask"),
        );
    }
    Ok((picture, mask))
}

/// An animation job, carried entirely in its handle.
struct Job {
    prompt: String,
    seed: u64,
    width: u32,
    height: u32,
    duration_ms: u32,
    /// A thumbnail of the reference image it starts from.
    start: Option<Picture>,
}

impl Job {
    fn encode(&self) -> String {
        let mut job = serde_json::json!({
            "v": 1, "prompt": self.prompt, "seed": self.seed,
            "width": self.width, "height": self.height, "duration_ms": self.duration_ms,
        });
        if let Some(start) = &self.start {
            let (w, h) = start.size();
            job["start"] = serde_json::json!({
                "width": w, "height": h,
                "rgb": base64::engine::general_purpose::STANDARD.encode(start.rgb()),
            });
        }
        job.to_string()
    }

    fn decode(handle: &str) -> Result<Self, PluginError> {
        let bad = || PluginError::internal("malformed canvas job handle");
        let v: serde_json::Value = serde_json::from_str(handle).map_err(|_| bad())?;
        let num = |k: &str| v.get(k).and_then(serde_json::Value::as_u64).ok_or_else(bad);
        Ok(Self {
            prompt: v
                .get("prompt")
                .and_then(|p| p.as_str())
                .ok_or_else(bad)?
                .to_string(),
            seed: num("seed")?,
            width: u32::try_from(num("width")?).map_err(|_| bad())?,
            height: u32::try_from(num("height")?).map_err(|_| bad())?,
            duration_ms: u32::try_from(num("duration_ms")?).map_err(|_| bad())?,
            start: match v.get("start") {
                None => None,
                Some(start) => {
                    let size = |k: &str| {
                        start
                            .get(k)
                            .and_then(serde_json::Value::as_u64)
                            .and_then(|n| u32::try_from(n).ok())
                            .ok_or_else(bad)
                    };
                    let rgb = start
                        .get("rgb")
                        .and_then(|p| p.as_str())
                        .and_then(|t| base64::engine::general_purpose::STANDARD.decode(t).ok())
                        .ok_or_else(bad)?;
                    Some(Picture::from_rgb(size("width")?, size("height")?, rgb).ok_or_else(bad)?)
                }
            },
        })
    }
}

export_provider!(Canvas);

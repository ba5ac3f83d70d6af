//! The models this plugin serves, and the aspect ratios (with their sizes)
//! FLUX accepts on Replicate.

use imini_sdk::{CallMode, GenerationRequest, ModelInfo, PluginError, Size};

/// The public id of FLUX.1 [schnell] on Replicate.
pub const FLUX_SCHNELL: &str = "replicate/flux-schnell";
/// The public id of FLUX.1 [dev] on Replicate.
pub const FLUX_DEV: &str = "replicate/flux-dev";

/// The aspect ratios FLUX accepts on Replicate and the size each one gives
/// at the default one megapixel.
pub(super) const ASPECT_RATIOS: &[(&str, u32, u32)] = &[
    ("1:1", 1024, 1024),
    ("16:9", 1344, 768),
    ("21:9", 1536, 640),
    ("3:2", 1216, 832),
    ("2:3", 832, 1216),
    ("4:5", 896, 1088),
    ("5:4", 1088, 896),
    ("3:4", 896, 1152),
    ("4:3", 1152, 896),
    ("9:16", 768, 1344),
    ("9:21", 640, 1536),
];

/// One model this plugin serves.
pub(super) struct Model {
    pub(super) id: &'static str,
    /// The official model on Replicate, `owner/name`.
    pub(super) upstream: &'static str,
    name: &'static str,
    description: &'static str,
    pub(super) max_n: u32,
    /// Inputs of the caller's `extra_params` passed to Replicate unchanged;
    /// Replicate validates them and answers 422 otherwise.
    pub(super) passthrough: &'static [&'static str],
}

pub(super) const MODELS: &[Model] = &[
    Model {
        id: FLUX_SCHNELL,
        upstream: "black-forest-labs/flux-schnell",
        name: "FLUX.1 [schnell] (Replicate)",
        description: "Black Forest Labs' fastest FLUX model, in four steps, on Replicate",
        max_n: 4,
        passthrough: &["num_inference_steps", "go_fast"],
    },
    Model {
        id: FLUX_DEV,
        upstream: "black-forest-labs/flux-dev",
        name: "FLUX.1 [dev] (Replicate)",
        description: "Black Forest Labs' open-weight FLUX model: detailed images with close prompt following, on Replicate",
        max_n: 4,
        passthrough: &["num_inference_steps", "guidance", "go_fast"],
    },
];

impl Model {
    pub(super) fn find(id: &str) -> Result<&'static Model, PluginError> {
        MODELS
            .iter()
            .find(|m| m.id == id)
            .ok_or_else(|| PluginError::unknown_model(id))
    }

    pub(super) fn info(&self) -> ModelInfo {
        let mut info =
            ModelInfo::image(self.id, self.name, self.description, Size::new(1024, 1024));
        info.mode = CallMode::Asynchronous;
        info.sizes = ASPECT_RATIOS
            .iter()
            .map(|&(_, w, h)| Size::new(w, h))
            .collect();
        info.aspect_ratios = ASPECT_RATIOS
            .iter()
            .map(|(r, _, _)| r.to_string())
            .collect();
        let (min, max) = ASPECT_RATIOS.iter().fold(
            ((u32::MAX, u32::MAX), (0, 0)),
            |((min_w, min_h), (max_w, max_h)), &(_, w, h)| {
                ((min_w.min(w), min_h.min(h)), (max_w.max(w), max_h.max(h)))
            },
        );
        info.min_size = Size::new(min.0, min.1);
        info.max_size = Size::new(max.0, max.1);
        info.max_n = self.max_n;
        info.supports_seed = true;
        info
    }
}

/// The aspect ratio to ask for, with its output size: the caller's, when
/// Replicate accepts it, else the one whose size is closest to the size the
/// gateway resolved.
pub(super) fn aspect_ratio(req: &GenerationRequest) -> (&'static str, u32, u32) {
    let named = req
        .aspect_ratio
        .as_deref()
        .map(str::trim)
        .and_then(|r| ASPECT_RATIOS.iter().find(|(name, _, _)| *name == r));
    if let Some(&entry) = named {
        return entry;
    }
    if let Some(&entry) = ASPECT_RATIOS
        .iter()
        .find(|(_, w, h)| (*w, *h) == (req.size.width, req.size.height))
    {
        return entry;
    }
    let wanted = f64::from(req.size.width.max(1)) / f64::from(req.size.height.max(1));
    let distance = |w: u32, h: u32| ((f64::from(w) / f64::from(h)) / wanted).ln().abs();
    *ASPECT_RATIOS
        .iter()
        .min_by(|a, b| distance(a.1, a.2).total_cmp(&distance(b.1, b.2)))
        .expect("the table is not empty")
}

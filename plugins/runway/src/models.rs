//! The model this plugin serves, and the ratios (output sizes) and lengths
//! Runway accepts for it.

use imini_sdk::{GenerationRequest, ModelInfo, PluginError, Size};

/// The public id of Gen-4 Turbo on Runway.
pub const GEN4_TURBO: &str = "runway/gen4-turbo";

/// The ratios Runway accepts, which are the output sizes in pixels
/// (`"1280:720"` is a 1280x720 video).
pub(super) const RATIOS: &[Size] = &[
    Size::new(1280, 720),
    Size::new(720, 1280),
    Size::new(1104, 832),
    Size::new(832, 1104),
    Size::new(960, 960),
    Size::new(1584, 672),
];

/// The lengths Runway accepts, in milliseconds (it takes whole seconds).
pub(super) const DURATIONS_MS: &[u32] = &[5_000, 10_000];

/// One model this plugin serves.
pub(super) struct Model {
    pub(super) id: &'static str,
    /// The model's name in Runway's API.
    pub(super) upstream: &'static str,
    /// The API path that starts a task, under `/v1/`.
    pub(super) endpoint: &'static str,
    name: &'static str,
    description: &'static str,
}

pub(super) const MODELS: &[Model] = &[Model {
    id: GEN4_TURBO,
    upstream: "gen4_turbo",
    endpoint: "image_to_video",
    name: "Gen-4 Turbo (Runway)",
    description: "Runway's fast Gen-4 video model: animates a reference image following the prompt",
}];

impl Model {
    pub(super) fn find(id: &str) -> Result<&'static Model, PluginError> {
        MODELS
            .iter()
            .find(|m| m.id == id)
            .ok_or_else(|| PluginError::unknown_model(id))
    }

    pub(super) fn info(&self) -> ModelInfo {
        let mut info = ModelInfo::video(
            self.id,
            self.name,
            self.description,
            RATIOS[0],
            DURATIONS_MS.to_vec(),
        );
        info.sizes = RATIOS.to_vec();
        let (min, max) = RATIOS.iter().fold(
            (Size::new(u32::MAX, u32::MAX), Size::new(0, 0)),
            |(min, max), s| {
                (
                    Size::new(min.width.min(s.width), min.height.min(s.height)),
                    Size::new(max.width.max(s.width), max.height.max(s.height)),
                )
            },
        );
        info.min_size = min;
        info.max_size = max;
        info.supports_seed = true;
        info.supports_references = true;
        info
    }
}

/// Runway's spelling of a ratio, `"W:H"`.
pub(super) fn ratio_name(size: Size) -> String {
    format!("{}:{}", size.width, size.height)
}

/// The ratio to ask for: the size the gateway resolved, when Runway accepts
/// it, else the ratio whose shape is closest to it.
pub(super) fn ratio(req: &GenerationRequest) -> Size {
    if let Some(&exact) = RATIOS
        .iter()
        .find(|s| (s.width, s.height) == (req.size.width, req.size.height))
    {
        return exact;
    }
    let wanted = f64::from(req.size.width.max(1)) / f64::from(req.size.height.max(1));
    let distance = |s: &Size| {
        ((f64::from(s.width) / f64::from(s.height)) / wanted)
            .ln()
            .abs()
    };
    *RATIOS
        .iter()
        .min_by(|a, b| distance(a).total_cmp(&distance(b)))
        .expect("the table is not empty")
}

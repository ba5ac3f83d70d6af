//! The model this plugin serves and the fal app behind it.

use imini_sdk::{CallMode, ModelInfo, PluginError, Size};

/// The public id of FLUX.1 [dev] on fal.
pub const FLUX_DEV: &str = "fal/flux-dev";

/// One model this plugin serves.
pub(super) struct Model {
    pub(super) id: &'static str,
    /// fal's app id, `owner/alias[/path]`.
    pub(super) app: &'static str,
    name: &'static str,
    description: &'static str,
    pub(super) max_n: u32,
    /// Inputs of the caller's `extra_params` passed to fal unchanged; fal
    /// validates them and answers 422 otherwise.
    pub(super) passthrough: &'static [&'static str],
}

pub(super) const MODELS: &[Model] = &[Model {
    id: FLUX_DEV,
    app: "fal-ai/flux/dev",
    name: "FLUX.1 [dev] (fal)",
    description: "Black Forest Labs' open-weight FLUX model: detailed images with close prompt following, on fal",
    max_n: 4,
    passthrough: &["num_inference_steps", "guidance_scale", "acceleration"],
}];

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
        info.min_size = Size::new(256, 256);
        info.max_size = Size::new(2048, 2048);
        info.resolutions = ["512", "1K", "2K"].map(String::from).to_vec();
        info.max_n = self.max_n;
        info.supports_seed = true;
        info
    }
}

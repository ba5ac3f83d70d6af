//! # replicate: Replicate's predictions API behind imini
//!
//! Adapts Replicate's asynchronous predictions API for two official models:
//! `replicate/flux-schnell` (`black-forest-labs/flux-schnell`) and
//! `replicate/flux-dev` (`black-forest-labs/flux-dev`). The gateway injects
//! the operator's `replicate` credential as `Authorization: Bearer …`; this
//! plugin never sees it.
//!
//! - `submit` creates a prediction with `POST /v1/models/{owner}/{name}/predictions`
//!   and returns a handle holding the prediction id (and the output size),
//!   which is all `poll` and `cancel` need, so a job survives a restart of
//!   the gateway and an upgrade of this plugin.
//! - `poll` reads `GET /v1/predictions/{id}`: `starting` and `processing`
//!   are running (with the last percentage the logs show), `succeeded`
//!   hands the output URLs to the gateway, which downloads them from the
//!   allowed hosts (`replicate.delivery`), `failed` and `canceled` end the job.
//! - `cancel` sends `POST /v1/predictions/{id}/cancel`.
//!
//! Operator configuration (`[plugin_settings.replicate.config]`), all
//! optional:
//!
//! - `base_url`: the API's origin, default `https://api.replicate.com` (a
//!   trailing `/v1` is accepted too).
//! - `timeout_ms`: how long one API call may take, default 30000.
//! - `poll_interval_ms`: how long the gateway waits between polls of a
//!   running prediction, default 1000.
//!
//! The private modules split the work by concern: `models` holds the model
//! table and FLUX's aspect ratios, `settings` the operator's configuration
//! and the authenticated calls, `wire` Replicate's request and prediction
//! objects and the persisted handle, and `errors` the classification of
//! Replicate's errors. This file is the [`Provider`] implementation.

mod errors;
mod models;
mod settings;
#[cfg(test)]
mod tests;
mod wire;

use imini_sdk::{
    GenerationRequest, JobStatus, ModelInfo, PluginError, Provider, Submission, export_provider,
    host, upstream::Call,
};
use serde_json::Value;

use errors::upstream_error;
pub use models::{FLUX_DEV, FLUX_SCHNELL};
use models::{MODELS, Model};
use settings::Settings;
use wire::{Handle, job_status, request_body, valid_id};

struct Replicate;

impl Provider for Replicate {
    fn validate_config(config: &serde_json::Value) -> Result<(), PluginError> {
        Settings::from_config(config).map(|_| ())
    }

    fn models() -> Vec<ModelInfo> {
        MODELS.iter().map(Model::info).collect()
    }

    fn submit(req: GenerationRequest) -> Result<Submission, PluginError> {
        let model = Model::find(&req.model)?;
        let settings = Settings::load()?;
        let body = request_body(model, &req)?;
        let url = format!(
            "{}/v1/models/{}/predictions",
            settings.api.base_url, model.upstream
        );
        let response = settings.call("POST", &url).json(&body)?.send()?;
        if !response.is_success() {
            return Err(upstream_error(&response, Call::Create));
        }
        let prediction: Value = response.json()?;
        let id = prediction
            .get("id")
            .and_then(Value::as_str)
            .filter(|id| valid_id(id))
            .ok_or_else(|| PluginError::upstream("Replicate's prediction has no usable id"))?;
        host::debug(&format!(
            "created Replicate prediction {id} for {}",
            model.upstream
        ));
        let handle = Handle { id: id.to_string() };
        Ok(Submission {
            handle: handle.encode()?,
            poll_after_ms: Some(settings.api.poll_interval_ms),
        })
    }

    fn poll(model: String, handle: String) -> Result<JobStatus, PluginError> {
        let model = Model::find(&model)?;
        let handle = Handle::decode(&handle)?;
        let settings = Settings::load()?;
        let response = settings
            .call("GET", &settings.prediction_url(&handle.id))
            .send()?;
        if !response.is_success() {
            return Err(upstream_error(&response, Call::Read));
        }
        let prediction: Value = response.json()?;
        job_status(model, &handle, &settings, &prediction)
    }

    fn cancel(model: String, handle: String) -> Result<(), PluginError> {
        Model::find(&model)?;
        let handle = Handle::decode(&handle)?;
        let settings = Settings::load()?;
        let url = format!("{}/cancel", settings.prediction_url(&handle.id));
        let response = settings.call("POST", &url).send()?;
        if !response.is_success() {
            return Err(upstream_error(&response, Call::Cancel));
        }
        Ok(())
    }
}

export_provider!(Replicate);

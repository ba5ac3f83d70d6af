//! # runway: Runway's API behind imini
//!
//! Adapts Runway's asynchronous task API for one model: `runway/gen4-turbo`
//! (Runway's `gen4_turbo`, image to video). The gateway injects the
//! operator's `runway` credential as `Authorization: Bearer …`; this plugin
//! never sees it. Every call carries the API version Runway requires
//! (`X-Runway-Version: 2024-11-06`).
//!
//! - `submit` starts a task with `POST /v1/image_to_video`, sending the
//!   first reference image (its public URL, or its bytes as a data URI) as
//!   the prompt image, and returns a handle holding the task id, the output
//!   size and the length, which is all `poll` and `cancel` need, so a job
//!   survives a restart of the gateway and an upgrade of this plugin.
//! - `poll` reads `GET /v1/tasks/{id}`: `PENDING`, `THROTTLED` and
//!   `RUNNING` are running (with Runway's progress), `SUCCEEDED` hands the
//!   output URLs to the gateway, which downloads them from the allowed
//!   hosts, `FAILED` and `CANCELLED` end the job.
//! - `cancel` sends `DELETE /v1/tasks/{id}`.
//!
//! Operator configuration (`[plugin_settings.runway.config]`), all
//! optional:
//!
//! - `base_url`: the API's origin, default `https://api.dev.runwayml.com`
//!   (a trailing `/v1` is accepted too).
//! - `timeout_ms`: how long one API call may take, default 30000.
//! - `poll_interval_ms`: how long the gateway waits between polls of a
//!   running task, default 5000.
//!
//! The private modules split the work by concern: `models` holds the model
//! table and Runway's ratios, `settings` the operator's configuration and
//! the authenticated calls, `wire` Runway's request and task objects and the
//! persisted handle, and `errors` the classification of Runway's errors.
//! This file is the [`Provider`] implementation.

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
pub use models::GEN4_TURBO;
use models::{MODELS, Model};
use settings::Settings;
use wire::{Handle, job_status, prompt_image, request_body, valid_id};

struct Runway;

impl Provider for Runway {
    fn validate_config(config: &serde_json::Value) -> Result<(), PluginError> {
        Settings::from_config(config).map(|_| ())
    }

    fn models() -> Vec<ModelInfo> {
        MODELS.iter().map(Model::info).collect()
    }

    fn submit(req: GenerationRequest) -> Result<Submission, PluginError> {
        let model = Model::find(&req.model)?;
        let settings = Settings::load()?;
        let image = prompt_image(model, &req, host::blob_read_all)?;
        let (body, ratio, duration_ms) = request_body(model, &req, image)?;
        let url = format!("{}/v1/{}", settings.api.base_url, model.endpoint);
        let response = settings.call("POST", &url).json(&body)?.send()?;
        if !response.is_success() {
            return Err(upstream_error(&response, Call::Create));
        }
        let task: Value = response.json()?;
        let id = task
            .get("id")
            .and_then(Value::as_str)
            .filter(|id| valid_id(id))
            .ok_or_else(|| PluginError::upstream("Runway's task has no usable id"))?;
        host::debug(&format!("created Runway task {id} for {}", model.upstream));
        let handle = Handle {
            id: id.to_string(),
            size: Some((ratio.width, ratio.height)),
            duration_ms: Some(duration_ms),
        };
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
            .call("GET", &settings.task_url(&handle.id))
            .send()?;
        if !response.is_success() {
            return Err(upstream_error(&response, Call::Read));
        }
        let task: Value = response.json()?;
        job_status(model, &handle, &settings, &task)
    }

    fn cancel(model: String, handle: String) -> Result<(), PluginError> {
        Model::find(&model)?;
        let handle = Handle::decode(&handle)?;
        let settings = Settings::load()?;
        let response = settings
            .call("DELETE", &settings.task_url(&handle.id))
            .send()?;
        if !response.is_success() {
            return Err(upstream_error(&response, Call::Cancel));
        }
        Ok(())
    }
}

export_provider!(Runway);

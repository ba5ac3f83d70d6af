//! # fal: fal.ai's queue API behind imini
//!
//! Adapts fal's asynchronous queue API for `fal/flux-dev` (fal's app
//! `fal-ai/flux/dev`). The gateway injects the operator's `fal` credential
//! as `Authorization: Key …`; this plugin never sees it.
//!
//! - `submit` queues a request with `POST {base_url}/{app}` and returns a
//!   handle holding the request id and the app, which is all `poll` and
//!   `cancel` need, so a job survives a restart of the gateway.
//! - `poll` reads `GET {base_url}/{root}/requests/{id}/status`: `IN_QUEUE`
//!   and `IN_PROGRESS` are running; on `COMPLETED` it fetches the result
//!   from `GET {base_url}/{root}/requests/{id}` and hands the image URLs to
//!   the gateway, which downloads them from the allowed hosts (`fal.media`).
//! - `cancel` sends `PUT {base_url}/{root}/requests/{id}/cancel`.
//!
//! `{root}` is the app's `owner/alias` without its subpath (`fal-ai/flux`
//! for `fal-ai/flux/dev`): fal's status, result and cancel endpoints live
//! there, as its own clients build them.
//!
//! Operator configuration (`[plugin_settings.fal.config]`), all optional:
//!
//! - `base_url`: the queue's origin, default `https://queue.fal.run`.
//! - `timeout_ms`: how long one API call may take, default 30000.
//! - `poll_interval_ms`: how long the gateway waits between polls of a
//!   running request, default 1000.
//!
//! The private modules split the work by concern: `models` holds the model
//! table, `settings` the operator's configuration and the authenticated
//! calls, `wire` fal's request, status and result objects and the persisted
//! handle, and `errors` the classification of fal's errors. This file is the
//! [`Provider`] implementation.

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

use errors::{result_error, upstream_error};
pub use models::FLUX_DEV;
use models::{MODELS, Model};
use settings::Settings;
use wire::{Handle, completed, queue_status, request_body, valid_id};

struct Fal;

impl Provider for Fal {
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
        let url = format!("{}/{}", settings.api.base_url, model.app);
        let response = settings.call("POST", &url).json(&body)?.send()?;
        if !response.is_success() {
            return Err(upstream_error(&response, Call::Create));
        }
        let queued: Value = response.json()?;
        let id = queued
            .get("request_id")
            .and_then(Value::as_str)
            .filter(|id| valid_id(id))
            .ok_or_else(|| PluginError::upstream("fal's answer has no usable request_id"))?;
        host::debug(&format!("queued fal request {id} on {}", model.app));
        let handle = Handle {
            id: id.to_string(),
            app: model.app.to_string(),
            size: Some((req.size.width, req.size.height)),
        };
        Ok(Submission {
            handle: handle.encode()?,
            poll_after_ms: Some(settings.api.poll_interval_ms),
        })
    }

    fn poll(model: String, handle: String) -> Result<JobStatus, PluginError> {
        let model = Model::find(&model)?;
        let handle = Handle::decode(&handle, model)?;
        let settings = Settings::load()?;
        let url = format!("{}/status", settings.request_url(&handle));
        let response = settings.call("GET", &url).send()?;
        if !response.is_success() {
            return Err(upstream_error(&response, Call::Read));
        }
        let status: Value = response.json()?;
        match queue_status(&handle, &settings, &status)? {
            Some(job) => Ok(job),
            None => {
                // Completed: the result holds the images, or the failure.
                let response = settings
                    .call("GET", &settings.request_url(&handle))
                    .send()?;
                if !response.is_success() {
                    return result_error(&response);
                }
                let result: Value = response.json()?;
                // The request is over: a result that cannot be used ends it.
                Ok(match completed(model, &handle, &result) {
                    Ok(result) => JobStatus::Succeeded(result),
                    Err(e) => JobStatus::Failed(e.retryable(false)),
                })
            }
        }
    }

    fn cancel(model: String, handle: String) -> Result<(), PluginError> {
        let model = Model::find(&model)?;
        let handle = Handle::decode(&handle, model)?;
        let settings = Settings::load()?;
        let url = format!("{}/cancel", settings.request_url(&handle));
        let response = settings.call("PUT", &url).send()?;
        if !response.is_success() {
            return Err(upstream_error(&response, Call::Cancel));
        }
        Ok(())
    }
}

export_provider!(Fal);

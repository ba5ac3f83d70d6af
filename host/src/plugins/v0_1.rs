//! Components built against WIT 0.1.0 keep running unchanged: the host
//! works in 0.2.0's types, and this adapter converts at the boundary (the
//! arguments of the exports it calls, their results, and the host
//! functions such a component imports, which are 0.2.0's under 0.1.0's
//! names). What 0.1.0 lacks is absent: such a plugin validates no
//! configuration and gives no error details.

use super::bindings::policy_api as now_policy;
use super::bindings::provider::imini::plugin::{host as now_host, http as now_http, types as now};
use super::bindings::provider_api as now_provider;
use super::bindings::v0_1::policy_api as old_policy;
use super::bindings::v0_1::provider::imini::plugin::{
    host as old_host, http as old_http, types as old,
};
use super::bindings::v0_1::provider_api as old_provider;
use super::sandbox::CallState;

fn kind(k: now::MediaKind) -> old::MediaKind {
    match k {
        now::MediaKind::Image => old::MediaKind::Image,
        now::MediaKind::Video => old::MediaKind::Video,
        now::MediaKind::Audio => old::MediaKind::Audio,
    }
}

fn kind_back(k: old::MediaKind) -> now::MediaKind {
    match k {
        old::MediaKind::Image => now::MediaKind::Image,
        old::MediaKind::Video => now::MediaKind::Video,
        old::MediaKind::Audio => now::MediaKind::Audio,
    }
}

fn size(s: now::Size) -> old::Size {
    old::Size {
        width: s.width,
        height: s.height,
    }
}

fn size_back(s: old::Size) -> now::Size {
    now::Size {
        width: s.width,
        height: s.height,
    }
}

/// A request, as a 0.1.0 component reads it.
pub(super) fn request(r: &now::GenerationRequest) -> old::GenerationRequest {
    old::GenerationRequest {
        model: r.model.clone(),
        kind: kind(r.kind),
        prompt: r.prompt.clone(),
        negative_prompt: r.negative_prompt.clone(),
        n: r.n,
        size: size(r.size),
        aspect_ratio: r.aspect_ratio.clone(),
        resolution: r.resolution.clone(),
        duration_ms: r.duration_ms,
        generate_audio: r.generate_audio,
        seed: r.seed,
        references: r
            .references
            .iter()
            .map(|x| old::Reference {
                kind: kind(x.kind),
                role: x.role.clone(),
                mime: x.mime.clone(),
                url: x.url.clone(),
                data: x.data,
            })
            .collect(),
        extra_params: r.extra_params.clone(),
    }
}

/// Outputs, as a 0.1.0 policy reads them.
pub(super) fn media(m: &now::Media) -> old::Media {
    old::Media {
        kind: kind(m.kind),
        mime: m.mime.clone(),
        width: m.width,
        height: m.height,
        duration_ms: m.duration_ms,
        data: match &m.data {
            now::MediaData::Bytes(b) => old::MediaData::Bytes(b.clone()),
            now::MediaData::Blob(b) => old::MediaData::Blob(*b),
            now::MediaData::Url(u) => old::MediaData::Url(u.clone()),
        },
        text: m.text.clone(),
    }
}

fn media_back(m: old::Media) -> now::Media {
    now::Media {
        kind: kind_back(m.kind),
        mime: m.mime,
        width: m.width,
        height: m.height,
        duration_ms: m.duration_ms,
        data: match m.data {
            old::MediaData::Bytes(b) => now::MediaData::Bytes(b),
            old::MediaData::Blob(b) => now::MediaData::Blob(b),
            old::MediaData::Url(u) => now::MediaData::Url(u),
        },
        text: m.text,
    }
}

pub(super) fn result_back(r: old::GenerationResult) -> now::GenerationResult {
    now::GenerationResult {
        outputs: r.outputs.into_iter().map(media_back).collect(),
        metadata: r.metadata,
    }
}

pub(super) fn error_back(e: old::PluginError) -> now::PluginError {
    now::PluginError {
        kind: match e.kind {
            old::ErrorKind::InvalidRequest => now::ErrorKind::InvalidRequest,
            old::ErrorKind::UnknownModel => now::ErrorKind::UnknownModel,
            old::ErrorKind::Unauthorized => now::ErrorKind::Unauthorized,
            old::ErrorKind::RateLimited => now::ErrorKind::RateLimited,
            old::ErrorKind::ContentPolicy => now::ErrorKind::ContentPolicy,
            old::ErrorKind::Upstream => now::ErrorKind::Upstream,
            old::ErrorKind::Timeout => now::ErrorKind::Timeout,
            old::ErrorKind::Internal => now::ErrorKind::Internal,
        },
        message: e.message,
        retryable: e.retryable,
        retry_after_ms: e.retry_after_ms,
        details: None,
    }
}

pub(super) fn model_back(m: old_provider::ModelInfo) -> now_provider::ModelInfo {
    now_provider::ModelInfo {
        id: m.id,
        name: m.name,
        description: m.description,
        kind: kind_back(m.kind),
        mode: match m.mode {
            old_provider::CallMode::Synchronous => now_provider::CallMode::Synchronous,
            old_provider::CallMode::Asynchronous => now_provider::CallMode::Asynchronous,
        },
        max_n: m.max_n,
        sizes: m.sizes.into_iter().map(size_back).collect(),
        min_size: size_back(m.min_size),
        max_size: size_back(m.max_size),
        aspect_ratios: m.aspect_ratios,
        resolutions: m.resolutions,
        default_size: size_back(m.default_size),
        durations_ms: m.durations_ms,
        supports_seed: m.supports_seed,
        supports_references: m.supports_references,
    }
}

pub(super) fn submission_back(s: old_provider::Submission) -> now_provider::Submission {
    now_provider::Submission {
        handle: s.handle,
        poll_after_ms: s.poll_after_ms,
    }
}

pub(super) fn job_back(j: old_provider::JobStatus) -> now_provider::JobStatus {
    match j {
        old_provider::JobStatus::Running(p) => {
            now_provider::JobStatus::Running(now_provider::JobProgress {
                percent: p.percent,
                poll_after_ms: p.poll_after_ms,
            })
        }
        old_provider::JobStatus::Succeeded(r) => now_provider::JobStatus::Succeeded(result_back(r)),
        old_provider::JobStatus::Failed(e) => now_provider::JobStatus::Failed(error_back(e)),
        old_provider::JobStatus::Canceled => now_provider::JobStatus::Canceled,
    }
}

pub(super) fn verdict_back(v: old_policy::Verdict) -> now_policy::Verdict {
    now_policy::Verdict {
        action: match v.action {
            old_policy::Action::Allow => now_policy::Action::Allow,
            old_policy::Action::Deny => now_policy::Action::Deny,
            old_policy::Action::Flag => now_policy::Action::Flag,
        },
        category: v.category,
        reason: v.reason,
    }
}

pub(super) fn info_back(i: old_policy::PolicyInfo) -> now_policy::PolicyInfo {
    now_policy::PolicyInfo {
        name: i.name,
        categories: i.categories,
    }
}

impl old::Host for CallState {}

impl old_host::Host for CallState {
    async fn log(&mut self, level: old_host::LogLevel, message: String) -> wasmtime::Result<()> {
        let level = match level {
            old_host::LogLevel::Trace => now_host::LogLevel::Trace,
            old_host::LogLevel::Debug => now_host::LogLevel::Debug,
            old_host::LogLevel::Info => now_host::LogLevel::Info,
            old_host::LogLevel::Warn => now_host::LogLevel::Warn,
            old_host::LogLevel::Error => now_host::LogLevel::Error,
        };
        now_host::Host::log(self, level, message).await
    }

    async fn config(&mut self) -> wasmtime::Result<String> {
        now_host::Host::config(self).await
    }

    async fn blob_size(&mut self, handle: old::Blob) -> wasmtime::Result<Option<u64>> {
        now_host::Host::blob_size(self, handle).await
    }

    async fn blob_read(
        &mut self,
        handle: old::Blob,
        offset: u64,
        len: u32,
    ) -> wasmtime::Result<Result<Vec<u8>, String>> {
        now_host::Host::blob_read(self, handle, offset, len).await
    }
}

impl old_http::Host for CallState {
    async fn send(
        &mut self,
        req: old_http::Request,
    ) -> wasmtime::Result<Result<old_http::Response, old_http::HttpError>> {
        let req = now_http::Request {
            method: req.method,
            url: req.url,
            headers: req.headers,
            body: req.body,
            timeout_ms: req.timeout_ms,
            credential: req.credential.map(|c| now_http::Credential {
                name: c.name,
                header: c.header,
                prefix: c.prefix,
            }),
        };
        Ok(match now_http::Host::send(self, req).await? {
            Ok(r) => Ok(old_http::Response {
                status: r.status,
                headers: r.headers,
                body: r.body,
            }),
            Err(e) => Err(match e {
                now_http::HttpError::HostNotAllowed(m) => old_http::HttpError::HostNotAllowed(m),
                now_http::HttpError::CredentialNotAllowed(m) => {
                    old_http::HttpError::CredentialNotAllowed(m)
                }
                now_http::HttpError::InvalidRequest(m) => old_http::HttpError::InvalidRequest(m),
                now_http::HttpError::Timeout => old_http::HttpError::Timeout,
                now_http::HttpError::Connection(m) => old_http::HttpError::Connection(m),
                now_http::HttpError::TooLarge => old_http::HttpError::TooLarge,
            }),
        })
    }
}

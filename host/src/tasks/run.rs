//! Running a task: calling the provider (with fallback across a route's
//! targets), polling asynchronous jobs, storing outputs, settling the hold.

use super::*;

impl Tasks {
    pub(super) async fn run(&self, mut task: Task) -> Result<Status, TaskStoreError> {
        let route = self
            .catalogue
            .read()
            .expect("lock")
            .get(&task.model)
            .cloned();
        let Some(route) = route else {
            return self
                .finish_failed(
                    task,
                    ErrorCode::ModelUnavailable,
                    "the model is no longer available",
                )
                .await;
        };
        task.status = Status::Processing;
        task.progress = 5;
        // No fsync: a crash that loses this leaves the task queued, and it
        // runs again either way.
        self.store.save_task(&task, false).await?;

        let prepared = prepare_call(
            &self.media,
            &task.model,
            route.info.kind,
            &task.request_id,
            &task.request,
        )
        .await?;
        let (mut request, input) = match prepared {
            Ok(call) => call,
            Err(message) => {
                return self
                    .finish_failed(task, ErrorCode::InvalidParameter, &message)
                    .await;
            }
        };
        // Output policies see the request as the caller made it.
        let checked = request.clone();
        // A job already accepted upstream stays with the target that took it.
        let targets: Vec<Target> = match task.target.as_deref() {
            Some(accepted) if task.handle.is_some() => route
                .targets
                .iter()
                .filter(|t| t.model == accepted)
                .cloned()
                .collect(),
            _ => route.targets.clone(),
        };
        let mut last = None;
        for (i, target) in targets.iter().enumerate() {
            request.model = target.model.clone();
            let started = std::time::Instant::now();
            let mut outcome = self
                .call(route.info.mode, target, &input, &request, &mut task)
                .await;
            // An upstream that says when to come back (a 429 with a short
            // Retry-After) gets one more try before anything else.
            if let Ok(Err(e)) = &outcome
                && e.retryable
                && task.handle.is_none()
                && let Some(ms) = e.retry_after_ms.filter(|ms| *ms <= MAX_RETRY_AFTER_MS)
            {
                tokio::time::sleep(Duration::from_millis(ms.into())).await;
                outcome = self
                    .call(route.info.mode, target, &input, &request, &mut task)
                    .await;
            }
            let ok = matches!(outcome, Ok(Ok(_)));
            self.health.record(&target.model, ok, started.elapsed());
            // Fall back on a retryable failure, or a plugin crash, as long as
            // no job was accepted upstream (and nothing can have been charged).
            let retry = match &outcome {
                Ok(Err(e)) => e.retryable,
                Err(_) => true,
                Ok(Ok(_)) => false,
            };
            if retry && task.handle.is_none() && i + 1 < targets.len() {
                tracing::warn!(task_id = %task.id, target = %target.model, next = %targets[i + 1].model, "provider failed; trying the next route");
                continue;
            }
            last = Some((target.clone(), outcome));
            break;
        }
        let Some((target, outcome)) = last else {
            return self
                .finish_failed(
                    task,
                    ErrorCode::ModelUnavailable,
                    "no provider serves this model now",
                )
                .await;
        };
        task.target = Some(target.model.clone());
        match outcome {
            Ok(Ok(result)) => {
                self.finish_succeeded(task, &target.plugin, &checked, result)
                    .await
            }
            Ok(Err(e)) => {
                let plugin = target.plugin.core().label();
                let (code, message) = plugin_error_code(&e, &plugin);
                tracing::warn!(task_id = %task.id, %plugin, kind = ?e.kind, message = %crate::plugins::printable(&e.message, 4096), "provider returned an error");
                self.finish_failed(task, code, &message).await
            }
            Err(e) => {
                tracing::error!(task_id = %task.id, error = %e, "provider plugin call failed");
                let message = format!("the provider plugin {} failed: {}", e.plugin, e.kind);
                self.finish_failed(task, ErrorCode::UpstreamError, &message)
                    .await
            }
        }
    }

    /// One call of a target: `generate`, or `submit` and polls.
    async fn call(
        &self,
        mode: CallMode,
        target: &Target,
        input: &CallInput,
        request: &GenerationRequest,
        task: &mut Task,
    ) -> Result<Result<GenerationResult, PluginError>, CallError> {
        match mode {
            CallMode::Synchronous => target.plugin.generate(input, request).await,
            CallMode::Asynchronous => self.run_job(target, input, request, task).await,
        }
    }

    /// Submits an asynchronous job and polls it, honouring the provider's
    /// poll hints, until it finishes.
    pub(super) async fn run_job(
        &self,
        target: &Target,
        input: &CallInput,
        request: &GenerationRequest,
        task: &mut Task,
    ) -> Result<Result<GenerationResult, PluginError>, CallError> {
        let handle = match &task.handle {
            Some(handle) => handle.clone(),
            None => {
                let submission = match target.plugin.submit(input, request).await? {
                    Ok(s) => s,
                    Err(e) => return Ok(Err(e)),
                };
                task.handle = Some(submission.handle.clone());
                task.target = Some(target.model.clone());
                if let Err(e) = self.store.save_task(task, true).await {
                    tracing::error!(task_id = %task.id, error = %e, "could not persist the job handle");
                }
                pause(poll_delay(submission.poll_after_ms, 0)).await;
                submission.handle
            }
        };
        let mut poll_errors = 0u32;
        for attempt in 0u32.. {
            // The handle is the contract: a job is polled through the version
            // of the plugin serving now, which may be newer than the one that
            // accepted it.
            let plugin = self.serving(target);
            match plugin.poll(input, &request.model, &handle).await? {
                Ok(JobStatus::Succeeded(result)) => return Ok(Ok(result)),
                Ok(JobStatus::Failed(e)) => return Ok(Err(e)),
                Ok(JobStatus::Canceled) => {
                    return Ok(Err(PluginError {
                        kind: ErrorKind::Upstream,
                        message: "the upstream canceled the job".into(),
                        retryable: false,
                        retry_after_ms: None,
                        details: None,
                    }));
                }
                Ok(JobStatus::Running(progress)) => {
                    poll_errors = 0;
                    if let Some(p) = progress.percent.map(|p| p.clamp(5, 99)) {
                        // Keep what callers see current, without a write per poll.
                        if p >= task.progress.saturating_add(5) {
                            task.progress = p;
                            if let Err(e) = self.store.save_task(task, false).await {
                                tracing::warn!(task_id = %task.id, error = %e, "could not save the task's progress");
                            }
                        }
                    }
                    pause(poll_delay(progress.poll_after_ms, attempt)).await;
                }
                Err(e) if e.retryable && poll_errors < MAX_POLL_ERRORS => {
                    poll_errors += 1;
                    pause(poll_delay(e.retry_after_ms, attempt)).await
                }
                Err(e) => return Ok(Err(e)),
            }
        }
        unreachable!("the poll loop only ends by returning")
    }

    /// The plugin serving `target`'s model now (or the target's own, if it
    /// was retired).
    fn serving(&self, target: &Target) -> Arc<ProviderPlugin> {
        self.catalogue
            .read()
            .expect("lock")
            .serving(&target.model)
            .map_or_else(|| target.plugin.clone(), |t| t.plugin)
    }

    pub(super) async fn finish_succeeded(
        &self,
        mut task: Task,
        plugin: &ProviderPlugin,
        request: &GenerationRequest,
        result: GenerationResult,
    ) -> Result<Status, TaskStoreError> {
        // Every output is fetched, then checked by the content policies,
        // and only then stored: an intercepted output is never kept.
        let mut fetched = Vec::new();
        for mut media in result.outputs.into_iter().take(task.request.n as usize) {
            // The bytes move out of the media (no copy); what stays is its
            // description.
            let data = std::mem::replace(&mut media.data, MediaData::Blob(0));
            let bytes: bytes::Bytes = match data {
                MediaData::Bytes(bytes) => bytes.into(),
                MediaData::Url(url) => match fetch_with_retries(plugin, &task.id, &url).await {
                    Ok(bytes) => bytes.into(),
                    Err(message) => {
                        return self
                            .finish_failed(
                                task,
                                ErrorCode::UpstreamError,
                                &format!("could not fetch the output: {message}"),
                            )
                            .await;
                    }
                },
                MediaData::Blob(_) => {
                    return self
                        .finish_failed(
                            task,
                            ErrorCode::UpstreamError,
                            "the provider returned a blob handle that outlived its call",
                        )
                        .await;
                }
            };
            if let Err(reason) = plugin.accept_output(&mut media, &bytes) {
                let plugin = plugin.core().label();
                tracing::warn!(task_id = %task.id, %plugin, %reason, "refused a provider's output");
                return self
                    .finish_failed(
                        task,
                        ErrorCode::UpstreamError,
                        &format!(
                            "the provider plugin {plugin} returned an unusable output: {reason}"
                        ),
                    )
                    .await;
            }
            fetched.push((media, bytes));
        }
        if fetched.is_empty() {
            return self
                .finish_failed(
                    task,
                    ErrorCode::UpstreamError,
                    "the provider returned no output",
                )
                .await;
        }
        if let Some(status) = self.check_outputs(&mut task, request, &fetched).await? {
            return Ok(status);
        }
        let mut outputs = Vec::new();
        for (media, bytes) in fetched {
            // The file's bytes are fsynced here; its record is made durable
            // by the capture's fsync below, with the task.
            let stored = self
                .media
                .put_unflushed(&task.owner, &media.mime, "output", Some(&task.id), &bytes)
                .await;
            let record = match stored {
                Ok(record) => record,
                Err(MediaError::Store(e)) => return Err(e.into()),
                Err(e) => {
                    tracing::error!(task_id = %task.id, error = %e, "storing an output failed");
                    return self
                        .finish_failed(
                            task,
                            ErrorCode::InternalError,
                            "the output could not be stored",
                        )
                        .await;
                }
            };
            outputs.push(Output {
                file_id: record.id,
                mime: media.mime,
                width: media.width,
                height: media.height,
                duration_ms: media.duration_ms,
                text: media.text,
            });
        }
        task.outputs = outputs;
        task.metadata = Some(result.metadata).filter(|m| !m.trim().is_empty() && m.trim() != "{}");
        task.status = Status::Succeeded;
        task.progress = 100;
        task.completed_at = Some(now_rfc3339());
        // The outputs are stored and the task says so: now charge, in one
        // commit with the task, whose fsync also covers the file records.
        // A crash before it leaves the hold open and `recover` settles it
        // from what survived (a task not yet succeeded runs again).
        self.store.finish_task(&mut task, Settle::Capture).await?;
        self.announce(&task).await?;
        // Canceled through another replica meanwhile: that end stands.
        Ok(task.status)
    }

    /// Runs the output policies on fetched outputs. When they do not let
    /// the outputs through, the task is finished here (failed, and charged
    /// or not as the operator set) and its final status returned.
    async fn check_outputs(
        &self,
        task: &mut Task,
        request: &GenerationRequest,
        fetched: &[(PluginMedia, bytes::Bytes)],
    ) -> Result<Option<Status>, TaskStoreError> {
        let mut media = Vec::new();
        let mut blobs = Vec::new();
        for (i, (m, bytes)) in fetched.iter().enumerate() {
            blobs.push(bytes.clone());
            media.push(PluginMedia {
                // Handle i + 1 is the i-th blob of the call.
                data: MediaData::Blob(i as u64 + 1),
                ..m.clone()
            });
        }
        // Hashing the outputs for the record only happens if one is written.
        let interaction = || crate::moderation::Interaction {
            prompt: task.request.prompt.clone(),
            negative_prompt: task.request.negative_prompt.clone(),
            extra_params: task.request.extra_params.clone(),
            references: task
                .request
                .references
                .iter()
                .map(|r| r.file_id.clone())
                .collect(),
            outputs: fetched
                .iter()
                .map(|(m, b)| crate::moderation::OutputEvidence::of(&m.mime, b, m.text.as_deref()))
                .collect(),
        };
        let caller = crate::moderation::Caller {
            account_id: &task.owner,
            key_id: task.key_id.as_deref(),
            account: task.owner != crate::auth::ADMIN_OWNER,
            request_id: &task.request_id,
            task_id: Some(&task.id),
        };
        let input = CallInput {
            request_id: task.request_id.clone(),
            blobs,
        };
        let outcome = self
            .moderation
            .check_output(&caller, request, &media, &input, &interaction)
            .await?;
        use crate::moderation::Outcome;
        let (code, message) = match outcome {
            Outcome::Allowed { flagged } => {
                task.flagged |= flagged;
                return Ok(None);
            }
            Outcome::Denied { category } => (
                ErrorCode::ContentPolicyViolation,
                format!(
                    "the output was intercepted under the content policy (category: {category}); it is not served"
                ),
            ),
            Outcome::Failed { policy } => (
                ErrorCode::ModelUnavailable,
                format!(
                    "content moderation could not check the output (policy {policy} failed), so it was discarded"
                ),
            ),
        };
        task.flagged = true;
        // An intercepted output is charged only if the operator says so; an
        // output a failing policy could not check never is.
        let charge = code == ErrorCode::ContentPolicyViolation
            && self.moderation.config().charge_intercepted;
        Ok(Some(self.fail(task.clone(), code, &message, charge).await?))
    }

    /// Fails a task and releases its hold.
    pub(super) async fn finish_failed(
        &self,
        task: Task,
        code: ErrorCode,
        message: &str,
    ) -> Result<Status, TaskStoreError> {
        self.fail(task, code, message, false).await
    }

    /// Fails a task and settles its hold in one commit: released
    /// (refunded), or captured when `charge`.
    async fn fail(
        &self,
        mut task: Task,
        code: ErrorCode,
        message: &str,
        charge: bool,
    ) -> Result<Status, TaskStoreError> {
        task.status = Status::Failed;
        task.error = Some(TaskError {
            code: code.as_str().to_string(),
            message: message.to_string(),
        });
        task.completed_at = Some(now_rfc3339());
        let settle = if charge {
            Settle::Capture
        } else {
            Settle::Release
        };
        self.store.finish_task(&mut task, settle).await?;
        self.announce(&task).await?;
        Ok(task.status)
    }
}

/// How long to wait before the next poll: the provider's hint, else an
/// exponential backoff from 500 ms to 10 s.
/// Waits `delay`; not at all for none. (A zero-length `tokio::time::sleep`
/// still waits for the timer's next tick, up to a millisecond: a
/// synchronous adapter that says "poll now" paid it on every request.)
async fn pause(delay: Duration) {
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
}

fn poll_delay(hint_ms: Option<u32>, attempt: u32) -> Duration {
    match hint_ms {
        Some(ms) => Duration::from_millis(u64::from(ms).min(60_000)),
        None => Duration::from_millis((500u64 << attempt.min(5)).min(10_000)),
    }
}

/// The request handed to plugins (policies, then the provider) and its
/// reference blobs, from a stored request. `Err` names a reference file that
/// is gone.
pub async fn prepare_call(
    media: &crate::media::Media,
    model: &str,
    kind: MediaKind,
    request_id: &str,
    r: &StoredRequest,
) -> Result<Result<(GenerationRequest, CallInput), String>, MediaError> {
    let mut request = plugin_request(model, kind, r);
    let mut blobs = Vec::new();
    for (i, reference) in r.references.iter().enumerate() {
        let bytes = match media.record(&reference.file_id).await? {
            Some(record) => media.read(&record).await.ok(),
            None => None,
        };
        let Some(bytes) = bytes else {
            return Ok(Err(format!(
                "reference file {} is no longer available",
                reference.file_id
            )));
        };
        blobs.push(bytes::Bytes::from(bytes));
        request
            .references
            .push(crate::plugins::bindings::types::Reference {
                kind: if reference.kind == "video" {
                    MediaKind::Video
                } else {
                    MediaKind::Image
                },
                role: reference.role.clone(),
                mime: reference.mime.clone(),
                url: reference.url.clone(),
                // Handle i + 1 is the i-th blob of the call.
                data: i as u64 + 1,
            });
    }
    let input = CallInput {
        request_id: request_id.to_string(),
        blobs,
    };
    Ok(Ok((request, input)))
}

/// The request handed to the plugin, rebuilt from the stored request.
fn plugin_request(model: &str, kind: MediaKind, r: &StoredRequest) -> GenerationRequest {
    GenerationRequest {
        model: model.to_string(),
        kind,
        prompt: r.prompt.clone(),
        negative_prompt: r.negative_prompt.clone(),
        n: r.n,
        size: crate::plugins::bindings::types::Size {
            width: r.width,
            height: r.height,
        },
        aspect_ratio: r.aspect_ratio.clone(),
        resolution: r.resolution.clone(),
        duration_ms: r.duration_ms,
        generate_audio: r.generate_audio,
        seed: r.seed,
        references: Vec::new(),
        extra_params: r.extra_params.clone(),
    }
}

/// The longest part of a plugin's own error message shown to a caller.
const MAX_PLUGIN_MESSAGE: usize = 500;

/// The API error code and caller-facing message for a provider's error:
/// what the gateway makes of its kind, then what the plugin (`plugin`,
/// `name@version`) said, escaped and capped. What it says of a refused
/// credential stays in the log: it is the operator's, and upstreams quote
/// parts of the key.
pub fn plugin_error_code(e: &PluginError, plugin: &str) -> (ErrorCode, String) {
    let details = e.details.as_ref();
    // What a plugin (WIT 0.2) marked as safe for callers comes first.
    let said = match (details.and_then(|d| d.public_message.as_deref()), e.kind) {
        (Some(public), _) => crate::plugins::printable(public.trim(), MAX_PLUGIN_MESSAGE),
        (None, ErrorKind::Unauthorized) => String::new(),
        (None, _) => crate::plugins::printable(e.message.trim(), MAX_PLUGIN_MESSAGE),
    };
    let mut notes = Vec::new();
    if let Some(param) = details.and_then(|d| d.param.as_deref()) {
        notes.push(format!(
            "parameter {}",
            crate::plugins::printable(param, 64)
        ));
    }
    if let Some(code) = details.and_then(|d| d.code.as_deref()) {
        notes.push(format!("code {}", crate::plugins::printable(code, 64)));
    }
    let said = match (said.is_empty(), notes.is_empty()) {
        (_, true) => said,
        (true, false) => notes.join(", "),
        (false, false) => format!("{said} [{}]", notes.join(", ")),
    };
    let kind = match e.kind {
        ErrorKind::InvalidRequest => "invalid-request",
        ErrorKind::ContentPolicy => "content-policy",
        ErrorKind::UnknownModel => "unknown-model",
        ErrorKind::Timeout => "timeout",
        ErrorKind::RateLimited => "rate-limited",
        ErrorKind::Unauthorized => "unauthorized",
        ErrorKind::Upstream => "upstream",
        ErrorKind::Internal => "internal",
    };
    let (code, base) = plugin_error_base(e);
    let message = if said.is_empty() {
        format!("{base} ({plugin} reported {kind})")
    } else if matches!(e.kind, ErrorKind::InvalidRequest) {
        format!("{said} ({plugin})")
    } else {
        format!("{base} ({plugin} reported {kind}: {said})")
    };
    (code, message)
}

fn plugin_error_base(e: &PluginError) -> (ErrorCode, String) {
    match e.kind {
        ErrorKind::InvalidRequest => (
            ErrorCode::InvalidParameter,
            "the request is not valid for this model".into(),
        ),
        ErrorKind::ContentPolicy => (
            ErrorCode::ContentPolicyViolation,
            "the provider refused the content".into(),
        ),
        ErrorKind::UnknownModel => (
            ErrorCode::ModelUnavailable,
            "the provider does not serve this model".into(),
        ),
        ErrorKind::Timeout => (
            ErrorCode::UpstreamTimeout,
            "the upstream did not answer in time".into(),
        ),
        ErrorKind::RateLimited => (
            ErrorCode::UpstreamError,
            "the upstream is rate-limiting the gateway".into(),
        ),
        ErrorKind::Unauthorized => (
            ErrorCode::UpstreamError,
            "the upstream refused the gateway's credential".into(),
        ),
        ErrorKind::Upstream | ErrorKind::Internal => {
            (ErrorCode::UpstreamError, "the upstream failed".into())
        }
    }
}

/// The longest `Retry-After` the gateway waits out before a second try.
const MAX_RETRY_AFTER_MS: u32 = 10_000;

/// Consecutive failed polls after which a job is given up.
const MAX_POLL_ERRORS: u32 = 10;

/// Downloads an output URL, trying again twice on failure (a CDN's passing
/// error must not lose a result the provider already billed); a refusal
/// that cannot change (the allowlist, the size cap) is not tried again,
/// and is logged.
async fn fetch_with_retries(
    plugin: &ProviderPlugin,
    task_id: &str,
    url: &str,
) -> Result<Vec<u8>, String> {
    let mut last = String::new();
    for wait_ms in [0u64, 500, 2000] {
        pause(Duration::from_millis(wait_ms)).await;
        match plugin.fetch_output(url).await {
            Ok(bytes) => return Ok(bytes),
            Err(e) if e.permanent => {
                tracing::warn!(task_id, plugin = %plugin.core().label(), reason = %e.message, "refused to fetch a provider's output");
                return Err(e.message);
            }
            Err(e) => last = e.message,
        }
    }
    Err(last)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plugins::bindings::types::ErrorDetails;

    fn error(kind: ErrorKind, message: &str, details: Option<ErrorDetails>) -> PluginError {
        PluginError {
            kind,
            message: message.into(),
            retryable: false,
            retry_after_ms: None,
            details,
        }
    }

    #[test]
    fn a_plugins_public_details_reach_the_caller() {
        let details = |public: Option<&str>| {
            Some(ErrorDetails {
                param: Some("size".into()),
                code: Some("bad_size".into()),
                public_message: public.map(str::to_string),
            })
        };
        let (code, message) = plugin_error_code(
            &error(
                ErrorKind::InvalidRequest,
                "upstream said: internal x",
                details(Some("that size is not served")),
            ),
            "acme@1.0.0",
        );
        assert_eq!(code, ErrorCode::InvalidParameter);
        assert_eq!(
            message,
            "that size is not served [parameter size, code bad_size] (acme@1.0.0)"
        );
        // A refused credential shows no text of its own, but the details.
        let (_, message) = plugin_error_code(
            &error(ErrorKind::Unauthorized, "key sk-123 refused", details(None)),
            "acme@1.0.0",
        );
        assert!(!message.contains("sk-123"), "{message}");
        assert!(
            message.ends_with("(acme@1.0.0 reported unauthorized: parameter size, code bad_size)"),
            "{message}"
        );
        // Without details, as before.
        let (_, message) =
            plugin_error_code(&error(ErrorKind::Upstream, "down\nnow", None), "acme@1.0.0");
        assert_eq!(
            message,
            "the upstream failed (acme@1.0.0 reported upstream: down\\nnow)"
        );
    }
}

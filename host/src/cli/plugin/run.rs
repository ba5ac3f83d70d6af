//! `imini plugin run`: one call of a plugin on this machine, in the same
//! sandbox as a gateway's, against whatever upstream its configuration
//! names (a real one, or a mock answering in its wire format), with every
//! outbound HTTP exchange written to stderr. A provider generates (or
//! submits and is polled to the end) and its outputs go through the
//! gateway's checks; a policy checks the request.

use std::path::Path;
use std::time::{Duration, Instant};

use serde::Deserialize;
use serde_json::Value;

use super::check::{Local, LocalArgs, load};
use crate::plugins::bindings::provider_api::{CallMode, JobStatus};
use crate::plugins::bindings::types::{
    GenerationRequest, GenerationResult, MediaData, MediaKind, PluginError, Size,
};
use crate::plugins::{CallInput, LoadedPlugin, ProviderPlugin};

/// The longest a job is polled for.
const MAX_JOB_TIME: Duration = Duration::from_secs(30 * 60);

/// The request of `--request`, as JSON.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RunRequest {
    /// A model the plugin serves [default: its first].
    model: Option<String>,
    prompt: String,
    negative_prompt: Option<String>,
    n: Option<u32>,
    /// `WIDTHxHEIGHT` [default: the model's default size].
    size: Option<String>,
    seed: Option<u64>,
    duration_ms: Option<u32>,
    /// The provider-specific parameters, a JSON object.
    extra_params: Option<Value>,
}

/// Runs one call of the plugin for `request`; writes the outputs into
/// `out` if given.
pub fn run(args: &LocalArgs, request: &str, out: Option<&Path>) -> anyhow::Result<()> {
    let asked: RunRequest = serde_json::from_str(request)
        .map_err(|e| anyhow::anyhow!("--request is not a request: {e}"))?;
    let Local {
        executor, plugin, ..
    } = load(args, true)?;
    let input = CallInput {
        request_id: "req_local".into(),
        blobs: Vec::new(),
    };
    match &plugin {
        LoadedPlugin::Policy(policy) => {
            let model = asked.model.clone().unwrap_or_else(|| "any/model".into());
            let req = generation_request(
                asked,
                &model,
                MediaKind::Image,
                Size {
                    width: 1024,
                    height: 1024,
                },
            )?;
            let verdict = executor
                .block_on(policy.check_request(&input, &req))?
                .map_err(plugin_error)?;
            println!(
                "verdict: {:?}{}{}",
                verdict.action,
                verdict
                    .category
                    .map(|c| format!(", category {c}"))
                    .unwrap_or_default(),
                verdict
                    .reason
                    .map(|r| format!(", reason: {r}"))
                    .unwrap_or_default()
            );
            Ok(())
        }
        LoadedPlugin::Provider(provider) => {
            let info = match &asked.model {
                Some(id) => provider.models.iter().find(|m| &m.id == id),
                None => provider.models.first(),
            }
            .ok_or_else(|| {
                let ids: Vec<&str> = provider.models.iter().map(|m| m.id.as_str()).collect();
                anyhow::anyhow!(
                    "{} does not serve {:?}; it serves {}",
                    provider.core().label(),
                    asked.model.as_deref().unwrap_or_default(),
                    ids.join(", ")
                )
            })?
            .clone();
            let req = generation_request(asked, &info.id, info.kind, info.default_size)?;
            executor.block_on(generate(provider, &input, &req, info.mode, out))
        }
    }
}

/// The request handed to the plugin.
fn generation_request(
    asked: RunRequest,
    model: &str,
    kind: MediaKind,
    default_size: Size,
) -> anyhow::Result<GenerationRequest> {
    let size = match asked.size.as_deref() {
        None => default_size,
        Some(s) => {
            let (w, h) = s
                .split_once('x')
                .and_then(|(w, h)| Some((w.parse().ok()?, h.parse().ok()?)))
                .ok_or_else(|| anyhow::anyhow!("size {s:?} is not WIDTHxHEIGHT"))?;
            Size {
                width: w,
                height: h,
            }
        }
    };
    Ok(GenerationRequest {
        model: model.to_string(),
        kind,
        prompt: asked.prompt,
        negative_prompt: asked.negative_prompt,
        n: asked.n.unwrap_or(1),
        size,
        aspect_ratio: None,
        resolution: None,
        duration_ms: asked.duration_ms,
        generate_audio: false,
        seed: asked.seed,
        references: Vec::new(),
        extra_params: asked
            .extra_params
            .map_or_else(|| "{}".to_string(), |v| v.to_string()),
    })
}

fn plugin_error(e: PluginError) -> anyhow::Error {
    anyhow::anyhow!(
        "the plugin returned an error: {:?} (retryable: {}): {}",
        e.kind,
        e.retryable,
        crate::plugins::printable(&e.message, 4096)
    )
}

/// `generate`, or `submit` and polls to the end; then each output is
/// fetched if it is a URL, checked as the gateway checks it, described and
/// written into `out`.
async fn generate(
    provider: &ProviderPlugin,
    input: &CallInput,
    req: &GenerationRequest,
    mode: CallMode,
    out: Option<&Path>,
) -> anyhow::Result<()> {
    let result: GenerationResult = match mode {
        CallMode::Synchronous => provider.generate(input, req).await?.map_err(plugin_error)?,
        CallMode::Asynchronous => {
            let submission = provider.submit(input, req).await?.map_err(plugin_error)?;
            eprintln!("submitted: handle {}", submission.handle);
            let started = Instant::now();
            let mut wait = submission.poll_after_ms;
            loop {
                tokio::time::sleep(Duration::from_millis(wait.unwrap_or(1000).into())).await;
                match provider
                    .poll(input, &req.model, &submission.handle)
                    .await?
                    .map_err(plugin_error)?
                {
                    JobStatus::Succeeded(result) => break result,
                    JobStatus::Failed(e) => return Err(plugin_error(e)),
                    JobStatus::Canceled => anyhow::bail!("the upstream canceled the job"),
                    JobStatus::Running(progress) => {
                        if let Some(p) = progress.percent {
                            eprintln!("running: {p}%");
                        }
                        wait = progress.poll_after_ms;
                    }
                }
                if started.elapsed() > MAX_JOB_TIME {
                    anyhow::bail!("the job did not finish within {MAX_JOB_TIME:?}");
                }
            }
        }
    };
    let mut refused = 0;
    for (i, mut media) in result.outputs.into_iter().enumerate() {
        let data = std::mem::replace(&mut media.data, MediaData::Blob(0));
        let bytes = match data {
            MediaData::Bytes(bytes) => bytes,
            MediaData::Url(url) => {
                println!("output {i}: {url}");
                provider.fetch_output(&url).await.map_err(|e| {
                    anyhow::anyhow!("output {i}: the gateway could not fetch it: {}", e.message)
                })?
            }
            MediaData::Blob(_) => {
                anyhow::bail!("output {i} is a blob handle, which outlives no call")
            }
        };
        if let Err(reason) = provider.accept_output(&mut media, &bytes) {
            println!("output {i}: refused by the gateway: {reason}");
            refused += 1;
            continue;
        }
        println!(
            "output {i}: {} {}x{}, {} bytes",
            media.mime,
            media.width,
            media.height,
            bytes.len()
        );
        if let Some(dir) = out {
            std::fs::create_dir_all(dir)?;
            let path = dir.join(format!("output-{i}.{}", extension(&media.mime)));
            std::fs::write(&path, &bytes)
                .map_err(|e| anyhow::anyhow!("writing {}: {e}", path.display()))?;
            println!("  written to {}", path.display());
        }
    }
    if !result.metadata.trim().is_empty() && result.metadata.trim() != "{}" {
        println!("metadata: {}", result.metadata);
    }
    if refused > 0 {
        anyhow::bail!("{refused} output(s) would be refused by a gateway");
    }
    Ok(())
}

fn extension(mime: &str) -> &'static str {
    match mime {
        "image/png" => "png",
        "image/jpeg" => "jpg",
        "image/gif" => "gif",
        "image/webp" => "webp",
        "video/mp4" => "mp4",
        "video/quicktime" => "mov",
        "video/webm" => "webm",
        _ => "bin",
    }
}

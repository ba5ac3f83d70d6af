//! `imini generate`, `imini video`, `imini tasks …`: the commands for API
//! users (not operators), against a gateway URL with an account key. They
//! submit on the native task API, follow the task with a progress bar (on a
//! terminal), and write the outputs to files.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use base64::Engine as _;
use clap::{Args, Subcommand};
use serde_json::{Value, json};

/// Where the gateway is and the caller's key.
#[derive(Debug, Args)]
pub struct Client {
    /// The gateway's base URL.
    #[arg(
        long,
        env = "IMINI_URL",
        default_value = "http://127.0.0.1:8080",
        global = true
    )]
    pub url: String,
    /// The API key (an account's key, or the admin key).
    #[arg(long, env = "IMINI_API_KEY", hide_env_values = true, global = true)]
    pub api_key: Option<String>,
}

/// `imini generate`.
#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// The model [default: the gateway's default image model].
    #[arg(long)]
    model: Option<String>,
    /// What to draw.
    #[arg(long)]
    prompt: String,
    /// `WxH`, e.g. 1024x1024.
    #[arg(long)]
    size: Option<String>,
    /// e.g. 16:9 (with --resolution, instead of --size).
    #[arg(long)]
    aspect_ratio: Option<String>,
    /// e.g. 1K.
    #[arg(long)]
    resolution: Option<String>,
    /// How many images.
    #[arg(short, long)]
    n: Option<u32>,
    /// For reproducible output, where the model takes one.
    #[arg(long)]
    seed: Option<u64>,
    /// What to keep out.
    #[arg(long)]
    negative_prompt: Option<String>,
    /// A reference image to start from (repeatable).
    #[arg(long = "image", value_name = "FILE")]
    images: Vec<PathBuf>,
    /// Where to write the image; with -n 2 or more, `out.png` becomes
    /// `out-1.png`, `out-2.png`… [default: `<task id>.png`].
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
}

/// `imini video`.
#[derive(Debug, Args)]
pub struct VideoArgs {
    /// The model [default: the gateway's default video model].
    #[arg(long)]
    model: Option<String>,
    /// What to animate.
    #[arg(long)]
    prompt: String,
    /// Length in seconds (one the model accepts).
    #[arg(long)]
    duration: Option<f64>,
    /// `WxH`, e.g. 1280x720.
    #[arg(long)]
    size: Option<String>,
    /// e.g. 16:9 (with --resolution, instead of --size).
    #[arg(long)]
    aspect_ratio: Option<String>,
    /// e.g. 720p.
    #[arg(long)]
    resolution: Option<String>,
    /// For reproducible output, where the model takes one.
    #[arg(long)]
    seed: Option<u64>,
    /// An image the video starts from.
    #[arg(long, value_name = "FILE")]
    image: Option<PathBuf>,
    /// Where to write the video [default: `<task id>.<its format>`].
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
}

/// `imini tasks …`.
#[derive(Debug, Subcommand)]
pub enum TasksCommand {
    /// Your tasks, newest first.
    List {
        /// Only those in this state: queued, processing, succeeded, failed, canceled.
        #[arg(long)]
        status: Option<String>,
        /// Only images or only videos.
        #[arg(long = "type", value_parser = ["image", "video"])]
        kind: Option<String>,
        /// How many (1-100).
        #[arg(long, default_value_t = 20)]
        limit: u32,
    },
    /// One task, as JSON.
    Show {
        /// `task_…`.
        id: String,
    },
    /// Stop a queued or processing task (its hold is released).
    Cancel {
        /// `task_…`.
        id: String,
    },
}

/// How often a task is asked about while it runs.
const POLL: Duration = Duration::from_millis(500);

/// The gateway, with the caller's key.
struct Api {
    base: String,
    key: String,
    http: reqwest::Client,
}

impl Api {
    fn new(client: &Client) -> anyhow::Result<Self> {
        let key = client
            .api_key
            .clone()
            .ok_or_else(|| anyhow::anyhow!("give your API key with --api-key or IMINI_API_KEY"))?;
        Ok(Self {
            base: client.url.trim_end_matches('/').to_string(),
            key,
            http: reqwest::Client::new(),
        })
    }

    /// Sends a request; an error answer becomes an error with the API's
    /// code and message.
    async fn call(&self, method: &str, path: &str, body: Option<&Value>) -> anyhow::Result<Value> {
        let url = format!("{}{path}", self.base);
        let mut request = self
            .http
            .request(method.parse()?, &url)
            .bearer_auth(&self.key);
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request
            .send()
            .await
            .with_context(|| format!("calling {url}"))?;
        let status = response.status();
        let text = response.text().await?;
        let value: Value = serde_json::from_str(&text).unwrap_or(Value::String(text));
        if !status.is_success() {
            let error = &value["error"];
            match (error["code"].as_str(), error["message"].as_str()) {
                (Some(code), Some(message)) => bail!("{status} {code}: {message}"),
                _ => bail!("{status}: {value}"),
            }
        }
        Ok(value)
    }

    /// The bytes behind an output URL (signed, or a path of the gateway).
    async fn download(&self, url: &str) -> anyhow::Result<(Vec<u8>, Option<String>)> {
        let url = if url.starts_with('/') {
            format!("{}{url}", self.base)
        } else {
            url.to_string()
        };
        let response = self
            .http
            .get(&url)
            .bearer_auth(&self.key)
            .send()
            .await
            .with_context(|| format!("downloading {url}"))?;
        if !response.status().is_success() {
            bail!("downloading {url}: {}", response.status());
        }
        let mime = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        Ok((response.bytes().await?.to_vec(), mime))
    }

    /// Follows task `id` until it ends, with a progress bar on a terminal;
    /// a failed or canceled task is an error with its code and message.
    async fn follow(&self, id: &str) -> anyhow::Result<Value> {
        let bar = indicatif::ProgressBar::new(100);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{spinner} {msg:>10} [{bar:30}] {pos:>3}% {elapsed}",
            )
            .expect("a valid template")
            .progress_chars("=> "),
        );
        bar.enable_steady_tick(Duration::from_millis(120));
        let task = loop {
            let task = self.call("GET", &format!("/v1/tasks/{id}"), None).await?;
            let status = task["status"].as_str().unwrap_or_default().to_string();
            bar.set_position(task["progress"].as_u64().unwrap_or(0));
            bar.set_message(status.clone());
            if matches!(status.as_str(), "succeeded" | "failed" | "canceled") {
                break task;
            }
            tokio::time::sleep(POLL).await;
        };
        bar.finish_and_clear();
        if task["status"] != "succeeded" {
            let code = task["error"]["code"].as_str().unwrap_or("TASK_FAILED");
            let message = task["error"]["message"]
                .as_str()
                .unwrap_or("the task did not succeed");
            bail!(
                "task {id} {}: {code}: {message}",
                task["status"].as_str().unwrap_or_default()
            );
        }
        Ok(task)
    }
}

/// A file as a `data:` URL, for a reference (its type read from its bytes,
/// as the gateway reads it).
fn data_url(path: &Path) -> anyhow::Result<String> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let mime = crate::media::format::sniff(&bytes).unwrap_or("application/octet-stream");
    Ok(format!(
        "data:{mime};base64,{}",
        base64::engine::general_purpose::STANDARD.encode(bytes)
    ))
}

/// The file extension of a MIME type.
fn extension(mime: Option<&str>) -> &'static str {
    match mime.and_then(|m| m.split(';').next()).map(str::trim) {
        Some("image/png") => "png",
        Some("image/jpeg") => "jpg",
        Some("image/gif") => "gif",
        Some("image/webp") => "webp",
        Some("video/mp4") => "mp4",
        Some("video/webm") => "webm",
        Some("video/quicktime") => "mov",
        _ => "bin",
    }
}

/// Where output `i` of `count` goes: `output` itself for one, else
/// `stem-<i+1>.ext`; without `output`, `<task id>[-<i+1>].<ext>`.
fn output_path(output: Option<&Path>, task_id: &str, i: usize, count: usize, ext: &str) -> PathBuf {
    match output {
        Some(path) if count == 1 => path.to_path_buf(),
        Some(path) => {
            let stem = path
                .file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or("output");
            let ext = path.extension().and_then(|e| e.to_str()).unwrap_or(ext);
            path.with_file_name(format!("{stem}-{}.{ext}", i + 1))
        }
        None if count == 1 => PathBuf::from(format!("{task_id}.{ext}")),
        None => PathBuf::from(format!("{task_id}-{}.{ext}", i + 1)),
    }
}

/// Submits on `path`, follows the task, writes the outputs listed under
/// `outputs` in the finished task, and prints where they went.
async fn run_generation(
    api: &Api,
    path: &str,
    body: Value,
    outputs: &str,
    output: Option<&Path>,
) -> anyhow::Result<()> {
    let body = Value::Object(
        body.as_object()
            .expect("an object")
            .iter()
            .filter(|(_, v)| !v.is_null())
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
    );
    let accepted = api.call("POST", path, Some(&body)).await?;
    let id = accepted["task_id"]
        .as_str()
        .ok_or_else(|| anyhow::anyhow!("the gateway answered no task id: {accepted}"))?
        .to_string();
    eprintln!(
        "task {id} ({}, {} credits)",
        accepted["model"].as_str().unwrap_or_default(),
        accepted["cost"]["credits"]
    );
    let task = api.follow(&id).await?;
    let files = task[outputs].as_array().cloned().unwrap_or_default();
    if files.is_empty() {
        bail!("task {id} succeeded without outputs");
    }
    for (i, file) in files.iter().enumerate() {
        let url = file["url"]
            .as_str()
            .ok_or_else(|| anyhow::anyhow!("output {} has no URL", i + 1))?;
        let (bytes, mime) = api.download(url).await?;
        let path = output_path(output, &id, i, files.len(), extension(mime.as_deref()));
        std::fs::write(&path, &bytes).with_context(|| format!("writing {}", path.display()))?;
        println!("{}", path.display());
    }
    Ok(())
}

/// Runs `imini generate`.
pub fn generate(client: &Client, args: GenerateArgs) -> anyhow::Result<()> {
    let api = Api::new(client)?;
    let images = args
        .images
        .iter()
        .map(|p| Ok(json!({"url": data_url(p)?})))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let body = json!({
        "model": args.model,
        "prompt": args.prompt,
        "size": args.size,
        "aspect_ratio": args.aspect_ratio,
        "resolution": args.resolution,
        "n": args.n,
        "seed": args.seed,
        "negative_prompt": args.negative_prompt,
        "images": if images.is_empty() { Value::Null } else { Value::Array(images) },
    });
    block_on(run_generation(
        &api,
        "/v1/images/generate",
        body,
        "images",
        args.output.as_deref(),
    ))
}

/// Runs `imini video`.
pub fn video(client: &Client, args: VideoArgs) -> anyhow::Result<()> {
    let api = Api::new(client)?;
    let reference = match &args.image {
        Some(path) => json!([{"url": data_url(path)?, "reference_type": "first-frame"}]),
        None => Value::Null,
    };
    let body = json!({
        "model": args.model,
        "prompt": args.prompt,
        "duration": args.duration,
        "size": args.size,
        "aspect_ratio": args.aspect_ratio,
        "resolution": args.resolution,
        "seed": args.seed,
        "reference_images": reference,
    });
    block_on(run_generation(
        &api,
        "/v1/videos/generate",
        body,
        "videos",
        args.output.as_deref(),
    ))
}

/// Runs `imini tasks …`.
pub fn tasks(client: &Client, op: TasksCommand) -> anyhow::Result<()> {
    let api = Api::new(client)?;
    block_on(async {
        match op {
            TasksCommand::List {
                status,
                kind,
                limit,
            } => {
                let mut query = format!("?limit={limit}");
                for (name, value) in [("status", status), ("type", kind)] {
                    if let Some(value) = value {
                        query.push_str(&format!("&{name}={value}"));
                    }
                }
                let page = api.call("GET", &format!("/v1/tasks{query}"), None).await?;
                for task in page["data"].as_array().into_iter().flatten() {
                    println!(
                        "{}  {:<10}  {:>3}%  {:<24}  {}",
                        task["task_id"].as_str().unwrap_or_default(),
                        task["status"].as_str().unwrap_or_default(),
                        task["progress"].as_u64().unwrap_or(0),
                        task["model"].as_str().unwrap_or_default(),
                        task["created_at"].as_str().unwrap_or_default(),
                    );
                }
                if page["has_more"] == true {
                    eprintln!("(more: raise --limit)");
                }
            }
            TasksCommand::Show { id } => {
                let task = api.call("GET", &format!("/v1/tasks/{id}"), None).await?;
                println!("{}", serde_json::to_string_pretty(&task)?);
            }
            TasksCommand::Cancel { id } => {
                let task = api
                    .call("POST", &format!("/v1/tasks/{id}/cancel"), None)
                    .await?;
                println!("{}", serde_json::to_string_pretty(&task)?);
            }
        }
        Ok(())
    })
}

fn block_on<T>(f: impl Future<Output = anyhow::Result<T>>) -> anyhow::Result<T> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(f)
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::{extension, output_path};

    #[test]
    fn outputs_are_named_after_the_option_or_the_task() {
        let out = Some(Path::new("pics/out.png"));
        assert_eq!(
            output_path(out, "task_1", 0, 1, "png"),
            Path::new("pics/out.png")
        );
        assert_eq!(
            output_path(out, "task_1", 1, 2, "png"),
            Path::new("pics/out-2.png")
        );
        assert_eq!(
            output_path(None, "task_1", 0, 1, "gif"),
            Path::new("task_1.gif")
        );
        assert_eq!(
            output_path(None, "task_1", 2, 3, "png"),
            Path::new("task_1-3.png")
        );
        assert_eq!(extension(Some("image/gif")), "gif");
        assert_eq!(extension(Some("video/mp4; codecs=avc1")), "mp4");
        assert_eq!(extension(None), "bin");
    }
}

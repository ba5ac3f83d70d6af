//! Tasks: every generation is a task, persisted before the provider is
//! called, run in the background, and waited on by the blocking endpoints.
//! On start, tasks a previous process left unfinished are run again (nothing
//! is charged yet in this version, so a re-run is safe).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use crate::accounts::Accounts;
use crate::catalogue::{Catalogue, RouteHealth, Target};
use crate::ledger::{Ledger, LedgerError};
use crate::media::{Media, MediaError};
use crate::plugins::bindings::provider_api::{CallMode, JobStatus};
use crate::plugins::bindings::types::{
    ErrorKind, GenerationRequest, GenerationResult, MediaData, MediaKind, PluginError,
};
use crate::plugins::{CallError, CallInput, ProviderPlugin};
use crate::store::{StoreError, Table};
use crate::time::now_rfc3339;
use crate::webhooks::Webhooks;

/// Where a task stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Persisted, not started.
    Queued,
    /// The provider is working on it.
    Processing,
    /// Done; outputs stored.
    Succeeded,
    /// Failed; see the error.
    Failed,
    /// Canceled by the caller.
    Canceled,
}

impl Status {
    /// Whether the task can change no more.
    pub fn is_final(self) -> bool {
        matches!(self, Status::Succeeded | Status::Failed | Status::Canceled)
    }
}

/// One stored output.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Output {
    /// The `file_…` holding it.
    pub file_id: String,
    /// MIME type.
    pub mime: String,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Length for videos.
    pub duration_ms: Option<u32>,
    /// Text the provider returned with it (e.g. a revised prompt).
    #[serde(default)]
    pub text: Option<String>,
}

/// Why a task failed, as the caller sees it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct TaskError {
    /// An API error code (see API.md).
    pub code: String,
    /// A message for the caller.
    pub message: String,
}

/// A task record.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Task {
    /// `task_…`.
    pub id: String,
    /// Who created it.
    pub owner: String,
    /// "image" or "video".
    pub kind: String,
    /// The model id.
    pub model: String,
    /// Where it stands.
    pub status: Status,
    /// Percent done.
    pub progress: u8,
    /// The request that created it.
    pub request_id: String,
    /// When it was created.
    pub created_at: String,
    /// When it finished.
    pub completed_at: Option<String>,
    /// The validated request given to the provider.
    pub request: StoredRequest,
    /// The provider's job handle, for asynchronous models.
    pub handle: Option<String>,
    /// Outputs once succeeded.
    pub outputs: Vec<Output>,
    /// The error once failed.
    pub error: Option<TaskError>,
    /// Where this task's events go, if the caller asked.
    #[serde(default)]
    pub webhook_url: Option<String>,
    /// Whether retention removed its prompt, references and outputs.
    #[serde(default)]
    pub purged: bool,
    /// What the provider reported with the result (usage...), as JSON.
    #[serde(default)]
    pub metadata: Option<String>,
    /// The provider model that took the job (a route may have several).
    #[serde(default)]
    pub target: Option<String>,
}

/// The parts of a generation request kept with the task (enough to run it
/// again after a restart).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoredRequest {
    /// Prompt.
    pub prompt: String,
    /// Negative prompt.
    pub negative_prompt: Option<String>,
    /// Outputs asked for.
    pub n: u32,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Aspect ratio as given.
    pub aspect_ratio: Option<String>,
    /// Resolution tier as given.
    pub resolution: Option<String>,
    /// Video length.
    pub duration_ms: Option<u32>,
    /// Whether a video should have sound.
    pub generate_audio: bool,
    /// Seed.
    pub seed: Option<u64>,
    /// Provider-specific parameters (JSON object text).
    pub extra_params: String,
    /// Reference media, stored as files of the task's owner.
    #[serde(default)]
    pub references: Vec<StoredReference>,
}

/// A reference medium kept with a task.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoredReference {
    /// The `file_…` holding it.
    pub file_id: String,
    /// Image or video.
    pub kind: String,
    /// How the caller wants it used ("style", "first-frame"...).
    pub role: String,
    /// Its MIME type.
    pub mime: String,
    /// The public URL it came from, if any (for upstreams that fetch it).
    pub url: Option<String>,
}

/// Which tasks a listing returns.
#[derive(Debug, Default, Clone)]
pub struct TaskFilter {
    /// Only tasks in this status.
    pub status: Option<Status>,
    /// Only "image" or "video" tasks.
    pub kind: Option<String>,
    /// Only tasks of this model.
    pub model: Option<String>,
}

/// A task to create.
pub struct NewTask<'a> {
    /// The account that owns and pays for it.
    pub owner: &'a str,
    /// The model id.
    pub model: &'a str,
    /// "image" or "video".
    pub kind: &'a str,
    /// The request creating it.
    pub request_id: &'a str,
    /// What to generate.
    pub request: StoredRequest,
    /// What to hold, for billed callers.
    pub charge: Option<Charge<'a>>,
    /// The id reserved by an idempotent request, if any.
    pub reserved_id: Option<String>,
    /// How many unfinished tasks the owner may have (none: no cap).
    pub max_concurrent: Option<u32>,
    /// Where the task's events go.
    pub webhook_url: Option<String>,
}

/// What a task costs and who pays.
#[derive(Debug, Clone, Copy)]
pub struct Charge<'a> {
    /// Credits to hold.
    pub credits: i64,
    /// Who placed it (a key id).
    pub actor: &'a str,
    /// The key's own credit limit, if any.
    pub key_limit: Option<i64>,
}

/// Task engine failures (storage), distinct from a task failing.
#[derive(Debug, thiserror::Error)]
pub enum TaskStoreError {
    /// The record store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The ledger failed.
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    /// The account already runs as many tasks as it may.
    #[error("the account may run {cap} tasks at once")]
    TooManyTasks {
        /// The cap.
        cap: u32,
    },
}

/// A task running in this process: its status, and the signal that stops
/// it.
#[derive(Clone)]
struct Running {
    status: watch::Receiver<Status>,
    cancel: Arc<tokio::sync::Notify>,
}

/// Why a task could not be canceled.
#[derive(Debug, thiserror::Error)]
pub enum CancelError {
    /// It does not exist for this caller.
    #[error("no such task")]
    NotFound,
    /// It had already finished (the task as it ended).
    #[error("the task has already finished")]
    Finished(Box<Task>),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] TaskStoreError),
}

/// The task engine.
pub struct Tasks {
    table: Table,
    media: Media,
    ledger: Ledger,
    catalogue: Arc<RwLock<Arc<Catalogue>>>,
    running: Mutex<HashMap<String, Running>>,
    /// Unfinished tasks per owner.
    active: Mutex<HashMap<String, u32>>,
    /// How long a task may take, by model (default for others).
    timeouts: Timeouts,
    /// Task events.
    webhooks: Arc<Webhooks>,
    /// Accounts, for their webhook endpoints.
    accounts: Accounts,
    /// Success and latency per provider model.
    health: Arc<RouteHealth>,
}

/// Task time limits.
#[derive(Debug, Clone, Default)]
pub struct Timeouts {
    /// For models without their own.
    pub default: Duration,
    /// By model id.
    pub by_model: HashMap<String, Duration>,
}

/// What the task engine works with.
pub struct TaskParts {
    /// Where tasks are stored.
    pub table: Table,
    /// Where outputs and references are stored.
    pub media: Media,
    /// Holds, captures, releases.
    pub ledger: Ledger,
    /// Models and their routes.
    pub catalogue: Arc<RwLock<Arc<Catalogue>>>,
    /// Time limits.
    pub timeouts: Timeouts,
    /// Task events.
    pub webhooks: Arc<Webhooks>,
    /// Accounts, for their webhook endpoints.
    pub accounts: Accounts,
    /// Success and latency per provider model.
    pub health: Arc<RouteHealth>,
}

impl Tasks {
    /// The engine.
    pub fn new(parts: TaskParts) -> Arc<Self> {
        let TaskParts {
            table,
            media,
            ledger,
            catalogue,
            timeouts,
            webhooks,
            accounts,
            health,
        } = parts;
        Arc::new(Self {
            table,
            media,
            ledger,
            catalogue,
            running: Mutex::new(HashMap::new()),
            active: Mutex::new(HashMap::new()),
            timeouts,
            webhooks,
            accounts,
            health,
        })
    }

    /// Places the hold for the new task's charge (if any), then persists the
    /// queued task and starts running it. Refused holds create nothing; a
    /// task that cannot be persisted gets its hold released. With a reserved
    /// id (an idempotent retry) whose task exists, that task is returned and
    /// nothing is charged again.
    pub async fn submit(self: &Arc<Self>, new: NewTask<'_>) -> Result<Task, TaskStoreError> {
        let NewTask {
            owner,
            model,
            kind,
            request_id,
            request,
            charge,
            reserved_id,
            max_concurrent,
            webhook_url,
        } = new;
        let id = match reserved_id {
            Some(id) => {
                if let Some(existing) = self.table.get::<Task>(&id)? {
                    return Ok(existing);
                }
                // The reserved id's hold may have been released at start-up
                // (its task was never stored): never reuse a settled hold.
                if self.ledger.hold_of(&id)?.is_some() {
                    crate::ids::new("task")
                } else {
                    id
                }
            }
            None => crate::ids::new("task"),
        };
        self.take_slot(owner, max_concurrent)?;
        if let Some(c) = &charge
            && let Err(e) = self
                .ledger
                .hold(owner, &id, c.credits, c.actor, c.key_limit)
                .await
        {
            self.free_slot(owner);
            return Err(e.into());
        }
        let task = Task {
            id,
            owner: owner.to_string(),
            kind: kind.to_string(),
            model: model.to_string(),
            status: Status::Queued,
            progress: 0,
            request_id: request_id.to_string(),
            created_at: now_rfc3339(),
            completed_at: None,
            request,
            handle: None,
            outputs: Vec::new(),
            error: None,
            webhook_url,
            purged: false,
            metadata: None,
            target: None,
        };
        if let Err(e) = self.table.put(&task.id, &task).await {
            self.free_slot(owner);
            if let Err(release) = self.ledger.release(&task.id).await {
                tracing::error!(task_id = %task.id, error = %release, "could not release the hold of a task that was not stored; it is released at the next start");
            }
            return Err(e.into());
        }
        self.start(task.clone());
        Ok(task)
    }

    /// Counts one more unfinished task of `owner`, unless that would pass
    /// `cap`.
    fn take_slot(&self, owner: &str, cap: Option<u32>) -> Result<(), TaskStoreError> {
        let mut active = self.active.lock().expect("lock");
        let count = active.entry(owner.to_string()).or_default();
        if let Some(cap) = cap
            && *count >= cap
        {
            return Err(TaskStoreError::TooManyTasks { cap });
        }
        *count += 1;
        Ok(())
    }

    fn free_slot(&self, owner: &str) {
        let mut active = self.active.lock().expect("lock");
        if let Some(count) = active.get_mut(owner) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                active.remove(owner);
            }
        }
    }

    /// The task `id` if `owner` owns it (another owner's task does not exist
    /// for them).
    pub fn get(&self, id: &str, owner: &str) -> Result<Option<Task>, TaskStoreError> {
        Ok(self.table.get::<Task>(id)?.filter(|t| t.owner == owner))
    }

    /// The owner's tasks matching `filter`, newest first, after the cursor
    /// `after` (a task id); returns the page and whether more follow.
    pub fn list(
        &self,
        owner: &str,
        filter: &TaskFilter,
        limit: usize,
        after: Option<&str>,
    ) -> Result<(Vec<Task>, bool), TaskStoreError> {
        let mut page = Vec::new();
        for item in self.table.scan_rev::<Task>(after) {
            let (_, task) = item?;
            let wanted = task.owner == owner
                && filter.status.is_none_or(|s| s == task.status)
                && filter.kind.as_deref().is_none_or(|k| k == task.kind)
                && filter.model.as_deref().is_none_or(|m| m == task.model);
            if wanted {
                if page.len() == limit {
                    return Ok((page, true));
                }
                page.push(task);
            }
        }
        Ok((page, false))
    }

    /// Waits up to `limit` for task `id` to finish and returns it as it is
    /// then.
    pub async fn wait(&self, id: &str, limit: Duration) -> Result<Option<Task>, TaskStoreError> {
        let receiver = self
            .running
            .lock()
            .expect("lock")
            .get(id)
            .map(|r| r.status.clone());
        if let Some(mut rx) = receiver {
            let _ = tokio::time::timeout(limit, rx.wait_for(|s| s.is_final())).await;
        }
        Ok(self.table.get(id)?)
    }

    /// The privacy promise: for tasks finished before `cutoff` (unix
    /// seconds), deletes their outputs and references and blanks their
    /// prompts; the task record (model, status, cost) stays for billing.
    /// Returns how many tasks were purged.
    pub async fn purge_before(&self, cutoff: i64) -> Result<usize, TaskStoreError> {
        let mut purged = 0;
        let old: Vec<Task> = self
            .table
            .scan::<Task>()
            .filter_map(|item| item.ok().map(|(_, t)| t))
            .filter(|t| !t.purged && t.status.is_final())
            .filter(|t| {
                t.completed_at
                    .as_deref()
                    .is_some_and(|c| crate::time::unix_seconds(c) < cutoff)
            })
            .collect();
        for mut task in old {
            let files: Vec<String> = task
                .outputs
                .iter()
                .map(|o| o.file_id.clone())
                .chain(task.request.references.iter().map(|r| r.file_id.clone()))
                .collect();
            self.media.delete(&files).await?;
            task.request.prompt.clear();
            task.outputs.iter_mut().for_each(|o| o.text = None);
            task.metadata = None;
            task.request.negative_prompt = None;
            task.request.extra_params = "{}".into();
            task.purged = true;
            self.table.put(&task.id.clone(), &task).await?;
            purged += 1;
        }
        Ok(purged)
    }

    /// Settles the holds a previous process left open for tasks that
    /// finished (or were never stored), then runs again every task it left
    /// unfinished. Returns how many tasks were resumed.
    pub async fn recover(self: &Arc<Self>) -> Result<usize, TaskStoreError> {
        for hold in self.ledger.open_holds()? {
            let task = self.table.get::<Task>(&hold.task_id)?;
            let settled = match task.map(|t| t.status) {
                Some(Status::Succeeded) => self.ledger.capture(&hold.task_id).await?,
                None | Some(Status::Failed | Status::Canceled) => {
                    self.ledger.release(&hold.task_id).await?
                }
                Some(Status::Queued | Status::Processing) => continue,
            };
            if let Some(entry) = settled {
                tracing::info!(task_id = %hold.task_id, kind = ?entry.kind, "settled a hold left open by the previous process");
            }
        }
        let mut resumed = 0;
        for item in self.table.scan::<Task>() {
            let (_, task) = item?;
            if task.status.is_final() {
                // Its events may not have been queued before a crash.
                self.announce(&task).await?;
            } else {
                tracing::info!(task_id = %task.id, status = ?task.status, "resuming a task left unfinished");
                self.take_slot(&task.owner, None)?;
                self.start(task);
                resumed += 1;
            }
        }
        Ok(resumed)
    }

    /// Runs a task in the background; its owner's slot (taken by the caller)
    /// is freed when it ends.
    fn start(self: &Arc<Self>, task: Task) {
        let (tx, rx) = watch::channel(task.status);
        let cancel = Arc::new(tokio::sync::Notify::new());
        self.running.lock().expect("lock").insert(
            task.id.clone(),
            Running {
                status: rx,
                cancel: cancel.clone(),
            },
        );
        let this = self.clone();
        tokio::spawn(async move {
            let (id, owner) = (task.id.clone(), task.owner.clone());
            let limit = this
                .timeouts
                .by_model
                .get(&task.model)
                .copied()
                .unwrap_or(this.timeouts.default);
            let age = Duration::from_secs(
                (crate::time::now_unix() - crate::time::unix_seconds(&task.created_at)).max(0)
                    as u64,
            );
            let outcome = tokio::select! {
                r = this.run(task) => r,
                () = cancel.notified() => this.stop(&id, Status::Canceled, "canceled by the caller").await,
                () = tokio::time::sleep(limit.saturating_sub(age)) => {
                    let message = format!("the task did not finish within {}s", limit.as_secs());
                    this.stop(&id, Status::Failed, &message).await
                }
            };
            let final_status = outcome.unwrap_or_else(|e| {
                // Storage failed mid-task: the record stays unfinished and
                // is resumed at the next start.
                tracing::error!(task_id = %id, error = %e, "task storage failed");
                Status::Failed
            });
            this.free_slot(&owner);
            let _ = tx.send(final_status);
            this.running.lock().expect("lock").remove(&id);
        });
    }

    /// Cancels a queued or processing task of `owner`: stops it, releases its
    /// hold, asks the provider to stop. A task that finished first is
    /// returned as [`CancelError::Finished`].
    pub async fn cancel(&self, id: &str, owner: &str) -> Result<Task, CancelError> {
        let task = self.get(id, owner)?.ok_or(CancelError::NotFound)?;
        if task.status.is_final() {
            return Err(CancelError::Finished(Box::new(task)));
        }
        let running = self.running.lock().expect("lock").get(id).cloned();
        match running {
            Some(r) => {
                r.cancel.notify_one();
                let mut status = r.status;
                let _ = status.wait_for(|s| s.is_final()).await;
            }
            None => {
                self.stop(id, Status::Canceled, "canceled by the caller")
                    .await?;
            }
        }
        let task = self.get(id, owner)?.ok_or(CancelError::NotFound)?;
        if task.status == Status::Canceled {
            Ok(task)
        } else {
            Err(CancelError::Finished(Box::new(task)))
        }
    }

    /// Queues the events of a finished task for its own webhook URL and its
    /// account's endpoint (idempotent: each pair is queued once).
    async fn announce(&self, task: &Task) -> Result<(), TaskStoreError> {
        let event = match task.status {
            Status::Succeeded => "task.succeeded",
            Status::Failed => "task.failed",
            Status::Canceled => "task.canceled",
            Status::Queued | Status::Processing => return Ok(()),
        };
        let account_url = self
            .accounts
            .get(&task.owner)
            .ok()
            .and_then(|a| a.webhook_url);
        let mut targets: Vec<&String> = task.webhook_url.iter().chain(account_url.iter()).collect();
        targets.dedup();
        if targets.is_empty() {
            return Ok(());
        }
        let data = serde_json::json!({
            "task_id": task.id,
            "type": task.kind,
            "model": task.model,
            "status": task.status,
            "created_at": task.created_at,
            "completed_at": task.completed_at,
            "outputs": task.outputs.iter().map(|o| serde_json::json!({
                "url": format!("/v1/files/{}/content", o.file_id), "file_id": o.file_id,
                "mime_type": o.mime, "width": o.width, "height": o.height,
            })).collect::<Vec<_>>(),
            "error": task.error.as_ref().map(|e| serde_json::json!({ "code": e.code, "message": e.message })),
        });
        for url in targets {
            self.webhooks
                .enqueue(&task.owner, &task.id, event, url, data.clone())
                .await?;
        }
        Ok(())
    }

    /// Ends a task that was interrupted (canceled or timed out) as `to`,
    /// unless it reached a final state first; settles its hold either way
    /// (idempotently) and asks the provider to stop an upstream job.
    async fn stop(&self, id: &str, to: Status, message: &str) -> Result<Status, TaskStoreError> {
        let Some(mut task) = self.table.get::<Task>(id)? else {
            return Ok(Status::Failed);
        };
        match task.status {
            Status::Succeeded => {
                self.ledger.capture(id).await?;
                self.announce(&task).await?;
                return Ok(Status::Succeeded);
            }
            Status::Failed | Status::Canceled => {
                self.ledger.release(id).await?;
                self.announce(&task).await?;
                return Ok(task.status);
            }
            Status::Queued | Status::Processing => {}
        }
        task.status = to;
        if to == Status::Failed {
            task.error = Some(TaskError {
                code: "UPSTREAM_TIMEOUT".to_string(),
                message: message.to_string(),
            });
        }
        task.completed_at = Some(now_rfc3339());
        self.table.put(id, &task).await?;
        self.ledger.release(id).await?;
        if let Some(handle) = &task.handle {
            let route = self
                .catalogue
                .read()
                .expect("lock")
                .get(&task.model)
                .cloned();
            // The target that accepted the job cancels it, under its own id.
            let target = route.and_then(|r| {
                let accepted = task.target.as_deref().unwrap_or(&task.model);
                r.targets.into_iter().find(|t| t.model == accepted)
            });
            if let Some(target) = target {
                let input = CallInput {
                    request_id: task.request_id.clone(),
                    blobs: Vec::new(),
                };
                match target.plugin.cancel(&input, &target.model, handle).await {
                    Ok(Ok(())) => {}
                    Ok(Err(e)) => {
                        tracing::warn!(task_id = %id, message = %e.message, "the provider could not cancel the job")
                    }
                    Err(e) => {
                        tracing::warn!(task_id = %id, error = %e, "the provider plugin failed to cancel the job")
                    }
                }
            }
        }
        self.announce(&task).await?;
        Ok(to)
    }

    async fn run(&self, mut task: Task) -> Result<Status, TaskStoreError> {
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
                    "MODEL_UNAVAILABLE",
                    "the model is no longer available",
                )
                .await;
        };
        task.status = Status::Processing;
        task.progress = 5;
        self.table.put(&task.id, &task).await?;

        let mut request = plugin_request(&task, route.info.kind);
        let mut blobs = Vec::new();
        for (i, r) in task.request.references.iter().enumerate() {
            let bytes = match self.media.record(&r.file_id)? {
                Some(record) => self.media.read(&record).await.ok(),
                None => None,
            };
            let Some(bytes) = bytes else {
                let message = format!("reference file {} is no longer available", r.file_id);
                return self
                    .finish_failed(task, "INVALID_PARAMETER", &message)
                    .await;
            };
            blobs.push(bytes::Bytes::from(bytes));
            request
                .references
                .push(crate::plugins::bindings::types::Reference {
                    kind: if r.kind == "video" {
                        MediaKind::Video
                    } else {
                        MediaKind::Image
                    },
                    role: r.role.clone(),
                    mime: r.mime.clone(),
                    url: r.url.clone(),
                    // Handle i + 1 is the i-th blob of the call.
                    data: i as u64 + 1,
                });
        }
        let input = CallInput {
            request_id: task.request_id.clone(),
            blobs,
        };
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
            let outcome = match route.info.mode {
                CallMode::Synchronous => target.plugin.generate(&input, &request).await,
                CallMode::Asynchronous => self.run_job(target, &input, &request, &mut task).await,
            };
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
                    "MODEL_UNAVAILABLE",
                    "no provider serves this model now",
                )
                .await;
        };
        task.target = Some(target.model.clone());
        match outcome {
            Ok(Ok(result)) => self.finish_succeeded(task, &target.plugin, result).await,
            Ok(Err(e)) => {
                let (code, message) = plugin_error_code(&e);
                tracing::warn!(task_id = %task.id, plugin = %target.plugin.core().label(), kind = ?e.kind, message = %e.message, "provider returned an error");
                self.finish_failed(task, code, &message).await
            }
            Err(e) => {
                tracing::error!(task_id = %task.id, error = %e, "provider plugin call failed");
                let message = format!("the provider plugin {} failed: {}", e.plugin, e.kind);
                self.finish_failed(task, "UPSTREAM_ERROR", &message).await
            }
        }
    }

    /// Submits an asynchronous job and polls it, honouring the provider's
    /// poll hints, until it finishes.
    async fn run_job(
        &self,
        target: &Target,
        input: &CallInput,
        request: &GenerationRequest,
        task: &mut Task,
    ) -> Result<Result<GenerationResult, PluginError>, CallError> {
        let plugin = &target.plugin;
        let handle = match &task.handle {
            Some(handle) => handle.clone(),
            None => {
                let submission = match plugin.submit(input, request).await? {
                    Ok(s) => s,
                    Err(e) => return Ok(Err(e)),
                };
                task.handle = Some(submission.handle.clone());
                task.target = Some(target.model.clone());
                if let Err(e) = self.table.put(&task.id, task).await {
                    tracing::error!(task_id = %task.id, error = %e, "could not persist the job handle");
                }
                tokio::time::sleep(poll_delay(submission.poll_after_ms, 0)).await;
                submission.handle
            }
        };
        for attempt in 0u32.. {
            match plugin.poll(input, &request.model, &handle).await? {
                Ok(JobStatus::Succeeded(result)) => return Ok(Ok(result)),
                Ok(JobStatus::Failed(e)) => return Ok(Err(e)),
                Ok(JobStatus::Canceled) => {
                    return Ok(Err(PluginError {
                        kind: ErrorKind::Upstream,
                        message: "the upstream canceled the job".into(),
                        retryable: false,
                        retry_after_ms: None,
                    }));
                }
                Ok(JobStatus::Running(progress)) => {
                    if let Some(p) = progress.percent {
                        task.progress = p.clamp(5, 99);
                    }
                    tokio::time::sleep(poll_delay(progress.poll_after_ms, attempt)).await;
                }
                Err(e) if e.retryable => {
                    tokio::time::sleep(poll_delay(e.retry_after_ms, attempt)).await
                }
                Err(e) => return Ok(Err(e)),
            }
        }
        unreachable!("the poll loop only ends by returning")
    }

    async fn finish_succeeded(
        &self,
        mut task: Task,
        plugin: &ProviderPlugin,
        result: GenerationResult,
    ) -> Result<Status, TaskStoreError> {
        let mut outputs = Vec::new();
        for media in result.outputs.into_iter().take(task.request.n as usize) {
            let bytes = match media.data {
                MediaData::Bytes(bytes) => bytes,
                MediaData::Url(url) => match plugin.fetch_output(&url).await {
                    Ok(bytes) => bytes,
                    Err(message) => {
                        return self
                            .finish_failed(
                                task,
                                "UPSTREAM_ERROR",
                                &format!("could not fetch the output: {message}"),
                            )
                            .await;
                    }
                },
                MediaData::Blob(_) => {
                    return self
                        .finish_failed(
                            task,
                            "UPSTREAM_ERROR",
                            "the provider returned a blob handle that outlived its call",
                        )
                        .await;
                }
            };
            let stored = self
                .media
                .put(&task.owner, &media.mime, "output", Some(&task.id), &bytes)
                .await;
            let record = match stored {
                Ok(record) => record,
                Err(MediaError::Store(e)) => return Err(e.into()),
                Err(e) => {
                    tracing::error!(task_id = %task.id, error = %e, "storing an output failed");
                    return self
                        .finish_failed(task, "INTERNAL_ERROR", "the output could not be stored")
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
        if outputs.is_empty() {
            return self
                .finish_failed(task, "UPSTREAM_ERROR", "the provider returned no output")
                .await;
        }
        task.outputs = outputs;
        task.metadata = Some(result.metadata).filter(|m| !m.trim().is_empty() && m.trim() != "{}");
        task.status = Status::Succeeded;
        task.progress = 100;
        task.completed_at = Some(now_rfc3339());
        self.table.put(&task.id, &task).await?;
        // The outputs are stored and the task says so: now charge. A crash
        // in between leaves the hold open and `recover` captures it.
        self.ledger.capture(&task.id).await?;
        self.announce(&task).await?;
        Ok(Status::Succeeded)
    }

    async fn finish_failed(
        &self,
        mut task: Task,
        code: &str,
        message: &str,
    ) -> Result<Status, TaskStoreError> {
        task.status = Status::Failed;
        task.error = Some(TaskError {
            code: code.to_string(),
            message: message.to_string(),
        });
        task.completed_at = Some(now_rfc3339());
        self.table.put(&task.id, &task).await?;
        self.ledger.release(&task.id).await?;
        self.announce(&task).await?;
        Ok(Status::Failed)
    }
}

/// How long to wait before the next poll: the provider's hint, else an
/// exponential backoff from 500 ms to 10 s.
fn poll_delay(hint_ms: Option<u32>, attempt: u32) -> Duration {
    match hint_ms {
        Some(ms) => Duration::from_millis(u64::from(ms).min(60_000)),
        None => Duration::from_millis((500u64 << attempt.min(5)).min(10_000)),
    }
}

/// The request handed to the plugin, rebuilt from the stored task.
fn plugin_request(
    task: &Task,
    kind: crate::plugins::bindings::types::MediaKind,
) -> GenerationRequest {
    let r = &task.request;
    GenerationRequest {
        model: task.model.clone(),
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

/// The API error code and caller-facing message for a provider's error.
pub fn plugin_error_code(e: &PluginError) -> (&'static str, String) {
    match e.kind {
        ErrorKind::InvalidRequest => ("INVALID_PARAMETER", e.message.clone()),
        ErrorKind::ContentPolicy => (
            "CONTENT_POLICY_VIOLATION",
            "the provider refused the content".into(),
        ),
        ErrorKind::UnknownModel => (
            "MODEL_UNAVAILABLE",
            "the provider does not serve this model".into(),
        ),
        ErrorKind::Timeout => (
            "UPSTREAM_TIMEOUT",
            "the upstream did not answer in time".into(),
        ),
        ErrorKind::RateLimited => (
            "UPSTREAM_ERROR",
            "the upstream is rate-limiting the gateway".into(),
        ),
        ErrorKind::Unauthorized => (
            "UPSTREAM_ERROR",
            "the upstream refused the gateway's credential".into(),
        ),
        ErrorKind::Upstream | ErrorKind::Internal => {
            ("UPSTREAM_ERROR", "the upstream failed".into())
        }
    }
}

//! Tasks: every generation is a task, persisted before the provider is
//! called, run in the background, and waited on by the blocking endpoints.
//! On start, tasks a previous process left unfinished are run again (nothing
//! is charged yet in this version, so a re-run is safe).

mod lifecycle;
mod run;

pub use run::{plugin_error_code, prepare_call};

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use crate::accounts::Accounts;
use crate::catalogue::{Catalogue, RouteHealth, Target};
use crate::ledger::{Ledger, LedgerError};
use crate::media::{Media, MediaError};
use crate::moderation::Moderation;
use crate::plugins::bindings::provider_api::{CallMode, JobStatus};
use crate::plugins::bindings::types::{
    ErrorKind, GenerationRequest, GenerationResult, Media as PluginMedia, MediaData, MediaKind,
    PluginError,
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
    /// The key that created it.
    #[serde(default)]
    pub key_id: Option<String>,
    /// Whether a content policy flagged it: its data is then kept past
    /// retention, for the audit.
    #[serde(default)]
    pub flagged: bool,
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
    /// The key creating it.
    pub key_id: Option<&'a str>,
    /// Whether a content policy flagged the request for review.
    pub flagged: bool,
    /// The caller answers only with the task's end (the synchronous face),
    /// so the task and its hold need not reach the disk before it runs:
    /// they reach it with the capture or the release. A crash before then
    /// charges nothing, and no one was given the task's id.
    pub commit_with_result: bool,
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

/// A task's entry in the index of tasks not yet over (`Tasks::open`).
/// Entries written before this type (and by the index's first build) are
/// JSON `null`, which reads as an asynchronous task's.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct OpenEntry {
    /// The caller waits for the task's end on its connection (the
    /// synchronous face) and has not been given the task's id: if the
    /// process stops first, nobody receives the result, so recovery ends
    /// the task and releases its hold instead of running it again.
    #[serde(default)]
    pub synchronous: bool,
}

impl OpenEntry {
    /// The entry as written: `null` for an asynchronous task, as before.
    fn stored(self) -> Option<Self> {
        self.synchronous.then_some(self)
    }
}

/// The key of a task in the index by owner. Owner ids (account ids and the
/// admin owner) never contain `/`.
fn owner_key(owner: &str, task_id: &str) -> String {
    format!("{owner}/{task_id}")
}

/// The task engine.
pub struct Tasks {
    table: Table,
    /// `{owner}/{task id}` for every task: an owner's tasks, in id (so
    /// creation) order, without reading anyone else's.
    by_owner: Table,
    /// The id of every task whose work is not over: written before its hold
    /// and its record, removed once it is final and its events are queued.
    /// A start reads these, not every task.
    open: Table,
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
    /// Output checks.
    moderation: Arc<Moderation>,
}

/// Task time limits.
#[derive(Debug, Clone, Default)]
pub struct Timeouts {
    /// For models without their own.
    pub default: Duration,
    /// By model id.
    pub by_model: HashMap<String, Duration>,
}

impl From<&crate::config::TasksConfig> for Timeouts {
    fn from(config: &crate::config::TasksConfig) -> Self {
        Self {
            default: Duration::from_secs(config.timeout_secs),
            by_model: config
                .model_timeouts
                .iter()
                .map(|(m, s)| (m.clone(), Duration::from_secs(*s)))
                .collect(),
        }
    }
}

impl From<MediaError> for TaskStoreError {
    fn from(e: MediaError) -> Self {
        match e {
            MediaError::Store(e) => e.into(),
            MediaError::Io(e) => StoreError::Io(e).into(),
        }
    }
}

/// What the task engine works with.
pub struct TaskParts {
    /// Where tasks are stored.
    pub table: Table,
    /// The index of tasks by owner.
    pub by_owner: Table,
    /// The index of tasks not yet over.
    pub open: Table,
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
    /// Output checks.
    pub moderation: Arc<Moderation>,
}

impl Tasks {
    /// The engine.
    pub fn new(parts: TaskParts) -> Arc<Self> {
        let TaskParts {
            table,
            by_owner,
            open,
            media,
            ledger,
            catalogue,
            timeouts,
            webhooks,
            accounts,
            health,
            moderation,
        } = parts;
        Arc::new(Self {
            table,
            by_owner,
            open,
            media,
            ledger,
            catalogue,
            running: Mutex::new(HashMap::new()),
            active: Mutex::new(HashMap::new()),
            timeouts,
            webhooks,
            accounts,
            health,
            moderation,
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
            key_id,
            flagged,
            commit_with_result,
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
        // Before the hold: an open hold always has its entry, which is how
        // `recover` finds it, and whether its caller waits for the answer.
        let entry = OpenEntry {
            synchronous: commit_with_result,
        };
        if let Err(e) = self.open.put_unflushed(&id, &entry.stored()) {
            self.free_slot(owner);
            return Err(e.into());
        }
        // The hold and the task record share one fsync (the task's put, or
        // with `commit_with_result` the capture's or release's): if a crash
        // loses the task, recovery releases the hold.
        if let Some(c) = &charge
            && let Err(e) = self
                .ledger
                .hold_unflushed(owner, &id, c.credits, c.actor, c.key_limit)
                .await
        {
            self.free_slot(owner);
            // Nothing was held (a refusal, such as too few credits). An
            // entry left by a failed removal is dropped at the next start.
            let _ = self.open.remove_unflushed(&id);
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
            key_id: key_id.map(str::to_string),
            flagged,
        };
        // The index entry goes first, so the task's own write (or the fsync
        // after it) covers both; an entry whose task was never stored is
        // skipped when listing.
        let stored = match self
            .by_owner
            .put_unflushed(&owner_key(owner, &task.id), &())
        {
            Err(e) => Err(e),
            Ok(()) if commit_with_result => self.table.put_unflushed(&task.id, &task),
            Ok(()) => self.table.put(&task.id, &task).await,
        };
        if let Err(e) = stored {
            self.free_slot(owner);
            match self.ledger.release(&task.id).await {
                Ok(_) => {
                    let _ = self.open.remove_unflushed(&task.id);
                }
                Err(release) => {
                    tracing::error!(task_id = %task.id, error = %release, "could not release the hold of a task that was not stored; it is released at the next start");
                }
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
        let prefix = owner_key(owner, "");
        let before = after.map(|id| owner_key(owner, id));
        for key in self.by_owner.keys_rev(&prefix, before.as_deref()) {
            let key = key?;
            let Some(task) = self.table.get::<Task>(&key[prefix.len()..])? else {
                continue; // its submission failed after the entry was written
            };
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

    /// Builds the index of tasks by owner if this data directory has none
    /// complete yet (it predates the index, or a build was cut off), then
    /// marks it complete. Call before serving.
    pub async fn index_owners(&self) -> Result<usize, TaskStoreError> {
        // Its completeness record, `!complete`, sorts before every owner id
        // and is never one.
        Ok(self
            .table
            .index_once(&self.by_owner, |id, task: Task| {
                self.by_owner
                    .put_unflushed(&owner_key(&task.owner, id), &())
            })
            .await?)
    }

    /// Builds the index of tasks not yet over if this data directory has
    /// none complete yet: every open hold's task and every task, since any
    /// of them may have been left unfinished or unannounced (the first start
    /// then does what every start did before the index). Call before
    /// [`Tasks::recover`].
    pub async fn index_open(&self) -> Result<usize, TaskStoreError> {
        if self
            .open
            .get::<bool>(crate::store::INDEX_COMPLETE)?
            .is_some()
        {
            return Ok(0);
        }
        for hold in self.ledger.open_holds()? {
            self.open.put_unflushed(&hold.task_id, &())?;
        }
        Ok(self
            .table
            .index_once(&self.open, |id, _: serde::de::IgnoredAny| {
                self.open.put_unflushed(id, &())
            })
            .await?)
    }

    /// Turns a task submitted with `commit_with_result` into one that
    /// outlives a crash, before its id is given out (its caller stopped
    /// waiting): it is no longer ended at the next start, but resumed like
    /// any asynchronous task, and it is on disk when this returns.
    pub async fn detach(&self, id: &str) -> Result<(), TaskStoreError> {
        // Only while the entry is there: a task that ended meanwhile has
        // removed it, and must not be listed as open again.
        let sync = serde_json::to_vec(&OpenEntry { synchronous: true }.stored())
            .expect("entries serialise");
        let detached =
            serde_json::to_vec(&OpenEntry::default().stored()).expect("entries serialise");
        self.open
            .compare_and_swap(id, Some(&sync), Some(&detached))?;
        Ok(self.table.flush().await?)
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
}

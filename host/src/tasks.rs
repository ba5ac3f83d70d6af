//! Tasks: every generation is a task, stored with its hold before the
//! provider is called (a synchronous one only in memory until it ends),
//! run in the background, and waited on by the blocking endpoints. On
//! start, tasks a previous process left unfinished are settled, ended or
//! run again (see `lifecycle.rs`).

mod lifecycle;
mod run;

pub use run::{plugin_error_code, prepare_call};

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use tokio::sync::watch;

use crate::accounts::Accounts;
use crate::catalogue::{Catalogue, RouteHealth, Target};
use crate::error_code::ErrorCode;
use crate::ledger::Hold;
use crate::media::{Media, MediaError};
use crate::moderation::Moderation;
use crate::plugins::bindings::provider_api::{CallMode, JobStatus};
use crate::plugins::bindings::types::{
    ErrorKind, GenerationRequest, GenerationResult, Media as PluginMedia, MediaData, MediaKind,
    PluginError,
};
use crate::plugins::{CallError, CallInput, ProviderPlugin};
use crate::store::StoreError;
use crate::store::tasks::{Creation, HoldRequest, Settle};
pub use crate::store::tasks::{
    Output, Status, StoredReference, StoredRequest, Task, TaskError, TaskStore, TaskStoreError,
};
use crate::time::now_rfc3339;
use crate::webhooks::Webhooks;

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
    /// The owner's own webhook endpoint, as read when the request was
    /// authenticated: where the task's events go if it ends in this process
    /// (a task resumed after a restart reads its account's).
    pub account_webhook_url: Option<String>,
    /// The key creating it.
    pub key_id: Option<&'a str>,
    /// Whether a content policy flagged the request for review.
    pub flagged: bool,
    /// The caller answers only with the task's end (the synchronous face),
    /// so the task need not reach the disk before it runs: it reaches it
    /// when it ends, with its capture or release. A crash before then
    /// charges nothing, and no one was given the task's id.
    pub synchronous: bool,
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
    /// The account's credit line.
    pub credit_line: i64,
}

/// A task running in this process: its status, and the signal that stops
/// it.
#[derive(Clone)]
struct Running {
    status: watch::Receiver<Status>,
    cancel: Arc<tokio::sync::Notify>,
    /// The task as it ended (as stored), set when it is announced, so a
    /// caller waiting for it reads no storage.
    ended: Arc<std::sync::OnceLock<Task>>,
    /// The owner's webhook endpoint, if known without reading the account.
    account_webhook_url: Option<Option<String>>,
    /// Its model, for the metrics.
    model: String,
    /// The credits its hold keeps, if it has one (for the metrics).
    held: Option<i64>,
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
    /// Tasks and their holds.
    store: Arc<dyn TaskStore>,
    media: Media,
    catalogue: Arc<RwLock<Arc<Catalogue>>>,
    running: Mutex<HashMap<String, Running>>,
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
    /// Where tasks and their holds are stored.
    pub store: Arc<dyn TaskStore>,
    /// Where outputs and references are stored.
    pub media: Media,
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
            store,
            media,
            catalogue,
            timeouts,
            webhooks,
            accounts,
            health,
            moderation,
        } = parts;
        Arc::new(Self {
            store,
            media,
            catalogue,
            running: Mutex::new(HashMap::new()),
            timeouts,
            webhooks,
            accounts,
            health,
            moderation,
        })
    }

    /// Creates the task with its hold (if charged) in one commit, then
    /// starts running it. A refused hold, or an owner at its cap of
    /// unfinished tasks, creates nothing. With a reserved id (an idempotent
    /// retry) whose task exists, that task is returned and nothing is
    /// charged again.
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
            account_webhook_url,
            key_id,
            flagged,
            synchronous,
        } = new;
        let id = match reserved_id {
            Some(id) => {
                if let Some(existing) = self.store.task(&id).await? {
                    return Ok(existing);
                }
                // The reserved id's hold may have been released at start-up
                // (its task was never stored): never reuse a settled hold.
                if self.store.hold_of(&id).await?.is_some() {
                    crate::ids::new("task")
                } else {
                    id
                }
            }
            None => crate::ids::new("task"),
        };
        let mut task = Task {
            webhook_url,
            key_id: key_id.map(str::to_string),
            flagged,
            ..Task::queued(id, owner, kind, model, request_id, request)
        };
        let creation = Creation {
            synchronous,
            hold: charge.map(|c| HoldRequest {
                account_id: owner,
                credits: c.credits,
                actor: c.actor,
                key_limit: c.key_limit,
                credit_line: c.credit_line,
            }),
            max_unfinished: max_concurrent,
        };
        self.store.create_task(&mut task, creation).await?;
        self.start(task.clone(), Some(account_webhook_url));
        Ok(task)
    }

    /// The task `id` if `owner` owns it (another owner's task does not exist
    /// for them).
    pub async fn get(&self, id: &str, owner: &str) -> Result<Option<Task>, TaskStoreError> {
        Ok(self.store.task(id).await?.filter(|t| t.owner == owner))
    }

    /// What a task was charged: its hold, if it had one.
    pub async fn hold_of(&self, task: &Task) -> Result<Option<Hold>, StoreError> {
        match &task.hold {
            Some(hold) if task.status.is_final() => Ok(Some(hold.clone())),
            _ => self.store.hold_of(&task.id).await,
        }
    }

    /// The owner's tasks matching `filter`, newest first, after the cursor
    /// `after` (a task id); returns the page and whether more follow.
    pub async fn list(
        &self,
        owner: &str,
        filter: &TaskFilter,
        limit: usize,
        after: Option<&str>,
    ) -> Result<(Vec<Task>, bool), TaskStoreError> {
        let mut page = Vec::new();
        let mut more = false;
        self.store
            .tasks_of(owner, after, &mut |task| {
                let wanted = filter.status.is_none_or(|s| s == task.status)
                    && filter.kind.as_deref().is_none_or(|k| k == task.kind)
                    && filter.model.as_deref().is_none_or(|m| m == task.model);
                if !wanted {
                    return true;
                }
                if page.len() == limit {
                    more = true;
                    return false;
                }
                page.push(task);
                true
            })
            .await?;
        Ok((page, more))
    }

    /// Turns a synchronous task into one that outlives a crash, before its
    /// id is given out (its caller stopped waiting): it is no longer ended
    /// at the next start, but resumed like any asynchronous task, and it is
    /// on disk when this returns.
    pub async fn detach(&self, task: &Task) -> Result<(), TaskStoreError> {
        Ok(self.store.detach(task).await?)
    }

    /// The tasks this process runs now, for the metrics.
    pub fn running_now(&self) -> Vec<crate::metrics::RunningTask> {
        self.running
            .lock()
            .expect("lock")
            .values()
            .map(|r| crate::metrics::RunningTask {
                model: r.model.clone(),
                held: r.held,
            })
            .collect()
    }

    /// Waits up to `limit` for task `id` to finish and returns it as it is
    /// then.
    pub async fn wait(&self, id: &str, limit: Duration) -> Result<Option<Task>, TaskStoreError> {
        let running = self
            .running
            .lock()
            .expect("lock")
            .get(id)
            .map(|r| (r.status.clone(), r.ended.clone()));
        if let Some((mut rx, ended)) = running {
            let _ = tokio::time::timeout(limit, rx.wait_for(|s| s.is_final())).await;
            if let Some(task) = ended.get() {
                return Ok(Some(task.clone()));
            }
        }
        Ok(self.store.task(id).await?)
    }
}

//! The tasks aggregate's storage: tasks, the index of each owner's tasks,
//! the index of tasks not yet over, and each task's hold on its owner's
//! credits (entries of the ledger aggregate, written in the same commit
//! group as the task change that places or settles them).
//!
//! Each method is one atomic commit group. A synchronous task (its caller
//! waits on its connection and is never given its id) reaches the disk only
//! when it ends or is detached: a crash before then leaves an entry in the
//! index of open tasks marked synchronous, and recovery ends it uncharged.

#[cfg(test)]
pub(crate) mod conformance;
mod embedded;
pub(crate) mod pg;

pub use self::embedded::EmbeddedTasks;
pub use self::pg::PgTasks;

use serde::{Deserialize, Serialize};

use super::StoreError;
use super::ledger::{Balance, Entry, EntryKind, Hold, LedgerError, NewEntry};

/// Where a task stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
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

    /// Its name, as the API writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Queued => "queued",
            Status::Processing => "processing",
            Status::Succeeded => "succeeded",
            Status::Failed => "failed",
            Status::Canceled => "canceled",
        }
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
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<u32>,
    /// Text the provider returned with it (e.g. a revised prompt).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
}

/// Why a task failed, as the caller sees it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct TaskError {
    /// An API error code (see docs/api.md).
    pub code: String,
    /// A message for the caller.
    pub message: String,
}

/// A task record. Absent, false and empty fields are left out of the
/// stored JSON (a record is read back the same), which keeps each task about
/// a quarter smaller on disk.
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
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completed_at: Option<String>,
    /// The validated request given to the provider.
    pub request: StoredRequest,
    /// The provider's job handle, for asynchronous models.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub handle: Option<String>,
    /// Outputs once succeeded.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub outputs: Vec<Output>,
    /// The error once failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<TaskError>,
    /// Where this task's events go, if the caller asked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook_url: Option<String>,
    /// Whether retention removed its prompt, references and outputs.
    #[serde(default, skip_serializing_if = "is_false")]
    pub purged: bool,
    /// What the provider reported with the result (usage...), as JSON.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<String>,
    /// The provider model that took the job (a route may have several).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// The key that created it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_id: Option<String>,
    /// Whether a content policy flagged it: its data is then kept past
    /// retention, for the audit.
    #[serde(default, skip_serializing_if = "is_false")]
    pub flagged: bool,
    /// Its hold, as the store last set it (the store places and settles
    /// it; what the caller passes in is ignored). `None` for an unbilled
    /// task, and for a task of an older version, whose hold the store
    /// keeps apart.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hold: Option<Hold>,
}

impl Task {
    /// A new task `id`, queued.
    pub fn queued(
        id: String,
        owner: &str,
        kind: &str,
        model: &str,
        request_id: &str,
        request: StoredRequest,
    ) -> Self {
        Self {
            id,
            owner: owner.to_string(),
            kind: kind.to_string(),
            model: model.to_string(),
            status: Status::Queued,
            progress: 0,
            request_id: request_id.to_string(),
            created_at: crate::time::now_rfc3339(),
            completed_at: None,
            request,
            handle: None,
            outputs: Vec::new(),
            error: None,
            webhook_url: None,
            purged: false,
            metadata: None,
            target: None,
            key_id: None,
            flagged: false,
            hold: None,
        }
    }
}

/// The parts of a generation request kept with the task (enough to run it
/// again after a restart).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct StoredRequest {
    /// Prompt.
    pub prompt: String,
    /// Negative prompt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub negative_prompt: Option<String>,
    /// Outputs asked for.
    pub n: u32,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Aspect ratio as given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aspect_ratio: Option<String>,
    /// Resolution tier as given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolution: Option<String>,
    /// Video length.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<u32>,
    /// Whether a video should have sound.
    #[serde(default, skip_serializing_if = "is_false")]
    pub generate_audio: bool,
    /// Seed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    /// Provider-specific parameters (JSON object text).
    #[serde(default = "empty_object", skip_serializing_if = "is_empty_object")]
    pub extra_params: String,
    /// Reference media, stored as files of the task's owner.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub references: Vec<StoredReference>,
}

impl StoredRequest {
    /// One image of `width` x `height` for `prompt`, with nothing else set.
    pub fn image(prompt: &str, width: u32, height: u32) -> Self {
        Self {
            prompt: prompt.to_string(),
            n: 1,
            width,
            height,
            extra_params: "{}".into(),
            ..Self::default()
        }
    }
}

fn is_false(value: &bool) -> bool {
    !value
}

fn empty_object() -> String {
    "{}".into()
}

fn is_empty_object(text: &str) -> bool {
    text == "{}"
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

/// What to hold for a new task.
#[derive(Debug, Clone, Copy)]
pub struct HoldRequest<'a> {
    /// The paying account.
    pub account_id: &'a str,
    /// Credits to hold.
    pub credits: i64,
    /// Who places it: a key id (which the hold then counts against) or
    /// `admin`.
    pub actor: &'a str,
    /// The key's own credit limit, if any.
    pub key_limit: Option<i64>,
    /// The account's credit line: how far below zero its balance may go.
    pub credit_line: i64,
}

impl<'a> HoldRequest<'a> {
    /// The key the hold counts against, if a key places it.
    pub fn key_id(&self) -> Option<&'a str> {
        self.actor.starts_with("key_").then_some(self.actor)
    }

    /// Refuses the hold if the account's available credits, its credit
    /// line included, do not cover it.
    pub(crate) fn check_available(&self, b: Balance) -> Result<(), LedgerError> {
        let available = b.spendable(self.credit_line);
        if available < self.credits {
            return Err(LedgerError::Insufficient {
                needed: self.credits,
                available,
            });
        }
        Ok(())
    }

    /// Refuses the hold if it would take what its key has `spent` past the
    /// key's limit.
    pub(crate) fn check_key_limit(&self, spent: i64) -> Result<(), LedgerError> {
        match self.key_limit {
            Some(limit) if spent + self.credits > limit => Err(LedgerError::KeyLimit {
                limit,
                spent,
                needed: self.credits,
            }),
            _ => Ok(()),
        }
    }

    /// Its ledger entry, for task `task_id`.
    pub(crate) fn entry<'t>(&self, task_id: &'t str) -> NewEntry<'t>
    where
        'a: 't,
    {
        NewEntry {
            kind: EntryKind::Hold,
            amount: 0,
            held_change: self.credits,
            task_id: Some(task_id),
            actor: self.actor,
            reason: None,
            floor: Some(-self.credit_line.max(0)),
        }
    }
}

/// How a new task is created.
#[derive(Debug, Clone, Copy, Default)]
pub struct Creation<'a> {
    /// Its caller waits for its end and has not been given its id: it
    /// reaches the disk only when it ends or is [detached](TaskStore::detach),
    /// and a crash before then ends it uncharged.
    pub synchronous: bool,
    /// Its hold, if it is billed.
    pub hold: Option<HoldRequest<'a>>,
    /// How many unfinished tasks its owner may have, this one included.
    pub max_unfinished: Option<u32>,
}

/// What finishing a task does to its open hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Settle {
    /// Charge it.
    Capture,
    /// Give it back.
    Release,
}

/// A task the index of open tasks holds, as recovery needs it.
#[derive(Debug, Clone)]
pub struct OpenTask {
    /// The task id.
    pub id: String,
    /// Whether its caller waited on a connection and was never given its id.
    pub synchronous: bool,
    /// The task as stored, or (synchronous) as submitted; `None` if its
    /// creation was cut off.
    pub task: Option<Task>,
    /// Its hold as committed (an uncommitted settlement reads as open).
    pub hold: Option<Hold>,
}

/// Where tasks and their holds are kept.
#[async_trait::async_trait]
pub trait TaskStore: Send + Sync + 'static {
    /// Creates `task` (queued): refused with [`TaskStoreError::TooManyTasks`]
    /// if its owner has `max_unfinished` tasks not yet finished, or with the
    /// ledger's refusal if the hold does not fit the available credits or
    /// the key's limit; otherwise stores its hold, its entries in the
    /// indexes and (unless synchronous) the task, all or nothing, and sets
    /// `task.hold`. Durable when it returns, unless synchronous.
    async fn create_task(
        &self,
        task: &mut Task,
        creation: Creation<'_>,
    ) -> Result<(), TaskStoreError>;

    /// Stores a change of a task other than its end, waiting for the disk
    /// if `durable`: of an unfinished task (progress, a job handle), which
    /// does nothing for a synchronous task (a crash ends it anyway) or one
    /// that finished meanwhile; or of a finished task's contents (what
    /// retention removes), its hold kept as given.
    async fn save_task(&self, task: &Task, durable: bool) -> Result<(), StoreError>;

    /// Stores a task that has reached a final status, settling its hold as
    /// `settle` says if it is still open, all or nothing; sets `task.hold`
    /// and returns the settlement's entry (`None` if there was no open
    /// hold). Durable when it returns. Finishing a task again with the
    /// status it has rewrites it and never settles twice. A task that
    /// ended otherwise first (canceled through another replica while this
    /// one ran it) keeps that end: nothing is written or settled, and
    /// `task` becomes the task as stored.
    async fn finish_task(
        &self,
        task: &mut Task,
        settle: Settle,
    ) -> Result<Option<Entry>, TaskStoreError>;

    /// Gives up a task that was never stored (its creation was cut off):
    /// releases its hold if open and drops it from the open tasks. Durable
    /// when it returns.
    async fn abandon_task(&self, id: &str) -> Result<Option<Entry>, TaskStoreError>;

    /// Makes a synchronous task an ordinary one, before its id is given
    /// out: `task` (as it stands) is stored if it was not, and a crash no
    /// longer ends it. Durable when it returns. Does nothing if it has
    /// finished.
    async fn detach(&self, task: &Task) -> Result<(), StoreError>;

    /// Drops a finished task from the open tasks (its events are queued).
    /// Not waited to disk: the next commit carries it.
    async fn close_task(&self, id: &str) -> Result<(), StoreError>;

    /// A task: as stored, or a synchronous one not yet stored as
    /// submitted.
    async fn task(&self, id: &str) -> Result<Option<Task>, StoreError>;

    /// Hands `owner`'s stored tasks to `visit`, newest first, starting
    /// before the task `before` (from the newest if `None`), until `visit`
    /// returns `false`.
    async fn tasks_of(
        &self,
        owner: &str,
        before: Option<&str>,
        visit: &mut (dyn FnMut(Task) -> bool + Send),
    ) -> Result<(), StoreError>;

    /// Hands every stored task to `visit`, in id order, until it returns
    /// `false`.
    async fn all_tasks(
        &self,
        visit: &mut (dyn FnMut(Task) -> bool + Send),
    ) -> Result<(), StoreError>;

    /// At start: the tasks the index of open tasks holds (not yet
    /// finished, or finished with events not yet queued) that this process
    /// takes over, oldest first. On sled: all of them (one process owns the
    /// data directory). On a database replicas share: those this replica
    /// held when it stopped, those whose lease lapsed (their replica died)
    /// and those that never had one, now leased to this replica (see
    /// [`crate::replicas`]). A task being created is leased to its creator.
    async fn open_tasks(&self) -> Result<Vec<OpenTask>, StoreError>;

    /// While running, on a database replicas share: the open tasks whose
    /// lease lapsed, now leased to this replica, oldest first (none on
    /// sled).
    async fn lapsed_tasks(&self) -> Result<Vec<OpenTask>, StoreError>;

    /// Renews this replica's leases on the open tasks `running` names (the
    /// ones it runs now; nothing to do on sled). A task it leased but no
    /// longer runs (its storage failed mid-run) lapses, and is then taken
    /// over, by this replica or another. Returns how many it renewed.
    async fn renew_leases(&self, running: &[String]) -> Result<u64, StoreError>;

    /// Gives up this replica's leases on open tasks, so that another
    /// replica takes them at once (at a graceful stop, with tasks still
    /// running). Nothing to do on sled.
    async fn release_leases(&self) -> Result<u64, StoreError>;

    /// A task's hold as committed, if it had one.
    async fn hold_of(&self, task_id: &str) -> Result<Option<Hold>, StoreError>;
}

#[cfg(test)]
mod tests {
    use super::{Output, StoredRequest, Task, TaskError};

    fn encode(task: &Task) -> String {
        serde_json::to_string(task).unwrap()
    }

    #[test]
    fn a_stored_task_leaves_out_what_is_unset_and_reads_back_the_same() {
        let mut task = Task::queued(
            "task_1".into(),
            "acct_1",
            "image",
            "imini/canvas-image",
            "req_1",
            StoredRequest::image("a lighthouse", 64, 64),
        );
        task.outputs.push(Output {
            file_id: "file_1".into(),
            mime: "image/png".into(),
            width: 64,
            height: 64,
            duration_ms: None,
            text: None,
        });
        let compact = encode(&task);
        assert!(!compact.contains("null"), "{compact}");
        for absent in [
            "extra_params",
            "references",
            "purged",
            "flagged",
            "generate_audio",
        ] {
            assert!(!compact.contains(absent), "{absent} in {compact}");
        }
        let back: Task = serde_json::from_str(&compact).unwrap();
        assert_eq!(encode(&back), compact);
        assert_eq!(back.request.extra_params, "{}");

        // Every field set: all of it is kept.
        let mut full = task.clone();
        full.completed_at = Some("2026-01-01T00:00:00Z".into());
        full.handle = Some("job".into());
        full.error = Some(TaskError {
            code: "UPSTREAM_ERROR".into(),
            message: "m".into(),
        });
        full.webhook_url = Some("https://hook.example".into());
        full.purged = true;
        full.flagged = true;
        full.metadata = Some("{}".into());
        full.target = Some("t".into());
        full.key_id = Some("key_1".into());
        full.outputs[0].duration_ms = Some(4000);
        full.outputs[0].text = Some("revised".into());
        let r = &mut full.request;
        r.negative_prompt = Some("blur".into());
        r.aspect_ratio = Some("16:9".into());
        r.resolution = Some("1K".into());
        r.duration_ms = Some(4000);
        r.generate_audio = true;
        r.seed = Some(7);
        r.extra_params = r#"{"a":1}"#.into();
        let text = encode(&full);
        assert_eq!(encode(&serde_json::from_str(&text).unwrap()), text);
        assert!(text.len() > compact.len());
    }

    #[test]
    fn a_task_stored_with_every_field_written_out_still_reads() {
        // As earlier versions wrote it: nulls, false and empty lists spelled out.
        let old = r#"{"id":"task_1","owner":"acct_1","kind":"image","model":"imini/canvas-image","status":"succeeded","progress":100,"request_id":"req_1","created_at":"2026-01-01T00:00:00Z","completed_at":null,"request":{"prompt":"p","negative_prompt":null,"n":1,"width":64,"height":64,"aspect_ratio":null,"resolution":null,"duration_ms":null,"generate_audio":false,"seed":null,"extra_params":"{}","references":[]},"handle":null,"outputs":[{"file_id":"file_1","mime":"image/png","width":64,"height":64,"duration_ms":null,"text":null}],"error":null,"webhook_url":null,"purged":false,"metadata":null,"target":"imini/canvas-image","key_id":"key_1","flagged":false}"#;
        let task: Task = serde_json::from_str(old).unwrap();
        assert_eq!(task.outputs.len(), 1);
        assert_eq!(task.key_id.as_deref(), Some("key_1"));
        let compact = encode(&task);
        assert!(compact.len() < old.len() * 3 / 4, "{compact}");
    }
}

//! The native view of a task: what `GET /v1/tasks/{task_id}` and the
//! task routes answer, with its outputs and what it cost.

use serde_json::Value;

use super::AppState;
use super::error::ApiError;
use crate::tasks::Task;

/// A task, as the native API shows it.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct TaskView {
    /// `task_…`.
    task_id: String,
    /// `image` or `video`.
    #[serde(rename = "type")]
    kind: String,
    /// The model, `vendor/name`.
    model: String,
    status: crate::tasks::Status,
    /// Percent done.
    progress: u8,
    /// When it was created (RFC 3339).
    created_at: String,
    /// When it finished (RFC 3339).
    completed_at: Option<String>,
    /// Why it failed.
    error: Option<TaskErrorView>,
    /// The request that created it.
    request_id: String,
    /// Whether retention removed its prompt, references and outputs.
    purged: bool,
    /// What the provider reported with the result (usage…), as it gave it.
    provider_metadata: Option<Value>,
    cost: Cost,
    /// An image task's outputs.
    #[serde(skip_serializing_if = "Option::is_none")]
    images: Option<Vec<OutputView>>,
    /// A video task's outputs.
    #[serde(skip_serializing_if = "Option::is_none")]
    videos: Option<Vec<OutputView>>,
}

/// Why a task failed.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct TaskErrorView {
    /// An error code (docs/api.md), or `canceled`.
    pub code: String,
    /// What happened, for people.
    pub message: String,
}

/// One output of a task.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct OutputView {
    /// Where to download it, with the caller's key.
    url: String,
    /// `file_…`.
    file_id: String,
    mime_type: String,
    width: u32,
    height: u32,
    /// A video's length in seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    duration: Option<f64>,
    /// Text the provider returned with it (e.g. a revised prompt).
    #[serde(skip_serializing_if = "Option::is_none")]
    text: Option<String>,
}

/// What a task cost, in credits: held while it runs, then charged or
/// refunded.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct Cost {
    /// Credits held while it ran (its price).
    pub held: i64,
    /// Credits charged when it succeeded.
    pub charged: i64,
    /// Credits given back when it did not.
    pub refunded: i64,
}

/// The native JSON view of a task.
pub(super) async fn task_json(state: &AppState, task: &Task) -> Result<TaskView, ApiError> {
    let outputs: Vec<OutputView> = task
        .outputs
        .iter()
        .map(|o| OutputView {
            url: format!("/v1/files/{}/content", o.file_id),
            file_id: o.file_id.clone(),
            mime_type: o.mime.clone(),
            width: o.width,
            height: o.height,
            duration: o.duration_ms.map(|ms| f64::from(ms) / 1000.0),
            text: o.text.clone(),
        })
        .collect();
    let (images, videos) = if task.kind == "video" {
        (None, Some(outputs))
    } else {
        (Some(outputs), None)
    };
    Ok(TaskView {
        task_id: task.id.clone(),
        kind: task.kind.clone(),
        model: task.model.clone(),
        status: task.status,
        progress: task.progress,
        created_at: task.created_at.clone(),
        completed_at: task.completed_at.clone(),
        error: task.error.as_ref().map(|e| TaskErrorView {
            code: e.code.clone(),
            message: e.message.clone(),
        }),
        request_id: task.request_id.clone(),
        purged: task.purged,
        provider_metadata: task
            .metadata
            .as_deref()
            .and_then(|m| serde_json::from_str::<Value>(m).ok()),
        cost: cost(state.tasks.hold_of(task).await?),
        images,
        videos,
    })
}

/// What a task cost: held, charged and refunded credits, from its hold.
pub(crate) fn cost(hold: Option<crate::ledger::Hold>) -> Cost {
    use crate::ledger::HoldStatus;
    let (held, charged, refunded) = match hold {
        None => (0, 0, 0),
        Some(h) => match h.status {
            HoldStatus::Open => (h.amount, 0, 0),
            HoldStatus::Captured => (h.amount, h.amount, 0),
            HoldStatus::Released => (h.amount, 0, h.amount),
        },
    };
    Cost {
        held,
        charged,
        refunded,
    }
}

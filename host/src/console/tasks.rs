//! The account's tasks: the list (newest first, filtered, a page at a
//! time, as `GET /v1/tasks` pages them) and one task's page, with its
//! outputs, what it cost, and a cancel button while it runs.
//!
//! Outputs are shown and downloaded through signed URLs of
//! `/v1/files/{id}/content` on this same origin (the session cookie is the
//! console's alone): the console's CSP allows images and media from
//! `'self'`.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::{
    Chrome, CsrfForm, Person, SignedForm, api_error_page, failure_page, in_words, page, url_escape,
};
use crate::api::{ApiError, AppState, ErrorCode};
use crate::tasks::{Status, Task, TaskFilter};

/// Tasks per page, as the API's default page.
const PAGE: usize = 20;

/// Every status, in the order the filter offers them.
const STATUSES: [Status; 5] = [
    Status::Queued,
    Status::Processing,
    Status::Succeeded,
    Status::Failed,
    Status::Canceled,
];

/// A same-origin signed URL of file `file_id` that the browser may load
/// for about `server.signed_url_ttl_secs` (as the OpenAI face's URLs).
pub(super) fn file_url(state: &AppState, file_id: &str) -> String {
    let ttl = state.config.server.signed_url_ttl_secs as i64;
    let mut expires = crate::time::now_unix() + ttl;
    // Rounded down to 5 minutes (when that still leaves most of the TTL),
    // the URL stays the same from one page to the next for a while, so the
    // browser's cache of the (immutable) file serves it.
    if ttl >= 600 {
        expires -= expires.rem_euclid(300);
    }
    format!(
        "/v1/files/{file_id}/content?{}",
        state.signer.sign(file_id, expires)
    )
}

/// The file name extension of a MIME type, for downloads.
fn extension(mime: &str) -> &'static str {
    match mime {
        "image/png" => "png",
        "image/jpeg" => "jpg",
        "image/webp" => "webp",
        "image/gif" => "gif",
        "video/mp4" => "mp4",
        "video/webm" => "webm",
        "video/quicktime" => "mov",
        _ => "bin",
    }
}

/// The list's filters and cursor, as the query string carries them (a
/// blank field is no filter).
#[derive(Debug, Default, Deserialize)]
pub(super) struct ListQuery {
    #[serde(default)]
    status: String,
    #[serde(default)]
    model: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    after: String,
}

/// A task as the list shows it.
struct TaskRow {
    id: String,
    model: String,
    kind: String,
    status: &'static str,
    prompt: String,
    created_at: String,
    thumbnail: Option<String>,
}

/// The tasks page.
#[derive(Template)]
#[template(path = "console/tasks.html")]
struct TasksPage {
    chrome: Chrome,
    query: ListQuery,
    statuses: Vec<&'static str>,
    models: Vec<String>,
    tasks: Vec<TaskRow>,
    error: Option<String>,
    next: Option<String>,
    first_page: bool,
    /// The filters as a query string, for the pager's links.
    filters: String,
}

/// The first characters of a prompt, for a list.
fn excerpt(prompt: &str) -> String {
    const MAX: usize = 80;
    if prompt.chars().count() <= MAX {
        prompt.to_string()
    } else {
        let cut: String = prompt.chars().take(MAX).collect();
        format!("{}…", cut.trim_end())
    }
}

/// `GET /console/tasks`: the account's tasks, newest first.
pub(super) async fn list(
    State(state): State<AppState>,
    person: Person,
    query: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let query = query.map(|Query(q)| q).unwrap_or_default();
    let blank = |s: &str| Some(s.trim().to_string()).filter(|s| !s.is_empty());
    let mut error = None;
    let status = blank(&query.status).and_then(|s| {
        let found = STATUSES.into_iter().find(|st| st.as_str() == s);
        if found.is_none() {
            error = Some(format!("There is no status {s:?}."));
        }
        found
    });
    let filter = TaskFilter {
        status,
        kind: blank(&query.kind),
        model: blank(&query.model),
    };
    let after = blank(&query.after);
    let filters = format!(
        "status={}&model={}&kind={}",
        url_escape(query.status.trim()),
        url_escape(query.model.trim()),
        url_escape(query.kind.trim())
    );
    let mut tasks = Vec::new();
    let mut next = None;
    if error.is_none() {
        let listed =
            match crate::api::extract::page_limit(Some(PAGE), after.as_deref(), PAGE, PAGE, "task")
            {
                Ok(limit) => state
                    .tasks
                    .list(person.account_id(), &filter, limit, after.as_deref())
                    .await
                    .map_err(ApiError::from),
                Err(e) => Err(e),
            };
        match listed {
            Ok((found, more)) => {
                if more && let Some(last) = found.last() {
                    next = Some(format!(
                        "/console/tasks?{filters}&after={}",
                        url_escape(&last.id)
                    ));
                }
                tasks = found.iter().map(|t| row(&state, t)).collect();
            }
            Err(e) if e.status_and_type().0.is_client_error() => error = Some(in_words(&e)),
            Err(e) => return api_error_page(&e),
        }
    }
    let mut models: Vec<String> = {
        let catalogue = state.catalogue.read().expect("lock").clone();
        catalogue.routes().map(|r| r.info.id.clone()).collect()
    };
    models.sort();
    let status = if error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    let view = TasksPage {
        chrome: person.chrome("tasks"),
        statuses: STATUSES.iter().map(|s| s.as_str()).collect(),
        models,
        tasks,
        first_page: after.is_none(),
        filters,
        next,
        query,
        error,
    };
    page(&view, status)
}

/// A task as the list shows it: a thumbnail of its first image, once it
/// succeeded (and unless retention removed it).
fn row(state: &AppState, t: &Task) -> TaskRow {
    let thumbnail = (t.status == Status::Succeeded && !t.purged)
        .then(|| t.outputs.iter().find(|o| o.mime.starts_with("image/")))
        .flatten()
        .map(|o| file_url(state, &o.file_id));
    TaskRow {
        id: t.id.clone(),
        model: t.model.clone(),
        kind: t.kind.clone(),
        status: t.status.as_str(),
        prompt: excerpt(&t.request.prompt),
        created_at: t.created_at.clone(),
        thumbnail,
    }
}

/// One output as the task's page shows it.
struct OutputRow {
    url: String,
    download: String,
    video: bool,
    width: u32,
    height: u32,
    mime: String,
    text: Option<String>,
}

/// A task's page.
#[derive(Template)]
#[template(path = "console/task.html")]
struct TaskPage {
    chrome: Chrome,
    id: String,
    model: String,
    kind: String,
    status: &'static str,
    running: bool,
    progress: u8,
    prompt: String,
    negative_prompt: Option<String>,
    seed: Option<u64>,
    size: String,
    n: u32,
    references: usize,
    created_at: String,
    completed_at: Option<String>,
    error: Option<(String, String)>,
    held: i64,
    charged: i64,
    refunded: i64,
    purged: bool,
    outputs: Vec<OutputRow>,
}

/// The answer for a task that is not the person's (or does not exist).
fn no_such_task(id: &str) -> Response {
    api_error_page(
        &ApiError::new(ErrorCode::TaskNotFound, format!("no task {id:?}")).with_param("task_id"),
    )
}

/// `GET /console/tasks/{id}`: one task of the account's. While it runs,
/// the page reloads itself every 2 seconds (no script).
pub(super) async fn show(
    State(state): State<AppState>,
    person: Person,
    Path(id): Path<String>,
) -> Response {
    if !crate::ids::is_valid("task", &id) {
        return no_such_task(&id);
    }
    let task = match state.tasks.get(&id, person.account_id()).await {
        Ok(Some(task)) => task,
        Ok(None) => return no_such_task(&id),
        Err(e) => return failure_page("a task", &e),
    };
    let cost = match state.tasks.hold_of(&task).await {
        Ok(hold) => crate::api::task_view::cost(hold),
        Err(e) => return failure_page("a task's hold", &e),
    };
    // Retention deleted a purged task's files: nothing to show.
    let shown = if task.purged {
        &[][..]
    } else {
        &task.outputs[..]
    };
    let outputs = shown
        .iter()
        .enumerate()
        .map(|(i, o)| OutputRow {
            url: file_url(&state, &o.file_id),
            download: format!("{}-{}.{}", task.id, i + 1, extension(&o.mime)),
            video: o.mime.starts_with("video/"),
            width: o.width,
            height: o.height,
            mime: o.mime.clone(),
            text: o.text.clone(),
        })
        .collect();
    let view = TaskPage {
        chrome: person.chrome("tasks"),
        status: task.status.as_str(),
        running: !task.status.is_final(),
        progress: task.progress,
        size: format!("{}×{}", task.request.width, task.request.height),
        n: task.request.n,
        references: task.request.references.len(),
        prompt: task.request.prompt.clone(),
        negative_prompt: task.request.negative_prompt.clone(),
        seed: task.request.seed,
        created_at: task.created_at.clone(),
        completed_at: task.completed_at.clone(),
        error: task
            .error
            .as_ref()
            .map(|e| (e.code.clone(), e.message.clone())),
        held: cost.held,
        charged: cost.charged,
        refunded: cost.refunded,
        purged: task.purged,
        outputs,
        id: task.id,
        model: task.model,
        kind: task.kind,
    };
    page(&view, StatusCode::OK)
}

/// `POST /console/tasks/{id}/cancel`: stops a running task (its hold is
/// released), as `POST /v1/tasks/{id}/cancel` does.
pub(super) async fn cancel(
    State(state): State<AppState>,
    Path(id): Path<String>,
    SignedForm { by: person, .. }: SignedForm<CsrfForm>,
) -> Response {
    match crate::api::videos::cancel_task(&state, person.account_id(), &id).await {
        Ok(task) => Redirect::to(&format!("/console/tasks/{}", task.id)).into_response(),
        Err(e) => api_error_page(&e),
    }
}

//! Flagged requests, for staff: the list (refusals, flags for review and
//! policy failures, newest first, filtered as `GET /admin/v1/flags` is)
//! and one flag's page with its evidence: what was asked, the reference
//! images, what is known of the outputs a policy saw, and (when the task
//! kept them) the outputs themselves. Images are shown through signed
//! same-origin file URLs, as the task pages show them.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;

use super::Staff;
use crate::api::{ApiError, AppState, ErrorCode};
use crate::console::tasks::file_url;
use crate::console::{Chrome, api_error_page, failure_page, page, url_escape};
use crate::moderation::{Flag, FlagQuery};

/// Flags per page.
const PER_PAGE: usize = 50;

/// A flag as the list shows it.
struct FlagRow {
    id: String,
    created_at: String,
    action: String,
    stage: String,
    policy: String,
    category: String,
    account_id: String,
    model: String,
    prompt: String,
}

/// The flagged requests page.
#[derive(Template)]
#[template(path = "console/admin/flags.html")]
struct FlagsPage {
    chrome: Chrome,
    account_id: String,
    action: String,
    category: String,
    stage: String,
    rows: Vec<FlagRow>,
    next: Option<String>,
}

/// Query of the flagged requests page: empty fields do not filter.
#[derive(Debug, Deserialize)]
pub(crate) struct FlagFilter {
    #[serde(default)]
    account_id: String,
    /// `deny`, `flag` or `error`.
    #[serde(default)]
    action: String,
    #[serde(default)]
    category: String,
    /// `request` or `output`.
    #[serde(default)]
    stage: String,
    /// The last flag of the previous page.
    after: Option<String>,
}

/// The first line of a prompt, at most 80 characters.
fn excerpt(prompt: &str) -> String {
    let line = prompt.lines().next().unwrap_or_default();
    let mut out: String = line.chars().take(80).collect();
    if out.len() < prompt.len() {
        out.push('…');
    }
    out
}

/// `GET /console/admin/moderation`.
pub(crate) async fn list(
    State(state): State<AppState>,
    staff: Staff,
    Query(f): Query<FlagFilter>,
) -> Response {
    let given = |s: &str| Some(s.trim().to_string()).filter(|s| !s.is_empty());
    let q = FlagQuery {
        account_id: given(&f.account_id),
        action: given(&f.action),
        category: given(&f.category),
        stage: given(&f.stage),
        after: f.after.clone(),
        limit: None,
    };
    let (flags, more) = match state.moderation.flags(&q, PER_PAGE).await {
        Ok(found) => found,
        Err(e) => return failure_page("the flagged requests", &e),
    };
    let next = more.then(|| flags.last()).flatten().map(|last| {
        format!(
            "/console/admin/moderation?account_id={}&action={}&category={}&stage={}&after={}",
            url_escape(f.account_id.trim()),
            url_escape(f.action.trim()),
            url_escape(f.category.trim()),
            url_escape(f.stage.trim()),
            url_escape(&last.id)
        )
    });
    let rows = flags
        .into_iter()
        .map(|flag| FlagRow {
            prompt: excerpt(&flag.interaction.prompt),
            id: flag.id,
            created_at: flag.created_at,
            action: flag.action,
            stage: flag.stage,
            policy: flag.policy,
            category: flag.category.unwrap_or_default(),
            account_id: flag.account_id,
            model: flag.model,
        })
        .collect();
    page(
        &FlagsPage {
            chrome: staff.person.chrome("moderation"),
            account_id: f.account_id.trim().to_string(),
            action: f.action.trim().to_string(),
            category: f.category.trim().to_string(),
            stage: f.stage.trim().to_string(),
            rows,
            next,
        },
        StatusCode::OK,
    )
}

/// An image shown as evidence.
struct Preview {
    url: String,
    label: String,
}

/// What is kept of an output a policy saw.
struct OutputRow {
    mime: String,
    bytes: usize,
    sha256: String,
    dhash: String,
    text: String,
}

/// One flag's page.
#[derive(Template)]
#[template(path = "console/admin/flag.html")]
struct FlagPage {
    chrome: Chrome,
    flag: Flag,
    references: Vec<Preview>,
    checked: Vec<OutputRow>,
    /// The task's outputs, when it kept them (an output let through with a
    /// flag; a refused output was never stored).
    stored: Vec<Preview>,
    stored_note: Option<&'static str>,
}

/// `GET /console/admin/moderation/flags/{id}`.
pub(crate) async fn show(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
) -> Response {
    let flag = match state.moderation.flag(&id).await {
        Ok(Some(flag)) => flag,
        Ok(None) => {
            return api_error_page(
                &ApiError::new(ErrorCode::NotFound, "no such flag").with_param("flag_id"),
            );
        }
        Err(e) => return failure_page("a flag", &e),
    };
    let references = flag
        .interaction
        .references
        .iter()
        .enumerate()
        .map(|(i, file_id)| Preview {
            url: file_url(&state, file_id),
            label: format!("Reference {} ({file_id})", i + 1),
        })
        .collect();
    let checked = flag
        .interaction
        .outputs
        .iter()
        .map(|o| OutputRow {
            mime: o.mime.clone(),
            bytes: o.bytes,
            sha256: o.sha256.clone(),
            dhash: o.dhash.clone().unwrap_or_default(),
            text: o.text.clone().unwrap_or_default(),
        })
        .collect();
    let (stored, stored_note) = match &flag.task_id {
        None => (Vec::new(), None),
        Some(task_id) => match state.tasks.get(task_id, &flag.account_id).await {
            Ok(Some(task)) if task.purged => (
                Vec::new(),
                Some("Retention has removed the task's outputs."),
            ),
            Ok(Some(task)) => {
                let previews: Vec<Preview> = task
                    .outputs
                    .iter()
                    .enumerate()
                    .filter(|(_, o)| o.mime.starts_with("image/"))
                    .map(|(i, o)| Preview {
                        url: file_url(&state, &o.file_id),
                        label: format!("Output {} of {task_id}", i + 1),
                    })
                    .collect();
                let note = previews
                    .is_empty()
                    .then_some("The task kept no image outputs: a refused output is never stored.");
                (previews, note)
            }
            Ok(None) => (Vec::new(), Some("The task is gone.")),
            Err(e) => return failure_page("a flag's task", &e),
        },
    };
    page(
        &FlagPage {
            chrome: staff.person.chrome("moderation"),
            flag,
            references,
            checked,
            stored,
            stored_note,
        },
        StatusCode::OK,
    )
}

#[cfg(test)]
mod tests {
    use super::excerpt;

    #[test]
    fn a_prompt_is_cut_to_its_first_line() {
        assert_eq!(excerpt("a cat"), "a cat");
        assert_eq!(excerpt("a cat\non a mat"), "a cat…");
        assert_eq!(excerpt(&"x".repeat(100)).chars().count(), 81);
    }
}

//! The models page: the models served now with their prices (the same
//! figures as `GET /v1/models`) and announced retirements, and the
//! changelog of launches, retirements, price changes and policy updates
//! (the same pages as `GET /v1/changelog`).

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;

use super::{Chrome, Person, failure_page, page, readable};
use crate::api::AppState;
use crate::api::models::prices_now;
use crate::catalogue::kind_name;
use crate::store::prices::ChangelogEntry;

/// Changelog entries a page.
const CHANGES_PER_PAGE: usize = 25;

/// A model as the page lists it.
struct ModelRow {
    id: String,
    name: String,
    description: String,
    modality: &'static str,
    /// `5 credits per image`, or that it has no price.
    price: String,
    /// Its sizes, aspect ratios or durations, in words.
    accepts: String,
    retires_at: Option<String>,
}

/// A changelog entry as the page lists it.
struct ChangeRow {
    effective_at: String,
    upcoming: bool,
    model: String,
    what: String,
}

/// The models page.
#[derive(Template)]
#[template(path = "console/models.html")]
struct ModelsPage {
    chrome: Chrome,
    models: Vec<ModelRow>,
    changes: Vec<ChangeRow>,
    /// The last entry shown, when there are more.
    next: Option<String>,
}

/// Query of the models page.
#[derive(Debug, Deserialize)]
pub(super) struct ModelsQuery {
    /// The changelog entry after which the page starts.
    after: Option<String>,
}

/// A price in words: `4 credits per image`, `2 credits per second`.
fn price_words(units: &[(&str, i64)]) -> String {
    if units.is_empty() {
        return "no price set".into();
    }
    units
        .iter()
        .map(|(unit, credits)| {
            let noun = if *credits == 1 { "credit" } else { "credits" };
            format!("{credits} {noun} per {unit}")
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// What a changelog entry says, in words.
fn change_words(e: &ChangelogEntry) -> String {
    let d = &e.details;
    match e.kind.as_str() {
        "price_changed" => {
            let units: Vec<(&str, i64)> = [("image", "per_image"), ("second", "per_second")]
                .into_iter()
                .filter_map(|(unit, key)| d[key].as_i64().map(|c| (unit, c)))
                .collect();
            format!("Price: {}", price_words(&units))
        }
        "model_launched" => "Launched".into(),
        "model_retired" => match d["reason"].as_str() {
            Some(reason) => format!("Retired ({reason})"),
            None => "Retired".into(),
        },
        "policy_updated" => match (d["policy"].as_str(), d["version"].as_str()) {
            (Some(policy), Some(version)) => {
                format!("Content policy {policy} updated to version {version}")
            }
            (Some(policy), None) => format!("Content policy {policy} updated"),
            _ => "Content policy updated".into(),
        },
        other => other.replace('_', " "),
    }
}

/// `GET /console/models`.
pub(super) async fn show(
    State(state): State<AppState>,
    person: Person,
    Query(q): Query<ModelsQuery>,
) -> Response {
    let catalogue = state.catalogue.read().expect("lock").clone();
    let upcoming = state.pricing.upcoming_retirements();
    let size = |s: &crate::plugins::bindings::types::Size| format!("{}×{}", s.width, s.height);
    let models = catalogue
        .routes()
        .map(|route| {
            let m = &route.info;
            let accepts = if !m.durations_ms.is_empty() {
                let secs: Vec<String> = m
                    .durations_ms
                    .iter()
                    .map(|ms| format!("{} s", f64::from(*ms) / 1000.0))
                    .collect();
                format!("lengths {}", secs.join(", "))
            } else if !m.sizes.is_empty() {
                format!(
                    "sizes {}",
                    m.sizes.iter().map(size).collect::<Vec<_>>().join(", ")
                )
            } else {
                format!("{} to {}", size(&m.min_size), size(&m.max_size))
            };
            ModelRow {
                id: m.id.clone(),
                name: m.name.clone(),
                description: m.description.clone(),
                modality: kind_name(m.kind),
                price: price_words(&prices_now(&state, &m.id)),
                accepts,
                retires_at: upcoming.get(&m.id).map(|at| readable(at)),
            }
        })
        .collect();
    let (entries, more) = match state
        .pricing
        .changelog(CHANGES_PER_PAGE, q.after.as_deref())
        .await
    {
        Ok(page) => page,
        Err(e) => return failure_page("the changelog", &e),
    };
    let now = crate::time::now_rfc3339();
    let next = more.then(|| entries.last().map(|e| e.id.clone())).flatten();
    let changes = entries
        .iter()
        .map(|e| ChangeRow {
            effective_at: readable(&e.effective_at),
            upcoming: e.effective_at > now,
            model: e.model.clone().unwrap_or_default(),
            what: change_words(e),
        })
        .collect();
    let view = ModelsPage {
        chrome: person.chrome("models"),
        models,
        changes,
        next,
    };
    page(&view, StatusCode::OK)
}

//! Prices, for staff: each model's price in force now and the changes
//! scheduled after it; for an operator, a form to schedule a price from a
//! date, through the admin API's own function ([`schedule_price_of`]).
//! Support reads the schedule; a price posted anyway is refused (403).

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::{Staff, parse_when};
use crate::api::models::{NewPrice, schedule_price_of};
use crate::api::operate::record_operator_act;
use crate::api::{ApiError, AppState, ErrorCode};
use crate::console::{Chrome, SignedForm, api_error_page, in_words, page, url_escape};

/// What support is told when it posts a price.
const SUPPORT_READS: &str = "Your role (support) reads prices; only an operator schedules them.";

/// A price change scheduled after now, as the page shows it.
struct ScheduledRow {
    effective_at: String,
    price: String,
}

/// A model with its price in force and those to come.
struct PriceRow {
    model: String,
    /// The model's id as an HTML id (`/` as `-`).
    anchor: String,
    kind: &'static str,
    now: String,
    scheduled: Vec<ScheduledRow>,
}

/// What was typed into the form, kept when it is shown again.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct PriceForm {
    #[serde(default)]
    model: String,
    #[serde(default)]
    per_image: String,
    #[serde(default)]
    per_second: String,
    #[serde(default)]
    effective_at: String,
}

/// The refusals the form shows, next to their field or above it.
#[derive(Default)]
struct Errors {
    model: Option<String>,
    per_image: Option<String>,
    per_second: Option<String>,
    effective_at: Option<String>,
    form: Option<String>,
}

impl Errors {
    /// Places a refusal of the admin API's function by the field it names.
    fn place(&mut self, e: &ApiError) {
        let message = Some(in_words(e));
        match e.param.as_deref().unwrap_or_default() {
            "model" => self.model = message,
            "per_image" => self.per_image = message,
            "per_second" => self.per_second = message,
            "effective_at" => self.effective_at = message,
            _ => self.form = message,
        }
    }

    /// Whether any field was refused.
    fn any(&self) -> bool {
        self.model.is_some()
            || self.per_image.is_some()
            || self.per_second.is_some()
            || self.effective_at.is_some()
            || self.form.is_some()
    }
}

/// The prices page.
#[derive(Template)]
#[template(path = "console/admin/prices.html")]
struct PricesPage {
    chrome: Chrome,
    may_act: bool,
    notice: Option<String>,
    rows: Vec<PriceRow>,
    fields: PriceForm,
    errors: Errors,
}

/// A price in words: "12 credits per image, 3 credits per second".
fn describe(per_image: Option<i64>, per_second: Option<i64>) -> String {
    let word = |c: i64| if c == 1 { "credit" } else { "credits" };
    let mut parts = Vec::new();
    if let Some(c) = per_image {
        parts.push(format!("{c} {} per image", word(c)));
    }
    if let Some(c) = per_second {
        parts.push(format!("{c} {} per second", word(c)));
    }
    if parts.is_empty() {
        "no price set".into()
    } else {
        parts.join(", ")
    }
}

/// Every model served now, with its price in force and the changes to
/// come, by id.
fn rows(state: &AppState) -> Vec<PriceRow> {
    let now = time::OffsetDateTime::now_utc();
    let catalogue = state.catalogue.read().expect("lock").clone();
    let mut rows: Vec<PriceRow> = catalogue
        .routes()
        .map(|r| {
            let id = &r.info.id;
            let price = state.pricing.price_at(&state.config, id, now);
            PriceRow {
                model: id.clone(),
                anchor: id.replace('/', "-"),
                kind: crate::catalogue::kind_name(r.info.kind),
                now: price.map_or_else(
                    || describe(None, None),
                    |p| describe(p.per_image, p.per_second),
                ),
                scheduled: state
                    .pricing
                    .scheduled_after(id, now)
                    .into_iter()
                    .map(|c| ScheduledRow {
                        price: describe(c.per_image, c.per_second),
                        effective_at: c.effective_at,
                    })
                    .collect(),
            }
        })
        .collect();
    rows.sort_by(|a, b| a.model.cmp(&b.model));
    rows
}

/// Renders the page with the form's fields and refusals.
fn render(
    state: &AppState,
    staff: &Staff,
    status: StatusCode,
    notice: Option<String>,
    fields: PriceForm,
    errors: Errors,
) -> Response {
    let view = PricesPage {
        chrome: staff.person.chrome("prices"),
        may_act: staff.may_act(),
        notice,
        rows: rows(state),
        fields,
        errors,
    };
    page(&view, status)
}

/// Query of the prices page.
#[derive(Debug, Deserialize)]
pub(crate) struct PricesQuery {
    /// The model whose price was just scheduled, to say so.
    scheduled: Option<String>,
}

/// `GET /console/admin/prices`.
pub(crate) async fn list(
    State(state): State<AppState>,
    staff: Staff,
    Query(q): Query<PricesQuery>,
) -> Response {
    let notice = q
        .scheduled
        .map(|model| format!("The new price of {model} is scheduled."));
    render(
        &state,
        &staff,
        StatusCode::OK,
        notice,
        PriceForm::default(),
        Errors::default(),
    )
}

/// A credits field: empty is `None`; anything but a whole number is said
/// so.
fn credits(field: &str) -> Result<Option<i64>, String> {
    let field = field.trim();
    if field.is_empty() {
        return Ok(None);
    }
    field
        .parse()
        .map(Some)
        .map_err(|_| format!("Enter a whole number of credits, not {field:?}."))
}

/// `POST /console/admin/prices`: schedules a price through the admin
/// API's function, recorded in the audit log under the operator's login
/// (`price.scheduled`). Support is refused (403) and nothing changes; a
/// refused field is shown next to it, and nothing changes either.
pub(crate) async fn schedule(
    State(state): State<AppState>,
    SignedForm { by: staff, form }: SignedForm<PriceForm, Staff>,
) -> Response {
    if let Err(refused) = staff.only_operators(SUPPORT_READS) {
        return refused;
    }
    let mut errors = Errors::default();
    let per_image = credits(&form.per_image).unwrap_or_else(|e| {
        errors.per_image = Some(e);
        None
    });
    let per_second = credits(&form.per_second).unwrap_or_else(|e| {
        errors.per_second = Some(e);
        None
    });
    let effective_at = parse_when(&form.effective_at).unwrap_or_else(|e| {
        errors.effective_at = Some(e);
        None
    });
    if errors.any() {
        return render(&state, &staff, StatusCode::BAD_REQUEST, None, form, errors);
    }
    let body = NewPrice {
        model: form.model.trim().to_string(),
        per_image,
        per_second,
        effective_at,
    };
    match schedule_price_of(&state, &body).await {
        Ok(change) => {
            let details = serde_json::json!({ "via": "console", "change": &change });
            let actor = staff.person.actor();
            record_operator_act(&state, actor, "price.scheduled", None, details).await;
            Redirect::to(&format!(
                "/console/admin/prices?scheduled={}",
                url_escape(&change.model)
            ))
            .into_response()
        }
        Err(e) if e.code == ErrorCode::InternalError => api_error_page(&e),
        Err(e) => {
            errors.place(&e);
            let status = e.status_and_type().0;
            render(&state, &staff, status, None, form, errors)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{credits, describe};

    #[test]
    fn prices_are_said_in_words_and_credits_must_be_whole_numbers() {
        assert_eq!(describe(Some(12), None), "12 credits per image");
        assert_eq!(
            describe(Some(1), Some(3)),
            "1 credit per image, 3 credits per second"
        );
        assert_eq!(describe(None, None), "no price set");
        assert_eq!(credits(" 7 "), Ok(Some(7)));
        assert_eq!(credits(""), Ok(None));
        assert!(credits("1.5").unwrap_err().contains("whole number"));
    }
}

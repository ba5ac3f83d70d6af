//! The playground: a generation from a form, priced before it is sent
//! ("Show the price" renders the form again with the quote), then
//! submitted through the same `submit` as the API, for the person's
//! account, and followed on the task's page.

use askama::Template;
use axum::Extension;
use axum::extract::{Multipart, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};

use super::{Chrome, Person, api_error_page, failure_page, in_words, page};
use crate::api::generate::{Generation, quote, submit};
use crate::api::references::RefInput;
use crate::api::{ApiError, AppState, RequestId};
use crate::auth::Principal;
use crate::catalogue::SizeRequest;
use crate::plugins::bindings::types::MediaKind;

/// What was typed into the form, kept when it is shown again.
#[derive(Debug, Default)]
struct Fields {
    csrf: String,
    model: String,
    prompt: String,
    negative_prompt: String,
    size: String,
    aspect_ratio: String,
    n: String,
    duration: String,
    seed: String,
    action: String,
}

/// The refusals the form shows, next to their field or above it.
#[derive(Default)]
struct Errors {
    model: Option<String>,
    prompt: Option<String>,
    negative_prompt: Option<String>,
    size: Option<String>,
    aspect_ratio: Option<String>,
    n: Option<String>,
    duration: Option<String>,
    seed: Option<String>,
    reference: Option<String>,
    form: Option<String>,
}

impl Errors {
    /// Places a refusal of the generation services by the field it names.
    fn place(&mut self, e: &ApiError) {
        let message = Some(in_words(e));
        match e.param.as_deref().unwrap_or_default() {
            "model" => self.model = message,
            "prompt" => self.prompt = message,
            "negative_prompt" => self.negative_prompt = message,
            "seed" => self.seed = message,
            "size" | "resolution" => self.size = message,
            "aspect_ratio" => self.aspect_ratio = message,
            "n" => self.n = message,
            "duration" => self.duration = message,
            p if p.starts_with("reference") => self.reference = message,
            _ => self.form = message,
        }
    }
}

/// A model as the form offers it, with its prices.
struct ModelRow {
    id: String,
    kind: &'static str,
    prices: String,
    sizes: String,
}

/// The playground page.
#[derive(Template)]
#[template(path = "console/playground.html")]
struct PlaygroundPage {
    chrome: Chrome,
    models: Vec<ModelRow>,
    fields: Fields,
    errors: Errors,
    quote: Option<i64>,
    available: i64,
}

/// The models of the catalogue a person can generate with, images first.
fn models(state: &AppState) -> Vec<ModelRow> {
    let catalogue = state.catalogue.read().expect("lock").clone();
    let mut rows: Vec<ModelRow> = catalogue
        .routes()
        .filter(|r| matches!(r.info.kind, MediaKind::Image | MediaKind::Video))
        .map(|r| {
            let prices: Vec<String> = crate::api::models::prices_now(state, &r.info.id)
                .into_iter()
                .map(|(unit, credits)| format!("{credits} credits per {unit}"))
                .collect();
            let sizes: Vec<String> = r
                .info
                .sizes
                .iter()
                .map(|s| format!("{}x{}", s.width, s.height))
                .collect();
            ModelRow {
                id: r.info.id.clone(),
                kind: crate::catalogue::kind_name(r.info.kind),
                prices: if prices.is_empty() {
                    "no price set".into()
                } else {
                    prices.join(", ")
                },
                sizes: if sizes.is_empty() {
                    format!(
                        "{}x{} to {}x{}",
                        r.info.min_size.width,
                        r.info.min_size.height,
                        r.info.max_size.width,
                        r.info.max_size.height
                    )
                } else {
                    sizes.join(", ")
                },
            }
        })
        .collect();
    rows.sort_by(|a, b| (a.kind, &a.id).cmp(&(b.kind, &b.id)));
    rows
}

/// Renders the form with what was typed, its errors and the quote, beside
/// the price list and the credits available.
async fn render(
    state: &AppState,
    person: &Person,
    status: StatusCode,
    fields: Fields,
    errors: Errors,
    quote: Option<i64>,
) -> Response {
    let account = match state.accounts.get(person.account_id()).await {
        Ok(a) => a,
        Err(e) => return failure_page("the playground's account", &e),
    };
    let available = match state.ledger.balance(person.account_id()).await {
        Ok(b) => b.spendable(account.credit_line),
        Err(e) => return failure_page("the playground's balance", &e),
    };
    let view = PlaygroundPage {
        chrome: person.chrome("playground"),
        models: models(state),
        fields,
        errors,
        quote,
        available,
    };
    page(&view, status)
}

/// Counts a generation of the person against the account's requests a
/// minute (its `limits`, else the gateway's default), as the API counts a
/// key's: the playground is not a way around the limit. Keyed by the login
/// (`user_…`), as keys are by their id. The refusal: its status and words.
async fn within_rate(
    state: &AppState,
    person: &Person,
    who: &Principal,
) -> Result<(), (StatusCode, String)> {
    let rate = who
        .requests_per_minute
        .unwrap_or(state.config.limits.requests_per_minute);
    match state.limiter.check(person.actor(), rate).await {
        Ok(d) if d.allowed => Ok(()),
        Ok(d) => {
            crate::metrics::metrics().rate_limited("rate");
            let wait = d.retry_after_secs();
            let times = if rate == 1 { "time" } else { "times" };
            Err((
                StatusCode::TOO_MANY_REQUESTS,
                format!(
                    "This account may generate {rate} {times} a minute. Wait {wait} seconds, then try again. Nothing was charged."
                ),
            ))
        }
        Err(_) => Err((
            StatusCode::SERVICE_UNAVAILABLE,
            "Generating is unavailable right now. Try again in a minute. Nothing was charged."
                .into(),
        )),
    }
}

/// A field's text, unless blank.
fn blank(s: &str) -> Option<&str> {
    Some(s.trim()).filter(|s| !s.is_empty())
}

/// `GET /console/playground`.
pub(super) async fn show(State(state): State<AppState>, person: Person) -> Response {
    let fields = Fields {
        model: state.config.server.default_image_model.clone(),
        n: "1".into(),
        ..Fields::default()
    };
    render(
        &state,
        &person,
        StatusCode::OK,
        fields,
        Errors::default(),
        None,
    )
    .await
}

/// Reads the multipart form: its text fields, and the reference image if
/// one was chosen.
async fn read_form(
    state: &AppState,
    form: &mut Multipart,
) -> Result<(Fields, Option<bytes::Bytes>), ApiError> {
    let mut fields = Fields::default();
    let mut reference = None;
    while let Some(field) = crate::api::extract::next_field(state, form, "body").await? {
        let name = field.name().unwrap_or_default().to_string();
        if name == "reference" {
            let bytes = field
                .bytes()
                .await
                .map_err(|e| crate::api::extract::multipart_error(state, "reference", e))?;
            // A file input left empty still sends an empty part.
            if !bytes.is_empty() {
                reference = Some(bytes);
            }
            continue;
        }
        let text = field
            .text()
            .await
            .map_err(|e| crate::api::extract::multipart_error(state, &name, e))?;
        let slot = match name.as_str() {
            "csrf" => &mut fields.csrf,
            "model" => &mut fields.model,
            "prompt" => &mut fields.prompt,
            "negative_prompt" => &mut fields.negative_prompt,
            "seed" => &mut fields.seed,
            "size" => &mut fields.size,
            "aspect_ratio" => &mut fields.aspect_ratio,
            "n" => &mut fields.n,
            "duration" => &mut fields.duration,
            "action" => &mut fields.action,
            _ => continue,
        };
        *slot = text;
    }
    Ok((fields, reference))
}

/// `POST /console/playground`: "Show the price" renders the form again
/// with the quote; "Generate" submits the task and goes to its page.
pub(super) async fn post(
    State(state): State<AppState>,
    person: Person,
    Extension(RequestId(request_id)): Extension<RequestId>,
    form: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> Response {
    let Ok(mut form) = form else {
        return api_error_page(&ApiError::invalid(
            "body",
            "the form did not arrive as a form; reload the page and try again",
        ));
    };
    let (fields, reference) = match read_form(&state, &mut form).await {
        Ok(read) => read,
        Err(e) => return api_error_page(&e),
    };
    if let Err(refused) = person.check(&fields.csrf) {
        return refused;
    }
    let mut errors = Errors::default();
    let account = match state.accounts.get(person.account_id()).await {
        Ok(a) => a,
        Err(e) => return failure_page("the playground's account", &e),
    };
    let who = match Principal::of_person(&account, person.actor()) {
        Ok(who) => who,
        Err(_) => {
            errors.form = Some(
                "This account is suspended or closed, so it cannot generate. The overview's notices say why."
                    .into(),
            );
            return render(&state, &person, StatusCode::FORBIDDEN, fields, errors, None).await;
        }
    };
    let n = match blank(&fields.n).map(str::parse::<u32>) {
        None => None,
        Some(Ok(n)) => Some(n),
        Some(Err(_)) => {
            errors.n = Some("How many must be a whole number.".into());
            None
        }
    };
    let duration_secs = match blank(&fields.duration).map(str::parse::<f64>) {
        None => None,
        Some(Ok(d)) => Some(d),
        Some(Err(_)) => {
            errors.duration = Some("The length must be a number of seconds.".into());
            None
        }
    };
    let seed = match blank(&fields.seed).map(str::parse::<u64>) {
        None => None,
        Some(Ok(seed)) => Some(seed),
        Some(Err(_)) => {
            errors.seed = Some("The seed must be a whole number, 0 or more.".into());
            None
        }
    };
    if errors.n.is_some() || errors.duration.is_some() || errors.seed.is_some() {
        return render(
            &state,
            &person,
            StatusCode::BAD_REQUEST,
            fields,
            errors,
            None,
        )
        .await;
    }
    let kind = {
        let catalogue = state.catalogue.read().expect("lock").clone();
        catalogue
            .get(fields.model.trim())
            .map_or(MediaKind::Image, |r| r.info.kind)
    };
    let references: Vec<RefInput> = reference
        .map(|bytes| RefInput::upload(bytes, "reference"))
        .into_iter()
        .collect();
    let generation = Generation {
        kind,
        reserved: None,
        model: fields.model.trim(),
        prompt: &fields.prompt,
        negative_prompt: blank(&fields.negative_prompt),
        n,
        size: SizeRequest {
            size: blank(&fields.size),
            aspect_ratio: blank(&fields.aspect_ratio),
            resolution: None,
        },
        duration_secs: if kind == MediaKind::Video {
            duration_secs
        } else {
            None
        },
        generate_audio: false,
        seed,
        extra_params: serde_json::Map::new(),
        webhook_url: None,
        references: (&references, "reference"),
        synchronous: false,
    };
    if fields.action != "generate" {
        let (status, quoted) = match quote(&state, &who, &generation) {
            Ok(price) => (StatusCode::OK, Some(price)),
            Err(e) => {
                errors.place(&e);
                (e.status_and_type().0, None)
            }
        };
        return render(&state, &person, status, fields, errors, quoted).await;
    }
    if let Err((status, why)) = within_rate(&state, &person, &who).await {
        errors.form = Some(why);
        return render(&state, &person, status, fields, errors, None).await;
    }
    match submit(&state, &who, &request_id, generation).await {
        Ok((task, _)) => Redirect::to(&format!("/console/tasks/{}", task.id)).into_response(),
        Err(e) => {
            errors.place(&e);
            let status = e.status_and_type().0;
            render(&state, &person, status, fields, errors, None).await
        }
    }
}

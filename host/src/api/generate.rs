//! Turning a validated generation request into a priced, held, persisted
//! task: shared by the image and video endpoints of both faces.

use serde_json::{Map, Value};

use super::AppState;
use super::error::{ApiError, ErrorCode};
use super::idempotency::ReservedTaskId;
use crate::auth::Principal;
use crate::catalogue::{Route, SizeRequest, kind_name, resolve_size};
use crate::plugins::bindings::types::MediaKind;
use crate::tasks::{Charge, NewTask, StoredRequest, Task};

/// The longest prompt accepted, in characters.
pub const MAX_PROMPT_CHARS: usize = 32_000;

/// The parts of a generation common to every endpoint.
pub struct Generation<'a> {
    /// What the endpoint generates.
    pub kind: MediaKind,
    /// The task id an idempotent request reserved.
    pub reserved: Option<&'a ReservedTaskId>,
    /// The model id.
    pub model: &'a str,
    /// The prompt.
    pub prompt: &'a str,
    /// What to keep out.
    pub negative_prompt: Option<&'a str>,
    /// How many outputs.
    pub n: Option<u32>,
    /// Size, aspect ratio, resolution.
    pub size: SizeRequest<'a>,
    /// Video length in seconds.
    pub duration_secs: Option<f64>,
    /// Whether a video should have sound.
    pub generate_audio: bool,
    /// Seed.
    pub seed: Option<u64>,
    /// Provider-specific parameters.
    pub extra_params: Map<String, Value>,
    /// Where the task's events go.
    pub webhook_url: Option<String>,
    /// Reference media, and the request field they came in.
    pub references: (&'a [super::references::RefInput], &'a str),
    /// The endpoint answers only when the task ends (see
    /// [`NewTask::synchronous`]).
    pub synchronous: bool,
}

/// The length used when a video request gives none: the model's shortest of
/// at least 4 s, else its longest.
fn default_duration_ms(durations: &[u32]) -> u32 {
    let mut sorted = durations.to_vec();
    sorted.sort_unstable();
    sorted
        .iter()
        .copied()
        .find(|d| *d >= 4_000)
        .or(sorted.last().copied())
        .unwrap_or(4_000)
}

/// A generation checked against its model: what it asks for, resolved.
struct Checked {
    route: Route,
    n: u32,
    size: crate::plugins::bindings::types::Size,
    duration_ms: Option<u32>,
}

/// Checks a generation against the catalogue (the model, its kind, the
/// prompt, `n`, the size, a video's length, a seed, references), with no
/// side effect.
fn check(state: &AppState, g: &Generation<'_>) -> Result<Checked, ApiError> {
    let catalogue = state.catalogue.read().expect("lock").clone();
    let route: Route = catalogue
        .get(g.model)
        .cloned()
        .ok_or_else(|| super::models::model_not_found(&catalogue, g.model))?;
    let info = &route.info;
    if info.kind != g.kind {
        return Err(ApiError::invalid(
            "model",
            format!(
                "{} generates {}s; this endpoint generates {}s",
                info.id,
                kind_name(info.kind),
                kind_name(g.kind)
            ),
        ));
    }
    if g.prompt.trim().is_empty() {
        return Err(
            ApiError::new(ErrorCode::InvalidPrompt, "prompt must not be empty")
                .with_param("prompt"),
        );
    }
    if g.prompt.chars().count() > MAX_PROMPT_CHARS {
        return Err(ApiError::new(
            ErrorCode::InvalidPrompt,
            format!("prompt is longer than {MAX_PROMPT_CHARS} characters"),
        )
        .with_param("prompt"));
    }
    let n = g.n.unwrap_or(1);
    if n == 0 || n > info.max_n {
        return Err(ApiError::invalid(
            "n",
            format!("n must be between 1 and {} for {}", info.max_n, info.id),
        ));
    }
    let size = resolve_size(info, &g.size).map_err(|e| ApiError::invalid(e.param, e.message))?;
    let duration_ms = match g.kind {
        MediaKind::Video => Some(match g.duration_secs {
            None => default_duration_ms(&info.durations_ms),
            Some(secs) => {
                let ms = (secs * 1000.0).round();
                let allowed = info.durations_ms.iter().any(|d| f64::from(*d) == ms)
                    || (info.durations_ms.is_empty() && (1_000.0..=60_000.0).contains(&ms));
                if !secs.is_finite() || !allowed {
                    let listed: Vec<String> = info
                        .durations_ms
                        .iter()
                        .map(|d| format!("{}", f64::from(*d) / 1000.0))
                        .collect();
                    return Err(ApiError::invalid(
                        "duration",
                        format!(
                            "{} accepts durations (seconds) {}",
                            info.id,
                            listed.join(", ")
                        ),
                    ));
                }
                ms as u32
            }
        }),
        _ => None,
    };
    if g.seed.is_some() && !info.supports_seed {
        return Err(ApiError::unsupported(
            "seed",
            format!("{} does not take a seed", info.id),
        ));
    }
    let (ref_inputs, ref_param) = g.references;
    if !ref_inputs.is_empty() && !info.supports_references {
        return Err(ApiError::unsupported(
            ref_param,
            format!("{} does not take reference media", info.id),
        ));
    }
    Ok(Checked {
        route,
        n,
        size,
        duration_ms,
    })
}

/// The price a generation would hold if submitted now (0 for the admin
/// key), after the checks [`submit`] makes first: what the console shows
/// before a person submits.
pub fn quote(state: &AppState, who: &Principal, g: &Generation<'_>) -> Result<i64, ApiError> {
    let c = check(state, g)?;
    if !who.billed() {
        return Ok(0);
    }
    price(
        state,
        c.route.info.kind,
        &c.route.info.id,
        c.n,
        c.duration_ms,
    )
}

/// Validates a generation against the catalogue, prices it, holds the price
/// (for billed callers) and persists its task. Returns the task and price.
pub async fn submit(
    state: &AppState,
    who: &Principal,
    request_id: &str,
    g: Generation<'_>,
) -> Result<(Task, i64), ApiError> {
    let Checked {
        route,
        n,
        size,
        duration_ms,
    } = check(state, &g)?;
    let info = &route.info;
    crate::metrics::note_model(&info.id);
    let (ref_inputs, ref_param) = g.references;
    if let Some(url) = &g.webhook_url {
        state
            .webhooks
            .check_url(url)
            .await
            .map_err(|e| ApiError::invalid("webhook_url", e.to_string()))?;
    }
    // The admin key's generations are free; accounts pay the model's price.
    let price = if who.billed() {
        price(state, info.kind, &info.id, n, duration_ms)?
    } else {
        0
    };
    let references = super::references::resolve(state, who, ref_inputs, ref_param).await?;
    let request = StoredRequest {
        references,
        prompt: g.prompt.to_string(),
        negative_prompt: g.negative_prompt.map(str::to_string),
        n,
        width: size.width,
        height: size.height,
        aspect_ratio: g.size.aspect_ratio.map(str::to_string),
        resolution: g.size.resolution.map(str::to_string),
        duration_ms,
        generate_audio: g.generate_audio,
        seed: g.seed,
        extra_params: Value::Object(g.extra_params).to_string(),
    };
    let flagged = moderate(state, who, request_id, info, &request, ref_param).await?;
    let charge = if who.billed() {
        // As read at authentication: the request holds the account.
        if who.credits_frozen {
            return Err(ApiError::new(
                ErrorCode::PermissionDenied,
                "this account's credits are frozen; contact the operator",
            ));
        }
        Some(Charge {
            credits: price,
            actor: who.actor(),
            key_limit: who.key_credit_limit,
            credit_line: who.credit_line,
        })
    } else {
        None
    };
    let task = state
        .tasks
        .submit(NewTask {
            owner: &who.owner,
            model: &info.id,
            kind: kind_name(info.kind),
            request_id,
            request,
            charge,
            reserved_id: g.reserved.map(|r| r.0.clone()),
            max_concurrent: who.billed().then(|| {
                who.max_concurrent_tasks
                    .unwrap_or(state.config.limits.max_concurrent_tasks)
            }),
            webhook_url: g.webhook_url,
            account_webhook_url: who.webhook_url.clone(),
            key_id: who.key_id.as_deref(),
            flagged,
            synchronous: g.synchronous,
        })
        .await?;
    Ok((task, price))
}

/// The native endpoints' `202 Accepted` answer: the queued task and what it
/// holds.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct Accepted {
    /// `task_…`: poll `GET /v1/tasks/{task_id}`.
    task_id: String,
    model: String,
    status: crate::tasks::Status,
    /// RFC 3339.
    created_at: String,
    request_id: String,
    cost: Held,
}

/// What a new task holds.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct Held {
    /// Credits held until the task ends: charged if it succeeds, refunded
    /// if not.
    credits: i64,
}

/// The `202 Accepted` answer of `task`.
pub fn accepted(task: &Task, request_id: &str, price: i64) -> axum::response::Response {
    use axum::response::IntoResponse;
    let answer = Accepted {
        task_id: task.id.clone(),
        model: task.model.clone(),
        status: task.status,
        created_at: task.created_at.clone(),
        request_id: request_id.to_string(),
        cost: Held { credits: price },
    };
    (axum::http::StatusCode::ACCEPTED, axum::Json(answer)).into_response()
}

/// Runs the model's content policies on the request, before anything is
/// held or sent upstream. Returns whether a policy flagged it for review;
/// a refusal is `400 CONTENT_POLICY_VIOLATION` with the category (never the
/// matched term), and a failing policy refuses the request (fail closed).
async fn moderate(
    state: &AppState,
    who: &Principal,
    request_id: &str,
    info: &crate::plugins::bindings::provider_api::ModelInfo,
    request: &StoredRequest,
    ref_param: &str,
) -> Result<bool, ApiError> {
    use crate::moderation::{Caller, Interaction, Outcome};
    let (checked, input) =
        crate::tasks::prepare_call(&state.media, &info.id, info.kind, request_id, request)
            .await?
            .map_err(|m| ApiError::invalid(ref_param, m))?;
    let interaction = || Interaction {
        prompt: request.prompt.clone(),
        negative_prompt: request.negative_prompt.clone(),
        extra_params: request.extra_params.clone(),
        references: request
            .references
            .iter()
            .map(|r| r.file_id.clone())
            .collect(),
        outputs: Vec::new(),
    };
    let caller = Caller {
        account_id: &who.owner,
        key_id: who.key_id.as_deref(),
        account: who.billed(),
        request_id,
        task_id: None,
    };
    match state
        .moderation
        .check_request(&caller, &checked, &input, &interaction)
        .await?
    {
        Outcome::Allowed { flagged } => Ok(flagged),
        Outcome::Denied { category } => Err(ApiError::new(
            ErrorCode::ContentPolicyViolation,
            format!(
                "this request was refused under the content policy (category: {category}); nothing was charged"
            ),
        )
        .with_category(&category)),
        Outcome::Failed { .. } => Err(ApiError::new(
            ErrorCode::ModelUnavailable,
            "content moderation could not check this request, so it was refused; nothing was charged. Retry later",
        )),
    }
}

/// The price of a request at the price in force now: per image times `n`,
/// or per started second of video times `n`. A model without a price for its
/// kind cannot be used.
fn price(
    state: &AppState,
    kind: MediaKind,
    model: &str,
    n: u32,
    duration_ms: Option<u32>,
) -> Result<i64, ApiError> {
    let now = time::OffsetDateTime::now_utc();
    let price = state.pricing.price_at(&state.config, model, now);
    let unit = match kind {
        MediaKind::Video => price
            .and_then(|p| p.per_second)
            .map(|c| c * i64::from(duration_ms.unwrap_or(0).div_ceil(1000))),
        _ => price.and_then(|p| p.per_image),
    };
    let unit = unit.ok_or_else(|| {
        ApiError::new(
            ErrorCode::ModelUnavailable,
            format!("{model} has no price set; the operator must configure one"),
        )
    })?;
    Ok(unit * i64::from(n))
}

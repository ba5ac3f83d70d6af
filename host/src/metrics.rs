//! What the gateway counts, for Prometheus: `GET /metrics` answers the
//! OpenMetrics text format (which Prometheus scrapes natively), protected
//! by the admin key or `[telemetry] metrics_token`.
//!
//! Counters and histograms are kept in this process, from its start (each
//! replica is scraped on its own, as Prometheus expects). Gauges are read
//! when scraped: the tasks this replica runs and their holds, and the
//! webhook deliveries waiting in the store (shared by every replica).
//!
//! The per-request facts that only a handler knows (the model, the
//! account) reach the access log and the request counters through
//! [`note_model`] and [`note_account`], which write into the request's
//! [`RequestFacts`].

use std::collections::HashSet;
use std::sync::{Arc, LazyLock, Mutex, OnceLock};
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// The content type of [`Metrics::render`]'s text.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// How many distinct moderation categories get a label of their own; a
/// policy that invents more has the rest counted as `other` (a plugin must
/// not grow the scrape without bound).
const MAX_CATEGORIES: usize = 64;

/// An HTTP request, once answered.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: &'static str,
    /// The route's pattern (`/v1/tasks/{task_id}`), or `unmatched`.
    route: String,
    status: u16,
    /// The model asked for, once the gateway knew it; empty otherwise.
    model: String,
}

/// A route, for its latency.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    method: &'static str,
    route: String,
}

/// A plugin, for its call latency.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PluginLabels {
    plugin: Arc<String>,
    version: Arc<String>,
    /// The export called: `generate`, `submit`, `poll`, `check_request`…
    call: &'static str,
}

/// A plugin call and how it ended.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PluginCallLabels {
    plugin: Arc<String>,
    version: Arc<String>,
    call: &'static str,
    /// `ok`, `plugin_error`, `deadline`, `memory_limit`, `trap`, `busy`…
    outcome: &'static str,
}

/// Tasks this replica runs now, by model.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ModelLabels {
    model: String,
}

/// Tasks finished, by model and final state.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TaskLabels {
    model: String,
    state: &'static str,
}

/// A moderation verdict.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct VerdictLabels {
    policy: String,
    /// `request` or `output`.
    stage: &'static str,
    /// `allow`, `flag`, `deny` or `error` (the policy failed: refused).
    action: &'static str,
    /// The policy's category, for flag and deny; empty otherwise.
    category: String,
}

/// One label, `outcome` or `reason`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    outcome: &'static str,
}

/// The gateway's metrics.
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    request_seconds: Family<RouteLabels, Histogram>,
    plugin_calls: Family<PluginCallLabels, Counter>,
    plugin_call_seconds: Family<PluginLabels, Histogram>,
    tasks: Family<ModelLabels, Gauge>,
    tasks_finished: Family<TaskLabels, Counter>,
    holds_open: Gauge,
    credits_held: Gauge,
    webhook_queue: Gauge,
    webhook_attempts: Family<OutcomeLabels, Counter>,
    rate_limited: Family<OutcomeLabels, Counter>,
    verdicts: Family<VerdictLabels, Counter>,
    moved: Counter,
    /// The moderation categories with a label of their own.
    categories: Mutex<HashSet<String>>,
    /// One scrape at a time sets the gauges read when scraped.
    scrape: tokio::sync::Mutex<()>,
}

/// Latency buckets from 250 µs to about 65 s.
fn latency() -> Histogram {
    Histogram::new(exponential_buckets(0.000_25, 2.0, 19))
}

impl Metrics {
    fn new() -> Self {
        let mut registry = Registry::with_prefix("imini");
        let requests = Family::default();
        registry.register(
            "http_requests",
            "HTTP requests answered, by method, route, status and model",
            requests.clone(),
        );
        let request_seconds =
            Family::<RouteLabels, Histogram>::new_with_constructor(latency as fn() -> Histogram);
        registry.register(
            "http_request_duration_seconds",
            "Time to answer an HTTP request, by method and route",
            request_seconds.clone(),
        );
        let plugin_calls = Family::default();
        registry.register(
            "plugin_calls",
            "Calls into plugins, by plugin, version, export and outcome",
            plugin_calls.clone(),
        );
        let plugin_call_seconds =
            Family::<PluginLabels, Histogram>::new_with_constructor(latency as fn() -> Histogram);
        registry.register(
            "plugin_call_duration_seconds",
            "Time a plugin call took, by plugin, version and export",
            plugin_call_seconds.clone(),
        );
        let tasks = Family::default();
        registry.register(
            "tasks_open",
            "Tasks this replica is running (queued or processing), by model",
            tasks.clone(),
        );
        let tasks_finished = Family::default();
        registry.register(
            "tasks_finished",
            "Tasks this replica finished, by model and final state (succeeded, failed or canceled)",
            tasks_finished.clone(),
        );
        let holds_open = Gauge::default();
        registry.register(
            "holds_open",
            "Credit holds of the tasks this replica is running",
            holds_open.clone(),
        );
        let credits_held = Gauge::default();
        registry.register(
            "credits_held",
            "Credits held for the tasks this replica is running",
            credits_held.clone(),
        );
        let webhook_queue = Gauge::default();
        registry.register(
            "webhook_queue_depth",
            "Webhook deliveries waiting to be sent or retried (every replica's)",
            webhook_queue.clone(),
        );
        let webhook_attempts = Family::default();
        registry.register(
            "webhook_attempts",
            "Webhook delivery attempts by outcome: delivered, retrying (failed, tried again later) or failed (given up)",
            webhook_attempts.clone(),
        );
        let rate_limited = Family::default();
        registry.register(
            "rate_limit_refusals",
            "Requests refused by the rate limiter: rate (over the key's rate) or unavailable (the limiter could not be asked)",
            rate_limited.clone(),
        );
        let verdicts = Family::default();
        registry.register(
            "moderation_verdicts",
            "Moderation policy verdicts by policy, stage, action and category",
            verdicts.clone(),
        );
        let moved = Counter::default();
        registry.register(
            "moved_off_serving_threads",
            "Requests and tasks moved from a serving thread to the shared runtime because a plugin computed there for half an epoch tick or more without waiting",
            moved.clone(),
        );
        Self {
            registry,
            requests,
            request_seconds,
            plugin_calls,
            plugin_call_seconds,
            tasks,
            tasks_finished,
            holds_open,
            credits_held,
            webhook_queue,
            webhook_attempts,
            rate_limited,
            verdicts,
            moved,
            categories: Mutex::new(HashSet::new()),
            scrape: tokio::sync::Mutex::new(()),
        }
    }

    /// Counts an answered request.
    pub fn request(
        &self,
        method: &http::Method,
        route: String,
        status: u16,
        model: &str,
        took: Duration,
    ) {
        let method = method_label(method);
        let route = RouteLabels { method, route };
        self.request_seconds
            .get_or_create(&route)
            .observe(took.as_secs_f64());
        self.requests
            .get_or_create(&RequestLabels {
                method,
                route: route.route,
                status,
                model: model.to_string(),
            })
            .inc();
    }

    /// Counts a plugin call.
    pub fn plugin_call(
        &self,
        plugin: &PluginName,
        call: &'static str,
        outcome: &'static str,
        took: Duration,
    ) {
        self.plugin_calls
            .get_or_create(&PluginCallLabels {
                plugin: plugin.name.clone(),
                version: plugin.version.clone(),
                call,
                outcome,
            })
            .inc();
        self.plugin_call_seconds
            .get_or_create(&PluginLabels {
                plugin: plugin.name.clone(),
                version: plugin.version.clone(),
                call,
            })
            .observe(took.as_secs_f64());
    }

    /// Counts a task this replica finished, by its final state.
    pub fn task_finished(&self, model: &str, state: &'static str) {
        self.tasks_finished
            .get_or_create(&TaskLabels {
                model: model.to_string(),
                state,
            })
            .inc();
    }

    /// Counts a webhook attempt.
    pub fn webhook_attempt(&self, outcome: &'static str) {
        self.webhook_attempts
            .get_or_create(&OutcomeLabels { outcome })
            .inc();
    }

    /// Counts a request or task moved off a serving thread.
    pub fn moved_off_serving_thread(&self) {
        self.moved.inc();
    }

    /// Counts a rate-limit refusal.
    pub fn rate_limited(&self, reason: &'static str) {
        self.rate_limited
            .get_or_create(&OutcomeLabels { outcome: reason })
            .inc();
    }

    /// Counts a moderation verdict.
    pub fn verdict(
        &self,
        policy: &str,
        stage: &'static str,
        action: &'static str,
        category: Option<&str>,
    ) {
        let category = match category {
            None => String::new(),
            Some(c) => {
                let mut seen = self.categories.lock().expect("lock");
                if seen.contains(c) {
                    c.to_string()
                } else if seen.len() < MAX_CATEGORIES {
                    seen.insert(c.to_string());
                    c.to_string()
                } else {
                    "other".to_string()
                }
            }
        };
        self.verdicts
            .get_or_create(&VerdictLabels {
                policy: policy.to_string(),
                stage,
                action,
                category,
            })
            .inc();
    }

    /// The metrics as OpenMetrics text, with the gauges read now from
    /// `now`.
    pub async fn render(&self, now: Snapshot) -> String {
        let _one = self.scrape.lock().await;
        self.tasks.clear();
        let (mut holds, mut held) = (0i64, 0i64);
        for task in &now.tasks {
            self.tasks
                .get_or_create(&ModelLabels {
                    model: task.model.clone(),
                })
                .inc();
            if let Some(credits) = task.held {
                holds += 1;
                held += credits;
            }
        }
        self.holds_open.set(holds);
        self.credits_held.set(held);
        self.webhook_queue
            .set(i64::try_from(now.webhook_queue).unwrap_or(i64::MAX));
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &self.registry)
            .expect("writing to a String does not fail");
        text
    }
}

/// What the gauges show, read when scraped.
#[derive(Debug, Default)]
pub struct Snapshot {
    /// The tasks this replica runs.
    pub tasks: Vec<RunningTask>,
    /// Deliveries waiting in the store.
    pub webhook_queue: u64,
}

/// A task this replica runs.
#[derive(Debug)]
pub struct RunningTask {
    /// Its model.
    pub model: String,
    /// The credits its hold keeps, if it has one.
    pub held: Option<i64>,
}

/// A plugin's name and version as labels, made once per loaded plugin so
/// that counting a call copies no strings.
#[derive(Debug, Clone)]
pub struct PluginName {
    name: Arc<String>,
    version: Arc<String>,
}

impl PluginName {
    /// The labels of plugin `name` at `version`.
    pub fn new(name: &str, version: &str) -> Self {
        Self {
            name: Arc::new(name.to_string()),
            version: Arc::new(version.to_string()),
        }
    }
}

/// The token that may read the metrics besides the admin key, kept as
/// its SHA-256 digest and compared in constant time.
pub struct MetricsToken([u8; 32]);

impl MetricsToken {
    /// The token `IMINI_METRICS_TOKEN` names, else `[telemetry]
    /// metrics_token`, if either is set and not empty.
    pub fn from_env_or(configured: Option<&str>) -> Option<Self> {
        let token = std::env::var("IMINI_METRICS_TOKEN")
            .ok()
            .or_else(|| configured.map(str::to_string))?;
        (!token.is_empty()).then(|| Self(Sha256::digest(token.as_bytes()).into()))
    }

    /// Whether `given` is the token.
    pub fn matches(&self, given: &str) -> bool {
        let digest: [u8; 32] = Sha256::digest(given.as_bytes()).into();
        bool::from(digest.ct_eq(&self.0))
    }
}

/// The method as a label; methods the gateway never routes are `other`.
fn method_label(method: &http::Method) -> &'static str {
    use http::Method as M;
    match *method {
        M::GET => "GET",
        M::POST => "POST",
        M::PUT => "PUT",
        M::DELETE => "DELETE",
        M::PATCH => "PATCH",
        M::HEAD => "HEAD",
        M::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// The gateway's metrics.
pub fn metrics() -> &'static Metrics {
    static METRICS: LazyLock<Metrics> = LazyLock::new(Metrics::new);
    &METRICS
}

/// What a request's handlers learn about it, for the access log and the
/// request counters.
#[derive(Debug, Default)]
pub struct RequestFacts {
    /// The account the request acts for.
    pub account: OnceLock<String>,
    /// The model it asked for.
    pub model: OnceLock<String>,
}

tokio::task_local! {
    static FACTS: Arc<RequestFacts>;
}

/// Runs `f` (a request's handling) with `facts` as the request's facts.
pub async fn with_facts<F: Future>(facts: Arc<RequestFacts>, f: F) -> F::Output {
    FACTS.scope(facts, f).await
}

/// Notes the model of the request being handled (the first one noted
/// stands); outside a request, nothing.
pub fn note_model(model: &str) {
    let _ = FACTS.try_with(|f| f.model.get_or_init(|| model.to_string()).len());
}

/// Notes the account the request being handled acts for.
pub fn note_account(account: &str) {
    let _ = FACTS.try_with(|f| f.account.get_or_init(|| account.to_string()).len());
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn counters_and_gauges_reach_the_text() {
        let m = Metrics::new();
        m.request(
            &http::Method::POST,
            "/v1/images/generations".into(),
            200,
            "canvas/sketch",
            Duration::from_millis(3),
        );
        m.plugin_call(
            &PluginName::new("canvas", "1.0.0"),
            "generate",
            "ok",
            Duration::from_micros(500),
        );
        m.verdict("policy-terms", "request", "deny", Some("violence"));
        let text = m
            .render(Snapshot {
                tasks: vec![RunningTask {
                    model: "canvas/sketch".into(),
                    held: Some(7),
                }],
                webhook_queue: 3,
            })
            .await;
        for line in [
            r#"imini_http_requests_total{method="POST",route="/v1/images/generations",status="200",model="canvas/sketch"} 1"#,
            r#"imini_plugin_calls_total{plugin="canvas",version="1.0.0",call="generate",outcome="ok"} 1"#,
            r#"imini_moderation_verdicts_total{policy="policy-terms",stage="request",action="deny",category="violence"} 1"#,
            r#"imini_tasks_open{model="canvas/sketch"} 1"#,
            "imini_credits_held 7",
            "imini_holds_open 1",
            "imini_webhook_queue_depth 3",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} not in\n{text}");
        }
        assert!(text.ends_with("# EOF\n"), "{text}");
        // Gauges are read afresh: a task that ended is gone.
        let text = m.render(Snapshot::default()).await;
        assert!(!text.contains("imini_tasks_open{"), "{text}");
        assert!(text.lines().any(|l| l == "imini_credits_held 0"), "{text}");
    }

    #[tokio::test]
    async fn a_policy_cannot_grow_the_categories_without_bound() {
        let m = Metrics::new();
        for i in 0..200 {
            m.verdict("p", "request", "deny", Some(&format!("c{i}")));
        }
        let text = m.render(Snapshot::default()).await;
        let series = text
            .lines()
            .filter(|l| l.starts_with("imini_moderation_verdicts_total{"))
            .count();
        assert_eq!(series, MAX_CATEGORIES + 1, "{text}");
        let other = format!(
            r#"imini_moderation_verdicts_total{{policy="p",stage="request",action="deny",category="other"}} {}"#,
            200 - MAX_CATEGORIES
        );
        assert!(text.lines().any(|l| l == other), "{text}");
    }
}

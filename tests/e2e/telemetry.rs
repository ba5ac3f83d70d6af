//! `GET /metrics`, read with the Prometheus project's own OpenMetrics
//! parser (Python, tests/python/metrics_parse.py), and the access log.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use imini_tests::{ADMIN_KEY, Gateway, assert_error};
use serde_json::json;

/// One sample: its name, labels and value.
type Sample = (String, BTreeMap<String, String>, f64);

/// Scrapes `/metrics` with `token` and parses it strictly.
fn scrape(gw: &Gateway, token: &str) -> Vec<Sample> {
    let answer = gw.request_with("GET", "/metrics", Some(token), None);
    assert_eq!(
        answer.status,
        200,
        "{}",
        String::from_utf8_lossy(&answer.body)
    );
    assert_eq!(
        answer.headers["content-type"],
        "application/openmetrics-text; version=1.0.0; charset=utf-8"
    );
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("python/metrics_parse.py");
    let mut child = Command::new(imini_tests::python_tools())
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(&answer.body).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "the OpenMetrics parser refused the text:\n{}\n{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&answer.body)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The sum of the samples called `name` whose labels include `labels`.
fn value(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> f64 {
    samples
        .iter()
        .filter(|(n, l, _)| {
            n == name
                && labels
                    .iter()
                    .all(|(k, v)| l.get(*k).map(String::as_str) == Some(*v))
        })
        .map(|(_, _, v)| v)
        .sum()
}

const GENERATIONS: &str = "/v1/images/generations";
const MODEL: &str = "imini/canvas-image";

#[test]
fn the_metrics_move_with_requests_tasks_plugin_calls_and_verdicts() {
    let gw = Gateway::start_with_config("[telemetry]\nmetrics_token = \"scrape-secret\"\n");
    let acct = gw.account("metrics@example.com", 1_000);

    // Only the admin key and the metrics token may read them.
    assert_error(
        &gw.request_with("GET", "/metrics", None, None),
        401,
        "INVALID_API_KEY",
    );
    assert_error(
        &gw.request_with("GET", "/metrics", Some("scrape-wrong"), None),
        401,
        "INVALID_API_KEY",
    );
    assert_error(
        &gw.request_with("GET", "/metrics", Some(&acct.key), None),
        403,
        "PERMISSION_DENIED",
    );

    let before = scrape(&gw, "scrape-secret");
    let generate = |prompt: &str| {
        gw.request_with(
            "POST",
            GENERATIONS,
            Some(&acct.key),
            Some(&json!({"prompt": prompt, "size": "64x64"})),
        )
    };
    for _ in 0..2 {
        let ok = generate("a red kite over green hills");
        assert_eq!(ok.status, 200, "{}", String::from_utf8_lossy(&ok.body));
    }
    assert_error(
        &generate("extreme gore, dismembered bodies"),
        400,
        "CONTENT_POLICY_VIOLATION",
    );
    let after = scrape(&gw, ADMIN_KEY);
    let moved = |name: &str, labels: &[(&str, &str)]| {
        value(&after, name, labels) - value(&before, name, labels)
    };

    let ok = [
        ("method", "POST"),
        ("route", GENERATIONS),
        ("status", "200"),
        ("model", MODEL),
    ];
    assert_eq!(moved("imini_http_requests_total", &ok), 2.0);
    let refused = [("route", GENERATIONS), ("status", "400"), ("model", MODEL)];
    assert_eq!(moved("imini_http_requests_total", &refused), 1.0);
    assert_eq!(
        moved(
            "imini_http_request_duration_seconds_count",
            &[("method", "POST"), ("route", GENERATIONS)]
        ),
        3.0
    );
    // Refused scrapes count too, under their route.
    assert_eq!(
        value(
            &before,
            "imini_http_requests_total",
            &[("route", "/metrics"), ("status", "401")]
        ),
        2.0
    );
    assert_eq!(
        moved(
            "imini_plugin_calls_total",
            &[
                ("plugin", "canvas"),
                ("call", "generate"),
                ("outcome", "ok")
            ]
        ),
        2.0
    );
    assert!(
        moved(
            "imini_plugin_call_duration_seconds_count",
            &[("plugin", "canvas"), ("call", "generate")]
        ) == 2.0
    );
    assert_eq!(
        moved(
            "imini_tasks_finished_total",
            &[("model", MODEL), ("state", "succeeded")]
        ),
        2.0
    );
    assert_eq!(
        moved(
            "imini_moderation_verdicts_total",
            &[
                ("policy", "policy-terms"),
                ("stage", "request"),
                ("action", "deny"),
                ("category", "violence"),
            ]
        ),
        1.0
    );
    assert_eq!(
        moved(
            "imini_moderation_verdicts_total",
            &[
                ("policy", "policy-terms"),
                ("stage", "request"),
                ("action", "allow")
            ]
        ),
        2.0
    );
    // Nothing runs now: no task open, no credit held.
    assert_eq!(value(&after, "imini_holds_open", &[]), 0.0);
    assert_eq!(value(&after, "imini_credits_held", &[]), 0.0);
    assert_eq!(value(&after, "imini_webhook_queue_depth", &[]), 0.0);
}

/// A provider that takes its time, so that a task is seen running.
#[test]
fn a_running_task_and_its_hold_are_gauged_while_it_runs() {
    let (_upstream, config) = imini_tests::slow_openai(std::time::Duration::from_secs(3));
    let gw = Gateway::start_with_config(&config);
    let acct = gw.account("held@example.com", 1_000);
    let model = "openai/dall-e-3";
    gw.submit_image(
        &acct.key,
        &json!({"model": model, "prompt": "a lighthouse"}),
    );
    // Polled as text (the parser runs once, below).
    let open = format!("imini_tasks_open{{model=\"{model}\"}} 1");
    imini_tests::wait_until("the task to be gauged", || {
        let text = gw
            .request_with("GET", "/metrics", Some(ADMIN_KEY), None)
            .body;
        String::from_utf8_lossy(&text).lines().any(|l| l == open)
    });
    let now = scrape(&gw, ADMIN_KEY);
    assert_eq!(value(&now, "imini_tasks_open", &[("model", model)]), 1.0);
    assert_eq!(value(&now, "imini_holds_open", &[]), 1.0);
    assert_eq!(value(&now, "imini_credits_held", &[]), 50.0, "its price");
    let done = gw.tasks_when_all(&acct.key, "succeeded");
    assert_eq!(done[0]["status"], "succeeded");
    // The task leaves the gauges just after its record is final.
    imini_tests::wait_until("the hold to be settled", || {
        let text = gw
            .request_with("GET", "/metrics", Some(ADMIN_KEY), None)
            .body;
        String::from_utf8_lossy(&text)
            .lines()
            .any(|l| l == "imini_holds_open 0")
    });
    let later = scrape(&gw, ADMIN_KEY);
    assert_eq!(value(&later, "imini_holds_open", &[]), 0.0);
    assert_eq!(
        value(
            &later,
            "imini_tasks_finished_total",
            &[("model", model), ("state", "succeeded")]
        ),
        1.0
    );
}

#[test]
fn every_request_gets_one_access_log_line_at_info() {
    let gw = Gateway::start();
    let acct = gw.account("log@example.com", 100);
    let answer = gw.request_with(
        "POST",
        GENERATIONS,
        Some(&acct.key),
        Some(&json!({"prompt": "a quiet harbour", "size": "64x64"})),
    );
    assert_eq!(answer.status, 200);
    let request_id = answer.headers["x-request-id"].to_str().unwrap().to_string();
    let missing = gw.request_with("GET", "/v1/tasks/task_nothing", Some(&acct.key), None);
    let missing_id = missing.headers["x-request-id"]
        .to_str()
        .unwrap()
        .to_string();
    imini_tests::wait_until("the access log lines", || gw.logs().contains(&missing_id));
    let logs = gw.logs();
    let lines: Vec<&str> = logs
        .lines()
        .filter(|l| l.contains("imini::access") && l.contains(&request_id))
        .collect();
    assert_eq!(lines.len(), 1, "{logs}");
    let line = lines[0];
    for part in [
        " INFO ",
        "method=POST",
        &format!("route={GENERATIONS}"),
        "status=200",
        &format!("account={}", acct.id),
        &format!("model={MODEL}"),
        "duration_ms=",
    ] {
        assert!(line.contains(part), "{part:?} not in {line}");
    }
    let line = logs
        .lines()
        .find(|l| l.contains("imini::access") && l.contains(&missing_id))
        .unwrap();
    assert!(line.contains("route=/v1/tasks/{task_id}"), "{line}");
    assert!(line.contains("status=404"), "{line}");
}

/// A span as the collector got it.
#[derive(Debug)]
struct Span {
    name: String,
    trace_id: String,
    span_id: String,
    parent_span_id: String,
    attributes: BTreeMap<String, String>,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Every span in the OTLP/HTTP (protobuf) exports `collector` received,
/// and the `service.name` of each export.
fn exported(collector: &imini_tests::mock::Mock) -> (Vec<Span>, Vec<String>) {
    use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
    use opentelemetry_proto::tonic::common::v1::any_value::Value as Any;
    use prost::Message as _;
    let text = |v: &Option<opentelemetry_proto::tonic::common::v1::AnyValue>| match v
        .as_ref()
        .and_then(|v| v.value.as_ref())
    {
        Some(Any::StringValue(s)) => s.clone(),
        Some(Any::IntValue(i)) => i.to_string(),
        Some(Any::BoolValue(b)) => b.to_string(),
        Some(Any::DoubleValue(d)) => d.to_string(),
        other => format!("{other:?}"),
    };
    let (mut spans, mut services) = (Vec::new(), Vec::new());
    for received in collector.received() {
        assert_eq!(received.path, "/v1/traces");
        assert_eq!(
            received.header("content-type"),
            Some("application/x-protobuf")
        );
        let export = ExportTraceServiceRequest::decode(received.body.as_slice()).unwrap();
        for resource_spans in export.resource_spans {
            for kv in resource_spans.resource.iter().flat_map(|r| &r.attributes) {
                if kv.key == "service.name" {
                    services.push(text(&kv.value));
                }
            }
            for span in resource_spans.scope_spans.iter().flat_map(|s| &s.spans) {
                spans.push(Span {
                    name: span.name.clone(),
                    trace_id: hex(&span.trace_id),
                    span_id: hex(&span.span_id),
                    parent_span_id: hex(&span.parent_span_id),
                    attributes: span
                        .attributes
                        .iter()
                        .map(|kv| (kv.key.clone(), text(&kv.value)))
                        .collect(),
                });
            }
        }
    }
    (spans, services)
}

#[test]
fn traces_reach_an_otlp_collector_and_continue_to_the_upstream() {
    let collector = imini_tests::mock::Mock::start(200, "application/x-protobuf", Vec::new());
    let (upstream, config) = imini_tests::slow_openai(std::time::Duration::from_millis(1));
    let config = format!(
        "{config}\n[telemetry]\notlp_endpoint = \"{}\"\n",
        collector.url
    );
    // Exported every 100 ms instead of every 5 s.
    let gw = Gateway::start_with_env(&config, &[("OTEL_BSP_SCHEDULE_DELAY", "100")]);
    let answer = gw.post(
        GENERATIONS,
        &json!({"model": "openai/dall-e-3", "prompt": "a lighthouse"}),
    );
    assert_eq!(
        answer.status,
        200,
        "{}",
        String::from_utf8_lossy(&answer.body)
    );
    let request_id = answer.headers["x-request-id"].to_str().unwrap().to_string();

    let find = |spans: &[Span], name: &str| {
        spans.iter().position(|s| {
            s.name == name
                && s.attributes.get("request_id").map(String::as_str) == Some(&request_id)
        })
    };
    imini_tests::wait_until("the request's spans at the collector", || {
        let (spans, _) = exported(&collector);
        find(&spans, "request").is_some() && find(&spans, "task").is_some()
    });
    let (spans, services) = exported(&collector);
    assert!(services.iter().all(|s| s == "imini"), "{services:?}");
    let request = &spans[find(&spans, "request").unwrap()];
    assert_eq!(request.attributes["status"], "200", "{request:?}");
    assert_eq!(request.attributes["method"], "POST", "{request:?}");
    // The task continues the request's trace, under the request's span.
    let task = &spans[find(&spans, "task").unwrap()];
    assert_eq!(task.trace_id, request.trace_id);
    assert_eq!(task.parent_span_id, request.span_id);
    let call = spans
        .iter()
        .find(|s| {
            s.name == "plugin_call"
                && s.trace_id == request.trace_id
                && s.attributes.get("call").map(String::as_str) == Some("generate")
        })
        .unwrap_or_else(|| panic!("no generate call in the trace: {spans:#?}"));
    assert_eq!(call.attributes["plugin"], "openai-images");
    assert_eq!(call.parent_span_id, task.span_id);
    // The upstream got the trace context: same trace, the call's span.
    let calls = upstream.received();
    let traceparent = calls
        .iter()
        .find_map(|r| r.header("traceparent"))
        .unwrap_or_else(|| panic!("no traceparent upstream: {calls:?}"));
    assert_eq!(
        traceparent,
        format!("00-{}-{}-01", request.trace_id, call.span_id)
    );
}

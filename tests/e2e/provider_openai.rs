//! The bundled `openai-images` adapter against a loopback mock speaking
//! OpenAI's documented Images API wire format: request shape and injected
//! credential, base64 and URL outputs, every error class, and billing (the
//! hold is captured on success and released on every failure).

use std::time::Duration;

use base64::Engine as _;
use imini_tests::mock::{Mock, Received, Reply};
use imini_tests::{
    Answer, Gateway, TestAccount, assert_charged_once, assert_error, assert_reconciles,
    assert_refunded, decode_png, png,
};
use serde_json::{Value, json};

const SECRET: &str = "sk-test-123";
const CREDITS: i64 = 1_000;

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// The gateway's configuration for a mock OpenAI at `mock`.
fn config(mock: &Mock, with_credential: bool) -> String {
    let credential = if with_credential {
        format!("[credentials.openai]\nvalue = {SECRET:?}\n")
    } else {
        String::new()
    };
    format!(
        r#"{credential}
[plugin_settings.openai-images]
allowed_hosts = ["{host}"]
[plugin_settings.openai-images.config]
base_url = "{url}"
timeout_ms = 1000

[prices."openai/gpt-image-1"]
per_image = 40
[prices."openai/dall-e-3"]
per_image = 80
"#,
        host = mock.host_port,
        url = mock.url,
    )
}

/// A gateway in front of a mock OpenAI answering with `handler`, and an
/// account with [`CREDITS`].
fn setup(
    handler: impl Fn(&Received) -> Reply + Send + Sync + 'static,
) -> (Gateway, Mock, TestAccount) {
    let mock = Mock::with_handler(handler);
    let gw = Gateway::start_with_config(&config(&mock, true));
    let account = gw.account("openai-user@example.com", CREDITS);
    (gw, mock, account)
}

fn generate(gw: &Gateway, who: &TestAccount, body: &Value) -> Answer {
    gw.request_with("POST", "/v1/images/generations", Some(&who.key), Some(body))
}

fn task(gw: &Gateway, who: &TestAccount, id: &str) -> Value {
    gw.request_with("GET", &format!("/v1/tasks/{id}"), Some(&who.key), None)
        .json()
}

fn openai_error(status: u16, message: &str, kind: &str, param: Value, code: Value) -> Reply {
    Reply::json(
        status,
        &json!({"error": {"message": message, "type": kind, "param": param, "code": code}}),
    )
}

#[test]
fn gpt_image_1_sends_openais_wire_format_and_returns_the_png_it_answered() {
    let images = [png(48, 32, [200, 30, 30]), png(48, 32, [30, 30, 200])];
    let answered = images.clone();
    let (gw, mock, alice) = setup(move |_| {
        Reply::json(
            200,
            &json!({
                "created": 1_713_833_628,
                "data": [{"b64_json": b64(&answered[0])}, {"b64_json": b64(&answered[1])}],
                "usage": {"total_tokens": 100, "input_tokens": 50, "output_tokens": 50,
                          "input_tokens_details": {"text_tokens": 10, "image_tokens": 40}},
            }),
        )
    });

    let answer = generate(
        &gw,
        &alice,
        &json!({"model": "openai/gpt-image-1", "prompt": "a lighthouse at dusk", "n": 2,
                "size": "1536x1024", "quality": "high", "response_format": "b64_json"}),
    );
    assert_eq!(
        answer.status,
        200,
        "{}",
        String::from_utf8_lossy(&answer.body)
    );

    // What reached "OpenAI".
    let received = mock.received();
    assert_eq!(received.len(), 1, "one upstream call");
    let call = &received[0];
    assert_eq!(call.method, "POST");
    assert_eq!(call.path, "/v1/images/generations");
    assert_eq!(
        call.header("authorization"),
        Some("Bearer sk-test-123"),
        "the host injected the operator's credential"
    );
    assert!(
        call.header("content-type")
            .is_some_and(|c| c.starts_with("application/json"))
    );
    let sent = call.json();
    assert_eq!(sent["model"], "gpt-image-1", "the upstream model name");
    assert_eq!(sent["prompt"], "a lighthouse at dusk");
    assert_eq!(sent["n"], 2);
    assert_eq!(sent["size"], "1536x1024");
    assert_eq!(sent["quality"], "high", "quality is passed through");
    assert!(
        sent.get("response_format").is_none(),
        "gpt-image-1 does not take response_format: {sent}"
    );

    // What the caller gets: exactly the PNGs "OpenAI" answered.
    let body = answer.json();
    let data = body["data"].as_array().unwrap();
    assert_eq!(data.len(), 2);
    for (item, expected) in data.iter().zip(&images) {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(item["b64_json"].as_str().unwrap())
            .unwrap();
        assert_eq!(&bytes, expected);
        assert_eq!(decode_png(&bytes).0, 48);
    }

    // The task and its bill: 40 credits an image, held then captured.
    let task_id = body["id"].as_str().unwrap();
    let view = task(&gw, &alice, task_id);
    assert_eq!(view["status"], "succeeded");
    assert_eq!(view["model"], "openai/gpt-image-1");
    // OpenAI does not say the size it made: it is read from the image.
    assert_eq!(view["images"][0]["width"], 48);
    assert_eq!(view["images"][0]["height"], 32);
    assert_eq!(view["images"][0]["mime_type"], "image/png");
    assert_eq!(
        view["cost"],
        json!({"held": 80, "charged": 80, "refunded": 0})
    );
    assert_charged_once(&gw, &alice.id, task_id, 80);
    assert_eq!(assert_reconciles(&gw, &alice.id), (CREDITS - 80, 0));
}

#[test]
fn dall_e_3_url_outputs_are_downloaded_from_the_allowed_host() {
    let image = png(40, 24, [20, 160, 60]);
    let served = image.clone();
    let (gw, mock, bob) = setup(move |req| {
        if req.method == "GET" && req.path == "/files/img-abc.png" {
            return Reply::bytes(200, "image/png", served.clone());
        }
        // OpenAI's url form, pointing at a file on the same (allowed) host.
        let host = req.header("host").unwrap_or_default();
        Reply::json(
            200,
            &json!({
                "created": 1_713_833_628,
                "data": [{"url": format!("http://{host}/files/img-abc.png"),
                          "revised_prompt": "A wide photograph of a green meadow"}],
            }),
        )
    });

    let answer = generate(
        &gw,
        &bob,
        &json!({"model": "openai/dall-e-3", "prompt": "a meadow", "size": "1792x1024",
                "style": "natural", "response_format": "url"}),
    );
    assert_eq!(
        answer.status,
        200,
        "{}",
        String::from_utf8_lossy(&answer.body)
    );

    let received = mock.received();
    let sent = received
        .iter()
        .find(|r| r.path == "/v1/images/generations")
        .expect("the generation call")
        .json();
    assert_eq!(sent["model"], "dall-e-3");
    assert_eq!(sent["n"], 1);
    assert_eq!(sent["size"], "1792x1024");
    assert_eq!(sent["style"], "natural", "style is passed through");
    assert_eq!(
        sent["response_format"], "b64_json",
        "the plugin asks dall-e-3 for base64, whatever the caller's response_format"
    );
    let download = received
        .iter()
        .find(|r| r.path == "/files/img-abc.png")
        .expect("the gateway downloaded the output");
    assert_eq!(download.method, "GET");

    // The caller's signed URL serves exactly the bytes the upstream served.
    let url = answer.json()["data"][0]["url"]
        .as_str()
        .unwrap()
        .to_string();
    let file = gw.get_url(&url);
    assert_eq!(file.status, 200);
    assert_eq!(file.body, image);
    let view = gw
        .request_with(
            "GET",
            &format!("/v1/tasks/{}", answer.json()["id"].as_str().unwrap()),
            Some(&bob.key),
            None,
        )
        .json();
    assert_eq!(
        view["images"][0]["text"], "A wide photograph of a green meadow",
        "the revised prompt is kept"
    );

    // OpenAI takes no seed: refused before anything is held or sent.
    let seeded = generate(
        &gw,
        &bob,
        &json!({"model": "openai/dall-e-3", "prompt": "x", "seed": 3}),
    );
    let e = imini_tests::assert_error(&seeded, 400, "UNSUPPORTED_PARAMETER");
    assert_eq!(e["param"], "seed");
    // An aspect ratio picks the closest size the model lists.
    let wide = generate(
        &gw,
        &bob,
        &json!({"model": "openai/dall-e-3", "prompt": "x", "aspect_ratio": "16:9"}),
    );
    assert_eq!(wide.json()["size"], "1792x1024");

    let task_id = answer.json()["id"].as_str().unwrap().to_string();
    assert_charged_once(&gw, &bob.id, &task_id, 80);
    assert_eq!(
        assert_reconciles(&gw, &bob.id),
        (CREDITS - 160, 0),
        "two images at 80"
    );
}

/// Runs one generation against a mock answering `reply`, asserts the caller
/// gets `status`/`code`, that the task failed with that code, and that the
/// hold was released in full, after `calls` upstream calls. Returns the
/// error and the gateway's log.
fn fails_with(reply: Reply, status: u16, code: &str, calls: usize) -> (Value, String) {
    let (gw, mock, carol) = setup(move |_| reply.clone());
    let started = std::time::Instant::now();
    let answer = generate(
        &gw,
        &carol,
        &json!({"model": "openai/gpt-image-1", "prompt": "a cat", "size": "1024x1024"}),
    );
    let error = assert_error(&answer, status, code);
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "failed promptly, not after a long wait"
    );
    assert_eq!(mock.received().len(), calls, "upstream calls");

    let task_id = error["task_id"].as_str().expect("the task is named");
    let view = task(&gw, &carol, task_id);
    assert_eq!(view["status"], "failed");
    assert_eq!(view["error"]["code"], code);
    assert_eq!(
        view["cost"],
        json!({"held": 40, "charged": 0, "refunded": 40})
    );
    assert_refunded(&gw, &carol.id, task_id, 40);
    assert_eq!(
        assert_reconciles(&gw, &carol.id),
        (CREDITS, 0),
        "the full balance is back"
    );
    (error, gw.logs())
}

#[test]
fn a_400_is_an_invalid_parameter_with_openais_message() {
    let (error, _) = fails_with(
        openai_error(
            400,
            "Invalid value for 'quality': 'ultra'. Supported values are: 'low', 'medium', 'high', and 'auto'.",
            "invalid_request_error",
            json!("quality"),
            json!("invalid_value"),
        ),
        400,
        "INVALID_PARAMETER",
        1,
    );
    let message = error["message"].as_str().unwrap();
    assert!(
        message.contains("Invalid value for 'quality': 'ultra'"),
        "OpenAI's message reaches the caller: {message}"
    );
}

#[test]
fn a_content_policy_refusal_is_a_content_policy_violation() {
    let (error, _) = fails_with(
        openai_error(
            400,
            "Your request was rejected as a result of our safety system.",
            "invalid_request_error",
            Value::Null,
            json!("content_policy_violation"),
        ),
        400,
        "CONTENT_POLICY_VIOLATION",
        1,
    );
    assert_eq!(error["type"], "content_policy_violation");
}

#[test]
fn a_401_is_an_upstream_error_that_does_not_leak_the_key() {
    let (error, logs) = fails_with(
        openai_error(
            401,
            "Incorrect API key provided: sk-test-***123. You can find your API key at https://platform.openai.com/account/api-keys.",
            "invalid_request_error",
            Value::Null,
            json!("invalid_api_key"),
        ),
        502,
        "UPSTREAM_ERROR",
        1,
    );
    let message = error["message"].as_str().unwrap();
    assert!(
        message.contains("credential"),
        "the caller learns it is the gateway's credential: {message}"
    );
    assert!(!message.contains("sk-test"), "{message}");
    assert!(
        logs.contains("Incorrect API key provided"),
        "the operator sees OpenAI's reason in the log"
    );
    assert!(!logs.contains(SECRET), "the secret is never logged");
}

#[test]
fn a_429_with_retry_after_is_an_upstream_error() {
    let (error, logs) = fails_with(
        openai_error(
            429,
            "Rate limit reached for gpt-image-1 in organization org-x on images per minute (IPM): Limit 5, Used 5, Requested 1.",
            "requests",
            Value::Null,
            json!("rate_limit_exceeded"),
        )
        .header("retry-after", "1"),
        502,
        "UPSTREAM_ERROR",
        // The gateway waits out a short Retry-After once, then gives up.
        2,
    );
    assert!(
        error["message"].as_str().unwrap().contains("rate-limiting"),
        "{error}"
    );
    assert!(
        logs.contains("Rate limit reached for gpt-image-1"),
        "{logs}"
    );
}

#[test]
fn a_500_is_an_upstream_error() {
    fails_with(
        openai_error(
            500,
            "The server had an error while processing your request. Sorry about that!",
            "server_error",
            Value::Null,
            Value::Null,
        ),
        502,
        "UPSTREAM_ERROR",
        1,
    );
}

#[test]
fn malformed_json_is_an_upstream_error() {
    fails_with(
        Reply::bytes(
            200,
            "application/json",
            b"{\"created\": 1, \"data\": [".to_vec(),
        ),
        502,
        "UPSTREAM_ERROR",
        1,
    );
}

#[test]
fn a_reply_slower_than_timeout_ms_is_an_upstream_timeout() {
    let (error, _) = fails_with(
        Reply::json(
            200,
            &json!({"created": 1, "data": [{"b64_json": b64(&png(8, 8, [0, 0, 0]))}]}),
        )
        .delayed(Duration::from_millis(2_000)),
        504,
        "UPSTREAM_TIMEOUT",
        1,
    );
    assert!(
        error["message"].as_str().unwrap().contains("in time"),
        "{error}"
    );
}

#[test]
fn the_models_are_listed_only_once_the_credential_is_configured() {
    let mock = Mock::start(500, "text/plain", Vec::new());

    let without = Gateway::start_with_config(&config(&mock, false));
    let models = without.get("/v1/models").json();
    let ids: Vec<&str> = models["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert!(
        !ids.iter().any(|id| id.starts_with("openai/")),
        "no credential, no OpenAI models: {ids:?}"
    );
    assert!(ids.contains(&"imini/canvas-image"), "{ids:?}");
    assert_error(
        &without.get("/v1/models/openai/gpt-image-1"),
        404,
        "MODEL_NOT_FOUND",
    );

    let with = Gateway::start_with_config(&config(&mock, true));
    let gpt = with.get("/v1/models/openai/gpt-image-1").json();
    assert_eq!(gpt["provider"]["plugin"], "openai-images");
    assert_eq!(gpt["provider"]["version"], "0.1.0");
    assert_eq!(gpt["capabilities"]["mode"], "sync");
    assert_eq!(gpt["capabilities"]["max_n"], 4);
    assert_eq!(gpt["capabilities"]["seed"], false);
    assert_eq!(gpt["capabilities"]["default_size"], "1024x1024");
    assert_eq!(
        gpt["capabilities"]["sizes"],
        json!(["1024x1024", "1536x1024", "1024x1536"])
    );
    assert_eq!(gpt["pricing"], json!([{"unit": "image", "credits": 40}]));
    let dalle = with.get("/v1/models/openai/dall-e-3").json();
    assert_eq!(dalle["capabilities"]["max_n"], 1);
    assert_eq!(
        dalle["capabilities"]["sizes"],
        json!(["1024x1024", "1792x1024", "1024x1792"])
    );
    assert!(
        mock.received().is_empty(),
        "listing models calls no upstream"
    );
}

#[test]
fn sizes_and_counts_the_model_does_not_accept_are_refused_before_anything_is_held() {
    let (gw, mock, dave) = setup(|_| Reply::json(500, &json!({})));
    let e = assert_error(
        &generate(
            &gw,
            &dave,
            &json!({"model": "openai/gpt-image-1", "prompt": "x", "size": "512x512"}),
        ),
        400,
        "INVALID_PARAMETER",
    );
    assert_eq!(e["param"], "size");
    assert!(
        e["message"].as_str().unwrap().contains("1536x1024"),
        "the accepted sizes are named: {e}"
    );
    let e = assert_error(
        &generate(
            &gw,
            &dave,
            &json!({"model": "openai/dall-e-3", "prompt": "x", "n": 2}),
        ),
        400,
        "INVALID_PARAMETER",
    );
    assert_eq!(e["param"], "n");
    assert!(mock.received().is_empty(), "nothing reached OpenAI");
    let types: Vec<Value> = gw
        .ledger(&dave.id)
        .iter()
        .map(|e| e["type"].clone())
        .collect();
    assert_eq!(types, [json!("topup")], "nothing was held");
}

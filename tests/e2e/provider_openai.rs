//! The bundled `openai-images` adapter against a loopback mock speaking
//! OpenAI's documented Images API wire format. The provider conformance
//! suite ([`imini_tests::conformance`]) runs success and every error class
//! (with OpenAI's content-policy refusal and a refused key the caller never
//! sees) and a timeout; what is OpenAI's own is checked here: the request's
//! wire format, base64 and URL outputs, the models' listing once the
//! credential is configured, and the sizes and counts each model takes.

use base64::Engine as _;
use imini_tests::conformance::{self, Adapter, Fault, Harness, Mode, Script};
use imini_tests::mock::{Mock, Received, Reply};
use imini_tests::{
    Answer, Gateway, TestAccount, assert_charged_once, assert_error, assert_reconciles, png,
};
use serde_json::{Value, json};

const SECRET: &str = "sk-test-123";
const CREDITS: i64 = conformance::CREDITS;

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
timeout_ms = {timeout}

[prices."openai/gpt-image-1"]
per_image = 40
[prices."openai/dall-e-3"]
per_image = 80
"#,
        host = mock.host_port,
        url = mock.url,
        timeout = conformance::TIMEOUT_MS,
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

fn openai_error(status: u16, message: &str, kind: &str, param: Value, code: Value) -> Reply {
    Reply::json(
        status,
        &json!({"error": {"message": message, "type": kind, "param": param, "code": code}}),
    )
}

/// OpenAI's `gpt-image-1` for the conformance suite: synchronous, the
/// images inline in base64.
#[derive(Clone)]
struct OpenAi;

impl Adapter for OpenAi {
    fn name(&self) -> &'static str {
        "openai-images"
    }

    fn config(&self, mock: &Mock) -> String {
        config(mock, true)
    }

    fn secret(&self) -> &'static str {
        SECRET
    }

    fn credential_header(&self) -> (&'static str, String) {
        ("authorization", format!("Bearer {SECRET}"))
    }

    fn mode(&self) -> Mode {
        Mode::Synchronous
    }

    fn request(&self) -> Value {
        json!({"model": "openai/gpt-image-1", "prompt": "a lighthouse at dusk", "n": 2,
               "size": "1536x1024", "extra_params": {"quality": "high"}})
    }

    fn cost(&self) -> i64 {
        80
    }

    fn inline_outputs(&self) -> bool {
        true
    }

    fn submit_call(&self) -> (&'static str, String) {
        ("POST", "/v1/images/generations".into())
    }

    fn answer(&self, req: &Received, script: &Script) -> Reply {
        if (req.method.as_str(), req.path.as_str()) != ("POST", "/v1/images/generations") {
            return openai_error(
                404,
                "Not found",
                "invalid_request_error",
                Value::Null,
                Value::Null,
            );
        }
        let data: Vec<Value> = (0..script.count())
            .map(|i| json!({"b64_json": script.base64(i)}))
            .collect();
        Reply::json(
            200,
            &json!({
                "created": 1_713_833_628,
                "data": data,
                "usage": {"total_tokens": 100, "input_tokens": 50, "output_tokens": 50,
                          "input_tokens_details": {"text_tokens": 10, "image_tokens": 40}},
            }),
        )
    }

    fn error(&self, status: u16, message: &str) -> Reply {
        let (kind, code) = match status {
            401 => ("invalid_request_error", json!("invalid_api_key")),
            403 => (
                "invalid_request_error",
                json!("unsupported_country_region_territory"),
            ),
            429 => ("requests", json!("rate_limit_exceeded")),
            s if s >= 500 => ("server_error", Value::Null),
            _ => ("invalid_request_error", json!("invalid_value")),
        };
        openai_error(status, message, kind, Value::Null, code)
    }

    /// OpenAI's safety system answers the generation with a 400.
    fn refusal(&self) -> Fault {
        Fault::Answer(openai_error(
            400,
            "Your request was rejected as a result of our safety system.",
            "invalid_request_error",
            Value::Null,
            json!("content_policy_violation"),
        ))
    }
}

#[test]
fn conformance_success_with_openais_wire_format() {
    let run = conformance::success(&OpenAi);

    // What reached "OpenAI".
    let call = run.submitted();
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
    // OpenAI does not say the size it made: it is read from the image (the
    // suite checked it is the PNG's).
    assert_eq!(run.view["images"][0]["width"], 40);

    // Through the OpenAI face, the caller gets exactly the PNGs "OpenAI"
    // answered, in base64.
    let h = &run.harness;
    let answer = generate(
        &h.gw,
        &h.account,
        &json!({"model": "openai/gpt-image-1", "prompt": "a lighthouse at dusk", "n": 2,
                "size": "1536x1024", "quality": "high", "response_format": "b64_json"}),
    );
    assert_eq!(
        answer.status,
        200,
        "{}",
        String::from_utf8_lossy(&answer.body)
    );
    let body = answer.json();
    let data = body["data"].as_array().unwrap();
    assert_eq!(data.len(), 2);
    for (item, expected) in data.iter().zip(h.vendor.outputs()) {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(item["b64_json"].as_str().unwrap())
            .unwrap();
        assert_eq!(bytes, expected);
    }
    assert_eq!(h.vendor.received()[1].json(), sent, "the same wire format");
    let task_id = body["id"].as_str().unwrap();
    assert_charged_once(&h.gw, &h.account.id, task_id, 80);
    assert_eq!(assert_reconciles(&h.gw, &h.account.id), (CREDITS - 160, 0));
}

#[test]
fn conformance_error_classes() {
    conformance::error_classes(&OpenAi);
}

#[test]
fn conformance_timeout() {
    conformance::timeout(&OpenAi);
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
    let h = Harness::start(&OpenAi);
    let (gw, dave) = (&h.gw, &h.account);
    let e = assert_error(
        &generate(
            gw,
            dave,
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
            gw,
            dave,
            &json!({"model": "openai/dall-e-3", "prompt": "x", "n": 2}),
        ),
        400,
        "INVALID_PARAMETER",
    );
    assert_eq!(e["param"], "n");
    assert!(h.vendor.received().is_empty(), "nothing reached OpenAI");
    let types: Vec<Value> = gw
        .ledger(&dave.id)
        .iter()
        .map(|e| e["type"].clone())
        .collect();
    assert_eq!(types, [json!("topup")], "nothing was held");
}

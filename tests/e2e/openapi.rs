//! The OpenAPI document: served at `/openapi.json` as committed in
//! docs/openapi.json, every route in it answered by the gateway, and
//! schemathesis (from PyPI) fuzzing the API from it: no 5xx, and every
//! answer in the document's statuses, content types and schemas.

use std::path::PathBuf;
use std::process::Command;

use imini_tests::{ADMIN_KEY, Gateway};

fn committed() -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs/openapi.json");
    std::fs::read_to_string(path).expect("docs/openapi.json")
}

#[test]
fn the_gateway_serves_the_committed_document_and_every_route_in_it() {
    let gw = Gateway::start();
    let served = gw.request_with("GET", "/openapi.json", None, None);
    assert_eq!(served.status, 200);
    assert_eq!(served.headers["content-type"], "application/json");
    let text = String::from_utf8(served.body.clone()).unwrap();
    assert!(
        text == committed(),
        "GET /openapi.json differs from docs/openapi.json"
    );
    let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(doc["openapi"], "3.1.0");

    // Every operation of the document is a route of the gateway: asked with
    // made-up ids, it answers something other than the router's "no such
    // route" or 405.
    let paths = doc["paths"].as_object().unwrap();
    let mut operations = 0;
    for (path, item) in paths {
        let concrete = path
            .split('/')
            .map(|part| {
                if part.starts_with('{') {
                    "nothing_here"
                } else {
                    part
                }
            })
            .collect::<Vec<_>>()
            .join("/");
        for method in item.as_object().unwrap().keys() {
            operations += 1;
            let answer = gw.request_with(&method.to_uppercase(), &concrete, Some(ADMIN_KEY), None);
            assert_ne!(answer.status, 405, "{method} {path}");
            if answer.status == 404 {
                let message = answer.json()["error"]["message"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string();
                assert!(
                    !message.starts_with("no such route"),
                    "{method} {path} is in the document but not a route"
                );
            }
        }
    }
    assert!(operations >= 55, "{operations} operations");
    // The router's own answer to a route that does not exist, for contrast.
    let none = gw.request_with("GET", "/v1/nothing", Some(ADMIN_KEY), None);
    assert_eq!(none.status, 404);
    assert!(
        none.json()["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("no such route")
    );
}

/// Runs schemathesis against `gw` with `key` on the operations `filters`
/// select; panics with its report if it found anything.
fn schemathesis(gw: &Gateway, key: &str, filters: &[&str], what: &str) {
    let python = imini_tests::python_tools();
    let bin = python.with_file_name("schemathesis");
    // Its example database and reports go to a directory of its own.
    let dir = tempfile::tempdir().expect("a temporary directory");
    // A fixed seed by default, so that a run is reproducible; set
    // IMINI_FUZZ_SEED to explore others.
    let seed = std::env::var("IMINI_FUZZ_SEED").unwrap_or_else(|_| "20261206".into());
    let examples = std::env::var("IMINI_FUZZ_EXAMPLES").unwrap_or_else(|_| "25".into());
    let out = Command::new(&bin)
        .current_dir(dir.path())
        .arg("run")
        .arg(format!("{}/openapi.json", gw.base))
        .args([
            "--checks",
            "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,negative_data_rejection",
            "--phases",
            "examples,coverage,fuzzing,stateful",
            "--max-examples",
            &examples,
            "--seed",
            &seed,
            "--workers",
            "1",
            "--request-timeout",
            "30",
            "--max-failures",
            "20",
            "--no-color",
            "--suppress-health-check",
            "all",
        ])
        .arg("-H")
        .arg(format!("Authorization: Bearer {key}"))
        .args(filters)
        .output()
        .expect("schemathesis runs");
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    // Its summary, for the test log.
    println!("schemathesis ({what}):\n{stdout}");
    assert!(
        out.status.success(),
        "schemathesis found problems ({what}):\n{stdout}\n{stderr}\ngateway log (tail):\n{}",
        tail(&gw.logs(), 4000)
    );
}

fn tail(text: &str, n: usize) -> &str {
    let start = text.len().saturating_sub(n);
    let start = (start..text.len())
        .find(|i| text.is_char_boundary(*i))
        .unwrap_or(text.len());
    &text[start..]
}

#[test]
fn schemathesis_finds_no_server_error_and_no_answer_outside_the_document() {
    // Rates high enough that the fuzzer is not refused for its pace (429
    // is documented, but would hide the routes behind it).
    let gw = Gateway::start_with_config(
        "[limits]\nrequests_per_minute = 1000000\nmax_concurrent_tasks = 1000\n",
    );
    let account = gw.account("fuzz@example.com", 100_000_000);
    // The public API with an account key, except closing the account (it
    // would close the account the run uses).
    schemathesis(
        &gw,
        &account.key,
        &[
            "--exclude-path-regex",
            "^/admin/",
            "--exclude-path",
            "/v1/account/close",
        ],
        "the public API with an account key",
    );
    // The admin API with the admin key.
    schemathesis(
        &gw,
        ADMIN_KEY,
        &["--include-path-regex", "^/(admin/|metrics|healthz|openapi)"],
        "the admin API with the admin key",
    );
}

/// What schemathesis found, fixed: an upload's `purpose` outside the
/// documented ones was accepted (it is now 400 and stores nothing); a JSON
/// array was read as an object of its fields in order (`[]` made a key
/// with every default); and a seed above i64's range is accepted as the
/// document says (uint64).
#[test]
fn what_the_fuzzer_found_stays_fixed() {
    let gw = Gateway::start();
    let account = gw.account("found@example.com", 1_000);
    let upload = |purpose: &str| {
        let form = reqwest::blocking::multipart::Form::new()
            .part(
                "file",
                reqwest::blocking::multipart::Part::bytes(imini_tests::png(4, 4, [9, 9, 9]))
                    .file_name("ref.png"),
            )
            .text("purpose", purpose.to_string());
        imini_tests::answer(
            reqwest::blocking::Client::new()
                .post(format!("{}/v1/files", gw.base))
                .bearer_auth(&account.key)
                .multipart(form)
                .send()
                .unwrap(),
        )
    };
    let refused = upload("6");
    let error = imini_tests::assert_error(&refused, 400, "INVALID_PARAMETER");
    assert_eq!(error["param"], "purpose");
    assert_eq!(upload("vision").status, 201, "OpenAI's purposes are taken");
    assert_eq!(upload("reference").status, 201);

    let array = gw.raw(
        "POST",
        &format!("/admin/v1/accounts/{}/keys", account.id),
        "application/json",
        b"[]".to_vec(),
    );
    let error = imini_tests::assert_error(&array, 400, "INVALID_PARAMETER");
    assert_eq!(error["param"], "body");
    let listed = gw.request_with("GET", "/v1/keys", Some(&account.key), None);
    assert_eq!(
        listed.json()["data"].as_array().unwrap().len(),
        1,
        "no key was made"
    );
    let array = gw.request_with(
        "POST",
        "/v1/keys",
        Some(&account.key),
        Some(&serde_json::json!(["named by position"])),
    );
    imini_tests::assert_error(&array, 400, "INVALID_PARAMETER");

    let big_seed = gw.request_with(
        "POST",
        "/v1/images/generate",
        Some(&account.key),
        Some(&serde_json::json!({ "prompt": "a lighthouse", "seed": u64::MAX })),
    );
    assert_eq!(
        big_seed.status,
        202,
        "{}",
        String::from_utf8_lossy(&big_seed.body)
    );
    let doc: serde_json::Value = serde_json::from_str(&committed()).unwrap();
    assert_eq!(
        doc["components"]["schemas"]["NativeImageRequest"]["properties"]["seed"]["format"],
        "uint64"
    );
}

//! Media in an S3-compatible bucket (`[media] backend = "s3"`), on moto's
//! server (see `imini_tests::moto`): replicas sharing one database and one
//! bucket serve each other's outputs, and a gateway whose bucket cannot be
//! listed does not start. Each test makes its own bucket and database and
//! deletes them, and only them, at the end.

use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use imini_tests::moto::{Bucket, CREDENTIALS};
use imini_tests::pg::Database;
use imini_tests::{Gateway, binary};
use serde_json::json;

fn media_config(bucket: &Bucket) -> String {
    format!(
        "[media]\nbackend = \"s3\"\nbucket = \"{}\"\nendpoint = \"{}\"\nregion = \"us-east-1\"\n\
         prefix = \"replicas/media\"\n",
        bucket.name, bucket.endpoint
    )
}

#[test]
fn replicas_on_one_database_and_one_bucket_serve_each_others_outputs() {
    let bucket = Bucket::create();
    let db = Arc::new(Database::create());
    let config = media_config(&bucket);
    let (a, b) = (
        Gateway::start_on_database(&config, db.clone(), &CREDENTIALS),
        Gateway::start_on_database(&config, db.clone(), &CREDENTIALS),
    );
    let open = format!("S3 bucket {} at {}", bucket.name, bucket.endpoint);
    assert!(a.logs().contains(&open), "{}", a.logs());

    let alice = a.account("alice@example.com", 100);
    let generated = a.request_with(
        "POST",
        "/v1/images/generations",
        Some(&alice.key),
        Some(&json!({"model": "imini/canvas-image", "prompt": "a lantern in the fog", "size": "128x128", "response_format": "url"})),
    );
    assert_eq!(
        generated.status,
        200,
        "{}",
        String::from_utf8_lossy(&generated.body)
    );
    let url = generated.json()["data"][0]["url"]
        .as_str()
        .expect("a signed URL")
        .to_string();
    let on_a = a.get_url(&url);
    assert_eq!(on_a.status, 200);
    assert_eq!(on_a.headers["content-type"], "image/png");

    // The signed URL, on the other replica.
    let path = url.strip_prefix(&a.base).expect("a URL on a").to_string();
    let on_b = b.get_url(&format!("{}{path}", b.base));
    assert_eq!(on_b.status, 200, "{}", String::from_utf8_lossy(&on_b.body));
    assert_eq!(on_b.body, on_a.body, "the same bytes through b");

    // The owner's key, on the other replica.
    let file_id = path
        .split('/')
        .find(|part| part.starts_with("file_"))
        .expect("the file's id in its URL");
    let content = format!("/v1/files/{file_id}/content");
    let owned = b.request_with("GET", &content, Some(&alice.key), None);
    assert_eq!(
        owned.status,
        200,
        "{}",
        String::from_utf8_lossy(&owned.body)
    );
    assert_eq!(owned.body, on_a.body);
    let bob = b.account("bob@example.com", 100);
    let other = b.request_with("GET", &content, Some(&bob.key), None);
    assert_eq!(other.status, 404, "another account's key gets nothing");

    // Neither replica kept the bytes in its data directory.
    for gw in [&a, &b] {
        assert!(!gw.data_dir.join("media").exists(), "{:?}", gw.data_dir);
    }
}

#[test]
fn a_gateway_whose_bucket_cannot_be_listed_does_not_start() {
    let bucket = Bucket::create();
    let missing = format!("{}-missing", bucket.name);
    let config = media_config(&bucket).replace(&bucket.name, &missing);
    let dir = tempfile::tempdir().unwrap();
    let config_path = dir.path().join("imini.toml");
    std::fs::write(&config_path, config).unwrap();
    let mut child = Command::new(binary())
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path().join("data"))
        .arg("--config")
        .arg(&config_path)
        .env_remove("IMINI_CONFIG")
        .env_remove("IMINI_STORE_URL")
        .env_remove("IMINI_REDIS_URL")
        .envs(CREDENTIALS)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            child.kill().unwrap();
            panic!("a gateway with a missing bucket still runs after 60 s");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    assert!(!status.success());
    assert!(
        stderr.contains(&format!("S3 bucket {missing} at {}", bucket.endpoint)),
        "{stderr}"
    );
}

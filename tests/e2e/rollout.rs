//! Hot rollout: plugin versions installed, swapped, rolled back and retired
//! on a running gateway, with the two versions of the `swap` test guest
//! (v1 draws red, v2 blue).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine as _;
use imini_tests::{ADMIN_KEY, Answer, Gateway, assert_error, decode_png, guests};
use serde_json::{Value, json};

const RED: [u8; 3] = [255, 0, 0];
const BLUE: [u8; 3] = [0, 0, 255];

fn file(path: &str) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn text(path: &str) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// `POST /admin/v1/plugins` with a component and its manifest.
fn install(gw: &Gateway, wasm: Vec<u8>, manifest: &str) -> Answer {
    gw.install_plugin(wasm, manifest)
}

fn install_ok(gw: &Gateway, wasm: Vec<u8>, manifest: &str) -> Value {
    let answer = install(gw, wasm, manifest);
    assert_eq!(
        answer.status,
        201,
        "{}",
        String::from_utf8_lossy(&answer.body)
    );
    answer.json()
}

fn v1(gw: &Gateway) -> Value {
    install_ok(
        gw,
        file(guests::SWAP_V1_WASM),
        &text(guests::SWAP_V1_MANIFEST),
    )
}

fn v2(gw: &Gateway) -> Value {
    install_ok(
        gw,
        file(guests::SWAP_V2_WASM),
        &text(guests::SWAP_V2_MANIFEST),
    )
}

fn activate(gw: &Gateway, version: &str) -> Value {
    let answer = gw.post(
        "/admin/v1/plugins/swap/activate",
        &json!({ "version": version }),
    );
    assert_eq!(
        answer.status,
        200,
        "{}",
        String::from_utf8_lossy(&answer.body)
    );
    answer.json()
}

/// One synchronous `test/swap` image: its status and, on success, its colour.
fn draw(client: &reqwest::blocking::Client, base: &str) -> (u16, Option<[u8; 3]>) {
    let response = client
        .post(format!("{base}/v1/images/generations"))
        .bearer_auth(ADMIN_KEY)
        .json(&json!({"model": "test/swap", "prompt": "which version?", "size": "8x8", "response_format": "b64_json"}))
        .send()
        .expect("request");
    let status = response.status().as_u16();
    if status != 200 {
        return (status, None);
    }
    let body: Value = response.json().expect("json");
    let png = base64::engine::general_purpose::STANDARD
        .decode(body["data"][0]["b64_json"].as_str().expect("b64"))
        .expect("base64");
    let (_, _, pixels) = decode_png(&png);
    (status, Some([pixels[0], pixels[1], pixels[2]]))
}

fn colour_of(gw: &Gateway) -> [u8; 3] {
    let (status, colour) = draw(&reqwest::blocking::Client::new(), &gw.base);
    assert_eq!(status, 200);
    colour.unwrap()
}

#[test]
fn swapping_under_load_fails_no_request_and_new_requests_reach_the_new_version() {
    let gw = Gateway::start();
    let first = v1(&gw);
    assert_eq!(first["active"], "1.0.0");
    assert_eq!(first["launched"], json!(["test/swap", "test/swap-job"]));
    v2(&gw);
    assert_eq!(colour_of(&gw), BLUE);

    let stop = Arc::new(AtomicBool::new(false));
    // (started, finished, status, colour)
    type Sample = (Instant, Instant, u16, Option<[u8; 3]>);
    let samples: Arc<Mutex<Vec<Sample>>> = Arc::default();
    let load: Vec<_> = (0..2)
        .map(|_| {
            let (stop, samples, base) = (stop.clone(), samples.clone(), gw.base.clone());
            std::thread::spawn(move || {
                let client = reqwest::blocking::Client::new();
                while !stop.load(Ordering::Relaxed) {
                    let started = Instant::now();
                    let (status, colour) = draw(&client, &base);
                    samples
                        .lock()
                        .unwrap()
                        .push((started, Instant::now(), status, colour));
                }
            })
        })
        .collect();

    // (swap sent, swap answered, colour of the version it made serve)
    let mut swaps: Vec<(Instant, Instant, [u8; 3])> = Vec::new();
    let client = reqwest::blocking::Client::new();
    for i in 0..20 {
        let (version, colour) = if i % 2 == 0 {
            ("1.0.0", RED)
        } else {
            ("2.0.0", BLUE)
        };
        let sent = Instant::now();
        let answered = activate(&gw, version);
        let done = Instant::now();
        assert_eq!(answered["active"], version);
        swaps.push((sent, done, colour));
        let (status, seen) = draw(&client, &gw.base);
        assert_eq!(
            (status, seen),
            (200, Some(colour)),
            "the first request after swap {i} reaches {version}"
        );
        std::thread::sleep(Duration::from_millis(30));
    }
    stop.store(true, Ordering::Relaxed);
    for t in load {
        t.join().unwrap();
    }

    let samples = samples.lock().unwrap();
    assert!(samples.len() >= 40, "load ran: {} requests", samples.len());
    let failed: Vec<_> = samples.iter().filter(|s| s.2 != 200).collect();
    assert!(failed.is_empty(), "{} requests failed", failed.len());
    let colours: std::collections::HashSet<[u8; 3]> = samples.iter().filter_map(|s| s.3).collect();
    assert!(
        colours.contains(&RED) && colours.contains(&BLUE),
        "both versions served"
    );
    // A request sent after a swap answered, and answered before the next
    // swap was sent, was served by the version that swap made active.
    let mut checked = 0;
    for (started, finished, _, colour) in samples.iter() {
        let Some(i) = swaps.iter().rposition(|(_, done, _)| done < started) else {
            continue;
        };
        let next_sent = swaps.get(i + 1).map(|(sent, _, _)| *sent);
        if next_sent.is_none_or(|sent| *finished < sent) {
            assert_eq!(*colour, Some(swaps[i].2), "request after swap {i}");
            checked += 1;
        }
    }
    assert!(checked > 0, "some requests fell between swaps");
}

#[test]
fn a_job_submitted_on_v1_finishes_through_v2_and_is_charged_once() {
    let gw = Gateway::start_with_config("[prices.\"test/swap-job\"]\nper_image = 7\n");
    v1(&gw);
    let acct = gw.account("job@example.com", 100);
    let submitted = gw.request_with(
        "POST",
        "/v1/images/generate",
        Some(&acct.key),
        Some(&json!({"model": "test/swap-job", "prompt": "a job", "size": "8x8"})),
    );
    assert_eq!(
        submitted.status,
        202,
        "{}",
        String::from_utf8_lossy(&submitted.body)
    );
    let task_id = submitted.json()["task_id"].as_str().unwrap().to_string();
    // v1 accepted the job and asked to be polled after 1.5 s; swap now.
    std::thread::sleep(Duration::from_millis(300));
    v2(&gw);

    let deadline = Instant::now() + Duration::from_secs(20);
    let task = loop {
        let task = gw
            .request_with(
                "GET",
                &format!("/v1/tasks/{task_id}"),
                Some(&acct.key),
                None,
            )
            .json();
        if task["status"] == "succeeded" || task["status"] == "failed" {
            break task;
        }
        assert!(Instant::now() < deadline, "the task did not finish: {task}");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(task["status"], "succeeded", "{task}");
    let url = task["images"][0]["url"].as_str().unwrap();
    let png = gw.request_with("GET", url, Some(&acct.key), None);
    let (_, _, pixels) = decode_png(&png.body);
    assert_eq!(&pixels[..3], &BLUE, "polled through v2, which drew it");
    let entries = imini_tests::task_entries(&gw, &acct.id, &task_id);
    let kinds: Vec<&str> = entries.iter().map(|e| e.0.as_str()).collect();
    assert_eq!(kinds, ["hold", "capture"], "charged once");
    assert_eq!(gw.account_view(&acct.id)["credit_balance"], 93);
}

#[test]
fn invalid_versions_are_refused_with_the_reason_and_the_serving_version_stays() {
    let gw = Gateway::start();
    v1(&gw);

    // A version whose self-check traps.
    let answer = install(
        &gw,
        file(guests::BROKEN_GUEST_WASM),
        &text(guests::BROKEN_GUEST_MANIFEST),
    );
    let error = assert_error(&answer, 400, "INVALID_PARAMETER");
    let message = error["message"].as_str().unwrap();
    assert!(
        message.contains("swap@3.0.0") && message.contains("self-check"),
        "{message}"
    );

    // A policy component under a provider manifest (the wrong world).
    let manifest = text(guests::SWAP_V2_MANIFEST).replace("2.0.0", "4.0.0");
    let answer = install(&gw, file(guests::POLICY_GUEST_WASM), &manifest);
    let error = assert_error(&answer, 400, "INVALID_PARAMETER");
    let message = error["message"].as_str().unwrap();
    assert!(
        message.contains("must export imini:plugin/model-provider"),
        "{message}"
    );

    // A component built against a WIT version this gateway does not support.
    let mut wasm = file(guests::SWAP_V2_WASM);
    let (from, to) = (b"@0.2.0", b"@0.9.0");
    let mut patched = 0;
    for i in 0..wasm.len() - from.len() {
        if &wasm[i..i + from.len()] == from {
            wasm[i..i + to.len()].copy_from_slice(to);
            patched += 1;
        }
    }
    assert!(patched > 0, "the component names its WIT version");
    let manifest = text(guests::SWAP_V2_MANIFEST).replace("2.0.0", "5.0.0");
    let answer = install(&gw, wasm, &manifest);
    let error = assert_error(&answer, 400, "INVALID_PARAMETER");
    let message = error["message"].as_str().unwrap();
    assert!(
        message.contains("imini:plugin@0.9.0") && message.contains(">=0.1.0, <0.3.0"),
        "names both versions: {message}"
    );

    // The same version with other bytes.
    let manifest = text(guests::SWAP_V2_MANIFEST).replace("2.0.0", "1.0.0");
    let answer = install(&gw, file(guests::SWAP_V2_WASM), &manifest);
    assert_error(&answer, 409, "CONFLICT");

    assert_eq!(colour_of(&gw), RED, "v1 still serves");
    let plugin = gw.get("/admin/v1/plugins/swap").json();
    assert_eq!(plugin["active"], "1.0.0");
    let versions: Vec<&str> = plugin["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["version"].as_str().unwrap())
        .collect();
    assert_eq!(versions, ["1.0.0"], "refused versions are not kept");
}

#[test]
fn rollback_retire_with_a_task_in_flight_and_restart_from_the_cache() {
    let mut gw = Gateway::start();
    v1(&gw);
    v2(&gw);
    assert_eq!(colour_of(&gw), BLUE);
    let back = gw.post("/admin/v1/plugins/swap/rollback", &json!({}));
    assert_eq!(back.status, 200, "{}", String::from_utf8_lossy(&back.body));
    assert_eq!(back.json()["active"], "1.0.0");
    assert_eq!(colour_of(&gw), RED);

    // A job in flight when the plugin retires still finishes.
    let submitted = gw.post(
        "/v1/images/generate",
        &json!({"model": "test/swap-job", "prompt": "last job", "size": "8x8"}),
    );
    assert_eq!(submitted.status, 202);
    let task_id = submitted.json()["task_id"].as_str().unwrap().to_string();
    let retired = gw.post("/admin/v1/plugins/swap/retire", &json!({}));
    assert_eq!(
        retired.status,
        200,
        "{}",
        String::from_utf8_lossy(&retired.body)
    );
    assert_eq!(
        retired.json()["retired"],
        json!(["test/swap", "test/swap-job"])
    );
    let refused = gw.post(
        "/v1/images/generations",
        &json!({"model": "test/swap", "prompt": "x", "size": "8x8"}),
    );
    let error = assert_error(&refused, 404, "MODEL_NOT_FOUND");
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("was retired on"),
        "{error}"
    );
    let model = gw.get("/v1/models/test/swap").json();
    assert_eq!(model["status"], "retired");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let task = gw.get(&format!("/v1/tasks/{task_id}")).json();
        if task["status"] == "succeeded" {
            break;
        }
        assert_ne!(task["status"], "failed", "{task}");
        assert!(Instant::now() < deadline, "{task}");
        std::thread::sleep(Duration::from_millis(100));
    }

    // Retired across a restart; activated again, the version survives the
    // next restart and loads from the compile cache.
    gw.restart();
    let refused = gw.post(
        "/v1/images/generations",
        &json!({"model": "test/swap", "prompt": "x", "size": "8x8"}),
    );
    assert_error(&refused, 404, "MODEL_NOT_FOUND");
    activate(&gw, "2.0.0");
    gw.restart();
    assert_eq!(colour_of(&gw), BLUE);
    let plugin = gw.get("/admin/v1/plugins/swap").json();
    assert_eq!(plugin["active"], "2.0.0");
    assert_eq!(plugin["from_cache"], true, "{plugin}");
}

#[test]
fn the_changelog_announces_launches_retirements_prices_and_policy_updates() {
    let gw = Gateway::start_with_config(&format!(
        "[[plugins]]\nwasm = \"{}\"\nmanifest = \"{}\"\n",
        guests::POLICY_GUEST_WASM,
        guests::POLICY_GUEST_MANIFEST
    ));
    v1(&gw);
    let price = gw.post(
        "/admin/v1/prices",
        &json!({"model": "test/swap", "per_image": 3}),
    );
    assert!(
        price.status < 300,
        "{}",
        String::from_utf8_lossy(&price.body)
    );
    // A new version of the policy takes over for the next request.
    let manifest = text(guests::POLICY_GUEST_MANIFEST).replace("0.1.0", "0.2.0");
    let updated = install_ok(&gw, file(guests::POLICY_GUEST_WASM), &manifest);
    assert_eq!(updated["active"], "0.2.0");
    let denied = gw.post(
        "/v1/images/generations",
        &json!({"prompt": "request-policy-deny", "size": "64x64"}),
    );
    assert_error(&denied, 400, "CONTENT_POLICY_VIOLATION");
    let flags = gw.get("/admin/v1/flags?action=deny").json();
    assert_eq!(flags["data"][0]["policy"], "test-policy@0.2.0");

    // Retirement scheduled two seconds ahead: announced now, effective then.
    let at = time_in(2);
    let scheduled = gw.post("/admin/v1/plugins/swap/retire", &json!({ "at": at }));
    assert_eq!(
        scheduled.status,
        200,
        "{}",
        String::from_utf8_lossy(&scheduled.body)
    );
    let model = gw.get("/v1/models/test/swap").json();
    assert_eq!(model["status"], "active");
    assert_eq!(model["retires_at"], at.as_str());

    let changelog = gw.get("/v1/changelog?limit=200").json();
    let entries = changelog["data"].as_array().unwrap();
    let has = |kind: &str, model: Option<&str>| {
        entries
            .iter()
            .any(|e| e["type"] == kind && model.is_none_or(|m| e["model"] == m))
    };
    assert!(has("model_launched", Some("test/swap")), "{entries:?}");
    assert!(has("price_changed", Some("test/swap")), "{entries:?}");
    assert!(has("policy_updated", None), "{entries:?}");
    let retirement = entries
        .iter()
        .find(|e| e["type"] == "model_retired" && e["model"] == "test/swap")
        .expect("announced in advance");
    assert_eq!(retirement["effective_at"], at.as_str());

    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        if gw.get("/v1/models/test/swap").json()["status"] == "retired" {
            break;
        }
        assert!(Instant::now() < deadline, "the retirement did not happen");
        std::thread::sleep(Duration::from_millis(100));
    }
    let audit = gw.get("/admin/v1/audit?action=policy.updated").json();
    assert_eq!(audit["data"].as_array().unwrap().len(), 1, "{audit}");
}

#[test]
fn a_watched_directory_installs_new_versions() {
    let watch = tempfile::tempdir().unwrap();
    let gw = Gateway::start_with_config(&format!(
        "[rollout]\nwatch_dir = \"{}\"\nwatch_interval_ms = 100\n",
        watch.path().display()
    ));
    let drop_in = |wasm: &str, manifest: &str| {
        std::fs::write(watch.path().join("swap.wasm"), file(wasm)).unwrap();
        std::fs::write(watch.path().join("swap.toml"), text(manifest)).unwrap();
    };
    drop_in(guests::SWAP_V1_WASM, guests::SWAP_V1_MANIFEST);
    wait_for_colour(&gw, RED);
    drop_in(guests::SWAP_V2_WASM, guests::SWAP_V2_MANIFEST);
    wait_for_colour(&gw, BLUE);
}

fn wait_for_colour(gw: &Gateway, colour: [u8; 3]) {
    let client = reqwest::blocking::Client::new();
    let deadline = Instant::now() + Duration::from_secs(15);
    while draw(&client, &gw.base).1 != Some(colour) {
        assert!(Instant::now() < deadline, "not installed in time");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// RFC 3339 UTC, `secs` from now, second precision.
fn time_in(secs: i64) -> String {
    let t = time::OffsetDateTime::now_utc() + time::Duration::seconds(secs);
    t.replace_nanosecond(0)
        .unwrap()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap()
}

#[test]
fn versions_differing_only_in_the_patch_number_are_kept_apart() {
    let gw = Gateway::start();
    v1(&gw);
    // Version 1.0.1 is the blue build; 1.0.0 the red one.
    let manifest = text(guests::SWAP_V2_MANIFEST).replace("2.0.0", "1.0.1");
    install_ok(&gw, file(guests::SWAP_V2_WASM), &manifest);
    assert_eq!(colour_of(&gw), BLUE);
    activate(&gw, "1.0.0");
    assert_eq!(colour_of(&gw), RED, "1.0.0's own bytes, not 1.0.1's");
    activate(&gw, "1.0.1");
    assert_eq!(colour_of(&gw), BLUE);
}

#[test]
fn swaps_through_one_replica_reach_every_replica_within_two_seconds_and_fail_no_request() {
    // Two replicas on one PostgreSQL database, each with its own data
    // directory: versions installed through A are fetched by B from the
    // database.
    let db = Arc::new(imini_tests::pg::Database::create());
    let a = Gateway::start_on_database("", db.clone(), &[]);
    let b = Gateway::start_on_database("", db, &[]);
    v1(&a);
    v2(&a);
    // Until B has followed the first install, it does not know the model
    // at all (404).
    let deadline = Instant::now() + Duration::from_secs(2);
    let client = reqwest::blocking::Client::new();
    while draw(&client, &b.base).1 != Some(BLUE) {
        assert!(
            Instant::now() < deadline,
            "B serves the versions A installed"
        );
        std::thread::sleep(Duration::from_millis(20));
    }

    let stop = Arc::new(AtomicBool::new(false));
    let statuses: Arc<Mutex<Vec<u16>>> = Arc::default();
    let load: Vec<_> = [a.base.clone(), b.base.clone()]
        .into_iter()
        .map(|base| {
            let (stop, statuses) = (stop.clone(), statuses.clone());
            std::thread::spawn(move || {
                let client = reqwest::blocking::Client::new();
                while !stop.load(Ordering::Relaxed) {
                    let (status, _) = draw(&client, &base);
                    statuses.lock().unwrap().push(status);
                }
            })
        })
        .collect();
    let client = reqwest::blocking::Client::new();
    let mut slowest = Duration::ZERO;
    for i in 0..10 {
        let (version, colour) = if i % 2 == 0 {
            ("1.0.0", RED)
        } else {
            ("2.0.0", BLUE)
        };
        assert_eq!(activate(&a, version)["active"], version);
        let answered = Instant::now();
        // B serves it within 2 s of the swap returning.
        loop {
            let (status, seen) = draw(&client, &b.base);
            assert_eq!(status, 200);
            if seen == Some(colour) {
                break;
            }
            assert!(
                answered.elapsed() < Duration::from_secs(2),
                "B still serves the old version of swap {i}"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        slowest = slowest.max(answered.elapsed());
        let version_on_b = b.get("/admin/v1/plugins/swap").json();
        assert_eq!(version_on_b["version"], version);
    }
    stop.store(true, Ordering::Relaxed);
    for t in load {
        t.join().unwrap();
    }
    let statuses = statuses.lock().unwrap();
    assert!(
        statuses.len() >= 20,
        "load ran: {} requests",
        statuses.len()
    );
    let failed = statuses.iter().filter(|s| **s != 200).count();
    assert_eq!(failed, 0, "{failed} of {} requests failed", statuses.len());
    eprintln!("B served each swap at most {slowest:?} after A answered");
}

#[test]
fn a_retirement_scheduled_through_a_replica_that_dies_is_carried_out_once_by_another() {
    // Short leases, so that the job's lead moves within seconds.
    let config = "[replicas]\nlease_secs = 2\n";
    let db = Arc::new(imini_tests::pg::Database::create());
    let mut a = Gateway::start_on_database(config, db.clone(), &[]);
    let b = Gateway::start_on_database(config, db.clone(), &[]);
    let c = Gateway::start_on_database(config, db, &[]);
    v1(&a);
    wait_for_colour(&b, RED);
    let at = time_in(3);
    let scheduled = a.post("/admin/v1/plugins/swap/retire", &json!({ "at": at }));
    assert_eq!(
        scheduled.status,
        200,
        "{}",
        String::from_utf8_lossy(&scheduled.body)
    );
    // A dies before the time comes; B and C carry the retirement out.
    a.kill();
    let deadline = Instant::now() + Duration::from_secs(20);
    for gw in [&b, &c] {
        while gw.get("/v1/models/test/swap").json()["status"] != "retired" {
            assert!(Instant::now() < deadline, "the retirement did not happen");
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    // Exactly once: one audit entry and one record of it.
    std::thread::sleep(Duration::from_secs(3));
    let audit = b.get("/admin/v1/audit?action=plugin.retired").json();
    assert_eq!(audit["data"].as_array().unwrap().len(), 1, "{audit}");
    let record = c.get("/admin/v1/plugins/swap").json();
    assert!(
        record["active"].is_null() && record["retired_at"].is_string(),
        "{record}"
    );
}

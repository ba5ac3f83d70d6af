//! Content moderation with the test policy guest: failing policies fail
//! closed, refusals strike keys then accounts, notices and appeals follow
//! their deadline, every step is in the audit log, and flagged interactions
//! outlive retention.

use std::time::{Duration, Instant};

use imini_tests::{Gateway, TestAccount, assert_error, guests};
use serde_json::{Value, json};

/// A gateway whose only policy is the misbehaving test guest, with a short
/// policy deadline, plus `extra` lines in `[moderation]` and `rest` after it.
fn with_test_policy(extra: &str, rest: &str) -> Gateway {
    Gateway::start_with_config(&format!(
        r#"
[[plugins]]
wasm = "{wasm}"
manifest = "{manifest}"

[plugin_settings.test-policy]
call_timeout_ms = 300

[moderation]
policies = ["test-policy"]
{extra}

{rest}
"#,
        wasm = guests::POLICY_GUEST_WASM,
        manifest = guests::POLICY_GUEST_MANIFEST,
    ))
}

fn generate(gw: &Gateway, key: &str, prompt: &str) -> imini_tests::Answer {
    gw.request_with(
        "POST",
        "/v1/images/generations",
        Some(key),
        Some(&json!({"prompt": prompt, "size": "64x64", "response_format": "url"})),
    )
}

fn balance(gw: &Gateway, account: &TestAccount) -> i64 {
    gw.account_view(&account.id)["credit_balance"]
        .as_i64()
        .unwrap()
}

fn list(gw: &Gateway, path: &str) -> Vec<Value> {
    let answer = gw.get(path);
    assert_eq!(
        answer.status,
        200,
        "{path}: {}",
        String::from_utf8_lossy(&answer.body)
    );
    answer.json()["data"].as_array().unwrap().clone()
}

fn actions(entries: &[Value]) -> Vec<String> {
    entries
        .iter()
        .rev()
        .map(|e| e["action"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn a_policy_that_traps_loops_or_errs_refuses_the_request_and_the_gateway_keeps_serving() {
    let gw = with_test_policy("", "");
    let acct = gw.account("closed@example.com", 100);

    // A looping policy runs into its 300 ms deadline; meanwhile others are served.
    let looping = {
        let base_gw = &gw;
        std::thread::scope(|s| {
            let handle = s.spawn(|| {
                let started = Instant::now();
                let answer = generate(base_gw, &acct.key, "a cat request-policy-loop");
                (answer, started.elapsed())
            });
            std::thread::sleep(Duration::from_millis(50));
            let ok = generate(base_gw, &acct.key, "a quiet harbour at dawn");
            assert_eq!(ok.status, 200, "{}", String::from_utf8_lossy(&ok.body));
            handle.join().unwrap()
        })
    };
    let (answer, took) = looping;
    let error = assert_error(&answer, 503, "MODEL_UNAVAILABLE");
    assert!(
        error["message"].as_str().unwrap().contains("moderation"),
        "{error}"
    );
    assert!(took < Duration::from_secs(10), "bounded by the deadline");

    for prompt in ["a cat request-policy-trap", "a cat request-policy-error"] {
        let answer = generate(&gw, &acct.key, prompt);
        assert_error(&answer, 503, "MODEL_UNAVAILABLE");
    }
    assert_eq!(balance(&gw, &acct), 90, "only the served image is charged");

    let failures = list(&gw, "/admin/v1/flags?action=error");
    assert_eq!(failures.len(), 3, "{failures:?}");
    for f in &failures {
        assert_eq!(f["policy"], "test-policy@0.1.0");
        assert_eq!(f["stage"], "request");
        assert_eq!(f["account_id"], acct.id.as_str());
    }
    let reasons: Vec<&str> = failures
        .iter()
        .map(|f| f["reason"].as_str().unwrap())
        .collect();
    assert!(
        reasons.iter().any(|r| r.contains("deadline")),
        "{reasons:?}"
    );
    assert!(reasons.iter().any(|r| r.contains("trap")), "{reasons:?}");
    // A broken policy is not the caller's fault: no strike.
    assert!(
        list(
            &gw,
            &format!("/admin/v1/audit?account_id={}&action=strike", acct.id)
        )
        .is_empty()
    );

    // A policy failing on the outputs: they are discarded, nothing charged.
    let answer = generate(&gw, &acct.key, "a dog output-policy-trap");
    let error = assert_error(&answer, 503, "MODEL_UNAVAILABLE");
    let task_id = error["task_id"].as_str().unwrap();
    let task = gw
        .request_with(
            "GET",
            &format!("/v1/tasks/{task_id}"),
            Some(&acct.key),
            None,
        )
        .json();
    assert_eq!(task["status"], "failed");
    assert!(
        task["images"].as_array().is_none_or(|a| a.is_empty()),
        "{task}"
    );
    assert_eq!(balance(&gw, &acct), 90);
    assert!(generate(&gw, &acct.key, "still serving").status == 200);
}

#[test]
fn refusals_strike_the_key_then_the_account_and_appeals_follow_their_deadline() {
    let mut gw = with_test_policy("key_strikes = 2\naccount_strikes = 3", "");
    let acct = gw.account("striker@example.com", 100);
    let second = gw.post(
        &format!("/admin/v1/accounts/{}/keys", acct.id),
        &json!({"name": "second"}),
    );
    let second = second.json();
    let key2 = second["secret"].as_str().unwrap().to_string();

    // Two refusals on the first key suspend it.
    let mut refused_ids = Vec::new();
    for _ in 0..2 {
        let answer = generate(&gw, &acct.key, "a cat request-policy-deny");
        let error = assert_error(&answer, 400, "CONTENT_POLICY_VIOLATION");
        assert_eq!(error["category"], "test");
        assert_eq!(error["type"], "content_policy_violation");
        assert!(
            !error["message"]
                .as_str()
                .unwrap()
                .contains("asked to be denied"),
            "the policy's grounds are not shown: {error}"
        );
        refused_ids.push(error["request_id"].as_str().unwrap().to_string());
    }
    let answer = generate(&gw, &acct.key, "a harmless kite");
    assert_error(&answer, 403, "PERMISSION_DENIED");
    assert_eq!(
        generate(&gw, &key2, "a harmless kite").status,
        200,
        "the other key still works"
    );

    // The suspended key can still read its notice.
    let notices = gw
        .request_with("GET", "/v1/account/notices", Some(&acct.key), None)
        .json()["data"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(notices.len(), 1, "{notices:?}");
    let key_notice = notices[0].clone();
    assert_eq!(key_notice["action"], "key_suspended");
    assert_eq!(key_notice["key_id"], acct.key_id.as_str());
    assert_eq!(key_notice["appealable"], true);
    let evidence: Vec<&str> = key_notice["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["request_id"].as_str().unwrap())
        .collect();
    assert_eq!(
        evidence,
        refused_ids.iter().map(String::as_str).collect::<Vec<_>>()
    );

    // A third refusal, on the other key, suspends the account.
    let answer = generate(&gw, &key2, "a cat request-policy-deny");
    assert_error(&answer, 400, "CONTENT_POLICY_VIOLATION");
    assert_error(
        &generate(&gw, &key2, "a harmless kite"),
        403,
        "ACCOUNT_SUSPENDED",
    );
    assert_eq!(balance(&gw, &acct), 90, "refusals are never charged");

    // The audit log shows each step, with the evidence.
    let audit = list(&gw, &format!("/admin/v1/audit?account_id={}", acct.id));
    let steps: Vec<String> = actions(&audit)
        .into_iter()
        .filter(|a| !a.starts_with("POST /admin"))
        .collect();
    assert_eq!(
        steps,
        [
            "strike",
            "strike",
            "key.suspended",
            "strike",
            "account.suspended"
        ]
    );
    let account_step = audit
        .iter()
        .find(|e| e["action"] == "account.suspended")
        .unwrap();
    assert_eq!(account_step["actor"], "system");
    assert_eq!(account_step["evidence"].as_array().unwrap().len(), 3);
    assert_eq!(account_step["evidence"][0]["policy"], "test-policy@0.1.0");
    assert_eq!(account_step["evidence"][0]["category"], "test");

    // Six days later the account appeals its suspension; an operator reinstates it.
    gw.restart_with_env("IMINI_TEST_CLOCK_OFFSET_SECS", &(6 * 86_400).to_string());
    let notices = gw
        .request_with("GET", "/v1/account/notices", Some(&key2), None)
        .json()["data"]
        .as_array()
        .unwrap()
        .clone();
    let account_notice = notices
        .iter()
        .find(|n| n["action"] == "account_suspended")
        .unwrap();
    let appeal = gw.request_with(
        "POST",
        "/v1/account/appeals",
        Some(&key2),
        Some(&json!({"notice_id": account_notice["id"], "message": "It was a test of our own moderation."})),
    );
    assert_eq!(
        appeal.status,
        201,
        "{}",
        String::from_utf8_lossy(&appeal.body)
    );
    let appeal_id = appeal.json()["id"].as_str().unwrap().to_string();
    let again = gw.request_with(
        "POST",
        "/v1/account/appeals",
        Some(&key2),
        Some(&json!({"notice_id": account_notice["id"], "message": "again"})),
    );
    assert_error(&again, 409, "CONFLICT");
    let pending = list(&gw, "/admin/v1/appeals?status=pending");
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0]["id"], appeal_id.as_str());
    let decided = gw.post(
        &format!("/admin/v1/appeals/{appeal_id}/reinstate"),
        &json!({"note": "agreed"}),
    );
    assert_eq!(
        decided.status,
        200,
        "{}",
        String::from_utf8_lossy(&decided.body)
    );
    assert_eq!(decided.json()["status"], "reinstated");
    assert_eq!(gw.account_view(&acct.id)["status"], "active");
    assert_eq!(generate(&gw, &key2, "a harmless kite").status, 200);
    assert_error(
        &generate(&gw, &acct.key, "a harmless kite"),
        403,
        "PERMISSION_DENIED",
    );

    // Eight days after the key's suspension, its notice is final.
    gw.restart_with_env("IMINI_TEST_CLOCK_OFFSET_SECS", &(8 * 86_400).to_string());
    let late = gw.request_with(
        "POST",
        "/v1/account/appeals",
        Some(&acct.key),
        Some(&json!({"notice_id": key_notice["id"], "message": "please"})),
    );
    let error = assert_error(&late, 400, "INVALID_PARAMETER");
    assert!(
        error["message"].as_str().unwrap().contains("final"),
        "{error}"
    );
    let notices = gw
        .request_with("GET", "/v1/account/notices", Some(&acct.key), None)
        .json()["data"]
        .as_array()
        .unwrap()
        .clone();
    let key_notice = notices
        .iter()
        .find(|n| n["action"] == "key_suspended")
        .unwrap();
    assert_eq!(key_notice["status"], "final");
    assert_eq!(key_notice["appealable"], false);

    let audit = list(&gw, &format!("/admin/v1/audit?account_id={}", acct.id));
    let steps = actions(&audit);
    assert!(
        steps.ends_with(&["appeal.submitted".into(), "appeal.reinstated".into()]),
        "{steps:?}"
    );
}

#[test]
fn operator_actions_are_in_the_audit_log_and_suspensions_notify_the_account() {
    let gw = with_test_policy("", "");
    let acct = gw.account("audited@example.com", 50);
    let suspended = gw.post(
        &format!("/admin/v1/keys/{}/suspend", acct.key_id),
        &json!({"reason": "suspicious traffic"}),
    );
    assert_eq!(suspended.status, 200);
    let freeze = gw.post(
        &format!("/admin/v1/accounts/{}/freeze", acct.id),
        &json!({}),
    );
    assert_eq!(freeze.status, 200);

    let audit = list(&gw, &format!("/admin/v1/audit?account_id={}", acct.id));
    let steps = actions(&audit);
    assert_eq!(
        steps,
        [
            "POST /admin/v1/accounts",
            "POST /admin/v1/accounts/{account_id}/{action}",
            "POST /admin/v1/accounts/{account_id}/{action}",
            "key.suspended",
            "account.credits_frozen",
        ],
        "creation, top-up, key creation, then the two enforcement actions"
    );
    let topup = &audit[audit.len() - 2];
    assert_eq!(topup["actor"], "admin");
    assert_eq!(topup["details"]["body"]["credits"], 50);
    // Reads are not recorded; nothing can be removed.
    assert_eq!(
        gw.request(
            "DELETE",
            &format!("/admin/v1/audit/{}", audit[0]["id"].as_str().unwrap()),
            None
        )
        .status,
        404
    );

    let notices = gw
        .request_with("GET", "/v1/account/notices", Some(&acct.key), None)
        .json()["data"]
        .as_array()
        .unwrap()
        .clone();
    let reasons: Vec<&str> = notices
        .iter()
        .map(|n| n["reason"].as_str().unwrap())
        .collect();
    assert_eq!(
        reasons,
        ["by decision of the operator", "suspicious traffic"]
    );
    assert!(notices.iter().all(|n| n["by"] == "admin"));
}

#[test]
fn a_flagged_request_is_served_recorded_and_kept_past_retention() {
    // 0.00002 days is about 1.7 seconds.
    let gw = with_test_policy("", "[retention]\ndays = 0.00002\n");
    let acct = gw.account("flagged@example.com", 100);
    let flagged = generate(&gw, &acct.key, "a lake request-policy-flag");
    assert_eq!(flagged.status, 200, "flags do not refuse");
    let flagged_task = flagged.json()["id"].as_str().unwrap().to_string();
    let plain = generate(&gw, &acct.key, "a lake at noon");
    let plain_task = plain.json()["id"].as_str().unwrap().to_string();
    assert_eq!(balance(&gw, &acct), 80);

    let flags = list(&gw, "/admin/v1/flags?action=flag");
    assert_eq!(flags.len(), 1);
    assert_eq!(
        flags[0]["interaction"]["prompt"],
        "a lake request-policy-flag"
    );
    assert_eq!(flags[0]["category"], "test");

    let task = |id: &str| {
        gw.request_with("GET", &format!("/v1/tasks/{id}"), Some(&acct.key), None)
            .json()
    };
    wait_until_long("the plain task is purged", || {
        task(&plain_task)["purged"] == true
    });
    let kept = task(&flagged_task);
    assert_eq!(kept["purged"], false, "{kept}");
    let url = kept["images"][0]["url"].as_str().unwrap();
    assert_eq!(
        gw.request_with("GET", url, Some(&acct.key), None).status,
        200
    );
}

/// Waits up to 15 s.
fn wait_until_long(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(15);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

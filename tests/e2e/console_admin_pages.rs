//! The operators' pages for plugins, prices and moderation, in a real
//! headless Chromium against the real binary: an operator schedules a
//! price, uploads plugin versions and rolls back; staff read flagged
//! requests with their evidence and decide appeals; support cannot change
//! prices or plugins, and a user is refused the pages. Each step is checked
//! where a person would check it: the page, the admin API, the changelog
//! and the audit log. Screenshots go to `target/console-screenshots/`.

use std::path::Path;

use imini_tests::browser::Browser;

use crate::console_user::fits_a_phone;
use imini_tests::{Gateway, guests};
use serde_json::{Value, json};

const PASSWORD: &str = "a long enough passphrase";

fn text_of(browser: &Browser, css: &str) -> String {
    browser.text(css).trim().to_string()
}

/// Invites `email` with `role` through the admin API, accepts in `browser`
/// and logs in; answers the person's `user_…` login id, as their own
/// account's page lists it.
fn join_as(browser: &Browser, gw: &Gateway, email: &str, role: &str) -> String {
    crate::console_operator::join_as(browser, gw, email, role);
    crate::console_operator::login_id_of(browser, gw, email, role)
}

/// The entries of the audit log whose action starts with `action`.
fn audit(gw: &Gateway, action: &str) -> Vec<Value> {
    let answer = gw.get(&format!("/admin/v1/audit?action={action}"));
    assert_eq!(answer.status, 200);
    answer.json()["data"].as_array().unwrap().clone()
}

/// The changelog's price changes.
fn price_changes(gw: &Gateway) -> Vec<Value> {
    let log = gw.get("/v1/changelog").json();
    log["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"] == "price_changed")
        .cloned()
        .collect()
}

/// The plugin `name` as the admin API shows it.
fn plugin(gw: &Gateway, name: &str) -> Value {
    let answer = gw.get(&format!("/admin/v1/plugins/{name}"));
    assert_eq!(answer.status, 200);
    answer.json()
}

/// The file at `path`.
fn file(path: &str) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// A form posted with `browser`'s session and CSRF token but outside it
/// (what a person could send whatever the page shows them).
fn post_as(browser: &Browser, gw: &Gateway, path: &str, fields: &[(&str, &str)]) -> u16 {
    let csrf = browser
        .attribute("header form input[name=csrf]", "value")
        .expect("the session's token");
    let session = browser.cookie("imini_session").expect("the session cookie");
    let mut form = vec![("csrf", csrf.as_str())];
    form.extend_from_slice(fields);
    reqwest::blocking::Client::new()
        .post(format!("{}{path}", gw.base))
        .header("cookie", format!("imini_session={session}"))
        .form(&form)
        .send()
        .unwrap()
        .status()
        .as_u16()
}

#[test]
fn an_operator_schedules_a_price_on_the_prices_page_and_the_changelog_announces_it() {
    let gw = Gateway::start_with_config("[prices.\"imini/canvas-image\"]\nper_image = 12\n");
    let operator = Browser::start();
    let operator_id = join_as(&operator, &gw, "grace@example.com", "operator");
    operator.goto(&format!("{}/console", gw.base));
    operator.click("a[href='/console/admin/prices']");
    let row = "#price-imini-canvas-image";
    assert_eq!(
        text_of(&operator, &format!("{row} .now")),
        "12 credits per image"
    );
    assert_eq!(
        text_of(&operator, &format!("{row} .scheduled")),
        "nothing scheduled"
    );

    // Bad input is refused next to its field, in words, and changes
    // nothing.
    operator.select("#model", "imini/canvas-image");
    operator.fill("#per_image", "lots");
    operator.fill("#effective_at", "next tuesday");
    operator.submit("#schedule button");
    assert!(text_of(&operator, "#per_image-error").contains("whole number"));
    assert!(
        text_of(&operator, "#effective_at-error").contains("like 2026-12-31 09:00"),
        "{}",
        operator.source()
    );
    assert_eq!(
        operator.attribute("#per_image", "aria-invalid").as_deref(),
        Some("true")
    );
    operator.fill("#per_image", "-3");
    operator.fill("#effective_at", "2099-01-01 00:00");
    operator.submit("#schedule button");
    assert_eq!(
        text_of(&operator, "#per_image-error"),
        "A price cannot be negative."
    );
    operator.fill("#per_image", "");
    operator.submit("#schedule button");
    assert!(text_of(&operator, "#per_image-error").contains("price per image"));
    assert!(price_changes(&gw).is_empty(), "nothing was scheduled");
    operator.screenshot("operator-prices-refused");

    // A price from a date: shown as scheduled, the one in force unchanged.
    operator.fill("#per_image", "50");
    operator.fill("#effective_at", "2099-01-01 00:00");
    operator.submit("#schedule button");
    assert_eq!(
        text_of(&operator, "#notice"),
        "The new price of imini/canvas-image is scheduled."
    );
    assert_eq!(
        text_of(&operator, &format!("{row} .scheduled")),
        "from 2099-01-01T00:00:00Z: 50 credits per image"
    );
    assert_eq!(
        text_of(&operator, &format!("{row} .now")),
        "12 credits per image"
    );
    operator.screenshot("operator-prices");
    fits_a_phone(&operator, "operator-prices-phone");

    // The changelog announces it; the price in force is still the old one.
    let changes = price_changes(&gw);
    assert_eq!(changes.len(), 1, "{changes:?}");
    assert_eq!(changes[0]["model"], "imini/canvas-image");
    assert_eq!(changes[0]["effective_at"], "2099-01-01T00:00:00Z");
    assert_eq!(changes[0]["details"]["per_image"], 50);
    let model = gw.get("/v1/models/imini/canvas-image").json();
    assert_eq!(model["pricing"], json!([{"unit": "image", "credits": 12}]));
    // The audit log names the operator.
    let entries = audit(&gw, "price.scheduled");
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert_eq!(entries[0]["actor"], operator_id.as_str());
}

#[test]
fn an_operator_uploads_plugin_versions_serves_one_and_rolls_back_on_the_pages() {
    let gw = Gateway::start();
    let operator = Browser::start();
    let operator_id = join_as(&operator, &gw, "grace@example.com", "operator");
    operator.goto(&format!("{}/console", gw.base));
    operator.click("a[href='/console/admin/plugins']");
    assert!(
        text_of(&operator, "#plugins").contains("canvas"),
        "the bundled plugins are listed"
    );

    // An upload without its files is refused at the form.
    operator.submit("#upload button");
    assert!(text_of(&operator, "#upload-error").contains("manifest"));

    // Version 1 from the list's form: installed and serving.
    operator.choose_file("#manifest", Path::new(guests::SWAP_V1_MANIFEST));
    operator.choose_file("#component", Path::new(guests::SWAP_V1_WASM));
    operator.submit("#upload button");
    assert_eq!(
        operator.current_url(),
        format!("{}/console/admin/plugins/swap?done=installed", gw.base)
    );
    assert_eq!(
        text_of(&operator, "#notice"),
        "Installed. Version 1.0.0 serves."
    );
    assert_eq!(plugin(&gw, "swap")["active"], "1.0.0");

    // Version 2 from the plugin's own form.
    operator.choose_file("#manifest", Path::new(guests::SWAP_V2_MANIFEST));
    operator.choose_file("#component", Path::new(guests::SWAP_V2_WASM));
    operator.submit("#upload button");
    assert_eq!(text_of(&operator, "#active"), "2.0.0");
    assert_eq!(plugin(&gw, "swap")["active"], "2.0.0");
    assert!(text_of(&operator, "tr[id='version-2.0.0']").contains("serving"));
    operator.screenshot("operator-plugin");

    // Rolled back, version 1 serves again.
    operator.submit("#rollback button");
    assert_eq!(text_of(&operator, "#notice"), "Version 1.0.0 serves now.");
    assert_eq!(plugin(&gw, "swap")["active"], "1.0.0");
    // Version 2 is served again from its row.
    operator.submit("tr[id='version-2.0.0'] form.activate button");
    assert_eq!(text_of(&operator, "#notice"), "Version 2.0.0 serves now.");
    assert_eq!(plugin(&gw, "swap")["active"], "2.0.0");

    // A configuration that is not JSON is refused at its field; nothing
    // changes.
    operator.fill("#config-json", "{not json");
    operator.submit("#config button");
    assert!(text_of(&operator, "#config-error").contains("not JSON"));
    assert_eq!(plugin(&gw, "swap")["config"], Value::Null);
    assert_eq!(plugin(&gw, "swap")["active"], "2.0.0");
    fits_a_phone(&operator, "operator-plugin-phone");

    operator.click("a[href='/console/admin/plugins']");
    assert_eq!(text_of(&operator, "#plugin-swap .active"), "2.0.0");
    assert_eq!(text_of(&operator, "#plugin-swap .versions"), "1.0.0, 2.0.0");
    operator.screenshot("operator-plugins");
    fits_a_phone(&operator, "operator-plugins-phone");

    // Every step is in the audit log under the operator's login.
    let steps = audit(&gw, "plugin.");
    let mine: Vec<&str> = steps
        .iter()
        .filter(|e| e["details"]["plugin"] == "swap")
        .map(|e| {
            assert_eq!(e["actor"], operator_id.as_str(), "{e}");
            e["action"].as_str().unwrap()
        })
        .collect();
    for action in ["plugin.installed", "plugin.activated", "plugin.rolled_back"] {
        assert!(mine.contains(&action), "{action} in {mine:?}");
    }
}

/// A gateway whose only policy is the test guest (which flags or refuses
/// what the prompt asks), suspending a key at its first refusal.
fn with_test_policy() -> Gateway {
    Gateway::start_with_config(&format!(
        "[[plugins]]\nwasm = \"{}\"\nmanifest = \"{}\"\n\n[moderation]\npolicies = [\"test-policy\"]\nkey_strikes = 1\n",
        guests::POLICY_GUEST_WASM,
        guests::POLICY_GUEST_MANIFEST,
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

#[test]
fn staff_see_a_flagged_request_with_its_evidence_and_an_appeal_decided_on_the_page_is_decided() {
    let gw = with_test_policy();
    let acct = gw.account("kite@example.com", 100);
    // An output let through with a flag, then a refused request that
    // suspends the key.
    let flagged = generate(&gw, &acct.key, "a red kite output-policy-flag");
    assert_eq!(
        flagged.status,
        200,
        "{}",
        String::from_utf8_lossy(&flagged.body)
    );
    let refused = generate(&gw, &acct.key, "a kite request-policy-deny");
    assert_eq!(refused.status, 400);
    assert_eq!(generate(&gw, &acct.key, "a harmless kite").status, 403);
    let notices = gw
        .request_with("GET", "/v1/account/notices", Some(&acct.key), None)
        .json();
    let notice_id = notices["data"][0]["id"].as_str().unwrap().to_string();
    let appeal = gw.request_with(
        "POST",
        "/v1/account/appeals",
        Some(&acct.key),
        Some(&json!({"notice_id": notice_id, "message": "The kite was a toy."})),
    );
    assert_eq!(appeal.status, 201);
    let appeal_id = appeal.json()["id"].as_str().unwrap().to_string();

    // Support reads the flagged requests, filtered.
    let support = Browser::start();
    let support_id = join_as(&support, &gw, "sam@example.com", "support");
    support.goto(&format!("{}/console", gw.base));
    support.click("a[href='/console/admin/moderation']");
    let all = text_of(&support, "#flags");
    assert!(
        all.contains("a red kite") && all.contains("request-policy-deny"),
        "{all}"
    );
    support.screenshot("moderation-flags");
    fits_a_phone(&support, "moderation-flags-phone");
    support.select("#action", "flag");
    support.submit("form.search button");
    assert_eq!(support.find_all("#flags tbody tr").len(), 1);
    assert!(text_of(&support, "#flags td.what").starts_with("flag · output"));

    // The flag's page: the verdict, what was asked, and the output kept,
    // shown under the console's CSP.
    support.click("#flags tbody a");
    assert!(text_of(&support, "#action").starts_with("flagged for review"));
    assert_eq!(
        text_of(&support, "#prompt"),
        "a red kite output-policy-flag"
    );
    assert!(text_of(&support, "#reason").contains("asked to be flagged"));
    assert!(text_of(&support, "#checked").contains("image/png"));
    let shown = support.script(
        "const img = document.querySelector('#stored img'); \
         return img && img.complete ? img.naturalWidth : 0;",
    );
    assert!(
        shown.as_i64().unwrap_or(0) > 0,
        "the kept output loads: {shown}"
    );
    support.screenshot("moderation-flag");
    fits_a_phone(&support, "moderation-flag-phone");

    // The appeals queue shows the appeal with its notice's evidence.
    support.goto(&format!("{}/console/admin/moderation/appeals", gw.base));
    let card = text_of(&support, &format!("#{appeal_id}"));
    assert!(
        card.contains("The kite was a toy.") && card.contains("key suspended"),
        "{card}"
    );
    assert_eq!(
        support.find_all(&format!("#{appeal_id} .evidence a")).len(),
        1
    );
    support.screenshot("moderation-appeals");
    fits_a_phone(&support, "moderation-appeals-phone");
    // Support reinstates it (a decision moves no credits).
    support.fill(&format!("#{appeal_id}-reinstate-note"), "Sorry, a toy.");
    support.submit(&format!("#{appeal_id} form.reinstate button"));
    assert_eq!(
        text_of(&support, "#notice"),
        format!("Appeal {appeal_id} decided.")
    );
    assert!(support.find_all("#no-appeals").len() == 1, "none pending");

    // The admin API has it decided, the key works again, and the audit
    // log names support's login.
    let decided = gw.get("/admin/v1/appeals?status=reinstated").json();
    assert_eq!(decided["data"][0]["id"], appeal_id.as_str());
    assert_eq!(decided["data"][0]["note"], "Sorry, a toy.");
    assert_eq!(generate(&gw, &acct.key, "a harmless kite").status, 200);
    let entries = audit(&gw, "appeal.reinstated");
    assert_eq!(entries[0]["actor"], support_id.as_str());
    assert_eq!(
        gw.account_view(&acct.id)["credit_balance"],
        80,
        "the two images served were charged, the refusals not; the decision moved no credits"
    );

    // Deciding it again is refused at the appeal, in words.
    let again = post_as(
        &support,
        &gw,
        &format!("/console/admin/moderation/appeals/{appeal_id}/uphold"),
        &[("note", "")],
    );
    assert_eq!(again, 409);
}

#[test]
fn support_cannot_schedule_a_price_or_change_a_plugin_and_a_user_is_refused_the_pages() {
    let gw = Gateway::start_with_config(
        "[accounts]\nsignup = \"open\"\n\n[prices.\"imini/canvas-image\"]\nper_image = 12\n",
    );
    for (wasm, manifest) in [
        (guests::SWAP_V1_WASM, guests::SWAP_V1_MANIFEST),
        (guests::SWAP_V2_WASM, guests::SWAP_V2_MANIFEST),
    ] {
        let manifest = String::from_utf8(file(manifest)).unwrap();
        assert_eq!(gw.install_plugin(file(wasm), &manifest).status, 201);
    }

    let support = Browser::start();
    join_as(&support, &gw, "sam@example.com", "support");
    support.goto(&format!("{}/console/admin/prices", gw.base));
    assert!(support.find_all("#read-only").len() == 1);
    assert!(support.find_all("form#schedule").is_empty());
    assert_eq!(
        text_of(&support, "#price-imini-canvas-image .now"),
        "12 credits per image"
    );
    support.screenshot("support-prices");
    // Posted anyway, with support's valid session and token: refused, and
    // nothing scheduled.
    let status = post_as(
        &support,
        &gw,
        "/console/admin/prices",
        &[("model", "imini/canvas-image"), ("per_image", "1")],
    );
    assert_eq!(status, 403);
    assert!(price_changes(&gw).is_empty());

    support.goto(&format!("{}/console/admin/plugins/swap", gw.base));
    assert_eq!(text_of(&support, "#active"), "2.0.0");
    assert!(
        support
            .find_all("form[action^='/console/admin/plugins']")
            .is_empty(),
        "no step or upload forms for support"
    );
    support.screenshot("support-plugin");
    for (step, fields) in [
        ("rollback", vec![]),
        ("activate", vec![("version", "1.0.0")]),
        ("retire", vec![("at", "")]),
        ("config", vec![("config", "{}")]),
    ] {
        let status = post_as(
            &support,
            &gw,
            &format!("/console/admin/plugins/swap/{step}"),
            &fields,
        );
        assert_eq!(status, 403, "{step}");
    }
    // An upload posted anyway is refused too.
    let csrf = support
        .attribute("header form input[name=csrf]", "value")
        .unwrap();
    let session = support.cookie("imini_session").unwrap();
    let manifest = String::from_utf8(file(guests::SWAP_V1_MANIFEST))
        .unwrap()
        .replace("1.0.0", "3.0.0");
    let form = reqwest::blocking::multipart::Form::new()
        .text("csrf", csrf)
        .text("activate", "true")
        .part(
            "manifest",
            reqwest::blocking::multipart::Part::bytes(manifest.into_bytes())
                .file_name("imini-plugin.toml"),
        )
        .part(
            "component",
            reqwest::blocking::multipart::Part::bytes(file(guests::SWAP_V1_WASM))
                .file_name("swap.wasm"),
        );
    let upload = reqwest::blocking::Client::new()
        .post(format!("{}/console/admin/plugins", gw.base))
        .header("cookie", format!("imini_session={session}"))
        .multipart(form)
        .send()
        .unwrap();
    assert_eq!(upload.status(), 403);
    let swap = plugin(&gw, "swap");
    assert_eq!(swap["active"], "2.0.0", "nothing changed: {swap}");
    assert_eq!(swap["versions"].as_array().unwrap().len(), 2);
    assert_eq!(swap["status"], "serving");
    assert!(
        audit(&gw, "plugin.")
            .iter()
            .filter(|e| e["details"]["plugin"] == "swap")
            .all(|e| e["actor"] == "admin"),
        "only the admin key's installs"
    );

    // A user is refused every one of the pages, and a price posted.
    let user = Browser::start();
    user.sign_up_and_log_in(&gw, "ada@example.com", PASSWORD);
    assert!(
        user.find_all("a[href='/console/admin/prices']").is_empty(),
        "a user's navigation has no operators' pages"
    );
    user.goto(&format!("{}/console/admin/plugins", gw.base));
    assert_eq!(text_of(&user, "h1"), "Not allowed");
    let session = user.cookie("imini_session").unwrap();
    for page in [
        "/console/admin/plugins",
        "/console/admin/plugins/swap",
        "/console/admin/prices",
        "/console/admin/moderation",
        "/console/admin/moderation/appeals",
    ] {
        let answer = reqwest::blocking::Client::new()
            .get(format!("{}{page}", gw.base))
            .header("cookie", format!("imini_session={session}"))
            .send()
            .unwrap();
        assert_eq!(answer.status(), 403, "{page}");
    }
    user.goto(&format!("{}/console", gw.base));
    let status = post_as(
        &user,
        &gw,
        "/console/admin/prices",
        &[("model", "imini/canvas-image"), ("per_image", "1")],
    );
    assert_eq!(status, 403);
    assert!(price_changes(&gw).is_empty());
}

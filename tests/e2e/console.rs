//! The web console in a real headless Chromium (see `support/browser.rs`),
//! against the real binary. Screenshots of the pages go to
//! `target/console-screenshots/` for reviewers.

use imini_tests::Gateway;
use imini_tests::browser::Browser;

#[test]
fn a_logged_out_browser_reaches_only_the_login_page() {
    let gw = Gateway::start();
    let browser = Browser::start();
    for page in [
        "/console",
        "/console/tasks",
        "/console/no-such-page",
        "/console/keys?x=1",
    ] {
        browser.goto(&format!("{}{page}", gw.base));
        let url = browser.current_url();
        assert!(
            url.starts_with(&format!("{}/console/login?next=", gw.base)),
            "{page} led to {url}"
        );
    }
    // Labelled fields, usable by keyboard and on a phone's width.
    assert_eq!(browser.text("h1"), "Log in");
    for field in ["email", "password"] {
        assert_eq!(browser.find_all(&format!("label[for={field}]")).len(), 1);
        assert_eq!(browser.find_all(&format!("input#{field}")).len(), 1);
    }
    assert_eq!(
        browser.attribute("input[name=next]", "value").as_deref(),
        Some("/console/keys?x=1"),
        "back to the page asked for after logging in"
    );
    browser.screenshot("login");
    browser.resize(390, 844);
    let (page, window) = browser.widths();
    assert!(
        page <= window,
        "no sideways scrolling on a phone: {page} > {window}"
    );
    browser.screenshot("login-phone");
}

#[test]
fn console_pages_forbid_scripts_framing_and_caching() {
    let gw = Gateway::start();
    let answer = gw.request_with("GET", "/console/login", None, None);
    assert_eq!(answer.status, 200);
    let header = |name: &str| {
        answer
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    let csp = header("content-security-policy");
    for rule in [
        "default-src 'none'",
        "frame-ancestors 'none'",
        "form-action 'self'",
    ] {
        assert!(csp.contains(rule), "{csp}");
    }
    assert!(
        !csp.contains("script-src"),
        "no script is allowed yet: {csp}"
    );
    assert_eq!(header("cache-control"), "no-store");
    assert_eq!(header("x-content-type-options"), "nosniff");
    let cookie = header("set-cookie");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    let css = gw.request_with("GET", "/console/assets/console.css", None, None);
    assert_eq!(css.status, 200);
    assert!(String::from_utf8_lossy(&css.body).contains("@media"));
}

fn text_of(browser: &Browser, css: &str) -> String {
    browser.text(css).trim().to_string()
}

#[test]
fn a_person_signs_up_confirms_logs_in_and_sees_the_operators_changes() {
    let gw = Gateway::start_with_config("[accounts]\nsignup = \"open\"\n");
    let browser = Browser::start();
    let email = "ada@example.com";
    let password = "a long enough passphrase";

    browser.goto(&format!("{}/console/signup", gw.base));
    browser.screenshot("signup");
    // Errors are shown next to their field, in words.
    browser.fill("#email", email);
    browser.fill("#password", "short");
    browser.submit("button[type=submit]");
    assert!(
        text_of(&browser, "#password-error").contains("at least 10 characters"),
        "{}",
        browser.source()
    );
    assert_eq!(
        browser.attribute("#email", "value").as_deref(),
        Some(email),
        "what was typed is kept"
    );
    browser.fill("#password", password);
    browser.submit("button[type=submit]");
    assert_eq!(text_of(&browser, "h1"), "Check your email");

    // Not confirmed yet: the login is refused, saying why.
    browser.goto(&format!("{}/console/login", gw.base));
    browser.fill("#email", email);
    browser.fill("#password", password);
    browser.submit("button[type=submit]");
    assert!(text_of(&browser, "#form-error").contains("Confirm your email address"));

    browser.goto(&gw.emailed_link("/console/verify-email"));
    assert!(text_of(&browser, ".notice").contains("confirmed"));
    browser.fill("#email", email);
    browser.fill("#password", password);
    browser.submit("button[type=submit]");
    assert_eq!(browser.current_url(), format!("{}/console", gw.base));
    assert_eq!(text_of(&browser, "h1"), "Overview");
    assert_eq!(text_of(&browser, "#balance"), "0");
    let account_id = text_of(&browser, "#account-id");

    // An operator tops the account up and gives it a credit line: the
    // person sees both.
    let topup = gw.post(
        &format!("/admin/v1/accounts/{account_id}/topup"),
        &serde_json::json!({"credits": 120}),
    );
    assert_eq!(
        topup.status,
        200,
        "{}",
        String::from_utf8_lossy(&topup.body)
    );
    gw.post(
        &format!("/admin/v1/accounts/{account_id}/credit_line"),
        &serde_json::json!({"credit_line": 50}),
    );
    browser.goto(&format!("{}/console", gw.base));
    assert_eq!(text_of(&browser, "#balance"), "120");
    assert_eq!(text_of(&browser, "#credit-line"), "50");
    assert_eq!(text_of(&browser, "#available"), "170");
    browser.screenshot("overview");
    browser.resize(390, 844);
    let (page, window) = browser.widths();
    assert!(
        page <= window,
        "no sideways scrolling on a phone: {page} > {window}"
    );
    browser.screenshot("overview-phone");
    browser.resize(1280, 900);

    // Suspended, the person sees it; reinstated, the notice goes.
    gw.post(
        &format!("/admin/v1/accounts/{account_id}/suspend"),
        &serde_json::json!({"reason": "checking"}),
    );
    browser.goto(&format!("{}/console", gw.base));
    assert!(text_of(&browser, "[role=alert]").contains("suspended"));
    gw.post(
        &format!("/admin/v1/accounts/{account_id}/unsuspend"),
        &serde_json::json!({}),
    );
    browser.goto(&format!("{}/console", gw.base));
    assert!(browser.find_all("[role=alert]").is_empty());

    // Logged out, no page is reachable.
    browser.submit("header form button");
    assert!(
        browser
            .current_url()
            .starts_with(&format!("{}/console/login", gw.base))
    );
    browser.goto(&format!("{}/console", gw.base));
    assert!(
        browser
            .current_url()
            .starts_with(&format!("{}/console/login?next=", gw.base))
    );
}

#[test]
fn forged_forms_are_refused_and_the_sixth_wrong_password_in_a_minute_is_throttled() {
    let gw = Gateway::start_with_config("[accounts]\nsignup = \"open\"\n");
    // A form posted from another site has no token (and no cookie).
    let forged = reqwest::blocking::Client::new()
        .post(format!("{}/console/login", gw.base))
        .form(&[("email", "ada@example.com"), ("password", "whatever it is")])
        .send()
        .unwrap();
    assert_eq!(forged.status(), 403);
    assert!(forged.text().unwrap().contains("This form has expired"));

    let browser = Browser::start();
    browser.goto(&format!("{}/console/login", gw.base));
    for attempt in 1..=6 {
        browser.fill("#email", "nobody@example.com");
        browser.fill("#password", &format!("wrong password {attempt}"));
        browser.submit("button[type=submit]");
        let error = text_of(&browser, "#form-error");
        if attempt < 6 {
            assert!(error.contains("not right"), "attempt {attempt}: {error}");
        } else {
            assert!(
                error.contains("Too many attempts"),
                "attempt {attempt}: {error}"
            );
        }
    }
    browser.screenshot("login-throttled");
}

/// Fills and sends the login form the browser shows.
fn log_in(browser: &Browser, email: &str, password: &str) {
    browser.fill("#email", email);
    browser.fill("#password", password);
    browser.submit("button[type=submit]");
}

#[test]
fn a_person_ends_a_session_changes_and_resets_the_password_and_closes_the_account() {
    let gw = Gateway::start_with_config("[accounts]\nsignup = \"open\"\n");
    let email = "grace@example.com";
    let first = "first long passphrase";
    let laptop = Browser::start();
    let account_id = laptop.sign_up_and_log_in(&gw, email, first);

    // A second browser logs in: the settings list both sessions, and the
    // first ends the second, which is logged out at its next page.
    let phone = Browser::start();
    phone.goto(&format!("{}/console/login", gw.base));
    log_in(&phone, email, first);
    assert_eq!(text_of(&phone, "h1"), "Overview");
    laptop.goto(&format!("{}/console/settings", gw.base));
    assert_eq!(laptop.find_all("#sessions tbody tr").len(), 2);
    assert_eq!(laptop.find_all("#logins tbody tr").len(), 2);
    laptop.screenshot("settings");
    laptop.submit("#sessions form button");
    assert_eq!(laptop.find_all("#sessions tbody tr").len(), 1);
    assert!(text_of(&laptop, "#sessions").contains("This one"));
    phone.goto(&format!("{}/console", gw.base));
    assert!(
        phone
            .current_url()
            .starts_with(&format!("{}/console/login?next=", gw.base)),
        "the ended session still reached {}",
        phone.current_url()
    );

    // Changing the password needs the current one; the error is next to
    // its field.
    laptop.fill("#current_password", "not the password at all");
    laptop.fill("#password", "second long passphrase");
    laptop.submit("form[action='/console/settings/password'] button");
    assert!(
        text_of(&laptop, "#current_password-error").contains("not right"),
        "{}",
        laptop.source()
    );
    laptop.fill("#current_password", first);
    laptop.fill("#password", "second long passphrase");
    laptop.submit("form[action='/console/settings/password'] button");
    assert!(text_of(&laptop, "#notice").contains("password is changed"));

    // Forgotten: the emailed link sets a new one, after refusing a short
    // one next to its field, and every session ends.
    phone.goto(&format!("{}/console/login", gw.base));
    phone.click("a[href='/console/forgot-password']");
    phone.fill("#email", email);
    phone.submit("button[type=submit]");
    assert_eq!(text_of(&phone, "h1"), "Check your email");
    phone.goto(&gw.emailed_link("/console/reset-password"));
    phone.screenshot("reset-password");
    phone.fill("#password", "short");
    phone.submit("button[type=submit]");
    assert!(text_of(&phone, "#password-error").contains("at least 10 characters"));
    let third = "third long passphrase";
    phone.fill("#password", third);
    phone.submit("button[type=submit]");
    assert!(text_of(&phone, ".notice").contains("new password is set"));
    laptop.goto(&format!("{}/console/settings", gw.base));
    assert!(
        laptop
            .current_url()
            .starts_with(&format!("{}/console/login", gw.base)),
        "a reset ends every session"
    );
    log_in(&laptop, email, third);
    assert_eq!(
        laptop.current_url(),
        format!("{}/console/settings", gw.base)
    );

    // Closing: the page says what is forfeited; a wrong confirmation
    // closes nothing; the right one closes and forfeits the balance.
    gw.post(
        &format!("/admin/v1/accounts/{account_id}/topup"),
        &serde_json::json!({"credits": 30}),
    );
    laptop.goto(&format!("{}/console/settings", gw.base));
    assert!(text_of(&laptop, "#forfeit").contains("forfeits its unused balance of 30 credits"));
    // A cross-site post riding the session's cookie, without the form's
    // token, is refused and closes nothing.
    let session = laptop.cookie("imini_session").expect("the session cookie");
    let forged = reqwest::blocking::Client::new()
        .post(format!("{}/console/settings/close", gw.base))
        .header("cookie", format!("imini_session={session}"))
        .form(&[("confirm", account_id.as_str())])
        .send()
        .unwrap();
    assert_eq!(forged.status(), 403);
    let account = gw.get(&format!("/admin/v1/accounts/{account_id}"));
    assert_eq!(account.json()["status"], "active");
    laptop.fill("#confirm", "acct_wrong");
    laptop.submit("form[action='/console/settings/close'] button");
    assert!(text_of(&laptop, "#close-error").contains("Nothing was closed"));
    let account = gw.get(&format!("/admin/v1/accounts/{account_id}"));
    assert_eq!(account.json()["status"], "active");
    laptop.fill("#confirm", &account_id);
    laptop.submit("form[action='/console/settings/close'] button");
    assert!(text_of(&laptop, "#notice").contains("account is closed"));
    let account = gw.get(&format!("/admin/v1/accounts/{account_id}"));
    assert_eq!(account.json()["status"], "closed");
    assert_eq!(account.json()["credit_balance"], 0);
    let entries = gw.ledger(&account_id);
    let last = entries.last().unwrap();
    assert_eq!(
        (last["type"].as_str(), last["amount"].as_i64()),
        (Some("forfeit"), Some(-30))
    );
}

#[test]
fn billing_shows_the_usage_chart_statement_and_ledger_and_files_a_dispute() {
    let gw = Gateway::start_with_config("[accounts]\nsignup = \"open\"\n");
    let browser = Browser::start();
    let account_id = browser.sign_up_and_log_in(&gw, "kay@example.com", "a billing passphrase");
    gw.post(
        &format!("/admin/v1/accounts/{account_id}/topup"),
        &serde_json::json!({"credits": 1000}),
    );
    let key = gw.post(
        &format!("/admin/v1/accounts/{account_id}/keys"),
        &serde_json::json!({"name": "script"}),
    );
    let key = key.json()["secret"].as_str().unwrap().to_string();
    for i in 0..2 {
        gw.submit_image(
            &key,
            &serde_json::json!({"model": "imini/canvas-image", "prompt": format!("a lighthouse {i}"), "size": "64x64"}),
        );
    }
    let tasks = gw.tasks_when_all(&key, "succeeded");
    assert!(
        tasks.iter().all(|t| t["status"] == "succeeded"),
        "{tasks:?}"
    );
    let charged: i64 = gw
        .ledger(&account_id)
        .iter()
        .filter(|e| e["type"] == "capture")
        .map(|e| -e["amount"].as_i64().unwrap())
        .sum();
    assert!(charged > 0);

    // The overview (first shown with nothing charged, at the login) shows
    // the charges at once: its chart is worked out again when the balance
    // moves.
    browser.goto(&format!("{}/console", gw.base));
    assert!(!browser.find_all("#usage-chart rect").is_empty());
    assert_eq!(
        text_of(&browser, "#usage-by-model tbody tr td.num"),
        charged.to_string()
    );

    browser.goto(&format!("{}/console/billing", gw.base));
    assert_eq!(text_of(&browser, "h1"), "Billing");
    // Today's bar, and the totals by model, say what was charged.
    assert!(!browser.find_all("#usage-chart rect").is_empty());
    assert_eq!(
        text_of(&browser, "#usage-by-model tbody tr td.num"),
        charged.to_string()
    );
    assert!(text_of(&browser, "#usage-by-model").contains("imini/canvas-image"));
    let ledger = text_of(&browser, "#ledger");
    assert!(
        ledger.contains("top-up") && ledger.contains("charge"),
        "{ledger}"
    );
    browser.screenshot("billing");
    browser.resize(390, 844);
    let (page, window) = browser.widths();
    assert!(
        page <= window,
        "no sideways scrolling on a phone: {page} > {window}"
    );
    browser.resize(1280, 900);

    // This month's statement adds up.
    let month = imini_tests::this_month();
    browser.click(&format!("#statements a[href='/console/billing/{month}']"));
    assert_eq!(text_of(&browser, "h1"), format!("Statement for {month}"));
    assert_eq!(text_of(&browser, "#topups"), "1000");
    assert_eq!(text_of(&browser, "#charges"), charged.to_string());
    assert_eq!(text_of(&browser, "#closing"), (1000 - charged).to_string());

    // A dispute needs a reason, said next to the field; then it is filed,
    // and listed as open.
    browser.submit("form[action$='/dispute'] button");
    assert!(
        text_of(&browser, "#reason-error").contains("reason must be 1 to 5000 characters"),
        "{}",
        browser.source()
    );
    browser.fill("#reason", "The second lighthouse came out blank.");
    browser.submit("form[action$='/dispute'] button");
    assert!(text_of(&browser, "#notice").contains("dispute is filed"));
    browser.screenshot("statement");
    browser.goto(&format!("{}/console/billing", gw.base));
    assert!(text_of(&browser, "#disputes").contains("open"));
    let disputes = gw.get("/admin/v1/disputes").json();
    assert_eq!(disputes["data"][0]["account_id"], account_id.as_str());
}

#[test]
fn a_person_sets_the_webhook_endpoint_and_appeals_a_suspension() {
    let gw = Gateway::start_with_config(
        "[accounts]\nsignup = \"open\"\n\n[network]\nallow_private = true\n",
    );
    let browser = Browser::start();
    let account_id = browser.sign_up_and_log_in(&gw, "max@example.com", "a webhook passphrase");

    // A URL that is not one is refused next to its field, as typed.
    browser.goto(&format!("{}/console/webhook", gw.base));
    browser.fill("#url", "not a url");
    browser.submit("form[action='/console/webhook'] button");
    assert!(
        !text_of(&browser, "#url-error").is_empty(),
        "{}",
        browser.source()
    );
    assert_eq!(
        browser.attribute("#url", "value").as_deref(),
        Some("not a url")
    );
    let endpoint = "http://127.0.0.1:9/imini-events";
    browser.fill("#url", endpoint);
    browser.submit("form[action='/console/webhook'] button");
    assert!(text_of(&browser, "#notice").contains("now also go to this endpoint"));
    let key = gw.post(
        &format!("/admin/v1/accounts/{account_id}/keys"),
        &serde_json::json!({"name": "script"}),
    );
    let key = key.json()["secret"].as_str().unwrap().to_string();
    let seen = gw
        .request_with("GET", "/v1/account/webhook", Some(&key), None)
        .json();
    assert_eq!(
        seen["url"], endpoint,
        "the API sees what the console set: {seen}"
    );
    browser.goto(&format!("{}/console/webhook", gw.base));
    assert_eq!(
        browser.attribute("#url", "value").as_deref(),
        Some(endpoint)
    );
    browser.click("details summary");
    assert!(text_of(&browser, "#secret").starts_with("whsec_"));
    browser.screenshot("webhook");
    browser.fill("#url", "");
    browser.submit("form[action='/console/webhook'] button");
    assert!(text_of(&browser, "#notice").contains("no longer sent"));

    // Suspended by an operator: the notice says why, and is appealed.
    browser.goto(&format!("{}/console/notices", gw.base));
    assert!(text_of(&browser, "#no-notices").contains("No notices"));
    gw.post(
        &format!("/admin/v1/accounts/{account_id}/suspend"),
        &serde_json::json!({"reason": "payments look stolen"}),
    );
    browser.goto(&format!("{}/console/notices", gw.base));
    let card = text_of(&browser, ".notice-card");
    assert!(
        card.contains("account suspended") && card.contains("payments look stolen"),
        "{card}"
    );
    browser.submit(".notice-card form button");
    assert!(!text_of(&browser, ".notice-card .field-error").is_empty());
    browser.fill(
        ".notice-card textarea",
        "The card is mine; the bank can confirm.",
    );
    browser.submit(".notice-card form button");
    assert!(text_of(&browser, "#notice").contains("appeal is filed"));
    assert!(text_of(&browser, ".notice-card h3").contains("pending"));
    browser.screenshot("notices");
    let appeals = gw.get("/admin/v1/appeals").json();
    assert_eq!(appeals["data"][0]["account_id"], account_id.as_str());
    assert_eq!(
        appeals["data"][0]["message"],
        "The card is mine; the bank can confirm."
    );
}

//! Operators in the console, in a real headless Chromium against the real
//! binary: invitations (from the command line and the admin API) accepted
//! in the browser, and the operators' pages with the support role's
//! limits. Screenshots go to `target/console-screenshots/`.

use std::process::Command;

use imini_tests::browser::Browser;
use imini_tests::{ADMIN_KEY, Gateway, binary};
use serde_json::{Value, json};

const PASSWORD: &str = "a long enough passphrase";

fn text_of(browser: &Browser, css: &str) -> String {
    browser.text(css).trim().to_string()
}

/// `imini people invite EMAIL --role ROLE`: the link it prints.
fn invite_with_the_cli(gw: &Gateway, email: &str, role: &str) -> String {
    let out = Command::new(binary())
        .args(["people", "invite", email, "--role", role, "--url", &gw.base])
        .env("IMINI_ADMIN_KEY", ADMIN_KEY)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let printed: Value = serde_json::from_slice(&out.stdout).expect("JSON on stdout");
    assert_eq!(printed["role"], role);
    printed["link"].as_str().expect("the link").to_string()
}

/// Accepts the invitation at `link` with [`PASSWORD`], then logs in.
fn accept_and_log_in(browser: &Browser, gw: &Gateway, link: &str, email: &str) {
    browser.goto(link);
    assert_eq!(text_of(browser, "h1"), "Accept your invitation");
    browser.fill("#password", PASSWORD);
    browser.submit("button[type=submit]");
    assert!(
        text_of(browser, ".notice").contains("Your login is ready"),
        "{}",
        browser.source()
    );
    assert_eq!(browser.attribute("#email", "value").as_deref(), Some(email));
    browser.fill("#password", PASSWORD);
    browser.submit("button[type=submit]");
    assert_eq!(browser.current_url(), format!("{}/console", gw.base));
}

#[test]
fn an_invited_person_chooses_a_password_and_logs_in_and_the_link_works_once() {
    let gw = Gateway::start();
    let link = invite_with_the_cli(&gw, "Grace@Example.com", "operator");
    assert!(link.starts_with(&format!("{}/console/accept-invite?token=", gw.base)));
    assert_eq!(
        gw.emailed_link("/console/accept-invite"),
        link,
        "emailed too"
    );

    let browser = Browser::start();
    browser.goto(&link);
    browser.screenshot("accept-invite");
    // A weak password is refused next to its field, and the link still
    // works afterwards.
    browser.fill("#password", "short");
    browser.submit("button[type=submit]");
    assert!(
        text_of(&browser, "#password-error").contains("at least 10 characters"),
        "{}",
        browser.source()
    );
    accept_and_log_in(&browser, &gw, &link, "grace@example.com");
    assert_eq!(text_of(&browser, "h1"), "Overview");

    // Used, the link says so in words.
    let again = Browser::start();
    again.goto(&link);
    again.fill("#password", PASSWORD);
    again.submit("button[type=submit]");
    assert!(
        text_of(&again, "main").contains("expired or has already been used"),
        "{}",
        again.source()
    );

    // The admin API invites too, answering the link and its expiry; an
    // address that has a login cannot be invited again.
    let made = gw.post(
        "/admin/v1/invitations",
        &json!({"email": "sam@example.com", "role": "support"}),
    );
    assert_eq!(made.status, 201, "{}", String::from_utf8_lossy(&made.body));
    let made = made.json();
    assert_eq!(made["role"], "support");
    assert!(
        made["link"]
            .as_str()
            .unwrap()
            .starts_with(&format!("{}/console/accept-invite?token=", gw.base))
    );
    assert!(made["expires_at"].as_str().unwrap().ends_with('Z'));
    let taken = gw.post(
        "/admin/v1/invitations",
        &json!({"email": "grace@example.com", "role": "user"}),
    );
    let error = imini_tests::assert_error(&taken, 409, "CONFLICT");
    assert_eq!(error["param"], "email");
    let no_key = gw.request_with(
        "POST",
        "/admin/v1/invitations",
        None,
        Some(&json!({"email": "eve@example.com"})),
    );
    assert_eq!(no_key.status, 401);
}

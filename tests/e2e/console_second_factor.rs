//! The second factor and operators' acts on logins, in a real headless
//! Chromium against the real binary: setting up authenticator codes, the
//! login's second step with codes that work once, and an operator
//! removing a second factor, changing a role, disabling and enabling a
//! login (in the audit log, and through the admin API). Screenshots go to
//! `target/console-screenshots/`.

use std::time::{SystemTime, UNIX_EPOCH};

use imini_tests::Gateway;
use imini_tests::browser::Browser;
use serde_json::{Value, json};
use totp_rs::{Algorithm, Secret, TOTP};

use crate::console_operator::{join_as, login_id_of, people_cli, sign_up_and_log_in};

/// Open sign-up, and room for the many password checks of one test
/// (setting up and turning off the second factor check the password, and
/// count as login attempts).
const SIGNUP: &str = "[accounts]\nsignup = \"open\"\nlogin_attempts_per_minute = 30\n";
const PASSWORD: &str = "a long enough passphrase";

fn text_of(browser: &Browser, css: &str) -> String {
    browser.text(css).trim().to_string()
}

/// Now, in unix seconds.
fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// Now, at least 3 seconds before the 30-second step turns (waiting for
/// it to turn when it is closer than that).
fn early_in_a_step() -> i64 {
    loop {
        let t = now();
        if t % 30 < 27 {
            return t;
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
}

/// An authenticator app's code for base32 `secret` at unix time `at`.
fn code_at(secret: &str, at: i64) -> String {
    let bytes = Secret::Encoded(secret.to_string()).to_bytes().unwrap();
    let totp = TOTP::new(
        Algorithm::SHA1,
        6,
        1,
        30,
        bytes,
        Some("imini".into()),
        "someone".into(),
    )
    .unwrap();
    totp.generate(at as u64)
}

/// Asserts the code just sent was refused as a replay. (Its words say
/// "used already", unless the 30-second step moved on since it was used
/// far enough that the code is out of the window: then "not right". The
/// service's unit tests pin the words with a clock they control.)
fn refused_again(browser: &Browser, used_at: i64) {
    let error = text_of(browser, "#code-error");
    if now() / 30 <= used_at / 30 + 1 {
        assert!(error.contains("used already"), "{error}");
    } else {
        assert!(error.contains("not right"), "{error}");
    }
}

/// A second factor set up in the browser: its secret, the time of the code
/// that confirmed it, and the recovery codes shown.
struct SetUp {
    secret: String,
    used_at: i64,
    recovery_codes: Vec<String>,
}

/// Sets up a second factor on the settings page of the logged-in
/// `browser`, with the code of the step before now (the window takes it).
fn set_up_second_factor(browser: &Browser, gw: &Gateway) -> SetUp {
    browser.goto(&format!("{}/console/settings", gw.base));
    assert!(text_of(browser, "#second-factor-state").starts_with("Off"));
    browser.click("a[href='/console/settings/second-factor']");
    assert_eq!(text_of(browser, "h1"), "Second factor");
    let qr_shown = browser.script(
        "const i = document.querySelector('#qr-code'); \
         return i !== null && i.complete && i.naturalWidth > 0;",
    );
    assert_eq!(qr_shown, Value::Bool(true), "the QR code is shown");
    let secret = text_of(browser, "#secret");
    assert_eq!(secret.len(), 32, "160 bits in base32: {secret}");
    browser.screenshot("second-factor-setup");

    // A code from ten steps ahead is refused next to its field, and the
    // same secret is offered again.
    browser.fill("#code", &code_at(&secret, now() + 300));
    browser.fill("#password", PASSWORD);
    browser.submit("form[action='/console/settings/second-factor'] button");
    assert!(
        text_of(browser, "#code-error").contains("The code is not right"),
        "{}",
        browser.source()
    );
    assert_eq!(text_of(browser, "#secret"), secret);

    // The code of the step before now is in the gateway's window only
    // until the step turns: send it with a few seconds to spare.
    let used_at = early_in_a_step() - 30;
    browser.fill("#code", &code_at(&secret, used_at));
    browser.fill("#password", PASSWORD);
    browser.submit("form[action='/console/settings/second-factor'] button");
    // The recovery codes, shown once.
    assert_eq!(text_of(browser, "h1"), "Save your recovery codes");
    let recovery_codes: Vec<String> = browser
        .script(
            "return [...document.querySelectorAll('#recovery-codes code')]\
               .map(c => c.textContent.trim());",
        )
        .as_array()
        .expect("an array")
        .iter()
        .map(|c| c.as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(recovery_codes.len(), 10, "{recovery_codes:?}");
    browser.screenshot("second-factor-recovery-codes");
    browser.click("a[href='/console/settings?second_factor=on']");
    assert!(text_of(browser, "#notice").starts_with("The second factor is on"));
    let state = text_of(browser, "#second-factor-state");
    assert!(state.starts_with("On since"), "{state}");
    assert!(state.contains("10 recovery codes left"), "{state}");
    SetUp {
        secret,
        used_at,
        recovery_codes,
    }
}

/// Logs out, then submits the login form (the page that follows is left
/// to the caller).
fn log_out_and_in(browser: &Browser, gw: &Gateway, email: &str) {
    browser.goto(&format!("{}/console", gw.base));
    if !browser
        .find_all("form[action='/console/logout'] button")
        .is_empty()
    {
        browser.submit("form[action='/console/logout'] button");
    }
    browser.goto(&format!("{}/console/login", gw.base));
    browser.fill("#email", email);
    browser.fill("#password", PASSWORD);
    browser.submit("button[type=submit]");
}

#[test]
fn with_a_second_factor_each_login_needs_a_fresh_code_from_the_app() {
    let gw = Gateway::start_with_config(SIGNUP);
    let browser = Browser::start();
    sign_up_and_log_in(&browser, &gw, "ada@example.com");
    let SetUp {
        secret,
        used_at: set_up_at,
        ..
    } = set_up_second_factor(&browser, &gw);

    log_out_and_in(&browser, &gw, "ada@example.com");
    assert_eq!(text_of(&browser, "h1"), "Enter your code");
    assert!(
        browser.cookie("imini_session").is_none_or(|c| c.is_empty()),
        "no session before the code"
    );
    browser.screenshot("login-code");
    // The code that set it up was used: it does not log in.
    browser.fill("#code", &code_at(&secret, set_up_at));
    browser.submit("button[type=submit]");
    refused_again(&browser, set_up_at);
    browser.fill("#code", &code_at(&secret, now() + 300));
    browser.submit("button[type=submit]");
    assert!(text_of(&browser, "#code-error").contains("not right"));
    // The app's current code logs in, to the page asked for.
    let logged_in_at = now();
    browser.fill("#code", &code_at(&secret, logged_in_at));
    browser.submit("button[type=submit]");
    assert_eq!(browser.current_url(), format!("{}/console", gw.base));
    assert_eq!(text_of(&browser, "h1"), "Overview");

    // Turning it off takes the password and a code not used before.
    browser.goto(&format!("{}/console/settings/second-factor", gw.base));
    assert!(text_of(&browser, "h2").starts_with("On since"));
    browser.fill("#code", &code_at(&secret, logged_in_at));
    browser.fill("#password", PASSWORD);
    browser.submit("form[action='/console/settings/second-factor/off'] button");
    refused_again(&browser, logged_in_at);
    // The app's next code (the window takes the step after now).
    browser.fill("#code", &code_at(&secret, now() + 30));
    browser.fill("#password", PASSWORD);
    browser.submit("form[action='/console/settings/second-factor/off'] button");
    assert!(text_of(&browser, "#notice").contains("The second factor is off"));

    log_out_and_in(&browser, &gw, "ada@example.com");
    assert_eq!(
        text_of(&browser, "h1"),
        "Overview",
        "no code asked any more"
    );
}

#[test]
fn a_recovery_code_logs_in_once_in_place_of_the_apps_code() {
    let gw = Gateway::start_with_config(SIGNUP);
    let browser = Browser::start();
    sign_up_and_log_in(&browser, &gw, "ada@example.com");
    let set_up = set_up_second_factor(&browser, &gw);
    let recovery = &set_up.recovery_codes[0];

    log_out_and_in(&browser, &gw, "ada@example.com");
    browser.fill("#code", recovery);
    browser.submit("button[type=submit]");
    assert_eq!(text_of(&browser, "h1"), "Overview");
    browser.goto(&format!("{}/console/settings", gw.base));
    assert!(text_of(&browser, "#second-factor-state").contains("9 recovery codes left"));

    log_out_and_in(&browser, &gw, "ada@example.com");
    browser.fill("#code", recovery);
    browser.submit("button[type=submit]");
    assert!(
        text_of(&browser, "#code-error").contains("not right"),
        "a recovery code works once: {}",
        browser.source()
    );
}

#[test]
fn an_operator_removes_a_second_factor_changes_a_role_and_disables_a_login() {
    let gw = Gateway::start_with_config(SIGNUP);
    let user = Browser::start();
    let account_id = sign_up_and_log_in(&user, &gw, "ada@example.com");
    set_up_second_factor(&user, &gw);

    let operator = Browser::start();
    join_as(&operator, &gw, "grace@example.com", "operator");
    let login_id = login_id_of(&operator, &gw, "ada@example.com", "user");
    let logins = text_of(&operator, "section[aria-labelledby=logins-heading]");
    assert!(logins.contains("second factor on"), "{logins}");
    let login = |gw: &Gateway| -> Value {
        let answer = gw.get(&format!("/admin/v1/logins/{login_id}"));
        assert_eq!(answer.status, 200);
        answer.json()
    };
    assert_eq!(login(&gw)["second_factor"], true);
    assert_eq!(login(&gw)["account_id"], account_id.as_str());

    // The person lost their app: the operator removes the second factor.
    operator.submit("#login-remove-second-factor button");
    assert!(text_of(&operator, ".notice").starts_with("Second factor removed"));
    assert_eq!(login(&gw)["second_factor"], false);

    // Support, then back.
    operator.select("#login-role select", "support");
    operator.submit("#login-role button");
    assert_eq!(text_of(&operator, ".notice"), "Role changed.");
    assert_eq!(login(&gw)["role"], "support");
    user.goto(&format!("{}/console/admin/accounts", gw.base));
    assert_eq!(text_of(&user, "h1"), "Accounts", "the new role at once");

    // Disabled: the person's session ends and they cannot log in.
    operator.submit("#login-disable button");
    assert!(text_of(&operator, ".notice").starts_with("Login disabled"));
    operator.screenshot("operator-login-actions");
    user.goto(&format!("{}/console/settings", gw.base));
    assert!(
        user.current_url()
            .starts_with(&format!("{}/console/login", gw.base))
    );
    log_out_and_in(&user, &gw, "ada@example.com");
    assert!(text_of(&user, "#form-error").contains("This login is disabled"));

    operator.submit("#login-enable button");
    assert_eq!(text_of(&operator, ".notice"), "Login enabled.");
    log_out_and_in(&user, &gw, "ada@example.com");
    assert_eq!(text_of(&user, "h1"), "Overview", "no second factor now");

    // An operator cannot lock themselves out.
    let own_id = login_id_of(&operator, &gw, "grace@example.com", "operator");
    operator.submit("#login-disable button");
    assert!(
        text_of(&operator, "#login-error").contains("cannot disable your own login"),
        "{}",
        operator.source()
    );
    let own = gw.get(&format!("/admin/v1/logins/{own_id}"));
    assert_eq!(own.json()["disabled"], false);

    // Each act is in the audit log, under the operator's login.
    let audit = gw.get("/admin/v1/audit?limit=100");
    assert_eq!(audit.status, 200);
    let acts: Vec<(String, String)> = audit.json()["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["action"].as_str().unwrap_or_default().to_string(),
                e["actor"].as_str().unwrap_or_default().to_string(),
            )
        })
        .filter(|(action, _)| action.starts_with("login."))
        .collect();
    for act in [
        "login.remove_second_factor",
        "login.role",
        "login.disable",
        "login.enable",
    ] {
        assert!(
            acts.iter().any(|(a, actor)| a == act && actor == &own_id),
            "{act} by {own_id} in {acts:?}"
        );
    }

    // The admin API does the same for automation.
    let role = gw.post(
        &format!("/admin/v1/logins/{login_id}/role"),
        &json!({"role": "operator"}),
    );
    assert_eq!(role.status, 200, "{}", String::from_utf8_lossy(&role.body));
    assert_eq!(role.json()["role"], "operator");
    let bad = gw.post(
        &format!("/admin/v1/logins/{login_id}/role"),
        &json!({"role": "owner"}),
    );
    assert_eq!(bad.status, 400);
    assert_eq!(login(&gw)["role"], "operator", "unchanged by the refusal");
    let none = gw.post("/admin/v1/logins/user_nobody/disable", &json!({}));
    assert_eq!(none.status, 404);

    // And the command line, through the admin API.
    let people = |args: &[&str]| people_cli(&gw, args);
    assert_eq!(people(&["role", &login_id, "support"])["role"], "support");
    assert_eq!(people(&["disable", &login_id])["disabled"], true);
    let shown = people(&["show", &login_id]);
    assert_eq!(shown["disabled"], true);
    assert_eq!(shown["email"], "ada@example.com");
}

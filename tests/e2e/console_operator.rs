//! Operators in the console, in a real headless Chromium against the real
//! binary: invitations (from the command line and the admin API) accepted
//! in the browser, and the operators' pages with the support role's
//! limits. Screenshots go to `target/console-screenshots/`.

use std::process::Command;

use imini_tests::browser::Browser;
use imini_tests::{ADMIN_KEY, Gateway, binary, this_month};
use serde_json::{Value, json};

const PASSWORD: &str = "a long enough passphrase";

fn text_of(browser: &Browser, css: &str) -> String {
    browser.text(css).trim().to_string()
}

/// `imini people ARGS…` against `gw` with the admin key: the JSON it
/// prints.
pub(crate) fn people_cli(gw: &Gateway, args: &[&str]) -> Value {
    let out = Command::new(binary())
        .arg("people")
        .args(args)
        .args(["--url", &gw.base])
        .env("IMINI_ADMIN_KEY", ADMIN_KEY)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("JSON on stdout")
}

/// `imini people invite EMAIL --role ROLE`: the link it prints.
fn invite_with_the_cli(gw: &Gateway, email: &str, role: &str) -> String {
    let printed = people_cli(gw, &["invite", email, "--role", role]);
    assert_eq!(printed["role"], role);
    printed["link"].as_str().expect("the link").to_string()
}

/// Accepts the invitation at `link` with [`PASSWORD`], then logs in.
pub(crate) fn accept_and_log_in(browser: &Browser, gw: &Gateway, link: &str, email: &str) {
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

/// Signs a person up in `browser` (with `[accounts] signup = "open"`),
/// confirms the address and logs in: their account's id.
pub(crate) fn sign_up_and_log_in(browser: &Browser, gw: &Gateway, email: &str) -> String {
    browser.goto(&format!("{}/console/signup", gw.base));
    browser.fill("#email", email);
    browser.fill("#password", PASSWORD);
    browser.submit("button[type=submit]");
    browser.goto(&gw.emailed_link("/console/verify-email"));
    browser.fill("#email", email);
    browser.fill("#password", PASSWORD);
    browser.submit("button[type=submit]");
    assert_eq!(text_of(browser, "h1"), "Overview");
    text_of(browser, "#account-id")
}

/// Invites `email` with `role` through the admin API, and accepts in
/// `browser`.
pub(crate) fn join_as(browser: &Browser, gw: &Gateway, email: &str, role: &str) {
    let made = gw.post(
        "/admin/v1/invitations",
        &json!({"email": email, "role": role}),
    );
    assert_eq!(made.status, 201, "{}", String::from_utf8_lossy(&made.body));
    let link = made.json()["link"].as_str().unwrap().to_string();
    accept_and_log_in(browser, gw, &link, email);
}

/// The account `id` as the admin API sees it.
fn account(gw: &Gateway, id: &str) -> Value {
    let answer = gw.get(&format!("/admin/v1/accounts/{id}"));
    assert_eq!(answer.status, 200);
    answer.json()
}

/// A staff person's `user_…` login id, as their own account's page lists
/// it (with their `role`).
pub(crate) fn login_id_of(browser: &Browser, gw: &Gateway, email: &str, role: &str) -> String {
    browser.goto(&format!("{}/console/admin/accounts?q={email}", gw.base));
    browser.click("#accounts tbody a");
    let logins = text_of(browser, "section[aria-labelledby=logins-heading]");
    let id = logins
        .split_whitespace()
        .find(|w| w.starts_with("user_"))
        .unwrap_or_else(|| panic!("no login id in {logins}"))
        .to_string();
    assert!(logins.contains(&format!("role {role}")), "{logins}");
    id
}

#[test]
fn an_operator_finds_an_account_tops_it_up_suspends_and_reinstates_it_and_is_named_in_the_audit_log()
 {
    let gw = Gateway::start_with_config("[accounts]\nsignup = \"open\"\n");
    let user = Browser::start();
    let account_id = sign_up_and_log_in(&user, &gw, "ada@example.com");
    assert!(
        user.find_all("a[href='/console/admin/accounts']")
            .is_empty(),
        "a user's navigation has no operators' pages"
    );

    let operator = Browser::start();
    join_as(&operator, &gw, "grace@example.com", "operator");
    let operator_id = login_id_of(&operator, &gw, "grace@example.com", "operator");

    // The navigation leads to the accounts; a search by email finds the
    // user's.
    operator.goto(&format!("{}/console", gw.base));
    operator.click("a[href='/console/admin/accounts']");
    operator.fill("#q", "ADA@example");
    operator.submit("form.search button");
    let rows = text_of(&operator, "#accounts tbody");
    assert!(
        rows.contains(&account_id) && !rows.contains("grace@"),
        "{rows}"
    );
    operator.screenshot("operator-accounts");
    // By id too, and the status filter applies.
    operator.goto(&format!(
        "{}/console/admin/accounts?q={account_id}&status=suspended",
        gw.base
    ));
    assert!(operator.find_all("#no-accounts").len() == 1);
    operator.goto(&format!(
        "{}/console/admin/accounts?q={account_id}&status=active",
        gw.base
    ));
    operator.click("#accounts tbody a");
    assert_eq!(text_of(&operator, "#account-id"), account_id);
    assert_eq!(text_of(&operator, "#balance"), "0");

    // A top-up that is not a number is refused at its form, in words.
    operator.fill("#topup-credits", "lots");
    operator.submit("#topup button");
    assert!(text_of(&operator, "#topup-error").contains("whole number"));
    operator.fill("#topup-credits", "250");
    operator.fill("#topup-reason", "invoice 42");
    operator.submit("#topup button");
    assert_eq!(text_of(&operator, "#notice"), "Credits added.");
    assert_eq!(text_of(&operator, "#balance"), "250");
    let ledger = text_of(&operator, "#ledger-entries");
    assert!(
        ledger.contains(&operator_id) && ledger.contains("invoice 42"),
        "the ledger names the operator: {ledger}"
    );
    operator.screenshot("operator-account");
    operator.resize(390, 844);
    let (page, window) = operator.widths();
    assert!(
        page <= window,
        "no sideways scrolling on a phone: {page} > {window}"
    );
    operator.screenshot("operator-account-phone");
    operator.resize(1280, 900);
    user.goto(&format!("{}/console", gw.base));
    assert_eq!(text_of(&user, "#balance"), "250");

    // Suspended with a reason, the user sees it; reinstated, it goes.
    operator.fill("#suspend-reason", "checking a chargeback");
    operator.submit("#suspend button");
    assert_eq!(text_of(&operator, "#status"), "suspended");
    assert_eq!(account(&gw, &account_id)["status"], "suspended");
    user.goto(&format!("{}/console", gw.base));
    assert!(text_of(&user, "[role=alert]").contains("suspended"));
    operator.submit("#unsuspend button");
    assert_eq!(text_of(&operator, "#notice"), "Account reinstated.");
    user.goto(&format!("{}/console", gw.base));
    assert!(user.find_all("[role=alert]").is_empty());

    // The audit log names the operator's login for each act, not "admin".
    let audit = gw.get(&format!("/admin/v1/audit?account_id={account_id}"));
    assert_eq!(audit.status, 200);
    let entries = audit.json()["data"].as_array().unwrap().clone();
    for action in ["account.topup", "account.suspended", "account.unsuspend"] {
        let entry = entries
            .iter()
            .find(|e| e["action"] == action)
            .unwrap_or_else(|| panic!("no {action} in {entries:?}"));
        assert_eq!(entry["actor"], operator_id.as_str(), "{entry}");
    }
    // The notice the account got names who suspended it.
    let notices = gw.get(&format!("/admin/v1/notices?account_id={account_id}"));
    assert_eq!(notices.status, 200);
    assert_eq!(notices.json()["data"][0]["by"], operator_id.as_str());
}

#[test]
fn support_reads_accounts_but_cannot_change_credits_and_users_are_refused_the_pages() {
    let gw = Gateway::start_with_config("[accounts]\nsignup = \"open\"\n");
    let user = Browser::start();
    let account_id = sign_up_and_log_in(&user, &gw, "ada@example.com");
    gw.post(
        &format!("/admin/v1/accounts/{account_id}/topup"),
        &json!({"credits": 70}),
    );

    let support = Browser::start();
    let link = invite_with_the_cli(&gw, "sam@example.com", "support");
    accept_and_log_in(&support, &gw, &link, "sam@example.com");
    support.goto(&format!("{}/console/admin/accounts/{account_id}", gw.base));
    assert_eq!(text_of(&support, "#balance"), "70");
    assert!(support.find_all("#read-only").len() == 1);
    assert!(
        support.find_all("form#topup").is_empty()
            && support
                .find_all("form[action*='/console/admin/']")
                .is_empty(),
        "no action forms for support"
    );
    support.screenshot("support-account");

    // A top-up posted anyway, with support's own valid session and CSRF
    // token, is refused and changes nothing.
    let csrf = support
        .attribute("header form input[name=csrf]", "value")
        .expect("the session's token");
    let session = support.cookie("imini_session").expect("the session cookie");
    let forged = reqwest::blocking::Client::new()
        .post(format!(
            "{}/console/admin/accounts/{account_id}/topup",
            gw.base
        ))
        .header("cookie", format!("imini_session={session}"))
        .form(&[("csrf", csrf.as_str()), ("credits", "1000")])
        .send()
        .unwrap();
    assert_eq!(forged.status(), 403);
    assert!(forged.text().unwrap().contains("only an operator"));
    assert_eq!(account(&gw, &account_id)["credit_balance"], 70);
    // Without the right token, refused as a forgery.
    let wrong_token = reqwest::blocking::Client::new()
        .post(format!(
            "{}/console/admin/accounts/{account_id}/topup",
            gw.base
        ))
        .header("cookie", format!("imini_session={session}"))
        .form(&[("csrf", "forged"), ("credits", "1000")])
        .send()
        .unwrap();
    assert_eq!(wrong_token.status(), 403);
    assert_eq!(account(&gw, &account_id)["credit_balance"], 70);

    // A user is refused the operators' pages.
    user.goto(&format!("{}/console/admin/accounts", gw.base));
    assert_eq!(text_of(&user, "h1"), "Not allowed");
    let session = user.cookie("imini_session").expect("the user's session");
    for page in [
        "/console/admin/accounts".to_string(),
        format!("/console/admin/accounts/{account_id}"),
    ] {
        let answer = reqwest::blocking::Client::new()
            .get(format!("{}{page}", gw.base))
            .header("cookie", format!("imini_session={session}"))
            .send()
            .unwrap();
        assert_eq!(answer.status(), 403, "{page}");
    }
}

#[test]
fn staff_decide_disputes_only_operators_give_credits_back_and_the_audit_log_names_each() {
    let gw = Gateway::start();
    let month = this_month();
    let file = |email: &str| {
        let acct = gw.account(email, 100);
        let filed = gw.request_with(
            "POST",
            &format!("/v1/account/bills/{month}/disputes"),
            Some(&acct.key),
            Some(&json!({"reason": format!("{email} was charged for a failed image")})),
        );
        assert_eq!(
            filed.status,
            201,
            "{}",
            String::from_utf8_lossy(&filed.body)
        );
        (acct.id, filed.json()["id"].as_str().unwrap().to_string())
    };
    let (_, rejected) = file("ann@example.com");
    let (bob, resolved) = file("bob@example.com");

    let support = Browser::start();
    join_as(&support, &gw, "sam@example.com", "support");
    let support_id = login_id_of(&support, &gw, "sam@example.com", "support");
    support.goto(&format!("{}/console", gw.base));
    support.click("a[href='/console/admin/disputes']");
    assert!(text_of(&support, &format!("#{rejected}")).contains("ann@example.com was charged"));
    assert!(
        support.find_all(&format!("#{resolved}-credits")).is_empty(),
        "support is offered no credits to give back"
    );
    // Support posts credits anyway, with a valid session and token:
    // refused, and the dispute stays open.
    let csrf = support
        .attribute("header form input[name=csrf]", "value")
        .unwrap();
    let session = support.cookie("imini_session").unwrap();
    let forged = reqwest::blocking::Client::new()
        .post(format!(
            "{}/console/admin/disputes/{resolved}/resolve",
            gw.base
        ))
        .header("cookie", format!("imini_session={session}"))
        .form(&[("csrf", csrf.as_str()), ("credits", "40"), ("note", "")])
        .send()
        .unwrap();
    assert_eq!(forged.status(), 403);
    let open = gw.get("/admin/v1/disputes?status=open").json();
    assert_eq!(open["data"].as_array().unwrap().len(), 2);
    // Support rejects one, with a note.
    support.fill(
        &format!("#{rejected}-reject-note"),
        "the image was delivered",
    );
    support.submit(&format!("#{rejected} form.reject button"));
    assert_eq!(
        text_of(&support, "#notice"),
        format!("Dispute {rejected} decided.")
    );
    assert!(
        support.find_all(&format!("#{rejected}")).is_empty(),
        "no longer open"
    );

    // An operator resolves the other, giving credits back.
    let operator = Browser::start();
    let link = invite_with_the_cli(&gw, "grace@example.com", "operator");
    accept_and_log_in(&operator, &gw, &link, "grace@example.com");
    let operator_id = login_id_of(&operator, &gw, "grace@example.com", "operator");
    operator.goto(&format!("{}/console/admin/disputes", gw.base));
    operator.screenshot("operator-disputes");
    operator.fill(&format!("#{resolved}-credits"), "30");
    operator.fill(&format!("#{resolved}-resolve-note"), "sorry about that");
    operator.submit(&format!("#{resolved} form.resolve button"));
    assert!(operator.find_all("#no-disputes").len() == 1);
    assert_eq!(account(&gw, &bob)["credit_balance"], 130);
    operator.goto(&format!("{}/console/admin/disputes?status=all", gw.base));
    assert!(text_of(&operator, &format!("#{resolved}")).contains("30 credits given back"));

    // The audit log, filtered, names each person.
    operator.click("a[href='/console/admin/audit']");
    operator.fill("#action", "dispute.");
    operator.submit("form.search button");
    let actors = |browser: &Browser| -> Vec<String> {
        browser
            .find_all("#audit td.actor")
            .iter()
            .enumerate()
            .map(|(i, _)| {
                text_of(
                    browser,
                    &format!("#audit tbody tr:nth-child({}) td.actor", i + 1),
                )
            })
            .collect()
    };
    assert_eq!(actors(&operator), [operator_id.clone(), support_id.clone()]);
    operator.screenshot("operator-audit");
    operator.fill("#action", "");
    operator.fill("#actor", &support_id);
    operator.submit("form.search button");
    assert_eq!(actors(&operator), std::slice::from_ref(&support_id));
    assert_eq!(text_of(&operator, "#audit td.action"), "dispute.reject");
}

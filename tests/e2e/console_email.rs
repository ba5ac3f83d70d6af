//! Email to people over SMTP (`[email]`), received by a small SMTP server
//! on loopback (`support/smtp.rs`), and followed in a real browser.

use imini_tests::Gateway;
use imini_tests::browser::Browser;
use imini_tests::smtp::SmtpSink;

fn config(smtp_url: &str) -> String {
    format!(
        "[accounts]\nsignup = \"open\"\n\n[email]\nsmtp_url = \"{smtp_url}\"\n\
         from = \"imini console <noreply@example.com>\"\ntimeout_secs = 5\n"
    )
}

/// The first link in `text` to `base` + `path`.
fn link_in(text: &str, base: &str, path: &str) -> String {
    let needle = format!("{base}{path}?token=");
    let start = text
        .find(&needle)
        .unwrap_or_else(|| panic!("no {path} link in: {text}"));
    text[start..]
        .chars()
        .take_while(|c| !c.is_whitespace())
        .collect()
}

#[test]
fn the_confirmation_link_arrives_by_smtp_and_confirms_the_address() {
    let sink = SmtpSink::start();
    let gw = Gateway::start_with_config(&config(&sink.url()));
    let browser = Browser::start();
    let email = "lin@example.com";
    let password = "a passphrase for mail";
    browser.goto(&format!("{}/console/signup", gw.base));
    browser.fill("#email", email);
    browser.fill("#password", password);
    browser.submit("button[type=submit]");
    assert_eq!(browser.text("h1").trim(), "Check your email");

    let message = sink.wait_for(email, "Confirm");
    assert_eq!(message.from, "noreply@example.com");
    assert!(
        message
            .header("From")
            .is_some_and(|f| f.contains("imini console")),
        "{:?}",
        message.header("From")
    );
    let link = link_in(&message.text(), &gw.base, "/console/verify-email");
    assert!(
        !gw.logs().contains(&link),
        "a link sent by email is not also written to the log"
    );
    browser.goto(&link);
    assert!(browser.text(".notice").contains("confirmed"));
    browser.fill("#email", email);
    browser.fill("#password", password);
    browser.submit("button[type=submit]");
    assert_eq!(browser.text("h1").trim(), "Overview");

    // A reset link by email too.
    browser.submit("header form button");
    browser.goto(&format!("{}/console/forgot-password", gw.base));
    browser.fill("#email", email);
    browser.submit("button[type=submit]");
    let reset = sink.wait_for(email, "Reset");
    let link = link_in(&reset.text(), &gw.base, "/console/reset-password");
    browser.goto(&link);
    assert_eq!(browser.text("h1").trim(), "Choose a new password");
}

#[test]
fn a_mail_server_that_does_not_answer_is_logged_and_the_page_answers_the_same() {
    // A port nothing listens on.
    let port = imini_tests::redis::free_port();
    let gw = Gateway::start_with_config(&config(&format!("smtp://127.0.0.1:{port}")));
    assert!(
        gw.logs().contains("email to people goes over SMTP"),
        "{}",
        gw.logs()
    );
    let answer = reqwest::blocking::Client::new()
        .get(format!("{}/console/signup", gw.base))
        .send()
        .unwrap();
    assert_eq!(answer.status(), 200);
    let cookie = answer
        .headers()
        .get("set-cookie")
        .unwrap()
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let csrf = cookie.split_once('=').unwrap().1.to_string();
    let signed = reqwest::blocking::Client::new()
        .post(format!("{}/console/signup", gw.base))
        .header("cookie", &cookie)
        .form(&[
            ("csrf", csrf.as_str()),
            ("email", "ola@example.com"),
            ("password", "a passphrase for mail"),
        ])
        .send()
        .unwrap();
    assert_eq!(signed.status(), 200);
    assert!(signed.text().unwrap().contains("Check your email"));
    let logs = gw.logs();
    assert!(
        logs.contains("an email could not be sent") && logs.contains("ola@example.com"),
        "{logs}"
    );
}

#[test]
fn a_bad_email_section_stops_the_start_with_a_clear_line() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("imini.toml");
    std::fs::write(
        &config,
        "[email]\nsmtp_url = \"smtp://127.0.0.1:25\"\nfrom = \"not an address\"\n",
    )
    .unwrap();
    let out = std::process::Command::new(imini_tests::binary())
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path().join("data"))
        .arg("--config")
        .arg(&config)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        said.contains("email.from is not an email address"),
        "{said}"
    );
}

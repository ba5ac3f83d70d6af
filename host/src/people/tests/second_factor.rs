//! The second factor as a person meets it: setting it up, the login's
//! second step, codes that work once, a ticket that expires, throttled
//! guessing, turning it off, and an operator removing it.

use super::super::second_factor::{STEP_SECS, authenticator};
use super::{PASSWORD, World, later, world};
use crate::config::Signup;
use crate::people::{LoggedIn, LoginStep, NewSecondFactor, People, PeopleError};
use crate::store::people::Session;

const EMAIL: &str = "ada@example.com";

/// The app's code for `secret` at `after` seconds from now.
fn code(secret: &str, after: i64) -> String {
    code_at(secret, crate::time::now_unix() + after)
}

/// The app's code for `secret` at unix time `at`.
fn code_at(secret: &str, at: i64) -> String {
    authenticator(secret, EMAIL)
        .unwrap()
        .generate(at.max(0) as u64)
}

/// Logs in with the password, expecting to be asked for the code.
async fn ticket(people: &People) -> String {
    match people
        .log_in(EMAIL, PASSWORD, "192.0.2.1", "Firefox")
        .await
        .unwrap()
    {
        LoginStep::CodeNeeded { ticket } => ticket,
        LoginStep::Done(_) => panic!("logged in without the second factor"),
    }
}

/// A member (signed up, address confirmed), logged in with no second
/// factor yet.
async fn logged_in_member(w: &World) -> LoggedIn {
    w.member(EMAIL).await;
    w.people
        .log_in(EMAIL, PASSWORD, "192.0.2.1", "Firefox")
        .await
        .unwrap()
        .done()
        .expect("no second factor yet")
}

/// A member, logged in, with a second factor set up now: the session, the
/// secret, and the time of the code that confirmed it.
async fn with_second_factor(w: &World) -> (Session, NewSecondFactor, i64) {
    let done = logged_in_member(w).await;
    let login = done.login.clone();
    let new = w.people.new_second_factor(&login).unwrap();
    assert!(
        new.link
            .starts_with("otpauth://totp/imini:ada%40example.com?")
    );
    assert!(new.link.contains(&format!("secret={}", new.secret)));
    assert!(new.qr_code.starts_with("data:image/svg+xml;base64,"));
    let session = done.session.session;
    let at = crate::time::now_unix();
    w.people
        .enable_second_factor(&session, PASSWORD, &new.secret, &code_at(&new.secret, at))
        .await
        .unwrap();
    (session, new, at)
}

#[tokio::test]
async fn setting_up_needs_the_password_and_a_code_from_the_new_secret() {
    let w = world(Signup::Open);
    let done = logged_in_member(&w).await;
    let session = done.session.session;
    let new = w.people.new_second_factor(&done.login).unwrap();
    let other = w.people.new_second_factor(&done.login).unwrap();
    assert_ne!(new.secret, other.secret, "a fresh secret each time");

    let wrong_password = w
        .people
        .enable_second_factor(&session, "not it", &new.secret, &code(&new.secret, 0))
        .await
        .unwrap_err();
    assert!(matches!(wrong_password, PeopleError::WrongCurrentPassword));
    let wrong_code = w
        .people
        .enable_second_factor(&session, PASSWORD, &new.secret, &code(&other.secret, 0))
        .await
        .unwrap_err();
    assert!(matches!(wrong_code, PeopleError::WrongCode), "{wrong_code}");
    let tampered = w
        .people
        .enable_second_factor(&session, PASSWORD, "AAAA", "123456")
        .await
        .unwrap_err();
    assert!(matches!(tampered, PeopleError::SecondFactorExpired));
    let login = w.people.login(&done.login.id).await.unwrap().unwrap();
    assert_eq!(login.second_factor, None, "nothing kept by refusals");

    w.people
        .enable_second_factor(&session, PASSWORD, &new.secret, &code(&new.secret, 0))
        .await
        .unwrap();
    let login = w.people.login(&done.login.id).await.unwrap().unwrap();
    assert_eq!(login.second_factor.unwrap().secret, new.secret);
    let mail = w.outbox.sent_to(EMAIL).pop().unwrap();
    assert_eq!(
        mail.subject,
        "The second factor of your login was turned on"
    );
}

#[tokio::test]
async fn a_login_with_a_second_factor_needs_a_fresh_code_and_each_code_works_once() {
    let w = world(Signup::Open);
    let (_, new, set_up_at) = with_second_factor(&w).await;
    let ticket1 = ticket(&w.people).await;

    // The code just used to set it up does not log in.
    let replayed = w
        .people
        .log_in_with_code(
            &ticket1,
            &code_at(&new.secret, set_up_at),
            "192.0.2.1",
            "Firefox",
        )
        .await
        .unwrap_err();
    assert!(matches!(replayed, PeopleError::CodeUsed), "{replayed}");
    let wrong = w
        .people
        .log_in_with_code(&ticket1, "000000", "192.0.2.1", "Firefox")
        .await;
    // (One chance in a million that 000000 is a current code.)
    assert!(matches!(wrong, Err(PeopleError::WrongCode)), "{wrong:?}");

    // A minute later the app shows a new code; the same ticket takes it.
    let later = later(&w.people, 2 * STEP_SECS);
    let fresh = code(&new.secret, 2 * STEP_SECS);
    let done = later
        .log_in_with_code(&ticket1, &fresh, "192.0.2.1", "Firefox")
        .await
        .unwrap();
    let me = w.people.session(&done.session.cookie).await.unwrap();
    assert_eq!(me.login.email, EMAIL);

    // The ticket is used up, and the code does not work a second time.
    let again = later
        .log_in_with_code(&ticket1, &fresh, "192.0.2.1", "Firefox")
        .await
        .unwrap_err();
    assert!(matches!(again, PeopleError::LoginStepEnded), "{again}");
    let ticket2 = ticket(&later).await;
    let reused = later
        .log_in_with_code(&ticket2, &fresh, "192.0.2.1", "Firefox")
        .await
        .unwrap_err();
    assert!(matches!(reused, PeopleError::CodeUsed), "{reused}");
    // Nor does an older code that is still inside the window.
    let older = later
        .log_in_with_code(
            &ticket2,
            &code(&new.secret, STEP_SECS),
            "192.0.2.1",
            "Firefox",
        )
        .await
        .unwrap_err();
    assert!(matches!(older, PeopleError::CodeUsed), "{older}");
}

#[tokio::test]
async fn the_second_step_expires_and_guessing_codes_is_throttled() {
    let w = world(Signup::Open);
    let (_, new, _) = with_second_factor(&w).await;
    let ticket1 = ticket(&w.people).await;
    let expired = later(&w.people, crate::people::SECOND_FACTOR_SECS + 1)
        .log_in_with_code(
            &ticket1,
            &code(&new.secret, crate::people::SECOND_FACTOR_SECS + 1),
            "192.0.2.1",
            "Firefox",
        )
        .await
        .unwrap_err();
    assert!(matches!(expired, PeopleError::LoginStepEnded), "{expired}");

    let ticket2 = ticket(&w.people).await;
    for _ in 0..5 {
        let e = w
            .people
            .log_in_with_code(&ticket2, "000000", "192.0.2.1", "Firefox")
            .await
            .unwrap_err();
        assert!(
            matches!(e, PeopleError::WrongCode | PeopleError::CodeUsed),
            "{e}"
        );
    }
    // The sixth attempt in the minute is refused, even with the right
    // code, and the ticket is kept for after the wait.
    let sixth = w
        .people
        .log_in_with_code(
            &ticket2,
            &code(&new.secret, STEP_SECS),
            "192.0.2.1",
            "Firefox",
        )
        .await
        .unwrap_err();
    assert!(matches!(sixth, PeopleError::Throttled { .. }), "{sixth}");
}

#[tokio::test]
async fn turning_it_off_needs_the_password_and_a_code() {
    let w = world(Signup::Open);
    let (session, new, _) = with_second_factor(&w).await;
    let refused = w
        .people
        .disable_second_factor(&session, PASSWORD, "000000")
        .await;
    assert!(
        matches!(refused, Err(PeopleError::WrongCode | PeopleError::CodeUsed)),
        "{refused:?}"
    );
    let login = w.people.login(&session.login_id).await.unwrap().unwrap();
    assert!(login.second_factor.is_some(), "still on after a wrong code");
    w.people
        .disable_second_factor(&session, PASSWORD, &code(&new.secret, STEP_SECS))
        .await
        .unwrap();
    let done = w
        .people
        .log_in(EMAIL, PASSWORD, "192.0.2.1", "Firefox")
        .await
        .unwrap();
    assert!(done.done().is_some(), "no code asked once it is off");
    let mail = w.outbox.sent_to(EMAIL).pop().unwrap();
    assert_eq!(
        mail.subject,
        "The second factor of your login was turned off"
    );
}

#[tokio::test]
async fn a_recovery_code_stands_in_for_the_apps_code_once() {
    let w = world(Signup::Open);
    let done = logged_in_member(&w).await;
    let new = w.people.new_second_factor(&done.login).unwrap();
    let enabled = w
        .people
        .enable_second_factor(
            &done.session.session,
            PASSWORD,
            &new.secret,
            &code(&new.secret, 0),
        )
        .await
        .unwrap();
    let codes = enabled.recovery_codes;
    assert_eq!(codes.len(), crate::people::RECOVERY_CODES);
    let login = w.people.login(&done.login.id).await.unwrap().unwrap();
    let kept = login.second_factor.unwrap().recovery_codes;
    assert!(
        kept.iter().all(|k| !codes.contains(k)),
        "kept as digests, not as shown"
    );

    let ticket1 = ticket(&w.people).await;
    let done = w
        .people
        .log_in_with_code(&ticket1, &codes[3].to_uppercase(), "192.0.2.1", "Firefox")
        .await
        .unwrap();
    assert_eq!(done.login.second_factor.unwrap().recovery_codes.len(), 9);
    let mail = w.outbox.sent_to(EMAIL).pop().unwrap();
    assert_eq!(mail.subject, "A recovery code of your login was used");
    assert!(mail.body.contains("9 are left"), "{}", mail.body);

    let ticket2 = ticket(&w.people).await;
    let again = w
        .people
        .log_in_with_code(&ticket2, &codes[3], "192.0.2.1", "Firefox")
        .await
        .unwrap_err();
    assert!(
        matches!(again, PeopleError::WrongCode),
        "used once: {again}"
    );
    let made_up = w
        .people
        .log_in_with_code(&ticket2, "aaaaa-aaaaa", "192.0.2.1", "Firefox")
        .await
        .unwrap_err();
    assert!(matches!(made_up, PeopleError::WrongCode), "{made_up}");
    w.people
        .log_in_with_code(&ticket2, &codes[0], "192.0.2.1", "Firefox")
        .await
        .unwrap();
}

#[tokio::test]
async fn an_operator_can_remove_a_second_factor_without_a_code() {
    let w = world(Signup::Open);
    let (session, _, _) = with_second_factor(&w).await;
    w.people
        .remove_second_factor(&session.login_id)
        .await
        .unwrap();
    let login = w.people.login(&session.login_id).await.unwrap().unwrap();
    assert_eq!(login.second_factor, None);
    let done = w
        .people
        .log_in(EMAIL, PASSWORD, "192.0.2.1", "Firefox")
        .await
        .unwrap();
    assert!(done.done().is_some(), "no code asked once it is removed");
    let mail = w.outbox.sent_to(EMAIL).pop().unwrap();
    assert_eq!(
        mail.subject,
        "The second factor of your login was turned off"
    );
}

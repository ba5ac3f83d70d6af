//! Sessions as a person meets them: ending when idle or too old, logging
//! out, revoking and disabling, a password reset and a change, the record
//! of new devices and addresses, and the forms' CSRF tokens.

use super::{PASSWORD, later, world};
use crate::config::Signup;
use crate::people::{People, PeopleError};

#[tokio::test]
async fn a_session_ends_when_idle_or_too_old() {
    let w = world(Signup::Open);
    w.member("ada@example.com").await;
    let cookie = w
        .people
        .log_in("ada@example.com", PASSWORD, "192.0.2.1", "Firefox")
        .await
        .unwrap()
        .done()
        .expect("no second factor")
        .session
        .cookie;
    let me = w.people.session(&cookie).await.unwrap();
    assert_eq!(me.login.email, "ada@example.com");
    assert!(matches!(
        w.people.session("not a cookie").await,
        Err(PeopleError::SessionEnded)
    ));

    // Idle (24 hours by default): ended, and stays ended.
    let idle = later(&w.people, 24 * 3600 + 1).session(&cookie).await;
    assert!(matches!(idle, Err(PeopleError::SessionEnded)), "{idle:?}");
    assert!(matches!(
        w.people.session(&cookie).await,
        Err(PeopleError::SessionEnded)
    ));

    // Used every 20 hours, a session lasts 30 days, and no longer.
    let cookie = w
        .people
        .log_in("ada@example.com", PASSWORD, "192.0.2.1", "Firefox")
        .await
        .unwrap()
        .done()
        .expect("no second factor")
        .session
        .cookie;
    let mut hours = 20;
    while hours < 30 * 24 {
        later(&w.people, hours * 3600)
            .session(&cookie)
            .await
            .unwrap_or_else(|e| panic!("after {hours} h: {e}"));
        hours += 20;
    }
    let old = later(&w.people, 30 * 24 * 3600).session(&cookie).await;
    assert!(matches!(old, Err(PeopleError::SessionEnded)), "{old:?}");
}

#[tokio::test]
async fn logging_out_revoking_and_disabling_end_sessions() {
    let w = world(Signup::Open);
    w.member("ada@example.com").await;
    let log_in = async || {
        w.people
            .log_in("ada@example.com", PASSWORD, "192.0.2.1", "Firefox")
            .await
            .unwrap()
            .done()
            .expect("no second factor")
            .session
    };
    let (a, b, c) = (log_in().await, log_in().await, log_in().await);
    let login_id = a.session.login_id.clone();
    assert_eq!(w.people.sessions(&login_id).await.unwrap().len(), 3);

    w.people.log_out(&a.cookie).await.unwrap();
    assert!(matches!(
        w.people.session(&a.cookie).await,
        Err(PeopleError::SessionEnded)
    ));
    assert!(
        w.people
            .revoke_session(&login_id, &b.session.id)
            .await
            .unwrap()
    );
    assert!(w.people.session(&b.cookie).await.is_err());
    w.people.session(&c.cookie).await.unwrap();

    w.people.set_disabled(&login_id, true).await.unwrap();
    assert!(w.people.session(&c.cookie).await.is_err());
    let refused = w
        .people
        .log_in("ada@example.com", PASSWORD, "192.0.2.1", "Firefox")
        .await
        .unwrap_err();
    assert!(matches!(refused, PeopleError::Disabled), "{refused}");
}

#[tokio::test]
async fn a_password_reset_ends_every_session_and_its_link_works_once() {
    let w = world(Signup::Open);
    w.member("ada@example.com").await;
    let first = w
        .people
        .log_in("ada@example.com", PASSWORD, "192.0.2.1", "Firefox")
        .await
        .unwrap()
        .done()
        .expect("no second factor")
        .session;
    let second = w
        .people
        .log_in("ada@example.com", PASSWORD, "192.0.2.1", "Chrome")
        .await
        .unwrap()
        .done()
        .expect("no second factor")
        .session;

    // An unknown address gets the same answer, and no email.
    let sent = w.outbox.sent().len();
    w.people
        .request_password_reset("nobody@example.com", "192.0.2.1")
        .await
        .unwrap();
    assert_eq!(w.outbox.sent().len(), sent);

    w.people
        .request_password_reset("ada@example.com", "192.0.2.1")
        .await
        .unwrap();
    let token = w.outbox.last_token("ada@example.com").unwrap();
    let weak = w.people.reset_password(&token, "ada").await.unwrap_err();
    assert!(matches!(weak, PeopleError::PasswordTooShort));
    w.people
        .reset_password(&token, "a brand new password")
        .await
        .unwrap();
    for s in [&first, &second] {
        assert!(matches!(
            w.people.session(&s.cookie).await,
            Err(PeopleError::SessionEnded)
        ));
    }
    let reused = w
        .people
        .reset_password(&token, "yet another password")
        .await
        .unwrap_err();
    assert!(matches!(reused, PeopleError::InvalidLink));
    assert!(
        w.people
            .log_in("ada@example.com", PASSWORD, "192.0.2.1", "Firefox")
            .await
            .is_err(),
        "the old password is gone"
    );
    w.people
        .log_in(
            "ada@example.com",
            "a brand new password",
            "192.0.2.1",
            "Firefox",
        )
        .await
        .unwrap()
        .done()
        .expect("no second factor");
    let notice = w.outbox.sent_to("ada@example.com").pop().unwrap();
    assert_eq!(notice.subject, "Your password was changed");

    // A reset link expires after an hour.
    w.people
        .request_password_reset("ada@example.com", "192.0.2.1")
        .await
        .unwrap();
    let token = w.outbox.last_token("ada@example.com").unwrap();
    let late = later(&w.people, 3601)
        .reset_password(&token, "too late password")
        .await
        .unwrap_err();
    assert!(matches!(late, PeopleError::InvalidLink));
}

#[tokio::test]
async fn changing_the_password_keeps_this_session_and_ends_the_others() {
    let w = world(Signup::Open);
    w.member("ada@example.com").await;
    let here = w
        .people
        .log_in("ada@example.com", PASSWORD, "192.0.2.1", "Firefox")
        .await
        .unwrap()
        .done()
        .expect("no second factor")
        .session;
    let elsewhere = w
        .people
        .log_in("ada@example.com", PASSWORD, "198.51.100.1", "Chrome")
        .await
        .unwrap()
        .done()
        .expect("no second factor")
        .session;
    let wrong = w
        .people
        .change_password(&here.session, "not my password", "a brand new password")
        .await
        .unwrap_err();
    assert!(matches!(wrong, PeopleError::WrongCurrentPassword));
    assert_eq!(wrong.field(), Some("current_password"));
    w.people
        .change_password(&here.session, PASSWORD, "a brand new password")
        .await
        .unwrap();
    w.people.session(&here.cookie).await.unwrap();
    assert!(w.people.session(&elsewhere.cookie).await.is_err());
    w.people
        .log_in(
            "ada@example.com",
            "a brand new password",
            "192.0.2.1",
            "Firefox",
        )
        .await
        .unwrap()
        .done()
        .expect("no second factor");
}

#[tokio::test]
async fn a_login_from_a_new_device_or_address_is_recorded_and_reported() {
    let w = world(Signup::Open);
    w.member("ada@example.com").await;
    let log_in = async |address: &str, agent: &str| {
        w.people
            .log_in("ada@example.com", PASSWORD, address, agent)
            .await
            .unwrap()
            .done()
            .expect("no second factor")
            .event
    };
    let notices = || {
        w.outbox
            .sent_to("ada@example.com")
            .into_iter()
            .filter(|e| e.subject == "A new login to your imini account")
            .collect::<Vec<_>>()
    };
    let first = log_in("192.0.2.1", "Firefox").await;
    assert!(
        !first.new_device && !first.new_address,
        "a first login is not news"
    );
    let same = log_in("192.0.2.1", "Firefox").await;
    assert!(!same.new_device && !same.new_address);
    assert!(notices().is_empty());

    let phone = log_in("2001:db8:1:2::10", "Safari on iPhone").await;
    assert!(phone.new_device && phone.new_address);
    let notice = notices().pop().expect("a notice");
    assert!(notice.body.contains("2001:db8:1:2::10") && notice.body.contains("Safari on iPhone"));
    // Another address in the same IPv6 /64 is the same network.
    let roamed = log_in("2001:db8:1:2::99", "Safari on iPhone").await;
    assert!(!roamed.new_device && !roamed.new_address);
    assert_eq!(notices().len(), 1);

    let events = w.people.login_events(&first.login_id, 10).await.unwrap();
    assert_eq!(events.len(), 4);
    assert_eq!(events[0].id, roamed.id, "newest first");
    assert!(events[1].new_device && events[1].new_address);
}

#[tokio::test]
async fn a_form_passes_only_with_its_own_sessions_csrf_token() {
    let w = world(Signup::Open);
    w.member("ada@example.com").await;
    let a = w
        .people
        .log_in("ada@example.com", PASSWORD, "192.0.2.1", "Firefox")
        .await
        .unwrap()
        .done()
        .expect("no second factor")
        .session
        .session;
    let b = w
        .people
        .log_in("ada@example.com", PASSWORD, "192.0.2.1", "Firefox")
        .await
        .unwrap()
        .done()
        .expect("no second factor")
        .session
        .session;
    let token = People::csrf_token(&a).to_string();
    assert_eq!(token.len(), 43);
    People::check_csrf(&a, &token).unwrap();
    for wrong in [People::csrf_token(&b), "", &token[..42]] {
        let refused = People::check_csrf(&a, wrong).unwrap_err();
        assert!(matches!(refused, PeopleError::CsrfMismatch), "{wrong:?}");
    }
}

//! The behaviour every [`PeopleStore`] must have, as tests an
//! implementation runs with `suite!(fresh)`, where `fresh()` returns a
//! guard (dropped after the test) and an empty store.

use std::sync::Arc;

use super::{
    Login, LoginEvent, PeopleStore, PeopleStoreError, Role, SecondFactor, Session, Token, TokenKind,
};

/// The tests, for an implementation's `fresh` constructor.
macro_rules! suite {
    ($fresh:path) => {
        $crate::store::people::conformance::suite!(@tests $fresh;
            a_login_reads_back_and_its_email_is_unique,
            concurrent_login_changes_all_land,
            a_second_factor_reads_back_and_is_removed,
            a_session_is_found_by_its_hash_until_revoked,
            a_token_works_once_for_its_purpose_until_it_expires,
            of_concurrent_consumers_of_a_token_exactly_one_wins,
            new_devices_and_addresses_are_told_apart,
            expired_sessions_and_tokens_are_purged,
        );
    };
    (@tests $fresh:path; $($name:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $name() {
                let (_guard, store) = $fresh();
                $crate::store::people::conformance::$name(store).await;
            }
        )*
    };
}
pub(crate) use suite;

pub(crate) fn login(id: &str, email: &str) -> Login {
    Login {
        id: id.to_string(),
        email: email.to_string(),
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaA".into(),
        account_id: format!("acct_of_{id}"),
        role: Role::User,
        email_verified_at: None,
        created_at: "2026-12-06T00:00:00Z".into(),
        disabled: false,
        second_factor: None,
    }
}

pub(crate) fn session(id: &str, login_id: &str, hash: &str) -> Session {
    Session {
        id: id.to_string(),
        login_id: login_id.to_string(),
        hash: hash.to_string(),
        created_at: 1_000,
        last_seen_at: 1_000,
        expires_at: 10_000,
        user_agent: "Firefox".into(),
        address: "192.0.2.1".into(),
        csrf_secret: format!("csrf-{id}"),
    }
}

pub(crate) fn token(hash: &str, kind: TokenKind, expires_at: i64) -> Token {
    Token {
        hash: hash.to_string(),
        kind,
        login_id: Some("user_a".into()),
        email: "a@example.com".into(),
        role: (kind == TokenKind::Invite).then_some(Role::Support),
        created_at: 1_000,
        expires_at,
    }
}

pub(crate) fn event(id: &str, login_id: &str, at: i64) -> LoginEvent {
    LoginEvent {
        id: id.to_string(),
        login_id: login_id.to_string(),
        at,
        address: "192.0.2.1".into(),
        user_agent: "Firefox".into(),
        new_device: false,
        new_address: false,
    }
}

pub(crate) async fn a_login_reads_back_and_its_email_is_unique(store: Arc<dyn PeopleStore>) {
    store
        .insert_login(&login("user_a", "a@example.com"))
        .await
        .unwrap();
    store
        .insert_login(&login("user_b", "b@example.com"))
        .await
        .unwrap();
    assert_eq!(
        store.login("user_a").await.unwrap(),
        Some(login("user_a", "a@example.com"))
    );
    assert_eq!(
        store
            .login_by_email("b@example.com")
            .await
            .unwrap()
            .map(|l| l.id),
        Some("user_b".into())
    );
    assert!(
        store
            .login_by_email("c@example.com")
            .await
            .unwrap()
            .is_none()
    );

    let taken = store.insert_login(&login("user_c", "a@example.com")).await;
    assert!(
        matches!(taken, Err(PeopleStoreError::EmailTaken)),
        "{taken:?}"
    );
    assert!(store.login("user_c").await.unwrap().is_none(), "not stored");

    // A change that takes another's address is refused whole.
    let refused = store
        .update_login("user_b", &mut |l| {
            l.email = "a@example.com".into();
            l.disabled = true;
        })
        .await;
    assert!(
        matches!(refused, Err(PeopleStoreError::EmailTaken)),
        "{refused:?}"
    );
    assert!(!store.login("user_b").await.unwrap().unwrap().disabled);

    // A change of address moves the login's index entry.
    let moved = store
        .update_login("user_b", &mut |l| {
            l.email = "b2@example.com".into();
            l.role = Role::Operator;
        })
        .await
        .unwrap();
    assert_eq!(
        (moved.email.as_str(), moved.role),
        ("b2@example.com", Role::Operator)
    );
    assert!(
        store
            .login_by_email("b@example.com")
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        store.login_by_email("b2@example.com").await.unwrap(),
        Some(moved)
    );
    // The old address is free again.
    store
        .insert_login(&login("user_c", "b@example.com"))
        .await
        .unwrap();

    let missing = store.update_login("user_z", &mut |_| {}).await;
    assert!(matches!(missing, Err(PeopleStoreError::NotFound)));

    let ids = |logins: Vec<Login>| logins.into_iter().map(|l| l.id).collect::<Vec<_>>();
    assert_eq!(
        ids(store.logins(None, 10).await.unwrap()),
        ["user_a", "user_b", "user_c"]
    );
    assert_eq!(
        ids(store.logins(None, 2).await.unwrap()),
        ["user_a", "user_b"]
    );
    assert_eq!(
        ids(store.logins(Some("user_b"), 10).await.unwrap()),
        ["user_c"]
    );
}

pub(crate) async fn concurrent_login_changes_all_land(store: Arc<dyn PeopleStore>) {
    store
        .insert_login(&login("user_a", "a@example.com"))
        .await
        .unwrap();
    let changes: Vec<_> = (0..32)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .update_login("user_a", &mut |l| {
                        // Read-modify-write of the same record: each change
                        // appends to what the one before left.
                        l.password_hash.push(if i % 2 == 0 { 'x' } else { 'y' });
                    })
                    .await
                    .unwrap();
            })
        })
        .collect();
    for change in changes {
        change.await.unwrap();
    }
    let hash = store.login("user_a").await.unwrap().unwrap().password_hash;
    let added: String = hash.chars().filter(|c| *c == 'x' || *c == 'y').collect();
    assert_eq!(added.len(), 32, "no change was lost: {hash}");
}

pub(crate) async fn a_second_factor_reads_back_and_is_removed(store: Arc<dyn PeopleStore>) {
    let factor = SecondFactor {
        secret: "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP".into(),
        since: "2026-12-06T10:00:00Z".into(),
        last_step: 59_000_000,
        recovery_codes: vec!["a1".into(), "b2".into()],
    };
    let mut with = login("user_a", "a@example.com");
    with.second_factor = Some(factor.clone());
    store.insert_login(&with).await.unwrap();
    assert_eq!(store.login("user_a").await.unwrap(), Some(with.clone()));

    // The last step moves on, and only a change that sees the current
    // step decides (a code used twice at once is accepted once).
    let used: Vec<_> = (0..8)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move {
                let mut accepted = false;
                store
                    .update_login("user_a", &mut |l| {
                        accepted = false;
                        if let Some(f) = l.second_factor.as_mut()
                            && f.last_step < 59_000_001
                        {
                            f.last_step = 59_000_001;
                            accepted = true;
                        }
                    })
                    .await
                    .unwrap();
                accepted
            })
        })
        .collect();
    let mut accepted = 0;
    for u in used {
        accepted += usize::from(u.await.unwrap());
    }
    assert_eq!(accepted, 1, "one of concurrent uses of a step is accepted");
    let read = store.login("user_a").await.unwrap().unwrap();
    assert_eq!(read.second_factor.unwrap().last_step, 59_000_001);

    // A recovery code is taken out of the list, and stays out.
    store
        .update_login("user_a", &mut |l| {
            if let Some(f) = l.second_factor.as_mut() {
                f.recovery_codes.retain(|c| c != "a1");
            }
        })
        .await
        .unwrap();
    let read = store.login("user_a").await.unwrap().unwrap();
    assert_eq!(read.second_factor.unwrap().recovery_codes, ["b2"]);

    let removed = store
        .update_login("user_a", &mut |l| l.second_factor = None)
        .await
        .unwrap();
    assert_eq!(removed.second_factor, None);
    assert_eq!(
        store.login("user_a").await.unwrap().unwrap().second_factor,
        None
    );

    store
        .insert_token(&token("t3", TokenKind::SecondFactor, 5_000))
        .await
        .unwrap();
    assert!(
        store
            .consume_token("t3", TokenKind::SecondFactor, 4_000)
            .await
            .unwrap()
            .is_some(),
        "a second-factor token is stored and taken like the others"
    );
}

pub(crate) async fn a_session_is_found_by_its_hash_until_revoked(store: Arc<dyn PeopleStore>) {
    store
        .insert_login(&login("user_a", "a@example.com"))
        .await
        .unwrap();
    store
        .insert_login(&login("user_b", "b@example.com"))
        .await
        .unwrap();
    for (id, login_id, hash) in [
        ("sess_1", "user_a", "h1"),
        ("sess_2", "user_a", "h2"),
        ("sess_3", "user_a", "h3"),
        ("sess_4", "user_b", "h4"),
    ] {
        store
            .insert_session(&session(id, login_id, hash))
            .await
            .unwrap();
    }
    let again = store
        .insert_session(&session("sess_5", "user_a", "h1"))
        .await;
    assert!(
        matches!(again, Err(PeopleStoreError::Exists(_))),
        "{again:?}"
    );

    assert_eq!(
        store.session_by_hash("h2").await.unwrap(),
        Some(session("sess_2", "user_a", "h2"))
    );
    assert!(store.session_by_hash("h9").await.unwrap().is_none());
    let ids = |sessions: Vec<Session>| sessions.into_iter().map(|s| s.id).collect::<Vec<_>>();
    assert_eq!(
        ids(store.sessions_of("user_a").await.unwrap()),
        ["sess_1", "sess_2", "sess_3"]
    );

    // A use moves last_seen_at forward only, and nothing else.
    store
        .touch_session("user_a", "sess_2", 2_000)
        .await
        .unwrap();
    store
        .touch_session("user_a", "sess_2", 1_500)
        .await
        .unwrap();
    let touched = store.session_by_hash("h2").await.unwrap().unwrap();
    assert_eq!(touched.last_seen_at, 2_000);
    assert_eq!(touched.expires_at, 10_000);
    // A use of an ended session does not bring it back.
    store
        .touch_session("user_a", "sess_9", 2_000)
        .await
        .unwrap();
    assert!(store.session_by_hash("h9").await.unwrap().is_none());

    assert!(store.revoke_session("user_a", "sess_1").await.unwrap());
    assert!(!store.revoke_session("user_a", "sess_1").await.unwrap());
    assert!(
        !store.revoke_session("user_a", "sess_4").await.unwrap(),
        "another login's session is not this login's to end"
    );
    assert!(store.session_by_hash("h1").await.unwrap().is_none());

    // All but the current one.
    assert_eq!(
        store
            .revoke_sessions("user_a", Some("sess_3"))
            .await
            .unwrap(),
        1
    );
    assert_eq!(ids(store.sessions_of("user_a").await.unwrap()), ["sess_3"]);
    assert!(store.session_by_hash("h2").await.unwrap().is_none());
    assert_eq!(store.revoke_sessions("user_a", None).await.unwrap(), 1);
    assert!(store.sessions_of("user_a").await.unwrap().is_empty());
    assert!(store.session_by_hash("h3").await.unwrap().is_none());
    assert_eq!(
        ids(store.sessions_of("user_b").await.unwrap()),
        ["sess_4"],
        "another login's sessions are kept"
    );
}

pub(crate) async fn a_token_works_once_for_its_purpose_until_it_expires(
    store: Arc<dyn PeopleStore>,
) {
    store
        .insert_token(&token("t1", TokenKind::ResetPassword, 5_000))
        .await
        .unwrap();
    store
        .insert_token(&token("t2", TokenKind::Invite, 5_000))
        .await
        .unwrap();
    let again = store
        .insert_token(&token("t1", TokenKind::VerifyEmail, 9_000))
        .await;
    assert!(
        matches!(again, Err(PeopleStoreError::Exists(_))),
        "{again:?}"
    );

    assert!(
        store
            .consume_token("t1", TokenKind::VerifyEmail, 2_000)
            .await
            .unwrap()
            .is_none(),
        "a reset token does not verify an email"
    );
    assert!(
        store
            .consume_token("t1", TokenKind::ResetPassword, 5_000)
            .await
            .unwrap()
            .is_none(),
        "expired at 5000"
    );
    assert_eq!(
        store
            .consume_token("t1", TokenKind::ResetPassword, 4_999)
            .await
            .unwrap(),
        Some(token("t1", TokenKind::ResetPassword, 5_000)),
        "neither attempt used it up"
    );
    assert!(
        store
            .consume_token("t1", TokenKind::ResetPassword, 4_999)
            .await
            .unwrap()
            .is_none(),
        "used once"
    );
    let invite = store
        .consume_token("t2", TokenKind::Invite, 2_000)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(invite.role, Some(Role::Support));
    assert!(
        store
            .consume_token("t9", TokenKind::Invite, 2_000)
            .await
            .unwrap()
            .is_none()
    );
}

pub(crate) async fn of_concurrent_consumers_of_a_token_exactly_one_wins(
    store: Arc<dyn PeopleStore>,
) {
    for round in 0..5 {
        let hash = format!("race{round}");
        store
            .insert_token(&token(&hash, TokenKind::ResetPassword, 5_000))
            .await
            .unwrap();
        let barrier = Arc::new(tokio::sync::Barrier::new(16));
        let consumers: Vec<_> = (0..16)
            .map(|_| {
                let (store, hash, barrier) = (store.clone(), hash.clone(), barrier.clone());
                tokio::spawn(async move {
                    barrier.wait().await;
                    store
                        .consume_token(&hash, TokenKind::ResetPassword, 2_000)
                        .await
                        .unwrap()
                        .is_some()
                })
            })
            .collect();
        let mut winners = 0;
        for consumer in consumers {
            winners += usize::from(consumer.await.unwrap());
        }
        assert_eq!(winners, 1, "round {round}");
    }
}

pub(crate) async fn new_devices_and_addresses_are_told_apart(store: Arc<dyn PeopleStore>) {
    store
        .insert_login(&login("user_a", "a@example.com"))
        .await
        .unwrap();
    store
        .insert_login(&login("user_b", "b@example.com"))
        .await
        .unwrap();
    let record = async |id: &str, login_id: &str, device: &str, address: &str| {
        let e = store
            .record_login(&event(id, login_id, 1_000), device, address)
            .await
            .unwrap();
        (e.new_device, e.new_address)
    };
    assert_eq!(
        record("lev_1", "user_a", "firefox", "192.0.2.1").await,
        (false, false),
        "a first login is nothing unusual"
    );
    assert_eq!(
        record("lev_2", "user_a", "firefox", "192.0.2.1").await,
        (false, false)
    );
    assert_eq!(
        record("lev_3", "user_a", "chrome", "192.0.2.1").await,
        (true, false)
    );
    assert_eq!(
        record("lev_4", "user_a", "firefox", "198.51.100.7").await,
        (false, true)
    );
    assert_eq!(
        record("lev_5", "user_a", "curl", "2001:db8::/64").await,
        (true, true)
    );
    assert_eq!(
        record("lev_6", "user_a", "chrome", "2001:db8::/64").await,
        (false, false)
    );
    // Known to user_a, not to user_b, whose first login it is.
    assert_eq!(
        record("lev_7", "user_b", "curl", "203.0.113.9").await,
        (false, false)
    );
    assert_eq!(
        record("lev_8", "user_b", "chrome", "203.0.113.9").await,
        (true, false)
    );

    let events = store.login_events("user_a", 3).await.unwrap();
    let ids: Vec<_> = events.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(ids, ["lev_6", "lev_5", "lev_4"], "newest first");
    assert!(events[1].new_device && events[1].new_address);
    assert_eq!(
        events[1].address, "192.0.2.1",
        "the event keeps what it was given"
    );
    assert_eq!(store.login_events("user_a", 100).await.unwrap().len(), 6);
    assert_eq!(store.login_events("user_b", 100).await.unwrap().len(), 2);
}

pub(crate) async fn expired_sessions_and_tokens_are_purged(store: Arc<dyn PeopleStore>) {
    store
        .insert_login(&login("user_a", "a@example.com"))
        .await
        .unwrap();
    let mut ended = session("sess_1", "user_a", "h1");
    ended.expires_at = 2_000;
    ended.last_seen_at = 1_900;
    let mut idle = session("sess_2", "user_a", "h2");
    idle.last_seen_at = 1_100;
    let mut live = session("sess_3", "user_a", "h3");
    live.last_seen_at = 2_900;
    for s in [&ended, &idle, &live] {
        store.insert_session(s).await.unwrap();
    }
    store
        .insert_token(&token("t_old", TokenKind::VerifyEmail, 2_000))
        .await
        .unwrap();
    store
        .insert_token(&token("t_new", TokenKind::VerifyEmail, 9_000))
        .await
        .unwrap();
    // At 3000, sessions idle since before 1500 have ended.
    assert_eq!(store.purge_expired(3_000, 1_500).await.unwrap(), 3);
    let left: Vec<_> = store
        .sessions_of("user_a")
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.id)
        .collect();
    assert_eq!(left, ["sess_3"]);
    assert!(store.session_by_hash("h1").await.unwrap().is_none());
    assert!(store.session_by_hash("h2").await.unwrap().is_none());
    assert!(
        store
            .consume_token("t_new", TokenKind::VerifyEmail, 3_000)
            .await
            .unwrap()
            .is_some()
    );
    assert_eq!(store.purge_expired(3_000, 1_500).await.unwrap(), 0);
}

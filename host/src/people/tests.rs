//! The service as a person meets it: signing up in each mode, invitations,
//! confirming an address, logging in (wrong passwords, throttling, new
//! devices), sessions ending, password resets and changes, and the forms'
//! CSRF tokens. On sled, with the in-process limiter and an outbox.

use std::sync::Arc;

use super::mail::Outbox;
use super::password::Cost;
use super::{People, PeopleError, Role, network_of};
use crate::accounts::Accounts;
use crate::config::{AccountsConfig, Signup};
use crate::ratelimit::Limiter;
use crate::store::Store;
use crate::store::accounts::EmbeddedAccounts;
use crate::store::people::EmbeddedPeople;
use crate::time::Clock;

mod second_factor;
mod sessions;

const PASSWORD: &str = "correct horse battery";

struct World {
    people: People,
    outbox: Arc<Outbox>,
    accounts: Accounts,
    _dir: tempfile::TempDir,
}

fn world(signup: Signup) -> World {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let accounts = Accounts::new(Arc::new(EmbeddedAccounts::new(&store).unwrap()));
    let outbox = Arc::new(Outbox::default());
    let config = AccountsConfig {
        signup,
        ..AccountsConfig::default()
    };
    let people = People::new(
        Arc::new(EmbeddedPeople::new(&store).unwrap()),
        accounts.clone(),
        Arc::new(Limiter::default()),
        outbox.clone(),
        config,
        "https://gw.example.com/",
    )
    .with_cost(Cost::TEST);
    World {
        people,
        outbox,
        accounts,
        _dir: dir,
    }
}

impl World {
    /// Signs `email` up (open mode) and follows the link it was sent.
    async fn member(&self, email: &str) {
        self.people.sign_up(email, PASSWORD).await.unwrap();
        let token = self.outbox.last_token(email).expect("a link was sent");
        self.people.verify_email(&token).await.unwrap();
    }
}

/// `after` seconds from now.
fn later(people: &People, after: i64) -> People {
    people.with_clock(Clock::shifted(after))
}

#[tokio::test]
async fn open_sign_up_makes_an_account_and_a_login_that_waits_for_its_address() {
    let w = world(Signup::Open);
    w.people
        .sign_up("  Ada@Example.COM ", PASSWORD)
        .await
        .unwrap();
    let mail = w.outbox.sent_to("ada@example.com");
    assert_eq!(mail.len(), 1, "{mail:?}");
    assert!(
        mail[0]
            .body
            .contains("https://gw.example.com/console/verify-email?token="),
        "{}",
        mail[0].body
    );

    let refused = w
        .people
        .log_in("ada@example.com", PASSWORD, "192.0.2.1", "Firefox")
        .await
        .unwrap_err();
    assert!(
        matches!(refused, PeopleError::EmailNotVerified),
        "{refused}"
    );

    let token = w.outbox.last_token("ada@example.com").unwrap();
    let login = w.people.verify_email(&token).await.unwrap();
    assert!(login.email_verified_at.is_some());
    assert_eq!(login.role, Role::User);
    let again = w.people.verify_email(&token).await.unwrap_err();
    assert!(
        matches!(again, PeopleError::InvalidLink),
        "a link works once"
    );

    let logged_in = w
        .people
        .log_in("ADA@example.com", PASSWORD, "192.0.2.1", "Firefox")
        .await
        .unwrap()
        .done()
        .expect("no second factor");
    assert_eq!(logged_in.login.id, login.id);
    let account = w.accounts.get(&login.account_id).await.unwrap();
    assert_eq!(account.email, "ada@example.com", "sign-up made the account");
    assert_eq!(logged_in.session.cookie.len(), 43, "32 bytes in base64url");
}

#[tokio::test]
async fn signing_up_with_a_taken_address_answers_the_same_and_tells_its_owner() {
    let w = world(Signup::Open);
    w.member("ada@example.com").await;
    w.people
        .sign_up("ada@example.com", "another password")
        .await
        .expect("the same answer as for a new address");
    let last = w.outbox.sent_to("ada@example.com").pop().unwrap();
    assert_eq!(last.subject, "You already have a login");
    assert_eq!(w.people.logins(None, 10).await.unwrap().len(), 1);
    // The password stays the owner's.
    let refused = w
        .people
        .log_in(
            "ada@example.com",
            "another password",
            "192.0.2.1",
            "Firefox",
        )
        .await
        .unwrap_err();
    assert!(matches!(refused, PeopleError::WrongCredentials));
    w.people
        .log_in("ada@example.com", PASSWORD, "192.0.2.1", "Firefox")
        .await
        .unwrap()
        .done()
        .expect("no second factor");
}

#[tokio::test]
async fn invite_only_and_closed_gateways_refuse_sign_ups() {
    let invite = world(Signup::Invite);
    let refused = invite
        .people
        .sign_up("ada@example.com", PASSWORD)
        .await
        .unwrap_err();
    assert!(matches!(refused, PeopleError::InviteOnly));
    assert!(refused.to_string().contains("invitation"), "{refused}");

    let closed = world(Signup::Closed);
    let refused = closed
        .people
        .sign_up("ada@example.com", PASSWORD)
        .await
        .unwrap_err();
    assert!(matches!(refused, PeopleError::SignupClosed));
    let refused = closed
        .people
        .invite("ada@example.com", Role::Support)
        .await
        .unwrap_err();
    assert!(matches!(refused, PeopleError::SignupClosed));
    assert!(closed.outbox.sent().is_empty());
    assert!(invite.people.logins(None, 10).await.unwrap().is_empty());
}

#[tokio::test]
async fn an_invitation_makes_a_confirmed_login_with_its_role_once() {
    let w = world(Signup::Invite);
    let invitation = w
        .people
        .invite("Grace@Example.com", Role::Support)
        .await
        .unwrap();
    assert!(
        invitation
            .link
            .starts_with("https://gw.example.com/console/accept-invite?token="),
        "{}",
        invitation.link
    );
    let token = w.outbox.last_token("grace@example.com").unwrap();
    assert!(
        invitation.link.ends_with(&token),
        "the emailed link is the one returned"
    );

    // A refused password does not use the invitation up.
    let weak = w.people.accept_invite(&token, "short").await.unwrap_err();
    assert!(matches!(weak, PeopleError::PasswordTooShort));
    assert_eq!(weak.field(), Some("password"));
    let login = w.people.accept_invite(&token, PASSWORD).await.unwrap();
    assert_eq!(login.role, Role::Support);
    assert_eq!(login.email, "grace@example.com");
    assert!(
        login.email_verified_at.is_some(),
        "the link proved the address"
    );
    w.people
        .log_in("grace@example.com", PASSWORD, "192.0.2.1", "Firefox")
        .await
        .unwrap()
        .done()
        .expect("no second factor");
    let reused = w.people.accept_invite(&token, PASSWORD).await.unwrap_err();
    assert!(matches!(reused, PeopleError::InvalidLink));
    let taken = w
        .people
        .invite("grace@example.com", Role::User)
        .await
        .unwrap_err();
    assert!(matches!(taken, PeopleError::EmailTaken));
    assert_eq!(taken.field(), Some("email"));
}

#[tokio::test]
async fn new_passwords_and_addresses_must_be_sound() {
    let w = world(Signup::Open);
    for (email, password, field, words) in [
        (
            "ada@example.com",
            "short",
            "password",
            "at least 10 characters",
        ),
        (
            "ada@example.com",
            &"x".repeat(129),
            "password",
            "at most 128 characters",
        ),
        (
            "ada@example.com",
            "ADA@EXAMPLE.COM",
            "password",
            "not your email address",
        ),
        (
            "adalovelace@example.com",
            "AdaLovelace",
            "password",
            "not your email address",
        ),
        (
            "ada.example.com",
            PASSWORD,
            "email",
            "Enter an email address",
        ),
        ("ada@localhost", PASSWORD, "email", "Enter an email address"),
        (
            "ada @example.com",
            PASSWORD,
            "email",
            "Enter an email address",
        ),
    ] {
        let refused = w.people.sign_up(email, password).await.unwrap_err();
        assert_eq!(
            refused.field(),
            Some(field),
            "{email} {password}: {refused}"
        );
        assert!(
            refused.to_string().contains(words),
            "{email} {password}: {refused}"
        );
    }
    assert!(w.outbox.sent().is_empty());
    assert!(w.people.logins(None, 10).await.unwrap().is_empty());
}

#[tokio::test]
async fn a_wrong_password_and_an_unknown_address_get_the_same_answer() {
    let w = world(Signup::Open);
    w.member("ada@example.com").await;
    let wrong = w
        .people
        .log_in("ada@example.com", "wrong password", "192.0.2.1", "Firefox")
        .await
        .unwrap_err();
    let unknown = w
        .people
        .log_in("bob@example.com", PASSWORD, "192.0.2.1", "Firefox")
        .await
        .unwrap_err();
    let malformed = w
        .people
        .log_in("bob", PASSWORD, "192.0.2.1", "Firefox")
        .await
        .unwrap_err();
    for e in [&wrong, &unknown, &malformed] {
        assert!(matches!(e, PeopleError::WrongCredentials), "{e}");
        assert_eq!(
            e.to_string(),
            "The email address or the password is not right."
        );
        assert_eq!(e.field(), None);
    }
}

#[tokio::test]
async fn the_sixth_attempt_within_a_minute_is_throttled() {
    let w = world(Signup::Open);
    w.member("ada@example.com").await;
    for attempt in 1..=5 {
        let e = w
            .people
            .log_in("ada@example.com", "wrong password", "192.0.2.1", "Firefox")
            .await
            .unwrap_err();
        assert!(
            matches!(e, PeopleError::WrongCredentials),
            "attempt {attempt}: {e}"
        );
    }
    // The sixth, even with the right password, is not checked.
    let throttled = w
        .people
        .log_in("ada@example.com", PASSWORD, "198.51.100.1", "Firefox")
        .await
        .unwrap_err();
    let PeopleError::Throttled { retry_after_secs } = throttled else {
        panic!("{throttled}");
    };
    assert!((1..=12).contains(&retry_after_secs), "{retry_after_secs}");
    assert!(
        throttled
            .to_string()
            .starts_with("Too many attempts. Wait ")
    );

    // Per address too: 20 attempts a minute from one address, whatever
    // the email addresses.
    for i in 0..20 {
        let e = w
            .people
            .log_in(
                &format!("guess{i}@example.com"),
                PASSWORD,
                "203.0.113.5",
                "curl",
            )
            .await
            .unwrap_err();
        assert!(matches!(e, PeopleError::WrongCredentials), "guess {i}: {e}");
    }
    let throttled = w
        .people
        .log_in("guess20@example.com", PASSWORD, "203.0.113.5", "curl")
        .await
        .unwrap_err();
    assert!(
        matches!(throttled, PeopleError::Throttled { .. }),
        "{throttled}"
    );
}

#[tokio::test]
async fn a_hash_under_older_parameters_is_replaced_at_login() {
    let w = world(Signup::Open);
    w.member("ada@example.com").await;
    let before = w.people.logins(None, 1).await.unwrap().remove(0);
    assert!(before.password_hash.contains("m=8,t=1,p=1"));
    let stronger = w.people.clone().with_cost(Cost {
        memory_kib: 64,
        iterations: 1,
        parallelism: 1,
    });
    let after = stronger
        .log_in("ada@example.com", PASSWORD, "192.0.2.1", "Firefox")
        .await
        .unwrap()
        .done()
        .expect("no second factor")
        .login;
    assert!(
        after.password_hash.contains("m=64,t=1,p=1"),
        "{}",
        after.password_hash
    );
    stronger
        .log_in("ada@example.com", PASSWORD, "192.0.2.1", "Firefox")
        .await
        .unwrap()
        .done()
        .expect("no second factor");
}

#[test]
fn addresses_are_compared_by_network() {
    assert_eq!(network_of("192.0.2.1"), "192.0.2.1");
    assert_eq!(network_of(" 2001:db8:1:2::10 "), "2001:db8:1:2::/64");
    assert_eq!(network_of("::ffff:192.0.2.1"), "192.0.2.1");
    assert_eq!(network_of("unix socket"), "unix socket");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_count_attempts_together_in_redis_and_refuse_logins_without_it() {
    use crate::ratelimit::RedisLimiter;
    use crate::ratelimit::redis::tests::TestPrefix;

    let w = world(Signup::Open);
    w.member("ada@example.com").await;
    let prefix = TestPrefix::new();
    // Two gateways on one database, each with its own connection to Redis.
    let replicas: Vec<People> = (0..2)
        .map(|_| People {
            limiter: Arc::new(Limiter::Redis(prefix.limiter())),
            ..w.people.clone()
        })
        .collect();
    for attempt in 0..5 {
        let e = replicas[attempt % 2]
            .log_in("ada@example.com", "wrong password", "192.0.2.1", "Firefox")
            .await
            .unwrap_err();
        assert!(
            matches!(e, PeopleError::WrongCredentials),
            "attempt {attempt}: {e}"
        );
    }
    for replica in &replicas {
        let e = replica
            .log_in("ada@example.com", PASSWORD, "192.0.2.1", "Firefox")
            .await
            .unwrap_err();
        assert!(matches!(e, PeopleError::Throttled { .. }), "{e}");
    }

    // Nothing listens on port 1: attempts cannot be counted, so none is
    // let through.
    let down = People {
        limiter: Arc::new(Limiter::Redis(
            RedisLimiter::new("redis://127.0.0.1:1", "imini_t_down:").unwrap(),
        )),
        ..w.people.clone()
    };
    let e = down
        .log_in("ada@example.com", PASSWORD, "192.0.2.1", "Firefox")
        .await
        .unwrap_err();
    assert!(matches!(e, PeopleError::Unavailable), "{e}");
}

#[tokio::test(flavor = "current_thread")]
async fn hashing_leaves_the_async_thread_free() {
    use std::sync::atomic::{AtomicU64, Ordering};

    let w = world(Signup::Open);
    // The real cost: tens of milliseconds of work.
    let people = w.people.clone().with_cost(Cost::OWASP);
    let ticks = Arc::new(AtomicU64::new(0));
    let ticker = tokio::spawn({
        let ticks = ticks.clone();
        async move {
            loop {
                tokio::time::sleep(std::time::Duration::from_millis(1)).await;
                ticks.fetch_add(1, Ordering::Relaxed);
            }
        }
    });
    tokio::task::yield_now().await;
    let before = ticks.load(Ordering::Relaxed);
    let phc = people.hash(PASSWORD).await.unwrap();
    let during = ticks.load(Ordering::Relaxed) - before;
    ticker.abort();
    assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
    // On one thread, a hash run in place would let no other task run.
    assert!(
        during > 0,
        "the only async thread was blocked while hashing"
    );
}

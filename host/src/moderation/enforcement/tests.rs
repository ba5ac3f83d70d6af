//! Tests of enforcement: interrupted steps finished at start, operators'
//! actions, concurrent strikes.

use std::path::Path;
use std::sync::Arc;

use super::{Step, Verdict};
use crate::accounts::{AccountError, AccountStatus, Accounts, KeyStatus};
use crate::config::ModerationConfig;
use crate::moderation::{Bindings, Caller, Moderation, ModerationParts};
use crate::store::Store;
use crate::store::accounts::EmbeddedAccounts;
use crate::store::moderation::conformance;
use crate::store::moderation::{Decision, EmbeddedModeration, NoticeAction, NoticeStatus};

/// The services over the data directory `dir`, as a start opens them.
async fn start(dir: &Path, config: ModerationConfig) -> (Accounts, Moderation) {
    let store = Store::reopen(dir, crate::store::backend::DEFAULT_CACHE_MB << 20)
        .await
        .unwrap();
    let accounts = Accounts::new(Arc::new(EmbeddedAccounts::new(&store).unwrap()));
    let moderation = Moderation::start(ModerationParts {
        bindings: Bindings::default(),
        config,
        store: Arc::new(EmbeddedModeration::open(&store).unwrap()),
        accounts: accounts.clone(),
        clock: crate::time::Clock::shifted(0),
    })
    .await
    .unwrap();
    (accounts, moderation)
}

fn step<'a>(account_id: &'a str, key_id: Option<&'a str>) -> Step<'a> {
    Step {
        notice_id: None,
        account_id,
        key_id,
        action: if key_id.is_some() {
            NoticeAction::KeySuspended
        } else {
            NoticeAction::AccountSuspended
        },
        reason: "refused requests",
        evidence: Vec::new(),
        by: "system",
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_suspension_recorded_but_not_applied_is_applied_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let (account_id, key_id) = {
        let (accounts, moderation) = start(dir.path(), Default::default()).await;
        let account = accounts.create("a@example.com").await.unwrap();
        let key = accounts
            .create_key(&account.id, "k", None, None)
            .await
            .unwrap();
        // Interrupted after each notice's commit group.
        let now = moderation.clock.now();
        for step in [
            step(&account.id, Some(&key.key.id)),
            step(&account.id, None),
        ] {
            moderation.record_step(step, false, now).await.unwrap();
        }
        assert_eq!(
            accounts.key(&key.key.id).await.unwrap().status,
            KeyStatus::Active
        );
        assert_eq!(moderation.store.unsettled().await.unwrap().len(), 2);
        (account.id, key.key.id)
    };
    let (accounts, moderation) = start(dir.path(), Default::default()).await;
    assert_eq!(
        accounts.key(&key_id).await.unwrap().status,
        KeyStatus::Suspended
    );
    assert_eq!(
        accounts.get(&account_id).await.unwrap().status,
        AccountStatus::Suspended
    );
    assert_eq!(moderation.store.unsettled().await.unwrap(), []);
    let notices = moderation.notices_of(&account_id).await.unwrap();
    assert_eq!(notices.len(), 2);
    assert!(notices.iter().all(|n| n.status == NoticeStatus::Open));

    // Settled: an operator's later unsuspension holds across a start.
    accounts
        .set_key_status(&key_id, KeyStatus::Active)
        .await
        .unwrap();
    drop((accounts, moderation));
    let (accounts, _moderation) = start(dir.path(), Default::default()).await;
    assert_eq!(
        accounts.key(&key_id).await.unwrap().status,
        KeyStatus::Active
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_operators_action_is_applied_with_one_settled_notice_and_only_once() {
    let dir = tempfile::tempdir().unwrap();
    let (accounts, moderation) = start(dir.path(), Default::default()).await;
    let account = accounts.create("a@example.com").await.unwrap();
    let key = accounts
        .create_key(&account.id, "k", None, None)
        .await
        .unwrap();
    let key_id = key.key.id.as_str();
    for action in [NoticeAction::KeySuspended, NoticeAction::CreditsFrozen] {
        let key = (action == NoticeAction::KeySuspended).then_some(key_id);
        let notice = moderation
            .enforce_by_admin(&account.id, key, action, Some("  "))
            .await
            .unwrap()
            .expect("a first action records a notice");
        assert_eq!(notice.by, "admin");
        assert_eq!(notice.reason, "by decision of the operator");
        // Already in that state: nothing more is recorded.
        let again = moderation
            .enforce_by_admin(&account.id, key, action, None)
            .await
            .unwrap();
        assert!(again.is_none());
    }
    let notice = moderation
        .enforce_by_admin(
            &account.id,
            None,
            NoticeAction::AccountSuspended,
            Some("unpaid"),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(notice.reason, "unpaid");
    assert_eq!(
        accounts.key(key_id).await.unwrap().status,
        KeyStatus::Suspended
    );
    let after = accounts.get(&account.id).await.unwrap();
    assert_eq!(after.status, AccountStatus::Suspended);
    assert!(after.credits_frozen);
    assert_eq!(moderation.store.unsettled().await.unwrap(), []);
    assert_eq!(moderation.notices_of(&account.id).await.unwrap().len(), 3);

    // A suspended account, or a revoked key, cannot be suspended again.
    let refused = moderation
        .enforce_by_admin(&account.id, None, NoticeAction::AccountSuspended, None)
        .await;
    assert!(
        matches!(refused, Err(AccountError::Conflict(_))),
        "{refused:?}"
    );
    accounts
        .set_key_status(key_id, KeyStatus::Revoked)
        .await
        .unwrap();
    let refused = moderation
        .enforce_by_admin(&account.id, Some(key_id), NoticeAction::KeySuspended, None)
        .await;
    assert!(
        matches!(refused, Err(AccountError::Conflict(_))),
        "{refused:?}"
    );
    assert_eq!(moderation.notices_of(&account.id).await.unwrap().len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_reinstatement_decided_but_not_lifted_is_lifted_at_start_and_never_reapplied() {
    let dir = tempfile::tempdir().unwrap();
    let key_id = {
        let (accounts, moderation) = start(dir.path(), Default::default()).await;
        let account = accounts.create("a@example.com").await.unwrap();
        let key = accounts
            .create_key(&account.id, "k", None, None)
            .await
            .unwrap();
        let notice = moderation
            .record_step(
                step(&account.id, Some(&key.key.id)),
                false,
                moderation.clock.now(),
            )
            .await
            .unwrap();
        moderation.apply(&notice).await.unwrap();
        assert_eq!(
            accounts.key(&key.key.id).await.unwrap().status,
            KeyStatus::Suspended
        );
        let appeal = moderation
            .appeal(&account.id, &notice.id, "a misunderstanding")
            .await
            .unwrap();
        // Interrupted after the decision's commit group.
        let decision = Decision {
            appeal_id: appeal.id,
            verdict: Verdict::Reinstate {
                void_strikes_since: 0,
            },
            decided_at: "2026-12-03T00:00:00Z".into(),
            note: None,
        };
        let entry = conformance::entry("decision", "appeal.reinstated", &account.id);
        moderation
            .store
            .decide_appeal(&decision, &entry)
            .await
            .unwrap();
        assert_eq!(
            accounts.key(&key.key.id).await.unwrap().status,
            KeyStatus::Suspended
        );
        key.key.id
    };
    for _ in 0..2 {
        let (accounts, moderation) = start(dir.path(), Default::default()).await;
        assert_eq!(
            accounts.key(&key_id).await.unwrap().status,
            KeyStatus::Active
        );
        assert_eq!(moderation.store.unsettled().await.unwrap(), []);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_strikes_past_the_threshold_suspend_once() {
    let dir = tempfile::tempdir().unwrap();
    let config = ModerationConfig {
        key_strikes: 3,
        account_strikes: 0,
        ..Default::default()
    };
    let (accounts, moderation) = start(dir.path(), config).await;
    let moderation = Arc::new(moderation);
    let account = accounts.create("a@example.com").await.unwrap();
    let key = accounts
        .create_key(&account.id, "k", None, None)
        .await
        .unwrap();
    let strikes: Vec<_> = (0..12)
        .map(|n| {
            let moderation = moderation.clone();
            let (account_id, key_id) = (account.id.clone(), key.key.id.clone());
            tokio::spawn(async move {
                let flag = conformance::flag(n, &account_id, "deny", Some("violence"));
                let caller = Caller {
                    account_id: &account_id,
                    key_id: Some(&key_id),
                    account: true,
                    request_id: &flag.request_id,
                    task_id: None,
                };
                moderation.strike(&caller, &flag).await.unwrap();
            })
        })
        .collect();
    for strike in strikes {
        strike.await.unwrap();
    }
    assert_eq!(
        accounts.key(&key.key.id).await.unwrap().status,
        KeyStatus::Suspended
    );
    let notices = moderation.notices_of(&account.id).await.unwrap();
    assert_eq!(notices.len(), 1, "{notices:?}");
    assert_eq!(notices[0].action, NoticeAction::KeySuspended);
    assert!(
        notices[0].evidence.len() >= 3,
        "the strikes that reached it"
    );
    assert_eq!(moderation.store.unsettled().await.unwrap(), []);
}

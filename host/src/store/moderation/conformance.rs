//! The behaviour every [`ModerationStore`] must have, as tests an
//! implementation runs with `suite!(fresh)`, where `fresh().await` returns
//! a guard (dropped after the test), an empty store and the audit log its
//! steps write to.

mod appeals;

pub(crate) use appeals::{
    a_reinstatement_voids_the_strikes_and_is_unsettled_until_lifted,
    a_second_appeal_of_a_notice_is_refused, a_second_decision_is_refused,
    an_appeal_of_another_accounts_notice_is_refused, appeals_are_listed_by_account_and_state,
};

use std::sync::Arc;

use serde_json::json;

use super::{
    Appeal, AppealError, AppealStatus, Decision, Effect, Flag, FlagQuery, ModerationStore, Notice,
    NoticeAction, NoticeStatus, Strike, Verdict,
};
use crate::store::StoreError;
use crate::store::audit::{AuditEntry, AuditQuery, AuditStore, Evidence};

/// The tests, for an implementation's `fresh` constructor.
macro_rules! suite {
    ($fresh:path) => {
        $crate::store::moderation::conformance::suite!(@tests $fresh;
            flags_are_kept_once_filtered_and_paged,
            concurrent_strikes_are_counted_one_after_another,
            only_unvoided_strikes_in_the_window_count,
            an_enforcement_is_recorded_with_its_audit_entry,
            a_second_appeal_of_a_notice_is_refused,
            an_appeal_of_another_accounts_notice_is_refused,
            a_second_decision_is_refused,
            a_reinstatement_voids_the_strikes_and_is_unsettled_until_lifted,
            appeals_are_listed_by_account_and_state,
            a_paid_overdue_suspension_is_marked_once_and_unsettled_until_lifted,
        );
    };
    (@tests $fresh:path; $($name:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $name() {
                let (_guard, store, audit) = $fresh().await;
                $crate::store::moderation::conformance::$name(store, audit).await;
            }
        )*
    };
}
pub(crate) use suite;

type Moderation = Arc<dyn ModerationStore>;
type Audit = Arc<dyn AuditStore>;

/// A flagged-request record `flag_{n:04}`.
pub(crate) fn flag(n: u32, account: &str, action: &str, category: Option<&str>) -> Flag {
    Flag {
        id: format!("flag_{n:04}"),
        created_at: "2026-12-01T00:00:00Z".into(),
        stage: if n.is_multiple_of(2) {
            "output"
        } else {
            "request"
        }
        .into(),
        action: action.into(),
        policy: "policy-terms@1.0.0".into(),
        category: category.map(str::to_string),
        reason: None,
        account_id: account.into(),
        key_id: None,
        request_id: format!("req_{n}"),
        task_id: None,
        model: "m".into(),
        interaction: Default::default(),
    }
}

/// A strike of `account` (through `key`) at `at`, for the refusal `flag_id`.
pub(crate) fn strike(account: &str, key: Option<&str>, at: i64, flag_id: &str) -> Strike {
    Strike {
        account_id: account.into(),
        key_id: key.map(str::to_string),
        at,
        evidence: Evidence {
            request_id: format!("req_{flag_id}"),
            policy: "policy-terms@1.0.0".into(),
            category: Some("violence".into()),
            at: crate::time::to_rfc3339(
                time::OffsetDateTime::from_unix_timestamp(at).expect("a valid time"),
            ),
            flag_id: flag_id.into(),
        },
        voided: false,
    }
}

/// An audit entry `aud_{id}` of `action` on `account`.
pub(crate) fn entry(id: &str, action: &str, account: &str) -> AuditEntry {
    AuditEntry {
        id: format!("aud_{id}"),
        at: "2026-12-01T00:00:00Z".into(),
        actor: "system".into(),
        action: action.into(),
        account_id: Some(account.into()),
        key_id: None,
        details: json!({}),
        evidence: Vec::new(),
    }
}

/// An open notice `ntc_{id}` of `account`, about `key` if given.
pub(crate) fn notice(id: &str, account: &str, key: Option<&str>) -> Notice {
    Notice {
        id: format!("ntc_{id}"),
        account_id: account.into(),
        key_id: key.map(str::to_string),
        action: if key.is_some() {
            NoticeAction::KeySuspended
        } else {
            NoticeAction::AccountSuspended
        },
        reason: "refused requests".into(),
        evidence: Vec::new(),
        by: "system".into(),
        created_at: "2026-12-01T00:00:00Z".into(),
        appeal_until: "2026-12-15T00:00:00Z".into(),
        status: NoticeStatus::Open,
        appeal_id: None,
    }
}

/// A pending appeal `apl_{id}` of `notice` by `account`.
pub(crate) fn appeal(id: &str, account: &str, notice: &str) -> Appeal {
    Appeal {
        id: format!("apl_{id}"),
        notice_id: notice.into(),
        account_id: account.into(),
        message: "it was a misunderstanding".into(),
        status: AppealStatus::Pending,
        created_at: "2026-12-02T00:00:00Z".into(),
        decided_at: None,
        note: None,
    }
}

fn decision(appeal_id: &str, verdict: Verdict) -> Decision {
    Decision {
        appeal_id: appeal_id.into(),
        verdict,
        decided_at: "2026-12-03T00:00:00Z".into(),
        note: Some("decided".into()),
    }
}

/// The actions of the audit log, newest first.
async fn audited(audit: &Audit) -> Vec<String> {
    let (entries, _) = audit.list(&AuditQuery::default(), 1000).await.unwrap();
    entries.into_iter().map(|e| e.action).collect()
}

fn ids<T>(records: &[T], id: impl Fn(&T) -> &str) -> Vec<String> {
    records.iter().map(|r| id(r).to_string()).collect()
}

pub(crate) async fn flags_are_kept_once_filtered_and_paged(store: Moderation, _audit: Audit) {
    let all = [
        flag(1, "acct_a", "deny", Some("violence")),
        flag(2, "acct_a", "flag", Some("violence")),
        flag(3, "acct_b", "deny", Some("spam")),
        flag(4, "acct_a", "error", None),
        flag(5, "acct_a", "deny", Some("violence")),
    ];
    // Stored out of order: listed by id.
    for f in [&all[3], &all[0], &all[4], &all[2], &all[1]] {
        store.record_flag(f).await.unwrap();
    }
    let replaced = Flag {
        reason: Some("rewritten".into()),
        ..all[0].clone()
    };
    let refused = store.record_flag(&replaced).await;
    assert!(
        matches!(refused, Err(StoreError::Conflict(_))),
        "{refused:?}"
    );
    assert_eq!(
        store.flag("flag_0001").await.unwrap().as_ref(),
        Some(&all[0])
    );
    assert_eq!(store.flag("flag_none").await.unwrap(), None);

    let list = async |q: &FlagQuery, limit| {
        let (page, more) = store.flags(q, limit).await.unwrap();
        (ids(&page, |f| &f.id), more)
    };
    let every = FlagQuery::default();
    assert_eq!(
        list(&every, 10).await,
        (ids(&all, |f| &f.id).into_iter().rev().collect(), false)
    );
    let denials_of_a = FlagQuery {
        account_id: Some("acct_a".into()),
        action: Some("deny".into()),
        ..Default::default()
    };
    assert_eq!(
        list(&denials_of_a, 10).await,
        (vec!["flag_0005".into(), "flag_0001".into()], false)
    );
    let (first, more) = list(&denials_of_a, 1).await;
    assert_eq!((first.clone(), more), (vec!["flag_0005".into()], true));
    let next = FlagQuery {
        after: Some(first[0].clone()),
        ..denials_of_a.clone()
    };
    assert_eq!(list(&next, 1).await, (vec!["flag_0001".into()], false));
    let category = FlagQuery {
        category: Some("spam".into()),
        ..Default::default()
    };
    assert_eq!(list(&category, 10).await, (vec!["flag_0003".into()], false));
    let outputs = FlagQuery {
        stage: Some("output".into()),
        ..Default::default()
    };
    assert_eq!(
        list(&outputs, 10).await,
        (vec!["flag_0004".into(), "flag_0002".into()], false)
    );
    let (page, more) = list(&every, 5).await;
    assert_eq!((page.len(), more), (5, false), "exactly the limit: no more");
}

pub(crate) async fn concurrent_strikes_are_counted_one_after_another(
    store: Moderation,
    audit: Audit,
) {
    let counts: Vec<_> = (0..32)
        .map(|n| {
            let store = store.clone();
            tokio::spawn(async move {
                let s = strike("acct_a", Some("key_a"), 1_000 + n, &format!("flag_{n:02}"));
                let made = |window: &[Strike]| {
                    let mut e = entry(&format!("{n:02}"), "strike", "acct_a");
                    e.details = json!({ "account_strikes": window.len() });
                    e
                };
                let window = store.add_strike(&s, 0, &made).await.unwrap();
                assert!(window.contains(&s), "the window includes the new strike");
                window.len()
            })
        })
        .collect();
    let mut seen = Vec::new();
    for count in counts {
        seen.push(count.await.unwrap());
    }
    seen.sort_unstable();
    assert_eq!(seen, (1..=32).collect::<Vec<_>>());
    let (entries, _) = audit.list(&AuditQuery::default(), 100).await.unwrap();
    let mut logged: Vec<u64> = entries
        .iter()
        .map(|e| e.details["account_strikes"].as_u64().unwrap())
        .collect();
    logged.sort_unstable();
    assert_eq!(logged, (1..=32).collect::<Vec<_>>(), "one entry per strike");
}

pub(crate) async fn only_unvoided_strikes_in_the_window_count(store: Moderation, audit: Audit) {
    let made = |s: &Strike| {
        let e = entry(&s.evidence.flag_id, "strike", &s.account_id);
        move |_: &[Strike]| e.clone()
    };
    let old = strike("acct_a", None, 100, "flag_1");
    let window = store.add_strike(&old, 0, &made(&old)).await.unwrap();
    assert_eq!(window, std::slice::from_ref(&old));
    let other = strike("acct_b", None, 500, "flag_2");
    store.add_strike(&other, 0, &made(&other)).await.unwrap();
    let recent = strike("acct_a", Some("key_a"), 500, "flag_3");
    let window = store
        .add_strike(&recent, 400, &made(&recent))
        .await
        .unwrap();
    assert_eq!(
        window,
        std::slice::from_ref(&recent),
        "the old strike and another account's are out"
    );
    let last = strike("acct_a", None, 600, "flag_4");
    let window = store.add_strike(&last, 50, &made(&last)).await.unwrap();
    assert_eq!(window, [old, recent.clone(), last], "oldest first");

    // A refusal counts once; the refused strike writes no audit entry.
    let entries = audited(&audit).await.len();
    assert_eq!(entries, 4);
    let again_entry = entry("again", "strike", "acct_a");
    let again = store
        .add_strike(&recent, 0, &move |_: &[Strike]| again_entry.clone())
        .await;
    assert!(matches!(again, Err(StoreError::Conflict(_))), "{again:?}");
    assert_eq!(audited(&audit).await.len(), entries);
}

pub(crate) async fn an_enforcement_is_recorded_with_its_audit_entry(
    store: Moderation,
    audit: Audit,
) {
    let applied_first = notice("1", "acct_a", Some("key_a"));
    store
        .record_enforcement(&applied_first, &entry("1", "key.suspended", "acct_a"), true)
        .await
        .unwrap();
    let pending = notice("2", "acct_a", None);
    store
        .record_enforcement(&pending, &entry("2", "account.suspended", "acct_a"), false)
        .await
        .unwrap();
    store
        .record_enforcement(
            &notice("3", "acct_b", None),
            &entry("3", "account.suspended", "acct_b"),
            true,
        )
        .await
        .unwrap();
    assert_eq!(
        audited(&audit).await,
        ["account.suspended", "account.suspended", "key.suspended"]
    );
    assert_eq!(
        store.notice("acct_a", "ntc_2").await.unwrap().as_ref(),
        Some(&pending)
    );
    assert_eq!(
        store.notice("acct_b", "ntc_2").await.unwrap(),
        None,
        "another account's"
    );
    assert_eq!(
        ids(&store.notices_of("acct_a").await.unwrap(), |n| &n.id),
        ["ntc_2", "ntc_1"]
    );
    assert_eq!(
        ids(&store.notices().await.unwrap(), |n| &n.id),
        ["ntc_3", "ntc_2", "ntc_1"]
    );

    // Only the notice whose action was not applied is unsettled, until
    // settled for its effect.
    assert_eq!(
        store.unsettled().await.unwrap(),
        std::slice::from_ref(&pending)
    );
    store.settle("acct_a", "ntc_2", Effect::Lift).await.unwrap();
    assert_eq!(
        store.unsettled().await.unwrap(),
        std::slice::from_ref(&pending),
        "another effect"
    );
    store
        .settle("acct_a", "ntc_2", Effect::Enforce)
        .await
        .unwrap();
    assert_eq!(store.unsettled().await.unwrap(), []);
    store
        .settle("acct_a", "ntc_2", Effect::Enforce)
        .await
        .unwrap();

    // A notice is never replaced; the refused step writes no audit entry.
    let replaced = Notice {
        reason: "rewritten".into(),
        ..pending.clone()
    };
    let refused = store
        .record_enforcement(&replaced, &entry("4", "account.suspended", "acct_a"), false)
        .await;
    assert!(
        matches!(refused, Err(StoreError::Conflict(_))),
        "{refused:?}"
    );
    assert_eq!(
        store.notice("acct_a", "ntc_2").await.unwrap(),
        Some(pending)
    );
    assert_eq!(audited(&audit).await.len(), 3);
    assert_eq!(store.unsettled().await.unwrap(), []);
}

pub(crate) async fn a_paid_overdue_suspension_is_marked_once_and_unsettled_until_lifted(
    store: Moderation,
    audit: Audit,
) {
    let overdue = Notice {
        action: NoticeAction::AccountSuspendedOverdue,
        ..notice("1", "acct_a", None)
    };
    store
        .record_enforcement(
            &overdue,
            &entry("1", "account.suspended_overdue", "acct_a"),
            true,
        )
        .await
        .unwrap();
    let by_policy = notice("2", "acct_a", None);
    store
        .record_enforcement(&by_policy, &entry("2", "account.suspended", "acct_a"), true)
        .await
        .unwrap();
    let paid_entry = entry("3", "account.overdue_paid", "acct_a");

    // Only an overdue suspension of that account, in force, can be paid.
    for (account, id) in [
        ("acct_a", "ntc_2"),
        ("acct_b", "ntc_1"),
        ("acct_a", "ntc_9"),
    ] {
        let none = store.mark_paid(account, id, &paid_entry).await.unwrap();
        assert_eq!(none, None, "{account} {id}");
    }
    assert_eq!(audited(&audit).await.len(), 2, "nothing written");

    let paid = store
        .mark_paid("acct_a", "ntc_1", &paid_entry)
        .await
        .unwrap()
        .expect("in force");
    assert_eq!(paid.status, NoticeStatus::Paid);
    assert_eq!(paid.effect(), Effect::Lift);
    assert_eq!(
        store.notice("acct_a", "ntc_1").await.unwrap(),
        Some(paid.clone())
    );
    assert_eq!(
        store.unsettled().await.unwrap(),
        std::slice::from_ref(&paid)
    );
    assert_eq!(audited(&audit).await.len(), 3);

    // Paid once: a second payment changes nothing.
    let second = entry("4", "account.overdue_paid", "acct_a");
    let again = store.mark_paid("acct_a", "ntc_1", &second).await.unwrap();
    assert_eq!(again, None);
    assert_eq!(audited(&audit).await.len(), 3);
    store.settle("acct_a", "ntc_1", Effect::Lift).await.unwrap();
    assert_eq!(store.unsettled().await.unwrap(), []);
}

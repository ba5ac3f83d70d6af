//! The conformance tests of appeals: one appeal per notice, only of the
//! account's own notices, one decision each, a reinstatement voiding the
//! strikes, and the lists by account and state.

use super::*;

/// Records notice `ntc_{id}` suspending `account` (its key `key`, if
/// given), `in_effect` or not, and files appeal `apl_{id}` of it, each with
/// its audit entry. Returns the notice.
async fn suspend_and_appeal(
    store: &Moderation,
    id: &str,
    account: &str,
    key: Option<&str>,
    in_effect: bool,
) -> Notice {
    let n = notice(id, account, key);
    let action = if key.is_some() {
        "key.suspended"
    } else {
        "account.suspended"
    };
    store
        .record_enforcement(&n, &entry(&format!("n{id}"), action, account), in_effect)
        .await
        .unwrap();
    store
        .file_appeal(
            &appeal(id, account, &n.id),
            &entry(&format!("a{id}"), "appeal.submitted", account),
        )
        .await
        .unwrap();
    n
}

pub(crate) async fn a_second_appeal_of_a_notice_is_refused(store: Moderation, audit: Audit) {
    let n = notice("1", "acct_a", Some("key_a"));
    store
        .record_enforcement(&n, &entry("0", "key.suspended", "acct_a"), true)
        .await
        .unwrap();
    // Concurrent appeals of one notice: exactly one is filed.
    let tries: Vec<_> = (0..8)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move {
                let a = appeal(&i.to_string(), "acct_a", "ntc_1");
                let e = entry(&format!("appeal_{i}"), "appeal.submitted", "acct_a");
                (a.clone(), store.file_appeal(&a, &e).await)
            })
        })
        .collect();
    let mut filed = Vec::new();
    for t in tries {
        match t.await.unwrap() {
            (a, Ok(notice)) => filed.push((a, notice)),
            (_, Err(AppealError::Conflict(_))) => {}
            (_, Err(e)) => panic!("{e:?}"),
        }
    }
    assert_eq!(filed.len(), 1, "one appeal per notice");
    let (winner, appealed) = filed.pop().unwrap();
    assert_eq!(appealed.status, NoticeStatus::Appealed);
    assert_eq!(appealed.appeal_id.as_deref(), Some(winner.id.as_str()));
    assert_eq!(
        store.notice("acct_a", "ntc_1").await.unwrap(),
        Some(appealed)
    );
    assert_eq!(
        store.appeals(None, None).await.unwrap(),
        std::slice::from_ref(&winner)
    );
    assert_eq!(
        store.appeal(&winner.id).await.unwrap(),
        Some(winner.clone())
    );
    assert_eq!(audited(&audit).await, ["appeal.submitted", "key.suspended"]);

    // After the decision, too.
    store
        .decide_appeal(
            &decision(&winner.id, Verdict::Uphold),
            &entry("decided", "appeal.upheld", "acct_a"),
        )
        .await
        .unwrap();
    let late = store
        .file_appeal(
            &appeal("late", "acct_a", "ntc_1"),
            &entry("late", "appeal.submitted", "acct_a"),
        )
        .await;
    assert!(matches!(late, Err(AppealError::Conflict(_))), "{late:?}");
    assert_eq!(store.appeal("apl_late").await.unwrap(), None);
    assert_eq!(store.appeals(None, None).await.unwrap().len(), 1);
    assert_eq!(audited(&audit).await.len(), 3);
}

pub(crate) async fn an_appeal_of_another_accounts_notice_is_refused(
    store: Moderation,
    audit: Audit,
) {
    let n = notice("1", "acct_a", None);
    store
        .record_enforcement(&n, &entry("0", "account.suspended", "acct_a"), true)
        .await
        .unwrap();
    for (account, notice_id) in [("acct_b", "ntc_1"), ("acct_a", "ntc_none")] {
        let refused = store
            .file_appeal(
                &appeal("1", account, notice_id),
                &entry("1", "appeal.submitted", account),
            )
            .await;
        assert!(
            matches!(refused, Err(AppealError::NotFound("notice"))),
            "{refused:?}"
        );
    }
    assert_eq!(store.appeals(None, None).await.unwrap(), []);
    assert_eq!(store.notice("acct_a", "ntc_1").await.unwrap(), Some(n));
    assert_eq!(audited(&audit).await.len(), 1);
    let unknown = store
        .decide_appeal(
            &decision("apl_none", Verdict::Uphold),
            &entry("2", "appeal.upheld", "acct_a"),
        )
        .await;
    assert!(
        matches!(unknown, Err(AppealError::NotFound("appeal"))),
        "{unknown:?}"
    );
    assert_eq!(audited(&audit).await.len(), 1);
}

pub(crate) async fn a_second_decision_is_refused(store: Moderation, audit: Audit) {
    let made = |_: &[Strike]| entry("strike", "strike", "acct_a");
    let s = strike("acct_a", None, 1_000, "flag_1");
    store.add_strike(&s, 0, &made).await.unwrap();
    suspend_and_appeal(&store, "1", "acct_a", None, true).await;
    // Concurrent decisions, both ways: exactly one lands.
    let tries: Vec<_> = (0..8)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move {
                let verdict = if i % 2 == 0 {
                    Verdict::Reinstate {
                        void_strikes_since: 0,
                    }
                } else {
                    Verdict::Uphold
                };
                let e = entry(&format!("decision_{i}"), "appeal.decided", "acct_a");
                store.decide_appeal(&decision("apl_1", verdict), &e).await
            })
        })
        .collect();
    let mut decided = Vec::new();
    for t in tries {
        match t.await.unwrap() {
            Ok(d) => decided.push(d),
            Err(AppealError::Conflict(_)) => {}
            Err(e) => panic!("{e:?}"),
        }
    }
    assert_eq!(decided.len(), 1, "one decision per appeal");
    let (appeal, notice) = decided.pop().unwrap();
    assert_eq!(store.appeal("apl_1").await.unwrap().as_ref(), Some(&appeal));
    assert_eq!(
        store.notice("acct_a", "ntc_1").await.unwrap().as_ref(),
        Some(&notice)
    );
    assert_eq!(appeal.decided_at.as_deref(), Some("2026-12-03T00:00:00Z"));
    let reinstated = appeal.status == AppealStatus::Reinstated;
    assert_eq!(
        notice.status,
        if reinstated {
            NoticeStatus::Reinstated
        } else {
            NoticeStatus::Upheld
        }
    );
    assert_eq!(
        audited(&audit)
            .await
            .iter()
            .filter(|a| *a == "appeal.decided")
            .count(),
        1
    );
    // The strike was voided exactly when the winner reinstated.
    let next = strike("acct_a", None, 1_001, "flag_2");
    let window = store
        .add_strike(&next, 0, &|_: &[Strike]| {
            entry("strike2", "strike", "acct_a")
        })
        .await
        .unwrap();
    assert_eq!(window.len(), if reinstated { 1 } else { 2 });
}

pub(crate) async fn a_reinstatement_voids_the_strikes_and_is_unsettled_until_lifted(
    store: Moderation,
    audit: Audit,
) {
    for (n, (key, at)) in [
        ("key_a", 100),
        ("key_a", 200),
        ("key_b", 300),
        ("key_a", 400),
    ]
    .into_iter()
    .enumerate()
    {
        let flag_id = format!("flag_{}", n + 1);
        let e = entry(&format!("strike_{n}"), "strike", "acct_a");
        store
            .add_strike(
                &strike("acct_a", Some(key), at, &flag_id),
                0,
                &move |_: &[Strike]| e.clone(),
            )
            .await
            .unwrap();
    }
    suspend_and_appeal(&store, "1", "acct_a", Some("key_a"), false).await;
    let reinstate = Verdict::Reinstate {
        void_strikes_since: 150,
    };
    let (appeal, lifted) = store
        .decide_appeal(
            &decision("apl_1", reinstate),
            &entry("decision", "appeal.reinstated", "acct_a"),
        )
        .await
        .unwrap();
    assert_eq!(
        (appeal.status, lifted.status, lifted.effect()),
        (
            AppealStatus::Reinstated,
            NoticeStatus::Reinstated,
            Effect::Lift
        )
    );
    assert_eq!(appeal.note.as_deref(), Some("decided"));
    // The key's strikes since 150 are void: the one before, and the other
    // key's, still count.
    let next = strike("acct_a", Some("key_a"), 500, "flag_5");
    let window = store
        .add_strike(&next, 0, &|_: &[Strike]| {
            entry("strike_5", "strike", "acct_a")
        })
        .await
        .unwrap();
    let flags: Vec<&str> = window.iter().map(|s| s.evidence.flag_id.as_str()).collect();
    assert_eq!(flags, ["flag_1", "flag_3", "flag_5"]);
    // Unsettled to be lifted, no longer to be applied: settling the
    // enforcement that was pending does not settle the lift.
    assert_eq!(
        store.unsettled().await.unwrap(),
        std::slice::from_ref(&lifted)
    );
    store
        .settle("acct_a", "ntc_1", Effect::Enforce)
        .await
        .unwrap();
    assert_eq!(store.unsettled().await.unwrap(), [lifted]);
    store.settle("acct_a", "ntc_1", Effect::Lift).await.unwrap();
    assert_eq!(store.unsettled().await.unwrap(), []);
    assert_eq!(audited(&audit).await.len(), 8);
}

pub(crate) async fn appeals_are_listed_by_account_and_state(store: Moderation, _audit: Audit) {
    for (i, account) in [("1", "acct_a"), ("2", "acct_b"), ("3", "acct_a")] {
        suspend_and_appeal(&store, i, account, None, true).await;
    }
    store
        .decide_appeal(
            &decision("apl_3", Verdict::Uphold),
            &entry("d3", "appeal.upheld", "acct_a"),
        )
        .await
        .unwrap();
    let listed = async |account: Option<&str>, status: Option<AppealStatus>| {
        ids(&store.appeals(account, status).await.unwrap(), |a| &a.id)
    };
    assert_eq!(listed(None, None).await, ["apl_3", "apl_2", "apl_1"]);
    assert_eq!(listed(Some("acct_a"), None).await, ["apl_3", "apl_1"]);
    assert_eq!(
        listed(None, Some(AppealStatus::Pending)).await,
        ["apl_2", "apl_1"]
    );
    assert_eq!(
        listed(Some("acct_a"), Some(AppealStatus::Upheld)).await,
        ["apl_3"]
    );
    assert_eq!(listed(Some("acct_c"), None).await, Vec::<String>::new());
}

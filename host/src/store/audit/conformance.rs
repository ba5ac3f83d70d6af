//! The behaviour every [`AuditStore`] must have, as tests an implementation
//! runs with `suite!(fresh)`, where `fresh().await` returns a guard
//! (dropped after the test) and an empty store.

use std::sync::Arc;

use serde_json::json;

use super::{AuditEntry, AuditQuery, AuditStore};
use crate::store::StoreError;

/// The tests, for an implementation's `fresh` constructor.
macro_rules! suite {
    ($fresh:path) => {
        $crate::store::audit::conformance::suite!(@tests $fresh;
            entries_are_listed_newest_first_and_paged,
            entries_are_filtered,
            an_entry_is_never_replaced,
            concurrent_appends_all_land,
        );
    };
    (@tests $fresh:path; $($name:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $name() {
                let (_guard, store) = $fresh().await;
                $crate::store::audit::conformance::$name(store).await;
            }
        )*
    };
}
pub(crate) use suite;

/// An entry `aud_{n:04}` by `actor`, doing `action` on `account`.
pub(crate) fn entry(n: u32, actor: &str, action: &str, account: Option<&str>) -> AuditEntry {
    AuditEntry {
        id: format!("aud_{n:04}"),
        at: format!("2026-12-01T00:00:{:02}Z", n % 60),
        actor: actor.to_string(),
        action: action.to_string(),
        account_id: account.map(str::to_string),
        key_id: None,
        details: json!({ "n": n }),
        evidence: Vec::new(),
    }
}

fn ids(entries: &[AuditEntry]) -> Vec<&str> {
    entries.iter().map(|e| e.id.as_str()).collect()
}

pub(crate) async fn entries_are_listed_newest_first_and_paged(log: Arc<dyn AuditStore>) {
    // Appended out of order: the order is the ids'.
    for n in [2, 1, 4, 3, 5] {
        log.append(&entry(n, "admin", "key.suspended", None))
            .await
            .unwrap();
    }
    let all = AuditQuery::default();
    let (page, more) = log.list(&all, 2).await.unwrap();
    assert_eq!((ids(&page), more), (vec!["aud_0005", "aud_0004"], true));
    let next = AuditQuery {
        after: Some(page[1].id.clone()),
        ..all.clone()
    };
    let (page, more) = log.list(&next, 2).await.unwrap();
    assert_eq!((ids(&page), more), (vec!["aud_0003", "aud_0002"], true));
    let last = AuditQuery {
        after: Some(page[1].id.clone()),
        ..all.clone()
    };
    let (page, more) = log.list(&last, 2).await.unwrap();
    assert_eq!((ids(&page), more), (vec!["aud_0001"], false));
    let (page, more) = log.list(&all, 5).await.unwrap();
    assert_eq!((page.len(), more), (5, false), "exactly the limit: no more");
    assert_eq!(page[4], entry(1, "admin", "key.suspended", None));
}

pub(crate) async fn entries_are_filtered(log: Arc<dyn AuditStore>) {
    let mut keyed = entry(4, "admin", "POST /admin/v1/keys/{key_id}/suspend", None);
    keyed.key_id = Some("key_k".into());
    for e in [
        entry(1, "system", "key.suspended", Some("acct_a")),
        entry(2, "account:acct_a", "appeal.submitted", Some("acct_a")),
        entry(3, "system", "account.suspended", Some("acct_b")),
        keyed,
        entry(5, "system", "key.suspended", Some("acct_b")),
    ] {
        log.append(&e).await.unwrap();
    }
    let list = async |q: AuditQuery, limit| {
        let (page, more) = log.list(&q, limit).await.unwrap();
        (page.iter().map(|e| e.id.clone()).collect::<Vec<_>>(), more)
    };
    let of_a = AuditQuery {
        account_id: Some("acct_a".into()),
        ..Default::default()
    };
    assert_eq!(
        list(of_a, 10).await,
        (vec!["aud_0002".into(), "aud_0001".into()], false)
    );
    let system_keys = AuditQuery {
        actor: Some("system".into()),
        action: Some("key.".into()),
        ..Default::default()
    };
    assert_eq!(
        list(system_keys.clone(), 10).await,
        (vec!["aud_0005".into(), "aud_0001".into()], false)
    );
    assert_eq!(list(system_keys, 1).await, (vec!["aud_0005".into()], true));
    let by_key = AuditQuery {
        key_id: Some("key_k".into()),
        ..Default::default()
    };
    assert_eq!(list(by_key, 10).await, (vec!["aud_0004".into()], false));
    let none = AuditQuery {
        account_id: Some("acct_none".into()),
        ..Default::default()
    };
    assert_eq!(list(none, 10).await, (vec![], false));
}

pub(crate) async fn an_entry_is_never_replaced(log: Arc<dyn AuditStore>) {
    let first = entry(1, "admin", "account.suspended", Some("acct_a"));
    log.append(&first).await.unwrap();
    let forged = AuditEntry {
        actor: "account:acct_a".into(),
        ..first.clone()
    };
    let refused = log.append(&forged).await;
    assert!(
        matches!(refused, Err(StoreError::Conflict(_))),
        "{refused:?}"
    );
    let (page, _) = log.list(&AuditQuery::default(), 10).await.unwrap();
    assert_eq!(page, [first]);
}

pub(crate) async fn concurrent_appends_all_land(log: Arc<dyn AuditStore>) {
    let appends: Vec<_> = (1..=32)
        .map(|n| {
            let log = log.clone();
            tokio::spawn(async move { log.append(&entry(n, "system", "strike", None)).await })
        })
        .collect();
    for append in appends {
        append.await.unwrap().unwrap();
    }
    let (page, more) = log.list(&AuditQuery::default(), 100).await.unwrap();
    let expected: Vec<String> = (1..=32).rev().map(|n| format!("aud_{n:04}")).collect();
    assert_eq!(
        (ids(&page), more),
        (expected.iter().map(String::as_str).collect(), false)
    );
}

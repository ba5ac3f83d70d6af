//! The behaviour every [`AccountStore`] must have, as tests an
//! implementation runs with `suite!(fresh)`, where `fresh()` returns a
//! guard (dropped after the test) and an empty store.

use std::sync::Arc;

use super::{
    Account, AccountError, AccountQuery, AccountStatus, AccountStore, ApiKey, KeyStatus, Limits,
};

/// The tests, for an implementation's `fresh` constructor.
macro_rules! suite {
    ($fresh:path) => {
        $crate::store::accounts::conformance::suite!(@tests $fresh;
            an_account_reads_back_as_stored,
            accounts_are_listed_in_id_order_by_status_and_email,
            a_failed_change_leaves_the_account_as_it_was,
            concurrent_account_changes_all_land,
            a_key_is_found_by_its_current_hash_only,
            a_use_never_undoes_a_revoke,
            concurrent_rotations_leave_one_working_secret,
        );
    };
    (@tests $fresh:path; $($name:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $name() {
                let (_guard, store) = $fresh();
                $crate::store::accounts::conformance::$name(store).await;
            }
        )*
    };
}
pub(crate) use suite;

fn account(id: &str) -> Account {
    Account {
        id: id.to_string(),
        email: format!("{id}@example.com"),
        status: AccountStatus::Active,
        credits_frozen: false,
        credit_line: 0,
        limits: Limits::default(),
        webhook_url: None,
        webhook_secret: None,
        created_at: "2026-12-02T00:00:00Z".into(),
    }
}

fn key(id: &str, account_id: &str, hash: &str) -> ApiKey {
    ApiKey {
        id: id.to_string(),
        account_id: account_id.to_string(),
        name: "ci".into(),
        prefix: "imini_sk_xxxxx".into(),
        status: KeyStatus::Active,
        created_at: "2026-12-02T00:00:00Z".into(),
        last_used_at: None,
        requests_per_minute: None,
        credit_limit: None,
        hash: hash.to_string(),
    }
}

pub(crate) async fn an_account_reads_back_as_stored(store: Arc<dyn AccountStore>) {
    store.insert_account(&account("acct_a")).await.unwrap();
    let read = store.account("acct_a").await.unwrap().expect("stored");
    assert_eq!(read.email, "acct_a@example.com");
    assert_eq!(read.credit_line, 0);
    let lent = store
        .update_account("acct_a", &mut |a| {
            a.credit_line = 2_500;
            Ok(())
        })
        .await
        .unwrap();
    assert_eq!(lent.credit_line, 2_500);
    let read = store.account("acct_a").await.unwrap().unwrap();
    assert_eq!(read.credit_line, 2_500, "the credit line is kept");
    assert!(store.account("acct_b").await.unwrap().is_none());
    let missing = store.update_account("acct_b", &mut |_| Ok(())).await;
    assert!(matches!(missing, Err(AccountError::AccountNotFound)));
}

pub(crate) async fn accounts_are_listed_in_id_order_by_status_and_email(
    store: Arc<dyn AccountStore>,
) {
    for id in ["acct_c", "acct_a", "acct_b", "acct_d"] {
        let mut a = account(id);
        if id == "acct_b" {
            a.status = AccountStatus::Suspended;
            a.email = "Bea@Example.com".into();
        }
        store.insert_account(&a).await.unwrap();
    }
    let ids = |list: Vec<Account>| list.into_iter().map(|a| a.id).collect::<Vec<_>>();
    let all = AccountQuery::default();
    assert_eq!(
        ids(store.list_accounts(&all, 10).await.unwrap()),
        ["acct_a", "acct_b", "acct_c", "acct_d"]
    );
    assert_eq!(
        ids(store.list_accounts(&all, 2).await.unwrap()),
        ["acct_a", "acct_b"]
    );
    let next = AccountQuery {
        after: Some("acct_b".into()),
        ..AccountQuery::default()
    };
    assert_eq!(
        ids(store.list_accounts(&next, 10).await.unwrap()),
        ["acct_c", "acct_d"]
    );
    let suspended = AccountQuery {
        status: Some(AccountStatus::Suspended),
        ..AccountQuery::default()
    };
    assert_eq!(
        ids(store.list_accounts(&suspended, 10).await.unwrap()),
        ["acct_b"]
    );
    let by_email = AccountQuery {
        email: Some("bea@EXAMPLE".into()),
        ..AccountQuery::default()
    };
    assert_eq!(
        ids(store.list_accounts(&by_email, 10).await.unwrap()),
        ["acct_b"]
    );
}

pub(crate) async fn a_failed_change_leaves_the_account_as_it_was(store: Arc<dyn AccountStore>) {
    store.insert_account(&account("acct_a")).await.unwrap();
    let refused = store
        .update_account("acct_a", &mut |a| {
            a.status = AccountStatus::Closed;
            Err(AccountError::Conflict("credits are held".into()))
        })
        .await;
    assert!(matches!(refused, Err(AccountError::Conflict(_))));
    let read = store.account("acct_a").await.unwrap().unwrap();
    assert_eq!(read.status, AccountStatus::Active, "nothing was written");
}

pub(crate) async fn concurrent_account_changes_all_land(store: Arc<dyn AccountStore>) {
    store.insert_account(&account("acct_a")).await.unwrap();
    let changes: Vec<_> = (0..64u32)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .update_account("acct_a", &mut |a| {
                        // Two kinds of change on different fields, both
                        // read-modify-write of the same record.
                        if i % 2 == 0 {
                            let n = a.limits.requests_per_minute.unwrap_or(0);
                            a.limits.requests_per_minute = Some(n + 1);
                        } else {
                            let n = a.limits.max_concurrent_tasks.unwrap_or(0);
                            a.limits.max_concurrent_tasks = Some(n + 1);
                        }
                        Ok(())
                    })
                    .await
                    .unwrap();
            })
        })
        .collect();
    for change in changes {
        change.await.unwrap();
    }
    let limits = store.account("acct_a").await.unwrap().unwrap().limits;
    assert_eq!(
        (limits.requests_per_minute, limits.max_concurrent_tasks),
        (Some(32), Some(32)),
        "no change was lost"
    );
}

pub(crate) async fn a_key_is_found_by_its_current_hash_only(store: Arc<dyn AccountStore>) {
    store.insert_account(&account("acct_a")).await.unwrap();
    store
        .insert_key(&key("key_1", "acct_a", "h1"))
        .await
        .unwrap();
    assert_eq!(store.key_by_hash("h1").await.unwrap().unwrap().id, "key_1");
    store
        .update_key("key_1", &mut |k| {
            k.hash = "h2".into();
            Ok(())
        })
        .await
        .unwrap();
    assert!(
        store.key_by_hash("h1").await.unwrap().is_none(),
        "the old secret is gone"
    );
    assert_eq!(store.key_by_hash("h2").await.unwrap().unwrap().id, "key_1");
    let refused = store
        .update_key("key_1", &mut |k| {
            k.hash = "h3".into();
            Err(AccountError::Conflict("no".into()))
        })
        .await;
    assert!(matches!(refused, Err(AccountError::Conflict(_))));
    assert!(
        store.key_by_hash("h3").await.unwrap().is_none(),
        "a refused change moves nothing"
    );
    assert_eq!(store.key_by_hash("h2").await.unwrap().unwrap().hash, "h2");
    let missing = store.update_key("key_9", &mut |_| Ok(())).await;
    assert!(matches!(missing, Err(AccountError::KeyNotFound)));
    let listed: Vec<String> = store
        .keys_of("acct_a")
        .await
        .unwrap()
        .into_iter()
        .map(|k| k.id)
        .collect();
    assert_eq!(listed, ["key_1"]);
}

pub(crate) async fn a_use_never_undoes_a_revoke(store: Arc<dyn AccountStore>) {
    store.insert_account(&account("acct_a")).await.unwrap();
    for round in 0..20 {
        let id = format!("key_{round}");
        store
            .insert_key(&key(&id, "acct_a", &format!("h{round}")))
            .await
            .unwrap();
        // Requests that authenticated before the revoke record their use
        // after it, from a copy read before it.
        let stale = store.key(&id).await.unwrap().unwrap();
        let touches: Vec<_> = (0..8)
            .map(|i| {
                let (store, id) = (store.clone(), stale.id.clone());
                tokio::spawn(async move {
                    for j in 0..50 {
                        let at = format!("2026-12-02T00:{:02}:{:02}Z", i, j);
                        store.touch_key(&id, &at, 0).await.unwrap();
                    }
                })
            })
            .collect();
        store
            .update_key(&id, &mut |k| {
                k.status = KeyStatus::Revoked;
                Ok(())
            })
            .await
            .unwrap();
        for touch in touches {
            touch.await.unwrap();
        }
        let after = store.key(&id).await.unwrap().unwrap();
        assert_eq!(after.status, KeyStatus::Revoked, "round {round}");
        assert!(after.last_used_at.is_some(), "uses are still recorded");
    }
}

pub(crate) async fn concurrent_rotations_leave_one_working_secret(store: Arc<dyn AccountStore>) {
    store.insert_account(&account("acct_a")).await.unwrap();
    store
        .insert_key(&key("key_1", "acct_a", "h0"))
        .await
        .unwrap();
    let rotations: Vec<_> = (1..=32)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .update_key("key_1", &mut |k| {
                        k.hash = format!("h{i}");
                        Ok(())
                    })
                    .await
                    .unwrap();
            })
        })
        .collect();
    for rotation in rotations {
        rotation.await.unwrap();
    }
    let current = store.key("key_1").await.unwrap().unwrap().hash;
    for i in 0..=32 {
        let hash = format!("h{i}");
        let found = store.key_by_hash(&hash).await.unwrap();
        if hash == current {
            assert_eq!(found.unwrap().hash, current);
        } else {
            assert!(found.is_none(), "{hash} still leads to the key");
        }
    }
}

//! The behaviour every [`IdempotencyStore`] must have, as tests an
//! implementation runs with `suite!(fresh)`, where `fresh().await` returns
//! a guard (dropped after the test) and an empty store.

use std::sync::Arc;

use super::{IdempotencyStore, Reservation, StoredResponse};

/// The tests, for an implementation's `fresh` constructor.
macro_rules! suite {
    ($fresh:path) => {
        $crate::store::idempotency::conformance::suite!(@tests $fresh;
            a_kept_response_is_replayed_and_another_request_conflicts,
            a_released_key_runs_again_and_an_expired_one_is_new,
            an_abandoned_key_runs_again_with_its_task_id,
            one_of_many_concurrent_requests_with_a_key_runs,
            purge_forgets_old_keys_but_not_held_ones,
        );
    };
    (@tests $fresh:path; $($name:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $name() {
                let (_guard, store) = $fresh().await;
                $crate::store::idempotency::conformance::$name(store).await;
            }
        )*
    };
}
pub(crate) use suite;

const TTL: i64 = 3600;

fn response(body: &str) -> StoredResponse {
    StoredResponse {
        status: 200,
        headers: vec![("content-type".into(), "application/json".into())],
        body: body.as_bytes().to_vec(),
    }
}

fn task_id(r: &Reservation) -> &str {
    match r {
        Reservation::Run { task_id } => task_id,
        other => panic!("expected to run, got {other:?}"),
    }
}

pub(crate) async fn a_kept_response_is_replayed_and_another_request_conflicts(
    keys: Arc<dyn IdempotencyStore>,
) {
    let first = keys.reserve("acct_a/k", "f1", 1000, TTL).await.unwrap();
    assert!(task_id(&first).starts_with("task_"));
    assert_eq!(
        keys.reserve("acct_a/k", "f1", 1001, TTL).await.unwrap(),
        Reservation::InProgress
    );
    assert_eq!(
        keys.reserve("acct_a/k", "f2", 1001, TTL).await.unwrap(),
        Reservation::Conflict
    );
    // Keys are per account (the caller scopes them).
    let other = keys.reserve("acct_b/k", "f1", 1001, TTL).await.unwrap();
    assert_ne!(task_id(&other), task_id(&first));
    keys.complete("acct_a/k", &response("{\"ok\":1}"))
        .await
        .unwrap();
    assert_eq!(
        keys.reserve("acct_a/k", "f1", 1002, TTL).await.unwrap(),
        Reservation::Replay(response("{\"ok\":1}"))
    );
    assert_eq!(
        keys.reserve("acct_a/k", "f2", 1002, TTL).await.unwrap(),
        Reservation::Conflict
    );
    // Completing a key nobody holds is refused and changes nothing.
    assert!(keys.complete("acct_a/k", &response("x")).await.is_err());
    assert_eq!(
        keys.reserve("acct_a/k", "f1", 1003, TTL).await.unwrap(),
        Reservation::Replay(response("{\"ok\":1}"))
    );
}

pub(crate) async fn a_released_key_runs_again_and_an_expired_one_is_new(
    keys: Arc<dyn IdempotencyStore>,
) {
    let first = keys.reserve("acct_a/k", "f1", 1000, TTL).await.unwrap();
    keys.release("acct_a/k").await.unwrap();
    // Another request may use it now.
    let again = keys.reserve("acct_a/k", "f2", 1001, TTL).await.unwrap();
    assert_ne!(task_id(&again), task_id(&first));
    keys.complete("acct_a/k", &response("kept")).await.unwrap();
    // Past its time to live, a key is new again.
    let later = keys
        .reserve("acct_a/k", "f3", 1001 + TTL, TTL)
        .await
        .unwrap();
    assert_ne!(task_id(&later), task_id(&again));
}

pub(crate) async fn an_abandoned_key_runs_again_with_its_task_id(keys: Arc<dyn IdempotencyStore>) {
    let first = keys.reserve("acct_a/k", "f1", 1000, TTL).await.unwrap();
    keys.abandon("acct_a/k").await.unwrap();
    assert_eq!(
        keys.reserve("acct_a/k", "f2", 1001, TTL).await.unwrap(),
        Reservation::Conflict
    );
    let again = keys.reserve("acct_a/k", "f1", 1001, TTL).await.unwrap();
    assert_eq!(again, first);
}

pub(crate) async fn one_of_many_concurrent_requests_with_a_key_runs(
    keys: Arc<dyn IdempotencyStore>,
) {
    let handles: Vec<_> = (0..16)
        .map(|_| {
            let keys = keys.clone();
            tokio::spawn(async move { keys.reserve("acct_a/k", "f1", 1000, TTL).await.unwrap() })
        })
        .collect();
    let mut runs = 0;
    for h in handles {
        match h.await.unwrap() {
            Reservation::Run { .. } => runs += 1,
            Reservation::InProgress => {}
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(runs, 1);
}

pub(crate) async fn purge_forgets_old_keys_but_not_held_ones(keys: Arc<dyn IdempotencyStore>) {
    keys.reserve("acct_a/old", "f", 1000, TTL).await.unwrap();
    keys.complete("acct_a/old", &response("old")).await.unwrap();
    keys.reserve("acct_a/held", "f", 1000, TTL).await.unwrap();
    keys.reserve("acct_a/new", "f", 5000, TTL).await.unwrap();
    keys.complete("acct_a/new", &response("new")).await.unwrap();
    assert_eq!(keys.purge(2000).await.unwrap(), 1);
    assert!(matches!(
        keys.reserve("acct_a/old", "g", 2001, 1_000_000)
            .await
            .unwrap(),
        Reservation::Run { .. }
    ));
    assert_eq!(
        keys.reserve("acct_a/held", "f", 2001, 1_000_000)
            .await
            .unwrap(),
        Reservation::InProgress
    );
    assert_eq!(
        keys.reserve("acct_a/new", "f", 5001, TTL).await.unwrap(),
        Reservation::Replay(response("new"))
    );
}

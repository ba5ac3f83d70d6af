//! The behaviour every [`WebhookStore`] must have, as tests an
//! implementation runs with `suite!(fresh)`, where `fresh().await` returns
//! a guard (dropped after the test) and an empty store.

use std::collections::HashSet;
use std::sync::Arc;

use super::{Delivery, DeliveryStatus, WebhookStore};

/// The tests, for an implementation's `fresh` constructor.
macro_rules! suite {
    ($fresh:path) => {
        $crate::store::webhooks::conformance::suite!(@tests $fresh;
            a_delivery_is_stored_once_and_listed_by_account,
            due_deliveries_come_longest_due_first_within_the_limit,
            an_attempt_reschedules_or_settles_a_delivery,
        );
    };
    (@tests $fresh:path; $($name:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $name() {
                let (_guard, store) = $fresh().await;
                $crate::store::webhooks::conformance::$name(store).await;
            }
        )*
    };
}
pub(crate) use suite;

/// A pending delivery of `task`'s event, due at `at`.
pub(crate) fn delivery(account: &str, task: &str, at: i64, created_at: &str) -> Delivery {
    Delivery {
        id: format!("evt_{task}"),
        account_id: account.to_string(),
        task_id: task.to_string(),
        event: "task.succeeded".into(),
        url: "https://hooks.example.com/imini".into(),
        body: "{}".into(),
        status: DeliveryStatus::Pending,
        attempts: 0,
        next_attempt_at: at,
        last_error: None,
        created_at: created_at.to_string(),
    }
}

fn ids(deliveries: &[Delivery]) -> Vec<&str> {
    deliveries.iter().map(|d| d.task_id.as_str()).collect()
}

pub(crate) async fn a_delivery_is_stored_once_and_listed_by_account(hooks: Arc<dyn WebhookStore>) {
    let first = delivery("acct_a", "task_1", 1000, "2026-12-01T00:00:01Z");
    assert!(hooks.enqueue(&first).await.unwrap());
    let again = Delivery {
        body: "{\"other\":1}".into(),
        ..first.clone()
    };
    assert!(!hooks.enqueue(&again).await.unwrap(), "one per id");
    hooks
        .enqueue(&delivery("acct_a", "task_2", 1000, "2026-12-01T00:00:02Z"))
        .await
        .unwrap();
    hooks
        .enqueue(&delivery("acct_b", "task_3", 1000, "2026-12-01T00:00:03Z"))
        .await
        .unwrap();
    let listed = hooks.deliveries_of("acct_a", 10).await.unwrap();
    assert_eq!(ids(&listed), ["task_2", "task_1"]);
    assert_eq!(listed[1], first);
    assert_eq!(
        ids(&hooks.deliveries_of("acct_a", 1).await.unwrap()),
        ["task_2"]
    );
    assert!(
        hooks
            .deliveries_of("acct_none", 10)
            .await
            .unwrap()
            .is_empty()
    );
}

pub(crate) async fn due_deliveries_come_longest_due_first_within_the_limit(
    hooks: Arc<dyn WebhookStore>,
) {
    for (task, at) in [
        ("task_late", 2000),
        ("task_b", 1002),
        ("task_a", 1001),
        ("task_c", 1003),
    ] {
        hooks
            .enqueue(&delivery("acct_a", task, at, "2026-12-01T00:00:00Z"))
            .await
            .unwrap();
    }
    let none = HashSet::new();
    let (due, next) = hooks.due(1005, 16, &none).await.unwrap();
    assert_eq!(
        (ids(&due), next),
        (vec!["task_a", "task_b", "task_c"], Some(2000))
    );
    let (due, _) = hooks.due(1005, 2, &none).await.unwrap();
    assert_eq!(ids(&due), ["task_a", "task_b"]);
    let busy = HashSet::from(["evt_task_a".to_string()]);
    let (due, _) = hooks.due(1005, 2, &busy).await.unwrap();
    assert_eq!(ids(&due), ["task_b", "task_c"]);
    let (due, next) = hooks.due(999, 16, &none).await.unwrap();
    assert_eq!((due.len(), next), (0, Some(1001)));
}

pub(crate) async fn an_attempt_reschedules_or_settles_a_delivery(hooks: Arc<dyn WebhookStore>) {
    let d = delivery("acct_a", "task_1", 1000, "2026-12-01T00:00:00Z");
    hooks.enqueue(&d).await.unwrap();
    assert_eq!(hooks.pending().await.unwrap(), 1);
    let retry = Delivery {
        attempts: 1,
        next_attempt_at: 1005,
        last_error: Some("the receiver answered 500".into()),
        ..d.clone()
    };
    hooks.record_attempt(&retry, 1000).await.unwrap();
    assert_eq!(hooks.pending().await.unwrap(), 1, "a retry waits");
    let none = HashSet::new();
    let (due, next) = hooks.due(1001, 16, &none).await.unwrap();
    assert_eq!((due.len(), next), (0, Some(1005)));
    let (due, _) = hooks.due(1005, 16, &none).await.unwrap();
    assert_eq!(due, std::slice::from_ref(&retry));
    let delivered = Delivery {
        attempts: 2,
        status: DeliveryStatus::Delivered,
        last_error: None,
        ..retry
    };
    hooks.record_attempt(&delivered, 1005).await.unwrap();
    assert_eq!(hooks.due(5000, 16, &none).await.unwrap(), (vec![], None));
    assert_eq!(hooks.pending().await.unwrap(), 0);
    assert_eq!(
        hooks.deliveries_of("acct_a", 10).await.unwrap(),
        [delivered]
    );
}

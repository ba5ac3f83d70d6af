//! The behaviour every [`ReplicaStore`] must have, as tests an
//! implementation runs with `suite!(fresh)`, where `fresh().await` returns
//! a guard (dropped after the test) and an empty store.

use std::sync::Arc;
use std::time::Duration;

use super::{Heartbeat, ReplicaStore, ServedPlugin};

/// The tests, for an implementation's `fresh` constructor.
macro_rules! suite {
    ($fresh:path) => {
        $crate::store::replicas::conformance::suite!(@tests $fresh;
            replicas_are_listed_with_their_last_heartbeat,
            a_silent_replica_is_not_live_until_it_beats_again,
            one_replica_at_a_time_leads_a_job,
        );
    };
    (@tests $fresh:path; $($name:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                let (_guard, store) = $fresh().await;
                $crate::store::replicas::conformance::$name(store).await;
            }
        )*
    };
}
pub(crate) use suite;

fn beat(id: &str, started_at: &str, canvas: &str) -> Heartbeat {
    Heartbeat {
        id: id.to_string(),
        address: format!("http://10.0.0.1:80{}", &id[id.len() - 1..]),
        version: "0.1.0".into(),
        started_at: started_at.to_string(),
        plugins: vec![ServedPlugin {
            name: "canvas".into(),
            version: canvas.to_string(),
        }],
    }
}

pub(crate) async fn replicas_are_listed_with_their_last_heartbeat(store: Arc<dyn ReplicaStore>) {
    assert!(
        store
            .replicas(Duration::from_secs(30))
            .await
            .unwrap()
            .is_empty()
    );
    let b = beat("rep_b", "2026-12-03T10:00:02Z", "1.0.0");
    let a = beat("rep_a", "2026-12-03T10:00:01Z", "1.0.0");
    store.heartbeat(&b).await.unwrap();
    store.heartbeat(&a).await.unwrap();
    // A later heartbeat replaces the earlier one: a newer plugin version.
    let a2 = beat("rep_a", "2026-12-03T10:00:01Z", "1.1.0");
    store.heartbeat(&a2).await.unwrap();
    let listed = store.replicas(Duration::from_secs(30)).await.unwrap();
    let beats: Vec<&Heartbeat> = listed.iter().map(|v| &v.heartbeat).collect();
    assert_eq!(
        beats,
        [&a2, &b],
        "oldest start first, the last heartbeat each"
    );
    for view in &listed {
        assert!(view.live, "{view:?}");
        let at = crate::time::unix_seconds(&view.last_heartbeat);
        assert!(
            (at - crate::time::now_unix()).abs() <= 5,
            "{} is now",
            view.last_heartbeat
        );
    }
}

pub(crate) async fn a_silent_replica_is_not_live_until_it_beats_again(
    store: Arc<dyn ReplicaStore>,
) {
    let a = beat("rep_a", "2026-12-03T10:00:01Z", "1.0.0");
    store.heartbeat(&a).await.unwrap();
    tokio::time::sleep(Duration::from_millis(400)).await;
    let b = beat("rep_b", "2026-12-03T10:00:02Z", "1.0.0");
    store.heartbeat(&b).await.unwrap();
    let live = |views: Vec<super::ReplicaView>| -> Vec<(String, bool)> {
        views
            .into_iter()
            .map(|v| (v.heartbeat.id, v.live))
            .collect()
    };
    let window = Duration::from_millis(300);
    assert_eq!(
        live(store.replicas(window).await.unwrap()),
        [("rep_a".to_string(), false), ("rep_b".to_string(), true)]
    );
    store.heartbeat(&a).await.unwrap();
    assert_eq!(
        live(store.replicas(window).await.unwrap()),
        [("rep_a".to_string(), true), ("rep_b".to_string(), true)]
    );
}

pub(crate) async fn one_replica_at_a_time_leads_a_job(store: Arc<dyn ReplicaStore>) {
    let term = Duration::from_millis(500);
    // Racing for a free job: one wins.
    let (a, b) = tokio::join!(
        store.lead("retention", "rep_a", term),
        store.lead("retention", "rep_b", term)
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    assert!(a != b, "one leader: {a} {b}");
    let (leader, other) = if a {
        ("rep_a", "rep_b")
    } else {
        ("rep_b", "rep_a")
    };
    // Its term goes on while it leads; the other waits; another job is free.
    assert!(store.lead("retention", leader, term).await.unwrap());
    assert!(!store.lead("retention", other, term).await.unwrap());
    assert!(store.lead("purge-2", other, term).await.unwrap());
    // Once its term runs out, the other takes over.
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert!(store.lead("retention", other, term).await.unwrap());
    assert!(!store.lead("retention", leader, term).await.unwrap());
}

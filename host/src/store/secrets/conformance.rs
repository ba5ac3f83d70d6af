//! The behaviour every [`SecretStore`] must have, as tests an
//! implementation runs with `suite!(fresh)`, where `fresh().await` returns
//! a guard (dropped after the test) and an empty store.

use std::sync::Arc;

use super::SecretStore;

/// The tests, for an implementation's `fresh` constructor.
macro_rules! suite {
    ($fresh:path) => {
        $crate::store::secrets::conformance::suite!(@tests $fresh;
            the_first_secret_kept_stands_among_racing_starts,
            a_set_secret_replaces_the_kept_one,
            credentials_are_kept_apart_replaced_and_removed,
        );
    };
    (@tests $fresh:path; $($name:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $name() {
                let (_guard, store) = $fresh().await;
                $crate::store::secrets::conformance::$name(store).await;
            }
        )*
    };
}
pub(crate) use suite;

pub(crate) async fn the_first_secret_kept_stands_among_racing_starts(store: Arc<dyn SecretStore>) {
    assert_eq!(store.secret("url_signing_key").await.unwrap(), None);
    let starts: Vec<_> = (0..16)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .keep_first("url_signing_key", &format!("key-{i}"))
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut kept = Vec::new();
    for start in starts {
        kept.push(start.await.unwrap());
    }
    let winners: Vec<_> = kept.iter().filter(|(_, first)| *first).collect();
    assert_eq!(winners.len(), 1, "one start keeps its secret");
    let secret = winners[0].0.clone();
    assert!(kept.iter().all(|(s, _)| *s == secret), "all agree on it");
    assert_eq!(store.secret("url_signing_key").await.unwrap(), Some(secret));
    assert_eq!(store.secret("admin_key_sha256").await.unwrap(), None);
}

pub(crate) async fn a_set_secret_replaces_the_kept_one(store: Arc<dyn SecretStore>) {
    store.keep_first("admin_key_sha256", "aa").await.unwrap();
    store.set_secret("admin_key_sha256", "bb").await.unwrap();
    assert_eq!(
        store.secret("admin_key_sha256").await.unwrap().as_deref(),
        Some("bb")
    );
    let (kept, first) = store.keep_first("admin_key_sha256", "cc").await.unwrap();
    assert_eq!((kept.as_str(), first), ("bb", false));
}

pub(crate) async fn credentials_are_kept_apart_replaced_and_removed(store: Arc<dyn SecretStore>) {
    store.keep_first("url_signing_key", "k").await.unwrap();
    assert!(store.credentials().await.unwrap().is_empty());
    store.put_credential("openai", "sealed-1").await.unwrap();
    store.put_credential("fal", "sealed-2").await.unwrap();
    store.put_credential("openai", "sealed-3").await.unwrap();
    assert_eq!(
        store.credentials().await.unwrap(),
        vec![
            ("fal".to_string(), "sealed-2".to_string()),
            ("openai".to_string(), "sealed-3".to_string())
        ]
    );
    // The gateway's own secrets are not credentials, nor the reverse.
    assert_eq!(store.secret("openai").await.unwrap(), None);
    assert!(store.remove_credential("openai").await.unwrap());
    assert!(!store.remove_credential("openai").await.unwrap());
    assert_eq!(
        store.credentials().await.unwrap(),
        vec![("fal".to_string(), "sealed-2".to_string())]
    );
    assert_eq!(
        store.secret("url_signing_key").await.unwrap().as_deref(),
        Some("k")
    );
}

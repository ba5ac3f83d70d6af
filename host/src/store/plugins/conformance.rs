//! The behaviour every [`PluginStore`] must have, as tests an
//! implementation runs with `suite!(fresh)`, where `fresh().await` returns
//! a guard (dropped after the test) and an empty store.

use std::sync::Arc;

use super::{PluginKind, PluginRecord, PluginSaveError, PluginStore, VersionRecord};

/// The tests, for an implementation's `fresh` constructor.
macro_rules! suite {
    ($fresh:path) => {
        $crate::store::plugins::conformance::suite!(@tests $fresh;
            a_record_is_saved_whole_and_listed_by_name,
            a_save_over_a_stale_revision_is_refused_and_changes_nothing,
            of_concurrent_saves_from_one_revision_exactly_one_lands,
        );
    };
    (@tests $fresh:path; $($name:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $name() {
                let (_guard, store) = $fresh().await;
                $crate::store::plugins::conformance::$name(store).await;
            }
        )*
    };
}
pub(crate) use suite;

/// A never-saved record of plugin `name` with one active version.
pub(crate) fn record(name: &str, kind: PluginKind) -> PluginRecord {
    PluginRecord {
        name: name.to_string(),
        kind,
        active: Some("1.0.0".into()),
        history: vec!["1.0.0".into()],
        versions: vec![VersionRecord {
            version: "1.0.0".into(),
            sha256: "00".repeat(32),
            wit_version: "0.3.0".into(),
            installed_at: "2026-12-01T00:00:00Z".into(),
            bundled: false,
            models: vec![format!("{name}/model")],
            categories: Vec::new(),
        }],
        retired_at: None,
        retire_at: None,
        config: None,
        revision: 0,
    }
}

pub(crate) async fn a_record_is_saved_whole_and_listed_by_name(plugins: Arc<dyn PluginStore>) {
    assert!(plugins.plugin("zeta").await.unwrap().is_none());
    assert!(plugins.plugins().await.unwrap().is_empty());
    let mut zeta = record("zeta", PluginKind::Provider);
    plugins.save_plugin(&mut zeta).await.unwrap();
    assert_eq!(zeta.revision, 1);
    let mut alpha = record("alpha", PluginKind::Policy);
    alpha.config = Some(serde_json::json!({ "threshold": 0.5 }));
    plugins.save_plugin(&mut alpha).await.unwrap();

    zeta.history.push("1.1.0".into());
    zeta.active = Some("1.1.0".into());
    zeta.retire_at = Some("2099-01-01T00:00:00Z".into());
    plugins.save_plugin(&mut zeta).await.unwrap();
    assert_eq!(zeta.revision, 2);
    assert_eq!(plugins.plugin("zeta").await.unwrap(), Some(zeta.clone()));
    assert_eq!(plugins.plugins().await.unwrap(), [alpha, zeta]);

    let mut nameless = record("", PluginKind::Provider);
    let err = plugins.save_plugin(&mut nameless).await.unwrap_err();
    assert!(matches!(err, PluginSaveError::Invalid(_)), "{err}");
    assert_eq!(plugins.plugins().await.unwrap().len(), 2);
}

pub(crate) async fn a_save_over_a_stale_revision_is_refused_and_changes_nothing(
    plugins: Arc<dyn PluginStore>,
) {
    let mut first = record("p", PluginKind::Provider);
    plugins.save_plugin(&mut first).await.unwrap();
    let mut a = plugins.plugin("p").await.unwrap().unwrap();
    let mut b = a.clone();
    a.active = Some("0.9.0".into());
    plugins.save_plugin(&mut a).await.unwrap();

    b.config = Some(serde_json::json!({ "from": "b" }));
    let before = b.clone();
    let err = plugins.save_plugin(&mut b).await.unwrap_err();
    assert!(
        matches!(
            err,
            PluginSaveError::Stale {
                expected: 1,
                stored: 2,
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(b, before, "the caller's record is left as it was");
    assert_eq!(
        plugins.plugin("p").await.unwrap(),
        Some(a.clone()),
        "nothing changed"
    );

    // A record made afresh for a stored plugin is stale too.
    let mut again = record("p", PluginKind::Provider);
    let err = plugins.save_plugin(&mut again).await.unwrap_err();
    assert!(
        matches!(err, PluginSaveError::Stale { stored: 2, .. }),
        "{err}"
    );
    // A revision from the future is no better.
    let mut ahead = PluginRecord {
        revision: 7,
        ..a.clone()
    };
    let err = plugins.save_plugin(&mut ahead).await.unwrap_err();
    assert!(
        matches!(err, PluginSaveError::Stale { stored: 2, .. }),
        "{err}"
    );
    let mut gone = record("never-saved", PluginKind::Policy);
    gone.revision = 1;
    let err = plugins.save_plugin(&mut gone).await.unwrap_err();
    assert!(
        matches!(err, PluginSaveError::Stale { stored: 0, .. }),
        "{err}"
    );
    assert_eq!(plugins.plugins().await.unwrap(), [a]);
}

pub(crate) async fn of_concurrent_saves_from_one_revision_exactly_one_lands(
    plugins: Arc<dyn PluginStore>,
) {
    let mut base = record("p", PluginKind::Provider);
    plugins.save_plugin(&mut base).await.unwrap();
    let saves = (0..16).map(|i| {
        let plugins = plugins.clone();
        let mut mine = base.clone();
        mine.config = Some(serde_json::json!({ "writer": i }));
        tokio::spawn(async move { plugins.save_plugin(&mut mine).await.map(|()| mine) })
    });
    let mut landed = Vec::new();
    for save in saves.collect::<Vec<_>>() {
        match save.await.unwrap() {
            Ok(mine) => landed.push(mine),
            Err(PluginSaveError::Stale { .. }) => {}
            Err(e) => panic!("{e}"),
        }
    }
    assert_eq!(landed.len(), 1, "one writer wins, the others see it");
    assert_eq!(landed[0].revision, 2);
    assert_eq!(plugins.plugin("p").await.unwrap(), Some(landed[0].clone()));
}

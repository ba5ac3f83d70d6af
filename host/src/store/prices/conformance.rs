//! The behaviour every [`PriceStore`] must have, as tests an implementation
//! runs with `suite!(fresh)`, where `fresh().await` returns a guard
//! (dropped after the test) and an empty store.

use std::sync::Arc;

use super::{ChangelogEntry, PriceChange, PriceStore, PricingError};

/// The tests, for an implementation's `fresh` constructor.
macro_rules! suite {
    ($fresh:path) => {
        $crate::store::prices::conformance::suite!(@tests $fresh;
            a_price_change_is_stored_with_its_entry_or_not_at_all,
            price_changes_come_by_model_then_effective_time_then_id,
            a_batch_of_entries_is_announced_whole_or_not_at_all,
            entries_are_found_by_kind_and_paged_newest_first,
        );
    };
    (@tests $fresh:path; $($name:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $name() {
                let (_guard, store) = $fresh().await;
                $crate::store::prices::conformance::$name(store).await;
            }
        )*
    };
}
pub(crate) use suite;

/// A price change of `model` to `per_image` credits from `effective_at`.
pub(crate) fn change(
    id: &str,
    model: &str,
    per_image: Option<i64>,
    effective_at: &str,
) -> PriceChange {
    PriceChange {
        id: id.to_string(),
        model: model.to_string(),
        per_image,
        per_second: None,
        effective_at: effective_at.to_string(),
    }
}

/// A changelog entry of type `kind`.
pub(crate) fn entry(id: &str, kind: &str, model: Option<&str>) -> ChangelogEntry {
    ChangelogEntry {
        id: id.to_string(),
        kind: kind.to_string(),
        model: model.map(str::to_string),
        effective_at: "2026-12-01T00:00:00Z".into(),
        details: serde_json::json!({ "n": 1 }),
        created_at: "2026-12-01T00:00:00Z".into(),
    }
}

/// The entry that announces `change`.
fn announcing(change: &PriceChange) -> ChangelogEntry {
    ChangelogEntry {
        effective_at: change.effective_at.clone(),
        details: serde_json::json!({ "per_image": change.per_image }),
        ..entry(&change.id, "price_changed", Some(&change.model))
    }
}

fn ids(entries: &[ChangelogEntry]) -> Vec<&str> {
    entries.iter().map(|e| e.id.as_str()).collect()
}

async fn all_entries(prices: &dyn PriceStore) -> Vec<ChangelogEntry> {
    let (page, more) = prices.changelog(1000, None).await.unwrap();
    assert!(!more);
    page
}

pub(crate) async fn a_price_change_is_stored_with_its_entry_or_not_at_all(
    prices: Arc<dyn PriceStore>,
) {
    let first = change("chg_01", "m", Some(5), "2026-12-01T00:00:00Z");
    prices
        .schedule_price(&first, &announcing(&first))
        .await
        .unwrap();
    assert_eq!(
        prices.price_changes().await.unwrap(),
        std::slice::from_ref(&first)
    );
    assert_eq!(all_entries(&*prices).await, [announcing(&first)]);

    // An id already announced (by anything): refused, nothing stored.
    let taken = change("chg_01", "m", Some(9), "2026-12-02T00:00:00Z");
    let err = prices
        .schedule_price(&taken, &announcing(&taken))
        .await
        .unwrap_err();
    assert!(matches!(err, PricingError::Conflict(_)), "{err}");
    prices
        .announce(&[entry("chg_02", "model_launched", Some("m"))])
        .await
        .unwrap();
    let taken = change("chg_02", "m", Some(9), "2026-12-02T00:00:00Z");
    let err = prices
        .schedule_price(&taken, &announcing(&taken))
        .await
        .unwrap_err();
    assert!(matches!(err, PricingError::Conflict(_)), "{err}");

    // An entry that is not the change's, or a time that is not one.
    let other = change("chg_03", "m", Some(9), "2026-12-02T00:00:00Z");
    let err = prices
        .schedule_price(&other, &entry("chg_04", "price_changed", Some("m")))
        .await
        .unwrap_err();
    assert!(matches!(err, PricingError::Invalid(_)), "{err}");
    let bad_time = change("chg_05", "m", Some(9), "tomorrow");
    let err = prices
        .schedule_price(&bad_time, &announcing(&bad_time))
        .await
        .unwrap_err();
    assert!(matches!(err, PricingError::Invalid(_)), "{err}");

    assert_eq!(
        prices.price_changes().await.unwrap(),
        [first],
        "nothing changed"
    );
    assert_eq!(ids(&all_entries(&*prices).await), ["chg_02", "chg_01"]);
}

pub(crate) async fn price_changes_come_by_model_then_effective_time_then_id(
    prices: Arc<dyn PriceStore>,
) {
    let changes = [
        change("chg_07", "m", Some(3), "2027-01-01T00:00:00Z"),
        change("chg_02", "m/x", Some(4), "2026-01-01T00:00:00Z"),
        change("chg_06", "m", Some(2), "2026-06-01T00:00:00Z"),
        change("chg_05", "m", Some(1), "2026-06-01T00:00:00Z"),
        change("chg_01", "a", Some(9), "2030-01-01T00:00:00Z"),
        change("chg_08", "m", Some(0), "1999-12-31T23:59:59Z"),
    ];
    for c in &changes {
        prices.schedule_price(c, &announcing(c)).await.unwrap();
    }
    let listed: Vec<String> = prices
        .price_changes()
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.id)
        .collect();
    assert_eq!(
        listed,
        ["chg_01", "chg_08", "chg_05", "chg_06", "chg_07", "chg_02"],
        "a model's changes together, by when they take effect; a model \
         whose name extends another's after it"
    );
    assert_eq!(prices.price_changes().await.unwrap()[1], changes[5]);
}

pub(crate) async fn a_batch_of_entries_is_announced_whole_or_not_at_all(
    prices: Arc<dyn PriceStore>,
) {
    prices.announce(&[]).await.unwrap();
    assert!(all_entries(&*prices).await.is_empty());
    let (a, b) = (
        entry("chg_01", "model_launched", Some("m")),
        entry("chg_02", "policy_updated", None),
    );
    prices.announce(&[a.clone(), b.clone()]).await.unwrap();
    assert_eq!(all_entries(&*prices).await, [b.clone(), a.clone()]);

    let c = entry("chg_03", "model_retired", Some("m"));
    let replaced = ChangelogEntry {
        kind: "model_retired".into(),
        ..a.clone()
    };
    let err = prices.announce(&[c.clone(), replaced]).await.unwrap_err();
    assert!(matches!(err, PricingError::Conflict(_)), "{err}");
    let err = prices.announce(&[c.clone(), c.clone()]).await.unwrap_err();
    assert!(matches!(err, PricingError::Conflict(_)), "{err}");
    assert_eq!(all_entries(&*prices).await, [b, a], "nothing changed");

    prices.announce(std::slice::from_ref(&c)).await.unwrap();
    assert_eq!(
        ids(&all_entries(&*prices).await),
        ["chg_03", "chg_02", "chg_01"]
    );
}

pub(crate) async fn entries_are_found_by_kind_and_paged_newest_first(prices: Arc<dyn PriceStore>) {
    let kinds = [
        "model_launched",
        "price_changed",
        "model_retired",
        "policy_updated",
        "model_launched",
    ];
    let entries: Vec<ChangelogEntry> = kinds
        .iter()
        .enumerate()
        .map(|(i, kind)| entry(&format!("chg_0{i}"), kind, Some("m")))
        .collect();
    // Announced out of order: listings go by id.
    for e in entries.iter().rev() {
        prices.announce(std::slice::from_ref(e)).await.unwrap();
    }
    let found = prices
        .entries_of_kinds(&["model_launched", "model_retired"])
        .await
        .unwrap();
    assert_eq!(ids(&found), ["chg_00", "chg_02", "chg_04"]);
    assert_eq!(found[1], entries[2]);
    assert!(
        prices
            .entries_of_kinds(&["nothing"])
            .await
            .unwrap()
            .is_empty()
    );

    let (page, more) = prices.changelog(2, None).await.unwrap();
    assert_eq!((ids(&page), more), (vec!["chg_04", "chg_03"], true));
    let (page, more) = prices.changelog(2, Some("chg_03")).await.unwrap();
    assert_eq!((ids(&page), more), (vec!["chg_02", "chg_01"], true));
    let (page, more) = prices.changelog(2, Some("chg_01")).await.unwrap();
    assert_eq!((ids(&page), more), (vec!["chg_00"], false));
    let (page, more) = prices.changelog(5, None).await.unwrap();
    assert_eq!((page.len(), more), (5, false));
}

//! Prices and the public changelog.
//!
//! A model's price starts as the configured one; operators schedule changes
//! with an `effective_at`. A task pays the price in force when it was
//! submitted. Launches, retirements and price changes go to the changelog
//! that `GET /v1/changelog` serves.
//!
//! Both are kept by a [`PriceStore`]; the price schedule and the model
//! launches and retirements are also held in memory, loaded at start and
//! updated once each change has committed, so that pricing a request (and
//! listing the models) reads no storage.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, RwLock};

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::config::{Config, PriceConfig};
use crate::store::StoreError;
use crate::store::changes::Change;
use crate::store::prices::PriceStore;
use crate::time::{now_rfc3339, to_rfc3339};

pub use crate::store::prices::{ChangelogEntry, PriceChange, PricingError};

/// The changelog types that launch and retire models.
const MODEL_EVENTS: [&str; 2] = ["model_launched", "model_retired"];

/// Prices and changelog: the price schedule and the model launches and
/// retirements are kept in memory (loaded at start, updated after each
/// commit), so that pricing a request reads no storage. Cheap to clone.
#[derive(Clone)]
pub struct Pricing {
    inner: Arc<Inner>,
}

struct Inner {
    store: Arc<dyn PriceStore>,
    /// Each model's scheduled prices in the order they take effect (as the
    /// store lists them).
    schedule: RwLock<HashMap<String, Vec<Scheduled>>>,
    /// The changelog's launches and retirements of models, in no order.
    events: RwLock<Vec<ChangelogEntry>>,
}

/// A scheduled price in memory.
struct Scheduled {
    /// Where it sorts: the second it takes effect, then its id.
    order: (i64, String),
    /// When it takes effect (`None` if its time does not parse: it never
    /// does, and hides the prices after it).
    effective: Option<OffsetDateTime>,
    price: PriceConfig,
}

impl Scheduled {
    fn of(change: &PriceChange) -> Self {
        let effective = parse_time(&change.effective_at);
        Self {
            order: (
                effective.map_or(i64::MAX, OffsetDateTime::unix_timestamp),
                change.id.clone(),
            ),
            effective,
            price: PriceConfig {
                per_image: change.per_image,
                per_second: change.per_second,
            },
        }
    }
}

fn parse_time(text: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(text, &Rfc3339).ok()
}

fn is_model_event(e: &ChangelogEntry) -> bool {
    e.model.is_some() && MODEL_EVENTS.contains(&e.kind.as_str())
}

impl Pricing {
    /// Prices and changelog in `store`; loads the price schedule and the
    /// model launches and retirements into memory.
    pub async fn open(store: Arc<dyn PriceStore>) -> Result<Self, StoreError> {
        let (schedule, events) = load(&*store).await?;
        Ok(Self {
            inner: Arc::new(Inner {
                store,
                schedule: RwLock::new(schedule),
                events: RwLock::new(events),
            }),
        })
    }

    /// Loads the schedule and the changelog's launches and retirements
    /// again (another replica changed them).
    pub async fn reload(&self) -> Result<(), StoreError> {
        let (schedule, events) = load(&*self.inner.store).await?;
        *self.inner.schedule.write().expect("lock") = schedule;
        *self.inner.events.write().expect("lock") = events;
        Ok(())
    }

    /// Reloads whenever the change feed says prices or the changelog
    /// changed, until the process ends.
    pub async fn follow(self, mut changes: tokio::sync::broadcast::Receiver<Change>) {
        use tokio::sync::broadcast::error::RecvError;
        loop {
            let reload = match changes.recv().await {
                Ok(change) => change.concerns(crate::store::changes::PRICES),
                Err(RecvError::Lagged(_)) => true,
                Err(RecvError::Closed) => return,
            };
            if reload && let Err(e) = self.reload().await {
                tracing::warn!(error = %e, "could not reload prices changed by another replica");
            }
        }
    }
}

/// Each model's price schedule and the model launches and retirements, as
/// `store` keeps them.
async fn load(
    store: &dyn PriceStore,
) -> Result<(HashMap<String, Vec<Scheduled>>, Vec<ChangelogEntry>), StoreError> {
    let mut schedule: HashMap<String, Vec<Scheduled>> = HashMap::new();
    for change in store.price_changes().await? {
        schedule
            .entry(change.model.clone())
            .or_default()
            .push(Scheduled::of(&change));
    }
    for list in schedule.values_mut() {
        // The store's order already; sorting makes it the invariant
        // that `insert` keeps.
        list.sort_by(|a, b| a.order.cmp(&b.order));
    }
    let events = store
        .entries_of_kinds(&MODEL_EVENTS)
        .await?
        .into_iter()
        .filter(is_model_event)
        .collect();
    Ok((schedule, events))
}

impl Pricing {
    /// The price of `model` at `at`: the latest scheduled change in effect,
    /// else the configuration's. Reads memory only.
    pub fn price_at(
        &self,
        config: &Config,
        model: &str,
        at: OffsetDateTime,
    ) -> Option<PriceConfig> {
        let schedule = self.inner.schedule.read().expect("lock");
        let mut current = None;
        for scheduled in schedule.get(model).into_iter().flatten() {
            match scheduled.effective {
                Some(t) if t <= at => current = Some(scheduled.price),
                _ => break,
            }
        }
        current.or_else(|| config.price(model))
    }

    /// Schedules a price change and announces it, in one commit; the price
    /// takes effect at its time.
    pub async fn schedule(
        &self,
        model: &str,
        per_image: Option<i64>,
        per_second: Option<i64>,
        effective_at: Option<&str>,
    ) -> Result<PriceChange, PricingError> {
        if per_image.is_none() && per_second.is_none() {
            return Err(PricingError::InvalidField(
                "per_image",
                "give a price per image (per_image), per second (per_second) or both".into(),
            ));
        }
        for (field, price) in [("per_image", per_image), ("per_second", per_second)] {
            if price.is_some_and(|c| c < 0) {
                return Err(PricingError::InvalidField(
                    field,
                    "a price cannot be negative".into(),
                ));
            }
        }
        let effective = match effective_at {
            Some(text) => parse_time(text).ok_or_else(|| {
                PricingError::InvalidField(
                    "effective_at",
                    format!("effective_at {text:?} is not an RFC 3339 time"),
                )
            })?,
            None => OffsetDateTime::now_utc(),
        };
        let change = PriceChange {
            id: crate::ids::new("chg"),
            model: model.to_string(),
            per_image,
            per_second,
            effective_at: to_rfc3339(effective),
        };
        let entry = ChangelogEntry {
            id: change.id.clone(),
            kind: "price_changed".into(),
            model: Some(model.to_string()),
            effective_at: change.effective_at.clone(),
            details: serde_json::json!({ "per_image": per_image, "per_second": per_second }),
            created_at: now_rfc3339(),
        };
        self.inner.store.schedule_price(&change, &entry).await?;
        let scheduled = Scheduled::of(&change);
        let mut schedule = self.inner.schedule.write().expect("lock");
        let list = schedule.entry(change.model.clone()).or_default();
        let at = list.partition_point(|s| s.order <= scheduled.order);
        list.insert(at, scheduled);
        Ok(change)
    }

    /// The price changes of `model` scheduled to take effect after `at`,
    /// in the order they do. Reads memory only.
    pub fn scheduled_after(&self, model: &str, at: OffsetDateTime) -> Vec<PriceChange> {
        let schedule = self.inner.schedule.read().expect("lock");
        schedule
            .get(model)
            .into_iter()
            .flatten()
            .filter_map(|s| {
                let effective = s.effective.filter(|t| *t > at)?;
                Some(PriceChange {
                    id: s.order.1.clone(),
                    model: model.to_string(),
                    per_image: s.price.per_image,
                    per_second: s.price.per_second,
                    effective_at: to_rfc3339(effective),
                })
            })
            .collect()
    }

    /// Adds entries to the changelog, all in one commit.
    pub async fn announce(&self, entries: &[ChangelogEntry]) -> Result<(), PricingError> {
        self.inner.store.announce(entries).await?;
        self.inner
            .events
            .write()
            .expect("lock")
            .extend(entries.iter().filter(|e| is_model_event(e)).cloned());
        Ok(())
    }

    /// The changelog's model launches and retirements in the order they
    /// take effect.
    fn model_events(&self) -> Vec<ChangelogEntry> {
        let mut events = self.inner.events.read().expect("lock").clone();
        events.sort_by(|a, b| {
            let t = |e: &ChangelogEntry| parse_time(&e.effective_at).map(|t| t.unix_timestamp());
            t(a).cmp(&t(b)).then_with(|| a.id.cmp(&b.id))
        });
        events
    }

    /// The models live now by the changelog (launched and not retired
    /// since), and the retired ones with when.
    pub fn model_states(&self) -> (BTreeSet<String>, BTreeMap<String, String>) {
        let now = OffsetDateTime::now_utc();
        let mut live = BTreeSet::new();
        let mut retired = BTreeMap::new();
        for e in self.model_events() {
            let model = e.model.clone().expect("filtered");
            if parse_time(&e.effective_at).is_some_and(|t| t > now) {
                continue;
            }
            if e.kind == "model_launched" {
                retired.remove(&model);
                live.insert(model);
            } else {
                live.remove(&model);
                retired.insert(model, e.effective_at.clone());
            }
        }
        (live, retired)
    }

    /// Models whose retirement is announced for later (or was announced as
    /// scheduled and not undone by a launch since).
    pub fn scheduled_retirements(&self) -> BTreeSet<String> {
        let mut scheduled = BTreeSet::new();
        for e in self.model_events() {
            let model = e.model.clone().expect("filtered");
            if e.kind == "model_launched" {
                scheduled.remove(&model);
            } else if e.details["scheduled"] == true {
                scheduled.insert(model);
            }
        }
        scheduled
    }

    /// When each model is scheduled to retire (announced, not yet effective).
    pub fn upcoming_retirements(&self) -> BTreeMap<String, String> {
        let now = OffsetDateTime::now_utc();
        let mut upcoming = BTreeMap::new();
        for e in self.model_events() {
            let model = e.model.clone().expect("filtered");
            if e.kind == "model_launched" {
                upcoming.remove(&model);
            } else if parse_time(&e.effective_at).is_some_and(|t| t > now) {
                upcoming.insert(model, e.effective_at.clone());
            }
        }
        upcoming
    }

    /// At start: announces `model_launched` for models served that the
    /// changelog does not show as live, and `model_retired` for models it
    /// shows as live that are no longer served, all in one commit.
    pub async fn announce_launches(&self, models: &[String]) -> Result<(), PricingError> {
        let (live, _) = self.model_states();
        let now = now_rfc3339();
        let entry = |kind: &str, model: &String, details| ChangelogEntry {
            id: crate::ids::new("chg"),
            kind: kind.into(),
            model: Some(model.clone()),
            effective_at: now.clone(),
            details,
            created_at: now.clone(),
        };
        let mut entries = Vec::new();
        for model in live.iter().filter(|m| !models.contains(m)) {
            entries.push(entry(
                "model_retired",
                model,
                serde_json::json!({ "reason": "no longer served after a restart" }),
            ));
        }
        for model in models.iter().filter(|m| !live.contains(*m)) {
            entries.push(entry("model_launched", model, serde_json::json!({})));
        }
        self.announce(&entries).await
    }

    /// The changelog, newest first, before the entry `after`.
    pub async fn changelog(
        &self,
        limit: usize,
        after: Option<&str>,
    ) -> Result<(Vec<ChangelogEntry>, bool), StoreError> {
        self.inner.store.changelog(limit, after).await
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use time::OffsetDateTime;
    use time::macros::datetime;

    use super::{Pricing, PricingError};
    use crate::config::{Config, PriceConfig};
    use crate::store::Store;
    use crate::store::prices::EmbeddedPrices;

    const MODEL: &str = "imini/canvas-image";

    async fn open(store: &Store) -> Pricing {
        Pricing::open(Arc::new(EmbeddedPrices::open(store).unwrap()))
            .await
            .unwrap()
    }

    fn per_image(credits: i64) -> Option<PriceConfig> {
        Some(PriceConfig {
            per_image: Some(credits),
            per_second: None,
        })
    }

    #[tokio::test]
    async fn prices_are_served_from_memory_and_take_effect_at_their_time() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let pricing = open(&store).await;
        let config = Config::default();
        let now = OffsetDateTime::now_utc();
        assert_eq!(
            pricing.price_at(&config, MODEL, now),
            config.price(MODEL),
            "the configured price while nothing is scheduled"
        );
        let soon = now + time::Duration::seconds(30);
        for (credits, at) in [
            (70, "2099-01-01T00:00:00Z".to_string()),
            (50, crate::time::to_rfc3339(soon)),
            (30, "2020-01-01T00:00:00Z".to_string()),
        ] {
            pricing
                .schedule(MODEL, Some(credits), None, Some(&at))
                .await
                .unwrap();
        }
        let before = store.op_counts();
        assert_eq!(pricing.price_at(&config, MODEL, now), per_image(30));
        assert_eq!(
            pricing.price_at(&config, MODEL, soon + time::Duration::seconds(1)),
            per_image(50),
            "a change scheduled for later applies from its time, without a reload"
        );
        assert_eq!(
            pricing.price_at(&config, MODEL, datetime!(2099-01-01 0:00 UTC)),
            per_image(70)
        );
        assert_eq!(
            pricing.price_at(&config, MODEL, datetime!(2019-12-31 23:59:59 UTC)),
            config.price(MODEL),
            "before the first change"
        );
        assert_eq!(pricing.price_at(&config, "nobody/none", now), None);
        assert_eq!(store.op_counts(), before, "no storage read for a price");

        // A gateway started on the same data prices the same.
        drop(pricing);
        let reopened = open(&store).await;
        assert_eq!(reopened.price_at(&config, MODEL, now), per_image(30));
        assert_eq!(
            reopened.price_at(&config, MODEL, soon + time::Duration::seconds(1)),
            per_image(50)
        );
        let (entries, _) = reopened.changelog(10, None).await.unwrap();
        assert_eq!(entries.len(), 3);
        assert!(entries.iter().all(|e| e.kind == "price_changed"));
    }

    #[tokio::test]
    async fn a_refused_price_change_changes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let pricing = open(&store).await;
        let config = Config::default();
        for (image, second, at) in [
            (None, None, None),
            (Some(-1), None, None),
            (None, Some(-5), None),
            (Some(1), None, Some("tomorrow")),
        ] {
            let err = pricing
                .schedule(MODEL, image, second, at)
                .await
                .unwrap_err();
            assert!(matches!(err, PricingError::InvalidField(..)), "{err}");
        }
        let now = OffsetDateTime::now_utc();
        assert_eq!(pricing.price_at(&config, MODEL, now), config.price(MODEL));
        assert_eq!(pricing.changelog(10, None).await.unwrap(), (vec![], false));
        assert_eq!(
            open(&store).await.price_at(&config, MODEL, now),
            config.price(MODEL)
        );
    }

    #[tokio::test]
    async fn launches_and_retirements_are_announced_once_and_remembered() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let pricing = open(&store).await;
        let models = ["a/one".to_string(), "a/two".to_string()];
        pricing.announce_launches(&models).await.unwrap();
        pricing.announce_launches(&models).await.unwrap();
        assert_eq!(
            pricing.changelog(10, None).await.unwrap().0.len(),
            2,
            "once"
        );
        let (live, retired) = pricing.model_states();
        assert_eq!(live.into_iter().collect::<Vec<_>>(), models);
        assert!(retired.is_empty());

        // Restarted serving one of them: the other retires.
        let reopened = open(&store).await;
        reopened.announce_launches(&models[..1]).await.unwrap();
        let (live, retired) = reopened.model_states();
        assert_eq!(live.into_iter().collect::<Vec<_>>(), models[..1]);
        assert_eq!(retired.keys().collect::<Vec<_>>(), [&models[1]]);
        assert_eq!(open(&store).await.model_states().1.len(), 1, "remembered");

        // A retirement announced for later is upcoming and scheduled.
        let later = super::ChangelogEntry {
            id: crate::ids::new("chg"),
            kind: "model_retired".into(),
            model: Some(models[0].clone()),
            effective_at: "2099-01-01T00:00:00Z".into(),
            details: serde_json::json!({ "scheduled": true }),
            created_at: crate::time::now_rfc3339(),
        };
        reopened
            .announce(std::slice::from_ref(&later))
            .await
            .unwrap();
        assert_eq!(
            reopened
                .upcoming_retirements()
                .get(&models[0])
                .map(String::as_str),
            Some("2099-01-01T00:00:00Z")
        );
        assert!(reopened.scheduled_retirements().contains(&models[0]));
        assert!(
            reopened.model_states().0.contains(&models[0]),
            "live until then"
        );
        let err = reopened.announce(&[later]).await.unwrap_err();
        assert!(matches!(err, PricingError::Conflict(_)), "{err}");
        assert_eq!(reopened.changelog(10, None).await.unwrap().0.len(), 4);
    }
}

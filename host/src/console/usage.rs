//! The usage chart of the last 30 days, stacked by model, drawn as inline
//! SVG: exact on the billing page, and on the overview from a copy kept
//! for a minute per account.
//!
//! The figures are `bills::daily_usage_by_model`'s (what
//! `/v1/account/usage` reads): the account's ledger and each charged
//! task's model, so working them out grows with the account's history
//! (tens of milliseconds for 10,000 tasks). The overview is the page a
//! person sees most, so it keeps each account's chart while the account's
//! balance and held credits stay as they were (a charge changes both), for
//! at most [`OVERVIEW_CHART_SECS`] and within the day; the billing page
//! always works it out afresh.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration as StdDuration, Instant};

use time::{Duration, OffsetDateTime};

use crate::api::{ApiError, AppState};
use crate::store::ledger::Balance;

/// Days the chart covers, today included.
const CHART_DAYS: i64 = 30;

/// How long the overview shows a chart before working it out again.
pub const OVERVIEW_CHART_SECS: u64 = 60;

/// Accounts whose overview chart is kept at most (a chart is a few
/// kilobytes); past it, expired ones are dropped, and a new one is not
/// kept while none has expired.
const KEPT_CHARTS: usize = 10_000;

/// Colours of the chart's models, in order; further models share the last.
const PALETTE: [&str; 7] = [
    "#2b59c3", "#e07a1f", "#1e7a3c", "#8e44ad", "#c0392b", "#16a085", "#7f8c8d",
];

/// The chart's height and the distance between bars, in SVG user units.
const CHART_HEIGHT: u32 = 150;
const BAR_STEP: u32 = 20;

/// One bar segment of the chart (SVG user units).
pub(crate) struct Segment {
    pub x: u32,
    pub y: u32,
    pub height: u32,
    pub colour: &'static str,
    pub title: String,
}

/// A model in the chart's legend and its totals.
pub(crate) struct ModelTotal {
    pub model: String,
    pub colour: &'static str,
    pub credits: i64,
}

/// The chart: its bars, the totals by model, and the days it covers.
pub(crate) struct UsageChart {
    pub segments: Vec<Segment>,
    pub totals: Vec<ModelTotal>,
    /// The highest day's credits (the chart's scale).
    pub max: i64,
    pub first_day: String,
    pub last_day: String,
}

/// Works out the chart of `account_id`'s last 30 days, as of now.
pub(crate) async fn usage_chart(
    state: &AppState,
    account_id: &str,
) -> Result<UsageChart, ApiError> {
    let now = OffsetDateTime::now_utc();
    let today = now.replace_time(time::Time::MIDNIGHT);
    let start = today - Duration::days(CHART_DAYS - 1);
    let days: Vec<String> = (0..CHART_DAYS)
        .map(|d| (start + Duration::days(d)).date().to_string())
        .collect();
    let credits = crate::bills::daily_usage_by_model(
        &state.ledger,
        &state.tasks,
        account_id,
        start,
        today + Duration::days(1),
    )
    .await?;
    let (segments, totals, max) = bars(&days, &credits);
    Ok(UsageChart {
        segments,
        totals,
        max,
        first_day: days.first().cloned().unwrap_or_default(),
        last_day: days.last().cloned().unwrap_or_default(),
    })
}

/// The chart's bars: a stack per day, a segment per model.
fn bars(
    days: &[String],
    credits: &BTreeMap<(String, String), i64>,
) -> (Vec<Segment>, Vec<ModelTotal>, i64) {
    let mut totals: BTreeMap<&str, i64> = BTreeMap::new();
    let mut per_day: BTreeMap<&str, i64> = BTreeMap::new();
    for ((day, model), c) in credits {
        *totals.entry(model).or_default() += c;
        *per_day.entry(day).or_default() += c;
    }
    let mut models: Vec<(&str, i64)> = totals.into_iter().collect();
    models.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    let colour = |i: usize| PALETTE[i.min(PALETTE.len() - 1)];
    let max = per_day.values().copied().max().unwrap_or(0).max(1);
    let mut segments = Vec::new();
    for (d, day) in days.iter().enumerate() {
        let mut top = CHART_HEIGHT;
        for (i, (model, _)) in models.iter().enumerate() {
            let Some(&c) = credits.get(&(day.clone(), (*model).to_string())) else {
                continue;
            };
            let height = ((c as f64 / max as f64) * f64::from(CHART_HEIGHT)).round() as u32;
            let height = height.max(1);
            top = top.saturating_sub(height);
            segments.push(Segment {
                x: d as u32 * BAR_STEP,
                y: top,
                height,
                colour: colour(i),
                title: format!("{day}: {c} credits on {model}"),
            });
        }
    }
    let totals = models
        .iter()
        .enumerate()
        .map(|(i, (model, credits))| ModelTotal {
            model: (*model).to_string(),
            colour: colour(i),
            credits: *credits,
        })
        .collect();
    (segments, totals, max)
}

/// A chart kept for the overview, and what it was worked out with.
struct Kept {
    at: Instant,
    /// Its last day.
    day: String,
    /// The account's balance then.
    balance: Balance,
    chart: Arc<UsageChart>,
}

/// The overview's charts, one per account, each used again while the
/// account's balance is as it was, on the same day, for at most
/// [`OVERVIEW_CHART_SECS`]. Each replica keeps its own.
#[derive(Default)]
pub struct OverviewCharts {
    kept: Mutex<HashMap<String, Kept>>,
}

impl OverviewCharts {
    /// `account_id`'s chart, whose balance is `balance` now: as kept, if
    /// nothing it rests on changed, or worked out now (and kept).
    pub(crate) async fn chart(
        &self,
        state: &AppState,
        account_id: &str,
        balance: Balance,
    ) -> Result<Arc<UsageChart>, ApiError> {
        let max_age = StdDuration::from_secs(OVERVIEW_CHART_SECS);
        let today = OffsetDateTime::now_utc().date().to_string();
        if let Some(k) = self.kept.lock().expect("lock").get(account_id)
            && k.at.elapsed() < max_age
            && k.day == today
            && k.balance == balance
        {
            return Ok(k.chart.clone());
        }
        let chart = Arc::new(usage_chart(state, account_id).await?);
        let mut kept = self.kept.lock().expect("lock");
        if kept.len() >= KEPT_CHARTS {
            kept.retain(|_, k| k.at.elapsed() < max_age);
        }
        if kept.len() < KEPT_CHARTS || kept.contains_key(account_id) {
            let k = Kept {
                at: Instant::now(),
                day: chart.last_day.clone(),
                balance,
                chart: chart.clone(),
            };
            kept.insert(account_id.to_string(), k);
        }
        Ok(chart)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_stack_by_day_with_the_biggest_model_first() {
        let days = vec!["2026-12-05".to_string(), "2026-12-06".to_string()];
        let credits = BTreeMap::from([
            (("2026-12-05".into(), "a/small".into()), 10),
            (("2026-12-06".into(), "a/small".into()), 10),
            (("2026-12-06".into(), "b/big".into()), 30),
        ]);
        let (segments, totals, max) = bars(&days, &credits);
        assert_eq!(max, 40, "the highest day");
        let names: Vec<_> = totals
            .iter()
            .map(|t| (t.model.as_str(), t.credits))
            .collect();
        assert_eq!(names, [("b/big", 30), ("a/small", 20)]);
        // Day 2: b/big (30 of 40) at the bottom, a/small above it.
        let day2: Vec<_> = segments.iter().filter(|s| s.x == BAR_STEP).collect();
        assert_eq!(day2.len(), 2);
        assert_eq!((day2[0].height, day2[0].y), (113, 37));
        assert_eq!(day2[1].height, 38);
        assert_eq!(day2[1].y, 0, "the stack reaches the top on the highest day");
    }
}

//! What an account used and owes: usage grouped by model, key or day,
//! monthly bills that reconcile with the ledger, and bill disputes.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use time::{Date, Month, OffsetDateTime, Time};

use crate::ledger::{Entry, EntryKind, Ledger, LedgerStore};
use crate::store::StoreError;
pub use crate::store::ledger::{Decision, Dispute, DisputeError, DisputeStatus};
use crate::tasks::Tasks;
use crate::time::now_rfc3339;

/// Failures of usage and bill queries.
#[derive(Debug, thiserror::Error)]
pub enum BillError {
    /// Bad input, naming the parameter.
    #[error("{1}")]
    Invalid(&'static str, String),
    /// The dispute cannot be filed or decided now.
    #[error("{0}")]
    Conflict(String),
    /// No such dispute.
    #[error("no such dispute")]
    NotFound,
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Task storage failed.
    #[error(transparent)]
    Tasks(#[from] crate::tasks::TaskStoreError),
}

/// How long after a month ends its bill can be disputed.
pub const DISPUTE_WINDOW_DAYS: i64 = 30;

/// Parses `YYYY-MM` into the month's first instant and the next month's.
pub fn month_bounds(month: &str) -> Result<(OffsetDateTime, OffsetDateTime), BillError> {
    let bad = || BillError::Invalid("month", format!("{month:?} is not a month like 2026-11"));
    let (y, m) = month.split_once('-').ok_or_else(bad)?;
    let (y, m): (i32, u8) = (y.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
    if y.to_string().len() != 4 {
        return Err(bad());
    }
    let month = Month::try_from(m).map_err(|_| bad())?;
    let start = Date::from_calendar_date(y, month, 1).map_err(|_| bad())?;
    let next = if month == Month::December {
        Date::from_calendar_date(y + 1, Month::January, 1)
    } else {
        Date::from_calendar_date(y, month.next(), 1)
    }
    .map_err(|_| bad())?;
    Ok((
        start.with_time(Time::MIDNIGHT).assume_utc(),
        next.with_time(Time::MIDNIGHT).assume_utc(),
    ))
}

/// Parses `YYYY-MM-DD` as the start of that day (UTC).
pub fn day_start(text: &str, param: &'static str) -> Result<OffsetDateTime, BillError> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    Date::parse(text, &format)
        .map(|d| d.with_time(Time::MIDNIGHT).assume_utc())
        .map_err(|_| {
            BillError::Invalid(
                param,
                format!("{param} {text:?} is not a date like 2026-11-24"),
            )
        })
}

fn at(entry: &Entry) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(crate::time::unix_seconds(&entry.created_at))
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// Every entry of an account, oldest first.
pub async fn all_entries(ledger: &Ledger, account_id: &str) -> Result<Vec<Entry>, StoreError> {
    let mut all = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let (page, more) = ledger.entries(account_id, after.as_deref(), 1000).await?;
        after = page.last().map(|e| e.id.clone());
        all.extend(page);
        if !more {
            return Ok(all);
        }
    }
}

/// One row of usage.
#[derive(Debug, Clone, Serialize)]
pub struct UsageRow {
    /// The group: a model id, a key id or a day.
    pub group: String,
    /// Tasks charged.
    pub tasks: u64,
    /// Credits charged.
    pub credits: i64,
}

/// How usage is grouped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum GroupBy {
    /// By model id.
    Model,
    /// By API key id.
    Key,
    /// By UTC day.
    Day,
}

/// One charge (a capture): when, for which task, placed by which key.
struct Charge {
    at: OffsetDateTime,
    task_id: String,
    key: String,
    credits: i64,
}

/// The model of a charged task.
async fn model_of(tasks: &Tasks, account_id: &str, task_id: &str) -> Result<String, BillError> {
    Ok(tasks
        .get(task_id, account_id)
        .await?
        .map_or_else(|| "unknown".to_string(), |t| t.model))
}

/// The charges in `[start, end)`, in ledger order.
async fn charges_in(
    ledger: &Ledger,
    account_id: &str,
    start: OffsetDateTime,
    end: OffsetDateTime,
) -> Result<Vec<Charge>, BillError> {
    let entries = all_entries(ledger, account_id).await?;
    // The key that placed each task's hold.
    let holders: BTreeMap<&str, &str> = entries
        .iter()
        .filter(|e| e.kind == EntryKind::Hold)
        .filter_map(|e| Some((e.task_id.as_deref()?, e.actor.as_str())))
        .collect();
    let mut charges = Vec::new();
    for e in entries.iter().filter(|e| e.kind == EntryKind::Capture) {
        let when = at(e);
        if when < start || when >= end {
            continue;
        }
        let task_id = e.task_id.as_deref().unwrap_or_default();
        charges.push(Charge {
            at: when,
            task_id: task_id.to_string(),
            key: holders.get(task_id).map_or("unknown", |k| k).to_string(),
            credits: -e.amount,
        });
    }
    Ok(charges)
}

/// Charges in `[start, end)`, grouped.
pub async fn usage(
    ledger: &Ledger,
    tasks: &Tasks,
    account_id: &str,
    start: OffsetDateTime,
    end: OffsetDateTime,
    group_by: GroupBy,
) -> Result<Vec<UsageRow>, BillError> {
    let mut rows: BTreeMap<String, UsageRow> = BTreeMap::new();
    for c in charges_in(ledger, account_id, start, end).await? {
        let group = match group_by {
            GroupBy::Model => model_of(tasks, account_id, &c.task_id).await?,
            GroupBy::Key => c.key,
            GroupBy::Day => c.at.date().to_string(),
        };
        let row = rows.entry(group.clone()).or_insert(UsageRow {
            group,
            tasks: 0,
            credits: 0,
        });
        row.tasks += 1;
        row.credits += c.credits;
    }
    Ok(rows.into_values().collect())
}

/// Credits charged in `[start, end)` by UTC day (`YYYY-MM-DD`) and model.
pub async fn daily_usage_by_model(
    ledger: &Ledger,
    tasks: &Tasks,
    account_id: &str,
    start: OffsetDateTime,
    end: OffsetDateTime,
) -> Result<BTreeMap<(String, String), i64>, BillError> {
    let mut credits = BTreeMap::new();
    for c in charges_in(ledger, account_id, start, end).await? {
        let model = model_of(tasks, account_id, &c.task_id).await?;
        *credits.entry((c.at.date().to_string(), model)).or_insert(0) += c.credits;
    }
    Ok(credits)
}

/// A monthly statement.
#[derive(Debug, Clone, Serialize)]
pub struct Bill {
    /// `YYYY-MM`.
    pub month: String,
    /// The balance when the month began.
    pub opening_balance: i64,
    /// Credits bought.
    pub topups: i64,
    /// Charges per model.
    pub charges: Vec<UsageRow>,
    /// All charges.
    pub charges_total: i64,
    /// Charged credits given back.
    pub refunds: i64,
    /// Operator corrections (either sign).
    pub adjustments: i64,
    /// Credits forfeited on closing.
    pub forfeited: i64,
    /// The balance when the month ended (or now, for the current month).
    pub closing_balance: i64,
    /// Credits owed when the month ended: the part of the closing balance
    /// below zero.
    pub amount_due: i64,
    /// When what is owed must be paid: the end of the month the debt began
    /// in, plus the grace days (RFC 3339; none when nothing is owed).
    pub due_by: Option<String>,
}

/// The bill of `month`: `closing = opening + topups - charges + refunds +
/// adjustments - forfeited`, entry by entry from the ledger; a debt is due
/// `grace_days` after the end of the month it began in.
pub async fn bill(
    ledger: &Ledger,
    tasks: &Tasks,
    account_id: &str,
    month: &str,
    grace_days: u32,
) -> Result<Bill, BillError> {
    let (start, end) = month_bounds(month)?;
    let entries = all_entries(ledger, account_id).await?;
    let opening = entries
        .iter()
        .rfind(|e| at(e) < start)
        .map_or(0, |e| e.balance_after);
    let in_month: Vec<&Entry> = entries
        .iter()
        .filter(|e| at(e) >= start && at(e) < end)
        .collect();
    let sum = |kind: EntryKind| {
        in_month
            .iter()
            .filter(|e| e.kind == kind)
            .map(|e| e.amount)
            .sum::<i64>()
    };
    let charges = usage(ledger, tasks, account_id, start, end, GroupBy::Model).await?;
    let closing = in_month.last().map_or(opening, |e| e.balance_after);
    let until_end: Vec<Entry> = entries.iter().filter(|e| at(e) < end).cloned().collect();
    let due_by = crate::overdue::debt_began(&until_end)
        .map(|began| crate::time::to_rfc3339(crate::overdue::due_by(at(began), grace_days)));
    Ok(Bill {
        month: month.to_string(),
        opening_balance: opening,
        topups: sum(EntryKind::Topup),
        charges_total: -sum(EntryKind::Capture),
        charges,
        refunds: sum(EntryKind::Refund),
        adjustments: sum(EntryKind::Adjustment),
        forfeited: -sum(EntryKind::Forfeit),
        closing_balance: closing,
        amount_due: (-closing).max(0),
        due_by,
    })
}

/// Bill disputes: filed by accounts, decided by operators.
#[derive(Clone)]
pub struct Disputes {
    store: Arc<dyn LedgerStore>,
}

impl Disputes {
    /// Disputes kept with the ledger in `store`.
    pub fn new(store: Arc<dyn LedgerStore>) -> Self {
        Self { store }
    }

    /// Files a dispute of `month`'s bill, within [`DISPUTE_WINDOW_DAYS`] of
    /// the month's end (and not before the month began).
    pub async fn file(
        &self,
        account_id: &str,
        month: &str,
        reason: &str,
        now: OffsetDateTime,
    ) -> Result<Dispute, BillError> {
        let (start, end) = month_bounds(month)?;
        if now < start {
            return Err(BillError::Conflict(format!(
                "the bill of {month} does not exist yet"
            )));
        }
        if now > end + time::Duration::days(DISPUTE_WINDOW_DAYS) {
            return Err(BillError::Conflict(format!(
                "the bill of {month} can no longer be disputed: disputes are accepted until {DISPUTE_WINDOW_DAYS} days after the month ends"
            )));
        }
        let reason = reason.trim();
        if reason.is_empty() || reason.len() > 5000 {
            return Err(BillError::Invalid(
                "reason",
                "reason must be 1 to 5000 characters".into(),
            ));
        }
        let dispute = Dispute {
            id: crate::ids::new("dsp"),
            account_id: account_id.to_string(),
            month: month.to_string(),
            reason: reason.to_string(),
            status: DisputeStatus::Open,
            credits_returned: 0,
            resolution: None,
            created_at: now_rfc3339(),
            decided_at: None,
            entry_id: None,
        };
        self.store.file_dispute(&dispute).await?;
        Ok(dispute)
    }

    /// Disputes, oldest first, optionally only of one status or account.
    pub async fn list(
        &self,
        status: Option<DisputeStatus>,
        account_id: Option<&str>,
    ) -> Result<Vec<Dispute>, StoreError> {
        self.store.disputes(status, account_id).await
    }

    /// Decides an open dispute as `actor` (who the adjustment entry
    /// names): resolved with `credits` returned (an adjustment entry, in
    /// the same commit as the decision), or rejected.
    pub async fn decide(
        &self,
        id: &str,
        resolve: bool,
        credits: i64,
        note: &str,
        actor: &str,
    ) -> Result<Dispute, BillError> {
        if !(0..=crate::ledger::MAX_CREDITS).contains(&credits) || (!resolve && credits != 0) {
            return Err(BillError::Invalid(
                "credits",
                format!(
                    "credits must be 0 to {}, and only when resolving",
                    crate::ledger::MAX_CREDITS
                ),
            ));
        }
        let dispute = self.store.dispute(id).await?.ok_or(BillError::NotFound)?;
        let entry_reason = format!("dispute {} of {}: {note}", dispute.id, dispute.month);
        let decision = Decision {
            resolve,
            credits,
            note,
            actor,
            entry_reason: &entry_reason,
        };
        self.store
            .decide_dispute(id, decision)
            .await
            .map_err(|e| match e {
                DisputeError::NotFound => BillError::NotFound,
                DisputeError::Decided => BillError::Conflict(e.to_string()),
                DisputeError::Store(e) => BillError::Store(e),
            })
    }
}

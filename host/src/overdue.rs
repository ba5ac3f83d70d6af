//! Debts past their due date: an account with a credit line may
//! spend below zero; the monthly statement that first shows the debt
//! (the end of the month it began in) sets its due date, `overdue_grace_days`
//! later. Still owed then, the account is suspended with a notice (action
//! `account_suspended_overdue`); a payment that covers the balance lifts
//! the suspension by itself.
//!
//! A sweep finds the accounts below zero ([`LedgerStore::owing`]) and those
//! suspended for a debt, at start and every `overdue_check_minutes`; a
//! payment made through the API is checked at once. Every replica sweeps:
//! a suspension's notice id is made from the debt it is about, so it is
//! recorded once.

use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use sha2::{Digest, Sha256};
use time::{Date, OffsetDateTime, Time};

use crate::ledger::{Balance, Entry, Ledger};
use crate::moderation::Moderation;
use crate::moderation::enforcement::NoticeAction;
use crate::store::StoreError;
use crate::store::ledger::LedgerStore;
use crate::time::to_rfc3339;

/// `[billing]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BillingConfig {
    /// Days after the statement that shows a debt until the account is
    /// suspended, if the debt is still owed.
    pub overdue_grace_days: u32,
    /// How often each replica looks for overdue accounts, in minutes.
    pub overdue_check_minutes: u32,
}

impl Default for BillingConfig {
    fn default() -> Self {
        Self {
            overdue_grace_days: 14,
            overdue_check_minutes: 15,
        }
    }
}

impl BillingConfig {
    /// Refuses settings that make no sense, naming the key.
    pub fn check(&self) -> Result<(), String> {
        if self.overdue_grace_days > 3650 {
            return Err("billing.overdue_grace_days must be at most 3650".into());
        }
        if !(1..=1440).contains(&self.overdue_check_minutes) {
            return Err("billing.overdue_check_minutes must be between 1 and 1440".into());
        }
        Ok(())
    }
}

/// The start of the month after the one `t` is in: the end of the
/// statement period `t` belongs to.
pub fn statement_end(t: OffsetDateTime) -> OffsetDateTime {
    let date = t.date();
    let (year, month) = if date.month() == time::Month::December {
        (date.year() + 1, time::Month::January)
    } else {
        (date.year(), date.month().next())
    };
    Date::from_calendar_date(year, month, 1)
        .expect("the first of a month is a date")
        .with_time(Time::MIDNIGHT)
        .assume_utc()
}

/// The entry that began the account's current debt: the first of the
/// entries at the end of `entries` (oldest first) that all leave the
/// balance below zero. `None` if the last one does not.
pub fn debt_began(entries: &[Entry]) -> Option<&Entry> {
    let in_debt = entries
        .iter()
        .rev()
        .take_while(|e| e.balance_after < 0)
        .count();
    (in_debt > 0).then(|| &entries[entries.len() - in_debt])
}

/// When a debt that began at `began` is due: the end of the statement
/// period it began in, plus the grace days.
pub fn due_by(began: OffsetDateTime, grace_days: u32) -> OffsetDateTime {
    statement_end(began) + time::Duration::days(grace_days.into())
}

fn entry_time(e: &Entry) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(crate::time::unix_seconds(&e.created_at))
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// The id of the overdue notice about the debt that `began` started: a
/// time-ordered `ntc_` id (UUIDv7 at the due date) whose other bits come
/// from the account and the entry, the same on every replica.
fn notice_id(account_id: &str, began: &Entry, due: OffsetDateTime) -> String {
    let digest = Sha256::digest(format!("overdue/{account_id}/{}", began.id));
    let mut bits = [0u8; 10];
    bits.copy_from_slice(&digest[..10]);
    let millis = u64::try_from(due.unix_timestamp()).unwrap_or(0) * 1000;
    let id = uuid::Builder::from_unix_timestamp_millis(millis, &bits).into_uuid();
    format!("ntc_{}", id.simple())
}

/// What a check did to an account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Swept {
    /// Accounts suspended.
    pub suspended: usize,
    /// Overdue suspensions lifted.
    pub lifted: usize,
}

/// Suspends accounts whose debt is overdue and lifts the suspension of
/// those that paid.
#[derive(Clone)]
pub struct Overdue {
    ledger: Ledger,
    store: Arc<dyn LedgerStore>,
    moderation: Arc<Moderation>,
    config: BillingConfig,
}

impl Overdue {
    /// Overdue checks on the ledger in `store`.
    pub fn new(
        store: Arc<dyn LedgerStore>,
        moderation: Arc<Moderation>,
        config: BillingConfig,
    ) -> Self {
        Self {
            ledger: Ledger::new(store.clone()),
            store,
            moderation,
            config,
        }
    }

    /// When the account's current debt is (or was) due, if it owes: the
    /// entry that began it and the due date.
    pub async fn due(&self, account_id: &str) -> Result<Option<OffsetDateTime>, StoreError> {
        let entries = crate::bills::all_entries(&self.ledger, account_id).await?;
        Ok(debt_began(&entries).map(|e| due_by(entry_time(e), self.config.overdue_grace_days)))
    }

    /// When what the account owes must be paid (RFC 3339), for views:
    /// none when its balance `b` owes nothing (and then nothing is read).
    pub async fn due_by(&self, account_id: &str, b: Balance) -> Result<Option<String>, StoreError> {
        if b.due() == 0 {
            return Ok(None);
        }
        Ok(self.due(account_id).await?.map(to_rfc3339))
    }

    /// Checks one account now: suspends it if its debt is overdue, lifts
    /// its overdue suspension if it owes nothing.
    pub async fn check(&self, account_id: &str) -> Result<Swept, StoreError> {
        let mut swept = Swept::default();
        let now = self.moderation.clock().now();
        let entries = crate::bills::all_entries(&self.ledger, account_id).await?;
        match debt_began(&entries) {
            None => swept.lifted = self.moderation.lift_paid(account_id).await?,
            Some(began) => {
                let due = due_by(entry_time(began), self.config.overdue_grace_days);
                if now >= due {
                    let owed = -entries.last().map_or(0, |e| e.balance_after);
                    let reason = format!(
                        "{owed} credits owed since {} were due by {} and are still unpaid; \
                         the suspension lifts by itself when a payment covers the balance",
                        to_rfc3339(entry_time(began)),
                        to_rfc3339(due),
                    );
                    let id = notice_id(account_id, began, due);
                    if self
                        .moderation
                        .suspend_overdue(account_id, id, &reason)
                        .await?
                        .is_some()
                    {
                        tracing::warn!(account_id, owed, due = %to_rfc3339(due), "account suspended: amount due unpaid");
                        swept.suspended = 1;
                    }
                }
            }
        }
        Ok(swept)
    }

    /// Checks every account below zero, and every account suspended for a
    /// debt.
    pub async fn sweep(&self) -> Result<Swept, StoreError> {
        let mut accounts: Vec<String> = self
            .store
            .owing()
            .await?
            .into_iter()
            .map(|(account_id, _)| account_id)
            .collect();
        for notice in self.moderation.all_notices().await? {
            if notice.action == NoticeAction::AccountSuspendedOverdue
                && notice.effect() == crate::store::moderation::Effect::Enforce
            {
                accounts.push(notice.account_id);
            }
        }
        accounts.sort();
        accounts.dedup();
        let mut total = Swept::default();
        for account_id in accounts {
            let swept = self.check(&account_id).await?;
            total.suspended += swept.suspended;
            total.lifted += swept.lifted;
        }
        Ok(total)
    }

    /// Sweeps at start, then every `overdue_check_minutes`, until the
    /// process ends.
    pub async fn run(self) {
        let every = Duration::from_secs(u64::from(self.config.overdue_check_minutes) * 60);
        loop {
            match self.sweep().await {
                Ok(s) if s != Swept::default() => {
                    tracing::info!(suspended = s.suspended, lifted = s.lifted, "overdue sweep");
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "overdue sweep failed; trying again later"),
            }
            tokio::time::sleep(every).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;
    use crate::ledger::EntryKind;

    fn entry(id: &str, balance_after: i64, at: &str) -> Entry {
        Entry {
            id: id.into(),
            account_id: "acct_a".into(),
            kind: EntryKind::Capture,
            amount: 0,
            held_change: 0,
            balance_after,
            held_after: 0,
            task_id: None,
            actor: "system".into(),
            reason: None,
            created_at: at.into(),
        }
    }

    #[test]
    fn a_debt_is_due_after_the_statement_of_its_month_and_the_grace_days() {
        assert_eq!(
            due_by(datetime!(2026-11-20 10:00 UTC), 14),
            datetime!(2026-12-15 00:00 UTC)
        );
        assert_eq!(
            due_by(datetime!(2026-12-31 23:59 UTC), 0),
            datetime!(2027-01-01 00:00 UTC),
            "December's statement ends the year"
        );
    }

    #[test]
    fn the_debt_begins_where_the_balance_last_went_below_zero() {
        let entries = [
            entry("le_1", -5, "2026-09-03T00:00:00Z"),
            entry("le_2", 10, "2026-09-10T00:00:00Z"),
            entry("le_3", -20, "2026-11-02T00:00:00Z"),
            entry("le_4", -40, "2026-12-01T00:00:00Z"),
        ];
        assert_eq!(
            debt_began(&entries).unwrap().id,
            "le_3",
            "paid in September"
        );
        assert!(debt_began(&entries[..2]).is_none(), "nothing owed");
        assert!(debt_began(&[]).is_none());
    }

    #[test]
    fn one_debt_has_one_notice_id_on_every_replica() {
        let began = entry("le_3", -20, "2026-11-02T00:00:00Z");
        let due = datetime!(2026-12-15 00:00 UTC);
        let id = notice_id("acct_a", &began, due);
        assert!(crate::ids::is_valid("ntc", &id), "{id}");
        assert_eq!(id, notice_id("acct_a", &began, due));
        assert_ne!(id, notice_id("acct_b", &began, due));
        let later = entry("le_9", -20, "2026-11-02T00:00:00Z");
        assert_ne!(
            id,
            notice_id("acct_a", &later, due),
            "a new debt, a new notice"
        );
        assert!(
            notice_id("acct_a", &began, due + time::Duration::days(1)) > id,
            "time-ordered"
        );
    }
}

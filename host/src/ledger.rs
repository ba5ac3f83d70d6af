//! The ledger: append-only credit entries per account, with the balance and
//! the held credits cached in the same sled transaction as each entry.
//!
//! Money is integer credits. `balance` is what the account owns; `held` is
//! the part reserved by open holds; `balance - held` is available. An entry's
//! `amount` is its change to `balance` (so the entries of an account always
//! sum to its balance) and `held_change` its change to `held`:
//!
//! | entry | amount | held_change |
//! |---|---|---|
//! | topup | +x | 0 |
//! | adjustment | ±x | 0 |
//! | hold | 0 | +x |
//! | capture | -x | -x |
//! | release | 0 | -x |
//! | forfeit | -balance | 0 |
//!
//! Every hold is keyed by its task, and capture and release act only on an
//! open hold, so a task is charged at most once however often they are
//! called (after a crash, say).
//!
//! Atomicity without sled transactions (sled 0.34's transactions and batches
//! can deadlock against its own flusher under load): changes are serialised
//! by one lock, and the account's totals record is the commit point. It is
//! written first and carries the entry it commits; the entry and the hold
//! are written after it. sled persists writes in order, so after a crash
//! [`Ledger::repair`] finds at most the last entry of an account missing
//! and writes it (and its hold) again.

use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use crate::store::{Store, StoreError, Table};
use crate::time::now_rfc3339;

/// Ledger failures.
#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    /// Not enough available credits for a hold.
    #[error("this task needs {needed} credits; {available} are available")]
    Insufficient {
        /// The price.
        needed: i64,
        /// Balance minus held.
        available: i64,
    },
    /// The key's own credit limit would be passed.
    #[error(
        "this API key may hold or spend at most {limit} credits; {spent} are used and this task needs {needed}"
    )]
    KeyLimit {
        /// The key's limit.
        limit: i64,
        /// Held or charged through it so far.
        spent: i64,
        /// The price.
        needed: i64,
    },
    /// An adjustment or forfeit would leave a negative balance.
    #[error("the balance would go below zero (it is {balance}, {held} of it held)")]
    WouldGoNegative {
        /// The balance.
        balance: i64,
        /// The held part.
        held: i64,
    },
    /// An amount that must be positive was not.
    #[error("the amount must be a positive number of credits")]
    NotPositive,
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The kinds of entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EntryKind {
    /// Credits bought.
    Topup,
    /// Credits reserved for a task.
    Hold,
    /// A task's held credits charged.
    Capture,
    /// A task's held credits returned.
    Release,
    /// Charged credits returned.
    Refund,
    /// An operator's correction, with a reason.
    Adjustment,
    /// The unused balance given up when the account closed.
    Forfeit,
}

/// One ledger entry.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Entry {
    /// `le_…`.
    pub id: String,
    /// The account.
    pub account_id: String,
    /// What happened.
    #[serde(rename = "type")]
    pub kind: EntryKind,
    /// Change to the balance.
    pub amount: i64,
    /// Change to the held credits.
    pub held_change: i64,
    /// The balance after this entry.
    pub balance_after: i64,
    /// The held credits after this entry.
    pub held_after: i64,
    /// The task concerned, if any.
    pub task_id: Option<String>,
    /// Who did it: a key id, `admin`, or `system`.
    pub actor: String,
    /// Why, for adjustments and operator actions.
    pub reason: Option<String>,
    /// When.
    pub created_at: String,
}

/// An account's cached totals.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Balance {
    /// Credits owned.
    pub balance: i64,
    /// Credits reserved by open holds.
    pub held: i64,
}

impl Balance {
    /// Credits that can be held now.
    pub fn available(&self) -> i64 {
        self.balance - self.held
    }
}

/// Where a hold stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HoldStatus {
    /// Reserved, not settled.
    Open,
    /// Charged.
    Captured,
    /// Returned.
    Released,
}

/// The hold of one task.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Hold {
    /// The task.
    pub task_id: String,
    /// The paying account.
    pub account_id: String,
    /// Credits reserved.
    pub amount: i64,
    /// Where it stands.
    pub status: HoldStatus,
    /// The key that placed it.
    #[serde(default)]
    pub key_id: Option<String>,
}

/// An account's totals record: the cached balance and the entry that made
/// it (the commit point of that entry).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Totals {
    balance: Balance,
    last_entry: Option<Entry>,
    /// Credits held or charged through each key (for per-key limits).
    #[serde(default)]
    key_spent: std::collections::BTreeMap<String, i64>,
}

/// The ledger.
#[derive(Clone)]
pub struct Ledger {
    store: Store,
    table: Table,
    lock: std::sync::Arc<Mutex<()>>,
}

fn totals_key(account_id: &str) -> String {
    format!("a/{account_id}")
}

fn entry_key(entry: &Entry) -> String {
    format!("e/{}/{}", entry.account_id, entry.id)
}

fn hold_key(task_id: &str) -> String {
    format!("h/{task_id}")
}

/// The hold an entry leaves behind, for entries about a task.
fn hold_after(entry: &Entry, amount: i64) -> Option<Hold> {
    let status = match entry.kind {
        EntryKind::Hold => HoldStatus::Open,
        EntryKind::Capture => HoldStatus::Captured,
        EntryKind::Release => HoldStatus::Released,
        _ => return None,
    };
    Some(Hold {
        task_id: entry.task_id.clone()?,
        account_id: entry.account_id.clone(),
        amount,
        status,
        // Filled in by `repair` from the stored hold or the entry's actor.
        key_id: None,
    })
}

/// What one change does to an account, decided from its balance (and
/// the task's hold, if the entry concerns a task).
struct Change {
    kind: EntryKind,
    amount: i64,
    held_change: i64,
    hold: Option<Hold>,
}

impl Ledger {
    /// The ledger in `store`'s `ledger` tree.
    pub fn new(store: &Store) -> Result<Self, StoreError> {
        Ok(Self {
            store: store.clone(),
            table: store.table("ledger")?,
            lock: Default::default(),
        })
    }

    /// Applies one entry: under the ledger lock, reads the totals (and the
    /// task's hold), lets `decide` choose the change (or refuse, or do
    /// nothing), writes the totals with the entry (the commit point), then
    /// the entry and the hold; then waits for the disk.
    async fn apply(
        &self,
        account_id: &str,
        task_id: Option<&str>,
        actor: &str,
        reason: Option<&str>,
        key_limit: Option<i64>,
        decide: impl FnOnce(Balance, Option<Hold>) -> Result<Option<Change>, LedgerError>,
    ) -> Result<Option<Entry>, LedgerError> {
        let entry = self.apply_unflushed(account_id, task_id, actor, reason, key_limit, decide)?;
        if entry.is_some() {
            self.store.flush().await?;
        }
        Ok(entry)
    }

    /// [`Ledger::apply`] without the wait for the disk.
    fn apply_unflushed(
        &self,
        account_id: &str,
        task_id: Option<&str>,
        actor: &str,
        reason: Option<&str>,
        key_limit: Option<i64>,
        decide: impl FnOnce(Balance, Option<Hold>) -> Result<Option<Change>, LedgerError>,
    ) -> Result<Option<Entry>, LedgerError> {
        let entry = {
            let _guard = self.lock.lock().expect("ledger lock");
            let totals: Totals = self.table.get(&totals_key(account_id))?.unwrap_or_default();
            let hold = match task_id {
                Some(t) => self.table.get::<Hold>(&hold_key(t))?,
                None => None,
            };
            let Some(change) = decide(totals.balance, hold)? else {
                return Ok(None);
            };
            // Credits held through a key count against its limit until
            // released; captured ones stay spent.
            let mut key_spent = totals.key_spent.clone();
            if let Some(hold) = &change.hold
                && let Some(key) = &hold.key_id
            {
                let spent = key_spent.entry(key.clone()).or_default();
                match change.kind {
                    EntryKind::Hold => {
                        if let Some(limit) = key_limit.filter(|l| *spent + change.held_change > *l)
                        {
                            return Err(LedgerError::KeyLimit {
                                limit,
                                spent: *spent,
                                needed: change.held_change,
                            });
                        }
                        *spent += change.held_change;
                    }
                    EntryKind::Release => *spent += change.held_change,
                    _ => {}
                }
            }
            let b = totals.balance;
            let after = Balance {
                balance: b.balance + change.amount,
                held: b.held + change.held_change,
            };
            let entry = Entry {
                id: crate::ids::new("le"),
                account_id: account_id.to_string(),
                kind: change.kind,
                amount: change.amount,
                held_change: change.held_change,
                balance_after: after.balance,
                held_after: after.held,
                task_id: task_id.map(str::to_string),
                actor: actor.to_string(),
                reason: reason.map(str::to_string),
                created_at: now_rfc3339(),
            };
            let totals = Totals {
                balance: after,
                last_entry: Some(entry.clone()),
                key_spent,
            };
            self.table.put_unflushed(&totals_key(account_id), &totals)?;
            self.table.put_unflushed(&entry_key(&entry), &entry)?;
            if let Some(hold) = &change.hold {
                self.table.put_unflushed(&hold_key(&hold.task_id), hold)?;
            }
            entry
        };
        Ok(Some(entry))
    }

    /// Rewrites what a crash may have lost: the last entry of each account
    /// and the hold it left. Call before serving.
    pub fn repair(&self) -> Result<usize, StoreError> {
        let _guard = self.lock.lock().expect("ledger lock");
        let mut repaired = 0;
        for item in self.table.scan_from::<Totals>("a/", "a/") {
            let (_, totals) = item?;
            let Some(entry) = totals.last_entry else {
                continue;
            };
            if self.table.get::<Entry>(&entry_key(&entry))?.is_none() {
                self.table.put_unflushed(&entry_key(&entry), &entry)?;
                repaired += 1;
            }
            if let Some(mut hold) = hold_after(&entry, entry.held_change.abs()) {
                let stored = self.table.get::<Hold>(&hold_key(&hold.task_id))?;
                hold.key_id = stored.as_ref().and_then(|h| h.key_id.clone()).or_else(|| {
                    (entry.kind == EntryKind::Hold && entry.actor.starts_with("key_"))
                        .then(|| entry.actor.clone())
                });
                if stored.is_none_or(|h| h.status != hold.status) {
                    self.table.put_unflushed(&hold_key(&hold.task_id), &hold)?;
                    repaired += 1;
                }
            }
        }
        Ok(repaired)
    }

    /// Adds bought credits.
    pub async fn topup(
        &self,
        account_id: &str,
        credits: i64,
        actor: &str,
        reason: Option<&str>,
    ) -> Result<Entry, LedgerError> {
        self.credit(EntryKind::Topup, account_id, credits, actor, reason)
            .await
    }

    /// Gives back charged credits (an operator's refund).
    pub async fn refund(
        &self,
        account_id: &str,
        credits: i64,
        actor: &str,
        reason: &str,
    ) -> Result<Entry, LedgerError> {
        self.credit(EntryKind::Refund, account_id, credits, actor, Some(reason))
            .await
    }

    /// Adds a positive number of credits as an entry of `kind`.
    async fn credit(
        &self,
        kind: EntryKind,
        account_id: &str,
        credits: i64,
        actor: &str,
        reason: Option<&str>,
    ) -> Result<Entry, LedgerError> {
        if credits <= 0 {
            return Err(LedgerError::NotPositive);
        }
        let change = |_, _| {
            Ok(Some(Change {
                kind,
                amount: credits,
                held_change: 0,
                hold: None,
            }))
        };
        Ok(self
            .apply(account_id, None, actor, reason, None, change)
            .await?
            .expect("a credit always writes"))
    }

    /// Corrects the balance by `credits` (either sign), never below what is
    /// held.
    pub async fn adjust(
        &self,
        account_id: &str,
        credits: i64,
        actor: &str,
        reason: &str,
    ) -> Result<Entry, LedgerError> {
        let change = |b: Balance, _| {
            if b.available() + credits < 0 {
                return Err(LedgerError::WouldGoNegative {
                    balance: b.balance,
                    held: b.held,
                });
            }
            Ok(Some(Change {
                kind: EntryKind::Adjustment,
                amount: credits,
                held_change: 0,
                hold: None,
            }))
        };
        Ok(self
            .apply(account_id, None, actor, Some(reason), None, change)
            .await?
            .expect("an adjustment always writes"))
    }

    /// Reserves `credits` for `task_id`, or refuses with what is available.
    pub async fn hold(
        &self,
        account_id: &str,
        task_id: &str,
        credits: i64,
        actor: &str,
        key_limit: Option<i64>,
    ) -> Result<Entry, LedgerError> {
        let entry = self
            .hold_unflushed(account_id, task_id, credits, actor, key_limit)
            .await?;
        self.store.flush().await?;
        Ok(entry)
    }

    /// [`Ledger::hold`] without waiting for the disk: the caller makes the
    /// hold durable with its own next flush (one fsync for the hold and
    /// the record that goes with it). Until then a crash may lose it, and
    /// nothing may rely on it.
    pub async fn hold_unflushed(
        &self,
        account_id: &str,
        task_id: &str,
        credits: i64,
        actor: &str,
        key_limit: Option<i64>,
    ) -> Result<Entry, LedgerError> {
        let change = |b: Balance, existing: Option<Hold>| {
            if existing.is_some() {
                // A task holds once; this cannot happen with fresh task ids.
                return Ok(None);
            }
            if b.available() < credits {
                return Err(LedgerError::Insufficient {
                    needed: credits,
                    available: b.available(),
                });
            }
            let hold = Hold {
                task_id: task_id.to_string(),
                account_id: account_id.to_string(),
                amount: credits,
                status: HoldStatus::Open,
                key_id: actor.starts_with("key_").then(|| actor.to_string()),
            };
            Ok(Some(Change {
                kind: EntryKind::Hold,
                amount: 0,
                held_change: credits,
                hold: Some(hold),
            }))
        };
        self.apply_unflushed(account_id, Some(task_id), actor, None, key_limit, change)?
            .ok_or(LedgerError::Store(StoreError::Conflict(
                "the task already has a hold",
            )))
    }

    /// Charges a task's open hold. Does nothing if there is none.
    pub async fn capture(&self, task_id: &str) -> Result<Option<Entry>, LedgerError> {
        self.settle(task_id, HoldStatus::Captured).await
    }

    /// Returns a task's open hold. Does nothing if there is none.
    pub async fn release(&self, task_id: &str) -> Result<Option<Entry>, LedgerError> {
        self.settle(task_id, HoldStatus::Released).await
    }

    async fn settle(&self, task_id: &str, to: HoldStatus) -> Result<Option<Entry>, LedgerError> {
        let Some(hold) = self.hold_of(task_id)? else {
            return Ok(None);
        };
        let change = |_, current: Option<Hold>| {
            let Some(mut hold) = current.filter(|h| h.status == HoldStatus::Open) else {
                return Ok(None);
            };
            hold.status = to;
            let x = hold.amount;
            Ok(Some(match to {
                HoldStatus::Captured => Change {
                    kind: EntryKind::Capture,
                    amount: -x,
                    held_change: -x,
                    hold: Some(hold),
                },
                _ => Change {
                    kind: EntryKind::Release,
                    amount: 0,
                    held_change: -x,
                    hold: Some(hold),
                },
            }))
        };
        self.apply(
            &hold.account_id,
            Some(task_id),
            "system",
            None,
            None,
            change,
        )
        .await
    }

    /// Gives up the whole unused balance (the account is closing). Refuses
    /// while credits are held.
    pub async fn forfeit(
        &self,
        account_id: &str,
        actor: &str,
    ) -> Result<Option<Entry>, LedgerError> {
        let change = |b: Balance, _| {
            if b.held > 0 {
                return Err(LedgerError::WouldGoNegative {
                    balance: b.balance,
                    held: b.held,
                });
            }
            Ok((b.balance > 0).then_some(Change {
                kind: EntryKind::Forfeit,
                amount: -b.balance,
                held_change: 0,
                hold: None,
            }))
        };
        self.apply(
            account_id,
            None,
            actor,
            Some("account closed"),
            None,
            change,
        )
        .await
    }

    /// Credits held or charged through a key.
    pub fn key_spent(&self, account_id: &str, key_id: &str) -> Result<i64, StoreError> {
        let totals = self
            .table
            .get::<Totals>(&totals_key(account_id))?
            .unwrap_or_default();
        Ok(totals.key_spent.get(key_id).copied().unwrap_or(0))
    }

    /// An account's totals.
    pub fn balance(&self, account_id: &str) -> Result<Balance, StoreError> {
        Ok(self
            .table
            .get::<Totals>(&totals_key(account_id))?
            .unwrap_or_default()
            .balance)
    }

    /// The hold of a task.
    pub fn hold_of(&self, task_id: &str) -> Result<Option<Hold>, StoreError> {
        self.table.get(&hold_key(task_id))
    }

    /// Every hold not yet settled.
    pub fn open_holds(&self) -> Result<Vec<Hold>, StoreError> {
        self.table
            .scan_from::<Hold>("h/", "h/")
            .filter_map(|item| match item {
                Ok((_, h)) if h.status == HoldStatus::Open => Some(Ok(h)),
                Ok(_) => None,
                Err(e) => Some(Err(e)),
            })
            .collect()
    }

    /// An account's entries, oldest first, after the entry `after`.
    pub fn entries(
        &self,
        account_id: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<(Vec<Entry>, bool), StoreError> {
        let prefix = format!("e/{account_id}/");
        let start = after.map_or_else(|| prefix.clone(), |a| format!("{prefix}{a}\u{1}"));
        let mut page = Vec::new();
        for item in self.table.scan_from::<Entry>(&start, &prefix) {
            let (_, entry) = item?;
            if page.len() == limit {
                return Ok((page, true));
            }
            page.push(entry);
        }
        Ok((page, false))
    }
}

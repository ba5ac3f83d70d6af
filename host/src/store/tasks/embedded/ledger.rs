//! The ledger's side of the embedded task store: entries that carry the
//! balance after them, and the [`LedgerStore`] methods.

use std::collections::HashSet;

use super::{EmbeddedTasks, State, entry_key};
use crate::store::ledger::{
    self, Balance, Decision, Dispute, DisputeError, DisputeStatus, Entry, EntryKind, Hold,
    HoldStatus, LedgerError, LedgerStore, NewEntry,
};
use crate::store::tasks::Settle;
use crate::store::{Batch, StoreError};
use crate::time::now_rfc3339;

/// A new entry id after `last`'s: ids are time-ordered, and an account's
/// last entry (its balance) is the one with the greatest id, also when the
/// clock steps back.
pub(super) fn next_entry_id(last: Option<&Entry>) -> String {
    let id = crate::ids::new("le");
    match last {
        Some(last) if id <= last.id => last
            .id
            .strip_prefix("le_")
            .and_then(|hex| u128::from_str_radix(hex, 16).ok())
            .map_or(id, |n| format!("le_{:032x}", n.wrapping_add(1))),
        _ => id,
    }
}

pub(super) fn entry_after(last: Option<&Entry>, account_id: &str, new: NewEntry<'_>) -> Entry {
    let before = balance_after(last);
    Entry {
        id: next_entry_id(last),
        account_id: account_id.to_string(),
        kind: new.kind,
        amount: new.amount,
        held_change: new.held_change,
        balance_after: before.balance + new.amount,
        held_after: before.held + new.held_change,
        task_id: new.task_id.map(str::to_string),
        actor: new.actor.to_string(),
        reason: new.reason.map(str::to_string),
        created_at: now_rfc3339(),
    }
}

pub(super) fn balance_after(last: Option<&Entry>) -> Balance {
    last.map_or_else(Balance::default, |e| Balance {
        balance: e.balance_after,
        held: e.held_after,
    })
}

impl EmbeddedTasks {
    /// An account's last entry (the one with the greatest id): its
    /// balance. Kept in memory once read, as every entry is written under
    /// the lock, through [`EmbeddedTasks::put_entry`].
    pub(super) fn last_entry(
        &self,
        state: &mut State,
        account_id: &str,
    ) -> Result<Option<Entry>, StoreError> {
        if let Some(last) = state.last_entries.get(account_id) {
            return Ok(last.clone());
        }
        let prefix = format!("e/{account_id}/");
        let last = match self.ledger.scan_prefix_rev::<Entry>(&prefix).next() {
            None => None,
            Some(item) => Some(item?.1),
        };
        state
            .last_entries
            .insert(account_id.to_string(), last.clone());
        Ok(last)
    }

    /// Adds an entry to `batch`, which becomes its account's last, and
    /// keeps the index of accounts below zero.
    pub(super) fn put_entry(&self, state: &mut State, batch: &mut Batch, entry: &Entry) {
        let was_owing = state
            .last_entries
            .get(&entry.account_id)
            .and_then(Option::as_ref)
            .is_some_and(|last| last.balance_after < 0);
        let owes = entry.balance_after < 0;
        if owes && !was_owing {
            batch.put(&self.owing, &entry.account_id, &true);
        }
        batch.put(
            &self.ledger,
            &entry_key(&entry.account_id, &entry.id),
            entry,
        );
        if was_owing && !owes {
            batch.remove(&self.owing, &entry.account_id);
        }
        state
            .last_entries
            .insert(entry.account_id.clone(), Some(entry.clone()));
    }

    /// Credits held or charged through `key_id`, from the cache or the
    /// account's entries: its holds, less those released.
    pub(super) fn spent(
        &self,
        state: &mut State,
        account_id: &str,
        key_id: &str,
    ) -> Result<i64, StoreError> {
        let at = (account_id.to_string(), key_id.to_string());
        if let Some(spent) = state.key_spent.get(&at) {
            return Ok(*spent);
        }
        let prefix = format!("e/{account_id}/");
        let mut held_by_key = HashSet::new();
        let mut spent = 0;
        for item in self.ledger.scan_from::<Entry>(&prefix, &prefix) {
            let (_, entry) = item?;
            match entry.kind {
                EntryKind::Hold if entry.actor == key_id => {
                    spent += entry.held_change;
                    held_by_key.extend(entry.task_id);
                }
                EntryKind::Release
                    if entry
                        .task_id
                        .as_ref()
                        .is_some_and(|t| held_by_key.contains(t)) =>
                {
                    spent += entry.held_change;
                }
                _ => {}
            }
        }
        state.key_spent.insert(at, spent);
        Ok(spent)
    }

    /// Appends an entry decided from the account's balance, under the lock,
    /// and waits for the disk.
    pub(super) async fn append<'a>(
        &self,
        account_id: &str,
        decide: impl FnOnce(Balance) -> Result<Option<NewEntry<'a>>, LedgerError>,
    ) -> Result<Option<Entry>, LedgerError> {
        let entry = {
            let mut state = self.lock();
            let last = self.last_entry(&mut state, account_id)?;
            let Some(new) = decide(balance_after(last.as_ref()))? else {
                return Ok(None);
            };
            let entry = entry_after(last.as_ref(), account_id, new);
            let mut batch = self.store.batch();
            self.put_entry(&mut state, &mut batch, &entry);
            self.commit(&mut state, batch)?;
            entry
        };
        self.store.flush().await?;
        Ok(Some(entry))
    }

    /// `dispute` as it stands: a decision whose adjustment entry is not
    /// stored (a crash cut its group off) was not made.
    fn as_committed(&self, mut dispute: Dispute) -> Result<Dispute, StoreError> {
        if let Some(entry_id) = &dispute.entry_id
            && self
                .ledger
                .get::<Entry>(&entry_key(&dispute.account_id, entry_id))?
                .is_none()
        {
            dispute.status = DisputeStatus::Open;
            dispute.credits_returned = 0;
            dispute.resolution = None;
            dispute.decided_at = None;
            dispute.entry_id = None;
        }
        Ok(dispute)
    }

    fn read_dispute(&self, id: &str) -> Result<Option<Dispute>, StoreError> {
        self.disputes
            .get::<Dispute>(id)?
            .map(|d| self.as_committed(d))
            .transpose()
    }

    /// Settles the open hold of `id` (if any) as `settle`: the entry to
    /// write, and the hold as settled.
    pub(super) fn settle(
        &self,
        state: &mut State,
        id: &str,
        settle: Settle,
    ) -> Result<Option<(Entry, Hold)>, StoreError> {
        let Some(mut hold) = state.holds.remove(id) else {
            return Ok(None);
        };
        let last = self.last_entry(state, &hold.account_id)?;
        let (kind, amount, status) = match settle {
            Settle::Capture => (EntryKind::Capture, -hold.amount, HoldStatus::Captured),
            Settle::Release => (EntryKind::Release, 0, HoldStatus::Released),
        };
        let entry = entry_after(
            last.as_ref(),
            &hold.account_id,
            NewEntry {
                kind,
                amount,
                held_change: -hold.amount,
                task_id: Some(id),
                actor: "system",
                reason: None,
                floor: None,
            },
        );
        if settle == Settle::Release {
            state.spend(&hold, -hold.amount);
        }
        hold.status = status;
        hold.settled_by = Some(entry.id.clone());
        Ok(Some((entry, hold)))
    }
}

#[async_trait::async_trait]
impl LedgerStore for EmbeddedTasks {
    async fn credit(
        &self,
        account_id: &str,
        kind: EntryKind,
        credits: i64,
        actor: &str,
        reason: Option<&str>,
    ) -> Result<Entry, LedgerError> {
        let entry = self
            .append(account_id, |_| {
                Ok(Some(ledger::credit(kind, credits, actor, reason)))
            })
            .await?;
        Ok(entry.expect("a credit always writes"))
    }

    async fn adjust(
        &self,
        account_id: &str,
        credits: i64,
        actor: &str,
        reason: &str,
    ) -> Result<Entry, LedgerError> {
        let entry = self
            .append(account_id, |b| {
                ledger::adjustment(b, credits, actor, reason).map(Some)
            })
            .await?;
        Ok(entry.expect("an adjustment always writes"))
    }

    async fn forfeit(
        &self,
        account_id: &str,
        actor: &str,
        reason: &str,
    ) -> Result<Option<Entry>, LedgerError> {
        self.append(account_id, |b| ledger::forfeiture(b, actor, reason))
            .await
    }

    async fn balance(&self, account_id: &str) -> Result<Balance, StoreError> {
        let mut state = self.lock();
        Ok(balance_after(
            self.last_entry(&mut state, account_id)?.as_ref(),
        ))
    }

    async fn key_spent(&self, account_id: &str, key_id: &str) -> Result<i64, StoreError> {
        let mut state = self.lock();
        self.spent(&mut state, account_id, key_id)
    }

    async fn owing(&self) -> Result<Vec<(String, Balance)>, StoreError> {
        let marked: Vec<String> = self
            .owing
            .scan::<bool>()
            .map(|item| item.map(|(account_id, _)| account_id))
            .collect::<Result<_, _>>()?;
        let mut state = self.lock();
        let mut owing = Vec::new();
        for account_id in marked {
            let b = balance_after(self.last_entry(&mut state, &account_id)?.as_ref());
            if b.balance < 0 {
                owing.push((account_id, b));
            }
        }
        Ok(owing)
    }

    async fn entries(
        &self,
        account_id: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<(Vec<Entry>, bool), StoreError> {
        let prefix = format!("e/{account_id}/");
        let start = after.map_or_else(|| prefix.clone(), |a| format!("{prefix}{a}\u{1}"));
        let mut page = Vec::new();
        for item in self.ledger.scan_from::<Entry>(&start, &prefix) {
            let (_, entry) = item?;
            if page.len() == limit {
                return Ok((page, true));
            }
            page.push(entry);
        }
        Ok((page, false))
    }

    async fn file_dispute(&self, dispute: &Dispute) -> Result<(), StoreError> {
        self.disputes.put(&dispute.id, dispute).await
    }

    async fn dispute(&self, id: &str) -> Result<Option<Dispute>, StoreError> {
        self.read_dispute(id)
    }

    async fn disputes(
        &self,
        status: Option<DisputeStatus>,
        account_id: Option<&str>,
    ) -> Result<Vec<Dispute>, StoreError> {
        let mut out = Vec::new();
        for item in self.disputes.scan::<Dispute>() {
            let (_, d) = item?;
            let d = self.as_committed(d)?;
            if status.is_none_or(|s| s == d.status) && account_id.is_none_or(|a| a == d.account_id)
            {
                out.push(d);
            }
        }
        Ok(out)
    }

    async fn decide_dispute(
        &self,
        id: &str,
        decision: Decision<'_>,
    ) -> Result<Dispute, DisputeError> {
        let dispute = {
            let mut state = self.lock();
            let mut dispute = self.read_dispute(id)?.ok_or(DisputeError::NotFound)?;
            if dispute.status != DisputeStatus::Open {
                return Err(DisputeError::Decided);
            }
            dispute.status = if decision.resolve {
                DisputeStatus::Resolved
            } else {
                DisputeStatus::Rejected
            };
            dispute.credits_returned = decision.credits;
            dispute.resolution = Some(decision.note.to_string());
            dispute.decided_at = Some(now_rfc3339());
            if decision.resolve && decision.credits > 0 {
                let last = self.last_entry(&mut state, &dispute.account_id)?;
                let entry = entry_after(
                    last.as_ref(),
                    &dispute.account_id,
                    NewEntry {
                        kind: EntryKind::Adjustment,
                        amount: decision.credits,
                        held_change: 0,
                        task_id: None,
                        actor: decision.actor,
                        reason: Some(decision.entry_reason),
                        floor: None,
                    },
                );
                dispute.entry_id = Some(entry.id.clone());
                let mut batch = self.store.batch();
                batch.put(&self.disputes, &dispute.id, &dispute);
                self.put_entry(&mut state, &mut batch, &entry);
                self.commit(&mut state, batch)?;
            } else {
                self.disputes.put_unflushed(&dispute.id, &dispute)?;
            }
            dispute
        };
        self.store.flush().await?;
        Ok(dispute)
    }
}

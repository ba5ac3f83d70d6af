//! Bringing a data directory of an earlier layout up to date, at start.

use serde::Deserialize;

use super::{EmbeddedTasks, entry_key, legacy_hold_key};
use crate::store::StoreError;
use crate::store::ledger::{Entry, EntryKind, Hold, HoldStatus};

/// An account's totals, as data directories from before entries carried
/// the balance kept them: the commit point of the account's last entry.
#[derive(Deserialize)]
struct LegacyTotals {
    last_entry: Option<Entry>,
}

impl EmbeddedTasks {
    /// Data directories from before entries carried the balance kept an
    /// account's totals apart, as the commit point of its last entry (and
    /// of the hold that entry left): writes what a crash lost of those, then
    /// drops the totals. Returns how many records were rewritten.
    pub(super) fn retire_totals(&self) -> Result<usize, StoreError> {
        let mut repaired = 0;
        let totals: Vec<(String, LegacyTotals)> = self
            .ledger
            .scan_from("a/", "a/")
            .collect::<Result<_, _>>()?;
        for (key, totals) in totals {
            if let Some(entry) = totals.last_entry {
                let at = entry_key(&entry.account_id, &entry.id);
                if self.ledger.get::<Entry>(&at)?.is_none() {
                    self.ledger.put_unflushed(&at, &entry)?;
                    repaired += 1;
                }
                let status = match entry.kind {
                    EntryKind::Hold => Some(HoldStatus::Open),
                    EntryKind::Capture => Some(HoldStatus::Captured),
                    EntryKind::Release => Some(HoldStatus::Released),
                    _ => None,
                };
                if let (Some(task_id), Some(status)) = (&entry.task_id, status) {
                    let stored = self.ledger.get::<Hold>(&legacy_hold_key(task_id))?;
                    if stored.as_ref().is_none_or(|h| h.status != status) {
                        let key_id = stored.as_ref().and_then(|h| h.key_id.clone()).or_else(|| {
                            (entry.kind == EntryKind::Hold && entry.actor.starts_with("key_"))
                                .then(|| entry.actor.clone())
                        });
                        let hold = Hold {
                            task_id: task_id.clone(),
                            account_id: entry.account_id.clone(),
                            amount: entry.held_change.abs(),
                            status,
                            key_id,
                            entry_id: None,
                            settled_by: None,
                        };
                        self.ledger
                            .put_unflushed(&legacy_hold_key(task_id), &hold)?;
                        repaired += 1;
                    }
                }
            }
            self.ledger.remove_unflushed(&key)?;
        }
        Ok(repaired)
    }

    /// Builds the index of open tasks if this data directory has none
    /// complete yet: every open hold's task and every task, since any of
    /// them may have been left unfinished or unannounced.
    pub(super) async fn index_open(&self) -> Result<usize, StoreError> {
        if self
            .open
            .get::<bool>(crate::store::INDEX_COMPLETE)?
            .is_some()
        {
            return Ok(0);
        }
        for item in self.ledger.scan_from::<Hold>("h/", "h/") {
            let (_, hold) = item?;
            if hold.status == HoldStatus::Open {
                self.open.put_unflushed(&hold.task_id, &())?;
            }
        }
        self.tasks
            .index_once(&self.open, |id, _: serde::de::IgnoredAny| {
                self.open.put_unflushed(id, &())
            })
            .await
    }
}

//! [`TaskStore`] and [`LedgerStore`] on the embedded store, for one
//! process.
//!
//! Trees: `tasks` (by task id), `tasks_by_owner` (`{owner}/{task id}`),
//! `tasks_open` (the open tasks: whether synchronous, the owner, the open
//! hold) and `ledger` (`e/{account}/{entry id}`: entries, each with the
//! balance after it; `h/{task}` and `a/{account}` only in data directories
//! from before this layout).
//!
//! One lock orders every change of this store, and each change is one
//! commit group, written as one batch (all or nothing, also in a crash):
//! - creating: the open task with its hold (naming the hold's entry; a
//!   synchronous task itself too, as it is not stored until it ends), the
//!   hold's entry, and (unless synchronous) the task and its index entry;
//! - finishing: the task with its settled hold (naming the settlement's
//!   entry), and that entry.
//!
//! Data directories of earlier versions wrote a group as single writes,
//! its ledger entry after what refers to it, so a crash could leave the
//! first part of the last group: a record naming an entry that is not
//! stored still counts as not written.
//!
//! What the lock guards is kept in memory too (open holds, unfinished tasks
//! per owner, synchronous tasks), rebuilt from the open tasks at start, so
//! a request's changes read nothing it already holds.

mod ledger;
mod upgrade;

use std::collections::{HashMap, HashSet};
use std::sync::{Mutex, MutexGuard};

use serde::{Deserialize, Serialize};

use self::ledger::{balance_after, entry_after};
use super::{Creation, OpenTask, Settle, Task, TaskStore, TaskStoreError};
use crate::store::ledger::{Entry, Hold, HoldStatus};
use crate::store::{Batch, Store, StoreError, Table};

/// Tasks and the ledger in the embedded store.
pub struct EmbeddedTasks {
    store: Store,
    tasks: Table,
    by_owner: Table,
    open: Table,
    ledger: Table,
    /// The accounts whose balance is below zero (key: account id; the
    /// mark is written before the entry that takes the balance below zero
    /// and removed after the one that brings it back, so a crash leaves at
    /// most a mark too many, which readers check against the balance).
    owing: Table,
    disputes: Table,
    state: Mutex<State>,
}

/// What the lock guards, besides the order of changes.
#[derive(Default)]
struct State {
    /// Open holds, by task.
    holds: HashMap<String, Hold>,
    /// Tasks not yet finished, by owner.
    unfinished: HashMap<String, HashSet<String>>,
    /// Synchronous tasks neither finished nor detached (not stored), as
    /// submitted.
    waiting: HashMap<String, Task>,
    /// Credits held or charged through a key, for keys asked about.
    key_spent: HashMap<(String, String), i64>,
    /// Each account's last ledger entry (`None`: it has none), for accounts
    /// read since the start.
    last_entries: HashMap<String, Option<Entry>>,
}

impl State {
    fn finished(&mut self, owner: &str, id: &str) {
        if let Some(ids) = self.unfinished.get_mut(owner) {
            ids.remove(id);
            if ids.is_empty() {
                self.unfinished.remove(owner);
            }
        }
        self.waiting.remove(id);
    }

    /// Counts a hold (`credits` > 0) or a release (< 0) through a key, if
    /// its spending is cached (otherwise it is read from the entries, which
    /// include this one, when next asked).
    fn spend(&mut self, hold: &Hold, credits: i64) {
        if let Some(key) = &hold.key_id
            && let Some(spent) = self
                .key_spent
                .get_mut(&(hold.account_id.clone(), key.clone()))
        {
            *spent += credits;
        }
    }
}

/// A task's record in the index of open tasks. Entries written before this
/// type are JSON `null` (an asynchronous task) or `{"synchronous":true}`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct OpenRecord {
    #[serde(default)]
    synchronous: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    owner: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    hold: Option<Hold>,
    /// A synchronous task as submitted (it is not stored until it ends):
    /// recovery ends it from this, for the record.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    task: Option<Task>,
}

pub(super) fn entry_key(account_id: &str, entry_id: &str) -> String {
    format!("e/{account_id}/{entry_id}")
}

pub(super) fn legacy_hold_key(task_id: &str) -> String {
    format!("h/{task_id}")
}

fn owner_key(owner: &str, task_id: &str) -> String {
    format!("{owner}/{task_id}")
}

impl EmbeddedTasks {
    /// The store's task and ledger trees. Brings a data directory from an
    /// earlier version up to date (rewrites what a crash cut off of the
    /// ledger's last changes, builds missing indexes), and reads the open
    /// tasks.
    pub async fn open(store: &Store) -> Result<Self, StoreError> {
        let this = Self {
            store: store.clone(),
            tasks: store.packed_table("tasks")?,
            by_owner: store.table("tasks_by_owner")?,
            open: store.packed_table("tasks_open")?,
            ledger: store.packed_table("ledger")?,
            owing: store.table("owing")?,
            disputes: store.table("disputes")?,
            state: Mutex::default(),
        };
        let repaired = this.retire_totals()?;
        if repaired > 0 {
            tracing::warn!(repaired, "rewrote ledger records a crash interrupted");
        }
        let indexed = this
            .tasks
            .index_once(&this.by_owner, |id, task: Task| {
                this.by_owner
                    .put_unflushed(&owner_key(&task.owner, id), &())
            })
            .await?;
        if indexed > 0 {
            tracing::info!(tasks = indexed, "indexed the stored tasks by owner");
        }
        let indexed = this.index_open().await?;
        if indexed > 0 {
            tracing::info!(
                tasks = indexed,
                "indexed the stored tasks not known to be over"
            );
        }
        this.load_state()?;
        Ok(this)
    }

    /// Every ledger entry, by account and then in order, for a copy to
    /// another database.
    pub(crate) fn export_entries(&self) -> impl Iterator<Item = Result<Entry, StoreError>> + '_ {
        self.ledger
            .scan_from::<Entry>("e/", "e/")
            .map(|item| item.map(|(_, entry)| entry))
    }

    /// Every stored task with its hold as committed, for a copy to another
    /// database.
    pub(crate) fn export_tasks(&self) -> impl Iterator<Item = Result<Task, StoreError>> + '_ {
        self.tasks.scan::<Task>().map(|item| {
            let (id, mut task) = item?;
            let record = self
                .open
                .get::<Option<OpenRecord>>(&id)?
                .flatten()
                .unwrap_or_default();
            task.hold = self.committed_hold(&id, &record, Some(&task))?;
            Ok(task)
        })
    }

    /// Every open task as recovery reads it, with its owner (if known) and
    /// whether the task itself is stored (a synchronous one is not until it
    /// ends).
    pub(crate) fn export_open(&self) -> Result<Vec<(OpenTask, Option<String>, bool)>, StoreError> {
        self.open_records()?
            .into_iter()
            .map(|(id, record)| {
                let stored = self.tasks.get::<Task>(&id)?;
                let hold = self.committed_hold(&id, &record, stored.as_ref())?;
                let owner = stored.as_ref().map(|t| t.owner.clone()).or(record.owner);
                let is_stored = stored.is_some();
                let open = OpenTask {
                    id,
                    synchronous: record.synchronous,
                    task: stored.or(record.task),
                    hold,
                };
                Ok((open, owner, is_stored))
            })
            .collect()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().expect("task store lock")
    }

    /// Commits a group's batch, under the lock. If the database refuses
    /// it, what the lock keeps of the ledger in memory (each account's last
    /// entry, what keys spent) may name entries that are not stored: it is
    /// forgotten, to be read again from the database.
    fn commit(&self, state: &mut State, batch: Batch) -> Result<(), StoreError> {
        batch.commit().inspect_err(|_| {
            state.last_entries.clear();
            state.key_spent.clear();
        })
    }

    /// The open tasks' records, oldest first.
    fn open_records(&self) -> Result<Vec<(String, OpenRecord)>, StoreError> {
        self.open
            .scan_from::<Option<OpenRecord>>("task_", "task_")
            .map(|item| item.map(|(id, record)| (id, record.unwrap_or_default())))
            .collect()
    }

    /// Reads what the lock guards from the open tasks.
    fn load_state(&self) -> Result<(), StoreError> {
        let mut state = self.lock();
        for (id, record) in self.open_records()? {
            let stored = self.tasks.get::<Task>(&id)?;
            let hold = self.committed_hold(&id, &record, stored.as_ref())?;
            if let Some(hold) = hold.filter(|h| h.status == HoldStatus::Open) {
                state.holds.insert(id.clone(), hold);
            }
            if record.synchronous
                && stored.is_none()
                && let Some(task) = &record.task
            {
                state.waiting.insert(id.clone(), task.clone());
            }
            let owner = stored.as_ref().map(|t| t.owner.clone()).or(record.owner);
            let over = stored.as_ref().is_some_and(|t| t.status.is_final());
            if let Some(owner) = owner
                && !over
            {
                state.unfinished.entry(owner).or_default().insert(id);
            }
        }
        Ok(())
    }

    /// Whether the entry `entry_id` of `account_id` is stored (a record
    /// naming no entry is from before records named theirs: committed).
    fn is_stored(&self, account_id: &str, entry_id: Option<&str>) -> Result<bool, StoreError> {
        let Some(entry_id) = entry_id else {
            return Ok(true);
        };
        self.ledger.contains(&entry_key(account_id, entry_id))
    }

    /// A task's hold as committed: its settlement if the task names one
    /// that is stored, else its hold from the open index if that is stored
    /// (open), else a hold kept apart by an earlier version.
    fn committed_hold(
        &self,
        id: &str,
        record: &OpenRecord,
        stored: Option<&Task>,
    ) -> Result<Option<Hold>, StoreError> {
        if let Some(hold) = stored.and_then(|t| t.hold.as_ref())
            && hold.status != HoldStatus::Open
            && self.is_stored(&hold.account_id, hold.settled_by.as_deref())?
        {
            return Ok(Some(hold.clone()));
        }
        if let Some(hold) = &record.hold {
            let placed = self.is_stored(&hold.account_id, hold.entry_id.as_deref())?;
            return Ok(placed.then(|| Hold {
                status: HoldStatus::Open,
                settled_by: None,
                ..hold.clone()
            }));
        }
        self.ledger.get::<Hold>(&legacy_hold_key(id))
    }
}

#[async_trait::async_trait]
impl TaskStore for EmbeddedTasks {
    async fn create_task(
        &self,
        task: &mut Task,
        creation: Creation<'_>,
    ) -> Result<(), TaskStoreError> {
        {
            let mut state = self.lock();
            if let Some(cap) = creation.max_unfinished
                && state.unfinished.get(&task.owner).map_or(0, HashSet::len) >= cap as usize
            {
                return Err(TaskStoreError::TooManyTasks { cap });
            }
            task.hold = None;
            let mut placed = None;
            if let Some(h) = creation.hold {
                let last = self.last_entry(&mut state, h.account_id)?;
                h.check_available(balance_after(last.as_ref()))?;
                let key_id = h.key_id().map(str::to_string);
                if let (Some(key), Some(_)) = (h.key_id(), h.key_limit) {
                    h.check_key_limit(self.spent(&mut state, h.account_id, key)?)?;
                }
                let entry = entry_after(last.as_ref(), h.account_id, h.entry(&task.id));
                task.hold = Some(Hold {
                    task_id: task.id.clone(),
                    account_id: h.account_id.to_string(),
                    amount: h.credits,
                    status: HoldStatus::Open,
                    key_id,
                    entry_id: Some(entry.id.clone()),
                    settled_by: None,
                });
                placed = Some(entry);
            }
            let record = OpenRecord {
                synchronous: creation.synchronous,
                owner: Some(task.owner.clone()),
                hold: task.hold.clone(),
                task: creation.synchronous.then(|| task.clone()),
            };
            let mut batch = self.store.batch();
            batch.put(&self.open, &task.id, &record);
            if let Some(entry) = &placed {
                self.put_entry(&mut state, &mut batch, entry);
            }
            if !creation.synchronous {
                batch.put(&self.by_owner, &owner_key(&task.owner, &task.id), &());
                batch.put(&self.tasks, &task.id, task);
            }
            self.commit(&mut state, batch)?;
            if let Some(hold) = &task.hold {
                state.spend(hold, hold.amount);
                state.holds.insert(task.id.clone(), hold.clone());
            }
            state
                .unfinished
                .entry(task.owner.clone())
                .or_default()
                .insert(task.id.clone());
            if creation.synchronous {
                state.waiting.insert(task.id.clone(), task.clone());
            }
        }
        if !creation.synchronous {
            self.store.flush().await?;
        }
        Ok(())
    }

    async fn save_task(&self, task: &Task, durable: bool) -> Result<(), StoreError> {
        {
            let state = self.lock();
            if state.waiting.contains_key(&task.id) {
                return Ok(());
            }
            if task.status.is_final() {
                // A finished task's contents (retention); its hold stays.
                self.tasks.put_unflushed(&task.id, task)?;
            } else {
                let running = state
                    .unfinished
                    .get(&task.owner)
                    .is_some_and(|ids| ids.contains(&task.id));
                if !running {
                    return Ok(()); // it finished meanwhile
                }
                let mut task = task.clone();
                task.hold = state.holds.get(&task.id).cloned();
                self.tasks.put_unflushed(&task.id, &task)?;
            }
        }
        if durable {
            self.store.flush().await?;
        }
        Ok(())
    }

    async fn finish_task(
        &self,
        task: &mut Task,
        settle: Settle,
    ) -> Result<Option<Entry>, TaskStoreError> {
        debug_assert!(task.status.is_final());
        let entry = {
            let mut state = self.lock();
            if let Some(stored) = self.tasks.get::<Task>(&task.id)?
                && stored.status.is_final()
                && stored.status != task.status
            {
                // It ended otherwise first: that end stands.
                *task = stored;
                return Ok(None);
            }
            let settled = self.settle(&mut state, &task.id, settle)?;
            let entry = match settled {
                Some((entry, hold)) => {
                    task.hold = Some(hold);
                    Some(entry)
                }
                None => {
                    // Settled before (finished again), or never held.
                    task.hold = self.tasks.get::<Task>(&task.id)?.and_then(|t| t.hold);
                    None
                }
            };
            let mut batch = self.store.batch();
            if state.waiting.contains_key(&task.id) {
                batch.put(&self.by_owner, &owner_key(&task.owner, &task.id), &());
            }
            batch.put(&self.tasks, &task.id, task);
            if let Some(entry) = &entry {
                self.put_entry(&mut state, &mut batch, entry);
            }
            self.commit(&mut state, batch)?;
            state.finished(&task.owner, &task.id);
            entry
        };
        self.store.flush().await?;
        Ok(entry)
    }

    async fn abandon_task(&self, id: &str) -> Result<Option<Entry>, TaskStoreError> {
        let entry = {
            let mut state = self.lock();
            let record = self.open.get::<Option<OpenRecord>>(id)?.flatten();
            let settled = self.settle(&mut state, id, Settle::Release)?;
            let mut batch = self.store.batch();
            if let Some((entry, _)) = &settled {
                self.put_entry(&mut state, &mut batch, entry);
            }
            batch.remove(&self.open, id);
            self.commit(&mut state, batch)?;
            let owner = record
                .and_then(|r| r.owner)
                .or_else(|| settled.as_ref().map(|(_, h)| h.account_id.clone()));
            if let Some(owner) = owner {
                state.finished(&owner, id);
            }
            settled.map(|(entry, _)| entry)
        };
        self.store.flush().await?;
        Ok(entry)
    }

    async fn detach(&self, task: &Task) -> Result<(), StoreError> {
        {
            let mut state = self.lock();
            if state.waiting.remove(&task.id).is_none() {
                return Ok(()); // finished, or not synchronous
            }
            let mut task = task.clone();
            task.hold = state.holds.get(&task.id).cloned();
            let record = OpenRecord {
                synchronous: false,
                owner: Some(task.owner.clone()),
                hold: task.hold.clone(),
                task: None,
            };
            let mut batch = self.store.batch();
            batch.put(&self.by_owner, &owner_key(&task.owner, &task.id), &());
            batch.put(&self.tasks, &task.id, &task);
            batch.put(&self.open, &task.id, &record);
            self.commit(&mut state, batch)?;
        }
        self.store.flush().await
    }

    async fn close_task(&self, id: &str) -> Result<(), StoreError> {
        self.open.remove_unflushed(id)
    }

    async fn task(&self, id: &str) -> Result<Option<Task>, StoreError> {
        if let Some(task) = self.lock().waiting.get(id) {
            return Ok(Some(task.clone()));
        }
        self.tasks.get(id)
    }

    async fn tasks_of(
        &self,
        owner: &str,
        before: Option<&str>,
        visit: &mut (dyn FnMut(Task) -> bool + Send),
    ) -> Result<(), StoreError> {
        let prefix = owner_key(owner, "");
        let before = before.map(|id| owner_key(owner, id));
        for key in self.by_owner.keys_rev(&prefix, before.as_deref()) {
            let key = key?;
            let Some(task) = self.tasks.get::<Task>(&key[prefix.len()..])? else {
                continue; // its creation was cut off after the entry
            };
            if task.owner == owner && !visit(task) {
                break;
            }
        }
        Ok(())
    }

    async fn all_tasks(
        &self,
        visit: &mut (dyn FnMut(Task) -> bool + Send),
    ) -> Result<(), StoreError> {
        for item in self.tasks.scan::<Task>() {
            let (_, task) = item?;
            if !visit(task) {
                break;
            }
        }
        Ok(())
    }

    async fn open_tasks(&self) -> Result<Vec<OpenTask>, StoreError> {
        let _state = self.lock();
        Ok(self
            .export_open()?
            .into_iter()
            .map(|(open, _, _)| open)
            .collect())
    }

    async fn lapsed_tasks(&self) -> Result<Vec<OpenTask>, StoreError> {
        // One process owns the data directory: no other can have left any.
        Ok(Vec::new())
    }

    async fn renew_leases(&self, _running: &[String]) -> Result<u64, StoreError> {
        // One process owns the data directory: it holds every task.
        Ok(0)
    }

    async fn release_leases(&self) -> Result<u64, StoreError> {
        Ok(0)
    }

    async fn hold_of(&self, task_id: &str) -> Result<Option<Hold>, StoreError> {
        if let Some(hold) = self.lock().holds.get(task_id) {
            return Ok(Some(hold.clone()));
        }
        if let Some(hold) = self.tasks.get::<Task>(task_id)?.and_then(|t| t.hold) {
            return Ok(Some(hold));
        }
        self.ledger.get(&legacy_hold_key(task_id))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::EmbeddedTasks;
    use crate::store::Store;

    async fn fresh() -> (tempfile::TempDir, Arc<EmbeddedTasks>) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let tasks = EmbeddedTasks::open(&store).await.unwrap();
        (dir, Arc::new(tasks))
    }

    crate::store::tasks::conformance::suite!(fresh);

    #[tokio::test]
    async fn a_decision_whose_entry_was_not_stored_was_not_made() {
        use crate::store::ledger::{DisputeStatus, LedgerStore};
        let (_dir, store) = fresh().await;
        let mut dispute = crate::store::tasks::conformance::dispute();
        store.file_dispute(&dispute).await.unwrap();
        // A crash after the dispute's record and before its entry.
        dispute.status = DisputeStatus::Resolved;
        dispute.credits_returned = 30;
        dispute.entry_id = Some("le_00000000000000000000000000000001".into());
        store.disputes.put(&dispute.id, &dispute).await.unwrap();

        let read = store.dispute(&dispute.id).await.unwrap().unwrap();
        assert_eq!((read.status, read.entry_id), (DisputeStatus::Open, None));
        assert_eq!(store.balance(&dispute.account_id).await.unwrap().balance, 0);
        let decision = crate::store::ledger::Decision {
            resolve: true,
            credits: 30,
            note: "again",
            actor: "admin",
            entry_reason: "dispute",
        };
        let decided = store.decide_dispute(&dispute.id, decision).await.unwrap();
        assert_eq!(decided.status, DisputeStatus::Resolved);
        assert_eq!(
            store.balance(&dispute.account_id).await.unwrap().balance,
            30
        );
    }
}

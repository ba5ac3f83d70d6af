//! [`TaskStore`] and [`LedgerStore`] on PostgreSQL, for any number of
//! processes sharing the database.
//!
//! Tables: `ledger_balances` (an account's totals), `ledger_entries` (each
//! with the totals after it), `holds` (one per task, by primary key),
//! `tasks`, `tasks_open` (tasks not yet over; a synchronous task is kept
//! there as submitted until it ends or is detached) and `disputes`.
//!
//! Every method is one transaction. A change of an account's credits locks
//! its totals row, then moves the totals with a conditional `UPDATE …
//! WHERE balance + amount >= held + held_change` (for a hold, `WHERE
//! available >= price`), so no interleaving overdraws it, and appends the entry with
//! the totals after it; a table constraint keeps the totals within bounds
//! besides. A task is held once and settled once: the hold is a row keyed
//! by the task, settled only while `open` under its row lock, and unique
//! indexes allow one hold entry and one settlement entry per task. The cap
//! on unfinished tasks is checked under a transaction advisory lock on the
//! owner. Locks are taken in one order (owner, open task, hold, totals).

use tokio_postgres::Row;
use tokio_postgres::Transaction;
use tokio_postgres::types::ToSql;

use super::{Creation, OpenTask, Settle, Task, TaskStore, TaskStoreError};
use crate::store::StoreError;
use crate::store::ledger::{
    Balance, Decision, Dispute, DisputeError, DisputeStatus, Entry, EntryKind, Hold, HoldStatus,
    LedgerError, LedgerStore, NewEntry,
};
use crate::store::pg::{PgStore, from_json, from_text, to_json, to_text};

mod import;
mod leases;
mod ledger;
mod rows;

#[allow(clippy::wildcard_imports)]
use self::rows::*;

pub(crate) use self::import::{
    import_balance, import_dispute, import_entry, import_hold, import_open, import_task,
};

/// The first key of the advisory locks on an owner's unfinished tasks
/// ("imi" 3).
const OWNER_LOCKS: i32 = 0x696d_6903;

/// How many tasks a listing reads at a time.
const PAGE: i64 = 100;

/// Tasks and the ledger in PostgreSQL.
pub struct PgTasks {
    pg: PgStore,
}

impl PgTasks {
    /// The tasks and ledger of the database `pg`.
    pub fn new(pg: &PgStore) -> Self {
        Self { pg: pg.clone() }
    }
}

/// An account's totals, locked for the rest of the transaction.
struct Totals {
    balance: Balance,
    last_entry_id: Option<String>,
}

async fn lock_totals(tx: &Transaction<'_>, account_id: &str) -> Result<Totals, StoreError> {
    tx.execute(
        "INSERT INTO ledger_balances (account_id) VALUES ($1) ON CONFLICT (account_id) DO NOTHING",
        &[&account_id],
    )
    .await?;
    let row = tx
        .query_one(
            "SELECT balance, held, last_entry_id FROM ledger_balances \
             WHERE account_id = $1 FOR UPDATE",
            &[&account_id],
        )
        .await?;
    Ok(Totals {
        balance: Balance {
            balance: row.get(0),
            held: row.get(1),
        },
        last_entry_id: row.get(2),
    })
}

/// A new entry id after `last`: ids are time-ordered, and an account's
/// entries are listed by id, also when the clock steps back.
fn entry_id_after(last: Option<&str>) -> String {
    let id = crate::ids::new("le");
    match last {
        Some(last) if id.as_str() <= last => last
            .strip_prefix("le_")
            .and_then(|hex| u128::from_str_radix(hex, 16).ok())
            .map_or(id, |n| format!("le_{:032x}", n.wrapping_add(1))),
        _ => id,
    }
}

/// Appends `new` to the account whose totals `totals` are locked: moves
/// the totals by a conditional update (refused, as
/// [`LedgerError::Insufficient`], if they would leave their bounds: held
/// credits never below zero, `balance - held` never below the entry's
/// floor) and stores the entry with the totals after it.
async fn append(
    tx: &Transaction<'_>,
    account_id: &str,
    totals: &Totals,
    new: NewEntry<'_>,
) -> Result<Entry, LedgerError> {
    let id = entry_id_after(totals.last_entry_id.as_deref());
    let moved = tx
        .query_opt(
            "UPDATE ledger_balances SET balance = balance + $2, held = held + $3, \
             last_entry_id = $4 \
             WHERE account_id = $1 AND held + $3 >= 0 \
             AND ($5::BIGINT IS NULL OR balance + $2 - (held + $3) >= $5) \
             RETURNING balance, held",
            &[&account_id, &new.amount, &new.held_change, &id, &new.floor],
        )
        .await
        .map_err(StoreError::from)?;
    let Some(row) = moved else {
        return Err(LedgerError::Insufficient {
            needed: new.held_change.max(-new.amount),
            available: totals.balance.available(),
        });
    };
    let entry = Entry {
        id,
        account_id: account_id.to_string(),
        kind: new.kind,
        amount: new.amount,
        held_change: new.held_change,
        balance_after: row.get(0),
        held_after: row.get(1),
        task_id: new.task_id.map(str::to_string),
        actor: new.actor.to_string(),
        reason: new.reason.map(str::to_string),
        created_at: crate::time::now_rfc3339(),
    };
    insert_entry(tx, &entry).await?;
    Ok(entry)
}

/// Settles the open hold of `task_id`, if it has one, as `settle` says:
/// the settlement's entry, and the hold as it now stands (settled before,
/// or `None` if the task never had one).
async fn settle(
    tx: &Transaction<'_>,
    task_id: &str,
    settle: Settle,
) -> Result<(Option<Entry>, Option<Hold>), TaskStoreError> {
    let row = tx
        .query_opt(
            &format!("SELECT {HOLD_COLUMNS} FROM holds h WHERE h.task_id = $1 FOR UPDATE"),
            &[&task_id],
        )
        .await
        .map_err(StoreError::from)?;
    let Some(mut hold) = row.map(|row| hold_from(&row, 0)).transpose()?.flatten() else {
        return Ok((None, None));
    };
    if hold.status != HoldStatus::Open {
        return Ok((None, Some(hold)));
    }
    let totals = lock_totals(tx, &hold.account_id).await?;
    let (kind, amount, status) = match settle {
        Settle::Capture => (EntryKind::Capture, -hold.amount, HoldStatus::Captured),
        Settle::Release => (EntryKind::Release, 0, HoldStatus::Released),
    };
    let entry = append(
        tx,
        &hold.account_id,
        &totals,
        NewEntry {
            kind,
            amount,
            held_change: -hold.amount,
            task_id: Some(task_id),
            actor: "system",
            reason: None,
            floor: None,
        },
    )
    .await?;
    hold.status = status;
    hold.settled_by = Some(entry.id.clone());
    let status = to_text(&hold.status);
    tx.execute(
        "UPDATE holds SET status = $2, settled_by = $3 WHERE task_id = $1",
        &[&task_id, &status, &hold.settled_by],
    )
    .await
    .map_err(StoreError::from)?;
    Ok((Some(entry), Some(hold)))
}

/// A task's open-index row, locked: whether synchronous, whether finished.
async fn lock_open(
    tx: &Transaction<'_>,
    task_id: &str,
) -> Result<Option<(bool, bool)>, StoreError> {
    Ok(tx
        .query_opt(
            "SELECT synchronous, finished FROM tasks_open WHERE task_id = $1 FOR UPDATE",
            &[&task_id],
        )
        .await?
        .map(|row| (row.get(0), row.get(1))))
}

#[async_trait::async_trait]
impl TaskStore for PgTasks {
    async fn create_task(
        &self,
        task: &mut Task,
        creation: Creation<'_>,
    ) -> Result<(), TaskStoreError> {
        let mut client = self.pg.client().await?;
        let tx = client.transaction().await.map_err(StoreError::from)?;
        if creation.synchronous {
            // A synchronous task waits for the disk only when it ends (or
            // is detached); a crash before then ends it uncharged.
            tx.batch_execute("SET LOCAL synchronous_commit TO OFF")
                .await
                .map_err(StoreError::from)?;
        }
        if let Some(cap) = creation.max_unfinished {
            tx.execute(
                "SELECT pg_advisory_xact_lock($1, hashtext($2))",
                &[&OWNER_LOCKS, &task.owner],
            )
            .await
            .map_err(StoreError::from)?;
            let unfinished: i64 = tx
                .query_one(
                    "SELECT count(*) FROM tasks_open WHERE owner = $1 AND NOT finished",
                    &[&task.owner],
                )
                .await
                .map_err(StoreError::from)?
                .get(0);
            if unfinished >= i64::from(cap) {
                return Err(TaskStoreError::TooManyTasks { cap });
            }
        }
        let mut hold = None;
        if let Some(h) = creation.hold {
            let totals = lock_totals(&tx, h.account_id).await?;
            h.check_available(totals.balance)?;
            let key_id = h.key_id().map(str::to_string);
            if let (Some(key), Some(_)) = (h.key_id(), h.key_limit) {
                // Serialised with every other hold of the account by the
                // totals' row lock.
                h.check_key_limit(spent(&*tx, h.account_id, key).await?)?;
            }
            let entry = append(&tx, h.account_id, &totals, h.entry(&task.id)).await?;
            let placed = Hold {
                task_id: task.id.clone(),
                account_id: h.account_id.to_string(),
                amount: h.credits,
                status: HoldStatus::Open,
                key_id,
                entry_id: Some(entry.id),
                settled_by: None,
            };
            let status = to_text(&placed.status);
            tx.execute(
                "INSERT INTO holds (task_id, account_id, amount, status, key_id, entry_id) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
                &[
                    &placed.task_id,
                    &placed.account_id,
                    &placed.amount,
                    &status,
                    &placed.key_id,
                    &placed.entry_id,
                ],
            )
            .await
            .map_err(StoreError::from)?;
            hold = Some(placed);
        }
        let mut stored = task.clone();
        stored.hold = hold.clone();
        let submitted = creation.synchronous.then(|| to_json(&stored));
        // Leased to this replica, which runs it.
        let replica = self.pg.replica();
        tx.execute(
            "INSERT INTO tasks_open (task_id, owner, synchronous, submitted, lease_holder, lease_until) \
             VALUES ($1, $2, $3, $4, $5, now() + make_interval(secs => $6))",
            &[
                &task.id,
                &task.owner,
                &creation.synchronous,
                &submitted,
                &replica.id,
                &replica.lease.as_secs_f64(),
            ],
        )
        .await
        .map_err(StoreError::from)?;
        if !creation.synchronous {
            put_task(&tx, task).await?;
        }
        tx.commit().await.map_err(StoreError::from)?;
        task.hold = hold;
        Ok(())
    }

    async fn save_task(&self, task: &Task, durable: bool) -> Result<(), StoreError> {
        let mut client = self.pg.client().await?;
        let tx = client.transaction().await?;
        if !durable {
            tx.batch_execute("SET LOCAL synchronous_commit TO OFF")
                .await?;
        }
        let open = lock_open(&tx, &task.id).await?;
        let waiting = open.is_some_and(|(synchronous, finished)| synchronous && !finished);
        if waiting {
            return Ok(()); // a synchronous task is stored when it ends
        }
        if !task.status.is_final() && open.is_none_or(|(_, finished)| finished) {
            return Ok(()); // it finished meanwhile
        }
        put_task(&tx, task).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn finish_task(
        &self,
        task: &mut Task,
        how: Settle,
    ) -> Result<Option<Entry>, TaskStoreError> {
        debug_assert!(task.status.is_final());
        let mut client = self.pg.client().await?;
        let tx = client.transaction().await.map_err(StoreError::from)?;
        lock_open(&tx, &task.id).await?;
        let ended = tx
            .query_opt(
                &format!(
                    "SELECT {TASK_COLUMNS}, {HOLD_COLUMNS} FROM tasks t \
                     LEFT JOIN holds h ON h.task_id = t.id WHERE t.id = $1 FOR UPDATE OF t"
                ),
                &[&task.id],
            )
            .await
            .map_err(StoreError::from)?
            .map(|row| task_from(&row, Some(19)))
            .transpose()?
            .filter(|stored| stored.status.is_final() && stored.status != task.status);
        if let Some(stored) = ended {
            *task = stored;
            return Ok(None);
        }
        let (entry, hold) = settle(&tx, &task.id, how).await?;
        put_task(&tx, task).await?;
        tx.execute(
            "UPDATE tasks_open SET finished = TRUE, submitted = NULL WHERE task_id = $1",
            &[&task.id],
        )
        .await
        .map_err(StoreError::from)?;
        tx.commit().await.map_err(StoreError::from)?;
        task.hold = hold;
        Ok(entry)
    }

    async fn abandon_task(&self, id: &str) -> Result<Option<Entry>, TaskStoreError> {
        let mut client = self.pg.client().await?;
        let tx = client.transaction().await.map_err(StoreError::from)?;
        lock_open(&tx, id).await?;
        let (entry, _) = settle(&tx, id, Settle::Release).await?;
        tx.execute("DELETE FROM tasks_open WHERE task_id = $1", &[&id])
            .await
            .map_err(StoreError::from)?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(entry)
    }

    async fn detach(&self, task: &Task) -> Result<(), StoreError> {
        let mut client = self.pg.client().await?;
        let tx = client.transaction().await?;
        let open = lock_open(&tx, &task.id).await?;
        if !open.is_some_and(|(synchronous, finished)| synchronous && !finished) {
            return Ok(()); // finished, or not synchronous
        }
        put_task(&tx, task).await?;
        tx.execute(
            "UPDATE tasks_open SET synchronous = FALSE, submitted = NULL WHERE task_id = $1",
            &[&task.id],
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn close_task(&self, id: &str) -> Result<(), StoreError> {
        let mut client = self.pg.client().await?;
        let tx = client.transaction().await?;
        // Not waited to disk: the next commit carries it.
        tx.batch_execute("SET LOCAL synchronous_commit TO OFF")
            .await?;
        tx.execute("DELETE FROM tasks_open WHERE task_id = $1", &[&id])
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn task(&self, id: &str) -> Result<Option<Task>, StoreError> {
        let client = self.pg.client().await?;
        let row = client
            .query_opt(
                &format!(
                    "SELECT {TASK_COLUMNS}, {HOLD_COLUMNS} FROM tasks t \
                     LEFT JOIN holds h ON h.task_id = t.id WHERE t.id = $1"
                ),
                &[&id],
            )
            .await?;
        if let Some(row) = row {
            return task_from(&row, Some(19)).map(Some);
        }
        // A synchronous task not yet stored, as submitted.
        let row = client
            .query_opt(
                &format!(
                    "SELECT o.submitted, {HOLD_COLUMNS} FROM tasks_open o \
                     LEFT JOIN holds h ON h.task_id = o.task_id \
                     WHERE o.task_id = $1 AND o.submitted IS NOT NULL"
                ),
                &[&id],
            )
            .await?;
        row.map(|row| {
            let mut task: Task = from_json("tasks_open", row.get(0))?;
            task.hold = hold_from(&row, 1)?;
            Ok(task)
        })
        .transpose()
    }

    async fn tasks_of(
        &self,
        owner: &str,
        before: Option<&str>,
        visit: &mut (dyn FnMut(Task) -> bool + Send),
    ) -> Result<(), StoreError> {
        let client = self.pg.client().await?;
        let mut before = before.map(str::to_string);
        loop {
            let rows = client
                .query(
                    &format!(
                        "SELECT {TASK_COLUMNS}, {HOLD_COLUMNS} FROM tasks t \
                         LEFT JOIN holds h ON h.task_id = t.id \
                         WHERE t.owner = $1 AND ($2::text IS NULL OR t.id < $2) \
                         ORDER BY t.id DESC LIMIT $3"
                    ),
                    &[&owner, &before, &PAGE],
                )
                .await?;
            for row in &rows {
                let task = task_from(row, Some(19))?;
                before = Some(task.id.clone());
                if !visit(task) {
                    return Ok(());
                }
            }
            if rows.len() < PAGE as usize {
                return Ok(());
            }
        }
    }

    async fn all_tasks(
        &self,
        visit: &mut (dyn FnMut(Task) -> bool + Send),
    ) -> Result<(), StoreError> {
        let client = self.pg.client().await?;
        let mut after: Option<String> = None;
        loop {
            let rows = client
                .query(
                    &format!(
                        "SELECT {TASK_COLUMNS}, {HOLD_COLUMNS} FROM tasks t \
                         LEFT JOIN holds h ON h.task_id = t.id \
                         WHERE $1::text IS NULL OR t.id > $1 ORDER BY t.id LIMIT $2"
                    ),
                    &[&after, &PAGE],
                )
                .await?;
            for row in &rows {
                let task = task_from(row, Some(19))?;
                after = Some(task.id.clone());
                if !visit(task) {
                    return Ok(());
                }
            }
            if rows.len() < PAGE as usize {
                return Ok(());
            }
        }
    }

    async fn open_tasks(&self) -> Result<Vec<OpenTask>, StoreError> {
        self.claim("lease_until IS NULL OR lease_until < now() OR lease_holder = $1")
            .await
    }

    async fn lapsed_tasks(&self) -> Result<Vec<OpenTask>, StoreError> {
        self.claim("lease_until IS NULL OR lease_until < now()")
            .await
    }

    async fn renew_leases(&self, running: &[String]) -> Result<u64, StoreError> {
        self.renew(running).await
    }

    async fn release_leases(&self) -> Result<u64, StoreError> {
        self.release().await
    }

    async fn hold_of(&self, task_id: &str) -> Result<Option<Hold>, StoreError> {
        let client = self.pg.client().await?;
        let row = client
            .query_opt(
                &format!("SELECT {HOLD_COLUMNS} FROM holds h WHERE h.task_id = $1"),
                &[&task_id],
            )
            .await?;
        Ok(row.map(|row| hold_from(&row, 0)).transpose()?.flatten())
    }
}

/// Credits held or charged through a key: its holds, less the released.
async fn spent(
    client: &(impl tokio_postgres::GenericClient + Sync),
    account_id: &str,
    key_id: &str,
) -> Result<i64, StoreError> {
    Ok(client
        .query_one(
            "SELECT COALESCE(sum(amount), 0)::bigint FROM holds \
             WHERE account_id = $1 AND key_id = $2 AND status <> 'released'",
            &[&account_id, &key_id],
        )
        .await?
        .get(0))
}

#[cfg(test)]
mod tests;

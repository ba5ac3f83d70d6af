//! Records another database kept, stored as they are within the caller's
//! transaction: a copy to this database (`imini store migrate`). The
//! caller stores each account's totals before its entries, the entries
//! before the holds and disputes naming them, and the tasks before their
//! holds.

#[allow(clippy::wildcard_imports)]
use super::*;

/// Stores an account's totals: `last` is its last entry (the totals after
/// it); none stores empty totals, to be set by a later call once its
/// entries are stored.
pub(crate) async fn import_balance(
    tx: &Transaction<'_>,
    account_id: &str,
    last: Option<&Entry>,
) -> Result<(), StoreError> {
    let (balance, held, last_id) = last.map_or((0, 0, None), |e| {
        (e.balance_after, e.held_after, Some(e.id.as_str()))
    });
    tx.execute(
        "INSERT INTO ledger_balances (account_id, balance, held, last_entry_id) \
         VALUES ($1, $2, $3, $4) ON CONFLICT (account_id) DO UPDATE SET \
         balance = EXCLUDED.balance, held = EXCLUDED.held, last_entry_id = EXCLUDED.last_entry_id",
        &[&account_id, &balance, &held, &last_id],
    )
    .await?;
    Ok(())
}

/// Stores a ledger entry as it is (its account's totals row exists).
pub(crate) async fn import_entry(tx: &Transaction<'_>, entry: &Entry) -> Result<(), StoreError> {
    insert_entry(tx, entry).await
}

/// Stores a task (without its hold) as it is.
pub(crate) async fn import_task(tx: &Transaction<'_>, task: &Task) -> Result<(), StoreError> {
    put_task(tx, task).await
}

/// Stores a hold whose entries are stored. A hold kept by an early release
/// names no entry: its entries are found by its task.
pub(crate) async fn import_hold(tx: &Transaction<'_>, hold: &Hold) -> Result<(), StoreError> {
    let status = to_text(&hold.status);
    tx.execute(
        "INSERT INTO holds (task_id, account_id, amount, status, key_id, entry_id, settled_by) \
         VALUES ($1, $2, $3, $4, $5, \
           COALESCE($6, (SELECT id FROM ledger_entries \
                         WHERE account_id = $2 AND task_id = $1 AND kind = 'hold')), \
           CASE WHEN $4 = 'open' THEN NULL ELSE COALESCE($7, (SELECT id FROM ledger_entries \
                WHERE account_id = $2 AND task_id = $1 AND kind IN ('capture', 'release'))) END)",
        &[
            &hold.task_id,
            &hold.account_id,
            &hold.amount,
            &status,
            &hold.key_id,
            &hold.entry_id,
            &hold.settled_by,
        ],
    )
    .await?;
    Ok(())
}

/// Stores a task that is not over yet (or whose end was not yet closed),
/// unleased, so that the first replica to start takes it over: `owner`
/// is whose it is, `finished` whether it ended, and `open.task` the task
/// as submitted if it is not stored (a synchronous task).
pub(crate) async fn import_open(
    tx: &Transaction<'_>,
    open: &OpenTask,
    owner: &str,
    finished: bool,
    stored: bool,
) -> Result<(), StoreError> {
    let submitted = if stored {
        None
    } else {
        open.task.as_ref().map(to_json)
    };
    tx.execute(
        "INSERT INTO tasks_open (task_id, owner, synchronous, finished, submitted) \
         VALUES ($1, $2, $3, $4, $5)",
        &[&open.id, &owner, &open.synchronous, &finished, &submitted],
    )
    .await?;
    Ok(())
}

/// Stores a dispute as it is (the entry it names is stored).
pub(crate) async fn import_dispute(
    tx: &Transaction<'_>,
    dispute: &Dispute,
) -> Result<(), StoreError> {
    insert_dispute(tx, dispute).await
}

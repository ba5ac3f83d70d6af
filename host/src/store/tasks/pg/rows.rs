//! How the task store's records map to rows: the columns read, each
//! record from its row, and the inserts that store a record as it is.

#[allow(clippy::wildcard_imports)]
use super::*;

pub(super) const TASK_COLUMNS: &str = "t.id, t.owner, t.kind, t.model, t.status, t.progress, t.request_id, \
     t.created_at, t.completed_at, t.request, t.handle, t.outputs, t.error, t.webhook_url, \
     t.purged, t.metadata, t.target, t.key_id, t.flagged";

/// The hold columns, after [`TASK_COLUMNS`] (from index 19).
pub(super) const HOLD_COLUMNS: &str =
    "h.task_id, h.account_id, h.amount, h.status, h.key_id, h.entry_id, h.settled_by";

pub(super) const ENTRY_COLUMNS: &str = "id, account_id, kind, amount, held_change, balance_after, \
     held_after, task_id, actor, reason, created_at";

pub(super) const DISPUTE_COLUMNS: &str = "id, account_id, month, reason, status, credits_returned, \
     resolution, created_at, decided_at, entry_id";

pub(super) fn task_from(row: &Row, hold_at: Option<usize>) -> Result<Task, StoreError> {
    let progress: i16 = row.get(5);
    Ok(Task {
        id: row.get(0),
        owner: row.get(1),
        kind: row.get(2),
        model: row.get(3),
        status: from_text("tasks", row.get(4))?,
        progress: u8::try_from(progress).unwrap_or(u8::MAX),
        request_id: row.get(6),
        created_at: row.get(7),
        completed_at: row.get(8),
        request: from_json("tasks", row.get(9))?,
        handle: row.get(10),
        outputs: from_json("tasks", row.get(11))?,
        error: row
            .get::<_, Option<serde_json::Value>>(12)
            .map(|e| from_json("tasks", e))
            .transpose()?,
        webhook_url: row.get(13),
        purged: row.get(14),
        metadata: row.get(15),
        target: row.get(16),
        key_id: row.get(17),
        flagged: row.get(18),
        hold: match hold_at {
            Some(at) => hold_from(row, at)?,
            None => None,
        },
    })
}

/// The hold in the columns of [`HOLD_COLUMNS`] from `at`, if there is one.
pub(super) fn hold_from(row: &Row, at: usize) -> Result<Option<Hold>, StoreError> {
    let Some(task_id) = row.get::<_, Option<String>>(at) else {
        return Ok(None);
    };
    Ok(Some(Hold {
        task_id,
        account_id: row.get(at + 1),
        amount: row.get(at + 2),
        status: from_text("holds", row.get(at + 3))?,
        key_id: row.get(at + 4),
        entry_id: row.get(at + 5),
        settled_by: row.get(at + 6),
    }))
}

pub(super) fn entry_from(row: &Row) -> Result<Entry, StoreError> {
    Ok(Entry {
        id: row.get(0),
        account_id: row.get(1),
        kind: from_text("ledger_entries", row.get(2))?,
        amount: row.get(3),
        held_change: row.get(4),
        balance_after: row.get(5),
        held_after: row.get(6),
        task_id: row.get(7),
        actor: row.get(8),
        reason: row.get(9),
        created_at: row.get(10),
    })
}

pub(super) fn dispute_from(row: &Row) -> Result<Dispute, StoreError> {
    Ok(Dispute {
        id: row.get(0),
        account_id: row.get(1),
        month: row.get(2),
        reason: row.get(3),
        status: from_text("disputes", row.get(4))?,
        credits_returned: row.get(5),
        resolution: row.get(6),
        created_at: row.get(7),
        decided_at: row.get(8),
        entry_id: row.get(9),
    })
}

/// Stores `task` (all but its hold, which lives in `holds`), replacing the
/// stored one.
pub(super) async fn put_task(tx: &Transaction<'_>, task: &Task) -> Result<(), StoreError> {
    let status = to_text(&task.status);
    let progress = i16::from(task.progress);
    let request = to_json(&task.request);
    let outputs = to_json(&task.outputs);
    let error = task.error.as_ref().map(to_json);
    let params: [&(dyn ToSql + Sync); 19] = [
        &task.id,
        &task.owner,
        &task.kind,
        &task.model,
        &status,
        &progress,
        &task.request_id,
        &task.created_at,
        &task.completed_at,
        &request,
        &task.handle,
        &outputs,
        &error,
        &task.webhook_url,
        &task.purged,
        &task.metadata,
        &task.target,
        &task.key_id,
        &task.flagged,
    ];
    tx.execute(
        "INSERT INTO tasks (id, owner, kind, model, status, progress, request_id, created_at, \
         completed_at, request, handle, outputs, error, webhook_url, purged, metadata, target, \
         key_id, flagged) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, \
         $15, $16, $17, $18, $19) \
         ON CONFLICT (id) DO UPDATE SET owner = EXCLUDED.owner, kind = EXCLUDED.kind, \
         model = EXCLUDED.model, status = EXCLUDED.status, progress = EXCLUDED.progress, \
         request_id = EXCLUDED.request_id, created_at = EXCLUDED.created_at, \
         completed_at = EXCLUDED.completed_at, request = EXCLUDED.request, \
         handle = EXCLUDED.handle, outputs = EXCLUDED.outputs, error = EXCLUDED.error, \
         webhook_url = EXCLUDED.webhook_url, purged = EXCLUDED.purged, \
         metadata = EXCLUDED.metadata, target = EXCLUDED.target, key_id = EXCLUDED.key_id, \
         flagged = EXCLUDED.flagged",
        &params,
    )
    .await?;
    Ok(())
}

/// Stores a new dispute, within the caller's transaction or alone.
pub(super) async fn insert_dispute(
    client: &(impl tokio_postgres::GenericClient + Sync),
    dispute: &Dispute,
) -> Result<(), StoreError> {
    let status = to_text(&dispute.status);
    client
        .execute(
            &format!(
                "INSERT INTO disputes ({DISPUTE_COLUMNS}) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
            ),
            &[
                &dispute.id,
                &dispute.account_id,
                &dispute.month,
                &dispute.reason,
                &status,
                &dispute.credits_returned,
                &dispute.resolution,
                &dispute.created_at,
                &dispute.decided_at,
                &dispute.entry_id,
            ],
        )
        .await
        .map_err(|e| {
            if crate::store::pg::is_unique_violation(&e) {
                StoreError::Conflict("a dispute with this id exists")
            } else {
                e.into()
            }
        })?;
    Ok(())
}

/// Stores `entry` (whose account's totals row exists) as it is.
pub(super) async fn insert_entry(tx: &Transaction<'_>, entry: &Entry) -> Result<(), StoreError> {
    let kind = to_text(&entry.kind);
    tx.execute(
        &format!(
            "INSERT INTO ledger_entries ({ENTRY_COLUMNS}) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
        ),
        &[
            &entry.id,
            &entry.account_id,
            &kind,
            &entry.amount,
            &entry.held_change,
            &entry.balance_after,
            &entry.held_after,
            &entry.task_id,
            &entry.actor,
            &entry.reason,
            &entry.created_at,
        ],
    )
    .await?;
    Ok(())
}

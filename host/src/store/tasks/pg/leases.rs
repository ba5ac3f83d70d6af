//! Leases on open tasks (`tasks_open.lease_holder`, `lease_until`): which
//! replica runs each, claimed when they lapse, renewed while it runs them.

use super::{HOLD_COLUMNS, PgTasks, TASK_COLUMNS, hold_from, task_from};
use crate::store::StoreError;
use crate::store::pg::from_json;
use crate::store::tasks::{OpenTask, Task};

impl PgTasks {
    /// Leases to this replica the open tasks `which` (a condition on
    /// `tasks_open`, where `$1` is this replica) selects, skipping those
    /// another replica is claiming at the same moment; returns them, oldest
    /// first.
    pub(super) async fn claim(&self, which: &str) -> Result<Vec<OpenTask>, StoreError> {
        let client = self.pg.client().await?;
        let replica = self.pg.replica();
        let rows = client
            .query(
                &format!(
                    "WITH claimed AS ( \
                       UPDATE tasks_open SET lease_holder = $1, \
                         lease_until = now() + make_interval(secs => $2) \
                       WHERE task_id IN ( \
                         SELECT task_id FROM tasks_open \
                         WHERE {which} FOR UPDATE SKIP LOCKED) \
                       RETURNING task_id, synchronous, submitted) \
                     SELECT {TASK_COLUMNS}, {HOLD_COLUMNS}, o.task_id, o.synchronous, o.submitted \
                     FROM claimed o LEFT JOIN tasks t ON t.id = o.task_id \
                     LEFT JOIN holds h ON h.task_id = o.task_id ORDER BY o.task_id"
                ),
                &[&replica.id, &replica.lease.as_secs_f64()],
            )
            .await?;
        rows.iter()
            .map(|row| {
                let stored = row.get::<_, Option<String>>(0).is_some();
                let task = if stored {
                    Some(task_from(row, Some(19))?)
                } else {
                    row.get::<_, Option<serde_json::Value>>(28)
                        .map(|t| from_json::<Task>("tasks_open", t))
                        .transpose()?
                };
                let hold = hold_from(row, 19)?;
                let task = task.map(|t| Task {
                    hold: hold.clone(),
                    ..t
                });
                Ok(OpenTask {
                    id: row.get(26),
                    synchronous: row.get(27),
                    task,
                    hold,
                })
            })
            .collect()
    }

    /// Renews this replica's leases on the open tasks it runs (`running`).
    pub(super) async fn renew(&self, running: &[String]) -> Result<u64, StoreError> {
        let replica = self.pg.replica();
        let client = self.pg.client().await?;
        Ok(client
            .execute(
                "UPDATE tasks_open SET lease_until = now() + make_interval(secs => $2) \
                 WHERE lease_holder = $1 AND task_id = ANY($3)",
                &[&replica.id, &replica.lease.as_secs_f64(), &running],
            )
            .await?)
    }

    /// Gives up this replica's leases.
    pub(super) async fn release(&self) -> Result<u64, StoreError> {
        let client = self.pg.client().await?;
        Ok(client
            .execute(
                "UPDATE tasks_open SET lease_holder = NULL, lease_until = NULL \
                 WHERE lease_holder = $1",
                &[&self.pg.replica().id],
            )
            .await?)
    }
}

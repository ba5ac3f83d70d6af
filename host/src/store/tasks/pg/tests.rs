//! Tests of the PostgreSQL task store beyond the conformance suite.

use std::sync::Arc;

use tokio_postgres::error::SqlState;

use super::PgTasks;
use crate::store::ledger::{EntryKind, LedgerError, LedgerStore};
use crate::store::pg::testing::{TestDb, fresh_store};
use crate::store::tasks::{Creation, HoldRequest, StoredRequest, Task, TaskStore, TaskStoreError};

async fn fresh_pg() -> (TestDb, Arc<PgTasks>) {
    let (db, pg) = fresh_store().await;
    (db, Arc::new(PgTasks::new(&pg)))
}

crate::store::tasks::conformance::suite!(fresh_pg);

fn queued(owner: &str) -> Task {
    Task::queued(
        crate::ids::new("task"),
        owner,
        "image",
        "canvas",
        &crate::ids::new("req"),
        StoredRequest::image("a lantern", 64, 64),
    )
}

fn billed(credits: i64) -> Creation<'static> {
    Creation {
        hold: Some(HoldRequest {
            account_id: "acct_a",
            credits,
            actor: "key_a",
            key_limit: None,
        }),
        ..Creation::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn replicas_sharing_the_database_never_overdraw_an_account() {
    let (_db, pg) = fresh_store().await;
    let replicas = [Arc::new(PgTasks::new(&pg)), Arc::new(PgTasks::new(&pg))];
    replicas[0]
        .credit("acct_a", EntryKind::Topup, 100, "admin", None)
        .await
        .unwrap();
    let creations: Vec<_> = (0..24)
        .map(|i| {
            let tasks = replicas[i % 2].clone();
            tokio::spawn(async move { tasks.create_task(&mut queued("acct_a"), billed(10)).await })
        })
        .collect();
    let mut placed = 0;
    for creation in creations {
        match creation.await.unwrap() {
            Ok(()) => placed += 1,
            Err(TaskStoreError::Ledger(LedgerError::Insufficient { .. })) => {}
            Err(e) => panic!("{e}"),
        }
    }
    assert_eq!(placed, 10, "exactly what the balance covers");
    let b = replicas[1].balance("acct_a").await.unwrap();
    assert_eq!((b.balance, b.held), (100, 100));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_database_itself_refuses_a_second_hold_and_an_overdraw() {
    let (_db, pg) = fresh_store().await;
    let tasks = PgTasks::new(&pg);
    tasks
        .credit("acct_a", EntryKind::Topup, 50, "admin", None)
        .await
        .unwrap();
    let mut task = queued("acct_a");
    tasks.create_task(&mut task, billed(20)).await.unwrap();
    let client = pg.client().await.unwrap();
    let code = |e: tokio_postgres::Error| e.code().cloned();
    // Held beyond the balance: the totals' constraint.
    let overdraw = client
        .execute(
            "UPDATE ledger_balances SET held = balance + 1 WHERE account_id = 'acct_a'",
            &[],
        )
        .await
        .unwrap_err();
    assert_eq!(code(overdraw), Some(SqlState::CHECK_VIOLATION));
    // A second hold row for the task: the primary key.
    let entry_id = task.hold.as_ref().unwrap().entry_id.clone();
    let second = client
        .execute(
            "INSERT INTO holds (task_id, account_id, amount, status, entry_id) \
             VALUES ($1, 'acct_a', 5, 'open', $2)",
            &[&task.id, &entry_id],
        )
        .await
        .unwrap_err();
    assert_eq!(code(second), Some(SqlState::UNIQUE_VIOLATION));
    // A second hold entry for the task: one hold entry per task.
    let again = client
        .execute(
            "INSERT INTO ledger_entries (account_id, id, kind, amount, held_change, \
             balance_after, held_after, task_id, actor, created_at) \
             VALUES ('acct_a', 'le_x', 'hold', 0, 5, 50, 25, $1, 'key_a', 'now')",
            &[&task.id],
        )
        .await
        .unwrap_err();
    assert_eq!(code(again), Some(SqlState::UNIQUE_VIOLATION));
    let b = tasks.balance("acct_a").await.unwrap();
    assert_eq!((b.balance, b.held), (50, 20), "nothing changed");
}

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
            credit_line: 0,
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
async fn the_database_itself_refuses_a_second_hold_and_negative_held_credits() {
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
    // Held credits below zero: the totals' constraint. (Held beyond the
    // balance is allowed by the table since credit lines; the ledger's
    // conditional update keeps each account within its own line.)
    let negative = client
        .execute(
            "UPDATE ledger_balances SET held = -1 WHERE account_id = 'acct_a'",
            &[],
        )
        .await
        .unwrap_err();
    assert_eq!(code(negative), Some(SqlState::CHECK_VIOLATION));
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

/// The tasks of `store` as replica `id` whose leases last `lease_ms`.
fn as_replica(pg: &crate::store::pg::PgStore, id: &str, lease_ms: u64) -> PgTasks {
    PgTasks::new(&pg.clone().with_replica(crate::replicas::Replica {
        id: id.to_string(),
        lease: std::time::Duration::from_millis(lease_ms),
    }))
}

fn ids(open: &[crate::store::tasks::OpenTask]) -> Vec<&str> {
    open.iter().map(|o| o.id.as_str()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_takes_over_only_the_tasks_whose_lease_lapsed() {
    let (_db, pg) = fresh_store().await;
    let a = as_replica(&pg, "rep_a", 800);
    let b = as_replica(&pg, "rep_b", 800);
    let mut first = queued("acct_a");
    a.create_task(&mut first, Creation::default())
        .await
        .unwrap();
    // A holds it: B neither takes it over nor finds it at its start.
    assert!(b.lapsed_tasks().await.unwrap().is_empty());
    assert!(b.open_tasks().await.unwrap().is_empty());
    // A renews while it runs it.
    let running = [first.id.clone()];
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(a.renew_leases(&running).await.unwrap(), 1);
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert!(
        b.lapsed_tasks().await.unwrap().is_empty(),
        "renewed in time"
    );
    // A stops renewing: once its lease lapses, B takes the task, once.
    tokio::time::sleep(std::time::Duration::from_millis(900)).await;
    let taken = b.lapsed_tasks().await.unwrap();
    assert_eq!(ids(&taken), [first.id.as_str()]);
    assert_eq!(taken[0].task.as_ref().unwrap().id, first.id);
    assert!(b.lapsed_tasks().await.unwrap().is_empty(), "B holds it now");
    assert!(a.lapsed_tasks().await.unwrap().is_empty());
    assert_eq!(a.renew_leases(&running).await.unwrap(), 0, "A lost it");
    assert_eq!(b.renew_leases(&running).await.unwrap(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_started_again_takes_back_its_tasks_at_once() {
    let (_db, pg) = fresh_store().await;
    let before = as_replica(&pg, "rep_a", 60_000);
    let mut task = queued("acct_a");
    before
        .create_task(&mut task, Creation::default())
        .await
        .unwrap();
    // The same replica (its data directory) started again: its tasks are
    // its own at start, though their leases have not lapsed.
    let again = as_replica(&pg, "rep_a", 60_000);
    assert!(again.lapsed_tasks().await.unwrap().is_empty());
    assert_eq!(ids(&again.open_tasks().await.unwrap()), [task.id.as_str()]);
    // Another replica's start leaves them.
    let other = as_replica(&pg, "rep_b", 60_000);
    assert!(other.open_tasks().await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leases_given_up_at_a_graceful_stop_are_taken_over_at_once() {
    let (_db, pg) = fresh_store().await;
    let a = as_replica(&pg, "rep_a", 60_000);
    let b = as_replica(&pg, "rep_b", 60_000);
    let mut task = queued("acct_a");
    a.create_task(&mut task, Creation::default()).await.unwrap();
    assert!(b.lapsed_tasks().await.unwrap().is_empty());
    assert_eq!(a.release_leases().await.unwrap(), 1);
    assert_eq!(ids(&b.lapsed_tasks().await.unwrap()), [task.id.as_str()]);
    assert_eq!(a.release_leases().await.unwrap(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_task_its_replica_no_longer_runs_lapses_and_is_taken_over() {
    let (_db, pg) = fresh_store().await;
    let a = as_replica(&pg, "rep_a", 600);
    let (mut kept, mut dropped) = (queued("acct_a"), queued("acct_a"));
    a.create_task(&mut kept, Creation::default()).await.unwrap();
    a.create_task(&mut dropped, Creation::default())
        .await
        .unwrap();
    // A runs only `kept` now (storage failed in the other's run).
    let running = [kept.id.clone()];
    for _ in 0..3 {
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        assert_eq!(a.renew_leases(&running).await.unwrap(), 1);
    }
    // The dropped one lapsed: A itself (or any replica) takes it over.
    assert_eq!(ids(&a.lapsed_tasks().await.unwrap()), [dropped.id.as_str()]);
}

//! A section of the gateway bench (see `../gateway.rs`): the durable
//! creation of a task with its hold and its finish with the capture, one
//! at a time and from 64 concurrent callers.

#[allow(clippy::wildcard_imports)]
use super::*;
use imini::ledger::{EntryKind, LedgerStore};
use imini::store::tasks::{
    Creation, EmbeddedTasks, HoldRequest, Settle, Status, StoredRequest, Task, TaskStore,
};

/// A queued task of `owner` and the creation of it with a 10-credit hold
/// through a key.
fn billed_task(owner: &str) -> (Task, Creation<'_>) {
    let request = StoredRequest::image("a lantern", 64, 64);
    let task = Task::queued(
        imini::ids::new("task"),
        owner,
        "image",
        "canvas",
        "req_bench",
        request,
    );
    let creation = Creation {
        synchronous: false,
        hold: Some(HoldRequest {
            account_id: owner,
            credits: 10,
            actor: "key_bench",
            key_limit: None,
            credit_line: 0,
        }),
        max_unfinished: None,
    };
    (task, creation)
}

/// Finishes a task as succeeded, capturing its hold.
async fn capture(store: &EmbeddedTasks, mut task: Task) {
    task.status = Status::Succeeded;
    store.finish_task(&mut task, Settle::Capture).await.unwrap();
}

pub(super) async fn ledger_ops() {
    let dir = tempfile::tempdir().unwrap();
    let store = imini::store::Store::open(dir.path()).unwrap();
    let tasks = EmbeddedTasks::open(&store).await.unwrap();
    tasks
        .credit("acct_bench", EntryKind::Topup, 1_000_000_000, "admin", None)
        .await
        .unwrap();
    let (mut holds, mut captures) = (Vec::new(), Vec::new());
    for _ in 0..2000 {
        let (mut task, creation) = billed_task("acct_bench");
        let t = Instant::now();
        tasks.create_task(&mut task, creation).await.unwrap();
        holds.push(t.elapsed());
        let t = Instant::now();
        capture(&tasks, task).await;
        captures.push(t.elapsed());
    }
    report(
        "tasks: durable creation with a hold (fsync), one at a time",
        holds,
        "µs",
    );
    report(
        "tasks: durable finish with a capture (fsync), one at a time",
        captures,
        "µs",
    );

    // 64 concurrent callers share fsyncs (group commit).
    let tasks = Arc::new(tasks);
    let started = Instant::now();
    let mut handles = Vec::new();
    for _ in 0..64 {
        let tasks = tasks.clone();
        handles.push(tokio::spawn(async move {
            for _ in 0..100 {
                let (mut task, creation) = billed_task("acct_bench");
                tasks.create_task(&mut task, creation).await.unwrap();
                capture(&tasks, task).await;
            }
        }));
    }
    for h in handles {
        h.await.unwrap();
    }
    let per_sec = 6400.0 / started.elapsed().as_secs_f64();
    println!(
        "\ntasks: creations with a hold + finishes with a capture per second, 64 concurrent callers (group commit): {per_sec:.0}\n"
    );
}

//! The behaviour every [`TaskStore`] + [`LedgerStore`] must have, as tests
//! an implementation runs with `suite!(fresh)`, where `fresh().await`
//! returns a guard (dropped after the test) and an empty store implementing
//! both.

mod disputes;
mod model;

pub(crate) use disputes::{
    a_credit_line_lets_holds_go_below_zero_and_no_further,
    a_dispute_is_decided_once_however_many_decisions_race, dispute,
};
pub(crate) use model::the_ledger_agrees_with_a_model_of_it;

use std::sync::Arc;

use super::{
    Creation, HoldRequest, Settle, Status, StoredRequest, Task, TaskStore, TaskStoreError,
};
use crate::store::ledger::{
    Decision, Dispute, DisputeError, DisputeStatus, Entry, EntryKind, HoldStatus, LedgerError,
    LedgerStore,
};

/// The tests, for an implementation's `fresh` constructor.
macro_rules! suite {
    ($fresh:path) => {
        $crate::store::tasks::conformance::suite!(@tests $fresh;
            concurrent_holds_never_overdraw_and_entries_sum_to_the_balance,
            a_refused_creation_leaves_nothing,
            a_hold_is_settled_once_however_often_its_task_finishes,
            the_cap_on_unfinished_tasks_holds_under_concurrent_creations,
            a_key_limit_counts_holds_until_they_are_released,
            a_synchronous_task_is_stored_when_it_ends_or_is_detached,
            abandoning_a_task_releases_its_hold,
            corrections_and_forfeits_never_go_below_what_is_held,
            entries_and_tasks_page_in_order,
            a_dispute_is_decided_once_however_many_decisions_race,
            a_credit_line_lets_holds_go_below_zero_and_no_further,
        );
        #[test]
        fn the_ledger_agrees_with_a_model_of_it() {
            $crate::store::tasks::conformance::the_ledger_agrees_with_a_model_of_it(|runtime| {
                runtime.block_on(async {
                    let (guard, store) = $fresh().await;
                    let guard: Box<dyn std::any::Any> = Box::new(guard);
                    let tasks: std::sync::Arc<dyn $crate::store::tasks::TaskStore> = store.clone();
                    let ledger: std::sync::Arc<dyn $crate::store::ledger::LedgerStore> = store;
                    (guard, tasks, ledger)
                })
            });
        }
    };
    (@tests $fresh:path; $($name:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $name() {
                let (_guard, store) = $fresh().await;
                $crate::store::tasks::conformance::$name(store.clone(), store).await;
            }
        )*
    };
}
pub(crate) use suite;

const ACCOUNT: &str = "acct_conformance";

fn task(owner: &str) -> Task {
    let request = StoredRequest::image("a lantern", 64, 64);
    Task::queued(
        crate::ids::new("task"),
        owner,
        "image",
        "canvas",
        &crate::ids::new("req"),
        request,
    )
}

/// Tops the account up by `credits`.
async fn topup(ledger: &dyn LedgerStore, credits: i64) -> Entry {
    ledger
        .credit(ACCOUNT, EntryKind::Topup, credits, "admin", None)
        .await
        .unwrap()
}

fn billed(credits: i64, actor: &str) -> Creation<'_> {
    on_credit(credits, actor, 0)
}

/// A billed creation for an account with a credit line of `line`.
fn on_credit(credits: i64, actor: &str, line: i64) -> Creation<'_> {
    Creation {
        synchronous: false,
        hold: Some(HoldRequest {
            account_id: ACCOUNT,
            credits,
            actor,
            key_limit: None,
            credit_line: line,
        }),
        max_unfinished: None,
    }
}

fn finished(mut task: Task, status: Status) -> Task {
    task.status = status;
    task.completed_at = Some(crate::time::now_rfc3339());
    task
}

async fn all_entries(ledger: &dyn LedgerStore) -> Vec<Entry> {
    let mut all = Vec::new();
    let mut after = None;
    loop {
        let (page, more) = ledger.entries(ACCOUNT, after.as_deref(), 7).await.unwrap();
        after = page.last().map(|e| e.id.clone());
        all.extend(page);
        if !more {
            return all;
        }
    }
}

/// The ledger's invariants: entries sum to the balance and their held
/// changes to the held credits, each entry's totals follow from the one
/// before, and nothing is ever overdrawn.
async fn assert_consistent(ledger: &dyn LedgerStore) {
    assert_within(ledger, 0).await;
}

/// [`assert_consistent`] for an account with a credit line of `line`: the
/// balance less what is held never below minus the line.
async fn assert_within(ledger: &dyn LedgerStore, line: i64) {
    let entries = all_entries(ledger).await;
    let (mut balance, mut held) = (0, 0);
    for e in &entries {
        balance += e.amount;
        held += e.held_change;
        assert_eq!((e.balance_after, e.held_after), (balance, held), "{e:?}");
        assert!(held >= 0 && balance - held >= -line, "overdrawn at {e:?}");
    }
    let b = ledger.balance(ACCOUNT).await.unwrap();
    assert_eq!((b.balance, b.held), (balance, held));
}

pub(crate) async fn concurrent_holds_never_overdraw_and_entries_sum_to_the_balance(
    tasks: Arc<dyn TaskStore>,
    ledger: Arc<dyn LedgerStore>,
) {
    topup(&*ledger, 1000).await;
    // 64 tasks of 30 credits against 1000: 33 fit at once; each one that
    // fits is captured or released (alternately) by another task.
    let mut handles = Vec::new();
    for i in 0..64 {
        let tasks = tasks.clone();
        handles.push(tokio::spawn(async move {
            let mut t = task(ACCOUNT);
            match tasks.create_task(&mut t, billed(30, "key_a")).await {
                Ok(()) => {}
                Err(TaskStoreError::Ledger(LedgerError::Insufficient { .. })) => return None,
                Err(e) => panic!("{e}"),
            }
            let settle = if i % 2 == 0 {
                Settle::Capture
            } else {
                Settle::Release
            };
            let status = if settle == Settle::Capture {
                Status::Succeeded
            } else {
                Status::Failed
            };
            let mut t = finished(t, status);
            let entry = tasks.finish_task(&mut t, settle).await.unwrap();
            Some((settle, entry.expect("an open hold settles")))
        }));
    }
    let mut captured = 0;
    let mut settled = 0;
    for h in handles {
        if let Some((settle, entry)) = h.await.unwrap() {
            settled += 1;
            if settle == Settle::Capture {
                assert_eq!(entry.kind, EntryKind::Capture);
                captured += 30;
            } else {
                assert_eq!(entry.kind, EntryKind::Release);
            }
        }
    }
    assert!(settled >= 33, "only {settled} holds fitted");
    assert_consistent(&*ledger).await;
    let b = ledger.balance(ACCOUNT).await.unwrap();
    assert_eq!((b.balance, b.held), (1000 - captured, 0));
    assert!(
        tasks
            .open_tasks()
            .await
            .unwrap()
            .iter()
            .all(|t| t.hold.as_ref().is_none_or(|h| h.status != HoldStatus::Open))
    );
}

pub(crate) async fn a_refused_creation_leaves_nothing(
    tasks: Arc<dyn TaskStore>,
    ledger: Arc<dyn LedgerStore>,
) {
    topup(&*ledger, 10).await;
    let mut t = task(ACCOUNT);
    let refused = tasks.create_task(&mut t, billed(20, "key_a")).await;
    assert!(
        matches!(
            refused,
            Err(TaskStoreError::Ledger(LedgerError::Insufficient {
                needed: 20,
                available: 10
            }))
        ),
        "{refused:?}"
    );
    assert!(tasks.task(&t.id).await.unwrap().is_none());
    assert!(tasks.hold_of(&t.id).await.unwrap().is_none());
    assert!(tasks.open_tasks().await.unwrap().is_empty());
    assert_eq!(all_entries(&*ledger).await.len(), 1);
    let mut listed = 0;
    tasks
        .tasks_of(ACCOUNT, None, &mut |_| {
            listed += 1;
            true
        })
        .await
        .unwrap();
    assert_eq!(listed, 0);
}

pub(crate) async fn a_hold_is_settled_once_however_often_its_task_finishes(
    tasks: Arc<dyn TaskStore>,
    ledger: Arc<dyn LedgerStore>,
) {
    topup(&*ledger, 1000).await;
    for _ in 0..20 {
        let mut t = task(ACCOUNT);
        tasks
            .create_task(&mut t, billed(10, "key_a"))
            .await
            .unwrap();
        assert_eq!(t.hold.as_ref().unwrap().status, HoldStatus::Open);
        // A success and a cancel race to finish it.
        let (a, b) = (tasks.clone(), tasks.clone());
        let mut won = finished(t.clone(), Status::Succeeded);
        let mut lost = finished(t.clone(), Status::Canceled);
        let (x, y) = tokio::join!(
            async move { a.finish_task(&mut won, Settle::Capture).await.unwrap() },
            async move { b.finish_task(&mut lost, Settle::Release).await.unwrap() },
        );
        assert!(x.is_some() != y.is_some(), "settled {x:?} and {y:?}");
        // The first end stands: the task, its charge and a later finish
        // all agree with it.
        let (status, settled) = if x.is_some() {
            (Status::Succeeded, HoldStatus::Captured)
        } else {
            (Status::Canceled, HoldStatus::Released)
        };
        let mut again = finished(t.clone(), Status::Succeeded);
        assert!(
            tasks
                .finish_task(&mut again, Settle::Capture)
                .await
                .unwrap()
                .is_none()
        );
        assert_eq!(again.status, status, "a later finish leaves the first end");
        let stored = tasks.task(&t.id).await.unwrap().unwrap();
        assert_eq!(stored.status, status);
        let hold = tasks.hold_of(&t.id).await.unwrap().unwrap();
        assert_eq!(hold.status, settled);
        assert_eq!(again.hold.as_ref().map(|h| h.status), Some(hold.status));
    }
    assert_consistent(&*ledger).await;
    let settlements = all_entries(&*ledger)
        .await
        .iter()
        .filter(|e| matches!(e.kind, EntryKind::Capture | EntryKind::Release))
        .count();
    assert_eq!(settlements, 20);
    assert_eq!(ledger.balance(ACCOUNT).await.unwrap().held, 0);
}

pub(crate) async fn the_cap_on_unfinished_tasks_holds_under_concurrent_creations(
    tasks: Arc<dyn TaskStore>,
    _ledger: Arc<dyn LedgerStore>,
) {
    let capped = |synchronous| Creation {
        synchronous,
        hold: None,
        max_unfinished: Some(3),
    };
    let mut handles = Vec::new();
    for i in 0..24 {
        let tasks = tasks.clone();
        handles.push(tokio::spawn(async move {
            let mut t = task(ACCOUNT);
            match tasks.create_task(&mut t, capped(i % 2 == 0)).await {
                Ok(()) => Some(t),
                Err(TaskStoreError::TooManyTasks { cap: 3 }) => None,
                Err(e) => panic!("{e}"),
            }
        }));
    }
    let mut created = Vec::new();
    for h in handles {
        created.extend(h.await.unwrap());
    }
    assert_eq!(created.len(), 3);
    // Another owner is not counted with this one.
    tasks
        .create_task(&mut task("acct_other"), capped(false))
        .await
        .unwrap();
    // Once one finishes, one more may start.
    let mut t = finished(created.pop().unwrap(), Status::Succeeded);
    tasks.finish_task(&mut t, Settle::Capture).await.unwrap();
    tasks
        .create_task(&mut task(ACCOUNT), capped(false))
        .await
        .unwrap();
    let refused = tasks.create_task(&mut task(ACCOUNT), capped(false)).await;
    assert!(matches!(refused, Err(TaskStoreError::TooManyTasks { .. })));
}

pub(crate) async fn a_key_limit_counts_holds_until_they_are_released(
    tasks: Arc<dyn TaskStore>,
    ledger: Arc<dyn LedgerStore>,
) {
    topup(&*ledger, 1000).await;
    let limited = |credits| Creation {
        synchronous: false,
        hold: Some(HoldRequest {
            account_id: ACCOUNT,
            credits,
            actor: "key_limited",
            key_limit: Some(50),
            credit_line: 0,
        }),
        max_unfinished: None,
    };
    let mut a = task(ACCOUNT);
    tasks.create_task(&mut a, limited(30)).await.unwrap();
    let refused = tasks.create_task(&mut task(ACCOUNT), limited(30)).await;
    assert!(
        matches!(
            refused,
            Err(TaskStoreError::Ledger(LedgerError::KeyLimit {
                limit: 50,
                spent: 30,
                needed: 30
            }))
        ),
        "{refused:?}"
    );
    // Another key of the account is not limited by this one's spending.
    tasks
        .create_task(&mut task(ACCOUNT), billed(30, "key_other"))
        .await
        .unwrap();
    let mut a = finished(a, Status::Failed);
    tasks.finish_task(&mut a, Settle::Release).await.unwrap();
    assert_eq!(ledger.key_spent(ACCOUNT, "key_limited").await.unwrap(), 0);
    let mut b = task(ACCOUNT);
    tasks.create_task(&mut b, limited(30)).await.unwrap();
    let mut b = finished(b, Status::Succeeded);
    tasks.finish_task(&mut b, Settle::Capture).await.unwrap();
    // Charged credits stay spent.
    assert_eq!(ledger.key_spent(ACCOUNT, "key_limited").await.unwrap(), 30);
    assert_eq!(ledger.key_spent(ACCOUNT, "key_other").await.unwrap(), 30);
    assert!(
        tasks
            .create_task(&mut task(ACCOUNT), limited(30))
            .await
            .is_err()
    );
    tasks
        .create_task(&mut task(ACCOUNT), limited(20))
        .await
        .unwrap();
}

pub(crate) async fn a_synchronous_task_is_stored_when_it_ends_or_is_detached(
    tasks: Arc<dyn TaskStore>,
    ledger: Arc<dyn LedgerStore>,
) {
    topup(&*ledger, 100).await;
    let sync = Creation {
        synchronous: true,
        ..billed(10, "key_a")
    };
    let mut ends = task(ACCOUNT);
    tasks.create_task(&mut ends, sync).await.unwrap();
    let mut detached = task(ACCOUNT);
    tasks.create_task(&mut detached, sync).await.unwrap();
    // Not stored, but known as submitted (a retry with its idempotency key
    // finds it).
    assert_eq!(
        tasks.task(&ends.id).await.unwrap().unwrap().status,
        Status::Queued
    );
    let mut listed = 0;
    tasks
        .tasks_of(ACCOUNT, None, &mut |_| {
            listed += 1;
            true
        })
        .await
        .unwrap();
    assert_eq!(listed, 0);
    let open = tasks.open_tasks().await.unwrap();
    assert_eq!(open.len(), 2);
    // Not stored, but kept with the open task for recovery.
    assert!(
        open.iter()
            .all(|t| t.synchronous && t.task.as_ref().unwrap().status == Status::Queued)
    );
    assert!(
        open.iter()
            .all(|t| t.hold.as_ref().unwrap().status == HoldStatus::Open)
    );
    assert_eq!(ledger.balance(ACCOUNT).await.unwrap().held, 20);
    // Progress of a synchronous task is not stored.
    let mut progress = ends.clone();
    progress.status = Status::Processing;
    tasks.save_task(&progress, true).await.unwrap();
    assert_eq!(
        tasks.task(&ends.id).await.unwrap().unwrap().status,
        Status::Queued
    );

    tasks.detach(&detached).await.unwrap();
    let stored = tasks.task(&detached.id).await.unwrap().unwrap();
    assert_eq!(stored.hold.unwrap().status, HoldStatus::Open);
    let mut ends = finished(ends, Status::Succeeded);
    tasks.finish_task(&mut ends, Settle::Capture).await.unwrap();
    let stored = tasks.task(&ends.id).await.unwrap().unwrap();
    assert_eq!(stored.status, Status::Succeeded);
    assert_eq!(stored.hold.unwrap().status, HoldStatus::Captured);
    let open = tasks.open_tasks().await.unwrap();
    let d = open.iter().find(|t| t.id == detached.id).unwrap();
    assert!(!d.synchronous && d.task.is_some());
    // Detaching a finished task changes nothing.
    tasks.detach(&ends).await.unwrap();
    assert_eq!(
        tasks.task(&ends.id).await.unwrap().unwrap().status,
        Status::Succeeded
    );
    let mut listed = Vec::new();
    tasks
        .tasks_of(ACCOUNT, None, &mut |t| {
            listed.push(t.id);
            true
        })
        .await
        .unwrap();
    assert_eq!(listed, [detached.id.clone(), ends.id.clone()]);
    // Closed tasks leave the open index.
    tasks.close_task(&ends.id).await.unwrap();
    assert_eq!(tasks.open_tasks().await.unwrap().len(), 1);
}

pub(crate) async fn abandoning_a_task_releases_its_hold(
    tasks: Arc<dyn TaskStore>,
    ledger: Arc<dyn LedgerStore>,
) {
    topup(&*ledger, 100).await;
    let mut t = task(ACCOUNT);
    let sync = Creation {
        synchronous: true,
        max_unfinished: Some(1),
        ..billed(40, "key_a")
    };
    tasks.create_task(&mut t, sync).await.unwrap();
    let entry = tasks.abandon_task(&t.id).await.unwrap().unwrap();
    assert_eq!((entry.kind, entry.held_change), (EntryKind::Release, -40));
    assert!(tasks.abandon_task(&t.id).await.unwrap().is_none());
    assert!(tasks.open_tasks().await.unwrap().is_empty());
    let hold = tasks.hold_of(&t.id).await.unwrap();
    assert!(
        hold.as_ref()
            .is_none_or(|h| h.status == HoldStatus::Released),
        "{hold:?}"
    );
    let b = ledger.balance(ACCOUNT).await.unwrap();
    assert_eq!((b.balance, b.held), (100, 0));
    // Its slot is free again.
    tasks.create_task(&mut task(ACCOUNT), sync).await.unwrap();
    assert_consistent(&*ledger).await;
}

pub(crate) async fn corrections_and_forfeits_never_go_below_what_is_held(
    tasks: Arc<dyn TaskStore>,
    ledger: Arc<dyn LedgerStore>,
) {
    topup(&*ledger, 100).await;
    let mut t = task(ACCOUNT);
    tasks
        .create_task(&mut t, billed(60, "key_a"))
        .await
        .unwrap();
    let refused = ledger.adjust(ACCOUNT, -50, "admin", "typo").await;
    assert!(matches!(
        refused,
        Err(LedgerError::WouldGoNegative {
            balance: 100,
            held: 60
        })
    ));
    ledger.adjust(ACCOUNT, -40, "admin", "typo").await.unwrap();
    let refused = ledger.forfeit(ACCOUNT, "admin", "closed").await;
    assert!(matches!(refused, Err(LedgerError::WouldGoNegative { .. })));
    let mut t = finished(t, Status::Failed);
    tasks.finish_task(&mut t, Settle::Release).await.unwrap();
    let forfeit = ledger
        .forfeit(ACCOUNT, "admin", "closed")
        .await
        .unwrap()
        .unwrap();
    assert_eq!((forfeit.amount, forfeit.balance_after), (-60, 0));
    assert!(
        ledger
            .forfeit(ACCOUNT, "admin", "closed")
            .await
            .unwrap()
            .is_none()
    );
    assert_consistent(&*ledger).await;
}

pub(crate) async fn entries_and_tasks_page_in_order(
    tasks: Arc<dyn TaskStore>,
    ledger: Arc<dyn LedgerStore>,
) {
    let mut ids = Vec::new();
    for credits in 1..=5 {
        ids.push(topup(&*ledger, credits).await.id);
    }
    let (page, more) = ledger.entries(ACCOUNT, None, 2).await.unwrap();
    assert!(more);
    assert_eq!(
        page.iter().map(|e| &e.id).collect::<Vec<_>>(),
        [&ids[0], &ids[1]]
    );
    let (page, more) = ledger.entries(ACCOUNT, Some(&ids[3]), 2).await.unwrap();
    assert!(!more);
    assert_eq!(page.iter().map(|e| &e.id).collect::<Vec<_>>(), [&ids[4]]);
    assert_eq!(ledger.balance(ACCOUNT).await.unwrap().balance, 15);
    assert!(
        ledger
            .entries("acct_none", None, 10)
            .await
            .unwrap()
            .0
            .is_empty()
    );

    let mut created = Vec::new();
    for _ in 0..4 {
        let mut t = task(ACCOUNT);
        tasks
            .create_task(&mut t, Creation::default())
            .await
            .unwrap();
        created.push(t.id);
    }
    tasks
        .create_task(&mut task("acct_other"), Creation::default())
        .await
        .unwrap();
    let mut listed = Vec::new();
    tasks
        .tasks_of(ACCOUNT, Some(&created[3]), &mut |t| {
            listed.push(t.id);
            listed.len() < 2
        })
        .await
        .unwrap();
    assert_eq!(listed, [created[2].clone(), created[1].clone()]);
}

//! The ledger against a model of it: random histories, generated and
//! shrunk by proptest, for every [`TaskStore`] + [`LedgerStore`].

use std::sync::Arc;

use super::{
    ACCOUNT, Creation, HoldRequest, LedgerError, LedgerStore, Settle, Status, Task, TaskStore,
    TaskStoreError, assert_consistent, finished, task, topup,
};

/// One step of a random ledger history.
#[derive(Debug, Clone)]
enum Op {
    Topup(i64),
    Adjust(i64),
    /// A task of this price through key `key` (0..3), whose limit is
    /// `limit` if any.
    Create {
        price: i64,
        key: usize,
        limit: Option<i64>,
    },
    /// Finishes the `pick`-th open task (modulo how many are open), or
    /// finishes again one finished before.
    Finish {
        pick: usize,
        capture: bool,
        again: bool,
    },
    Forfeit,
}

fn op() -> impl proptest::strategy::Strategy<Value = Op> {
    use proptest::prelude::*;
    prop_oneof![
        (1i64..500).prop_map(Op::Topup),
        (-300i64..300).prop_map(Op::Adjust),
        (1i64..200, 0usize..3, proptest::option::of(0i64..400))
            .prop_map(|(price, key, limit)| Op::Create { price, key, limit }),
        (0usize..16, any::<bool>(), any::<bool>()).prop_map(|(pick, capture, again)| Op::Finish {
            pick,
            capture,
            again
        }),
        Just(Op::Forfeit),
    ]
}

/// What the ledger should say, kept by the test.
#[derive(Default)]
struct Model {
    balance: i64,
    held: i64,
    /// Open tasks: (task, price, key).
    open: Vec<(Task, i64, usize)>,
    finished: Vec<Task>,
    spent: [i64; 3],
}

/// Random histories of top-ups, corrections, holds, captures, releases
/// and forfeits, against a model: after every step the store's balance,
/// held credits and key spending are the model's, every refusal is one
/// the model expects, and the entries reconcile.
pub(crate) fn the_ledger_agrees_with_a_model_of_it(
    fresh: impl Fn(
        &tokio::runtime::Runtime,
    ) -> (
        Box<dyn std::any::Any>,
        Arc<dyn TaskStore>,
        Arc<dyn LedgerStore>,
    ),
) {
    use proptest::test_runner::{Config, TestRunner};
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let mut runner = TestRunner::new(Config {
        cases: 48,
        failure_persistence: None,
        ..Config::default()
    });
    let history = proptest::collection::vec(op(), 1..60);
    runner
        .run(&history, |ops| {
            let (_guard, tasks, ledger) = fresh(&runtime);
            runtime.block_on(replay(&ops, &*tasks, &*ledger));
            Ok(())
        })
        .unwrap();
}

async fn replay(ops: &[Op], tasks: &dyn TaskStore, ledger: &dyn LedgerStore) {
    const KEYS: [&str; 3] = ["key_0", "key_1", "key_2"];
    let mut m = Model::default();
    for op in ops {
        match op.clone() {
            Op::Topup(x) => {
                topup(ledger, x).await;
                m.balance += x;
            }
            Op::Adjust(x) => {
                let result = ledger.adjust(ACCOUNT, x, "admin", "model").await;
                if m.balance - m.held + x < 0 {
                    assert!(
                        matches!(result, Err(LedgerError::WouldGoNegative { .. })),
                        "{op:?}: {result:?}"
                    );
                } else {
                    result.unwrap();
                    m.balance += x;
                }
            }
            Op::Create { price, key, limit } => {
                let mut t = task(ACCOUNT);
                let creation = Creation {
                    synchronous: key == 2,
                    hold: Some(HoldRequest {
                        account_id: ACCOUNT,
                        credits: price,
                        actor: KEYS[key],
                        key_limit: limit,
                        credit_line: 0,
                    }),
                    max_unfinished: None,
                };
                let short = m.balance - m.held < price;
                let over = limit.is_some_and(|l| m.spent[key] + price > l);
                match tasks.create_task(&mut t, creation).await {
                    Ok(()) => {
                        assert!(!short && !over, "{op:?} was let through");
                        m.held += price;
                        m.spent[key] += price;
                        m.open.push((t, price, key));
                    }
                    Err(TaskStoreError::Ledger(LedgerError::Insufficient { .. })) => {
                        assert!(short, "{op:?}");
                    }
                    Err(TaskStoreError::Ledger(LedgerError::KeyLimit { .. })) => {
                        assert!(over, "{op:?}");
                    }
                    Err(e) => panic!("{op:?}: {e}"),
                }
            }
            Op::Finish {
                pick,
                capture,
                again,
            } => {
                if again && !m.finished.is_empty() {
                    let mut t = m.finished[pick % m.finished.len()].clone();
                    let settle = if capture {
                        Settle::Capture
                    } else {
                        Settle::Release
                    };
                    let entry = tasks.finish_task(&mut t, settle).await.unwrap();
                    assert!(entry.is_none(), "settled twice: {entry:?}");
                } else if !m.open.is_empty() {
                    let (t, price, key) = m.open.remove(pick % m.open.len());
                    let (status, settle) = if capture {
                        (Status::Succeeded, Settle::Capture)
                    } else {
                        (Status::Failed, Settle::Release)
                    };
                    let mut t = finished(t, status);
                    let entry = tasks.finish_task(&mut t, settle).await.unwrap().unwrap();
                    assert_eq!(entry.held_change, -price);
                    m.held -= price;
                    if capture {
                        m.balance -= price;
                    } else {
                        m.spent[key] -= price;
                    }
                    m.finished.push(t);
                }
            }
            Op::Forfeit => {
                let result = ledger.forfeit(ACCOUNT, "admin", "closed").await;
                if m.held > 0 {
                    assert!(
                        matches!(result, Err(LedgerError::WouldGoNegative { .. })),
                        "{result:?}"
                    );
                } else {
                    let entry = result.unwrap();
                    assert_eq!(entry.is_some(), m.balance > 0);
                    m.balance = m.balance.min(0);
                }
            }
        }
        let b = ledger.balance(ACCOUNT).await.unwrap();
        assert_eq!((b.balance, b.held), (m.balance, m.held), "after {op:?}");
        for (key, spent) in KEYS.iter().zip(m.spent) {
            assert_eq!(
                ledger.key_spent(ACCOUNT, key).await.unwrap(),
                spent,
                "{key} after {op:?}"
            );
        }
    }
    assert_consistent(ledger).await;
}

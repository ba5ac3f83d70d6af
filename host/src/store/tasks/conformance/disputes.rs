//! The conformance tests of bill disputes and credit lines: a dispute
//! decided once however many decisions race, and holds below zero within
//! a credit line and no further.

use super::*;

/// An open dispute of `ACCOUNT`'s bill of 2026-11.
pub(crate) fn dispute() -> Dispute {
    Dispute {
        id: crate::ids::new("dsp"),
        account_id: ACCOUNT.to_string(),
        month: "2026-11".into(),
        reason: "charged twice".into(),
        status: DisputeStatus::Open,
        credits_returned: 0,
        resolution: None,
        created_at: crate::time::now_rfc3339(),
        decided_at: None,
        entry_id: None,
    }
}

pub(crate) async fn a_dispute_is_decided_once_however_many_decisions_race(
    _tasks: Arc<dyn TaskStore>,
    ledger: Arc<dyn LedgerStore>,
) {
    topup(&*ledger, 50).await;
    let (resolved, rejected) = (dispute(), dispute());
    ledger.file_dispute(&resolved).await.unwrap();
    ledger.file_dispute(&rejected).await.unwrap();
    assert_eq!(
        ledger
            .disputes(Some(DisputeStatus::Open), None)
            .await
            .unwrap()
            .len(),
        2
    );

    // 16 operators resolve one dispute at once, each giving 30 back.
    let racers: Vec<_> = (0..16)
        .map(|i| {
            let (ledger, id) = (ledger.clone(), resolved.id.clone());
            tokio::spawn(async move {
                let note = format!("operator {i}");
                let decision = Decision {
                    resolve: true,
                    credits: 30,
                    note: &note,
                    actor: "admin",
                    entry_reason: "dispute",
                };
                ledger.decide_dispute(&id, decision).await
            })
        })
        .collect();
    let mut won = Vec::new();
    for racer in racers {
        match racer.await.unwrap() {
            Ok(d) => won.push(d),
            Err(DisputeError::Decided) => {}
            Err(e) => panic!("unexpected {e}"),
        }
    }
    assert_eq!(won.len(), 1, "one decision lands");
    let decided = ledger.dispute(&resolved.id).await.unwrap().unwrap();
    assert_eq!(decided, won[0]);
    assert_eq!(decided.status, DisputeStatus::Resolved);
    assert_eq!(decided.credits_returned, 30);
    assert_eq!(
        ledger.balance(ACCOUNT).await.unwrap().balance,
        80,
        "credited once"
    );
    let (entries, _) = ledger.entries(ACCOUNT, None, 100).await.unwrap();
    let adjustments: Vec<&Entry> = entries
        .iter()
        .filter(|e| e.kind == EntryKind::Adjustment)
        .collect();
    assert_eq!(adjustments.len(), 1);
    assert_eq!(adjustments[0].amount, 30);
    assert_eq!(
        decided.entry_id.as_deref(),
        Some(adjustments[0].id.as_str())
    );

    // A rejection gives nothing back; a decided dispute stays decided.
    let reject = Decision {
        resolve: false,
        credits: 0,
        note: "no double charge found",
        actor: "admin",
        entry_reason: "dispute",
    };
    let d = ledger.decide_dispute(&rejected.id, reject).await.unwrap();
    assert_eq!((d.status, d.entry_id), (DisputeStatus::Rejected, None));
    assert!(matches!(
        ledger.decide_dispute(&rejected.id, reject).await,
        Err(DisputeError::Decided)
    ));
    assert!(matches!(
        ledger.decide_dispute("dsp_missing", reject).await,
        Err(DisputeError::NotFound)
    ));
    assert_eq!(ledger.balance(ACCOUNT).await.unwrap().balance, 80);
    assert!(
        ledger
            .disputes(Some(DisputeStatus::Open), None)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(ledger.disputes(None, Some(ACCOUNT)).await.unwrap().len(), 2);
    assert!(
        ledger
            .disputes(None, Some("acct_other"))
            .await
            .unwrap()
            .is_empty()
    );
}

pub(crate) async fn a_credit_line_lets_holds_go_below_zero_and_no_further(
    tasks: Arc<dyn TaskStore>,
    ledger: Arc<dyn LedgerStore>,
) {
    topup(&*ledger, 100).await;
    assert!(ledger.owing().await.unwrap().is_empty());
    // 100 owned and a line of 250: 350 to spend, so 11 holds of 30 fit
    // (330) and no more, however they race.
    let handles: Vec<_> = (0..20)
        .map(|_| {
            let tasks = tasks.clone();
            tokio::spawn(async move {
                let mut t = task(ACCOUNT);
                match tasks.create_task(&mut t, on_credit(30, "key_a", 250)).await {
                    Ok(()) => Some(t),
                    Err(TaskStoreError::Ledger(LedgerError::Insufficient { .. })) => None,
                    Err(e) => panic!("{e}"),
                }
            })
        })
        .collect();
    let mut placed = Vec::new();
    for h in handles {
        placed.extend(h.await.unwrap());
    }
    assert_eq!(
        placed.len(),
        11,
        "holds fit within the balance plus the line"
    );
    let b = ledger.balance(ACCOUNT).await.unwrap();
    assert_eq!((b.balance, b.held, b.spendable(250)), (100, 330, 20));
    for t in placed {
        let mut t = finished(t, Status::Succeeded);
        tasks.finish_task(&mut t, Settle::Capture).await.unwrap();
    }
    assert_within(&*ledger, 250).await;
    let b = ledger.balance(ACCOUNT).await.unwrap();
    assert_eq!(
        (b.balance, b.held, b.due()),
        (-230, 0, 230),
        "captured into debt"
    );
    let owing = ledger.owing().await.unwrap();
    assert_eq!(owing.len(), 1);
    assert_eq!((owing[0].0.as_str(), owing[0].1.balance), (ACCOUNT, -230));

    // Without the line, nothing more can be held.
    let mut t = task(ACCOUNT);
    let refused = tasks.create_task(&mut t, billed(1, "key_a")).await;
    assert!(
        matches!(
            refused,
            Err(TaskStoreError::Ledger(LedgerError::Insufficient {
                needed: 1,
                available: -230
            }))
        ),
        "{refused:?}"
    );
    // A correction never deepens a debt, but may reduce it; a forfeit
    // leaves a debt owed.
    let deeper = ledger.adjust(ACCOUNT, -1, "admin", "fee").await;
    assert!(
        matches!(deeper, Err(LedgerError::WouldGoNegative { .. })),
        "{deeper:?}"
    );
    let eased = ledger
        .adjust(ACCOUNT, 30, "admin", "goodwill")
        .await
        .unwrap();
    assert_eq!(eased.balance_after, -200);
    assert!(
        ledger
            .forfeit(ACCOUNT, "admin", "closed")
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(ledger.balance(ACCOUNT).await.unwrap().balance, -200);

    // Paying what is owed takes the account off the list of debtors.
    topup(&*ledger, 150).await;
    assert_eq!(ledger.owing().await.unwrap()[0].1.balance, -50);
    let paid = topup(&*ledger, 60).await;
    assert_eq!(paid.balance_after, 10);
    assert!(ledger.owing().await.unwrap().is_empty(), "paid");
    assert_within(&*ledger, 250).await;
}

//! Credit lines: an account spends below zero within its line and no
//! further; what it owes is on its statement; still owed after the grace
//! days, the account is suspended, and a payment lifts the suspension.

use std::time::{Duration, Instant};

use imini_tests::{Gateway, TestAccount, assert_error, assert_reconciles, this_month};
use serde_json::{Value, json};

/// Asks for `n` images of 10 credits each.
fn image(gw: &Gateway, who: &TestAccount, n: u32) -> imini_tests::Answer {
    let body = json!({"model": "imini/canvas-image", "prompt": "a paper boat on a pond", "size": "64x64", "n": n});
    gw.request_with(
        "POST",
        "/v1/images/generations",
        Some(&who.key),
        Some(&body),
    )
}

fn act(gw: &Gateway, who: &TestAccount, action: &str, body: Value) -> imini_tests::Answer {
    gw.post(&format!("/admin/v1/accounts/{}/{action}", who.id), &body)
}

fn own_view(gw: &Gateway, who: &TestAccount) -> Value {
    gw.request_with("GET", "/v1/account", Some(&who.key), None)
        .json()
}

#[test]
fn a_credit_line_lets_an_account_spend_below_zero_and_no_further() {
    let gw = Gateway::start();
    let acct = gw.account("lined@example.com", 5);
    assert_error(&image(&gw, &acct, 1), 402, "INSUFFICIENT_CREDITS");

    // Bad input changes nothing.
    for body in [
        json!({}),
        json!({"credit_line": -1}),
        json!({"credit_line": "lots"}),
        json!({"credit_line": 1_000_000_000_000_001_i64}),
    ] {
        let refused = act(&gw, &acct, "credit_line", body.clone());
        assert_eq!(refused.status, 400, "{body}");
        assert_eq!(refused.json()["error"]["param"], "credit_line", "{body}");
    }
    assert_eq!(own_view(&gw, &acct)["credit_line"], 0);

    let lent = act(&gw, &acct, "credit_line", json!({"credit_line": 30}));
    assert_eq!(lent.status, 200, "{}", String::from_utf8_lossy(&lent.body));
    assert_eq!(
        (
            &lent.json()["credit_line"],
            &lent.json()["credits_available"]
        ),
        (&json!(30), &json!(35))
    );

    // 20 of 35: the balance goes below zero, and what is owed shows.
    assert_eq!(image(&gw, &acct, 2).status, 200);
    let view = own_view(&gw, &acct);
    assert_eq!(
        (
            &view["credit_balance"],
            &view["credits_available"],
            &view["amount_due"]
        ),
        (&json!(-15), &json!(15), &json!(15))
    );
    let due_by = view["due_by"].as_str().expect("a due date").to_string();
    assert!(due_by.ends_with("T00:00:00Z"), "{due_by}");

    // 20 more would pass the line: refused, nothing held or charged.
    let refused = assert_error(&image(&gw, &acct, 2), 402, "INSUFFICIENT_CREDITS");
    assert!(
        refused["message"]
            .as_str()
            .unwrap()
            .contains("15 are available"),
        "{refused}"
    );
    assert_eq!(own_view(&gw, &acct)["credit_balance"], -15);
    assert_eq!(image(&gw, &acct, 1).status, 200, "10 fit");
    assert_eq!(own_view(&gw, &acct)["credit_balance"], -25);

    // The statement shows the amount due; the owner cannot walk away from it.
    let bill = gw
        .request_with(
            "GET",
            &format!("/v1/account/bills/{}", this_month()),
            Some(&acct.key),
            None,
        )
        .json();
    assert_eq!(
        (
            &bill["closing_balance"],
            &bill["amount_due"],
            &bill["due_by"]
        ),
        (&json!(-25), &json!(25), &json!(due_by))
    );
    let close = gw.request_with("POST", "/v1/account/close", Some(&acct.key), None);
    let closing = assert_error(&close, 409, "CONFLICT");
    assert!(
        closing["message"]
            .as_str()
            .unwrap()
            .contains("owes 25 credits"),
        "{closing}"
    );
    // Amounts past any real one are refused, and a correction may not
    // deepen the debt.
    let huge = act(&gw, &acct, "topup", json!({"credits": i64::MAX}));
    assert_eq!(
        assert_error(&huge, 400, "INVALID_PARAMETER")["param"],
        "credits"
    );
    assert_error(
        &act(
            &gw,
            &acct,
            "adjust",
            json!({"credits": -1, "reason": "fee"}),
        ),
        409,
        "CONFLICT",
    );

    // Ending the credit stops new spending; what is owed stays owed.
    let ended = act(&gw, &acct, "credit_line", json!({"credit_line": 0})).json();
    assert_eq!(
        (
            &ended["credit_line"],
            &ended["amount_due"],
            &ended["credits_available"]
        ),
        (&json!(0), &json!(25), &json!(-25))
    );
    assert_error(&image(&gw, &acct, 1), 402, "INSUFFICIENT_CREDITS");
    let paid = act(&gw, &acct, "topup", json!({"credits": 30})).json();
    assert_eq!(
        (&paid["credit_balance"], &paid["amount_due"]),
        (&json!(5), &json!(0))
    );
    assert!(paid.get("due_by").is_none(), "{paid}");
    assert_reconciles(&gw, &acct.id);
}

/// Waits until the account's status is `status` (an overdue sweep runs at
/// start, beside serving).
fn wait_for_status(gw: &Gateway, account_id: &str, status: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let view = gw.account_view(account_id);
        if view["status"] == status {
            return view;
        }
        assert!(Instant::now() < deadline, "still {}", view["status"]);
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn an_overdue_debt_suspends_the_account_and_a_payment_lifts_it() {
    let mut gw = Gateway::start_with_config("[billing]\noverdue_grace_days = 3\n");
    let acct = gw.account("owing@example.com", 10);
    let other = gw.account("paying@example.com", 100);
    assert_eq!(
        act(&gw, &acct, "credit_line", json!({"credit_line": 50})).status,
        200
    );
    assert_eq!(image(&gw, &acct, 3).status, 200);
    assert_eq!(image(&gw, &other, 1).status, 200);
    assert_eq!(own_view(&gw, &acct)["amount_due"], 20);

    // Before the due date nothing happens, also across a restart.
    gw.restart();
    assert_eq!(gw.account_view(&acct.id)["status"], "active");

    // 40 days on, the month's statement and 3 days of grace are past.
    gw.restart_with_env("IMINI_TEST_CLOCK_OFFSET_SECS", &(40 * 86_400).to_string());
    wait_for_status(&gw, &acct.id, "suspended");
    assert_eq!(
        gw.account_view(&other.id)["status"],
        "active",
        "an account that owes nothing is left alone"
    );
    let refused = assert_error(&image(&gw, &acct, 1), 403, "ACCOUNT_SUSPENDED");
    assert!(
        refused["message"]
            .as_str()
            .unwrap()
            .contains("/v1/account/notices"),
        "{refused}"
    );
    let notices = gw
        .request_with("GET", "/v1/account/notices", Some(&acct.key), None)
        .json()["data"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(notices.len(), 1, "{notices:?}");
    let notice = &notices[0];
    assert_eq!(
        (&notice["action"], &notice["by"], &notice["status"]),
        (
            &json!("account_suspended_overdue"),
            &json!("system"),
            &json!("open")
        )
    );
    let reason = notice["reason"].as_str().unwrap();
    assert!(reason.contains("20 credits owed"), "{reason}");

    // Another sweep (another restart) records no second notice.
    gw.restart();
    wait_for_status(&gw, &acct.id, "suspended");
    let again = gw
        .request_with("GET", "/v1/account/notices", Some(&acct.key), None)
        .json();
    assert_eq!(again["data"].as_array().unwrap().len(), 1);

    // A payment that leaves part of the debt owed lifts nothing.
    let part = act(&gw, &acct, "topup", json!({"credits": 15})).json();
    assert_eq!(
        (&part["status"], &part["amount_due"]),
        (&json!("suspended"), &json!(5))
    );
    // One that covers the balance lifts the suspension at once.
    let paid = act(&gw, &acct, "topup", json!({"credits": 10})).json();
    assert_eq!(
        (
            &paid["status"],
            &paid["credit_balance"],
            &paid["amount_due"]
        ),
        (&json!("active"), &json!(5), &json!(0))
    );
    let notices = gw
        .request_with("GET", "/v1/account/notices", Some(&acct.key), None)
        .json();
    assert_eq!(notices["data"][0]["status"], "paid");
    assert_eq!(image(&gw, &acct, 1).status, 200, "serving again");

    let audit = gw
        .get(&format!("/admin/v1/audit?account_id={}", acct.id))
        .json();
    let actions: Vec<&str> = audit["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    assert!(
        actions.contains(&"account.suspended_overdue") && actions.contains(&"account.overdue_paid"),
        "{actions:?}"
    );
    assert_reconciles(&gw, &acct.id);
}

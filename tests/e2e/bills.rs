//! Usage, monthly bills that reconcile with the ledger, and disputes.

use imini_tests::{Gateway, assert_error, assert_reconciles, guests, this_month};
use serde_json::json;

#[test]
fn a_month_of_topups_charges_refunds_and_an_adjustment_reconciles() {
    let config = format!(
        "[[plugins]]\nwasm = {:?}\nmanifest = {:?}\n[credentials.sandbox-test]\nvalue = \"t\"\n[prices.\"test/trap\"]\nper_image = 7\n",
        guests::SANDBOX_GUEST_WASM,
        guests::SANDBOX_GUEST_MANIFEST
    );
    let gw = Gateway::start_with_config(&config);
    let acct = gw.account("bills@example.com", 500);
    let admin = |action: &str, body: serde_json::Value| {
        gw.post(&format!("/admin/v1/accounts/{}/{action}", acct.id), &body)
    };
    let generate = |model: &str, n: u32| {
        gw.request_with(
            "POST",
            "/v1/images/generations",
            Some(&acct.key),
            Some(&json!({"model": model, "prompt": "x", "size": "64x64", "n": n})),
        )
    };
    assert_eq!(generate("imini/canvas-image", 2).status, 200);
    assert_eq!(generate("imini/canvas-image", 1).status, 200);
    assert_eq!(
        generate("test/trap", 1).status,
        502,
        "a failed task is not charged"
    );
    assert_eq!(admin("topup", json!({"credits": 100})).status, 200);
    assert_eq!(
        admin("refund", json!({"credits": 10, "reason": "blurry output"})).status,
        200
    );
    assert_eq!(
        admin(
            "adjust",
            json!({"credits": -5, "reason": "manual correction"})
        )
        .status,
        200
    );

    let month = this_month();
    let bill = gw
        .request_with(
            "GET",
            &format!("/v1/account/bills/{month}"),
            Some(&acct.key),
            None,
        )
        .json();
    assert_eq!(bill["object"], "bill");
    assert_eq!(bill["opening_balance"], 0);
    assert_eq!(bill["topups"], 600);
    assert_eq!(bill["charges_total"], 30);
    assert_eq!(
        bill["charges"],
        json!([{"model": "imini/canvas-image", "tasks": 2, "credits": 30}])
    );
    assert_eq!(bill["refunds"], 10);
    assert_eq!(bill["adjustments"], -5);
    assert_eq!(bill["forfeited"], 0);
    let closing = bill["closing_balance"].as_i64().unwrap();
    assert_eq!(closing, 600 - 30 + 10 - 5);
    let (balance, _) = assert_reconciles(&gw, &acct.id);
    assert_eq!(closing, balance, "the bill closes on the ledger's balance");

    let old = gw
        .request_with("GET", "/v1/account/bills/2020-01", Some(&acct.key), None)
        .json();
    assert_eq!(
        (
            old["opening_balance"].as_i64(),
            old["closing_balance"].as_i64(),
            old["topups"].as_i64()
        ),
        (Some(0), Some(0), Some(0))
    );
    assert_error(
        &gw.request_with("GET", "/v1/account/bills/2026-13", Some(&acct.key), None),
        400,
        "INVALID_PARAMETER",
    );

    let by_key = gw
        .request_with(
            "GET",
            "/v1/account/usage?group_by=key",
            Some(&acct.key),
            None,
        )
        .json();
    assert_eq!(
        by_key["data"],
        json!([{"key_id": acct.key_id, "tasks": 2, "credits": 30}])
    );
    let by_day = gw
        .request_with(
            "GET",
            "/v1/account/usage?group_by=day",
            Some(&acct.key),
            None,
        )
        .json();
    assert_eq!(by_day["data"].as_array().unwrap().len(), 1);
    assert_eq!(by_day["data"][0]["credits"], 30);
    let by_model = gw
        .request_with("GET", "/v1/account/usage", Some(&acct.key), None)
        .json();
    assert_eq!(by_model["data"][0]["model"], "imini/canvas-image");
    let none = gw
        .request_with(
            "GET",
            "/v1/account/usage?start=2020-01-01&end=2020-02-01",
            Some(&acct.key),
            None,
        )
        .json();
    assert_eq!(none["data"], json!([]));
    assert_error(
        &gw.request_with(
            "GET",
            "/v1/account/usage?group_by=planet",
            Some(&acct.key),
            None,
        ),
        400,
        "INVALID_PARAMETER",
    );
}

#[test]
fn disputes_are_filed_within_thirty_days_and_resolved_with_an_adjustment() {
    let gw = Gateway::start();
    let acct = gw.account("dispute@example.com", 100);
    let month = this_month();
    let filed = gw.request_with(
        "POST",
        &format!("/v1/account/bills/{month}/disputes"),
        Some(&acct.key),
        Some(&json!({"reason": "charged for a failed image"})),
    );
    assert_eq!(
        filed.status,
        201,
        "{}",
        String::from_utf8_lossy(&filed.body)
    );
    let dispute = filed.json();
    assert_eq!(dispute["status"], "open");
    let late = gw.request_with(
        "POST",
        "/v1/account/bills/2020-01/disputes",
        Some(&acct.key),
        Some(&json!({"reason": "old"})),
    );
    assert_error(&late, 409, "CONFLICT");

    let open = gw.get("/admin/v1/disputes?status=open").json();
    assert_eq!(open["data"].as_array().unwrap().len(), 1);
    let id = dispute["id"].as_str().unwrap();
    let resolved = gw.post(
        &format!("/admin/v1/disputes/{id}/resolve"),
        &json!({"credits": 10, "note": "confirmed"}),
    );
    assert_eq!(resolved.status, 200);
    assert_eq!(resolved.json()["status"], "resolved");
    assert_error(
        &gw.post(&format!("/admin/v1/disputes/{id}/reject"), &json!({})),
        409,
        "CONFLICT",
    );
    let entries = gw.ledger(&acct.id);
    let last = entries.last().unwrap();
    assert_eq!(
        (last["type"].as_str(), last["amount"].as_i64()),
        (Some("adjustment"), Some(10))
    );
    assert!(last["reason"].as_str().unwrap().contains(id));
    assert_eq!(assert_reconciles(&gw, &acct.id), (110, 0));
    assert_error(
        &gw.request_with("GET", "/admin/v1/disputes", Some(&acct.key), None),
        403,
        "PERMISSION_DENIED",
    );
}

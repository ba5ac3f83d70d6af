//! Accounts, credits and the ledger as the tests check them: an account
//! with a key, its ledger and tasks, and the assertions that a task was
//! charged once, refunded, or that the ledger reconciles.

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::Gateway;

/// An account made through the admin API, with a key.
#[derive(Debug, Clone)]
pub struct TestAccount {
    /// `acct_…`.
    pub id: String,
    /// `key_…`.
    pub key_id: String,
    /// The key's secret.
    pub key: String,
}

impl Gateway {
    /// Creates an account with `credits` and one key.
    pub fn account(&self, email: &str, credits: i64) -> TestAccount {
        let created = self.post("/admin/v1/accounts", &serde_json::json!({ "email": email }));
        assert_eq!(
            created.status,
            201,
            "{}",
            String::from_utf8_lossy(&created.body)
        );
        let id = created.json()["id"]
            .as_str()
            .expect("account id")
            .to_string();
        if credits > 0 {
            let topup = self.post(
                &format!("/admin/v1/accounts/{id}/topup"),
                &serde_json::json!({ "credits": credits }),
            );
            assert_eq!(
                topup.status,
                200,
                "{}",
                String::from_utf8_lossy(&topup.body)
            );
        }
        let key = self.post(
            &format!("/admin/v1/accounts/{id}/keys"),
            &serde_json::json!({ "name": "test" }),
        );
        assert_eq!(key.status, 201, "{}", String::from_utf8_lossy(&key.body));
        let key = key.json();
        TestAccount {
            id,
            key_id: key["id"].as_str().expect("key id").to_string(),
            key: key["secret"].as_str().expect("secret").to_string(),
        }
    }

    /// Every ledger entry of an account (admin view), oldest first.
    pub fn ledger(&self, account_id: &str) -> Vec<Value> {
        let mut entries = Vec::new();
        let mut after = String::new();
        loop {
            let path = format!("/admin/v1/accounts/{account_id}/ledger?limit=1000{after}");
            let page = self.get(&path).json();
            entries.extend(page["data"].as_array().expect("entries").iter().cloned());
            if page["has_more"] != true {
                return entries;
            }
            after = format!("&after={}", page["last_id"].as_str().expect("last id"));
        }
    }

    /// Submits a native image generation (`POST /v1/images/generate`) with
    /// `key`, asserts it was accepted (202) and returns its task id.
    pub fn submit_image(&self, key: &str, body: &Value) -> String {
        let answer = self.request_with("POST", "/v1/images/generate", Some(key), Some(body));
        assert_eq!(
            answer.status,
            202,
            "{}",
            String::from_utf8_lossy(&answer.body)
        );
        answer.json()["task_id"]
            .as_str()
            .expect("a task id")
            .to_string()
    }

    /// Every task an API key's account can see, newest first (all pages
    /// of `GET /v1/tasks`).
    pub fn tasks(&self, key: &str) -> Vec<Value> {
        let mut tasks = Vec::new();
        let mut after = String::new();
        loop {
            let path = format!("/v1/tasks?limit=100{after}");
            let page = self.request_with("GET", &path, Some(key), None).json();
            tasks.extend(page["data"].as_array().expect("tasks").iter().cloned());
            if page["has_more"] != true {
                return tasks;
            }
            after = format!("&after={}", page["last_id"].as_str().expect("last id"));
        }
    }

    /// The account's tasks once every one has reached `status` (or as they
    /// are after 30 s, for the caller's assertion to show).
    pub fn tasks_when_all(&self, key: &str, status: &str) -> Vec<Value> {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let tasks = self.tasks(key);
            if tasks.iter().all(|t| t["status"] == status) || Instant::now() > deadline {
                return tasks;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// An account's admin view.
    pub fn account_view(&self, account_id: &str) -> Value {
        self.get(&format!("/admin/v1/accounts/{account_id}")).json()
    }
}

/// Checks that an account's ledger reconciles with its cached totals: the
/// amounts sum to the balance, the held changes to the held credits, no
/// task was captured twice; returns the (balance, held).
pub fn assert_reconciles(gw: &Gateway, account_id: &str) -> (i64, i64) {
    let entries = gw.ledger(account_id);
    let view = gw.account_view(account_id);
    let sum: i64 = entries.iter().map(|e| e["amount"].as_i64().unwrap()).sum();
    let held: i64 = entries
        .iter()
        .map(|e| e["held_change"].as_i64().unwrap())
        .sum();
    assert_eq!(
        sum,
        view["credit_balance"].as_i64().unwrap(),
        "entries sum to the balance"
    );
    assert_eq!(
        held,
        view["credits_held"].as_i64().unwrap(),
        "held changes sum to the held credits"
    );
    assert!(
        view["credit_balance"].as_i64().unwrap() >= -view["credit_line"].as_i64().unwrap(),
        "balance never below the credit line"
    );
    let mut settled = std::collections::HashMap::new();
    for e in &entries {
        if e["type"] == "capture" || e["type"] == "release" {
            *settled
                .entry(e["task_id"].as_str().unwrap().to_string())
                .or_insert(0) += 1;
        }
    }
    assert!(
        settled.values().all(|n| *n == 1),
        "every hold is settled at most once: {settled:?}"
    );
    (sum, held)
}

/// The ledger entries of one task, as (type, amount, held_change).
pub fn task_entries(gw: &Gateway, account: &str, task_id: &str) -> Vec<(String, i64, i64)> {
    gw.ledger(account)
        .iter()
        .filter(|e| e["task_id"] == task_id)
        .map(|e| {
            (
                e["type"].as_str().unwrap().to_string(),
                e["amount"].as_i64().unwrap(),
                e["held_change"].as_i64().unwrap(),
            )
        })
        .collect()
}

/// Asserts that a finished task view lists exactly `expected` outputs, and
/// that each one's URL serves exactly those bytes to the owner's `key`.
pub fn assert_outputs_served(gw: &Gateway, key: &str, view: &Value, expected: &[Vec<u8>]) {
    let outputs = view["images"]
        .as_array()
        .expect("the task lists its images");
    assert_eq!(outputs.len(), expected.len(), "{view}");
    for (output, bytes) in outputs.iter().zip(expected) {
        let url = output["url"].as_str().expect("an output URL");
        let file = gw.request_with("GET", url, Some(key), None);
        assert_eq!(file.status, 200, "{url}");
        assert!(&file.body == bytes, "{url} serves the provider's bytes");
    }
}

/// Asserts that task `task_id` held `price` credits once and that the hold
/// was captured once: it was charged exactly once.
pub fn assert_charged_once(gw: &Gateway, account: &str, task_id: &str, price: i64) {
    assert_eq!(
        task_entries(gw, account, task_id),
        [
            ("hold".to_string(), 0, price),
            ("capture".to_string(), -price, -price)
        ],
        "one hold of {price}, captured once"
    );
}

/// Asserts that task `task_id` held `price` credits once and that the hold
/// was released: nothing was charged.
pub fn assert_refunded(gw: &Gateway, account: &str, task_id: &str, price: i64) {
    assert_eq!(
        task_entries(gw, account, task_id),
        [
            ("hold".to_string(), 0, price),
            ("release".to_string(), 0, -price)
        ],
        "one hold of {price}, released"
    );
}

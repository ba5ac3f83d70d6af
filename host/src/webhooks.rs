//! Webhooks: `task.succeeded`, `task.failed` and `task.canceled` events,
//! signed per Standard Webhooks 1.0, persisted, delivered in the background
//! with retries and backoff, and never sent to loopback, private or
//! link-local addresses unless the operator allows it.
//!
//! Signing: `webhook-signature: v1,<base64(HMAC-SHA256(key, "{id}.{ts}.{body}"))>`
//! where the key is the base64 part of the account's `whsec_…` secret.
//!
//! Storage: the deliveries by id, plus two indexes so that neither the
//! sender nor a listing reads every delivery ever made: pending deliveries
//! by when they are due (`{at:012}/{id}`), and deliveries by account
//! (`{account}/{created_at}/{id}`). An index entry is written before its
//! delivery and removed after it, so a crash (sled recovers a prefix of its
//! writes) can leave an entry whose delivery is gone or settled, which is
//! skipped and removed, but never a pending delivery that is not due.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::store::{Store, StoreError, Table};
use crate::time::{now_rfc3339, now_unix};

/// Delivery attempts before giving up, and the wait before each retry.
const BACKOFF_SECS: [i64; 7] = [1, 5, 30, 120, 600, 1800, 3600];

/// Deliveries sent at once: a slow or silent receiver holds one of these
/// slots until its timeout, not the deliveries behind it.
pub const MAX_IN_FLIGHT: usize = 16;

/// Webhook failures at submission time.
#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    /// The URL cannot be used.
    #[error("{0}")]
    InvalidUrl(String),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The HTTP client could not be built.
    #[error("webhook client: {0}")]
    Client(#[from] reqwest::Error),
}

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DeliveryStatus {
    /// Waiting for its next attempt.
    Pending,
    /// The receiver answered 2xx.
    Delivered,
    /// Every attempt failed.
    Failed,
}

/// One event to one URL.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Delivery {
    /// `evt_…`, also the `webhook-id`.
    pub id: String,
    /// The account.
    pub account_id: String,
    /// The task.
    pub task_id: String,
    /// `task.succeeded`, `task.failed`, `task.canceled`.
    pub event: String,
    /// Where.
    pub url: String,
    /// The JSON body sent.
    pub body: String,
    /// Where it stands.
    pub status: DeliveryStatus,
    /// Attempts so far.
    pub attempts: u32,
    /// When the next attempt is due (unix seconds).
    pub next_attempt_at: i64,
    /// The last failure.
    pub last_error: Option<String>,
    /// When it was created.
    pub created_at: String,
}

/// Webhook settings.
#[derive(Debug, Clone, Copy, Default)]
pub struct WebhookPolicy {
    /// Allow loopback, private and link-local receivers (tests, on-premise).
    pub allow_private: bool,
}

/// The webhook store and sender.
pub struct Webhooks {
    table: Table,
    due: Table,
    by_account: Table,
    client: reqwest::Client,
    policy: WebhookPolicy,
    wake: tokio::sync::Notify,
}

/// A new `whsec_…` secret.
pub fn new_secret() -> String {
    format!("whsec_{}", B64.encode(rand::random::<[u8; 24]>()))
}

/// The Standard Webhooks signature header value of `body`.
pub fn sign(secret: &str, id: &str, timestamp: i64, body: &str) -> String {
    let key = B64
        .decode(secret.trim_start_matches("whsec_"))
        .unwrap_or_default();
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).expect("HMAC takes any key length");
    mac.update(format!("{id}.{timestamp}.{body}").as_bytes());
    format!("v1,{}", B64.encode(mac.finalize().into_bytes()))
}

fn due_key(at: i64, id: &str) -> String {
    format!("{:012}/{id}", at.max(0))
}

fn account_key(d: &Delivery) -> String {
    format!("{}/{}/{}", d.account_id, d.created_at, d.id)
}

impl Webhooks {
    /// The deliveries and their indexes in `store`.
    pub fn new(store: &Store, policy: WebhookPolicy) -> Result<Arc<Self>, WebhookError> {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .timeout(Duration::from_secs(15))
            .user_agent(concat!("imini-webhooks/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Arc::new(Self {
            table: store.table("webhooks")?,
            due: store.table("webhooks_due")?,
            by_account: store.table("webhooks_by_account")?,
            client,
            policy,
            wake: tokio::sync::Notify::new(),
        }))
    }

    /// Builds the indexes if this data directory has none complete yet (it
    /// predates them, or a build was cut off), then marks them complete.
    /// Returns how many deliveries were indexed. Call before serving.
    pub async fn index(&self) -> Result<usize, StoreError> {
        // The due index holds the completeness record of both.
        self.table
            .index_once(&self.due, |_, d: Delivery| {
                if d.status == DeliveryStatus::Pending {
                    self.due
                        .put_unflushed(&due_key(d.next_attempt_at, &d.id), &())?;
                }
                self.by_account.put_unflushed(&account_key(&d), &())
            })
            .await
    }

    /// Checks that a receiver URL is allowed (see [`crate::net`]).
    pub async fn check_url(&self, url: &str) -> Result<(), WebhookError> {
        crate::net::check_public_url(url, self.policy.allow_private)
            .await
            .map(|_| ())
            .map_err(|m| WebhookError::InvalidUrl(format!("webhook URL: {m}")))
    }

    /// Records the event of a finished task for `url` (once: the id is
    /// derived from the task and the URL) and wakes the sender.
    pub async fn enqueue(
        &self,
        account_id: &str,
        task_id: &str,
        event: &str,
        url: &str,
        data: serde_json::Value,
    ) -> Result<(), StoreError> {
        let digest = crate::ids::hex(&<Sha256 as sha2::Digest>::digest(
            format!("{task_id}\0{url}").as_bytes(),
        ));
        let id = format!("evt_{}", &digest[..32]);
        if self.table.get::<Delivery>(&id)?.is_some() {
            return Ok(());
        }
        let body = serde_json::json!({ "type": event, "timestamp": now_rfc3339(), "data": data })
            .to_string();
        let delivery = Delivery {
            id: id.clone(),
            account_id: account_id.to_string(),
            task_id: task_id.to_string(),
            event: event.to_string(),
            url: url.to_string(),
            body,
            status: DeliveryStatus::Pending,
            attempts: 0,
            next_attempt_at: now_unix(),
            last_error: None,
            created_at: now_rfc3339(),
        };
        // The index entries go first: one fsync (the delivery's) covers all.
        self.due
            .put_unflushed(&due_key(delivery.next_attempt_at, &id), &())?;
        self.by_account
            .put_unflushed(&account_key(&delivery), &())?;
        self.table.put(&id, &delivery).await?;
        self.wake.notify_one();
        Ok(())
    }

    /// An account's deliveries, newest first.
    pub fn deliveries(&self, account_id: &str, limit: usize) -> Result<Vec<Delivery>, StoreError> {
        let mut out = Vec::new();
        for key in self.by_account.keys_rev(&format!("{account_id}/"), None) {
            let key = key?;
            let id = key.rsplit('/').next().unwrap_or_default();
            if let Some(d) = self.table.get::<Delivery>(id)? {
                out.push(d);
                if out.len() == limit {
                    break;
                }
            }
        }
        Ok(out)
    }

    /// Sends due deliveries, at most [`MAX_IN_FLIGHT`] at once and oldest
    /// due first, until the process ends; `secret_of` gives an account's
    /// signing secret.
    pub async fn run(
        self: Arc<Self>,
        secret_of: impl Fn(&str) -> Option<String> + Send + Sync + 'static,
    ) {
        let mut sending = tokio::task::JoinSet::new();
        // The deliveries being sent, by the task sending each.
        let mut busy = HashMap::new();
        loop {
            let next_due = match self.start_due(&mut sending, &mut busy, &secret_of) {
                Ok(next) => next,
                Err(e) => {
                    tracing::error!(error = %e, "could not read the due webhook deliveries");
                    Some(now_unix() + 1)
                }
            };
            let wait = next_due.map_or(Duration::from_secs(3600), |t| {
                Duration::from_secs((t - now_unix()).clamp(0, 3600) as u64)
            });
            tokio::select! {
                Some(done) = sending.join_next_with_id(), if !sending.is_empty() => {
                    let task = match done {
                        Ok((task, ())) => task,
                        Err(e) => {
                            // Its delivery stays due and is tried again.
                            tracing::error!(error = %e, "a webhook attempt panicked");
                            e.id()
                        }
                    };
                    busy.remove(&task);
                }
                () = self.wake.notified() => {}
                () = tokio::time::sleep(wait.max(Duration::from_millis(50))) => {}
            }
        }
    }

    /// Starts the due deliveries that fit in the free slots. Returns when
    /// the next one not yet due is due, if it was reached.
    fn start_due(
        self: &Arc<Self>,
        sending: &mut tokio::task::JoinSet<()>,
        busy: &mut HashMap<tokio::task::Id, String>,
        secret_of: &(dyn Fn(&str) -> Option<String> + Send + Sync),
    ) -> Result<Option<i64>, StoreError> {
        let now = now_unix();
        let mut stale = Vec::new();
        let mut next_due = None;
        // Due times are digits; the completeness record (`!complete`) sorts
        // before them.
        for item in self.due.scan_from::<()>("0", "") {
            let (key, ()) = item?;
            let Some((at, id)) = key
                .split_once('/')
                .and_then(|(at, id)| Some((at.parse::<i64>().ok()?, id)))
            else {
                stale.push(key);
                continue;
            };
            if at > now {
                next_due = Some(at);
                break;
            }
            if busy.values().any(|b| b == id) {
                continue;
            }
            if busy.len() >= MAX_IN_FLIGHT {
                break;
            }
            match self.table.get::<Delivery>(id)? {
                Some(d) if d.status == DeliveryStatus::Pending && d.next_attempt_at == at => {
                    let secret = secret_of(&d.account_id);
                    let id = d.id.clone();
                    let this = self.clone();
                    let task = sending.spawn(async move {
                        if let Err(e) = this.attempt(d, secret).await {
                            tracing::error!(error = %e, "could not record a webhook attempt");
                        }
                    });
                    busy.insert(task.id(), id);
                }
                // Left by a crash between writes: the delivery was never
                // stored, or it was settled or rescheduled.
                _ => stale.push(key),
            }
        }
        for key in stale {
            self.due.remove_unflushed(&key)?;
        }
        Ok(next_due)
    }

    async fn attempt(&self, mut d: Delivery, secret: Option<String>) -> Result<(), StoreError> {
        let was_due = due_key(d.next_attempt_at, &d.id);
        d.attempts += 1;
        let result = match secret {
            None => Err("the account has no webhook secret".to_string()),
            Some(secret) => match self.check_url(&d.url).await {
                Err(e) => Err(e.to_string()),
                Ok(()) => {
                    let timestamp = now_unix();
                    let signature = sign(&secret, &d.id, timestamp, &d.body);
                    self.client
                        .post(&d.url)
                        .header("content-type", "application/json")
                        .header("webhook-id", &d.id)
                        .header("webhook-timestamp", timestamp.to_string())
                        .header("webhook-signature", signature)
                        .body(d.body.clone())
                        .send()
                        .await
                        .map_err(|e| e.without_url().to_string())
                        .and_then(|r| {
                            if r.status().is_success() {
                                Ok(())
                            } else {
                                Err(format!("the receiver answered {}", r.status()))
                            }
                        })
                }
            },
        };
        match result {
            Ok(()) => {
                d.status = DeliveryStatus::Delivered;
                d.last_error = None;
            }
            Err(e) => {
                tracing::info!(delivery = %d.id, attempt = d.attempts, error = %e, "webhook delivery failed");
                d.last_error = Some(e);
                match BACKOFF_SECS.get(d.attempts as usize - 1) {
                    Some(wait) => d.next_attempt_at = now_unix() + wait,
                    None => d.status = DeliveryStatus::Failed,
                }
            }
        }
        // The new due entry before the delivery, the old one removed after;
        // one fsync for the three.
        if d.status == DeliveryStatus::Pending {
            self.due
                .put_unflushed(&due_key(d.next_attempt_at, &d.id), &())?;
        }
        self.table.put_unflushed(&d.id, &d)?;
        self.due.remove_unflushed(&was_due)?;
        self.table.flush().await
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;

    /// A receiver on loopback that counts the deliveries it gets: it answers
    /// 204 to each, or, `silent`, holds the connection open and never answers.
    async fn receiver(silent: bool) -> (String, Arc<AtomicUsize>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let count = Arc::new(AtomicUsize::new(0));
        let counted = count.clone();
        tokio::spawn(async move {
            while let Ok((mut conn, _)) = listener.accept().await {
                let counted = counted.clone();
                tokio::spawn(async move {
                    let mut buf = vec![0; 64 << 10];
                    let mut read = 0;
                    // The request line and headers, then the body.
                    loop {
                        let Ok(n) = conn.read(&mut buf[read..]).await else {
                            return;
                        };
                        if n == 0 {
                            return;
                        }
                        read += n;
                        let text = String::from_utf8_lossy(&buf[..read]).to_string();
                        if let Some(end) = text.find("\r\n\r\n") {
                            let length = text[..end]
                                .lines()
                                .find_map(|l| {
                                    l.to_ascii_lowercase()
                                        .strip_prefix("content-length:")
                                        .map(|v| v.trim().parse::<usize>().unwrap())
                                })
                                .unwrap_or(0);
                            if read >= end + 4 + length {
                                break;
                            }
                        }
                    }
                    counted.fetch_add(1, Ordering::SeqCst);
                    if silent {
                        std::future::pending::<()>().await;
                    }
                    let _ = conn
                        .write_all(b"HTTP/1.1 204 No Content\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                        .await;
                });
            }
        });
        (url, count)
    }

    fn webhooks(dir: &std::path::Path) -> (Store, Arc<Webhooks>) {
        let store = Store::open(dir).unwrap();
        let policy = WebhookPolicy {
            allow_private: true,
        };
        let webhooks = Webhooks::new(&store, policy).unwrap();
        (store, webhooks)
    }

    async fn until(what: &str, mut done: impl FnMut() -> bool) {
        let started = std::time::Instant::now();
        while !done() {
            assert!(
                started.elapsed() < Duration::from_secs(5),
                "{what}: not within 5 s"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    fn status_of(webhooks: &Webhooks, account: &str, task: &str) -> Option<DeliveryStatus> {
        webhooks
            .deliveries(account, 100)
            .unwrap()
            .into_iter()
            .find(|d| d.task_id == task)
            .map(|d| d.status)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_silent_receiver_does_not_hold_back_the_deliveries_behind_it() {
        let dir = tempfile::tempdir().unwrap();
        let (_store, webhooks) = webhooks(dir.path());
        webhooks.index().await.unwrap();
        let secret = new_secret();
        tokio::spawn(webhooks.clone().run(move |_| Some(secret.clone())));
        // Three receivers that never answer take three of the slots...
        let mut silent = Vec::new();
        for i in 0..3 {
            let (url, count) = receiver(true).await;
            let task = format!("task_silent{i}");
            let data = serde_json::json!({ "id": task });
            webhooks
                .enqueue("acct_a", &task, "task.succeeded", &url, data)
                .await
                .unwrap();
            silent.push(count);
        }
        until("the silent receivers got their deliveries", || {
            silent.iter().all(|c| c.load(Ordering::SeqCst) == 1)
        })
        .await;
        // ...and a delivery made while they hang goes out at once (the
        // client's timeout, 15 s, would otherwise come first).
        let (url, count) = receiver(false).await;
        let data = serde_json::json!({ "id": "task_ok" });
        webhooks
            .enqueue("acct_a", "task_ok", "task.succeeded", &url, data)
            .await
            .unwrap();
        until("the answering receiver's delivery", || {
            status_of(&webhooks, "acct_a", "task_ok") == Some(DeliveryStatus::Delivered)
        })
        .await;
        assert_eq!(count.load(Ordering::SeqCst), 1);
        assert_eq!(
            status_of(&webhooks, "acct_a", "task_silent0"),
            Some(DeliveryStatus::Pending)
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn deliveries_stored_before_the_indexes_are_listed_and_sent() {
        let dir = tempfile::tempdir().unwrap();
        let (url, count) = receiver(false).await;
        let delivery = |task: &str, status, created_at: &str| Delivery {
            id: format!("evt_{task}"),
            account_id: "acct_a".into(),
            task_id: task.into(),
            event: "task.succeeded".into(),
            url: url.clone(),
            body: "{}".into(),
            status,
            attempts: 0,
            next_attempt_at: now_unix() - 10,
            last_error: None,
            created_at: created_at.into(),
        };
        {
            // A data directory from before the indexes: deliveries only.
            let store = Store::open(dir.path()).unwrap();
            let table = store.table("webhooks").unwrap();
            for d in [
                delivery(
                    "task_old",
                    DeliveryStatus::Delivered,
                    "2026-01-01T00:00:00Z",
                ),
                delivery("task_new", DeliveryStatus::Pending, "2026-01-02T00:00:00Z"),
            ] {
                table.put(&d.id, &d).await.unwrap();
            }
            let other = Delivery {
                account_id: "acct_b".into(),
                ..delivery("task_b", DeliveryStatus::Delivered, "2026-01-03T00:00:00Z")
            };
            table.put(&other.id, &other).await.unwrap();
        }
        let (store, webhooks) = webhooks(dir.path());
        assert_eq!(webhooks.index().await.unwrap(), 3);
        assert_eq!(webhooks.index().await.unwrap(), 0, "indexed once");
        let listed: Vec<String> = webhooks
            .deliveries("acct_a", 100)
            .unwrap()
            .into_iter()
            .map(|d| d.task_id)
            .collect();
        assert_eq!(
            listed,
            ["task_new", "task_old"],
            "the account's, newest first"
        );
        // An index entry whose delivery never reached the disk is dropped.
        let due = store.table("webhooks_due").unwrap();
        due.put_unflushed(&due_key(now_unix() - 20, "evt_lost"), &())
            .unwrap();
        tokio::spawn(webhooks.clone().run(|_| Some(new_secret())));
        until("the pending delivery", || {
            status_of(&webhooks, "acct_a", "task_new") == Some(DeliveryStatus::Delivered)
        })
        .await;
        assert_eq!(
            count.load(Ordering::SeqCst),
            1,
            "the delivered one is not sent again"
        );
        let left: Vec<String> = due
            .scan_from::<()>("0", "")
            .map(|item| item.unwrap().0)
            .collect();
        assert!(left.is_empty(), "nothing is due any more: {left:?}");
    }

    #[test]
    fn signatures_match_the_standard_webhooks_example() {
        // The example from the Standard Webhooks specification.
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let id = "msg_p5jXN8AQM9LWM0D4loKWxJek";
        let body = r#"{"test": 2432232314}"#;
        assert_eq!(
            sign(secret, id, 1614265330, body),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }
}

//! Webhooks: `task.succeeded`, `task.failed` and `task.canceled` events,
//! signed per Standard Webhooks 1.0, persisted, delivered in the background
//! with retries and backoff, and never sent to loopback, private or
//! link-local addresses unless the operator allows it.
//!
//! Signing: `webhook-signature: v1,<base64(HMAC-SHA256(key, "{id}.{ts}.{body}"))>`
//! where the key is the base64 part of the account's `whsec_…` secret.
//!
//! The deliveries are kept in a [`WebhookStore`].

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::store::StoreError;
use crate::store::webhooks::WebhookStore;
pub use crate::store::webhooks::{Delivery, DeliveryStatus};
use crate::time::{now_rfc3339, now_unix};

/// Delivery attempts before giving up, and the wait before each retry.
const BACKOFF_SECS: [i64; 7] = [1, 5, 30, 120, 600, 1800, 3600];

/// Deliveries sent at once: a slow or silent receiver holds one of these
/// slots until its timeout, not the deliveries behind it.
pub const MAX_IN_FLIGHT: usize = 16;

/// Gives an account's webhook signing secret, if it has one.
pub type SecretOf = Arc<
    dyn Fn(String) -> std::pin::Pin<Box<dyn std::future::Future<Output = Option<String>> + Send>>
        + Send
        + Sync,
>;

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

/// Webhook settings.
#[derive(Debug, Clone, Copy, Default)]
pub struct WebhookPolicy {
    /// Allow loopback, private and link-local receivers (tests, on-premise).
    pub allow_private: bool,
    /// On a database replicas share, how often to look for deliveries
    /// another replica queued or left (none: only when due or woken).
    pub poll: Option<Duration>,
}

/// How long one attempt may take.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(15);

/// The webhook store and sender.
pub struct Webhooks {
    store: Arc<dyn WebhookStore>,
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

impl Webhooks {
    /// The deliveries kept in `store`.
    pub fn new(
        store: Arc<dyn WebhookStore>,
        policy: WebhookPolicy,
    ) -> Result<Arc<Self>, WebhookError> {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .timeout(ATTEMPT_TIMEOUT)
            .user_agent(concat!("imini-webhooks/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Arc::new(Self {
            store,
            client,
            policy,
            wake: tokio::sync::Notify::new(),
        }))
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
        if self.store.enqueue(&delivery).await? {
            self.wake.notify_one();
        }
        Ok(())
    }

    /// An account's deliveries, newest first.
    pub async fn deliveries(
        &self,
        account_id: &str,
        limit: usize,
    ) -> Result<Vec<Delivery>, StoreError> {
        self.store.deliveries_of(account_id, limit).await
    }

    /// How many deliveries wait to be sent or retried (every replica's).
    pub async fn queue_depth(&self) -> Result<u64, StoreError> {
        self.store.pending().await
    }

    /// Sends due deliveries, at most [`MAX_IN_FLIGHT`] at once and oldest
    /// due first, until the process ends; `secret_of` gives an account's
    /// signing secret.
    pub async fn run(self: Arc<Self>, secret_of: SecretOf) {
        let mut sending = tokio::task::JoinSet::new();
        // The deliveries being sent, by the task sending each.
        let mut busy = HashMap::new();
        loop {
            let next_due = match self.start_due(&mut sending, &mut busy, &secret_of).await {
                Ok(next) => next,
                Err(e) => {
                    tracing::error!(error = %e, "could not read the due webhook deliveries");
                    Some(now_unix() + 1)
                }
            };
            let wait = next_due.map_or(Duration::from_secs(3600), |t| {
                Duration::from_secs((t - now_unix()).clamp(0, 3600) as u64)
            });
            let wait = self.policy.poll.map_or(wait, |poll| wait.min(poll));
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
    async fn start_due(
        self: &Arc<Self>,
        sending: &mut tokio::task::JoinSet<()>,
        busy: &mut HashMap<tokio::task::Id, String>,
        secret_of: &SecretOf,
    ) -> Result<Option<i64>, StoreError> {
        let running: HashSet<String> = busy.values().cloned().collect();
        let free = MAX_IN_FLIGHT.saturating_sub(busy.len());
        let (due, next_due) = self.store.due(now_unix(), free, &running).await?;
        for d in due {
            let secret = secret_of(d.account_id.clone());
            let id = d.id.clone();
            let this = self.clone();
            let task = sending.spawn(async move {
                let secret = secret.await;
                if let Err(e) = this.attempt(d, secret).await {
                    tracing::error!(error = %e, "could not record a webhook attempt");
                }
            });
            busy.insert(task.id(), id);
        }
        Ok(next_due)
    }

    async fn attempt(&self, mut d: Delivery, secret: Option<String>) -> Result<(), StoreError> {
        let was_due_at = d.next_attempt_at;
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
                crate::metrics::metrics().webhook_attempt("delivered");
                d.status = DeliveryStatus::Delivered;
                d.last_error = None;
            }
            Err(e) => {
                tracing::info!(delivery = %d.id, attempt = d.attempts, error = %e, "webhook delivery failed");
                d.last_error = Some(e);
                match BACKOFF_SECS.get(d.attempts as usize - 1) {
                    Some(wait) => {
                        crate::metrics::metrics().webhook_attempt("retrying");
                        d.next_attempt_at = now_unix() + wait;
                    }
                    None => {
                        crate::metrics::metrics().webhook_attempt("failed");
                        d.status = DeliveryStatus::Failed;
                    }
                }
            }
        }
        self.store.record_attempt(&d, was_due_at).await
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

    async fn webhooks(dir: &std::path::Path) -> Arc<Webhooks> {
        let store = crate::store::Store::open(dir).unwrap();
        let deliveries = crate::store::webhooks::EmbeddedWebhooks::open(&store)
            .await
            .unwrap();
        let policy = WebhookPolicy {
            allow_private: true,
            poll: None,
        };
        Webhooks::new(Arc::new(deliveries), policy).unwrap()
    }

    /// Waits for `done`, failing after 12 s: long enough for a loaded
    /// machine, and still shorter than a silent receiver's 15 s timeout,
    /// which a delivery held back behind one would wait out.
    async fn until<F: std::future::Future<Output = bool>>(what: &str, mut done: impl FnMut() -> F) {
        let started = std::time::Instant::now();
        while !done().await {
            assert!(
                started.elapsed() < Duration::from_secs(12),
                "{what}: not within 12 s"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    async fn status_of(webhooks: &Webhooks, account: &str, task: &str) -> Option<DeliveryStatus> {
        webhooks
            .deliveries(account, 100)
            .await
            .unwrap()
            .into_iter()
            .find(|d| d.task_id == task)
            .map(|d| d.status)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_silent_receiver_does_not_hold_back_the_deliveries_behind_it() {
        let dir = tempfile::tempdir().unwrap();
        let webhooks = webhooks(dir.path()).await;
        let secret = new_secret();
        let secret_of: super::SecretOf = Arc::new(move |_| {
            let secret = secret.clone();
            Box::pin(async move { Some(secret) })
        });
        tokio::spawn(webhooks.clone().run(secret_of));
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
        until("the silent receivers got their deliveries", || async {
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
        until("the answering receiver's delivery", || async {
            status_of(&webhooks, "acct_a", "task_ok").await == Some(DeliveryStatus::Delivered)
        })
        .await;
        assert_eq!(count.load(Ordering::SeqCst), 1);
        assert_eq!(
            status_of(&webhooks, "acct_a", "task_silent0").await,
            Some(DeliveryStatus::Pending)
        );
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

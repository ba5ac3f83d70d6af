//! Webhooks: `task.succeeded`, `task.failed` and `task.canceled` events,
//! signed per Standard Webhooks 1.0, persisted, delivered in the background
//! with retries and backoff, and never sent to loopback, private or
//! link-local addresses unless the operator allows it.
//!
//! Signing: `webhook-signature: v1,<base64(HMAC-SHA256(key, "{id}.{ts}.{body}"))>`
//! where the key is the base64 part of the account's `whsec_…` secret.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::store::{StoreError, Table};
use crate::time::{now_rfc3339, now_unix};

/// Delivery attempts before giving up, and the wait before each retry.
const BACKOFF_SECS: [i64; 7] = [1, 5, 30, 120, 600, 1800, 3600];

/// Webhook failures at submission time.
#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    /// The URL cannot be used.
    #[error("{0}")]
    InvalidUrl(String),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
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
    /// The store over `table`.
    pub fn new(table: Table, policy: WebhookPolicy) -> Result<Arc<Self>, reqwest::Error> {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .timeout(Duration::from_secs(15))
            .user_agent(concat!("imini-webhooks/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Arc::new(Self {
            table,
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
        self.table.put(&id, &delivery).await?;
        self.wake.notify_one();
        Ok(())
    }

    /// An account's deliveries, newest first.
    pub fn deliveries(&self, account_id: &str, limit: usize) -> Result<Vec<Delivery>, StoreError> {
        let mut all: Vec<Delivery> = self
            .table
            .scan::<Delivery>()
            .filter_map(|item| item.ok().map(|(_, d)| d))
            .filter(|d| d.account_id == account_id)
            .collect();
        all.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(b.id.cmp(&a.id)));
        all.truncate(limit);
        Ok(all)
    }

    /// Sends due deliveries until the process ends; `secret_of` gives an
    /// account's signing secret.
    pub async fn run(
        self: Arc<Self>,
        secret_of: impl Fn(&str) -> Option<String> + Send + Sync + 'static,
    ) {
        loop {
            let now = now_unix();
            let due: Vec<Delivery> = self
                .table
                .scan::<Delivery>()
                .filter_map(|item| item.ok().map(|(_, d)| d))
                .filter(|d| d.status == DeliveryStatus::Pending && d.next_attempt_at <= now)
                .collect();
            for delivery in due {
                let secret = secret_of(&delivery.account_id);
                if let Err(e) = self.attempt(delivery, secret).await {
                    tracing::error!(error = %e, "could not record a webhook attempt");
                }
            }
            let next = self
                .table
                .scan::<Delivery>()
                .filter_map(|item| item.ok().map(|(_, d)| d))
                .filter(|d| d.status == DeliveryStatus::Pending)
                .map(|d| d.next_attempt_at)
                .min();
            let wait = next.map_or(Duration::from_secs(3600), |t| {
                Duration::from_secs((t - now_unix()).clamp(0, 3600) as u64)
            });
            let _ = tokio::time::timeout(wait.max(Duration::from_millis(50)), self.wake.notified())
                .await;
        }
    }

    async fn attempt(&self, mut d: Delivery, secret: Option<String>) -> Result<(), StoreError> {
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
        self.table.put(&d.id.clone(), &d).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

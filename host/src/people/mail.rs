//! Email to people: links to verify an address, reset a password or accept
//! an invitation, and notices (a login from a new device, a changed
//! password).
//!
//! Behind [`Mailer`]. Until an `[email]` section configures a server, the
//! [`LogMailer`] writes each message to the log at info, link included, so
//! the operator can pass it on by hand. SMTP delivery is not written yet.

use std::sync::Mutex;

/// One message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email {
    /// The address.
    pub to: String,
    /// The subject line.
    pub subject: String,
    /// Plain text.
    pub body: String,
}

/// Sends email.
#[async_trait::async_trait]
pub trait Mailer: Send + Sync + 'static {
    /// Sends one message; why not, if it could not.
    async fn send(&self, email: &Email) -> Result<(), String>;

    /// What it is, for the logs.
    fn description(&self) -> String;
}

/// Writes each message to the log at info, for the operator to pass on.
#[derive(Debug, Default)]
pub struct LogMailer;

#[async_trait::async_trait]
impl Mailer for LogMailer {
    async fn send(&self, email: &Email) -> Result<(), String> {
        tracing::info!(
            to = %email.to,
            subject = %email.subject,
            body = %email.body,
            "email not sent (no [email] server is configured): pass it on by hand"
        );
        Ok(())
    }

    fn description(&self) -> String {
        "the log (no [email] server is configured)".into()
    }
}

/// Keeps each message, for tests to read.
#[derive(Debug, Default)]
pub struct Outbox {
    sent: Mutex<Vec<Email>>,
}

impl Outbox {
    /// The messages sent so far, oldest first.
    pub fn sent(&self) -> Vec<Email> {
        self.sent.lock().expect("lock").clone()
    }

    /// The messages sent to `to`, oldest first.
    pub fn sent_to(&self, to: &str) -> Vec<Email> {
        self.sent().into_iter().filter(|e| e.to == to).collect()
    }

    /// The token of the last link sent to `to`, if any.
    pub fn last_token(&self, to: &str) -> Option<String> {
        self.sent_to(to).iter().rev().find_map(|e| {
            let start = e.body.find("token=")? + "token=".len();
            let token: String = e.body[start..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
                .collect();
            Some(token)
        })
    }
}

#[async_trait::async_trait]
impl Mailer for Outbox {
    async fn send(&self, email: &Email) -> Result<(), String> {
        self.sent.lock().expect("lock").push(email.clone());
        Ok(())
    }

    fn description(&self) -> String {
        "an outbox in memory".into()
    }
}

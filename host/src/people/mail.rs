//! Email to people: links to verify an address, reset a password or accept
//! an invitation, and notices (a login from a new device, a changed
//! password).
//!
//! Behind [`Mailer`]. With an `[email]` section, the [`SmtpMailer`] sends
//! each message to its SMTP server; without one, the [`LogMailer`] writes
//! each message to the log at info, link included, so the operator can pass
//! it on by hand.

use std::sync::Mutex;
use std::time::Duration;

use lettre::message::{Mailbox, header::ContentType};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use serde::Deserialize;

/// `[email]`: the SMTP server that email to people goes through.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmailConfig {
    /// The server: `smtp://host:port` (plain, for a relay on the same
    /// machine), `smtp://host:587?tls=required` (STARTTLS) or
    /// `smtps://host:465` (TLS from the start).
    pub smtp_url: String,
    /// The sender, as `noreply@example.com` or `imini <noreply@example.com>`.
    pub from: String,
    /// The user name to log in to the server with, if it asks for one.
    #[serde(default)]
    pub username: Option<String>,
    /// The environment variable that holds the password (with `username`);
    /// never the password itself.
    #[serde(default)]
    pub password_env: Option<String>,
    /// How long to wait for the server before giving up on a message, in
    /// seconds (default 10).
    #[serde(default = "default_timeout_secs")]
    pub timeout_secs: u64,
}

fn default_timeout_secs() -> u64 {
    10
}

impl EmailConfig {
    /// Checks what can be checked without the server.
    pub fn check(&self) -> Result<(), String> {
        self.transport().map(|_| ())
    }

    /// The sender's mailbox and the SMTP client.
    fn transport(&self) -> Result<(Mailbox, AsyncSmtpTransport<Tokio1Executor>), String> {
        let from: Mailbox = self
            .from
            .parse()
            .map_err(|e| format!("email.from is not an email address ({e}): {}", self.from))?;
        if !(1..=300).contains(&self.timeout_secs) {
            return Err("email.timeout_secs must be between 1 and 300".into());
        }
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::from_url(&self.smtp_url)
            .map_err(|e| {
                format!(
                    "email.smtp_url is not an SMTP URL such as smtp://host:587?tls=required ({e})"
                )
            })?
            .timeout(Some(Duration::from_secs(self.timeout_secs)));
        match (&self.username, &self.password_env) {
            (Some(user), Some(var)) => {
                let password = std::env::var(var)
                    .map_err(|_| format!("email.password_env names {var}, which is not set"))?;
                builder = builder.credentials(Credentials::new(user.clone(), password));
            }
            (None, None) => {}
            _ => return Err("email.username and email.password_env go together".into()),
        }
        Ok((from, builder.build()))
    }
}

/// Sends each message to an SMTP server.
pub struct SmtpMailer {
    from: Mailbox,
    transport: AsyncSmtpTransport<Tokio1Executor>,
    server: String,
}

impl SmtpMailer {
    /// The mailer `config` describes.
    pub fn new(config: &EmailConfig) -> Result<Self, String> {
        let (from, transport) = config.transport()?;
        // For the logs: the URL without any user name in it.
        let server = match config.smtp_url.split_once("://") {
            Some((scheme, rest)) => {
                let host = rest.rsplit_once('@').map_or(rest, |(_, host)| host);
                format!("{scheme}://{host}")
            }
            None => config.smtp_url.clone(),
        };
        Ok(Self {
            from,
            transport,
            server,
        })
    }
}

#[async_trait::async_trait]
impl Mailer for SmtpMailer {
    async fn send(&self, email: &Email) -> Result<(), String> {
        let to: Mailbox = email
            .to
            .parse()
            .map_err(|e| format!("not an address ({e})"))?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(email.subject.as_str())
            .header(ContentType::TEXT_PLAIN)
            .body(email.body.clone())
            .map_err(|e| e.to_string())?;
        self.transport
            .send(message)
            .await
            .map(|_| ())
            .map_err(|e| e.to_string())
    }

    fn description(&self) -> String {
        format!("the SMTP server {}", self.server)
    }
}

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

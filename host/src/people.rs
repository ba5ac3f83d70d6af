//! People's logins to the console: signing up, invitations, email
//! verification, logging in and out, sessions, password resets and
//! changes, cross-site request forgery tokens, login throttling, and the
//! record of new devices and addresses. No HTTP here: the console builds
//! its pages on this service.
//!
//! A login is a person (an email address and a password) who uses one
//! account's credits and keys; signing up makes that account through
//! [`Accounts`]. Secrets the browser holds (the session cookie, the links
//! in emails) are 256-bit random values of which only the SHA-256 is
//! stored; passwords are hashed with Argon2id ([`password`]) on tokio's
//! blocking threads, a few at a time.
//!
//! Login attempts are counted with the gateway's rate limiter
//! ([`Limiter`]), per email address and per client address, so that with
//! Redis the count is shared by every replica. Every attempt counts, right
//! or wrong, since the limiter cannot take one back: at the default five a
//! minute, the sixth attempt within a minute is refused without its
//! password being checked.

mod error;
pub mod mail;
pub mod password;
mod reset;
mod second_factor;
mod sessions;

#[cfg(test)]
mod tests;

use std::net::IpAddr;
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};
use tokio::sync::Semaphore;

pub use self::error::PeopleError;
use self::mail::{Email, Mailer};
use self::password::Cost;
pub use self::second_factor::{
    Enabled, LoginStep, NewSecondFactor, RECOVERY_CODES, SECOND_FACTOR_SECS,
};
use crate::accounts::{AccountStatus, Accounts};
use crate::config::{AccountsConfig, Signup};
use crate::ratelimit::Limiter;
pub use crate::store::people::{
    Login, LoginEvent, PeopleStore, PeopleStoreError, Role, SecondFactor, Session, Token, TokenKind,
};
use crate::time::Clock;

/// How long a link to verify an email address works.
pub const VERIFY_EMAIL_SECS: i64 = 48 * 3600;

/// How long a link to reset a password works.
pub const RESET_PASSWORD_SECS: i64 = 3600;

/// How long an invitation works.
pub const INVITE_SECS: i64 = 7 * 24 * 3600;

/// How often a session's time of use is recorded, at most.
const TOUCH_INTERVAL_SECS: i64 = 60;

/// The longest `User-Agent` kept with a session or a login event.
const MAX_USER_AGENT_CHARS: usize = 512;

/// A session just begun: the cookie's value (shown to the browser once,
/// never stored) and the session.
#[derive(Debug, Clone)]
pub struct NewSession {
    /// The cookie's value: base64url of 32 random bytes.
    pub cookie: String,
    /// The session.
    pub session: Session,
}

/// A successful login.
#[derive(Debug, Clone)]
pub struct LoggedIn {
    /// Who.
    pub login: Login,
    /// Their new session.
    pub session: NewSession,
    /// The login as recorded: whether the device or the address is new
    /// (then the person was also sent a notice).
    pub event: LoginEvent,
}

/// A session in use, and its login.
#[derive(Debug, Clone)]
pub struct Authenticated {
    /// Who.
    pub login: Login,
    /// The session.
    pub session: Session,
}

/// An invitation made.
#[derive(Debug, Clone)]
pub struct Invitation {
    /// The link to accept it (also emailed).
    pub link: String,
    /// When it stops working (unix seconds).
    pub expires_at: i64,
}

/// 32 random bytes, base64url.
fn new_secret() -> String {
    URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>())
}

/// SHA-256 of a secret, hex: what is stored of it.
fn digest(secret: &str) -> String {
    crate::ids::hex(&Sha256::digest(secret.as_bytes()))
}

/// An email address as logins are keyed by: trimmed, lowercased, and
/// shaped like an address (one `@`, something on each side, a dot in the
/// domain, no spaces, at most 254 characters).
pub fn normalise_email(email: &str) -> Result<String, PeopleError> {
    let email = email.trim().to_lowercase();
    let shaped = email.len() <= 254
        && !email.chars().any(|c| c.is_whitespace() || c.is_control())
        && match email.split_once('@') {
            Some((local, domain)) => {
                !local.is_empty()
                    && !domain.contains('@')
                    && domain.contains('.')
                    && !domain.starts_with('.')
                    && !domain.ends_with('.')
            }
            None => false,
        };
    if shaped {
        Ok(email)
    } else {
        Err(PeopleError::InvalidEmail)
    }
}

/// The network a client address stands for when telling new addresses
/// from known ones: an IPv4 address itself, the /64 of an IPv6 one (one
/// home or phone network hands out many addresses within it).
pub fn network_of(address: &str) -> String {
    match address.trim().parse::<IpAddr>() {
        Ok(IpAddr::V4(v4)) => v4.to_string(),
        Ok(IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
        Err(_) => address.trim().chars().take(64).collect(),
    }
}

/// The device a browser stands for: a digest of its `User-Agent` (a coarse
/// identity: a browser update looks like a new device).
fn device_of(user_agent: &str) -> String {
    digest(user_agent)[..32].to_string()
}

/// People's logins, over a [`PeopleStore`], [`Accounts`], a [`Limiter`]
/// and a [`Mailer`].
#[derive(Clone)]
pub struct People {
    store: Arc<dyn PeopleStore>,
    accounts: Accounts,
    limiter: Arc<Limiter>,
    mailer: Arc<dyn Mailer>,
    config: AccountsConfig,
    /// The console's address, for links in emails (no trailing `/`).
    base_url: String,
    cost: Cost,
    /// Hashes running at once, at most: each takes its memory (19 MiB at
    /// the default cost) and a core for tens of milliseconds.
    hashing: Arc<Semaphore>,
    /// A hash at `cost` checked when there is no login, so that an unknown
    /// address takes as long to refuse as a wrong password.
    decoy: Arc<std::sync::OnceLock<String>>,
    clock: Clock,
}

impl People {
    /// The service, with links in emails to `base_url` (the console's
    /// public address, such as `https://gateway.example.com`).
    pub fn new(
        store: Arc<dyn PeopleStore>,
        accounts: Accounts,
        limiter: Arc<Limiter>,
        mailer: Arc<dyn Mailer>,
        config: AccountsConfig,
        base_url: &str,
    ) -> Self {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        Self {
            store,
            accounts,
            limiter,
            mailer,
            config,
            base_url: base_url.trim_end_matches('/').to_string(),
            cost: Cost::OWASP,
            hashing: Arc::new(Semaphore::new(cores)),
            decoy: Arc::default(),
            clock: Clock::default(),
        }
    }

    /// The same service hashing new passwords at `cost`.
    pub fn with_cost(mut self, cost: Cost) -> Self {
        self.cost = cost;
        self.decoy = Arc::default();
        self
    }

    /// The same service (same stores) on `clock`.
    pub fn with_clock(&self, clock: Clock) -> Self {
        Self {
            clock,
            ..self.clone()
        }
    }

    fn now(&self) -> i64 {
        self.clock.now().unix_timestamp()
    }

    fn now_rfc3339(&self) -> String {
        crate::time::to_rfc3339(self.clock.now())
    }

    /// Argon2id of `password`, on a blocking thread.
    async fn hash(&self, password: &str) -> Result<String, PeopleError> {
        let _permit = self
            .hashing
            .acquire()
            .await
            .map_err(PeopleError::internal)?;
        let (password, cost) = (password.to_string(), self.cost);
        tokio::task::spawn_blocking(move || password::hash(&password, cost))
            .await
            .map_err(PeopleError::internal)
    }

    /// Whether `password` matches `phc`, on a blocking thread. With no
    /// `phc` (no such login), a hash of the same cost is checked anyway, so
    /// that the answer takes as long.
    async fn verify(&self, password: &str, phc: Option<&str>) -> Result<bool, PeopleError> {
        let _permit = self
            .hashing
            .acquire()
            .await
            .map_err(PeopleError::internal)?;
        let (cost, decoy) = (self.cost, self.decoy.clone());
        let (phc, real) = (phc.map(str::to_string), phc.is_some());
        let password = password.to_string();
        let matches = tokio::task::spawn_blocking(move || {
            let phc = phc.unwrap_or_else(|| {
                decoy
                    .get_or_init(|| password::hash("a decoy", cost))
                    .clone()
            });
            password::verify(&password, &phc)
        })
        .await
        .map_err(PeopleError::internal)?;
        Ok(real && matches)
    }

    /// Counts one attempt under `key` at `per_minute`.
    async fn count_attempt(&self, key: &str, per_minute: u32) -> Result<(), PeopleError> {
        match self.limiter.check(key, per_minute).await {
            Ok(d) if d.allowed => Ok(()),
            Ok(d) => Err(PeopleError::Throttled {
                retry_after_secs: d.retry_after_secs(),
            }),
            Err(e) => {
                tracing::warn!(error = %e, "people: login attempts cannot be counted");
                Err(PeopleError::Unavailable)
            }
        }
    }

    /// Counts an attempt to `act` (`login`, or `mail` for the requests
    /// that send a link) for (normalised) `email` and from `address`. The
    /// limiter's keys carry a digest of the email, not the address itself.
    async fn throttle(&self, act: &str, email: &str, address: &str) -> Result<(), PeopleError> {
        let c = &self.config;
        self.count_attempt(
            &format!("{act}:email:{}", &digest(email)[..32]),
            c.login_attempts_per_minute,
        )
        .await?;
        self.count_attempt(
            &format!("{act}:address:{}", network_of(address)),
            c.login_attempts_per_minute_per_address,
        )
        .await
    }

    /// Sends `email`, logging a failure rather than failing the caller (the
    /// person can ask for another link).
    async fn deliver(&self, to: &str, subject: &str, body: String) {
        let email = Email {
            to: to.to_string(),
            subject: subject.to_string(),
            body,
        };
        if let Err(e) = self.mailer.send(&email).await {
            tracing::warn!(to, subject, error = %e, mailer = %self.mailer.description(), "people: an email could not be sent");
        }
    }

    /// Makes a token for `email` and returns its link (`path?token=…`).
    async fn issue(
        &self,
        kind: TokenKind,
        email: &str,
        login_id: Option<&str>,
        role: Option<Role>,
        lifetime_secs: i64,
        path: &str,
    ) -> Result<(String, i64), PeopleError> {
        let secret = new_secret();
        let now = self.now();
        let token = Token {
            hash: digest(&secret),
            kind,
            login_id: login_id.map(str::to_string),
            email: email.to_string(),
            role,
            created_at: now,
            expires_at: now + lifetime_secs,
        };
        self.store.insert_token(&token).await?;
        Ok((
            format!("{}{path}?token={secret}", self.base_url),
            token.expires_at,
        ))
    }

    async fn send_verification(&self, login: &Login) -> Result<(), PeopleError> {
        let (link, _) = self
            .issue(
                TokenKind::VerifyEmail,
                &login.email,
                Some(&login.id),
                None,
                VERIFY_EMAIL_SECS,
                "/console/verify-email",
            )
            .await?;
        self.deliver(
            &login.email,
            "Confirm your email address",
            format!(
                "To confirm that this address is yours, open this link within 48 hours:\n\n{link}\n\n\
                 If you did not sign up, ignore this message."
            ),
        )
        .await;
        Ok(())
    }

    /// A new account and a login for it, with `password_hash`.
    async fn create_login(
        &self,
        email: &str,
        password_hash: String,
        role: Role,
        verified: bool,
    ) -> Result<Login, PeopleError> {
        let account = self.accounts.create(email).await?;
        let now = self.now_rfc3339();
        let login = Login {
            id: crate::ids::new("user"),
            email: email.to_string(),
            password_hash,
            account_id: account.id.clone(),
            role,
            email_verified_at: verified.then(|| now.clone()),
            created_at: now,
            disabled: false,
            second_factor: None,
        };
        if let Err(e) = self.store.insert_login(&login).await {
            // Someone took the address meanwhile: the account made for this
            // login has no use (and no credits, keys or tasks).
            let closed = self
                .accounts
                .update(&account.id, |a| {
                    a.status = AccountStatus::Closed;
                    Ok(())
                })
                .await;
            if let Err(close) = closed {
                tracing::warn!(account = %account.id, error = %close, "people: an unused account could not be closed");
            }
            return Err(e.into());
        }
        Ok(login)
    }

    /// Signs up a new person, if `[accounts] signup = "open"`. Answers the
    /// same whether or not the address already has a login (so the form
    /// does not tell who is here): a new login is sent a link to confirm
    /// its address, an existing one a note saying so. The login cannot log
    /// in until its address is confirmed.
    pub async fn sign_up(&self, email: &str, password: &str) -> Result<(), PeopleError> {
        match self.config.signup {
            Signup::Open => {}
            Signup::Invite => return Err(PeopleError::InviteOnly),
            Signup::Closed => return Err(PeopleError::SignupClosed),
        }
        let email = normalise_email(email)?;
        password::check(password, &email)?;
        // Hashed first either way, so that an existing address answers as
        // slowly as a new one.
        let hash = self.hash(password).await?;
        let existing = match self.store.login_by_email(&email).await? {
            Some(existing) => Some(existing),
            None => match self.create_login(&email, hash, Role::User, false).await {
                Ok(login) => return self.send_verification(&login).await,
                Err(PeopleError::EmailTaken) => self.store.login_by_email(&email).await?,
                Err(e) => return Err(e),
            },
        };
        if existing.is_some() {
            let reset = format!("{}/console/forgot-password", self.base_url);
            self.deliver(
                &email,
                "You already have a login",
                format!(
                    "Someone (perhaps you) tried to sign up with this address, which already has \
                     a login. To log in without your password, ask for a new one at {reset}.\n\n\
                     If it was not you, ignore this message."
                ),
            )
            .await;
        }
        Ok(())
    }

    /// Invites `email` to join with `role` (an operator's act): emails a
    /// link, and returns it too. Refused when `[accounts] signup =
    /// "closed"`, or when the address already has a login.
    pub async fn invite(&self, email: &str, role: Role) -> Result<Invitation, PeopleError> {
        if self.config.signup == Signup::Closed {
            return Err(PeopleError::SignupClosed);
        }
        let email = normalise_email(email)?;
        if self.store.login_by_email(&email).await?.is_some() {
            return Err(PeopleError::EmailTaken);
        }
        let (link, expires_at) = self
            .issue(
                TokenKind::Invite,
                &email,
                None,
                Some(role),
                INVITE_SECS,
                "/console/accept-invite",
            )
            .await?;
        self.deliver(
            &email,
            "You are invited to an imini gateway",
            format!(
                "You are invited to join an imini gateway. To choose your password, open this \
                 link within 7 days:\n\n{link}"
            ),
        )
        .await;
        Ok(Invitation { link, expires_at })
    }

    /// Takes the token `secret` of `kind`, then checks `rule` on it; a
    /// token refused by the rule is put back, so that a mistyped password
    /// does not use up the link.
    async fn take_token<T>(
        &self,
        secret: &str,
        kind: TokenKind,
        rule: impl FnOnce(&Token) -> Result<T, PeopleError>,
    ) -> Result<(Token, T), PeopleError> {
        let token = self
            .store
            .consume_token(&digest(secret.trim()), kind, self.now())
            .await?
            .ok_or(PeopleError::InvalidLink)?;
        match rule(&token) {
            Ok(value) => Ok((token, value)),
            Err(e) => {
                self.store.insert_token(&token).await?;
                Err(e)
            }
        }
    }

    /// Accepts an invitation: makes the login (with its own new account,
    /// the role invited, and its address confirmed by the link) with
    /// `password`.
    pub async fn accept_invite(&self, secret: &str, password: &str) -> Result<Login, PeopleError> {
        if self.config.signup == Signup::Closed {
            return Err(PeopleError::SignupClosed);
        }
        let (token, ()) = self
            .take_token(secret, TokenKind::Invite, |t| {
                Ok(password::check(password, &t.email)?)
            })
            .await?;
        let hash = self.hash(password).await?;
        self.create_login(&token.email, hash, token.role.unwrap_or(Role::User), true)
            .await
    }

    /// Confirms a login's email address with the link's token.
    pub async fn verify_email(&self, secret: &str) -> Result<Login, PeopleError> {
        let (token, ()) = self
            .take_token(secret, TokenKind::VerifyEmail, |_| Ok(()))
            .await?;
        let login_id = token.login_id.as_deref().ok_or(PeopleError::InvalidLink)?;
        let now = self.now_rfc3339();
        let mut confirmed = false;
        let login = self
            .store
            .update_login(login_id, &mut |l| {
                // A link sent to an address the login no longer has
                // confirms nothing.
                confirmed = l.email == token.email;
                if confirmed && l.email_verified_at.is_none() {
                    l.email_verified_at = Some(now.clone());
                }
            })
            .await
            .map_err(|e| match e {
                PeopleStoreError::NotFound => PeopleError::InvalidLink,
                other => other.into(),
            })?;
        if !confirmed {
            return Err(PeopleError::InvalidLink);
        }
        Ok(login)
    }

    /// Sends a new link to confirm `email`, if it has a login that is not
    /// confirmed; answers the same otherwise (and when the address asked too
    /// often, sends nothing).
    pub async fn resend_verification(&self, email: &str, address: &str) -> Result<(), PeopleError> {
        let email = normalise_email(email)?;
        if self.throttle("mail", &email, address).await.is_err() {
            return Ok(());
        }
        if let Some(login) = self.store.login_by_email(&email).await?
            && login.email_verified_at.is_none()
            && !login.disabled
        {
            self.send_verification(&login).await?;
        }
        Ok(())
    }

    /// A login.
    pub async fn login(&self, id: &str) -> Result<Option<Login>, PeopleError> {
        Ok(self.store.login(id).await?)
    }

    /// The login with (normalised) address `email`, if there is one.
    pub async fn login_by_email(&self, email: &str) -> Result<Option<Login>, PeopleError> {
        Ok(self.store.login_by_email(email).await?)
    }

    /// Logins in id order, after `after`, at most `limit` (for operators).
    pub async fn logins(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Login>, PeopleError> {
        Ok(self.store.logins(after, limit).await?)
    }

    /// Disables or enables a login (an operator's act); disabling ends its
    /// sessions.
    pub async fn set_disabled(&self, id: &str, disabled: bool) -> Result<Login, PeopleError> {
        let login = self
            .store
            .update_login(id, &mut |l| l.disabled = disabled)
            .await?;
        if disabled {
            self.store.revoke_sessions(id, None).await?;
        }
        Ok(login)
    }

    /// Gives a login `role` (an operator's act). It takes effect at the
    /// login's next page: sessions read the login each time.
    pub async fn set_role(&self, id: &str, role: Role) -> Result<Login, PeopleError> {
        Ok(self.store.update_login(id, &mut |l| l.role = role).await?)
    }

    /// Removes the sessions and links that have ended; how many. For a
    /// periodic job.
    pub async fn purge_expired(&self) -> Result<u64, PeopleError> {
        let now = self.now();
        let idle_since = now - self.config.session_idle_minutes as i64 * 60;
        Ok(self.store.purge_expired(now, idle_since).await?)
    }
}

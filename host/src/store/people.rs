//! The storage of people's logins to the console: logins (a person with an
//! email address and a password, using one account's credits and keys),
//! their sessions, single-use tokens (email verification, password reset,
//! invitation), and the devices and addresses each login was used from,
//! with the list of its logins.
//!
//! Secrets are never stored: a session's cookie secret and a token's
//! secret are kept as their SHA-256 (hex), a password as its Argon2id PHC
//! string. Each method is one atomic commit group, durable when it returns
//! except [`PeopleStore::touch_session`].

#[cfg(test)]
pub(crate) mod conformance;
mod embedded;
pub(crate) mod pg;

pub use self::embedded::EmbeddedPeople;
pub use self::pg::PgPeople;

use serde::{Deserialize, Serialize};

use super::StoreError;

/// What a login may do in the console.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// A customer: their own account's keys, credits and tasks.
    User,
    /// Runs the gateway: every account, prices, plugins.
    Operator,
    /// Helps customers: reads accounts and answers appeals.
    Support,
}

/// A person who logs in to the console.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Login {
    /// `user_…`.
    pub id: String,
    /// Their email address, trimmed and lowercased (unique).
    pub email: String,
    /// Argon2id PHC string of their password.
    pub password_hash: String,
    /// The `acct_…` whose credits and keys they use.
    pub account_id: String,
    /// What they may do.
    pub role: Role,
    /// When they proved the address is theirs (RFC 3339), if they have.
    pub email_verified_at: Option<String>,
    /// When the login was made (RFC 3339).
    pub created_at: String,
    /// Whether an operator disabled it (its sessions end, it cannot log in).
    pub disabled: bool,
    /// The second factor asked for after the password, if the person set
    /// one up.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub second_factor: Option<SecondFactor>,
}

/// A login's second factor: an authenticator app's time-based codes
/// (TOTP, RFC 6238: HMAC-SHA-1, six digits, 30-second steps).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecondFactor {
    /// The secret shared with the app, base32 (160 bits). Kept as it is:
    /// codes are computed from it.
    pub secret: String,
    /// When it was set up (RFC 3339).
    pub since: String,
    /// The last 30-second step whose code was accepted: a code works once,
    /// and no older one works after it.
    pub last_step: i64,
    /// SHA-256 (hex) of each recovery code not used yet: single-use codes
    /// that stand in for the app's code when the app is lost.
    #[serde(default)]
    pub recovery_codes: Vec<String>,
}

/// A logged-in browser. Times are unix seconds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    /// `sess_…`.
    pub id: String,
    /// Its login.
    pub login_id: String,
    /// SHA-256 (hex) of the cookie's secret.
    pub hash: String,
    /// When it began.
    pub created_at: i64,
    /// When it was last used (recorded at most once a minute).
    pub last_seen_at: i64,
    /// When it ends however much it is used (its idle end is
    /// `last_seen_at` plus the configured idle time).
    pub expires_at: i64,
    /// The browser's `User-Agent`, as it said (cut to 512 characters).
    pub user_agent: String,
    /// The client's address.
    pub address: String,
    /// The secret its forms carry against cross-site request forgery
    /// (base64url of 32 random bytes).
    pub csrf_secret: String,
}

/// What a single-use token is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenKind {
    /// Proves an email address.
    VerifyEmail,
    /// Sets a new password.
    ResetPassword,
    /// Lets a new person join.
    Invite,
    /// The password was right; the second factor's code is awaited.
    SecondFactor,
}

/// A single-use token. Times are unix seconds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Token {
    /// SHA-256 (hex) of its secret.
    pub hash: String,
    /// What it is for.
    pub kind: TokenKind,
    /// The login it acts on (none for an invitation).
    pub login_id: Option<String>,
    /// The address it was sent to.
    pub email: String,
    /// The role an invitation gives.
    pub role: Option<Role>,
    /// When it was made.
    pub created_at: i64,
    /// When it stops working.
    pub expires_at: i64,
}

/// One successful login. Times are unix seconds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginEvent {
    /// `lev_…` (sorts by time).
    pub id: String,
    /// The login.
    pub login_id: String,
    /// When.
    pub at: i64,
    /// The client's address.
    pub address: String,
    /// The browser's `User-Agent`.
    pub user_agent: String,
    /// Whether the device (browser) had not been seen with this login
    /// before (never true of a login's first event).
    pub new_device: bool,
    /// Whether the address (network) had not been seen with this login
    /// before (never true of a login's first event).
    pub new_address: bool,
}

/// Something a login was seen from, for [`PeopleStore::record_login`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Seen {
    /// A device: a digest of its browser's description.
    Device,
    /// An address: the IPv4 address, or the /64 network of an IPv6 one.
    Address,
}

/// A device or address known for a login, for a copy to another database.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Known {
    /// The login.
    pub login_id: String,
    /// Device or address.
    pub kind: Seen,
    /// Its value.
    pub value: String,
    /// When it was first seen (unix seconds).
    pub first_seen_at: i64,
}

/// The store's refusals.
#[derive(Debug, thiserror::Error)]
pub enum PeopleStoreError {
    /// No such login.
    #[error("no such login")]
    NotFound,
    /// The email address belongs to another login.
    #[error("the email address belongs to another login")]
    EmailTaken,
    /// A record with this id or secret exists.
    #[error("{0} exists")]
    Exists(&'static str),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A change to apply to the current login; it may run more than once (on a
/// conflicting write it runs again on the newer record).
pub type LoginChange<'a> = &'a mut (dyn FnMut(&mut Login) + Send);

/// Where logins, sessions, tokens and login events are kept.
#[async_trait::async_trait]
pub trait PeopleStore: Send + Sync + 'static {
    /// Stores a new login. [`PeopleStoreError::EmailTaken`] if its email
    /// is another's.
    async fn insert_login(&self, login: &Login) -> Result<(), PeopleStoreError>;

    /// A login.
    async fn login(&self, id: &str) -> Result<Option<Login>, PeopleStoreError>;

    /// The login with this (normalised) email address.
    async fn login_by_email(&self, email: &str) -> Result<Option<Login>, PeopleStoreError>;

    /// Logins in id order (oldest first), after `after`, at most `limit`.
    async fn logins(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Login>, PeopleStoreError>;

    /// Applies `change` to the current login and stores it, all or nothing
    /// ([`PeopleStoreError::EmailTaken`] if it takes another's address).
    async fn update_login(
        &self,
        id: &str,
        change: LoginChange<'_>,
    ) -> Result<Login, PeopleStoreError>;

    /// Stores a new session.
    async fn insert_session(&self, session: &Session) -> Result<(), PeopleStoreError>;

    /// The session whose cookie secret hashes to `hash`, whether or not it
    /// has expired.
    async fn session_by_hash(&self, hash: &str) -> Result<Option<Session>, PeopleStoreError>;

    /// Records that a session was used at `at`, on the current record and
    /// nothing else of it. Not waited to disk: losing it in a crash only
    /// makes the session look idle a little earlier.
    async fn touch_session(
        &self,
        login_id: &str,
        id: &str,
        at: i64,
    ) -> Result<(), PeopleStoreError>;

    /// A login's sessions, oldest first.
    async fn sessions_of(&self, login_id: &str) -> Result<Vec<Session>, PeopleStoreError>;

    /// Ends a session; whether there was one.
    async fn revoke_session(&self, login_id: &str, id: &str) -> Result<bool, PeopleStoreError>;

    /// Ends every session of a login but `except`; how many ended.
    async fn revoke_sessions(
        &self,
        login_id: &str,
        except: Option<&str>,
    ) -> Result<u64, PeopleStoreError>;

    /// Stores a new token.
    async fn insert_token(&self, token: &Token) -> Result<(), PeopleStoreError>;

    /// Takes the token whose secret hashes to `hash`, if it is of `kind`
    /// and has not expired at `now`: atomically, so of concurrent callers
    /// exactly one gets it, and it never works again.
    async fn consume_token(
        &self,
        hash: &str,
        kind: TokenKind,
        now: i64,
    ) -> Result<Option<Token>, PeopleStoreError>;

    /// Records a successful login from `device` and `address` as `event`,
    /// remembering both for the login; returns the event with
    /// `new_device` and `new_address` set to whether each was unknown,
    /// unless this is the login's first event (then neither is new).
    async fn record_login(
        &self,
        event: &LoginEvent,
        device: &str,
        address: &str,
    ) -> Result<LoginEvent, PeopleStoreError>;

    /// A login's events, newest first, at most `limit`.
    async fn login_events(
        &self,
        login_id: &str,
        limit: usize,
    ) -> Result<Vec<LoginEvent>, PeopleStoreError>;

    /// Removes the sessions that ended by `now` (unix seconds) or were
    /// last used before `idle_since`, and the tokens that expired by `now`;
    /// how many records it removed.
    async fn purge_expired(&self, now: i64, idle_since: i64) -> Result<u64, PeopleStoreError>;
}

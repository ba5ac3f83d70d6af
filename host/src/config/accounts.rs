//! `[accounts]`: who may join the console, how long sessions last, and
//! how many login attempts a minute are allowed.

use serde::Deserialize;

/// Who may make a login to the console.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Signup {
    /// Anyone with an email address.
    Open,
    /// Those an operator invites (the default: a gateway spends real money
    /// at its providers, so strangers do not join by themselves, yet the
    /// operator can bring people in without a change of configuration).
    #[default]
    Invite,
    /// Nobody new, invitations included.
    Closed,
}

/// People's logins to the console (see [`crate::people`]).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AccountsConfig {
    /// Who may make a login: `open`, `invite` (default) or `closed`.
    pub signup: Signup,
    /// Minutes without a request after which a session ends.
    pub session_idle_minutes: u64,
    /// Days after which a session ends however much it is used.
    pub session_max_days: u64,
    /// Login attempts per minute for one email address; the next is
    /// refused until the minute has passed.
    pub login_attempts_per_minute: u32,
    /// Login attempts per minute from one client address (several people
    /// may share one, behind a company's NAT).
    pub login_attempts_per_minute_per_address: u32,
}

impl Default for AccountsConfig {
    fn default() -> Self {
        Self {
            signup: Signup::default(),
            session_idle_minutes: 24 * 60,
            session_max_days: 30,
            login_attempts_per_minute: 5,
            login_attempts_per_minute_per_address: 20,
        }
    }
}

impl AccountsConfig {
    /// Checks ranges and consistency.
    pub fn validate(&self) -> Result<(), String> {
        if !(5..=525_600).contains(&self.session_idle_minutes) {
            return Err("accounts.session_idle_minutes must be between 5 and 525600".into());
        }
        if !(1..=366).contains(&self.session_max_days) {
            return Err("accounts.session_max_days must be between 1 and 366".into());
        }
        if self.session_idle_minutes > self.session_max_days * 24 * 60 {
            return Err(
                "accounts.session_idle_minutes must not be longer than accounts.session_max_days"
                    .into(),
            );
        }
        if !(1..=1000).contains(&self.login_attempts_per_minute)
            || !(1..=1000).contains(&self.login_attempts_per_minute_per_address)
        {
            return Err(
                "accounts.login_attempts_per_minute and accounts.login_attempts_per_minute_per_address must be between 1 and 1000"
                    .into(),
            );
        }
        Ok(())
    }
}

//! Why something a person asked for was refused, in words to show them.

use super::password::{self, Weakness};
use crate::accounts::AccountError;
use crate::store::people::PeopleStoreError;

/// Why something a person asked for was refused, in words to show them
/// (beside the form field [`PeopleError::field`] names, if any).
#[derive(Debug, thiserror::Error)]
pub enum PeopleError {
    /// Not an email address.
    #[error("Enter an email address, like name@example.com.")]
    InvalidEmail,
    /// The address already has a login (told to operators inviting, never
    /// to someone signing up, who gets an email instead).
    #[error("This email address already has a login.")]
    EmailTaken,
    /// A new password is too short.
    #[error("Use at least {} characters for your password.", password::MIN_CHARS)]
    PasswordTooShort,
    /// A new password is too long.
    #[error("Use at most {} characters for your password.", password::MAX_CHARS)]
    PasswordTooLong,
    /// A new password is the email address.
    #[error("Choose a password that is not your email address.")]
    PasswordIsEmail,
    /// No login with this address and password.
    #[error("The email address or the password is not right.")]
    WrongCredentials,
    /// The current password, when changing it, is not right.
    #[error("Your current password is not right.")]
    WrongCurrentPassword,
    /// Too many attempts in a minute.
    #[error("Too many attempts. Wait {retry_after_secs} seconds, then try again.")]
    Throttled {
        /// When to try again.
        retry_after_secs: u64,
    },
    /// The address was never confirmed.
    #[error("Confirm your email address first: open the link we sent you.")]
    EmailNotVerified,
    /// An operator disabled the login.
    #[error("This login is disabled. Ask the gateway's operator.")]
    Disabled,
    /// Sign-up needs an invitation.
    #[error("Joining is by invitation only. Ask the gateway's operator for one.")]
    InviteOnly,
    /// Nobody new may join.
    #[error("This gateway is not taking new people.")]
    SignupClosed,
    /// A link that has expired, was used, or never was.
    #[error("This link has expired or has already been used. Ask for a new one.")]
    InvalidLink,
    /// The session ended (expired, revoked, or never was).
    #[error("Your session has ended. Log in again.")]
    SessionEnded,
    /// A form's cross-site request forgery token does not match.
    #[error("This form has expired. Reload the page and try again.")]
    CsrfMismatch,
    /// The login limiter cannot be asked (Redis is down).
    #[error("Logging in is unavailable right now. Try again in a minute.")]
    Unavailable,
    /// No such login (an operator's act on a login id).
    #[error("There is no such login.")]
    NoSuchLogin,
    /// The second factor's code is not right (or not six digits).
    #[error("The code is not right. Enter the six digits your authenticator app shows now.")]
    WrongCode,
    /// The second factor's code was used already.
    #[error("This code was used already. Wait for the next one, then enter it.")]
    CodeUsed,
    /// The second step of a login expired or was never begun.
    #[error("The login took too long. Enter your email address and password again.")]
    LoginStepEnded,
    /// A second factor is set up already.
    #[error("Your login has a second factor already.")]
    SecondFactorOn,
    /// There is no second factor to use or remove.
    #[error("Your login has no second factor.")]
    SecondFactorOff,
    /// The secret of a second factor being set up is not one this gateway
    /// made (the form was changed or is stale).
    #[error("Setting up the second factor has expired. Start again.")]
    SecondFactorExpired,
    /// Something failed on the gateway's side (logged with its cause).
    #[error("Something went wrong on our side. Try again later.")]
    Internal(String),
}

impl PeopleError {
    /// The form field this error is about, if one.
    pub fn field(&self) -> Option<&'static str> {
        match self {
            Self::InvalidEmail | Self::EmailTaken => Some("email"),
            Self::PasswordTooShort | Self::PasswordTooLong | Self::PasswordIsEmail => {
                Some("password")
            }
            Self::WrongCurrentPassword => Some("current_password"),
            Self::WrongCode | Self::CodeUsed => Some("code"),
            _ => None,
        }
    }

    pub(super) fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "people: the gateway failed");
        Self::Internal(cause.to_string())
    }
}

impl From<PeopleStoreError> for PeopleError {
    fn from(e: PeopleStoreError) -> Self {
        match e {
            PeopleStoreError::EmailTaken => Self::EmailTaken,
            PeopleStoreError::NotFound => Self::NoSuchLogin,
            other => Self::internal(other),
        }
    }
}

impl From<AccountError> for PeopleError {
    fn from(e: AccountError) -> Self {
        match e {
            AccountError::Invalid(_) => Self::InvalidEmail,
            other => Self::internal(other),
        }
    }
}

impl From<Weakness> for PeopleError {
    fn from(w: Weakness) -> Self {
        match w {
            Weakness::TooShort => Self::PasswordTooShort,
            Weakness::TooLong => Self::PasswordTooLong,
            Weakness::IsEmail => Self::PasswordIsEmail,
        }
    }
}

//! The optional second factor: codes from an authenticator app (TOTP,
//! RFC 6238 with the parameters every app reads: HMAC-SHA-1, six digits,
//! 30-second steps).
//!
//! Setting one up shows a new secret (as text and as a QR code of its
//! `otpauth://` link); it is kept only when the person confirms it with
//! their password and a code from the app. From then on a right password
//! leads to a second step ([`LoginStep::CodeNeeded`]): a single-use ticket,
//! good for [`SECOND_FACTOR_SECS`], that a right code turns into a session.
//!
//! Setting one up also gives ten recovery codes, shown once and kept as
//! their SHA-256: each stands in for the app's code once, for a person who
//! lost their phone (they are emailed each time one is used).
//!
//! A code is accepted for the step it was made in and the steps either
//! side of it (clocks drift), and only once: the login keeps the last step
//! accepted, moved on atomically by the store, so a code seen over
//! someone's shoulder or replayed from a captured form does not work
//! again, and neither does any older one. Code attempts are counted per
//! login and per client address at the login limits, so six wrong codes in
//! a minute are refused without being checked.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use qrcode::QrCode;
use qrcode::render::svg;
use subtle::ConstantTimeEq;
use totp_rs::{Algorithm, Secret, TOTP};

use super::{
    LoggedIn, Login, People, PeopleError, SecondFactor, Session, Token, TokenKind, digest,
    new_secret,
};

/// How long the second step of a login may take after the password.
pub const SECOND_FACTOR_SECS: i64 = 300;

/// The length of a step, in seconds.
pub(super) const STEP_SECS: i64 = 30;

/// The steps either side of the current one whose codes are accepted.
const SKEW_STEPS: i64 = 1;

/// The secret's length in bytes (160 bits, RFC 4226's recommendation).
const SECRET_BYTES: usize = 20;

/// The name authenticator apps show above the code.
const ISSUER: &str = "imini";

/// How many recovery codes a second factor comes with.
pub const RECOVERY_CODES: usize = 10;

/// A recovery code's letters and digits (base32's, lowercase): 10 of them
/// are 50 random bits.
const RECOVERY_ALPHABET: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";

/// New recovery codes: as shown (`xxxxx-xxxxx`), and as kept (SHA-256).
fn new_recovery_codes() -> (Vec<String>, Vec<String>) {
    (0..RECOVERY_CODES)
        .map(|_| {
            let bytes = rand::random::<[u8; 10]>();
            let code: String = bytes
                .iter()
                .map(|b| RECOVERY_ALPHABET[usize::from(b % 32)] as char)
                .collect();
            let shown = format!("{}-{}", &code[..5], &code[5..]);
            (shown, digest(&code))
        })
        .unzip()
}

/// A recovery code as typed, in the form its digest was made of: lowercase,
/// without spaces or hyphens; `None` if it cannot be one.
fn recovery_code(typed: &str) -> Option<String> {
    let code: String = typed
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .flat_map(char::to_lowercase)
        .collect();
    (code.len() == 10 && code.bytes().all(|b| RECOVERY_ALPHABET.contains(&b))).then_some(code)
}

/// A second factor just turned on, and its recovery codes (shown once).
#[derive(Debug)]
pub struct Enabled {
    /// The login, with its second factor.
    pub login: Login,
    /// The recovery codes, as the person should write them down.
    pub recovery_codes: Vec<String>,
}

/// What a right password leads to.
#[derive(Debug)]
pub enum LoginStep {
    /// Logged in.
    Done(Box<LoggedIn>),
    /// The login has a second factor: the code is asked next, with this
    /// ticket (a secret given to the browser once, kept as its digest).
    CodeNeeded {
        /// The ticket, for [`People::log_in_with_code`].
        ticket: String,
    },
}

impl LoginStep {
    /// The login, if it is done (no second factor was asked).
    pub fn done(self) -> Option<LoggedIn> {
        match self {
            Self::Done(done) => Some(*done),
            Self::CodeNeeded { .. } => None,
        }
    }
}

/// A second factor being set up: shown, not kept until it is confirmed.
#[derive(Debug, Clone)]
pub struct NewSecondFactor {
    /// The secret, base32, for typing into an app.
    pub secret: String,
    /// The `otpauth://` link apps read from the QR code.
    pub link: String,
    /// The QR code of the link, as a `data:image/svg+xml` URI.
    pub qr_code: String,
}

/// The authenticator of a base32 secret for `email`; `None` if the secret
/// is not one this gateway makes.
pub(super) fn authenticator(secret: &str, email: &str) -> Option<TOTP> {
    let bytes = Secret::Encoded(secret.to_string()).to_bytes().ok()?;
    if bytes.len() != SECRET_BYTES {
        return None;
    }
    TOTP::new(
        Algorithm::SHA1,
        6,
        SKEW_STEPS as u8,
        STEP_SECS as u64,
        bytes,
        Some(ISSUER.to_string()),
        email.to_string(),
    )
    .ok()
}

/// The step within the accepted window around `now` (unix seconds) whose
/// code is `code`, if any. Spaces in the code are ignored; every candidate
/// is compared, in constant time.
fn step_of(totp: &TOTP, code: &str, now: i64) -> Option<i64> {
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let current = now.div_euclid(STEP_SECS);
    let mut found = None;
    for step in current - SKEW_STEPS..=current + SKEW_STEPS {
        let expected = totp.generate((step * STEP_SECS).max(0) as u64);
        if bool::from(expected.as_bytes().ct_eq(code.as_bytes())) && found.is_none() {
            found = Some(step);
        }
    }
    found
}

impl People {
    /// A new secret for `login`'s second factor, to show; nothing is kept
    /// until [`People::enable_second_factor`] confirms it.
    pub fn new_second_factor(&self, login: &Login) -> Result<NewSecondFactor, PeopleError> {
        self.second_factor_setup(login, None)
    }

    /// The second factor being set up with `secret` (shown again after a
    /// refused confirmation, so the app need not scan a new one), or with
    /// a new secret if it is none or not one this gateway makes.
    pub fn second_factor_setup(
        &self,
        login: &Login,
        secret: Option<&str>,
    ) -> Result<NewSecondFactor, PeopleError> {
        let (secret, totp) = match secret.and_then(|s| Some((s, authenticator(s, &login.email)?))) {
            Some((s, totp)) => (s.to_string(), totp),
            None => {
                let secret = Secret::Raw(rand::random::<[u8; SECRET_BYTES]>().to_vec())
                    .to_encoded()
                    .to_string();
                let totp = authenticator(&secret, &login.email)
                    .ok_or_else(|| PeopleError::internal("a new TOTP secret was refused"))?;
                (secret, totp)
            }
        };
        let link = totp.get_url();
        let svg = QrCode::new(link.as_bytes())
            .map_err(PeopleError::internal)?
            .render::<svg::Color<'_>>()
            .min_dimensions(200, 200)
            .quiet_zone(true)
            .build();
        Ok(NewSecondFactor {
            secret,
            link,
            qr_code: format!("data:image/svg+xml;base64,{}", STANDARD.encode(svg)),
        })
    }

    /// Keeps `secret` as the second factor of the session's login, once
    /// its password and a code made from the secret are right.
    pub async fn enable_second_factor(
        &self,
        session: &Session,
        password: &str,
        secret: &str,
        code: &str,
    ) -> Result<Enabled, PeopleError> {
        let login = self.confirm_password(session, password).await?;
        if login.second_factor.is_some() {
            return Err(PeopleError::SecondFactorOn);
        }
        let totp = authenticator(secret, &login.email).ok_or(PeopleError::SecondFactorExpired)?;
        let step = step_of(&totp, code, self.now()).ok_or(PeopleError::WrongCode)?;
        let since = self.now_rfc3339();
        let (recovery_codes, digests) = new_recovery_codes();
        let mut was_on = false;
        let login = self
            .store
            .update_login(&login.id, &mut |l| {
                was_on = l.second_factor.is_some();
                if !was_on {
                    l.second_factor = Some(SecondFactor {
                        secret: secret.to_string(),
                        since: since.clone(),
                        last_step: step,
                        recovery_codes: digests.clone(),
                    });
                }
            })
            .await?;
        if was_on {
            return Err(PeopleError::SecondFactorOn);
        }
        self.second_factor_changed(&login, "turned on").await;
        Ok(Enabled {
            login,
            recovery_codes,
        })
    }

    /// Removes the session's login's second factor, once its password and
    /// a current code are right.
    pub async fn disable_second_factor(
        &self,
        session: &Session,
        password: &str,
        code: &str,
    ) -> Result<Login, PeopleError> {
        let login = self.confirm_password(session, password).await?;
        self.accept_code(&login.id, code).await?;
        self.remove_second_factor(&login.id).await
    }

    /// Removes a login's second factor without a code: an operator's act
    /// for a person who lost their app (they are told by email).
    pub async fn remove_second_factor(&self, login_id: &str) -> Result<Login, PeopleError> {
        let login = self
            .store
            .update_login(login_id, &mut |l| l.second_factor = None)
            .await?;
        self.second_factor_changed(&login, "turned off").await;
        Ok(login)
    }

    /// The second step of a login: `ticket` from [`LoginStep::CodeNeeded`]
    /// and a code from the app. A wrong code leaves the ticket usable
    /// (until it expires); a right one uses it up.
    pub async fn log_in_with_code(
        &self,
        ticket: &str,
        code: &str,
        address: &str,
        user_agent: &str,
    ) -> Result<LoggedIn, PeopleError> {
        let token = self
            .store
            .consume_token(&digest(ticket.trim()), TokenKind::SecondFactor, self.now())
            .await?
            .ok_or(PeopleError::LoginStepEnded)?;
        let login_id = token.login_id.clone().ok_or(PeopleError::LoginStepEnded)?;
        let checked = match self.throttle("code", &login_id, address).await {
            Ok(()) => self.accept_code(&login_id, code).await,
            Err(e) => Err(e),
        };
        match checked {
            Ok(login) if login.disabled => Err(PeopleError::Disabled),
            Ok(login) => self.finish_login(login, address, user_agent).await,
            Err(e) => {
                if matches!(
                    e,
                    PeopleError::WrongCode | PeopleError::CodeUsed | PeopleError::Throttled { .. }
                ) {
                    // Given back, so that the person can type the code again.
                    self.store.insert_token(&token).await?;
                }
                Err(e)
            }
        }
    }

    /// Makes the ticket of a login's second step.
    pub(super) async fn second_step(&self, login: &Login) -> Result<LoginStep, PeopleError> {
        let ticket = new_secret();
        let now = self.now();
        self.store
            .insert_token(&Token {
                hash: digest(&ticket),
                kind: TokenKind::SecondFactor,
                login_id: Some(login.id.clone()),
                email: login.email.clone(),
                role: None,
                created_at: now,
                expires_at: now + SECOND_FACTOR_SECS,
            })
            .await?;
        Ok(LoginStep::CodeNeeded { ticket })
    }

    /// Accepts `code` (the app's, or a recovery code) for the login's
    /// second factor, once: the login with the step moved on, or without
    /// the recovery code.
    async fn accept_code(&self, login_id: &str, code: &str) -> Result<Login, PeopleError> {
        if let Some(recovery) = recovery_code(code) {
            return self.accept_recovery_code(login_id, &recovery).await;
        }
        let login = self
            .store
            .login(login_id)
            .await?
            .ok_or(PeopleError::NoSuchLogin)?;
        let factor = login
            .second_factor
            .as_ref()
            .ok_or(PeopleError::SecondFactorOff)?;
        let totp = authenticator(&factor.secret, &login.email)
            .ok_or_else(|| PeopleError::internal("a stored TOTP secret does not decode"))?;
        let step = step_of(&totp, code, self.now()).ok_or(PeopleError::WrongCode)?;
        let secret = factor.secret.clone();
        let mut accepted = false;
        let login = self
            .store
            .update_login(login_id, &mut |l| {
                accepted = false;
                if let Some(f) = l.second_factor.as_mut()
                    && f.secret == secret
                    && f.last_step < step
                {
                    f.last_step = step;
                    accepted = true;
                }
            })
            .await?;
        if accepted {
            Ok(login)
        } else {
            Err(PeopleError::CodeUsed)
        }
    }

    /// Takes the recovery code `code` (normalised) out of the login's
    /// list, if it is there: the login without it.
    async fn accept_recovery_code(&self, login_id: &str, code: &str) -> Result<Login, PeopleError> {
        let hash = digest(code);
        let mut taken = false;
        let login = self
            .store
            .update_login(login_id, &mut |l| {
                taken = false;
                if let Some(f) = l.second_factor.as_mut()
                    && let Some(at) = f
                        .recovery_codes
                        .iter()
                        .position(|c| bool::from(c.as_bytes().ct_eq(hash.as_bytes())))
                {
                    f.recovery_codes.remove(at);
                    taken = true;
                }
            })
            .await?;
        if login.second_factor.is_none() {
            return Err(PeopleError::SecondFactorOff);
        }
        if !taken {
            return Err(PeopleError::WrongCode);
        }
        let left = login
            .second_factor
            .as_ref()
            .map_or(0, |f| f.recovery_codes.len());
        self.deliver(
            &login.email,
            "A recovery code of your login was used",
            format!(
                "A recovery code of your imini login was used at {} in place of your \
                 authenticator app's code; {left} are left.\n\n\
                 If this was not you, reset your password at {}/console/forgot-password \
                 and tell the gateway's operator.",
                crate::time::to_rfc3339(self.clock.now()),
                self.base_url
            ),
        )
        .await;
        Ok(login)
    }

    async fn second_factor_changed(&self, login: &Login, what: &str) {
        self.deliver(
            &login.email,
            &format!("The second factor of your login was {what}"),
            format!(
                "The second factor (authenticator app codes) of your imini login was {what} at {}.\n\n\
                 If this was not you, reset your password at {}/console/forgot-password \
                 and tell the gateway's operator.",
                crate::time::to_rfc3339(self.clock.now()),
                self.base_url
            ),
        )
        .await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";

    #[test]
    fn the_rfc_6238_test_vectors_are_reproduced() {
        // RFC 6238, appendix B, SHA-1 ("12345678901234567890"), cut to the
        // last six of the eight digits.
        let totp = authenticator(SECRET, "ada@example.com").unwrap();
        for (time, eight) in [
            (59_u64, "94287082"),
            (1_111_111_109, "07081804"),
            (1_234_567_890, "89005924"),
            (2_000_000_000, "69279037"),
        ] {
            assert_eq!(totp.generate(time), eight[2..], "at {time}");
        }
    }

    #[test]
    fn a_code_is_good_for_its_step_and_one_either_side() {
        let totp = authenticator(SECRET, "ada@example.com").unwrap();
        let now = 1_234_567_890;
        let step = now / STEP_SECS;
        let at = |s: i64| totp.generate((s * STEP_SECS) as u64);
        assert_eq!(step_of(&totp, &at(step), now), Some(step));
        assert_eq!(step_of(&totp, &at(step - 1), now), Some(step - 1));
        assert_eq!(step_of(&totp, &at(step + 1), now), Some(step + 1));
        assert_eq!(step_of(&totp, &at(step - 2), now), None);
        assert_eq!(step_of(&totp, &at(step + 2), now), None);
        let spaced = format!("{} {}", &at(step)[..3], &at(step)[3..]);
        assert_eq!(step_of(&totp, &spaced, now), Some(step), "spaces ignored");
        assert_eq!(step_of(&totp, "12345", now), None);
        assert_eq!(step_of(&totp, "abcdef", now), None);
    }

    #[test]
    fn recovery_codes_are_ten_distinct_codes_read_however_they_are_typed() {
        let (shown, kept) = new_recovery_codes();
        assert_eq!(shown.len(), RECOVERY_CODES);
        assert_eq!(kept.len(), RECOVERY_CODES);
        let distinct: std::collections::BTreeSet<_> = shown.iter().collect();
        assert_eq!(distinct.len(), RECOVERY_CODES);
        let first = &shown[0];
        assert_eq!(first.len(), 11, "xxxxx-xxxxx: {first}");
        assert_eq!(digest(&recovery_code(first).unwrap()), kept[0]);
        let typed = format!(" {} ", first.to_uppercase().replace('-', " "));
        assert_eq!(recovery_code(&typed), recovery_code(first));
        assert_eq!(recovery_code("123456"), None, "an app's code is not one");
        assert_eq!(
            recovery_code("abcde-fghi1"),
            None,
            "1 is not in the alphabet"
        );
    }

    #[test]
    fn only_secrets_of_the_right_length_are_taken() {
        assert!(authenticator(SECRET, "a@example.com").is_some());
        assert!(authenticator("GEZDGNBVGY3TQOJQ", "a@example.com").is_none());
        assert!(authenticator("not base32!", "a@example.com").is_none());
    }
}

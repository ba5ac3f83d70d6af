//! Logging in and sessions: the password (and, with a second factor, the
//! code) turned into a session, the record of devices and addresses with
//! the notice of a new one, a session's use, its end, and the forms' CSRF
//! tokens.

use subtle::ConstantTimeEq;

use super::{
    Authenticated, LoggedIn, Login, LoginEvent, LoginStep, MAX_USER_AGENT_CHARS, NewSession,
    People, PeopleError, Session, TOUCH_INTERVAL_SECS, device_of, digest, network_of, new_secret,
    normalise_email, password,
};

impl People {
    /// Logs in with an email address and a password from `address` with
    /// browser `user_agent`: a new session, and whether the device or the
    /// address is new for this login (then a notice is emailed); or, if the
    /// login has a second factor, the ticket of the step that asks for its
    /// code.
    pub async fn log_in(
        &self,
        email: &str,
        password: &str,
        address: &str,
        user_agent: &str,
    ) -> Result<LoginStep, PeopleError> {
        // A malformed address has no login: the same answer as a wrong
        // password, after the same work.
        let email = normalise_email(email).unwrap_or_else(|_| email.trim().to_lowercase());
        self.throttle("login", &email, address).await?;
        let login = self.store.login_by_email(&email).await?;
        if password.chars().count() > password::MAX_CHARS
            || !self
                .verify(password, login.as_ref().map(|l| l.password_hash.as_str()))
                .await?
        {
            return Err(PeopleError::WrongCredentials);
        }
        let mut login = login.ok_or(PeopleError::WrongCredentials)?;
        if login.disabled {
            return Err(PeopleError::Disabled);
        }
        if login.email_verified_at.is_none() {
            return Err(PeopleError::EmailNotVerified);
        }
        if password::needs_rehash(&login.password_hash, self.cost) {
            let hash = self.hash(password).await?;
            login = self
                .store
                .update_login(&login.id, &mut |l| l.password_hash.clone_from(&hash))
                .await?;
        }
        if login.second_factor.is_some() {
            return self.second_step(&login).await;
        }
        let done = self.finish_login(login, address, user_agent).await?;
        Ok(LoginStep::Done(Box::new(done)))
    }

    /// The end of a login: its session, and the record of the device and
    /// address (with a notice if either is new).
    pub(super) async fn finish_login(
        &self,
        login: Login,
        address: &str,
        user_agent: &str,
    ) -> Result<LoggedIn, PeopleError> {
        let user_agent: String = user_agent.chars().take(MAX_USER_AGENT_CHARS).collect();
        let session = self.begin_session(&login, address, &user_agent).await?;
        let event = self
            .store
            .record_login(
                &LoginEvent {
                    id: crate::ids::new("lev"),
                    login_id: login.id.clone(),
                    at: self.now(),
                    address: address.to_string(),
                    user_agent: user_agent.clone(),
                    new_device: false,
                    new_address: false,
                },
                &device_of(&user_agent),
                &network_of(address),
            )
            .await?;
        if event.new_device || event.new_address {
            let what = match (event.new_device, event.new_address) {
                (true, true) => "a new device and address",
                (true, false) => "a new device",
                _ => "a new address",
            };
            self.deliver(
                &login.email,
                "A new login to your imini account",
                format!(
                    "Your login was used from {what} at {}:\n\n  address: {address}\n  browser: {user_agent}\n\n\
                     If this was not you, reset your password at {}/console/forgot-password: \
                     that ends every session.",
                    crate::time::to_rfc3339(self.clock.now()),
                    self.base_url
                ),
            )
            .await;
        }
        Ok(LoggedIn {
            login,
            session,
            event,
        })
    }

    async fn begin_session(
        &self,
        login: &Login,
        address: &str,
        user_agent: &str,
    ) -> Result<NewSession, PeopleError> {
        let cookie = new_secret();
        let now = self.now();
        let session = Session {
            id: crate::ids::new("sess"),
            login_id: login.id.clone(),
            hash: digest(&cookie),
            created_at: now,
            last_seen_at: now,
            expires_at: now + self.config.session_max_days as i64 * 86_400,
            user_agent: user_agent.to_string(),
            address: address.to_string(),
            csrf_secret: new_secret(),
        };
        self.store.insert_session(&session).await?;
        Ok(NewSession { cookie, session })
    }

    /// The login behind a session cookie, recording its use. A session past
    /// its idle time or its lifetime, or whose login is disabled, ends.
    pub async fn session(&self, cookie: &str) -> Result<Authenticated, PeopleError> {
        let hash = digest(cookie.trim());
        let session = self
            .store
            .session_by_hash(&hash)
            .await?
            .ok_or(PeopleError::SessionEnded)?;
        // The index matched; compare in constant time anyway, so that the
        // decision never rests on a timing-dependent comparison.
        if !bool::from(session.hash.as_bytes().ct_eq(hash.as_bytes())) {
            return Err(PeopleError::SessionEnded);
        }
        let now = self.now();
        let idle_end = session.last_seen_at + self.config.session_idle_minutes as i64 * 60;
        let login = self.store.login(&session.login_id).await?;
        let ended = now >= session.expires_at || now >= idle_end;
        let login = match login {
            Some(login) if !ended && !login.disabled => login,
            _ => {
                self.store
                    .revoke_session(&session.login_id, &session.id)
                    .await?;
                return Err(PeopleError::SessionEnded);
            }
        };
        let mut session = session;
        if now - session.last_seen_at >= TOUCH_INTERVAL_SECS {
            self.store
                .touch_session(&session.login_id, &session.id, now)
                .await?;
            session.last_seen_at = now;
        }
        Ok(Authenticated { login, session })
    }

    /// Ends the session of a cookie (if it has one).
    pub async fn log_out(&self, cookie: &str) -> Result<(), PeopleError> {
        if let Some(session) = self.store.session_by_hash(&digest(cookie.trim())).await? {
            self.store
                .revoke_session(&session.login_id, &session.id)
                .await?;
        }
        Ok(())
    }

    /// A login's sessions, oldest first.
    pub async fn sessions(&self, login_id: &str) -> Result<Vec<Session>, PeopleError> {
        Ok(self.store.sessions_of(login_id).await?)
    }

    /// Ends one of a login's sessions; whether it had it.
    pub async fn revoke_session(
        &self,
        login_id: &str,
        session_id: &str,
    ) -> Result<bool, PeopleError> {
        Ok(self.store.revoke_session(login_id, session_id).await?)
    }

    /// A login's logins, newest first, at most `limit`.
    pub async fn login_events(
        &self,
        login_id: &str,
        limit: usize,
    ) -> Result<Vec<LoginEvent>, PeopleError> {
        Ok(self.store.login_events(login_id, limit).await?)
    }

    /// The token a session's forms carry against cross-site request
    /// forgery.
    pub fn csrf_token(session: &Session) -> &str {
        &session.csrf_secret
    }

    /// Checks a form's cross-site request forgery token against its
    /// session's, in constant time.
    pub fn check_csrf(session: &Session, presented: &str) -> Result<(), PeopleError> {
        let expected = session.csrf_secret.as_bytes();
        if !expected.is_empty() && bool::from(expected.ct_eq(presented.trim().as_bytes())) {
            Ok(())
        } else {
            Err(PeopleError::CsrfMismatch)
        }
    }
}

//! Forgotten and changed passwords: a reset link by email, the new
//! password set with it, and a change by a logged-in person.

use super::{
    Login, People, PeopleError, PeopleStoreError, RESET_PASSWORD_SECS, Session, TokenKind,
    normalise_email, password,
};

impl People {
    /// Sends a link to set a new password to `email`, if it has a login.
    /// Answers the same whether or not it does (and when the address asked
    /// too often, sends nothing).
    pub async fn request_password_reset(
        &self,
        email: &str,
        address: &str,
    ) -> Result<(), PeopleError> {
        let email = normalise_email(email)?;
        if self.throttle("mail", &email, address).await.is_err() {
            return Ok(());
        }
        let Some(login) = self.store.login_by_email(&email).await? else {
            return Ok(());
        };
        if login.disabled {
            return Ok(());
        }
        let (link, _) = self
            .issue(
                TokenKind::ResetPassword,
                &login.email,
                Some(&login.id),
                None,
                RESET_PASSWORD_SECS,
                "/console/reset-password",
            )
            .await?;
        self.deliver(
            &login.email,
            "Reset your password",
            format!(
                "To choose a new password, open this link within an hour:\n\n{link}\n\n\
                 If you did not ask for it, ignore this message: your password stays as it is."
            ),
        )
        .await;
        Ok(())
    }

    /// Sets a new password with a reset link's token, ending every session
    /// of the login (whoever knew the old password is logged out). The link
    /// also confirms the address.
    pub async fn reset_password(&self, secret: &str, new: &str) -> Result<Login, PeopleError> {
        let (token, ()) = self
            .take_token(secret, TokenKind::ResetPassword, |t| {
                Ok(password::check(new, &t.email)?)
            })
            .await?;
        let login_id = token.login_id.as_deref().ok_or(PeopleError::InvalidLink)?;
        let hash = self.hash(new).await?;
        let now = self.now_rfc3339();
        let mut same_address = false;
        let login = self
            .store
            .update_login(login_id, &mut |l| {
                same_address = l.email == token.email;
                if same_address {
                    l.password_hash.clone_from(&hash);
                    l.email_verified_at.get_or_insert_with(|| now.clone());
                }
            })
            .await
            .map_err(|e| match e {
                PeopleStoreError::NotFound => PeopleError::InvalidLink,
                other => other.into(),
            })?;
        if !same_address {
            return Err(PeopleError::InvalidLink);
        }
        self.store.revoke_sessions(&login.id, None).await?;
        self.password_changed(&login).await;
        Ok(login)
    }

    /// Changes the password of a logged-in person, who gives the current
    /// one; every other session of theirs ends (this one stays). Counted as
    /// a login attempt.
    pub async fn change_password(
        &self,
        session: &Session,
        current: &str,
        new: &str,
    ) -> Result<Login, PeopleError> {
        let login = self.confirm_password(session, current).await?;
        password::check(new, &login.email)?;
        let hash = self.hash(new).await?;
        let login = self
            .store
            .update_login(&login.id, &mut |l| l.password_hash.clone_from(&hash))
            .await?;
        self.store
            .revoke_sessions(&login.id, Some(&session.id))
            .await?;
        self.password_changed(&login).await;
        Ok(login)
    }

    /// The session's login, if `current` is its password. Counted as a
    /// login attempt, so that a session cannot be used to guess it.
    pub(super) async fn confirm_password(
        &self,
        session: &Session,
        current: &str,
    ) -> Result<Login, PeopleError> {
        let login = self
            .store
            .login(&session.login_id)
            .await?
            .ok_or(PeopleError::SessionEnded)?;
        self.throttle("login", &login.email, &session.address)
            .await?;
        if current.chars().count() > password::MAX_CHARS
            || !self.verify(current, Some(&login.password_hash)).await?
        {
            return Err(PeopleError::WrongCurrentPassword);
        }
        Ok(login)
    }

    async fn password_changed(&self, login: &Login) {
        self.deliver(
            &login.email,
            "Your password was changed",
            format!(
                "The password of your login was changed at {}, and its other sessions ended.\n\n\
                 If it was not you, reset it at {}/console/forgot-password.",
                crate::time::to_rfc3339(self.clock.now()),
                self.base_url
            ),
        )
        .await;
    }
}

//! [`PeopleStore`] on the embedded store. Tables:
//!
//! - `logins` (by login id) and `login_emails` (an email address to its
//!   login id), changed together in transactions;
//! - `login_sessions` (`<login id>/<session id>`, so a login's sessions are
//!   one prefix) and `login_session_hashes` (a cookie secret's hash to that
//!   key), changed together;
//! - `login_tokens` (by the token secret's hash), taken with a
//!   compare-and-swap so that one caller gets each;
//! - `login_known` (`<login id>/<device|address>/<value>`, and
//!   `<login id>/!first` once the login has an event) and `login_events`
//!   (`<login id>/<event id>`), written together.

use serde::Serialize;

use super::{
    Known, Login, LoginChange, LoginEvent, PeopleStore, PeopleStoreError, Seen, Session, Token,
    TokenKind,
};
use crate::store::{Store, StoreError, Table};

/// Logins, sessions, tokens and login events in the embedded store.
pub struct EmbeddedPeople {
    logins: Table,
    emails: Table,
    sessions: Table,
    session_hashes: Table,
    tokens: Table,
    known: Table,
    events: Table,
}

impl EmbeddedPeople {
    /// The store's people trees.
    pub fn new(store: &Store) -> Result<Self, StoreError> {
        Ok(Self {
            logins: store.table("logins")?,
            emails: store.table("login_emails")?,
            sessions: store.table("login_sessions")?,
            session_hashes: store.table("login_session_hashes")?,
            tokens: store.table("login_tokens")?,
            known: store.table("login_known")?,
            events: store.table("login_events")?,
        })
    }

    /// Every login, for a copy to another database.
    pub(crate) fn export_logins(&self) -> impl Iterator<Item = Result<Login, StoreError>> + '_ {
        self.logins.records()
    }

    /// Every session, for a copy to another database.
    pub(crate) fn export_sessions(&self) -> impl Iterator<Item = Result<Session, StoreError>> + '_ {
        self.sessions.records()
    }

    /// Every token, for a copy to another database.
    pub(crate) fn export_tokens(&self) -> impl Iterator<Item = Result<Token, StoreError>> + '_ {
        self.tokens.records()
    }

    /// Every known device and address, for a copy to another database.
    pub(crate) fn export_known(&self) -> impl Iterator<Item = Result<Known, StoreError>> + '_ {
        self.known.scan::<i64>().filter_map(|item| match item {
            Err(e) => Some(Err(e)),
            Ok((key, first_seen_at)) => {
                let mut parts = key.splitn(3, '/');
                let (login_id, kind, value) = (parts.next()?, parts.next()?, parts.next()?);
                let kind = match kind {
                    "device" => Seen::Device,
                    "address" => Seen::Address,
                    // The `!first` marker.
                    _ => return None,
                };
                Some(Ok(Known {
                    login_id: login_id.to_string(),
                    kind,
                    value: value.to_string(),
                    first_seen_at,
                }))
            }
        })
    }

    /// Every login event, for a copy to another database.
    pub(crate) fn export_events(
        &self,
    ) -> impl Iterator<Item = Result<LoginEvent, StoreError>> + '_ {
        self.events.records()
    }
}

fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    serde_json::to_vec(value).expect("records serialise")
}

fn session_key(login_id: &str, id: &str) -> String {
    format!("{login_id}/{id}")
}

fn known_key(login_id: &str, kind: Seen, value: &str) -> String {
    let kind = match kind {
        Seen::Device => "device",
        Seen::Address => "address",
    };
    format!("{login_id}/{kind}/{value}")
}

fn first_key(login_id: &str) -> String {
    format!("{login_id}/!first")
}

impl EmbeddedPeople {
    /// Ends the session at `key` (and its index entry), without waiting for
    /// the disk; whether there was one.
    fn remove_session(&self, key: &str) -> Result<bool, PeopleStoreError> {
        Ok(self.sessions.store().transaction(|tx| {
            let Some(session) = tx.get::<Session>(&self.sessions, key)? else {
                return Ok::<_, StoreError>(false);
            };
            tx.remove(&self.sessions, key);
            tx.remove(&self.session_hashes, &session.hash);
            Ok(true)
        })?)
    }
}

#[async_trait::async_trait]
impl PeopleStore for EmbeddedPeople {
    async fn insert_login(&self, login: &Login) -> Result<(), PeopleStoreError> {
        self.logins.store().transaction(|tx| {
            if tx.contains(&self.emails, &login.email)? {
                return Err(PeopleStoreError::EmailTaken);
            }
            if tx.contains(&self.logins, &login.id)? {
                return Err(PeopleStoreError::Exists("a login with this id"));
            }
            tx.put(&self.emails, &login.email, &login.id);
            tx.put(&self.logins, &login.id, login);
            Ok(())
        })?;
        self.logins.flush().await?;
        Ok(())
    }

    async fn login(&self, id: &str) -> Result<Option<Login>, PeopleStoreError> {
        Ok(self.logins.get(id)?)
    }

    async fn login_by_email(&self, email: &str) -> Result<Option<Login>, PeopleStoreError> {
        let Some(id) = self.emails.get::<String>(email)? else {
            return Ok(None);
        };
        Ok(self.logins.get(&id)?)
    }

    async fn logins(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Login>, PeopleStoreError> {
        let start = after.map(|a| format!("{a}\0")).unwrap_or_default();
        Ok(self
            .logins
            .scan_from::<Login>(&start, "")
            .take(limit)
            .map(|item| item.map(|(_, login)| login))
            .collect::<Result<_, _>>()?)
    }

    async fn update_login(
        &self,
        id: &str,
        change: LoginChange<'_>,
    ) -> Result<Login, PeopleStoreError> {
        let login = self.logins.store().transaction(|tx| {
            let mut login: Login = tx
                .get(&self.logins, id)?
                .ok_or(PeopleStoreError::NotFound)?;
            let old_email = login.email.clone();
            change(&mut login);
            login.id = id.to_string();
            if login.email != old_email {
                if tx.contains(&self.emails, &login.email)? {
                    return Err(PeopleStoreError::EmailTaken);
                }
                tx.put(&self.emails, &login.email, &login.id);
                tx.remove(&self.emails, &old_email);
            }
            tx.put(&self.logins, id, &login);
            Ok(login)
        })?;
        self.logins.flush().await?;
        Ok(login)
    }

    async fn insert_session(&self, session: &Session) -> Result<(), PeopleStoreError> {
        let key = session_key(&session.login_id, &session.id);
        self.sessions.store().transaction(|tx| {
            if tx.contains(&self.session_hashes, &session.hash)?
                || tx.contains(&self.sessions, &key)?
            {
                return Err(PeopleStoreError::Exists("a session with this id or secret"));
            }
            tx.put(&self.session_hashes, &session.hash, &key);
            tx.put(&self.sessions, &key, session);
            Ok(())
        })?;
        self.sessions.flush().await?;
        Ok(())
    }

    async fn session_by_hash(&self, hash: &str) -> Result<Option<Session>, PeopleStoreError> {
        let Some(key) = self.session_hashes.get::<String>(hash)? else {
            return Ok(None);
        };
        Ok(self.sessions.get(&key)?)
    }

    async fn touch_session(
        &self,
        login_id: &str,
        id: &str,
        at: i64,
    ) -> Result<(), PeopleStoreError> {
        let key = session_key(login_id, id);
        // Most calls find the session seen since and write nothing: they
        // read without the writer lock.
        if self
            .sessions
            .get::<Session>(&key)?
            .is_none_or(|s| s.last_seen_at >= at)
        {
            return Ok(());
        }
        Ok(self.sessions.store().transaction(|tx| {
            if let Some(mut session) = tx.get::<Session>(&self.sessions, &key)?
                && session.last_seen_at < at
            {
                session.last_seen_at = at;
                tx.put(&self.sessions, &key, &session);
            }
            Ok::<_, StoreError>(())
        })?)
    }

    async fn sessions_of(&self, login_id: &str) -> Result<Vec<Session>, PeopleStoreError> {
        let prefix = format!("{login_id}/");
        let sessions: Vec<Session> = self
            .sessions
            .scan_from::<Session>(&prefix, &prefix)
            .map(|item| item.map(|(_, s)| s))
            .collect::<Result<_, _>>()?;
        Ok(sessions)
    }

    async fn revoke_session(&self, login_id: &str, id: &str) -> Result<bool, PeopleStoreError> {
        let removed = self.remove_session(&session_key(login_id, id))?;
        self.sessions.flush().await?;
        Ok(removed)
    }

    async fn revoke_sessions(
        &self,
        login_id: &str,
        except: Option<&str>,
    ) -> Result<u64, PeopleStoreError> {
        let mut ended = 0;
        for session in self.sessions_of(login_id).await? {
            if Some(session.id.as_str()) != except
                && self.remove_session(&session_key(login_id, &session.id))?
            {
                ended += 1;
            }
        }
        self.sessions.flush().await?;
        Ok(ended)
    }

    async fn insert_token(&self, token: &Token) -> Result<(), PeopleStoreError> {
        let inserted =
            self.tokens
                .compare_and_swap(&token.hash, None, Some(encode(token).as_slice()))?;
        if !inserted {
            return Err(PeopleStoreError::Exists("a token with this secret"));
        }
        self.tokens.flush().await?;
        Ok(())
    }

    async fn consume_token(
        &self,
        hash: &str,
        kind: TokenKind,
        now: i64,
    ) -> Result<Option<Token>, PeopleStoreError> {
        let Some(current) = self.tokens.get_raw(hash.as_bytes())? else {
            return Ok(None);
        };
        let token: Token = self.tokens.decode(&current)?;
        if token.kind != kind || token.expires_at <= now {
            return Ok(None);
        }
        // Whoever removes the record as it was read has it; a concurrent
        // caller's swap then finds it gone.
        if !self
            .tokens
            .compare_and_swap(hash, Some(current.as_ref()), None)?
        {
            return Ok(None);
        }
        self.tokens.flush().await?;
        Ok(Some(token))
    }

    async fn record_login(
        &self,
        event: &LoginEvent,
        device: &str,
        address: &str,
    ) -> Result<LoginEvent, PeopleStoreError> {
        let login_id = &event.login_id;
        let device_key = known_key(login_id, Seen::Device, device);
        let address_key = known_key(login_id, Seen::Address, address);
        let first_key = first_key(login_id);
        let event_key = format!("{login_id}/{}", event.id);
        let recorded = self.known.store().transaction(|tx| {
            let before = tx.contains(&self.known, &first_key)?;
            let mut recorded = event.clone();
            recorded.new_device = before && !tx.contains(&self.known, &device_key)?;
            recorded.new_address = before && !tx.contains(&self.known, &address_key)?;
            for key in [&device_key, &address_key, &first_key] {
                if !tx.contains(&self.known, key)? {
                    tx.put(&self.known, key, &event.at);
                }
            }
            tx.put(&self.events, &event_key, &recorded);
            Ok::<_, StoreError>(recorded)
        })?;
        self.events.flush().await?;
        Ok(recorded)
    }

    async fn login_events(
        &self,
        login_id: &str,
        limit: usize,
    ) -> Result<Vec<LoginEvent>, PeopleStoreError> {
        let prefix = format!("{login_id}/");
        Ok(self
            .events
            .scan_prefix_rev::<LoginEvent>(&prefix)
            .take(limit)
            .map(|item| item.map(|(_, event)| event))
            .collect::<Result<_, _>>()?)
    }

    async fn purge_expired(&self, now: i64, idle_since: i64) -> Result<u64, PeopleStoreError> {
        let mut removed = 0;
        let ended: Vec<String> = self
            .sessions
            .scan::<Session>()
            .filter_map(|item| match item {
                Ok((key, s)) if s.expires_at <= now || s.last_seen_at < idle_since => Some(Ok(key)),
                Ok(_) => None,
                Err(e) => Some(Err(e)),
            })
            .collect::<Result<_, _>>()?;
        for key in ended {
            if self.remove_session(&key)? {
                removed += 1;
            }
        }
        let expired: Vec<(String, Vec<u8>)> = self
            .tokens
            .scan_raw()
            .filter_map(|item| match item {
                Ok((key, value)) => match self.tokens.decode::<Token>(&value) {
                    Ok(t) if t.expires_at <= now => Some(Ok((
                        String::from_utf8_lossy(&key).into_owned(),
                        value.to_vec(),
                    ))),
                    Ok(_) => None,
                    Err(e) => Some(Err(e)),
                },
                Err(e) => Some(Err(e)),
            })
            .collect::<Result<_, _>>()?;
        for (key, value) in expired {
            // As it was read: one consumed meanwhile is not counted twice.
            if self
                .tokens
                .compare_and_swap(&key, Some(value.as_slice()), None)?
            {
                removed += 1;
            }
        }
        self.sessions.flush().await?;
        Ok(removed)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::EmbeddedPeople;
    use crate::store::people::{PeopleStore, conformance};

    fn fresh() -> (tempfile::TempDir, Arc<dyn PeopleStore>) {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::store::Store::open(dir.path()).unwrap();
        (dir, Arc::new(EmbeddedPeople::new(&store).unwrap()))
    }

    conformance::suite!(fresh);
}

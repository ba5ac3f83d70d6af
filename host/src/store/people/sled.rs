//! [`PeopleStore`] on sled. Trees:
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

use std::cell::{Cell, RefCell};

use ::sled::Transactional;
use ::sled::transaction::{ConflictableTransactionError, TransactionError};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::{
    Known, Login, LoginChange, LoginEvent, PeopleStore, PeopleStoreError, Seen, Session, Token,
    TokenKind,
};
use crate::store::{Store, StoreError, Table};

/// Logins, sessions, tokens and login events in sled.
pub struct SledPeople {
    logins: Table,
    emails: Table,
    sessions: Table,
    session_hashes: Table,
    tokens: Table,
    known: Table,
    events: Table,
}

impl SledPeople {
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

fn decode<T: DeserializeOwned>(tree: &'static str, bytes: &[u8]) -> Result<T, StoreError> {
    serde_json::from_slice(bytes).map_err(|source| StoreError::Corrupt { tree, source })
}

fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    serde_json::to_vec(value).expect("records serialise")
}

/// A transaction's outcome as a [`PeopleStoreError`].
fn settled<T>(
    result: Result<T, TransactionError<PeopleStoreError>>,
) -> Result<T, PeopleStoreError> {
    result.map_err(|e| match e {
        TransactionError::Abort(e) => e,
        TransactionError::Storage(e) => PeopleStoreError::Store(e.into()),
    })
}

fn abort(e: impl Into<PeopleStoreError>) -> ConflictableTransactionError<PeopleStoreError> {
    ConflictableTransactionError::Abort(e.into())
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

impl SledPeople {
    /// Ends the session at `key` (and its index entry), without waiting for
    /// the disk; whether there was one.
    fn remove_session(&self, key: &str) -> Result<bool, PeopleStoreError> {
        let removed = settled(
            (self.sessions.tree(), self.session_hashes.tree()).transaction(|(sessions, hashes)| {
                let Some(current) = sessions.remove(key.as_bytes())? else {
                    return Ok(false);
                };
                let session: Session = decode("login_sessions", &current).map_err(abort)?;
                hashes.remove(session.hash.as_bytes())?;
                Ok(true)
            }),
        )?;
        if removed {
            self.sessions.note_removes(2);
        }
        Ok(removed)
    }
}

#[async_trait::async_trait]
impl PeopleStore for SledPeople {
    async fn insert_login(&self, login: &Login) -> Result<(), PeopleStoreError> {
        let record = encode(login);
        let id = encode(&login.id);
        settled(
            (self.logins.tree(), self.emails.tree()).transaction(|(logins, emails)| {
                if emails.get(login.email.as_bytes())?.is_some() {
                    return Err(abort(PeopleStoreError::EmailTaken));
                }
                if logins.get(login.id.as_bytes())?.is_some() {
                    return Err(abort(PeopleStoreError::Exists("a login with this id")));
                }
                emails.insert(login.email.as_bytes(), id.as_slice())?;
                logins.insert(login.id.as_bytes(), record.as_slice())?;
                Ok(())
            }),
        )?;
        self.logins.note_writes(2);
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
        // sled may run the transaction again on a conflict; each run applies
        // the change to the record as it then is.
        let change = RefCell::new(change);
        let moved = Cell::new(false);
        let login = settled((self.logins.tree(), self.emails.tree()).transaction(
            |(logins, emails)| {
                let current = logins
                    .get(id.as_bytes())?
                    .ok_or_else(|| abort(PeopleStoreError::NotFound))?;
                let mut login: Login = decode("logins", &current).map_err(abort)?;
                let old_email = login.email.clone();
                (change.borrow_mut())(&mut login);
                login.id = id.to_string();
                moved.set(login.email != old_email);
                if login.email != old_email {
                    if emails.get(login.email.as_bytes())?.is_some() {
                        return Err(abort(PeopleStoreError::EmailTaken));
                    }
                    emails.insert(login.email.as_bytes(), encode(&login.id))?;
                    emails.remove(old_email.as_bytes())?;
                }
                logins.insert(id.as_bytes(), encode(&login))?;
                Ok(login)
            },
        ))?;
        self.logins.note_reads(1);
        self.logins.note_writes(if moved.get() { 2 } else { 1 });
        self.logins.flush().await?;
        Ok(login)
    }

    async fn insert_session(&self, session: &Session) -> Result<(), PeopleStoreError> {
        let key = session_key(&session.login_id, &session.id);
        let (record, entry) = (encode(session), encode(&key));
        settled(
            (self.sessions.tree(), self.session_hashes.tree()).transaction(|(sessions, hashes)| {
                if hashes.get(session.hash.as_bytes())?.is_some()
                    || sessions.get(key.as_bytes())?.is_some()
                {
                    return Err(abort(PeopleStoreError::Exists(
                        "a session with this id or secret",
                    )));
                }
                hashes.insert(session.hash.as_bytes(), entry.as_slice())?;
                sessions.insert(key.as_bytes(), record.as_slice())?;
                Ok(())
            }),
        )?;
        self.sessions.note_writes(2);
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
        let tree = self.sessions.tree();
        loop {
            let Some(current) = tree.get(&key).map_err(StoreError::from)? else {
                return Ok(());
            };
            self.sessions.note_reads(1);
            let mut session: Session = decode("login_sessions", &current)?;
            if session.last_seen_at >= at {
                return Ok(());
            }
            session.last_seen_at = at;
            if tree
                .compare_and_swap(&key, Some(current), Some(encode(&session)))
                .map_err(StoreError::from)?
                .is_ok()
            {
                self.sessions.note_writes(1);
                return Ok(());
            }
        }
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
        let tree = self.tokens.tree();
        let Some(current) = tree.get(hash).map_err(StoreError::from)? else {
            return Ok(None);
        };
        self.tokens.note_reads(1);
        let token: Token = decode("login_tokens", &current)?;
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
        let at = encode(&event.at);
        let recorded = settled((self.known.tree(), self.events.tree()).transaction(
            |(known, events)| {
                let before = known.get(first_key.as_bytes())?.is_some();
                let mut recorded = event.clone();
                recorded.new_device = before && known.get(device_key.as_bytes())?.is_none();
                recorded.new_address = before && known.get(address_key.as_bytes())?.is_none();
                for key in [&device_key, &address_key, &first_key] {
                    if known.get(key.as_bytes())?.is_none() {
                        known.insert(key.as_bytes(), at.as_slice())?;
                    }
                }
                events.insert(event_key.as_bytes(), encode(&recorded))?;
                Ok(recorded)
            },
        ))?;
        self.known.note_reads(3);
        self.events.note_writes(1);
        self.events.flush().await?;
        Ok(recorded)
    }

    async fn login_events(
        &self,
        login_id: &str,
        limit: usize,
    ) -> Result<Vec<LoginEvent>, PeopleStoreError> {
        let prefix = format!("{login_id}/");
        let mut events = Vec::new();
        for item in self.events.tree().scan_prefix(&prefix).rev().take(limit) {
            let (_, value) = item.map_err(StoreError::from)?;
            self.events.note_reads(1);
            events.push(decode("login_events", &value)?);
        }
        Ok(events)
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
            .tree()
            .iter()
            .filter_map(|item| match item {
                Ok((key, value)) => match decode::<Token>("login_tokens", &value) {
                    Ok(t) if t.expires_at <= now => Some(Ok((
                        String::from_utf8_lossy(&key).into_owned(),
                        value.to_vec(),
                    ))),
                    Ok(_) => None,
                    Err(e) => Some(Err(e)),
                },
                Err(e) => Some(Err(StoreError::from(e))),
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

    use super::SledPeople;
    use crate::store::people::{PeopleStore, conformance};

    fn fresh() -> (tempfile::TempDir, Arc<dyn PeopleStore>) {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::store::Store::open(dir.path()).unwrap();
        (dir, Arc::new(SledPeople::new(&store).unwrap()))
    }

    conformance::suite!(fresh);
}

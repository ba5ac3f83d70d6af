//! [`PeopleStore`] on PostgreSQL: tables `people_logins` (the email address
//! a unique column), `people_sessions` (the secret's hash a unique column),
//! `people_tokens`, `people_known` and `people_login_events`. A login's
//! change reads its row `FOR UPDATE` and writes it back in one transaction;
//! a token is taken with one `DELETE … RETURNING`, which only one of
//! concurrent callers can do.

use tokio_postgres::{GenericClient, Row};

use super::{
    Known, Login, LoginChange, LoginEvent, PeopleStore, PeopleStoreError, SecondFactor, Seen,
    Session, Token, TokenKind,
};
use crate::store::StoreError;
use crate::store::pg::{PgStore, from_text, is_unique_violation, to_text};

/// Logins, sessions, tokens and login events in PostgreSQL.
pub struct PgPeople {
    pg: PgStore,
}

impl PgPeople {
    /// The people tables of the database `pg`.
    pub fn new(pg: &PgStore) -> Self {
        Self { pg: pg.clone() }
    }
}

const LOGIN_COLUMNS: &str = "id, email, password_hash, account_id, role, email_verified_at, \
     created_at, disabled, totp_secret, totp_since, totp_last_step, totp_recovery";

const SESSION_COLUMNS: &str =
    "id, login_id, hash, created_at, last_seen_at, expires_at, user_agent, address, csrf_secret";

const TOKEN_COLUMNS: &str = "hash, kind, login_id, email, role, created_at, expires_at";

const EVENT_COLUMNS: &str = "id, login_id, at, address, user_agent, new_device, new_address";

fn login_from(row: &Row) -> Result<Login, StoreError> {
    Ok(Login {
        id: row.get(0),
        email: row.get(1),
        password_hash: row.get(2),
        account_id: row.get(3),
        role: from_text("people_logins", row.get(4))?,
        email_verified_at: row.get(5),
        created_at: row.get(6),
        disabled: row.get(7),
        second_factor: match (row.get(8), row.get(9), row.get(10), row.get(11)) {
            (Some(secret), Some(since), Some(last_step), Some(recovery_codes)) => {
                Some(SecondFactor {
                    secret,
                    since,
                    last_step,
                    recovery_codes,
                })
            }
            _ => None,
        },
    })
}

/// The second factor's four columns (all null when there is none).
type FactorColumns<'a> = (
    Option<&'a str>,
    Option<&'a str>,
    Option<i64>,
    Option<&'a [String]>,
);

/// The second factor's four columns (all null when there is none).
fn second_factor_columns(l: &Login) -> FactorColumns<'_> {
    match &l.second_factor {
        Some(f) => (
            Some(&f.secret),
            Some(&f.since),
            Some(f.last_step),
            Some(&f.recovery_codes),
        ),
        None => (None, None, None, None),
    }
}

fn session_from(row: &Row) -> Session {
    Session {
        id: row.get(0),
        login_id: row.get(1),
        hash: row.get(2),
        created_at: row.get(3),
        last_seen_at: row.get(4),
        expires_at: row.get(5),
        user_agent: row.get(6),
        address: row.get(7),
        csrf_secret: row.get(8),
    }
}

fn token_from(row: &Row) -> Result<Token, StoreError> {
    Ok(Token {
        hash: row.get(0),
        kind: from_text("people_tokens", row.get(1))?,
        login_id: row.get(2),
        email: row.get(3),
        role: row
            .get::<_, Option<String>>(4)
            .map(|r| from_text("people_tokens", r))
            .transpose()?,
        created_at: row.get(5),
        expires_at: row.get(6),
    })
}

fn event_from(row: &Row) -> LoginEvent {
    LoginEvent {
        id: row.get(0),
        login_id: row.get(1),
        at: row.get(2),
        address: row.get(3),
        user_agent: row.get(4),
        new_device: row.get(5),
        new_address: row.get(6),
    }
}

fn db(e: tokio_postgres::Error) -> PeopleStoreError {
    PeopleStoreError::Store(e.into())
}

/// A write refused by a unique constraint, as the caller's error.
fn refused(e: tokio_postgres::Error, what: &'static str) -> PeopleStoreError {
    if !is_unique_violation(&e) {
        return db(e);
    }
    let on_email = e
        .as_db_error()
        .and_then(|d| d.constraint())
        .is_some_and(|c| c.contains("email"));
    if on_email {
        PeopleStoreError::EmailTaken
    } else {
        PeopleStoreError::Exists(what)
    }
}

/// Stores a new login, within the caller's transaction or alone.
pub(crate) async fn insert_login(
    client: &(impl GenericClient + Sync),
    l: &Login,
) -> Result<(), PeopleStoreError> {
    let (secret, since, last_step, recovery) = second_factor_columns(l);
    client
        .execute(
            &format!(
                "INSERT INTO people_logins ({LOGIN_COLUMNS}) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
            ),
            &[
                &l.id,
                &l.email,
                &l.password_hash,
                &l.account_id,
                &to_text(&l.role),
                &l.email_verified_at,
                &l.created_at,
                &l.disabled,
                &secret,
                &since,
                &last_step,
                &recovery,
            ],
        )
        .await
        .map_err(|e| refused(e, "a login with this id"))?;
    Ok(())
}

/// Stores a new session, within the caller's transaction or alone.
pub(crate) async fn insert_session(
    client: &(impl GenericClient + Sync),
    s: &Session,
) -> Result<(), PeopleStoreError> {
    client
        .execute(
            &format!(
                "INSERT INTO people_sessions ({SESSION_COLUMNS}) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
            ),
            &[
                &s.id,
                &s.login_id,
                &s.hash,
                &s.created_at,
                &s.last_seen_at,
                &s.expires_at,
                &s.user_agent,
                &s.address,
                &s.csrf_secret,
            ],
        )
        .await
        .map_err(|e| refused(e, "a session with this id or secret"))?;
    Ok(())
}

/// Stores a new token, within the caller's transaction or alone.
pub(crate) async fn insert_token(
    client: &(impl GenericClient + Sync),
    t: &Token,
) -> Result<(), PeopleStoreError> {
    client
        .execute(
            &format!(
                "INSERT INTO people_tokens ({TOKEN_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7)"
            ),
            &[
                &t.hash,
                &to_text(&t.kind),
                &t.login_id,
                &t.email,
                &t.role.as_ref().map(to_text),
                &t.created_at,
                &t.expires_at,
            ],
        )
        .await
        .map_err(|e| refused(e, "a token with this secret"))?;
    Ok(())
}

/// Stores a known device or address, within the caller's transaction.
pub(crate) async fn insert_known(
    client: &(impl GenericClient + Sync),
    k: &Known,
) -> Result<(), PeopleStoreError> {
    client
        .execute(
            "INSERT INTO people_known (login_id, kind, value, first_seen_at) VALUES ($1, $2, $3, $4)",
            &[&k.login_id, &to_text(&k.kind), &k.value, &k.first_seen_at],
        )
        .await
        .map_err(|e| refused(e, "a known device or address"))?;
    Ok(())
}

/// Stores a login event as it is, within the caller's transaction or alone.
pub(crate) async fn insert_event(
    client: &(impl GenericClient + Sync),
    e: &LoginEvent,
) -> Result<(), PeopleStoreError> {
    client
        .execute(
            &format!(
                "INSERT INTO people_login_events ({EVENT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7)"
            ),
            &[
                &e.id,
                &e.login_id,
                &e.at,
                &e.address,
                &e.user_agent,
                &e.new_device,
                &e.new_address,
            ],
        )
        .await
        .map_err(|err| refused(err, "a login event with this id"))?;
    Ok(())
}

#[async_trait::async_trait]
impl PeopleStore for PgPeople {
    async fn insert_login(&self, login: &Login) -> Result<(), PeopleStoreError> {
        insert_login(&**self.pg.client().await?, login).await
    }

    async fn login(&self, id: &str) -> Result<Option<Login>, PeopleStoreError> {
        let client = self.pg.client().await?;
        let row = client
            .query_opt(
                &format!("SELECT {LOGIN_COLUMNS} FROM people_logins WHERE id = $1"),
                &[&id],
            )
            .await
            .map_err(db)?;
        Ok(row.as_ref().map(login_from).transpose()?)
    }

    async fn login_by_email(&self, email: &str) -> Result<Option<Login>, PeopleStoreError> {
        let client = self.pg.client().await?;
        let row = client
            .query_opt(
                &format!("SELECT {LOGIN_COLUMNS} FROM people_logins WHERE email = $1"),
                &[&email],
            )
            .await
            .map_err(db)?;
        Ok(row.as_ref().map(login_from).transpose()?)
    }

    async fn logins(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Login>, PeopleStoreError> {
        let client = self.pg.client().await?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = client
            .query(
                &format!(
                    "SELECT {LOGIN_COLUMNS} FROM people_logins \
                     WHERE $1::TEXT IS NULL OR id > $1 ORDER BY id LIMIT $2"
                ),
                &[&after, &limit],
            )
            .await
            .map_err(db)?;
        Ok(rows.iter().map(login_from).collect::<Result<_, _>>()?)
    }

    async fn update_login(
        &self,
        id: &str,
        change: LoginChange<'_>,
    ) -> Result<Login, PeopleStoreError> {
        let mut client = self.pg.client().await?;
        let tx = client.transaction().await.map_err(db)?;
        let row = tx
            .query_opt(
                &format!("SELECT {LOGIN_COLUMNS} FROM people_logins WHERE id = $1 FOR UPDATE"),
                &[&id],
            )
            .await
            .map_err(db)?
            .ok_or(PeopleStoreError::NotFound)?;
        let mut login = login_from(&row)?;
        change(&mut login);
        login.id = id.to_string();
        let (secret, since, last_step, recovery) = second_factor_columns(&login);
        tx.execute(
            "UPDATE people_logins SET email = $2, password_hash = $3, account_id = $4, role = $5, \
             email_verified_at = $6, created_at = $7, disabled = $8, totp_secret = $9, \
             totp_since = $10, totp_last_step = $11, totp_recovery = $12 WHERE id = $1",
            &[
                &login.id,
                &login.email,
                &login.password_hash,
                &login.account_id,
                &to_text(&login.role),
                &login.email_verified_at,
                &login.created_at,
                &login.disabled,
                &secret,
                &since,
                &last_step,
                &recovery,
            ],
        )
        .await
        .map_err(|e| refused(e, "a login with this id"))?;
        tx.commit().await.map_err(db)?;
        Ok(login)
    }

    async fn insert_session(&self, session: &Session) -> Result<(), PeopleStoreError> {
        insert_session(&**self.pg.client().await?, session).await
    }

    async fn session_by_hash(&self, hash: &str) -> Result<Option<Session>, PeopleStoreError> {
        let client = self.pg.client().await?;
        let row = client
            .query_opt(
                &format!("SELECT {SESSION_COLUMNS} FROM people_sessions WHERE hash = $1"),
                &[&hash],
            )
            .await
            .map_err(db)?;
        Ok(row.as_ref().map(session_from))
    }

    async fn touch_session(
        &self,
        login_id: &str,
        id: &str,
        at: i64,
    ) -> Result<(), PeopleStoreError> {
        let mut client = self.pg.client().await?;
        let tx = client.transaction().await.map_err(db)?;
        // Losing a use in a crash is harmless: do not wait for the disk.
        tx.batch_execute("SET LOCAL synchronous_commit TO OFF")
            .await
            .map_err(db)?;
        tx.execute(
            "UPDATE people_sessions SET last_seen_at = $3 \
             WHERE id = $2 AND login_id = $1 AND last_seen_at < $3",
            &[&login_id, &id, &at],
        )
        .await
        .map_err(db)?;
        tx.commit().await.map_err(db)?;
        Ok(())
    }

    async fn sessions_of(&self, login_id: &str) -> Result<Vec<Session>, PeopleStoreError> {
        let client = self.pg.client().await?;
        let rows = client
            .query(
                &format!(
                    "SELECT {SESSION_COLUMNS} FROM people_sessions WHERE login_id = $1 ORDER BY id"
                ),
                &[&login_id],
            )
            .await
            .map_err(db)?;
        Ok(rows.iter().map(session_from).collect())
    }

    async fn revoke_session(&self, login_id: &str, id: &str) -> Result<bool, PeopleStoreError> {
        let client = self.pg.client().await?;
        let n = client
            .execute(
                "DELETE FROM people_sessions WHERE login_id = $1 AND id = $2",
                &[&login_id, &id],
            )
            .await
            .map_err(db)?;
        Ok(n > 0)
    }

    async fn revoke_sessions(
        &self,
        login_id: &str,
        except: Option<&str>,
    ) -> Result<u64, PeopleStoreError> {
        let client = self.pg.client().await?;
        Ok(client
            .execute(
                "DELETE FROM people_sessions WHERE login_id = $1 \
                 AND ($2::TEXT IS NULL OR id <> $2)",
                &[&login_id, &except],
            )
            .await
            .map_err(db)?)
    }

    async fn insert_token(&self, token: &Token) -> Result<(), PeopleStoreError> {
        insert_token(&**self.pg.client().await?, token).await
    }

    async fn consume_token(
        &self,
        hash: &str,
        kind: TokenKind,
        now: i64,
    ) -> Result<Option<Token>, PeopleStoreError> {
        let client = self.pg.client().await?;
        let row = client
            .query_opt(
                &format!(
                    "DELETE FROM people_tokens WHERE hash = $1 AND kind = $2 AND expires_at > $3 \
                     RETURNING {TOKEN_COLUMNS}"
                ),
                &[&hash, &to_text(&kind), &now],
            )
            .await
            .map_err(db)?;
        Ok(row.as_ref().map(token_from).transpose()?)
    }

    async fn record_login(
        &self,
        event: &LoginEvent,
        device: &str,
        address: &str,
    ) -> Result<LoginEvent, PeopleStoreError> {
        let mut client = self.pg.client().await?;
        let tx = client.transaction().await.map_err(db)?;
        let before: bool = tx
            .query_one(
                "SELECT EXISTS (SELECT 1 FROM people_login_events WHERE login_id = $1)",
                &[&event.login_id],
            )
            .await
            .map_err(db)?
            .get(0);
        let mut fresh = [false; 2];
        for (i, (kind, value)) in [(Seen::Device, device), (Seen::Address, address)]
            .into_iter()
            .enumerate()
        {
            fresh[i] = tx
                .execute(
                    "INSERT INTO people_known (login_id, kind, value, first_seen_at) \
                     VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
                    &[&event.login_id, &to_text(&kind), &value, &event.at],
                )
                .await
                .map_err(db)?
                == 1;
        }
        let mut recorded = event.clone();
        recorded.new_device = before && fresh[0];
        recorded.new_address = before && fresh[1];
        insert_event(&*tx, &recorded).await?;
        tx.commit().await.map_err(db)?;
        Ok(recorded)
    }

    async fn login_events(
        &self,
        login_id: &str,
        limit: usize,
    ) -> Result<Vec<LoginEvent>, PeopleStoreError> {
        let client = self.pg.client().await?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = client
            .query(
                &format!(
                    "SELECT {EVENT_COLUMNS} FROM people_login_events WHERE login_id = $1 \
                     ORDER BY id DESC LIMIT $2"
                ),
                &[&login_id, &limit],
            )
            .await
            .map_err(db)?;
        Ok(rows.iter().map(event_from).collect())
    }

    async fn purge_expired(&self, now: i64, idle_since: i64) -> Result<u64, PeopleStoreError> {
        let client = self.pg.client().await?;
        let sessions = client
            .execute(
                "DELETE FROM people_sessions WHERE expires_at <= $1 OR last_seen_at < $2",
                &[&now, &idle_since],
            )
            .await
            .map_err(db)?;
        let tokens = client
            .execute("DELETE FROM people_tokens WHERE expires_at <= $1", &[&now])
            .await
            .map_err(db)?;
        Ok(sessions + tokens)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::PgPeople;
    use crate::store::people::{PeopleStore, conformance};
    use crate::store::pg::testing::{TestDb, fresh_store_blocking};

    fn fresh_pg() -> (TestDb, Arc<dyn PeopleStore>) {
        let (db, pg) = fresh_store_blocking();
        (db, Arc::new(PgPeople::new(&pg)))
    }

    conformance::suite!(fresh_pg);
}

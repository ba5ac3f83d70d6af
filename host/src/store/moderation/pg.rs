//! [`ModerationStore`] on PostgreSQL: tables `moderation_flags`,
//! `moderation_strikes` (one per account and flagged request),
//! `moderation_notices` (with the effect not yet settled, if any) and
//! `moderation_appeals` (at most one per notice, referencing it); the audit
//! entries of the steps go to `audit` in the step's transaction.
//!
//! Each method is one transaction whose checks are part of it: an appeal
//! or decision locks the rows it reads (`FOR UPDATE`), so a second appeal
//! of a notice or a second decision of an appeal waits for the first and
//! then finds it; strikes on one account are counted under a
//! transaction-scoped advisory lock on the account, so each sees those
//! counted before it.

use tokio_postgres::types::ToSql;
use tokio_postgres::{GenericClient, Row};

use super::{
    Appeal, AppealError, AppealStatus, Decision, Effect, Flag, FlagQuery, ModerationStore, Notice,
    NoticeAction, NoticeStatus, Strike, StrikeEntry, Verdict,
};
use crate::store::StoreError;
use crate::store::audit::AuditEntry;
use crate::store::audit::pg::insert as insert_audit;
use crate::store::pg::{PgStore, from_json, from_text, is_unique_violation, to_json, to_text};

/// The first key of the advisory locks that order an account's strikes
/// ("imi" 2).
const STRIKE_LOCKS: i32 = 0x696d_6902;

/// Moderation records in PostgreSQL.
pub struct PgModeration {
    pg: PgStore,
}

impl PgModeration {
    /// The moderation records of the database `pg` (and its audit log).
    pub fn new(pg: &PgStore) -> Self {
        Self { pg: pg.clone() }
    }
}

const FLAG_COLUMNS: &str = "id, created_at, stage, action, policy, category, reason, account_id, \
     key_id, request_id, task_id, model, interaction";

const STRIKE_COLUMNS: &str = "account_id, key_id, at, evidence, voided";

const NOTICE_COLUMNS: &str = "id, account_id, key_id, action, reason, evidence, by_actor, \
     created_at, appeal_until, status, appeal_id";

const APPEAL_COLUMNS: &str =
    "id, notice_id, account_id, message, status, created_at, decided_at, note";

fn flag_from(row: &Row) -> Result<Flag, StoreError> {
    Ok(Flag {
        id: row.get(0),
        created_at: row.get(1),
        stage: row.get(2),
        action: row.get(3),
        policy: row.get(4),
        category: row.get(5),
        reason: row.get(6),
        account_id: row.get(7),
        key_id: row.get(8),
        request_id: row.get(9),
        task_id: row.get(10),
        model: row.get(11),
        interaction: from_json("moderation_flags", row.get(12))?,
    })
}

fn strike_from(row: &Row) -> Result<Strike, StoreError> {
    Ok(Strike {
        account_id: row.get(0),
        key_id: row.get(1),
        at: row.get(2),
        evidence: from_json("moderation_strikes", row.get(3))?,
        voided: row.get(4),
    })
}

fn notice_from(row: &Row) -> Result<Notice, StoreError> {
    Ok(Notice {
        id: row.get(0),
        account_id: row.get(1),
        key_id: row.get(2),
        action: from_text("moderation_notices", row.get(3))?,
        reason: row.get(4),
        evidence: from_json("moderation_notices", row.get(5))?,
        by: row.get(6),
        created_at: row.get(7),
        appeal_until: row.get(8),
        status: from_text("moderation_notices", row.get(9))?,
        appeal_id: row.get(10),
    })
}

fn appeal_from(row: &Row) -> Result<Appeal, StoreError> {
    Ok(Appeal {
        id: row.get(0),
        notice_id: row.get(1),
        account_id: row.get(2),
        message: row.get(3),
        status: from_text("moderation_appeals", row.get(4))?,
        created_at: row.get(5),
        decided_at: row.get(6),
        note: row.get(7),
    })
}

fn notices_from(rows: &[Row]) -> Result<Vec<Notice>, StoreError> {
    rows.iter().map(notice_from).collect()
}

/// A database error as an [`AppealError`].
fn store(e: tokio_postgres::Error) -> AppealError {
    AppealError::Store(e.into())
}

/// Stores a flagged request, within the caller's transaction or alone.
pub(crate) async fn insert_flag(
    client: &(impl GenericClient + Sync),
    flag: &Flag,
) -> Result<(), StoreError> {
    let interaction = to_json(&flag.interaction);
    let params: [&(dyn ToSql + Sync); 13] = [
        &flag.id,
        &flag.created_at,
        &flag.stage,
        &flag.action,
        &flag.policy,
        &flag.category,
        &flag.reason,
        &flag.account_id,
        &flag.key_id,
        &flag.request_id,
        &flag.task_id,
        &flag.model,
        &interaction,
    ];
    client
        .execute(
            &format!(
                "INSERT INTO moderation_flags ({FLAG_COLUMNS}) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
            ),
            &params,
        )
        .await
        .map_err(|e| {
            if is_unique_violation(&e) {
                StoreError::Conflict("a flagged request with this id exists")
            } else {
                e.into()
            }
        })?;
    Ok(())
}

/// Stores a strike within the caller's transaction; false if the refusal
/// is a strike already.
pub(crate) async fn insert_strike(
    tx: &tokio_postgres::Transaction<'_>,
    strike: &Strike,
) -> Result<bool, StoreError> {
    let evidence = to_json(&strike.evidence);
    let added = tx
        .execute(
            "INSERT INTO moderation_strikes \
             (account_id, flag_id, key_id, at, evidence, voided) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (account_id, flag_id) DO NOTHING",
            &[
                &strike.account_id,
                &strike.evidence.flag_id,
                &strike.key_id,
                &strike.at,
                &evidence,
                &strike.voided,
            ],
        )
        .await?;
    Ok(added == 1)
}

/// Stores a notice, marked with the effect not yet known to be applied
/// (if any), within the caller's transaction.
pub(crate) async fn insert_notice(
    tx: &tokio_postgres::Transaction<'_>,
    notice: &Notice,
    unsettled: Option<Effect>,
) -> Result<(), StoreError> {
    let (action, status, evidence) = (
        to_text(&notice.action),
        to_text(&notice.status),
        to_json(&notice.evidence),
    );
    let unsettled = unsettled.map(|e| to_text(&e));
    let params: [&(dyn ToSql + Sync); 12] = [
        &notice.id,
        &notice.account_id,
        &notice.key_id,
        &action,
        &notice.reason,
        &evidence,
        &notice.by,
        &notice.created_at,
        &notice.appeal_until,
        &status,
        &notice.appeal_id,
        &unsettled,
    ];
    tx.execute(
        &format!(
            "INSERT INTO moderation_notices ({NOTICE_COLUMNS}, unsettled) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
        ),
        &params,
    )
    .await
    .map_err(|e| {
        if is_unique_violation(&e) {
            StoreError::Conflict("a notice with this id exists")
        } else {
            e.into()
        }
    })?;
    Ok(())
}

/// Stores an appeal (whose notice is stored) within the caller's
/// transaction.
pub(crate) async fn insert_appeal(
    tx: &tokio_postgres::Transaction<'_>,
    appeal: &Appeal,
) -> Result<(), tokio_postgres::Error> {
    let status = to_text(&appeal.status);
    tx.execute(
        &format!(
            "INSERT INTO moderation_appeals ({APPEAL_COLUMNS}) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
        ),
        &[
            &appeal.id,
            &appeal.notice_id,
            &appeal.account_id,
            &appeal.message,
            &status,
            &appeal.created_at,
            &appeal.decided_at,
            &appeal.note,
        ],
    )
    .await?;
    Ok(())
}

#[async_trait::async_trait]
impl ModerationStore for PgModeration {
    async fn record_flag(&self, flag: &Flag) -> Result<(), StoreError> {
        insert_flag(&**self.pg.client().await?, flag).await
    }

    async fn flag(&self, id: &str) -> Result<Option<Flag>, StoreError> {
        let client = self.pg.client().await?;
        let row = client
            .query_opt(
                &format!("SELECT {FLAG_COLUMNS} FROM moderation_flags WHERE id = $1"),
                &[&id],
            )
            .await?;
        row.as_ref().map(flag_from).transpose()
    }

    async fn flags(&self, q: &FlagQuery, limit: usize) -> Result<(Vec<Flag>, bool), StoreError> {
        let client = self.pg.client().await?;
        let fetch = i64::try_from(limit).unwrap_or(i64::MAX - 1) + 1;
        let rows = client
            .query(
                &format!(
                    "SELECT {FLAG_COLUMNS} FROM moderation_flags \
                     WHERE ($1::text IS NULL OR id < $1) \
                       AND ($2::text IS NULL OR account_id = $2) \
                       AND ($3::text IS NULL OR action = $3) \
                       AND ($4::text IS NULL OR category = $4) \
                       AND ($5::text IS NULL OR stage = $5) \
                     ORDER BY id DESC LIMIT $6"
                ),
                &[
                    &q.after,
                    &q.account_id,
                    &q.action,
                    &q.category,
                    &q.stage,
                    &fetch,
                ],
            )
            .await?;
        let more = rows.len() > limit;
        let flags = rows
            .iter()
            .take(limit)
            .map(flag_from)
            .collect::<Result<_, _>>()?;
        Ok((flags, more))
    }

    async fn add_strike(
        &self,
        strike: &Strike,
        since: i64,
        entry: StrikeEntry<'_>,
    ) -> Result<Vec<Strike>, StoreError> {
        let mut client = self.pg.client().await?;
        let tx = client.transaction().await?;
        // Strikes on one account, one after another.
        tx.execute(
            "SELECT pg_advisory_xact_lock($1, hashtext($2))",
            &[&STRIKE_LOCKS, &strike.account_id],
        )
        .await?;
        if !insert_strike(&tx, strike).await? {
            return Err(StoreError::Conflict("this refusal is already a strike"));
        }
        let rows = tx
            .query(
                &format!(
                    "SELECT {STRIKE_COLUMNS} FROM moderation_strikes \
                     WHERE account_id = $1 AND NOT voided AND at >= $2 ORDER BY at, flag_id"
                ),
                &[&strike.account_id, &since],
            )
            .await?;
        let window = rows
            .iter()
            .map(strike_from)
            .collect::<Result<Vec<_>, _>>()?;
        insert_audit(&*tx, &entry(&window)).await?;
        tx.commit().await?;
        Ok(window)
    }

    async fn record_enforcement(
        &self,
        notice: &Notice,
        entry: &AuditEntry,
        in_effect: bool,
    ) -> Result<(), StoreError> {
        let mut client = self.pg.client().await?;
        let tx = client.transaction().await?;
        insert_notice(&tx, notice, (!in_effect).then(|| notice.effect())).await?;
        insert_audit(&*tx, entry).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn notice(&self, account_id: &str, id: &str) -> Result<Option<Notice>, StoreError> {
        let client = self.pg.client().await?;
        let row = client
            .query_opt(
                &format!(
                    "SELECT {NOTICE_COLUMNS} FROM moderation_notices \
                     WHERE account_id = $1 AND id = $2"
                ),
                &[&account_id, &id],
            )
            .await?;
        row.as_ref().map(notice_from).transpose()
    }

    async fn notices_of(&self, account_id: &str) -> Result<Vec<Notice>, StoreError> {
        let client = self.pg.client().await?;
        let rows = client
            .query(
                &format!(
                    "SELECT {NOTICE_COLUMNS} FROM moderation_notices WHERE account_id = $1 \
                     ORDER BY id DESC"
                ),
                &[&account_id],
            )
            .await?;
        notices_from(&rows)
    }

    async fn notices(&self) -> Result<Vec<Notice>, StoreError> {
        let client = self.pg.client().await?;
        let rows = client
            .query(
                &format!(
                    "SELECT {NOTICE_COLUMNS} FROM moderation_notices ORDER BY id DESC, account_id DESC"
                ),
                &[],
            )
            .await?;
        notices_from(&rows)
    }

    async fn file_appeal(
        &self,
        appeal: &Appeal,
        entry: &AuditEntry,
    ) -> Result<Notice, AppealError> {
        let mut client = self.pg.client().await?;
        let tx = client.transaction().await.map_err(store)?;
        let row = tx
            .query_opt(
                &format!(
                    "SELECT {NOTICE_COLUMNS} FROM moderation_notices \
                     WHERE account_id = $1 AND id = $2 FOR UPDATE"
                ),
                &[&appeal.account_id, &appeal.notice_id],
            )
            .await
            .map_err(store)?
            .ok_or(AppealError::NotFound("notice"))?;
        let mut notice = notice_from(&row)?;
        match notice.status {
            NoticeStatus::Open => {}
            NoticeStatus::Appealed => {
                return Err(AppealError::Conflict(format!(
                    "this notice is already appealed ({})",
                    notice.appeal_id.unwrap_or_default()
                )));
            }
            NoticeStatus::Reinstated | NoticeStatus::Upheld => {
                return Err(AppealError::Conflict(
                    "an appeal of this notice was already decided".into(),
                ));
            }
            NoticeStatus::Paid => {
                return Err(AppealError::Conflict(
                    "this suspension was lifted when the amount due was paid".into(),
                ));
            }
        }
        insert_appeal(&tx, appeal).await.map_err(|e| {
            if is_unique_violation(&e) {
                AppealError::Conflict("an appeal with this id, or of this notice, exists".into())
            } else {
                store(e)
            }
        })?;
        notice.status = NoticeStatus::Appealed;
        notice.appeal_id = Some(appeal.id.clone());
        let notice_status = to_text(&notice.status);
        tx.execute(
            "UPDATE moderation_notices SET status = $3, appeal_id = $4 \
             WHERE account_id = $1 AND id = $2",
            &[
                &notice.account_id,
                &notice.id,
                &notice_status,
                &notice.appeal_id,
            ],
        )
        .await
        .map_err(store)?;
        insert_audit(&*tx, entry).await?;
        tx.commit().await.map_err(store)?;
        Ok(notice)
    }

    async fn appeal(&self, id: &str) -> Result<Option<Appeal>, StoreError> {
        let client = self.pg.client().await?;
        let row = client
            .query_opt(
                &format!("SELECT {APPEAL_COLUMNS} FROM moderation_appeals WHERE id = $1"),
                &[&id],
            )
            .await?;
        row.as_ref().map(appeal_from).transpose()
    }

    async fn appeals(
        &self,
        account_id: Option<&str>,
        status: Option<AppealStatus>,
    ) -> Result<Vec<Appeal>, StoreError> {
        let client = self.pg.client().await?;
        let status = status.map(|s| to_text(&s));
        let rows = client
            .query(
                &format!(
                    "SELECT {APPEAL_COLUMNS} FROM moderation_appeals \
                     WHERE ($1::text IS NULL OR account_id = $1) \
                       AND ($2::text IS NULL OR status = $2) \
                     ORDER BY id DESC"
                ),
                &[&account_id, &status],
            )
            .await?;
        rows.iter().map(appeal_from).collect()
    }

    async fn decide_appeal(
        &self,
        decision: &Decision,
        entry: &AuditEntry,
    ) -> Result<(Appeal, Notice), AppealError> {
        let mut client = self.pg.client().await?;
        let tx = client.transaction().await.map_err(store)?;
        let row = tx
            .query_opt(
                &format!(
                    "SELECT {APPEAL_COLUMNS} FROM moderation_appeals WHERE id = $1 FOR UPDATE"
                ),
                &[&decision.appeal_id],
            )
            .await
            .map_err(store)?
            .ok_or(AppealError::NotFound("appeal"))?;
        let mut appeal = appeal_from(&row)?;
        if appeal.status != AppealStatus::Pending {
            return Err(AppealError::Conflict(
                "this appeal is already decided".into(),
            ));
        }
        let row = tx
            .query_opt(
                &format!(
                    "SELECT {NOTICE_COLUMNS} FROM moderation_notices \
                     WHERE account_id = $1 AND id = $2 FOR UPDATE"
                ),
                &[&appeal.account_id, &appeal.notice_id],
            )
            .await
            .map_err(store)?
            .ok_or(AppealError::NotFound("notice"))?;
        let mut notice = notice_from(&row)?;
        let unsettled: Option<String>;
        (appeal.status, notice.status, unsettled) = match decision.verdict {
            Verdict::Reinstate { void_strikes_since } => {
                // A key's suspension rested on the key's strikes only.
                let key_only = notice.action == NoticeAction::KeySuspended;
                tx.execute(
                    "UPDATE moderation_strikes SET voided = TRUE \
                     WHERE account_id = $1 AND NOT voided AND at >= $2 \
                       AND (NOT $3 OR key_id IS NOT DISTINCT FROM $4)",
                    &[
                        &notice.account_id,
                        &void_strikes_since,
                        &key_only,
                        &notice.key_id,
                    ],
                )
                .await
                .map_err(store)?;
                (
                    AppealStatus::Reinstated,
                    NoticeStatus::Reinstated,
                    Some(to_text(&Effect::Lift)),
                )
            }
            Verdict::Uphold => (AppealStatus::Upheld, NoticeStatus::Upheld, None),
        };
        appeal.decided_at = Some(decision.decided_at.clone());
        appeal.note = decision.note.clone();
        let appeal_status = to_text(&appeal.status);
        tx.execute(
            "UPDATE moderation_appeals SET status = $2, decided_at = $3, note = $4 WHERE id = $1",
            &[&appeal.id, &appeal_status, &appeal.decided_at, &appeal.note],
        )
        .await
        .map_err(store)?;
        let notice_status = to_text(&notice.status);
        tx.execute(
            "UPDATE moderation_notices SET status = $3, unsettled = COALESCE($4, unsettled) \
             WHERE account_id = $1 AND id = $2",
            &[&notice.account_id, &notice.id, &notice_status, &unsettled],
        )
        .await
        .map_err(store)?;
        insert_audit(&*tx, entry).await?;
        tx.commit().await.map_err(store)?;
        Ok((appeal, notice))
    }

    async fn mark_paid(
        &self,
        account_id: &str,
        id: &str,
        entry: &AuditEntry,
    ) -> Result<Option<Notice>, StoreError> {
        let mut client = self.pg.client().await?;
        let tx = client.transaction().await?;
        let action = to_text(&NoticeAction::AccountSuspendedOverdue);
        let row = tx
            .query_opt(
                &format!(
                    "UPDATE moderation_notices SET status = 'paid', unsettled = 'lift' \
                     WHERE account_id = $1 AND id = $2 AND action = $3 \
                       AND status IN ('open', 'appealed', 'upheld') \
                     RETURNING {NOTICE_COLUMNS}"
                ),
                &[&account_id, &id, &action],
            )
            .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let notice = notice_from(&row)?;
        insert_audit(&*tx, entry).await?;
        tx.commit().await?;
        Ok(Some(notice))
    }

    async fn unsettled(&self) -> Result<Vec<Notice>, StoreError> {
        let client = self.pg.client().await?;
        let rows = client
            .query(
                &format!(
                    "SELECT {NOTICE_COLUMNS} FROM moderation_notices WHERE unsettled IS NOT NULL \
                     ORDER BY id, account_id"
                ),
                &[],
            )
            .await?;
        notices_from(&rows)
    }

    async fn settle(&self, account_id: &str, id: &str, effect: Effect) -> Result<(), StoreError> {
        let client = self.pg.client().await?;
        let effect = to_text(&effect);
        client
            .execute(
                "UPDATE moderation_notices SET unsettled = NULL \
                 WHERE account_id = $1 AND id = $2 AND unsettled = $3",
                &[&account_id, &id, &effect],
            )
            .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::PgModeration;
    use crate::store::audit::{AuditStore, PgAudit};
    use crate::store::moderation::ModerationStore;
    use crate::store::pg::testing::{TestDb, fresh_store};

    async fn fresh_pg() -> (TestDb, Arc<dyn ModerationStore>, Arc<dyn AuditStore>) {
        let (db, pg) = fresh_store().await;
        (
            db,
            Arc::new(PgModeration::new(&pg)),
            Arc::new(PgAudit::new(&pg)),
        )
    }

    crate::store::moderation::conformance::suite!(fresh_pg);
}

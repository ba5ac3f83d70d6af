//! [`ModerationStore`] on the embedded store.
//!
//! Trees, with the keys of the layout before this store (no migration):
//! `moderation_flags` (by flag id), `moderation_strikes`
//! (`{account}/{at:020}/{flag id}`), `moderation_notices`
//! (`{account}/{notice id}`), `moderation_appeals` (by appeal id); new:
//! `moderation_unsettled` (`{account}/{notice id}` → the [`Effect`] not yet
//! known to be applied; empty in an older data directory, whose notices
//! were all written after their action). Audit entries of moderation steps
//! go to the audit log's tree, `audit`, in the step's commit group.
//!
//! A group that reads before it writes (a strike counted, an appeal filed
//! or decided, a notice recorded) holds this store's lock while it reads,
//! checks and writes, so its checks cannot be raced; its writes, in several
//! trees, are one transaction (all or nothing, also in a crash). The
//! lock is released before the flush, which concurrent groups share. These
//! groups are rare (refusals, operator actions); flagged-request records,
//! written on every flagged request, are single records written without
//! the lock.
//!
//! Steps across aggregates, ordered so that a crash anywhere leaves
//! nothing a restart does not repair:
//! 1. the notice, its audit entry and its unsettled mark, one group
//!    ([`ModerationStore::record_enforcement`], or a reinstatement by
//!    [`ModerationStore::decide_appeal`]);
//! 2. the action applied to (or lifted from) the key or account by the
//!    accounts store's own atomic change, which is idempotent;
//! 3. [`ModerationStore::settle`] removes the mark.
//!
//! At start, the moderation service applies the [`Notice::effect`] of every
//! notice still marked ([`ModerationStore::unsettled`]) and settles it. A
//! notice an appeal reinstated is marked to be lifted, never to be applied
//! again; a settled notice is never applied again, so an operator who later
//! lifts a suspension by hand is not overruled at the next start.

use std::sync::{Mutex, MutexGuard};

use serde::Serialize;

use super::{
    Appeal, AppealError, AppealStatus, Decision, Effect, Flag, FlagQuery, ModerationStore, Notice,
    NoticeAction, NoticeStatus, Strike, StrikeEntry, Verdict,
};
use crate::store::audit::AuditEntry;
use crate::store::{Store, StoreError, Table};

/// Moderation records in the embedded store.
pub struct EmbeddedModeration {
    flags: Table,
    strikes: Table,
    notices: Table,
    appeals: Table,
    unsettled: Table,
    audit: Table,
    /// Orders the groups that read before they write.
    lock: Mutex<()>,
}

/// The trees a commit group writes, in the order of [`EmbeddedModeration::trees`].
#[derive(Clone, Copy)]
enum Tree {
    Strikes,
    Notices,
    Appeals,
    Unsettled,
    Audit,
}

/// One write of a commit group: a record stored, or removed (`None`).
struct Write {
    tree: Tree,
    key: String,
    value: Option<Vec<u8>>,
    /// Whether the record must be new: if one is stored at its key, the
    /// group is refused.
    new: bool,
}

/// A record stored, replacing any at its key.
fn put(tree: Tree, key: String, value: &impl Serialize) -> Write {
    Write {
        tree,
        key,
        value: Some(serde_json::to_vec(value).expect("records serialise")),
        new: false,
    }
}

/// A new record stored (the group is refused if one is at its key).
fn add(tree: Tree, key: String, value: &impl Serialize) -> Write {
    Write {
        new: true,
        ..put(tree, key, value)
    }
}

fn strike_key(s: &Strike) -> String {
    format!(
        "{}/{:020}/{}",
        s.account_id,
        s.at.max(0),
        s.evidence.flag_id
    )
}

fn notice_key(account_id: &str, id: &str) -> String {
    format!("{account_id}/{id}")
}

impl EmbeddedModeration {
    /// The store's moderation trees (and the audit log's).
    pub fn open(store: &Store) -> Result<Self, StoreError> {
        Ok(Self {
            flags: store.table("moderation_flags")?,
            strikes: store.table("moderation_strikes")?,
            notices: store.table("moderation_notices")?,
            appeals: store.table("moderation_appeals")?,
            unsettled: store.table("moderation_unsettled")?,
            audit: store.table("audit")?,
            lock: Mutex::new(()),
        })
    }

    /// Every flagged request, for a copy to another database.
    pub(crate) fn export_flags(&self) -> impl Iterator<Item = Result<Flag, StoreError>> + '_ {
        self.flags.records()
    }

    /// Every strike, for a copy to another database.
    pub(crate) fn export_strikes(&self) -> impl Iterator<Item = Result<Strike, StoreError>> + '_ {
        self.strikes.records()
    }

    /// Every notice with the effect not yet known to be applied (if any),
    /// for a copy to another database.
    pub(crate) fn export_notices(
        &self,
    ) -> impl Iterator<Item = Result<(Notice, Option<Effect>), StoreError>> + '_ {
        self.notices.scan::<Notice>().map(|item| {
            let (key, notice) = item?;
            Ok((notice, self.unsettled.get::<Effect>(&key)?))
        })
    }

    /// Every appeal, for a copy to another database.
    pub(crate) fn export_appeals(&self) -> impl Iterator<Item = Result<Appeal, StoreError>> + '_ {
        self.appeals.records()
    }

    fn lock(&self) -> MutexGuard<'_, ()> {
        // The lock guards no data: a panic under it leaves nothing half-done
        // in memory.
        self.lock.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn table(&self, tree: Tree) -> &Table {
        match tree {
            Tree::Strikes => &self.strikes,
            Tree::Notices => &self.notices,
            Tree::Appeals => &self.appeals,
            Tree::Unsettled => &self.unsettled,
            Tree::Audit => &self.audit,
        }
    }

    /// Writes a group in one transaction, without waiting for the disk;
    /// [`StoreError::Conflict`], writing nothing, if a record meant to be
    /// new is not.
    fn commit(&self, writes: &[Write]) -> Result<(), StoreError> {
        self.strikes.store().transaction(|tx| {
            for w in writes {
                let table = self.table(w.tree);
                if w.new && tx.contains(table, &w.key)? {
                    return Err(StoreError::Conflict("a record with this id exists"));
                }
                match &w.value {
                    Some(value) => tx.put_raw(table, w.key.as_bytes(), value.clone()),
                    None => tx.remove(table, &w.key),
                }
            }
            Ok(())
        })
    }

    /// The account's strikes with keys from `start` on, in key order.
    fn strikes_from(
        &self,
        account_id: &str,
        since: i64,
    ) -> Result<Vec<(String, Strike)>, StoreError> {
        let prefix = format!("{account_id}/");
        let start = format!("{prefix}{:020}", since.max(0));
        self.strikes.scan_from::<Strike>(&start, &prefix).collect()
    }
}

#[async_trait::async_trait]
impl ModerationStore for EmbeddedModeration {
    async fn record_flag(&self, flag: &Flag) -> Result<(), StoreError> {
        let bytes = serde_json::to_vec(flag).expect("records serialise");
        if !self
            .flags
            .compare_and_swap(&flag.id, None, Some(bytes.as_slice()))?
        {
            return Err(StoreError::Conflict(
                "a flagged request with this id exists",
            ));
        }
        self.flags.flush().await
    }

    async fn flag(&self, id: &str) -> Result<Option<Flag>, StoreError> {
        self.flags.get(id)
    }

    async fn flags(&self, q: &FlagQuery, limit: usize) -> Result<(Vec<Flag>, bool), StoreError> {
        let mut out = Vec::new();
        for item in self.flags.scan_rev::<Flag>(q.after.as_deref()) {
            let (_, f) = item?;
            if !f.matches(q) {
                continue;
            }
            if out.len() == limit {
                return Ok((out, true));
            }
            out.push(f);
        }
        Ok((out, false))
    }

    async fn add_strike(
        &self,
        strike: &Strike,
        since: i64,
        entry: StrikeEntry<'_>,
    ) -> Result<Vec<Strike>, StoreError> {
        let key = strike_key(strike);
        let in_window = {
            let _order = self.lock();
            if self.strikes.get::<Strike>(&key)?.is_some() {
                return Err(StoreError::Conflict("this refusal is already a strike"));
            }
            let mut in_window = self.strikes_from(&strike.account_id, since)?;
            in_window.push((key.clone(), strike.clone()));
            in_window.retain(|(_, s)| !s.voided && s.at >= since);
            in_window.sort_by(|a, b| a.0.cmp(&b.0));
            let in_window: Vec<Strike> = in_window.into_iter().map(|(_, s)| s).collect();
            let entry = entry(in_window.as_slice());
            self.commit(&[
                add(Tree::Strikes, key, strike),
                add(Tree::Audit, entry.id.clone(), &entry),
            ])?;
            in_window
        };
        self.strikes.flush().await?;
        Ok(in_window)
    }

    async fn record_enforcement(
        &self,
        notice: &Notice,
        entry: &AuditEntry,
        in_effect: bool,
    ) -> Result<(), StoreError> {
        let key = notice_key(&notice.account_id, &notice.id);
        {
            let _order = self.lock();
            if self.notices.get::<Notice>(&key)?.is_some() {
                return Err(StoreError::Conflict("a notice with this id exists"));
            }
            let mut writes = vec![
                add(Tree::Notices, key.clone(), notice),
                add(Tree::Audit, entry.id.clone(), entry),
            ];
            if !in_effect {
                writes.push(put(Tree::Unsettled, key, &notice.effect()));
            }
            self.commit(&writes)?;
        }
        self.notices.flush().await
    }

    async fn notice(&self, account_id: &str, id: &str) -> Result<Option<Notice>, StoreError> {
        self.notices.get(&notice_key(account_id, id))
    }

    async fn notices_of(&self, account_id: &str) -> Result<Vec<Notice>, StoreError> {
        let prefix = format!("{account_id}/");
        let mut list: Vec<Notice> = self
            .notices
            .scan_from::<Notice>(&prefix, &prefix)
            .map(|item| item.map(|(_, n)| n))
            .collect::<Result<_, _>>()?;
        list.reverse();
        Ok(list)
    }

    async fn notices(&self) -> Result<Vec<Notice>, StoreError> {
        let mut list: Vec<Notice> = self
            .notices
            .scan::<Notice>()
            .map(|item| item.map(|(_, n)| n))
            .collect::<Result<_, _>>()?;
        list.sort_by(|a, b| b.id.cmp(&a.id));
        Ok(list)
    }

    async fn file_appeal(
        &self,
        appeal: &Appeal,
        entry: &AuditEntry,
    ) -> Result<Notice, AppealError> {
        let key = notice_key(&appeal.account_id, &appeal.notice_id);
        let notice = {
            let _order = self.lock();
            let mut notice: Notice = self
                .notices
                .get(&key)?
                .ok_or(AppealError::NotFound("notice"))?;
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
            if self.appeals.get::<Appeal>(&appeal.id)?.is_some() {
                return Err(AppealError::Conflict(
                    "an appeal with this id exists".into(),
                ));
            }
            notice.status = NoticeStatus::Appealed;
            notice.appeal_id = Some(appeal.id.clone());
            self.commit(&[
                add(Tree::Appeals, appeal.id.clone(), appeal),
                put(Tree::Notices, key, &notice),
                add(Tree::Audit, entry.id.clone(), entry),
            ])?;
            notice
        };
        self.appeals.flush().await?;
        Ok(notice)
    }

    async fn appeal(&self, id: &str) -> Result<Option<Appeal>, StoreError> {
        self.appeals.get(id)
    }

    async fn appeals(
        &self,
        account_id: Option<&str>,
        status: Option<AppealStatus>,
    ) -> Result<Vec<Appeal>, StoreError> {
        let mut list = Vec::new();
        for item in self.appeals.scan_rev::<Appeal>(None) {
            let (_, a) = item?;
            if account_id.is_none_or(|id| a.account_id == id)
                && status.is_none_or(|s| a.status == s)
            {
                list.push(a);
            }
        }
        Ok(list)
    }

    async fn decide_appeal(
        &self,
        decision: &Decision,
        entry: &AuditEntry,
    ) -> Result<(Appeal, Notice), AppealError> {
        let decided = {
            let _order = self.lock();
            let mut appeal: Appeal = self
                .appeals
                .get(&decision.appeal_id)?
                .ok_or(AppealError::NotFound("appeal"))?;
            if appeal.status != AppealStatus::Pending {
                return Err(AppealError::Conflict(
                    "this appeal is already decided".into(),
                ));
            }
            let key = notice_key(&appeal.account_id, &appeal.notice_id);
            let mut notice: Notice = self
                .notices
                .get(&key)?
                .ok_or(AppealError::NotFound("notice"))?;
            let mut writes = Vec::new();
            (appeal.status, notice.status) = match decision.verdict {
                Verdict::Reinstate { void_strikes_since } => {
                    let prefix = format!("{}/", notice.account_id);
                    for item in self.strikes.scan_from::<Strike>(&prefix, &prefix) {
                        let (k, mut s) = item?;
                        let covered = match notice.action {
                            NoticeAction::KeySuspended => s.key_id == notice.key_id,
                            NoticeAction::AccountSuspended
                            | NoticeAction::CreditsFrozen
                            | NoticeAction::AccountSuspendedOverdue => true,
                        };
                        if covered && !s.voided && s.at >= void_strikes_since {
                            s.voided = true;
                            writes.push(put(Tree::Strikes, k, &s));
                        }
                    }
                    writes.push(put(Tree::Unsettled, key.clone(), &Effect::Lift));
                    (AppealStatus::Reinstated, NoticeStatus::Reinstated)
                }
                Verdict::Uphold => (AppealStatus::Upheld, NoticeStatus::Upheld),
            };
            appeal.decided_at = Some(decision.decided_at.clone());
            appeal.note = decision.note.clone();
            writes.push(put(Tree::Appeals, appeal.id.clone(), &appeal));
            writes.push(put(Tree::Notices, key, &notice));
            writes.push(add(Tree::Audit, entry.id.clone(), entry));
            self.commit(&writes)?;
            (appeal, notice)
        };
        self.appeals.flush().await?;
        Ok(decided)
    }

    async fn mark_paid(
        &self,
        account_id: &str,
        id: &str,
        entry: &AuditEntry,
    ) -> Result<Option<Notice>, StoreError> {
        let paid = {
            let _order = self.lock();
            let key = notice_key(account_id, id);
            let Some(mut notice) = self.notices.get::<Notice>(&key)? else {
                return Ok(None);
            };
            let in_force = matches!(
                notice.status,
                NoticeStatus::Open | NoticeStatus::Appealed | NoticeStatus::Upheld
            );
            if notice.action != NoticeAction::AccountSuspendedOverdue || !in_force {
                return Ok(None);
            }
            notice.status = NoticeStatus::Paid;
            self.commit(&[
                put(Tree::Unsettled, key.clone(), &Effect::Lift),
                put(Tree::Notices, key, &notice),
                add(Tree::Audit, entry.id.clone(), entry),
            ])?;
            notice
        };
        self.notices.flush().await?;
        Ok(Some(paid))
    }

    async fn unsettled(&self) -> Result<Vec<Notice>, StoreError> {
        let mut list = Vec::new();
        for item in self.unsettled.scan::<Effect>() {
            let (key, _) = item?;
            // The mark and its notice are written in one group, so the
            // notice is there (unless the data directory was damaged).
            match self.notices.get::<Notice>(&key)? {
                Some(notice) => list.push(notice),
                None => tracing::warn!(%key, "an unsettled mark names no stored notice"),
            }
        }
        list.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(list)
    }

    async fn settle(&self, account_id: &str, id: &str, effect: Effect) -> Result<(), StoreError> {
        let mark = serde_json::to_vec(&effect).expect("records serialise");
        let key = notice_key(account_id, id);
        if self
            .unsettled
            .compare_and_swap(&key, Some(mark.as_slice()), None)?
        {
            self.unsettled.flush().await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::EmbeddedModeration;
    use crate::store::Store;
    use crate::store::audit::{AuditStore, EmbeddedAudit};
    use crate::store::moderation::ModerationStore;

    async fn fresh() -> (
        tempfile::TempDir,
        Arc<dyn ModerationStore>,
        Arc<dyn AuditStore>,
    ) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let moderation = Arc::new(EmbeddedModeration::open(&store).unwrap());
        let audit = Arc::new(EmbeddedAudit::open(&store).unwrap());
        (dir, moderation, audit)
    }

    crate::store::moderation::conformance::suite!(fresh);
}

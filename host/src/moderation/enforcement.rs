//! Enforcement: strikes in a sliding window that suspend a key, then its
//! account; enforcement notices the account can see; appeals within the
//! appeal period, decided by an operator. Every step goes to the audit log,
//! in the same commit group as the step (see [`ModerationStore`]).
//!
//! A suspension (or its lifting) changes the accounts aggregate, which no
//! moderation commit group can: the notice is recorded first (unsettled),
//! then the action applied through [`Accounts`](crate::accounts::Accounts),
//! then the notice settled; at start, [`Moderation::resume_enforcement`]
//! finishes what an interruption cut short.

use serde_json::json;
use time::OffsetDateTime;

use super::{Caller, Flag, Moderation};
use crate::accounts::{AccountError, AccountStatus, KeyStatus};
use crate::audit::{Evidence, NewEntry};
use crate::store::StoreError;
pub use crate::store::moderation::{
    Appeal, AppealStatus, Effect, Notice, NoticeAction, NoticeStatus, Strike,
};
use crate::store::moderation::{AppealError, Decision, Verdict};
use crate::time::to_rfc3339;

impl Notice {
    /// The notice shown to the account and to operators: the stored
    /// notice, with `status` `final` once the appeal period passed unused.
    pub fn view(&self, now: OffsetDateTime) -> NoticeView {
        let open = self.status == NoticeStatus::Open;
        let closed = crate::time::unix_seconds(&self.appeal_until) < now.unix_timestamp();
        NoticeView {
            object: "enforcement_notice",
            id: self.id.clone(),
            account_id: self.account_id.clone(),
            key_id: self.key_id.clone(),
            action: self.action,
            reason: self.reason.clone(),
            evidence: self.evidence.clone(),
            by: self.by.clone(),
            created_at: self.created_at.clone(),
            appeal_until: self.appeal_until.clone(),
            status: match self.status {
                NoticeStatus::Open if closed => NoticeState::Final,
                NoticeStatus::Open => NoticeState::Open,
                NoticeStatus::Appealed => NoticeState::Appealed,
                NoticeStatus::Reinstated => NoticeState::Reinstated,
                NoticeStatus::Upheld => NoticeState::Upheld,
                NoticeStatus::Paid => NoticeState::Paid,
            },
            appeal_id: self.appeal_id.clone(),
            appealable: open && !closed,
        }
    }
}

/// An enforcement notice, as the account and operators see it.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct NoticeView {
    /// `enforcement_notice`.
    pub object: &'static str,
    /// `ntc_…`.
    pub id: String,
    pub account_id: String,
    /// The key, for key actions.
    pub key_id: Option<String>,
    /// What was done.
    pub action: NoticeAction,
    /// Why, in words.
    pub reason: String,
    /// The refused requests behind it.
    pub evidence: Vec<crate::audit::Evidence>,
    /// `system` (automatic), `admin` (the admin key) or the `user_…` login
    /// of the operator who acted in the console.
    pub by: String,
    /// RFC 3339.
    pub created_at: String,
    /// The end of the appeal period (RFC 3339).
    pub appeal_until: String,
    pub status: NoticeState,
    /// The appeal, once there is one.
    pub appeal_id: Option<String>,
    /// Whether it can be appealed now.
    pub appealable: bool,
}

/// Where a notice stands, as shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum NoticeState {
    /// In force, appealable until `appeal_until`.
    Open,
    /// In force; the appeal period passed unused.
    Final,
    /// Appealed; an operator decides.
    Appealed,
    /// An appeal reinstated the account or key.
    Reinstated,
    /// An appeal was refused; the action stands.
    Upheld,
    /// What was owed was paid; the overdue suspension lifted.
    Paid,
}

/// Failures of appeals and decisions.
#[derive(Debug, thiserror::Error)]
pub enum EnforcementError {
    /// No such notice or appeal (for this account).
    #[error("no such {0}")]
    NotFound(&'static str),
    /// The appeal period is over.
    #[error("the appeal period of this notice ended at {0}; the action is final")]
    Closed(String),
    /// Not in a state that allows it.
    #[error("{0}")]
    Conflict(String),
    /// Bad input.
    #[error("{0}")]
    Invalid(String),
    /// Accounts failed.
    #[error(transparent)]
    Account(#[from] AccountError),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<AppealError> for EnforcementError {
    fn from(e: AppealError) -> Self {
        match e {
            AppealError::NotFound(what) => Self::NotFound(what),
            AppealError::Conflict(m) => Self::Conflict(m),
            AppealError::Store(e) => Self::Store(e),
        }
    }
}

impl Moderation {
    /// Counts a refusal against the caller's key and account, and suspends
    /// the key, then the account, past the configured thresholds.
    pub(super) async fn strike(&self, caller: &Caller<'_>, flag: &Flag) -> Result<(), StoreError> {
        let now = self.clock.now();
        let strike = Strike {
            account_id: caller.account_id.to_string(),
            key_id: caller.key_id.map(str::to_string),
            at: now.unix_timestamp(),
            evidence: flag.evidence(),
            voided: false,
        };
        let on_key = |s: &&Strike| caller.key_id.is_some() && s.key_id.as_deref() == caller.key_id;
        let entry = |in_window: &[Strike]| {
            NewEntry {
                actor: "system".into(),
                action: "strike".into(),
                account_id: Some(caller.account_id.into()),
                key_id: caller.key_id.map(str::to_string),
                details: json!({
                    "key_strikes": in_window.iter().filter(on_key).count(),
                    "account_strikes": in_window.len(),
                    "window_hours": self.config.strike_window_hours,
                }),
                evidence: vec![flag.evidence()],
            }
            .made_at(now)
        };
        let in_window = self
            .store
            .add_strike(&strike, self.window_start(now), &entry)
            .await?;
        let on_key: Vec<&Strike> = in_window.iter().filter(on_key).collect();
        let c = &self.config;
        let key_over = c.key_strikes > 0 && on_key.len() >= c.key_strikes as usize;
        let account_over = c.account_strikes > 0 && in_window.len() >= c.account_strikes as usize;
        if !key_over && !account_over {
            return Ok(());
        }
        // Whether the key or account is still active lives in the accounts
        // aggregate, which no moderation commit group reads: two strikes
        // past a threshold at once would each find the key active and each
        // suspend it, with a notice each. So the check and the suspension
        // are made one at a time (the counts need no lock: `add_strike`
        // orders them).
        let _one_at_a_time = self.suspensions.lock().await;
        if let Some(key_id) = caller.key_id
            && key_over
        {
            let key = only_store_errors(self.accounts.key(key_id).await)?;
            if key.is_some_and(|k| k.status == KeyStatus::Active) {
                let evidence = on_key.iter().map(|s| s.evidence.clone()).collect();
                let reason = format!(
                    "{} requests made with this key were refused under the content policy within {} hours",
                    on_key.len(),
                    c.strike_window_hours
                );
                let step = Step {
                    notice_id: None,
                    account_id: caller.account_id,
                    key_id: Some(key_id),
                    action: NoticeAction::KeySuspended,
                    reason: &reason,
                    evidence,
                    by: "system",
                };
                let notice = self.record_step(step, false, now).await?;
                self.apply(&notice).await?;
            }
        }
        if account_over {
            let active = only_store_errors(self.accounts.get(caller.account_id).await)?
                .is_some_and(|a| a.status == AccountStatus::Active);
            if active {
                let evidence = in_window.iter().map(|s| s.evidence.clone()).collect();
                let reason = format!(
                    "{} requests of this account were refused under the content policy within {} hours",
                    in_window.len(),
                    c.strike_window_hours
                );
                let step = Step {
                    notice_id: None,
                    account_id: caller.account_id,
                    key_id: None,
                    action: NoticeAction::AccountSuspended,
                    reason: &reason,
                    evidence,
                    by: "system",
                };
                let notice = self.record_step(step, false, now).await?;
                self.apply(&notice).await?;
            }
        }
        Ok(())
    }

    /// The start of the strike window ending `now` (unix seconds).
    fn window_start(&self, now: OffsetDateTime) -> i64 {
        now.unix_timestamp() - self.config.strike_window().as_secs() as i64
    }

    /// Records an enforcement step (by the system or an operator): the
    /// notice the account sees, with its audit entry. Unless `in_effect`
    /// (its action already applied), the notice is unsettled until
    /// [`Moderation::apply`] applies it.
    async fn record_step(
        &self,
        step: Step<'_>,
        in_effect: bool,
        now: OffsetDateTime,
    ) -> Result<Notice, StoreError> {
        let until = now + time::Duration::days(self.config.appeal_days.into());
        let notice = Notice {
            id: step.notice_id.unwrap_or_else(|| crate::ids::new("ntc")),
            account_id: step.account_id.into(),
            key_id: step.key_id.map(str::to_string),
            action: step.action,
            reason: step.reason.into(),
            evidence: step.evidence.clone(),
            by: step.by.into(),
            created_at: to_rfc3339(now),
            appeal_until: to_rfc3339(until),
            status: NoticeStatus::Open,
            appeal_id: None,
        };
        let name = match step.action {
            NoticeAction::KeySuspended => "key.suspended",
            NoticeAction::AccountSuspended => "account.suspended",
            NoticeAction::CreditsFrozen => "account.credits_frozen",
            NoticeAction::AccountSuspendedOverdue => "account.suspended_overdue",
        };
        tracing::warn!(account_id = step.account_id, key_id = ?step.key_id, action = name, by = step.by, "enforcement action");
        let entry = NewEntry {
            actor: step.by.into(),
            action: name.into(),
            account_id: Some(step.account_id.into()),
            key_id: step.key_id.map(str::to_string),
            details: json!({ "notice_id": notice.id, "reason": step.reason }),
            evidence: step.evidence,
        }
        .made_at(now);
        self.store
            .record_enforcement(&notice, &entry, in_effect)
            .await?;
        Ok(notice)
    }

    /// Applies what a notice asks of its key or account (its action, or
    /// its lifting once reinstated), then settles it. Idempotent: applying
    /// it again changes nothing. A key or account that cannot take it (gone,
    /// revoked, closed) is left as it is.
    async fn apply(&self, notice: &Notice) -> Result<(), StoreError> {
        let effect = notice.effect();
        let key_id = notice.key_id.as_deref().unwrap_or_default();
        let account_id = notice.account_id.as_str();
        let (from, to) = match effect {
            Effect::Enforce => (AccountStatus::Active, AccountStatus::Suspended),
            Effect::Lift => (AccountStatus::Suspended, AccountStatus::Active),
        };
        let done = match notice.action {
            NoticeAction::KeySuspended => {
                let status = match effect {
                    Effect::Enforce => KeyStatus::Suspended,
                    Effect::Lift => KeyStatus::Active,
                };
                self.accounts.set_key_status(key_id, status).await.map(drop)
            }
            NoticeAction::AccountSuspended | NoticeAction::AccountSuspendedOverdue => self
                .accounts
                .update(account_id, |a| {
                    if a.status == from {
                        a.status = to;
                    }
                    Ok(())
                })
                .await
                .map(drop),
            NoticeAction::CreditsFrozen => self
                .accounts
                .update(account_id, |a| {
                    a.credits_frozen = effect == Effect::Enforce;
                    Ok(())
                })
                .await
                .map(drop),
        };
        only_store_errors(done)?;
        self.store
            .settle(&notice.account_id, &notice.id, effect)
            .await
    }

    /// Finishes the enforcement steps an interruption cut short: applies
    /// what every unsettled notice asks (a suspension recorded but not
    /// applied, a reinstatement decided but not lifted) and settles it.
    /// Returns how many there were.
    pub async fn resume_enforcement(&self) -> Result<usize, StoreError> {
        let unsettled = self.store.unsettled().await?;
        for notice in &unsettled {
            tracing::warn!(notice_id = %notice.id, account_id = %notice.account_id, effect = ?notice.effect(), "finishing an interrupted enforcement step");
            self.apply(notice).await?;
        }
        Ok(unsettled.len())
    }

    /// An operator's enforcement action, in the same order as the
    /// system's: its notice and audit entry are recorded first (unsettled),
    /// then the action applied, then the notice settled, so an interruption
    /// is finished at the next start and a suspension never stands without
    /// the notice that explains it. Returns the notice, or `None` when the
    /// key or account is already in that state (nothing is recorded). A
    /// revoked key, or an account that is not active, cannot be suspended
    /// ([`AccountError::Conflict`]).
    pub async fn enforce_by_admin(
        &self,
        account_id: &str,
        key_id: Option<&str>,
        action: NoticeAction,
        reason: Option<&str>,
    ) -> Result<Option<Notice>, AccountError> {
        self.enforce_by_operator("admin", account_id, key_id, action, reason)
            .await
    }

    /// As [`Moderation::enforce_by_admin`], by operator `by` (the notice and
    /// the audit entry name them: a login's `user_…`, or `admin`).
    pub async fn enforce_by_operator(
        &self,
        by: &str,
        account_id: &str,
        key_id: Option<&str>,
        action: NoticeAction,
        reason: Option<&str>,
    ) -> Result<Option<Notice>, AccountError> {
        let needed = match action {
            NoticeAction::KeySuspended => {
                let key = self
                    .accounts
                    .key(key_id.ok_or(AccountError::KeyNotFound)?)
                    .await?;
                match key.status {
                    KeyStatus::Active => true,
                    KeyStatus::Suspended => false,
                    KeyStatus::Revoked => {
                        return Err(AccountError::Conflict("a revoked key stays revoked".into()));
                    }
                }
            }
            NoticeAction::AccountSuspended => {
                let account = self.accounts.get(account_id).await?;
                if account.status != AccountStatus::Active {
                    return Err(AccountError::Conflict(
                        format!("the account is {:?}, not active", account.status).to_lowercase(),
                    ));
                }
                true
            }
            NoticeAction::CreditsFrozen => !self.accounts.get(account_id).await?.credits_frozen,
            NoticeAction::AccountSuspendedOverdue => {
                return Err(AccountError::Invalid(
                    "an overdue suspension is the system's, when a statement stays unpaid".into(),
                ));
            }
        };
        if !needed {
            return Ok(None);
        }
        let reason = reason
            .filter(|r| !r.trim().is_empty())
            .unwrap_or("by decision of the operator");
        let step = Step {
            notice_id: None,
            account_id,
            key_id,
            action,
            reason,
            evidence: Vec::new(),
            by,
        };
        let notice = self.record_step(step, false, self.clock.now()).await?;
        self.apply(&notice).await?;
        Ok(Some(notice))
    }

    /// Suspends an active account whose amount due is overdue, with a
    /// notice of id `notice_id` (made from the debt it is about, so that
    /// replicas finding it at once record it once). Returns the notice if
    /// this call recorded it; `None` if the account is not active or the
    /// notice exists (the suspension was made, and perhaps lifted by an
    /// operator since: it is not made again for the same debt).
    pub async fn suspend_overdue(
        &self,
        account_id: &str,
        notice_id: String,
        reason: &str,
    ) -> Result<Option<Notice>, StoreError> {
        let _one_at_a_time = self.suspensions.lock().await;
        let active = only_store_errors(self.accounts.get(account_id).await)?
            .is_some_and(|a| a.status == AccountStatus::Active);
        if !active {
            return Ok(None);
        }
        let step = Step {
            notice_id: Some(notice_id),
            account_id,
            key_id: None,
            action: NoticeAction::AccountSuspendedOverdue,
            reason,
            evidence: Vec::new(),
            by: "system",
        };
        let notice = match self.record_step(step, false, self.clock.now()).await {
            Ok(notice) => notice,
            Err(StoreError::Conflict(_)) => return Ok(None),
            Err(e) => return Err(e),
        };
        self.apply(&notice).await?;
        Ok(Some(notice))
    }

    /// Lifts the overdue suspensions of an account that has paid what it
    /// owed: each such notice in force becomes paid, with an audit entry,
    /// and the account active again. Returns how many were lifted.
    pub async fn lift_paid(&self, account_id: &str) -> Result<usize, StoreError> {
        let now = self.clock.now();
        let mut lifted = 0;
        for notice in self.store.notices_of(account_id).await? {
            if notice.action != NoticeAction::AccountSuspendedOverdue
                || notice.effect() != Effect::Enforce
            {
                continue;
            }
            let entry = NewEntry {
                actor: "system".into(),
                action: "account.overdue_paid".into(),
                account_id: Some(account_id.into()),
                key_id: None,
                details: json!({ "notice_id": notice.id }),
                evidence: Vec::new(),
            }
            .made_at(now);
            if let Some(paid) = self.store.mark_paid(account_id, &notice.id, &entry).await? {
                tracing::info!(account_id, notice_id = %paid.id, "amount due paid; overdue suspension lifted");
                self.apply(&paid).await?;
                lifted += 1;
            }
        }
        Ok(lifted)
    }

    /// The clock of time-dependent rules.
    pub fn clock(&self) -> crate::time::Clock {
        self.clock
    }

    /// The account's notices, newest first.
    pub async fn notices_of(&self, account_id: &str) -> Result<Vec<Notice>, StoreError> {
        self.store.notices_of(account_id).await
    }

    /// Every notice, newest first.
    pub async fn all_notices(&self) -> Result<Vec<Notice>, StoreError> {
        self.store.notices().await
    }

    /// An account appeals one of its notices, within the appeal period.
    pub async fn appeal(
        &self,
        account_id: &str,
        notice_id: &str,
        message: &str,
    ) -> Result<Appeal, EnforcementError> {
        if message.trim().is_empty() || message.chars().count() > 4_000 {
            return Err(EnforcementError::Invalid(
                "message must say why, in at most 4000 characters".into(),
            ));
        }
        let now = self.clock.now();
        let notice = self
            .store
            .notice(account_id, notice_id)
            .await?
            .ok_or(EnforcementError::NotFound("notice"))?;
        // A notice no longer open is refused by `file_appeal`, which says
        // why; the period (fixed when the notice was made) is checked here.
        if notice.status == NoticeStatus::Open
            && crate::time::unix_seconds(&notice.appeal_until) < now.unix_timestamp()
        {
            return Err(EnforcementError::Closed(notice.appeal_until));
        }
        let appeal = Appeal {
            id: crate::ids::new("apl"),
            notice_id: notice.id.clone(),
            account_id: account_id.into(),
            message: message.into(),
            status: AppealStatus::Pending,
            created_at: to_rfc3339(now),
            decided_at: None,
            note: None,
        };
        let entry = NewEntry {
            actor: format!("account:{account_id}"),
            action: "appeal.submitted".into(),
            account_id: Some(account_id.into()),
            key_id: notice.key_id.clone(),
            details: json!({ "appeal_id": appeal.id, "notice_id": notice.id, "message": message }),
            evidence: notice.evidence.clone(),
        }
        .made_at(now);
        self.store.file_appeal(&appeal, &entry).await?;
        Ok(appeal)
    }

    /// Appeals, newest first, optionally of one account or in one state.
    pub async fn appeals(
        &self,
        account_id: Option<&str>,
        status: Option<AppealStatus>,
    ) -> Result<Vec<Appeal>, StoreError> {
        self.store.appeals(account_id, status).await
    }

    /// An operator decides an appeal: `reinstate` undoes the action (and
    /// voids the strikes behind it); otherwise the action stands. The audit
    /// log names `actor` (`admin` for the admin key, a login's `user_…` for
    /// a person).
    pub async fn decide(
        &self,
        appeal_id: &str,
        reinstate: bool,
        note: &str,
        actor: &str,
    ) -> Result<Appeal, EnforcementError> {
        let now = self.clock.now();
        let appeal = self
            .store
            .appeal(appeal_id)
            .await?
            .ok_or(EnforcementError::NotFound("appeal"))?;
        if appeal.status != AppealStatus::Pending {
            return Err(EnforcementError::Conflict(
                "this appeal is already decided".into(),
            ));
        }
        let notice = self
            .store
            .notice(&appeal.account_id, &appeal.notice_id)
            .await?
            .ok_or(EnforcementError::NotFound("notice"))?;
        let (verdict, action) = if reinstate {
            // The strikes it rested on: those in the window, and any older
            // one named as its evidence.
            let since = self.window_start(now).min(first_evidence_at(&notice));
            let verdict = Verdict::Reinstate {
                void_strikes_since: since,
            };
            (verdict, "appeal.reinstated")
        } else {
            (Verdict::Uphold, "appeal.upheld")
        };
        let decision = Decision {
            appeal_id: appeal.id.clone(),
            verdict,
            decided_at: to_rfc3339(now),
            note: Some(note.to_string()).filter(|n| !n.trim().is_empty()),
        };
        let entry = NewEntry {
            actor: actor.into(),
            action: action.into(),
            account_id: Some(appeal.account_id.clone()),
            key_id: notice.key_id.clone(),
            details: json!({
                "appeal_id": appeal.id,
                "notice_id": notice.id,
                "notice_action": notice.action,
                "note": decision.note,
            }),
            evidence: notice.evidence.clone(),
        }
        .made_at(now);
        let (appeal, notice) = self.store.decide_appeal(&decision, &entry).await?;
        if reinstate {
            self.apply(&notice).await?;
        }
        Ok(appeal)
    }
}

/// An enforcement step to record.
struct Step<'a> {
    /// The notice's id, when the caller makes it (to record a step once
    /// however many replicas take it); otherwise a new one.
    notice_id: Option<String>,
    account_id: &'a str,
    key_id: Option<&'a str>,
    action: NoticeAction,
    reason: &'a str,
    evidence: Vec<Evidence>,
    by: &'a str,
}

/// The earliest time in a notice's evidence (unix seconds), or now-ish.
fn first_evidence_at(notice: &Notice) -> i64 {
    notice
        .evidence
        .iter()
        .map(|e| crate::time::unix_seconds(&e.at))
        .min()
        .unwrap_or(i64::MAX)
}

/// A storage failure is an error; anything else (the key or account
/// changed meanwhile) is logged and the enforcement step skipped.
fn only_store_errors<T>(result: Result<T, AccountError>) -> Result<Option<T>, StoreError> {
    match result {
        Ok(v) => Ok(Some(v)),
        Err(AccountError::Store(e)) => Err(e),
        Err(e) => {
            tracing::warn!(error = %e, "enforcement step skipped");
            Ok(None)
        }
    }
}

#[cfg(test)]
mod tests;

//! Enforcement: strikes in a sliding window that suspend a key, then its
//! account; enforcement notices the account can see; appeals within the
//! appeal period, decided by an operator. Every step goes to the audit log.

use serde::{Deserialize, Serialize};
use serde_json::json;
use time::OffsetDateTime;

use super::{Caller, Flag, Moderation};
use crate::accounts::{AccountError, AccountStatus, KeyStatus};
use crate::audit::{Evidence, NewEntry};
use crate::store::StoreError;
use crate::time::to_rfc3339;

/// A refused request counted against a key and its account.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Strike {
    account_id: String,
    key_id: Option<String>,
    /// Unix seconds, by the moderation clock.
    at: i64,
    evidence: Evidence,
    /// Set when an appeal reinstated what the strike led to.
    #[serde(default)]
    voided: bool,
}

/// What an enforcement notice is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NoticeAction {
    /// A key was suspended.
    KeySuspended,
    /// The account was suspended.
    AccountSuspended,
    /// The account's credits were frozen.
    CreditsFrozen,
}

/// Where a notice stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NoticeStatus {
    /// In force; appealable until `appeal_until`, final after it.
    Open,
    /// Appealed; an operator decides.
    Appealed,
    /// An appeal reinstated the account or key.
    Reinstated,
    /// An appeal was refused; the action stands.
    Upheld,
}

/// An enforcement action, as the account sees it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Notice {
    /// `ntc_…`.
    pub id: String,
    /// The account.
    pub account_id: String,
    /// The key, for key actions.
    pub key_id: Option<String>,
    /// What was done.
    pub action: NoticeAction,
    /// Why, in words.
    pub reason: String,
    /// The refused requests behind it.
    pub evidence: Vec<Evidence>,
    /// `system` (automatic) or `admin`.
    pub by: String,
    /// When (RFC 3339).
    pub created_at: String,
    /// The end of the appeal period (RFC 3339).
    pub appeal_until: String,
    /// Where it stands.
    pub status: NoticeStatus,
    /// The appeal, once there is one.
    pub appeal_id: Option<String>,
}

impl Notice {
    /// The JSON shown to the account and to operators: the stored notice,
    /// with `status` `final` once the appeal period passed unused.
    pub fn to_json(&self, now: OffsetDateTime) -> serde_json::Value {
        let mut v = serde_json::to_value(self).expect("serialises");
        let open = self.status == NoticeStatus::Open;
        let closed = crate::time::unix_seconds(&self.appeal_until) < now.unix_timestamp();
        if open && closed {
            v["status"] = json!("final");
        }
        v["object"] = json!("enforcement_notice");
        v["appealable"] = json!(open && !closed);
        v
    }
}

/// Where an appeal stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AppealStatus {
    /// Waiting for an operator.
    Pending,
    /// The action was undone.
    Reinstated,
    /// The action stands.
    Upheld,
}

/// An account's appeal of a notice.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Appeal {
    /// `apl_…`.
    pub id: String,
    /// The notice appealed.
    pub notice_id: String,
    /// The account.
    pub account_id: String,
    /// What the account says.
    pub message: String,
    /// Where it stands.
    pub status: AppealStatus,
    /// When it was made (RFC 3339).
    pub created_at: String,
    /// When it was decided.
    pub decided_at: Option<String>,
    /// The operator's note on the decision.
    pub note: Option<String>,
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

fn strike_key(account_id: &str, at: i64, flag_id: &str) -> String {
    format!("{account_id}/{at:020}/{flag_id}")
}

fn notice_key(account_id: &str, id: &str) -> String {
    format!("{account_id}/{id}")
}

impl Moderation {
    /// Counts a refusal against the caller's key and account, and suspends
    /// the key, then the account, past the configured thresholds.
    pub(super) async fn strike(&self, caller: &Caller<'_>, flag: &Flag) -> Result<(), StoreError> {
        let _guard = self.lock.lock().await;
        let now = self.clock.now();
        let strike = Strike {
            account_id: caller.account_id.to_string(),
            key_id: caller.key_id.map(str::to_string),
            at: now.unix_timestamp(),
            evidence: flag.evidence(),
            voided: false,
        };
        self.strikes
            .put(&strike_key(caller.account_id, strike.at, &flag.id), &strike)
            .await?;
        let in_window = self.strikes_in_window(caller.account_id, now)?;
        let on_key: Vec<&Strike> = in_window
            .iter()
            .filter(|s| s.key_id.as_deref() == caller.key_id && caller.key_id.is_some())
            .collect();
        self.audit
            .record(
                NewEntry {
                    actor: "system".into(),
                    action: "strike".into(),
                    account_id: Some(caller.account_id.into()),
                    key_id: caller.key_id.map(str::to_string),
                    details: json!({
                        "key_strikes": on_key.len(),
                        "account_strikes": in_window.len(),
                        "window_hours": self.config.strike_window_hours,
                    }),
                    evidence: vec![flag.evidence()],
                },
                now,
            )
            .await?;
        let c = &self.config;
        if let Some(key_id) = caller.key_id
            && c.key_strikes > 0
            && on_key.len() >= c.key_strikes as usize
        {
            let key = only_store_errors(self.accounts.key(key_id).await)?;
            if key.is_some_and(|k| k.status == KeyStatus::Active) {
                only_store_errors(
                    self.accounts
                        .set_key_status(key_id, KeyStatus::Suspended)
                        .await,
                )?;
                let evidence = on_key.iter().map(|s| s.evidence.clone()).collect();
                let reason = format!(
                    "{} requests made with this key were refused under the content policy within {} hours",
                    on_key.len(),
                    c.strike_window_hours
                );
                self.enforce(
                    caller.account_id,
                    Some(key_id),
                    NoticeAction::KeySuspended,
                    &reason,
                    evidence,
                    "system",
                    now,
                )
                .await?;
            }
        }
        if c.account_strikes > 0 && in_window.len() >= c.account_strikes as usize {
            let active = only_store_errors(self.accounts.get(caller.account_id).await)?
                .is_some_and(|a| a.status == AccountStatus::Active);
            if active {
                only_store_errors(
                    self.accounts
                        .update(caller.account_id, |a| {
                            a.status = AccountStatus::Suspended;
                            Ok(())
                        })
                        .await,
                )?;
                let evidence = in_window.iter().map(|s| s.evidence.clone()).collect();
                let reason = format!(
                    "{} requests of this account were refused under the content policy within {} hours",
                    in_window.len(),
                    c.strike_window_hours
                );
                self.enforce(
                    caller.account_id,
                    None,
                    NoticeAction::AccountSuspended,
                    &reason,
                    evidence,
                    "system",
                    now,
                )
                .await?;
            }
        }
        Ok(())
    }

    /// The account's unvoided strikes within the window before `now`.
    fn strikes_in_window(
        &self,
        account_id: &str,
        now: OffsetDateTime,
    ) -> Result<Vec<Strike>, StoreError> {
        let since = now.unix_timestamp() - self.config.strike_window().as_secs() as i64;
        let prefix = format!("{account_id}/");
        let start = format!("{prefix}{:020}", since.max(0));
        self.strikes
            .scan_from::<Strike>(&start, &prefix)
            .map(|item| item.map(|(_, s)| s))
            .filter(|s| s.as_ref().map_or(true, |s| !s.voided && s.at >= since))
            .collect()
    }

    /// Records an enforcement action taken (by the system or an operator):
    /// its audit entry and the notice the account sees.
    #[allow(clippy::too_many_arguments)]
    pub async fn enforce(
        &self,
        account_id: &str,
        key_id: Option<&str>,
        action: NoticeAction,
        reason: &str,
        evidence: Vec<Evidence>,
        by: &str,
        now: OffsetDateTime,
    ) -> Result<Notice, StoreError> {
        let until = now + time::Duration::days(self.config.appeal_days.into());
        let notice = Notice {
            id: crate::ids::new("ntc"),
            account_id: account_id.into(),
            key_id: key_id.map(str::to_string),
            action,
            reason: reason.into(),
            evidence: evidence.clone(),
            by: by.into(),
            created_at: to_rfc3339(now),
            appeal_until: to_rfc3339(until),
            status: NoticeStatus::Open,
            appeal_id: None,
        };
        self.notices
            .put(&notice_key(account_id, &notice.id), &notice)
            .await?;
        let name = match action {
            NoticeAction::KeySuspended => "key.suspended",
            NoticeAction::AccountSuspended => "account.suspended",
            NoticeAction::CreditsFrozen => "account.credits_frozen",
        };
        tracing::warn!(account_id, key_id = ?key_id, action = name, by, "enforcement action");
        self.audit
            .record(
                NewEntry {
                    actor: by.into(),
                    action: name.into(),
                    account_id: Some(account_id.into()),
                    key_id: key_id.map(str::to_string),
                    details: json!({ "notice_id": notice.id, "reason": reason }),
                    evidence,
                },
                now,
            )
            .await?;
        Ok(notice)
    }

    /// An operator's enforcement action, under the enforcement lock.
    pub async fn enforce_by_admin(
        &self,
        account_id: &str,
        key_id: Option<&str>,
        action: NoticeAction,
        reason: Option<&str>,
    ) -> Result<Notice, StoreError> {
        let _guard = self.lock.lock().await;
        let reason = reason
            .filter(|r| !r.trim().is_empty())
            .unwrap_or("by decision of the operator");
        self.enforce(
            account_id,
            key_id,
            action,
            reason,
            Vec::new(),
            "admin",
            self.clock.now(),
        )
        .await
    }

    /// The account's notices, newest first.
    pub fn notices_of(&self, account_id: &str) -> Result<Vec<Notice>, StoreError> {
        let prefix = format!("{account_id}/");
        let mut list: Vec<Notice> = self
            .notices
            .scan_from::<Notice>(&prefix, &prefix)
            .map(|item| item.map(|(_, n)| n))
            .collect::<Result<_, _>>()?;
        list.reverse();
        Ok(list)
    }

    /// Every notice, newest first.
    pub fn all_notices(&self) -> Result<Vec<Notice>, StoreError> {
        let mut list: Vec<Notice> = self
            .notices
            .scan::<Notice>()
            .map(|item| item.map(|(_, n)| n))
            .collect::<Result<_, _>>()?;
        list.sort_by(|a, b| b.id.cmp(&a.id));
        Ok(list)
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
        let _guard = self.lock.lock().await;
        let now = self.clock.now();
        let key = notice_key(account_id, notice_id);
        let mut notice: Notice = self
            .notices
            .get(&key)?
            .ok_or(EnforcementError::NotFound("notice"))?;
        match notice.status {
            NoticeStatus::Open => {}
            NoticeStatus::Appealed => {
                return Err(EnforcementError::Conflict(format!(
                    "this notice is already appealed ({})",
                    notice.appeal_id.unwrap_or_default()
                )));
            }
            NoticeStatus::Reinstated | NoticeStatus::Upheld => {
                return Err(EnforcementError::Conflict(
                    "an appeal of this notice was already decided".into(),
                ));
            }
        }
        if crate::time::unix_seconds(&notice.appeal_until) < now.unix_timestamp() {
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
        // The appeal first: a crash in between leaves an appeal on an open
        // notice (visible to operators), never an appealed notice without one.
        self.appeals.put(&appeal.id, &appeal).await?;
        notice.status = NoticeStatus::Appealed;
        notice.appeal_id = Some(appeal.id.clone());
        self.notices.put(&key, &notice).await?;
        self.audit
            .record(
                NewEntry {
                    actor: format!("account:{account_id}"),
                    action: "appeal.submitted".into(),
                    account_id: Some(account_id.into()),
                    key_id: notice.key_id.clone(),
                    details: json!({ "appeal_id": appeal.id, "notice_id": notice.id, "message": message }),
                    evidence: notice.evidence.clone(),
                },
                now,
            )
            .await?;
        Ok(appeal)
    }

    /// Appeals, newest first, optionally of one account or in one state.
    pub fn appeals(
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

    /// An operator decides an appeal: `reinstate` undoes the action (and
    /// voids the strikes behind it); otherwise the action stands.
    pub async fn decide(
        &self,
        appeal_id: &str,
        reinstate: bool,
        note: &str,
    ) -> Result<Appeal, EnforcementError> {
        let _guard = self.lock.lock().await;
        let now = self.clock.now();
        let mut appeal: Appeal = self
            .appeals
            .get(appeal_id)?
            .ok_or(EnforcementError::NotFound("appeal"))?;
        if appeal.status != AppealStatus::Pending {
            return Err(EnforcementError::Conflict(
                "this appeal is already decided".into(),
            ));
        }
        let key = notice_key(&appeal.account_id, &appeal.notice_id);
        let mut notice: Notice = self
            .notices
            .get(&key)?
            .ok_or(EnforcementError::NotFound("notice"))?;
        if reinstate {
            match notice.action {
                NoticeAction::KeySuspended => {
                    let key_id = notice.key_id.as_deref().unwrap_or_default();
                    if self.accounts.key(key_id).await?.status == KeyStatus::Suspended {
                        self.accounts
                            .set_key_status(key_id, KeyStatus::Active)
                            .await?;
                    }
                }
                NoticeAction::AccountSuspended => {
                    self.accounts
                        .update(&notice.account_id, |a| {
                            if a.status == AccountStatus::Suspended {
                                a.status = AccountStatus::Active;
                            }
                            Ok(())
                        })
                        .await?;
                }
                NoticeAction::CreditsFrozen => {
                    self.accounts
                        .update(&notice.account_id, |a| {
                            a.credits_frozen = false;
                            Ok(())
                        })
                        .await?;
                }
            }
            self.void_strikes(&notice, now).await?;
        }
        let (appeal_status, notice_status, action) = if reinstate {
            (
                AppealStatus::Reinstated,
                NoticeStatus::Reinstated,
                "appeal.reinstated",
            )
        } else {
            (AppealStatus::Upheld, NoticeStatus::Upheld, "appeal.upheld")
        };
        appeal.status = appeal_status;
        appeal.decided_at = Some(to_rfc3339(now));
        appeal.note = Some(note.to_string()).filter(|n| !n.trim().is_empty());
        self.appeals.put(&appeal.id, &appeal).await?;
        notice.status = notice_status;
        self.notices.put(&key, &notice).await?;
        self.audit
            .record(
                NewEntry {
                    actor: "admin".into(),
                    action: action.into(),
                    account_id: Some(appeal.account_id.clone()),
                    key_id: notice.key_id.clone(),
                    details: json!({
                        "appeal_id": appeal.id,
                        "notice_id": notice.id,
                        "notice_action": notice.action,
                        "note": appeal.note,
                    }),
                    evidence: notice.evidence.clone(),
                },
                now,
            )
            .await?;
        Ok(appeal)
    }

    /// Voids the strikes a reinstated notice rested on, so that they do not
    /// trigger the same action again.
    async fn void_strikes(&self, notice: &Notice, now: OffsetDateTime) -> Result<(), StoreError> {
        let prefix = format!("{}/", notice.account_id);
        let since = now.unix_timestamp() - self.config.strike_window().as_secs() as i64;
        let strikes: Vec<(String, Strike)> = self
            .strikes
            .scan_from::<Strike>(&prefix, &prefix)
            .collect::<Result<_, _>>()?;
        for (k, mut s) in strikes {
            let covered = match notice.action {
                NoticeAction::KeySuspended => s.key_id == notice.key_id,
                _ => true,
            };
            if covered && !s.voided && s.at >= since.min(first_evidence_at(notice)) {
                s.voided = true;
                self.strikes.put(&k, &s).await?;
            }
        }
        Ok(())
    }
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

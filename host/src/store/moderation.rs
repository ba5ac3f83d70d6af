//! The moderation aggregate's storage: flagged-request records, strikes,
//! enforcement notices and appeals, with the audit entries of the steps
//! that change them. Each change is one atomic commit group, durable when
//! it returns, whose checks are part of the group: a second appeal of one
//! notice, or a second decision of one appeal, is refused by the group
//! itself, and concurrent strikes on one account are counted one after
//! another.
//!
//! A notice's action (a suspension, a frozen balance) lives in the
//! accounts aggregate, which no group here can change. So a notice is
//! *unsettled* from the group that records it (or reinstates it) until the
//! caller has applied (or lifted) its action and [settled](ModerationStore::settle)
//! it; at start the caller applies what is still unsettled.

#[cfg(test)]
pub(crate) mod conformance;
mod embedded;
pub(crate) mod pg;

pub use self::embedded::EmbeddedModeration;
pub use self::pg::PgModeration;

use serde::{Deserialize, Serialize};

use super::StoreError;
use super::audit::{AuditEntry, Evidence};

/// The interaction kept with a flagged-request record.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Interaction {
    /// The prompt.
    pub prompt: String,
    /// The negative prompt.
    pub negative_prompt: Option<String>,
    /// Provider parameters, as JSON text.
    pub extra_params: String,
    /// Reference files, `file_…`.
    pub references: Vec<String>,
    /// The outputs checked (intercepted outputs are never stored; this is
    /// what is known of them).
    pub outputs: Vec<OutputEvidence>,
}

/// What is kept of an output a policy saw.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct OutputEvidence {
    /// Its MIME type.
    pub mime: String,
    /// Its size in bytes.
    pub bytes: usize,
    /// SHA-256 of its bytes, hex.
    pub sha256: String,
    /// Its difference hash (images in a format the gateway decodes), for an
    /// image blocklist.
    pub dhash: Option<String>,
    /// Text the provider returned with it.
    pub text: Option<String>,
}

/// A flagged request: a refusal, a flag for review, or a policy failure.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Flag {
    /// `flag_…`, time-ordered.
    pub id: String,
    /// When (RFC 3339).
    pub created_at: String,
    /// `request` (before anything ran) or `output` (after the provider).
    pub stage: String,
    /// `deny`, `flag` or `error` (the policy failed; the request was refused).
    pub action: String,
    /// The policy, `name@version`.
    pub policy: String,
    /// The category of the terms.
    pub category: Option<String>,
    /// The policy's grounds (for operators; never shown to the caller).
    pub reason: Option<String>,
    /// The account.
    pub account_id: String,
    /// The key.
    pub key_id: Option<String>,
    /// The request.
    pub request_id: String,
    /// The task, for output checks.
    pub task_id: Option<String>,
    /// The model asked for.
    pub model: String,
    /// What was asked and produced, kept for the audit past retention.
    pub interaction: Interaction,
}

impl Flag {
    /// Whether the record matches `q` (all but its cursor and limit).
    pub fn matches(&self, q: &FlagQuery) -> bool {
        q.account_id.as_ref().is_none_or(|a| &self.account_id == a)
            && q.action.as_ref().is_none_or(|a| &self.action == a)
            && q.category
                .as_ref()
                .is_none_or(|c| self.category.as_ref() == Some(c))
            && q.stage.as_ref().is_none_or(|s| &self.stage == s)
    }
}

/// Query of the flagged-request list.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct FlagQuery {
    /// Only this account's.
    pub account_id: Option<String>,
    /// Only `deny`, `flag` or `error`.
    pub action: Option<String>,
    /// Only this category.
    pub category: Option<String>,
    /// Only `request` or `output`.
    pub stage: Option<String>,
    /// Older than this id (cursor).
    pub after: Option<String>,
    /// At most this many (default 50, at most 500).
    pub limit: Option<usize>,
}

/// A refused request counted against a key and its account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Strike {
    /// The account.
    pub account_id: String,
    /// The key, for requests made with one.
    pub key_id: Option<String>,
    /// Unix seconds, by the moderation clock.
    pub at: i64,
    /// The refusal (one strike per flagged-request record).
    pub evidence: Evidence,
    /// Set when an appeal reinstated what the strike led to.
    #[serde(default)]
    pub voided: bool,
}

/// What an enforcement notice is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum NoticeAction {
    /// A key was suspended.
    KeySuspended,
    /// The account was suspended.
    AccountSuspended,
    /// The account's credits were frozen.
    CreditsFrozen,
    /// The account was suspended because what it owes was still unpaid
    /// past the grace period after its statement; lifted by itself when a
    /// payment covers the balance.
    AccountSuspendedOverdue,
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
    /// The amount due was paid, and the suspension it caused lifted by
    /// itself (notices of [`NoticeAction::AccountSuspendedOverdue`]).
    Paid,
}

/// An enforcement action, as the account sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Notice {
    /// `ntc_…`, time-ordered.
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
    /// What its status asks of the account or key: its action in force,
    /// or (once reinstated) lifted.
    pub fn effect(&self) -> Effect {
        match self.status {
            NoticeStatus::Reinstated | NoticeStatus::Paid => Effect::Lift,
            NoticeStatus::Open | NoticeStatus::Appealed | NoticeStatus::Upheld => Effect::Enforce,
        }
    }
}

/// What a notice asks of the account or key it is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Effect {
    /// Its action in force.
    Enforce,
    /// Its action lifted (an appeal reinstated the account or key).
    Lift,
}

/// Where an appeal stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Appeal {
    /// `apl_…`, time-ordered.
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

/// An operator's decision of an appeal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// The appeal.
    pub appeal_id: String,
    /// What was decided.
    pub verdict: Verdict,
    /// When (RFC 3339).
    pub decided_at: String,
    /// The operator's note.
    pub note: Option<String>,
}

/// The outcome of an appeal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The action is undone, and the strikes it rested on voided: the
    /// unvoided strikes of the notice's account (of its key only, for a
    /// key's suspension) at or after `void_strikes_since` (unix seconds).
    Reinstate {
        /// The earliest strike voided.
        void_strikes_since: i64,
    },
    /// The action stands.
    Uphold,
}

/// Why an appeal or a decision was refused.
#[derive(Debug, thiserror::Error)]
pub enum AppealError {
    /// No such notice or appeal (for this account).
    #[error("no such {0}")]
    NotFound(&'static str),
    /// The notice or appeal is not in a state that allows it.
    #[error("{0}")]
    Conflict(String),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Makes the audit entry of a strike from the account's strikes in the
/// window, the new one included, oldest first.
pub type StrikeEntry<'a> = &'a (dyn Fn(&[Strike]) -> AuditEntry + Send + Sync);

/// Where moderation records are kept.
#[async_trait::async_trait]
pub trait ModerationStore: Send + Sync + 'static {
    /// Stores a flagged-request record. A record is never replaced:
    /// [`StoreError::Conflict`] if one with its id exists.
    async fn record_flag(&self, flag: &Flag) -> Result<(), StoreError>;

    /// One flagged-request record.
    async fn flag(&self, id: &str) -> Result<Option<Flag>, StoreError>;

    /// Flagged-request records matching `q`, newest (greatest id) first,
    /// older than `q.after` if given, at most `limit`; and whether more
    /// match.
    async fn flags(&self, q: &FlagQuery, limit: usize) -> Result<(Vec<Flag>, bool), StoreError>;

    /// Counts a strike: stores it with the audit entry `entry` makes of
    /// the account's unvoided strikes at or after `since` (unix seconds;
    /// the new one included, oldest first), which it returns. Strikes on
    /// one account are counted one after another: of concurrent strikes,
    /// each sees those counted before it, and none sees one counted after
    /// it. [`StoreError::Conflict`] if the account already has a strike
    /// for this flagged request.
    async fn add_strike(
        &self,
        strike: &Strike,
        since: i64,
        entry: StrikeEntry<'_>,
    ) -> Result<Vec<Strike>, StoreError>;

    /// Records an enforcement step: a new notice and its audit entry.
    /// Unless `in_effect` (its action already applied), the notice is
    /// unsettled until [`ModerationStore::settle`].
    /// [`StoreError::Conflict`] if a notice with its id exists.
    async fn record_enforcement(
        &self,
        notice: &Notice,
        entry: &AuditEntry,
        in_effect: bool,
    ) -> Result<(), StoreError>;

    /// An account's notice.
    async fn notice(&self, account_id: &str, id: &str) -> Result<Option<Notice>, StoreError>;

    /// An account's notices, newest first.
    async fn notices_of(&self, account_id: &str) -> Result<Vec<Notice>, StoreError>;

    /// Every notice, newest first.
    async fn notices(&self) -> Result<Vec<Notice>, StoreError>;

    /// Files an appeal of one of its account's notices: stores the appeal,
    /// marks the notice appealed (naming it) and stores the audit entry.
    /// Refused, changing nothing: [`AppealError::NotFound`] if the account
    /// has no such notice, [`AppealError::Conflict`] if the notice is not
    /// open (already appealed, or decided). Returns the notice as changed.
    async fn file_appeal(&self, appeal: &Appeal, entry: &AuditEntry)
    -> Result<Notice, AppealError>;

    /// An appeal.
    async fn appeal(&self, id: &str) -> Result<Option<Appeal>, StoreError>;

    /// Appeals, newest first, optionally of one account or in one state.
    async fn appeals(
        &self,
        account_id: Option<&str>,
        status: Option<AppealStatus>,
    ) -> Result<Vec<Appeal>, StoreError>;

    /// Decides a pending appeal: the appeal and its notice take the
    /// verdict's state, a reinstatement voids the strikes it names and
    /// leaves the notice unsettled until its action is lifted, and the
    /// audit entry is stored. Refused, changing nothing:
    /// [`AppealError::NotFound`] if there is no such appeal (or notice),
    /// [`AppealError::Conflict`] if it is already decided. Returns the
    /// appeal and notice as changed.
    async fn decide_appeal(
        &self,
        decision: &Decision,
        entry: &AuditEntry,
    ) -> Result<(Appeal, Notice), AppealError>;

    /// Records that the amount due behind an overdue suspension was paid:
    /// the notice becomes [`NoticeStatus::Paid`], unsettled until its
    /// suspension is lifted, and the audit entry is stored, in one group.
    /// Returns the notice as changed, or `None` (nothing written) if there
    /// is no such notice of the account, it is not an overdue suspension,
    /// or its suspension was lifted already.
    async fn mark_paid(
        &self,
        account_id: &str,
        id: &str,
        entry: &AuditEntry,
    ) -> Result<Option<Notice>, StoreError>;

    /// The unsettled notices, oldest first: their [`Notice::effect`] may
    /// not be applied to the account or key yet.
    async fn unsettled(&self) -> Result<Vec<Notice>, StoreError>;

    /// Records that `effect` of an account's notice is applied: the notice
    /// is settled, unless it is unsettled for another effect meanwhile (a
    /// reinstatement while its action was being applied). Settling a
    /// settled notice changes nothing.
    async fn settle(&self, account_id: &str, id: &str, effect: Effect) -> Result<(), StoreError>;
}

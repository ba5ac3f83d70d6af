//! The ledger aggregate's storage: append-only credit entries per account.
//!
//! Money is integer credits. `balance` is what the account owns; `held` is
//! the part reserved by open holds; `balance - held` is available. An
//! account with a credit line may hold past that, down to minus its line:
//! its balance then goes below zero as the holds are captured, and what is
//! below zero is owed. An entry's
//! `amount` is its change to `balance` (so the entries of an account always
//! sum to its balance) and `held_change` its change to `held`:
//!
//! | entry | amount | held_change |
//! |---|---|---|
//! | topup, refund | +x | 0 |
//! | adjustment | ±x | 0 |
//! | hold | 0 | +x |
//! | capture | -x | -x |
//! | release | 0 | -x |
//! | forfeit | -balance | 0 |
//!
//! Every entry records the balance and held credits after it, so the last
//! entry of an account is its balance. Holds belong to tasks: they are
//! placed, captured and released by the [`TaskStore`](super::tasks::TaskStore)
//! methods that create and finish tasks, in the same commit group, so a
//! task is charged at most once however often it is finished. This trait
//! has what concerns an account alone, including bill disputes, whose
//! decision and the credits it gives back are one commit group. Each change
//! is one commit group, durable when it returns. The conformance tests of both traits are in
//! `tasks/conformance.rs`.

use serde::{Deserialize, Serialize};

use super::StoreError;

/// Ledger failures.
#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    /// Not enough available credits for a hold.
    #[error("this task needs {needed} credits; {available} are available")]
    Insufficient {
        /// The price.
        needed: i64,
        /// Balance minus held.
        available: i64,
    },
    /// The key's own credit limit would be passed.
    #[error(
        "this API key may hold or spend at most {limit} credits; {spent} are used and this task needs {needed}"
    )]
    KeyLimit {
        /// The key's limit.
        limit: i64,
        /// Held or charged through it so far.
        spent: i64,
        /// The price.
        needed: i64,
    },
    /// An adjustment or forfeit would leave a negative balance.
    #[error("the balance would go below zero (it is {balance}, {held} of it held)")]
    WouldGoNegative {
        /// The balance.
        balance: i64,
        /// The held part.
        held: i64,
    },
    /// An amount that must be positive was not.
    #[error("the amount must be a positive number of credits")]
    NotPositive,
    /// An amount past [`MAX_CREDITS`].
    #[error("the amount must be at most {MAX_CREDITS} credits")]
    TooLarge,
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The most credits one operation moves, and the largest credit line: far
/// above any real amount, and far enough below `i64::MAX` that sums of
/// balances, holds and lines never overflow.
pub const MAX_CREDITS: i64 = 1_000_000_000_000_000;

/// The kinds of entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum EntryKind {
    /// Credits bought.
    Topup,
    /// Credits reserved for a task.
    Hold,
    /// A task's held credits charged.
    Capture,
    /// A task's held credits returned.
    Release,
    /// Charged credits returned.
    Refund,
    /// An operator's correction, with a reason.
    Adjustment,
    /// The unused balance given up when the account closed.
    Forfeit,
}

/// One ledger entry.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Entry {
    /// `le_…`.
    pub id: String,
    /// The account.
    pub account_id: String,
    /// What happened.
    #[serde(rename = "type")]
    pub kind: EntryKind,
    /// Change to the balance.
    pub amount: i64,
    /// Change to the held credits.
    pub held_change: i64,
    /// The balance after this entry.
    pub balance_after: i64,
    /// The held credits after this entry.
    pub held_after: i64,
    /// The task concerned, if any.
    pub task_id: Option<String>,
    /// Who did it: a key id, `admin` (the admin key), an operator's login
    /// (`user_…`, in the console), or `system`.
    pub actor: String,
    /// Why, for adjustments and operator actions.
    pub reason: Option<String>,
    /// When.
    pub created_at: String,
}

/// An account's cached totals.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Balance {
    /// Credits owned.
    pub balance: i64,
    /// Credits reserved by open holds.
    pub held: i64,
}

impl Balance {
    /// Credits owned and not held (negative when the account owes).
    pub fn available(&self) -> i64 {
        self.balance - self.held
    }

    /// Credits that can be held now, with a credit line of `credit_line`.
    pub fn spendable(&self, credit_line: i64) -> i64 {
        self.available() + credit_line.max(0)
    }

    /// Credits the account owes: the part of the balance below zero.
    pub fn due(&self) -> i64 {
        (-self.balance).max(0)
    }
}

/// Where a hold stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HoldStatus {
    /// Reserved, not settled.
    Open,
    /// Charged.
    Captured,
    /// Returned.
    Released,
}

/// The hold of one task.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Hold {
    /// The task.
    pub task_id: String,
    /// The paying account.
    pub account_id: String,
    /// Credits reserved.
    pub amount: i64,
    /// Where it stands.
    pub status: HoldStatus,
    /// The key that placed it.
    #[serde(default)]
    pub key_id: Option<String>,
    /// The hold's own entry (its commit: a hold whose entry is not stored
    /// never happened). Absent on holds from before it was recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entry_id: Option<String>,
    /// The capture or release entry that settled it (the settlement's
    /// commit, as `entry_id` is the hold's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settled_by: Option<String>,
}

/// Where a dispute stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum DisputeStatus {
    /// Waiting for an operator.
    Open,
    /// Decided for the account.
    Resolved,
    /// Decided against.
    Rejected,
}

/// A bill dispute.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Dispute {
    /// `dsp_…`.
    pub id: String,
    /// The account.
    pub account_id: String,
    /// The disputed month.
    pub month: String,
    /// The account's reason.
    pub reason: String,
    /// Where it stands.
    pub status: DisputeStatus,
    /// Credits given back when resolved.
    pub credits_returned: i64,
    /// The operator's note.
    pub resolution: Option<String>,
    /// When it was filed.
    pub created_at: String,
    /// When it was decided.
    pub decided_at: Option<String>,
    /// The adjustment entry that gave the credits back, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entry_id: Option<String>,
}

/// An operator's decision of an open dispute.
#[derive(Debug, Clone, Copy)]
pub struct Decision<'a> {
    /// For the account (else against).
    pub resolve: bool,
    /// Credits given back (only when resolving; zero or more, the caller
    /// checks).
    pub credits: i64,
    /// The operator's note, kept on the dispute.
    pub note: &'a str,
    /// Who decided, kept on the adjustment entry.
    pub actor: &'a str,
    /// The reason written on the adjustment entry.
    pub entry_reason: &'a str,
}

/// Why a dispute could not be decided.
#[derive(Debug, thiserror::Error)]
pub enum DisputeError {
    /// No such dispute.
    #[error("no such dispute")]
    NotFound,
    /// It was decided already (perhaps by a concurrent decision).
    #[error("the dispute was already decided")]
    Decided,
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Where ledger entries are kept.
#[async_trait::async_trait]
pub trait LedgerStore: Send + Sync + 'static {
    /// Appends a positive entry of `kind` ([`EntryKind::Topup`] or
    /// [`EntryKind::Refund`]) of `credits` (positive; the caller checks).
    async fn credit(
        &self,
        account_id: &str,
        kind: EntryKind,
        credits: i64,
        actor: &str,
        reason: Option<&str>,
    ) -> Result<Entry, LedgerError>;

    /// Appends an adjustment of `credits` (either sign), refused with
    /// [`LedgerError::WouldGoNegative`] if the available credits would go
    /// below zero.
    async fn adjust(
        &self,
        account_id: &str,
        credits: i64,
        actor: &str,
        reason: &str,
    ) -> Result<Entry, LedgerError>;

    /// Appends a forfeit of the whole balance, if positive; refused with
    /// [`LedgerError::WouldGoNegative`] while credits are held.
    async fn forfeit(
        &self,
        account_id: &str,
        actor: &str,
        reason: &str,
    ) -> Result<Option<Entry>, LedgerError>;

    /// An account's balance and held credits (zero for an account without
    /// entries).
    async fn balance(&self, account_id: &str) -> Result<Balance, StoreError>;

    /// The accounts whose balance is below zero, with their totals, in
    /// the order of their ids.
    async fn owing(&self) -> Result<Vec<(String, Balance)>, StoreError>;

    /// Credits held or charged through a key: its holds, less the released
    /// ones.
    async fn key_spent(&self, account_id: &str, key_id: &str) -> Result<i64, StoreError>;

    /// An account's entries, oldest first, after the entry `after`, at most
    /// `limit`; and whether more follow.
    async fn entries(
        &self,
        account_id: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<(Vec<Entry>, bool), StoreError>;

    /// Stores a newly filed dispute.
    async fn file_dispute(&self, dispute: &Dispute) -> Result<(), StoreError>;

    /// A dispute, as it stands.
    async fn dispute(&self, id: &str) -> Result<Option<Dispute>, StoreError>;

    /// Disputes, oldest first, optionally only of one status or account.
    async fn disputes(
        &self,
        status: Option<DisputeStatus>,
        account_id: Option<&str>,
    ) -> Result<Vec<Dispute>, StoreError>;

    /// Decides an open dispute, and appends the adjustment entry of the
    /// credits given back (if resolved with credits), in one group: a
    /// dispute is decided once, and its credits given back once, however
    /// many decisions race.
    async fn decide_dispute(
        &self,
        id: &str,
        decision: Decision<'_>,
    ) -> Result<Dispute, DisputeError>;
}

/// An entry to append after an account's last, as each backend's commit
/// group decides it from the balance (the rules below are the backends'
/// shared ones).
pub(crate) struct NewEntry<'a> {
    pub(crate) kind: EntryKind,
    pub(crate) amount: i64,
    pub(crate) held_change: i64,
    pub(crate) task_id: Option<&'a str>,
    pub(crate) actor: &'a str,
    pub(crate) reason: Option<&'a str>,
    /// The least `balance - held` the entry may leave: 0 for what takes
    /// credits away, minus the account's credit line for a hold, none for
    /// what never lowers it (credits, captures, releases). A backend that
    /// checks bounds in the database checks this one.
    pub(crate) floor: Option<i64>,
}

/// A credit of `credits` (a top-up or a refund): always written.
pub(crate) fn credit<'a>(
    kind: EntryKind,
    credits: i64,
    actor: &'a str,
    reason: Option<&'a str>,
) -> NewEntry<'a> {
    NewEntry {
        kind,
        amount: credits,
        held_change: 0,
        task_id: None,
        actor,
        reason,
        floor: None,
    }
}

/// An operator's adjustment by `credits`. One that deducts is refused if it
/// would take the balance less what is held below zero: a correction never
/// puts an account in debt (a credit line is for tasks). One that adds is
/// always written, also to an account in debt.
pub(crate) fn adjustment<'a>(
    b: Balance,
    credits: i64,
    actor: &'a str,
    reason: &'a str,
) -> Result<NewEntry<'a>, LedgerError> {
    let floor = (credits < 0).then_some(0);
    if floor.is_some_and(|f| b.available() + credits < f) {
        return Err(LedgerError::WouldGoNegative {
            balance: b.balance,
            held: b.held,
        });
    }
    Ok(NewEntry {
        kind: EntryKind::Adjustment,
        amount: credits,
        held_change: 0,
        task_id: None,
        actor,
        reason: Some(reason),
        floor,
    })
}

/// The forfeit of a closing account's balance: refused while credits are
/// held, nothing to write when there is no balance (a debt stays owed).
pub(crate) fn forfeiture<'a>(
    b: Balance,
    actor: &'a str,
    reason: &'a str,
) -> Result<Option<NewEntry<'a>>, LedgerError> {
    if b.held > 0 {
        return Err(LedgerError::WouldGoNegative {
            balance: b.balance,
            held: b.held,
        });
    }
    Ok((b.balance > 0).then_some(NewEntry {
        kind: EntryKind::Forfeit,
        amount: -b.balance,
        held_change: 0,
        task_id: None,
        actor,
        reason: Some(reason),
        floor: Some(0),
    }))
}

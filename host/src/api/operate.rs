//! What an operator does to an account (top up, adjust, refund, freeze,
//! suspend, close, limits, credit line, keys): one function that the admin
//! API and the console's operators' pages both call, so that a rule lives
//! in one place. The caller checks that the actor may act, and names them.

use serde::{Deserialize, Serialize};

use super::AppState;
use super::account::{Closer, close_account_as};
use super::error::{ApiError, ErrorCode};
use crate::accounts::{Account, AccountStatus, NewSecret};
use crate::moderation::enforcement::NoticeAction;
use crate::store::ledger::Dispute;

/// Body of credit and key actions; each action reads the fields it needs.
#[derive(Debug, Clone, Default, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, default)]
pub struct ActionBody {
    /// `topup`, `adjust` (negative to deduct), `refund`: the credits.
    pub credits: Option<i64>,
    /// Why: needed by `adjust` and `refund`; shown to the account in the
    /// notice of a suspension or freeze.
    pub reason: Option<String>,
    /// `keys`: the new key's name (`default` if omitted).
    pub name: Option<String>,
    /// `limits`, `keys`: requests a minute (absent: the default).
    pub requests_per_minute: Option<u32>,
    /// `limits`: tasks at once (absent: the default).
    pub max_concurrent_tasks: Option<u32>,
    /// `keys`: the most the new key may spend.
    pub credit_limit: Option<i64>,
    /// `credit_line`: how far below zero the balance may go (0 ends the
    /// credit; what is owed stays owed).
    pub credit_line: Option<i64>,
}

/// What `POST /admin/v1/accounts/{account_id}/{action}` does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum AccountAction {
    /// Adds `credits`.
    Topup,
    /// Adds or deducts `credits`, with a `reason`.
    Adjust,
    /// Gives `credits` back, with a `reason`.
    Refund,
    /// No new tasks until unfrozen (a notice to the account).
    Freeze,
    Unfreeze,
    /// Every key refused until unsuspended (a notice to the account).
    Suspend,
    Unsuspend,
    /// Closes it; the unused balance is forfeited.
    Close,
    /// Sets `requests_per_minute` and `max_concurrent_tasks`.
    Limits,
    /// Creates a key (answered 201 with its secret).
    Keys,
    /// Sets the `credit_line`: holds are placed while the balance plus the
    /// line, less what is held, covers them.
    #[serde(rename = "credit_line")]
    CreditLine,
}

impl AccountAction {
    /// The action as its path segment names it (`topup`, `credit_line`…).
    pub fn name(self) -> &'static str {
        match self {
            Self::Topup => "topup",
            Self::Adjust => "adjust",
            Self::Refund => "refund",
            Self::Freeze => "freeze",
            Self::Unfreeze => "unfreeze",
            Self::Suspend => "suspend",
            Self::Unsuspend => "unsuspend",
            Self::Close => "close",
            Self::Limits => "limits",
            Self::Keys => "keys",
            Self::CreditLine => "credit_line",
        }
    }
}

/// What an action did.
pub enum Acted {
    /// The account after it.
    Account {
        /// The account as it is now.
        account: Account,
        /// Whether it was an enforcement step, which wrote its own audit
        /// entry (with a notice to the account).
        enforced: bool,
    },
    /// `keys`: the new key, with its secret (shown once).
    Key(NewSecret),
}

/// Does `action` to account `account_id` with the fields of `body`, as
/// operator `actor` (how the ledger and the audit log name them: `admin`
/// for the admin key, a login's `user_…` for a person). A payment (`topup`,
/// `adjust`, `refund`) that covers what the account owed lifts an overdue
/// suspension at once.
pub async fn act_on_account(
    state: &AppState,
    account_id: &str,
    action: AccountAction,
    body: ActionBody,
    actor: &str,
) -> Result<Acted, ApiError> {
    let account = state.accounts.get(account_id).await?;
    let set_status = |from: AccountStatus, to: AccountStatus| {
        move |a: &mut crate::accounts::Account| {
            if a.status != from {
                return Err(crate::accounts::AccountError::Conflict(
                    format!("the account is {:?}, not {from:?}", a.status).to_lowercase(),
                ));
            }
            a.status = to;
            Ok(())
        }
    };
    let mut enforced = false;
    let updated = match action {
        AccountAction::Topup => {
            let credits = body
                .credits
                .ok_or_else(|| ApiError::invalid("credits", "give the credits to add"))?;
            if account.status == AccountStatus::Closed {
                return Err(ApiError::new(ErrorCode::Conflict, "the account is closed"));
            }
            state
                .ledger
                .topup(&account.id, credits, actor, body.reason.as_deref())
                .await?;
            account
        }
        AccountAction::Adjust => {
            let credits = body.credits.filter(|c| *c != 0).ok_or_else(|| {
                ApiError::invalid(
                    "credits",
                    "give a non-zero number of credits (negative to deduct)",
                )
            })?;
            let reason = body
                .reason
                .filter(|r| !r.trim().is_empty())
                .ok_or_else(|| ApiError::invalid("reason", "an adjustment needs a reason"))?;
            state
                .ledger
                .adjust(&account.id, credits, actor, &reason)
                .await?;
            account
        }
        AccountAction::Refund => {
            let credits = body
                .credits
                .ok_or_else(|| ApiError::invalid("credits", "give the credits to give back"))?;
            let reason = body
                .reason
                .filter(|r| !r.trim().is_empty())
                .ok_or_else(|| ApiError::invalid("reason", "a refund needs a reason"))?;
            state
                .ledger
                .refund(&account.id, credits, actor, &reason)
                .await?;
            account
        }
        AccountAction::Freeze => {
            enforced = state
                .moderation
                .enforce_by_operator(
                    actor,
                    &account.id,
                    None,
                    NoticeAction::CreditsFrozen,
                    body.reason.as_deref(),
                )
                .await?
                .is_some();
            account
        }
        AccountAction::Unfreeze => {
            state
                .accounts
                .update(&account.id, |a| {
                    a.credits_frozen = false;
                    Ok(())
                })
                .await?
        }
        AccountAction::Suspend => {
            state
                .moderation
                .enforce_by_operator(
                    actor,
                    &account.id,
                    None,
                    NoticeAction::AccountSuspended,
                    body.reason.as_deref(),
                )
                .await?;
            enforced = true;
            account
        }
        AccountAction::Unsuspend => {
            state
                .accounts
                .update(
                    &account.id,
                    set_status(AccountStatus::Suspended, AccountStatus::Active),
                )
                .await?
        }
        AccountAction::Close => {
            close_account_as(state, &account.id, actor, Closer::Operator).await?
        }
        AccountAction::Limits => {
            if body.requests_per_minute == Some(0) || body.max_concurrent_tasks == Some(0) {
                return Err(ApiError::invalid(
                    "requests_per_minute",
                    "limits must be at least 1",
                ));
            }
            state
                .accounts
                .update(&account.id, |a| {
                    a.limits.requests_per_minute = body.requests_per_minute;
                    a.limits.max_concurrent_tasks = body.max_concurrent_tasks;
                    Ok(())
                })
                .await?
        }
        AccountAction::Keys => {
            let name = body.name.unwrap_or_else(|| "default".into());
            let new = state
                .accounts
                .create_key(
                    &account.id,
                    &name,
                    body.requests_per_minute,
                    body.credit_limit,
                )
                .await?;
            return Ok(Acted::Key(new));
        }
        AccountAction::CreditLine => {
            let line = body
                .credit_line
                .filter(|c| (0..=crate::ledger::MAX_CREDITS).contains(c))
                .ok_or_else(|| {
                    ApiError::invalid(
                        "credit_line",
                        format!(
                            "give the credit line: 0 to {} credits (0 ends the credit)",
                            crate::ledger::MAX_CREDITS
                        ),
                    )
                })?;
            if account.status == AccountStatus::Closed {
                return Err(ApiError::new(ErrorCode::Conflict, "the account is closed"));
            }
            state
                .accounts
                .update(&account.id, |a| {
                    a.credit_line = line;
                    Ok(())
                })
                .await?
        }
    };
    // A payment may settle what was owed: an overdue suspension lifts now.
    if matches!(
        action,
        AccountAction::Topup | AccountAction::Adjust | AccountAction::Refund
    ) {
        lift_if_paid(state, &updated.id).await;
    }
    let account = state.accounts.get(&updated.id).await?;
    Ok(Acted::Account { account, enforced })
}

/// After credits were added: lifts an overdue suspension the payment
/// settled. The credits are committed by then, so a failure here is logged,
/// not answered (an error would invite a second payment); the next overdue
/// sweep lifts it.
pub async fn lift_if_paid(state: &AppState, account_id: &str) {
    if let Err(e) = state.overdue.check(account_id).await {
        tracing::warn!(account_id, error = %e, "could not check the account's debt after a payment; the next sweep will");
    }
}

/// Decides an open bill dispute as `actor` (see
/// [`crate::bills::Disputes::decide`]); credits given back may settle what
/// the account owed, lifting an overdue suspension.
pub async fn decide_dispute_as(
    state: &AppState,
    id: &str,
    resolve: bool,
    credits: i64,
    note: &str,
    actor: &str,
) -> Result<Dispute, ApiError> {
    let dispute = state
        .disputes
        .decide(id, resolve, credits, note, actor)
        .await?;
    if dispute.credits_returned > 0 {
        lift_if_paid(state, &dispute.account_id).await;
    }
    Ok(dispute)
}

/// Records in the audit log an act `actor` did about `account_id` outside
/// the admin API (whose middleware records its own requests), as `action`
/// (`account.topup`, `dispute.resolve`…) with `details`. A failure is
/// logged, not answered: the act is done by then.
pub async fn record_act(
    state: &AppState,
    actor: &str,
    action: &str,
    account_id: &str,
    details: serde_json::Value,
) {
    record_operator_act(state, actor, action, Some(account_id), details).await;
}

/// As [`record_act`], for an act that may concern no account (a price
/// scheduled: `price.scheduled`).
pub async fn record_operator_act(
    state: &AppState,
    actor: &str,
    action: &str,
    account_id: Option<&str>,
    details: serde_json::Value,
) {
    let entry = crate::audit::NewEntry {
        actor: actor.to_string(),
        action: action.to_string(),
        account_id: account_id.map(str::to_string),
        key_id: None,
        details,
        evidence: Vec::new(),
    };
    if let Err(e) = state
        .audit
        .record(entry, state.moderation.clock.now())
        .await
    {
        tracing::error!(error = %e, account_id, actor, action, "could not write the audit entry of an operator action");
    }
}

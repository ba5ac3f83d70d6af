//! The ledger: append-only credit entries per account (see
//! [`crate::store::ledger`] for what each kind of entry does). Holds,
//! captures and releases belong to tasks and go through the task store;
//! this is what concerns an account alone: top-ups, refunds, corrections,
//! forfeits, and reading balances and entries.

use std::sync::Arc;

use crate::store::StoreError;
pub use crate::store::ledger::{
    Balance, Entry, EntryKind, Hold, HoldStatus, LedgerError, LedgerStore, MAX_CREDITS,
};

/// The ledger.
#[derive(Clone)]
pub struct Ledger {
    store: Arc<dyn LedgerStore>,
}

impl Ledger {
    /// The ledger kept in `store`.
    pub fn new(store: Arc<dyn LedgerStore>) -> Self {
        Self { store }
    }

    /// Adds bought credits.
    pub async fn topup(
        &self,
        account_id: &str,
        credits: i64,
        actor: &str,
        reason: Option<&str>,
    ) -> Result<Entry, LedgerError> {
        self.credit(EntryKind::Topup, account_id, credits, actor, reason)
            .await
    }

    /// Gives back charged credits (an operator's refund).
    pub async fn refund(
        &self,
        account_id: &str,
        credits: i64,
        actor: &str,
        reason: &str,
    ) -> Result<Entry, LedgerError> {
        self.credit(EntryKind::Refund, account_id, credits, actor, Some(reason))
            .await
    }

    async fn credit(
        &self,
        kind: EntryKind,
        account_id: &str,
        credits: i64,
        actor: &str,
        reason: Option<&str>,
    ) -> Result<Entry, LedgerError> {
        if credits <= 0 {
            return Err(LedgerError::NotPositive);
        }
        if credits > MAX_CREDITS {
            return Err(LedgerError::TooLarge);
        }
        self.store
            .credit(account_id, kind, credits, actor, reason)
            .await
    }

    /// Corrects the balance by `credits` (either sign), never below what is
    /// held.
    pub async fn adjust(
        &self,
        account_id: &str,
        credits: i64,
        actor: &str,
        reason: &str,
    ) -> Result<Entry, LedgerError> {
        if !(-MAX_CREDITS..=MAX_CREDITS).contains(&credits) {
            return Err(LedgerError::TooLarge);
        }
        self.store.adjust(account_id, credits, actor, reason).await
    }

    /// Gives up the whole unused balance (the account is closing). Refuses
    /// while credits are held.
    pub async fn forfeit(
        &self,
        account_id: &str,
        actor: &str,
    ) -> Result<Option<Entry>, LedgerError> {
        self.store
            .forfeit(account_id, actor, "account closed")
            .await
    }

    /// Credits held or charged through a key.
    pub async fn key_spent(&self, account_id: &str, key_id: &str) -> Result<i64, StoreError> {
        self.store.key_spent(account_id, key_id).await
    }

    /// An account's totals.
    pub async fn balance(&self, account_id: &str) -> Result<Balance, StoreError> {
        self.store.balance(account_id).await
    }

    /// An account's entries, oldest first, after the entry `after`.
    pub async fn entries(
        &self,
        account_id: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<(Vec<Entry>, bool), StoreError> {
        self.store.entries(account_id, after, limit).await
    }
}

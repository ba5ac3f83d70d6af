//! The ledger's side of the PostgreSQL task store: [`LedgerStore`] and
//! the appends its methods share.

#[allow(clippy::wildcard_imports)]
use super::*;

impl PgTasks {
    /// Appends an entry decided from the account's totals, in one
    /// transaction.
    async fn append_decided<'a>(
        &self,
        account_id: &str,
        decide: impl FnOnce(Balance) -> Result<Option<NewEntry<'a>>, LedgerError> + Send,
    ) -> Result<Option<Entry>, LedgerError> {
        let mut client = self.pg.client().await?;
        let tx = client.transaction().await.map_err(StoreError::from)?;
        let totals = lock_totals(&tx, account_id).await?;
        let Some(new) = decide(totals.balance)? else {
            return Ok(None);
        };
        let entry = append(&tx, account_id, &totals, new).await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(Some(entry))
    }
}

#[async_trait::async_trait]
impl LedgerStore for PgTasks {
    async fn credit(
        &self,
        account_id: &str,
        kind: EntryKind,
        credits: i64,
        actor: &str,
        reason: Option<&str>,
    ) -> Result<Entry, LedgerError> {
        let entry = self
            .append_decided(account_id, |_| {
                Ok(Some(crate::store::ledger::credit(
                    kind, credits, actor, reason,
                )))
            })
            .await?;
        Ok(entry.expect("a credit always writes"))
    }

    async fn adjust(
        &self,
        account_id: &str,
        credits: i64,
        actor: &str,
        reason: &str,
    ) -> Result<Entry, LedgerError> {
        let entry = self
            .append_decided(account_id, |b| {
                crate::store::ledger::adjustment(b, credits, actor, reason).map(Some)
            })
            .await?;
        Ok(entry.expect("an adjustment always writes"))
    }

    async fn forfeit(
        &self,
        account_id: &str,
        actor: &str,
        reason: &str,
    ) -> Result<Option<Entry>, LedgerError> {
        self.append_decided(account_id, |b| {
            crate::store::ledger::forfeiture(b, actor, reason)
        })
        .await
    }

    async fn balance(&self, account_id: &str) -> Result<Balance, StoreError> {
        let client = self.pg.client().await?;
        Ok(client
            .query_opt(
                "SELECT balance, held FROM ledger_balances WHERE account_id = $1",
                &[&account_id],
            )
            .await?
            .map_or_else(Balance::default, |row| Balance {
                balance: row.get(0),
                held: row.get(1),
            }))
    }

    async fn key_spent(&self, account_id: &str, key_id: &str) -> Result<i64, StoreError> {
        let client = self.pg.client().await?;
        spent(&**client, account_id, key_id).await
    }

    async fn owing(&self) -> Result<Vec<(String, Balance)>, StoreError> {
        let client = self.pg.client().await?;
        let rows = client
            .query(
                "SELECT account_id, balance, held FROM ledger_balances \
                 WHERE balance < 0 ORDER BY account_id",
                &[],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|row| {
                let b = Balance {
                    balance: row.get(1),
                    held: row.get(2),
                };
                (row.get(0), b)
            })
            .collect())
    }

    async fn entries(
        &self,
        account_id: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<(Vec<Entry>, bool), StoreError> {
        let client = self.pg.client().await?;
        let fetch = i64::try_from(limit).unwrap_or(i64::MAX - 1) + 1;
        let rows = client
            .query(
                &format!(
                    "SELECT {ENTRY_COLUMNS} FROM ledger_entries \
                     WHERE account_id = $1 AND ($2::text IS NULL OR id > $2) \
                     ORDER BY id LIMIT $3"
                ),
                &[&account_id, &after, &fetch],
            )
            .await?;
        let more = rows.len() > limit;
        let page = rows
            .iter()
            .take(limit)
            .map(entry_from)
            .collect::<Result<_, _>>()?;
        Ok((page, more))
    }

    async fn file_dispute(&self, dispute: &Dispute) -> Result<(), StoreError> {
        insert_dispute(&**self.pg.client().await?, dispute).await
    }

    async fn dispute(&self, id: &str) -> Result<Option<Dispute>, StoreError> {
        let client = self.pg.client().await?;
        let row = client
            .query_opt(
                &format!("SELECT {DISPUTE_COLUMNS} FROM disputes WHERE id = $1"),
                &[&id],
            )
            .await?;
        row.as_ref().map(dispute_from).transpose()
    }

    async fn disputes(
        &self,
        status: Option<DisputeStatus>,
        account_id: Option<&str>,
    ) -> Result<Vec<Dispute>, StoreError> {
        let client = self.pg.client().await?;
        let status = status.map(|s| to_text(&s));
        let rows = client
            .query(
                &format!(
                    "SELECT {DISPUTE_COLUMNS} FROM disputes \
                     WHERE ($1::text IS NULL OR status = $1) \
                       AND ($2::text IS NULL OR account_id = $2) ORDER BY id"
                ),
                &[&status, &account_id],
            )
            .await?;
        rows.iter().map(dispute_from).collect()
    }

    async fn decide_dispute(
        &self,
        id: &str,
        decision: Decision<'_>,
    ) -> Result<Dispute, DisputeError> {
        let mut client = self.pg.client().await?;
        let tx = client.transaction().await.map_err(StoreError::from)?;
        let row = tx
            .query_opt(
                &format!("SELECT {DISPUTE_COLUMNS} FROM disputes WHERE id = $1 FOR UPDATE"),
                &[&id],
            )
            .await
            .map_err(StoreError::from)?
            .ok_or(DisputeError::NotFound)?;
        let mut dispute = dispute_from(&row)?;
        if dispute.status != DisputeStatus::Open {
            return Err(DisputeError::Decided);
        }
        dispute.status = if decision.resolve {
            DisputeStatus::Resolved
        } else {
            DisputeStatus::Rejected
        };
        dispute.credits_returned = decision.credits;
        dispute.resolution = Some(decision.note.to_string());
        dispute.decided_at = Some(crate::time::now_rfc3339());
        if decision.resolve && decision.credits > 0 {
            let totals = lock_totals(&tx, &dispute.account_id).await?;
            let entry = append(
                &tx,
                &dispute.account_id,
                &totals,
                NewEntry {
                    kind: EntryKind::Adjustment,
                    amount: decision.credits,
                    held_change: 0,
                    task_id: None,
                    actor: decision.actor,
                    reason: Some(decision.entry_reason),
                    floor: None,
                },
            )
            .await
            .map_err(|e| match e {
                LedgerError::Store(e) => DisputeError::Store(e),
                other => DisputeError::Store(StoreError::Database(other.to_string())),
            })?;
            dispute.entry_id = Some(entry.id);
        }
        let status = to_text(&dispute.status);
        tx.execute(
            "UPDATE disputes SET status = $2, credits_returned = $3, resolution = $4, \
             decided_at = $5, entry_id = $6 WHERE id = $1",
            &[
                &dispute.id,
                &status,
                &dispute.credits_returned,
                &dispute.resolution,
                &dispute.decided_at,
                &dispute.entry_id,
            ],
        )
        .await
        .map_err(StoreError::from)?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(dispute)
    }
}

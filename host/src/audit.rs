//! The append-only audit log: every operator action (each admin-key request
//! that changed something), every automatic enforcement step and every
//! appeal, with who did it, when, and the evidence behind it. Entries are
//! only ever added; no route edits or deletes them.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::store::{StoreError, Table};

/// Why an enforcement step was taken: the request that broke the rules.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evidence {
    /// The request refused or intercepted.
    pub request_id: String,
    /// The policy that decided, `name@version`.
    pub policy: String,
    /// The category of the terms.
    pub category: Option<String>,
    /// When it happened (RFC 3339).
    pub at: String,
    /// The flagged-request record, `flag_…`.
    pub flag_id: String,
}

/// One audit log entry.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AuditEntry {
    /// `aud_…`, time-ordered.
    pub id: String,
    /// When (RFC 3339).
    pub at: String,
    /// Who: `admin`, `system` (automatic enforcement) or `account:acct_…`.
    pub actor: String,
    /// What, e.g. `key.suspended`, `appeal.submitted` or, for operator
    /// requests, the method and route (`POST /admin/v1/accounts/{account_id}/{action}`).
    pub action: String,
    /// The account concerned, if any.
    pub account_id: Option<String>,
    /// The key concerned, if any.
    pub key_id: Option<String>,
    /// Details of the action (the request body of an operator action, the
    /// strike counts of an enforcement step...).
    pub details: Value,
    /// The evidence behind an enforcement step.
    pub evidence: Vec<Evidence>,
}

/// What to record; the log adds the id and time.
#[derive(Debug, Clone, Default)]
pub struct NewEntry {
    /// See [`AuditEntry::actor`].
    pub actor: String,
    /// See [`AuditEntry::action`].
    pub action: String,
    /// See [`AuditEntry::account_id`].
    pub account_id: Option<String>,
    /// See [`AuditEntry::key_id`].
    pub key_id: Option<String>,
    /// See [`AuditEntry::details`].
    pub details: Value,
    /// See [`AuditEntry::evidence`].
    pub evidence: Vec<Evidence>,
}

/// A query of the log, newest first.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    /// Only entries about this account.
    pub account_id: Option<String>,
    /// Only entries about this key.
    pub key_id: Option<String>,
    /// Only this actor.
    pub actor: Option<String>,
    /// Only actions starting with this (e.g. `key.` or `POST /admin/v1/keys`).
    pub action: Option<String>,
    /// Entries older than this id (cursor).
    pub after: Option<String>,
    /// At most this many (default 50, at most 500).
    pub limit: Option<usize>,
}

/// The log.
#[derive(Clone)]
pub struct Audit {
    table: Table,
}

impl Audit {
    /// The log in `table`.
    pub fn new(table: Table) -> Self {
        Self { table }
    }

    /// Appends an entry and waits until it is on disk.
    pub async fn record(
        &self,
        entry: NewEntry,
        at: time::OffsetDateTime,
    ) -> Result<AuditEntry, StoreError> {
        let entry = AuditEntry {
            id: crate::ids::new("aud"),
            at: crate::time::to_rfc3339(at),
            actor: entry.actor,
            action: entry.action,
            account_id: entry.account_id,
            key_id: entry.key_id,
            details: entry.details,
            evidence: entry.evidence,
        };
        self.table.put(&entry.id, &entry).await?;
        Ok(entry)
    }

    /// Entries matching `q`, newest first, and whether there are more.
    pub fn list(
        &self,
        q: &AuditQuery,
        limit: usize,
    ) -> Result<(Vec<AuditEntry>, bool), StoreError> {
        let mut out = Vec::new();
        for item in self.table.scan_rev::<AuditEntry>(q.after.as_deref()) {
            let (_, e) = item?;
            let keep = q
                .account_id
                .as_ref()
                .is_none_or(|a| e.account_id.as_ref() == Some(a))
                && q.key_id
                    .as_ref()
                    .is_none_or(|k| e.key_id.as_ref() == Some(k))
                && q.actor.as_ref().is_none_or(|a| &e.actor == a)
                && q.action
                    .as_ref()
                    .is_none_or(|a| e.action.starts_with(a.as_str()));
            if !keep {
                continue;
            }
            if out.len() == limit {
                return Ok((out, true));
            }
            out.push(e);
        }
        Ok((out, false))
    }
}

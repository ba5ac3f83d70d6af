//! The append-only audit log: every operator action (each admin-key request
//! that changed something), every automatic enforcement step and every
//! appeal, with who did it, when, and the evidence behind it. Entries are
//! only ever added; no route edits or deletes them. Kept by an
//! [`AuditStore`].

use std::sync::Arc;

use serde_json::Value;

use crate::store::StoreError;
pub use crate::store::audit::{AuditEntry, AuditQuery, AuditStore, Evidence};

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

impl NewEntry {
    /// The entry, with a new id, made at `at`.
    pub fn made_at(self, at: time::OffsetDateTime) -> AuditEntry {
        AuditEntry {
            id: crate::ids::new("aud"),
            at: crate::time::to_rfc3339(at),
            actor: self.actor,
            action: self.action,
            account_id: self.account_id,
            key_id: self.key_id,
            details: self.details,
            evidence: self.evidence,
        }
    }
}

/// The log.
#[derive(Clone)]
pub struct Audit {
    store: Arc<dyn AuditStore>,
}

impl Audit {
    /// The log kept in `store`.
    pub fn new(store: Arc<dyn AuditStore>) -> Self {
        Self { store }
    }

    /// Appends an entry and waits until it is on disk.
    pub async fn record(
        &self,
        entry: NewEntry,
        at: time::OffsetDateTime,
    ) -> Result<AuditEntry, StoreError> {
        let entry = entry.made_at(at);
        self.store.append(&entry).await?;
        Ok(entry)
    }

    /// Entries matching `q`, newest first, and whether there are more.
    pub async fn list(
        &self,
        q: &AuditQuery,
        limit: usize,
    ) -> Result<(Vec<AuditEntry>, bool), StoreError> {
        self.store.list(q, limit).await
    }
}

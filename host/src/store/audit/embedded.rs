//! [`AuditStore`] on the embedded store: the tree `audit`, entries by id (ids
//! are time-ordered, so key order is the log's order). The
//! [`EmbeddedModeration`](crate::store::moderation::EmbeddedModeration) store
//! adds the entries of moderation steps to the same tree in its own commit
//! groups.

use super::{AuditEntry, AuditQuery, AuditStore};
use crate::store::{Store, StoreError, Table};

/// The audit log in the embedded store.
pub struct EmbeddedAudit {
    table: Table,
}

impl EmbeddedAudit {
    /// The store's audit tree.
    pub fn open(store: &Store) -> Result<Self, StoreError> {
        Ok(Self {
            table: store.table("audit")?,
        })
    }

    /// Every entry (moderation steps' included), oldest first, for a copy
    /// to another database.
    pub(crate) fn export(&self) -> impl Iterator<Item = Result<AuditEntry, StoreError>> + '_ {
        self.table.records()
    }
}

#[async_trait::async_trait]
impl AuditStore for EmbeddedAudit {
    async fn append(&self, entry: &AuditEntry) -> Result<(), StoreError> {
        let bytes = serde_json::to_vec(entry).expect("records serialise");
        if !self
            .table
            .compare_and_swap(&entry.id, None, Some(bytes.as_slice()))?
        {
            return Err(StoreError::Conflict("an audit entry with this id exists"));
        }
        self.table.flush().await
    }

    async fn list(
        &self,
        q: &AuditQuery,
        limit: usize,
    ) -> Result<(Vec<AuditEntry>, bool), StoreError> {
        let mut out = Vec::new();
        for item in self.table.scan_rev::<AuditEntry>(q.after.as_deref()) {
            let (_, e) = item?;
            if !e.matches(q) {
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

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::EmbeddedAudit;
    use crate::store::Store;
    use crate::store::audit::AuditStore;

    async fn fresh() -> (tempfile::TempDir, Arc<dyn AuditStore>) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        (dir, Arc::new(EmbeddedAudit::open(&store).unwrap()))
    }

    crate::store::audit::conformance::suite!(fresh);
}

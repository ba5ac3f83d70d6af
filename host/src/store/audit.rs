//! The audit log's storage: entries only ever added, listed newest first.
//! Each append is one commit group, durable when it returns. Entries of a
//! moderation step are also written by the
//! [`ModerationStore`](super::moderation::ModerationStore), in the same
//! commit group as the step.

#[cfg(test)]
pub(crate) mod conformance;
mod embedded;
pub(crate) mod pg;

pub use self::embedded::EmbeddedAudit;
pub use self::pg::PgAudit;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::StoreError;

/// Why an enforcement step was taken: the request that broke the rules.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
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

impl AuditEntry {
    /// Whether the entry matches `q` (all but its cursor and limit).
    pub fn matches(&self, q: &AuditQuery) -> bool {
        q.account_id
            .as_ref()
            .is_none_or(|a| self.account_id.as_ref() == Some(a))
            && q.key_id
                .as_ref()
                .is_none_or(|k| self.key_id.as_ref() == Some(k))
            && q.actor.as_ref().is_none_or(|a| &self.actor == a)
            && q.action
                .as_ref()
                .is_none_or(|a| self.action.starts_with(a.as_str()))
    }
}

/// A query of the log, newest first.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
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

/// Where the audit log is kept.
#[async_trait::async_trait]
pub trait AuditStore: Send + Sync + 'static {
    /// Adds an entry, durable when it returns. An entry is never replaced:
    /// [`StoreError::Conflict`] if one with its id exists.
    async fn append(&self, entry: &AuditEntry) -> Result<(), StoreError>;

    /// Entries matching `q`, newest (greatest id) first, older than
    /// `q.after` if given, at most `limit`; and whether more match.
    async fn list(
        &self,
        q: &AuditQuery,
        limit: usize,
    ) -> Result<(Vec<AuditEntry>, bool), StoreError>;
}

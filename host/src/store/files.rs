//! The files aggregate's storage: `file_…` records saying who owns which
//! blob (the bytes live in the media store, by SHA-256), and which files
//! share a blob, so a deletion knows when a blob's last file went.
//!
//! Each blob has a lock in the store, so that a blob is never removed while
//! a file pointing at it is recorded, even by another replica: a record is
//! written under the lock shared, and a blob's last use checked and the
//! blob removed under it exclusively ([`FileStore::remove_blob_if_unused`]).

#[cfg(test)]
pub(crate) mod conformance;
mod embedded;
pub(crate) mod pg;

pub use self::embedded::EmbeddedFiles;
pub use self::pg::PgFiles;

use std::future::Future;
use std::pin::Pin;

use serde::{Deserialize, Serialize};

use super::StoreError;

/// A stored file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileRecord {
    /// `file_…`.
    pub id: String,
    /// Who may read it.
    pub owner: String,
    /// SHA-256 of the content (its address on disk).
    pub sha256: String,
    /// MIME type.
    pub mime: String,
    /// Size in bytes.
    pub bytes: u64,
    /// Why it exists: "output" or "reference".
    pub purpose: String,
    /// The task that produced it, for outputs.
    pub task_id: Option<String>,
    /// When it was stored.
    pub created_at: String,
}

/// Where file records are kept.
#[async_trait::async_trait]
pub trait FileStore: Send + Sync + 'static {
    /// Records a new file (its blob is stored already), under the blob's
    /// lock shared: it waits for a removal of the blob under way, and once
    /// it returns no removal will start while the record is there. Readable
    /// at once; durable when it returns if `durable`, else no later than the
    /// next commit of any store over the same database that waits for the
    /// disk (an output becomes durable with its task's end).
    async fn insert_file(&self, record: &FileRecord, durable: bool) -> Result<(), StoreError>;

    /// A file's record, whoever owns it.
    async fn file(&self, id: &str) -> Result<Option<FileRecord>, StoreError>;

    /// Deletes the records of `ids` (those that exist), durably. Returns how
    /// many went and the blobs they used.
    async fn delete_files(&self, ids: &[String]) -> Result<(usize, Vec<String>), StoreError>;

    /// Whether a file still uses the blob `sha256`.
    async fn blob_in_use(&self, sha256: &str) -> Result<bool, StoreError>;

    /// Runs `remove` (which deletes the blob's bytes) if no file uses the
    /// blob `sha256`, under the blob's lock held exclusively: files of that
    /// blob recorded meanwhile, by this process or another sharing the
    /// database, wait until it is done. Returns whether it ran; its failure
    /// is [`StoreError::Io`].
    async fn remove_blob_if_unused(
        &self,
        sha256: &str,
        remove: BlobRemoval<'_>,
    ) -> Result<bool, StoreError>;
}

/// The removal of a blob's bytes, run by
/// [`FileStore::remove_blob_if_unused`] only if the blob has no file left.
pub type BlobRemoval<'a> = Pin<Box<dyn Future<Output = std::io::Result<()>> + Send + 'a>>;

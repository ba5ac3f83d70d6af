//! Media blobs: content-addressed bytes in a [`BlobStore`] (a directory or
//! an S3 bucket, see [`backend`]), and `file_…` records (in the
//! [`FileStore`]) saying who owns which blob.
//!
//! Replicas may share the blob store (a shared volume or a bucket) and the
//! records (PostgreSQL): a blob is removed only under its lock in the
//! record store, once no record uses it, and a new record is written under
//! that lock and followed by a check that its blob is still there, so no
//! record is ever left pointing at a removed blob.

pub mod backend;
mod blobs;
#[cfg(test)]
mod conformance;
mod dir;
pub mod format;
mod s3;

use std::sync::Arc;

use bytes::Bytes;
use sha2::{Digest, Sha256};

pub use self::blobs::BlobStore;
pub use self::dir::DirBlobs;
pub use self::s3::S3Blobs;
use crate::store;
pub use crate::store::files::FileRecord;
use crate::store::files::FileStore;
use crate::time::now_rfc3339;

/// Media store failures.
#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    /// Writing or reading a blob failed.
    #[error("media store I/O: {0}")]
    Io(#[from] std::io::Error),
    /// The record store failed.
    #[error(transparent)]
    Store(#[from] store::StoreError),
}

/// The media store.
#[derive(Clone)]
pub struct Media {
    blobs: Arc<dyn BlobStore>,
    files: Arc<dyn FileStore>,
}

impl Media {
    /// A store with blobs in `blobs` and records in `files`.
    pub fn new(blobs: Arc<dyn BlobStore>, files: Arc<dyn FileStore>) -> Self {
        Self { blobs, files }
    }

    /// Stores `bytes` (once per distinct content, durably) and records a
    /// new file owned by `owner`.
    pub async fn put(
        &self,
        owner: &str,
        mime: &str,
        purpose: &str,
        task_id: Option<&str>,
        bytes: &[u8],
    ) -> Result<FileRecord, MediaError> {
        self.store(owner, mime, purpose, task_id, bytes, true).await
    }

    /// [`Media::put`] whose record becomes durable with the caller's next
    /// flush (the bytes themselves are durable before it returns).
    pub async fn put_unflushed(
        &self,
        owner: &str,
        mime: &str,
        purpose: &str,
        task_id: Option<&str>,
        bytes: &[u8],
    ) -> Result<FileRecord, MediaError> {
        self.store(owner, mime, purpose, task_id, bytes, false)
            .await
    }

    async fn store(
        &self,
        owner: &str,
        mime: &str,
        purpose: &str,
        task_id: Option<&str>,
        bytes: &[u8],
        durable: bool,
    ) -> Result<FileRecord, MediaError> {
        let sha256 = crate::ids::hex(&Sha256::digest(bytes));
        let data = Bytes::copy_from_slice(bytes);
        // The blob's bytes are stored before its record is written.
        if !self.blobs.exists(&sha256).await? {
            self.blobs.put(&sha256, data.clone()).await?;
        }
        let record = FileRecord {
            id: crate::ids::new("file"),
            owner: owner.to_string(),
            sha256,
            mime: mime.to_string(),
            bytes: bytes.len() as u64,
            purpose: purpose.to_string(),
            task_id: task_id.map(str::to_string),
            created_at: now_rfc3339(),
        };
        self.files.insert_file(&record, durable).await?;
        // The blob's last file may have gone meanwhile (here or on another
        // replica) and the blob with it, before this record was written;
        // now that it is, no removal starts, so a blob gone is stored again.
        if !self.blobs.exists(&record.sha256).await? {
            self.blobs.put(&record.sha256, data).await?;
        }
        Ok(record)
    }

    /// The record of file `id`, whoever owns it.
    pub async fn record(&self, id: &str) -> Result<Option<FileRecord>, MediaError> {
        Ok(self.files.file(id).await?)
    }

    /// Deletes files: their records, and each blob once no remaining record
    /// shares its content. Returns how many files went.
    pub async fn delete(&self, ids: &[String]) -> Result<usize, MediaError> {
        // The records are gone for good before any blob is.
        let (deleted, blobs) = self.files.delete_files(ids).await?;
        for sha in blobs {
            let remove = self.blobs.delete(&sha);
            self.files.remove_blob_if_unused(&sha, remove).await?;
        }
        Ok(deleted)
    }

    /// The content of a file.
    pub async fn read(&self, record: &FileRecord) -> Result<Vec<u8>, MediaError> {
        Ok(self.blobs.read(&record.sha256, record.bytes).await?)
    }

    /// Where the blobs are, for the logs.
    pub fn describe(&self) -> String {
        self.blobs.describe()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn media(dir: &std::path::Path) -> Media {
        let store = crate::store::Store::open(&dir.join("db")).unwrap();
        let files = crate::store::files::EmbeddedFiles::open(&store)
            .await
            .unwrap();
        let blobs = DirBlobs::open(dir.join("media")).unwrap();
        Media::new(Arc::new(blobs), Arc::new(files))
    }

    #[tokio::test]
    async fn a_blob_shared_by_two_files_goes_with_the_last_of_them() {
        let dir = tempfile::tempdir().unwrap();
        let media = media(dir.path()).await;
        let a = media
            .put("acct_a", "image/png", "output", None, b"same")
            .await
            .unwrap();
        let b = media
            .put("acct_b", "image/png", "output", None, b"same")
            .await
            .unwrap();
        let other = media
            .put("acct_a", "image/png", "output", None, b"other")
            .await
            .unwrap();
        assert_eq!(a.sha256, b.sha256);

        assert_eq!(media.delete(std::slice::from_ref(&a.id)).await.unwrap(), 1);
        assert!(media.record(&a.id).await.unwrap().is_none());
        assert_eq!(
            media.read(&b).await.unwrap(),
            b"same",
            "b still has the blob"
        );

        assert_eq!(
            media
                .delete(&[b.id.clone(), "file_none".into()])
                .await
                .unwrap(),
            1
        );
        assert!(
            !dir.path()
                .join("media")
                .join(&b.sha256[..2])
                .join(&b.sha256)
                .exists(),
            "the last file took the blob"
        );
        assert_eq!(media.read(&other).await.unwrap(), b"other");
    }
}

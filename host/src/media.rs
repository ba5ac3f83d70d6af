//! Media blobs: content-addressed files in the data directory, and `file_…`
//! records (in the [`FileStore`]) saying who owns which blob.

use std::path::PathBuf;
use std::sync::Arc;

use sha2::{Digest, Sha256};

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

/// Files up to this size are read on the calling thread.
const SMALL_READ: u64 = 256 * 1024;

/// The media store.
#[derive(Clone)]
pub struct Media {
    root: PathBuf,
    files: Arc<dyn FileStore>,
    /// Held shared while a file is stored (from the check that its blob
    /// exists to its record's write), and exclusively while a blob's last
    /// file is checked and the blob removed: a new file never ends up
    /// pointing at a blob being deleted.
    blobs: Arc<tokio::sync::RwLock<()>>,
}

impl Media {
    /// A store with blobs under `root` and records in `files`.
    pub fn new(root: PathBuf, files: Arc<dyn FileStore>) -> Result<Self, MediaError> {
        std::fs::create_dir_all(&root)?;
        Ok(Self {
            root,
            files,
            blobs: Arc::default(),
        })
    }

    fn blob_path(&self, sha256: &str) -> PathBuf {
        self.root.join(&sha256[..2]).join(sha256)
    }

    /// Stores `bytes` (once per distinct content, fsynced) and records a new
    /// file owned by `owner`.
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
    /// flush (the bytes themselves are fsynced before it returns).
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
        let path = self.blob_path(&sha256);
        let _storing = self.blobs.read().await;
        // A stat is cheaper than a hop to the blocking pool.
        if !std::fs::exists(&path)? {
            let data = bytes.to_vec();
            // The blob's bytes and its name are on disk before its record
            // is written.
            tokio::task::spawn_blocking(move || crate::durable::write_file(&path, &data))
                .await
                .map_err(std::io::Error::other)??;
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
            let _deleting = self.blobs.write().await;
            if self.files.blob_in_use(&sha).await? {
                continue;
            }
            match tokio::fs::remove_file(self.blob_path(&sha)).await {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(deleted)
    }

    /// The content of a file.
    pub async fn read(&self, record: &FileRecord) -> Result<Vec<u8>, MediaError> {
        let path = self.blob_path(&record.sha256);
        // Small files (most images) are read in place: a hop to the
        // blocking pool costs more than the read. Large ones go there.
        if record.bytes <= SMALL_READ {
            return Ok(std::fs::read(path)?);
        }
        Ok(tokio::fs::read(path).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn media(dir: &std::path::Path) -> Media {
        let store = crate::store::Store::open(&dir.join("db")).unwrap();
        let files = crate::store::files::SledFiles::open(&store).await.unwrap();
        Media::new(dir.join("media"), Arc::new(files)).unwrap()
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
            !media.blob_path(&b.sha256).exists(),
            "the last file took the blob"
        );
        assert_eq!(media.read(&other).await.unwrap(), b"other");
    }
}

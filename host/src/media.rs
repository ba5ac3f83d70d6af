//! Media blobs: content-addressed files in the data directory, and `file_…`
//! records saying who owns which blob, indexed by blob (`{sha256}/{file id}`)
//! so that a deletion finds the other files sharing a blob without reading
//! every record.

use std::path::PathBuf;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::store::{self, Store, Table};
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

/// A stored file.
#[derive(Debug, Clone, Serialize, Deserialize)]
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

/// The media store.
#[derive(Clone)]
pub struct Media {
    root: PathBuf,
    files: Table,
    by_blob: Table,
    /// Held shared while a file is stored (from the check that its blob
    /// exists to its record's write), and exclusively while a blob's last
    /// file is checked and the blob removed: a new file never ends up
    /// pointing at a blob being deleted.
    blobs: Arc<tokio::sync::RwLock<()>>,
}

fn blob_key(sha256: &str, file_id: &str) -> String {
    format!("{sha256}/{file_id}")
}

impl Media {
    /// A store with blobs under `root` and records in `store`.
    pub fn new(root: PathBuf, store: &Store) -> Result<Self, MediaError> {
        std::fs::create_dir_all(&root)?;
        Ok(Self {
            root,
            files: store.table("files")?,
            by_blob: store.table("files_by_blob")?,
            blobs: Arc::default(),
        })
    }

    /// Builds the index of files by blob if this data directory has none
    /// complete yet. Returns how many files were indexed. Call before
    /// serving.
    pub async fn index(&self) -> Result<usize, MediaError> {
        // Its completeness record, `!complete`, sorts before every digest.
        Ok(self
            .files
            .index_once(&self.by_blob, |id, record: FileRecord| {
                self.by_blob
                    .put_unflushed(&blob_key(&record.sha256, id), &())
            })
            .await?)
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
        let record = self
            .put_unflushed(owner, mime, purpose, task_id, bytes)
            .await?;
        self.files.flush().await?;
        Ok(record)
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
        // The index entry first: a crash may leave an entry without its
        // record (which keeps a blob a little longer), never the reverse.
        self.by_blob
            .put_unflushed(&blob_key(&record.sha256, &record.id), &())?;
        self.files.put_unflushed(&record.id, &record)?;
        Ok(record)
    }

    /// The record of file `id`, whoever owns it.
    pub fn record(&self, id: &str) -> Result<Option<FileRecord>, MediaError> {
        Ok(self.files.get(id)?)
    }

    /// Deletes files: their records, and each blob once no remaining record
    /// shares its content. Returns how many files went.
    pub async fn delete(&self, ids: &[String]) -> Result<usize, MediaError> {
        let mut shas = std::collections::BTreeSet::new();
        let mut deleted = 0;
        for id in ids {
            if let Some(record) = self.files.get::<FileRecord>(id)? {
                self.files.remove_unflushed(id)?;
                self.by_blob
                    .remove_unflushed(&blob_key(&record.sha256, id))?;
                shas.insert(record.sha256);
                deleted += 1;
            }
        }
        if shas.is_empty() {
            return Ok(0);
        }
        // The records are gone for good before any blob is.
        self.files.flush().await?;
        for sha in shas {
            let _deleting = self.blobs.write().await;
            if self.blob_in_use(&sha)? {
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

    /// Whether a file still points at blob `sha256`. Index entries whose
    /// record is gone (left by a crash between the two writes) are dropped.
    fn blob_in_use(&self, sha256: &str) -> Result<bool, MediaError> {
        let prefix = format!("{sha256}/");
        for key in self.by_blob.keys_rev(&prefix, None) {
            let key = key?;
            let id = &key[prefix.len()..];
            if self.files.get::<FileRecord>(id)?.is_some() {
                return Ok(true);
            }
            self.by_blob.remove_unflushed(&key)?;
        }
        Ok(false)
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

    fn media(dir: &std::path::Path) -> (Store, Media) {
        let store = Store::open(&dir.join("db")).unwrap();
        let media = Media::new(dir.join("media"), &store).unwrap();
        (store, media)
    }

    #[tokio::test]
    async fn a_blob_shared_by_two_files_goes_with_the_last_of_them() {
        let dir = tempfile::tempdir().unwrap();
        let (_store, media) = media(dir.path());
        media.index().await.unwrap();
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
        assert!(media.record(&a.id).unwrap().is_none());
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

    #[tokio::test]
    async fn files_stored_before_the_index_keep_a_shared_blob() {
        let dir = tempfile::tempdir().unwrap();
        let (store, media) = media(dir.path());
        // A data directory from before the index: records only.
        let old = media
            .put("acct_a", "image/png", "output", None, b"shared")
            .await
            .unwrap();
        let by_blob = store.table("files_by_blob").unwrap();
        by_blob
            .remove_unflushed(&blob_key(&old.sha256, &old.id))
            .unwrap();
        assert_eq!(media.index().await.unwrap(), 1);
        assert_eq!(media.index().await.unwrap(), 0, "indexed once");
        let new = media
            .put("acct_b", "image/png", "output", None, b"shared")
            .await
            .unwrap();

        media.delete(std::slice::from_ref(&new.id)).await.unwrap();
        assert_eq!(
            media.read(&old).await.unwrap(),
            b"shared",
            "the old file still has it"
        );

        // An entry whose record never reached the disk does not keep it.
        by_blob
            .put_unflushed(&blob_key(&old.sha256, "file_lost"), &())
            .unwrap();
        media.delete(std::slice::from_ref(&old.id)).await.unwrap();
        assert!(!media.blob_path(&old.sha256).exists());
        assert_eq!(
            by_blob.keys_rev(&format!("{}/", old.sha256), None).count(),
            0
        );
    }
}

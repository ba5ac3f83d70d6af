//! Media blobs: content-addressed files in the data directory, and `file_…`
//! records saying who owns which blob.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::store::{self, Table};
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

impl From<MediaError> for crate::tasks::TaskStoreError {
    fn from(e: MediaError) -> Self {
        match e {
            MediaError::Store(e) => e.into(),
            MediaError::Io(e) => crate::store::StoreError::Io(e).into(),
        }
    }
}

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
}

impl Media {
    /// A store with blobs under `root` and records in `files`.
    pub fn new(root: PathBuf, files: Table) -> Result<Self, MediaError> {
        std::fs::create_dir_all(&root)?;
        Ok(Self { root, files })
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
        // A stat is cheaper than a hop to the blocking pool.
        if !std::fs::exists(&path)? {
            let dir = path
                .parent()
                .expect("blob paths have a parent")
                .to_path_buf();
            let tmp = dir.join(format!(".{sha256}.{}", uuid::Uuid::now_v7().simple()));
            let data = bytes.to_vec();
            tokio::task::spawn_blocking(move || -> std::io::Result<()> {
                use std::io::Write;
                std::fs::create_dir_all(&dir)?;
                let mut f = std::fs::File::create(&tmp)?;
                f.write_all(&data)?;
                f.sync_all()?;
                std::fs::rename(&tmp, &path)
            })
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
        let mut shas = std::collections::HashSet::new();
        let mut deleted = 0;
        for id in ids {
            if let Some(record) = self.files.get::<FileRecord>(id)? {
                self.files.remove(id).await?;
                shas.insert(record.sha256);
                deleted += 1;
            }
        }
        if shas.is_empty() {
            return Ok(0);
        }
        for item in self.files.scan::<FileRecord>() {
            let (_, record) = item?;
            shas.remove(&record.sha256);
        }
        for sha in shas {
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

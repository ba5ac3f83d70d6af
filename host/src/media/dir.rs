//! Blobs as files in a directory, `<root>/<sha[..2]>/<sha>`: local, or a
//! volume shared by replicas (such as NFS). Each is written to a temporary
//! file, fsynced and renamed into place, and its directory fsynced.

use std::path::PathBuf;

use bytes::Bytes;

use super::BlobStore;

/// Files up to this size are read on the calling thread.
const SMALL_READ: u64 = 256 * 1024;

/// Blobs in a directory.
pub struct DirBlobs {
    root: PathBuf,
}

impl DirBlobs {
    /// The blobs under `root`, made if missing.
    pub fn open(root: PathBuf) -> std::io::Result<Self> {
        std::fs::create_dir_all(&root)?;
        Ok(Self { root })
    }

    fn path(&self, sha256: &str) -> PathBuf {
        self.root.join(&sha256[..2]).join(sha256)
    }
}

#[async_trait::async_trait]
impl BlobStore for DirBlobs {
    async fn exists(&self, sha256: &str) -> std::io::Result<bool> {
        // A stat is cheaper than a hop to the blocking pool.
        std::fs::exists(self.path(sha256))
    }

    async fn put(&self, sha256: &str, bytes: Bytes) -> std::io::Result<()> {
        let path = self.path(sha256);
        // The bytes and the name are on disk when it returns.
        tokio::task::spawn_blocking(move || crate::durable::write_file(&path, &bytes))
            .await
            .map_err(std::io::Error::other)?
    }

    async fn read(&self, sha256: &str, size: u64) -> std::io::Result<Vec<u8>> {
        let path = self.path(sha256);
        // Small files (most images) are read in place: a hop to the
        // blocking pool costs more than the read. Large ones go there.
        if size <= SMALL_READ {
            return std::fs::read(path);
        }
        tokio::fs::read(path).await
    }

    async fn delete(&self, sha256: &str) -> std::io::Result<()> {
        match tokio::fs::remove_file(self.path(sha256)).await {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            other => other,
        }
    }

    fn describe(&self) -> String {
        format!("directory {}", self.root.display())
    }
}

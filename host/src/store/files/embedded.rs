//! [`FileStore`] on the embedded store: trees `files` (by file id) and
//! `files_by_blob` (`{sha256}/{file id}`), so that a deletion finds the other
//! files sharing a blob without reading every record. A blob's lock is the
//! process's (the embedded store has one process): one lock for all blobs, held
//! shared by records' inserts and exclusively by removals.

use super::{BlobRemoval, FileRecord, FileStore};
use crate::store::{Store, StoreError, Table};

/// File records in the embedded store.
pub struct EmbeddedFiles {
    files: Table,
    by_blob: Table,
    /// Blobs' lock: held shared while a file is recorded, exclusively while
    /// a blob's last use is checked and the blob removed.
    blobs: tokio::sync::RwLock<()>,
}

fn blob_key(sha256: &str, file_id: &str) -> String {
    format!("{sha256}/{file_id}")
}

impl EmbeddedFiles {
    /// The store's file trees; builds the index by blob if this data
    /// directory has none complete yet (it predates the index).
    pub async fn open(store: &Store) -> Result<Self, StoreError> {
        let this = Self {
            files: store.packed_table("files")?,
            by_blob: store.table("files_by_blob")?,
            blobs: tokio::sync::RwLock::new(()),
        };
        // Its completeness record, `!complete`, sorts before every digest.
        let indexed = this
            .files
            .index_once(&this.by_blob, |id, record: FileRecord| {
                this.by_blob
                    .put_unflushed(&blob_key(&record.sha256, id), &())
            })
            .await?;
        if indexed > 0 {
            tracing::info!(files = indexed, "indexed the stored files by blob");
        }
        Ok(this)
    }

    /// Every file record, for a copy to another database.
    pub(crate) fn export(&self) -> impl Iterator<Item = Result<FileRecord, StoreError>> + '_ {
        self.files.records()
    }
}

#[async_trait::async_trait]
impl FileStore for EmbeddedFiles {
    async fn insert_file(&self, record: &FileRecord, durable: bool) -> Result<(), StoreError> {
        let _recording = self.blobs.read().await;
        // The index entry and the record in one batch: one journal write,
        // and a crash keeps both or neither.
        let mut batch = self.files.store().batch();
        batch.put(&self.by_blob, &blob_key(&record.sha256, &record.id), &());
        batch.put(&self.files, &record.id, record);
        batch.commit()?;
        if durable {
            self.files.flush().await?;
        }
        Ok(())
    }

    async fn file(&self, id: &str) -> Result<Option<FileRecord>, StoreError> {
        self.files.get(id)
    }

    async fn delete_files(&self, ids: &[String]) -> Result<(usize, Vec<String>), StoreError> {
        let mut blobs = Vec::new();
        let mut batch = self.files.store().batch();
        // An id given twice is one file (the batch applies only at the end).
        let mut ids: Vec<&String> = ids.iter().collect();
        ids.sort();
        ids.dedup();
        for id in ids {
            if let Some(record) = self.files.get::<FileRecord>(id)? {
                batch.remove(&self.files, id);
                batch.remove(&self.by_blob, &blob_key(&record.sha256, id));
                blobs.push(record.sha256);
            }
        }
        let deleted = blobs.len();
        blobs.sort();
        blobs.dedup();
        if deleted > 0 {
            batch.commit()?;
            self.files.flush().await?;
        }
        Ok((deleted, blobs))
    }

    async fn blob_in_use(&self, sha256: &str) -> Result<bool, StoreError> {
        // Entries whose record is gone (which versions that wrote the two
        // apart could leave in a crash) are dropped.
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

    async fn remove_blob_if_unused(
        &self,
        sha256: &str,
        remove: BlobRemoval<'_>,
    ) -> Result<bool, StoreError> {
        let _removing = self.blobs.write().await;
        if self.blob_in_use(sha256).await? {
            return Ok(false);
        }
        remove.await?;
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::{EmbeddedFiles, blob_key};
    use crate::store::Store;
    use crate::store::files::{FileRecord, FileStore};

    async fn fresh() -> (tempfile::TempDir, Arc<dyn FileStore>) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        (dir, Arc::new(EmbeddedFiles::open(&store).await.unwrap()))
    }

    crate::store::files::conformance::suite!(fresh);

    #[tokio::test]
    async fn files_stored_before_the_index_keep_a_shared_blob() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let record = |id: &str| FileRecord {
            id: id.into(),
            owner: "acct_a".into(),
            sha256: "ab".repeat(32),
            mime: "image/png".into(),
            bytes: 6,
            purpose: "output".into(),
            task_id: None,
            created_at: "2026-12-02T00:00:00Z".into(),
        };
        // A data directory from before the index: a record only.
        store
            .table("files")
            .unwrap()
            .put("file_old", &record("file_old"))
            .await
            .unwrap();
        let files = EmbeddedFiles::open(&store).await.unwrap();
        assert!(files.blob_in_use(&"ab".repeat(32)).await.unwrap());
        // An entry whose record never reached the disk does not keep it.
        let by_blob = store.table("files_by_blob").unwrap();
        by_blob
            .put_unflushed(&blob_key(&"ab".repeat(32), "file_lost"), &())
            .unwrap();
        files.delete_files(&["file_old".into()]).await.unwrap();
        assert!(!files.blob_in_use(&"ab".repeat(32)).await.unwrap());
        assert_eq!(
            by_blob
                .keys_rev(&format!("{}/", "ab".repeat(32)), None)
                .count(),
            0
        );
    }
}

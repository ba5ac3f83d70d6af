//! [`FileStore`] on PostgreSQL: the table `files`, indexed by blob. A file
//! recorded without waiting for the disk is committed with
//! `synchronous_commit` off: visible at once, and made durable by the next
//! commit that waits for the disk (the write-ahead log is flushed in
//! order).
//!
//! A blob's lock is a transaction-scoped advisory lock on its digest: a
//! record is inserted under it shared, a blob's last use is checked and the
//! blob removed under it exclusively, so replicas sharing the database and
//! a media store never leave a record without its blob.

use tokio_postgres::Row;

use super::{BlobRemoval, FileRecord, FileStore};
use crate::store::StoreError;
use crate::store::pg::{PgStore, corrupt};

/// The first key of the advisory locks on blobs ("imi" 4).
const BLOB_LOCKS: i32 = 0x696d_6904;

/// File records in PostgreSQL.
pub struct PgFiles {
    pg: PgStore,
}

impl PgFiles {
    /// The file records of the database `pg`.
    pub fn new(pg: &PgStore) -> Self {
        Self { pg: pg.clone() }
    }
}

const COLUMNS: &str = "id, owner, sha256, mime, bytes, purpose, task_id, created_at";

fn record_from(row: &Row) -> Result<FileRecord, StoreError> {
    let bytes: i64 = row.get(4);
    Ok(FileRecord {
        id: row.get(0),
        owner: row.get(1),
        sha256: row.get(2),
        mime: row.get(3),
        bytes: u64::try_from(bytes).map_err(|_| corrupt("files", format!("size {bytes}")))?,
        purpose: row.get(5),
        task_id: row.get(6),
        created_at: row.get(7),
    })
}

/// Stores a file record within the caller's transaction (which holds its
/// blob's lock, or is a copy to this database that nothing else sees yet).
pub(crate) async fn insert(
    tx: &tokio_postgres::Transaction<'_>,
    record: &FileRecord,
) -> Result<(), StoreError> {
    let bytes = i64::try_from(record.bytes)
        .map_err(|_| StoreError::Conflict("a file this large cannot be recorded"))?;
    tx.execute(
        &format!("INSERT INTO files ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"),
        &[
            &record.id,
            &record.owner,
            &record.sha256,
            &record.mime,
            &bytes,
            &record.purpose,
            &record.task_id,
            &record.created_at,
        ],
    )
    .await
    .map_err(|e| {
        if crate::store::pg::is_unique_violation(&e) {
            StoreError::Conflict("a file with this id exists")
        } else {
            e.into()
        }
    })?;
    Ok(())
}

#[async_trait::async_trait]
impl FileStore for PgFiles {
    async fn insert_file(&self, record: &FileRecord, durable: bool) -> Result<(), StoreError> {
        let mut client = self.pg.client().await?;
        let tx = client.transaction().await?;
        if !durable {
            tx.batch_execute("SET LOCAL synchronous_commit TO OFF")
                .await?;
        }
        tx.execute(
            "SELECT pg_advisory_xact_lock_shared($1, hashtext($2))",
            &[&BLOB_LOCKS, &record.sha256],
        )
        .await?;
        insert(&tx, record).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn file(&self, id: &str) -> Result<Option<FileRecord>, StoreError> {
        let client = self.pg.client().await?;
        let row = client
            .query_opt(
                &format!("SELECT {COLUMNS} FROM files WHERE id = $1"),
                &[&id],
            )
            .await?;
        row.as_ref().map(record_from).transpose()
    }

    async fn delete_files(&self, ids: &[String]) -> Result<(usize, Vec<String>), StoreError> {
        if ids.is_empty() {
            return Ok((0, Vec::new()));
        }
        let client = self.pg.client().await?;
        let rows = client
            .query(
                "DELETE FROM files WHERE id = ANY($1) RETURNING sha256",
                &[&ids],
            )
            .await?;
        let mut blobs: Vec<String> = rows.iter().map(|r| r.get(0)).collect();
        let deleted = blobs.len();
        blobs.sort();
        blobs.dedup();
        Ok((deleted, blobs))
    }

    async fn blob_in_use(&self, sha256: &str) -> Result<bool, StoreError> {
        let client = self.pg.client().await?;
        Ok(client
            .query_one(
                "SELECT EXISTS (SELECT 1 FROM files WHERE sha256 = $1)",
                &[&sha256],
            )
            .await?
            .get(0))
    }

    async fn remove_blob_if_unused(
        &self,
        sha256: &str,
        remove: BlobRemoval<'_>,
    ) -> Result<bool, StoreError> {
        let mut client = self.pg.client().await?;
        let tx = client.transaction().await?;
        tx.execute(
            "SELECT pg_advisory_xact_lock($1, hashtext($2))",
            &[&BLOB_LOCKS, &sha256],
        )
        .await?;
        let in_use: bool = tx
            .query_one(
                "SELECT EXISTS (SELECT 1 FROM files WHERE sha256 = $1)",
                &[&sha256],
            )
            .await?
            .get(0);
        if !in_use {
            // Under the lock: a record of this blob waits for the removal,
            // then finds the blob gone and stores it again.
            remove.await?;
        }
        // Ends the transaction and so releases the lock (dropped on an
        // error, the transaction is rolled back, which releases it too).
        tx.commit().await?;
        Ok(!in_use)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::PgFiles;
    use crate::store::files::FileStore;
    use crate::store::pg::testing::{TestDb, fresh_store};

    async fn fresh_pg() -> (TestDb, Arc<dyn FileStore>) {
        let (db, pg) = fresh_store().await;
        (db, Arc::new(PgFiles::new(&pg)))
    }

    crate::store::files::conformance::suite!(fresh_pg);
}

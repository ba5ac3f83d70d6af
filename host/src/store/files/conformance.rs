//! The behaviour every [`FileStore`] must have, as tests an implementation
//! runs with `suite!(fresh)`, where `fresh().await` returns a guard
//! (dropped after the test) and an empty store.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use super::{BlobRemoval, FileRecord, FileStore};
use crate::store::StoreError;

/// The tests, for an implementation's `fresh` constructor.
macro_rules! suite {
    ($fresh:path) => {
        $crate::store::files::conformance::suite!(@tests $fresh;
            a_file_reads_back_as_recorded,
            a_blob_is_in_use_until_its_last_file_goes,
            a_blob_is_removed_unused_only_and_new_records_wait_for_it,
        );
    };
    (@tests $fresh:path; $($name:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $name() {
                let (_guard, store) = $fresh().await;
                $crate::store::files::conformance::$name(store).await;
            }
        )*
    };
}
pub(crate) use suite;

fn record(owner: &str, sha256: &str) -> FileRecord {
    FileRecord {
        id: crate::ids::new("file"),
        owner: owner.to_string(),
        sha256: sha256.to_string(),
        mime: "image/png".into(),
        bytes: 3172,
        purpose: "output".into(),
        task_id: Some(crate::ids::new("task")),
        created_at: crate::time::now_rfc3339(),
    }
}

pub(crate) async fn a_file_reads_back_as_recorded(files: Arc<dyn FileStore>) {
    let a = record("acct_a", &"1".repeat(64));
    files.insert_file(&a, false).await.unwrap();
    assert_eq!(files.file(&a.id).await.unwrap(), Some(a.clone()));
    let b = record("acct_a", &"2".repeat(64));
    files.insert_file(&b, true).await.unwrap();
    assert_eq!(files.file(&b.id).await.unwrap(), Some(b));
    assert_eq!(files.file("file_none").await.unwrap(), None);
}

pub(crate) async fn a_blob_is_in_use_until_its_last_file_goes(files: Arc<dyn FileStore>) {
    let shared = "3".repeat(64);
    let a = record("acct_a", &shared);
    let b = record("acct_b", &shared);
    let other = record("acct_a", &"4".repeat(64));
    for r in [&a, &b, &other] {
        files.insert_file(r, true).await.unwrap();
    }
    let (deleted, blobs) = files
        .delete_files(&[a.id.clone(), "file_none".into()])
        .await
        .unwrap();
    assert_eq!((deleted, blobs), (1, vec![shared.clone()]));
    assert!(files.file(&a.id).await.unwrap().is_none());
    assert!(files.blob_in_use(&shared).await.unwrap(), "b still uses it");
    let (deleted, _) = files
        .delete_files(&[b.id.clone(), b.id.clone()])
        .await
        .unwrap();
    assert_eq!(deleted, 1);
    assert!(!files.blob_in_use(&shared).await.unwrap());
    assert!(files.blob_in_use(&"4".repeat(64)).await.unwrap());
    assert_eq!(files.delete_files(&[]).await.unwrap(), (0, vec![]));
}

/// A removal that notes that it ran.
fn noted(ran: &Arc<AtomicBool>) -> BlobRemoval<'static> {
    let ran = ran.clone();
    Box::pin(async move {
        ran.store(true, Ordering::SeqCst);
        Ok(())
    })
}

pub(crate) async fn a_blob_is_removed_unused_only_and_new_records_wait_for_it(
    files: Arc<dyn FileStore>,
) {
    let shared = "5".repeat(64);
    let a = record("acct_a", &shared);
    files.insert_file(&a, true).await.unwrap();
    let ran = Arc::new(AtomicBool::new(false));
    assert!(
        !files
            .remove_blob_if_unused(&shared, noted(&ran))
            .await
            .unwrap()
    );
    assert!(!ran.load(Ordering::SeqCst), "a used blob is not removed");
    files
        .delete_files(std::slice::from_ref(&a.id))
        .await
        .unwrap();

    // The removal starts and holds the blob's lock; a new file of the same
    // content (as another replica would record it, on its own connection)
    // waits until the blob is gone, and so knows to store it again.
    let (started, started_rx) = tokio::sync::oneshot::channel();
    let (finish, finish_rx) = tokio::sync::oneshot::channel::<()>();
    let remover = tokio::spawn({
        let (files, shared) = (files.clone(), shared.clone());
        async move {
            let remove: BlobRemoval<'static> = Box::pin(async move {
                started.send(()).unwrap();
                finish_rx.await.unwrap();
                Ok(())
            });
            files.remove_blob_if_unused(&shared, remove).await.unwrap()
        }
    });
    started_rx.await.unwrap();
    let b = record("acct_b", &shared);
    let insert = tokio::spawn({
        let (files, b) = (files.clone(), b.clone());
        async move { files.insert_file(&b, false).await }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        !insert.is_finished(),
        "a file of the blob is recorded only once its removal is done"
    );
    assert!(!files.blob_in_use(&shared).await.unwrap());
    finish.send(()).unwrap();
    assert!(remover.await.unwrap(), "the unused blob was removed");
    tokio::time::timeout(Duration::from_secs(10), insert)
        .await
        .expect("the record goes in once the removal is done")
        .unwrap()
        .unwrap();
    assert!(files.blob_in_use(&shared).await.unwrap());

    // Recorded, the blob stays; a failed removal is an error.
    let ran = Arc::new(AtomicBool::new(false));
    assert!(
        !files
            .remove_blob_if_unused(&shared, noted(&ran))
            .await
            .unwrap()
    );
    assert!(!ran.load(Ordering::SeqCst));
    files
        .delete_files(std::slice::from_ref(&b.id))
        .await
        .unwrap();
    let failing: BlobRemoval<'static> =
        Box::pin(async { Err(std::io::Error::other("the disk is gone")) });
    let err = files
        .remove_blob_if_unused(&shared, failing)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Io(_)), "{err}");
    // The lock was released all the same.
    let ran = Arc::new(AtomicBool::new(false));
    tokio::time::timeout(
        Duration::from_secs(10),
        files.remove_blob_if_unused(&shared, noted(&ran)),
    )
    .await
    .expect("the lock is free again")
    .unwrap();
    assert!(ran.load(Ordering::SeqCst));
}

//! The behaviour every [`FileStore`] must have, as tests an implementation
//! runs with `suite!(fresh)`, where `fresh().await` returns a guard
//! (dropped after the test) and an empty store.

use std::sync::Arc;

use super::{FileRecord, FileStore};

/// The tests, for an implementation's `fresh` constructor.
macro_rules! suite {
    ($fresh:path) => {
        $crate::store::files::conformance::suite!(@tests $fresh;
            a_file_reads_back_as_recorded,
            a_blob_is_in_use_until_its_last_file_goes,
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

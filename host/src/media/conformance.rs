//! The behaviour every [`BlobStore`] must have, run on a directory and on
//! a bucket of moto's S3-compatible server (a real one, on loopback), with
//! the [`Media`] records on sled.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use bytes::Bytes;
use object_store::ObjectStore;
use object_store::aws::AmazonS3Builder;
use object_store::path::Path;

use super::s3::S3Settings;
use super::{BlobStore, DirBlobs, Media, S3Blobs};

#[path = "../../../tests/support/moto.rs"]
mod moto;

type Count = Box<dyn Fn() -> Pin<Box<dyn Future<Output = usize> + Send>> + Send + Sync>;

/// A store for one test: what must outlive it, the store, and how many
/// blobs it holds, counted in its own terms (files, objects).
struct Fresh {
    _guard: Box<dyn Send>,
    blobs: Arc<dyn BlobStore>,
    count: Count,
}

fn fresh_dir() -> Fresh {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("media");
    let blobs = Arc::new(DirBlobs::open(root.clone()).unwrap());
    let count: Count = Box::new(move || {
        let root = root.clone();
        Box::pin(async move {
            let mut n = 0;
            for sub in std::fs::read_dir(&root).unwrap() {
                n += std::fs::read_dir(sub.unwrap().path()).unwrap().count();
            }
            n
        })
    });
    Fresh {
        _guard: Box::new(dir),
        blobs,
        count,
    }
}

/// The dummy credentials moto takes (which the gateway would read from
/// the environment).
fn credentials() -> AmazonS3Builder {
    let [(_, key), (_, secret), _] = moto::CREDENTIALS;
    AmazonS3Builder::new()
        .with_access_key_id(key)
        .with_secret_access_key(secret)
}

/// A bucket of the tests' moto server, seen through object_store directly.
fn raw_bucket(bucket: &moto::Bucket) -> Arc<dyn ObjectStore> {
    Arc::new(
        credentials()
            .with_bucket_name(&bucket.name)
            .with_endpoint(&bucket.endpoint)
            .with_allow_http(true)
            .with_region("us-east-1")
            .build()
            .unwrap(),
    )
}

async fn fresh_s3() -> Fresh {
    let bucket = tokio::task::spawn_blocking(moto::Bucket::create)
        .await
        .unwrap();
    let settings = S3Settings {
        bucket: bucket.name.clone(),
        endpoint: Some(bucket.endpoint.clone()),
        region: Some("us-east-1".into()),
        prefix: Some("gateway/media".into()),
    };
    let blobs = Arc::new(S3Blobs::open_with(credentials(), &settings).await.unwrap());
    let raw = raw_bucket(&bucket);
    let count: Count = Box::new(move || {
        let raw = raw.clone();
        Box::pin(async move {
            // Every object is two levels under the prefix.
            let top = raw
                .list_with_delimiter(Some(&Path::from("gateway/media")))
                .await
                .unwrap();
            let mut n = 0;
            for dir in top.common_prefixes {
                n += raw
                    .list_with_delimiter(Some(&dir))
                    .await
                    .unwrap()
                    .objects
                    .len();
            }
            n
        })
    });
    Fresh {
        _guard: Box::new(bucket),
        blobs,
        count,
    }
}

const A: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

async fn blobs_read_back_and_go(fresh: Fresh) {
    let blobs = &fresh.blobs;
    assert!(!blobs.exists(A).await.unwrap());
    let missing = blobs.read(A, 4).await.unwrap_err();
    assert_eq!(missing.kind(), std::io::ErrorKind::NotFound, "{missing}");
    blobs.put(A, Bytes::from_static(b"test")).await.unwrap();
    assert!(blobs.exists(A).await.unwrap());
    assert_eq!(blobs.read(A, 4).await.unwrap(), b"test");
    // Stored again (the same content): still one blob.
    blobs.put(A, Bytes::from_static(b"test")).await.unwrap();
    assert_eq!((fresh.count)().await, 1);
    // A large one (read off the calling thread by the directory).
    let large = vec![7u8; 600 * 1024];
    let sha = crate::ids::hex(&<sha2::Sha256 as sha2::Digest>::digest(&large));
    blobs.put(&sha, Bytes::from(large.clone())).await.unwrap();
    assert_eq!(blobs.read(&sha, large.len() as u64).await.unwrap(), large);
    assert_eq!((fresh.count)().await, 2);

    blobs.delete(A).await.unwrap();
    assert!(!blobs.exists(A).await.unwrap());
    let gone = blobs.read(A, 4).await.unwrap_err();
    assert_eq!(gone.kind(), std::io::ErrorKind::NotFound, "{gone}");
    blobs
        .delete(A)
        .await
        .expect("a missing blob deletes quietly");
    assert_eq!((fresh.count)().await, 1);
}

async fn media_stores_the_same_content_once(fresh: Fresh) {
    let dir = tempfile::tempdir().unwrap();
    let store = crate::store::Store::open(&dir.path().join("db")).unwrap();
    let files = crate::store::files::EmbeddedFiles::open(&store)
        .await
        .unwrap();
    let media = Media::new(fresh.blobs.clone(), Arc::new(files));
    let a = media
        .put("acct_a", "image/png", "output", None, b"same")
        .await
        .unwrap();
    let b = media
        .put_unflushed("acct_b", "image/png", "output", None, b"same")
        .await
        .unwrap();
    media
        .put("acct_a", "image/png", "output", None, b"other")
        .await
        .unwrap();
    assert_eq!(a.sha256, b.sha256);
    assert_eq!((fresh.count)().await, 2, "the same content is stored once");

    media.delete(std::slice::from_ref(&a.id)).await.unwrap();
    assert_eq!(media.read(&b).await.unwrap(), b"same", "b keeps the blob");
    media.delete(std::slice::from_ref(&b.id)).await.unwrap();
    assert_eq!((fresh.count)().await, 1, "the last file took the blob");
    let gone = media.read(&b).await.unwrap_err();
    assert!(
        matches!(&gone, super::MediaError::Io(e) if e.kind() == std::io::ErrorKind::NotFound),
        "{gone}"
    );
}

#[tokio::test]
async fn a_directory_keeps_blobs() {
    blobs_read_back_and_go(fresh_dir()).await;
}

#[tokio::test]
async fn a_directory_behind_media_stores_content_once() {
    media_stores_the_same_content_once(fresh_dir()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_s3_bucket_keeps_blobs() {
    blobs_read_back_and_go(fresh_s3().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_s3_bucket_behind_media_stores_content_once() {
    media_stores_the_same_content_once(fresh_s3().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_s3_bucket_that_cannot_be_reached_is_named() {
    let bucket = tokio::task::spawn_blocking(moto::Bucket::create)
        .await
        .unwrap();
    let missing = S3Settings {
        bucket: format!("{}-missing", bucket.name),
        endpoint: Some(bucket.endpoint.clone()),
        region: Some("us-east-1".into()),
        prefix: None,
    };
    let err = S3Blobs::open_with(credentials(), &missing)
        .await
        .err()
        .expect("a missing bucket");
    assert!(
        err.contains(&missing.bucket) && err.contains(&bucket.endpoint),
        "{err}"
    );
    // A port where nothing listens.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let unreachable = S3Settings {
        endpoint: Some(endpoint.clone()),
        bucket: bucket.name.clone(),
        ..missing
    };
    let started = std::time::Instant::now();
    let err = S3Blobs::open_with(credentials(), &unreachable)
        .await
        .err()
        .expect("nothing listens there");
    assert!(
        err.contains(&bucket.name) && err.contains(&endpoint),
        "{err}"
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(30));
}

//! Where blobs' bytes are kept, by SHA-256: a directory ([`super::DirBlobs`])
//! or an S3 bucket ([`super::S3Blobs`]).

use bytes::Bytes;

/// A store of content-addressed blobs. A blob's name is the SHA-256 of its
/// bytes (64 hex digits), so storing the same blob twice stores it once.
#[async_trait::async_trait]
pub trait BlobStore: Send + Sync + 'static {
    /// Whether blob `sha256` is stored.
    async fn exists(&self, sha256: &str) -> std::io::Result<bool>;

    /// Stores `bytes` as blob `sha256` (replacing a copy already there,
    /// which has the same bytes); durable when it returns.
    async fn put(&self, sha256: &str, bytes: Bytes) -> std::io::Result<()>;

    /// Blob `sha256`'s bytes (`size` long, as recorded); an error of kind
    /// [`std::io::ErrorKind::NotFound`] if it is not stored.
    async fn read(&self, sha256: &str, size: u64) -> std::io::Result<Vec<u8>>;

    /// Removes blob `sha256`; one not stored is no error.
    async fn delete(&self, sha256: &str) -> std::io::Result<()>;

    /// Where the blobs are, for the logs.
    fn describe(&self) -> String;
}

//! Blobs as objects in an S3-compatible bucket, `<prefix>/<sha[..2]>/<sha>`,
//! shared by every replica that names it. Spoken through the `object_store`
//! crate, which signs requests with the credentials of the usual AWS
//! environment variables (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
//! `AWS_SESSION_TOKEN`, …) and retries failed requests a few times.

use std::time::Duration;

use bytes::Bytes;
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::path::Path;
use object_store::{ObjectStore, PutPayload, RetryConfig};

use super::BlobStore;

/// Where an S3 bucket is (`[media]` with `backend = "s3"`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct S3Settings {
    /// The bucket.
    pub bucket: String,
    /// The server's URL, for S3-compatible stores (default: AWS's, or
    /// `AWS_ENDPOINT`).
    pub endpoint: Option<String>,
    /// The region (default: `AWS_DEFAULT_REGION`, else us-east-1).
    pub region: Option<String>,
    /// What the objects' names start with, without slashes at the ends.
    pub prefix: Option<String>,
}

/// Blobs in an S3 bucket.
pub struct S3Blobs {
    store: AmazonS3,
    /// The objects' common prefix (empty for none).
    prefix: Path,
    bucket: String,
    endpoint: String,
}

impl S3Blobs {
    /// The bucket of `settings`, with credentials from the environment;
    /// fails, naming the bucket and the endpoint, if the bucket cannot be
    /// listed.
    pub async fn open(settings: &S3Settings) -> Result<Self, String> {
        Self::open_with(AmazonS3Builder::from_env(), settings).await
    }

    /// [`S3Blobs::open`] from a builder carrying the credentials.
    pub(crate) async fn open_with(
        builder: AmazonS3Builder,
        settings: &S3Settings,
    ) -> Result<Self, String> {
        let mut builder = builder
            .with_bucket_name(&settings.bucket)
            // A few quick retries: a request still failing after them is
            // an error for the caller, not minutes of waiting.
            .with_retry(RetryConfig {
                max_retries: 3,
                retry_timeout: Duration::from_secs(20),
                ..RetryConfig::default()
            });
        if let Some(endpoint) = &settings.endpoint {
            builder = builder
                .with_endpoint(endpoint)
                .with_allow_http(endpoint.starts_with("http://"));
        }
        if let Some(region) = &settings.region {
            builder = builder.with_region(region);
        }
        let endpoint = settings
            .endpoint
            .clone()
            .unwrap_or_else(|| "the default endpoint".into());
        let unreachable = |e: &dyn std::fmt::Display| {
            format!(
                "the S3 bucket {} at {endpoint} cannot be used: {e}",
                settings.bucket
            )
        };
        let store = builder.build().map_err(|e| unreachable(&e))?;
        let prefix = settings
            .prefix
            .as_deref()
            .map(Path::from)
            .unwrap_or_default();
        // One cheap call: the top level of the prefix (at most the 256
        // two-digit directories of the blobs).
        store
            .list_with_delimiter(Some(&prefix).filter(|p| !p.as_ref().is_empty()))
            .await
            .map_err(|e| unreachable(&e))?;
        Ok(Self {
            store,
            prefix,
            bucket: settings.bucket.clone(),
            endpoint,
        })
    }

    fn path(&self, sha256: &str) -> Path {
        self.prefix.child(&sha256[..2]).child(sha256)
    }
}

fn io(e: object_store::Error) -> std::io::Error {
    std::io::Error::from(e)
}

#[async_trait::async_trait]
impl BlobStore for S3Blobs {
    async fn exists(&self, sha256: &str) -> std::io::Result<bool> {
        match self.store.head(&self.path(sha256)).await {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(io(e)),
        }
    }

    async fn put(&self, sha256: &str, bytes: Bytes) -> std::io::Result<()> {
        self.store
            .put(&self.path(sha256), PutPayload::from(bytes))
            .await
            .map_err(io)?;
        Ok(())
    }

    async fn read(&self, sha256: &str, _size: u64) -> std::io::Result<Vec<u8>> {
        let object = self.store.get(&self.path(sha256)).await.map_err(io)?;
        Ok(object.bytes().await.map_err(io)?.into())
    }

    async fn delete(&self, sha256: &str) -> std::io::Result<()> {
        match self.store.delete(&self.path(sha256)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(io(e)),
        }
    }

    fn describe(&self) -> String {
        format!("S3 bucket {} at {}", self.bucket, self.endpoint)
    }
}

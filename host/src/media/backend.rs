//! Where the media blobs are kept: `[media]` in the configuration.
//!
//! `backend = "dir"` (the default) keeps them in a directory, `path`
//! (default `<data_dir>/media`; a relative path is relative to the
//! configuration file, like the other paths there), which several replicas
//! can share as a network volume. `backend = "s3"` keeps them in the
//! S3-compatible bucket `bucket`, at `endpoint` in `region`, under
//! `prefix`, with credentials from the usual AWS environment variables.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Deserialize;

use super::{BlobStore, DirBlobs, S3Blobs, s3::S3Settings};

/// The kinds of blob store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    /// A directory.
    Dir,
    /// An S3-compatible bucket.
    S3,
}

/// `[media]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MediaConfig {
    /// The blob store (default `dir`).
    pub backend: Option<Backend>,
    /// The directory (`dir`; default `<data_dir>/media`).
    pub path: Option<PathBuf>,
    /// The bucket (`s3`, required).
    pub bucket: Option<String>,
    /// The S3-compatible server's URL (`s3`; default AWS's, or the
    /// `AWS_ENDPOINT` variable).
    pub endpoint: Option<String>,
    /// The region (`s3`; default the `AWS_DEFAULT_REGION` variable, else
    /// us-east-1).
    pub region: Option<String>,
    /// What the objects' names start with (`s3`; default none).
    pub prefix: Option<String>,
}

impl MediaConfig {
    /// The blob store named, `dir` unless it says.
    pub fn backend(&self) -> Backend {
        self.backend.unwrap_or(Backend::Dir)
    }

    /// Checks what the file says.
    pub fn validate(&self) -> Result<(), String> {
        match self.backend() {
            Backend::Dir => {
                let s3_keys = [
                    ("bucket", self.bucket.is_some()),
                    ("endpoint", self.endpoint.is_some()),
                    ("region", self.region.is_some()),
                    ("prefix", self.prefix.is_some()),
                ];
                if let Some((key, _)) = s3_keys.iter().find(|(_, set)| *set) {
                    return Err(format!(
                        "media.{key} is for backend = \"s3\"; the media backend is \"dir\""
                    ));
                }
            }
            Backend::S3 => {
                if self.path.is_some() {
                    return Err(
                        "media.path is for backend = \"dir\"; backend = \"s3\" keeps the \
                         media in media.bucket"
                            .into(),
                    );
                }
                let bucket = self
                    .bucket
                    .as_deref()
                    .ok_or("media backend = \"s3\" needs media.bucket")?;
                if bucket.is_empty()
                    || bucket.len() > 255
                    || !bucket
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || "-._".contains(c))
                {
                    return Err(format!(
                        "media.bucket {bucket:?} is not a bucket name (letters, digits, '-', \
                         '.' and '_')"
                    ));
                }
                if let Some(endpoint) = &self.endpoint
                    && !(endpoint.starts_with("http://") || endpoint.starts_with("https://"))
                {
                    return Err(format!(
                        "media.endpoint {endpoint:?} must be an http:// or https:// URL"
                    ));
                }
                if self.region.as_deref() == Some("") {
                    return Err("media.region cannot be empty".into());
                }
                if let Some(prefix) = &self.prefix {
                    let parts: Vec<&str> = prefix.trim_matches('/').split('/').collect();
                    if parts
                        .iter()
                        .any(|p| p.is_empty() || *p == "." || *p == "..")
                    {
                        return Err(format!(
                            "media.prefix {prefix:?} must be names separated by '/' (no empty \
                             part, no '.' or '..')"
                        ));
                    }
                }
            }
        }
        Ok(())
    }

    /// The directory of a `dir` store: `path`, else `<data_dir>/media`.
    pub fn dir(&self, data_dir: &Path) -> PathBuf {
        self.path.clone().unwrap_or_else(|| data_dir.join("media"))
    }

    /// Opens the blob store: makes the directory, or checks that the
    /// bucket can be listed (naming the bucket and the endpoint if not).
    pub async fn open(&self, data_dir: &Path) -> Result<Arc<dyn BlobStore>, String> {
        self.validate()?;
        match self.backend() {
            Backend::Dir => {
                let root = self.dir(data_dir);
                let blobs = DirBlobs::open(root.clone())
                    .map_err(|e| format!("creating the media directory {}: {e}", root.display()))?;
                Ok(Arc::new(blobs))
            }
            Backend::S3 => Ok(Arc::new(S3Blobs::open(&self.s3_settings()).await?)),
        }
    }

    /// The bucket's settings (for `s3`, once validated).
    pub fn s3_settings(&self) -> S3Settings {
        S3Settings {
            bucket: self.bucket.clone().unwrap_or_default(),
            endpoint: self.endpoint.clone(),
            region: self.region.clone(),
            prefix: self
                .prefix
                .as_deref()
                .map(|p| p.trim_matches('/').to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<MediaConfig, String> {
        let config: MediaConfig = toml::from_str(text).map_err(|e| e.to_string())?;
        config.validate()?;
        Ok(config)
    }

    #[test]
    fn the_default_is_the_data_directory() {
        let config = parse("").unwrap();
        assert_eq!(config.backend(), Backend::Dir);
        parse("backend = \"dir\"\npath = \"/srv/media\"").unwrap();
    }

    #[test]
    fn s3_needs_a_bucket_and_keys_are_not_mixed() {
        let err = parse("backend = \"s3\"").unwrap_err();
        assert!(err.contains("needs media.bucket"), "{err}");
        let err = parse("backend = \"s3\"\nbucket = \"b\"\npath = \"m\"").unwrap_err();
        assert!(err.contains("media.path is for backend = \"dir\""), "{err}");
        let err = parse("bucket = \"b\"").unwrap_err();
        assert!(
            err.contains("media.bucket is for backend = \"s3\""),
            "{err}"
        );
        let err = parse("backend = \"dir\"\nendpoint = \"http://x\"").unwrap_err();
        assert!(err.contains("media.endpoint is for"), "{err}");
        let err = parse("backend = \"s3\"\nbucket = \"a/b\"").unwrap_err();
        assert!(err.contains("not a bucket name"), "{err}");
        let err = parse("backend = \"s3\"\nbucket = \"b\"\nendpoint = \"s3.local\"").unwrap_err();
        assert!(err.contains("http:// or https://"), "{err}");
        let err = parse("backend = \"s3\"\nbucket = \"b\"\nprefix = \"a//b\"").unwrap_err();
        assert!(err.contains("media.prefix"), "{err}");
        assert!(parse("backend = \"nfs\"").is_err());
        assert!(parse("bucket_name = \"b\"").is_err(), "unknown keys");

        let config = parse(
            "backend = \"s3\"\nbucket = \"media\"\nendpoint = \"http://127.0.0.1:9000\"\n\
             region = \"eu-west-1\"\nprefix = \"/gw/prod/\"",
        )
        .unwrap();
        let s3 = config.s3_settings();
        assert_eq!(s3.bucket, "media");
        assert_eq!(s3.prefix.as_deref(), Some("gw/prod"));
    }
}

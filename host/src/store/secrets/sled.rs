//! [`SecretStore`] on sled: the `meta` tree, one JSON string per secret.

use super::SecretStore;
use crate::store::{Store, StoreError, Table};

/// The gateway's secrets in sled.
pub struct SledSecrets {
    meta: Table,
}

impl SledSecrets {
    /// The store's `meta` tree.
    pub fn new(store: &Store) -> Result<Self, StoreError> {
        Ok(Self {
            meta: store.table("meta")?,
        })
    }
}

impl SledSecrets {
    /// Every secret by name, for a copy to another database.
    pub(crate) fn export(&self) -> impl Iterator<Item = Result<(String, String), StoreError>> + '_ {
        self.meta.scan()
    }
}

fn encode(value: &str) -> Vec<u8> {
    serde_json::to_vec(value).expect("a string serialises")
}

#[async_trait::async_trait]
impl SecretStore for SledSecrets {
    async fn secret(&self, name: &str) -> Result<Option<String>, StoreError> {
        self.meta.get(name)
    }

    async fn set_secret(&self, name: &str, value: &str) -> Result<(), StoreError> {
        self.meta.put(name, &value).await
    }

    async fn keep_first(&self, name: &str, value: &str) -> Result<(String, bool), StoreError> {
        loop {
            if self
                .meta
                .compare_and_swap(name, None, Some(&encode(value)))?
            {
                self.meta.flush().await?;
                return Ok((value.to_string(), true));
            }
            if let Some(kept) = self.meta.get::<String>(name)? {
                // Kept before, perhaps unflushed by a caller that is still
                // waiting for the disk: wait for it too.
                self.meta.flush().await?;
                return Ok((kept, false));
            }
            // Removed in between (never done today): try again.
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::SledSecrets;
    use crate::store::Store;

    async fn fresh() -> (tempfile::TempDir, Arc<SledSecrets>) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        (dir, Arc::new(SledSecrets::new(&store).unwrap()))
    }

    crate::store::secrets::conformance::suite!(fresh);

    #[tokio::test]
    async fn secrets_survive_a_reopen() {
        use crate::store::secrets::SecretStore;
        let dir = tempfile::tempdir().unwrap();
        {
            let store = Store::open(dir.path()).unwrap();
            let secrets = SledSecrets::new(&store).unwrap();
            secrets.keep_first("url_signing_key", "k1").await.unwrap();
        }
        let store = Store::open(dir.path()).unwrap();
        let secrets = SledSecrets::new(&store).unwrap();
        assert_eq!(
            secrets.secret("url_signing_key").await.unwrap().as_deref(),
            Some("k1")
        );
    }
}

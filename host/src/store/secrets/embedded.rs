//! [`SecretStore`] on the embedded store: the `meta` tree, one JSON string per
//! secret.

use super::{CREDENTIAL_PREFIX, SecretStore, credential_key};
use crate::store::{Store, StoreError, Table};

/// The gateway's secrets in the embedded store.
pub struct EmbeddedSecrets {
    meta: Table,
}

impl EmbeddedSecrets {
    /// The store's `meta` tree.
    pub fn new(store: &Store) -> Result<Self, StoreError> {
        Ok(Self {
            meta: store.table("meta")?,
        })
    }
}

impl EmbeddedSecrets {
    /// Every secret by name, for a copy to another database.
    pub(crate) fn export(&self) -> impl Iterator<Item = Result<(String, String), StoreError>> + '_ {
        self.meta.scan()
    }
}

fn encode(value: &str) -> Vec<u8> {
    serde_json::to_vec(value).expect("a string serialises")
}

#[async_trait::async_trait]
impl SecretStore for EmbeddedSecrets {
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

    async fn credentials(&self) -> Result<Vec<(String, String)>, StoreError> {
        self.meta
            .scan::<String>()
            .filter_map(|item| match item {
                Ok((key, value)) => key
                    .strip_prefix(CREDENTIAL_PREFIX)
                    .map(|name| Ok((name.to_string(), value))),
                Err(e) => Some(Err(e)),
            })
            .collect()
    }

    async fn put_credential(&self, name: &str, sealed: &str) -> Result<(), StoreError> {
        self.meta.put(&credential_key(name), &sealed).await
    }

    async fn remove_credential(&self, name: &str) -> Result<bool, StoreError> {
        let key = credential_key(name);
        if self.meta.get::<String>(&key)?.is_none() {
            return Ok(false);
        }
        self.meta.remove(&key).await?;
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::EmbeddedSecrets;
    use crate::store::Store;

    async fn fresh() -> (tempfile::TempDir, Arc<EmbeddedSecrets>) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        (dir, Arc::new(EmbeddedSecrets::new(&store).unwrap()))
    }

    crate::store::secrets::conformance::suite!(fresh);

    #[tokio::test]
    async fn secrets_survive_a_reopen() {
        use crate::store::secrets::SecretStore;
        let dir = tempfile::tempdir().unwrap();
        {
            let store = Store::open(dir.path()).unwrap();
            let secrets = EmbeddedSecrets::new(&store).unwrap();
            secrets.keep_first("url_signing_key", "k1").await.unwrap();
        }
        let store = Store::open(dir.path()).unwrap();
        let secrets = EmbeddedSecrets::new(&store).unwrap();
        assert_eq!(
            secrets.secret("url_signing_key").await.unwrap().as_deref(),
            Some("k1")
        );
    }
}

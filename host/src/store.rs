//! Durable state in sled: one database in the data directory, one tree per
//! kind of record, JSON values. Writes that must survive a crash are flushed
//! before the caller goes on.

use serde::Serialize;
use serde::de::DeserializeOwned;

/// Storage failures.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// sled failed (I/O, corruption).
    #[error("storage: {0}")]
    Sled(#[from] sled::Error),
    /// A stored record could not be decoded.
    #[error("storage: corrupt record in {tree}: {source}")]
    Corrupt {
        /// The tree.
        tree: &'static str,
        /// Why.
        source: serde_json::Error,
    },
}

/// A result with [`StoreError`].
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// The database.
#[derive(Clone)]
pub struct Store {
    db: sled::Db,
}

/// One typed tree of JSON records.
#[derive(Clone)]
pub struct Table {
    name: &'static str,
    tree: sled::Tree,
    db: sled::Db,
}

impl Store {
    /// Opens (or creates) the database under `dir`.
    pub fn open(dir: &std::path::Path) -> Result<Self> {
        let db = sled::Config::new().path(dir).open()?;
        Ok(Self { db })
    }

    /// The tree `name`.
    pub fn table(&self, name: &'static str) -> Result<Table> {
        Ok(Table {
            name,
            tree: self.db.open_tree(name)?,
            db: self.db.clone(),
        })
    }
}

impl Table {
    /// Reads a record.
    pub fn get<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>> {
        self.tree
            .get(key)?
            .map(|bytes| self.decode(&bytes))
            .transpose()
    }

    fn decode<T: DeserializeOwned>(&self, bytes: &[u8]) -> Result<T> {
        serde_json::from_slice(bytes).map_err(|source| StoreError::Corrupt {
            tree: self.name,
            source,
        })
    }

    fn decode_entry<T: DeserializeOwned>(
        &self,
        item: sled::Result<(sled::IVec, sled::IVec)>,
    ) -> Result<(String, T)> {
        let (k, v) = item?;
        Ok((String::from_utf8_lossy(&k).into_owned(), self.decode(&v)?))
    }

    /// Writes a record and waits until it is on disk.
    pub async fn put<T: Serialize>(&self, key: &str, value: &T) -> Result<()> {
        let bytes = serde_json::to_vec(value).expect("records serialise");
        self.tree.insert(key, bytes)?;
        self.db.flush_async().await?;
        Ok(())
    }

    /// Every record, in key order.
    pub fn scan<T: DeserializeOwned>(&self) -> impl Iterator<Item = Result<(String, T)>> + '_ {
        self.tree.iter().map(|item| self.decode_entry(item))
    }

    /// Records with keys before `before` (all if none), newest key first.
    pub fn scan_rev<T: DeserializeOwned>(
        &self,
        before: Option<&str>,
    ) -> impl Iterator<Item = Result<(String, T)>> + '_ {
        let iter = match before {
            Some(key) => self.tree.range(..key.as_bytes().to_vec()),
            None => self.tree.range::<Vec<u8>, _>(..),
        };
        iter.rev().map(|item| self.decode_entry(item))
    }
}

//! Transactions over the embedded store's tables.

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::{Result, Store, StoreError, Table};

impl Store {
    /// Runs `f` as one transaction over any of the store's tables, without
    /// waiting for the disk: no other write lands between its reads and its
    /// writes, its reads see its own writes, and its writes apply all
    /// together (also in a crash) if `f` returns `Ok`, or not at all.
    /// `f` must not write through a [`Table`] itself (it would wait for
    /// itself): it writes through the [`Tx`].
    pub fn transaction<R, E: From<StoreError>>(
        &self,
        f: impl FnOnce(&mut Tx<'_>) -> std::result::Result<R, E>,
    ) -> std::result::Result<R, E> {
        let _writer = self.writer();
        let mut tx = Tx {
            store: self,
            writes: Vec::new(),
        };
        let out = f(&mut tx)?;
        tx.commit()?;
        Ok(out)
    }
}

/// A transaction's view and its writes (see [`Store::transaction`]).
pub struct Tx<'s> {
    store: &'s Store,
    /// What it writes, in order.
    writes: Vec<TxWrite>,
}

/// One write of a transaction: the table (its keyspace and name), the key
/// and the value (`None` removes).
type TxWrite = (fjall::Keyspace, &'static str, Vec<u8>, Option<Vec<u8>>);

impl Tx<'_> {
    /// The raw value at `key` in `table`, as this transaction would leave
    /// it.
    pub fn get_raw(&self, table: &Table, key: &[u8]) -> Result<Option<Vec<u8>>> {
        table.note_reads(1);
        let written = self
            .writes
            .iter()
            .rev()
            .find(|(_, name, k, _)| *name == table.name && k == key);
        if let Some((_, _, _, value)) = written {
            return Ok(value.clone());
        }
        Ok(table.keyspace.get(key)?.map(|v| v.to_vec()))
    }

    /// The record at `key` in `table`, as this transaction would leave it.
    pub fn get<T: DeserializeOwned>(&self, table: &Table, key: &str) -> Result<Option<T>> {
        self.get_raw(table, key.as_bytes())?
            .map(|bytes| table.decode(&bytes))
            .transpose()
    }

    /// Whether `table` has `key`, as this transaction would leave it.
    pub fn contains(&self, table: &Table, key: &str) -> Result<bool> {
        Ok(self.get_raw(table, key.as_bytes())?.is_some())
    }

    /// Writes `value` (raw) at `key` in `table` when the transaction
    /// commits.
    pub fn put_raw(&mut self, table: &Table, key: &[u8], value: Vec<u8>) {
        table.note_writes(1);
        self.writes.push((
            table.keyspace.clone(),
            table.name,
            key.to_vec(),
            Some(value),
        ));
    }

    /// Writes the record `value` at `key` in `table` when the transaction
    /// commits.
    pub fn put<T: Serialize>(&mut self, table: &Table, key: &str, value: &T) {
        self.put_raw(table, key.as_bytes(), table.encode(value));
    }

    /// Removes `key` from `table` when the transaction commits.
    pub fn remove(&mut self, table: &Table, key: &str) {
        table.note_removes(1);
        self.writes.push((
            table.keyspace.clone(),
            table.name,
            key.as_bytes().to_vec(),
            None,
        ));
    }

    /// Applies the writes as one batch (called with the writer lock held).
    fn commit(self) -> Result<()> {
        if self.writes.is_empty() {
            return Ok(());
        }
        let mut batch = self.store.db.batch();
        for (keyspace, _, key, value) in self.writes {
            match value {
                Some(value) => batch.insert(&keyspace, key, value),
                None => batch.remove(&keyspace, key),
            }
        }
        batch.commit()?;
        Ok(())
    }
}

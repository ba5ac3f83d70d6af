//! Transactions over the embedded store's tables, and batches of writes
//! applied together.

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
            _store: std::marker::PhantomData,
            writes: Writes::default(),
        };
        let out = f(&mut tx)?;
        tx.writes.apply(&self.db)?;
        Ok(out)
    }

    /// A batch of writes to any of the store's tables, applied all together
    /// (also in a crash) by [`Batch::commit`], or not at all if it is
    /// dropped. Unlike a [`Store::transaction`], nothing orders its reads:
    /// for a caller whose own lock orders every change of the records it
    /// writes (the task store). One batch costs the journal one write
    /// however many records it holds.
    pub fn batch(&self) -> Batch {
        Batch {
            store: self.clone(),
            writes: Writes::default(),
        }
    }
}

/// Writes to apply together, in order.
#[derive(Default)]
struct Writes(Vec<TxWrite>);

/// One write of a transaction or batch: the table (its keyspace and name),
/// the key and the value (`None` removes).
type TxWrite = (fjall::Keyspace, &'static str, Vec<u8>, Option<Vec<u8>>);

impl Writes {
    fn put(&mut self, table: &Table, key: &[u8], value: Vec<u8>) {
        table.note_writes(1);
        self.0.push((
            table.keyspace.clone(),
            table.name,
            key.to_vec(),
            Some(value),
        ));
    }

    fn remove(&mut self, table: &Table, key: &[u8]) {
        table.note_removes(1);
        self.0
            .push((table.keyspace.clone(), table.name, key.to_vec(), None));
    }

    /// The value the last write to `key` in `table` left (`Some(None)`: a
    /// removal), if there is one.
    fn written(&self, table: &Table, key: &[u8]) -> Option<&Option<Vec<u8>>> {
        self.0
            .iter()
            .rev()
            .find(|(_, name, k, _)| *name == table.name && k == key)
            .map(|(_, _, _, value)| value)
    }

    /// Applies the writes as one fjall batch (called with the writer lock
    /// held).
    fn apply(self, db: &fjall::Database) -> Result<()> {
        if self.0.is_empty() {
            return Ok(());
        }
        let mut batch = db.batch();
        for (keyspace, _, key, value) in self.0 {
            match value {
                Some(value) => batch.insert(&keyspace, key, value),
                None => batch.remove(&keyspace, key),
            }
        }
        batch.commit()?;
        Ok(())
    }
}

/// Writes to apply together (see [`Store::batch`]).
pub struct Batch {
    store: Store,
    writes: Writes,
}

impl Batch {
    /// Writes the record `value` at `key` in `table` when the batch
    /// commits.
    pub fn put<T: Serialize>(&mut self, table: &Table, key: &str, value: &T) {
        self.writes.put(table, key.as_bytes(), table.encode(value));
    }

    /// Removes `key` from `table` when the batch commits.
    pub fn remove(&mut self, table: &Table, key: &str) {
        self.writes.remove(table, key.as_bytes());
    }

    /// Applies the writes, all together, without waiting for the disk.
    pub fn commit(self) -> Result<()> {
        let _writer = self.store.writer();
        self.writes.apply(&self.store.db)
    }
}

/// A transaction's view and its writes (see [`Store::transaction`]).
pub struct Tx<'s> {
    /// It lives no longer than the writer lock its store lends it.
    _store: std::marker::PhantomData<&'s Store>,
    /// What it writes, in order.
    writes: Writes,
}

impl Tx<'_> {
    /// The raw value at `key` in `table`, as this transaction would leave
    /// it.
    pub fn get_raw(&self, table: &Table, key: &[u8]) -> Result<Option<Vec<u8>>> {
        table.note_reads(1);
        if let Some(value) = self.writes.written(table, key) {
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
        self.writes.put(table, key, value);
    }

    /// Writes the record `value` at `key` in `table` when the transaction
    /// commits.
    pub fn put<T: Serialize>(&mut self, table: &Table, key: &str, value: &T) {
        self.put_raw(table, key.as_bytes(), table.encode(value));
    }

    /// Removes `key` from `table` when the transaction commits.
    pub fn remove(&mut self, table: &Table, key: &str) {
        self.writes.remove(table, key.as_bytes());
    }
}

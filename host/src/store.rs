//! Durable state behind store traits, on fjall (one database in the data
//! directory's `store`, one keyspace per kind of record, JSON values,
//! packed for the records every generation writes: see [`packed`]) or
//! PostgreSQL. Writes that must survive a crash are flushed before the
//! caller goes on. A data directory of an earlier version, on sled, is
//! copied to fjall at its first start ([`from_sled`]).

pub mod accounts;
pub mod audit;
pub mod backend;
pub mod changes;
pub mod files;
mod flusher;
pub mod from_sled;
pub mod idempotency;
pub mod ledger;
pub mod migrate;
pub mod moderation;
pub mod packed;
pub mod people;
pub mod pg;
pub mod plugins;
pub mod prices;
pub mod replicas;
pub mod secrets;
pub mod tasks;
mod tx;
pub mod webhooks;

use self::flusher::Flusher;
pub use self::tx::{Batch, Tx};

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use serde::Serialize;
use serde::de::DeserializeOwned;

/// A stored value, as the database hands it out (cheap to clone).
pub type Bytes = fjall::Slice;

/// Storage failures.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The embedded database (fjall) failed: I/O, corruption.
    #[error("storage: {0}")]
    Engine(#[from] fjall::Error),
    /// A file beside the database could not be read or written.
    #[error("storage: {0}")]
    Io(#[from] std::io::Error),
    /// A write conflicted with existing data.
    #[error("storage: {0}")]
    Conflict(&'static str),
    /// The database server (PostgreSQL) failed, refused a statement, or
    /// cannot be used (unreachable, or a schema newer than this binary's).
    #[error("database: {0}")]
    Database(String),
    /// The database cannot be opened as configured, or is in use.
    #[error("storage: {0}")]
    Setting(String),
    /// A stored record could not be decoded.
    #[error("storage: corrupt record in {tree}: {source}")]
    Corrupt {
        /// The tree.
        tree: &'static str,
        /// Why.
        source: serde_json::Error,
    },
    /// A stored record could not be unpacked (see [`packed`]).
    #[error("storage: corrupt record in {tree}: {source}")]
    Unpack {
        /// The tree.
        tree: &'static str,
        /// Why.
        source: packed::Unpack,
    },
}

/// The key of an index's completeness record (see [`Table::index_once`]).
/// `!` sorts before digits and letters, so scans of entries can start past
/// it.
pub const INDEX_COMPLETE: &str = "!complete";

/// A result with [`StoreError`].
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// The most memory each keyspace's write buffer (memtable) takes before it
/// is written out as a table file. fjall's default is 64 MiB, for each of
/// the gateway's thirty-odd keyspaces; the few that every generation
/// writes fill 8 MiB in seconds under load, and a table written from it
/// is compacted with the others in the background.
const MEMTABLE_BYTES: u64 = 8 << 20;

/// The most the journal (the write-ahead log) may take on disk before
/// fjall writes out the memtables that keep its oldest part: the bound on
/// what a start replays. fjall's default is 512 MiB; 64 MiB is its least.
/// fjall starts a new journal file every 64 MB; at 64 MiB, each new file
/// made it write out every keyspace's memtable at once, and the requests
/// of that moment stalled (60 of 2.1 s once, under load). At 256 MiB the
/// busy keyspaces have written theirs out by then (they fill 8 MiB in
/// seconds), and only the rarely written ones are left: on the load
/// benchmark, no request over 100 ms in two runs of 110 s at 64
/// connections, against 82 and 61 (see docs/benchmarks.md).
const JOURNAL_BYTES: u64 = 256 << 20;

/// The keyspace of the store's own facts about its format.
const FORMAT: &str = "store_format";

/// The record in [`FORMAT`] of a database whose keyspaces were all created
/// compressing every table file ([`keyspace_options`]): it stores records
/// as JSON. Databases created before (without the record) made their
/// keyspaces with fjall's default, which leaves the newest table files
/// uncompressed: they keep packing the records a generation writes.
const COMPRESSED_TABLES: &str = "compressed_tables";

/// How the store creates a keyspace: memtables of [`MEMTABLE_BYTES`], and
/// every table file's blocks compressed with lz4 (fjall's default leaves
/// the first two levels, where most recent records are, uncompressed).
/// lz4 on a block of JSON records finds the field names and values they
/// share, as [`packed`] records do one by one with zstd, for less CPU: on
/// the load benchmark, 696 bytes of store per generation against 1,030
/// packed, and 6% less CPU per request.
fn keyspace_options() -> fjall::KeyspaceCreateOptions {
    fjall::KeyspaceCreateOptions::default()
        .max_memtable_size(MEMTABLE_BYTES)
        .data_block_compression_policy(fjall::config::CompressionPolicy::all(
            fjall::CompressionType::Lz4,
        ))
}

/// The database.
#[derive(Clone)]
pub struct Store {
    db: fjall::Database,
    /// Held by every write (one record or a transaction's), so that a
    /// transaction reads what no other write changes before it commits.
    writer: Arc<Mutex<()>>,
    flusher: Arc<Flusher>,
    counters: Arc<Counters>,
    /// Whether [`Store::packed_table`]s pack what they write: only in a
    /// database created before its tables were compressed
    /// ([`COMPRESSED_TABLES`]).
    pack_records: bool,
}

/// Record operations since the store was opened: what a request costs the
/// storage, for benchmarks and the shutdown log. Relaxed atomics: a few
/// nanoseconds each.
#[derive(Default)]
struct Counters {
    reads: AtomicU64,
    writes: AtomicU64,
    removes: AtomicU64,
    fsyncs: AtomicU64,
}

/// A snapshot of the store's operation counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OpCounts {
    /// Records read (a scan counts each record it yields).
    pub reads: u64,
    /// Records written (inserted or replaced).
    pub writes: u64,
    /// Records removed.
    pub removes: u64,
    /// Flushes to disk that ran (group commit: a caller whose writes an
    /// already-started flush covered did not cause one).
    pub fsyncs: u64,
}

impl std::fmt::Display for OpCounts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "reads={} writes={} removes={} fsyncs={}",
            self.reads, self.writes, self.removes, self.fsyncs
        )
    }
}

/// One typed keyspace of JSON records.
#[derive(Clone)]
pub struct Table {
    name: &'static str,
    keyspace: fjall::Keyspace,
    store: Store,
    /// Whether records are written packed ([`packed`]); either kind is
    /// read.
    packed: bool,
}

impl Store {
    /// Opens (or creates) the database under `dir`, with the gateway's
    /// default cache ([`backend::DEFAULT_CACHE_MB`]).
    pub fn open(dir: &std::path::Path) -> Result<Self> {
        Self::open_with(dir, backend::DEFAULT_CACHE_MB << 20)
    }

    /// Opens (or creates) the database under `dir`, its block cache
    /// bounded to `cache_bytes`. A database another process (or another
    /// handle in this one) has open is refused with a [`StoreError::Setting`]
    /// that says so.
    pub fn open_with(dir: &std::path::Path, cache_bytes: u64) -> Result<Self> {
        let db = fjall::Database::builder(dir)
            .cache_size(cache_bytes)
            .max_journaling_size(JOURNAL_BYTES)
            .open()
            .map_err(|e| match e {
                fjall::Error::Locked => StoreError::Setting(format!(
                    "the database in {} is in use by another process",
                    dir.display()
                )),
                e => e.into(),
            })?;
        let fresh = db.list_keyspace_names().is_empty();
        let format = db.keyspace(FORMAT, keyspace_options)?;
        if fresh {
            format.insert(COMPRESSED_TABLES, "true")?;
        }
        let pack_records = !format.contains_key(COMPRESSED_TABLES)?;
        Ok(Self {
            flusher: Arc::new(Flusher::start(&db)?),
            db,
            writer: Arc::default(),
            counters: Arc::default(),
            pack_records,
        })
    }

    /// [`Store::open_with`], for tests that reopen a database in the same
    /// process: the previous handle's database is released once the tasks
    /// that used it drop their handles, which a loaded machine may delay,
    /// so a held lock is waited for (5 s at most).
    #[cfg(test)]
    pub(crate) async fn reopen(dir: &std::path::Path, cache_bytes: u64) -> Result<Self> {
        let mut tries = 0;
        loop {
            match Self::open_with(dir, cache_bytes) {
                Err(e) if e.to_string().contains("in use") && tries < 100 => {
                    tries += 1;
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                }
                opened => return opened,
            }
        }
    }

    /// Record operations since the store was opened.
    pub fn op_counts(&self) -> OpCounts {
        let c = &self.counters;
        OpCounts {
            reads: c.reads.load(Ordering::Relaxed),
            writes: c.writes.load(Ordering::Relaxed),
            removes: c.removes.load(Ordering::Relaxed),
            fsyncs: c.fsyncs.load(Ordering::Relaxed),
        }
    }

    /// Waits until every write made before the call is on disk. Concurrent
    /// callers share flushes (group commit).
    pub async fn flush(&self) -> Result<()> {
        let ticket = self.flusher.requested.fetch_add(1, Ordering::SeqCst) + 1;
        let mut covered = self.flusher.covered.lock().await;
        if *covered >= ticket {
            // A flush that started after our writes has completed.
            return Ok(());
        }
        // Every request up to here was made after its writes, so this flush
        // covers them all.
        let target = self.flusher.requested.load(Ordering::SeqCst);
        self.counters.fsyncs.fetch_add(1, Ordering::Relaxed);
        self.flusher.flush().await?;
        *covered = target;
        Ok(())
    }

    /// The keyspace `name`.
    pub fn table(&self, name: &'static str) -> Result<Table> {
        let keyspace = self.db.keyspace(name, keyspace_options)?;
        Ok(Table {
            name,
            keyspace,
            store: self.clone(),
            packed: false,
        })
    }

    /// The keyspace `name`, for the records every generation writes: in a
    /// database from before its tables were compressed, they are written
    /// packed ([`packed`]); packed records are read in any. Its values
    /// must only be written and read through the [`Table`].
    pub fn packed_table(&self, name: &'static str) -> Result<Table> {
        Ok(Table {
            packed: self.pack_records,
            ..self.table(name)?
        })
    }

    /// Whether [`Store::packed_table`]s pack what they write.
    pub fn packs_records(&self) -> bool {
        self.pack_records
    }

    /// The same store, its [`Store::packed_table`]s packing what they write
    /// or not, whatever its format: for benchmarks that compare the two.
    #[doc(hidden)]
    pub fn packing_records(mut self, on: bool) -> Self {
        self.pack_records = on;
        self
    }

    /// The names of the keyspaces the database has.
    pub fn table_names(&self) -> Vec<String> {
        self.db
            .list_keyspace_names()
            .iter()
            .map(|name| name.to_string())
            .collect()
    }

    /// The writer lock (it guards nothing but the order of writes, so a
    /// panic while it was held leaves nothing to repair).
    fn writer(&self) -> MutexGuard<'_, ()> {
        self.writer.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Table {
    /// The store the table is in.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Reads a record.
    pub fn get<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>> {
        self.get_raw(key.as_bytes())?
            .map(|bytes| self.decode(&bytes))
            .transpose()
    }

    /// Reads a raw value.
    pub fn get_raw(&self, key: &[u8]) -> Result<Option<Bytes>> {
        self.note_reads(1);
        Ok(self.keyspace.get(key)?)
    }

    /// Whether the table has `key` (reads no value).
    pub fn contains(&self, key: &str) -> Result<bool> {
        self.note_reads(1);
        Ok(self.keyspace.contains_key(key)?)
    }

    /// A stored value's record, packed or not.
    pub fn decode<T: DeserializeOwned>(&self, bytes: &[u8]) -> Result<T> {
        let json = packed::unpack(bytes).map_err(|source| StoreError::Unpack {
            tree: self.name,
            source,
        })?;
        serde_json::from_slice(&json).map_err(|source| StoreError::Corrupt {
            tree: self.name,
            source,
        })
    }

    /// A record as this table stores it.
    fn encode<T: Serialize>(&self, value: &T) -> Vec<u8> {
        let json = serde_json::to_vec(value).expect("records serialise");
        if self.packed {
            packed::pack(&json)
        } else {
            json
        }
    }

    fn decode_entry<T: DeserializeOwned>(&self, item: fjall::Guard) -> Result<(String, T)> {
        let (k, v) = item.into_inner()?;
        self.note_reads(1);
        Ok((String::from_utf8_lossy(&k).into_owned(), self.decode(&v)?))
    }

    /// Writes a record and waits until it is on disk.
    pub async fn put<T: Serialize>(&self, key: &str, value: &T) -> Result<()> {
        self.put_unflushed(key, value)?;
        self.store.flush().await
    }

    /// Counts `n` records read.
    pub fn note_reads(&self, n: u64) {
        self.store.counters.reads.fetch_add(n, Ordering::Relaxed);
    }

    /// Counts `n` records written.
    pub fn note_writes(&self, n: u64) {
        self.store.counters.writes.fetch_add(n, Ordering::Relaxed);
    }

    /// Counts `n` records removed.
    pub fn note_removes(&self, n: u64) {
        self.store.counters.removes.fetch_add(n, Ordering::Relaxed);
    }

    /// Records from key `start` on, while keys have `prefix`, in key order.
    pub fn scan_from<T: DeserializeOwned>(
        &self,
        start: &str,
        prefix: &str,
    ) -> impl Iterator<Item = Result<(String, T)>> + '_ {
        let prefix = prefix.as_bytes().to_vec();
        self.keyspace
            .range(start.as_bytes().to_vec()..)
            .map(|item| Ok::<_, StoreError>(item.into_inner()?))
            .take_while(move |item| item.as_ref().map_or(true, |(k, _)| k.starts_with(&prefix)))
            .map(|item| {
                let (k, v) = item?;
                self.note_reads(1);
                Ok((String::from_utf8_lossy(&k).into_owned(), self.decode(&v)?))
            })
    }

    /// The records whose keys start with `prefix`, last key first.
    pub fn scan_prefix_rev<T: DeserializeOwned>(
        &self,
        prefix: &str,
    ) -> impl Iterator<Item = Result<(String, T)>> + '_ {
        self.keyspace
            .prefix(prefix.as_bytes())
            .rev()
            .map(|item| self.decode_entry(item))
    }

    /// Writes a record without waiting for the disk (for records whose loss
    /// in a crash does no harm, or that a later flush covers).
    pub fn put_unflushed<T: Serialize>(&self, key: &str, value: &T) -> Result<()> {
        self.put_raw_unflushed(key.as_bytes(), self.encode(value))
    }

    /// Writes a raw value without waiting for the disk.
    pub fn put_raw_unflushed(&self, key: &[u8], value: Vec<u8>) -> Result<()> {
        debug_assert!(!self.packed || packed::unpack(&value).is_ok());
        let _writer = self.store.writer();
        self.keyspace.insert(key, value)?;
        self.note_writes(1);
        Ok(())
    }

    /// Waits until every write made before the call (in any table) is on
    /// disk.
    pub async fn flush(&self) -> Result<()> {
        self.store.flush().await
    }

    /// Replaces the raw value at `key` with `new` (removes it if `None`) if
    /// it is `current` (absent if `None`), atomically, without waiting for
    /// the disk. Returns whether it was replaced.
    pub fn compare_and_swap(
        &self,
        key: &str,
        current: Option<&[u8]>,
        new: Option<&[u8]>,
    ) -> Result<bool> {
        debug_assert!(!self.packed, "raw values of a packed table");
        let _writer = self.store.writer();
        self.note_reads(1);
        if self.keyspace.get(key)?.as_deref() != current {
            return Ok(false);
        }
        match new {
            Some(new) => {
                self.keyspace.insert(key, new)?;
                self.note_writes(1);
            }
            None => {
                self.keyspace.remove(key)?;
                self.note_removes(1);
            }
        }
        Ok(true)
    }

    /// Removes a record without waiting for the disk.
    pub fn remove_unflushed(&self, key: &str) -> Result<()> {
        let _writer = self.store.writer();
        self.keyspace.remove(key)?;
        self.note_removes(1);
        Ok(())
    }

    /// Removes a record and waits until that is on disk.
    pub async fn remove(&self, key: &str) -> Result<()> {
        self.remove_unflushed(key)?;
        self.store.flush().await
    }

    /// Builds an index over this table once per data directory: unless
    /// `marker` holds the completeness record [`INDEX_COMPLETE`], hands every
    /// record to `entries` (which writes its index entries unflushed), then
    /// writes that record, flushed with them. An index built this way from
    /// the first start on (every writer adds its entries before its record)
    /// stays complete; a data directory from before it is indexed at its
    /// first start. Returns how many records were indexed.
    pub async fn index_once<T: DeserializeOwned>(
        &self,
        marker: &Table,
        mut entries: impl FnMut(&str, T) -> Result<()>,
    ) -> Result<usize> {
        if marker.get::<bool>(INDEX_COMPLETE)?.is_some() {
            return Ok(0);
        }
        let mut indexed = 0;
        for item in self.scan::<T>() {
            let (key, record) = item?;
            entries(&key, record)?;
            indexed += 1;
        }
        marker.put(INDEX_COMPLETE, &true).await?;
        Ok(indexed)
    }

    /// The keys that start with `prefix`, before `before` (all of them if
    /// none), last key first. Reads keys only.
    pub fn keys_rev(
        &self,
        prefix: &str,
        before: Option<&str>,
    ) -> impl Iterator<Item = Result<String>> + '_ {
        let start = prefix.as_bytes().to_vec();
        let end = match before {
            Some(key) => key.as_bytes().to_vec(),
            None => {
                // Past every key with the prefix (keys are UTF-8, which never
                // has the byte 0xff).
                let mut end = start.clone();
                end.push(0xff);
                end
            }
        };
        self.keyspace.range(start..end).rev().map(|item| {
            let k = item.key()?;
            self.note_reads(1);
            Ok(String::from_utf8_lossy(&k).into_owned())
        })
    }

    /// Every record's value, in key order.
    pub fn records<T: DeserializeOwned>(&self) -> impl Iterator<Item = Result<T>> + '_ {
        self.scan().map(|item| item.map(|(_, value)| value))
    }

    /// Every record, in key order.
    pub fn scan<T: DeserializeOwned>(&self) -> impl Iterator<Item = Result<(String, T)>> + '_ {
        self.keyspace.iter().map(|item| self.decode_entry(item))
    }

    /// Every raw key and value, in key order.
    pub fn scan_raw(&self) -> impl Iterator<Item = Result<(Bytes, Bytes)>> + '_ {
        self.keyspace.iter().map(|item| {
            self.note_reads(1);
            Ok(item.into_inner()?)
        })
    }

    /// Records with keys before `before` (all if none), newest key first.
    pub fn scan_rev<T: DeserializeOwned>(
        &self,
        before: Option<&str>,
    ) -> impl Iterator<Item = Result<(String, T)>> + '_ {
        let iter = match before {
            Some(key) => self.keyspace.range(..key.as_bytes().to_vec()),
            None => self.keyspace.iter(),
        };
        iter.rev().map(|item| self.decode_entry(item))
    }
}

#[cfg(test)]
mod tests;

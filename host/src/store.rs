//! Durable state behind store traits, on sled (one database in the data
//! directory, one tree per kind of record, JSON values, packed for the
//! records every generation writes: see [`packed`]) or PostgreSQL.
//! Writes that must survive a crash are flushed before the caller goes on.

pub mod accounts;
pub mod audit;
pub mod backend;
pub mod changes;
pub mod files;
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
pub mod webhooks;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use serde::Serialize;
use serde::de::DeserializeOwned;

/// Storage failures.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// sled failed (I/O, corruption).
    #[error("storage: {0}")]
    Sled(#[from] sled::Error),
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
    /// The database cannot be opened as configured.
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

/// The database.
#[derive(Clone)]
pub struct Store {
    db: sled::Db,
    /// Whether sled compresses the pages it writes.
    compressed: bool,
    flusher: Arc<Flusher>,
    counters: Arc<Counters>,
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

/// Group commit: one flush at a time, and a caller whose writes an
/// already-started flush covers does not flush again.
struct Flusher {
    /// Flush requests so far (each made after its writes).
    requested: AtomicU64,
    /// The highest request number a completed flush covered.
    covered: tokio::sync::Mutex<u64>,
    /// The thread that runs the flushes: each message asks for one and
    /// carries where to answer. Taken by `drop`, which ends the thread.
    asks: Option<std::sync::mpsc::Sender<tokio::sync::oneshot::Sender<sled::Result<usize>>>>,
    /// The flush thread, joined by `drop`.
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for Flusher {
    /// Ends the flush thread and waits for it, so that the database (which
    /// the thread holds) is released once the store's last handle has
    /// gone, as before the thread: the same process may open it again at
    /// once.
    fn drop(&mut self) {
        drop(self.asks.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Flusher {
    /// Starts the flush thread of `db`.
    ///
    /// A thread of our own that calls sled's blocking `flush` rather than
    /// sled's `flush_async`: the latter queues the flush on sled's I/O
    /// pool, and every job queued there wakes all seven of its idle
    /// threads, on top of the seven its log write wakes in either case.
    fn start(db: &sled::Db) -> std::io::Result<Self> {
        let (asks, received) =
            std::sync::mpsc::channel::<tokio::sync::oneshot::Sender<sled::Result<usize>>>();
        let db = db.clone();
        let thread = std::thread::Builder::new()
            .name("imini-flush".into())
            .spawn(move || {
                while let Ok(answer) = received.recv() {
                    // The caller may have gone (its request was dropped);
                    // the flush still ran for whoever comes next.
                    let _ = answer.send(db.flush());
                }
            })?;
        Ok(Self {
            requested: AtomicU64::new(0),
            covered: tokio::sync::Mutex::new(0),
            asks: Some(asks),
            thread: Some(thread),
        })
    }

    /// Flushes on the flush thread and waits for it.
    async fn flush(&self) -> Result<()> {
        let (answer, done) = tokio::sync::oneshot::channel();
        let gone = || {
            StoreError::Io(std::io::Error::other(
                "the store's flush thread has stopped",
            ))
        };
        let asks = self.asks.as_ref().ok_or_else(gone)?;
        asks.send(answer).map_err(|_| gone())?;
        done.await.map_err(|_| gone())??;
        Ok(())
    }
}

/// One typed tree of JSON records.
#[derive(Clone)]
pub struct Table {
    name: &'static str,
    tree: sled::Tree,
    store: Store,
    /// Whether records are written packed ([`packed`]); either kind is
    /// read.
    packed: bool,
}

impl Store {
    /// Opens (or creates) the database under `dir`, with the gateway's
    /// default cache ([`backend::DEFAULT_CACHE_MB`]), compressed or not as
    /// the database was created (a new one is not).
    pub fn open(dir: &std::path::Path) -> Result<Self> {
        Self::open_with(dir, backend::DEFAULT_CACHE_MB << 20, None)
    }

    /// Opens (or creates) the database under `dir`, its page cache bounded
    /// to `cache_bytes`. sled counts a page at its size on disk rounded up
    /// to a power of two, and evicts the least recently used pages past the
    /// bound; the pages' in-memory form takes somewhat more than that.
    ///
    /// `compression` says whether the pages sled writes are compressed
    /// (zstd, level 1): `None` keeps what the database was created with (a
    /// new one is not compressed), `Some` creates a new one so and refuses
    /// an existing one made the other way, which sled cannot convert.
    pub fn open_with(
        dir: &std::path::Path,
        cache_bytes: u64,
        compression: Option<bool>,
    ) -> Result<Self> {
        let open = |compress: bool| {
            sled::Config::new()
                .path(dir)
                .cache_capacity(cache_bytes)
                .use_compression(compress)
                .compression_factor(1)
                .open()
        };
        // sled keeps the setting with the database and refuses the other
        // one, so trying tells an existing database's setting.
        let other_setting =
            |e: &sled::Error| matches!(e, sled::Error::Unsupported(m) if m.contains("compression"));
        let wanted = compression.unwrap_or(false);
        let (db, compressed) = match open(wanted) {
            Ok(db) => (db, wanted),
            // Unset: the existing database's setting, the other one.
            Err(e) if other_setting(&e) && compression.is_none() => (open(!wanted)?, !wanted),
            Err(e) if other_setting(&e) => {
                return Err(StoreError::Setting(format!(
                    "the database in {} was created with compression {}, and that cannot change: \
                     set [store] compression = {} (or leave it out), or start from a new data directory",
                    dir.display(),
                    if wanted { "off" } else { "on" },
                    !wanted
                )));
            }
            Err(e) => return Err(e.into()),
        };
        Ok(Self {
            flusher: Arc::new(Flusher::start(&db)?),
            db,
            compressed,
            counters: Arc::default(),
        })
    }

    /// [`Store::open_with`], for tests that reopen a database in the same
    /// process: the previous handle's database is released once sled's
    /// threads and the tasks that used it drop their handles, which a
    /// loaded machine may delay, so a held lock is waited for (5 s at most).
    #[cfg(test)]
    pub(crate) async fn reopen(
        dir: &std::path::Path,
        cache_bytes: u64,
        compression: Option<bool>,
    ) -> Result<Self> {
        let mut tries = 0;
        loop {
            match Self::open_with(dir, cache_bytes, compression) {
                Err(e) if e.to_string().contains("acquire lock") && tries < 100 => {
                    tries += 1;
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                }
                opened => return opened,
            }
        }
    }

    /// Whether the pages this database writes are compressed.
    pub fn compressed(&self) -> bool {
        self.compressed
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

    /// The tree `name`.
    pub fn table(&self, name: &'static str) -> Result<Table> {
        Ok(Table {
            name,
            tree: self.db.open_tree(name)?,
            store: self.clone(),
            packed: false,
        })
    }

    /// The tree `name`, whose records are written packed ([`packed`]):
    /// for the records every generation writes. Its values must only be
    /// written and read through the [`Table`].
    pub fn packed_table(&self, name: &'static str) -> Result<Table> {
        Ok(Table {
            packed: true,
            ..self.table(name)?
        })
    }
}

impl Table {
    /// Reads a record.
    pub fn get<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>> {
        self.note_reads(1);
        self.tree
            .get(key)?
            .map(|bytes| self.decode(&bytes))
            .transpose()
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

    fn decode_entry<T: DeserializeOwned>(
        &self,
        item: sled::Result<(sled::IVec, sled::IVec)>,
    ) -> Result<(String, T)> {
        let (k, v) = item?;
        self.note_reads(1);
        Ok((String::from_utf8_lossy(&k).into_owned(), self.decode(&v)?))
    }

    /// Writes a record and waits until it is on disk.
    pub async fn put<T: Serialize>(&self, key: &str, value: &T) -> Result<()> {
        self.tree.insert(key, self.encode(value))?;
        self.note_writes(1);
        self.store.flush().await
    }

    /// The sled tree, for transactions across tables (whose callers count
    /// their operations with [`Table::note_reads`] and
    /// [`Table::note_writes`]).
    pub fn tree(&self) -> &sled::Tree {
        &self.tree
    }

    /// Counts `n` records read through [`Table::tree`].
    pub fn note_reads(&self, n: u64) {
        self.store.counters.reads.fetch_add(n, Ordering::Relaxed);
    }

    /// Counts `n` records written through [`Table::tree`].
    pub fn note_writes(&self, n: u64) {
        self.store.counters.writes.fetch_add(n, Ordering::Relaxed);
    }

    /// Counts `n` records removed through [`Table::tree`].
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
        self.tree
            .range(start.as_bytes().to_vec()..)
            .take_while(move |item| item.as_ref().map_or(true, |(k, _)| k.starts_with(&prefix)))
            .map(|item| self.decode_entry(item))
    }

    /// Writes a record without waiting for the disk (for records whose loss
    /// in a crash does no harm).
    pub fn put_unflushed<T: Serialize>(&self, key: &str, value: &T) -> Result<()> {
        self.tree.insert(key, self.encode(value))?;
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
        self.note_reads(1);
        let swapped = self.tree.compare_and_swap(key, current, new)?.is_ok();
        if swapped {
            match new {
                Some(_) => self.note_writes(1),
                None => self.note_removes(1),
            }
        }
        Ok(swapped)
    }

    /// Removes a record without waiting for the disk.
    pub fn remove_unflushed(&self, key: &str) -> Result<()> {
        self.tree.remove(key)?;
        self.note_removes(1);
        Ok(())
    }

    /// Removes a record and waits until that is on disk.
    pub async fn remove(&self, key: &str) -> Result<()> {
        self.tree.remove(key)?;
        self.note_removes(1);
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
        self.tree.range(start..end).rev().map(|item| {
            let (k, _) = item?;
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

#[cfg(test)]
mod tests {
    use super::{OpCounts, Store};

    #[tokio::test]
    async fn operations_are_counted() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let table = store.table("t").unwrap();
        table.put_unflushed("a", &1).unwrap();
        table.put("b", &2).await.unwrap();
        assert_eq!(table.get::<i32>("a").unwrap(), Some(1));
        assert_eq!(table.scan::<i32>().count(), 2);
        table.remove_unflushed("a").unwrap();
        assert_eq!(
            store.op_counts(),
            OpCounts {
                reads: 3,
                writes: 2,
                removes: 1,
                fsyncs: 1
            }
        );
    }

    #[tokio::test]
    async fn compression_is_kept_with_the_database_and_cannot_change() {
        let dir = tempfile::tempdir().unwrap();
        // Compressible records, as JSON records are.
        let record = "the same words again and again ".repeat(40);
        let fill = async |store: &Store| {
            let table = store.table("t").unwrap();
            for i in 0..2000 {
                table.put_unflushed(&format!("k{i:04}"), &record).unwrap();
            }
            store.flush().await.unwrap();
        };
        {
            let store = Store::open_with(dir.path(), 1 << 20, Some(true)).unwrap();
            assert!(store.compressed());
            fill(&store).await;
        }
        let err = Store::reopen(dir.path(), 1 << 20, Some(false))
            .await
            .err()
            .expect("a compressed database refuses compression = false");
        let message = err.to_string();
        assert!(
            message.contains("created with compression on")
                && message.contains("set [store] compression = true"),
            "{message}"
        );
        // Unset: the database's own setting, and every record reads back.
        let store = Store::reopen(dir.path(), 1 << 20, None).await.unwrap();
        assert!(store.compressed());
        let table = store.table("t").unwrap();
        assert_eq!(table.scan::<String>().count(), 2000);
        assert_eq!(table.get::<String>("k1999").unwrap(), Some(record.clone()));
        drop((table, store));

        // A new database is not compressed unless asked, and then refuses
        // compression = true.
        let plain = tempfile::tempdir().unwrap();
        let store = Store::open(plain.path()).unwrap();
        assert!(!store.compressed());
        fill(&store).await;
        drop(store);
        let err = Store::reopen(plain.path(), 1 << 20, Some(true))
            .await
            .err()
            .expect("a plain database refuses compression = true");
        assert!(
            err.to_string().contains("created with compression off"),
            "{err}"
        );

        // What it is for: the compressed database is smaller on disk.
        let size = |dir: &std::path::Path| -> u64 {
            fn walk(p: &std::path::Path) -> u64 {
                std::fs::read_dir(p)
                    .unwrap()
                    .map(|e| {
                        let e = e.unwrap();
                        let m = e.metadata().unwrap();
                        if m.is_dir() { walk(&e.path()) } else { m.len() }
                    })
                    .sum()
            }
            walk(dir)
        };
        let (compressed, plain) = (size(dir.path()), size(plain.path()));
        assert!(
            compressed < plain,
            "compressed {compressed} B, plain {plain} B"
        );
    }

    #[tokio::test]
    async fn a_packed_table_reads_the_json_records_written_before_it() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let record = serde_json::json!({"id": "task_1", "prompt": "a lighthouse at dawn"});
        // As a data directory of an earlier version has it.
        store.table("t").unwrap().put("old", &record).await.unwrap();
        let table = store.packed_table("t").unwrap();
        table.put("new", &record).await.unwrap();
        let raw = table.tree().get("new").unwrap().unwrap();
        assert_eq!(raw[0], super::packed::ZSTD_RECORDS_1);
        for key in ["old", "new"] {
            assert_eq!(
                table.get::<serde_json::Value>(key).unwrap(),
                Some(record.clone())
            );
        }
        let scanned: Vec<(String, serde_json::Value)> =
            table.scan().collect::<Result<_, _>>().unwrap();
        assert_eq!(scanned.len(), 2);
        assert!(scanned.iter().all(|(_, r)| *r == record));
        // A damaged packed record is reported as such, naming the tree.
        table.tree().insert("bad", &raw[..raw.len() / 2]).unwrap();
        let err = table
            .get::<serde_json::Value>("bad")
            .unwrap_err()
            .to_string();
        assert!(err.contains("corrupt record in t"), "{err}");
    }

    #[test]
    fn keys_rev_stays_within_the_prefix_and_before_the_cursor() {
        let dir = tempfile::tempdir().unwrap();
        let table = Store::open(dir.path()).unwrap().table("t").unwrap();
        for key in ["a/1", "a/2", "a/3", "ab/1", "b/1", "a"] {
            table.put_unflushed(key, &()).unwrap();
        }
        let keys = |before| {
            table
                .keys_rev("a/", before)
                .collect::<Result<Vec<_>, _>>()
                .unwrap()
        };
        assert_eq!(keys(None), ["a/3", "a/2", "a/1"]);
        assert_eq!(keys(Some("a/3")), ["a/2", "a/1"]);
        assert_eq!(keys(Some("a/1")), Vec::<String>::new());
    }
}

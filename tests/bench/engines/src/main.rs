//! What a generation's records cost two storage engines: sled, which the
//! gateway uses, and fjall, an LSM store, as a candidate to replace it.
//!
//! Each generation writes what a synchronous generation writes on sled,
//! with the sizes of its packed records: the open task (written, then
//! removed), the hold's ledger entry, the output's file record and its
//! entry in the index by blob, the finished task, its entry in the index
//! by owner and the capture's ledger entry. Ids are time-ordered, as the
//! gateway's are. `THREADS` threads make the generations, and each waits
//! until its writes are on disk through a shared group commit (one flush
//! at a time; a caller whose writes a completed flush covered does not
//! flush again), as the gateway's store does.
//!
//!   cargo run --release --manifest-path tests/bench/engines/Cargo.toml -- ENGINE GENERATIONS THREADS [shared]
//!
//! ENGINE is `sled` or `fjall`; `shared` gives every output the same blob
//! (as the load benchmark's mock, which serves one image) rather than a
//! blob each. Both engines get a 16 MiB cache; fjall's memtables are 8 MiB
//! per keyspace (`MEMTABLE_MB`) and its journal at most 64 MiB. The data
//! goes to a fresh directory under `$TMPDIR` (removed at the end). Prints
//! generations a second, CPU per generation (the process's user and system
//! time), flushes, the data directory per generation (3 s after the last
//! write) and the RSS.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rand::RngCore;

/// The trees a generation writes to, in the order of [`TREES`].
const OPEN: usize = 0;
const LEDGER: usize = 1;
const FILES: usize = 2;
const FILES_BY_BLOB: usize = 3;
const TASKS: usize = 4;
const TASKS_BY_OWNER: usize = 5;
const TREES: [&str; 6] = [
    "open_tasks",
    "ledger",
    "files",
    "files_by_blob",
    "tasks",
    "tasks_by_owner",
];

/// The sizes of the packed records (docs/operations.md, packed records).
const OPEN_BYTES: usize = 200;
const ENTRY_BYTES: usize = 100;
const FILE_BYTES: usize = 90;
const TASK_BYTES: usize = 180;

trait Engine: Send + Sync {
    fn put(&self, tree: usize, key: &[u8], value: &[u8]);
    fn remove(&self, tree: usize, key: &[u8]);
    /// Waits until every write made before the call is on disk.
    fn flush(&self);
}

struct Sled(sled::Db, Vec<sled::Tree>);

impl Engine for Sled {
    fn put(&self, tree: usize, key: &[u8], value: &[u8]) {
        self.1[tree].insert(key, value).expect("sled insert");
    }
    fn remove(&self, tree: usize, key: &[u8]) {
        self.1[tree].remove(key).expect("sled remove");
    }
    fn flush(&self) {
        self.0.flush().expect("sled flush");
    }
}

struct Fjall(fjall::Database, Vec<fjall::Keyspace>);

impl Engine for Fjall {
    fn put(&self, tree: usize, key: &[u8], value: &[u8]) {
        self.1[tree].insert(key, value).expect("fjall insert");
    }
    fn remove(&self, tree: usize, key: &[u8]) {
        self.1[tree].remove(key).expect("fjall remove");
    }
    fn flush(&self) {
        self.0
            .persist(fjall::PersistMode::SyncData)
            .expect("fjall persist");
    }
}

/// Group commit, as the gateway's store does it.
#[derive(Default)]
struct GroupCommit {
    requested: AtomicU64,
    covered: Mutex<u64>,
    flushes: AtomicU64,
}

impl GroupCommit {
    fn commit(&self, engine: &dyn Engine) {
        let ticket = self.requested.fetch_add(1, Ordering::SeqCst) + 1;
        let mut covered = self.covered.lock().expect("not poisoned");
        if *covered >= ticket {
            return;
        }
        let target = self.requested.load(Ordering::SeqCst);
        engine.flush();
        self.flushes.fetch_add(1, Ordering::Relaxed);
        *covered = target;
    }
}

fn random(n: usize) -> Vec<u8> {
    let mut bytes = vec![0; n];
    rand::rng().fill_bytes(&mut bytes);
    bytes
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The process's user and system CPU time, in seconds.
fn cpu_seconds() -> f64 {
    // SAFETY: getrusage fills the zeroed struct it is given.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut usage);
        usage
    };
    let seconds = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    seconds(usage.ru_utime) + seconds(usage.ru_stime)
}

fn rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let kb: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .expect("VmRSS");
    kb / 1024.0
}

fn bytes_under(dir: &std::path::Path) -> u64 {
    std::fs::read_dir(dir)
        .expect("readable directory")
        .map(|entry| {
            let entry = entry.expect("readable entry");
            let meta = entry.metadata().expect("metadata");
            if meta.is_dir() {
                bytes_under(&entry.path())
            } else {
                meta.len()
            }
        })
        .sum()
}

fn open(engine: &str, dir: &std::path::Path) -> Arc<dyn Engine> {
    match engine {
        "sled" => {
            let db = sled::Config::new()
                .path(dir)
                .cache_capacity(16 << 20)
                .open()
                .expect("sled opens");
            let trees = TREES
                .iter()
                .map(|t| db.open_tree(t).expect("tree"))
                .collect();
            Arc::new(Sled(db, trees))
        }
        "fjall" => {
            let memtable_mb: u64 = std::env::var("MEMTABLE_MB")
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or(8);
            let db = fjall::Database::builder(dir)
                .cache_size(16 << 20)
                .max_journaling_size(64 << 20)
                .open()
                .expect("fjall opens");
            let trees = TREES
                .iter()
                .map(|t| {
                    db.keyspace(t, || {
                        fjall::KeyspaceCreateOptions::default().max_memtable_size(memtable_mb << 20)
                    })
                    .expect("keyspace")
                })
                .collect();
            Arc::new(Fjall(db, trees))
        }
        other => {
            eprintln!("unknown engine {other}: sled or fjall");
            std::process::exit(2);
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(engine), Some(generations), Some(threads)) = (
        args.first(),
        args.get(1).and_then(|n| n.parse::<u64>().ok()),
        args.get(2).and_then(|n| n.parse::<u64>().ok()),
    ) else {
        eprintln!("usage: imini-engines-bench sled|fjall GENERATIONS THREADS [shared]");
        std::process::exit(2);
    };
    let shared_blob = args.get(3).is_some_and(|a| a == "shared");
    let dir = std::env::temp_dir().join(format!(
        "imini-engines-bench-{engine}-{}",
        std::process::id()
    ));
    let store = open(engine, &dir);
    let group = Arc::new(GroupCommit::default());
    let next = Arc::new(AtomicU64::new(0));
    let ledger_seq = Arc::new(AtomicU64::new(0));
    let one_blob = hex(&random(32));

    let (cpu_before, started) = (cpu_seconds(), Instant::now());
    let workers: Vec<_> = (0..threads)
        .map(|_| {
            let (store, group, next, ledger_seq, one_blob) = (
                store.clone(),
                group.clone(),
                next.clone(),
                ledger_seq.clone(),
                one_blob.clone(),
            );
            std::thread::spawn(move || {
                let account = "acct_0193000000000000aaaaaaaaaaaaaaaa";
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= generations {
                        break;
                    }
                    let s = &*store;
                    let time = format!("{:016x}", 0x0193_0000_0000_0000u64 + i);
                    let task = format!("task_{time}{}", hex(&random(8)));
                    let file = format!("file_{time}{}", hex(&random(8)));
                    let blob = if shared_blob {
                        one_blob.clone()
                    } else {
                        hex(&random(32))
                    };
                    s.put(OPEN, task.as_bytes(), &random(OPEN_BYTES));
                    let hold = ledger_seq.fetch_add(1, Ordering::Relaxed);
                    s.put(
                        LEDGER,
                        format!("{account}/{hold:016x}").as_bytes(),
                        &random(ENTRY_BYTES),
                    );
                    s.put(FILES_BY_BLOB, format!("{blob}/{file}").as_bytes(), b"null");
                    s.put(FILES, file.as_bytes(), &random(FILE_BYTES));
                    s.put(TASKS, task.as_bytes(), &random(TASK_BYTES));
                    s.put(
                        TASKS_BY_OWNER,
                        format!("{account}/{task}").as_bytes(),
                        b"null",
                    );
                    let capture = ledger_seq.fetch_add(1, Ordering::Relaxed);
                    s.put(
                        LEDGER,
                        format!("{account}/{capture:016x}").as_bytes(),
                        &random(ENTRY_BYTES),
                    );
                    s.remove(OPEN, task.as_bytes());
                    group.commit(s);
                }
            })
        })
        .collect();
    for worker in workers {
        worker.join().expect("worker");
    }
    let cpu = cpu_seconds() - cpu_before;
    let wall = started.elapsed().as_secs_f64();
    let rss = rss_mb();
    std::thread::sleep(Duration::from_secs(3));
    let disk = bytes_under(&dir);
    let flushes = group.flushes.load(Ordering::Relaxed);
    println!(
        "{engine}: {generations} generations, {threads} threads, {}: {:.0} a second, \
         {:.1} µs of CPU each, {flushes} flushes ({:.1} generations each), \
         {} bytes of data directory each ({} MB), RSS {:.0} MB",
        if shared_blob {
            "one blob for all"
        } else {
            "a blob each"
        },
        generations as f64 / wall,
        cpu / generations as f64 * 1e6,
        generations as f64 / flushes.max(1) as f64,
        disk / generations.max(1),
        disk >> 20,
        rss
    );
    drop(store);
    let _ = std::fs::remove_dir_all(&dir);
}

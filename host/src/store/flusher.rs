//! Group commit on a thread of its own: the flushes of the embedded store.

use std::sync::atomic::AtomicU64;

use super::{Result, StoreError};

/// A flush this slow is logged as a warning.
const SLOW_FLUSH: std::time::Duration = std::time::Duration::from_millis(100);

/// What the flush thread answers: whether the journal reached the disk.
type Flushed = fjall::Result<()>;

/// Group commit: one flush at a time, and a caller whose writes an
/// already-started flush covers does not flush again.
pub(super) struct Flusher {
    /// Flush requests so far (each made after its writes).
    pub(super) requested: AtomicU64,
    /// The highest request number a completed flush covered.
    pub(super) covered: tokio::sync::Mutex<u64>,
    /// The thread that runs the flushes: each message asks for one and
    /// carries where to answer. Taken by `drop`, which ends the thread.
    asks: Option<std::sync::mpsc::Sender<tokio::sync::oneshot::Sender<Flushed>>>,
    /// The flush thread, joined by `drop`.
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for Flusher {
    /// Ends the flush thread and waits for it, so that the database (which
    /// the thread holds) is released once the store's last handle has
    /// gone: the same process may open it again at once.
    fn drop(&mut self) {
        drop(self.asks.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Flusher {
    /// Starts the flush thread of `db`: a thread of our own, because
    /// fjall's `persist` blocks on the disk, which a tokio worker must not.
    pub(super) fn start(db: &fjall::Database) -> std::io::Result<Self> {
        let (asks, received) = std::sync::mpsc::channel::<tokio::sync::oneshot::Sender<Flushed>>();
        let db = db.clone();
        let thread = std::thread::Builder::new()
            .name("imini-flush".into())
            .spawn(move || {
                while let Ok(answer) = received.recv() {
                    let started = std::time::Instant::now();
                    let flushed = db.persist(fjall::PersistMode::SyncAll);
                    let took = started.elapsed();
                    if took >= SLOW_FLUSH {
                        // Every request that waits for the disk waited this
                        // long: worth an operator's look at the disk.
                        tracing::warn!(
                            took_ms = took.as_millis() as u64,
                            "the store's journal took long to reach the disk"
                        );
                    }
                    // The caller may have gone (its request was dropped);
                    // the flush still ran for whoever comes next.
                    let _ = answer.send(flushed);
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
    pub(super) async fn flush(&self) -> Result<()> {
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

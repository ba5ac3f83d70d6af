//! The serving threads (`[server] threads`): which one this is, and the work
//! that leaves one when a plugin computes on it for long.
//!
//! A serving thread runs its connections' requests, and the tasks they
//! start, on a single-threaded runtime of its own. A plugin that computes
//! yields to that runtime only at an epoch tick (every 10 ms) that finds it
//! computing for half a tick or more since it last waited on the host, and
//! such a runtime looks for ready sockets only every few dozen turns: a
//! plugin spinning there would hold up every other connection of the
//! thread for as long as its call may last. So a request or task whose
//! plugin call yields that way is [`Movable`]: it moves, as it stands, to
//! the shared runtime, whose workers the operating system shares out with
//! the serving threads, and finishes there. The usual call computes for
//! well under a millisecond between its waits and never moves, even when a
//! tick falls in one of its waits.

use std::cell::{Cell, OnceCell};
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

thread_local! {
    /// Which serving thread this is, if it is one.
    static SERVING_THREAD: Cell<Option<usize>> = const { Cell::new(None) };
    /// The shared runtime, which work moved off this serving thread
    /// finishes on.
    static SHARED: OnceCell<tokio::runtime::Handle> = const { OnceCell::new() };
    /// Whether a plugin call polled on this thread has run through an
    /// epoch tick since the flag was last taken.
    static TICKED: Cell<bool> = const { Cell::new(false) };
}

/// Marks the calling thread as serving thread `i` (from 0), whose work
/// moves to `shared` when a plugin computes through a tick.
pub fn mark_serving_thread(i: usize, shared: tokio::runtime::Handle) {
    SERVING_THREAD.set(Some(i));
    SHARED.with(|s| {
        let _ = s.set(shared);
    });
}

/// Which serving thread the caller runs on, if it runs on one.
pub fn serving_thread() -> Option<usize> {
    SERVING_THREAD.get()
}

/// Called from a plugin call's epoch callback when the guest has computed
/// for half a tick or more without waiting, and yields.
pub fn guest_ticked() {
    TICKED.set(true);
}

/// A future that runs where it is polled until a plugin call inside it runs
/// through an epoch tick on a serving thread; from then on it runs on the
/// shared runtime and this awaits it there. Dropped, it drops the work
/// wherever that runs (as the connection's end drops its request).
pub struct Movable<F: Future> {
    state: State<F>,
}

enum State<F: Future> {
    Here(Pin<Box<F>>),
    Moved(tokio::task::JoinHandle<F::Output>),
    Gone,
}

impl<F> Movable<F>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    /// `work`, movable off a serving thread.
    pub fn new(work: F) -> Self {
        Self {
            state: State::Here(Box::pin(work)),
        }
    }
}

impl<F> Future for Movable<F>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = &mut *self;
        if let State::Here(work) = &mut this.state {
            // Saved and put back: a movable polled inside another leaves
            // the outer one's flag as it found it.
            let outer = TICKED.replace(false);
            let polled = work.as_mut().poll(cx);
            let ticked = TICKED.replace(outer);
            if polled.is_ready() || !ticked {
                return polled;
            }
            let Some(shared) = SHARED.with(|s| s.get().cloned()) else {
                // Not a serving thread: it stays.
                return polled;
            };
            let State::Here(work) = std::mem::replace(&mut this.state, State::Gone) else {
                unreachable!("matched above");
            };
            crate::metrics::metrics().moved_off_serving_thread();
            tracing::debug!(
                "a plugin computed through a tick: its work moves to the shared runtime"
            );
            this.state = State::Moved(shared.spawn(work));
        }
        match &mut this.state {
            State::Moved(handle) => match std::task::ready!(Pin::new(handle).poll(cx)) {
                Ok(output) => {
                    this.state = State::Gone;
                    Poll::Ready(output)
                }
                Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
                // Only a shut-down runtime cancels it.
                Err(e) => panic!("moved work did not finish: {e}"),
            },
            State::Here(_) => unreachable!("moved above or returned"),
            State::Gone => panic!("a Movable polled after it finished"),
        }
    }
}

impl<F: Future> Drop for Movable<F> {
    fn drop(&mut self) {
        if let State::Moved(handle) = &self.state {
            handle.abort();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    /// A future that "computes through a tick" at its first poll, then
    /// finishes on its second, saying which thread finished it.
    fn ticking() -> impl Future<Output = std::thread::ThreadId> + Send + 'static {
        let mut first = true;
        std::future::poll_fn(move |cx| {
            if first {
                first = false;
                guest_ticked();
                cx.waker().wake_by_ref();
                Poll::Pending
            } else {
                Poll::Ready(std::thread::current().id())
            }
        })
    }

    fn on_a_serving_thread<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> T {
        let shared = tokio::runtime::Handle::current();
        std::thread::spawn(move || {
            mark_serving_thread(0, shared);
            work()
        })
        .join()
        .unwrap()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 1)]
    async fn work_that_ticks_on_a_serving_thread_finishes_on_the_shared_runtime() {
        let (serving, finished_on) = on_a_serving_thread(|| {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            let finished_on = rt.block_on(Movable::new(ticking()));
            (std::thread::current().id(), finished_on)
        });
        assert_ne!(serving, finished_on, "it left the serving thread");
        // Work that does not tick stays.
        let (serving, finished_on) = on_a_serving_thread(|| {
            let rt = tokio::runtime::Builder::new_current_thread()
                .build()
                .unwrap();
            let finished_on = rt.block_on(Movable::new(async { std::thread::current().id() }));
            (std::thread::current().id(), finished_on)
        });
        assert_eq!(serving, finished_on);
    }

    #[tokio::test]
    async fn off_a_serving_thread_work_that_ticks_stays_where_it_is() {
        let here = std::thread::current().id();
        // A current-thread test runtime: the only thread is this one.
        assert_eq!(Movable::new(ticking()).await, here);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 1)]
    async fn dropping_moved_work_stops_it() {
        let dropped = Arc::new(AtomicBool::new(false));
        struct Flag(Arc<AtomicBool>);
        impl Drop for Flag {
            fn drop(&mut self) {
                self.0.store(true, Ordering::SeqCst);
            }
        }
        let flag = Flag(dropped.clone());
        on_a_serving_thread(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let mut first = true;
                let work = Movable::new(std::future::poll_fn(move |cx| {
                    let _keep = &flag;
                    if first {
                        first = false;
                        guest_ticked();
                        cx.waker().wake_by_ref();
                    }
                    Poll::<()>::Pending
                }));
                // Polled once here (it ticks and moves), then given up.
                let _ = tokio::time::timeout(std::time::Duration::from_millis(50), work).await;
            });
        });
        let stopped = async {
            while !dropped.load(Ordering::SeqCst) {
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            }
        };
        tokio::time::timeout(std::time::Duration::from_secs(10), stopped)
            .await
            .expect("the moved work is dropped once its Movable is");
    }
}

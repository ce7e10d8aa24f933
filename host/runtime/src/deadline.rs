//! Coarse deadlines for calls and requests, fired by the engine's epoch ticker.
//!
//! A tokio timer per call (and per request inside it) is not free: the first timer armed while
//! the timer wheel is empty makes tokio wake the thread parked on the I/O driver so it can
//! shorten its sleep, and every call empties the wheel again when it ends. On a busy two-core
//! machine those wake-ups competed with the call itself. The deadlines here cost a mutex and a
//! map insert instead: the epoch ticker thread, which runs anyway, wakes every waiter whose
//! deadline has passed at each tick, and the waiter then sees the deadline itself.
//!
//! A deadline fires at most one [`crate::engine::EPOCH_TICK`] late. Without a running ticker
//! (no engine alive) the tokio timer is used, so a deadline is never left unenforced.

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock, PoisonError};
use std::task::{Poll, Waker};
use std::time::Instant;

/// A deadline passed before the work finished.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Elapsed;

#[derive(Default)]
struct Registry {
    waiting: Mutex<HashMap<u64, (Instant, Waker)>>,
    next_id: AtomicU64,
    tickers: AtomicUsize,
}

fn registry() -> &'static Registry {
    static REGISTRY: OnceLock<Registry> = OnceLock::new();
    REGISTRY.get_or_init(Registry::default)
}

/// Marks an epoch ticker as running, so deadlines may rely on [`fire_due`] being called.
pub(crate) fn ticker_started() {
    registry().tickers.fetch_add(1, Ordering::SeqCst);
}

/// Marks an epoch ticker as stopped. When it was the last one, every waiter is woken so it
/// arms a tokio timer instead (see [`within`]).
pub(crate) fn ticker_stopped() {
    if registry().tickers.fetch_sub(1, Ordering::SeqCst) == 1 {
        wake(|_| true);
    }
}

fn tickers_running() -> bool {
    registry().tickers.load(Ordering::SeqCst) > 0
}

/// Wakes every waiter whose deadline has passed (called by the epoch ticker at every tick).
pub(crate) fn fire_due(now: Instant) {
    wake(|deadline| deadline <= now);
}

fn wake(due: impl Fn(Instant) -> bool) {
    let due: Vec<Waker> = {
        let waiting = registry().waiting.lock().unwrap_or_else(PoisonError::into_inner);
        waiting
            .values()
            .filter(|(deadline, _)| due(*deadline))
            .map(|(_, waker)| waker.clone())
            .collect()
    };
    // Outside the lock: a waker may run code that registers again.
    for waker in due {
        waker.wake();
    }
}

/// One waiter's entry; removed when the wait ends, however it ends.
struct Entry {
    id: Option<u64>,
    deadline: Instant,
}

impl Entry {
    fn wait(&mut self, waker: &Waker) {
        let registry = registry();
        let mut waiting = registry.waiting.lock().unwrap_or_else(PoisonError::into_inner);
        match self.id {
            Some(id) => match waiting.get_mut(&id) {
                Some((_, known)) if known.will_wake(waker) => {}
                Some((_, known)) => known.clone_from(waker),
                None => {
                    waiting.insert(id, (self.deadline, waker.clone()));
                }
            },
            None => {
                let id = registry.next_id.fetch_add(1, Ordering::Relaxed);
                waiting.insert(id, (self.deadline, waker.clone()));
                self.id = Some(id);
            }
        }
    }
}

impl Drop for Entry {
    fn drop(&mut self) {
        if let Some(id) = self.id {
            registry()
                .waiting
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .remove(&id);
        }
    }
}

/// Runs `work` until it finishes or `deadline` passes, whichever comes first. Like
/// `tokio::time::timeout_at`, the work is polled before the deadline is checked.
pub async fn within<F: Future>(deadline: Instant, work: F) -> Result<F::Output, Elapsed> {
    let mut work = std::pin::pin!(work);
    let mut entry = Entry { id: None, deadline };
    let mut timer: Option<std::pin::Pin<Box<tokio::time::Sleep>>> = None;
    std::future::poll_fn(|cx| {
        if let Poll::Ready(out) = work.as_mut().poll(cx) {
            return Poll::Ready(Ok(out));
        }
        if Instant::now() >= deadline {
            return Poll::Ready(Err(Elapsed));
        }
        if tickers_running() {
            entry.wait(cx.waker());
            return Poll::Pending;
        }
        // No ticker: a tokio timer keeps the deadline.
        let timer = timer.get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline.into())));
        match timer.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(Elapsed)),
            Poll::Pending => Poll::Pending,
        }
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// Runs `f` with a ticker thread firing deadlines, as an engine's ticker does.
    async fn with_ticker<T>(f: impl Future<Output = T>) -> T {
        ticker_started();
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let ticker = {
            let stop = stop.clone();
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    std::thread::sleep(Duration::from_millis(5));
                    fire_due(Instant::now());
                }
            })
        };
        let out = f.await;
        stop.store(true, Ordering::Relaxed);
        ticker.join().unwrap();
        ticker_stopped();
        out
    }

    #[tokio::test]
    async fn finished_work_wins_and_leaves_nothing_registered() {
        with_ticker(async {
            let far = Instant::now() + Duration::from_secs(60);
            assert_eq!(within(far, async { 7 }).await, Ok(7));
            let after_a_wait = within(far, async {
                tokio::task::yield_now().await;
                8
            })
            .await;
            assert_eq!(after_a_wait, Ok(8));
        })
        .await;
    }

    #[tokio::test]
    async fn a_passed_deadline_ends_the_wait() {
        let out = with_ticker(within(Instant::now(), std::future::pending::<()>())).await;
        assert_eq!(out, Err(Elapsed));
        let soon = Instant::now() + Duration::from_millis(20);
        let out = with_ticker(within(soon, std::future::pending::<()>())).await;
        assert_eq!(out, Err(Elapsed));
    }

    #[tokio::test]
    async fn without_a_ticker_a_tokio_timer_keeps_the_deadline() {
        // Tickers of other tests may come and go meanwhile; either way the wait must end.
        let out = within(Instant::now() + Duration::from_millis(20), std::future::pending::<()>()).await;
        assert_eq!(out, Err(Elapsed));
    }
}

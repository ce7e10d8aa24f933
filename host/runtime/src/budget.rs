//! Budgets of host work a guest can cause.
//!
//! - [`Budget`]: host calls (every import that does work on the guest's behalf: log, kv, HTTP,
//!   sandbox, inbound delivery spends one) and bytes copied out of guest memory by imports and
//!   results. Tools get a fresh budget per call; channels, whose instance lives on, get one per
//!   time window ([`CHANNEL_WINDOW`]), so a channel cannot reset its allowance by returning
//!   from `poll` quickly. Past the host-call budget, imports with a result answer
//!   `limit-exceeded` and log lines are dropped (and counted); past the copy budget the call is
//!   stopped.
//! - [`RateWindow`]: events per time window for things a flood would push into the gateway's
//!   own log (a plugin's log lines, its refused requests), with the number turned away counted
//!   and reported once as "N ... suppressed".

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// The window a channel's budgets cover.
pub const CHANNEL_WINDOW: Duration = Duration::from_secs(60);

/// Bytes a guest may make the host copy out of its memory per invocation (per window for
/// channels), as a multiple of its memory grant.
pub const COPY_FACTOR: u64 = 4;
/// The copy budget is at least this, whatever the grant.
pub const MIN_COPY_BYTES: u64 = 16 << 20;

/// Why a call was stopped for copying too much out of the guest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CopyLimitExceeded {
    pub limit_bytes: u64,
}

impl std::fmt::Display for CopyLimitExceeded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the plugin made the host copy more than {} MiB out of its memory in one call",
            self.limit_bytes >> 20
        )
    }
}

impl std::error::Error for CopyLimitExceeded {}

#[derive(Debug)]
pub struct Budget {
    limit: u64,
    used: AtomicU64,
    dropped_logs: AtomicU64,
    copy_limit: u64,
    copied: AtomicU64,
    /// When the current window began (channels); `None` for per-call budgets.
    window_start: Mutex<Option<Instant>>,
}

impl Budget {
    pub fn new(limit: u64, copy_limit: u64) -> Self {
        Self {
            limit,
            used: AtomicU64::new(0),
            dropped_logs: AtomicU64::new(0),
            copy_limit,
            copied: AtomicU64::new(0),
            window_start: Mutex::new(None),
        }
    }

    /// The copy budget for a plugin granted `memory_bytes`.
    pub fn copy_limit_for(memory_bytes: u64) -> u64 {
        memory_bytes.saturating_mul(COPY_FACTOR).max(MIN_COPY_BYTES)
    }

    /// Spends one call; false when the budget is exhausted.
    pub fn spend(&self) -> bool {
        self.used.fetch_add(1, Ordering::Relaxed) < self.limit
    }

    /// Counts `bytes` copied out of the guest; an error once the copy budget is passed.
    pub fn copy(&self, bytes: usize) -> Result<(), CopyLimitExceeded> {
        let total = self
            .copied
            .fetch_add(bytes as u64, Ordering::Relaxed)
            .saturating_add(bytes as u64);
        if total > self.copy_limit {
            Err(CopyLimitExceeded {
                limit_bytes: self.copy_limit,
            })
        } else {
            Ok(())
        }
    }

    pub fn copy_limit(&self) -> u64 {
        self.copy_limit
    }

    pub fn limit(&self) -> u64 {
        self.limit
    }

    pub fn used(&self) -> u64 {
        self.used.load(Ordering::Relaxed).min(self.limit)
    }

    /// Calls refused because the budget was exhausted.
    pub fn refused(&self) -> u64 {
        self.used.load(Ordering::Relaxed).saturating_sub(self.limit)
    }

    pub fn drop_log(&self) {
        self.dropped_logs.fetch_add(1, Ordering::Relaxed);
    }

    pub fn dropped_logs(&self) -> u64 {
        self.dropped_logs.load(Ordering::Relaxed)
    }

    fn reset(&self) {
        self.used.store(0, Ordering::Relaxed);
        self.dropped_logs.store(0, Ordering::Relaxed);
        self.copied.store(0, Ordering::Relaxed);
    }

    /// Starts a new window when `window` has passed since the current one began (channels call
    /// this before every call). Returns whether it did.
    pub fn roll_window(&self, window: Duration, now: Instant) -> bool {
        let mut start = self
            .window_start
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match *start {
            Some(began) if now.duration_since(began) < window => false,
            _ => {
                *start = Some(now);
                self.reset();
                true
            }
        }
    }

    pub fn exhausted_message(&self) -> String {
        format!(
            "host-call budget of {} calls per invocation (per minute for channels) exhausted \
             (raise plugins.entries.<id>.limits.hostCalls)",
            self.limit
        )
    }
}

/// What [`RateWindow::admit`] decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    Admit,
    /// Admitted, and a new window began after `0` events of the previous one were suppressed:
    /// report them first.
    AdmitAfterSuppressed(u64),
    Suppress,
}

#[derive(Debug)]
struct WindowState {
    start: Option<Instant>,
    used: u64,
    suppressed: u64,
}

/// At most `limit` events per `window`; the rest are counted.
#[derive(Debug)]
pub struct RateWindow {
    limit: u64,
    window: Duration,
    state: Mutex<WindowState>,
}

impl RateWindow {
    pub fn new(limit: u64, window: Duration) -> Self {
        Self {
            limit,
            window,
            state: Mutex::new(WindowState {
                start: None,
                used: 0,
                suppressed: 0,
            }),
        }
    }

    pub fn limit(&self) -> u64 {
        self.limit
    }

    pub fn window(&self) -> Duration {
        self.window
    }

    pub fn admit(&self, now: Instant) -> Admission {
        let mut state = self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut carried = 0;
        if state.start.is_none_or(|began| now.duration_since(began) >= self.window) {
            carried = std::mem::take(&mut state.suppressed);
            state.start = Some(now);
            state.used = 0;
        }
        if state.used >= self.limit {
            state.suppressed += 1;
            // A suppressed count from the previous window is not lost: it stays to be reported.
            state.suppressed += carried;
            return Admission::Suppress;
        }
        state.used += 1;
        if carried > 0 {
            Admission::AdmitAfterSuppressed(carried)
        } else {
            Admission::Admit
        }
    }

    /// Takes the count of suppressed events not reported yet (e.g. at the end of a call).
    pub fn take_suppressed(&self) -> u64 {
        let mut state = self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        std::mem::take(&mut state.suppressed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_window_counts_what_it_turns_away() {
        let rate = RateWindow::new(2, Duration::from_secs(10));
        let t0 = Instant::now();
        assert_eq!(rate.admit(t0), Admission::Admit);
        assert_eq!(rate.admit(t0), Admission::Admit);
        assert_eq!(rate.admit(t0), Admission::Suppress);
        assert_eq!(rate.admit(t0 + Duration::from_secs(5)), Admission::Suppress);
        assert_eq!(
            rate.admit(t0 + Duration::from_secs(11)),
            Admission::AdmitAfterSuppressed(2)
        );
        assert_eq!(rate.take_suppressed(), 0);
        rate.admit(t0 + Duration::from_secs(11));
        assert_eq!(rate.admit(t0 + Duration::from_secs(12)), Admission::Suppress);
        assert_eq!(rate.take_suppressed(), 1);
    }

    #[test]
    fn budgets_roll_per_window_and_copies_are_capped() {
        let budget = Budget::new(2, 100);
        let t0 = Instant::now();
        assert!(budget.roll_window(CHANNEL_WINDOW, t0));
        assert!(budget.spend() && budget.spend() && !budget.spend());
        assert!(!budget.roll_window(CHANNEL_WINDOW, t0 + Duration::from_secs(30)));
        assert!(!budget.spend(), "a new call in the same window does not refill it");
        assert!(budget.roll_window(CHANNEL_WINDOW, t0 + Duration::from_secs(61)));
        assert!(budget.spend());
        assert!(budget.copy(60).is_ok());
        assert_eq!(budget.copy(41), Err(CopyLimitExceeded { limit_bytes: 100 }));
    }
}

//! The host-call budget of one store: every import that does work on the guest's behalf (log,
//! kv, HTTP, sandbox, inbound delivery) spends one unit. Past the budget, imports with a result
//! answer `limit-exceeded` and log lines are dropped (and counted), so a flooding plugin cannot
//! burn the host's disk, network or CPU beyond its grant; its deadline then ends the call.

use std::sync::atomic::{AtomicU64, Ordering};

#[derive(Debug)]
pub struct Budget {
    limit: u64,
    used: AtomicU64,
    dropped_logs: AtomicU64,
}

impl Budget {
    pub fn new(limit: u64) -> Self {
        Self {
            limit,
            used: AtomicU64::new(0),
            dropped_logs: AtomicU64::new(0),
        }
    }

    /// Spends one call; false when the budget is exhausted.
    pub fn spend(&self) -> bool {
        self.used.fetch_add(1, Ordering::Relaxed) < self.limit
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

    /// Starts a new call (channels keep their store but get a fresh budget per call).
    pub fn reset(&self) {
        self.used.store(0, Ordering::Relaxed);
        self.dropped_logs.store(0, Ordering::Relaxed);
    }

    pub fn exhausted_message(&self) -> String {
        format!(
            "host-call budget of {} calls per invocation exhausted (raise plugins.entries.<id>.limits.hostCalls)",
            self.limit
        )
    }
}

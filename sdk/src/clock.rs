//! Time as the gateway sees it.

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> u64 {
    crate::host::with(|host| host.now_ms())
}

/// Nanoseconds from an arbitrary start, never decreasing.
pub fn monotonic_ns() -> u64 {
    crate::host::with(|host| host.monotonic_ns())
}

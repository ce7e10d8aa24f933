//! What one store holds in memory for a plugin, charged against the plugin's memory grant.
//!
//! A guest can make the host allocate without touching its own linear memory: `wasi:http` header
//! fields, request bodies written but never sent, responses held unread, open directory handles,
//! every entry of the resource table. Left uncounted, one call of a 64 MiB plugin could take the
//! host to a gigabyte with header fields alone. So the grant's memory limit covers the **sum** of:
//!
//! - every linear memory and table of the instance (charged as they grow, by the limiter);
//! - a reserve for the resource table: its capacity is derived from the grant, and each entry may
//!   hold at most [`ENTRY_BYTES`] (header fields are capped at [`FIELD_BYTES`], an unsent body
//!   buffers at most two chunks of [`BODY_CHUNK_BYTES`]), so `capacity × ENTRY_BYTES` is charged
//!   up front;
//! - the bytes of every HTTP response the store holds (charged when it arrives, released when
//!   the guest drops it).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// Most bytes one `wasi:http` fields resource may hold (wasmtime's own default is 128 KiB).
pub const FIELD_BYTES: usize = 16 * 1024;
/// Largest write into an outgoing body; one more chunk may be buffered, so a body written but
/// not sent holds at most two.
pub const BODY_CHUNK_BYTES: usize = 8 * 1024;
/// What one resource-table entry may hold at most.
pub const ENTRY_BYTES: u64 = 16 * 1024;
/// Bytes charged per table element (a function reference, with room for metadata).
pub const TABLE_ELEMENT_BYTES: u64 = 16;
/// The share of the memory grant reserved for resource-table entries (one quarter).
const TABLE_SHARE: u64 = 4;
/// Fewest and most resource-table entries a store gets, whatever its grant.
pub const MIN_TABLE_ENTRIES: u64 = 64;
pub const MAX_TABLE_ENTRIES: u64 = 4096;

/// Resource-table entries for a store of a plugin granted `memory_bytes`.
pub fn table_entries(memory_bytes: u64) -> u64 {
    (memory_bytes / TABLE_SHARE / ENTRY_BYTES).clamp(MIN_TABLE_ENTRIES, MAX_TABLE_ENTRIES)
}

/// The memory one store may use on the guest's behalf, and what it uses now.
#[derive(Debug)]
pub struct MemoryAccount {
    limit: u64,
    used: AtomicU64,
}

impl MemoryAccount {
    pub fn new(limit: u64) -> Arc<Self> {
        Arc::new(Self {
            limit,
            used: AtomicU64::new(0),
        })
    }

    pub fn limit(&self) -> u64 {
        self.limit
    }

    pub fn used(&self) -> u64 {
        self.used.load(Ordering::Acquire)
    }

    /// Charges `bytes` if they fit under the limit.
    pub fn try_charge(&self, bytes: u64) -> bool {
        self.used
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |used| {
                used.checked_add(bytes).filter(|total| *total <= self.limit)
            })
            .is_ok()
    }

    /// Charges `bytes` whatever the limit (for reserves the store cannot work without); the
    /// next charge that does not fit is refused.
    pub fn force_charge(&self, bytes: u64) {
        self.used.fetch_add(bytes, Ordering::AcqRel);
    }

    pub fn release(&self, bytes: u64) {
        let _ = self.used.fetch_update(Ordering::AcqRel, Ordering::Acquire, |used| {
            Some(used.saturating_sub(bytes))
        });
    }

    /// Charges `bytes` and returns a guard that gives them back when dropped.
    pub fn charge(self: &Arc<Self>, bytes: u64) -> Option<Charge> {
        self.try_charge(bytes).then(|| Charge {
            account: self.clone(),
            bytes,
        })
    }
}

/// Bytes charged to an account until this is dropped.
#[derive(Debug)]
pub struct Charge {
    account: Arc<MemoryAccount>,
    bytes: u64,
}

impl Drop for Charge {
    fn drop(&mut self) {
        self.account.release(self.bytes);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charges_fit_under_the_limit_and_come_back() {
        let account = MemoryAccount::new(100);
        assert!(account.try_charge(60));
        assert!(!account.try_charge(41));
        let held = account.charge(40).unwrap();
        assert_eq!(account.used(), 100);
        assert!(account.charge(1).is_none());
        drop(held);
        assert_eq!(account.used(), 60);
        account.release(1000);
        assert_eq!(account.used(), 0);
    }

    #[test]
    fn table_entries_follow_the_grant() {
        assert_eq!(table_entries(64 << 20), 1024);
        assert_eq!(table_entries(1 << 20), MIN_TABLE_ENTRIES);
        assert_eq!(table_entries(u64::MAX), MAX_TABLE_ENTRIES);
    }
}

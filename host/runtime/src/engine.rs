//! The one wasmtime `Engine` of the process, its epoch ticker, and the fingerprint that keys the
//! compilation cache.
//!
//! The pooling allocator makes a fresh store per tool call cheap (≈16 µs to instantiate instead
//! of ≈26 µs) but reserves a large range of virtual address space up front (4 GiB plus guards per
//! memory slot). Where that reservation fails (`ulimit -v`, some container sandboxes) we fall back
//! to the on-demand allocator with small reservations, which works anywhere, and say so.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

use openclaw_core::plugins::grants::MAX_MEMORY_MB;

/// The wasmtime release this host is built with (all wasmtime crates are pinned to it).
pub const WASMTIME_VERSION: &str = "48.0.8";

/// The native stack a guest may use; deep recursion past it traps as a stack overflow.
pub const MAX_WASM_STACK: usize = 1 << 20;

/// How often the epoch advances. Deadlines are measured in these ticks, so a plugin overruns its
/// timeout by at most one tick.
pub const EPOCH_TICK: Duration = Duration::from_millis(10);

/// Sizing of the engine.
#[derive(Debug, Clone)]
pub struct EngineOptions {
    /// Component instances alive at once (tool calls in flight plus running channels).
    pub max_instances: u32,
    /// Force the on-demand allocator (what the fallback uses), e.g. for memory-constrained hosts.
    pub on_demand: bool,
}

impl Default for EngineOptions {
    fn default() -> Self {
        Self {
            max_instances: 1000,
            on_demand: false,
        }
    }
}

/// Which instance allocator the engine ended up with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Allocator {
    Pooling,
    /// The pool could not be reserved (the reason is logged) or on-demand was asked for.
    OnDemand,
}

/// The process-wide engine plus its ticker thread (stopped on drop).
pub struct WasmEngine {
    engine: Engine,
    allocator: Allocator,
    fallback_reason: Option<String>,
    fingerprint: String,
    stop: Arc<AtomicBool>,
    ticker: Option<JoinHandle<()>>,
}

fn base_config() -> Config {
    let mut config = Config::new();
    config.epoch_interruption(true);
    // Guests get a bounded native stack: deep recursion traps instead of growing without end.
    config.max_wasm_stack(MAX_WASM_STACK);
    config
}

fn pooling_config(max_instances: u32) -> PoolingAllocationConfig {
    let mut pool = PoolingAllocationConfig::new();
    // A Rust guest built for wasm32-wasip2 is one component wrapping a handful of core modules
    // (the program, the WASI adapter, shims), with one or two memories and a few tables.
    pool.total_component_instances(max_instances)
        .total_core_instances(max_instances.saturating_mul(8))
        .total_memories(max_instances.saturating_mul(2))
        .total_tables(max_instances.saturating_mul(4))
        .total_stacks(max_instances)
        .max_core_instances_per_component(16)
        .max_memories_per_component(2)
        .max_tables_per_component(8)
        .max_memory_size((MAX_MEMORY_MB as usize) << 20)
        // Keep a few slots warm so repeated calls of the same plugin reuse resident pages.
        .max_unused_warm_slots(64)
        // Reset a reused slot by rewriting only the pages the last call dirtied (PAGEMAP_SCAN
        // on Linux 6.7+, memset of the low pages otherwise) instead of madvise: no page faults
        // on the next call and no TLB shootdowns across threads. ~15 µs saved per tool call.
        .linear_memory_keep_resident(1 << 20)
        .table_keep_resident(64 << 10)
        .pagemap_scan(wasmtime::Enabled::Auto)
        .decommit_batch_size(16);
    pool
}

impl WasmEngine {
    /// Builds the engine (pooling, or on-demand when the pool cannot be reserved) and starts the
    /// epoch ticker.
    pub fn new(options: &EngineOptions) -> wasmtime::Result<Self> {
        let (engine, allocator, fallback_reason) = if options.on_demand {
            (Self::on_demand()?, Allocator::OnDemand, None)
        } else {
            let mut config = base_config();
            config.allocation_strategy(InstanceAllocationStrategy::Pooling(pooling_config(
                options.max_instances.max(1),
            )));
            match Engine::new(&config) {
                Ok(engine) => (engine, Allocator::Pooling, None),
                Err(error) => {
                    let reason = format!(
                        "the pooling allocator could not reserve its address space ({error}); \
                         using the on-demand allocator (slower instantiation, same isolation)"
                    );
                    tracing::warn!(target: "openclaw::plugins", "{reason}");
                    (Self::on_demand()?, Allocator::OnDemand, Some(reason))
                }
            }
        };
        let fingerprint = fingerprint(&engine);
        let stop = Arc::new(AtomicBool::new(false));
        let ticker = {
            let engine = engine.clone();
            let stop = stop.clone();
            // The same tick stops guests (epochs) and ends host waits (see `crate::deadline`).
            crate::deadline::ticker_started();
            std::thread::Builder::new()
                .name("openclaw-epoch".into())
                .spawn(move || {
                    while !stop.load(Ordering::Relaxed) {
                        std::thread::sleep(EPOCH_TICK);
                        engine.increment_epoch();
                        crate::deadline::fire_due(std::time::Instant::now());
                    }
                })
                .map_err(|e| {
                    crate::deadline::ticker_stopped();
                    wasmtime::format_err!("cannot start the epoch ticker thread: {e}")
                })?
        };
        Ok(Self {
            engine,
            allocator,
            fallback_reason,
            fingerprint,
            stop,
            ticker: Some(ticker),
        })
    }

    fn on_demand() -> wasmtime::Result<Engine> {
        let mut config = base_config();
        // Small reservations so this works under address-space limits; memories then grow by
        // moving, and bounds checks are explicit.
        config.memory_reservation(0);
        config.memory_reservation_for_growth(16 << 20);
        config.allocation_strategy(InstanceAllocationStrategy::OnDemand);
        Engine::new(&config)
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    pub fn allocator(&self) -> Allocator {
        self.allocator
    }

    /// Why the pooling allocator was not used, when it was wanted.
    pub fn fallback_reason(&self) -> Option<&str> {
        self.fallback_reason.as_deref()
    }

    /// Identifies everything that makes compiled code valid for this engine: the wasmtime
    /// version, the target and every compilation setting.
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// Epoch ticks for a wall-clock budget (at least one).
    pub fn ticks_for(budget: Duration) -> u64 {
        (budget.as_millis() / EPOCH_TICK.as_millis()).max(1) as u64
    }
}

impl Drop for WasmEngine {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(ticker) = self.ticker.take() {
            let _ = ticker.join();
            crate::deadline::ticker_stopped();
        }
    }
}

fn fingerprint(engine: &Engine) -> String {
    let mut hasher = DefaultHasher::new();
    WASMTIME_VERSION.hash(&mut hasher);
    engine.precompile_compatibility_hash().hash(&mut hasher);
    format!("{:016x}", hasher.finish())
}

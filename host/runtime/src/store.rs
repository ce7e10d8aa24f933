//! What a store holds for one plugin instance, and the host side of every import.
//!
//! The WASI context is built from the grant and nothing else: no environment, no arguments, no
//! stdio, no sockets (every address is refused), no name lookups, and the only directory is the
//! plugin's own `assets/` folder, read-only, at `/assets` (when the package has one).

use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::mpsc;
use wasmtime::ResourceLimiter;
use wasmtime::component::ResourceTable;
use wasmtime_wasi::{WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

use openclaw_core::plugins::grants::EffectiveGrant;

use crate::bindings::HostError;
use crate::bindings::channel::openclaw::plugin::{channel_types, inbound};
use crate::bindings::tool::openclaw::plugin::{clock, config, kv, log, sandbox, types};
use crate::budget::Budget;
use crate::egress::{EgressHooks, EgressPolicy};
use crate::kv::{KvError, KvStore};
use crate::secrets::Scrubber;
use crate::types::{CallContext, ExecRequest, ExecResult, InboundMessage, SandboxError};

/// Longest log line a plugin may write; longer lines are cut.
pub const MAX_LOG_LINE_BYTES: usize = 16 * 1024;

/// Runs commands in an agent's sandbox for plugins granted `sandbox-exec`. The Docker backend
/// implements this; without one, granted plugins get `not-available`.
pub trait SandboxBackend: Send + Sync + 'static {
    fn exec(
        &self,
        plugin_id: &str,
        call: Option<&CallContext>,
        request: ExecRequest,
    ) -> Pin<Box<dyn Future<Output = Result<ExecResult, SandboxError>> + Send>>;
}

/// Most table elements a store may have (function tables of Rust guests hold a few thousand).
const MAX_TABLE_ELEMENTS: usize = 1 << 20;

/// Bytes of the guest's standard error kept for error messages (the tail, since a panic message
/// comes last).
const STDERR_TAIL_BYTES: usize = 4096;

/// Enforces the memory limit and remembers that it did, so an out-of-memory abort can be told
/// apart from a panic.
#[derive(Debug)]
pub(crate) struct Limiter {
    memory_bytes: usize,
    pub(crate) memory_refused: bool,
}

impl ResourceLimiter for Limiter {
    fn memory_growing(&mut self, _current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        if desired > self.memory_bytes {
            self.memory_refused = true;
            return Ok(false);
        }
        Ok(true)
    }

    fn table_growing(&mut self, _current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        Ok(desired <= MAX_TABLE_ELEMENTS)
    }

    fn instances(&self) -> usize {
        64
    }

    fn tables(&self) -> usize {
        64
    }

    fn memories(&self) -> usize {
        8
    }
}

/// The guest's stderr: always accepts writes (a guest must never fail or trap because of its
/// own diagnostics) and keeps the last few KiB for error messages.
#[derive(Debug, Clone, Default)]
pub(crate) struct StderrTail(Arc<std::sync::Mutex<Vec<u8>>>);

impl StderrTail {
    pub(crate) fn text(&self) -> String {
        let bytes = self.0.lock().map(|b| b.clone()).unwrap_or_default();
        String::from_utf8_lossy(&bytes).trim().to_string()
    }

    fn push(&self, bytes: &[u8]) {
        if let Ok(mut tail) = self.0.lock() {
            tail.extend_from_slice(bytes);
            if tail.len() > STDERR_TAIL_BYTES {
                let cut = tail.len() - STDERR_TAIL_BYTES;
                tail.drain(..cut);
            }
        }
    }
}

impl wasmtime_wasi::cli::IsTerminal for StderrTail {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl wasmtime_wasi::cli::StdoutStream for StderrTail {
    fn async_stream(&self) -> Box<dyn tokio::io::AsyncWrite + Send + Sync> {
        Box::new(TailWriter(self.clone()))
    }
}

struct TailWriter(StderrTail);

impl tokio::io::AsyncWrite for TailWriter {
    fn poll_write(
        self: Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        self.0.push(buf);
        std::task::Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut std::task::Context<'_>) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut std::task::Context<'_>) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }
}

/// What every store of one plugin shares.
pub struct PluginShared {
    pub id: String,
    pub grant: EffectiveGrant,
    pub config_json: String,
    pub kv: Option<Arc<KvStore>>,
    pub scrubber: Scrubber,
    pub egress: Arc<EgressPolicy>,
    pub assets: Option<PathBuf>,
    pub sandbox: Option<Arc<dyn SandboxBackend>>,
}

impl std::fmt::Debug for PluginShared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PluginShared")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

/// The data of one store.
pub struct StoreState {
    wasi: WasiCtx,
    table: ResourceTable,
    http: WasiHttpCtx,
    hooks: EgressHooks,
    pub(crate) limiter: Limiter,
    pub(crate) stderr: StderrTail,
    pub(crate) plugin: Arc<PluginShared>,
    pub(crate) budget: Arc<Budget>,
    /// When the current invocation must end; checked at every epoch tick.
    pub(crate) deadline: Instant,
    pub(crate) call: Option<CallContext>,
    pub(crate) inbound: Option<mpsc::Sender<InboundMessage>>,
}

impl StoreState {
    pub(crate) fn new(
        plugin: Arc<PluginShared>,
        timeout: Duration,
        call: Option<CallContext>,
        inbound: Option<mpsc::Sender<InboundMessage>>,
    ) -> wasmtime::Result<Self> {
        let mut wasi = WasiCtxBuilder::new();
        let stderr = StderrTail::default();
        wasi.stderr(stderr.clone());
        if let Some(assets) = &plugin.assets {
            wasi.preopened_dir(assets, "/assets", wasmtime_wasi::FsPerms::ReadOnly)?;
        }
        let budget = Arc::new(Budget::new(plugin.grant.limits.host_calls));
        let limiter = Limiter {
            memory_bytes: plugin.grant.limits.memory_bytes as usize,
            memory_refused: false,
        };
        Ok(Self {
            wasi: wasi.build(),
            table: ResourceTable::new(),
            http: WasiHttpCtx::new(),
            hooks: EgressHooks::new(plugin.egress.clone(), budget.clone()),
            limiter,
            stderr,
            budget,
            deadline: Instant::now() + timeout,
            call,
            inbound,
            plugin,
        })
    }

    fn spend(&self) -> Result<(), HostError> {
        if self.budget.spend() {
            Ok(())
        } else {
            Err(HostError::LimitExceeded(self.budget.exhausted_message()))
        }
    }
}

impl WasiView for StoreState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl WasiHttpView for StoreState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            ctx: &mut self.http,
            table: &mut self.table,
            hooks: &mut self.hooks,
        }
    }
}

impl types::Host for StoreState {}
impl channel_types::Host for StoreState {}

fn cut(message: &str) -> &str {
    if message.len() <= MAX_LOG_LINE_BYTES {
        return message;
    }
    let mut end = MAX_LOG_LINE_BYTES;
    while !message.is_char_boundary(end) {
        end -= 1;
    }
    &message[..end]
}

impl log::Host for StoreState {
    async fn log(&mut self, level: log::Level, message: String) {
        if !self.budget.spend() {
            self.budget.drop_log();
            return;
        }
        let message = self.plugin.scrubber.scrub(cut(&message));
        let plugin = self.plugin.id.as_str();
        match level {
            log::Level::Trace => tracing::trace!(target: "openclaw::plugin", plugin, "{message}"),
            log::Level::Debug => tracing::debug!(target: "openclaw::plugin", plugin, "{message}"),
            log::Level::Info => tracing::info!(target: "openclaw::plugin", plugin, "{message}"),
            log::Level::Warn => tracing::warn!(target: "openclaw::plugin", plugin, "{message}"),
            log::Level::Error => tracing::error!(target: "openclaw::plugin", plugin, "{message}"),
        }
    }
}

impl clock::Host for StoreState {
    async fn now_ms(&mut self) -> u64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64)
    }

    async fn monotonic_ns(&mut self) -> u64 {
        crate::clock_origin().elapsed().as_nanos() as u64
    }
}

impl config::Host for StoreState {
    async fn get(&mut self) -> String {
        self.plugin.config_json.clone()
    }
}

fn kv_error(error: KvError) -> HostError {
    match error {
        KvError::Invalid(m) => HostError::Invalid(m),
        KvError::Quota(m) => HostError::LimitExceeded(m),
        KvError::Io(m) => HostError::Failed(m),
    }
}

impl StoreState {
    fn kv(&self) -> Result<Arc<KvStore>, HostError> {
        self.spend()?;
        self.plugin.kv.clone().ok_or_else(|| {
            HostError::Denied(format!(
                "plugin \"{}\" has no key-value storage: request kv-quota-bytes in its manifest",
                self.plugin.id
            ))
        })
    }
}

impl kv::Host for StoreState {
    async fn get(&mut self, key: String) -> Result<Option<Vec<u8>>, HostError> {
        self.kv()?.get(&key).await.map_err(kv_error)
    }

    async fn set(&mut self, key: String, value: Vec<u8>) -> Result<(), HostError> {
        self.kv()?.set(&key, value).await.map_err(kv_error)
    }

    async fn delete(&mut self, key: String) -> Result<bool, HostError> {
        self.kv()?.delete(&key).await.map_err(kv_error)
    }

    async fn list_keys(&mut self, prefix: String) -> Result<Vec<String>, HostError> {
        Ok(self.kv()?.list_keys(&prefix).await)
    }
}

impl sandbox::Host for StoreState {
    async fn exec(&mut self, request: sandbox::ExecRequest) -> Result<sandbox::ExecResult, HostError> {
        self.spend()?;
        if !self.plugin.grant.sandbox_exec {
            return Err(HostError::Denied(format!(
                "plugin \"{}\" is not granted sandbox exec (the manifest must request sandbox-exec and \
                 plugins.entries.{}.sandboxExec must be true)",
                self.plugin.id, self.plugin.id
            )));
        }
        let Some(backend) = self.plugin.sandbox.clone() else {
            return Err(HostError::NotAvailable(
                "this gateway has no sandbox backend configured, so commands cannot run".into(),
            ));
        };
        let mut result = backend
            .exec(&self.plugin.id, self.call.as_ref(), ExecRequest::from(request))
            .await?;
        result.stdout = self.plugin.scrubber.scrub_bytes(&result.stdout).into_owned();
        result.stderr = self.plugin.scrubber.scrub_bytes(&result.stderr).into_owned();
        Ok(result.into())
    }
}

impl inbound::Host for StoreState {
    async fn deliver(&mut self, message: channel_types::InboundMessage) -> Result<(), HostError> {
        self.spend()?;
        let Some(sink) = &self.inbound else {
            return Err(HostError::Denied(
                "only channel plugins deliver inbound messages".into(),
            ));
        };
        let mut message = InboundMessage::from(message);
        message.text = self.plugin.scrubber.scrub_string(message.text);
        message.extra = message.extra.map(|e| self.plugin.scrubber.scrub_string(e));
        sink.try_send(message).map_err(|e| match e {
            mpsc::error::TrySendError::Full(_) => {
                HostError::LimitExceeded("the gateway's inbound queue for this channel is full; retry later".into())
            }
            mpsc::error::TrySendError::Closed(_) => HostError::Failed("the gateway is not accepting messages".into()),
        })
    }
}

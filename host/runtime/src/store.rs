//! What a store holds for one plugin instance, and the host side of every import.
//!
//! The WASI context is built from the grant and nothing else: no environment, no arguments, no
//! stdio, no sockets (every address is refused), no name lookups, and the only directory is the
//! plugin's own `assets/` folder, read-only, at `/assets` (when the package has one). That folder
//! was opened once when the plugin loaded, without following links, and every store reaches it
//! through that handle: swapping it for a symlink afterwards changes nothing.
//!
//! Everything a store holds on the guest's behalf is charged to its memory grant (see
//! [`crate::account`]); every byte an import copies out of guest memory counts against the
//! call's copy budget (see [`crate::budget`]).

use std::future::Future;
use std::os::fd::{AsRawFd, OwnedFd};
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use wasmtime::ResourceLimiter;
use wasmtime::component::ResourceTable;
use wasmtime_wasi::{WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

use openclaw_core::plugins::grants::EffectiveGrant;
use openclaw_core::security::text::neutralize_controls;

use crate::account::{self, ENTRY_BYTES, MemoryAccount, TABLE_ELEMENT_BYTES};
use crate::bindings::HostError;
use crate::bindings::channel::openclaw::plugin::{channel_types, inbound};
use crate::bindings::tool::openclaw::plugin::{clock, config, http, kv, log, sandbox, types};
use crate::budget::{Admission, Budget, CopyLimitExceeded, RateWindow};
use crate::egress::{EgressHooks, EgressPolicy};
use crate::inbound::{InboundSender, Refused};
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

/// Bytes of the guest's standard error kept for error messages (the tail, since a panic message
/// comes last).
const STDERR_TAIL_BYTES: usize = 4096;

/// Log lines one plugin may write per [`LOG_WINDOW`]; the rest are counted and reported once.
pub const LOG_LINES_PER_WINDOW: u64 = 200;
pub const LOG_WINDOW: Duration = Duration::from_secs(10);

/// Enforces the memory grant over the sum of every linear memory and table of the instance (and
/// what the host holds for it, through the shared account), and remembers that it refused, so
/// an out-of-memory abort can be told apart from a panic.
#[derive(Debug)]
pub(crate) struct Limiter {
    account: Arc<MemoryAccount>,
    pub(crate) memory_refused: bool,
}

impl ResourceLimiter for Limiter {
    fn memory_growing(&mut self, current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        let grow = desired.saturating_sub(current) as u64;
        if !self.account.try_charge(grow) {
            self.memory_refused = true;
            return Ok(false);
        }
        Ok(true)
    }

    fn table_growing(&mut self, current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        let grow = (desired.saturating_sub(current) as u64).saturating_mul(TABLE_ELEMENT_BYTES);
        if !self.account.try_charge(grow) {
            self.memory_refused = true;
            return Ok(false);
        }
        Ok(true)
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
    /// The plugin's `assets/` directory, opened once at load without following links.
    pub assets: Option<OwnedFd>,
    pub sandbox: Option<Arc<dyn SandboxBackend>>,
    /// The plugin's log lines, across all its stores.
    pub log_rate: RateWindow,
}

impl std::fmt::Debug for PluginShared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PluginShared")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

impl PluginShared {
    /// Reports log lines the rate limit turned away and nobody reported yet.
    pub(crate) fn report_suppressed_logs(&self) {
        let suppressed = self.log_rate.take_suppressed();
        if suppressed > 0 {
            self.log_suppressed(suppressed);
        }
    }

    fn log_suppressed(&self, count: u64) {
        tracing::warn!(
            target: "openclaw::plugin",
            plugin = %self.id,
            suppressed = count,
            "{count} log lines suppressed (the plugin wrote more than {} in {} s)",
            self.log_rate.limit(),
            self.log_rate.window().as_secs()
        );
    }
}

/// What a channel may still deliver in the current window.
#[derive(Debug, Default)]
pub(crate) struct DeliveryWindow {
    pub(crate) messages: u64,
    pub(crate) bytes: u64,
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
    pub(crate) inbound: Option<InboundSender>,
    pub(crate) deliveries: DeliveryWindow,
}

impl StoreState {
    pub(crate) fn new(
        plugin: Arc<PluginShared>,
        timeout: Duration,
        call: Option<CallContext>,
        inbound: Option<InboundSender>,
    ) -> wasmtime::Result<Self> {
        let mut wasi = WasiCtxBuilder::new();
        let stderr = StderrTail::default();
        wasi.stderr(stderr.clone());
        if let Some(assets) = &plugin.assets {
            // The handle, not the path: a directory swapped in since load is never reached.
            wasi.preopened_dir(
                format!("/proc/self/fd/{}", assets.as_raw_fd()),
                "/assets",
                wasmtime_wasi::FsPerms::ReadOnly,
            )?;
        }
        let memory_bytes = plugin.grant.limits.memory_bytes;
        let budget = Arc::new(Budget::new(
            plugin.grant.limits.host_calls,
            Budget::copy_limit_for(memory_bytes),
        ));
        let account = MemoryAccount::new(memory_bytes);
        let entries = account::table_entries(memory_bytes);
        account.force_charge(entries * ENTRY_BYTES);
        let mut table = ResourceTable::new();
        table.set_max_capacity(entries as usize);
        let mut http = WasiHttpCtx::new();
        http.set_field_size_limit(account::FIELD_BYTES);
        let limiter = Limiter {
            account: account.clone(),
            memory_refused: false,
        };
        Ok(Self {
            wasi: wasi.build(),
            table,
            http,
            hooks: EgressHooks::new(plugin.egress.clone(), budget.clone(), account.clone()),
            limiter,
            stderr,
            budget,
            deadline: Instant::now() + timeout,
            call,
            inbound,
            deliveries: DeliveryWindow::default(),
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

    /// Counts bytes an import copied out of guest memory; past the budget the call is stopped.
    fn copied(&self, bytes: usize) -> wasmtime::Result<()> {
        self.budget.copy(bytes).map_err(wasmtime::Error::new)
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
    async fn log(&mut self, level: log::Level, message: String) -> wasmtime::Result<()> {
        self.copied(message.len())?;
        if !self.budget.spend() {
            self.budget.drop_log();
            return Ok(());
        }
        match self.plugin.log_rate.admit(Instant::now()) {
            Admission::Suppress => return Ok(()),
            Admission::AdmitAfterSuppressed(count) => self.plugin.log_suppressed(count),
            Admission::Admit => {}
        }
        let message = self.plugin.scrubber.scrub(cut(&message)).into_owned();
        let message = neutralize_controls(&message);
        let plugin = self.plugin.id.as_str();
        match level {
            log::Level::Trace => tracing::trace!(target: "openclaw::plugin", plugin, "{message}"),
            log::Level::Debug => tracing::debug!(target: "openclaw::plugin", plugin, "{message}"),
            log::Level::Info => tracing::info!(target: "openclaw::plugin", plugin, "{message}"),
            log::Level::Warn => tracing::warn!(target: "openclaw::plugin", plugin, "{message}"),
            log::Level::Error => tracing::error!(target: "openclaw::plugin", plugin, "{message}"),
        }
        Ok(())
    }
}

impl clock::Host for StoreState {
    async fn now_ms(&mut self) -> wasmtime::Result<u64> {
        Ok(std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64))
    }

    async fn monotonic_ns(&mut self) -> wasmtime::Result<u64> {
        Ok(crate::clock_origin().elapsed().as_nanos() as u64)
    }
}

impl config::Host for StoreState {
    async fn get(&mut self) -> wasmtime::Result<String> {
        Ok(self.plugin.config_json.clone())
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
    async fn get(&mut self, key: String) -> wasmtime::Result<Result<Option<Vec<u8>>, HostError>> {
        self.copied(key.len())?;
        let store = match self.kv() {
            Ok(store) => store,
            Err(e) => return Ok(Err(e)),
        };
        Ok(store.get(&key).await.map_err(kv_error))
    }

    async fn set(&mut self, key: String, value: Vec<u8>) -> wasmtime::Result<Result<(), HostError>> {
        self.copied(key.len() + value.len())?;
        let store = match self.kv() {
            Ok(store) => store,
            Err(e) => return Ok(Err(e)),
        };
        Ok(store.set(&key, value).await.map_err(kv_error))
    }

    async fn delete(&mut self, key: String) -> wasmtime::Result<Result<bool, HostError>> {
        self.copied(key.len())?;
        let store = match self.kv() {
            Ok(store) => store,
            Err(e) => return Ok(Err(e)),
        };
        Ok(store.delete(&key).await.map_err(kv_error))
    }

    async fn list_keys(&mut self, prefix: String) -> wasmtime::Result<Result<Vec<String>, HostError>> {
        self.copied(prefix.len())?;
        let store = match self.kv() {
            Ok(store) => store,
            Err(e) => return Ok(Err(e)),
        };
        Ok(Ok(store.list_keys(&prefix).await))
    }
}

impl http::Host for StoreState {
    async fn fetch(&mut self, request: http::Request) -> wasmtime::Result<Result<http::Response, HostError>> {
        self.copied(
            request.url.len()
                + request.method.len()
                + request.body.len()
                + request.headers.iter().map(|(k, v)| k.len() + v.len()).sum::<usize>(),
        )?;
        if !self.budget.spend() {
            return Ok(Err(HostError::LimitExceeded(self.budget.exhausted_message())));
        }
        let request = crate::egress::FetchRequest {
            method: request.method,
            url: request.url,
            headers: request.headers,
            body: request.body,
            timeout_ms: request.timeout_ms,
        };
        let policy = self.plugin.egress.clone();
        Ok(match crate::egress::fetch(&policy, request).await {
            Ok((status, headers, body)) => Ok(http::Response { status, headers, body }),
            Err(crate::egress::FetchError::Denied(m)) => Err(HostError::Denied(m)),
            Err(crate::egress::FetchError::Invalid(m)) => Err(HostError::Invalid(m)),
            Err(crate::egress::FetchError::LimitExceeded(m)) => Err(HostError::LimitExceeded(m)),
            Err(crate::egress::FetchError::Failed(m)) => Err(HostError::Failed(m)),
        })
    }
}

fn exec_request_bytes(request: &sandbox::ExecRequest) -> usize {
    request.argv.iter().map(String::len).sum::<usize>()
        + request.stdin.as_ref().map_or(0, Vec::len)
        + request.env.iter().map(|(k, v)| k.len() + v.len()).sum::<usize>()
        + request.workdir.as_ref().map_or(0, String::len)
}

impl sandbox::Host for StoreState {
    async fn exec(
        &mut self,
        request: sandbox::ExecRequest,
    ) -> wasmtime::Result<Result<sandbox::ExecResult, HostError>> {
        self.copied(exec_request_bytes(&request))?;
        Ok(self.exec_checked(request).await)
    }
}

impl StoreState {
    async fn exec_checked(&mut self, request: sandbox::ExecRequest) -> Result<sandbox::ExecResult, HostError> {
        self.spend()?;
        if !self.plugin.grant.sandbox_exec {
            return Err(HostError::Denied(format!(
                "plugin \"{}\" is not granted sandbox exec (the manifest must request sandbox-exec and \
                 plugins.entries.{}.sandboxExec must be true)",
                self.plugin.id, self.plugin.id
            )));
        }
        if !self.call.as_ref().is_some_and(|c| c.sandbox_exec) {
            let agent = self.call.as_ref().map(|c| c.agent_id.as_str()).unwrap_or_default();
            return Err(HostError::Denied(format!(
                "the tool policy does not allow `exec` for agent \"{agent}\" in this session, so plugin \"{}\" may not run sandbox commands for it",
                self.plugin.id
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

    fn deliver_checked(&mut self, message: InboundMessage) -> Result<(), HostError> {
        self.spend()?;
        let Some(sink) = &self.inbound else {
            return Err(HostError::Denied(
                "only channel plugins deliver inbound messages".into(),
            ));
        };
        let size = message.size() as u64;
        // Per `crate::budget::CHANNEL_WINDOW` (a minute), as the grant says.
        let limits = &self.plugin.grant.limits;
        if self.deliveries.messages >= limits.deliveries_per_minute
            || self.deliveries.bytes.saturating_add(size) > limits.delivered_bytes_per_minute
        {
            return Err(HostError::LimitExceeded(format!(
                "this channel delivered {} messages ({} bytes) in the last minute; at most {} messages and {} bytes \
                 per minute are accepted (plugins.entries.{}.limits.deliveriesPerMinute and \
                 deliveredBytesPerMinute raise them)",
                self.deliveries.messages,
                self.deliveries.bytes,
                limits.deliveries_per_minute,
                limits.delivered_bytes_per_minute,
                self.plugin.id
            )));
        }
        let mut message = message;
        message.text = self.plugin.scrubber.scrub_string(message.text);
        message.extra = message.extra.map(|e| self.plugin.scrubber.scrub_string(e));
        sink.try_send(message).map_err(|refused| match refused {
            Refused::TooLarge { .. } => HostError::LimitExceeded(refused.to_string()),
            Refused::Full { .. } => HostError::LimitExceeded(refused.to_string()),
            Refused::Closed => HostError::Failed(refused.to_string()),
        })?;
        self.deliveries.messages += 1;
        self.deliveries.bytes += size;
        Ok(())
    }
}

impl inbound::Host for StoreState {
    async fn deliver(&mut self, message: channel_types::InboundMessage) -> wasmtime::Result<Result<(), HostError>> {
        let message = InboundMessage::from(message);
        self.copied(message.size())?;
        Ok(self.deliver_checked(message))
    }
}

/// Whether a wasmtime error is the copy budget stopping a call.
pub(crate) fn copy_limit(error: &wasmtime::Error) -> Option<CopyLimitExceeded> {
    error.downcast_ref::<CopyLimitExceeded>().copied()
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasmtime::ResourceLimiter;

    #[test]
    fn the_grant_covers_every_memory_and_table_together() {
        const MIB: usize = 1 << 20;
        let mut limiter = Limiter {
            account: MemoryAccount::new(10 << 20),
            memory_refused: false,
        };
        assert!(limiter.memory_growing(0, 6 * MIB, None).unwrap());
        assert!(
            !limiter.memory_growing(0, 6 * MIB, None).unwrap(),
            "a second memory cannot have the whole grant again"
        );
        assert!(limiter.memory_refused);
        assert!(limiter.memory_growing(0, 3 * MIB, None).unwrap());
        // Tables count too: a million elements do not fit in the last MiB.
        assert!(!limiter.table_growing(0, 1_000_000, None).unwrap());
        assert!(limiter.table_growing(0, 1_000, None).unwrap());
        // Growing an existing memory charges only the difference.
        assert!(limiter.memory_growing(6 * MIB, 6 * MIB + 512 * 1024, None).unwrap());
    }
}

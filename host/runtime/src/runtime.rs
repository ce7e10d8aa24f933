//! The runtime: one engine, one linker per world (built once), one `InstancePre` per plugin and
//! a fresh store for every tool call.

use std::collections::BTreeMap;
use std::fs;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use secrecy::SecretString;
use wasmtime::component::{HasSelf, Linker};
use wasmtime::{Store, Trap, UpdateDeadline};

use openclaw_core::plugins::grants::EffectiveGrant;
use openclaw_core::plugins::manifest::{Manifest, PluginKind};
use openclaw_state::ids::sha256_hex;

use crate::bindings::channel::{ChannelPlugin, ChannelPluginPre};
use crate::bindings::tool::exports::openclaw::plugin::tool::ToolError;
use crate::bindings::tool::{ToolPlugin, ToolPluginPre};
use crate::budget::RateWindow;
use crate::cache::{CacheDir, CacheOutcome, CompileCache};
use crate::egress::{DENIAL_WINDOW, DENIALS_PER_WINDOW, EgressPolicy, Resolve, SystemResolver, default_tls};
use crate::engine::{EngineOptions, WasmEngine};
use crate::error::{CallError, LoadError};
use crate::kv::KvStore;
use crate::secrets::{BoundSecret, LiveBook, PreparedBook, SecretBook};
use crate::store::{LOG_LINES_PER_WINDOW, LOG_WINDOW, PluginShared, SandboxBackend, StoreState, copy_limit};
use crate::types::{CallContext, ToolSpec};

/// How the runtime is set up.
pub struct RuntimeOptions {
    /// Where compiled components are cached (`None`: no cache). Must be private to this user.
    pub cache_dir: Option<PathBuf>,
    /// Where plugins' key-value stores live (`<dir>/<plugin id>/kv`).
    pub data_dir: PathBuf,
    pub engine: EngineOptions,
    pub resolver: Arc<dyn Resolve>,
    pub sandbox: Option<Arc<dyn SandboxBackend>>,
    /// Extra time past a plugin's deadline before the host abandons a call stuck in a host
    /// import (the epoch deadline stops guest code itself at the deadline).
    pub grace: Duration,
}

impl RuntimeOptions {
    /// Where plugins' key-value stores live under an OpenClaw state directory: `plugins/data`.
    pub fn data_dir_under(state_dir: &Path) -> PathBuf {
        state_dir.join("plugins").join("data")
    }

    /// The layout under an OpenClaw state directory: `plugins/cache` and `plugins/data`.
    pub fn under_state_dir(state_dir: &Path) -> Self {
        Self {
            cache_dir: Some(CacheDir::under_state_dir(state_dir).path().to_path_buf()),
            data_dir: Self::data_dir_under(state_dir),
            engine: EngineOptions::default(),
            resolver: Arc::new(SystemResolver),
            sandbox: None,
            grace: Duration::from_millis(250),
        }
    }
}

/// A plugin as found on disk.
#[derive(Debug, Clone)]
pub struct PluginSource {
    /// The directory holding `openclaw-plugin.toml` and the component.
    pub dir: PathBuf,
    pub manifest: Manifest,
    /// The digest recorded at install time (`plugins.installs.<id>.sha256`), checked at every load.
    pub pinned_sha256: Option<String>,
}

impl PluginSource {
    pub fn component_path(&self) -> PathBuf {
        self.dir.join(&self.manifest.component.file)
    }
}

enum Prepared {
    Tool(ToolPluginPre<StoreState>),
    Channel(ChannelPluginPre<StoreState>),
}

/// A plugin ready to run.
pub struct LoadedPlugin {
    pub manifest: Manifest,
    pub sha256: String,
    pub tools: Vec<ToolSpec>,
    pub cache: CacheOutcome,
    pub load_time: Duration,
    pub(crate) shared: Arc<PluginShared>,
    prepared: Prepared,
    grace: Duration,
}

impl std::fmt::Debug for LoadedPlugin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoadedPlugin")
            .field("id", &self.manifest.id)
            .field("sha256", &self.sha256)
            .field("tools", &self.tools.iter().map(|t| &t.name).collect::<Vec<_>>())
            .field("cache", &self.cache)
            .finish_non_exhaustive()
    }
}

impl LoadedPlugin {
    pub fn id(&self) -> &str {
        &self.manifest.id
    }

    pub fn grant(&self) -> &EffectiveGrant {
        &self.shared.grant
    }

    pub fn kind(&self) -> PluginKind {
        self.manifest.kind
    }

    fn timeout(&self) -> Duration {
        Duration::from_millis(self.shared.grant.limits.timeout_ms)
    }
}

/// The plugin runtime of the gateway.
pub struct Runtime {
    engine: WasmEngine,
    tool_linker: Linker<StoreState>,
    channel_linker: Linker<StoreState>,
    cache: CompileCache,
    options: RuntimeOptions,
    tls: Arc<rustls::ClientConfig>,
}

fn linker_for(engine: &wasmtime::Engine, kind: PluginKind) -> wasmtime::Result<Linker<StoreState>> {
    let mut linker = Linker::new(engine);
    // Standard WASI: every interface is linked so ordinary Rust guests instantiate, but the
    // context behind them grants nothing (see store.rs).
    wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
    wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker)?;
    match kind {
        PluginKind::Tool => ToolPlugin::add_to_linker::<_, HasSelf<StoreState>>(&mut linker, |s| s)?,
        PluginKind::Channel => ChannelPlugin::add_to_linker::<_, HasSelf<StoreState>>(&mut linker, |s| s)?,
    }
    Ok(linker)
}

fn valid_tool_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
}

/// Most tools one plugin may offer.
pub const MAX_TOOLS: usize = 256;

fn check_tool_specs(specs: &[ToolSpec]) -> Result<(), String> {
    if specs.is_empty() {
        return Err("the plugin lists no tools".into());
    }
    if specs.len() > MAX_TOOLS {
        return Err(format!(
            "the plugin lists {} tools; at most {MAX_TOOLS} are accepted",
            specs.len()
        ));
    }
    let mut seen = std::collections::BTreeSet::new();
    for spec in specs {
        if !valid_tool_name(&spec.name) {
            return Err(format!(
                "tool name {:?} must be 1-64 characters of a-z, 0-9, _ and -",
                spec.name
            ));
        }
        if !seen.insert(spec.name.as_str()) {
            return Err(format!("tool \"{}\" is listed twice", spec.name));
        }
        match serde_json::from_str::<serde_json::Value>(&spec.parameters) {
            Ok(serde_json::Value::Object(_)) => {}
            Ok(_) => return Err(format!("parameters of \"{}\" must be a JSON Schema object", spec.name)),
            Err(e) => return Err(format!("parameters of \"{}\" are not JSON: {e}", spec.name)),
        }
    }
    Ok(())
}

/// Reads the component, refusing symlinks (a package must not point outside itself).
fn read_component(plugin: &str, path: &Path) -> Result<Vec<u8>, LoadError> {
    let io = |action: &'static str, e: std::io::Error| LoadError::Io {
        plugin: plugin.to_string(),
        action,
        path: path.to_path_buf(),
        message: e.to_string(),
    };
    let meta = fs::symlink_metadata(path).map_err(|e| io("reading", e))?;
    if !meta.file_type().is_file() {
        return Err(LoadError::Io {
            plugin: plugin.to_string(),
            action: "reading",
            path: path.to_path_buf(),
            message: "not a regular file (symlinks are not followed)".into(),
        });
    }
    fs::read(path).map_err(|e| io("reading", e))
}

/// Opens the plugin's `assets/` directory once, refusing symlinks, and keeps the handle: every
/// store reaches the directory through it, so replacing `assets` (or the plugin directory) with
/// a link after load exposes nothing. `None` when the plugin has no assets.
fn open_assets(plugin: &str, dir: &Path) -> Result<Option<OwnedFd>, LoadError> {
    use rustix::fs::{CWD, Mode, OFlags, openat};
    let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    let io = |path: PathBuf, e: rustix::io::Errno| LoadError::Io {
        plugin: plugin.to_string(),
        action: "opening",
        path,
        message: format!("{e} (the plugin directory and its assets/ must be real directories, not symlinks)"),
    };
    let plugin_dir = openat(CWD, dir, flags, Mode::empty()).map_err(|e| io(dir.to_path_buf(), e))?;
    match openat(&plugin_dir, "assets", flags, Mode::empty()) {
        Ok(assets) => Ok(Some(assets)),
        Err(rustix::io::Errno::NOENT) => Ok(None),
        Err(e) => Err(io(dir.join("assets"), e)),
    }
}

impl Runtime {
    pub fn new(options: RuntimeOptions) -> Result<Self, String> {
        let engine =
            WasmEngine::new(&options.engine).map_err(|e| format!("cannot start the WebAssembly engine: {e}"))?;
        let tool_linker = linker_for(engine.engine(), PluginKind::Tool).map_err(|e| format!("linker: {e}"))?;
        let channel_linker = linker_for(engine.engine(), PluginKind::Channel).map_err(|e| format!("linker: {e}"))?;
        let cache = CompileCache::new(options.cache_dir.clone(), engine.fingerprint());
        let tls = default_tls().map_err(|e| format!("TLS configuration: {e}"))?;
        Ok(Self {
            engine,
            tool_linker,
            channel_linker,
            cache,
            options,
            tls,
        })
    }

    pub fn engine(&self) -> &WasmEngine {
        &self.engine
    }

    pub fn cache(&self) -> &CompileCache {
        &self.cache
    }

    /// Verifies, compiles (or loads from cache) and prepares a plugin under `grant`. `secrets`
    /// holds the values of the secrets the grant names; nothing else is read.
    pub async fn load(
        &self,
        source: &PluginSource,
        grant: EffectiveGrant,
        secrets: BTreeMap<String, SecretString>,
    ) -> Result<Arc<LoadedPlugin>, LoadError> {
        let started = Instant::now();
        let manifest = &source.manifest;
        let id = manifest.id.clone();
        let path = source.component_path();
        let pins = [
            (source.pinned_sha256.as_deref(), "install record (plugins.installs)"),
            (manifest.component.sha256.as_deref(), "manifest"),
        ];
        let check = |actual: &str| -> Result<(), LoadError> {
            for (expected, pinned_by) in pins {
                if let Some(expected) = expected
                    && !expected.eq_ignore_ascii_case(actual)
                {
                    return Err(LoadError::DigestMismatch {
                        plugin: id.clone(),
                        path: path.clone(),
                        expected: expected.to_string(),
                        actual: actual.to_string(),
                        pinned_by,
                    });
                }
            }
            Ok(())
        };
        // A pinned component that was hashed before and has not changed since is not hashed
        // again (see CompileCache::verified); anything else is read and hashed now.
        let expected = pins.iter().find_map(|(e, _)| *e).map(str::to_ascii_lowercase);
        let memo_hit = expected
            .as_deref()
            .is_some_and(|e| check(e).is_ok() && self.cache.verified(&path, e));
        let (sha256, mut bytes) = match expected.clone().filter(|_| memo_hit) {
            Some(digest) => (digest, None),
            None => {
                let bytes = read_component(&id, &path)?;
                let sha256 = sha256_hex(&bytes);
                check(&sha256)?;
                if expected.is_some() {
                    self.cache.remember_verified(&path, &sha256);
                }
                (sha256, Some(bytes))
            }
        };

        let engine = self.engine.engine().clone();
        let cache = self.cache.clone();
        let digest = sha256.clone();
        let (reader_id, reader_path) = (id.clone(), path.clone());
        let read = move || -> Result<Vec<u8>, String> {
            if let Some(bytes) = bytes.take() {
                return Ok(bytes);
            }
            // Not cached after all: read it, and make sure it is still what was verified.
            let bytes = read_component(&reader_id, &reader_path).map_err(|e| e.to_string())?;
            let actual = sha256_hex(&bytes);
            if actual != digest {
                return Err(format!(
                    "{} changed while loading (sha256 {actual})",
                    reader_path.display()
                ));
            }
            Ok(bytes)
        };
        let digest = sha256.clone();
        let (component, outcome) = tokio::task::spawn_blocking(move || cache.load(&engine, &digest, read))
            .await
            .map_err(|e| LoadError::Guest {
                plugin: id.clone(),
                message: format!("compilation was interrupted: {e}"),
            })?
            .map_err(|e| match e {
                crate::cache::CacheError::Read(message) => LoadError::Io {
                    plugin: id.clone(),
                    action: "reading",
                    path: path.clone(),
                    message,
                },
                crate::cache::CacheError::Compile(e) => LoadError::Compile {
                    plugin: id.clone(),
                    path: path.clone(),
                    message: e.to_string(),
                },
            })?;

        let linker = match manifest.kind {
            PluginKind::Tool => &self.tool_linker,
            PluginKind::Channel => &self.channel_linker,
        };
        let instance_pre = linker.instantiate_pre(&component).map_err(|e| LoadError::Link {
            plugin: id.clone(),
            message: format!(
                "{e:#}. The component imports something this gateway does not provide to {} plugins: \
                 build it against openclaw:plugin@{} with openclaw-plugin-sdk",
                manifest.kind.as_str(),
                openclaw_core::plugins::manifest::HOST_API_VERSION
            ),
        })?;
        let wrong_kind = |e: wasmtime::Error| LoadError::WrongKind {
            plugin: id.clone(),
            declared: manifest.kind.as_str(),
            message: e.to_string(),
        };
        let prepared = match manifest.kind {
            PluginKind::Tool => Prepared::Tool(ToolPluginPre::new(instance_pre).map_err(wrong_kind)?),
            PluginKind::Channel => Prepared::Channel(ChannelPluginPre::new(instance_pre).map_err(wrong_kind)?),
        };

        let (book, unbound) = book_for(&grant, &secrets);
        for name in unbound {
            if grant.webhook_secret.as_deref() == Some(name.as_str()) {
                tracing::warn!(target: "openclaw::plugins", plugin = %id, "the webhook secret {name} has no value; webhook requests will be refused");
            } else {
                tracing::warn!(target: "openclaw::plugins", plugin = %id, "secret {name} is granted but has no value; its placeholder will be refused");
            }
        }
        let scrubber = book.scrubber();
        let egress = Arc::new(EgressPolicy {
            denials: RateWindow::new(DENIALS_PER_WINDOW, DENIAL_WINDOW),
            pool: Default::default(),
            plugin_id: id.clone(),
            hosts: grant.http.clone(),
            private_networks: grant.private_networks.clone(),
            secrets: LiveBook::new(book),
            scrubber: scrubber.clone(),
            response_cap: grant.limits.http_response_bytes,
            timeout: Duration::from_millis(grant.limits.http_timeout_ms),
            resolver: self.options.resolver.clone(),
            tls: self.tls.clone(),
        });
        let kv = if grant.kv_quota_bytes > 0 {
            let dir = self.options.data_dir.join(&id).join("kv");
            if let Some(parent) = dir.parent() {
                openclaw_state::ensure_private_dir(&self.options.data_dir)
                    .and_then(|()| openclaw_state::ensure_private_dir(parent))
                    .map_err(|e| LoadError::Io {
                        plugin: id.clone(),
                        action: "creating",
                        path: parent.to_path_buf(),
                        message: e.to_string(),
                    })?;
            }
            Some(Arc::new(KvStore::open(&dir, grant.kv_quota_bytes).map_err(|e| {
                LoadError::Io {
                    plugin: id.clone(),
                    action: "opening key-value store",
                    path: dir.clone(),
                    message: e.to_string(),
                }
            })?))
        } else {
            None
        };
        let config_json = grant.config.to_string();
        let shared = Arc::new(PluginShared {
            id: id.clone(),
            grant,
            config_json,
            kv,
            scrubber,
            egress,
            assets: open_assets(&id, &source.dir)?,
            sandbox: self.options.sandbox.clone(),
            log_rate: RateWindow::new(LOG_LINES_PER_WINDOW, LOG_WINDOW),
        });

        let mut plugin = LoadedPlugin {
            manifest: manifest.clone(),
            sha256,
            tools: Vec::new(),
            cache: outcome,
            load_time: Duration::ZERO,
            shared,
            prepared,
            grace: self.options.grace,
        };
        if let Prepared::Tool(pre) = &plugin.prepared {
            let context = CallContext {
                agent_id: String::new(),
                session_key: String::new(),
                channel: None,
                call_id: "list-tools".into(),
                sandbox_exec: false,
            };
            let mut store = new_store(&plugin, pre.engine(), Some(context))?;
            let pre = pre.clone();
            let timeout = plugin.timeout() + plugin.grace;
            let specs = tokio::time::timeout(timeout, async {
                let instance = pre.instantiate_async(&mut store).await?;
                instance.openclaw_plugin_tool().call_list_tools(&mut store).await
            })
            .await;
            let specs = match specs {
                Err(_) => Err(CallError::Timeout {
                    plugin: id.clone(),
                    limit_ms: plugin.shared.grant.limits.timeout_ms,
                }),
                Ok(Err(e)) => Err(classify(&plugin, e, store.data())),
                Ok(Ok(specs)) => Ok(specs.into_iter().map(ToolSpec::from).collect::<Vec<_>>()),
            }
            .map_err(|e| LoadError::Guest {
                plugin: id.clone(),
                message: format!("listing its tools failed: {e}"),
            })?;
            check_tool_specs(&specs).map_err(|message| LoadError::ToolSpecs {
                plugin: id.clone(),
                message,
            })?;
            plugin.tools = specs;
        }
        plugin.load_time = started.elapsed();
        Ok(Arc::new(plugin))
    }

    /// Calls tool `tool` of `plugin` with `args` (a JSON object) in a fresh store.
    pub async fn call_tool(
        &self,
        plugin: &LoadedPlugin,
        tool: &str,
        args: &str,
        context: &CallContext,
    ) -> Result<String, CallError> {
        call_tool(plugin, tool, args, context).await
    }
}

/// A store for one invocation of `plugin`, with its limits and deadline armed.
pub(crate) fn new_store(
    plugin: &LoadedPlugin,
    engine: &wasmtime::Engine,
    call: Option<CallContext>,
) -> Result<Store<StoreState>, LoadError> {
    new_store_with(plugin.shared.clone(), plugin.timeout(), engine, call, None).map_err(|e| LoadError::Guest {
        plugin: plugin.id().to_string(),
        message: e.to_string(),
    })
}

pub(crate) fn new_store_with(
    shared: Arc<PluginShared>,
    timeout: Duration,
    engine: &wasmtime::Engine,
    call: Option<CallContext>,
    inbound: Option<crate::inbound::InboundSender>,
) -> wasmtime::Result<Store<StoreState>> {
    let state = StoreState::new(shared, timeout, call, inbound)?;
    let mut store = Store::new(engine, state);
    store.limiter(|s| &mut s.limiter);
    arm_deadline(&mut store);
    Ok(store)
}

/// Checks the deadline at every epoch tick; until then the guest yields to other tasks once per
/// tick, so a spinning plugin cannot monopolise a runtime thread.
pub(crate) fn arm_deadline(store: &mut Store<StoreState>) {
    store.set_epoch_deadline(1);
    store.epoch_deadline_callback(|context| {
        if Instant::now() >= context.data().deadline {
            Ok(UpdateDeadline::Interrupt)
        } else {
            Ok(UpdateDeadline::Yield(1))
        }
    });
}

/// Turns a trap or host failure into what the caller is told.
pub(crate) fn classify(plugin: &LoadedPlugin, error: wasmtime::Error, state: &StoreState) -> CallError {
    classify_parts(&plugin.shared, error, state)
}

/// Whether the guest was stopped because its store's resource table was full.
fn table_full(error: &wasmtime::Error) -> bool {
    error.chain().any(|cause| {
        cause
            .downcast_ref::<wasmtime::component::ResourceTableError>()
            .is_some_and(|e| matches!(e, wasmtime::component::ResourceTableError::Full))
    })
}

/// Whether the guest was stopped for putting more into one set of HTTP header fields than the
/// host allows (`wasi:http` traps rather than refusing).
fn header_fields_full(error: &wasmtime::Error) -> bool {
    use wasmtime_wasi_http::FieldMapError;
    error.chain().any(|cause| {
        cause
            .downcast_ref::<FieldMapError>()
            .is_some_and(|e| matches!(e, FieldMapError::TotalSizeTooBig | FieldMapError::TooManyFields))
    })
}

pub(crate) fn classify_parts(shared: &PluginShared, error: wasmtime::Error, state: &StoreState) -> CallError {
    let id = shared.id.clone();
    let stderr = shared.scrubber.scrub_string(state.stderr.text());
    let detail = if stderr.is_empty() {
        String::new()
    } else {
        format!("; its stderr ended with: {stderr}")
    };
    if let Some(exceeded) = copy_limit(&error) {
        return CallError::CopyLimit {
            plugin: id,
            limit_mb: exceeded.limit_bytes >> 20,
        };
    }
    if table_full(&error) {
        return CallError::ResourceLimit {
            plugin: id,
            entries: crate::account::table_entries(shared.grant.limits.memory_bytes),
            detail,
        };
    }
    if header_fields_full(&error) {
        return CallError::HeaderLimit {
            plugin: id,
            limit_kib: (crate::account::FIELD_BYTES >> 10) as u64,
            detail,
        };
    }
    if let Some(exit) = error.downcast_ref::<wasmtime_wasi::I32Exit>() {
        return CallError::Exited {
            plugin: id,
            status: exit.0,
            detail,
        };
    }
    let trap = error.downcast_ref::<Trap>().copied();
    if trap == Some(Trap::Interrupt) {
        return CallError::Timeout {
            plugin: id,
            limit_ms: shared.grant.limits.timeout_ms,
        };
    }
    if state.limiter.memory_refused {
        return CallError::OutOfMemory {
            plugin: id,
            limit_mb: shared.grant.limits.memory_bytes >> 20,
            detail,
        };
    }
    let trap = match trap {
        Some(Trap::UnreachableCodeReached) => "it panicked or aborted: wasm `unreachable`".to_string(),
        Some(Trap::MemoryOutOfBounds) => "it accessed memory out of bounds (in a Rust guest this is usually a stack \
             overflow: its stack lives at the bottom of its linear memory, below its data; deep or endless recursion)"
            .to_string(),
        Some(Trap::StackOverflow) => format!(
            "it overflowed its stack (deep or endless recursion; the stack is {} KiB)",
            crate::engine::MAX_WASM_STACK >> 10
        ),
        Some(other) => format!("wasm trap: {other}"),
        None => shared.scrubber.scrub_string(format!("{error}")),
    };
    CallError::Crashed {
        plugin: id,
        trap,
        detail,
    }
}

async fn call_tool(plugin: &LoadedPlugin, tool: &str, args: &str, context: &CallContext) -> Result<String, CallError> {
    let id = plugin.id().to_string();
    let Prepared::Tool(pre) = &plugin.prepared else {
        return Err(CallError::WrongKind {
            plugin: id,
            kind: plugin.kind().as_str(),
            operation: "calling a tool",
            needed: "tool",
        });
    };
    if !plugin.tools.iter().any(|t| t.name == tool) {
        return Err(CallError::UnknownTool {
            plugin: id,
            tool: tool.to_string(),
            available: plugin
                .tools
                .iter()
                .map(|t| t.name.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        });
    }
    let mut store = new_store_with(
        plugin.shared.clone(),
        plugin.timeout(),
        pre.engine(),
        Some(context.clone()),
        None,
    )
    .map_err(|e| CallError::Internal {
        plugin: id.clone(),
        message: e.to_string(),
    })?;
    let outcome = crate::deadline::within(Instant::now() + plugin.timeout() + plugin.grace, async {
        let instance = pre.instantiate_async(&mut store).await?;
        instance
            .openclaw_plugin_tool()
            .call_call(&mut store, tool, &args.to_string(), &context.clone().into())
            .await
    })
    .await;
    let scrub = |text: String| plugin.shared.scrubber.scrub_string(text);
    let result = match outcome {
        Err(_) => Err(CallError::Timeout {
            plugin: id,
            limit_ms: plugin.shared.grant.limits.timeout_ms,
        }),
        Ok(Err(error)) => Err(classify(plugin, error, store.data())),
        Ok(Ok(Ok(json))) if store.data().budget.copy(json.len()).is_err() => Err(CallError::CopyLimit {
            plugin: id,
            limit_mb: store.data().budget.copy_limit() >> 20,
        }),
        Ok(Ok(Ok(json))) => {
            let json = scrub(json);
            match serde_json::from_str::<serde::de::IgnoredAny>(&json) {
                Ok(_) => Ok(json),
                Err(e) => Err(CallError::BadResult {
                    plugin: id,
                    message: e.to_string(),
                }),
            }
        }
        Ok(Ok(Err(error))) => Err(match error {
            ToolError::InvalidArgs(m) => CallError::InvalidArgs {
                plugin: id,
                tool: tool.to_string(),
                message: scrub(m),
            },
            ToolError::Failed(m) => CallError::Failed {
                plugin: id,
                tool: tool.to_string(),
                message: scrub(m),
            },
            ToolError::Denied(m) => CallError::Denied {
                plugin: id,
                tool: tool.to_string(),
                message: scrub(m),
            },
        }),
    };
    plugin.shared.report_suppressed_logs();
    plugin.shared.egress.report_suppressed_denials();
    let budget = &store.data().budget;
    if budget.refused() > 0 || budget.dropped_logs() > 0 {
        tracing::warn!(
            target: "openclaw::plugins",
            plugin = %plugin.id(),
            "{}: {} host calls refused, {} log lines dropped",
            budget.exhausted_message(),
            budget.refused(),
            budget.dropped_logs()
        );
    }
    result
}

/// The book `grant` describes, filled with `values`, and the names of the granted secrets that
/// have no value (their placeholders are refused; a webhook without its secret refuses requests).
fn book_for(grant: &EffectiveGrant, values: &BTreeMap<String, SecretString>) -> (SecretBook, Vec<String>) {
    let mut unbound = Vec::new();
    let bound: Vec<BoundSecret> = grant
        .secrets
        .iter()
        .filter_map(|g| {
            let value = values.get(&g.name).cloned();
            if value.is_none() {
                unbound.push(g.name.clone());
            }
            value.map(|value| BoundSecret {
                name: g.name.clone(),
                value,
                hosts: g.hosts.clone(),
                slots: g.slots.clone(),
            })
        })
        .collect();
    let mut book = SecretBook::new(bound);
    if let Some(name) = &grant.webhook_secret {
        match values.get(name) {
            Some(value) => book = book.with_host_only(name, value.clone()),
            None => unbound.push(name.clone()),
        }
    }
    (book, unbound)
}

/// New secret values for a loaded plugin, built but not yet in force (`secrets reload` builds
/// every plugin's before it changes any).
#[derive(Debug)]
pub struct SecretRebind {
    shared: Arc<PluginShared>,
    prepared: PreparedBook,
    /// Granted secrets the new values leave without one.
    pub unbound: Vec<String>,
}

impl SecretRebind {
    /// Puts the new values in force: the plugin's next request is filled from them, and both
    /// the new and the replaced values are scrubbed from what it receives and logs.
    pub fn commit(self) {
        self.shared.egress.secrets.commit(self.prepared, &self.shared.scrubber);
    }
}

impl LoadedPlugin {
    /// The value in force of host-only secret `name` (a webhook's verification secret).
    pub fn host_only_secret(&self, name: &str) -> Option<SecretString> {
        self.shared.egress.secrets.current().host_only(name).cloned()
    }

    /// Prepares a rotation of this plugin's secrets to `values` (same names as at load: those
    /// its grant names). Nothing changes until [`SecretRebind::commit`].
    pub fn prepare_secrets(&self, values: &BTreeMap<String, SecretString>) -> SecretRebind {
        let (book, unbound) = book_for(&self.shared.grant, values);
        SecretRebind {
            shared: self.shared.clone(),
            prepared: self.shared.egress.secrets.prepare(book),
            unbound,
        }
    }
}

impl LoadedPlugin {
    pub(crate) fn channel_pre(&self) -> Option<&ChannelPluginPre<StoreState>> {
        match &self.prepared {
            Prepared::Channel(pre) => Some(pre),
            Prepared::Tool(_) => None,
        }
    }

    pub(crate) fn shared(&self) -> &Arc<PluginShared> {
        &self.shared
    }

    pub(crate) fn timeout_budget(&self) -> Duration {
        self.timeout()
    }

    pub(crate) fn grace(&self) -> Duration {
        self.grace
    }
}

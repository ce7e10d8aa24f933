//! Errors of loading plugins and calling them. Each names the plugin, the cause and the fix.

use std::path::PathBuf;

/// Why a plugin could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("plugin manifest: {0}")]
    Manifest(#[from] openclaw_core::plugins::manifest::ManifestError),

    #[error("plugin \"{plugin}\": {action} {path}: {message}")]
    Io {
        plugin: String,
        action: &'static str,
        path: PathBuf,
        message: String,
    },

    #[error(
        "plugin \"{plugin}\": the component {path} has sha256 {actual}, but the {pinned_by} pins {expected}; \
         it was modified after it was packed or installed. Reinstall it (`openclaw plugins install <package>`) \
         or, if you changed it on purpose, `openclaw plugins update {plugin}`"
    )]
    DigestMismatch {
        plugin: String,
        path: PathBuf,
        expected: String,
        actual: String,
        pinned_by: &'static str,
    },

    #[error(
        "plugin \"{plugin}\": {path} is not a WebAssembly component this gateway can run: {message}. Build it with `cargo build --release --target wasm32-wasip2` (or `openclaw plugins pack`)"
    )]
    Compile {
        plugin: String,
        path: PathBuf,
        message: String,
    },

    #[error("plugin \"{plugin}\": {message}")]
    Link { plugin: String, message: String },

    #[error(
        "plugin \"{plugin}\": the manifest says kind = \"{declared}\" but the component does not export the {declared} interface ({message}); fix `kind` in openclaw-plugin.toml or export the right world"
    )]
    WrongKind {
        plugin: String,
        declared: &'static str,
        message: String,
    },

    #[error("plugin \"{plugin}\": invalid tool list: {message}")]
    ToolSpecs { plugin: String, message: String },

    #[error("plugin \"{plugin}\": {message}")]
    Guest { plugin: String, message: String },
}

/// Why a call into a plugin failed. Tool errors the plugin reports itself are `InvalidArgs`,
/// `Failed` and `Denied`; the rest are the host stopping or refusing the call.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallError {
    #[error("plugin \"{plugin}\" has no tool \"{tool}\" (it provides: {available})")]
    UnknownTool {
        plugin: String,
        tool: String,
        available: String,
    },

    #[error("plugin \"{plugin}\" is a {kind} plugin; {operation} needs a {needed} plugin")]
    WrongKind {
        plugin: String,
        kind: &'static str,
        operation: &'static str,
        needed: &'static str,
    },

    #[error("invalid arguments for {plugin}/{tool}: {message}")]
    InvalidArgs {
        plugin: String,
        tool: String,
        message: String,
    },

    #[error("{plugin}/{tool} failed: {message}")]
    Failed {
        plugin: String,
        tool: String,
        message: String,
    },

    #[error("{plugin}/{tool} was refused by its grant: {message}")]
    Denied {
        plugin: String,
        tool: String,
        message: String,
    },

    #[error(
        "plugin \"{plugin}\" ran past its {limit_ms} ms deadline and was stopped (raise plugins.entries.{plugin}.limits.timeoutMs if it needs longer)"
    )]
    Timeout { plugin: String, limit_ms: u64 },

    #[error(
        "plugin \"{plugin}\" tried to use more than its {limit_mb} MiB memory limit and was stopped (raise plugins.entries.{plugin}.limits.memoryMb if it needs more){detail}"
    )]
    OutOfMemory {
        plugin: String,
        limit_mb: u64,
        detail: String,
    },

    #[error("plugin \"{plugin}\" crashed ({trap}){detail}; the gateway discarded its instance and keeps serving")]
    Crashed {
        plugin: String,
        trap: String,
        detail: String,
    },

    #[error(
        "plugin \"{plugin}\" made the host copy more than {limit_mb} MiB out of its memory in one call (log lines, storage, messages, its result) and was stopped"
    )]
    CopyLimit { plugin: String, limit_mb: u64 },

    #[error(
        "plugin \"{plugin}\" held more than {entries} host resources at once (open files and directories, HTTP \
         requests, responses and header fields) and was stopped; raise plugins.entries.{plugin}.limits.memoryMb if it \
         really needs more{detail}"
    )]
    ResourceLimit {
        plugin: String,
        entries: u64,
        detail: String,
    },

    #[error(
        "plugin \"{plugin}\" put more than {limit_kib} KiB into one set of HTTP header fields and was stopped{detail}"
    )]
    HeaderLimit {
        plugin: String,
        limit_kib: u64,
        detail: String,
    },

    #[error(
        "plugin \"{plugin}\" exited (status {status}) instead of returning{detail}; the gateway discarded its instance"
    )]
    Exited {
        plugin: String,
        status: i32,
        detail: String,
    },

    #[error("plugin \"{plugin}\" returned a result that is not JSON: {message}")]
    BadResult { plugin: String, message: String },

    #[error("channel plugin \"{plugin}\" is restarting after a failure; next attempt in {retry_in_ms} ms")]
    BackingOff { plugin: String, retry_in_ms: u64 },

    #[error("plugin \"{plugin}\": {message}")]
    Channel { plugin: String, message: String },

    #[error("webhook request for plugin \"{plugin}\" refused: {reason}")]
    WebhookRefused { plugin: String, reason: String },

    #[error("plugin \"{plugin}\" takes no webhook requests (its manifest has no [channel.webhook] recipe)")]
    NoWebhook { plugin: String },

    #[error("plugin \"{plugin}\": internal error: {message}")]
    Internal { plugin: String, message: String },
}

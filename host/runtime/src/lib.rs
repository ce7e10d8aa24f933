//! The WebAssembly plugin runtime of the OpenClaw gateway.
//!
//! Plugins are components built against `wit/plugin.wit`. This crate loads them under an
//! effective grant computed by `openclaw_core::plugins::grants` and enforces it: the WASI
//! context grants nothing by default, outbound HTTP passes [`egress`], secrets are substituted
//! and scrubbed by [`secrets`], and every call runs with a memory limit, an epoch deadline and a
//! host-call budget.

pub mod account;
mod bindings;
pub mod budget;
pub mod cache;
pub mod channel;
pub mod deadline;
pub mod egress;
pub mod engine;
pub mod error;
pub mod inbound;
pub mod kv;
pub mod runtime;
pub mod secrets;
pub mod store;
pub mod types;

use std::sync::OnceLock;
use std::time::Instant;

pub use channel::ChannelInstance;
pub use error::{CallError, LoadError};
pub use inbound::{InboundReceiver, InboundSender, inbound_queue};
pub use runtime::{LoadedPlugin, PluginSource, Runtime, RuntimeOptions, SecretRebind};
pub use store::SandboxBackend;
pub use types::{
    CallContext, ChatType, ExecRequest, ExecResult, InboundMessage, OutboundMessage, SandboxError, SendReceipt,
    ToolSpec, WebhookRequest, WebhookResponse,
};

/// The origin of the monotonic clock plugins see.
pub(crate) fn clock_origin() -> Instant {
    static ORIGIN: OnceLock<Instant> = OnceLock::new();
    *ORIGIN.get_or_init(Instant::now)
}

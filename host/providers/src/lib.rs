//! Model providers over real HTTP: OpenAI-compatible Chat Completions and Anthropic Messages,
//! always streamed, with retries, fallbacks along a model chain, timeouts and cancellation.
//!
//! Knows nothing of plugins or the gateway: a caller builds [`Providers`] once (from config or
//! from [`ProviderSpec`]s) and calls [`Providers::complete`] per turn with plain values.
//! Credentials live only in the specs; every error text is scrubbed of them.

mod answer;
mod anthropic;
mod client;
pub mod config;
mod error;
mod openai;
mod retry;
mod spec;
pub mod sse;
mod types;

pub use client::Providers;
pub use config::ProviderConfigError;
pub use error::{AttemptFailure, FailureCause, ProviderError, TimeoutKind};
pub use retry::MAX_RETRY_WAIT;
pub use spec::{Api, DEFAULT_BACKOFF, DEFAULT_IDLE_TIMEOUT, DEFAULT_MAX_RETRIES, DEFAULT_TIMEOUT, ProviderSpec};
pub use types::{
    ChatRequest, Completion, DEFAULT_ANTHROPIC_MAX_TOKENS, Message, StopReason, StreamEvent, ToolCall, ToolDef, Usage,
};

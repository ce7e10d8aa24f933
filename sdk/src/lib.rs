//! Write OpenClaw tool and channel plugins as WebAssembly components.
//!
//! A tool plugin implements [`Tool`] and exports it with [`export_tool!`]; a channel plugin
//! implements [`Channel`] and uses [`export_channel!`]. Build with
//! `cargo build --release --target wasm32-wasip2`, describe the plugin in `openclaw-plugin.toml`,
//! and `openclaw plugins pack` it. The guide is in this crate's README.
//!
//! ```no_run
//! use openclaw_plugin_sdk::prelude::*;
//!
//! struct Greeter;
//!
//! impl Tool for Greeter {
//!     fn tools() -> Vec<ToolSpec> {
//!         vec![ToolSpec::new(
//!             "greet",
//!             "Greets someone by name",
//!             json!({"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]}),
//!         )]
//!     }
//!
//!     fn call(name: &str, args: Value, _ctx: &CallContext) -> Result<Value, ToolError> {
//!         #[derive(Deserialize)]
//!         struct Args { name: String }
//!         match name {
//!             "greet" => {
//!                 let args: Args = parse_args(args)?;
//!                 Ok(json!({"greeting": format!("Hello, {}!", args.name)}))
//!             }
//!             other => Err(ToolError::unknown_tool(other)),
//!         }
//!     }
//! }
//!
//! export_tool!(Greeter);
//! ```

pub mod channel;
pub mod clock;
pub mod config;
pub mod host;
pub mod http;
pub mod kv;
pub mod log;
pub mod sandbox;
#[cfg(not(target_arch = "wasm32"))]
pub mod testing;
pub mod tool;

mod bindings;

use std::fmt;

pub use channel::{Channel, ChannelError};
pub use tool::{CallContext, Tool, ToolError, ToolSpec, parse_args};

/// The plugin API version this SDK builds against (the WIT package version).
pub const API_VERSION: &str = "0.1.0";

/// Why the host refused or could not complete a request. Refusals are values, never traps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostError {
    /// The plugin's grant does not allow it.
    Denied(String),
    /// This gateway does not offer it.
    NotAvailable(String),
    /// A quota or limit was reached.
    LimitExceeded(String),
    /// The request is invalid.
    Invalid(String),
    /// Allowed, but it failed.
    Failed(String),
}

impl fmt::Display for HostError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Denied(m) => write!(f, "denied: {m}"),
            Self::NotAvailable(m) => write!(f, "not available: {m}"),
            Self::LimitExceeded(m) => write!(f, "limit exceeded: {m}"),
            Self::Invalid(m) => write!(f, "invalid: {m}"),
            Self::Failed(m) => write!(f, "failed: {m}"),
        }
    }
}

impl std::error::Error for HostError {}

/// Everything a plugin usually needs.
pub mod prelude {
    pub use crate::channel::{
        Channel, ChannelError, ChatType, InboundMessage, OutboundMessage, SendReceipt, WebhookRequest, WebhookResponse,
    };
    pub use crate::http::{self, HttpError, Method, Request, Response, secret};
    pub use crate::tool::{CallContext, Tool, ToolError, ToolSpec, parse_args};
    pub use crate::{HostError, config, export_channel, export_tool, kv, log_debug, log_error, log_info, log_warn};
    pub use serde::{Deserialize, Serialize};
    pub use serde_json::{Value, json};
}

#[doc(hidden)]
pub mod __private {
    pub use crate::bindings::channel_world;
    pub use crate::bindings::channel_world::export_channel_world;
    pub use crate::bindings::tool_world;
    pub use crate::bindings::tool_world::export_tool_world;
    pub use crate::channel::adapter as channel_adapter;
    pub use crate::tool::adapter as tool_adapter;
}

/// Exports a type implementing [`Tool`] as this component's `openclaw:plugin/tool` interface.
#[macro_export]
macro_rules! export_tool {
    ($tool:ty) => {
        #[doc(hidden)]
        pub struct __OpenclawToolExport;

        impl $crate::__private::tool_world::exports::openclaw::plugin::tool::Guest for __OpenclawToolExport {
            fn list_tools() -> ::std::vec::Vec<$crate::__private::tool_world::exports::openclaw::plugin::tool::ToolSpec> {
                $crate::__private::tool_adapter::list_tools::<$tool>()
            }

            fn call(
                name: ::std::string::String,
                args: ::std::string::String,
                context: $crate::__private::tool_world::exports::openclaw::plugin::tool::CallContext,
            ) -> ::std::result::Result<
                ::std::string::String,
                $crate::__private::tool_world::exports::openclaw::plugin::tool::ToolError,
            > {
                $crate::__private::tool_adapter::call::<$tool>(name, args, context)
            }
        }

        $crate::__private::export_tool_world!(__OpenclawToolExport with_types_in $crate::__private::tool_world);
    };
}

/// Exports a type implementing [`Channel`] as this component's `openclaw:plugin/channel`
/// interface.
#[macro_export]
macro_rules! export_channel {
    ($channel:ty) => {
        #[doc(hidden)]
        pub struct __OpenclawChannelExport;

        impl $crate::__private::channel_world::exports::openclaw::plugin::channel::Guest for __OpenclawChannelExport {
            fn start(
                config: ::std::string::String,
            ) -> ::std::result::Result<(), $crate::__private::channel_world::exports::openclaw::plugin::channel::ChannelError> {
                $crate::__private::channel_adapter::start::<$channel>(config)
            }

            fn poll() -> ::std::result::Result<u32, $crate::__private::channel_world::exports::openclaw::plugin::channel::ChannelError> {
                $crate::__private::channel_adapter::poll::<$channel>()
            }

            fn handle_webhook(
                request: $crate::__private::channel_world::exports::openclaw::plugin::channel::WebhookRequest,
            ) -> ::std::result::Result<
                $crate::__private::channel_world::exports::openclaw::plugin::channel::WebhookResponse,
                $crate::__private::channel_world::exports::openclaw::plugin::channel::ChannelError,
            > {
                $crate::__private::channel_adapter::handle_webhook::<$channel>(request)
            }

            fn send(
                message: $crate::__private::channel_world::exports::openclaw::plugin::channel::OutboundMessage,
            ) -> ::std::result::Result<
                $crate::__private::channel_world::exports::openclaw::plugin::channel::SendReceipt,
                $crate::__private::channel_world::exports::openclaw::plugin::channel::ChannelError,
            > {
                $crate::__private::channel_adapter::send::<$channel>(message)
            }
        }

        $crate::__private::export_channel_world!(__OpenclawChannelExport with_types_in $crate::__private::channel_world);
    };
}

//! Channel plugins: the [`Channel`] trait and the message types.

use std::fmt;
use std::time::Duration;

use serde_json::Value;

/// The kind of conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChatType {
    Direct,
    Group,
    Channel,
}

/// A message from the platform. Deliver it with [`deliver`]; the gateway applies DM policy,
/// pairing, allowlists and mention gating before anything else sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct InboundMessage {
    pub account_id: String,
    pub chat_type: ChatType,
    /// The peer for direct chats, the group or room otherwise.
    pub chat_id: String,
    /// The sender's stable platform id (never a display name: names can be changed by anyone).
    pub sender_id: String,
    pub sender_name: Option<String>,
    pub message_id: String,
    pub thread_id: Option<String>,
    pub text: String,
    /// The platform reports a native mention of the bot.
    pub mentioned: bool,
    /// The message replies to the bot.
    pub reply_to_bot: bool,
    pub timestamp_ms: u64,
    pub extra: Option<Value>,
}

impl InboundMessage {
    /// A direct text message with the other fields at their defaults.
    pub fn direct(sender_id: impl Into<String>, message_id: impl Into<String>, text: impl Into<String>) -> Self {
        let sender_id = sender_id.into();
        Self {
            account_id: "default".into(),
            chat_type: ChatType::Direct,
            chat_id: sender_id.clone(),
            sender_id,
            sender_name: None,
            message_id: message_id.into(),
            thread_id: None,
            text: text.into(),
            mentioned: false,
            reply_to_bot: false,
            timestamp_ms: crate::clock::now_ms(),
            extra: None,
        }
    }
}

/// A message to send on the platform.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboundMessage {
    pub account_id: String,
    pub chat_id: String,
    pub thread_id: Option<String>,
    pub reply_to: Option<String>,
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendReceipt {
    pub message_id: String,
}

/// A webhook request, already verified by the host (signature or secret header).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct WebhookRequest {
    pub method: String,
    pub path: String,
    pub query: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl WebhookRequest {
    /// The first header with this name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl WebhookResponse {
    /// `200 OK` with an empty body.
    pub fn ok() -> Self {
        Self {
            status: 200,
            headers: Vec::new(),
            body: Vec::new(),
        }
    }
}

/// Why a channel operation failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChannelError {
    /// The configuration is unusable; the channel will not start.
    Config(String),
    /// The platform rejected or failed the operation.
    Platform(String),
    /// The grant does not allow what was needed.
    Denied(String),
    /// Temporary; the host retries with backoff.
    Retry(String),
}

impl fmt::Display for ChannelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Config(m) => write!(f, "configuration: {m}"),
            Self::Platform(m) => write!(f, "platform: {m}"),
            Self::Denied(m) => write!(f, "denied: {m}"),
            Self::Retry(m) => write!(f, "temporary: {m}"),
        }
    }
}

impl std::error::Error for ChannelError {}

impl From<crate::HostError> for ChannelError {
    fn from(e: crate::HostError) -> Self {
        match e {
            crate::HostError::Denied(m) => Self::Denied(m),
            crate::HostError::LimitExceeded(m) => Self::Retry(m),
            other => Self::Platform(other.to_string()),
        }
    }
}

impl From<crate::http::HttpError> for ChannelError {
    fn from(e: crate::http::HttpError) -> Self {
        match e {
            crate::http::HttpError::Denied(m) => Self::Denied(m),
            crate::http::HttpError::Timeout(m) => Self::Retry(m),
            other => Self::Platform(other.to_string()),
        }
    }
}

/// Hands a received message to the gateway.
pub fn deliver(message: &InboundMessage) -> Result<(), crate::HostError> {
    crate::host::with(|host| host.deliver(message))
}

/// A messaging channel. One instance lives as long as the channel runs (the host rebuilds it
/// after a crash), so statics persist between calls; durable state still belongs in
/// [`crate::kv`].
pub trait Channel {
    /// Called once with `plugins.entries.<id>.config`.
    fn start(config: Value) -> Result<(), ChannelError>;

    /// Fetch new messages and [`deliver`] them; return how long to wait before the next poll.
    /// Channels that only use webhooks keep the default (poll rarely).
    fn poll() -> Result<Duration, ChannelError> {
        Ok(Duration::from_secs(3600))
    }

    /// Handle a verified webhook request.
    fn handle_webhook(_request: WebhookRequest) -> Result<WebhookResponse, ChannelError> {
        Err(ChannelError::Config("this channel has no webhook".into()))
    }

    /// Send a message on the platform.
    fn send(message: OutboundMessage) -> Result<SendReceipt, ChannelError>;
}

#[doc(hidden)]
pub mod adapter {
    //! Glue between the generated bindings and [`Channel`] (used by [`crate::export_channel!`]).

    use super::*;
    use crate::bindings::channel_world::exports::openclaw::plugin::channel as wit;

    fn error(e: ChannelError) -> wit::ChannelError {
        match e {
            ChannelError::Config(m) => wit::ChannelError::Config(m),
            ChannelError::Platform(m) => wit::ChannelError::Platform(m),
            ChannelError::Denied(m) => wit::ChannelError::Denied(m),
            ChannelError::Retry(m) => wit::ChannelError::Retry(m),
        }
    }

    pub fn start<C: Channel>(config: String) -> Result<(), wit::ChannelError> {
        let config: Value = serde_json::from_str(&config)
            .map_err(|e| wit::ChannelError::Config(format!("the configuration is not valid JSON: {e}")))?;
        C::start(config).map_err(error)
    }

    pub fn poll<C: Channel>() -> Result<u32, wit::ChannelError> {
        C::poll()
            .map(|d| u32::try_from(d.as_millis()).unwrap_or(u32::MAX))
            .map_err(error)
    }

    pub fn handle_webhook<C: Channel>(request: wit::WebhookRequest) -> Result<wit::WebhookResponse, wit::ChannelError> {
        let request = WebhookRequest {
            method: request.method,
            path: request.path,
            query: request.query,
            headers: request.headers,
            body: request.body,
        };
        C::handle_webhook(request)
            .map(|r| wit::WebhookResponse {
                status: r.status,
                headers: r.headers,
                body: r.body,
            })
            .map_err(error)
    }

    pub fn send<C: Channel>(message: wit::OutboundMessage) -> Result<wit::SendReceipt, wit::ChannelError> {
        let message = OutboundMessage {
            account_id: message.account_id,
            chat_id: message.chat_id,
            thread_id: message.thread_id,
            reply_to: message.reply_to,
            text: message.text,
        };
        C::send(message)
            .map(|r| wit::SendReceipt {
                message_id: r.message_id,
            })
            .map_err(error)
    }
}

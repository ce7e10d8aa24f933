//! The plain types at the runtime's edge. The gateway, the CLI and the sandbox backend use these;
//! the types generated from `wit/plugin.wit` stay inside this crate (`bindings`), so a change to
//! the ABI's generated code never ripples through the rest of the workspace.

use crate::bindings::channel::openclaw::plugin::channel_types as wit_channel;
use crate::bindings::tool::exports::openclaw::plugin::tool as wit_tool;
use crate::bindings::tool::openclaw::plugin::{sandbox as wit_sandbox, types as wit_types};

/// Who is calling a tool: the agent, its session and the channel the message came from.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CallContext {
    pub agent_id: String,
    pub session_key: String,
    pub channel: Option<String>,
    pub call_id: String,
    /// Whether the tool policy lets this agent use `exec` in this session: a plugin's
    /// sandbox-exec grant holds only where it does. Not visible to the plugin.
    pub sandbox_exec: bool,
}

/// A tool a plugin offers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolSpec {
    pub name: String,
    pub description: String,
    /// JSON Schema of the arguments, as text.
    pub parameters: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChatType {
    Direct,
    Group,
    Channel,
}

impl ChatType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Direct => "direct",
            Self::Group => "group",
            Self::Channel => "channel",
        }
    }
}

/// A message a channel delivered, before any access control.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboundMessage {
    pub account_id: String,
    pub chat_type: ChatType,
    pub chat_id: String,
    pub sender_id: String,
    pub sender_name: Option<String>,
    pub message_id: String,
    pub thread_id: Option<String>,
    pub text: String,
    pub mentioned: bool,
    pub reply_to_bot: bool,
    pub timestamp_ms: u64,
    /// Platform-specific JSON the channel keeps for itself.
    pub extra: Option<String>,
}

impl InboundMessage {
    /// Bytes the message holds (what queue and size caps count).
    pub fn size(&self) -> usize {
        self.account_id.len()
            + self.chat_id.len()
            + self.sender_id.len()
            + self.sender_name.as_ref().map_or(0, String::len)
            + self.message_id.len()
            + self.thread_id.as_ref().map_or(0, String::len)
            + self.text.len()
            + self.extra.as_ref().map_or(0, String::len)
    }

    /// The message as JSON, the shape the gateway's inbox stores and `openclaw plugins run
    /// --polls` prints (`extra` stays with the channel).
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "accountId": self.account_id,
            "chatType": self.chat_type.as_str(),
            "chatId": self.chat_id,
            "senderId": self.sender_id,
            "senderName": self.sender_name,
            "messageId": self.message_id,
            "threadId": self.thread_id,
            "text": self.text,
            "mentioned": self.mentioned,
            "replyToBot": self.reply_to_bot,
            "timestampMs": self.timestamp_ms,
        })
    }
}

/// A message the gateway asks a channel to send.
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

/// A request to a channel's webhook route, as the gateway received it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct WebhookRequest {
    pub method: String,
    /// Path below the plugin's route.
    pub path: String,
    pub query: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// A command for the agent's sandbox.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ExecRequest {
    pub argv: Vec<String>,
    pub stdin: Option<Vec<u8>>,
    pub env: Vec<(String, String)>,
    pub workdir: Option<String>,
    pub timeout_ms: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ExecResult {
    pub exit_code: i32,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    pub truncated: bool,
}

/// Why the sandbox backend refused or failed a command (what the plugin is told).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SandboxError {
    Denied(String),
    NotAvailable(String),
    LimitExceeded(String),
    Invalid(String),
    Failed(String),
}

// ---- conversions, in one place ----

impl From<CallContext> for wit_types::CallContext {
    fn from(c: CallContext) -> Self {
        Self {
            agent_id: c.agent_id,
            session_key: c.session_key,
            channel: c.channel,
            call_id: c.call_id,
        }
    }
}

impl From<wit_types::CallContext> for CallContext {
    fn from(c: wit_types::CallContext) -> Self {
        Self {
            agent_id: c.agent_id,
            session_key: c.session_key,
            channel: c.channel,
            call_id: c.call_id,
            // A context that came from a guest carries no policy decision: deny.
            sandbox_exec: false,
        }
    }
}

impl From<wit_tool::ToolSpec> for ToolSpec {
    fn from(s: wit_tool::ToolSpec) -> Self {
        Self {
            name: s.name,
            description: s.description,
            parameters: s.parameters,
        }
    }
}

impl From<wit_channel::ChatType> for ChatType {
    fn from(t: wit_channel::ChatType) -> Self {
        match t {
            wit_channel::ChatType::Direct => Self::Direct,
            wit_channel::ChatType::Group => Self::Group,
            wit_channel::ChatType::Channel => Self::Channel,
        }
    }
}

impl From<wit_channel::InboundMessage> for InboundMessage {
    fn from(m: wit_channel::InboundMessage) -> Self {
        Self {
            account_id: m.account_id,
            chat_type: m.chat_type.into(),
            chat_id: m.chat_id,
            sender_id: m.sender_id,
            sender_name: m.sender_name,
            message_id: m.message_id,
            thread_id: m.thread_id,
            text: m.text,
            mentioned: m.mentioned,
            reply_to_bot: m.reply_to_bot,
            timestamp_ms: m.timestamp_ms,
            extra: m.extra,
        }
    }
}

impl From<OutboundMessage> for wit_channel::OutboundMessage {
    fn from(m: OutboundMessage) -> Self {
        Self {
            account_id: m.account_id,
            chat_id: m.chat_id,
            thread_id: m.thread_id,
            reply_to: m.reply_to,
            text: m.text,
        }
    }
}

impl From<wit_channel::SendReceipt> for SendReceipt {
    fn from(r: wit_channel::SendReceipt) -> Self {
        Self {
            message_id: r.message_id,
        }
    }
}

impl From<WebhookRequest> for wit_channel::WebhookRequest {
    fn from(r: WebhookRequest) -> Self {
        Self {
            method: r.method,
            path: r.path,
            query: r.query,
            headers: r.headers,
            body: r.body,
        }
    }
}

impl From<wit_channel::WebhookResponse> for WebhookResponse {
    fn from(r: wit_channel::WebhookResponse) -> Self {
        Self {
            status: r.status,
            headers: r.headers,
            body: r.body,
        }
    }
}

impl From<wit_sandbox::ExecRequest> for ExecRequest {
    fn from(r: wit_sandbox::ExecRequest) -> Self {
        Self {
            argv: r.argv,
            stdin: r.stdin,
            env: r.env,
            workdir: r.workdir,
            timeout_ms: r.timeout_ms,
        }
    }
}

impl From<ExecResult> for wit_sandbox::ExecResult {
    fn from(r: ExecResult) -> Self {
        Self {
            exit_code: r.exit_code,
            stdout: r.stdout,
            stderr: r.stderr,
            truncated: r.truncated,
        }
    }
}

impl From<SandboxError> for wit_types::HostError {
    fn from(e: SandboxError) -> Self {
        match e {
            SandboxError::Denied(m) => Self::Denied(m),
            SandboxError::NotAvailable(m) => Self::NotAvailable(m),
            SandboxError::LimitExceeded(m) => Self::LimitExceeded(m),
            SandboxError::Invalid(m) => Self::Invalid(m),
            SandboxError::Failed(m) => Self::Failed(m),
        }
    }
}

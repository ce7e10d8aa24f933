//! The provider-neutral conversation a caller hands in and the completion it gets back.
//!
//! These are plain values: no config types and no wire shapes, so the agent loop never learns
//! which API a model speaks.

use crate::error::AttemptFailure;

/// A tool the model may call.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolDef {
    pub name: String,
    pub description: String,
    /// JSON schema of the arguments object.
    pub parameters: serde_json::Value,
}

/// A tool call as the model made it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolCall {
    /// The provider's id for the call; a tool result must echo it.
    pub id: String,
    pub name: String,
    /// The arguments as the model sent them (JSON text, not validated here: a model can send
    /// broken JSON and the caller decides what to tell it).
    pub arguments: String,
}

/// One entry of the conversation so far.
#[derive(Debug, Clone, PartialEq)]
pub enum Message {
    User {
        text: String,
    },
    Assistant {
        text: String,
        tool_calls: Vec<ToolCall>,
    },
    ToolResult {
        call_id: String,
        name: String,
        content: String,
        is_error: bool,
    },
}

/// One turn to send to a model.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ChatRequest {
    /// The system prompt; empty means none.
    pub system: String,
    pub messages: Vec<Message>,
    pub tools: Vec<ToolDef>,
    /// Output cap. Anthropic requires one, so [`DEFAULT_ANTHROPIC_MAX_TOKENS`] is sent there when
    /// this is `None`.
    pub max_tokens: Option<u32>,
}

/// What every Claude model accepts as an output cap.
pub const DEFAULT_ANTHROPIC_MAX_TOKENS: u32 = 4096;

/// Output forwarded while the model streams.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StreamEvent {
    TextDelta(String),
    /// A complete tool call, sent once all of its argument fragments have arrived.
    ToolCall(ToolCall),
}

/// Why the model stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StopReason {
    EndTurn,
    ToolUse,
    MaxTokens,
    /// A reason this crate does not interpret, as the provider spelled it.
    Other(String),
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    pub input_tokens: u64,
    pub output_tokens: u64,
}

/// The answer of the model that completed the turn.
#[derive(Debug, Clone, PartialEq)]
pub struct Completion {
    pub text: String,
    pub tool_calls: Vec<ToolCall>,
    pub stop: StopReason,
    pub usage: Usage,
    /// The provider and model that answered.
    pub provider: String,
    pub model: String,
    /// Failed attempts before this answer (retries and fallbacks), oldest first.
    pub attempts: Vec<AttemptFailure>,
}

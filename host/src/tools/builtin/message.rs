//! `message`: send text to a chat through a running channel plugin (its `send`, which splits it
//! to the platform's limit). Which chats an agent may reach is the tool policy's business
//! (`group:messaging`); the channel's own grant decides where the plugin may connect.

use openclaw_runtime::OutboundMessage;
use serde_json::{Value, json};

use super::Builtins;
use crate::tools::dispatch::{OfferedTool, ToolOutcome};

/// Largest text one call may send.
const MAX_TEXT_BYTES: usize = 64 * 1024;

pub(super) fn spec() -> OfferedTool {
    OfferedTool {
        name: "message".into(),
        description: "Send a message to a chat on a connected channel.".into(),
        parameters: json!({"type": "object", "properties": {
            "channel": {"type": "string", "description": "Channel id (for example telegram)."},
            "to": {"type": "string", "description": "The chat id on that channel."},
            "text": {"type": "string"},
            "accountId": {"type": "string"},
            "threadId": {"type": "string"},
            "replyTo": {"type": "string"}
        }, "required": ["channel", "to", "text"]}),
    }
}

fn field<'a>(args: &'a Value, name: &str) -> Option<&'a str> {
    args.get(name)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

pub(super) async fn call(builtins: &Builtins, args: &Value) -> ToolOutcome {
    let (Some(channel), Some(to), Some(text)) = (
        field(args, "channel"),
        field(args, "to"),
        args.get("text").and_then(Value::as_str),
    ) else {
        return ToolOutcome::Failed("`message` needs `channel`, `to` and `text`".into());
    };
    if text.trim().is_empty() {
        return ToolOutcome::Failed("`text` is empty".into());
    }
    if text.len() > MAX_TEXT_BYTES {
        return ToolOutcome::Failed(format!("`text` is {} bytes; the limit is {MAX_TEXT_BYTES}", text.len()));
    }
    let Some(target) = builtins.plugins.channel_named(channel) else {
        return ToolOutcome::Failed(format!(
            "no channel `{channel}` is running (see `openclaw plugins list`)"
        ));
    };
    let message = OutboundMessage {
        account_id: field(args, "accountId").unwrap_or("default").to_string(),
        chat_id: to.to_string(),
        thread_id: field(args, "threadId").map(str::to_string),
        reply_to: field(args, "replyTo").map(str::to_string),
        text: text.to_string(),
    };
    match target.send(message).await {
        Ok(receipt) => ToolOutcome::Done(
            json!({"ok": true, "channel": channel, "to": to, "messageId": receipt.message_id}).to_string(),
        ),
        Err(e) => ToolOutcome::Failed(format!("channel `{channel}` could not send: {e}")),
    }
}

//! Where inbound channel messages wait for access control and routing.
//!
//! Access control, routing and agents arrive in later issues; until then the gateway must not
//! drop what channels deliver. Each message is appended as one JSON line to
//! `<state>/inbox/<channel>.jsonl` (0600, in a 0700 directory) and fsynced, so the next stage
//! can consume it and nothing is lost across a restart.

use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;

use openclaw_runtime::InboundMessage;
use serde_json::{Value, json};

/// The message as JSON (the shape `openclaw plugins run --polls` prints too).
pub fn inbound_json(message: &InboundMessage) -> Value {
    json!({
        "accountId": message.account_id,
        "chatType": message.chat_type.as_str(),
        "chatId": message.chat_id,
        "senderId": message.sender_id,
        "senderName": message.sender_name,
        "messageId": message.message_id,
        "threadId": message.thread_id,
        "text": message.text,
        "mentioned": message.mentioned,
        "replyToBot": message.reply_to_bot,
        "timestampMs": message.timestamp_ms,
    })
}

/// Appends to per-channel files under `dir`.
pub struct Inbox {
    dir: PathBuf,
}

impl Inbox {
    pub fn new(dir: PathBuf) -> Self {
        Self { dir }
    }

    pub fn path_for(&self, channel: &str) -> PathBuf {
        self.dir.join(format!("{channel}.jsonl"))
    }

    /// Appends one message durably.
    pub fn append(&self, channel: &str, message: &InboundMessage) -> std::io::Result<()> {
        crate::state::ensure_private_dir(&self.dir).map_err(std::io::Error::other)?;
        let mut line = json!({"channel": channel, "message": inbound_json(message)}).to_string();
        line.push('\n');
        let mut file = OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .open(self.path_for(channel))?;
        file.write_all(line.as_bytes())?;
        file.sync_data()
    }
}

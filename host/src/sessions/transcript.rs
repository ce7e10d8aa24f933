//! One session's transcript: JSONL in the pi-coding-agent format (version 3) that OpenClaw
//! writes. The first line is the `session` header; every later line has `type`, `id` (8 hex),
//! `parentId` and `timestamp`. Lines are appended whole to a 0600 file opened without following
//! symlinks, and every message is redacted before it reaches the disk.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use openclaw_core::security::redact::Redactor;
use openclaw_state::ids::random_hex;
use serde_json::{Map, Value, json};

use super::store::{StoreError, now_ms};

/// A message of the conversation, as the agent loop sees it.
#[derive(Debug, Clone, PartialEq)]
pub enum TranscriptMessage {
    User {
        text: String,
    },
    Assistant {
        text: String,
        tool_calls: Vec<TranscriptToolCall>,
        provider: String,
        model: String,
        /// `stop`, `toolUse`, `length`, `error` or `aborted`.
        stop_reason: String,
        error: Option<String>,
        input_tokens: u64,
        output_tokens: u64,
    },
    ToolResult {
        call_id: String,
        name: String,
        text: String,
        is_error: bool,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct TranscriptToolCall {
    pub id: String,
    pub name: String,
    pub arguments: Value,
}

fn iso_now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

fn text_blocks(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Array(items) => items
            .iter()
            .filter(|b| b.get("type").and_then(Value::as_str) == Some("text"))
            .filter_map(|b| b.get("text").and_then(Value::as_str))
            .collect::<Vec<_>>()
            .join(""),
        _ => String::new(),
    }
}

impl TranscriptMessage {
    /// The pi `AgentMessage` JSON of this message.
    pub fn to_json(&self) -> Value {
        let ts = now_ms();
        match self {
            Self::User { text } => {
                json!({"role": "user", "content": [{"type": "text", "text": text}], "timestamp": ts})
            }
            Self::Assistant {
                text,
                tool_calls,
                provider,
                model,
                stop_reason,
                error,
                input_tokens,
                output_tokens,
            } => {
                let mut content = Vec::new();
                if !text.is_empty() {
                    content.push(json!({"type": "text", "text": text}));
                }
                for call in tool_calls {
                    content.push(
                        json!({"type": "toolCall", "id": call.id, "name": call.name, "arguments": call.arguments}),
                    );
                }
                let mut message = json!({
                    "role": "assistant",
                    "content": content,
                    "provider": provider,
                    "model": model,
                    "usage": {"input": input_tokens, "output": output_tokens, "totalTokens": input_tokens + output_tokens},
                    "stopReason": stop_reason,
                    "timestamp": ts,
                });
                if let (Some(error), Some(object)) = (error, message.as_object_mut()) {
                    object.insert("errorMessage".into(), json!(error));
                }
                message
            }
            Self::ToolResult {
                call_id,
                name,
                text,
                is_error,
            } => json!({
                "role": "toolResult",
                "toolCallId": call_id,
                "toolName": name,
                "content": [{"type": "text", "text": text}],
                "isError": is_error,
                "timestamp": ts,
            }),
        }
    }

    /// Reads a pi `AgentMessage`; roles this gateway does not use (custom, bash execution...)
    /// are `None`.
    pub fn from_json(message: &Value) -> Option<Self> {
        match message.get("role")?.as_str()? {
            "user" => Some(Self::User {
                text: text_blocks(message.get("content")?),
            }),
            "assistant" => {
                let content = message.get("content").cloned().unwrap_or(Value::Null);
                let tool_calls = content
                    .as_array()
                    .map(|items| {
                        items
                            .iter()
                            .filter(|b| b.get("type").and_then(Value::as_str) == Some("toolCall"))
                            .map(|b| TranscriptToolCall {
                                id: b.get("id").and_then(Value::as_str).unwrap_or_default().to_string(),
                                name: b.get("name").and_then(Value::as_str).unwrap_or_default().to_string(),
                                arguments: b.get("arguments").cloned().unwrap_or_else(|| json!({})),
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                let str_field = |name: &str| {
                    message
                        .get(name)
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_string()
                };
                let usage = |name: &str| {
                    message
                        .pointer(&format!("/usage/{name}"))
                        .and_then(Value::as_u64)
                        .unwrap_or(0)
                };
                Some(Self::Assistant {
                    text: text_blocks(&content),
                    tool_calls,
                    provider: str_field("provider"),
                    model: str_field("model"),
                    stop_reason: str_field("stopReason"),
                    error: message.get("errorMessage").and_then(Value::as_str).map(str::to_string),
                    input_tokens: usage("input"),
                    output_tokens: usage("output"),
                })
            }
            "toolResult" => Some(Self::ToolResult {
                call_id: message.get("toolCallId")?.as_str()?.to_string(),
                name: message
                    .get("toolName")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string(),
                text: text_blocks(message.get("content").unwrap_or(&Value::Null)),
                is_error: message.get("isError").and_then(Value::as_bool).unwrap_or(false),
            }),
            _ => None,
        }
    }
}

/// An open transcript. Appends are serialized; the leaf id chains each entry to the last one.
pub struct Transcript {
    path: PathBuf,
    redactor: Arc<Redactor>,
    state: Mutex<TranscriptState>,
}

struct TranscriptState {
    file: File,
    leaf: Option<String>,
}

impl std::fmt::Debug for Transcript {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transcript").field("path", &self.path).finish()
    }
}

fn io<'a>(path: &'a Path, what: &'static str) -> impl FnOnce(std::io::Error) -> StoreError + 'a {
    move |source| StoreError::Read {
        path: path.to_path_buf(),
        source: std::io::Error::new(source.kind(), format!("{what}: {source}")),
    }
}

impl Transcript {
    /// Opens (or creates, with its header) the transcript at `path`.
    pub fn open(path: &Path, session_id: &str, cwd: &Path, redactor: Arc<Redactor>) -> Result<Self, StoreError> {
        let mut options = OpenOptions::new();
        options
            .append(true)
            .create(true)
            .mode(0o600)
            .custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32);
        let mut file = options.open(path).map_err(io(path, "opening the transcript"))?;
        let existing = std::fs::read_to_string(path).map_err(io(path, "reading the transcript"))?;
        let leaf = existing
            .lines()
            .rev()
            .filter_map(|line| serde_json::from_str::<Value>(line).ok())
            .find(|v| v.get("type").and_then(Value::as_str) != Some("session"))
            .and_then(|v| v.get("id").and_then(Value::as_str).map(str::to_string));
        if existing.trim().is_empty() {
            let header = json!({"type": "session", "version": 3, "id": session_id, "timestamp": iso_now(), "cwd": cwd.to_string_lossy()});
            let mut line = header.to_string();
            line.push('\n');
            file.write_all(line.as_bytes())
                .map_err(io(path, "writing the transcript header"))?;
        }
        Ok(Self {
            path: path.to_path_buf(),
            redactor,
            state: Mutex::new(TranscriptState { file, leaf }),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends one message (redacted) and returns its entry id.
    pub fn append(&self, message: &TranscriptMessage) -> Result<String, StoreError> {
        let mut body = message.to_json();
        self.redactor.redact_json(&mut body);
        self.append_entry("message", "message", body)
    }

    fn append_entry(&self, kind: &str, field: &str, body: Value) -> Result<String, StoreError> {
        let id = random_hex(4).map_err(|e| StoreError::Random(e.to_string()))?;
        let mut state = self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut entry = Map::new();
        entry.insert("type".into(), json!(kind));
        entry.insert("id".into(), json!(id));
        entry.insert("parentId".into(), json!(state.leaf));
        entry.insert("timestamp".into(), json!(iso_now()));
        entry.insert(field.into(), body);
        let mut line = Value::Object(entry).to_string();
        line.push('\n');
        // One write of the whole line to an O_APPEND file: a reader never sees half an entry
        // followed by another entry.
        state
            .file
            .write_all(line.as_bytes())
            .map_err(io(&self.path, "appending to the transcript"))?;
        state.leaf = Some(id.clone());
        Ok(id)
    }

    /// The conversation on the path from the newest entry back to the root, oldest first. With a
    /// compaction on the path, its summary stands in for everything before `firstKeptEntryId`.
    pub fn messages(&self) -> Result<Vec<TranscriptMessage>, StoreError> {
        let text = std::fs::read_to_string(&self.path).map_err(io(&self.path, "reading the transcript"))?;
        Ok(history(&text))
    }
}

/// [`Transcript::messages`] over a transcript's text; lines that do not parse are skipped.
pub fn history(text: &str) -> Vec<TranscriptMessage> {
    let mut entries: HashMap<String, Value> = HashMap::new();
    let mut leaf: Option<String> = None;
    for line in text.lines() {
        let Ok(value) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        if value.get("type").and_then(Value::as_str) == Some("session") {
            continue;
        }
        let Some(id) = value.get("id").and_then(Value::as_str).map(str::to_string) else {
            continue;
        };
        leaf = Some(id.clone());
        entries.insert(id, value);
    }
    let mut path = Vec::new();
    let mut cursor = leaf;
    let mut kept_from: Option<String> = None;
    let mut summary: Option<String> = None;
    // Bounded by the number of entries, so a parentId cycle cannot loop forever.
    for _ in 0..=entries.len() {
        let Some(id) = cursor.take() else { break };
        let Some(entry) = entries.get(&id) else { break };
        if summary.is_some() && kept_from.is_none() {
            break;
        }
        match entry.get("type").and_then(Value::as_str) {
            Some("message") => {
                if let Some(message) = entry.get("message").and_then(TranscriptMessage::from_json) {
                    path.push(message);
                }
            }
            Some("compaction") if summary.is_none() => {
                summary = entry.get("summary").and_then(Value::as_str).map(str::to_string);
                kept_from = entry
                    .get("firstKeptEntryId")
                    .and_then(Value::as_str)
                    .map(str::to_string);
            }
            _ => {}
        }
        if kept_from.as_deref() == Some(id.as_str()) {
            kept_from = None;
        }
        cursor = entry.get("parentId").and_then(Value::as_str).map(str::to_string);
    }
    path.reverse();
    if let Some(summary) = summary {
        path.insert(
            0,
            TranscriptMessage::User {
                text: format!("[summary of the earlier conversation]\n{summary}"),
            },
        );
    }
    path
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn history_walks_the_tree_from_the_leaf() {
        let text = [
            r#"{"type":"session","version":3,"id":"s","timestamp":"t","cwd":"/"}"#,
            r#"{"type":"message","id":"a","parentId":null,"timestamp":"t","message":{"role":"user","content":"one"}}"#,
            r#"{"type":"message","id":"b","parentId":"a","timestamp":"t","message":{"role":"assistant","content":[{"type":"text","text":"two"}]}}"#,
            r#"{"type":"message","id":"x","parentId":"a","timestamp":"t","message":{"role":"assistant","content":[{"type":"text","text":"abandoned branch"}]}}"#,
            r#"not json"#,
            r#"{"type":"message","id":"c","parentId":"b","timestamp":"t","message":{"role":"user","content":[{"type":"text","text":"three"}]}}"#,
        ]
        .join("\n");
        let texts: Vec<String> = history(&text)
            .into_iter()
            .map(|m| match m {
                TranscriptMessage::User { text } => text,
                TranscriptMessage::Assistant { text, .. } => text,
                TranscriptMessage::ToolResult { text, .. } => text,
            })
            .collect();
        assert_eq!(texts, ["one", "two", "three"]);
    }

    #[test]
    fn a_compaction_replaces_what_came_before_its_first_kept_entry() {
        let text = [
            r#"{"type":"message","id":"a","parentId":null,"timestamp":"t","message":{"role":"user","content":"old"}}"#,
            r#"{"type":"message","id":"b","parentId":"a","timestamp":"t","message":{"role":"user","content":"kept"}}"#,
            r#"{"type":"compaction","id":"c","parentId":"b","timestamp":"t","summary":"S","firstKeptEntryId":"b","tokensBefore":1}"#,
            r#"{"type":"message","id":"d","parentId":"c","timestamp":"t","message":{"role":"user","content":"new"}}"#,
        ]
        .join("\n");
        let got = history(&text);
        assert_eq!(got.len(), 3, "{got:?}");
        assert!(matches!(&got[0], TranscriptMessage::User { text } if text.contains('S')));
        assert!(matches!(&got[1], TranscriptMessage::User { text } if text == "kept"));
        assert!(matches!(&got[2], TranscriptMessage::User { text } if text == "new"));
    }

    #[test]
    fn a_parent_cycle_ends() {
        let text = [
            r#"{"type":"message","id":"a","parentId":"b","timestamp":"t","message":{"role":"user","content":"a"}}"#,
            r#"{"type":"message","id":"b","parentId":"a","timestamp":"t","message":{"role":"user","content":"b"}}"#,
        ]
        .join("\n");
        assert!(history(&text).len() <= 3);
    }
}

//! Transcript messages → the provider's conversation. Every tool call gets exactly one result
//! (an interrupted turn's missing results are filled in, stray results dropped), and failed
//! assistant turns are left out: a provider rejects a conversation that breaks either rule.

use std::collections::HashSet;

use openclaw_providers::{Message, ToolCall};

use crate::sessions::TranscriptMessage;

const INTERRUPTED: &str = "[no result: the turn was interrupted before this tool finished]";

pub fn to_provider(history: &[TranscriptMessage]) -> Vec<Message> {
    let mut out = Vec::with_capacity(history.len());
    let mut open: Vec<(String, String)> = Vec::new();
    let mut answered: HashSet<String> = HashSet::new();
    let close_open = |open: &mut Vec<(String, String)>, out: &mut Vec<Message>, answered: &HashSet<String>| {
        for (id, name) in open.drain(..) {
            if !answered.contains(&id) {
                out.push(Message::ToolResult {
                    call_id: id,
                    name,
                    content: INTERRUPTED.into(),
                    is_error: true,
                });
            }
        }
    };
    for message in history {
        match message {
            TranscriptMessage::User { text } => {
                close_open(&mut open, &mut out, &answered);
                out.push(Message::User { text: text.clone() });
            }
            TranscriptMessage::Assistant {
                text,
                tool_calls,
                stop_reason,
                ..
            } => {
                close_open(&mut open, &mut out, &answered);
                if (stop_reason == "error" || stop_reason == "aborted") && tool_calls.is_empty() && text.is_empty() {
                    continue;
                }
                out.push(Message::Assistant {
                    text: text.clone(),
                    tool_calls: tool_calls
                        .iter()
                        .map(|c| ToolCall {
                            id: c.id.clone(),
                            name: c.name.clone(),
                            arguments: c.arguments.to_string(),
                        })
                        .collect(),
                });
                open = tool_calls.iter().map(|c| (c.id.clone(), c.name.clone())).collect();
            }
            TranscriptMessage::ToolResult {
                call_id,
                name,
                text,
                is_error,
            } => {
                if open.iter().any(|(id, _)| id == call_id) && answered.insert(call_id.clone()) {
                    out.push(Message::ToolResult {
                        call_id: call_id.clone(),
                        name: name.clone(),
                        content: text.clone(),
                        is_error: *is_error,
                    });
                }
            }
        }
    }
    close_open(&mut open, &mut out, &answered);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sessions::transcript::TranscriptToolCall;

    fn assistant(calls: &[&str]) -> TranscriptMessage {
        TranscriptMessage::Assistant {
            text: String::new(),
            tool_calls: calls
                .iter()
                .map(|id| TranscriptToolCall {
                    id: id.to_string(),
                    name: "read".into(),
                    arguments: serde_json::json!({}),
                })
                .collect(),
            provider: "p".into(),
            model: "m".into(),
            stop_reason: "toolUse".into(),
            error: None,
            input_tokens: 0,
            output_tokens: 0,
        }
    }

    fn result(id: &str) -> TranscriptMessage {
        TranscriptMessage::ToolResult {
            call_id: id.into(),
            name: "read".into(),
            text: "ok".into(),
            is_error: false,
        }
    }

    #[test]
    fn every_call_gets_exactly_one_result() {
        let history = vec![
            TranscriptMessage::User { text: "hi".into() },
            assistant(&["a", "b"]),
            result("a"),
            result("a"),
            result("zzz"),
            TranscriptMessage::User { text: "again".into() },
        ];
        let out = to_provider(&history);
        let results: Vec<(&str, &str)> = out
            .iter()
            .filter_map(|m| match m {
                Message::ToolResult { call_id, content, .. } => Some((call_id.as_str(), content.as_str())),
                _ => None,
            })
            .collect();
        assert_eq!(results, [("a", "ok"), ("b", INTERRUPTED)]);
        assert!(matches!(out.last(), Some(Message::User { text }) if text == "again"));
    }

    #[test]
    fn failed_turns_are_left_out() {
        let failed = TranscriptMessage::Assistant {
            text: String::new(),
            tool_calls: vec![],
            provider: "p".into(),
            model: "m".into(),
            stop_reason: "error".into(),
            error: Some("boom".into()),
            input_tokens: 0,
            output_tokens: 0,
        };
        let out = to_provider(&[TranscriptMessage::User { text: "q".into() }, failed]);
        assert_eq!(out.len(), 1);
    }
}

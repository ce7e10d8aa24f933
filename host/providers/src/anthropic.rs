//! Anthropic Messages: the request body and the decoding of its answers.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::{Value, json};

use crate::answer::{Answer, Emitter, bounded, ended_early, malformed};
use crate::error::FailureCause;
use crate::sse::SseEvent;
use crate::types::{ChatRequest, DEFAULT_ANTHROPIC_MAX_TOKENS, Message, StopReason, ToolCall, Usage};

pub(crate) const PATH: &str = "/v1/messages";
pub(crate) const VERSION: &str = "2023-06-01";

#[derive(Clone, Copy, PartialEq, Eq)]
enum Role {
    User,
    Assistant,
}

pub(crate) fn request_body(model: &str, request: &ChatRequest) -> Value {
    // The API wants user and assistant turns to alternate, with every tool result for an
    // assistant turn in the next user turn, results before any text. So blocks are gathered
    // per message, empty messages dropped, and neighbours with the same role merged.
    let mut turns: Vec<(Role, Vec<Value>)> = Vec::new();
    for message in &request.messages {
        let (role, blocks) = match message {
            Message::User { text } if text.is_empty() => continue,
            Message::User { text } => (Role::User, vec![json!({"type": "text", "text": text})]),
            Message::Assistant { text, tool_calls } => {
                let mut blocks = Vec::new();
                if !text.is_empty() {
                    blocks.push(json!({"type": "text", "text": text}));
                }
                for call in tool_calls {
                    blocks.push(json!({
                        "type": "tool_use",
                        "id": call.id,
                        "name": call.name,
                        "input": tool_input(&call.arguments),
                    }));
                }
                if blocks.is_empty() {
                    continue;
                }
                (Role::Assistant, blocks)
            }
            Message::ToolResult {
                call_id,
                content,
                is_error,
                ..
            } => {
                let mut block = json!({"type": "tool_result", "tool_use_id": call_id, "content": content});
                if *is_error {
                    block["is_error"] = json!(true);
                }
                (Role::User, vec![block])
            }
        };
        match turns.last_mut() {
            Some((last, existing)) if *last == role => existing.extend(blocks),
            _ => turns.push((role, blocks)),
        }
    }
    let messages: Vec<Value> = turns
        .into_iter()
        .map(|(role, mut blocks)| {
            // Stable: keeps the order of results among themselves and of text among itself.
            blocks.sort_by_key(|b| b["type"] != "tool_result");
            let role = match role {
                Role::User => "user",
                Role::Assistant => "assistant",
            };
            json!({"role": role, "content": blocks})
        })
        .collect();
    let mut body = json!({
        "model": model,
        "max_tokens": request.max_tokens.unwrap_or(DEFAULT_ANTHROPIC_MAX_TOKENS),
        "messages": messages,
        "stream": true,
    });
    if !request.system.is_empty() {
        body["system"] = json!(request.system);
    }
    if !request.tools.is_empty() {
        body["tools"] = request
            .tools
            .iter()
            .map(|tool| json!({"name": tool.name, "description": tool.description, "input_schema": tool.parameters}))
            .collect();
    }
    body
}

/// The API takes tool input as an object. Arguments the model sent broken are passed back as
/// an empty object: the tool result that follows already told the model what was wrong.
fn tool_input(arguments: &str) -> Value {
    match serde_json::from_str::<Value>(arguments) {
        Ok(value @ Value::Object(_)) => value,
        _ => json!({}),
    }
}

fn stop_reason(reason: &str) -> StopReason {
    match reason {
        "end_turn" => StopReason::EndTurn,
        "tool_use" => StopReason::ToolUse,
        "max_tokens" => StopReason::MaxTokens,
        other => StopReason::Other(other.to_string()),
    }
}

#[derive(Deserialize, Default)]
struct WireUsage {
    input_tokens: Option<u64>,
    output_tokens: Option<u64>,
}

#[derive(Deserialize)]
struct WireError {
    #[serde(rename = "type", default)]
    kind: String,
    #[serde(default)]
    message: String,
}

impl From<WireError> for FailureCause {
    fn from(error: WireError) -> Self {
        let message = match (error.kind.is_empty(), error.message.is_empty()) {
            (false, false) => format!("{} ({})", error.message, error.kind),
            (true, false) => error.message,
            _ => error.kind,
        };
        FailureCause::Stream {
            message: bounded(&message),
        }
    }
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Event {
    MessageStart {
        message: MessageStart,
    },
    ContentBlockStart {
        index: usize,
        content_block: Block,
    },
    ContentBlockDelta {
        index: usize,
        delta: BlockDelta,
    },
    ContentBlockStop {
        index: usize,
    },
    MessageDelta {
        delta: MessageDelta,
        #[serde(default)]
        usage: WireUsage,
    },
    MessageStop,
    Ping,
    Error {
        error: WireError,
    },
    /// Event types added after this was written are skipped, as the API asks clients to do.
    #[serde(other)]
    Unknown,
}

#[derive(Deserialize)]
struct MessageStart {
    #[serde(default)]
    usage: WireUsage,
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Block {
    Text {
        #[serde(default)]
        text: String,
    },
    ToolUse {
        id: String,
        name: String,
        #[serde(default)]
        input: Value,
    },
    /// Thinking and other blocks this crate does not forward.
    #[serde(other)]
    Other,
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum BlockDelta {
    TextDelta {
        text: String,
    },
    InputJsonDelta {
        partial_json: String,
    },
    #[serde(other)]
    Other,
}

#[derive(Deserialize)]
struct MessageDelta {
    stop_reason: Option<String>,
}

struct PendingToolUse {
    id: String,
    name: String,
    /// The input given with the block's start; used only when no JSON fragments follow.
    initial: Value,
    json: String,
    had_fragments: bool,
}

/// Turns Messages stream events into output.
#[derive(Default)]
pub(crate) struct StreamDecoder {
    answer: Answer,
    tool_uses: BTreeMap<usize, PendingToolUse>,
    stopped: bool,
}

impl StreamDecoder {
    /// Handles one event; `Ok(true)` once the message is complete (`message_stop`).
    pub(crate) fn event(&mut self, event: SseEvent, out: &mut Emitter<'_>) -> Result<bool, FailureCause> {
        let data = event.data.trim();
        let parsed: Event = serde_json::from_str(data).map_err(|e| malformed("a stream event", &e, data))?;
        match parsed {
            Event::MessageStart { message } => self.add_usage(message.usage),
            Event::ContentBlockStart { index, content_block } => match content_block {
                Block::Text { text } => self.answer.push_text(&text, out),
                Block::ToolUse { id, name, input } => {
                    self.tool_uses.insert(
                        index,
                        PendingToolUse {
                            id,
                            name,
                            initial: input,
                            json: String::new(),
                            had_fragments: false,
                        },
                    );
                }
                Block::Other => {}
            },
            Event::ContentBlockDelta { index, delta } => match delta {
                BlockDelta::TextDelta { text } => self.answer.push_text(&text, out),
                BlockDelta::InputJsonDelta { partial_json } => {
                    let Some(pending) = self.tool_uses.get_mut(&index) else {
                        return Err(FailureCause::Malformed {
                            detail: format!("input for content block {index}, which is not a tool_use block"),
                        });
                    };
                    pending.json.push_str(&partial_json);
                    pending.had_fragments = true;
                }
                BlockDelta::Other => {}
            },
            Event::ContentBlockStop { index } => {
                if let Some(pending) = self.tool_uses.remove(&index) {
                    let arguments = match (pending.had_fragments, &pending.initial) {
                        (true, _) => pending.json,
                        (false, Value::Object(map)) if !map.is_empty() => pending.initial.to_string(),
                        (false, _) => "{}".to_string(),
                    };
                    self.answer.push_tool_call(
                        ToolCall {
                            id: pending.id,
                            name: pending.name,
                            arguments,
                        },
                        out,
                    );
                }
            }
            Event::MessageDelta { delta, usage } => {
                if let Some(reason) = delta.stop_reason {
                    self.answer.stop = Some(stop_reason(&reason));
                }
                self.add_usage(usage);
            }
            Event::MessageStop => {
                self.stopped = true;
                return Ok(true);
            }
            Event::Ping | Event::Unknown => {}
            Event::Error { error } => return Err(error.into()),
        }
        Ok(false)
    }

    /// Message-start usage counts the prompt; message-delta usage is cumulative.
    fn add_usage(&mut self, usage: WireUsage) {
        if let Some(input) = usage.input_tokens {
            self.answer.usage.input_tokens = input;
        }
        if let Some(output) = usage.output_tokens {
            self.answer.usage.output_tokens = output;
        }
    }

    pub(crate) fn finish(self) -> Result<Answer, FailureCause> {
        if !self.stopped || !self.tool_uses.is_empty() {
            return Err(ended_early());
        }
        Ok(self.answer)
    }
}

#[derive(Deserialize)]
struct Whole {
    content: Vec<Block>,
    stop_reason: Option<String>,
    #[serde(default)]
    usage: WireUsage,
}

/// Decodes an answer sent as one JSON document.
pub(crate) fn decode_whole(body: &str, out: &mut Emitter<'_>) -> Result<Answer, FailureCause> {
    #[derive(Deserialize)]
    struct ErrorBody {
        error: WireError,
    }
    if let Ok(ErrorBody { error }) = serde_json::from_str(body) {
        return Err(error.into());
    }
    let whole: Whole = serde_json::from_str(body).map_err(|e| malformed("the body", &e, body))?;
    let mut answer = Answer::default();
    for block in whole.content {
        match block {
            Block::Text { text } => answer.push_text(&text, out),
            Block::ToolUse { id, name, input } => answer.push_tool_call(
                ToolCall {
                    id,
                    name,
                    arguments: input.to_string(),
                },
                out,
            ),
            Block::Other => {}
        }
    }
    answer.stop = whole.stop_reason.as_deref().map(stop_reason);
    answer.usage = Usage {
        input_tokens: whole.usage.input_tokens.unwrap_or_default(),
        output_tokens: whole.usage.output_tokens.unwrap_or_default(),
    };
    Ok(answer)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{StreamEvent, ToolDef};

    #[test]
    fn request_body_merges_tool_results_into_one_user_turn() {
        let call = |id: &str| ToolCall {
            id: id.into(),
            name: "read".into(),
            arguments: r#"{"path":"a.txt"}"#.into(),
        };
        let result = |id: &str, is_error| Message::ToolResult {
            call_id: id.into(),
            name: "read".into(),
            content: format!("result {id}"),
            is_error,
        };
        let request = ChatRequest {
            system: "be brief".into(),
            messages: vec![
                Message::User { text: "read".into() },
                Message::Assistant {
                    text: "Reading.".into(),
                    tool_calls: vec![call("t1"), call("t2")],
                },
                result("t1", false),
                result("t2", true),
                Message::User { text: "and?".into() },
            ],
            tools: vec![ToolDef {
                name: "read".into(),
                description: "Read a file".into(),
                parameters: json!({"type": "object"}),
            }],
            max_tokens: None,
        };
        assert_eq!(
            request_body("claude", &request),
            json!({
                "model": "claude",
                "max_tokens": DEFAULT_ANTHROPIC_MAX_TOKENS,
                "messages": [
                    {"role": "user", "content": [{"type": "text", "text": "read"}]},
                    {"role": "assistant", "content": [
                        {"type": "text", "text": "Reading."},
                        {"type": "tool_use", "id": "t1", "name": "read", "input": {"path": "a.txt"}},
                        {"type": "tool_use", "id": "t2", "name": "read", "input": {"path": "a.txt"}},
                    ]},
                    {"role": "user", "content": [
                        {"type": "tool_result", "tool_use_id": "t1", "content": "result t1"},
                        {"type": "tool_result", "tool_use_id": "t2", "content": "result t2", "is_error": true},
                        {"type": "text", "text": "and?"},
                    ]},
                ],
                "stream": true,
                "system": "be brief",
                "tools": [{"name": "read", "description": "Read a file", "input_schema": {"type": "object"}}],
            })
        );
    }

    #[test]
    fn broken_tool_arguments_go_back_as_an_empty_object() {
        assert_eq!(tool_input("{not json"), json!({}));
        assert_eq!(tool_input("[1]"), json!({}));
        assert_eq!(tool_input(r#"{"a":1}"#), json!({"a": 1}));
    }

    fn decode(events: &[&str]) -> (Result<Answer, FailureCause>, Vec<StreamEvent>) {
        let mut seen = Vec::new();
        let result = {
            let mut sink = |e| seen.push(e);
            let mut out = Emitter::new(&mut sink);
            let mut decoder = StreamDecoder::default();
            let mut failure = None;
            for data in events {
                let event = SseEvent {
                    event: None,
                    data: data.to_string(),
                };
                match decoder.event(event, &mut out) {
                    Ok(true) => break,
                    Ok(false) => {}
                    Err(e) => {
                        failure = Some(e);
                        break;
                    }
                }
            }
            match failure {
                Some(e) => Err(e),
                None => decoder.finish(),
            }
        };
        (result, seen)
    }

    #[test]
    fn tool_use_input_is_assembled_from_json_fragments() {
        let (answer, seen) = decode(&[
            r#"{"type":"message_start","message":{"id":"m","usage":{"input_tokens":20,"output_tokens":1}}}"#,
            r#"{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}"#,
            r#"{"type":"ping"}"#,
            r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Sure."}}"#,
            r#"{"type":"content_block_stop","index":0}"#,
            r#"{"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"toolu_1","name":"read","input":{}}}"#,
            r#"{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\"pa"}}"#,
            r#"{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"th\":\"a\"}"}}"#,
            r#"{"type":"content_block_stop","index":1}"#,
            r#"{"type":"message_delta","delta":{"stop_reason":"tool_use"},"usage":{"output_tokens":9}}"#,
            r#"{"type":"some_future_event"}"#,
            r#"{"type":"message_stop"}"#,
        ]);
        let answer = answer.unwrap();
        let call = ToolCall {
            id: "toolu_1".into(),
            name: "read".into(),
            arguments: r#"{"path":"a"}"#.into(),
        };
        assert_eq!(answer.text, "Sure.");
        assert_eq!(answer.tool_calls, vec![call.clone()]);
        assert_eq!(answer.stop_reason(), StopReason::ToolUse);
        assert_eq!(
            answer.usage,
            Usage {
                input_tokens: 20,
                output_tokens: 9
            }
        );
        assert_eq!(
            seen,
            vec![StreamEvent::TextDelta("Sure.".into()), StreamEvent::ToolCall(call)]
        );
    }

    #[test]
    fn stream_decoding_table() {
        let stop = |reason: &str| format!(r#"{{"type":"message_delta","delta":{{"stop_reason":"{reason}"}}}}"#);
        let message_stop = r#"{"type":"message_stop"}"#;
        let (end_turn, max_tokens, refusal) = (stop("end_turn"), stop("max_tokens"), stop("refusal"));
        let table: Vec<(Vec<&str>, Result<StopReason, &str>)> = vec![
            (vec![&end_turn, message_stop], Ok(StopReason::EndTurn)),
            (vec![&max_tokens, message_stop], Ok(StopReason::MaxTokens)),
            (vec![&refusal, message_stop], Ok(StopReason::Other("refusal".into()))),
            (vec![&end_turn], Err("ended before")),
            (
                vec![
                    r#"{"type":"content_block_start","index":0,"content_block":{"type":"tool_use","id":"t","name":"n"}}"#,
                    message_stop,
                ],
                Err("ended before"),
            ),
            (
                vec![r#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#],
                Err("Overloaded (overloaded_error)"),
            ),
            (
                vec!["{}"],
                Err("not a chat completion: missing field `type` at line 1 column 2 in a stream event `{}`"),
            ),
            (
                vec![
                    r#"{"type":"content_block_delta","index":3,"delta":{"type":"input_json_delta","partial_json":"{"}}"#,
                ],
                Err("not a tool_use block"),
            ),
        ];
        for (events, expected) in table {
            let (answer, _) = decode(&events);
            match (answer, &expected) {
                (Ok(answer), Ok(stop)) => assert_eq!(&answer.stop_reason(), stop, "{events:?}"),
                (Err(cause), Err(needle)) => {
                    let text = cause.describe("p");
                    assert!(text.contains(needle), "{events:?}: {text}");
                }
                (got, want) => panic!("{events:?}: got {got:?}, want {want:?}"),
            }
        }
    }

    #[test]
    fn a_whole_json_answer_is_accepted() {
        let mut seen = Vec::new();
        let mut sink = |e| seen.push(e);
        let mut out = Emitter::new(&mut sink);
        let body = r#"{"id":"m","type":"message","content":[{"type":"text","text":"hi"},{"type":"tool_use","id":"t","name":"read","input":{"path":"a"}}],"stop_reason":"tool_use","usage":{"input_tokens":5,"output_tokens":2}}"#;
        let answer = decode_whole(body, &mut out).unwrap();
        assert_eq!(answer.text, "hi");
        assert_eq!(answer.tool_calls[0].arguments, r#"{"path":"a"}"#);
        let error = r#"{"type":"error","error":{"type":"invalid_request_error","message":"bad"}}"#;
        assert!(matches!(
            decode_whole(error, &mut out),
            Err(FailureCause::Stream { .. })
        ));
    }
}

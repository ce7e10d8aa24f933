//! OpenAI-compatible Chat Completions: the request body and the decoding of its answers.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::{Value, json};

use crate::answer::{Answer, Emitter, ended_early, malformed};
use crate::error::FailureCause;
use crate::sse::SseEvent;
use crate::types::{ChatRequest, Message, StopReason, ToolCall, Usage};

pub(crate) const PATH: &str = "/chat/completions";

pub(crate) fn request_body(model: &str, request: &ChatRequest) -> Value {
    let mut messages = Vec::with_capacity(request.messages.len() + 1);
    if !request.system.is_empty() {
        messages.push(json!({"role": "system", "content": request.system}));
    }
    for message in &request.messages {
        messages.push(match message {
            Message::User { text } => json!({"role": "user", "content": text}),
            Message::Assistant { text, tool_calls } => {
                let mut entry = json!({
                    "role": "assistant",
                    "content": if text.is_empty() && !tool_calls.is_empty() { Value::Null } else { json!(text) },
                });
                if !tool_calls.is_empty() {
                    entry["tool_calls"] = tool_calls
                        .iter()
                        .map(|call| {
                            json!({
                                "id": call.id,
                                "type": "function",
                                "function": {"name": call.name, "arguments": call.arguments},
                            })
                        })
                        .collect();
                }
                entry
            }
            // The API has no error flag for tool results; the content says what happened.
            Message::ToolResult { call_id, content, .. } => {
                json!({"role": "tool", "tool_call_id": call_id, "content": content})
            }
        });
    }
    let mut body = json!({
        "model": model,
        "messages": messages,
        "stream": true,
        "stream_options": {"include_usage": true},
    });
    if !request.tools.is_empty() {
        body["tools"] = request
            .tools
            .iter()
            .map(|tool| {
                json!({
                    "type": "function",
                    "function": {
                        "name": tool.name,
                        "description": tool.description,
                        "parameters": tool.parameters,
                    },
                })
            })
            .collect();
    }
    if let Some(max_tokens) = request.max_tokens {
        body["max_tokens"] = json!(max_tokens);
    }
    body
}

#[derive(Deserialize)]
struct WireUsage {
    #[serde(default)]
    prompt_tokens: u64,
    #[serde(default)]
    completion_tokens: u64,
}

impl From<WireUsage> for Usage {
    fn from(usage: WireUsage) -> Self {
        Self {
            input_tokens: usage.prompt_tokens,
            output_tokens: usage.completion_tokens,
        }
    }
}

fn stop_reason(finish: &str) -> StopReason {
    match finish {
        "stop" => StopReason::EndTurn,
        "tool_calls" | "function_call" => StopReason::ToolUse,
        "length" => StopReason::MaxTokens,
        other => StopReason::Other(other.to_string()),
    }
}

fn provider_error(error: &Value) -> FailureCause {
    let message = error
        .get("message")
        .and_then(Value::as_str)
        .map(str::to_string)
        .unwrap_or_else(|| error.to_string());
    FailureCause::Stream {
        message: crate::answer::bounded(&message),
    }
}

#[derive(Deserialize)]
struct Chunk {
    #[serde(default)]
    choices: Vec<ChunkChoice>,
    usage: Option<WireUsage>,
    error: Option<Value>,
}

#[derive(Deserialize)]
struct ChunkChoice {
    delta: Option<Delta>,
    finish_reason: Option<String>,
}

#[derive(Deserialize)]
struct Delta {
    content: Option<String>,
    tool_calls: Option<Vec<ToolCallDelta>>,
}

#[derive(Deserialize)]
struct ToolCallDelta {
    index: Option<usize>,
    id: Option<String>,
    function: Option<FunctionDelta>,
}

#[derive(Deserialize)]
struct FunctionDelta {
    name: Option<String>,
    arguments: Option<String>,
}

#[derive(Default)]
struct PartialCall {
    id: String,
    name: String,
    arguments: String,
}

/// Turns `chat.completion.chunk` events into output.
#[derive(Default)]
pub(crate) struct StreamDecoder {
    answer: Answer,
    /// Tool calls by index; their arguments arrive in fragments and are complete only when the
    /// choice finishes.
    calls: BTreeMap<usize, PartialCall>,
    done: bool,
}

impl StreamDecoder {
    /// Handles one event; `Ok(true)` once the stream is over (`[DONE]`).
    pub(crate) fn event(&mut self, event: SseEvent, out: &mut Emitter<'_>) -> Result<bool, FailureCause> {
        let data = event.data.trim();
        if data == "[DONE]" {
            self.flush_calls(out);
            self.done = true;
            return Ok(true);
        }
        let chunk: Chunk = serde_json::from_str(data).map_err(|e| malformed("a stream chunk", &e, data))?;
        if let Some(error) = chunk.error {
            return Err(provider_error(&error));
        }
        if let Some(usage) = chunk.usage {
            self.answer.usage = usage.into();
        }
        for choice in chunk.choices {
            if let Some(delta) = choice.delta {
                if let Some(text) = delta.content {
                    self.answer.push_text(&text, out);
                }
                for (position, fragment) in delta.tool_calls.into_iter().flatten().enumerate() {
                    let call = self.calls.entry(fragment.index.unwrap_or(position)).or_default();
                    if let Some(id) = fragment.id.filter(|id| !id.is_empty()) {
                        call.id = id;
                    }
                    if let Some(function) = fragment.function {
                        call.name.push_str(function.name.as_deref().unwrap_or_default());
                        call.arguments
                            .push_str(function.arguments.as_deref().unwrap_or_default());
                    }
                }
            }
            if let Some(finish) = choice.finish_reason {
                self.answer.stop = Some(stop_reason(&finish));
                self.flush_calls(out);
            }
        }
        Ok(false)
    }

    fn flush_calls(&mut self, out: &mut Emitter<'_>) {
        for (index, call) in std::mem::take(&mut self.calls) {
            let id = if call.id.is_empty() {
                // Some local servers leave ids out; the result still has to name its call.
                format!("call_{index}")
            } else {
                call.id
            };
            self.answer.push_tool_call(
                ToolCall {
                    id,
                    name: call.name,
                    arguments: call.arguments,
                },
                out,
            );
        }
    }

    /// The answer once the body has ended.
    pub(crate) fn finish(self) -> Result<Answer, FailureCause> {
        if !self.done && self.answer.stop.is_none() {
            return Err(ended_early());
        }
        Ok(self.answer)
    }
}

#[derive(Deserialize)]
struct Whole {
    choices: Vec<WholeChoice>,
    usage: Option<WireUsage>,
}

#[derive(Deserialize)]
struct WholeChoice {
    message: WholeMessage,
    finish_reason: Option<String>,
}

#[derive(Deserialize)]
struct WholeMessage {
    content: Option<String>,
    tool_calls: Option<Vec<WholeToolCall>>,
}

#[derive(Deserialize)]
struct WholeToolCall {
    id: String,
    function: WholeFunction,
}

#[derive(Deserialize)]
struct WholeFunction {
    name: String,
    #[serde(default)]
    arguments: String,
}

/// Decodes an answer a server sent as one JSON document although a stream was asked for.
pub(crate) fn decode_whole(body: &str, out: &mut Emitter<'_>) -> Result<Answer, FailureCause> {
    if let Ok(value) = serde_json::from_str::<Value>(body)
        && let Some(error) = value.get("error").filter(|e| !e.is_null())
    {
        return Err(provider_error(error));
    }
    let whole: Whole = serde_json::from_str(body).map_err(|e| malformed("the body", &e, body))?;
    let mut answer = Answer::default();
    let Some(choice) = whole.choices.into_iter().next() else {
        return Err(FailureCause::Malformed {
            detail: "the completion has no choices".to_string(),
        });
    };
    answer.push_text(choice.message.content.as_deref().unwrap_or_default(), out);
    for call in choice.message.tool_calls.into_iter().flatten() {
        answer.push_tool_call(
            ToolCall {
                id: call.id,
                name: call.function.name,
                arguments: call.function.arguments,
            },
            out,
        );
    }
    answer.stop = choice.finish_reason.as_deref().map(stop_reason);
    if let Some(usage) = whole.usage {
        answer.usage = usage.into();
    }
    Ok(answer)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{StreamEvent, ToolDef};

    #[test]
    fn request_body_has_the_wire_shape() {
        let request = ChatRequest {
            system: "be brief".into(),
            messages: vec![
                Message::User {
                    text: "read a.txt".into(),
                },
                Message::Assistant {
                    text: String::new(),
                    tool_calls: vec![ToolCall {
                        id: "call_1".into(),
                        name: "read".into(),
                        arguments: r#"{"path":"a.txt"}"#.into(),
                    }],
                },
                Message::ToolResult {
                    call_id: "call_1".into(),
                    name: "read".into(),
                    content: "hello".into(),
                    is_error: false,
                },
            ],
            tools: vec![ToolDef {
                name: "read".into(),
                description: "Read a file".into(),
                parameters: json!({"type": "object"}),
            }],
            max_tokens: Some(100),
        };
        let body = request_body("gpt-4o", &request);
        assert_eq!(
            body,
            json!({
                "model": "gpt-4o",
                "messages": [
                    {"role": "system", "content": "be brief"},
                    {"role": "user", "content": "read a.txt"},
                    {"role": "assistant", "content": null, "tool_calls": [
                        {"id": "call_1", "type": "function", "function": {"name": "read", "arguments": "{\"path\":\"a.txt\"}"}}
                    ]},
                    {"role": "tool", "tool_call_id": "call_1", "content": "hello"},
                ],
                "stream": true,
                "stream_options": {"include_usage": true},
                "tools": [{"type": "function", "function": {"name": "read", "description": "Read a file", "parameters": {"type": "object"}}}],
                "max_tokens": 100,
            })
        );
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
    fn tool_call_fragments_are_assembled_by_index() {
        let (answer, seen) = decode(&[
            r#"{"choices":[{"delta":{"role":"assistant","content":"Let me look."}}]}"#,
            r#"{"choices":[{"delta":{"tool_calls":[{"index":0,"id":"call_a","function":{"name":"read","arguments":""}}]}}]}"#,
            r#"{"choices":[{"delta":{"tool_calls":[{"index":1,"id":"call_b","function":{"name":"list","arguments":"{}"}}]}}]}"#,
            r#"{"choices":[{"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"pa"}}]}}]}"#,
            r#"{"choices":[{"delta":{"tool_calls":[{"index":0,"function":{"arguments":"th\":\"a\"}"}}]}}]}"#,
            r#"{"choices":[{"delta":{},"finish_reason":"tool_calls"}]}"#,
            r#"{"choices":[],"usage":{"prompt_tokens":12,"completion_tokens":7}}"#,
            "[DONE]",
        ]);
        let answer = answer.unwrap();
        let read = ToolCall {
            id: "call_a".into(),
            name: "read".into(),
            arguments: r#"{"path":"a"}"#.into(),
        };
        let list = ToolCall {
            id: "call_b".into(),
            name: "list".into(),
            arguments: "{}".into(),
        };
        assert_eq!(answer.tool_calls, vec![read.clone(), list.clone()]);
        assert_eq!(answer.stop_reason(), StopReason::ToolUse);
        assert_eq!(
            answer.usage,
            Usage {
                input_tokens: 12,
                output_tokens: 7
            }
        );
        assert_eq!(
            seen,
            vec![
                StreamEvent::TextDelta("Let me look.".into()),
                StreamEvent::ToolCall(read),
                StreamEvent::ToolCall(list)
            ]
        );
    }

    #[test]
    fn stream_decoding_table() {
        let table: &[(&[&str], Result<StopReason, &str>)] = &[
            (
                &[r#"{"choices":[{"delta":{"content":"hi"},"finish_reason":"stop"}]}"#],
                Ok(StopReason::EndTurn),
            ),
            (
                &[r#"{"choices":[{"delta":{},"finish_reason":"length"}]}"#, "[DONE]"],
                Ok(StopReason::MaxTokens),
            ),
            (
                &[r#"{"choices":[{"delta":{},"finish_reason":"content_filter"}]}"#],
                Ok(StopReason::Other("content_filter".into())),
            ),
            // No finish reason but a proper end of stream: accepted.
            (
                &[r#"{"choices":[{"delta":{"content":"hi"}}]}"#, "[DONE]"],
                Ok(StopReason::EndTurn),
            ),
            (&[r#"{"choices":[{"delta":{"content":"hi"}}]}"#], Err("ended before")),
            (
                &["not json"],
                Err("not a chat completion: expected ident at line 1 column 2 in a stream chunk `not json`"),
            ),
            (
                &[r#"{"error":{"message":"model overloaded"}}"#],
                Err("model overloaded"),
            ),
        ];
        for (events, expected) in table {
            let (answer, _) = decode(events);
            match (answer, expected) {
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
        {
            let mut sink = |e| seen.push(e);
            let mut out = Emitter::new(&mut sink);
            let body = r#"{"choices":[{"message":{"role":"assistant","content":"hello","tool_calls":[{"id":"c1","type":"function","function":{"name":"read","arguments":"{}"}}]},"finish_reason":"tool_calls"}],"usage":{"prompt_tokens":3,"completion_tokens":2}}"#;
            let answer = decode_whole(body, &mut out).unwrap();
            assert_eq!(answer.text, "hello");
            assert_eq!(answer.tool_calls.len(), 1);
            assert!(matches!(
                decode_whole("{\"choices\":[]}", &mut out),
                Err(FailureCause::Malformed { .. })
            ));
        }
        assert_eq!(seen.len(), 2);
    }
}

//! The answer being assembled from a provider's stream, shared by both wire APIs.

use crate::error::FailureCause;
use crate::types::{StopReason, StreamEvent, ToolCall, Usage};

/// Forwards output to the caller and remembers whether any went out: once it has, another
/// model may no longer take over the turn.
pub(crate) struct Emitter<'a> {
    on_event: &'a mut (dyn FnMut(StreamEvent) + Send),
    pub(crate) emitted: bool,
}

impl<'a> Emitter<'a> {
    pub(crate) fn new(on_event: &'a mut (dyn FnMut(StreamEvent) + Send)) -> Self {
        Self {
            on_event,
            emitted: false,
        }
    }

    fn emit(&mut self, event: StreamEvent) {
        self.emitted = true;
        (self.on_event)(event);
    }
}

#[derive(Debug, Default)]
pub(crate) struct Answer {
    pub(crate) text: String,
    pub(crate) tool_calls: Vec<ToolCall>,
    pub(crate) stop: Option<StopReason>,
    pub(crate) usage: Usage,
}

impl Answer {
    pub(crate) fn push_text(&mut self, delta: &str, out: &mut Emitter<'_>) {
        if delta.is_empty() {
            return;
        }
        self.text.push_str(delta);
        out.emit(StreamEvent::TextDelta(delta.to_string()));
    }

    pub(crate) fn push_tool_call(&mut self, call: ToolCall, out: &mut Emitter<'_>) {
        self.tool_calls.push(call.clone());
        out.emit(StreamEvent::ToolCall(call));
    }

    /// The final stop reason. Several OpenAI-compatible servers say `stop` even when they
    /// called tools, and the caller must run those calls either way.
    pub(crate) fn stop_reason(&self) -> StopReason {
        match &self.stop {
            Some(StopReason::EndTurn) | None if !self.tool_calls.is_empty() => StopReason::ToolUse,
            Some(stop) => stop.clone(),
            None => StopReason::EndTurn,
        }
    }
}

/// At most this many characters of outside text (an error body, an offending chunk) go into
/// an error message.
pub(crate) const EXCERPT_CHARS: usize = 300;

/// Outside text is first cut to this many characters, then scrubbed of credentials, then cut to
/// [`EXCERPT_CHARS`]. Cutting only once, before scrubbing, could split a secret at the cut and
/// leave its start where the scrubber no longer recognises it.
const RAW_CHARS: usize = 8192;

/// The start of `text`, bounded for carrying around before it is scrubbed; control characters
/// become spaces so a message stays on one line.
pub(crate) fn bounded(text: &str) -> String {
    cut(text, RAW_CHARS)
}

/// The start of scrubbed `text`, short enough for an error message.
pub(crate) fn excerpt(text: &str) -> String {
    cut(text, EXCERPT_CHARS)
}

fn cut(text: &str, limit: usize) -> String {
    let mut out: String = text
        .chars()
        .take(limit)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if text.chars().nth(limit).is_some() {
        out.push('…');
    }
    out
}

pub(crate) fn malformed(what: &str, error: &serde_json::Error, data: &str) -> FailureCause {
    FailureCause::Malformed {
        detail: format!("{error} in {what} `{}`", bounded(data)),
    }
}

/// The stream closed before the provider said the answer was complete.
pub(crate) fn ended_early() -> FailureCause {
    FailureCause::Transport {
        detail: "the stream ended before the answer was complete".to_string(),
    }
}

/// The provider's own explanation from an error body: `error.message` (both APIs, and most
/// compatible servers), a plain `message` or `error` string, else the start of the body.
pub(crate) fn error_message(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    if let Ok(json) = serde_json::from_str::<serde_json::Value>(&text) {
        let message = json
            .pointer("/error/message")
            .or_else(|| json.get("message"))
            .or_else(|| json.get("error"))
            .and_then(serde_json::Value::as_str);
        if let Some(message) = message {
            return bounded(message.trim());
        }
    }
    bounded(text.trim())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_message_prefers_the_providers_explanation() {
        let table: &[(&str, &str)] = &[
            (
                r#"{"error":{"message":"Rate limit reached","type":"requests"}}"#,
                "Rate limit reached",
            ),
            (
                r#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#,
                "Overloaded",
            ),
            (r#"{"error":"model not found"}"#, "model not found"),
            (r#"{"message":"bad gateway"}"#, "bad gateway"),
            ("upstream\nconnect error", "upstream connect error"),
            ("", ""),
        ];
        for (body, expected) in table {
            assert_eq!(error_message(body.as_bytes()), *expected, "{body}");
        }
    }

    #[test]
    fn excerpt_is_bounded() {
        let long = "x".repeat(1000);
        assert_eq!(excerpt(&long).chars().count(), EXCERPT_CHARS + 1);
    }
}

//! `sessions_list`, `sessions_history`, `session_status`: what an agent may see of its own
//! sessions. Another agent's sessions are not visible.

use openclaw_core::routing::session_key::SessionKey;
use serde_json::{Value, json};

use super::Builtins;
use crate::sessions::TranscriptMessage;
use crate::tools::dispatch::{CallOrigin, OfferedTool, ToolOutcome};
use crate::tools::workspace::agent_workspace;

const DEFAULT_HISTORY: usize = 20;
const MAX_HISTORY: usize = 200;
const MAX_SEND_WAIT_SECS: u64 = 600;
const DEFAULT_SEND_WAIT_SECS: u64 = 120;

pub(super) fn specs() -> Vec<OfferedTool> {
    vec![
        OfferedTool {
            name: "sessions_list".into(),
            description: "List this agent's sessions (key, id, last update).".into(),
            parameters: json!({"type": "object", "properties": {"limit": {"type": "integer", "minimum": 1}}}),
        },
        OfferedTool {
            name: "sessions_history".into(),
            description: "Read the recent messages of one of this agent's sessions.".into(),
            parameters: json!({"type": "object", "properties": {
                "sessionKey": {"type": "string"},
                "limit": {"type": "integer", "minimum": 1, "maximum": MAX_HISTORY}
            }, "required": ["sessionKey"]}),
        },
        OfferedTool {
            name: "sessions_send".into(),
            description: "Send a message to another of this agent's sessions and wait for its reply.".into(),
            parameters: json!({"type": "object", "properties": {
                "sessionKey": {"type": "string"},
                "message": {"type": "string"},
                "timeoutSeconds": {"type": "integer", "minimum": 1, "maximum": MAX_SEND_WAIT_SECS}
            }, "required": ["sessionKey", "message"]}),
        },
        OfferedTool {
            name: "session_status".into(),
            description: "Show the current session: key, id, model and token counts.".into(),
            parameters: json!({"type": "object", "properties": {"sessionKey": {"type": "string"}}}),
        },
    ]
}

fn own_key(origin: &CallOrigin, args: &Value) -> Result<SessionKey, String> {
    let Some(text) = args.get("sessionKey").and_then(Value::as_str) else {
        return Ok(origin.session_key.clone());
    };
    let key = SessionKey::parse(text, &origin.agent_id).map_err(|e| e.to_string())?;
    if key.agent_id() != origin.agent_id {
        return Err(format!(
            "session `{key}` belongs to agent `{}`; an agent sees only its own sessions",
            key.agent_id()
        ));
    }
    Ok(key)
}

pub(super) fn call(builtins: &Builtins, origin: &CallOrigin, name: &str, args: &Value) -> ToolOutcome {
    let result = match name {
        "sessions_list" => list(builtins, origin, args),
        "sessions_history" => history(builtins, origin, args),
        _ => status(builtins, origin, args),
    };
    match result {
        Ok(value) => ToolOutcome::Done(value.to_string()),
        Err(e) => ToolOutcome::Failed(e),
    }
}

fn list(builtins: &Builtins, origin: &CallOrigin, args: &Value) -> Result<Value, String> {
    let limit = args.get("limit").and_then(Value::as_u64).unwrap_or(50) as usize;
    let mut rows: Vec<_> = builtins
        .sessions
        .list(&origin.agent_id)
        .map_err(|e| e.to_string())?
        .into_iter()
        .collect();
    rows.sort_by_key(|row| std::cmp::Reverse(row.1.updated_at));
    let sessions: Vec<Value> = rows
        .into_iter()
        .take(limit)
        .map(|(key, entry)| json!({"sessionKey": key, "sessionId": entry.session_id, "updatedAt": entry.updated_at, "chatType": entry.chat_type, "channel": entry.channel}))
        .collect();
    Ok(json!({"sessions": sessions}))
}

fn history(builtins: &Builtins, origin: &CallOrigin, args: &Value) -> Result<Value, String> {
    let key = own_key(origin, args)?;
    let limit = (args
        .get("limit")
        .and_then(Value::as_u64)
        .unwrap_or(DEFAULT_HISTORY as u64) as usize)
        .min(MAX_HISTORY);
    let Some(entry) = builtins.sessions.get(&key).map_err(|e| e.to_string())? else {
        return Err(format!("no session `{key}`"));
    };
    let cwd = agent_workspace(&builtins.config, &builtins.paths, &origin.agent_id);
    let transcript = builtins
        .sessions
        .transcript(&key, &entry, &cwd)
        .map_err(|e| e.to_string())?;
    let messages = transcript.messages().map_err(|e| e.to_string())?;
    let start = messages.len().saturating_sub(limit);
    let out: Vec<Value> = messages[start..]
        .iter()
        .map(|m| match m {
            TranscriptMessage::User { text } => json!({"role": "user", "text": text}),
            TranscriptMessage::Assistant { text, tool_calls, .. } => {
                json!({"role": "assistant", "text": text, "toolCalls": tool_calls.iter().map(|c| c.name.clone()).collect::<Vec<_>>()})
            }
            TranscriptMessage::ToolResult { name, text, is_error, .. } => {
                json!({"role": "toolResult", "tool": name, "text": text, "isError": is_error})
            }
        })
        .collect();
    Ok(json!({"sessionKey": key.to_string(), "messages": out}))
}

fn status(builtins: &Builtins, origin: &CallOrigin, args: &Value) -> Result<Value, String> {
    let key = own_key(origin, args)?;
    let entry = builtins.sessions.get(&key).map_err(|e| e.to_string())?;
    Ok(json!({
        "sessionKey": key.to_string(),
        "agentId": origin.agent_id,
        "sessionId": entry.as_ref().map(|e| e.session_id.clone()),
        "model": entry.as_ref().and_then(|e| e.model.clone()),
        "modelProvider": entry.as_ref().and_then(|e| e.model_provider.clone()),
        "inputTokens": entry.as_ref().map(|e| e.input_tokens),
        "outputTokens": entry.as_ref().map(|e| e.output_tokens),
    }))
}

/// `sessions_send`: a turn in another session of the same agent (agent-to-agent messaging is
/// `tools.agentToAgent`, not offered here). The target must be idle: a session messaging itself,
/// or two messaging each other, is refused instead of waiting forever.
pub(super) async fn send(builtins: &Builtins, origin: &CallOrigin, args: &Value) -> ToolOutcome {
    let key = match args.get("sessionKey").and_then(Value::as_str) {
        Some(_) => match own_key(origin, args) {
            Ok(key) => key,
            Err(e) => return ToolOutcome::denied(e),
        },
        None => return ToolOutcome::Failed("`sessions_send` needs `sessionKey`".into()),
    };
    if key == origin.session_key {
        return ToolOutcome::Failed("a session cannot send a message to itself".into());
    }
    let Some(message) = args
        .get("message")
        .and_then(Value::as_str)
        .filter(|m| !m.trim().is_empty())
    else {
        return ToolOutcome::Failed("`sessions_send` needs a non-empty `message`".into());
    };
    let Some(runner) = builtins.turns.get() else {
        return ToolOutcome::Failed("the agent service is not running".into());
    };
    let wait = args
        .get("timeoutSeconds")
        .and_then(Value::as_u64)
        .unwrap_or(DEFAULT_SEND_WAIT_SECS)
        .clamp(1, MAX_SEND_WAIT_SECS);
    let request = crate::agents::TurnRequest {
        session_key: key.clone(),
        message: message.to_string(),
        transport: origin.transport,
        channel: None,
        sender: None,
        run_id: format!(
            "send-{}",
            crate::state::ids::random_hex(8).unwrap_or_else(|_| format!("{:x}", crate::sessions::store::now_ms()))
        ),
        // A model messaging another session must not reset it with `/reset`.
        commands_allowed: false,
        group_tools: None,
    };
    let (reply, answer) = tokio::sync::oneshot::channel();
    if runner.send(crate::agents::QueuedTurn { request, reply }).is_err() {
        return ToolOutcome::Failed("the agent service is not running".into());
    }
    match tokio::time::timeout(std::time::Duration::from_secs(wait), answer).await {
        Ok(Ok(Ok(result))) => {
            ToolOutcome::Done(json!({"sessionKey": key.to_string(), "reply": result.text}).to_string())
        }
        Ok(Ok(Err(e))) => ToolOutcome::Failed(e.to_string()),
        Ok(Err(_)) => ToolOutcome::Failed("the agent service stopped before the session answered".into()),
        // Dropping the receiver is not enough to stop the other turn; the runner aborts it.
        Err(_) => ToolOutcome::Failed(format!("session `{key}` did not answer within {wait} s")),
    }
}

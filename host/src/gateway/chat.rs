//! The operator protocol's chat, session, tool and approval methods. A web chat and the CLI
//! (`openclaw agent`) use the same methods; replies stream as `chat` events on the event bus
//! (`state`: `delta`, `final`, `aborted`, `error`) and tool activity as `agent` events.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use openclaw_core::routing::session_key::SessionKey;
use serde_json::{Value, json};

use super::Gateway;
use super::http::uuid_like;
use super::methods::{Methods, RpcError, Scope};
use crate::agents::{AgentEvent, TurnRequest, TurnResult};
use crate::events::EventBus;
use crate::sessions::TranscriptMessage;
use crate::tools::approvals::ApprovalDecision;
use crate::tools::dispatch::{CallOrigin, ToolOutcome, Transport};

pub fn register(methods: &mut Methods) {
    methods.register("chat.send", Scope::Admin, |gw, params| async move {
        chat_send(gw, params, false).await
    });
    methods.register("agent", Scope::Admin, |gw, params| async move {
        chat_send(gw, params, true).await
    });
    methods.register("chat.history", Scope::Read, |gw, params| async move {
        chat_history(&gw, &params)
    });
    methods.register("chat.abort", Scope::Admin, |gw, params| async move {
        chat_abort(&gw, &params)
    });
    methods.register("sessions.list", Scope::Read, |gw, params| async move {
        sessions_list(&gw, &params)
    });
    methods.register("tools.list", Scope::Read, |gw, params| async move {
        tools_list(&gw, &params)
    });
    methods.register("tools.invoke", Scope::Admin, |gw, params| async move {
        tools_invoke(gw, params).await
    });
    methods.register("exec.approval.list", Scope::Read, |gw, _| async move {
        Ok(json!({"pending": gw.dispatcher().builtins().approvals().pending()}))
    });
    methods.register("exec.approval.resolve", Scope::Admin, |gw, params| async move {
        approval_resolve(&gw, &params)
    });
}

fn str_param<'a>(params: &'a Value, name: &str) -> Option<&'a str> {
    params
        .get(name)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

/// The session a request names (`sessionKey`, else the main session of `agentId` or of the
/// default agent). The agent must be configured.
fn session_of(gateway: &Gateway, params: &Value) -> Result<SessionKey, RpcError> {
    let agent = str_param(params, "agentId")
        .map(openclaw_core::routing::session_key::normalize_agent_id)
        .unwrap_or_else(|| gateway.agents.default_agent_id());
    let key = match str_param(params, "sessionKey") {
        Some(text) => {
            SessionKey::parse(text, &agent).map_err(|e| RpcError::invalid_params(format!("sessionKey: {e}")))?
        }
        None => SessionKey::main(&agent),
    };
    if !gateway.agents.knows_agent(key.agent_id()) {
        return Err(RpcError::invalid_params(format!(
            "agent `{}` is not configured (agents.list)",
            key.agent_id()
        )));
    }
    Ok(key)
}

fn result_json(result: &TurnResult) -> Value {
    json!({
        "runId": result.run_id,
        "sessionKey": result.session_key,
        "sessionId": result.session_id,
        "status": if result.aborted { "aborted" } else { "ok" },
        "text": result.text,
        "provider": result.provider,
        "model": result.model,
        "usage": {"input": result.input_tokens, "output": result.output_tokens},
        "toolCalls": result.tool_calls,
    })
}

/// `chat.send` answers at once with the run id and streams the reply as events; `agent` waits
/// and answers with the final reply (events stream meanwhile all the same).
async fn chat_send(gateway: Arc<Gateway>, params: Value, wait: bool) -> Result<Value, RpcError> {
    let key = session_of(&gateway, &params)?;
    let message = str_param(&params, "message")
        .ok_or_else(|| RpcError::invalid_params("`message` must be a non-empty string"))?
        .to_string();
    let run_id = str_param(&params, "idempotencyKey")
        .map(str::to_string)
        .unwrap_or_else(uuid_like);
    let request = TurnRequest {
        session_key: key.clone(),
        message,
        transport: Transport::Operator,
        channel: None,
        sender: None,
        run_id: run_id.clone(),
        commands_allowed: true,
        group_tools: None,
    };
    let work = gateway.begin_work();
    let task = {
        let gateway = gateway.clone();
        async move {
            let _work = work;
            run_with_events(&gateway, request).await
        }
    };
    if wait {
        return task.await.map(|r| result_json(&r)).map_err(|message| RpcError {
            code: "AGENT_ERROR",
            message,
        });
    }
    tokio::spawn(task);
    Ok(json!({"runId": run_id, "sessionKey": key.to_string(), "status": "started"}))
}

/// Runs a turn and publishes its progress on the event bus.
async fn run_with_events(gateway: &Gateway, request: TurnRequest) -> Result<TurnResult, String> {
    let events: EventBus = gateway.events.clone();
    let run_id = request.run_id.clone();
    let session_key = request.session_key.to_string();
    let seq = AtomicU64::new(0);
    let text = std::sync::Mutex::new(String::new());
    let publish = |state: &str, extra: Value| {
        let mut payload = json!({"runId": run_id, "sessionKey": session_key, "seq": seq.fetch_add(1, Ordering::Relaxed), "state": state});
        if let (Some(object), Value::Object(extra)) = (payload.as_object_mut(), extra) {
            object.extend(extra);
        }
        events.publish("chat", payload);
    };
    let on_event = |event: AgentEvent| {
        match event {
        AgentEvent::Delta { text: delta } => {
            let mut all = text.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            all.push_str(&delta);
            publish(
                "delta",
                json!({"delta": delta, "message": {"role": "assistant", "content": [{"type": "text", "text": all.clone()}]}}),
            );
        }
        AgentEvent::ToolStart { call_id, name } => events.publish(
            "agent",
            json!({"runId": run_id, "sessionKey": session_key, "stream": "tool", "data": {"phase": "start", "name": name, "toolCallId": call_id}}),
        ),
        AgentEvent::ToolEnd { call_id, name, is_error } => events.publish(
            "agent",
            json!({"runId": run_id, "sessionKey": session_key, "stream": "tool", "data": {"phase": "end", "name": name, "toolCallId": call_id, "isError": is_error}}),
        ),
    }
    };
    match gateway.agents.run_turn(request, &on_event).await {
        Ok(result) => {
            let state = if result.aborted { "aborted" } else { "final" };
            publish(
                state,
                json!({"message": {"role": "assistant", "content": [{"type": "text", "text": result.text}]}}),
            );
            Ok(result)
        }
        Err(e) => {
            publish("error", json!({"errorMessage": e.to_string()}));
            Err(e.to_string())
        }
    }
}

fn chat_history(gateway: &Gateway, params: &Value) -> Result<Value, RpcError> {
    let key = session_of(gateway, params)?;
    let limit = params.get("limit").and_then(Value::as_u64).unwrap_or(200).min(1000) as usize;
    let messages = gateway.agents.history(&key, limit).map_err(RpcError::unavailable)?;
    let messages: Vec<Value> = messages
        .iter()
        .map(|m| {
            let mut value = m.to_json();
            if let (TranscriptMessage::Assistant { .. }, Some(object)) = (m, value.as_object_mut()) {
                object.remove("timestamp");
            }
            value
        })
        .collect();
    Ok(json!({"sessionKey": key.to_string(), "messages": messages}))
}

fn chat_abort(gateway: &Gateway, params: &Value) -> Result<Value, RpcError> {
    let key = session_of(gateway, params)?;
    let aborted = gateway.agents.abort(key.as_ref(), str_param(params, "runId"));
    Ok(json!({"ok": true, "aborted": !aborted.is_empty(), "runIds": aborted}))
}

fn sessions_list(gateway: &Gateway, params: &Value) -> Result<Value, RpcError> {
    let agents: Vec<String> = match str_param(params, "agentId") {
        Some(a) => vec![openclaw_core::routing::session_key::normalize_agent_id(a)],
        None => gateway.agents.agent_ids(),
    };
    let mut sessions = Vec::new();
    for agent in agents {
        let list = gateway
            .agents
            .sessions()
            .list(&agent)
            .map_err(|e| RpcError::unavailable(e.to_string()))?;
        for (key, entry) in list {
            sessions.push(json!({"key": key, "agentId": agent, "entry": entry}));
        }
    }
    Ok(json!({"sessions": sessions}))
}

fn tools_list(gateway: &Gateway, params: &Value) -> Result<Value, RpcError> {
    let key = session_of(gateway, params)?;
    let origin = CallOrigin::new(key.clone(), Transport::Operator);
    let offered: Vec<Value> = gateway
        .dispatcher()
        .offered(&origin)
        .into_iter()
        .map(|t| json!({"name": t.name, "description": t.description, "parameters": t.parameters}))
        .collect();
    let policy = gateway.dispatcher().policy(&origin);
    Ok(json!({"sessionKey": key.to_string(), "tools": offered, "warnings": policy.warnings()}))
}

async fn tools_invoke(gateway: Arc<Gateway>, params: Value) -> Result<Value, RpcError> {
    let key = session_of(&gateway, &params)?;
    let tool = str_param(&params, "tool").ok_or_else(|| RpcError::invalid_params("`tool` must name a tool"))?;
    let args = params.get("args").cloned().unwrap_or_else(|| json!({}));
    let origin = CallOrigin::new(key, Transport::Operator);
    let _work = gateway.begin_work();
    match gateway
        .dispatcher()
        .call(&origin, tool, args, &format!("ws-{}", uuid_like()))
        .await
    {
        ToolOutcome::Done(output) => {
            Ok(json!({"ok": true, "result": serde_json::from_str::<Value>(&output).unwrap_or(Value::String(output))}))
        }
        ToolOutcome::Refused(refusal) => Err(RpcError {
            code: "FORBIDDEN",
            message: refusal.message().to_string(),
        }),
        ToolOutcome::Failed(message) => Err(RpcError {
            code: "TOOL_ERROR",
            message,
        }),
    }
}

fn approval_resolve(gateway: &Gateway, params: &Value) -> Result<Value, RpcError> {
    let id = str_param(params, "id").ok_or_else(|| RpcError::invalid_params("`id` must name a pending approval"))?;
    let decision =
        ApprovalDecision::parse(str_param(params, "decision").unwrap_or_default()).map_err(RpcError::invalid_params)?;
    let request = gateway
        .dispatcher()
        .builtins()
        .approvals()
        .resolve(id, decision)
        .map_err(RpcError::invalid_params)?;
    Ok(json!({"ok": true, "id": request.id, "decision": decision.as_str(), "command": request.command}))
}

//! OpenClaw's OpenAI-compatible endpoints, so any OpenAI client library can talk to the
//! assistant: `POST /v1/chat/completions` (streaming or not) and `GET /v1/models`. Both are off
//! unless `gateway.http.endpoints.chatCompletions.enabled` is true, sit behind the gateway's
//! auth, and run turns through the same agent loop and tool gate as every other transport
//! (tools called over this path are HTTP calls: the HTTP deny list applies too).

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, Extension, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use openclaw_core::routing::session_key::{SessionKey, normalize_id};
use serde_json::{Value, json};
use tokio::sync::mpsc;

use super::Gateway;
use super::http::{authenticate, denied_response, error_body, uuid_like};
use super::serve::Admission;
use crate::agents::{AgentEvent, AgentService, TurnError, TurnRequest};
use crate::tools::Transport;

const AGENT_HEADER: &str = "x-openclaw-agent-id";
const SESSION_HEADER: &str = "x-openclaw-session-key";

fn enabled(gateway: &Gateway) -> bool {
    gateway
        .config
        .gateway
        .as_ref()
        .and_then(|g| g.http.as_ref())
        .and_then(|h| h.endpoints.as_ref())
        .and_then(|e| e.chat_completions.as_ref())
        .and_then(|c| c.enabled)
        == Some(true)
}

fn disabled() -> Response {
    error_body(
        StatusCode::NOT_FOUND,
        "not_found",
        "the OpenAI-compatible endpoints are off; enable them with gateway.http.endpoints.chatCompletions.enabled: true",
    )
}

/// Authentication first (an unauthenticated caller learns nothing, not even whether the
/// endpoint is on), then the endpoint switch.
fn admit(
    gateway: &Gateway,
    peer: SocketAddr,
    headers: &HeaderMap,
    admission: Option<Extension<Arc<Admission>>>,
) -> Result<(), Box<Response>> {
    if let Err(denied) = authenticate(gateway, peer, headers) {
        return Err(Box::new(denied_response(denied, &gateway.guard.auth())));
    }
    if let Some(Extension(admission)) = admission {
        admission.authenticated();
    }
    if !enabled(gateway) {
        return Err(Box::new(disabled()));
    }
    Ok(())
}

fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

pub async fn models(
    State(gateway): State<Arc<Gateway>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    admission: Option<Extension<Arc<Admission>>>,
    headers: HeaderMap,
) -> Response {
    if let Err(response) = admit(&gateway, peer, &headers, admission) {
        return *response;
    }
    let mut data = vec![json!({"id": "openclaw", "object": "model", "created": 0, "owned_by": "openclaw"})];
    for id in gateway.agents.agent_ids() {
        data.push(json!({"id": format!("openclaw:{id}"), "object": "model", "created": 0, "owned_by": "openclaw"}));
    }
    axum::Json(json!({"object": "list", "data": data})).into_response()
}

/// Which agent a request addresses: the header, else the model name (`openclaw`,
/// `openclaw:<agentId>`, `openclaw/<agentId>`, or a bare agent id).
fn agent_for(agents: &AgentService, headers: &HeaderMap, model: &str) -> Result<String, String> {
    let from_header = headers.get(AGENT_HEADER).and_then(|v| v.to_str().ok());
    let wanted = match from_header {
        Some(id) => Some(id.to_string()),
        None => {
            let model = model.trim();
            if model.is_empty() || model.eq_ignore_ascii_case("openclaw") {
                None
            } else {
                let id = model
                    .strip_prefix("openclaw:")
                    .or_else(|| model.strip_prefix("openclaw/"))
                    .or_else(|| model.strip_prefix("agent:"))
                    .unwrap_or(model);
                Some(id.to_string())
            }
        }
    };
    let Some(wanted) = wanted else {
        return Ok(agents.default_agent_id());
    };
    let id = normalize_id(&wanted, "main");
    if agents.knows_agent(&id) {
        Ok(id)
    } else {
        Err(format!(
            "model `{model}` names no configured agent; use `openclaw` (the default agent) or `openclaw:<agentId>` (GET /v1/models lists them)"
        ))
    }
}

fn text_of(content: &Value) -> String {
    match content {
        Value::String(s) => s.clone(),
        Value::Array(parts) => parts
            .iter()
            .filter(|p| p.get("type").and_then(Value::as_str) == Some("text"))
            .filter_map(|p| p.get("text").and_then(Value::as_str))
            .collect::<Vec<_>>()
            .join("\n"),
        _ => String::new(),
    }
}

struct Parsed {
    key: SessionKey,
    message: String,
    model: String,
    stream: bool,
}

fn parse(gateway: &Gateway, headers: &HeaderMap, body: &[u8]) -> Result<Parsed, Box<Response>> {
    let bad = |message: String| Box::new(error_body(StatusCode::BAD_REQUEST, "invalid_request_error", &message));
    let request: Value = serde_json::from_slice(body)
        .map_err(|e| bad(format!("the body must be a JSON chat completion request: {e}")))?;
    let model = request
        .get("model")
        .and_then(Value::as_str)
        .unwrap_or("openclaw")
        .to_string();
    let agent = agent_for(&gateway.agents, headers, &model).map_err(bad)?;
    let messages = request
        .get("messages")
        .and_then(Value::as_array)
        .ok_or_else(|| bad("`messages` must be an array of {role, content}".into()))?;
    // The gateway keeps the conversation in the session; the newest user message is the turn.
    let message = messages
        .iter()
        .rev()
        .find(|m| m.get("role").and_then(Value::as_str) == Some("user"))
        .map(|m| text_of(m.get("content").unwrap_or(&Value::Null)))
        .filter(|t| !t.trim().is_empty())
        .ok_or_else(|| bad("`messages` has no user message with text".into()))?;
    let key = match headers.get(SESSION_HEADER).and_then(|v| v.to_str().ok()) {
        Some(text) => {
            let key = SessionKey::parse(text, &agent).map_err(|e| bad(format!("{SESSION_HEADER}: {e}")))?;
            if key.agent_id() != agent {
                return Err(bad(format!(
                    "{SESSION_HEADER}: session `{key}` belongs to agent `{}`, not `{agent}`",
                    key.agent_id()
                )));
            }
            key
        }
        None => {
            let rest = match request
                .get("user")
                .and_then(Value::as_str)
                .filter(|u| !u.trim().is_empty())
            {
                Some(user) => format!("openai-user:{}", normalize_id(user, "anonymous")),
                None => format!("openai:{}", uuid_like()),
            };
            SessionKey::new(&agent, &rest).map_err(|e| bad(e.to_string()))?
        }
    };
    Ok(Parsed {
        key,
        message,
        model,
        stream: request.get("stream").and_then(Value::as_bool).unwrap_or(false),
    })
}

fn turn_error_response(error: &TurnError) -> Response {
    let status = match error {
        TurnError::Model(_) => StatusCode::BAD_GATEWAY,
        TurnError::Store(_) => StatusCode::INTERNAL_SERVER_ERROR,
        _ => StatusCode::SERVICE_UNAVAILABLE,
    };
    (
        status,
        axum::Json(json!({"error": {"message": error.to_string(), "type": "upstream_error"}})),
    )
        .into_response()
}

pub async fn chat_completions(
    State(gateway): State<Arc<Gateway>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    admission: Option<Extension<Arc<Admission>>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err(response) = admit(&gateway, peer, &headers, admission) {
        return *response;
    }
    let parsed = match parse(&gateway, &headers, &body) {
        Ok(p) => p,
        Err(response) => return *response,
    };
    let run_id = uuid_like();
    let id = format!("chatcmpl-{run_id}");
    let request = TurnRequest {
        session_key: parsed.key.clone(),
        message: parsed.message,
        transport: Transport::Http,
        channel: None,
        sender: None,
        run_id: run_id.clone(),
        commands_allowed: true,
        group_tools: None,
    };
    let created = now_secs();
    if !parsed.stream {
        let _work = gateway.begin_work();
        return match gateway.agents.run_turn(request, &|_| {}).await {
            Ok(result) => axum::Json(json!({
                "id": id,
                "object": "chat.completion",
                "created": created,
                "model": parsed.model,
                "choices": [{"index": 0, "message": {"role": "assistant", "content": result.text}, "finish_reason": "stop"}],
                "usage": {
                    "prompt_tokens": result.input_tokens,
                    "completion_tokens": result.output_tokens,
                    "total_tokens": result.input_tokens + result.output_tokens,
                },
            }))
            .into_response(),
            Err(e) => turn_error_response(&e),
        };
    }
    stream_response(gateway, request, id, parsed.model, created)
}

/// Aborts the run when the client goes away before it finished.
struct AbortOnDrop {
    agents: Arc<AgentService>,
    session_key: String,
    run_id: String,
}

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.agents.abort(&self.session_key, Some(&self.run_id));
    }
}

fn stream_response(gateway: Arc<Gateway>, request: TurnRequest, id: String, model: String, created: u64) -> Response {
    // Unbounded: a delta is never dropped (clients concatenate them), and a turn's output is
    // bounded by the provider's own token limit.
    let (tx, rx) = mpsc::unbounded_channel::<Bytes>();
    let chunk = move |delta: Value, finish: Value| {
        let value = json!({
            "id": id,
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        });
        Bytes::from(format!("data: {value}\n\n"))
    };
    let guard = AbortOnDrop {
        agents: gateway.agents.clone(),
        session_key: request.session_key.to_string(),
        run_id: request.run_id.clone(),
    };
    let work = gateway.begin_work();
    tokio::spawn(async move {
        let _work = work;
        let _ = tx.send(chunk(json!({"role": "assistant"}), Value::Null));
        let deltas = tx.clone();
        let chunk_for_events = chunk.clone();
        let on_event = move |event: AgentEvent| {
            if let AgentEvent::Delta { text } = event {
                let _ = deltas.send(chunk_for_events(json!({"content": text}), Value::Null));
            }
        };
        match gateway.agents.run_turn(request, &on_event).await {
            Ok(_) => {
                let _ = tx.send(chunk(json!({}), json!("stop")));
            }
            Err(e) => {
                let error = json!({"error": {"message": e.to_string(), "type": "upstream_error"}});
                let _ = tx.send(Bytes::from(format!("data: {error}\n\n")));
            }
        }
        let _ = tx.send(Bytes::from_static(b"data: [DONE]\n\n"));
    });
    let stream = futures_util::stream::unfold((rx, guard), |(mut rx, guard)| async move {
        rx.recv()
            .await
            .map(|bytes| (Ok::<_, std::io::Error>(bytes), (rx, guard)))
    });
    let mut response = Response::new(Body::from_stream(stream));
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

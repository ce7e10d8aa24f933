//! A scripted model server: a real HTTP server on 127.0.0.1 that speaks the OpenAI Chat
//! Completions API (`/v1/chat/completions`, also `/chat/completions`) and the Anthropic
//! Messages API (`/v1/messages`), streamed (SSE, written in many small pieces) or not.
//!
//! Each model name has a queue of [`Turn`]s; every request takes the next turn of the model it
//! names. Every request is recorded (parsed body and headers), so a test can assert which tools
//! were offered and which tool results the model was shown.
//!
//! Like the real APIs it refuses malformed conversations with 400 (a tool result that answers
//! no call, Anthropic roles that do not alternate, a missing `anthropic-version`); such a
//! request does not take a turn.
//!
//! ```ignore
//! let server = ModelServer::start(Script::new().model("m", [
//!     Turn::tool_call("read", json!({"path": "a.txt"})),
//!     Turn::text("The file says hello."),
//! ])).await;
//! // base URL for an OpenAI-compatible provider: server.openai_base_url()
//! // base URL for an Anthropic provider: server.anthropic_base_url()
//! ```

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::serve::ListenerExt as _;
use serde_json::{Value, json};
use tokio::sync::mpsc;

/// Which wire API a request used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WireApi {
    OpenAi,
    Anthropic,
}

/// How a scripted reply ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ending {
    Complete,
    /// The connection is cut after the content, before the stream says it is finished.
    Drop,
    /// Nothing more is sent after the content, and the connection stays open.
    Stall,
}

#[derive(Debug, Clone)]
enum Action {
    Reply {
        text: String,
        tool_calls: Vec<(String, Value)>,
        ending: Ending,
        truncated: bool,
    },
    Status {
        status: u16,
        body: Option<String>,
        retry_after: Option<String>,
    },
    ReflectHeaders {
        status: u16,
    },
    Garbage,
    Hang,
}

/// One scripted answer.
#[derive(Debug, Clone)]
pub struct Turn {
    action: Action,
    usage: Option<(u64, u64)>,
    delay: Option<std::time::Duration>,
}

impl Turn {
    fn reply(text: String, tool_calls: Vec<(String, Value)>) -> Self {
        Self {
            action: Action::Reply {
                text,
                tool_calls,
                ending: Ending::Complete,
                truncated: false,
            },
            usage: None,
            delay: None,
        }
    }

    /// A text answer (streamed as several deltas).
    pub fn text(text: impl Into<String>) -> Self {
        Self::reply(text.into(), Vec::new())
    }

    /// One tool call with these JSON arguments (streamed in fragments).
    pub fn tool_call(name: impl Into<String>, arguments: Value) -> Self {
        Self::reply(String::new(), vec![(name.into(), arguments)])
    }

    /// Several tool calls in one answer.
    pub fn tool_calls<N: Into<String>>(calls: impl IntoIterator<Item = (N, Value)>) -> Self {
        Self::reply(String::new(), calls.into_iter().map(|(n, a)| (n.into(), a)).collect())
    }

    /// Adds text before the tool calls of this answer.
    pub fn with_text(mut self, text: impl Into<String>) -> Self {
        if let Action::Reply { text: t, .. } = &mut self.action {
            *t = text.into();
        }
        self
    }

    /// The answer stopped at the output cap (`length` / `max_tokens`).
    pub fn truncated(mut self) -> Self {
        if let Action::Reply { truncated, .. } = &mut self.action {
            *truncated = true;
        }
        self
    }

    /// Streams the content, then cuts the connection before the end of the stream.
    pub fn then_drop(mut self) -> Self {
        if let Action::Reply { ending, .. } = &mut self.action {
            *ending = Ending::Drop;
        }
        self
    }

    /// Streams the content, then sends nothing more and keeps the connection open.
    pub fn then_stall(mut self) -> Self {
        if let Action::Reply { ending, .. } = &mut self.action {
            *ending = Ending::Stall;
        }
        self
    }

    /// Waits this long before answering (a slow model).
    pub fn delayed(mut self, delay: std::time::Duration) -> Self {
        self.delay = Some(delay);
        self
    }

    /// Reported token usage (otherwise: input = number of messages, output = pieces sent).
    pub fn usage(mut self, input: u64, output: u64) -> Self {
        self.usage = Some((input, output));
        self
    }

    /// An HTTP error in the API's error format.
    pub fn status(status: u16) -> Self {
        Self {
            action: Action::Status {
                status,
                body: None,
                retry_after: None,
            },
            usage: None,
            delay: None,
        }
    }

    /// Adds `retry-after: <seconds>` to a status turn.
    pub fn retry_after(mut self, seconds: u64) -> Self {
        if let Action::Status { retry_after, .. } = &mut self.action {
            *retry_after = Some(seconds.to_string());
        }
        self
    }

    /// Replaces the body of a status turn with this exact text.
    pub fn body(mut self, text: impl Into<String>) -> Self {
        if let Action::Status { body, .. } = &mut self.action {
            *body = Some(text.into());
        }
        self
    }

    /// An error whose message repeats every request header back (for proving that a client
    /// scrubs credentials from what it reports).
    pub fn reflect_headers(status: u16) -> Self {
        Self {
            action: Action::ReflectHeaders { status },
            usage: None,
            delay: None,
        }
    }

    /// `200 OK`, `content-type: application/json`, and a body that is not JSON.
    pub fn garbage() -> Self {
        Self {
            action: Action::Garbage,
            usage: None,
            delay: None,
        }
    }

    /// Never answers (for timeout and cancellation tests).
    pub fn hang() -> Self {
        Self {
            action: Action::Hang,
            usage: None,
            delay: None,
        }
    }
}

/// Turns per model name.
#[derive(Debug, Clone, Default)]
pub struct Script {
    models: BTreeMap<String, VecDeque<Turn>>,
    api_key: Option<String>,
}

impl Script {
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends `turns` to the queue of `model`.
    pub fn model(mut self, model: impl Into<String>, turns: impl IntoIterator<Item = Turn>) -> Self {
        self.models.entry(model.into()).or_default().extend(turns);
        self
    }

    /// Requires `Authorization: Bearer <key>` (OpenAI) or `x-api-key: <key>` (Anthropic);
    /// other requests get 401 without taking a turn.
    pub fn api_key(mut self, key: impl Into<String>) -> Self {
        self.api_key = Some(key.into());
        self
    }
}

/// One request as the server received it.
#[derive(Debug, Clone)]
pub struct ModelRequest {
    pub api: WireApi,
    pub path: String,
    /// The `model` of the body ("" if absent).
    pub model: String,
    pub stream: bool,
    /// Header names in lowercase, in the order received.
    pub headers: Vec<(String, String)>,
    /// The parsed body (a JSON string holding the raw text if it was not JSON).
    pub body: Value,
    pub received_at: Instant,
}

impl ModelRequest {
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers.iter().find(|(k, _)| *k == name).map(|(_, v)| v.as_str())
    }

    /// Names of the tools offered, in either API's shape.
    pub fn tool_names(&self) -> Vec<String> {
        self.body["tools"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|tool| tool.pointer("/function/name").or_else(|| tool.get("name")))
            .filter_map(|name| name.as_str().map(str::to_string))
            .collect()
    }

    pub fn messages(&self) -> Vec<Value> {
        self.body["messages"].as_array().cloned().unwrap_or_default()
    }

    /// The system prompt (OpenAI: the first `system` message; Anthropic: `system`).
    pub fn system(&self) -> Option<String> {
        match self.api {
            WireApi::Anthropic => self.body["system"].as_str().map(str::to_string),
            WireApi::OpenAi => self
                .messages()
                .iter()
                .find(|m| m["role"] == "system")
                .and_then(|m| m["content"].as_str().map(str::to_string)),
        }
    }

    /// Tool results the model was shown, as (call id, content, is_error), in either API's shape.
    pub fn tool_results(&self) -> Vec<(String, String, bool)> {
        let mut results = Vec::new();
        for message in self.messages() {
            if message["role"] == "tool" {
                results.push((
                    message["tool_call_id"].as_str().unwrap_or_default().to_string(),
                    message["content"].as_str().unwrap_or_default().to_string(),
                    false,
                ));
            }
            for block in message["content"].as_array().into_iter().flatten() {
                if block["type"] == "tool_result" {
                    results.push((
                        block["tool_use_id"].as_str().unwrap_or_default().to_string(),
                        block["content"].as_str().unwrap_or_default().to_string(),
                        block["is_error"].as_bool().unwrap_or(false),
                    ));
                }
            }
        }
        results
    }
}

struct Shared {
    script: Mutex<BTreeMap<String, VecDeque<Turn>>>,
    api_key: Option<String>,
    requests: Mutex<Vec<ModelRequest>>,
    next_id: AtomicU64,
    disconnects: AtomicUsize,
    connections: AtomicUsize,
}

/// The running server. Dropping it stops accepting connections.
pub struct ModelServer {
    addr: SocketAddr,
    shared: Arc<Shared>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl ModelServer {
    /// Starts on 127.0.0.1 with an ephemeral port, on the current tokio runtime.
    pub async fn start(script: Script) -> Self {
        let (addr, shared, stop) = serve(script).await;
        Self {
            addr,
            shared,
            stop: Some(stop),
            thread: None,
        }
    }

    /// Starts on a thread with its own runtime, for tests that are not async (for example
    /// tests that drive the CLI as a child process).
    pub fn start_blocking(script: Script) -> Self {
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap_or_else(|e| panic!("model server runtime: {e}"));
            runtime.block_on(async move {
                let (addr, shared, stop) = serve(script).await;
                let (done_tx, done_rx) = tokio::sync::oneshot::channel();
                let _ = ready_tx.send((addr, shared, done_tx));
                let _ = done_rx.await;
                let _ = stop.send(());
            });
        });
        let (addr, shared, stop) = ready_rx
            .recv()
            .unwrap_or_else(|e| panic!("model server thread died: {e}"));
        Self {
            addr,
            shared,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The base URL an OpenAI-compatible client appends `/chat/completions` to.
    pub fn openai_base_url(&self) -> String {
        format!("{}/v1", self.url())
    }

    /// The base URL an Anthropic client appends `/v1/messages` to.
    pub fn anthropic_base_url(&self) -> String {
        self.url()
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Appends a turn to the queue of `model`.
    pub fn push(&self, model: &str, turn: Turn) {
        if let Ok(mut script) = self.shared.script.lock() {
            script.entry(model.to_string()).or_default().push_back(turn);
        }
    }

    /// Turns of `model` not yet taken.
    pub fn remaining(&self, model: &str) -> usize {
        self.shared
            .script
            .lock()
            .map(|s| s.get(model).map_or(0, VecDeque::len))
            .unwrap_or(0)
    }

    /// Every request received so far, oldest first.
    pub fn requests(&self) -> Vec<ModelRequest> {
        self.shared.requests.lock().map(|r| r.clone()).unwrap_or_default()
    }

    /// TCP connections accepted so far (a client that pools connections opens one for many
    /// requests).
    pub fn connections(&self) -> usize {
        self.shared.connections.load(Ordering::SeqCst)
    }

    /// How many streamed answers the client abandoned before they ended.
    pub fn disconnects(&self) -> usize {
        self.shared.disconnects.load(Ordering::SeqCst)
    }
}

impl Drop for ModelServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

async fn serve(script: Script) -> (SocketAddr, Arc<Shared>, tokio::sync::oneshot::Sender<()>) {
    let shared = Arc::new(Shared {
        script: Mutex::new(script.models),
        api_key: script.api_key,
        requests: Mutex::new(Vec::new()),
        next_id: AtomicU64::new(1),
        disconnects: AtomicUsize::new(0),
        connections: AtomicUsize::new(0),
    });
    let app = Router::new()
        .route("/v1/chat/completions", post(openai_route))
        .route("/chat/completions", post(openai_route))
        .route("/v1/messages", post(anthropic_route))
        .fallback(|| async {
            (
                StatusCode::NOT_FOUND,
                "the model server speaks /v1/chat/completions and /v1/messages",
            )
        })
        .with_state(shared.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap_or_else(|e| panic!("bind model server: {e}"));
    let addr = listener.local_addr().unwrap_or_else(|e| panic!("local_addr: {e}"));
    // Small SSE pieces must leave one by one, not wait on Nagle for an ACK.
    let counted = shared.clone();
    let listener = listener.tap_io(move |tcp| {
        counted.connections.fetch_add(1, Ordering::SeqCst);
        let _ = tcp.set_nodelay(true);
    });
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    tokio::spawn(async move {
        let _ = stop_rx.await;
        server.abort();
    });
    (addr, shared, stop_tx)
}

async fn openai_route(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    handle(shared, WireApi::OpenAi, request).await
}

async fn anthropic_route(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    handle(shared, WireApi::Anthropic, request).await
}

async fn handle(shared: Arc<Shared>, api: WireApi, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, 64 << 20).await.unwrap_or_default();
    let parsed: Option<Value> = serde_json::from_slice(&body).ok();
    let recorded = ModelRequest {
        api,
        path: parts.uri.path().to_string(),
        model: parsed
            .as_ref()
            .and_then(|b| b["model"].as_str())
            .unwrap_or_default()
            .to_string(),
        stream: parsed.as_ref().and_then(|b| b["stream"].as_bool()).unwrap_or(false),
        headers: parts
            .headers
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_string(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect(),
        body: parsed
            .clone()
            .unwrap_or_else(|| Value::String(String::from_utf8_lossy(&body).into_owned())),
        received_at: Instant::now(),
    };
    if let Ok(mut requests) = shared.requests.lock() {
        requests.push(recorded.clone());
    }
    let Some(body) = parsed else {
        return error_response(api, 400, "the request body is not JSON");
    };
    if let Some(key) = &shared.api_key {
        let presented = match api {
            WireApi::OpenAi => recorded.header("authorization").and_then(|v| v.strip_prefix("Bearer ")),
            WireApi::Anthropic => recorded.header("x-api-key"),
        };
        if presented != Some(key.as_str()) {
            return error_response(api, 401, "invalid api key");
        }
    }
    if let Err(problem) = check_conversation(api, &recorded, &body) {
        return error_response(api, 400, &problem);
    }
    let turn = shared
        .script
        .lock()
        .ok()
        .and_then(|mut s| s.get_mut(&recorded.model).and_then(VecDeque::pop_front));
    let Some(turn) = turn else {
        return error_response(api, 500, &format!("script exhausted for model {}", recorded.model));
    };
    let id = shared.next_id.fetch_add(1, Ordering::SeqCst);
    if let Some(delay) = turn.delay {
        tokio::time::sleep(delay).await;
    }
    match turn.action {
        Action::Status {
            status,
            body,
            retry_after,
        } => {
            let mut response = match body {
                Some(body) => (status_code(status), body).into_response(),
                None => error_response(api, status, &format!("scripted status {status}")),
            };
            if let Some(seconds) = retry_after.and_then(|s| HeaderValue::from_str(&s).ok()) {
                response.headers_mut().insert(header::RETRY_AFTER, seconds);
            }
            response
        }
        Action::ReflectHeaders { status } => {
            let echoed: Vec<String> = recorded.headers.iter().map(|(k, v)| format!("{k}={v}")).collect();
            error_response(api, status, &format!("you sent: {}", echoed.join("; ")))
        }
        Action::Garbage => {
            let mut response = "<html>this is not a model</html> {".into_response();
            response
                .headers_mut()
                .insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
            response
        }
        Action::Hang => std::future::pending().await,
        Action::Reply {
            text,
            tool_calls,
            ending,
            truncated,
        } => {
            let calls: Vec<(String, String, String)> = tool_calls
                .into_iter()
                .enumerate()
                .map(|(i, (name, args))| {
                    let prefix = if api == WireApi::OpenAi { "call" } else { "toolu" };
                    (format!("{prefix}_{id}_{i}"), name, args.to_string())
                })
                .collect();
            let reply = Reply {
                id,
                model: recorded.model.clone(),
                text,
                calls,
                truncated,
                usage: turn.usage,
                input_messages: recorded.messages().len() as u64,
            };
            if !recorded.stream {
                let body = match api {
                    WireApi::OpenAi => reply.openai_whole(),
                    WireApi::Anthropic => reply.anthropic_whole(),
                };
                return axum::Json(body).into_response();
            }
            let include_usage = body.pointer("/stream_options/include_usage") == Some(&json!(true));
            let (events, tail) = match api {
                WireApi::OpenAi => reply.openai_events(include_usage),
                WireApi::Anthropic => reply.anthropic_events(),
            };
            stream_response(shared, events, tail, ending)
        }
    }
}

fn status_code(status: u16) -> StatusCode {
    StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

fn error_response(api: WireApi, status: u16, message: &str) -> Response {
    let body = match api {
        WireApi::OpenAi => json!({"error": {"message": message, "type": error_type(status), "code": null}}),
        WireApi::Anthropic => json!({"type": "error", "error": {"type": error_type(status), "message": message}}),
    };
    (status_code(status), axum::Json(body)).into_response()
}

fn error_type(status: u16) -> &'static str {
    match status {
        400 => "invalid_request_error",
        401 => "authentication_error",
        429 => "rate_limit_error",
        529 => "overloaded_error",
        _ => "api_error",
    }
}

/// The 400s the real APIs give for conversations a client assembled wrongly.
fn check_conversation(api: WireApi, request: &ModelRequest, body: &Value) -> Result<(), String> {
    if request.model.is_empty() {
        return Err("`model` is required".into());
    }
    let messages = body["messages"].as_array().ok_or("`messages` must be an array")?;
    match api {
        WireApi::OpenAi => {
            let mut open_calls = BTreeSet::new();
            for (i, message) in messages.iter().enumerate() {
                match message["role"].as_str() {
                    Some("assistant") => {
                        for call in message["tool_calls"].as_array().into_iter().flatten() {
                            open_calls.insert(call["id"].as_str().unwrap_or_default().to_string());
                        }
                    }
                    Some("tool") => {
                        let id = message["tool_call_id"].as_str().unwrap_or_default();
                        if !open_calls.contains(id) {
                            return Err(format!(
                                "messages[{i}]: tool message answers `{id}`, which no earlier assistant message called"
                            ));
                        }
                    }
                    Some("system" | "user" | "developer") => {}
                    other => return Err(format!("messages[{i}]: unknown role {other:?}")),
                }
            }
        }
        WireApi::Anthropic => {
            if request.header("anthropic-version").is_none() {
                return Err("anthropic-version header is required".into());
            }
            if body["max_tokens"].as_u64().is_none() {
                return Err("max_tokens: field required".into());
            }
            let mut previous_calls = BTreeSet::new();
            for (i, message) in messages.iter().enumerate() {
                let expected = if i % 2 == 0 { "user" } else { "assistant" };
                if message["role"] != expected {
                    return Err(format!("messages[{i}]: roles must alternate, starting with user"));
                }
                let blocks = message["content"]
                    .as_array()
                    .ok_or(format!("messages[{i}].content must be blocks"))?;
                let mut calls = BTreeSet::new();
                for block in blocks {
                    match block["type"].as_str() {
                        Some("tool_use") => {
                            calls.insert(block["id"].as_str().unwrap_or_default().to_string());
                        }
                        Some("tool_result") => {
                            let id = block["tool_use_id"].as_str().unwrap_or_default();
                            if !previous_calls.contains(id) {
                                return Err(format!(
                                    "messages[{i}]: tool_result for `{id}` does not follow a tool_use with that id"
                                ));
                            }
                        }
                        Some("text") if block["text"].as_str().unwrap_or_default().is_empty() => {
                            return Err(format!("messages[{i}]: text content blocks must be non-empty"));
                        }
                        _ => {}
                    }
                }
                previous_calls = calls;
            }
        }
    }
    Ok(())
}

struct Reply {
    id: u64,
    model: String,
    text: String,
    /// (id, name, arguments JSON)
    calls: Vec<(String, String, String)>,
    truncated: bool,
    usage: Option<(u64, u64)>,
    input_messages: u64,
}

/// `text` in pieces of a few characters, as a model streams tokens.
fn pieces(text: &str, size: usize) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    chars.chunks(size).map(|c| c.iter().collect()).collect()
}

impl Reply {
    fn usage(&self) -> (u64, u64) {
        self.usage.unwrap_or((
            self.input_messages,
            pieces(&self.text, 4).len() as u64 + self.calls.len() as u64,
        ))
    }

    fn openai_finish(&self) -> &'static str {
        match (self.truncated, self.calls.is_empty()) {
            (true, _) => "length",
            (false, false) => "tool_calls",
            (false, true) => "stop",
        }
    }

    fn anthropic_stop(&self) -> &'static str {
        match (self.truncated, self.calls.is_empty()) {
            (true, _) => "max_tokens",
            (false, false) => "tool_use",
            (false, true) => "end_turn",
        }
    }

    fn openai_whole(&self) -> Value {
        let (input, output) = self.usage();
        let mut message =
            json!({"role": "assistant", "content": if self.text.is_empty() { Value::Null } else { json!(self.text) }});
        if !self.calls.is_empty() {
            message["tool_calls"] = self
                .calls
                .iter()
                .map(|(id, name, args)| json!({"id": id, "type": "function", "function": {"name": name, "arguments": args}}))
                .collect();
        }
        json!({
            "id": format!("chatcmpl-{}", self.id),
            "object": "chat.completion",
            "created": 0,
            "model": self.model,
            "choices": [{"index": 0, "message": message, "finish_reason": self.openai_finish()}],
            "usage": {"prompt_tokens": input, "completion_tokens": output, "total_tokens": input + output},
        })
    }

    fn anthropic_whole(&self) -> Value {
        let (input, output) = self.usage();
        let mut content = Vec::new();
        if !self.text.is_empty() {
            content.push(json!({"type": "text", "text": self.text}));
        }
        for (id, name, args) in &self.calls {
            let input: Value = serde_json::from_str(args).unwrap_or_else(|_| json!({}));
            content.push(json!({"type": "tool_use", "id": id, "name": name, "input": input}));
        }
        json!({
            "id": format!("msg_{}", self.id),
            "type": "message",
            "role": "assistant",
            "model": self.model,
            "content": content,
            "stop_reason": self.anthropic_stop(),
            "stop_sequence": null,
            "usage": {"input_tokens": input, "output_tokens": output},
        })
    }

    /// The stream as (content events, closing events): a reply that drops or stalls sends only
    /// the first part.
    fn openai_events(&self, include_usage: bool) -> (Vec<String>, Vec<String>) {
        let chunk = |delta: Value, finish: Value| {
            let chunk = json!({
                "id": format!("chatcmpl-{}", self.id),
                "object": "chat.completion.chunk",
                "created": 0,
                "model": self.model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
            });
            format!("data: {chunk}\n\n")
        };
        let mut events = vec![chunk(json!({"role": "assistant", "content": ""}), Value::Null)];
        for piece in pieces(&self.text, 4) {
            events.push(chunk(json!({"content": piece}), Value::Null));
        }
        for (index, (id, name, args)) in self.calls.iter().enumerate() {
            events.push(chunk(
                json!({"tool_calls": [{"index": index, "id": id, "type": "function", "function": {"name": name, "arguments": ""}}]}),
                Value::Null,
            ));
            for fragment in pieces(args, 5) {
                events.push(chunk(
                    json!({"tool_calls": [{"index": index, "function": {"arguments": fragment}}]}),
                    Value::Null,
                ));
            }
        }
        let mut tail = vec![chunk(json!({}), json!(self.openai_finish()))];
        if include_usage {
            let (input, output) = self.usage();
            let usage = json!({
                "id": format!("chatcmpl-{}", self.id),
                "object": "chat.completion.chunk",
                "created": 0,
                "model": self.model,
                "choices": [],
                "usage": {"prompt_tokens": input, "completion_tokens": output, "total_tokens": input + output},
            });
            tail.push(format!("data: {usage}\n\n"));
        }
        tail.push("data: [DONE]\n\n".to_string());
        (events, tail)
    }

    fn anthropic_events(&self) -> (Vec<String>, Vec<String>) {
        let event = |data: Value| format!("event: {}\ndata: {data}\n\n", data["type"].as_str().unwrap_or_default());
        let (input, output) = self.usage();
        let mut events = vec![event(json!({
            "type": "message_start",
            "message": {
                "id": format!("msg_{}", self.id), "type": "message", "role": "assistant", "model": self.model,
                "content": [], "stop_reason": null, "stop_sequence": null,
                "usage": {"input_tokens": input, "output_tokens": 1},
            },
        }))];
        let mut index = 0;
        if !self.text.is_empty() {
            events.push(event(
                json!({"type": "content_block_start", "index": index, "content_block": {"type": "text", "text": ""}}),
            ));
            events.push(event(json!({"type": "ping"})));
            for piece in pieces(&self.text, 4) {
                events.push(event(
                    json!({"type": "content_block_delta", "index": index, "delta": {"type": "text_delta", "text": piece}}),
                ));
            }
            events.push(event(json!({"type": "content_block_stop", "index": index})));
            index += 1;
        }
        for (id, name, args) in &self.calls {
            events.push(event(json!({
                "type": "content_block_start", "index": index,
                "content_block": {"type": "tool_use", "id": id, "name": name, "input": {}},
            })));
            for fragment in pieces(args, 5) {
                events.push(event(json!({
                    "type": "content_block_delta", "index": index,
                    "delta": {"type": "input_json_delta", "partial_json": fragment},
                })));
            }
            events.push(event(json!({"type": "content_block_stop", "index": index})));
            index += 1;
        }
        let tail = vec![
            event(json!({
                "type": "message_delta",
                "delta": {"stop_reason": self.anthropic_stop(), "stop_sequence": null},
                "usage": {"output_tokens": output},
            })),
            event(json!({"type": "message_stop"})),
        ];
        (events, tail)
    }
}

/// Piece sizes that cut lines, fields, `\n\n` pairs and UTF-8 characters at varying places.
const PIECE_SIZES: &[usize] = &[7, 1, 23, 3, 64, 13, 2, 41];

fn stream_response(shared: Arc<Shared>, content: Vec<String>, tail: Vec<String>, ending: Ending) -> Response {
    let (tx, rx) = mpsc::channel::<Result<Bytes, std::io::Error>>(4);
    tokio::spawn(async move {
        let mut bytes = content.concat().into_bytes();
        if ending == Ending::Complete {
            bytes.extend(tail.concat().into_bytes());
        }
        let mut rest = bytes.as_slice();
        let mut sizes = PIECE_SIZES.iter().cycle();
        while !rest.is_empty() {
            let size = sizes.next().copied().unwrap_or(8).min(rest.len());
            let (piece, after) = rest.split_at(size);
            rest = after;
            if tx.send(Ok(Bytes::copy_from_slice(piece))).await.is_err() {
                shared.disconnects.fetch_add(1, Ordering::SeqCst);
                return;
            }
            // A pause per piece so each one leaves as its own write.
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        match ending {
            Ending::Complete => {}
            Ending::Drop => {
                let _ = tx
                    .send(Err(std::io::Error::new(
                        std::io::ErrorKind::ConnectionAborted,
                        "scripted drop",
                    )))
                    .await;
            }
            Ending::Stall => {
                tx.closed().await;
                shared.disconnects.fetch_add(1, Ordering::SeqCst);
            }
        }
    });
    let mut response = Response::new(Body::new(ChannelBody(rx)));
    let headers: &mut HeaderMap = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

/// A response body fed piece by piece from a channel.
struct ChannelBody(mpsc::Receiver<Result<Bytes, std::io::Error>>);

impl http_body::Body for ChannelBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, Self::Error>>> {
        self.0
            .poll_recv(cx)
            .map(|piece| piece.map(|r| r.map(http_body::Frame::data)))
    }
}

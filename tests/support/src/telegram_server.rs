//! A local Telegram Bot API: a real HTTP server on 127.0.0.1 that answers
//! `/bot<token>/<method>` the way `api.telegram.org` does, for channel tests.
//!
//! - Parameters come from the query string, a form body or a JSON body (objects such as
//!   `reply_parameters` may also be JSON text inside a form field), as the real API takes them.
//! - Answers are `{"ok":true,"result":…}` or `{"ok":false,"error_code":…,"description":…}` with
//!   the same HTTP status; a wrong token is `401 Unauthorized`, an unknown method `404`.
//! - `getMe` describes a configurable bot; `getUpdates` honours `offset` (confirming older
//!   updates), `limit`, `allowed_updates` and long-polls up to `timeout` seconds, answering as soon
//!   as an update is pushed; it refuses with 409 while a webhook is set.
//! - `sendMessage` checks `chat_id` and `text` (empty or longer than 4096 UTF-16 units is a 400)
//!   and records what was sent; `setWebhook`, `deleteWebhook` and `getWebhookInfo` keep the
//!   webhook's state. Every call is recorded.
//! - Faults: [`TelegramServer::fail_next`] makes the next call of a method answer 429 with
//!   `retry_after`, 500, or any Bot API error.
//!
//! Updates pushed with the helpers get increasing `update_id`s, and their message's
//! `message_id` equals the `update_id`, so a test can reply to what it pushed. Text entities
//! (`@mentions` anywhere, a `/command` at the start) are filled in as Telegram does, with
//! UTF-16 offsets.
//!
//! ```ignore
//! let server = TelegramServer::start("123:secret").await;
//! let id = server.dm(42, "hello");
//! // the plugin's apiRoot: server.base_url(); then, after the plugin answered:
//! let sent = server.wait_sent(1, Duration::from_secs(10)).await;
//! assert_eq!(sent[0].reply_to, Some(id));
//! ```

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use serde_json::{Map, Value, json};
use tokio::sync::Notify;

/// The bot `getMe` describes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BotIdentity {
    pub id: i64,
    pub username: String,
    pub first_name: String,
}

impl Default for BotIdentity {
    fn default() -> Self {
        Self {
            id: 7_000_000_001,
            username: "openclaw_test_bot".into(),
            first_name: "OpenClaw Test".into(),
        }
    }
}

/// One `sendMessage` the server accepted.
#[derive(Debug, Clone, PartialEq)]
pub struct SentMessage {
    /// The id the server gave the message.
    pub message_id: i64,
    /// As sent: a number's digits, or `@username`.
    pub chat_id: String,
    pub text: String,
    /// `message_thread_id`.
    pub thread_id: Option<i64>,
    /// `reply_parameters.message_id` (or the older `reply_to_message_id`).
    pub reply_to: Option<i64>,
    /// `link_preview_options.is_disabled` (or the older `disable_web_page_preview`).
    pub link_preview_disabled: bool,
    /// Every parameter, merged from query, form or JSON.
    pub params: Value,
}

/// One call of any method.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiCall {
    /// The method as named in the path (`getUpdates`).
    pub method: String,
    pub params: Value,
    /// Whether the path carried the right token.
    pub authorized: bool,
}

/// An error the next call of a method answers with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// `429 Too Many Requests` with `parameters.retry_after`.
    RetryAfter(u64),
    /// `500 Internal Server Error`.
    ServerError,
    /// Any Bot API error, e.g. `Api(403, "Forbidden: bot was blocked by the user")`.
    Api(u16, String),
}

/// The webhook as `setWebhook` left it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WebhookInfo {
    /// Empty when no webhook is set.
    pub url: String,
    pub secret_token: Option<String>,
    pub allowed_updates: Option<Value>,
}

struct Shared {
    token: String,
    bot: Mutex<BotIdentity>,
    pending: Mutex<VecDeque<Value>>,
    allowed_updates: Mutex<Option<Vec<String>>>,
    next_update_id: AtomicI64,
    next_bot_message_id: AtomicI64,
    sent: Mutex<Vec<SentMessage>>,
    calls: Mutex<Vec<ApiCall>>,
    faults: Mutex<Vec<(String, Fault)>>,
    webhook: Mutex<WebhookInfo>,
    pushed: Notify,
    sent_changed: Notify,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The running server. Dropping it stops it.
pub struct TelegramServer {
    addr: SocketAddr,
    shared: Arc<Shared>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

fn now_seconds() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

fn utf16_len(text: &str) -> usize {
    text.encode_utf16().count()
}

/// The entities Telegram would find in plain text: `@username` mentions and a leading
/// `/command` (optionally `/command@bot`), with offsets and lengths in UTF-16 units.
pub fn entities(text: &str) -> Vec<Value> {
    let word = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let mut found = Vec::new();
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let mut i = 0;
    while i < chars.len() {
        let (at, c) = chars[i];
        let starts_word = i == 0 || !word(chars[i - 1].1);
        if starts_word && (c == '@' || (c == '/' && at == 0)) {
            let mut j = i + 1;
            while j < chars.len() && (word(chars[j].1) || (c == '/' && chars[j].1 == '@')) {
                j += 1;
            }
            let end = chars.get(j).map_or(text.len(), |(e, _)| *e);
            if j > i + 1 {
                found.push(json!({
                    "type": if c == '@' { "mention" } else { "bot_command" },
                    "offset": utf16_len(&text[..at]),
                    "length": utf16_len(&text[at..end]),
                }));
            }
            i = j;
        } else {
            i += 1;
        }
    }
    found
}

fn user(id: i64) -> Value {
    json!({"id": id, "is_bot": false, "first_name": format!("User {id}"), "username": format!("user{id}")})
}

fn chat(id: i64) -> Value {
    if id > 0 {
        json!({"id": id, "type": "private", "first_name": format!("User {id}"), "username": format!("user{id}")})
    } else if id <= -1_000_000_000_000 {
        json!({"id": id, "type": "supergroup", "title": format!("Group {id}")})
    } else {
        json!({"id": id, "type": "group", "title": format!("Group {id}")})
    }
}

fn text_message(message_id: i64, chat_id: i64, from_id: i64, text: &str) -> Map<String, Value> {
    let mut message = Map::new();
    message.insert("message_id".into(), json!(message_id));
    message.insert("from".into(), user(from_id));
    message.insert("chat".into(), chat(chat_id));
    message.insert("date".into(), json!(now_seconds()));
    message.insert("text".into(), json!(text));
    let found = entities(text);
    if !found.is_empty() {
        message.insert("entities".into(), Value::Array(found));
    }
    message
}

/// An update carrying a direct message from user `from_id` (`message_id` = `update_id`).
pub fn dm_update(update_id: i64, from_id: i64, text: &str) -> Value {
    json!({"update_id": update_id, "message": text_message(update_id, from_id, from_id, text)})
}

/// An update carrying a message from `from_id` in group `chat_id` (a negative id; at or below
/// -10^12 it is a supergroup).
pub fn group_update(update_id: i64, chat_id: i64, from_id: i64, text: &str) -> Value {
    json!({"update_id": update_id, "message": text_message(update_id, chat_id, from_id, text)})
}

/// An update carrying a message in forum topic `thread_id` of supergroup `chat_id`. Like
/// Telegram, it points at the topic's opening service message as `reply_to_message`.
pub fn topic_update(update_id: i64, chat_id: i64, from_id: i64, thread_id: i64, text: &str) -> Value {
    let mut message = text_message(update_id, chat_id, from_id, text);
    message.insert(
        "chat".into(),
        json!({"id": chat_id, "type": "supergroup", "title": format!("Forum {chat_id}"), "is_forum": true}),
    );
    message.insert("message_thread_id".into(), json!(thread_id));
    message.insert("is_topic_message".into(), json!(true));
    message.insert(
        "reply_to_message".into(),
        json!({"message_id": thread_id, "message_thread_id": thread_id, "date": now_seconds(), "from": user(from_id),
               "chat": {"id": chat_id, "type": "supergroup", "is_forum": true},
               "forum_topic_created": {"name": format!("Topic {thread_id}"), "icon_color": 7_322_096}}),
    );
    json!({"update_id": update_id, "message": message})
}

/// An update carrying a post in channel `chat_id`, signed by the channel itself.
pub fn channel_post_update(update_id: i64, chat_id: i64, text: &str) -> Value {
    let channel = json!({"id": chat_id, "type": "channel", "title": format!("Channel {chat_id}"), "username": format!("channel{}", chat_id.unsigned_abs())});
    let mut message = text_message(update_id, chat_id, 0, text);
    message.remove("from");
    message.insert("chat".into(), channel.clone());
    message.insert("sender_chat".into(), channel);
    json!({"update_id": update_id, "channel_post": message})
}

fn api_ok(result: Value) -> Response {
    axum::Json(json!({"ok": true, "result": result})).into_response()
}

fn api_error(code: u16, description: &str, parameters: Option<Value>) -> Response {
    let mut body = json!({"ok": false, "error_code": code, "description": description});
    if let Some(parameters) = parameters {
        body["parameters"] = parameters;
    }
    let status = StatusCode::from_u16(code).unwrap_or(StatusCode::BAD_REQUEST);
    (status, axum::Json(body)).into_response()
}

fn percent_decode(text: &str, plus_is_space: bool) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' if plus_is_space => out.push(b' '),
            b'%' if i + 2 < bytes.len() && bytes[i + 1].is_ascii_hexdigit() && bytes[i + 2].is_ascii_hexdigit() => {
                let hex = |b: u8| (b as char).to_digit(16).unwrap_or(0) as u8;
                out.push(hex(bytes[i + 1]) * 16 + hex(bytes[i + 2]));
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A form or query value: JSON objects and arrays arrive serialized, as the real API takes them.
fn form_value(raw: &str) -> Value {
    let text = percent_decode(raw, true);
    if (text.starts_with('{') || text.starts_with('['))
        && let Ok(value) = serde_json::from_str(&text)
    {
        return value;
    }
    Value::String(text)
}

fn merge_form(params: &mut Map<String, Value>, form: &str) {
    for pair in form.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        params.insert(percent_decode(key, true), form_value(value));
    }
}

fn int_param(params: &Map<String, Value>, key: &str) -> Option<i64> {
    match params.get(key)? {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn bool_param(params: &Map<String, Value>, key: &str) -> bool {
    match params.get(key) {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => s == "true" || s == "1",
        _ => false,
    }
}

fn string_list(value: Option<&Value>) -> Option<Vec<String>> {
    match value? {
        Value::Array(items) => Some(items.iter().filter_map(|v| v.as_str().map(str::to_string)).collect()),
        Value::String(s) => serde_json::from_str::<Vec<String>>(s).ok(),
        _ => None,
    }
}

/// The update's kind: its one key besides `update_id`.
fn update_kind(update: &Value) -> String {
    update
        .as_object()
        .and_then(|o| o.keys().find(|k| *k != "update_id").cloned())
        .unwrap_or_default()
}

async fn route(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let body: Bytes = axum::body::to_bytes(body, 16 << 20).await.unwrap_or_default();
    let path = parts.uri.path();
    let Some((token, method)) = path.strip_prefix("/bot").and_then(|rest| rest.split_once('/')) else {
        return api_error(404, "Not Found", None);
    };
    let token = percent_decode(token, false);
    let mut params = Map::new();
    if let Some(query) = parts.uri.query() {
        merge_form(&mut params, query);
    }
    let content_type = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    if content_type.starts_with("application/json") && !body.is_empty() {
        match serde_json::from_slice::<Value>(&body) {
            Ok(Value::Object(object)) => params.extend(object),
            _ => return api_error(400, "Bad Request: can't parse JSON object", None),
        }
    } else if content_type.starts_with("application/x-www-form-urlencoded") {
        merge_form(&mut params, &String::from_utf8_lossy(&body));
    }
    let authorized = token == shared.token;
    lock(&shared.calls).push(ApiCall {
        method: method.to_string(),
        params: Value::Object(params.clone()),
        authorized,
    });
    if !authorized {
        return api_error(401, "Unauthorized", None);
    }
    let fault = {
        let mut faults = lock(&shared.faults);
        faults
            .iter()
            .position(|(m, _)| m.eq_ignore_ascii_case(method) || m == "*")
            .map(|i| faults.remove(i).1)
    };
    match fault {
        Some(Fault::RetryAfter(seconds)) => {
            return api_error(
                429,
                &format!("Too Many Requests: retry after {seconds}"),
                Some(json!({"retry_after": seconds})),
            );
        }
        Some(Fault::ServerError) => return api_error(500, "Internal Server Error", None),
        Some(Fault::Api(code, description)) => return api_error(code, &description, None),
        None => {}
    }
    match method.to_ascii_lowercase().as_str() {
        "getme" => {
            let bot = lock(&shared.bot).clone();
            api_ok(
                json!({"id": bot.id, "is_bot": true, "first_name": bot.first_name, "username": bot.username,
                          "can_join_groups": true, "can_read_all_group_messages": false, "supports_inline_queries": false}),
            )
        }
        "getupdates" => get_updates(&shared, &params).await,
        "sendmessage" => send_message(&shared, &params),
        "setwebhook" => {
            let url = params
                .get("url")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            let mut webhook = lock(&shared.webhook);
            *webhook = WebhookInfo {
                url: url.clone(),
                secret_token: params.get("secret_token").and_then(Value::as_str).map(str::to_string),
                allowed_updates: params.get("allowed_updates").cloned(),
            };
            if url.is_empty() {
                *webhook = WebhookInfo::default();
            }
            api_ok(json!(true))
        }
        "deletewebhook" => {
            *lock(&shared.webhook) = WebhookInfo::default();
            if bool_param(&params, "drop_pending_updates") {
                lock(&shared.pending).clear();
            }
            api_ok(json!(true))
        }
        "getwebhookinfo" => {
            let url = lock(&shared.webhook).url.clone();
            let pending = lock(&shared.pending).len();
            api_ok(json!({"url": url, "has_custom_certificate": false, "pending_update_count": pending}))
        }
        "sendchataction" => api_ok(json!(true)),
        _ => api_error(404, "Not Found: method not found", None),
    }
}

async fn get_updates(shared: &Shared, params: &Map<String, Value>) -> Response {
    if !lock(&shared.webhook).url.is_empty() {
        return api_error(
            409,
            "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first",
            None,
        );
    }
    if let Some(allowed) = string_list(params.get("allowed_updates")) {
        *lock(&shared.allowed_updates) = if allowed.is_empty() { None } else { Some(allowed) };
    }
    let offset = int_param(params, "offset").filter(|o| *o > 0);
    let limit = int_param(params, "limit").unwrap_or(100).clamp(1, 100) as usize;
    let timeout = int_param(params, "timeout").unwrap_or(0).clamp(0, 50) as u64;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(timeout);
    loop {
        let pushed = shared.pushed.notified();
        tokio::pin!(pushed);
        pushed.as_mut().enable();
        let ready: Vec<Value> = {
            let allowed = lock(&shared.allowed_updates).clone();
            let mut pending = lock(&shared.pending);
            // Asking from an offset confirms every earlier update: Telegram forgets them.
            if let Some(offset) = offset {
                pending.retain(|u| u["update_id"].as_i64().is_some_and(|id| id >= offset));
            }
            if let Some(allowed) = &allowed {
                pending.retain(|u| allowed.contains(&update_kind(u)));
            }
            pending.iter().take(limit).cloned().collect()
        };
        if !ready.is_empty() || tokio::time::Instant::now() >= deadline {
            return api_ok(Value::Array(ready));
        }
        let _ = tokio::time::timeout_at(deadline, pushed).await;
    }
}

fn send_message(shared: &Shared, params: &Map<String, Value>) -> Response {
    let chat_id = match params.get("chat_id") {
        Some(Value::Number(n)) => n.to_string(),
        Some(Value::String(s)) if !s.trim().is_empty() => s.trim().to_string(),
        _ => return api_error(400, "Bad Request: chat_id is empty", None),
    };
    if !(chat_id.parse::<i64>().is_ok() || chat_id.starts_with('@')) {
        return api_error(400, "Bad Request: chat not found", None);
    }
    let text = params
        .get("text")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    if text.trim().is_empty() {
        return api_error(400, "Bad Request: message text is empty", None);
    }
    if utf16_len(text.trim()) > 4096 {
        return api_error(400, "Bad Request: message is too long", None);
    }
    let thread_id = int_param(params, "message_thread_id");
    let reply_to = params
        .get("reply_parameters")
        .and_then(|r| match r {
            Value::Object(o) => int_param(o, "message_id"),
            _ => None,
        })
        .or_else(|| int_param(params, "reply_to_message_id"));
    let link_preview_disabled = params
        .get("link_preview_options")
        .and_then(|o| o.get("is_disabled"))
        .and_then(Value::as_bool)
        .unwrap_or(false)
        || bool_param(params, "disable_web_page_preview");
    let message_id = shared.next_bot_message_id.fetch_add(1, Ordering::SeqCst);
    let bot = lock(&shared.bot).clone();
    let chat_json = chat_id.parse::<i64>().map(chat).unwrap_or_else(|_| {
        json!({"id": -1_000_000_000_001_i64, "type": "channel", "title": chat_id, "username": chat_id.trim_start_matches('@')})
    });
    let mut message = json!({
        "message_id": message_id,
        "from": {"id": bot.id, "is_bot": true, "first_name": bot.first_name, "username": bot.username},
        "chat": chat_json,
        "date": now_seconds(),
        "text": text,
    });
    if let Some(thread) = thread_id {
        message["message_thread_id"] = json!(thread);
        message["is_topic_message"] = json!(true);
    }
    lock(&shared.sent).push(SentMessage {
        message_id,
        chat_id,
        text,
        thread_id,
        reply_to,
        link_preview_disabled,
        params: Value::Object(params.clone()),
    });
    shared.sent_changed.notify_waiters();
    api_ok(message)
}

async fn serve(token: String, bot: BotIdentity) -> (SocketAddr, Arc<Shared>, tokio::sync::oneshot::Sender<()>) {
    let shared = Arc::new(Shared {
        token,
        bot: Mutex::new(bot),
        pending: Mutex::new(VecDeque::new()),
        allowed_updates: Mutex::new(None),
        next_update_id: AtomicI64::new(100_000_001),
        next_bot_message_id: AtomicI64::new(900_001),
        sent: Mutex::new(Vec::new()),
        calls: Mutex::new(Vec::new()),
        faults: Mutex::new(Vec::new()),
        webhook: Mutex::new(WebhookInfo::default()),
        pushed: Notify::new(),
        sent_changed: Notify::new(),
    });
    let app = Router::new().fallback(any(route)).with_state(shared.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap_or_else(|e| panic!("bind Telegram test server: {e}"));
    let addr = listener.local_addr().unwrap_or_else(|e| panic!("local_addr: {e}"));
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

impl TelegramServer {
    /// Starts on 127.0.0.1 with an ephemeral port, on the current tokio runtime; `token` is the
    /// bot token it accepts.
    pub async fn start(token: &str) -> Self {
        Self::start_with(token, BotIdentity::default()).await
    }

    /// Starts with a bot of your choosing.
    pub async fn start_with(token: &str, bot: BotIdentity) -> Self {
        let (addr, shared, stop) = serve(token.to_string(), bot).await;
        Self {
            addr,
            shared,
            stop: Some(stop),
            thread: None,
        }
    }

    /// Starts on a thread with its own runtime, for tests that are not async.
    pub fn start_blocking(token: &str) -> Self {
        let token = token.to_string();
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap_or_else(|e| panic!("Telegram test server runtime: {e}"));
            runtime.block_on(async move {
                let (addr, shared, stop) = serve(token, BotIdentity::default()).await;
                let (done_tx, done_rx) = tokio::sync::oneshot::channel();
                let _ = ready_tx.send((addr, shared, done_tx));
                let _ = done_rx.await;
                let _ = stop.send(());
            });
        });
        let (addr, shared, stop) = ready_rx
            .recv()
            .unwrap_or_else(|e| panic!("Telegram test server thread died: {e}"));
        Self {
            addr,
            shared,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    /// `http://127.0.0.1:<port>`: the plugin's `apiRoot`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// `127.0.0.1:<port>`, as a grant names it.
    pub fn host_port(&self) -> String {
        self.addr.to_string()
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn token(&self) -> &str {
        &self.shared.token
    }

    pub fn bot(&self) -> BotIdentity {
        lock(&self.shared.bot).clone()
    }

    /// Changes the bot `getMe` describes from now on.
    pub fn set_bot(&self, bot: BotIdentity) {
        *lock(&self.shared.bot) = bot;
    }

    /// An update id for an update you build yourself (the next one the helpers would use).
    pub fn next_update_id(&self) -> i64 {
        self.shared.next_update_id.fetch_add(1, Ordering::SeqCst)
    }

    /// Queues `update` for `getUpdates`, giving it the next `update_id` unless it has one; wakes
    /// a waiting long poll. Returns its `update_id`.
    pub fn push_update(&self, mut update: Value) -> i64 {
        let id = match update.get("update_id").and_then(Value::as_i64) {
            Some(id) => {
                self.shared.next_update_id.fetch_max(id + 1, Ordering::SeqCst);
                id
            }
            None => {
                let id = self.next_update_id();
                update["update_id"] = json!(id);
                id
            }
        };
        lock(&self.shared.pending).push_back(update);
        self.shared.pushed.notify_waiters();
        id
    }

    /// A direct message from user `from_id`. Returns the update id (= its message id).
    pub fn dm(&self, from_id: i64, text: &str) -> i64 {
        let id = self.next_update_id();
        self.push_update(dm_update(id, from_id, text))
    }

    /// A message from `from_id` in group `chat_id` (negative; at or below -10^12 a supergroup).
    pub fn group(&self, chat_id: i64, from_id: i64, text: &str) -> i64 {
        let id = self.next_update_id();
        self.push_update(group_update(id, chat_id, from_id, text))
    }

    /// A group message that starts with `@<bot username>` (a `mention` entity).
    pub fn group_mention(&self, chat_id: i64, from_id: i64, text: &str) -> i64 {
        let username = self.bot().username;
        self.group(chat_id, from_id, &format!("@{username} {text}"))
    }

    /// A message in `chat_id` (a user id for a direct chat) replying to an earlier message of the
    /// bot: the last one it sent there, else a made-up one.
    pub fn reply_to_bot(&self, chat_id: i64, from_id: i64, text: &str) -> i64 {
        let bot = self.bot();
        let replied_id = lock(&self.shared.sent)
            .iter()
            .rev()
            .find(|s| s.chat_id == chat_id.to_string())
            .map_or(1, |s| s.message_id);
        let id = self.next_update_id();
        let mut update = group_update(id, chat_id, from_id, text);
        update["message"]["reply_to_message"] = json!({
            "message_id": replied_id, "date": now_seconds(), "chat": chat(chat_id), "text": "an earlier answer",
            "from": {"id": bot.id, "is_bot": true, "first_name": bot.first_name, "username": bot.username},
        });
        self.push_update(update)
    }

    /// A message in forum topic `thread_id` of supergroup `chat_id`.
    pub fn topic(&self, chat_id: i64, from_id: i64, thread_id: i64, text: &str) -> i64 {
        let id = self.next_update_id();
        self.push_update(topic_update(id, chat_id, from_id, thread_id, text))
    }

    /// A post in channel `chat_id`.
    pub fn channel_post(&self, chat_id: i64, text: &str) -> i64 {
        let id = self.next_update_id();
        self.push_update(channel_post_update(id, chat_id, text))
    }

    /// Updates queued and not yet confirmed by an offset.
    pub fn pending(&self) -> Vec<Value> {
        lock(&self.shared.pending).iter().cloned().collect()
    }

    /// Every `sendMessage` accepted, oldest first.
    pub fn sent(&self) -> Vec<SentMessage> {
        lock(&self.shared.sent).clone()
    }

    /// Waits until at least `n` messages were sent, then returns them all; panics naming what
    /// was sent if `timeout` passes first.
    pub async fn wait_sent(&self, n: usize, timeout: Duration) -> Vec<SentMessage> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let changed = self.shared.sent_changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            let sent = self.sent();
            if sent.len() >= n {
                return sent;
            }
            if tokio::time::timeout_at(deadline, changed).await.is_err() {
                panic!(
                    "waited {timeout:?} for {n} sent messages; got {}: {:?}",
                    sent.len(),
                    sent.iter().map(|s| &s.text).collect::<Vec<_>>()
                );
            }
        }
    }

    /// [`TelegramServer::wait_sent`] for tests that are not async.
    pub fn wait_sent_blocking(&self, n: usize, timeout: Duration) -> Vec<SentMessage> {
        let deadline = std::time::Instant::now() + timeout;
        loop {
            let sent = self.sent();
            if sent.len() >= n {
                return sent;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "waited {timeout:?} for {n} sent messages; got {}",
                sent.len()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Every call received, oldest first (wrong-token calls too, marked unauthorized).
    pub fn calls(&self) -> Vec<ApiCall> {
        lock(&self.shared.calls).clone()
    }

    /// The calls of one method (case-insensitive).
    pub fn calls_of(&self, method: &str) -> Vec<ApiCall> {
        self.calls()
            .into_iter()
            .filter(|c| c.method.eq_ignore_ascii_case(method))
            .collect()
    }

    /// The next call of `method` (`"*"`: of any method) answers with `fault`. Faults queue up.
    pub fn fail_next(&self, method: &str, fault: Fault) {
        lock(&self.shared.faults).push((method.to_string(), fault));
    }

    /// The webhook as the last `setWebhook`/`deleteWebhook` left it.
    pub fn webhook(&self) -> WebhookInfo {
        lock(&self.shared.webhook).clone()
    }

    /// A plugin manifest (the shipped `plugins/telegram/openclaw-plugin.toml`) pointed at this
    /// server: the token's URL prefix becomes `http://127.0.0.1:<port>/bot{}/`, every
    /// `api.telegram.org` host `127.0.0.1:<port>`, and it asks for the private network (grant
    /// it with `http.allowPrivateNetwork: ["127.0.0.1"]` in the plugin's entry).
    pub fn local_manifest(&self, shipped: &str) -> String {
        let local = shipped
            .replace(
                "https://api.telegram.org/bot{}/",
                &format!("http://{}/bot{{}}/", self.host_port()),
            )
            .replace("\"api.telegram.org\"", &format!("\"{}\"", self.host_port()))
            .replace("[capabilities]\n", "[capabilities]\nprivate-network = true\n");
        assert!(
            !local.contains("api.telegram.org\""),
            "a host of the manifest was not rewritten: {local}"
        );
        local
    }

    /// Sets a webhook as if another program had (then `getUpdates` answers 409).
    pub fn set_webhook(&self, url: &str) {
        lock(&self.shared.webhook).url = url.to_string();
    }
}

impl Drop for TelegramServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Posts `update` to a webhook `url` (`http://host:port/path`) as Telegram does: JSON, with
/// `X-Telegram-Bot-Api-Secret-Token: <secret>` when given. Returns the status and body.
pub async fn post_webhook(url: &str, secret: Option<&str>, update: &Value) -> (u16, String) {
    let headers: Vec<(&str, &str)> = secret
        .map(|s| vec![("X-Telegram-Bot-Api-Secret-Token", s)])
        .unwrap_or_default();
    post_json(url, &headers, update).await
}

/// Posts `body` as JSON to `url` (`http://host:port/path`) with extra `headers`, on a new
/// connection. Returns the status and body.
pub async fn post_json(url: &str, headers: &[(&str, &str)], body: &Value) -> (u16, String) {
    use http_body_util::{BodyExt, Full};
    let rest = url
        .strip_prefix("http://")
        .unwrap_or_else(|| panic!("post_json takes an http:// URL, not {url}"));
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let stream = tokio::net::TcpStream::connect(authority)
        .await
        .unwrap_or_else(|e| panic!("connect to {authority}: {e}"));
    let (mut sender, connection) = hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
        .await
        .unwrap_or_else(|e| panic!("HTTP handshake with {authority}: {e}"));
    tokio::spawn(connection);
    let mut request = http::Request::post(path)
        .header(header::HOST, authority)
        .header(header::CONTENT_TYPE, "application/json");
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let request = request
        .body(Full::new(Bytes::from(body.to_string())))
        .unwrap_or_else(|e| panic!("request to {url}: {e}"));
    let response = sender
        .send_request(request)
        .await
        .unwrap_or_else(|e| panic!("POST {url}: {e}"));
    let status = response.status().as_u16();
    let body = response
        .into_body()
        .collect()
        .await
        .map(|b| String::from_utf8_lossy(&b.to_bytes()).into_owned())
        .unwrap_or_default();
    (status, body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entities_use_utf16_offsets() {
        assert_eq!(
            entities("😀 @openclaw_test_bot hi @x"),
            [
                json!({"type": "mention", "offset": 3, "length": 18}),
                json!({"type": "mention", "offset": 25, "length": 2})
            ]
        );
        assert_eq!(
            entities("/start@openclaw_test_bot now"),
            [json!({"type": "bot_command", "offset": 0, "length": 24})]
        );
        assert!(entities("mail a@b and 1/2").is_empty());
    }

    #[test]
    fn form_values() {
        assert_eq!(percent_decode("a%3Ab+c", true), "a:b c");
        assert_eq!(percent_decode("100%", false), "100%");
        assert_eq!(form_value("%7B%22message_id%22%3A5%7D"), json!({"message_id": 5}));
    }

    async fn call(server: &TelegramServer, token: &str, method: &str, params: Value) -> (u16, Value) {
        let (status, body) = post_json(&format!("{}/bot{token}/{method}", server.base_url()), &[], &params).await;
        (status, serde_json::from_str(&body).unwrap_or(Value::Null))
    }

    #[tokio::test]
    async fn speaks_the_bot_api() {
        let server = TelegramServer::start("123:abc").await;
        let (status, body) = call(&server, "123:wrong", "getMe", json!({})).await;
        assert_eq!(
            (status, body),
            (
                401,
                json!({"ok": false, "error_code": 401, "description": "Unauthorized"})
            )
        );
        let (status, me) = call(&server, "123:abc", "getMe", json!({})).await;
        assert_eq!(
            (status, me["result"]["username"].as_str()),
            (200, Some("openclaw_test_bot"))
        );

        let first = server.dm(42, "hi");
        let second = server.group_mention(-100, 42, "status?");
        let (_, updates) = call(&server, "123:abc", "getUpdates", json!({"timeout": 0})).await;
        let updates = updates["result"].as_array().unwrap().clone();
        assert_eq!(updates.len(), 2);
        assert_eq!(updates[0]["message"]["message_id"], first);
        assert_eq!(updates[1]["message"]["entities"][0]["type"], "mention");
        // An offset confirms what came before it.
        let (_, updates) = call(
            &server,
            "123:abc",
            "getUpdates",
            json!({"offset": second, "timeout": 0}),
        )
        .await;
        assert_eq!(updates["result"].as_array().unwrap().len(), 1);
        assert_eq!(server.pending().len(), 1);

        // A long poll answers as soon as an update arrives.
        let waiting = {
            let url = format!("{}/bot123:abc/getUpdates", server.base_url());
            tokio::spawn(async move { post_json(&url, &[], &json!({"offset": second + 1, "timeout": 30})).await })
        };
        tokio::time::sleep(Duration::from_millis(50)).await;
        let third = server.topic(-1_000_000_000_009, 42, 7, "in a topic");
        let (_, body) = waiting.await.unwrap();
        let body: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(body["result"][0]["update_id"], third);
        assert_eq!(body["result"][0]["message"]["is_topic_message"], true);

        let (status, sent) = call(
            &server,
            "123:abc",
            "sendMessage",
            json!({"chat_id": 42, "text": "hello", "reply_parameters": {"message_id": first}, "message_thread_id": 7,
                   "link_preview_options": {"is_disabled": true}}),
        )
        .await;
        assert_eq!(status, 200);
        let sent_id = sent["result"]["message_id"].as_i64().unwrap();
        let (status, body) = call(
            &server,
            "123:abc",
            "sendMessage",
            json!({"chat_id": 42, "text": "x".repeat(4097)}),
        )
        .await;
        assert_eq!(
            (status, body["description"].as_str()),
            (400, Some("Bad Request: message is too long"))
        );
        let (status, _) = call(&server, "123:abc", "sendMessage", json!({"chat_id": 42, "text": " "})).await;
        assert_eq!(status, 400);
        assert_eq!(
            server
                .sent()
                .iter()
                .map(|s| (
                    s.message_id,
                    s.chat_id.as_str(),
                    s.text.as_str(),
                    s.thread_id,
                    s.reply_to,
                    s.link_preview_disabled
                ))
                .collect::<Vec<_>>(),
            [(sent_id, "42", "hello", Some(7), Some(first), true)]
        );
        let reply = server.reply_to_bot(42, 42, "thanks");
        let pending = server.pending();
        let replied = pending.iter().find(|u| u["update_id"] == reply).unwrap();
        assert_eq!(replied["message"]["reply_to_message"]["message_id"], sent_id);

        server.fail_next("sendMessage", Fault::RetryAfter(3));
        let (status, body) = call(
            &server,
            "123:abc",
            "sendMessage",
            json!({"chat_id": 42, "text": "again"}),
        )
        .await;
        assert_eq!((status, body["parameters"]["retry_after"].as_i64()), (429, Some(3)));

        let (_, _) = call(
            &server,
            "123:abc",
            "setWebhook",
            json!({"url": "https://gw.example/hook", "secret_token": "s3"}),
        )
        .await;
        assert_eq!(server.webhook().secret_token.as_deref(), Some("s3"));
        let (status, body) = call(&server, "123:abc", "getUpdates", json!({})).await;
        assert_eq!((status, body["error_code"].as_i64()), (409, Some(409)));
        call(&server, "123:abc", "deleteWebhook", json!({})).await;
        assert_eq!(server.webhook(), WebhookInfo::default());
        assert_eq!(server.calls_of("getUpdates").len(), 4);
    }

    #[tokio::test]
    async fn form_and_query_parameters() {
        let server = TelegramServer::start("t").await;
        server.dm(1, "a");
        let url = format!(
            "{}/bott/getUpdates?timeout=0&allowed_updates=%5B%22channel_post%22%5D",
            server.base_url()
        );
        let (_, body) = post_json(&url, &[], &json!({})).await;
        assert_eq!(body, r#"{"ok":true,"result":[]}"#, "a DM is not a channel post");
    }
}

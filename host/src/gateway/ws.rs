//! The operator WebSocket: a challenge, an authenticated `connect`, then request/response
//! frames with ids and server events.
//!
//! Frames (JSON text):
//! - server → client first: `{type:"event", event:"connect.challenge", payload:{nonce, ts}}`
//! - client → server first: `{type:"req", id, method:"connect", params:{minProtocol, maxProtocol,
//!   client, role, scopes, auth:{token | password}}}`
//! - then `{type:"req", id, method, params}` → `{type:"res", id, ok, payload | error}`
//! - events `{type:"event", event, payload, seq}` (`tick`, `shutdown`).
//!
//! Fail closed: no method runs before `connect` succeeds; a wrong credential closes with 1008,
//! a connection that does not authenticate within the handshake timeout is closed, and before
//! authentication a message larger than 64 KiB is refused from its frame header, before its
//! payload is read (the upgraded socket is read through [`PreAuthCap`], under the protocol
//! parser, which itself allows 1 MiB).

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::{SinkExt, StreamExt};
use hyper_util::rt::TokioIo;
use openclaw_core::gateway::auth::{AuthOutcome, Presented, ResolvedAuth};
use openclaw_core::gateway::client::ClientAddr;
use openclaw_core::gateway::frame_cap::FrameSizeCap;
use serde_json::{Value, json};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::{Semaphore, mpsc};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, Role, WebSocketConfig};
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};

use super::guard::Denied;
use super::methods::Scope;
use super::serve::Admission;
use super::{Gateway, PROTOCOL_VERSION};

/// Largest frame before authentication.
pub const PRE_AUTH_MAX_BYTES: usize = 64 * 1024;
/// Largest frame after authentication.
pub const MAX_FRAME_BYTES: usize = 1024 * 1024;
/// Requests one connection may have in flight; more wait (backpressure, not errors).
pub const MAX_IN_FLIGHT: usize = 16;

pub const CLOSE_NORMAL: u16 = 1000;
pub const CLOSE_GOING_AWAY: u16 = 1001;
pub const CLOSE_PROTOCOL: u16 = 1002;
pub const CLOSE_UNSUPPORTED: u16 = 1003;
pub const CLOSE_POLICY: u16 = 1008;
pub const CLOSE_TOO_BIG: u16 = 1009;

fn header_has(headers: &HeaderMap, name: header::HeaderName, token: &str) -> bool {
    headers
        .get_all(name)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|v| v.trim().eq_ignore_ascii_case(token))
}

/// Accepts the upgrade itself (rather than through axum's extractor) so the socket can be read
/// through the pre-authentication frame cap.
pub async fn upgrade(
    State(gateway): State<Arc<Gateway>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    mut request: Request,
) -> Response {
    let headers = request.headers();
    let key = headers.get(header::SEC_WEBSOCKET_KEY).cloned();
    let is_upgrade =
        header_has(headers, header::CONNECTION, "upgrade") && header_has(headers, header::UPGRADE, "websocket");
    let (Some(key), true) = (key, is_upgrade) else {
        return (
            StatusCode::NOT_FOUND,
            axum::Json(json!({"ok": false, "error": {"type": "not_found", "message": "this is the gateway's WebSocket endpoint; HTTP clients use /health and /tools/invoke"}})),
        )
            .into_response();
    };
    if headers.get(header::SEC_WEBSOCKET_VERSION).map(HeaderValue::as_bytes) != Some(b"13") {
        let mut response = (
            StatusCode::UPGRADE_REQUIRED,
            axum::Json(json!({"ok": false, "error": {"type": "invalid_request", "message": "WebSocket version 13 is required"}})),
        )
            .into_response();
        response
            .headers_mut()
            .insert(header::SEC_WEBSOCKET_VERSION, HeaderValue::from_static("13"));
        return response;
    }
    // Host and Origin were checked at the front door (`front::admit`), like every request's.
    let client = gateway.guard.client(peer, headers);
    if gateway.is_stopping() {
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    }
    let admission = request.extensions().get::<Arc<Admission>>().cloned();
    let on_upgrade = hyper::upgrade::on(&mut request);
    let accept = derive_accept_key(key.as_bytes());
    tokio::spawn(async move {
        let upgraded = match on_upgrade.await {
            Ok(upgraded) => upgraded,
            Err(e) => {
                tracing::debug!(%peer, "WebSocket upgrade failed: {e}");
                return;
            }
        };
        let authenticated = Arc::new(AtomicBool::new(false));
        let capped = PreAuthCap::new(TokioIo::new(upgraded), authenticated.clone());
        let refused = capped.refused.clone();
        let config = WebSocketConfig::default()
            .max_message_size(Some(MAX_FRAME_BYTES))
            .max_frame_size(Some(MAX_FRAME_BYTES));
        let socket = WebSocketStream::from_raw_socket(capped, Role::Server, Some(config)).await;
        let standing = Standing {
            admission,
            authenticated,
            refused,
        };
        connection(gateway, socket, client, standing).await;
    });
    let mut response = Response::new(axum::body::Body::empty());
    *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let headers = response.headers_mut();
    headers.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
    headers.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
    if let Ok(accept) = HeaderValue::from_str(&accept) {
        headers.insert(header::SEC_WEBSOCKET_ACCEPT, accept);
    }
    response
}

/// Where a socket stands with respect to authentication.
struct Standing {
    /// Its place among unauthenticated connections, given back after `connect`.
    admission: Option<Arc<Admission>>,
    /// Switches the frame cap off.
    authenticated: Arc<AtomicBool>,
    /// Set when the frame cap refused a message.
    refused: Arc<AtomicBool>,
}

impl Standing {
    fn authenticated(&self) {
        self.authenticated.store(true, Ordering::Release);
        if let Some(admission) = &self.admission {
            admission.authenticated();
        }
    }
}

/// The upgraded socket, read through a [`FrameSizeCap`] of [`PRE_AUTH_MAX_BYTES`] until the
/// connection authenticates: an oversized message fails the read as soon as its frame header
/// arrives, so the protocol parser never reserves room for its payload.
pub struct PreAuthCap<S> {
    inner: S,
    cap: FrameSizeCap,
    authenticated: Arc<AtomicBool>,
    refused: Arc<AtomicBool>,
}

impl<S> PreAuthCap<S> {
    fn new(inner: S, authenticated: Arc<AtomicBool>) -> Self {
        Self {
            inner,
            cap: FrameSizeCap::new(PRE_AUTH_MAX_BYTES as u64),
            authenticated,
            refused: Arc::new(AtomicBool::new(false)),
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for PreAuthCap<S> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let this = &mut *self;
        let polled = Pin::new(&mut this.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = polled
            && !this.authenticated.load(Ordering::Acquire)
            && let Err(too_large) = this.cap.feed(&buf.filled()[before..])
        {
            this.refused.store(true, Ordering::Release);
            buf.set_filled(before);
            return Poll::Ready(Err(io::Error::new(io::ErrorKind::InvalidData, too_large.to_string())));
        }
        polled
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for PreAuthCap<S> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

fn close(code: u16, reason: &str) -> Message {
    // Close reasons are limited to 123 bytes by the protocol.
    let mut reason = reason.to_string();
    while reason.len() > 123 {
        reason.pop();
    }
    Message::Close(Some(CloseFrame {
        code: CloseCode::from(code),
        reason: Utf8Bytes::from(reason),
    }))
}

fn text(value: &Value) -> Message {
    Message::Text(Utf8Bytes::from(value.to_string()))
}

fn error_res(id: &Value, code: &str, message: &str, details: Option<Value>) -> Value {
    let mut error = json!({"code": code, "message": message});
    if let Some(details) = details {
        error["details"] = details;
    }
    json!({"type": "res", "id": id, "ok": false, "error": error})
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or_default()
}

/// The outcome of the handshake.
struct Session {
    scopes: Vec<Scope>,
}

type Socket = WebSocketStream<PreAuthCap<TokioIo<hyper::upgrade::Upgraded>>>;

async fn connection(gateway: Arc<Gateway>, socket: Socket, client: ClientAddr, standing: Standing) {
    let _connection = gateway.open_connection();
    let (mut sink, mut stream) = socket.split();
    let nonce = super::http::uuid_like() + &super::http::uuid_like();
    let challenge = json!({"type": "event", "event": "connect.challenge", "payload": {"nonce": nonce, "ts": now_ms()}});
    if sink.send(text(&challenge)).await.is_err() {
        return;
    }
    let session = match tokio::time::timeout(
        gateway.handshake_timeout,
        handshake(&gateway, &mut stream, &client, &standing),
    )
    .await
    {
        Err(_) => {
            let _ = sink
                .send(close(
                    CLOSE_POLICY,
                    "authentication timeout: send a connect request first",
                ))
                .await;
            return;
        }
        Ok(Err((reply, code, reason))) => {
            if let Some(reply) = reply {
                let _ = sink.send(text(&reply)).await;
            }
            let _ = sink.send(close(code, &reason)).await;
            return;
        }
        Ok(Ok((id, session))) => {
            // Authenticated: no longer counted among unauthenticated connections, and frames up
            // to the full limit are read.
            standing.authenticated();
            let hello = json!({"type": "res", "id": id, "ok": true, "payload": {
                "type": "hello-ok",
                "protocol": PROTOCOL_VERSION,
                "server": {"version": env!("CARGO_PKG_VERSION")},
                "features": {"methods": gateway.methods.names(), "events": ["tick", "shutdown", "chat", "agent", "exec.approval.requested", "exec.approval.resolved"]},
                "policy": {"tickIntervalMs": gateway.tick_interval.as_millis() as u64, "maxPayload": MAX_FRAME_BYTES},
                "auth": {"role": "operator", "scopes": session.scopes.iter().map(|s| s.as_str()).collect::<Vec<_>>()},
            }});
            if sink.send(text(&hello)).await.is_err() {
                return;
            }
            session
        }
    };
    serve(gateway, sink, stream, session).await;
}

type Stream = futures_util::stream::SplitStream<Socket>;
type Sink = futures_util::stream::SplitSink<Socket, Message>;
type Refusal = (Option<Value>, u16, String);

/// Reads the `connect` request and authenticates it.
async fn handshake(
    gateway: &Gateway,
    stream: &mut Stream,
    client: &ClientAddr,
    standing: &Standing,
) -> Result<(Value, Session), Refusal> {
    let message = loop {
        match stream.next().await {
            Some(Err(_)) if standing.refused.load(Ordering::Acquire) => {
                return Err((
                    None,
                    CLOSE_TOO_BIG,
                    format!(
                        "messages before connect are limited to {} KiB",
                        PRE_AUTH_MAX_BYTES / 1024
                    ),
                ));
            }
            None | Some(Err(_)) => return Err((None, CLOSE_PROTOCOL, "connection failed before connect".into())),
            Some(Ok(Message::Text(t))) => break t,
            Some(Ok(Message::Binary(_))) => {
                return Err((None, CLOSE_UNSUPPORTED, "frames are JSON text".into()));
            }
            Some(Ok(Message::Close(_))) => return Err((None, CLOSE_NORMAL, String::new())),
            Some(Ok(_)) => continue,
        }
    };
    let frame: Value = serde_json::from_str(message.as_str())
        .map_err(|e| (None, CLOSE_PROTOCOL, format!("first frame is not JSON: {e}")))?;
    let id = frame.get("id").cloned().unwrap_or(Value::Null);
    if frame.get("type").and_then(Value::as_str) != Some("req")
        || frame.get("method").and_then(Value::as_str) != Some("connect")
    {
        let reply = error_res(
            &id,
            "INVALID_REQUEST",
            "the first frame must be {type: \"req\", method: \"connect\", params: {auth: {token}}}",
            Some(json!({"code": "AUTH_REQUIRED"})),
        );
        return Err((Some(reply), CLOSE_POLICY, "connect required".into()));
    }
    let params = frame.get("params").cloned().unwrap_or_else(|| json!({}));
    let min = params
        .get("minProtocol")
        .and_then(Value::as_u64)
        .unwrap_or(PROTOCOL_VERSION);
    let max = params
        .get("maxProtocol")
        .and_then(Value::as_u64)
        .unwrap_or(PROTOCOL_VERSION);
    if !(min..=max).contains(&PROTOCOL_VERSION) {
        let message = format!("protocol mismatch: this gateway speaks {PROTOCOL_VERSION}, the client {min}..{max}");
        return Err((
            Some(error_res(&id, "INVALID_REQUEST", &message, None)),
            CLOSE_PROTOCOL,
            message,
        ));
    }
    let role = params.get("role").and_then(Value::as_str).unwrap_or("operator");
    if role != "operator" {
        let message = format!("role `{role}` is not supported by this gateway yet; connect as \"operator\"");
        return Err((
            Some(error_res(&id, "INVALID_REQUEST", &message, None)),
            CLOSE_POLICY,
            message,
        ));
    }
    let auth = params.get("auth");
    let field = |name: &str| auth.and_then(|a| a.get(name)).and_then(Value::as_str);
    let presented = Presented {
        token: field("token"),
        password: field("password"),
    };
    match gateway.guard.admit(client, &presented) {
        Ok(()) => {}
        Err(Denied::Locked(locked)) => {
            let secs = locked.retry_after_secs();
            let message = format!("too many failed authentication attempts; retry in {secs}s");
            let reply = error_res(
                &id,
                "UNAUTHORIZED",
                &message,
                Some(
                    json!({"code": "AUTH_RATE_LIMITED", "retryAfterMs": secs * 1000, "recommendedNextStep": "wait_then_retry"}),
                ),
            );
            return Err((Some(reply), CLOSE_POLICY, message));
        }
        Err(Denied::Unauthorized(outcome)) => {
            let auth = gateway.guard.auth();
            let (message, next) = match (outcome, &auth) {
                (AuthOutcome::NotLocal, _) => (
                    "gateway auth mode is none, which admits only direct local clients".to_string(),
                    "update_auth_configuration",
                ),
                (AuthOutcome::Missing, ResolvedAuth::Password(_)) => (
                    "gateway password required: send params.auth.password".into(),
                    "update_auth_credentials",
                ),
                (AuthOutcome::Missing, _) => (
                    "gateway token required: send params.auth.token".into(),
                    "update_auth_credentials",
                ),
                _ => (
                    "unauthorized: the credential does not match".into(),
                    "update_auth_credentials",
                ),
            };
            let reply = error_res(
                &id,
                "UNAUTHORIZED",
                &message,
                Some(json!({"code": outcome.code(&auth), "recommendedNextStep": next})),
            );
            return Err((Some(reply), CLOSE_POLICY, message));
        }
    }
    // Shared-secret operators hold every scope; a client may ask for fewer.
    let all = [Scope::Read, Scope::Admin];
    let scopes = match params.get("scopes").and_then(Value::as_array) {
        Some(requested) => all
            .into_iter()
            .filter(|s| requested.iter().any(|r| r.as_str() == Some(s.as_str())))
            .collect(),
        None => all.to_vec(),
    };
    Ok((id, Session { scopes }))
}

/// After authentication: dispatches requests and sends events until either side stops.
async fn serve(gateway: Arc<Gateway>, mut sink: Sink, mut stream: Stream, session: Session) {
    let (tx, mut rx) = mpsc::channel::<Value>(64);
    let in_flight = Arc::new(Semaphore::new(MAX_IN_FLIGHT));
    let mut shutdown = gateway.shutdown_signal();
    let mut tick = tokio::time::interval(gateway.tick_interval);
    tick.tick().await;
    let mut seq: u64 = 0;
    let mut bus = gateway.events.subscribe();
    let mut bus_open = true;
    let close_frame = loop {
        tokio::select! {
            event = bus.recv(), if bus_open => {
                let event = match event {
                    Ok(event) => event,
                    // Fell behind: the missed events are gone; keep going with the next ones.
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => {
                        bus_open = false;
                        continue;
                    }
                };
                seq += 1;
                let frame = json!({"type": "event", "event": event.name, "payload": event.payload, "seq": seq});
                if sink.send(text(&frame)).await.is_err() {
                    break None;
                }
            }
            incoming = stream.next() => {
                let message = match incoming {
                    None | Some(Err(_)) => break None,
                    Some(Ok(Message::Text(t))) => t,
                    Some(Ok(Message::Binary(_))) => break Some(close(CLOSE_UNSUPPORTED, "frames are JSON text")),
                    Some(Ok(Message::Close(_))) => break Some(close(CLOSE_NORMAL, "")),
                    Some(Ok(_)) => continue,
                };
                let Ok(permit) = in_flight.clone().acquire_owned().await else { break None };
                let work = gateway.begin_work();
                let reply = request(&gateway, &session, message.as_str());
                let tx = tx.clone();
                tokio::spawn(async move {
                    let value = reply.await;
                    let _ = tx.send(value).await;
                    drop(permit);
                    drop(work);
                });
            }
            Some(out) = rx.recv() => {
                if sink.send(text(&out)).await.is_err() {
                    break None;
                }
            }
            _ = tick.tick() => {
                seq += 1;
                let event = json!({"type": "event", "event": "tick", "payload": {"ts": now_ms()}, "seq": seq});
                if sink.send(text(&event)).await.is_err() {
                    break None;
                }
            }
            changed = shutdown.changed() => {
                if changed.is_err() || *shutdown.borrow() {
                    // Finish what was asked before saying goodbye.
                    let _ = in_flight.acquire_many(MAX_IN_FLIGHT as u32).await;
                    while let Ok(out) = rx.try_recv() {
                        let _ = sink.send(text(&out)).await;
                    }
                    seq += 1;
                    let event = json!({"type": "event", "event": "shutdown", "payload": {"reason": "gateway stopping"}, "seq": seq});
                    let _ = sink.send(text(&event)).await;
                    break Some(close(CLOSE_GOING_AWAY, "gateway stopping"));
                }
            }
        }
    };
    if let Some(frame) = close_frame {
        let _ = sink.send(frame).await;
    }
    let _ = sink.close().await;
}

/// Handles one request frame; always yields a response frame.
fn request(
    gateway: &Arc<Gateway>,
    session: &Session,
    text: &str,
) -> std::pin::Pin<Box<dyn Future<Output = Value> + Send>> {
    let frame: Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(e) => {
            let reply = error_res(
                &Value::Null,
                "INVALID_REQUEST",
                &format!("frame is not JSON: {e}"),
                None,
            );
            return Box::pin(async move { reply });
        }
    };
    let id = frame.get("id").cloned().unwrap_or(Value::Null);
    let method = frame
        .get("method")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    if frame.get("type").and_then(Value::as_str) != Some("req") || id.is_null() || method.is_empty() {
        let reply = error_res(
            &id,
            "INVALID_REQUEST",
            "expected {type: \"req\", id, method, params}",
            None,
        );
        return Box::pin(async move { reply });
    }
    let Some(handler) = gateway.methods.get(&method).cloned() else {
        let message = format!(
            "unknown method `{method}`; this gateway supports: {}",
            gateway.methods.names().join(", ")
        );
        let reply = error_res(&id, "METHOD_NOT_FOUND", &message, None);
        return Box::pin(async move { reply });
    };
    if !session.scopes.contains(&handler.scope) {
        let reply = error_res(
            &id,
            "FORBIDDEN",
            &format!("method `{method}` needs scope {}", handler.scope.as_str()),
            None,
        );
        return Box::pin(async move { reply });
    }
    let params = frame.get("params").cloned().unwrap_or_else(|| json!({}));
    let call = handler.call(gateway.clone(), params);
    Box::pin(async move {
        match call.await {
            Ok(payload) => json!({"type": "res", "id": id, "ok": true, "payload": payload}),
            Err(e) => error_res(&id, e.code, &e.message, None),
        }
    })
}

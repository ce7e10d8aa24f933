//! A small operator-protocol client for commands that talk to the running gateway
//! (`openclaw agent`, `openclaw approvals`): where it listens (the run file), which credential
//! to present (`--token`, `OPENCLAW_GATEWAY_TOKEN`/`_PASSWORD`, else the config's
//! `gateway.auth`), the `connect` handshake, then requests with events in between.

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

use crate::context::Context;
use crate::running;
use crate::secrets;

type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Where to connect and with what.
pub struct Target {
    pub url: String,
    token: Option<String>,
    password: Option<String>,
}

fn config_secret(ctx: &Context, field: &str) -> Option<String> {
    let loaded = crate::config::load(&ctx.paths, &ctx.env).ok()?;
    let config = loaded.config()?.clone();
    let auth = config.gateway.as_ref()?.auth.clone()?;
    let input = match field {
        "token" => auth.token?,
        _ => auth.password?,
    };
    let (resolved, _) = secrets::resolve_all(&config, &loaded.checked.resolved, &ctx.env);
    let path = openclaw_core::config::path::JsonPath::parse(&format!("gateway.auth.{field}")).ok()?;
    resolved.value_of(&input, &path).map(|v| v.expose().to_string())
}

impl Target {
    pub fn resolve(ctx: &Context, url: Option<String>, token: Option<String>) -> Result<Self, String> {
        let url = match url {
            Some(url) => url,
            None => {
                let info = running::read(&running::path(&ctx.paths)).ok_or_else(|| {
                    "no gateway is running for this state directory; start one with `openclaw gateway` (or pass --url)".to_string()
                })?;
                let host = match info.host.parse::<std::net::IpAddr>() {
                    Ok(ip) if ip.is_unspecified() => "127.0.0.1".to_string(),
                    Ok(std::net::IpAddr::V6(ip)) => format!("[{ip}]"),
                    _ => info.host,
                };
                format!("ws://{host}:{}/ws", info.port)
            }
        };
        let token = token
            .or_else(|| ctx.env.get("OPENCLAW_GATEWAY_TOKEN").map(str::to_string))
            .or_else(|| config_secret(ctx, "token"));
        let password = ctx
            .env
            .get("OPENCLAW_GATEWAY_PASSWORD")
            .map(str::to_string)
            .or_else(|| config_secret(ctx, "password"));
        Ok(Self { url, token, password })
    }
}

/// A request's failure as the gateway reported it.
#[derive(Debug)]
pub struct RemoteError {
    pub code: String,
    pub message: String,
}

impl std::fmt::Display for RemoteError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.message, self.code)
    }
}

pub struct Client {
    socket: Socket,
    next_id: u64,
}

impl Client {
    pub async fn connect(target: &Target) -> Result<Self, String> {
        let (mut socket, _) = tokio_tungstenite::connect_async(target.url.as_str())
            .await
            .map_err(|e| {
                format!(
                    "cannot reach the gateway at {}: {e}; is `openclaw gateway` running?",
                    target.url
                )
            })?;
        let mut auth = serde_json::Map::new();
        if let Some(token) = &target.token {
            auth.insert("token".into(), json!(token));
        }
        if let Some(password) = &target.password {
            auth.insert("password".into(), json!(password));
        }
        let connect = json!({"type": "req", "id": "connect", "method": "connect", "params": {
            "minProtocol": crate::gateway::PROTOCOL_VERSION,
            "maxProtocol": crate::gateway::PROTOCOL_VERSION,
            "role": "operator",
            "client": {"id": "openclaw-cli", "version": env!("CARGO_PKG_VERSION")},
            "auth": auth,
        }});
        socket
            .send(Message::Text(connect.to_string().into()))
            .await
            .map_err(|e| format!("the gateway closed the connection: {e}"))?;
        let mut client = Self { socket, next_id: 1 };
        client
            .wait_for("connect", &mut |_, _| {})
            .await
            .map_err(|e| format!("the gateway refused this client: {e}; pass --token or set OPENCLAW_GATEWAY_TOKEN"))?;
        Ok(client)
    }

    /// Sends one request and waits for its answer; events that arrive meanwhile go to
    /// `on_event(name, payload)`.
    pub async fn request(
        &mut self,
        method: &str,
        params: Value,
        on_event: &mut dyn FnMut(&str, &Value),
    ) -> Result<Value, RemoteError> {
        let id = format!("r{}", self.next_id);
        self.next_id += 1;
        let frame = json!({"type": "req", "id": id, "method": method, "params": params});
        self.socket
            .send(Message::Text(frame.to_string().into()))
            .await
            .map_err(|e| RemoteError {
                code: "DISCONNECTED".into(),
                message: format!("the gateway closed the connection: {e}"),
            })?;
        self.wait_for(&id, on_event).await
    }

    async fn wait_for(&mut self, id: &str, on_event: &mut dyn FnMut(&str, &Value)) -> Result<Value, RemoteError> {
        while let Some(message) = self.socket.next().await {
            let text = match message {
                Ok(Message::Text(text)) => text,
                Ok(Message::Close(frame)) => {
                    return Err(RemoteError {
                        code: "DISCONNECTED".into(),
                        message: format!(
                            "the gateway closed the connection{}",
                            frame.map(|f| format!(": {}", f.reason)).unwrap_or_default()
                        ),
                    });
                }
                Ok(_) => continue,
                Err(e) => {
                    return Err(RemoteError {
                        code: "DISCONNECTED".into(),
                        message: e.to_string(),
                    });
                }
            };
            let Ok(frame) = serde_json::from_str::<Value>(text.as_str()) else {
                continue;
            };
            match frame.get("type").and_then(Value::as_str) {
                Some("event") => {
                    let name = frame.get("event").and_then(Value::as_str).unwrap_or_default();
                    on_event(name, frame.get("payload").unwrap_or(&Value::Null));
                }
                Some("res") if frame.get("id").and_then(Value::as_str) == Some(id) => {
                    if frame.get("ok").and_then(Value::as_bool) == Some(true) {
                        return Ok(frame.get("payload").cloned().unwrap_or(Value::Null));
                    }
                    let error = frame.get("error").cloned().unwrap_or(Value::Null);
                    return Err(RemoteError {
                        code: error.get("code").and_then(Value::as_str).unwrap_or("ERROR").to_string(),
                        message: error
                            .get("message")
                            .and_then(Value::as_str)
                            .unwrap_or("the gateway refused the request")
                            .to_string(),
                    });
                }
                _ => {}
            }
        }
        Err(RemoteError {
            code: "DISCONNECTED".into(),
            message: "the gateway closed the connection".into(),
        })
    }
}

/// Runs `work` on a small runtime of its own (CLI commands are synchronous).
pub fn block_on<F: std::future::Future>(work: F) -> Result<F::Output, String> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map(|rt| rt.block_on(work))
        .map_err(|e| format!("cannot start the async runtime: {e}"))
}

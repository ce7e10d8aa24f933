//! The real `openclaw gateway` on loopback, driven over HTTP and WebSocket: auth that fails
//! closed, brute-force lockout, proxy-header spoofing, refusal to bind beyond loopback without a
//! credential, the seed documents' gateway examples, status/stop and graceful shutdown.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{Duration, Instant};

use common::{Gateway, Sandbox, mode};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

const TOKEN: &str = "0123456789abcdef0123456789abcdef0123456789abcdef";

type Running = Gateway;

fn sandbox() -> Sandbox {
    Sandbox::new().env("OPENCLAW_DISABLE_BONJOUR", "1")
}

fn start(sandbox: &Sandbox, extra: &[&str]) -> Running {
    Gateway::start(sandbox, extra)
}

fn try_start(sandbox: &Sandbox, extra: &[&str]) -> Result<Running, (Option<i32>, String)> {
    Gateway::try_start(sandbox, extra)
}

fn token_config(extra_gateway: Value) -> String {
    let mut gateway = json!({"mode": "local", "bind": "loopback", "auth": {"mode": "token", "token": TOKEN}});
    if let (Some(base), Some(extra)) = (gateway.as_object_mut(), extra_gateway.as_object()) {
        for (k, v) in extra {
            base.insert(k.clone(), v.clone());
        }
    }
    json!({"gateway": gateway}).to_string()
}

async fn invoke(gw: &Running, auth: Option<&str>, body: Value) -> (u16, reqwest::header::HeaderMap, Value) {
    invoke_with(gw, auth, &[], body).await
}

async fn invoke_with(
    gw: &Running,
    auth: Option<&str>,
    headers: &[(&str, &str)],
    body: Value,
) -> (u16, reqwest::header::HeaderMap, Value) {
    let client = reqwest::Client::new();
    let mut request = client.post(gw.url("/tools/invoke")).json(&body);
    if let Some(auth) = auth {
        request = request.header("authorization", auth);
    }
    for (k, v) in headers {
        request = request.header(*k, *v);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response.json::<Value>().await.unwrap_or(Value::Null);
    (status, headers, body)
}

type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn ws_open(gw: &Running, origin: Option<&str>) -> Result<Ws, u16> {
    let mut request = gw.ws_url().into_client_request().unwrap();
    if let Some(origin) = origin {
        request.headers_mut().insert("origin", origin.parse().unwrap());
    }
    match tokio_tungstenite::connect_async(request).await {
        Ok((ws, _)) => Ok(ws),
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => Err(response.status().as_u16()),
        Err(e) => panic!("websocket connect failed: {e}"),
    }
}

async fn next_json(ws: &mut Ws) -> Value {
    loop {
        match tokio::time::timeout(Duration::from_secs(10), ws.next()).await.unwrap() {
            Some(Ok(Message::Text(t))) => return serde_json::from_str(t.as_str()).unwrap(),
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
            other => panic!("expected a JSON frame, got {other:?}"),
        }
    }
}

/// Reads until the server closes; returns the close code and reason.
async fn close_of(ws: &mut Ws) -> (CloseCode, String) {
    loop {
        match tokio::time::timeout(Duration::from_secs(10), ws.next()).await.unwrap() {
            Some(Ok(Message::Close(Some(frame)))) => return (frame.code, frame.reason.to_string()),
            Some(Ok(Message::Close(None))) | None => return (CloseCode::Status, String::new()),
            Some(Ok(_)) => continue,
            Some(Err(e)) => panic!("socket error before close: {e}"),
        }
    }
}

async fn send(ws: &mut Ws, frame: Value) {
    ws.send(Message::Text(frame.to_string().into())).await.unwrap();
}

fn connect_frame(auth: Value) -> Value {
    json!({"type": "req", "id": "c1", "method": "connect", "params": {
        "minProtocol": 3, "maxProtocol": 3,
        "client": {"id": "test", "version": "1", "platform": "linux", "mode": "cli"},
        "role": "operator", "auth": auth,
    }})
}

/// Opens a socket, answers the challenge with `auth`, returns the socket and the response.
async fn ws_connect(gw: &Running, auth: Value) -> (Ws, Value) {
    let mut ws = ws_open(gw, None).await.unwrap();
    let challenge = next_json(&mut ws).await;
    assert_eq!(challenge["event"], "connect.challenge");
    assert!(challenge["payload"]["nonce"].as_str().unwrap().len() >= 32);
    send(&mut ws, connect_frame(auth)).await;
    let response = next_json(&mut ws).await;
    (ws, response)
}

async fn call(ws: &mut Ws, id: &str, method: &str, params: Value) -> Value {
    send(ws, json!({"type": "req", "id": id, "method": method, "params": params})).await;
    loop {
        let frame = next_json(ws).await;
        if frame["type"] == "res" && frame["id"] == id {
            return frame;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_run_creates_a_private_config_and_http_requires_the_token() {
    let sandbox = sandbox();
    let gw = start(&sandbox, &[]);
    assert!(gw.stderr().contains("first run"), "{}", gw.stderr());
    assert_eq!(mode(&sandbox.state_dir()), 0o700);
    assert_eq!(mode(&sandbox.config_path()), 0o600);
    let config: Value = serde_json::from_str(&sandbox.read_config()).unwrap();
    let token = config["gateway"]["auth"]["token"].as_str().unwrap().to_string();
    assert_eq!(token.len(), 48);
    assert!(token.chars().all(|c| c.is_ascii_hexdigit()));
    assert_eq!(config["gateway"]["mode"], "local");

    let health = reqwest::get(gw.url("/health")).await.unwrap();
    assert_eq!(health.status(), 200);
    let body = json!({"tool": "web_fetch", "args": {}});
    let (status, headers, reply) = invoke(&gw, None, body.clone()).await;
    assert_eq!(status, 401);
    assert_eq!(
        reply,
        json!({"error": {"message": "Unauthorized", "type": "unauthorized"}})
    );
    assert!(headers.get("www-authenticate").is_some());
    let (status, _, _) = invoke(&gw, Some("Bearer wrong-token"), body.clone()).await;
    assert_eq!(status, 401);
    // Basic is for password mode; a token sent as a Basic password is not a bearer token.
    let basic = format!("Basic {}", base64_encode(&format!("x:{token}")));
    let (status, _, _) = invoke(&gw, Some(&basic), body.clone()).await;
    assert_eq!(status, 401);
    let (status, _, reply) = invoke(&gw, Some(&format!("Bearer {token}")), body.clone()).await;
    assert_eq!(status, 404, "{reply}");
    assert!(
        reply["error"]["message"]
            .as_str()
            .unwrap()
            .contains("Tool not available")
    );
    let (status, _, reply) = invoke(&gw, Some(&format!("Bearer {token}")), json!({"tool": "exec"})).await;
    assert_eq!(status, 403);
    assert!(
        reply["error"]["message"]
            .as_str()
            .unwrap()
            .contains("gateway.tools.allow")
    );
    let (status, _, _) = invoke(&gw, Some(&format!("Bearer {token}")), json!({"nope": 1})).await;
    assert_eq!(status, 400);
}

fn base64_encode(text: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(text)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_connect_requires_the_credential() {
    let sandbox = sandbox().env("OPENCLAW_HANDSHAKE_TIMEOUT_MS", "400");
    sandbox.write_config(&token_config(json!({})));
    let gw = start(&sandbox, &[]);

    // No credential.
    let (mut ws, response) = ws_connect(&gw, json!({})).await;
    assert_eq!(response["ok"], false);
    assert_eq!(response["error"]["details"]["code"], "AUTH_TOKEN_MISSING");
    assert_eq!(close_of(&mut ws).await.0, CloseCode::Policy);
    // Wrong credential.
    let (mut ws, response) = ws_connect(&gw, json!({"token": "not-the-token"})).await;
    assert_eq!(response["error"]["details"]["code"], "AUTH_TOKEN_MISMATCH");
    assert_eq!(close_of(&mut ws).await.0, CloseCode::Policy);
    // A method before connect is refused and closes the socket.
    let mut ws = ws_open(&gw, None).await.unwrap();
    next_json(&mut ws).await;
    send(
        &mut ws,
        json!({"type": "req", "id": "1", "method": "status", "params": {}}),
    )
    .await;
    let response = next_json(&mut ws).await;
    assert_eq!(response["ok"], false);
    assert_eq!(close_of(&mut ws).await.0, CloseCode::Policy);
    // Silence: closed after the handshake timeout.
    let mut ws = ws_open(&gw, None).await.unwrap();
    next_json(&mut ws).await;
    let (code, reason) = close_of(&mut ws).await;
    assert_eq!(code, CloseCode::Policy);
    assert!(reason.contains("timeout"), "{reason}");
    // An oversized first frame.
    let mut ws = ws_open(&gw, None).await.unwrap();
    next_json(&mut ws).await;
    let big = connect_frame(json!({"token": "x".repeat(70 * 1024)}));
    send(&mut ws, big).await;
    assert_eq!(close_of(&mut ws).await.0, CloseCode::Size);

    // The right token.
    let (mut ws, hello) = ws_connect(&gw, json!({"token": TOKEN})).await;
    assert_eq!(hello["ok"], true, "{hello}");
    assert_eq!(hello["payload"]["type"], "hello-ok");
    assert_eq!(hello["payload"]["protocol"], 3);
    let status = call(&mut ws, "s1", "status", json!({})).await;
    assert_eq!(status["ok"], true);
    assert_eq!(status["payload"]["auth"]["mode"], "token");
    assert_eq!(status["payload"]["bind"]["host"], "127.0.0.1");
    let health = call(&mut ws, "h1", "health", json!({})).await;
    assert_eq!(health["payload"]["ok"], true);
    let config = call(&mut ws, "g1", "config.get", json!({})).await;
    assert_eq!(config["ok"], true);
    assert_eq!(
        config["payload"]["config"]["gateway"]["auth"]["token"],
        "__OPENCLAW_REDACTED__"
    );
    assert!(!config.to_string().contains(TOKEN));
    let one = call(&mut ws, "g2", "config.get", json!({"path": "gateway.bind"})).await;
    assert_eq!(one["payload"]["value"], "loopback");
    let plugins = call(&mut ws, "p1", "plugins.list", json!({})).await;
    assert!(plugins["payload"]["plugins"].is_array());
    let unknown = call(&mut ws, "u1", "no.such.method", json!({})).await;
    assert_eq!(unknown["error"]["code"], "METHOD_NOT_FOUND");
    let malformed = call(&mut ws, "m1", "", json!({})).await;
    assert_eq!(malformed["ok"], false);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_origins_are_checked() {
    let sandbox = sandbox();
    sandbox.write_config(&token_config(
        json!({"controlUi": {"allowedOrigins": ["https://control.example.com"]}}),
    ));
    let gw = start(&sandbox, &[]);
    assert_eq!(ws_open(&gw, Some("https://evil.example")).await.err(), Some(403));
    assert_eq!(ws_open(&gw, Some("null")).await.err(), Some(403));
    assert!(ws_open(&gw, Some("https://control.example.com")).await.is_ok());
    // A page on this machine talking to a direct local gateway.
    assert!(ws_open(&gw, Some("http://localhost:5173")).await.is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn brute_force_is_locked_out_on_http_and_websocket() {
    let sandbox = sandbox();
    sandbox.write_config(&token_config(json!({})));
    let gw = start(&sandbox, &[]);
    let body = json!({"tool": "web_fetch"});
    for attempt in 0..10 {
        let (status, _, _) = invoke(&gw, Some(&format!("Bearer guess-{attempt}")), body.clone()).await;
        assert_eq!(status, 401, "attempt {attempt}");
    }
    let (status, headers, reply) = invoke(&gw, Some("Bearer guess-11"), body.clone()).await;
    assert_eq!(status, 429);
    let retry: u64 = headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((250..=300).contains(&retry), "{retry}");
    assert_eq!(reply["error"]["type"], "rate_limited");
    // Locked out means locked out: the right token does not get in either.
    let (status, _, _) = invoke(&gw, Some(&format!("Bearer {TOKEN}")), body.clone()).await;
    assert_eq!(status, 429);
    // The same client over WebSocket.
    let (mut ws, response) = ws_connect(&gw, json!({"token": TOKEN})).await;
    assert_eq!(response["error"]["details"]["code"], "AUTH_RATE_LIMITED");
    let (code, reason) = close_of(&mut ws).await;
    assert_eq!(code, CloseCode::Policy);
    assert!(reason.contains("too many failed authentication attempts"), "{reason}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forwarded_for_from_an_untrusted_peer_gains_nothing() {
    let sandbox = sandbox();
    sandbox.write_config(&token_config(json!({})));
    let gw = start(&sandbox, &[]);
    let body = json!({"tool": "web_fetch"});
    // Rotating X-Forwarded-For does not give each guess a fresh budget.
    for attempt in 0..10 {
        let xff = format!("198.51.100.{attempt}");
        let (status, _, _) = invoke_with(
            &gw,
            Some("Bearer guess"),
            &[("x-forwarded-for", &xff), ("x-real-ip", &xff)],
            body.clone(),
        )
        .await;
        assert_eq!(status, 401);
    }
    let (status, _, _) = invoke_with(
        &gw,
        Some("Bearer guess"),
        &[("x-forwarded-for", "203.0.113.77")],
        body.clone(),
    )
    .await;
    assert_eq!(status, 429);

    // With auth mode none, a spoofed header makes the request non-local, so it is refused.
    let open = self::sandbox();
    open.write_config(&json!({"gateway": {"mode": "local", "auth": {"mode": "none"}}}).to_string());
    let gw = start(&open, &[]);
    let (status, _, _) = invoke(&gw, None, body.clone()).await;
    assert_eq!(status, 404, "a direct local client is admitted under mode none");
    let (status, _, _) = invoke_with(&gw, None, &[("x-forwarded-for", "127.0.0.1")], body.clone()).await;
    assert_eq!(status, 403);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trusted_proxy_clients_are_counted_separately() {
    let sandbox = sandbox();
    sandbox.write_config(&token_config(json!({"trustedProxies": ["127.0.0.1"]})));
    let gw = start(&sandbox, &[]);
    let body = json!({"tool": "web_fetch"});
    for attempt in 0..10 {
        let (status, _, _) = invoke_with(
            &gw,
            Some("Bearer guess"),
            &[("x-forwarded-for", "198.51.100.1")],
            body.clone(),
        )
        .await;
        assert_eq!(status, 401, "attempt {attempt}");
    }
    let locked = invoke_with(
        &gw,
        Some("Bearer guess"),
        &[("x-forwarded-for", "198.51.100.1")],
        body.clone(),
    )
    .await;
    assert_eq!(locked.0, 429);
    // Another client behind the same proxy is not punished for the first one.
    let other = invoke_with(
        &gw,
        Some(&format!("Bearer {TOKEN}")),
        &[("x-forwarded-for", "198.51.100.2")],
        body.clone(),
    )
    .await;
    assert_eq!(other.0, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn password_mode_accepts_bearer_and_basic() {
    let sandbox = sandbox().env("OPENCLAW_GATEWAY_PASSWORD", "correct horse battery staple");
    sandbox.write_config(&json!({"gateway": {"mode": "local", "auth": {"mode": "password"}}}).to_string());
    let gw = start(&sandbox, &[]);
    let body = json!({"tool": "web_fetch"});
    let basic = format!("Basic {}", base64_encode("operator:correct horse battery staple"));
    assert_eq!(invoke(&gw, Some(&basic), body.clone()).await.0, 404);
    assert_eq!(
        invoke(&gw, Some("Bearer correct horse battery staple"), body.clone())
            .await
            .0,
        404
    );
    assert_eq!(invoke(&gw, Some("Bearer wrong"), body.clone()).await.0, 401);
    let (_, response) = ws_connect(&gw, json!({"password": "wrong"})).await;
    assert_eq!(response["error"]["details"]["code"], "AUTH_PASSWORD_MISMATCH");
    let (_, hello) = ws_connect(&gw, json!({"password": "correct horse battery staple"})).await;
    assert_eq!(hello["ok"], true);
}

#[test]
fn non_loopback_without_a_credential_is_refused_before_listening() {
    for (config, args) in [
        (
            json!({"gateway": {"mode": "local", "bind": "lan", "controlUi": {"enabled": false}}}),
            vec![],
        ),
        (json!({"gateway": {"mode": "local"}}), vec!["--bind", "lan"]),
        (json!({"gateway": {"mode": "local"}}), vec!["--bind", "0.0.0.0"]),
    ] {
        let sandbox = sandbox();
        sandbox.write_config(&config.to_string());
        let (code, err) = try_start(&sandbox, &args).err().expect("must refuse");
        assert_eq!(code, Some(78), "{err}");
        assert!(err.contains("refusing to bind gateway"), "{err}");
        assert!(
            err.contains("gateway.auth.token") && err.contains("OPENCLAW_GATEWAY_TOKEN"),
            "{err}"
        );
        // Nothing was generated behind the operator's back.
        assert!(!sandbox.read_config().contains("token"));
    }
    // With a credential it listens on every interface.
    let sandbox = sandbox().env("OPENCLAW_GATEWAY_TOKEN", TOKEN);
    sandbox.write_config(
        &json!({"gateway": {"mode": "local", "bind": "lan", "controlUi": {"enabled": false}}}).to_string(),
    );
    let mut gw = start(&sandbox, &[]);
    assert!(gw.stderr().is_empty() || !gw.stderr().contains("error"));
    let _ = gw.child.kill();
    let _ = gw.wait(Duration::from_secs(5));
    // Auth mode none never leaves loopback.
    let sandbox = self::sandbox();
    sandbox.write_config(&json!({"gateway": {"mode": "local", "bind": "lan", "auth": {"mode": "none"}}}).to_string());
    let (code, _) = try_start(&sandbox, &[]).err().expect("must refuse");
    assert_eq!(code, Some(78));
}

#[test]
fn tailnet_without_a_tailscale_address_says_so() {
    let has_tailnet = if_addrs_has_tailnet();
    if has_tailnet {
        return;
    }
    let sandbox = sandbox().env("OPENCLAW_GATEWAY_TOKEN", TOKEN);
    sandbox.write_config(
        &json!({"gateway": {"mode": "local", "bind": "tailnet", "controlUi": {"allowedOrigins": ["https://gw.example.ts.net"]}}})
            .to_string(),
    );
    let (code, err) = try_start(&sandbox, &[]).err().expect("must refuse");
    assert_eq!(code, Some(78));
    assert!(err.contains("100.64.0.0/10"), "{err}");
}

fn if_addrs_has_tailnet() -> bool {
    let range = openclaw_core::gateway::bind::tailnet_range();
    if_addrs::get_if_addrs()
        .unwrap_or_default()
        .iter()
        .any(|i| matches!(i.ip(), std::net::IpAddr::V4(v4) if range.contains(&v4)))
}

#[test]
fn remote_mode_invalid_config_and_unresolved_secret_refs_refuse_with_78() {
    let cases = [
        (json!({"gateway": {"mode": "remote"}}).to_string(), "gateway.mode"),
        ("{ gateway: { bind: \"everywhere\" } }".to_string(), "gateway.bind"),
        (
            json!({"gateway": {"mode": "local", "auth": {"token": {"source": "env", "provider": "default", "id": "NOT_SET_ANYWHERE"}}}}).to_string(),
            "gateway.auth.token",
        ),
        (
            json!({"gateway": {"mode": "local", "trustedProxies": ["nginx"], "auth": {"token": TOKEN}}}).to_string(),
            "trustedProxies",
        ),
    ];
    for (config, needle) in cases {
        let sandbox = sandbox();
        sandbox.write_config(&config);
        let (code, err) = try_start(&sandbox, &[]).err().expect("must refuse");
        assert_eq!(code, Some(78), "{config}: {err}");
        assert!(err.contains(needle), "{config}: {err}");
    }
}

/// The gateway examples of the seed documents, as written there.
#[test]
fn seed_gateway_examples_start_as_documented() {
    let starts = [
        // 000: token auth.
        r#"{ gateway: { auth: { mode: "token", token: "replace-with-long-random-token" } } }"#,
        // 000: network hardening.
        r#"{ gateway: { mode: "local", bind: "loopback" } }"#,
        // 000: hardened baseline (gateway part and more).
        r#"{
          gateway: { mode: "local", bind: "loopback", auth: { mode: "token", token: "replace-with-long-random-token" } },
          session: { dmScope: "per-channel-peer" },
          tools: { profile: "messaging", deny: ["group:automation", "group:runtime", "group:fs", "sessions_spawn", "sessions_send"],
                   fs: { workspaceOnly: true }, exec: { security: "deny", ask: "always" }, elevated: { enabled: false } },
          channels: { whatsapp: { dmPolicy: "pairing", groups: { "*": { requireMention: true } } } },
        }"#,
        // 001: lock down the WebSocket.
        r#"{ gateway: { auth: { mode: "token", token: "your-token" } } }"#,
        // 001: secure baseline.
        r#"{ gateway: { mode: "local", bind: "loopback", port: 18789, auth: { mode: "token", token: "your-long-random-token" } },
             channels: { whatsapp: { dmPolicy: "pairing", groups: { "*": { requireMention: true } } } } }"#,
        // 001: mDNS modes.
        r#"{ discovery: { mdns: { mode: "minimal" } } }"#,
        r#"{ discovery: { mdns: { mode: "off" } } }"#,
        r#"{ discovery: { mdns: { mode: "full" } } }"#,
        // 002: Tailscale Serve in front of a loopback gateway.
        r#"{ "gateway": { "bind": "loopback", "tailscale": { "mode": "serve" }, "auth": { "mode": "token", "token": "0123456789abcdef0123456789abcdef" } } }"#,
    ];
    for config in starts {
        let sandbox = sandbox();
        sandbox.write_config(config);
        let mut gw = start(&sandbox, &[]);
        let _ = gw.child.kill();
        let _ = gw.wait(Duration::from_secs(5));
    }
    // 001: reverse proxy with a password from the environment (YAML in the seed).
    let proxy = r#"{ gateway: { trustedProxies: ["127.0.0.1"], auth: { mode: "password", password: "${OPENCLAW_GATEWAY_PASSWORD}" } } }"#;
    let sandbox = sandbox().env("OPENCLAW_GATEWAY_PASSWORD", "a long and strong password");
    sandbox.write_config(proxy);
    drop(start(&sandbox, &[]));
    let sandbox = self::sandbox();
    sandbox.write_config(proxy);
    let (code, err) = try_start(&sandbox, &[]).err().expect("missing variable must refuse");
    assert_eq!(code, Some(78));
    assert!(err.contains("OPENCLAW_GATEWAY_PASSWORD"), "{err}");
    // 000: "refusing to bind gateway ... without auth" and its fix.
    let sandbox = self::sandbox();
    sandbox.write_config(r#"{ gateway: { mode: "local", bind: "lan", controlUi: { enabled: false } } }"#);
    let (code, err) = try_start(&sandbox, &[]).err().expect("must refuse");
    assert_eq!(code, Some(78));
    assert!(
        err.contains("refusing to bind gateway") && err.contains("without auth"),
        "{err}"
    );
}

#[test]
fn status_stop_and_one_gateway_per_state_dir() {
    let sandbox = sandbox();
    sandbox.write_config(&token_config(json!({})));
    let not_running = sandbox.run(&["gateway", "status", "--json"]);
    assert_eq!(not_running.code, Some(1));
    assert_eq!(not_running.json()["running"], false);
    let mut gw = start(&sandbox, &[]);
    let status = sandbox.run(&["gateway", "status", "--json"]);
    assert_eq!(status.code, Some(0), "{}{}", status.stdout, status.stderr);
    let status = status.json();
    assert_eq!(status["running"], true);
    assert_eq!(status["healthy"], true);
    assert_eq!(status["port"], gw.port);
    // A second gateway on the same state directory refuses.
    let (code, err) = try_start(&sandbox, &[]).err().expect("second gateway must refuse");
    assert_eq!(code, Some(1));
    assert!(err.contains("pid"), "{err}");
    let stop = sandbox.run(&["gateway", "stop", "--json"]);
    assert_eq!(stop.code, Some(0), "{}{}", stop.stdout, stop.stderr);
    assert_eq!(stop.json()["stopped"], true);
    assert_eq!(gw.wait(Duration::from_secs(10)), Some(0));
    assert!(!sandbox.state_dir().join("gateway.run.json").exists());
    let again = sandbox.run(&["gateway", "stop"]);
    assert_eq!(again.code, Some(0));
    assert!(again.stdout.contains("not running"));
}

const PROBE: &str = r#"id = "probe"
version = "0.1.0"
api = "0.1.0"
kind = "channel"
[component]
file = "channel_probe.wasm"
[channel]
id = "probe"
[channel.webhook]
kind = "header-equals"
header = "x-hook-secret"
secret = "HOOK_SECRET"
"#;

/// Tool plugins behind `/tools/invoke`, a channel plugin's verified webhook and its inbound
/// messages, and a stop that lets an in-flight call finish and loses no inbound message.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plugins_are_served_and_stop_is_graceful() {
    use openclaw_test_support::{TestServer, plugin_dir, workspace_root};
    let server = TestServer::start().await;
    let manifest = std::fs::read_to_string(workspace_root().join("plugins/web-fetch/openclaw-plugin.toml"))
        .unwrap()
        .replace("\nhttp = [\"*\"]", "\nhttp = [\"*\"]\nprivate-network = true");
    let fetch_dir = tokio::task::spawn_blocking(move || plugin_dir("web-fetch", &manifest))
        .await
        .unwrap();
    let probe_dir = tokio::task::spawn_blocking(|| plugin_dir("channel-probe", PROBE))
        .await
        .unwrap();
    let sandbox = sandbox();
    sandbox.write_config(
        &json!({
            "gateway": {"mode": "local", "auth": {"token": TOKEN}},
            "plugins": {
                "load": {"paths": [fetch_dir.path(), probe_dir.path()]},
                "allow": ["web-fetch", "probe"],
                "entries": {
                    "web-fetch": {"http": {"allow": [server.host_port()], "allowPrivateNetwork": ["127.0.0.1"]}},
                    "probe": {"secrets": {"HOOK_SECRET": "hook-secret-value-0123456789"}},
                },
            },
        })
        .to_string(),
    );
    let mut gw = start(&sandbox, &[]);
    let bearer = format!("Bearer {TOKEN}");

    let (mut ws, hello) = ws_connect(&gw, json!({"token": TOKEN})).await;
    assert_eq!(hello["ok"], true);
    let listed = call(&mut ws, "p", "plugins.list", json!({})).await;
    let running: Vec<&str> = listed["payload"]["plugins"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["running"] == true)
        .map(|p| p["id"].as_str().unwrap())
        .collect();
    assert_eq!(running.len(), 2, "{listed}");

    let (status, _, reply) = invoke(
        &gw,
        Some(&bearer),
        json!({"tool": "web_fetch", "args": {"url": server.url("/hello")}}),
    )
    .await;
    assert_eq!(status, 200, "{reply}");
    assert_eq!(reply["result"]["text"], "hello from the test server");

    let client = reqwest::Client::new();
    let hook = gw.url("/webhooks/probe/updates?a=1");
    let refused = client
        .post(&hook)
        .header("x-hook-secret", "guess")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);
    let missing = client.post(&hook).body("{}").send().await.unwrap();
    assert_eq!(missing.status(), 401);
    let accepted = client
        .post(&hook)
        .header("x-hook-secret", "hook-secret-value-0123456789")
        .header("x-probe", "yes")
        .body(r#"{"update_id": 7}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(accepted.status(), 202);
    let echo: Value = accepted.json().await.unwrap();
    assert_eq!(echo["path"], "/updates");
    assert_eq!(echo["query"], "a=1");
    assert_eq!(echo["header"], "yes");
    assert_eq!(echo["body"], r#"{"update_id": 7}"#);
    // A verified request that carries the secret elsewhere reaches the plugin scrubbed, and the
    // verification header never reaches it.
    let hook_secret = "hook-secret-value-0123456789";
    let leaky = client
        .post(gw.url(&format!("/webhooks/probe/u/{hook_secret}?s={hook_secret}")))
        .header("x-hook-secret", hook_secret)
        .header("x-probe", hook_secret)
        .body(format!(r#"{{"echo": "{hook_secret}"}}"#))
        .send()
        .await
        .unwrap();
    assert_eq!(leaky.status(), 202);
    let echoed = leaky.text().await.unwrap();
    assert!(
        !echoed.contains(hook_secret),
        "the plugin saw the webhook secret: {echoed}"
    );
    assert!(
        !echoed.to_ascii_lowercase().contains("x-hook-secret"),
        "the plugin saw the verification header: {echoed}"
    );
    assert!(echoed.contains("[redacted:HOOK_SECRET]"), "{echoed}");
    let unknown = client.post(gw.url("/webhooks/web-fetch")).send().await.unwrap();
    assert_eq!(unknown.status(), 404);

    // A slow call is in flight when the stop arrives; it completes.
    let slow_url = server.url("/slow?ms=1500");
    let slow = {
        let url = gw.url("/tools/invoke");
        let bearer = bearer.clone();
        tokio::spawn(async move {
            reqwest::Client::new()
                .post(url)
                .header("authorization", bearer)
                .json(&json!({"tool": "web_fetch", "args": {"url": slow_url}}))
                .send()
                .await
        })
    };
    tokio::time::sleep(Duration::from_millis(400)).await;
    let stop_sandbox_cmd = sandbox.command(&["gateway", "stop", "--json"]);
    let stop = tokio::task::spawn_blocking(move || {
        let mut cmd = stop_sandbox_cmd;
        cmd.output().unwrap()
    });
    let response = slow.await.unwrap().unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["result"]["text"], "finally");
    let stop = stop.await.unwrap();
    assert!(stop.status.success(), "{}", String::from_utf8_lossy(&stop.stderr));
    // The operator socket was told and closed as going away.
    let mut saw_shutdown = false;
    loop {
        match tokio::time::timeout(Duration::from_secs(10), ws.next()).await.unwrap() {
            Some(Ok(Message::Text(t))) => saw_shutdown |= t.as_str().contains("\"shutdown\""),
            Some(Ok(Message::Close(frame))) => {
                assert_eq!(frame.map(|f| f.code), Some(CloseCode::Away));
                break;
            }
            Some(Ok(_)) => {}
            None | Some(Err(_)) => break,
        }
    }
    assert!(saw_shutdown);
    assert_eq!(gw.wait(Duration::from_secs(10)), Some(0));

    // Every message the channel delivered is in the ingress journal, in order, none missing.
    let journal_path = sandbox.state_dir().join("ingress/journal.jsonl");
    let journal = std::fs::read_to_string(&journal_path).unwrap();
    let texts: Vec<u64> = journal
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|r| r["t"] == "in")
        .map(|r| r["msg"]["text"].as_str().unwrap().parse().unwrap())
        .collect();
    assert!(!texts.is_empty());
    let expected: Vec<u64> = (1..=texts.len() as u64).collect();
    assert_eq!(texts, expected);
    assert_eq!(mode(&journal_path), 0o600);
}

/// Browses for `_openclaw-gw._tcp` and returns the TXT properties of the announcement on `port`.
fn browse(port: u16) -> Option<Vec<(String, String)>> {
    let daemon = mdns_sd::ServiceDaemon::new().ok()?;
    let events = daemon.browse("_openclaw-gw._tcp.local.").ok()?;
    let deadline = Instant::now() + Duration::from_secs(6);
    let mut found = None;
    while Instant::now() < deadline {
        if let Ok(mdns_sd::ServiceEvent::ServiceResolved(info)) = events.recv_timeout(Duration::from_millis(200))
            && info.get_port() == port
        {
            found = Some(
                info.get_properties()
                    .iter()
                    .map(|p| (p.key().to_string(), p.val_str().to_string()))
                    .collect(),
            );
            break;
        }
    }
    let _ = daemon.shutdown();
    found
}

#[test]
fn mdns_announces_by_mode() {
    let minimal = Sandbox::new();
    minimal.write_config(&token_config(json!({})));
    let gw = start(&minimal, &[]);
    let Some(txt) = browse(gw.port) else {
        // Multicast may be unavailable in a sandbox; the record content is unit-tested. Say so.
        eprintln!("mDNS browse found nothing on this machine (no multicast interface?)");
        return;
    };
    let keys: Vec<&str> = txt.iter().map(|(k, _)| k.as_str()).collect();
    assert!(keys.contains(&"gatewayPort") && keys.contains(&"role"), "{txt:?}");
    assert!(!keys.contains(&"cliPath") && !keys.contains(&"sshPort"), "{txt:?}");
    drop(gw);

    let full = Sandbox::new();
    full.write_config(
        &json!({"gateway": {"auth": {"token": TOKEN}}, "discovery": {"mdns": {"mode": "full"}}}).to_string(),
    );
    let gw = start(&full, &[]);
    let txt = browse(gw.port).expect("full mode announces");
    assert!(txt.iter().any(|(k, _)| k == "cliPath"), "{txt:?}");
    drop(gw);

    for (config, env) in [
        (
            json!({"gateway": {"auth": {"token": TOKEN}}, "discovery": {"mdns": {"mode": "off"}}}),
            None,
        ),
        (
            json!({"gateway": {"auth": {"token": TOKEN}}}),
            Some(("OPENCLAW_DISABLE_BONJOUR", "1")),
        ),
    ] {
        let mut sandbox = Sandbox::new();
        if let Some((k, v)) = env {
            sandbox = sandbox.env(k, v);
        }
        sandbox.write_config(&config.to_string());
        let gw = start(&sandbox, &[]);
        assert!(browse(gw.port).is_none(), "{config}");
    }
}

/// `config.get` redacts what `config get` masks: values secret by their key name in `env`,
/// opaque sections and plugin entries, and plugin secrets in every form; references stay visible.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn config_get_redacts_secrets_by_key_name_and_every_plugin_secret_form() {
    let secrets = [
        "sk-env-vars-api-key-0123456789",
        "ghp-inline-env-token-0123456789",
        "plugin-config-api-key-0123456789",
        "plugin-env-service-token-0123456789",
        "scoped-plugin-secret-value-0123456789",
        "plain-plugin-secret-value-0123456789",
        "talk-section-api-key-0123456789",
    ];
    let sandbox = sandbox().env("SHELL_PROVIDED_TOKEN", "shell-token-value-0123456789");
    sandbox.write_config(
        &json!({
            "gateway": {"mode": "local", "auth": {"token": TOKEN}},
            "env": {"vars": {"ACME_API_KEY": secrets[0], "REGION": "eu-west-1"}, "GITHUB_TOKEN": secrets[1]},
            "plugins": {"entries": {"absent": {
                "enabled": false,
                "config": {"apiKey": secrets[2], "mode": "fast"},
                "env": {"SERVICE_TOKEN": secrets[3]},
                "secrets": {
                    "BOT_TOKEN": {"value": secrets[4], "hosts": ["api.telegram.org"]},
                    "OTHER": secrets[5],
                    "FROM_ENV": "${SHELL_PROVIDED_TOKEN}",
                },
            }}},
            "talk": {"apiKey": secrets[6]},
        })
        .to_string(),
    );
    let gw = start(&sandbox, &[]);
    let (mut ws, hello) = ws_connect(&gw, json!({"token": TOKEN})).await;
    assert_eq!(hello["ok"], true, "{hello}");
    let whole = call(&mut ws, "g", "config.get", json!({})).await;
    let text = whole.to_string();
    for secret in secrets {
        assert!(!text.contains(secret), "config.get shows {secret}: {text}");
    }
    let config = &whole["payload"]["config"];
    assert_eq!(config["env"]["vars"]["REGION"], "eu-west-1");
    assert_eq!(config["env"]["GITHUB_TOKEN"], "__OPENCLAW_REDACTED__");
    let entry = &config["plugins"]["entries"]["absent"];
    assert_eq!(entry["config"]["mode"], "fast");
    assert_eq!(entry["secrets"]["BOT_TOKEN"]["value"], "__OPENCLAW_REDACTED__");
    assert_eq!(entry["secrets"]["BOT_TOKEN"]["hosts"][0], "api.telegram.org");
    assert_eq!(entry["secrets"]["FROM_ENV"], "${SHELL_PROVIDED_TOKEN}");
    let one = call(
        &mut ws,
        "p",
        "config.get",
        json!({"path": "plugins.entries.absent.secrets.BOT_TOKEN"}),
    )
    .await;
    assert_eq!(one["payload"]["value"]["value"], "__OPENCLAW_REDACTED__", "{one}");
}

/// A first run (no config yet) asked to listen beyond loopback does not invent a token that
/// nobody holds: it refuses with the fix and writes nothing. With the operator's token in the
/// environment it starts, and that token is the one checked.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_run_beyond_loopback_never_invents_a_token() {
    for bind in ["lan", "0.0.0.0", "auto"] {
        let sandbox = sandbox();
        let outcome = try_start(&sandbox, &["--bind", bind]);
        if bind == "auto" {
            // auto is loopback outside a container: a generated token is fine there.
            if let Ok(mut gw) = outcome {
                let _ = gw.child.kill();
                let _ = gw.wait(Duration::from_secs(5));
            }
            continue;
        }
        let (code, err) = outcome.err().expect("must refuse");
        assert_eq!(code, Some(78), "{bind}: {err}");
        assert!(
            err.contains("openclaw doctor --generate-gateway-token") && err.contains("gateway.auth.token"),
            "{bind}: {err}"
        );
        assert!(!sandbox.config_path().exists(), "{bind}: a config was written");
    }
    let sandbox = sandbox().env("OPENCLAW_GATEWAY_TOKEN", TOKEN);
    let gw = start(&sandbox, &["--bind", "lan"]);
    if sandbox.config_path().exists() {
        let config: Value = serde_json::from_str(&sandbox.read_config()).unwrap();
        assert!(config["gateway"]["auth"].get("token").is_none(), "{config}");
    }
    let (status, _, reply) = invoke(&gw, Some(&format!("Bearer {TOKEN}")), json!({"tool": "web_fetch"})).await;
    assert_eq!(status, 404, "the operator's token is the one in use: {reply}");
}

/// Security settings this gateway does not implement are never silent: TLS it would not
/// terminate refuses the start; settings that grant or change nothing here are warnings.
#[test]
fn unimplemented_security_settings_refuse_or_warn() {
    let sandbox = sandbox();
    sandbox.write_config(&token_config(
        json!({"tls": {"enabled": true, "certPath": "/etc/gw.pem"}}),
    ));
    let (code, err) = try_start(&sandbox, &[])
        .err()
        .expect("TLS that is not terminated must refuse");
    assert_eq!(code, Some(78));
    assert!(
        err.contains("gateway.tls.enabled") && err.contains("reverse proxy") && err.contains("tailscale serve"),
        "{err}"
    );

    let sandbox = self::sandbox();
    sandbox.write_config(&token_config(json!({
        "auth": {"mode": "token", "token": TOKEN, "allowTailscale": true},
        "controlUi": {"enabled": true, "allowInsecureAuth": true, "dangerouslyDisableDeviceAuth": true, "basePath": "/ui"},
        "reload": {"mode": "hot"},
        "nodes": {"denyCommands": ["system.run"]},
        "http": {"endpoints": {"responses": {"enabled": true}}},
        "channelHealthCheckMinutes": 5,
    })));
    let mut gw = start(&sandbox, &[]);
    let _ = gw.child.kill();
    let _ = gw.wait(Duration::from_secs(5));
    let err = gw.stderr();
    for needle in [
        "gateway.auth.allowTailscale",
        "gateway.controlUi.enabled",
        "gateway.controlUi.allowInsecureAuth",
        "gateway.controlUi.dangerouslyDisableDeviceAuth",
        "gateway.controlUi.basePath",
        "gateway.reload",
        "gateway.nodes",
        "gateway.http.endpoints.responses",
        "gateway.channelHealthCheckMinutes",
    ] {
        assert!(
            err.contains(&format!("warning: {needle}")),
            "no warning for {needle}:\n{err}"
        );
    }
}

const SECURITY_HEADERS: &[(&str, &str)] = &[
    ("x-content-type-options", "nosniff"),
    ("referrer-policy", "no-referrer"),
    ("x-permitted-cross-domain-policies", "none"),
    ("cross-origin-resource-policy", "same-origin"),
    ("x-frame-options", "DENY"),
];

fn assert_security_headers(what: &str, headers: &reqwest::header::HeaderMap, hsts: Option<&str>) {
    for (name, value) in SECURITY_HEADERS {
        assert_eq!(
            headers.get(*name).and_then(|v| v.to_str().ok()),
            Some(*value),
            "{what}: {name} in {headers:?}"
        );
    }
    let permissions = headers
        .get("permissions-policy")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    for feature in ["camera=()", "microphone=()", "geolocation=()", "payment=()", "usb=()"] {
        assert!(permissions.contains(feature), "{what}: {permissions}");
    }
    assert_eq!(
        headers.get("strict-transport-security").and_then(|v| v.to_str().ok()),
        hsts,
        "{what}"
    );
}

/// Every answer the router gives, refusals and 404s included, carries the security headers;
/// HSTS only when `gateway.http.securityHeaders.strictTransportSecurity` is a string.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_response_carries_the_security_headers() {
    for hsts in [None, Some("max-age=63072000; includeSubDomains")] {
        let sandbox = sandbox();
        let http = match hsts {
            Some(value) => json!({"securityHeaders": {"strictTransportSecurity": value}}),
            None => json!({"securityHeaders": {"strictTransportSecurity": false}}),
        };
        sandbox.write_config(&token_config(json!({
            "http": http,
            "controlUi": {"allowedOrigins": ["https://control.example.com"]},
        })));
        let gw = start(&sandbox, &[]);
        let client = reqwest::Client::new();
        let requests = [
            ("health", client.get(gw.url("/health"))),
            ("404", client.get(gw.url("/nope"))),
            ("websocket path without upgrade", client.get(gw.url("/"))),
            ("401", client.post(gw.url("/tools/invoke")).json(&json!({"tool": "x"}))),
            (
                "authenticated 404",
                client
                    .post(gw.url("/tools/invoke"))
                    .header("authorization", format!("Bearer {TOKEN}"))
                    .json(&json!({"tool": "x"})),
            ),
            ("unknown webhook", client.post(gw.url("/webhooks/none"))),
            (
                "refused origin",
                client.get(gw.url("/health")).header("origin", "https://evil.example"),
            ),
            (
                "refused host",
                client.get(gw.url("/health")).header("host", "evil.example"),
            ),
            (
                "refused websocket upgrade",
                client
                    .get(gw.url("/"))
                    .header("connection", "upgrade")
                    .header("upgrade", "websocket")
                    .header("sec-websocket-version", "13")
                    .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==")
                    .header("origin", "https://evil.example"),
            ),
        ];
        for (what, request) in requests {
            let response = request.send().await.unwrap();
            assert_security_headers(what, response.headers(), hsts);
        }
    }
}

async fn get_with(gw: &Running, path: &str, headers: &[(&str, &str)]) -> (u16, Value) {
    let mut request = reqwest::Client::new().get(gw.url(path));
    for (k, v) in headers {
        request = request.header(*k, *v);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json::<Value>().await.unwrap_or(Value::Null))
}

/// DNS rebinding: a request naming a host the gateway is not known by is refused on every route,
/// the WebSocket upgrade included, with the host and the fix in the answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_naming_a_foreign_host_are_refused() {
    let sandbox = sandbox();
    sandbox.write_config(&token_config(json!({
        "allowedHosts": ["gw.example.com", "*.corp.example"],
        "controlUi": {"allowedOrigins": ["https://control.example.com"]},
    })));
    let gw = start(&sandbox, &[]);
    let port = gw.port.to_string();
    let machine = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    let machine = machine.trim();
    let with_port = |h: &str| format!("{h}:{port}");
    let mut cases: Vec<(String, u16)> = vec![
        (with_port("127.0.0.1"), 200),
        (with_port("localhost"), 200),
        (with_port("[::1]"), 200),
        ("gw.example.com".into(), 200),
        (with_port("a.corp.example"), 200),
        ("control.example.com".into(), 200),
        (with_port("evil.example"), 421),
        (with_port("gw.example.com.evil.example"), 421),
        ("127.0.0.1.nip.io".into(), 421),
        ("not a host".into(), 421),
    ];
    if !machine.is_empty() {
        cases.push((with_port(machine), 200));
        cases.push((format!("{machine}.local"), 200));
    }
    for (host, want) in &cases {
        let (status, body) = get_with(&gw, "/health", &[("host", host)]).await;
        assert_eq!(status, *want, "Host {host}: {body}");
        if *want == 421 {
            let message = body["error"]["message"].as_str().unwrap_or_default();
            assert!(message.contains(host.as_str()) || host == "not a host", "{body}");
            assert_eq!(body["error"]["type"], "misdirected_request", "{body}");
        }
    }
    let (status, body) = get_with(&gw, "/health", &[("host", "evil.example")]).await;
    assert_eq!(status, 421);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("gateway.allowedHosts"),
        "{body}"
    );
    // Authenticated routes too: the right token does not make a foreign Host acceptable.
    let (status, _, _) = invoke_with(
        &gw,
        Some(&format!("Bearer {TOKEN}")),
        &[("host", "evil.example")],
        json!({"tool": "x"}),
    )
    .await;
    assert_eq!(status, 421);
    // The WebSocket upgrade.
    let mut request = gw.ws_url().into_client_request().unwrap();
    request.headers_mut().insert("host", "evil.example".parse().unwrap());
    match tokio_tungstenite::connect_async(request).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => assert_eq!(response.status().as_u16(), 421),
        other => panic!("upgrade with a foreign Host was not refused: {other:?}"),
    }
    // From an untrusted peer, X-Forwarded-Host changes nothing.
    let (status, _) = get_with(&gw, "/health", &[("x-forwarded-host", "evil.example")]).await;
    assert_eq!(status, 200);
    let (status, _) = get_with(
        &gw,
        "/health",
        &[("host", "evil.example"), ("x-forwarded-host", "localhost")],
    )
    .await;
    assert_eq!(status, 421);
}

/// Behind a trusted proxy the public name arrives in X-Forwarded-Host and is checked like Host.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trusted_proxy_forwards_the_host_it_was_asked_for() {
    let sandbox = sandbox();
    sandbox.write_config(&token_config(json!({
        "trustedProxies": ["127.0.0.1"],
        "allowedHosts": ["gw.example.com"],
    })));
    let gw = start(&sandbox, &[]);
    let xff = ("x-forwarded-for", "198.51.100.4");
    for (headers, want) in [
        (vec![xff, ("x-forwarded-host", "gw.example.com")], 200),
        (vec![xff, ("x-forwarded-host", "evil.example")], 421),
        (vec![xff, ("x-forwarded-host", "evil.example, gw.example.com")], 200),
        (vec![xff, ("host", "gw.example.com")], 200),
        (vec![xff, ("host", "evil.example")], 421),
    ] {
        let (status, body) = get_with(&gw, "/health", &headers).await;
        assert_eq!(status, want, "{headers:?}: {body}");
    }
}

/// A browser page on another site cannot drive any endpoint: a request carrying a browser
/// `Origin` that is not allowed is refused before authentication, tools and webhooks included.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cross_site_browser_requests_are_refused_on_every_endpoint() {
    let sandbox = sandbox();
    sandbox.write_config(&token_config(
        json!({"controlUi": {"allowedOrigins": ["https://control.example.com"]}}),
    ));
    let gw = start(&sandbox, &[]);
    let bearer = format!("Bearer {TOKEN}");
    let body = json!({"tool": "web_fetch", "args": {}});
    for origin in ["https://evil.example", "null", "http://localhost.evil.example"] {
        let (status, _, reply) = invoke_with(&gw, Some(&bearer), &[("origin", origin)], body.clone()).await;
        assert_eq!(status, 403, "{origin}: {reply}");
        assert_eq!(reply["error"]["code"], "CONTROL_UI_ORIGIN_NOT_ALLOWED", "{reply}");
        let hook = reqwest::Client::new()
            .post(gw.url("/webhooks/probe"))
            .header("origin", origin)
            .body("{}")
            .send()
            .await
            .unwrap();
        assert_eq!(hook.status(), 403, "{origin}");
        let (status, _) = get_with(&gw, "/health", &[("origin", origin)]).await;
        assert_eq!(status, 403, "{origin}");
    }
    // Allowed origins, and a page on this machine talking to a direct local gateway, get through
    // to authentication as before.
    for origin in ["https://control.example.com", "http://localhost:5173"] {
        let (status, _, reply) = invoke_with(&gw, Some(&bearer), &[("origin", origin)], body.clone()).await;
        assert_eq!(status, 404, "{origin}: {reply}");
    }
    let (status, _, _) = invoke_with(&gw, None, &[], body).await;
    assert_eq!(
        status, 401,
        "clients without Origin are not browsers and only need the credential"
    );
}

async fn raw_connect(gw: &Running) -> tokio::net::TcpStream {
    tokio::net::TcpStream::connect(("127.0.0.1", gw.port)).await.unwrap()
}

/// Reads until the server closes the connection; `None` if it is still open after `limit`
/// (a guard so a failing run ends, not a measurement).
async fn read_until_closed(stream: &mut tokio::net::TcpStream, limit: Duration) -> Option<String> {
    use tokio::io::AsyncReadExt;
    let mut got = Vec::new();
    let read = async {
        let mut buf = [0u8; 4096];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
    };
    tokio::time::timeout(limit, read).await.ok()?;
    Some(String::from_utf8_lossy(&got).into_owned())
}

/// Sends one HTTP/1.1 request on a kept-alive connection and reads its whole response.
async fn exchange(stream: &mut tokio::net::TcpStream, request: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let text = String::from_utf8_lossy(&got).into_owned();
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let length = head
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length:")
                        .map(|v| v.trim().parse::<usize>().unwrap())
                })
                .unwrap_or(0);
            if body.len() >= length {
                return text;
            }
        }
        let n = tokio::time::timeout(Duration::from_secs(20), stream.read(&mut buf))
            .await
            .expect("no response")
            .unwrap();
        assert!(n > 0, "closed before the response was complete: {text}");
        got.extend_from_slice(&buf[..n]);
    }
}

const HEALTH: &str = "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";

/// Slowloris: headers that never end, a body that never arrives and a connection that says
/// nothing are all cut off by the gateway's own timeouts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_clients_are_cut_off() {
    use tokio::io::AsyncWriteExt;
    let sandbox = sandbox()
        .env("OPENCLAW_HANDSHAKE_TIMEOUT_MS", "500")
        .env("OPENCLAW_BODY_TIMEOUT_MS", "500");
    sandbox.write_config(&token_config(json!({})));
    let gw = start(&sandbox, &[]);
    let guard = Duration::from_secs(20);

    let mut headers = raw_connect(&gw).await;
    headers
        .write_all(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        .await
        .unwrap();
    let got = read_until_closed(&mut headers, guard)
        .await
        .expect("a connection whose headers never end is kept open");
    assert!(!got.contains("200 OK"), "{got}");

    let mut body = raw_connect(&gw).await;
    body.write_all(
        format!(
            "POST /tools/invoke HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {TOKEN}\r\n\
             Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{{\"tool\": "
        )
        .as_bytes(),
    )
    .await
    .unwrap();
    let got = read_until_closed(&mut body, guard)
        .await
        .expect("a request whose body never arrives is kept open");
    assert!(got.starts_with("HTTP/1.1 408"), "{got}");
    assert!(got.contains("x-content-type-options: nosniff"), "{got}");

    let mut silent = raw_connect(&gw).await;
    assert!(
        read_until_closed(&mut silent, guard).await.is_some(),
        "a connection that sends nothing is kept open"
    );
    // A complete request is still answered; an announced body over 1 MiB is refused unread.
    let mut ok = raw_connect(&gw).await;
    assert!(exchange(&mut ok, HEALTH).await.starts_with("HTTP/1.1 200"));
    let mut big = raw_connect(&gw).await;
    let reply = exchange(
        &mut big,
        "POST /tools/invoke HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 2097152\r\n\r\n",
    )
    .await;
    assert!(reply.starts_with("HTTP/1.1 413"), "{reply}");
}

/// At most 64 connections may be open without having authenticated (HTTP connections with no
/// authenticated request yet, WebSockets before `connect`); the next one is turned away at
/// once with 503, while authenticated connections do not count.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unauthenticated_connections_are_capped() {
    let sandbox = sandbox().env("OPENCLAW_HANDSHAKE_TIMEOUT_MS", "60000");
    sandbox.write_config(&token_config(json!({})));
    let gw = start(&sandbox, &[]);
    let guard = Duration::from_secs(20);
    let invoke = format!(
        "POST /tools/invoke HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {TOKEN}\r\n\
         Content-Type: application/json\r\nContent-Length: 13\r\n\r\n{{\"tool\": \"x\"}}"
    );
    let mut authenticated = raw_connect(&gw).await;
    assert!(exchange(&mut authenticated, &invoke).await.starts_with("HTTP/1.1 404"));

    let mut idle = Vec::new();
    for _ in 0..64 {
        idle.push(raw_connect(&gw).await);
    }
    let mut extra = raw_connect(&gw).await;
    let got = read_until_closed(&mut extra, guard)
        .await
        .expect("the 65th unauthenticated connection was kept");
    assert!(got.starts_with("HTTP/1.1 503"), "{got}");
    assert!(got.contains("x-content-type-options: nosniff"), "{got}");
    // The 64 were held, not dropped, and the authenticated connection still works.
    for stream in &mut idle {
        assert!(exchange(stream, HEALTH).await.starts_with("HTTP/1.1 200"));
    }
    assert!(exchange(&mut authenticated, HEALTH).await.starts_with("HTTP/1.1 200"));
    drop(idle);

    // WebSockets count until `connect` succeeds.
    let sandbox = self::sandbox().env("OPENCLAW_HANDSHAKE_TIMEOUT_MS", "60000");
    sandbox.write_config(&token_config(json!({})));
    let gw = start(&sandbox, &[]);
    let mut sockets = Vec::new();
    for _ in 0..64 {
        let mut ws = ws_open(&gw, None).await.unwrap();
        next_json(&mut ws).await;
        sockets.push(ws);
    }
    let mut extra = raw_connect(&gw).await;
    let got = read_until_closed(&mut extra, guard)
        .await
        .expect("the 65th connection was kept");
    assert!(got.starts_with("HTTP/1.1 503"), "{got}");
    send(&mut sockets[0], connect_frame(json!({"token": TOKEN}))).await;
    assert_eq!(next_json(&mut sockets[0]).await["ok"], true);
    let mut next = raw_connect(&gw).await;
    assert!(exchange(&mut next, HEALTH).await.starts_with("HTTP/1.1 200"));
}

/// Before `connect`, a frame announcing more than 64 KiB is refused from its header: the close
/// (1009) arrives although the client has sent only the first KiB of its megabyte. After
/// `connect`, frames up to 1 MiB are read.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_frame_before_connect_is_refused_unread() {
    use tokio::io::AsyncWriteExt;
    let sandbox = sandbox().env("OPENCLAW_HANDSHAKE_TIMEOUT_MS", "5000");
    sandbox.write_config(&token_config(json!({})));
    let gw = start(&sandbox, &[]);
    let mut ws = ws_open(&gw, None).await.unwrap();
    next_json(&mut ws).await;
    let mut frame = vec![0x81, 0x80 | 127];
    frame.extend_from_slice(&1_000_000u64.to_be_bytes());
    frame.extend_from_slice(&[0, 0, 0, 0]);
    frame.extend_from_slice(&[b' '; 1024]);
    match ws.get_mut() {
        tokio_tungstenite::MaybeTlsStream::Plain(tcp) => tcp.write_all(&frame).await.unwrap(),
        _ => unreachable!("plain ws:// connection"),
    }
    let (code, reason) = close_of(&mut ws).await;
    assert_eq!(code, CloseCode::Size, "{reason}");

    let (mut ws, hello) = ws_connect(&gw, json!({"token": TOKEN})).await;
    assert_eq!(hello["ok"], true);
    let big = call(&mut ws, "b", "health", json!({"padding": "x".repeat(512 * 1024)})).await;
    assert_eq!(
        big["ok"],
        true,
        "{}",
        &big.to_string()[..200.min(big.to_string().len())]
    );
}

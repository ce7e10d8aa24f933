//! The gateway server: one port for HTTP and WebSocket, authentication that fails closed, and
//! the plugins it runs. Policy (bind, auth, client address, rate limits, origins, the HTTP tool
//! deny list) is pure code in `openclaw_core::gateway`; this module does the I/O around it.

pub mod chat;
pub mod front;
pub mod guard;
pub mod http;
pub mod mdns;
pub mod methods;
pub mod openai;
pub mod pairing;
pub mod run;
pub mod secrets_reload;
pub mod serve;
pub mod token;
pub mod ws;

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::http::{HeaderName, HeaderValue};
use openclaw_core::config::schema::Config;
use openclaw_core::gateway::bind::ResolvedBind;
use openclaw_core::gateway::headers::security_headers;
use openclaw_core::gateway::host::HostPolicy;
use serde_json::{Value, json};
use tokio::sync::{Notify, watch};

use self::guard::Guard;
use self::methods::Methods;
use crate::agents::AgentService;
use crate::events::EventBus;
use crate::plugins::serving::Plugins;
use crate::tools::Dispatcher;

/// Protocol version of the operator WebSocket (OpenClaw's current one).
pub const PROTOCOL_VERSION: u64 = 3;

/// Everything a request handler can reach. Built once at start; the config is a snapshot.
pub struct Gateway {
    pub guard: Guard,
    pub methods: Methods,
    pub config: Arc<Config>,
    pub bind: ResolvedBind,
    pub port: u16,
    pub plugins: Arc<Plugins>,
    /// The agent loop, and through it the one tool gate.
    pub agents: Arc<AgentService>,
    pub events: EventBus,
    /// DM pairing requests and approved senders (`credentials/`).
    pub pairing: crate::ingress::pairing_store::PairingStore,
    /// The resolved secrets in force, and what `secrets reload` re-resolves.
    pub secrets: Arc<crate::secrets::live::SecretsRuntime>,
    /// The log's (and transcripts') redactor, told about every value a reload brings in.
    pub redactor: Arc<openclaw_core::security::redact::Redactor>,
    pub allowed_origins: Vec<String>,
    pub host_header_origin_fallback: bool,
    /// The host names requests may address (DNS rebinding).
    pub hosts: HostPolicy,
    /// Sent on every HTTP answer.
    pub security_headers: Vec<(HeaderName, HeaderValue)>,
    /// How long a client has to present itself: the request head, the WebSocket `connect`.
    pub handshake_timeout: Duration,
    /// How long a request body may take to arrive.
    pub body_timeout: Duration,
    pub tick_interval: Duration,
    config_path: PathBuf,
    config_hash: String,
    redacted_config: Value,
    started: Instant,
    started_at: String,
    connections: AtomicUsize,
    work: AtomicUsize,
    work_done: Notify,
    shutdown: watch::Receiver<bool>,
}

/// Counts one unit of in-flight work (a WebSocket request) until dropped, so a graceful stop
/// can wait for it.
pub struct WorkGuard(Arc<Gateway>);

impl Drop for WorkGuard {
    fn drop(&mut self) {
        if self.0.work.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.0.work_done.notify_waiters();
        }
    }
}

/// Counts one open WebSocket connection.
pub struct ConnectionGuard(Arc<Gateway>);

impl Drop for ConnectionGuard {
    fn drop(&mut self) {
        if self.0.connections.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.0.work_done.notify_waiters();
        }
    }
}

/// What [`Gateway::new`] needs.
pub struct GatewayParts {
    pub guard: Guard,
    pub config: Arc<Config>,
    pub config_path: PathBuf,
    pub config_hash: String,
    pub redacted_config: Value,
    pub bind: ResolvedBind,
    pub port: u16,
    pub plugins: Arc<Plugins>,
    pub agents: Arc<AgentService>,
    pub events: EventBus,
    pub pairing: crate::ingress::pairing_store::PairingStore,
    pub secrets: Arc<crate::secrets::live::SecretsRuntime>,
    pub redactor: Arc<openclaw_core::security::redact::Redactor>,
    pub hosts: HostPolicy,
    pub handshake_timeout: Duration,
    pub body_timeout: Duration,
    pub tick_interval: Duration,
    pub shutdown: watch::Receiver<bool>,
}

impl Gateway {
    pub fn new(parts: GatewayParts) -> Arc<Self> {
        let ui = parts
            .config
            .gateway
            .as_ref()
            .and_then(|g| g.control_ui.clone())
            .unwrap_or_default();
        let hsts = parts
            .config
            .gateway
            .as_ref()
            .and_then(|g| g.http.as_ref())
            .and_then(|h| h.security_headers.as_ref())
            .and_then(|h| h.strict_transport_security.as_ref())
            .and_then(|h| h.header().map(str::to_string));
        // The schema admits only printable ASCII for the HSTS value, so every header converts.
        let security_headers = security_headers(hsts.as_deref())
            .into_iter()
            .filter_map(|(name, value)| Some((HeaderName::from_static(name), HeaderValue::from_str(&value).ok()?)))
            .collect();
        Arc::new(Self {
            guard: parts.guard,
            methods: Methods::builtin(),
            allowed_origins: ui.allowed_origins.unwrap_or_default(),
            host_header_origin_fallback: ui.dangerously_allow_host_header_origin_fallback == Some(true),
            hosts: parts.hosts,
            security_headers,
            config: parts.config,
            bind: parts.bind,
            port: parts.port,
            plugins: parts.plugins,
            agents: parts.agents,
            events: parts.events,
            pairing: parts.pairing,
            secrets: parts.secrets,
            redactor: parts.redactor,
            handshake_timeout: parts.handshake_timeout,
            body_timeout: parts.body_timeout,
            tick_interval: parts.tick_interval,
            config_path: parts.config_path,
            config_hash: parts.config_hash,
            redacted_config: parts.redacted_config,
            started: Instant::now(),
            started_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            connections: AtomicUsize::new(0),
            work: AtomicUsize::new(0),
            work_done: Notify::new(),
            shutdown: parts.shutdown,
        })
    }

    pub fn begin_work(self: &Arc<Self>) -> WorkGuard {
        self.work.fetch_add(1, Ordering::AcqRel);
        WorkGuard(self.clone())
    }

    pub fn open_connection(self: &Arc<Self>) -> ConnectionGuard {
        self.connections.fetch_add(1, Ordering::AcqRel);
        ConnectionGuard(self.clone())
    }

    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::Acquire)
    }

    /// A receiver that turns true when the gateway is stopping.
    pub fn shutdown_signal(&self) -> watch::Receiver<bool> {
        self.shutdown.clone()
    }

    pub fn is_stopping(&self) -> bool {
        *self.shutdown.borrow()
    }

    /// Waits until no WebSocket connection or request is left, or `limit` passes. Returns
    /// whether everything finished.
    pub async fn drained(&self, limit: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let notified = self.work_done.notified();
            if self.work.load(Ordering::Acquire) == 0 && self.connections.load(Ordering::Acquire) == 0 {
                return true;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return false;
            }
        }
    }

    pub fn config_path(&self) -> String {
        self.config_path.display().to_string()
    }

    pub fn config_hash(&self) -> &str {
        &self.config_hash
    }

    pub fn redacted_config(&self) -> Value {
        self.redacted_config.clone()
    }

    pub fn uptime_ms(&self) -> u128 {
        self.started.elapsed().as_millis()
    }

    pub fn health(&self) -> Value {
        json!({
            "ok": true,
            "uptimeMs": self.uptime_ms() as u64,
            "plugins": self.plugins.health(),
        })
    }

    pub fn status(&self) -> Value {
        let limits = self.guard.limits();
        json!({
            "version": env!("CARGO_PKG_VERSION"),
            "protocol": PROTOCOL_VERSION,
            "pid": std::process::id(),
            "startedAt": self.started_at,
            "uptimeMs": self.uptime_ms() as u64,
            "bind": {
                "mode": self.bind.mode.as_str(),
                "host": self.bind.ip.to_string(),
                "port": self.port,
                "loopback": self.bind.is_loopback(),
            },
            "auth": {
                "mode": self.guard.auth().mode_name(),
                "rateLimit": {
                    "maxAttempts": limits.max_attempts,
                    "windowMs": limits.window.as_millis() as u64,
                    "lockoutMs": limits.lockout.as_millis() as u64,
                    "exemptLoopback": limits.exempt_loopback,
                },
            },
            "connections": self.connections(),
            "plugins": self.plugins.count(),
            "methods": self.methods.names(),
        })
    }

    /// The one gate for tool calls from every transport.
    pub fn dispatcher(&self) -> &Arc<Dispatcher> {
        self.agents.dispatcher()
    }

    pub fn plugins_json(&self) -> Value {
        json!({"plugins": self.plugins.listing()})
    }
}

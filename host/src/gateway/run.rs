//! `openclaw gateway run`: load and check the config, decide where to listen (or refuse), take
//! the state directory's lock, load plugins, serve until SIGTERM/SIGINT, then stop gracefully.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use openclaw_core::config::path::JsonPath;
use openclaw_core::config::schema::common::SecretInput;
use openclaw_core::config::schema::root_schema;
use openclaw_core::config::sensitive::secret_literals;
use openclaw_core::gateway::auth::{ResolvedAuth, SecretDigest};
use openclaw_core::gateway::bind::{BindRequest, HostFacts};
use openclaw_core::gateway::plan::{AuthPlan, StartInputs, StartPlan, plan_start};
use openclaw_core::gateway::rate_limit::RateLimitSettings;
use serde_json::{Value, json};
use tokio::sync::watch;

use super::guard::Guard;
use super::token::new_token;
use super::{Gateway, GatewayParts};
use crate::config::{self, edit};
use crate::context::Context;
use crate::exit::{EXIT_CONFIG, EXIT_FAILED, EXIT_OK, EXIT_USAGE};
use crate::logging::setup::init_logging_gateway;
use crate::output::print_issues;
use crate::plugins::serving::Plugins;
use crate::running::{self, RunInfo};
use crate::secrets::{self, ResolvedSecrets};
use crate::state::StateLock;
use crate::state::ids::sha256_hex;

/// How long a stop waits for in-flight work before closing anyway.
pub const DRAIN_LIMIT: Duration = Duration::from_secs(30);
/// How long a request body may take to arrive (`OPENCLAW_BODY_TIMEOUT_MS`).
pub const BODY_TIMEOUT: Duration = Duration::from_secs(30);
/// Placeholder for redacted secrets in `config.get`.
pub const REDACTED: &str = "__OPENCLAW_REDACTED__";

#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    pub port: Option<u16>,
    pub bind: Option<String>,
}

/// Facts about this machine the bind decision needs.
pub fn host_facts() -> HostFacts {
    let interface_addrs = if_addrs::get_if_addrs()
        .map(|list| list.into_iter().map(|i| i.ip()).collect())
        .unwrap_or_default();
    let markers = ["/.dockerenv", "/run/.containerenv", "/var/run/.containerenv"];
    let in_container = markers.iter().any(|m| Path::new(m).exists())
        || std::fs::read_to_string("/proc/1/cgroup")
            .map(|c| {
                ["docker", "containerd", "kubepods", "lxc"]
                    .iter()
                    .any(|k| c.contains(k))
            })
            .unwrap_or(false);
    let host_name = ["/proc/sys/kernel/hostname", "/etc/hostname"]
        .iter()
        .find_map(|file| std::fs::read_to_string(file).ok())
        .map(|name| name.trim().to_string())
        .filter(|name| !name.is_empty());
    HostFacts {
        interface_addrs,
        in_container,
        host_name,
    }
}

/// The config document with every secret literal replaced (what operators see over the wire).
pub fn redacted_document(doc: &Value) -> Value {
    let mut out = doc.clone();
    for (path, _) in secret_literals(root_schema(), doc) {
        if let Some(slot) = edit::value_at_mut(&mut out, &path) {
            *slot = Value::String(REDACTED.into());
        }
    }
    out
}

fn refuse(message: &str) -> u8 {
    eprintln!("error: {message}");
    EXIT_CONFIG
}

/// The config a first run writes: local and loopback, with token auth only when a token had to
/// be generated (a credential from the environment stays the one in use).
fn first_run_document(token: Option<&str>) -> Value {
    let mut gateway = json!({
        "mode": "local",
        "bind": "loopback",
        "port": openclaw_core::config::schema::gateway::DEFAULT_PORT,
    });
    if let Some(token) = token {
        gateway["auth"] = json!({"mode": "token", "token": token});
    }
    json!({ "gateway": gateway })
}

/// A first run (no config file yet): decides with the config it would write, and writes it only
/// when the gateway may start with it. Beyond loopback without a credential it refuses and
/// creates nothing, because a token it invented would be held by no client yet would let the
/// gateway listen. Returns whether a token was generated.
fn first_run(
    ctx: &Context,
    options: &RunOptions,
    cli_bind: Option<BindRequest>,
    facts: &HostFacts,
) -> Result<bool, u8> {
    let text = first_run_document(None).to_string();
    let candidate = config::load_text(&text, &ctx.paths.config_path, &ctx.env)
        .ok()
        .and_then(|loaded| loaded.config().cloned())
        .unwrap_or_default();
    let inputs = StartInputs {
        config: &candidate,
        config_token: None,
        config_password: None,
        env_token: ctx.env.get("OPENCLAW_GATEWAY_TOKEN"),
        env_password: ctx.env.get("OPENCLAW_GATEWAY_PASSWORD"),
        env_port: ctx.env.get("OPENCLAW_GATEWAY_PORT"),
        cli_port: options.port,
        cli_bind,
        facts,
    };
    let plan = match plan_start(&inputs) {
        Ok(plan) => plan,
        Err(refusal) => {
            eprintln!("error: {refusal}");
            eprintln!(
                "  first run: no config exists yet at {}, and nothing was created",
                ctx.paths.config_path.display()
            );
            return Err(EXIT_CONFIG);
        }
    };
    let token = match plan.auth {
        AuthPlan::GenerateToken => match new_token() {
            Ok(token) => Some(token),
            Err(e) => return Err(refuse(&format!("the operating system's random source failed: {e}"))),
        },
        AuthPlan::Ready(_) => None,
    };
    let doc = first_run_document(token.as_deref());
    let written = edit::modify(&ctx.paths, &ctx.env, |current| {
        *current = doc;
        Ok(true)
    });
    if let Err(e) = written {
        return Err(refuse(&format!(
            "could not create {}: {e}",
            ctx.paths.config_path.display()
        )));
    }
    Ok(token.is_some())
}

/// Stores a generated token in the config (token mode with no token, on loopback).
fn store_token(ctx: &Context, token: &str) -> Result<(), String> {
    let result = edit::modify(&ctx.paths, &ctx.env, |doc| {
        let set = |doc: &mut Value, path: &str, value: Value| -> Result<(), String> {
            edit::set(doc, &JsonPath::parse(path).map_err(|e| e.to_string())?, value)
        };
        set(doc, "gateway.auth.token", Value::String(token.to_string()))?;
        Ok(true)
    });
    result.map(|_| ()).map_err(|e| e.to_string())
}

fn secret_value(
    config_input: Option<&SecretInput>,
    path: &str,
    resolved: &ResolvedSecrets,
) -> Result<Option<String>, String> {
    let Some(input) = config_input else { return Ok(None) };
    let path = JsonPath::parse(path).map_err(|e| e.to_string())?;
    match resolved.value_of(input, &path) {
        Some(value) => Ok(Some(value.expose().to_string())),
        None => Err(format!(
            "{path} is a SecretRef that did not resolve; fix the reference (`openclaw config validate` shows why) so the gateway does not start unprotected"
        )),
    }
}

pub fn run(ctx: &Context, options: RunOptions) -> u8 {
    let cli_bind = match options.bind.as_deref().map(BindRequest::parse).transpose() {
        Ok(bind) => bind,
        Err(message) => {
            eprintln!("error: --bind: {message}");
            return EXIT_USAGE;
        }
    };
    let facts = host_facts();
    let mut first_run_generated = false;
    if !ctx.paths.config_path.exists() && ctx.env.get("OPENCLAW_CONFIG_PATH").is_none() {
        first_run_generated = match first_run(ctx, &options, cli_bind, &facts) {
            Ok(generated) => generated,
            Err(code) => return code,
        };
    }
    let loaded = match config::load(&ctx.paths, &ctx.env) {
        Ok(loaded) => loaded,
        Err(failure) => {
            eprintln!("error: {}", failure.issue.message);
            if let Some(hint) = &failure.issue.hint {
                eprintln!("  {hint}");
            }
            return EXIT_CONFIG;
        }
    };
    let Some(config) = loaded.config().cloned() else {
        eprintln!(
            "error: gateway start blocked: {} is invalid",
            ctx.paths.config_path.display()
        );
        print_issues(loaded.issues(), false, true);
        eprintln!("  fix the errors above (`openclaw config validate` shows them again), then start the gateway");
        return EXIT_CONFIG;
    };
    let (resolved, secret_errors) = secrets::resolve_all(&config, &loaded.checked.resolved, &ctx.env);
    let auth_config = config.gateway.as_ref().and_then(|g| g.auth.clone()).unwrap_or_default();
    let token = secret_value(auth_config.token.as_ref(), "gateway.auth.token", &resolved);
    let password = secret_value(auth_config.password.as_ref(), "gateway.auth.password", &resolved);
    let (token, password) = match (token, password) {
        (Ok(t), Ok(p)) => (t, p),
        (Err(e), _) | (_, Err(e)) => return refuse(&e),
    };
    let inputs = StartInputs {
        config: &config,
        config_token: token.as_deref(),
        config_password: password.as_deref(),
        env_token: ctx.env.get("OPENCLAW_GATEWAY_TOKEN"),
        env_password: ctx.env.get("OPENCLAW_GATEWAY_PASSWORD"),
        env_port: ctx.env.get("OPENCLAW_GATEWAY_PORT"),
        cli_port: options.port,
        cli_bind,
        facts: &facts,
    };
    let plan = match plan_start(&inputs) {
        Ok(plan) => plan,
        Err(refusal) => return refuse(&refusal.to_string()),
    };
    let redactor = init_logging_gateway(ctx, &loaded, &resolved);
    for error in &secret_errors {
        tracing::warn!("{}: {}", error.path, redactor.redact(&error.message));
    }
    for warning in &plan.warnings {
        eprintln!("warning: {warning}");
        tracing::warn!("{warning}");
    }
    let auth = match &plan.auth {
        AuthPlan::Ready(auth) => auth.clone(),
        AuthPlan::GenerateToken => {
            let token = match new_token() {
                Ok(t) => t,
                Err(e) => return refuse(&format!("the operating system's random source failed: {e}")),
            };
            if let Err(e) = store_token(ctx, &token) {
                return refuse(&format!(
                    "gateway auth needs a token and storing a generated one failed: {e}"
                ));
            }
            eprintln!(
                "generated a gateway token and stored it in {} (gateway.auth.token)",
                ctx.paths.config_path.display()
            );
            ResolvedAuth::Token(SecretDigest::of(&token))
        }
    };
    if first_run_generated {
        eprintln!(
            "first run: created {} with a generated gateway token (gateway.auth.token)",
            ctx.paths.config_path.display()
        );
    }
    let lock = match crate::state::ensure_private_dir(&ctx.paths.state_dir)
        .and_then(|()| StateLock::acquire(&ctx.paths.gateway_lock_path(), &ctx.paths.state_dir))
    {
        Ok(lock) => lock,
        Err(e) => {
            eprintln!("error: {e}");
            eprintln!(
                "  one gateway per state directory: stop the other one (`openclaw gateway stop`) or set OPENCLAW_STATE_DIR"
            );
            return EXIT_FAILED;
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return EXIT_FAILED;
        }
    };
    let config_hash = std::fs::read(&ctx.paths.config_path)
        .map(|bytes| sha256_hex(&bytes))
        .unwrap_or_default();
    let redacted_config = redacted_document(&loaded.merged);
    let checked = Checked {
        config,
        plan,
        auth,
        resolved,
        config_hash,
        redacted_config,
        redactor,
        document: loaded.checked.resolved.clone(),
    };
    let code = runtime.block_on(serve(ctx, checked));
    drop(lock);
    code
}

fn env_duration_ms(ctx: &Context, name: &str, default: Duration) -> Duration {
    ctx.env
        .get(name)
        .and_then(|v| v.trim().parse::<u64>().ok())
        .filter(|ms| *ms > 0)
        .map_or(default, Duration::from_millis)
}

/// Everything the checks before serving decided.
struct Checked {
    config: openclaw_core::config::schema::Config,
    plan: StartPlan,
    auth: ResolvedAuth,
    resolved: ResolvedSecrets,
    config_hash: String,
    redacted_config: Value,
    redactor: Arc<openclaw_core::security::redact::Redactor>,
    /// The checked config document (channel plugins get their accounts' settings from it).
    document: Value,
}

async fn serve(ctx: &Context, checked: Checked) -> u8 {
    let Checked {
        config,
        plan,
        auth,
        resolved,
        config_hash,
        redacted_config,
        redactor,
        document,
    } = checked;
    let addr = SocketAddr::new(plan.bind.ip, plan.port);
    let listener = match tokio::net::TcpListener::bind(addr).await {
        Ok(listener) => listener,
        Err(e) => {
            let hint = match e.kind() {
                std::io::ErrorKind::AddrInUse => format!(
                    "port {} is in use (another gateway?); choose another with --port, OPENCLAW_GATEWAY_PORT or gateway.port",
                    plan.port
                ),
                std::io::ErrorKind::AddrNotAvailable => format!(
                    "{} is not an address of this machine; fix gateway.customBindHost or --bind",
                    plan.bind.ip
                ),
                _ => "check the address and port".to_string(),
            };
            eprintln!("error: cannot listen on {addr}: {e}");
            eprintln!("  {hint}");
            return if e.kind() == std::io::ErrorKind::AddrNotAvailable {
                EXIT_CONFIG
            } else {
                EXIT_FAILED
            };
        }
    };
    let local = listener.local_addr().unwrap_or(addr);
    let (shutdown_tx, shutdown_rx) = watch::channel(false);
    let journal = match crate::ingress::journal::Journal::open(&ctx.paths.state_dir.join("ingress")) {
        Ok((journal, recovery)) => {
            if recovery.resumed > 0 || recovery.interrupted_replies > 0 || recovery.unreadable_lines > 0 {
                tracing::info!(
                    resumed = recovery.resumed,
                    interrupted_replies = recovery.interrupted_replies,
                    unreadable_lines = recovery.unreadable_lines,
                    "ingress journal replayed"
                );
            }
            Arc::new(journal)
        }
        Err(e) => {
            eprintln!(
                "error: the ingress journal in {} cannot be opened: {e}",
                ctx.paths.state_dir.join("ingress").display()
            );
            eprintln!("  check that the state directory is yours and writable (`openclaw doctor`)");
            return EXIT_FAILED;
        }
    };
    let config_arc = Arc::new(config.clone());
    let sandboxes = Arc::new(crate::sandboxes::Sandboxes::new(
        config_arc.clone(),
        ctx.paths.clone(),
        &ctx.env,
    ));
    let plugins = Arc::new(
        Plugins::load(
            &config,
            &document,
            &ctx.paths,
            &ctx.env,
            &resolved,
            crate::plugins::serving::PluginServices {
                journal: journal.clone(),
                shutdown: shutdown_rx.clone(),
                sandbox: Some(Arc::new(crate::sandboxes::PluginSandbox(sandboxes.clone()))),
            },
        )
        .await,
    );
    let events = crate::events::EventBus::new();
    let agents = crate::agents::build(
        &config_arc,
        &ctx.paths,
        &resolved,
        plugins.clone(),
        redactor.clone(),
        events.clone(),
        sandboxes.clone(),
    );
    let ingress = crate::ingress::pipeline::Ingress::new(
        &config,
        journal.clone(),
        agents.clone(),
        plugins.clone(),
        crate::ingress::pairing_store::PairingStore::new(&ctx.paths.credentials_dir),
    );
    let ingress_task = ingress.spawn(shutdown_rx.clone());
    let sandbox_upkeep = sandboxes.spawn_upkeep(shutdown_rx.clone());
    let gateway_config = config.gateway.clone().unwrap_or_default();
    let guard = Guard::new(
        auth,
        plan.trusted_proxies.clone(),
        gateway_config.allow_real_ip_fallback == Some(true),
        RateLimitSettings::from_config(gateway_config.auth.as_ref().and_then(|a| a.rate_limit.as_ref())),
    );
    let secrets = Arc::new(crate::secrets::live::SecretsRuntime::new(
        config_arc.clone(),
        document,
        ctx.env.clone(),
        resolved,
    ));
    let gateway = Gateway::new(GatewayParts {
        guard,
        secrets,
        redactor,
        config: config_arc,
        config_path: ctx.paths.config_path.clone(),
        config_hash,
        redacted_config,
        bind: plan.bind,
        port: local.port(),
        plugins,
        agents,
        events,
        pairing: crate::ingress::pairing_store::PairingStore::new(&ctx.paths.credentials_dir),
        hosts: plan.hosts.clone(),
        handshake_timeout: env_duration_ms(ctx, "OPENCLAW_HANDSHAKE_TIMEOUT_MS", Duration::from_secs(10)),
        body_timeout: env_duration_ms(ctx, "OPENCLAW_BODY_TIMEOUT_MS", BODY_TIMEOUT),
        tick_interval: env_duration_ms(ctx, "OPENCLAW_TICK_INTERVAL_MS", Duration::from_secs(30)),
        shutdown: shutdown_rx.clone(),
    });
    let run_path = running::path(&ctx.paths);
    let info = RunInfo {
        pid: std::process::id(),
        host: plan.bind.ip.to_string(),
        port: local.port(),
        bind: plan.bind.mode.as_str().into(),
        started_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        version: env!("CARGO_PKG_VERSION").into(),
    };
    if let Err(e) = running::write(&run_path, &info) {
        tracing::warn!("could not write {}: {e}", run_path.display());
    }
    let announcement = super::mdns::announce(&config, &ctx.env, local.port());
    let shown = if local.ip().is_unspecified() {
        SocketAddr::new(std::net::IpAddr::from([127, 0, 0, 1]), local.port())
    } else {
        local
    };
    println!(
        "openclaw gateway listening on {local} (http://{shown}, ws://{shown}/), auth: {}",
        gateway.guard.auth().mode_name()
    );
    println!(
        "  connect with the token in gateway.auth.token: `Authorization: Bearer <token>` or the WebSocket connect frame"
    );
    tracing::info!(%local, auth = gateway.guard.auth().mode_name(), "gateway listening");

    let pruner = {
        let gateway = gateway.clone();
        tokio::spawn(async move {
            let mut every = tokio::time::interval(Duration::from_secs(60));
            loop {
                every.tick().await;
                gateway.guard.prune();
            }
        })
    };
    let app = super::http::router(gateway.clone());
    let stop = {
        let shutdown_tx = shutdown_tx.clone();
        async move {
            wait_for_stop_signal().await;
            tracing::info!("stopping: finishing in-flight work");
            let _ = shutdown_tx.send(true);
        }
    };
    let http_drained = super::serve::serve(listener, app, gateway.clone(), stop, DRAIN_LIMIT).await;
    let _ = shutdown_tx.send(true);
    let drained = http_drained && gateway.drained(DRAIN_LIMIT).await;
    gateway.plugins.stop().await;
    let _ = ingress_task.await;
    if let Some(upkeep) = sandbox_upkeep {
        // Bounded: a daemon that hangs must not keep the gateway from stopping.
        let _ = tokio::time::timeout(Duration::from_secs(5), upkeep).await;
    }
    if let Err(e) = gateway.agents.sessions().flush() {
        tracing::error!("writing sessions.json at stop failed: {e}");
    }
    pruner.abort();
    drop(announcement);
    let _ = std::fs::remove_file(&run_path);
    if drained {
        eprintln!("gateway stopped");
    } else {
        eprintln!(
            "gateway stopped; some requests did not finish within {}s",
            DRAIN_LIMIT.as_secs()
        );
    }
    EXIT_OK
}

async fn wait_for_stop_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let term = signal(SignalKind::terminate());
    let int = signal(SignalKind::interrupt());
    match (term, int) {
        (Ok(mut term), Ok(mut int)) => {
            tokio::select! {
                _ = term.recv() => {}
                _ = int.recv() => {}
            }
        }
        _ => {
            // Without signal handlers, Ctrl-C still works through the default action.
            std::future::pending::<()>().await;
        }
    }
}

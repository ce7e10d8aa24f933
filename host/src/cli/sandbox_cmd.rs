//! `openclaw sandbox list|explain|recreate|prune`: the Docker sandboxes of this gateway.
//!
//! `explain` reads only the config; the others talk to the Docker engine the gateway uses
//! (`DOCKER_HOST` and friends, else the config's `env`, else the local socket) and act only on
//! this gateway's containers, those named under a configured `containerPrefix`.

use std::sync::Arc;

use clap::{Args, Subcommand};
use openclaw_core::config::schema::Config;
use openclaw_core::routing::session_key::{SessionKey, normalize_agent_id};
use openclaw_sandbox::{SandboxError, SandboxInfo};
use serde_json::{Value, json};

use super::plugins_cmd::valid_config;
use crate::context::Context;
use crate::exit::{EXIT_FAILED, EXIT_OK, EXIT_USAGE};
use crate::output::{self, fail};
use crate::sandboxes::{Sandboxes, explain};

#[derive(Debug, Args)]
pub struct SandboxArgs {
    #[command(subcommand)]
    command: SandboxCommand,
}

#[derive(Debug, Subcommand)]
enum SandboxCommand {
    /// This gateway's sandbox containers (under its containerPrefix values): status, whether they match the config, age, idle time.
    List {
        #[arg(long)]
        json: bool,
    },
    /// For an agent and session: mode, scope, mounts, limits, and where each tool runs.
    Explain {
        /// Agent id (default: the default agent, or the one the session key names).
        #[arg(long)]
        agent: Option<String>,
        /// Session key (default: the agent's main session, `agent:<id>:main`).
        #[arg(long)]
        session: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Remove containers so they are made again, with the current config, on next use.
    Recreate {
        /// Every container of this gateway (under its containerPrefix values).
        #[arg(long, conflicts_with_all = ["session", "agent"])]
        all: bool,
        /// The container this session key uses.
        #[arg(long, conflicts_with = "agent")]
        session: Option<String>,
        /// Every container of this agent.
        #[arg(long)]
        agent: Option<String>,
        /// Also remove containers used in the last 5 minutes (a command may be running in them).
        #[arg(long)]
        force: bool,
        #[arg(long)]
        json: bool,
    },
    /// Remove containers idle longer than `prune.idleHours` or older than `prune.maxAgeDays`.
    Prune {
        #[arg(long)]
        json: bool,
    },
}

pub fn run(ctx: &Context, args: SandboxArgs) -> u8 {
    let json_mode = match &args.command {
        SandboxCommand::List { json }
        | SandboxCommand::Explain { json, .. }
        | SandboxCommand::Recreate { json, .. }
        | SandboxCommand::Prune { json } => *json,
    };
    let Ok((_, config)) = valid_config(ctx, json_mode) else {
        return EXIT_FAILED;
    };
    let has_channels = config.channels.is_some();
    let sandboxes = Arc::new(Sandboxes::new(Arc::new(config), ctx.paths.clone(), &ctx.env));
    match args.command {
        SandboxCommand::Explain { agent, session, json } => {
            explain_cmd(&sandboxes, agent.as_deref(), session.as_deref(), has_channels, json)
        }
        SandboxCommand::List { json } => with_runtime(json, list(&sandboxes, json)),
        SandboxCommand::Recreate {
            all,
            session,
            agent,
            force,
            json,
        } => {
            let target = match (all, session, agent) {
                (true, _, _) => Target::All,
                (_, Some(session), _) => Target::Session(session),
                (_, _, Some(agent)) => Target::Agent(normalize_agent_id(&agent)),
                _ => {
                    fail(
                        json,
                        "say which containers to recreate",
                        Some("use --all, --session <key> or --agent <id>"),
                    );
                    return EXIT_USAGE;
                }
            };
            with_runtime(json, recreate(&sandboxes, target, force, json))
        }
        SandboxCommand::Prune { json } => with_runtime(json, prune(&sandboxes, json)),
    }
}

fn with_runtime(json_mode: bool, work: impl std::future::Future<Output = u8>) -> u8 {
    match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(runtime) => runtime.block_on(work),
        Err(e) => {
            fail(json_mode, &format!("cannot start the async runtime: {e}"), None);
            EXIT_FAILED
        }
    }
}

fn default_agent(config: &Config) -> String {
    config
        .agents
        .as_ref()
        .map(|a| a.default_agent_id())
        .unwrap_or_else(|| "main".to_string())
}

fn known_agent(config: &Config, agent: &str) -> bool {
    config
        .agents
        .as_ref()
        .map(|a| a.ids())
        .unwrap_or_else(|| vec!["main".to_string()])
        .iter()
        .any(|id| normalize_agent_id(id) == agent)
}

fn explain_cmd(
    sandboxes: &Sandboxes,
    agent: Option<&str>,
    session: Option<&str>,
    has_channels: bool,
    json: bool,
) -> u8 {
    let config = sandboxes.config();
    let fallback_agent = agent.map(normalize_agent_id).unwrap_or_else(|| default_agent(config));
    let key = match session {
        Some(raw) => match SessionKey::parse(raw, &fallback_agent) {
            Ok(key) => key,
            Err(e) => {
                fail(
                    json,
                    &format!("--session {raw:?} is not a session key: {e}"),
                    Some("session keys look like agent:main:main or agent:main:telegram:direct:123"),
                );
                return EXIT_USAGE;
            }
        },
        None => SessionKey::main(&fallback_agent),
    };
    let agent_id = key.agent_id().to_string();
    if agent.is_some_and(|a| normalize_agent_id(a) != agent_id) {
        fail(
            json,
            &format!(
                "--session {} belongs to agent {agent_id:?}, not {:?}",
                key,
                agent.unwrap_or_default()
            ),
            Some("drop --agent, or give a session key of that agent"),
        );
        return EXIT_USAGE;
    }
    if !known_agent(config, &agent_id) {
        fail(
            json,
            &format!("there is no agent {agent_id:?} in agents.list"),
            Some("`openclaw config get agents.list` shows the configured agents"),
        );
        return EXIT_FAILED;
    }
    let report = explain::explain(
        sandboxes,
        &agent_id,
        &key,
        crate::tools::builtin::tool_names(has_channels),
    );
    if json {
        output::print_json(&report);
    } else {
        print!("{}", explain::render(&report));
    }
    EXIT_OK
}

/// An engine failure as a CLI failure: the error already names the cause and the fix.
fn engine_failure(json: bool, e: &SandboxError) -> u8 {
    fail(json, &e.to_string(), None);
    EXIT_FAILED
}

/// Whether the container was made from the spec the config gives its scope today. `None` when
/// its scope no longer maps to a sandbox (e.g. the agent was removed).
fn config_matches(sandboxes: &Sandboxes, info: &SandboxInfo) -> Option<bool> {
    let key = info.scope_key.as_deref()?;
    let config = sandboxes.config();
    let session = if key == "shared" {
        SessionKey::main(&default_agent(config))
    } else if let Some(agent) = key.strip_prefix("agent:").filter(|rest| !rest.contains(':')) {
        SessionKey::main(agent)
    } else {
        SessionKey::parse(key, &default_agent(config)).ok()?
    };
    let spec = sandboxes.spec_for_plugin(session.agent_id(), &session).ok()?;
    if spec.container_name != info.name {
        return None;
    }
    Some(info.config_hash.as_deref() == Some(spec.config_hash.as_str()))
}

fn duration_text(ms: u64) -> String {
    let secs = ms / 1000;
    match secs {
        0..60 => format!("{secs}s"),
        60..3600 => format!("{}m", secs / 60),
        3600..86400 => format!("{}h", secs / 3600),
        _ => format!("{}d", secs / 86400),
    }
}

fn info_json(sandboxes: &Sandboxes, info: &SandboxInfo, now: u64) -> Value {
    json!({
        "name": info.name,
        "status": info.state,
        "running": info.running,
        "backend": "docker",
        "image": info.image,
        "scopeKey": info.scope_key,
        "configMatches": config_matches(sandboxes, info),
        "createdAtMs": info.created_ms,
        "lastUsedAtMs": info.last_used_ms,
        "ageMs": now.saturating_sub(info.created_ms),
        "idleMs": now.saturating_sub(info.last_used_ms),
    })
}

async fn list(sandboxes: &Sandboxes, json: bool) -> u8 {
    let manager = match sandboxes.manager().await {
        Ok(m) => m,
        Err(e) => return engine_failure(json, &e),
    };
    let infos = match sandboxes.list().await {
        Ok(infos) => infos,
        Err(e) => return engine_failure(json, &e),
    };
    let now = openclaw_sandbox::manager::now_ms();
    let rows: Vec<Value> = infos.iter().map(|i| info_json(sandboxes, i, now)).collect();
    if json {
        output::print_json(&json!({"engine": manager.engine().endpoint().to_string(), "containers": rows}));
        return EXIT_OK;
    }
    if rows.is_empty() {
        println!("no sandbox containers on {}", manager.engine().endpoint());
        return EXIT_OK;
    }
    println!(
        "{:<40} {:<9} {:<7} {:>5} {:>5}  {:<28} SCOPE",
        "NAME", "STATUS", "CONFIG", "AGE", "IDLE", "IMAGE"
    );
    for row in &rows {
        let matches = match row["configMatches"].as_bool() {
            Some(true) => "current",
            Some(false) => "stale",
            None => "-",
        };
        println!(
            "{:<40} {:<9} {:<7} {:>5} {:>5}  {:<28} {}",
            row["name"].as_str().unwrap_or_default(),
            row["status"].as_str().unwrap_or_default(),
            matches,
            duration_text(row["ageMs"].as_u64().unwrap_or(0)),
            duration_text(row["idleMs"].as_u64().unwrap_or(0)),
            row["image"].as_str().unwrap_or("-"),
            row["scopeKey"].as_str().unwrap_or("-"),
        );
    }
    EXIT_OK
}

enum Target {
    All,
    Session(String),
    Agent(String),
}

async fn recreate(sandboxes: &Sandboxes, target: Target, force: bool, json: bool) -> u8 {
    let config = sandboxes.config().clone();
    // The container a session uses is found from its spec, whatever the scope.
    let session_container = match &target {
        Target::Session(raw) => match SessionKey::parse(raw, &default_agent(&config)) {
            Ok(key) => sandboxes
                .spec_for_plugin(key.agent_id(), &key)
                .ok()
                .map(|spec| (key.to_string(), spec.container_name)),
            Err(e) => {
                fail(
                    json,
                    &format!("--session {raw:?} is not a session key: {e}"),
                    Some("session keys look like agent:main:main"),
                );
                return EXIT_USAGE;
            }
        },
        _ => None,
    };
    let manager = match sandboxes.manager().await {
        Ok(m) => m,
        Err(e) => return engine_failure(json, &e),
    };
    let infos = match sandboxes.list().await {
        Ok(infos) => infos,
        Err(e) => return engine_failure(json, &e),
    };
    let now = openclaw_sandbox::manager::now_ms();
    let hot_ms = openclaw_sandbox::manager::DEFAULT_HOT_WINDOW.as_millis() as u64;
    let mut removed = Vec::new();
    let mut kept = Vec::new();
    for info in infos {
        let scope = info.scope_key.as_deref().unwrap_or_default();
        let selected = match &target {
            Target::All => true,
            Target::Session(raw) => {
                let (key, name) = session_container
                    .clone()
                    .unwrap_or_else(|| (raw.to_ascii_lowercase(), String::new()));
                scope == key || info.name == name
            }
            Target::Agent(agent) => scope == format!("agent:{agent}") || scope.starts_with(&format!("agent:{agent}:")),
        };
        if !selected {
            continue;
        }
        if !force && info.running && now.saturating_sub(info.last_used_ms) < hot_ms {
            kept.push(info.name);
            continue;
        }
        match manager.remove(&info.name).await {
            Ok(_) => removed.push(info.name),
            Err(e) => return engine_failure(json, &e),
        }
    }
    if let Err(e) = sandboxes.save_registry().await {
        tracing::warn!("writing the sandbox registry failed: {e}");
    }
    if json {
        output::print_json(&json!({"removed": removed, "keptInUse": kept}));
    } else {
        if removed.is_empty() && kept.is_empty() {
            println!("no matching sandbox containers");
        }
        for name in &removed {
            println!("removed {name}; it is made again on next use");
        }
        for name in &kept {
            println!("kept {name}: used in the last 5 minutes (--force removes it anyway)");
        }
    }
    EXIT_OK
}

async fn prune(sandboxes: &Sandboxes, json: bool) -> u8 {
    match sandboxes.prune(openclaw_sandbox::manager::now_ms()).await {
        Ok(removed) => {
            if json {
                let rows: Vec<Value> = removed
                    .iter()
                    .map(|(info, reason)| json!({"name": info.name, "reason": reason.code(), "detail": reason.to_string()}))
                    .collect();
                output::print_json(&json!({"removed": rows}));
            } else if removed.is_empty() {
                println!("nothing to prune");
            } else {
                for (info, reason) in &removed {
                    println!("removed {} ({reason})", info.name);
                }
            }
            EXIT_OK
        }
        Err(e) => engine_failure(json, &e),
    }
}

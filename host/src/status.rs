//! `openclaw status`: a pasteable diagnosis of this installation as one JSON document: version,
//! state and config (does it validate), the gateway (running, where, healthy), channels and
//! their accounts' policies, agents, plugins, the log file and the security audit's summary.
//!
//! Nothing here reads a secret's value: it reports ids, policies, paths and counts. The caller
//! still runs the whole report through the report redactor before printing it
//! ([`crate::logging::setup::report_redactor`]), as a last line of defence against a secret
//! that reached a message (a config error quoting a value, a path with a token in it).

use chrono::Local;
use openclaw_core::access::account::resolve_account;
use openclaw_core::config::schema::Config;
use openclaw_core::config::schema::channels::{DmPolicy, GroupPolicy};
use openclaw_core::config::schema::sandbox::SandboxMode;
use openclaw_core::security::audit::Severity;
use openclaw_core::security::audit::tools::agent_sandbox_modes;
use serde_json::{Value, json};

use crate::audit::{self, Options};
use crate::config::{self, Loaded, Origin};
use crate::context::Context;
use crate::logging::setup::file_target;
use crate::logging::tail;
use crate::plugins::discover::discover;
use crate::plugins::listing::status_of;
use crate::running;

fn dm_policy_name(policy: DmPolicy) -> &'static str {
    match policy {
        DmPolicy::Pairing => "pairing",
        DmPolicy::Allowlist => "allowlist",
        DmPolicy::Open => "open",
        DmPolicy::Disabled => "disabled",
    }
}

fn group_policy_name(policy: GroupPolicy) -> &'static str {
    match policy {
        GroupPolicy::Allowlist => "allowlist",
        GroupPolicy::Open => "open",
        GroupPolicy::Disabled => "disabled",
    }
}

fn sandbox_mode_name(mode: SandboxMode) -> &'static str {
    match mode {
        SandboxMode::Off => "off",
        SandboxMode::NonMain => "non-main",
        SandboxMode::All => "all",
    }
}

/// `{path, exists, valid, errors, warnings, firstError}`.
fn config_json(ctx: &Context, loaded: &Result<Loaded, config::LoadFailure>) -> Value {
    match loaded {
        Ok(loaded) => {
            let (errors, warnings, _) = config::tally(loaded.issues());
            let first_error = loaded.issues().find(|i| i.is_error()).map(|i| i.to_string());
            json!({
                "path": ctx.paths.config_path,
                "exists": matches!(loaded.origin, Origin::File(_)),
                "valid": loaded.is_valid(),
                "errors": errors,
                "warnings": warnings,
                "firstError": first_error,
            })
        }
        Err(failure) => json!({
            "path": failure.path,
            "exists": failure.path.exists(),
            "valid": false,
            "errors": 1,
            "warnings": 0,
            "firstError": failure.issue.to_string(),
        }),
    }
}

/// `{running, pid, host, port, bind, startedAt, version, healthy, healthError}`.
fn gateway_json(ctx: &Context) -> Value {
    let live = running::liveness(&ctx.paths);
    let info = live.info.as_ref();
    json!({
        "running": live.running(),
        "pid": live.pid,
        "host": info.map(|i| i.host.clone()),
        "port": info.map(|i| i.port),
        "bind": info.map(|i| i.bind.clone()),
        "startedAt": info.map(|i| i.started_at.clone()),
        "version": info.map(|i| i.version.clone()),
        "healthy": live.running().then(|| live.healthy()),
        "healthError": live.health.as_ref().and_then(|h| h.as_ref().err().cloned()),
    })
}

/// Every configured channel with its accounts' effective `enabled`, `dmPolicy` and `groupPolicy`.
fn channels_json(config: &Config) -> Value {
    let Some(channels) = config.channels.as_ref() else {
        return json!([]);
    };
    let list: Vec<Value> = channels
        .iter()
        .into_iter()
        .map(|view| {
            let listed: Vec<String> = channels
                .accounts(view.id)
                .into_iter()
                .map(|(id, _)| id.to_string())
                .collect();
            let ids = if listed.is_empty() { vec!["default".to_string()] } else { listed };
            let accounts: Vec<Value> = ids
                .iter()
                .map(|id| match resolve_account(channels, view.id, id) {
                    Some(access) => json!({
                        "id": id,
                        "enabled": access.enabled,
                        "dmPolicy": dm_policy_name(if access.dm_enabled { access.dm_policy } else { DmPolicy::Disabled }),
                        "groupPolicy": group_policy_name(access.group_policy),
                    }),
                    None => json!({"id": id, "enabled": false, "dmPolicy": null, "groupPolicy": null}),
                })
                .collect();
            json!({
                "id": view.id,
                "enabled": view.access.enabled != Some(false),
                "accounts": accounts,
            })
        })
        .collect();
    Value::Array(list)
}

/// Every agent: id, whether it is the default, its model chain and its sandbox mode.
fn agents_json(config: &Config) -> Value {
    let agents = config.agents();
    let default_id = agents.default_agent_id();
    let default_model = agents.defaults.as_ref().and_then(|d| d.model.as_ref());
    let list: Vec<Value> = agent_sandbox_modes(config)
        .into_iter()
        .map(|(id, mode)| {
            let own = agents
                .list()
                .iter()
                .find(|a| a.id.eq_ignore_ascii_case(&id))
                .and_then(|a| a.model.as_ref());
            let models: Vec<String> = own
                .or(default_model)
                .map(|m| m.ids().into_iter().map(str::to_string).collect())
                .unwrap_or_default();
            json!({
                "id": id,
                "default": id == default_id,
                "model": models.first(),
                "fallbacks": models.iter().skip(1).collect::<Vec<_>>(),
                "sandboxMode": sandbox_mode_name(mode),
            })
        })
        .collect();
    Value::Array(list)
}

/// Every discovered plugin: id, kind, format, origin, status (`loads` or the refusal's code).
fn plugins_json(ctx: &Context, config: Option<&Config>) -> Value {
    let found = discover(config, &ctx.paths, &ctx.env);
    let plugins_config = config.and_then(|c| c.plugins.clone()).unwrap_or_default();
    let mut list: Vec<Value> = found
        .plugins
        .iter()
        .map(|selected| {
            let (status, _, _) = status_of(selected);
            let manifest = selected.candidate.manifest.as_ref().ok();
            json!({
                "id": selected.candidate.id,
                "kind": manifest.map(|m| m.kind.as_str()),
                "format": "wasm",
                "origin": selected.candidate.origin.as_str(),
                "status": status,
                "loads": status == "loads",
            })
        })
        .collect();
    list.extend(found.foreign.iter().map(|plugin| {
        json!({
            "id": plugin.id,
            "kind": null,
            "format": "openclaw-js",
            "origin": plugin.origin.as_str(),
            "status": plugin.refusal(&plugins_config).code,
            "loads": false,
        })
    }));
    Value::Array(list)
}

/// Where the gateway's file log is: `{path, exists, bytes}`, or why there is none.
fn log_json(ctx: &Context, loaded: Option<&Loaded>) -> Value {
    let target = file_target(ctx, loaded);
    match tail::locate(&target, None, Local::now().date_naive()) {
        Ok(path) => json!({
            "enabled": true,
            "path": path,
            "exists": true,
            "bytes": std::fs::metadata(&path).map(|m| m.len()).ok(),
        }),
        Err(no) => json!({
            "enabled": !matches!(target, crate::logging::FileTarget::Disabled),
            "path": match &target {
                crate::logging::FileTarget::Fixed { path, .. } => Some(path.clone()),
                crate::logging::FileTarget::Daily { dir } => Some(dir.join(format!(
                    "openclaw-{}.log",
                    Local::now().date_naive().format("%Y-%m-%d")
                ))),
                crate::logging::FileTarget::Disabled => None,
            },
            "exists": false,
            "bytes": null,
            "note": no.message,
        }),
    }
}

/// The security audit's summary and the checkIds of its critical findings.
fn audit_json(ctx: &Context) -> Value {
    let outcome = audit::run(ctx, Options::default());
    let critical: Vec<&str> = outcome
        .audit
        .as_ref()
        .map(|a| {
            a.findings
                .iter()
                .filter(|f| f.severity == Severity::Critical)
                .map(|f| f.check_id.as_str())
                .collect()
        })
        .unwrap_or_default();
    json!({
        "summary": outcome.summary(),
        "critical": critical,
        "error": outcome.invalid,
    })
}

/// The whole report. Channels and agents are `null` when the config does not validate (their
/// settings cannot be trusted then); plugins are still discovered.
pub fn report(ctx: &Context) -> Value {
    let loaded = config::load(&ctx.paths, &ctx.env);
    let config = loaded.as_ref().ok().and_then(Loaded::config);
    json!({
        "version": env!("CARGO_PKG_VERSION"),
        "stateDir": ctx.paths.state_dir,
        "config": config_json(ctx, &loaded),
        "gateway": gateway_json(ctx),
        "channels": config.map(channels_json),
        "agents": config.map(agents_json),
        "plugins": plugins_json(ctx, config),
        "logFile": log_json(ctx, loaded.as_ref().ok()),
        "securityAudit": audit_json(ctx),
    })
}

//! `openclaw sandbox explain`: for one agent and session, where its tools run and with what
//! container, mounts and limits, and which sandbox tool lists apply and where they came from.
//! Pure over the config snapshot: the report is what the gateway would decide for that call.

use openclaw_core::config::schema::sandbox::{SandboxMode, SandboxScope, WorkspaceAccess};
use openclaw_core::routing::session_key::SessionKey;
use openclaw_core::tools::exec::{ExecHost, exec_policy};
use openclaw_core::tools::policy::{PolicyContext, Step, ToolCatalog, ToolDecision, resolve};
use openclaw_sandbox::{SandboxDecision, SandboxSpec};
use serde_json::{Value, json};

use super::Sandboxes;

/// Built-in tools that run in the sandbox container when the session is sandboxed.
const CONTAINER_TOOLS: &[&str] = &["exec", "process"];
/// Built-in file tools that, sandboxed, are confined to the sandbox's workspace.
const FILE_TOOLS: &[&str] = &["read", "write", "edit", "apply_patch"];
const WRITING_TOOLS: &[&str] = &["write", "edit", "apply_patch"];

pub fn mode_name(mode: SandboxMode) -> &'static str {
    match mode {
        SandboxMode::Off => "off",
        SandboxMode::NonMain => "non-main",
        SandboxMode::All => "all",
    }
}

pub fn scope_name(scope: SandboxScope) -> &'static str {
    match scope {
        SandboxScope::Session => "session",
        SandboxScope::Agent => "agent",
        SandboxScope::Shared => "shared",
    }
}

pub fn access_name(access: WorkspaceAccess) -> &'static str {
    match access {
        WorkspaceAccess::None => "none",
        WorkspaceAccess::Ro => "ro",
        WorkspaceAccess::Rw => "rw",
    }
}

/// The report as JSON (the `--json` output; the text output is rendered from it).
pub fn explain(sandboxes: &Sandboxes, agent_id: &str, session_key: &SessionKey, tool_names: Vec<String>) -> Value {
    let config = sandboxes.config();
    let (defaults, agent) = sandboxes.blocks(agent_id);
    let configured_mode = agent
        .and_then(|a| a.mode)
        .or_else(|| defaults.and_then(|d| d.mode))
        .unwrap_or(SandboxMode::Off);
    let mode_source = if agent.and_then(|a| a.mode).is_some() {
        "agent".to_string()
    } else if defaults.and_then(|d| d.mode).is_some() {
        "agents.defaults.sandbox.mode".to_string()
    } else {
        "default".to_string()
    };
    let decision = sandboxes.decide(agent_id, session_key);
    let (sandboxed, spec, host_reason, error) = match &decision {
        Ok(SandboxDecision::Sandboxed(spec)) => (true, Some(spec.as_ref()), None, None),
        Ok(SandboxDecision::Host { reason }) => (false, None, Some(reason.to_string()), None),
        // The tools fail closed on such a config; the report says why.
        Err(e) => (true, None, None, Some(e.to_string())),
    };
    let catalog = ToolCatalog::new(tool_names.clone(), Vec::new());
    let policy = resolve(
        config,
        &PolicyContext {
            agent_id,
            provider: None,
            model: None,
            group: None,
            sandboxed,
            subagent: session_key.rest().contains("subagent:"),
        },
        &catalog,
    );
    let sandbox_step = policy.explain().into_iter().find(|r| r.step == Step::Sandbox);
    // The operator may send exec to the gateway even in a sandboxed session (`tools.exec.host`).
    let exec = exec_policy(config, agent_id, None, sandboxed);
    let exec_on_gateway = sandboxed && exec.host == ExecHost::Gateway;
    let tools: Vec<Value> = tool_names
        .iter()
        .map(|name| {
            let (runs, reason) = match policy.decide(name) {
                ToolDecision::Deny { step, reason } => {
                    ("denied".to_string(), Some(format!("{}: {reason}", step.as_str())))
                }
                ToolDecision::Allow if CONTAINER_TOOLS.contains(&name.as_str()) && exec_on_gateway => (
                    "gateway host".to_string(),
                    Some(format!("{} sends exec to the gateway", exec.sources.host)),
                ),
                ToolDecision::Allow => where_it_runs(name, sandboxed, spec, error.is_some()),
            };
            json!({"tool": name, "runs": runs, "reason": reason})
        })
        .collect();
    let mut fix_its = Vec::new();
    if !sandboxed {
        fix_its.push(format!(
            "agents.defaults.sandbox.mode (or agents.list[id={agent_id}].sandbox.mode): \"all\" sandboxes every session, \"non-main\" all but the main one"
        ));
    }
    if let Some(spec) = spec {
        if spec.workspace_access == WorkspaceAccess::Ro {
            fix_its.push("agents.defaults.sandbox.workspaceAccess: \"rw\" lets write/edit/apply_patch change the agent workspace".into());
        }
        if spec.docker.network == "none" {
            fix_its.push("agents.defaults.sandbox.docker.network: a Docker network name gives commands network access (\"host\" is refused)".into());
        }
    }
    fix_its.push("tools.sandbox.tools.allow|deny (or agents.list[].tools.sandbox.tools.allow|deny): the tools a sandboxed session may use".into());
    json!({
        "agentId": agent_id,
        "sessionKey": session_key.to_string(),
        "mainSession": session_key.is_main(),
        "mode": mode_name(configured_mode),
        "modeSource": mode_source,
        "sandboxed": sandboxed,
        "hostReason": host_reason,
        "error": error,
        "scope": spec.map(|s| scope_name(s.scope)),
        "scopeKey": spec.map(|s| s.scope_key.clone()),
        "workspaceAccess": spec.map(|s| access_name(s.workspace_access)),
        "sandboxWorkspace": spec.map(|s| s.sandbox_workspace.display().to_string()),
        "agentWorkspace": spec.map(|s| s.agent_workspace.display().to_string()),
        "container": spec.map(container_json),
        "prune": spec.map(|s| json!({"idleHours": s.prune.idle_hours, "maxAgeDays": s.prune.max_age_days})),
        "engine": sandboxes.endpoint().map(|e| e.to_string()).unwrap_or_else(|e| format!("invalid: {e}")),
        "sandboxToolPolicy": sandbox_step.map(|r| json!({
            "applied": r.applied,
            "sources": r.sources,
            "allow": r.allow,
            "deny": r.deny,
            "note": r.note,
        })),
        "tools": tools,
        "pluginTools": if sandboxed || error.is_some() {
            "plugin tools run as WebAssembly on the gateway; the commands a plugin granted sandbox exec runs go to this session's container"
        } else {
            "plugin tools run as WebAssembly on the gateway; the commands a plugin granted sandbox exec runs go to a container built from this agent's sandbox settings (never the host)"
        },
        "fixIts": fix_its,
    })
}

fn where_it_runs(name: &str, sandboxed: bool, spec: Option<&SandboxSpec>, broken: bool) -> (String, Option<String>) {
    let heavy = CONTAINER_TOOLS.contains(&name);
    let file = FILE_TOOLS.contains(&name);
    if broken && (heavy || file) {
        return (
            "fails closed".into(),
            Some("the sandbox settings cannot be resolved (see error)".into()),
        );
    }
    match spec {
        Some(spec) if heavy => (format!("sandbox container {}", spec.container_name), None),
        Some(spec) if file => {
            if WRITING_TOOLS.contains(&name) && !spec.allows_workspace_writes() {
                return (
                    "refused".into(),
                    Some("workspaceAccess is \"ro\": the agent workspace is read-only".into()),
                );
            }
            let root = if spec.workspace_access == WorkspaceAccess::Rw {
                &spec.agent_workspace
            } else {
                &spec.sandbox_workspace
            };
            (format!("gateway, confined to {}", root.display()), None)
        }
        _ if heavy && !sandboxed => ("gateway host".into(), None),
        _ => ("gateway".into(), None),
    }
}

fn container_json(spec: &SandboxSpec) -> Value {
    let docker = &spec.docker;
    json!({
        "name": spec.container_name,
        "image": docker.image,
        "workdir": docker.workdir,
        "readOnlyRoot": docker.read_only_root,
        "network": docker.network,
        "user": docker.user,
        "capDrop": docker.cap_drop,
        "securityOpt": docker.security_opts(),
        "pidsLimit": docker.pids_limit,
        "memory": docker.memory,
        "memorySwap": docker.memory_swap,
        "cpus": docker.nano_cpus.map(|n| n as f64 / 1e9),
        "ulimits": docker.ulimits,
        "tmpfs": docker.tmpfs,
        "dns": docker.dns,
        "extraHosts": docker.extra_hosts,
        // Names only: values may be secrets.
        "envKeys": docker.env.keys().collect::<Vec<_>>(),
        "setupCommand": docker.setup_command.is_some(),
        "mounts": docker.mounts,
        "binds": docker.binds,
        "configHash": spec.config_hash,
    })
}

/// The text form of [`explain`]'s report.
pub fn render(report: &Value) -> String {
    let s = |v: &Value| v.as_str().unwrap_or("-").to_string();
    let mut out = String::new();
    out.push_str(&format!(
        "agent {}, session {}\n",
        s(&report["agentId"]),
        s(&report["sessionKey"])
    ));
    out.push_str(&format!(
        "  mode: {} (from {})\n",
        s(&report["mode"]),
        s(&report["modeSource"])
    ));
    if let Some(error) = report["error"].as_str() {
        out.push_str(&format!("  sandbox: fails closed: {error}\n"));
    } else if report["sandboxed"] == Value::Bool(true) {
        out.push_str(&format!(
            "  sandboxed: yes, scope {} ({}), workspaceAccess {}\n",
            s(&report["scope"]),
            s(&report["scopeKey"]),
            s(&report["workspaceAccess"])
        ));
    } else {
        out.push_str(&format!("  sandboxed: no ({})\n", s(&report["hostReason"])));
    }
    let container = &report["container"];
    if container.is_object() {
        out.push_str(&format!(
            "  container: {} image {} workdir {}\n",
            s(&container["name"]),
            s(&container["image"]),
            s(&container["workdir"])
        ));
        out.push_str(&format!(
            "  limits: network {}, read-only root {}, user {}, capDrop {}, pids {}, memory {}, cpus {}\n",
            s(&container["network"]),
            container["readOnlyRoot"],
            container["user"].as_str().unwrap_or("(image default)"),
            container["capDrop"],
            container["pidsLimit"],
            container["memory"],
            container["cpus"],
        ));
        for mount in container["mounts"].as_array().into_iter().flatten() {
            out.push_str(&format!(
                "  mount: {} -> {} ({})\n",
                s(&mount["source"]),
                s(&mount["target"]),
                if mount["readOnly"] == Value::Bool(true) {
                    "ro"
                } else {
                    "rw"
                }
            ));
        }
        for bind in container["binds"].as_array().into_iter().flatten() {
            out.push_str(&format!("  bind: {}\n", s(bind)));
        }
        out.push_str(&format!(
            "  prune: idle {} h, max age {} days\n",
            report["prune"]["idleHours"], report["prune"]["maxAgeDays"]
        ));
    }
    out.push_str(&format!("  engine: {}\n", s(&report["engine"])));
    let policy = &report["sandboxToolPolicy"];
    if policy["applied"] == Value::Bool(true) {
        out.push_str(&format!(
            "  sandbox tool policy (from {}): allow {}, deny {}\n",
            policy["sources"]
                .as_array()
                .map(|a| a.iter().map(&s).collect::<Vec<_>>().join(", "))
                .unwrap_or_default(),
            policy["allow"],
            policy["deny"]
        ));
    }
    out.push_str("  tools:\n");
    for tool in report["tools"].as_array().into_iter().flatten() {
        match tool["reason"].as_str() {
            Some(reason) => out.push_str(&format!(
                "    {:<16} {} ({reason})\n",
                s(&tool["tool"]),
                s(&tool["runs"])
            )),
            None => out.push_str(&format!("    {:<16} {}\n", s(&tool["tool"]), s(&tool["runs"]))),
        }
    }
    out.push_str(&format!("  plugins: {}\n", s(&report["pluginTools"])));
    for fix in report["fixIts"].as_array().into_iter().flatten() {
        out.push_str(&format!("  fix-it: {}\n", s(fix)));
    }
    out
}

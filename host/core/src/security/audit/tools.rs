//! Logging, elevated exec, exec policy and the exposure matrix: who can reach the bot combined
//! with what the bot can do once reached.

use serde_json::Value;

use super::facts::{AuditInput, strings};
use super::{Finding, Severity, first_n};
use crate::config::schema::Config;
use crate::config::schema::common::ToolProfile;
use crate::config::schema::sandbox::SandboxMode;
use crate::config::schema::tools::{ElevatedAllowFrom, ExecConfig, ExecHost, ExecSecurity};
use crate::tools::exec::mode_policy;
use crate::tools::find_agent;
use crate::tools::policy::{PolicyContext, ToolCatalog, resolve};

/// Interpreters: an allowlist entry for one runs arbitrary code through `-c`/`-e`.
const INTERPRETERS: &[&str] = &[
    "python",
    "python2",
    "python3",
    "node",
    "nodejs",
    "deno",
    "bun",
    "ruby",
    "perl",
    "php",
    "lua",
    "luajit",
    "osascript",
    "bash",
    "sh",
    "zsh",
    "dash",
    "ksh",
    "fish",
    "pwsh",
    "powershell",
    "tclsh",
    "Rscript",
    "irb",
];

/// Binaries whose arguments can write files, run programs or reach the network.
const BROAD_SAFE_BINS: &[&str] = &[
    "awk", "gawk", "mawk", "sed", "find", "xargs", "env", "tee", "dd", "curl", "wget", "git", "tar", "rsync", "ssh",
    "scp", "nc", "ncat", "socat", "sudo", "su", "docker", "kubectl", "make", "vim", "vi", "less", "more", "man",
];

fn binary_name(entry: &str) -> String {
    let base = entry.trim().rsplit('/').next().unwrap_or_default();
    base.split_whitespace().next().unwrap_or_default().to_string()
}

fn is_interpreter(entry: &str) -> bool {
    let name = binary_name(entry);
    let stem = name.trim_end_matches(|c: char| c.is_ascii_digit() || c == '.');
    INTERPRETERS.iter().any(|i| name == *i || stem == *i)
}

/// Every agent id with its sandbox mode (`agents.list[].sandbox.mode` over the defaults).
pub fn agent_sandbox_modes(config: &Config) -> Vec<(String, SandboxMode)> {
    let default_mode = default_sandbox_mode(config);
    if config.agents().list().is_empty() {
        return vec![(config.agents().default_agent_id(), default_mode)];
    }
    config
        .agents()
        .list()
        .iter()
        .map(|a| {
            let mode = a.sandbox.as_ref().and_then(|s| s.mode).unwrap_or(default_mode);
            (a.id.to_ascii_lowercase(), mode)
        })
        .collect()
}

pub fn default_sandbox_mode(config: &Config) -> SandboxMode {
    config
        .agents()
        .defaults
        .as_ref()
        .and_then(|d| d.sandbox.as_ref())
        .and_then(|s| s.mode)
        .unwrap_or(SandboxMode::Off)
}

fn configured_security(exec: Option<&ExecConfig>) -> Option<ExecSecurity> {
    let exec = exec?;
    exec.mode.map(|m| mode_policy(m).0).or(exec.security)
}

/// The configured exec security of each scope (the defaults, then each agent: its own setting
/// over the global one), `deny` when nothing is set, as OpenClaw's audit reads it.
fn exec_scopes(config: &Config) -> Vec<(String, ExecSecurity)> {
    let global = configured_security(config.tools.as_ref().and_then(|t| t.exec.as_ref()));
    let mut scopes = vec![("tools.exec".to_string(), global.unwrap_or(ExecSecurity::Deny))];
    for (i, agent) in config.agents().list().iter().enumerate() {
        let own = configured_security(agent.tools.as_ref().and_then(|t| t.exec.as_ref()));
        scopes.push((
            format!("agents.list[{i}].tools.exec"),
            own.or(global).unwrap_or(ExecSecurity::Deny),
        ));
    }
    scopes
}

/// Where an `open` DM or group policy appears anywhere under `channels` (accounts, groups, dms...).
pub fn open_inbound_paths(raw: &Value) -> Vec<String> {
    fn walk(value: &Value, path: &str, out: &mut Vec<String>) {
        if let Value::Object(map) = value {
            for (key, child) in map {
                let here = format!("{path}.{key}");
                match (key.as_str(), child) {
                    ("groupPolicy" | "dmPolicy", Value::String(p)) if p == "open" => out.push(here),
                    ("policy", Value::String(p)) if p == "open" && path.ends_with(".dm") => out.push(here),
                    _ => walk(child, &here, out),
                }
            }
        }
    }
    let mut out = Vec::new();
    if let Some(channels) = raw.get("channels") {
        walk(channels, "channels", &mut out);
    }
    out
}

/// `channels.<id>.groupPolicy` / `channels.<id>.accounts.<a>.groupPolicy` set to `open`.
pub fn open_group_paths(raw: &Value) -> Vec<String> {
    let mut out = Vec::new();
    let Some(Value::Object(channels)) = raw.get("channels") else {
        return out;
    };
    for (id, channel) in channels {
        if channel.get("groupPolicy").and_then(Value::as_str) == Some("open") {
            out.push(format!("channels.{id}.groupPolicy"));
        }
        if let Some(Value::Object(accounts)) = channel.get("accounts") {
            for (account, a) in accounts {
                if a.get("groupPolicy").and_then(Value::as_str) == Some("open") {
                    out.push(format!("channels.{id}.accounts.{account}.groupPolicy"));
                }
            }
        }
    }
    out
}

pub fn logging_elevated_exec(input: &AuditInput<'_>, out: &mut Vec<Finding>) {
    let config = input.config;
    if input.raw_at(&["logging", "redactSensitive"]).and_then(Value::as_str) == Some("off") {
        out.push(
            Finding::new(
                "logging.redact_off",
                Severity::Warn,
                "Tool summary redaction is disabled",
                "logging.redactSensitive=\"off\" can leak secrets into logs and status output.",
            )
            .fix("Set logging.redactSensitive=\"tools\" (openclaw security audit --fix does this)."),
        );
    }

    let tools = config.tools.clone().unwrap_or_default();
    let elevated = tools.elevated.clone().unwrap_or_default();
    if elevated.enabled != Some(false)
        && let Some(ElevatedAllowFrom::BySender(by_channel)) = &elevated.allow_from
    {
        for (provider, entries) in by_channel {
            let values: Vec<String> = entries.iter().map(|e| e.normalized()).collect();
            if values.iter().any(|v| v == "*") {
                out.push(Finding::new(
                    format!("tools.elevated.allowFrom.{provider}.wildcard"),
                    Severity::Critical,
                    "Elevated exec allowlist contains wildcard",
                    format!("tools.elevated.allowFrom.{provider} includes \"*\" which effectively approves everyone on that channel for elevated mode."),
                ));
            } else if values.len() > 25 {
                out.push(Finding::new(
                    format!("tools.elevated.allowFrom.{provider}.large"),
                    Severity::Warn,
                    "Elevated exec allowlist is large",
                    format!(
                        "tools.elevated.allowFrom.{provider} has {} entries; consider tightening elevated access.",
                        values.len()
                    ),
                ));
            }
        }
    }

    let global_host = tools.exec.as_ref().and_then(|e| e.host);
    if global_host == Some(ExecHost::Sandbox) && default_sandbox_mode(config) == SandboxMode::Off {
        out.push(
            Finding::new(
                "tools.exec.host_sandbox_no_sandbox_defaults",
                Severity::Warn,
                "Exec host is sandbox but sandbox mode is off",
                "tools.exec.host=\"sandbox\" while agents.defaults.sandbox.mode=\"off\": exec has nowhere to run and every call fails.",
            )
            .fix("Enable agents.defaults.sandbox.mode (\"non-main\" or \"all\"), or set tools.exec.host to \"auto\"."),
        );
    }
    let default_mode = default_sandbox_mode(config);
    let unsandboxed: Vec<String> = config
        .agents()
        .list()
        .iter()
        .filter(|a| a.tools.as_ref().and_then(|t| t.exec.as_ref()).and_then(|e| e.host) == Some(ExecHost::Sandbox))
        .filter(|a| a.sandbox.as_ref().and_then(|s| s.mode).unwrap_or(default_mode) == SandboxMode::Off)
        .map(|a| a.id.clone())
        .collect();
    if !unsandboxed.is_empty() {
        out.push(
            Finding::new(
                "tools.exec.host_sandbox_no_sandbox_agents",
                Severity::Warn,
                "Agent exec host uses sandbox while sandbox mode is off",
                format!(
                    "agents with tools.exec.host=\"sandbox\" and sandbox mode off: {}",
                    first_n(&unsandboxed, 5)
                ),
            )
            .fix("Enable sandbox mode for those agents, or set their tools.exec.host to \"auto\"."),
        );
    }

    let scopes = exec_scopes(config);
    let open_inbound = open_inbound_paths(input.raw);
    let full: Vec<String> = scopes
        .iter()
        .filter(|(_, s)| *s == ExecSecurity::Full)
        .map(|(p, _)| p.clone())
        .collect();
    if !full.is_empty() {
        out.push(
            Finding::new(
                "tools.exec.security_full_configured",
                if open_inbound.is_empty() {
                    Severity::Warn
                } else {
                    Severity::Critical
                },
                "Exec security=full is configured",
                format!("exec runs any command without an allowlist in: {}", full.join(", ")),
            )
            .fix("Prefer tools.exec.security=\"allowlist\" with ask=\"on-miss\"."),
        );
    }

    if let Some(approvals) = input.approvals {
        let mut auto: Vec<String> = Vec::new();
        if approvals.defaults.as_ref().and_then(|d| d.auto_allow_skills) == Some(true) {
            auto.push("defaults".into());
        }
        for (id, agent) in &approvals.agents {
            if agent.policy.auto_allow_skills == Some(true) {
                auto.push(format!("agents.{id}"));
            }
        }
        if !auto.is_empty() {
            out.push(
                Finding::new(
                    "tools.exec.auto_allow_skills_enabled",
                    Severity::Warn,
                    "autoAllowSkills is enabled for exec approvals",
                    format!("exec-approvals.json sets autoAllowSkills in: {}", auto.join(", ")),
                )
                .fix("Set autoAllowSkills to false and allowlist the binaries you trust."),
            );
        }
        let strict_global = tools.exec.as_ref().and_then(|e| e.strict_inline_eval) == Some(true);
        let mut loose = Vec::new();
        for (id, agent) in &approvals.agents {
            let strict_agent = find_agent(config, id)
                .map(|(_, a)| a)
                .and_then(|a| a.tools.as_ref())
                .and_then(|t| t.exec.as_ref())
                .and_then(|e| e.strict_inline_eval);
            if strict_agent.unwrap_or(strict_global) {
                continue;
            }
            for entry in &agent.allowlist {
                if is_interpreter(&entry.pattern) {
                    loose.push(format!("{id}: {}", entry.pattern));
                }
            }
        }
        if !loose.is_empty() {
            out.push(
                Finding::new(
                    "tools.exec.allowlist_interpreter_without_strict_inline_eval",
                    Severity::Warn,
                    "Interpreter allowlist entries are missing strictInlineEval hardening",
                    format!(
                        "interpreters allowlisted without tools.exec.strictInlineEval: {}",
                        first_n(&loose, 10)
                    ),
                )
                .fix("Set tools.exec.strictInlineEval=true so `python -c`/`node -e` still ask."),
            );
        }
    }

    let mut exec_blocks: Vec<(String, &ExecConfig)> = Vec::new();
    if let Some(e) = tools.exec.as_ref() {
        exec_blocks.push(("tools.exec".into(), e));
    }
    for (i, agent) in config.agents().list().iter().enumerate() {
        if let Some(e) = agent.tools.as_ref().and_then(|t| t.exec.as_ref()) {
            exec_blocks.push((format!("agents.list[{i}].tools.exec"), e));
        }
    }
    let mut unprofiled = Vec::new();
    let mut broad = Vec::new();
    let mut risky_dirs = Vec::new();
    for (path, exec) in &exec_blocks {
        for bin in exec.safe_bins.iter().flatten() {
            let name = binary_name(bin);
            let profiled = exec
                .safe_bin_profiles
                .as_ref()
                .is_some_and(|p| p.contains_key(&name) || p.contains_key(bin));
            if is_interpreter(bin) && !profiled {
                unprofiled.push(format!("{path}.safeBins: {bin}"));
            } else if BROAD_SAFE_BINS.contains(&name.as_str()) {
                broad.push(format!("{path}.safeBins: {bin}"));
            }
        }
        for dir in exec.safe_bin_trusted_dirs.iter().flatten() {
            if risky_trusted_dir(dir) {
                risky_dirs.push(format!("{path}.safeBinTrustedDirs: {dir}"));
            }
        }
    }
    if !unprofiled.is_empty() {
        out.push(
            Finding::new(
                "tools.exec.safe_bins_interpreter_unprofiled",
                Severity::Warn,
                "safeBins includes interpreter/runtime binaries without explicit profiles",
                format!(
                    "interpreters run any code they are handed: {}",
                    first_n(&unprofiled, 10)
                ),
            )
            .fix("Remove them from safeBins, or give each a safeBinProfiles entry."),
        );
    }
    if !broad.is_empty() {
        out.push(
            Finding::new(
                "tools.exec.safe_bins_broad_behavior",
                Severity::Warn,
                "safeBins includes binaries with broader semantics than low-risk stream filters",
                format!(
                    "these can write files, run programs or reach the network: {}",
                    first_n(&broad, 10)
                ),
            )
            .fix("Remove them from safeBins; allowlist exact commands or use approvals."),
        );
    }
    if !risky_dirs.is_empty() {
        out.push(
            Finding::new(
                "tools.exec.safe_bin_trusted_dirs_risky",
                Severity::Warn,
                "safeBinTrustedDirs includes risky mutable directories",
                format!(
                    "a binary dropped there would pass as a safe bin: {}",
                    first_n(&risky_dirs, 10)
                ),
            )
            .fix("Keep safeBinTrustedDirs to system directories such as /bin and /usr/bin."),
        );
    }
}

fn risky_trusted_dir(dir: &str) -> bool {
    let lower = dir.trim().to_lowercase();
    let d = lower.trim_end_matches('/');
    let windows_drive = d.len() > 2 && d.as_bytes()[1] == b':';
    if !(d.starts_with('/') || windows_drive) {
        return true;
    }
    ["/tmp", "/var/tmp", "/private/tmp"]
        .iter()
        .any(|t| d == *t || d.starts_with(&format!("{t}/")))
        || [
            "/usr/local/bin",
            "/opt/homebrew/bin",
            "/opt/local/bin",
            "/home/linuxbrew/.linuxbrew/bin",
        ]
        .contains(&d)
        || d.starts_with("/users/")
        || d.starts_with("/home/")
        || d.contains("/.local/bin")
        || (windows_drive && d.get(1..9) == Some(":/users/"))
}

pub fn profiles(input: &AuditInput<'_>, out: &mut Vec<Finding>) {
    let config = input.config;
    if config.tools.as_ref().and_then(|t| t.profile) != Some(ToolProfile::Minimal) {
        return;
    }
    let overriding: Vec<String> = config
        .agents()
        .list()
        .iter()
        .filter(|a| {
            a.tools
                .as_ref()
                .and_then(|t| t.profile)
                .is_some_and(|p| p != ToolProfile::Minimal)
        })
        .map(|a| a.id.clone())
        .collect();
    if !overriding.is_empty() {
        out.push(
            Finding::new(
                "tools.profile_minimal_overridden",
                Severity::Warn,
                "Global tools.profile=minimal is overridden by agent profiles",
                format!("agents with a broader tools.profile: {}", first_n(&overriding, 10)),
            )
            .fix("Set those agents' tools.profile to \"minimal\" too, or drop the override."),
        );
    }
}

/// What each agent can do under the real tool policy, in its unsandboxed main session (the
/// session strangers reach when the DM scope is `main`).
struct Reach {
    agent: String,
    sandbox: SandboxMode,
    runtime: bool,
    fs: bool,
    workspace_only: bool,
    control_plane: bool,
}

fn reach(config: &Config) -> Vec<Reach> {
    let catalog = ToolCatalog::openclaw(Vec::new());
    let global_ws_only = config
        .tools
        .as_ref()
        .and_then(|t| t.fs.as_ref())
        .and_then(|f| f.workspace_only)
        == Some(true);
    agent_sandbox_modes(config)
        .into_iter()
        .map(|(agent, sandbox)| {
            let policy = resolve(
                config,
                &PolicyContext {
                    agent_id: &agent,
                    sandboxed: sandbox == SandboxMode::All,
                    ..PolicyContext::default()
                },
                &catalog,
            );
            let agent_ws_only = find_agent(config, &agent)
                .map(|(_, a)| a)
                .and_then(|a| a.tools.as_ref())
                .and_then(|t| t.fs.as_ref())
                .and_then(|f| f.workspace_only);
            Reach {
                runtime: policy.is_allowed("exec") || policy.is_allowed("process"),
                fs: ["read", "write", "edit", "apply_patch"]
                    .iter()
                    .any(|t| policy.is_allowed(t)),
                control_plane: policy.is_allowed("gateway") || policy.is_allowed("cron"),
                workspace_only: agent_ws_only.unwrap_or(global_ws_only),
                sandbox,
                agent,
            }
        })
        .collect()
}

pub fn exposure(input: &AuditInput<'_>, out: &mut Vec<Finding>) {
    let config = input.config;
    let open_inbound = open_inbound_paths(input.raw);
    let open_groups = open_group_paths(input.raw);
    let scopes = exec_scopes(config);
    let any_full = scopes.iter().any(|(_, s)| *s == ExecSecurity::Full);
    let exec_enabled: Vec<String> = scopes
        .iter()
        .filter(|(_, s)| *s != ExecSecurity::Deny)
        .map(|(p, _)| p.clone())
        .collect();
    let elevated_on = config
        .tools
        .as_ref()
        .and_then(|t| t.elevated.as_ref())
        .and_then(|e| e.enabled)
        != Some(false);

    if !open_groups.is_empty() && elevated_on {
        out.push(
            Finding::new(
                "security.exposure.open_groups_with_elevated",
                Severity::Critical,
                "Open groupPolicy with elevated tools enabled",
                format!(
                    "Found groupPolicy=\"open\" at: {}. With tools.elevated enabled, a prompt injection in those rooms can become a request for host exec.",
                    first_n(&open_groups, 10)
                ),
            )
            .fix("Set groupPolicy=\"allowlist\" and keep tools.elevated.allowFrom tight (or tools.elevated.enabled=false)."),
        );
    }
    if !open_inbound.is_empty() && !exec_enabled.is_empty() {
        out.push(
            Finding::new(
                "security.exposure.open_channels_with_exec",
                if any_full { Severity::Critical } else { Severity::Warn },
                "Open channels can reach exec-enabled agents",
                format!(
                    "Open DM/group policies at: {}. Exec is enabled in: {}.",
                    first_n(&open_inbound, 10),
                    exec_enabled.join(", ")
                ),
            )
            .fix("Tighten dmPolicy/groupPolicy to pairing or allowlist, or set tools.exec.security=\"deny\" for agents open channels reach."),
        );
    }
    // Open groups are open inbound paths too, so one policy resolution per agent serves both.
    let reach = if open_inbound.is_empty() {
        Vec::new()
    } else {
        reach(config)
    };
    if !open_groups.is_empty() {
        let runtime_unguarded: Vec<String> = reach
            .iter()
            .filter(|r| r.runtime && r.sandbox != SandboxMode::All)
            .map(|r| format!("{} (exec/process)", r.agent))
            .collect();
        let fs_unguarded: Vec<String> = reach
            .iter()
            .filter(|r| r.fs && r.sandbox != SandboxMode::All && !r.workspace_only)
            .map(|r| format!("{} (read/write/edit/apply_patch)", r.agent))
            .collect();
        if !runtime_unguarded.is_empty() || !fs_unguarded.is_empty() {
            let all: Vec<String> = runtime_unguarded.iter().chain(fs_unguarded.iter()).cloned().collect();
            out.push(
                Finding::new(
                    "security.exposure.open_groups_with_runtime_or_fs",
                    if runtime_unguarded.is_empty() { Severity::Warn } else { Severity::Critical },
                    "Open groupPolicy with runtime/filesystem tools exposed",
                    format!(
                        "Found groupPolicy=\"open\" at: {}. Outside a sandbox these agents allow: {}.",
                        first_n(&open_groups, 10),
                        first_n(&all, 10)
                    ),
                )
                .fix("Use tools.profile=\"messaging\" for agents in open rooms, set tools.fs.workspaceOnly=true, or agents.defaults.sandbox.mode=\"all\"."),
            );
        }
    }
    if !open_inbound.is_empty() {
        let control: Vec<String> = reach
            .iter()
            .filter(|r| r.control_plane)
            .map(|r| r.agent.clone())
            .collect();
        if !control.is_empty() {
            out.push(
                Finding::new(
                    "security.exposure.open_groups_with_control_plane_tools",
                    Severity::Critical,
                    "Open group/DM policy with gateway/cron control-plane tools exposed",
                    format!(
                        "Open DM/group policies at: {}. Agents that can use gateway/cron: {}.",
                        first_n(&open_inbound, 10),
                        first_n(&control, 10)
                    ),
                )
                .fix("Deny the gateway and cron tools (tools.deny: [\"group:automation\"]) for agents open channels reach."),
            );
        }
    }

    let signals = multi_user_signals(input.raw);
    if !signals.is_empty() {
        out.push(
            Finding::new(
                "security.trust_model.multi_user_heuristic",
                Severity::Warn,
                "Potential multi-user setup detected (personal-assistant model warning)",
                format!(
                    "OpenClaw's model is one trusted operator per gateway; these settings let several people drive the same agent: {}.",
                    first_n(&signals, 10)
                ),
            )
            .fix("Split trust boundaries (one gateway or agent per person), or run shared agents with sandbox.mode=\"all\" and a minimal tool profile."),
        );
    }
}

fn multi_user_signals(raw: &Value) -> Vec<String> {
    let mut out = Vec::new();
    let Some(Value::Object(channels)) = raw.get("channels") else {
        return out;
    };
    let mut scopes: Vec<(String, &Value)> = Vec::new();
    for (id, channel) in channels {
        if id == "defaults" {
            continue;
        }
        scopes.push((format!("channels.{id}"), channel));
        if let Some(Value::Object(accounts)) = channel.get("accounts") {
            for (a, account) in accounts {
                scopes.push((format!("channels.{id}.accounts.{a}"), account));
            }
        }
    }
    for (path, scope) in scopes {
        // An unset groupPolicy is "allowlist", OpenClaw's default.
        match scope.get("groupPolicy").and_then(Value::as_str).unwrap_or("allowlist") {
            "open" => out.push(format!("{path}.groupPolicy=\"open\"")),
            "allowlist" => {
                let has_rooms = ["groups", "guilds", "channels", "rooms"]
                    .iter()
                    .any(|k| scope.get(k).and_then(Value::as_object).is_some_and(|m| !m.is_empty()));
                if has_rooms {
                    out.push(format!("{path}.groupPolicy=\"allowlist\" with configured groups"));
                }
            }
            _ => {}
        }
        if scope.get("dmPolicy").and_then(Value::as_str) == Some("open") {
            out.push(format!("{path}.dmPolicy=\"open\""));
        }
        if scope.get("dm").and_then(|d| d.get("policy")).and_then(Value::as_str) == Some("open") {
            out.push(format!("{path}.dm.policy=\"open\""));
        }
        for key in ["allowFrom", "groupAllowFrom"] {
            if strings(scope.get(key)).iter().any(|v| v == "*") {
                out.push(format!("{path}.{key} contains \"*\""));
            }
        }
        if strings(scope.get("dm").and_then(|d| d.get("allowFrom")))
            .iter()
            .any(|v| v == "*")
        {
            out.push(format!("{path}.dm.allowFrom contains \"*\""));
        }
    }
    out
}

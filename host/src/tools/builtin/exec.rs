//! `exec` and `process`. The policy (`tools.exec.*` and `~/.openclaw/exec-approvals.json`, the
//! stricter wins) decides run, ask or deny; an ask waits for an operator and no answer denies.
//! A command that must run in a sandbox fails closed until the Docker backend exists: it
//! never runs on the host instead.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use openclaw_core::config::schema::tools::ExecHost;
use openclaw_core::tools::approvals_file::{AllowlistEntry, ExecApprovalsFile};
use openclaw_core::tools::elevated::elevated_allowed;
use openclaw_core::tools::exec::{
    ElevatedLevel, ExecDecision, check_exec_env, decide_exec, elevated_exec_policy, exec_policy,
};
use serde_json::{Value, json};

use super::Builtins;
use crate::tools::approvals::ApprovalOutcome;
use crate::tools::dispatch::{CallOrigin, ToolOutcome};
use crate::tools::workspace::agent_workspace;

/// Largest output returned to the model per stream.
const MAX_OUTPUT_BYTES: usize = 64 * 1024;
/// OpenClaw's default per-command timeout.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(1800);

/// `~/.openclaw/exec-approvals.json`, read on every decision (an operator's edit applies to
/// the next command) and written atomically when an operator answers "allow always".
pub struct ExecApprovalsStore {
    path: PathBuf,
}

impl ExecApprovalsStore {
    pub fn new(state_dir: &Path) -> Self {
        Self {
            path: state_dir.join("exec-approvals.json"),
        }
    }

    /// The file, or `Err` naming it when it exists but cannot be read: a broken approvals file
    /// must not silently mean "no restrictions".
    pub fn load(&self) -> Result<Option<ExecApprovalsFile>, String> {
        match std::fs::read_to_string(&self.path) {
            Ok(text) => ExecApprovalsFile::parse(&text)
                .map(Some)
                .map_err(|e| format!("{}: {e}", self.path.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(format!("cannot read {}: {e}", self.path.display())),
        }
    }

    /// Adds `pattern` to the agent's allowlist.
    pub fn allow_always(&self, agent_id: &str, pattern: &str, command: &str) -> Result<(), String> {
        let mut file = self.load()?.unwrap_or_default();
        let mut entry = AllowlistEntry::new(pattern);
        entry.id = crate::state::ids::random_hex(8).ok();
        entry.last_used_command = Some(command.to_string());
        entry.last_resolved_path = Some(pattern.to_string());
        entry.last_used_at = Some(crate::sessions::store::now_ms());
        file.agents
            .entry(agent_id.to_string())
            .or_default()
            .allowlist
            .push(entry);
        let text = serde_json::to_vec_pretty(&file).map_err(|e| e.to_string())?;
        crate::state::write_private(&self.path, &text).map_err(|e| e.to_string())
    }
}

fn arg_str<'a>(args: &'a Value, name: &str) -> Option<&'a str> {
    args.get(name).and_then(Value::as_str)
}

/// The binary a command word resolves to, searched the way the host shell would.
fn resolve_binary(word: &str) -> Option<String> {
    if word.contains('/') {
        return std::fs::canonicalize(word)
            .ok()
            .map(|p| p.to_string_lossy().into_owned());
    }
    for dir in ["/usr/local/bin", "/usr/bin", "/bin"] {
        let candidate = Path::new(dir).join(word);
        if candidate.is_file() {
            return std::fs::canonicalize(&candidate)
                .ok()
                .map(|p| p.to_string_lossy().into_owned());
        }
    }
    None
}

pub(super) async fn call(builtins: &Builtins, origin: &CallOrigin, args: &Value, sandboxed: bool) -> ToolOutcome {
    let Some(command) = arg_str(args, "command").map(str::trim).filter(|c| !c.is_empty()) else {
        return ToolOutcome::Failed("`exec` needs a non-empty `command`".into());
    };
    let store = ExecApprovalsStore::new(&builtins.paths.state_dir);
    let file = match store.load() {
        Ok(file) => file,
        Err(e) => return ToolOutcome::denied(e),
    };
    let elevated = args.get("elevated").and_then(Value::as_bool) == Some(true);
    let policy = if sandboxed && elevated {
        // `/elevated`: run outside the sandbox, only for a sender both allowlists name; it never
        // lifts a tool denial (the gate already decided `exec` is allowed here).
        let Some(sender) = &origin.sender else {
            return ToolOutcome::denied(
                "elevated exec needs a channel sender listed in tools.elevated.allowFrom.<channel>; this call came from no channel",
            );
        };
        let ids: Vec<&str> = sender.ids.iter().map(String::as_str).collect();
        if let Err(reason) = elevated_allowed(&builtins.config, &origin.agent_id, &sender.channel, &ids) {
            return ToolOutcome::denied(format!("elevated exec denied: {reason}"));
        }
        let level = builtins
            .config
            .agents
            .as_ref()
            .and_then(|a| a.defaults.as_ref())
            .and_then(|d| d.elevated_default)
            .unwrap_or(ElevatedLevel::On);
        match elevated_exec_policy(&builtins.config, &origin.agent_id, file.as_ref(), level) {
            Some(policy) => policy,
            None => return ToolOutcome::denied("elevated exec is off (agents.defaults.elevatedDefault is \"off\")"),
        }
    } else {
        exec_policy(&builtins.config, &origin.agent_id, file.as_ref(), sandboxed)
    };
    let requested_host = match arg_str(args, "host") {
        None | Some("auto") => None,
        Some("sandbox") => Some(ExecHost::Sandbox),
        Some("gateway") => Some(ExecHost::Gateway),
        Some("node") => Some(ExecHost::Node),
        Some(other) => {
            return ToolOutcome::Failed(format!("unknown exec host `{other}`; use auto, sandbox or gateway"));
        }
    };
    let host = match (policy.host, requested_host) {
        // Elevated: the policy already says where (the gateway host).
        (host, _) if sandboxed && elevated => host,
        (ExecHost::Sandbox, _) | (_, Some(ExecHost::Sandbox)) => ExecHost::Sandbox,
        (ExecHost::Auto, None) if sandboxed => ExecHost::Sandbox,
        // A sandboxed session may not choose the host for itself (that is `/elevated`).
        (_, Some(ExecHost::Gateway)) if sandboxed => ExecHost::Sandbox,
        (ExecHost::Node, _) | (_, Some(ExecHost::Node)) => ExecHost::Node,
        _ => ExecHost::Gateway,
    };
    match host {
        ExecHost::Sandbox => {
            return ToolOutcome::denied(
                "exec must run in the agent's sandbox (tools.exec.host or agents.*.sandbox.mode), and this gateway has no sandbox backend yet; the command was not run. To run commands on the gateway host instead, set tools.exec.host to \"gateway\" with sandbox.mode \"off\" (approvals still apply)",
            );
        }
        ExecHost::Node => {
            return ToolOutcome::denied("exec host `node` is not supported by this gateway; the command was not run");
        }
        ExecHost::Gateway | ExecHost::Auto => {}
    }
    let env: BTreeMap<String, String> = args
        .get("env")
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .map(|(k, v)| {
                    (
                        k.clone(),
                        v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string()),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    if let Err(reason) = check_exec_env(&env) {
        return ToolOutcome::denied(reason);
    }
    let allowlist = file
        .as_ref()
        .map(|f| f.resolve(&origin.agent_id).allowlist)
        .unwrap_or_default();
    let decision = decide_exec(&policy, command, &resolve_binary, &allowlist);
    match decision {
        ExecDecision::Deny { reason } => return ToolOutcome::denied(format!("exec denied: {reason}")),
        ExecDecision::Run => {}
        ExecDecision::Ask { reason } => {
            let outcome = builtins
                .approvals
                .ask(
                    &origin.agent_id,
                    origin.session_key.as_ref(),
                    command,
                    &reason,
                    policy.approval_timeout,
                )
                .await;
            match outcome {
                ApprovalOutcome::Approved { always } => {
                    if always {
                        let word = command.split_whitespace().next().unwrap_or_default();
                        if let Some(path) = resolve_binary(word)
                            && let Err(e) = store.allow_always(&origin.agent_id, &path, command)
                        {
                            tracing::warn!("could not remember the approval: {e}");
                        }
                    }
                }
                ApprovalOutcome::Denied => {
                    return ToolOutcome::denied("exec denied: the operator denied this command");
                }
                ApprovalOutcome::TimedOut => {
                    return ToolOutcome::denied(format!(
                        "exec denied: no operator approved the command within {} s",
                        policy.approval_timeout.as_secs()
                    ));
                }
            }
        }
    }
    let workspace = agent_workspace(&builtins.config, &builtins.paths, &origin.agent_id);
    if let Err(e) = crate::state::ensure_private_dir(&workspace) {
        return ToolOutcome::Failed(format!("cannot prepare the workspace: {e}"));
    }
    let workdir = match arg_str(args, "workdir")
        .map(str::trim)
        .filter(|w| !w.is_empty() && *w != ".")
    {
        None => workspace,
        Some(dir) => {
            let relative = Path::new(dir);
            let confined = relative
                .components()
                .all(|c| matches!(c, std::path::Component::Normal(_)));
            if !confined {
                return ToolOutcome::Failed(format!(
                    "workdir `{dir}` must be a path inside the agent's workspace, relative to it, without `..`"
                ));
            }
            workspace.join(relative)
        }
    };
    let timeout = args
        .get("timeout")
        .and_then(Value::as_u64)
        .map(Duration::from_secs)
        .unwrap_or(DEFAULT_TIMEOUT)
        .min(DEFAULT_TIMEOUT);
    let request = openclaw_tools::ExecRequest {
        command: command.to_string(),
        workdir,
        env,
        timeout,
        max_output_bytes: MAX_OUTPUT_BYTES,
    };
    if args.get("background").and_then(Value::as_bool) == Some(true) {
        return match builtins.processes_of(&origin.agent_id).start(request) {
            Ok(id) => ToolOutcome::Done(format!(
                "started in the background as `{id}`; use the `process` tool (action poll, log or kill) with sessionId `{id}`"
            )),
            Err(e) => ToolOutcome::Failed(e.to_string()),
        };
    }
    match openclaw_tools::run_on_host(request, std::future::pending::<()>()).await {
        Ok(output) => ToolOutcome::Done(
            json!({
                "exitCode": output.exit_code,
                "signal": output.signal,
                "stdout": output.stdout,
                "stderr": output.stderr,
                "truncated": output.truncated,
                "timedOut": output.timed_out,
            })
            .to_string(),
        ),
        Err(e) => ToolOutcome::Failed(e.to_string()),
    }
}

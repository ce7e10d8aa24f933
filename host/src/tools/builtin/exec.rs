//! `exec` and `process`. The policy (`tools.exec.*` and `~/.openclaw/exec-approvals.json`, the
//! stricter wins) decides run, ask or deny; an ask waits for an operator and no answer denies.
//! A command that must run in a sandbox runs in the session's Docker container or not at all:
//! when Docker is unreachable or the image is missing it fails with the cause and the fix, and
//! never falls back to the host.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use openclaw_core::config::schema::tools::ExecHost;
use openclaw_core::tools::approvals_file::{AllowlistEntry, ExecApprovalsFile};
use openclaw_core::tools::elevated::elevated_allowed;
use openclaw_core::tools::exec::{
    ElevatedLevel, ExecDecision, check_exec_env, decide_exec, elevated_exec_policy, exec_policy,
};
use openclaw_sandbox::{SandboxDecision, SandboxSpec};
use openclaw_tools::ProcessStatus;
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
        // A sandboxed session may not choose the host for itself (that is `/elevated`); as in
        // OpenClaw the call is refused rather than quietly run somewhere else.
        (_, Some(ExecHost::Gateway)) if sandboxed => {
            return ToolOutcome::denied(
                "this session is sandboxed and cannot run exec on the gateway host; omit `host` (the command runs in the sandbox) or ask an operator for elevated exec (tools.elevated)",
            );
        }
        (ExecHost::Sandbox, _) | (_, Some(ExecHost::Sandbox)) => ExecHost::Sandbox,
        (ExecHost::Auto, None) if sandboxed => ExecHost::Sandbox,
        (ExecHost::Node, _) | (_, Some(ExecHost::Node)) => ExecHost::Node,
        _ => ExecHost::Gateway,
    };
    let sandbox = match host {
        ExecHost::Sandbox => match builtins.sandboxes.decide(&origin.agent_id, &origin.session_key) {
            Ok(SandboxDecision::Sandboxed(spec)) => Some(spec),
            Ok(SandboxDecision::Host { reason }) => {
                return ToolOutcome::denied(format!(
                    "exec must run in a sandbox (tools.exec.host or the call's host is \"sandbox\") and this session has none ({reason}); the command was not run. Enable agents.defaults.sandbox.mode (\"non-main\" or \"all\"), or use host \"auto\""
                ));
            }
            Err(e) => {
                return ToolOutcome::denied(format!(
                    "exec in the sandbox failed closed, the command was not run: {e}"
                ));
            }
        },
        ExecHost::Node => {
            return ToolOutcome::denied("exec host `node` is not supported by this gateway; the command was not run");
        }
        ExecHost::Gateway | ExecHost::Auto => None,
    };
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
    // PATH and the loader variables would change what runs on the host; in a container they
    // only change the container, and PATH reaches it without any shell interpolation.
    if sandbox.is_none()
        && let Err(reason) = check_exec_env(&env)
    {
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
    let relative_workdir = match confined_workdir(arg_str(args, "workdir")) {
        Ok(dir) => dir,
        Err(message) => return ToolOutcome::Failed(message),
    };
    let timeout = args
        .get("timeout")
        .and_then(Value::as_u64)
        .map(Duration::from_secs)
        .unwrap_or(DEFAULT_TIMEOUT)
        .min(DEFAULT_TIMEOUT);
    let background = args.get("background").and_then(Value::as_bool) == Some(true);
    if let Some(spec) = sandbox {
        let request = sandbox_request(&spec, command, &env, relative_workdir.as_deref(), timeout);
        return if background {
            start_in_sandbox(builtins, origin, spec, request, command)
        } else {
            run_in_sandbox(builtins, &spec, &request).await
        };
    }
    let workspace = agent_workspace(&builtins.config, &builtins.paths, &origin.agent_id);
    if let Err(e) = crate::state::ensure_private_dir(&workspace) {
        return ToolOutcome::Failed(format!("cannot prepare the workspace: {e}"));
    }
    let workdir = match relative_workdir {
        None => workspace,
        Some(dir) => workspace.join(dir),
    };
    let request = openclaw_tools::ExecRequest {
        command: command.to_string(),
        workdir,
        env,
        timeout,
        max_output_bytes: MAX_OUTPUT_BYTES,
    };
    if background {
        return match builtins.processes_of(&origin.agent_id).start(request) {
            Ok(id) => started_text(&id),
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

fn started_text(id: &str) -> ToolOutcome {
    ToolOutcome::Done(format!(
        "started in the background as `{id}`; use the `process` tool (action poll, log or kill) with sessionId `{id}`"
    ))
}

/// The `workdir` argument as a path relative to the workspace (`None`: the workspace itself).
fn confined_workdir(dir: Option<&str>) -> Result<Option<PathBuf>, String> {
    let Some(dir) = dir.map(str::trim).filter(|w| !w.is_empty() && *w != ".") else {
        return Ok(None);
    };
    let relative = Path::new(dir);
    let confined = relative
        .components()
        .all(|c| matches!(c, std::path::Component::Normal(_)));
    if !confined {
        return Err(format!(
            "workdir `{dir}` must be a path inside the agent's workspace, relative to it, without `..`"
        ));
    }
    Ok(Some(relative.to_path_buf()))
}

/// OpenClaw's sandbox exec: `/bin/sh -lc <command>` in the container's workdir with `HOME` there.
/// A custom PATH travels as the variable `OPENCLAW_PREPEND_PATH` and is expanded by the shell
/// after the login profile, so its value is never part of the command text.
fn sandbox_request(
    spec: &SandboxSpec,
    command: &str,
    env: &BTreeMap<String, String>,
    relative_workdir: Option<&Path>,
    timeout: Duration,
) -> openclaw_sandbox::ExecRequest {
    let workdir = match relative_workdir {
        None => spec.docker.workdir.clone(),
        Some(dir) => format!("{}/{}", spec.docker.workdir.trim_end_matches('/'), dir.display()),
    };
    let custom_path = env
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("PATH"))
        .map(|(_, v)| v.clone());
    let script = match custom_path {
        Some(_) => format!("export PATH=\"${{OPENCLAW_PREPEND_PATH}}:$PATH\"; unset OPENCLAW_PREPEND_PATH; {command}"),
        None => command.to_string(),
    };
    let mut request = openclaw_sandbox::ExecRequest::new(["/bin/sh", "-lc", script.as_str()])
        .workdir(workdir.clone())
        .timeout(timeout)
        .output_limit(MAX_OUTPUT_BYTES)
        .env("HOME", workdir)
        .env("OPENCLAW_SHELL", "exec");
    for (key, value) in env {
        if key.eq_ignore_ascii_case("PATH") {
            request = request.env("OPENCLAW_PREPEND_PATH", value.clone());
        } else {
            request = request.env(key.clone(), value.clone());
        }
    }
    request
}

fn sandbox_result(spec: &SandboxSpec, output: &openclaw_sandbox::ExecOutput) -> Value {
    json!({
        "exitCode": output.exit_code,
        "signal": Value::Null,
        "stdout": output.stdout_text(),
        "stderr": output.stderr_text(),
        "truncated": output.stdout_truncated || output.stderr_truncated,
        "timedOut": output.timed_out,
        "sandbox": spec.container_name,
        "droppedEnv": output
            .dropped_env
            .iter()
            .map(|(key, why)| format!("{key} ({})", why.code()))
            .collect::<Vec<_>>(),
    })
}

async fn run_in_sandbox(
    builtins: &Builtins,
    spec: &SandboxSpec,
    request: &openclaw_sandbox::ExecRequest,
) -> ToolOutcome {
    match builtins.sandboxes.exec(spec, request).await {
        Ok(output) => ToolOutcome::Done(sandbox_result(spec, &output).to_string()),
        Err(e) => ToolOutcome::Failed(format!(
            "exec in the sandbox failed, the command was not run on the host: {e}"
        )),
    }
}

/// A background run in the container: its output streams into the process table as it comes,
/// and `process kill` (or forgetting the run) kills it inside the container.
fn start_in_sandbox(
    builtins: &Builtins,
    origin: &CallOrigin,
    spec: Box<SandboxSpec>,
    request: openclaw_sandbox::ExecRequest,
    command: &str,
) -> ToolOutcome {
    let sandboxes = builtins.sandboxes.clone();
    let started =
        builtins
            .processes_of(&origin.agent_id)
            .start_with(command.to_string(), 0, move |output, cancel| async move {
                let mut on_output = |_stream: openclaw_sandbox::OutputStream, bytes: &[u8]| output.push(bytes);
                match sandboxes.exec_streaming(&spec, &request, &mut on_output, cancel).await {
                    Ok(done) if done.cancelled => ProcessStatus::Killed,
                    Ok(done) if done.timed_out => ProcessStatus::TimedOut,
                    Ok(done) => match done.exit_code.and_then(|c| i32::try_from(c).ok()) {
                        Some(code) => ProcessStatus::Exited { code },
                        None => ProcessStatus::Failed {
                            message: "the engine reported no exit code".into(),
                        },
                    },
                    Err(e) => ProcessStatus::Failed {
                        message: format!("exec in the sandbox failed: {e}"),
                    },
                }
            });
    match started {
        Ok(id) => started_text(&id),
        Err(e) => ToolOutcome::Failed(e.to_string()),
    }
}

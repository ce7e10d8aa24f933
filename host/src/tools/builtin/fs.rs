//! `read`, `write`, `edit`, `apply_patch`: confined by `tools.fs.workspaceOnly` (and, for
//! `apply_patch`, `tools.exec.applyPatch.workspaceOnly`, default true); the gateway's own
//! state is refused even when confinement is off.

use openclaw_core::config::schema::sandbox::WorkspaceAccess;
use openclaw_sandbox::SandboxDecision;
use serde_json::Value;

use super::Builtins;
use crate::tools::dispatch::{CallOrigin, ToolOutcome};
use crate::tools::workspace::{agent_workspace, protected_paths};
use openclaw_core::routing::session_key::normalize_agent_id;

fn workspace_only(builtins: &Builtins, agent_id: &str, tool: &str) -> bool {
    let config = &builtins.config;
    let agent_tools = config
        .agents
        .as_ref()
        .and_then(|a| a.list().iter().find(|e| normalize_agent_id(&e.id) == agent_id))
        .and_then(|e| e.tools.as_ref());
    let fs_only = agent_tools
        .and_then(|t| t.fs.as_ref())
        .and_then(|f| f.workspace_only)
        .or_else(|| {
            config
                .tools
                .as_ref()
                .and_then(|t| t.fs.as_ref())
                .and_then(|f| f.workspace_only)
        })
        .unwrap_or(false);
    if tool != "apply_patch" {
        return fs_only;
    }
    let patch_only = agent_tools
        .and_then(|t| t.exec.as_ref())
        .and_then(|e| e.apply_patch.as_ref())
        .and_then(|p| p.workspace_only)
        .or_else(|| {
            config
                .tools
                .as_ref()
                .and_then(|t| t.exec.as_ref())
                .and_then(|e| e.apply_patch.as_ref())
                .and_then(|p| p.workspace_only)
        })
        .unwrap_or(true);
    fs_only || patch_only
}

pub(super) fn call(builtins: &Builtins, origin: &CallOrigin, name: &str, args: &Value, sandboxed: bool) -> ToolOutcome {
    let (root, confined) = if sandboxed {
        match sandbox_root(builtins, origin, name) {
            Ok(root) => (root, true),
            Err(refusal) => return refusal,
        }
    } else {
        (
            agent_workspace(&builtins.config, &builtins.paths, &origin.agent_id),
            workspace_only(builtins, &origin.agent_id, name),
        )
    };
    let protected = protected_paths(&builtins.paths);
    let workspace = match openclaw_tools::Workspace::open(&root, confined, protected) {
        Ok(ws) => ws.with_home(&builtins.paths.home),
        Err(e) => return ToolOutcome::Failed(e.to_string()),
    };
    let result = match name {
        "read" => openclaw_tools::read(&workspace, args),
        "write" => openclaw_tools::write(&workspace, args),
        "edit" => openclaw_tools::edit(&workspace, args),
        _ => openclaw_tools::apply_patch(&workspace, args),
    };
    match result {
        Ok(text) => ToolOutcome::Done(text),
        Err(e) => ToolOutcome::Failed(e.to_string()),
    }
}

/// In a sandboxed session the file tools see what the container sees at its workdir, on the
/// host side of the mount: the sandbox's own workspace (`workspaceAccess` none or ro) or the
/// agent workspace (`rw`), and never anything outside it. Under `ro` the tools that write are
/// refused, as in OpenClaw. No container is needed for this, so it works with Docker down.
fn sandbox_root(builtins: &Builtins, origin: &CallOrigin, name: &str) -> Result<std::path::PathBuf, ToolOutcome> {
    let spec = match builtins.sandboxes.decide(&origin.agent_id, &origin.session_key) {
        Ok(SandboxDecision::Sandboxed(spec)) => spec,
        Ok(SandboxDecision::Host { .. }) => {
            return Err(ToolOutcome::denied(format!(
                "`{name}` was routed to a sandbox this session does not have; nothing was done"
            )));
        }
        Err(e) => {
            return Err(ToolOutcome::denied(format!(
                "`{name}` failed closed, nothing was done: {e}"
            )));
        }
    };
    if name != "read" && !spec.allows_workspace_writes() {
        return Err(ToolOutcome::denied(format!(
            "`{name}` is disabled in this sandbox: agents.*.sandbox.workspaceAccess is \"ro\" (set it to \"rw\" or \"none\" to allow writes)"
        )));
    }
    let root = if spec.workspace_access == WorkspaceAccess::Rw {
        spec.agent_workspace.clone()
    } else {
        spec.sandbox_workspace.clone()
    };
    std::fs::create_dir_all(&root)
        .map_err(|e| ToolOutcome::Failed(format!("cannot prepare the sandbox workspace {}: {e}", root.display())))?;
    Ok(root)
}

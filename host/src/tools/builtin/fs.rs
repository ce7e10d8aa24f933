//! `read`, `write`, `edit`, `apply_patch`: confined by `tools.fs.workspaceOnly` (and, for
//! `apply_patch`, `tools.exec.applyPatch.workspaceOnly`, default true); the gateway's own
//! state is refused even when confinement is off.

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
    if sandboxed {
        // Until the Docker backend lands, a sandboxed session's files live nowhere we can offer.
        return ToolOutcome::denied(format!(
            "`{name}` runs in the agent's sandbox for this session (agents.*.sandbox.mode), and this gateway has no sandbox backend yet; nothing was done on the host"
        ));
    }
    let root = agent_workspace(&builtins.config, &builtins.paths, &origin.agent_id);
    let protected = protected_paths(&builtins.paths);
    let workspace =
        match openclaw_tools::Workspace::open(&root, workspace_only(builtins, &origin.agent_id, name), protected) {
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

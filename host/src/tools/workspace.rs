//! Where an agent's files live and what its file tools may never touch.

use std::path::PathBuf;

use openclaw_core::config::schema::Config;
use openclaw_core::routing::session_key::normalize_agent_id;

use crate::state::{StatePaths, expand_home};

/// The agent's workspace: `agents.list[].workspace`, else `agents.defaults.workspace` for the
/// default agent, else OpenClaw's defaults (`~/.openclaw/workspace`, and
/// `~/.openclaw/workspace-<agentId>` for other agents).
pub fn agent_workspace(config: &Config, paths: &StatePaths, agent_id: &str) -> PathBuf {
    let agents = config.agents.as_ref();
    let agent = agents.and_then(|a| a.list().iter().find(|entry| normalize_agent_id(&entry.id) == agent_id));
    if let Some(dir) = agent.and_then(|a| a.workspace.as_deref()) {
        return expand_home(dir, &paths.home);
    }
    let is_default = agents.map(|a| a.default_agent_id()).unwrap_or_else(|| "main".into()) == agent_id;
    if is_default {
        if let Some(dir) = agents
            .and_then(|a| a.defaults.as_ref())
            .and_then(|d| d.workspace.as_deref())
        {
            return expand_home(dir, &paths.home);
        }
        return paths.state_dir.join("workspace");
    }
    paths.state_dir.join(format!("workspace-{agent_id}"))
}

/// What file tools refuse even when `tools.fs.workspaceOnly` is off: the whole state directory
/// (config, credentials, sessions and transcripts, plugins, approvals, logs) except the agent
/// workspaces in it (the nearer workspace root wins), the config file wherever it lives, and
/// each file of the state and credentials directories by itself, so a hard link to one made
/// elsewhere is refused too. The model reaching any of them is the `find ~` incident.
pub fn protected_paths(paths: &StatePaths) -> Vec<PathBuf> {
    let mut out = vec![
        paths.state_dir.clone(),
        paths.config_path.clone(),
        paths.credentials_dir.clone(),
    ];
    for dir in [&paths.state_dir, &paths.credentials_dir] {
        if let Ok(entries) = std::fs::read_dir(dir) {
            for entry in entries.flatten() {
                if entry.file_type().is_ok_and(|t| t.is_file()) {
                    out.push(entry.path());
                }
            }
        }
    }
    out
}

//! The built-in tools this gateway implements. Core tool names it does not implement are not in
//! its catalog, so they are never offered and a call to one is refused as unavailable.

mod exec;
mod fs;
mod message;
mod sessions;

use std::collections::BTreeMap;
use std::sync::Arc;

use openclaw_core::config::schema::Config;
use serde_json::Value;

use super::approvals::Approvals;
use super::dispatch::{CallOrigin, OfferedTool, ToolOutcome};
use crate::sessions::SessionStore;
use crate::state::StatePaths;

pub use exec::ExecApprovalsStore;

/// Everything the built-in tools need, shared by every call.
pub struct Builtins {
    config: Arc<Config>,
    paths: StatePaths,
    sessions: Arc<SessionStore>,
    approvals: Arc<Approvals>,
    plugins: Arc<crate::plugins::serving::Plugins>,
    sandboxes: Arc<crate::sandboxes::Sandboxes>,
    /// Background runs, one table per agent: an agent sees and stops only its own.
    processes: std::sync::Mutex<BTreeMap<String, Arc<openclaw_tools::ProcessTable>>>,
    specs: BTreeMap<String, OfferedTool>,
    /// Where `sessions_send` queues turns for the agent service (set once it exists).
    turns: std::sync::OnceLock<tokio::sync::mpsc::UnboundedSender<crate::agents::QueuedTurn>>,
}

/// The tools of `openclaw_tools` this gateway offers.
const IMPLEMENTED: &[&str] = &["read", "write", "edit", "apply_patch", "exec", "process"];
const SESSION_TOOLS: &[&str] = &["sessions_list", "sessions_history", "session_status"];

/// The built-in tools a gateway offers (before the tool policy), `message` only where a channel
/// is configured. For inspection without a running gateway (`openclaw sandbox explain`).
pub fn tool_names(has_channels: bool) -> Vec<String> {
    let mut names: Vec<String> = IMPLEMENTED.iter().map(|n| n.to_string()).collect();
    names.extend(sessions::specs().into_iter().map(|s| s.name));
    if has_channels {
        names.push(message::spec().name);
    }
    names.sort();
    names
}

impl Builtins {
    pub fn new(
        config: Arc<Config>,
        paths: StatePaths,
        sessions: Arc<SessionStore>,
        approvals: Arc<Approvals>,
        plugins: Arc<crate::plugins::serving::Plugins>,
        sandboxes: Arc<crate::sandboxes::Sandboxes>,
    ) -> Self {
        let mut specs: BTreeMap<String, OfferedTool> = openclaw_tools::specs()
            .into_iter()
            .filter(|s| IMPLEMENTED.contains(&s.name.as_str()))
            .map(|s| {
                (
                    s.name.clone(),
                    OfferedTool {
                        name: s.name,
                        description: s.description,
                        parameters: s.parameters,
                    },
                )
            })
            .collect();
        for spec in sessions::specs() {
            specs.insert(spec.name.clone(), spec);
        }
        // `message` exists only where there is a channel to send through.
        if plugins.has_channels() {
            let spec = message::spec();
            specs.insert(spec.name.clone(), spec);
        }
        Self {
            config,
            paths,
            sessions,
            approvals,
            plugins,
            sandboxes,
            processes: std::sync::Mutex::new(BTreeMap::new()),
            specs,
            turns: std::sync::OnceLock::new(),
        }
    }

    pub fn names(&self) -> Vec<&str> {
        self.specs.keys().map(String::as_str).collect()
    }

    pub fn has(&self, name: &str) -> bool {
        self.specs.contains_key(name)
    }

    pub fn spec(&self, name: &str) -> Option<OfferedTool> {
        self.specs.get(name).cloned()
    }

    /// Lets `sessions_send` run turns.
    pub fn bind_turns(&self, turns: tokio::sync::mpsc::UnboundedSender<crate::agents::QueuedTurn>) {
        let _ = self.turns.set(turns);
    }

    /// The agent's background runs.
    pub fn processes_of(&self, agent_id: &str) -> Arc<openclaw_tools::ProcessTable> {
        let mut tables = self.processes.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        tables
            .entry(agent_id.to_string())
            .or_insert_with(|| {
                Arc::new(openclaw_tools::ProcessTable::new(
                    openclaw_tools::ProcessLimits::default(),
                ))
            })
            .clone()
    }

    pub fn sandboxes(&self) -> &Arc<crate::sandboxes::Sandboxes> {
        &self.sandboxes
    }

    pub fn approvals(&self) -> &Arc<Approvals> {
        &self.approvals
    }

    pub async fn call(&self, origin: &CallOrigin, name: &str, args: Value, sandboxed: bool) -> ToolOutcome {
        match name {
            "read" | "write" | "edit" | "apply_patch" => fs::call(self, origin, name, &args, sandboxed),
            "exec" => exec::call(self, origin, &args, sandboxed).await,
            "process" => match openclaw_tools::process_action(&self.processes_of(&origin.agent_id), &args).await {
                Ok(text) => ToolOutcome::Done(text),
                Err(e) => ToolOutcome::Failed(e.to_string()),
            },
            "sessions_send" => sessions::send(self, origin, &args).await,
            "message" => message::call(self, &args).await,
            n if SESSION_TOOLS.contains(&n) => sessions::call(self, origin, name, &args),
            _ => ToolOutcome::denied(format!("tool `{name}` is not available")),
        }
    }
}

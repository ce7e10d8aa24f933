//! Which tools an agent may use, and how `exec` may run: OpenClaw's tool catalog, the tool-policy
//! pipeline, elevated gating, exec policy and the exec-approvals file, as pure functions over a
//! config snapshot. Every decision is a value naming the step and config path that made it.

pub mod approvals_file;
pub mod elevated;
pub mod exec;
pub mod groups;
pub mod names;
pub mod policy;
pub mod profiles;

use crate::config::path::JsonPath;
use crate::config::schema::Config;
use crate::config::schema::agents::AgentConfig;

/// The agent `agents.list[]` entry for `id` (compared case-insensitively) with its config path
/// (`agents.list[2]`); `None` when the agent is not listed, which means defaults only.
pub(crate) fn find_agent<'c>(config: &'c Config, id: &str) -> Option<(String, &'c AgentConfig)> {
    let wanted = id.trim();
    config
        .agents()
        .list()
        .iter()
        .enumerate()
        .find(|(_, a)| a.id.trim().eq_ignore_ascii_case(wanted))
        .map(|(i, a)| (JsonPath::root().key("agents").key("list").index(i).to_string(), a))
}

//! `group:*` names: shorthands that expand to exactly the tools OpenClaw's Apr-2026 tool docs list.
//!
//! An unknown `group:` name expands to nothing: a typo never widens a list (see the policy's
//! handling of allowlists that name one).

use super::names::CORE_TOOLS;

/// Expands to every plugin-registered tool; resolved against the loaded plugins, not here.
pub const PLUGINS_GROUP: &str = "group:plugins";

/// Every built-in tool (plugin and provider tools excluded).
pub const OPENCLAW_GROUP: &str = "group:openclaw";

/// Names OpenClaw used for `group:openclaw` before its renames.
pub const OPENCLAW_GROUP_ALIASES: &[&str] = &["group:clawdbot", "group:moltbot"];

/// The groups with fixed members, as documented.
pub const GROUPS: &[(&str, &[&str])] = &[
    ("group:runtime", &["exec", "process", "code_execution"]),
    ("group:fs", &["read", "write", "edit", "apply_patch"]),
    (
        "group:sessions",
        &[
            "sessions_list",
            "sessions_history",
            "sessions_send",
            "sessions_spawn",
            "sessions_yield",
            "subagents",
            "session_status",
        ],
    ),
    ("group:memory", &["memory_search", "memory_get"]),
    ("group:web", &["web_search", "x_search", "web_fetch"]),
    ("group:ui", &["browser", "canvas"]),
    ("group:automation", &["cron", "gateway"]),
    ("group:messaging", &["message"]),
    ("group:nodes", &["nodes"]),
    ("group:agents", &["agents_list"]),
    ("group:media", &["image", "image_generate", "tts"]),
    (OPENCLAW_GROUP, CORE_TOOLS),
];

/// Whether `entry` (already canonical) is written as a group.
pub fn is_group(entry: &str) -> bool {
    entry.starts_with("group:")
}

/// The members of a core group (canonical name, legacy aliases included); `None` for
/// `group:plugins` and for unknown groups.
pub fn members(group: &str) -> Option<&'static [&'static str]> {
    let group = if OPENCLAW_GROUP_ALIASES.contains(&group) {
        OPENCLAW_GROUP
    } else {
        group
    };
    GROUPS.iter().find(|(name, _)| *name == group).map(|(_, tools)| *tools)
}

/// Every group name a list may use (for error messages).
pub fn known_names() -> Vec<&'static str> {
    let mut names: Vec<&'static str> = GROUPS.iter().map(|(name, _)| *name).collect();
    names.push(PLUGINS_GROUP);
    names
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tools::names::is_core;

    #[test]
    fn every_member_is_a_core_tool() {
        for (group, tools) in GROUPS {
            for tool in *tools {
                assert!(is_core(tool), "{group} lists {tool}, which is not a core tool");
            }
        }
    }

    #[test]
    fn aliases_expand_like_openclaw() {
        for alias in OPENCLAW_GROUP_ALIASES {
            assert_eq!(members(alias), Some(CORE_TOOLS));
        }
        assert_eq!(members("group:nope"), None);
        assert_eq!(members(PLUGINS_GROUP), None);
    }
}

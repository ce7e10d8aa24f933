//! OpenClaw's built-in tool names (the Apr-2026 list) and the spelling rule every policy list
//! uses: trimmed, lower-cased, then alias-mapped, so `Bash`, ` exec ` and `exec` are one tool.

/// Every built-in tool, grouped as OpenClaw's tool docs list them.
pub const CORE_TOOLS: &[&str] = &[
    // runtime
    "exec",
    "process",
    "code_execution",
    // filesystem
    "read",
    "write",
    "edit",
    "apply_patch",
    // web
    "web_search",
    "x_search",
    "web_fetch",
    // memory
    "memory_search",
    "memory_get",
    // sessions
    "sessions_list",
    "sessions_history",
    "sessions_send",
    "sessions_spawn",
    "sessions_yield",
    "subagents",
    "session_status",
    "agents_list",
    // UI and messaging
    "browser",
    "canvas",
    "message",
    // automation and devices
    "cron",
    "gateway",
    "nodes",
    // media
    "image",
    "image_generate",
    "tts",
];

/// Older or alternative spellings and the tool they mean.
pub const ALIASES: &[(&str, &str)] = &[("bash", "exec"), ("apply-patch", "apply_patch")];

/// The name as policies compare it: trimmed, lower-cased, alias-mapped.
pub fn canonical(name: &str) -> String {
    let lower = name.trim().to_lowercase();
    match ALIASES.iter().find(|(alias, _)| *alias == lower) {
        Some((_, tool)) => (*tool).to_string(),
        None => lower,
    }
}

/// Whether `name` (in any spelling) is a built-in tool.
pub fn is_core(name: &str) -> bool {
    let name = canonical(name);
    CORE_TOOLS.contains(&name.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spelling_is_normalized() {
        assert_eq!(canonical("  Bash "), "exec");
        assert_eq!(canonical("APPLY-PATCH"), "apply_patch");
        assert_eq!(canonical("Web_Search"), "web_search");
        assert_eq!(canonical("my_plugin_tool"), "my_plugin_tool");
        assert!(is_core("BASH"));
        assert!(is_core("image_generate"));
        assert!(!is_core("whatsapp_login"), "channel tools come from channel plugins");
        assert!(!is_core("group:fs"));
    }

    #[test]
    fn core_list_has_no_duplicates_and_is_canonical() {
        for (i, name) in CORE_TOOLS.iter().enumerate() {
            assert_eq!(canonical(name), *name);
            assert!(!CORE_TOOLS[i + 1..].contains(name), "{name} listed twice");
        }
        assert_eq!(CORE_TOOLS.len(), 29);
    }
}

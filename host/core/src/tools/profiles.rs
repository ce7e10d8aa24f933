//! Tool profiles: the base allowlist `tools.profile` selects (Apr-2026 lists).

use crate::config::schema::common::ToolProfile;

/// The allowlist a profile stands for; `None` for `full`, which restricts nothing.
pub fn allowlist(profile: ToolProfile) -> Option<&'static [&'static str]> {
    match profile {
        ToolProfile::Minimal => Some(&["session_status"]),
        ToolProfile::Coding => Some(&[
            "group:fs",
            "group:runtime",
            "group:web",
            "group:sessions",
            "group:memory",
            "cron",
            "image",
            "image_generate",
        ]),
        ToolProfile::Messaging => Some(&[
            "group:messaging",
            "sessions_list",
            "sessions_history",
            "sessions_send",
            "session_status",
        ]),
        ToolProfile::Full => None,
    }
}

/// The profile as written in config.
pub fn name(profile: ToolProfile) -> &'static str {
    match profile {
        ToolProfile::Minimal => "minimal",
        ToolProfile::Coding => "coding",
        ToolProfile::Messaging => "messaging",
        ToolProfile::Full => "full",
    }
}

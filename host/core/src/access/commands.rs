//! Who may run slash commands and directives (reference §1.5).
//!
//! - `commands.allowFrom`, when set, is the only source: the channel's list, else `"*"`'s. A set
//!   map with neither key authorizes nobody on that channel (fail closed).
//! - Otherwise, with `commands.useAccessGroups` (default true), the channel's allowlists are
//!   "authorizers" `{configured, allowed}`: a sender is authorized when a configured one allows
//!   them. With no list configured at all nobody is authorized; `"*"` in a list opens commands.
//! - With `useAccessGroups: false`, the channel's [`CommandGateMode`] decides.
//! - Group messages use the configured lists only, never the pairing store, so approving a DM
//!   code never grants command rights in groups.
//!
//! For anyone not authorized, a command or directive is ordinary text.

use super::account::{AllowList, IdStyle, SenderRef};
use crate::config::schema::Config;

/// What a channel does about commands when `commands.useAccessGroups` is false
/// (OpenClaw's per-channel `modeWhenAccessGroupsOff`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CommandGateMode {
    /// Everyone may run commands (OpenClaw's default).
    #[default]
    Allow,
    /// Nobody may.
    Deny,
    /// The channel's lists apply when any is configured; everyone may when none is.
    Configured,
}

/// One allowlist consulted for command authorization.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Authorizer {
    /// The list has at least one entry.
    pub configured: bool,
    /// The sender is in it.
    pub allowed: bool,
}

impl Authorizer {
    pub fn from_list(list: &AllowList, sender: &SenderRef<'_>, name_matching: bool) -> Self {
        Self {
            configured: !list.is_empty(),
            allowed: list.allows(sender, name_matching),
        }
    }
}

/// The `commands.*` keys access control needs, resolved once.
#[derive(Debug, Clone)]
pub struct CommandsPolicy {
    /// `commands.allowFrom` as written (per channel id, `"*"` for the rest), when set.
    allow_from: Option<Vec<(String, Vec<String>)>>,
    pub use_access_groups: bool,
    /// `commands.text` (default true): text commands are parsed at all.
    pub text_enabled: bool,
}

impl Default for CommandsPolicy {
    fn default() -> Self {
        Self {
            allow_from: None,
            use_access_groups: true,
            text_enabled: true,
        }
    }
}

impl CommandsPolicy {
    pub fn from_config(config: &Config) -> Self {
        let Some(commands) = &config.commands else {
            return Self::default();
        };
        Self {
            allow_from: commands.allow_from.as_ref().map(|map| {
                map.iter()
                    .map(|(channel, list)| {
                        (
                            channel.trim().to_lowercase(),
                            list.iter().map(|e| e.normalized()).collect(),
                        )
                    })
                    .collect()
            }),
            use_access_groups: commands.use_access_groups != Some(false),
            text_enabled: commands.text != Some(false),
        }
    }

    /// `commands.allowFrom` for `channel`, normalized for it: `None` when the key is not set,
    /// an empty list when it is set but names neither the channel nor `"*"`.
    pub fn allow_from_for(&self, channel: &str) -> Option<AllowList> {
        let map = self.allow_from.as_ref()?;
        let list = map
            .iter()
            .find(|(key, _)| key == channel)
            .or_else(|| map.iter().find(|(key, _)| key == "*"))
            .map(|(_, list)| list.as_slice())
            .unwrap_or_default();
        Some(AllowList::from_entries(
            IdStyle::of(channel),
            channel,
            list.iter().map(String::as_str),
            false,
        ))
    }
}

/// Decides whether a sender may run commands.
///
/// `explicit` is [`CommandsPolicy::allow_from_for`] of the channel; `authorizers` are the
/// channel's lists for this message (DM: the effective DM list and the group list; group: the
/// configured DM and group lists).
pub fn authorize(
    policy: &CommandsPolicy,
    explicit: Option<&AllowList>,
    sender: &SenderRef<'_>,
    name_matching: bool,
    authorizers: &[Authorizer],
    mode_when_off: CommandGateMode,
) -> bool {
    if let Some(list) = explicit {
        return list.allows(sender, name_matching);
    }
    let any_allows = authorizers.iter().any(|a| a.configured && a.allowed);
    if policy.use_access_groups {
        return any_allows;
    }
    match mode_when_off {
        CommandGateMode::Allow => true,
        CommandGateMode::Deny => false,
        CommandGateMode::Configured => !authorizers.iter().any(|a| a.configured) || any_allows,
    }
}

/// OpenClaw's chat commands and directives (with their short aliases).
const COMMANDS: &[&str] = &[
    "activation",
    "agent",
    "agents",
    "allowlist",
    "approve",
    "bash",
    "btw",
    "commands",
    "compact",
    "config",
    "context",
    "debug",
    "deny",
    "dock",
    "e",
    "elev",
    "elevated",
    "exec",
    "export",
    "export-session",
    "fast",
    "focus",
    "help",
    "id",
    "kill",
    "mcp",
    "model",
    "models",
    "new",
    "plugins",
    "queue",
    "reason",
    "reasoning",
    "reset",
    "restart",
    "send",
    "session",
    "skill",
    "start",
    "status",
    "steer",
    "stop",
    "subagents",
    "t",
    "tell",
    "think",
    "thinking",
    "tools",
    "tts",
    "unfocus",
    "usage",
    "v",
    "verbose",
    "whoami",
];

/// Is `text` a control command: `/name` (a known command, any case, optionally
/// `/name@botname` as Telegram sends it) at the start, followed by the end, whitespace or `:`?
pub fn is_control_command(text: &str) -> bool {
    let Some(rest) = text.trim_start().strip_prefix('/') else {
        return false;
    };
    let end = rest
        .find(|c: char| c.is_whitespace() || c == ':' || c == '@')
        .unwrap_or(rest.len());
    let name = &rest[..end];
    if name.is_empty() {
        return false;
    }
    let known = |n: &str| COMMANDS.iter().any(|c| c.eq_ignore_ascii_case(n));
    // `/dock-telegram` and similar families share their prefix.
    known(name)
        || name
            .split_once('-')
            .is_some_and(|(head, _)| head.eq_ignore_ascii_case("dock"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_commands_are_recognised() {
        for text in [
            "/status",
            "  /Think high",
            "/model: gpt",
            "/new@my_bot",
            "/dock-telegram",
            "/exec host=sandbox",
        ] {
            assert!(is_control_command(text), "{text}");
        }
        for text in ["status", "/", "/notacommand", "hello /status", "//status", "/statusx"] {
            assert!(!is_control_command(text), "{text}");
        }
    }

    #[test]
    fn authorizers_need_a_configured_list_that_allows() {
        let policy = CommandsPolicy::default();
        let sender = SenderRef::new(IdStyle::Generic, "x", "a", None, None);
        let none = [Authorizer {
            configured: false,
            allowed: false,
        }];
        assert!(!authorize(&policy, None, &sender, false, &none, CommandGateMode::Allow));
        let yes = [Authorizer {
            configured: true,
            allowed: true,
        }];
        assert!(authorize(&policy, None, &sender, false, &yes, CommandGateMode::Deny));
        let off = CommandsPolicy {
            use_access_groups: false,
            ..CommandsPolicy::default()
        };
        assert!(authorize(&off, None, &sender, false, &none, CommandGateMode::Allow));
        assert!(!authorize(&off, None, &sender, false, &yes, CommandGateMode::Deny));
        assert!(authorize(
            &off,
            None,
            &sender,
            false,
            &none,
            CommandGateMode::Configured
        ));
        let no = [Authorizer {
            configured: true,
            allowed: false,
        }];
        assert!(!authorize(&off, None, &sender, false, &no, CommandGateMode::Configured));
    }
}

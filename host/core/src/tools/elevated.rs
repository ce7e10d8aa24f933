//! `/elevated`: whether a sender may run `exec` outside the sandbox (on the gateway or a node).
//!
//! Two gates must both pass (OpenClaw's `tools.elevated` AND `agents.list[].tools.elevated`):
//! the switch (`enabled`, unset means on) and the sender list for the channel (`allowFrom`). An
//! agent's own list can only narrow: the sender must be on both. No list means nobody, except
//! Discord, which falls back to `channels.discord.allowFrom`. Elevated never re-grants a tool the
//! tool policy denied; that is the caller's first check.

use crate::config::schema::Config;
use crate::config::schema::common::{AllowEntry, IdMap};
use crate::config::schema::tools::ElevatedAllowFrom;

use super::find_agent;

/// Sender identity fields an entry can name with a prefix (`username:alice`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    Id,
    From,
    E164,
    Name,
    Username,
    Tag,
}

impl Field {
    const PREFIXES: [(&'static str, Field); 6] = [
        ("id:", Field::Id),
        ("from:", Field::From),
        ("e164:", Field::E164),
        ("name:", Field::Name),
        ("username:", Field::Username),
        ("tag:", Field::Tag),
    ];

    /// Names, usernames and tags can be taken or changed by their owner; a plain entry never
    /// matches them, only an entry that says which one it means.
    fn is_mutable(self) -> bool {
        matches!(self, Field::Name | Field::Username | Field::Tag)
    }
}

/// Splits `field:value`; a value without a known prefix is `None`.
fn split_field(text: &str) -> Option<(Field, &str)> {
    let trimmed = text.trim();
    Field::PREFIXES.iter().find_map(|(prefix, field)| {
        let head = trimmed.get(..prefix.len())?;
        head.eq_ignore_ascii_case(prefix)
            .then(|| (*field, trimmed[prefix.len()..].trim()))
    })
}

/// Identity values compare case-insensitively, without a leading `<channel>:` or `user:` routing
/// prefix (`telegram:123` is sender `123`) and, for phone numbers, without spaces.
fn normalize_identity(value: &str, channel: &str) -> String {
    let mut text = value.trim().to_lowercase();
    for prefix in [format!("{channel}:"), "user:".to_string()] {
        if let Some(rest) = text.strip_prefix(prefix.as_str()) {
            text = rest.trim().to_string();
        }
    }
    text.chars().filter(|c| !c.is_whitespace()).collect()
}

fn normalize_mutable(value: &str) -> String {
    value.trim().trim_start_matches(['@', '#']).trim().to_lowercase()
}

/// A candidate id of the sender: `field:value`, or a plain id.
struct Candidate {
    field: Field,
    value: String,
}

fn candidates(sender: &[&str], channel: &str) -> Vec<Candidate> {
    sender
        .iter()
        .filter(|s| !s.trim().is_empty())
        .map(|s| match split_field(s) {
            Some((field, value)) if field.is_mutable() => Candidate {
                field,
                value: normalize_mutable(value),
            },
            Some((field, value)) => Candidate {
                field,
                value: normalize_identity(value, channel),
            },
            None => Candidate {
                field: Field::Id,
                value: normalize_identity(s, channel),
            },
        })
        .filter(|c| !c.value.is_empty())
        .collect()
}

/// Whether one allowFrom entry names one of the sender's candidate ids.
fn entry_matches(entry: &str, sender: &[Candidate], channel: &str) -> bool {
    let entry = entry.trim();
    if entry.is_empty() {
        return false;
    }
    if entry == "*" {
        return true;
    }
    // `@handle` is a username by its syntax (seed: `telegram: ["@yourusername"]`).
    let typed = split_field(entry).or_else(|| entry.starts_with('@').then_some((Field::Username, entry)));
    match typed {
        Some((field, value)) if field.is_mutable() => {
            let value = normalize_mutable(value);
            !value.is_empty() && sender.iter().any(|c| c.field == field && c.value == value)
        }
        Some((field, value)) => {
            let value = normalize_identity(value, channel);
            !value.is_empty() && sender.iter().any(|c| c.field == field && c.value == value)
        }
        None => {
            let value = normalize_identity(entry, channel);
            sender.iter().any(|c| !c.field.is_mutable() && c.value == value)
        }
    }
}

fn list_for<'c>(map: &'c IdMap<Vec<AllowEntry>>, channel: &str) -> Option<&'c Vec<AllowEntry>> {
    map.iter()
        .find(|(k, _)| k.trim().eq_ignore_ascii_case(channel))
        .map(|(_, v)| v)
}

/// Discord's elevated list falls back to its DM allowlist.
fn fallback_list(config: &Config, channel: &str) -> Option<Vec<String>> {
    if channel != "discord" {
        return None;
    }
    let discord = config.channels.as_ref()?.discord.as_ref()?;
    let list = discord.access.effective_allow_from();
    (!list.is_empty()).then_some(list)
}

fn sender_on(list: &[String], sender: &[Candidate], channel: &str) -> bool {
    list.iter().any(|entry| entry_matches(entry, sender, channel))
}

fn describe(sender: &[&str]) -> String {
    if sender.is_empty() {
        "the sender (no id known)".to_string()
    } else {
        format!("sender {}", sender.join(" / "))
    }
}

/// Whether `sender` (its candidate ids: plain ids, or `id:`/`from:`/`e164:`/`name:`/`username:`/
/// `tag:` prefixed) talking to `agent_id` on `channel` may use elevated exec. The error names
/// the gate that failed and the key to change.
pub fn elevated_allowed(config: &Config, agent_id: &str, channel: &str, sender: &[&str]) -> Result<(), String> {
    let global = config.tools.as_ref().and_then(|t| t.elevated.as_ref());
    let agent = find_agent(config, agent_id);
    let agent_elevated = agent
        .as_ref()
        .and_then(|(path, a)| a.tools.as_ref()?.elevated.as_ref().map(|e| (path, e)));

    if global.and_then(|e| e.enabled) == Some(false) {
        return Err("elevated exec is off (tools.elevated.enabled is false); set it to true to use /elevated".into());
    }
    if let Some((path, elevated)) = agent_elevated
        && elevated.enabled == Some(false)
    {
        return Err(format!(
            "elevated exec is off for agent `{agent_id}` ({path}.tools.elevated.enabled is false)"
        ));
    }

    let channel = channel.trim().to_lowercase();
    if channel.is_empty() {
        return Err("elevated exec needs the channel the request came from; none was given".into());
    }
    let ids = candidates(sender, &channel);

    match global.and_then(|e| e.allow_from.as_ref()) {
        Some(ElevatedAllowFrom::Agents(agents)) => {
            // The list form names agents, not senders: every sender who reached an allowed agent.
            if !agents.iter().any(|a| a.trim().eq_ignore_ascii_case(agent_id.trim())) {
                return Err(format!(
                    "agent `{agent_id}` is not in tools.elevated.allowFrom (the agents allowed elevated exec: [{}])",
                    agents.join(", ")
                ));
            }
        }
        Some(ElevatedAllowFrom::BySender(map)) => {
            let list: Option<Vec<String>> = list_for(map, &channel)
                .map(|l| l.iter().map(AllowEntry::normalized).collect())
                .or_else(|| fallback_list(config, &channel));
            match list {
                Some(list) if sender_on(&list, &ids, &channel) => {}
                Some(_) => {
                    return Err(format!(
                        "{} is not in tools.elevated.allowFrom.{channel}; add one of its ids there",
                        describe(sender)
                    ));
                }
                None => {
                    return Err(format!(
                        "no sender may use elevated exec on {channel}: tools.elevated.allowFrom.{channel} is not set"
                    ));
                }
            }
        }
        None => match fallback_list(config, &channel) {
            Some(list) if sender_on(&list, &ids, &channel) => {}
            Some(_) => {
                return Err(format!(
                    "{} is not in channels.discord.allowFrom, which elevated exec falls back to; \
                     set tools.elevated.allowFrom.discord",
                    describe(sender)
                ));
            }
            None => {
                return Err(format!(
                    "no sender may use elevated exec on {channel}: tools.elevated.allowFrom is not set \
                     (e.g. tools.elevated.allowFrom: {{{channel}: [\"<sender id>\"]}})"
                ));
            }
        },
    }

    // The agent's list narrows: the sender must be on it as well.
    if let Some((path, elevated)) = agent_elevated
        && let Some(map) = &elevated.allow_from
    {
        let list: Option<Vec<String>> = list_for(map, &channel)
            .map(|l| l.iter().map(AllowEntry::normalized).collect())
            .or_else(|| fallback_list(config, &channel));
        if !list.is_some_and(|l| sender_on(&l, &ids, &channel)) {
            return Err(format!(
                "{} is not in {path}.tools.elevated.allowFrom.{channel} (agent `{agent_id}` narrows the global list)",
                describe(sender)
            ));
        }
    }
    Ok(())
}

/// Whether every elevated command needs an operator's approval (`tools.elevated.requireApproval`
/// or the agent's).
pub fn elevated_requires_approval(config: &Config, agent_id: &str) -> bool {
    let global = config
        .tools
        .as_ref()
        .and_then(|t| t.elevated.as_ref())
        .and_then(|e| e.require_approval);
    let agent = find_agent(config, agent_id).and_then(|(_, a)| a.tools.as_ref()?.elevated.as_ref()?.require_approval);
    global == Some(true) || agent == Some(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_split_case_insensitively() {
        assert!(matches!(
            split_field("UserName:Alice"),
            Some((Field::Username, "Alice"))
        ));
        assert!(matches!(split_field("e164:+1555"), Some((Field::E164, "+1555"))));
        assert!(split_field("+1555").is_none());
        assert!(split_field("telegram:123").is_none());
    }

    #[test]
    fn identity_strips_routing_prefixes() {
        assert_eq!(normalize_identity("telegram:123", "telegram"), "123");
        assert_eq!(normalize_identity(" +1 555 123 ", "whatsapp"), "+1555123");
        assert_eq!(normalize_identity("user:ABC", "slack"), "abc");
    }
}

//! Group (and channel-post) messages: `groupPolicy`, the `groups` map, sender allowlists, and
//! the per-group tool policy (reference §1.4).
//!
//! Order: the channel's `groupPolicy`, then the group allowlist (`groups` keys), the group's own
//! `enabled` and `groupPolicy`, then the sender allowlist. Mention gating comes after all of these
//! (see [`super::admit`]), so an implicit mention (a reply to the bot) can never stand in for a
//! sender allowlist.
//!
//! Settings resolve topic → group → `"*"` → account, first one set wins. Slack's `channels` map
//! works like `groups`. Discord's `guilds.<id>` is the group level and `guilds.<id>.channels.<id>`
//! the level below it; both are allowlists once set (with `"*"`). On those two platforms the room
//! map is the group allowlist: a listed room satisfies `allowlist` without a sender list, and
//! `allowFrom` (a DM list there) is not a fallback for senders. A `roles` list cannot be checked
//! here (roles are not reported), so such a room admits only its `users`.
//!
//! Choices where OpenClaw is loose, made to fail closed:
//! - `groupPolicy: "disabled"` on the channel or account drops every group message; a group's own
//!   `groupPolicy` cannot re-open it.
//! - Once `groups` is set, even as `{}`, its keys are the group allowlist, whatever `groupPolicy`
//!   says; `"*"` admits every group.
//! - A group's (or topic's) own `allowFrom` is enforced under `open` too: the operator named the
//!   senders of that group.
//! - The sender allowlist never includes the pairing store: approving a DM code grants no group
//!   access (CVE-2026-26328).

use std::fmt;

use super::account::{AllowList, ResolvedAccess, ResolvedGroup, SenderRef};
use crate::config::schema::channels::GroupPolicy;
use crate::config::schema::common::ToolPolicy;

/// Why a group message is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupBlock {
    /// `groupPolicy: "disabled"` (channel, account, group or topic).
    PolicyDisabled,
    /// `allowlist` with no sender list at all (`groupAllowFrom`, `allowFrom`, group `allowFrom`).
    EmptyAllowlist,
    /// The sender is not in the group sender allowlist.
    SenderNotAllowlisted,
    /// `groups` is set and neither this chat nor `"*"` is a key.
    ChatNotAllowed,
    /// The group (or topic) sets `enabled: false` (or the older `allow: false`).
    ChatDisabled,
}

impl GroupBlock {
    pub fn code(self) -> &'static str {
        match self {
            Self::PolicyDisabled => "group_policy_disabled",
            Self::EmptyAllowlist => "group_policy_empty_allowlist",
            Self::SenderNotAllowlisted => "group_policy_not_allowlisted",
            Self::ChatNotAllowed => "group_not_allowed",
            Self::ChatDisabled => "group_disabled",
        }
    }
}

impl fmt::Display for GroupBlock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::PolicyDisabled => "group messages are disabled (groupPolicy \"disabled\")",
            Self::EmptyAllowlist => {
                "groupPolicy \"allowlist\" with no allowed senders (set groupAllowFrom or allowFrom)"
            }
            Self::SenderNotAllowlisted => {
                "sender is not in the group allowlist (groupAllowFrom, allowFrom or the group's allowFrom)"
            }
            Self::ChatNotAllowed => "group not allowed (not a key of groups, and no \"*\")",
            Self::ChatDisabled => "group is disabled (enabled: false)",
        })
    }
}

/// A group message that passed the group checks, with the settings that apply to it.
#[derive(Debug, Clone, Copy)]
pub struct GroupMatch<'a> {
    /// The `groups` key that matched this chat exactly (Discord: the guild key, maybe `"*"`).
    pub group_key: Option<&'a str>,
    /// The group (Discord: the guild).
    pub group: Option<&'a ResolvedGroup>,
    /// `groups.<chat>.topics.<thread>` for a forum topic (Discord: the guild's channel entry).
    pub topic: Option<&'a ResolvedGroup>,
    /// `groups["*"]`.
    pub wildcard: Option<&'a ResolvedGroup>,
    pub policy: GroupPolicy,
    pub require_mention: bool,
    /// The list that admitted the sender (`None` under `open` with no group list).
    pub sender_list: Option<&'a AllowList>,
}

impl<'a> GroupMatch<'a> {
    /// The configs that apply, most specific first.
    fn layers(&self) -> impl Iterator<Item = &'a ResolvedGroup> {
        [self.topic, self.group, self.wildcard].into_iter().flatten()
    }

    /// `agentId` from the topic (Telegram forum topics route to an agent).
    pub fn agent_id(&self) -> Option<&'a str> {
        self.topic.and_then(|t| t.config.agent_id.as_deref())
    }

    pub fn system_prompt(&self) -> Option<&'a str> {
        self.layers().find_map(|g| g.config.system_prompt.as_deref())
    }

    pub fn skills(&self) -> Option<&'a [String]> {
        self.layers().find_map(|g| g.config.skills.as_deref())
    }

    /// The per-group tool policy for `sender`, first match wins: the topic's, then the group's
    /// `toolsBySender` then `tools`, then `"*"`'s `toolsBySender` then `tools`. It narrows the
    /// global and agent policy; deny still wins there.
    pub fn tool_policy(&self, sender: &SenderRef<'_>) -> Option<&'a ToolPolicy> {
        self.layers().find_map(|layer| {
            layer
                .tools_by_sender
                .iter()
                .find(|(key, _)| key.matches(sender))
                .map(|(_, policy)| policy)
                .or(layer.config.tools.as_ref())
        })
    }
}

fn lookup<'g>(
    groups: &'g std::collections::BTreeMap<String, ResolvedGroup>,
    id: &str,
) -> Option<(&'g str, &'g ResolvedGroup)> {
    groups.get_key_value(id).map(|(k, v)| (k.as_str(), v))
}

fn lookup_or_wildcard<'g, T>(map: &'g std::collections::BTreeMap<String, T>, id: &str) -> Option<(&'g str, &'g T)> {
    map.get_key_value(id)
        .or_else(|| map.get_key_value("*"))
        .map(|(k, v)| (k.as_str(), v))
}

/// Decides a group message from `sender` in `chat_id` (thread `thread_id` for forum topics;
/// `guild_id` for Discord guild channels).
pub fn decide<'a>(
    access: &'a ResolvedAccess,
    guild_id: Option<&str>,
    chat_id: &str,
    thread_id: Option<&str>,
    sender: &SenderRef<'_>,
) -> Result<GroupMatch<'a>, GroupBlock> {
    if access.group_policy == GroupPolicy::Disabled {
        return Err(GroupBlock::PolicyDisabled);
    }
    let chat_id = chat_id.trim();
    let (group_key, group, topic, wildcard) = if let Some(guilds) = &access.guilds {
        // Discord: the guild must be listed (or `"*"`), then the channel when the guild lists
        // channels. The channel's settings come first, then the guild's.
        let guild_id = guild_id.map(str::trim).unwrap_or_default();
        let Some((guild_key, guild)) = lookup_or_wildcard(guilds, guild_id) else {
            return Err(GroupBlock::ChatNotAllowed);
        };
        let room = match &guild.channels {
            None => None,
            Some(rooms) => match lookup_or_wildcard(rooms, chat_id) {
                Some((_, room)) => Some(room),
                None => return Err(GroupBlock::ChatNotAllowed),
            },
        };
        (Some(guild_key), Some(&guild.settings), room, None)
    } else {
        let (group_key, group, wildcard) = match &access.groups {
            None => (None, None, None),
            Some(groups) => {
                let exact = lookup(groups, chat_id);
                let wildcard = groups.get("*");
                if exact.is_none() && wildcard.is_none() {
                    return Err(GroupBlock::ChatNotAllowed);
                }
                (exact.map(|(k, _)| k), exact.map(|(_, g)| g), wildcard)
            }
        };
        let topic = match (group, thread_id.map(str::trim)) {
            (Some(group), Some(thread)) if !thread.is_empty() => group.topics.get(thread),
            _ => None,
        };
        (group_key, group, topic, wildcard)
    };
    let layers = [topic, group, wildcard];
    let first = |get: &dyn Fn(&ResolvedGroup) -> Option<bool>| layers.iter().flatten().find_map(|g| get(g));

    if first(&|g| g.config.enabled) == Some(false) || first(&|g| g.config.allow) == Some(false) {
        return Err(GroupBlock::ChatDisabled);
    }
    let policy = layers
        .iter()
        .flatten()
        .find_map(|g| g.config.group_policy)
        .unwrap_or(access.group_policy);
    let group_list = layers.iter().flatten().find_map(|g| g.allow_from.as_ref());
    let sender_list = match policy {
        GroupPolicy::Disabled => return Err(GroupBlock::PolicyDisabled),
        GroupPolicy::Open => group_list,
        GroupPolicy::Allowlist if access.room_allowlist => group_list.or(access.group_allow_from.as_ref()),
        GroupPolicy::Allowlist => {
            let list = group_list
                .or(access.group_allow_from.as_ref())
                .or(Some(&access.allow_from).filter(|l| !l.is_empty()));
            match list {
                Some(list) => Some(list),
                None => return Err(GroupBlock::EmptyAllowlist),
            }
        }
    };
    if let Some(list) = sender_list
        && !list.allows(sender, access.name_matching)
    {
        return Err(GroupBlock::SenderNotAllowlisted);
    }
    let require_mention = first(&|g| g.config.require_mention)
        .or(access.require_mention)
        .unwrap_or(true);
    Ok(GroupMatch {
        group_key,
        group,
        topic,
        wildcard,
        policy,
        require_mention,
        sender_list,
    })
}

/// The configured sender list for command authorization in this group: the group's own list,
/// else `groupAllowFrom`, else `allowFrom` (never the pairing store).
pub fn command_list<'a>(access: &'a ResolvedAccess, matched: &GroupMatch<'a>) -> &'a AllowList {
    matched
        .layers()
        .find_map(|g| g.allow_from.as_ref())
        .or(access.group_allow_from.as_ref())
        .unwrap_or(&access.allow_from)
}

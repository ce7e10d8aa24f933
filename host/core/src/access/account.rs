//! The effective access keys of one channel account, and how each channel spells sender ids.
//!
//! OpenClaw merges an account over its channel shallowly: every key the account sets replaces the
//! channel's, every key it leaves out is inherited. Lists and maps are replaced whole, never
//! concatenated, so an account can narrow its channel's `allowFrom` but never silently widen it
//! by adding to it. Everything here is resolved once per config snapshot; the per-message path
//! only compares strings.

use std::borrow::Cow;
use std::collections::BTreeMap;

use crate::config::schema::channels::{
    ChannelAccess, ChannelsConfig, DiscordGuildConfig, DmPolicy, GroupConfig, GroupPolicy, RoomConfig,
};
use crate::config::schema::common::{AllowEntry, ToolPolicy};

/// The account id used when a channel has no `accounts` (or a message names none).
pub const DEFAULT_ACCOUNT_ID: &str = "default";

/// How a channel spells the ids in its allowlists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdStyle {
    /// Numeric user ids; `telegram:`/`tg:` prefixes are dropped; anything else is a username,
    /// which never matches unless `dangerouslyAllowNameMatching` (usernames change hands,
    /// CVE-2026-28480).
    Telegram,
    /// E.164 phone numbers (`+15551234567`); spaces, dashes, dots and parentheses are ignored.
    Phone,
    /// Opaque platform ids, compared case-insensitively after the `<channel>:` prefix.
    Generic,
}

impl IdStyle {
    pub fn of(channel: &str) -> Self {
        match channel {
            "telegram" => Self::Telegram,
            "whatsapp" | "signal" | "sms" | "bluebubbles" | "imessage" => Self::Phone,
            _ => Self::Generic,
        }
    }
}

/// Drops a `prefix` (ASCII case-insensitive) from the start of `value`.
fn strip_prefix_ci<'v>(value: &'v str, prefix: &str) -> Option<&'v str> {
    let head = value.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix).then(|| &value[prefix.len()..])
}

fn strip_channel_prefix<'v>(style: IdStyle, channel: &str, value: &'v str) -> &'v str {
    let value = value.trim();
    if style == IdStyle::Telegram {
        for prefix in ["telegram:", "tg:"] {
            if let Some(rest) = strip_prefix_ci(value, prefix) {
                return rest.trim();
            }
        }
        return value;
    }
    if let Some(rest) = strip_prefix_ci(value, channel)
        && let Some(rest) = rest.strip_prefix(':')
    {
        return rest.trim();
    }
    value
}

/// A phone number as `+<digits>` when `value` is one (separators ignored), else `None`.
fn phone_number(value: &str) -> Option<Cow<'_, str>> {
    let digits = value.strip_prefix('+').unwrap_or(value);
    if digits.is_empty() {
        return None;
    }
    let separators = |c: char| matches!(c, ' ' | '-' | '.' | '(' | ')');
    if !digits.chars().all(|c| c.is_ascii_digit() || separators(c)) || !digits.chars().any(|c| c.is_ascii_digit()) {
        return None;
    }
    if value.starts_with('+') && !digits.contains(separators) {
        return Some(Cow::Borrowed(value));
    }
    let mut out = String::with_capacity(digits.len() + 1);
    out.push('+');
    out.extend(digits.chars().filter(char::is_ascii_digit));
    Some(Cow::Owned(out))
}

fn lowercase(value: &str) -> Cow<'_, str> {
    if value.chars().any(char::is_uppercase) {
        Cow::Owned(value.to_lowercase())
    } else {
        Cow::Borrowed(value)
    }
}

/// A sender id (as the channel reported it) in the form allowlist entries are compared in.
/// Borrows in the common case (a Telegram numeric id, an E.164 number, a lower-case id).
pub fn normalize_sender_id<'v>(style: IdStyle, channel: &str, raw: &'v str) -> Cow<'v, str> {
    let value = strip_channel_prefix(style, channel, raw);
    match style {
        IdStyle::Telegram => Cow::Borrowed(value),
        IdStyle::Phone => phone_number(value).unwrap_or_else(|| lowercase(value)),
        IdStyle::Generic => lowercase(value),
    }
}

/// An allowlist entry as stored and compared: prefix dropped, trimmed, channel-normalized.
/// This is also what the pairing store writes (`"*"` is kept here; the store drops it).
pub fn normalize_entry(style: IdStyle, channel: &str, raw: &str) -> String {
    normalize_sender_id(style, channel, raw).into_owned()
}

/// Is `value` a numeric Telegram id (users are positive, chats negative)?
fn is_telegram_id(value: &str) -> bool {
    let digits = value.strip_prefix('-').unwrap_or(value);
    !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
}

/// Case-insensitive comparison without allocating.
pub(crate) fn eq_ignore_case(a: &str, b: &str) -> bool {
    if a.is_ascii() && b.is_ascii() {
        return a.eq_ignore_ascii_case(b);
    }
    a.chars()
        .flat_map(char::to_lowercase)
        .eq(b.chars().flat_map(char::to_lowercase))
}

/// Who sent a message, as the access checks compare it.
#[derive(Debug, Clone)]
pub struct SenderRef<'a> {
    /// Channel-normalized id (see [`normalize_sender_id`]).
    pub id: Cow<'a, str>,
    /// Display name (mutable, spoofable).
    pub name: Option<&'a str>,
    /// Username / handle without any leading `@` (mutable too).
    pub username: Option<&'a str>,
    /// Phone number in E.164 when the channel reports one.
    pub e164: Option<Cow<'a, str>>,
}

impl<'a> SenderRef<'a> {
    pub fn new(style: IdStyle, channel: &str, id: &'a str, name: Option<&'a str>, username: Option<&'a str>) -> Self {
        let normalized = normalize_sender_id(style, channel, id);
        // A normalized phone id is already `+<digits>`, so the number is the id itself.
        let is_number = |id: &str| {
            id.strip_prefix('+')
                .is_some_and(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()))
        };
        let e164 = (style == IdStyle::Phone && is_number(&normalized)).then(|| normalized.clone());
        Self {
            id: normalized,
            name: name.map(str::trim).filter(|n| !n.is_empty()),
            username: username
                .map(|u| u.trim().trim_start_matches('@'))
                .filter(|u| !u.is_empty()),
            e164,
        }
    }
}

/// A normalized allowlist: `"*"`, ids, and name entries (which match only with
/// `dangerouslyAllowNameMatching`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AllowList {
    wildcard: bool,
    /// Sorted, so a large pairing store is searched, not scanned.
    ids: Vec<String>,
    names: Vec<String>,
}

impl AllowList {
    /// Builds a list from raw entries. `ids_only` drops every entry that is not an id (Telegram's
    /// `groupAllowFrom` takes numeric ids only).
    pub fn from_entries<'e>(
        style: IdStyle,
        channel: &str,
        entries: impl IntoIterator<Item = &'e str>,
        ids_only: bool,
    ) -> Self {
        let mut list = Self::default();
        for raw in entries {
            list.push(style, channel, raw, ids_only);
        }
        list
    }

    fn push(&mut self, style: IdStyle, channel: &str, raw: &str, ids_only: bool) {
        let value = strip_channel_prefix(style, channel, raw);
        if value.is_empty() {
            return;
        }
        if value == "*" {
            self.wildcard = true;
            return;
        }
        // Telegram ids are numeric, so anything else is a username. Elsewhere an `@name` entry
        // may itself be an id (Matrix `@user:server`): it stays an id and may also match as a name.
        let (is_id, name) = match style {
            IdStyle::Telegram if is_telegram_id(value) => (true, None),
            IdStyle::Telegram => (false, Some(value.trim_start_matches('@'))),
            _ => (true, value.strip_prefix('@')),
        };
        if let Some(name) = name.filter(|_| !ids_only) {
            let name = name.to_lowercase();
            if !name.is_empty() && !self.names.contains(&name) {
                self.names.push(name);
            }
        }
        if is_id {
            let id = normalize_entry(style, channel, value);
            if let Err(at) = self.ids.binary_search(&id) {
                self.ids.insert(at, id);
            }
        }
    }

    fn from_allow_entries(style: IdStyle, channel: &str, entries: &[AllowEntry], ids_only: bool) -> Self {
        let normalized: Vec<String> = entries.iter().map(AllowEntry::normalized).collect();
        Self::from_entries(style, channel, normalized.iter().map(String::as_str), ids_only)
    }

    /// Nothing in it: not even a name entry.
    pub fn is_empty(&self) -> bool {
        !self.wildcard && self.ids.is_empty() && self.names.is_empty()
    }

    pub fn has_wildcard(&self) -> bool {
        self.wildcard
    }

    /// The id entries, sorted.
    pub fn ids(&self) -> &[String] {
        &self.ids
    }

    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// Does the list admit this sender? Name entries count only with `name_matching`.
    pub fn allows(&self, sender: &SenderRef<'_>, name_matching: bool) -> bool {
        if self.wildcard
            || self
                .ids
                .binary_search_by(|id| id.as_str().cmp(sender.id.as_ref()))
                .is_ok()
        {
            return true;
        }
        name_matching
            && self.names.iter().any(|entry| {
                sender.username.is_some_and(|u| eq_ignore_case(entry, u))
                    || sender
                        .name
                        .is_some_and(|n| eq_ignore_case(entry, n.trim_start_matches('@')))
            })
    }
}

/// Who a `toolsBySender` key names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SenderKey {
    Id(String),
    E164(String),
    Username(String),
    Name(String),
    Any,
}

impl SenderKey {
    pub fn parse(style: IdStyle, channel: &str, raw: &str) -> Option<Self> {
        let raw = raw.trim();
        if raw.is_empty() {
            return None;
        }
        if raw == "*" {
            return Some(Self::Any);
        }
        let (kind, value) = match raw.split_once(':') {
            Some((kind, value))
                if ["id", "e164", "username", "name"]
                    .iter()
                    .any(|k| k.eq_ignore_ascii_case(kind)) =>
            {
                (kind.to_ascii_lowercase(), value.trim())
            }
            _ => ("id".to_string(), raw),
        };
        if value.is_empty() {
            return None;
        }
        Some(match kind.as_str() {
            "e164" => Self::E164(phone_number(value).map_or_else(|| value.to_string(), Cow::into_owned)),
            "username" => Self::Username(value.trim_start_matches('@').to_lowercase()),
            "name" => Self::Name(value.to_lowercase()),
            _ => Self::Id(normalize_entry(style, channel, value)),
        })
    }

    /// Rank when several keys name the same sender: stable ids before mutable names.
    fn rank(&self) -> u8 {
        match self {
            Self::Id(_) => 0,
            Self::E164(_) => 1,
            Self::Username(_) => 2,
            Self::Name(_) => 3,
            Self::Any => 4,
        }
    }

    pub fn matches(&self, sender: &SenderRef<'_>) -> bool {
        match self {
            Self::Id(id) => id == sender.id.as_ref(),
            Self::E164(number) => sender.e164.as_deref() == Some(number.as_str()),
            Self::Username(user) => sender.username.is_some_and(|u| eq_ignore_case(user, u)),
            Self::Name(name) => sender.name.is_some_and(|n| eq_ignore_case(name, n)),
            Self::Any => true,
        }
    }
}

/// One `groups.<id>` (or `topics.<id>`) entry with its lists normalized.
#[derive(Debug, Clone, Default)]
pub struct ResolvedGroup {
    pub config: GroupConfig,
    /// Per-group `allowFrom` (or the older `users`) when non-empty.
    pub allow_from: Option<AllowList>,
    /// `toolsBySender`, most specific key first.
    pub tools_by_sender: Vec<(SenderKey, ToolPolicy)>,
    pub topics: BTreeMap<String, ResolvedGroup>,
}

impl ResolvedGroup {
    fn new(style: IdStyle, channel: &str, config: &GroupConfig) -> Self {
        let entries = config
            .allow_from
            .as_deref()
            .filter(|l| !l.is_empty())
            .or(config.users.as_deref().filter(|l| !l.is_empty()));
        let allow_from = entries
            .map(|list| AllowList::from_allow_entries(style, channel, list, style == IdStyle::Telegram))
            .filter(|list| !list.is_empty());
        let mut tools_by_sender: Vec<(SenderKey, ToolPolicy)> = config
            .tools_by_sender
            .iter()
            .flatten()
            .filter_map(|(key, policy)| SenderKey::parse(style, channel, key).map(|k| (k, policy.clone())))
            .collect();
        tools_by_sender.sort_by_key(|(key, _)| key.rank());
        let topics = config
            .topics
            .iter()
            .flatten()
            .map(|(id, topic)| (id.trim().to_string(), Self::new(style, channel, topic)))
            .collect();
        let mut config = config.clone();
        config.topics = None;
        Self {
            config,
            allow_from,
            tools_by_sender,
            topics,
        }
    }
}

/// `channels.discord.guilds.<id>`: the guild's settings and, when set, its channel allowlist.
#[derive(Debug, Clone, Default)]
pub struct ResolvedGuild {
    pub settings: ResolvedGroup,
    /// `channels`: when set, its keys (or `"*"`) are the allowed channels of the guild.
    pub channels: Option<BTreeMap<String, ResolvedGroup>>,
}

/// The access layer is not told a sender's roles, so a `roles` list can never be checked: the
/// room then admits only the ids in `users` (none if it has no `users`). Fail closed.
fn with_roles(mut group: ResolvedGroup, roles: Option<&Vec<AllowEntry>>) -> ResolvedGroup {
    if roles.is_some_and(|r| !r.is_empty()) && group.allow_from.is_none() {
        group.allow_from = Some(AllowList::default());
    }
    group
}

fn room_group(style: IdStyle, channel: &str, room: &RoomConfig) -> ResolvedGroup {
    let config = GroupConfig {
        require_mention: room.require_mention,
        enabled: room.enabled,
        allow: room.allow,
        users: room.users.clone(),
        tools: room.tools.clone(),
        tools_by_sender: room.tools_by_sender.clone(),
        skills: room.skills.clone(),
        system_prompt: room.system_prompt.clone(),
        ..GroupConfig::default()
    };
    with_roles(ResolvedGroup::new(style, channel, &config), room.roles.as_ref())
}

fn rooms(style: IdStyle, channel: &str, rooms: &BTreeMap<String, RoomConfig>) -> BTreeMap<String, ResolvedGroup> {
    rooms
        .iter()
        .map(|(id, room)| (id.trim().to_string(), room_group(style, channel, room)))
        .collect()
}

fn guild(style: IdStyle, channel: &str, guild: &DiscordGuildConfig) -> ResolvedGuild {
    let config = GroupConfig {
        require_mention: guild.require_mention,
        users: guild.users.clone(),
        tools: guild.tools.clone(),
        tools_by_sender: guild.tools_by_sender.clone(),
        ..GroupConfig::default()
    };
    ResolvedGuild {
        settings: with_roles(ResolvedGroup::new(style, channel, &config), guild.roles.as_ref()),
        channels: guild.channels.as_ref().map(|c| rooms(style, channel, c)),
    }
}

type GuildMap = BTreeMap<String, ResolvedGuild>;
type RoomMap = BTreeMap<String, ResolvedGroup>;

/// The platform room maps outside `groups`: Discord `guilds` (account first, else channel) and
/// Slack `channels`.
fn platform_rooms(channels: &ChannelsConfig, channel: &str, account_id: &str) -> (Option<GuildMap>, Option<RoomMap>) {
    let style = IdStyle::of(channel);
    fn account_of<'c, T>(accounts: &'c Option<BTreeMap<String, T>>, id: &str) -> Option<&'c T> {
        accounts
            .iter()
            .flatten()
            .find(|(key, _)| key.trim().eq_ignore_ascii_case(id))
            .map(|(_, v)| v)
    }
    match channel {
        "discord" => {
            let Some(discord) = &channels.discord else {
                return (None, None);
            };
            let guilds = account_of(&discord.accounts, account_id)
                .and_then(|a| a.guilds.as_ref())
                .or(discord.guilds.as_ref())
                .map(|g| {
                    g.iter()
                        .map(|(id, g)| (id.trim().to_string(), guild(style, channel, g)))
                        .collect()
                });
            (guilds, None)
        }
        "slack" => {
            let Some(slack) = &channels.slack else {
                return (None, None);
            };
            let map = account_of(&slack.accounts, account_id)
                .and_then(|a| a.channels.as_ref())
                .or(slack.channels.as_ref())
                .map(|c| rooms(style, channel, c));
            (None, map)
        }
        _ => (None, None),
    }
}

/// The effective access keys of one channel account.
#[derive(Debug, Clone)]
pub struct ResolvedAccess {
    pub channel: String,
    pub account_id: String,
    pub id_style: IdStyle,
    /// False when `channels.<channel>` is absent: access then fails closed (see [`resolve_account`]).
    pub configured: bool,
    /// `enabled` of the channel and of the account (both must not be `false`).
    pub enabled: bool,
    /// The older `dm.enabled`; `false` ignores every DM like `dmPolicy: "disabled"`.
    pub dm_enabled: bool,
    pub dm_policy: DmPolicy,
    /// Config `allowFrom` (plus the older `dm.allowFrom`).
    pub allow_from: AllowList,
    pub group_policy: GroupPolicy,
    /// Explicit, non-empty `groupAllowFrom` (Telegram: numeric ids only).
    pub group_allow_from: Option<AllowList>,
    /// `groups` (Slack: `channels`), when set; its keys are the group allowlist.
    pub groups: Option<BTreeMap<String, ResolvedGroup>>,
    /// Discord `guilds`, when set: the guild allowlist (each with its channel allowlist).
    pub guilds: Option<BTreeMap<String, ResolvedGuild>>,
    /// The group allowlist is a room map (Discord `guilds`, Slack `channels`): a listed room
    /// satisfies `groupPolicy: "allowlist"` by itself, and senders are narrowed only by the
    /// room's `users` or `groupAllowFrom`.
    pub room_allowlist: bool,
    /// Channel-level default for groups that do not set `requireMention`.
    pub require_mention: Option<bool>,
    /// `dangerouslyAllowNameMatching`.
    pub name_matching: bool,
}

impl ResolvedAccess {
    /// Access for a channel with no `channels.<channel>` block: OpenClaw fails closed to
    /// `groupPolicy: "allowlist"` (with nothing listed, so no group gets in) and keeps the
    /// default `dmPolicy: "pairing"`, under which nobody is admitted without the operator
    /// approving a code.
    pub fn unconfigured(channel: &str) -> Self {
        Self {
            channel: channel.to_string(),
            account_id: DEFAULT_ACCOUNT_ID.to_string(),
            id_style: IdStyle::of(channel),
            configured: false,
            enabled: true,
            dm_enabled: true,
            dm_policy: DmPolicy::Pairing,
            allow_from: AllowList::default(),
            group_policy: GroupPolicy::Allowlist,
            group_allow_from: None,
            groups: None,
            guilds: None,
            room_allowlist: false,
            require_mention: None,
            name_matching: false,
        }
    }

    /// The "pinned owner" (reference §1.1): with `session.dmScope: "main"`, when `allowFrom` has
    /// exactly one entry and it is not `"*"`, DMs from anyone else do not move the main
    /// session's last route. The caller checks dmScope.
    pub fn pinned_owner(&self) -> Option<&str> {
        match (
            self.allow_from.has_wildcard(),
            self.allow_from.ids(),
            self.allow_from.names(),
        ) {
            (false, [only], []) => Some(only.as_str()),
            _ => None,
        }
    }

    /// Store entries normalized for this channel (`"*"` is never taken from the store).
    pub fn store_list<'e>(&self, entries: impl IntoIterator<Item = &'e str>) -> AllowList {
        AllowList::from_entries(
            self.id_style,
            &self.channel,
            entries.into_iter().filter(|e| e.trim() != "*"),
            false,
        )
    }
}

/// The base access keys of `channel`, when configured.
pub fn channel_access<'c>(channels: &'c ChannelsConfig, channel: &str) -> Option<&'c ChannelAccess> {
    channels
        .iter()
        .into_iter()
        .find(|view| view.id == channel)
        .map(|view| view.access)
}

fn account_override<'c>(channels: &'c ChannelsConfig, channel: &str, account_id: &str) -> Option<&'c ChannelAccess> {
    channels
        .accounts(channel)
        .into_iter()
        .find(|(id, _)| id.trim().eq_ignore_ascii_case(account_id))
        .map(|(_, access)| access)
}

/// The account a message without an account id belongs to: `defaultAccount` when set, else
/// `default` (lower-cased).
pub fn default_account_id(base: Option<&ChannelAccess>) -> String {
    base.and_then(|b| b.default_account.as_deref())
        .map(str::trim)
        .filter(|id| !id.is_empty())
        .map_or_else(|| DEFAULT_ACCOUNT_ID.to_string(), str::to_lowercase)
}

/// The account ids a channel runs: `default` plus every key of `accounts` (lower-cased).
pub fn account_ids(channels: &ChannelsConfig, channel: &str) -> Vec<String> {
    let mut ids = vec![DEFAULT_ACCOUNT_ID.to_string()];
    for (id, _) in channels.accounts(channel) {
        let id = id.trim().to_lowercase();
        if !id.is_empty() && !ids.contains(&id) {
            ids.push(id);
        }
    }
    ids
}

/// The effective access keys of `account_id` on `channel`.
///
/// - An empty `account_id` means the channel's `defaultAccount`, else `default`.
/// - The account's keys override the channel's; absent ones are inherited.
/// - `groupPolicy` falls back to `channels.defaults.groupPolicy`, then `allowlist`.
/// - An absent `channels.<channel>` block yields [`ResolvedAccess::unconfigured`] for the default
///   account (fail closed).
/// - `None`: a non-default account that is not configured under `accounts`. No keys exist for
///   it, so the caller must refuse its messages rather than guess.
pub fn resolve_account(channels: &ChannelsConfig, channel: &str, account_id: &str) -> Option<ResolvedAccess> {
    let base = channel_access(channels, channel);
    let account_id = match account_id.trim() {
        "" => default_account_id(base),
        id => id.to_lowercase(),
    };
    let Some(base) = base else {
        return (account_id == DEFAULT_ACCOUNT_ID).then(|| ResolvedAccess::unconfigured(channel));
    };
    let account = account_override(channels, channel, &account_id);
    if account.is_none() && account_id != DEFAULT_ACCOUNT_ID {
        return None;
    }
    let style = IdStyle::of(channel);
    // One key: the account's value when it sets it, else the channel's.
    let pick = |get: &dyn Fn(&ChannelAccess) -> Option<bool>| account.and_then(get).or_else(|| get(base));

    let dm_policy = account
        .and_then(ChannelAccess::effective_dm_policy)
        .or_else(|| base.effective_dm_policy())
        .unwrap_or(DmPolicy::Pairing);
    let sets_allow_from =
        |a: &ChannelAccess| a.allow_from.is_some() || a.dm.as_ref().is_some_and(|d| d.allow_from.is_some());
    let allow_source = match account {
        Some(a) if sets_allow_from(a) => a,
        _ => base,
    };
    let allow_entries = allow_source.effective_allow_from();
    let allow_from = AllowList::from_entries(style, channel, allow_entries.iter().map(String::as_str), false);

    let group_policy = account
        .and_then(|a| a.group_policy)
        .or(base.group_policy)
        .or_else(|| channels.defaults.as_ref().and_then(|d| d.group_policy))
        .unwrap_or(GroupPolicy::Allowlist);
    let group_allow_from = account
        .and_then(|a| a.group_allow_from.as_deref())
        .or(base.group_allow_from.as_deref())
        .filter(|list| !list.is_empty())
        .map(|list| AllowList::from_allow_entries(style, channel, list, style == IdStyle::Telegram))
        .filter(|list| !list.is_empty());
    let mut groups: Option<BTreeMap<String, ResolvedGroup>> = account
        .and_then(|a| a.groups.as_ref())
        .or(base.groups.as_ref())
        .map(|groups| {
            groups
                .iter()
                .map(|(id, group)| (id.trim().to_string(), ResolvedGroup::new(style, channel, group)))
                .collect()
        });
    let (guilds, slack_channels) = platform_rooms(channels, channel, &account_id);
    let room_allowlist = guilds.is_some() || slack_channels.is_some();
    if let Some(slack_channels) = slack_channels {
        let merged = groups.get_or_insert_with(BTreeMap::new);
        for (id, room) in slack_channels {
            merged.entry(id).or_insert(room);
        }
    }

    Some(ResolvedAccess {
        channel: channel.to_string(),
        account_id,
        id_style: style,
        configured: true,
        enabled: base.enabled != Some(false) && account.and_then(|a| a.enabled) != Some(false),
        dm_enabled: pick(&|a| a.dm.as_ref().and_then(|d| d.enabled)) != Some(false),
        dm_policy,
        allow_from,
        group_policy,
        group_allow_from,
        groups,
        guilds,
        room_allowlist,
        require_mention: pick(&|a| a.require_mention),
        name_matching: pick(&|a| a.dangerously_allow_name_matching) == Some(true),
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    fn sender<'a>(style: IdStyle, channel: &str, id: &'a str) -> SenderRef<'a> {
        SenderRef::new(style, channel, id, None, None)
    }

    #[test]
    fn telegram_prefixes_are_dropped_and_usernames_never_match_ids() {
        let list = AllowList::from_entries(
            IdStyle::Telegram,
            "telegram",
            ["telegram:123", "TG: 456", "@alice"],
            false,
        );
        assert_eq!(list.ids(), ["123", "456"]);
        assert_eq!(list.names(), ["alice"]);
        assert!(list.allows(&sender(IdStyle::Telegram, "telegram", "456"), false));
        let alice = SenderRef::new(IdStyle::Telegram, "telegram", "999", None, Some("@Alice"));
        assert!(!list.allows(&alice, false));
        assert!(list.allows(&alice, true));
    }

    #[test]
    fn telegram_group_allow_from_keeps_numeric_ids_only() {
        let list = AllowList::from_entries(IdStyle::Telegram, "telegram", ["@alice", "123"], true);
        assert_eq!(list.ids(), ["123"]);
        assert!(list.names().is_empty());
    }

    #[test]
    fn phone_numbers_compare_without_separators() {
        let list = AllowList::from_entries(IdStyle::Phone, "whatsapp", ["whatsapp:+1 (555) 123-4567"], false);
        assert_eq!(list.ids(), ["+15551234567"]);
        assert!(list.allows(&sender(IdStyle::Phone, "whatsapp", "15551234567"), false));
    }

    #[test]
    fn generic_ids_are_case_insensitive() {
        let list = AllowList::from_entries(IdStyle::Generic, "slack", ["slack:U123ABC"], false);
        assert!(list.allows(&sender(IdStyle::Generic, "slack", "u123abc"), false));
    }

    #[test]
    fn one_listed_sender_is_the_pinned_owner() {
        let channels: ChannelsConfig = serde_json::from_value(serde_json::json!({
            "telegram": { "allowFrom": ["tg:42"] },
            "whatsapp": { "allowFrom": ["+1555", "*"] },
            "signal": { "allowFrom": ["+1555", "+1666"] }
        }))
        .unwrap();
        let owner = |ch: &str| {
            resolve_account(&channels, ch, "")
                .unwrap()
                .pinned_owner()
                .map(str::to_string)
        };
        assert_eq!(owner("telegram").as_deref(), Some("42"));
        assert_eq!(owner("whatsapp"), None);
        assert_eq!(owner("signal"), None);
    }

    #[test]
    fn sender_keys_rank_ids_before_names() {
        let mut keys = ["name:Bob", "*", "username:@bob", "e164:+1 555", "42"]
            .iter()
            .filter_map(|k| SenderKey::parse(IdStyle::Generic, "x", k))
            .collect::<Vec<_>>();
        keys.sort_by_key(SenderKey::rank);
        assert_eq!(
            keys,
            vec![
                SenderKey::Id("42".into()),
                SenderKey::E164("+1555".into()),
                SenderKey::Username("bob".into()),
                SenderKey::Name("bob".into()),
                SenderKey::Any
            ]
        );
    }
}

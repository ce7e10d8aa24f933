//! Inbound access control: who may reach an agent, decided before anything else runs
//! (reference §1.1–1.5).
//!
//! [`admit`] is the single entry point the ingress calls for every inbound message. It is pure:
//! the config-derived policy and the pairing-store entries come in an [`AccessSnapshot`], the
//! message as [`InboundFacts`], and the answer is a [`Decision`] with a stable `code()`.
//!
//! Order: the channel account (unknown or disabled: drop), then for a DM the DM policy, for a
//! group the group policy, the group allowlist and the sender allowlist, and only then mention
//! gating. Command authorization is computed for every admitted message; an authorized control
//! command is the only thing that passes a mention gate without a mention (formal claim A4).
//!
//! Mention gating when nothing can detect a mention (the channel reports no native mentions and
//! the agent has no patterns): OpenClaw does not gate at all then, so every group message is
//! answered although the operator asked for mentions. Here `requireMention` holds anyway: the
//! message goes to history with [`HistoryReason::MentionUndetectable`] (so the operator can be
//! told to add `mentionPatterns` or set `requireMention: false`); only a reply to the bot or an
//! authorized control command gets through.

pub mod account;
pub mod commands;
pub mod dm;
pub mod group;
pub mod mention;
pub mod pairing;

use std::collections::HashMap;
use std::fmt;
use std::sync::LazyLock;

pub use account::{AllowList, DEFAULT_ACCOUNT_ID, IdStyle, ResolvedAccess, SenderRef, resolve_account};
pub use commands::{CommandGateMode, CommandsPolicy, is_control_command};
pub use dm::{DmAllowed, DmBlock, DmDecision};
pub use group::{GroupBlock, GroupMatch};
pub use mention::{MentionPatterns, MentionWarning};

use crate::config::schema::Config;
use crate::config::schema::common::ToolPolicy;
use commands::Authorizer;

/// What kind of conversation a message belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChatType {
    Direct,
    Group,
    /// A broadcast channel or a channel-like room; gated like a group.
    Channel,
}

/// The facts about one inbound message that access control needs, as the channel reported them.
#[derive(Debug, Clone, Copy)]
pub struct InboundFacts<'m> {
    pub channel: &'m str,
    /// `""` means the channel's `defaultAccount`, else `default`.
    pub account_id: &'m str,
    pub chat_type: ChatType,
    /// The group/chat id (for a DM, the peer's chat id; unused).
    pub chat_id: &'m str,
    /// Discord: the guild of the channel (`None` for group DMs and on other platforms).
    pub guild_id: Option<&'m str>,
    pub sender_id: &'m str,
    pub sender_name: Option<&'m str>,
    /// Username / handle (Telegram `@name`), matched only where names are allowed.
    pub sender_username: Option<&'m str>,
    /// Forum topic / thread id.
    pub thread_id: Option<&'m str>,
    /// The message text (the audio transcript when the text is empty).
    pub text: &'m str,
    /// The channel can report native mentions of the bot (Telegram entities, WhatsApp mentions).
    pub native_mention_supported: bool,
    /// The channel reported a native mention of the bot.
    pub native_mention: bool,
    /// The message replies to one of the bot's messages (an implicit mention).
    pub reply_to_bot: bool,
    /// The agent routing picked (its mention patterns apply); `None`: the default agent. A
    /// Telegram topic's `agentId` overrides it (see [`GroupMatch::agent_id`]).
    pub agent_id: Option<&'m str>,
}

/// Why a message is processed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdmitReason {
    Dm(DmAllowed),
    /// `group_policy_allowed`.
    Group,
}

impl AdmitReason {
    pub fn code(self) -> &'static str {
        match self {
            Self::Dm(d) => d.code(),
            Self::Group => "group_policy_allowed",
        }
    }
}

/// A message the agent will see.
#[derive(Debug, Clone, Copy)]
pub struct Admitted<'s> {
    pub reason: AdmitReason,
    /// Mentioned natively, by a pattern, or by replying to the bot (groups). For DMs: a native
    /// mention or a reply (patterns are not evaluated).
    pub mentioned: bool,
    /// The message passed a mention gate without a mention, as an authorized control command.
    pub mention_bypassed: bool,
    /// The sender may run commands and directives; otherwise they are ordinary text.
    pub command_authorized: bool,
    /// The text (with mentions stripped, in groups) starts with a control command.
    pub control_command: bool,
    /// Group messages: the group settings that matched.
    pub group: Option<GroupMatch<'s>>,
    /// The per-group tool policy for this sender, applied on top of the global and agent policy.
    pub tool_policy: Option<&'s ToolPolicy>,
}

/// Why a group message is kept as history only (not answered).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HistoryReason {
    /// `requireMention` and no mention.
    MentionRequired,
    /// `requireMention`, but nothing on this channel can detect a mention.
    MentionUndetectable,
}

impl HistoryReason {
    pub fn code(self) -> &'static str {
        match self {
            Self::MentionRequired => "mention_required",
            Self::MentionUndetectable => "mention_undetectable",
        }
    }
}

impl fmt::Display for HistoryReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::MentionRequired => "kept as history: the group requires a mention and the bot was not mentioned",
            Self::MentionUndetectable => {
                "kept as history: the group requires a mention but this channel cannot detect one (add groupChat.mentionPatterns or set requireMention: false)"
            }
        })
    }
}

/// Why a message is dropped without a reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DropReason {
    /// `enabled: false` on the channel or account.
    ChannelDisabled,
    /// A non-default account that is not under `channels.<channel>.accounts`.
    AccountNotConfigured,
    /// The channel reported no sender id.
    MissingSender,
    Dm(DmBlock),
    Group(GroupBlock),
}

impl DropReason {
    pub fn code(self) -> &'static str {
        match self {
            Self::ChannelDisabled => "channel_disabled",
            Self::AccountNotConfigured => "account_not_configured",
            Self::MissingSender => "sender_missing",
            Self::Dm(b) => b.code(),
            Self::Group(b) => b.code(),
        }
    }
}

impl fmt::Display for DropReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("dropped: ")?;
        match self {
            Self::ChannelDisabled => f.write_str("channel or account is disabled (enabled: false)"),
            Self::AccountNotConfigured => f.write_str("account is not configured under channels.<channel>.accounts"),
            Self::MissingSender => f.write_str("the channel reported no sender id"),
            Self::Dm(b) => b.fmt(f),
            Self::Group(b) => b.fmt(f),
        }
    }
}

/// What the ingress does with a message.
#[derive(Debug, Clone, Copy)]
pub enum Decision<'s> {
    /// Hand it to the agent.
    Admit(Admitted<'s>),
    /// A DM from an unknown sender under `pairing`: upsert a pairing request
    /// ([`pairing::PairingFile::upsert`]) and send [`pairing::pairing_reply`] only when it
    /// reports `created`. The message itself is dropped.
    Challenge,
    /// A group message that failed mention gating: keep it as pending group history only.
    History(HistoryReason),
    /// Ignore it.
    Drop(DropReason),
}

impl Decision<'_> {
    /// A stable code for logs and tests (`dm_policy_allowlisted`, `group_policy_not_allowlisted`,
    /// `mention_required`, ...).
    pub fn code(&self) -> &'static str {
        match self {
            Self::Admit(a) => a.reason.code(),
            Self::Challenge => DmDecision::PairingRequired.code(),
            Self::History(h) => h.code(),
            Self::Drop(d) => d.code(),
        }
    }

    pub fn admitted(&self) -> Option<&Admitted<'_>> {
        match self {
            Self::Admit(a) => Some(a),
            _ => None,
        }
    }
}

impl fmt::Display for Decision<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Admit(a) => write!(f, "admitted: {}", a.reason.code()),
            Self::Challenge => f.write_str(
                "pairing required: unknown sender (answer with a pairing code if a new request was created)",
            ),
            Self::History(h) => h.fmt(f),
            Self::Drop(d) => d.fmt(f),
        }
    }
}

/// Something worth telling the operator about the access config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessWarning {
    pub message: String,
}

impl fmt::Display for AccessWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

struct AccountEntry {
    access: ResolvedAccess,
    /// Pairing-store entries of this account.
    paired: AllowList,
}

struct ChannelEntry {
    accounts: HashMap<String, AccountEntry>,
    /// `defaultAccount` (lower-cased), else `default`: the account of a message that names none.
    default_account: String,
    /// `commands.allowFrom` for this channel, when set.
    command_allow_from: Option<AllowList>,
    mode_when_access_groups_off: CommandGateMode,
}

impl ChannelEntry {
    fn account(&self, key: &str) -> Option<&AccountEntry> {
        self.accounts.get(if key.is_empty() {
            self.default_account.as_str()
        } else {
            key
        })
    }
}

/// Everything [`admit`] reads: the config resolved per channel account, command policy, compiled
/// mention patterns per agent, and the pairing-store entries. Built once per config; the store
/// entries are replaced with [`AccessSnapshot::set_paired`] when the store changes.
pub struct AccessSnapshot {
    channels: HashMap<String, ChannelEntry>,
    commands: CommandsPolicy,
    mentions: HashMap<String, MentionPatterns>,
    /// Patterns for an agent not in `agents.list` (messages.groupChat, else none).
    fallback_mentions: MentionPatterns,
    default_agent: String,
}

impl fmt::Debug for AccessSnapshot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccessSnapshot")
            .field("channels", &self.channels.keys().collect::<Vec<_>>())
            .field("agents", &self.mentions.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl AccessSnapshot {
    /// Resolves `config` for every configured channel and account; warnings name dropped mention
    /// patterns.
    pub fn new(config: &Config) -> (Self, Vec<AccessWarning>) {
        let mut warnings = Vec::new();
        let commands = CommandsPolicy::from_config(config);
        let mut channels = HashMap::new();
        if let Some(channels_config) = &config.channels {
            for view in channels_config.iter() {
                let mut accounts = HashMap::new();
                for account_id in account::account_ids(channels_config, view.id) {
                    if let Some(access) = resolve_account(channels_config, view.id, &account_id) {
                        accounts.insert(
                            account_id,
                            AccountEntry {
                                access,
                                paired: AllowList::default(),
                            },
                        );
                    }
                }
                channels.insert(
                    view.id.to_string(),
                    ChannelEntry {
                        accounts,
                        default_account: account::default_account_id(Some(view.access)),
                        command_allow_from: commands.allow_from_for(view.id),
                        mode_when_access_groups_off: CommandGateMode::default(),
                    },
                );
            }
        }
        let mut mentions = HashMap::new();
        for agent in config.agents().list() {
            let id = agent.id.trim().to_lowercase();
            let (patterns, dropped) = MentionPatterns::compile(config, &id);
            for warning in dropped {
                let warning = AccessWarning {
                    message: warning.to_string(),
                };
                // Shared `messages.groupChat` patterns would otherwise be reported once per agent.
                if !warnings.contains(&warning) {
                    warnings.push(warning);
                }
            }
            mentions.insert(id, patterns);
        }
        let (fallback_mentions, dropped) = MentionPatterns::compile(config, "");
        if config.agents().list().is_empty() {
            warnings.extend(dropped.into_iter().map(|w| AccessWarning { message: w.to_string() }));
        }
        let snapshot = Self {
            channels,
            commands,
            mentions,
            fallback_mentions,
            default_agent: config.agents().default_agent_id(),
        };
        (snapshot, warnings)
    }

    /// Replaces the pairing-store entries of one channel account (normalized for the channel;
    /// `"*"` is ignored). Returns false when the account is not configured (the entries could
    /// never admit anyone there). A channel without a config block still has its default
    /// account, under the fail-closed defaults.
    pub fn set_paired<'e>(
        &mut self,
        channel: &str,
        account_id: &str,
        entries: impl IntoIterator<Item = &'e str>,
    ) -> bool {
        let account_id = account_key(account_id);
        if !self.channels.contains_key(channel) && matches!(account_id.as_ref(), "" | DEFAULT_ACCOUNT_ID) {
            let accounts = HashMap::from([(
                DEFAULT_ACCOUNT_ID.to_string(),
                AccountEntry {
                    access: ResolvedAccess::unconfigured(channel),
                    paired: AllowList::default(),
                },
            )]);
            let entry = ChannelEntry {
                accounts,
                default_account: DEFAULT_ACCOUNT_ID.to_string(),
                command_allow_from: self.commands.allow_from_for(channel),
                mode_when_access_groups_off: CommandGateMode::default(),
            };
            self.channels.insert(channel.to_string(), entry);
        }
        let Some(channel) = self.channels.get_mut(channel) else {
            return false;
        };
        let key = if account_id.is_empty() {
            channel.default_account.clone()
        } else {
            account_id.into_owned()
        };
        let Some(entry) = channel.accounts.get_mut(&key) else {
            return false;
        };
        entry.paired = entry.access.store_list(entries);
        true
    }

    /// Sets what a channel does about commands when `commands.useAccessGroups` is false.
    pub fn set_mode_when_access_groups_off(&mut self, channel: &str, mode: CommandGateMode) {
        if let Some(entry) = self.channels.get_mut(channel) {
            entry.mode_when_access_groups_off = mode;
        }
    }

    /// The resolved access of a configured channel account.
    pub fn access(&self, channel: &str, account_id: &str) -> Option<&ResolvedAccess> {
        self.channels
            .get(channel)
            .and_then(|c| c.account(&account_key(account_id)))
            .map(|a| &a.access)
    }

    /// The mention patterns of an agent (the default agent for `None`).
    pub fn mention_patterns(&self, agent_id: Option<&str>) -> &MentionPatterns {
        let id = agent_id
            .map(str::trim)
            .filter(|id| !id.is_empty())
            .unwrap_or(&self.default_agent);
        self.mentions
            .get(id)
            .or_else(|| {
                id.chars()
                    .any(char::is_uppercase)
                    .then(|| self.mentions.get(&id.to_lowercase()))
                    .flatten()
            })
            .unwrap_or(&self.fallback_mentions)
    }

    pub fn commands(&self) -> &CommandsPolicy {
        &self.commands
    }
}

/// An account id as the snapshot keys it (lower-cased); empty stays empty, meaning the channel's
/// default account.
fn account_key(account_id: &str) -> std::borrow::Cow<'_, str> {
    let id = account_id.trim();
    if id.chars().any(char::is_uppercase) {
        std::borrow::Cow::Owned(id.to_lowercase())
    } else {
        std::borrow::Cow::Borrowed(id)
    }
}

static NO_PAIRED: LazyLock<AllowList> = LazyLock::new(AllowList::default);

/// Fail-closed access for a channel without a config block (see [`ResolvedAccess::unconfigured`]).
/// Only the id style differs between channels, and the channel name is taken from the message.
fn unconfigured_access(style: IdStyle) -> &'static ResolvedAccess {
    static TELEGRAM: LazyLock<ResolvedAccess> = LazyLock::new(|| ResolvedAccess::unconfigured("telegram"));
    static PHONE: LazyLock<ResolvedAccess> = LazyLock::new(|| ResolvedAccess::unconfigured("whatsapp"));
    static GENERIC: LazyLock<ResolvedAccess> = LazyLock::new(|| ResolvedAccess::unconfigured(""));
    match style {
        IdStyle::Telegram => &TELEGRAM,
        IdStyle::Phone => &PHONE,
        IdStyle::Generic => &GENERIC,
    }
}

/// Decides what happens to one inbound message.
pub fn admit<'s>(snapshot: &'s AccessSnapshot, msg: &InboundFacts<'_>) -> Decision<'s> {
    let account_id = account_key(msg.account_id);
    let channel = snapshot.channels.get(msg.channel);
    let (access, paired, command_allow_from, mode_off) = match channel {
        Some(channel) => match channel.account(&account_id) {
            Some(entry) => (
                &entry.access,
                &entry.paired,
                channel.command_allow_from.as_ref(),
                channel.mode_when_access_groups_off,
            ),
            None => return Decision::Drop(DropReason::AccountNotConfigured),
        },
        // Nothing is listed there, so no message reaches command authorization: the empty
        // command list is never consulted.
        None if matches!(account_id.as_ref(), "" | DEFAULT_ACCOUNT_ID) => (
            unconfigured_access(IdStyle::of(msg.channel)),
            &*NO_PAIRED,
            None,
            CommandGateMode::default(),
        ),
        None => return Decision::Drop(DropReason::AccountNotConfigured),
    };
    if !access.enabled {
        return Decision::Drop(DropReason::ChannelDisabled);
    }
    if msg.sender_id.trim().is_empty() {
        return Decision::Drop(DropReason::MissingSender);
    }
    let sender = SenderRef::new(
        access.id_style,
        msg.channel,
        msg.sender_id,
        msg.sender_name,
        msg.sender_username,
    );
    let name_matching = access.name_matching;
    let authorize = |authorizers: &[Authorizer]| {
        commands::authorize(
            &snapshot.commands,
            command_allow_from,
            &sender,
            name_matching,
            authorizers,
            mode_off,
        )
    };

    if msg.chat_type == ChatType::Direct {
        let reason = match dm::decide(access, paired, &sender) {
            DmDecision::Allowed(reason) => reason,
            DmDecision::PairingRequired => return Decision::Challenge,
            DmDecision::Blocked(block) => return Decision::Drop(DropReason::Dm(block)),
        };
        let dm_authorizer = Authorizer {
            configured: dm::effective_allowlist_configured(access, paired),
            allowed: dm::in_effective_allowlist(access, paired, &sender),
        };
        let group_list = access.group_allow_from.as_ref().unwrap_or(&access.allow_from);
        let group_authorizer = Authorizer::from_list(group_list, &sender, name_matching);
        return Decision::Admit(Admitted {
            reason: AdmitReason::Dm(reason),
            mentioned: msg.native_mention || msg.reply_to_bot,
            mention_bypassed: false,
            command_authorized: authorize(&[dm_authorizer, group_authorizer]),
            control_command: is_control_command(msg.text),
            group: None,
            tool_policy: None,
        });
    }

    let matched = match group::decide(access, msg.guild_id, msg.chat_id, msg.thread_id, &sender) {
        Ok(matched) => matched,
        Err(block) => return Decision::Drop(DropReason::Group(block)),
    };
    // Groups use configured lists only: the pairing store never grants command rights here.
    let dm_authorizer = Authorizer::from_list(&access.allow_from, &sender, name_matching);
    let group_authorizer = Authorizer::from_list(group::command_list(access, &matched), &sender, name_matching);
    let command_authorized = authorize(&[dm_authorizer, group_authorizer]);

    // A forum topic's `agentId` is more specific than the binding routing picked.
    let patterns = snapshot.mention_patterns(matched.agent_id().or(msg.agent_id));
    let mentioned = msg.native_mention || msg.reply_to_bot || patterns.is_mentioned(msg.text, false);
    let control_command = is_control_command(msg.text)
        || (msg.text.contains('/') && is_control_command(&patterns.strip_mentions(msg.text)));
    let mut mention_bypassed = false;
    if matched.require_mention && !mentioned {
        // Formal claim A4: only an authorized control command (with text commands on) passes
        // the gate without a mention.
        if control_command && snapshot.commands.text_enabled && command_authorized {
            mention_bypassed = true;
        } else if patterns.can_detect(msg.native_mention_supported) {
            return Decision::History(HistoryReason::MentionRequired);
        } else {
            return Decision::History(HistoryReason::MentionUndetectable);
        }
    }
    Decision::Admit(Admitted {
        reason: AdmitReason::Group,
        mentioned,
        mention_bypassed,
        command_authorized,
        control_command,
        tool_policy: matched.tool_policy(&sender),
        group: Some(matched),
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    fn config(doc: serde_json::Value) -> Config {
        serde_json::from_value(doc).unwrap()
    }

    #[test]
    fn shared_pattern_warnings_are_reported_once() {
        let (_, warnings) = AccessSnapshot::new(&config(serde_json::json!({
            "messages": { "groupChat": { "mentionPatterns": ["(a+)+", "@ok"] } },
            "agents": { "list": [{ "id": "a" }, { "id": "b" }] }
        })));
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(warnings[0].to_string().contains("messages.groupChat.mentionPatterns"));
    }

    #[test]
    fn every_reason_has_a_code_and_a_sentence() {
        let drops = [
            DropReason::ChannelDisabled,
            DropReason::AccountNotConfigured,
            DropReason::MissingSender,
            DropReason::Dm(DmBlock::Disabled),
            DropReason::Dm(DmBlock::NotAllowlisted),
            DropReason::Group(GroupBlock::PolicyDisabled),
            DropReason::Group(GroupBlock::EmptyAllowlist),
            DropReason::Group(GroupBlock::SenderNotAllowlisted),
            DropReason::Group(GroupBlock::ChatNotAllowed),
            DropReason::Group(GroupBlock::ChatDisabled),
        ];
        let mut codes: Vec<&str> = drops.iter().map(|d| d.code()).collect();
        for drop in drops {
            assert!(drop.to_string().starts_with("dropped: "), "{drop}");
        }
        codes.extend([
            HistoryReason::MentionRequired.code(),
            HistoryReason::MentionUndetectable.code(),
            Decision::Challenge.code(),
            AdmitReason::Group.code(),
            AdmitReason::Dm(DmAllowed::Open).code(),
            AdmitReason::Dm(DmAllowed::Allowlisted).code(),
        ]);
        let unique: std::collections::HashSet<_> = codes.iter().collect();
        assert_eq!(unique.len(), codes.len(), "codes must be distinct: {codes:?}");
    }

    #[test]
    fn store_entries_can_be_set_for_the_default_account_only_when_unconfigured() {
        let (mut snapshot, _) = AccessSnapshot::new(&Config::default());
        assert!(snapshot.set_paired("telegram", "", ["42"]));
        assert!(!snapshot.set_paired("telegram", "work", ["42"]));
        assert!(!snapshot.access("telegram", "default").unwrap().configured);
    }
}

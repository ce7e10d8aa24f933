//! `channels.*`: who may reach the assistant on each messaging surface.
//!
//! Access control (DM policy, allowlists, group policy, mention gating) is the gateway's job, not
//! a channel plugin's, so those keys are typed and strict on every channel. Connection settings the
//! gateway itself uses (tokens, webhook secrets) are typed too. Everything else OpenClaw defines
//! for a channel is accepted by name and handed to the channel plugin.

use schemars::{JsonSchema, Schema};
use serde::Deserialize;
use serde_json::Value;

use super::common::{
    AllowEntry, BoolOrAuto, IdMap, Opaque, SecretInput, ToolPolicy, accept_opaque_keys, passthrough_unless_close,
};

/// Channels the gateway knows the configuration of.
pub const CORE_CHANNELS: &[&str] = &[
    "telegram",
    "whatsapp",
    "discord",
    "slack",
    "signal",
    "imessage",
    "irc",
    "googlechat",
    "line",
];

/// Channel ids OpenClaw ships as plugins; their non-access keys are validated by the plugin.
pub const PLUGIN_CHANNELS: &[&str] = &[
    "bluebubbles",
    "feishu",
    "matrix",
    "mattermost",
    "msteams",
    "nextcloud-talk",
    "nostr",
    "qqbot",
    "synology-chat",
    "tlon",
    "twitch",
    "zalo",
    "zalouser",
    "openclaw-weixin",
    "voice-call",
    "webchat",
    "sms",
    "wecom",
    "yuanbao",
];

/// Who may start a direct conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum DmPolicy {
    /// Unknown senders get a pairing code; the owner approves with `openclaw pairing approve`.
    Pairing,
    /// Only senders in `allowFrom`.
    Allowlist,
    /// Anyone; requires `"*"` in `allowFrom` as an explicit opt-in.
    Open,
    /// No direct messages.
    Disabled,
}

/// Which group messages are admitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum GroupPolicy {
    /// Only allowlisted groups and senders (default).
    Allowlist,
    /// Any group; mention gating still applies.
    Open,
    /// No group messages.
    Disabled,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ReplyToMode {
    Off,
    First,
    All,
    Batched,
}

/// Older `dm` block (`channels.<ch>.dm.{policy, allowFrom}`), still common in guides.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct LegacyDmConfig {
    pub enabled: Option<bool>,
    /// Same as `dmPolicy`; set one of the two.
    pub policy: Option<DmPolicy>,
    /// Merged with `allowFrom`.
    pub allow_from: Option<Vec<AllowEntry>>,
    pub group_enabled: Option<bool>,
    pub group_channels: Option<Vec<AllowEntry>>,
    pub reply_to_mode: Option<ReplyToMode>,
}

/// `channels.<ch>.groups.<id>` (and Telegram forum `topics.<id>`). The key `"*"` sets defaults
/// for every group and, when present, admits every group.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct GroupConfig {
    /// Only answer when mentioned (by the platform or a `mentionPatterns` regex).
    pub require_mention: Option<bool>,
    pub enabled: Option<bool>,
    /// Senders allowed to trigger the bot in this group.
    pub allow_from: Option<Vec<AllowEntry>>,
    pub group_policy: Option<GroupPolicy>,
    pub tools: Option<ToolPolicy>,
    pub tools_by_sender: Option<IdMap<ToolPolicy>>,
    pub skills: Option<Vec<String>>,
    pub system_prompt: Option<String>,
    /// Forum topics (Telegram).
    pub topics: Option<IdMap<GroupConfig>>,
    /// Route this topic to an agent (Telegram topics).
    pub agent_id: Option<String>,
    /// Older spelling of "this group is allowed".
    pub allow: Option<bool>,
    pub users: Option<Vec<AllowEntry>>,
    pub ingest: Option<bool>,
    pub disable_audio_preflight: Option<bool>,
    pub error_policy: Option<String>,
    pub error_cooldown_ms: Option<u64>,
    pub bot_loop_protection: Option<Opaque>,
}

/// A Discord guild channel or a Slack channel.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RoomConfig {
    /// Admit this channel (older spelling; listing it already admits it).
    pub allow: Option<bool>,
    pub enabled: Option<bool>,
    pub require_mention: Option<bool>,
    pub ignore_other_mentions: Option<bool>,
    pub users: Option<Vec<AllowEntry>>,
    pub roles: Option<Vec<AllowEntry>>,
    pub tools: Option<ToolPolicy>,
    pub tools_by_sender: Option<IdMap<ToolPolicy>>,
    pub skills: Option<Vec<String>>,
    pub system_prompt: Option<String>,
    pub include_thread_starter: Option<bool>,
    pub auto_thread: Option<bool>,
    pub auto_thread_name: Option<String>,
    pub auto_archive_duration: Option<Value>,
    pub allow_bots: Option<Value>,
    pub bot_loop_protection: Option<Opaque>,
    pub reply_to_mode: Option<ReplyToMode>,
    pub presence_events: Option<Opaque>,
}

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct DiscordGuildConfig {
    pub slug: Option<String>,
    pub require_mention: Option<bool>,
    pub ignore_other_mentions: Option<bool>,
    pub users: Option<Vec<AllowEntry>>,
    pub roles: Option<Vec<AllowEntry>>,
    pub tools: Option<ToolPolicy>,
    pub tools_by_sender: Option<IdMap<ToolPolicy>>,
    pub reaction_notifications: Option<String>,
    pub presence_events: Option<Opaque>,
    /// Allowed channels in this guild, by id.
    pub channels: Option<IdMap<RoomConfig>>,
}

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ChannelCommands {
    pub native: Option<BoolOrAuto>,
    pub native_skills: Option<BoolOrAuto>,
}

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct DmHistory {
    pub history_limit: Option<u64>,
}

/// The access-control keys every channel (and every account of a channel) has.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ChannelAccess {
    /// Start this channel (or account).
    pub enabled: Option<bool>,
    pub name: Option<String>,
    #[schemars(extend("default" = "pairing"))]
    pub dm_policy: Option<DmPolicy>,
    /// Senders allowed to DM (channel-native ids; `"*"` means everyone).
    pub allow_from: Option<Vec<AllowEntry>>,
    #[schemars(extend("default" = "allowlist"))]
    pub group_policy: Option<GroupPolicy>,
    /// Senders allowed to trigger the bot inside groups (falls back to `allowFrom`).
    pub group_allow_from: Option<Vec<AllowEntry>>,
    /// Per-group settings; when set, the keys are also the group allowlist.
    pub groups: Option<IdMap<GroupConfig>>,
    pub dm: Option<LegacyDmConfig>,
    /// Default for groups that do not set `requireMention`.
    pub require_mention: Option<bool>,
    pub default_account: Option<String>,
    pub history_limit: Option<u64>,
    pub dm_history_limit: Option<u64>,
    pub dms: Option<IdMap<DmHistory>>,
    #[schemars(range(min = 1))]
    pub text_chunk_limit: Option<u64>,
    pub media_max_mb: Option<f64>,
    pub reply_to_mode: Option<ReplyToMode>,
    /// Allow chat commands to change the config.
    pub config_writes: Option<bool>,
    /// Match allowlist entries by display name (mutable: anyone can take a name). Dangerous.
    pub dangerously_allow_name_matching: Option<bool>,
    pub commands: Option<ChannelCommands>,
}

/// Shared OpenClaw channel keys that are presentation or delivery settings for the plugin.
const SHARED_CHANNEL_KEYS: &[&str] = &[
    "capabilities",
    "markdown",
    "streaming",
    "streamMode",
    "blockStreaming",
    "blockStreamingCoalesce",
    "draftChunk",
    "chunkMode",
    "responsePrefix",
    "mentionPatterns",
    "contextVisibility",
    "heartbeat",
    "heartbeatVisibility",
    "healthMonitor",
    "defaultTo",
    "actions",
    "execApprovals",
    "threadBindings",
    "botLoopProtection",
    "ackReaction",
    "ackReactionScope",
    "reactionNotifications",
    "reactionLevel",
    "reactionAllowlist",
    "joinIntro",
    "retry",
];

fn channel_keys(schema: &mut Schema, extra: &[&str]) {
    accept_opaque_keys(schema, SHARED_CHANNEL_KEYS);
    accept_opaque_keys(schema, extra);
}

/// Defines a channel struct: the shared access keys, the typed keys given, its own `accounts`,
/// and the OpenClaw keys (by name) that are handed to the plugin untouched.
macro_rules! channel_config {
    (
        $(#[$meta:meta])*
        $name:ident, $transform:ident, [$($extra:literal),* $(,)?] {
            $($(#[$field_meta:meta])* $field:ident : $ty:ty,)*
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
        #[serde(rename_all = "camelCase")]
        #[schemars(transform = $transform)]
        pub struct $name {
            #[serde(flatten)]
            pub access: ChannelAccess,
            $($(#[$field_meta])* pub $field: Option<$ty>,)*
            /// Named accounts; each may set any key of the channel and inherits the rest.
            pub accounts: Option<IdMap<$name>>,
            #[serde(flatten)]
            #[schemars(skip)]
            pub compat: Opaque,
        }

        fn $transform(schema: &mut Schema) {
            channel_keys(schema, &[$($extra),*]);
        }
    };
}

channel_config! {
    /// `channels.telegram` (Bot API; long polling by default, webhook when `webhookUrl` is set).
    TelegramConfig, telegram_keys, [
        "customCommands", "linkPreview", "silentErrorReplies", "errorPolicy", "errorCooldownMs",
        "trustedLocalFileRoots", "autoTopicLabel", "richMessages", "network", "timeoutSeconds",
        "pollingStallThresholdMs", "direct",
    ] {
        /// Bot token from @BotFather. `TELEGRAM_BOT_TOKEN` is used for the default account when unset.
        bot_token: SecretInput,
        /// File holding the token (a regular file; symlinks are refused).
        token_file: String,
        /// Public HTTPS URL Telegram posts updates to; enables webhook mode.
        webhook_url: String,
        /// Secret Telegram sends with every webhook call; required with `webhookUrl`.
        webhook_secret: SecretInput,
        #[schemars(extend("default" = "/telegram-webhook"))]
        webhook_path: String,
        #[schemars(extend("default" = "127.0.0.1"))]
        webhook_host: String,
        #[schemars(extend("default" = 8787))]
        webhook_port: u16,
        webhook_cert_path: String,
        proxy: String,
        /// Bot API root (default `https://api.telegram.org`).
        api_root: String,
    }
}

channel_config! {
    /// `channels.whatsapp`.
    WhatsAppConfig, whatsapp_keys, [
        "direct", "pluginHooks", "messagePrefix", "debounceMs", "authDir",
    ] {
        self_chat_mode: bool,
        send_read_receipts: bool,
    }
}

channel_config! {
    /// `channels.discord`.
    DiscordConfig, discord_keys, [
        "activities", "mentionAliases", "suppressEmbeds", "maxLinesPerMessage", "thread",
        "agentComponents", "slashCommand", "intents", "voice", "pluralkit", "activity", "status",
        "autoPresence", "activityType", "activityUrl", "inboundWorker", "ui", "eventQueue",
    ] {
        /// Bot token. `DISCORD_BOT_TOKEN` is used for the default account when unset.
        token: SecretInput,
        application_id: AllowEntry,
        /// Allowed guilds and their channels.
        guilds: IdMap<DiscordGuildConfig>,
        proxy: String,
        allow_bots: Value,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum SlackMode {
    Socket,
    Http,
    Relay,
}

channel_config! {
    /// `channels.slack`.
    SlackConfig, slack_keys, [
        "userTokenReadOnly", "relay", "postAs", "allowBots", "implicitMentions", "unfurlLinks",
        "unfurlMedia", "replyToModeByChatType", "thread", "presenceEvents", "slashCommand",
        "typingReaction", "logLevel",
    ] {
        mode: SlackMode,
        bot_token: SecretInput,
        app_token: SecretInput,
        user_token: SecretInput,
        /// Verifies Events API requests; required in `http` mode.
        signing_secret: SecretInput,
        #[schemars(extend("default" = "/slack/events"))]
        webhook_path: String,
        /// Allowed channels, by id.
        channels: IdMap<RoomConfig>,
    }
}

channel_config! {
    /// `channels.signal`.
    SignalConfig, signal_keys, [
        "accountUuid", "transport", "ignoreAttachments", "sendReadReceipts", "aliases",
        "replyToModeByChatType", "apiMode", "configPath", "httpUrl", "httpHost", "httpPort",
        "cliPath", "autoStart", "startupTimeoutMs", "receiveMode", "ignoreStories",
    ] {
        /// The bot's phone number.
        account: String,
    }
}

channel_config! {
    /// `channels.imessage`.
    IMessageConfig, imessage_keys, [
        "cliPath", "dbPath", "remoteHost", "service", "sendTransport", "region",
        "includeAttachments", "attachmentRoots", "remoteAttachmentRoots", "probeTimeoutMs",
        "sendReadReceipts", "catchup",
    ] {}
}

channel_config! {
    /// `channels.irc`.
    IrcConfig, irc_keys, [
        "username", "realname", "passwordFile", "nickserv", "channels",
    ] {
        host: String,
        #[schemars(range(min = 1))]
        port: u16,
        tls: bool,
        nick: String,
        password: SecretInput,
    }
}

channel_config! {
    /// `channels.googlechat`.
    GoogleChatConfig, googlechat_keys, [
        "allowBots", "serviceAccountRef", "audienceType", "audience", "appPrincipal",
        "webhookPath", "webhookUrl", "botUser", "typingIndicator",
    ] {
        /// Service-account JSON (object, string or SecretRef).
        #[schemars(extend("x-secret" = true))]
        service_account: Value,
        service_account_file: String,
    }
}

channel_config! {
    /// `channels.line`.
    LineConfig, line_keys, [
        "webhookPath",
    ] {
        channel_access_token: SecretInput,
        channel_secret: SecretInput,
        token_file: String,
        secret_file: String,
    }
}

/// A channel provided by a plugin: access keys are checked here, the rest by the plugin's schema.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(transform = passthrough_unless_close)]
pub struct PluginChannelConfig {
    #[serde(flatten)]
    pub access: ChannelAccess,
    pub accounts: Option<IdMap<PluginChannelConfig>>,
    #[serde(flatten)]
    #[schemars(skip)]
    pub plugin: Opaque,
}

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ChannelDefaults {
    /// Group policy for channels that do not set one.
    pub group_policy: Option<GroupPolicy>,
    pub context_visibility: Option<String>,
    pub heartbeat: Option<Opaque>,
    pub bot_loop_protection: Option<Opaque>,
}

/// `channels`. Unknown channel ids are refused unless a plugin provides them.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(transform = channels_closed)]
pub struct ChannelsConfig {
    pub defaults: Option<ChannelDefaults>,
    pub telegram: Option<TelegramConfig>,
    pub whatsapp: Option<WhatsAppConfig>,
    pub discord: Option<DiscordConfig>,
    pub slack: Option<SlackConfig>,
    pub signal: Option<SignalConfig>,
    pub imessage: Option<IMessageConfig>,
    pub irc: Option<IrcConfig>,
    pub googlechat: Option<GoogleChatConfig>,
    pub line: Option<LineConfig>,
    pub model_by_channel: Option<Opaque>,
    pub runtime_by_channel: Option<Opaque>,
    /// Plugin-provided channels, by id.
    #[serde(flatten)]
    #[schemars(skip)]
    pub plugins: IdMap<PluginChannelConfig>,
}

fn channels_closed(schema: &mut Schema) {
    // Plugin channel ids are added when the root schema is built (see `schema::root_schema`).
    accept_opaque_keys(schema, &[]);
}

/// A uniform view of one channel (or account) for access control.
#[derive(Debug, Clone, Copy)]
pub struct ChannelView<'a> {
    pub id: &'a str,
    pub access: &'a ChannelAccess,
}

impl ChannelsConfig {
    /// Every configured channel with its access keys, core channels first.
    pub fn iter(&self) -> Vec<ChannelView<'_>> {
        let mut out = Vec::new();
        macro_rules! push {
            ($($field:ident),*) => {
                $(if let Some(c) = &self.$field {
                    out.push(ChannelView { id: stringify!($field), access: &c.access });
                })*
            };
        }
        push!(
            telegram, whatsapp, discord, slack, signal, imessage, irc, googlechat, line
        );
        for (id, channel) in &self.plugins {
            out.push(ChannelView {
                id,
                access: &channel.access,
            });
        }
        out
    }

    /// The accounts of a channel: `(account id, access keys)`.
    pub fn accounts(&self, channel: &str) -> Vec<(&str, &ChannelAccess)> {
        fn collect<'a, T>(
            accounts: &'a Option<IdMap<T>>,
            access: impl Fn(&'a T) -> &'a ChannelAccess,
        ) -> Vec<(&'a str, &'a ChannelAccess)> {
            accounts
                .iter()
                .flatten()
                .map(|(id, account)| (id.as_str(), access(account)))
                .collect()
        }
        match channel {
            "telegram" => self.telegram.as_ref().map(|c| collect(&c.accounts, |a| &a.access)),
            "whatsapp" => self.whatsapp.as_ref().map(|c| collect(&c.accounts, |a| &a.access)),
            "discord" => self.discord.as_ref().map(|c| collect(&c.accounts, |a| &a.access)),
            "slack" => self.slack.as_ref().map(|c| collect(&c.accounts, |a| &a.access)),
            "signal" => self.signal.as_ref().map(|c| collect(&c.accounts, |a| &a.access)),
            "imessage" => self.imessage.as_ref().map(|c| collect(&c.accounts, |a| &a.access)),
            "irc" => self.irc.as_ref().map(|c| collect(&c.accounts, |a| &a.access)),
            "googlechat" => self.googlechat.as_ref().map(|c| collect(&c.accounts, |a| &a.access)),
            "line" => self.line.as_ref().map(|c| collect(&c.accounts, |a| &a.access)),
            other => self.plugins.get(other).map(|c| collect(&c.accounts, |a| &a.access)),
        }
        .unwrap_or_default()
    }
}

impl ChannelAccess {
    /// `dmPolicy`, or the older `dm.policy`.
    pub fn effective_dm_policy(&self) -> Option<DmPolicy> {
        self.dm_policy.or_else(|| self.dm.as_ref().and_then(|dm| dm.policy))
    }

    /// `allowFrom` plus the older `dm.allowFrom`, normalized.
    pub fn effective_allow_from(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        let legacy = self.dm.as_ref().and_then(|dm| dm.allow_from.as_ref());
        for entry in self.allow_from.iter().flatten().chain(legacy.into_iter().flatten()) {
            let value = entry.normalized();
            if !value.is_empty() && !out.contains(&value) {
                out.push(value);
            }
        }
        out
    }
}

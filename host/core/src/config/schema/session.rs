//! `session.*` (how conversations map to sessions) and `bindings[]` (which agent answers).

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::Deserialize;

use super::common::{NumberOrString, Opaque};

/// How direct messages are grouped into sessions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum DmScope {
    /// Every DM on every channel shares the agent's main session (continuity for one user).
    Main,
    /// One session per sender, across channels.
    PerPeer,
    /// One session per channel and sender: no context leaks between people.
    PerChannelPeer,
    /// One session per account, channel and sender (multi-account channels).
    PerAccountChannelPeer,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum GroupScope {
    Main,
    PerGroup,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum SessionScope {
    PerSender,
    Global,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ResetMode {
    None,
    Daily,
    Idle,
}

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SessionReset {
    pub mode: Option<ResetMode>,
    /// Local hour of the daily reset.
    #[schemars(range(min = 0, max = 23), extend("default" = 4))]
    pub at_hour: Option<u8>,
    #[schemars(range(min = 1))]
    pub idle_minutes: Option<u64>,
}

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ResetByType {
    pub direct: Option<SessionReset>,
    /// Older spelling of `direct`.
    pub dm: Option<SessionReset>,
    pub group: Option<SessionReset>,
    pub thread: Option<SessionReset>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum MaintenanceMode {
    Warn,
    Enforce,
}

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SessionMaintenance {
    #[schemars(extend("default" = "warn"))]
    pub mode: Option<MaintenanceMode>,
    #[schemars(extend("default" = "30d"))]
    pub prune_after: Option<NumberOrString>,
    pub prune_days: Option<u64>,
    #[schemars(extend("default" = 500))]
    pub max_entries: Option<u64>,
    pub rotate_bytes: Option<NumberOrString>,
    pub reset_archive_retention: Option<serde_json::Value>,
    pub max_disk_bytes: Option<serde_json::Value>,
    pub high_water_bytes: Option<NumberOrString>,
}

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AgentToAgentSession {
    #[schemars(range(min = 0, max = 5))]
    pub max_ping_pong_turns: Option<u8>,
}

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SessionConfig {
    pub scope: Option<SessionScope>,
    #[schemars(extend("default" = "main"))]
    pub dm_scope: Option<DmScope>,
    pub group_scope: Option<GroupScope>,
    /// `{canonical: ["telegram:123", "discord:456"]}`: one person's ids on several channels share
    /// one DM session (only when `dmScope` is not `main`).
    pub identity_links: Option<BTreeMap<String, Vec<String>>>,
    pub reset_triggers: Option<Vec<String>>,
    #[schemars(range(min = 1))]
    pub idle_minutes: Option<u64>,
    pub reset: Option<SessionReset>,
    pub reset_by_type: Option<ResetByType>,
    pub reset_by_channel: Option<BTreeMap<String, SessionReset>>,
    /// Session store path; `{agentId}` is replaced.
    pub store: Option<String>,
    /// Accepted for compatibility; the main key is always `main`.
    pub main_key: Option<String>,
    #[schemars(range(min = 1))]
    pub typing_interval_seconds: Option<u64>,
    pub typing_mode: Option<String>,
    pub send_policy: Option<Opaque>,
    pub write_lock: Option<Opaque>,
    pub agent_to_agent: Option<AgentToAgentSession>,
    pub thread_bindings: Option<Opaque>,
    pub sharing: Option<Opaque>,
    pub maintenance: Option<SessionMaintenance>,
}

impl SessionConfig {
    pub fn dm_scope(&self) -> DmScope {
        self.dm_scope.unwrap_or(DmScope::Main)
    }
}

/// The kind of conversation a binding matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum PeerKind {
    Direct,
    /// Older spelling of `direct`.
    Dm,
    Group,
    Channel,
}

impl PeerKind {
    /// `dm` and `direct` are the same kind.
    pub fn canonical(self) -> Self {
        match self {
            Self::Dm => Self::Direct,
            other => other,
        }
    }
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PeerMatch {
    pub kind: PeerKind,
    #[schemars(length(min = 1))]
    pub id: String,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct BindingMatch {
    /// Channel id (`telegram`, `whatsapp`, ...).
    #[schemars(length(min = 1))]
    pub channel: String,
    /// Account to match; omitted matches only the default account, `*` matches every account.
    pub account_id: Option<String>,
    pub peer: Option<PeerMatch>,
    pub guild_id: Option<String>,
    pub team_id: Option<String>,
    pub roles: Option<Vec<String>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum BindingType {
    Route,
    Acp,
}

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct BindingSession {
    pub dm_scope: Option<DmScope>,
    pub group_scope: Option<GroupScope>,
}

/// One routing rule: messages matching `match` go to `agentId`. Routing happens only after a
/// message passed access control; a binding never grants access.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Binding {
    #[serde(rename = "type")]
    pub kind: Option<BindingType>,
    #[schemars(length(min = 1))]
    pub agent_id: String,
    pub comment: Option<String>,
    #[serde(rename = "match")]
    pub match_: BindingMatch,
    pub session: Option<BindingSession>,
    pub acp: Option<Opaque>,
}

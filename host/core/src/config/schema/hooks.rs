//! `hooks.*` (inbound webhooks) and `commands.*` (chat commands).

use schemars::JsonSchema;
use serde::Deserialize;

use super::common::{AllowEntry, BoolOrAuto, IdMap, Opaque, SecretInput};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum HookAction {
    Wake,
    Agent,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum WakeMode {
    Now,
    NextHeartbeat,
}

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct HookMatch {
    pub path: Option<String>,
    pub source: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct HookTransform {
    /// Module under `hooks.transformsDir` (relative, no `..`).
    #[schemars(length(min = 1))]
    pub module: String,
    pub export: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct HookMapping {
    pub id: Option<String>,
    #[serde(rename = "match")]
    pub match_: Option<HookMatch>,
    pub action: Option<HookAction>,
    pub wake_mode: Option<WakeMode>,
    pub name: Option<String>,
    pub agent_id: Option<String>,
    pub session_key: Option<String>,
    pub message_template: Option<String>,
    pub text_template: Option<String>,
    pub deliver: Option<bool>,
    /// DANGEROUS: pass external content to the model without the safety wrapper.
    pub allow_unsafe_external_content: Option<bool>,
    pub channel: Option<String>,
    pub to: Option<String>,
    pub model: Option<String>,
    pub thinking: Option<String>,
    #[schemars(range(min = 1))]
    pub timeout_seconds: Option<u64>,
    pub transform: Option<HookTransform>,
}

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct HooksConfig {
    pub enabled: Option<bool>,
    /// HTTP path of the hooks endpoint (never `/`).
    pub path: Option<String>,
    /// Bearer token hook callers must present; must differ from the gateway token.
    pub token: Option<SecretInput>,
    pub default_session_key: Option<String>,
    pub allow_request_session_key: Option<bool>,
    pub allowed_session_key_prefixes: Option<Vec<String>>,
    /// Agents hooks may target; `["*"]` is any, `[]` is none.
    pub allowed_agent_ids: Option<Vec<String>>,
    #[schemars(range(min = 1))]
    pub max_body_bytes: Option<u64>,
    pub presets: Option<Vec<String>>,
    pub transforms_dir: Option<String>,
    pub mappings: Option<Vec<HookMapping>>,
    /// Gmail Pub/Sub integration (accepted for compatibility).
    pub gmail: Option<Opaque>,
    /// In-process hook handlers (accepted for compatibility).
    pub internal: Option<Opaque>,
}

/// Per-command switch with the surfaces it is allowed on (`commands.reasoning`,
/// `commands.verbose`). `allowedChannels` entries are a channel id (`telegram`) or a channel id
/// with a chat type (`telegram-dm`, `telegram-group`).
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CommandToggle {
    pub enabled: Option<bool>,
    pub allowed_channels: Option<Vec<String>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum OwnerDisplay {
    Raw,
    Hash,
}

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CommandsConfig {
    #[schemars(extend("default" = "auto"))]
    pub native: Option<BoolOrAuto>,
    #[schemars(extend("default" = "auto"))]
    pub native_skills: Option<BoolOrAuto>,
    pub text: Option<bool>,
    /// `!` and `/bash` host shell (also needs `tools.elevated`).
    #[schemars(extend("default" = false))]
    pub bash: Option<bool>,
    #[schemars(range(min = 0, max = 30000))]
    pub bash_foreground_ms: Option<u64>,
    pub config: Option<bool>,
    pub mcp: Option<bool>,
    pub plugins: Option<bool>,
    pub debug: Option<bool>,
    pub restart: Option<bool>,
    /// Authorize commands from the channel allowlists (default true).
    #[schemars(extend("default" = true))]
    pub use_access_groups: Option<bool>,
    /// Explicit owners for owner-only commands (`telegram:123`).
    pub owner_allow_from: Option<Vec<AllowEntry>>,
    pub owner_display: Option<OwnerDisplay>,
    pub owner_display_secret: Option<SecretInput>,
    /// Per-channel command allowlists; when set they are the only source of authorization.
    pub allow_from: Option<IdMap<Vec<AllowEntry>>>,
    /// `/reasoning`: keep it to trusted direct chats.
    pub reasoning: Option<CommandToggle>,
    /// `/verbose`: keep it to trusted direct chats.
    pub verbose: Option<CommandToggle>,
}

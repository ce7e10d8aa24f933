//! `agents.defaults` and `agents.list[]`.

use schemars::JsonSchema;
use serde::Deserialize;

use super::common::{ModelRef, Opaque, accept_opaque_keys};
use super::sandbox::SandboxConfig;
use super::tools::AgentToolsConfig;

/// Turns at once when `agents.defaults.maxConcurrent` is not set (OpenClaw's default).
pub const DEFAULT_MAX_CONCURRENT: u64 = 4;

/// The agent id used when `agents.list` is empty.
pub const DEFAULT_AGENT_ID: &str = "main";
/// Agent ids as OpenClaw normalizes them (compared case-insensitively).
pub const AGENT_ID_PATTERN: &str = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ElevatedLevel {
    Off,
    On,
    Ask,
    Full,
}

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AgentIdentity {
    pub name: Option<String>,
    pub theme: Option<String>,
    pub emoji: Option<String>,
    pub avatar: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct GroupChatConfig {
    /// Regular expressions (case-insensitive) that count as mentioning the agent in a group.
    /// When this key is present, even empty, it replaces `messages.groupChat.mentionPatterns`.
    pub mention_patterns: Option<Vec<String>>,
    pub history_limit: Option<u64>,
    pub unmentioned_inbound: Option<String>,
    pub visible_replies: Option<serde_json::Value>,
}

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(transform = defaults_compat)]
pub struct AgentDefaults {
    pub model: Option<ModelRef>,
    pub image_model: Option<ModelRef>,
    /// Default workspace.
    #[schemars(extend("default" = "~/.openclaw/workspace"))]
    pub workspace: Option<String>,
    pub sandbox: Option<SandboxConfig>,
    /// Level `/elevated` starts at.
    #[schemars(extend("default" = "on"))]
    pub elevated_default: Option<ElevatedLevel>,
    /// Agent turns running at once across all sessions (each session still answers one message
    /// at a time, in order). OpenClaw's default, 4.
    #[schemars(range(min = 1, max = 1024), extend("default" = 4))]
    pub max_concurrent: Option<u64>,
    #[serde(flatten)]
    #[schemars(skip)]
    pub compat: Opaque,
}

fn defaults_compat(schema: &mut schemars::Schema) {
    accept_opaque_keys(
        schema,
        &[
            "params",
            "models",
            "modelPolicy",
            "modelSelectionScope",
            "utilityModel",
            "mediaModels",
            "voiceModel",
            "pdfModel",
            "pdfMaxMb",
            "pdfMaxBytesMb",
            "pdfMaxPages",
            "imageGenerationModel",
            "videoGenerationModel",
            "musicGenerationModel",
            "mediaGenerationAutoProviderFallback",
            "cwd",
            "skills",
            "silentReply",
            "silentReplyRewrite",
            "repoRoot",
            "skipBootstrap",
            "skipOptionalBootstrapFiles",
            "contextInjection",
            "bootstrapMaxChars",
            "bootstrapTotalMaxChars",
            "bootstrapPromptTruncationWarning",
            "experimental",
            "userTimezone",
            "startupContext",
            "contextLimits",
            "contextPruning",
            "contextTokens",
            "compaction",
            "embeddedAgent",
            "embeddedPi",
            "embeddedHarness",
            "agentRuntime",
            "cliBackends",
            "memorySearch",
            "promptOverlays",
            "systemPromptOverride",
            "thinkingDefault",
            "fastModeDefault",
            "verboseDefault",
            "toolProgressDetail",
            "reasoningDefault",
            "blockStreamingDefault",
            "blockStreamingBreak",
            "blockStreamingChunk",
            "blockStreamingCoalesce",
            "humanDelay",
            "timeoutSeconds",
            "mediaMaxMb",
            "imageMaxDimensionPx",
            "imageQuality",
            "typingIntervalSeconds",
            "typingMode",
            "heartbeat",
            "systemAgent",
            "authInheritance",
            "sessionStore",
            "subagents",
            "timeFormat",
            "envelopeTimezone",
            "envelopeTimestamp",
            "envelopeElapsed",
        ],
    );
}

/// One agent: its own workspace, model, sandbox and tool policy.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(transform = agent_compat)]
pub struct AgentConfig {
    /// Stable id (letters, digits, `_`, `-`; max 64; compared case-insensitively).
    #[schemars(regex(pattern = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$"))]
    pub id: String,
    /// The agent that answers when no binding matches (else the first in the list).
    pub default: Option<bool>,
    pub name: Option<String>,
    pub workspace: Option<String>,
    pub agent_dir: Option<String>,
    pub model: Option<ModelRef>,
    pub identity: Option<AgentIdentity>,
    pub group_chat: Option<GroupChatConfig>,
    pub sandbox: Option<SandboxConfig>,
    pub tools: Option<AgentToolsConfig>,
    #[serde(flatten)]
    #[schemars(skip)]
    pub compat: Opaque,
}

fn agent_compat(schema: &mut schemars::Schema) {
    accept_opaque_keys(
        schema,
        &[
            "description",
            "cwd",
            "utilityModel",
            "models",
            "modelPolicy",
            "thinkingDefault",
            "verboseDefault",
            "toolProgressDetail",
            "reasoningDefault",
            "fastModeDefault",
            "contextInjection",
            "bootstrapMaxChars",
            "bootstrapTotalMaxChars",
            "experimental",
            "skills",
            "memory",
            "memorySearch",
            "humanDelay",
            "typingMode",
            "tts",
            "skillsLimits",
            "contextLimits",
            "contextTokens",
            "heartbeat",
            "subagents",
            "embeddedAgent",
            "embeddedPi",
            "embeddedHarness",
            "systemPromptOverride",
            "agentRuntime",
            "params",
            "runtime",
        ],
    );
    // `id` is required: schemars does not mark it because the struct has a flatten field.
    if let Some(object) = schema.as_object_mut() {
        object.insert("required".into(), serde_json::json!(["id"]));
    }
}

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AgentsConfig {
    pub defaults: Option<AgentDefaults>,
    /// The agents. Empty or absent: one agent, `main`.
    pub list: Option<Vec<AgentConfig>>,
}

impl AgentsConfig {
    pub fn list(&self) -> &[AgentConfig] {
        self.list.as_deref().unwrap_or_default()
    }

    /// Ids of every configured agent (lower-cased); `main` when none are configured.
    pub fn ids(&self) -> Vec<String> {
        if self.list().is_empty() {
            vec![DEFAULT_AGENT_ID.to_string()]
        } else {
            self.list().iter().map(|a| a.id.to_ascii_lowercase()).collect()
        }
    }

    /// The agent that answers when no binding matches.
    pub fn default_agent_id(&self) -> String {
        self.list()
            .iter()
            .find(|a| a.default == Some(true))
            .or_else(|| self.list().first())
            .map(|a| a.id.to_ascii_lowercase())
            .unwrap_or_else(|| DEFAULT_AGENT_ID.to_string())
    }
}

//! The typed config: one struct per section, and the JSON Schema generated from them.
//!
//! These types are the single source of truth. `serde` reads a validated document into them;
//! `schemars` turns them into the JSON Schema the validator walks (and that
//! `openclaw config schema` prints for editors), so a key cannot be accepted by one and rejected
//! by the other.

pub mod agents;
pub mod channels;
pub mod common;
pub mod gateway;
pub mod hooks;
pub mod logging;
pub mod models;
pub mod plugins;
pub mod sandbox;
pub mod secrets;
pub mod security;
pub mod session;
pub mod tools;

use std::collections::BTreeMap;
use std::sync::LazyLock;

use schemars::generate::SchemaSettings;
use schemars::{JsonSchema, Schema};
use serde::Deserialize;
use serde_json::Value;

pub use agents::{AgentConfig, AgentDefaults, AgentsConfig};
pub use channels::{ChannelAccess, ChannelsConfig, DmPolicy, GroupPolicy};
pub use common::{AllowEntry, ModelRef, Opaque, SecretInput, SecretLiteral, SecretRef, SecretSource, ToolPolicy};
pub use gateway::{AuthMode, BindMode, DiscoveryConfig, GatewayConfig, MdnsMode};
pub use hooks::{CommandsConfig, HooksConfig};
pub use logging::LoggingConfig;
pub use models::ModelsConfig;
pub use plugins::PluginsConfig;
pub use secrets::{SecretProvider, SecretsConfig};
pub use session::{Binding, SessionConfig};
pub use tools::ToolsConfig;

use common::accept_opaque_keys;

/// `env`: variables for the gateway. Values here never override the process environment.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct EnvConfig {
    pub shell_env: Option<ShellEnvConfig>,
    pub vars: Option<BTreeMap<String, String>>,
    /// Any other key is a variable (`env: {FOO: "bar"}`).
    #[serde(flatten)]
    pub inline: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ShellEnvConfig {
    pub enabled: Option<bool>,
    pub timeout_ms: Option<u64>,
}

impl EnvConfig {
    /// A variable set in the config (`vars` first, then inline keys).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.vars
            .as_ref()
            .and_then(|v| v.get(name))
            .or_else(|| self.inline.get(name))
            .map(String::as_str)
    }
}

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct MessagesGroupChat {
    /// Mention regexes for every agent that does not set `groupChat.mentionPatterns`.
    pub mention_patterns: Option<Vec<String>>,
    pub history_limit: Option<u64>,
}

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(transform = messages_compat)]
pub struct MessagesConfig {
    pub message_prefix: Option<String>,
    pub response_prefix: Option<String>,
    pub group_chat: Option<MessagesGroupChat>,
    #[serde(flatten)]
    #[schemars(skip)]
    pub compat: Opaque,
}

fn messages_compat(schema: &mut Schema) {
    accept_opaque_keys(
        schema,
        &[
            "queue",
            "inbound",
            "ackReaction",
            "ackReactionScope",
            "removeAckAfterReply",
            "statusReactions",
            "suppressToolErrors",
            "tts",
        ],
    );
}

/// Root `auth`: OpenClaw's model-provider auth profiles, accepted for compatibility.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(transform = model_auth_compat)]
pub struct ModelAuthConfig {
    #[serde(flatten)]
    #[schemars(skip)]
    pub compat: Opaque,
}

fn model_auth_compat(schema: &mut Schema) {
    accept_opaque_keys(schema, &["profiles", "order", "cooldowns"]);
}

/// The whole `openclaw.json`.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(title = "OpenClaw gateway configuration", transform = root_compat)]
pub struct Config {
    /// Editor schema URL; ignored.
    #[serde(rename = "$schema")]
    pub schema: Option<String>,
    pub gateway: Option<GatewayConfig>,
    pub discovery: Option<DiscoveryConfig>,
    pub session: Option<SessionConfig>,
    pub channels: Option<ChannelsConfig>,
    pub agents: Option<AgentsConfig>,
    pub tools: Option<ToolsConfig>,
    pub bindings: Option<Vec<Binding>>,
    pub plugins: Option<PluginsConfig>,
    pub models: Option<ModelsConfig>,
    pub logging: Option<LoggingConfig>,
    pub secrets: Option<SecretsConfig>,
    pub commands: Option<CommandsConfig>,
    pub hooks: Option<HooksConfig>,
    /// `security.audit.suppressions` (and OpenClaw's other `security` keys, kept verbatim).
    pub security: Option<security::SecurityConfig>,
    pub messages: Option<MessagesConfig>,
    pub env: Option<EnvConfig>,
    /// Model-provider auth profiles (not the gateway's auth, which is `gateway.auth`).
    pub auth: Option<ModelAuthConfig>,
    /// OpenClaw sections this gateway accepts but does not use, kept verbatim.
    #[serde(flatten)]
    #[schemars(skip)]
    pub compat: Opaque,
}

/// OpenClaw's other top-level sections (2026.4 and later).
pub const COMPAT_SECTIONS: &[&str] = &[
    "meta",
    "wizard",
    "update",
    "cli",
    "ui",
    "browser",
    "acp",
    "nodeHost",
    "broadcast",
    "audio",
    "media",
    "approvals",
    "cron",
    "web",
    "canvasHost",
    "talk",
    "memory",
    "mcp",
    "skills",
    "diagnostics",
    "surfaces",
    "proxy",
    "accessGroups",
    "telemetry",
    "tts",
    "transcripts",
    "attachments",
    "worktreeRoot",
];

fn root_compat(schema: &mut Schema) {
    accept_opaque_keys(schema, COMPAT_SECTIONS);
}

static DEFAULT_GATEWAY: LazyLock<GatewayConfig> = LazyLock::new(GatewayConfig::default);
static DEFAULT_LOGGING: LazyLock<LoggingConfig> = LazyLock::new(LoggingConfig::default);
static DEFAULT_AGENTS: LazyLock<AgentsConfig> = LazyLock::new(AgentsConfig::default);

impl Config {
    /// `gateway`, or its defaults when the section is absent.
    pub fn gateway(&self) -> &GatewayConfig {
        self.gateway.as_ref().unwrap_or(&DEFAULT_GATEWAY)
    }

    pub fn logging(&self) -> &LoggingConfig {
        self.logging.as_ref().unwrap_or(&DEFAULT_LOGGING)
    }

    pub fn agents(&self) -> &AgentsConfig {
        self.agents.as_ref().unwrap_or(&DEFAULT_AGENTS)
    }

    /// The mDNS mode from `discovery.mdns.mode`, or the older `gateway.mdns.enabled`
    /// (`false` is `off`); `minimal` by default. `OPENCLAW_DISABLE_BONJOUR` is applied at runtime.
    pub fn mdns_mode(&self) -> MdnsMode {
        let discovery = self
            .discovery
            .as_ref()
            .and_then(|d| d.mdns.as_ref())
            .and_then(|m| m.mode);
        let legacy = self
            .gateway
            .as_ref()
            .and_then(|g| g.mdns.as_ref())
            .and_then(|m| m.enabled);
        match (discovery, legacy) {
            (Some(mode), _) => mode,
            (None, Some(false)) => MdnsMode::Off,
            _ => MdnsMode::Minimal,
        }
    }
}

fn build_root_schema(extra_channels: &[&str]) -> Value {
    let mut generator = SchemaSettings::draft2020_12().into_generator();
    let plugin_channel = generator.subschema_for::<channels::PluginChannelConfig>();
    let mut root = generator.into_root_schema_for::<Config>().to_value();
    if let Some(properties) = root
        .pointer_mut("/$defs/ChannelsConfig/properties")
        .and_then(Value::as_object_mut)
    {
        for id in channels::PLUGIN_CHANNELS.iter().chain(extra_channels) {
            properties
                .entry(id.to_string())
                .or_insert_with(|| plugin_channel.clone().to_value());
        }
    }
    root
}

static ROOT_SCHEMA: LazyLock<Value> = LazyLock::new(|| build_root_schema(&[]));

/// The generated JSON Schema of the whole config.
pub fn root_schema() -> &'static Value {
    &ROOT_SCHEMA
}

/// The schema with extra channel ids provided by installed plugins.
pub fn root_schema_with_channels(extra_channels: &[&str]) -> Value {
    build_root_schema(extra_channels)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::path::JsonPath;
    use crate::config::validate::schema_at;

    fn default_at(path: &str) -> Value {
        let path = JsonPath::parse(path).unwrap();
        schema_at(root_schema(), &path)
            .and_then(|s| s.get("default"))
            .cloned()
            .unwrap_or_else(|| panic!("no default documented at {path}"))
    }

    /// The defaults the schema documents are the ones the code applies.
    #[test]
    fn documented_defaults_match_the_code() {
        let empty = Config::default();
        assert_eq!(default_at("gateway.port"), Value::from(empty.gateway().port()));
        assert_eq!(default_at("gateway.bind"), "loopback");
        assert_eq!(empty.gateway().bind(), BindMode::Loopback);
        assert_eq!(default_at("session.dmScope"), "main");
        assert_eq!(default_at("discovery.mdns.mode"), "minimal");
        assert_eq!(empty.mdns_mode(), MdnsMode::Minimal);
        assert_eq!(default_at("logging.redactSensitive"), "tools");
        assert_eq!(
            empty.logging().redact_mode(),
            crate::security::redact::RedactMode::Tools
        );
        assert_eq!(
            default_at("logging.maxFileBytes"),
            Value::from(logging::DEFAULT_MAX_FILE_BYTES)
        );
        assert_eq!(
            default_at("secrets.providers.x.timeoutMs"),
            Value::from(secrets::DEFAULT_PROVIDER_TIMEOUT_MS)
        );
        assert_eq!(default_at("channels.telegram.dmPolicy"), "pairing");
        assert_eq!(default_at("channels.telegram.groupPolicy"), "allowlist");
        assert_eq!(default_at("agents.defaults.sandbox.mode"), "off");
        assert_eq!(default_at("agents.defaults.sandbox.docker.network"), "none");
        assert_eq!(empty.agents().default_agent_id(), agents::DEFAULT_AGENT_ID);
    }
}

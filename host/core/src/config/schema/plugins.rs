//! `plugins.*`: which plugins may load and what they were installed from.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::Value;

use super::common::{IdMap, Opaque, SecretInput};

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PluginLoadConfig {
    /// Extra plugin directories, searched first.
    pub paths: Option<Vec<String>>,
}

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PluginSlots {
    /// Plugin owning the memory slot (`"none"` disables).
    #[schemars(extend("default" = "memory-core"))]
    pub memory: Option<String>,
    #[schemars(extend("default" = "legacy"))]
    pub context_engine: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PluginHookPolicy {
    pub allow_prompt_injection: Option<bool>,
}

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PluginSubagentPolicy {
    pub allow_model_override: Option<bool>,
    pub allowed_models: Option<Vec<String>>,
}

/// `plugins.entries.<id>.http`: narrows the HTTP hosts the plugin's manifest requested.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PluginHttpGrant {
    /// Hosts the plugin may reach (`api.example.com`, `*.example.com`, `host:8443`); only those
    /// also in the manifest are granted. `[]` grants none.
    pub allow: Option<Vec<String>>,
    /// Private, loopback or link-local addresses (IPs or CIDRs) the plugin may reach. Refused
    /// unless listed here, and only for plugins whose manifest asks for `private-network`.
    pub allow_private_network: Option<Vec<String>>,
}

/// A secret bound to a plugin: the value, and optionally fewer hosts than the manifest asks.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum PluginSecretBinding {
    #[schemars(title = "a secret (string or SecretRef)")]
    Value(SecretInput),
    #[schemars(title = "a {value, hosts} object")]
    Scoped(ScopedSecret),
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ScopedSecret {
    pub value: SecretInput,
    /// Hosts the secret may be sent to (intersected with the manifest's hosts for it).
    pub hosts: Option<Vec<String>>,
    /// Where in a request the value may go: a subset of the slots the manifest declares for it
    /// (`{"header": "Authorization", "template": "Bearer {}"}`, `{"urlPrefix": "https://…/bot{}/"}`,
    /// `{"query": "key"}`, `{"formField": "token"}`, `{"jsonField": "/token"}`).
    pub slots: Option<Vec<ConfigSlot>>,
}

/// A secret slot as the config writes it (camelCase); see `openclaw_core::plugins::slots`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ConfigSlot {
    /// A header name; its whole value is `template` with the secret in place of `{}`.
    pub header: Option<String>,
    /// With `header`: the header value around the secret (default `{}`), e.g. `Bearer {}`.
    pub template: Option<String>,
    /// The request URL starts with this, the secret in place of `{}`.
    pub url_prefix: Option<String>,
    /// A query parameter whose whole value is the secret.
    pub query: Option<String>,
    /// A field of an `application/x-www-form-urlencoded` body whose whole value is the secret.
    pub form_field: Option<String>,
    /// A JSON pointer (`/token`) to the string in a JSON body that is the secret.
    pub json_field: Option<String>,
}

impl From<&ConfigSlot> for crate::plugins::slots::SlotSpec {
    fn from(s: &ConfigSlot) -> Self {
        Self {
            header: s.header.clone(),
            template: s.template.clone(),
            url_prefix: s.url_prefix.clone(),
            query: s.query.clone(),
            form_field: s.form_field.clone(),
            json_field: s.json_field.clone(),
        }
    }
}

impl PluginSecretBinding {
    pub fn value(&self) -> &SecretInput {
        match self {
            Self::Value(v) => v,
            Self::Scoped(s) => &s.value,
        }
    }

    pub fn hosts(&self) -> Option<&[String]> {
        match self {
            Self::Value(_) => None,
            Self::Scoped(s) => s.hosts.as_deref(),
        }
    }

    pub fn slots(&self) -> Option<&[ConfigSlot]> {
        match self {
            Self::Value(_) => None,
            Self::Scoped(s) => s.slots.as_deref(),
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PluginKvGrant {
    /// Storage quota in bytes (keys plus values), at most `plugins.limits.maxKvQuotaBytes`.
    pub quota_bytes: Option<u64>,
}

/// Resource limits for one plugin; each is capped by the operator maxima in `plugins.limits`.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PluginLimits {
    /// Linear memory per instance, in MiB (default 64; at most 256, the size of an instance
    /// slot).
    #[schemars(range(min = 1, max = 256))]
    pub memory_mb: Option<u64>,
    /// Wall-clock limit per call, in milliseconds (default 10000).
    #[schemars(range(min = 1))]
    pub timeout_ms: Option<u64>,
    /// Host calls (log, kv, http, ...) per call (default 10000).
    #[schemars(range(min = 1))]
    pub host_calls: Option<u64>,
    /// Largest HTTP response body, in bytes (default 10 MiB).
    #[schemars(range(min = 1))]
    pub http_response_bytes: Option<u64>,
    /// Per-request HTTP time limit, in milliseconds (default 30000).
    #[schemars(range(min = 1))]
    pub http_timeout_ms: Option<u64>,
    /// Messages a channel plugin may deliver per minute (default 1000); past it `deliver`
    /// answers `limit-exceeded` and the plugin should ask its platform to resend.
    #[schemars(range(min = 1))]
    pub deliveries_per_minute: Option<u64>,
    /// Bytes a channel plugin may deliver per minute (default 16 MiB).
    #[schemars(range(min = 1))]
    pub delivered_bytes_per_minute: Option<u64>,
}

/// `plugins.limits`: the operator's ceilings for every plugin's limits.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PluginMaxima {
    /// Largest memory limit any plugin gets, in MiB (at most 256, the size of an instance slot).
    #[schemars(range(min = 1, max = 256), extend("default" = 256))]
    pub max_memory_mb: Option<u64>,
    #[schemars(range(min = 1), extend("default" = 120000))]
    pub max_timeout_ms: Option<u64>,
    #[schemars(range(min = 1), extend("default" = 1000000))]
    pub max_host_calls: Option<u64>,
    #[schemars(range(min = 1), extend("default" = 67108864))]
    pub max_kv_quota_bytes: Option<u64>,
    #[schemars(range(min = 1), extend("default" = 104857600))]
    pub max_http_response_bytes: Option<u64>,
    #[schemars(range(min = 1), extend("default" = 120000))]
    pub max_http_timeout_ms: Option<u64>,
    #[schemars(range(min = 1), extend("default" = 10000000))]
    pub max_deliveries_per_minute: Option<u64>,
    #[schemars(range(min = 1), extend("default" = 68719476736u64))]
    pub max_delivered_bytes_per_minute: Option<u64>,
}

/// `plugins.entries.<id>`: per-plugin switches and configuration.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PluginEntry {
    pub enabled: Option<bool>,
    /// The plugin's own configuration, validated against the schema in its manifest.
    pub config: Option<Value>,
    /// Narrows the plugin's HTTP grant.
    pub http: Option<PluginHttpGrant>,
    /// Values for the secrets the plugin's manifest names, by name.
    pub secrets: Option<IdMap<PluginSecretBinding>>,
    pub kv: Option<PluginKvGrant>,
    /// Grants sandbox command execution (also requested in the manifest). Off by default.
    pub sandbox_exec: Option<bool>,
    pub limits: Option<PluginLimits>,
    pub api_key: Option<SecretInput>,
    pub env: Option<BTreeMap<String, String>>,
    pub hooks: Option<PluginHookPolicy>,
    pub subagent: Option<PluginSubagentPolicy>,
    /// Newer OpenClaw per-plugin model settings (accepted for compatibility).
    pub llm: Option<Opaque>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum InstallSource {
    Npm,
    Archive,
    Path,
    Clawhub,
    Git,
    Marketplace,
}

/// `plugins.installs.<id>`: where an installed plugin came from, written by
/// `openclaw plugins install`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct InstallRecord {
    pub source: InstallSource,
    pub spec: Option<String>,
    pub source_path: Option<String>,
    pub install_path: Option<String>,
    pub version: Option<String>,
    pub resolved_name: Option<String>,
    pub resolved_version: Option<String>,
    pub resolved_spec: Option<String>,
    pub integrity: Option<String>,
    pub shasum: Option<String>,
    /// SHA-256 of the plugin's WebAssembly component, verified at every load.
    #[schemars(regex(pattern = r"^[0-9a-f]{64}$"))]
    pub sha256: Option<String>,
    /// SHA-256 of the plugin's manifest (`openclaw-plugin.toml`), verified at every load: the
    /// manifest decides what the plugin asks for, so it is pinned with the component.
    #[schemars(regex(pattern = r"^[0-9a-f]{64}$"))]
    pub manifest_sha256: Option<String>,
    /// The tool names the plugin provided when it was installed or pinned; another plugin that
    /// provides one of them is refused at install.
    pub tools: Option<Vec<String>>,
    /// Plugin API version the package was built for.
    pub api_version: Option<String>,
    /// Pinned (`plugins install --pin`, `plugins pin`): neither `plugins install` nor
    /// `plugins update` replaces it until `plugins unpin`.
    pub pinned: Option<bool>,
    pub resolved_at: Option<String>,
    pub installed_at: Option<String>,
    pub clawhub_url: Option<String>,
    pub clawhub_package: Option<String>,
    pub clawhub_family: Option<String>,
    pub clawhub_channel: Option<String>,
    pub marketplace_name: Option<String>,
    pub marketplace_source: Option<String>,
    pub marketplace_plugin: Option<String>,
    pub git_url: Option<String>,
    pub git_ref: Option<String>,
    pub git_commit: Option<String>,
    pub format: Option<String>,
    pub bundle_format: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PluginsConfig {
    /// Master switch for loading plugins.
    #[schemars(extend("default" = true))]
    pub enabled: Option<bool>,
    /// Plugin ids allowed to load. Empty or absent: no plugin loads (bundled ones included).
    pub allow: Option<Vec<String>>,
    /// Plugin ids that never load (wins over `allow`).
    pub deny: Option<Vec<String>>,
    pub load: Option<PluginLoadConfig>,
    pub slots: Option<PluginSlots>,
    pub entries: Option<IdMap<PluginEntry>>,
    pub installs: Option<IdMap<InstallRecord>>,
    /// Ceilings for every plugin's limits.
    pub limits: Option<PluginMaxima>,
}

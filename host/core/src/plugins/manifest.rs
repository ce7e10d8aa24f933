//! `openclaw-plugin.toml`: what a plugin is and what it asks for.
//!
//! ```toml
//! id = "web-fetch"
//! name = "Web fetch"
//! version = "0.1.0"
//! api = "0.1.0"          # plugin API (WIT package) version it was built for
//! kind = "tool"          # or "channel"
//!
//! [component]
//! file = "web_fetch.wasm"
//! sha256 = "…"           # filled in by `openclaw plugins pack`
//!
//! [capabilities]
//! http = ["api.example.com", "*.example.org:8443"]
//! private-network = false
//! kv-quota-bytes = 65536
//! sandbox-exec = false
//! [[capabilities.secrets]]
//! name = "EXAMPLE_TOKEN"
//! hosts = ["api.example.com"]
//! slots = [{ header = "Authorization", template = "Bearer {}" }]
//!
//! [limits]               # what the plugin needs; the operator's limits cap it
//! memory-mb = 32
//! timeout-ms = 15000
//!
//! [config.schema]        # JSON Schema of plugins.entries.<id>.config
//! type = "object"
//! ```

use semver::Version;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::hosts::HostPattern;
use super::slots::{MANIFEST_KEYS, ManifestSlot, SecretSlot, SlotSpec};

/// Manifest file name inside a plugin directory or package.
pub const MANIFEST_FILE: &str = "openclaw-plugin.toml";

/// In `capabilities.http`, `"*"` asks for whichever hosts the operator lists in
/// `plugins.entries.<id>.http.allow` (a general web tool cannot name them in advance). Without
/// such a list it grants nothing: empty still means deny.
pub const OPERATOR_CHOSEN_HOSTS: &str = "*";

/// The plugin API version this gateway implements (the WIT package version).
pub const HOST_API_VERSION: &str = "0.1.0";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PluginKind {
    Tool,
    Channel,
}

impl PluginKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Tool => "tool",
            Self::Channel => "channel",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ComponentSection {
    /// The component file, relative to the manifest (no `..`, no absolute path).
    pub file: String,
    /// Lower-case hex SHA-256 of the component; required in a package.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct SecretRequest {
    /// The name the plugin uses in `{{secret:NAME}}` placeholders.
    pub name: String,
    /// Hosts the secret may be sent to.
    pub hosts: Vec<String>,
    /// Where in a request to those hosts the value may go (see [`super::slots`]).
    #[serde(default)]
    pub slots: Vec<ManifestSlot>,
}

impl SecretRequest {
    /// The parsed slots (a manifest that passed [`Manifest::parse`] has only valid ones).
    pub fn parsed_slots(&self) -> Result<Vec<SecretSlot>, String> {
        self.slots
            .iter()
            .map(|s| SlotSpec::from(s).to_slot(&MANIFEST_KEYS))
            .collect()
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Capabilities {
    /// HTTP hosts: `host`, `host:port` or `*.domain` (one leading wildcard label); `"*"` lets the
    /// operator choose them (see [`OPERATOR_CHOSEN_HOSTS`]).
    #[serde(default)]
    pub http: Vec<String>,
    /// Asks to reach private, loopback or link-local addresses (the operator must also list them).
    #[serde(default)]
    pub private_network: bool,
    #[serde(default)]
    pub secrets: Vec<SecretRequest>,
    /// Key-value storage wanted, in bytes (0 or absent: none).
    #[serde(default)]
    pub kv_quota_bytes: Option<u64>,
    /// Asks to run commands in the agent's sandbox (the operator must also grant it).
    #[serde(default)]
    pub sandbox_exec: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RequestedLimits {
    pub memory_mb: Option<u64>,
    pub timeout_ms: Option<u64>,
    pub host_calls: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ConfigSection {
    /// JSON Schema of the plugin's configuration.
    pub schema: Value,
}

/// How the host verifies a channel's webhook before the plugin sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum WebhookVerify {
    /// A header must equal a secret (Telegram's `X-Telegram-Bot-Api-Secret-Token`).
    HeaderEquals { header: String, secret: String },
    /// A header carries `prefix` + hex HMAC-SHA256 of the body keyed with a secret (GitHub style).
    HmacSha256 {
        header: String,
        secret: String,
        #[serde(default)]
        prefix: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ChannelSection {
    /// The channel id this plugin provides (`channels.<id>` in the config).
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook: Option<WebhookVerify>,
    /// Secrets whose values come from the channel's own config (`channels.<id>` and each of its
    /// accounts), as OpenClaw operators write them (`botToken`, `tokenFile`,
    /// `TELEGRAM_BOT_TOKEN`), instead of `plugins.entries.<id>.secrets`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub secrets: Vec<ChannelSecretSource>,
}

/// Where the value of one of a channel plugin's secrets comes from, per account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ChannelSecretSource {
    /// The secret (one the manifest requests under `capabilities.secrets`, or the webhook's).
    pub name: String,
    /// Key of the channel (or account) config holding the value or a SecretRef.
    pub config_key: String,
    /// Key naming a file that holds the value (a regular file; links are refused).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_key: Option<String>,
    /// Environment variable used for the default account when the config sets neither.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub env: Option<String>,
}

/// A parsed, checked manifest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Manifest {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub version: Version,
    /// The plugin API version the component was built for.
    pub api: Version,
    pub kind: PluginKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub component: ComponentSection,
    #[serde(default)]
    pub capabilities: Capabilities,
    #[serde(default)]
    pub limits: RequestedLimits,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<ConfigSection>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<ChannelSection>,
}

/// A manifest that cannot be used, with the field and the fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}: {field}: {message}")]
pub struct ManifestError {
    pub file: String,
    /// The manifest key at fault (`capabilities.http[0]`), or `<file>` for syntax errors.
    pub field: String,
    pub message: String,
}

/// Plugin ids: what `plugins.allow` and `plugins.entries` use.
pub fn valid_plugin_id(id: &str) -> bool {
    let bytes = id.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= 64
        && bytes[0].is_ascii_lowercase()
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-' || *b == b'_')
}

/// Secret names in placeholders.
pub fn valid_secret_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 128
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.')
}

impl Manifest {
    /// Parses and checks a manifest's text. `file` is used in error messages.
    pub fn parse(text: &str, file: &str) -> Result<Self, ManifestError> {
        let err = |field: &str, message: String| ManifestError {
            file: file.to_string(),
            field: field.to_string(),
            message,
        };
        let manifest: Manifest = toml::from_str(text).map_err(|e| {
            let field = e
                .span()
                .map(|s| {
                    let before = &text[..s.start.min(text.len())];
                    let line = before.matches('\n').count() + 1;
                    let column = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
                    format!("line {line}, column {column}")
                })
                .unwrap_or_else(|| "<file>".into());
            err(&field, e.message().to_string())
        })?;
        if !valid_plugin_id(&manifest.id) {
            return Err(err(
                "id",
                format!(
                    "\"{}\" is not a plugin id: a lower-case letter, then lower-case letters, digits, `-` or `_` (max 64)",
                    manifest.id
                ),
            ));
        }
        let file_name = &manifest.component.file;
        if file_name.is_empty()
            || file_name.starts_with('/')
            || file_name.split(['/', '\\']).any(|part| part == ".." || part.is_empty())
        {
            return Err(err(
                "component.file",
                format!("\"{file_name}\" must be a relative path inside the plugin (no `..`, not absolute)"),
            ));
        }
        if let Some(digest) = &manifest.component.sha256
            && (digest.len() != 64 || !digest.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)))
        {
            return Err(err("component.sha256", "must be 64 lower-case hex characters".into()));
        }
        for (i, host) in manifest.capabilities.http.iter().enumerate() {
            if host.trim() == OPERATOR_CHOSEN_HOSTS {
                continue;
            }
            HostPattern::parse(host).map_err(|e| err(&format!("capabilities.http[{i}]"), e))?;
        }
        for (i, secret) in manifest.capabilities.secrets.iter().enumerate() {
            if !valid_secret_name(&secret.name) {
                return Err(err(
                    &format!("capabilities.secrets[{i}].name"),
                    format!(
                        "\"{}\" is not a secret name (letters, digits, `_`, `-`, `.`)",
                        secret.name
                    ),
                ));
            }
            if secret.hosts.is_empty() {
                return Err(err(
                    &format!("capabilities.secrets[{i}].hosts"),
                    "name at least one host the secret may be sent to".into(),
                ));
            }
            let mut hosts = Vec::new();
            for (j, host) in secret.hosts.iter().enumerate() {
                hosts.push(
                    HostPattern::parse(host).map_err(|e| err(&format!("capabilities.secrets[{i}].hosts[{j}]"), e))?,
                );
            }
            if secret.slots.is_empty() {
                return Err(err(
                    &format!("capabilities.secrets[{i}].slots"),
                    format!(
                        "name where the value of \"{}\" goes, e.g. slots = [{{ header = \"Authorization\", template = \"Bearer {{}}\" }}] \
                         or [{{ url-prefix = \"https://api.example.com/bot{{}}/\" }}]; other slot kinds: query, form-field, json-field",
                        secret.name
                    ),
                ));
            }
            for (j, slot) in secret.slots.iter().enumerate() {
                let field = format!("capabilities.secrets[{i}].slots[{j}]");
                let slot = SlotSpec::from(slot)
                    .to_slot(&MANIFEST_KEYS)
                    .map_err(|e| err(&field, e))?;
                if let SecretSlot::UrlPrefix(prefix) = &slot
                    && !prefix
                        .host_pattern()
                        .is_some_and(|p| hosts.iter().any(|h| h.covers(&p)))
                {
                    return Err(err(
                        &field,
                        format!(
                            "the URL prefix goes to {}:{}, which is not among the secret's hosts ({})",
                            prefix.host,
                            prefix.port,
                            secret.hosts.join(", ")
                        ),
                    ));
                }
            }
        }
        match (manifest.kind, &manifest.channel) {
            (PluginKind::Channel, None) => {
                return Err(err(
                    "channel",
                    "a channel plugin needs a [channel] section with the channel id it provides".into(),
                ));
            }
            (PluginKind::Tool, Some(_)) => {
                return Err(err("channel", "only channel plugins have a [channel] section".into()));
            }
            (PluginKind::Channel, Some(channel)) if !valid_plugin_id(&channel.id) => {
                return Err(err(
                    "channel.id",
                    format!("\"{}\" is not a valid channel id", channel.id),
                ));
            }
            (PluginKind::Channel, Some(channel)) => {
                let webhook_secret = channel.webhook.as_ref().map(|recipe| match recipe {
                    WebhookVerify::HeaderEquals { secret, .. } | WebhookVerify::HmacSha256 { secret, .. } => {
                        secret.as_str()
                    }
                });
                for (i, source) in channel.secrets.iter().enumerate() {
                    let requested = manifest.capabilities.secrets.iter().any(|s| s.name == source.name);
                    if !requested && webhook_secret != Some(source.name.as_str()) {
                        return Err(err(
                            &format!("channel.secrets[{i}].name"),
                            format!(
                                "\"{}\" is neither a secret under capabilities.secrets nor the webhook's secret",
                                source.name
                            ),
                        ));
                    }
                    if source.config_key.trim().is_empty() {
                        return Err(err(
                            &format!("channel.secrets[{i}].config-key"),
                            "must name the channel config key holding the value".into(),
                        ));
                    }
                }
            }
            _ => {}
        }
        if let Some(config) = &manifest.config
            && !config.schema.is_object()
        {
            return Err(err("config.schema", "must be a JSON Schema object".into()));
        }
        Ok(manifest)
    }

    /// The display name, or the id.
    pub fn display_name(&self) -> &str {
        self.name.as_deref().unwrap_or(&self.id)
    }
}

/// Whether a plugin built for `plugin_api` can run on a host implementing `host_api`: same major
/// (and same minor while the major is 0, where minors break), and not newer than the host.
pub fn api_compatible(plugin_api: &Version, host_api: &Version) -> bool {
    if plugin_api.major != host_api.major {
        return false;
    }
    if host_api.major == 0 && plugin_api.minor != host_api.minor {
        return false;
    }
    plugin_api <= host_api
}

/// The host's API version.
pub fn host_api() -> Version {
    Version::new(0, 1, 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
id = "web-fetch"
name = "Web fetch"
version = "1.2.3"
api = "0.1.0"
kind = "tool"

[component]
file = "web_fetch.wasm"

[capabilities]
http = ["api.example.com", "*.example.org:8443"]
kv-quota-bytes = 4096
[[capabilities.secrets]]
name = "EXAMPLE_TOKEN"
hosts = ["api.example.com"]
slots = [{ header = "Authorization", template = "Bearer {}" }, { url-prefix = "https://api.example.com/v1/{}/" }]

[limits]
memory-mb = 32

[config.schema]
type = "object"
"#;

    #[test]
    fn parses_a_full_manifest() {
        let m = Manifest::parse(GOOD, "m.toml").unwrap();
        assert_eq!(m.id, "web-fetch");
        assert_eq!(m.version, Version::new(1, 2, 3));
        assert_eq!(m.capabilities.http.len(), 2);
        assert_eq!(m.capabilities.kv_quota_bytes, Some(4096));
        assert_eq!(m.limits.memory_mb, Some(32));
        assert_eq!(m.display_name(), "Web fetch");
    }

    #[test]
    fn refuses_bad_manifests_with_the_field() {
        let cases = [
            (GOOD.replace("id = \"web-fetch\"", "id = \"Web Fetch\""), "id"),
            (GOOD.replace("web_fetch.wasm", "../escape.wasm"), "component.file"),
            (GOOD.replace("web_fetch.wasm", "/abs.wasm"), "component.file"),
            (
                GOOD.replace("\"api.example.com\", ", "\"https://api.example.com/x\", "),
                "capabilities.http[0]",
            ),
            (GOOD.replace("*.example.org:8443", "api.*.org"), "capabilities.http[1]"),
            (
                GOOD.replace("name = \"EXAMPLE_TOKEN\"", "name = \"bad name\""),
                "capabilities.secrets[0].name",
            ),
            (GOOD.replace("kind = \"tool\"", "kind = \"channel\""), "channel"),
            (
                GOOD.replace(
                    "slots = [{ header = \"Authorization\", template = \"Bearer {}\" }, { url-prefix = \"https://api.example.com/v1/{}/\" }]\n",
                    "",
                ),
                "capabilities.secrets[0].slots",
            ),
            (
                GOOD.replace("template = \"Bearer {}\"", "template = \"Bearer\""),
                "capabilities.secrets[0].slots[0]",
            ),
            (
                GOOD.replace("https://api.example.com/v1/{}/", "https://evil.example.net/v1/{}/"),
                "capabilities.secrets[0].slots[1]",
            ),
            (
                GOOD.replace("{ url-prefix =", "{ url-prefix = \"https://api.example.com/{}\", query ="),
                "capabilities.secrets[0].slots[1]",
            ),
        ];
        for (text, field) in cases {
            let err = Manifest::parse(&text, "m.toml").unwrap_err();
            assert_eq!(err.field, field, "{err}");
        }
        let err = Manifest::parse(
            &GOOD.replace("kind = \"tool\"", "kind = \"tool\"\nunknown = 1"),
            "m.toml",
        )
        .unwrap_err();
        assert!(err.message.contains("unknown field"), "{err}");
        let err = Manifest::parse("id = ", "m.toml").unwrap_err();
        assert!(err.to_string().starts_with("m.toml:"), "{err}");
    }

    #[test]
    fn channel_secret_sources_name_a_declared_secret() {
        let channel = GOOD.replace("kind = \"tool\"", "kind = \"channel\"")
            + "\n[channel]\nid = \"example\"\n\n[[channel.secrets]]\nname = \"EXAMPLE_TOKEN\"\nconfig-key = \"botToken\"\nfile-key = \"tokenFile\"\nenv = \"EXAMPLE_TOKEN\"\n";
        let manifest = Manifest::parse(&channel, "m.toml").unwrap();
        let section = manifest.channel.unwrap();
        assert_eq!(section.secrets[0].config_key, "botToken");
        assert_eq!(section.secrets[0].env.as_deref(), Some("EXAMPLE_TOKEN"));
        let undeclared = channel.replace("name = \"EXAMPLE_TOKEN\"\nconfig-key", "name = \"OTHER\"\nconfig-key");
        let err = Manifest::parse(&undeclared, "m.toml").unwrap_err();
        assert_eq!(err.field, "channel.secrets[0].name", "{err}");
        let empty_key = channel.replace("config-key = \"botToken\"", "config-key = \" \"");
        let err = Manifest::parse(&empty_key, "m.toml").unwrap_err();
        assert_eq!(err.field, "channel.secrets[0].config-key", "{err}");
    }

    #[test]
    fn api_compatibility() {
        let v = |s: &str| Version::parse(s).unwrap();
        assert!(api_compatible(&v("0.1.0"), &v("0.1.0")));
        assert!(api_compatible(&v("0.1.0"), &v("0.1.3")));
        assert!(
            !api_compatible(&v("0.1.4"), &v("0.1.3")),
            "a newer plugin needs imports the host lacks"
        );
        assert!(!api_compatible(&v("0.2.0"), &v("0.1.0")));
        assert!(!api_compatible(&v("1.0.0"), &v("0.1.0")));
        assert!(api_compatible(&v("1.0.0"), &v("1.4.0")));
        assert!(!api_compatible(&v("2.0.0"), &v("1.4.0")));
    }
}

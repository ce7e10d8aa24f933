//! The effective grant of a plugin: what its manifest requests, intersected with what the
//! operator allows. Computed once, as data, before the plugin runs; the runtime only enforces it.
//!
//! Rules (every list is "empty means deny"):
//! - nothing loads unless `plugins.enabled` is not false, the id is in `plugins.allow`, not in
//!   `plugins.deny`, and `plugins.entries.<id>.enabled` is not false;
//! - HTTP hosts: the manifest's, narrowed by `plugins.entries.<id>.http.allow` when set;
//! - private, loopback and link-local destinations: only the networks the operator lists in
//!   `http.allowPrivateNetwork`, and only if the manifest asks for `private-network`;
//! - secrets: only those the manifest names *and* the operator binds a value to; each may go to
//!   the manifest's hosts for it, narrowed by the binding's `hosts`, and only to granted hosts;
//! - key-value quota: the smaller of the request and the operator's value, capped;
//! - sandbox exec: requested and granted (`sandboxExec: true`), never by default;
//! - limits: requested, overridden by the operator, capped by `plugins.limits`.

use ipnet::IpNet;
use serde::Serialize;
use serde_json::Value;

use super::hosts::{self, HostPattern};
use super::manifest::{Manifest, OPERATOR_CHOSEN_HOSTS, PluginKind, WebhookVerify, api_compatible, host_api};
use super::slots::{CONFIG_KEYS, SecretSlot, SlotSpec, describe};
use crate::config::issue::Issue;
use crate::config::path::JsonPath;
use crate::config::schema::plugins::{PluginEntry, PluginMaxima, PluginsConfig};

pub const DEFAULT_MEMORY_MB: u64 = 64;
pub const DEFAULT_TIMEOUT_MS: u64 = 10_000;
pub const DEFAULT_HOST_CALLS: u64 = 10_000;
pub const DEFAULT_HTTP_RESPONSE_BYTES: u64 = 10 * 1024 * 1024;
pub const DEFAULT_HTTP_TIMEOUT_MS: u64 = 30_000;
/// A channel's inbound messages per minute: a flood guard sized for a personal assistant; a busy
/// bot raises it with `plugins.entries.<id>.limits.deliveriesPerMinute`.
pub const DEFAULT_DELIVERIES_PER_MINUTE: u64 = 1_000;
pub const DEFAULT_DELIVERED_BYTES_PER_MINUTE: u64 = 16 << 20;

pub const MAX_MEMORY_MB: u64 = 256;
pub const MAX_TIMEOUT_MS: u64 = 120_000;
pub const MAX_HOST_CALLS: u64 = 1_000_000;
pub const MAX_KV_QUOTA_BYTES: u64 = 64 * 1024 * 1024;
pub const MAX_HTTP_RESPONSE_BYTES: u64 = 100 * 1024 * 1024;
pub const MAX_HTTP_TIMEOUT_MS: u64 = 120_000;
pub const MAX_DELIVERIES_PER_MINUTE: u64 = 10_000_000;
pub const MAX_DELIVERED_BYTES_PER_MINUTE: u64 = 64 << 30;

/// Resource limits enforced per call (tools) or per store (channels).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Limits {
    pub memory_bytes: u64,
    pub timeout_ms: u64,
    pub host_calls: u64,
    pub http_response_bytes: u64,
    pub http_timeout_ms: u64,
    /// Messages a channel may deliver per minute (the ingress journal bounds what waits; this
    /// bounds how fast one plugin may fill it).
    pub deliveries_per_minute: u64,
    pub delivered_bytes_per_minute: u64,
}

/// A secret the plugin may use: the hosts it may be sent to and the slots of a request it may
/// fill there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SecretGrant {
    pub name: String,
    pub hosts: Vec<HostPattern>,
    pub slots: Vec<SecretSlot>,
}

/// Everything a loaded plugin may do.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EffectiveGrant {
    pub plugin_id: String,
    pub kind: PluginKind,
    pub http: Vec<HostPattern>,
    #[serde(serialize_with = "serialize_nets")]
    pub private_networks: Vec<IpNet>,
    pub secrets: Vec<SecretGrant>,
    /// The secret that verifies the channel's webhook requests (`[channel.webhook]`): only the
    /// host ever uses its value, and it is scrubbed from everything the plugin is handed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub webhook_secret: Option<String>,
    pub kv_quota_bytes: u64,
    pub sandbox_exec: bool,
    pub limits: Limits,
    /// The plugin's configuration (validated against its schema).
    pub config: Value,
    /// What was requested but not granted, and why (shown by `openclaw plugins info`).
    pub withheld: Vec<String>,
}

fn serialize_nets<S: serde::Serializer>(nets: &[IpNet], serializer: S) -> Result<S::Ok, S::Error> {
    serializer.collect_seq(nets.iter().map(ToString::to_string))
}

impl EffectiveGrant {
    /// The grant for a secret name, if any.
    pub fn secret(&self, name: &str) -> Option<&SecretGrant> {
        self.secrets.iter().find(|s| s.name == name)
    }
}

/// Why a plugin does not load.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Refusal {
    /// Stable code: `plugins-disabled`, `denied`, `not-allowed`, `disabled`, `api-incompatible`,
    /// `invalid-grant`, `invalid-config`.
    pub code: &'static str,
    pub reason: String,
    pub fix: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "decision", rename_all = "lowercase")]
pub enum Decision {
    Load(Box<EffectiveGrant>),
    Refuse(Refusal),
}

fn refuse(code: &'static str, reason: String, fix: String) -> Decision {
    Decision::Refuse(Refusal { code, reason, fix })
}

fn cap(value: u64, ceiling: u64) -> u64 {
    value.min(ceiling).max(1)
}

fn limits(manifest: &Manifest, entry: &PluginEntry, maxima: &PluginMaxima) -> Limits {
    let operator = entry.limits.clone().unwrap_or_default();
    let pick = |op: Option<u64>, req: Option<u64>, default: u64, max: Option<u64>, hard_max: u64| {
        cap(op.or(req).unwrap_or(default), max.unwrap_or(hard_max))
    };
    Limits {
        memory_bytes: pick(
            operator.memory_mb,
            manifest.limits.memory_mb,
            DEFAULT_MEMORY_MB,
            // The instance slot size is a hard limit, whatever the operator's ceiling says.
            maxima.max_memory_mb.map(|m| m.min(MAX_MEMORY_MB)),
            MAX_MEMORY_MB,
        ) * 1024
            * 1024,
        timeout_ms: pick(
            operator.timeout_ms,
            manifest.limits.timeout_ms,
            DEFAULT_TIMEOUT_MS,
            maxima.max_timeout_ms,
            MAX_TIMEOUT_MS,
        ),
        host_calls: pick(
            operator.host_calls,
            manifest.limits.host_calls,
            DEFAULT_HOST_CALLS,
            maxima.max_host_calls,
            MAX_HOST_CALLS,
        ),
        http_response_bytes: pick(
            operator.http_response_bytes,
            None,
            DEFAULT_HTTP_RESPONSE_BYTES,
            maxima.max_http_response_bytes,
            MAX_HTTP_RESPONSE_BYTES,
        ),
        http_timeout_ms: pick(
            operator.http_timeout_ms,
            None,
            DEFAULT_HTTP_TIMEOUT_MS,
            maxima.max_http_timeout_ms,
            MAX_HTTP_TIMEOUT_MS,
        ),
        deliveries_per_minute: pick(
            operator.deliveries_per_minute,
            None,
            DEFAULT_DELIVERIES_PER_MINUTE,
            maxima.max_deliveries_per_minute,
            MAX_DELIVERIES_PER_MINUTE,
        ),
        delivered_bytes_per_minute: pick(
            operator.delivered_bytes_per_minute,
            None,
            DEFAULT_DELIVERED_BYTES_PER_MINUTE,
            maxima.max_delivered_bytes_per_minute,
            MAX_DELIVERED_BYTES_PER_MINUTE,
        ),
    }
}

fn patterns(items: &[String], field: &str) -> Result<Vec<HostPattern>, (String, String)> {
    items
        .iter()
        .map(|h| HostPattern::parse(h).map_err(|e| (format!("{field}: {e}"), format!("fix {field}"))))
        .collect()
}

/// Validates the plugin's configuration against the schema in its manifest.
pub fn validate_plugin_config(manifest: &Manifest, config: &Value) -> Vec<Issue> {
    match &manifest.config {
        Some(section) => crate::config::validate::validate(&section.schema, config),
        None => Vec::new(),
    }
}

/// Decides whether `manifest`'s plugin loads under `plugins`, and with what grant.
pub fn decide(manifest: &Manifest, plugins: &PluginsConfig) -> Decision {
    let id = manifest.id.as_str();
    let entry_path = format!("plugins.entries.{id}");
    if plugins.enabled == Some(false) {
        return refuse(
            "plugins-disabled",
            "plugins.enabled is false: no plugin loads".into(),
            "set plugins.enabled to true".into(),
        );
    }
    if plugins.deny.iter().flatten().any(|d| d == id) {
        return refuse(
            "denied",
            format!("\"{id}\" is in plugins.deny"),
            format!("remove \"{id}\" from plugins.deny"),
        );
    }
    let allow = plugins.allow.as_deref().unwrap_or_default();
    if !allow.iter().any(|a| a == id) {
        let reason = if allow.is_empty() {
            format!("plugins.allow is empty, so no plugin loads (\"{id}\" included)")
        } else {
            format!("\"{id}\" is not in plugins.allow")
        };
        return refuse(
            "not-allowed",
            reason,
            format!("review `openclaw plugins info {id}`, then `openclaw plugins enable {id}`"),
        );
    }
    let entry = plugins
        .entries
        .as_ref()
        .and_then(|e| e.get(id))
        .cloned()
        .unwrap_or_default();
    if entry.enabled == Some(false) {
        return refuse(
            "disabled",
            format!("{entry_path}.enabled is false"),
            format!("openclaw plugins enable {id}"),
        );
    }
    let host = host_api();
    if !api_compatible(&manifest.api, &host) {
        return refuse(
            "api-incompatible",
            format!(
                "\"{id}\" was built for plugin API {} but this gateway implements {host}",
                manifest.api
            ),
            format!("rebuild the plugin against openclaw-plugin-sdk {host}, or install a matching version"),
        );
    }

    let mut withheld = Vec::new();
    let operator_chosen = manifest
        .capabilities
        .http
        .iter()
        .any(|h| h.trim() == OPERATOR_CHOSEN_HOSTS);
    let specific: Vec<String> = manifest
        .capabilities
        .http
        .iter()
        .filter(|h| h.trim() != OPERATOR_CHOSEN_HOSTS)
        .cloned()
        .collect();
    let requested_http = match patterns(&specific, "capabilities.http") {
        Ok(p) => p,
        Err((reason, fix)) => return refuse("invalid-grant", reason, fix),
    };
    let http_grant = entry.http.clone().unwrap_or_default();
    let http = match &http_grant.allow {
        None => {
            if operator_chosen {
                withheld.push(format!(
                    "http *: the plugin lets the operator choose its hosts, and {entry_path}.http.allow lists none"
                ));
            }
            requested_http.clone()
        }
        Some(allowed) => match patterns(allowed, &format!("{entry_path}.http.allow")) {
            Ok(allowed) if operator_chosen => {
                let mut all = allowed;
                all.sort();
                all.dedup();
                all
            }
            Ok(allowed) => hosts::intersect(&requested_http, &allowed),
            Err((reason, fix)) => return refuse("invalid-grant", reason, fix),
        },
    };
    for r in &requested_http {
        if !http.iter().any(|g| r.covers(g) || g.covers(r)) {
            withheld.push(format!("http {r}: not in {entry_path}.http.allow"));
        }
    }

    let operator_private = http_grant.allow_private_network.clone().unwrap_or_default();
    let private_networks = match hosts::parse_networks(&operator_private) {
        Ok(nets) if manifest.capabilities.private_network => nets,
        Ok(nets) => {
            if !nets.is_empty() {
                withheld.push(format!(
                    "private networks: {entry_path}.http.allowPrivateNetwork is set but the manifest does not ask for private-network"
                ));
            }
            Vec::new()
        }
        Err(e) => {
            return refuse(
                "invalid-grant",
                format!("{entry_path}.http.allowPrivateNetwork: {e}"),
                "use IPs or CIDRs".into(),
            );
        }
    };
    if manifest.capabilities.private_network && private_networks.is_empty() {
        withheld.push(format!(
            "private networks: requested, but {entry_path}.http.allowPrivateNetwork lists none"
        ));
    }

    let bindings = entry.secrets.clone().unwrap_or_default();
    let mut secrets = Vec::new();
    for request in &manifest.capabilities.secrets {
        let Some(binding) = bindings.get(&request.name) else {
            withheld.push(format!(
                "secret {}: no value bound at {entry_path}.secrets.{}",
                request.name, request.name
            ));
            continue;
        };
        let requested = match patterns(&request.hosts, "capabilities.secrets.hosts") {
            Ok(p) => p,
            Err((reason, fix)) => return refuse("invalid-grant", reason, fix),
        };
        let mut allowed_hosts = hosts::intersect(&requested, &http);
        if let Some(narrow) = binding.hosts() {
            match patterns(narrow, &format!("{entry_path}.secrets.{}.hosts", request.name)) {
                Ok(narrow) => allowed_hosts = hosts::intersect(&allowed_hosts, &narrow),
                Err((reason, fix)) => return refuse("invalid-grant", reason, fix),
            }
        }
        if allowed_hosts.is_empty() {
            withheld.push(format!("secret {}: none of its hosts is granted", request.name));
            continue;
        }
        let declared = match request.parsed_slots() {
            Ok(slots) => slots,
            Err(e) => {
                return refuse(
                    "invalid-grant",
                    format!("capabilities.secrets {}: {e}", request.name),
                    "fix the plugin's manifest".into(),
                );
            }
        };
        let mut slots = match binding.slots() {
            None => declared.clone(),
            Some(narrow) => {
                let mut kept = Vec::new();
                for (i, spec) in narrow.iter().enumerate() {
                    let path = format!("{entry_path}.secrets.{}.slots[{i}]", request.name);
                    let slot = match SlotSpec::from(spec).to_slot(&CONFIG_KEYS) {
                        Ok(slot) => slot,
                        Err(e) => return refuse("invalid-grant", format!("{path}: {e}"), format!("fix {path}")),
                    };
                    if declared.contains(&slot) {
                        kept.push(slot);
                    } else {
                        withheld.push(format!(
                            "secret {}: {path} ({slot}) is not a slot the manifest declares ({}), so it is not granted",
                            request.name,
                            describe(&declared)
                        ));
                    }
                }
                kept
            }
        };
        // A URL prefix carries its own host, which must still be granted for this secret.
        slots.retain(|slot| match slot {
            SecretSlot::UrlPrefix(prefix) => {
                let kept = prefix
                    .host_pattern()
                    .is_some_and(|p| allowed_hosts.iter().any(|h| h.covers(&p)));
                if !kept {
                    withheld.push(format!(
                        "secret {}: slot {slot} goes to a host that is not granted for it",
                        request.name
                    ));
                }
                kept
            }
            _ => true,
        });
        if slots.is_empty() {
            withheld.push(format!(
                "secret {}: no slot is left for it, so its placeholder is refused everywhere",
                request.name
            ));
            continue;
        }
        secrets.push(SecretGrant {
            name: request.name.clone(),
            hosts: allowed_hosts,
            slots,
        });
    }
    let webhook_secret = manifest
        .channel
        .as_ref()
        .and_then(|c| c.webhook.as_ref())
        .map(|recipe| match recipe {
            WebhookVerify::HeaderEquals { secret, .. } | WebhookVerify::HmacSha256 { secret, .. } => secret.clone(),
        });
    for name in bindings.keys() {
        if !manifest.capabilities.secrets.iter().any(|s| &s.name == name) && webhook_secret.as_ref() != Some(name) {
            withheld.push(format!(
                "secret {name}: bound by the operator but not requested by the manifest (ignored)"
            ));
        }
    }

    let maxima = plugins.limits.clone().unwrap_or_default();
    let kv_ceiling = maxima.max_kv_quota_bytes.unwrap_or(MAX_KV_QUOTA_BYTES);
    let kv_quota_bytes = match manifest.capabilities.kv_quota_bytes.unwrap_or(0) {
        0 => 0,
        requested => {
            let operator = entry.kv.as_ref().and_then(|k| k.quota_bytes).unwrap_or(requested);
            requested.min(operator).min(kv_ceiling)
        }
    };

    let sandbox_exec = manifest.capabilities.sandbox_exec && entry.sandbox_exec == Some(true);
    if manifest.capabilities.sandbox_exec && !sandbox_exec {
        withheld.push(format!(
            "sandbox exec: requested, but {entry_path}.sandboxExec is not true"
        ));
    }

    let config = entry
        .config
        .clone()
        .unwrap_or_else(|| Value::Object(Default::default()));
    let issues: Vec<Issue> = validate_plugin_config(manifest, &config)
        .into_iter()
        .filter(Issue::is_error)
        .collect();
    if !issues.is_empty() {
        let described: Vec<String> = issues
            .iter()
            .map(|i| {
                let path = JsonPath::parse(&format!("{entry_path}.config"))
                    .map(|base| base.join(i.path.segments()).to_string())
                    .unwrap_or_else(|_| i.path.to_string());
                let mut issue = i.clone();
                issue.location = None;
                format!(
                    "{path}: {}",
                    issue
                        .to_string()
                        .split_once(": ")
                        .map(|(_, m)| m)
                        .unwrap_or(&issue.message)
                )
            })
            .collect();
        return refuse(
            "invalid-config",
            format!(
                "the plugin's configuration does not match its schema: {}",
                described.join("; ")
            ),
            format!(
                "fix {entry_path}.config (the schema is in the plugin's manifest; see `openclaw plugins info {id}`)"
            ),
        );
    }

    Decision::Load(Box::new(EffectiveGrant {
        plugin_id: id.to_string(),
        kind: manifest.kind,
        http,
        private_networks,
        secrets,
        webhook_secret,
        kv_quota_bytes,
        sandbox_exec,
        limits: limits(manifest, &entry, &maxima),
        config,
        withheld,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn manifest(extra_caps: &str) -> Manifest {
        let text = format!(
            r#"
id = "demo"
version = "1.0.0"
api = "0.1.0"
kind = "tool"
[component]
file = "demo.wasm"
[capabilities]
{extra_caps}
[config.schema]
type = "object"
additionalProperties = false
[config.schema.properties.units]
type = "string"
enum = ["metric", "imperial"]
"#
        );
        Manifest::parse(&text, "demo.toml").unwrap()
    }

    fn plugins(value: Value) -> PluginsConfig {
        serde_json::from_value(value).unwrap()
    }

    fn load(m: &Manifest, p: Value) -> EffectiveGrant {
        match decide(m, &plugins(p)) {
            Decision::Load(g) => *g,
            Decision::Refuse(r) => panic!("refused: {r:?}"),
        }
    }

    fn refusal(m: &Manifest, p: Value) -> Refusal {
        match decide(m, &plugins(p)) {
            Decision::Refuse(r) => r,
            Decision::Load(g) => panic!("loaded: {g:?}"),
        }
    }

    fn names(patterns: &[HostPattern]) -> Vec<String> {
        patterns.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn loading_is_denied_unless_allowed() {
        let m = manifest("");
        let cases = [
            (json!({}), "not-allowed"),
            (json!({"allow": []}), "not-allowed"),
            (json!({"allow": ["other"]}), "not-allowed"),
            (json!({"allow": ["demo"], "deny": ["demo"]}), "denied"),
            (json!({"allow": ["demo"], "enabled": false}), "plugins-disabled"),
            (
                json!({"allow": ["demo"], "entries": {"demo": {"enabled": false}}}),
                "disabled",
            ),
            (
                json!({"allow": ["demo"], "entries": {"demo": {"config": {"units": "kelvin"}}}}),
                "invalid-config",
            ),
            (
                json!({"allow": ["demo"], "entries": {"demo": {"http": {"allow": ["https://x"]}}}}),
                "invalid-grant",
            ),
        ];
        for (config, code) in cases {
            assert_eq!(refusal(&m, config.clone()).code, code, "{config}");
        }
        let r = refusal(
            &m,
            json!({"allow": ["demo"], "entries": {"demo": {"config": {"units": "kelvin"}}}}),
        );
        assert!(r.reason.contains("plugins.entries.demo.config.units"), "{r:?}");
        let g = load(
            &m,
            json!({"allow": ["demo"], "entries": {"demo": {"config": {"units": "metric"}}}}),
        );
        assert_eq!(g.config, json!({"units": "metric"}));
    }

    #[test]
    fn incompatible_api_names_both_versions() {
        let mut m = manifest("");
        m.api = semver::Version::new(0, 2, 0);
        let r = refusal(&m, json!({"allow": ["demo"]}));
        assert_eq!(r.code, "api-incompatible");
        assert!(r.reason.contains("0.2.0") && r.reason.contains("0.1.0"), "{r:?}");
    }

    #[test]
    fn http_is_the_intersection() {
        let m = manifest(r#"http = ["*.example.com", "api.other.org"]"#);
        let cases = [
            (json!({}), vec!["*.example.com", "api.other.org"]),
            (json!({"http": {"allow": ["api.example.com"]}}), vec!["api.example.com"]),
            (json!({"http": {"allow": ["evil.net"]}}), vec![]),
            (json!({"http": {"allow": []}}), vec![]),
        ];
        for (entry, expected) in cases {
            let g = load(&m, json!({"allow": ["demo"], "entries": {"demo": entry}}));
            assert_eq!(names(&g.http), expected, "{entry}");
        }
        let none = load(
            &manifest(""),
            json!({"allow": ["demo"], "entries": {"demo": {"http": {"allow": ["a.com"]}}}}),
        );
        assert!(
            none.http.is_empty(),
            "an operator cannot grant what the manifest did not request"
        );
    }

    #[test]
    fn a_star_lets_the_operator_choose_and_grants_nothing_by_itself() {
        let m = manifest(r#"http = ["*"]"#);
        let nothing = load(&m, json!({"allow": ["demo"]}));
        assert!(nothing.http.is_empty());
        assert!(
            nothing.withheld.iter().any(|w| w.contains("http.allow lists none")),
            "{:?}",
            nothing.withheld
        );
        let chosen = load(
            &m,
            json!({"allow": ["demo"], "entries": {"demo": {"http": {"allow": ["docs.rs", "*.wikipedia.org", "docs.rs"]}}}}),
        );
        assert_eq!(names(&chosen.http), ["docs.rs", "*.wikipedia.org"]);
        // Private addresses still need their own grant.
        assert!(chosen.private_networks.is_empty());
        // Secrets cannot be bound to "whatever the operator allows".
        let bad = Manifest::parse(
            "id = \"d\"\nversion = \"1.0.0\"\napi = \"0.1.0\"\nkind = \"tool\"\n[component]\nfile = \"d.wasm\"\n[[capabilities.secrets]]\nname = \"T\"\nhosts = [\"*\"]\n",
            "d.toml",
        );
        assert!(bad.is_err());
    }

    #[test]
    fn private_networks_need_both_sides() {
        let asks = manifest(
            r#"http = ["127.0.0.1:9000"]
private-network = true"#,
        );
        let silent = manifest(r#"http = ["127.0.0.1:9000"]"#);
        let operator =
            json!({"allow": ["demo"], "entries": {"demo": {"http": {"allowPrivateNetwork": ["127.0.0.1"]}}}});
        assert_eq!(load(&asks, operator.clone()).private_networks.len(), 1);
        assert!(load(&silent, operator).private_networks.is_empty());
        let g = load(&asks, json!({"allow": ["demo"]}));
        assert!(g.private_networks.is_empty());
        assert!(
            g.withheld.iter().any(|w| w.contains("allowPrivateNetwork")),
            "{:?}",
            g.withheld
        );
    }

    #[test]
    fn secrets_need_a_binding_and_a_granted_host() {
        let m = manifest(
            r#"http = ["api.example.com", "up.example.com"]
[[capabilities.secrets]]
name = "TOKEN"
hosts = ["api.example.com", "up.example.com"]
slots = [{ header = "Authorization", template = "Bearer {}" }, { url-prefix = "https://up.example.com/u/{}/" }, { query = "key" }]
[[capabilities.secrets]]
name = "UNBOUND"
hosts = ["api.example.com"]
slots = [{ header = "X-Key" }]"#,
        );
        let g = load(
            &m,
            json!({"allow": ["demo"], "entries": {"demo": {"secrets": {"TOKEN": {"value": "t", "hosts": ["api.example.com"]}, "EXTRA": "x"}}}}),
        );
        assert_eq!(g.secrets.len(), 1);
        assert_eq!(names(&g.secret("TOKEN").unwrap().hosts), ["api.example.com"]);
        assert!(g.secret("UNBOUND").is_none());
        assert!(g.withheld.iter().any(|w| w.contains("UNBOUND")));
        assert!(g.withheld.iter().any(|w| w.contains("EXTRA")));

        let g = load(
            &m,
            json!({"allow": ["demo"], "entries": {"demo": {"http": {"allow": ["up.example.com"]}, "secrets": {"TOKEN": "t"}}}}),
        );
        assert_eq!(
            names(&g.secret("TOKEN").unwrap().hosts),
            ["up.example.com"],
            "a secret only goes to granted hosts"
        );
    }

    #[test]
    fn slots_are_the_manifests_narrowed_by_the_operator() {
        let m = manifest(
            r#"http = ["api.example.com", "up.example.com"]
[[capabilities.secrets]]
name = "TOKEN"
hosts = ["api.example.com", "up.example.com"]
slots = [{ header = "Authorization", template = "Bearer {}" }, { url-prefix = "https://up.example.com/u/{}/" }, { query = "key" }]"#,
        );
        let slots = |g: &EffectiveGrant| -> Vec<String> {
            g.secret("TOKEN")
                .map(|s| s.slots.iter().map(ToString::to_string).collect())
                .unwrap_or_default()
        };
        let all = load(
            &m,
            json!({"allow": ["demo"], "entries": {"demo": {"secrets": {"TOKEN": "t"}}}}),
        );
        assert_eq!(
            slots(&all),
            [
                "header `Authorization: Bearer {}`",
                "URL prefix `https://up.example.com/u/{}/`",
                "query parameter `key`"
            ]
        );
        let narrowed = load(
            &m,
            json!({"allow": ["demo"], "entries": {"demo": {"secrets": {"TOKEN": {"value": "t", "slots": [
                {"header": "Authorization", "template": "Bearer {}"},
                {"jsonField": "/token"}
            ]}}}}}),
        );
        assert_eq!(slots(&narrowed), ["header `Authorization: Bearer {}`"]);
        assert!(
            narrowed
                .withheld
                .iter()
                .any(|w| w.contains("JSON field `/token`") && w.contains("not a slot the manifest declares")),
            "{:?}",
            narrowed.withheld
        );
        // Narrowing the hosts drops the URL prefix that goes elsewhere.
        let hosts = load(
            &m,
            json!({"allow": ["demo"], "entries": {"demo": {"secrets": {"TOKEN": {"value": "t", "hosts": ["api.example.com"]}}}}}),
        );
        assert_eq!(
            slots(&hosts),
            ["header `Authorization: Bearer {}`", "query parameter `key`"]
        );
        // No slot left: no secret at all.
        let none = load(
            &m,
            json!({"allow": ["demo"], "entries": {"demo": {"secrets": {"TOKEN": {"value": "t", "slots": []}}}}}),
        );
        assert!(none.secret("TOKEN").is_none());
        assert!(
            none.withheld.iter().any(|w| w.contains("no slot is left")),
            "{:?}",
            none.withheld
        );
        // A malformed operator slot is a refusal naming its path.
        let bad = refusal(
            &m,
            json!({"allow": ["demo"], "entries": {"demo": {"secrets": {"TOKEN": {"value": "t", "slots": [{"query": "a", "formField": "b"}]}}}}}),
        );
        assert_eq!(bad.code, "invalid-grant");
        assert!(
            bad.reason.contains("plugins.entries.demo.secrets.TOKEN.slots[0]"),
            "{bad:?}"
        );
    }

    #[test]
    fn kv_quota_and_sandbox() {
        let m = manifest("kv-quota-bytes = 100000\nsandbox-exec = true");
        let g = load(&m, json!({"allow": ["demo"]}));
        assert_eq!(g.kv_quota_bytes, 100000);
        assert!(!g.sandbox_exec, "sandbox exec is never granted by default");
        let g = load(
            &m,
            json!({"allow": ["demo"], "entries": {"demo": {"kv": {"quotaBytes": 5000}, "sandboxExec": true}}}),
        );
        assert_eq!((g.kv_quota_bytes, g.sandbox_exec), (5000, true));
        let g = load(
            &m,
            json!({"allow": ["demo"], "entries": {"demo": {"kv": {"quotaBytes": 10_000_000}}}}),
        );
        assert_eq!(
            g.kv_quota_bytes, 100000,
            "the operator cannot grant more than requested"
        );
        let g = load(&m, json!({"allow": ["demo"], "limits": {"maxKvQuotaBytes": 1000}}));
        assert_eq!(g.kv_quota_bytes, 1000);
        let unrequested = load(
            &manifest(""),
            json!({"allow": ["demo"], "entries": {"demo": {"sandboxExec": true}}}),
        );
        assert!(
            !unrequested.sandbox_exec,
            "granting what was not requested grants nothing"
        );
        assert_eq!(load(&manifest(""), json!({"allow": ["demo"]})).kv_quota_bytes, 0);
    }

    #[test]
    fn limits_are_requested_overridden_and_capped() {
        let m = manifest("");
        let g = load(&m, json!({"allow": ["demo"]}));
        assert_eq!(
            g.limits,
            Limits {
                memory_bytes: DEFAULT_MEMORY_MB << 20,
                timeout_ms: DEFAULT_TIMEOUT_MS,
                host_calls: DEFAULT_HOST_CALLS,
                http_response_bytes: DEFAULT_HTTP_RESPONSE_BYTES,
                http_timeout_ms: DEFAULT_HTTP_TIMEOUT_MS,
                deliveries_per_minute: DEFAULT_DELIVERIES_PER_MINUTE,
                delivered_bytes_per_minute: DEFAULT_DELIVERED_BYTES_PER_MINUTE,
            }
        );
        let mut wants = manifest("");
        wants.limits.memory_mb = Some(512);
        wants.limits.timeout_ms = Some(5000);
        let g = load(&wants, json!({"allow": ["demo"], "limits": {"maxMemoryMb": 128}}));
        assert_eq!((g.limits.memory_bytes, g.limits.timeout_ms), (128 << 20, 5000));
        let g = load(
            &wants,
            json!({"allow": ["demo"], "entries": {"demo": {"limits": {"memoryMb": 16, "hostCalls": 50}}}}),
        );
        assert_eq!((g.limits.memory_bytes, g.limits.host_calls), (16 << 20, 50));
        // The instance slot (256 MiB) is a hard ceiling, even under a higher operator maximum
        // (which the config schema refuses anyway).
        let g = load(
            &wants,
            json!({"allow": ["demo"], "limits": {"maxMemoryMb": 4096, "maxTimeoutMs": 600000}}),
        );
        assert_eq!(g.limits.memory_bytes, MAX_MEMORY_MB << 20);
        wants.limits.timeout_ms = Some(300_000);
        let g = load(&wants, json!({"allow": ["demo"], "limits": {"maxTimeoutMs": 600000}}));
        assert_eq!(
            g.limits.timeout_ms, 300_000,
            "other ceilings are the operator's to raise"
        );
        // A channel's intake rate is the operator's alone: raised per plugin, capped by the
        // maximum.
        let g = load(
            &m,
            json!({"allow": ["demo"], "entries": {"demo": {"limits": {"deliveriesPerMinute": 600000, "deliveredBytesPerMinute": 1073741824}}}}),
        );
        assert_eq!(
            (g.limits.deliveries_per_minute, g.limits.delivered_bytes_per_minute),
            (600_000, 1 << 30)
        );
        let g = load(
            &m,
            json!({"allow": ["demo"], "limits": {"maxDeliveriesPerMinute": 5000}, "entries": {"demo": {"limits": {"deliveriesPerMinute": 600000}}}}),
        );
        assert_eq!(g.limits.deliveries_per_minute, 5000);
    }
}

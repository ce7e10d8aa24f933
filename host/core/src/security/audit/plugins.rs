//! Plugin supply chain and grants: OpenClaw's allowlist and install-record checks, and ours for
//! what only a WASM gateway has (egress grants, secrets bound to hosts and slots, digest pins,
//! plugin API drift, sandbox exec next to open inbound policies).

use super::facts::AuditInput;
use super::tools::open_inbound_paths;
use super::{Finding, Severity, first_n};
use crate::config::schema::common::ToolProfile;
use crate::config::schema::plugins::InstallSource;
use crate::plugins::grants::Decision;
use crate::plugins::hosts::HostPattern;
use crate::plugins::manifest::host_api;
use crate::plugins::selection::Origin;
use crate::plugins::slots::SecretSlot;

/// Hosts where what a plugin sends becomes readable by others: a secret bound to one of them can
/// be published by a prompt-injected plugin call.
const USER_CONTENT_HOSTS: &[&str] = &[
    "pastebin.com",
    "gist.github.com",
    "gist.githubusercontent.com",
    "raw.githubusercontent.com",
    "hastebin.com",
    "paste.ee",
    "dpaste.org",
    "transfer.sh",
    "0x0.st",
    "termbin.com",
    "webhook.site",
    "requestbin.com",
    "pipedream.net",
    "ngrok.io",
    "ngrok-free.app",
];

fn publishes_user_content(pattern: &str) -> bool {
    let host = pattern
        .trim_start_matches("*.")
        .split(':')
        .next()
        .unwrap_or_default()
        .to_lowercase();
    USER_CONTENT_HOSTS
        .iter()
        .any(|h| host == *h || host.ends_with(&format!(".{h}")))
}

/// `name@1.2.3` (optionally `-pre` / `+build`), the only npm spec that names one release.
fn npm_spec_pinned(spec: &str) -> bool {
    let spec = spec.trim();
    let version = match spec.rfind('@') {
        Some(0) | None => return false,
        Some(at) => &spec[at + 1..],
    };
    semver::Version::parse(version).is_ok()
}

pub fn collect(input: &AuditInput<'_>, out: &mut Vec<Finding>) {
    let config = input.config;
    let plugins = config.plugins.clone().unwrap_or_default();
    let allow: Vec<String> = plugins
        .allow
        .iter()
        .flatten()
        .map(|a| a.trim().to_string())
        .filter(|a| !a.is_empty())
        .collect();
    let Some(discovery) = input.discovery else {
        installs(input, out);
        return;
    };

    let global: Vec<String> = discovery
        .plugins
        .iter()
        .map(|s| &s.candidate)
        .chain(discovery.plugins.iter().flat_map(|s| s.duplicates.iter()))
        .filter(|c| c.origin == Origin::Global)
        .map(|c| c.id.clone())
        .chain(
            discovery
                .foreign
                .iter()
                .filter(|f| f.origin == Origin::Global)
                .map(|f| f.id.clone()),
        )
        .collect();
    if !global.is_empty() && allow.is_empty() {
        let native_skills = config
            .channels
            .as_ref()
            .map(|c| c.iter())
            .unwrap_or_default()
            .iter()
            .any(|c| {
                c.access.commands.as_ref().and_then(|cmd| cmd.native_skills)
                    == Some(crate::config::schema::common::BoolOrAuto::Bool(true))
            });
        out.push(
            Finding::new(
                "plugins.extensions_no_allowlist",
                if native_skills { Severity::Critical } else { Severity::Warn },
                "Extensions exist but plugins.allow is not set",
                format!(
                    "{}/extensions holds {}. OpenClaw loads every plugin there when plugins.allow is unset; this gateway loads none of them until they are listed.",
                    input.state_dir,
                    first_n(&global, 10)
                ),
            )
            .fix("Set plugins.allow to the plugin ids you trust."),
        );
    }

    let known: Vec<&str> = discovery
        .plugins
        .iter()
        .map(|s| s.candidate.id.as_str())
        .chain(discovery.foreign.iter().map(|f| f.id.as_str()))
        .collect();
    let phantom: Vec<String> = allow
        .iter()
        .filter(|a| a.as_str() != "group:plugins" && !known.contains(&a.as_str()))
        .cloned()
        .collect();
    if !phantom.is_empty() {
        out.push(
            Finding::new(
                "plugins.allow_phantom_entries",
                Severity::Warn,
                "plugins.allow contains entries with no matching installed plugin",
                format!(
                    "no plugin is installed for: {}. A plugin installed later under that id would be trusted at once.",
                    first_n(&phantom, 10)
                ),
            )
            .fix("Remove stale ids from plugins.allow."),
        );
    }

    let loading: Vec<(&str, &crate::plugins::grants::EffectiveGrant)> = discovery
        .plugins
        .iter()
        .filter_map(|s| match &s.decision {
            Decision::Load(grant) => Some((s.candidate.id.as_str(), grant.as_ref())),
            Decision::Refuse(_) => None,
        })
        .collect();
    let tool_plugins = loading
        .iter()
        .any(|(_, g)| g.kind == crate::plugins::manifest::PluginKind::Tool);
    if tool_plugins {
        let tools = config.tools.clone().unwrap_or_default();
        let permissive_profile = |p: Option<ToolProfile>| matches!(p, None | Some(ToolProfile::Full));
        let names_plugins = |list: Option<&Vec<String>>| {
            list.into_iter()
                .flatten()
                .any(|e| e == "group:plugins" || loading.iter().any(|(id, _)| id == e))
        };
        let mut contexts = Vec::new();
        if (permissive_profile(tools.profile) && tools.allow.is_none())
            || names_plugins(tools.allow.as_ref())
            || names_plugins(tools.also_allow.as_ref())
        {
            contexts.push("tools".to_string());
        }
        for (i, agent) in config.agents().list().iter().enumerate() {
            if let Some(t) = &agent.tools
                && ((t.profile.is_some() && permissive_profile(t.profile) && t.allow.is_none())
                    || names_plugins(t.allow.as_ref())
                    || names_plugins(t.also_allow.as_ref()))
            {
                contexts.push(format!("agents.list[{i}].tools"));
            }
        }
        if !contexts.is_empty() {
            out.push(
                Finding::new(
                    "plugins.tools_reachable_permissive_policy",
                    Severity::Warn,
                    "Extension plugin tools may be reachable under permissive tool policy",
                    format!(
                        "plugin tools load and these policies do not restrict them: {}. Plugins run in WASM with only their grants, but the model can still call them.",
                        contexts.join(", ")
                    ),
                )
                .fix("Use a restrictive tools.profile and allow plugin tools by name."),
            );
        }
    }

    installs(input, out);

    // Ours: what the runtime would actually grant.
    let open_inbound = open_inbound_paths(input.raw);
    let host = host_api();
    for selected in &discovery.plugins {
        let id = selected.candidate.id.as_str();
        match &selected.decision {
            Decision::Refuse(refusal) => match refusal.code {
                "not-allowed" if !allow.is_empty() => out.push(
                    Finding::new(
                        "plugins.discovered_not_allowed",
                        Severity::Info,
                        "Plugin found on disk but not in plugins.allow",
                        format!(
                            "\"{id}\" ({}) does not load: {}",
                            selected.candidate.dir, refusal.reason
                        ),
                    )
                    .fix(format!(
                        "Add it to plugins.allow if you trust it, or remove {}.",
                        selected.candidate.dir
                    )),
                ),
                "manifest-changed" => out.push(
                    Finding::new(
                        "plugins.pins.digest_mismatch",
                        Severity::Critical,
                        "Plugin files changed since they were pinned",
                        refusal.reason.clone(),
                    )
                    .fix(refusal.fix.clone()),
                ),
                "workspace-not-pinned" => out.push(
                    Finding::new(
                        "plugins.pins.workspace_unpinned",
                        Severity::Warn,
                        "Workspace plugin without a pinned digest",
                        refusal.reason.clone(),
                    )
                    .fix(refusal.fix.clone()),
                ),
                "api-incompatible" => out.push(
                    Finding::new(
                        "plugins.api_version_drift",
                        Severity::Warn,
                        "Plugin API version drift",
                        refusal.reason.clone(),
                    )
                    .fix(refusal.fix.clone()),
                ),
                "invalid-manifest" => out.push(
                    Finding::new(
                        "plugins.invalid_manifest",
                        Severity::Warn,
                        "Plugin manifest cannot be read",
                        refusal.reason.clone(),
                    )
                    .fix(refusal.fix.clone()),
                ),
                "duplicate-id" | "install-path-mismatch" => out.push(
                    Finding::new(
                        "plugins.identity_conflict",
                        Severity::Warn,
                        "Two plugin copies claim the same id",
                        refusal.reason.clone(),
                    )
                    .fix(refusal.fix.clone()),
                ),
                "unsafe-path" => out.push(
                    Finding::new(
                        "plugins.unsafe_path",
                        Severity::Critical,
                        "Plugin directory is writable by others",
                        refusal.reason.clone(),
                    )
                    .fix(refusal.fix.clone()),
                ),
                _ => {}
            },
            Decision::Load(grant) => {
                if let (Some(pinned), Some(actual)) = (&selected.pinned_sha256, input.component_digests.get(id))
                    && pinned != actual
                {
                    out.push(
                        Finding::new(
                            "plugins.pins.digest_mismatch",
                            Severity::Critical,
                            "Plugin files changed since they were pinned",
                            format!(
                                "the component of \"{id}\" has sha256 {actual}, but plugins.installs.{id}.sha256 pins {pinned}; the gateway refuses to load it."
                            ),
                        )
                        .fix(format!("If you changed it, review it and `openclaw plugins pin {id}`; otherwise reinstall it.")),
                    );
                }
                if selected.pinned_sha256.is_none() && selected.candidate.origin != Origin::Bundled {
                    out.push(
                        Finding::new(
                            "plugins.pins.missing",
                            Severity::Warn,
                            "Plugin loads without a pinned digest",
                            format!(
                                "\"{id}\" ({}) has no plugins.installs.{id}.sha256: a change to its component would load unnoticed.",
                                selected.candidate.dir
                            ),
                        )
                        .fix(format!("openclaw plugins pin {id}")),
                    );
                }
                if let Ok(manifest) = &selected.candidate.manifest
                    && let Some(recorded) = plugins
                        .installs
                        .as_ref()
                        .and_then(|i| i.get(id))
                        .and_then(|r| r.api_version.as_deref())
                    && semver::Version::parse(recorded).is_ok_and(|r| r != manifest.api)
                {
                    out.push(
                        Finding::new(
                            "plugins.api_version_drift",
                            Severity::Warn,
                            "Plugin API version drift",
                            format!(
                                "\"{id}\" was installed for plugin API {recorded}; its manifest now says {} (gateway implements {host}).",
                                manifest.api
                            ),
                        )
                        .fix(format!("Review the change and reinstall or `openclaw plugins pin {id}`.")),
                    );
                }
                grant_findings(
                    id,
                    plugins.entries.as_ref().and_then(|e| e.get(id)),
                    grant,
                    !open_inbound.is_empty(),
                    &open_inbound,
                    out,
                );
            }
        }
    }
}

fn grant_findings(
    id: &str,
    entry: Option<&crate::config::schema::plugins::PluginEntry>,
    grant: &crate::plugins::grants::EffectiveGrant,
    open: bool,
    open_paths: &[String],
    out: &mut Vec<Finding>,
) {
    let egress: Vec<String> = grant.http.iter().map(ToString::to_string).collect();
    let wildcards: Vec<String> = egress.iter().filter(|h| h.starts_with("*.")).cloned().collect();
    if !wildcards.is_empty() {
        out.push(
            Finding::new(
                "plugins.grants.wildcard_egress",
                Severity::Warn,
                "Plugin granted wildcard egress",
                format!("\"{id}\" may reach any host under: {}", first_n(&wildcards, 10)),
            )
            .fix(format!("Grant exact hosts in plugins.entries.{id}.http.allow.")),
        );
    }
    if !grant.private_networks.is_empty() {
        let nets: Vec<String> = grant.private_networks.iter().map(ToString::to_string).collect();
        out.push(
            Finding::new(
                "plugins.grants.private_network_egress",
                Severity::Warn,
                "Plugin granted private-network egress",
                format!(
                    "\"{id}\" may reach private addresses {} (routers, metadata services, other machines on the LAN).",
                    first_n(&nets, 10)
                ),
            )
            .fix(format!(
                "Remove plugins.entries.{id}.http.allowPrivateNetwork unless the plugin must reach a local service."
            )),
        );
    }
    for secret in &grant.secrets {
        let hosts: Vec<String> = secret.hosts.iter().map(ToString::to_string).collect();
        let body_slots: Vec<String> = secret
            .slots
            .iter()
            .filter_map(|s| match s {
                SecretSlot::FormField { field } => Some(format!("form field {field}")),
                SecretSlot::JsonField { pointer } => Some(format!("JSON field {pointer}")),
                _ => None,
            })
            .collect();
        if !body_slots.is_empty() {
            out.push(
                Finding::new(
                    "plugins.secrets.body_slot",
                    Severity::Warn,
                    "Secret bound to a request body slot",
                    format!(
                        "\"{id}\" secret \"{}\" is placed in {}: a body the plugin composes can carry model-chosen content next to it.",
                        secret.name,
                        body_slots.join(", ")
                    ),
                )
                .fix("Prefer a header or URL-prefix slot for the secret."),
            );
        }
        let publishing: Vec<String> = hosts.iter().filter(|h| publishes_user_content(h)).cloned().collect();
        if !publishing.is_empty() {
            out.push(
                Finding::new(
                    "plugins.secrets.user_content_host",
                    Severity::Critical,
                    "Secret bound to a host that publishes user content",
                    format!(
                        "\"{id}\" secret \"{}\" may be sent to {}, where whatever is sent can be published.",
                        secret.name,
                        publishing.join(", ")
                    ),
                )
                .fix("Bind the secret only to the API host it authenticates to."),
            );
        }
    }
    // The operator's bindings: hosts listed for a secret that the plugin may not call.
    for (name, binding) in entry.and_then(|e| e.secrets.as_ref()).into_iter().flatten() {
        let unreachable: Vec<String> = binding
            .hosts()
            .unwrap_or_default()
            .iter()
            .filter(|h| match HostPattern::parse(h) {
                Ok(pattern) => !grant.http.iter().any(|g| g.covers(&pattern)),
                Err(_) => true,
            })
            .cloned()
            .collect();
        if !unreachable.is_empty() {
            out.push(
                Finding::new(
                    "plugins.secrets.unused_host_binding",
                    Severity::Warn,
                    "Secret bound to hosts the plugin does not call",
                    format!(
                        "plugins.entries.{id}.secrets.{name}.hosts lists {}, which the plugin may not reach; the binding there is dead weight or a typo.",
                        unreachable.join(", ")
                    ),
                )
                .fix(format!("Bind plugins.entries.{id}.secrets.{name} only to hosts in its http grant.")),
            );
        }
    }
    if grant.sandbox_exec && open {
        out.push(
            Finding::new(
                "plugins.sandbox_exec_open_inbound",
                Severity::Critical,
                "Plugin granted sandbox exec while DMs or groups are open",
                format!(
                    "\"{id}\" may run commands in a sandbox, and anyone can message the bot through: {}.",
                    first_n(open_paths, 5)
                ),
            )
            .fix(format!(
                "Tighten dmPolicy/groupPolicy, or remove plugins.entries.{id}.sandboxExec."
            )),
        );
    }
}

fn installs(input: &AuditInput<'_>, out: &mut Vec<Finding>) {
    let Some(records) = input.config.plugins.as_ref().and_then(|p| p.installs.as_ref()) else {
        return;
    };
    let mut unpinned = Vec::new();
    let mut no_integrity = Vec::new();
    for (id, record) in records {
        if record.source != InstallSource::Npm {
            continue;
        }
        let spec = record.spec.clone().unwrap_or_default();
        if !npm_spec_pinned(&spec) {
            unpinned.push(format!("{id} ({spec})"));
        }
        if record.integrity.as_deref().is_none_or(|i| i.trim().is_empty()) {
            no_integrity.push(id.clone());
        }
    }
    if !unpinned.is_empty() {
        out.push(
            Finding::new(
                "plugins.installs_unpinned_npm_specs",
                Severity::Warn,
                "Plugin installs include unpinned npm specs",
                format!(
                    "npm install records without an exact version: {}",
                    first_n(&unpinned, 10)
                ),
            )
            .fix("Reinstall with an exact version (name@1.2.3)."),
        );
    }
    if !no_integrity.is_empty() {
        out.push(
            Finding::new(
                "plugins.installs_missing_integrity",
                Severity::Warn,
                "Plugin installs are missing integrity metadata",
                format!("npm install records without integrity: {}", first_n(&no_integrity, 10)),
            )
            .fix("Reinstall so the record carries the package integrity."),
        );
    }
}

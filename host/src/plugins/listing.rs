//! Plugins as `plugins list --json`, `plugins info` and the gateway's `plugins.list` show them:
//! WebAssembly plugins and OpenClaw JavaScript plugins in one shape, and discovery's warnings.

use openclaw_core::config::schema::plugins::PluginsConfig;
use openclaw_core::plugins::grants::Decision;
use openclaw_core::plugins::selection::{ForeignPlugin, Selected, Warning};
use serde_json::{Value, json};

/// `(status, reason, fix)`: `loads`, or the refusal's code with why and what to do.
pub fn status_of(selected: &Selected) -> (&'static str, Option<String>, Option<String>) {
    match &selected.decision {
        Decision::Load(_) => ("loads", None, None),
        Decision::Refuse(r) => (r.code, Some(r.reason.clone()), Some(r.fix.clone())),
    }
}

/// A discovered WebAssembly plugin as `plugins list --json` and the gateway's `plugins.list`
/// show it.
pub fn selected_json(selected: &Selected) -> Value {
    let (status, reason, fix) = status_of(selected);
    let manifest = selected.candidate.manifest.as_ref().ok();
    json!({
        "id": selected.candidate.id,
        "name": manifest.map(|m| m.display_name().to_string()),
        "version": manifest.map(|m| m.version.to_string()),
        "kind": manifest.map(|m| m.kind.as_str()),
        "api": manifest.map(|m| m.api.to_string()),
        "format": "wasm",
        "origin": selected.candidate.origin.as_str(),
        "dir": selected.candidate.dir,
        "status": status,
        "loads": status == "loads",
        "reason": reason,
        "fix": fix,
        "pinnedSha256": selected.pinned_sha256,
        "duplicates": selected
            .duplicates
            .iter()
            .map(|c| json!({"origin": c.origin.as_str(), "dir": c.dir}))
            .collect::<Vec<_>>(),
    })
}

/// An OpenClaw JavaScript plugin, in the same shape: present, never loading, and why.
pub fn foreign_json(plugin: &ForeignPlugin, plugins: &PluginsConfig) -> Value {
    let refusal = plugin.refusal(plugins);
    json!({
        "id": plugin.id,
        "name": plugin.name,
        "version": plugin.version,
        "kind": null,
        "api": null,
        "format": "openclaw-js",
        "origin": plugin.origin.as_str(),
        "dir": plugin.dir,
        "status": refusal.code,
        "loads": false,
        "reason": refusal.reason,
        "fix": refusal.fix,
        "pinnedSha256": null,
        "duplicates": [],
    })
}

/// A discovery warning: what and the fix.
pub fn warning_json(warning: &Warning) -> Value {
    json!({"code": warning.code, "message": warning.message, "fix": warning.fix})
}

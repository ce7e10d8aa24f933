//! `openclaw secrets apply --from <plan>`: OpenClaw's plan format (`version: 1`,
//! `protocolVersion: 1`, `targets[]`, `providerUpserts`, `providerDeletes`, `options`), checked
//! before anything is written, and the pure scrubs of plaintext residues it asks for.

use serde_json::{Map, Value};

use crate::config::path::JsonPath;

/// Plan target types this gateway applies (OpenClaw's registry, for the keys our schema has).
pub const TARGET_TYPES: &[&str] = &[
    "models.providers.apiKey",
    "skills.entries.apiKey",
    "channels.googlechat.serviceAccount",
];

const FORBIDDEN_SEGMENTS: &[&str] = &["__proto__", "prototype", "constructor"];

#[derive(Debug, Clone, PartialEq)]
pub struct PlanTarget {
    pub kind: String,
    pub path: Vec<String>,
    pub reference: Value,
    pub provider_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub targets: Vec<PlanTarget>,
    pub provider_upserts: Map<String, Value>,
    pub provider_deletes: Vec<String>,
    pub scrub_env: bool,
    pub scrub_auth_profiles: bool,
    pub scrub_legacy_auth_json: bool,
}

impl Plan {
    /// Whether applying it would run or configure an exec resolver.
    pub fn uses_exec(&self) -> bool {
        self.targets
            .iter()
            .any(|t| t.reference.get("source").and_then(Value::as_str) == Some("exec"))
            || self
                .provider_upserts
                .values()
                .any(|p| p.get("source").and_then(Value::as_str) == Some("exec"))
    }

    /// Env variable names the plan's references read (never scrubbed from `.env`).
    pub fn env_ids(&self) -> Vec<String> {
        self.targets
            .iter()
            .filter(|t| t.reference.get("source").and_then(Value::as_str) == Some("env"))
            .filter_map(|t| t.reference.get("id").and_then(Value::as_str).map(str::to_string))
            .collect()
    }
}

fn alias_ok(alias: &str) -> bool {
    let mut chars = alias.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && alias.len() <= 64
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
}

/// The path a target type allows: `models.providers.<id>.apiKey` and so on.
fn path_fits(kind: &str, path: &[String]) -> bool {
    let p: Vec<&str> = path.iter().map(String::as_str).collect();
    match kind {
        "models.providers.apiKey" => matches!(p.as_slice(), ["models", "providers", _, "apiKey"]),
        "skills.entries.apiKey" => matches!(p.as_slice(), ["skills", "entries", _, "apiKey"]),
        "channels.googlechat.serviceAccount" => {
            matches!(p.as_slice(), ["channels", "googlechat", "serviceAccount"])
                || matches!(
                    p.as_slice(),
                    ["channels", "googlechat", "accounts", _, "serviceAccount"]
                )
        }
        _ => false,
    }
}

/// Reads and checks a plan. Every problem is listed, each naming where it is.
pub fn parse(doc: &Value) -> Result<Plan, Vec<String>> {
    let mut errors = Vec::new();
    if doc.get("version") != Some(&Value::from(1)) {
        errors.push("version: must be 1".to_string());
    }
    if doc.get("protocolVersion") != Some(&Value::from(1)) {
        errors.push("protocolVersion: must be 1 (plans for shared auth stores are not supported here)".to_string());
    }
    let mut targets = Vec::new();
    match doc.get("targets") {
        Some(Value::Array(items)) => {
            for (i, t) in items.iter().enumerate() {
                let at = format!("targets[{i}]");
                let kind = t.get("type").and_then(Value::as_str).unwrap_or_default().to_string();
                if !TARGET_TYPES.contains(&kind.as_str()) {
                    errors.push(format!(
                        "{at}.type: \"{kind}\" is not one of {}",
                        TARGET_TYPES.join(", ")
                    ));
                    continue;
                }
                let segments: Vec<String> = match t.get("pathSegments") {
                    Some(Value::Array(s)) => s.iter().filter_map(Value::as_str).map(str::to_string).collect(),
                    _ => match t.get("path").and_then(Value::as_str).map(JsonPath::parse) {
                        Some(Ok(path)) => path.to_string().split('.').map(str::to_string).collect(),
                        _ => {
                            errors.push(format!("{at}.path: missing or not a config path"));
                            continue;
                        }
                    },
                };
                if segments.iter().any(|s| FORBIDDEN_SEGMENTS.contains(&s.as_str())) {
                    errors.push(format!("{at}.path: forbidden segment"));
                    continue;
                }
                if !path_fits(&kind, &segments) {
                    errors.push(format!("{at}.path: \"{}\" is not a {kind} target", segments.join(".")));
                    continue;
                }
                let reference = t.get("ref").cloned().unwrap_or(Value::Null);
                let source = reference.get("source").and_then(Value::as_str);
                let id_ok = reference
                    .get("id")
                    .and_then(Value::as_str)
                    .is_some_and(|id| !id.trim().is_empty());
                if !matches!(source, Some("env" | "file" | "exec")) || !id_ok {
                    errors.push(format!(
                        "{at}.ref: must be {{source: \"env\"|\"file\"|\"exec\", provider?, id}}"
                    ));
                    continue;
                }
                targets.push(PlanTarget {
                    kind,
                    path: segments,
                    reference,
                    provider_id: t.get("providerId").and_then(Value::as_str).map(str::to_string),
                });
            }
        }
        _ => errors.push("targets: must be a list".to_string()),
    }
    let mut provider_upserts = Map::new();
    if let Some(upserts) = doc.get("providerUpserts") {
        match upserts {
            Value::Object(map) => {
                for (alias, provider) in map {
                    if !alias_ok(alias) {
                        errors.push(format!(
                            "providerUpserts.{alias}: alias must match ^[a-z][a-z0-9_-]{{0,63}}$"
                        ));
                    } else if provider.get("source").and_then(Value::as_str).is_none() {
                        errors.push(format!("providerUpserts.{alias}: needs a source"));
                    } else {
                        provider_upserts.insert(alias.clone(), provider.clone());
                    }
                }
            }
            _ => errors.push("providerUpserts: must be an object".to_string()),
        }
    }
    let provider_deletes: Vec<String> = doc
        .get("providerDeletes")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).map(str::to_string).collect())
        .unwrap_or_default();
    let option = |name: &str| {
        doc.pointer(&format!("/options/{name}"))
            .and_then(Value::as_bool)
            .unwrap_or(true)
    };
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(Plan {
        targets,
        provider_upserts,
        provider_deletes,
        scrub_env: option("scrubEnv"),
        scrub_auth_profiles: option("scrubAuthProfilesForProviderTargets"),
        scrub_legacy_auth_json: option("scrubLegacyAuthJson"),
    })
}

/// Removes `.env` lines whose value is one of `migrated` (plaintext that now lives behind a
/// reference), keeping the variables a reference reads. Returns the new text and the removed keys.
pub fn scrub_dotenv(text: &str, migrated: &[String], keep: &[String]) -> (String, Vec<String>) {
    let mut removed = Vec::new();
    let mut out = String::new();
    for line in text.lines() {
        let trimmed = line.trim();
        let body = trimmed.strip_prefix("export ").unwrap_or(trimmed);
        if let Some((key, value)) = body.split_once('=') {
            let key = key.trim();
            let value = value.trim().trim_matches(|c| c == '"' || c == '\'');
            if !trimmed.starts_with('#')
                && !value.is_empty()
                && migrated.iter().any(|m| m == value)
                && !keep.iter().any(|k| k == key)
            {
                removed.push(key.to_string());
                continue;
            }
        }
        out.push_str(line);
        out.push('\n');
    }
    (out, removed)
}

/// Removes static credentials (`api_key`/`token` profiles) of `provider` from an auth-profiles
/// document. Returns the removed profile ids.
pub fn scrub_auth_profiles(doc: &mut Value, provider: &str) -> Vec<String> {
    let Some(Value::Object(profiles)) = doc.get_mut("profiles") else {
        return Vec::new();
    };
    let doomed: Vec<String> = profiles
        .iter()
        .filter(|(id, p)| {
            let owner = p
                .get("provider")
                .and_then(Value::as_str)
                .map(str::to_string)
                .unwrap_or_else(|| id.split(':').next().unwrap_or_default().to_string());
            let kind = p.get("type").or_else(|| p.get("mode")).and_then(Value::as_str);
            owner == provider && matches!(kind, Some("api_key" | "token"))
        })
        .map(|(id, _)| id.clone())
        .collect();
    for id in &doomed {
        profiles.remove(id);
    }
    doomed
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn plans_are_checked_and_scrubs_keep_what_references_read() {
        let plan = parse(&json!({
            "version": 1, "protocolVersion": 1, "generatedAt": "x", "generatedBy": "manual",
            "targets": [{"type": "models.providers.apiKey", "path": "models.providers.openai.apiKey",
                         "ref": {"source": "env", "provider": "default", "id": "OPENAI_API_KEY"}, "providerId": "openai"}],
        }))
        .unwrap();
        assert_eq!(plan.targets[0].path, ["models", "providers", "openai", "apiKey"]);
        assert!(plan.scrub_env && plan.scrub_auth_profiles && !plan.uses_exec());
        let errors = parse(&json!({"version": 1, "protocolVersion": 2, "targets": [
            {"type": "models.providers.apiKey", "path": "gateway.auth.token", "ref": {"source": "env", "id": "X"}},
            {"type": "models.providers.apiKey", "pathSegments": ["models", "providers", "__proto__", "apiKey"], "ref": {"source": "env", "id": "X"}},
            {"type": "nope", "path": "a.b", "ref": {}},
        ]}))
        .unwrap_err();
        assert_eq!(errors.len(), 4, "{errors:?}");
        let (text, removed) = scrub_dotenv(
            "OPENAI_API_KEY=sk-old\nOTHER=sk-old\nKEEP=1\n",
            &["sk-old".to_string()],
            &["OPENAI_API_KEY".to_string()],
        );
        assert_eq!(
            (text.as_str(), removed),
            ("OPENAI_API_KEY=sk-old\nKEEP=1\n", vec!["OTHER".to_string()])
        );
        let mut profiles = json!({"profiles": {"openai:default": {"type": "api_key", "provider": "openai", "key": "k"}, "openai:o": {"type": "oauth", "provider": "openai"}}});
        assert_eq!(scrub_auth_profiles(&mut profiles, "openai"), ["openai:default"]);
        assert!(profiles["profiles"].get("openai:o").is_some());
    }
}

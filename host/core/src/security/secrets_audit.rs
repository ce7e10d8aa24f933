//! `openclaw secrets audit` as pure functions: where plaintext credentials sit (the config, auth
//! profiles, the state dir's `.env`, legacy `auth.json`), which references do not resolve, which
//! are shadowed. The host reads the files and resolves the references; this module classifies.
//! Codes, severities and the report's shape are OpenClaw's.

use serde::Serialize;
use serde_json::Value;

use crate::config::path::JsonPath;
use crate::config::sensitive::secret_literals;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SecretSeverity {
    Info,
    Warn,
    Error,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SecretCode {
    PlaintextFound,
    RefUnresolved,
    RefShadowed,
    LegacyResidue,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SecretFinding {
    pub code: SecretCode,
    pub severity: SecretSeverity,
    pub file: String,
    pub json_path: String,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub profile_id: Option<String>,
}

impl SecretFinding {
    fn new(
        code: SecretCode,
        severity: SecretSeverity,
        file: &str,
        json_path: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Self {
            code,
            severity,
            file: file.to_string(),
            json_path: json_path.into(),
            message: message.into(),
            provider: None,
            profile_id: None,
        }
    }
}

/// Header names whose values are credentials (OpenClaw's list, then substrings).
pub fn is_sensitive_header(name: &str) -> bool {
    const EXACT: &[&str] = &[
        "authorization",
        "proxy-authorization",
        "x-api-key",
        "api-key",
        "apikey",
        "x-auth-token",
        "auth-token",
        "x-access-token",
        "access-token",
        "x-secret-key",
        "secret-key",
    ];
    const PARTS: &[&str] = &["api-key", "apikey", "token", "secret", "password", "credential"];
    let lower = name.trim().to_ascii_lowercase();
    EXACT.contains(&lower.as_str()) || PARTS.iter().any(|p| lower.contains(p))
}

/// Environment variable names that hold credentials.
pub fn is_secret_env_name(name: &str) -> bool {
    const SUFFIXES: &[&str] = &[
        "_API_KEY",
        "_APIKEY",
        "_TOKEN",
        "_SECRET",
        "_PASSWORD",
        "_PASSWD",
        "_ACCESS_KEY",
        "_PRIVATE_KEY",
    ];
    let upper = name.trim();
    upper
        .chars()
        .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
        && SUFFIXES.iter().any(|s| upper.ends_with(s))
}

fn is_reference(text: &str) -> bool {
    crate::config::env_subst::whole_var_ref(text).is_some()
}

/// Plaintext credentials in the config document (`merged`, references as written).
pub fn config_plaintext(schema: &Value, merged: &Value, file: &str) -> Vec<SecretFinding> {
    let mut out: Vec<SecretFinding> = secret_literals(schema, merged)
        .into_iter()
        .map(|(path, _)| {
            SecretFinding::new(
                SecretCode::PlaintextFound,
                SecretSeverity::Warn,
                file,
                path.to_string(),
                format!("{path} holds a plaintext secret; use a SecretRef or ${{VAR}} instead"),
            )
        })
        .collect();
    if let Some(Value::Object(providers)) = merged.pointer("/models/providers") {
        for (provider, p) in providers {
            for (name, value) in p.get("headers").and_then(Value::as_object).into_iter().flatten() {
                let path = JsonPath::root()
                    .key("models")
                    .key("providers")
                    .key(provider)
                    .key("headers")
                    .key(name);
                let already = out.iter().any(|f| f.json_path == path.to_string());
                if let Value::String(text) = value
                    && !already
                    && is_sensitive_header(name)
                    && !text.trim().is_empty()
                    && !is_reference(text)
                {
                    let mut finding = SecretFinding::new(
                        SecretCode::PlaintextFound,
                        SecretSeverity::Warn,
                        file,
                        path.to_string(),
                        format!("{path} is a credential header with a plaintext value"),
                    );
                    finding.provider = Some(provider.clone());
                    out.push(finding);
                }
            }
        }
    }
    out
}

/// `agents/<id>/agent/auth-profiles.json`: plaintext API keys and tokens, OAuth residue, and
/// profiles that shadow a reference the config sets for the same provider.
pub fn auth_profiles(doc: &Value, file: &str, config_ref_providers: &[String]) -> Vec<SecretFinding> {
    let mut out = Vec::new();
    let Some(Value::Object(profiles)) = doc.get("profiles") else {
        return out;
    };
    for (id, profile) in profiles {
        let provider = profile
            .get("provider")
            .and_then(Value::as_str)
            .map(str::to_string)
            .or_else(|| id.split(':').next().map(str::to_string));
        let kind = profile
            .get("type")
            .or_else(|| profile.get("mode"))
            .and_then(Value::as_str)
            .unwrap_or_default();
        let field = match kind {
            "api_key" => ["key", "apiKey", "api_key"]
                .into_iter()
                .find(|f| profile.get(*f).is_some_and(Value::is_string)),
            "token" => ["token"]
                .into_iter()
                .find(|f| profile.get(*f).is_some_and(Value::is_string)),
            _ => None,
        };
        let path = format!("profiles.{id}");
        if kind == "oauth" {
            let mut f = SecretFinding::new(
                SecretCode::LegacyResidue,
                SecretSeverity::Info,
                file,
                path.clone(),
                format!(
                    "profile {id} holds OAuth credentials (used by OpenClaw's model auth; this gateway reads models.providers)"
                ),
            );
            f.provider = provider.clone();
            f.profile_id = Some(id.clone());
            out.push(f);
            continue;
        }
        let Some(field) = field else { continue };
        let value = profile.get(field).and_then(Value::as_str).unwrap_or_default();
        if value.trim().is_empty() || is_reference(value) {
            continue;
        }
        let mut plain = SecretFinding::new(
            SecretCode::PlaintextFound,
            SecretSeverity::Warn,
            file,
            format!("{path}.{field}"),
            format!("profile {id} stores a plaintext {kind}"),
        );
        plain.provider = provider.clone();
        plain.profile_id = Some(id.clone());
        out.push(plain);
        if let Some(p) = &provider
            && config_ref_providers.contains(p)
        {
            let mut shadow = SecretFinding::new(
                SecretCode::RefShadowed,
                SecretSeverity::Warn,
                file,
                format!("{path}.{field}"),
                format!("profile {id} credentials shadow the reference openclaw.json sets for provider {p}"),
            );
            shadow.provider = provider.clone();
            shadow.profile_id = Some(id.clone());
            out.push(shadow);
        }
    }
    out
}

/// Legacy `auth.json`: a static API key left from older releases.
pub fn legacy_auth(doc: &Value, file: &str) -> Vec<SecretFinding> {
    let mut out = Vec::new();
    let Value::Object(map) = doc else { return out };
    for (provider, entry) in map {
        let key = entry
            .get("api_key")
            .or_else(|| entry.get("apiKey"))
            .or_else(|| entry.get("key"))
            .and_then(Value::as_str);
        if key.is_some_and(|k| !k.trim().is_empty()) {
            let mut f = SecretFinding::new(
                SecretCode::LegacyResidue,
                SecretSeverity::Warn,
                file,
                provider.clone(),
                format!(
                    "legacy auth.json holds a static API key for {provider}; move it to a SecretRef and delete the file"
                ),
            );
            f.provider = Some(provider.clone());
            out.push(f);
        }
    }
    out
}

/// `<state>/.env`: `KEY=value` lines whose key names a credential.
pub fn dotenv(text: &str, file: &str) -> Vec<SecretFinding> {
    text.lines()
        .filter_map(|line| {
            let line = line.trim();
            let line = line.strip_prefix("export ").unwrap_or(line);
            let (key, value) = line.split_once('=')?;
            let key = key.trim();
            let value = value.trim().trim_matches(|c| c == '"' || c == '\'');
            (!line.starts_with('#') && is_secret_env_name(key) && !value.is_empty() && !is_reference(value)).then(
                || {
                    SecretFinding::new(
                        SecretCode::PlaintextFound,
                        SecretSeverity::Warn,
                        file,
                        format!("$env.{key}"),
                        format!("{key} is a plaintext credential in {file}"),
                    )
                },
            )
        })
        .collect()
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SecretsSummary {
    pub plaintext_count: usize,
    pub unresolved_ref_count: usize,
    pub shadowed_ref_count: usize,
    pub legacy_residue_count: usize,
}

impl SecretsSummary {
    pub fn of(findings: &[SecretFinding]) -> Self {
        let count = |code| findings.iter().filter(|f| f.code == code).count();
        Self {
            plaintext_count: count(SecretCode::PlaintextFound),
            unresolved_ref_count: count(SecretCode::RefUnresolved),
            shadowed_ref_count: count(SecretCode::RefShadowed),
            legacy_residue_count: count(SecretCode::LegacyResidue),
        }
    }

    /// `clean`, `findings` or `unresolved`.
    pub fn status(&self) -> &'static str {
        if self.unresolved_ref_count > 0 {
            "unresolved"
        } else if self.plaintext_count + self.shadowed_ref_count + self.legacy_residue_count > 0 {
            "findings"
        } else {
            "clean"
        }
    }

    /// OpenClaw's exit codes: 2 with an unresolved reference, 1 with `--check` and any finding.
    pub fn exit_code(&self, check: bool) -> u8 {
        if self.unresolved_ref_count > 0 {
            2
        } else if check && self.status() != "clean" {
            1
        } else {
            0
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn classification() {
        assert!(is_sensitive_header("Authorization"));
        assert!(is_sensitive_header("X-Goog-Api-Key"));
        assert!(!is_sensitive_header("Content-Type"));
        assert!(is_secret_env_name("OPENAI_API_KEY"));
        assert!(is_secret_env_name("TELEGRAM_BOT_TOKEN"));
        assert!(!is_secret_env_name("OPENCLAW_STATE_DIR"));
        let env = dotenv(
            "# c\nOPENAI_API_KEY=sk-abc\nexport GH_TOKEN=\"ghp_x\"\nPATH=/bin\nREF_TOKEN=${OTHER}\n",
            ".env",
        );
        let paths: Vec<&str> = env.iter().map(|f| f.json_path.as_str()).collect();
        assert_eq!(paths, ["$env.OPENAI_API_KEY", "$env.GH_TOKEN"]);
        let profiles = json!({"profiles": {
            "anthropic:default": {"type": "api_key", "provider": "anthropic", "key": "sk-ant-1"},
            "openai:oauth": {"type": "oauth", "provider": "openai", "access": "a", "refresh": "r"},
            "groq:ref": {"type": "api_key", "provider": "groq", "key": "${GROQ_API_KEY}"},
        }});
        let found = auth_profiles(&profiles, "auth-profiles.json", &["anthropic".to_string()]);
        let codes: Vec<SecretCode> = found.iter().map(|f| f.code).collect();
        assert_eq!(
            codes,
            [
                SecretCode::PlaintextFound,
                SecretCode::RefShadowed,
                SecretCode::LegacyResidue
            ]
        );
        let s = SecretsSummary::of(&found);
        assert_eq!((s.status(), s.exit_code(false), s.exit_code(true)), ("findings", 0, 1));
    }
}

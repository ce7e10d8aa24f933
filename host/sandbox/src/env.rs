//! Environment for sandboxed commands. Values always travel as API `KEY=value` entries, never
//! through a shell string, so metacharacters in them run nothing. Keys that usually hold the
//! gateway's own secrets are kept out unless the operator configured them explicitly.

use std::collections::BTreeMap;

const SECRET_KEYS: &[&str] = &[
    "ANTHROPIC_API_KEY",
    "OPENAI_API_KEY",
    "GEMINI_API_KEY",
    "GOOGLE_API_KEY",
    "OPENROUTER_API_KEY",
    "TELEGRAM_BOT_TOKEN",
    "DISCORD_BOT_TOKEN",
    "SLACK_BOT_TOKEN",
    "SLACK_APP_TOKEN",
    "OPENCLAW_GATEWAY_TOKEN",
    "OPENCLAW_GATEWAY_PASSWORD",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "GH_TOKEN",
    "GITHUB_TOKEN",
];
const SECRET_SUFFIXES: &[&str] = &["API_KEY", "TOKEN", "PASSWORD", "PRIVATE_KEY", "SECRET"];

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EnvRefusal {
    InvalidKey,
    ContainsNul,
    LooksSecret,
}

impl EnvRefusal {
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidKey => "invalid_key",
            Self::ContainsNul => "contains_nul",
            Self::LooksSecret => "looks_secret",
        }
    }
}

impl std::fmt::Display for EnvRefusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::InvalidKey => "dropped: the name is empty or contains '='",
            Self::ContainsNul => "dropped: contains a NUL byte",
            Self::LooksSecret => "dropped: the name looks like a credential (configure it in docker.env to pass it)",
        })
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SanitizedEnv {
    pub kept: BTreeMap<String, String>,
    pub dropped: Vec<(String, EnvRefusal)>,
}

/// Filters caller-supplied variables. `allowed` are the keys the operator put in `docker.env`:
/// those pass even when their name looks like a credential.
pub fn sanitize(env: &BTreeMap<String, String>, allowed: &BTreeMap<String, String>) -> SanitizedEnv {
    let mut out = SanitizedEnv::default();
    for (key, value) in env {
        let refusal = if key.is_empty() || key.contains('=') {
            Some(EnvRefusal::InvalidKey)
        } else if key.contains('\0') || value.contains('\0') {
            Some(EnvRefusal::ContainsNul)
        } else if !allowed.contains_key(key) && looks_secret(key) {
            Some(EnvRefusal::LooksSecret)
        } else {
            None
        };
        match refusal {
            Some(r) => out.dropped.push((key.clone(), r)),
            None => {
                out.kept.insert(key.clone(), value.clone());
            }
        }
    }
    out
}

fn looks_secret(key: &str) -> bool {
    let upper = key.to_ascii_uppercase();
    SECRET_KEYS.contains(&upper.as_str()) || SECRET_SUFFIXES.iter().any(|s| upper.ends_with(s))
}

/// `KEY=value` entries as the Engine API takes them.
pub fn api_entries(env: &BTreeMap<String, String>) -> Vec<String> {
    env.iter().map(|(k, v)| format!("{k}={v}")).collect()
}

//! `~/.openclaw/exec-approvals.json` (OpenClaw's early-2026 shape, version 1): the host-local exec
//! policy and per-agent allowlists of binaries. Reading and writing the file is the caller's job;
//! these are its types and the pure rules over them.
//!
//! ```json
//! { "version": 1,
//!   "socket": { "path": "~/.openclaw/exec-approvals.sock", "token": "..." },
//!   "defaults": { "security": "deny", "ask": "on-miss", "askFallback": "deny", "autoAllowSkills": false },
//!   "agents": { "main": { "security": "allowlist", "allowlist": [
//!       { "id": "…", "pattern": "/usr/bin/git", "lastUsedAt": 0, "lastUsedCommand": "git status",
//!         "lastResolvedPath": "/usr/bin/git" } ] } } }
//! ```

use std::collections::BTreeMap;
use std::fmt;

use regex::RegexBuilder;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::config::schema::agents::DEFAULT_AGENT_ID;
use crate::config::schema::tools::{ExecAsk, ExecSecurity};

/// The only version this gateway reads and writes.
pub const APPROVALS_FILE_VERSION: u32 = 1;
/// Where OpenClaw keeps the file, relative to the state directory.
pub const APPROVALS_FILE_NAME: &str = "exec-approvals.json";
/// The agent key whose settings and allowlist apply to every agent.
pub const WILDCARD_AGENT: &str = "*";
/// The agent key OpenClaw wrote before agents had ids; it means `main`.
pub const LEGACY_DEFAULT_AGENT: &str = "default";

#[derive(Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApprovalsSocket {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl fmt::Debug for ApprovalsSocket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApprovalsSocket")
            .field("path", &self.path)
            .field("token", &self.token.as_ref().map(|_| "[redacted]"))
            .finish_non_exhaustive()
    }
}

/// Host-local exec settings (at `defaults`, or per agent).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApprovalsPolicy {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub security: Option<ExecSecurity>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ask: Option<ExecAsk>,
    /// What a prompt resolves to when no approval UI is reachable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ask_fallback: Option<ExecSecurity>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_allow_skills: Option<bool>,
}

/// One allowlisted binary.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AllowlistEntry {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Case-insensitive glob over the resolved binary path (`*` within a path segment, `**`
    /// across segments, `?` one character). A pattern without `/` is ignored.
    pub pattern: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_used_at: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_used_command: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_resolved_path: Option<String>,
    /// A regular expression the arguments (joined by single spaces) must match as a whole.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arg_pattern: Option<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl AllowlistEntry {
    pub fn new(pattern: impl Into<String>) -> Self {
        Self {
            pattern: pattern.into(),
            ..Self::default()
        }
    }

    /// Whether this entry covers running `resolved_path` with `args`. Basename-only patterns,
    /// and patterns or argument patterns that do not compile, match nothing.
    pub fn matches(&self, resolved_path: &str, args: &[String]) -> bool {
        let pattern = self.pattern.trim();
        if !pattern.contains('/') || !path_glob_matches(pattern, resolved_path) {
            return false;
        }
        match self.arg_pattern.as_deref().map(str::trim) {
            None | Some("") => true,
            Some(arg_pattern) => RegexBuilder::new(&format!("^(?:{arg_pattern})$"))
                .size_limit(1 << 20)
                .build()
                .is_ok_and(|re| re.is_match(&args.join(" "))),
        }
    }
}

/// Case-insensitive path glob: `**` crosses `/`, `*` and `?` do not.
pub fn path_glob_matches(pattern: &str, path: &str) -> bool {
    let mut regex = String::from("^");
    let mut chars = pattern.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '*' if chars.peek() == Some(&'*') => {
                chars.next();
                regex.push_str(".*");
            }
            '*' => regex.push_str("[^/]*"),
            '?' => regex.push_str("[^/]"),
            other => regex.push_str(&regex::escape(&other.to_string())),
        }
    }
    regex.push('$');
    RegexBuilder::new(&regex)
        .case_insensitive(true)
        .size_limit(1 << 20)
        .build()
        .is_ok_and(|re| re.is_match(path))
}

/// An agent's section: its settings and its allowlist.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApprovalsAgent {
    #[serde(flatten)]
    pub policy: ApprovalsPolicy,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allowlist: Vec<AllowlistEntry>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The whole file. Keys this gateway does not know are kept, so rewriting the file loses nothing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExecApprovalsFile {
    pub version: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub socket: Option<ApprovalsSocket>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub defaults: Option<ApprovalsPolicy>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub agents: BTreeMap<String, ApprovalsAgent>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Default for ExecApprovalsFile {
    fn default() -> Self {
        Self {
            version: APPROVALS_FILE_VERSION,
            socket: None,
            defaults: None,
            agents: BTreeMap::new(),
            extra: Map::new(),
        }
    }
}

/// The file's settings for one agent: its own, else the `*` agent's, else `defaults`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ResolvedApprovals {
    pub security: Option<(ExecSecurity, String)>,
    pub ask: Option<(ExecAsk, String)>,
    pub ask_fallback: Option<(ExecSecurity, String)>,
    pub auto_allow_skills: bool,
    /// The `*` agent's entries, then the agent's.
    pub allowlist: Vec<AllowlistEntry>,
}

impl ExecApprovalsFile {
    /// Parses the file's text; errors name the problem and the fix.
    pub fn parse(text: &str) -> Result<Self, String> {
        let file: Self = serde_json::from_str(text).map_err(|e| {
            format!("{APPROVALS_FILE_NAME} is not valid: {e}; fix the file or remove it to start from defaults")
        })?;
        file.check_version()?;
        Ok(file)
    }

    pub fn check_version(&self) -> Result<(), String> {
        if self.version == APPROVALS_FILE_VERSION {
            Ok(())
        } else {
            Err(format!(
                "{APPROVALS_FILE_NAME} has version {}, this gateway reads version {APPROVALS_FILE_VERSION} \
                 (newer OpenClaw releases keep approvals in a database; export them to version 1)",
                self.version
            ))
        }
    }

    fn agent(&self, id: &str) -> Option<(&str, &ApprovalsAgent)> {
        let wanted = id.trim();
        self.agents
            .iter()
            .find(|(k, _)| k.trim().eq_ignore_ascii_case(wanted))
            .map(|(k, v)| (k.as_str(), v))
    }

    /// The settings and allowlist that apply to `agent_id`.
    pub fn resolve(&self, agent_id: &str) -> ResolvedApprovals {
        let agent = self.agent(agent_id);
        let wildcard = self.agents.get(WILDCARD_AGENT);
        let defaults = self.defaults.as_ref();
        fn pick<T: Copy>(
            agent: Option<(&str, &ApprovalsAgent)>,
            wildcard: Option<&ApprovalsAgent>,
            defaults: Option<&ApprovalsPolicy>,
            field: fn(&ApprovalsPolicy) -> Option<T>,
            name: &str,
        ) -> Option<(T, String)> {
            if let Some((key, a)) = agent
                && let Some(v) = field(&a.policy)
            {
                return Some((v, format!("{APPROVALS_FILE_NAME} agents.{key}.{name}")));
            }
            if let Some(v) = wildcard.and_then(|w| field(&w.policy)) {
                return Some((v, format!("{APPROVALS_FILE_NAME} agents[\"*\"].{name}")));
            }
            defaults
                .and_then(field)
                .map(|v| (v, format!("{APPROVALS_FILE_NAME} defaults.{name}")))
        }
        let mut allowlist: Vec<AllowlistEntry> = wildcard.map(|w| w.allowlist.clone()).unwrap_or_default();
        if let Some((key, a)) = agent
            && key != WILDCARD_AGENT
        {
            allowlist.extend(a.allowlist.iter().cloned());
        }
        ResolvedApprovals {
            security: pick(agent, wildcard, defaults, |p| p.security, "security"),
            ask: pick(agent, wildcard, defaults, |p| p.ask, "ask"),
            ask_fallback: pick(agent, wildcard, defaults, |p| p.ask_fallback, "askFallback"),
            auto_allow_skills: pick(agent, wildcard, defaults, |p| p.auto_allow_skills, "autoAllowSkills")
                .is_some_and(|(v, _)| v),
            allowlist,
        }
    }

    /// Expands a leading `~/` in allowlist patterns to `home` (the file is written with `~`; the
    /// resolved paths compared against are absolute).
    pub fn with_home(mut self, home: &str) -> Self {
        let home = home.trim_end_matches('/');
        for agent in self.agents.values_mut() {
            for entry in &mut agent.allowlist {
                if let Some(rest) = entry.pattern.trim().strip_prefix("~/") {
                    entry.pattern = format!("{home}/{rest}");
                }
            }
        }
        self
    }
}

/// Moves the legacy `agents.default` section to `agents.main`. When both exist, `main`'s settings
/// win and the allowlists are joined (without duplicate patterns). Returns whether it changed
/// anything.
pub fn migrate_legacy_default(file: &mut ExecApprovalsFile) -> bool {
    let Some(legacy) = file.agents.remove(LEGACY_DEFAULT_AGENT) else {
        return false;
    };
    match file.agents.get_mut(DEFAULT_AGENT_ID) {
        None => {
            file.agents.insert(DEFAULT_AGENT_ID.to_string(), legacy);
        }
        Some(main) => {
            let p = &mut main.policy;
            p.security = p.security.or(legacy.policy.security);
            p.ask = p.ask.or(legacy.policy.ask);
            p.ask_fallback = p.ask_fallback.or(legacy.policy.ask_fallback);
            p.auto_allow_skills = p.auto_allow_skills.or(legacy.policy.auto_allow_skills);
            for entry in legacy.allowlist {
                let duplicate = main
                    .allowlist
                    .iter()
                    .any(|e| e.pattern.trim().eq_ignore_ascii_case(entry.pattern.trim()));
                if !duplicate {
                    main.allowlist.push(entry);
                }
            }
            for (key, value) in legacy.extra {
                main.extra.entry(key).or_insert(value);
            }
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glob_segments() {
        assert!(path_glob_matches("/usr/bin/*", "/usr/bin/git"));
        assert!(path_glob_matches("/USR/BIN/GIT", "/usr/bin/git"));
        assert!(!path_glob_matches("/usr/bin/*", "/usr/bin/x/git"));
        assert!(path_glob_matches("/usr/**", "/usr/bin/x/git"));
        assert!(path_glob_matches("/usr/bin/g?t", "/usr/bin/git"));
        assert!(!path_glob_matches("/usr/bin/g?t", "/usr/bin/g/t"));
        assert!(!path_glob_matches("/usr/bin/git", "/usr/bin/git2"));
        assert!(
            path_glob_matches("/opt/a+b/(x)", "/opt/a+b/(x)"),
            "regex syntax is literal"
        );
    }
}

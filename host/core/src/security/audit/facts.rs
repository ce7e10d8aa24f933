//! What the host gathers for the audit. Everything is plain data so the checks stay pure and a
//! test can state a whole machine (modes, symlinks, plugins, a failed probe) as a value.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::config::schema::Config;
use crate::plugins::selection::Discovery;
use crate::tools::approvals_file::ExecApprovalsFile;

/// One audit run's inputs.
pub struct AuditInput<'a> {
    /// The validated config.
    pub config: &'a Config,
    /// The merged document with `${VAR}` references as written (to tell literals from references).
    pub raw: &'a Value,
    /// The environment variables the checks read (`OPENCLAW_GATEWAY_TOKEN`, `HOME`...).
    pub env: &'a BTreeMap<String, String>,
    pub state_dir: &'a str,
    pub config_path: &'a str,
    /// File modes of the state tree; `None` skips the filesystem checks.
    pub fs: Option<FsFacts>,
    /// `~/.openclaw/exec-approvals.json`, when present and readable.
    pub approvals: Option<&'a ExecApprovalsFile>,
    /// Plugins found on disk and what the grant policy decided for each.
    pub discovery: Option<&'a Discovery>,
    /// sha256 of each discovered plugin's component file, by plugin id (for pinned plugins).
    pub component_digests: BTreeMap<String, String>,
    /// Sender ids in each channel's pairing store (`credentials/<channel>[-<account>]-allowFrom.json`),
    /// by channel id (accounts merged).
    pub pairing_allow_from: BTreeMap<String, Vec<String>>,
    /// Results of `--deep` probes; `None` without `--deep`.
    pub deep: Option<DeepFacts>,
}

/// Modes of the files and directories the audit and `--fix` care about.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FsFacts {
    pub paths: Vec<PathFact>,
}

/// What a path is for; decides the checkId and the mode `--fix` sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PathRole {
    StateDir,
    Config,
    Include,
    CredentialsDir,
    CredentialFile,
    AgentDir,
    AuthProfiles,
    SessionsDir,
    SessionsStore,
    Transcript,
    LogFile,
}

impl PathRole {
    /// The mode `--fix` sets: directories private to the owner, files readable only by them.
    pub fn wanted_mode(self) -> u32 {
        match self {
            Self::StateDir | Self::CredentialsDir | Self::AgentDir | Self::SessionsDir => 0o700,
            _ => 0o600,
        }
    }

    pub fn is_dir(self) -> bool {
        self.wanted_mode() == 0o700
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PathKind {
    Missing,
    File,
    Dir,
    Other,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PathFact {
    pub role: PathRole,
    pub path: String,
    /// What the path resolves to (a symlink's target).
    pub kind: PathKind,
    /// Permission bits of the path, or of a symlink's target.
    pub mode: u32,
    pub symlink: bool,
}

/// `--deep` results.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeepFacts {
    pub gateway: Option<ProbeOutcome>,
    /// `Some(Err(reason))` when a sandbox is required and the Docker engine could not be reached.
    pub docker: Option<Result<String, String>>,
}

/// What probing the running gateway found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProbeOutcome {
    pub attempted: bool,
    pub url: Option<String>,
    pub ok: bool,
    pub error: Option<String>,
    /// The status an unauthenticated request got (401 is the right answer).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unauthenticated_status: Option<u16>,
    /// The address the running gateway says it listens on, when it could be asked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub listening: Option<String>,
    /// Where the config says it should listen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected: Option<String>,
}

impl AuditInput<'_> {
    pub fn env(&self, name: &str) -> Option<&str> {
        self.env.get(name).map(String::as_str).filter(|v| !v.trim().is_empty())
    }

    /// `raw` at a dotted path.
    pub fn raw_at(&self, path: &[&str]) -> Option<&Value> {
        let mut at = self.raw;
        for key in path {
            at = at.get(key)?;
        }
        Some(at)
    }
}

/// A value written as `${VAR}` (a reference, not a literal).
pub fn is_env_placeholder(value: &str) -> bool {
    let v = value.trim();
    v.starts_with("${") && v.ends_with('}') && v.len() > 3
}

/// `Value` as a list of strings (numbers rendered), for allowlists.
pub fn strings(value: Option<&Value>) -> Vec<String> {
    match value {
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|v| match v {
                Value::String(s) => Some(s.trim().to_string()),
                Value::Number(n) => Some(n.to_string()),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}

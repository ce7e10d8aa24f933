//! `openclaw security audit` as a pure function: a config snapshot and facts the host gathered
//! (file modes, discovered plugins, pairing stores, probe results) in, findings out.
//!
//! CheckIds, severities, titles and the report's JSON shape are OpenClaw's, so scripts written
//! against OpenClaw keep working; checks of our own (`plugins.grants.*`, `plugins.pins.*`,
//! `sandbox.docker_unreachable`...) use the same form. One module per check family; the order of
//! the families is OpenClaw's emission order, so reports can be diffed.

pub mod channels;
pub mod facts;
pub mod fix;
pub mod fs;
pub mod gateway;
pub mod hooks;
pub mod models;
pub mod plugins;
pub mod sandbox;
pub mod suppress;
pub mod tools;

use serde::{Deserialize, Serialize};

pub use facts::{AuditInput, DeepFacts, FsFacts, PathFact, PathKind, PathRole, ProbeOutcome};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Warn,
    Critical,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Info => "info",
            Self::Warn => "warn",
            Self::Critical => "critical",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "info" => Some(Self::Info),
            "warn" => Some(Self::Warn),
            "critical" => Some(Self::Critical),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Finding {
    pub check_id: String,
    pub severity: Severity,
    pub title: String,
    pub detail: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remediation: Option<String>,
}

impl Finding {
    pub fn new(
        check_id: impl Into<String>,
        severity: Severity,
        title: impl Into<String>,
        detail: impl Into<String>,
    ) -> Self {
        Self {
            check_id: check_id.into(),
            severity,
            title: title.into(),
            detail: detail.into(),
            remediation: None,
        }
    }

    pub fn fix(mut self, remediation: impl Into<String>) -> Self {
        self.remediation = Some(remediation.into());
        self
    }
}

/// A finding moved out of the report by `security.audit.suppressions`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SuppressedFinding {
    #[serde(flatten)]
    pub finding: Finding,
    pub suppression: SuppressionNote,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SuppressionNote {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    pub critical: usize,
    pub warn: usize,
    pub info: usize,
}

impl Summary {
    pub fn of(findings: &[Finding]) -> Self {
        let mut summary = Self::default();
        for finding in findings {
            match finding.severity {
                Severity::Critical => summary.critical += 1,
                Severity::Warn => summary.warn += 1,
                Severity::Info => summary.info += 1,
            }
        }
        summary
    }

    /// Whether findings at `level` or above remain (`--fail-on`).
    pub fn reaches(&self, level: Severity) -> bool {
        match level {
            Severity::Critical => self.critical > 0,
            Severity::Warn => self.critical + self.warn > 0,
            Severity::Info => self.critical + self.warn + self.info > 0,
        }
    }
}

/// The report without its timestamp and the deep-probe block, which the host adds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Audit {
    pub summary: Summary,
    pub findings: Vec<Finding>,
    pub suppressed: Vec<SuppressedFinding>,
}

/// Runs every check family over `input`, then applies `security.audit.suppressions`.
pub fn run(input: &AuditInput<'_>) -> Audit {
    let mut findings = Vec::new();
    fs::summary(input, &mut findings);
    fs::synced_dir(input, &mut findings);
    gateway::collect(input, &mut findings);
    tools::logging_elevated_exec(input, &mut findings);
    hooks::collect(input, &mut findings);
    sandbox::collect(input, &mut findings);
    tools::profiles(input, &mut findings);
    hooks::secrets_in_config(input, &mut findings);
    models::collect(input, &mut findings);
    tools::exposure(input, &mut findings);
    if let Some(facts) = &input.fs {
        fs::permissions(facts, &mut findings);
    }
    plugins::collect(input, &mut findings);
    channels::collect(input, &mut findings);
    if let Some(deep) = &input.deep {
        gateway::deep(input, deep, &mut findings);
        sandbox::deep(input, deep, &mut findings);
    }
    dedupe(&mut findings);
    suppress::apply(input.config, findings)
}

/// The same finding reached by two routes (a channel and its account) is reported once.
fn dedupe(findings: &mut Vec<Finding>) {
    let mut seen = std::collections::HashSet::new();
    findings.retain(|f| seen.insert((f.check_id.clone(), f.severity, f.title.clone(), f.detail.clone())));
}

/// Critical when the condition (usually "exposed beyond loopback") holds, else a warning.
pub(crate) fn crit_if(cond: bool) -> Severity {
    if cond { Severity::Critical } else { Severity::Warn }
}

/// Lists at most `n` items, then how many more.
pub(crate) fn first_n(items: &[String], n: usize) -> String {
    let mut text = items.iter().take(n).cloned().collect::<Vec<_>>().join(", ");
    if items.len() > n {
        text.push_str(&format!(" (+{} more)", items.len() - n));
    }
    text
}

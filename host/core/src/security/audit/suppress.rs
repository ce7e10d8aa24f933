//! `security.audit.suppressions`: accepted findings move to `suppressedFindings`, and a note
//! (which cannot itself be suppressed) says how many.

use super::{Audit, Finding, Severity, Summary, SuppressedFinding, SuppressionNote};
use crate::config::schema::Config;
use crate::config::schema::security::AuditSuppression;

fn contains(haystack: &str, needle: Option<&str>) -> bool {
    match needle.map(str::trim).filter(|n| !n.is_empty()) {
        None => true,
        Some(n) => haystack.to_lowercase().contains(&n.to_lowercase()),
    }
}

fn matches(rule: &AuditSuppression, finding: &Finding) -> bool {
    rule.check_id.trim() == finding.check_id
        && contains(&finding.title, rule.title_includes.as_deref())
        && contains(&finding.detail, rule.detail_includes.as_deref())
}

pub fn apply(config: &Config, findings: Vec<Finding>) -> Audit {
    let rules: &[AuditSuppression] = config
        .security
        .as_ref()
        .and_then(|s| s.audit.as_ref())
        .and_then(|a| a.suppressions.as_deref())
        .unwrap_or_default();
    let mut kept = Vec::with_capacity(findings.len());
    let mut suppressed = Vec::new();
    for finding in findings {
        match rules.iter().find(|r| matches(r, &finding)) {
            Some(rule) => suppressed.push(SuppressedFinding {
                finding,
                suppression: SuppressionNote {
                    reason: rule.reason.clone().filter(|r| !r.trim().is_empty()),
                },
            }),
            None => kept.push(finding),
        }
    }
    if !rules.is_empty() {
        kept.push(Finding::new(
            "security.audit.suppressions.active",
            Severity::Info,
            "Security audit suppressions configured",
            format!(
                "security.audit.suppressions has {} configured suppression(s); {} finding(s) moved to suppressedFindings.",
                rules.len(),
                suppressed.len()
            ),
        ));
    }
    Audit {
        summary: Summary::of(&kept),
        findings: kept,
        suppressed,
    }
}

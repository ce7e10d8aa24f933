//! `security`: audit suppressions (OpenClaw's other `security` keys are accepted as written).

use schemars::{JsonSchema, Schema};
use serde::Deserialize;

use super::common::{Opaque, accept_opaque_keys};

/// `security.audit.suppressions[]`: a finding to move out of the report. `checkId` must match
/// exactly; the optional substrings narrow it (case-insensitive).
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AuditSuppression {
    #[schemars(length(min = 1))]
    pub check_id: String,
    pub title_includes: Option<String>,
    pub detail_includes: Option<String>,
    /// Why the finding is accepted; shown with the suppressed finding.
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AuditConfig {
    pub suppressions: Option<Vec<AuditSuppression>>,
}

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(transform = security_compat)]
pub struct SecurityConfig {
    pub audit: Option<AuditConfig>,
    #[serde(flatten)]
    #[schemars(skip)]
    pub compat: Opaque,
}

fn security_compat(schema: &mut Schema) {
    accept_opaque_keys(schema, &["installPolicy"]);
}

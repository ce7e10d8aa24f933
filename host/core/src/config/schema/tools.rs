//! `tools.*` and the per-agent `agents.list[].tools`: which tools exist and how exec runs.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::common::{AllowEntry, IdMap, Opaque, ToolPolicy, ToolPolicyWithProfile, ToolProfile, accept_opaque_keys};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ExecHost {
    /// Sandbox when one is active for the session, otherwise the gateway host.
    Auto,
    /// Only in the sandbox; fails when no sandbox is active.
    Sandbox,
    Gateway,
    Node,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ExecSecurity {
    /// No commands.
    Deny,
    /// Only allowlisted commands.
    Allowlist,
    /// Any command.
    Full,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum ExecAsk {
    Off,
    /// Ask when a command is not on the allowlist.
    OnMiss,
    Always,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ExecMode {
    Deny,
    Allowlist,
    Ask,
    Auto,
    Full,
}

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ApplyPatchConfig {
    pub enabled: Option<bool>,
    /// Keep `apply_patch` inside the workspace even without a sandbox (default true).
    #[schemars(extend("default" = true))]
    pub workspace_only: Option<bool>,
    pub allow_models: Option<Vec<String>>,
}

/// `tools.exec.approvals`: commands that always need an operator's approval.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ExecApprovalsConfig {
    pub enabled: Option<bool>,
    /// Seconds to wait for a decision; no answer denies.
    #[schemars(range(min = 1))]
    pub timeout_seconds: Option<u64>,
    /// Commands containing any of these always ask, even when otherwise allowed.
    pub patterns: Option<Vec<String>>,
}

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ExecConfig {
    #[schemars(extend("default" = "auto"))]
    pub host: Option<ExecHost>,
    /// Newer single knob that sets `security` and `ask` together.
    pub mode: Option<ExecMode>,
    pub security: Option<ExecSecurity>,
    pub ask: Option<ExecAsk>,
    pub node: Option<String>,
    pub path_prepend: Option<Vec<String>>,
    /// Stdin-only filters allowed without an allowlist entry (`head`, `wc`, ...).
    pub safe_bins: Option<Vec<String>>,
    pub safe_bin_trusted_dirs: Option<Vec<String>>,
    pub safe_bin_profiles: Option<BTreeMap<String, Opaque>>,
    /// Ask before `python -c`, `node -e` and similar inline code.
    pub strict_inline_eval: Option<bool>,
    pub background_ms: Option<u64>,
    /// Default per-command timeout in seconds (older spelling of `timeoutSeconds`).
    pub timeout_sec: Option<u64>,
    pub timeout_seconds: Option<u64>,
    pub cleanup_ms: Option<u64>,
    pub notify_on_exit: Option<bool>,
    pub notify_on_exit_empty_success: Option<bool>,
    pub approval_running_notice_ms: Option<u64>,
    pub apply_patch: Option<ApplyPatchConfig>,
    pub reviewer: Option<Opaque>,
    pub command_highlighting: Option<bool>,
    pub grant_expiry_days: Option<u64>,
    /// Every command needs approval unless it is in `safeBinaries`.
    pub require_approval: Option<bool>,
    pub approvals: Option<ExecApprovalsConfig>,
    /// Commands (a binary, or a binary with its leading arguments such as `git status`) that
    /// run without approval.
    pub safe_binaries: Option<Vec<String>>,
}

/// `tools.elevated.allowFrom`: per channel, the senders who may use elevated (host) exec; or, as
/// some guides write it, a list of agent ids allowed to use elevated exec at all.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum ElevatedAllowFrom {
    #[schemars(title = "an object of channel → sender ids")]
    BySender(IdMap<Vec<AllowEntry>>),
    #[schemars(title = "a list of agent ids")]
    Agents(Vec<String>),
}

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ElevatedConfig {
    /// Master switch for `/elevated` (host exec from a sandboxed session). OpenClaw treats unset
    /// as enabled.
    #[schemars(extend("default" = true))]
    pub enabled: Option<bool>,
    pub allow_from: Option<ElevatedAllowFrom>,
    /// Every elevated command needs an operator's approval.
    pub require_approval: Option<bool>,
}

/// Per-agent `tools.elevated`: can only narrow the global setting.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AgentElevatedConfig {
    pub enabled: Option<bool>,
    pub allow_from: Option<IdMap<Vec<AllowEntry>>>,
    pub require_approval: Option<bool>,
}

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct FsConfig {
    /// Confine read/write/edit/apply_patch to the agent workspace.
    #[schemars(extend("default" = false))]
    pub workspace_only: Option<bool>,
}

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct NestedToolPolicy {
    pub tools: Option<ToolPolicy>,
}

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AgentToAgentConfig {
    pub enabled: Option<bool>,
    pub allow: Option<Vec<String>>,
}

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct WebToolsConfig {
    pub search: Option<Opaque>,
    pub fetch: Option<Opaque>,
    pub x_search: Option<Opaque>,
}

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(transform = tools_compat)]
pub struct ToolsConfig {
    /// Base allowlist; unset means `full`.
    pub profile: Option<ToolProfile>,
    pub allow: Option<Vec<String>>,
    pub also_allow: Option<Vec<String>>,
    pub deny: Option<Vec<String>>,
    /// Per provider or `provider/model`.
    pub by_provider: Option<IdMap<ToolPolicyWithProfile>>,
    pub tools_by_sender: Option<IdMap<ToolPolicy>>,
    pub elevated: Option<ElevatedConfig>,
    pub exec: Option<ExecConfig>,
    pub fs: Option<FsConfig>,
    /// Extra tool policy for sandboxed sessions.
    pub sandbox: Option<NestedToolPolicy>,
    pub subagents: Option<NestedToolPolicy>,
    pub agent_to_agent: Option<AgentToAgentConfig>,
    pub web: Option<WebToolsConfig>,
    #[serde(flatten)]
    #[schemars(skip)]
    pub compat: Opaque,
}

fn tools_compat(schema: &mut schemars::Schema) {
    accept_opaque_keys(
        schema,
        &[
            "message",
            "media",
            "links",
            "sessions",
            "loopDetection",
            "toolSearch",
            "codeMode",
            "swarm",
            "github",
            "sessions_spawn",
            "updatePlan",
            "experimental",
        ],
    );
}

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(transform = agent_tools_compat)]
pub struct AgentToolsConfig {
    pub profile: Option<ToolProfile>,
    pub allow: Option<Vec<String>>,
    pub also_allow: Option<Vec<String>>,
    pub deny: Option<Vec<String>>,
    pub by_provider: Option<IdMap<ToolPolicyWithProfile>>,
    pub tools_by_sender: Option<IdMap<ToolPolicy>>,
    pub elevated: Option<AgentElevatedConfig>,
    pub exec: Option<ExecConfig>,
    pub fs: Option<FsConfig>,
    pub sandbox: Option<NestedToolPolicy>,
    #[serde(flatten)]
    #[schemars(skip)]
    pub compat: Opaque,
}

fn agent_tools_compat(schema: &mut schemars::Schema) {
    accept_opaque_keys(schema, &["loopDetection", "message", "codeMode", "swarm", "github"]);
}

//! `agents.defaults.sandbox` and `agents.list[].sandbox`: Docker isolation for tool execution.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::Deserialize;

use super::common::{NumberOrString, Opaque, ToolPolicy};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum SandboxMode {
    /// Tools run on the gateway host.
    Off,
    /// Every session except the agent's main DM session is sandboxed (groups, other peers).
    NonMain,
    /// Every session is sandboxed.
    All,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum SandboxScope {
    /// One container per session.
    Session,
    /// One container per agent (default).
    Agent,
    /// One container for everything.
    Shared,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum WorkspaceAccess {
    /// Tools see only a sandbox workspace under `~/.openclaw/sandboxes` (default).
    None,
    /// The agent workspace is mounted read-only at `/agent`; write tools are disabled.
    Ro,
    /// The agent workspace is mounted read-write at `/workspace`.
    Rw,
}

/// A ulimit: a number (soft = hard), a `"soft:hard"` string or `{soft, hard}`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum UlimitValue {
    Number(u64),
    Text(String),
    Pair(UlimitPair),
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UlimitPair {
    pub soft: Option<u64>,
    pub hard: Option<u64>,
}

/// `setupCommand`: one command or several lines.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum SetupCommand {
    One(String),
    Lines(Vec<String>),
}

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct DockerConfig {
    #[schemars(extend("default" = "openclaw-sandbox:bookworm-slim"))]
    pub image: Option<String>,
    #[schemars(extend("default" = "openclaw-sbx-"))]
    pub container_prefix: Option<String>,
    #[schemars(extend("default" = "/workspace"))]
    pub workdir: Option<String>,
    #[schemars(extend("default" = true))]
    pub read_only_root: Option<bool>,
    #[schemars(extend("default" = ["/tmp", "/var/tmp", "/run"]))]
    pub tmpfs: Option<Vec<String>>,
    /// Docker network: `none` (default), `bridge` or a named network. `host` and `container:*`
    /// are refused.
    #[schemars(extend("default" = "none"))]
    pub network: Option<String>,
    /// `uid:gid` inside the container.
    pub user: Option<String>,
    #[schemars(extend("default" = ["ALL"]))]
    pub cap_drop: Option<Vec<String>>,
    #[schemars(extend("default" = {"LANG": "C.UTF-8"}))]
    pub env: Option<BTreeMap<String, String>>,
    pub setup_command: Option<SetupCommand>,
    #[schemars(range(min = 1))]
    pub pids_limit: Option<u64>,
    pub memory: Option<NumberOrString>,
    pub memory_swap: Option<NumberOrString>,
    #[schemars(range(min = 0.01))]
    pub cpus: Option<f64>,
    pub gpus: Option<String>,
    pub ulimits: Option<BTreeMap<String, UlimitValue>>,
    /// Path of a seccomp profile; `unconfined` is refused.
    pub seccomp_profile: Option<String>,
    /// AppArmor profile name; `unconfined` is refused.
    pub apparmor_profile: Option<String>,
    pub dns: Option<Vec<String>>,
    pub extra_hosts: Option<Vec<String>>,
    /// Extra bind mounts `host:container[:ro|rw]`; host paths must be absolute.
    pub binds: Option<Vec<String>>,
    pub dangerously_allow_reserved_container_targets: Option<bool>,
    pub dangerously_allow_external_bind_sources: Option<bool>,
    pub dangerously_allow_container_namespace_join: Option<bool>,
}

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PruneConfig {
    /// Remove containers idle this long (0 disables).
    #[schemars(extend("default" = 24))]
    pub idle_hours: Option<u64>,
    /// Remove containers older than this (0 disables).
    #[schemars(extend("default" = 7))]
    pub max_age_days: Option<u64>,
}

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SandboxConfig {
    #[schemars(extend("default" = "off"))]
    pub mode: Option<SandboxMode>,
    /// `docker` (default).
    #[schemars(extend("default" = "docker"))]
    pub backend: Option<String>,
    #[schemars(extend("default" = "agent"))]
    pub scope: Option<SandboxScope>,
    /// Older spelling: `true` is scope `session`, `false` is `shared`.
    pub per_session: Option<bool>,
    #[schemars(extend("default" = "none"))]
    pub workspace_access: Option<WorkspaceAccess>,
    #[schemars(extend("default" = "~/.openclaw/sandboxes"))]
    pub workspace_root: Option<String>,
    pub session_tools_visibility: Option<String>,
    pub docker: Option<DockerConfig>,
    pub browser: Option<Opaque>,
    pub prune: Option<PruneConfig>,
    pub ssh: Option<Opaque>,
    /// Tool policy for sandboxed sessions. Same meaning as `tools.sandbox.tools` at this level;
    /// set it in one of the two places.
    pub tools: Option<ToolPolicy>,
}

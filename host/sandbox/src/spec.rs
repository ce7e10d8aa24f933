//! The effective sandbox for one tool call, computed from the config without touching Docker:
//! whether to sandbox at all, the scope key and container name, the mounts and every hardened
//! Docker setting with OpenClaw's defaults, and a hash of what the container was built from.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use openclaw_core::config::path::JsonPath;
use openclaw_core::config::rules::sandbox_block_issues;
use openclaw_core::config::schema::common::NumberOrString;
use openclaw_core::config::schema::sandbox::{
    DockerConfig, PruneConfig, SandboxConfig, SandboxMode, SandboxScope, SetupCommand, UlimitValue, WorkspaceAccess,
};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::error::SandboxError;

pub const DEFAULT_IMAGE: &str = "openclaw-sandbox:bookworm-slim";
pub const DEFAULT_CONTAINER_PREFIX: &str = "openclaw-sbx-";
pub const DEFAULT_WORKDIR: &str = "/workspace";
pub const DEFAULT_TMPFS: [&str; 3] = ["/tmp", "/var/tmp", "/run"];
pub const DEFAULT_NETWORK: &str = "none";
pub const DEFAULT_WORKSPACE_ROOT: &str = "~/.openclaw/sandboxes";
pub const DEFAULT_IDLE_HOURS: u64 = 24;
pub const DEFAULT_MAX_AGE_DAYS: u64 = 7;
/// Where the agent workspace appears when the sandbox has its own workspace at the workdir.
pub const AGENT_MOUNT_TARGET: &str = "/agent";
/// Docker caps container names at 63 characters in practice (DNS label length).
const MAX_CONTAINER_NAME: usize = 63;
const SLUG_MAX: usize = 32;

/// Who is asking: the agent, the session and where the agent's workspace is on the host.
#[derive(Debug, Clone)]
pub struct SandboxContext<'a> {
    pub agent_id: &'a str,
    pub session_key: &'a str,
    /// The agent's main session (its owner's DMs); `non-main` leaves exactly this one on the host.
    pub is_main_session: bool,
    /// Absolute path of the agent workspace on the Docker host.
    pub agent_workspace: &'a Path,
    /// Expands a leading `~` in `workspaceRoot`.
    pub home: &'a Path,
}

/// Whether a tool call runs on the host or in a sandbox, with the reason.
#[derive(Debug, Clone, PartialEq)]
pub enum SandboxDecision {
    Host { reason: HostReason },
    Sandboxed(Box<SandboxSpec>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostReason {
    ModeOff,
    MainSessionUnderNonMain,
}

impl HostReason {
    pub fn code(self) -> &'static str {
        match self {
            Self::ModeOff => "mode_off",
            Self::MainSessionUnderNonMain => "main_session",
        }
    }
}

impl std::fmt::Display for HostReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::ModeOff => "not sandboxed: sandbox mode is off",
            Self::MainSessionUnderNonMain => "not sandboxed: the main session under mode non-main",
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Mount {
    pub source: String,
    pub target: String,
    pub read_only: bool,
}

impl Mount {
    /// The `Binds` entry Docker expects.
    pub fn bind_entry(&self) -> String {
        let mode = if self.read_only { "ro" } else { "rw" };
        format!("{}:{}:{mode}", self.source, self.target)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Ulimit {
    pub name: String,
    pub soft: i64,
    pub hard: i64,
}

/// Every Docker setting of the container, defaults applied and units parsed.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DockerSpec {
    pub image: String,
    pub workdir: String,
    pub read_only_root: bool,
    pub tmpfs: Vec<String>,
    pub network: String,
    pub user: Option<String>,
    pub cap_drop: Vec<String>,
    pub env: BTreeMap<String, String>,
    pub setup_command: Option<String>,
    pub pids_limit: Option<i64>,
    /// Bytes.
    pub memory: Option<i64>,
    /// Bytes; `-1` is unlimited swap.
    pub memory_swap: Option<i64>,
    /// Billionths of a CPU, as the API counts them.
    pub nano_cpus: Option<i64>,
    pub ulimits: Vec<Ulimit>,
    pub seccomp_profile: Option<String>,
    pub apparmor_profile: Option<String>,
    pub dns: Vec<String>,
    pub extra_hosts: Vec<String>,
    /// Workspace mounts first, then the configured binds (global then agent).
    pub mounts: Vec<Mount>,
    pub binds: Vec<String>,
}

impl DockerSpec {
    /// `security_opt` entries: no-new-privileges always, then the configured profiles.
    pub fn security_opts(&self) -> Vec<String> {
        let mut opts = vec!["no-new-privileges".to_string()];
        if let Some(p) = &self.seccomp_profile {
            opts.push(format!("seccomp={p}"));
        }
        if let Some(p) = &self.apparmor_profile {
            opts.push(format!("apparmor={p}"));
        }
        opts
    }

    /// Every bind Docker gets: workspace mounts then custom binds.
    pub fn all_binds(&self) -> Vec<String> {
        self.mounts
            .iter()
            .map(Mount::bind_entry)
            .chain(self.binds.iter().cloned())
            .collect()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PrunePolicy {
    /// 0 disables.
    pub idle_hours: u64,
    /// 0 disables.
    pub max_age_days: u64,
}

impl Default for PrunePolicy {
    fn default() -> Self {
        Self {
            idle_hours: DEFAULT_IDLE_HOURS,
            max_age_days: DEFAULT_MAX_AGE_DAYS,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct SandboxSpec {
    pub mode: SandboxMode,
    pub scope: SandboxScope,
    /// `session`: the session key; `agent`: `agent:<id>`; `shared`: `shared`.
    pub scope_key: String,
    pub container_prefix: String,
    pub container_name: String,
    pub workspace_access: WorkspaceAccess,
    /// The sandbox's own workspace: `<workspaceRoot>/<slug>`.
    pub sandbox_workspace: PathBuf,
    pub agent_workspace: PathBuf,
    pub docker: DockerSpec,
    pub prune: PrunePolicy,
    pub config_hash: String,
}

impl SandboxSpec {
    /// Write, edit and apply_patch are disabled when the agent workspace is only readable.
    pub fn allows_workspace_writes(&self) -> bool {
        self.workspace_access != WorkspaceAccess::Ro
    }
}

/// Decides whether this call is sandboxed and, if so, computes its spec. `defaults` is
/// `agents.defaults.sandbox`, `agent` the agent's own `sandbox` block: agent scalars win, `env`
/// and `ulimits` merge key by key, `binds` are the global ones followed by the agent's. Under
/// scope `shared` the agent's docker and prune overrides are ignored, as OpenClaw does.
pub fn resolve(
    defaults: Option<&SandboxConfig>,
    agent: Option<&SandboxConfig>,
    ctx: &SandboxContext<'_>,
) -> Result<SandboxDecision, SandboxError> {
    refuse_unsafe(defaults, agent)?;
    let mode = first(agent, defaults, |c| c.mode).unwrap_or(SandboxMode::Off);
    match mode {
        SandboxMode::Off => {
            return Ok(SandboxDecision::Host {
                reason: HostReason::ModeOff,
            });
        }
        SandboxMode::NonMain if ctx.is_main_session => {
            return Ok(SandboxDecision::Host {
                reason: HostReason::MainSessionUnderNonMain,
            });
        }
        SandboxMode::NonMain | SandboxMode::All => {}
    }
    let scope = first(agent, defaults, |c| {
        c.scope.or(c.per_session.map(|per_session| {
            if per_session {
                SandboxScope::Session
            } else {
                SandboxScope::Shared
            }
        }))
    })
    .unwrap_or(SandboxScope::Agent);
    let scope_key = match scope {
        SandboxScope::Session => ctx.session_key.to_string(),
        SandboxScope::Agent => format!("agent:{}", ctx.agent_id.to_ascii_lowercase()),
        SandboxScope::Shared => "shared".to_string(),
    };
    let agent_overrides = if scope == SandboxScope::Shared { None } else { agent };
    let global_docker = defaults.and_then(|c| c.docker.as_ref());
    let agent_docker = agent_overrides.and_then(|c| c.docker.as_ref());
    let workspace_access = first(agent, defaults, |c| c.workspace_access).unwrap_or(WorkspaceAccess::None);
    let workspace_root =
        first(agent, defaults, |c| c.workspace_root.clone()).unwrap_or_else(|| DEFAULT_WORKSPACE_ROOT.to_string());
    let workspace_root = expand_home(&workspace_root, ctx.home);
    let slug = scope_slug(scope, &scope_key);
    let sandbox_workspace = workspace_root.join(&slug);
    let container_prefix = docker_first(agent_docker, global_docker, |d| d.container_prefix.clone())
        .unwrap_or_else(|| DEFAULT_CONTAINER_PREFIX.to_string());
    let container_name = container_name(&container_prefix, &slug);

    let workdir =
        docker_first(agent_docker, global_docker, |d| d.workdir.clone()).unwrap_or_else(|| DEFAULT_WORKDIR.to_string());
    let mounts = workspace_mounts(workspace_access, &sandbox_workspace, ctx.agent_workspace, &workdir);
    let docker = DockerSpec {
        image: docker_first(agent_docker, global_docker, |d| d.image.clone())
            .unwrap_or_else(|| DEFAULT_IMAGE.to_string()),
        read_only_root: docker_first(agent_docker, global_docker, |d| d.read_only_root).unwrap_or(true),
        tmpfs: docker_first(agent_docker, global_docker, |d| d.tmpfs.clone())
            .unwrap_or_else(|| DEFAULT_TMPFS.iter().map(|s| s.to_string()).collect()),
        network: docker_first(agent_docker, global_docker, |d| d.network.clone())
            .unwrap_or_else(|| DEFAULT_NETWORK.to_string()),
        user: docker_first(agent_docker, global_docker, |d| d.user.clone()),
        cap_drop: docker_first(agent_docker, global_docker, |d| d.cap_drop.clone())
            .unwrap_or_else(|| vec!["ALL".to_string()]),
        env: merged_env(global_docker, agent_docker),
        setup_command: docker_first(agent_docker, global_docker, |d| d.setup_command.clone()).map(|c| match c {
            SetupCommand::One(one) => one,
            SetupCommand::Lines(lines) => lines.join("\n"),
        }),
        pids_limit: docker_first(agent_docker, global_docker, |d| d.pids_limit)
            .map(|n| to_i64(n, "docker.pidsLimit"))
            .transpose()?,
        memory: docker_first(agent_docker, global_docker, |d| d.memory.clone())
            .map(|m| parse_bytes(&m, "docker.memory"))
            .transpose()?,
        memory_swap: docker_first(agent_docker, global_docker, |d| d.memory_swap.clone())
            .map(|m| parse_bytes(&m, "docker.memorySwap"))
            .transpose()?,
        nano_cpus: docker_first(agent_docker, global_docker, |d| d.cpus)
            .map(parse_cpus)
            .transpose()?,
        ulimits: merged_ulimits(global_docker, agent_docker)?,
        seccomp_profile: docker_first(agent_docker, global_docker, |d| d.seccomp_profile.clone()),
        apparmor_profile: docker_first(agent_docker, global_docker, |d| d.apparmor_profile.clone()),
        dns: docker_first(agent_docker, global_docker, |d| d.dns.clone()).unwrap_or_default(),
        extra_hosts: docker_first(agent_docker, global_docker, |d| d.extra_hosts.clone()).unwrap_or_default(),
        mounts,
        binds: global_docker
            .and_then(|d| d.binds.clone())
            .into_iter()
            .flatten()
            .chain(agent_docker.and_then(|d| d.binds.clone()).into_iter().flatten())
            .collect(),
        workdir,
    };
    let prune_of = |c: Option<&SandboxConfig>| c.and_then(|c| c.prune.clone());
    let prune = merged_prune(prune_of(defaults), prune_of(agent_overrides));
    let config_hash = config_hash(&docker, workspace_access, &sandbox_workspace, ctx.agent_workspace);
    Ok(SandboxDecision::Sandboxed(Box::new(SandboxSpec {
        mode,
        scope,
        scope_key,
        container_prefix,
        container_name,
        workspace_access,
        sandbox_workspace,
        agent_workspace: ctx.agent_workspace.to_path_buf(),
        docker,
        prune,
        config_hash,
    })))
}

/// Config validation refuses these already; checking again here keeps a config that skipped
/// validation (or a future caller's hand-built block) away from Docker.
fn refuse_unsafe(defaults: Option<&SandboxConfig>, agent: Option<&SandboxConfig>) -> Result<(), SandboxError> {
    let root = JsonPath::root().key("agents");
    let blocks = [
        (root.key("defaults").key("sandbox"), defaults),
        (root.key("list").key("<agent>").key("sandbox"), agent),
    ];
    for (path, block) in blocks {
        let Some(block) = block else { continue };
        if let Some(issue) = sandbox_block_issues(&path, block).into_iter().find(|i| i.is_error()) {
            return Err(SandboxError::Spec {
                field: issue.path.to_string(),
                reason: issue.message,
            });
        }
    }
    Ok(())
}

fn first<T>(
    agent: Option<&SandboxConfig>,
    defaults: Option<&SandboxConfig>,
    get: impl Fn(&SandboxConfig) -> Option<T>,
) -> Option<T> {
    agent.and_then(&get).or_else(|| defaults.and_then(&get))
}

fn docker_first<T>(
    agent: Option<&DockerConfig>,
    global: Option<&DockerConfig>,
    get: impl Fn(&DockerConfig) -> Option<T>,
) -> Option<T> {
    agent.and_then(&get).or_else(|| global.and_then(&get))
}

fn merged_env(global: Option<&DockerConfig>, agent: Option<&DockerConfig>) -> BTreeMap<String, String> {
    let configured = [global, agent]
        .into_iter()
        .flatten()
        .filter_map(|d| d.env.as_ref())
        .collect::<Vec<_>>();
    if configured.is_empty() {
        return BTreeMap::from([("LANG".to_string(), "C.UTF-8".to_string())]);
    }
    let mut env = BTreeMap::new();
    for layer in configured {
        env.extend(layer.iter().map(|(k, v)| (k.clone(), v.clone())));
    }
    env
}

fn merged_ulimits(global: Option<&DockerConfig>, agent: Option<&DockerConfig>) -> Result<Vec<Ulimit>, SandboxError> {
    let mut merged: BTreeMap<&str, &UlimitValue> = BTreeMap::new();
    for layer in [global, agent].into_iter().flatten().filter_map(|d| d.ulimits.as_ref()) {
        merged.extend(layer.iter().map(|(k, v)| (k.as_str(), v)));
    }
    merged
        .into_iter()
        .map(|(name, value)| parse_ulimit(name, value))
        .collect()
}

/// The prune policy for containers of `scope_key`: the agent's `prune` over the global one,
/// except under scope `shared` (key `shared`), where only the global one counts.
pub fn prune_policy(defaults: Option<&SandboxConfig>, agent: Option<&SandboxConfig>, scope_key: &str) -> PrunePolicy {
    let agent = if scope_key == "shared" { None } else { agent };
    let prune_of = |c: Option<&SandboxConfig>| c.and_then(|c| c.prune.clone());
    merged_prune(prune_of(defaults), prune_of(agent))
}

fn merged_prune(global: Option<PruneConfig>, agent: Option<PruneConfig>) -> PrunePolicy {
    let pick =
        |get: fn(&PruneConfig) -> Option<u64>| agent.as_ref().and_then(get).or_else(|| global.as_ref().and_then(get));
    PrunePolicy {
        idle_hours: pick(|p| p.idle_hours).unwrap_or(DEFAULT_IDLE_HOURS),
        max_age_days: pick(|p| p.max_age_days).unwrap_or(DEFAULT_MAX_AGE_DAYS),
    }
}

/// OpenClaw's mounts: `none` gives the sandbox only its own workspace; `ro` adds the agent
/// workspace read-only at `/agent`; `rw` mounts the agent workspace itself at the workdir.
pub fn workspace_mounts(
    access: WorkspaceAccess,
    sandbox_workspace: &Path,
    agent_workspace: &Path,
    workdir: &str,
) -> Vec<Mount> {
    let mount = |source: &Path, target: &str, read_only| Mount {
        source: source.display().to_string(),
        target: target.to_string(),
        read_only,
    };
    match access {
        WorkspaceAccess::None => vec![mount(sandbox_workspace, workdir, false)],
        WorkspaceAccess::Ro => vec![
            mount(sandbox_workspace, workdir, false),
            mount(agent_workspace, AGENT_MOUNT_TARGET, true),
        ],
        WorkspaceAccess::Rw => vec![mount(agent_workspace, workdir, false)],
    }
}

fn expand_home(path: &str, home: &Path) -> PathBuf {
    match path.strip_prefix('~') {
        Some("") => home.to_path_buf(),
        Some(rest) if rest.starts_with('/') => home.join(rest.trim_start_matches('/')),
        _ => PathBuf::from(path),
    }
}

/// The slug of a scope key: `shared` for the shared scope, otherwise the lowercased key with
/// every run of characters outside `[a-z0-9._-]` turned into one `-`, dashes trimmed, cut to 32
/// characters, then `-` and 8 hex characters of the key's sha256 so distinct keys never collide.
pub fn scope_slug(scope: SandboxScope, scope_key: &str) -> String {
    if scope == SandboxScope::Shared {
        return "shared".to_string();
    }
    slugify(scope_key)
}

pub fn slugify(key: &str) -> String {
    let trimmed = key.trim();
    let mut slug = String::with_capacity(trimmed.len());
    let mut in_run = false;
    for c in trimmed.to_lowercase().chars() {
        if c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-') {
            slug.push(c);
            in_run = false;
        } else if !in_run {
            slug.push('-');
            in_run = true;
        }
    }
    let slug: String = slug.trim_matches('-').chars().take(SLUG_MAX).collect();
    let digest = Sha256::digest(trimmed.as_bytes());
    let short: String = digest.iter().take(4).map(|b| format!("{b:02x}")).collect();
    if slug.is_empty() {
        short
    } else {
        format!("{slug}-{short}")
    }
}

pub fn container_name(prefix: &str, slug: &str) -> String {
    format!("{prefix}{slug}").chars().take(MAX_CONTAINER_NAME).collect()
}

/// sha256 over the sorted-key JSON of what the container is built from, so any change to the
/// Docker settings or mounts makes a new container.
pub fn config_hash(
    docker: &DockerSpec,
    access: WorkspaceAccess,
    sandbox_workspace: &Path,
    agent_workspace: &Path,
) -> String {
    let access = match access {
        WorkspaceAccess::None => "none",
        WorkspaceAccess::Ro => "ro",
        WorkspaceAccess::Rw => "rw",
    };
    let input = serde_json::json!({
        "docker": docker,
        "workspaceAccess": access,
        "workspaceDir": sandbox_workspace.display().to_string(),
        "agentWorkspaceDir": agent_workspace.display().to_string(),
    });
    let canonical = canonical_json(&input);
    let digest = Sha256::digest(canonical.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// JSON with object keys sorted at every level and nulls dropped, independent of map order.
fn canonical_json(value: &serde_json::Value) -> String {
    use serde_json::Value;
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.iter().filter(|(_, v)| !v.is_null()).map(|(k, _)| k).collect();
            keys.sort();
            let body: Vec<String> = keys
                .into_iter()
                .map(|k| format!("{}:{}", Value::String(k.clone()), canonical_json(&map[k])))
                .collect();
            format!("{{{}}}", body.join(","))
        }
        Value::Array(items) => format!("[{}]", items.iter().map(canonical_json).collect::<Vec<_>>().join(",")),
        other => other.to_string(),
    }
}

fn to_i64(n: u64, field: &str) -> Result<i64, SandboxError> {
    i64::try_from(n).map_err(|_| SandboxError::Spec {
        field: field.to_string(),
        reason: format!("{n} is too large"),
    })
}

/// Docker's byte sizes: a number of bytes, or a number with `b`, `k`, `m` or `g` (powers of
/// 1024). `-1` means unlimited (only meaningful for memorySwap).
pub fn parse_bytes(value: &NumberOrString, field: &str) -> Result<i64, SandboxError> {
    let bad = |reason: String| SandboxError::Spec {
        field: field.to_string(),
        reason,
    };
    let text = match value {
        NumberOrString::Number(n) => n.to_string(),
        NumberOrString::Text(t) => t.trim().to_ascii_lowercase(),
    };
    if text == "-1" {
        return Ok(-1);
    }
    let split = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (digits, unit) = text.split_at(split);
    let unit = unit.trim().trim_end_matches('b');
    let multiplier: i64 = match unit {
        "" => 1,
        "k" => 1 << 10,
        "m" => 1 << 20,
        "g" => 1 << 30,
        _ => return Err(bad(format!("{text:?} is not a size like 512m or 2g"))),
    };
    let number: i64 = digits
        .parse()
        .map_err(|_| bad(format!("{text:?} is not a size like 512m or 2g")))?;
    number
        .checked_mul(multiplier)
        .filter(|n| *n > 0)
        .ok_or_else(|| bad(format!("{text:?} is out of range")))
}

fn parse_cpus(cpus: f64) -> Result<i64, SandboxError> {
    let nano = cpus * 1e9;
    if !nano.is_finite() || !(1e7..=1e12).contains(&nano) {
        return Err(SandboxError::Spec {
            field: "docker.cpus".into(),
            reason: format!("{cpus} is not a CPU count between 0.01 and 1000"),
        });
    }
    Ok(nano.round() as i64)
}

/// A ulimit: a number (soft = hard), `"soft:hard"` or `"n"`, or `{soft, hard}` (a missing side
/// copies the other).
pub fn parse_ulimit(name: &str, value: &UlimitValue) -> Result<Ulimit, SandboxError> {
    let field = format!("docker.ulimits.{name}");
    let bad = |reason: String| SandboxError::Spec {
        field: field.clone(),
        reason,
    };
    let number = |s: &str| -> Result<i64, SandboxError> {
        let s = s.trim();
        if s == "-1" || s.eq_ignore_ascii_case("unlimited") {
            return Ok(-1);
        }
        s.parse::<i64>()
            .ok()
            .filter(|n| *n >= 0)
            .ok_or_else(|| bad(format!("{s:?} is not a number")))
    };
    let (soft, hard) = match value {
        UlimitValue::Number(n) => {
            let n = i64::try_from(*n).map_err(|_| bad(format!("{n} is too large")))?;
            (n, n)
        }
        UlimitValue::Text(text) => match text.split_once(':') {
            Some((soft, hard)) => (number(soft)?, number(hard)?),
            None => {
                let n = number(text)?;
                (n, n)
            }
        },
        UlimitValue::Pair(pair) => {
            let soft = pair.soft.or(pair.hard);
            let hard = pair.hard.or(pair.soft);
            match (soft, hard) {
                (Some(s), Some(h)) => (
                    i64::try_from(s).map_err(|_| bad(format!("{s} is too large")))?,
                    i64::try_from(h).map_err(|_| bad(format!("{h} is too large")))?,
                ),
                _ => return Err(bad("give soft, hard or both".into())),
            }
        }
    };
    if soft >= 0 && hard >= 0 && soft > hard {
        return Err(bad(format!("soft {soft} is above hard {hard}")));
    }
    Ok(Ulimit {
        name: name.to_string(),
        soft,
        hard,
    })
}

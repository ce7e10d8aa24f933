//! The gateway's one way into Docker sandboxes: which calls are sandboxed and in what spec (pure,
//! from the config snapshot), the engine connection (made on first need, never at start when
//! nothing is sandboxed), the persisted registry of last uses, and the periodic prune. The
//! built-in `exec`/`process`/file tools, plugins' sandbox-exec import and `openclaw sandbox` all
//! come through here.

mod backend;
pub mod explain;

pub use backend::PluginSandbox;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use openclaw_core::config::schema::Config;
use openclaw_core::config::schema::sandbox::{SandboxConfig, SandboxMode};
use openclaw_core::routing::session_key::{SessionKey, normalize_agent_id};
use openclaw_sandbox::prune::PruneReason;
use openclaw_sandbox::spec::PrunePolicy;
use openclaw_sandbox::{
    Engine, EngineEndpoint, ExecOutput, ExecRequest, OutputStream, Registry, SandboxContext, SandboxDecision,
    SandboxError, SandboxInfo, SandboxManager, SandboxSpec,
};

use crate::state::{Env, StatePaths};
use crate::tools::workspace::agent_workspace;

/// How often idle containers are looked for (OpenClaw: at most every 5 minutes).
pub const PRUNE_INTERVAL: Duration = Duration::from_secs(5 * 60);

/// The engine settings `DOCKER_HOST` and friends; the process environment wins over the config's
/// `env` block, as everywhere in OpenClaw.
const ENGINE_VARIABLES: [&str; 3] = ["DOCKER_HOST", "DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH"];

pub struct Sandboxes {
    config: Arc<Config>,
    paths: StatePaths,
    engine_env: BTreeMap<String, String>,
    /// Set on the first successful connection; a failed one is retried on the next call, so a
    /// daemon started after the gateway is picked up.
    manager: tokio::sync::OnceCell<Arc<SandboxManager>>,
    hot_window: Option<Duration>,
}

impl Sandboxes {
    pub fn new(config: Arc<Config>, paths: StatePaths, env: &Env) -> Self {
        Self {
            engine_env: engine_env(&config, env),
            config,
            paths,
            manager: tokio::sync::OnceCell::new(),
            hot_window: None,
        }
    }

    pub fn config(&self) -> &Arc<Config> {
        &self.config
    }

    /// The engine this gateway would use.
    pub fn endpoint(&self) -> Result<EngineEndpoint, SandboxError> {
        EngineEndpoint::from_env(&self.engine_env, Some(&self.paths.home))
    }

    /// `agents.defaults.sandbox` and the agent's own `sandbox` block.
    fn blocks(&self, agent_id: &str) -> (Option<&SandboxConfig>, Option<&SandboxConfig>) {
        let agents = self.config.agents.as_ref();
        let defaults = agents
            .and_then(|a| a.defaults.as_ref())
            .and_then(|d| d.sandbox.as_ref());
        let agent = agents
            .and_then(|a| a.list().iter().find(|e| normalize_agent_id(&e.id) == agent_id))
            .and_then(|e| e.sandbox.as_ref());
        (defaults, agent)
    }

    /// Where a call of this agent in this session runs, and with what container. Pure: reads
    /// the config snapshot only.
    pub fn decide(&self, agent_id: &str, session_key: &SessionKey) -> Result<SandboxDecision, SandboxError> {
        let (defaults, agent) = self.blocks(agent_id);
        let workspace = agent_workspace(&self.config, &self.paths, agent_id);
        let key = session_key.to_string();
        let context = SandboxContext {
            agent_id,
            session_key: &key,
            is_main_session: session_key.is_main(),
            agent_workspace: &workspace,
            home: &self.paths.home,
        };
        let decision = openclaw_sandbox::resolve(defaults, agent, &context)?;
        if let SandboxDecision::Sandboxed(_) = &decision {
            let backend = agent
                .and_then(|a| a.backend.as_deref())
                .or_else(|| defaults.and_then(|d| d.backend.as_deref()))
                .unwrap_or("docker");
            if backend != "docker" {
                return Err(SandboxError::Spec {
                    field: "agents.defaults.sandbox.backend".into(),
                    reason: format!(
                        "backend {backend:?} is not supported by this gateway (only \"docker\"); nothing runs until it is set to \"docker\""
                    ),
                });
            }
        }
        Ok(decision)
    }

    /// The container a plugin's sandbox-exec uses: the session's sandbox, or, where the agent's
    /// mode leaves the session on the host, one built from the same settings as under mode `all`.
    pub fn spec_for_plugin(&self, agent_id: &str, session_key: &SessionKey) -> Result<SandboxSpec, SandboxError> {
        if let SandboxDecision::Sandboxed(spec) = self.decide(agent_id, session_key)? {
            return Ok(*spec);
        }
        let (defaults, agent) = self.blocks(agent_id);
        let forced = |block: Option<&SandboxConfig>| {
            let mut block = block.cloned().unwrap_or_default();
            block.mode = Some(SandboxMode::All);
            block
        };
        let defaults = forced(defaults);
        let agent = agent.map(|a| forced(Some(a)));
        let workspace = agent_workspace(&self.config, &self.paths, agent_id);
        let key = session_key.to_string();
        let context = SandboxContext {
            agent_id,
            session_key: &key,
            is_main_session: session_key.is_main(),
            agent_workspace: &workspace,
            home: &self.paths.home,
        };
        match openclaw_sandbox::resolve(Some(&defaults), agent.as_ref(), &context)? {
            SandboxDecision::Sandboxed(spec) => Ok(*spec),
            SandboxDecision::Host { reason } => Err(SandboxError::Spec {
                field: "agents.defaults.sandbox.mode".into(),
                reason: format!("{reason}; plugin commands never run on the host"),
            }),
        }
    }

    /// Whether the session's tools run sandboxed. A config that cannot be resolved counts as
    /// sandboxed: the tool policy then applies the stricter sandbox rules, and the call itself
    /// fails with the reason.
    pub fn is_sandboxed(&self, agent_id: &str, session_key: &SessionKey) -> bool {
        !matches!(self.decide(agent_id, session_key), Ok(SandboxDecision::Host { .. }))
    }

    /// Whether any agent may ever be sandboxed (then the gateway looks after containers at
    /// start and periodically; otherwise it never talks to Docker).
    pub fn any_configured(&self) -> bool {
        let agents = self.config.agents.as_ref();
        let modes = agents
            .and_then(|a| a.defaults.as_ref())
            .and_then(|d| d.sandbox.as_ref())
            .and_then(|s| s.mode)
            .into_iter()
            .chain(
                agents
                    .map(|a| a.list())
                    .unwrap_or_default()
                    .iter()
                    .filter_map(|e| e.sandbox.as_ref().and_then(|s| s.mode)),
            );
        modes.into_iter().any(|m| m != SandboxMode::Off)
    }

    /// The connected manager, connecting (and negotiating the API version) on first use.
    pub async fn manager(&self) -> Result<Arc<SandboxManager>, SandboxError> {
        self.manager
            .get_or_try_init(|| async {
                let engine = Engine::connect(self.endpoint()?).await?;
                let mut manager = SandboxManager::new(engine);
                if let Some(window) = self.hot_window {
                    manager = manager.with_hot_window(window);
                }
                let manager = Arc::new(manager);
                self.seed_uses(&manager);
                Ok(manager)
            })
            .await
            .cloned()
    }

    /// Runs `request` in the spec's container (created or reused first). The use is recorded in
    /// memory and reaches the registry at the next prune round or at stop.
    pub async fn exec(&self, spec: &SandboxSpec, request: &ExecRequest) -> Result<ExecOutput, SandboxError> {
        let manager = self.manager().await?;
        manager.exec(spec, request).await
    }

    /// Like [`Sandboxes::exec`], passing output on as it arrives; when `cancel` resolves the
    /// command is killed in the container.
    pub async fn exec_streaming(
        &self,
        spec: &SandboxSpec,
        request: &ExecRequest,
        on_output: &mut (dyn FnMut(OutputStream, &[u8]) + Send),
        cancel: impl std::future::Future<Output = ()> + Send,
    ) -> Result<ExecOutput, SandboxError> {
        let manager = self.manager().await?;
        manager.exec_streaming(spec, request, on_output, cancel).await
    }

    /// `~/.openclaw/sandbox/containers.json`, as OpenClaw keeps it.
    pub fn registry_path(&self) -> PathBuf {
        self.paths.state_dir.join(openclaw_sandbox::registry::DEFAULT_FILE)
    }

    /// Last uses persisted before a restart: Docker labels cannot change, so idleness survives
    /// a restart only through the registry. An unreadable file is logged and ignored (it holds
    /// nothing that cannot be rebuilt).
    fn seed_uses(&self, manager: &SandboxManager) {
        match Registry::load(self.registry_path()) {
            Ok(registry) => manager.seed_from_registry(&registry),
            Err(e) => tracing::warn!("sandbox registry ignored: {e}"),
        }
    }

    /// Rewrites the registry from the containers the engine has, with the freshest last uses.
    pub async fn save_registry(&self) -> Result<(), SandboxError> {
        let manager = self.manager().await?;
        let entries = manager.registry_entries(None).await?;
        let mut registry =
            Registry::load(self.registry_path()).unwrap_or_else(|_| Registry::empty(self.registry_path()));
        registry.replace_entries(entries);
        registry.save()
    }

    /// The prune policy that applies to a container, from the agent its scope key names.
    pub fn prune_policy_for(&self, scope_key: Option<&str>) -> PrunePolicy {
        let scope_key = scope_key.unwrap_or("");
        let agent_id = scope_key
            .strip_prefix("agent:")
            .and_then(|rest| rest.split(':').next())
            .map(normalize_agent_id);
        let (defaults, agent) = match &agent_id {
            Some(id) => self.blocks(id),
            None => (self.blocks("").0, None),
        };
        openclaw_sandbox::spec::prune_policy(defaults, agent, scope_key)
    }

    /// Removes this gateway's containers (see [`Sandboxes::container_prefixes`]) idle longer
    /// than their `prune.idleHours` or older than `prune.maxAgeDays` at `now_ms`, then
    /// rewrites the registry.
    pub async fn prune(&self, now_ms: u64) -> Result<Vec<(SandboxInfo, PruneReason)>, SandboxError> {
        let manager = self.manager().await?;
        let mut removed = Vec::new();
        for info in self.list().await? {
            let policy = self.prune_policy_for(info.scope_key.as_deref());
            if let Some(reason) =
                openclaw_sandbox::prune::prune_reason(policy, info.created_ms, info.last_used_ms, now_ms)
            {
                manager.remove(&info.name).await?;
                removed.push((info, reason));
            }
        }
        if let Err(e) = self.save_registry().await {
            tracing::warn!("writing the sandbox registry failed: {e}");
        }
        Ok(removed)
    }

    /// At gateway start, when any agent may be sandboxed: removes our containers that are not
    /// running (left by a crash or a daemon restart), then prunes every [`PRUNE_INTERVAL`]
    /// until `shutdown`. An unreachable daemon is logged, never fatal: the next round retries,
    /// and the tool calls that need a sandbox fail closed on their own.
    pub fn spawn_upkeep(
        self: &Arc<Self>,
        mut shutdown: tokio::sync::watch::Receiver<bool>,
    ) -> Option<tokio::task::JoinHandle<()>> {
        if !self.any_configured() {
            return None;
        }
        let sandboxes = self.clone();
        Some(tokio::spawn(async move {
            match sandboxes.remove_orphans().await {
                Ok(removed) if !removed.is_empty() => tracing::info!(?removed, "removed stopped sandbox containers"),
                Ok(_) => {}
                Err(e) => tracing::warn!("sandbox cleanup at start skipped: {e}"),
            }
            let mut every = tokio::time::interval(PRUNE_INTERVAL);
            loop {
                tokio::select! {
                    _ = every.tick() => {}
                    _ = shutdown.changed() => break,
                }
                if *shutdown.borrow() {
                    break;
                }
                match sandboxes.prune(openclaw_sandbox::manager::now_ms()).await {
                    Ok(removed) => {
                        for (info, reason) in removed {
                            tracing::info!(container = %info.name, %reason, "sandbox pruned");
                        }
                    }
                    Err(e) => tracing::warn!("sandbox prune skipped: {e}"),
                }
            }
            if let Err(e) = sandboxes.save_registry().await {
                tracing::debug!("sandbox registry not written at stop: {e}");
            }
        }))
    }

    /// This gateway's containers (names under a configured `containerPrefix`) that are not
    /// running: a crash or a daemon restart left them behind. Other prefixes belong to other
    /// gateways on the same engine and are left alone.
    pub async fn remove_orphans(&self) -> Result<Vec<String>, SandboxError> {
        let manager = self.manager().await?;
        let mut removed = Vec::new();
        for prefix in self.container_prefixes() {
            removed.extend(manager.remove_orphans(Some(&prefix), |_| true).await?);
        }
        Ok(removed)
    }

    /// This gateway's containers: those named under a configured `containerPrefix`. Other
    /// prefixes on the same engine belong to other gateways and are never touched.
    pub async fn list(&self) -> Result<Vec<SandboxInfo>, SandboxError> {
        let manager = self.manager().await?;
        let prefixes = self.container_prefixes();
        Ok(manager
            .list(None)
            .await?
            .into_iter()
            .filter(|info| prefixes.iter().any(|p| info.name.starts_with(p.as_str())))
            .collect())
    }

    /// Every `docker.containerPrefix` the config uses: the global one (or the default) and the
    /// agents' own.
    pub fn container_prefixes(&self) -> Vec<String> {
        let agents = self.config.agents.as_ref();
        let prefix_of = |s: &SandboxConfig| {
            s.docker
                .as_ref()
                .and_then(|d| d.container_prefix.clone())
                .filter(|p| !p.is_empty())
        };
        let global = agents
            .and_then(|a| a.defaults.as_ref())
            .and_then(|d| d.sandbox.as_ref())
            .and_then(prefix_of)
            .unwrap_or_else(|| openclaw_sandbox::spec::DEFAULT_CONTAINER_PREFIX.to_string());
        let mut prefixes: Vec<String> = agents
            .map(|a| a.list())
            .unwrap_or_default()
            .iter()
            .filter_map(|e| e.sandbox.as_ref().and_then(prefix_of))
            .collect();
        prefixes.push(global);
        prefixes.sort();
        prefixes.dedup();
        // A prefix that extends another adds nothing: the shorter one already matches.
        let all = prefixes.clone();
        prefixes.retain(|p| !all.iter().any(|q| q != p && p.starts_with(q.as_str())));
        prefixes
    }
}

/// `DOCKER_HOST`, `DOCKER_TLS_VERIFY`, `DOCKER_CERT_PATH` from the process, else from the
/// config's `env.vars` / `env.<NAME>`.
fn engine_env(config: &Config, env: &Env) -> BTreeMap<String, String> {
    let configured = config.env.as_ref();
    ENGINE_VARIABLES
        .iter()
        .filter_map(|name| {
            let value = env.get(name).map(str::to_string).or_else(|| {
                configured.and_then(|c| {
                    c.vars
                        .as_ref()
                        .and_then(|v| v.get(*name))
                        .or_else(|| c.inline.get(*name))
                        .filter(|v| !v.is_empty())
                        .cloned()
                })
            })?;
            Some((name.to_string(), value))
        })
        .collect()
}

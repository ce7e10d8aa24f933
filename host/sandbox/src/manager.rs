//! Container lifecycle: one hardened container per scope, created on first use, reused while
//! its config hash matches, exec'd into with deadlines and output caps, pruned when idle.
//!
//! Locking: ensuring a container holds a lock for that container name only, so sessions in
//! different scopes never wait for each other; execs into one container run concurrently.

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bollard::exec::{CreateExecOptions, StartExecOptions, StartExecResults};
use bollard::models::{ContainerCreateBody, HostConfig, ResourcesUlimits};
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, InspectContainerOptions, ListContainersOptionsBuilder,
    RemoveContainerOptionsBuilder, StartContainerOptions,
};
use futures_util::{FutureExt, StreamExt};
use tokio::io::AsyncWriteExt;

use crate::engine::{Engine, is_conflict, is_missing_image, is_not_found};
use crate::env;
use crate::error::SandboxError;
use crate::exec::{CappedBuffer, ExecOutput, ExecRequest, OutputStream};
use crate::labels;
use crate::prune::{PruneReason, Reuse, prune_reason, reuse_decision};
use crate::registry::{Registry, RegistryEntry};
use crate::spec::{PrunePolicy, SandboxSpec};

/// OpenClaw's "hot" window: a changed container used this recently is kept, not recreated.
pub const DEFAULT_HOT_WINDOW: Duration = Duration::from_secs(5 * 60);
/// The command that keeps a sandbox alive between execs; `init` reaps what execs leave behind.
const KEEP_ALIVE: [&str; 2] = ["sleep", "infinity"];
const SETUP_TIMEOUT: Duration = Duration::from_secs(600);
/// How long a killed exec may take to be reported as stopped.
const KILL_GRACE: Duration = Duration::from_secs(10);
/// Every exec carries this variable; on timeout every process that still has it is killed, so
/// children the command forked go too. Processes inherit it; only one that scrubs its own
/// environment could escape, and the container's pids limit still bounds those.
const EXEC_MARKER: &str = "OPENCLAW_EXEC_ID";
/// The kill script is fixed text; the id to kill reaches it as an environment value.
const KILL_SCRIPT: &str = r#"want="OPENCLAW_EXEC_ID=$OPENCLAW_KILL_ID"
round=0
while [ "$round" -lt 5 ]; do
  found=""
  for dir in /proc/[0-9]*; do
    if tr '\0' '\n' < "$dir/environ" 2>/dev/null | grep -qxF "$want"; then
      kill -9 "${dir#/proc/}" 2>/dev/null && found=1
    fi
  done
  [ -z "$found" ] && exit 0
  round=$((round + 1))
done
"#;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EnsureOutcome {
    Created,
    Reused,
    /// It existed but was stopped.
    Started,
    /// Its config hash differed; the old one was removed.
    Recreated,
    /// Its config hash differs but it was used recently; the hint says how to apply the change.
    KeptStale {
        hint: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ensured {
    pub name: String,
    pub id: String,
    pub outcome: EnsureOutcome,
}

/// One sandbox container as the engine reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SandboxInfo {
    pub name: String,
    pub id: String,
    pub scope_key: Option<String>,
    pub config_hash: Option<String>,
    pub image: Option<String>,
    pub running: bool,
    /// The engine's state word: running, exited, created, dead...
    pub state: String,
    pub created_ms: u64,
    /// Fresher of the creation label and this process's own record.
    pub last_used_ms: u64,
}

pub struct SandboxManager {
    engine: Engine,
    hot_window: Duration,
    name_locks: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    last_used: Mutex<HashMap<String, u64>>,
    /// Containers this manager ensured, with the config hash they were ensured for.
    ensured: Mutex<HashMap<String, String>>,
}

impl SandboxManager {
    pub fn new(engine: Engine) -> Self {
        Self {
            engine,
            hot_window: DEFAULT_HOT_WINDOW,
            name_locks: Mutex::new(HashMap::new()),
            last_used: Mutex::new(HashMap::new()),
            ensured: Mutex::new(HashMap::new()),
        }
    }

    /// Zero recreates a changed container even when it was just used.
    pub fn with_hot_window(mut self, window: Duration) -> Self {
        self.hot_window = window;
        self
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Makes sure the spec's container exists, runs and matches the spec's config hash.
    pub async fn ensure(&self, spec: &SandboxSpec) -> Result<Ensured, SandboxError> {
        let ensured = self.ensure_locked(spec).await?;
        let hash = match ensured.outcome {
            // The running container does not match the spec; keep checking on every call.
            EnsureOutcome::KeptStale { .. } => None,
            _ => Some(spec.config_hash.clone()),
        };
        if let Ok(mut known) = self.ensured.lock() {
            match hash {
                Some(hash) => known.insert(ensured.name.clone(), hash),
                None => known.remove(&ensured.name),
            };
        }
        Ok(ensured)
    }

    async fn ensure_locked(&self, spec: &SandboxSpec) -> Result<Ensured, SandboxError> {
        let name = spec.container_name.as_str();
        let lock = self.lock_for(name);
        let _held = lock.lock().await;
        let docker = self.engine.docker();
        // Create first: on the cold path that saves the inspect round trips; a conflict means
        // the container exists, and only then is it inspected.
        let mut attempts = 0;
        let existing = loop {
            if let Some(created) = self.create_and_start(spec, EnsureOutcome::Created).await? {
                return Ok(created);
            }
            attempts += 1;
            match docker.inspect_container(name, None::<InspectContainerOptions>).await {
                Ok(info) => break info,
                // Removed between the conflict and the inspect (a prune, another process).
                Err(e) if is_not_found(&e) && attempts < 3 => continue,
                Err(e) => return Err(SandboxError::engine("inspect", name, e)),
            }
        };
        let id = existing.id.clone().unwrap_or_default();
        let running = existing.state.as_ref().and_then(|s| s.running).unwrap_or(false);
        let hash = existing
            .config
            .as_ref()
            .and_then(|c| c.labels.as_ref())
            .and_then(|l| l.get(labels::CONFIG_HASH).cloned());
        let decision = reuse_decision(
            hash.as_deref(),
            &spec.config_hash,
            running,
            self.recorded_use(name),
            now_ms(),
            self.hot_window,
            name,
        );
        match decision {
            Reuse::Reuse if running => Ok(Ensured {
                name: name.to_string(),
                id,
                outcome: EnsureOutcome::Reused,
            }),
            Reuse::Reuse => {
                docker
                    .start_container(name, None::<StartContainerOptions>)
                    .await
                    .map_err(|e| SandboxError::engine("start", name, e))?;
                Ok(Ensured {
                    name: name.to_string(),
                    id,
                    outcome: EnsureOutcome::Started,
                })
            }
            Reuse::KeepStale { hint } => {
                tracing::warn!("{hint}");
                Ok(Ensured {
                    name: name.to_string(),
                    id,
                    outcome: EnsureOutcome::KeptStale { hint },
                })
            }
            Reuse::Recreate => {
                self.force_remove(name).await?;
                match self.create_and_start(spec, EnsureOutcome::Recreated).await? {
                    Some(created) => Ok(created),
                    // Another gateway process made it again first, from the same config.
                    None => Ok(Ensured {
                        name: name.to_string(),
                        id: String::new(),
                        outcome: EnsureOutcome::Reused,
                    }),
                }
            }
        }
    }

    /// Ensures the spec's container, then runs the request in it.
    ///
    /// A warm call skips the inspect round trip when this manager already ensured the container
    /// with the same config hash; if the container vanished or stopped meanwhile (pruned or
    /// recreated by another process), it is ensured again and the call retried once.
    pub async fn exec(&self, spec: &SandboxSpec, request: &ExecRequest) -> Result<ExecOutput, SandboxError> {
        self.exec_streaming(spec, request, &mut |_, _| {}, std::future::pending())
            .await
    }

    /// [`SandboxManager::exec`], handing every chunk of output to `on_output` as it arrives
    /// (uncapped; the returned [`ExecOutput`] still holds the capped copy). When `cancel`
    /// resolves before the process ends, every process of the exec is killed as on a timeout
    /// and [`ExecOutput::cancelled`] is set.
    ///
    /// `cancel` is only watched once the container is ensured: abandoning a half-made container
    /// (or its setup command) would leave it for the next call to trip over.
    pub async fn exec_streaming<C>(
        &self,
        spec: &SandboxSpec,
        request: &ExecRequest,
        on_output: &mut (dyn FnMut(OutputStream, &[u8]) + Send),
        cancel: C,
    ) -> Result<ExecOutput, SandboxError>
    where
        C: Future<Output = ()> + Send,
    {
        let mut cancel = std::pin::pin!(cancel);
        let name = spec.container_name.as_str();
        if self.ensured_hash(name).as_deref() == Some(spec.config_hash.as_str()) {
            // NotRunning comes from creating the exec, before any output or cancel was seen,
            // so the retry below repeats nothing the caller observed.
            match self
                .exec_in_inner(name, &spec.docker.env, request, on_output, cancel.as_mut())
                .await
            {
                Err(SandboxError::NotRunning { .. }) => self.forget_ensured(name),
                other => return other,
            }
        }
        self.ensure(spec).await?;
        self.exec_in_inner(name, &spec.docker.env, request, on_output, cancel.as_mut())
            .await
    }

    /// Runs the request in an existing container. `configured_env` is the operator's
    /// `docker.env`: those keys pass the credential filter.
    pub async fn exec_in(
        &self,
        container: &str,
        configured_env: &BTreeMap<String, String>,
        request: &ExecRequest,
    ) -> Result<ExecOutput, SandboxError> {
        self.exec_in_streaming(
            container,
            configured_env,
            request,
            &mut |_, _| {},
            std::future::pending(),
        )
        .await
    }

    /// [`SandboxManager::exec_in`] with streamed output and cancellation, as
    /// [`SandboxManager::exec_streaming`].
    pub async fn exec_in_streaming<C>(
        &self,
        container: &str,
        configured_env: &BTreeMap<String, String>,
        request: &ExecRequest,
        on_output: &mut (dyn FnMut(OutputStream, &[u8]) + Send),
        cancel: C,
    ) -> Result<ExecOutput, SandboxError>
    where
        C: Future<Output = ()> + Send,
    {
        let mut cancel = std::pin::pin!(cancel);
        self.exec_in_inner(container, configured_env, request, on_output, cancel.as_mut())
            .await
    }

    async fn exec_in_inner(
        &self,
        container: &str,
        configured_env: &BTreeMap<String, String>,
        request: &ExecRequest,
        on_output: &mut (dyn FnMut(OutputStream, &[u8]) + Send),
        cancel: Pin<&mut (dyn Future<Output = ()> + Send)>,
    ) -> Result<ExecOutput, SandboxError> {
        if request.argv.is_empty() || request.argv[0].is_empty() {
            return Err(SandboxError::BadRequest(
                "argv is empty: name the program to run".into(),
            ));
        }
        if request.argv.iter().any(|a| a.contains('\0')) {
            return Err(SandboxError::BadRequest("argv contains a NUL byte".into()));
        }
        let sanitized = env::sanitize(&request.env, configured_env);
        let marker = new_exec_id()?;
        let mut api_env = env::api_entries(&sanitized.kept);
        api_env.push(format!("{EXEC_MARKER}={marker}"));
        self.touch(container);
        let mut output = self
            .run_exec(
                container,
                request.argv.clone(),
                api_env,
                request,
                &marker,
                on_output,
                cancel,
            )
            .await?;
        output.dropped_env = sanitized.dropped;
        self.touch(container);
        Ok(output)
    }

    #[allow(clippy::too_many_arguments)]
    async fn run_exec(
        &self,
        container: &str,
        argv: Vec<String>,
        env: Vec<String>,
        request: &ExecRequest,
        marker: &str,
        on_output: &mut (dyn FnMut(OutputStream, &[u8]) + Send),
        mut cancel: Pin<&mut (dyn Future<Output = ()> + Send)>,
    ) -> Result<ExecOutput, SandboxError> {
        if cancel.as_mut().now_or_never().is_some() {
            // Cancelled before anything ran: there is nothing to kill.
            return Ok(ExecOutput {
                cancelled: true,
                ..ExecOutput::default()
            });
        }
        let docker = self.engine.docker();
        let created = docker
            .create_exec(
                container,
                CreateExecOptions {
                    cmd: Some(argv),
                    env: Some(env),
                    working_dir: request.workdir.clone(),
                    user: request.user.clone(),
                    attach_stdin: Some(request.stdin.is_some()),
                    attach_stdout: Some(true),
                    attach_stderr: Some(true),
                    tty: Some(false),
                    ..Default::default()
                },
            )
            .await
            .map_err(|e| {
                if is_not_found(&e) || is_conflict(&e) {
                    // 404: no such container; 409: it exists but is not running.
                    SandboxError::NotRunning {
                        container: container.to_string(),
                    }
                } else {
                    SandboxError::engine("exec", container, e)
                }
            })?;
        let started = docker
            .start_exec(
                &created.id,
                Some(StartExecOptions {
                    detach: false,
                    tty: false,
                    output_capacity: None,
                }),
            )
            .await
            .map_err(|e| SandboxError::engine("exec", container, e))?;
        let StartExecResults::Attached { mut output, mut input } = started else {
            return Err(SandboxError::engine("exec", container, "the engine detached the exec"));
        };
        let stdin = request.stdin.as_deref();
        let mut writing = stdin.is_some();
        // Runs alongside the output reader: a process that writes a lot before it reads stdin
        // would otherwise block on a full pipe while we block on its full stdin.
        let mut writer = std::pin::pin!(async move {
            if let Some(bytes) = stdin {
                input.write_all(bytes).await?;
                // A half-close: the engine closes the process's stdin and keeps sending output.
                input.shutdown().await?;
            }
            Ok::<(), std::io::Error>(())
        });
        let deadline = tokio::time::sleep(request.timeout);
        tokio::pin!(deadline);
        let mut stdout = CappedBuffer::default();
        let mut stderr = CappedBuffer::default();
        let mut timed_out = false;
        let mut cancelled = false;
        loop {
            tokio::select! {
                biased;
                () = cancel.as_mut() => {
                    cancelled = true;
                    break;
                }
                () = &mut deadline => {
                    timed_out = true;
                    break;
                }
                written = &mut writer, if writing => {
                    writing = false;
                    if let Err(e) = written {
                        // The process exited or closed stdin before reading it all, as in a
                        // shell pipeline; its exit status tells the caller what happened.
                        tracing::debug!(container, "stdin not fully written: {e}");
                    }
                }
                chunk = output.next() => match chunk {
                    None => break,
                    Some(Err(e)) => return Err(SandboxError::engine("exec output", container, e)),
                    Some(Ok(chunk)) => {
                        use bollard::container::LogOutput;
                        match chunk {
                            LogOutput::StdErr { message } => {
                                on_output(OutputStream::Stderr, &message);
                                stderr.push(&message, request.output_limit);
                            }
                            LogOutput::StdOut { message } | LogOutput::Console { message } => {
                                on_output(OutputStream::Stdout, &message);
                                stdout.push(&message, request.output_limit);
                            }
                            LogOutput::StdIn { .. } => {}
                        }
                    }
                },
            }
        }
        drop(output);
        let killed = timed_out || cancelled;
        if killed {
            self.kill_exec(container, request.user.clone(), marker).await?;
        }
        let exit_code = self.wait_exit_code(container, &created.id, killed).await?;
        Ok(ExecOutput {
            exit_code,
            stdout: stdout.bytes,
            stderr: stderr.bytes,
            stdout_truncated: stdout.truncated,
            stderr_truncated: stderr.truncated,
            timed_out,
            cancelled,
            dropped_env: Vec::new(),
        })
    }

    /// The engine has no "kill exec" call, so a second exec kills every process carrying the
    /// first one's marker.
    async fn kill_exec(&self, container: &str, user: Option<String>, marker: &str) -> Result<(), SandboxError> {
        let docker = self.engine.docker();
        let created = docker
            .create_exec(
                container,
                CreateExecOptions {
                    cmd: Some(vec!["/bin/sh".to_string(), "-c".to_string(), KILL_SCRIPT.to_string()]),
                    env: Some(vec![format!("OPENCLAW_KILL_ID={marker}")]),
                    user,
                    attach_stdout: Some(true),
                    attach_stderr: Some(true),
                    ..Default::default()
                },
            )
            .await
            .map_err(|e| SandboxError::engine("kill exec", container, e))?;
        let started = docker
            .start_exec(&created.id, None)
            .await
            .map_err(|e| SandboxError::engine("kill exec", container, e))?;
        if let StartExecResults::Attached { mut output, .. } = started {
            let _ = tokio::time::timeout(KILL_GRACE, async { while output.next().await.is_some() {} }).await;
        }
        Ok(())
    }

    async fn wait_exit_code(&self, container: &str, exec_id: &str, killed: bool) -> Result<Option<i64>, SandboxError> {
        let docker = self.engine.docker();
        let give_up = tokio::time::Instant::now() + KILL_GRACE;
        loop {
            let inspected = docker
                .inspect_exec(exec_id)
                .await
                .map_err(|e| SandboxError::engine("inspect exec", container, e))?;
            if inspected.running != Some(true) {
                return Ok(inspected.exit_code);
            }
            if tokio::time::Instant::now() >= give_up {
                return if killed {
                    Err(SandboxError::KillFailed {
                        container: container.to_string(),
                        waited: KILL_GRACE,
                    })
                } else {
                    Ok(None)
                };
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Our containers, optionally only those whose name starts with `name_prefix`.
    pub async fn list(&self, name_prefix: Option<&str>) -> Result<Vec<SandboxInfo>, SandboxError> {
        let filters = HashMap::from([("label".to_string(), vec![labels::sandbox_filter()])]);
        let options = ListContainersOptionsBuilder::default()
            .all(true)
            .filters(&filters)
            .build();
        let summaries = self
            .engine
            .docker()
            .list_containers(Some(options))
            .await
            .map_err(|e| SandboxError::engine("list", "sandboxes", e))?;
        let recorded = self.last_used.lock().map(|m| m.clone()).unwrap_or_default();
        let mut infos = Vec::new();
        for summary in summaries {
            let Some(name) = summary
                .names
                .as_ref()
                .and_then(|n| n.first())
                .map(|n| n.trim_start_matches('/').to_string())
            else {
                continue;
            };
            if name_prefix.is_some_and(|p| !name.starts_with(p)) {
                continue;
            }
            let labels = summary.labels.clone().unwrap_or_default();
            let label_ms = |key: &str| labels.get(key).and_then(|v| v.parse::<u64>().ok());
            let engine_created_ms = summary
                .created
                .and_then(|s| u64::try_from(s).ok())
                .map(|s| s.saturating_mul(1000))
                .unwrap_or(0);
            let created_ms = label_ms(labels::CREATED_AT_MS).unwrap_or(engine_created_ms);
            let last_used_ms = [
                label_ms(labels::LAST_USED_AT_MS),
                recorded.get(&name).copied(),
                Some(created_ms),
            ]
            .into_iter()
            .flatten()
            .max()
            .unwrap_or(created_ms);
            let state = summary.state.map(|s| s.to_string()).unwrap_or_default();
            infos.push(SandboxInfo {
                running: state == "running",
                state,
                id: summary.id.clone().unwrap_or_default(),
                scope_key: labels.get(labels::SCOPE_KEY).cloned(),
                config_hash: labels.get(labels::CONFIG_HASH).cloned(),
                image: labels.get(labels::IMAGE).cloned(),
                created_ms,
                last_used_ms,
                name,
            });
        }
        infos.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(infos)
    }

    /// Removes the container (running or not). `false` when there was none.
    pub async fn remove(&self, name: &str) -> Result<bool, SandboxError> {
        let lock = self.lock_for(name);
        let _held = lock.lock().await;
        self.force_remove(name).await
    }

    /// Removes containers idle longer than `idleHours` or older than `maxAgeDays` at `now_ms`.
    pub async fn prune(
        &self,
        policy: PrunePolicy,
        now_ms: u64,
        name_prefix: Option<&str>,
    ) -> Result<Vec<(String, PruneReason)>, SandboxError> {
        let mut removed = Vec::new();
        for info in self.list(name_prefix).await? {
            if let Some(reason) = prune_reason(policy, info.created_ms, info.last_used_ms, now_ms) {
                self.remove(&info.name).await?;
                removed.push((info.name, reason));
            }
        }
        Ok(removed)
    }

    /// At start: removes our containers that are not running (left by a crash or a stopped
    /// daemon) and those `is_wanted` rejects (e.g. scopes that no longer exist in the config).
    pub async fn remove_orphans(
        &self,
        name_prefix: Option<&str>,
        is_wanted: impl Fn(&SandboxInfo) -> bool,
    ) -> Result<Vec<String>, SandboxError> {
        let mut removed = Vec::new();
        for info in self.list(name_prefix).await? {
            if !info.running || !is_wanted(&info) {
                self.remove(&info.name).await?;
                removed.push(info.name);
            }
        }
        Ok(removed)
    }

    /// Creates and starts the container. `None` when a container of that name already exists
    /// (nothing was changed then).
    async fn create_and_start(
        &self,
        spec: &SandboxSpec,
        outcome: EnsureOutcome,
    ) -> Result<Option<Ensured>, SandboxError> {
        let name = spec.container_name.as_str();
        let docker = self.engine.docker();
        if self.engine.endpoint().is_local() {
            refuse_symlinked_binds(&spec.docker.binds)?;
            // Docker would create a missing bind source itself, owned by root; making it here
            // keeps it owned by the gateway's user.
            std::fs::create_dir_all(&spec.sandbox_workspace).map_err(|e| SandboxError::Spec {
                field: "workspaceRoot".into(),
                reason: format!("cannot create {}: {e}", spec.sandbox_workspace.display()),
            })?;
        }
        let options = CreateContainerOptionsBuilder::default().name(name).build();
        let id = match docker
            .create_container(Some(options), container_body(spec, now_ms()))
            .await
        {
            Ok(created) => created.id,
            Err(e) if is_conflict(&e) => return Ok(None),
            Err(e) if is_missing_image(&e) => {
                return Err(SandboxError::ImageMissing {
                    image: spec.docker.image.clone(),
                    endpoint: self.engine.endpoint().to_string(),
                });
            }
            Err(e) => return Err(SandboxError::engine("create", name, e)),
        };
        match docker.start_container(name, None::<StartContainerOptions>).await {
            Ok(()) => {}
            // 304: already running (another process started it).
            Err(bollard::errors::Error::DockerResponseServerError { status_code: 304, .. }) => {}
            Err(e) => {
                let _ = self.force_remove(name).await;
                return Err(SandboxError::engine("start", name, e));
            }
        }
        if let Some(setup) = &spec.docker.setup_command {
            // The operator wrote a shell command; it runs once, as OpenClaw does.
            let request = ExecRequest::new(["/bin/sh", "-lc", setup.as_str()]).timeout(SETUP_TIMEOUT);
            let marker = new_exec_id()?;
            let mut env = env::api_entries(&spec.docker.env);
            env.push(format!("{EXEC_MARKER}={marker}"));
            let result = self
                .run_exec(
                    name,
                    request.argv.clone(),
                    env,
                    &request,
                    &marker,
                    &mut |_, _| {},
                    std::pin::pin!(std::future::pending::<()>()),
                )
                .await?;
            if !result.success() {
                let _ = self.force_remove(name).await;
                return Err(SandboxError::SetupFailed {
                    container: name.to_string(),
                    exit_code: result.exit_code,
                    stderr: result.stderr_text(),
                });
            }
        }
        self.touch(name);
        Ok(Some(Ensured {
            name: name.to_string(),
            id,
            outcome,
        }))
    }

    async fn force_remove(&self, name: &str) -> Result<bool, SandboxError> {
        let options = RemoveContainerOptionsBuilder::default().force(true).build();
        let result = match self.engine.docker().remove_container(name, Some(options)).await {
            Ok(()) => Ok(true),
            Err(e) if is_not_found(&e) => Ok(false),
            Err(e) => Err(SandboxError::engine("remove", name, e)),
        };
        if let Ok(mut used) = self.last_used.lock() {
            used.remove(name);
        }
        self.forget_ensured(name);
        result
    }

    fn ensured_hash(&self, name: &str) -> Option<String> {
        self.ensured.lock().ok().and_then(|m| m.get(name).cloned())
    }

    fn forget_ensured(&self, name: &str) {
        if let Ok(mut known) = self.ensured.lock() {
            known.remove(name);
        }
    }

    fn lock_for(&self, name: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut locks = self.name_locks.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        locks.entry(name.to_string()).or_default().clone()
    }

    fn touch(&self, name: &str) {
        if let Ok(mut used) = self.last_used.lock() {
            used.insert(name.to_string(), now_ms());
        }
    }

    fn recorded_use(&self, name: &str) -> Option<u64> {
        self.last_used.lock().ok().and_then(|m| m.get(name).copied())
    }

    /// Seeds a last-use time, e.g. from a registry the gateway persisted before a restart
    /// (Docker labels cannot change, so the engine only knows the creation time).
    pub fn record_use(&self, name: &str, at_ms: u64) {
        if let Ok(mut used) = self.last_used.lock() {
            let entry = used.entry(name.to_string()).or_insert(at_ms);
            *entry = (*entry).max(at_ms);
        }
    }

    /// Last-use times this manager knows, to persist across restarts.
    pub fn recorded_uses(&self) -> HashMap<String, u64> {
        self.last_used.lock().map(|m| m.clone()).unwrap_or_default()
    }

    /// Seeds last-use times from a registry persisted before a restart.
    pub fn seed_from_registry(&self, registry: &Registry) {
        for entry in registry.entries() {
            self.record_use(&entry.container_name, entry.last_used_at_ms);
        }
    }

    /// What to persist: one entry per container the engine has (optionally only names starting
    /// with `name_prefix`), with scope key, image, hash and creation time from its labels and
    /// the freshest last use known. Save with [`Registry::replace_entries`] and
    /// [`Registry::save`].
    pub async fn registry_entries(&self, name_prefix: Option<&str>) -> Result<Vec<RegistryEntry>, SandboxError> {
        Ok(self.list(name_prefix).await?.iter().map(RegistryEntry::from).collect())
    }

    /// Tests and the CLI's `recreate` use this to forget that a container was used.
    pub fn forget_use(&self, name: &str) {
        if let Ok(mut used) = self.last_used.lock() {
            used.remove(name);
        }
    }
}

/// Validation refuses dangerous bind sources as written; a symlink (or a symlinked parent) can
/// still lead an innocent-looking path to `/etc` or the Docker socket. Each source is resolved
/// through its deepest existing ancestor and checked again.
fn refuse_symlinked_binds(binds: &[String]) -> Result<(), SandboxError> {
    for bind in binds {
        let source = bind.split(':').next().unwrap_or_default();
        let mut existing = std::path::Path::new(source);
        let mut rest = Vec::new();
        let resolved = loop {
            match existing.canonicalize() {
                Ok(real) => {
                    break Some(
                        rest.iter()
                            .rev()
                            .fold(real, |path: std::path::PathBuf, part| path.join(part)),
                    );
                }
                Err(_) => match (existing.parent(), existing.file_name()) {
                    (Some(parent), Some(name)) => {
                        rest.push(name.to_os_string());
                        existing = parent;
                    }
                    _ => break None,
                },
            }
        };
        if let Some(real) = resolved
            && openclaw_core::config::rules::bind_source_blocked(&real.to_string_lossy())
        {
            return Err(SandboxError::Spec {
                field: "agents.defaults.sandbox.docker.binds".into(),
                reason: format!(
                    "bind source {source} resolves to {} through a symlink, which exposes host secrets or control to the sandbox; mount a dedicated directory instead",
                    real.display()
                ),
            });
        }
    }
    Ok(())
}

/// The create request: hardened host config, environment as API entries, kept alive by a
/// sleeping command under Docker's init.
pub fn container_body(spec: &SandboxSpec, now_ms: u64) -> ContainerCreateBody {
    let d = &spec.docker;
    let host_config = HostConfig {
        binds: Some(d.all_binds()),
        network_mode: Some(d.network.clone()),
        readonly_rootfs: Some(d.read_only_root),
        tmpfs: Some(d.tmpfs.iter().map(|t| (t.clone(), String::new())).collect()),
        cap_drop: Some(d.cap_drop.clone()),
        security_opt: Some(d.security_opts()),
        pids_limit: d.pids_limit,
        memory: d.memory,
        memory_swap: d.memory_swap,
        nano_cpus: d.nano_cpus,
        ulimits: (!d.ulimits.is_empty()).then(|| {
            d.ulimits
                .iter()
                .map(|u| ResourcesUlimits {
                    name: Some(u.name.clone()),
                    soft: Some(u.soft),
                    hard: Some(u.hard),
                })
                .collect()
        }),
        dns: (!d.dns.is_empty()).then(|| d.dns.clone()),
        extra_hosts: (!d.extra_hosts.is_empty()).then(|| d.extra_hosts.clone()),
        init: Some(true),
        ..Default::default()
    };
    ContainerCreateBody {
        image: Some(d.image.clone()),
        cmd: Some(KEEP_ALIVE.iter().map(|s| s.to_string()).collect()),
        env: Some(env::api_entries(&d.env)),
        user: d.user.clone(),
        working_dir: Some(d.workdir.clone()),
        labels: Some(labels::for_container(spec, now_ms)),
        host_config: Some(host_config),
        ..Default::default()
    }
}

fn new_exec_id() -> Result<String, SandboxError> {
    let mut bytes = [0u8; 12];
    getrandom::fill(&mut bytes).map_err(|e| SandboxError::engine("exec", "sandbox", format!("no randomness: {e}")))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

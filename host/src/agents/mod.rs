//! The agent loop: a message in a session becomes a model turn with tool calls, streamed to the
//! caller and written to the session's transcript. Every transport (operator protocol, the CLI's
//! `openclaw agent`, the OpenAI-compatible HTTP endpoint, channels) runs turns through
//! [`AgentService::run_turn`].

mod history;
pub mod prompt;
mod turn;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};

use openclaw_core::config::schema::Config;
use openclaw_core::config::schema::agents::AgentConfig;
use openclaw_core::routing::session_key::{SessionKey, normalize_agent_id};
use openclaw_providers::Providers;
use tokio::sync::watch;

use crate::events::EventBus;
use crate::sessions::{SessionStore, TranscriptMessage};
use crate::state::StatePaths;
use crate::tools::Dispatcher;
use crate::tools::dispatch::Transport;

pub use turn::{AgentEvent, TurnError, TurnResult};

/// Tool-call rounds in one turn before the loop stops the model.
pub const MAX_TOOL_ITERATIONS: usize = 16;

/// One message to answer.
#[derive(Debug, Clone)]
pub struct TurnRequest {
    pub session_key: SessionKey,
    pub message: String,
    pub transport: Transport,
    pub channel: Option<String>,
    /// The channel sender, when a channel delivered the message.
    pub sender: Option<crate::tools::dispatch::Sender>,
    /// Chosen by the caller so it can abort the run before it answers.
    pub run_id: String,
    /// Whether `/status`, `/reset`, `/new` are commands here. A channel sender not authorized
    /// for commands has them read as ordinary text (operators always may).
    pub commands_allowed: bool,
    /// The group's tool policy for this sender (`groups.<id>.tools` / `toolsBySender`), applied
    /// on top of the global and agent policy.
    pub group_tools: Option<std::sync::Arc<openclaw_core::config::schema::common::ToolPolicy>>,
}

struct RunHandle {
    session_key: String,
    cancel: watch::Sender<bool>,
}

struct RunRegistration<'a> {
    service: &'a AgentService,
    run_id: String,
}

impl Drop for RunRegistration<'_> {
    fn drop(&mut self) {
        self.service
            .runs
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(&self.run_id);
    }
}

pub struct AgentService {
    config: Arc<Config>,
    paths: StatePaths,
    /// `Err` holds why the providers could not be built (shown on every turn). Replaced whole by
    /// `secrets reload`; every model request reads the current one, so a rotated API key is
    /// used from the next request on.
    providers: RwLock<Arc<Result<Providers, String>>>,
    dispatcher: Arc<Dispatcher>,
    sessions: Arc<SessionStore>,
    events: EventBus,
    /// Turns in one session run one at a time.
    session_locks: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    runs: Mutex<HashMap<String, RunHandle>>,
}

impl AgentService {
    pub fn new(
        config: Arc<Config>,
        paths: StatePaths,
        providers: Result<Providers, String>,
        dispatcher: Arc<Dispatcher>,
        sessions: Arc<SessionStore>,
        events: EventBus,
    ) -> Self {
        Self {
            config,
            paths,
            providers: RwLock::new(Arc::new(providers)),
            dispatcher,
            sessions,
            events,
            session_locks: Mutex::new(HashMap::new()),
            runs: Mutex::new(HashMap::new()),
        }
    }

    /// The model providers in force now.
    pub fn providers(&self) -> Arc<Result<Providers, String>> {
        // Replaced whole under the lock, so a poisoned lock still holds a complete value.
        self.providers
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Puts providers rebuilt with re-resolved API keys in force (`secrets reload`).
    pub fn replace_providers(&self, providers: Result<Providers, String>) {
        *self
            .providers
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Arc::new(providers);
    }

    pub fn sessions(&self) -> &Arc<SessionStore> {
        &self.sessions
    }

    pub fn dispatcher(&self) -> &Arc<Dispatcher> {
        &self.dispatcher
    }

    pub fn events(&self) -> &EventBus {
        &self.events
    }

    pub fn config(&self) -> &Arc<Config> {
        &self.config
    }

    /// The agent's entry in `agents.list`, if it has one.
    pub fn agent(&self, agent_id: &str) -> Option<&AgentConfig> {
        self.config
            .agents
            .as_ref()
            .and_then(|a| a.list().iter().find(|e| normalize_agent_id(&e.id) == agent_id))
    }

    /// Every agent id, the default first.
    pub fn agent_ids(&self) -> Vec<String> {
        let agents = self.config.agents.clone().unwrap_or_default();
        let default = agents.default_agent_id();
        let mut ids = vec![default.clone()];
        ids.extend(agents.ids().into_iter().filter(|id| *id != default));
        ids
    }

    pub fn default_agent_id(&self) -> String {
        self.config
            .agents
            .as_ref()
            .map(|a| a.default_agent_id())
            .unwrap_or_else(|| "main".into())
    }

    /// Whether `agent_id` is configured (or is `main` with no list).
    pub fn knows_agent(&self, agent_id: &str) -> bool {
        self.agent_ids().iter().any(|id| id == agent_id)
    }

    /// `provider/model` ids to try, primary first.
    pub fn model_chain(&self, agent_id: &str) -> Vec<String> {
        let agent_model = self.agent(agent_id).and_then(|a| a.model.as_ref());
        let default_model = self
            .config
            .agents
            .as_ref()
            .and_then(|a| a.defaults.as_ref())
            .and_then(|d| d.model.as_ref());
        agent_model
            .or(default_model)
            .map(|m| m.ids().into_iter().map(str::to_string).collect())
            .unwrap_or_default()
    }

    fn session_lock(&self, key: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut locks = self
            .session_locks
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        // Idle sessions hold no lock: drop the ones nobody waits on.
        if locks.len() > 1024 {
            locks.retain(|_, lock| Arc::strong_count(lock) > 1);
        }
        locks.entry(key.to_string()).or_default().clone()
    }

    /// Registers a run for `abort`; the registration ends when the guard drops, however the
    /// turn ends (finished, failed, or its future dropped by a caller that went away).
    fn register_run(&self, run_id: &str, session_key: &str) -> (watch::Receiver<bool>, RunRegistration<'_>) {
        let (cancel, receiver) = watch::channel(false);
        self.runs
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(
                run_id.to_string(),
                RunHandle {
                    session_key: session_key.to_string(),
                    cancel,
                },
            );
        (
            receiver,
            RunRegistration {
                service: self,
                run_id: run_id.to_string(),
            },
        )
    }

    /// Aborts the runs of `session_key` (all of them, or only `run_id`); returns the run ids
    /// that were told to stop.
    pub fn abort(&self, session_key: &str, run_id: Option<&str>) -> Vec<String> {
        let runs = self.runs.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut out = Vec::new();
        for (id, run) in runs.iter() {
            if run.session_key == session_key && run_id.is_none_or(|r| r == id) {
                let _ = run.cancel.send(true);
                out.push(id.clone());
            }
        }
        out
    }

    /// The session's conversation, oldest first (at most `limit` messages).
    pub fn history(&self, key: &SessionKey, limit: usize) -> Result<Vec<TranscriptMessage>, String> {
        let Some(entry) = self.sessions.get(key).map_err(|e| e.to_string())? else {
            return Ok(Vec::new());
        };
        let workspace = crate::tools::workspace::agent_workspace(&self.config, &self.paths, key.agent_id());
        let transcript = self
            .sessions
            .transcript(key, &entry, &workspace)
            .map_err(|e| e.to_string())?;
        let messages = transcript.messages().map_err(|e| e.to_string())?;
        let start = messages.len().saturating_sub(limit);
        Ok(messages[start..].to_vec())
    }
}

/// Builds the agent service of a gateway: providers from `models.providers` (API keys resolved
/// from the config's SecretRefs), the session store, exec approvals, and the tool gate.
pub fn build(
    config: &Arc<Config>,
    paths: &StatePaths,
    resolved: &crate::secrets::ResolvedSecrets,
    plugins: Arc<crate::plugins::serving::Plugins>,
    redactor: Arc<openclaw_core::security::redact::Redactor>,
    events: EventBus,
    sandboxes: Arc<crate::sandboxes::Sandboxes>,
) -> Arc<AgentService> {
    let providers = providers_from(config, resolved);
    if let Err(e) = &providers {
        tracing::error!("model providers: {e}");
    }
    let store_template = config.session.as_ref().and_then(|s| s.store.clone()).map(|t| {
        crate::state::expand_home(&t, &paths.home)
            .to_string_lossy()
            .into_owned()
    });
    let sessions = Arc::new(SessionStore::new(&paths.state_dir, store_template, redactor));
    let approvals = Arc::new(crate::tools::approvals::Approvals::new(events.clone()));
    let dispatcher = Arc::new(Dispatcher::new(
        config.clone(),
        paths.clone(),
        plugins,
        sessions.clone(),
        approvals,
        sandboxes,
    ));
    let service = Arc::new(AgentService::new(
        config.clone(),
        paths.clone(),
        providers,
        dispatcher.clone(),
        sessions,
        events,
    ));
    // `sessions_send` is a tool that runs a turn. It queues the turn here instead of awaiting
    // it, so a turn's future never contains another turn's.
    let (turns, mut queued) = tokio::sync::mpsc::unbounded_channel::<QueuedTurn>();
    dispatcher.builtins().bind_turns(turns);
    let weak = Arc::downgrade(&service);
    tokio::spawn(async move {
        while let Some(QueuedTurn { request, reply }) = queued.recv().await {
            let Some(service) = weak.upgrade() else { break };
            tokio::spawn(async move {
                let key = request.session_key.to_string();
                let run_id = request.run_id.clone();
                let mut reply = reply;
                let turn = service.run_turn_if_idle(request, &|_| {});
                tokio::pin!(turn);
                let finished = tokio::select! {
                    result = &mut turn => Some(result),
                    _ = reply.closed() => None,
                };
                match finished {
                    Some(result) => {
                        let _ = reply.send(result);
                    }
                    // The caller gave up waiting: stop the turn too, and let it record that.
                    None => {
                        service.abort(&key, Some(&run_id));
                        let _ = turn.await;
                    }
                }
            });
        }
    });
    service
}

/// The model providers of `models.providers`, their API keys taken from `resolved`.
pub fn providers_from(config: &Config, resolved: &crate::secrets::ResolvedSecrets) -> Result<Providers, String> {
    let resolve =
        |input: &openclaw_core::config::schema::common::SecretInput, path: &str| -> Result<Option<String>, String> {
            let parsed = openclaw_core::config::path::JsonPath::parse(path).map_err(|e| e.to_string())?;
            Ok(resolved.value_of(input, &parsed).map(|v| v.expose().to_string()))
        };
    Providers::from_config(config.models.as_ref(), &resolve).map_err(|e| e.to_string())
}

/// A turn `sessions_send` asked for, with where its answer goes.
pub struct QueuedTurn {
    pub request: TurnRequest,
    pub reply: tokio::sync::oneshot::Sender<Result<TurnResult, TurnError>>,
}

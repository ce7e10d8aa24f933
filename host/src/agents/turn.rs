//! One turn: session commands, then model ↔ tools until the model answers, the iteration cap
//! is reached, or the caller aborts. Every step is written to the transcript as it happens, so a
//! crash loses at most the step in flight.

use std::time::Instant;

use openclaw_core::routing::session_key::SessionKey;
use openclaw_providers::{ChatRequest, Message, ProviderError, StreamEvent, ToolCall, ToolDef};
use serde_json::Value;

use super::history::to_provider;
use super::prompt::system_prompt;
use super::{AgentService, MAX_TOOL_ITERATIONS, TurnRequest};
use crate::sessions::transcript::TranscriptToolCall;
use crate::sessions::{Transcript, TranscriptMessage};
use crate::tools::dispatch::{CallOrigin, ToolOutcome};
use crate::tools::workspace::agent_workspace;

/// What a caller sees while a turn runs.
#[derive(Debug, Clone, PartialEq)]
pub enum AgentEvent {
    /// Reply text as the model streams it.
    Delta {
        text: String,
    },
    ToolStart {
        call_id: String,
        name: String,
    },
    ToolEnd {
        call_id: String,
        name: String,
        is_error: bool,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct TurnResult {
    pub run_id: String,
    pub session_key: String,
    pub session_id: String,
    pub text: String,
    pub aborted: bool,
    pub provider: Option<String>,
    pub model: Option<String>,
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub tool_calls: usize,
    /// Time spent waiting for the model (the rest of the turn is the gateway's own).
    pub model_time: std::time::Duration,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TurnError {
    #[error("agent `{0}` is not configured (agents.list has no entry with this id)")]
    UnknownAgent(String),
    #[error(
        "agent `{0}` has no model: set agents.defaults.model (or agents.list[].model) to \"provider/model\", with the provider under models.providers"
    )]
    NoModel(String),
    #[error("the model providers are not usable: {0}")]
    Providers(String),
    #[error("{0}")]
    Model(String),
    #[error("session storage failed: {0}")]
    Store(String),
    #[error("session `{0}` is busy with another turn")]
    Busy(String),
}

impl AgentService {
    /// Runs one turn. Events go to `on_event` as they happen; the result is the final reply.
    pub async fn run_turn(
        &self,
        request: TurnRequest,
        on_event: &(dyn Fn(AgentEvent) + Send + Sync),
    ) -> Result<TurnResult, TurnError> {
        self.turn(request, on_event, true).await
    }

    /// Like [`AgentService::run_turn`], but fails with `Busy` instead of waiting when the
    /// session is running a turn (a session messaging itself, or two messaging each other,
    /// would otherwise wait for each other forever).
    pub async fn run_turn_if_idle(
        &self,
        request: TurnRequest,
        on_event: &(dyn Fn(AgentEvent) + Send + Sync),
    ) -> Result<TurnResult, TurnError> {
        self.turn(request, on_event, false).await
    }

    async fn turn(
        &self,
        request: TurnRequest,
        on_event: &(dyn Fn(AgentEvent) + Send + Sync),
        wait: bool,
    ) -> Result<TurnResult, TurnError> {
        let key = request.session_key.clone();
        let agent_id = key.agent_id().to_string();
        if !self.knows_agent(&agent_id) {
            return Err(TurnError::UnknownAgent(agent_id));
        }
        let lock = self.session_lock(key.as_ref());
        let _turn = if wait {
            lock.lock().await
        } else {
            lock.try_lock().map_err(|_| TurnError::Busy(key.to_string()))?
        };
        let (cancel, _registered) = self.register_run(&request.run_id, key.as_ref());
        self.turn_locked(&request, &key, cancel, on_event).await
    }

    async fn turn_locked(
        &self,
        request: &TurnRequest,
        key: &SessionKey,
        mut cancel: tokio::sync::watch::Receiver<bool>,
        on_event: &(dyn Fn(AgentEvent) + Send + Sync),
    ) -> Result<TurnResult, TurnError> {
        let agent_id = key.agent_id();
        let store = |e: crate::sessions::StoreError| TurnError::Store(e.to_string());
        let text = request.message.trim();
        let command = if request.commands_allowed {
            self.session_command(key, text).map_err(store)?
        } else {
            None
        };
        if let Some(reply) = command {
            let entry = self.sessions.ensure(key).map_err(store)?;
            return Ok(TurnResult {
                run_id: request.run_id.clone(),
                session_key: key.to_string(),
                session_id: entry.session_id,
                text: reply,
                aborted: false,
                provider: None,
                model: None,
                input_tokens: 0,
                output_tokens: 0,
                tool_calls: 0,
                model_time: std::time::Duration::ZERO,
            });
        }
        let chain = self.model_chain(agent_id);
        let primary = chain
            .first()
            .cloned()
            .ok_or_else(|| TurnError::NoModel(agent_id.to_string()))?;
        // Checked now so a turn that cannot reach a model fails before touching the transcript;
        // each round below asks with the providers in force at that moment.
        if let Err(e) = self.providers().as_ref() {
            return Err(TurnError::Providers(e.clone()));
        }
        let (provider, model) = openclaw_providers::Providers::parse_model(&primary).map_err(TurnError::Model)?;

        let workspace = agent_workspace(&self.config, &self.paths, agent_id);
        let entry = match self.sessions.get(key).map_err(store)? {
            Some(entry) => entry,
            // A new session is put on disk (fsync) before its transcript: off the async
            // workers, which other sessions' turns and the webhooks need meanwhile.
            None => {
                let (sessions, key) = (self.sessions.clone(), key.clone());
                tokio::task::spawn_blocking(move || sessions.ensure(&key))
                    .await
                    .map_err(|e| TurnError::Store(format!("creating the session failed: {e}")))?
                    .map_err(store)?
            }
        };
        let transcript = self.sessions.transcript(key, &entry, &workspace).map_err(store)?;
        let mut messages = to_provider(&transcript.messages().map_err(store)?);
        transcript
            .append(&TranscriptMessage::User { text: text.to_string() })
            .map_err(store)?;
        messages.push(Message::User { text: text.to_string() });

        let mut origin = CallOrigin::new(key.clone(), request.transport);
        origin.provider = Some(provider.clone());
        origin.model = Some(model.clone());
        origin.channel = request.channel.clone();
        origin.sender = request.sender.clone();
        origin.group_tools = request.group_tools.clone();
        let offered = self.dispatcher.offered(&origin);
        let tool_names: Vec<String> = offered.iter().map(|t| t.name.clone()).collect();
        let tools: Vec<ToolDef> = offered
            .into_iter()
            .map(|t| ToolDef {
                name: t.name,
                description: t.description,
                parameters: t.parameters,
            })
            .collect();
        let system = system_prompt(agent_id, self.agent(agent_id), &workspace, &tool_names);

        let mut result = TurnResult {
            run_id: request.run_id.clone(),
            session_key: key.to_string(),
            session_id: entry.session_id.clone(),
            text: String::new(),
            aborted: false,
            provider: None,
            model: None,
            input_tokens: 0,
            output_tokens: 0,
            tool_calls: 0,
            model_time: std::time::Duration::ZERO,
        };
        let started = Instant::now();
        // Tools stay offered in every round: a provider refuses a conversation holding tool calls
        // when the request defines no tools.
        let mut capped = false;
        for iteration in 0..MAX_TOOL_ITERATIONS {
            let chat = ChatRequest {
                system: system.clone(),
                messages: messages.clone(),
                tools: tools.clone(),
                max_tokens: None,
            };
            let mut forward = |event: StreamEvent| {
                if let StreamEvent::TextDelta(text) = event {
                    on_event(AgentEvent::Delta { text });
                }
            };
            let asked = Instant::now();
            let providers = self.providers();
            let answer = match providers.as_ref() {
                Ok(providers) => providers.complete(&chain, &chat, &mut forward, &cancel).await,
                Err(e) => return Err(TurnError::Providers(e.clone())),
            };
            result.model_time += asked.elapsed();
            let completion = match answer {
                Ok(c) => c,
                Err(ProviderError::Cancelled { .. }) => {
                    self.record_failure(&transcript, &provider, &model, "aborted", "aborted by the caller");
                    result.aborted = true;
                    return Ok(result);
                }
                Err(e) => {
                    let message = e.to_string();
                    self.record_failure(&transcript, &provider, &model, "error", &message);
                    return Err(TurnError::Model(message));
                }
            };
            result.provider = Some(completion.provider.clone());
            result.model = Some(completion.model.clone());
            result.input_tokens += completion.usage.input_tokens;
            result.output_tokens += completion.usage.output_tokens;
            let calls: Vec<TranscriptToolCall> = completion
                .tool_calls
                .iter()
                .map(|c| TranscriptToolCall {
                    id: c.id.clone(),
                    name: c.name.clone(),
                    arguments: serde_json::from_str(&c.arguments).unwrap_or(Value::String(c.arguments.clone())),
                })
                .collect();
            transcript
                .append(&TranscriptMessage::Assistant {
                    text: completion.text.clone(),
                    tool_calls: calls.clone(),
                    provider: completion.provider.clone(),
                    model: completion.model.clone(),
                    stop_reason: if calls.is_empty() { "stop" } else { "toolUse" }.into(),
                    error: None,
                    input_tokens: completion.usage.input_tokens,
                    output_tokens: completion.usage.output_tokens,
                })
                .map_err(store)?;
            if !completion.text.is_empty() {
                if !result.text.is_empty() {
                    result.text.push('\n');
                }
                result.text.push_str(&completion.text);
            }
            messages.push(Message::Assistant {
                text: completion.text.clone(),
                tool_calls: completion.tool_calls.clone(),
            });
            if completion.tool_calls.is_empty() {
                break;
            }
            if iteration + 1 == MAX_TOOL_ITERATIONS {
                // The calls of the last round are not run; the next turn's history gives them
                // an "interrupted" result.
                capped = true;
                break;
            }
            origin.provider = Some(completion.provider.clone());
            origin.model = Some(completion.model.clone());
            for call in &completion.tool_calls {
                if *cancel.borrow() {
                    result.aborted = true;
                    return Ok(result);
                }
                let outcome = self.call_tool(&origin, call, on_event, &mut cancel).await;
                result.tool_calls += 1;
                let (text, is_error) = match &outcome {
                    Some(o) => (o.text().to_string(), o.is_error()),
                    None => ("aborted by the caller before the tool finished".to_string(), true),
                };
                // What comes back from a tool is scrubbed before the model or the disk sees it.
                let text = self.sessions.redactor().redact(&text).into_owned();
                transcript
                    .append(&TranscriptMessage::ToolResult {
                        call_id: call.id.clone(),
                        name: call.name.clone(),
                        text: text.clone(),
                        is_error,
                    })
                    .map_err(store)?;
                messages.push(Message::ToolResult {
                    call_id: call.id.clone(),
                    name: call.name.clone(),
                    content: text,
                    is_error,
                });
                if outcome.is_none() {
                    result.aborted = true;
                    return Ok(result);
                }
            }
        }
        if capped {
            if !result.text.is_empty() {
                result.text.push('\n');
            }
            result.text.push_str(&format!(
                "(stopped after {MAX_TOOL_ITERATIONS} rounds of tool calls without a final answer)"
            ));
        }
        let elapsed = started.elapsed();
        tracing::debug!(agent = agent_id, session = %key, ms = elapsed.as_millis() as u64, "turn finished");
        let (input, output) = (result.input_tokens, result.output_tokens);
        let (used_provider, used_model) = (result.provider.clone(), result.model.clone());
        self.sessions
            .update(key, |entry| {
                entry.input_tokens += input;
                entry.output_tokens += output;
                entry.total_tokens = entry.input_tokens + entry.output_tokens;
                entry.model = used_model;
                entry.model_provider = used_provider;
                if let Some(channel) = &request.channel {
                    entry.channel = Some(channel.clone());
                }
            })
            .map_err(store)?;
        Ok(result)
    }

    async fn call_tool(
        &self,
        origin: &CallOrigin,
        call: &ToolCall,
        on_event: &(dyn Fn(AgentEvent) + Send + Sync),
        cancel: &mut tokio::sync::watch::Receiver<bool>,
    ) -> Option<ToolOutcome> {
        on_event(AgentEvent::ToolStart {
            call_id: call.id.clone(),
            name: call.name.clone(),
        });
        let outcome = match serde_json::from_str::<Value>(if call.arguments.trim().is_empty() {
            "{}"
        } else {
            &call.arguments
        }) {
            Err(e) => ToolOutcome::Failed(format!("the arguments of `{}` are not valid JSON: {e}", call.name)),
            Ok(args) => {
                tokio::select! {
                    outcome = self.dispatcher.call(origin, &call.name, args, &call.id) => outcome,
                    _ = cancel.wait_for(|stop| *stop) => return None,
                }
            }
        };
        on_event(AgentEvent::ToolEnd {
            call_id: call.id.clone(),
            name: call.name.clone(),
            is_error: outcome.is_error(),
        });
        Some(outcome)
    }

    fn record_failure(&self, transcript: &Transcript, provider: &str, model: &str, stop: &str, message: &str) {
        let failed = TranscriptMessage::Assistant {
            text: String::new(),
            tool_calls: Vec::new(),
            provider: provider.to_string(),
            model: model.to_string(),
            stop_reason: stop.to_string(),
            error: Some(message.to_string()),
            input_tokens: 0,
            output_tokens: 0,
        };
        if let Err(e) = transcript.append(&failed) {
            tracing::error!("could not record the failed turn: {e}");
        }
    }

    /// `/status`, `/reset`, `/new`: answered by the gateway, never sent to the model.
    fn session_command(&self, key: &SessionKey, text: &str) -> Result<Option<String>, crate::sessions::StoreError> {
        let command = text.split_whitespace().next().unwrap_or_default().to_ascii_lowercase();
        match command.as_str() {
            "/new" | "/reset" => {
                let entry = self.sessions.reset(key)?;
                Ok(Some(format!("Started a new session ({}).", entry.session_id)))
            }
            "/status" => {
                let entry = self.sessions.ensure(key)?;
                let chain = self.model_chain(key.agent_id());
                let origin = CallOrigin::new(key.clone(), crate::tools::Transport::Agent);
                let tools = self.dispatcher.offered(&origin).len();
                Ok(Some(format!(
                    "Agent: {}\nSession: {} ({})\nModel: {}\nTools available: {tools}\nTokens: {} in, {} out",
                    key.agent_id(),
                    key,
                    entry.session_id,
                    if chain.is_empty() {
                        "none configured".to_string()
                    } else {
                        chain.join(" → ")
                    },
                    entry.input_tokens,
                    entry.output_tokens,
                )))
            }
            _ => Ok(None),
        }
    }
}

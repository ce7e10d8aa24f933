//! The one gate. Every tool call (the agent loop, `POST /tools/invoke`, the operator protocol's
//! `tools.invoke`) goes through [`Dispatcher::call`]: the tool policy for that agent and session
//! first, then the HTTP deny list when the call came over HTTP, then the plugin's own grant.
//! [`Dispatcher::offered`] applies the same policy, so a denied tool is never offered to the
//! model, and a call to it anyway is refused with the reason in the tool result.

use std::collections::BTreeMap;
use std::sync::Arc;

use openclaw_core::config::schema::Config;
use openclaw_core::config::schema::common::ToolPolicy;
use openclaw_core::gateway::http_tools::{HttpToolRefusal, http_tool_allowed};
use openclaw_core::routing::session_key::SessionKey;
use openclaw_core::tools::names::canonical;
use openclaw_core::tools::policy::{EffectivePolicy, PluginTool, PolicyContext, ToolCatalog, ToolDecision, resolve};
use openclaw_runtime::CallContext;
use serde_json::Value;

use super::approvals::Approvals;
use super::builtin::Builtins;
use crate::plugins::serving::Plugins;
use crate::sessions::SessionStore;
use crate::state::StatePaths;

/// Which transport a call arrived on. HTTP callers hold only the shared credential, so the HTTP
/// deny list applies to them on top of the policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    Agent,
    Http,
    Operator,
}

/// Who is calling: the agent and session the policy is resolved for.
#[derive(Debug, Clone)]
pub struct CallOrigin {
    pub agent_id: String,
    pub session_key: SessionKey,
    pub transport: Transport,
    /// The provider and model answering, for `byProvider` rules.
    pub provider: Option<String>,
    pub model: Option<String>,
    /// The channel the turn came from, if any.
    pub channel: Option<String>,
    /// Who sent the message, when a channel delivered it (elevated exec checks them).
    pub sender: Option<Sender>,
    /// The group's tool policy for this sender, when a group message started the turn.
    pub group_tools: Option<Arc<ToolPolicy>>,
}

/// A channel sender: the channel and every id they are known by (`123`, `id:123`, `@name`...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sender {
    pub channel: String,
    pub ids: Vec<String>,
}

impl CallOrigin {
    pub fn new(session_key: SessionKey, transport: Transport) -> Self {
        Self {
            agent_id: session_key.agent_id().to_string(),
            session_key,
            transport,
            provider: None,
            model: None,
            channel: None,
            sender: None,
            group_tools: None,
        }
    }
}

/// What a call produced. `Refused` is the gate's answer (the tool never ran); `Failed` is the
/// tool's own error. Both go back to the model as an error tool result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ToolOutcome {
    Done(String),
    Refused(Refusal),
    Failed(String),
}

/// Why the gate said no.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The tool policy (or exec policy, or an operator) denies it.
    Denied(String),
    /// No built-in tool and no enabled plugin provides it.
    Unavailable(String),
}

impl Refusal {
    pub fn message(&self) -> &str {
        match self {
            Self::Denied(m) | Self::Unavailable(m) => m,
        }
    }
}

impl ToolOutcome {
    /// A refusal by policy, with its reason.
    pub fn denied(reason: impl Into<String>) -> Self {
        Self::Refused(Refusal::Denied(reason.into()))
    }

    pub fn is_error(&self) -> bool {
        !matches!(self, Self::Done(_))
    }

    pub fn text(&self) -> &str {
        match self {
            Self::Done(t) | Self::Failed(t) => t,
            Self::Refused(r) => r.message(),
        }
    }
}

/// A tool as offered to the model.
#[derive(Debug, Clone, PartialEq)]
pub struct OfferedTool {
    pub name: String,
    pub description: String,
    pub parameters: Value,
}

/// (agent, provider, model, sandboxed, subagent).
type PolicyKey = (String, Option<String>, Option<String>, bool, bool);
const MAX_CACHED_POLICIES: usize = 256;

pub struct Dispatcher {
    config: Arc<Config>,
    catalog: ToolCatalog,
    policies: std::sync::Mutex<std::collections::HashMap<PolicyKey, Arc<EffectivePolicy>>>,
    plugins: Arc<Plugins>,
    builtins: Builtins,
}

impl Dispatcher {
    pub fn new(
        config: Arc<Config>,
        paths: StatePaths,
        plugins: Arc<Plugins>,
        sessions: Arc<SessionStore>,
        approvals: Arc<Approvals>,
        sandboxes: Arc<crate::sandboxes::Sandboxes>,
    ) -> Self {
        let builtins = Builtins::new(config.clone(), paths, sessions, approvals, plugins.clone(), sandboxes);
        let plugin_tools: Vec<PluginTool> = plugins
            .tool_names()
            .into_iter()
            .map(|(plugin_id, name)| PluginTool {
                plugin_id,
                name,
                optional: false,
            })
            .collect();
        let catalog = ToolCatalog::new(builtins.names().into_iter().map(str::to_string), plugin_tools);
        Self {
            config,
            catalog,
            policies: std::sync::Mutex::new(std::collections::HashMap::new()),
            plugins,
            builtins,
        }
    }

    pub fn config(&self) -> &Arc<Config> {
        &self.config
    }

    pub fn builtins(&self) -> &Builtins {
        &self.builtins
    }

    /// Whether the session runs sandboxed (`sandbox.mode`: `all`, or `non-main` for every key
    /// but the agent's main one). The same decision the sandboxed tools use to pick a container.
    pub fn sandboxed(&self, origin: &CallOrigin) -> bool {
        self.builtins
            .sandboxes()
            .is_sandboxed(&origin.agent_id, &origin.session_key)
    }

    /// The tool policy for this caller, resolved from the config snapshot. The snapshot and the
    /// catalog never change while the gateway runs, so each distinct context is resolved once.
    pub fn policy(&self, origin: &CallOrigin) -> Arc<EffectivePolicy> {
        let sandboxed = self.sandboxed(origin);
        let subagent = origin.session_key.rest().contains("subagent:");
        if let Some(group) = &origin.group_tools {
            // Group policies vary per group and sender; they are resolved per turn, not cached.
            let context = PolicyContext {
                agent_id: &origin.agent_id,
                provider: origin.provider.as_deref(),
                model: origin.model.as_deref(),
                group: Some(group),
                sandboxed,
                subagent,
            };
            return Arc::new(resolve(&self.config, &context, &self.catalog));
        }
        let key = (
            origin.agent_id.clone(),
            origin.provider.clone(),
            origin.model.clone(),
            sandboxed,
            subagent,
        );
        let mut cache = self.policies.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(policy) = cache.get(&key) {
            return policy.clone();
        }
        let context = PolicyContext {
            agent_id: &origin.agent_id,
            provider: origin.provider.as_deref(),
            model: origin.model.as_deref(),
            group: None,
            sandboxed,
            subagent,
        };
        let policy = Arc::new(resolve(&self.config, &context, &self.catalog));
        // Contexts are few (agents × models × two flags); the bound only guards against a
        // caller inventing model names.
        if cache.len() >= MAX_CACHED_POLICIES {
            cache.clear();
        }
        cache.insert(key, policy.clone());
        policy
    }

    /// The tools offered to the model for this caller: only what the policy allows.
    pub fn offered(&self, origin: &CallOrigin) -> Vec<OfferedTool> {
        let policy = self.policy(origin);
        let mut out = Vec::new();
        for name in policy.allowed() {
            if origin.transport == Transport::Http && self.http_refusal(&name).is_some() {
                continue;
            }
            if let Some(spec) = self.builtins.spec(&name) {
                out.push(spec);
            } else if let Some(plugin) = self.plugins.tool(&name)
                && let Some(spec) = plugin.tools.iter().find(|t| t.name == name)
            {
                out.push(OfferedTool {
                    name: spec.name.clone(),
                    description: spec.description.clone(),
                    parameters: serde_json::from_str(&spec.parameters)
                        .unwrap_or_else(|_| serde_json::json!({"type": "object"})),
                });
            }
        }
        out
    }

    fn http_refusal(&self, name: &str) -> Option<String> {
        match http_tool_allowed(name, self.config.gateway.as_ref().and_then(|g| g.tools.as_ref())) {
            Ok(()) => None,
            Err(HttpToolRefusal::Dangerous) => Some(format!(
                "tool `{name}` is denied over HTTP by default (it can act on the host or the gateway); an operator can re-enable it with gateway.tools.allow"
            )),
            Err(HttpToolRefusal::Denied) => Some(format!("tool `{name}` is denied by gateway.tools.deny")),
        }
    }

    /// Decides and, when allowed, runs one call. `Refused` means nothing ran.
    pub async fn call(&self, origin: &CallOrigin, tool: &str, args: Value, call_id: &str) -> ToolOutcome {
        match self.gate(origin, tool) {
            Err(refusal) => {
                let reason = refusal.message();
                tracing::warn!(
                    target: openclaw_core::security::SECURITY_TARGET,
                    event = "tool-refused",
                    agent = %origin.agent_id,
                    session = %origin.session_key,
                    tool,
                    "tool call refused: {reason}"
                );
                ToolOutcome::Refused(refusal)
            }
            Ok((name, policy)) => self.run(origin, &policy, &name, args, call_id).await,
        }
    }

    /// Policy, then the HTTP deny list: the decision without running anything (`dryRun`).
    pub fn gate(&self, origin: &CallOrigin, tool: &str) -> Result<(String, Arc<EffectivePolicy>), Refusal> {
        let name = canonical(tool);
        let policy = self.policy(origin);
        let available = self.builtins.has(&name) || self.plugins.tool(&name).is_some();
        match policy.decide(&name) {
            ToolDecision::Allow => {}
            ToolDecision::Deny { .. } if !available => {
                return Err(Refusal::Unavailable(format!(
                    "Tool not available: `{name}` (no built-in tool and no enabled plugin provides it; see `openclaw plugins list`)"
                )));
            }
            ToolDecision::Deny { reason, .. } => {
                return Err(Refusal::Denied(format!(
                    "tool `{name}` is not allowed for agent `{}`: {reason}",
                    origin.agent_id
                )));
            }
        }
        if origin.transport == Transport::Http
            && let Some(reason) = self.http_refusal(&name)
        {
            return Err(Refusal::Denied(reason));
        }
        if !available {
            return Err(Refusal::Unavailable(format!(
                "Tool not available: `{name}` (no built-in tool and no enabled plugin provides it; see `openclaw plugins list`)"
            )));
        }
        Ok((name, policy))
    }

    async fn run(
        &self,
        origin: &CallOrigin,
        policy: &EffectivePolicy,
        name: &str,
        args: Value,
        call_id: &str,
    ) -> ToolOutcome {
        if !args.is_object() {
            return ToolOutcome::Failed(format!("the arguments of `{name}` must be a JSON object"));
        }
        if self.builtins.has(name) {
            let sandboxed = self.sandboxed(origin);
            return self.builtins.call(origin, name, args, sandboxed).await;
        }
        let (Some(plugin), Some(runtime)) = (self.plugins.tool(name), self.plugins.runtime()) else {
            return ToolOutcome::Refused(Refusal::Unavailable(format!("tool `{name}` is not available")));
        };
        // The plugin's sandbox-exec grant holds only where this agent may use `exec`.
        let sandbox_exec = matches!(policy.decide("exec"), ToolDecision::Allow);
        let context = CallContext {
            agent_id: origin.agent_id.clone(),
            session_key: origin.session_key.to_string(),
            channel: origin.channel.clone(),
            call_id: call_id.to_string(),
            sandbox_exec,
        };
        match runtime.call_tool(plugin, name, &args.to_string(), &context).await {
            Ok(output) => ToolOutcome::Done(output),
            Err(e) => ToolOutcome::Failed(format!("plugin `{}` failed: {e}", plugin.id())),
        }
    }

    /// Tool name → who provides it, for listings.
    pub fn providers(&self) -> BTreeMap<String, String> {
        let mut out: BTreeMap<String, String> = self
            .builtins
            .names()
            .into_iter()
            .map(|n| (n.to_string(), "builtin".to_string()))
            .collect();
        for (plugin, name) in self.plugins.tool_names() {
            out.entry(name).or_insert(plugin);
        }
        out
    }
}

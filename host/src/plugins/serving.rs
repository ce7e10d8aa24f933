//! The plugins a running gateway serves: tool plugins behind `/tools/invoke`, channel plugins
//! started with their pollers and webhook routes. A plugin that fails to load is reported (in
//! `plugins.list`, `health` and the log) and the gateway serves everyone else; a tool name two
//! plugins provide is served by neither, and a channel whose first start fails is retried with
//! the channel backoff. Once plugins are loaded, the compile cache is pruned to what they use.

use std::collections::BTreeMap;
use std::sync::Arc;

use openclaw_core::config::schema::Config;
use openclaw_core::config::schema::plugins::PluginsConfig;
use openclaw_core::plugins::grants::Decision;
use openclaw_core::plugins::manifest::PluginKind;
use openclaw_core::plugins::selection::{Discovery, is_identity_refusal};
use openclaw_core::plugins::tool_names::{self, ToolAssignment};
use openclaw_runtime::cache::CacheDir;
use openclaw_runtime::{ChannelInstance, InboundMessage, InboundReceiver, LoadedPlugin, Runtime};
use serde_json::{Value, json};
use tokio::sync::watch;

use super::inbox::Inbox;
use crate::plugins::listing::{foreign_json, selected_json};
use crate::plugins::loader;
use crate::secrets::ResolvedSecrets;
use crate::state::{Env, StatePaths};

/// A running channel plugin (it verifies its own webhook requests).
pub struct Channel {
    pub instance: Arc<ChannelInstance>,
}

#[derive(Default)]
pub struct Plugins {
    runtime: Option<Runtime>,
    pollers: std::sync::Mutex<Vec<tokio::task::JoinHandle<()>>>,
    writers: std::sync::Mutex<Vec<tokio::task::JoinHandle<()>>>,
    drain: Option<watch::Sender<bool>>,
    /// Tool name → the plugin that provides it.
    tools: BTreeMap<String, Arc<LoadedPlugin>>,
    /// Plugin id → channel.
    channels: BTreeMap<String, Channel>,
    listing: Vec<Value>,
    failed: usize,
}

impl Plugins {
    pub fn runtime(&self) -> Option<&Runtime> {
        self.runtime.as_ref()
    }

    pub fn tool(&self, name: &str) -> Option<&Arc<LoadedPlugin>> {
        self.tools.get(name)
    }

    /// (plugin id, tool name) of every tool this gateway serves.
    pub fn tool_names(&self) -> Vec<(String, String)> {
        self.tools
            .iter()
            .map(|(name, plugin)| (plugin.id().to_string(), name.clone()))
            .collect()
    }

    pub fn has_channels(&self) -> bool {
        !self.channels.is_empty()
    }

    /// A running channel by the id operators and models use for it: its manifest channel id
    /// (`telegram`), or its plugin id.
    pub fn channel_named(&self, name: &str) -> Option<&Channel> {
        let name = name.trim().to_ascii_lowercase();
        self.channels
            .values()
            .find(|c| {
                c.instance
                    .plugin()
                    .manifest
                    .channel
                    .as_ref()
                    .is_some_and(|section| section.id.eq_ignore_ascii_case(&name))
            })
            .or_else(|| self.channels.get(&name))
    }

    pub fn channel(&self, plugin_id: &str) -> Option<&Channel> {
        self.channels.get(plugin_id)
    }

    /// Stops channels without losing a message: pollers finish their current poll (the
    /// gateway's shutdown signal already told them to stop), then every delivered message is
    /// written to the inbox before the writers exit.
    pub async fn stop(&self) {
        let pollers: Vec<_> =
            std::mem::take(&mut *self.pollers.lock().unwrap_or_else(std::sync::PoisonError::into_inner));
        for poller in pollers {
            let _ = poller.await;
        }
        if let Some(drain) = &self.drain {
            let _ = drain.send(true);
        }
        let writers: Vec<_> =
            std::mem::take(&mut *self.writers.lock().unwrap_or_else(std::sync::PoisonError::into_inner));
        for writer in writers {
            let _ = writer.await;
        }
    }

    pub fn listing(&self) -> &[Value] {
        &self.listing
    }

    pub fn count(&self) -> usize {
        self.tools
            .values()
            .map(|p| p.id())
            .collect::<std::collections::BTreeSet<_>>()
            .len()
            + self.channels.len()
    }

    pub fn health(&self) -> Value {
        json!({
            "loaded": self.count(),
            "failed": self.failed,
            "tools": self.tools.keys().collect::<Vec<_>>(),
            "channels": self.channels.iter().map(|(id, c)| json!({
                "id": id,
                "starts": c.instance.starts(),
                "webhook": matches!(c.instance.webhook_ready(), Ok(true)),
            })).collect::<Vec<_>>(),
        })
    }

    /// Loads every allowed plugin; starts channels with pollers that stop on `shutdown`. What
    /// discovery refused for identity reasons, OpenClaw JavaScript plugins and settings naming
    /// ids nothing declares are logged, so the operator hears about them at start.
    pub async fn load(
        config: &Config,
        paths: &StatePaths,
        env: &Env,
        resolved: &ResolvedSecrets,
        shutdown: watch::Receiver<bool>,
    ) -> Self {
        let discovery = crate::plugins::discover::discover(Some(config), paths, env);
        let settings = config.plugins.clone().unwrap_or_default();
        report_discovery(&discovery, &settings);
        let selected = &discovery.plugins;
        let foreign: Vec<Value> = discovery.foreign.iter().map(|f| foreign_json(f, &settings)).collect();
        let mut plugins = Self::default();
        // The digests the install records pin stay cached even while their plugin does not load.
        let mut in_use: Vec<String> = selected.iter().filter_map(|s| s.pinned_sha256.clone()).collect();
        let cache = CacheDir::under_state_dir(&paths.state_dir);
        if selected.iter().all(|s| s.grant().is_none()) {
            plugins.listing = selected.iter().map(selected_json).chain(foreign).collect();
            report_pruned(cache.prune(&in_use, None));
            return plugins;
        }
        let runtime = match loader::runtime(paths) {
            Ok(runtime) => runtime,
            Err(e) => {
                tracing::error!("plugin runtime unavailable, no plugin will run: {e}");
                plugins.listing = selected.iter().map(selected_json).chain(foreign).collect();
                plugins.failed = selected.iter().filter(|s| s.grant().is_some()).count();
                report_pruned(cache.prune(&in_use, None));
                return plugins;
            }
        };

        // Load everything first: who serves a tool name depends on every plugin providing it.
        let mut loaded: Vec<Option<Result<Arc<LoadedPlugin>, String>>> = Vec::with_capacity(selected.len());
        for s in selected {
            loaded.push(match s.grant() {
                Some(_) => Some(
                    loader::load(&runtime, s, config, resolved)
                        .await
                        .map_err(|e| e.to_string()),
                ),
                None => None,
            });
        }
        in_use.extend(loaded.iter().flatten().flatten().map(|p| p.sha256.clone()));
        report_pruned(runtime.cache().prune(&in_use));
        let provided: Vec<(String, Vec<String>)> = loaded
            .iter()
            .flatten()
            .flatten()
            .filter(|p| p.kind() == PluginKind::Tool)
            .map(|p| (p.id().to_string(), p.tools.iter().map(|t| t.name.clone()).collect()))
            .collect();
        let assignment = tool_names::assign(provided.iter().map(|(id, tools)| (id.as_str(), tools.as_slice())));
        for clash in &assignment.clashes {
            tracing::error!(tool = %clash.tool, "{}", clash.message());
        }

        let inbox = Arc::new(Inbox::new(paths.state_dir.join("inbox")));
        let (drain, _) = watch::channel(false);
        plugins.drain = Some(drain);
        for (s, outcome) in selected.iter().zip(loaded) {
            let mut entry = selected_json(s);
            let started = match outcome {
                None => None,
                Some(Err(message)) => Some(Err(message)),
                Some(Ok(plugin)) => Some(plugins.start_one(plugin, &assignment, &inbox, shutdown.clone()).await),
            };
            match started {
                None => {}
                Some(Ok(Started::Serving)) => entry["running"] = json!(true),
                Some(Ok(Started::ToolsWithheld(clashing))) => {
                    entry["running"] = json!(true);
                    entry["withheldTools"] = json!(clashing);
                    entry["error"] = json!(format!(
                        "not serving {} (another plugin provides the same name)",
                        clashing.iter().map(|t| format!("`{t}`")).collect::<Vec<_>>().join(", ")
                    ));
                }
                Some(Ok(Started::Retrying(message))) => {
                    entry["running"] = json!(true);
                    entry["error"] = json!(format!(
                        "its first start failed and is retried with the channel backoff: {message}"
                    ));
                }
                Some(Err(message)) => {
                    tracing::error!(plugin = %s.candidate.id, "plugin not started: {message}");
                    plugins.failed += 1;
                    entry["running"] = json!(false);
                    entry["error"] = json!(message);
                }
            }
            plugins.listing.push(entry);
        }
        plugins.listing.extend(foreign);
        plugins.runtime = Some(runtime);
        plugins
    }

    async fn start_one(
        &mut self,
        plugin: Arc<LoadedPlugin>,
        assignment: &ToolAssignment,
        inbox: &Arc<Inbox>,
        shutdown: watch::Receiver<bool>,
    ) -> Result<Started, String> {
        match plugin.kind() {
            PluginKind::Tool => {
                let mut withheld = Vec::new();
                for spec in &plugin.tools {
                    if assignment.owners.get(&spec.name).map(String::as_str) == Some(plugin.id()) {
                        self.tools.insert(spec.name.clone(), plugin.clone());
                    } else {
                        withheld.push(spec.name.clone());
                    }
                }
                Ok(if withheld.is_empty() {
                    Started::Serving
                } else {
                    Started::ToolsWithheld(withheld)
                })
            }
            PluginKind::Channel => {
                let (tx, rx) = openclaw_runtime::inbound_queue();
                let instance = ChannelInstance::new(plugin.clone(), tx).map_err(|e| e.to_string())?;
                instance.webhook_ready()?;
                // A platform that is down at boot must not take the channel away for good: the
                // poller retries the start with the channel backoff.
                let first_start = instance.start().await.err().map(|e| e.to_string());
                if let Some(message) = &first_start {
                    tracing::warn!(
                        plugin = %plugin.id(),
                        "channel did not start: {message}; retrying with the channel backoff (1 s, doubling up to 5 min)"
                    );
                }
                let poller = instance.spawn_poller(shutdown);
                let drain = self.drain.as_ref().map(watch::Sender::subscribe);
                let writer = spawn_inbox_writer(plugin.id().to_string(), rx, inbox.clone(), drain);
                self.pollers
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .push(poller);
                self.writers
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .push(writer);
                self.channels.insert(plugin.id().to_string(), Channel { instance });
                Ok(match first_start {
                    Some(message) => Started::Retrying(message),
                    None => Started::Serving,
                })
            }
        }
    }
}

/// How a loaded plugin was put to work.
enum Started {
    Serving,
    /// A tool plugin whose named tools another plugin also provides: those are not served.
    ToolsWithheld(Vec<String>),
    /// A channel whose first start failed; its poller retries.
    Retrying(String),
}

/// Nothing else removes compiled code a plugin no longer uses (an update leaves the old
/// digest's, an engine upgrade all of them), so the count is worth a line.
fn report_pruned(removed: usize) {
    if removed > 0 {
        tracing::info!(removed, "removed {removed} compile cache files no plugin uses");
    }
}

/// Logs what discovery found that the operator must act on.
fn report_discovery(discovery: &Discovery, settings: &PluginsConfig) {
    for selected in &discovery.plugins {
        if let Decision::Refuse(refusal) = &selected.decision
            && is_identity_refusal(refusal.code)
        {
            tracing::error!(
                plugin = %selected.candidate.id,
                "plugin not loaded ({}): {}; {}",
                refusal.code,
                refusal.reason,
                refusal.fix
            );
        }
    }
    for plugin in &discovery.foreign {
        let refusal = plugin.refusal(settings);
        tracing::warn!(plugin = %plugin.id, "{}; {}", refusal.reason, refusal.fix);
    }
    for warning in &discovery.warnings {
        tracing::warn!("{}; {}", warning.message, warning.fix);
    }
}

fn spawn_inbox_writer(
    channel: String,
    mut rx: InboundReceiver,
    inbox: Arc<Inbox>,
    drain: Option<watch::Receiver<bool>>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut drain = drain;
        loop {
            let message = match drain.as_mut() {
                Some(signal) => tokio::select! {
                    message = rx.recv() => message,
                    _ = signal.changed() => {
                        // Pollers have stopped: write what is queued, then end.
                        while let Some(message) = rx.try_recv() {
                            store(&inbox, &channel, message).await;
                        }
                        return;
                    }
                },
                None => rx.recv().await,
            };
            let Some(message) = message else { return };
            store(&inbox, &channel, message).await;
        }
    })
}

async fn store(inbox: &Arc<Inbox>, channel: &str, message: InboundMessage) {
    let inbox = inbox.clone();
    let name = channel.to_string();
    let written = tokio::task::spawn_blocking(move || inbox.append(&name, &message)).await;
    match written {
        Ok(Ok(())) => {}
        Ok(Err(e)) => tracing::error!(%channel, "could not store an inbound message: {e}"),
        Err(e) => tracing::error!(%channel, "inbox writer failed: {e}"),
    }
}

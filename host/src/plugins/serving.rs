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
use openclaw_core::plugins::manifest::ChannelSecretSource;
use openclaw_core::plugins::manifest::PluginKind;
use openclaw_core::plugins::manifest::WebhookVerify;
use openclaw_core::plugins::selection::{Discovery, Selected, is_identity_refusal};
use openclaw_core::plugins::tool_names::{self, ToolAssignment};
use openclaw_runtime::cache::CacheDir;
use openclaw_runtime::{ChannelInstance, LoadedPlugin, Runtime, SecretRebind};
use secrecy::ExposeSecret;
use serde_json::{Value, json};
use tokio::sync::watch;

use crate::channels::accounts::{self, DEFAULT_ACCOUNT};
use crate::channels::supervisor::ChannelAccount;
use crate::ingress::journal::Journal;
use crate::plugins::listing::{foreign_json, selected_json};
use crate::plugins::loader;
use crate::secrets::ResolvedSecrets;
use crate::state::{Env, StatePaths};

#[derive(Default)]
pub struct Plugins {
    runtime: Option<Runtime>,
    pollers: std::sync::Mutex<Vec<tokio::task::JoinHandle<()>>>,
    /// Tool name → the plugin that provides it.
    tools: BTreeMap<String, Arc<LoadedPlugin>>,
    /// (channel id, account id) → the running account.
    channels: BTreeMap<(String, String), Arc<ChannelAccount>>,
    /// Where the accounts started from a `channels.<id>` block took their secrets from, so
    /// `secrets reload` can take them from there again.
    account_secrets: BTreeMap<(String, String), AccountSecrets>,
    listing: Vec<Value>,
    failed: usize,
}

/// The channel secrets of one account: its settings and the manifest's sources.
struct AccountSecrets {
    settings: accounts::AccountSettings,
    sources: Vec<ChannelSecretSource>,
}

/// Every running plugin's secrets rebuilt from a new resolution, not yet in force.
pub struct PreparedSecrets {
    rebinds: Vec<SecretRebind>,
    /// Config paths whose new value this gateway cannot put in force without a restart.
    pub restart_required: Vec<String>,
}

impl PreparedSecrets {
    /// Puts every plugin's new values in force. Infallible, so no plugin is left half-rotated.
    pub fn commit(self) {
        for rebind in self.rebinds {
            rebind.commit();
        }
    }
}

/// What the gateway lends the plugins it serves: the ingress journal channels deliver into, the
/// stop signal for their pollers, and the sandbox backend for granted sandbox exec.
pub struct PluginServices {
    pub journal: Arc<Journal>,
    pub shutdown: watch::Receiver<bool>,
    pub sandbox: Option<Arc<dyn openclaw_runtime::SandboxBackend>>,
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

    /// The default account of a running channel, by the id operators and models use for it:
    /// its channel id (`telegram`), or its plugin id.
    pub fn channel_named(&self, name: &str) -> Option<&Arc<ChannelAccount>> {
        let name = name.trim().to_ascii_lowercase();
        let of = |pick: &dyn Fn(&ChannelAccount) -> bool| {
            let mut matching = self.channels.values().filter(|a| pick(a));
            let first = matching.next();
            first
                .filter(|a| a.account_id == DEFAULT_ACCOUNT)
                .or_else(|| {
                    self.channels
                        .values()
                        .find(|a| pick(a) && a.account_id == DEFAULT_ACCOUNT)
                })
                .or(first)
        };
        of(&|a| a.channel == name).or_else(|| of(&|a| a.plugin_id == name))
    }

    /// One account of a running channel.
    pub fn channel_account(&self, channel: &str, account: &str) -> Option<&Arc<ChannelAccount>> {
        self.channels.get(&(channel.to_string(), account.to_string()))
    }

    /// Every running channel account.
    pub fn channel_accounts(&self) -> impl Iterator<Item = &Arc<ChannelAccount>> {
        self.channels.values()
    }

    /// The account a webhook request for `/webhooks/<name>/<rest>` is for: an account named by
    /// the first segment of `rest` (then the rest after it), else the channel's default account.
    pub fn webhook_target<'a>(&self, name: &str, rest: &'a str) -> Option<(&Arc<ChannelAccount>, &'a str)> {
        let default = self.channel_named(name)?;
        let (first, after) = rest.split_once('/').unwrap_or((rest, ""));
        if !first.is_empty()
            && let Some(account) = self.channel_account(&default.channel, first)
        {
            return Some((account, after));
        }
        Some((default, rest))
    }

    /// Stops channels without losing a message: pollers end (a poll in progress is abandoned;
    /// what it delivered is committed to the ingress journal), then the journal is on disk.
    pub async fn stop(&self) {
        let pollers: Vec<_> =
            std::mem::take(&mut *self.pollers.lock().unwrap_or_else(std::sync::PoisonError::into_inner));
        for poller in pollers {
            let _ = poller.await;
        }
        for account in self.channels.values() {
            account.commit_delivered().await;
        }
    }

    /// Builds every running plugin's secret values again from `resolved` (plugin entries and,
    /// for channel accounts, their channel secrets, `tokenFile` included), without putting any in
    /// force. `Err` lists every account that would be left without a secret it needs.
    ///
    /// A channel's webhook verification secret is not rotated live: the platform was given the
    /// old one when the channel started and keeps sending it, so verifying with the new one would
    /// refuse every delivery. Its path is reported as needing a restart instead.
    pub fn prepare_secrets(
        &self,
        config: &Config,
        doc: &Value,
        env: &Env,
        resolved: &ResolvedSecrets,
    ) -> Result<PreparedSecrets, Vec<String>> {
        let mut rebinds = Vec::new();
        let mut restart_required = Vec::new();
        let mut failures = Vec::new();
        let mut seen = std::collections::BTreeSet::new();
        for plugin in self.tools.values() {
            if seen.insert(plugin.id().to_string()) {
                let values = loader::secret_values(config, plugin.grant(), resolved);
                rebinds.push(plugin.prepare_secrets(&values));
            }
        }
        for ((channel, account_id), account) in &self.channels {
            let plugin = account.instance.plugin();
            let mut values = loader::secret_values(config, plugin.grant(), resolved);
            let webhook = plugin.grant().webhook_secret.clone();
            let mut webhook_path = webhook
                .as_ref()
                .map(|name| format!("plugins.entries.{}.secrets.{name}", plugin.id()));
            if let Some(bound) = self.account_secrets.get(&(channel.clone(), account_id.clone())) {
                let (own, missing) = accounts::secret_values(doc, &bound.settings, &bound.sources, resolved, env);
                let required: Vec<&String> = missing
                    .iter()
                    .filter(|m| webhook.as_deref().is_none_or(|w| !m.starts_with(w)))
                    .collect();
                if !required.is_empty() {
                    failures.push(format!(
                        "channels.{channel} account `{account_id}`: {}",
                        required.iter().map(|m| m.as_str()).collect::<Vec<_>>().join("; ")
                    ));
                    continue;
                }
                if let Some(name) = &webhook
                    && let Some(source) = bound.sources.iter().find(|s| &s.name == name)
                    && own.contains_key(name)
                {
                    webhook_path = Some(
                        accounts::key_path(doc, channel, account_id, &source.config_key)
                            .map(|p| p.to_string())
                            .unwrap_or_else(|| format!("channels.{channel}.{}", source.config_key)),
                    );
                }
                values.extend(own);
            }
            if let Some(name) = &webhook
                && let Some(old) = plugin.host_only_secret(name)
                && values
                    .get(name)
                    .is_some_and(|new| new.expose_secret() != old.expose_secret())
            {
                values.insert(name.clone(), old);
                restart_required.extend(webhook_path.clone());
            }
            rebinds.push(plugin.prepare_secrets(&values));
        }
        if !failures.is_empty() {
            return Err(failures);
        }
        restart_required.sort();
        restart_required.dedup();
        Ok(PreparedSecrets {
            rebinds,
            restart_required,
        })
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
            + self
                .channels
                .values()
                .map(|a| a.plugin_id.as_str())
                .collect::<std::collections::BTreeSet<_>>()
                .len()
    }

    pub fn health(&self) -> Value {
        json!({
            "loaded": self.count(),
            "failed": self.failed,
            "tools": self.tools.keys().collect::<Vec<_>>(),
            "channels": self.channels.values().map(|a| json!({
                "id": a.channel,
                "account": a.account_id,
                "plugin": a.plugin_id,
                "starts": a.instance.starts(),
                "webhook": matches!(a.instance.webhook_ready(), Ok(true)),
            })).collect::<Vec<_>>(),
        })
    }

    /// Loads every allowed plugin; starts channels with pollers that stop on `shutdown`. What
    /// discovery refused for identity reasons, OpenClaw JavaScript plugins and settings naming
    /// ids nothing declares are logged, so the operator hears about them at start.
    pub async fn load(
        config: &Config,
        doc: &Value,
        paths: &StatePaths,
        env: &Env,
        resolved: &ResolvedSecrets,
        services: PluginServices,
    ) -> Self {
        let PluginServices {
            journal,
            shutdown,
            sandbox,
        } = services;
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
            warn_unserved_channels(config, &plugins);
            return plugins;
        }
        let runtime = match loader::runtime(paths, sandbox) {
            Ok(runtime) => runtime,
            Err(e) => {
                tracing::error!("plugin runtime unavailable, no plugin will run: {e}");
                plugins.listing = selected.iter().map(selected_json).chain(foreign).collect();
                plugins.failed = selected.iter().filter(|s| s.grant().is_some()).count();
                report_pruned(cache.prune(&in_use, None));
                warn_unserved_channels(config, &plugins);
                return plugins;
            }
        };

        // Load everything first: who serves a tool name depends on every plugin providing it.
        // A channel with a `channels.<id>` block is loaded per account when it starts.
        let mut loaded: Vec<Option<Prepared>> = Vec::with_capacity(selected.len());
        for s in selected {
            loaded.push(match s.grant() {
                Some(_) if configured_channel(s, doc) => Some(Prepared::PerAccount),
                Some(_) => Some(Prepared::Loaded(
                    loader::load(&runtime, s, config, resolved)
                        .await
                        .map_err(|e| e.to_string()),
                )),
                None => None,
            });
        }
        in_use.extend(
            loaded
                .iter()
                .flatten()
                .filter_map(Prepared::plugin)
                .map(|p| p.sha256.clone()),
        );
        let provided: Vec<(String, Vec<String>)> = loaded
            .iter()
            .flatten()
            .filter_map(Prepared::plugin)
            .filter(|p| p.kind() == PluginKind::Tool)
            .map(|p| (p.id().to_string(), p.tools.iter().map(|t| t.name.clone()).collect()))
            .collect();
        let assignment = tool_names::assign(provided.iter().map(|(id, tools)| (id.as_str(), tools.as_slice())));
        for clash in &assignment.clashes {
            tracing::error!(tool = %clash.tool, "{}", clash.message());
        }

        let starting = Starting {
            runtime: &runtime,
            config,
            doc,
            env,
            resolved,
            journal: &journal,
            shutdown: &shutdown,
        };
        for (s, outcome) in selected.iter().zip(loaded) {
            let mut entry = selected_json(s);
            let started = match outcome {
                None => None,
                Some(Prepared::Loaded(Err(message))) => Some(Err(message)),
                Some(Prepared::Loaded(Ok(plugin))) => Some(plugins.start_one(plugin, s, &assignment, &starting).await),
                Some(Prepared::PerAccount) => Some(plugins.start_channel(None, s, &starting).await),
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
                Some(Ok(Started::Disabled)) => {
                    entry["running"] = json!(false);
                    entry["error"] = json!("its channel is disabled in the config (channels.<id>.enabled)");
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
        warn_unserved_channels(config, &plugins);
        in_use.extend(plugins.channels.values().map(|a| a.instance.plugin().sha256.clone()));
        report_pruned(runtime.cache().prune(&in_use));
        plugins.runtime = Some(runtime);
        plugins
    }

    async fn start_one(
        &mut self,
        plugin: Arc<LoadedPlugin>,
        selected: &Selected,
        assignment: &ToolAssignment,
        starting: &Starting<'_>,
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
            PluginKind::Channel => self.start_channel(Some(plugin), selected, starting).await,
        }
    }

    /// Starts every account of a channel plugin. With a `channels.<id>` block, each enabled
    /// account gets its own instance with its settings and secrets; without one, the plugin runs
    /// once as account `default` with `plugins.entries.<id>.config`.
    async fn start_channel(
        &mut self,
        plugin: Option<Arc<LoadedPlugin>>,
        selected: &Selected,
        starting: &Starting<'_>,
    ) -> Result<Started, String> {
        let Some(section) = selected
            .candidate
            .manifest
            .as_ref()
            .ok()
            .and_then(|m| m.channel.clone())
        else {
            return Err("a channel plugin without a [channel] section".into());
        };
        let channel_id = section.id.clone();
        if let Some(running) = self.channels.keys().find(|(c, _)| *c == channel_id) {
            let other = self
                .channels
                .get(running)
                .map(|a| a.plugin_id.clone())
                .unwrap_or_default();
            return Err(format!(
                "channel `{channel_id}` is already provided by plugin `{other}`; allow only one of them in plugins.allow"
            ));
        }
        let webhook_secret = section.webhook.as_ref().map(|recipe| match recipe {
            WebhookVerify::HeaderEquals { secret, .. } | WebhookVerify::HmacSha256 { secret, .. } => secret.clone(),
        });
        let mut instances: Vec<(String, Arc<LoadedPlugin>, serde_json::Map<String, Value>)> = Vec::new();
        let mut settings_of: BTreeMap<String, accounts::AccountSettings> = BTreeMap::new();
        let mut failures: Vec<String> = Vec::new();
        if accounts::channel_block(starting.doc, &channel_id).is_some() {
            let secret_keys: Vec<&str> = section
                .secrets
                .iter()
                .flat_map(|s| std::iter::once(s.config_key.as_str()).chain(s.file_key.as_deref()))
                .collect();
            let list = accounts::accounts(starting.doc, &channel_id, &secret_keys);
            if list.is_empty() {
                return Ok(Started::Disabled);
            }
            for account in list {
                let (values, missing) = accounts::secret_values(
                    starting.doc,
                    &account,
                    &section.secrets,
                    starting.resolved,
                    starting.env,
                );
                let required: Vec<&String> = missing
                    .iter()
                    .filter(|m| webhook_secret.as_deref().is_none_or(|w| !m.starts_with(w)))
                    .collect();
                if !required.is_empty() {
                    failures.push(format!(
                        "account `{}` not started: {}",
                        account.account_id,
                        required.iter().map(|m| m.as_str()).collect::<Vec<_>>().join("; ")
                    ));
                    continue;
                }
                match loader::load_account(
                    starting.runtime,
                    selected,
                    starting.config,
                    starting.resolved,
                    account.plugin_config.clone(),
                    values,
                )
                .await
                {
                    Ok(loaded) => {
                        instances.push((account.account_id.clone(), loaded, account.merged.clone()));
                        settings_of.insert(account.account_id.clone(), account);
                    }
                    Err(e) => failures.push(format!("account `{}` not started: {e}", account.account_id)),
                }
            }
        } else if let Some(plugin) = plugin {
            instances.push((DEFAULT_ACCOUNT.to_string(), plugin, Default::default()));
        } else {
            return Err("the plugin was not loaded".into());
        }
        let mut retrying = Vec::new();
        for (account_id, loaded, settings) in instances {
            let (tx, rx) = openclaw_runtime::inbound_queue();
            let instance = ChannelInstance::new(loaded.clone(), tx.clone()).map_err(|e| e.to_string())?;
            let sender = ChannelInstance::new(loaded, tx).map_err(|e| e.to_string())?;
            if let Err(e) = instance.webhook_ready() {
                // Polling accounts need no webhook secret; one that asks for webhooks does.
                if settings.get("webhookUrl").is_some_and(|v| !v.is_null()) {
                    failures.push(format!("account `{account_id}`: {e}"));
                    continue;
                }
            }
            // A platform that is down at boot must not take the channel away for good: the
            // poller retries the start with the channel backoff.
            if let Err(e) = instance.start().await {
                tracing::warn!(
                    channel = %channel_id,
                    account = %account_id,
                    "channel did not start: {e}; retrying with the channel backoff (1 s, doubling up to 5 min)"
                );
                retrying.push(format!("account `{account_id}`: {e}"));
            }
            let account = ChannelAccount::new(
                channel_id.clone(),
                account_id.clone(),
                instance,
                sender,
                settings,
                rx,
                starting.journal.clone(),
            );
            let poller = account.spawn_poller(starting.shutdown.clone());
            self.pollers
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .push(poller);
            if let Some(settings) = settings_of.remove(&account_id) {
                self.account_secrets.insert(
                    (channel_id.clone(), account_id.clone()),
                    AccountSecrets {
                        settings,
                        sources: section.secrets.clone(),
                    },
                );
            }
            self.channels.insert((channel_id.clone(), account_id), account);
        }
        for failure in &failures {
            tracing::error!(channel = %channel_id, "{failure}");
        }
        let started_any = self.channels.keys().any(|(c, _)| *c == channel_id);
        if !started_any && !failures.is_empty() {
            return Err(failures.join("; "));
        }
        let problems: Vec<String> = retrying.into_iter().chain(failures).collect();
        Ok(if problems.is_empty() {
            Started::Serving
        } else {
            Started::Retrying(problems.join("; "))
        })
    }
}

/// A configured channel nothing serves would silently ignore everyone; say so at start.
fn warn_unserved_channels(config: &Config, plugins: &Plugins) {
    for view in config.channels.as_ref().map(|c| c.iter()).unwrap_or_default() {
        let enabled = view.access.enabled != Some(false);
        if enabled && !plugins.channels.keys().any(|(c, _)| c == view.id) {
            tracing::warn!(
                channel = view.id,
                "channels.{} is configured but no running plugin provides channel `{}`: nothing receives its messages; install the channel plugin and add its id to plugins.allow (`openclaw plugins list` shows why one did not load)",
                view.id,
                view.id
            );
        }
    }
}

/// A selected plugin before it starts.
enum Prepared {
    Loaded(Result<Arc<LoadedPlugin>, String>),
    /// A channel whose `channels.<id>` block names its accounts: loaded once per account.
    PerAccount,
}

impl Prepared {
    fn plugin(&self) -> Option<&Arc<LoadedPlugin>> {
        match self {
            Self::Loaded(Ok(plugin)) => Some(plugin),
            _ => None,
        }
    }
}

/// A channel plugin whose channel the config configures (`channels.<id>`).
fn configured_channel(selected: &Selected, doc: &Value) -> bool {
    selected
        .candidate
        .manifest
        .as_ref()
        .ok()
        .and_then(|m| m.channel.as_ref())
        .is_some_and(|section| accounts::channel_block(doc, &section.id).is_some())
}

/// What starting channels needs from the gateway.
struct Starting<'a> {
    runtime: &'a Runtime,
    config: &'a Config,
    doc: &'a Value,
    env: &'a Env,
    resolved: &'a ResolvedSecrets,
    journal: &'a Arc<Journal>,
    shutdown: &'a watch::Receiver<bool>,
}

/// How a loaded plugin was put to work.
enum Started {
    Serving,
    /// A tool plugin whose named tools another plugin also provides: those are not served.
    ToolsWithheld(Vec<String>),
    /// A channel whose first start failed (its poller retries), or some of whose accounts
    /// could not start.
    Retrying(String),
    /// A channel whose `channels.<id>` block (or every account) is disabled.
    Disabled,
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

//! Loading selected plugins into the runtime: the runtime under the state directory, and the
//! values of the secrets each grant names (literals or SecretRefs resolved by the host).

use std::collections::BTreeMap;
use std::sync::Arc;

use openclaw_core::config::path::JsonPath;
use openclaw_core::config::schema::Config;
use openclaw_core::config::schema::plugins::PluginSecretBinding;
use openclaw_core::plugins::grants::EffectiveGrant;
use openclaw_core::plugins::selection::Selected;
use openclaw_runtime::{LoadError, LoadedPlugin, PluginSource, Runtime, RuntimeOptions, SandboxBackend};
use secrecy::SecretString;

use crate::secrets::ResolvedSecrets;
use crate::state::StatePaths;

/// The runtime with its cache and data under the state directory. `sandbox` runs the commands
/// of plugins granted sandbox-exec; without it they are told no sandbox is available.
pub fn runtime(paths: &StatePaths, sandbox: Option<Arc<dyn SandboxBackend>>) -> Result<Runtime, String> {
    let mut options = RuntimeOptions::under_state_dir(&paths.state_dir);
    options.sandbox = sandbox;
    Runtime::new(options)
}

/// The value of secret `name` from `plugins.entries.<plugin_id>.secrets.<name>` (a literal or a
/// resolved SecretRef). `None` when unset or unresolved, so whatever needs it is refused.
pub fn secret_value(config: &Config, plugin_id: &str, name: &str, resolved: &ResolvedSecrets) -> Option<SecretString> {
    let binding = config
        .plugins
        .as_ref()
        .and_then(|p| p.entries.as_ref())
        .and_then(|e| e.get(plugin_id))
        .and_then(|e| e.secrets.as_ref())
        .and_then(|b| b.get(name))?;
    let base = JsonPath::root()
        .key("plugins")
        .key("entries")
        .key(plugin_id)
        .key("secrets")
        .key(name);
    let path = match binding {
        PluginSecretBinding::Value(_) => base,
        PluginSecretBinding::Scoped(_) => base.key("value"),
    };
    resolved
        .value_of(binding.value(), &path)
        .map(|value| SecretString::from(value.expose().to_string()))
}

/// The values of the secrets `grant` names (those the plugin places, and the webhook's
/// verification secret, which only the host uses), from `plugins.entries.<id>.secrets`. A secret whose
/// reference did not resolve is left out, so its placeholder is refused (closed, not open).
pub fn secret_values(
    config: &Config,
    grant: &EffectiveGrant,
    resolved: &ResolvedSecrets,
) -> BTreeMap<String, SecretString> {
    grant
        .secrets
        .iter()
        .map(|secret| secret.name.as_str())
        .chain(grant.webhook_secret.as_deref())
        .filter_map(|name| secret_value(config, &grant.plugin_id, name, resolved).map(|v| (name.to_string(), v)))
        .collect()
}

/// Loads one selected plugin that its decision allows.
pub async fn load(
    runtime: &Runtime,
    selected: &Selected,
    config: &Config,
    resolved: &ResolvedSecrets,
) -> Result<Arc<LoadedPlugin>, LoadError> {
    load_with(runtime, selected, config, resolved, None, BTreeMap::new()).await
}

/// Loads one account of a selected channel plugin: the grant's config is the account's settings
/// and the secret values are the plugin's bound ones plus the account's channel secrets.
pub async fn load_account(
    runtime: &Runtime,
    selected: &Selected,
    config: &Config,
    resolved: &ResolvedSecrets,
    account_config: serde_json::Value,
    channel_values: BTreeMap<String, SecretString>,
) -> Result<Arc<LoadedPlugin>, LoadError> {
    load_with(
        runtime,
        selected,
        config,
        resolved,
        Some(account_config),
        channel_values,
    )
    .await
}

async fn load_with(
    runtime: &Runtime,
    selected: &Selected,
    config: &Config,
    resolved: &ResolvedSecrets,
    plugin_config: Option<serde_json::Value>,
    extra_values: BTreeMap<String, SecretString>,
) -> Result<Arc<LoadedPlugin>, LoadError> {
    let mut grant = selected.grant().cloned().ok_or_else(|| LoadError::Guest {
        plugin: selected.candidate.id.clone(),
        message: "not allowed to load".into(),
    })?;
    let manifest = selected
        .candidate
        .manifest
        .clone()
        .map_err(|message| LoadError::Guest {
            plugin: selected.candidate.id.clone(),
            message,
        })?;
    let mut values = secret_values(config, &grant, resolved);
    values.extend(extra_values);
    if let Some(plugin_config) = plugin_config {
        grant.config = plugin_config;
    }
    let source = PluginSource {
        dir: selected.candidate.dir.clone().into(),
        manifest,
        pinned_sha256: selected.pinned_sha256.clone(),
    };
    runtime.load(&source, grant, values).await
}

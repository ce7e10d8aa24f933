//! `openclaw channels logout`: contain a channel in an incident. What the channel's plugin
//! stored for the account (its key-value store under `<state>/plugins/data/<plugin>/kv`: for
//! Telegram, the update offset) is removed, so the account starts from nothing, and every
//! credential the account uses is named with where it lives and how to revoke it.
//!
//! What it does not do, on purpose:
//! - The config is never edited: a bot token in `channels.<id>.botToken` stays until the operator
//!   revokes it at the platform and removes or replaces it (the output names the key).
//! - The DM pairing stores in `credentials/` are access control, not a login: they stay.
//! - Nothing is removed while a gateway runs on this state directory: it holds the plugin's store
//!   in memory and would write it back. The operator stops it first (`openclaw gateway stop`);
//!   the gateway's lock is held while the files are removed, so none can start meanwhile.

use std::path::PathBuf;

use openclaw_core::config::schema::Config;
use openclaw_core::config::sensitive::is_sensitive_path;
use openclaw_core::plugins::manifest::ChannelSecretSource;
use openclaw_runtime::kv;
use serde_json::{Map, Value, json};

use super::accounts::{DEFAULT_ACCOUNT, channel_block};
use crate::context::Context;
use crate::plugins::discover::discover;
use crate::state::StateLock;

/// One credential an account uses, where it lives and what to do about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credential {
    pub account: String,
    /// `config` (a literal value), `secretRef`, `file` or `env`.
    pub kind: &'static str,
    /// The config key (`channels.telegram.accounts.work.botToken`) or the variable's name.
    pub location: String,
    /// For `file`: the file named by the key; for `secretRef`: the reference's source and id.
    pub detail: Option<String>,
    pub fix: String,
}

impl Credential {
    pub fn to_json(&self) -> Value {
        json!({
            "account": self.account,
            "kind": self.kind,
            "location": self.location,
            "detail": self.detail,
            "fix": self.fix,
        })
    }
}

/// What a logout covers, worked out before anything is removed.
#[derive(Debug, Clone)]
pub struct Plan {
    pub channel: String,
    pub accounts: Vec<String>,
    /// Whether every account of the channel is logged out (then the plugin's whole store goes).
    pub all_accounts: bool,
    /// The plugin that provides the channel, when one was discovered.
    pub plugin: Option<String>,
    /// The plugin's key-value store.
    pub store: PathBuf,
    pub credentials: Vec<Credential>,
}

/// A logout that was carried out.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub plan: Plan,
    /// The store keys removed.
    pub removed: Vec<String>,
}

/// Why nothing was removed.
#[derive(Debug)]
pub enum Refusal {
    /// Not a configured channel, or not one of its accounts: the message names the valid ones.
    Unknown {
        message: String,
        hint: String,
    },
    /// A gateway runs on this state directory; the plan says what the logout would cover.
    GatewayRunning {
        holder: String,
        plan: Box<Plan>,
    },
    Failed {
        message: String,
        hint: String,
    },
}

fn channel_ids(config: &Config) -> Vec<String> {
    config
        .channels
        .as_ref()
        .map(|c| c.iter().into_iter().map(|v| v.id.to_string()).collect())
        .unwrap_or_default()
}

/// The account ids of `channel` as the config writes them: the keys of `accounts`, else `default`.
fn account_ids(config: &Config, channel: &str) -> Vec<String> {
    let listed: Vec<String> = config
        .channels
        .as_ref()
        .map(|c| c.accounts(channel).into_iter().map(|(id, _)| id.to_string()).collect())
        .unwrap_or_default();
    if listed.is_empty() {
        vec![DEFAULT_ACCOUNT.to_string()]
    } else {
        listed
    }
}

/// How to revoke the credential a key holds, for the platforms we know.
fn revoke_advice(channel: &str, key: &str) -> &'static str {
    match (channel, key) {
        ("telegram", "botToken" | "tokenFile") => {
            "revoke the bot token with @BotFather (send `/revoke` and pick the bot; a new token is issued)"
        }
        _ => "rotate it where it was issued",
    }
}

/// The credentials of one account: each source the plugin's manifest declares (or, without a
/// plugin, every key of the account's settings that names a secret), where it is set.
fn credentials_of(
    channel: &str,
    account: &str,
    block: &Map<String, Value>,
    sources: &[ChannelSecretSource],
    ctx: &Context,
) -> Vec<Credential> {
    let own = block
        .get("accounts")
        .and_then(|a| a.get(account))
        .and_then(Value::as_object);
    // The key as it applies to this account: its own, else the channel's (shared by every account).
    let find = |key: &str| -> Option<(String, &Value)> {
        if let Some(value) = own.and_then(|o| o.get(key)) {
            return Some((format!("channels.{channel}.accounts.{account}.{key}"), value));
        }
        block.get(key).map(|value| (format!("channels.{channel}.{key}"), value))
    };
    let mut sources: Vec<ChannelSecretSource> = sources.to_vec();
    if sources.is_empty() {
        let keys = own
            .into_iter()
            .flat_map(|o| o.keys())
            .chain(block.keys())
            .filter(|k| *k != "accounts" && is_sensitive_path(&format!("channels.{channel}.{k}")));
        for key in keys {
            if !sources.iter().any(|s| &s.config_key == key) {
                sources.push(ChannelSecretSource {
                    name: key.clone(),
                    config_key: key.clone(),
                    file_key: None,
                    env: None,
                });
            }
        }
    }
    let mut out = Vec::new();
    for source in &sources {
        let advice = revoke_advice(channel, &source.config_key);
        let mut found = false;
        if let Some((location, value)) = find(&source.config_key) {
            found = true;
            let (kind, detail) = match value {
                Value::Object(r) => (
                    "secretRef",
                    Some(format!(
                        "source {}, id {}",
                        r.get("source").and_then(Value::as_str).unwrap_or("?"),
                        r.get("id").and_then(Value::as_str).unwrap_or("?")
                    )),
                ),
                _ => ("config", None),
            };
            let fix = match kind {
                "secretRef" => format!(
                    "{advice}, then replace the value the SecretRef at {location} points to; the config itself holds no value"
                ),
                _ => format!(
                    "{advice}, then remove it from the config (`openclaw config unset {location}`) or set the new one; \
                     the config was not changed"
                ),
            };
            out.push(Credential {
                account: account.to_string(),
                kind,
                location,
                detail,
                fix,
            });
        }
        if let Some(file_key) = &source.file_key
            && let Some((location, value)) = find(file_key)
        {
            found = true;
            let file = value.as_str().unwrap_or_default().to_string();
            out.push(Credential {
                account: account.to_string(),
                kind: "file",
                fix: format!("{advice}, then delete or replace the file {location} names ({file})"),
                location,
                detail: Some(file),
            });
        }
        if let Some(var) = &source.env
            && account == DEFAULT_ACCOUNT
            && (!found || ctx.env.get(var).is_some())
        {
            let here = if ctx.env.get(var).is_some() {
                "set in this shell's environment"
            } else {
                "not set in this shell; it may be set in the gateway's environment"
            };
            out.push(Credential {
                account: account.to_string(),
                kind: "env",
                location: var.clone(),
                detail: Some(here.to_string()),
                fix: format!(
                    "{advice}, then remove {var} from the gateway's environment (service file, shell profile, .env)"
                ),
            });
        }
    }
    out
}

/// Works out what logging out `channel` (one `account`, or all of them) covers.
pub fn plan(
    ctx: &Context,
    config: &Config,
    doc: &Value,
    channel: &str,
    account: Option<&str>,
) -> Result<Plan, Refusal> {
    let channels = channel_ids(config);
    let channel = channel.trim().to_ascii_lowercase();
    if !channels.contains(&channel) {
        let configured = if channels.is_empty() {
            "none is configured".to_string()
        } else {
            format!("configured: {}", channels.join(", "))
        };
        return Err(Refusal::Unknown {
            message: format!("channel `{channel}` is not configured ({configured})"),
            hint: format!(
                "pass one of the configured channels with --channel; channels are configured under channels.<id> in {}",
                ctx.paths.config_path.display()
            ),
        });
    }
    let ids = account_ids(config, &channel);
    let (accounts, all_accounts) = match account {
        None => (ids.clone(), true),
        Some(wanted) => match ids.iter().find(|id| id.eq_ignore_ascii_case(wanted.trim())) {
            Some(id) => (vec![id.clone()], ids.len() == 1),
            None => {
                return Err(Refusal::Unknown {
                    message: format!(
                        "channel `{channel}` has no account `{}` (its accounts: {})",
                        wanted.trim(),
                        ids.join(", ")
                    ),
                    hint: "pass one of its accounts with --account, or leave --account out to log out all of them"
                        .into(),
                });
            }
        },
    };
    let discovery = discover(Some(config), &ctx.paths, &ctx.env);
    let provider = discovery.plugins.iter().find_map(|selected| {
        let manifest = selected.candidate.manifest.as_ref().ok()?;
        let section = manifest.channel.as_ref()?;
        (section.id == channel).then(|| (manifest.id.clone(), section.secrets.clone()))
    });
    let (plugin, sources) = match provider {
        Some((id, sources)) => (Some(id), sources),
        None => (None, Vec::new()),
    };
    // Without a discovered plugin, the store of a plugin named like the channel (how every
    // first-party channel plugin is named), in case one ran here before.
    let store = openclaw_runtime::RuntimeOptions::data_dir_under(&ctx.paths.state_dir)
        .join(plugin.as_deref().unwrap_or(&channel))
        .join("kv");
    let empty = Map::new();
    let block = channel_block(doc, &channel).unwrap_or(&empty);
    let credentials = accounts
        .iter()
        .flat_map(|account| credentials_of(&channel, account, block, &sources, ctx))
        .collect();
    Ok(Plan {
        channel,
        accounts,
        all_accounts,
        plugin,
        store,
        credentials,
    })
}

/// Logs out `channel` (one `account`, or all): removes the plugin's stored state for it while
/// holding the gateway's lock, and reports the credentials to revoke.
pub fn logout(
    ctx: &Context,
    config: &Config,
    doc: &Value,
    channel: &str,
    account: Option<&str>,
) -> Result<Outcome, Refusal> {
    let plan = plan(ctx, config, doc, channel, account)?;
    if !ctx.paths.state_dir.exists() {
        return Ok(Outcome {
            plan,
            removed: Vec::new(),
        });
    }
    let lock = match StateLock::acquire(&ctx.paths.gateway_lock_path(), &ctx.paths.state_dir) {
        Ok(lock) => lock,
        Err(e) => {
            let holder = crate::running::running_pid(&ctx.paths)
                .map(|pid| format!("pid {pid}"))
                .unwrap_or_else(|| e.to_string());
            return Err(Refusal::GatewayRunning {
                holder,
                plan: Box::new(plan),
            });
        }
    };
    // An account's keys end in `:<account id>` (Telegram's `offset:<account>`).
    let suffixes: Vec<String> = plan
        .accounts
        .iter()
        .map(|a| format!(":{}", a.to_ascii_lowercase()))
        .collect();
    let all = plan.all_accounts;
    let removed = kv::remove_at_rest(&plan.store, |key| {
        let key = key.to_ascii_lowercase();
        all || suffixes.iter().any(|s| key.ends_with(s.as_str()))
    });
    drop(lock);
    match removed {
        Ok(removed) => Ok(Outcome { plan, removed }),
        Err(e) => Err(Refusal::Failed {
            message: format!("could not remove the {} plugin's state: {e}", plan.channel),
            hint: format!("check the permissions of {}", plan.store.display()),
        }),
    }
}

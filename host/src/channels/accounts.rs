//! The accounts of a configured channel, as the supervisor starts them: each account's settings
//! (its own keys over the channel's, which every account inherits) and the values of the
//! secrets the channel plugin's manifest takes from that config (`botToken`, `tokenFile`, an
//! environment variable for the default account).
//!
//! What a plugin is handed at `start` never holds a secret: the keys its manifest names as
//! secret sources are removed, and so is every key whose name marks a secret (`token`,
//! `password`, `secret`, ... as OpenClaw redacts them). The values reach the runtime, which
//! places them only in their declared slots.

use std::collections::BTreeMap;
use std::io::Read;
use std::os::unix::fs::OpenOptionsExt;

use openclaw_core::config::path::JsonPath;
use openclaw_core::config::schema::common::{SecretInput, SecretLiteral};
use openclaw_core::config::sensitive::is_sensitive_path;
use openclaw_core::plugins::manifest::ChannelSecretSource;
use secrecy::SecretString;
use serde_json::{Map, Value};

use crate::secrets::ResolvedSecrets;
use crate::state::Env;

/// The account used when a channel lists none.
pub const DEFAULT_ACCOUNT: &str = "default";

/// One account of a channel, ready to start.
#[derive(Debug, Clone)]
pub struct AccountSettings {
    pub channel: String,
    pub account_id: String,
    /// What the plugin's `start` receives.
    pub plugin_config: Value,
    /// The effective settings with nothing removed (for the gateway's own use).
    pub merged: Map<String, Value>,
}

/// Largest secret file read (a token is a few hundred bytes).
const MAX_SECRET_FILE: u64 = 64 * 1024;

/// The channel's block in the checked config document.
pub fn channel_block<'a>(doc: &'a Value, channel: &str) -> Option<&'a Map<String, Value>> {
    doc.get("channels")?.get(channel)?.as_object()
}

fn enabled(map: &Map<String, Value>) -> bool {
    map.get("enabled").and_then(Value::as_bool) != Some(false)
}

/// Every enabled account of `channel`: the entries of `accounts` when it has any, else the
/// channel itself as account `default`. A disabled channel has none.
pub fn accounts(doc: &Value, channel: &str, secret_keys: &[&str]) -> Vec<AccountSettings> {
    let Some(block) = channel_block(doc, channel) else {
        return Vec::new();
    };
    if !enabled(block) {
        return Vec::new();
    }
    let mut base = block.clone();
    let listed = base.remove("accounts").and_then(|a| a.as_object().cloned());
    let ids: Vec<(String, Map<String, Value>)> = match listed {
        Some(map) if !map.is_empty() => map
            .into_iter()
            .map(|(id, v)| (id, v.as_object().cloned().unwrap_or_default()))
            .collect(),
        _ => vec![(DEFAULT_ACCOUNT.to_string(), Map::new())],
    };
    ids.into_iter()
        .filter(|(_, own)| enabled(own))
        .map(|(id, own)| {
            let mut merged = base.clone();
            for (k, v) in own {
                merged.insert(k, v);
            }
            let mut plugin = Map::new();
            for (k, v) in &merged {
                if secret_keys.contains(&k.as_str()) || is_sensitive_path(&format!("channels.{channel}.{k}")) {
                    continue;
                }
                plugin.insert(k.clone(), v.clone());
            }
            plugin.insert("accountId".into(), Value::String(id.clone()));
            AccountSettings {
                channel: channel.to_string(),
                account_id: id,
                plugin_config: Value::Object(plugin),
                merged,
            }
        })
        .collect()
}

/// The config path of `key` as it applies to `account` (its own key, else the channel's).
pub fn key_path(doc: &Value, channel: &str, account: &str, key: &str) -> Option<JsonPath> {
    let block = channel_block(doc, channel)?;
    let own = block
        .get("accounts")
        .and_then(|a| a.get(account))
        .and_then(|a| a.get(key))
        .is_some();
    let base = JsonPath::root().key("channels").key(channel);
    if own {
        Some(base.key("accounts").key(account).key(key))
    } else if block.contains_key(key) {
        Some(base.key(key))
    } else {
        None
    }
}

fn read_secret_file(path: &str) -> Result<String, String> {
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32)
        .open(path)
        .map_err(|e| format!("cannot open {path} ({e}); it must be a regular file, not a link"))?;
    let meta = file.metadata().map_err(|e| format!("cannot read {path}: {e}"))?;
    if !meta.is_file() {
        return Err(format!("{path} is not a regular file"));
    }
    let mut text = String::new();
    file.take(MAX_SECRET_FILE)
        .read_to_string(&mut text)
        .map_err(|e| format!("cannot read {path}: {e}"))?;
    let value = text.trim().to_string();
    if value.is_empty() {
        return Err(format!("{path} is empty"));
    }
    Ok(value)
}

/// The value of one channel secret for one account: the config key (a literal or a resolved
/// SecretRef), else the file key, else (default account only) the environment variable.
pub fn secret_value(
    doc: &Value,
    account: &AccountSettings,
    source: &ChannelSecretSource,
    resolved: &ResolvedSecrets,
    env: &Env,
) -> Result<Option<SecretString>, String> {
    let channel = &account.channel;
    if let Some(value) = account.merged.get(&source.config_key) {
        let path = key_path(doc, channel, &account.account_id, &source.config_key)
            .unwrap_or_else(|| JsonPath::root().key("channels").key(channel).key(&source.config_key));
        let input: SecretInput = serde_json::from_value(value.clone())
            .map_err(|_| format!("{path} must be a string or a SecretRef {{source, provider, id}}"))?;
        return match resolved.value_of(&input, &path) {
            Some(literal) => Ok(Some(expose(&literal))),
            None => Err(format!(
                "{path} is a SecretRef that did not resolve; `openclaw secrets audit` shows why"
            )),
        };
    }
    if let Some(key) = &source.file_key
        && let Some(file) = account.merged.get(key).and_then(Value::as_str)
    {
        let home = env
            .get("OPENCLAW_HOME")
            .or_else(|| env.get("HOME"))
            .map(std::path::PathBuf::from)
            .unwrap_or_default();
        let path = crate::state::expand_home(file, &home);
        return read_secret_file(&path.to_string_lossy())
            .map(|v| Some(SecretString::from(v)))
            .map_err(|e| format!("channels.{channel}.{key}: {e}"));
    }
    if account.account_id == DEFAULT_ACCOUNT
        && let Some(var) = &source.env
        && let Some(value) = env.get(var).filter(|v| !v.trim().is_empty())
    {
        return Ok(Some(SecretString::from(value.trim().to_string())));
    }
    Ok(None)
}

fn expose(literal: &SecretLiteral) -> SecretString {
    SecretString::from(literal.expose().to_string())
}

/// The values of every channel secret the manifest declares, for one account. A secret with no
/// value is left out (so what needs it is refused), and said so in `missing`.
pub fn secret_values(
    doc: &Value,
    account: &AccountSettings,
    sources: &[ChannelSecretSource],
    resolved: &ResolvedSecrets,
    env: &Env,
) -> (BTreeMap<String, SecretString>, Vec<String>) {
    let mut values = BTreeMap::new();
    let mut missing = Vec::new();
    for source in sources {
        match secret_value(doc, account, source, resolved, env) {
            Ok(Some(v)) => {
                values.insert(source.name.clone(), v);
            }
            Ok(None) => {
                let mut where_ = vec![format!("channels.{}.{}", account.channel, source.config_key)];
                if let Some(k) = &source.file_key {
                    where_.push(format!("channels.{}.{k}", account.channel));
                }
                if let Some(v) = &source.env {
                    where_.push(format!("{v} (default account only)"));
                }
                missing.push(format!("{} (set {})", source.name, where_.join(" or ")));
            }
            Err(e) => missing.push(format!("{}: {e}", source.name)),
        }
    }
    (values, missing)
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;
    use serde_json::json;

    fn source() -> ChannelSecretSource {
        ChannelSecretSource {
            name: "TELEGRAM_BOT_TOKEN".into(),
            config_key: "botToken".into(),
            file_key: Some("tokenFile".into()),
            env: Some("TELEGRAM_BOT_TOKEN".into()),
        }
    }

    #[test]
    fn accounts_inherit_the_channel_and_never_see_secrets() {
        let doc = json!({"channels": {"telegram": {
            "botToken": "111:base", "dmPolicy": "pairing", "textChunkLimit": 2000,
            "accounts": {
                "work": {"botToken": "222:work", "textChunkLimit": 1000},
                "off": {"enabled": false},
                "home": {"webhookSecret": "s3cret"}
            }
        }}});
        let list = accounts(&doc, "telegram", &["botToken", "tokenFile"]);
        let ids: Vec<_> = list.iter().map(|a| a.account_id.as_str()).collect();
        assert_eq!(ids, ["work", "home"], "config order");
        let work = &list[0];
        assert_eq!(work.plugin_config["textChunkLimit"], 1000);
        assert_eq!(work.plugin_config["dmPolicy"], "pairing");
        assert_eq!(work.plugin_config["accountId"], "work");
        let text = list.iter().map(|a| a.plugin_config.to_string()).collect::<String>();
        assert!(
            !text.contains("111:base") && !text.contains("222:work") && !text.contains("s3cret"),
            "{text}"
        );
        let env = Env::default();
        let resolved = ResolvedSecrets::default();
        let (values, _) = secret_values(&doc, work, &[source()], &resolved, &env);
        assert_eq!(values["TELEGRAM_BOT_TOKEN"].expose_secret(), "222:work");
        let (values, _) = secret_values(&doc, &list[1], &[source()], &resolved, &env);
        assert_eq!(values["TELEGRAM_BOT_TOKEN"].expose_secret(), "111:base", "inherited");
    }

    #[test]
    fn token_file_and_environment_are_used_in_order_and_links_are_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("token");
        std::fs::write(&file, "333:file\n").unwrap();
        let link = tmp.path().join("link");
        std::os::unix::fs::symlink(&file, &link).unwrap();
        let env = Env::from_pairs([("TELEGRAM_BOT_TOKEN", "444:env")]);
        let resolved = ResolvedSecrets::default();
        let doc = json!({"channels": {"telegram": {"tokenFile": file.to_string_lossy()}}});
        let account = &accounts(&doc, "telegram", &[])[0];
        let (values, _) = secret_values(&doc, account, &[source()], &resolved, &env);
        assert_eq!(values["TELEGRAM_BOT_TOKEN"].expose_secret(), "333:file");
        let doc = json!({"channels": {"telegram": {"tokenFile": link.to_string_lossy()}}});
        let account = &accounts(&doc, "telegram", &[])[0];
        let (values, missing) = secret_values(&doc, account, &[source()], &resolved, &env);
        assert!(values.is_empty());
        assert!(missing[0].contains("link"), "{missing:?}");
        let doc = json!({"channels": {"telegram": {}}});
        let account = &accounts(&doc, "telegram", &[])[0];
        let (values, _) = secret_values(&doc, account, &[source()], &resolved, &env);
        assert_eq!(values["TELEGRAM_BOT_TOKEN"].expose_secret(), "444:env");
        let doc = json!({"channels": {"telegram": {"accounts": {"work": {}}}}});
        let account = &accounts(&doc, "telegram", &[])[0];
        let (values, missing) = secret_values(&doc, account, &[source()], &resolved, &env);
        assert!(values.is_empty(), "the environment applies to the default account only");
        assert!(missing[0].contains("channels.telegram.botToken"), "{missing:?}");
    }
}

//! The account's settings, read from the configuration the gateway hands to `start`: the
//! effective `channels.telegram` keys (account keys merged over the base) plus `accountId`.
//! Unknown keys are ignored, since the gateway validates `channels.telegram` itself and most keys
//! (access control, history, streaming) are the gateway's business, not the plugin's.

use openclaw_plugin_sdk::ChannelError;
use serde_json::Value;

use crate::chunk::{ChunkMode, MAX_MESSAGE_UNITS};

pub const DEFAULT_API_ROOT: &str = "https://api.telegram.org";
pub const DEFAULT_ACCOUNT: &str = "default";
pub const DEFAULT_CHUNK_LIMIT: usize = 4000;
/// How long one `getUpdates` waits for an update. A channel call holds the plugin instance, so a
/// reply waiting to be sent waits for the poll in progress: this stays short.
pub const DEFAULT_POLL_TIMEOUT_SECONDS: u32 = 5;
/// The longest poll wait accepted, well inside the plugin's HTTP and call time limits.
pub const MAX_POLL_TIMEOUT_SECONDS: u32 = 20;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    pub account_id: String,
    /// Without a trailing `/`.
    pub api_root: String,
    /// In UTF-16 code units, 1 to 4096.
    pub text_chunk_limit: usize,
    pub chunk_mode: ChunkMode,
    pub link_preview: bool,
    /// Webhook mode when set: Telegram posts updates there and `poll` does nothing.
    pub webhook_url: Option<String>,
    pub poll_timeout_seconds: u32,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            account_id: DEFAULT_ACCOUNT.into(),
            api_root: DEFAULT_API_ROOT.into(),
            text_chunk_limit: DEFAULT_CHUNK_LIMIT,
            chunk_mode: ChunkMode::Length,
            link_preview: true,
            webhook_url: None,
            poll_timeout_seconds: DEFAULT_POLL_TIMEOUT_SECONDS,
        }
    }
}

fn invalid(key: &str, expected: &str, found: &Value) -> ChannelError {
    ChannelError::Config(format!("channels.telegram.{key} must be {expected}, not {found}"))
}

fn string<'a>(config: &'a Value, key: &str) -> Result<Option<&'a str>, ChannelError> {
    match config.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.as_str())),
        Some(other) => Err(invalid(key, "a string", other)),
    }
}

fn unsigned(config: &Value, key: &str) -> Result<Option<u64>, ChannelError> {
    match config.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(value) => value
            .as_u64()
            .map(Some)
            .ok_or_else(|| invalid(key, "a whole number of at least 0", value)),
    }
}

impl Settings {
    pub fn from_config(config: &Value) -> Result<Self, ChannelError> {
        if !config.is_object() {
            return Err(ChannelError::Config(format!(
                "the channel configuration must be an object, not {config}"
            )));
        }
        let mut settings = Settings::default();
        if let Some(account) = string(config, "accountId")?.filter(|a| !a.trim().is_empty()) {
            settings.account_id = account.trim().to_string();
        }
        if let Some(root) = string(config, "apiRoot")? {
            let root = root.trim().trim_end_matches('/');
            if !(root.starts_with("https://") || root.starts_with("http://")) || root.contains(['?', '#']) {
                return Err(ChannelError::Config(format!(
                    "channels.telegram.apiRoot \"{root}\" must be an http(s) URL without query, e.g. {DEFAULT_API_ROOT}"
                )));
            }
            settings.api_root = root.to_string();
        }
        if let Some(limit) = unsigned(config, "textChunkLimit")? {
            if limit == 0 {
                return Err(invalid("textChunkLimit", "at least 1", &Value::from(limit)));
            }
            // Telegram refuses longer texts, so a larger setting is capped rather than refused.
            settings.text_chunk_limit = usize::try_from(limit)
                .unwrap_or(MAX_MESSAGE_UNITS)
                .min(MAX_MESSAGE_UNITS);
        }
        match string(config, "chunkMode")? {
            None | Some("length") => {}
            Some("newline") => settings.chunk_mode = ChunkMode::Newline,
            Some(other) => {
                return Err(invalid("chunkMode", "\"length\" or \"newline\"", &Value::from(other)));
            }
        }
        match config.get("linkPreview") {
            None | Some(Value::Null) => {}
            Some(Value::Bool(b)) => settings.link_preview = *b,
            Some(other) => return Err(invalid("linkPreview", "true or false", other)),
        }
        settings.webhook_url = string(config, "webhookUrl")?
            .map(str::trim)
            .filter(|u| !u.is_empty())
            .map(str::to_string);
        if let Some(url) = &settings.webhook_url
            && !url.starts_with("https://")
            && !url.starts_with("http://")
        {
            return Err(ChannelError::Config(format!(
                "channels.telegram.webhookUrl \"{url}\" must be the public https:// URL Telegram posts updates to"
            )));
        }
        if let Some(seconds) = unsigned(config, "pollTimeoutSeconds")? {
            settings.poll_timeout_seconds = u32::try_from(seconds)
                .unwrap_or(MAX_POLL_TIMEOUT_SECONDS)
                .min(MAX_POLL_TIMEOUT_SECONDS);
        }
        Ok(settings)
    }

    /// The KV key of this account's update offset.
    pub fn offset_key(&self) -> String {
        format!("offset:{}", self.account_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn defaults_and_unknown_keys() {
        let s = Settings::from_config(&json!({"dmPolicy": "pairing", "botToken": null, "groups": {}})).unwrap();
        assert_eq!(s, Settings::default());
        assert_eq!(s.offset_key(), "offset:default");
    }

    #[test]
    fn keys_are_read() {
        let s = Settings::from_config(&json!({
            "accountId": "work", "apiRoot": "http://127.0.0.1:9/", "textChunkLimit": 10000,
            "chunkMode": "newline", "linkPreview": false, "webhookUrl": "https://bot.example.com/hook",
            "pollTimeoutSeconds": 999
        }))
        .unwrap();
        assert_eq!(s.account_id, "work");
        assert_eq!(s.api_root, "http://127.0.0.1:9");
        assert_eq!(s.text_chunk_limit, 4096);
        assert_eq!(s.chunk_mode, ChunkMode::Newline);
        assert!(!s.link_preview);
        assert_eq!(s.webhook_url.as_deref(), Some("https://bot.example.com/hook"));
        assert_eq!(s.poll_timeout_seconds, MAX_POLL_TIMEOUT_SECONDS);
    }

    #[test]
    fn bad_values_name_the_key() {
        for (config, key) in [
            (json!({"textChunkLimit": 0}), "textChunkLimit"),
            (json!({"textChunkLimit": "big"}), "textChunkLimit"),
            (json!({"chunkMode": "words"}), "chunkMode"),
            (json!({"linkPreview": "no"}), "linkPreview"),
            (json!({"apiRoot": "ftp://x"}), "apiRoot"),
            (json!({"webhookUrl": "bot.example.com"}), "webhookUrl"),
        ] {
            match Settings::from_config(&config) {
                Err(ChannelError::Config(m)) => assert!(m.contains(key), "{m}"),
                other => panic!("{config}: {other:?}"),
            }
        }
        assert!(Settings::from_config(&json!([])).is_err());
    }
}

//! `pairing list` and `pairing approve`, the same for the CLI and the operator protocol: which
//! channel is meant, what is pending, approving a code.

use openclaw_core::access::pairing::{Approved, PairingRequest};
use openclaw_core::config::schema::Config;
use serde_json::{Value, json};

use super::pairing_store::PairingStore;

/// OpenClaw's pairing-capable channels.
pub const PAIRING_CHANNELS: &[&str] = &[
    "bluebubbles",
    "discord",
    "feishu",
    "googlechat",
    "imessage",
    "irc",
    "line",
    "matrix",
    "mattermost",
    "msteams",
    "nextcloud-talk",
    "nostr",
    "openclaw-weixin",
    "signal",
    "slack",
    "synology-chat",
    "telegram",
    "twitch",
    "whatsapp",
    "zalo",
    "zalouser",
];

fn valid_extension_id(id: &str) -> bool {
    let mut chars = id.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && id.len() <= 64
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
}

/// The channels the config enables (pairing applies to them).
pub fn configured_channels(config: &Config) -> Vec<String> {
    config
        .channels
        .as_ref()
        .map(|c| {
            c.iter()
                .into_iter()
                .filter(|v| v.access.enabled != Some(false))
                .map(|v| v.id.to_string())
                .collect()
        })
        .unwrap_or_default()
}

/// The channel a command means: the one given (checked), else the only configured one.
pub fn resolve_channel(config: &Config, given: Option<&str>) -> Result<String, String> {
    match given.map(|c| c.trim().to_ascii_lowercase()) {
        Some(channel) => {
            if PAIRING_CHANNELS.contains(&channel.as_str()) || valid_extension_id(&channel) {
                Ok(channel)
            } else {
                Err(format!(
                    "`{channel}` is not a channel id; use one of {} or a plugin channel id (lower-case letters, digits, `-`, `_`)",
                    PAIRING_CHANNELS.join(", ")
                ))
            }
        }
        None => {
            let configured = configured_channels(config);
            match configured.as_slice() {
                [one] => Ok(one.clone()),
                [] => Err("no channel is configured; name the channel: `openclaw pairing list <channel>`".into()),
                many => Err(format!(
                    "several channels are configured ({}); name one: `openclaw pairing list <channel>`",
                    many.join(", ")
                )),
            }
        }
    }
}

pub fn request_json(r: &PairingRequest) -> Value {
    json!({
        "id": r.id,
        "code": r.code,
        "createdAt": r.created_at,
        "lastSeenAt": r.last_seen_at,
        "meta": r.meta,
    })
}

/// `{channel, requests}` as OpenClaw's `pairing list --json` prints it.
pub fn list(store: &PairingStore, channel: &str, account: Option<&str>) -> Result<Value, String> {
    let requests = store.list(channel, account).map_err(|e| e.to_string())?;
    Ok(json!({
        "channel": channel,
        "requests": requests.iter().map(request_json).collect::<Vec<_>>(),
    }))
}

/// Approves `code`; the error is OpenClaw's message for a code that matches nothing.
pub fn approve(store: &PairingStore, channel: &str, code: &str, account: Option<&str>) -> Result<Approved, String> {
    match store.approve(channel, code, account).map_err(|e| e.to_string())? {
        Some(approved) => Ok(approved),
        None => Err(format!("No pending pairing request found for code: {}", code.trim())),
    }
}

/// What the sender is told when `--notify` is given.
pub fn approved_notice() -> &'static str {
    "OpenClaw: your access has been approved. You can message this assistant now."
}

//! A minimal channel plugin. It polls a JSON inbox for new messages, hands each one to the
//! gateway (which applies pairing, allowlists and mention rules), and posts the gateway's replies.
//!
//! The polling offset is kept in the plugin's key-value store, so a restart of the gateway (or of
//! this plugin after a crash) neither loses nor repeats messages.

use std::sync::Mutex;
use std::time::Duration;

use openclaw_plugin_sdk::http::{Request, secret};
use openclaw_plugin_sdk::prelude::*;

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Settings {
    base_url: String,
    #[serde(default = "default_poll_seconds")]
    poll_seconds: u64,
}

fn default_poll_seconds() -> u64 {
    5
}

/// Set by `start`; the host keeps this instance alive between calls.
static SETTINGS: Mutex<Option<Settings>> = Mutex::new(None);

const OFFSET_KEY: &str = "offset";

#[derive(Debug, Deserialize)]
struct Update {
    id: u64,
    from: String,
    #[serde(default)]
    name: Option<String>,
    chat: String,
    #[serde(default)]
    group: bool,
    text: String,
}

fn settings() -> Result<Settings, ChannelError> {
    SETTINGS
        .lock()
        .ok()
        .and_then(|s| s.clone())
        .ok_or_else(|| ChannelError::Config("the channel was not started".into()))
}

fn authorized(request: Request) -> Request {
    request.header("authorization", &format!("Bearer {}", secret("INBOX_TOKEN")))
}

pub struct Inbox;

impl Channel for Inbox {
    fn start(config: Value) -> Result<(), ChannelError> {
        let settings: Settings =
            serde_json::from_value(config).map_err(|e| ChannelError::Config(format!("invalid configuration: {e}")))?;
        log_info!(
            "inbox channel polling {} every {} s",
            settings.base_url,
            settings.poll_seconds
        );
        if let Ok(mut slot) = SETTINGS.lock() {
            *slot = Some(settings);
        }
        Ok(())
    }

    fn poll() -> Result<Duration, ChannelError> {
        let settings = settings()?;
        let offset: u64 = kv::get_json(OFFSET_KEY)?.unwrap_or(0);
        let response = authorized(Request::get(format!("{}/updates?offset={offset}", settings.base_url))).send()?;
        if !response.is_success() {
            return Err(ChannelError::Retry(format!("the inbox answered {}", response.status)));
        }
        let updates: Vec<Update> = response.json()?;
        let mut next = offset;
        for update in updates {
            let mut message = InboundMessage::direct(&update.from, update.id.to_string(), update.text);
            message.chat_id = update.chat;
            message.sender_name = update.name;
            if update.group {
                message.chat_type = ChatType::Group;
            }
            openclaw_plugin_sdk::channel::deliver(&message)?;
            next = next.max(update.id + 1);
        }
        if next != offset {
            kv::set_json(OFFSET_KEY, &next)?;
        }
        Ok(Duration::from_secs(settings.poll_seconds))
    }

    fn send(message: OutboundMessage) -> Result<SendReceipt, ChannelError> {
        let settings = settings()?;
        let body = json!({ "chat": message.chat_id, "text": message.text, "replyTo": message.reply_to });
        let response = authorized(Request::post(format!("{}/send", settings.base_url)))
            .json(&body)
            .send()?;
        if !response.is_success() {
            return Err(ChannelError::Platform(format!(
                "the inbox refused the message ({})",
                response.status
            )));
        }
        #[derive(Deserialize)]
        struct Sent {
            id: String,
        }
        let sent: Sent = response.json()?;
        Ok(SendReceipt { message_id: sent.id })
    }
}

export_channel!(Inbox);

#[cfg(test)]
mod tests {
    use super::*;
    use openclaw_plugin_sdk::http::Response;
    use openclaw_plugin_sdk::testing::MockHost;

    #[test]
    fn polls_delivers_and_remembers_the_offset() {
        let host = MockHost::new()
            .http(|request| {
                assert!(
                    request
                        .headers
                        .iter()
                        .any(|(k, v)| k == "authorization" && v == "Bearer {{secret:INBOX_TOKEN}}")
                );
                Ok(Response {
                    status: 200,
                    headers: Vec::new(),
                    body: br#"[{"id": 4, "from": "u1", "chat": "u1", "text": "hi"}]"#.to_vec(),
                })
            })
            .install();
        Inbox::start(json!({"baseUrl": "https://inbox.example.com/v1"})).unwrap();
        assert_eq!(Inbox::poll().unwrap(), Duration::from_secs(5));
        let delivered = host.delivered();
        assert_eq!(delivered.len(), 1);
        assert_eq!(delivered[0].text, "hi");
        assert_eq!(host.kv().get("offset").map(Vec::as_slice), Some(&b"5"[..]));
    }
}

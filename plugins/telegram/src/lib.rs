//! The Telegram channel: a bot, through the Bot API, by long polling (`getUpdates`) or by a
//! webhook the gateway verifies before the plugin sees a request.
//!
//! The plugin turns updates into inbound messages (the gateway decides who may talk to the bot,
//! mention gating and routing) and sends the gateway's replies, cut to Telegram's length limit.
//! It never holds the bot token: every URL names it as a placeholder the gateway fills in.

pub mod api;
pub mod batch;
pub mod chunk;
pub mod inbound;
pub mod offset;
pub mod settings;

use std::cell::RefCell;
use std::time::Duration;

use openclaw_plugin_sdk::prelude::*;
use openclaw_plugin_sdk::{channel, clock};

use crate::api::{ALLOWED_UPDATES, Failure, User};
use crate::batch::deliver_batch;
use crate::chunk::chunk_text;
use crate::inbound::Bot;
use crate::offset::SavedOffset;
use crate::settings::Settings;

/// How long `poll` asks the gateway to wait in webhook mode, where Telegram pushes updates.
const WEBHOOK_MODE_POLL: Duration = Duration::from_secs(3600);
/// The pause after an empty short poll (a poll timeout of 0), so polling does not spin.
const SHORT_POLL_PAUSE: Duration = Duration::from_secs(1);

#[derive(Debug, Clone)]
struct Running {
    settings: Settings,
    bot: Bot,
    /// The next update id to ask for; also kept in KV so a restart resumes there.
    offset: Option<SavedOffset>,
    /// Whether `offset` still has to be written to KV. A batch's offset is written when the
    /// next poll starts: the gateway puts what a poll delivered on disk before it polls again,
    /// so a crash in between makes Telegram send the batch again (the gateway drops repeats)
    /// instead of losing it.
    offset_unsaved: bool,
    /// Telegram asked (429) not to call `getUpdates` before this time (ms since the epoch).
    quiet_until_ms: u64,
}

thread_local! {
    /// Set by `start`; the gateway keeps this instance between calls.
    static RUNNING: RefCell<Option<Running>> = const { RefCell::new(None) };
}

fn running() -> Result<Running, ChannelError> {
    RUNNING
        .with(|r| r.borrow().clone())
        .ok_or_else(|| ChannelError::Config("the Telegram channel was not started".into()))
}

fn update_running(change: impl FnOnce(&mut Running)) {
    RUNNING.with(|r| {
        if let Some(running) = r.borrow_mut().as_mut() {
            change(running);
        }
    });
}

fn call(settings: &Settings, method: &str, params: &Value, wait_seconds: u32) -> Result<Value, ChannelError> {
    api::call(&settings.api_root, method, params, wait_seconds).map_err(|f| f.into_channel_error(method))
}

/// Registers the webhook, with the secret Telegram will echo in its header as a placeholder the
/// gateway fills in.
fn register_webhook(settings: &Settings, url: &str) -> Result<(), ChannelError> {
    let params = json!({
        "url": url,
        "secret_token": http::secret(api::WEBHOOK_SECRET),
        "allowed_updates": ALLOWED_UPDATES,
    });
    match api::call(&settings.api_root, "setWebhook", &params, 0) {
        Ok(_) => Ok(()),
        Err(Failure::Transport(HttpError::Denied(reason))) => Err(ChannelError::Config(format!(
            "registering the webhook needs the secret {} (channels.telegram.webhookSecret), which the gateway \
             did not grant for setWebhook: {reason}",
            api::WEBHOOK_SECRET
        ))),
        Err(failure) => Err(failure.into_channel_error("setWebhook")),
    }
}

/// Polling and a webhook exclude each other on Telegram's side: a webhook left from webhook mode
/// would make every `getUpdates` fail with 409, so polling mode removes it.
fn remove_stale_webhook(settings: &Settings) -> Result<(), ChannelError> {
    let info = call(settings, "getWebhookInfo", &json!({}), 0)?;
    let url = info.get("url").and_then(Value::as_str).unwrap_or_default();
    if !url.is_empty() {
        call(settings, "deleteWebhook", &json!({"drop_pending_updates": false}), 0)?;
        log_info!("removed the bot's webhook ({url}) because channels.telegram.webhookUrl is not set: polling instead");
    }
    Ok(())
}

fn stored_offset(settings: &Settings) -> Option<SavedOffset> {
    match kv::get_json::<SavedOffset>(&settings.offset_key()) {
        Ok(offset) => offset,
        Err(e) => {
            log_warn!("cannot read the saved update offset ({e}); Telegram resends what it has not confirmed");
            None
        }
    }
}

fn parse_id(what: &str, value: &str) -> Result<i64, ChannelError> {
    value
        .trim()
        .parse()
        .map_err(|_| ChannelError::Platform(format!("{what} \"{value}\" is not a Telegram id (a whole number)")))
}

/// A chat id is a number, or `@channelusername` for public channels and groups.
fn chat_id_param(chat_id: &str) -> Result<Value, ChannelError> {
    let chat_id = chat_id.trim();
    if let Ok(id) = chat_id.parse::<i64>() {
        return Ok(json!(id));
    }
    if chat_id.starts_with('@') && chat_id.len() > 1 {
        return Ok(json!(chat_id));
    }
    Err(ChannelError::Platform(format!(
        "chat id \"{chat_id}\" is neither a Telegram chat id nor an @username"
    )))
}

fn with_progress(error: ChannelError, sent: usize, total: usize) -> ChannelError {
    if sent == 0 {
        return error;
    }
    let note = |m: String| format!("{m} (after {sent} of {total} parts were sent)");
    match error {
        ChannelError::Config(m) => ChannelError::Config(note(m)),
        ChannelError::Platform(m) => ChannelError::Platform(note(m)),
        ChannelError::Denied(m) => ChannelError::Denied(note(m)),
        ChannelError::Retry(m) => ChannelError::Retry(note(m)),
    }
}

pub struct Telegram;

impl Channel for Telegram {
    fn start(config: Value) -> Result<(), ChannelError> {
        let settings = Settings::from_config(&config)?;
        let me: User = serde_json::from_value(call(&settings, "getMe", &json!({}), 0)?)
            .map_err(|e| ChannelError::Platform(format!("Telegram's getMe answer is not a user: {e}")))?;
        let username = me.username.clone().unwrap_or_default();
        if username.is_empty() {
            log_warn!("the bot has no username; mentions of it cannot be recognised");
        }
        match &settings.webhook_url {
            Some(url) => register_webhook(&settings, url)?,
            None => remove_stale_webhook(&settings)?,
        }
        let offset = stored_offset(&settings);
        log_info!(
            "Telegram bot @{username} ({}) started for account {} ({})",
            me.id,
            settings.account_id,
            if settings.webhook_url.is_some() {
                "webhook"
            } else {
                "long polling"
            }
        );
        let running = Running {
            settings,
            bot: Bot { id: me.id, username },
            offset,
            offset_unsaved: false,
            quiet_until_ms: 0,
        };
        RUNNING.with(|r| *r.borrow_mut() = Some(running));
        Ok(())
    }

    fn poll() -> Result<Duration, ChannelError> {
        let Running {
            settings,
            bot,
            offset,
            offset_unsaved,
            quiet_until_ms,
        } = running()?;
        if settings.webhook_url.is_some() {
            return Ok(WEBHOOK_MODE_POLL);
        }
        if offset_unsaved && let Some(saved) = offset {
            match kv::set_json(&settings.offset_key(), &saved) {
                Ok(()) => update_running(|r| r.offset_unsaved = false),
                Err(e) => log_warn!("cannot save the update offset ({e}); after a restart some updates may come again"),
            }
        }
        let now = clock::now_ms();
        if quiet_until_ms > now {
            return Ok(Duration::from_millis(quiet_until_ms - now));
        }
        let offset = offset.and_then(|o| o.current(now));
        let wait = settings.poll_timeout_seconds;
        let mut params = json!({"timeout": wait, "allowed_updates": ALLOWED_UPDATES});
        if let Some(offset) = offset {
            params["offset"] = json!(offset);
        }
        let updates = match api::call(&settings.api_root, "getUpdates", &params, wait) {
            Ok(Value::Array(updates)) => updates,
            Ok(other) => {
                return Err(ChannelError::Platform(format!(
                    "getUpdates answered {other} instead of a list of updates"
                )));
            }
            Err(failure) => {
                if let Some(seconds) = failure.retry_after() {
                    update_running(|r| r.quiet_until_ms = now.saturating_add(seconds.saturating_mul(1000)));
                }
                return Err(failure.into_channel_error("getUpdates"));
            }
        };
        let outcome = deliver_batch(&updates, offset, &bot, &settings.account_id, channel::deliver);
        if let Some(next) = outcome.next_offset.filter(|next| Some(*next) != offset) {
            let saved = SavedOffset {
                offset: next,
                saved_at_ms: now,
            };
            update_running(|r| {
                r.offset = Some(saved);
                r.offset_unsaved = true;
            });
        }
        match outcome.stopped {
            None if updates.is_empty() && wait == 0 => Ok(SHORT_POLL_PAUSE),
            None => Ok(Duration::ZERO),
            Some(HostError::LimitExceeded(reason)) => Err(ChannelError::Retry(format!(
                "the gateway is not taking more messages now ({reason}); the rest come again with the next poll"
            ))),
            Some(HostError::Denied(reason)) => Err(ChannelError::Denied(reason)),
            Some(other) => Err(ChannelError::Retry(format!(
                "the gateway did not take a message: {other}"
            ))),
        }
    }

    fn handle_webhook(request: WebhookRequest) -> Result<WebhookResponse, ChannelError> {
        let Running { settings, bot, .. } = running()?;
        let respond = |status: u16, body: &str| WebhookResponse {
            status,
            headers: vec![("content-type".into(), "text/plain; charset=utf-8".into())],
            body: body.as_bytes().to_vec(),
        };
        if !request.method.eq_ignore_ascii_case("POST") {
            return Ok(respond(405, "Telegram posts updates"));
        }
        let update: Value = match serde_json::from_slice(&request.body) {
            Ok(update @ Value::Object(_)) if update.get("update_id").and_then(Value::as_i64).is_some() => update,
            _ => return Ok(respond(400, "the body is not a Telegram update")),
        };
        let outcome = deliver_batch(&[update], None, &bot, &settings.account_id, channel::deliver);
        Ok(match outcome.stopped {
            None => respond(200, "ok"),
            // Telegram delivers the update again after a failed answer.
            Some(HostError::LimitExceeded(_)) => respond(503, "busy; send it again later"),
            Some(_) => respond(503, "not accepted now"),
        })
    }

    fn send(message: OutboundMessage) -> Result<SendReceipt, ChannelError> {
        let Running { settings, .. } = running()?;
        let chat_id = chat_id_param(&message.chat_id)?;
        let thread = message
            .thread_id
            .as_deref()
            .map(|t| parse_id("thread id", t))
            .transpose()?;
        let reply_to = message
            .reply_to
            .as_deref()
            .map(|r| parse_id("reply-to message id", r))
            .transpose()?;
        let chunks = chunk_text(&message.text, settings.text_chunk_limit, settings.chunk_mode);
        if chunks.is_empty() {
            return Err(ChannelError::Platform("nothing to send: the text is empty".into()));
        }
        let mut last = None;
        for (i, chunk) in chunks.iter().enumerate() {
            let mut params = json!({"chat_id": chat_id, "text": chunk});
            if let Some(thread) = thread {
                params["message_thread_id"] = json!(thread);
            }
            // Only the first part replies; the rest follow it.
            if let (0, Some(reply_to)) = (i, reply_to) {
                params["reply_parameters"] = json!({"message_id": reply_to, "allow_sending_without_reply": true});
            }
            if !settings.link_preview {
                params["link_preview_options"] = json!({"is_disabled": true});
            }
            let sent = call(&settings, "sendMessage", &params, 0).map_err(|e| with_progress(e, i, chunks.len()))?;
            last = sent.get("message_id").and_then(Value::as_i64);
        }
        let message_id =
            last.ok_or_else(|| ChannelError::Platform("sendMessage answered without a message_id".into()))?;
        Ok(SendReceipt {
            message_id: message_id.to_string(),
        })
    }
}

export_channel!(Telegram);

#[cfg(test)]
mod tests;

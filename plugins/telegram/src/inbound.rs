//! From a Telegram update to the gateway's inbound message. Pure: the bot's identity and the
//! account are parameters, so every rule (chat types, senders, native mentions, replies to the
//! bot, forum topics) is tested natively from a table.

use openclaw_plugin_sdk::channel::{ChatType, InboundMessage};
use serde_json::{Map, Value, json};

use crate::api::{Message, MessageEntity, Update, User};

/// Who the bot is (from `getMe`): needed to recognise mentions of it and replies to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bot {
    pub id: i64,
    /// Without the `@`.
    pub username: String,
}

/// The message an update carries, and whether it is an edit.
fn carried(update: &Update) -> Option<(&Message, bool)> {
    update
        .message
        .as_ref()
        .map(|m| (m, false))
        .or_else(|| update.channel_post.as_ref().map(|m| (m, false)))
        .or_else(|| update.edited_message.as_ref().map(|m| (m, true)))
}

fn chat_type(kind: &str) -> Option<ChatType> {
    match kind {
        "private" => Some(ChatType::Direct),
        "group" | "supergroup" => Some(ChatType::Group),
        "channel" => Some(ChatType::Channel),
        _ => None,
    }
}

/// The text an entity covers; its offsets count UTF-16 code units.
fn entity_text(text: &str, entity: &MessageEntity) -> Option<String> {
    let units: Vec<u16> = text.encode_utf16().collect();
    let end = entity.offset.checked_add(entity.length)?;
    String::from_utf16(units.get(entity.offset..end)?).ok()
}

fn mentions_bot(text: &str, entities: &[MessageEntity], bot: &Bot) -> bool {
    entities.iter().any(|entity| match entity.kind.as_str() {
        "mention" => entity_text(text, entity)
            .and_then(|t| t.strip_prefix('@').map(str::to_string))
            .is_some_and(|name| name.eq_ignore_ascii_case(&bot.username)),
        "text_mention" => entity.user.as_ref().is_some_and(|u| u.id == bot.id),
        "bot_command" => entity_text(text, entity)
            .and_then(|t| t.split_once('@').map(|(_, name)| name.to_string()))
            .is_some_and(|name| name.eq_ignore_ascii_case(&bot.username)),
        _ => false,
    })
}

fn user_name(user: &User) -> Option<String> {
    let full = match &user.last_name {
        Some(last) => format!("{} {last}", user.first_name),
        None => user.first_name.clone(),
    };
    let full = full.trim();
    if full.is_empty() {
        user.username.clone()
    } else {
        Some(full.to_string())
    }
}

/// The inbound message for `update`, or `None` when there is nothing to hand on (no text or
/// caption, a chat or sender the channel cannot identify).
pub fn to_inbound(update: &Update, bot: &Bot, account_id: &str) -> Option<InboundMessage> {
    let (message, edited) = carried(update)?;
    let chat_type = chat_type(&message.chat.kind)?;
    let (text, entities) = match (&message.text, &message.caption) {
        (Some(text), _) => (text, &message.entities),
        (None, Some(caption)) => (caption, &message.caption_entities),
        (None, None) => return None,
    };
    if text.trim().is_empty() {
        return None;
    }
    // Channel posts and anonymous group admins speak as a chat, not a user.
    let (sender_id, sender_name, username) = match (&message.sender_chat, &message.from) {
        (Some(chat), _) => (
            chat.id,
            chat.title.clone().or_else(|| chat.username.clone()),
            chat.username.clone(),
        ),
        (None, Some(user)) => (user.id, user_name(user), user.username.clone()),
        (None, None) => return None,
    };
    // In a forum, a message that is no explicit reply still points at the topic's opening
    // service message; that is not a reply to the bot even when the bot opened the topic.
    let reply_to_bot = message.reply_to_message.as_ref().is_some_and(|replied| {
        replied.forum_topic_created.is_none() && replied.from.as_ref().is_some_and(|from| from.id == bot.id)
    });
    let mut extra = Map::new();
    extra.insert("updateId".into(), json!(update.update_id));
    if let Some(title) = &message.chat.title {
        extra.insert("chatTitle".into(), json!(title));
    }
    if let Some(username) = username {
        extra.insert("username".into(), json!(username));
    }
    if edited {
        extra.insert("edited".into(), json!(true));
    }
    Some(InboundMessage {
        account_id: account_id.to_string(),
        chat_type,
        chat_id: message.chat.id.to_string(),
        sender_id: sender_id.to_string(),
        sender_name,
        message_id: message.message_id.to_string(),
        thread_id: message
            .message_thread_id
            .filter(|_| message.is_topic_message)
            .map(|t| t.to_string()),
        text: text.clone(),
        mentioned: mentions_bot(text, entities, bot),
        reply_to_bot,
        timestamp_ms: u64::try_from(message.date).unwrap_or(0).saturating_mul(1000),
        extra: Some(Value::Object(extra)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Deserialize)]
    struct Case {
        name: String,
        update: Value,
        /// The expected message in the gateway's JSON shape, or null when nothing is delivered.
        expected: Value,
    }

    fn as_json(m: &InboundMessage) -> Value {
        json!({
            "accountId": m.account_id,
            "chatType": match m.chat_type { ChatType::Direct => "direct", ChatType::Group => "group", ChatType::Channel => "channel" },
            "chatId": m.chat_id,
            "senderId": m.sender_id,
            "senderName": m.sender_name,
            "messageId": m.message_id,
            "threadId": m.thread_id,
            "text": m.text,
            "mentioned": m.mentioned,
            "replyToBot": m.reply_to_bot,
            "timestampMs": m.timestamp_ms,
            "extra": m.extra,
        })
    }

    #[test]
    fn table() {
        let bot = Bot {
            id: 777,
            username: "OpenClawBot".into(),
        };
        let cases: Vec<Case> = serde_json::from_str(include_str!("../data/updates.json")).unwrap();
        assert!(cases.len() >= 15);
        for case in cases {
            let update: Update = serde_json::from_value(case.update).unwrap_or_else(|e| panic!("{}: {e}", case.name));
            let got = to_inbound(&update, &bot, "acct")
                .map(|m| as_json(&m))
                .unwrap_or(Value::Null);
            if case.expected.is_null() {
                assert_eq!(got, Value::Null, "{}", case.name);
                continue;
            }
            // The table lists only the fields a case is about.
            for (key, value) in case.expected.as_object().unwrap() {
                assert_eq!(&got[key], value, "{}: field {key} of {got}", case.name);
            }
        }
    }
}

//! Handing a batch of updates to the gateway and working out the next `getUpdates` offset.
//!
//! The offset moves past an update only once the update is dealt with: delivered, or skipped
//! because it carries nothing to answer. When the gateway refuses a delivery (its queue for the
//! channel is full) the batch stops there, so that update comes again with the next poll.

use openclaw_plugin_sdk::HostError;
use openclaw_plugin_sdk::channel::InboundMessage;
use serde_json::Value;

use crate::api::Update;
use crate::inbound::{Bot, to_inbound};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchOutcome {
    /// The offset to poll from next (the last handled update's id + 1), unchanged when nothing was
    /// handled.
    pub next_offset: Option<i64>,
    pub delivered: usize,
    pub skipped: usize,
    /// The refusal that stopped the batch.
    pub stopped: Option<HostError>,
}

/// Delivers what `updates` (raw JSON, as Telegram sent them) carry, in order.
pub fn deliver_batch(
    updates: &[Value],
    offset: Option<i64>,
    bot: &Bot,
    account_id: &str,
    mut deliver: impl FnMut(&InboundMessage) -> Result<(), HostError>,
) -> BatchOutcome {
    let mut outcome = BatchOutcome {
        next_offset: offset,
        delivered: 0,
        skipped: 0,
        stopped: None,
    };
    for raw in updates {
        // Without an id an update can be neither acknowledged nor told apart.
        let Some(id) = raw.get("update_id").and_then(Value::as_i64) else {
            outcome.skipped += 1;
            continue;
        };
        // A shape this plugin cannot read is skipped rather than blocking every later update.
        let message = serde_json::from_value::<Update>(raw.clone())
            .ok()
            .and_then(|update| to_inbound(&update, bot, account_id));
        match message {
            None => outcome.skipped += 1,
            Some(message) => match deliver(&message) {
                Ok(()) => outcome.delivered += 1,
                Err(refused) => {
                    outcome.stopped = Some(refused);
                    return outcome;
                }
            },
        }
        // Telegram sends updates in order; one below the offset means it restarted its ids.
        outcome.next_offset = Some(id + 1);
    }
    outcome
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn dm(id: i64, text: &str) -> Value {
        json!({"update_id": id, "message": {"message_id": id, "date": 1, "chat": {"id": 1, "type": "private"},
               "from": {"id": 1, "first_name": "A"}, "text": text}})
    }

    fn bot() -> Bot {
        Bot {
            id: 9,
            username: "b".into(),
        }
    }

    #[test]
    fn delivers_in_order_and_skips_what_has_no_text() {
        let sticker = json!({"update_id": 11, "message": {"message_id": 2, "date": 1, "chat": {"id": 1, "type": "private"},
                             "from": {"id": 1, "first_name": "A"}, "sticker": {}}});
        let garbled = json!({"update_id": 12, "message": "not a message"});
        let updates = [dm(10, "one"), sticker, garbled, json!({"no_id": true}), dm(13, "two")];
        let mut seen = Vec::new();
        let outcome = deliver_batch(&updates, None, &bot(), "default", |m| {
            seen.push(m.text.clone());
            Ok(())
        });
        assert_eq!(seen, ["one", "two"]);
        assert_eq!(
            outcome,
            BatchOutcome {
                next_offset: Some(14),
                delivered: 2,
                skipped: 3,
                stopped: None
            }
        );
    }

    #[test]
    fn a_refusal_stops_the_batch_before_that_update() {
        let updates = [dm(10, "one"), dm(11, "two"), dm(12, "three")];
        let mut calls = 0;
        let outcome = deliver_batch(&updates, Some(10), &bot(), "default", |_| {
            calls += 1;
            if calls == 2 {
                Err(HostError::LimitExceeded("queue full".into()))
            } else {
                Ok(())
            }
        });
        assert_eq!(calls, 2);
        assert_eq!(outcome.next_offset, Some(11));
        assert_eq!(outcome.delivered, 1);
        assert_eq!(outcome.stopped, Some(HostError::LimitExceeded("queue full".into())));
    }

    #[test]
    fn the_offset_follows_telegram_when_it_restarts_its_ids() {
        let mut seen = Vec::new();
        let outcome = deliver_batch(&[dm(5, "after a reset")], Some(900), &bot(), "default", |m| {
            seen.push(m.text.clone());
            Ok(())
        });
        assert_eq!(seen, ["after a reset"]);
        assert_eq!(outcome.next_offset, Some(6));
        let nothing = deliver_batch(&[], Some(6), &bot(), "default", |_| Ok(()));
        assert_eq!(nothing.next_offset, Some(6));
    }
}

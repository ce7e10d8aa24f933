//! The queue between a channel plugin's `deliver` and the gateway, bounded in messages **and**
//! bytes, with a cap on one message, so a channel cannot make the gateway hold (or write) more
//! than it allows however fast it delivers.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::sync::mpsc;

use crate::types::InboundMessage;

/// Largest message a channel may deliver (all its text fields together).
pub const MAX_MESSAGE_BYTES: usize = 256 * 1024;
/// Messages a channel's queue holds by default.
pub const QUEUE_MESSAGES: usize = 256;
/// Bytes a channel's queue holds by default.
pub const QUEUE_BYTES: usize = 4 * 1024 * 1024;

/// Why a delivery was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refused {
    TooLarge { bytes: usize, cap: usize },
    Full { reason: String },
    Closed,
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::TooLarge { bytes, cap } => write!(
                f,
                "a message of {bytes} bytes is larger than the {cap}-byte cap; split it or drop what the gateway does not need"
            ),
            Self::Full { reason } => write!(
                f,
                "the gateway's inbound queue for this channel is full ({reason}); retry later"
            ),
            Self::Closed => f.write_str("the gateway is not accepting messages"),
        }
    }
}

/// The channel's end.
#[derive(Debug, Clone)]
pub struct InboundSender {
    tx: mpsc::Sender<(InboundMessage, usize)>,
    queued_bytes: Arc<AtomicUsize>,
    byte_cap: usize,
}

/// The gateway's end.
#[derive(Debug)]
pub struct InboundReceiver {
    rx: mpsc::Receiver<(InboundMessage, usize)>,
    queued_bytes: Arc<AtomicUsize>,
}

/// A queue with the default caps.
pub fn inbound_queue() -> (InboundSender, InboundReceiver) {
    inbound_queue_with(QUEUE_MESSAGES, QUEUE_BYTES)
}

/// A queue of at most `messages` messages and `bytes` bytes.
pub fn inbound_queue_with(messages: usize, bytes: usize) -> (InboundSender, InboundReceiver) {
    let (tx, rx) = mpsc::channel(messages.max(1));
    let queued_bytes = Arc::new(AtomicUsize::new(0));
    (
        InboundSender {
            tx,
            queued_bytes: queued_bytes.clone(),
            byte_cap: bytes,
        },
        InboundReceiver { rx, queued_bytes },
    )
}

impl InboundSender {
    /// Queues `message` without waiting.
    pub fn try_send(&self, message: InboundMessage) -> Result<(), Refused> {
        let size = message.size();
        if size > MAX_MESSAGE_BYTES {
            return Err(Refused::TooLarge {
                bytes: size,
                cap: MAX_MESSAGE_BYTES,
            });
        }
        let reserved = self
            .queued_bytes
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |queued| {
                queued.checked_add(size).filter(|total| *total <= self.byte_cap)
            });
        if reserved.is_err() {
            return Err(Refused::Full {
                reason: format!("{} bytes waiting", self.byte_cap),
            });
        }
        self.tx.try_send((message, size)).map_err(|e| {
            self.queued_bytes.fetch_sub(size, Ordering::AcqRel);
            match e {
                mpsc::error::TrySendError::Full(_) => Refused::Full {
                    reason: format!("{} messages waiting", self.tx.max_capacity()),
                },
                mpsc::error::TrySendError::Closed(_) => Refused::Closed,
            }
        })
    }
}

impl InboundReceiver {
    fn taken(&self, item: Option<(InboundMessage, usize)>) -> Option<InboundMessage> {
        let (message, size) = item?;
        self.queued_bytes.fetch_sub(size, Ordering::AcqRel);
        Some(message)
    }

    /// The next message; `None` once every sender is gone and the queue is empty.
    pub async fn recv(&mut self) -> Option<InboundMessage> {
        let item = self.rx.recv().await;
        self.taken(item)
    }

    /// The next message if one is waiting.
    pub fn try_recv(&mut self) -> Option<InboundMessage> {
        let item = self.rx.try_recv().ok();
        self.taken(item)
    }

    /// Bytes waiting in the queue.
    pub fn queued_bytes(&self) -> usize {
        self.queued_bytes.load(Ordering::Acquire)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::ChatType;

    fn message(text: &str) -> InboundMessage {
        InboundMessage {
            account_id: "default".into(),
            chat_type: ChatType::Direct,
            chat_id: "c".into(),
            sender_id: "s".into(),
            sender_name: None,
            message_id: "m".into(),
            thread_id: None,
            text: text.into(),
            mentioned: false,
            reply_to_bot: false,
            timestamp_ms: 0,
            extra: None,
        }
    }

    #[tokio::test]
    async fn bounded_in_messages_bytes_and_size() {
        let (tx, mut rx) = inbound_queue_with(10, 100);
        assert!(matches!(
            tx.try_send(message(&"x".repeat(MAX_MESSAGE_BYTES + 1))),
            Err(Refused::TooLarge { .. })
        ));
        tx.try_send(message(&"a".repeat(40))).unwrap();
        tx.try_send(message(&"b".repeat(40))).unwrap();
        let full = tx.try_send(message(&"c".repeat(40))).unwrap_err();
        assert!(matches!(full, Refused::Full { .. }), "{full}");
        assert_eq!(rx.recv().await.unwrap().text.len(), 40);
        tx.try_send(message(&"c".repeat(40))).unwrap();
        assert!(rx.queued_bytes() <= 100);
        let (small, _rx) = inbound_queue_with(1, 1 << 20);
        small.try_send(message("1")).unwrap();
        assert!(matches!(small.try_send(message("2")), Err(Refused::Full { .. })));
    }
}

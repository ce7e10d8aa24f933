//! The `getUpdates` offset: the first update Telegram should still send. Asking from it confirms
//! every earlier update.
//!
//! Telegram keeps an unconfirmed update for at most 24 hours, and after a week without updates it
//! may restart its ids at a lower, random number. An offset older than a day therefore protects
//! nothing and could make Telegram treat new updates as confirmed, so it is dropped: polling
//! then starts from whatever Telegram still holds.

use serde::{Deserialize, Serialize};

pub const OFFSET_LIFETIME_MS: u64 = 24 * 60 * 60 * 1000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SavedOffset {
    pub offset: i64,
    /// When the offset last moved (ms since the epoch).
    pub saved_at_ms: u64,
}

impl SavedOffset {
    /// The offset to ask from at `now_ms`, while it still means something.
    pub fn current(&self, now_ms: u64) -> Option<i64> {
        (now_ms.saturating_sub(self.saved_at_ms) <= OFFSET_LIFETIME_MS).then_some(self.offset)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_offset_lives_a_day() {
        let saved = SavedOffset {
            offset: 42,
            saved_at_ms: 1_000,
        };
        assert_eq!(saved.current(1_000), Some(42));
        assert_eq!(saved.current(1_000 + OFFSET_LIFETIME_MS), Some(42));
        assert_eq!(saved.current(1_001 + OFFSET_LIFETIME_MS), None);
        // A clock that went backwards keeps it.
        assert_eq!(saved.current(0), Some(42));
        assert_eq!(
            serde_json::to_string(&saved).unwrap(),
            r#"{"offset":42,"savedAtMs":1000}"#
        );
    }
}

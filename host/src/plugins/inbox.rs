//! Where inbound channel messages wait for access control and routing.
//!
//! Nothing consumes delivered messages yet (access control, routing and the agent loop are not
//! built), so the gateway keeps them: each message is appended as one JSON line to
//! `<state>/inbox/<channel>.jsonl` (0600, in a 0700 directory) and fsynced, so nothing is lost
//! across a restart. The inbox is bounded: a channel's file is rotated at [`MAX_FILE_BYTES`] and
//! [`KEEP_ROTATED`] older files are kept; past that the oldest messages are dropped, and the log
//! says how many.

use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;

use openclaw_runtime::InboundMessage;
use serde_json::json;

/// Largest inbox file of one channel before it is rotated.
pub const MAX_FILE_BYTES: u64 = 16 * 1024 * 1024;
/// Rotated files kept per channel (`<channel>.jsonl.1` newest ... `.N` oldest).
pub const KEEP_ROTATED: u32 = 3;

/// Appends to per-channel files under `dir`, each at most `max_bytes`, rotated so a channel's
/// inbox never holds more than `(keep + 1) × max_bytes`.
pub struct Inbox {
    dir: PathBuf,
    max_bytes: u64,
    keep: u32,
}

impl Inbox {
    pub fn new(dir: PathBuf) -> Self {
        Self::with_limits(dir, MAX_FILE_BYTES, KEEP_ROTATED)
    }

    pub fn with_limits(dir: PathBuf, max_bytes: u64, keep: u32) -> Self {
        Self {
            dir,
            max_bytes: max_bytes.max(1),
            keep,
        }
    }

    pub fn path_for(&self, channel: &str) -> PathBuf {
        self.dir.join(format!("{channel}.jsonl"))
    }

    fn rotated(&self, channel: &str, n: u32) -> PathBuf {
        self.dir.join(format!("{channel}.jsonl.{n}"))
    }

    /// Shifts `<channel>.jsonl` to `.1`, `.1` to `.2`, ...; the oldest beyond `keep` is deleted
    /// (and said so in the log: those messages were never consumed).
    fn rotate(&self, channel: &str) -> std::io::Result<()> {
        let oldest = self.rotated(channel, self.keep.max(1));
        if self.keep == 0 || oldest.exists() {
            let dropped = std::fs::read_to_string(if self.keep == 0 {
                self.path_for(channel)
            } else {
                oldest.clone()
            })
            .map(|t| t.lines().count())
            .unwrap_or(0);
            tracing::warn!(
                channel,
                dropped,
                "the inbox of channel {channel} is full ({} files of {} MiB); its oldest {dropped} messages were dropped",
                self.keep + 1,
                self.max_bytes >> 20
            );
        }
        if self.keep == 0 {
            return std::fs::remove_file(self.path_for(channel));
        }
        let _ = std::fs::remove_file(&oldest);
        for n in (1..self.keep).rev() {
            let from = self.rotated(channel, n);
            if from.exists() {
                std::fs::rename(&from, self.rotated(channel, n + 1))?;
            }
        }
        std::fs::rename(self.path_for(channel), self.rotated(channel, 1))
    }

    /// Appends one message durably, rotating first when the file would pass its cap.
    pub fn append(&self, channel: &str, message: &InboundMessage) -> std::io::Result<()> {
        crate::state::ensure_private_dir(&self.dir).map_err(std::io::Error::other)?;
        let mut line = json!({"channel": channel, "message": message.to_json()}).to_string();
        line.push('\n');
        let path = self.path_for(channel);
        let size = std::fs::symlink_metadata(&path).map(|m| m.len()).unwrap_or(0);
        if size > 0 && size + line.len() as u64 > self.max_bytes {
            self.rotate(channel)?;
        }
        let mut file = OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32)
            .open(&path)?;
        file.write_all(line.as_bytes())?;
        file.sync_data()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use openclaw_runtime::ChatType;

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

    #[test]
    fn files_are_bounded_and_rotated_newest_first() {
        let tmp = tempfile::tempdir().unwrap();
        let inbox = Inbox::with_limits(tmp.path().join("inbox"), 4096, 2);
        for i in 0..500 {
            inbox
                .append("probe", &message(&format!("message {i:04} {}", "x".repeat(100))))
                .unwrap();
        }
        let total: u64 = std::fs::read_dir(tmp.path().join("inbox"))
            .unwrap()
            .flatten()
            .map(|e| e.metadata().unwrap().len())
            .sum();
        assert!(total <= 3 * 4096, "{total} bytes kept");
        let names: Vec<_> = std::fs::read_dir(tmp.path().join("inbox"))
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names.len(), 3, "{names:?}");
        let current = std::fs::read_to_string(inbox.path_for("probe")).unwrap();
        assert!(
            current.contains("message 0499"),
            "the newest message is in the current file"
        );
        let newest_rotated = std::fs::read_to_string(tmp.path().join("inbox/probe.jsonl.1")).unwrap();
        let last_rotated = newest_rotated.lines().last().unwrap();
        let first_current = current.lines().next().unwrap();
        assert!(
            last_rotated < first_current,
            "nothing reordered: {last_rotated} / {first_current}"
        );
    }
}

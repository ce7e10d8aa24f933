//! Sessions on disk, in OpenClaw's layout so an existing `~/.openclaw` keeps working:
//! `agents/<agentId>/sessions/sessions.json` (session key → entry) and one JSONL transcript per
//! session (`<sessionId>.jsonl`, pi-coding-agent format version 3). Files are 0600, the store is
//! replaced atomically, transcript lines are appended whole, and everything written is redacted.

pub mod store;
pub mod transcript;

pub use store::{SessionEntry, SessionStore, StoreError};
pub use transcript::{Transcript, TranscriptMessage};

//! The durable ingress queue: every message a channel delivers is appended here before the
//! channel is told it was taken, and every step the gateway takes with it is recorded, so a
//! gateway killed at any moment loses no message and answers none twice.
//!
//! One append-only file, `<state>/ingress/journal.jsonl` (0600 in a 0700 directory), one JSON
//! object per line:
//! - `{"t":"in","seq":N,"channel":..,"key":..,"at":ms,"msg":{..}}`: a message was queued;
//! - `{"t":"mark","seq":N,"step":"started"|"replying"|"done","outcome":..}`: progress.
//!
//! Replay after a restart: a message with no mark, or only `started` (its turn was cut short,
//! nothing was sent), is processed again. A message marked `replying` is never processed again:
//! its answer may already be on the platform, and sending it twice is worse than once too few
//! (the window is the send call itself). `done` ends it.
//!
//! Platforms redeliver (a poller restarted before it confirmed its offset; a webhook retried),
//! so the queue remembers the dedupe key (`channel`, account, chat, message id) of the last
//! [`REMEMBERED_KEYS`] messages and takes each key once.
//!
//! Bounded: at most [`MAX_PENDING`] unfinished messages and [`MAX_PENDING_BYTES`] of them; past
//! that a delivery is refused (the channel retries later, so nothing is lost). The file is
//! rewritten with only what is unfinished (and the remembered keys) when it passes
//! [`COMPACT_BYTES`], so it does not grow without bound either.

use std::collections::{BTreeMap, BTreeSet, HashSet, VecDeque};
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use openclaw_runtime::{ChatType, InboundMessage};
use serde::{Deserialize, Serialize};

/// Unfinished messages the queue holds at most.
pub const MAX_PENDING: usize = 10_000;
/// Bytes of unfinished messages the queue holds at most.
pub const MAX_PENDING_BYTES: usize = 64 * 1024 * 1024;
/// Dedupe keys remembered after their message finished.
pub const REMEMBERED_KEYS: usize = 50_000;
/// Size past which the file is rewritten with only what is still needed.
pub const COMPACT_BYTES: u64 = 16 * 1024 * 1024;

const FILE_NAME: &str = "journal.jsonl";

/// How far the gateway got with a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Step {
    Queued,
    Started,
    Replying,
    Done,
}

/// A queued message as the journal stores it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StoredMessage {
    pub account_id: String,
    pub chat_type: String,
    pub chat_id: String,
    pub sender_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sender_name: Option<String>,
    pub message_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thread_id: Option<String>,
    pub text: String,
    #[serde(default)]
    pub mentioned: bool,
    #[serde(default)]
    pub reply_to_bot: bool,
    #[serde(default)]
    pub timestamp_ms: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extra: Option<String>,
}

impl StoredMessage {
    pub fn chat_type(&self) -> ChatType {
        match self.chat_type.as_str() {
            "direct" => ChatType::Direct,
            "channel" => ChatType::Channel,
            _ => ChatType::Group,
        }
    }

    fn size(&self) -> usize {
        self.account_id.len()
            + self.chat_id.len()
            + self.sender_id.len()
            + self.sender_name.as_ref().map_or(0, String::len)
            + self.message_id.len()
            + self.thread_id.as_ref().map_or(0, String::len)
            + self.text.len()
            + self.extra.as_ref().map_or(0, String::len)
    }
}

impl From<InboundMessage> for StoredMessage {
    fn from(m: InboundMessage) -> Self {
        Self {
            account_id: m.account_id,
            chat_type: m.chat_type.as_str().to_string(),
            chat_id: m.chat_id,
            sender_id: m.sender_id,
            sender_name: m.sender_name,
            message_id: m.message_id,
            thread_id: m.thread_id,
            text: m.text,
            mentioned: m.mentioned,
            reply_to_bot: m.reply_to_bot,
            timestamp_ms: m.timestamp_ms,
            extra: m.extra,
        }
    }
}

/// One unfinished message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub seq: u64,
    pub channel: String,
    pub message: StoredMessage,
    pub step: Step,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "t", rename_all = "lowercase")]
enum Record {
    In {
        seq: u64,
        channel: String,
        key: String,
        at: u64,
        msg: Box<StoredMessage>,
    },
    Mark {
        seq: u64,
        step: Step,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        outcome: Option<String>,
    },
    /// Dedupe keys of finished messages, written when the file is compacted.
    Seen { keys: Vec<String> },
}

/// Why a message was not queued.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// Already queued or handled (a redelivery): the channel may consider it taken.
    Duplicate,
    /// The queue is at its cap; the channel must deliver it again later.
    Full(String),
    /// The journal could not be written; the channel must deliver it again later.
    Io(String),
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Duplicate => f.write_str("already queued"),
            Self::Full(why) => write!(f, "the ingress queue is full ({why})"),
            Self::Io(e) => write!(f, "the ingress journal could not be written: {e}"),
        }
    }
}

/// The dedupe key of a message: the platform's own identity of it.
pub fn dedupe_key(channel: &str, message: &StoredMessage) -> String {
    format!(
        "{channel}\u{1f}{}\u{1f}{}\u{1f}{}",
        message.account_id, message.chat_id, message.message_id
    )
}

struct Inner {
    writer: BufWriter<File>,
    written_bytes: u64,
    /// Records appended since the journal opened (what [`Journal::synced`] counts against).
    appended: u64,
    next_seq: u64,
    pending: BTreeMap<u64, (Entry, String)>,
    /// The pending messages not yet handed out, so handing out does not scan the whole queue.
    queued: BTreeSet<u64>,
    pending_bytes: usize,
    live_keys: HashSet<String>,
    finished_keys: VecDeque<String>,
    finished_set: HashSet<String>,
}

/// The queue. Cheap to share behind an `Arc`; every method takes `&self`.
pub struct Journal {
    dir: PathBuf,
    inner: Mutex<Inner>,
    /// Held by the one caller running `fdatasync`; the others wait and usually find their
    /// records covered by that call (group commit), while appends go on meanwhile.
    sync_leader: Mutex<()>,
    /// How many appended records are known to be on disk.
    synced: std::sync::atomic::AtomicU64,
    /// Wakes the pipeline when something was queued.
    notify: tokio::sync::Notify,
}

/// What replaying the file found.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Recovery {
    /// Unfinished messages that will be processed (again).
    pub resumed: usize,
    /// Messages whose reply may have been sent: closed without sending again.
    pub interrupted_replies: usize,
    /// Lines that could not be read (a torn last line after a crash, or damage).
    pub unreadable_lines: usize,
}

fn open_append(path: &Path) -> std::io::Result<File> {
    OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32)
        .open(path)
}

fn line_of(record: &Record) -> std::io::Result<Vec<u8>> {
    let mut line = serde_json::to_vec(record).map_err(std::io::Error::other)?;
    line.push(b'\n');
    Ok(line)
}

impl Journal {
    /// Opens (or creates) the journal under `dir`, replaying what an earlier run left.
    pub fn open(dir: &Path) -> std::io::Result<(Self, Recovery)> {
        crate::state::ensure_private_dir(dir).map_err(std::io::Error::other)?;
        let path = dir.join(FILE_NAME);
        let mut recovery = Recovery::default();
        let mut pending: BTreeMap<u64, (Entry, String)> = BTreeMap::new();
        let mut finished: Vec<String> = Vec::new();
        let mut next_seq = 1;
        match OpenOptions::new()
            .read(true)
            .custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32)
            .open(&path)
        {
            Ok(file) => {
                for line in BufReader::new(file).split(b'\n') {
                    let line = line?;
                    if line.is_empty() {
                        continue;
                    }
                    match serde_json::from_slice::<Record>(&line) {
                        Ok(Record::In {
                            seq, channel, key, msg, ..
                        }) => {
                            next_seq = next_seq.max(seq + 1);
                            pending.insert(
                                seq,
                                (
                                    Entry {
                                        seq,
                                        channel,
                                        message: *msg,
                                        step: Step::Queued,
                                    },
                                    key,
                                ),
                            );
                        }
                        Ok(Record::Mark { seq, step, .. }) => {
                            if step == Step::Done {
                                if let Some((_, key)) = pending.remove(&seq) {
                                    finished.push(key);
                                }
                            } else if let Some((entry, _)) = pending.get_mut(&seq) {
                                entry.step = step;
                            }
                        }
                        Ok(Record::Seen { keys }) => finished.extend(keys),
                        Err(_) => recovery.unreadable_lines += 1,
                    }
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        let interrupted: Vec<u64> = pending
            .values()
            .filter(|(e, _)| e.step == Step::Replying)
            .map(|(e, _)| e.seq)
            .collect();
        for seq in &interrupted {
            if let Some((_, key)) = pending.remove(seq) {
                finished.push(key);
            }
        }
        recovery.interrupted_replies = interrupted.len();
        recovery.resumed = pending.len();
        for (entry, _) in pending.values_mut() {
            entry.step = Step::Queued;
        }
        let start = finished.len().saturating_sub(REMEMBERED_KEYS);
        let finished_keys: VecDeque<String> = finished.drain(start..).collect();
        let finished_set = finished_keys.iter().cloned().collect();
        let live_keys = pending.values().map(|(_, k)| k.clone()).collect();
        let queued = pending.keys().copied().collect();
        let pending_bytes = pending.values().map(|(e, _)| e.message.size()).sum();
        // Start from a compact file: replay is then as short as what is unfinished.
        let file = Self::rewrite(dir, &pending, &finished_keys)?;
        let written_bytes = file.metadata().map(|m| m.len()).unwrap_or(0);
        let journal = Self {
            dir: dir.to_path_buf(),
            inner: Mutex::new(Inner {
                writer: BufWriter::new(file),
                written_bytes,
                appended: 0,
                next_seq,
                pending,
                queued,
                pending_bytes,
                live_keys,
                finished_keys,
                finished_set,
            }),
            sync_leader: Mutex::new(()),
            synced: std::sync::atomic::AtomicU64::new(0),
            notify: tokio::sync::Notify::new(),
        };
        for seq in interrupted {
            tracing::warn!(
                seq,
                "an answer was being sent when the gateway stopped; it is not sent again (it may have reached the chat)"
            );
        }
        Ok((journal, recovery))
    }

    /// Writes a fresh file holding what is unfinished and the remembered keys, atomically.
    fn rewrite(
        dir: &Path,
        pending: &BTreeMap<u64, (Entry, String)>,
        finished: &VecDeque<String>,
    ) -> std::io::Result<File> {
        let path = dir.join(FILE_NAME);
        let tmp = dir.join(format!("{FILE_NAME}.tmp"));
        let _ = std::fs::remove_file(&tmp);
        {
            let mut out = BufWriter::new(OpenOptions::new().create_new(true).write(true).mode(0o600).open(&tmp)?);
            if !finished.is_empty() {
                out.write_all(&line_of(&Record::Seen {
                    keys: finished.iter().cloned().collect(),
                })?)?;
            }
            for (entry, key) in pending.values() {
                out.write_all(&line_of(&Record::In {
                    seq: entry.seq,
                    channel: entry.channel.clone(),
                    key: key.clone(),
                    at: 0,
                    msg: Box::new(entry.message.clone()),
                })?)?;
            }
            let file = out.into_inner().map_err(|e| e.into_error())?;
            file.sync_all()?;
        }
        std::fs::rename(&tmp, &path)?;
        if let Ok(d) = File::open(dir) {
            let _ = d.sync_all();
        }
        open_append(&path)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn append_record(inner: &mut Inner, record: &Record) -> std::io::Result<()> {
        let line = line_of(record)?;
        inner.writer.write_all(&line)?;
        inner.written_bytes += line.len() as u64;
        inner.appended += 1;
        Ok(())
    }

    /// Queues a message (not yet on disk: call [`Journal::sync`] before telling the platform it
    /// was taken). Returns its sequence number.
    pub fn append(&self, channel: &str, message: StoredMessage) -> Result<u64, Refusal> {
        let size = message.size();
        let seq = {
            let mut inner = self.lock();
            // A message without an id cannot be recognised when it comes again, so it is never
            // taken for a repeat (dropping it would lose every later message of the chat).
            let key = if message.message_id.trim().is_empty() {
                format!("{channel}\u{1f}no-id\u{1f}{}", inner.next_seq)
            } else {
                dedupe_key(channel, &message)
            };
            if inner.live_keys.contains(&key) || inner.finished_set.contains(&key) {
                return Err(Refusal::Duplicate);
            }
            if inner.pending.len() >= MAX_PENDING {
                return Err(Refusal::Full(format!("{MAX_PENDING} messages wait")));
            }
            if inner.pending_bytes + size > MAX_PENDING_BYTES {
                return Err(Refusal::Full(format!("{} MiB wait", MAX_PENDING_BYTES >> 20)));
            }
            let seq = inner.next_seq;
            let record = Record::In {
                seq,
                channel: channel.to_string(),
                key: key.clone(),
                at: crate::sessions::store::now_ms(),
                msg: Box::new(message.clone()),
            };
            Self::append_record(&mut inner, &record).map_err(|e| Refusal::Io(e.to_string()))?;
            inner.next_seq += 1;
            inner.pending_bytes += size;
            inner.live_keys.insert(key.clone());
            inner.queued.insert(seq);
            inner.pending.insert(
                seq,
                (
                    Entry {
                        seq,
                        channel: channel.to_string(),
                        message,
                        step: Step::Queued,
                    },
                    key,
                ),
            );
            seq
        };
        self.notify.notify_one();
        Ok(seq)
    }

    /// Puts everything appended so far on disk. Concurrent callers share one `fdatasync`: the
    /// first becomes the leader, the others find their records covered when it finishes.
    pub fn sync(&self) -> std::io::Result<()> {
        use std::sync::atomic::Ordering;
        let target = {
            let mut inner = self.lock();
            inner.writer.flush()?;
            inner.appended
        };
        if self.synced.load(Ordering::Acquire) >= target {
            return Ok(());
        }
        let _leader = self
            .sync_leader
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if self.synced.load(Ordering::Acquire) >= target {
            return Ok(());
        }
        let (file, covered) = {
            let mut inner = self.lock();
            inner.writer.flush()?;
            (inner.writer.get_ref().try_clone()?, inner.appended)
        };
        file.sync_data()?;
        self.synced.fetch_max(covered, Ordering::AcqRel);
        Ok(())
    }

    /// Records progress. `Replying` is on disk before this returns (the answer goes out after);
    /// `Done` finishes the message and may compact the file.
    pub fn mark(&self, seq: u64, step: Step, outcome: Option<&str>) -> std::io::Result<()> {
        self.mark_all(&[seq], step, outcome)?;
        if step == Step::Replying {
            self.sync()?;
        }
        Ok(())
    }

    /// Records that the answer to `seqs` is about to be sent, and returns once that is on disk:
    /// one record each, one shared `fdatasync`, taken off the async workers (a blocked worker
    /// would stall every other session's turn meanwhile).
    pub async fn mark_replying(self: &Arc<Self>, seqs: &[u64]) -> std::io::Result<()> {
        self.mark_all(seqs, Step::Replying, None)?;
        let journal = self.clone();
        tokio::task::spawn_blocking(move || journal.sync())
            .await
            .map_err(std::io::Error::other)?
    }

    /// Records the same progress for several messages with one write to the file. Nothing is
    /// synced: only `Replying` needs to be on disk before the caller goes on ([`Journal::mark`],
    /// [`Journal::mark_replying`]).
    pub fn mark_all(&self, seqs: &[u64], step: Step, outcome: Option<&str>) -> std::io::Result<()> {
        let mut inner = self.lock();
        for &seq in seqs {
            let record = Record::Mark {
                seq,
                step,
                outcome: outcome.map(str::to_string),
            };
            Self::append_record(&mut inner, &record)?;
            Self::advance(&mut inner, seq, step);
        }
        // Marks reach the file at once (readers such as `openclaw status` see them); only
        // `Replying` must also be on disk before the caller goes on.
        inner.writer.flush()?;
        if step == Step::Done && inner.written_bytes > COMPACT_BYTES {
            let file = Self::rewrite(&self.dir, &inner.pending, &inner.finished_keys)?;
            inner.written_bytes = file.metadata().map(|m| m.len()).unwrap_or(0);
            inner.writer = BufWriter::new(file);
            // The rewritten file holds everything that matters, synced.
            self.synced
                .fetch_max(inner.appended, std::sync::atomic::Ordering::AcqRel);
        }
        Ok(())
    }

    fn advance(inner: &mut Inner, seq: u64, step: Step) {
        match step {
            Step::Done => {
                inner.queued.remove(&seq);
                if let Some((entry, key)) = inner.pending.remove(&seq) {
                    inner.pending_bytes = inner.pending_bytes.saturating_sub(entry.message.size());
                    inner.live_keys.remove(&key);
                    inner.finished_set.insert(key.clone());
                    inner.finished_keys.push_back(key);
                    while inner.finished_keys.len() > REMEMBERED_KEYS {
                        if let Some(old) = inner.finished_keys.pop_front() {
                            inner.finished_set.remove(&old);
                        }
                    }
                }
            }
            other => {
                if other != Step::Queued {
                    inner.queued.remove(&seq);
                }
                if let Some((entry, _)) = inner.pending.get_mut(&seq) {
                    entry.step = other;
                }
            }
        }
    }

    /// Unfinished messages not yet handed out, oldest first (at most `limit`); they are marked
    /// `Started` in memory so they are handed out once.
    pub fn take_queued(&self, limit: usize) -> Vec<Entry> {
        let mut guard = self.lock();
        let inner = &mut *guard;
        let mut out = Vec::new();
        while out.len() < limit {
            let Some(seq) = inner.queued.pop_first() else { break };
            if let Some((entry, _)) = inner.pending.get_mut(&seq)
                && entry.step == Step::Queued
            {
                entry.step = Step::Started;
                out.push(entry.clone());
            }
        }
        out
    }

    /// Waits until something may have been queued.
    pub async fn queued(&self) {
        self.notify.notified().await
    }

    /// Unfinished messages.
    pub fn pending(&self) -> usize {
        self.lock().pending.len()
    }

    pub fn path(&self) -> PathBuf {
        self.dir.join(FILE_NAME)
    }
}

impl Drop for Journal {
    fn drop(&mut self) {
        let _ = self.sync();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(id: &str, text: &str) -> StoredMessage {
        StoredMessage {
            account_id: "default".into(),
            chat_type: "direct".into(),
            chat_id: "42".into(),
            sender_id: "42".into(),
            sender_name: None,
            message_id: id.into(),
            thread_id: None,
            text: text.into(),
            mentioned: false,
            reply_to_bot: false,
            timestamp_ms: 1,
            extra: None,
        }
    }

    #[test]
    fn a_redelivered_message_is_taken_once_even_after_a_restart() {
        let tmp = tempfile::tempdir().unwrap();
        let (journal, _) = Journal::open(tmp.path()).unwrap();
        let seq = journal.append("telegram", message("1", "hi")).unwrap();
        assert_eq!(journal.append("telegram", message("1", "hi")), Err(Refusal::Duplicate));
        journal.mark(seq, Step::Done, Some("answered")).unwrap();
        assert_eq!(journal.append("telegram", message("1", "hi")), Err(Refusal::Duplicate));
        drop(journal);
        let (journal, recovery) = Journal::open(tmp.path()).unwrap();
        assert_eq!(recovery.resumed, 0);
        assert_eq!(journal.append("telegram", message("1", "hi")), Err(Refusal::Duplicate));
        assert!(
            journal.append("other", message("1", "hi")).is_ok(),
            "the key includes the channel"
        );
    }

    #[test]
    fn unfinished_messages_come_back_and_interrupted_replies_do_not() {
        let tmp = tempfile::tempdir().unwrap();
        let (journal, _) = Journal::open(tmp.path()).unwrap();
        let queued = journal.append("t", message("1", "queued")).unwrap();
        let started = journal.append("t", message("2", "started")).unwrap();
        let replying = journal.append("t", message("3", "replying")).unwrap();
        let done = journal.append("t", message("4", "done")).unwrap();
        journal.sync().unwrap();
        assert_eq!(journal.take_queued(10).len(), 4);
        journal.mark(started, Step::Started, None).unwrap();
        journal.mark(replying, Step::Replying, None).unwrap();
        journal.mark(done, Step::Done, None).unwrap();
        // Killed: only what `sync`/`Replying` put on disk counts.
        std::mem::forget(journal);
        let (journal, recovery) = Journal::open(tmp.path()).unwrap();
        assert_eq!(recovery.interrupted_replies, 1);
        let again: Vec<u64> = journal.take_queued(10).iter().map(|e| e.seq).collect();
        assert!(again.contains(&queued) && again.contains(&started), "{again:?}");
        assert!(
            !again.contains(&replying),
            "a reply that may have gone out is not sent twice"
        );
        let next = journal.append("t", message("5", "new")).unwrap();
        assert!(next > done, "sequence numbers keep growing across restarts");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_batch_marked_replying_is_on_disk_when_the_call_returns_and_handed_out_once() {
        let tmp = tempfile::tempdir().unwrap();
        let (journal, _) = Journal::open(tmp.path()).unwrap();
        let journal = Arc::new(journal);
        let seqs: Vec<u64> = (1..=5)
            .map(|i| journal.append("t", message(&i.to_string(), "m")).unwrap())
            .collect();
        let first: Vec<u64> = journal.take_queued(3).iter().map(|e| e.seq).collect();
        assert_eq!(first, seqs[..3], "oldest first");
        let later = journal.append("t", message("6", "m")).unwrap();
        let rest: Vec<u64> = journal.take_queued(10).iter().map(|e| e.seq).collect();
        assert_eq!(rest, [seqs[3], seqs[4], later], "each handed out once, in order");
        assert!(journal.take_queued(10).is_empty());
        journal.mark_all(&seqs[..3], Step::Started, None).unwrap();
        journal.mark_replying(&seqs[..3]).await.unwrap();
        // Killed right after: the three replies may have gone out and are not sent again.
        let journal = Arc::into_inner(journal).unwrap();
        std::mem::forget(journal);
        let (journal, recovery) = Journal::open(tmp.path()).unwrap();
        assert_eq!(recovery.interrupted_replies, 3);
        let again: Vec<u64> = journal.take_queued(10).iter().map(|e| e.seq).collect();
        assert!(again.iter().all(|seq| !seqs[..3].contains(seq)), "{again:?}");
    }

    #[test]
    fn messages_without_an_id_are_never_taken_for_repeats() {
        let tmp = tempfile::tempdir().unwrap();
        let (journal, _) = Journal::open(tmp.path()).unwrap();
        assert!(journal.append("t", message("", "first")).is_ok());
        assert!(journal.append("t", message("", "second")).is_ok());
        assert_eq!(journal.pending(), 2);
    }

    #[test]
    fn a_torn_last_line_is_skipped() {
        let tmp = tempfile::tempdir().unwrap();
        let (journal, _) = Journal::open(tmp.path()).unwrap();
        journal.append("t", message("1", "kept")).unwrap();
        journal.sync().unwrap();
        drop(journal);
        let mut f = OpenOptions::new()
            .append(true)
            .open(tmp.path().join(FILE_NAME))
            .unwrap();
        f.write_all(br#"{"t":"in","seq":9,"chan"#).unwrap();
        let (journal, recovery) = Journal::open(tmp.path()).unwrap();
        assert_eq!(recovery.unreadable_lines, 1);
        assert_eq!(journal.take_queued(10)[0].message.text, "kept");
    }

    #[test]
    fn the_queue_is_bounded_and_the_file_compacts() {
        let tmp = tempfile::tempdir().unwrap();
        let (journal, _) = Journal::open(tmp.path()).unwrap();
        let big = "x".repeat(MAX_PENDING_BYTES / 4);
        for i in 0..3 {
            journal.append("t", message(&i.to_string(), &big)).unwrap();
        }
        assert!(matches!(journal.append("t", message("9", &big)), Err(Refusal::Full(_))));
        for entry in journal.take_queued(10) {
            journal.mark(entry.seq, Step::Done, None).unwrap();
        }
        let size = std::fs::metadata(journal.path()).unwrap().len();
        assert!(size < COMPACT_BYTES, "compacted to {size} bytes");
        assert_eq!(journal.pending(), 0);
        assert!(journal.append("t", message("9", &big)).is_ok());
    }
}

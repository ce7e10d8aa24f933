//! `sessions.json`: the map from session key to [`SessionEntry`]. Fields this gateway does not
//! know are kept as they are, so OpenClaw's own entries survive a round trip.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use openclaw_core::routing::session_key::SessionKey;
use openclaw_core::security::redact::Redactor;
use openclaw_state::{StateError, ensure_private_dir, ids::random_hex, write_atomic};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::transcript::Transcript;

/// One session's row. Unknown fields ride along in `extra`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SessionEntry {
    pub session_id: String,
    /// Milliseconds since the epoch.
    pub updated_at: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_file: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chat_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_provider: Option<String>,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub input_tokens: u64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub output_tokens: u64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub total_tokens: u64,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// Why the store could not be read or written; names the file and what to do.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{0}")]
    State(#[from] StateError),
    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{path} is not a session store ({reason}); move it aside and the gateway starts a new one")]
    Corrupt { path: PathBuf, reason: String },
    #[error("the operating system has no randomness for a session id: {0}")]
    Random(String),
    #[error("the session store could not be rendered as JSON ({0}); nothing was written")]
    Render(String),
}

/// Milliseconds since the epoch.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or_default()
}

/// A random RFC 4122 version-4 UUID (OpenClaw's session ids).
pub fn new_uuid() -> Result<String, StoreError> {
    let hex = random_hex(16).map_err(|e| StoreError::Random(e.to_string()))?;
    let mut bytes: Vec<char> = hex.chars().collect();
    bytes[12] = '4';
    let variant = u8::from_str_radix(&bytes[16].to_string(), 16).unwrap_or(0);
    bytes[16] = char::from_digit(u32::from((variant & 0x3) | 0x8), 16).unwrap_or('8');
    let s: String = bytes.into_iter().collect();
    Ok(format!(
        "{}-{}-{}-{}-{}",
        &s[0..8],
        &s[8..12],
        &s[12..16],
        &s[16..20],
        &s[20..32]
    ))
}

/// One agent's `sessions.json` as this process knows it.
struct AgentStore {
    entries: BTreeMap<String, SessionEntry>,
    /// Rows of the file this gateway cannot read as sessions, written back exactly as they were.
    foreign: Map<String, Value>,
    /// (modified time, length) of the file when it was read or written: an edit by someone
    /// else is noticed and read again.
    stamp: Option<(std::time::SystemTime, u64)>,
    /// Changes not yet on disk (counters and timestamps only: see [`SessionStore::update`]).
    dirty: bool,
    /// Changes made since the store was loaded, and how many of them a write has covered:
    /// a caller that needs its change on disk waits only while `written` is below it.
    changes: u64,
    written: u64,
}

type Stores = Arc<Mutex<HashMap<String, Arc<Mutex<AgentStore>>>>>;
/// A `sessions.json` as read: the sessions, and the rows that are not sessions we can read.
type StoreRows = (BTreeMap<String, SessionEntry>, Map<String, Value>);

/// How long counter updates may wait before they are written.
pub const FLUSH_DELAY: std::time::Duration = std::time::Duration::from_millis(500);

/// Where the stores live.
#[derive(Debug, Clone)]
struct Locations {
    state_dir: PathBuf,
    /// `session.store` with `{agentId}` templating, when configured.
    store_template: Option<String>,
    /// One writer at a time; the others usually find their change covered by its write.
    writer: Arc<Mutex<()>>,
}

impl Locations {
    fn default_dir(&self, agent_id: &str) -> PathBuf {
        self.state_dir.join("agents").join(agent_id).join("sessions")
    }

    fn store_path(&self, agent_id: &str) -> PathBuf {
        match &self.store_template {
            Some(template) => PathBuf::from(template.replace("{agentId}", agent_id)),
            None => self.default_dir(agent_id).join("sessions.json"),
        }
    }

    fn read(&self, agent_id: &str) -> Result<StoreRows, StoreError> {
        let path = self.store_path(agent_id);
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Default::default()),
            Err(source) => return Err(StoreError::Read { path, source }),
        };
        if text.trim().is_empty() {
            return Ok(Default::default());
        }
        let raw: Map<String, Value> = serde_json::from_str(&text).map_err(|e| StoreError::Corrupt {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        let mut out = BTreeMap::new();
        let mut foreign = Map::new();
        for (key, value) in raw {
            // A row we cannot read is set aside, not fatal: one bad entry must not lose the rest.
            match SessionEntry::deserialize(&value) {
                Ok(entry) => {
                    out.insert(key, entry);
                }
                Err(_) => {
                    foreign.insert(key, value);
                }
            }
        }
        Ok((out, foreign))
    }

    /// Brings the cached store up to date with the file (unless it holds unwritten changes).
    fn refresh(&self, agent_id: &str, store: &mut AgentStore) -> Result<(), StoreError> {
        if store.dirty {
            return Ok(());
        }
        let stamp = stamp_of(&self.store_path(agent_id));
        if store.stamp.is_some() && store.stamp == stamp {
            return Ok(());
        }
        (store.entries, store.foreign) = self.read(agent_id)?;
        store.stamp = stamp;
        Ok(())
    }

    /// Puts the agent's store on disk as it is now, unless a write since change `change` was
    /// made already did. The file is written outside the store's lock, so other turns read and
    /// change sessions meanwhile, and callers waiting at once share one write (group commit):
    /// a burst of new sessions costs a few writes of `sessions.json`, not one each.
    fn persist(&self, agent_id: &str, store: &Mutex<AgentStore>, change: u64) -> Result<(), StoreError> {
        let _writer = self.writer.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let (text, covers) = {
            let store = store.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            if store.written >= change {
                return Ok(());
            }
            // Rendered under the lock (one pass, no copy of the sessions); written without it.
            (render(&store.entries, &store.foreign)?, store.changes)
        };
        let path = self.store_path(agent_id);
        if let Some(dir) = path.parent() {
            ensure_private_dir(dir)?;
        }
        write_atomic(&path, &text, 0o600)?;
        let stamp = stamp_of(&path);
        let mut store = store.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        store.written = store.written.max(covers);
        store.stamp = stamp;
        store.dirty = store.changes > store.written;
        Ok(())
    }

    fn flush(&self, stores: &Stores) -> Result<(), StoreError> {
        let all: Vec<(String, Arc<Mutex<AgentStore>>)> = stores
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .iter()
            .map(|(agent, store)| (agent.clone(), store.clone()))
            .collect();
        let mut first_error = None;
        for (agent, store) in all {
            let pending = {
                let store = store.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                store.dirty.then_some(store.changes)
            };
            if let Some(change) = pending
                && let Err(e) = self.persist(&agent, &store, change)
            {
                first_error.get_or_insert(e);
            }
        }
        first_error.map_or(Ok(()), Err)
    }
}

/// `sessions.json` as OpenClaw writes it (pretty, one object keyed by session key): our sessions,
/// then the rows we could not read, unless a session of ours now has that key.
fn render(entries: &BTreeMap<String, SessionEntry>, foreign: &Map<String, Value>) -> Result<Vec<u8>, StoreError> {
    #[derive(Serialize)]
    #[serde(untagged)]
    enum Row<'a> {
        Session(&'a SessionEntry),
        Foreign(&'a Value),
    }
    struct Rows<'a>(&'a BTreeMap<String, SessionEntry>, &'a Map<String, Value>);
    impl Serialize for Rows<'_> {
        fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
            let sessions = self.0.iter().map(|(key, entry)| (key, Row::Session(entry)));
            let foreign = self
                .1
                .iter()
                .filter(|(key, _)| !self.0.contains_key(*key))
                .map(|(key, value)| (key, Row::Foreign(value)));
            serializer.collect_map(sessions.chain(foreign))
        }
    }
    serde_json::to_vec_pretty(&Rows(entries, foreign)).map_err(|e| StoreError::Render(e.to_string()))
}

fn stamp_of(path: &Path) -> Option<(std::time::SystemTime, u64)> {
    let meta = std::fs::metadata(path).ok()?;
    Some((meta.modified().ok()?, meta.len()))
}

/// The sessions of every agent under one state directory.
///
/// Reads come from memory. Creating or resetting a session is written at once (atomically, with
/// fsync): the transcript that follows must never belong to a session the store forgot. Updates
/// of an existing session (token counters, model, `updatedAt`) are written behind, within
/// [`FLUSH_DELAY`], by a flusher thread, and on [`SessionStore::flush`] and drop: a crash can lose
/// at most that half second of counters, never a session or a transcript line.
pub struct SessionStore {
    at: Locations,
    redactor: Arc<Redactor>,
    stores: Stores,
    /// Wakes the flusher thread; dropping it lets the thread write what is left and end.
    flusher: Mutex<Option<std::sync::mpsc::Sender<()>>>,
}

impl Drop for SessionStore {
    fn drop(&mut self) {
        if let Err(e) = self.flush() {
            tracing::error!("writing sessions.json failed: {e}");
        }
    }
}

impl SessionStore {
    pub fn new(state_dir: &Path, store_template: Option<String>, redactor: Arc<Redactor>) -> Self {
        Self {
            at: Locations {
                state_dir: state_dir.to_path_buf(),
                store_template,
                writer: Arc::new(Mutex::new(())),
            },
            redactor,
            stores: Arc::new(Mutex::new(HashMap::new())),
            flusher: Mutex::new(None),
        }
    }

    pub fn redactor(&self) -> &Arc<Redactor> {
        &self.redactor
    }

    /// `agents/<agentId>/sessions`.
    pub fn sessions_dir(&self, agent_id: &str) -> PathBuf {
        match &self.at.store_template {
            Some(template) => {
                let path = PathBuf::from(template.replace("{agentId}", agent_id));
                path.parent()
                    .map(Path::to_path_buf)
                    .unwrap_or_else(|| self.at.default_dir(agent_id))
            }
            None => self.at.default_dir(agent_id),
        }
    }

    pub fn store_path(&self, agent_id: &str) -> PathBuf {
        self.at.store_path(agent_id)
    }

    fn agent_store(&self, agent_id: &str) -> Arc<Mutex<AgentStore>> {
        let mut stores = self.stores.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        stores
            .entry(agent_id.to_string())
            .or_insert_with(|| {
                Arc::new(Mutex::new(AgentStore {
                    entries: BTreeMap::new(),
                    foreign: Map::new(),
                    stamp: None,
                    dirty: false,
                    changes: 0,
                    written: 0,
                }))
            })
            .clone()
    }

    /// Every session of `agent_id`, by key. A missing store is empty.
    pub fn list(&self, agent_id: &str) -> Result<BTreeMap<String, SessionEntry>, StoreError> {
        let store = self.agent_store(agent_id);
        let mut store = store.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        self.at.refresh(agent_id, &mut store)?;
        Ok(store.entries.clone())
    }

    /// Changes one entry under the agent's lock, creating the session (a new `sessionId`) when
    /// it does not exist. A new session is written at once; a change to an existing one is
    /// written behind (within [`FLUSH_DELAY`]).
    pub fn update<T>(
        &self,
        key: &SessionKey,
        change: impl FnOnce(&mut SessionEntry) -> T,
    ) -> Result<(SessionEntry, T), StoreError> {
        let agent = key.agent_id();
        let slot = self.agent_store(agent);
        let mut store = slot.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        self.at.refresh(agent, &mut store)?;
        let name = key.to_string();
        let created = !store.entries.contains_key(&name);
        let mut entry = match store.entries.get(&name) {
            Some(entry) => entry.clone(),
            None => self.fresh_entry(key)?,
        };
        let out = change(&mut entry);
        entry.updated_at = now_ms();
        store.entries.insert(name, entry.clone());
        store.changes += 1;
        store.dirty = true;
        let change_made = store.changes;
        drop(store);
        if created {
            // On disk before the caller writes the session's transcript.
            self.at.persist(agent, &slot, change_made)?;
        } else {
            self.schedule_flush();
        }
        Ok((entry, out))
    }

    /// The entry for `key`, creating the session (and writing it) when it does not exist.
    /// An existing session is only read.
    pub fn ensure(&self, key: &SessionKey) -> Result<SessionEntry, StoreError> {
        if let Some(entry) = self.get(key)? {
            return Ok(entry);
        }
        Ok(self.update(key, |_| ())?.0)
    }

    /// The entry for `key` if the session exists.
    pub fn get(&self, key: &SessionKey) -> Result<Option<SessionEntry>, StoreError> {
        let agent = key.agent_id();
        let store = self.agent_store(agent);
        let mut store = store.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        self.at.refresh(agent, &mut store)?;
        Ok(store.entries.get(&key.to_string()).cloned())
    }

    /// Writes every change not yet on disk.
    pub fn flush(&self) -> Result<(), StoreError> {
        self.at.flush(&self.stores)
    }

    /// Wakes the flusher thread (started on first use), which writes within [`FLUSH_DELAY`].
    fn schedule_flush(&self) {
        let mut flusher = self.flusher.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(wake) = flusher.as_ref()
            && wake.send(()).is_ok()
        {
            return;
        }
        let (wake, woken) = std::sync::mpsc::channel::<()>();
        let _ = wake.send(());
        let at = self.at.clone();
        let stores = self.stores.clone();
        let spawned = std::thread::Builder::new()
            .name("sessions-flush".into())
            .spawn(move || {
                // Each wake-up batches every change made within the delay into one write per agent.
                while woken.recv().is_ok() {
                    std::thread::sleep(FLUSH_DELAY);
                    while woken.try_recv().is_ok() {}
                    if let Err(e) = at.flush(&stores) {
                        tracing::error!("writing sessions.json failed (tried again on the next change): {e}");
                    }
                }
            });
        match spawned {
            Ok(_) => *flusher = Some(wake),
            Err(_) => {
                // No thread: write now rather than not at all.
                drop(flusher);
                if let Err(e) = self.flush() {
                    tracing::error!("writing sessions.json failed: {e}");
                }
            }
        }
    }

    /// `/new` and `/reset`: a new `sessionId`, written at once; the old transcript is archived
    /// as `<file>.reset.<ts>` (kept, never deleted).
    pub fn reset(&self, key: &SessionKey) -> Result<SessionEntry, StoreError> {
        let mut entry = self.fresh_entry(key)?;
        let agent = key.agent_id();
        let slot = self.agent_store(agent);
        let mut store = slot.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        self.at.refresh(agent, &mut store)?;
        let name = key.to_string();
        let old_file = store.entries.get(&name).and_then(|old| {
            entry.extra = old.extra.clone();
            old.session_file.clone()
        });
        store.entries.insert(name, entry.clone());
        store.changes += 1;
        store.dirty = true;
        let change_made = store.changes;
        drop(store);
        self.at.persist(agent, &slot, change_made)?;
        if let Some(old) = old_file.filter(|old| Some(old) != entry.session_file.as_ref()) {
            let old = PathBuf::from(old);
            if old.exists() {
                let archived = PathBuf::from(format!("{}.reset.{}", old.display(), now_ms()));
                let _ = std::fs::rename(&old, &archived);
            }
        }
        Ok(entry)
    }

    fn fresh_entry(&self, key: &SessionKey) -> Result<SessionEntry, StoreError> {
        let session_id = new_uuid()?;
        let file = self.sessions_dir(key.agent_id()).join(format!("{session_id}.jsonl"));
        Ok(SessionEntry {
            session_id,
            updated_at: now_ms(),
            session_file: Some(file.to_string_lossy().into_owned()),
            chat_type: Some(
                if key.rest().contains(":group:") {
                    "group"
                } else {
                    "direct"
                }
                .into(),
            ),
            channel: None,
            model: None,
            model_provider: None,
            input_tokens: 0,
            output_tokens: 0,
            total_tokens: 0,
            extra: Map::new(),
        })
    }

    /// The transcript of `entry` (created with its header on first use).
    pub fn transcript(&self, key: &SessionKey, entry: &SessionEntry, cwd: &Path) -> Result<Transcript, StoreError> {
        let dir = self.sessions_dir(key.agent_id());
        let path = match &entry.session_file {
            // A path from the store is used only when it stays in the sessions directory: the
            // store is data, and data must not steer writes elsewhere.
            Some(file) if Path::new(file).parent() == Some(dir.as_path()) => PathBuf::from(file),
            _ => dir.join(format!("{}.jsonl", entry.session_id)),
        };
        ensure_private_dir(&dir)?;
        Transcript::open(&path, &entry.session_id, cwd, self.redactor.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use openclaw_core::security::redact::RedactMode;

    fn store(dir: &Path) -> SessionStore {
        SessionStore::new(dir, None, Arc::new(Redactor::new(RedactMode::Tools, &[]).unwrap()))
    }

    fn on_disk(dir: &Path) -> Value {
        serde_json::from_str(&std::fs::read_to_string(dir.join("agents/main/sessions/sessions.json")).unwrap()).unwrap()
    }

    #[test]
    fn a_new_session_is_on_disk_at_once_and_counters_follow_within_the_delay() {
        let dir = tempfile::tempdir().unwrap();
        let sessions = store(dir.path());
        let key = SessionKey::main("main");
        let entry = sessions.ensure(&key).unwrap();
        assert_eq!(
            on_disk(dir.path())["agent:main:main"]["sessionId"],
            entry.session_id.as_str()
        );
        sessions.update(&key, |e| e.input_tokens = 42).unwrap();
        // In memory at once; on disk within the delay.
        assert_eq!(sessions.get(&key).unwrap().unwrap().input_tokens, 42);
        std::thread::sleep(FLUSH_DELAY * 3);
        assert_eq!(on_disk(dir.path())["agent:main:main"]["inputTokens"], 42);
        // And on drop, whatever the flusher has not written yet.
        sessions.update(&key, |e| e.output_tokens = 7).unwrap();
        drop(sessions);
        assert_eq!(on_disk(dir.path())["agent:main:main"]["outputTokens"], 7);
    }

    #[test]
    fn someone_elses_edit_is_read_and_unknown_rows_survive() {
        let dir = tempfile::tempdir().unwrap();
        let sessions = store(dir.path());
        let key = SessionKey::main("main");
        sessions.ensure(&key).unwrap();
        let path = sessions.store_path("main");
        let mut doc = on_disk(dir.path());
        doc["agent:main:main"]["label"] = json_str("kept");
        doc["not-a-session"] = serde_json::json!(17);
        doc["agent:main:other"] = serde_json::json!({"sessionId": "abc", "updatedAt": 1});
        std::thread::sleep(std::time::Duration::from_millis(20));
        std::fs::write(&path, serde_json::to_vec_pretty(&doc).unwrap()).unwrap();
        let list = sessions.list("main").unwrap();
        assert!(list.contains_key("agent:main:other"), "{list:?}");
        sessions.reset(&key).unwrap();
        let after = on_disk(dir.path());
        assert_eq!(after["not-a-session"], 17);
        assert_eq!(after["agent:main:main"]["label"], "kept");
        assert_eq!(after["agent:main:other"]["sessionId"], "abc");
    }

    #[test]
    fn sessions_created_at_once_from_many_threads_are_all_on_disk_when_each_returns() {
        let dir = tempfile::tempdir().unwrap();
        let sessions = Arc::new(store(dir.path()));
        let threads: Vec<_> = (0..16)
            .map(|t| {
                let sessions = sessions.clone();
                let dir = dir.path().to_path_buf();
                std::thread::spawn(move || {
                    for i in 0..8 {
                        let key = SessionKey::parse(&format!("agent:main:telegram:direct:{t}-{i}"), "main").unwrap();
                        let entry = sessions.ensure(&key).unwrap();
                        // Written by this call or by one it waited for, never left for later.
                        let doc = on_disk(&dir);
                        assert_eq!(doc[key.to_string()]["sessionId"], entry.session_id.as_str());
                    }
                })
            })
            .collect();
        for thread in threads {
            thread.join().unwrap();
        }
        let doc = on_disk(dir.path());
        assert_eq!(doc.as_object().unwrap().len(), 128, "every session on disk");
    }

    fn json_str(s: &str) -> Value {
        Value::String(s.into())
    }
}

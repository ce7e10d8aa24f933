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

/// The sessions of every agent under one state directory.
pub struct SessionStore {
    state_dir: PathBuf,
    /// `session.store` with `{agentId}` templating, when configured.
    store_template: Option<String>,
    redactor: Arc<Redactor>,
    /// One lock per agent store: read-modify-write of `sessions.json` never interleaves.
    locks: Mutex<HashMap<String, Arc<Mutex<()>>>>,
}

impl SessionStore {
    pub fn new(state_dir: &Path, store_template: Option<String>, redactor: Arc<Redactor>) -> Self {
        Self {
            state_dir: state_dir.to_path_buf(),
            store_template,
            redactor,
            locks: Mutex::new(HashMap::new()),
        }
    }

    pub fn redactor(&self) -> &Arc<Redactor> {
        &self.redactor
    }

    /// `agents/<agentId>/sessions`.
    pub fn sessions_dir(&self, agent_id: &str) -> PathBuf {
        match &self.store_template {
            Some(template) => {
                let path = PathBuf::from(template.replace("{agentId}", agent_id));
                path.parent()
                    .map(Path::to_path_buf)
                    .unwrap_or_else(|| self.default_dir(agent_id))
            }
            None => self.default_dir(agent_id),
        }
    }

    fn default_dir(&self, agent_id: &str) -> PathBuf {
        self.state_dir.join("agents").join(agent_id).join("sessions")
    }

    pub fn store_path(&self, agent_id: &str) -> PathBuf {
        match &self.store_template {
            Some(template) => PathBuf::from(template.replace("{agentId}", agent_id)),
            None => self.default_dir(agent_id).join("sessions.json"),
        }
    }

    fn lock(&self, agent_id: &str) -> Arc<Mutex<()>> {
        let mut locks = self.locks.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        locks.entry(agent_id.to_string()).or_default().clone()
    }

    /// Every session of `agent_id`, by key. A missing store is empty.
    pub fn list(&self, agent_id: &str) -> Result<BTreeMap<String, SessionEntry>, StoreError> {
        let lock = self.lock(agent_id);
        let _held = lock.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        self.read(agent_id)
    }

    fn read(&self, agent_id: &str) -> Result<BTreeMap<String, SessionEntry>, StoreError> {
        let path = self.store_path(agent_id);
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(BTreeMap::new()),
            Err(source) => return Err(StoreError::Read { path, source }),
        };
        if text.trim().is_empty() {
            return Ok(BTreeMap::new());
        }
        let raw: Map<String, Value> = serde_json::from_str(&text).map_err(|e| StoreError::Corrupt {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        let mut out = BTreeMap::new();
        for (key, value) in raw {
            // A row we cannot read is skipped, not fatal: one bad entry must not lose the rest.
            if let Ok(entry) = serde_json::from_value::<SessionEntry>(value) {
                out.insert(key, entry);
            }
        }
        Ok(out)
    }

    fn write(&self, agent_id: &str, entries: &BTreeMap<String, SessionEntry>) -> Result<(), StoreError> {
        let path = self.store_path(agent_id);
        if let Some(dir) = path.parent() {
            ensure_private_dir(dir)?;
        }
        // Keep rows this gateway could not parse exactly as they were.
        let mut raw: Map<String, Value> = match std::fs::read_to_string(&path) {
            Ok(text) => serde_json::from_str(&text).unwrap_or_default(),
            Err(_) => Map::new(),
        };
        for (key, entry) in entries {
            raw.insert(key.clone(), serde_json::to_value(entry).unwrap_or(Value::Null));
        }
        raw.retain(|key, value| {
            entries.contains_key(key) || serde_json::from_value::<SessionEntry>(value.clone()).is_err()
        });
        let text = serde_json::to_vec_pretty(&Value::Object(raw)).unwrap_or_default();
        write_atomic(&path, &text, 0o600)?;
        Ok(())
    }

    /// Reads, changes and writes one entry under the agent's lock. Creates the session (a new
    /// `sessionId` and transcript) when it does not exist yet.
    pub fn update<T>(
        &self,
        key: &SessionKey,
        change: impl FnOnce(&mut SessionEntry) -> T,
    ) -> Result<(SessionEntry, T), StoreError> {
        let agent = key.agent_id();
        let lock = self.lock(agent);
        let _held = lock.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut entries = self.read(agent)?;
        let name = key.to_string();
        let mut entry = match entries.remove(&name) {
            Some(entry) => entry,
            None => self.fresh_entry(key)?,
        };
        let out = change(&mut entry);
        entry.updated_at = now_ms();
        entries.insert(name, entry.clone());
        self.write(agent, &entries)?;
        Ok((entry, out))
    }

    /// The entry for `key`, creating the session when it does not exist.
    pub fn ensure(&self, key: &SessionKey) -> Result<SessionEntry, StoreError> {
        Ok(self.update(key, |_| ())?.0)
    }

    /// The entry for `key` if the session exists.
    pub fn get(&self, key: &SessionKey) -> Result<Option<SessionEntry>, StoreError> {
        Ok(self.list(key.agent_id())?.remove(&key.to_string()))
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

    /// `/new` and `/reset`: a new `sessionId`; the old transcript is archived as
    /// `<file>.reset.<ts>` (kept, never deleted).
    pub fn reset(&self, key: &SessionKey) -> Result<SessionEntry, StoreError> {
        let fresh = self.fresh_entry(key)?;
        let (entry, old_file) = self.update(key, |entry| {
            let old = entry.session_file.clone();
            let extra = std::mem::take(&mut entry.extra);
            *entry = fresh;
            entry.extra = extra;
            old
        })?;
        if let Some(old) = old_file.filter(|old| Some(old) != entry.session_file.as_ref()) {
            let old = PathBuf::from(old);
            if old.exists() {
                let archived = PathBuf::from(format!("{}.reset.{}", old.display(), now_ms()));
                let _ = std::fs::rename(&old, &archived);
            }
        }
        Ok(entry)
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

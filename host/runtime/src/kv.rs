//! Per-plugin key-value storage with a byte quota, persisted under the state directory.
//!
//! One file per key (named by the SHA-256 of the key, so any UTF-8 key is a safe file name),
//! written atomically: a crash loses at most the write in flight. The index lives in memory.
//! Writes of one plugin are serialised so the file on disk always matches the last acknowledged
//! write.
//!
//! The quota counts what a key really costs: its bytes, its value's bytes, and
//! [`KEY_OVERHEAD_BYTES`] for the file, the index entry and the directory entry; and the number of
//! keys is capped ([`MAX_KEYS`], or fewer for a small quota). A write touches only its own file:
//! stale temp files of interrupted writes are swept once, when the store opens, not on every
//! write, so a write costs the same with ten keys or ten thousand.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use tokio::sync::Mutex;

use openclaw_state::ids::sha256_hex;
use openclaw_state::{FILE_MODE, ensure_private_dir, sweep_stale_temps_in, write_atomic_unswept};

/// Longest key, in bytes.
pub const MAX_KEY_BYTES: usize = 256;
/// What a key costs beyond its key and value bytes: a file (inode and directory entry) and the
/// in-memory index entry.
pub const KEY_OVERHEAD_BYTES: u64 = 256;
/// Most keys one plugin may hold, whatever its quota.
pub const MAX_KEYS: usize = 10_000;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KvError {
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    Quota(String),
    #[error("{0}")]
    Io(String),
}

#[derive(Debug, Default)]
struct Index {
    entries: BTreeMap<String, Vec<u8>>,
    used: u64,
}

/// The store of one plugin.
#[derive(Debug)]
pub struct KvStore {
    dir: PathBuf,
    quota: u64,
    index: Mutex<Index>,
}

fn file_name(key: &str) -> String {
    sha256_hex(key.as_bytes())
}

fn encode(key: &str, value: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(4 + key.len() + value.len());
    out.extend_from_slice(&(key.len() as u32).to_be_bytes());
    out.extend_from_slice(key.as_bytes());
    out.extend_from_slice(value);
    out
}

fn decode(bytes: &[u8]) -> Option<(String, Vec<u8>)> {
    let len = u32::from_be_bytes(bytes.get(..4)?.try_into().ok()?) as usize;
    let key = std::str::from_utf8(bytes.get(4..4 + len)?).ok()?.to_string();
    Some((key, bytes[4 + len..].to_vec()))
}

fn check_key(key: &str) -> Result<(), KvError> {
    if key.is_empty() || key.len() > MAX_KEY_BYTES {
        return Err(KvError::Invalid(format!(
            "keys are 1 to {MAX_KEY_BYTES} bytes; this one has {}",
            key.len()
        )));
    }
    if key.chars().any(char::is_control) {
        return Err(KvError::Invalid("keys must not contain control characters".into()));
    }
    Ok(())
}

fn cost(key: &str, value: &[u8]) -> u64 {
    (key.len() + value.len()) as u64 + KEY_OVERHEAD_BYTES
}

impl KvStore {
    /// Opens (creating, 0700) the store in `dir` and loads its index. Files that do not decode,
    /// or whose name does not match their key, are skipped with a warning.
    pub fn open(dir: &Path, quota: u64) -> Result<Self, KvError> {
        ensure_private_dir(dir).map_err(|e| KvError::Io(e.to_string()))?;
        sweep_stale_temps_in(dir);
        let mut index = Index::default();
        let entries = fs::read_dir(dir).map_err(|e| KvError::Io(format!("reading {}: {e}", dir.display())))?;
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') {
                continue;
            }
            let path = entry.path();
            let decoded = fs::read(&path).ok().and_then(|bytes| decode(&bytes));
            match decoded {
                Some((key, value)) if file_name(&key) == name => {
                    index.used += cost(&key, &value);
                    index.entries.insert(key, value);
                }
                _ => tracing::warn!(
                    target: "openclaw::plugins",
                    "skipping unreadable key-value file {}", path.display()
                ),
            }
        }
        Ok(Self {
            dir: dir.to_path_buf(),
            quota,
            index: Mutex::new(index),
        })
    }

    pub fn quota(&self) -> u64 {
        self.quota
    }

    /// Most keys this store may hold: [`MAX_KEYS`], or as many empty keys as the quota pays for.
    pub fn max_keys(&self) -> usize {
        MAX_KEYS.min((self.quota / KEY_OVERHEAD_BYTES) as usize)
    }

    pub async fn used(&self) -> u64 {
        self.index.lock().await.used
    }

    pub async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, KvError> {
        check_key(key)?;
        Ok(self.index.lock().await.entries.get(key).cloned())
    }

    pub async fn set(&self, key: &str, value: Vec<u8>) -> Result<(), KvError> {
        check_key(key)?;
        let mut index = self.index.lock().await;
        let existing = index.entries.get(key).map(|v| cost(key, v));
        if existing.is_none() && index.entries.len() >= self.max_keys() {
            return Err(KvError::Quota(format!(
                "the store holds {} keys, the most it may (each key costs {KEY_OVERHEAD_BYTES} bytes of the quota \
                 besides its data, and at most {MAX_KEYS} are kept); delete keys or raise plugins.entries.<id>.kv.quotaBytes",
                index.entries.len()
            )));
        }
        let new_used = index.used - existing.unwrap_or(0) + cost(key, &value);
        if new_used > self.quota {
            return Err(KvError::Quota(format!(
                "storing {} bytes under \"{key}\" would use {new_used} of the {}-byte quota (each key also \
                 costs {KEY_OVERHEAD_BYTES} bytes); raise plugins.entries.<id>.kv.quotaBytes or delete keys",
                value.len(),
                self.quota
            )));
        }
        let path = self.dir.join(file_name(key));
        let bytes = encode(key, &value);
        tokio::task::spawn_blocking(move || write_atomic_unswept(&path, &bytes, FILE_MODE))
            .await
            .map_err(|e| KvError::Io(e.to_string()))?
            .map_err(|e| KvError::Io(e.to_string()))?;
        index.used = new_used;
        index.entries.insert(key.to_string(), value);
        Ok(())
    }

    pub async fn delete(&self, key: &str) -> Result<bool, KvError> {
        check_key(key)?;
        let mut index = self.index.lock().await;
        let Some(old) = index.entries.get(key).map(|v| cost(key, v)) else {
            return Ok(false);
        };
        let path = self.dir.join(file_name(key));
        tokio::task::spawn_blocking(move || match fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e),
        })
        .await
        .map_err(|e| KvError::Io(e.to_string()))?
        .map_err(|e| KvError::Io(e.to_string()))?;
        index.used -= old;
        index.entries.remove(key);
        Ok(true)
    }

    pub async fn list_keys(&self, prefix: &str) -> Vec<String> {
        let index = self.index.lock().await;
        index
            .entries
            .range(prefix.to_string()..)
            .take_while(|(k, _)| k.starts_with(prefix))
            .map(|(k, _)| k.clone())
            .collect()
    }
}

/// The key a store file holds, read from its first bytes (the value is not read).
fn key_of_file(path: &Path) -> Option<String> {
    use std::io::Read;
    let meta = fs::symlink_metadata(path).ok()?;
    if !meta.is_file() {
        return None;
    }
    let mut head = Vec::with_capacity(4 + MAX_KEY_BYTES);
    fs::File::open(path)
        .ok()?
        .take((4 + MAX_KEY_BYTES) as u64)
        .read_to_end(&mut head)
        .ok()?;
    let len = u32::from_be_bytes(head.get(..4)?.try_into().ok()?) as usize;
    let key = std::str::from_utf8(head.get(4..4 + len)?).ok()?.to_string();
    (path.file_name()?.to_str()? == file_name(&key)).then_some(key)
}

/// Removes the keys `select` picks from the store in `dir` while no store has it open (the
/// gateway is stopped): what `openclaw channels logout` uses to forget an account's state.
/// Returns the keys removed, sorted. A missing directory holds no keys; files that are not keys
/// of this store are left alone.
pub fn remove_at_rest(dir: &Path, select: impl Fn(&str) -> bool) -> Result<Vec<String>, KvError> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(KvError::Io(format!("reading {}: {e}", dir.display()))),
    };
    let mut removed = Vec::new();
    for entry in entries.flatten() {
        if entry.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        let path = entry.path();
        let Some(key) = key_of_file(&path) else { continue };
        if !select(&key) {
            continue;
        }
        match fs::remove_file(&path) {
            Ok(()) => removed.push(key),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(KvError::Io(format!("removing {}: {e}", path.display()))),
        }
    }
    removed.sort();
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn keys_are_removed_at_rest_and_the_rest_stays() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("kv");
        assert_eq!(remove_at_rest(&dir, |_| true).unwrap(), Vec::<String>::new());
        let store = KvStore::open(&dir, 1 << 20).unwrap();
        store.set("offset:work", b"{}".to_vec()).await.unwrap();
        store.set("offset:home", b"{}".to_vec()).await.unwrap();
        store.set("shared", vec![7; 4096]).await.unwrap();
        drop(store);
        fs::write(dir.join("not-a-key"), b"\0\0\0\x05offset:work").unwrap();
        let removed = remove_at_rest(&dir, |k| k.ends_with(":work")).unwrap();
        assert_eq!(removed, ["offset:work"]);
        let reopened = KvStore::open(&dir, 1 << 20).unwrap();
        assert_eq!(reopened.list_keys("").await, ["offset:home", "shared"]);
        assert!(
            dir.join("not-a-key").exists(),
            "a file that is not a key of the store stays"
        );
    }

    #[tokio::test]
    async fn persists_and_enforces_quota() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("kv");
        let quota = 2 * KEY_OVERHEAD_BYTES + 20;
        let store = KvStore::open(&dir, quota).unwrap();
        store.set("a", b"12345".to_vec()).await.unwrap();
        store.set("ab", b"xyz".to_vec()).await.unwrap();
        assert_eq!(store.used().await, 11 + 2 * KEY_OVERHEAD_BYTES);
        let over = store.set("ab", vec![0; 20]).await.unwrap_err();
        assert!(matches!(over, KvError::Quota(_)), "{over}");
        // Replacing a value only counts the difference.
        store.set("a", b"123456789".to_vec()).await.unwrap();
        assert_eq!(store.list_keys("a").await, ["a", "ab"]);
        assert!(store.delete("ab").await.unwrap());
        assert!(!store.delete("ab").await.unwrap());

        let reopened = KvStore::open(&dir, quota).unwrap();
        assert_eq!(reopened.get("a").await.unwrap().as_deref(), Some(&b"123456789"[..]));
        assert_eq!(reopened.get("ab").await.unwrap(), None);
        assert_eq!(reopened.used().await, 10 + KEY_OVERHEAD_BYTES);
        assert!(matches!(reopened.get("").await, Err(KvError::Invalid(_))));
        assert!(matches!(reopened.get("a\nb").await, Err(KvError::Invalid(_))));
    }

    #[tokio::test]
    async fn every_key_costs_its_overhead_and_the_count_is_capped() {
        let tmp = tempfile::tempdir().unwrap();
        // Empty values: without a per-key charge, a plugin could create keys (files) for free.
        let store = KvStore::open(&tmp.path().join("kv"), 10 * KEY_OVERHEAD_BYTES + 64).unwrap();
        let mut stored = 0;
        let refusal = loop {
            match store.set(&format!("k{stored}"), Vec::new()).await {
                Ok(()) => stored += 1,
                Err(e) => break e,
            }
            assert!(stored <= 100, "empty keys were never refused");
        };
        assert_eq!(stored, 10, "{refusal}");
        assert!(refusal.to_string().contains("10 keys"), "{refusal}");
        // The cap holds for a large quota too.
        let big = KvStore::open(&tmp.path().join("big"), u64::MAX).unwrap();
        assert_eq!(big.max_keys(), MAX_KEYS);
    }

    #[tokio::test]
    async fn stale_temp_files_are_swept_when_the_store_opens() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("kv");
        KvStore::open(&dir, 1 << 20).unwrap();
        // A temp file of a process that no longer runs (pid 0 never names one).
        let stale = dir.join(format!(".{}.tmp.0.7", file_name("k")));
        fs::write(&stale, b"half").unwrap();
        KvStore::open(&dir, 1 << 20).unwrap();
        assert!(!stale.exists());
    }
}

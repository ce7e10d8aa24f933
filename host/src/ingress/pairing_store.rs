//! The pairing store on disk, in OpenClaw's files so an existing `~/.openclaw` keeps working:
//! `credentials/<channel>-pairing.json` (pending requests, all accounts) and
//! `credentials/<channel>[-<account>]-allowFrom.json` (approved senders). The rules (codes, TTL,
//! cap, no resend) are `openclaw_core::access::pairing`; this module reads, locks and writes.
//!
//! Every change holds an exclusive lock on `<file>.lock` while it reads, changes and atomically
//! replaces the file (0600 in a 0700 directory), so the gateway and `openclaw pairing approve`
//! never lose each other's writes.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use openclaw_core::access::pairing::{
    self, AllowFromFile, Approved, PairingFile, PairingRequest, Upsert, allow_from_file_name,
    legacy_allow_from_file_name, pairing_file_name,
};

use crate::state::{StateLock, write_private};

/// Why the store could not be used; names the file and the fix.
#[derive(Debug, thiserror::Error)]
pub enum PairingStoreError {
    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{0}; move the file aside (it is recreated) or fix it")]
    Malformed(String),
    #[error("cannot write {path}: {reason}")]
    Write { path: PathBuf, reason: String },
    #[error("the operating system gave no randomness for a pairing code: {0}")]
    Random(String),
}

/// The store under one credentials directory.
#[derive(Debug, Clone)]
pub struct PairingStore {
    dir: PathBuf,
}

/// A uniform index below `n`; a failing random source is remembered and fails the upsert.
fn random_below(n: u32, failed: &mut Option<String>) -> u32 {
    crate::state::ids::random_below(n).unwrap_or_else(|e| {
        *failed = Some(e.to_string());
        0
    })
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or_default()
}

impl PairingStore {
    pub fn new(credentials_dir: &Path) -> Self {
        Self {
            dir: credentials_dir.to_path_buf(),
        }
    }

    pub fn pairing_path(&self, channel: &str) -> PathBuf {
        self.dir.join(pairing_file_name(channel))
    }

    pub fn allow_from_path(&self, channel: &str, account_id: &str) -> PathBuf {
        self.dir.join(allow_from_file_name(channel, account_id))
    }

    fn lock(&self, file: &Path) -> Result<StateLock, PairingStoreError> {
        crate::state::ensure_private_dir(&self.dir).map_err(|e| PairingStoreError::Write {
            path: self.dir.clone(),
            reason: e.to_string(),
        })?;
        let mut name = file.file_name().unwrap_or_default().to_os_string();
        name.push(".lock");
        StateLock::acquire_blocking(&self.dir.join(name)).map_err(|e| PairingStoreError::Write {
            path: file.to_path_buf(),
            reason: e.to_string(),
        })
    }

    fn read_text(path: &Path) -> Result<String, PairingStoreError> {
        match std::fs::read_to_string(path) {
            Ok(text) => Ok(text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(String::new()),
            Err(source) => Err(PairingStoreError::Read {
                path: path.to_path_buf(),
                source,
            }),
        }
    }

    fn read_pairing(path: &Path) -> Result<PairingFile, PairingStoreError> {
        let text = Self::read_text(path)?;
        if text.trim().is_empty() {
            return Ok(PairingFile::default());
        }
        PairingFile::parse(&text, &path.display().to_string()).map_err(|e| PairingStoreError::Malformed(e.to_string()))
    }

    fn read_allow(path: &Path) -> Result<AllowFromFile, PairingStoreError> {
        let text = Self::read_text(path)?;
        AllowFromFile::parse(&text, &path.display().to_string())
            .map_err(|e| PairingStoreError::Malformed(e.to_string()))
    }

    fn write(path: &Path, text: &str) -> Result<(), PairingStoreError> {
        write_private(path, text.as_bytes()).map_err(|e| PairingStoreError::Write {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })
    }

    /// Records (or refreshes) a request for `sender_id`. Reply with the code only when
    /// `created` is true.
    pub fn upsert(
        &self,
        channel: &str,
        account_id: &str,
        sender_id: &str,
        meta: &BTreeMap<String, String>,
    ) -> Result<Upsert, PairingStoreError> {
        let path = self.pairing_path(channel);
        let _lock = self.lock(&path)?;
        let mut file = Self::read_pairing(&path)?;
        let before = file.clone();
        let mut failed = None;
        let outcome = file
            .upsert(sender_id, account_id, meta, now_ms(), &mut |n| {
                random_below(n, &mut failed)
            })
            .map_err(|e| PairingStoreError::Malformed(e.to_string()))?;
        if let Some(e) = failed {
            return Err(PairingStoreError::Random(e));
        }
        if file != before {
            Self::write(&path, &file.to_json())?;
        }
        Ok(outcome)
    }

    /// Live requests, oldest first (expired ones are pruned from the file).
    pub fn list(&self, channel: &str, account_id: Option<&str>) -> Result<Vec<PairingRequest>, PairingStoreError> {
        let path = self.pairing_path(channel);
        let _lock = self.lock(&path)?;
        let mut file = Self::read_pairing(&path)?;
        let now = now_ms();
        let pruned = file.prune(now);
        let mut out: Vec<PairingRequest> = file.list(now, account_id).into_iter().cloned().collect();
        out.sort_by(|a, b| {
            pairing::parse_iso(&a.created_at)
                .unwrap_or(0)
                .cmp(&pairing::parse_iso(&b.created_at).unwrap_or(0))
        });
        if pruned {
            Self::write(&path, &file.to_json())?;
        }
        Ok(out)
    }

    /// Approves the live request with `code`: removes it and adds its sender to the allowFrom
    /// file of its account. `None` when no live request has that code.
    pub fn approve(
        &self,
        channel: &str,
        code: &str,
        account_id: Option<&str>,
    ) -> Result<Option<Approved>, PairingStoreError> {
        let path = self.pairing_path(channel);
        let _lock = self.lock(&path)?;
        let mut file = Self::read_pairing(&path)?;
        let Some(approved) = file.approve(code, account_id, now_ms()) else {
            return Ok(None);
        };
        let allow_path = self.allow_from_path(channel, &approved.account_id);
        {
            let _allow_lock = self.lock(&allow_path)?;
            let mut allow = Self::read_allow(&allow_path)?;
            if allow.add(channel, &approved.id) {
                Self::write(&allow_path, &allow.to_json())?;
            }
        }
        // The request goes only once the sender is in the allowlist: a crash between the two
        // leaves a request the operator can approve again, never a lost approval.
        Self::write(&path, &file.to_json())?;
        Ok(Some(approved))
    }

    /// The approved senders of one account (the default account also reads the legacy
    /// unscoped file). An unreadable file counts as empty and is reported in the log.
    pub fn allow_from(&self, channel: &str, account_id: &str) -> Vec<String> {
        let mut files = vec![self.allow_from_path(channel, account_id)];
        let legacy = self.dir.join(legacy_allow_from_file_name(channel));
        if !files.contains(&legacy) && account_id.eq_ignore_ascii_case(crate::channels::accounts::DEFAULT_ACCOUNT) {
            files.push(legacy);
        }
        let read: Vec<AllowFromFile> = files
            .iter()
            .filter_map(|p| match Self::read_allow(p) {
                Ok(f) => Some(f),
                Err(e) => {
                    tracing::warn!("pairing store: {e}");
                    None
                }
            })
            .collect();
        pairing::merge_allow_from(channel, read.iter())
    }

    /// What changes when a file of this account's allowlist changes: (length, mtime) of each.
    pub fn allow_from_stamp(&self, channel: &str, account_id: &str) -> Vec<Option<(u64, SystemTime)>> {
        [
            self.allow_from_path(channel, account_id),
            self.dir.join(legacy_allow_from_file_name(channel)),
        ]
        .iter()
        .map(|p| {
            std::fs::metadata(p)
                .ok()
                .and_then(|m| Some((m.len(), m.modified().ok()?)))
        })
        .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn a_request_is_approved_into_openclaws_files() {
        let tmp = tempfile::tempdir().unwrap();
        let store = PairingStore::new(&tmp.path().join("credentials"));
        let meta = BTreeMap::new();
        let first = store.upsert("telegram", "default", "4242", &meta).unwrap();
        assert!(first.created);
        let code = first.code.clone().unwrap();
        let again = store.upsert("telegram", "default", "4242", &meta).unwrap();
        assert!(!again.created, "no resend");
        assert_eq!(again.code.as_deref(), Some(code.as_str()));
        let listed = store.list("telegram", None).unwrap();
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].id, "4242");
        let pairing_file = tmp.path().join("credentials/telegram-pairing.json");
        let doc: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&pairing_file).unwrap()).unwrap();
        assert_eq!(doc["version"], 1);
        assert_eq!(doc["requests"][0]["meta"]["accountId"], "default");
        assert_eq!(
            std::fs::metadata(&pairing_file).unwrap().permissions().mode() & 0o777,
            0o600
        );

        assert!(store.approve("telegram", "WRONGCODE", None).unwrap().is_none());
        let approved = store.approve("telegram", &code.to_lowercase(), None).unwrap().unwrap();
        assert_eq!(approved.id, "4242");
        assert_eq!(store.allow_from("telegram", "default"), ["4242"]);
        let allow: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(tmp.path().join("credentials/telegram-allowFrom.json")).unwrap(),
        )
        .unwrap();
        assert_eq!(allow, serde_json::json!({"version": 1, "allowFrom": ["4242"]}));
        assert!(store.list("telegram", None).unwrap().is_empty());
        assert!(
            store.approve("telegram", &code, None).unwrap().is_none(),
            "a code works once"
        );
    }

    #[test]
    fn at_most_three_pending_and_the_fourth_sender_hears_nothing() {
        let tmp = tempfile::tempdir().unwrap();
        let store = PairingStore::new(tmp.path());
        let meta = BTreeMap::new();
        for sender in ["1", "2", "3"] {
            assert!(store.upsert("telegram", "default", sender, &meta).unwrap().created);
        }
        let fourth = store.upsert("telegram", "default", "4", &meta).unwrap();
        assert!(!fourth.created && fourth.code.is_none());
    }

    #[test]
    fn a_damaged_file_is_an_error_naming_it() {
        let tmp = tempfile::tempdir().unwrap();
        let store = PairingStore::new(tmp.path());
        std::fs::write(tmp.path().join("telegram-pairing.json"), "{not json").unwrap();
        let err = store.list("telegram", None).unwrap_err().to_string();
        assert!(err.contains("telegram-pairing.json"), "{err}");
    }
}

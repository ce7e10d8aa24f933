//! The persisted list of sandbox containers, like OpenClaw's `~/.openclaw/sandbox/containers.json`:
//! Docker labels cannot change after creation, so the last use of a container survives a
//! restart only here. Prune measures idleness from it.
//!
//! The file is `{"entries": [...]}`; fields this version does not know are ignored, so a file
//! written by a newer gateway still loads.

use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};

use crate::error::SandboxError;
use crate::manager::SandboxInfo;

/// OpenClaw's place for it, under the state directory (`~/.openclaw`).
pub const DEFAULT_FILE: &str = "sandbox/containers.json";

static SAVE_SERIAL: AtomicU64 = AtomicU64::new(0);

const REBUILD_FIX: &str = "delete the file (it only records last-use times and is rebuilt from the running containers)";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RegistryEntry {
    pub container_name: String,
    /// The scope key; OpenClaw still calls it the session key.
    pub session_key: String,
    pub created_at_ms: u64,
    pub last_used_at_ms: u64,
    #[serde(default)]
    pub image: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_hash: Option<String>,
}

impl From<&SandboxInfo> for RegistryEntry {
    fn from(info: &SandboxInfo) -> Self {
        Self {
            container_name: info.name.clone(),
            session_key: info.scope_key.clone().unwrap_or_default(),
            created_at_ms: info.created_ms,
            last_used_at_ms: info.last_used_ms,
            image: info.image.clone().unwrap_or_default(),
            config_hash: info.config_hash.clone(),
        }
    }
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct RegistryFile {
    #[serde(default)]
    entries: Vec<RegistryEntry>,
}

/// The registry file and its entries in memory; nothing is written until [`Registry::save`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registry {
    path: PathBuf,
    entries: Vec<RegistryEntry>,
}

impl Registry {
    /// An empty registry that [`Registry::save`] writes to `path`.
    pub fn empty(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            entries: Vec::new(),
        }
    }

    /// A missing file is an empty registry; one that cannot be read or parsed is an error
    /// naming the file and the fix.
    pub fn load(path: impl Into<PathBuf>) -> Result<Self, SandboxError> {
        let path = path.into();
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(Self {
                    path,
                    entries: Vec::new(),
                });
            }
            Err(e) => {
                return Err(registry_error(
                    &path,
                    format!("cannot read it: {e}"),
                    "check its permissions, or delete it (it is rebuilt from the running containers)",
                ));
            }
        };
        let file: RegistryFile = serde_json::from_str(&text)
            .map_err(|e| registry_error(&path, format!("it is not a valid registry: {e}"), REBUILD_FIX))?;
        Ok(Self {
            path,
            entries: file.entries,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn entries(&self) -> &[RegistryEntry] {
        &self.entries
    }

    pub fn get(&self, container_name: &str) -> Option<&RegistryEntry> {
        self.entries.iter().find(|e| e.container_name == container_name)
    }

    /// Records a use of a container: a new entry, or the existing one updated (a recreated
    /// container has a new hash and creation time). The last use never goes backwards.
    pub fn upsert_use(
        &mut self,
        container_name: &str,
        scope_key: &str,
        image: &str,
        config_hash: &str,
        created_ms: u64,
        used_ms: u64,
    ) {
        match self.entries.iter_mut().find(|e| e.container_name == container_name) {
            Some(entry) => {
                entry.session_key = scope_key.to_string();
                entry.image = image.to_string();
                entry.config_hash = Some(config_hash.to_string());
                entry.created_at_ms = created_ms;
                entry.last_used_at_ms = entry.last_used_at_ms.max(used_ms);
            }
            None => self.entries.push(RegistryEntry {
                container_name: container_name.to_string(),
                session_key: scope_key.to_string(),
                created_at_ms: created_ms,
                last_used_at_ms: used_ms,
                image: image.to_string(),
                config_hash: Some(config_hash.to_string()),
            }),
        }
    }

    /// `false` when there was no such entry.
    pub fn remove(&mut self, container_name: &str) -> bool {
        let before = self.entries.len();
        self.entries.retain(|e| e.container_name != container_name);
        self.entries.len() != before
    }

    /// Replaces every entry, e.g. with [`crate::SandboxManager::registry_entries`]: containers
    /// that are gone drop out, as OpenClaw drops pruned ones.
    pub fn replace_entries(&mut self, entries: Vec<RegistryEntry>) {
        self.entries = entries;
    }

    /// Writes the file atomically: a private temporary file in the same directory, renamed over
    /// the old one, so a crash leaves either the old registry or the new one. The file is 0600;
    /// a directory this creates is 0700.
    pub fn save(&self) -> Result<(), SandboxError> {
        let dir = match self.path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir,
            _ => Path::new("."),
        };
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(|e| {
                registry_error(
                    &self.path,
                    format!("cannot create {}: {e}", dir.display()),
                    "check the permissions of the state directory",
                )
            })?;
        let mut text = serde_json::to_string_pretty(&RegistryFile {
            entries: self.entries.clone(),
        })
        .map_err(|e| registry_error(&self.path, format!("cannot encode it: {e}"), "report a bug"))?;
        text.push('\n');
        let file_name = self
            .path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "containers.json".to_string());
        // Unique per save, so two saves in flight never write into one temporary file.
        let serial = SAVE_SERIAL.fetch_add(1, Ordering::Relaxed);
        let tmp = dir.join(format!(".{file_name}.{}.{serial}.tmp", std::process::id()));
        let write = || -> std::io::Result<()> {
            let mut file = std::fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .mode(0o600)
                .open(&tmp)?;
            // `mode` applies only when the file is created; a leftover keeps its own.
            file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
            file.write_all(text.as_bytes())?;
            file.sync_all()?;
            std::fs::rename(&tmp, &self.path)
        };
        write().map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            registry_error(
                &self.path,
                format!("cannot write it: {e}"),
                "check that the state directory is writable and not full",
            )
        })
    }
}

fn registry_error(path: &Path, cause: String, fix: &'static str) -> SandboxError {
    SandboxError::Registry {
        path: path.display().to_string(),
        cause,
        fix,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn in_tempdir() -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sandbox").join("containers.json");
        (dir, path)
    }

    #[test]
    fn a_missing_file_is_an_empty_registry() {
        let (_dir, path) = in_tempdir();
        let registry = Registry::load(&path).unwrap();
        assert!(registry.entries().is_empty());
        assert_eq!(registry.path(), path);
    }

    #[test]
    fn entries_round_trip_through_the_file() {
        let (_dir, path) = in_tempdir();
        let mut registry = Registry::load(&path).unwrap();
        registry.upsert_use("oc-a", "agent:main", "img:1", "hash-a", 1_000, 2_000);
        registry.upsert_use("oc-b", "agent:other", "img:1", "hash-b", 1_500, 1_600);
        // A later use moves the time forward; an earlier one does not move it back.
        registry.upsert_use("oc-a", "agent:main", "img:1", "hash-a", 1_000, 5_000);
        registry.upsert_use("oc-a", "agent:main", "img:1", "hash-a", 1_000, 3_000);
        registry.save().unwrap();
        let loaded = Registry::load(&path).unwrap();
        assert_eq!(loaded, registry);
        assert_eq!(loaded.entries().len(), 2);
        assert_eq!(loaded.get("oc-a").unwrap().last_used_at_ms, 5_000);
        assert_eq!(loaded.get("oc-b").unwrap().session_key, "agent:other");

        let text = std::fs::read_to_string(&path).unwrap();
        let json: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            json["entries"][0],
            serde_json::json!({
                "containerName": "oc-a", "sessionKey": "agent:main", "createdAtMs": 1000,
                "lastUsedAtMs": 5000, "image": "img:1", "configHash": "hash-a"
            })
        );

        let mut loaded = loaded;
        assert!(loaded.remove("oc-a"));
        assert!(!loaded.remove("oc-a"));
        loaded.save().unwrap();
        let names: Vec<String> = Registry::load(&path)
            .unwrap()
            .entries()
            .iter()
            .map(|e| e.container_name.clone())
            .collect();
        assert_eq!(names, ["oc-b"]);
    }

    #[test]
    fn a_recreated_container_takes_its_new_hash_and_creation_time() {
        let (_dir, path) = in_tempdir();
        let mut registry = Registry::load(&path).unwrap();
        registry.upsert_use("oc-a", "agent:main", "img:1", "old", 1_000, 2_000);
        registry.upsert_use("oc-a", "agent:main", "img:2", "new", 3_000, 3_000);
        let entry = registry.get("oc-a").unwrap();
        assert_eq!(entry.config_hash.as_deref(), Some("new"));
        assert_eq!(entry.image, "img:2");
        assert_eq!(entry.created_at_ms, 3_000);
        assert_eq!(entry.last_used_at_ms, 3_000);
    }

    #[test]
    fn the_file_is_private_and_nothing_is_left_behind() {
        use std::os::unix::fs::PermissionsExt;
        let (dir, path) = in_tempdir();
        let mut registry = Registry::load(&path).unwrap();
        registry.upsert_use("oc-a", "agent:main", "img:1", "h", 1, 2);
        registry.save().unwrap();
        registry.save().unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(&dir.path().join("sandbox")), 0o700);
        let names: Vec<String> = std::fs::read_dir(dir.path().join("sandbox"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["containers.json"], "temporary files were left behind");

        // A file someone made world-readable becomes private again on the next save.
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        registry.save().unwrap();
        assert_eq!(mode(&path), 0o600);
    }

    #[test]
    fn a_corrupt_file_names_itself_and_the_fix() {
        let (_dir, path) = in_tempdir();
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, "{\"entries\": [ {\"containerName\": ").unwrap();
        let err = Registry::load(&path).unwrap_err();
        assert_eq!(err.code(), "registry");
        let text = err.to_string();
        assert!(text.contains(&path.display().to_string()), "{text}");
        assert!(text.contains("not a valid registry"), "{text}");
        assert!(text.contains("delete the file"), "{text}");
        assert!(text.contains("rebuilt"), "{text}");

        std::fs::write(&path, "[1, 2]").unwrap();
        let err = Registry::load(&path).unwrap_err();
        assert!(err.to_string().contains("delete the file"), "{err}");
    }

    #[test]
    fn an_unreadable_path_is_an_error_not_an_empty_registry() {
        let (dir, _path) = in_tempdir();
        // A directory where the file should be: reading it fails with something other than
        // "not found".
        let err = Registry::load(dir.path()).unwrap_err();
        assert_eq!(err.code(), "registry");
        assert!(err.to_string().contains("cannot read it"), "{err}");
    }

    #[test]
    fn unknown_and_missing_optional_fields_are_tolerated() {
        let (_dir, path) = in_tempdir();
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        let text = r#"{
            "version": 3,
            "entries": [
                {"containerName": "oc-a", "sessionKey": "agent:main", "createdAtMs": 10,
                 "lastUsedAtMs": 20, "image": "img", "configHash": "h", "browser": {"port": 9222}},
                {"containerName": "oc-old", "sessionKey": "s", "createdAtMs": 1, "lastUsedAtMs": 2}
            ]
        }"#;
        std::fs::write(&path, text).unwrap();
        let registry = Registry::load(&path).unwrap();
        assert_eq!(registry.entries().len(), 2);
        assert_eq!(registry.get("oc-a").unwrap().last_used_at_ms, 20);
        let old = registry.get("oc-old").unwrap();
        assert_eq!(old.config_hash, None);
        assert_eq!(old.image, "");
        std::fs::write(&path, "{}").unwrap();
        assert!(Registry::load(&path).unwrap().entries().is_empty());
    }
}

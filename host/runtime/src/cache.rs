//! The on-disk cache of compiled components.
//!
//! Loading compiled code is trusting it completely (it is native code), so a cache file is used
//! only when it sits in a 0700 directory we own, is a regular file (not a symlink) owned by us
//! with no group or other permissions, and its name carries the component's SHA-256 and the
//! engine fingerprint. Files are written atomically, so a crash never leaves a partial file to be
//! loaded. Anything else is a miss and the component is compiled again.

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use wasmtime::Engine;
use wasmtime::component::Component;

use openclaw_state::{FILE_MODE, current_uid, ensure_private_dir, write_atomic};

/// How a component was obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CacheOutcome {
    Hit,
    /// Compiled and written to the cache.
    Compiled,
    /// Compiled; caching is off or the cache could not be written (logged).
    CompiledUncached,
}

#[derive(Debug, Clone)]
pub struct CompileCache {
    dir: Option<PathBuf>,
    fingerprint: String,
}

impl CompileCache {
    /// `dir: None` disables caching.
    pub fn new(dir: Option<PathBuf>, fingerprint: &str) -> Self {
        Self {
            dir,
            fingerprint: fingerprint.to_string(),
        }
    }

    pub fn dir(&self) -> Option<&Path> {
        self.dir.as_deref()
    }

    fn path_for(&self, sha256: &str) -> Option<PathBuf> {
        let dir = self.dir.as_ref()?;
        Some(dir.join(format!("{sha256}-{}.cwasm", self.fingerprint)))
    }

    fn trusted(path: &Path) -> bool {
        let Ok(meta) = fs::symlink_metadata(path) else {
            return false;
        };
        meta.file_type().is_file() && meta.uid() == current_uid() && meta.permissions().mode() & 0o077 == 0
    }

    /// Makes sure the directory is private and ours. When it was open to others, everything in
    /// it is discarded: anyone could have put files there while it was.
    fn private_dir(dir: &Path) -> bool {
        let was_open = fs::symlink_metadata(dir).is_ok_and(|m| m.is_dir() && m.permissions().mode() & 0o077 != 0);
        if ensure_private_dir(dir).is_err() {
            return false;
        }
        if was_open {
            tracing::warn!(
                target: "openclaw::plugins",
                "the compile cache {} was accessible to other users; discarding its contents", dir.display()
            );
            if let Ok(entries) = fs::read_dir(dir) {
                for entry in entries.flatten() {
                    let _ = fs::remove_file(entry.path());
                }
            }
        }
        true
    }

    /// The component whose digest is `sha256`, from the cache, or compiled from the bytes
    /// `read` returns (only called on a miss; it must verify the digest itself).
    pub fn load(
        &self,
        engine: &Engine,
        sha256: &str,
        read: impl FnOnce() -> Result<Vec<u8>, String>,
    ) -> Result<(Component, CacheOutcome), CacheError> {
        if let Some(path) = self.path_for(sha256)
            && let Some(dir) = &self.dir
            && Self::private_dir(dir)
            && Self::trusted(&path)
        {
            match deserialize(engine, &path) {
                Ok(component) => return Ok((component, CacheOutcome::Hit)),
                Err(error) => tracing::warn!(
                    target: "openclaw::plugins",
                    "ignoring unusable compiled cache file {}: {error}", path.display()
                ),
            }
        }
        let bytes = read().map_err(CacheError::Read)?;
        let component = Component::new(engine, &bytes).map_err(CacheError::Compile)?;
        let outcome = match self.store(&component, sha256) {
            Ok(true) => CacheOutcome::Compiled,
            Ok(false) => CacheOutcome::CompiledUncached,
            Err(error) => {
                tracing::warn!(target: "openclaw::plugins", "cannot write the compile cache: {error}");
                CacheOutcome::CompiledUncached
            }
        };
        Ok((component, outcome))
    }

    fn memo_path(&self, sha256: &str) -> Option<PathBuf> {
        Some(self.dir.as_ref()?.join("verified").join(sha256))
    }

    /// Whether `component` was hashed to `sha256` before and has not changed since: same
    /// device, inode, size, modification and status-change times. The status-change time is set
    /// by the kernel on every write and cannot be set back, so a modified file never matches.
    /// This is what lets a pinned plugin load without re-hashing it every time.
    pub fn verified(&self, component: &Path, sha256: &str) -> bool {
        let Some(memo) = self.memo_path(sha256) else {
            return false;
        };
        if !Self::trusted(&memo) {
            return false;
        }
        match (fs::read_to_string(&memo), fingerprint_of(component)) {
            (Ok(recorded), Some(current)) => recorded == current,
            _ => false,
        }
    }

    /// Records that `component` hashed to `sha256` (see [`CompileCache::verified`]).
    pub fn remember_verified(&self, component: &Path, sha256: &str) {
        let (Some(dir), Some(memo), Some(current)) = (&self.dir, self.memo_path(sha256), fingerprint_of(component))
        else {
            return;
        };
        let memo_dir = dir.join("verified");
        if Self::private_dir(dir) && ensure_private_dir(&memo_dir).is_ok() {
            let _ = write_atomic(&memo, current.as_bytes(), FILE_MODE);
        }
    }

    fn store(&self, component: &Component, sha256: &str) -> Result<bool, String> {
        let (Some(dir), Some(path)) = (&self.dir, self.path_for(sha256)) else {
            return Ok(false);
        };
        ensure_private_dir(dir).map_err(|e| e.to_string())?;
        let bytes = component.serialize().map_err(|e| e.to_string())?;
        write_atomic(&path, &bytes, FILE_MODE).map_err(|e| e.to_string())?;
        Ok(true)
    }

    /// Removes cache files of this engine whose component digest is not in `keep`, and files of
    /// other engines (older wasmtime, other settings). Returns how many were removed.
    pub fn prune(&self, keep: &[String]) -> usize {
        let Some(dir) = &self.dir else { return 0 };
        let Ok(entries) = fs::read_dir(dir) else { return 0 };
        let mut removed = 0;
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let Some(stem) = name.strip_suffix(".cwasm") else {
                continue;
            };
            let wanted = stem
                .split_once('-')
                .is_some_and(|(sha, fp)| fp == self.fingerprint && keep.iter().any(|k| k == sha));
            if !wanted && fs::remove_file(entry.path()).is_ok() {
                removed += 1;
            }
        }
        removed
    }
}

/// Why a component could not be had.
#[derive(Debug)]
pub enum CacheError {
    Read(String),
    Compile(wasmtime::Error),
}

/// What identifies a file's exact contents without reading it.
fn fingerprint_of(path: &Path) -> Option<String> {
    let meta = fs::symlink_metadata(path).ok()?;
    if !meta.file_type().is_file() {
        return None;
    }
    let canonical = path.canonicalize().ok()?;
    Some(format!(
        "{}\n{} {} {} {}.{} {}.{}\n",
        canonical.display(),
        meta.dev(),
        meta.ino(),
        meta.size(),
        meta.mtime(),
        meta.mtime_nsec(),
        meta.ctime(),
        meta.ctime_nsec()
    ))
}

#[allow(unsafe_code)]
fn deserialize(engine: &Engine, path: &Path) -> wasmtime::Result<Component> {
    // SAFETY: `Component::deserialize_file` trusts the file to be compiled code produced by a
    // compatible wasmtime. The caller checked that the file is a regular file we own with no
    // group/other access, in a 0700 directory we own, written atomically by `store` above under
    // a name that binds the component digest and this engine's fingerprint; wasmtime itself
    // checks the version and settings header and refuses a mismatch.
    unsafe { Component::deserialize_file(engine, path) }
}

//! The on-disk cache of compiled components.
//!
//! Loading compiled code is trusting it completely (it is native code), so a cache file is used
//! only when it sits in a 0700 directory we own, is a regular file (not a symlink) owned by us
//! with no group or other permissions, and its name carries the component's SHA-256 and the
//! engine fingerprint. Files are written atomically, so a crash never leaves a partial file to be
//! loaded. Anything else is a miss and the component is compiled again.
//!
//! [`CacheDir`] owns the layout: `<dir>/<sha256>-<engine>.cwasm` per component and engine,
//! `<dir>/verified/<sha256>` per digest memo. Nothing else names these files.

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

/// The cache directory and the names of the files in it, for every engine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheDir {
    path: PathBuf,
}

const COMPILED_SUFFIX: &str = ".cwasm";
const MEMO_DIR: &str = "verified";

/// Whether `s` can be a component digest (SHA-256 in hex). Anything else names no cache file,
/// so a digest from a config can never point a removal outside the cache.
fn is_digest(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

impl CacheDir {
    pub fn new(path: PathBuf) -> Self {
        Self { path }
    }

    /// The cache of an OpenClaw state directory: `plugins/cache`.
    pub fn under_state_dir(state_dir: &Path) -> Self {
        Self::new(state_dir.join("plugins").join("cache"))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn compiled(&self, sha256: &str, engine: &str) -> PathBuf {
        self.path.join(format!("{sha256}-{engine}{COMPILED_SUFFIX}"))
    }

    fn memo_dir(&self) -> PathBuf {
        self.path.join(MEMO_DIR)
    }

    fn memo(&self, sha256: &str) -> PathBuf {
        self.memo_dir().join(sha256)
    }

    /// The digest and engine a compiled file's name carries.
    fn parse_compiled(name: &str) -> Option<(&str, &str)> {
        name.strip_suffix(COMPILED_SUFFIX)?.split_once('-')
    }

    /// Every file the cache holds for component `sha256`: its compiled code for each engine and
    /// its digest memo.
    pub fn files_of(&self, sha256: &str) -> Vec<PathBuf> {
        if !is_digest(sha256) {
            return Vec::new();
        }
        let mut files: Vec<PathBuf> = fs::read_dir(&self.path)
            .into_iter()
            .flatten()
            .flatten()
            .filter(|e| {
                Self::parse_compiled(&e.file_name().to_string_lossy())
                    .is_some_and(|(sha, _)| sha.eq_ignore_ascii_case(sha256))
            })
            .map(|e| e.path())
            .collect();
        files.sort();
        let memo = self.memo(&sha256.to_ascii_lowercase());
        if fs::symlink_metadata(&memo).is_ok() {
            files.push(memo);
        }
        files
    }

    /// Removes [`CacheDir::files_of`] `sha256` (a plugin was uninstalled); returns what it removed.
    pub fn forget(&self, sha256: &str) -> Vec<PathBuf> {
        self.files_of(sha256)
            .into_iter()
            .filter(|file| fs::remove_file(file).is_ok())
            .collect()
    }

    /// Removes compiled code and memos of every digest not in `keep`, and, when `engine` is
    /// given, compiled code of other engines (older wasmtime, other settings). Returns how many
    /// files were removed.
    pub fn prune(&self, keep: &[String], engine: Option<&str>) -> usize {
        let kept = |sha: &str| keep.iter().any(|k| k.eq_ignore_ascii_case(sha));
        let mut removed = 0;
        for entry in fs::read_dir(&self.path).into_iter().flatten().flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let Some((sha, built_by)) = Self::parse_compiled(&name) else {
                continue;
            };
            let wanted = kept(sha) && engine.is_none_or(|e| e == built_by);
            if !wanted && fs::remove_file(entry.path()).is_ok() {
                removed += 1;
            }
        }
        for entry in fs::read_dir(self.memo_dir()).into_iter().flatten().flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if is_digest(&name) && !kept(&name) && fs::remove_file(entry.path()).is_ok() {
                removed += 1;
            }
        }
        removed
    }
}

#[derive(Debug, Clone)]
pub struct CompileCache {
    dir: Option<CacheDir>,
    fingerprint: String,
}

impl CompileCache {
    /// `dir: None` disables caching.
    pub fn new(dir: Option<PathBuf>, fingerprint: &str) -> Self {
        Self {
            dir: dir.map(CacheDir::new),
            fingerprint: fingerprint.to_string(),
        }
    }

    pub fn dir(&self) -> Option<&Path> {
        self.dir.as_ref().map(CacheDir::path)
    }

    fn path_for(&self, sha256: &str) -> Option<PathBuf> {
        Some(self.dir.as_ref()?.compiled(sha256, &self.fingerprint))
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
            && let Some(dir) = self.dir()
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
        Some(self.dir.as_ref()?.memo(sha256))
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
        if Self::private_dir(dir.path()) && ensure_private_dir(&dir.memo_dir()).is_ok() {
            let _ = write_atomic(&memo, current.as_bytes(), FILE_MODE);
        }
    }

    fn store(&self, component: &Component, sha256: &str) -> Result<bool, String> {
        let (Some(dir), Some(path)) = (self.dir(), self.path_for(sha256)) else {
            return Ok(false);
        };
        ensure_private_dir(dir).map_err(|e| e.to_string())?;
        let bytes = component.serialize().map_err(|e| e.to_string())?;
        write_atomic(&path, &bytes, FILE_MODE).map_err(|e| e.to_string())?;
        Ok(true)
    }

    /// Removes compiled code and memos of digests not in `keep`, and compiled code of other
    /// engines (older wasmtime, other settings). Returns how many files were removed.
    pub fn prune(&self, keep: &[String]) -> usize {
        self.dir
            .as_ref()
            .map_or(0, |dir| dir.prune(keep, Some(&self.fingerprint)))
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

#[cfg(test)]
mod tests {
    use super::*;

    const ENGINE: &str = "e1";

    fn digest(c: char) -> String {
        c.to_string().repeat(64)
    }

    /// A cache holding code of digests `a` and `b` from this engine, of `a` from another one,
    /// memos of both, and a file that is not the cache's.
    fn filled() -> (tempfile::TempDir, CacheDir) {
        let tmp = tempfile::tempdir().unwrap();
        let dir = CacheDir::new(tmp.path().join("cache"));
        fs::create_dir_all(dir.memo_dir()).unwrap();
        for (sha, engine) in [(digest('a'), ENGINE), (digest('b'), ENGINE), (digest('a'), "e0")] {
            fs::write(dir.compiled(&sha, engine), b"code").unwrap();
        }
        for sha in [digest('a'), digest('b')] {
            fs::write(dir.memo(&sha), b"memo").unwrap();
        }
        fs::write(dir.path().join("notes.txt"), b"not ours").unwrap();
        (tmp, dir)
    }

    fn names(dir: &CacheDir) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir.path())
            .unwrap()
            .flatten()
            .chain(fs::read_dir(dir.memo_dir()).unwrap().flatten())
            .filter(|e| e.file_type().unwrap().is_file())
            .map(|e| e.path().strip_prefix(dir.path()).unwrap().display().to_string())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn files_of_a_digest_are_its_code_for_every_engine_and_its_memo() {
        let (_tmp, dir) = filled();
        let (a, b) = (digest('a'), digest('b'));
        assert_eq!(
            dir.files_of(&a),
            [dir.compiled(&a, "e0"), dir.compiled(&a, ENGINE), dir.memo(&a)]
        );
        assert_eq!(dir.files_of(&a.to_ascii_uppercase()).len(), 3);
        assert_eq!(dir.forget(&b), [dir.compiled(&b, ENGINE), dir.memo(&b)]);
        assert!(dir.files_of(&b).is_empty());
    }

    #[test]
    fn what_is_not_a_digest_names_no_file() {
        let (_tmp, dir) = filled();
        for bad in ["", "../notes.txt", "a", &format!("../{}", digest('a'))] {
            assert!(dir.files_of(bad).is_empty(), "{bad}");
            assert!(dir.forget(bad).is_empty(), "{bad}");
        }
        assert!(dir.path().join("notes.txt").exists());
    }

    #[test]
    fn prune_keeps_the_digests_in_use_and_this_engine_only() {
        let (_tmp, dir) = filled();
        let a = digest('a');
        let keep = [a.clone()];
        assert_eq!(dir.prune(&keep, None), 2, "b's code and memo");
        assert_eq!(
            names(&dir),
            [
                format!("{a}-e0.cwasm"),
                format!("{a}-{ENGINE}.cwasm"),
                "notes.txt".into(),
                format!("verified/{a}")
            ]
        );
        assert_eq!(dir.prune(&keep, Some(ENGINE)), 1, "the other engine's code");
        assert_eq!(
            names(&dir),
            [
                format!("{a}-{ENGINE}.cwasm"),
                "notes.txt".into(),
                format!("verified/{a}")
            ]
        );
        assert_eq!(dir.prune(&[], Some(ENGINE)), 2);
        assert_eq!(names(&dir), ["notes.txt"]);
    }
}

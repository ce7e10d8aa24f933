//! The state directory (`~/.openclaw`): where it is, private permissions, crash-safe writes and
//! the lock that keeps two gateways from sharing it.
//!
//! Every directory we create is 0700 and every file 0600 from the moment it exists (the mode is
//! set at creation, not fixed up afterwards, so there is no window in which another user can open
//! it). Writes go to a temporary file in the same directory, are fsynced, renamed over the target
//! and the directory is fsynced: a crash at any point leaves either the old file or the new one,
//! never a mix.
//!
//! [`ids`] holds the hex, digest and random-id helpers the runtime and the host share.

pub mod ids;

use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Directory mode for everything under the state dir.
pub const DIR_MODE: u32 = 0o700;
/// File mode for everything under the state dir.
pub const FILE_MODE: u32 = 0o600;

/// A snapshot of the environment variables that decide where things live. Taken once at start-up
/// so that code below never reads the process environment behind the caller's back (and tests
/// can hand in their own).
#[derive(Debug, Clone, Default)]
pub struct Env {
    vars: HashMap<String, String>,
}

impl Env {
    pub fn from_process() -> Self {
        Self {
            vars: std::env::vars_os()
                .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
                .collect(),
        }
    }

    pub fn from_pairs<I, K, V>(pairs: I) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        Self {
            vars: pairs.into_iter().map(|(k, v)| (k.into(), v.into())).collect(),
        }
    }

    /// The value of a variable; an empty value counts as unset.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.vars.get(name).map(String::as_str).filter(|v| !v.is_empty())
    }

    pub fn set(&mut self, name: impl Into<String>, value: impl Into<String>) {
        self.vars.insert(name.into(), value.into());
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.vars.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }
}

/// Where OpenClaw keeps its files, resolved like OpenClaw does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatePaths {
    /// `$OPENCLAW_HOME`, else `$HOME`.
    pub home: PathBuf,
    /// `$OPENCLAW_STATE_DIR`, else `<home>/.openclaw`.
    pub state_dir: PathBuf,
    /// `$OPENCLAW_CONFIG_PATH`, else `<state_dir>/openclaw.json`.
    pub config_path: PathBuf,
    /// `$OPENCLAW_OAUTH_DIR`, else `<state_dir>/credentials`.
    pub credentials_dir: PathBuf,
}

impl StatePaths {
    pub fn resolve(env: &Env) -> Result<Self, StateError> {
        let home = match env.get("OPENCLAW_HOME").or_else(|| env.get("HOME")) {
            Some(home) => PathBuf::from(home),
            None => {
                return Err(StateError::NoHome);
            }
        };
        let state_dir = match env.get("OPENCLAW_STATE_DIR") {
            Some(dir) => expand_home(dir, &home),
            None => home.join(".openclaw"),
        };
        let config_path = match env.get("OPENCLAW_CONFIG_PATH") {
            Some(path) => expand_home(path, &home),
            None => state_dir.join("openclaw.json"),
        };
        let credentials_dir = match env.get("OPENCLAW_OAUTH_DIR") {
            Some(dir) => expand_home(dir, &home),
            None => state_dir.join("credentials"),
        };
        Ok(Self {
            home,
            state_dir,
            config_path,
            credentials_dir,
        })
    }

    /// `~/.openclaw/extensions`: installed plugins.
    pub fn extensions_dir(&self) -> PathBuf {
        self.state_dir.join("extensions")
    }

    /// Where the gateway's single-instance lock lives.
    pub fn gateway_lock_path(&self) -> PathBuf {
        self.state_dir.join("gateway.lock")
    }

    /// Serialises read-modify-write cycles on the config file (`config set`, `doctor`).
    pub fn config_lock_path(&self) -> PathBuf {
        let mut name = self
            .config_path
            .file_name()
            .map(|n| n.to_os_string())
            .unwrap_or_else(|| "openclaw.json".into());
        name.push(".lock");
        self.config_path.with_file_name(name)
    }
}

/// Expands a leading `~` or `~/` against `home`; other paths are returned unchanged.
pub fn expand_home(path: &str, home: &Path) -> PathBuf {
    if path == "~" {
        home.to_path_buf()
    } else if let Some(rest) = path.strip_prefix("~/") {
        home.join(rest)
    } else {
        PathBuf::from(path)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("neither OPENCLAW_HOME nor HOME is set, so the state directory cannot be found; set OPENCLAW_STATE_DIR")]
    NoHome,
    #[error("{action} {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error(
        "{path} is a symlink; OpenClaw does not follow symlinks for its state (a link can point another user's files at us). Replace it with a real directory or set OPENCLAW_STATE_DIR"
    )]
    Symlink { path: PathBuf },
    #[error("{path} exists but is not a directory; move it away or set OPENCLAW_STATE_DIR")]
    NotADirectory { path: PathBuf },
    #[error(
        "{path} is owned by uid {owner}, not by you (uid {me}); refusing to use it. Fix with `chown` or set OPENCLAW_STATE_DIR"
    )]
    WrongOwner { path: PathBuf, owner: u32, me: u32 },
    #[error(
        "another gateway{holder} is already using the state directory {state_dir}; stop it with `openclaw gateway stop`, or give this one its own OPENCLAW_STATE_DIR"
    )]
    Locked { state_dir: PathBuf, holder: String },
}

fn io_error<'a>(action: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> StateError + 'a {
    move |source| StateError::Io {
        action,
        path: path.to_path_buf(),
        source,
    }
}

/// The current user's uid.
pub fn current_uid() -> u32 {
    rustix::process::getuid().as_raw()
}

/// Creates `dir` (and missing parents) with mode 0700. An existing directory must be ours and not
/// a symlink; its mode is tightened to 0700 when it is looser.
pub fn ensure_private_dir(dir: &Path) -> Result<(), StateError> {
    match fs::symlink_metadata(dir) {
        Ok(meta) => {
            if meta.file_type().is_symlink() {
                return Err(StateError::Symlink {
                    path: dir.to_path_buf(),
                });
            }
            if !meta.is_dir() {
                return Err(StateError::NotADirectory {
                    path: dir.to_path_buf(),
                });
            }
            let me = current_uid();
            if meta.uid() != me {
                return Err(StateError::WrongOwner {
                    path: dir.to_path_buf(),
                    owner: meta.uid(),
                    me,
                });
            }
            if meta.mode() & 0o777 != DIR_MODE {
                fs::set_permissions(dir, fs::Permissions::from_mode(DIR_MODE))
                    .map_err(io_error("tightening permissions of", dir))?;
            }
            Ok(())
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => fs::DirBuilder::new()
            .recursive(true)
            .mode(DIR_MODE)
            .create(dir)
            .map_err(io_error("creating directory", dir)),
        Err(e) => Err(io_error("inspecting", dir)(e)),
    }
}

static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

fn temp_prefix(target: &Path) -> String {
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    format!(".{name}.tmp.")
}

/// Test hook: in debug builds, `OPENCLAW_FAILPOINT=<name>` kills the process at that point, which
/// is how the tests prove a crash mid-write loses nothing. Release builds compile it away.
pub fn failpoint(name: &str) {
    #[cfg(debug_assertions)]
    if std::env::var("OPENCLAW_FAILPOINT").is_ok_and(|v| v == name) {
        std::process::abort();
    }
    #[cfg(not(debug_assertions))]
    let _ = name;
}

/// Removes temp files a crashed writer of `target` left behind (their pid is no longer running).
fn sweep_stale_temps(target: &Path) {
    let Some(dir) = target.parent() else { return };
    let prefix = temp_prefix(target);
    let Ok(entries) = fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(rest) = name.to_str().and_then(|n| n.strip_prefix(&prefix)) else {
            continue;
        };
        let pid_alive = rest
            .split('.')
            .next()
            .and_then(|pid| pid.parse::<u32>().ok())
            .is_some_and(|pid| Path::new(&format!("/proc/{pid}")).exists());
        if !pid_alive {
            let _ = fs::remove_file(entry.path());
        }
    }
}

/// Removes every temp file in `dir` that a process no longer running left behind (for stores
/// that write many files into one directory and sweep once when they open it, instead of on
/// every write: see [`write_atomic_unswept`]).
pub fn sweep_stale_temps_in(dir: &Path) {
    let Ok(entries) = fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let Some((_, rest)) = name.strip_prefix('.').and_then(|n| n.split_once(".tmp.")) else {
            continue;
        };
        let pid_alive = rest
            .split('.')
            .next()
            .and_then(|pid| pid.parse::<u32>().ok())
            .is_some_and(|pid| Path::new(&format!("/proc/{pid}")).exists());
        if !pid_alive {
            let _ = fs::remove_file(entry.path());
        }
    }
}

/// Writes `bytes` to `path` atomically with the given mode: temp file, fsync, rename, fsync of
/// the directory. The parent directory must exist. Stale temp files of this path (a crash
/// between write and rename) are removed first.
pub fn write_atomic(path: &Path, bytes: &[u8], mode: u32) -> Result<(), StateError> {
    sweep_stale_temps(path);
    write_atomic_unswept(path, bytes, mode)
}

/// [`write_atomic`] without looking at the directory first: the write costs the same whatever
/// else the directory holds. The caller sweeps stale temp files itself
/// ([`sweep_stale_temps_in`]).
pub fn write_atomic_unswept(path: &Path, bytes: &[u8], mode: u32) -> Result<(), StateError> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let temp = dir.join(format!(
        "{}{}.{}",
        temp_prefix(path),
        std::process::id(),
        TEMP_COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let result = (|| {
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .custom_flags(libc_o_nofollow())
            .open(&temp)
            .map_err(io_error("creating", &temp))?;
        // The umask may have narrowed the mode further; it can never have widened it, but make
        // the final mode exact so a 0600 request is 0600, not 0400.
        file.set_permissions(fs::Permissions::from_mode(mode))
            .map_err(io_error("setting permissions of", &temp))?;
        file.write_all(bytes).map_err(io_error("writing", &temp))?;
        file.sync_all().map_err(io_error("syncing", &temp))?;
        failpoint("atomic-write-before-rename");
        fs::rename(&temp, path).map_err(io_error("replacing", path))?;
        File::open(&dir)
            .and_then(|d| d.sync_all())
            .map_err(io_error("syncing directory", &dir))?;
        Ok(())
    })();
    if result.is_err() {
        let _ = fs::remove_file(&temp);
    }
    result
}

/// `O_NOFOLLOW`: the temp file is created fresh, but refuse to follow a symlink planted at its name.
fn libc_o_nofollow() -> i32 {
    rustix::fs::OFlags::NOFOLLOW.bits() as i32
}

/// Writes a private (0600) file atomically, creating its directory (0700) when missing.
pub fn write_private(path: &Path, bytes: &[u8]) -> Result<(), StateError> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty())
        && !dir.exists()
    {
        ensure_private_dir(dir)?;
    }
    write_atomic(path, bytes, FILE_MODE)
}

/// An exclusive advisory lock (flock) held for as long as the value lives.
#[derive(Debug)]
pub struct StateLock {
    _file: File,
    path: PathBuf,
}

fn open_lock_file(path: &Path) -> Result<File, StateError> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(FILE_MODE)
        .custom_flags(libc_o_nofollow())
        .open(path)
        .map_err(io_error("opening lock file", path))
}

impl StateLock {
    /// Takes the lock at `path` or fails at once, naming the holder's pid when it wrote one.
    pub fn acquire(path: &Path, state_dir: &Path) -> Result<Self, StateError> {
        let mut file = open_lock_file(path)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(fs::TryLockError::WouldBlock) => {
                let holder = fs::read_to_string(path)
                    .ok()
                    .and_then(|text| text.trim().parse::<u32>().ok())
                    .map(|pid| format!(" (pid {pid})"))
                    .unwrap_or_default();
                return Err(StateError::Locked {
                    state_dir: state_dir.to_path_buf(),
                    holder,
                });
            }
            Err(fs::TryLockError::Error(e)) => return Err(io_error("locking", path)(e)),
        }
        // Record who holds it, for the next process's error message.
        file.set_len(0).map_err(io_error("writing lock file", path))?;
        write!(file, "{}", std::process::id()).map_err(io_error("writing lock file", path))?;
        Ok(Self {
            _file: file,
            path: path.to_path_buf(),
        })
    }

    /// Waits for the lock (for short critical sections such as `config set`).
    pub fn acquire_blocking(path: &Path) -> Result<Self, StateError> {
        let file = open_lock_file(path)?;
        file.lock().map_err(io_error("locking", path))?;
        Ok(Self {
            _file: file,
            path: path.to_path_buf(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode_of(path: &Path) -> u32 {
        fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn resolves_paths_like_openclaw() {
        let env = Env::from_pairs([("HOME", "/home/u")]);
        let paths = StatePaths::resolve(&env).unwrap();
        assert_eq!(paths.state_dir, Path::new("/home/u/.openclaw"));
        assert_eq!(paths.config_path, Path::new("/home/u/.openclaw/openclaw.json"));
        assert_eq!(paths.credentials_dir, Path::new("/home/u/.openclaw/credentials"));

        let env = Env::from_pairs([
            ("HOME", "/home/u"),
            ("OPENCLAW_STATE_DIR", "~/state"),
            ("OPENCLAW_CONFIG_PATH", "/etc/oc/config.json5"),
        ]);
        let paths = StatePaths::resolve(&env).unwrap();
        assert_eq!(paths.state_dir, Path::new("/home/u/state"));
        assert_eq!(paths.config_path, Path::new("/etc/oc/config.json5"));
        assert_eq!(paths.config_lock_path(), Path::new("/etc/oc/config.json5.lock"));
        assert!(matches!(StatePaths::resolve(&Env::default()), Err(StateError::NoHome)));
    }

    #[test]
    fn private_dirs_and_files() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("a/b");
        ensure_private_dir(&dir).unwrap();
        assert_eq!(mode_of(&dir), 0o700);
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o755)).unwrap();
        ensure_private_dir(&dir).unwrap();
        assert_eq!(mode_of(&dir), 0o700, "a loose existing dir is tightened");

        let file = dir.join("x.json");
        write_private(&file, b"one").unwrap();
        assert_eq!(mode_of(&file), 0o600);
        write_private(&file, b"two").unwrap();
        assert_eq!(fs::read(&file).unwrap(), b"two");
        assert_eq!(mode_of(&file), 0o600);
        let leftovers: Vec<_> = fs::read_dir(&dir).unwrap().flatten().map(|e| e.file_name()).collect();
        assert_eq!(leftovers.len(), 1, "no temp files left: {leftovers:?}");
    }

    #[test]
    fn symlinked_state_dir_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let real = tmp.path().join("real");
        fs::create_dir(&real).unwrap();
        let link = tmp.path().join("link");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        assert!(matches!(ensure_private_dir(&link), Err(StateError::Symlink { .. })));
    }

    #[test]
    fn stale_temp_files_of_dead_writers_are_swept() {
        let tmp = tempfile::tempdir().unwrap();
        let target = tmp.path().join("openclaw.json");
        // pid 0 is never a live process we could collide with.
        let stale = tmp.path().join(".openclaw.json.tmp.0.7");
        fs::write(&stale, b"half").unwrap();
        write_private(&target, b"{}").unwrap();
        assert!(!stale.exists());
    }

    /// Other tests in this binary spawn processes; a child forked while a lock file is open keeps
    /// the lock until it execs (microseconds), so re-acquiring right after a release may briefly
    /// fail. Production never releases and re-takes the gateway lock in a loop.
    fn acquire_eventually(path: &Path, dir: &Path) -> StateLock {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
        loop {
            match StateLock::acquire(path, dir) {
                Ok(lock) => return lock,
                Err(_) if std::time::Instant::now() < deadline => {
                    std::thread::sleep(std::time::Duration::from_millis(5))
                }
                Err(e) => panic!("{e}"),
            }
        }
    }

    #[test]
    fn lock_held_by_another_process_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("gateway.lock");
        std::fs::write(&path, "").unwrap();
        // flock(1) takes the same kind of lock (flock(2)) in a separate process.
        // `-o`: the lock stays with flock itself (not the `sleep` child), so killing it releases it.
        let mut holder = std::process::Command::new("flock")
            .arg("-o")
            .arg(&path)
            .args(["sleep", "5"])
            .spawn()
            .unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(3);
        let refused = loop {
            match StateLock::acquire(&path, tmp.path()) {
                Err(StateError::Locked { .. }) => break true,
                Ok(lock) if std::time::Instant::now() < deadline => {
                    // flock(1) has not taken the lock yet; release and retry.
                    drop(lock);
                    std::thread::sleep(std::time::Duration::from_millis(20));
                }
                _ => break false,
            }
        };
        let _ = holder.kill();
        let _ = holder.wait();
        assert!(refused, "a lock held by another process must refuse a second gateway");
        acquire_eventually(&path, tmp.path());
    }

    #[test]
    fn lock_is_exclusive_and_names_the_holder() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("gateway.lock");
        let first = StateLock::acquire(&path, tmp.path()).unwrap();
        let err = StateLock::acquire(&path, tmp.path()).unwrap_err();
        let text = err.to_string();
        assert!(text.contains(&format!("pid {}", std::process::id())), "{text}");
        assert!(text.contains("OPENCLAW_STATE_DIR"), "{text}");
        drop(first);
        acquire_eventually(&path, tmp.path());
    }
}

//! The workspace: where file tools resolve paths, and which objects they may never touch.
//!
//! Every file operation goes through a directory handle obtained here, never through a path
//! string handed to the kernel again later, so what was checked is what gets used.

use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStringExt;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Component, Path, PathBuf};

use rustix::fs::{AtFlags, FileType, Mode, OFlags, Stat};
use rustix::io::Errno;

use crate::error::ToolError;
use crate::resolve::{MAX_SYMLINKS, Resolution, dir_flags, open_dir_anywhere, open_dir_beneath};

/// The agent workspace as file tools see it.
#[derive(Debug)]
pub struct Workspace {
    /// Absolute, as the gateway named it: absolute paths the model writes are compared with
    /// this spelling and with the canonical one.
    root: PathBuf,
    root_canonical: PathBuf,
    root_fd: OwnedFd,
    root_id: FileId,
    fs_root_fd: OwnedFd,
    workspace_only: bool,
    protected: Vec<PathBuf>,
    resolution: Resolution,
    /// What `~` means; the process's `HOME` when unset.
    home: Option<PathBuf>,
}

/// Identity of a filesystem object: the same object under any spelling, symlink or hard link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FileId {
    dev: u64,
    ino: u64,
}

impl FileId {
    fn of(stat: &Stat) -> Self {
        Self {
            dev: stat.st_dev,
            ino: stat.st_ino,
        }
    }
}

/// Where a relative path starts: the workspace root or `/`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Base {
    Root,
    FsRoot,
}

/// A file name inside a directory we hold open, and what the name referred to when we looked.
#[derive(Debug)]
pub(crate) struct Located {
    pub dir: OwnedFd,
    pub name: OsString,
    /// The path as the model wrote it, for messages.
    pub shown: String,
    /// `lstat` of the name when it was resolved; `None` when nothing is there yet.
    pub object: Option<Stat>,
}

/// A file that may need directories created first: `existing` is the deepest directory that
/// exists, `missing` the plain names to create beneath it. Creating nothing until asked lets
/// apply_patch validate every file before it writes any.
#[derive(Debug)]
pub(crate) struct Planned {
    existing: OwnedFd,
    missing: Vec<OsString>,
    name: OsString,
    shown: String,
    object: Option<Stat>,
}

impl From<Located> for Planned {
    fn from(located: Located) -> Self {
        let Located {
            dir,
            name,
            shown,
            object,
        } = located;
        Self {
            existing: dir,
            missing: Vec::new(),
            name,
            shown,
            object,
        }
    }
}

impl Planned {
    pub fn shown(&self) -> &str {
        &self.shown
    }

    /// What the name referred to when planned (`None` for a new file or a missing parent).
    pub fn object(&self) -> Option<&Stat> {
        self.object.as_ref()
    }

    /// Identifies the target independently of spelling, so two patch sections cannot name one
    /// file twice.
    pub fn identity(&self) -> Result<(u64, u64, Vec<OsString>), ToolError> {
        let stat = rustix::fs::fstat(&self.existing).map_err(|e| ToolError::io("inspecting", &self.shown, e))?;
        let mut names = self.missing.clone();
        names.push(self.name.clone());
        Ok((stat.st_dev, stat.st_ino, names))
    }
}

impl Workspace {
    /// Opens (creating with mode 0700 if missing) the workspace at `root`.
    ///
    /// `protected` names objects no file tool may read or change in any mode: the gateway passes
    /// its state directory and, explicitly, its config file and credential files. They are matched
    /// by device and inode, looked up afresh on every call because atomic rewrites give the config
    /// file a new inode each time. A directory protects everything beneath it; a hard link made
    /// elsewhere to a file in it is only caught when that file is listed itself.
    pub fn open(root: &Path, workspace_only: bool, protected: Vec<PathBuf>) -> Result<Self, ToolError> {
        let shown = root.display().to_string();
        let root = std::path::absolute(root).map_err(|e| ToolError::io("resolving the workspace", &shown, e))?;
        if !root.exists() {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(&root)
                .map_err(|e| ToolError::io("creating the workspace", &shown, e))?;
        }
        let root_fd = rustix::fs::open(&root, dir_flags(), Mode::empty())
            .map_err(|e| ToolError::io("opening the workspace", &shown, e))?;
        let root_id =
            FileId::of(&rustix::fs::fstat(&root_fd).map_err(|e| ToolError::io("inspecting the workspace", &shown, e))?);
        let root_canonical =
            std::fs::canonicalize(&root).map_err(|e| ToolError::io("resolving the workspace", &shown, e))?;
        let fs_root_fd =
            rustix::fs::open("/", dir_flags(), Mode::empty()).map_err(|e| ToolError::io("opening", "/", e))?;
        Ok(Self {
            root,
            root_canonical,
            root_fd,
            root_id,
            fs_root_fd,
            workspace_only,
            protected,
            resolution: Resolution::default(),
            home: None,
        })
    }

    /// What a leading `~` means (the gateway's home, which `OPENCLAW_HOME` may move away from the
    /// process's `HOME`).
    pub fn with_home(mut self, home: impl Into<PathBuf>) -> Self {
        self.home = Some(home.into());
        self
    }

    /// Chooses how confined paths are resolved (see [`Resolution`]).
    pub fn with_resolution(mut self, resolution: Resolution) -> Self {
        self.resolution = resolution;
        self
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn workspace_only(&self) -> bool {
        self.workspace_only
    }

    /// Resolves an existing parent directory and the final name. With `follow_final`, a symlink
    /// at the final name is followed (under the same rules); without it the link itself is meant.
    pub(crate) fn locate(&self, path: &str, follow_final: bool) -> Result<Located, ToolError> {
        let planned = self.plan(path, follow_final)?;
        if !planned.missing.is_empty() {
            return Err(ToolError::NotFound { path: planned.shown });
        }
        Ok(Located {
            dir: planned.existing,
            name: planned.name,
            shown: planned.shown,
            object: planned.object,
        })
    }

    /// Resolves as far as the tree exists, checking confinement and protection, creating nothing.
    pub(crate) fn plan(&self, path: &str, follow_final: bool) -> Result<Planned, ToolError> {
        let shown = path.to_owned();
        let (mut base, mut rel) = self.prepare(path)?;
        for _ in 0..=MAX_SYMLINKS {
            let (parent, name) =
                split_last(&rel).ok_or_else(|| ToolError::unusable(&shown, "names a directory, not a file"))?;
            let (existing, missing) = self.open_parent(base, &parent, &shown)?;
            let object = if missing.is_empty() {
                match rustix::fs::statat(&existing, &name, AtFlags::SYMLINK_NOFOLLOW) {
                    Ok(stat) => Some(stat),
                    Err(Errno::NOENT) => None,
                    Err(e) => return Err(ToolError::io("inspecting", &shown, e)),
                }
            } else {
                None
            };
            if follow_final && object.is_some_and(|s| FileType::from_raw_mode(s.st_mode) == FileType::Symlink) {
                let target = rustix::fs::readlinkat(&existing, &name, Vec::new())
                    .map_err(|e| ToolError::io("reading the symlink", &shown, e))?;
                (base, rel) = self.follow_link(
                    base,
                    &parent,
                    PathBuf::from(OsString::from_vec(target.into_bytes())),
                    &shown,
                )?;
                continue;
            }
            self.guard(existing.as_fd(), object.as_ref(), &shown)?;
            return Ok(Planned {
                existing,
                missing,
                name,
                shown,
                object,
            });
        }
        Err(ToolError::unusable(&shown, "too many levels of symbolic links"))
    }

    /// Creates the missing directories (0700) of a plan and returns the final location.
    pub(crate) fn realize(&self, planned: Planned) -> Result<Located, ToolError> {
        let Planned {
            mut existing,
            missing,
            name,
            shown,
            object,
        } = planned;
        for dir_name in &missing {
            match rustix::fs::mkdirat(&existing, dir_name, Mode::from_raw_mode(0o700)) {
                Ok(()) | Err(Errno::EXIST) => {}
                Err(e) => return Err(ToolError::io("creating a directory for", &shown, e)),
            }
            // NOFOLLOW: if someone planted a symlink at the name meanwhile, refuse rather than follow.
            existing = rustix::fs::openat(&existing, dir_name, dir_flags() | OFlags::NOFOLLOW, Mode::empty()).map_err(
                |e| match e {
                    Errno::LOOP | Errno::NOTDIR => ToolError::unusable(
                        &shown,
                        format!(
                            "`{}` is not a directory (a file or symlink is in the way)",
                            dir_name.to_string_lossy()
                        ),
                    ),
                    e => ToolError::io("opening a directory for", &shown, e),
                },
            )?;
        }
        Ok(Located {
            dir: existing,
            name,
            shown,
            object,
        })
    }

    /// Opens an existing regular file for reading, re-checking protection on the opened object.
    pub(crate) fn open_regular(&self, located: &Located) -> Result<(File, Stat), ToolError> {
        let shown = &located.shown;
        if located.object.is_none() {
            return Err(ToolError::NotFound { path: shown.clone() });
        }
        // NONBLOCK: opening a FIFO planted under the name must not hang the tool.
        let flags = OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::NOCTTY | OFlags::CLOEXEC;
        let fd = rustix::fs::openat(&located.dir, &located.name, flags, Mode::empty()).map_err(|e| match e {
            Errno::NOENT => ToolError::NotFound { path: shown.clone() },
            Errno::LOOP => ToolError::unusable(shown, "changed into a symlink while being opened; try again"),
            e => ToolError::io("opening", shown, e),
        })?;
        let stat = rustix::fs::fstat(&fd).map_err(|e| ToolError::io("inspecting", shown, e))?;
        self.guard_object(&self.protected_ids(), &stat, shown)?;
        match FileType::from_raw_mode(stat.st_mode) {
            FileType::RegularFile => {}
            FileType::Directory => return Err(ToolError::unusable(shown, "is a directory, not a file")),
            other => return Err(ToolError::unusable(shown, format!("is not a regular file ({other:?})"))),
        }
        Ok((File::from(fd), stat))
    }

    /// Splits a path the model wrote into a base and a relative path, applying `~` and the
    /// workspaceOnly rule for absolute paths.
    fn prepare(&self, path: &str) -> Result<(Base, PathBuf), ToolError> {
        if path.is_empty() {
            return Err(ToolError::unusable(path, "the path is empty"));
        }
        if path.contains('\0') {
            return Err(ToolError::unusable(path, "the path contains a NUL byte"));
        }
        let expanded = expand_home(path, self.home.as_deref())?;
        if !expanded.is_absolute() {
            return Ok((Base::Root, expanded));
        }
        if !self.workspace_only {
            let rel: PathBuf = expanded
                .components()
                .filter(|c| !matches!(c, Component::RootDir))
                .collect();
            return Ok((Base::FsRoot, rel));
        }
        for root in [&self.root, &self.root_canonical] {
            if let Ok(rel) = expanded.strip_prefix(root) {
                return Ok((Base::Root, rel.to_path_buf()));
            }
        }
        Err(self.outside(
            path,
            "it is an absolute path that does not start with the workspace root",
        ))
    }

    fn open_parent(&self, base: Base, parent: &Path, shown: &str) -> Result<(OwnedFd, Vec<OsString>), ToolError> {
        match self.open_dir(base, parent) {
            Ok(fd) => return Ok((fd, Vec::new())),
            Err(Errno::NOENT) => {}
            Err(e) => return Err(self.resolution_error(e, shown)),
        }
        // Some directory is missing: find the deepest one that exists. What follows it will be
        // created, so it must be plain names: `new/../..` cannot be checked before it exists.
        let components: Vec<Component<'_>> = parent.components().collect();
        let mut deepest = self
            .open_dir(base, Path::new(""))
            .map_err(|e| self.resolution_error(e, shown))?;
        for index in 0..components.len() {
            let prefix: PathBuf = components[..=index].iter().collect();
            match self.open_dir(base, &prefix) {
                Ok(fd) => deepest = fd,
                Err(Errno::NOENT) => {
                    let mut missing = Vec::new();
                    for component in &components[index..] {
                        match component {
                            Component::Normal(name) => missing.push(name.to_os_string()),
                            Component::CurDir => {}
                            _ => {
                                return Err(ToolError::unusable(
                                    shown,
                                    "goes through a directory that does not exist and then `..`",
                                ));
                            }
                        }
                    }
                    return Ok((deepest, missing));
                }
                Err(e) => return Err(self.resolution_error(e, shown)),
            }
        }
        // Everything exists after all: another writer created it meanwhile.
        Ok((deepest, Vec::new()))
    }

    fn open_dir(&self, base: Base, rel: &Path) -> Result<OwnedFd, Errno> {
        match (base, self.workspace_only) {
            (Base::Root, true) => open_dir_beneath(self.root_fd.as_fd(), rel, self.resolution),
            (Base::Root, false) => open_dir_anywhere(self.root_fd.as_fd(), rel),
            // prepare() never yields FsRoot under workspaceOnly; refuse rather than trust that.
            (Base::FsRoot, true) => Err(Errno::XDEV),
            (Base::FsRoot, false) => open_dir_anywhere(self.fs_root_fd.as_fd(), rel),
        }
    }

    /// Where resolution goes next after a symlink at the final name.
    fn follow_link(
        &self,
        base: Base,
        parent: &Path,
        target: PathBuf,
        shown: &str,
    ) -> Result<(Base, PathBuf), ToolError> {
        if target.is_absolute() {
            if self.workspace_only {
                return Err(self.outside(
                    shown,
                    &format!(
                        "it is a symlink to the absolute path `{}` (only relative symlinks that stay inside are followed)",
                        target.display()
                    ),
                ));
            }
            let rel: PathBuf = target
                .components()
                .filter(|c| !matches!(c, Component::RootDir))
                .collect();
            return Ok((Base::FsRoot, rel));
        }
        Ok((base, parent.join(target)))
    }

    fn resolution_error(&self, errno: Errno, shown: &str) -> ToolError {
        match errno {
            Errno::XDEV => self.outside(
                shown,
                "it resolves outside the workspace root through `..` or a symlink",
            ),
            Errno::NOENT => ToolError::NotFound { path: shown.to_owned() },
            Errno::NOTDIR => ToolError::unusable(shown, "a component of the path is not a directory"),
            Errno::LOOP => ToolError::unusable(
                shown,
                "too many levels of symbolic links, or a /proc magic link, in the path",
            ),
            e => ToolError::io("resolving", shown, e),
        }
    }

    fn outside(&self, shown: &str, detail: &str) -> ToolError {
        ToolError::OutsideWorkspace {
            path: shown.to_owned(),
            root: self.root.clone(),
            detail: detail.to_owned(),
        }
    }

    /// Refuses a protected object, or anything whose nearest enclosing directory of interest is
    /// protected. The workspace root counts as such a directory and wins when it is nearer:
    /// OpenClaw's default workspace is `~/.openclaw/workspace`, inside the state directory the
    /// gateway protects.
    pub(crate) fn guard(&self, dir: BorrowedFd<'_>, object: Option<&Stat>, shown: &str) -> Result<(), ToolError> {
        let protected = self.protected_ids();
        if protected.is_empty() {
            return Ok(());
        }
        if let Some(stat) = object {
            self.guard_object(&protected, stat, shown)?;
        }
        let mut current = rustix::fs::openat(dir, ".", dir_flags(), Mode::empty())
            .map_err(|e| ToolError::io("inspecting the directory of", shown, e))?;
        loop {
            let id = FileId::of(&rustix::fs::fstat(&current).map_err(|e| ToolError::io("inspecting", shown, e))?);
            if protected.contains(&id) {
                return Err(ToolError::Protected { path: shown.to_owned() });
            }
            if id == self.root_id {
                return Ok(());
            }
            let parent = rustix::fs::openat(&current, "..", dir_flags(), Mode::empty())
                .map_err(|e| ToolError::io("inspecting the parents of", shown, e))?;
            let parent_id = FileId::of(&rustix::fs::fstat(&parent).map_err(|e| ToolError::io("inspecting", shown, e))?);
            if parent_id == id {
                return Ok(());
            }
            current = parent;
        }
    }

    fn guard_object(&self, protected: &[FileId], stat: &Stat, shown: &str) -> Result<(), ToolError> {
        if protected.contains(&FileId::of(stat)) {
            return Err(ToolError::Protected { path: shown.to_owned() });
        }
        Ok(())
    }

    fn protected_ids(&self) -> Vec<FileId> {
        self.protected
            .iter()
            .filter_map(|path| rustix::fs::stat(path).ok())
            .map(|stat| FileId::of(&stat))
            .collect()
    }
}

/// `~` and `~/...` mean the gateway process's HOME; `~user` is left alone (a literal name).
fn expand_home(path: &str, home: Option<&Path>) -> Result<PathBuf, ToolError> {
    let rest = match path.strip_prefix('~') {
        Some("") => "",
        Some(rest) if rest.starts_with('/') => rest.trim_start_matches('/'),
        _ => return Ok(PathBuf::from(path)),
    };
    if let Some(home) = home {
        return Ok(home.join(rest));
    }
    let home = std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .ok_or_else(|| ToolError::unusable(path, "cannot expand `~`: HOME is not set for the gateway"))?;
    Ok(Path::new(&home).join(rest))
}

/// The parent part and the final name; `None` when the path ends in `..`, `/` or nothing.
fn split_last(rel: &Path) -> Option<(PathBuf, OsString)> {
    let mut components: Vec<Component<'_>> = rel.components().collect();
    match components.pop()? {
        Component::Normal(name) => Some((components.iter().collect(), OsStr::to_os_string(name))),
        _ => None,
    }
}

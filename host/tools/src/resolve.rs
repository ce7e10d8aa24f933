//! Opening a directory by a relative path without ever leaving the directory we start from.
//!
//! The kernel does this for us with `openat2(RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS)`: every
//! symlink and `..` is resolved against the real tree at that moment, so there is no window
//! between a check and a use. Kernels older than 5.6 lack openat2; there we walk one component at
//! a time with `O_NOFOLLOW`, read each symlink through the handle we opened, and refuse absolute
//! targets and any `..` that would climb above the start, which is what RESOLVE_BENEATH refuses.

use std::collections::VecDeque;
use std::ffi::OsString;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStringExt;
use std::path::{Component, Path};
use std::sync::atomic::{AtomicBool, Ordering};

use rustix::fs::{FileType, Mode, OFlags, ResolveFlags};
use rustix::io::Errno;

/// How paths are resolved under `tools.fs.workspaceOnly`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Resolution {
    /// `openat2` with RESOLVE_BENEATH; falls back to [`Resolution::Walk`] when the kernel has no
    /// openat2 (ENOSYS).
    #[default]
    Kernel,
    /// A component-by-component walk with `O_NOFOLLOW`. Chosen automatically on old kernels; public
    /// so tests can hold both paths to the same table and so an operator whose seccomp profile
    /// rejects openat2 with another errno can select it.
    Walk,
}

/// Linux's own limit on symlinks followed in one lookup.
pub(crate) const MAX_SYMLINKS: usize = 40;

/// Flags for every directory handle we hold: enough to use as a dirfd, nothing more.
pub(crate) fn dir_flags() -> OFlags {
    OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC
}

static OPENAT2_MISSING: AtomicBool = AtomicBool::new(false);

/// Opens the directory `rel` beneath `base`; fails with EXDEV if resolution would leave `base`.
pub(crate) fn open_dir_beneath(base: BorrowedFd<'_>, rel: &Path, how: Resolution) -> Result<OwnedFd, Errno> {
    if how == Resolution::Kernel && !OPENAT2_MISSING.load(Ordering::Relaxed) {
        match open_dir_openat2(base, rel) {
            Err(Errno::NOSYS) => OPENAT2_MISSING.store(true, Ordering::Relaxed),
            other => return other,
        }
    }
    open_dir_walk(base, rel)
}

/// Opens the directory `rel` relative to `base`, following symlinks wherever they lead.
pub(crate) fn open_dir_anywhere(base: BorrowedFd<'_>, rel: &Path) -> Result<OwnedFd, Errno> {
    rustix::fs::openat(base, non_empty(rel), dir_flags(), Mode::empty())
}

fn non_empty(rel: &Path) -> &Path {
    if rel.as_os_str().is_empty() {
        Path::new(".")
    } else {
        rel
    }
}

fn open_dir_openat2(base: BorrowedFd<'_>, rel: &Path) -> Result<OwnedFd, Errno> {
    let resolve = ResolveFlags::BENEATH | ResolveFlags::NO_MAGICLINKS;
    // EAGAIN means a concurrent rename raced a `..`; the kernel asks us to retry, and a bounded
    // retry keeps a hostile renamer from pinning us in a loop.
    let mut last = Errno::AGAIN;
    for _ in 0..8 {
        match rustix::fs::openat2(base, non_empty(rel), dir_flags(), Mode::empty(), resolve) {
            Err(Errno::AGAIN) => last = Errno::AGAIN,
            other => return other,
        }
    }
    Err(last)
}

fn open_dir_walk(base: BorrowedFd<'_>, rel: &Path) -> Result<OwnedFd, Errno> {
    let mut pending: VecDeque<OsString> = VecDeque::new();
    push_front_components(&mut pending, rel)?;
    // Each entry is a directory we actually opened; popping one is a physical `..`.
    let mut stack: Vec<OwnedFd> = Vec::new();
    let mut links = 0usize;
    while let Some(name) = pending.pop_front() {
        if name == ".." {
            if stack.pop().is_none() {
                return Err(Errno::XDEV);
            }
            continue;
        }
        let current = stack.last().map_or(base, |fd| fd.as_fd());
        let entry = rustix::fs::openat(
            current,
            &name,
            OFlags::PATH | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::empty(),
        )?;
        match FileType::from_raw_mode(rustix::fs::fstat(&entry)?.st_mode) {
            FileType::Directory => stack.push(entry),
            FileType::Symlink => {
                links += 1;
                if links > MAX_SYMLINKS {
                    return Err(Errno::LOOP);
                }
                // Read the link we hold, not the name: the name may already point elsewhere.
                let target = rustix::fs::readlinkat(&entry, "", Vec::new())?;
                push_front_components(&mut pending, Path::new(&OsString::from_vec(target.into_bytes())))?;
            }
            _ => return Err(Errno::NOTDIR),
        }
    }
    let current = stack.last().map_or(base, |fd| fd.as_fd());
    rustix::fs::openat(current, ".", dir_flags(), Mode::empty())
}

/// Queues the components of `path` ahead of what is pending; an absolute path is an escape.
fn push_front_components(pending: &mut VecDeque<OsString>, path: &Path) -> Result<(), Errno> {
    let mut names = Vec::new();
    for component in path.components() {
        match component {
            Component::RootDir | Component::Prefix(_) => return Err(Errno::XDEV),
            Component::CurDir => {}
            Component::ParentDir => names.push(OsString::from("..")),
            Component::Normal(name) => names.push(name.to_os_string()),
        }
    }
    for name in names.into_iter().rev() {
        pending.push_front(name);
    }
    Ok(())
}

//! Replacing a file's contents so that a reader, or a crash, sees the old file or the new one and
//! never a mix: write a temp file in the same directory, fsync it, rename it over the name, fsync
//! the directory. All through the directory handle the caller resolved.

use std::io::Write;
use std::os::fd::{AsFd, BorrowedFd};
use std::sync::atomic::{AtomicU64, Ordering};

use rustix::fs::{AtFlags, Mode, OFlags};

use crate::error::ToolError;
use crate::workspace::Located;

/// Mode of files the tools create: private to the gateway's user, like the rest of its state.
pub(crate) const NEW_FILE_MODE: u32 = 0o600;

static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// Writes `bytes` as the new content of `located`. An existing file keeps its permission bits;
/// a new one gets [`NEW_FILE_MODE`].
pub(crate) fn replace_file(located: &Located, bytes: &[u8]) -> Result<(), ToolError> {
    let mode = located
        .object
        .as_ref()
        .map_or(NEW_FILE_MODE, |stat| stat.st_mode & 0o777);
    let dir = located.dir.as_fd();
    let shown = &located.shown;
    // A name of our own rather than one derived from the target: the target's name may already
    // be near NAME_MAX.
    let temp = format!(
        ".openclaw-write-{}-{}.tmp",
        std::process::id(),
        TEMP_COUNTER.fetch_add(1, Ordering::Relaxed)
    );
    let flags = OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    let fd = rustix::fs::openat(dir, temp.as_str(), flags, Mode::from_raw_mode(NEW_FILE_MODE))
        .map_err(|e| ToolError::io("creating a temporary file for", shown, e))?;
    let result = (|| {
        // The umask can only have narrowed the mode; make it exact.
        rustix::fs::fchmod(&fd, Mode::from_raw_mode(mode))
            .map_err(|e| ToolError::io("setting permissions of", shown, e))?;
        let mut file = std::fs::File::from(fd);
        file.write_all(bytes).map_err(|e| ToolError::io("writing", shown, e))?;
        file.sync_all().map_err(|e| ToolError::io("syncing", shown, e))?;
        rustix::fs::renameat(dir, temp.as_str(), dir, &located.name)
            .map_err(|e| ToolError::io("replacing", shown, e))?;
        Ok(())
    })();
    if result.is_err() {
        let _ = rustix::fs::unlinkat(dir, temp.as_str(), AtFlags::empty());
        return result;
    }
    sync_dir(dir, shown)
}

/// Makes a rename or unlink in `dir` durable.
pub(crate) fn sync_dir(dir: BorrowedFd<'_>, shown: &str) -> Result<(), ToolError> {
    let readable = rustix::fs::openat(
        dir,
        ".",
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| ToolError::io("opening the directory of", shown, e))?;
    rustix::fs::fsync(&readable).map_err(|e| ToolError::io("syncing the directory of", shown, e))
}

//! Loading a whole text file that a tool is about to rewrite.

use std::io::Read;

use crate::error::ToolError;
use crate::workspace::{Located, Workspace};

/// Largest file edit and apply_patch rewrite: they hold it in memory, twice.
pub const REWRITE_MAX_BYTES: u64 = 16 * 1024 * 1024;

/// The file's text; refuses files that are not regular, too large, binary or not UTF-8, because
/// rewriting them as text would corrupt them.
pub(crate) fn load_text(ws: &Workspace, located: &Located) -> Result<String, ToolError> {
    let shown = &located.shown;
    let (file, stat) = ws.open_regular(located)?;
    if u64::try_from(stat.st_size).unwrap_or(u64::MAX) > REWRITE_MAX_BYTES {
        return Err(ToolError::unusable(
            shown,
            format!(
                "is larger than {} MiB, too large to rewrite as text",
                REWRITE_MAX_BYTES / (1024 * 1024)
            ),
        ));
    }
    let mut bytes = Vec::new();
    // take(): the file may grow after the size check.
    file.take(REWRITE_MAX_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| ToolError::io("reading", shown, e))?;
    if bytes.len() as u64 > REWRITE_MAX_BYTES {
        return Err(ToolError::unusable(
            shown,
            "grew past the rewrite limit while being read",
        ));
    }
    if bytes.contains(&0) {
        return Err(ToolError::unusable(
            shown,
            "is a binary file (it has NUL bytes); it cannot be rewritten as text",
        ));
    }
    String::from_utf8(bytes).map_err(|e| {
        ToolError::unusable(
            shown,
            format!(
                "is not valid UTF-8 (at byte {}); it cannot be rewritten as text",
                e.utf8_error().valid_up_to()
            ),
        )
    })
}

//! `write`: create or replace a file.

use serde::Deserialize;
use serde_json::Value;

use crate::args::parse;
use crate::atomic::replace_file;
use crate::error::ToolError;
use crate::workspace::Workspace;

#[derive(Deserialize)]
struct WriteArgs {
    #[serde(alias = "file_path")]
    path: String,
    content: String,
}

/// `{path, content}`: writes the whole file atomically, creating missing parent directories
/// (0700). New files are 0600; an existing file keeps its permission bits.
pub fn write(ws: &Workspace, args: &Value) -> Result<String, ToolError> {
    let args: WriteArgs = parse("write", args)?;
    let planned = ws.plan(&args.path, true)?;
    if let Some(stat) = planned.object()
        && rustix::fs::FileType::from_raw_mode(stat.st_mode) == rustix::fs::FileType::Directory
    {
        return Err(ToolError::unusable(planned.shown(), "is a directory, not a file"));
    }
    let located = ws.realize(planned)?;
    replace_file(&located, args.content.as_bytes())?;
    Ok(format!("Wrote {} bytes to {}", args.content.len(), located.shown))
}

//! `read`: a window of lines from a text file.

use std::io::{BufRead, BufReader};

use serde::Deserialize;
use serde_json::Value;

use crate::args::parse;
use crate::error::ToolError;
use crate::workspace::Workspace;

/// Most text returned by one call; the model pages on with `offset`.
pub const READ_MAX_BYTES: usize = 256 * 1024;
/// Lines returned when the model gives no `limit` (pi's default).
pub const READ_DEFAULT_LINES: usize = 2000;
/// How much of the start of a file is inspected for NUL bytes.
const BINARY_SNIFF_BYTES: usize = 8 * 1024;

#[derive(Deserialize)]
struct ReadArgs {
    #[serde(alias = "file_path")]
    path: String,
    /// 1-based line to start at.
    offset: Option<u64>,
    /// Lines to return.
    limit: Option<u64>,
}

/// `{path, offset?, limit?}`: lines `offset..offset+limit` (1-based) of a text file, at most
/// [`READ_MAX_BYTES`], with a closing note saying where to continue when more follows.
pub fn read(ws: &Workspace, args: &Value) -> Result<String, ToolError> {
    let args: ReadArgs = parse("read", args)?;
    let located = ws.locate(&args.path, true)?;
    let (file, _) = ws.open_regular(&located)?;
    let shown = &located.shown;
    let first_line = args.offset.unwrap_or(1).max(1);
    let limit = match args.limit {
        Some(0) => {
            return Err(ToolError::InvalidArguments {
                tool: "read",
                message: "limit must be at least 1".into(),
            });
        }
        Some(n) => usize::try_from(n).unwrap_or(usize::MAX),
        None => READ_DEFAULT_LINES,
    };

    let mut reader = BufReader::with_capacity(64 * 1024, file);
    let head = reader.fill_buf().map_err(|e| ToolError::io("reading", shown, e))?;
    if head[..head.len().min(BINARY_SNIFF_BYTES)].contains(&0) {
        return Err(ToolError::unusable(
            shown,
            "is a binary file (it has NUL bytes); read returns text only, so inspect it with another tool",
        ));
    }
    if head.is_empty() {
        return Ok(format!("[{shown} is empty]"));
    }

    let mut line = Vec::new();
    let mut number: u64 = 0;
    // Skip to the first wanted line without keeping what we pass.
    while number + 1 < first_line {
        line.clear();
        if read_line_capped(&mut reader, &mut line, 0).map_err(|e| ToolError::io("reading", shown, e))? == 0 {
            return Err(ToolError::InvalidArguments {
                tool: "read",
                message: format!("offset {first_line} is past the end of `{shown}`, which has {number} lines"),
            });
        }
        number += 1;
    }

    let mut out = Vec::new();
    let mut returned = 0usize;
    let mut cut_line = false;
    let mut capped = false;
    while returned < limit {
        line.clear();
        let room = READ_MAX_BYTES - out.len();
        let len = read_line_capped(&mut reader, &mut line, room).map_err(|e| ToolError::io("reading", shown, e))?;
        if len == 0 {
            break;
        }
        if len > room {
            if returned == 0 {
                // A single line longer than the cap: return its start rather than nothing.
                out.extend_from_slice(&line[..room]);
                returned = 1;
                cut_line = true;
            }
            capped = true;
            break;
        }
        out.extend_from_slice(&line);
        returned += 1;
    }
    let more = capped
        || !reader
            .fill_buf()
            .map_err(|e| ToolError::io("reading", shown, e))?
            .is_empty();

    let mut text = String::from_utf8_lossy(&out).into_owned();
    if more {
        let last = first_line + returned as u64 - 1;
        let next = last + 1;
        if !text.ends_with('\n') {
            text.push('\n');
        }
        if cut_line {
            text.push_str(&format!(
                "\n[Line {first_line} is longer than {READ_MAX_BYTES} bytes and was cut. Use offset={next} to continue after it.]"
            ));
        } else if capped {
            text.push_str(&format!(
                "\n[Output capped at {} KiB: showing lines {first_line}-{last}. Use offset={next} to continue.]",
                READ_MAX_BYTES / 1024
            ));
        } else {
            text.push_str(&format!(
                "\n[Showing lines {first_line}-{last}. More lines follow. Use offset={next} to continue.]"
            ));
        }
    }
    Ok(text)
}

/// Reads one line (with its newline) into `line`, keeping at most `keep + 1` bytes but consuming
/// the whole line; returns the line's full length so the caller can tell it was cut.
fn read_line_capped(reader: &mut impl BufRead, line: &mut Vec<u8>, keep: usize) -> std::io::Result<usize> {
    let mut total = 0;
    loop {
        let buf = reader.fill_buf()?;
        if buf.is_empty() {
            return Ok(total);
        }
        let (chunk, done) = match buf.iter().position(|&b| b == b'\n') {
            Some(i) => (&buf[..=i], true),
            None => (buf, false),
        };
        let wanted = (keep + 1).saturating_sub(line.len()).min(chunk.len());
        line.extend_from_slice(&chunk[..wanted]);
        let used = chunk.len();
        total += used;
        reader.consume(used);
        if done {
            return Ok(total);
        }
    }
}

//! `edit`: replace one exact, unique piece of text in a file.

use serde::Deserialize;
use serde_json::Value;

use crate::args::parse;
use crate::atomic::replace_file;
use crate::error::ToolError;
use crate::text::load_text;
use crate::workspace::Workspace;

/// Occurrences listed when `oldText` is ambiguous.
const LISTED_OCCURRENCES: usize = 5;

#[derive(Deserialize)]
struct EditArgs {
    #[serde(alias = "file_path")]
    path: String,
    #[serde(rename = "oldText", alias = "old_string", alias = "oldString", alias = "old_text")]
    old_text: String,
    #[serde(rename = "newText", alias = "new_string", alias = "newString", alias = "new_text")]
    new_text: String,
}

/// `{path, oldText, newText}` (or `old_string`/`new_string`): `oldText` must occur exactly once;
/// it is replaced by `newText` and the file rewritten atomically.
pub fn edit(ws: &Workspace, args: &Value) -> Result<String, ToolError> {
    let args: EditArgs = parse("edit", args)?;
    if args.old_text.is_empty() {
        return Err(ToolError::InvalidArguments {
            tool: "edit",
            message: "oldText is empty; give the exact text to replace (use write to create a file)".into(),
        });
    }
    let located = ws.locate(&args.path, true)?;
    let text = load_text(ws, &located)?;
    let shown = &located.shown;
    let starts = occurrences(&text, &args.old_text);
    let start = match starts.as_slice() {
        [] => {
            return Err(ToolError::Edit {
                path: shown.clone(),
                message: "oldText was not found; it must match the file exactly, including whitespace and \
                          indentation (read the file again to copy it)"
                    .into(),
            });
        }
        [start] => *start,
        many => {
            let lines: Vec<String> = many
                .iter()
                .take(LISTED_OCCURRENCES)
                .map(|&at| line_of(&text, at).to_string())
                .collect();
            let more = if many.len() > LISTED_OCCURRENCES { ", ..." } else { "" };
            return Err(ToolError::Edit {
                path: shown.clone(),
                message: format!(
                    "oldText occurs {} times (at lines {}{more}); include more surrounding text so it matches once",
                    many.len(),
                    lines.join(", ")
                ),
            });
        }
    };
    let mut updated = String::with_capacity(text.len() - args.old_text.len() + args.new_text.len());
    updated.push_str(&text[..start]);
    updated.push_str(&args.new_text);
    updated.push_str(&text[start + args.old_text.len()..]);
    replace_file(&located, updated.as_bytes())?;
    Ok(format!(
        "Edited {shown}: replaced 1 occurrence at line {}",
        line_of(&text, start)
    ))
}

/// Byte offsets of every occurrence, overlapping ones included: "aa" in "aaa" is ambiguous.
fn occurrences(text: &str, needle: &str) -> Vec<usize> {
    let mut found = Vec::new();
    let mut from = 0;
    while let Some(at) = text[from..].find(needle) {
        found.push(from + at);
        // Step one character, not one byte, to stay on a char boundary.
        from += at + text[from + at..].chars().next().map_or(1, char::len_utf8);
    }
    found
}

fn line_of(text: &str, byte: usize) -> usize {
    text[..byte].matches('\n').count() + 1
}

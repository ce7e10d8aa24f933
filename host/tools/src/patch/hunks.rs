//! Applying an update's hunks to a file's text, in memory.

use super::parse::Chunk;

/// Ways a line of the patch may equal a line of the file, strictest first. Models often get
/// trailing or indentation whitespace wrong while the intent is unambiguous; a looser level is
/// only tried when the stricter one finds nothing.
const LEVELS: [fn(&str, &str) -> bool; 3] = [
    |a, b| a == b,
    |a, b| a.trim_end() == b.trim_end(),
    |a, b| a.trim() == b.trim(),
];

/// The text after applying every chunk in order, or why a chunk does not fit.
pub(crate) fn apply_chunks(text: &str, chunks: &[Chunk]) -> Result<String, String> {
    let crlf = text.contains("\r\n");
    let had_final_newline = text.ends_with('\n');
    let mut lines: Vec<&str> = text
        .split('\n')
        .map(|l| if crlf { l.strip_suffix('\r').unwrap_or(l) } else { l })
        .collect();
    if had_final_newline || text.is_empty() {
        lines.pop();
    }

    let mut edits: Vec<(usize, usize, Vec<&str>)> = Vec::new();
    let mut cursor = 0;
    for (index, chunk) in chunks.iter().enumerate() {
        let label = format!("hunk {} (patch line {})", index + 1, chunk.patch_line);
        if let Some(anchor) = &chunk.anchor {
            let found = lines[cursor..]
                .iter()
                .position(|l| l.trim() == anchor.trim())
                .ok_or_else(|| {
                    format!("{label}: the line `@@ {anchor}` points at was not found after line {cursor}")
                })?;
            cursor += found + 1;
        }
        let old = chunk.before();
        let new = chunk.after();
        if old.is_empty() {
            // Pure insertion: after the anchor when there is one, else at the end of the file.
            let at = if chunk.anchor.is_some() && !chunk.at_end {
                cursor
            } else {
                lines.len()
            };
            edits.push((at, 0, new));
            cursor = at;
            continue;
        }
        let start = find(&lines, &old, cursor, chunk.at_end).ok_or_else(|| {
            let shown: Vec<&str> = old.iter().take(3).copied().collect();
            format!(
                "{label} does not match the file: these lines were not found after line {cursor}:\n{}",
                shown.join("\n")
            )
        })?;
        cursor = start + old.len();
        edits.push((start, old.len(), new));
    }

    let mut out: Vec<&str> = Vec::with_capacity(lines.len());
    let mut copied = 0;
    for (start, len, new) in edits {
        out.extend_from_slice(&lines[copied..start]);
        out.extend(new);
        copied = start + len;
    }
    out.extend_from_slice(&lines[copied..]);

    let newline = if crlf { "\r\n" } else { "\n" };
    let mut result = out.join(newline);
    if !out.is_empty() && (had_final_newline || text.is_empty()) {
        result.push_str(newline);
    }
    Ok(result)
}

/// Where `old` occurs at or after `from`; a chunk marked for the end of the file is tried there
/// first.
fn find(lines: &[&str], old: &[&str], from: usize, at_end: bool) -> Option<usize> {
    if old.len() > lines.len() {
        return None;
    }
    let last_start = lines.len() - old.len();
    for same in LEVELS {
        let matches_at = |start: usize| lines[start..start + old.len()].iter().zip(old).all(|(a, b)| same(a, b));
        if at_end && last_start >= from && matches_at(last_start) {
            return Some(last_start);
        }
        if let Some(start) = (from..=last_start).find(|&start| matches_at(start)) {
            return Some(start);
        }
    }
    None
}

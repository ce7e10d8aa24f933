//! Reading the `*** Begin Patch` format into file operations. Nothing here touches the disk.

/// One file section of a patch.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum FileOp {
    Add {
        path: String,
        content: String,
    },
    Delete {
        path: String,
    },
    Update {
        path: String,
        move_to: Option<String>,
        chunks: Vec<Chunk>,
    },
}

/// One `@@` section of an update.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Chunk {
    /// Text after `@@ `: a line to find first, so context can be short.
    pub anchor: Option<String>,
    pub lines: Vec<ChunkLine>,
    /// `*** End of File` closed the chunk: it belongs at the end of the file.
    pub at_end: bool,
    /// 1-based line of the patch where the chunk starts, for messages.
    pub patch_line: usize,
}

#[derive(Debug, PartialEq, Eq)]
pub(crate) enum ChunkLine {
    Context(String),
    Remove(String),
    Add(String),
}

impl Chunk {
    /// The lines the file must have where the chunk applies.
    pub fn before(&self) -> Vec<&str> {
        self.lines
            .iter()
            .filter_map(|l| match l {
                ChunkLine::Context(t) | ChunkLine::Remove(t) => Some(t.as_str()),
                ChunkLine::Add(_) => None,
            })
            .collect()
    }

    /// The lines that replace them.
    pub fn after(&self) -> Vec<&str> {
        self.lines
            .iter()
            .filter_map(|l| match l {
                ChunkLine::Context(t) | ChunkLine::Add(t) => Some(t.as_str()),
                ChunkLine::Remove(_) => None,
            })
            .collect()
    }
}

const BEGIN: &str = "*** Begin Patch";
const END: &str = "*** End Patch";
const ADD: &str = "*** Add File: ";
const DELETE: &str = "*** Delete File: ";
const UPDATE: &str = "*** Update File: ";
const MOVE: &str = "*** Move to: ";
const END_OF_FILE: &str = "*** End of File";

pub(crate) fn parse(input: &str) -> Result<Vec<FileOp>, String> {
    let lines: Vec<&str> = input.lines().collect();
    let first = lines
        .iter()
        .position(|l| !l.trim().is_empty())
        .ok_or("the patch is empty")?;
    let last = lines.iter().rposition(|l| !l.trim().is_empty()).unwrap_or(first);
    if lines[first].trim() != BEGIN {
        return Err(format!("line {}: a patch starts with `{BEGIN}`", first + 1));
    }
    if last == first || lines[last].trim() != END {
        return Err(format!("the patch must end with `{END}` on its own line"));
    }
    let mut parser = Parser {
        lines: &lines,
        next: first + 1,
        end: last,
    };
    let mut ops = Vec::new();
    while parser.next < parser.end {
        let line = lines[parser.next];
        let number = parser.next + 1;
        parser.next += 1;
        if let Some(path) = line.strip_prefix(ADD) {
            let path = section_path(path, number)?;
            ops.push(FileOp::Add {
                path,
                content: parser.added_content(),
            });
        } else if let Some(path) = line.strip_prefix(DELETE) {
            ops.push(FileOp::Delete {
                path: section_path(path, number)?,
            });
        } else if let Some(path) = line.strip_prefix(UPDATE) {
            let path = section_path(path, number)?;
            let move_to = match parser.peek().and_then(|l| l.strip_prefix(MOVE)) {
                Some(dest) => {
                    let dest = section_path(dest, parser.next + 1)?;
                    parser.next += 1;
                    Some(dest)
                }
                None => None,
            };
            let chunks = parser.chunks()?;
            if chunks.is_empty() && move_to.is_none() {
                return Err(format!("line {number}: `{UPDATE}{path}` has no `@@` hunks"));
            }
            ops.push(FileOp::Update { path, move_to, chunks });
        } else if line.trim().is_empty() {
            continue;
        } else {
            return Err(format!(
                "line {number}: expected `{ADD}`, `{UPDATE}`, `{DELETE}` or `{END}`, found `{}`",
                line.chars().take(80).collect::<String>()
            ));
        }
    }
    if ops.is_empty() {
        return Err("the patch has no file sections".into());
    }
    Ok(ops)
}

fn section_path(path: &str, number: usize) -> Result<String, String> {
    let path = path.trim();
    if path.is_empty() {
        return Err(format!("line {number}: the file path is missing"));
    }
    Ok(path.to_owned())
}

struct Parser<'a> {
    lines: &'a [&'a str],
    next: usize,
    /// Index of the `*** End Patch` line.
    end: usize,
}

impl<'a> Parser<'a> {
    fn peek(&self) -> Option<&'a str> {
        (self.next < self.end).then(|| self.lines[self.next])
    }

    fn added_content(&mut self) -> String {
        let mut content = String::new();
        while let Some(line) = self.peek().and_then(|l| l.strip_prefix('+')) {
            content.push_str(line);
            content.push('\n');
            self.next += 1;
        }
        content
    }

    fn chunks(&mut self) -> Result<Vec<Chunk>, String> {
        let mut chunks = Vec::new();
        let mut current: Option<Chunk> = None;
        while let Some(line) = self.peek() {
            let number = self.next + 1;
            if line.trim_end() == END_OF_FILE {
                let mut chunk = current
                    .take()
                    .ok_or(format!("line {number}: `{END_OF_FILE}` outside a hunk"))?;
                chunk.at_end = true;
                chunks.push(finish(chunk)?);
                self.next += 1;
                continue;
            }
            if line.starts_with("*** ") {
                break;
            }
            self.next += 1;
            if line == "@@" || line.starts_with("@@ ") {
                if let Some(chunk) = current.take() {
                    chunks.push(finish(chunk)?);
                }
                let anchor = line[2..].trim();
                current = Some(Chunk {
                    anchor: (!anchor.is_empty()).then(|| anchor.to_owned()),
                    lines: Vec::new(),
                    at_end: false,
                    patch_line: number,
                });
                continue;
            }
            // Blank lines between sections belong to no hunk.
            if current.is_none() && line.is_empty() {
                continue;
            }
            // Only the first hunk may leave out its `@@` line.
            if current.is_none() && !chunks.is_empty() {
                return Err(format!("line {number}: a new hunk must start with `@@`"));
            }
            let chunk = current.get_or_insert_with(|| Chunk {
                anchor: None,
                lines: Vec::new(),
                at_end: false,
                patch_line: number,
            });
            let parsed = match line.chars().next() {
                Some(' ') => ChunkLine::Context(line[1..].to_owned()),
                Some('-') => ChunkLine::Remove(line[1..].to_owned()),
                Some('+') => ChunkLine::Add(line[1..].to_owned()),
                // Editors and models drop the single space of an empty context line.
                None => ChunkLine::Context(String::new()),
                Some(_) => {
                    return Err(format!(
                        "line {number}: a hunk line starts with ' ' (context), '-' (remove) or '+' (add), found `{}`",
                        line.chars().take(80).collect::<String>()
                    ));
                }
            };
            chunk.lines.push(parsed);
        }
        if let Some(chunk) = current {
            chunks.push(finish(chunk)?);
        }
        Ok(chunks)
    }
}

/// Drops trailing empty context lines (blank lines before the next section are not part of the
/// hunk: context only narrows where a hunk applies, so dropping it changes no edit) and refuses
/// a hunk with nothing in it.
fn finish(mut chunk: Chunk) -> Result<Chunk, String> {
    while matches!(chunk.lines.last(), Some(ChunkLine::Context(text)) if text.is_empty()) {
        chunk.lines.pop();
    }
    if chunk.lines.is_empty() {
        return Err(format!("line {}: the hunk has no lines", chunk.patch_line));
    }
    Ok(chunk)
}

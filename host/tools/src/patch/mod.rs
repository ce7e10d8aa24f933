//! `apply_patch`: several file changes in one call, all validated before any is written.

mod hunks;
mod parse;

use std::collections::HashSet;
use std::os::fd::AsFd;

use rustix::fs::{AtFlags, FileType};
use serde::Deserialize;
use serde_json::Value;

use crate::args::parse as parse_args;
use crate::atomic::{replace_file, sync_dir};
use crate::error::ToolError;
use crate::text::load_text;
use crate::workspace::{Located, Planned, Workspace};
use hunks::apply_chunks;
use parse::{FileOp, parse};

#[derive(Deserialize)]
struct PatchArgs {
    #[serde(alias = "patch")]
    input: String,
}

/// A change that has been checked and only waits to be written.
enum Staged {
    Write {
        target: Planned,
        content: String,
        summary: String,
    },
    Remove {
        target: Located,
    },
}

/// `{input}`: applies a `*** Begin Patch` ... `*** End Patch` document. Every section is resolved
/// (under the same confinement as the other file tools) and every hunk matched before the first
/// write; a section that fails leaves the workspace untouched.
pub fn apply_patch(ws: &Workspace, args: &Value) -> Result<String, ToolError> {
    let args: PatchArgs = parse_args("apply_patch", args)?;
    let ops = parse(&args.input).map_err(|message| ToolError::Patch { message })?;
    let staged = stage(ws, ops)?;
    commit(ws, staged)
}

fn stage(ws: &Workspace, ops: Vec<FileOp>) -> Result<Vec<Staged>, ToolError> {
    let mut seen = HashSet::new();
    let mut claim = |planned: &Planned| -> Result<(), ToolError> {
        if seen.insert(planned.identity()?) {
            Ok(())
        } else {
            Err(ToolError::Patch {
                message: format!(
                    "`{}` is named by more than one section of the patch; combine them into one",
                    planned.shown()
                ),
            })
        }
    };
    let mut writes = Vec::new();
    let mut removes = Vec::new();
    for op in ops {
        match op {
            FileOp::Add { path, content } => {
                let target = ws.plan(&path, true)?;
                if target.object().is_some() {
                    return Err(ToolError::Patch {
                        message: format!("Add File: `{path}` already exists; use `*** Update File:` to change it"),
                    });
                }
                claim(&target)?;
                writes.push(Staged::Write {
                    target,
                    content,
                    summary: format!("A {path}"),
                });
            }
            FileOp::Delete { path } => {
                // The link itself, not what it points to, is what a Delete of a symlink removes.
                let target = ws.plan(&path, false)?;
                match target.object().map(|s| FileType::from_raw_mode(s.st_mode)) {
                    None => {
                        return Err(ToolError::Patch {
                            message: format!("Delete File: `{path}` does not exist"),
                        });
                    }
                    Some(FileType::Directory) => {
                        return Err(ToolError::Patch {
                            message: format!("Delete File: `{path}` is a directory; only files can be deleted"),
                        });
                    }
                    Some(_) => {}
                }
                claim(&target)?;
                removes.push(Staged::Remove {
                    target: ws.realize(target)?,
                });
            }
            FileOp::Update { path, move_to, chunks } => {
                let source = ws.plan(&path, true)?;
                if source.object().is_none() {
                    return Err(ToolError::Patch {
                        message: format!("Update File: `{path}` does not exist"),
                    });
                }
                claim(&source)?;
                let source = ws.realize(source)?;
                let text = load_text(ws, &source)?;
                let content = apply_chunks(&text, &chunks).map_err(|m| ToolError::Patch {
                    message: format!("Update File: `{path}`: {m}"),
                })?;
                let Some(dest) = move_to else {
                    writes.push(Staged::Write {
                        target: Planned::from(source),
                        content,
                        summary: format!("M {path}"),
                    });
                    continue;
                };
                let target = ws.plan(&dest, true)?;
                if target
                    .object()
                    .is_some_and(|s| FileType::from_raw_mode(s.st_mode) == FileType::Directory)
                {
                    return Err(ToolError::Patch {
                        message: format!("Move to: `{dest}` is a directory"),
                    });
                }
                claim(&target)?;
                writes.push(Staged::Write {
                    target,
                    content,
                    summary: format!("R {path} -> {dest}"),
                });
                removes.push(Staged::Remove { target: source });
            }
        }
    }
    // Removes last, so a move never loses its source before the destination is written.
    writes.extend(removes);
    Ok(writes)
}

fn commit(ws: &Workspace, staged: Vec<Staged>) -> Result<String, ToolError> {
    let mut done: Vec<String> = Vec::new();
    for change in staged {
        let result = match change {
            Staged::Write {
                target,
                content,
                summary,
            } => ws
                .realize(target)
                .and_then(|located| replace_file(&located, content.as_bytes()))
                .map(|()| Some(summary)),
            Staged::Remove { target } => remove(&target).map(|()| {
                // A move's source is already summarised by its `R` line.
                let moved = done.iter().any(|d| d.starts_with(&format!("R {} -> ", target.shown)));
                (!moved).then(|| format!("D {}", target.shown))
            }),
        };
        match result {
            Ok(Some(summary)) => done.push(summary),
            Ok(None) => {}
            Err(error) => {
                let applied = if done.is_empty() {
                    "nothing".to_owned()
                } else {
                    done.join(", ")
                };
                return Err(ToolError::PatchPartlyApplied {
                    message: format!(
                        "every hunk matched, but writing failed: {error}. Already applied: {applied}; the rest was not"
                    ),
                });
            }
        }
    }
    Ok(format!("Applied patch:\n{}", done.join("\n")))
}

fn remove(target: &Located) -> Result<(), ToolError> {
    rustix::fs::unlinkat(&target.dir, &target.name, AtFlags::empty())
        .map_err(|e| ToolError::io("deleting", &target.shown, e))?;
    sync_dir(target.dir.as_fd(), &target.shown)
}

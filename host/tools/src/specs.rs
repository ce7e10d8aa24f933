//! What the model is told about the built-in tools.

use serde::Serialize;
use serde_json::{Value, json};

/// A tool offered to the model: its name, what it does, and a JSON schema of its arguments.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ToolSpec {
    pub name: String,
    pub description: String,
    pub parameters: Value,
}

fn spec(name: &str, description: &str, parameters: Value) -> ToolSpec {
    ToolSpec {
        name: name.to_owned(),
        description: description.to_owned(),
        parameters,
    }
}

/// Specs of read, write, edit, apply_patch, exec and process. Which of them an agent is offered
/// is the tool policy's decision, not this crate's.
pub fn specs() -> Vec<ToolSpec> {
    vec![
        spec(
            "read",
            "Read a text file. Returns up to `limit` lines (default 2000) starting at line `offset` (1-based), at \
             most 256 KiB; when more follows, a closing note gives the offset to continue from. Binary files are \
             refused.",
            json!({
                "type": "object",
                "properties": {
                    "path": { "type": "string", "description": "File path, relative to the workspace or absolute." },
                    "offset": { "type": "integer", "minimum": 1, "description": "First line to return (1-based)." },
                    "limit": { "type": "integer", "minimum": 1, "description": "Number of lines to return." }
                },
                "required": ["path"],
                "additionalProperties": false
            }),
        ),
        spec(
            "write",
            "Create or overwrite a file with the given content. Missing parent directories are created. The \
             file is replaced atomically.",
            json!({
                "type": "object",
                "properties": {
                    "path": { "type": "string", "description": "File path, relative to the workspace or absolute." },
                    "content": { "type": "string", "description": "The complete new content." }
                },
                "required": ["path", "content"],
                "additionalProperties": false
            }),
        ),
        spec(
            "edit",
            "Replace one exact piece of text in a file. `oldText` must occur exactly once, matching whitespace \
             and indentation; include enough surrounding lines to make it unique.",
            json!({
                "type": "object",
                "properties": {
                    "path": { "type": "string", "description": "File path, relative to the workspace or absolute." },
                    "oldText": { "type": "string", "description": "Exact text to find (must be unique in the file)." },
                    "newText": { "type": "string", "description": "Text to put in its place." }
                },
                "required": ["path", "oldText", "newText"],
                "additionalProperties": false
            }),
        ),
        spec(
            "apply_patch",
            "Apply a multi-file patch. Format: `*** Begin Patch`, then sections `*** Add File: <path>` (lines \
             prefixed '+'), `*** Delete File: <path>`, or `*** Update File: <path>` (optionally followed by \
             `*** Move to: <path>`) with hunks that start with `@@` (optionally `@@ <line to find first>`) and \
             contain context lines prefixed ' ', removed lines prefixed '-' and added lines prefixed '+'; \
             `*** End of File` ends a hunk that must match at the end of the file; finally `*** End Patch`. \
             Every hunk is checked before anything is written: if one does not match, nothing changes.",
            json!({
                "type": "object",
                "properties": {
                    "input": { "type": "string", "description": "The whole patch, from `*** Begin Patch` to `*** End Patch`." }
                },
                "required": ["input"],
                "additionalProperties": false
            }),
        ),
        spec(
            "exec",
            "Run a shell command (`/bin/sh -c`). Returns stdout, stderr and the exit code. The command and \
             everything it starts are killed at the timeout. With `background: true` it keeps running and \
             returns an id for the `process` tool.",
            json!({
                "type": "object",
                "properties": {
                    "command": { "type": "string", "description": "Shell command line." },
                    "workdir": { "type": "string", "description": "Directory to run in (default: the workspace)." },
                    "env": {
                        "type": "object",
                        "additionalProperties": { "type": "string" },
                        "description": "Extra environment variables. PATH, LD_* and DYLD_* cannot be set."
                    },
                    "timeout": { "type": "integer", "minimum": 1, "description": "Seconds before the command is killed." },
                    "background": { "type": "boolean", "description": "Run in the background; watch it with `process`." }
                },
                "required": ["command"]
            }),
        ),
        spec(
            "process",
            "Manage background commands started by exec: `list` them, `poll` one for its status and the output \
             since the last poll, read its kept output with `log` (lines `offset`..`offset+limit`), `kill` it \
             (with everything it started), or `remove` it.",
            json!({
                "type": "object",
                "properties": {
                    "action": { "type": "string", "enum": ["list", "poll", "log", "kill", "remove"] },
                    "sessionId": { "type": "string", "description": "The id exec returned (not needed for list)." },
                    "offset": { "type": "integer", "minimum": 0, "description": "log: first line (0-based)." },
                    "limit": { "type": "integer", "minimum": 1, "description": "log: number of lines." }
                },
                "required": ["action"],
                "additionalProperties": false
            }),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::specs;

    #[test]
    fn every_builtin_has_a_schema_whose_required_fields_exist() {
        let specs = specs();
        let names: Vec<&str> = specs.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["read", "write", "edit", "apply_patch", "exec", "process"]);
        for spec in &specs {
            assert_eq!(spec.parameters["type"], "object", "{}", spec.name);
            let properties = spec.parameters["properties"].as_object().unwrap();
            for required in spec.parameters["required"].as_array().unwrap() {
                assert!(
                    properties.contains_key(required.as_str().unwrap()),
                    "{}: {required}",
                    spec.name
                );
            }
        }
    }
}

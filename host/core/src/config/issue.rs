//! Config problems as data: where, what, and how to fix it.

use std::fmt;

use serde::Serialize;

use super::path::JsonPath;

/// What kind of problem an [`Issue`] is; stable names for `--json` consumers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum IssueKind {
    /// The file is not valid JSON5.
    Syntax,
    /// A key the schema does not know.
    UnknownKey,
    /// A required key is absent.
    MissingKey,
    /// A value of the wrong JSON type.
    WrongType,
    /// A value outside an enum.
    InvalidValue,
    /// A number outside its range, a string of the wrong length or shape.
    OutOfRange,
    /// `${VAR}` names a variable that is missing or empty.
    MissingEnvVar,
    /// A `$include` that cannot be used.
    Include,
    /// A rule across several keys (e.g. `dmPolicy: "open"` without `"*"` in `allowFrom`).
    Conflict,
    /// A file the config points at (secret file, include) is unsafe or unreadable.
    Unsafe,
}

/// Whether the issue makes the config invalid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Informational: a seed or legacy shape was read as its canonical form.
    Note,
    /// Valid, but probably not what the operator meant.
    Warning,
    /// The config is rejected.
    Error,
}

/// One problem found in a config, with everything needed to fix it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Issue {
    pub severity: Severity,
    pub kind: IssueKind,
    /// Where in the document; the root for file-level problems.
    pub path: JsonPath,
    /// What is wrong, in one sentence.
    pub message: String,
    /// Every allowed value, for enums; every valid key, for unknown keys (OpenClaw's
    /// `allowedValues`).
    #[serde(rename = "allowedValues", skip_serializing_if = "Vec::is_empty")]
    pub allowed: Vec<String>,
    /// How to fix it: the closest valid key, the right shape, the command to run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
    /// `line:column` in the source file when known (syntax errors); serialized as OpenClaw's
    /// `sourceFile` and `line`, plus `column`.
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub location: Option<Box<Location>>,
}

/// A position in a source file, 1-based.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Location {
    #[serde(rename = "sourceFile")]
    pub file: String,
    pub line: usize,
    pub column: usize,
}

impl Issue {
    pub fn error(kind: IssueKind, path: JsonPath, message: impl Into<String>) -> Self {
        Self {
            severity: Severity::Error,
            kind,
            path,
            message: message.into(),
            allowed: Vec::new(),
            hint: None,
            location: None,
        }
    }

    pub fn warning(kind: IssueKind, path: JsonPath, message: impl Into<String>) -> Self {
        Self {
            severity: Severity::Warning,
            ..Self::error(kind, path, message)
        }
    }

    pub fn note(kind: IssueKind, path: JsonPath, message: impl Into<String>) -> Self {
        Self {
            severity: Severity::Note,
            ..Self::error(kind, path, message)
        }
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    pub fn with_allowed(mut self, allowed: Vec<String>) -> Self {
        self.allowed = allowed;
        self
    }

    pub fn with_location(mut self, location: Location) -> Self {
        self.location = Some(Box::new(location));
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl fmt::Display for Issue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.location {
            Some(loc) => write!(f, "{}:{}:{}: ", loc.file, loc.line, loc.column)?,
            None => write!(f, "{}: ", self.path)?,
        }
        f.write_str(&self.message)?;
        if !self.allowed.is_empty() {
            if self.kind == IssueKind::UnknownKey {
                write!(f, " (valid keys here: {})", self.allowed.join(", "))?;
            } else {
                let quoted: Vec<String> = self.allowed.iter().map(|v| format!("\"{v}\"")).collect();
                write!(f, " (allowed values: {})", quoted.join(", "))?;
            }
        }
        if let Some(hint) = &self.hint {
            write!(f, ". {hint}")?;
        }
        Ok(())
    }
}

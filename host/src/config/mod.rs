//! Reading the config from disk: the file, its `$include`s and the environment, then the pure
//! checks in `openclaw_core::config`.

pub mod edit;
pub mod include;

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use openclaw_core::config::check::{self, Checked, UnsetVariables};
use openclaw_core::config::issue::{Issue, IssueKind, Severity};
use openclaw_core::config::parse;
use openclaw_core::config::path::JsonPath;
use openclaw_core::config::schema::Config;
use serde_json::Value;

use crate::state::{Env, StatePaths};

/// The largest config file read (a guard against pointing the config at a device or a log).
pub const MAX_CONFIG_BYTES: u64 = 8 * 1024 * 1024;

/// Where the config came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// Read from this file.
    File(PathBuf),
    /// No file at the default location: OpenClaw's defaults apply.
    Defaults(PathBuf),
}

/// A config as read from disk, before or after a successful check.
#[derive(Debug)]
pub struct Loaded {
    pub origin: Origin,
    /// The top-level file as written (JSON5 parsed, includes *not* resolved): what `config set`
    /// edits so includes stay includes.
    pub top: Value,
    /// The merged document with includes resolved and `${VAR}` references left as written (safe
    /// to show).
    pub merged: Value,
    /// Every included file.
    pub includes: Vec<PathBuf>,
    /// The outcome of the checks; `checked.config` is set when the config is valid.
    pub checked: Checked,
    /// Notes from parsing (lenient reads of seed syntax).
    pub parse_notes: Vec<Issue>,
    /// Warnings about the files themselves (permissions, ownership).
    pub file_issues: Vec<Issue>,
}

impl Loaded {
    pub fn path(&self) -> &Path {
        match &self.origin {
            Origin::File(path) | Origin::Defaults(path) => path,
        }
    }

    pub fn config(&self) -> Option<&Config> {
        self.checked.config.as_ref()
    }

    /// Every issue: file warnings and parse notes first, then the checks.
    pub fn issues(&self) -> impl Iterator<Item = &Issue> {
        self.file_issues
            .iter()
            .chain(self.parse_notes.iter())
            .chain(self.checked.issues.iter())
    }

    pub fn is_valid(&self) -> bool {
        self.checked.config.is_some()
    }
}

/// Why a config could not even be checked (unreadable, not JSON5, broken include).
#[derive(Debug)]
pub struct LoadFailure {
    pub path: PathBuf,
    pub issue: Box<Issue>,
}

/// Reads a file with a size cap.
pub fn read_capped(path: &Path, cap: u64) -> std::io::Result<String> {
    let file = fs::File::open(path)?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "not a regular file",
        ));
    }
    let mut text = String::new();
    file.take(cap + 1).read_to_string(&mut text)?;
    if text.len() as u64 > cap {
        return Err(std::io::Error::new(
            std::io::ErrorKind::FileTooLarge,
            format!("larger than {cap} bytes"),
        ));
    }
    Ok(text)
}

/// Loads the config at `paths.config_path`. A missing file at the default location means
/// defaults; a missing file named by `OPENCLAW_CONFIG_PATH` is an error (probably a typo).
pub fn load(paths: &StatePaths, env: &Env) -> Result<Loaded, LoadFailure> {
    load_with(paths, env, UnsetVariables::Refuse)
}

/// [`load`], choosing what an unset `${VAR}` means (the audit reports those as diagnostics and
/// checks the rest).
pub fn load_with(paths: &StatePaths, env: &Env, unset: UnsetVariables) -> Result<Loaded, LoadFailure> {
    let path = &paths.config_path;
    let explicit = env.get("OPENCLAW_CONFIG_PATH").is_some();
    let text = match read_capped(path, MAX_CONFIG_BYTES) {
        Ok(text) => Some(text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !explicit => None,
        Err(e) => {
            let hint = if e.kind() == std::io::ErrorKind::NotFound {
                "OPENCLAW_CONFIG_PATH names a file that does not exist; fix the variable or create the file"
            } else {
                "check the path and its permissions"
            };
            return Err(LoadFailure {
                path: path.clone(),
                issue: Box::new(
                    Issue::error(
                        IssueKind::Unsafe,
                        JsonPath::root(),
                        format!("cannot read {}: {e}", path.display()),
                    )
                    .with_hint(hint),
                ),
            });
        }
    };
    match text {
        Some(text) => load_text_with(&text, path, env, unset),
        None => Ok(from_document(
            Value::Object(Default::default()),
            Origin::Defaults(path.clone()),
            Vec::new(),
            Vec::new(),
            env,
            unset,
        )),
    }
}

/// Checks config `text` as if it were the file at `path`.
pub fn load_text(text: &str, path: &Path, env: &Env) -> Result<Loaded, LoadFailure> {
    load_text_with(text, path, env, UnsetVariables::Refuse)
}

/// [`load_text`], choosing what an unset `${VAR}` means (`config set` keeps the references it
/// cannot resolve and validates the rest).
pub fn load_text_with(text: &str, path: &Path, env: &Env, unset: UnsetVariables) -> Result<Loaded, LoadFailure> {
    let failure = |issue: Issue| LoadFailure {
        path: path.to_path_buf(),
        issue: Box::new(issue),
    };
    let parsed = parse::parse(text, &path.display().to_string()).map_err(failure)?;
    let top = parsed.value;
    let (merged, includes) = include::resolve(top.clone(), path).map_err(failure)?;
    let mut loaded = from_document(
        merged,
        Origin::File(path.to_path_buf()),
        includes,
        parsed.notes,
        env,
        unset,
    );
    loaded.top = top;
    let files = std::iter::once(path.to_path_buf()).chain(loaded.includes.iter().cloned());
    loaded.file_issues = files.filter_map(|file| file_permission_issue(&file)).collect();
    Ok(loaded)
}

fn from_document(
    merged: Value,
    origin: Origin,
    includes: Vec<PathBuf>,
    parse_notes: Vec<Issue>,
    env: &Env,
    unset: UnsetVariables,
) -> Loaded {
    let lookup = |name: &str| env.get(name).map(str::to_string);
    let checked = check::check_with(merged.clone(), &lookup, &[], unset);
    Loaded {
        origin,
        top: merged.clone(),
        merged,
        includes,
        checked,
        parse_notes,
        file_issues: Vec::new(),
    }
}

/// A warning when a config file can be read or changed by other users: it holds tokens, and
/// whoever can edit it is the operator.
fn file_permission_issue(file: &Path) -> Option<Issue> {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let meta = fs::metadata(file).ok()?;
    let mode = meta.permissions().mode() & 0o777;
    let me = crate::state::current_uid();
    let message = if meta.uid() != me {
        format!(
            "{} is owned by uid {}, not by you (uid {me}); its owner controls this gateway",
            file.display(),
            meta.uid()
        )
    } else if mode & 0o022 != 0 {
        format!(
            "{} can be changed by group or others (mode {mode:04o}); they could rewrite this gateway's policy",
            file.display()
        )
    } else if mode & 0o044 != 0 {
        format!(
            "{} is readable by group or others (mode {mode:04o}); it may hold tokens",
            file.display()
        )
    } else {
        return None;
    };
    Some(
        Issue::warning(IssueKind::Unsafe, JsonPath::root(), message)
            .with_hint(format!("run `chmod 600 {}`", file.display())),
    )
}

/// Counts issues by severity: (errors, warnings, notes).
pub fn tally<'a>(issues: impl Iterator<Item = &'a Issue>) -> (usize, usize, usize) {
    issues.fold((0, 0, 0), |(e, w, n), issue| match issue.severity {
        Severity::Error => (e + 1, w, n),
        Severity::Warning => (e, w + 1, n),
        Severity::Note => (e, w, n + 1),
    })
}

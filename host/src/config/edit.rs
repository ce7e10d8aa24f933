//! Reading and changing single values by path (`config get`, `config set`, `config unset`), and
//! writing the config back safely.

use std::path::{Path, PathBuf};

use openclaw_core::config::issue::Issue;
use openclaw_core::config::path::{JsonPath, Segment};
use serde_json::{Map, Value};

use openclaw_core::config::check::UnsetVariables;

use super::{LoadFailure, Loaded, MAX_CONFIG_BYTES, load_text_with, read_capped};
use crate::state::{self, Env, StateError, StateLock, StatePaths};

/// Reads a value the operator typed: JSON5 when it parses (`true`, `18789`, `["a"]`,
/// `{mode: "token"}`, `"quoted"`), otherwise the text itself (`lan`, `per-channel-peer`).
pub fn parse_cli_value(text: &str) -> Value {
    match openclaw_core::config::parse::parse_value(text) {
        Ok(value) => value,
        Err(_) => Value::String(text.to_string()),
    }
}

/// The value at `path`, if present.
pub fn get<'v>(doc: &'v Value, path: &JsonPath) -> Option<&'v Value> {
    openclaw_core::config::check::get(doc, path)
}

/// Sets `path` to `value`, creating objects along the way.
pub fn set(doc: &mut Value, path: &JsonPath, value: Value) -> Result<(), String> {
    let Some((last, parents)) = path.segments().split_last() else {
        return match value {
            Value::Object(_) => {
                *doc = value;
                Ok(())
            }
            _ => Err("the config root must be an object".into()),
        };
    };
    let mut current = doc;
    let mut walked = JsonPath::root();
    for (n, segment) in parents.iter().enumerate() {
        let next_is_index = matches!(path.segments().get(n + 1), Some(Segment::Index(_)));
        current = step_mut(current, segment, &walked, next_is_index)?;
        match segment {
            Segment::Key(k) => walked.push_key(k.clone()),
            Segment::Index(i) => walked.push_index(*i),
        }
    }
    match (last, current) {
        (Segment::Key(key), Value::Object(map)) => {
            map.insert(key.clone(), value);
            Ok(())
        }
        (Segment::Index(i), Value::Array(items)) => {
            if *i < items.len() {
                items[*i] = value;
                Ok(())
            } else if *i == items.len() {
                items.push(value);
                Ok(())
            } else {
                Err(format!(
                    "{walked} has {} item(s); index {i} would leave a gap",
                    items.len()
                ))
            }
        }
        (_, other) => Err(format!(
            "{walked} is {}, so it has no {last_desc}",
            openclaw_core::config::parse::value_kind(other),
            last_desc = describe(last)
        )),
    }
}

/// Removes `path`. Returns whether something was removed.
pub fn unset(doc: &mut Value, path: &JsonPath) -> bool {
    let Some((last, parents)) = path.segments().split_last() else {
        return false;
    };
    let mut current = doc;
    for segment in parents {
        current = match (segment, current) {
            (Segment::Key(k), Value::Object(map)) => match map.get_mut(k) {
                Some(next) => next,
                None => return false,
            },
            (Segment::Index(i), Value::Array(items)) => match items.get_mut(*i) {
                Some(next) => next,
                None => return false,
            },
            _ => return false,
        };
    }
    match (last, current) {
        (Segment::Key(k), Value::Object(map)) => map.shift_remove(k).is_some(),
        (Segment::Index(i), Value::Array(items)) if *i < items.len() => {
            items.remove(*i);
            true
        }
        _ => false,
    }
}

fn describe(segment: &Segment) -> String {
    match segment {
        Segment::Key(k) => format!("key \"{k}\""),
        Segment::Index(i) => format!("item [{i}]"),
    }
}

fn step_mut<'v>(
    current: &'v mut Value,
    segment: &Segment,
    walked: &JsonPath,
    next_is_index: bool,
) -> Result<&'v mut Value, String> {
    let here = if walked.is_root() {
        "the config root".to_string()
    } else {
        walked.to_string()
    };
    match segment {
        Segment::Key(key) => {
            let description = openclaw_core::config::parse::value_kind(current);
            let Value::Object(map) = current else {
                return Err(format!("{here} is {description}, so it has no key \"{key}\""));
            };
            Ok(map.entry(key.clone()).or_insert_with(|| {
                if next_is_index {
                    Value::Array(Vec::new())
                } else {
                    Value::Object(Map::new())
                }
            }))
        }
        Segment::Index(i) => {
            let description = openclaw_core::config::parse::value_kind(current);
            let Value::Array(items) = current else {
                return Err(format!("{here} is {description}, so it has no item [{i}]"));
            };
            if *i == items.len() {
                items.push(if next_is_index {
                    Value::Array(Vec::new())
                } else {
                    Value::Object(Map::new())
                });
            }
            let len = items.len();
            items
                .get_mut(*i)
                .ok_or_else(|| format!("{here} has {len} item(s); there is no item [{i}]"))
        }
    }
}

/// The value at `path` in `value`, for changing it in place.
pub fn value_at_mut<'v>(value: &'v mut Value, path: &JsonPath) -> Option<&'v mut Value> {
    let mut target = value;
    for segment in path.segments() {
        target = match (segment, target) {
            (openclaw_core::config::path::Segment::Key(k), Value::Object(map)) => map.get_mut(k)?,
            (openclaw_core::config::path::Segment::Index(i), Value::Array(items)) => items.get_mut(*i)?,
            _ => return None,
        };
    }
    Some(target)
}

/// Why a change was not written.
#[derive(Debug)]
pub enum EditError {
    /// The current file cannot be read or parsed, so it cannot be edited safely.
    Unreadable(LoadFailure),
    /// The change itself does not apply (path through a scalar, ...).
    Path(String),
    /// The config after the change would be invalid; nothing was written.
    Invalid(Box<Loaded>),
    State(StateError),
}

impl std::fmt::Display for EditError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Unreadable(failure) => write!(f, "{}", failure.issue.message),
            Self::Path(message) => f.write_str(message),
            Self::Invalid(loaded) => {
                let first = loaded
                    .issues()
                    .find(|i| i.severity == openclaw_core::config::issue::Severity::Error)
                    .map(|i| format!("{}: {}", i.path, i.message))
                    .unwrap_or_else(|| "the result would be invalid".into());
                write!(f, "the change would make the config invalid ({first})")
            }
            Self::State(e) => e.fmt(f),
        }
    }
}

impl From<StateError> for EditError {
    fn from(e: StateError) -> Self {
        Self::State(e)
    }
}

/// What a successful write did.
#[derive(Debug)]
pub struct Written {
    pub path: PathBuf,
    pub backup: Option<PathBuf>,
    /// The previous file had JSON5 comments or syntax that plain JSON output does not keep.
    pub lost_formatting: bool,
    /// The config as written, checked.
    pub loaded: Box<Loaded>,
}

/// The `.bak` file kept beside the config.
pub fn backup_path(config: &Path) -> PathBuf {
    let mut name = config
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_else(|| "openclaw.json".into());
    name.push(".bak");
    config.with_file_name(name)
}

/// Applies `change` to the top-level config file under the config lock, validates the result,
/// keeps the previous file as `.bak` and writes the new one atomically (0600). `change` returns
/// whether it changed anything; nothing is written (`Ok(None)`) when it did not.
pub fn modify(
    paths: &StatePaths,
    env: &Env,
    change: impl FnOnce(&mut Value) -> Result<bool, String>,
) -> Result<Option<Written>, EditError> {
    let path = paths.config_path.clone();
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    if !dir.exists() {
        state::ensure_private_dir(dir)?;
    }
    let _lock = StateLock::acquire_blocking(&paths.config_lock_path())?;

    let previous = match read_capped(&path, MAX_CONFIG_BYTES) {
        Ok(text) => Some(text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => {
            return Err(EditError::Unreadable(LoadFailure {
                path: path.clone(),
                issue: Box::new(Issue::error(
                    openclaw_core::config::issue::IssueKind::Unsafe,
                    JsonPath::root(),
                    format!("cannot read {}: {e}", path.display()),
                )),
            }));
        }
    };
    let mut top = match &previous {
        Some(text) => openclaw_core::config::parse::parse(text, &path.display().to_string())
            .map(|p| p.value)
            .map_err(|issue| {
                EditError::Unreadable(LoadFailure {
                    path: path.clone(),
                    issue: Box::new(issue),
                })
            })?,
        None => Value::Object(Map::new()),
    };
    if !change(&mut top).map_err(EditError::Path)? {
        return Ok(None);
    }
    let mut text = serde_json::to_string_pretty(&top).map_err(|e| EditError::Path(e.to_string()))?;
    text.push('\n');

    // The editing shell often lacks the gateway's variables: their references are written back
    // as they were, and everything else (the edited value included) is still validated.
    let loaded = load_text_with(&text, &path, env, UnsetVariables::KeepReferences).map_err(EditError::Unreadable)?;
    if !loaded.is_valid() {
        return Err(EditError::Invalid(Box::new(loaded)));
    }

    let mut backup = None;
    let mut lost_formatting = false;
    if let Some(old) = &previous {
        let bak = backup_path(&path);
        state::write_atomic(&bak, old.as_bytes(), state::FILE_MODE)?;
        backup = Some(bak);
        lost_formatting = serde_json::from_str::<Value>(old).is_err();
    }
    state::write_atomic(&path, text.as_bytes(), state::FILE_MODE)?;
    Ok(Some(Written {
        path,
        backup,
        lost_formatting,
        loaded: Box::new(loaded),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn cli_values() {
        assert_eq!(parse_cli_value("lan"), json!("lan"));
        assert_eq!(parse_cli_value("18789"), json!(18789));
        assert_eq!(parse_cli_value("true"), json!(true));
        assert_eq!(parse_cli_value("[\"a\", 'b']"), json!(["a", "b"]));
        assert_eq!(parse_cli_value("{mode: 'token'}"), json!({"mode": "token"}));
        assert_eq!(parse_cli_value("\"18789\""), json!("18789"));
        assert_eq!(parse_cli_value("per-channel-peer"), json!("per-channel-peer"));
    }

    #[test]
    fn set_get_unset() {
        let mut doc = json!({});
        let p = |s: &str| JsonPath::parse(s).unwrap();
        set(&mut doc, &p("gateway.auth.token"), json!("t")).unwrap();
        set(&mut doc, &p("agents.list[0].id"), json!("main")).unwrap();
        set(
            &mut doc,
            &p("channels.whatsapp.groups[\"*\"].requireMention"),
            json!(true),
        )
        .unwrap();
        assert_eq!(
            doc,
            json!({"gateway": {"auth": {"token": "t"}}, "agents": {"list": [{"id": "main"}]},
                   "channels": {"whatsapp": {"groups": {"*": {"requireMention": true}}}}})
        );
        assert_eq!(get(&doc, &p("agents.list[0].id")), Some(&json!("main")));
        let err = set(&mut doc, &p("gateway.auth.token.x"), json!(1)).unwrap_err();
        assert!(err.contains("gateway.auth.token is a string"), "{err}");
        let err = set(&mut doc, &p("agents.list[5]"), json!({})).unwrap_err();
        assert!(err.contains("gap"), "{err}");
        assert!(unset(&mut doc, &p("gateway.auth.token")));
        assert!(!unset(&mut doc, &p("gateway.auth.token")));
    }
}

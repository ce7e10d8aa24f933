//! `$include`: splitting a config over several files, confined to the config's directory.
//!
//! `{ $include: "./channels.json5" }` (or a list of files) may appear in any object. Included
//! objects are deep-merged left to right, then the object's own keys are merged on top: objects
//! merge recursively, lists concatenate, scalars from later sources win. Paths are relative to
//! the including file and must stay inside the top-level config directory, checked both on the
//! path as written and on the real path (so a symlink cannot lead out of it).

use std::collections::HashSet;
use std::fs;
use std::path::{Component, Path, PathBuf};

use openclaw_core::config::issue::{Issue, IssueKind};
use openclaw_core::config::parse;
use openclaw_core::config::path::JsonPath;
use serde_json::{Map, Value};

/// Deepest chain of includes allowed.
pub const MAX_DEPTH: usize = 10;
/// Largest include file read.
pub const MAX_INCLUDE_BYTES: u64 = 2 * 1024 * 1024;

const INCLUDE_KEY: &str = "$include";
/// Keys dropped while merging so a config can never plant JavaScript prototype keys, which would
/// matter if the document is handed to a JavaScript plugin or UI.
const POLLUTION_KEYS: &[&str] = &["__proto__", "constructor", "prototype"];

/// Resolves every `$include` in `doc` (read from `file`). Returns the merged document and the
/// files it included, in the order read.
pub fn resolve(doc: Value, file: &Path) -> Result<(Value, Vec<PathBuf>), Issue> {
    let root_dir = file
        .parent()
        .map(Path::to_path_buf)
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or_else(|| PathBuf::from("."));
    let root_real = fs::canonicalize(&root_dir).unwrap_or_else(|_| root_dir.clone());
    let mut resolver = Resolver {
        root_dir: normalize_lexically(&absolute(&root_dir)),
        root_real,
        included: Vec::new(),
    };
    let mut chain = HashSet::new();
    if let Ok(real) = fs::canonicalize(file) {
        chain.insert(real);
    }
    let mut path = JsonPath::root();
    let merged = resolver.expand(doc, file, &mut path, &mut chain, 0)?;
    Ok((merged, resolver.included))
}

struct Resolver {
    root_dir: PathBuf,
    root_real: PathBuf,
    included: Vec<PathBuf>,
}

fn absolute(path: &Path) -> PathBuf {
    if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir()
            .map(|cwd| cwd.join(path))
            .unwrap_or_else(|_| path.to_path_buf())
    }
}

/// Removes `.` and resolves `..` without touching the file system.
fn normalize_lexically(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other.as_os_str()),
        }
    }
    out
}

fn include_error(path: &JsonPath, message: String) -> Issue {
    Issue::error(IssueKind::Include, path.clone(), message)
}

impl Resolver {
    fn expand(
        &mut self,
        value: Value,
        file: &Path,
        path: &mut JsonPath,
        chain: &mut HashSet<PathBuf>,
        depth: usize,
    ) -> Result<Value, Issue> {
        match value {
            Value::Object(mut map) => {
                let include = map.remove(INCLUDE_KEY);
                let mut own = Map::new();
                for (key, item) in map {
                    if POLLUTION_KEYS.contains(&key.as_str()) {
                        continue;
                    }
                    path.push_key(key.clone());
                    let expanded = self.expand(item, file, path, chain, depth);
                    path.pop();
                    own.insert(key, expanded?);
                }
                let Some(include) = include else {
                    return Ok(Value::Object(own));
                };
                let targets: Vec<String> = match include {
                    Value::String(s) => vec![s],
                    Value::Array(items) => items
                        .into_iter()
                        .map(|item| match item {
                            Value::String(s) => Ok(s),
                            other => Err(include_error(
                                &path.key(INCLUDE_KEY),
                                format!("$include entries must be file paths (strings), found {other}"),
                            )),
                        })
                        .collect::<Result<_, _>>()?,
                    other => {
                        return Err(include_error(
                            &path.key(INCLUDE_KEY),
                            format!("$include must be a file path or a list of file paths, found {other}"),
                        ));
                    }
                };
                let mut merged = Value::Object(Map::new());
                for target in targets {
                    let included = self.load(&target, file, path, chain, depth)?;
                    if !included.is_object() {
                        return Err(include_error(
                            &path.key(INCLUDE_KEY),
                            format!(
                                "{target} must contain an object to be merged here, found {}",
                                openclaw_core::config::parse::value_kind(&included)
                            ),
                        ));
                    }
                    deep_merge(&mut merged, included);
                }
                deep_merge(&mut merged, Value::Object(own));
                Ok(merged)
            }
            Value::Array(items) => {
                let mut out = Vec::with_capacity(items.len());
                for (i, item) in items.into_iter().enumerate() {
                    path.push_index(i);
                    let expanded = self.expand(item, file, path, chain, depth);
                    path.pop();
                    out.push(expanded?);
                }
                Ok(Value::Array(out))
            }
            other => Ok(other),
        }
    }

    fn load(
        &mut self,
        target: &str,
        from: &Path,
        path: &JsonPath,
        chain: &mut HashSet<PathBuf>,
        depth: usize,
    ) -> Result<Value, Issue> {
        let at = path.key(INCLUDE_KEY);
        if depth + 1 > MAX_DEPTH {
            return Err(include_error(
                &at,
                format!("includes are nested more than {MAX_DEPTH} deep (at {target}); flatten the chain"),
            ));
        }
        let base = from.parent().unwrap_or_else(|| Path::new("."));
        let candidate = normalize_lexically(&absolute(&base.join(target)));
        if !candidate.starts_with(&self.root_dir) {
            return Err(include_error(
                &at,
                format!(
                    "{target} is outside the config directory {}; included files must live next to the config",
                    self.root_dir.display()
                ),
            ));
        }
        let real = fs::canonicalize(&candidate)
            .map_err(|e| include_error(&at, format!("cannot read included file {}: {e}", candidate.display())))?;
        if !real.starts_with(&self.root_real) {
            return Err(include_error(
                &at,
                format!(
                    "{target} resolves to {} outside the config directory (through a symlink); refusing to read it",
                    real.display()
                ),
            ));
        }
        if chain.contains(&real) {
            return Err(include_error(
                &at,
                format!("{target} is already being included (circular $include); remove the cycle"),
            ));
        }
        let meta =
            fs::metadata(&real).map_err(|e| include_error(&at, format!("cannot read {}: {e}", real.display())))?;
        if !meta.is_file() {
            return Err(include_error(&at, format!("{} is not a regular file", real.display())));
        }
        if meta.len() > MAX_INCLUDE_BYTES {
            return Err(include_error(
                &at,
                format!(
                    "{} is {} bytes; included files are limited to {MAX_INCLUDE_BYTES} bytes",
                    real.display(),
                    meta.len()
                ),
            ));
        }
        let text = fs::read_to_string(&real)
            .map_err(|e| include_error(&at, format!("cannot read {}: {e}", real.display())))?;
        let parsed = match parse::parse(&text, &real.display().to_string()) {
            Ok(parsed) => parsed,
            Err(issue) if issue.kind == openclaw_core::config::issue::IssueKind::WrongType => {
                parse_any(&text, &real, &at)?
            }
            Err(issue) => return Err(issue),
        };
        self.included.push(real.clone());
        chain.insert(real.clone());
        let mut nested_path = path.clone();
        let expanded = self.expand(parsed.value, &real, &mut nested_path, chain, depth + 1);
        chain.remove(&real);
        expanded
    }
}

/// An included file that is not an object still parses (so the error can say what it holds).
fn parse_any(text: &str, file: &Path, at: &JsonPath) -> Result<parse::Parsed, Issue> {
    parse::parse_value(text)
        .map(|value| parse::Parsed {
            value,
            notes: Vec::new(),
        })
        .map_err(|e| include_error(at, format!("{}: {e}", file.display())))
}

/// Merges `overlay` into `base`: objects recurse, lists concatenate, anything else replaces.
pub fn deep_merge(base: &mut Value, overlay: Value) {
    match (base, overlay) {
        (Value::Object(base), Value::Object(overlay)) => {
            for (key, value) in overlay {
                if POLLUTION_KEYS.contains(&key.as_str()) {
                    continue;
                }
                match base.get_mut(&key) {
                    Some(existing) => deep_merge(existing, value),
                    None => {
                        base.insert(key, value);
                    }
                }
            }
        }
        (Value::Array(base), Value::Array(overlay)) => base.extend(overlay),
        (base, overlay) => *base = overlay,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let path = dir.join(name);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).unwrap();
        }
        fs::write(&path, text).unwrap();
        path
    }

    fn load(main: &Path) -> Result<(Value, Vec<PathBuf>), Issue> {
        let text = fs::read_to_string(main).unwrap();
        resolve(parse::parse(&text, "main").unwrap().value, main)
    }

    #[test]
    fn merges_includes_and_siblings() {
        let tmp = tempfile::tempdir().unwrap();
        write(
            tmp.path(),
            "a.json5",
            "{ gateway: { port: 1, bind: 'lan' }, tools: { deny: ['a'] } }",
        );
        write(
            tmp.path(),
            "sub/b.json5",
            "{ gateway: { port: 2 }, tools: { deny: ['b'] } }",
        );
        let main = write(
            tmp.path(),
            "openclaw.json",
            "{ $include: ['./a.json5', 'sub/b.json5'], gateway: { port: 3 }, __proto__: { x: 1 } }",
        );
        let (doc, files) = load(&main).unwrap();
        assert_eq!(
            doc,
            json!({"gateway": {"port": 3, "bind": "lan"}, "tools": {"deny": ["a", "b"]}})
        );
        assert_eq!(files.len(), 2);
    }

    #[test]
    fn nested_include_inside_a_section() {
        let tmp = tempfile::tempdir().unwrap();
        write(tmp.path(), "channels.json5", "{ telegram: { dmPolicy: 'pairing' } }");
        let main = write(
            tmp.path(),
            "openclaw.json",
            "{ channels: { $include: 'channels.json5' } }",
        );
        let (doc, _) = load(&main).unwrap();
        assert_eq!(doc["channels"]["telegram"]["dmPolicy"], "pairing");
    }

    #[test]
    fn escapes_are_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let conf = tmp.path().join("conf");
        fs::create_dir(&conf).unwrap();
        write(tmp.path(), "outside.json5", "{}");
        let main = write(&conf, "openclaw.json", "{ $include: '../outside.json5' }");
        let err = load(&main).unwrap_err();
        assert!(err.message.contains("outside the config directory"), "{err}");
        assert_eq!(err.path.to_string(), "$include");

        std::os::unix::fs::symlink(tmp.path().join("outside.json5"), conf.join("link.json5")).unwrap();
        let main = write(&conf, "openclaw.json", "{ $include: 'link.json5' }");
        let err = load(&main).unwrap_err();
        assert!(err.message.contains("through a symlink"), "{err}");
    }

    #[test]
    fn cycles_and_depth_are_refused() {
        let tmp = tempfile::tempdir().unwrap();
        write(tmp.path(), "a.json5", "{ $include: 'b.json5' }");
        write(tmp.path(), "b.json5", "{ $include: 'a.json5' }");
        let main = write(tmp.path(), "openclaw.json", "{ $include: 'a.json5' }");
        let err = load(&main).unwrap_err();
        assert!(err.message.contains("circular"), "{err}");

        for i in 0..12 {
            write(
                tmp.path(),
                &format!("d{i}.json5"),
                &format!("{{ $include: 'd{}.json5' }}", i + 1),
            );
        }
        write(tmp.path(), "d12.json5", "{}");
        let main = write(tmp.path(), "openclaw.json", "{ $include: 'd0.json5' }");
        let err = load(&main).unwrap_err();
        assert!(err.message.contains("nested more than 10"), "{err}");
    }

    #[test]
    fn missing_and_non_object_includes() {
        let tmp = tempfile::tempdir().unwrap();
        let main = write(tmp.path(), "openclaw.json", "{ gateway: { $include: 'nope.json5' } }");
        let err = load(&main).unwrap_err();
        assert_eq!(err.path.to_string(), "gateway.$include");
        assert!(err.message.contains("cannot read"), "{err}");

        write(tmp.path(), "list.json5", "[1, 2]");
        let main = write(tmp.path(), "openclaw.json", "{ $include: 'list.json5' }");
        let err = load(&main).unwrap_err();
        assert!(err.message.contains("must contain an object"), "{err}");
    }

    #[test]
    fn syntax_errors_point_into_the_included_file() {
        let tmp = tempfile::tempdir().unwrap();
        write(tmp.path(), "bad.json5", "{\n  a: 1\n  b: 2\n}");
        let main = write(tmp.path(), "openclaw.json", "{ $include: 'bad.json5' }");
        let err = load(&main).unwrap_err();
        let loc = err.location.clone().unwrap();
        assert!(loc.file.ends_with("bad.json5"));
        assert_eq!(loc.line, 3);
    }
}

//! The pure part of loading a config: normalize seed shapes, substitute `${VAR}`, validate against
//! the schema, read into the typed [`Config`], and apply the cross-key rules.

use serde_json::Value;

use super::compat;
use super::env_subst;
use super::issue::{Issue, IssueKind};
use super::path::{JsonPath, Segment};
use super::rules::{self, RuleContext};
use super::schema::{self, Config};
use super::validate;

/// The outcome of checking one document.
#[derive(Debug)]
pub struct Checked {
    /// The typed config, when there were no errors.
    pub config: Option<Config>,
    /// The document after normalization and substitution (holds resolved `${VAR}` values: never
    /// print it).
    pub resolved: Value,
    /// Errors, warnings and notes, in document order within each stage.
    pub issues: Vec<Issue>,
}

impl Checked {
    pub fn has_errors(&self) -> bool {
        self.issues.iter().any(Issue::is_error)
    }
}

/// Variables the config itself defines (`env.vars` and inline `env` keys).
fn config_env(doc: &Value) -> Vec<(String, String)> {
    let Some(env) = doc.get("env").and_then(Value::as_object) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    if let Some(vars) = env.get("vars").and_then(Value::as_object) {
        out.extend(
            vars.iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string()))),
        );
    }
    out.extend(
        env.iter()
            .filter(|(k, _)| k.as_str() != "vars" && k.as_str() != "shellEnv")
            .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string()))),
    );
    out
}

/// What a `${VAR}` the environment does not provide means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnsetVariables {
    /// An error: the gateway must not start with the reference text as a value.
    Refuse,
    /// A warning, the reference kept as written: for editing the file from a shell that does not
    /// carry the gateway's variables. The rest of the document is still checked.
    KeepReferences,
}

/// Checks `doc` (the merged document, `$include`s already resolved). `env` looks up process
/// environment variables; variables the config's own `env` block defines are used when the
/// process does not have them (they never override it). `extra_channels` are channel ids provided
/// by installed plugins.
pub fn check(doc: Value, env: &dyn Fn(&str) -> Option<String>, extra_channels: &[&str]) -> Checked {
    check_with(doc, env, extra_channels, UnsetVariables::Refuse)
}

/// [`check`], choosing what an unset variable means.
pub fn check_with(
    mut doc: Value,
    env: &dyn Fn(&str) -> Option<String>,
    extra_channels: &[&str],
    unset: UnsetVariables,
) -> Checked {
    let mut issues = compat::normalize(&mut doc);

    let from_config = config_env(&doc);
    let lookup = |name: &str| -> Option<String> {
        env(name).or_else(|| from_config.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()))
    };
    let mut resolved = doc;
    if let Err(missing) = env_subst::substitute(&mut resolved, &lookup) {
        for m in missing {
            let what = if m.empty { "is empty" } else { "is not set" };
            let issue = match unset {
                UnsetVariables::Refuse => Issue::error(
                    IssueKind::MissingEnvVar,
                    m.path,
                    format!("environment variable {} {what}", m.var),
                ),
                UnsetVariables::KeepReferences => Issue::warning(
                    IssueKind::MissingEnvVar,
                    m.path,
                    format!(
                        "environment variable {} {what} in this shell; the reference is kept as written",
                        m.var
                    ),
                ),
            };
            issues.push(issue.with_hint(format!(
                "export {}=... where the gateway runs, or define it in env.vars",
                m.var
            )));
        }
    }

    let owned_schema;
    let schema_value = if extra_channels.is_empty() {
        schema::root_schema()
    } else {
        owned_schema = schema::root_schema_with_channels(extra_channels);
        &owned_schema
    };
    issues.extend(validate::validate(schema_value, &resolved));
    if issues.iter().any(Issue::is_error) {
        // Still run the cross-key rules on what is valid, so the operator sees every problem in
        // one pass: drop the values the schema rejected and read the rest.
        let mut pruned = resolved.clone();
        for issue in issues.iter().filter(|i| i.is_error()) {
            remove_at(&mut pruned, &issue.path);
        }
        if let Ok(config) = serde_path_to_error::deserialize::<_, Config>(&pruned) {
            let known: Vec<(String, String)> = issues.iter().map(|i| (i.path.to_string(), i.message.clone())).collect();
            for issue in rules::check(&config, &pruned, &RuleContext { env: &lookup }) {
                if !known
                    .iter()
                    .any(|(p, m)| *p == issue.path.to_string() && *m == issue.message)
                {
                    issues.push(issue);
                }
            }
        }
        return Checked {
            config: None,
            resolved,
            issues,
        };
    }

    let config: Config = match serde_path_to_error::deserialize(&resolved) {
        Ok(config) => config,
        Err(err) => {
            let path = serde_path(err.path());
            let message = err.inner().to_string();
            issues.push(Issue::error(IssueKind::WrongType, path, message));
            return Checked {
                config: None,
                resolved,
                issues,
            };
        }
    };
    issues.extend(rules::check(&config, &resolved, &RuleContext { env: &lookup }));
    let ok = !issues.iter().any(Issue::is_error);
    Checked {
        config: ok.then_some(config),
        resolved,
        issues,
    }
}

fn serde_path(path: &serde_path_to_error::Path) -> JsonPath {
    let mut out = JsonPath::root();
    for segment in path.iter() {
        match segment {
            serde_path_to_error::Segment::Seq { index } => out.push_index(*index),
            serde_path_to_error::Segment::Map { key } => out.push_key(key.clone()),
            serde_path_to_error::Segment::Enum { variant } => out.push_key(variant.clone()),
            serde_path_to_error::Segment::Unknown => {}
        }
    }
    out
}

/// Removes the value at `path` (for pruning invalid parts); the root is never removed.
fn remove_at(doc: &mut Value, path: &JsonPath) {
    let Some((last, parents)) = path.segments().split_last() else {
        return;
    };
    let mut current = doc;
    for segment in parents {
        let next = match (segment, current) {
            (Segment::Key(k), Value::Object(map)) => map.get_mut(k),
            (Segment::Index(i), Value::Array(items)) => items.get_mut(*i),
            _ => None,
        };
        match next {
            Some(next) => current = next,
            None => return,
        }
    }
    match (last, current) {
        (Segment::Key(k), Value::Object(map)) => {
            map.shift_remove(k);
        }
        (Segment::Index(i), Value::Array(items)) if *i < items.len() => {
            items[*i] = Value::Null;
        }
        _ => {}
    }
}

/// Looks up `path` in a document.
pub fn get<'v>(doc: &'v Value, path: &JsonPath) -> Option<&'v Value> {
    let mut current = doc;
    for segment in path.segments() {
        current = match (segment, current) {
            (Segment::Key(k), Value::Object(map)) => map.get(k)?,
            (Segment::Index(i), Value::Array(items)) => items.get(*i)?,
            _ => return None,
        };
    }
    Some(current)
}

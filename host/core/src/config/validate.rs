//! Structural validation of a config document against the JSON Schema generated from the typed
//! config (`schemars`), reporting *every* problem with its path, the allowed values and the
//! closest valid key.
//!
//! The typed structs stay the single source of truth: this walker only interprets the schema
//! subset `schemars` emits (`$ref`, `type`, `enum`/`const`, `oneOf`/`anyOf`/`allOf`, `properties`,
//! `additionalProperties`, `required`, `items`, numeric and string bounds, `pattern`). Serde alone
//! would stop at the first error and cannot say which branch of `string | SecretRef` was meant.

use regex::Regex;
use serde_json::{Map, Value};

use super::issue::{Issue, IssueKind};
use super::path::JsonPath;

/// Schema extension: never echo values below this node in messages (tokens, passwords).
pub const SECRET_MARKER: &str = "x-secret";
/// Schema extension: extra advice appended to type errors at this node (e.g. the right shape).
pub const SHAPE_HINT: &str = "x-shape-hint";

/// Validates `value` against `root` (a generated root schema with `$defs`).
pub fn validate(root: &Value, value: &Value) -> Vec<Issue> {
    let mut walker = Walker {
        root,
        issues: Vec::new(),
    };
    let mut path = JsonPath::root();
    walker.check(root, value, &mut path, false);
    walker.issues
}

struct Walker<'s> {
    root: &'s Value,
    issues: Vec<Issue>,
}

fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "an integer",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

pub(crate) fn matches_type(name: &str, value: &Value) -> bool {
    match name {
        "null" => value.is_null(),
        "boolean" => value.is_boolean(),
        "integer" => value.as_number().is_some_and(|n| n.is_i64() || n.is_u64()),
        "number" => value.is_number(),
        "string" => value.is_string(),
        "array" => value.is_array(),
        "object" => value.is_object(),
        _ => false,
    }
}

fn describe_type(name: &str) -> &'static str {
    match name {
        "null" => "null",
        "boolean" => "a boolean (true or false)",
        "integer" => "an integer",
        "number" => "a number",
        "string" => "a string",
        "array" => "a list",
        "object" => "an object",
        _ => "a value",
    }
}

/// A short, safe rendering of a scalar for messages.
fn preview(value: &Value) -> String {
    let text = match value {
        Value::String(s) => format!("{s:?}"),
        Value::Array(_) => "[...]".into(),
        Value::Object(_) => "{...}".into(),
        other => other.to_string(),
    };
    if text.chars().count() > 60 {
        let cut: String = text.chars().take(57).collect();
        format!("{cut}...")
    } else {
        text
    }
}

/// A literal as listed in `allowedValues`: strings as they are, other values as JSON.
fn raw(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The closest candidate to `key`, if it is close enough to be a plausible typo.
pub fn closest<'a>(key: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let lower = key.to_ascii_lowercase();
    let mut best: Option<(&str, f64)> = None;
    for candidate in candidates {
        if candidate.eq_ignore_ascii_case(key) {
            return Some(candidate);
        }
        let score = strsim::jaro_winkler(&lower, &candidate.to_ascii_lowercase());
        let normalized = strsim::normalized_damerau_levenshtein(&lower, &candidate.to_ascii_lowercase());
        let score = score.max(normalized);
        if score >= 0.8 && best.is_none_or(|(_, s)| score > s) {
            best = Some((candidate, score));
        }
    }
    best.map(|(c, _)| c)
}

impl<'s> Walker<'s> {
    fn resolve(&self, schema: &'s Value) -> &'s Value {
        resolve_ref(self.root, schema)
    }

    /// Validates into a scratch list (for trying union branches).
    fn try_check(&mut self, schema: &'s Value, value: &Value, path: &mut JsonPath, secret: bool) -> Vec<Issue> {
        let saved = std::mem::take(&mut self.issues);
        self.check(schema, value, path, secret);
        std::mem::replace(&mut self.issues, saved)
    }

    fn check(&mut self, schema: &'s Value, value: &Value, path: &mut JsonPath, secret: bool) {
        let schema = self.resolve(schema);
        let object = match schema {
            Value::Bool(true) => return,
            Value::Bool(false) => {
                self.issues.push(Issue::error(
                    IssueKind::UnknownKey,
                    path.clone(),
                    "this key is not allowed here",
                ));
                return;
            }
            Value::Object(map) => map,
            _ => return,
        };
        let secret = secret || object.get(SECRET_MARKER).and_then(Value::as_bool).unwrap_or(false);

        if value.is_null() && !schema_allows_only_null(object) {
            self.issues.push(
                Issue::error(IssueKind::WrongType, path.clone(), "null is not allowed here")
                    .with_hint("remove the key to use its default"),
            );
            return;
        }

        if let Some(branches) = object.get("allOf").and_then(Value::as_array) {
            for branch in branches {
                self.check(branch, value, path, secret);
            }
        }
        if let Some(branches) = object
            .get("oneOf")
            .or_else(|| object.get("anyOf"))
            .and_then(Value::as_array)
        {
            self.check_union(object, branches, value, path, secret);
            return;
        }

        if let Some(allowed) = object.get("enum").and_then(Value::as_array) {
            if !allowed.iter().any(|a| a == value) {
                self.push_enum_issue(allowed.iter().collect(), value, path, secret);
            }
            return;
        }
        if let Some(constant) = object.get("const") {
            if constant != value {
                self.push_enum_issue(vec![constant], value, path, secret);
            }
            return;
        }

        if let Some(types) = object.get("type") {
            let names: Vec<&str> = match types {
                Value::String(s) => vec![s.as_str()],
                Value::Array(list) => list.iter().filter_map(Value::as_str).filter(|t| *t != "null").collect(),
                _ => Vec::new(),
            };
            if !names.is_empty() && !names.iter().any(|t| matches_type(t, value)) {
                let expected = names.iter().map(|t| describe_type(t)).collect::<Vec<_>>().join(" or ");
                let got = if secret || value.is_object() || value.is_array() {
                    type_name(value).to_string()
                } else {
                    format!("{} {}", type_name(value), preview(value))
                };
                let mut issue = Issue::error(
                    IssueKind::WrongType,
                    path.clone(),
                    format!("expected {expected}, got {got}"),
                );
                if let Some(hint) = object.get(SHAPE_HINT).and_then(Value::as_str) {
                    issue = issue.with_hint(hint);
                }
                self.issues.push(issue);
                return;
            }
        }

        match value {
            Value::Object(map) => self.check_object(object, map, path, secret),
            Value::Array(items) => self.check_array(object, items, path, secret),
            Value::String(s) => self.check_string(object, s, path, secret),
            Value::Number(_) => self.check_number(object, value, path),
            _ => {}
        }
    }

    fn push_enum_issue(&mut self, allowed: Vec<&Value>, value: &Value, path: &JsonPath, secret: bool) {
        let allowed_text: Vec<String> = allowed.iter().map(|v| raw(v)).collect();
        let shown = if secret {
            "this value".to_string()
        } else {
            preview(value)
        };
        let mut issue = Issue::error(IssueKind::InvalidValue, path.clone(), format!("invalid value {shown}"))
            .with_allowed(allowed_text);
        if let Value::String(s) = value
            && !secret
        {
            let candidates: Vec<&str> = allowed.iter().filter_map(|v| v.as_str()).collect();
            if let Some(best) = closest(s, candidates) {
                issue = issue.with_hint(format!("did you mean \"{best}\"?"));
            }
        }
        if issue.hint.is_none()
            && let Some(hint) = super::hints::value_hint(path)
        {
            issue = issue.with_hint(hint);
        }
        self.issues.push(issue);
    }

    fn check_union(
        &mut self,
        object: &'s Map<String, Value>,
        branches: &'s [Value],
        value: &Value,
        path: &mut JsonPath,
        secret: bool,
    ) {
        let resolved: Vec<&'s Value> = branches.iter().map(|b| self.resolve(b)).collect();
        // `Option<T>` is `T | null`: with a non-null value, the union is just `T`.
        let non_null: Vec<&'s Value> = resolved
            .iter()
            .copied()
            .filter(|b| b.get("type").and_then(Value::as_str) != Some("null"))
            .collect();
        if non_null.len() == 1 && !value.is_null() {
            self.check(non_null[0], value, path, secret);
            return;
        }
        // An enum written as one `const`/`enum` per variant: report the whole allowed list.
        let mut literals: Vec<&Value> = Vec::new();
        let all_literals = resolved.iter().all(|b| {
            if let Some(c) = b.get("const") {
                literals.push(c);
                true
            } else if let Some(list) = b.get("enum").and_then(Value::as_array) {
                literals.extend(list.iter());
                true
            } else {
                b.get("type").and_then(Value::as_str) == Some("null")
            }
        });
        if all_literals && !literals.is_empty() {
            if !literals.contains(&value) {
                self.push_enum_issue(literals, value, path, secret);
            }
            return;
        }

        if let Some(map) = value.as_object()
            && let Some((key, consts)) = discriminator(&resolved)
        {
            match map.get(key) {
                Some(tag) => {
                    if let Some(index) = consts.iter().position(|c| *c == tag) {
                        self.check(resolved[index], value, path, secret);
                    } else {
                        let tag_path = path.key(key);
                        self.push_enum_issue(consts, tag, &tag_path, false);
                    }
                }
                None => {
                    let allowed = consts.iter().map(|c| raw(c)).collect();
                    self.issues.push(
                        Issue::error(
                            IssueKind::MissingKey,
                            path.key(key),
                            format!("missing required key \"{key}\""),
                        )
                        .with_allowed(allowed),
                    );
                }
            }
            return;
        }

        let mut attempts: Vec<(usize, Vec<Issue>)> = Vec::new();
        for (index, branch) in resolved.iter().enumerate() {
            if branch.get("type").and_then(Value::as_str) == Some("null") {
                continue;
            }
            let issues = self.try_check(branch, value, path, secret);
            if issues.iter().all(|i| !i.is_error()) {
                self.issues.extend(issues);
                return;
            }
            attempts.push((index, issues));
        }
        // Report the branch the operator most plausibly meant: one whose top-level type matches,
        // and among those the one with the fewest problems.
        let type_matching: Vec<&(usize, Vec<Issue>)> = attempts
            .iter()
            .filter(|(index, issues)| {
                branch_accepts_type(resolved[*index], value, self)
                    && !issues.iter().any(|i| i.kind == IssueKind::WrongType && i.path == *path)
            })
            .collect();
        if let Some((_, issues)) = type_matching.iter().min_by_key(|(_, issues)| issues.len()) {
            self.issues.extend(issues.iter().cloned());
            return;
        }
        let mut expected: Vec<String> = Vec::new();
        for branch in &resolved {
            let name = branch_type_label(branch, self);
            if !expected.contains(&name) && name != "null" {
                expected.push(name);
            }
        }
        let mut issue = Issue::error(
            IssueKind::WrongType,
            path.clone(),
            format!("expected {}, got {}", expected.join(" or "), type_name(value)),
        );
        if let Some(hint) = object.get(SHAPE_HINT).and_then(Value::as_str) {
            issue = issue.with_hint(hint);
        }
        self.issues.push(issue);
    }

    fn check_object(
        &mut self,
        object: &'s Map<String, Value>,
        map: &Map<String, Value>,
        path: &mut JsonPath,
        secret: bool,
    ) {
        let properties = object.get("properties").and_then(Value::as_object);
        let additional = object.get("additionalProperties");
        let key_pattern = object
            .get("propertyNames")
            .map(|p| self.resolve(p))
            .and_then(|p| p.get("pattern"))
            .and_then(Value::as_str);
        for (key, item) in map {
            if let Some(pattern) = key_pattern
                && let Ok(re) = Regex::new(pattern)
                && !re.is_match(key)
            {
                let hint = object
                    .get("propertyNames")
                    .and_then(|p| p.get("description"))
                    .and_then(Value::as_str)
                    .unwrap_or("rename the key");
                self.issues.push(
                    Issue::error(
                        IssueKind::OutOfRange,
                        path.key(key.clone()),
                        format!("invalid key \"{key}\" (must match {pattern})"),
                    )
                    .with_hint(hint),
                );
                continue;
            }
            if let Some(sub) = properties.and_then(|p| p.get(key)) {
                path.push_key(key.clone());
                if sub.get("x-compat").and_then(Value::as_bool).unwrap_or(false) {
                    self.issues.push(Issue::note(
                        IssueKind::UnknownKey,
                        path.clone(),
                        "OpenClaw setting accepted for compatibility; this gateway does not use it yet",
                    ));
                }
                self.check(sub, item, path, secret);
                path.pop();
                continue;
            }
            if object
                .get("x-passthrough-unless-close")
                .and_then(Value::as_bool)
                .unwrap_or(false)
            {
                let known: Vec<&str> = properties
                    .map(|p| p.keys().map(String::as_str).collect())
                    .unwrap_or_default();
                if let Some(best) = closest(key, known.iter().copied()).filter(|best| *best != key) {
                    self.issues.push(
                        Issue::error(IssueKind::UnknownKey, path.key(key.clone()), format!("unknown key \"{key}\""))
                            .with_hint(format!(
                                "did you mean \"{best}\"? (keys the gateway does not know are passed to the channel plugin, but this one looks like a typo of an access-control key)"
                            )),
                    );
                }
                continue;
            }
            match additional {
                Some(Value::Bool(false)) => {
                    let known: Vec<&str> = properties
                        .map(|p| p.keys().map(String::as_str).collect())
                        .unwrap_or_default();
                    let mut issue = Issue::error(
                        IssueKind::UnknownKey,
                        path.key(key.clone()),
                        format!("unknown key \"{key}\""),
                    )
                    .with_allowed(known.iter().map(|k| k.to_string()).collect());
                    if let Some(hint) = super::hints::moved_key_hint(path, key) {
                        issue = issue.with_hint(hint);
                    } else if let Some(best) = closest(key, known.iter().copied()) {
                        issue = issue.with_hint(format!("did you mean \"{best}\"?"));
                    }
                    self.issues.push(issue);
                }
                Some(schema) => {
                    path.push_key(key.clone());
                    self.check(schema, item, path, secret);
                    path.pop();
                }
                None => {}
            }
        }
        if let Some(required) = object.get("required").and_then(Value::as_array) {
            for name in required.iter().filter_map(Value::as_str) {
                if !map.contains_key(name) {
                    self.issues.push(Issue::error(
                        IssueKind::MissingKey,
                        path.key(name),
                        format!("missing required key \"{name}\""),
                    ));
                }
            }
        }
    }

    fn check_array(&mut self, object: &'s Map<String, Value>, items: &[Value], path: &mut JsonPath, secret: bool) {
        if let Some(min) = object.get("minItems").and_then(Value::as_u64)
            && (items.len() as u64) < min
        {
            self.issues.push(Issue::error(
                IssueKind::OutOfRange,
                path.clone(),
                format!("expected at least {min} item(s), got {}", items.len()),
            ));
        }
        if let Some(max) = object.get("maxItems").and_then(Value::as_u64)
            && (items.len() as u64) > max
        {
            self.issues.push(Issue::error(
                IssueKind::OutOfRange,
                path.clone(),
                format!("expected at most {max} item(s), got {}", items.len()),
            ));
        }
        if let Some(item_schema) = object.get("items") {
            for (i, item) in items.iter().enumerate() {
                path.push_index(i);
                self.check(item_schema, item, path, secret);
                path.pop();
            }
        }
    }

    fn check_string(&mut self, object: &'s Map<String, Value>, text: &str, path: &JsonPath, secret: bool) {
        let len = text.chars().count() as u64;
        if let Some(min) = object.get("minLength").and_then(Value::as_u64)
            && len < min
        {
            let message = if min == 1 {
                "must not be empty".to_string()
            } else {
                format!("must be at least {min} characters long")
            };
            self.issues
                .push(Issue::error(IssueKind::OutOfRange, path.clone(), message));
        }
        if let Some(max) = object.get("maxLength").and_then(Value::as_u64)
            && len > max
        {
            self.issues.push(Issue::error(
                IssueKind::OutOfRange,
                path.clone(),
                format!("must be at most {max} characters long"),
            ));
        }
        if let Some(pattern) = object.get("pattern").and_then(Value::as_str)
            && let Ok(re) = Regex::new(pattern)
            && !re.is_match(text)
        {
            let shown = if secret {
                "this value".to_string()
            } else {
                format!("{text:?}")
            };
            let mut issue = Issue::error(
                IssueKind::OutOfRange,
                path.clone(),
                format!("{shown} does not match {pattern}"),
            );
            if let Some(description) = object.get("description").and_then(Value::as_str) {
                issue = issue.with_hint(first_sentence(description));
            }
            self.issues.push(issue);
        }
    }

    fn check_number(&mut self, object: &'s Map<String, Value>, value: &Value, path: &JsonPath) {
        let Some(n) = value.as_f64() else { return };
        let min = object.get("minimum").and_then(Value::as_f64);
        let max = object.get("maximum").and_then(Value::as_f64);
        let exclusive_min = object.get("exclusiveMinimum").and_then(Value::as_f64);
        let out = min.is_some_and(|m| n < m) || max.is_some_and(|m| n > m) || exclusive_min.is_some_and(|m| n <= m);
        if out {
            let range = match (min, exclusive_min, max) {
                (Some(lo), _, Some(hi)) => format!("between {lo} and {hi}"),
                (Some(lo), _, None) => format!("at least {lo}"),
                (None, Some(lo), Some(hi)) => format!("greater than {lo} and at most {hi}"),
                (None, Some(lo), None) => format!("greater than {lo}"),
                (None, None, Some(hi)) => format!("at most {hi}"),
                (None, None, None) => "in range".into(),
            };
            self.issues.push(Issue::error(
                IssueKind::OutOfRange,
                path.clone(),
                format!("expected a number {range}, got {value}"),
            ));
        }
    }
}

/// For a union of object schemas that each pin one property to a constant (serde's internally
/// tagged enums), that property and the constants in branch order.
fn discriminator<'s>(branches: &[&'s Value]) -> Option<(&'s str, Vec<&'s Value>)> {
    let objects: Vec<&Map<String, Value>> = branches
        .iter()
        .filter(|b| b.get("type").and_then(Value::as_str) != Some("null"))
        .map(|b| b.as_object())
        .collect::<Option<Vec<_>>>()?;
    if objects.len() < 2 || objects.len() != branches.len() {
        return None;
    }
    let first = objects[0].get("properties")?.as_object()?;
    'candidate: for (name, _) in first {
        let mut consts = Vec::new();
        for object in &objects {
            let property = object.get("properties").and_then(|p| p.get(name));
            let constant = property.and_then(|p| {
                p.get("const").or_else(|| {
                    p.get("enum")
                        .and_then(Value::as_array)
                        .filter(|e| e.len() == 1)
                        .and_then(|e| e.first())
                })
            });
            match constant {
                Some(c) => consts.push(c),
                None => continue 'candidate,
            }
        }
        return Some((name.as_str(), consts));
    }
    None
}

fn schema_allows_only_null(object: &Map<String, Value>) -> bool {
    object.get("type").and_then(Value::as_str) == Some("null")
}

fn first_sentence(text: &str) -> String {
    let line = text.lines().next().unwrap_or(text);
    line.trim_end_matches('.').to_string()
}

fn branch_accepts_type(branch: &Value, value: &Value, walker: &Walker<'_>) -> bool {
    let branch = walker.resolve(branch);
    if let Some(types) = branch.get("type") {
        return match types {
            Value::String(s) => matches_type(s, value),
            Value::Array(list) => list.iter().filter_map(Value::as_str).any(|t| matches_type(t, value)),
            _ => true,
        };
    }
    if let Some(c) = branch.get("const") {
        return std::mem::discriminant(c) == std::mem::discriminant(value);
    }
    if let Some(list) = branch.get("enum").and_then(Value::as_array) {
        return list
            .iter()
            .any(|c| std::mem::discriminant(c) == std::mem::discriminant(value));
    }
    if let Some(inner) = branch
        .get("oneOf")
        .or_else(|| branch.get("anyOf"))
        .and_then(Value::as_array)
    {
        return inner.iter().any(|b| branch_accepts_type(b, value, walker));
    }
    true
}

fn branch_type_label(branch: &Value, walker: &Walker<'_>) -> String {
    let branch = walker.resolve(branch);
    if let Some(label) = branch.get("title").and_then(Value::as_str) {
        return label.to_string();
    }
    match branch.get("type") {
        Some(Value::String(s)) => describe_type(s).to_string(),
        Some(Value::Array(list)) => list
            .iter()
            .filter_map(Value::as_str)
            .filter(|t| *t != "null")
            .map(describe_type)
            .collect::<Vec<_>>()
            .join(" or "),
        _ => {
            if branch.get("const").is_some() || branch.get("enum").is_some() {
                "one of the allowed values".into()
            } else if let Some(inner) = branch
                .get("oneOf")
                .or_else(|| branch.get("anyOf"))
                .and_then(Value::as_array)
            {
                inner
                    .iter()
                    .map(|b| branch_type_label(b, walker))
                    .collect::<Vec<_>>()
                    .join(" or ")
            } else {
                "a value".into()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closest_key_suggestions() {
        let keys = ["mode", "bind", "port", "auth", "trustedProxies", "controlUi"];
        assert_eq!(closest("bnd", keys), Some("bind"));
        assert_eq!(closest("Bind", keys), Some("bind"));
        assert_eq!(closest("trustedProxy", keys), Some("trustedProxies"));
        assert_eq!(closest("controlUI", keys), Some("controlUi"));
        assert_eq!(closest("zzzzzz", keys), None);
    }
}

/// Every plaintext secret in `doc` (see [`super::sensitive`], where the decision lives).
pub use super::sensitive::secret_literals;

/// Follows `$ref`s into `$defs` (bounded, so a self-referencing schema cannot loop).
fn resolve_ref<'s>(root: &'s Value, mut schema: &'s Value) -> &'s Value {
    for _ in 0..32 {
        let Some(name) = schema
            .get("$ref")
            .and_then(Value::as_str)
            .and_then(|r| r.strip_prefix("#/$defs/"))
        else {
            break;
        };
        match root.get("$defs").and_then(|d| d.get(name)) {
            Some(next) => schema = next,
            None => break,
        }
    }
    schema
}

/// The schema node describing `path` (following `$ref`s, object branches of unions, map values
/// and list items), or `None` when the path names no config key.
pub fn schema_at<'s>(root: &'s Value, path: &JsonPath) -> Option<&'s Value> {
    use super::path::Segment;
    let mut schema = resolve_ref(root, root);
    for segment in path.segments() {
        schema = match segment {
            Segment::Key(key) => union_branches(root, schema).into_iter().find_map(|branch| {
                let property = branch.get("properties").and_then(|p| p.get(key));
                match (property, branch.get("additionalProperties")) {
                    (Some(p), _) => Some(p),
                    (None, Some(a)) if a.is_object() => Some(a),
                    (None, _) if branch.get("x-passthrough-unless-close").is_some() => Some(&Value::Bool(true)),
                    (None, _) if free_form(branch) => Some(&Value::Bool(true)),
                    _ => None,
                }
            })?,
            Segment::Index(_) if free_form(schema) => &Value::Bool(true),
            Segment::Index(_) => object_branch(root, schema, true).get("items")?,
        };
        schema = resolve_ref(root, schema);
    }
    Some(schema)
}

/// A schema that accepts any value (a plugin's own `config`, opaque OpenClaw settings): any
/// path below it is a valid place to set something.
fn free_form(schema: &Value) -> bool {
    match schema {
        Value::Bool(b) => *b,
        Value::Object(map) => !map.keys().any(|k| {
            matches!(
                k.as_str(),
                "type"
                    | "properties"
                    | "additionalProperties"
                    | "anyOf"
                    | "oneOf"
                    | "allOf"
                    | "enum"
                    | "const"
                    | "$ref"
                    | "items"
                    | "not"
            )
        }),
        _ => false,
    }
}

/// The object schemas a node may be: itself, or each object branch of a union.
fn union_branches<'s>(root: &'s Value, schema: &'s Value) -> Vec<&'s Value> {
    match schema
        .get("anyOf")
        .or_else(|| schema.get("oneOf"))
        .and_then(Value::as_array)
    {
        Some(branches) => branches
            .iter()
            .map(|b| resolve_ref(root, b))
            .flat_map(|b| union_branches(root, b))
            .collect(),
        None => vec![schema],
    }
}

/// For a union, the branch that is an object (or an array, when indexing).
fn object_branch<'s>(root: &'s Value, schema: &'s Value, want_array: bool) -> &'s Value {
    let wanted = if want_array { "array" } else { "object" };
    if let Some(branches) = schema
        .get("anyOf")
        .or_else(|| schema.get("oneOf"))
        .and_then(Value::as_array)
    {
        for branch in branches {
            let resolved = resolve_ref(root, branch);
            let matches = match resolved.get("type") {
                Some(Value::String(t)) => t == wanted,
                Some(Value::Array(types)) => types.iter().any(|t| t == wanted),
                _ => resolved.get("properties").is_some() && !want_array,
            };
            if matches {
                return resolved;
            }
        }
    }
    schema
}

/// The keys valid directly under `path` (for suggestions when a path does not exist).
pub fn keys_at(root: &Value, path: &JsonPath) -> Vec<String> {
    let Some(schema) = schema_at(root, path) else {
        return Vec::new();
    };
    let mut keys: Vec<String> = Vec::new();
    for branch in union_branches(root, schema) {
        for key in branch
            .get("properties")
            .and_then(Value::as_object)
            .into_iter()
            .flat_map(|p| p.keys())
        {
            if !keys.contains(key) {
                keys.push(key.clone());
            }
        }
    }
    keys
}

#[cfg(test)]
mod schema_at_tests {
    use super::*;
    use crate::config::schema::root_schema;

    #[test]
    fn finds_nodes_and_defaults() {
        let root = root_schema();
        let p = |s: &str| JsonPath::parse(s).unwrap();
        assert_eq!(
            schema_at(root, &p("gateway.port")).and_then(|s| s.get("default")),
            Some(&serde_json::json!(18789))
        );
        assert!(schema_at(root, &p("channels.telegram.groups[\"*\"].requireMention")).is_some());
        assert!(schema_at(root, &p("agents.list[0].sandbox.docker.network")).is_some());
        assert!(schema_at(root, &p("gateway.bnd")).is_none());
        assert!(keys_at(root, &p("gateway")).contains(&"bind".to_string()));
        // Keys of any branch of a union are found (internally tagged secret providers).
        assert!(schema_at(root, &p("secrets.providers.vault.command")).is_some());
        assert!(schema_at(root, &p("secrets.providers.vault.path")).is_some());
        assert!(schema_at(root, &p("gateway.auth.token.source")).is_some());
    }
}

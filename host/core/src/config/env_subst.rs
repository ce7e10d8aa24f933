//! `${VAR}` substitution in config string values.
//!
//! Only upper-case names (`[A-Z_][A-Z0-9_]*`) are substituted, as in OpenClaw, so `${lower}` and
//! shell-like text stay literal; `$${VAR}` writes a literal `${VAR}`. Unlike OpenClaw's read path,
//! a missing or empty variable is an error (fail closed): a config that silently keeps the text
//! `${OPENCLAW_GATEWAY_TOKEN}` as the token would accept that public string as the credential.

use serde_json::Value;

use super::path::JsonPath;

/// A variable the config refers to but the environment does not provide.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MissingVar {
    pub path: JsonPath,
    pub var: String,
    /// True when the variable exists but is empty (treated like missing).
    pub empty: bool,
}

/// Where substitution happened, for diagnostics (never holds the value).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Substitution {
    pub path: JsonPath,
    pub var: String,
}

fn is_var_start(c: u8) -> bool {
    c.is_ascii_uppercase() || c == b'_'
}

fn is_var_char(c: u8) -> bool {
    c.is_ascii_uppercase() || c.is_ascii_digit() || c == b'_'
}

/// Returns the variable name if `text` is exactly one `${VAR}` reference (a whole-string env ref,
/// which OpenClaw also treats as an env SecretRef).
pub fn whole_var_ref(text: &str) -> Option<&str> {
    let inner = text.strip_prefix("${")?.strip_suffix('}')?;
    let bytes = inner.as_bytes();
    if !bytes.is_empty() && is_var_start(bytes[0]) && bytes.iter().all(|&c| is_var_char(c)) {
        Some(inner)
    } else {
        None
    }
}

/// Substitutes one string. `Ok(None)` means the string had no reference and is unchanged.
fn substitute_str(
    text: &str,
    path: &JsonPath,
    lookup: &dyn Fn(&str) -> Option<String>,
    missing: &mut Vec<MissingVar>,
    used: &mut Vec<Substitution>,
) -> Option<String> {
    if !text.contains('$') {
        return None;
    }
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut changed = false;
    let mut i = 0;
    let mut literal_start = 0;
    while i < bytes.len() {
        if bytes[i] != b'$' {
            i += 1;
            continue;
        }
        // `$${VAR}` escapes to a literal `${VAR}`.
        let escaped = bytes.get(i + 1) == Some(&b'$');
        let open = if escaped { i + 2 } else { i + 1 };
        if bytes.get(open) != Some(&b'{') {
            i += 1;
            continue;
        }
        let name_start = open + 1;
        let mut end = name_start;
        while end < bytes.len() && is_var_char(bytes[end]) {
            end += 1;
        }
        let valid = end > name_start && is_var_start(bytes[name_start]) && bytes.get(end) == Some(&b'}');
        if !valid {
            i += 1;
            continue;
        }
        let name = &text[name_start..end];
        out.push_str(&text[literal_start..i]);
        changed = true;
        if escaped {
            out.push_str(&text[i + 1..=end]);
        } else {
            match lookup(name) {
                Some(value) if !value.is_empty() => {
                    out.push_str(&value);
                    used.push(Substitution {
                        path: path.clone(),
                        var: name.to_string(),
                    });
                }
                other => {
                    // Keep the reference so later checks see the text the operator wrote.
                    out.push_str(&text[i..=end]);
                    missing.push(MissingVar {
                        path: path.clone(),
                        var: name.to_string(),
                        empty: other.is_some(),
                    });
                }
            }
        }
        i = end + 1;
        literal_start = i;
    }
    if !changed {
        return None;
    }
    out.push_str(&text[literal_start..]);
    Some(out)
}

/// Substitutes every string value in `value` in place. Returns the substitutions made, or every
/// missing variable (all of them, so the operator can fix them in one go).
pub fn substitute(
    value: &mut Value,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<Vec<Substitution>, Vec<MissingVar>> {
    let mut missing = Vec::new();
    let mut used = Vec::new();
    let mut path = JsonPath::root();
    walk(value, &mut path, lookup, &mut missing, &mut used);
    if missing.is_empty() { Ok(used) } else { Err(missing) }
}

fn walk(
    value: &mut Value,
    path: &mut JsonPath,
    lookup: &dyn Fn(&str) -> Option<String>,
    missing: &mut Vec<MissingVar>,
    used: &mut Vec<Substitution>,
) {
    match value {
        Value::String(s) => {
            if let Some(replaced) = substitute_str(s, path, lookup, missing, used) {
                *s = replaced;
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                path.push_index(i);
                walk(item, path, lookup, missing, used);
                path.pop();
            }
        }
        Value::Object(map) => {
            for (key, item) in map.iter_mut() {
                path.push_key(key.clone());
                walk(item, path, lookup, missing, used);
                path.pop();
            }
        }
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn env(name: &str) -> Option<String> {
        match name {
            "TOKEN" => Some("s3cret".into()),
            "EMPTY" => Some(String::new()),
            "PORT" => Some("18789".into()),
            _ => None,
        }
    }

    #[test]
    fn substitutes_and_escapes() {
        let mut v = json!({"a": "${TOKEN}", "b": "x-${PORT}-y", "c": "$${TOKEN}", "d": "${lower} $HOME ${", "e": 5});
        let used = substitute(&mut v, &env).unwrap();
        assert_eq!(
            v,
            json!({"a": "s3cret", "b": "x-18789-y", "c": "${TOKEN}", "d": "${lower} $HOME ${", "e": 5})
        );
        assert_eq!(used.len(), 2);
        assert_eq!(used[0].path.to_string(), "a");
    }

    #[test]
    fn reports_every_missing_var_with_its_path() {
        let mut v = json!({"gateway": {"auth": {"token": "${NOPE}"}}, "list": ["${EMPTY}"]});
        let missing = substitute(&mut v, &env).unwrap_err();
        assert_eq!(missing.len(), 2);
        assert_eq!(missing[0].path.to_string(), "gateway.auth.token");
        assert_eq!(missing[0].var, "NOPE");
        assert!(!missing[0].empty);
        assert_eq!(missing[1].path.to_string(), "list[0]");
        assert!(missing[1].empty);
    }

    #[test]
    fn whole_ref_detection() {
        assert_eq!(
            whole_var_ref("${OPENCLAW_GATEWAY_TOKEN}"),
            Some("OPENCLAW_GATEWAY_TOKEN")
        );
        assert_eq!(whole_var_ref("x${A}"), None);
        assert_eq!(whole_var_ref("${a}"), None);
    }
}

//! Which values in a config document are secrets: the one decision behind `config get` masking,
//! the operator `config.get` redaction and the log scrubber's list of known secret values.
//!
//! A string is a secret when
//! - the schema marks its position secret (`x-secret`: `SecretInput` literals, service-account
//!   blobs), choosing among union branches by the shape of the value, so a `{value, hosts}`
//!   plugin secret is read as the object it is;
//! - it is a plugin secret binding (`plugins.entries.<id>.secrets.<NAME>`): the string itself,
//!   or the `value` of any object form, whatever else the object carries;
//! - or the schema does not name its key (`env` and other string maps, OpenClaw sections kept
//!   verbatim, plugin `config`) and its path matches OpenClaw's sensitive key names
//!   ([`is_sensitive_path`]). Keys the schema names and types are decided by the schema alone, so
//!   `secrets.providers.<name>.path` stays visible while `env.vars.GITHUB_TOKEN` does not.
//!
//! A whole-string `${VAR}` reference and a SecretRef object are references, not secrets: they
//! stay visible as written.

use std::sync::LazyLock;

use regex::Regex;
use serde_json::{Map, Value};

use super::env_subst::whole_var_ref;
use super::path::JsonPath;
use super::validate::{SECRET_MARKER, matches_type};

/// OpenClaw's sensitive key patterns (`src/config/sensitive-paths.ts`), tested against the whole
/// dotted path, case-insensitively.
static SENSITIVE_PATTERNS: LazyLock<Vec<Regex>> = LazyLock::new(|| {
    [
        r"(?i)token$",
        r"(?i)password",
        r"(?i)secret",
        r"(?i)api.?key",
        r"(?i)encrypt.?key",
        r"(?i)private.?key",
        r"(?i)serviceaccount(?:ref)?$",
    ]
    .iter()
    .filter_map(|p| Regex::new(p).ok())
    .collect()
});

/// Paths ending like this are counts or file names, not secrets (OpenClaw's list).
const NOT_SENSITIVE_SUFFIXES: &[&str] = &[
    "maxtokens",
    "maxoutputtokens",
    "maxinputtokens",
    "maxcompletiontokens",
    "contexttokens",
    "totaltokens",
    "tokencount",
    "tokenlimit",
    "tokenbudget",
    "passwordfile",
];

/// OpenClaw's `isSensitiveConfigPath`: whether a dotted config path (`plugins.entries.x.apiKey`,
/// list items as `list[]`) names a secret by its key names.
pub fn is_sensitive_path(path: &str) -> bool {
    let path = path.strip_suffix("[]").unwrap_or(path);
    let lower = path.to_ascii_lowercase();
    if NOT_SENSITIVE_SUFFIXES.iter().any(|s| lower.ends_with(s)) {
        return false;
    }
    // Compiled from literals; an empty list would only happen if a literal stopped compiling, and
    // then every path is treated as sensitive rather than none.
    SENSITIVE_PATTERNS.is_empty() || SENSITIVE_PATTERNS.iter().any(|p| p.is_match(path))
}

/// Paths like OpenClaw's `serviceAccount`, whose whole object (a key file) is one secret.
fn is_whole_object_secret(path: &str) -> bool {
    let lower = path.to_ascii_lowercase();
    lower.ends_with("serviceaccount") || lower.ends_with("serviceaccountref")
}

/// `{source, id}` with an optional `provider` and nothing else.
fn is_secret_ref(map: &Map<String, Value>) -> bool {
    map.get("source").is_some_and(Value::is_string)
        && map.get("id").is_some_and(Value::is_string)
        && map.keys().all(|k| matches!(k.as_str(), "source" | "provider" | "id"))
}

/// Every plaintext secret in `doc` with its path, decided against `root` (the generated root
/// schema). References (`${VAR}`, SecretRefs) are not included.
pub fn secret_literals(root: &Value, doc: &Value) -> Vec<(JsonPath, String)> {
    let mut walk = Walk { root, out: Vec::new() };
    let mut at = Position {
        path: JsonPath::root(),
        dotted: String::new(),
    };
    walk.visit(Some(root), doc, &mut at, Context::default(), 0);
    let mut seen = std::collections::HashSet::new();
    walk.out.retain(|(path, _)| seen.insert(path.to_string()));
    walk.out
}

/// Where the walk is: the path, and the same path spelt as OpenClaw's patterns expect it.
struct Position {
    path: JsonPath,
    dotted: String,
}

#[derive(Debug, Clone, Copy, Default)]
struct Context {
    /// Below a position the schema marks secret.
    secret: bool,
    /// Reached through a key the schema names (and types).
    named: bool,
}

struct Walk<'s> {
    root: &'s Value,
    out: Vec<(JsonPath, String)>,
}

/// Deeper than any real config; a bound so a hostile document cannot exhaust the stack.
const MAX_DEPTH: usize = 64;

impl<'s> Walk<'s> {
    fn resolve(&self, mut schema: &'s Value) -> &'s Value {
        for _ in 0..32 {
            let Some(name) = schema
                .get("$ref")
                .and_then(Value::as_str)
                .and_then(|r| r.strip_prefix("#/$defs/"))
            else {
                break;
            };
            match self.root.get("$defs").and_then(|d| d.get(name)) {
                Some(next) => schema = next,
                None => break,
            }
        }
        schema
    }

    /// The schema of a position, or `None` when the schema says nothing about its contents (any
    /// JSON, or an OpenClaw setting accepted verbatim).
    fn described(&self, schema: Option<&'s Value>) -> Option<&'s Value> {
        let schema = self.resolve(schema?);
        let object = schema.as_object()?;
        if object.get("x-compat").and_then(Value::as_bool) == Some(true) {
            return None;
        }
        let describes = [
            "type",
            "properties",
            "additionalProperties",
            "anyOf",
            "oneOf",
            "items",
            "enum",
            "const",
        ]
        .iter()
        .any(|k| object.contains_key(*k))
            || object.contains_key(SECRET_MARKER);
        describes.then_some(schema)
    }

    /// Whether `value` has the shape `branch` describes: its type, and for a closed object its
    /// keys (so `{value, hosts}` is not read as a SecretRef).
    fn fits(&self, branch: &'s Value, value: &Value, depth: usize) -> bool {
        if depth > MAX_DEPTH {
            return false;
        }
        let branch = self.resolve(branch);
        if let Some(branches) = branch
            .get("oneOf")
            .or_else(|| branch.get("anyOf"))
            .and_then(Value::as_array)
        {
            return branches.iter().any(|b| self.fits(b, value, depth + 1));
        }
        if let Some(constant) = branch.get("const") {
            return constant == value;
        }
        if let Some(allowed) = branch.get("enum").and_then(Value::as_array) {
            return allowed.contains(value);
        }
        let type_ok = match branch.get("type") {
            Some(Value::String(t)) => matches_type(t, value),
            Some(Value::Array(types)) => types.iter().filter_map(Value::as_str).any(|t| matches_type(t, value)),
            _ => true,
        };
        if !type_ok {
            return false;
        }
        let Some(map) = value.as_object() else { return true };
        let properties = branch.get("properties").and_then(Value::as_object);
        let closed = branch.get("additionalProperties") == Some(&Value::Bool(false));
        if closed && !map.keys().all(|k| properties.is_some_and(|p| p.contains_key(k))) {
            return false;
        }
        branch
            .get("required")
            .and_then(Value::as_array)
            .is_none_or(|required| required.iter().filter_map(Value::as_str).all(|k| map.contains_key(k)))
    }

    fn push(&mut self, at: &Position, text: &str) {
        if whole_var_ref(text).is_none() && !text.is_empty() {
            self.out.push((at.path.clone(), text.to_string()));
        }
    }

    fn visit(&mut self, schema: Option<&'s Value>, value: &Value, at: &mut Position, mut cx: Context, depth: usize) {
        if depth > MAX_DEPTH {
            return;
        }
        let schema = self.described(schema);
        if let Some(s) = schema {
            cx.secret |= s.get(SECRET_MARKER).and_then(Value::as_bool).unwrap_or(false);
            if let Some(branches) = s.get("oneOf").or_else(|| s.get("anyOf")).and_then(Value::as_array) {
                // A value no branch fits is invalid; its keys are then judged by name.
                let chosen = branches.iter().find(|b| self.fits(b, value, depth));
                return match chosen {
                    Some(branch) => self.visit(Some(branch), value, at, cx, depth + 1),
                    None => self.visit(None, value, at, Context { named: false, ..cx }, depth + 1),
                };
            }
        }
        if is_plugin_secret_binding(&at.path) {
            // Whatever shape the binding has, its `value` is the secret and the rest (hosts,
            // slots) is its scope, which the operator must be able to read.
            match value {
                Value::String(s) => self.push(at, s),
                Value::Object(map) => {
                    if let Some(Value::String(s)) = map.get("value") {
                        at.path.push_key("value");
                        self.push(at, s);
                        at.path.pop();
                    }
                }
                _ => {}
            }
            return;
        }
        match value {
            Value::String(s) if cx.secret || (!cx.named && is_sensitive_path(&at.dotted)) => self.push(at, s),
            Value::Object(map) => {
                if is_secret_ref(map) {
                    return;
                }
                if schema.is_none() && !cx.named && is_whole_object_secret(&at.dotted) {
                    cx.secret = true;
                }
                let properties = schema.and_then(|s| s.get("properties")).and_then(Value::as_object);
                let additional = schema
                    .and_then(|s| s.get("additionalProperties"))
                    .filter(|a| a.is_object());
                for (key, item) in map {
                    let (child, named) = match (properties.and_then(|p| p.get(key)), additional) {
                        (Some(property), _) => {
                            let described = self.described(Some(property));
                            (described, described.is_some())
                        }
                        (None, Some(additional)) => (Some(additional), false),
                        (None, None) => (None, false),
                    };
                    let saved = at.dotted.len();
                    if !at.dotted.is_empty() {
                        at.dotted.push('.');
                    }
                    at.dotted.push_str(key);
                    at.path.push_key(key.clone());
                    self.visit(child, item, at, Context { named, ..cx }, depth + 1);
                    at.path.pop();
                    at.dotted.truncate(saved);
                }
            }
            Value::Array(items) => {
                let item_schema = schema.and_then(|s| s.get("items"));
                for (i, item) in items.iter().enumerate() {
                    let saved = at.dotted.len();
                    at.dotted.push_str("[]");
                    at.path.push_index(i);
                    self.visit(item_schema, item, at, cx, depth + 1);
                    at.path.pop();
                    at.dotted.truncate(saved);
                }
            }
            _ => {}
        }
    }
}

/// `plugins.entries.<id>.secrets.<NAME>`.
fn is_plugin_secret_binding(path: &JsonPath) -> bool {
    use super::path::Segment;
    matches!(
        path.segments(),
        [Segment::Key(p), Segment::Key(e), Segment::Key(_), Segment::Key(s), Segment::Key(_)]
            if p == "plugins" && e == "entries" && s == "secrets"
    )
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::config::schema::root_schema;

    #[test]
    fn openclaw_key_names() {
        let cases: &[(&str, bool)] = &[
            ("gateway.auth.token", true),
            ("channels.telegram.botToken", true),
            ("env.vars.GITHUB_TOKEN", true),
            ("env.vars.OPENAI_API_KEY", true),
            ("env.vars.OPENAI_APIKEY", true),
            ("plugins.entries.x.config.clientSecret", true),
            ("plugins.entries.x.config.db.password.value", true),
            ("x.encryptionKey", false),
            ("x.encrypt_key", true),
            ("x.privateKey", true),
            ("x.serviceAccount", true),
            ("x.serviceAccountRef", true),
            ("x.tokens[]", false),
            ("x.apiKeys[]", true),
            ("x.apiKey[]", true),
            // Counts and file names are not secrets.
            ("models.providers.a.models[].maxTokens", false),
            ("agents.defaults.contextTokens", false),
            ("x.tokenBudget", false),
            ("channels.irc.passwordFile", false),
            ("x.PASSWORDFILE", false),
            ("env.vars.REGION", false),
            ("gateway.auth.mode", false),
            ("channels.telegram.tokenFile", false),
        ];
        for (path, want) in cases {
            assert_eq!(is_sensitive_path(path), *want, "{path}");
        }
    }

    fn found(doc: &Value) -> Vec<String> {
        secret_literals(root_schema(), doc)
            .into_iter()
            .map(|(p, v)| format!("{p}={v}"))
            .collect()
    }

    #[test]
    fn schema_marked_secrets_but_not_references() {
        let doc = json!({
            "gateway": {"auth": {"token": "literal-token", "password": {"source": "env", "provider": "default", "id": "PW"}}},
            "channels": {"telegram": {"botToken": "123:abc", "accounts": {"b": {"botToken": "456:def"}}}},
            "models": {"providers": {"openai": {"apiKey": "sk-x", "headers": {"X-Api-Key": "hk"}}}},
            "hooks": {"token": "${HOOKS_TOKEN}"},
            "session": {"dmScope": "main"}
        });
        assert_eq!(
            found(&doc),
            vec![
                "gateway.auth.token=literal-token",
                "channels.telegram.botToken=123:abc",
                "channels.telegram.accounts.b.botToken=456:def",
                "models.providers.openai.apiKey=sk-x",
                "models.providers.openai.headers.X-Api-Key=hk",
            ]
        );
    }

    #[test]
    fn plugin_secrets_in_every_form() {
        let doc = json!({"plugins": {"entries": {"tg": {"secrets": {
            "PLAIN": "plain-value",
            "SCOPED": {"value": "scoped-value", "hosts": ["api.telegram.org"]},
            // A shape this build does not know yet (slot narrowing): the value is still a secret.
            "SLOTTED": {"value": "slotted-value", "hosts": ["a.example"], "slots": ["header"]},
            "REF": {"source": "env", "provider": "default", "id": "TG_TOKEN"},
            "SCOPED_REF": {"value": {"source": "env", "id": "TG_TOKEN"}, "hosts": []},
            "VAR": "${TG_TOKEN}",
        }}}}});
        assert_eq!(
            found(&doc),
            vec![
                "plugins.entries.tg.secrets.PLAIN=plain-value",
                "plugins.entries.tg.secrets.SCOPED.value=scoped-value",
                "plugins.entries.tg.secrets.SLOTTED.value=slotted-value",
            ]
        );
    }

    #[test]
    fn key_names_decide_where_the_schema_does_not() {
        let doc = json!({
            "env": {"vars": {"ACME_API_KEY": "a1", "REGION": "eu"}, "GITHUB_TOKEN": "g1", "HOME_DIR": "/h"},
            "plugins": {"entries": {"p": {
                "config": {"apiKey": "c1", "nested": {"clientSecret": "c2", "id": "visible"}, "maxTokens": 5,
                           "keys": [{"privateKey": "c3"}], "mode": "fast"},
                "env": {"SERVICE_TOKEN": "e1", "LEVEL": "debug"},
                "apiKey": "typed-secret",
            }}},
            "talk": {"apiKey": "t1", "voiceId": "v", "serviceAccount": {"client_email": "svc@x", "key": "k1"}},
            "secrets": {"providers": {"vault": {"source": "exec", "command": "/usr/bin/secret-tool", "args": ["lookup", "secret"],
                                                  "env": {"VAULT_TOKEN": "vt"}}}},
            "channels": {"line": {"secretFile": "/etc/line-secret"}},
        });
        assert_eq!(
            found(&doc),
            vec![
                "env.vars.ACME_API_KEY=a1",
                "env.GITHUB_TOKEN=g1",
                "plugins.entries.p.config.apiKey=c1",
                "plugins.entries.p.config.nested.clientSecret=c2",
                "plugins.entries.p.config.keys[0].privateKey=c3",
                "plugins.entries.p.env.SERVICE_TOKEN=e1",
                "plugins.entries.p.apiKey=typed-secret",
                "talk.apiKey=t1",
                "talk.serviceAccount.client_email=svc@x",
                "talk.serviceAccount.key=k1",
                "secrets.providers.vault.env.VAULT_TOKEN=vt",
            ]
        );
    }
}

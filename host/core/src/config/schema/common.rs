//! Shapes shared by many sections: secrets, allowlist entries, tool policies, model references.

use std::collections::BTreeMap;
use std::fmt;

use schemars::{JsonSchema, Schema};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Where a [`SecretRef`] is resolved from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum SecretSource {
    /// An environment variable of the gateway process.
    Env,
    /// A file (JSON document or single value) owned by the gateway user and private to it.
    File,
    /// The output of a resolver command run without a shell.
    Exec,
}

impl fmt::Display for SecretSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Env => "env",
            Self::File => "file",
            Self::Exec => "exec",
        })
    }
}

/// A secret by reference: `{source: "env", provider: "default", id: "OPENAI_API_KEY"}`.
/// The value is resolved at start-up and never written back to the config.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "a SecretRef object")]
pub struct SecretRef {
    pub source: SecretSource,
    /// Provider alias from `secrets.providers`; omitted means `secrets.defaults.<source>`, else
    /// `"default"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^[a-z][a-z0-9_-]{0,63}$"))]
    pub provider: Option<String>,
    /// env: the variable name; file: `"value"` or an absolute JSON pointer; exec: the id passed
    /// to the resolver.
    #[schemars(length(min = 1))]
    pub id: String,
}

/// A secret value held in memory. `Debug` never shows it.
#[derive(Clone, Deserialize)]
#[serde(transparent)]
pub struct SecretLiteral(SecretString);

impl SecretLiteral {
    pub fn new(value: impl Into<String>) -> Self {
        Self(SecretString::from(value.into()))
    }

    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

impl fmt::Debug for SecretLiteral {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl JsonSchema for SecretLiteral {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "SecretLiteral".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> Schema {
        schemars::json_schema!({
            "type": "string",
            "title": "a string",
            "minLength": 1,
            "x-secret": true,
        })
    }
}

/// Anywhere a secret goes: a literal string or a [`SecretRef`]. A string that is exactly
/// `${VAR}` is read from the environment like an env SecretRef.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(untagged)]
#[schemars(extend(
    "x-shape-hint" = "write a string, or a reference such as {source: \"env\", provider: \"default\", id: \"MY_VAR\"}"
))]
pub enum SecretInput {
    Literal(SecretLiteral),
    Ref(SecretRef),
}

/// An allowlist entry. OpenClaw accepts numbers for numeric ids (Telegram, Discord); they are
/// compared as strings.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum AllowEntry {
    Text(String),
    #[schemars(with = "i64")]
    Number(serde_json::Number),
}

impl AllowEntry {
    /// The entry as compared at runtime: trimmed text, numbers in decimal.
    pub fn normalized(&self) -> String {
        match self {
            Self::Text(s) => s.trim().to_string(),
            Self::Number(n) => n.to_string(),
        }
    }

    pub fn is_wildcard(&self) -> bool {
        self.normalized() == "*"
    }
}

/// `{allow, alsoAllow, deny}` tool policy used at every level.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ToolPolicy {
    /// Only these tools (names, `group:*`, globs); empty or absent allows all.
    pub allow: Option<Vec<String>>,
    /// Added to the inherited allowlist; cannot be combined with a non-empty `allow`.
    pub also_allow: Option<Vec<String>>,
    /// Always removed; deny wins over every allow.
    pub deny: Option<Vec<String>>,
}

/// Tool profiles (`tools.profile`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ToolProfile {
    /// `session_status` only.
    Minimal,
    /// Filesystem, runtime, web, sessions and memory tools.
    Coding,
    /// Messaging and read-only session tools.
    Messaging,
    /// No restriction (same as no profile).
    Full,
}

/// A tool policy that may also pick a profile (`tools.byProvider.*`).
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ToolPolicyWithProfile {
    pub profile: Option<ToolProfile>,
    pub allow: Option<Vec<String>>,
    pub also_allow: Option<Vec<String>>,
    pub deny: Option<Vec<String>>,
}

/// A model: `"provider/model"` or `{primary, fallbacks}`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum ModelRef {
    #[schemars(title = "a \"provider/model\" string")]
    Name(String),
    #[schemars(title = "a {primary, fallbacks} object")]
    Detailed(ModelChoice),
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ModelChoice {
    pub primary: Option<String>,
    pub fallbacks: Option<Vec<String>>,
    /// Per-call timeout (tool model references only).
    pub timeout_ms: Option<u64>,
}

impl ModelRef {
    /// Every model id this reference names, primary first.
    pub fn ids(&self) -> Vec<&str> {
        match self {
            Self::Name(name) => vec![name.as_str()],
            Self::Detailed(choice) => choice
                .primary
                .iter()
                .chain(choice.fallbacks.iter().flatten())
                .map(String::as_str)
                .collect(),
        }
    }
}

/// `true`, `false` or `"auto"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum BoolOrAuto {
    Bool(bool),
    Auto(AutoLiteral),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum AutoLiteral {
    Auto,
}

/// A size or duration OpenClaw accepts as a number or a string such as `"10M"`, `"2mb"`, `"30d"`.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum NumberOrString {
    Number(serde_json::Number),
    Text(String),
}

/// A free-form JSON object: OpenClaw settings this gateway accepts for compatibility but does not
/// interpret (yet). Kept verbatim so nothing in the operator's file is lost.
pub type Opaque = serde_json::Map<String, Value>;

/// Map from id to value with ids kept in file order.
pub type IdMap<T> = BTreeMap<String, T>;

/// Makes a struct schema strict while accepting `names` as opaque (any JSON) properties.
///
/// Used for sections where OpenClaw defines many keys this gateway does not interpret: the known
/// names are accepted (so a real OpenClaw config loads) and kept in the struct's `compat` map,
/// while a misspelt or invented key is still rejected with the closest valid name.
pub fn accept_opaque_keys(schema: &mut Schema, names: &[&str]) {
    let Some(object) = schema.as_object_mut() else {
        return;
    };
    let properties = object
        .entry("properties")
        .or_insert_with(|| Value::Object(serde_json::Map::new()));
    if let Value::Object(properties) = properties {
        for name in names {
            properties.entry(name.to_string()).or_insert_with(|| {
                serde_json::json!({
                    "description": "OpenClaw setting accepted for compatibility; this gateway does not use it yet.",
                    "x-compat": true
                })
            });
        }
    }
    object.insert("additionalProperties".into(), Value::Bool(false));
}

/// Marks a struct schema as handing unknown keys to a plugin, except keys that look like typos of
/// the declared ones (those are reported, so `dmPolicyy` cannot silently disable access control).
pub fn passthrough_unless_close(schema: &mut Schema) {
    if let Some(object) = schema.as_object_mut() {
        object.remove("additionalProperties");
        object.insert("x-passthrough-unless-close".into(), Value::Bool(true));
    }
}

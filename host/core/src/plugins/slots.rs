//! Where in an outgoing request a secret may be placed: its **slots**.
//!
//! Binding a secret to a host is not enough: a plugin allowed to send its bot token to
//! `api.telegram.org` in the URL could also post it as the text of a chat message to the same
//! host. So a secret names the exact places its value goes, and the runtime substitutes a
//! `{{secret:NAME}}` placeholder only there:
//!
//! | slot | manifest (TOML) | config (JSON) | the request must carry |
//! |---|---|---|---|
//! | header | `{ header = "Authorization", template = "Bearer {}" }` | `{"header": "Authorization", "template": "Bearer {}"}` | that header, whose whole value is the template with the placeholder for `{}` |
//! | URL prefix | `{ url-prefix = "https://api.telegram.org/bot{}/" }` | `{"urlPrefix": "..."}` | a URL that starts with the prefix, the placeholder for `{}` |
//! | query parameter | `{ query = "key" }` | `{"query": "key"}` | `?key=<placeholder>` (the whole value) |
//! | form field | `{ form-field = "token" }` | `{"formField": "token"}` | an `application/x-www-form-urlencoded` body whose field is the placeholder |
//! | JSON field | `{ json-field = "/auth/token" }` | `{"jsonField": "/auth/token"}` | a JSON body whose string at that JSON pointer is the placeholder |
//!
//! A placeholder anywhere else makes the runtime refuse the request before anything is sent.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::hosts::{HostPattern, default_port, split_host_port};

/// The marker in templates and URL prefixes where the value goes.
pub const VALUE_MARK: &str = "{}";

/// One place a secret's value may go.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SecretSlot {
    /// A header (name compared case-insensitively) whose whole value is `template` with the
    /// value in place of `{}`.
    Header { name: String, template: String },
    /// The request URL starts with `prefix`, the value in place of `{}`.
    UrlPrefix(UrlPrefix),
    /// A query parameter whose whole value is the secret.
    Query { param: String },
    /// A field of a form-encoded body whose whole value is the secret.
    FormField { field: String },
    /// The string at this JSON pointer (RFC 6901) of a JSON body is the secret.
    JsonField { pointer: String },
}

/// A parsed URL prefix: `scheme://host[:port]` + `before` + value + `after`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UrlPrefix {
    pub text: String,
    pub scheme: String,
    pub host: String,
    pub port: u16,
    /// Path (and query) text before the value, starting with `/`.
    pub before: String,
    /// Text right after the value.
    pub after: String,
}

impl fmt::Display for SecretSlot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Header { name, template } => write!(f, "header `{name}: {template}`"),
            Self::UrlPrefix(prefix) => write!(f, "URL prefix `{}`", prefix.text),
            Self::Query { param } => write!(f, "query parameter `{param}`"),
            Self::FormField { field } => write!(f, "form field `{field}`"),
            Self::JsonField { pointer } => write!(f, "JSON field `{pointer}`"),
        }
    }
}

impl Serialize for SecretSlot {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// A list of slots for messages: "header `Authorization: Bearer {}`, query parameter `key`".
pub fn describe(slots: &[SecretSlot]) -> String {
    if slots.is_empty() {
        return "no slot".into();
    }
    slots.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
}

/// Header names the runtime never lets a plugin set, so a slot naming one could never be used.
const UNUSABLE_HEADERS: &[&str] = &[
    "host",
    "connection",
    "keep-alive",
    "proxy-connection",
    "transfer-encoding",
    "upgrade",
    "te",
    "content-length",
];

fn valid_header_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

fn one_mark(text: &str, what: &str) -> Result<(), String> {
    match text.matches(VALUE_MARK).count() {
        1 => Ok(()),
        0 => Err(format!("{what} \"{text}\" must contain `{{}}` where the value goes")),
        _ => Err(format!("{what} \"{text}\" must contain `{{}}` exactly once")),
    }
}

fn no_controls(text: &str, what: &str) -> Result<(), String> {
    if text.chars().any(char::is_control) {
        return Err(format!("{what} must not contain control characters or line breaks"));
    }
    Ok(())
}

fn plain_name(name: &str, what: &str) -> Result<(), String> {
    if name.is_empty() || name.len() > 256 {
        return Err(format!("{what} must be 1 to 256 characters"));
    }
    if name
        .chars()
        .any(|c| c.is_control() || c.is_whitespace() || "&=#?".contains(c))
    {
        return Err(format!(
            "{what} \"{name}\" must not contain spaces, control characters, `&`, `=`, `#` or `?`"
        ));
    }
    Ok(())
}

impl UrlPrefix {
    pub fn parse(text: &str) -> Result<Self, String> {
        let invalid = |why: &str| format!("URL prefix \"{text}\" {why}");
        no_controls(text, "a URL prefix")?;
        one_mark(text, "URL prefix")?;
        let (scheme, rest) = text
            .split_once("://")
            .ok_or_else(|| invalid("must start with https:// (or http://)"))?;
        let scheme = scheme.to_ascii_lowercase();
        if scheme != "https" && scheme != "http" {
            return Err(invalid("must start with https:// (or http://)"));
        }
        let path_at = rest
            .find('/')
            .ok_or_else(|| invalid("needs a path after the host, e.g. https://api.example.com/bot{}/"))?;
        let authority = &rest[..path_at];
        if authority.contains(VALUE_MARK) || authority.contains('@') || authority.is_empty() {
            return Err(invalid("must put `{}` in the path, after a plain host"));
        }
        if authority.starts_with("*.") {
            return Err(invalid("must name one host, not a wildcard"));
        }
        HostPattern::parse(authority).map_err(|e| invalid(&format!("has a bad host: {e}")))?;
        let (host, port) = split_host_port(authority).map_err(|e| invalid(&format!("has a bad host: {e}")))?;
        let path = &rest[path_at..];
        let (before, after) = path
            .split_once(VALUE_MARK)
            .ok_or_else(|| invalid("must contain `{}`"))?;
        if before.contains('#') || after.contains('#') {
            return Err(invalid("must not contain a fragment (`#`)"));
        }
        Ok(Self {
            text: text.to_string(),
            port: port.unwrap_or_else(|| default_port(&scheme)),
            scheme,
            host,
            before: before.to_string(),
            after: after.to_string(),
        })
    }

    /// Whether a request to `host:port` over `scheme` is the one this prefix is for.
    pub fn targets(&self, scheme: &str, host: &str, port: u16) -> bool {
        self.scheme.eq_ignore_ascii_case(scheme) && self.host.eq_ignore_ascii_case(host) && self.port == port
    }

    /// The host of the prefix as a host pattern (for checking it against a secret's hosts).
    pub fn host_pattern(&self) -> Option<HostPattern> {
        let text = if self.port == default_port(&self.scheme) {
            self.host.clone()
        } else {
            format!("{}:{}", self.host, self.port)
        };
        HostPattern::parse(&text).ok()
    }
}

fn valid_json_pointer(pointer: &str) -> Result<(), String> {
    if !pointer.starts_with('/') {
        return Err(format!(
            "JSON field \"{pointer}\" must be a JSON pointer starting with `/`, e.g. \"/token\" or \"/auth/key\""
        ));
    }
    let mut chars = pointer.chars();
    while let Some(c) = chars.next() {
        if c == '~' && !matches!(chars.next(), Some('0' | '1')) {
            return Err(format!(
                "JSON field \"{pointer}\": `~` must be followed by 0 or 1 (RFC 6901)"
            ));
        }
    }
    Ok(())
}

/// A slot as written in a manifest or config: exactly one kind key, plus `template` for headers.
/// The field names differ by file (kebab-case in TOML, camelCase in JSON), the meaning does not.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SlotSpec {
    pub header: Option<String>,
    pub template: Option<String>,
    pub url_prefix: Option<String>,
    pub query: Option<String>,
    pub form_field: Option<String>,
    pub json_field: Option<String>,
}

/// The field names of one file format.
#[derive(Debug, Clone, Copy)]
pub struct SlotKeys {
    pub header: &'static str,
    pub template: &'static str,
    pub url_prefix: &'static str,
    pub query: &'static str,
    pub form_field: &'static str,
    pub json_field: &'static str,
}

pub const MANIFEST_KEYS: SlotKeys = SlotKeys {
    header: "header",
    template: "template",
    url_prefix: "url-prefix",
    query: "query",
    form_field: "form-field",
    json_field: "json-field",
};

pub const CONFIG_KEYS: SlotKeys = SlotKeys {
    header: "header",
    template: "template",
    url_prefix: "urlPrefix",
    query: "query",
    form_field: "formField",
    json_field: "jsonField",
};

impl SlotSpec {
    /// The slot this spec describes, or why it is not one (naming the keys of `keys`' format).
    pub fn to_slot(&self, keys: &SlotKeys) -> Result<SecretSlot, String> {
        let kinds = [
            self.header.is_some(),
            self.url_prefix.is_some(),
            self.query.is_some(),
            self.form_field.is_some(),
            self.json_field.is_some(),
        ];
        let allowed = format!(
            "`{}` (with `{}`), `{}`, `{}`, `{}` or `{}`",
            keys.header, keys.template, keys.url_prefix, keys.query, keys.form_field, keys.json_field
        );
        match kinds.iter().filter(|k| **k).count() {
            1 => {}
            0 => return Err(format!("a slot needs one of {allowed}")),
            _ => return Err(format!("a slot has exactly one of {allowed}")),
        }
        if self.template.is_some() && self.header.is_none() {
            return Err(format!("`{}` only goes with `{}`", keys.template, keys.header));
        }
        if let Some(name) = &self.header {
            if !valid_header_name(name) {
                return Err(format!("\"{name}\" is not an HTTP header name"));
            }
            if UNUSABLE_HEADERS.contains(&name.to_ascii_lowercase().as_str()) {
                return Err(format!(
                    "header \"{name}\" is managed by the gateway and cannot carry a secret"
                ));
            }
            let template = self.template.clone().unwrap_or_else(|| VALUE_MARK.to_string());
            no_controls(&template, "a header template")?;
            one_mark(&template, "header template")?;
            return Ok(SecretSlot::Header {
                name: name.clone(),
                template,
            });
        }
        if let Some(prefix) = &self.url_prefix {
            return UrlPrefix::parse(prefix).map(SecretSlot::UrlPrefix);
        }
        if let Some(param) = &self.query {
            plain_name(param, "a query parameter name")?;
            return Ok(SecretSlot::Query { param: param.clone() });
        }
        if let Some(field) = &self.form_field {
            plain_name(field, "a form field name")?;
            return Ok(SecretSlot::FormField { field: field.clone() });
        }
        let pointer = self.json_field.clone().unwrap_or_default();
        valid_json_pointer(&pointer)?;
        Ok(SecretSlot::JsonField { pointer })
    }
}

/// `SlotSpec` as a manifest writes it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ManifestSlot {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub header: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url_prefix: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub form_field: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub json_field: Option<String>,
}

impl From<&ManifestSlot> for SlotSpec {
    fn from(s: &ManifestSlot) -> Self {
        Self {
            header: s.header.clone(),
            template: s.template.clone(),
            url_prefix: s.url_prefix.clone(),
            query: s.query.clone(),
            form_field: s.form_field.clone(),
            json_field: s.json_field.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(f: impl FnOnce(&mut SlotSpec)) -> SlotSpec {
        let mut s = SlotSpec::default();
        f(&mut s);
        s
    }

    #[test]
    fn parses_every_kind() {
        let header = spec(|s| {
            s.header = Some("Authorization".into());
            s.template = Some("Bearer {}".into());
        });
        assert_eq!(
            header.to_slot(&MANIFEST_KEYS).unwrap().to_string(),
            "header `Authorization: Bearer {}`"
        );
        let bare = spec(|s| s.header = Some("X-Api-Key".into()));
        assert_eq!(
            bare.to_slot(&MANIFEST_KEYS).unwrap(),
            SecretSlot::Header {
                name: "X-Api-Key".into(),
                template: "{}".into()
            }
        );
        let url = spec(|s| s.url_prefix = Some("https://api.telegram.org/bot{}/".into()));
        match url.to_slot(&MANIFEST_KEYS).unwrap() {
            SecretSlot::UrlPrefix(p) => {
                assert_eq!(
                    (p.host.as_str(), p.port, p.before.as_str(), p.after.as_str()),
                    ("api.telegram.org", 443, "/bot", "/")
                );
                assert!(p.targets("https", "API.telegram.org", 443));
                assert!(!p.targets("http", "api.telegram.org", 443));
            }
            other => panic!("{other:?}"),
        }
        let query = spec(|s| s.query = Some("key".into()));
        assert_eq!(
            query.to_slot(&CONFIG_KEYS).unwrap(),
            SecretSlot::Query { param: "key".into() }
        );
        let json = spec(|s| s.json_field = Some("/auth/to~1ken".into()));
        assert!(json.to_slot(&CONFIG_KEYS).is_ok());
    }

    #[test]
    fn refuses_bad_slots_with_the_reason() {
        let cases: Vec<(SlotSpec, &str)> = vec![
            (SlotSpec::default(), "needs one of `header`"),
            (
                spec(|s| {
                    s.query = Some("a".into());
                    s.form_field = Some("b".into());
                }),
                "exactly one of",
            ),
            (spec(|s| s.template = Some("{}".into())), "needs one of"),
            (
                spec(|s| {
                    s.query = Some("a".into());
                    s.template = Some("{}".into());
                }),
                "only goes with",
            ),
            (spec(|s| s.header = Some("Bad Name".into())), "not an HTTP header name"),
            (spec(|s| s.header = Some("Host".into())), "managed by the gateway"),
            (
                spec(|s| {
                    s.header = Some("Authorization".into());
                    s.template = Some("Bearer".into());
                }),
                "must contain `{}`",
            ),
            (
                spec(|s| {
                    s.header = Some("Authorization".into());
                    s.template = Some("{} {}".into());
                }),
                "exactly once",
            ),
            (
                spec(|s| s.url_prefix = Some("ftp://x.example.com/{}".into())),
                "https://",
            ),
            (
                spec(|s| s.url_prefix = Some("https://{}.example.com/".into())),
                "in the path",
            ),
            (
                spec(|s| s.url_prefix = Some("https://*.example.com/{}".into())),
                "wildcard",
            ),
            (
                spec(|s| s.url_prefix = Some("https://api.example.com/x".into())),
                "must contain `{}`",
            ),
            (spec(|s| s.query = Some("a=b".into())), "must not contain"),
            (spec(|s| s.json_field = Some("token".into())), "JSON pointer"),
            (spec(|s| s.json_field = Some("/a~2".into())), "RFC 6901"),
        ];
        for (spec, expected) in cases {
            let err = spec.to_slot(&MANIFEST_KEYS).unwrap_err();
            assert!(err.contains(expected), "{spec:?}: {err}");
        }
    }
}

//! Secrets by placeholder: finding `{{secret:NAME}}` in what a plugin sends, substituting values
//! for the hosts a secret is bound to, and scrubbing values from everything that flows back.
//!
//! The plugin only ever holds the placeholder. Scrubbing covers the forms a reflecting server
//! would most plausibly return a value in (raw, percent-encoded, base64, base64url, JSON-escaped);
//! a server that transforms the value further (hashes it, splits it) is outside what a host can
//! recognise, which is why substitution is bound to the hosts the operator trusts with it.

use std::fmt;
use std::ops::Range;

use aho_corasick::{AhoCorasick, MatchKind};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE_NO_PAD};
use secrecy::{ExposeSecret, SecretString};

use openclaw_core::plugins::hosts::{self, HostPattern};
use openclaw_core::plugins::manifest::valid_secret_name;

/// A secret value a plugin may use, with the hosts it may be sent to.
#[derive(Clone)]
pub struct BoundSecret {
    pub name: String,
    pub value: SecretString,
    pub hosts: Vec<HostPattern>,
}

impl fmt::Debug for BoundSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BoundSecret")
            .field("name", &self.name)
            .field("value", &"[redacted]")
            .field("hosts", &self.hosts)
            .finish()
    }
}

/// One placeholder found in text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placeholder {
    pub range: Range<usize>,
    pub name: String,
}

const RAW_OPEN: &[u8] = b"{{secret:";
const RAW_CLOSE: &[u8] = b"}}";

fn eq_ignore_case_at(haystack: &[u8], at: usize, needle: &[u8]) -> bool {
    haystack
        .get(at..at + needle.len())
        .is_some_and(|s| s.eq_ignore_ascii_case(needle))
}

/// Finds placeholders, raw (`{{secret:NAME}}`) or percent-encoded as URL builders write them
/// (`%7B%7Bsecret%3ANAME%7D%7D`, any hex case, `:` encoded or not).
pub fn find_placeholders(bytes: &[u8]) -> Vec<Placeholder> {
    let mut found = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let open_len = if bytes[i..].starts_with(RAW_OPEN) {
            Some((RAW_OPEN.len(), false))
        } else if eq_ignore_case_at(bytes, i, b"%7b%7bsecret:") {
            Some((13, true))
        } else if eq_ignore_case_at(bytes, i, b"%7b%7bsecret%3a") {
            Some((15, true))
        } else {
            None
        };
        let Some((open, encoded)) = open_len else {
            i += 1;
            continue;
        };
        let name_start = i + open;
        let name_end = bytes[name_start..]
            .iter()
            .position(|b| !(b.is_ascii_alphanumeric() || *b == b'_' || *b == b'-' || *b == b'.'))
            .map_or(bytes.len(), |p| name_start + p);
        let close_len = if !encoded && bytes[name_end..].starts_with(RAW_CLOSE) {
            Some(RAW_CLOSE.len())
        } else if encoded && eq_ignore_case_at(bytes, name_end, b"%7d%7d") {
            Some(6)
        } else {
            None
        };
        let name = String::from_utf8_lossy(&bytes[name_start..name_end]).into_owned();
        match close_len {
            Some(close) if valid_secret_name(&name) => {
                found.push(Placeholder {
                    range: i..name_end + close,
                    name,
                });
                i = name_end + close;
            }
            _ => i += 1,
        }
    }
    found
}

/// Why a placeholder cannot be filled in for a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubstitutionRefused(pub String);

/// Where in a request a value goes, which decides its encoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Slot {
    /// Path or query: the value is percent-encoded.
    Url,
    /// A header value: must not contain line breaks.
    Header,
    /// The body: inserted as is.
    Body,
}

fn percent_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b':') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The secrets of one plugin.
#[derive(Debug, Clone, Default)]
pub struct SecretBook {
    secrets: Vec<BoundSecret>,
}

impl SecretBook {
    pub fn new(secrets: Vec<BoundSecret>) -> Self {
        Self { secrets }
    }

    pub fn is_empty(&self) -> bool {
        self.secrets.is_empty()
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.secrets.iter().map(|s| s.name.as_str())
    }

    /// Replaces every placeholder in `bytes`, provided each names a secret bound to
    /// `host:port` over `scheme`; otherwise refuses the whole request (nothing is sent).
    /// Returns `None` when there was nothing to replace.
    pub fn substitute(
        &self,
        bytes: &[u8],
        slot: Slot,
        host: &str,
        port: u16,
        scheme: &str,
    ) -> Result<Option<Vec<u8>>, SubstitutionRefused> {
        let found = find_placeholders(bytes);
        if found.is_empty() {
            return Ok(None);
        }
        let mut out = Vec::with_capacity(bytes.len() + 64);
        let mut last = 0;
        for placeholder in &found {
            let secret = self
                .secrets
                .iter()
                .find(|s| s.name == placeholder.name)
                .ok_or_else(|| {
                    SubstitutionRefused(format!(
                        "secret \"{}\" is not granted to this plugin (it must be requested in the manifest \
                     and given a value in plugins.entries.<id>.secrets)",
                        placeholder.name
                    ))
                })?;
            if !hosts::allowed(&secret.hosts, host, port, scheme) {
                return Err(SubstitutionRefused(format!(
                    "secret \"{}\" may only be sent to {}, not to {host}:{port}",
                    placeholder.name,
                    list(&secret.hosts)
                )));
            }
            let value = secret.value.expose_secret();
            out.extend_from_slice(&bytes[last..placeholder.range.start]);
            match slot {
                Slot::Url => out.extend_from_slice(percent_encode(value).as_bytes()),
                Slot::Header => {
                    if value.bytes().any(|b| b == b'\r' || b == b'\n' || b == 0) {
                        return Err(SubstitutionRefused(format!(
                            "secret \"{}\" contains a line break and cannot go into a header",
                            placeholder.name
                        )));
                    }
                    out.extend_from_slice(value.as_bytes());
                }
                Slot::Body => out.extend_from_slice(value.as_bytes()),
            }
            last = placeholder.range.end;
        }
        out.extend_from_slice(&bytes[last..]);
        Ok(Some(out))
    }

    /// A scrubber for every value in the book.
    pub fn scrubber(&self) -> Scrubber {
        Scrubber::new(self.secrets.iter().map(|s| (s.name.as_str(), s.value.expose_secret())))
    }
}

fn list(patterns: &[HostPattern]) -> String {
    if patterns.is_empty() {
        return "no host".into();
    }
    patterns.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
}

/// Replaces known secret values (and their common encodings) with `[redacted:NAME]`.
#[derive(Clone, Default)]
pub struct Scrubber {
    matcher: Option<AhoCorasick>,
    replacements: Vec<String>,
}

impl fmt::Debug for Scrubber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Scrubber")
            .field("patterns", &self.replacements.len())
            .finish()
    }
}

fn encodings(value: &str) -> Vec<String> {
    let mut forms = vec![
        value.to_string(),
        percent_encode(value),
        STANDARD.encode(value),
        STANDARD_NO_PAD.encode(value),
        URL_SAFE_NO_PAD.encode(value),
    ];
    // JSON-escaped (without the quotes) differs only when the value has characters JSON escapes.
    if let Ok(json) = serde_json::to_string(value) {
        forms.push(json[1..json.len() - 1].to_string());
    }
    forms.retain(|f| !f.is_empty());
    forms.sort();
    forms.dedup();
    forms
}

impl Scrubber {
    pub fn new<'a>(secrets: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        let mut patterns = Vec::new();
        let mut replacements = Vec::new();
        for (name, value) in secrets {
            for form in encodings(value) {
                patterns.push(form);
                replacements.push(format!("[redacted:{name}]"));
            }
        }
        if patterns.is_empty() {
            return Self::default();
        }
        let matcher = AhoCorasick::builder()
            .match_kind(MatchKind::LeftmostLongest)
            .build(&patterns)
            .ok();
        Self { matcher, replacements }
    }

    pub fn is_empty(&self) -> bool {
        self.matcher.is_none()
    }

    /// Scrubs bytes; borrows when nothing matched.
    pub fn scrub_bytes<'a>(&self, bytes: &'a [u8]) -> std::borrow::Cow<'a, [u8]> {
        match &self.matcher {
            Some(m) if m.is_match(bytes) => std::borrow::Cow::Owned(m.replace_all_bytes(bytes, &self.replacements)),
            _ => std::borrow::Cow::Borrowed(bytes),
        }
    }

    /// Scrubs text.
    pub fn scrub<'a>(&self, text: &'a str) -> std::borrow::Cow<'a, str> {
        match &self.matcher {
            Some(m) if m.is_match(text) => std::borrow::Cow::Owned(m.replace_all(text, &self.replacements)),
            _ => std::borrow::Cow::Borrowed(text),
        }
    }

    pub fn scrub_string(&self, text: String) -> String {
        match self.scrub(&text) {
            std::borrow::Cow::Borrowed(_) => text,
            std::borrow::Cow::Owned(s) => s,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn book() -> SecretBook {
        SecretBook::new(vec![BoundSecret {
            name: "TOKEN".into(),
            value: SecretString::from("s3cr3t/val+ue=="),
            hosts: vec![HostPattern::parse("api.example.com").unwrap()],
        }])
    }

    #[test]
    fn finds_raw_and_encoded_placeholders() {
        let text = b"a{{secret:ONE}}b%7B%7Bsecret%3ATWO%7D%7Dc%7b%7bsecret:THREE%7d%7d{{secret:bad name}}";
        let names: Vec<_> = find_placeholders(text).into_iter().map(|p| p.name).collect();
        assert_eq!(names, ["ONE", "TWO", "THREE"]);
    }

    #[test]
    fn substitutes_only_for_bound_hosts() {
        let book = book();
        let out = book
            .substitute(
                b"Bearer {{secret:TOKEN}}",
                Slot::Header,
                "api.example.com",
                443,
                "https",
            )
            .unwrap()
            .unwrap();
        assert_eq!(out, b"Bearer s3cr3t/val+ue==");
        let url = book
            .substitute(b"/v1/{{secret:TOKEN}}/x", Slot::Url, "api.example.com", 443, "https")
            .unwrap()
            .unwrap();
        assert_eq!(url, b"/v1/s3cr3t%2Fval%2Bue%3D%3D/x");
        let refused = book
            .substitute(b"{{secret:TOKEN}}", Slot::Body, "evil.example.net", 443, "https")
            .unwrap_err();
        assert!(refused.0.contains("only be sent to api.example.com"), "{}", refused.0);
        let unknown = book
            .substitute(b"{{secret:OTHER}}", Slot::Body, "api.example.com", 443, "https")
            .unwrap_err();
        assert!(unknown.0.contains("not granted"), "{}", unknown.0);
        assert_eq!(
            book.substitute(b"plain", Slot::Body, "api.example.com", 443, "https"),
            Ok(None)
        );
    }

    #[test]
    fn scrubs_every_common_encoding() {
        let scrubber = book().scrubber();
        for form in encodings("s3cr3t/val+ue==") {
            let text = format!("echo: {form} end");
            let out = scrubber.scrub(&text);
            assert_eq!(out, "echo: [redacted:TOKEN] end", "form {form}");
        }
        assert!(matches!(scrubber.scrub("nothing here"), std::borrow::Cow::Borrowed(_)));
    }
}

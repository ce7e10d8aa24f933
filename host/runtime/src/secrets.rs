//! Secrets by placeholder: a plugin writes `{{secret:NAME}}` where a value goes; the runtime
//! fills it in only in the **slots** the secret is bound to (a header template, a URL prefix, a
//! query parameter, a form or JSON body field; see `openclaw_core::plugins::slots`), on requests
//! to the secret's hosts, and refuses the whole request when a placeholder sits anywhere else.
//! Values are scrubbed from everything that flows back to the plugin (`openclaw_core::security::
//! scrub` recognises the escaped spellings a server would plausibly echo).
//!
//! The plugin only ever holds the placeholder.

use std::fmt;
use std::ops::Range;
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use http::header::{self, HeaderMap, HeaderValue};
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;

use openclaw_core::plugins::hosts::{self, HostPattern};
use openclaw_core::plugins::manifest::valid_secret_name;
use openclaw_core::plugins::slots::{SecretSlot, VALUE_MARK, describe};
use openclaw_core::security::scrub::SecretScrubber;

/// A secret value a plugin may use, with the hosts and slots it may be placed in.
#[derive(Clone)]
pub struct BoundSecret {
    pub name: String,
    pub value: SecretString,
    pub hosts: Vec<HostPattern>,
    pub slots: Vec<SecretSlot>,
}

impl fmt::Debug for BoundSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BoundSecret")
            .field("name", &self.name)
            .field("value", &"[redacted]")
            .field("hosts", &self.hosts)
            .field("slots", &self.slots)
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

/// The placeholder named by `text` when `text` is exactly one placeholder and nothing else.
fn whole_placeholder(text: &[u8]) -> Option<String> {
    let found = find_placeholders(text);
    match found.as_slice() {
        [only] if only.range == (0..text.len()) => Some(only.name.clone()),
        _ => None,
    }
}

/// Why a request cannot be sent as the plugin wrote it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubstitutionRefused(pub String);

/// Percent-encodes for a URL path or query: everything but unreserved characters and `:`.
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

/// `application/x-www-form-urlencoded` encoding (WHATWG): `*-._` and alphanumerics stay, a space
/// becomes `+`.
fn form_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'*' | b'-' | b'.' | b'_') {
            out.push(b as char);
        } else if b == b' ' {
            out.push('+');
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Decodes percent-encoding and `+` (form and query values).
fn form_decode(text: &str) -> Vec<u8> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b'%' if bytes.len() >= i + 3 => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(b) => {
                        out.push(b);
                        i += 3;
                    }
                    None => {
                        out.push(b'%');
                        i += 1;
                    }
                }
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    out
}

/// The media type of a `content-type` header, lower-cased, without parameters.
fn media_type(headers: &HeaderMap) -> String {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase())
        .unwrap_or_default()
}

fn is_json(media: &str) -> bool {
    media == "application/json" || media.ends_with("+json")
}

/// A request with every placeholder filled in.
#[derive(Debug)]
pub struct Filled {
    pub path_and_query: String,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

/// Where a request goes (the URL checks already passed).
#[derive(Debug, Clone, Copy)]
pub struct Destination<'a> {
    pub scheme: &'a str,
    pub host: &'a str,
    pub port: u16,
}

/// The secrets of one plugin: those it may place in requests, and those only the host uses
/// (a webhook's verification secret), which are scrubbed all the same.
#[derive(Debug, Clone, Default)]
pub struct SecretBook {
    secrets: Vec<BoundSecret>,
    host_only: Vec<(String, SecretString)>,
}

impl SecretBook {
    pub fn new(secrets: Vec<BoundSecret>) -> Self {
        Self {
            secrets,
            host_only: Vec::new(),
        }
    }

    /// Adds a secret the plugin never places anywhere but must never see either.
    pub fn with_host_only(mut self, name: &str, value: SecretString) -> Self {
        self.host_only.push((name.to_string(), value));
        self
    }

    /// The value of a host-only secret.
    pub fn host_only(&self, name: &str) -> Option<&SecretString> {
        self.host_only.iter().find(|(n, _)| n == name).map(|(_, v)| v)
    }

    pub fn is_empty(&self) -> bool {
        self.secrets.is_empty() && self.host_only.is_empty()
    }

    /// Whether the plugin can place any secret at all (what makes Range requests dangerous).
    pub fn places_secrets(&self) -> bool {
        !self.secrets.is_empty()
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.secrets.iter().map(|s| s.name.as_str())
    }

    fn secret(&self, name: &str) -> Result<&BoundSecret, SubstitutionRefused> {
        self.secrets.iter().find(|s| s.name == name).ok_or_else(|| {
            SubstitutionRefused(format!(
                "secret \"{name}\" is not granted to this plugin (the manifest must request it with its slots \
                 and plugins.entries.<id>.secrets.{name} must give it a value)"
            ))
        })
    }

    fn misplaced(&self, name: &str, place: &str) -> SubstitutionRefused {
        match self.secret(name) {
            Err(refused) => refused,
            Ok(secret) => SubstitutionRefused(format!(
                "secret \"{name}\" may only be placed in: {}; this request has it in {place}. Nothing was sent",
                describe(&secret.slots)
            )),
        }
    }

    /// Checks that `secret` may go to `to` at all.
    fn check_host(secret: &BoundSecret, to: Destination<'_>) -> Result<(), SubstitutionRefused> {
        if hosts::allowed(&secret.hosts, to.host, to.port, to.scheme) {
            Ok(())
        } else {
            Err(SubstitutionRefused(format!(
                "secret \"{}\" may only be sent to {}, not to {}:{}. Nothing was sent",
                secret.name,
                list(&secret.hosts),
                to.host,
                to.port
            )))
        }
    }

    /// Fills every placeholder of a request to `to`, or refuses it. `Ok(None)`: the request holds
    /// no placeholder and goes out as written.
    pub fn fill(
        &self,
        to: Destination<'_>,
        path_and_query: &str,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<Option<Filled>, SubstitutionRefused> {
        let url_has = !find_placeholders(path_and_query.as_bytes()).is_empty();
        let headers_have = headers.iter().any(|(n, v)| {
            !find_placeholders(n.as_str().as_bytes()).is_empty() || !find_placeholders(v.as_bytes()).is_empty()
        });
        let media = media_type(headers);
        let body_has = !find_placeholders(body).is_empty()
            || (is_json(&media) && body.windows(6).any(|w| w.eq_ignore_ascii_case(b"secret")));
        if !url_has && !headers_have && !body_has {
            return Ok(None);
        }
        let path_and_query = if url_has {
            self.fill_url(to, path_and_query)?
        } else {
            path_and_query.to_string()
        };
        let headers = if headers_have {
            self.fill_headers(to, headers)?
        } else {
            headers.clone()
        };
        let body = if body_has {
            self.fill_body(to, &media, body)?
        } else {
            body.to_vec()
        };
        Ok(Some(Filled {
            path_and_query,
            headers,
            body,
        }))
    }

    fn fill_url(&self, to: Destination<'_>, path_and_query: &str) -> Result<String, SubstitutionRefused> {
        let mut url = path_and_query.to_string();
        // A URL prefix: the placeholder right where the prefix puts the value.
        'prefixes: for secret in &self.secrets {
            for slot in &secret.slots {
                let SecretSlot::UrlPrefix(prefix) = slot else { continue };
                if !prefix.targets(to.scheme, to.host, to.port) || !url.starts_with(&prefix.before) {
                    continue;
                }
                let rest = &url.as_bytes()[prefix.before.len()..];
                let Some(found) = find_placeholders(rest).into_iter().next() else {
                    continue;
                };
                if found.range.start != 0
                    || found.name != secret.name
                    || !rest[found.range.end..].starts_with(prefix.after.as_bytes())
                {
                    continue;
                }
                let value = percent_encode(secret.value.expose_secret());
                let start = prefix.before.len();
                url.replace_range(start..start + found.range.end, &value);
                break 'prefixes;
            }
        }
        // Query parameters whose whole value is a placeholder.
        if let Some((path, query)) = url.split_once('?') {
            let mut pairs = Vec::new();
            let mut changed = false;
            for pair in query.split('&') {
                let (key, raw_value) = pair.split_once('=').unwrap_or((pair, ""));
                let decoded_key = String::from_utf8_lossy(&form_decode(key)).into_owned();
                let filled = whole_placeholder(&form_decode(raw_value)).and_then(|name| {
                    let secret = self.secrets.iter().find(|s| s.name == name)?;
                    secret
                        .slots
                        .iter()
                        .any(|slot| matches!(slot, SecretSlot::Query { param } if *param == decoded_key))
                        .then_some(secret)
                });
                match filled {
                    Some(secret) => {
                        Self::check_host(secret, to)?;
                        pairs.push(format!("{key}={}", percent_encode(secret.value.expose_secret())));
                        changed = true;
                    }
                    None => pairs.push(pair.to_string()),
                }
            }
            if changed {
                url = format!("{path}?{}", pairs.join("&"));
            }
        }
        if let Some(left) = find_placeholders(url.as_bytes()).into_iter().next() {
            return Err(self.misplaced(&left.name, "the URL"));
        }
        // The prefix already names the host; a query slot was checked above. Whatever was filled
        // is now in `url` and no placeholder is left.
        Ok(url)
    }

    fn fill_headers(&self, to: Destination<'_>, headers: &HeaderMap) -> Result<HeaderMap, SubstitutionRefused> {
        let mut out = HeaderMap::with_capacity(headers.len());
        for (name, value) in headers {
            if let Some(found) = find_placeholders(name.as_str().as_bytes()).into_iter().next() {
                return Err(self.misplaced(&found.name, "a header name"));
            }
            let found = find_placeholders(value.as_bytes());
            let Some(first) = found.first() else {
                out.append(name.clone(), value.clone());
                continue;
            };
            let secret = self.secret(&first.name)?;
            let raw = format!("{{{{secret:{}}}}}", secret.name);
            let template = secret.slots.iter().find_map(|slot| match slot {
                SecretSlot::Header {
                    name: slot_name,
                    template,
                } if slot_name.eq_ignore_ascii_case(name.as_str())
                    && value.as_bytes() == template.replacen(VALUE_MARK, &raw, 1).as_bytes() =>
                {
                    Some(template)
                }
                _ => None,
            });
            let Some(template) = template else {
                return Err(self.misplaced(&first.name, &format!("header `{name}`")));
            };
            Self::check_host(secret, to)?;
            let exposed = secret.value.expose_secret();
            if exposed.bytes().any(|b| b == b'\r' || b == b'\n' || b == 0) {
                return Err(SubstitutionRefused(format!(
                    "secret \"{}\" contains a line break and cannot go into a header",
                    secret.name
                )));
            }
            let filled = HeaderValue::from_str(&template.replacen(VALUE_MARK, exposed, 1)).map_err(|_| {
                SubstitutionRefused(format!(
                    "secret \"{}\" holds characters that cannot go into a header",
                    secret.name
                ))
            })?;
            out.append(name.clone(), filled);
        }
        Ok(out)
    }

    fn fill_body(&self, to: Destination<'_>, media: &str, body: &[u8]) -> Result<Vec<u8>, SubstitutionRefused> {
        let filled = if media == "application/x-www-form-urlencoded" {
            self.fill_form(to, body)?
        } else if is_json(media) {
            self.fill_json(to, body)?
        } else {
            None
        };
        let body = filled.unwrap_or_else(|| body.to_vec());
        if let Some(left) = find_placeholders(&body).into_iter().next() {
            return Err(self.misplaced(&left.name, "the request body"));
        }
        Ok(body)
    }

    fn fill_form(&self, to: Destination<'_>, body: &[u8]) -> Result<Option<Vec<u8>>, SubstitutionRefused> {
        let Ok(text) = std::str::from_utf8(body) else {
            return Ok(None);
        };
        let mut pairs = Vec::new();
        for pair in text.split('&') {
            let (key, raw_value) = pair.split_once('=').unwrap_or((pair, ""));
            let decoded_key = form_decode(key);
            if let Some(found) = find_placeholders(&decoded_key).into_iter().next() {
                return Err(self.misplaced(&found.name, "a form field name"));
            }
            let decoded_key = String::from_utf8_lossy(&decoded_key).into_owned();
            let decoded_value = form_decode(raw_value);
            match whole_placeholder(&decoded_value) {
                Some(name) => {
                    let secret = self.secret(&name)?;
                    let allowed = secret
                        .slots
                        .iter()
                        .any(|slot| matches!(slot, SecretSlot::FormField { field } if *field == decoded_key));
                    if !allowed {
                        return Err(self.misplaced(&name, &format!("form field `{decoded_key}`")));
                    }
                    Self::check_host(secret, to)?;
                    pairs.push(format!("{key}={}", form_encode(secret.value.expose_secret())));
                }
                None => {
                    if let Some(found) = find_placeholders(&decoded_value).into_iter().next() {
                        return Err(self.misplaced(&found.name, &format!("form field `{decoded_key}`")));
                    }
                    pairs.push(pair.to_string());
                }
            }
        }
        Ok(Some(pairs.join("&").into_bytes()))
    }

    fn fill_json(&self, to: Destination<'_>, body: &[u8]) -> Result<Option<Vec<u8>>, SubstitutionRefused> {
        let Ok(mut document) = serde_json::from_slice::<Value>(body) else {
            return Ok(None);
        };
        let mut pointer = String::new();
        let mut changed = false;
        self.walk_json(to, &mut document, &mut pointer, &mut changed, 0)?;
        if !changed {
            return Ok(None);
        }
        serde_json::to_vec(&document)
            .map(Some)
            .map_err(|e| SubstitutionRefused(format!("re-encoding the JSON body failed: {e}")))
    }

    fn walk_json(
        &self,
        to: Destination<'_>,
        value: &mut Value,
        pointer: &mut String,
        changed: &mut bool,
        depth: usize,
    ) -> Result<(), SubstitutionRefused> {
        if depth > 128 {
            return Err(SubstitutionRefused("the JSON body is nested too deeply".into()));
        }
        let escape = |key: &str| key.replace('~', "~0").replace('/', "~1");
        match value {
            Value::String(text) => {
                let found = find_placeholders(text.as_bytes());
                let Some(first) = found.first() else { return Ok(()) };
                let place = format!(
                    "JSON field `{}`",
                    if pointer.is_empty() { "/" } else { pointer.as_str() }
                );
                let Some(name) = whole_placeholder(text.as_bytes()) else {
                    return Err(self.misplaced(&first.name, &place));
                };
                let secret = self.secret(&name)?;
                let allowed = secret
                    .slots
                    .iter()
                    .any(|slot| matches!(slot, SecretSlot::JsonField { pointer: p } if p == pointer));
                if !allowed {
                    return Err(self.misplaced(&name, &place));
                }
                Self::check_host(secret, to)?;
                *text = secret.value.expose_secret().to_string();
                *changed = true;
            }
            Value::Array(items) => {
                for (i, item) in items.iter_mut().enumerate() {
                    let len = pointer.len();
                    pointer.push_str(&format!("/{i}"));
                    self.walk_json(to, item, pointer, changed, depth + 1)?;
                    pointer.truncate(len);
                }
            }
            Value::Object(map) => {
                for (key, item) in map.iter_mut() {
                    if let Some(found) = find_placeholders(key.as_bytes()).into_iter().next() {
                        return Err(self.misplaced(&found.name, "a JSON key"));
                    }
                    let len = pointer.len();
                    pointer.push('/');
                    pointer.push_str(&escape(key));
                    self.walk_json(to, item, pointer, changed, depth + 1)?;
                    pointer.truncate(len);
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// A scrubber for every value in the book, placeable and host-only alike.
    pub fn scrubber(&self) -> Scrubber {
        Scrubber::from_inner(self.scrubber_with(&[]))
    }

    /// Every value in the book (placeable and host-only) with its name.
    fn values(&self) -> impl Iterator<Item = (&str, &SecretString)> {
        self.secrets
            .iter()
            .map(|s| (s.name.as_str(), &s.value))
            .chain(self.host_only.iter().map(|(n, v)| (n.as_str(), v)))
    }

    /// The scrubber for this book's values and `retired` ones, which a plugin may still hold
    /// in a response or a log line from before a rotation.
    fn scrubber_with(&self, retired: &[(String, SecretString)]) -> SecretScrubber {
        let labels: Vec<(String, &str)> = self
            .values()
            .chain(retired.iter().map(|(n, v)| (n.as_str(), v)))
            .map(|(n, v)| (format!("[redacted:{n}]"), v.expose_secret()))
            .collect();
        SecretScrubber::new(labels.iter().map(|(l, v)| (l.as_str(), *v)))
    }
}

/// Old values a rotated book keeps scrubbing, at most this many per plugin: rotations are rare,
/// and a value rotated this many times ago has long left every response still in flight.
pub const MAX_RETIRED_VALUES: usize = 32;

/// A plugin's secret book, replaceable while the plugin runs (`openclaw secrets reload`).
/// Each request reads the book once, so one request never mixes two generations of values.
#[derive(Debug, Default)]
pub struct LiveBook {
    current: RwLock<Arc<SecretBook>>,
    /// Values replaced by a rotation, still scrubbed (newest last).
    retired: Mutex<Vec<(String, SecretString)>>,
}

impl LiveBook {
    pub fn new(book: SecretBook) -> Self {
        Self {
            current: RwLock::new(Arc::new(book)),
            retired: Mutex::new(Vec::new()),
        }
    }

    /// The book in force now.
    pub fn current(&self) -> Arc<SecretBook> {
        // A panic while the lock was held cannot leave a half-written Arc behind.
        self.current.read().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// Builds the replacement for `next` without putting it in force: the old values it drops
    /// join the retired ones, and the scrubber covers both generations.
    pub fn prepare(&self, next: SecretBook) -> PreparedBook {
        let current = self.current();
        let mut retired = self.retired.lock().unwrap_or_else(PoisonError::into_inner).clone();
        for (name, old) in current.values() {
            let kept = next.values().any(|(_, v)| v.expose_secret() == old.expose_secret());
            let known = retired.iter().any(|(_, v)| v.expose_secret() == old.expose_secret());
            if !kept && !known {
                retired.push((name.to_string(), old.clone()));
            }
        }
        let excess = retired.len().saturating_sub(MAX_RETIRED_VALUES);
        retired.drain(..excess);
        let scrubber = next.scrubber_with(&retired);
        PreparedBook {
            book: next,
            retired,
            scrubber,
        }
    }

    /// Puts a prepared book in force. The scrubber is replaced first, so there is no moment in
    /// which a new value can be placed in a request but not yet scrubbed from its answer.
    pub fn commit(&self, prepared: PreparedBook, scrubber: &Scrubber) {
        scrubber.replace(prepared.scrubber);
        *self.retired.lock().unwrap_or_else(PoisonError::into_inner) = prepared.retired;
        *self.current.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(prepared.book);
    }
}

/// A replacement book, built and checked, not yet in force (see [`LiveBook::prepare`]).
pub struct PreparedBook {
    book: SecretBook,
    retired: Vec<(String, SecretString)>,
    scrubber: SecretScrubber,
}

impl fmt::Debug for PreparedBook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PreparedBook")
            .field("names", &self.book.names().collect::<Vec<_>>())
            .field("retired", &self.retired.len())
            .finish()
    }
}

fn list(patterns: &[HostPattern]) -> String {
    if patterns.is_empty() {
        return "no host".into();
    }
    patterns.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
}

/// Replaces known secret values (and their common encodings) with `[redacted:NAME]`.
///
/// Clones share one set of values: a plugin's stores, its egress policy and its channel
/// instances all hold the same scrubber, so a rotation ([`LiveBook::commit`]) reaches every one
/// of them at once.
#[derive(Clone, Default)]
pub struct Scrubber(Arc<RwLock<Arc<SecretScrubber>>>);

impl fmt::Debug for Scrubber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner().fmt(f)
    }
}

impl Scrubber {
    fn from_inner(inner: SecretScrubber) -> Self {
        Self(Arc::new(RwLock::new(Arc::new(inner))))
    }

    fn inner(&self) -> Arc<SecretScrubber> {
        self.0.read().unwrap_or_else(PoisonError::into_inner).clone()
    }

    fn replace(&self, inner: SecretScrubber) {
        *self.0.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(inner);
    }

    pub fn is_empty(&self) -> bool {
        self.inner().is_empty()
    }

    /// Scrubs bytes; borrows when nothing matched.
    pub fn scrub_bytes<'a>(&self, bytes: &'a [u8]) -> std::borrow::Cow<'a, [u8]> {
        self.inner().scrub_bytes(bytes)
    }

    /// Scrubs text.
    pub fn scrub<'a>(&self, text: &'a str) -> std::borrow::Cow<'a, str> {
        self.inner().scrub(text)
    }

    pub fn scrub_string(&self, text: String) -> String {
        self.inner().scrub_string(text)
    }

    /// Whether a header name carries a secret (names arrive lower-cased, so case is ignored).
    pub fn in_header_name(&self, name: &str) -> bool {
        self.inner().contains_ignoring_case(name.as_bytes())
    }

    /// Scrubs a header map: values are scrubbed, headers whose name carries a secret are dropped
    /// (a header name cannot hold the `[redacted]` marker).
    pub fn scrub_headers(&self, headers: &HeaderMap) -> HeaderMap {
        let inner = self.inner();
        let mut out = HeaderMap::with_capacity(headers.len());
        for (name, value) in headers {
            if inner.contains_ignoring_case(name.as_str().as_bytes()) {
                continue;
            }
            let value = match inner.scrub_bytes(value.as_bytes()) {
                std::borrow::Cow::Borrowed(_) => value.clone(),
                std::borrow::Cow::Owned(bytes) => {
                    HeaderValue::from_bytes(&bytes).unwrap_or(HeaderValue::from_static("[redacted]"))
                }
            };
            out.append(name.clone(), value);
        }
        out
    }

    /// Scrubs (name, value) pairs as the channel ABI carries headers.
    pub fn scrub_pairs(&self, pairs: Vec<(String, String)>) -> Vec<(String, String)> {
        let inner = self.inner();
        pairs
            .into_iter()
            .filter(|(name, _)| !inner.contains_ignoring_case(name.as_bytes()))
            .map(|(name, value)| (name, inner.scrub_string(value)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::header::HeaderName;
    use openclaw_core::plugins::slots::{CONFIG_KEYS, SlotSpec};

    const VALUE: &str = "123456:s3cr3t/val+ue==";

    fn slot(json: serde_json::Value) -> SecretSlot {
        let spec: openclaw_core::config::schema::plugins::ConfigSlot = serde_json::from_value(json).unwrap();
        SlotSpec::from(&spec).to_slot(&CONFIG_KEYS).unwrap()
    }

    fn book() -> SecretBook {
        SecretBook::new(vec![BoundSecret {
            name: "TOKEN".into(),
            value: SecretString::from(VALUE),
            hosts: vec![HostPattern::parse("api.example.com").unwrap()],
            slots: vec![
                slot(serde_json::json!({"header": "Authorization", "template": "Bearer {}"})),
                slot(serde_json::json!({"urlPrefix": "https://api.example.com/bot{}/"})),
                slot(serde_json::json!({"query": "key"})),
                slot(serde_json::json!({"formField": "token"})),
                slot(serde_json::json!({"jsonField": "/auth/token"})),
            ],
        }])
    }

    const TO: Destination<'static> = Destination {
        scheme: "https",
        host: "api.example.com",
        port: 443,
    };

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.append(
                HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        map
    }

    fn fill(
        to: Destination<'_>,
        url: &str,
        hs: &[(&str, &str)],
        body: &str,
    ) -> Result<Option<Filled>, SubstitutionRefused> {
        book().fill(to, url, &headers(hs), body.as_bytes())
    }

    fn rotated(value: &str) -> SecretBook {
        let mut next = book();
        next.secrets[0].value = SecretString::from(value);
        next
    }

    #[test]
    fn a_rotated_book_fills_new_values_and_keeps_scrubbing_old_ones() {
        let live = LiveBook::new(book());
        let scrubber = live.current().scrubber();
        let shared = scrubber.clone();
        let prepared = live.prepare(rotated("rotated-value-0001"));
        // Nothing is in force before the commit.
        assert_eq!(live.current().secrets[0].value.expose_secret(), VALUE);
        assert_eq!(shared.scrub(VALUE), "[redacted:TOKEN]");
        assert_eq!(shared.scrub("rotated-value-0001"), "rotated-value-0001");
        live.commit(prepared, &scrubber);
        let filled = live
            .current()
            .fill(TO, "/", &headers(&[("authorization", "Bearer {{secret:TOKEN}}")]), b"")
            .unwrap()
            .unwrap();
        assert_eq!(filled.headers["authorization"], "Bearer rotated-value-0001");
        // Every clone of the scrubber sees both generations.
        assert_eq!(shared.scrub("rotated-value-0001"), "[redacted:TOKEN]");
        assert_eq!(shared.scrub(VALUE), "[redacted:TOKEN]");

        // Old values are kept up to the cap, oldest dropped first; unchanged values add nothing.
        let same = live.prepare(rotated("rotated-value-0001"));
        live.commit(same, &scrubber);
        assert_eq!(live.retired.lock().unwrap().len(), 1);
        for n in 0..MAX_RETIRED_VALUES + 2 {
            let next = live.prepare(rotated(&format!("rotated-value-{:04}", n + 2)));
            live.commit(next, &scrubber);
        }
        assert_eq!(live.retired.lock().unwrap().len(), MAX_RETIRED_VALUES);
        assert_eq!(shared.scrub(VALUE), VALUE, "the oldest value left the window");
        let newest_retired = format!("rotated-value-{:04}", MAX_RETIRED_VALUES);
        assert_eq!(shared.scrub(&newest_retired), "[redacted:TOKEN]");
    }

    #[test]
    fn finds_raw_and_encoded_placeholders() {
        let text = b"a{{secret:ONE}}b%7B%7Bsecret%3ATWO%7D%7Dc%7b%7bsecret:THREE%7d%7d{{secret:bad name}}";
        let names: Vec<_> = find_placeholders(text).into_iter().map(|p| p.name).collect();
        assert_eq!(names, ["ONE", "TWO", "THREE"]);
    }

    #[test]
    fn fills_every_kind_of_slot() {
        let header = fill(TO, "/v1/me", &[("authorization", "Bearer {{secret:TOKEN}}")], "")
            .unwrap()
            .unwrap();
        assert_eq!(header.headers["authorization"], format!("Bearer {VALUE}").as_str());

        let url = fill(TO, "/bot{{secret:TOKEN}}/getMe", &[], "").unwrap().unwrap();
        assert_eq!(url.path_and_query, "/bot123456:s3cr3t%2Fval%2Bue%3D%3D/getMe");
        let encoded = fill(TO, "/bot%7B%7Bsecret%3ATOKEN%7D%7D/getMe", &[], "")
            .unwrap()
            .unwrap();
        assert_eq!(encoded.path_and_query, url.path_and_query);

        let query = fill(TO, "/v1?a=1&key=%7B%7Bsecret%3ATOKEN%7D%7D&b=2", &[], "")
            .unwrap()
            .unwrap();
        assert_eq!(query.path_and_query, "/v1?a=1&key=123456:s3cr3t%2Fval%2Bue%3D%3D&b=2");

        let form = fill(
            TO,
            "/login",
            &[("content-type", "application/x-www-form-urlencoded")],
            "user=me&token=%7B%7Bsecret%3ATOKEN%7D%7D",
        )
        .unwrap()
        .unwrap();
        assert_eq!(form.body, b"user=me&token=123456%3As3cr3t%2Fval%2Bue%3D%3D");

        let json = fill(
            TO,
            "/login",
            &[("content-type", "application/json; charset=utf-8")],
            r#"{"auth": {"token": "{{secret:TOKEN}}"}, "text": "hello"}"#,
        )
        .unwrap()
        .unwrap();
        let parsed: Value = serde_json::from_slice(&json.body).unwrap();
        assert_eq!(parsed["auth"]["token"], VALUE);
        assert_eq!(parsed["text"], "hello");
        // JSON escapes of the placeholder are the placeholder.
        let escaped = fill(
            TO,
            "/login",
            &[("content-type", "application/json")],
            r#"{"auth": {"token": "\u007b\u007bsecret:TOKEN\u007d\u007d"}}"#,
        )
        .unwrap()
        .unwrap();
        assert!(String::from_utf8_lossy(&escaped.body).contains(VALUE));

        assert!(fill(TO, "/plain", &[("x-a", "b")], "no placeholder").unwrap().is_none());
    }

    /// A request: URL, headers, body, and where the refusal says the placeholder was.
    type Case<'a> = (&'a str, &'a [(&'a str, &'a str)], &'a str, &'a str);

    #[test]
    fn refuses_a_placeholder_outside_its_slots() {
        let json = &[("content-type", "application/json")];
        let form = &[("content-type", "application/x-www-form-urlencoded")];
        let cases: Vec<Case<'_>> = vec![
            // The Telegram case: the bot token as the text of a message to the same host.
            (
                "/bot{{secret:TOKEN}}/sendMessage",
                json,
                r#"{"chat_id": 1, "text": "{{secret:TOKEN}}"}"#,
                "JSON field `/text`",
            ),
            (
                "/v1",
                json,
                r#"{"auth": {"token": "Bearer {{secret:TOKEN}}"}}"#,
                "JSON field `/auth/token`",
            ),
            ("/v1", json, r#"{"{{secret:TOKEN}}": 1}"#, "a JSON key"),
            ("/v1", form, "text={{secret:TOKEN}}", "form field `text`"),
            ("/v1", form, "token=x{{secret:TOKEN}}", "form field `token`"),
            (
                "/v1",
                &[("content-type", "text/plain")],
                "{{secret:TOKEN}}",
                "the request body",
            ),
            ("/v1", &[], "token=%7B%7Bsecret%3ATOKEN%7D%7D", "the request body"),
            ("/v1", &[("x-token", "{{secret:TOKEN}}")], "", "header `x-token`"),
            (
                "/v1",
                &[("authorization", "Basic {{secret:TOKEN}}")],
                "",
                "header `authorization`",
            ),
            (
                "/v1",
                &[("authorization", "Bearer {{secret:TOKEN}} extra")],
                "",
                "header `authorization`",
            ),
            ("/v1?other={{secret:TOKEN}}", &[], "", "the URL"),
            ("/v1?key=x{{secret:TOKEN}}", &[], "", "the URL"),
            ("/v1/{{secret:TOKEN}}/", &[], "", "the URL"),
            ("/bot/{{secret:TOKEN}}/", &[], "", "the URL"),
            ("/bot{{secret:TOKEN}}", &[], "", "the URL"),
        ];
        for (url, hs, body, place) in cases {
            let refused = fill(TO, url, hs, body).unwrap_err();
            assert!(
                refused.0.contains(place)
                    && refused.0.contains("may only be placed in")
                    && refused.0.contains("header `Authorization: Bearer {}`"),
                "{url} {hs:?} {body}: {}",
                refused.0
            );
        }
        let unknown = fill(TO, "/v1", &[("authorization", "Bearer {{secret:OTHER}}")], "").unwrap_err();
        assert!(unknown.0.contains("not granted"), "{}", unknown.0);
    }

    #[test]
    fn slots_hold_only_on_the_secrets_hosts() {
        let elsewhere = Destination {
            scheme: "https",
            host: "evil.example.net",
            port: 443,
        };
        for (url, hs) in [
            ("/v1", vec![("authorization", "Bearer {{secret:TOKEN}}")]),
            ("/v1?key={{secret:TOKEN}}", vec![]),
        ] {
            let refused = fill(elsewhere, url, &hs, "").unwrap_err();
            assert!(
                refused.0.contains("may only be sent to api.example.com"),
                "{}",
                refused.0
            );
        }
        // A URL prefix names its own host: on another host the placeholder is just misplaced.
        let refused = fill(elsewhere, "/bot{{secret:TOKEN}}/getMe", &[], "").unwrap_err();
        assert!(refused.0.contains("the URL"), "{}", refused.0);
    }

    #[test]
    fn the_scrubber_covers_host_only_secrets() {
        let book = book().with_host_only("HOOK", SecretString::from("webhook-verification-secret"));
        let scrubber = book.scrubber();
        assert_eq!(
            scrubber.scrub("x webhook-verification-secret y 123456%3As3cr3t%2Fval%2Bue%3D%3D"),
            "x [redacted:HOOK] y [redacted:TOKEN]"
        );
        let pairs = scrubber.scrub_pairs(vec![
            ("x-webhook-verification-secret".into(), "a".into()),
            ("x-echo".into(), VALUE.into()),
        ]);
        assert_eq!(pairs, [("x-echo".to_string(), "[redacted:TOKEN]".to_string())]);
    }
}

//! OpenClaw's session keys (`agent:<agentId>:<rest>`), built and parsed.
//!
//! Agent and account ids are normalized the way OpenClaw does it: lower-cased, characters outside
//! `[a-z0-9_-]` collapsed to `-`, leading and trailing dashes stripped, cut to 64 characters, and
//! `main` (agents) or `default` (accounts) when nothing is left.
//!
//! The shapes after the agent id (`rest`) are:
//!
//! | conversation                         | rest                                      |
//! |--------------------------------------|-------------------------------------------|
//! | DM, `dmScope: main`, or empty peer   | `main`                                    |
//! | DM, `per-peer`                       | `direct:<peer>`                           |
//! | DM, `per-channel-peer`               | `<channel>:direct:<peer>`                 |
//! | DM, `per-account-channel-peer`       | `<channel>:<account>:direct:<peer>`       |
//! | group                                | `<channel>:group:<id>`                    |
//! | channel or room                      | `<channel>:channel:<id>`                  |
//! | group or channel, `groupScope: main` | `main`                                    |
//!
//! followed by `:topic:<id>` (Telegram forum topics) and/or `:thread:<id>` (other threads), in
//! that order. The legacy `dm` is accepted wherever `direct` is when parsing.
//!
//! **Ids are escaped, unlike OpenClaw.** OpenClaw joins raw ids with `:`, so a peer whose id is
//! `x:thread:1` gets the very key of peer `x` in thread `1`, and Matrix ids (`@a:b.org`) make keys
//! ambiguous. Here every id segment is lower-cased and trimmed (OpenClaw's normalization: ids are
//! compared case-insensitively), then `:`, `%`, `/`, `\`, whitespace and control characters are
//! written as `%xx` (lower-case hex of each UTF-8 byte). A segment therefore never contains `:`,
//! the grammar above has exactly one reading of every key, and two ids that differ after
//! normalization never produce the same key. Keys of ordinary ids (digits, `+`, letters, `@`, `.`,
//! `-`, `_`) are byte-for-byte OpenClaw's.
//!
//! Two more cases would make different conversations share a key, and are marked with the prefix
//! `%_` (which plain escaping never produces, since it writes `%` only before two hex digits):
//! - a group or channel whose real id is `unknown` (an empty id is written `unknown`);
//! - a DM peer whose id equals an `identityLinks` canonical name but who is not listed under it
//!   (linked peers are written as the canonical name). The decoded id of a marked segment is the
//!   id itself: the marker only keeps it apart.

use std::borrow::Cow;
use std::fmt;

use crate::config::schema::session::{DmScope, GroupScope, PeerKind};

/// The agent used when none is named.
pub const DEFAULT_AGENT_ID: &str = "main";
/// The account used when a channel message names none.
pub const DEFAULT_ACCOUNT_ID: &str = "default";
/// The key every DM shares under `session.dmScope: "main"`.
pub const MAIN_KEY: &str = "main";
/// The segment written for an empty group, channel or channel id.
pub const UNKNOWN_ID: &str = "unknown";
/// Prefix of a segment that must stay apart from an identical-looking one (see module docs).
pub const DISTINCT_MARKER: &str = "%_";
const MAX_ID_LEN: usize = 64;
const AGENT_PREFIX: &str = "agent:";

/// `raw` as OpenClaw normalizes an agent or account id.
pub fn normalize_id(raw: &str, fallback: &str) -> String {
    let mut out = String::with_capacity(raw.len().min(MAX_ID_LEN));
    let mut dash = false;
    for c in raw.trim().chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() || c == '_' {
            out.push(c);
            dash = false;
        } else if !dash {
            out.push('-');
            dash = true;
        }
    }
    let trimmed: String = out.trim_matches('-').chars().take(MAX_ID_LEN).collect();
    let trimmed = trimmed.trim_end_matches('-');
    if trimmed.is_empty() {
        fallback.to_string()
    } else {
        trimmed.to_string()
    }
}

/// Whether `raw` is already a normalized id (the common case, which then costs no allocation).
fn is_normalized_id(raw: &str) -> bool {
    !raw.is_empty()
        && raw.len() <= MAX_ID_LEN
        && !raw.starts_with('-')
        && !raw.ends_with('-')
        && !raw.contains("--")
        && raw
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
}

/// An agent id as OpenClaw normalizes it (`main` when nothing is left).
pub fn normalize_agent_id(raw: &str) -> String {
    normalize_id(raw, DEFAULT_AGENT_ID)
}

/// An account id as OpenClaw normalizes it (`default` when nothing is left).
pub fn normalize_account_id(raw: &str) -> String {
    normalize_id(raw, DEFAULT_ACCOUNT_ID)
}

fn normalized_id_cow<'a>(raw: &'a str, fallback: &str) -> Cow<'a, str> {
    if is_normalized_id(raw) {
        Cow::Borrowed(raw)
    } else {
        Cow::Owned(normalize_id(raw, fallback))
    }
}

/// A peer, group, channel or thread id as keys compare it: trimmed and lower-cased (no
/// allocation when it already is).
pub fn normalize_peer_id(raw: &str) -> Cow<'_, str> {
    let trimmed = raw.trim();
    if trimmed.is_ascii() {
        if trimmed.bytes().any(|b| b.is_ascii_uppercase()) {
            Cow::Owned(trimmed.to_ascii_lowercase())
        } else {
            Cow::Borrowed(trimmed)
        }
    } else {
        let lower = trimmed.to_lowercase();
        if lower == trimmed {
            Cow::Borrowed(trimmed)
        } else {
            Cow::Owned(lower)
        }
    }
}

fn needs_escape(c: char) -> bool {
    matches!(c, ':' | '%' | '/' | '\\') || c.is_control() || c.is_whitespace()
}

fn push_escaped_char(out: &mut String, c: char) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut buf = [0u8; 4];
    for byte in c.encode_utf8(&mut buf).bytes() {
        out.push('%');
        out.push(char::from(HEX[usize::from(byte >> 4)]));
        out.push(char::from(HEX[usize::from(byte & 0xf)]));
    }
}

/// Appends the key segment of an id that is already trimmed and lower-cased.
fn push_normalized_segment(out: &mut String, id: &str) {
    for c in id.chars() {
        if needs_escape(c) {
            push_escaped_char(out, c);
        } else {
            out.push(c);
        }
    }
}

/// The key segment of an id: trimmed, lower-cased, `:` `%` `/` `\` whitespace and control
/// characters escaped as `%xx`. Empty when the id is.
pub fn escape_segment(raw: &str) -> String {
    let id = normalize_peer_id(raw);
    let mut out = String::with_capacity(id.len());
    push_normalized_segment(&mut out, &id);
    out
}

/// The id a key segment stands for (`%xx` decoded, the [`DISTINCT_MARKER`] dropped). A segment
/// that is not valid escaping comes back unchanged.
pub fn unescape_segment(segment: &str) -> Cow<'_, str> {
    let body = segment.strip_prefix(DISTINCT_MARKER).unwrap_or(segment);
    if !body.contains('%') {
        return Cow::Borrowed(body);
    }
    let bytes = body.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| char::from(b).to_digit(16);
        match (
            bytes[i],
            bytes.get(i + 1).copied().and_then(hex),
            bytes.get(i + 2).copied().and_then(hex),
        ) {
            (b'%', Some(hi), Some(lo)) => {
                // Both digits are below 16, so the byte cannot overflow.
                out.push(u8::try_from(hi * 16 + lo).unwrap_or(b'%'));
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    match String::from_utf8(out) {
        Ok(text) => Cow::Owned(text),
        Err(_) => Cow::Borrowed(segment),
    }
}

/// The kind of conversation a key belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChatKind {
    Direct,
    Group,
    /// A channel or room (Discord and Slack channels, Teams channels).
    Channel,
}

impl ChatKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Direct => "direct",
            Self::Group => "group",
            Self::Channel => "channel",
        }
    }
}

impl From<PeerKind> for ChatKind {
    fn from(kind: PeerKind) -> Self {
        match kind {
            PeerKind::Direct | PeerKind::Dm => Self::Direct,
            PeerKind::Group => Self::Group,
            PeerKind::Channel => Self::Channel,
        }
    }
}

impl fmt::Display for ChatKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a parsed key names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SessionKind {
    /// `main` (optionally with a thread or topic).
    Main,
    Direct,
    Group,
    Channel,
    /// Any other shape (`subagent:…`, `cron:…`, `hook:…`, `openai:…`, or an OpenClaw key whose
    /// raw ids contain `:`). Still a valid key; it only has no parts.
    Other,
}

/// The parts of a key, as written in it (segments still escaped: see [`unescape_segment`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyParts<'a> {
    pub kind: SessionKind,
    pub channel: Option<&'a str>,
    pub account_id: Option<&'a str>,
    /// The peer of a DM, or the id of a group or channel.
    pub peer: Option<&'a str>,
    pub topic: Option<&'a str>,
    pub thread: Option<&'a str>,
    /// The DM was written with the legacy `dm` instead of `direct`.
    pub legacy_dm: bool,
}

impl<'a> KeyParts<'a> {
    fn new(kind: SessionKind) -> Self {
        Self {
            kind,
            channel: None,
            account_id: None,
            peer: None,
            topic: None,
            thread: None,
            legacy_dm: false,
        }
    }

    /// Reads `rest` by the grammar in the module docs. For a given number of segments the shapes
    /// put their keywords at different positions, so at most one shape (with its suffixes) fits
    /// a key: trying them in any order gives the same reading.
    fn parse(rest: &'a str) -> Self {
        const MAX_SEGMENTS: usize = 8;
        let mut segs: [&str; MAX_SEGMENTS] = [""; MAX_SEGMENTS];
        let mut n = 0;
        for seg in rest.split(':') {
            if n == MAX_SEGMENTS {
                return Self::new(SessionKind::Other);
            }
            segs[n] = seg;
            n += 1;
        }
        let segs = &segs[..n];
        let is_dm = |s: &str| s == "direct" || s == "dm";
        let direct = |legacy: bool| {
            let mut p = Self::new(SessionKind::Direct);
            p.legacy_dm = legacy;
            p
        };
        // Each shape: its parts and how many segments it takes; the rest must be suffixes.
        let shapes = [
            match segs {
                ["main", ..] => Some((Self::new(SessionKind::Main), 1)),
                _ => None,
            },
            match segs {
                [kw, peer, ..] if is_dm(kw) => {
                    let mut p = direct(*kw == "dm");
                    p.peer = Some(*peer);
                    Some((p, 2))
                }
                _ => None,
            },
            match segs {
                [channel, kw, id, ..] => {
                    let kind = match *kw {
                        "group" => Some(Self::new(SessionKind::Group)),
                        "channel" => Some(Self::new(SessionKind::Channel)),
                        k if is_dm(k) => Some(direct(k == "dm")),
                        _ => None,
                    };
                    kind.map(|mut p| {
                        p.channel = Some(*channel);
                        p.peer = Some(*id);
                        (p, 3)
                    })
                }
                _ => None,
            },
            match segs {
                [channel, account, kw, peer, ..] if is_dm(kw) => {
                    let mut p = direct(*kw == "dm");
                    p.channel = Some(*channel);
                    p.account_id = Some(*account);
                    p.peer = Some(*peer);
                    Some((p, 4))
                }
                _ => None,
            },
        ];
        for (mut parts, base_len) in shapes.into_iter().flatten() {
            match segs[base_len..] {
                [] => {}
                ["topic", t] => parts.topic = Some(t),
                ["thread", t] => parts.thread = Some(t),
                ["topic", t, "thread", h] => {
                    parts.topic = Some(t);
                    parts.thread = Some(h);
                }
                _ => continue,
            }
            return parts;
        }
        Self::new(SessionKind::Other)
    }
}

/// Everything a conversation key is built from. Ids are given raw; they are normalized and
/// escaped here.
#[derive(Debug, Clone, Copy)]
pub struct KeySpec<'a> {
    pub agent_id: &'a str,
    pub channel: &'a str,
    /// `None`: the channel's default account.
    pub account_id: Option<&'a str>,
    pub kind: ChatKind,
    /// The DM peer (after identity links) or the group or channel id.
    pub peer_id: &'a str,
    /// Write the peer with the [`DISTINCT_MARKER`]: its id equals an identity-link canonical name
    /// it is not linked to.
    pub peer_distinct: bool,
    /// A Telegram forum topic.
    pub topic_id: Option<&'a str>,
    /// A Slack, Discord or other thread.
    pub thread_id: Option<&'a str>,
    pub dm_scope: DmScope,
    pub group_scope: GroupScope,
}

/// A session key. Two keys are equal exactly when their text is.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SessionKey {
    /// The whole key, `agent:<agent>:<rest>`.
    text: String,
    /// Length of the agent id.
    agent_len: usize,
}

/// Why a string is not a session key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionKeyError {
    pub key: String,
    pub reason: &'static str,
}

impl fmt::Display for SessionKeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "`{}` is not a session key ({}); session keys look like `agent:<agentId>:main` or `agent:<agentId>:<channel>:direct:<peerId>`",
            self.key, self.reason
        )
    }
}

impl std::error::Error for SessionKeyError {}

impl SessionKey {
    fn with_capacity(agent_id: &str, rest_len: usize) -> Self {
        let agent = normalized_id_cow(agent_id, DEFAULT_AGENT_ID);
        let mut text = String::with_capacity(AGENT_PREFIX.len() + agent.len() + 1 + rest_len);
        text.push_str(AGENT_PREFIX);
        text.push_str(&agent);
        text.push(':');
        Self {
            agent_len: agent.len(),
            text,
        }
    }

    /// The main session of `agent_id`: `agent:<id>:main`.
    pub fn main(agent_id: &str) -> Self {
        let mut key = Self::with_capacity(agent_id, MAIN_KEY.len());
        key.text.push_str(MAIN_KEY);
        key
    }

    /// `agent:<id>:<rest>`; `rest` is lower-cased and must not be empty.
    pub fn new(agent_id: &str, rest: &str) -> Result<Self, SessionKeyError> {
        let rest = rest.trim().to_lowercase();
        if rest.is_empty() || rest.split(':').any(str::is_empty) {
            return Err(SessionKeyError {
                key: format!("agent:{agent_id}:{rest}"),
                reason: "a part after the agent id is empty",
            });
        }
        if rest.chars().any(|c| c.is_control() || c == '/' || c == '\\') {
            return Err(SessionKeyError {
                key: format!("agent:{agent_id}:{rest}"),
                reason: "it contains a control character or a path separator",
            });
        }
        let mut key = Self::with_capacity(agent_id, rest.len());
        key.text.push_str(&rest);
        Ok(key)
    }

    /// The key of a conversation (see the table in the module docs).
    pub fn build(spec: &KeySpec<'_>) -> Self {
        let peer = normalize_peer_id(spec.peer_id);
        let channel = normalize_peer_id(spec.channel);
        let suffix_len = spec.topic_id.map_or(0, |t| t.len() + 7) + spec.thread_id.map_or(0, |t| t.len() + 8);
        let mut key = Self::with_capacity(spec.agent_id, channel.len() + peer.len() + 24 + suffix_len);
        let out = &mut key.text;
        let scope_is_main = match spec.kind {
            ChatKind::Direct => spec.dm_scope == DmScope::Main || peer.is_empty(),
            ChatKind::Group | ChatKind::Channel => spec.group_scope == GroupScope::Main,
        };
        let push_channel = |out: &mut String| {
            if channel.is_empty() {
                out.push_str(UNKNOWN_ID);
            } else {
                push_normalized_segment(out, &channel);
            }
            out.push(':');
        };
        if scope_is_main {
            out.push_str(MAIN_KEY);
        } else {
            match spec.kind {
                ChatKind::Direct => {
                    match spec.dm_scope {
                        DmScope::Main | DmScope::PerPeer => {}
                        DmScope::PerChannelPeer => push_channel(out),
                        DmScope::PerAccountChannelPeer => {
                            push_channel(out);
                            out.push_str(&normalized_id_cow(
                                spec.account_id.unwrap_or(DEFAULT_ACCOUNT_ID),
                                DEFAULT_ACCOUNT_ID,
                            ));
                            out.push(':');
                        }
                    }
                    out.push_str("direct:");
                    if spec.peer_distinct {
                        out.push_str(DISTINCT_MARKER);
                    }
                    push_normalized_segment(out, &peer);
                }
                ChatKind::Group | ChatKind::Channel => {
                    push_channel(out);
                    out.push_str(spec.kind.as_str());
                    out.push(':');
                    if peer.is_empty() {
                        out.push_str(UNKNOWN_ID);
                    } else {
                        if spec.peer_distinct || *peer == *UNKNOWN_ID {
                            out.push_str(DISTINCT_MARKER);
                        }
                        push_normalized_segment(out, &peer);
                    }
                }
            }
        }
        for (word, id) in [("topic", spec.topic_id), ("thread", spec.thread_id)] {
            let Some(id) = id.map(normalize_peer_id).filter(|id| !id.is_empty()) else {
                continue;
            };
            out.push(':');
            out.push_str(word);
            out.push(':');
            push_normalized_segment(out, &id);
        }
        key
    }

    /// Parses `agent:<id>:<rest>`. A bare key without the `agent:` prefix (`main`, a legacy
    /// `whatsapp:dm:+1555…`) belongs to `default_agent`.
    pub fn parse(key: &str, default_agent: &str) -> Result<Self, SessionKeyError> {
        let key = key.trim();
        if key.is_empty() {
            return Err(SessionKeyError {
                key: key.to_string(),
                reason: "it is empty",
            });
        }
        match key.strip_prefix(AGENT_PREFIX) {
            Some(tail) => {
                let Some((agent, rest)) = tail.split_once(':') else {
                    return Err(SessionKeyError {
                        key: key.to_string(),
                        reason: "nothing follows the agent id",
                    });
                };
                if agent.is_empty() {
                    return Err(SessionKeyError {
                        key: key.to_string(),
                        reason: "the agent id is empty",
                    });
                }
                Self::new(agent, rest).map_err(|e| SessionKeyError {
                    key: key.to_string(),
                    reason: e.reason,
                })
            }
            None => Self::new(default_agent, key).map_err(|e| SessionKeyError {
                key: key.to_string(),
                reason: e.reason,
            }),
        }
    }

    pub fn agent_id(&self) -> &str {
        &self.text[AGENT_PREFIX.len()..AGENT_PREFIX.len() + self.agent_len]
    }

    /// Everything after `agent:<id>:`.
    pub fn rest(&self) -> &str {
        &self.text[AGENT_PREFIX.len() + self.agent_len + 1..]
    }

    /// The whole key.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The parts of the key, segments as written.
    pub fn parts(&self) -> KeyParts<'_> {
        KeyParts::parse(self.rest())
    }

    pub fn kind(&self) -> SessionKind {
        self.parts().kind
    }

    /// The channel of a channel-scoped DM, group or channel key.
    pub fn channel(&self) -> Option<Cow<'_, str>> {
        self.parts().channel.map(unescape_segment)
    }

    /// The account of a `per-account-channel-peer` DM key.
    pub fn account_id(&self) -> Option<&str> {
        self.parts().account_id
    }

    /// The DM peer (or identity-link canonical name), or the group or channel id.
    pub fn peer_id(&self) -> Option<Cow<'_, str>> {
        self.parts().peer.map(unescape_segment)
    }

    pub fn topic_id(&self) -> Option<Cow<'_, str>> {
        self.parts().topic.map(unescape_segment)
    }

    pub fn thread_id(&self) -> Option<Cow<'_, str>> {
        self.parts().thread.map(unescape_segment)
    }

    /// The DM scope a direct key was built under (`None` for other keys).
    pub fn dm_scope(&self) -> Option<DmScope> {
        let parts = self.parts();
        match (parts.kind, parts.channel, parts.account_id) {
            (SessionKind::Direct, None, _) => Some(DmScope::PerPeer),
            (SessionKind::Direct, Some(_), None) => Some(DmScope::PerChannelPeer),
            (SessionKind::Direct, Some(_), Some(_)) => Some(DmScope::PerAccountChannelPeer),
            _ => None,
        }
    }

    /// Whether this is exactly the agent's main session (sandbox `non-main` compares against it).
    pub fn is_main(&self) -> bool {
        self.rest() == MAIN_KEY
    }

    /// Whether the key names a direct chat in either the current or the legacy form.
    pub fn is_direct(&self) -> bool {
        self.kind() == SessionKind::Direct
    }
}

impl fmt::Display for SessionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl AsRef<str> for SessionKey {
    fn as_ref(&self) -> &str {
        &self.text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec<'a>(kind: ChatKind, peer: &'a str, dm_scope: DmScope) -> KeySpec<'a> {
        KeySpec {
            agent_id: "main",
            channel: "telegram",
            account_id: None,
            kind,
            peer_id: peer,
            peer_distinct: false,
            topic_id: None,
            thread_id: None,
            dm_scope,
            group_scope: GroupScope::PerGroup,
        }
    }

    #[test]
    fn agent_ids_normalize_like_openclaw() {
        for (raw, want) in [
            ("Main", "main"),
            ("  ops team ", "ops-team"),
            ("--x--", "x"),
            ("a..b", "a-b"),
            ("", "main"),
            ("***", "main"),
            ("work_2", "work_2"),
        ] {
            assert_eq!(normalize_agent_id(raw), want, "{raw:?}");
            assert_eq!(normalized_id_cow(raw, DEFAULT_AGENT_ID), want, "{raw:?}");
        }
        assert_eq!(normalize_agent_id(&"a".repeat(100)).len(), 64);
        assert_eq!(normalize_account_id(" "), "default");
    }

    #[test]
    fn keys_parse_and_print() {
        let main = SessionKey::parse("agent:Main:main", "main").unwrap();
        assert_eq!(main.to_string(), "agent:main:main");
        assert!(main.is_main());
        let legacy = SessionKey::parse("agent:main:whatsapp:dm:+15555550123", "main").unwrap();
        assert!(legacy.is_direct() && !legacy.is_main());
        let current = SessionKey::parse("agent:work:telegram:direct:123", "main").unwrap();
        assert_eq!(current.agent_id(), "work");
        let bare = SessionKey::parse("main", "ops").unwrap();
        assert_eq!(bare.to_string(), "agent:ops:main");
        for bad in [
            "",
            "agent:",
            "agent:main",
            "agent::main",
            "agent:main:a::b",
            "agent:main:../x",
            "agent:main:a\nb",
        ] {
            assert!(SessionKey::parse(bad, "main").is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_group_id_containing_a_keyword_is_not_direct() {
        let key = SessionKey::parse("agent:main:telegram:group:direct", "main").unwrap();
        assert_eq!(key.kind(), SessionKind::Group);
        assert!(!key.is_direct());
    }

    #[test]
    fn colons_in_ids_cannot_forge_a_thread() {
        let tricky = SessionKey::build(&spec(ChatKind::Direct, "x:thread:1", DmScope::PerChannelPeer));
        let mut threaded = spec(ChatKind::Direct, "x", DmScope::PerChannelPeer);
        threaded.thread_id = Some("1");
        let threaded = SessionKey::build(&threaded);
        assert_ne!(tricky, threaded);
        assert_eq!(tricky.as_str(), "agent:main:telegram:direct:x%3athread%3a1");
        assert_eq!(tricky.peer_id().as_deref(), Some("x:thread:1"));
        assert_eq!(tricky.thread_id(), None);
        assert_eq!(threaded.as_str(), "agent:main:telegram:direct:x:thread:1");
    }

    #[test]
    fn unknown_group_id_stays_apart_from_an_empty_one() {
        let empty = SessionKey::build(&spec(ChatKind::Group, " ", DmScope::Main));
        let literal = SessionKey::build(&spec(ChatKind::Group, "Unknown", DmScope::Main));
        assert_eq!(empty.as_str(), "agent:main:telegram:group:unknown");
        assert_eq!(literal.as_str(), "agent:main:telegram:group:%_unknown");
        assert_eq!(literal.peer_id().as_deref(), Some("unknown"));
    }

    #[test]
    fn escaping_round_trips() {
        for raw in ["@alice:matrix.org", "a%3ab", "100%", "x y", "tab\there", "ü:Ö", "/etc"] {
            let seg = escape_segment(raw);
            assert!(!seg.contains(':') && !seg.contains('/'), "{seg}");
            assert_eq!(unescape_segment(&seg), raw.trim().to_lowercase(), "{raw:?}");
        }
        assert_eq!(unescape_segment("%zz"), "%zz");
    }
}

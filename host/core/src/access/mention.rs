//! Mention patterns (reference §1.4): which text counts as addressing the agent in a group.
//!
//! Sources, first present wins: the agent's `groupChat.mentionPatterns` (present even as `[]`),
//! then `messages.groupChat.mentionPatterns`, then patterns derived from the agent's identity.
//! Patterns are regexes matched case-insensitively. The `regex` crate runs in linear time, so a
//! nested repetition cannot blow up here; such patterns are still dropped, like OpenClaw drops
//! them, so one config means the same thing on both. Lookarounds and backreferences do not
//! exist in the `regex` crate: such a pattern is reported as invalid and dropped.

use std::borrow::Cow;
use std::fmt;
use std::sync::LazyLock;

use regex::{Regex, RegexBuilder};

use crate::config::schema::Config;
use crate::config::schema::agents::AgentIdentity;

/// Compiled regexes are kept small: a mention pattern is a name, not a program.
const REGEX_SIZE_LIMIT: usize = 1 << 20;

/// Where an agent's patterns came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatternSource {
    /// `agents.list[].groupChat.mentionPatterns`.
    Agent,
    /// `messages.groupChat.mentionPatterns`.
    Messages,
    /// Derived from `identity.name` / `identity.emoji`.
    Identity,
    /// Nothing configured.
    None,
}

/// A pattern that was dropped, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MentionWarning {
    /// Config path of the list the pattern came from.
    pub path: String,
    pub pattern: String,
    pub reason: String,
}

impl fmt::Display for MentionWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: mention pattern `{}` ignored: {}; fix or remove it (patterns are case-insensitive regexes)",
            self.path, self.pattern, self.reason
        )
    }
}

/// The mention regexes of one agent, compiled once.
#[derive(Debug, Clone)]
pub struct MentionPatterns {
    source: PatternSource,
    /// Every pattern in one alternation, for a single pass per message.
    combined: Option<Regex>,
    each: Vec<Regex>,
}

impl Default for MentionPatterns {
    fn default() -> Self {
        Self {
            source: PatternSource::None,
            combined: None,
            each: Vec::new(),
        }
    }
}

/// `@` followed by 5 or more digits or `+`: a platform mention of a phone number or user id.
static NUMERIC_MENTION: LazyLock<Option<Regex>> = LazyLock::new(|| Regex::new(r"@[0-9+]{5,}").ok());

fn build(pattern: &str) -> Result<Regex, regex::Error> {
    RegexBuilder::new(pattern)
        .case_insensitive(true)
        .size_limit(REGEX_SIZE_LIMIT)
        .build()
}

impl MentionPatterns {
    /// The patterns of `agent_id` (compared case-insensitively) from `config`, and a warning for
    /// every pattern that was dropped.
    pub fn compile(config: &Config, agent_id: &str) -> (Self, Vec<MentionWarning>) {
        let agents = config.agents().list();
        let agent_index = agents.iter().position(|a| a.id.eq_ignore_ascii_case(agent_id.trim()));
        let agent = agent_index.map(|i| &agents[i]);
        if let (Some(i), Some(list)) = (
            agent_index,
            agent
                .and_then(|a| a.group_chat.as_ref())
                .and_then(|g| g.mention_patterns.as_ref()),
        ) {
            let path = format!("agents.list[{i}].groupChat.mentionPatterns");
            return Self::from_patterns(list, PatternSource::Agent, &path);
        }
        if let Some(list) = config
            .messages
            .as_ref()
            .and_then(|m| m.group_chat.as_ref())
            .and_then(|g| g.mention_patterns.as_ref())
        {
            return Self::from_patterns(list, PatternSource::Messages, "messages.groupChat.mentionPatterns");
        }
        let derived = agent
            .and_then(|a| a.identity.as_ref())
            .map(identity_patterns)
            .unwrap_or_default();
        if derived.is_empty() {
            return (Self::default(), Vec::new());
        }
        let path = agent_index.map_or_else(String::new, |i| format!("agents.list[{i}].identity"));
        Self::from_patterns(&derived, PatternSource::Identity, &path)
    }

    /// Compiles `patterns`; `path` names their config list in warnings.
    pub fn from_patterns(patterns: &[String], source: PatternSource, path: &str) -> (Self, Vec<MentionWarning>) {
        let mut warnings = Vec::new();
        let mut kept: Vec<String> = Vec::new();
        let mut each = Vec::new();
        for raw in patterns {
            let pattern = raw.trim().replace('\u{8}', r"\b");
            if pattern.is_empty() {
                continue;
            }
            let warn = |reason: String| MentionWarning {
                path: path.to_string(),
                pattern: raw.clone(),
                reason,
            };
            if has_nested_repetition(&pattern) {
                warnings.push(warn("nested repetition (unsafe regex)".to_string()));
                continue;
            }
            match build(&pattern) {
                Ok(regex) => {
                    each.push(regex);
                    kept.push(pattern);
                }
                Err(err) => warnings.push(warn(format!("invalid regex ({})", last_line(&err.to_string())))),
            }
        }
        let combined = match kept.len() {
            0 => None,
            1 => each.first().cloned(),
            _ => {
                let alternation: Vec<String> = kept.iter().map(|p| format!("(?:{p})")).collect();
                build(&alternation.join("|")).ok()
            }
        };
        (Self { source, combined, each }, warnings)
    }

    pub fn source(&self) -> PatternSource {
        self.source
    }

    /// No usable pattern.
    pub fn is_empty(&self) -> bool {
        self.each.is_empty()
    }

    /// Can a mention be detected at all: the channel reports native mentions, or there is at
    /// least one pattern.
    pub fn can_detect(&self, native_supported: bool) -> bool {
        native_supported || !self.is_empty()
    }

    /// The channel reported a native mention, or a pattern matches the normalized text.
    pub fn is_mentioned(&self, text: &str, native_mention: bool) -> bool {
        if native_mention {
            return true;
        }
        if self.each.is_empty() || text.is_empty() {
            return false;
        }
        let normalized = normalize_for_matching(text);
        match &self.combined {
            Some(regex) => regex.is_match(&normalized),
            None => self.each.iter().any(|r| r.is_match(&normalized)),
        }
    }

    /// `text` with every mention removed (each pattern, then `@<5+ digits/+>`), whitespace
    /// collapsed: what command parsing sees.
    pub fn strip_mentions(&self, text: &str) -> String {
        let mut out: Cow<'_, str> = Cow::Borrowed(text);
        for regex in self.each.iter().chain(NUMERIC_MENTION.as_ref()) {
            if regex.is_match(&out) {
                out = Cow::Owned(regex.replace_all(&out, " ").into_owned());
            }
        }
        out.split_whitespace().collect::<Vec<_>>().join(" ")
    }
}

fn last_line(text: &str) -> String {
    text.lines()
        .map(str::trim)
        .rfind(|l| !l.is_empty())
        .unwrap_or(text)
        .to_string()
}

/// Zero-width and bidi controls a sender can hide inside a name to dodge (or fake) a match.
fn is_invisible(c: char) -> bool {
    matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{206F}')
}

/// The text patterns are matched against: invisible characters removed, lower-cased. Borrows
/// when there is nothing to change.
pub fn normalize_for_matching(text: &str) -> Cow<'_, str> {
    let clean = if text.is_ascii() {
        !text.bytes().any(|b| b.is_ascii_uppercase())
    } else {
        !text.chars().any(|c| is_invisible(c) || c.is_uppercase())
    };
    if clean {
        return Cow::Borrowed(text);
    }
    let visible: String = text.chars().filter(|c| !is_invisible(*c)).collect();
    Cow::Owned(visible.to_lowercase())
}

fn is_cjk(c: char) -> bool {
    matches!(c,
        '\u{3040}'..='\u{30FF}'   // kana
        | '\u{3400}'..='\u{4DBF}' // CJK extension A
        | '\u{4E00}'..='\u{9FFF}' // CJK unified ideographs
        | '\u{AC00}'..='\u{D7AF}' // hangul syllables
        | '\u{F900}'..='\u{FAFF}' // compatibility ideographs
    )
}

/// Patterns derived from an identity: `\b@?<name>\b` (whitespace inside the name matches any
/// whitespace) and the emoji literally. CJK text has no word boundaries between characters, so
/// a CJK name is matched without `\b` (OpenClaw uses lookarounds, which the `regex` crate lacks).
pub fn identity_patterns(identity: &AgentIdentity) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(name) = identity.name.as_deref().map(str::trim).filter(|n| !n.is_empty()) {
        let body = name
            .split_whitespace()
            .map(regex::escape)
            .collect::<Vec<_>>()
            .join(r"\s+");
        if name.chars().any(is_cjk) {
            out.push(format!("@?{body}"));
        } else {
            out.push(format!(r"\b@?{body}\b"));
        }
    }
    if let Some(emoji) = identity.emoji.as_deref().map(str::trim).filter(|e| !e.is_empty()) {
        out.push(regex::escape(emoji));
    }
    out
}

/// Does `pattern` repeat something that itself repeats (`(a+)+`, `(\w*)*`, `(x{2,})+`)? This is
/// the star-height test backtracking engines need; it is deliberately conservative.
pub fn has_nested_repetition(pattern: &str) -> bool {
    let chars: Vec<char> = pattern.chars().collect();
    // One entry per open group: does its body repeat anything?
    let mut groups: Vec<bool> = vec![false];
    // The atom just read was a group whose body repeats.
    let mut repeating_atom = false;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let mut next_repeating = false;
        match c {
            '\\' => i += 1,
            '[' => {
                i += 1;
                if chars.get(i) == Some(&'^') {
                    i += 1;
                }
                if chars.get(i) == Some(&']') {
                    i += 1;
                }
                while i < chars.len() && chars[i] != ']' {
                    if chars[i] == '\\' {
                        i += 1;
                    }
                    i += 1;
                }
            }
            '(' => groups.push(false),
            ')' => {
                let inner = if groups.len() > 1 {
                    groups.pop().unwrap_or(false)
                } else {
                    false
                };
                if let Some(parent) = groups.last_mut() {
                    *parent |= inner;
                }
                next_repeating = inner;
            }
            '*' | '+' => {
                if repeating_atom {
                    return true;
                }
                if let Some(top) = groups.last_mut() {
                    *top = true;
                }
            }
            '{' => {
                let end = chars[i..].iter().position(|&c| c == '}').map(|p| i + p);
                if let Some(end) = end {
                    let body: String = chars[i + 1..end].iter().collect();
                    if let Some(repeats) = counted_repetition(&body) {
                        if repeats && repeating_atom {
                            return true;
                        }
                        if repeats && let Some(top) = groups.last_mut() {
                            *top = true;
                        }
                        i = end;
                    }
                }
            }
            _ => {}
        }
        repeating_atom = next_repeating;
        i += 1;
    }
    false
}

/// `{n}`, `{n,}`, `{n,m}`: `Some(true)` when it can repeat more than once, `None` when it is not
/// a counted repetition at all (a literal `{`).
fn counted_repetition(body: &str) -> Option<bool> {
    let number = |s: &str| s.trim().parse::<u64>().ok();
    match body.split_once(',') {
        None => number(body).map(|n| n > 1),
        Some((min, max)) if max.trim().is_empty() => number(min).map(|_| true),
        Some((min, max)) => {
            number(min)?;
            number(max).map(|m| m > 1)
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    fn patterns(list: &[&str]) -> (MentionPatterns, Vec<MentionWarning>) {
        let list: Vec<String> = list.iter().map(|s| s.to_string()).collect();
        MentionPatterns::from_patterns(&list, PatternSource::Agent, "test")
    }

    #[test]
    fn nested_repetition_is_detected() {
        for unsafe_pattern in [r"(a+)+", r"(\w*)*", r"(?:x{2,})+", r"((ab)+c)*", r"(a+){2,5}"] {
            assert!(has_nested_repetition(unsafe_pattern), "{unsafe_pattern}");
        }
        for safe in [
            r"@openclaw",
            r"\bbot\b",
            r"(ab)+",
            r"a+b*",
            r"[(+]+",
            r"(a|b)?c+",
            r"x{3}",
            r"\(a+\)+",
        ] {
            assert!(!has_nested_repetition(safe), "{safe}");
        }
    }

    #[test]
    fn unsafe_and_invalid_patterns_are_dropped_with_a_warning() {
        let (p, warnings) = patterns(&["(a+)+", "(?<=x)bot", "@bot", "("]);
        assert_eq!(warnings.len(), 3, "{warnings:?}");
        assert!(warnings[0].to_string().contains("nested repetition"));
        assert!(p.is_mentioned("hey @BOT", false));
    }

    #[test]
    fn matching_ignores_case_and_invisible_characters() {
        let (p, _) = patterns(&["@openclaw"]);
        assert!(p.is_mentioned("Hi @Open\u{200B}Claw!", false));
        assert!(p.is_mentioned("hi @open\u{202E}claw", false));
        assert!(!p.is_mentioned("hi openclaw", false));
        assert!(p.is_mentioned("anything", true));
    }

    #[test]
    fn a_literal_backspace_means_word_boundary() {
        let (p, warnings) = patterns(&["\u{8}claw\u{8}"]);
        assert!(warnings.is_empty());
        assert!(p.is_mentioned("hey claw", false));
        assert!(!p.is_mentioned("clawed", false));
    }

    #[test]
    fn identity_names_become_word_patterns() {
        let identity = AgentIdentity {
            name: Some("Mister  Claw".into()),
            emoji: Some("🦞".into()),
            ..Default::default()
        };
        let derived = identity_patterns(&identity);
        assert_eq!(derived, vec![r"\b@?Mister\s+Claw\b".to_string(), "🦞".to_string()]);
        let (p, _) = MentionPatterns::from_patterns(&derived, PatternSource::Identity, "x");
        assert!(p.is_mentioned("ok @mister claw do it", false));
        assert!(p.is_mentioned("🦞 please", false));
        assert!(!p.is_mentioned("misterclaw", false));
    }

    #[test]
    fn strip_removes_patterns_and_numeric_mentions() {
        let (p, _) = patterns(&["@openclaw"]);
        assert_eq!(p.strip_mentions("@OpenClaw  /status  @15551234567"), "/status");
        assert_eq!(MentionPatterns::default().strip_mentions(" a  b "), "a b");
    }
}

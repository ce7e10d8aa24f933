//! JSON paths as operators write them: `gateway.auth.token`, `agents.list[0].id`,
//! `channels.whatsapp.groups["*"].requireMention`.
//!
//! The same notation is used in every error message and accepted by `config get` / `config set`,
//! so a path copied from an error can be pasted straight back into the CLI.

use std::fmt;

/// One step of a path.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Segment {
    Key(String),
    Index(usize),
}

/// A location inside the config document. The empty path is the document root.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct JsonPath(Vec<Segment>);

impl JsonPath {
    pub fn root() -> Self {
        Self(Vec::new())
    }

    pub fn segments(&self) -> &[Segment] {
        &self.0
    }

    pub fn is_root(&self) -> bool {
        self.0.is_empty()
    }

    /// A new path one key deeper.
    pub fn key(&self, key: impl Into<String>) -> Self {
        let mut next = self.0.clone();
        next.push(Segment::Key(key.into()));
        Self(next)
    }

    /// A new path one array index deeper.
    pub fn index(&self, index: usize) -> Self {
        let mut next = self.0.clone();
        next.push(Segment::Index(index));
        Self(next)
    }

    /// A new path with `segments` appended.
    pub fn join(&self, segments: &[Segment]) -> Self {
        let mut next = self.0.clone();
        next.extend_from_slice(segments);
        Self(next)
    }

    pub fn push_key(&mut self, key: impl Into<String>) {
        self.0.push(Segment::Key(key.into()));
    }

    pub fn push_index(&mut self, index: usize) {
        self.0.push(Segment::Index(index));
    }

    pub fn pop(&mut self) -> Option<Segment> {
        self.0.pop()
    }

    pub fn parent(&self) -> Option<Self> {
        if self.0.is_empty() {
            None
        } else {
            Some(Self(self.0[..self.0.len() - 1].to_vec()))
        }
    }

    pub fn last_key(&self) -> Option<&str> {
        match self.0.last() {
            Some(Segment::Key(k)) => Some(k),
            _ => None,
        }
    }

    /// Parses the operator notation. Bare segments may hold any character but `.`, `[` and `]`;
    /// anything else goes in brackets with double quotes (`groups["a.b"]`).
    pub fn parse(text: &str) -> Result<Self, PathError> {
        let err = |at: usize, reason: &str| PathError {
            path: text.to_string(),
            at,
            reason: reason.to_string(),
        };
        let text_trimmed = text.trim();
        if text_trimmed.is_empty() {
            return Err(err(0, "the path is empty; give a key such as `gateway.port`"));
        }
        let chars: Vec<char> = text_trimmed.chars().collect();
        let mut segments = Vec::new();
        let mut i = 0;
        let mut expect_segment = true;
        while i < chars.len() {
            match chars[i] {
                '.' => {
                    if expect_segment {
                        return Err(err(i, "empty key between dots"));
                    }
                    expect_segment = true;
                    i += 1;
                }
                '[' => {
                    i += 1;
                    if i < chars.len() && (chars[i] == '"' || chars[i] == '\'') {
                        let quote = chars[i];
                        i += 1;
                        let mut key = String::new();
                        loop {
                            match chars.get(i) {
                                None => return Err(err(i, "unterminated quoted key")),
                                Some('\\') => {
                                    if let Some(&c) = chars.get(i + 1) {
                                        key.push(c);
                                        i += 2;
                                    } else {
                                        return Err(err(i, "dangling escape in quoted key"));
                                    }
                                }
                                Some(&c) if c == quote => {
                                    i += 1;
                                    break;
                                }
                                Some(&c) => {
                                    key.push(c);
                                    i += 1;
                                }
                            }
                        }
                        if chars.get(i) != Some(&']') {
                            return Err(err(i, "expected `]` after the quoted key"));
                        }
                        i += 1;
                        segments.push(Segment::Key(key));
                    } else {
                        let start = i;
                        while i < chars.len() && chars[i] != ']' {
                            i += 1;
                        }
                        if i >= chars.len() {
                            return Err(err(start, "missing `]`"));
                        }
                        let inner: String = chars[start..i].iter().collect();
                        let index = inner.trim().parse::<usize>().map_err(|_| {
                            err(
                                start,
                                "brackets hold an array index (`[0]`) or a quoted key (`[\"*\"]`)",
                            )
                        })?;
                        i += 1;
                        segments.push(Segment::Index(index));
                    }
                    expect_segment = false;
                }
                ']' => return Err(err(i, "unexpected `]`")),
                _ => {
                    if !expect_segment {
                        return Err(err(i, "expected `.` or `[` between segments"));
                    }
                    let start = i;
                    while i < chars.len() && !matches!(chars[i], '.' | '[' | ']') {
                        i += 1;
                    }
                    let key: String = chars[start..i].iter().collect();
                    segments.push(Segment::Key(key));
                    expect_segment = false;
                }
            }
        }
        if expect_segment && !segments.is_empty() {
            return Err(err(chars.len(), "the path ends with a dot"));
        }
        Ok(Self(segments))
    }
}

fn is_plain_key(key: &str) -> bool {
    let mut chars = key.chars();
    match chars.next() {
        Some(c) if c.is_ascii_alphabetic() || c == '_' || c == '$' => {}
        _ => return false,
    }
    chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$' || c == '-')
}

impl fmt::Display for JsonPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return f.write_str("<root>");
        }
        for (n, segment) in self.0.iter().enumerate() {
            match segment {
                Segment::Key(key) if is_plain_key(key) => {
                    if n > 0 {
                        f.write_str(".")?;
                    }
                    f.write_str(key)?;
                }
                Segment::Key(key) => {
                    let escaped = key.replace('\\', "\\\\").replace('"', "\\\"");
                    write!(f, "[\"{escaped}\"]")?;
                }
                Segment::Index(i) => write!(f, "[{i}]")?,
            }
        }
        Ok(())
    }
}

impl serde::Serialize for JsonPath {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// A path the operator typed that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid config path `{path}` at character {at}: {reason}")]
pub struct PathError {
    pub path: String,
    pub at: usize,
    pub reason: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        for text in [
            "gateway.auth.token",
            "agents.list[0].id",
            "channels.whatsapp.groups[\"*\"].requireMention",
            "tools.byProvider.google-antigravity.profile",
            "channels.discord.guilds[\"123\"]",
        ] {
            let path = JsonPath::parse(text).unwrap();
            assert_eq!(path.to_string(), text);
        }
    }

    #[test]
    fn bare_star_and_digits_are_keys() {
        let path = JsonPath::parse("channels.whatsapp.groups.*.requireMention").unwrap();
        assert_eq!(path.segments()[3], Segment::Key("*".into()));
        assert_eq!(path.to_string(), "channels.whatsapp.groups[\"*\"].requireMention");
    }

    #[test]
    fn rejects_malformed() {
        for bad in ["", "a..b", "a.", "a[", "a[x]", "a]b", "a[\"x\"", ".a"] {
            assert!(JsonPath::parse(bad).is_err(), "{bad:?} should not parse");
        }
    }
}

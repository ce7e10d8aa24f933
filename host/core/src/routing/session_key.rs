//! OpenClaw's session keys (`agent:<agentId>:<rest>`), parsed and built.
//!
//! Agent ids are normalized the way OpenClaw does it: lower-cased, characters outside
//! `[a-z0-9_-]` collapsed to `-`, leading and trailing dashes stripped, cut to 64 characters,
//! `main` when nothing is left. Both the current (`direct`) and the legacy (`dm`) DM forms parse.

use std::fmt;

/// The agent used when none is named.
pub const DEFAULT_AGENT_ID: &str = "main";
/// The key every DM shares under `session.dmScope: "main"`.
pub const MAIN_KEY: &str = "main";
const MAX_ID_LEN: usize = 64;

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

/// An agent id as OpenClaw normalizes it (`main` when nothing is left).
pub fn normalize_agent_id(raw: &str) -> String {
    normalize_id(raw, DEFAULT_AGENT_ID)
}

/// A parsed session key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionKey {
    agent_id: String,
    /// Everything after `agent:<id>:`, lower-cased (`main`, `direct:<peer>`, `telegram:group:<id>`).
    rest: String,
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
    /// The main session of `agent_id`: `agent:<id>:main`.
    pub fn main(agent_id: &str) -> Self {
        Self {
            agent_id: normalize_agent_id(agent_id),
            rest: MAIN_KEY.to_string(),
        }
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
        Ok(Self {
            agent_id: normalize_agent_id(agent_id),
            rest,
        })
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
        match key.strip_prefix("agent:") {
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
        &self.agent_id
    }

    pub fn rest(&self) -> &str {
        &self.rest
    }

    /// Whether this is the agent's main session (sandbox `non-main` compares against it).
    pub fn is_main(&self) -> bool {
        self.rest == MAIN_KEY
    }

    /// Whether the key names a direct chat in either the current or the legacy form.
    pub fn is_direct(&self) -> bool {
        let parts: Vec<&str> = self.rest.split(':').collect();
        parts.iter().any(|p| *p == "direct" || *p == "dm")
    }
}

impl fmt::Display for SessionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "agent:{}:{}", self.agent_id, self.rest)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        }
        assert_eq!(normalize_agent_id(&"a".repeat(100)).len(), 64);
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
}

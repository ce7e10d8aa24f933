//! Redaction of secrets in text and JSON before it reaches a log, a transcript or a terminal.
//!
//! Matches OpenClaw's masking rules so operators see the same output shape: the secret part of a
//! match is replaced by its first 6 and last 4 characters around `…`, or by `***` when it is
//! shorter than 18 characters (too short to show any of it safely); a PEM private key keeps only
//! its BEGIN and END lines.
//!
//! Two deliberate differences from OpenClaw 2026.4:
//! - `logging.redactPatterns` *adds* to the default patterns instead of replacing them, so a custom
//!   pattern can never switch off the built-in protection (OpenClaw's later docs say the same).
//! - Values of secrets the gateway itself resolved (tokens, API keys) are scrubbed exactly, whatever
//!   their shape, because a pattern list can never know every provider's key format.
//!
//! Rust's `regex` runs in linear time, so a hostile or careless custom pattern cannot hang the
//! logger (OpenClaw needs a "safe regex" guard for that).

use std::borrow::Cow;
use std::sync::{Arc, PoisonError, RwLock};

use super::scrub::SecretScrubber;
use regex::{Regex, RegexSet};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// `logging.redactSensitive`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum RedactMode {
    /// No redaction at all. `openclaw security audit` warns about it.
    Off,
    /// Default. Mask secrets found by the patterns in every log line, tool summary and transcript.
    #[default]
    Tools,
    /// Everything `tools` does, and in structured data (tool arguments, results, config dumps) the
    /// whole value of any field whose name looks sensitive (`token`, `apiKey`, `password`, ...).
    Full,
}

/// Values shorter than this are masked completely: showing 10 of 17 characters would leak most of it.
const MIN_PARTIAL_MASK_LEN: usize = 18;
/// Known secret values shorter than this are left to the patterns: scrubbing every occurrence of a
/// short common string would garble unrelated text without protecting anything real.
const MIN_KNOWN_SECRET_LEN: usize = 8;

/// One default pattern: its regex and whether the secret is the last capture group or a PEM block.
struct DefaultPattern {
    name: &'static str,
    source: &'static str,
    case_insensitive: bool,
}

/// OpenClaw's default pattern intents, written for Rust's regex dialect (no back-references).
const DEFAULT_PATTERNS: &[DefaultPattern] = &[
    // ENV-style assignments: OPENAI_API_KEY=..., GATEWAY_TOKEN: "...".
    DefaultPattern {
        name: "env-assignment",
        source: r#"\b[A-Z0-9_]*(?:KEY|TOKEN|SECRET|PASSWORD|PASSWD)\b\s*[=:]\s*["']?([^\s"',;]+)"#,
        case_insensitive: false,
    },
    // JSON fields holding secrets.
    DefaultPattern {
        name: "json-field",
        source: r#""(?:apiKey|api_key|token|secret|password|passwd|accessToken|refreshToken|clientSecret)"\s*:\s*"([^"]+)""#,
        case_insensitive: true,
    },
    // CLI flags.
    DefaultPattern {
        name: "cli-flag",
        source: r#"--(?:api[-_]?key|hook-token|token|secret|password|passwd)(?:\s+|=)["']?([^\s"']+)"#,
        case_insensitive: true,
    },
    // Authorization headers.
    DefaultPattern {
        name: "authorization-bearer",
        source: r#"\bAuthorization\s*[:=]\s*Bearer\s+([A-Za-z0-9._~+/=-]+)"#,
        case_insensitive: true,
    },
    DefaultPattern {
        name: "bearer",
        source: r#"\bBearer\s+([A-Za-z0-9._~+/=-]{18,})"#,
        case_insensitive: false,
    },
    // PEM private keys (handled specially: keep the armour lines).
    DefaultPattern {
        name: "pem-private-key",
        source: r#"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z0-9 ]*PRIVATE KEY-----"#,
        case_insensitive: false,
    },
    // Provider token prefixes.
    DefaultPattern {
        name: "openai-anthropic-key",
        source: r#"\b(sk-[A-Za-z0-9_-]{8,})"#,
        case_insensitive: false,
    },
    DefaultPattern {
        name: "github-token",
        source: r#"\b((?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,})"#,
        case_insensitive: false,
    },
    DefaultPattern {
        name: "slack-token",
        source: r#"\b(xox[baprs]-[A-Za-z0-9-]{10,}|xapp-[A-Za-z0-9-]{10,})"#,
        case_insensitive: false,
    },
    DefaultPattern {
        name: "groq-key",
        source: r#"\b(gsk_[A-Za-z0-9]{10,})"#,
        case_insensitive: false,
    },
    DefaultPattern {
        name: "google-api-key",
        source: r#"\b(AIza[0-9A-Za-z_-]{20,})"#,
        case_insensitive: false,
    },
    DefaultPattern {
        name: "perplexity-key",
        source: r#"\b(pplx-[A-Za-z0-9]{10,})"#,
        case_insensitive: false,
    },
    DefaultPattern {
        name: "npm-token",
        source: r#"\b(npm_[A-Za-z0-9]{10,})"#,
        case_insensitive: false,
    },
    // Telegram bot tokens, in API URLs (`/bot<token>/`) and bare.
    DefaultPattern {
        name: "telegram-bot-token",
        source: r#"(?:\bbot|\b)([0-9]{6,}:[A-Za-z0-9_-]{20,})"#,
        case_insensitive: false,
    },
];

/// Field names whose whole value `full` mode hides in structured data.
const SENSITIVE_FIELD: &str = r"(?i)(?:^|[_-])?(?:api[_-]?key|apikey|token|secret|password|passwd|authorization|cookie|credential|private[_-]?key)s?$";

/// A pattern that could not be compiled, with where it came from.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("redaction pattern #{index} `{pattern}` is not a valid regular expression: {reason}")]
pub struct PatternError {
    /// Position in `logging.redactPatterns`.
    pub index: usize,
    pub pattern: String,
    pub reason: String,
}

struct Rule {
    regex: Regex,
    pem: bool,
}

/// Compiled redaction rules. Cheap to share (`Arc`) across threads; building it is the slow part.
pub struct Redactor {
    mode: RedactMode,
    rules: Vec<Rule>,
    /// Fast "does anything match at all" check so clean lines are not copied.
    any: RegexSet,
    /// Replaced as a whole when `secrets reload` adds values, so a line is scrubbed against one
    /// consistent set.
    known: RwLock<Option<Arc<SecretScrubber>>>,
    sensitive_field: Regex,
}

impl std::fmt::Debug for Redactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Redactor")
            .field("mode", &self.mode)
            .field("rules", &self.rules.len())
            .field("known_secrets", &self.known_scrubber().is_some())
            .finish()
    }
}

/// Parses a custom pattern: `/body/flags` (JavaScript style, as OpenClaw accepts) or a bare body,
/// which is compiled case-insensitively like OpenClaw's `gi`. Returns the pattern in Rust's inline
/// flag syntax, so it can join the [`RegexSet`] used for the fast path.
fn custom_source(index: usize, pattern: &str) -> Result<String, PatternError> {
    let error = |reason: String| PatternError {
        index,
        pattern: pattern.to_string(),
        reason,
    };
    let (body, flags) = match pattern
        .strip_prefix('/')
        .and_then(|rest| rest.rfind('/').map(|end| (rest, end)))
    {
        Some((rest, end)) if end > 0 => (&rest[..end], &rest[end + 1..]),
        _ => (pattern, "i"),
    };
    if body.is_empty() {
        return Err(error("the pattern is empty and would match everywhere".into()));
    }
    let mut inline = String::new();
    for flag in flags.chars() {
        match flag {
            'i' | 'm' | 's' | 'x' => inline.push(flag),
            // `g` (global) and `u` (unicode) are how Rust's regex always behaves.
            'g' | 'u' => {}
            other => {
                return Err(error(format!(
                    "unknown flag `{other}`; allowed flags are g, i, m, s, u, x"
                )));
            }
        }
    }
    let source = if inline.is_empty() {
        format!("(?:{body})")
    } else {
        format!("(?{inline}:{body})")
    };
    let regex = Regex::new(&source).map_err(|e| error(e.to_string()))?;
    if regex.is_match("") {
        return Err(error(
            "the pattern matches the empty string, so it would mask nothing useful".into(),
        ));
    }
    Ok(source)
}

fn default_source(pattern: &DefaultPattern) -> String {
    if pattern.case_insensitive {
        format!("(?i:{})", pattern.source)
    } else {
        pattern.source.to_string()
    }
}

impl Redactor {
    /// Builds the rules for `mode` from the defaults plus `custom` patterns.
    pub fn new(mode: RedactMode, custom: &[String]) -> Result<Self, PatternError> {
        Self::with_known_secrets(mode, custom, std::iter::empty::<&str>())
    }

    /// Like [`Redactor::new`], and also scrubs these exact values (resolved secrets) wherever they
    /// appear, whatever their shape, even when `mode` is `off`.
    pub fn with_known_secrets<'a>(
        mode: RedactMode,
        custom: &[String],
        known_secrets: impl IntoIterator<Item = &'a str>,
    ) -> Result<Self, PatternError> {
        let internal = |name: &str, e: regex::Error| PatternError {
            index: usize::MAX,
            pattern: name.to_string(),
            reason: e.to_string(),
        };
        let mut sources: Vec<(String, bool)> = DEFAULT_PATTERNS
            .iter()
            .map(|p| (default_source(p), p.name == "pem-private-key"))
            .collect();
        for (index, pattern) in custom.iter().enumerate() {
            sources.push((custom_source(index, pattern)?, false));
        }
        let mut rules = Vec::with_capacity(sources.len());
        for (source, pem) in &sources {
            rules.push(Rule {
                regex: Regex::new(source).map_err(|e| internal(source, e))?,
                pem: *pem,
            });
        }
        let any = RegexSet::new(sources.iter().map(|(s, _)| s)).map_err(|e| internal("<combined>", e))?;

        // Exact values are found by the same scrubber that guards plugins, so a secret echoed
        // percent-encoded, JSON-escaped or in base64 is hidden in the log too.
        let literals: Vec<&str> = known_secrets
            .into_iter()
            .filter(|s| s.chars().count() >= MIN_KNOWN_SECRET_LEN)
            .collect();
        let known = if literals.is_empty() {
            None
        } else {
            Some(Arc::new(SecretScrubber::new(
                literals.into_iter().map(|v| ("[redacted]", v)),
            )))
        };
        let sensitive_field = Regex::new(SENSITIVE_FIELD).map_err(|e| internal("<sensitive field>", e))?;
        Ok(Self {
            mode,
            rules,
            any,
            known: RwLock::new(known),
            sensitive_field,
        })
    }

    fn known_scrubber(&self) -> Option<Arc<SecretScrubber>> {
        // A panic while the lock was held cannot leave a half-written Arc behind.
        self.known.read().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// Also scrubs these exact values from now on (secrets a reload resolved). Values it already
    /// knew stay known: a rotated-out secret may still turn up in a line about older work.
    pub fn add_known_secrets<'a>(&self, values: impl IntoIterator<Item = &'a str>) {
        let values: Vec<&str> = values
            .into_iter()
            .filter(|s| s.chars().count() >= MIN_KNOWN_SECRET_LEN)
            .collect();
        if values.is_empty() {
            return;
        }
        let mut known = self.known.write().unwrap_or_else(PoisonError::into_inner);
        let labelled = values.into_iter().map(|v| ("[redacted]", v));
        let next = match known.as_deref() {
            Some(current) => current.extended(labelled),
            None => SecretScrubber::new(labelled),
        };
        *known = Some(Arc::new(next));
    }

    pub fn mode(&self) -> RedactMode {
        self.mode
    }

    /// Masks every secret in `text`. Returns the input untouched (no copy) when nothing matches.
    pub fn redact<'a>(&self, text: &'a str) -> Cow<'a, str> {
        let mut out = Cow::Borrowed(text);
        if let Some(known) = self.known_scrubber()
            && let Cow::Owned(scrubbed) = known.scrub(&out)
        {
            out = Cow::Owned(scrubbed);
        }
        if self.mode == RedactMode::Off || !self.any.is_match(&out) {
            return out;
        }
        for rule in &self.rules {
            if !rule.regex.is_match(&out) {
                continue;
            }
            let replaced = if rule.pem {
                rule.regex
                    .replace_all(&out, |caps: &regex::Captures<'_>| mask_pem(&caps[0]))
            } else {
                rule.regex
                    .replace_all(&out, |caps: &regex::Captures<'_>| mask_match(caps))
            };
            out = Cow::Owned(replaced.into_owned());
        }
        out
    }

    /// True when a field with this name holds a secret as a whole (`full` mode hides its value).
    pub fn is_sensitive_field(&self, name: &str) -> bool {
        self.mode == RedactMode::Full && self.sensitive_field.is_match(name)
    }

    /// Redacts every string in a JSON value in place; in `full` mode also replaces the whole value
    /// of sensitive-looking fields.
    pub fn redact_json(&self, value: &mut Value) {
        match value {
            Value::String(s) => {
                if let Cow::Owned(masked) = self.redact(s) {
                    *s = masked;
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|v| self.redact_json(v)),
            Value::Object(map) => {
                for (key, v) in map.iter_mut() {
                    if self.is_sensitive_field(key) && !v.is_null() {
                        *v = Value::String("***".into());
                    } else {
                        self.redact_json(v);
                    }
                }
            }
            Value::Null | Value::Bool(_) | Value::Number(_) => {}
        }
    }
}

/// Masks one value following OpenClaw's rule.
pub fn mask_value(secret: &str) -> String {
    let count = secret.chars().count();
    if count < MIN_PARTIAL_MASK_LEN {
        return "***".to_string();
    }
    let head: String = secret.chars().take(6).collect();
    let tail: String = secret.chars().skip(count - 4).collect();
    format!("{head}…{tail}")
}

/// True for text that is exactly one of our masks: `***`, `[redacted]` or six characters, `…`,
/// four characters. Anything longer is treated as a secret, so appending `…` to a real value
/// cannot smuggle it past the patterns.
fn is_mask(text: &str) -> bool {
    if text == "***" || text == "[redacted]" {
        return true;
    }
    let chars: Vec<char> = text.chars().collect();
    chars.len() == 11 && chars[6] == '…' && chars.iter().filter(|c| **c == '…').count() == 1
}

/// Replaces the last non-empty capture group of a match (or the whole match) with its mask.
fn mask_match(caps: &regex::Captures<'_>) -> String {
    let whole = match caps.get(0) {
        Some(m) => m,
        None => return String::new(),
    };
    let secret = (1..caps.len())
        .rev()
        .find_map(|i| caps.get(i).filter(|m| !m.as_str().is_empty()));
    match secret {
        // Already a mask (from an earlier pass): masking it again would only lose its prefix.
        Some(group) if is_mask(group.as_str()) => whole.as_str().to_string(),
        None if is_mask(whole.as_str()) => whole.as_str().to_string(),
        Some(group) => {
            let start = group.start() - whole.start();
            let end = group.end() - whole.start();
            let text = whole.as_str();
            format!("{}{}{}", &text[..start], mask_value(group.as_str()), &text[end..])
        }
        None => mask_value(whole.as_str()),
    }
}

fn mask_pem(block: &str) -> String {
    let mut lines = block.lines();
    let first = lines.next().unwrap_or_default();
    let last = block.lines().last().unwrap_or_default();
    format!("{first}\n…redacted…\n{last}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tools() -> Redactor {
        Redactor::new(RedactMode::Tools, &[]).unwrap()
    }

    #[test]
    fn known_secrets_added_later_are_scrubbed_and_earlier_ones_stay() {
        let redactor = Redactor::with_known_secrets(RedactMode::Off, &[], ["first-secret-value"]).unwrap();
        redactor.add_known_secrets(["second-secret-value", "short"]);
        let line = redactor.redact("a first-secret-value b second-secret-value c short");
        assert_eq!(line, "a [redacted] b [redacted] c short");
        let empty = Redactor::new(RedactMode::Off, &[]).unwrap();
        empty.add_known_secrets(["added-to-nothing-1"]);
        assert_eq!(empty.redact("x added-to-nothing-1"), "x [redacted]");
    }

    #[test]
    fn masks_table() {
        let r = tools();
        let cases: &[(&str, &str)] = &[
            // env-style assignments keep the name, mask the value
            (
                "OPENAI_API_KEY=sk-proj-abcdefghijklmnopqrstuvwxyz",
                "OPENAI_API_KEY=sk-pro…wxyz",
            ),
            ("GATEWAY_TOKEN: shorty123", "GATEWAY_TOKEN: ***"),
            (
                "export DB_PASSWORD=\"correct-horse-battery-staple\"",
                "export DB_PASSWORD=\"correc…aple\"",
            ),
            // JSON fields
            (
                r#"{"apiKey": "abcdefghijklmnopqrstuvwxyz0123"}"#,
                r#"{"apiKey": "abcdef…0123"}"#,
            ),
            (r#"{"password":"hunter2"}"#, r#"{"password":"***"}"#),
            // CLI flags
            (
                "openclaw --token 0123456789abcdef0123456789",
                "openclaw --token 012345…6789",
            ),
            ("run --password=pw", "run --password=***"),
            // bearer tokens
            (
                "Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.payload.sig",
                "Authorization: Bearer eyJhbG….sig",
            ),
            (
                "sent Bearer abcdefghijklmnopqrstuvwxyz to host",
                "sent Bearer abcdef…wxyz to host",
            ),
            // provider prefixes
            ("key sk-ant-api03-AAAAAAAAAAAAAAAAAAAAAAAA", "key sk-ant…AAAA"),
            ("ghp_0123456789abcdefghijABCDEFGHIJ", "ghp_01…GHIJ"),
            ("token xoxb-1234567890-abcdefghij", "token xoxb-1…ghij"),
            ("AIzaSyA-0123456789abcdefghijklmnop", "AIzaSy…mnop"),
            ("npm_abcdefghijklmnopqrstuvwxyz", "npm_ab…wxyz"),
            // Telegram bot token in a URL and bare
            (
                "GET https://api.telegram.org/bot123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw/getMe",
                "GET https://api.telegram.org/bot123456…Dsaw/getMe",
            ),
            (
                "token 123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw",
                "token 123456…Dsaw",
            ),
            // untouched text
            ("nothing to see here: port=18789", "nothing to see here: port=18789"),
            ("skeleton sk-short", "skeleton sk-short"),
        ];
        for (input, expected) in cases {
            assert_eq!(r.redact(input), *expected, "input: {input}");
        }
    }

    #[test]
    fn pem_keeps_armour_lines_only() {
        let pem =
            "before\n-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA\nabc\n-----END RSA PRIVATE KEY-----\nafter";
        assert_eq!(
            tools().redact(pem),
            "before\n-----BEGIN RSA PRIVATE KEY-----\n…redacted…\n-----END RSA PRIVATE KEY-----\nafter"
        );
    }

    #[test]
    fn off_mode_changes_nothing_but_known_secrets() {
        let r = Redactor::with_known_secrets(RedactMode::Off, &[], ["super-secret-value-42"]).unwrap();
        assert_eq!(
            r.redact("OPENAI_API_KEY=sk-proj-abcdefghijklmnop"),
            "OPENAI_API_KEY=sk-proj-abcdefghijklmnop"
        );
        assert_eq!(r.redact("x super-secret-value-42 y"), "x [redacted] y");
    }

    #[test]
    fn known_secret_of_any_shape_is_scrubbed() {
        let r = Redactor::with_known_secrets(RedactMode::Tools, &[], ["plain words are secret"]).unwrap();
        assert_eq!(r.redact("he said plain words are secret!"), "he said [redacted]!");
    }

    #[test]
    fn custom_patterns_add_to_defaults() {
        let custom = vec!["password=.*".to_string(), "/internal-[a-z]+\\.corp/".to_string()];
        let r = Redactor::new(RedactMode::Tools, &custom).unwrap();
        assert_eq!(r.redact("login password=hunter2"), "login ***");
        assert_eq!(r.redact("see internal-wiki.corp"), "see intern…corp");
        assert_eq!(
            r.redact("see INTERNAL-wiki.corp"),
            "see INTERNAL-wiki.corp",
            "no i flag: case-sensitive"
        );
        // defaults still apply
        assert_eq!(r.redact("ghp_0123456789abcdefghijABCDEFGHIJ"), "ghp_01…GHIJ");
    }

    #[test]
    fn bad_custom_pattern_names_index_and_reason() {
        let err = Redactor::new(RedactMode::Tools, &["ok".into(), "(unclosed".into()]).unwrap_err();
        assert_eq!(err.index, 1);
        assert!(err.to_string().contains("(unclosed"), "{err}");
        let err = Redactor::new(RedactMode::Tools, &["/x/q".into()]).unwrap_err();
        assert!(err.reason.contains("unknown flag `q`"), "{err}");
        let err = Redactor::new(RedactMode::Tools, &[".*".into()]).unwrap_err();
        assert!(err.reason.contains("empty string"), "{err}");
    }

    #[test]
    fn json_full_mode_hides_sensitive_fields() {
        let r = Redactor::new(RedactMode::Full, &[]).unwrap();
        let mut v =
            serde_json::json!({"botToken": "123", "nested": {"api_key": 5, "note": "sk-abcdefghijklmnop"}, "port": 1});
        r.redact_json(&mut v);
        assert_eq!(
            v,
            serde_json::json!({"botToken": "***", "nested": {"api_key": "***", "note": "sk-abc…mnop"}, "port": 1})
        );
        let t = tools();
        let mut v = serde_json::json!({"botToken": "123"});
        t.redact_json(&mut v);
        assert_eq!(v, serde_json::json!({"botToken": "123"}));
    }

    #[test]
    fn a_trailing_ellipsis_does_not_hide_a_secret() {
        let r = tools();
        assert_eq!(r.redact("API_TOKEN=secretval…"), "API_TOKEN=***");
        assert_eq!(r.redact("API_TOKEN=supersecretvalue1234…"), "API_TOKEN=supers…234…");
        assert_eq!(
            r.redact("API_TOKEN=abcdefghijklmnopqrstuvwxyz…"),
            "API_TOKEN=abcdef…xyz…"
        );
        assert_eq!(
            r.redact("API_TOKEN=abcdef…wxyz"),
            "API_TOKEN=abcdef…wxyz",
            "an existing mask stays"
        );
    }

    #[test]
    fn mask_rule_boundaries() {
        assert_eq!(mask_value("a".repeat(17).as_str()), "***");
        assert_eq!(mask_value("abcdefghijklmnopqr"), "abcdef…opqr");
    }
}

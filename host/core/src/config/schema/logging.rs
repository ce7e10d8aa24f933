//! `logging.*`.

use schemars::JsonSchema;
use serde::Deserialize;

use super::common::NumberOrString;
use crate::security::redact::RedactMode;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum LogLevel {
    Silent,
    Fatal,
    Error,
    Warn,
    Info,
    Debug,
    Trace,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ConsoleStyle {
    Pretty,
    Compact,
    Json,
}

/// `logging.file`: a path, or (as some guides write it) an object with rotation settings.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum LogFileSetting {
    #[schemars(title = "a file path")]
    Path(String),
    #[schemars(title = "a {enabled, path, maxSize, maxFiles} object")]
    Options(LogFileOptions),
}

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct LogFileOptions {
    /// `false` writes no log file at all.
    pub enabled: Option<bool>,
    /// File path (`~` is the home directory); default `/tmp/openclaw/openclaw-YYYY-MM-DD.log`.
    pub path: Option<String>,
    /// Rotate when the file reaches this size (`"10M"`, `"500kb"`, or bytes).
    pub max_size: Option<NumberOrString>,
    /// How many rotated files to keep.
    #[schemars(range(min = 1))]
    pub max_files: Option<u32>,
}

/// Transcript logging options (`logging.sessions`).
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SessionLoggingConfig {
    /// Record tool calls and results in transcripts.
    pub log_tools: Option<bool>,
    /// Record token usage and cost in transcripts.
    pub log_costs: Option<bool>,
    /// Days to keep transcripts.
    #[schemars(range(min = 1))]
    pub retention: Option<u32>,
}

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct LoggingConfig {
    /// Threshold for the log file.
    #[schemars(extend("default" = "info"))]
    pub level: Option<LogLevel>,
    pub file: Option<LogFileSetting>,
    /// Stop writing the log file past this many bytes (a runaway loop cannot fill the disk).
    #[schemars(range(min = 1), extend("default" = 524288000))]
    pub max_file_bytes: Option<u64>,
    /// Threshold for stderr.
    #[schemars(extend("default" = "info"))]
    pub console_level: Option<LogLevel>,
    pub console_style: Option<ConsoleStyle>,
    /// Mask secrets in logs, tool summaries and transcripts.
    #[schemars(extend("default" = "tools"))]
    pub redact_sensitive: Option<RedactMode>,
    /// Extra regular expressions to mask (`/body/flags` or a bare body, case-insensitive).
    /// They add to the built-in patterns.
    pub redact_patterns: Option<Vec<String>>,
    pub sessions: Option<SessionLoggingConfig>,
}

/// Default cap for the log file: 500 MB, as in OpenClaw.
pub const DEFAULT_MAX_FILE_BYTES: u64 = 500 * 1024 * 1024;

impl LoggingConfig {
    pub fn redact_mode(&self) -> RedactMode {
        self.redact_sensitive.unwrap_or_default()
    }

    pub fn patterns(&self) -> &[String] {
        self.redact_patterns.as_deref().unwrap_or_default()
    }
}

/// Parses `"10M"`, `"10mb"`, `"512k"`, `"1g"` or a plain number of bytes.
pub fn parse_byte_size(value: &NumberOrString) -> Option<u64> {
    match value {
        NumberOrString::Number(n) => n.as_u64(),
        NumberOrString::Text(text) => {
            let text = text.trim().to_ascii_lowercase();
            let split = text
                .find(|c: char| !(c.is_ascii_digit() || c == '.'))
                .unwrap_or(text.len());
            let (number, unit) = text.split_at(split);
            let number: f64 = number.parse().ok()?;
            let multiplier: f64 = match unit.trim() {
                "" | "b" => 1.0,
                "k" | "kb" | "kib" => 1024.0,
                "m" | "mb" | "mib" => 1024.0 * 1024.0,
                "g" | "gb" | "gib" => 1024.0 * 1024.0 * 1024.0,
                _ => return None,
            };
            let bytes = number * multiplier;
            (bytes.is_finite() && bytes >= 1.0).then_some(bytes as u64)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_sizes() {
        let t = |s: &str| parse_byte_size(&NumberOrString::Text(s.into()));
        assert_eq!(t("10M"), Some(10 * 1024 * 1024));
        assert_eq!(t("2mb"), Some(2 * 1024 * 1024));
        assert_eq!(t("512 kb"), Some(512 * 1024));
        assert_eq!(t("1.5g"), Some(1610612736));
        assert_eq!(t("100"), Some(100));
        assert_eq!(t("ten"), None);
        assert_eq!(t("5 parsecs"), None);
        assert_eq!(t("0"), None);
    }
}

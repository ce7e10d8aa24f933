//! Logging: `tracing` events to stderr and to a JSON-lines file, every line redacted first.
//!
//! The file is OpenClaw's: `/tmp/openclaw/openclaw-YYYY-MM-DD.log` (local date, a new file each
//! day, files older than a day pruned), or `logging.file`. Redaction happens on the structured
//! event (message and every field) before formatting, so a secret cannot slip through because
//! JSON escaping changed its shape. Writing a log line never fails the program.

pub mod setup;
pub mod tail;

use std::fmt::Write as _;
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use chrono::{Local, NaiveDate};
use openclaw_core::config::schema::logging::{
    ConsoleStyle, DEFAULT_MAX_FILE_BYTES, LogFileSetting, LogLevel, LoggingConfig, parse_byte_size,
};
use openclaw_core::security::SECURITY_TARGET;
use openclaw_core::security::redact::Redactor;
use openclaw_core::security::text::neutralize_controls;
use serde_json::{Map, Value};
use tracing::field::{Field, Visit};
use tracing::level_filters::LevelFilter;
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::Layer;
use tracing_subscriber::layer::{Context, SubscriberExt};

use crate::state::{self, Env, current_uid, expand_home};

/// Default directory for the daily log.
pub const DEFAULT_LOG_DIR: &str = "/tmp/openclaw";
/// How long daily files are kept.
const DAILY_RETENTION: Duration = Duration::from_secs(24 * 60 * 60);

/// Where the file log goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileTarget {
    Disabled,
    /// `<dir>/openclaw-YYYY-MM-DD.log`, one per local day.
    Daily {
        dir: PathBuf,
    },
    /// One file; rotated to `.1`, `.2`, ... when `max_files` is set, else writes stop at the cap.
    Fixed {
        path: PathBuf,
        max_files: Option<u32>,
    },
}

/// Everything the logger needs, resolved from `logging.*`.
#[derive(Debug, Clone)]
pub struct LogSettings {
    pub file: FileTarget,
    pub max_file_bytes: u64,
    pub file_level: LevelFilter,
    pub console_level: LevelFilter,
    pub console_style: ConsoleStyle,
}

fn level(level: LogLevel) -> LevelFilter {
    match level {
        LogLevel::Silent => LevelFilter::OFF,
        LogLevel::Fatal | LogLevel::Error => LevelFilter::ERROR,
        LogLevel::Warn => LevelFilter::WARN,
        LogLevel::Info => LevelFilter::INFO,
        LogLevel::Debug => LevelFilter::DEBUG,
        LogLevel::Trace => LevelFilter::TRACE,
    }
}

/// A daily-log directory we own: `/tmp/openclaw`, or `/tmp/openclaw-<uid>` when another user
/// created `/tmp/openclaw` first (a shared directory would let them read or replace our logs).
pub fn default_log_dir() -> PathBuf {
    let shared = PathBuf::from(DEFAULT_LOG_DIR);
    match fs::symlink_metadata(&shared) {
        Ok(meta) if meta.is_dir() && meta.uid() == current_uid() => shared,
        Err(_) => shared,
        _ => PathBuf::from(format!("{DEFAULT_LOG_DIR}-{}", current_uid())),
    }
}

impl LogSettings {
    /// Resolves `logging.*`; `console_default` is the stderr threshold when the config sets none
    /// (the gateway shows `info`, one-shot CLI commands only warnings).
    pub fn from_config(logging: &LoggingConfig, env: &Env, console_default: LevelFilter) -> Self {
        let home = env.get("OPENCLAW_HOME").or_else(|| env.get("HOME")).unwrap_or("/");
        let mut max_file_bytes = logging.max_file_bytes.unwrap_or(DEFAULT_MAX_FILE_BYTES);
        let file = match &logging.file {
            None => FileTarget::Daily { dir: default_log_dir() },
            Some(LogFileSetting::Path(path)) => FileTarget::Fixed {
                path: expand_home(path, Path::new(home)),
                max_files: None,
            },
            Some(LogFileSetting::Options(options)) => {
                if let Some(size) = options.max_size.as_ref().and_then(parse_byte_size) {
                    max_file_bytes = size;
                }
                match (options.enabled, &options.path) {
                    (Some(false), _) => FileTarget::Disabled,
                    (_, Some(path)) => FileTarget::Fixed {
                        path: expand_home(path, Path::new(home)),
                        max_files: options.max_files,
                    },
                    (_, None) => FileTarget::Daily { dir: default_log_dir() },
                }
            }
        };
        Self {
            file,
            max_file_bytes,
            file_level: level(logging.level.unwrap_or(LogLevel::Info)),
            console_level: logging.console_level.map(level).unwrap_or(console_default),
            console_style: logging.console_style.unwrap_or(ConsoleStyle::Compact),
        }
    }
}

/// The file side of the logger.
struct FileSink {
    target: FileTarget,
    max_bytes: u64,
    file: Option<File>,
    day: Option<NaiveDate>,
    written: u64,
    capped: bool,
    /// Security events have their own budget on top of `max_bytes`: the ordinary cap never
    /// drops them, and a flood of them cannot grow the file without bound either.
    security_written: u64,
    security_dropped: u64,
}

/// The security-event budget of one file: a quarter of the ordinary cap, at least 1 MiB.
fn security_budget(max_bytes: u64) -> u64 {
    (max_bytes / 4).max(1 << 20)
}

fn open_append(path: &Path) -> std::io::Result<File> {
    OpenOptions::new()
        .create(true)
        .append(true)
        .mode(state::FILE_MODE)
        .custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32)
        .open(path)
}

impl FileSink {
    fn new(target: FileTarget, max_bytes: u64) -> Self {
        Self {
            target,
            max_bytes,
            file: None,
            day: None,
            written: 0,
            capped: false,
            security_written: 0,
            security_dropped: 0,
        }
    }

    fn current_path(&self, today: NaiveDate) -> Option<PathBuf> {
        match &self.target {
            FileTarget::Disabled => None,
            FileTarget::Daily { dir } => Some(dir.join(format!("openclaw-{}.log", today.format("%Y-%m-%d")))),
            FileTarget::Fixed { path, .. } => Some(path.clone()),
        }
    }

    fn open(&mut self, today: NaiveDate) -> std::io::Result<()> {
        let Some(path) = self.current_path(today) else {
            return Ok(());
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty())
            && !dir.exists()
        {
            state::ensure_private_dir(dir).map_err(std::io::Error::other)?;
        }
        let file = open_append(&path)?;
        self.written = file.metadata().map(|m| m.len()).unwrap_or(0);
        self.capped = false;
        self.security_written = 0;
        self.security_dropped = 0;
        self.file = Some(file);
        self.day = Some(today);
        if let FileTarget::Daily { dir } = &self.target {
            prune_daily(dir, &path);
        }
        Ok(())
    }

    fn rotate(&mut self) -> std::io::Result<()> {
        let FileTarget::Fixed {
            path,
            max_files: Some(keep),
        } = &self.target
        else {
            return Ok(());
        };
        let keep = (*keep).max(1);
        let numbered = |n: u32| {
            let mut name = path.file_name().map(|f| f.to_os_string()).unwrap_or_default();
            name.push(format!(".{n}"));
            path.with_file_name(name)
        };
        let _ = fs::remove_file(numbered(keep));
        for n in (1..keep).rev() {
            let _ = fs::rename(numbered(n), numbered(n + 1));
        }
        fs::rename(path, numbered(1))?;
        let file = open_append(path)?;
        self.file = Some(file);
        self.written = 0;
        Ok(())
    }

    fn write_line(&mut self, line: &str, security: bool) {
        if self.target == FileTarget::Disabled {
            return;
        }
        let today = Local::now().date_naive();
        let stale_day = matches!(self.target, FileTarget::Daily { .. }) && self.day != Some(today);
        if (self.file.is_none() || stale_day) && self.open(today).is_err() {
            return;
        }
        let len = line.len() as u64 + 1;
        let rotates = matches!(self.target, FileTarget::Fixed { max_files: Some(_), .. });
        if security && !rotates {
            if self.security_written + len > security_budget(self.max_bytes) {
                self.security_dropped += 1;
                return;
            }
            if let Some(file) = &mut self.file
                && writeln!(file, "{line}").is_ok()
            {
                self.security_written += len;
            }
            return;
        }
        if self.written + len > self.max_bytes {
            if rotates {
                if self.rotate().is_err() {
                    return;
                }
            } else {
                if !self.capped {
                    self.capped = true;
                    if let Some(file) = &mut self.file {
                        let _ = writeln!(
                            file,
                            "{{\"level\":\"warn\",\"message\":\"log file reached logging.maxFileBytes ({}); further entries are dropped until tomorrow or a restart (security events are still written)\"}}",
                            self.max_bytes
                        );
                    }
                }
                return;
            }
        }
        if let Some(file) = &mut self.file
            && writeln!(file, "{line}").is_ok()
        {
            self.written += len;
        }
    }
}

/// Deletes our daily files older than a day (never the current one).
fn prune_daily(dir: &Path, current: &Path) {
    let Ok(entries) = fs::read_dir(dir) else { return };
    let now = SystemTime::now();
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if path == current || !name.starts_with("openclaw-") || !name.ends_with(".log") {
            continue;
        }
        let old = entry
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|modified| now.duration_since(modified).ok())
            .is_some_and(|age| age > DAILY_RETENTION);
        if old {
            let _ = fs::remove_file(path);
        }
    }
}

/// Collects an event's fields as JSON.
#[derive(Default)]
struct FieldCollector {
    fields: Map<String, Value>,
}

impl Visit for FieldCollector {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.fields
            .insert(field.name().to_string(), Value::String(value.to_string()));
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.fields.insert(field.name().to_string(), Value::Bool(value));
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.fields.insert(field.name().to_string(), Value::from(value));
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.fields.insert(field.name().to_string(), Value::from(value));
    }
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.fields.insert(field.name().to_string(), Value::from(value));
    }
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.fields
            .insert(field.name().to_string(), Value::String(format!("{value:?}")));
    }
}

/// The `tracing` layer that redacts and writes.
pub struct RedactingLayer {
    redactor: Arc<Redactor>,
    file: Mutex<FileSink>,
    file_level: LevelFilter,
    console_level: LevelFilter,
    console_style: ConsoleStyle,
    console: Box<dyn Fn(&str) + Send + Sync>,
}

impl RedactingLayer {
    pub fn new(settings: &LogSettings, redactor: Arc<Redactor>) -> Self {
        Self::with_console(settings, redactor, Box::new(|line| eprintln!("{line}")))
    }

    /// Like [`RedactingLayer::new`] with a custom console sink (tests).
    pub fn with_console(
        settings: &LogSettings,
        redactor: Arc<Redactor>,
        console: Box<dyn Fn(&str) + Send + Sync>,
    ) -> Self {
        Self {
            redactor,
            file: Mutex::new(FileSink::new(settings.file.clone(), settings.max_file_bytes)),
            file_level: settings.file_level,
            console_level: settings.console_level,
            console_style: settings.console_style,
            console,
        }
    }

    /// The most verbose level either sink wants (for the subscriber's filter).
    pub fn max_level(&self) -> LevelFilter {
        let file_level = if matches!(self.file.lock().map(|f| f.target.clone()), Ok(FileTarget::Disabled)) {
            LevelFilter::OFF
        } else {
            self.file_level
        };
        file_level.max(self.console_level)
    }
}

fn level_name(level: &Level) -> &'static str {
    match *level {
        Level::ERROR => "error",
        Level::WARN => "warn",
        Level::INFO => "info",
        Level::DEBUG => "debug",
        Level::TRACE => "trace",
    }
}

impl<S: Subscriber> Layer<S> for RedactingLayer {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let level = *event.metadata().level();
        let to_file = self.file_level >= level;
        let to_console = self.console_level >= level;
        if !to_file && !to_console {
            return;
        }
        let mut collector = FieldCollector::default();
        event.record(&mut collector);
        let mut fields = Value::Object(collector.fields);
        self.redactor.redact_json(&mut fields);
        let Value::Object(mut fields) = fields else { return };
        let message = match fields.shift_remove("message") {
            Some(Value::String(s)) => s,
            Some(other) => other.to_string(),
            None => String::new(),
        };
        let now = Local::now();
        let target = event.metadata().target();

        let mut record = Map::new();
        record.insert(
            "time".into(),
            Value::String(now.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)),
        );
        record.insert("level".into(), Value::String(level_name(&level).into()));
        record.insert("target".into(), Value::String(target.into()));
        record.insert("message".into(), Value::String(message.clone()));
        for (key, value) in &fields {
            record.entry(key.clone()).or_insert_with(|| value.clone());
        }
        let json_line = Value::Object(record).to_string();

        if to_file && let Ok(mut file) = self.file.lock() {
            file.write_line(&json_line, target == SECURITY_TARGET);
        }
        if to_console {
            let line = match self.console_style {
                ConsoleStyle::Json => json_line,
                ConsoleStyle::Pretty | ConsoleStyle::Compact => {
                    let mut line = if self.console_style == ConsoleStyle::Pretty {
                        format!(
                            "{} {:>5} {target}: {message}",
                            now.format("%H:%M:%S"),
                            level_name(&level)
                        )
                    } else {
                        format!("{}: {message}", level_name(&level))
                    };
                    for (key, value) in &fields {
                        match value {
                            Value::String(s) => {
                                let _ = write!(line, " {key}={s}");
                            }
                            other => {
                                let _ = write!(line, " {key}={other}");
                            }
                        }
                    }
                    // Plugin text and request data end up in messages: nothing they carry may
                    // steer the operator's terminal.
                    neutralize_controls(&line).into_owned()
                }
            };
            (self.console)(&line);
        }
    }
}

/// Installs the redacting logger for the process. Later calls are ignored (the first wins).
pub fn init(settings: &LogSettings, redactor: Arc<Redactor>) {
    let layer = RedactingLayer::new(settings, redactor);
    let max = layer.max_level();
    let subscriber = tracing_subscriber::registry().with(layer.with_filter(max));
    let _ = tracing::subscriber::set_global_default(subscriber);
}

#[cfg(test)]
mod tests {
    use super::*;
    use openclaw_core::security::redact::RedactMode;
    use std::os::unix::fs::PermissionsExt;

    fn settings(file: FileTarget, max: u64) -> LogSettings {
        LogSettings {
            file,
            max_file_bytes: max,
            file_level: LevelFilter::INFO,
            console_level: LevelFilter::WARN,
            console_style: ConsoleStyle::Compact,
        }
    }

    fn capture(settings: &LogSettings, known: &[&str], body: impl FnOnce()) -> Vec<String> {
        let redactor = Arc::new(Redactor::with_known_secrets(RedactMode::Tools, &[], known.iter().copied()).unwrap());
        let console = Arc::new(Mutex::new(Vec::<String>::new()));
        let sink = console.clone();
        let layer = RedactingLayer::with_console(
            settings,
            redactor,
            Box::new(move |line| sink.lock().unwrap().push(line.to_string())),
        );
        let subscriber = tracing_subscriber::registry().with(layer);
        tracing::subscriber::with_default(subscriber, body);
        console.lock().unwrap().clone()
    }

    #[test]
    fn daily_file_is_json_lines_private_and_redacted() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("logs");
        let s = settings(FileTarget::Daily { dir: dir.clone() }, 1 << 20);
        let console = capture(&s, &["the-exact-resolved-secret"], || {
            tracing::info!(
                token = "sk-proj-abcdefghijklmnopqrstuvwxyz",
                "calling provider with Bearer abcdefghijklmnopqrstuvwxyz012345"
            );
            tracing::warn!(
                detail = "value the-exact-resolved-secret leaked?",
                "OPENAI_API_KEY=sk-abcdefghijklmnopqrstu"
            );
        });
        let name = format!("openclaw-{}.log", Local::now().date_naive().format("%Y-%m-%d"));
        let path = dir.join(name);
        let text = fs::read_to_string(&path).unwrap();
        assert!(!text.contains("abcdefghijklmnopqrstuvwxyz012345"), "{text}");
        assert!(!text.contains("sk-proj-abcdefghijklmnopqrstuvwxyz"), "{text}");
        assert!(!text.contains("the-exact-resolved-secret"), "{text}");
        let lines: Vec<Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0]["level"], "info");
        assert_eq!(lines[0]["message"], "calling provider with Bearer abcdef…2345");
        assert_eq!(lines[0]["token"], "sk-pro…wxyz");
        assert_eq!(lines[1]["detail"], "value [redacted] leaked?");
        assert_eq!(fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        assert_eq!(fs::metadata(&dir).unwrap().permissions().mode() & 0o777, 0o700);
        // Only the warning reached the console (threshold warn), redacted too.
        assert_eq!(console.len(), 1);
        assert_eq!(
            console[0],
            "warn: OPENAI_API_KEY=sk-abc…rstu detail=value [redacted] leaked?"
        );
    }

    #[test]
    fn fixed_file_rotates_and_keeps_max_files() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("gateway.log");
        let s = settings(
            FileTarget::Fixed {
                path: path.clone(),
                max_files: Some(2),
            },
            300,
        );
        capture(&s, &[], || {
            for i in 0..20 {
                tracing::info!(n = i, "a line that is long enough to need rotation soon");
            }
        });
        assert!(path.exists());
        assert!(tmp.path().join("gateway.log.1").exists());
        assert!(tmp.path().join("gateway.log.2").exists());
        assert!(!tmp.path().join("gateway.log.3").exists());
        assert!(fs::metadata(&path).unwrap().len() <= 300);
    }

    #[test]
    fn cap_without_rotation_stops_writing() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("capped.log");
        let s = settings(
            FileTarget::Fixed {
                path: path.clone(),
                max_files: None,
            },
            400,
        );
        capture(&s, &[], || {
            for _ in 0..50 {
                tracing::info!("filling the file with lines until the cap is reached");
            }
        });
        let text = fs::read_to_string(&path).unwrap();
        assert!(text.len() < 700, "{}", text.len());
        assert!(text.contains("reached logging.maxFileBytes"));
    }

    #[test]
    fn security_events_survive_the_cap_within_their_own_budget() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("capped.log");
        let s = settings(
            FileTarget::Fixed {
                path: path.clone(),
                max_files: None,
            },
            400,
        );
        capture(&s, &[], || {
            for _ in 0..50 {
                tracing::info!("an ordinary flood fills the file to its cap");
            }
            tracing::warn!(target: "openclaw::security", event = "auth-failed", "authentication failed for 203.0.113.9");
            // A flood of security events stops at their own budget (1 MiB here).
            for _ in 0..20_000 {
                tracing::warn!(target: "openclaw::security", event = "egress-denied", "refused: {}", "x".repeat(100));
            }
        });
        let text = fs::read_to_string(&path).unwrap();
        assert!(
            text.contains("authentication failed for 203.0.113.9"),
            "the cap dropped a security event"
        );
        assert!(text.len() < 400 + (1 << 20) + 1024, "{} bytes", text.len());
    }

    #[test]
    fn console_lines_cannot_steer_the_terminal() {
        let s = settings(FileTarget::Disabled, 1 << 20);
        let console = capture(&s, &[], || {
            tracing::warn!(
                plugin = "evil\u{1b}]0;title\u{7}",
                "line\u{1b}[2J\r\nforged: admin logged in"
            );
        });
        let line = console.join("\n");
        assert!(!line.chars().any(|c| c.is_control() && c != '\n'), "{line:?}");
        assert!(line.contains("\\u{1b}[2J"), "{line:?}");
        assert!(!line.contains("\r\nforged"), "{line:?}");
    }

    #[test]
    fn settings_from_seed_logging_config() {
        let doc = serde_json::json!({
            "redactSensitive": "tools", "level": "info",
            "file": {"enabled": true, "path": "~/.openclaw/logs/gateway.log", "maxSize": "10M", "maxFiles": 5}
        });
        let logging: LoggingConfig = serde_json::from_value(doc).unwrap();
        let s = LogSettings::from_config(&logging, &Env::from_pairs([("HOME", "/home/op")]), LevelFilter::WARN);
        assert_eq!(
            s.file,
            FileTarget::Fixed {
                path: PathBuf::from("/home/op/.openclaw/logs/gateway.log"),
                max_files: Some(5)
            }
        );
        assert_eq!(s.max_file_bytes, 10 * 1024 * 1024);
        let default = LogSettings::from_config(&LoggingConfig::default(), &Env::default(), LevelFilter::WARN);
        assert!(matches!(default.file, FileTarget::Daily { .. }));
        assert_eq!(default.max_file_bytes, DEFAULT_MAX_FILE_BYTES);
    }
}

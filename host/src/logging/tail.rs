//! `openclaw logs`: the end of the gateway's file log, found where the logger writes it, read
//! from the end within a byte budget (a huge or growing file is never loaded whole), every line
//! redacted before it is shown.

use std::fs::{self, OpenOptions};
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use openclaw_core::security::redact::Redactor;
use openclaw_core::security::text::neutralize_controls;
use serde_json::{Map, Value, json};

use super::FileTarget;

/// The most bytes read from the end of a log file.
pub const MAX_TAIL_BYTES: u64 = 8 * 1024 * 1024;

/// Why there is no log file to show, with the path looked at and the fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoLog {
    pub message: String,
    pub hint: String,
}

fn daily_name(day: NaiveDate) -> String {
    format!("openclaw-{}.log", day.format("%Y-%m-%d"))
}

fn is_regular_file(path: &Path) -> bool {
    fs::symlink_metadata(path).is_ok_and(|m| m.is_file())
}

const ENABLE_HINT: &str = "the gateway writes it as it logs (start it with `openclaw gateway run`): by default to \
     /tmp/openclaw/openclaw-YYYY-MM-DD.log, or to the file `logging.file` names (`openclaw config set logging.file \
     ~/.openclaw/logs/gateway.log`); read another file with `openclaw logs --file PATH`";

/// The newest daily file in `dir` (`openclaw-*.log`, regular files only, by modification time).
fn newest_daily(dir: &Path) -> Option<PathBuf> {
    let entries = fs::read_dir(dir).ok()?;
    entries
        .flatten()
        .filter(|e| {
            let name = e.file_name();
            let name = name.to_string_lossy();
            name.starts_with("openclaw-") && name.ends_with(".log")
        })
        .filter_map(|e| {
            let meta = fs::symlink_metadata(e.path()).ok()?;
            meta.is_file().then(|| (meta.modified().ok(), e.path()))
        })
        .max()
        .map(|(_, path)| path)
}

/// The file `openclaw logs` reads: `given` (`--file`), else where the logger writes: today's
/// daily file (else the newest `openclaw-*.log` beside it), or `logging.file`.
pub fn locate(target: &FileTarget, given: Option<&Path>, today: NaiveDate) -> Result<PathBuf, NoLog> {
    let missing = |path: &Path| NoLog {
        message: format!("no log file at {}", path.display()),
        hint: ENABLE_HINT.to_string(),
    };
    if let Some(path) = given {
        return if path.is_file() {
            Ok(path.to_path_buf())
        } else {
            Err(missing(path))
        };
    }
    match target {
        FileTarget::Disabled => Err(NoLog {
            message: "file logging is off (logging.file.enabled is false), so the gateway keeps no log file".into(),
            hint: "turn it on with `openclaw config set logging.file.enabled true` and restart the gateway; \
                   read another file with `openclaw logs --file PATH`"
                .into(),
        }),
        FileTarget::Daily { dir } => {
            let today = dir.join(daily_name(today));
            if is_regular_file(&today) {
                return Ok(today);
            }
            newest_daily(dir).ok_or_else(|| NoLog {
                message: format!(
                    "no log file at {} (nor any openclaw-*.log in {})",
                    today.display(),
                    dir.display()
                ),
                hint: ENABLE_HINT.to_string(),
            })
        }
        FileTarget::Fixed { path, .. } => {
            if path.is_file() {
                Ok(path.clone())
            } else {
                Err(missing(path))
            }
        }
    }
}

/// The last lines of a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tail {
    pub lines: Vec<String>,
    /// The file is larger than the bytes read: older lines were not looked at.
    pub truncated: bool,
    /// The file's size when it was read.
    pub size: u64,
}

/// The last `limit` lines of `path`, reading at most `max_bytes` from its end. When reading
/// starts inside the file, the first (partial) line is dropped. Invalid UTF-8 is replaced.
pub fn tail(path: &Path, limit: usize, max_bytes: u64) -> std::io::Result<Tail> {
    // Non-blocking, so a FIFO put in the log's place cannot hang the command; it is then refused
    // as not a regular file.
    let mut file = OpenOptions::new()
        .read(true)
        .custom_flags(rustix::fs::OFlags::NONBLOCK.bits() as i32)
        .open(path)?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("{} is not a regular file", path.display()),
        ));
    }
    let size = meta.len();
    let start = size.saturating_sub(max_bytes);
    file.seek(SeekFrom::Start(start))?;
    let mut bytes = Vec::new();
    file.take(max_bytes).read_to_end(&mut bytes)?;
    let mut body: &[u8] = &bytes;
    if start > 0
        && let Some(newline) = body.iter().position(|b| *b == b'\n')
    {
        body = &body[newline + 1..];
    }
    let text = String::from_utf8_lossy(body);
    let all: Vec<&str> = text.lines().collect();
    let skip = all.len().saturating_sub(limit);
    Ok(Tail {
        lines: all[skip..].iter().map(|l| l.to_string()).collect(),
        truncated: start > 0,
        size,
    })
}

/// The last `limit` lines of the gateway's log (see [`locate`]), at most [`MAX_TAIL_BYTES`] read.
pub fn read_gateway_log(
    target: &FileTarget,
    given: Option<&Path>,
    today: NaiveDate,
    limit: usize,
) -> Result<(PathBuf, Tail), NoLog> {
    let path = locate(target, given, today)?;
    match tail(&path, limit, MAX_TAIL_BYTES) {
        Ok(tail) => Ok((path, tail)),
        Err(e) => Err(NoLog {
            message: format!("cannot read {}: {e}", path.display()),
            hint: "check the path and its permissions; read another file with `openclaw logs --file PATH`".into(),
        }),
    }
}

/// One log line as a redacted JSON object: the line's own object when it is one, else
/// `{"message": line}`. The object is redacted field by field, then once more as text, so a
/// secret in a field named like one (`"token": "..."`) is masked too.
pub fn redacted_json(line: &str, redactor: &Redactor) -> Value {
    let mut value = match serde_json::from_str::<Value>(line) {
        Ok(object @ Value::Object(_)) => object,
        _ => json!({"message": line}),
    };
    redactor.redact_json(&mut value);
    let text = value.to_string();
    let masked = redactor.redact(&text);
    match serde_json::from_str::<Value>(&masked) {
        Ok(object @ Value::Object(_)) => object,
        // A custom pattern cut through the JSON syntax: keep its text, still masked.
        _ => json!({"message": masked}),
    }
}

fn field_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// One log line for a person: `time level target: message key=value ...` for the logger's JSON
/// lines, the line itself otherwise; redacted, and with control characters made visible so a
/// logged string cannot steer the terminal.
pub fn redacted_text(line: &str, redactor: &Redactor) -> String {
    let is_object = serde_json::from_str::<Value>(line).is_ok_and(|v| v.is_object());
    let value = redacted_json(line, redactor);
    let text = match (is_object, value) {
        (true, Value::Object(mut map)) => {
            let take = |key: &str, map: &mut Map<String, Value>| map.shift_remove(key).map(|v| field_text(&v));
            let time = take("time", &mut map);
            let level = take("level", &mut map);
            let target = take("target", &mut map);
            let message = take("message", &mut map).unwrap_or_default();
            let mut out = String::new();
            for part in [time, level.map(|l| format!("{l:>5}"))].into_iter().flatten() {
                out.push_str(&part);
                out.push(' ');
            }
            if let Some(target) = target {
                out.push_str(&target);
                out.push_str(": ");
            }
            out.push_str(&message);
            for (key, value) in &map {
                out.push_str(&format!(" {key}={}", field_text(value)));
            }
            out
        }
        (_, value) => value.get("message").map(field_text).unwrap_or_default(),
    };
    let masked = redactor.redact(&text).into_owned();
    neutralize_controls(&masked).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use openclaw_core::security::redact::RedactMode;
    use std::io::Write;

    fn redactor(known: &[&str]) -> Redactor {
        Redactor::with_known_secrets(RedactMode::Tools, &[], known.iter().copied()).unwrap()
    }

    fn day(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn todays_daily_file_first_else_the_newest() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().to_path_buf();
        let target = FileTarget::Daily { dir: dir.clone() };
        let err = locate(&target, None, day("2026-05-02")).unwrap_err();
        assert!(err.message.contains("openclaw-2026-05-02.log"), "{err:?}");
        assert!(err.hint.contains("logging.file"), "{err:?}");

        let old = dir.join("openclaw-2026-04-30.log");
        let newer = dir.join("openclaw-2026-05-01.log");
        fs::write(&old, "old\n").unwrap();
        std::thread::sleep(std::time::Duration::from_millis(20));
        fs::write(&newer, "newer\n").unwrap();
        fs::write(dir.join("unrelated.log"), "x\n").unwrap();
        assert_eq!(locate(&target, None, day("2026-05-02")).unwrap(), newer);

        let today = dir.join("openclaw-2026-05-02.log");
        fs::write(&today, "today\n").unwrap();
        // Today's file wins even when another one was touched later.
        std::thread::sleep(std::time::Duration::from_millis(20));
        fs::write(&old, "touched\n").unwrap();
        assert_eq!(locate(&target, None, day("2026-05-02")).unwrap(), today);

        let given = dir.join("unrelated.log");
        assert_eq!(locate(&target, Some(&given), day("2026-05-02")).unwrap(), given);
        assert!(
            locate(&FileTarget::Disabled, None, day("2026-05-02"))
                .unwrap_err()
                .hint
                .contains("logging.file.enabled true")
        );
    }

    #[test]
    fn tail_reads_only_the_end_and_drops_the_partial_first_line() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("log");
        let mut file = fs::File::create(&path).unwrap();
        for i in 0..1000 {
            writeln!(file, "line {i:04}").unwrap();
        }
        drop(file);
        let all = tail(&path, 3, MAX_TAIL_BYTES).unwrap();
        assert_eq!(all.lines, ["line 0997", "line 0998", "line 0999"]);
        assert!(!all.truncated);
        assert_eq!(all.size, 10_000);
        // 25 bytes from the end: "e 0997\n" is partial and dropped.
        let cut = tail(&path, 100, 25).unwrap();
        assert_eq!(cut.lines, ["line 0998", "line 0999"]);
        assert!(cut.truncated);
        assert!(tail(&path, 0, MAX_TAIL_BYTES).unwrap().lines.is_empty());
    }

    #[test]
    fn a_fifo_is_refused_without_hanging() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("fifo");
        rustix::fs::mkfifoat(rustix::fs::CWD, &path, rustix::fs::Mode::from_raw_mode(0o600)).unwrap();
        let err = tail(&path, 10, MAX_TAIL_BYTES).unwrap_err();
        assert!(err.to_string().contains("not a regular file"), "{err}");
    }

    #[test]
    fn lines_are_redacted_as_json_and_as_text() {
        let r = redactor(&["the-gateway-token-literal"]);
        let line = r#"{"time":"2026-05-02T10:00:00.000Z","level":"info","target":"openclaw::gateway","message":"auth with the-gateway-token-literal","token":"abcdefghijklmnopqrstuvwxyz","key":"sk-abcdefghijklmnopqrstu"}"#;
        let value = redacted_json(line, &r);
        assert_eq!(value["message"], "auth with [redacted]");
        assert_eq!(value["token"], "abcdef…wxyz");
        assert_eq!(value["key"], "sk-abc…rstu");
        let text = redacted_text(line, &r);
        assert_eq!(
            text,
            "2026-05-02T10:00:00.000Z  info openclaw::gateway: auth with [redacted] token=abcdef…wxyz key=sk-abc…rstu"
        );

        let plain = "plain OPENAI_API_KEY=sk-abcdefghijklmnopqrstu \u{1b}[2J";
        assert_eq!(
            redacted_json(plain, &r),
            json!({"message": "plain OPENAI_API_KEY=sk-abc…rstu \u{1b}[2J"})
        );
        let shown = redacted_text(plain, &r);
        assert_eq!(shown, "plain OPENAI_API_KEY=sk-abc…rstu \\u{1b}[2J");
    }
}

//! Printing reports: issues for people, and the same data as JSON.

use openclaw_core::config::issue::{Issue, Severity};
use openclaw_core::security::redact::Redactor;
use openclaw_core::security::text::neutralize_controls;
use serde_json::{Value, json};

/// Prints one JSON document (2-space indent, like OpenClaw).
pub fn print_json(value: &Value) {
    match serde_json::to_string_pretty(value) {
        Ok(text) => println!("{text}"),
        Err(e) => eprintln!("error: cannot print JSON: {e}"),
    }
}

/// Masks every string in `value` (values only: key names are ours and never secret).
fn redact_strings(value: &mut Value, redactor: &Redactor) {
    match value {
        Value::String(s) => {
            if let std::borrow::Cow::Owned(masked) = redactor.redact(s) {
                *s = masked;
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| redact_strings(v, redactor)),
        Value::Object(map) => map.values_mut().for_each(|v| redact_strings(v, redactor)),
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
}

/// Prints one JSON document meant to be shared (reports, incident output): every string masked,
/// then the whole text masked once more (a secret in a field named like one, `"token": "..."`),
/// as long as it stays JSON.
pub fn print_json_redacted(value: &Value, redactor: &Redactor) {
    let mut value = value.clone();
    redact_strings(&mut value, redactor);
    let Ok(text) = serde_json::to_string_pretty(&value) else {
        print_json(&value);
        return;
    };
    let masked = redactor.redact(&text);
    if serde_json::from_str::<Value>(&masked).is_ok() {
        println!("{masked}");
    } else {
        print_json(&value);
    }
}

/// Prints text meant to be shared: masked, every line's control characters made visible.
pub fn print_text_redacted(text: &str, redactor: &Redactor) {
    for line in redactor.redact(text).lines() {
        println!("{}", neutralize_controls(line));
    }
}

/// An issue as JSON (the `severity` decides which list it goes in).
pub fn issue_json(issue: &Issue) -> Value {
    let mut value = serde_json::to_value(issue).unwrap_or(Value::Null);
    if let Value::Object(map) = &mut value {
        map.remove("severity");
    }
    value
}

/// `{errors, warnings, notes}` lists.
pub fn issues_json<'a>(issues: impl Iterator<Item = &'a Issue>) -> (Vec<Value>, Vec<Value>, Vec<Value>) {
    let (mut errors, mut warnings, mut notes) = (Vec::new(), Vec::new(), Vec::new());
    for issue in issues {
        let target = match issue.severity {
            Severity::Error => &mut errors,
            Severity::Warning => &mut warnings,
            Severity::Note => &mut notes,
        };
        target.push(issue_json(issue));
    }
    (errors, warnings, notes)
}

/// Prints issues for a person, one per line as `path: message` like OpenClaw: `×` errors,
/// `!` warnings, and `·` notes when `verbose`.
pub fn print_issues<'a>(
    issues: impl Iterator<Item = &'a Issue>,
    verbose: bool,
    to_stderr: bool,
) -> (usize, usize, usize) {
    let (mut errors, mut warnings, mut notes) = (0, 0, 0);
    let mut out = String::new();
    for issue in issues {
        let marker = match issue.severity {
            Severity::Error => {
                errors += 1;
                "×"
            }
            Severity::Warning => {
                warnings += 1;
                "!"
            }
            Severity::Note => {
                notes += 1;
                if !verbose {
                    continue;
                }
                "·"
            }
        };
        out.push_str(&format!("  {marker} {issue}\n"));
    }
    if to_stderr {
        eprint!("{out}");
    } else {
        print!("{out}");
    }
    (errors, warnings, notes)
}

pub fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

/// OpenClaw's machine-readable failure envelope.
pub fn failure_json(message: &str) -> Value {
    json!({"ok": false, "error": {"type": "cli_error", "message": message}})
}

/// A one-line failure (for `--json`, the failure envelope with our `hint`).
pub fn fail(json_mode: bool, message: &str, hint: Option<&str>) {
    if json_mode {
        let mut value = failure_json(message);
        if let Some(hint) = hint {
            value["hint"] = Value::String(hint.to_string());
        }
        print_json(&value);
    } else {
        eprintln!("error: {message}");
        if let Some(hint) = hint {
            eprintln!("  {hint}");
        }
    }
}

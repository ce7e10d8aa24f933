//! JSON5 text to a JSON value, with syntax errors located by line and column.
//!
//! One extension: a bare `process.env.NAME` value (how several OpenClaw guides write configs, in
//! JavaScript syntax) is read as the string `"${NAME}"`, which means exactly the same thing here.
//! The rewrite pads with spaces so every later line and column number stays true to the file.

use serde_json::Value;

use super::issue::{Issue, IssueKind, Location};
use super::path::JsonPath;

const PROCESS_ENV: &str = "process.env.";

/// A `process.env.NAME` reference that was rewritten, for the note shown to the operator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvRewrite {
    pub line: usize,
    pub column: usize,
    pub var: String,
}

fn is_ident_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c == b'$'
}

/// Rewrites `process.env.NAME` (outside strings and comments, upper-case NAME) to `"${NAME}"`.
fn rewrite_process_env(text: &str) -> (String, Vec<EnvRewrite>) {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut rewrites = Vec::new();
    let mut i = 0;
    let mut copied = 0;
    let (mut line, mut line_start) = (1usize, 0usize);
    #[derive(PartialEq)]
    enum State {
        Code,
        Str(u8),
        LineComment,
        BlockComment,
    }
    let mut state = State::Code;
    while i < bytes.len() {
        let c = bytes[i];
        if c == b'\n' {
            line += 1;
            line_start = i + 1;
        }
        match state {
            State::Str(quote) => {
                if c == b'\\' {
                    i += 2;
                    continue;
                }
                if c == quote {
                    state = State::Code;
                }
            }
            State::LineComment => {
                if c == b'\n' {
                    state = State::Code;
                }
            }
            State::BlockComment => {
                if c == b'*' && bytes.get(i + 1) == Some(&b'/') {
                    state = State::Code;
                    i += 2;
                    continue;
                }
            }
            State::Code => {
                if c == b'"' || c == b'\'' {
                    state = State::Str(c);
                } else if c == b'/' && bytes.get(i + 1) == Some(&b'/') {
                    state = State::LineComment;
                } else if c == b'/' && bytes.get(i + 1) == Some(&b'*') {
                    state = State::BlockComment;
                    i += 2;
                    continue;
                } else if text[i..].starts_with(PROCESS_ENV) && (i == 0 || !is_ident_char(bytes[i - 1])) {
                    let name_start = i + PROCESS_ENV.len();
                    let mut end = name_start;
                    while end < bytes.len() && is_ident_char(bytes[end]) {
                        end += 1;
                    }
                    let name = &text[name_start..end];
                    let upper = name
                        .bytes()
                        .next()
                        .is_some_and(|first| first.is_ascii_uppercase() || first == b'_')
                        && name
                            .bytes()
                            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_');
                    if upper {
                        out.push_str(&text[copied..i]);
                        let replacement = format!("\"${{{name}}}\"");
                        let original_len = end - i;
                        out.push_str(&replacement);
                        for _ in replacement.len()..original_len {
                            out.push(' ');
                        }
                        rewrites.push(EnvRewrite {
                            line,
                            column: i - line_start + 1,
                            var: name.to_string(),
                        });
                        copied = end;
                        i = end;
                        continue;
                    }
                }
            }
        }
        i += 1;
    }
    out.push_str(&text[copied..]);
    (out, rewrites)
}

/// A parsed document and the notes about what was read leniently.
#[derive(Debug)]
pub struct Parsed {
    pub value: Value,
    pub notes: Vec<Issue>,
}

/// Parses JSON5 `text` (from `file`, for messages). The root must be an object.
pub fn parse(text: &str, file: &str) -> Result<Parsed, Issue> {
    let (rewritten, rewrites) = rewrite_process_env(text);
    let value: Value = json5::from_str(&rewritten).map_err(|err| {
        let (line, column) = err.position().map(|p| (p.line + 1, p.column + 1)).unwrap_or((1, 1));
        let message = err.to_string();
        let message = message.split(" at line ").next().unwrap_or(&message).to_string();
        let mut issue = Issue::error(
            IssueKind::Syntax,
            JsonPath::root(),
            format!("JSON5 syntax error: {message}"),
        )
        .with_location(Location {
            file: file.to_string(),
            line,
            column,
        });
        if let Some(hint) = syntax_hint(text, line, column, &message) {
            issue = issue.with_hint(hint);
        }
        issue
    })?;
    if !value.is_object() {
        return Err(Issue::error(
            IssueKind::WrongType,
            JsonPath::root(),
            format!(
                "the config must be an object (`{{ gateway: {{ ... }} }}`), found {}",
                value_kind(&value)
            ),
        ));
    }
    let notes = rewrites
        .into_iter()
        .map(|r| {
            Issue::note(
                IssueKind::Syntax,
                JsonPath::root(),
                format!(
                    "{file}:{}:{}: `process.env.{}` read as \"${{{}}}\"; JSON5 has no JavaScript expressions, write \"${{{}}}\"",
                    r.line, r.column, r.var, r.var, r.var
                ),
            )
        })
        .collect();
    Ok(Parsed { value, notes })
}

/// Parses any JSON5 value (a command-line argument, an included fragment).
pub fn parse_value(text: &str) -> Result<Value, String> {
    json5::from_str(text).map_err(|e| e.to_string())
}

/// "a string", "a list", ... for messages about a value's type.
pub fn value_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// Advice for the syntax errors people actually make.
fn syntax_hint(text: &str, line: usize, column: usize, message: &str) -> Option<String> {
    if message.contains("expected comma") {
        // Point at the value before the error, which is where the comma belongs.
        let non_empty: Vec<usize> = text
            .lines()
            .take(line)
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
            .map(|(n, _)| n + 1)
            .collect();
        let previous = non_empty.iter().rev().nth(1).copied().unwrap_or(line);
        return Some(format!("add a comma after the value on line {previous}"));
    }
    let source_line = text.lines().nth(line.saturating_sub(1))?;
    let rest: String = source_line.chars().skip(column.saturating_sub(1)).collect();
    let rest = rest.trim_start();
    if rest.starts_with("process.env") || rest.starts_with("env.") {
        return Some(
            "JSON5 has no JavaScript expressions; write \"${VARIABLE}\" to read an environment variable".into(),
        );
    }
    if rest.starts_with('`') {
        return Some("template literals are JavaScript; use a \"string\" with ${VARIABLE} inside".into());
    }
    if rest.starts_with('=') {
        return Some("keys and values are separated by `:`, not `=`".into());
    }
    if source_line.trim_start().starts_with('#') {
        return Some("`#` comments are not JSON5; use `//` or `/* */`".into());
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json5_features() {
        let parsed = parse("// c\n{ gateway: { port: 18789, bind: 'loopback', }, /* x */ }", "f").unwrap();
        assert_eq!(parsed.value["gateway"]["port"], 18789);
        assert_eq!(parsed.value["gateway"]["bind"], "loopback");
    }

    #[test]
    fn process_env_is_read_as_substitution_and_columns_stay_true() {
        let text = "{\n  gateway: {\n    auth: { token: process.env.OPENCLAW_GATEWAY_TOKEN },\n    port: oops\n  }\n}";
        let err = parse(text, "cfg.json5").unwrap_err();
        let loc = err.location.clone().unwrap();
        assert_eq!((loc.line, loc.column), (4, 11), "{err}");

        let ok = parse("{ auth: { token: process.env.TOKEN_1 } } // process.env.NOT_ME", "f").unwrap();
        assert_eq!(ok.value["auth"]["token"], "${TOKEN_1}");
        assert_eq!(ok.notes.len(), 1);
        assert!(ok.notes[0].message.contains("process.env.TOKEN_1"));
    }

    #[test]
    fn lower_case_process_env_is_a_syntax_error_with_a_hint() {
        let err = parse("{ a: process.env.home }", "f").unwrap_err();
        assert_eq!(err.kind, IssueKind::Syntax);
        assert!(err.hint.as_deref().unwrap_or_default().contains("${VARIABLE}"), "{err}");
    }

    #[test]
    fn strings_and_comments_are_not_rewritten() {
        let parsed = parse(
            "{ a: 'process.env.X', /* process.env.Y */ b: \"x process.env.Z\" }",
            "f",
        )
        .unwrap();
        assert_eq!(parsed.value["a"], "process.env.X");
        assert!(parsed.notes.is_empty());
    }

    #[test]
    fn root_must_be_an_object() {
        let err = parse("[1, 2]", "f").unwrap_err();
        assert!(err.message.contains("must be an object"), "{err}");
    }

    #[test]
    fn missing_comma_hint() {
        let err = parse("{\n  a: 1\n  b: 2\n}", "f").unwrap_err();
        let loc = err.location.clone().unwrap();
        assert_eq!(loc.line, 3);
        assert!(err.hint.is_some(), "{err}");
    }
}

//! Text from a plugin (or any other untrusted source) made safe to print on an operator's
//! terminal: control characters, ANSI escape sequences included, become visible escapes, so a
//! log line cannot move the cursor, rewrite earlier lines, change the window title or hide
//! itself.

use std::borrow::Cow;

fn is_unsafe(c: char) -> bool {
    // C0 controls (tab and newline too: a plugin's line must stay one line), DEL, C1 controls,
    // and the bidirectional overrides that can make text read differently from what it is.
    c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// `text` with every control character written as `\u{XX}`; borrows when there is none.
pub fn neutralize_controls(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_unsafe) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if is_unsafe(c) {
            out.push_str(&format!("\\u{{{:x}}}", c as u32));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_become_visible() {
        assert!(matches!(neutralize_controls("plain text ünïcode"), Cow::Borrowed(_)));
        assert_eq!(
            neutralize_controls("\x1b[31mred\x1b[0m\r\nnext\x07\u{9b}2J\u{202e}"),
            "\\u{1b}[31mred\\u{1b}[0m\\u{d}\\u{a}next\\u{7}\\u{9b}2J\\u{202e}"
        );
    }
}

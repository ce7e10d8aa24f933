//! Splitting a long reply into messages Telegram accepts. Telegram counts a message's length in
//! UTF-16 code units (4096 at most), so the limit is counted the same way; a cut never falls
//! inside a character, so never inside a surrogate pair either.

/// The longest text one `sendMessage` takes, in UTF-16 code units.
pub const MAX_MESSAGE_UNITS: usize = 4096;

/// Where a long text is preferably cut (`channels.telegram.chunkMode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChunkMode {
    /// Fill each message up to the limit, cutting at the last whitespace when there is one.
    Length,
    /// Cut at the last paragraph break (blank line), else the last line break, else whitespace.
    Newline,
}

pub fn utf16_len(text: &str) -> usize {
    text.chars().map(char::len_utf16).sum()
}

/// The byte length of the longest prefix of `text` that fits in `limit` UTF-16 units (at least
/// one character, so a limit smaller than one character still makes progress).
fn fitting_prefix(text: &str, limit: usize) -> usize {
    let mut units = 0;
    for (at, c) in text.char_indices() {
        units += c.len_utf16();
        if units > limit {
            return if at == 0 { c.len_utf8() } else { at };
        }
    }
    text.len()
}

/// The byte position of the last match of `is_break` in `window` that has some non-whitespace
/// text before it (cutting there leaves a message with content).
fn last_break(window: &str, is_break: impl Fn(&str, usize) -> bool) -> Option<usize> {
    window
        .char_indices()
        .rev()
        .map(|(at, _)| at)
        .find(|&at| at > 0 && is_break(window, at) && !window[..at].trim().is_empty())
}

fn paragraph_break(window: &str, at: usize) -> bool {
    window[at..].starts_with('\n') && window[..at].ends_with('\n')
}

fn line_break(window: &str, at: usize) -> bool {
    window[at..].starts_with('\n')
}

fn whitespace(window: &str, at: usize) -> bool {
    window[at..].starts_with(char::is_whitespace)
}

/// Splits `text` into messages of at most `limit` UTF-16 units (capped at
/// [`MAX_MESSAGE_UNITS`]). Whitespace where a cut falls is dropped; a message that would be only
/// whitespace is not produced. A text that fits is returned as it is.
pub fn chunk_text(text: &str, limit: usize, mode: ChunkMode) -> Vec<String> {
    let limit = limit.clamp(1, MAX_MESSAGE_UNITS);
    let mut chunks = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        if utf16_len(rest) <= limit {
            chunks.push(rest);
            break;
        }
        let window = &rest[..fitting_prefix(rest, limit)];
        let soft = match mode {
            ChunkMode::Length => last_break(window, whitespace),
            ChunkMode::Newline => last_break(window, paragraph_break)
                .map(|at| at - 1)
                .or_else(|| last_break(window, line_break))
                .or_else(|| last_break(window, whitespace)),
        };
        match soft {
            Some(at) => {
                chunks.push(rest[..at].trim_end());
                rest = rest[at..].trim_start();
            }
            None => {
                chunks.push(window);
                rest = &rest[window.len()..];
            }
        }
    }
    chunks
        .into_iter()
        .filter(|c| !c.trim().is_empty())
        .map(str::to_string)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde::Deserialize;

    #[derive(Deserialize)]
    struct Case {
        name: String,
        text: String,
        limit: usize,
        mode: String,
        chunks: Vec<String>,
    }

    #[test]
    fn table() {
        let cases: Vec<Case> = serde_json::from_str(include_str!("../data/chunks.json")).unwrap();
        for case in cases {
            let mode = if case.mode == "newline" {
                ChunkMode::Newline
            } else {
                ChunkMode::Length
            };
            assert_eq!(chunk_text(&case.text, case.limit, mode), case.chunks, "{}", case.name);
        }
    }

    #[test]
    fn ten_thousand_characters_are_three_messages() {
        let text: String = (0..10_000).map(|i| char::from(b'a' + (i % 26) as u8)).collect();
        let chunks = chunk_text(&text, 4000, ChunkMode::Length);
        assert_eq!(chunks.iter().map(String::len).collect::<Vec<_>>(), [4000, 4000, 2000]);
        assert_eq!(chunks.concat(), text);
    }

    #[test]
    fn emoji_count_twice_and_are_never_split() {
        // 4096 emoji are 8192 UTF-16 units: two full messages of 2048 emoji each.
        let text = "😀".repeat(4096);
        let chunks = chunk_text(&text, 4096, ChunkMode::Length);
        assert_eq!(chunks.len(), 2);
        assert!(chunks.iter().all(|c| utf16_len(c) == 4096 && c.chars().count() == 2048));
        // An odd limit cannot hold half an emoji.
        let chunks = chunk_text(&"😀".repeat(5), 3, ChunkMode::Length);
        assert_eq!(chunks, ["😀", "😀", "😀", "😀", "😀"]);
        assert_eq!(chunk_text("é😀", 1, ChunkMode::Length), ["é", "😀"]);
    }

    #[test]
    fn limits_above_telegrams_are_capped() {
        let chunks = chunk_text(&"x".repeat(5000), 100_000, ChunkMode::Length);
        assert_eq!(chunks.iter().map(String::len).collect::<Vec<_>>(), [4096, 904]);
    }

    fn squeeze(text: &str) -> String {
        text.chars().filter(|c| !c.is_whitespace()).collect()
    }

    proptest! {
        #[test]
        fn chunks_fit_and_keep_every_visible_character(
            text in "[a-z \\n\u{e9}\u{1F600}\u{4e2d}]{0,300}",
            limit in 2usize..40,
            newline in any::<bool>(),
        ) {
            let mode = if newline { ChunkMode::Newline } else { ChunkMode::Length };
            let chunks = chunk_text(&text, limit, mode);
            for chunk in &chunks {
                prop_assert!(utf16_len(chunk) <= limit, "{chunk:?} is longer than {limit}");
                prop_assert!(!chunk.trim().is_empty());
            }
            prop_assert_eq!(squeeze(&chunks.concat()), squeeze(&text));
            if !text.contains(char::is_whitespace) {
                prop_assert_eq!(chunks.concat(), text);
            }
        }
    }
}

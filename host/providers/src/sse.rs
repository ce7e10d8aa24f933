//! Server-sent events, parsed incrementally from bytes as they arrive.
//!
//! Follows the event-stream rules of the HTML standard: lines end in LF, CRLF or CR; a blank
//! line dispatches the event; `data:` lines are joined with newlines; `event:` names it; lines
//! starting with `:` are comments; one space after the colon is dropped. Network chunks can
//! split a line, a CRLF pair or a UTF-8 character anywhere, so bytes are buffered until a
//! line is complete and only then decoded.

/// One dispatched event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SseEvent {
    /// The `event:` name, if the server gave one.
    pub event: Option<String>,
    pub data: String,
}

/// A line or event larger than this is refused rather than buffered without bound.
pub const MAX_EVENT_BYTES: usize = 16 << 20;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("an event-stream event exceeds {MAX_EVENT_BYTES} bytes")]
pub struct SseTooLarge;

#[derive(Debug, Default)]
pub struct SseParser {
    /// Bytes of the current, unfinished line.
    line: Vec<u8>,
    /// The previous chunk ended in CR, so an LF starting this one belongs to that line end.
    skip_lf: bool,
    started: bool,
    event: Option<String>,
    data: String,
    has_data: bool,
}

impl SseParser {
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds the next bytes of the stream and returns the events they completed.
    pub fn push(&mut self, mut chunk: &[u8]) -> Result<Vec<SseEvent>, SseTooLarge> {
        let mut events = Vec::new();
        if self.skip_lf && !chunk.is_empty() {
            if chunk[0] == b'\n' {
                chunk = &chunk[1..];
            }
            self.skip_lf = false;
        }
        while let Some(end) = chunk.iter().position(|&b| b == b'\n' || b == b'\r') {
            self.line.extend_from_slice(&chunk[..end]);
            let terminator = chunk[end];
            chunk = &chunk[end + 1..];
            if terminator == b'\r' {
                match chunk.first() {
                    Some(b'\n') => chunk = &chunk[1..],
                    Some(_) => {}
                    None => self.skip_lf = true,
                }
            }
            let line = std::mem::take(&mut self.line);
            if let Some(event) = self.take_line(&line)? {
                events.push(event);
            }
        }
        self.line.extend_from_slice(chunk);
        if self.line.len() + self.data.len() > MAX_EVENT_BYTES {
            return Err(SseTooLarge);
        }
        Ok(events)
    }

    fn take_line(&mut self, mut line: &[u8]) -> Result<Option<SseEvent>, SseTooLarge> {
        if !self.started {
            self.started = true;
            line = line.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(line);
        }
        if line.is_empty() {
            let event = self.event.take();
            if !std::mem::take(&mut self.has_data) {
                return Ok(None);
            }
            let mut data = std::mem::take(&mut self.data);
            data.pop(); // the newline after the last data line
            return Ok(Some(SseEvent { event, data }));
        }
        if line[0] == b':' {
            return Ok(None);
        }
        let line = String::from_utf8_lossy(line);
        let (field, value) = match line.split_once(':') {
            Some((field, value)) => (field, value.strip_prefix(' ').unwrap_or(value)),
            None => (line.as_ref(), ""),
        };
        match field {
            "data" => {
                if self.data.len() + value.len() > MAX_EVENT_BYTES {
                    return Err(SseTooLarge);
                }
                self.data.push_str(value);
                self.data.push('\n');
                self.has_data = true;
            }
            "event" => self.event = Some(value.to_string()),
            // `id` and `retry` steer browser reconnection, which a model call never does.
            _ => {}
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(name: Option<&str>, data: &str) -> SseEvent {
        SseEvent {
            event: name.map(str::to_string),
            data: data.to_string(),
        }
    }

    fn parse_all(chunks: &[&[u8]]) -> Vec<SseEvent> {
        let mut parser = SseParser::new();
        chunks.iter().flat_map(|c| parser.push(c).unwrap()).collect()
    }

    /// Exercises every rule at once: BOM, comments, CR/LF/CRLF endings, field without a colon,
    /// no space after the colon, multi-line data, named events, an event with no data, and
    /// multi-byte UTF-8 that a split can cut in half.
    const STREAM: &[u8] = "\u{feff}: a comment\r\nevent: message_start\r\ndata: {\"a\":1}\r\n\r\n\
        data:no-space\n\ndata: line one\ndata: line two\n\n\
        event: ping\n\n\
        data: héllo wörld ✓ 🦀\rdata\r\r\
        : trailing comment\n\
        event: content_block_delta\ndata: {\"text\":\"x\"}\n\n\
        data: [DONE]\n\n"
        .as_bytes();

    fn expected() -> Vec<SseEvent> {
        vec![
            event(Some("message_start"), "{\"a\":1}"),
            event(None, "no-space"),
            event(None, "line one\nline two"),
            event(None, "héllo wörld ✓ 🦀\n"),
            event(Some("content_block_delta"), "{\"text\":\"x\"}"),
            event(None, "[DONE]"),
        ]
    }

    #[test]
    fn whole_stream_parses_by_the_rules() {
        assert_eq!(parse_all(&[STREAM]), expected());
    }

    #[test]
    fn split_at_every_byte_boundary_gives_the_same_events() {
        for cut in 0..=STREAM.len() {
            let (a, b) = STREAM.split_at(cut);
            assert_eq!(parse_all(&[a, b]), expected(), "split at byte {cut}");
        }
    }

    #[test]
    fn one_byte_at_a_time_gives_the_same_events() {
        let chunks: Vec<&[u8]> = STREAM.chunks(1).collect();
        assert_eq!(parse_all(&chunks), expected());
    }

    #[test]
    fn split_at_every_pair_of_boundaries_gives_the_same_events() {
        for first in 0..=STREAM.len() {
            for second in first..=STREAM.len() {
                let chunks = [&STREAM[..first], &STREAM[first..second], &STREAM[second..]];
                assert_eq!(parse_all(&chunks), expected(), "split at {first} and {second}");
            }
        }
    }

    #[test]
    fn an_unterminated_event_is_not_dispatched() {
        assert_eq!(parse_all(&[b"data: partial\n"]), vec![]);
    }

    #[test]
    fn an_endless_line_is_refused() {
        let mut parser = SseParser::new();
        let big = vec![b'x'; MAX_EVENT_BYTES / 2 + 1];
        assert!(parser.push(b"data: ").is_ok());
        assert!(parser.push(&big).is_ok());
        assert_eq!(parser.push(&big), Err(SseTooLarge));
    }
}

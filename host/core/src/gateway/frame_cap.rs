//! Refusing an oversized WebSocket message from its frame header alone, before its payload is
//! read (RFC 6455 framing).
//!
//! Until a client has authenticated, the gateway accepts messages of at most 64 KiB. A server
//! that learns a message's size only after buffering it can be made to hold a megabyte per
//! unauthenticated socket; this watcher reads the bytes as they arrive, keeps only the frame
//! header in progress (at most 14 bytes), and refuses as soon as a header announces a frame, or a
//! fragmented message, larger than the limit.

use std::fmt;

/// A frame header announced more than the limit allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooLarge {
    /// The message size announced so far (this frame plus earlier fragments).
    pub size: u64,
    pub limit: u64,
}

impl fmt::Display for TooLarge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "a {}-byte message before authentication exceeds the {}-byte limit",
            self.size, self.limit
        )
    }
}

#[derive(Debug, Clone, Copy)]
enum State {
    /// Collecting a frame header (2 to 14 bytes).
    Header { bytes: [u8; 14], have: usize },
    /// Skipping a frame's payload.
    Payload { remaining: u64 },
}

/// Watches a client's byte stream frame by frame.
#[derive(Debug, Clone)]
pub struct FrameSizeCap {
    limit: u64,
    state: State,
    /// Size of the data message in progress (its fragments so far).
    message: u64,
    refused: Option<TooLarge>,
}

const HEADER_START: State = State::Header {
    bytes: [0; 14],
    have: 0,
};

/// The header's full length once its first two bytes are known.
fn header_len(first_two: [u8; 2]) -> usize {
    let masked = first_two[1] & 0x80 != 0;
    let extended = match first_two[1] & 0x7F {
        126 => 2,
        127 => 8,
        _ => 0,
    };
    2 + extended + if masked { 4 } else { 0 }
}

fn payload_len(header: &[u8]) -> u64 {
    match header[1] & 0x7F {
        126 => u64::from(u16::from_be_bytes([header[2], header[3]])),
        127 => {
            let mut eight = [0u8; 8];
            eight.copy_from_slice(&header[2..10]);
            u64::from_be_bytes(eight)
        }
        short => u64::from(short),
    }
}

impl FrameSizeCap {
    pub fn new(limit: u64) -> Self {
        Self {
            limit,
            state: HEADER_START,
            message: 0,
            refused: None,
        }
    }

    /// Feeds the next bytes the client sent. Once refused, it stays refused.
    pub fn feed(&mut self, mut input: &[u8]) -> Result<(), TooLarge> {
        if let Some(refused) = self.refused {
            return Err(refused);
        }
        while !input.is_empty() {
            match &mut self.state {
                State::Payload { remaining } => {
                    let skip = (*remaining).min(input.len() as u64);
                    *remaining -= skip;
                    // `skip` is at most `input.len()`, so it fits in usize.
                    input = &input[skip as usize..];
                    if *remaining == 0 {
                        self.state = HEADER_START;
                    }
                }
                State::Header { bytes, have } => {
                    let need = if *have < 2 { 2 } else { header_len([bytes[0], bytes[1]]) };
                    let take = (need - *have).min(input.len());
                    bytes[*have..*have + take].copy_from_slice(&input[..take]);
                    *have += take;
                    input = &input[take..];
                    if *have < 2 || *have < header_len([bytes[0], bytes[1]]) {
                        continue;
                    }
                    let header = *bytes;
                    let len = payload_len(&header);
                    let size = match header[0] & 0x0F {
                        // Text or binary starts a message; a continuation adds to it.
                        0x1 | 0x2 => {
                            self.message = len;
                            len
                        }
                        0x0 => {
                            self.message = self.message.saturating_add(len);
                            self.message
                        }
                        // Control frames stand alone.
                        _ => len,
                    };
                    if size > self.limit {
                        let refused = TooLarge {
                            size,
                            limit: self.limit,
                        };
                        self.refused = Some(refused);
                        return Err(refused);
                    }
                    self.state = if len == 0 {
                        HEADER_START
                    } else {
                        State::Payload { remaining: len }
                    };
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A client frame header (masked, as clients must send them).
    fn header(fin: bool, opcode: u8, len: u64) -> Vec<u8> {
        let mut out = vec![if fin { 0x80 } else { 0 } | opcode];
        if len < 126 {
            out.push(0x80 | len as u8);
        } else if len <= u64::from(u16::MAX) {
            out.push(0x80 | 126);
            out.extend_from_slice(&(len as u16).to_be_bytes());
        } else {
            out.push(0x80 | 127);
            out.extend_from_slice(&len.to_be_bytes());
        }
        out.extend_from_slice(&[1, 2, 3, 4]);
        out
    }

    fn frame(fin: bool, opcode: u8, len: usize) -> Vec<u8> {
        let mut out = header(fin, opcode, len as u64);
        out.extend(std::iter::repeat_n(b'x', len));
        out
    }

    const LIMIT: u64 = 64 * 1024;

    #[test]
    fn frames_within_the_limit_pass() {
        let cases: Vec<Vec<Vec<u8>>> = vec![
            vec![frame(true, 1, 0)],
            vec![frame(true, 1, 125)],
            vec![frame(true, 1, 126)],
            vec![frame(true, 2, 65_535)],
            vec![frame(true, 1, LIMIT as usize)],
            vec![frame(true, 9, 4), frame(true, 1, 10), frame(true, 10, 0)],
            // Fragments adding up to exactly the limit, a ping in between.
            vec![frame(false, 1, 32 * 1024), frame(true, 9, 2), frame(true, 0, 32 * 1024)],
            // Each message is counted on its own.
            vec![frame(true, 1, 60 * 1024), frame(true, 1, 60 * 1024)],
        ];
        for frames in cases {
            let bytes: Vec<u8> = frames.concat();
            // Whole, and one byte at a time (headers split across reads).
            assert_eq!(FrameSizeCap::new(LIMIT).feed(&bytes), Ok(()));
            let mut cap = FrameSizeCap::new(LIMIT);
            for b in &bytes {
                assert_eq!(cap.feed(std::slice::from_ref(b)), Ok(()));
            }
        }
    }

    #[test]
    fn an_oversized_announcement_is_refused_from_the_header_alone() {
        let cases: &[(Vec<u8>, u64)] = &[
            (header(true, 1, LIMIT + 1), LIMIT + 1),
            (header(true, 2, 1_000_000), 1_000_000),
            (header(true, 1, u64::MAX), u64::MAX),
            // A fragmented message that grows past the limit.
            (
                [frame(false, 1, 40 * 1024), header(true, 0, 40 * 1024)].concat(),
                80 * 1024,
            ),
            (
                [frame(false, 2, 1024), frame(true, 9, 0), header(false, 0, LIMIT)].concat(),
                LIMIT + 1024,
            ),
        ];
        for (bytes, size) in cases {
            let mut cap = FrameSizeCap::new(LIMIT);
            let want = Err(TooLarge {
                size: *size,
                limit: LIMIT,
            });
            assert_eq!(cap.feed(bytes), want);
            // No payload needed, and it stays refused.
            assert_eq!(cap.feed(b"more"), want);
            let mut split = FrameSizeCap::new(LIMIT);
            let (a, b) = bytes.split_at(bytes.len() - 3);
            let _ = split.feed(a);
            assert_eq!(split.feed(b), want);
        }
    }
}

//! Shared pieces of the fuzz targets in `fuzz_targets/`: reading the
//! fuzzer's bytes as choices ([`Input`]), and the split check ([`stream`]):
//! a response parser fed a buffer in pieces, the way `session::Connection`
//! feeds it (append what arrived, parse from the front until Incomplete,
//! take each whole response), must give exactly the responses it gives for
//! the whole buffer at once.
//!
//! ```text
//! fuzzer bytes: [limits][splits n][n x u16 offsets][data ...]
//! whole:  parse(data)                      -> [r1, r2, ..., rest]
//! split:  parse(d0) parse(d0+d1) ...       -> [r1, r2, ..., rest]   must be equal
//! ```

pub mod targets;

use mailwire::protocol::{Frame, Limits, ParseError};

/// The fuzzer's bytes, read front to back as choices; past the end every
/// choice reads as zero so short inputs still run.
pub struct Input<'a> {
    data: &'a [u8],
}

impl<'a> Input<'a> {
    /// Wraps the fuzzer's input.
    pub fn new(data: &'a [u8]) -> Self {
        Input { data }
    }

    /// Next byte, 0 past the end.
    pub fn byte(&mut self) -> u8 {
        match self.data.split_first() {
            Some((&b, rest)) => {
                self.data = rest;
                b
            }
            None => 0,
        }
    }

    /// Next two bytes, big-endian.
    pub fn u16(&mut self) -> u16 {
        u16::from_be_bytes([self.byte(), self.byte()])
    }

    /// Next eight bytes, big-endian.
    pub fn i64(&mut self) -> i64 {
        let mut b = [0u8; 8];
        for x in &mut b {
            *x = self.byte();
        }
        i64::from_be_bytes(b)
    }

    /// Up to `max` bytes.
    pub fn bytes(&mut self, max: usize) -> &'a [u8] {
        let (head, rest) = self.data.split_at(max.min(self.data.len()));
        self.data = rest;
        head
    }

    /// True when every byte was read.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// Everything not read yet.
    pub fn rest(self) -> &'a [u8] {
        self.data
    }
}

/// Limits from one byte: half the time the defaults, otherwise tiny ones
/// (lines of 1-64 bytes, 1-8 lines, literals of 0-62 bytes, SMTP replies of
/// 1-8 lines and 1-256 bytes, streamed bodies of 1-512 bytes) so every limit path is reached by short inputs.
pub fn limits(choice: u8) -> Limits {
    if choice & 1 == 0 {
        return Limits::default();
    }
    let c = usize::from(choice);
    Limits {
        max_line: 1 + (c >> 2) % 64,
        max_lines: 1 + (c >> 1) % 8,
        max_literal: (c >> 3) * 2,
        max_reply_lines: 1 + (c >> 4) % 8,
        max_reply_bytes: 1 + (c * 7) % 256,
        max_body: 1 + (c * 13) % 512,
    }
}

/// Up to 7 split offsets within `0..=len`, in order.
pub fn splits(input: &mut Input<'_>) -> Vec<u16> {
    let n = input.byte() % 8;
    (0..n).map(|_| input.u16()).collect()
}

/// What the caller got for one response, with the bytes it took.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome<T> {
    Complete(T, Vec<u8>),
    Malformed(String, Vec<u8>),
    /// The stream cannot be framed any more; the engine closes here.
    Unframeable(ParseError),
}

/// Feeds `data` to `parse` cut at `cuts` (offsets, taken modulo the length
/// and sorted), as the connection does: after each piece, parse from the
/// front until Incomplete. `parse` gets the index of the response it is
/// asked for (POP3 needs it to know which command it answers).
///
/// Returns every outcome and the bytes left unparsed (none after an
/// unframeable stream).
///
/// # Panics
/// When a parser claims a whole response of 0 bytes (the engine would spin)
/// or of more bytes than it was given.
pub fn stream<T>(
    data: &[u8],
    cuts: &[u16],
    mut parse: impl FnMut(usize, &[u8]) -> Result<Frame<T>, ParseError>,
) -> (Vec<Outcome<T>>, Vec<u8>) {
    let mut at: Vec<usize> = cuts
        .iter()
        .map(|&c| usize::from(c) % (data.len() + 1))
        .collect();
    at.push(data.len());
    at.sort_unstable();
    let mut out = Vec::new();
    let mut buf: Vec<u8> = Vec::new();
    let mut from = 0;
    for to in at {
        buf.extend_from_slice(&data[from..to]);
        from = to;
        while !buf.is_empty() {
            match parse(out.len(), &buf) {
                Ok(Frame::Incomplete) => break,
                Ok(Frame::Complete { value, len }) => {
                    assert!(
                        len > 0 && len <= buf.len(),
                        "Complete len {len} of {}",
                        buf.len()
                    );
                    out.push(Outcome::Complete(value, buf.drain(..len).collect()));
                }
                Ok(Frame::Malformed { len, reason }) => {
                    assert!(
                        len > 0 && len <= buf.len(),
                        "Malformed len {len} of {}",
                        buf.len()
                    );
                    out.push(Outcome::Malformed(reason, buf.drain(..len).collect()));
                }
                Err(e) => {
                    // The engine discards the rest and closes: what would
                    // have followed is not part of the outcome.
                    out.push(Outcome::Unframeable(e));
                    return (out, Vec::new());
                }
            }
        }
    }
    (out, buf)
}

/// Runs [`stream`] whole and split, and asserts both give the same.
pub fn assert_split_invariant<T: PartialEq + std::fmt::Debug>(
    data: &[u8],
    cuts: &[u16],
    mut parse: impl FnMut(usize, &[u8]) -> Result<Frame<T>, ParseError>,
) -> Vec<Outcome<T>> {
    let whole = stream(data, &[], &mut parse);
    let split = stream(data, cuts, &mut parse);
    assert_eq!(whole, split, "cut at {cuts:?}");
    whole.0
}

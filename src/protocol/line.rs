//! Line framing shared by SMTP, IMAP and POP3 (RFC 5321 §2.3.8, RFC 9051 §2.2,
//! RFC 1939 §3): a line ends in CRLF; a bare LF is accepted (as Postfix and
//! Dovecot do) but reported so the raw view can flag it.
//!
//! ```text
//! 250-PIPELINING\r\n      len 16, content_len 14, crlf true
//! 250 OK\n                len 7,  content_len 6,  crlf false
//! ```
//!
//! The pure parsers call [`find_line`] from the front of a whole buffer; it
//! never allocates and never consumes. The stateful framers (`smtp::Framer`,
//! `imap::Framer`, `pop3::Framer`) use a [`LineCursor`] instead, which
//! remembers how far it has already searched, so a line arriving in many
//! reads is searched once in total, not once per read.

use super::ParseError;

/// A complete line at the front of a buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Line {
    /// Bytes up to and including the line ending.
    pub len: usize,
    /// Bytes of content, without the line ending.
    pub content_len: usize,
    /// True when the line ended in CRLF, false for a bare LF.
    pub crlf: bool,
}

impl Line {
    /// The line's content (no CR or LF) within the buffer it was found in, RFC 5321 §2.3.8.
    pub fn content<'a>(&self, buf: &'a [u8]) -> &'a [u8] {
        // `get` rather than indexing: a Line applied to the wrong buffer must
        // not panic on peer-controlled lengths.
        buf.get(..self.content_len).unwrap_or_default()
    }
}

/// Finds the first line in `buf`.
///
/// Returns `Ok(None)` when no LF is present yet and `buf` is shorter than
/// `max` bytes.
///
/// # Errors
/// [`ParseError::LineTooLong`] when `max` bytes arrive without a line ending.
pub fn find_line(buf: &[u8], max: usize) -> Result<Option<Line>, ParseError> {
    // Only the first `max` bytes may hold the LF: a line of exactly `max`
    // bytes (LF included) is accepted, one byte more is not.
    let window = &buf[..buf.len().min(max)];
    match window.iter().position(|&b| b == b'\n') {
        Some(lf) => {
            let crlf = lf > 0 && window[lf - 1] == b'\r';
            Ok(Some(Line {
                len: lf + 1,
                content_len: lf - usize::from(crlf),
                crlf,
            }))
        }
        None if buf.len() >= max => Err(ParseError::LineTooLong { limit: max }),
        None => Ok(None),
    }
}

/// A resumable [`find_line`]: the search for the LF of the line that starts
/// at `start` continues where the previous call on a shorter buffer stopped.
///
/// ```text
/// read 1: |250-first line without its end......|          searched 0..37
/// read 2: |250-first line without its end......more\r\n| searched 37..43 only
/// ```
///
/// The buffer may only grow between calls for the same `start` (the read
/// buffer is append-only until a response is taken); [`LineCursor::reset`]
/// starts afresh.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LineCursor {
    /// Bytes after `start` already searched without finding an LF.
    searched: usize,
}

impl LineCursor {
    /// Forgets the progress, for a new line.
    pub fn reset(&mut self) {
        self.searched = 0;
    }

    /// Same result as `find_line(&buf[start..], max)`, searching only bytes
    /// not searched before; adds the number of bytes it examined to `scanned`.
    ///
    /// # Errors
    /// [`ParseError::LineTooLong`] when `max` bytes arrive without a line ending.
    pub fn find(
        &mut self,
        buf: &[u8],
        start: usize,
        max: usize,
        scanned: &mut u64,
    ) -> Result<Option<Line>, ParseError> {
        let rest = buf.get(start..).unwrap_or_default();
        let window = &rest[..rest.len().min(max)];
        // A shorter buffer than last time breaks the contract; search it
        // whole rather than index past its end.
        let from = if self.searched <= window.len() {
            self.searched
        } else {
            0
        };
        match memchr::memchr(b'\n', &window[from..]) {
            Some(i) => {
                *scanned += (i + 1) as u64;
                self.searched = 0;
                let lf = from + i;
                let crlf = lf > 0 && window[lf - 1] == b'\r';
                Ok(Some(Line {
                    len: lf + 1,
                    content_len: lf - usize::from(crlf),
                    crlf,
                }))
            }
            None => {
                *scanned += (window.len() - from) as u64;
                self.searched = window.len();
                if rest.len() >= max {
                    Err(ParseError::LineTooLong { limit: max })
                } else {
                    Ok(None)
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use test_case::test_case;

    #[test_case(b"250 OK\r\n", 8, 6, true; "crlf")]
    #[test_case(b"250 OK\n", 7, 6, false; "bare lf")]
    #[test_case(b"\r\n", 2, 0, true; "empty crlf")]
    #[test_case(b"\n", 1, 0, false; "empty lf")]
    #[test_case(b"a\r\nb\r\n", 3, 1, true; "first of two")]
    #[test_case(b"a\rb\n", 4, 3, false; "inner cr is content")]
    #[test_case(b"a\r\r\n", 4, 2, true; "double cr")]
    fn finds_line(buf: &[u8], len: usize, content_len: usize, crlf: bool) {
        let line = find_line(buf, 1024)
            .expect("within limit")
            .expect("complete");
        assert_eq!(
            line,
            Line {
                len,
                content_len,
                crlf
            }
        );
        assert_eq!(line.content(buf), &buf[..content_len]);
    }

    #[test_case(b""; "empty")]
    #[test_case(b"250 OK"; "no ending")]
    #[test_case(b"250 OK\r"; "cr without lf")]
    fn incomplete(buf: &[u8]) {
        assert_eq!(find_line(buf, 1024), Ok(None));
    }

    #[test]
    fn every_prefix_is_incomplete() {
        let buf = b"220 mail.test.example ESMTP Postfix\r\n";
        for end in 0..buf.len() {
            assert_eq!(find_line(&buf[..end], 1024), Ok(None), "prefix {end}");
        }
        assert_eq!(
            find_line(buf, 1024).expect("ok").map(|l| l.len),
            Some(buf.len())
        );
    }

    #[test]
    fn limit_is_inclusive() {
        // Exactly `max` bytes including CRLF is allowed.
        assert_eq!(
            find_line(b"abc\r\n", 5).expect("ok").map(|l| l.len),
            Some(5)
        );
        // One byte more with the LF beyond the window is too long.
        assert_eq!(
            find_line(b"abcd\r\n", 5),
            Err(ParseError::LineTooLong { limit: 5 })
        );
    }

    #[test]
    fn too_long_without_lf() {
        assert_eq!(
            find_line(&[b'x'; 10], 10),
            Err(ParseError::LineTooLong { limit: 10 })
        );
        assert_eq!(find_line(&[b'x'; 9], 10), Ok(None));
        assert_eq!(find_line(b"", 0), Err(ParseError::LineTooLong { limit: 0 }));
    }

    #[test]
    fn cursor_matches_find_line_at_every_split() {
        let stream = b"220 mx ESMTP\r\n250-a\n250 \rb\r\n\r\nno end";
        for max in [1, 5, 13, 64] {
            let mut start = 0;
            let mut cursor = LineCursor::default();
            let mut scanned = 0;
            for end in 0..=stream.len() {
                let buf = &stream[..end];
                loop {
                    let want = find_line(&buf[start..], max);
                    let got = cursor.find(buf, start, max, &mut scanned);
                    assert_eq!(got, want, "max {max} end {end} start {start}");
                    match got {
                        Ok(Some(line)) => start += line.len,
                        _ => break,
                    }
                }
                if start > end || find_line(&buf[start..], max).is_err() {
                    break;
                }
            }
            // Each byte searched at most once per line it belongs to.
            assert!(scanned <= stream.len() as u64, "scanned {scanned}");
        }
    }

    #[test]
    fn cursor_survives_a_shorter_buffer() {
        let mut cursor = LineCursor::default();
        let mut scanned = 0;
        assert_eq!(cursor.find(b"abcdef", 0, 64, &mut scanned), Ok(None));
        assert_eq!(
            cursor
                .find(b"ab\n", 0, 64, &mut scanned)
                .expect("ok")
                .map(|l| l.len),
            Some(3)
        );
    }

    #[test]
    fn content_of_wrong_buffer_does_not_panic() {
        let line = Line {
            len: 10,
            content_len: 8,
            crlf: true,
        };
        assert_eq!(line.content(b"abc"), b"");
    }
}

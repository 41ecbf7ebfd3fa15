//! Line framing shared by SMTP, IMAP and POP3 (RFC 5321 §2.3.8, RFC 9051 §2.2,
//! RFC 1939 §3): a line ends in CRLF; a bare LF is accepted (as Postfix and
//! Dovecot do) but reported so the raw view can flag it.

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

/// Finds the first line in `buf`.
///
/// Returns `Ok(None)` when no LF is present yet and `buf` is shorter than
/// `max` bytes.
///
/// # Errors
/// [`ParseError::LineTooLong`] when `max` bytes arrive without a line ending.
pub fn find_line(buf: &[u8], max: usize) -> Result<Option<Line>, ParseError> {
    let _ = (buf, max);
    unimplemented!("protocol helper fills this in")
}

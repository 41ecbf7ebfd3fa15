//! Sans-IO protocol layer: bytes in, typed values out, no tokio.
//!
//! `session::Connection` keeps the read buffer and a stateful framer per
//! protocol (`smtp::Framer`, `imap::Framer`, `pop3::Framer`) that it polls
//! after every read until one returns a complete [`Frame`]. Every framer is
//! incremental (check-then-parse) and resumable: it never consumes a partial
//! response, keeps its place between reads so a response of n bytes costs
//! O(n) however it is split, and enforces the limits in [`Limits`]. The pure
//! functions (`smtp::parse_reply`, `imap::parse_response`,
//! `pop3::parse_response`) frame a whole buffer with the same rules.
//!
//! With [`Streaming`] on, a response bigger than its threshold (a POP3
//! `RETR` body, an IMAP `FETCH` literal) is not held whole: the framer
//! answers [`Step::Partial`] for the bytes it has framed, keeping only the
//! lines and a bounded preview of the body, so memory stays bounded
//! whatever the size of the message.
//!
//! ```text
//! read: |* 1 FETCH (BODY[] {104857600}\r\n.........|   Partial { len }  (line kept, preview kept)
//! read: |..........................................|   Partial { len }
//! read: |.......)\r\n|                                 Frame(Complete { value, len })
//! ```

pub mod command;
pub mod imap;
pub mod line;
pub mod pop3;
pub mod sasl;
pub mod smtp;

use std::fmt;

/// Hard limits applied while framing server responses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Longest line accepted, in bytes, including the line ending.
    /// Default 1 MiB.
    pub max_line: usize,
    /// Largest IMAP literal (`{n}`) accepted, in bytes. Default 64 MiB.
    pub max_literal: usize,
    /// Most lines in one multi-line response (POP3 body, IMAP lines joined
    /// by literals). Default 1,000,000.
    pub max_lines: usize,
    /// Most lines in one SMTP reply (`250-...` continuation lines included).
    /// Default 10,000: a real EHLO reply has a few dozen.
    pub max_reply_lines: usize,
    /// Most bytes in one SMTP reply, line endings included. Default 1 MiB
    /// (RFC 5321 §4.5.3.1.5 limits a reply line to 512 octets).
    pub max_reply_bytes: usize,
    /// Largest IMAP literal or POP3 multi-line body accepted when it is
    /// streamed ([`Streaming`]) rather than held, in bytes. Default 1 GiB:
    /// memory stays bounded either way, this only ends an endless body.
    pub max_body: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_line: 1024 * 1024,
            max_literal: 64 * 1024 * 1024,
            max_lines: 1_000_000,
            max_reply_lines: 10_000,
            max_reply_bytes: 1024 * 1024,
            max_body: 1024 * 1024 * 1024,
        }
    }
}

/// When a framer streams a big response instead of holding it whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Streaming {
    /// A response that grows past this many bytes is streamed. Default 1 MiB.
    pub above: usize,
    /// Bytes of body (IMAP literal bytes, POP3 body lines) kept in the
    /// final value of a streamed response, in total. Default 64 KiB.
    pub preview: usize,
}

impl Default for Streaming {
    fn default() -> Self {
        Self {
            above: 1024 * 1024,
            preview: 64 * 1024,
        }
    }
}

/// What a streaming framer reports for the buffer it was shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step<T> {
    /// The same answer as the pure parser. For a streamed response `len`
    /// counts only the bytes still in the buffer, and the value holds the
    /// preview of its body (IMAP `literals`, POP3 `body`) instead of all of it.
    Frame(Frame<T>),
    /// The first `len` bytes of the buffer belong to a streamed response
    /// that is still arriving. The framer has kept what it needs of them;
    /// the caller passes them on (to a recording, a hash) and must remove
    /// them from the front of the buffer before polling again.
    Partial { len: usize },
}

/// The outcome of asking a parser for one response from the front of a buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame<T> {
    /// More bytes are needed; nothing was consumed.
    Incomplete,
    /// A whole response of `len` bytes (line endings included).
    Complete { value: T, len: usize },
    /// `len` bytes form a whole response that does not follow the protocol.
    /// The caller shows it and moves on: a broken peer is an event, not an error.
    Malformed { len: usize, reason: String },
}

impl<T> Frame<T> {
    /// The same frame with its value turned into another type (a
    /// protocol's response into `session::Response`).
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Frame<U> {
        match self {
            Frame::Incomplete => Frame::Incomplete,
            Frame::Complete { value, len } => Frame::Complete {
                value: f(value),
                len,
            },
            Frame::Malformed { len, reason } => Frame::Malformed { len, reason },
        }
    }
}

/// Faults that make the rest of the stream unframeable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// No line ending within `limit` bytes.
    #[error("line exceeds {limit} bytes without a line ending")]
    LineTooLong { limit: usize },
    /// An IMAP literal announced more than the limit.
    #[error("literal of {size} bytes exceeds the limit of {limit} bytes")]
    LiteralTooLarge { size: u64, limit: usize },
    /// A multi-line response has more lines than the limit.
    #[error("response exceeds {limit} lines")]
    TooManyLines { limit: usize },
    /// One SMTP reply has more bytes than the limit.
    #[error("reply exceeds {limit} bytes")]
    ReplyTooLarge { limit: usize },
    /// A streamed POP3 multi-line body has more bytes than the limit.
    #[error("multi-line body exceeds {limit} bytes")]
    BodyTooLarge { limit: usize },
}

/// A deviation inside a response that still frames: shown and reported as
/// a finding, never a reason to drop the response (a control byte in one
/// EHLO line must not lose every capability).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Defect {
    /// Line `line` (0-based) holds C0 controls or DEL outside the grammar
    /// (RFC 5321 §4.2 textstring, RFC 9051 §9 TEXT-CHAR), or C1 controls,
    /// bidi or zero-width format characters (Unicode TR 9, CVE-2021-42574).
    ControlBytes { line: usize },
    /// Line `line` (0-based) is not UTF-8: textstring is ASCII, UTF-8 only
    /// with SMTPUTF8 (RFC 6531 §3.7.4.1).
    InvalidUtf8 { line: usize },
    /// Line `line` ended in a bare LF, not CRLF (RFC 5321 §2.3.8).
    BareLf { line: usize },
}

/// Another service or framing met where a mail protocol's plaintext was
/// expected, recognised from the first bytes the server sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Foreign {
    /// A TLS record (`16 03 xx` handshake, `15 03 xx` alert): the port
    /// speaks implicit TLS (RFC 8446 §5.1, RFC 8314 §3).
    TlsRecord { content_type: u8, version_minor: u8 },
    /// An SSH identification string `SSH-2.0-...` (RFC 4253 §4.2).
    Ssh,
    /// An HTTP response line `HTTP/1.1 400 ...` (RFC 9112 §4).
    Http,
}

/// Recognises another service from the start of what the server sent in
/// the plaintext phase; `None` when it may be the mail protocol. Needs only
/// 2 bytes for TLS, so a binary record without a line ending is caught at
/// once instead of waiting for a line that never comes.
pub fn sniff(buf: &[u8]) -> Option<Foreign> {
    match buf {
        // TLS content types 20-24 (RFC 8446 §5.1) and major version 3.
        [ct @ 0x14..=0x18, 0x03, rest @ ..] => Some(Foreign::TlsRecord {
            content_type: *ct,
            version_minor: rest.first().copied().unwrap_or(0),
        }),
        _ if buf.starts_with(b"SSH-") => Some(Foreign::Ssh),
        _ if buf.starts_with(b"HTTP/") => Some(Foreign::Http),
        _ => None,
    }
}

/// Result of one parse attempt.
pub type Result<T> = std::result::Result<Frame<T>, ParseError>;

/// One capability as advertised: SMTP EHLO keyword (RFC 5321 §4.1.1.1),
/// IMAP capability atom (RFC 9051 §7.2.2) or POP3 CAPA tag (RFC 2449 §5).
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize)]
pub struct Capability {
    /// Keyword in upper case, e.g. `AUTH`, `STARTTLS`, `SASL`, `AUTH=PLAIN`.
    pub name: String,
    /// Parameters as sent, e.g. `["PLAIN", "LOGIN"]` for `AUTH PLAIN LOGIN`.
    pub params: Vec<String>,
}

impl fmt::Display for Capability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)?;
        for p in &self.params {
            write!(f, " {p}")?;
        }
        Ok(())
    }
}

/// Longest excerpt of peer bytes quoted in a `Malformed` reason.
const SHOW_MAX: usize = 40;

/// Quotes peer bytes for a `Malformed` reason: escaped so control bytes and
/// escape sequences cannot reach the terminal, and cut short so a hostile
/// line cannot bloat the transcript twice.
pub(crate) fn show(bytes: &[u8]) -> String {
    let cut = &bytes[..bytes.len().min(SHOW_MAX)];
    let mut out = format!("\"{}\"", cut.escape_ascii());
    if bytes.len() > SHOW_MAX {
        out.push_str("...");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn show_escapes_and_truncates() {
        assert_eq!(show(b"ab\x1b[2J\0"), "\"ab\\x1b[2J\\x00\"");
        let long = [b'x'; 100];
        let shown = show(&long);
        assert!(shown.ends_with("\"..."));
        assert_eq!(shown.len(), SHOW_MAX + 5);
    }

    #[test]
    fn limits_default() {
        let l = Limits::default();
        assert_eq!(l.max_line, 1024 * 1024);
        assert_eq!(l.max_literal, 64 * 1024 * 1024);
        assert_eq!(l.max_lines, 1_000_000);
        assert_eq!(l.max_reply_lines, 10_000);
        assert_eq!(l.max_reply_bytes, 1024 * 1024);
        assert_eq!(l.max_body, 1024 * 1024 * 1024);
        let s = Streaming::default();
        assert_eq!((s.above, s.preview), (1024 * 1024, 64 * 1024));
    }

    #[test]
    fn sniffs_tls_ssh_and_http() {
        assert_eq!(
            sniff(b"\x16\x03\x03\x00\x7a"),
            Some(Foreign::TlsRecord {
                content_type: 0x16,
                version_minor: 3
            })
        );
        assert_eq!(
            sniff(b"\x15\x03"),
            Some(Foreign::TlsRecord {
                content_type: 0x15,
                version_minor: 0
            })
        );
        assert_eq!(sniff(b"SSH-2.0-OpenSSH_9.2\r\n"), Some(Foreign::Ssh));
        assert_eq!(sniff(b"HTTP/1.1 400 Bad Request\r\n"), Some(Foreign::Http));
        assert_eq!(sniff(b"220 mail ESMTP\r\n"), None);
        assert_eq!(sniff(b"\x16"), None);
    }
}

//! Sans-IO protocol layer: bytes in, typed values out, no tokio.
//!
//! `session::Connection` keeps the read buffer and calls the parsers here
//! until one returns a complete [`Frame`]. Every parser is incremental
//! (check-then-parse): it never consumes a partial response and enforces
//! the limits in [`Limits`].

pub mod imap;
pub mod line;
pub mod pop3;
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
    /// Most lines in one multi-line response (SMTP `250-...`, POP3 body).
    /// Default 1,000,000.
    pub max_lines: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_line: 1024 * 1024,
            max_literal: 64 * 1024 * 1024,
            max_lines: 1_000_000,
        }
    }
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
    }
}

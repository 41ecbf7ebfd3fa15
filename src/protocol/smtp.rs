//! SMTP replies (RFC 5321 §4.2), enhanced status codes (RFC 3463, RFC 2034),
//! EHLO keywords (RFC 5321 §4.1.1.1) and client commands.
//!
//! ```text
//! S: 250-mail.example.com Hello
//! S: 250-STARTTLS
//! S: 250 AUTH PLAIN LOGIN
//! ```

use super::{Capability, Limits};

/// A three-digit reply code, RFC 5321 §4.2.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
pub struct ReplyCode(pub u16);

/// An enhanced status code `class.subject.detail`, RFC 3463 §2.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
pub struct EnhancedStatus {
    pub class: u8,
    pub subject: u16,
    pub detail: u16,
}

/// One line of a reply, without code, separator and line ending.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplyLine {
    pub enhanced: Option<EnhancedStatus>,
    /// Text after the code and the enhanced status code (if any).
    pub text: String,
}

/// A whole SMTP reply: one line, or several joined by `code-`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub code: ReplyCode,
    pub lines: Vec<ReplyLine>,
}

/// Parses one reply from the front of `buf`.
pub fn parse_reply(buf: &[u8], limits: &Limits) -> super::Result<Reply> {
    let _ = (buf, limits);
    unimplemented!()
}

/// EHLO keywords from a 250 reply to EHLO/LHLO (first line is the greeting name).
pub fn ehlo_capabilities(reply: &Reply) -> Vec<Capability> {
    let _ = reply;
    unimplemented!()
}

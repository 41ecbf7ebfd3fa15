//! IMAP responses (RFC 9051 §7, RFC 3501 §7): tagged, untagged and
//! continuation requests, with literals read byte-exact.

use super::{Capability, Limits};

/// A command tag, RFC 9051 §2.2.1.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Tag(pub String);

/// Hands out tags `a1`, `a2`, ...
#[derive(Debug, Clone, Default)]
pub struct TagGenerator {
    next: u32,
}

impl TagGenerator {
    /// The next unused tag.
    pub fn next_tag(&mut self) -> Tag {
        self.next += 1;
        Tag(format!("a{}", self.next))
    }
}

/// Status of a tagged or untagged status response, RFC 9051 §7.1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    Ok,
    No,
    Bad,
    PreAuth,
    Bye,
}

/// A response code in brackets, e.g. `[CAPABILITY IMAP4rev1 STARTTLS]`, RFC 9051 §7.1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseCode {
    /// Atom in upper case, e.g. `CAPABILITY`, `ALERT`, `AUTHENTICATIONFAILED`.
    pub name: String,
    /// Everything after the atom up to `]`, may be empty.
    pub args: String,
}

/// One server response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Response {
    Tagged {
        tag: Tag,
        status: Status,
        code: Option<ResponseCode>,
        text: String,
    },
    Untagged {
        /// Set for status responses (`* OK`, `* BYE`, ...), `None` for data.
        status: Option<Status>,
        code: Option<ResponseCode>,
        /// The line after `* ` with literals replaced by `{n}` markers.
        text: String,
        /// Literal contents in order of appearance.
        literals: Vec<Vec<u8>>,
    },
    Continuation {
        text: String,
    },
}

/// Parses one response, literals included, from the front of `buf`.
pub fn parse_response(buf: &[u8], limits: &Limits) -> super::Result<Response> {
    let _ = (buf, limits);
    unimplemented!()
}

/// Capabilities from `* CAPABILITY ...` or a `[CAPABILITY ...]` response code.
pub fn capabilities(response: &Response) -> Option<Vec<Capability>> {
    let _ = response;
    unimplemented!()
}

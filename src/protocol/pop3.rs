//! POP3 responses (RFC 1939 §3), CAPA (RFC 2449), STLS (RFC 2595 §4).

use super::{Capability, Limits};

/// `+OK` or `-ERR`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Ok,
    Err,
}

/// What the reply to a command looks like, RFC 1939 §3.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// One status line.
    Single,
    /// A status line, and after `+OK` a body ending in a lone `.`.
    MultiLine,
}

impl Expect {
    /// For a command line as sent: CAPA, LIST/UIDL without argument, RETR,
    /// TOP are multi-line; everything else single.
    pub fn for_command(line: &str) -> Expect {
        let _ = line;
        unimplemented!()
    }
}

/// One response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Response {
    Status {
        status: Status,
        /// Extended response code (RFC 2449 §8), e.g. `IN-USE`, `AUTH`.
        code: Option<String>,
        text: String,
        /// Dot-unstuffed body lines for a multi-line `+OK`.
        body: Option<Vec<Vec<u8>>>,
    },
    /// A SASL continuation `+ base64` (RFC 5034 §4).
    Continuation { text: String },
}

/// Parses one response from the front of `buf`.
pub fn parse_response(buf: &[u8], expect: Expect, limits: &Limits) -> super::Result<Response> {
    let _ = (buf, expect, limits);
    unimplemented!()
}

/// CAPA tags from the body of a multi-line CAPA reply.
pub fn capa(response: &Response) -> Vec<Capability> {
    let _ = response;
    unimplemented!()
}

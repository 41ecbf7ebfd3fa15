//! IMAP responses (RFC 9051 §7, RFC 3501 §7): tagged, untagged and
//! continuation requests, with literals read byte-exact.
//!
//! ```text
//! S: * OK [CAPABILITY IMAP4rev1 STARTTLS] ready     untagged status
//! S: * 12 FETCH (BODY[HEADER] {342}                 untagged data with a literal:
//! S: <342 bytes, any content, CRLF included>        read by count, not by line,
//! S: )                                              then the line goes on
//! S: a004 OK [READ-WRITE] FETCH completed           tagged status
//! S: + Ready for additional command text            continuation request
//! ```
//!
//! [`parse_response`] first frames the whole response (lines and literals)
//! without copying, then parses it; a literal announced by `{n}` at the end
//! of a line is never searched for line endings, so its bytes cannot
//! desynchronise the framing.

use std::borrow::Cow;
use std::fmt;
use std::ops::Range;

use super::line::find_line;
use super::{Capability, Frame, Limits, ParseError, show};

/// A command tag, RFC 9051 §2.2.1.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Tag(pub String);

impl fmt::Display for Tag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

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
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Ok,
    No,
    Bad,
    PreAuth,
    Bye,
}

impl Status {
    /// The status atom, matched case-insensitively (RFC 9051 §9: atoms are case-insensitive).
    fn from_atom(atom: &[u8]) -> Option<Status> {
        const ATOMS: [(&[u8], Status); 5] = [
            (b"OK", Status::Ok),
            (b"NO", Status::No),
            (b"BAD", Status::Bad),
            (b"PREAUTH", Status::PreAuth),
            (b"BYE", Status::Bye),
        ];
        ATOMS
            .iter()
            .find(|(name, _)| atom.eq_ignore_ascii_case(name))
            .map(|&(_, status)| status)
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Status::Ok => "OK",
            Status::No => "NO",
            Status::Bad => "BAD",
            Status::PreAuth => "PREAUTH",
            Status::Bye => "BYE",
        })
    }
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

impl Response {
    /// The tag of a tagged response, RFC 9051 §2.2.2.
    pub fn tag(&self) -> Option<&Tag> {
        match self {
            Response::Tagged { tag, .. } => Some(tag),
            _ => None,
        }
    }

    /// OK/NO/BAD/PREAUTH/BYE of a status response, RFC 9051 §7.1.
    pub fn status(&self) -> Option<Status> {
        match self {
            Response::Tagged { status, .. } => Some(*status),
            Response::Untagged { status, .. } => *status,
            Response::Continuation { .. } => None,
        }
    }

    /// The bracketed response code of a status response, RFC 9051 §7.1.
    pub fn code(&self) -> Option<&ResponseCode> {
        match self {
            Response::Tagged { code, .. } | Response::Untagged { code, .. } => code.as_ref(),
            Response::Continuation { .. } => None,
        }
    }

    /// The human-readable part (RFC 9051 §9 `text`): after status atom and
    /// response code for status responses, the whole text otherwise.
    pub fn human_text(&self) -> &str {
        match self {
            Response::Tagged { text, .. } | Response::Continuation { text } => text,
            Response::Untagged {
                status: None, text, ..
            } => text,
            Response::Untagged {
                status: Some(_),
                text,
                ..
            } => {
                // `text` was validated when parsed: "STATUS [SP [code] SP] text".
                let rest = text.split_once(' ').map_or("", |(_, rest)| rest);
                match rest.strip_prefix('[').and_then(|r| r.split_once(']')) {
                    Some((_, after)) => after.strip_prefix(' ').unwrap_or(after),
                    None => rest,
                }
            }
        }
    }
}

/// One framed line and the literal announced at its end, if any.
struct Segment {
    line: Range<usize>,
    literal: Option<Range<usize>>,
}

/// Parses one response, literals included, from the front of `buf`.
///
/// ```text
/// response  = continue-req / "*" SP untagged / tag SP status SP resp-text
/// line      = *CHAR8 [ "{" number ["+"] "}" CRLF literal-bytes line ]
/// ```
///
/// # Errors
/// [`ParseError::LineTooLong`], [`ParseError::LiteralTooLarge`] and
/// [`ParseError::TooManyLines`] per `limits`.
pub fn parse_response(buf: &[u8], limits: &Limits) -> super::Result<Response> {
    let (segments, len) = match frame(buf, limits)? {
        Some(framed) => framed,
        None => return Ok(Frame::Incomplete),
    };
    Ok(match parse_framed(buf, &segments) {
        Ok(value) => Frame::Complete { value, len },
        Err(reason) => Frame::Malformed { len, reason },
    })
}

/// Check step: finds where the response ends without copying anything.
/// `None` means more bytes are needed.
fn frame(buf: &[u8], limits: &Limits) -> Result<Option<(Vec<Segment>, usize)>, ParseError> {
    let mut segments = Vec::new();
    let mut pos = 0;
    loop {
        // Checked before waiting for more: the previous line announced a
        // literal, so the response needs at least one more line.
        if segments.len() >= limits.max_lines {
            return Err(ParseError::TooManyLines {
                limit: limits.max_lines,
            });
        }
        let Some(line) = find_line(&buf[pos..], limits.max_line)? else {
            return Ok(None);
        };
        let content = pos..pos + line.content_len;
        pos += line.len;
        // A continuation request carries no literal (RFC 9051 §7.5), and
        // base64 challenges never end in "}".
        let is_continuation = segments.is_empty() && buf.first() == Some(&b'+');
        let announced = if is_continuation {
            None
        } else {
            literal_size(&buf[content.clone()])
        };
        let Some(size) = announced else {
            segments.push(Segment {
                line: content,
                literal: None,
            });
            return Ok(Some((segments, pos)));
        };
        // Refuse before waiting for the bytes: a hostile `{99999999999999}`
        // must not make the connection buffer without bound.
        let too_large = ParseError::LiteralTooLarge {
            size,
            limit: limits.max_literal,
        };
        let size = match usize::try_from(size) {
            Ok(size) if size <= limits.max_literal => size,
            _ => return Err(too_large),
        };
        let Some(literal_end) = pos.checked_add(size) else {
            return Err(too_large);
        };
        if buf.len() < literal_end {
            return Ok(None);
        }
        segments.push(Segment {
            line: content,
            literal: Some(pos..literal_end),
        });
        pos = literal_end;
    }
}

/// The size announced by a literal marker `{n}` or `{n+}` (RFC 7888 §3) at
/// the end of a line, `u64::MAX` if it does not fit.
fn literal_size(content: &[u8]) -> Option<u64> {
    let inner = content.strip_suffix(b"}")?;
    let inner = inner.strip_suffix(b"+").unwrap_or(inner);
    let open = inner.iter().rposition(|&b| !b.is_ascii_digit())?;
    if inner[open] != b'{' {
        return None;
    }
    let digits = &inner[open + 1..];
    if digits.is_empty() {
        return None;
    }
    Some(
        digits
            .iter()
            .try_fold(0u64, |n, d| {
                n.checked_mul(10)?.checked_add(u64::from(d - b'0'))
            })
            .unwrap_or(u64::MAX),
    )
}

/// Parse step over a framed response: the reason on failure names the bad value.
fn parse_framed(buf: &[u8], segments: &[Segment]) -> Result<Response, String> {
    // NUL and CR are outside CHAR/TEXT-CHAR (RFC 9051 §4.3.1, §9) in any
    // line; literals may carry anything and are not checked.
    for segment in segments {
        let line = &buf[segment.line.clone()];
        if let Some(&bad) = line.iter().find(|&&b| b == 0 || b == b'\r') {
            return Err(format!("line {} contains {}", show(line), show(&[bad])));
        }
    }
    // The response reads as one line with the literal bytes left out.
    let joined: Cow<'_, [u8]> = match segments {
        [only] => buf[only.line.clone()].into(),
        _ => segments
            .iter()
            .flat_map(|s| &buf[s.line.clone()])
            .copied()
            .collect::<Vec<u8>>()
            .into(),
    };
    let line = joined.as_ref();

    if let Some(rest) = line.strip_prefix(b"+") {
        // RFC 9051 §7.5 continue-req = "+" SP (resp-text / base64); a bare
        // "+" is common enough (and harmless) to accept.
        let text = match rest.first() {
            None => &rest[..0],
            Some(b' ') => &rest[1..],
            Some(_) => {
                return Err(format!(
                    "continuation request {} has no space after +",
                    show(line)
                ));
            }
        };
        return Ok(Response::Continuation { text: lossy(text) });
    }

    if let Some(rest) = line.strip_prefix(b"*") {
        let rest = match rest.strip_prefix(b" ") {
            Some(rest) if !rest.is_empty() => rest,
            Some(_) => return Err(format!("untagged response {} is empty", show(line))),
            None if rest.is_empty() => {
                return Err(format!("untagged response {} is empty", show(line)));
            }
            None => {
                return Err(format!(
                    "untagged response {} has no space after *",
                    show(line)
                ));
            }
        };
        let (word, after) = split_word(rest);
        let (status, code) = match Status::from_atom(word) {
            Some(status) => (Some(status), resp_text(after, line)?.0),
            None => {
                // Data: `* 2 EXISTS`, `* CAPABILITY ...`; starts with a
                // number or an atom (RFC 9051 §7.2-7.5).
                if !word.iter().all(|&b| is_atom_char(b)) {
                    return Err(format!(
                        "untagged response {} starts with {}, not an atom or number",
                        show(line),
                        show(word)
                    ));
                }
                (None, None)
            }
        };
        return Ok(Response::Untagged {
            status,
            code,
            text: lossy(rest),
            literals: segments
                .iter()
                .filter_map(|s| s.literal.clone())
                .map(|range| buf[range].to_vec())
                .collect(),
        });
    }

    let (tag, after) = split_word(line);
    // RFC 9051 §9: tag = 1*<any ASTRING-CHAR except "+">; "]" is refused
    // too, no client generates it and it confuses response-code parsing.
    if tag.is_empty() || !tag.iter().all(|&b| is_atom_char(b) && b != b'+') {
        return Err(format!("tag {} is not a valid tag", show(tag)));
    }
    let Some(after) = after else {
        return Err(format!("tagged response {} has no status", show(line)));
    };
    let (word, after) = split_word(after);
    let status = match Status::from_atom(word) {
        Some(status @ (Status::Ok | Status::No | Status::Bad)) => status,
        Some(status) => {
            return Err(format!("{status} in {} is only sent untagged", show(line)));
        }
        None => {
            return Err(format!(
                "status {} in {} is not OK, NO or BAD",
                show(word),
                show(line)
            ));
        }
    };
    let (code, text) = resp_text(after, line)?;
    Ok(Response::Tagged {
        tag: Tag(lossy(tag)),
        status,
        code,
        text: lossy(text),
    })
}

/// Splits at the first SP: the word, and what follows the SP (if there was one).
fn split_word(bytes: &[u8]) -> (&[u8], Option<&[u8]>) {
    match bytes.iter().position(|&b| b == b' ') {
        Some(sp) => (&bytes[..sp], Some(&bytes[sp + 1..])),
        None => (bytes, None),
    }
}

/// `resp-text = ["[" resp-text-code "]" SP] [text]`, RFC 9051 §9; `after` is
/// what follows the status atom's SP. Returns the code and the text after it.
fn resp_text<'a>(
    after: Option<&'a [u8]>,
    line: &[u8],
) -> Result<(Option<ResponseCode>, &'a [u8]), String> {
    let Some(after) = after else {
        // RFC 3501 requires text; servers that omit it are tolerated.
        return Ok((None, &[]));
    };
    let Some(code_and_rest) = after.strip_prefix(b"[") else {
        return Ok((None, after));
    };
    let Some(close) = code_and_rest.iter().position(|&b| b == b']') else {
        return Err(format!("response code in {} has no closing ]", show(line)));
    };
    let inner = &code_and_rest[..close];
    // Parenthesised lists are allowed (`[BADCHARSET (UTF-8)]`,
    // `[PERMANENTFLAGS (\Seen \*)]`), brackets are not.
    if inner.contains(&b'[') {
        return Err(format!("response code in {} is nested", show(line)));
    }
    let (name, args) = split_word(inner);
    if name.is_empty() || !name.iter().all(|&b| is_atom_char(b)) {
        return Err(format!(
            "response code name {} in {} is not an atom",
            show(name),
            show(line)
        ));
    }
    let text = &code_and_rest[close + 1..];
    let text = text.strip_prefix(b" ").unwrap_or(text);
    Ok((
        Some(ResponseCode {
            name: lossy(name).to_ascii_uppercase(),
            args: args.map(lossy).unwrap_or_default(),
        }),
        text,
    ))
}

/// ATOM-CHAR, RFC 9051 §9: printable ASCII except `( ) { SP % * " \ ]`.
fn is_atom_char(b: u8) -> bool {
    (0x21..=0x7e).contains(&b)
        && !matches!(b, b'(' | b')' | b'{' | b'%' | b'*' | b'"' | b'\\' | b']')
}

/// UTF-8 text as sent (RFC 9051 allows UTF-8 in text); invalid bytes become U+FFFD.
fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Capabilities from `* CAPABILITY ...` or a `[CAPABILITY ...]` response code.
///
/// ```text
/// * CAPABILITY IMAP4rev1 STARTTLS AUTH=PLAIN         RFC 9051 §7.2.2
/// * OK [CAPABILITY IMAP4rev1 LITERAL+] ready         RFC 9051 §7.1
/// ```
///
/// Each atom is one capability, upper-cased, without params: `AUTH=PLAIN`
/// stays whole, as IMAP defines it as one atom.
pub fn capabilities(response: &Response) -> Option<Vec<Capability>> {
    let atoms = match response {
        Response::Untagged {
            status: None, text, ..
        } => {
            let (word, rest) = text.split_once(' ').unwrap_or((text, ""));
            if !word.eq_ignore_ascii_case("CAPABILITY") {
                return None;
            }
            rest
        }
        _ => {
            let code = response.code().filter(|c| c.name == "CAPABILITY")?;
            &code.args
        }
    };
    Some(
        atoms
            .split_ascii_whitespace()
            .map(|atom| Capability {
                name: atom.to_ascii_uppercase(),
                params: Vec::new(),
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use test_case::test_case;

    fn limits() -> Limits {
        Limits::default()
    }

    fn complete(buf: &[u8]) -> (Response, usize) {
        match parse_response(buf, &limits()) {
            Ok(Frame::Complete { value, len }) => (value, len),
            other => panic!(
                "expected complete for {:?}, got {other:?}",
                buf.escape_ascii().to_string()
            ),
        }
    }

    fn code(name: &str, args: &str) -> Option<ResponseCode> {
        Some(ResponseCode {
            name: name.to_owned(),
            args: args.to_owned(),
        })
    }

    fn tagged(tag: &str, status: Status, code: Option<ResponseCode>, text: &str) -> Response {
        Response::Tagged {
            tag: Tag(tag.to_owned()),
            status,
            code,
            text: text.to_owned(),
        }
    }

    fn untagged(
        status: Option<Status>,
        code: Option<ResponseCode>,
        text: &str,
        literals: &[&[u8]],
    ) -> Response {
        Response::Untagged {
            status,
            code,
            text: text.to_owned(),
            literals: literals.iter().map(|l| l.to_vec()).collect(),
        }
    }

    fn names(caps: Option<Vec<Capability>>) -> Option<Vec<String>> {
        caps.map(|caps| {
            caps.into_iter()
                .map(|c| {
                    assert!(c.params.is_empty());
                    c.name
                })
                .collect()
        })
    }

    const DOVECOT_GREETING: &[u8] = b"* OK [CAPABILITY IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE LITERAL+ STARTTLS AUTH=PLAIN AUTH=LOGIN] Dovecot (Debian) ready.\r\n";

    /// RFC 9051 §8, `a004 fetch 12 body[header]`, with the literal length computed.
    fn rfc9051_fetch_header() -> (Vec<u8>, Vec<u8>) {
        let header = b"Date: Wed, 17 Jul 1996 02:23:25 -0700 (PDT)\r\n\
            From: Terry Gray <gray@cac.washington.edu>\r\n\
            Subject: IMAP4rev2 WG mtg summary and minutes\r\n\
            To: imap@cac.washington.edu\r\n\
            cc: minutes@CNRI.Reston.VA.US, John Klensin <KLENSIN@MIT.EDU>\r\n\
            Message-Id: <B27397-0100000@cac.washington.edu>\r\n\
            MIME-Version: 1.0\r\n\
            Content-Type: TEXT/PLAIN; CHARSET=US-ASCII\r\n\
            \r\n"
            .to_vec();
        let mut buf = format!("* 12 FETCH (BODY[HEADER] {{{}}}\r\n", header.len()).into_bytes();
        buf.extend_from_slice(&header);
        buf.extend_from_slice(b")\r\n");
        (buf, header)
    }

    #[test]
    fn dovecot_greeting() {
        let (response, len) = complete(DOVECOT_GREETING);
        assert_eq!(len, DOVECOT_GREETING.len());
        let args = "IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE LITERAL+ STARTTLS AUTH=PLAIN AUTH=LOGIN";
        assert_eq!(
            response,
            untagged(
                Some(Status::Ok),
                code("CAPABILITY", args),
                &format!("OK [CAPABILITY {args}] Dovecot (Debian) ready."),
                &[]
            )
        );
        assert_eq!(response.human_text(), "Dovecot (Debian) ready.");
        assert_eq!(
            names(capabilities(&response)).expect("capability code"),
            [
                "IMAP4REV1",
                "SASL-IR",
                "LOGIN-REFERRALS",
                "ID",
                "ENABLE",
                "IDLE",
                "LITERAL+",
                "STARTTLS",
                "AUTH=PLAIN",
                "AUTH=LOGIN"
            ]
        );
    }

    // Tagged responses: RFC 9051 §8, RFC 3501 §7.1 and Dovecot.
    #[test_case(b"a001 OK LOGIN completed\r\n", "a001", Status::Ok, None, "LOGIN completed"; "rfc9051 login")]
    #[test_case(b"a002 OK [READ-WRITE] SELECT completed\r\n", "a002", Status::Ok, code("READ-WRITE", ""), "SELECT completed"; "rfc9051 select")]
    #[test_case(b"a005 OK +FLAGS completed\r\n", "a005", Status::Ok, None, "+FLAGS completed"; "rfc9051 store")]
    #[test_case(b"A223 NO COPY failed: disk is full\r\n", "A223", Status::No, None, "COPY failed: disk is full"; "rfc3501 no")]
    #[test_case(b"A443 BAD no such command as \"FOO\"\r\n", "A443", Status::Bad, None, "no such command as \"FOO\""; "rfc3501 bad")]
    #[test_case(b"a1 NO [AUTHENTICATIONFAILED] Authentication failed.\r\n", "a1", Status::No, code("AUTHENTICATIONFAILED", ""), "Authentication failed."; "dovecot auth failed")]
    #[test_case(b"a2 OK [CAPABILITY IMAP4rev1 IDLE] Logged in\r\n", "a2", Status::Ok, code("CAPABILITY", "IMAP4rev1 IDLE"), "Logged in"; "dovecot logged in")]
    #[test_case(b"a3 NO [BADCHARSET (UTF-8)] Unsupported charset\r\n", "a3", Status::No, code("BADCHARSET", "(UTF-8)"), "Unsupported charset"; "badcharset parens")]
    #[test_case(b"a4 ok [uidnext 4392] Predicted next UID\r\n", "a4", Status::Ok, code("UIDNEXT", "4392"), "Predicted next UID"; "lower case status and code")]
    #[test_case(b"a5 OK\r\n", "a5", Status::Ok, None, ""; "no text")]
    #[test_case(b"a6 OK [ALERT]\r\n", "a6", Status::Ok, code("ALERT", ""), ""; "code without text")]
    #[test_case(b"a7 OK [ALERT]text\r\n", "a7", Status::Ok, code("ALERT", ""), "text"; "code glued to text")]
    #[test_case(b"a8 OK done\n", "a8", Status::Ok, None, "done"; "bare lf")]
    #[test_case(b"a9 OK \x1b[1mbold\r\n", "a9", Status::Ok, None, "\x1b[1mbold"; "escape kept as text")]
    #[test_case(b"A.1-x_y OK dotted tag\r\n", "A.1-x_y", Status::Ok, None, "dotted tag"; "tag punctuation")]
    fn tagged_responses(
        buf: &[u8],
        tag: &str,
        status: Status,
        code: Option<ResponseCode>,
        text: &str,
    ) {
        let (response, len) = complete(buf);
        assert_eq!(len, buf.len());
        assert_eq!(response, tagged(tag, status, code, text));
        assert_eq!(response.human_text(), text);
        assert_eq!(response.tag(), Some(&Tag(tag.to_owned())));
        assert_eq!(response.status(), Some(status));
    }

    // Untagged responses: RFC 9051 §8 session, RFC 3501 §7 examples.
    #[test_case(b"* OK IMAP4rev2 Service Ready\r\n", Some(Status::Ok), None, "OK IMAP4rev2 Service Ready", "IMAP4rev2 Service Ready"; "rfc9051 greeting")]
    #[test_case(b"* 18 EXISTS\r\n", None, None, "18 EXISTS", "18 EXISTS"; "exists")]
    #[test_case(b"* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)\r\n", None, None, "FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)", "FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)"; "flags")]
    #[test_case(b"* OK [UIDVALIDITY 3857529045] UIDs valid\r\n", Some(Status::Ok), code("UIDVALIDITY", "3857529045"), "OK [UIDVALIDITY 3857529045] UIDs valid", "UIDs valid"; "uidvalidity")]
    #[test_case(b"* OK [PERMANENTFLAGS (\\Deleted \\Seen \\*)] Limited\r\n", Some(Status::Ok), code("PERMANENTFLAGS", "(\\Deleted \\Seen \\*)"), "OK [PERMANENTFLAGS (\\Deleted \\Seen \\*)] Limited", "Limited"; "permanentflags")]
    #[test_case(b"* LIST () \"/\" INBOX\r\n", None, None, "LIST () \"/\" INBOX", "LIST () \"/\" INBOX"; "list")]
    #[test_case(b"* 12 FETCH (FLAGS (\\Seen \\Deleted))\r\n", None, None, "12 FETCH (FLAGS (\\Seen \\Deleted))", "12 FETCH (FLAGS (\\Seen \\Deleted))"; "fetch flags")]
    #[test_case(b"* BYE IMAP4rev2 server terminating connection\r\n", Some(Status::Bye), None, "BYE IMAP4rev2 server terminating connection", "IMAP4rev2 server terminating connection"; "bye")]
    #[test_case(b"* OK [ALERT] System shutdown in 10 minutes\r\n", Some(Status::Ok), code("ALERT", ""), "OK [ALERT] System shutdown in 10 minutes", "System shutdown in 10 minutes"; "rfc3501 alert")]
    #[test_case(b"* NO Disk is 98% full, please delete unnecessary data\r\n", Some(Status::No), None, "NO Disk is 98% full, please delete unnecessary data", "Disk is 98% full, please delete unnecessary data"; "rfc3501 no")]
    #[test_case(b"* BAD Command line too long\r\n", Some(Status::Bad), None, "BAD Command line too long", "Command line too long"; "rfc3501 bad")]
    #[test_case(b"* PREAUTH IMAP4rev1 server logged in as Smith\r\n", Some(Status::PreAuth), None, "PREAUTH IMAP4rev1 server logged in as Smith", "IMAP4rev1 server logged in as Smith"; "rfc3501 preauth")]
    #[test_case(b"* BYE\r\n", Some(Status::Bye), None, "BYE", ""; "bare bye")]
    #[test_case(b"* SEARCH 2 3 6\r\n", None, None, "SEARCH 2 3 6", "SEARCH 2 3 6"; "search")]
    #[test_case(b"* SEARCH\r\n", None, None, "SEARCH", "SEARCH"; "empty search")]
    #[test_case(b"* ENABLED UTF8=ACCEPT\r\n", None, None, "ENABLED UTF8=ACCEPT", "ENABLED UTF8=ACCEPT"; "enabled")]
    #[test_case(b"* ok lower case\r\n", Some(Status::Ok), None, "ok lower case", "lower case"; "lower case status")]
    #[test_case(b"* OKAY not a status\r\n", None, None, "OKAY not a status", "OKAY not a status"; "status prefix is data")]
    fn untagged_responses(
        buf: &[u8],
        status: Option<Status>,
        code: Option<ResponseCode>,
        text: &str,
        human: &str,
    ) {
        let (response, len) = complete(buf);
        assert_eq!(len, buf.len());
        assert_eq!(response, untagged(status, code, text, &[]));
        assert_eq!(response.human_text(), human);
        assert_eq!(response.tag(), None);
    }

    #[test_case(b"+ Ready for additional command text\r\n", "Ready for additional command text"; "rfc3501")]
    #[test_case(b"+ idling\r\n", "idling"; "idle")]
    #[test_case(b"+ \r\n", ""; "empty")]
    #[test_case(b"+\r\n", ""; "bare")]
    #[test_case(b"+ YGgGCSqGSIb3EgECAgIBAAD/////6jcyG4GE3KkTzmeTxcHPg3IBU2IcVohsIOlDfa==\r\n", "YGgGCSqGSIb3EgECAgIBAAD/////6jcyG4GE3KkTzmeTxcHPg3IBU2IcVohsIOlDfa=="; "base64 challenge")]
    #[test_case(b"+ text ending {5}\r\n", "text ending {5}"; "no literal after continuation")]
    fn continuation(buf: &[u8], text: &str) {
        let (response, len) = complete(buf);
        assert_eq!(len, buf.len());
        assert_eq!(
            response,
            Response::Continuation {
                text: text.to_owned()
            }
        );
        assert_eq!(response.status(), None);
        assert_eq!(capabilities(&response), None);
    }

    #[test]
    fn rfc9051_fetch_with_literal() {
        let (buf, header) = rfc9051_fetch_header();
        let (response, len) = complete(&buf);
        assert_eq!(len, buf.len());
        assert_eq!(
            response,
            untagged(
                None,
                None,
                &format!("12 FETCH (BODY[HEADER] {{{}}})", header.len()),
                &[&header]
            )
        );
    }

    #[test]
    fn literal_is_byte_exact() {
        // CRLF, a fake literal marker, NUL, escape and non-UTF-8 bytes inside
        // the literal must not be framed as lines.
        let literal: &[u8] = b"a {3}\r\nb\0\x1b[2J\xff\r\n* 2 EXISTS\r\n";
        let mut buf = format!("* 1 FETCH (BODY[] {{{}}}\r\n", literal.len()).into_bytes();
        buf.extend_from_slice(literal);
        buf.extend_from_slice(b" UID 7)\r\n");
        let (response, len) = complete(&buf);
        assert_eq!(len, buf.len());
        assert_eq!(
            response,
            untagged(
                None,
                None,
                &format!("1 FETCH (BODY[] {{{}}} UID 7)", literal.len()),
                &[literal]
            )
        );
    }

    #[test]
    fn several_literals_and_literal_plus() {
        let buf = b"* 1 FETCH (BODY[1] {3}\r\nabc BODY[2] {2+}\r\nxy BODY[3] {0}\r\n)\r\n";
        let (response, len) = complete(buf);
        assert_eq!(len, buf.len());
        assert_eq!(
            response,
            untagged(
                None,
                None,
                "1 FETCH (BODY[1] {3} BODY[2] {2+} BODY[3] {0})",
                &[b"abc", b"xy", b""]
            )
        );
    }

    #[test]
    fn literal_at_very_end_of_line() {
        // The literal ends the response's data; the line after it is empty.
        let buf = b"* 1 FETCH (BODY[] {2}\r\nhi\r\n";
        let (response, len) = complete(buf);
        assert_eq!(len, buf.len());
        assert_eq!(
            response,
            untagged(None, None, "1 FETCH (BODY[] {2}", &[b"hi"])
        );
    }

    #[test_case(b"* 1 X {}\r\n"; "no digits")]
    #[test_case(b"* 1 X {12a}\r\n"; "letters")]
    #[test_case(b"* 1 X 12}\r\n"; "no open brace")]
    #[test_case(b"* 1 X {12} \r\n"; "space after marker")]
    #[test_case(b"* 1 X {+}\r\n"; "plus only")]
    #[test_case(b"* 1 X {1++}\r\n"; "double plus")]
    fn not_a_literal_marker(buf: &[u8]) {
        let (response, len) = complete(buf);
        assert_eq!(len, buf.len());
        assert!(matches!(response, Response::Untagged { ref literals, .. } if literals.is_empty()));
    }

    #[test]
    fn untagged_capability_data() {
        let (response, _) = complete(b"* CAPABILITY IMAP4rev1 STARTTLS AUTH=GSSAPI XPIG-LATIN\r\n");
        assert_eq!(response.status(), None);
        assert_eq!(
            names(capabilities(&response)).expect("capability data"),
            ["IMAP4REV1", "STARTTLS", "AUTH=GSSAPI", "XPIG-LATIN"]
        );
        let (response, _) = complete(b"* capability imap4rev2\r\n");
        assert_eq!(
            names(capabilities(&response)).expect("lower case"),
            ["IMAP4REV2"]
        );
        let (response, _) = complete(b"* CAPABILITY\r\n");
        assert_eq!(names(capabilities(&response)), Some(vec![]));
    }

    #[test_case(b"* 2 EXISTS\r\n"; "data")]
    #[test_case(b"* OK [ALERT] hi\r\n"; "other code")]
    #[test_case(b"* OK Dovecot ready.\r\n"; "greeting without code")]
    #[test_case(b"a1 OK done\r\n"; "tagged without code")]
    #[test_case(b"* CAPABILITYX IMAP4rev1\r\n"; "prefix of capability")]
    fn no_capabilities(buf: &[u8]) {
        assert_eq!(capabilities(&complete(buf).0), None);
    }

    #[test]
    fn every_prefix_is_incomplete() {
        let (fetch, _) = rfc9051_fetch_header();
        let cases: Vec<Vec<u8>> = vec![
            DOVECOT_GREETING.to_vec(),
            fetch,
            b"a1 NO [AUTHENTICATIONFAILED] Authentication failed.\r\n".to_vec(),
            b"* 1 FETCH (BODY[1] {3}\r\nabc BODY[2] {2+}\r\nxy BODY[3] {0}\r\n)\r\n".to_vec(),
            b"+ \r\n".to_vec(),
        ];
        for buf in cases {
            for end in 0..buf.len() {
                assert_eq!(
                    parse_response(&buf[..end], &limits()),
                    Ok(Frame::Incomplete),
                    "prefix {end} of {:?}",
                    buf.escape_ascii().to_string()
                );
            }
            assert_eq!(complete(&buf).1, buf.len());
        }
    }

    #[test]
    fn two_responses_back_to_back() {
        let (first, _) = rfc9051_fetch_header();
        let mut buf = first.clone();
        buf.extend_from_slice(b"a004 OK FETCH completed\r\n");
        let (_, len) = complete(&buf);
        assert_eq!(len, first.len());
        let (second, len2) = complete(&buf[len..]);
        assert_eq!(len + len2, buf.len());
        assert_eq!(second, tagged("a004", Status::Ok, None, "FETCH completed"));
        // A literal whose size lands exactly on the end of the first
        // response must not swallow the next one.
        let buf = b"* 1 FETCH (BODY[] {1}\r\nx)\r\n* 2 EXISTS\r\n";
        assert_eq!(complete(buf).1, 27);
    }

    // Malformed: the frame covers the whole response, the reason names the fault.
    #[test_case(b"*\r\n", "empty"; "bare star")]
    #[test_case(b"* \r\n", "empty"; "star space")]
    #[test_case(b"*OK\r\n", "no space after *"; "star glued")]
    #[test_case(b"* (foo)\r\n", "not an atom"; "untagged paren")]
    #[test_case(b"* \"q\" x\r\n", "not an atom"; "untagged quoted")]
    #[test_case(b"+foo\r\n", "no space after +"; "plus glued")]
    #[test_case(b"a1\r\n", "no status"; "tag only")]
    #[test_case(b"a1 FOO bar\r\n", "\"FOO\""; "unknown status")]
    #[test_case(b"a1 BYE bye\r\n", "only sent untagged"; "tagged bye")]
    #[test_case(b"a1 PREAUTH x\r\n", "only sent untagged"; "tagged preauth")]
    #[test_case(b"a1  OK x\r\n", "\"\""; "double space")]
    #[test_case(b" a1 OK x\r\n", "tag \"\""; "leading space")]
    #[test_case(b"a{1 OK x\r\n", "tag \"a{1\""; "brace in tag")]
    #[test_case(b"a(1 OK x\r\n", "tag"; "paren in tag")]
    #[test_case(b"a%1 OK x\r\n", "tag"; "percent in tag")]
    #[test_case(b"a\"1 OK x\r\n", "tag"; "quote in tag")]
    #[test_case(b"a\\1 OK x\r\n", "tag"; "backslash in tag")]
    #[test_case(b"a]1 OK x\r\n", "tag"; "bracket in tag")]
    #[test_case(b"a+1 OK x\r\n", "tag"; "plus in tag")]
    #[test_case(b"a\x011 OK x\r\n", "tag"; "control in tag")]
    #[test_case(b"\xc3\xa91 OK x\r\n", "tag"; "non ascii tag")]
    #[test_case(b"\x1b[2J* OK x\r\n", "\\x1b"; "escape first")]
    #[test_case(b"a1 OK [ALERT oops\r\n", "no closing ]"; "unclosed code")]
    #[test_case(b"a1 OK [A [B]] x\r\n", "nested"; "nested code")]
    #[test_case(b"a1 OK [] x\r\n", "not an atom"; "empty code")]
    #[test_case(b"a1 OK [(X)] x\r\n", "not an atom"; "paren code name")]
    #[test_case(b"* OK [ALERT oops\r\n", "no closing ]"; "untagged unclosed code")]
    #[test_case(b"a1 OK a\0b\r\n", "\\x00"; "nul")]
    #[test_case(b"a1 OK a\rb\r\n", "\\r"; "bare cr")]
    #[test_case(b"\x00\x01\x02\xff\n", "\\x00"; "binary junk")]
    #[test_case(b"\r\n", "tag \"\""; "empty line")]
    #[test_case(b"220 smtp.example ESMTP\r\n", "\"smtp.example\""; "smtp greeting")]
    #[test_case(b"* 1 FETCH (X {1}\r\n\0)\0\r\n", "\\x00"; "nul after literal")]
    #[test_case(b"a\x00 {2}\r\nok\r\n", "\\x00"; "junk with literal")]
    fn malformed(buf: &[u8], reason_has: &str) {
        match parse_response(buf, &limits()) {
            Ok(Frame::Malformed { len, reason }) => {
                assert_eq!(len, buf.len());
                assert!(
                    reason.contains(reason_has),
                    "reason {reason:?} lacks {reason_has:?}"
                );
            }
            other => panic!("expected malformed, got {other:?}"),
        }
    }

    #[test]
    fn malformed_then_resync() {
        let buf = b"junk line\r\n* 3 EXISTS\r\n";
        let Ok(Frame::Malformed { len, .. }) = parse_response(buf, &limits()) else {
            panic!("expected malformed");
        };
        assert_eq!(len, 11);
        assert_eq!(
            complete(&buf[len..]).0,
            untagged(None, None, "3 EXISTS", &[])
        );
    }

    #[test]
    fn giant_literal_is_refused_before_its_bytes() {
        assert_eq!(
            parse_response(b"* 1 FETCH (BODY[] {99999999999999}\r\n", &limits()),
            Err(ParseError::LiteralTooLarge {
                size: 99_999_999_999_999,
                limit: 64 * 1024 * 1024
            })
        );
        assert_eq!(
            parse_response(
                b"* 1 FETCH (BODY[] {999999999999999999999999999}\r\n",
                &limits()
            ),
            Err(ParseError::LiteralTooLarge {
                size: u64::MAX,
                limit: 64 * 1024 * 1024
            })
        );
        let small = Limits {
            max_literal: 4,
            ..Limits::default()
        };
        assert!(matches!(
            parse_response(b"* 1 X {4}\r\nabcd\r\n", &small),
            Ok(Frame::Complete { len: 17, .. })
        ));
        assert_eq!(
            parse_response(b"* 1 X {5+}\r\n", &small),
            Err(ParseError::LiteralTooLarge { size: 5, limit: 4 })
        );
    }

    #[test]
    fn line_and_line_count_limits() {
        let small = Limits {
            max_line: 16,
            max_literal: 1024,
            max_lines: 2,
            max_reply_lines: 8,
            max_reply_bytes: 4096,
        };
        assert_eq!(parse_response(b"* OK", &small), Ok(Frame::Incomplete));
        assert_eq!(
            parse_response(b"* OK no line end in sight", &small),
            Err(ParseError::LineTooLong { limit: 16 })
        );
        // A long literal is not a long line.
        let mut buf = b"* 1 X {100}\r\n".to_vec();
        buf.extend_from_slice(&[b'z'; 100]);
        buf.extend_from_slice(b")\r\n");
        assert!(matches!(
            parse_response(&buf, &small),
            Ok(Frame::Complete { .. })
        ));
        // Endless tiny literals run into the line count.
        assert_eq!(
            parse_response(b"* 1 X {1}\r\na{1}\r\nb{1}\r\nc)\r\n", &small),
            Err(ParseError::TooManyLines { limit: 2 })
        );
    }

    #[test]
    fn tag_generator_counts_up() {
        let mut tags = TagGenerator::default();
        assert_eq!(tags.next_tag(), Tag("a1".to_owned()));
        assert_eq!(tags.next_tag().to_string(), "a2");
    }

    #[test]
    fn status_display() {
        let all = [
            Status::Ok,
            Status::No,
            Status::Bad,
            Status::PreAuth,
            Status::Bye,
        ];
        let shown: Vec<String> = all.iter().map(Status::to_string).collect();
        assert_eq!(shown, ["OK", "NO", "BAD", "PREAUTH", "BYE"]);
        for status in all {
            assert_eq!(
                Status::from_atom(status.to_string().as_bytes()),
                Some(status)
            );
        }
    }

    /// xorshift64: deterministic pseudo-random bytes without a crate.
    fn xorshift(state: &mut u64) -> u64 {
        *state ^= *state << 13;
        *state ^= *state >> 7;
        *state ^= *state << 17;
        *state
    }

    #[test]
    fn random_input_never_panics() {
        const FRAGMENTS: &[&[u8]] = &[
            b"*",
            b"+",
            b" ",
            b"\r\n",
            b"\n",
            b"\r",
            b"{",
            b"}",
            b"{3}",
            b"{1+}",
            b"{0}",
            b"[",
            b"]",
            b"OK",
            b"BYE",
            b"a1",
            b"CAPABILITY",
            b"\0",
            b"\x1b",
            b"\xff",
            b"{99999999999}",
            b"(",
        ];
        let limits = Limits {
            max_line: 64,
            max_literal: 64,
            max_lines: 8,
            max_reply_lines: 8,
            max_reply_bytes: 4096,
        };
        let mut state = 0x853c_49e6_748f_ea9b;
        for _ in 0..20_000 {
            let mut buf = Vec::new();
            let parts = xorshift(&mut state) % 16;
            for _ in 0..parts {
                let r = xorshift(&mut state);
                if r % 3 == 0 {
                    buf.push((r >> 8) as u8);
                } else {
                    buf.extend_from_slice(FRAGMENTS[(r >> 8) as usize % FRAGMENTS.len()]);
                }
            }
            match parse_response(&buf, &limits) {
                Ok(Frame::Complete { len, value }) => {
                    assert!(len > 0 && len <= buf.len(), "len {len} for {buf:?}");
                    let _ = (capabilities(&value), value.human_text());
                }
                Ok(Frame::Malformed { len, .. }) => {
                    assert!(len > 0 && len <= buf.len(), "len {len} for {buf:?}");
                }
                Ok(Frame::Incomplete) | Err(_) => {}
            }
        }
    }
}

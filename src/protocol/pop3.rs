//! POP3 responses (RFC 1939 §3), CAPA (RFC 2449), STLS (RFC 2595 §4).
//!
//! ```text
//! S: +OK Dovecot (Debian) ready.              single line
//! S: -ERR [IN-USE] Mailbox locked             with extended code, RFC 2449 §8
//! S: + VXNlcm5hbWU6                           SASL continuation, RFC 5034 §4
//! S: +OK 120 octets                           multi-line: status line,
//! S: ..leading dot is stuffed                 body lines (dot-stuffed),
//! S: .                                        a lone "." ends it
//! ```
//!
//! POP3 replies do not say whether a body follows; the caller knows from the
//! command it sent, hence [`Expect::for_command`].

use std::fmt;
use std::ops::Range;

use super::line::find_line;
use super::{Capability, Frame, Limits, ParseError, show};

/// `+OK` or `-ERR`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Ok,
    Err,
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Status::Ok => "+OK",
            Status::Err => "-ERR",
        })
    }
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
        let mut words = line.split_ascii_whitespace();
        let Some(verb) = words.next() else {
            return Expect::Single;
        };
        let has_argument = words.next().is_some();
        // Keywords are case-insensitive, RFC 1939 §3. LIST and UIDL with a
        // message number answer on the status line (RFC 1939 §5, §7).
        if verb.eq_ignore_ascii_case("CAPA")
            || verb.eq_ignore_ascii_case("RETR")
            || verb.eq_ignore_ascii_case("TOP")
            || (!has_argument
                && (verb.eq_ignore_ascii_case("LIST") || verb.eq_ignore_ascii_case("UIDL")))
        {
            Expect::MultiLine
        } else {
            Expect::Single
        }
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

impl Response {
    /// True for `+OK`, RFC 1939 §3.
    pub fn is_ok(&self) -> bool {
        matches!(
            self,
            Response::Status {
                status: Status::Ok,
                ..
            }
        )
    }
}

/// What the status line turned out to be, before any text is copied.
enum Head {
    Status {
        status: Status,
        /// Text after the indicator and its space.
        text: Range<usize>,
    },
    Continuation {
        text: Range<usize>,
    },
}

/// Parses one response from the front of `buf`.
///
/// With [`Expect::MultiLine`] a `+OK` stays [`Frame::Incomplete`] until the
/// terminating `.` line has arrived; `-ERR` and continuations are always
/// one line (RFC 1939 §3).
///
/// # Errors
/// [`ParseError::LineTooLong`] and [`ParseError::TooManyLines`] per `limits`.
pub fn parse_response(buf: &[u8], expect: Expect, limits: &Limits) -> super::Result<Response> {
    let Some(first) = find_line(buf, limits.max_line)? else {
        return Ok(Frame::Incomplete);
    };
    let content = first.content(buf);
    let head = match check_status_line(content) {
        Ok(head) => head,
        Err(reason) => {
            return Ok(Frame::Malformed {
                len: first.len,
                reason,
            });
        }
    };
    let text_of = |range: Range<usize>| String::from_utf8_lossy(&content[range]).into_owned();
    let (status, text) = match head {
        Head::Continuation { text } => {
            return Ok(Frame::Complete {
                value: Response::Continuation {
                    text: text_of(text),
                },
                len: first.len,
            });
        }
        Head::Status { status, text } => (status, text),
    };
    let (code, text) = split_code(&content[text]);
    let code = code.map(|c| String::from_utf8_lossy(c).into_owned());
    let text = String::from_utf8_lossy(text).into_owned();

    if expect == Expect::Single || status == Status::Err {
        return Ok(Frame::Complete {
            value: Response::Status {
                status,
                code,
                text,
                body: None,
            },
            len: first.len,
        });
    }

    // Check: find the terminating "." before copying any body line, so a
    // message arriving in many reads is only re-scanned on each call.
    let mut body_lines: Vec<Range<usize>> = Vec::new();
    let mut pos = first.len;
    let end = loop {
        let Some(line) = find_line(&buf[pos..], limits.max_line)? else {
            return Ok(Frame::Incomplete);
        };
        let content = pos..pos + line.content_len;
        pos += line.len;
        if &buf[content.clone()] == b"." {
            break pos;
        }
        if body_lines.len() >= limits.max_lines {
            return Err(ParseError::TooManyLines {
                limit: limits.max_lines,
            });
        }
        body_lines.push(content);
    };

    // Parse: RFC 1939 §3 byte-stuffing; a line starting with the termination
    // octet has it stripped ("..x" was sent for ".x").
    let body = body_lines
        .into_iter()
        .map(|range| {
            let line = &buf[range];
            line.strip_prefix(b".").unwrap_or(line).to_vec()
        })
        .collect();
    Ok(Frame::Complete {
        value: Response::Status {
            status,
            code,
            text,
            body: Some(body),
        },
        len: end,
    })
}

/// Classifies a status line: `+OK [SP text]`, `-ERR [SP text]` or `+ [SP text]`.
fn check_status_line(content: &[u8]) -> Result<Head, String> {
    // NUL and CR are outside RFC 2449 §9 CHAR; anything else printable or
    // not is passed on as text for the UI to escape.
    if let Some(&bad) = content.iter().find(|&&b| b == 0 || b == b'\r') {
        return Err(format!(
            "status line {} contains {}",
            show(content),
            show(&[bad])
        ));
    }
    let (indicator, status) = if content.starts_with(b"+OK") {
        (3, Some(Status::Ok))
    } else if content.starts_with(b"-ERR") {
        (4, Some(Status::Err))
    } else if content.starts_with(b"+") {
        (1, None)
    } else {
        return Err(format!(
            "status line {} starts with neither +OK nor -ERR",
            show(content)
        ));
    };
    let text = match content.get(indicator) {
        None => indicator..indicator,
        Some(b' ') => indicator + 1..content.len(),
        Some(_) => {
            return Err(format!(
                "status indicator in {} is not followed by a space",
                show(content)
            ));
        }
    };
    Ok(match status {
        Some(status) => Head::Status { status, text },
        None => Head::Continuation { text },
    })
}

/// Splits a leading `[CODE]` off the text, RFC 2449 §8 and RFC 3206.
///
/// ```text
/// resp-code = "[" resp-level *("/" resp-level) "]"
/// ```
///
/// Text that starts with `[` but is no valid code stays text: RFC 1939
/// servers may say anything after `-ERR`.
fn split_code(text: &[u8]) -> (Option<&[u8]>, &[u8]) {
    let Some(rest) = text.strip_prefix(b"[") else {
        return (None, text);
    };
    let Some(close) = rest.iter().position(|&b| b == b']') else {
        return (None, text);
    };
    let code = &rest[..close];
    let valid = !code.is_empty()
        && code
            .split(|&b| b == b'/')
            .all(|level| !level.is_empty() && level.iter().all(|&b| (0x21..=0x7e).contains(&b)));
    if !valid {
        return (None, text);
    }
    let after = &rest[close + 1..];
    (Some(code), after.strip_prefix(b" ").unwrap_or(after))
}

/// CAPA tags from the body of a multi-line CAPA reply.
///
/// ```text
/// SASL PLAIN LOGIN        SASL ["PLAIN", "LOGIN"]     RFC 2449 §6.3
/// IMPLEMENTATION Dovecot  IMPLEMENTATION ["Dovecot"]  RFC 2449 §6.9
/// STLS                    STLS []                     RFC 2595 §4
/// ```
///
/// A response without a body (`-ERR`, single line) has no tags.
pub fn capa(response: &Response) -> Vec<Capability> {
    let Response::Status {
        status: Status::Ok,
        body: Some(body),
        ..
    } = response
    else {
        return Vec::new();
    };
    body.iter()
        .filter_map(|line| {
            let line = String::from_utf8_lossy(line);
            let mut words = line.split_whitespace();
            let name = words.next()?.to_ascii_uppercase();
            Some(Capability {
                name,
                params: words.map(str::to_owned).collect(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use test_case::test_case;

    fn limits() -> Limits {
        Limits::default()
    }

    fn complete(buf: &[u8], expect: Expect) -> (Response, usize) {
        match parse_response(buf, expect, &limits()) {
            Ok(Frame::Complete { value, len }) => (value, len),
            other => panic!(
                "expected complete for {:?}, got {other:?}",
                buf.escape_ascii().to_string()
            ),
        }
    }

    fn status(status: Status, code: Option<&str>, text: &str, body: Option<&[&[u8]]>) -> Response {
        Response::Status {
            status,
            code: code.map(str::to_owned),
            text: text.to_owned(),
            body: body.map(|lines| lines.iter().map(|l| l.to_vec()).collect()),
        }
    }

    #[test_case("CAPA", Expect::MultiLine; "capa")]
    #[test_case("capa\r\n", Expect::MultiLine; "capa lower with crlf")]
    #[test_case("LIST", Expect::MultiLine; "list all")]
    #[test_case("list  \r\n", Expect::MultiLine; "list trailing space")]
    #[test_case("LIST 1", Expect::Single; "list one")]
    #[test_case("UIDL", Expect::MultiLine; "uidl all")]
    #[test_case("Uidl 1", Expect::Single; "uidl one")]
    #[test_case("RETR 1", Expect::MultiLine; "retr")]
    #[test_case("retr 12\r\n", Expect::MultiLine; "retr lower")]
    #[test_case("TOP 1 10", Expect::MultiLine; "top")]
    #[test_case("STAT", Expect::Single; "stat")]
    #[test_case("USER mrose", Expect::Single; "user")]
    #[test_case("PASS secret", Expect::Single; "pass")]
    #[test_case("STLS", Expect::Single; "stls")]
    #[test_case("AUTH PLAIN", Expect::Single; "auth")]
    #[test_case("DELE 1", Expect::Single; "dele")]
    #[test_case("QUIT", Expect::Single; "quit")]
    #[test_case("RETRX 1", Expect::Single; "verb prefix is not a match")]
    #[test_case("", Expect::Single; "empty")]
    fn expect_for_command(line: &str, expect: Expect) {
        assert_eq!(Expect::for_command(line), expect);
    }

    // Single-line responses from RFC 1939 examples, RFC 2449, RFC 3206 and Dovecot.
    #[test_case(b"+OK POP3 server ready <1896.697170952@dbc.mtview.ca.us>\r\n", Status::Ok, None, "POP3 server ready <1896.697170952@dbc.mtview.ca.us>"; "rfc1939 greeting")]
    #[test_case(b"+OK mrose's maildrop has 2 messages (320 octets)\r\n", Status::Ok, None, "mrose's maildrop has 2 messages (320 octets)"; "rfc1939 apop")]
    #[test_case(b"+OK 2 320\r\n", Status::Ok, None, "2 320"; "rfc1939 stat")]
    #[test_case(b"-ERR no such message, only 2 messages in maildrop\r\n", Status::Err, None, "no such message, only 2 messages in maildrop"; "rfc1939 list err")]
    #[test_case(b"+OK dewey POP3 server signing off (maildrop empty)\r\n", Status::Ok, None, "dewey POP3 server signing off (maildrop empty)"; "rfc1939 quit")]
    #[test_case(b"+OK Dovecot (Debian) ready.\r\n", Status::Ok, None, "Dovecot (Debian) ready."; "dovecot greeting")]
    #[test_case(b"-ERR [AUTH] Plaintext authentication disallowed on non-secure (SSL/TLS) connections.\r\n", Status::Err, Some("AUTH"), "Plaintext authentication disallowed on non-secure (SSL/TLS) connections."; "dovecot auth")]
    #[test_case(b"-ERR [IN-USE] Do you have another POP session running?\r\n", Status::Err, Some("IN-USE"), "Do you have another POP session running?"; "rfc2449 in use")]
    #[test_case(b"-ERR [LOGIN-DELAY] minimum time between mail checks violation\r\n", Status::Err, Some("LOGIN-DELAY"), "minimum time between mail checks violation"; "rfc2449 login delay")]
    #[test_case(b"-ERR [SYS/TEMP] Service unavailable\r\n", Status::Err, Some("SYS/TEMP"), "Service unavailable"; "rfc3206 sys temp")]
    #[test_case(b"-ERR [SYS/PERM] Your account is locked\r\n", Status::Err, Some("SYS/PERM"), "Your account is locked"; "rfc3206 sys perm")]
    #[test_case(b"+OK Begin TLS negotiation\r\n", Status::Ok, None, "Begin TLS negotiation"; "rfc2595 stls")]
    #[test_case(b"+OK\r\n", Status::Ok, None, ""; "bare ok")]
    #[test_case(b"-ERR\r\n", Status::Err, None, ""; "bare err")]
    #[test_case(b"-ERR [AUTH]\r\n", Status::Err, Some("AUTH"), ""; "code only")]
    #[test_case(b"-ERR [not a code] text\r\n", Status::Err, None, "[not a code] text"; "bracket with space is text")]
    #[test_case(b"-ERR [] empty\r\n", Status::Err, None, "[] empty"; "empty brackets are text")]
    #[test_case(b"-ERR [SYS//TEMP] x\r\n", Status::Err, None, "[SYS//TEMP] x"; "empty level is text")]
    #[test_case(b"-ERR [unclosed\r\n", Status::Err, None, "[unclosed"; "unclosed bracket is text")]
    #[test_case(b"+OK \x1b[1mbold\r\n", Status::Ok, None, "\x1b[1mbold"; "escape passed as text")]
    #[test_case(b"+OK bare lf\n", Status::Ok, None, "bare lf"; "bare lf")]
    fn single_line(buf: &[u8], st: Status, code: Option<&str>, text: &str) {
        let (response, len) = complete(buf, Expect::Single);
        assert_eq!(len, buf.len());
        assert_eq!(response, status(st, code, text, None));
    }

    #[test_case(b"+ \r\n", ""; "empty challenge")]
    #[test_case(b"+\r\n", ""; "bare plus")]
    #[test_case(b"+ VXNlcm5hbWU6\r\n", "VXNlcm5hbWU6"; "rfc5034 challenge")]
    fn continuation(buf: &[u8], text: &str) {
        for expect in [Expect::Single, Expect::MultiLine] {
            let (response, len) = complete(buf, expect);
            assert_eq!(len, buf.len());
            assert_eq!(
                response,
                Response::Continuation {
                    text: text.to_owned()
                }
            );
        }
    }

    const RFC1939_RETR: &[u8] = b"+OK 120 octets\r\n\
        Subject: test\r\n\
        \r\n\
        ..leading dot\r\n\
        ...two dots\r\n\
        .x odd stuffing\r\n\
        last line\r\n\
        .\r\n";

    const DOVECOT_CAPA: &[u8] = b"+OK\r\n\
        CAPA\r\n\
        TOP\r\n\
        UIDL\r\n\
        RESP-CODES\r\n\
        PIPELINING\r\n\
        AUTH-RESP-CODE\r\n\
        STLS\r\n\
        USER\r\n\
        SASL PLAIN LOGIN\r\n\
        IMPLEMENTATION Dovecot\r\n\
        .\r\n";

    #[test]
    fn retr_body_is_unstuffed() {
        let (response, len) = complete(RFC1939_RETR, Expect::MultiLine);
        assert_eq!(len, RFC1939_RETR.len());
        assert_eq!(
            response,
            status(
                Status::Ok,
                None,
                "120 octets",
                Some(&[
                    b"Subject: test",
                    b"",
                    b".leading dot",
                    b"..two dots",
                    b"x odd stuffing",
                    b"last line",
                ])
            )
        );
        // Single expectation stops after the status line.
        let (single, len) = complete(RFC1939_RETR, Expect::Single);
        assert_eq!(len, 16);
        assert_eq!(single, status(Status::Ok, None, "120 octets", None));
    }

    #[test]
    fn rfc1939_list_and_empty_body() {
        let buf = b"+OK 2 messages (320 octets)\r\n1 120\r\n2 200\r\n.\r\n";
        let (response, len) = complete(buf, Expect::MultiLine);
        assert_eq!(len, buf.len());
        assert_eq!(
            response,
            status(
                Status::Ok,
                None,
                "2 messages (320 octets)",
                Some(&[b"1 120", b"2 200"])
            )
        );
        let (empty, len) = complete(b"+OK\r\n.\r\n", Expect::MultiLine);
        assert_eq!(len, 8);
        assert_eq!(empty, status(Status::Ok, None, "", Some(&[])));
    }

    #[test]
    fn body_keeps_binary_and_bare_lf() {
        let buf = b"+OK\r\n\0\x1b[2J\xff\r\nbare lf\n.\n";
        let (response, len) = complete(buf, Expect::MultiLine);
        assert_eq!(len, buf.len());
        assert_eq!(
            response,
            status(Status::Ok, None, "", Some(&[b"\0\x1b[2J\xff", b"bare lf"]))
        );
    }

    #[test]
    fn err_is_never_multiline() {
        let buf = b"-ERR no such message\r\n+OK next\r\n";
        let (response, len) = complete(buf, Expect::MultiLine);
        assert_eq!(len, 22);
        assert_eq!(response, status(Status::Err, None, "no such message", None));
    }

    #[test]
    fn dovecot_capa() {
        let (response, len) = complete(DOVECOT_CAPA, Expect::MultiLine);
        assert_eq!(len, DOVECOT_CAPA.len());
        let caps: Vec<String> = capa(&response).iter().map(|c| c.to_string()).collect();
        assert_eq!(
            caps,
            [
                "CAPA",
                "TOP",
                "UIDL",
                "RESP-CODES",
                "PIPELINING",
                "AUTH-RESP-CODE",
                "STLS",
                "USER",
                "SASL PLAIN LOGIN",
                "IMPLEMENTATION Dovecot",
            ]
        );
        let sasl = &capa(&response)[8];
        assert_eq!(sasl.name, "SASL");
        assert_eq!(sasl.params, ["PLAIN", "LOGIN"]);
    }

    #[test]
    fn capa_upper_cases_names_and_skips_blank_lines() {
        let (response, _) = complete(
            b"+OK\r\nsasl Plain\r\n\r\nexpire 31 USER\r\n.\r\n",
            Expect::MultiLine,
        );
        let caps: Vec<String> = capa(&response).iter().map(|c| c.to_string()).collect();
        assert_eq!(caps, ["SASL Plain", "EXPIRE 31 USER"]);
        let (err, _) = complete(b"-ERR unknown command\r\n", Expect::MultiLine);
        assert!(capa(&err).is_empty());
        assert!(!err.is_ok());
        assert!(response.is_ok());
    }

    #[test]
    fn every_prefix_is_incomplete() {
        let cases: [(&[u8], Expect); 5] = [
            (RFC1939_RETR, Expect::MultiLine),
            (DOVECOT_CAPA, Expect::MultiLine),
            (b"+OK Dovecot (Debian) ready.\r\n", Expect::Single),
            (
                b"-ERR [AUTH] Plaintext authentication disallowed\r\n",
                Expect::MultiLine,
            ),
            (b"+ \r\n", Expect::MultiLine),
        ];
        for (buf, expect) in cases {
            for end in 0..buf.len() {
                assert_eq!(
                    parse_response(&buf[..end], expect, &limits()),
                    Ok(Frame::Incomplete),
                    "prefix {end} of {:?}",
                    buf.escape_ascii().to_string()
                );
            }
            assert_eq!(complete(buf, expect).1, buf.len());
        }
    }

    #[test]
    fn two_responses_back_to_back() {
        let mut buf = DOVECOT_CAPA.to_vec();
        buf.extend_from_slice(b"+OK Begin TLS negotiation now.\r\n");
        let (_, len) = complete(&buf, Expect::MultiLine);
        assert_eq!(len, DOVECOT_CAPA.len());
        let (second, len2) = complete(&buf[len..], Expect::Single);
        assert_eq!(len + len2, buf.len());
        assert_eq!(
            second,
            status(Status::Ok, None, "Begin TLS negotiation now.", None)
        );
        // A body line that looks like a status line does not end the body.
        let buf = b"+OK\r\n+OK inside\r\n.\r\n-ERR after\r\n";
        let (first, len) = complete(buf, Expect::MultiLine);
        assert_eq!(len, 20);
        assert_eq!(first, status(Status::Ok, None, "", Some(&[b"+OK inside"])));
    }

    #[test_case(b"OK ready\r\n", "neither"; "missing plus")]
    #[test_case(b"+ok ready\r\n", "not followed by a space"; "lower case ok")]
    #[test_case(b"+OKAY\r\n", "not followed by a space"; "ok glued")]
    #[test_case(b"-ERRor\r\n", "not followed by a space"; "err glued")]
    #[test_case(b"+foo\r\n", "not followed by a space"; "plus glued")]
    #[test_case(b"\r\n", "neither"; "empty line")]
    #[test_case(b"220 smtp.example ESMTP\r\n", "neither"; "smtp greeting")]
    #[test_case(b"* OK imap\r\n", "neither"; "imap greeting")]
    #[test_case(b"+OK a\0b\r\n", "\\x00"; "nul byte")]
    #[test_case(b"+OK a\rb\r\n", "\\r"; "cr inside")]
    #[test_case(b"\x1b[2J+OK\r\n", "\\x1b"; "escape first")]
    #[test_case(b"\x00\x01\xff\xfe\n", "\\x00"; "binary junk")]
    fn malformed_status_line(buf: &[u8], reason_has: &str) {
        for expect in [Expect::Single, Expect::MultiLine] {
            match parse_response(buf, expect, &limits()) {
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
    }

    #[test]
    fn limits_apply() {
        let small = Limits {
            max_line: 16,
            max_literal: 0,
            max_lines: 2,
            max_reply_lines: 8,
            max_reply_bytes: 4096,
        };
        assert_eq!(
            parse_response(b"+OK", Expect::Single, &small),
            Ok(Frame::Incomplete)
        );
        assert_eq!(
            parse_response(b"+OK no line ending in sight", Expect::Single, &small),
            Err(ParseError::LineTooLong { limit: 16 })
        );
        assert_eq!(
            parse_response(
                b"+OK\r\nshort\r\nthis body line is too long\r\n.\r\n",
                Expect::MultiLine,
                &small
            ),
            Err(ParseError::LineTooLong { limit: 16 })
        );
        let two = b"+OK\r\na\r\nb\r\n.\r\n";
        assert!(matches!(
            parse_response(two, Expect::MultiLine, &small),
            Ok(Frame::Complete { len: 14, .. })
        ));
        assert_eq!(
            parse_response(b"+OK\r\na\r\nb\r\nc\r\n.\r\n", Expect::MultiLine, &small),
            Err(ParseError::TooManyLines { limit: 2 })
        );
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
            b"+OK", b"-ERR", b"+", b" ", b"\r\n", b"\n", b"\r", b".", b"..", b"[", b"]", b"/",
            b"\0", b"\x1b", b"\xff", b"IN-USE",
        ];
        let limits = Limits {
            max_line: 64,
            max_literal: 64,
            max_lines: 8,
            max_reply_lines: 8,
            max_reply_bytes: 4096,
        };
        let mut state = 0x2545_f491_4f6c_dd1d;
        for _ in 0..20_000 {
            let mut buf = Vec::new();
            let parts = xorshift(&mut state) % 14;
            for _ in 0..parts {
                let r = xorshift(&mut state);
                if r % 3 == 0 {
                    buf.push((r >> 8) as u8);
                } else {
                    buf.extend_from_slice(FRAGMENTS[(r >> 8) as usize % FRAGMENTS.len()]);
                }
            }
            for expect in [Expect::Single, Expect::MultiLine] {
                match parse_response(&buf, expect, &limits) {
                    Ok(Frame::Complete { len, value }) => {
                        assert!(len > 0 && len <= buf.len(), "len {len} for {buf:?}");
                        let _ = capa(&value);
                    }
                    Ok(Frame::Malformed { len, .. }) => {
                        assert!(len > 0 && len <= buf.len(), "len {len} for {buf:?}");
                    }
                    Ok(Frame::Incomplete) | Err(_) => {}
                }
            }
        }
    }
}

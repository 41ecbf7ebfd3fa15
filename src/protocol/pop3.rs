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

use super::line::LineCursor;
use super::{Capability, Frame, Limits, ParseError, Step, Streaming, show};

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
    /// As [`Expect::MultiLine`], for a short listing held whole: the CAPA
    /// answer (RFC 2449 §5). Never streamed, and bounded like an SMTP reply
    /// (`max_reply_lines` lines, `max_reply_bytes` bytes): a capability
    /// list that does not end is an error, not a body to wait out.
    Capabilities,
}

impl Expect {
    /// For a command line as sent: LIST/UIDL without argument, RETR, TOP
    /// are multi-line, CAPA is [`Expect::Capabilities`]; everything else
    /// single.
    pub fn for_command(line: &str) -> Expect {
        let mut words = line.split_ascii_whitespace();
        let Some(verb) = words.next() else {
            return Expect::Single;
        };
        let has_argument = words.next().is_some();
        // Keywords are case-insensitive, RFC 1939 §3. LIST and UIDL with a
        // message number answer on the status line (RFC 1939 §5, §7).
        if verb.eq_ignore_ascii_case("CAPA") {
            Expect::Capabilities
        } else if verb.eq_ignore_ascii_case("RETR")
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
/// With [`Expect::MultiLine`] or [`Expect::Capabilities`] a `+OK` stays
/// [`Frame::Incomplete`] until the terminating `.` line has arrived; `-ERR`
/// and continuations are always one line (RFC 1939 §3).
///
/// A whole-buffer convenience over [`Framer`], which a connection keeps so
/// that a body arriving in many reads is scanned once.
///
/// # Errors
/// [`ParseError::LineTooLong`] and [`ParseError::TooManyLines`] per `limits`;
/// for [`Expect::Capabilities`] also [`ParseError::ReplyTooLarge`].
pub fn parse_response(buf: &[u8], expect: Expect, limits: &Limits) -> super::Result<Response> {
    Framer::new(*limits).poll(buf, expect)
}

/// The status line of a multi-line `+OK`, parsed once.
#[derive(Debug, Clone)]
struct Status1 {
    status: Status,
    code: Option<String>,
    text: String,
}

/// The body preview of a streamed multi-line response.
#[derive(Debug, Clone, Default)]
struct KeptBody {
    /// Dot-unstuffed body lines kept for the final value.
    lines: Vec<Vec<u8>>,
    /// Body bytes that may still be kept.
    preview_left: usize,
}

/// Frames POP3 responses from a read buffer that grows between calls,
/// keeping its place: the status line is parsed once and the search for
/// the terminating `.` line resumes where it stopped, so a `RETR` body of n
/// bytes costs O(n) however many reads it takes.
///
/// ```text
/// poll(b"+OK 120 octets\r\nline 1\r\nli", MultiLine)       Incomplete (line 1 framed, kept)
/// poll(b"+OK 120 octets\r\nline 1\r\nline 2\r\n.\r\n", ..) Complete   (only "ne 2..." searched)
/// ```
///
/// With [`Framer::set_streaming`], a body growing past the threshold is
/// released as it arrives ([`Step::Partial`]); the final value's `body`
/// then holds the first lines, up to `preview` bytes, and the body may be
/// up to `max_body` bytes (`max_lines` applies to lines held).
///
/// Contract: between polls the caller only appends to the buffer, except
/// that it removes the bytes of a `Partial` or of a finished frame from the
/// front; the framer then starts afresh. The expectation is taken from the
/// poll that frames the status line. Without streaming, results equal
/// [`parse_response`] on the same bytes.
#[derive(Debug, Clone)]
pub struct Framer {
    limits: Limits,
    streaming: Option<Streaming>,
    /// Set once the status line of a multi-line `+OK` is framed.
    head: Option<Status1>,
    /// Content ranges of the body lines held in the buffer.
    body: Vec<Range<usize>>,
    /// End of what is framed, in the buffer.
    pos: usize,
    /// Body bytes framed so far (released ones included).
    body_bytes: usize,
    cursor: LineCursor,
    /// `Some` once the current body streams.
    kept: Option<KeptBody>,
    /// Bytes examined since the framer was made.
    scanned: u64,
}

impl Framer {
    /// A framer enforcing `limits` (`max_line`, `max_lines`), holding every
    /// response whole.
    pub fn new(limits: Limits) -> Framer {
        Framer {
            limits,
            streaming: None,
            head: None,
            body: Vec::new(),
            pos: 0,
            body_bytes: 0,
            cursor: LineCursor::default(),
            kept: None,
            scanned: 0,
        }
    }

    /// Streams bodies bigger than `streaming.above` (`None`: hold all).
    pub fn set_streaming(&mut self, streaming: Option<Streaming>) {
        self.streaming = streaming;
    }

    /// Bytes examined so far over all responses: the measure of framing work.
    pub fn scanned(&self) -> u64 {
        self.scanned
    }

    /// True while a streamed body is under way (after a `Partial`).
    pub fn is_streaming(&self) -> bool {
        self.kept.is_some()
    }

    /// Forgets a partly framed response (the buffer it referred to is gone).
    pub fn reset(&mut self) {
        self.head = None;
        self.body.clear();
        self.pos = 0;
        self.body_bytes = 0;
        self.cursor.reset();
        self.kept = None;
    }

    /// Frames the response at the front of `buf`, continuing from the last
    /// call. Never answers `Partial` (streaming off).
    ///
    /// # Errors
    /// As [`parse_response`]; the framer is reset.
    pub fn poll(&mut self, buf: &[u8], expect: Expect) -> super::Result<Response> {
        let streaming = self.streaming.take();
        let step = self.poll_step(buf, expect);
        self.streaming = streaming;
        step.map(|step| match step {
            Step::Frame(frame) => frame,
            Step::Partial { .. } => Frame::Incomplete,
        })
    }

    /// Frames the response at the front of `buf`, continuing from the last
    /// call, streaming a big body (see [`Framer::set_streaming`]).
    ///
    /// # Errors
    /// As [`parse_response`], plus [`ParseError::BodyTooLarge`] for a
    /// streamed body over `max_body`; the framer is reset.
    pub fn poll_step(
        &mut self,
        buf: &[u8],
        expect: Expect,
    ) -> std::result::Result<Step<Response>, ParseError> {
        if buf.len() < self.pos {
            self.reset();
        }
        let result = self.advance(buf, expect);
        match &result {
            Ok(Step::Partial { len }) => self.pos -= len,
            Ok(Step::Frame(Frame::Incomplete)) => {}
            _ => self.reset(),
        }
        result
    }

    fn advance(
        &mut self,
        buf: &[u8],
        expect: Expect,
    ) -> std::result::Result<Step<Response>, ParseError> {
        let limits = self.limits;
        if self.head.is_none() {
            let Some(first) = self
                .cursor
                .find(buf, 0, limits.max_line, &mut self.scanned)?
            else {
                return Ok(Step::Frame(Frame::Incomplete));
            };
            let content = first.content(buf);
            self.scanned += content.len() as u64;
            let head = match check_status_line(content) {
                Ok(head) => head,
                Err(reason) => {
                    return Ok(Step::Frame(Frame::Malformed {
                        len: first.len,
                        reason,
                    }));
                }
            };
            let text_of =
                |range: Range<usize>| String::from_utf8_lossy(&content[range]).into_owned();
            let (status, text) = match head {
                Head::Continuation { text } => {
                    return Ok(Step::Frame(Frame::Complete {
                        value: Response::Continuation {
                            text: text_of(text),
                        },
                        len: first.len,
                    }));
                }
                Head::Status { status, text } => (status, text),
            };
            let (code, text) = split_code(&content[text]);
            let code = code.map(|c| String::from_utf8_lossy(c).into_owned());
            let text = String::from_utf8_lossy(text).into_owned();
            if expect == Expect::Single || status == Status::Err {
                return Ok(Step::Frame(Frame::Complete {
                    value: Response::Status {
                        status,
                        code,
                        text,
                        body: None,
                    },
                    len: first.len,
                }));
            }
            self.head = Some(Status1 { status, code, text });
            self.pos = first.len;
        }

        // Check: find the terminating "." before copying any body line.
        loop {
            let pos = self.pos;
            let Some(line) = self
                .cursor
                .find(buf, pos, limits.max_line, &mut self.scanned)?
            else {
                if self.kept.is_none()
                    && expect != Expect::Capabilities
                    && let Some(s) = self.streaming
                    && self.body_bytes + (buf.len() - pos) > s.above
                {
                    self.start_keeping(buf, s);
                }
                return Ok(match self.kept {
                    Some(_) if self.pos > 0 => Step::Partial { len: self.pos },
                    _ => Step::Frame(Frame::Incomplete),
                });
            };
            let content = pos..pos + line.content_len;
            self.pos += line.len;
            if &buf[content.clone()] == b"." {
                break;
            }
            self.body_bytes += line.len;
            match &mut self.kept {
                Some(kept) => {
                    if self.body_bytes > limits.max_body {
                        return Err(ParseError::BodyTooLarge {
                            limit: limits.max_body,
                        });
                    }
                    keep_line(kept, &buf[content]);
                }
                None => {
                    let max_lines = if expect == Expect::Capabilities {
                        if self.body_bytes > limits.max_reply_bytes {
                            return Err(ParseError::ReplyTooLarge {
                                limit: limits.max_reply_bytes,
                            });
                        }
                        limits.max_reply_lines
                    } else {
                        limits.max_lines
                    };
                    if self.body.len() >= max_lines {
                        return Err(ParseError::TooManyLines { limit: max_lines });
                    }
                    self.body.push(content);
                }
            }
        }

        // Parse: RFC 1939 §3 byte-stuffing; a line starting with the
        // termination octet has it stripped ("..x" was sent for ".x").
        let Some(Status1 { status, code, text }) = self.head.take() else {
            return Ok(Step::Frame(Frame::Incomplete));
        };
        let body = match self.kept.take() {
            Some(kept) => kept.lines,
            None => self.body.iter().map(|r| unstuff(&buf[r.clone()])).collect(),
        };
        Ok(Step::Frame(Frame::Complete {
            value: Response::Status {
                status,
                code,
                text,
                body: Some(body),
            },
            len: self.pos,
        }))
    }

    /// Switches the current body to streaming: the lines held so far become
    /// the preview (as far as it reaches).
    fn start_keeping(&mut self, buf: &[u8], streaming: Streaming) {
        let mut kept = KeptBody {
            lines: Vec::new(),
            preview_left: streaming.preview,
        };
        for range in self.body.drain(..) {
            keep_line(&mut kept, &buf[range]);
        }
        self.kept = Some(kept);
    }
}

/// Adds a body line to the preview while there is room for it whole.
fn keep_line(kept: &mut KeptBody, line: &[u8]) {
    if line.len() < kept.preview_left {
        kept.preview_left -= line.len() + 1;
        kept.lines.push(unstuff(line));
    } else {
        kept.preview_left = 0;
    }
}

/// RFC 1939 §3: a body line starting with "." was sent with one more.
fn unstuff(line: &[u8]) -> Vec<u8> {
    line.strip_prefix(b".").unwrap_or(line).to_vec()
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

    #[test_case("CAPA", Expect::Capabilities; "capa")]
    #[test_case("capa\r\n", Expect::Capabilities; "capa lower with crlf")]
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
            max_body: 1 << 20,
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

    /// Feeds `stream` to a [`Framer`] in pieces of `step` bytes and checks
    /// that every answer equals [`parse_response`] on the same bytes.
    fn framer_agrees(stream: &[u8], step: usize, expect: Expect, limits: &Limits) {
        let mut framer = Framer::new(*limits);
        let mut buf: Vec<u8> = Vec::new();
        let mut fed = 0;
        loop {
            let take = step.min(stream.len() - fed);
            buf.extend_from_slice(&stream[fed..fed + take]);
            fed += take;
            loop {
                let got = framer.poll(&buf, expect);
                assert_eq!(got, parse_response(&buf, expect, limits), "buffer {buf:?}");
                match got {
                    Ok(Frame::Complete { len, .. } | Frame::Malformed { len, .. }) => {
                        buf.drain(..len);
                    }
                    Ok(Frame::Incomplete) => break,
                    Err(_) => return,
                }
            }
            if take == 0 {
                return;
            }
        }
    }

    /// A `RETR` reply with `lines` dot-stuffed body lines of about 70 bytes.
    fn big_retr(lines: usize) -> (Vec<u8>, Vec<Vec<u8>>) {
        let mut buf = b"+OK message follows\r\n".to_vec();
        let mut body = Vec::new();
        for i in 0..lines {
            let line = if i % 10 == 3 {
                format!(".leading dot on line {i}, stuffed as the RFC asks...")
            } else {
                format!("Line {i} of the message body, ordinary text of some length.")
            };
            if line.starts_with('.') {
                buf.push(b'.');
            }
            buf.extend_from_slice(line.as_bytes());
            buf.extend_from_slice(b"\r\n");
            body.push(line.into_bytes());
        }
        buf.extend_from_slice(b".\r\n");
        (buf, body)
    }

    #[test]
    fn framer_agrees_with_parse_response_at_every_split() {
        let mut stream = b"+OK ready\r\n".to_vec();
        stream.extend_from_slice(RFC1939_RETR);
        stream.extend_from_slice(DOVECOT_CAPA);
        stream.extend_from_slice(b"-ERR no\r\n+ go\r\njunk\r\n+OK\r\n.\r\n");
        for step in 1..=stream.len() {
            framer_agrees(&stream, step, Expect::MultiLine, &limits());
            framer_agrees(&stream, step, Expect::Single, &limits());
        }
    }

    #[test]
    fn scanning_is_linear_in_the_body_size() {
        // A 10 MiB body arriving in 16 KiB reads: each byte is searched
        // once, however the reads split the lines.
        let limits = Limits {
            max_lines: 1 << 20,
            ..Limits::default()
        };
        let (retr, body) = big_retr(170_000);
        assert!(retr.len() >= 10 << 20, "{}", retr.len());
        let mut framer = Framer::new(limits);
        let mut end = 0;
        let outcome = loop {
            end = (end + 16 * 1024).min(retr.len());
            match framer.poll(&retr[..end], Expect::MultiLine) {
                Ok(Frame::Incomplete) if end < retr.len() => continue,
                other => break other,
            }
        };
        let Ok(Frame::Complete {
            value: Response::Status {
                body: Some(got), ..
            },
            len,
        }) = outcome
        else {
            panic!("not complete");
        };
        assert_eq!((len, got.len()), (retr.len(), body.len()));
        assert_eq!(got[3], body[3]);
        let scanned = framer.scanned();
        assert!(
            scanned <= 2 * retr.len() as u64,
            "scanned {scanned} bytes for {}",
            retr.len()
        );
    }

    #[test]
    fn big_body_streams_with_a_preview() {
        let (retr, body) = big_retr(20_000);
        let mut stream = retr.clone();
        stream.extend_from_slice(b"+OK bye\r\n");
        let streaming = Streaming {
            above: 100_000,
            preview: 700,
        };
        for step in [1, 13, 4096, 16 * 1024] {
            let mut framer = Framer::new(limits());
            framer.set_streaming(Some(streaming));
            let mut buf: Vec<u8> = Vec::new();
            let mut frames = Vec::new();
            let (mut released, mut partials) = (0, 0);
            for piece in stream.chunks(step) {
                buf.extend_from_slice(piece);
                loop {
                    let expect = if frames.is_empty() {
                        Expect::MultiLine
                    } else {
                        Expect::Single
                    };
                    match framer.poll_step(&buf, expect).expect("frames") {
                        Step::Partial { len } => {
                            buf.drain(..len);
                            released += len;
                            partials += 1;
                        }
                        Step::Frame(Frame::Incomplete) => break,
                        Step::Frame(Frame::Complete { value, len }) => {
                            buf.drain(..len);
                            frames.push((value, released + len));
                            released = 0;
                        }
                        Step::Frame(other) => panic!("{other:?}"),
                    }
                    assert!(buf.len() <= step + 200, "buffer holds {}", buf.len());
                }
            }
            assert!(partials > 0);
            assert_eq!(frames.len(), 2);
            assert_eq!(frames[0].1, retr.len());
            let Response::Status {
                body: Some(preview),
                text,
                ..
            } = &frames[0].0
            else {
                panic!("{:?}", frames[0].0);
            };
            assert_eq!(text, "message follows");
            assert_eq!(preview[..], body[..preview.len()]);
            let kept: usize = preview.iter().map(|l| l.len() + 1).sum();
            assert!(kept <= 700 && kept > 600, "kept {kept}");
            assert_eq!(frames[1].1, 9);
        }
    }

    #[test]
    fn streamed_body_is_bounded_by_max_body() {
        let limits = Limits {
            max_body: 10_000,
            ..Limits::default()
        };
        let (retr, _) = big_retr(1000);
        let mut framer = Framer::new(limits);
        framer.set_streaming(Some(Streaming {
            above: 1000,
            preview: 100,
        }));
        let mut buf = Vec::new();
        let err = retr.chunks(512).find_map(|piece| {
            buf.extend_from_slice(piece);
            match framer.poll_step(&buf, Expect::MultiLine) {
                Ok(Step::Partial { len }) => {
                    buf.drain(..len);
                    None
                }
                Ok(_) => None,
                Err(e) => Some(e),
            }
        });
        assert_eq!(err, Some(ParseError::BodyTooLarge { limit: 10_000 }));
    }

    /// Feeds `bytes` in 512-byte reads with streaming on, as the engine
    /// does; returns the first error, or how many `Partial`s were given.
    fn feed_streaming(bytes: &[u8], limits: Limits, expect: Expect) -> Result<usize, ParseError> {
        let mut framer = Framer::new(limits);
        framer.set_streaming(Some(Streaming {
            above: 1000,
            preview: 100,
        }));
        let mut buf = Vec::new();
        let mut partials = 0;
        for piece in bytes.chunks(512) {
            buf.extend_from_slice(piece);
            match framer.poll_step(&buf, expect)? {
                Step::Partial { len } => {
                    buf.drain(..len);
                    partials += 1;
                }
                Step::Frame(Frame::Complete { len, .. }) => {
                    buf.drain(..len);
                }
                Step::Frame(_) => {}
            }
        }
        Ok(partials)
    }

    #[test]
    fn a_capa_answer_is_held_whole_and_bounded_in_lines() {
        let limits = Limits {
            max_reply_lines: 100,
            ..Limits::default()
        };
        let mut capa = b"+OK capa\r\n".to_vec();
        for _ in 0..99 {
            capa.extend_from_slice(b"X-A-LONG-CAPABILITY-NAME-OF-FORTY-BYTES\r\n");
        }
        let mut whole = capa.clone();
        whole.extend_from_slice(b".\r\n");
        // 99 lines, 4 KiB, over the 1000-byte streaming threshold: held whole.
        assert_eq!(feed_streaming(&whole, limits, Expect::Capabilities), Ok(0));
        match parse_response(&whole, Expect::Capabilities, &limits) {
            Ok(Frame::Complete {
                value: Response::Status { body: Some(b), .. },
                ..
            }) => assert_eq!(b.len(), 99),
            other => panic!("{other:?}"),
        }
        // The same lines as a RETR body stream.
        assert!(feed_streaming(&whole, limits, Expect::MultiLine).unwrap() > 0);
        capa.extend_from_slice(b"USER\r\nUSER\r\n");
        assert_eq!(
            feed_streaming(&capa, limits, Expect::Capabilities),
            Err(ParseError::TooManyLines { limit: 100 })
        );
    }

    #[test]
    fn a_capa_answer_is_bounded_in_bytes() {
        let limits = Limits {
            max_reply_bytes: 4096,
            ..Limits::default()
        };
        let mut capa = b"+OK\r\n".to_vec();
        for _ in 0..5 {
            capa.extend_from_slice(&[b'X'; 998]);
            capa.extend_from_slice(b"\r\n");
        }
        assert_eq!(
            feed_streaming(&capa, limits, Expect::Capabilities),
            Err(ParseError::ReplyTooLarge { limit: 4096 })
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
            max_body: 1 << 20,
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
            let step = 1 + (xorshift(&mut state) % 7) as usize;
            for expect in [Expect::Single, Expect::MultiLine] {
                framer_agrees(&buf, step, expect, &limits);
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

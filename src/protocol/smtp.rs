//! SMTP replies (RFC 5321 §4.2), enhanced status codes (RFC 3463, RFC 2034),
//! EHLO keywords (RFC 5321 §4.1.1.1) and client commands.
//!
//! ```text
//! S: 250-mail.example.com Hello
//! S: 250-STARTTLS
//! S: 250 AUTH PLAIN LOGIN
//! ```
//!
//! [`parse_reply`] frames one whole reply (all `code-` lines up to the final
//! `code SP` line) from the front of a buffer, then parses it; [`Framer`]
//! does the same over a read buffer that grows, resuming where it stopped.

use std::fmt;
use std::ops::Range;

use super::line::LineCursor;
use super::{Capability, Defect, Frame, Limits, ParseError, show};

/// A three-digit reply code, RFC 5321 §4.2.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
pub struct ReplyCode(pub u16);

impl ReplyCode {
    /// First digit: 2 positive completion, 3 intermediate, 4 transient, 5 permanent (RFC 5321 §4.2.1).
    pub fn class(self) -> u8 {
        // Codes are three digits, so this fits in u8; saturate rather than
        // truncate for codes built by hand.
        u8::try_from(self.0 / 100).unwrap_or(u8::MAX)
    }
}

impl fmt::Display for ReplyCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:03}", self.0)
    }
}

/// An enhanced status code `class.subject.detail`, RFC 3463 §2.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
pub struct EnhancedStatus {
    pub class: u8,
    pub subject: u16,
    pub detail: u16,
}

impl fmt::Display for EnhancedStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.class, self.subject, self.detail)
    }
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
    /// Deviations that did not break the framing (control bytes, bare LF).
    pub defects: Vec<Defect>,
}

impl Reply {
    /// 2yz or 3yz: the command was accepted or more input is wanted, RFC 5321 §4.2.1.
    pub fn is_positive(&self) -> bool {
        matches!(self.code.class(), 2 | 3)
    }

    /// 2yz: positive completion, RFC 5321 §4.2.1.
    pub fn is_completion(&self) -> bool {
        self.code.class() == 2
    }

    /// 3yz: positive intermediate, e.g. `354` after DATA or `334` during AUTH (RFC 4954 §4).
    pub fn is_intermediate(&self) -> bool {
        self.code.class() == 3
    }

    /// 4yz or 5yz: transient or permanent failure, RFC 5321 §4.2.1.
    pub fn is_negative(&self) -> bool {
        matches!(self.code.class(), 4 | 5)
    }

    /// The enhanced status code of the first line that has one, RFC 3463 §2.
    pub fn enhanced(&self) -> Option<EnhancedStatus> {
        self.lines.iter().find_map(|l| l.enhanced)
    }

    /// All line texts joined with `\n`, without codes, RFC 5321 §4.2.
    pub fn text(&self) -> String {
        let mut out = String::new();
        for (i, line) in self.lines.iter().enumerate() {
            if i > 0 {
                out.push('\n');
            }
            out.push_str(&line.text);
        }
        out
    }
}

/// Parses one reply from the front of `buf`.
///
/// ```text
/// 250-mail.example.com      continuation: code, "-", text
/// 250 2.0.0 Ok              final: code, SP, [enhanced SP], text
/// 250                       final, no text
/// ```
///
/// A line that breaks the grammar, or carries a different code from the
/// first line, yields [`Frame::Malformed`] covering the bytes up to and
/// including that line, so the caller can skip them and resynchronise.
///
/// A whole-buffer convenience over [`Framer`]; a connection that reads a
/// reply in many pieces keeps a `Framer` instead, so each piece is scanned once.
///
/// # Errors
/// [`ParseError::LineTooLong`], [`ParseError::TooManyLines`] and
/// [`ParseError::ReplyTooLarge`] per `limits`.
pub fn parse_reply(buf: &[u8], limits: &Limits) -> super::Result<Reply> {
    Framer::new(*limits).poll(buf)
}

/// Frames SMTP replies from a read buffer that grows between calls,
/// keeping its place: lines already framed are not looked at again, and
/// the search for the next line ending resumes where it stopped. A reply of
/// n bytes costs O(n) however many reads it takes.
///
/// ```text
/// poll(b"250-mx\r\n250-PIPE")         Incomplete   (line 0 framed, kept)
/// poll(b"250-mx\r\n250-PIPE...\r\n")  Complete     (only the new bytes searched)
/// ```
///
/// Contract: between polls the caller only appends to the buffer; after a
/// `Complete` or `Malformed` of `len` bytes it removes those bytes from the
/// front and the framer starts afresh. An error also resets it (the stream
/// cannot be framed any more). Results equal [`parse_reply`] on the same bytes.
#[derive(Debug, Clone)]
pub struct Framer {
    limits: Limits,
    /// Content ranges of the lines framed so far.
    lines: Vec<Range<usize>>,
    defects: Vec<Defect>,
    /// Code of the first line.
    code: Option<u16>,
    /// End of the last framed line.
    pos: usize,
    cursor: LineCursor,
    /// Bytes examined since the framer was made (LF search and grammar checks).
    scanned: u64,
}

impl Framer {
    /// A framer enforcing `limits` (`max_line`, `max_reply_lines`, `max_reply_bytes`).
    pub fn new(limits: Limits) -> Framer {
        Framer {
            limits,
            lines: Vec::new(),
            defects: Vec::new(),
            code: None,
            pos: 0,
            cursor: LineCursor::default(),
            scanned: 0,
        }
    }

    /// Bytes examined so far over all replies: the measure of framing work
    /// (linear in the bytes received, however they were split into reads).
    pub fn scanned(&self) -> u64 {
        self.scanned
    }

    /// Forgets a partly framed reply (the buffer it referred to is gone).
    pub fn reset(&mut self) {
        self.lines.clear();
        self.defects.clear();
        self.code = None;
        self.pos = 0;
        self.cursor.reset();
    }

    /// Frames the reply at the front of `buf`, continuing from the last call.
    ///
    /// # Errors
    /// As [`parse_reply`]; the framer is reset.
    pub fn poll(&mut self, buf: &[u8]) -> super::Result<Reply> {
        if buf.len() < self.pos {
            // Not the buffer of the previous call: start over rather than
            // index past its end.
            self.reset();
        }
        let result = self.advance(buf);
        if !matches!(result, Ok(Frame::Incomplete)) {
            self.reset();
        }
        result
    }

    fn advance(&mut self, buf: &[u8]) -> super::Result<Reply> {
        let limits = self.limits;
        // Check: frame every line up to the final one without allocating text.
        let end = loop {
            // Checked before waiting for the next line: the last framed line
            // was a continuation, so the reply is already known to be too long.
            if self.lines.len() >= limits.max_reply_lines {
                return Err(ParseError::TooManyLines {
                    limit: limits.max_reply_lines,
                });
            }
            if self.pos >= limits.max_reply_bytes {
                return Err(ParseError::ReplyTooLarge {
                    limit: limits.max_reply_bytes,
                });
            }
            let pos = self.pos;
            let Some(line) = self
                .cursor
                .find(buf, pos, limits.max_line, &mut self.scanned)?
            else {
                return Ok(Frame::Incomplete);
            };
            let content = pos..pos + line.content_len;
            let line_end = pos + line.len;
            self.scanned += line.content_len.saturating_sub(4) as u64;
            let (this_code, last) = match check_line(&buf[content.clone()]) {
                Ok((this_code, last, flaws)) => {
                    if flaws.control {
                        self.defects.push(Defect::ControlBytes {
                            line: self.lines.len(),
                        });
                    }
                    if flaws.invalid_utf8 {
                        self.defects.push(Defect::InvalidUtf8 {
                            line: self.lines.len(),
                        });
                    }
                    if !line.crlf {
                        self.defects.push(Defect::BareLf {
                            line: self.lines.len(),
                        });
                    }
                    (this_code, last)
                }
                Err(reason) => {
                    return Ok(Frame::Malformed {
                        len: line_end,
                        reason,
                    });
                }
            };
            match self.code {
                None => self.code = Some(this_code),
                Some(first) if first != this_code => {
                    return Ok(Frame::Malformed {
                        len: line_end,
                        reason: format!(
                            "reply code {this_code} does not match {first} on the first line"
                        ),
                    });
                }
                Some(_) => {}
            }
            self.lines.push(content);
            self.pos = line_end;
            if last {
                break line_end;
            }
        };

        // Parse: every line is known good, only split out the text.
        let Some(code) = self.code else {
            // Unreachable: the loop only breaks after framing a line.
            return Ok(Frame::Incomplete);
        };
        let lines = self
            .lines
            .iter()
            .map(|content| parse_text(&buf[content.clone()], code))
            .collect();
        Ok(Frame::Complete {
            value: Reply {
                code: ReplyCode(code),
                lines,
                defects: std::mem::take(&mut self.defects),
            },
            len: end,
        })
    }
}

/// Checks one line's grammar, returning its code, whether it is the last
/// line of the reply (RFC 5321 §4.2: `Reply-code [ SP textstring ] CRLF`),
/// and the flaws of its text ([`TextFlaws`]).
fn check_line(content: &[u8]) -> Result<(u16, bool, TextFlaws), String> {
    let Some(digits) = content.get(..3) else {
        return Err(format!(
            "reply line {} is shorter than a code",
            show(content)
        ));
    };
    if !digits.iter().all(u8::is_ascii_digit) {
        return Err(format!("reply code {} is not three digits", show(digits)));
    }
    // RFC 5321 §4.2: the first digit is 2-5, the second 0-5.
    if !(b'2'..=b'5').contains(&digits[0]) || !(b'0'..=b'5').contains(&digits[1]) {
        return Err(format!("reply code {} is out of range", show(digits)));
    }
    let code = digits
        .iter()
        .fold(0u16, |n, d| n * 10 + u16::from(d - b'0'));
    let last = match content.get(3) {
        None | Some(b' ') => true,
        Some(b'-') => false,
        Some(_) => {
            return Err(format!(
                "reply line {} has no space or hyphen after the code",
                show(content)
            ));
        }
    };
    // textstring is HT and printable ASCII (UTF-8 with SMTPUTF8, RFC 6531
    // §3.7.4.1). Control bytes break the grammar but not the framing: the
    // line stays part of its reply (so one bad EHLO line does not hide
    // STARTTLS) and is flagged; the display escapes them.
    Ok((
        code,
        last,
        TextFlaws::of(content.get(4..).unwrap_or_default()),
    ))
}

/// What is wrong with a reply line's text, if anything.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct TextFlaws {
    /// C0 controls except HT, DEL, and (in UTF-8) C1 controls, bidi and
    /// zero-width format characters ([`crate::escape::is_unsafe_char`]):
    /// none belongs in textstring, several act on terminals or reorder
    /// what the reader sees.
    control: bool,
    /// Bytes that are not UTF-8 (textstring is ASCII; SMTPUTF8 allows UTF-8,
    /// never anything else).
    invalid_utf8: bool,
}

impl TextFlaws {
    /// One pass over `text`, linear in its length.
    fn of(text: &[u8]) -> TextFlaws {
        let mut flaws = TextFlaws::default();
        if text.is_ascii() {
            flaws.control = text.iter().any(|&b| (b < 0x20 && b != b'\t') || b == 0x7f);
            return flaws;
        }
        for chunk in text.utf8_chunks() {
            flaws.invalid_utf8 |= !chunk.invalid().is_empty();
            flaws.control |= chunk
                .valid()
                .chars()
                .any(|c| c != '\t' && crate::escape::is_unsafe_char(c));
        }
        flaws
    }
}

/// Splits a checked line into enhanced status code and text.
fn parse_text(content: &[u8], code: u16) -> ReplyLine {
    let text = content.get(4..).unwrap_or_default();
    // RFC 2034 §4: the enhanced code leads the text of each line, followed
    // by a single space; its class must agree with the reply code (RFC 3463
    // §2), otherwise the text merely starts with something dotted.
    let class = code / 100;
    match split_enhanced(text) {
        Some((enhanced, rest)) if u16::from(enhanced.class) == class => ReplyLine {
            enhanced: Some(enhanced),
            text: String::from_utf8_lossy(rest).into_owned(),
        },
        _ => ReplyLine {
            enhanced: None,
            text: String::from_utf8_lossy(text).into_owned(),
        },
    }
}

/// `class "." subject "." detail` then SP or end, RFC 3463 §2.
fn split_enhanced(text: &[u8]) -> Option<(EnhancedStatus, &[u8])> {
    let word_end = text.iter().position(|&b| b == b' ').unwrap_or(text.len());
    let (word, rest) = text.split_at(word_end);
    let rest = rest.strip_prefix(b" ").unwrap_or(rest);
    let mut parts = word.split(|&b| b == b'.');
    let class = number(parts.next()?, 1)?;
    let subject = number(parts.next()?, 3)?;
    let detail = number(parts.next()?, 3)?;
    if parts.next().is_some() || !matches!(class, 2 | 4 | 5) {
        return None;
    }
    Some((
        EnhancedStatus {
            class: u8::try_from(class).ok()?,
            subject,
            detail,
        },
        rest,
    ))
}

/// 1 to `max_digits` ASCII digits as a number.
fn number(digits: &[u8], max_digits: usize) -> Option<u16> {
    if digits.is_empty() || digits.len() > max_digits || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(
        digits
            .iter()
            .fold(0u16, |n, d| n * 10 + u16::from(d - b'0')),
    )
}

/// EHLO keywords from a 250 reply to EHLO/LHLO (first line is the greeting name).
///
/// ```text
/// 250-mail.example.com          skipped: domain and greeting
/// 250-SIZE 10240000             SIZE ["10240000"]
/// 250-AUTH=PLAIN LOGIN          AUTH ["PLAIN", "LOGIN"] (pre-RFC 4954 form)
/// 250 AUTH PLAIN LOGIN          AUTH ["PLAIN", "LOGIN"]
/// ```
///
/// Any other code (e.g. `502` from a server without ESMTP) has no keywords.
pub fn ehlo_capabilities(reply: &Reply) -> Vec<Capability> {
    if reply.code != ReplyCode(250) {
        return Vec::new();
    }
    reply
        .lines
        .iter()
        .skip(1)
        .filter_map(|line| {
            let mut words = line.text.split_whitespace();
            let first = words.next()?;
            // Old servers (and Postfix's broken_sasl_auth_clients) announce
            // `AUTH=PLAIN LOGIN` for Outlook; RFC 5321 §4.1.1.1 keywords
            // cannot contain "=", so splitting there is safe for any keyword.
            let (name, first_param) = match first.split_once('=') {
                Some((name, param)) => (name, (!param.is_empty()).then_some(param)),
                None => (first, None),
            };
            let params = first_param
                .into_iter()
                .chain(words)
                .map(str::to_owned)
                .collect();
            Some(Capability {
                name: name.to_ascii_uppercase(),
                params,
            })
        })
        .collect()
}

/// The command verb of a client line in upper case, e.g. `MAIL` for
/// `mail from:<a@b>`, RFC 5321 §4.1.1 (verbs are case-insensitive).
///
/// Used to decide what to mask (AUTH, RFC 4954 §4) before a line is shown or recorded.
pub fn command_verb(line: &[u8]) -> String {
    let line = line.trim_ascii_start();
    let end = line
        .iter()
        .position(|b| b.is_ascii_whitespace())
        .unwrap_or(line.len());
    String::from_utf8_lossy(&line[..end]).to_ascii_uppercase()
}

#[cfg(test)]
mod tests {
    use super::*;
    use test_case::test_case;

    fn limits() -> Limits {
        Limits::default()
    }

    fn complete(buf: &[u8]) -> (Reply, usize) {
        match parse_reply(buf, &limits()) {
            Ok(Frame::Complete { value, len }) => (value, len),
            other => panic!(
                "expected complete for {:?}, got {other:?}",
                buf.escape_ascii().to_string()
            ),
        }
    }

    fn malformed(buf: &[u8]) -> (usize, String) {
        match parse_reply(buf, &limits()) {
            Ok(Frame::Malformed { len, reason }) => (len, reason),
            other => panic!(
                "expected malformed for {:?}, got {other:?}",
                buf.escape_ascii().to_string()
            ),
        }
    }

    fn line(text: &str) -> ReplyLine {
        ReplyLine {
            enhanced: None,
            text: text.to_owned(),
        }
    }

    fn enhanced_line(class: u8, subject: u16, detail: u16, text: &str) -> ReplyLine {
        ReplyLine {
            enhanced: Some(EnhancedStatus {
                class,
                subject,
                detail,
            }),
            text: text.to_owned(),
        }
    }

    const POSTFIX_EHLO: &[u8] = b"250-mail.test.example\r\n\
        250-PIPELINING\r\n\
        250-SIZE 10240000\r\n\
        250-VRFY\r\n\
        250-ETRN\r\n\
        250-STARTTLS\r\n\
        250-AUTH PLAIN LOGIN\r\n\
        250-AUTH=PLAIN LOGIN\r\n\
        250-ENHANCEDSTATUSCODES\r\n\
        250-8BITMIME\r\n\
        250-DSN\r\n\
        250-SMTPUTF8\r\n\
        250 CHUNKING\r\n";

    // Single-line replies: RFC 5321 Appendix D.1 and real Postfix lines.
    #[test_case(b"220 foo.com Simple Mail Transfer Service Ready\r\n", 220, None, "foo.com Simple Mail Transfer Service Ready"; "rfc5321 d1 greeting")]
    #[test_case(b"250 OK\r\n", 250, None, "OK"; "rfc5321 d1 ok")]
    #[test_case(b"550 No such user here\r\n", 550, None, "No such user here"; "rfc5321 d1 no such user")]
    #[test_case(b"354 Start mail input; end with <CRLF>.<CRLF>\r\n", 354, None, "Start mail input; end with <CRLF>.<CRLF>"; "rfc5321 d1 data")]
    #[test_case(b"221 foo.com Service closing transmission channel\r\n", 221, None, "foo.com Service closing transmission channel"; "rfc5321 d1 quit")]
    #[test_case(b"220 mail.test.example ESMTP Postfix\r\n", 220, None, "mail.test.example ESMTP Postfix"; "postfix greeting")]
    #[test_case(b"250 2.1.0 Ok\r\n", 250, Some((2, 1, 0)), "Ok"; "postfix mail from")]
    #[test_case(b"220 2.0.0 Ready to start TLS\r\n", 220, Some((2, 0, 0)), "Ready to start TLS"; "postfix starttls")]
    #[test_case(b"535 5.7.8 Error: authentication failed: UGFzc3dvcmQ6\r\n", 535, Some((5, 7, 8)), "Error: authentication failed: UGFzc3dvcmQ6"; "postfix auth failed")]
    #[test_case(b"454 4.7.0 TLS not available due to local problem\r\n", 454, Some((4, 7, 0)), "TLS not available due to local problem"; "postfix no tls")]
    #[test_case(b"334 VXNlcm5hbWU6\r\n", 334, None, "VXNlcm5hbWU6"; "auth challenge")]
    #[test_case(b"235 2.7.0 Authentication successful\r\n", 235, Some((2, 7, 0)), "Authentication successful"; "auth ok")]
    #[test_case(b"250 2.0.0\r\n", 250, Some((2, 0, 0)), ""; "enhanced without text")]
    #[test_case(b"250 2.0.0  two spaces\r\n", 250, Some((2, 0, 0)), " two spaces"; "only one space eaten")]
    #[test_case(b"250 5.0.0 class mismatch\r\n", 250, None, "5.0.0 class mismatch"; "enhanced class must match code")]
    #[test_case(b"250 2.0 too short\r\n", 250, None, "2.0 too short"; "two parts is text")]
    #[test_case(b"250 2.0.0.1 too long\r\n", 250, None, "2.0.0.1 too long"; "four parts is text")]
    #[test_case(b"250 2.1000.0 subject too big\r\n", 250, None, "2.1000.0 subject too big"; "subject over three digits")]
    #[test_case(b"250 2.999.999 max\r\n", 250, Some((2, 999, 999)), "max"; "three digit subject and detail")]
    #[test_case(b"250 2.0.0x glued\r\n", 250, None, "2.0.0x glued"; "enhanced must end at space")]
    #[test_case(b"250 3.0.0 bad class\r\n", 250, None, "3.0.0 bad class"; "class three not defined")]
    #[test_case(b"250\r\n", 250, None, ""; "bare code")]
    #[test_case(b"250 \r\n", 250, None, ""; "code and space")]
    #[test_case(b"250 OK\n", 250, None, "OK"; "bare lf accepted")]
    #[test_case(b"250 tab\there\r\n", 250, None, "tab\there"; "tab allowed")]
    #[test_case("250 caf\u{e9} \u{1f600}\r\n".as_bytes(), 250, None, "caf\u{e9} \u{1f600}"; "smtputf8 text")]
    #[test_case(b"250 \xff\xfe\r\n", 250, None, "\u{fffd}\u{fffd}"; "invalid utf8 is replaced")]
    fn single_line(buf: &[u8], code: u16, enhanced: Option<(u8, u16, u16)>, text: &str) {
        let (reply, len) = complete(buf);
        assert_eq!(len, buf.len());
        assert_eq!(reply.code, ReplyCode(code));
        let expected = match enhanced {
            Some((c, s, d)) => enhanced_line(c, s, d, text),
            None => line(text),
        };
        assert_eq!(reply.lines, vec![expected]);
    }

    #[test]
    fn rfc5321_d1_ehlo() {
        let buf =
            b"250-foo.com greets bar.com\r\n250-8BITMIME\r\n250-SIZE\r\n250-DSN\r\n250 HELP\r\n";
        let (reply, len) = complete(buf);
        assert_eq!(len, buf.len());
        assert_eq!(reply.code, ReplyCode(250));
        assert_eq!(
            reply.lines,
            vec![
                line("foo.com greets bar.com"),
                line("8BITMIME"),
                line("SIZE"),
                line("DSN"),
                line("HELP"),
            ]
        );
        let caps: Vec<String> = ehlo_capabilities(&reply)
            .iter()
            .map(|c| c.to_string())
            .collect();
        assert_eq!(caps, ["8BITMIME", "SIZE", "DSN", "HELP"]);
    }

    #[test]
    fn postfix_ehlo() {
        let (reply, len) = complete(POSTFIX_EHLO);
        assert_eq!(len, POSTFIX_EHLO.len());
        assert_eq!(reply.lines.len(), 13);
        assert_eq!(reply.lines[0], line("mail.test.example"));
        assert!(reply.is_positive() && reply.is_completion());
        let caps = ehlo_capabilities(&reply);
        let cap = |name: &str, params: &[&str]| Capability {
            name: name.to_owned(),
            params: params.iter().map(|p| p.to_string()).collect(),
        };
        assert_eq!(
            caps,
            vec![
                cap("PIPELINING", &[]),
                cap("SIZE", &["10240000"]),
                cap("VRFY", &[]),
                cap("ETRN", &[]),
                cap("STARTTLS", &[]),
                cap("AUTH", &["PLAIN", "LOGIN"]),
                cap("AUTH", &["PLAIN", "LOGIN"]),
                cap("ENHANCEDSTATUSCODES", &[]),
                cap("8BITMIME", &[]),
                cap("DSN", &[]),
                cap("SMTPUTF8", &[]),
                cap("CHUNKING", &[]),
            ]
        );
    }

    #[test]
    fn ehlo_keywords_are_upper_cased_and_params_kept() {
        let (reply, _) =
            complete(b"250-x\r\n250-auth=login\r\n250-size  100\r\n250-\r\n250 x-Ext a B\r\n");
        let caps: Vec<String> = ehlo_capabilities(&reply)
            .iter()
            .map(|c| c.to_string())
            .collect();
        assert_eq!(caps, ["AUTH login", "SIZE 100", "X-EXT a B"]);
    }

    #[test]
    fn ehlo_capabilities_need_250() {
        let (reply, _) = complete(b"502-x\r\n502 5.5.1 Error: command not implemented\r\n");
        assert!(ehlo_capabilities(&reply).is_empty());
        let (reply, _) = complete(b"250 only.greeting.example\r\n");
        assert!(ehlo_capabilities(&reply).is_empty());
    }

    #[test]
    fn enhanced_per_line() {
        let buf = b"550-5.1.1 first\r\n550-not dotted\r\n550 5.1.1 last\r\n";
        let (reply, _) = complete(buf);
        assert_eq!(
            reply.lines,
            vec![
                enhanced_line(5, 1, 1, "first"),
                line("not dotted"),
                enhanced_line(5, 1, 1, "last"),
            ]
        );
        assert_eq!(
            reply.enhanced(),
            Some(EnhancedStatus {
                class: 5,
                subject: 1,
                detail: 1
            })
        );
        assert_eq!(reply.text(), "first\nnot dotted\nlast");
        assert!(reply.is_negative() && !reply.is_positive());
    }

    #[test]
    fn every_prefix_is_incomplete() {
        for buf in [
            POSTFIX_EHLO,
            b"220 mail.test.example ESMTP Postfix\r\n",
            b"535 5.7.8 Error: authentication failed: UGFzc3dvcmQ6\r\n",
            b"550-5.1.1 first\r\n550 5.1.1 last\n",
            b"250\r\n",
        ] {
            for end in 0..buf.len() {
                assert_eq!(
                    parse_reply(&buf[..end], &limits()),
                    Ok(Frame::Incomplete),
                    "prefix {end} of {:?}",
                    buf.escape_ascii().to_string()
                );
            }
            assert_eq!(complete(buf).1, buf.len());
        }
    }

    #[test]
    fn two_replies_back_to_back() {
        let first = b"250-mail.test.example\r\n250-PIPELINING\r\n250 CHUNKING\r\n";
        let mut buf = first.to_vec();
        buf.extend_from_slice(b"220 2.0.0 Ready to start TLS\r\n");
        let (reply, len) = complete(&buf);
        assert_eq!(len, first.len());
        assert_eq!(reply.lines.len(), 3);
        let (second, len2) = complete(&buf[len..]);
        assert_eq!(len + len2, buf.len());
        assert_eq!(second.code, ReplyCode(220));
    }

    #[test]
    fn pipelined_replies_in_one_read() {
        // RFC 2920 §3.2: a pipelining server answers a batch in one write.
        let buf = b"250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n354 End data with <CR><LF>.<CR><LF>\r\n";
        let mut pos = 0;
        let mut codes = Vec::new();
        while pos < buf.len() {
            let (reply, len) = complete(&buf[pos..]);
            codes.push(reply.code.0);
            pos += len;
        }
        assert_eq!(codes, [250, 250, 354]);
    }

    // Malformed: (input, bytes the frame must cover, words the reason names).
    #[test_case(b"OK\r\n", 4, "shorter"; "too short")]
    #[test_case(b"\r\n", 2, "shorter"; "empty line")]
    #[test_case(b"2x0 hi\r\n", 8, "\"2x0\""; "non digit code")]
    #[test_case(b"+OK hi\r\n", 8, "not three digits"; "pop3 reply")]
    #[test_case(b"* OK hi\r\n", 9, "not three digits"; "imap reply")]
    #[test_case(b"150 hi\r\n", 8, "\"150\""; "first digit too low")]
    #[test_case(b"650 hi\r\n", 8, "out of range"; "first digit too high")]
    #[test_case(b"260 hi\r\n", 8, "out of range"; "second digit too high")]
    #[test_case(b"250OK\r\n", 7, "no space or hyphen"; "missing separator")]
    #[test_case(b"2500 OK\r\n", 9, "no space or hyphen"; "four digits")]
    #[test_case(b"250_OK\r\n", 8, "no space or hyphen"; "wrong separator")]
    #[test_case(b"250-a\r\n251 b\r\n", 14, "251 does not match 250"; "mixed codes")]
    #[test_case(b"250-a\r\n250-b\r\n354 c\r\n250 d\r\n", 21, "354 does not match 250"; "mixed codes later")]
    #[test_case(b"250-a\r\nxyz\r\n", 12, "\"xyz\""; "junk continuation")]
    #[test_case(b"\x1b[31m250 red\r\n", 14, "not three digits"; "escape before code")]
    #[test_case(b"\x00\x01\x02\xff\xfe\n", 6, "\\x00"; "binary junk")]
    fn malformed_lines(buf: &[u8], len: usize, reason_has: &str) {
        let (got_len, reason) = malformed(buf);
        assert_eq!(got_len, len);
        assert!(
            reason.contains(reason_has),
            "reason {reason:?} lacks {reason_has:?}"
        );
    }

    #[test_case(b"220 \xff\xfe\xc3( hostile\r\n", &[Defect::InvalidUtf8 { line: 0 }]; "invalid utf-8")]
    #[test_case(b"220 Gr\xfc\xdfe\r\n", &[Defect::InvalidUtf8 { line: 0 }]; "latin-1 text")]
    #[test_case(b"220 \x9b31m\r\n", &[Defect::InvalidUtf8 { line: 0 }]; "raw c1 byte is not utf-8")]
    #[test_case(b"220 \x1b\xff\r\n", &[Defect::ControlBytes { line: 0 }, Defect::InvalidUtf8 { line: 0 }]; "both")]
    #[test_case("220 Grüße, tab\tok\r\n".as_bytes(), &[]; "utf-8 text and a tab are fine")]
    fn text_flaws(buf: &[u8], want: &[Defect]) {
        let (reply, len) = complete(buf);
        assert_eq!(len, buf.len());
        assert_eq!(reply.defects, want);
    }

    // Control bytes break the grammar but not the framing: the reply keeps
    // every line and says which one is defective.
    #[test_case(b"250 a\0b\r\n", 0; "nul byte")]
    #[test_case(b"250 \x1b[2J\x1b[Hpwned\r\n", 0; "escape sequence")]
    #[test_case(b"250 a\rb\r\n", 0; "bare cr inside")]
    #[test_case(b"250-mail\r\n250-SIZE\x7f\r\n250 STARTTLS\r\n", 1; "del byte in an ehlo line")]
    #[test_case("250 \u{9b}31m red\r\n".as_bytes(), 0; "c1 csi in utf-8")]
    #[test_case("250 \u{202e}txet desrever\r\n".as_bytes(), 0; "bidi override")]
    #[test_case("250 a\u{200b}b\r\n".as_bytes(), 0; "zero width space")]
    fn control_bytes_are_a_defect_not_a_break(buf: &[u8], line: usize) {
        let (reply, len) = complete(buf);
        assert_eq!(len, buf.len());
        assert_eq!(reply.defects, [Defect::ControlBytes { line }]);
        if line == 1 {
            let caps = ehlo_capabilities(&reply);
            assert!(caps.iter().any(|c| c.name == "STARTTLS"), "{caps:?}");
        }
    }

    #[test]
    fn bare_lf_is_a_defect() {
        let (reply, _) = complete(b"250-a\n250 b\r\n");
        assert_eq!(reply.defects, [Defect::BareLf { line: 0 }]);
    }

    #[test]
    fn endless_continuation_is_cut_at_the_reply_byte_limit() {
        let limits = Limits {
            max_reply_bytes: 1000,
            ..Limits::default()
        };
        let buf = b"220-spam spam spam spam\r\n".repeat(100);
        assert_eq!(
            parse_reply(&buf, &limits),
            Err(ParseError::ReplyTooLarge { limit: 1000 })
        );
    }

    #[test]
    fn malformed_then_resync() {
        let buf = b"junk\r\n250 OK\r\n";
        let (len, _) = malformed(buf);
        assert_eq!(len, 6);
        assert_eq!(complete(&buf[len..]).0.code, ReplyCode(250));
    }

    #[test]
    fn missing_crlf_is_incomplete_until_limit() {
        let limits = Limits {
            max_line: 16,
            ..Limits::default()
        };
        assert_eq!(parse_reply(b"250 OK", &limits), Ok(Frame::Incomplete));
        assert_eq!(
            parse_reply(b"250 OK without any line end", &limits),
            Err(ParseError::LineTooLong { limit: 16 })
        );
    }

    #[test]
    fn line_over_limit_in_later_line() {
        let limits = Limits {
            max_line: 16,
            ..Limits::default()
        };
        let buf = b"250-short\r\n250 this line is far too long\r\n";
        assert_eq!(
            parse_reply(buf, &limits),
            Err(ParseError::LineTooLong { limit: 16 })
        );
    }

    #[test]
    fn too_many_lines() {
        let limits = Limits {
            max_reply_lines: 3,
            ..Limits::default()
        };
        let three = b"250-a\r\n250-b\r\n250 c\r\n";
        assert_eq!(complete(three).1, three.len());
        assert!(matches!(
            parse_reply(three, &limits),
            Ok(Frame::Complete { .. })
        ));
        let four = b"250-a\r\n250-b\r\n250-c\r\n250 d\r\n";
        assert_eq!(
            parse_reply(four, &limits),
            Err(ParseError::TooManyLines { limit: 3 })
        );
        // Unbounded continuation lines are refused before the final line arrives.
        assert_eq!(
            parse_reply(b"250-a\r\n250-b\r\n250-c\r\n250-d", &limits),
            Err(ParseError::TooManyLines { limit: 3 })
        );
    }

    #[test_case(b"mail from:<a@b.example>", "MAIL"; "lower case with colon")]
    #[test_case(b"EHLO client.example\r\n", "EHLO"; "ehlo")]
    #[test_case(b"  auth plain AGFAYg==\r\n", "AUTH"; "leading space")]
    #[test_case(b"QUIT\r\n", "QUIT"; "verb only")]
    #[test_case(b"StartTLS", "STARTTLS"; "mixed case no ending")]
    #[test_case(b"rcpt\tto:<x>", "RCPT"; "tab separator")]
    #[test_case(b"", ""; "empty")]
    #[test_case(b"\xffAUTH x", "\u{fffd}AUTH"; "non utf8")]
    fn verbs(line: &[u8], verb: &str) {
        assert_eq!(command_verb(line), verb);
    }

    #[test]
    fn displays() {
        assert_eq!(ReplyCode(250).to_string(), "250");
        assert_eq!(
            EnhancedStatus {
                class: 5,
                subject: 7,
                detail: 8
            }
            .to_string(),
            "5.7.8"
        );
        assert_eq!(ReplyCode(535).class(), 5);
    }

    /// xorshift64: deterministic pseudo-random bytes without a crate.
    fn xorshift(state: &mut u64) -> u64 {
        *state ^= *state << 13;
        *state ^= *state >> 7;
        *state ^= *state << 17;
        *state
    }

    /// Feeds `stream` to a [`Framer`] in pieces of `step` bytes and checks
    /// that every answer equals [`parse_reply`] on the same bytes.
    fn framer_agrees(stream: &[u8], step: usize, limits: &Limits) {
        let mut framer = Framer::new(*limits);
        let mut buf: Vec<u8> = Vec::new();
        let mut fed = 0;
        while fed < stream.len() || !buf.is_empty() {
            let take = step.min(stream.len() - fed);
            buf.extend_from_slice(&stream[fed..fed + take]);
            fed += take;
            loop {
                let got = framer.poll(&buf);
                assert_eq!(got, parse_reply(&buf, limits), "buffer {buf:?}");
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

    #[test]
    fn framer_agrees_with_parse_reply_at_every_split() {
        let mut stream = POSTFIX_EHLO.to_vec();
        stream.extend_from_slice(
            b"250 a\0b\r\n550-5.1.1 x\n550 y\r\njunk\r\n250-a\r\n251 b\r\n220 ok\r\n",
        );
        for step in 1..=stream.len() {
            framer_agrees(&stream, step, &limits());
        }
    }

    #[test]
    fn scanning_is_linear_in_the_reply_size() {
        // A 10 MiB reply (far over the default limit, raised here) arriving
        // in 16 KiB reads: each byte is searched once and checked once.
        let limits = Limits {
            max_reply_bytes: 16 << 20,
            max_reply_lines: 1 << 20,
            ..Limits::default()
        };
        let line = b"250-X-VENDOR-EXTENSION PARAM-A PARAM-B PARAM-C PARAM-D\r\n";
        let mut reply = line.repeat((10 << 20) / line.len());
        reply.extend_from_slice(b"250 CHUNKING\r\n");
        let mut framer = Framer::new(limits);
        let mut end = 0;
        let outcome = loop {
            end = (end + 16 * 1024).min(reply.len());
            match framer.poll(&reply[..end]) {
                Ok(Frame::Incomplete) if end < reply.len() => continue,
                other => break other,
            }
        };
        assert!(matches!(outcome, Ok(Frame::Complete { len, .. }) if len == reply.len()));
        let scanned = framer.scanned();
        assert!(
            scanned <= 2 * reply.len() as u64,
            "scanned {scanned} bytes for a {} byte reply",
            reply.len()
        );
    }

    #[test]
    fn random_input_never_panics() {
        // Fragments make structured junk likelier to reach the deeper paths
        // than uniform bytes would.
        const FRAGMENTS: &[&[u8]] = &[
            b"250", b"251", b"-", b" ", b"\r\n", b"\n", b"\r", b"2.0.0", b"5.7.8", b"OK", b"\0",
            b"\x1b", b"999", b"\xff", b"220",
        ];
        let limits = Limits {
            max_line: 64,
            max_literal: 64,
            max_lines: 8,
            max_reply_lines: 8,
            max_reply_bytes: 4096,
            max_body: 1 << 20,
        };
        let mut state = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..20_000 {
            let mut buf = Vec::new();
            let parts = xorshift(&mut state) % 12;
            for _ in 0..parts {
                let r = xorshift(&mut state);
                if r % 3 == 0 {
                    buf.push((r >> 8) as u8);
                } else {
                    buf.extend_from_slice(FRAGMENTS[(r >> 8) as usize % FRAGMENTS.len()]);
                }
            }
            match parse_reply(&buf, &limits) {
                Ok(Frame::Complete { len, .. }) | Ok(Frame::Malformed { len, .. }) => {
                    assert!(len > 0 && len <= buf.len(), "len {len} for {buf:?}");
                }
                Ok(Frame::Incomplete) | Err(_) => {}
            }
            let step = 1 + (xorshift(&mut state) % 7) as usize;
            framer_agrees(&buf, step, &limits);
        }
    }
}

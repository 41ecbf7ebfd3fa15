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

use super::line::LineCursor;
use super::{Capability, Frame, Limits, ParseError, Step, Streaming, show};

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
#[derive(Debug, Clone)]
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
/// A whole-buffer convenience over [`Framer`], which a connection keeps so
/// that a response arriving in many reads is scanned once.
///
/// # Errors
/// [`ParseError::LineTooLong`], [`ParseError::LiteralTooLarge`] and
/// [`ParseError::TooManyLines`] per `limits`.
pub fn parse_response(buf: &[u8], limits: &Limits) -> super::Result<Response> {
    Framer::new(*limits).poll(buf)
}

/// A literal announced and not yet wholly framed.
#[derive(Debug, Clone, Copy)]
struct Pending {
    /// Literal bytes still to come.
    remaining: usize,
    /// Where the literal starts: in the buffer, or in `Kept::bytes` once streaming.
    start: usize,
}

/// What a streamed response keeps of the bytes it released.
#[derive(Debug, Clone, Default)]
struct Kept {
    /// Lines and literal previews, in order; segments index into this.
    bytes: Vec<u8>,
    /// Literal bytes that may still be kept as preview.
    preview_left: usize,
}

/// Frames IMAP responses (lines and literals) from a read buffer that
/// grows between calls, keeping its place: the search for a line ending
/// resumes where it stopped, literal bytes are counted and never searched.
/// A response of n bytes costs O(n) however many reads it takes.
///
/// ```text
/// poll(b"* 1 FETCH (BODY[] {5}\r\nab")        Incomplete  (3 literal bytes awaited)
/// poll(b"* 1 FETCH (BODY[] {5}\r\nabcde)\r\n") Complete    (only ")\r\n" searched)
/// ```
///
/// With [`Framer::set_streaming`], a response growing past the threshold
/// is released as it arrives ([`Step::Partial`]); the lines are kept and
/// the literals keep a preview, so the final value's `literals` hold at most
/// `preview` bytes in total while its text keeps every `{n}` marker as sent.
///
/// Contract: between polls the caller only appends to the buffer, except
/// that it removes the bytes of a `Partial` or of a finished frame from the
/// front; the framer then starts afresh. Without streaming, results equal
/// [`parse_response`] on the same bytes.
#[derive(Debug, Clone)]
pub struct Framer {
    limits: Limits,
    streaming: Option<Streaming>,
    segments: Vec<Segment>,
    /// End of what is framed, in the buffer.
    pos: usize,
    pending: Option<Pending>,
    /// The first byte of the response (`+` marks a continuation request).
    first: Option<u8>,
    cursor: LineCursor,
    /// `Some` once the current response streams.
    kept: Option<Kept>,
    /// Bytes examined since the framer was made (LF search, literal markers).
    scanned: u64,
}

impl Framer {
    /// A framer enforcing `limits` (`max_line`, `max_literal`, `max_lines`),
    /// holding every response whole.
    pub fn new(limits: Limits) -> Framer {
        Framer {
            limits,
            streaming: None,
            segments: Vec::new(),
            pos: 0,
            pending: None,
            first: None,
            cursor: LineCursor::default(),
            kept: None,
            scanned: 0,
        }
    }

    /// Streams responses bigger than `streaming.above` (`None`: hold all).
    /// A streamed literal may be up to `max_body` bytes instead of `max_literal`.
    pub fn set_streaming(&mut self, streaming: Option<Streaming>) {
        self.streaming = streaming;
    }

    /// Bytes examined so far over all responses (literal bytes excluded:
    /// they are counted, not searched).
    pub fn scanned(&self) -> u64 {
        self.scanned
    }

    /// True while a streamed response is under way (after a `Partial`).
    pub fn is_streaming(&self) -> bool {
        self.kept.is_some()
    }

    /// Forgets a partly framed response (the buffer it referred to is gone).
    pub fn reset(&mut self) {
        self.segments.clear();
        self.pos = 0;
        self.pending = None;
        self.first = None;
        self.cursor.reset();
        self.kept = None;
    }

    /// Frames the response at the front of `buf`, continuing from the last
    /// call. Never answers `Partial` (streaming off).
    ///
    /// # Errors
    /// As [`parse_response`]; the framer is reset.
    pub fn poll(&mut self, buf: &[u8]) -> super::Result<Response> {
        let streaming = self.streaming.take();
        let step = self.poll_step(buf);
        self.streaming = streaming;
        step.map(|step| match step {
            Step::Frame(frame) => frame,
            // Unreachable with streaming off; never hand out a half response.
            Step::Partial { .. } => Frame::Incomplete,
        })
    }

    /// Frames the response at the front of `buf`, continuing from the last
    /// call, streaming it when it is big (see [`Framer::set_streaming`]).
    ///
    /// # Errors
    /// As [`parse_response`] (`max_body` for streamed literals); the framer is reset.
    pub fn poll_step(&mut self, buf: &[u8]) -> std::result::Result<Step<Response>, ParseError> {
        if buf.len() < self.pos {
            self.reset();
        }
        let result = self.advance(buf);
        match &result {
            Ok(Step::Partial { len }) => {
                // The caller removes these bytes: shift the place kept.
                self.pos -= len;
                if let Some(p) = &mut self.pending
                    && self.kept.is_none()
                {
                    p.start -= len;
                }
            }
            Ok(Step::Frame(Frame::Incomplete)) => {}
            _ => self.reset(),
        }
        result
    }

    fn advance(&mut self, buf: &[u8]) -> std::result::Result<Step<Response>, ParseError> {
        let limits = self.limits;
        loop {
            if let Some(pending) = self.pending {
                let available = buf.len() - self.pos;
                if self.kept.is_none()
                    && available < pending.remaining
                    && !self.start_keeping_past(buf, pending.remaining)
                {
                    return Ok(Step::Frame(Frame::Incomplete));
                }
                // Re-read: keeping moved the literal's start into `kept`.
                let Some(pending) = self.pending else {
                    continue;
                };
                let take = available.min(pending.remaining);
                let literal = match &mut self.kept {
                    Some(kept) => {
                        let keep = take.min(kept.preview_left);
                        kept.bytes
                            .extend_from_slice(&buf[self.pos..self.pos + keep]);
                        kept.preview_left -= keep;
                        pending.start..kept.bytes.len()
                    }
                    None => pending.start..self.pos + take,
                };
                self.pos += take;
                if take < pending.remaining {
                    self.pending = Some(Pending {
                        remaining: pending.remaining - take,
                        ..pending
                    });
                    return Ok(self.release());
                }
                self.pending = None;
                if let Some(last) = self.segments.last_mut() {
                    last.literal = Some(literal);
                }
            }
            // Checked before waiting for more: the previous line announced
            // a literal, so the response needs at least one more line.
            if self.segments.len() >= limits.max_lines {
                return Err(ParseError::TooManyLines {
                    limit: limits.max_lines,
                });
            }
            let pos = self.pos;
            let Some(line) = self
                .cursor
                .find(buf, pos, limits.max_line, &mut self.scanned)?
            else {
                self.start_keeping_past(buf, 0);
                return Ok(self.release());
            };
            let content = pos..pos + line.content_len;
            self.pos += line.len;
            if self.segments.is_empty() {
                self.first = buf.get(pos).copied();
            }
            // A continuation request carries no literal (RFC 9051 §7.5), and
            // base64 challenges never end in "}".
            let is_continuation = self.segments.is_empty() && self.first == Some(b'+');
            let announced = if is_continuation {
                None
            } else {
                literal_size(&buf[content.clone()])
            };
            let line_range = match &mut self.kept {
                Some(kept) => {
                    let start = kept.bytes.len();
                    kept.bytes.extend_from_slice(&buf[content]);
                    start..kept.bytes.len()
                }
                None => content,
            };
            self.segments.push(Segment {
                line: line_range,
                literal: None,
            });
            let Some(size) = announced else {
                return Ok(Step::Frame(self.finish(buf)));
            };
            // Refuse before waiting for the bytes: a hostile
            // `{99999999999999}` must not make the connection wait or
            // buffer without bound. A streamed literal is never held.
            let limit = match self.streaming {
                Some(_) => limits.max_body.max(limits.max_literal),
                None => limits.max_literal,
            };
            let too_large = ParseError::LiteralTooLarge { size, limit };
            let size = match usize::try_from(size) {
                Ok(size) if size <= limit => size,
                _ => return Err(too_large),
            };
            if self.kept.is_none()
                && (size > limits.max_literal || self.pos.checked_add(size).is_none())
            {
                // Only a streamed response may carry a literal over
                // `max_literal`; this one streams from here on.
                match self.streaming {
                    Some(s) => self.start_keeping(buf, s),
                    None => return Err(too_large),
                }
            }
            let start = match &self.kept {
                Some(kept) => kept.bytes.len(),
                None => self.pos,
            };
            self.pending = Some(Pending {
                remaining: size,
                start,
            });
        }
    }

    /// Starts keeping when streaming is on and the response, with `more`
    /// bytes still awaited, outgrows the threshold; true when keeping.
    fn start_keeping_past(&mut self, buf: &[u8], more: usize) -> bool {
        if self.kept.is_none()
            && let Some(s) = self.streaming
            && self.pos.saturating_add(more) > s.above
        {
            self.start_keeping(buf, s);
        }
        self.kept.is_some()
    }

    /// Switches the current response to streaming: copies the lines and
    /// literals framed so far out of the buffer (literals up to the preview).
    fn start_keeping(&mut self, buf: &[u8], streaming: Streaming) {
        if self.kept.is_some() {
            return;
        }
        let mut kept = Kept {
            bytes: Vec::new(),
            preview_left: streaming.preview,
        };
        for segment in &mut self.segments {
            let start = kept.bytes.len();
            kept.bytes.extend_from_slice(&buf[segment.line.clone()]);
            segment.line = start..kept.bytes.len();
            if let Some(literal) = &segment.literal {
                let keep = literal.len().min(kept.preview_left);
                let start = kept.bytes.len();
                kept.bytes
                    .extend_from_slice(&buf[literal.start..literal.start + keep]);
                kept.preview_left -= keep;
                segment.literal = Some(start..kept.bytes.len());
            }
        }
        if let Some(pending) = &mut self.pending {
            pending.start = kept.bytes.len();
        }
        self.kept = Some(kept);
    }

    /// `Incomplete`, or for a streamed response the bytes framed so far.
    fn release(&self) -> Step<Response> {
        match self.kept {
            Some(_) if self.pos > 0 => Step::Partial { len: self.pos },
            _ => Step::Frame(Frame::Incomplete),
        }
    }

    /// The whole response is framed: parse it.
    fn finish(&mut self, buf: &[u8]) -> Frame<Response> {
        let len = self.pos;
        let bytes = match &self.kept {
            Some(kept) => &kept.bytes[..],
            None => buf,
        };
        match parse_framed(bytes, &self.segments) {
            Ok(value) => Frame::Complete { value, len },
            Err(reason) => Frame::Malformed { len, reason },
        }
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
    // The code ends at the first `]` (resp-specials); an `[` inside is an
    // ATOM-CHAR (RFC 9051 §9), so `[CAPABILITY IMAP4rev1 X[1]` is kept rather
    // than the whole greeting thrown away.
    let inner = &code_and_rest[..close];
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
    fn open_bracket_inside_a_response_code_keeps_the_response() {
        let buf = b"* OK [CAPABILITY IMAP4rev1 X[1 STARTTLS] ready\r\n";
        let Ok(Frame::Complete {
            value: response, ..
        }) = parse_response(buf, &limits())
        else {
            panic!("expected a response");
        };
        let code = response.code().expect("code");
        assert_eq!(code.name, "CAPABILITY");
        assert_eq!(code.args, "IMAP4rev1 X[1 STARTTLS");
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
            max_body: 1 << 20,
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

    /// Feeds `stream` to a [`Framer`] in pieces of `step` bytes and checks
    /// that every answer equals [`parse_response`] on the same bytes.
    fn framer_agrees(stream: &[u8], step: usize, limits: &Limits) {
        let mut framer = Framer::new(*limits);
        let mut buf: Vec<u8> = Vec::new();
        let mut fed = 0;
        loop {
            let take = step.min(stream.len() - fed);
            buf.extend_from_slice(&stream[fed..fed + take]);
            fed += take;
            loop {
                let got = framer.poll(&buf);
                assert_eq!(got, parse_response(&buf, limits), "buffer {buf:?}");
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

    /// Feeds `stream` to a streaming [`Framer`] in pieces of `step` bytes,
    /// removing what it releases; returns the frames and the byte count
    /// each covered (released bytes included).
    fn stream_through(
        stream: &[u8],
        step: usize,
        limits: &Limits,
        streaming: Streaming,
    ) -> Vec<(Frame<Response>, usize)> {
        let mut framer = Framer::new(*limits);
        framer.set_streaming(Some(streaming));
        let mut buf: Vec<u8> = Vec::new();
        let mut out = Vec::new();
        let mut released = 0;
        let mut fed = 0;
        while fed < stream.len() {
            let take = step.min(stream.len() - fed);
            buf.extend_from_slice(&stream[fed..fed + take]);
            fed += take;
            loop {
                match framer.poll_step(&buf).expect("frames") {
                    Step::Partial { len } => {
                        assert!(len > 0 && len <= buf.len());
                        buf.drain(..len);
                        released += len;
                    }
                    Step::Frame(Frame::Incomplete) => break,
                    Step::Frame(frame) => {
                        let (Frame::Complete { len, .. } | Frame::Malformed { len, .. }) = frame
                        else {
                            unreachable!()
                        };
                        buf.drain(..len);
                        out.push((frame, released + len));
                        released = 0;
                    }
                }
                // A buffer that grew must keep growing bounded: the framer
                // releases what it framed.
                assert!(buf.len() <= 2 * step + 64, "buffer holds {}", buf.len());
            }
        }
        out
    }

    fn big_fetch(size: usize) -> (Vec<u8>, Vec<u8>) {
        let literal: Vec<u8> = (0..size).map(|i| b"ab\r\n{9}\0*"[i % 9]).collect();
        let mut buf = format!("* 1 FETCH (UID 9 BODY[] {{{size}}}\r\n").into_bytes();
        buf.extend_from_slice(&literal);
        buf.extend_from_slice(b" FLAGS (\\Seen))\r\n");
        (buf, literal)
    }

    #[test]
    fn framer_agrees_with_parse_response_at_every_split() {
        let (fetch, _) = rfc9051_fetch_header();
        let mut stream = DOVECOT_GREETING.to_vec();
        stream.extend_from_slice(&fetch);
        stream.extend_from_slice(
            b"* 1 FETCH (BODY[1] {3}\r\nabc BODY[2] {2+}\r\nxy BODY[3] {0}\r\n)\r\n+ go\r\njunk\0\r\na1 OK done\r\n",
        );
        for step in 1..=stream.len() {
            framer_agrees(&stream, step, &limits());
        }
    }

    #[test]
    fn scanning_skips_literal_bytes() {
        // A 10 MiB literal arriving in 16 KiB reads: only the lines around
        // it are searched, however the bytes are split.
        let limits = Limits::default();
        let (fetch, _) = big_fetch(10 << 20);
        let mut framer = Framer::new(limits);
        let mut end = 0;
        let outcome = loop {
            end = (end + 16 * 1024).min(fetch.len());
            match framer.poll(&fetch[..end]) {
                Ok(Frame::Incomplete) if end < fetch.len() => continue,
                other => break other,
            }
        };
        assert!(matches!(outcome, Ok(Frame::Complete { len, .. }) if len == fetch.len()));
        assert!(
            framer.scanned() <= 2 * fetch.len() as u64,
            "scanned {}",
            framer.scanned()
        );
        assert!(framer.scanned() < 1024, "scanned {}", framer.scanned());
    }

    #[test]
    fn big_literal_streams_with_a_preview() {
        let (fetch, literal) = big_fetch(300_000);
        let mut stream = fetch.clone();
        stream.extend_from_slice(b"a1 OK done\r\n");
        let streaming = Streaming {
            above: 100_000,
            preview: 1000,
        };
        for step in [1, 7, 4096, 16 * 1024, 65_536] {
            let frames = stream_through(&stream, step, &limits(), streaming);
            assert_eq!(frames.len(), 2, "step {step}");
            let (first, len) = &frames[0];
            assert_eq!(*len, fetch.len());
            assert_eq!(
                *first,
                Frame::Complete {
                    value: untagged(
                        None,
                        None,
                        "1 FETCH (UID 9 BODY[] {300000} FLAGS (\\Seen))",
                        &[&literal[..1000]]
                    ),
                    len: match first {
                        Frame::Complete { len, .. } => *len,
                        _ => 0,
                    }
                }
            );
            assert_eq!(frames[1].1, 12);
        }
    }

    #[test]
    fn literal_over_max_literal_only_when_streamed() {
        let small = Limits {
            max_literal: 100,
            max_body: 10_000,
            ..Limits::default()
        };
        let (fetch, literal) = big_fetch(5000);
        assert_eq!(
            parse_response(&fetch, &small),
            Err(ParseError::LiteralTooLarge {
                size: 5000,
                limit: 100
            })
        );
        let streaming = Streaming {
            above: 1 << 20,
            preview: 64,
        };
        let frames = stream_through(&fetch, 512, &small, streaming);
        assert!(matches!(
            &frames[..],
            [(Frame::Complete { value: Response::Untagged { literals, .. }, .. }, len)]
                if literals[..] == [literal[..64].to_vec()] && *len == fetch.len()
        ));
        let (huge, _) = big_fetch(10_001);
        let mut framer = Framer::new(small);
        framer.set_streaming(Some(streaming));
        assert_eq!(
            framer.poll_step(&huge[..40]),
            Err(ParseError::LiteralTooLarge {
                size: 10_001,
                limit: 10_000
            })
        );
    }

    #[test]
    fn many_small_literals_stream_with_a_bounded_preview() {
        let mut stream = b"* 1 FETCH (".to_vec();
        for i in 0..2000 {
            stream.extend_from_slice(format!("BODY[{i}] {{100}}\r\n").as_bytes());
            stream.extend_from_slice(&[b'x'; 100]);
            stream.push(b' ');
        }
        stream.extend_from_slice(b")\r\n");
        let streaming = Streaming {
            above: 10_000,
            preview: 250,
        };
        let frames = stream_through(&stream, 999, &limits(), streaming);
        let [(Frame::Complete { value, .. }, len)] = &frames[..] else {
            panic!("{frames:?}");
        };
        assert_eq!(*len, stream.len());
        let Response::Untagged { literals, text, .. } = value else {
            panic!("{value:?}");
        };
        assert_eq!(literals.len(), 2000);
        assert_eq!(literals.iter().map(Vec::len).sum::<usize>(), 250);
        assert!(text.starts_with("1 FETCH (BODY[0] {100} BODY[1] {100}"));
    }

    #[test]
    fn streaming_small_responses_agree_with_parse_response() {
        let (fetch, _) = rfc9051_fetch_header();
        let mut stream = DOVECOT_GREETING.to_vec();
        stream.extend_from_slice(&fetch);
        stream.extend_from_slice(b"a1 OK done\r\n");
        let want: Vec<Frame<Response>> = {
            let mut pos = 0;
            let mut out = Vec::new();
            while pos < stream.len() {
                let frame = parse_response(&stream[pos..], &limits()).expect("ok");
                let Frame::Complete { len, .. } = &frame else {
                    panic!()
                };
                pos += len;
                out.push(frame);
            }
            out
        };
        for step in [1, 5, 100] {
            let got: Vec<Frame<Response>> =
                stream_through(&stream, step, &limits(), Streaming::default())
                    .into_iter()
                    .map(|(f, _)| f)
                    .collect();
            assert_eq!(got, want);
        }
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
            max_body: 1 << 20,
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
            let step = 1 + (xorshift(&mut state) % 7) as usize;
            framer_agrees(&buf, step, &limits);
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

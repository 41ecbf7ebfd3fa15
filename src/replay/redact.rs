//! Masks the secrets an operator sends, so they never reach a recording, an
//! export or (if the TUI asks) the screen.
//!
//! The [`Redactor`] sees every entry of a session in order, both directions,
//! because whether a client line is a secret depends on what came before: a
//! line answering an SMTP `334` challenge is a SASL response, the same bytes
//! after `250` are a command. A secret is replaced by a placeholder that keeps
//! the line's shape and says how many bytes it replaced:
//!
//! ```text
//! C: AUTH PLAIN AGFsaWNlAHNlY3JldA==     ->  AUTH PLAIN <redacted 20 bytes>
//! S: 334 VXNlcm5hbWU6
//! C: YWxpY2U=                             ->  <redacted 8 bytes>
//! C: a1 LOGIN alice "s3cret"              ->  a1 LOGIN alice <redacted 8 bytes>
//! C: a1 LOGIN alice {6}
//! C: s3cret                               ->  <redacted 6 bytes>
//! C: PASS s3cret                          ->  PASS <redacted 6 bytes>
//! ```
//!
//! What is masked:
//! - SMTP/LMTP (RFC 4954 §4): the initial response of `AUTH mech ir`, and
//!   every client line from `AUTH`, or from a `334` reply, until a reply other
//!   than `334` (LOGIN user name and password, PLAIN, XOAUTH2, OAUTHBEARER,
//!   CRAM-MD5 responses).
//! - IMAP (RFC 9051 §6.2.2, §6.2.3): the password of `tag LOGIN user pass`
//!   (atom, quoted string or `{n}` literal, whose bytes are then masked in the
//!   data that follows); the initial response of `tag AUTHENTICATE mech ir`
//!   and every client line until that tag's completion.
//! - POP3 (RFC 1939 §7, RFC 5034 §4): `PASS` (the whole rest of the line, a
//!   password may hold spaces), the `APOP` digest, the initial response of
//!   `AUTH mech ir` and every client line until `+OK` or `-ERR`.
//!
//! Not masked: user names outside SASL, the `*` that cancels an exchange,
//! and an empty initial response (`=`). When in doubt the redactor masks:
//! a wrongly hidden line costs a little teaching, a leaked password costs more.
//! It is idempotent: a placeholder is never masked again, so a redacted
//! recording can go through it again (export, viewer) unchanged.

use std::ops::Range;

use crate::session::{Direction, Event};
use crate::target::Protocol;

/// Stateful masker for one session's entries, fed in session order.
#[derive(Debug, Clone)]
pub struct Redactor {
    protocol: Protocol,
    /// A SASL exchange is open: client lines are SASL responses. Holds the
    /// IMAP tag whose completion ends it (empty for SMTP and POP3).
    sasl: Option<Vec<u8>>,
    /// IMAP: the client still owes the bytes of a literal (RFC 9051 §4.3).
    literal: Option<Literal>,
}

#[derive(Debug, Clone)]
struct Literal {
    /// Bytes still to come.
    remaining: usize,
    /// The literal is a LOGIN password.
    secret: bool,
    /// What the rest of the line holds once the literal is through.
    then: AfterLiteral,
    /// Tag of the command, so that its completion cancels the literal.
    tag: Vec<u8>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AfterLiteral {
    /// The literal was LOGIN's user name: `SP password` follows.
    Password,
    /// More of the command, possibly ending in another literal.
    Command,
}

impl Redactor {
    /// A redactor for a session speaking `protocol`, with no exchange open.
    pub fn new(protocol: Protocol) -> Redactor {
        Redactor {
            protocol,
            sasl: None,
            literal: None,
        }
    }

    /// Feeds one entry; returns the bytes to keep instead of `raw` when it
    /// held a secret, `None` when it is shown as is. Server entries only move
    /// the state and are never masked.
    pub fn mask_bytes(&mut self, direction: Direction, raw: &[u8]) -> Option<Vec<u8>> {
        match direction {
            Direction::Server => {
                self.server(raw);
                None
            }
            Direction::Client => {
                let spans = self.client(raw);
                splice(raw, &spans)
            }
        }
    }

    /// Feeds one engine event: entries go through [`Redactor::mask_bytes`],
    /// a new connection or a close ends any open exchange.
    pub fn mask(&mut self, event: &Event) -> Option<Vec<u8>> {
        match event {
            Event::Data(entry) | Event::Malformed { entry, .. } => {
                self.mask_bytes(entry.direction, &entry.raw)
            }
            Event::Connected { .. } | Event::Closed { .. } => {
                self.sasl = None;
                self.literal = None;
                None
            }
            _ => None,
        }
    }

    /// Like [`Redactor::mask`], returning the whole event with its bytes
    /// masked, or `None` when it is shown as is.
    pub fn mask_event(&mut self, event: &Event) -> Option<Event> {
        let raw = self.mask(event)?;
        let mut event = event.clone();
        if let Event::Data(entry) | Event::Malformed { entry, .. } = &mut event {
            entry.raw = raw;
        }
        Some(event)
    }

    fn server(&mut self, raw: &[u8]) {
        match self.protocol {
            // RFC 4954 §4: 334 carries a challenge and waits for a response;
            // any other reply ends the exchange.
            Protocol::Smtp | Protocol::Lmtp => {
                self.sasl = raw.starts_with(b"334").then(Vec::new);
            }
            Protocol::Imap => {
                let (tag, _) = token(raw, 0..line_body_end(raw, 0, raw.len()));
                let tag = &raw[tag];
                if self.sasl.as_deref() == Some(tag) {
                    self.sasl = None;
                }
                // A completion of the command owing a literal means the
                // server refused it: the literal will not be sent.
                if self.literal.as_ref().is_some_and(|l| l.tag == tag) {
                    self.literal = None;
                }
            }
            Protocol::Pop3 => {
                if starts_with_ignore_case(raw, b"+OK") || starts_with_ignore_case(raw, b"-ERR") {
                    self.sasl = None;
                }
            }
        }
    }

    /// The secret byte ranges of a client entry, in order.
    fn client(&mut self, raw: &[u8]) -> Vec<Range<usize>> {
        let mut spans = Vec::new();
        let mut pos = 0;
        while pos < raw.len() {
            if self.literal.is_some() {
                pos = self.literal_bytes(raw, pos, &mut spans);
                continue;
            }
            let end = next_line(raw, pos);
            let body = pos..line_body_end(raw, pos, end);
            if self.sasl.is_some() {
                // A SASL response, or `*` to cancel (RFC 4954 §4, RFC 9051 §6.2.2).
                if &raw[body.clone()] != b"*" {
                    spans.push(body);
                }
            } else {
                match self.protocol {
                    Protocol::Smtp | Protocol::Lmtp => self.smtp_line(raw, body, &mut spans),
                    Protocol::Imap => self.imap_line(raw, body, &mut spans),
                    Protocol::Pop3 => self.pop3_line(raw, body, &mut spans),
                }
            }
            pos = end;
        }
        spans
    }

    fn smtp_line(&mut self, raw: &[u8], body: Range<usize>, spans: &mut Vec<Range<usize>>) {
        let (verb, rest) = token(raw, body);
        if raw[verb].eq_ignore_ascii_case(b"AUTH") {
            self.sasl = Some(Vec::new());
            push_initial_response(raw, rest, spans);
        }
    }

    fn pop3_line(&mut self, raw: &[u8], body: Range<usize>, spans: &mut Vec<Range<usize>>) {
        let (verb, rest) = token(raw, body);
        let verb = &raw[verb];
        if verb.eq_ignore_ascii_case(b"PASS") {
            push_nonempty(spans, rest);
        } else if verb.eq_ignore_ascii_case(b"APOP") {
            let (_user, digest) = token(raw, rest);
            push_nonempty(spans, digest);
        } else if verb.eq_ignore_ascii_case(b"AUTH") {
            self.sasl = Some(Vec::new());
            push_initial_response(raw, rest, spans);
        }
    }

    fn imap_line(&mut self, raw: &[u8], body: Range<usize>, spans: &mut Vec<Range<usize>>) {
        let (tag, rest) = token(raw, body.clone());
        let (command, args) = token(raw, rest);
        let tag = raw[tag].to_vec();
        let command = &raw[command];
        if command.eq_ignore_ascii_case(b"LOGIN") {
            self.imap_login(raw, args, tag, spans);
        } else if command.eq_ignore_ascii_case(b"AUTHENTICATE") {
            push_initial_response(raw, args, spans);
            self.sasl = Some(tag);
        } else {
            self.owe_literal(raw, body, tag, AfterLiteral::Command, false);
        }
    }

    /// `LOGIN SP userid SP password`, each an astring (RFC 9051 §9).
    fn imap_login(
        &mut self,
        raw: &[u8],
        args: Range<usize>,
        tag: Vec<u8>,
        spans: &mut Vec<Range<usize>>,
    ) {
        let a = &raw[args.clone()];
        let user_len = if a.first() == Some(&b'"') {
            match quoted_len(a) {
                Some(n) => n,
                // An unterminated quote: the password may be inside it.
                None => {
                    push_nonempty(spans, args);
                    return;
                }
            }
        } else if literal_size(a).is_some() {
            self.owe_literal(raw, args, tag, AfterLiteral::Password, false);
            return;
        } else {
            a.iter().position(|&b| b == b' ').unwrap_or(a.len())
        };
        let password = (args.start + user_len + 1).min(args.end)..args.end;
        self.imap_password(raw, password, tag, spans);
    }

    /// The password argument: masked, or owed as a literal that is masked.
    fn imap_password(
        &mut self,
        raw: &[u8],
        password: Range<usize>,
        tag: Vec<u8>,
        spans: &mut Vec<Range<usize>>,
    ) {
        if literal_size(&raw[password.clone()]).is_some() {
            self.owe_literal(raw, password, tag, AfterLiteral::Command, true);
        } else {
            push_nonempty(spans, password);
        }
    }

    /// Notes a literal announced at the end of `body`, if any.
    fn owe_literal(
        &mut self,
        raw: &[u8],
        body: Range<usize>,
        tag: Vec<u8>,
        then: AfterLiteral,
        secret: bool,
    ) {
        let line = &raw[body];
        let Some(open) = line.iter().rposition(|&b| b == b'{') else {
            return;
        };
        let open = if open > 0 && line[open - 1] == b'~' {
            open - 1
        } else {
            open
        };
        if let Some(remaining) = literal_size(&line[open..]) {
            self.literal = Some(Literal {
                remaining,
                secret,
                then,
                tag,
            });
        }
    }

    /// Consumes literal bytes from `pos`, then the rest of that line.
    fn literal_bytes(&mut self, raw: &[u8], pos: usize, spans: &mut Vec<Range<usize>>) -> usize {
        let Some(literal) = self.literal.take() else {
            return raw.len();
        };
        let rest = &raw[pos..];
        // An already-redacted literal is shorter or longer than announced.
        let placeholder = if literal.secret {
            placeholder_len(rest)
        } else {
            None
        };
        let taken = placeholder.unwrap_or(literal.remaining.min(rest.len()));
        if literal.secret {
            push_nonempty(spans, pos..pos + taken);
        }
        let pos = pos + taken;
        if placeholder.is_none() && taken < literal.remaining {
            self.literal = Some(Literal {
                remaining: literal.remaining - taken,
                ..literal
            });
            return pos;
        }
        let end = next_line(raw, pos);
        let body = pos..line_body_end(raw, pos, end);
        match literal.then {
            AfterLiteral::Password => {
                let password = (body.start + 1).min(body.end)..body.end;
                self.imap_password(raw, password, literal.tag, spans);
            }
            AfterLiteral::Command => {
                self.owe_literal(raw, body, literal.tag, AfterLiteral::Command, false)
            }
        }
        end
    }
}

/// `AUTH mech [initial-response]`: the response, unless absent or `=` (empty).
fn push_initial_response(raw: &[u8], rest: Range<usize>, spans: &mut Vec<Range<usize>>) {
    let (_mechanism, response) = token(raw, rest);
    if &raw[response.clone()] != b"=" {
        push_nonempty(spans, response);
    }
}

fn push_nonempty(spans: &mut Vec<Range<usize>>, span: Range<usize>) {
    if !span.is_empty() {
        spans.push(span);
    }
}

/// Splits `span` at its first space: (token, rest after the space).
fn token(raw: &[u8], span: Range<usize>) -> (Range<usize>, Range<usize>) {
    match raw[span.clone()].iter().position(|&b| b == b' ') {
        Some(i) => (span.start..span.start + i, span.start + i + 1..span.end),
        None => (span.clone(), span.end..span.end),
    }
}

/// Index just after the next LF at or after `pos`, or the end.
fn next_line(raw: &[u8], pos: usize) -> usize {
    raw[pos..]
        .iter()
        .position(|&b| b == b'\n')
        .map_or(raw.len(), |i| pos + i + 1)
}

/// End of the line's content, before its CRLF or bare LF.
fn line_body_end(raw: &[u8], start: usize, end: usize) -> usize {
    let line = &raw[start..end];
    let trimmed = line
        .strip_suffix(b"\n")
        .map_or(line, |l| l.strip_suffix(b"\r").unwrap_or(l));
    start + trimmed.len()
}

fn starts_with_ignore_case(raw: &[u8], prefix: &[u8]) -> bool {
    raw.get(..prefix.len())
        .is_some_and(|p| p.eq_ignore_ascii_case(prefix))
}

/// Length of a quoted string at the start of `a`, quotes included (RFC 9051 §4.3).
fn quoted_len(a: &[u8]) -> Option<usize> {
    let mut escaped = false;
    for (i, &b) in a.iter().enumerate().skip(1) {
        match b {
            _ if escaped => escaped = false,
            b'\\' => escaped = true,
            b'"' => return Some(i + 1),
            _ => {}
        }
    }
    None
}

/// The size of a literal announcement that is all of `a`: `{n}`, `{n+}`
/// (LITERAL+, RFC 7888) or `~{n}` (literal8, RFC 3516).
fn literal_size(a: &[u8]) -> Option<usize> {
    let a = a.strip_prefix(b"~").unwrap_or(a);
    let digits = a.strip_prefix(b"{")?.strip_suffix(b"}")?;
    let digits = digits.strip_suffix(b"+").unwrap_or(digits);
    if digits.is_empty() || digits.len() > 19 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(digits).ok()?.parse().ok()
}

/// The placeholder that replaces `n` secret bytes.
fn placeholder(n: usize) -> String {
    if n == 1 {
        "<redacted 1 byte>".to_string()
    } else {
        format!("<redacted {n} bytes>")
    }
}

/// Length of a placeholder at the start of `a`, if there is one.
fn placeholder_len(a: &[u8]) -> Option<usize> {
    let rest = a.strip_prefix(b"<redacted ")?;
    let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
    if digits == 0 {
        return None;
    }
    let tail = &rest[digits..];
    let suffix = [&b" bytes>"[..], b" byte>"]
        .into_iter()
        .find(|s| tail.starts_with(s))?;
    Some(b"<redacted ".len() + digits + suffix.len())
}

/// `raw` with every span replaced by its placeholder; `None` when nothing
/// changed (no spans, or only spans that already are placeholders).
fn splice(raw: &[u8], spans: &[Range<usize>]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(raw.len());
    let mut changed = false;
    let mut last = 0;
    for span in spans {
        out.extend_from_slice(&raw[last..span.start]);
        let secret = &raw[span.clone()];
        if placeholder_len(secret) == Some(secret.len()) {
            out.extend_from_slice(secret);
        } else {
            out.extend_from_slice(placeholder(secret.len()).as_bytes());
            changed = true;
        }
        last = span.end;
    }
    out.extend_from_slice(&raw[last..]);
    changed.then_some(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    use Direction::{Client as C, Server as S};

    /// Runs a conversation and returns what each client line became.
    fn run(protocol: Protocol, steps: &[(Direction, &str)]) -> Vec<String> {
        let mut r = Redactor::new(protocol);
        steps
            .iter()
            .filter_map(|&(dir, line)| {
                let masked = r.mask_bytes(dir, line.as_bytes());
                (dir == C)
                    .then(|| masked.map_or(line.to_string(), |m| String::from_utf8(m).unwrap()))
            })
            .collect()
    }

    #[test]
    fn smtp_auth_plain_with_initial_response() {
        let out = run(
            Protocol::Smtp,
            &[
                (C, "AUTH PLAIN AGFsaWNlAHNlY3JldA==\r\n"),
                (S, "235 2.7.0 ok\r\n"),
                (C, "MAIL FROM:<a@b>\r\n"),
            ],
        );
        assert_eq!(
            out,
            ["AUTH PLAIN <redacted 20 bytes>\r\n", "MAIL FROM:<a@b>\r\n"]
        );
    }

    #[test]
    fn smtp_auth_login_two_rounds_and_empty_challenge() {
        let out = run(
            Protocol::Smtp,
            &[
                (C, "auth login\r\n"),
                (S, "334 VXNlcm5hbWU6\r\n"),
                (C, "YWxpY2U=\r\n"),
                (S, "334 UGFzc3dvcmQ6\r\n"),
                (C, "c2VjcmV0\r\n"),
                (S, "235 ok\r\n"),
                (C, "AUTH PLAIN\r\n"),
                (S, "334 \r\n"),
                (C, "AGFsaWNlAHNlY3JldA==\r\n"),
                (S, "535 no\r\n"),
                (C, "QUIT\r\n"),
            ],
        );
        assert_eq!(
            out,
            [
                "auth login\r\n",
                "<redacted 8 bytes>\r\n",
                "<redacted 8 bytes>\r\n",
                "AUTH PLAIN\r\n",
                "<redacted 20 bytes>\r\n",
                "QUIT\r\n"
            ]
        );
    }

    #[test]
    fn smtp_cancel_and_empty_initial_response_stay_visible() {
        let out = run(
            Protocol::Smtp,
            &[
                (C, "AUTH PLAIN =\r\n"),
                (S, "334 \r\n"),
                (C, "*\r\n"),
                (S, "501 cancelled\r\n"),
            ],
        );
        assert_eq!(out, ["AUTH PLAIN =\r\n", "*\r\n"]);
    }

    #[test]
    fn imap_login_atom_quoted_and_literals() {
        let out = run(
            Protocol::Imap,
            &[
                (C, "a1 LOGIN alice secret\r\n"),
                (C, "a2 login \"al ice\" \"se\\\"cret\"\r\n"),
                (C, "a3 LOGIN alice {6}\r\n"),
                (S, "+ Ready\r\n"),
                (C, "secret\r\n"),
                (C, "a4 LOGIN {5}\r\n"),
                (S, "+ Ready\r\n"),
                (C, "alice {6+}\r\nsecret\r\n"),
                (C, "a5 SELECT INBOX\r\n"),
            ],
        );
        assert_eq!(
            out,
            [
                "a1 LOGIN alice <redacted 6 bytes>\r\n",
                "a2 login \"al ice\" <redacted 10 bytes>\r\n",
                "a3 LOGIN alice {6}\r\n",
                "<redacted 6 bytes>\r\n",
                "a4 LOGIN {5}\r\n",
                "alice {6+}\r\n<redacted 6 bytes>\r\n",
                "a5 SELECT INBOX\r\n"
            ]
        );
    }

    #[test]
    fn imap_refused_literal_is_not_owed_but_other_tags_do_not_cancel() {
        let out = run(
            Protocol::Imap,
            &[
                (C, "a1 NOOP\r\n"),
                (C, "a2 LOGIN alice {6}\r\n"),
                (S, "a1 OK done\r\n"),
                (S, "+ go\r\n"),
                (C, "secret\r\n"),
                (C, "a3 LOGIN bob {3}\r\n"),
                (S, "a3 NO too long\r\n"),
                (C, "a4 NOOP\r\n"),
            ],
        );
        assert_eq!(
            out,
            [
                "a1 NOOP\r\n",
                "a2 LOGIN alice {6}\r\n",
                "<redacted 6 bytes>\r\n",
                "a3 LOGIN bob {3}\r\n",
                "a4 NOOP\r\n"
            ]
        );
    }

    #[test]
    fn imap_authenticate_with_sasl_ir_and_continuations() {
        let out = run(
            Protocol::Imap,
            &[
                (C, "a1 AUTHENTICATE PLAIN AGFsaWNlAHNlY3JldA==\r\n"),
                (S, "a1 OK\r\n"),
                (C, "a2 AUTHENTICATE XOAUTH2\r\n"),
                (S, "+ \r\n"),
                (C, "dXNlcj1hbGljZQFhdXRoPUJlYXJlciB0b2tlbgEB\r\n"),
                (S, "* CAPABILITY IMAP4rev1\r\n"),
                (S, "a2 OK\r\n"),
                (C, "a3 APPEND INBOX {11}\r\n"),
                (C, "a LOGIN x y\r\n"),
            ],
        );
        assert_eq!(
            out,
            [
                "a1 AUTHENTICATE PLAIN <redacted 20 bytes>\r\n",
                "a2 AUTHENTICATE XOAUTH2\r\n",
                "<redacted 40 bytes>\r\n",
                "a3 APPEND INBOX {11}\r\n",
                // Message bytes inside a literal are not commands.
                "a LOGIN x y\r\n"
            ]
        );
    }

    #[test]
    fn pop3_pass_apop_and_auth() {
        let out = run(
            Protocol::Pop3,
            &[
                (C, "USER alice\r\n"),
                (C, "PASS correct horse\r\n"),
                (C, "APOP alice c4c9334bac560ecc979e58001b3e22fb\r\n"),
                (C, "AUTH PLAIN\r\n"),
                (S, "+ \r\n"),
                (C, "AGFsaWNlAHNlY3JldA==\r\n"),
                (S, "+OK logged in\r\n"),
                (C, "STAT\r\n"),
            ],
        );
        assert_eq!(
            out,
            [
                "USER alice\r\n",
                "PASS <redacted 13 bytes>\r\n",
                "APOP alice <redacted 32 bytes>\r\n",
                "AUTH PLAIN\r\n",
                "<redacted 20 bytes>\r\n",
                "STAT\r\n"
            ]
        );
    }

    #[test]
    fn masking_is_idempotent() {
        let once = run(
            Protocol::Imap,
            &[(C, "a1 LOGIN alice {6}\r\n"), (C, "secret\r\n")],
        );
        let twice = run(Protocol::Imap, &[(C, &once[0]), (C, &once[1])]);
        assert_eq!(once, twice);
        let mut r = Redactor::new(Protocol::Smtp);
        assert_eq!(r.mask_bytes(C, b"AUTH PLAIN <redacted 24 bytes>\r\n"), None);
        let mut r = Redactor::new(Protocol::Pop3);
        assert_eq!(r.mask_bytes(C, b"PASS <redacted 1 byte>\r\n"), None);
    }

    #[test]
    fn close_ends_an_open_exchange() {
        let mut r = Redactor::new(Protocol::Smtp);
        r.mask_bytes(S, b"334 \r\n");
        r.mask(&Event::Closed {
            at: std::time::Duration::ZERO,
            reason: String::new(),
        });
        assert_eq!(r.mask_bytes(C, b"QUIT\r\n"), None);
    }

    #[test]
    fn helpers_parse_literals_and_placeholders() {
        assert_eq!(literal_size(b"{12}"), Some(12));
        assert_eq!(literal_size(b"{12+}"), Some(12));
        assert_eq!(literal_size(b"~{3}"), Some(3));
        assert_eq!(literal_size(b"{}"), None);
        assert_eq!(literal_size(b"{99999999999999999999}"), None);
        assert_eq!(placeholder_len(b"<redacted 12 bytes>\r\n"), Some(19));
        assert_eq!(placeholder_len(b"<redacted x bytes>"), None);
        assert_eq!(quoted_len(b"\"a\\\"b\" c"), Some(6));
        assert_eq!(quoted_len(b"\"open"), None);
    }
}

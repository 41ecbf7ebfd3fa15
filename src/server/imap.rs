//! The demo server's IMAP side (RFC 9051 / RFC 3501) with STARTTLS
//! (RFC 2595 §3.1), SASL-IR (RFC 4959), LITERAL+ (RFC 7888), ID (RFC 2971),
//! ENABLE (RFC 5161) and IDLE (RFC 2177). One mailbox, INBOX.
//!
//! Replies copy Dovecot 2.3 with `disable_plaintext_auth = yes`, without
//! its timing suffixes:
//!
//! ```text
//! S: * OK [CAPABILITY IMAP4rev1 SASL-IR LITERAL+ ID ENABLE IDLE STARTTLS LOGINDISABLED] mailwire ready.
//! C: a STARTTLS
//! S: a OK Begin TLS negotiation now.
//! (TLS handshake)
//! C: b LOGIN demo {13}
//! S: + OK
//! C: demo-password
//! S: b OK [CAPABILITY IMAP4rev1 ...] Logged in
//! C: c FETCH 1 BODY[]
//! S: * 1 FETCH (BODY[] {417}
//! S: <417 bytes>)
//! S: c OK Fetch completed.
//! ```

use std::time::Duration;

use time::OffsetDateTime;
use time::macros::format_description;

use super::Conn;
use super::framed::{Framed, MailStream, WireError};
use super::mailbox::{Flags, Message};
use super::quirk::{self, Quirk};
use super::sasl::{self, Mechanism, SaslError};
use crate::protocol::command::Verb;

/// Capabilities before TLS: no AUTH=, and LOGIN refused (RFC 2595 §3.2).
const CAPS_PLAINTEXT: &str = "IMAP4rev1 SASL-IR LITERAL+ ID ENABLE IDLE STARTTLS LOGINDISABLED";
/// Capabilities inside TLS, before login.
const CAPS_TLS: &str = "IMAP4rev1 SASL-IR LITERAL+ ID ENABLE IDLE AUTH=PLAIN AUTH=LOGIN";
/// Capabilities once logged in.
const CAPS_AUTHENTICATED: &str = "IMAP4rev1 SASL-IR LITERAL+ ID ENABLE IDLE NAMESPACE UNSELECT";

/// Largest literal accepted in a command (RFC 9051 §4.3).
const MAX_LITERAL: usize = 64 * 1024;
/// Most literals in one command.
const MAX_LITERALS: usize = 16;
/// Dovecot's imap-login gives up after this many bad commands...
const MAX_BAD_PRELOGIN: u32 = 3;
/// ...and the imap process after this many.
const MAX_BAD: u32 = 20;
/// RFC 9051 §5.4: an idle client may be logged out after 30 minutes.
const IDLE_LIMIT: Duration = Duration::from_secs(30 * 60);
/// Keep-alive interval during IDLE, as Dovecot's "Still here".
const IDLE_KEEPALIVE: Duration = Duration::from_secs(120);

const BAD_PRELOGIN: &str = "BAD Error in IMAP command received by server.";
const SYSTEM_FLAGS: &str = "(\\Answered \\Flagged \\Deleted \\Seen \\Draft)";

/// A parsed command argument.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    /// An atom, including bracketed sections such as `BODY[HEADER]<0.10>`.
    Atom(String),
    /// A quoted string or a literal.
    Str(Vec<u8>),
    /// A parenthesized list.
    List(Vec<Token>),
}

impl Token {
    /// The bytes of an astring (atom, quoted or literal).
    fn astring(&self) -> Option<Vec<u8>> {
        match self {
            Token::Atom(a) => Some(a.as_bytes().to_vec()),
            Token::Str(s) => Some(s.clone()),
            Token::List(_) => None,
        }
    }

    fn atom(&self) -> Option<&str> {
        match self {
            Token::Atom(a) => Some(a),
            _ => None,
        }
    }
}

/// One tagged command (RFC 9051 §2.2.1).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Command {
    tag: String,
    /// Upper case, as shown in errors; `UID FETCH` etc. for UID commands.
    name: String,
    /// The verb in the client's vocabulary (`protocol::command`); for a UID
    /// command, the verb after `UID`.
    verb: Verb,
    /// `UID FETCH`, `UID STORE`, ... (RFC 9051 §6.4.9).
    uid: bool,
    args: Vec<Token>,
}

/// What reading a command produced.
#[derive(Debug, PartialEq, Eq)]
enum Input {
    Command(Command),
    /// Unparseable; `tag` is `*` when there was none.
    Bad {
        tag: String,
        name: String,
        reason: String,
    },
}

/// Splits a trailing `{n}` or `{n+}` literal announcement off a line.
fn split_literal(line: &[u8]) -> (&[u8], Option<(usize, bool)>) {
    let Some(body) = line.strip_suffix(b"}") else {
        return (line, None);
    };
    let Some(open) = body.iter().rposition(|&b| b == b'{') else {
        return (line, None);
    };
    let spec = &body[open + 1..];
    let (digits, sync) = match spec.strip_suffix(b"+") {
        Some(d) => (d, false),
        None => (spec, true),
    };
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return (line, None);
    }
    let n = std::str::from_utf8(digits)
        .ok()
        .and_then(|d| d.parse::<usize>().ok())
        .unwrap_or(usize::MAX);
    (&line[..open], Some((n, sync)))
}

/// A tokenizer over one line of command text.
struct Scanner<'a> {
    s: &'a [u8],
    pos: usize,
}

impl<'a> Scanner<'a> {
    fn new(s: &'a [u8]) -> Self {
        Scanner { s, pos: 0 }
    }

    fn skip_spaces(&mut self) {
        while self.s.get(self.pos) == Some(&b' ') {
            self.pos += 1;
        }
    }

    /// The tag: ASTRING-CHARs except `+` (RFC 9051 §9 `tag`).
    fn tag(&mut self) -> Option<String> {
        let start = self.pos;
        while let Some(&b) = self.s.get(self.pos) {
            if b == b' ' {
                break;
            }
            if b <= b' ' || b >= 0x7f || b"(){%*\"\\+".contains(&b) {
                return None;
            }
            self.pos += 1;
        }
        if self.pos == start {
            return None;
        }
        std::str::from_utf8(&self.s[start..self.pos])
            .ok()
            .map(str::to_string)
    }

    fn tokens(&mut self) -> Result<Vec<Token>, String> {
        let mut out = Vec::new();
        loop {
            self.skip_spaces();
            if self.pos >= self.s.len() {
                return Ok(out);
            }
            out.push(self.token(0)?);
        }
    }

    fn token(&mut self, depth: usize) -> Result<Token, String> {
        match self.s.get(self.pos) {
            Some(b'"') => self.quoted(),
            Some(b'(') => {
                if depth > 8 {
                    return Err("Too deep nesting".into());
                }
                self.pos += 1;
                let mut items = Vec::new();
                loop {
                    self.skip_spaces();
                    match self.s.get(self.pos) {
                        None => return Err("Missing ')'".into()),
                        Some(b')') => {
                            self.pos += 1;
                            return Ok(Token::List(items));
                        }
                        Some(_) => items.push(self.token(depth + 1)?),
                    }
                }
            }
            Some(b')') => Err("Unexpected ')'".into()),
            Some(_) => self.atom(),
            None => Err("Missing argument".into()),
        }
    }

    fn quoted(&mut self) -> Result<Token, String> {
        self.pos += 1;
        let mut out = Vec::new();
        while let Some(&b) = self.s.get(self.pos) {
            self.pos += 1;
            match b {
                b'"' => return Ok(Token::Str(out)),
                b'\\' => match self.s.get(self.pos) {
                    Some(&e @ (b'"' | b'\\')) => {
                        out.push(e);
                        self.pos += 1;
                    }
                    _ => return Err("Invalid escape in quoted string".into()),
                },
                _ => out.push(b),
            }
        }
        Err("Missing '\"'".into())
    }

    fn atom(&mut self) -> Result<Token, String> {
        let start = self.pos;
        let mut brackets = 0usize;
        while let Some(&b) = self.s.get(self.pos) {
            match b {
                b'[' => brackets += 1,
                b']' if brackets > 0 => brackets -= 1,
                // Inside a section spec, spaces and parens belong to the atom:
                // BODY[HEADER.FIELDS (FROM TO)].
                b' ' | b'(' | b')' if brackets == 0 => break,
                b'"' | b'{' if brackets == 0 => return Err("Invalid characters in atom".into()),
                _ => {}
            }
            self.pos += 1;
        }
        if brackets > 0 {
            return Err("Missing ']'".into());
        }
        Ok(Token::Atom(
            String::from_utf8_lossy(&self.s[start..self.pos]).into_owned(),
        ))
    }
}

/// A FETCH body section (RFC 9051 §6.4.5).
#[derive(Debug, Clone, PartialEq, Eq)]
enum Section {
    Full,
    Header,
    Text,
    HeaderFields { not: bool, names: Vec<String> },
}

impl Section {
    fn spec(&self) -> String {
        match self {
            Section::Full => String::new(),
            Section::Header => "HEADER".into(),
            Section::Text => "TEXT".into(),
            Section::HeaderFields { not, names } => format!(
                "HEADER.FIELDS{} ({})",
                if *not { ".NOT" } else { "" },
                names.join(" ")
            ),
        }
    }
}

/// One FETCH data item.
#[derive(Debug, Clone, PartialEq, Eq)]
enum FetchItem {
    Flags,
    Uid,
    Size,
    InternalDate,
    Envelope,
    Rfc822,
    Rfc822Header,
    Rfc822Text,
    Body {
        peek: bool,
        section: Section,
        partial: Option<(usize, usize)>,
    },
}

impl FetchItem {
    /// Whether fetching this sets `\Seen` (RFC 9051 §6.4.5).
    fn sets_seen(&self) -> bool {
        matches!(
            self,
            FetchItem::Rfc822 | FetchItem::Rfc822Text | FetchItem::Body { peek: false, .. }
        )
    }
}

fn parse_section(spec: &str) -> Option<Section> {
    let upper = spec.to_ascii_uppercase();
    match upper.as_str() {
        "" => Some(Section::Full),
        "HEADER" => Some(Section::Header),
        // A non-multipart message has one part: its body (RFC 9051 §6.4.5).
        "TEXT" | "1" => Some(Section::Text),
        _ => {
            let (not, rest) = if let Some(r) = upper.strip_prefix("HEADER.FIELDS.NOT") {
                (true, r)
            } else {
                (false, upper.strip_prefix("HEADER.FIELDS")?)
            };
            let list = rest.trim().strip_prefix('(')?.strip_suffix(')')?;
            let names: Vec<String> = list.split_whitespace().map(str::to_string).collect();
            if names.is_empty() {
                return None;
            }
            Some(Section::HeaderFields { not, names })
        }
    }
}

fn parse_fetch_item(atom: &str) -> Option<Vec<FetchItem>> {
    let upper = atom.to_ascii_uppercase();
    let simple = match upper.as_str() {
        "FLAGS" => Some(vec![FetchItem::Flags]),
        "UID" => Some(vec![FetchItem::Uid]),
        "RFC822.SIZE" => Some(vec![FetchItem::Size]),
        "INTERNALDATE" => Some(vec![FetchItem::InternalDate]),
        "ENVELOPE" => Some(vec![FetchItem::Envelope]),
        "RFC822" => Some(vec![FetchItem::Rfc822]),
        "RFC822.HEADER" => Some(vec![FetchItem::Rfc822Header]),
        "RFC822.TEXT" => Some(vec![FetchItem::Rfc822Text]),
        "FAST" => Some(vec![
            FetchItem::Flags,
            FetchItem::InternalDate,
            FetchItem::Size,
        ]),
        "ALL" => Some(vec![
            FetchItem::Flags,
            FetchItem::InternalDate,
            FetchItem::Size,
            FetchItem::Envelope,
        ]),
        _ => None,
    };
    if simple.is_some() {
        return simple;
    }
    let (peek, rest) = if let Some(r) = upper.strip_prefix("BODY.PEEK[") {
        (true, r)
    } else {
        (false, upper.strip_prefix("BODY[")?)
    };
    let close = rest.find(']')?;
    // Take the section from the original text so header names keep their case.
    let offset = atom.len() - rest.len();
    let section = parse_section(&atom[offset..offset + close])?;
    let tail = &rest[close + 1..];
    let partial = if tail.is_empty() {
        None
    } else {
        let inner = tail.strip_prefix('<')?.strip_suffix('>')?;
        let (start, len) = inner.split_once('.')?;
        Some((start.parse().ok()?, len.parse().ok()?))
    };
    Some(vec![FetchItem::Body {
        peek,
        section,
        partial,
    }])
}

/// Parses FETCH attributes: one item or macro, or a parenthesized list.
fn parse_fetch_items(token: &Token) -> Option<Vec<FetchItem>> {
    match token {
        Token::Atom(a) => parse_fetch_item(a),
        Token::List(items) if !items.is_empty() => {
            let mut out = Vec::new();
            for t in items {
                let atom = t.atom()?;
                let upper = atom.to_ascii_uppercase();
                if matches!(upper.as_str(), "ALL" | "FAST") {
                    return None; // macros cannot be combined (RFC 9051 §6.4.5)
                }
                out.extend(parse_fetch_item(atom)?);
            }
            Some(out)
        }
        _ => None,
    }
}

/// Parses a sequence set (RFC 9051 §9 `sequence-set`) into inclusive
/// ranges; `*` stands for `star`.
fn parse_set(s: &str, star: u32) -> Option<Vec<(u32, u32)>> {
    let num = |p: &str| -> Option<u32> {
        if p == "*" {
            Some(star)
        } else if p.starts_with(|c: char| c.is_ascii_digit()) {
            p.parse::<u32>().ok().filter(|n| *n > 0)
        } else {
            None
        }
    };
    let mut out = Vec::new();
    for part in s.split(',') {
        let (a, b) = match part.split_once(':') {
            Some((a, b)) => (num(a)?, num(b)?),
            None => {
                let n = num(part)?;
                (n, n)
            }
        };
        out.push((a.min(b), a.max(b)));
        if out.len() > 1000 {
            return None;
        }
    }
    Some(out)
}

/// Header block (with its blank line) and body of a message.
fn split_message(raw: &[u8]) -> (&[u8], &[u8]) {
    if raw.starts_with(b"\r\n") {
        return raw.split_at(2);
    }
    match raw.windows(4).position(|w| w == b"\r\n\r\n") {
        Some(i) => raw.split_at(i + 4),
        None => (raw, &raw[raw.len()..]),
    }
}

/// Header fields as (name, raw bytes including continuation lines).
fn header_fields(header: &[u8]) -> Vec<(String, &[u8])> {
    let mut fields: Vec<(String, &[u8])> = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i < header.len() {
        let end = header[i..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(header.len(), |p| i + p + 1);
        let line = &header[i..end];
        let continuation = matches!(line.first(), Some(b' ' | b'\t'));
        if !continuation && i > start {
            push_field(&mut fields, &header[start..i]);
            start = i;
        }
        if line == b"\r\n" || line == b"\n" {
            break;
        }
        i = end;
    }
    if i > start {
        push_field(&mut fields, &header[start..i.min(header.len())]);
    }
    fields
}

fn push_field<'a>(fields: &mut Vec<(String, &'a [u8])>, raw: &'a [u8]) {
    if let Some(colon) = raw.iter().position(|&b| b == b':') {
        let name = String::from_utf8_lossy(&raw[..colon])
            .trim()
            .to_ascii_lowercase();
        fields.push((name, raw));
    }
}

/// Unfolded value of the first header field called `name`.
fn header_value(fields: &[(String, &[u8])], name: &str) -> Option<String> {
    let (_, raw) = fields.iter().find(|(n, _)| n == name)?;
    let colon = raw.iter().position(|&b| b == b':')?;
    let value = String::from_utf8_lossy(&raw[colon + 1..]);
    let unfolded: String = value.replace("\r\n", "").replace('\n', "");
    Some(unfolded.trim().to_string())
}

/// An IMAP string: quoted when safe, a literal otherwise (RFC 9051 §4.3).
fn imap_string(s: &[u8]) -> Vec<u8> {
    let safe = s.len() < 1024 && s.iter().all(|&b| (0x20..0x7f).contains(&b));
    if safe {
        let mut out = Vec::with_capacity(s.len() + 2);
        out.push(b'"');
        for &b in s {
            if b == b'"' || b == b'\\' {
                out.push(b'\\');
            }
            out.push(b);
        }
        out.push(b'"');
        out
    } else {
        literal(s)
    }
}

fn nstring(s: Option<&str>) -> Vec<u8> {
    match s {
        Some(v) => imap_string(v.as_bytes()),
        None => b"NIL".to_vec(),
    }
}

fn literal(s: &[u8]) -> Vec<u8> {
    let mut out = format!("{{{}}}\r\n", s.len()).into_bytes();
    out.extend_from_slice(s);
    out
}

/// Splits an address list at commas outside quotes and angle brackets.
fn split_addresses(value: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let (mut quoted, mut angle) = (false, false);
    for c in value.chars() {
        match c {
            '"' => quoted = !quoted,
            '<' if !quoted => angle = true,
            '>' if !quoted => angle = false,
            ',' if !quoted && !angle => {
                out.push(std::mem::take(&mut cur));
                continue;
            }
            _ => {}
        }
        cur.push(c);
    }
    out.push(cur);
    out.into_iter()
        .map(|a| a.trim().to_string())
        .filter(|a| !a.is_empty())
        .collect()
}

/// An ENVELOPE address list (RFC 9051 §7.5.2), or NIL.
fn envelope_addresses(value: Option<&str>) -> Vec<u8> {
    let Some(value) = value else {
        return b"NIL".to_vec();
    };
    let addrs = split_addresses(value);
    if addrs.is_empty() {
        return b"NIL".to_vec();
    }
    let mut out = b"(".to_vec();
    for a in addrs {
        let (name, spec) = match (a.find('<'), a.rfind('>')) {
            (Some(l), Some(r)) if l < r => {
                let n = a[..l].trim().trim_matches('"').trim();
                (
                    if n.is_empty() {
                        None
                    } else {
                        Some(n.to_string())
                    },
                    a[l + 1..r].to_string(),
                )
            }
            _ => (None, a.clone()),
        };
        let (mailbox, host) = match spec.rsplit_once('@') {
            Some((m, h)) => (m.to_string(), Some(h.to_string())),
            None => (spec, None),
        };
        out.push(b'(');
        out.extend(nstring(name.as_deref()));
        out.extend_from_slice(b" NIL ");
        out.extend(nstring(Some(&mailbox)));
        out.push(b' ');
        out.extend(nstring(host.as_deref()));
        out.push(b')');
    }
    out.push(b')');
    out
}

/// ENVELOPE (RFC 9051 §7.5.2): date, subject, from, sender, reply-to, to,
/// cc, bcc, in-reply-to, message-id.
fn envelope(raw: &[u8]) -> Vec<u8> {
    let (header, _) = split_message(raw);
    let fields = header_fields(header);
    let get = |n: &str| header_value(&fields, n);
    let from = get("from");
    let sender = get("sender").or_else(|| from.clone());
    let reply_to = get("reply-to").or_else(|| from.clone());
    let mut out = b"(".to_vec();
    let parts: [Vec<u8>; 10] = [
        nstring(get("date").as_deref()),
        nstring(get("subject").as_deref()),
        envelope_addresses(from.as_deref()),
        envelope_addresses(sender.as_deref()),
        envelope_addresses(reply_to.as_deref()),
        envelope_addresses(get("to").as_deref()),
        envelope_addresses(get("cc").as_deref()),
        envelope_addresses(get("bcc").as_deref()),
        nstring(get("in-reply-to").as_deref()),
        nstring(get("message-id").as_deref()),
    ];
    for (i, p) in parts.iter().enumerate() {
        if i > 0 {
            out.push(b' ');
        }
        out.extend_from_slice(p);
    }
    out.push(b')');
    out
}

fn internal_date(d: OffsetDateTime) -> String {
    let fmt = format_description!(
        "[day padding:space]-[month repr:short]-[year] [hour]:[minute]:[second] [offset_hour sign:mandatory][offset_minute]"
    );
    d.format(&fmt)
        .unwrap_or_else(|_| " 1-Jan-1970 00:00:00 +0000".into())
}

/// The bytes of a body section.
fn section_bytes(raw: &[u8], section: &Section) -> Vec<u8> {
    let (header, text) = split_message(raw);
    match section {
        Section::Full => raw.to_vec(),
        Section::Header => header.to_vec(),
        Section::Text => text.to_vec(),
        Section::HeaderFields { not, names } => {
            let wanted: Vec<String> = names.iter().map(|n| n.to_ascii_lowercase()).collect();
            let mut out = Vec::new();
            for (name, field) in header_fields(header) {
                if wanted.contains(&name) != *not {
                    out.extend_from_slice(field);
                }
            }
            out.extend_from_slice(b"\r\n");
            out
        }
    }
}

/// Simple IMAP LIST pattern match: `*` and `%` match any run of characters.
fn list_match(pattern: &str, name: &str) -> bool {
    fn go(p: &[u8], n: &[u8]) -> bool {
        match p.split_first() {
            None => n.is_empty(),
            Some((b'*' | b'%', rest)) => (0..=n.len()).any(|i| go(rest, &n[i..])),
            Some((c, rest)) => n
                .split_first()
                .is_some_and(|(d, nrest)| c.eq_ignore_ascii_case(d) && go(rest, nrest)),
        }
    }
    pattern.len() <= 64 && go(pattern.as_bytes(), name.as_bytes())
}

/// A selected mailbox (RFC 9051 §3.3).
struct Selection {
    read_only: bool,
    /// UIDs by sequence number - 1.
    uids: Vec<u32>,
    /// UIDs that are `\Recent` for this session.
    recent: Vec<u32>,
}

enum State {
    NotAuthenticated,
    Authenticated,
    Selected(Selection),
}

enum Next {
    Continue,
    StartTls,
    Close,
}

struct Session<'a> {
    conn: &'a Conn,
    tls: bool,
    state: State,
    bad: u32,
}

/// Serves one IMAP connection until LOGOUT, error, timeout or shutdown.
pub(crate) async fn run(conn: &Conn, mut framed: Framed<MailStream>) {
    let mut s = Session {
        conn,
        tls: framed.is_tls(),
        state: State::NotAuthenticated,
        bad: 0,
    };
    let greeting = format!("* OK [CAPABILITY {}] mailwire ready.", s.prelogin_caps());
    if framed.send_line(&greeting).await.is_err() {
        return;
    }
    loop {
        let result = match read_input(&mut framed).await {
            Ok(input) => s.input(&mut framed, input).await,
            Err(e) => Err(e),
        };
        match result {
            Ok(Next::Continue) => {}
            Ok(Next::Close) => break,
            Ok(Next::StartTls) => {
                if framed.start_tls(&conn.shared.tls).await.is_err() {
                    break;
                }
                s.tls = true;
            }
            Err(e) => {
                let farewell = match e {
                    WireError::LineTooLong { .. } => Some("* BYE Input buffer full, aborting"),
                    WireError::Timeout => Some("* BYE Disconnected for inactivity."),
                    WireError::Shutdown => Some("* BYE Server shutting down."),
                    WireError::Closed | WireError::Io(_) => None,
                };
                if let Some(text) = farewell {
                    let _ = framed.send_line(text).await;
                }
                break;
            }
        }
    }
    framed.close().await;
}

/// Reads one command, with its literals, from the connection.
async fn read_input(framed: &mut Framed<MailStream>) -> Result<Input, WireError> {
    let mut line = framed.read_line().await?;
    let mut tag: Option<String> = None;
    let mut tokens = Vec::new();
    let mut literals = 0;
    loop {
        let (text, lit) = split_literal(&line.bytes);
        let mut scan = Scanner::new(text);
        let mut result = Ok(());
        if tag.is_none() {
            match scan.tag() {
                Some(t) => tag = Some(t),
                None => result = Err(String::new()),
            }
        }
        if result.is_ok() {
            match scan.tokens() {
                Ok(ts) => tokens.extend(ts),
                Err(reason) => result = Err(reason),
            }
        }
        let bad = |reason: String, tag: &Option<String>, tokens: &[Token]| Input::Bad {
            tag: tag.clone().unwrap_or_else(|| "*".into()),
            name: tokens
                .first()
                .and_then(Token::atom)
                .unwrap_or("")
                .to_ascii_uppercase(),
            reason,
        };
        let Some((n, sync)) = lit else {
            return Ok(match result {
                Ok(()) => finish_command(tag, tokens),
                Err(reason) => bad(reason, &tag, &tokens),
            });
        };
        literals += 1;
        if n > MAX_LITERAL || literals > MAX_LITERALS {
            if !sync {
                // A non-synchronizing literal is already on its way and
                // cannot be refused; there is no way to resynchronize.
                return Err(WireError::LineTooLong { limit: MAX_LITERAL });
            }
            return Ok(bad("Literal too large".into(), &tag, &tokens));
        }
        if let Err(reason) = result {
            if sync {
                return Ok(bad(reason, &tag, &tokens));
            }
            // Swallow the literal the client sends anyway, then report.
            framed.read_exact(n).await?;
            let _ = framed.read_line().await?;
            return Ok(bad(reason, &tag, &tokens));
        }
        if sync {
            framed.send_line("+ OK").await?;
        }
        tokens.push(Token::Str(framed.read_exact(n).await?));
        line = framed.read_line().await?;
    }
}

fn finish_command(tag: Option<String>, mut tokens: Vec<Token>) -> Input {
    let tag = tag.unwrap_or_else(|| "*".into());
    let name = match tokens.first().and_then(Token::atom) {
        Some(n) => n.to_ascii_uppercase(),
        None => {
            return Input::Bad {
                tag,
                name: String::new(),
                reason: String::new(),
            };
        }
    };
    tokens.remove(0);
    let mut verb = Verb::parse(name.as_bytes());
    let mut uid = false;
    let name = if verb == Verb::Other("UID".into()) {
        match tokens.first().and_then(Token::atom) {
            Some(sub) => {
                verb = Verb::parse(sub.as_bytes());
                uid = true;
                let n = format!("UID {verb}");
                tokens.remove(0);
                n
            }
            None => name,
        }
    } else {
        name
    };
    Input::Command(Command {
        tag,
        name,
        verb,
        uid,
        args: tokens,
    })
}

impl Session<'_> {
    fn prelogin_caps(&self) -> String {
        let quirks = &self.conn.shared.quirks;
        let mut caps = if self.tls { CAPS_TLS } else { CAPS_PLAINTEXT }.to_string();
        if quirks.has(Quirk::NoStarttls) {
            caps = caps.replace(" STARTTLS", "");
        }
        if quirks.has(Quirk::ControlByteInEhlo) {
            caps.push(' ');
            caps.push_str(quirk::CONTROL_CAPABILITY);
        }
        caps
    }

    fn authenticated(&self) -> bool {
        !matches!(self.state, State::NotAuthenticated)
    }

    async fn input(
        &mut self,
        framed: &mut Framed<MailStream>,
        input: Input,
    ) -> Result<Next, WireError> {
        match input {
            Input::Command(cmd) => self.command(framed, cmd).await,
            Input::Bad { tag, name, reason } => {
                let text = if self.authenticated() && !name.is_empty() && !reason.is_empty() {
                    format!("BAD Error in IMAP command {name}: {reason}.")
                } else {
                    BAD_PRELOGIN.to_string()
                };
                self.bad_command(framed, &tag, &text).await
            }
        }
    }

    /// Sends a tagged BAD, or BYE once the client has sent too many.
    async fn bad_command(
        &mut self,
        framed: &mut Framed<MailStream>,
        tag: &str,
        text: &str,
    ) -> Result<Next, WireError> {
        self.bad += 1;
        let limit = if self.authenticated() {
            MAX_BAD
        } else {
            MAX_BAD_PRELOGIN
        };
        if self.bad >= limit {
            framed
                .send_line("* BYE Too many invalid IMAP commands.")
                .await?;
            return Ok(Next::Close);
        }
        framed.send_line(&format!("{tag} {text}")).await?;
        Ok(Next::Continue)
    }

    async fn command(
        &mut self,
        framed: &mut Framed<MailStream>,
        cmd: Command,
    ) -> Result<Next, WireError> {
        let tag = cmd.tag.as_str();
        // Commands valid in every state (RFC 9051 §6.1).
        let other = |name: &str| cmd.verb == Verb::Other(name.into());
        match &cmd.verb {
            Verb::Capability => {
                let (caps, done) = if self.authenticated() {
                    (CAPS_AUTHENTICATED.to_string(), "Capability completed.")
                } else {
                    (
                        self.prelogin_caps(),
                        "Pre-login capabilities listed, post-login capabilities have more.",
                    )
                };
                framed
                    .send(format!("* CAPABILITY {caps}\r\n{tag} OK {done}\r\n").as_bytes())
                    .await?;
                return Ok(Next::Continue);
            }
            Verb::Noop | Verb::Other(_)
                if cmd.verb == Verb::Noop || (other("CHECK") && self.authenticated()) =>
            {
                let mut out = self.new_mail_untagged();
                let done = if cmd.verb == Verb::Noop {
                    "NOOP completed."
                } else {
                    "Check completed."
                };
                out.extend_from_slice(format!("{tag} OK {done}\r\n").as_bytes());
                framed.send(&out).await?;
                return Ok(Next::Continue);
            }
            Verb::Logout => {
                framed
                    .send(format!("* BYE Logging out\r\n{tag} OK Logout completed.\r\n").as_bytes())
                    .await?;
                return Ok(Next::Close);
            }
            Verb::Id => {
                framed
                    .send(
                        format!("* ID (\"name\" \"mailwire\")\r\n{tag} OK ID completed.\r\n")
                            .as_bytes(),
                    )
                    .await?;
                return Ok(Next::Continue);
            }
            Verb::Enable => {
                // Nothing we implement needs enabling, so nothing is enabled.
                let done = if self.authenticated() {
                    "Enabled."
                } else {
                    "ENABLE ignored in non-authenticated state."
                };
                framed
                    .send(format!("* ENABLED\r\n{tag} OK {done}\r\n").as_bytes())
                    .await?;
                return Ok(Next::Continue);
            }
            _ => {}
        }
        if !self.authenticated() {
            return match cmd.verb {
                Verb::StartTls => {
                    if self.tls {
                        self.bad_command(framed, tag, "BAD TLS is already active.")
                            .await
                    } else if self.conn.shared.quirks.has(Quirk::NoStarttls) {
                        self.bad_command(framed, tag, "BAD Unknown command.").await
                    } else {
                        framed
                            .send_line(&format!("{tag} OK Begin TLS negotiation now."))
                            .await?;
                        Ok(Next::StartTls)
                    }
                }
                Verb::Login => self.login(framed, &cmd).await,
                Verb::Authenticate => self.authenticate(framed, &cmd).await,
                _ => self.bad_command(framed, tag, BAD_PRELOGIN).await,
            };
        }
        let name = cmd.name.as_str();
        let selected = matches!(self.state, State::Selected(_));
        // UID only prefixes FETCH and STORE here (COPY/MOVE/SEARCH are not served).
        let verb = match (&cmd.verb, cmd.uid) {
            (Verb::Fetch, _) => "FETCH",
            (Verb::Other(v), _) if v == "STORE" => "STORE",
            (_, true) => "",
            (Verb::Select | Verb::Examine, _) => "SELECT",
            (Verb::List, _) => "LIST",
            (Verb::Idle, _) => "IDLE",
            (Verb::Other(v), _) => v.as_str(),
            _ => "",
        };
        match verb {
            "SELECT" => self.select(framed, &cmd).await,
            "LIST" | "LSUB" => self.list(framed, &cmd).await,
            "STATUS" => self.status(framed, &cmd).await,
            "NAMESPACE" => {
                framed
                    .send(format!("* NAMESPACE ((\"\" \".\")) NIL NIL\r\n{tag} OK Namespace completed.\r\n").as_bytes())
                    .await?;
                Ok(Next::Continue)
            }
            "IDLE" => self.idle(framed, tag).await,
            "FETCH" | "STORE" | "CLOSE" | "UNSELECT" | "EXPUNGE" if !selected => {
                self.bad_command(framed, tag, "BAD No mailbox selected.")
                    .await
            }
            "FETCH" => self.fetch(framed, &cmd).await,
            "STORE" => self.store(framed, &cmd).await,
            "CLOSE" | "UNSELECT" => {
                if name == "CLOSE" {
                    // CLOSE silently expunges \Deleted messages (RFC 9051 §6.4.1).
                    self.expunge_deleted();
                }
                self.state = State::Authenticated;
                let done = if name == "CLOSE" {
                    "Close completed."
                } else {
                    "Unselect completed."
                };
                framed.send_line(&format!("{tag} OK {done}")).await?;
                Ok(Next::Continue)
            }
            "EXPUNGE" => {
                let mut out = Vec::new();
                for seq in self.expunge_deleted() {
                    out.extend_from_slice(format!("* {seq} EXPUNGE\r\n").as_bytes());
                }
                out.extend_from_slice(format!("{tag} OK Expunge completed.\r\n").as_bytes());
                framed.send(&out).await?;
                Ok(Next::Continue)
            }
            _ => {
                let text = format!("BAD Error in IMAP command {name}: Unknown command.");
                self.bad_command(framed, tag, &text).await
            }
        }
    }

    async fn login(
        &mut self,
        framed: &mut Framed<MailStream>,
        cmd: &Command,
    ) -> Result<Next, WireError> {
        let tag = cmd.tag.as_str();
        let (Some(user), Some(pass), 2) = (
            cmd.args.first().and_then(Token::astring),
            cmd.args.get(1).and_then(Token::astring),
            cmd.args.len(),
        ) else {
            return self.bad_command(framed, tag, BAD_PRELOGIN).await;
        };
        if !self.tls {
            // RFC 9051 §6.2.3: LOGIN is refused while LOGINDISABLED is advertised.
            framed
                .send(
                    format!(
                        "* BAD [ALERT] Plaintext authentication not allowed without SSL/TLS, but your client did it anyway. If anyone was listening, the password was exposed.\r\n\
                         {tag} NO [PRIVACYREQUIRED] Plaintext authentication disallowed on non-secure (SSL/TLS) connections.\r\n"
                    )
                    .as_bytes(),
                )
                .await?;
            return Ok(Next::Continue);
        }
        self.finish_login(framed, tag, sasl::credentials_ok(&user, &pass))
            .await
    }

    async fn finish_login(
        &mut self,
        framed: &mut Framed<MailStream>,
        tag: &str,
        ok: bool,
    ) -> Result<Next, WireError> {
        if ok {
            self.state = State::Authenticated;
            self.bad = 0;
            framed
                .send_line(&format!(
                    "{tag} OK [CAPABILITY {CAPS_AUTHENTICATED}] Logged in"
                ))
                .await?;
        } else {
            framed
                .send_line(&format!(
                    "{tag} NO [AUTHENTICATIONFAILED] Authentication failed."
                ))
                .await?;
        }
        Ok(Next::Continue)
    }

    async fn authenticate(
        &mut self,
        framed: &mut Framed<MailStream>,
        cmd: &Command,
    ) -> Result<Next, WireError> {
        let tag = cmd.tag.as_str();
        let Some(mech_name) = cmd.args.first().and_then(Token::atom) else {
            return self.bad_command(framed, tag, BAD_PRELOGIN).await;
        };
        let initial = cmd.args.get(1).and_then(Token::astring);
        let Some(mech) = Mechanism::parse(mech_name) else {
            framed
                .send_line(&format!(
                    "{tag} NO [ALERT] Unsupported authentication mechanism."
                ))
                .await?;
            return Ok(Next::Continue);
        };
        if !self.tls {
            framed
                .send_line(&format!(
                    "{tag} NO [PRIVACYREQUIRED] Plaintext authentication disabled."
                ))
                .await?;
            return Ok(Next::Continue);
        }
        let initial = initial.map(|ir| String::from_utf8_lossy(&ir).into_owned());
        let outcome = sasl::exchange(framed, "+ ", mech, initial.as_deref()).await?;
        match outcome.map_err(|(e, _)| e) {
            Ok(login) => self.finish_login(framed, tag, login.ok).await,
            Err(SaslError::Cancelled) => {
                framed
                    .send_line(&format!("{tag} BAD Authentication aborted by client."))
                    .await?;
                Ok(Next::Continue)
            }
            Err(SaslError::InvalidBase64 | SaslError::MalformedPlain) => {
                framed
                    .send_line(&format!("{tag} NO [ALERT] Invalid base64 in response"))
                    .await?;
                Ok(Next::Continue)
            }
        }
    }

    /// The visible flags of a message for this session.
    fn flags_of(&self, msg: &Message) -> Flags {
        let mut f = msg.flags;
        f.remove(Flags::RECENT);
        if let State::Selected(sel) = &self.state {
            if sel.recent.contains(&msg.uid) {
                f.insert(Flags::RECENT);
            }
        }
        f
    }

    async fn select(
        &mut self,
        framed: &mut Framed<MailStream>,
        cmd: &Command,
    ) -> Result<Next, WireError> {
        let tag = cmd.tag.as_str();
        let examine = cmd.verb == Verb::Examine;
        let Some(name) = cmd
            .args
            .first()
            .and_then(Token::astring)
            .filter(|_| cmd.args.len() == 1)
        else {
            let text = format!("BAD Error in IMAP command {}: Invalid arguments.", cmd.name);
            return self.bad_command(framed, tag, &text).await;
        };
        let mut out = Vec::new();
        if matches!(self.state, State::Selected(_)) {
            out.extend_from_slice(b"* OK [CLOSED] Previous mailbox closed.\r\n");
        }
        // A failed SELECT leaves no mailbox selected (RFC 9051 §6.3.2).
        self.state = State::Authenticated;
        if !name.eq_ignore_ascii_case(b"INBOX") {
            out.extend_from_slice(
                format!(
                    "{tag} NO Mailbox doesn't exist: {}\r\n",
                    String::from_utf8_lossy(&name)
                )
                .as_bytes(),
            );
            framed.send(&out).await?;
            return Ok(Next::Continue);
        }
        let mailbox = &self.conn.shared.mailbox;
        let messages = mailbox.snapshot();
        let recent: Vec<u32> = messages
            .iter()
            .filter(|m| m.flags.contains(Flags::RECENT))
            .map(|m| m.uid)
            .collect();
        if !examine {
            // Only a read-write session claims \Recent (RFC 3501 §2.3.2).
            mailbox.take_recent();
        }
        let unseen = messages.iter().position(|m| !m.flags.contains(Flags::SEEN));
        out.extend_from_slice(format!("* FLAGS {SYSTEM_FLAGS}\r\n").as_bytes());
        if examine {
            out.extend_from_slice(b"* OK [PERMANENTFLAGS ()] Read-only mailbox.\r\n");
        } else {
            out.extend_from_slice(
                format!("* OK [PERMANENTFLAGS {SYSTEM_FLAGS}] Flags permitted.\r\n").as_bytes(),
            );
        }
        out.extend_from_slice(
            format!(
                "* {} EXISTS\r\n* {} RECENT\r\n",
                messages.len(),
                recent.len()
            )
            .as_bytes(),
        );
        if let Some(i) = unseen {
            out.extend_from_slice(format!("* OK [UNSEEN {}] First unseen.\r\n", i + 1).as_bytes());
        }
        out.extend_from_slice(
            format!(
                "* OK [UIDVALIDITY {}] UIDs valid\r\n* OK [UIDNEXT {}] Predicted next UID\r\n",
                mailbox.uid_validity(),
                mailbox.uid_next()
            )
            .as_bytes(),
        );
        let done = if examine {
            "OK [READ-ONLY] Examine completed."
        } else {
            "OK [READ-WRITE] Select completed."
        };
        out.extend_from_slice(format!("{tag} {done}\r\n").as_bytes());
        self.state = State::Selected(Selection {
            read_only: examine,
            uids: messages.iter().map(|m| m.uid).collect(),
            recent,
        });
        framed.send(&out).await?;
        Ok(Next::Continue)
    }

    async fn list(
        &mut self,
        framed: &mut Framed<MailStream>,
        cmd: &Command,
    ) -> Result<Next, WireError> {
        let tag = cmd.tag.as_str();
        let (Some(_reference), Some(pattern), 2) = (
            cmd.args.first().and_then(Token::astring),
            cmd.args.get(1).and_then(Token::astring),
            cmd.args.len(),
        ) else {
            let text = format!("BAD Error in IMAP command {}: Invalid arguments.", cmd.name);
            return self.bad_command(framed, tag, &text).await;
        };
        let pattern = String::from_utf8_lossy(&pattern).into_owned();
        let lsub = cmd.verb == Verb::Other("LSUB".into());
        let mut out = Vec::new();
        if pattern.is_empty() && !lsub {
            // The hierarchy delimiter query (RFC 9051 §6.3.9).
            out.extend_from_slice(b"* LIST (\\Noselect) \".\" \"\"\r\n");
        } else if list_match(&pattern, "INBOX") {
            let line = if lsub {
                "* LSUB () \".\" INBOX\r\n"
            } else {
                "* LIST (\\HasNoChildren) \".\" INBOX\r\n"
            };
            out.extend_from_slice(line.as_bytes());
        }
        let done = if lsub {
            "Lsub completed."
        } else {
            "List completed."
        };
        out.extend_from_slice(format!("{tag} OK {done}\r\n").as_bytes());
        framed.send(&out).await?;
        Ok(Next::Continue)
    }

    async fn status(
        &mut self,
        framed: &mut Framed<MailStream>,
        cmd: &Command,
    ) -> Result<Next, WireError> {
        let tag = cmd.tag.as_str();
        let (Some(name), Some(Token::List(items)), 2) = (
            cmd.args.first().and_then(Token::astring),
            cmd.args.get(1),
            cmd.args.len(),
        ) else {
            return self
                .bad_command(
                    framed,
                    tag,
                    "BAD Error in IMAP command STATUS: Invalid arguments.",
                )
                .await;
        };
        if !name.eq_ignore_ascii_case(b"INBOX") {
            framed
                .send_line(&format!(
                    "{tag} NO Mailbox doesn't exist: {}",
                    String::from_utf8_lossy(&name)
                ))
                .await?;
            return Ok(Next::Continue);
        }
        let mailbox = &self.conn.shared.mailbox;
        let messages = mailbox.snapshot();
        let mut parts = Vec::new();
        for item in items {
            let key = item.atom().unwrap_or("").to_ascii_uppercase();
            let value = match key.as_str() {
                "MESSAGES" => messages.len() as u64,
                "RECENT" => messages
                    .iter()
                    .filter(|m| m.flags.contains(Flags::RECENT))
                    .count() as u64,
                "UIDNEXT" => u64::from(mailbox.uid_next()),
                "UIDVALIDITY" => u64::from(mailbox.uid_validity()),
                "UNSEEN" => messages
                    .iter()
                    .filter(|m| !m.flags.contains(Flags::SEEN))
                    .count() as u64,
                "SIZE" => messages.iter().map(|m| m.raw.len() as u64).sum(),
                _ => {
                    let text = "BAD Error in IMAP command STATUS: Invalid status item.";
                    return self.bad_command(framed, tag, text).await;
                }
            };
            parts.push(format!("{key} {value}"));
        }
        framed
            .send(
                format!(
                    "* STATUS INBOX ({})\r\n{tag} OK Status completed.\r\n",
                    parts.join(" ")
                )
                .as_bytes(),
            )
            .await?;
        Ok(Next::Continue)
    }

    /// Sequence numbers (1-based) named by a set, or `None` for an invalid set.
    fn resolve_set(&self, set: &str, uid: bool) -> Option<Vec<usize>> {
        let State::Selected(sel) = &self.state else {
            return None;
        };
        if uid {
            let star = sel.uids.last().copied().unwrap_or(0).max(1);
            let ranges = parse_set(set, star)?;
            Some(
                sel.uids
                    .iter()
                    .enumerate()
                    .filter(|(_, u)| ranges.iter().any(|(a, b)| (*a..=*b).contains(*u)))
                    .map(|(i, _)| i + 1)
                    .collect(),
            )
        } else {
            let max = u32::try_from(sel.uids.len()).ok()?;
            let ranges = parse_set(set, max)?;
            if max == 0 || ranges.iter().any(|&(_, b)| b > max) {
                return None;
            }
            let mut seqs: Vec<usize> = ranges
                .iter()
                .flat_map(|&(a, b)| (a as usize)..=(b as usize))
                .collect();
            seqs.sort_unstable();
            seqs.dedup();
            Some(seqs)
        }
    }

    async fn fetch(
        &mut self,
        framed: &mut Framed<MailStream>,
        cmd: &Command,
    ) -> Result<Next, WireError> {
        let tag = cmd.tag.as_str();
        let uid_mode = cmd.uid;
        let bad = |reason: &str| format!("BAD Error in IMAP command {}: {reason}.", cmd.name);
        let (Some(set), Some(attrs), 2) = (
            cmd.args.first().and_then(Token::atom),
            cmd.args.get(1),
            cmd.args.len(),
        ) else {
            return self
                .bad_command(framed, tag, &bad("Invalid arguments"))
                .await;
        };
        let Some(seqs) = self.resolve_set(set, uid_mode) else {
            return self
                .bad_command(framed, tag, &bad("Invalid messageset"))
                .await;
        };
        let Some(mut items) = parse_fetch_items(attrs) else {
            return self
                .bad_command(framed, tag, &bad("Invalid fetch attributes"))
                .await;
        };
        if uid_mode && !items.contains(&FetchItem::Uid) {
            // UID FETCH always reports the UID (RFC 9051 §6.4.9).
            items.insert(0, FetchItem::Uid);
        }
        let State::Selected(sel) = &self.state else {
            return Ok(Next::Close);
        };
        let read_only = sel.read_only;
        let uids: Vec<u32> = seqs
            .iter()
            .filter_map(|s| sel.uids.get(s - 1).copied())
            .collect();
        let mailbox = &self.conn.shared.mailbox;
        let mut out = Vec::new();
        for (seq, uid) in seqs.iter().zip(uids) {
            // Gone because another session (POP3) deleted it.
            let Some(mut msg) = mailbox.get(uid) else {
                continue;
            };
            let mut add_flags = false;
            if !read_only
                && items.iter().any(FetchItem::sets_seen)
                && !msg.flags.contains(Flags::SEEN)
            {
                if let Some(f) = mailbox.update_flags(uid, |f| f.insert(Flags::SEEN)) {
                    msg.flags = f;
                }
                add_flags = !items.contains(&FetchItem::Flags);
            }
            out.extend_from_slice(format!("* {seq} FETCH (").as_bytes());
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b' ');
                }
                self.fetch_item(&mut out, item, &msg);
            }
            if add_flags {
                out.extend_from_slice(
                    format!(" FLAGS {}", self.flags_of(&msg).imap_list()).as_bytes(),
                );
            }
            out.extend_from_slice(b")\r\n");
        }
        out.extend_from_slice(format!("{tag} OK Fetch completed.\r\n").as_bytes());
        framed.send(&out).await?;
        Ok(Next::Continue)
    }

    fn fetch_item(&self, out: &mut Vec<u8>, item: &FetchItem, msg: &Message) {
        let raw: &[u8] = &msg.raw;
        match item {
            FetchItem::Flags => out
                .extend_from_slice(format!("FLAGS {}", self.flags_of(msg).imap_list()).as_bytes()),
            FetchItem::Uid => out.extend_from_slice(format!("UID {}", msg.uid).as_bytes()),
            FetchItem::Size => {
                out.extend_from_slice(format!("RFC822.SIZE {}", raw.len()).as_bytes())
            }
            FetchItem::InternalDate => out.extend_from_slice(
                format!("INTERNALDATE \"{}\"", internal_date(msg.internal_date)).as_bytes(),
            ),
            FetchItem::Envelope => {
                out.extend_from_slice(b"ENVELOPE ");
                out.extend(envelope(raw));
            }
            FetchItem::Rfc822 => {
                out.extend_from_slice(b"RFC822 ");
                out.extend(literal(raw));
            }
            FetchItem::Rfc822Header => {
                out.extend_from_slice(b"RFC822.HEADER ");
                out.extend(literal(split_message(raw).0));
            }
            FetchItem::Rfc822Text => {
                out.extend_from_slice(b"RFC822.TEXT ");
                out.extend(literal(split_message(raw).1));
            }
            FetchItem::Body {
                section, partial, ..
            } => {
                let data = section_bytes(raw, section);
                out.extend_from_slice(format!("BODY[{}]", section.spec()).as_bytes());
                let data = match partial {
                    Some((start, len)) => {
                        out.extend_from_slice(format!("<{start}>").as_bytes());
                        let s = (*start).min(data.len());
                        let e = s.saturating_add(*len).min(data.len());
                        data[s..e].to_vec()
                    }
                    None => data,
                };
                out.push(b' ');
                out.extend(literal(&data));
            }
        }
    }

    async fn store(
        &mut self,
        framed: &mut Framed<MailStream>,
        cmd: &Command,
    ) -> Result<Next, WireError> {
        let tag = cmd.tag.as_str();
        let uid_mode = cmd.uid;
        let bad = |reason: &str| format!("BAD Error in IMAP command {}: {reason}.", cmd.name);
        let (Some(set), Some(action), Some(flags_tok), 3) = (
            cmd.args.first().and_then(Token::atom),
            cmd.args.get(1).and_then(Token::atom),
            cmd.args.get(2),
            cmd.args.len(),
        ) else {
            return self
                .bad_command(framed, tag, &bad("Invalid arguments"))
                .await;
        };
        let action = action.to_ascii_uppercase();
        let (base, silent) = match action.strip_suffix(".SILENT") {
            Some(b) => (b, true),
            None => (action.as_str(), false),
        };
        let mode = match base {
            "FLAGS" => 0,
            "+FLAGS" => 1,
            "-FLAGS" => 2,
            _ => {
                return self
                    .bad_command(framed, tag, &bad("Invalid arguments"))
                    .await;
            }
        };
        let names: Vec<&Token> = match flags_tok {
            Token::List(l) => l.iter().collect(),
            t => vec![t],
        };
        let mut flags = Flags::default();
        for n in names {
            match n.atom().and_then(Flags::parse) {
                Some(f) => flags.insert(f),
                // Keywords are not kept: PERMANENTFLAGS has no \*.
                None => {
                    return self
                        .bad_command(framed, tag, &bad("Invalid system flag"))
                        .await;
                }
            }
        }
        let Some(seqs) = self.resolve_set(set, uid_mode) else {
            return self
                .bad_command(framed, tag, &bad("Invalid messageset"))
                .await;
        };
        let State::Selected(sel) = &self.state else {
            return Ok(Next::Close);
        };
        if sel.read_only {
            framed
                .send_line(&format!("{tag} NO Mailbox is read-only."))
                .await?;
            return Ok(Next::Continue);
        }
        let mailbox = &self.conn.shared.mailbox;
        let mut out = Vec::new();
        for seq in seqs {
            let Some(&uid) = sel.uids.get(seq - 1) else {
                continue;
            };
            let updated = mailbox.update_flags(uid, |f| {
                let recent = f.contains(Flags::RECENT);
                match mode {
                    0 => {
                        *f = flags;
                        if recent {
                            f.insert(Flags::RECENT);
                        }
                    }
                    1 => f.insert(flags),
                    _ => f.remove(flags),
                }
            });
            let Some(new_flags) = updated else { continue };
            if !silent {
                let msg = Message {
                    uid,
                    flags: new_flags,
                    internal_date: OffsetDateTime::UNIX_EPOCH,
                    raw: std::sync::Arc::from(&b""[..]),
                };
                let uid_part = if uid_mode {
                    format!("UID {uid} ")
                } else {
                    String::new()
                };
                out.extend_from_slice(
                    format!(
                        "* {seq} FETCH ({uid_part}FLAGS {})\r\n",
                        self.flags_of(&msg).imap_list()
                    )
                    .as_bytes(),
                );
            }
        }
        out.extend_from_slice(format!("{tag} OK Store completed.\r\n").as_bytes());
        framed.send(&out).await?;
        Ok(Next::Continue)
    }

    /// Removes `\Deleted` messages of a read-write selection; returns the
    /// sequence numbers to report, in the order EXPUNGE responses need.
    fn expunge_deleted(&mut self) -> Vec<usize> {
        let mailbox = &self.conn.shared.mailbox;
        let State::Selected(sel) = &mut self.state else {
            return Vec::new();
        };
        if sel.read_only {
            return Vec::new();
        }
        let mut reported = Vec::new();
        let mut gone = Vec::new();
        // Walk backwards so each reported number is valid when it is sent.
        for seq in (1..=sel.uids.len()).rev() {
            let uid = sel.uids[seq - 1];
            let deleted = mailbox
                .get(uid)
                .is_some_and(|m| m.flags.contains(Flags::DELETED));
            if deleted {
                sel.uids.remove(seq - 1);
                gone.push(uid);
                reported.push(seq);
            }
        }
        mailbox.expunge(&gone);
        reported
    }

    /// `* n EXISTS` and `* n RECENT` when mail arrived since the mailbox
    /// was selected (RFC 3501 §7.3.1, §7.3.2).
    fn new_mail_untagged(&mut self) -> Vec<u8> {
        let mailbox = &self.conn.shared.mailbox;
        let State::Selected(sel) = &mut self.state else {
            return Vec::new();
        };
        let last = sel.uids.last().copied().unwrap_or(0);
        let fresh: Vec<Message> = mailbox
            .snapshot()
            .into_iter()
            .filter(|m| m.uid > last)
            .collect();
        if fresh.is_empty() {
            return Vec::new();
        }
        sel.recent.extend(
            fresh
                .iter()
                .filter(|m| m.flags.contains(Flags::RECENT))
                .map(|m| m.uid),
        );
        if !sel.read_only {
            mailbox.take_recent();
        }
        sel.uids.extend(fresh.iter().map(|m| m.uid));
        format!(
            "* {} EXISTS\r\n* {} RECENT\r\n",
            sel.uids.len(),
            sel.recent.len()
        )
        .into_bytes()
    }

    async fn idle(
        &mut self,
        framed: &mut Framed<MailStream>,
        tag: &str,
    ) -> Result<Next, WireError> {
        let mut changes = self.conn.shared.mailbox.subscribe();
        changes.mark_unchanged();
        let mut watching = true;
        framed.send_line("+ idling").await?;
        let deadline = tokio::time::Instant::now() + IDLE_LIMIT;
        loop {
            tokio::select! {
                line = framed.read_line_within(IDLE_KEEPALIVE) => match line {
                    Ok(line) => {
                        let text = if line.text().trim().eq_ignore_ascii_case("DONE") {
                            format!("{tag} OK Idle completed.")
                        } else {
                            format!("{tag} BAD Expected DONE.")
                        };
                        framed.send_line(&text).await?;
                        return Ok(Next::Continue);
                    }
                    Err(WireError::Timeout) if tokio::time::Instant::now() < deadline => {
                        framed.send_line("* OK Still here").await?;
                    }
                    Err(e) => return Err(e),
                },
                changed = changes.changed(), if watching => {
                    if changed.is_err() {
                        watching = false;
                        continue;
                    }
                    let out = self.new_mail_untagged();
                    if !out.is_empty() {
                        framed.send(&out).await?;
                    }
                }
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is how a test fails
mod tests {
    use super::*;

    fn tokens(s: &str) -> Vec<Token> {
        Scanner::new(s.as_bytes()).tokens().unwrap()
    }

    #[test]
    fn literal_announcements() {
        assert_eq!(
            split_literal(b"a LOGIN {4}"),
            (&b"a LOGIN "[..], Some((4, true)))
        );
        assert_eq!(
            split_literal(b"a LOGIN x {12+}"),
            (&b"a LOGIN x "[..], Some((12, false)))
        );
        assert_eq!(split_literal(b"a LOGIN x y"), (&b"a LOGIN x y"[..], None));
        assert_eq!(split_literal(b"a X {}").1, None);
        assert_eq!(split_literal(b"a X {1a}").1, None);
        assert_eq!(
            split_literal(b"a X {99999999999999999999999}").1,
            Some((usize::MAX, true))
        );
    }

    #[test]
    fn scanner_handles_quotes_lists_and_sections() {
        assert_eq!(
            tokens(r#"LOGIN "de\"mo" pass"#),
            [
                Token::Atom("LOGIN".into()),
                Token::Str(b"de\"mo".to_vec()),
                Token::Atom("pass".into())
            ]
        );
        assert_eq!(
            tokens("FETCH 1 (FLAGS BODY.PEEK[HEADER.FIELDS (FROM TO)]<0.10>)"),
            [
                Token::Atom("FETCH".into()),
                Token::Atom("1".into()),
                Token::List(vec![
                    Token::Atom("FLAGS".into()),
                    Token::Atom("BODY.PEEK[HEADER.FIELDS (FROM TO)]<0.10>".into())
                ])
            ]
        );
        assert!(Scanner::new(b"(unclosed").tokens().is_err());
        assert!(Scanner::new(b"\"unclosed").tokens().is_err());
        assert!(Scanner::new(b"x)").tokens().is_err());
        assert!(Scanner::new(b"BODY[").tokens().is_err());
        let deep = "(".repeat(50);
        assert!(Scanner::new(deep.as_bytes()).tokens().is_err());
    }

    #[test]
    fn tags_exclude_specials() {
        assert_eq!(Scanner::new(b"a1 NOOP").tag(), Some("a1".into()));
        assert_eq!(Scanner::new(b"+ NOOP").tag(), None);
        assert_eq!(Scanner::new(b"* NOOP").tag(), None);
        assert_eq!(Scanner::new(b" NOOP").tag(), None);
    }

    #[test]
    fn uid_commands_get_two_word_names() {
        let Input::Command(c) = finish_command(Some("t".into()), tokens("uid fetch 1:* FLAGS"))
        else {
            panic!("not a command")
        };
        assert_eq!(c.name, "UID FETCH");
        assert_eq!(c.args.len(), 2);
    }

    #[test]
    fn sequence_sets() {
        assert_eq!(parse_set("1:*", 5), Some(vec![(1, 5)]));
        assert_eq!(parse_set("3,1:2", 5), Some(vec![(3, 3), (1, 2)]));
        assert_eq!(parse_set("*:2", 5), Some(vec![(2, 5)]));
        assert_eq!(parse_set("0", 5), None);
        assert_eq!(parse_set("x", 5), None);
        assert_eq!(parse_set("1,", 5), None);
        assert_eq!(parse_set("-1", 5), None);
    }

    #[test]
    fn fetch_items_and_macros() {
        assert_eq!(
            parse_fetch_items(&Token::Atom("FAST".into())),
            Some(vec![
                FetchItem::Flags,
                FetchItem::InternalDate,
                FetchItem::Size
            ])
        );
        assert_eq!(
            parse_fetch_items(&Token::Atom("body.peek[]<5.10>".into())),
            Some(vec![FetchItem::Body {
                peek: true,
                section: Section::Full,
                partial: Some((5, 10))
            }])
        );
        assert_eq!(
            parse_fetch_item("BODY[HEADER.FIELDS (From Subject)]"),
            Some(vec![FetchItem::Body {
                peek: false,
                section: Section::HeaderFields {
                    not: false,
                    names: vec!["FROM".into(), "SUBJECT".into()]
                },
                partial: None
            }])
        );
        assert_eq!(parse_fetch_item("BODYSTRUCTURE"), None);
        assert_eq!(parse_fetch_item("BODY[2]"), None);
        assert_eq!(parse_fetch_items(&Token::List(vec![])), None);
        assert_eq!(
            parse_fetch_items(&Token::List(vec![Token::Atom("ALL".into())])),
            None
        );
    }

    #[test]
    fn sections_of_a_message() {
        let raw = b"From: a@b\r\nSubject: hi\r\n there\r\nTo: c@d\r\n\r\nbody\r\n";
        assert_eq!(
            section_bytes(raw, &Section::Header),
            b"From: a@b\r\nSubject: hi\r\n there\r\nTo: c@d\r\n\r\n"
        );
        assert_eq!(section_bytes(raw, &Section::Text), b"body\r\n");
        let fields = Section::HeaderFields {
            not: false,
            names: vec!["SUBJECT".into()],
        };
        assert_eq!(
            section_bytes(raw, &fields),
            b"Subject: hi\r\n there\r\n\r\n"
        );
        let not = Section::HeaderFields {
            not: true,
            names: vec!["SUBJECT".into()],
        };
        assert_eq!(section_bytes(raw, &not), b"From: a@b\r\nTo: c@d\r\n\r\n");
    }

    #[test]
    fn envelope_of_seeded_message_shape() {
        let raw = b"Date: Tue, 07 Jan 2025 10:30:00 +0000\r\nFrom: Alice Example <alice@mailwire.test>\r\nTo: \"Demo, User\" <demo@localhost>, bob@x\r\nSubject: Say \"hi\"\r\nMessage-ID: <m@x>\r\n\r\nbody\r\n";
        let env = String::from_utf8(envelope(raw)).unwrap();
        assert_eq!(
            env,
            "(\"Tue, 07 Jan 2025 10:30:00 +0000\" \"Say \\\"hi\\\"\" ((\"Alice Example\" NIL \"alice\" \"mailwire.test\")) \
             ((\"Alice Example\" NIL \"alice\" \"mailwire.test\")) ((\"Alice Example\" NIL \"alice\" \"mailwire.test\")) \
             ((\"Demo, User\" NIL \"demo\" \"localhost\")(NIL NIL \"bob\" \"x\")) NIL NIL NIL \"<m@x>\")"
        );
    }

    #[test]
    fn strings_are_quoted_or_literal() {
        assert_eq!(imap_string(b"plain"), b"\"plain\"");
        assert_eq!(imap_string(b"a\"b\\c"), b"\"a\\\"b\\\\c\"");
        assert_eq!(imap_string("caf\u{e9}".as_bytes()), b"{5}\r\ncaf\xc3\xa9");
    }

    #[test]
    fn internal_date_format() {
        let d = OffsetDateTime::from_unix_timestamp(1_736_245_800).unwrap();
        assert_eq!(internal_date(d), " 7-Jan-2025 10:30:00 +0000");
    }

    #[test]
    fn list_patterns() {
        assert!(list_match("*", "INBOX"));
        assert!(list_match("%", "INBOX"));
        assert!(list_match("inb*", "INBOX"));
        assert!(!list_match("Sent", "INBOX"));
    }
}

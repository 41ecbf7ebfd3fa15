//! What the client sends, in the protocols' own vocabulary: the tag (IMAP),
//! the verb, the arguments, a literal announced at the end of the line, the
//! byte ranges that are secrets, and whether a SASL exchange starts.
//!
//! ```text
//! EHLO client.example                 verb EHLO                      RFC 5321 §4.1.1.1
//! AUTH PLAIN AGFsaWNlAHMzY3JldA==     verb AUTH, SASL PLAIN, secret: the initial response
//! a1 LOGIN alice "s3cret"             tag a1, verb LOGIN, secret: "s3cret"   RFC 9051 §6.2.3
//! a2 LOGIN {5}                        literal of 5 bytes: the user name; the password follows it
//! a3 APPEND INBOX {310}               literal of 310 bytes: message data     RFC 9051 §6.3.12
//! PASS s3cret                         verb PASS, secret: the rest of the line  RFC 1939 §7
//! APOP alice c4c9334bac560ecc979e     verb APOP, secret: the digest             RFC 1939 §7
//! ```
//!
//! One line at a time, without its line ending. What comes between lines
//! (SASL responses, literal bytes, a DATA body, IDLE's DONE) is the
//! dialogue's business (`session::dialogue`), which calls
//! [`continue_after_literal`] when a literal's bytes are through. The TUI
//! uses the same parse to mask what the operator types, the built-in server
//! to read what it is sent.

use std::fmt;
use std::ops::Range;

use super::imap::Tag;
use super::sasl::Mechanism;
use crate::target::Protocol;

/// A command verb, case-insensitive on the wire (RFC 5321 §2.4, RFC 9051 §9,
/// RFC 1939 §3). The set is open: extensions add verbs, kept in `Other`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Verb {
    // SMTP and LMTP, RFC 5321 §4.1.1, RFC 2033, RFC 3207, RFC 4954, RFC 3030.
    Ehlo,
    Helo,
    Lhlo,
    Mail,
    Rcpt,
    Data,
    Bdat,
    Rset,
    Vrfy,
    Expn,
    Help,
    Noop,
    Quit,
    /// SMTP and IMAP STARTTLS (RFC 3207, RFC 9051 §6.2.1).
    StartTls,
    /// SMTP and POP3 AUTH (RFC 4954, RFC 5034).
    Auth,
    // IMAP, RFC 9051 §6.
    Capability,
    Login,
    Authenticate,
    Logout,
    Select,
    Examine,
    Idle,
    Append,
    Fetch,
    Enable,
    Id,
    // POP3, RFC 1939, RFC 2449, RFC 2595.
    Capa,
    Stls,
    User,
    Pass,
    Apop,
    Stat,
    List,
    Retr,
    Top,
    Dele,
    Uidl,
    /// Any other verb, upper-cased as sent (`UID`, `SEARCH`, `XCLIENT`, ...).
    Other(String),
    /// An empty line.
    Empty,
}

impl Verb {
    /// Reads a verb word, case-insensitively.
    pub fn parse(word: &[u8]) -> Verb {
        let upper = String::from_utf8_lossy(word).to_ascii_uppercase();
        match upper.as_str() {
            "" => Verb::Empty,
            "EHLO" => Verb::Ehlo,
            "HELO" => Verb::Helo,
            "LHLO" => Verb::Lhlo,
            "MAIL" => Verb::Mail,
            "RCPT" => Verb::Rcpt,
            "DATA" => Verb::Data,
            "BDAT" => Verb::Bdat,
            "RSET" => Verb::Rset,
            "VRFY" => Verb::Vrfy,
            "EXPN" => Verb::Expn,
            "HELP" => Verb::Help,
            "NOOP" => Verb::Noop,
            "QUIT" => Verb::Quit,
            "STARTTLS" => Verb::StartTls,
            "AUTH" => Verb::Auth,
            "CAPABILITY" => Verb::Capability,
            "LOGIN" => Verb::Login,
            "AUTHENTICATE" => Verb::Authenticate,
            "LOGOUT" => Verb::Logout,
            "SELECT" => Verb::Select,
            "EXAMINE" => Verb::Examine,
            "IDLE" => Verb::Idle,
            "APPEND" => Verb::Append,
            "FETCH" => Verb::Fetch,
            "ENABLE" => Verb::Enable,
            "ID" => Verb::Id,
            "CAPA" => Verb::Capa,
            "STLS" => Verb::Stls,
            "USER" => Verb::User,
            "PASS" => Verb::Pass,
            "APOP" => Verb::Apop,
            "STAT" => Verb::Stat,
            "LIST" => Verb::List,
            "RETR" => Verb::Retr,
            "TOP" => Verb::Top,
            "DELE" => Verb::Dele,
            "UIDL" => Verb::Uidl,
            _ => Verb::Other(upper),
        }
    }

    /// The verb as written on the wire, upper case.
    pub fn as_str(&self) -> &str {
        match self {
            Verb::Ehlo => "EHLO",
            Verb::Helo => "HELO",
            Verb::Lhlo => "LHLO",
            Verb::Mail => "MAIL",
            Verb::Rcpt => "RCPT",
            Verb::Data => "DATA",
            Verb::Bdat => "BDAT",
            Verb::Rset => "RSET",
            Verb::Vrfy => "VRFY",
            Verb::Expn => "EXPN",
            Verb::Help => "HELP",
            Verb::Noop => "NOOP",
            Verb::Quit => "QUIT",
            Verb::StartTls => "STARTTLS",
            Verb::Auth => "AUTH",
            Verb::Capability => "CAPABILITY",
            Verb::Login => "LOGIN",
            Verb::Authenticate => "AUTHENTICATE",
            Verb::Logout => "LOGOUT",
            Verb::Select => "SELECT",
            Verb::Examine => "EXAMINE",
            Verb::Idle => "IDLE",
            Verb::Append => "APPEND",
            Verb::Fetch => "FETCH",
            Verb::Enable => "ENABLE",
            Verb::Id => "ID",
            Verb::Capa => "CAPA",
            Verb::Stls => "STLS",
            Verb::User => "USER",
            Verb::Pass => "PASS",
            Verb::Apop => "APOP",
            Verb::Stat => "STAT",
            Verb::List => "LIST",
            Verb::Retr => "RETR",
            Verb::Top => "TOP",
            Verb::Dele => "DELE",
            Verb::Uidl => "UIDL",
            Verb::Other(s) => s,
            Verb::Empty => "",
        }
    }

    /// True for the verbs that ask for capabilities: EHLO, HELO, LHLO,
    /// CAPABILITY, CAPA.
    pub fn asks_capabilities(&self) -> bool {
        matches!(
            self,
            Verb::Ehlo | Verb::Helo | Verb::Lhlo | Verb::Capability | Verb::Capa
        )
    }

    /// True for the verbs that carry credentials or start SASL.
    pub fn is_authentication(&self) -> bool {
        matches!(
            self,
            Verb::Auth | Verb::Login | Verb::Authenticate | Verb::User | Verb::Pass | Verb::Apop
        )
    }

    /// True for the mail transaction verbs of SMTP/LMTP (RFC 5321 §3.3).
    pub fn is_transaction(&self) -> bool {
        matches!(self, Verb::Mail | Verb::Rcpt | Verb::Data | Verb::Bdat)
    }
}

impl fmt::Display for Verb {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The upgrade verb: `STARTTLS` (SMTP, LMTP, IMAP) or `STLS` (POP3, RFC 2595 §4).
pub fn starttls_verb(protocol: Protocol) -> Verb {
    match protocol {
        Protocol::Pop3 => Verb::Stls,
        _ => Verb::StartTls,
    }
}

/// The goodbye verb: IMAP `LOGOUT` (RFC 9051 §6.1.3), else `QUIT`.
pub fn quit_verb(protocol: Protocol) -> Verb {
    match protocol {
        Protocol::Imap => Verb::Logout,
        _ => Verb::Quit,
    }
}

/// The capability request as a line (no tag, no CRLF): `EHLO name`
/// (RFC 5321 §4.1.1.1), `LHLO name` (RFC 2033 §4.1), `CAPABILITY`
/// (RFC 9051 §6.1.1) or `CAPA` (RFC 2449 §5).
pub fn capability_line(protocol: Protocol, ehlo: &str) -> String {
    match protocol {
        Protocol::Smtp => format!("EHLO {ehlo}"),
        Protocol::Lmtp => format!("LHLO {ehlo}"),
        Protocol::Imap => "CAPABILITY".to_string(),
        Protocol::Pop3 => "CAPA".to_string(),
    }
}

/// An IMAP quoted string (RFC 9051 §4.3): `"` and `\` escaped.
pub fn imap_quoted(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

/// A one-line credential command (no tag, no CRLF): IMAP `LOGIN "user"
/// "password"` (RFC 9051 §6.2.3) for `Login` on IMAP, else SASL PLAIN with
/// an initial response: `AUTHENTICATE PLAIN ...` (RFC 9051 §6.2.2, RFC 4959)
/// or `AUTH PLAIN ...` (RFC 4954 §4, RFC 5034 §4).
pub fn credential_line(
    protocol: Protocol,
    mechanism: &Mechanism,
    user: &str,
    password: &str,
) -> String {
    let plain = super::sasl::plain_response(user, password);
    match (protocol, mechanism) {
        (Protocol::Imap, Mechanism::Login) => {
            format!("LOGIN {} {}", imap_quoted(user), imap_quoted(password))
        }
        (Protocol::Imap, _) => format!("AUTHENTICATE PLAIN {plain}"),
        _ => format!("AUTH PLAIN {plain}"),
    }
}

/// What an IMAP literal announced at the end of a client line holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LiteralRole {
    /// Ordinary data (a mailbox name, an APPEND message, ...).
    Data,
    /// LOGIN's user name; the password follows after the literal.
    LoginUser,
    /// LOGIN's password: the literal's bytes are a secret.
    LoginPassword,
}

/// A literal announced at the end of a line: `{n}`, `{n+}` (RFC 7888) or
/// `~{n}` (literal8, RFC 3516), RFC 9051 §4.3.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LiteralAnnounce {
    /// Bytes announced.
    pub size: u64,
    /// True for `{n}`: the client must wait for a `+` continuation request.
    /// False for `{n+}` (LITERAL+/LITERAL-, RFC 7888 §3).
    pub sync: bool,
    pub role: LiteralRole,
}

/// One client line as parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command {
    /// IMAP tag (RFC 9051 §2.2.1); `None` for SMTP, POP3 and untagged lines.
    pub tag: Option<Tag>,
    pub verb: Verb,
    /// Bytes after the verb and its space, within the line.
    pub args: Range<usize>,
    /// Byte ranges within the line that are credentials, in order.
    pub secrets: Vec<Range<usize>>,
    /// A literal announced at the end of the line.
    pub literal: Option<LiteralAnnounce>,
    /// The mechanism of a SASL exchange this line starts (AUTH, AUTHENTICATE).
    pub sasl: Option<Mechanism>,
}

impl Command {
    /// The arguments as text (lossy), e.g. `FROM:<a@b>` for `MAIL FROM:<a@b>`.
    pub fn args_text<'a>(&self, line: &'a [u8]) -> std::borrow::Cow<'a, str> {
        String::from_utf8_lossy(line.get(self.args.clone()).unwrap_or_default())
    }

    /// True when the line carries a credential.
    pub fn has_secret(&self) -> bool {
        !self.secrets.is_empty()
            || self
                .literal
                .is_some_and(|l| l.role == LiteralRole::LoginPassword)
    }
}

/// Parses one client line (no line ending). With `tagged`, the first word
/// of an IMAP line is its tag; pass `false` for what an operator types
/// before the engine adds the tag.
pub fn parse(protocol: Protocol, line: &[u8], tagged: bool) -> Command {
    let whole = 0..line.len();
    let (tag, rest) = if protocol == Protocol::Imap && tagged {
        let (tag, rest) = word(line, whole);
        (
            Some(Tag(String::from_utf8_lossy(&line[tag]).into_owned())),
            rest,
        )
    } else {
        (None, whole)
    };
    let (verb_range, args) = word(line, rest);
    let verb = Verb::parse(&line[verb_range]);
    let mut command = Command {
        tag,
        verb,
        args: args.clone(),
        secrets: Vec::new(),
        literal: None,
        sasl: None,
    };
    let starts_sasl = match protocol {
        Protocol::Imap => command.verb == Verb::Authenticate,
        _ => command.verb == Verb::Auth,
    };
    if starts_sasl {
        let (mechanism, response) = word(line, args);
        command.sasl = Some(Mechanism::parse(&String::from_utf8_lossy(&line[mechanism])));
        // `=` is an empty initial response (RFC 4954 §4), not a secret.
        if &line[response.clone()] != b"=" {
            push(&mut command.secrets, response);
        }
        return command;
    }
    match (protocol, &command.verb) {
        (Protocol::Imap, Verb::Login) => login(line, args, &mut command),
        (Protocol::Pop3, Verb::Pass) => push(&mut command.secrets, args),
        (Protocol::Pop3, Verb::Apop) => {
            let (_user, digest) = word(line, args);
            push(&mut command.secrets, digest);
        }
        (Protocol::Imap, _) => {
            command.literal = literal_at_end(&line[args], LiteralRole::Data);
        }
        _ => {}
    }
    command
}

/// `LOGIN SP userid SP password`, each an astring (RFC 9051 §9).
fn login(line: &[u8], args: Range<usize>, command: &mut Command) {
    let a = &line[args.clone()];
    let user_len = if a.first() == Some(&b'"') {
        match quoted_len(a) {
            Some(n) => n,
            // An unterminated quote: the password may be inside it.
            None => {
                push(&mut command.secrets, args);
                return;
            }
        }
    } else if let Some(literal) = literal_at_end(a, LiteralRole::LoginUser)
        && a.iter().position(|&b| b == b' ').is_none()
    {
        command.literal = Some(literal);
        return;
    } else {
        a.iter().position(|&b| b == b' ').unwrap_or(a.len())
    };
    let password = (args.start + user_len + 1).min(args.end)..args.end;
    password_arg(line, password, &mut command.secrets, &mut command.literal);
}

/// The password argument of LOGIN: a secret, or a literal whose bytes are.
fn password_arg(
    line: &[u8],
    password: Range<usize>,
    secrets: &mut Vec<Range<usize>>,
    literal: &mut Option<LiteralAnnounce>,
) {
    // Only an argument that is wholly `{n}` is a literal: `pw{5}` is an
    // atom with a stray brace (RFC 9051 §9 forbids `{` in atoms), and must
    // be masked as the password it holds, not taken for an announcement.
    let arg = &line[password.clone()];
    match literal_at_end(arg, LiteralRole::LoginPassword) {
        Some(l) if arg.starts_with(b"{") || arg.starts_with(b"~{") => *literal = Some(l),
        _ => push(secrets, password),
    }
}

/// After a literal's bytes, the rest of the command line (up to its line
/// ending) continues the command: for [`LiteralRole::LoginUser`] it holds
/// ` password`; otherwise it may announce another literal. Returns the
/// secret ranges within `rest` and the next literal.
pub fn continue_after_literal(
    rest: &[u8],
    role: LiteralRole,
) -> (Vec<Range<usize>>, Option<LiteralAnnounce>) {
    let mut secrets = Vec::new();
    let mut literal = None;
    match role {
        LiteralRole::LoginUser => {
            let password = usize::from(rest.first() == Some(&b' ')).min(rest.len())..rest.len();
            password_arg(rest, password, &mut secrets, &mut literal);
        }
        LiteralRole::Data | LiteralRole::LoginPassword => {
            literal = literal_at_end(rest, LiteralRole::Data);
        }
    }
    (secrets, literal)
}

fn push(spans: &mut Vec<Range<usize>>, span: Range<usize>) {
    if !span.is_empty() {
        spans.push(span);
    }
}

/// Splits `span` at its first space: (word, rest after the space).
fn word(line: &[u8], span: Range<usize>) -> (Range<usize>, Range<usize>) {
    match line[span.clone()].iter().position(|&b| b == b' ') {
        Some(i) => (span.start..span.start + i, span.start + i + 1..span.end),
        None => (span.clone(), span.end..span.end),
    }
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

/// A literal announcement ending `text`: `{n}`, `{n+}` or `~{n}`.
/// Sizes beyond u64 (20+ digits) are not literals.
fn literal_at_end(text: &[u8], role: LiteralRole) -> Option<LiteralAnnounce> {
    let inner = text.strip_suffix(b"}")?;
    let open = inner.iter().rposition(|&b| b == b'{')?;
    let digits = &inner[open + 1..];
    let (digits, sync) = match digits.strip_suffix(b"+") {
        Some(d) => (d, false),
        None => (digits, true),
    };
    if digits.is_empty() || digits.len() > 20 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let size = std::str::from_utf8(digits).ok()?.parse().ok()?;
    Some(LiteralAnnounce { size, sync, role })
}

/// The bytes of `line` with every range in `secrets` replaced by
/// [`placeholder`], the one form a secret takes on screen and in files.
pub fn redact(line: &[u8], secrets: &[Range<usize>]) -> Vec<u8> {
    let mut out = Vec::with_capacity(line.len());
    let mut pos = 0;
    for span in secrets {
        let (start, end) = (span.start.min(line.len()), span.end.min(line.len()));
        if start < pos {
            continue;
        }
        out.extend_from_slice(&line[pos..start]);
        let secret = &line[start..end];
        match placeholder_len(secret) {
            // Already a placeholder (a redacted recording read again).
            Some(n) if n == secret.len() => out.extend_from_slice(secret),
            _ => out.extend_from_slice(placeholder(end - start).as_bytes()),
        }
        pos = end;
    }
    out.extend_from_slice(&line[pos.min(line.len())..]);
    out
}

/// A line as typed (no tag, no CRLF) with its credentials replaced by the
/// placeholder, for showing planned or typed commands.
pub fn redact_typed(protocol: Protocol, line: &str) -> String {
    let parsed = parse(protocol, line.as_bytes(), false);
    String::from_utf8_lossy(&redact(line.as_bytes(), &parsed.secrets)).into_owned()
}

/// The text that replaces `n` secret bytes: `<redacted n bytes>`.
pub fn placeholder(n: usize) -> String {
    format!("<redacted {n} bytes>")
}

/// If `bytes` starts with a placeholder, its length in bytes.
pub fn placeholder_len(bytes: &[u8]) -> Option<usize> {
    let rest = bytes.strip_prefix(b"<redacted ")?;
    let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
    if digits == 0 {
        return None;
    }
    let tail = &rest[digits..];
    let suffix: &[u8] = if tail.starts_with(b" bytes>") {
        b" bytes>"
    } else if tail.starts_with(b" byte>") {
        b" byte>"
    } else {
        return None;
    };
    Some("<redacted ".len() + digits + suffix.len())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// Found by the `client_command` fuzz target: a password ending in
    /// `{n}` was taken for a literal announcement and shown unmasked.
    #[test]
    fn a_password_ending_in_braces_is_masked_not_a_literal() {
        for line in [&b"a1 LOGIN user pw{11}"[..], b"a1 LOGIN user zQ9{5+}"] {
            let cmd = parse(Protocol::Imap, line, true);
            assert_eq!(cmd.literal, None, "{line:?}");
            let shown = redact(line, &cmd.secrets);
            assert!(
                shown.ends_with(b"user <redacted 6 bytes>")
                    || shown.ends_with(b"user <redacted 7 bytes>"),
                "{:?}",
                String::from_utf8_lossy(&shown)
            );
        }
        let cmd = parse(Protocol::Imap, b"a1 LOGIN user {6}", true);
        assert_eq!(
            cmd.literal.map(|l| (l.size, l.role)),
            Some((6, LiteralRole::LoginPassword))
        );
    }
    use test_case::test_case;

    fn secrets(protocol: Protocol, line: &str) -> Vec<String> {
        let c = parse(protocol, line.as_bytes(), true);
        c.secrets
            .iter()
            .map(|r| line[r.clone()].to_string())
            .collect()
    }

    #[test_case(Protocol::Smtp, "AUTH PLAIN AGFsaWNlAHMzY3JldA==", &["AGFsaWNlAHMzY3JldA=="]; "smtp auth ir")]
    #[test_case(Protocol::Smtp, "auth login", &[]; "smtp auth login")]
    #[test_case(Protocol::Smtp, "AUTH PLAIN =", &[]; "empty ir")]
    #[test_case(Protocol::Smtp, "MAIL FROM:<a@b>", &[]; "mail")]
    #[test_case(Protocol::Imap, "a1 LOGIN alice s3cret", &["s3cret"]; "imap login atom")]
    #[test_case(Protocol::Imap, "a1 LOGIN \"al ice\" \"s3 cret\"", &["\"s3 cret\""]; "imap login quoted")]
    #[test_case(Protocol::Imap, "a1 LOGIN \"alice s3cret", &["\"alice s3cret"]; "unterminated")]
    #[test_case(Protocol::Imap, "a1 AUTHENTICATE PLAIN AGFs", &["AGFs"]; "imap authenticate ir")]
    #[test_case(Protocol::Imap, "a1 SELECT INBOX", &[]; "select")]
    #[test_case(Protocol::Pop3, "PASS my secret", &["my secret"]; "pop3 pass with space")]
    #[test_case(Protocol::Pop3, "APOP alice c4c9334bac560ecc979e58001b3e22fb", &["c4c9334bac560ecc979e58001b3e22fb"]; "apop")]
    #[test_case(Protocol::Pop3, "AUTH PLAIN AGFs", &["AGFs"]; "pop3 auth ir")]
    #[test_case(Protocol::Pop3, "USER alice", &[]; "user")]
    fn secret_ranges(protocol: Protocol, line: &str, want: &[&str]) {
        assert_eq!(secrets(protocol, line), want);
    }

    #[test]
    fn tags_verbs_and_sasl() {
        let c = parse(Protocol::Imap, b"a7 uid fetch 1:* (FLAGS)", true);
        assert_eq!(c.tag, Some(Tag("a7".into())));
        assert_eq!(c.verb, Verb::Other("UID".into()));
        let c = parse(Protocol::Imap, b"CAPABILITY", false);
        assert_eq!((c.tag, c.verb), (None, Verb::Capability));
        let c = parse(Protocol::Smtp, b"AUTH login", true);
        assert_eq!(c.sasl, Some(Mechanism::Login));
        let c = parse(Protocol::Imap, b"a1 AUTHENTICATE SCRAM-SHA-256", true);
        assert_eq!(c.sasl, Some(Mechanism::Other("SCRAM-SHA-256".into())));
        assert_eq!(parse(Protocol::Smtp, b"", false).verb, Verb::Empty);
        let c = parse(Protocol::Smtp, b"MAIL FROM:<a@b>", true);
        assert_eq!(c.args_text(b"MAIL FROM:<a@b>"), "FROM:<a@b>");
    }

    #[test]
    fn literals() {
        let c = parse(Protocol::Imap, b"a1 LOGIN {5}", true);
        assert_eq!(
            c.literal,
            Some(LiteralAnnounce {
                size: 5,
                sync: true,
                role: LiteralRole::LoginUser
            })
        );
        assert!(c.secrets.is_empty());
        let (s, l) = continue_after_literal(b" s3cret", LiteralRole::LoginUser);
        assert_eq!(s, vec![1..7]);
        assert_eq!(l, None);
        let (s, l) = continue_after_literal(b" {6+}", LiteralRole::LoginUser);
        assert!(s.is_empty());
        assert_eq!(
            l.map(|l| (l.size, l.sync, l.role)),
            Some((6, false, LiteralRole::LoginPassword))
        );
        let c = parse(Protocol::Imap, b"a1 LOGIN alice {6}", true);
        assert!(c.has_secret());
        assert_eq!(c.literal.map(|l| l.role), Some(LiteralRole::LoginPassword));
        let c = parse(Protocol::Imap, b"a2 APPEND INBOX (\\Seen) ~{310}", true);
        assert_eq!(
            c.literal.map(|l| (l.size, l.role)),
            Some((310, LiteralRole::Data))
        );
        assert_eq!(
            parse(
                Protocol::Imap,
                b"a2 APPEND INBOX {184467440737095516160}",
                true
            )
            .literal,
            None
        );
        assert_eq!(parse(Protocol::Smtp, b"NOOP {5}", true).literal, None);
    }

    #[test]
    fn redaction_is_idempotent() {
        let line = b"AUTH PLAIN AGFsaWNl";
        let once = redact(line, &parse(Protocol::Smtp, line, true).secrets);
        assert_eq!(once, b"AUTH PLAIN <redacted 8 bytes>");
        let twice = redact(&once, &parse(Protocol::Smtp, &once, true).secrets);
        assert_eq!(twice, once);
        assert_eq!(placeholder_len(b"<redacted 1 byte>x"), Some(17));
        assert_eq!(placeholder_len(b"<redacted x bytes>"), None);
    }
}

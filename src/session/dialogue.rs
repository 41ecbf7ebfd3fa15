//! The dialogue: a sans-IO observer that follows one conversation and says
//! what each piece of it means. It is the only place that knows which
//! command a reply answers, which bytes are secrets, what phase the session
//! is in and what the server advertised; everything else reads its notes.
//!
//! ```text
//! bytes --frame (protocol)--> Response --+
//! bytes sent (command vocabulary) -------+--> Dialogue --> Note    (attached to the Entry)
//! TLS established / closed --------------+             \-> Finding (emitted as Event::Finding)
//!
//! consumers of notes: check, TUI (transcript, explain, hints), recorder
//! (redaction), client replay. A loaded recording is run through a fresh
//! Dialogue, so a fix here reaches old recordings.
//! ```
//!
//! What it follows, per protocol:
//! - SMTP/LMTP (RFC 5321 §4.2, §4.3.2): replies answer commands in order
//!   (pipelining included, RFC 2920); `334` keeps a SASL exchange open
//!   (RFC 4954 §4), `354` opens the message body, ended by a lone `.`
//!   (RFC 5321 §4.1.1.4); LMTP answers the body once per accepted recipient
//!   (RFC 2033 §4.2); BDAT chunks carry a byte count (RFC 3030 §2).
//! - IMAP (RFC 9051 §2.2): tagged responses complete the command with that
//!   tag; `+` continuation requests open a literal, a SASL exchange or IDLE
//!   (RFC 9051 §7.5, RFC 2177); `* BYE` ends the session (§7.1.5).
//! - POP3 (RFC 1939 §3): one response per command, multi-line for CAPA,
//!   RETR, TOP and LIST/UIDL without argument; `+ ` is a SASL challenge
//!   (RFC 5034 §4).
//!
//! It never fails: anything unexpected becomes a finding, and the note says
//! `Junk` or `Unsolicited` rather than pretending an answer.

use std::collections::VecDeque;
use std::ops::Range;
use std::time::Duration;

use super::Response;
use crate::finding::{Finding, FindingId, Severity, Stage};
use crate::protocol::command::{self, LiteralRole, Verb};
use crate::protocol::imap::{self, Tag};
use crate::protocol::{Capability, Defect, pop3, smtp};
use crate::target::Protocol;

/// Most commands remembered while awaiting replies; a client that pipelines
/// more without reading is not followed further (the oldest are dropped).
const MAX_PENDING: usize = 1024;
/// Most IMAP tags remembered to tell an unknown tag from a late one.
const MAX_TAGS: usize = 256;
/// Longest piece of a reply quoted in a finding's summary, in characters.
const QUOTE: usize = 120;

/// What an entry is in the conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// A client command line.
    #[default]
    Command,
    /// Client bytes that are no command: a SASL response, literal bytes,
    /// the message body, IDLE's `DONE`.
    ClientData,
    /// Positive completion: SMTP 2yz, IMAP OK (tagged or greeting), POP3 +OK.
    Positive,
    /// Positive intermediate: SMTP 3yz (334, 354).
    Intermediate,
    /// Failure: SMTP 4yz/5yz, IMAP NO/BAD, POP3 -ERR, IMAP `* BYE`.
    Negative,
    /// IMAP untagged data or status that completes nothing.
    Untagged,
    /// IMAP `+` or POP3 `+ ` continuation request.
    Continuation,
    /// Not a response in the protocol's syntax; answers nothing.
    Junk,
    /// Bytes received after a positive STARTTLS reply and before the TLS
    /// handshake: possibly injected (CVE-2011-0411); never fed to TLS.
    Injected,
}

/// Where the conversation is after an entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Connected, waiting for the greeting.
    #[default]
    Greeting,
    /// Commands and their replies.
    Commands,
    /// The SMTP message body is being sent (after `354`, or BDAT data).
    Data,
    /// A `{n}` literal was announced: the client waits for the server's `+`
    /// before sending its bytes (RFC 9051 §7.5).
    AwaitingContinuation,
    /// The client owes the bytes of an IMAP literal (after `+`, or `{n+}`).
    Literal,
    /// A SASL exchange is open: client lines are SASL responses (secrets).
    Sasl,
    /// IMAP IDLE is running: the server pushes updates until `DONE`.
    Idle,
    /// STARTTLS was accepted: the next bytes are the TLS handshake.
    Handshake,
    /// The server refused or ended the session.
    Ended,
}

/// Which command a server response answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub verb: Verb,
    /// IMAP tag of the command.
    pub tag: Option<Tag>,
    /// When the command was sent (offset from the session start).
    pub sent_at: Duration,
    /// Sequence number of the command in this session, from 1.
    pub seq: u64,
    /// True when this answers the message body (SMTP DATA after `354`, or
    /// a BDAT chunk), not the command itself.
    pub body: bool,
}

/// What a client line was.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sent {
    pub verb: Verb,
    pub tag: Option<Tag>,
    /// Sequence number, matching [`Answer::seq`] of its reply.
    pub seq: u64,
}

/// The meaning of one entry, attached to it by the engine or the loader.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Note {
    /// Client entries: the first command line it holds.
    pub sent: Option<Sent>,
    /// Server entries: the command this response answers.
    pub answers: Option<Answer>,
    pub outcome: Outcome,
    /// True when this response completes the command it answers (SMTP
    /// final reply, IMAP tagged response, POP3 response).
    pub completes: bool,
    /// The phase after this entry.
    pub phase: Phase,
    /// Byte ranges of the entry's bytes that are credentials.
    pub secrets: Vec<Range<usize>>,
    /// Capabilities this response advertised (EHLO, CAPABILITY, CAPA);
    /// an empty list when it says there are none (HELO, CAPA -ERR).
    pub capabilities: Option<Vec<Capability>>,
    /// The parsed response (server entries), without POP3 bodies and IMAP
    /// literal contents, which stay in the entry's bytes only.
    pub response: Option<Response>,
    /// The oldest command still unanswered after this entry.
    pub awaiting: Option<Awaiting>,
    /// The next client line is a credential (a SASL response, a LOGIN
    /// password literal): mask it while it is typed.
    pub next_line_secret: bool,
}

/// A command awaiting its reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Awaiting {
    pub verb: Verb,
    /// When it was sent.
    pub since: Duration,
    /// The message body's reply (after DATA's `354`), not the command's.
    pub body: bool,
}

impl Note {
    /// The entry's bytes with every secret replaced by the one placeholder
    /// (`<redacted N bytes>`), as shown on screen and written to files.
    pub fn redact(&self, raw: &[u8]) -> Option<Vec<u8>> {
        (!self.secrets.is_empty()).then(|| command::redact(raw, &self.secrets))
    }
}

/// A command awaiting its reply.
#[derive(Debug, Clone)]
struct Pending {
    verb: Verb,
    tag: Option<Tag>,
    at: Duration,
    seq: u64,
    body: bool,
    /// POP3: how the reply is framed.
    expect: pop3::Expect,
    /// Replies still owed (LMTP answers a body once per recipient).
    replies: usize,
}

/// A literal the client still owes (RFC 9051 §4.3).
#[derive(Debug, Clone)]
struct Owed {
    remaining: u64,
    role: LiteralRole,
    /// A `{n}` literal waits for the server's `+`.
    awaiting_plus: bool,
    tag: Option<Tag>,
}

/// The SMTP message body, after `354` (RFC 5321 §4.1.1.4) or BDAT (RFC 3030).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Body {
    None,
    /// Dot-terminated: where the current body line is.
    Dot(BodyLine),
    /// BDAT: bytes still owed.
    Chunk(u64),
}

/// Position within a body line, to find the lone `.` that ends the body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BodyLine {
    Start,
    Dot,
    DotCr,
    Other,
}

/// The dialogue of one session.
#[derive(Debug, Clone)]
pub struct Dialogue {
    protocol: Protocol,
    tls: bool,
    greeted: bool,
    seq: u64,
    pending: VecDeque<Pending>,
    literal: Option<Owed>,
    /// Open SASL exchange; the IMAP tag that ends it.
    sasl: Option<Option<Tag>>,
    /// IMAP IDLE's tag once the server's `+` arrived.
    idle: Option<Tag>,
    body: Body,
    /// SMTP/LMTP: recipients accepted in the current transaction.
    rcpt_ok: usize,
    handshake: bool,
    caps_before: Option<Vec<Capability>>,
    caps_after: Option<Vec<Capability>>,
    /// Why the session ended, when the server ended it.
    ended: Option<Finding>,
    /// A valid response was seen (wrong-protocol detection stops then).
    valid_seen: bool,
    /// The plaintext capabilities were judged (findings once per session).
    judged_caps: bool,
    /// The chain of the current TLS session verified (credentials check).
    trusted: bool,
    tags: VecDeque<Tag>,
}

impl Dialogue {
    /// A dialogue for a session speaking `protocol`, before the greeting.
    /// With `implicit_tls`, the bytes travel inside TLS from the start.
    pub fn new(protocol: Protocol) -> Dialogue {
        Dialogue {
            protocol,
            tls: false,
            greeted: false,
            seq: 0,
            pending: VecDeque::new(),
            literal: None,
            sasl: None,
            idle: None,
            body: Body::None,
            rcpt_ok: 0,
            handshake: false,
            caps_before: None,
            caps_after: None,
            ended: None,
            valid_seen: false,
            judged_caps: false,
            trusted: false,
            tags: VecDeque::new(),
        }
    }

    /// The protocol followed.
    pub fn protocol(&self) -> Protocol {
        self.protocol
    }

    /// The phase now.
    pub fn phase(&self) -> Phase {
        if self.ended.is_some() {
            Phase::Ended
        } else if self.handshake {
            Phase::Handshake
        } else if !self.greeted {
            Phase::Greeting
        } else if self.body != Body::None {
            Phase::Data
        } else if let Some(l) = &self.literal {
            if l.awaiting_plus {
                Phase::AwaitingContinuation
            } else {
                Phase::Literal
            }
        } else if self.sasl.is_some() {
            Phase::Sasl
        } else if self.idle.is_some() {
            Phase::Idle
        } else {
            Phase::Commands
        }
    }

    /// True while TLS is up.
    pub fn is_tls(&self) -> bool {
        self.tls
    }

    /// The finding that ended the session (greeting refused, `* BYE`, SMTP
    /// 421, wrong service), once the server ended it.
    pub fn ended(&self) -> Option<&Finding> {
        self.ended.as_ref()
    }

    /// How the next POP3 response is framed (RFC 1939 §3): multi-line only
    /// when the oldest pending command asks for it.
    pub fn pop3_expect(&self) -> pop3::Expect {
        match self.pending.front() {
            Some(p) if self.greeted => p.expect,
            _ => pop3::Expect::Single,
        }
    }

    /// IMAP: true when the next client line continues something (literal
    /// bytes, a SASL response, IDLE's `DONE`) and so takes no tag.
    pub fn next_line_is_continuation(&self) -> bool {
        self.literal.is_some() || self.sasl.is_some() || self.idle.is_some()
    }

    /// True while a `{n}` literal waits for the server's `+` (RFC 9051 §7.5).
    pub fn awaiting_continuation(&self) -> bool {
        self.literal.as_ref().is_some_and(|l| l.awaiting_plus)
    }

    /// True once the greeting has been framed (RFC 5321 §4.3.1, RFC 9051
    /// §7.1, RFC 1939 §4).
    pub fn greeted(&self) -> bool {
        self.greeted
    }

    /// The oldest command still awaiting a reply: verb and when it was sent.
    pub fn awaiting(&self) -> Option<(&Verb, Duration, bool)> {
        if !self.greeted && self.ended.is_none() {
            return None;
        }
        self.pending.front().map(|p| (&p.verb, p.at, p.body))
    }

    /// The oldest command awaiting a reply: its sequence number, verb and
    /// when it was sent.
    pub fn awaiting_seq(&self) -> Option<(u64, &Verb, Duration)> {
        self.pending.front().map(|p| (p.seq, &p.verb, p.at))
    }

    /// Sequence number of the last command line seen sent.
    pub fn last_seq(&self) -> u64 {
        self.seq
    }

    /// Capabilities known for the current side of the upgrade (RFC 3207
    /// §4.2: those learnt before TLS are void after it); `None` until asked.
    pub fn capabilities(&self) -> Option<&[Capability]> {
        if self.tls {
            self.caps_after.as_deref()
        } else {
            self.caps_before.as_deref()
        }
    }

    /// Capabilities advertised before TLS, if asked.
    pub fn capabilities_before(&self) -> Option<&[Capability]> {
        self.caps_before.as_deref()
    }

    /// True when the current capabilities offer STARTTLS/STLS; `None` until asked.
    pub fn starttls_offered(&self) -> Option<bool> {
        let verb = command::starttls_verb(self.protocol);
        self.capabilities().map(|caps| {
            caps.iter()
                .any(|c| c.name.eq_ignore_ascii_case(verb.as_str()))
        })
    }

    // ---- client ---------------------------------------------------------

    /// Observes bytes the client sent at `at`; returns the note for the
    /// entry (secrets are ranges of `raw`).
    pub fn client(&mut self, at: Duration, raw: &[u8]) -> (Note, Vec<Finding>) {
        let mut note = Note {
            outcome: Outcome::ClientData,
            ..Note::default()
        };
        let mut pos = 0;
        // Bounded: every iteration consumes at least one byte.
        while pos < raw.len() {
            pos = if self.literal.is_some() {
                self.literal_bytes(raw, pos, &mut note)
            } else if self.body != Body::None {
                self.body_bytes(raw, pos, at)
            } else {
                let end = next_line(raw, pos);
                let content = pos..line_content_end(raw, pos, end);
                if self.sasl.is_some() {
                    // A SASL response, or `*` to cancel (RFC 4954 §4).
                    if &raw[content.clone()] != b"*" {
                        push(&mut note.secrets, content);
                    }
                } else if self.idle.is_some() && raw[content.clone()].eq_ignore_ascii_case(b"DONE")
                {
                    // RFC 2177 §3: DONE ends IDLE; the tagged reply follows.
                    self.idle = None;
                } else {
                    self.command_line(raw, content, at, &mut note);
                }
                end
            };
        }
        self.finish(&mut note);
        let mut findings = Vec::new();
        if !(note.secrets.is_empty() || self.tls && self.trusted) {
            let how = if self.tls {
                "over TLS whose certificate did not verify"
            } else {
                "over an unencrypted connection"
            };
            findings.push(Finding::new(
                FindingId::CredentialsExposed,
                Severity::Warning,
                Stage::Authentication,
                format!("credentials were sent {how}"),
                if self.tls {
                    "Whoever answered may not be the server you meant, and now has the credentials. Change the password if this was not a test account."
                } else {
                    "Anyone on the path can read them (base64 is an encoding, not encryption). Change the password if this was not a test account; upgrade with STARTTLS first."
                },
                "RFC 8314 §3, RFC 7817 §3",
            ));
        }
        (note, findings)
    }

    fn command_line(&mut self, raw: &[u8], content: Range<usize>, at: Duration, note: &mut Note) {
        let line = &raw[content.clone()];
        let tagged = self.protocol == Protocol::Imap;
        let cmd = command::parse(self.protocol, line, tagged);
        for s in &cmd.secrets {
            note.secrets
                .push(content.start + s.start..content.start + s.end);
        }
        self.seq += 1;
        if note.sent.is_none() {
            note.outcome = Outcome::Command;
            note.sent = Some(Sent {
                verb: cmd.verb.clone(),
                tag: cmd.tag.clone(),
                seq: self.seq,
            });
        }
        if let Some(tag) = &cmd.tag {
            self.tags.push_back(tag.clone());
            if self.tags.len() > MAX_TAGS {
                self.tags.pop_front();
            }
        }
        if cmd.sasl.is_some() {
            self.sasl = Some(cmd.tag.clone());
        }
        if let Some(l) = cmd.literal {
            self.literal = Some(Owed {
                remaining: l.size,
                role: l.role,
                awaiting_plus: l.sync,
                tag: cmd.tag.clone(),
            });
        }
        let has_arg = !cmd.args.is_empty();
        let expect = match (&cmd.verb, has_arg) {
            (Verb::Capa, _) => pop3::Expect::Capabilities,
            (Verb::Retr | Verb::Top, _) | (Verb::List | Verb::Uidl, false) => {
                pop3::Expect::MultiLine
            }
            _ => pop3::Expect::Single,
        };
        if matches!(self.protocol, Protocol::Smtp | Protocol::Lmtp) {
            match &cmd.verb {
                Verb::Mail | Verb::Rset | Verb::Ehlo | Verb::Helo | Verb::Lhlo => self.rcpt_ok = 0,
                Verb::Bdat => {
                    // `BDAT size [LAST]`: the chunk's bytes follow at once.
                    let size = cmd
                        .args_text(line)
                        .split_ascii_whitespace()
                        .next()
                        .and_then(|n| n.parse::<u64>().ok())
                        .unwrap_or(0);
                    if size > 0 {
                        self.body = Body::Chunk(size);
                    }
                }
                _ => {}
            }
        }
        let body = cmd.verb == Verb::Bdat;
        let replies = if body
            && self.protocol == Protocol::Lmtp
            && cmd.args_text(line).to_ascii_uppercase().contains("LAST")
        {
            self.rcpt_ok.max(1)
        } else {
            1
        };
        self.push_pending(Pending {
            verb: cmd.verb,
            tag: cmd.tag,
            at,
            seq: self.seq,
            body,
            expect,
            replies,
        });
    }

    fn push_pending(&mut self, p: Pending) {
        self.pending.push_back(p);
        if self.pending.len() > MAX_PENDING {
            self.pending.pop_front();
        }
    }

    /// Literal bytes from `pos`; then the rest of that command line.
    fn literal_bytes(&mut self, raw: &[u8], pos: usize, note: &mut Note) -> usize {
        let Some(mut owed) = self.literal.take() else {
            return raw.len();
        };
        let rest = &raw[pos..];
        // A redacted literal (a recording read again) is its placeholder.
        let placeholder = (owed.role == LiteralRole::LoginPassword)
            .then(|| command::placeholder_len(rest))
            .flatten();
        let available = u64::try_from(rest.len()).unwrap_or(u64::MAX);
        let taken = match placeholder {
            Some(n) => n,
            None => usize::try_from(owed.remaining.min(available)).unwrap_or(rest.len()),
        };
        if owed.role == LiteralRole::LoginPassword {
            push(&mut note.secrets, pos..pos + taken);
        }
        let pos = pos + taken;
        owed.awaiting_plus = false;
        if placeholder.is_none() && (taken as u64) < owed.remaining {
            owed.remaining -= taken as u64;
            self.literal = Some(owed);
            return pos;
        }
        // The command line goes on after the literal.
        let end = next_line(raw, pos);
        let content = pos..line_content_end(raw, pos, end);
        let (secrets, next) = command::continue_after_literal(&raw[content.clone()], owed.role);
        for s in secrets {
            note.secrets
                .push(content.start + s.start..content.start + s.end);
        }
        if let Some(l) = next {
            self.literal = Some(Owed {
                remaining: l.size,
                role: l.role,
                awaiting_plus: l.sync,
                tag: owed.tag,
            });
        }
        end
    }

    /// Message body bytes from `pos` (after `354`, or a BDAT chunk).
    fn body_bytes(&mut self, raw: &[u8], pos: usize, at: Duration) -> usize {
        match self.body {
            Body::Chunk(remaining) => {
                let available = u64::try_from(raw.len() - pos).unwrap_or(u64::MAX);
                let taken = remaining.min(available);
                self.body = if taken < remaining {
                    Body::Chunk(remaining - taken)
                } else {
                    Body::None
                };
                pos + usize::try_from(taken).unwrap_or(raw.len() - pos)
            }
            Body::Dot(mut state) => {
                // Find CRLF "." CRLF (RFC 5321 §4.1.1.4), across entries.
                for (i, &b) in raw[pos..].iter().enumerate() {
                    state = match (state, b) {
                        (BodyLine::Dot | BodyLine::DotCr, b'\n') => {
                            self.body = Body::None;
                            let replies = if self.protocol == Protocol::Lmtp {
                                self.rcpt_ok.max(1)
                            } else {
                                1
                            };
                            self.rcpt_ok = 0;
                            self.seq += 1;
                            let seq = self.seq;
                            self.push_pending(Pending {
                                verb: Verb::Data,
                                tag: None,
                                at,
                                seq,
                                body: true,
                                expect: pop3::Expect::Single,
                                replies,
                            });
                            return pos + i + 1;
                        }
                        (_, b'\n') => BodyLine::Start,
                        (BodyLine::Start, b'.') => BodyLine::Dot,
                        (BodyLine::Dot, b'\r') => BodyLine::DotCr,
                        _ => BodyLine::Other,
                    };
                }
                self.body = Body::Dot(state);
                raw.len()
            }
            Body::None => pos,
        }
    }

    // ---- server ---------------------------------------------------------

    /// Observes one framed server response `raw`, parsed as `response`.
    pub fn server(
        &mut self,
        at: Duration,
        raw: &[u8],
        response: &Response,
    ) -> (Note, Vec<Finding>) {
        let mut findings = Vec::new();
        let mut note = Note::default();
        if self.handshake {
            note.outcome = Outcome::Injected;
            self.finish(&mut note);
            findings.push(self.injection(raw));
            return (note, findings);
        }
        let _ = at;
        match response {
            Response::Malformed { reason } => {
                note.outcome = Outcome::Junk;
                findings.push(self.junk(raw, reason));
            }
            Response::Smtp(reply) => self.smtp(raw, reply, &mut note, &mut findings),
            Response::Imap(r) => self.imap(raw, r, &mut note, &mut findings),
            Response::Pop3(r) => self.pop3(raw, r, &mut note, &mut findings),
        }
        if !matches!(response, Response::Malformed { .. }) {
            self.valid_seen = true;
            note.response = Some(strip(response));
        }
        self.finish(&mut note);
        (note, findings)
    }

    /// Bytes that arrived while STARTTLS's handshake was due: each such
    /// entry is an error finding, whatever it holds.
    pub fn injected(&mut self, raw: &[u8]) -> (Note, Vec<Finding>) {
        let mut note = Note {
            outcome: Outcome::Injected,
            ..Note::default()
        };
        self.finish(&mut note);
        (note, vec![self.injection(raw)])
    }

    /// Fills what every note says about the state after its entry.
    fn finish(&self, note: &mut Note) {
        note.phase = self.phase();
        note.awaiting = self.pending.front().map(|p| Awaiting {
            verb: p.verb.clone(),
            since: p.at,
            body: p.body,
        });
        note.next_line_secret = self.sasl.is_some()
            || self
                .literal
                .as_ref()
                .is_some_and(|l| l.role == LiteralRole::LoginPassword);
    }

    fn injection(&self, raw: &[u8]) -> Finding {
        Finding::new(
            FindingId::StarttlsInjection,
            Severity::Error,
            Stage::Starttls,
            format!(
                "{} bytes arrived after the positive STARTTLS reply and before the TLS handshake; they were discarded, never treated as TLS data",
                raw.len()
            ),
            "Someone on the path (or a broken server) injected plaintext that a vulnerable client would read as if it came over TLS. Do not trust this path; report it to the server's operator (CVE-2011-0411 class).",
            "RFC 3207 §4.2, RFC 2595 §3.1",
        )
        .with_evidence(raw)
    }

    /// Takes the oldest pending command (SMTP, POP3), counting LMTP's
    /// per-recipient replies.
    fn answer_oldest(&mut self, final_reply: bool) -> Option<Answer> {
        let front = self.pending.front_mut()?;
        let answer = Answer {
            verb: front.verb.clone(),
            tag: front.tag.clone(),
            sent_at: front.at,
            seq: front.seq,
            body: front.body,
        };
        if final_reply {
            front.replies = front.replies.saturating_sub(1);
            if front.replies == 0 {
                self.pending.pop_front();
            }
        }
        Some(answer)
    }

    fn stage_of(&self, verb: Option<&Verb>) -> Stage {
        match verb {
            None if !self.greeted => Stage::Greeting,
            None => Stage::Command,
            Some(v) if v.asks_capabilities() => Stage::Capabilities,
            Some(Verb::StartTls | Verb::Stls) => Stage::Starttls,
            Some(v) if v.is_authentication() => Stage::Authentication,
            Some(v) if v.is_transaction() => Stage::Transaction,
            Some(Verb::Quit | Verb::Logout) => Stage::Close,
            Some(_) => Stage::Command,
        }
    }

    fn smtp(
        &mut self,
        raw: &[u8],
        reply: &smtp::Reply,
        note: &mut Note,
        findings: &mut Vec<Finding>,
    ) {
        let code = reply.code.0;
        note.outcome = match reply.code.class() {
            2 => Outcome::Positive,
            3 => Outcome::Intermediate,
            _ => Outcome::Negative,
        };
        self.defects(raw, &reply.defects, findings);
        if !self.greeted {
            self.greeted = true;
            note.completes = true;
            if code != 220 {
                let refused = Finding::new(
                    FindingId::ServiceRefused,
                    Severity::Error,
                    Stage::Greeting,
                    format!(
                        "the server greeted with {code} instead of 220: it refuses service ({})",
                        quote(&reply.text())
                    ),
                    "Read the reply text: it usually names the reason (overload, a block list, your address). Try later or from another address; a client must not send EHLO after it, only QUIT.",
                    "RFC 5321 §3.1, §4.2.2",
                )
                .with_evidence(raw);
                findings.push(refused.clone());
                self.ended = Some(refused);
            }
            return;
        }
        // 334 continues a SASL exchange: the AUTH still awaits its final
        // reply. 354 ends the DATA command; the body gets its own reply.
        let answer = self.answer_oldest(code != 334);
        note.completes = reply.code.class() != 3 && answer.is_some();
        let verb = answer.as_ref().map(|a| a.verb.clone());
        let stage = self.stage_of(verb.as_ref());
        match (&verb, code) {
            (None, _) => findings.push(
                Finding::new(
                    FindingId::UnsolicitedReply,
                    Severity::Warning,
                    stage,
                    format!(
                        "reply {code} arrived while no command was waiting for one ({})",
                        quote(&reply.text())
                    ),
                    "The server answered ahead of the commands (pipelining it did not advertise), or something on the path injected it. Later replies may not match their commands.",
                    "RFC 5321 §4.1.1, RFC 2920 §3",
                )
                .with_evidence(raw),
            ),
            (Some(Verb::Ehlo | Verb::Lhlo), 250) => {
                note.capabilities = Some(smtp::ehlo_capabilities(reply));
            }
            (Some(Verb::Ehlo | Verb::Lhlo), _) if reply.code.class() == 5 => {
                note.capabilities = Some(Vec::new());
                findings.push(
                    Finding::new(
                        FindingId::NoEsmtp,
                        Severity::Warning,
                        Stage::Capabilities,
                        format!("EHLO was refused with {code}: the server speaks no ESMTP, so it offers no STARTTLS and no AUTH"),
                        "Fall back to HELO (mailwire check does). Without ESMTP the session cannot be encrypted: upgrade the server, or use implicit TLS if it offers it.",
                        "RFC 5321 §3.2, §4.1.4",
                    )
                    .with_evidence(raw),
                );
            }
            (Some(Verb::Helo), 250) => note.capabilities = Some(Vec::new()),
            (Some(Verb::StartTls), 220) => self.handshake = true,
            (Some(Verb::StartTls), _) => findings.push(self.starttls_refused(raw, &reply.text())),
            (Some(Verb::Auth), 334) => {}
            (Some(Verb::Rcpt), _) if reply.is_completion() => self.rcpt_ok += 1,
            (Some(Verb::Data), 354) if answer.as_ref().is_some_and(|a| !a.body) => {
                self.body = Body::Dot(BodyLine::Start);
            }
            _ => {}
        }
        // RFC 4954 §4: any reply other than 334 ends the exchange.
        if code != 334 {
            self.sasl = None;
        }
        if let Some(c) = &note.capabilities {
            self.set_caps(c.clone(), raw, findings);
        }
        if code == 421 {
            let closing = Finding::new(
                FindingId::ServiceClosing,
                Severity::Error,
                stage,
                format!("the server is closing the session with 421 ({})", quote(&reply.text())),
                "The server is going away (overload, shutdown, a time or error limit). Nothing more will be answered on this connection; try again later.",
                "RFC 5321 §3.8, §4.2.2",
            )
            .with_evidence(raw);
            findings.push(closing.clone());
            self.ended = Some(closing);
        }
        note.answers = answer;
    }

    fn imap(
        &mut self,
        raw: &[u8],
        r: &imap::Response,
        note: &mut Note,
        findings: &mut Vec<Finding>,
    ) {
        if let Some(caps) = imap::capabilities(r) {
            note.capabilities = Some(caps);
        }
        match r {
            imap::Response::Untagged { status, .. } if !self.greeted => {
                self.greeted = true;
                note.completes = true;
                note.outcome = match status {
                    Some(imap::Status::Ok | imap::Status::PreAuth) => Outcome::Positive,
                    Some(imap::Status::Bye | imap::Status::No | imap::Status::Bad) => {
                        Outcome::Negative
                    }
                    None => Outcome::Untagged,
                };
                match status {
                    Some(imap::Status::PreAuth) => findings.push(
                        Finding::new(
                            FindingId::PreauthGreeting,
                            Severity::Warning,
                            Stage::Greeting,
                            "the greeting is PREAUTH: the session is already authenticated, so STARTTLS cannot be used",
                            "PREAUTH is for connections authenticated by other means (a local socket, a TLS client certificate). Over the network it means no STARTTLS: use imaps:// or fix the server.",
                            "RFC 9051 §7.1.4, RFC 2595 §3.1",
                        )
                        .with_evidence(raw),
                    ),
                    Some(imap::Status::Ok) => {}
                    _ => {
                        let refused = Finding::new(
                            FindingId::ServiceRefused,
                            Severity::Error,
                            Stage::Greeting,
                            format!("the server refused the connection in its greeting ({})", quote(r.human_text())),
                            "The text usually says why (overload, too many connections from your address, maintenance). Send nothing but LOGOUT; try later.",
                            "RFC 9051 §7.1.5",
                        )
                        .with_evidence(raw);
                        findings.push(refused.clone());
                        self.ended = Some(refused);
                    }
                }
            }
            imap::Response::Untagged { status, .. } => {
                note.outcome = Outcome::Untagged;
                let logging_out = self.pending.iter().any(|p| p.verb == Verb::Logout);
                if *status == Some(imap::Status::Bye) && !logging_out {
                    note.outcome = Outcome::Negative;
                    let closing = Finding::new(
                        FindingId::ServiceClosing,
                        Severity::Error,
                        self.stage_of(self.pending.front().map(|p| &p.verb)),
                        format!("the server ended the session with * BYE ({})", quote(r.human_text())),
                        "The server is closing the connection (shutdown, idle timeout, an error). No command will be answered any more; the client sends at most LOGOUT.",
                        "RFC 9051 §7.1.5",
                    )
                    .with_evidence(raw);
                    findings.push(closing.clone());
                    self.ended = Some(closing);
                }
            }
            imap::Response::Continuation { .. } => {
                note.outcome = Outcome::Continuation;
                note.completes = false;
                if let Some(l) = self.literal.as_mut().filter(|l| l.awaiting_plus) {
                    l.awaiting_plus = false;
                    let tag = l.tag.clone();
                    note.answers = self.answer_tag(tag.as_ref());
                } else if let Some(tag) = self.sasl.clone() {
                    note.answers = self.answer_tag(tag.as_ref());
                } else if let Some(p) = self.pending.iter().find(|p| p.verb == Verb::Idle) {
                    self.idle = p.tag.clone();
                    let tag = p.tag.clone();
                    note.answers = self.answer_tag(tag.as_ref());
                } else if let Some(p) = self
                    .pending
                    .back()
                    .filter(|p| matches!(p.verb, Verb::Other(_)))
                {
                    // A continuation for a command we do not follow (e.g. an
                    // extension with its own continuations).
                    let tag = p.tag.clone();
                    note.answers = self.answer_tag(tag.as_ref());
                } else if let Some(p) = self.pending.back() {
                    // A command we follow, with no literal, SASL exchange or
                    // IDLE open: it takes no continuation.
                    findings.push(
                        Finding::new(
                            FindingId::UnsolicitedReply,
                            Severity::Warning,
                            self.stage_of(Some(&p.verb)),
                            format!(
                                "a + continuation request arrived while {} was waiting for its reply, though it announced no literal and takes none",
                                p.verb
                            ),
                            "The server asked for input nobody announced; mailwire sends none, so the server may now wait for it while the client waits for the reply. Report it: the server or something on the path is confused.",
                            "RFC 9051 §7.5",
                        )
                        .with_evidence(raw),
                    );
                } else {
                    findings.push(
                        Finding::new(
                            FindingId::UnsolicitedReply,
                            Severity::Warning,
                            Stage::Command,
                            "a + continuation request arrived while no command was waiting for one",
                            "The server asked for input nobody announced. Ignore it; if it repeats, the server or something on the path is confused.",
                            "RFC 9051 §7.5",
                        )
                        .with_evidence(raw),
                    );
                }
            }
            imap::Response::Tagged { tag, status, .. } => {
                note.outcome = if *status == imap::Status::Ok {
                    Outcome::Positive
                } else {
                    Outcome::Negative
                };
                match self
                    .pending
                    .iter()
                    .position(|p| p.tag.as_ref() == Some(tag))
                {
                    Some(i) => {
                        let p = self.pending.remove(i).unwrap_or_else(unreachable_pending);
                        note.completes = true;
                        if self.sasl.as_ref().is_some_and(|t| t.as_ref() == Some(tag)) {
                            self.sasl = None;
                        }
                        if self
                            .literal
                            .as_ref()
                            .is_some_and(|l| l.tag.as_ref() == Some(tag))
                        {
                            // Refused before the literal was sent: it will not be.
                            self.literal = None;
                        }
                        if self.idle.as_ref() == Some(tag) || p.verb == Verb::Idle {
                            self.idle = None;
                        }
                        match (&p.verb, status) {
                            (Verb::StartTls, imap::Status::Ok) => self.handshake = true,
                            (Verb::StartTls, _) => {
                                findings.push(self.starttls_refused(raw, r.human_text()))
                            }
                            _ => {}
                        }
                        note.answers = Some(Answer {
                            verb: p.verb,
                            tag: p.tag,
                            sent_at: p.at,
                            seq: p.seq,
                            body: false,
                        });
                    }
                    None => {
                        let known = self.tags.contains(tag);
                        findings.push(
                            Finding::new(
                                if known { FindingId::UnsolicitedReply } else { FindingId::UnknownTag },
                                Severity::Warning,
                                Stage::Command,
                                if known {
                                    format!("a second tagged response for {tag} arrived; the command was already complete")
                                } else {
                                    format!("a tagged response carries the tag {tag}, which the client never sent")
                                },
                                "A tagged response completes exactly one command with that tag. This one answers nothing; the server is confused or something on the path injected it.",
                                "RFC 9051 §2.2.2, §7.1",
                            )
                            .with_evidence(raw),
                        );
                    }
                }
            }
        }
        if let Some(c) = &note.capabilities {
            self.set_caps(c.clone(), raw, findings);
        }
    }

    fn answer_tag(&self, tag: Option<&Tag>) -> Option<Answer> {
        let p = self.pending.iter().find(|p| p.tag.as_ref() == tag)?;
        Some(Answer {
            verb: p.verb.clone(),
            tag: p.tag.clone(),
            sent_at: p.at,
            seq: p.seq,
            body: false,
        })
    }

    fn pop3(
        &mut self,
        raw: &[u8],
        r: &pop3::Response,
        note: &mut Note,
        findings: &mut Vec<Finding>,
    ) {
        match r {
            pop3::Response::Continuation { .. } => {
                note.outcome = Outcome::Continuation;
                if self.greeted {
                    note.answers = self.answer_oldest(false);
                    if self.sasl.is_none() {
                        findings.push(
                            Finding::new(
                                FindingId::UnsolicitedReply,
                                Severity::Warning,
                                Stage::Command,
                                "a + continuation arrived outside a SASL exchange",
                                "POP3 uses + only for SASL challenges (AUTH). The server is confused or the reply was injected.",
                                "RFC 5034 §4",
                            )
                            .with_evidence(raw),
                        );
                    }
                }
            }
            pop3::Response::Status {
                status, text, body, ..
            } => {
                let ok = *status == pop3::Status::Ok;
                note.outcome = if ok {
                    Outcome::Positive
                } else {
                    Outcome::Negative
                };
                if !self.greeted {
                    self.greeted = true;
                    note.completes = true;
                    if !ok {
                        let refused = Finding::new(
                            FindingId::ServiceRefused,
                            Severity::Error,
                            Stage::Greeting,
                            format!("the server greeted with -ERR: it refuses service ({})", quote(text)),
                            "The text usually says why (overload, maintenance, your address). Try later.",
                            "RFC 1939 §4",
                        )
                        .with_evidence(raw);
                        findings.push(refused.clone());
                        self.ended = Some(refused);
                    }
                    return;
                }
                let answer = self.answer_oldest(true);
                note.completes = answer.is_some();
                self.sasl = None;
                match answer.as_ref().map(|a| &a.verb) {
                    None => findings.push(
                        Finding::new(
                            FindingId::UnsolicitedReply,
                            Severity::Warning,
                            Stage::Command,
                            format!("a response arrived while no command was waiting for one ({})", quote(text)),
                            "Later responses may not match their commands; the server answered ahead or something injected it.",
                            "RFC 1939 §3",
                        )
                        .with_evidence(raw),
                    ),
                    Some(Verb::Capa) if ok => {
                        note.capabilities = Some(body.as_ref().map_or_else(Vec::new, |_| pop3::capa(r)));
                    }
                    Some(Verb::Capa) => {
                        note.capabilities = Some(Vec::new());
                        findings.push(
                            Finding::new(
                                FindingId::CapaUnsupported,
                                Severity::Warning,
                                Stage::Capabilities,
                                format!("CAPA was answered with -ERR ({}): the server lists no capabilities", quote(text)),
                                "The server predates RFC 2449, or CAPA is disabled. Whether STLS works can only be found by trying it (mailwire check does).",
                                "RFC 2449 §5",
                            )
                            .with_evidence(raw),
                        );
                    }
                    Some(Verb::Stls) if ok => self.handshake = true,
                    Some(Verb::Stls) => findings.push(self.starttls_refused(raw, text)),
                    _ => {}
                }
                if let Some(c) = &note.capabilities {
                    self.set_caps(c.clone(), raw, findings);
                }
                note.answers = answer;
            }
        }
    }

    fn starttls_refused(&self, raw: &[u8], text: &str) -> Finding {
        let offered = self.starttls_offered();
        let verb = command::starttls_verb(self.protocol);
        Finding::new(
            FindingId::StarttlsRefused,
            Severity::Error,
            Stage::Starttls,
            format!(
                "{verb} was refused{} ({}); the session stays in plaintext",
                if offered == Some(false) { ", and it was not advertised" } else { "" },
                quote(text)
            ),
            "The server has no certificate configured, or TLS is disabled for this listener or client. Fix the server's TLS setup; never go on to send credentials on this connection.",
            starttls_source(self.protocol),
        )
        .with_evidence(raw)
    }

    /// Records advertised capabilities and judges them once per session:
    /// STARTTLS missing, authentication offered in plaintext.
    fn set_caps(&mut self, caps: Vec<Capability>, raw: &[u8], findings: &mut Vec<Finding>) {
        if self.tls {
            self.caps_after = Some(caps);
            return;
        }
        let verb = command::starttls_verb(self.protocol);
        let has = |name: &str| caps.iter().any(|c| c.name.eq_ignore_ascii_case(name));
        // An empty list (HELO, CAPA -ERR) has its own finding.
        if !caps.is_empty() && !has(verb.as_str()) && !self.judged_caps {
            self.judged_caps = true;
            findings.push(
                Finding::new(
                    FindingId::StarttlsNotAdvertised,
                    Severity::Warning,
                    Stage::Capabilities,
                    format!("{verb} is not advertised"),
                    format!("Without {verb} the session cannot be encrypted. If the server is configured for TLS, a middlebox (firewall \"SMTP fixup\", antivirus proxy) may be stripping it from the capabilities: compare with a connection from another network."),
                    starttls_source(self.protocol),
                )
                .with_evidence(raw),
            );
            let auth = match self.protocol {
                Protocol::Smtp | Protocol::Lmtp => has("AUTH"),
                Protocol::Imap => !has("LOGINDISABLED"),
                // `SASL` without mechanisms is how Dovecot says "no
                // authentication before TLS" (RFC 2449 §6.9).
                Protocol::Pop3 => {
                    has("USER")
                        || caps
                            .iter()
                            .any(|c| c.name.eq_ignore_ascii_case("SASL") && !c.params.is_empty())
                }
            };
            if auth {
                findings.push(
                    Finding::new(
                        FindingId::AuthInPlaintext,
                        Severity::Warning,
                        Stage::Capabilities,
                        "authentication is offered on an unencrypted connection without STARTTLS",
                        "Passwords sent here cross the network readable. Offer authentication only after TLS (Postfix smtpd_tls_auth_only, Dovecot disable_plaintext_auth) or on implicit-TLS ports.",
                        "RFC 8314 §3, RFC 3207 §5",
                    )
                    .with_evidence(raw),
                );
            }
        }
        self.caps_before = Some(caps);
    }

    fn defects(&self, raw: &[u8], defects: &[Defect], findings: &mut Vec<Finding>) {
        let lines: Vec<&[u8]> = raw.split_inclusive(|&b| b == b'\n').collect();
        let mut control = false;
        let mut invalid_utf8 = false;
        let mut bare_lf = false;
        for d in defects {
            match d {
                Defect::ControlBytes { line } if !control => {
                    control = true;
                    findings.push(
                        Finding::new(
                            FindingId::ControlBytes,
                            Severity::Warning,
                            self.stage_of(self.pending.front().map(|p| &p.verb)),
                            format!("reply line {} holds control bytes outside the reply grammar; kept as part of the reply, shown escaped", line + 1),
                            "No correct server sends control bytes in reply text; an escape sequence is an attempt on the operator's terminal. Report it to the server's operator.",
                            "RFC 5321 §4.2",
                        )
                        .with_evidence(lines.get(*line).copied().unwrap_or_default()),
                    );
                }
                Defect::InvalidUtf8 { line } if !invalid_utf8 => {
                    invalid_utf8 = true;
                    findings.push(
                        Finding::new(
                            FindingId::InvalidUtf8,
                            Severity::Warning,
                            self.stage_of(self.pending.front().map(|p| &p.verb)),
                            format!("reply line {} is not UTF-8; kept as part of the reply, shown escaped", line + 1),
                            "Reply text is ASCII (UTF-8 only with SMTPUTF8). A Latin-1 banner or binary bytes here break strict clients and log parsers; fix the server's text.",
                            "RFC 5321 §4.2, RFC 6531 §3.7.4.1",
                        )
                        .with_evidence(lines.get(*line).copied().unwrap_or_default()),
                    );
                }
                Defect::BareLf { line } if !bare_lf => {
                    bare_lf = true;
                    findings.push(
                        Finding::new(
                            FindingId::BareLf,
                            Severity::Info,
                            self.stage_of(self.pending.front().map(|p| &p.verb)),
                            format!("reply line {} ends in a bare LF instead of CRLF", line + 1),
                            "Tolerated here as by most clients, but strict clients may hang waiting for CR LF.",
                            "RFC 5321 §2.3.8",
                        )
                        .with_evidence(lines.get(*line).copied().unwrap_or_default()),
                    );
                }
                _ => {}
            }
        }
    }

    /// Classifies a line that is not a response of the protocol.
    fn junk(&mut self, raw: &[u8], reason: &str) -> Finding {
        let content = raw
            .strip_suffix(b"\r\n")
            .or_else(|| raw.strip_suffix(b"\n"))
            .unwrap_or(raw);
        let stage = self.stage_of(if self.greeted {
            self.pending.front().map(|p| &p.verb)
        } else {
            None
        });
        if content.is_empty() {
            return Finding::new(
                FindingId::EmptyLine,
                Severity::Warning,
                stage,
                "an empty line arrived where a response was expected; skipped, not taken as an answer",
                "Servers must not send empty lines between replies. Clients that take it as an answer fall out of step with every later reply; report it to the server's operator.",
                source_for(self.protocol),
            )
            .with_evidence(raw);
        }
        if !self.valid_seen {
            let service = if content.starts_with(b"SSH-") {
                Some("an SSH server")
            } else if content.starts_with(b"HTTP/") {
                Some("an HTTP server")
            } else {
                None
            };
            if let Some(service) = service {
                let f = Finding::new(
                    FindingId::WrongService,
                    Severity::Error,
                    stage,
                    format!(
                        "this port is {service}, not a {} server",
                        self.protocol.name().to_ascii_uppercase()
                    ),
                    "Check the host and port: the URL points at another service.",
                    source_for(self.protocol),
                )
                .with_evidence(raw);
                self.ended = Some(f.clone());
                return f;
            }
            if let Some(other) = other_protocol(self.protocol, content) {
                let me = self.protocol.name().to_ascii_uppercase();
                let f = Finding::new(
                    FindingId::WrongProtocol,
                    Severity::Error,
                    stage,
                    format!("not an {me} server: this looks like {}", other.name().to_ascii_uppercase()),
                    format!("The port speaks {}; use a {}:// URL for it, or the port where {me} is served.", other.name().to_ascii_uppercase(), other.name()),
                    source_for(other),
                )
                .with_evidence(raw);
                self.ended = Some(f.clone());
                return f;
            }
        }
        Finding::new(
            FindingId::JunkLine,
            Severity::Warning,
            stage,
            format!("a line that is not a response in the protocol's syntax was skipped: {reason}"),
            "It is not taken as the answer to any command. A server that sends such lines is broken or something on the path rewrites the stream.",
            source_for(self.protocol),
        )
        .with_evidence(raw)
    }

    // ---- TLS and the end ---------------------------------------------------

    /// The TLS handshake finished: notes the upgrade and returns the
    /// findings about the chain (untrusted verdict).
    pub fn tls(&mut self, tls: &super::TlsEstablished) -> Vec<Finding> {
        let trusted = tls.verdict.trusted;
        self.tls_established(trusted);
        let mut findings = Vec::new();
        if !trusted {
            findings.push(Finding::new(
                FindingId::CertificateUntrusted,
                Severity::Error,
                Stage::Certificate,
                format!("the certificate chain does not verify: {}", tls.verdict.headline()),
                "Whoever answered may not be the server you meant. See the chain findings for each problem and its fix; send no credentials on this connection.",
                "RFC 5280 §6, RFC 6125 §6",
            ));
        }
        findings
    }

    /// The TLS handshake finished: the stream is encrypted from here on and
    /// what was learnt before is void (RFC 3207 §4.2, RFC 2595 §3.1).
    /// `trusted`: the chain verified and the name matched.
    pub fn tls_established(&mut self, trusted: bool) {
        self.tls = true;
        self.trusted = trusted;
        self.handshake = false;
        self.caps_after = None;
        self.pending.clear();
        self.literal = None;
        self.sasl = None;
        self.idle = None;
        self.body = Body::None;
        // Implicit TLS: the greeting comes inside TLS.
    }

    /// True when TLS is up and its chain verified with the name matching:
    /// the only state in which credentials may be sent (RFC 8314 §3).
    pub fn is_trusted(&self) -> bool {
        self.tls && self.trusted
    }

    /// The TLS handshake failed; nothing more can be said on this connection.
    pub fn tls_failed(&mut self) {
        self.handshake = false;
    }

    /// The connection ended; reports a command left unanswered when the
    /// server closed it. `by_server` is false when the operator closed it.
    pub fn closed(&mut self, by_server: bool) -> Vec<Finding> {
        let mut findings = Vec::new();
        let owed = self
            .pending
            .iter()
            .find(|p| !matches!(p.verb, Verb::Quit | Verb::Logout))
            .map(|p| (p.verb.clone(), p.body));
        if by_server && self.ended.is_none() {
            let waiting = match (&owed, self.greeted) {
                (Some((verb, true)), _) => Some(format!("the reply to the {verb} message body")),
                (Some((verb, false)), _) => Some(format!("the reply to {verb}")),
                (None, false) => Some("the greeting".to_string()),
                (None, true) => None,
            };
            if let Some(waiting) = waiting {
                findings.push(Finding::new(
                    FindingId::ConnectionClosed,
                    Severity::Error,
                    self.stage_of(owed.as_ref().map(|(v, _)| v)),
                    format!("the server closed the connection before sending {waiting}"),
                    "The server dropped the session without an answer: a crash, a firewall, an idle or error limit, or a policy (e.g. rejecting the client's address). The server's logs say which.",
                    source_for(self.protocol),
                ));
            }
        }
        self.pending.clear();
        self.literal = None;
        self.sasl = None;
        self.idle = None;
        self.handshake = false;
        findings
    }
}

impl Dialogue {
    /// Re-derives the note of a recorded event and returns the findings the
    /// dialogue makes of it (to be emitted after it as `Origin::Dialogue`).
    /// Server entries are framed again with the protocol parsers, with the
    /// same hints the engine used (POP3 multi-line expectation), so a
    /// recording gets the notes a live session would.
    pub fn annotate(
        &mut self,
        event: &mut super::Event,
        limits: &crate::protocol::Limits,
    ) -> Vec<Finding> {
        use super::{Direction, Event};
        match event {
            Event::Data(entry) | Event::Malformed { entry, .. }
                if entry.direction == Direction::Client =>
            {
                let (note, findings) = self.client(entry.at, &entry.raw);
                *entry.note = note;
                findings
            }
            Event::Malformed { entry, reason } => {
                let response = Response::Malformed {
                    reason: reason.clone(),
                };
                let (note, findings) = if self.handshake {
                    self.injected(&entry.raw)
                } else {
                    self.server(entry.at, &entry.raw, &response)
                };
                *entry.note = note;
                findings
            }
            Event::Data(entry) => {
                if self.handshake || (!entry.tls && self.tls) {
                    let (note, findings) = self.injected(&entry.raw);
                    *entry.note = note;
                    return findings;
                }
                let (note, findings) = self.server_recorded(entry.at, &entry.raw, limits);
                *entry.note = note;
                findings
            }
            Event::Tls(tls) => self.tls(tls),
            Event::Closed { .. } => {
                // Its findings were the engine's and are in the recording.
                self.closed(false);
                Vec::new()
            }
            // The entry that ends a streamed response is annotated instead.
            // The engine reports the failed handshake's findings itself.
            Event::Connected { .. }
            | Event::Finding { .. }
            | Event::Chunk { .. }
            | Event::TlsFailed(_) => Vec::new(),
        }
    }

    /// Frames a recorded server entry (one response as the engine records
    /// them, or several in a hand-written file) and observes each response;
    /// the note is the last response's, with any capabilities seen.
    fn server_recorded(
        &mut self,
        at: Duration,
        raw: &[u8],
        limits: &crate::protocol::Limits,
    ) -> (Note, Vec<Finding>) {
        use crate::protocol::Frame;
        let mut findings = Vec::new();
        let mut note: Option<Note> = None;
        let mut pos = 0;
        // Bounded: each round consumes at least one byte or ends.
        while pos < raw.len() {
            let rest = &raw[pos..];
            let frame = frame_response(self.protocol, rest, self.pop3_expect(), limits);
            let (len, response) = match frame {
                Ok(Frame::Complete { value, len }) => (len, value),
                Ok(Frame::Malformed { len, reason }) => (len, Response::Malformed { reason }),
                Ok(Frame::Incomplete) => (
                    rest.len(),
                    Response::Malformed {
                        reason: "the recorded entry ends in an unfinished response".into(),
                    },
                ),
                Err(e) => (
                    rest.len(),
                    Response::Malformed {
                        reason: e.to_string(),
                    },
                ),
            };
            let len = len.max(1);
            let (n, f) = self.server(at, &rest[..len], &response);
            findings.extend(f);
            let caps = n.capabilities.clone();
            let mut n = n;
            if n.capabilities.is_none() {
                n.capabilities = note.as_ref().and_then(|p| p.capabilities.clone()).or(caps);
            }
            note = Some(n);
            pos += len;
        }
        let note = note.unwrap_or_else(|| {
            let mut n = Note {
                outcome: Outcome::Junk,
                ..Note::default()
            };
            self.finish(&mut n);
            n
        });
        (note, findings)
    }
}

/// Frames one server response from the front of `raw` with the protocol's
/// parser (POP3 with the multi-line expectation `expect`), as the engine
/// does; shared with `explain` for text that has no note.
///
/// # Errors
/// A [`crate::protocol::ParseError`] when the stream cannot be framed.
pub fn frame_response(
    protocol: Protocol,
    raw: &[u8],
    expect: pop3::Expect,
    limits: &crate::protocol::Limits,
) -> crate::protocol::Result<Response> {
    Ok(match protocol {
        Protocol::Smtp | Protocol::Lmtp => smtp::parse_reply(raw, limits)?.map(Response::Smtp),
        Protocol::Imap => imap::parse_response(raw, limits)?.map(Response::Imap),
        Protocol::Pop3 => pop3::parse_response(raw, expect, limits)?.map(Response::Pop3),
    })
}

fn unreachable_pending() -> Pending {
    // `position` just found the element; kept total without a panic.
    Pending {
        verb: Verb::Empty,
        tag: None,
        at: Duration::ZERO,
        seq: 0,
        body: false,
        expect: pop3::Expect::Single,
        replies: 0,
    }
}

/// The protocol whose reply syntax `line` has, when it is not `mine`.
fn other_protocol(mine: Protocol, line: &[u8]) -> Option<Protocol> {
    let smtp = line.len() >= 4
        && (b'2'..=b'5').contains(&line[0])
        && line[1].is_ascii_digit()
        && line[2].is_ascii_digit()
        && matches!(line[3], b' ' | b'-');
    let imap = [
        &b"* OK"[..],
        b"* NO",
        b"* BAD",
        b"* BYE",
        b"* PREAUTH",
        b"* CAPABILITY",
    ]
    .iter()
    .any(|p| line.len() >= p.len() && line[..p.len()].eq_ignore_ascii_case(p));
    let pop3 = line.starts_with(b"+OK") || line.starts_with(b"-ERR");
    match mine {
        Protocol::Smtp | Protocol::Lmtp if imap => Some(Protocol::Imap),
        Protocol::Smtp | Protocol::Lmtp if pop3 => Some(Protocol::Pop3),
        Protocol::Imap if smtp => Some(Protocol::Smtp),
        Protocol::Imap if pop3 => Some(Protocol::Pop3),
        Protocol::Pop3 if smtp => Some(Protocol::Smtp),
        Protocol::Pop3 if imap => Some(Protocol::Imap),
        _ => None,
    }
}

fn starttls_source(protocol: Protocol) -> &'static str {
    match protocol {
        Protocol::Pop3 => "RFC 2595 §4",
        Protocol::Imap => "RFC 9051 §6.2.1",
        Protocol::Smtp | Protocol::Lmtp => "RFC 3207 §4",
    }
}

fn source_for(protocol: Protocol) -> &'static str {
    match protocol {
        Protocol::Smtp => "RFC 5321 §4.2",
        Protocol::Lmtp => "RFC 2033 §4, RFC 5321 §4.2",
        Protocol::Imap => "RFC 9051 §7",
        Protocol::Pop3 => "RFC 1939 §3",
    }
}

/// Server text quoted in a summary: escaped and cut.
fn quote(text: &str) -> String {
    let mut s = crate::escape::escape_prefix(text.as_bytes(), QUOTE);
    if text.chars().count() > QUOTE {
        s.push('…');
    }
    format!("\"{s}\"")
}

/// The response without bulk data: POP3 body lines and IMAP literal
/// contents stay in the entry's bytes.
fn strip(response: &Response) -> Response {
    match response {
        Response::Pop3(pop3::Response::Status {
            status,
            code,
            text,
            body,
        }) => Response::Pop3(pop3::Response::Status {
            status: *status,
            code: code.clone(),
            text: text.clone(),
            body: body.as_ref().map(|_| Vec::new()),
        }),
        Response::Imap(imap::Response::Untagged {
            status,
            code,
            text,
            literals,
        }) if !literals.is_empty() => Response::Imap(imap::Response::Untagged {
            status: *status,
            code: code.clone(),
            text: text.clone(),
            literals: Vec::new(),
        }),
        other => other.clone(),
    }
}

fn push(spans: &mut Vec<Range<usize>>, span: Range<usize>) {
    if !span.is_empty() {
        spans.push(span);
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
fn line_content_end(raw: &[u8], start: usize, end: usize) -> usize {
    let line = &raw[start..end];
    let trimmed = line
        .strip_suffix(b"\n")
        .map_or(line, |l| l.strip_suffix(b"\r").unwrap_or(l));
    start + trimmed.len()
}

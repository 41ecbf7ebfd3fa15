//! Client replay: the client lines of a recording sent again to a live
//! server, each live reply set beside the recorded one as soon as it
//! arrives. A difference in reply code (SMTP, RFC 5321 §4.2), tagged status
//! (IMAP, RFC 9051 §7.1) or `+OK`/`-ERR` (POP3, RFC 1939 §3) is a failure;
//! other text differences are shown after normalising volatile parts. Every
//! decision reads the dialogue's notes (which command a reply answers, the
//! secret spans, TLS), never the text again.
//!
//! ```text
//! Recording --plan--> [greeting, step (client entry, replies, verdict after)..]
//!     |                    |
//!     |   per step: TLS guard -> trust guard -> delivery guard -> operator
//!     |             -> secrets filled per field (user, password) -> Session
//!     +------------------------------------------- live replies, verdict --> StepReport
//! ```
//!
//! Safety rules, in order, for each step:
//! - A line recorded inside TLS (`tls: true`) is only ever sent inside TLS.
//!   A recording that begins inside TLS (started with Ctrl-R after STARTTLS,
//!   or paused over the upgrade) gets an upgrade first (RFC 3207 §4, RFC 2595
//!   §3.1, §4); if that fails the replay stops before the first such line.
//! - A line holding a credential (a secret span of its note) is only sent
//!   over TLS with a trusted chain, unless the operator passed `--insecure`.
//! - A step that would deliver mail (SMTP `DATA`/`BDAT`, IMAP `APPEND`) is
//!   confirmed by the operator (`--allow-delivery` under `--auto`).
//! - The live verdict of each handshake is compared with the recorded one: a
//!   change (trusted versus untrusted, or another reason) is a difference.

use std::collections::HashMap;
use std::ops::Range;

use tokio::sync::mpsc;

use super::recording::Recording;
use crate::protocol::command::{self, Verb};
use crate::protocol::sasl::{self, LoginPrompt, Mechanism};
use crate::session::{
    Direction, Entry, Event, Note, Outcome, Response, Session, SessionConfig, StartTls,
};
use crate::target::{Protocol, TlsMode};
use crate::tls::Verdict;

/// One exchange: the client entry (none for the greeting) and the server's
/// responses up to the next client line, raw, each with its note.
#[derive(Debug, Clone, Default)]
pub struct Exchange {
    /// The client line as recorded (secrets masked in a redacted file).
    pub command: Option<Vec<u8>>,
    /// The client entry's note: verb, secret spans.
    pub note: Note,
    /// True when the client line travelled inside TLS.
    pub tls: bool,
    /// The server's responses, raw.
    pub replies: Vec<Vec<u8>>,
    /// The notes of `replies`, in order.
    pub reply_notes: Vec<Note>,
    /// The verdict of a handshake that ended this exchange (STARTTLS, or the
    /// implicit TLS before the greeting).
    pub verdict: Option<Verdict>,
}

impl Exchange {
    /// The status of the exchange's last response, from its note.
    pub fn status(&self) -> String {
        self.reply_notes.last().map(note_status).unwrap_or_default()
    }

    /// True when the last response was positive (SMTP 2yz/3yz, IMAP OK,
    /// POP3 `+OK`), from its note.
    pub fn positive(&self) -> bool {
        self.reply_notes.last().is_some_and(|n| {
            matches!(
                n.outcome,
                Outcome::Positive | Outcome::Intermediate | Outcome::Continuation
            )
        })
    }
}

/// What happened to one step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepOutcome {
    /// Sent; the live reply has the recorded status and normalised text.
    Same,
    /// Sent; same status, other text (shown, not a failure by itself).
    OtherText,
    /// Sent; another reply code or status, or a changed TLS verdict.
    Differs,
    /// Not sent: the operator skipped or stopped, or the replay ended.
    NotSent,
    /// Not sent because sending it would be unsafe (a secret over plaintext
    /// or an untrusted chain, bytes recorded in TLS without TLS, a delivery
    /// not allowed): the replay fails.
    Refused,
}

/// One compared step.
#[derive(Debug, Clone)]
pub struct StepReport {
    /// The command as shown, secrets masked (`greeting` for the banner,
    /// `TLS verdict` for a handshake).
    pub label: String,
    pub recorded: String,
    pub live: String,
    /// Code or status differ: the replay fails.
    pub status_differs: bool,
    /// Normalised text differs (shown, not a failure by itself).
    pub text_differs: bool,
    pub outcome: StepOutcome,
    /// Why a step was not sent or refused, in plain words.
    pub reason: Option<String>,
}

impl StepReport {
    fn not_sent(label: String, recorded: String, outcome: StepOutcome, reason: &str) -> Self {
        StepReport {
            label,
            recorded,
            live: String::new(),
            status_differs: false,
            text_differs: false,
            outcome,
            reason: Some(reason.to_string()),
        }
    }

    /// True when this step makes the replay fail (exit 1).
    pub fn fails(&self) -> bool {
        matches!(self.outcome, StepOutcome::Differs | StepOutcome::Refused)
    }
}

/// What the operator decides before a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Send it (Enter, Space).
    Send,
    /// Do not send it, go on with the next (`s`).
    Skip,
    /// Send nothing more (`q`).
    Stop,
}

/// A credential a replay needs, asked by field and encoded by mailwire for
/// the mechanism (SASL PLAIN RFC 4616, LOGIN, IMAP LOGIN quoting RFC 9051
/// §6.2.3, POP3 PASS RFC 1939 §7).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SecretField {
    /// The user name (`--secret user=...`).
    User,
    /// The password (`--secret password=...`).
    Password,
    /// A secret mailwire cannot encode itself (APOP digest, other SASL
    /// mechanisms): the wire value, numbered in order (`REDACTED1`, ..).
    Raw(usize),
}

impl SecretField {
    /// The name for `--secret NAME=VALUE`: `user`, `password`, `REDACTEDn`.
    pub fn name(&self) -> String {
        match self {
            SecretField::User => "user".into(),
            SecretField::Password => "password".into(),
            SecretField::Raw(n) => format!("REDACTED{n}"),
        }
    }
}

/// How an operator steers a client replay: stepped (one key per command)
/// or `--auto`, and secrets typed at a masked prompt.
pub trait Operator {
    /// Called before each recorded command is sent (secrets still masked).
    fn before_step(&mut self, line: &str) -> Decision;
    /// Called after each step with its result, before the next is asked.
    fn after_step(&mut self, _report: &StepReport) {}
    /// Something the operator must be told at once: an upgrade done first,
    /// the verdict after a handshake, why the replay stopped.
    fn notice(&mut self, _text: &str) {}
    /// The step would deliver mail (`DATA`, `BDAT`, `APPEND`): send it?
    fn confirm_delivery(&mut self, line: &str) -> bool;
    /// A secret that neither `--secret` nor the environment gave; `None`
    /// ends the replay with an error naming it.
    fn secret(&mut self, field: &SecretField, line: &str) -> Option<String>;
}

/// `--auto`, or no terminal: never waits, never asks; delivers mail only
/// with `--allow-delivery`.
#[derive(Debug, Default, Clone, Copy)]
pub struct Auto {
    pub allow_delivery: bool,
}

impl Operator for Auto {
    fn before_step(&mut self, _line: &str) -> Decision {
        Decision::Send
    }
    fn confirm_delivery(&mut self, _line: &str) -> bool {
        self.allow_delivery
    }
    fn secret(&mut self, _field: &SecretField, _line: &str) -> Option<String> {
        None
    }
}

/// How to replay: secrets by field name, normalisation, trust override.
#[derive(Debug, Clone, Default)]
pub struct ReplayOptions {
    /// Secret values by field name (`user`, `password`, `REDACTEDn`),
    /// compared case-insensitively.
    pub secrets: HashMap<String, String>,
    /// Mask times, ids and the banner host before comparing text.
    pub normalize: bool,
    /// `--insecure`: send recorded secrets over plaintext or an untrusted chain.
    pub insecure: bool,
}

/// Splits events into exchanges: the greeting, then one per client line,
/// each with its note; a TLS event's verdict goes to the exchange it ends.
pub fn exchanges(events: impl Iterator<Item = Event>) -> Vec<Exchange> {
    let mut out = vec![Exchange::default()];
    for event in events {
        match event {
            Event::Data(entry) | Event::Malformed { entry, .. } => {
                let Entry {
                    direction,
                    raw,
                    tls,
                    note,
                    ..
                } = entry;
                match direction {
                    Direction::Client => out.push(Exchange {
                        command: Some(raw),
                        note: *note,
                        tls,
                        ..Exchange::default()
                    }),
                    Direction::Server => {
                        if let Some(last) = out.last_mut() {
                            last.replies.push(raw);
                            last.reply_notes.push(*note);
                        }
                    }
                }
            }
            Event::Tls(tls) => {
                if let Some(last) = out.last_mut() {
                    last.verdict = Some(tls.verdict);
                }
            }
            // A handshake that failed after the chain still has a verdict.
            Event::TlsFailed(failed) => {
                if let Some(last) = out.last_mut() {
                    last.verdict = failed.verdict;
                }
            }
            _ => {}
        }
    }
    out
}

/// The status word of a response, from its note: SMTP reply code, IMAP
/// status (`+` for a continuation request), POP3 `+OK`/`-ERR`/`+`.
pub fn note_status(note: &Note) -> String {
    match &note.response {
        Some(Response::Smtp(r)) => r.code.to_string(),
        Some(Response::Imap(crate::protocol::imap::Response::Tagged { status, .. })) => {
            status.to_string()
        }
        Some(Response::Imap(crate::protocol::imap::Response::Untagged {
            status: Some(status),
            ..
        })) => status.to_string(),
        Some(Response::Imap(crate::protocol::imap::Response::Untagged {
            status: None, ..
        })) => "*".into(),
        Some(Response::Imap(crate::protocol::imap::Response::Continuation { .. })) => "+".into(),
        Some(Response::Pop3(crate::protocol::pop3::Response::Status { status, .. })) => {
            status.to_string()
        }
        Some(Response::Pop3(crate::protocol::pop3::Response::Continuation { .. })) => "+".into(),
        Some(Response::Malformed { .. }) => "malformed".into(),
        None => String::new(),
    }
}

/// Replaces volatile parts: digits (times, sizes, queue and session ids)
/// become `#`, words mixing letters and digits `<id>`, and the greeting's
/// host name `<host>`.
pub fn normalise(text: &str, banner_host: Option<&str>) -> String {
    let mut out = String::with_capacity(text.len());
    for (i, word) in text.split(' ').enumerate() {
        if i > 0 {
            out.push(' ');
        }
        let has_digit = word.chars().any(|c| c.is_ascii_digit());
        let has_alpha = word.chars().any(|c| c.is_ascii_alphabetic());
        if banner_host.is_some_and(|h| !h.is_empty() && word.trim_end_matches(['\r', '\n']) == h) {
            out.push_str("<host>");
            if word.ends_with("\r\n") {
                out.push_str("\r\n");
            }
        } else if i > 0 && has_digit && has_alpha && word.len() >= 6 {
            out.push_str("<id>");
        } else if i > 0 && has_digit {
            let mut last_hash = false;
            for c in word.chars() {
                if c.is_ascii_digit() {
                    if !last_hash {
                        out.push('#');
                    }
                    last_hash = true;
                } else {
                    out.push(c);
                    last_hash = false;
                }
            }
        } else {
            out.push_str(word);
        }
    }
    out
}

/// How one secret span of a recorded line is filled.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Fill {
    /// SASL PLAIN message, base64 (RFC 4616 §2): needs user and password.
    Plain,
    /// Base64 of one field (SASL LOGIN).
    Base64(SecretField),
    /// IMAP quoted string of one field (LOGIN, RFC 9051 §6.2.3).
    Quoted(SecretField),
    /// The field's value as is (POP3 PASS, raw secrets).
    Verbatim(SecretField),
}

/// Follows SASL exchanges over the recorded steps, to tell which field each
/// secret span holds.
#[derive(Debug, Default)]
struct SecretPlan {
    /// Mechanism of the open SASL exchange and responses sent in it.
    sasl: Option<(Mechanism, usize)>,
    raw: usize,
}

impl SecretPlan {
    /// The fill of every secret span of `exchange`'s line, in order; the
    /// previous exchange's last reply is the challenge it answers.
    fn fills(
        &mut self,
        protocol: Protocol,
        exchange: &Exchange,
        challenge: Option<&[u8]>,
    ) -> Vec<Fill> {
        let Some(line) = exchange.command.as_deref() else {
            return Vec::new();
        };
        let body = line
            .strip_suffix(b"\r\n")
            .or_else(|| line.strip_suffix(b"\n"))
            .unwrap_or(line);
        let spans = &exchange.note.secrets;
        if exchange.note.outcome == Outcome::Command {
            let parsed = command::parse(protocol, body, protocol == Protocol::Imap);
            self.sasl = parsed.sasl.clone().map(|m| (m, 0));
            let fills: Vec<Fill> = match (&parsed.verb, &parsed.sasl) {
                (_, Some(Mechanism::Plain)) => vec![Fill::Plain],
                (_, Some(Mechanism::Login)) => {
                    // An initial response is the user name.
                    if let Some((_, n)) = &mut self.sasl
                        && !spans.is_empty()
                    {
                        *n += 1;
                    }
                    vec![Fill::Base64(SecretField::User)]
                }
                (Verb::Login, None) if protocol == Protocol::Imap => {
                    vec![Fill::Quoted(SecretField::Password)]
                }
                (Verb::Pass, None) => vec![Fill::Verbatim(SecretField::Password)],
                _ => Vec::new(),
            };
            return spans
                .iter()
                .enumerate()
                .map(|(i, _)| fills.get(i).cloned().unwrap_or_else(|| self.raw_fill()))
                .collect();
        }
        // A client line that is no command: a SASL response, or literal bytes.
        let prompt = challenge
            .and_then(|c| {
                sasl::challenge_text(matches!(protocol, Protocol::Smtp | Protocol::Lmtp), c)
            })
            .and_then(sasl::decode_challenge)
            .and_then(|d| sasl::login_prompt(&d));
        let fill = match &mut self.sasl {
            Some((Mechanism::Plain, _)) => Some(Fill::Plain),
            Some((Mechanism::Login, n)) => {
                *n += 1;
                Some(match prompt {
                    Some(LoginPrompt::Username) => Fill::Base64(SecretField::User),
                    Some(LoginPrompt::Password) => Fill::Base64(SecretField::Password),
                    None if *n <= 1 => Fill::Base64(SecretField::User),
                    None => Fill::Base64(SecretField::Password),
                })
            }
            _ => None,
        };
        spans
            .iter()
            .map(|_| fill.clone().unwrap_or_else(|| self.raw_fill()))
            .collect()
    }

    fn raw_fill(&mut self) -> Fill {
        self.raw += 1;
        Fill::Verbatim(SecretField::Raw(self.raw))
    }
}

/// Looks up (or asks for) the secrets of one line and fills them in.
struct Secrets<'a> {
    given: HashMap<String, String>,
    operator: &'a mut dyn Operator,
}

impl Secrets<'_> {
    fn get(&mut self, field: &SecretField, shown: &str) -> Result<String, String> {
        let key = field.name().to_ascii_lowercase();
        if let Some(v) = self.given.get(&key) {
            return Ok(v.clone());
        }
        let value = self.operator.secret(field, shown).ok_or_else(|| {
            let name = field.name();
            format!(
                "the recording masks the {name} in {shown:?}: give it with --secret {name}=VALUE or MAILWIRE_SECRET_{}",
                name.to_ascii_uppercase()
            )
        })?;
        self.given.insert(key, value.clone());
        Ok(value)
    }

    /// `line` with each masked span (a placeholder) replaced by its field's
    /// value, encoded per `fills`. Spans that hold real bytes (a
    /// `--no-redact` recording) are kept.
    fn fill(
        &mut self,
        line: &[u8],
        spans: &[Range<usize>],
        fills: &[Fill],
    ) -> Result<Vec<u8>, String> {
        let shown = String::from_utf8_lossy(&command::redact(line, spans))
            .trim_end()
            .to_string();
        let mut out = Vec::with_capacity(line.len());
        let mut pos = 0;
        for (span, fill) in spans.iter().zip(fills) {
            let (start, end) = (span.start.min(line.len()), span.end.min(line.len()));
            if start < pos {
                continue;
            }
            out.extend_from_slice(&line[pos..start]);
            let bytes = &line[start..end];
            if command::placeholder_len(bytes) == Some(bytes.len()) {
                let value = match fill {
                    Fill::Plain => {
                        let user = self.get(&SecretField::User, &shown)?;
                        let password = self.get(&SecretField::Password, &shown)?;
                        sasl::plain_response(&user, &password)
                    }
                    Fill::Base64(f) => sasl::encode(self.get(f, &shown)?),
                    Fill::Quoted(f) => command::imap_quoted(&self.get(f, &shown)?),
                    Fill::Verbatim(f) => self.get(f, &shown)?,
                };
                out.extend_from_slice(value.as_bytes());
            } else {
                out.extend_from_slice(bytes);
            }
            pos = end;
        }
        out.extend_from_slice(&line[pos.min(line.len())..]);
        Ok(out)
    }
}

/// The line as shown to the operator: secrets masked, line ending cut.
fn shown(exchange: &Exchange) -> String {
    let raw = exchange.command.as_deref().unwrap_or_default();
    let masked = command::redact(raw, &exchange.note.secrets);
    String::from_utf8_lossy(&masked).trim_end().to_string()
}

/// True when a verdict says the same as another: trusted or not, and why.
fn same_verdict(a: &Verdict, b: &Verdict) -> bool {
    a.trusted == b.trusted && a.error == b.error
}

/// The replay in progress: the live session, its events and what it learnt.
struct Live {
    session: Session<tokio::net::TcpStream>,
    rx: mpsc::Receiver<Event>,
    /// The verdict of the live handshake in force.
    verdict: Option<Verdict>,
}

impl Live {
    /// Everything the engine emitted since the last call: server responses
    /// (raw, with notes) and the verdict of a handshake.
    fn drain(&mut self) -> (Vec<Vec<u8>>, Vec<Note>, Option<Verdict>) {
        let (mut replies, mut notes, mut verdict) = (Vec::new(), Vec::new(), None);
        while let Ok(event) = self.rx.try_recv() {
            match event {
                Event::Data(entry) | Event::Malformed { entry, .. }
                    if entry.direction == Direction::Server =>
                {
                    replies.push(entry.raw);
                    notes.push(*entry.note);
                }
                Event::Tls(tls) => verdict = Some(tls.verdict),
                Event::TlsFailed(failed) => verdict = failed.verdict,
                _ => {}
            }
        }
        if let Some(v) = &verdict {
            self.verdict = Some(v.clone());
        }
        (replies, notes, verdict)
    }

    /// Reads responses until the dialogue says the last command is
    /// answered (completed, or an intermediate reply asks for more).
    async fn read_answer(&mut self) {
        for _ in 0..100_000 {
            if self.session.is_closed() {
                return;
            }
            match self.session.read_response("reply").await {
                Ok(r) => {
                    if r.note.completes
                        || matches!(
                            r.note.outcome,
                            Outcome::Intermediate | Outcome::Continuation
                        )
                        || self.session.dialogue().ended().is_some()
                    {
                        return;
                    }
                }
                Err(_) => return,
            }
        }
    }
}

/// Sends the recording's client lines to the server of `config` and compares
/// every exchange, telling `operator` each result as it comes.
///
/// # Errors
/// The connection cannot be opened or a secret is missing.
pub async fn run(
    recording: &Recording,
    config: SessionConfig,
    options: &ReplayOptions,
    operator: &mut dyn Operator,
) -> Result<Vec<StepReport>, String> {
    let protocol = config.target.protocol;
    let implicit = config.target.tls == TlsMode::Implicit;
    let recorded = exchanges(recording.events());
    let (tx, rx) = mpsc::channel(1024);
    let session = Session::connect(config, tx)
        .await
        .map_err(|e| e.to_string())?;
    let mut live = Live {
        session,
        rx,
        verdict: None,
    };
    let mut reports = Vec::new();
    let mut banner_hosts = (None, None);

    // The greeting (after implicit TLS, whose verdict is compared too).
    let _ = live.session.greeting().await;
    let (replies, notes, verdict) = live.drain();
    if let Some(v) = &verdict {
        operator.notice(&format!("TLS verdict: {}", v.headline()));
    }
    let greeting = &recorded[0];
    banner_hosts.0 = greeting.replies.first().map(|r| banner_host(r));
    banner_hosts.1 = replies.first().map(|r| banner_host(r));
    if let (Some(want), Some(got)) = (&greeting.verdict, &verdict) {
        let r = verdict_report(want, got);
        operator.after_step(&r);
        reports.push(r);
    }
    let greeting_report = if greeting.replies.is_empty() {
        StepReport::not_sent(
            "greeting".into(),
            String::new(),
            StepOutcome::NotSent,
            "the recording does not hold the greeting (it was started later)",
        )
    } else {
        compare(
            "greeting".into(),
            greeting,
            replies,
            &notes,
            options,
            &banner_hosts,
        )
    };
    operator.after_step(&greeting_report);
    reports.push(greeting_report);

    // A recording that begins inside TLS: no handshake event before its
    // first line recorded in TLS.
    let first_tls_line = recorded.iter().position(|x| x.command.is_some() && x.tls);
    let handshake_recorded = recorded
        .iter()
        .take(first_tls_line.unwrap_or(0) + 1)
        .any(|x| x.verdict.is_some());
    let mut upgrade_first = first_tls_line.is_some() && !handshake_recorded && !implicit;

    let mut plan = SecretPlan::default();
    let mut secrets = Secrets {
        given: options
            .secrets
            .iter()
            .map(|(k, v)| (k.to_ascii_lowercase(), v.clone()))
            .collect(),
        operator,
    };
    let mut stopped: Option<(StepOutcome, String)> = None;
    for (i, step) in recorded.iter().enumerate().skip(1) {
        let challenge = recorded[i - 1].replies.last().map(Vec::as_slice);
        let fills = plan.fills(protocol, step, challenge);
        let label = shown(step);
        let recorded_text = join(&step.replies);
        if let Some((outcome, reason)) = &stopped {
            reports.push(StepReport::not_sent(label, recorded_text, *outcome, reason));
            continue;
        }
        if live.session.is_closed() {
            stopped = Some((StepOutcome::NotSent, "the connection was closed".into()));
            reports.push(StepReport::not_sent(
                label,
                recorded_text,
                StepOutcome::NotSent,
                "the connection was closed",
            ));
            continue;
        }
        // TLS never downgrades: a line recorded in TLS goes only into TLS.
        if step.tls && !live.session.is_tls() && upgrade_first {
            upgrade_first = false;
            secrets.operator.notice(
                "the recording begins inside TLS: upgrading with STARTTLS before its first line",
            );
            upgrade_before(&mut live, protocol, secrets.operator).await;
            let first_asks_caps = step
                .note
                .sent
                .as_ref()
                .is_some_and(|s| s.verb.asks_capabilities());
            if live.session.is_tls() && !first_asks_caps {
                // RFC 3207 §4.2: the state before TLS is forgotten; ask again.
                let _ = live.session.ask_capabilities().await;
                let _ = live.drain();
            }
        }
        if step.tls && !live.session.is_tls() {
            let reason =
                "recorded inside TLS, but the live session has no TLS: not sent in plaintext";
            secrets.operator.notice(&format!("stopped: {reason}"));
            let r = StepReport::not_sent(label, recorded_text, StepOutcome::Refused, reason);
            secrets.operator.after_step(&r);
            reports.push(r);
            stopped = Some((StepOutcome::NotSent, "the replay stopped before it".into()));
            continue;
        }
        let verb = step.note.sent.as_ref().map(|s| s.verb.clone());
        let is_upgrade = verb
            .as_ref()
            .is_some_and(|v| *v == command::starttls_verb(protocol))
            && step.note.outcome == Outcome::Command;
        // Credentials only over TLS with a trusted chain (or --insecure).
        if !step.note.secrets.is_empty() && !options.insecure {
            let why = match (&live.verdict, live.session.is_tls()) {
                (_, false) => Some("the connection is not encrypted".to_string()),
                (Some(v), true) if !v.trusted => {
                    Some(format!("the chain is untrusted ({})", v.headline()))
                }
                (None, true) => Some("the chain was not verified".to_string()),
                _ => None,
            };
            if let Some(why) = why {
                let reason =
                    format!("holds a credential and {why}: not sent (--insecure sends it anyway)");
                secrets.operator.notice(&format!("stopped: {reason}"));
                let r = StepReport::not_sent(label, recorded_text, StepOutcome::Refused, &reason);
                secrets.operator.after_step(&r);
                reports.push(r);
                stopped = Some((StepOutcome::NotSent, "the replay stopped before it".into()));
                continue;
            }
        }
        // Mail delivery is confirmed first.
        let delivers = step.note.outcome == Outcome::Command
            && matches!(
                (protocol, &verb),
                (
                    Protocol::Smtp | Protocol::Lmtp,
                    Some(Verb::Data | Verb::Bdat)
                ) | (Protocol::Imap, Some(Verb::Append))
            );
        if delivers && !secrets.operator.confirm_delivery(&label) {
            let reason = "would deliver a message again: not sent (--allow-delivery sends it)";
            secrets.operator.notice(&format!("stopped: {reason}"));
            let r = StepReport::not_sent(label, recorded_text, StepOutcome::Refused, reason);
            secrets.operator.after_step(&r);
            reports.push(r);
            stopped = Some((StepOutcome::NotSent, "the replay stopped before it".into()));
            continue;
        }
        match secrets.operator.before_step(&label) {
            Decision::Send => {}
            Decision::Skip => {
                let r = StepReport::not_sent(label, recorded_text, StepOutcome::NotSent, "skipped");
                secrets.operator.after_step(&r);
                reports.push(r);
                continue;
            }
            Decision::Stop => {
                stopped = Some((StepOutcome::NotSent, "stopped by the operator".into()));
                reports.push(StepReport::not_sent(
                    label,
                    recorded_text,
                    StepOutcome::NotSent,
                    "stopped by the operator",
                ));
                continue;
            }
        }
        let raw = step.command.as_deref().unwrap_or_default();
        let line = secrets.fill(raw, &step.note.secrets, &fills)?;
        if is_upgrade && !live.session.is_tls() {
            let _ = live.session.starttls_line(&line).await;
        } else {
            let _ = live.session.send_raw(&line).await;
            if !step.replies.is_empty() {
                live.read_answer().await;
            }
            if verb
                .as_ref()
                .is_some_and(|v| *v == command::quit_verb(protocol))
            {
                live.session.close().await;
            }
        }
        let (replies, notes, verdict) = live.drain();
        let report = compare(label, step, replies, &notes, options, &banner_hosts);
        secrets.operator.after_step(&report);
        reports.push(report);
        if let Some(v) = &verdict {
            secrets
                .operator
                .notice(&format!("TLS verdict: {}", v.headline()));
        }
        match (&step.verdict, &verdict) {
            (Some(want), Some(got)) => {
                let r = verdict_report(want, got);
                secrets.operator.after_step(&r);
                reports.push(r);
            }
            (Some(want), None) if is_upgrade => {
                let r = StepReport {
                    label: "TLS verdict".into(),
                    recorded: want.headline(),
                    live: "no TLS".into(),
                    status_differs: true,
                    text_differs: true,
                    outcome: StepOutcome::Differs,
                    reason: None,
                };
                secrets.operator.after_step(&r);
                reports.push(r);
            }
            _ => {}
        }
    }
    live.session.close().await;
    Ok(reports)
}

/// Upgrades a plaintext session before the first line recorded in TLS:
/// SMTP/LMTP ask for capabilities first (servers want EHLO before
/// STARTTLS), then STARTTLS/STLS. Results are told as notices.
async fn upgrade_before(live: &mut Live, protocol: Protocol, operator: &mut dyn Operator) {
    if matches!(protocol, Protocol::Smtp | Protocol::Lmtp) {
        let _ = live.session.ask_capabilities().await;
    }
    let verb = command::starttls_verb(protocol);
    match live.session.starttls().await {
        Ok(StartTls::Upgraded(tls)) => {
            operator.notice(&format!(
                "{verb}: upgraded; TLS verdict: {}",
                tls.verdict.headline()
            ));
        }
        Ok(StartTls::Refused(_)) => {
            operator.notice(&format!("{verb}: the server refused the upgrade"))
        }
        Ok(StartTls::HandshakeFailed(e)) => {
            operator.notice(&format!("{verb}: the TLS handshake failed: {e}"));
        }
        Err(e) => operator.notice(&format!("{verb}: {e}")),
    }
    let _ = live.drain();
}

/// A step comparing the recorded and live verdicts of one handshake.
fn verdict_report(want: &Verdict, got: &Verdict) -> StepReport {
    let differs = !same_verdict(want, got);
    StepReport {
        label: "TLS verdict".into(),
        recorded: want.headline(),
        live: got.headline(),
        status_differs: differs,
        text_differs: differs,
        outcome: if differs {
            StepOutcome::Differs
        } else {
            StepOutcome::Same
        },
        reason: None,
    }
}

fn join(replies: &[Vec<u8>]) -> String {
    replies
        .iter()
        .map(|r| String::from_utf8_lossy(r).into_owned())
        .collect()
}

/// The greeting's second word, the host name many servers put there.
fn banner_host(reply: &[u8]) -> String {
    String::from_utf8_lossy(reply)
        .split_whitespace()
        .nth(1)
        .unwrap_or_default()
        .to_string()
}

fn compare(
    label: String,
    want: &Exchange,
    replies: Vec<Vec<u8>>,
    notes: &[Note],
    options: &ReplayOptions,
    hosts: &(Option<String>, Option<String>),
) -> StepReport {
    let (r, l) = (join(&want.replies), join(&replies));
    let text_differs = if options.normalize {
        normalise(&r, hosts.0.as_deref()) != normalise(&l, hosts.1.as_deref())
    } else {
        r != l
    };
    let live_status = notes.last().map(note_status).unwrap_or_default();
    let status_differs = want.status() != live_status;
    StepReport {
        label,
        recorded: r,
        live: l,
        status_differs,
        text_differs,
        outcome: if status_differs {
            StepOutcome::Differs
        } else if text_differs {
            StepOutcome::OtherText
        } else {
            StepOutcome::Same
        },
        reason: None,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is how a test fails
mod tests {
    use std::time::Duration;

    use super::*;

    /// The client lines of a redacted conversation with the secrets filled
    /// from `given`, as client replay would send them.
    fn filled(
        protocol: Protocol,
        lines: &[(Direction, &str)],
        given: &[(&str, &str)],
    ) -> Vec<String> {
        let mut dialogue = crate::session::Dialogue::new(protocol);
        let events = lines.iter().map(|(direction, text)| {
            let mut event = Event::Data(Entry {
                at: Duration::ZERO,
                direction: *direction,
                raw: text.as_bytes().to_vec(),
                tls: true,
                note: Box::default(),
            });
            dialogue.annotate(&mut event, &crate::protocol::Limits::default());
            event
        });
        let recorded = exchanges(events.collect::<Vec<_>>().into_iter());
        let mut auto = Auto::default();
        let mut secrets = Secrets {
            given: given
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            operator: &mut auto,
        };
        let mut plan = SecretPlan::default();
        let mut out = Vec::new();
        for (i, step) in recorded.iter().enumerate().skip(1) {
            let challenge = recorded[i - 1].replies.last().map(Vec::as_slice);
            let fills = plan.fills(protocol, step, challenge);
            let raw = step.command.as_deref().unwrap();
            let line = secrets.fill(raw, &step.note.secrets, &fills).unwrap();
            out.push(String::from_utf8(line).unwrap());
        }
        out
    }

    const C: Direction = Direction::Client;
    const S: Direction = Direction::Server;
    const CREDS: &[(&str, &str)] = &[("user", "al\"ice"), ("password", "p\\w d")];

    #[test]
    fn secrets_are_encoded_for_each_mechanism() {
        // SMTP AUTH PLAIN with an initial response (RFC 4616).
        let plain = sasl::plain_response("al\"ice", "p\\w d");
        let out = filled(
            Protocol::Smtp,
            &[
                (S, "220 hi\r\n"),
                (C, "AUTH PLAIN <redacted 24 bytes>\r\n"),
                (S, "235 ok\r\n"),
            ],
            CREDS,
        );
        assert_eq!(out, [format!("AUTH PLAIN {plain}\r\n")]);

        // SMTP AUTH LOGIN: the prompts decide the field.
        let out = filled(
            Protocol::Smtp,
            &[
                (S, "220 hi\r\n"),
                (C, "AUTH LOGIN\r\n"),
                (S, "334 VXNlcm5hbWU6\r\n"),
                (C, "<redacted 8 bytes>\r\n"),
                (S, "334 UGFzc3dvcmQ6\r\n"),
                (C, "<redacted 12 bytes>\r\n"),
                (S, "235 ok\r\n"),
            ],
            CREDS,
        );
        assert_eq!(
            out,
            [
                "AUTH LOGIN\r\n".to_string(),
                format!("{}\r\n", sasl::encode("al\"ice")),
                format!("{}\r\n", sasl::encode("p\\w d")),
            ]
        );

        // IMAP LOGIN: the password as a quoted string (RFC 9051 §4.3).
        let out = filled(
            Protocol::Imap,
            &[
                (S, "* OK hi\r\n"),
                (C, "a1 LOGIN bob <redacted 6 bytes>\r\n"),
                (S, "a1 OK done\r\n"),
            ],
            CREDS,
        );
        assert_eq!(out, ["a1 LOGIN bob \"p\\\\w d\"\r\n"]);

        // POP3 PASS as is; a --no-redact line keeps its own bytes.
        let out = filled(
            Protocol::Pop3,
            &[
                (S, "+OK hi\r\n"),
                (C, "USER bob\r\n"),
                (S, "+OK\r\n"),
                (C, "PASS <redacted 6 bytes>\r\n"),
                (S, "+OK\r\n"),
                (C, "PASS kept\r\n"),
                (S, "-ERR\r\n"),
            ],
            CREDS,
        );
        assert_eq!(out, ["USER bob\r\n", "PASS p\\w d\r\n", "PASS kept\r\n"]);
    }

    #[test]
    fn a_missing_secret_names_its_field() {
        let mut auto = Auto::default();
        let mut secrets = Secrets {
            given: HashMap::new(),
            operator: &mut auto,
        };
        let err = secrets
            .get(&SecretField::Password, "PASS <redacted 6 bytes>")
            .unwrap_err();
        assert!(err.contains("--secret password=VALUE"), "{err}");
        assert!(err.contains("MAILWIRE_SECRET_PASSWORD"), "{err}");
    }
}

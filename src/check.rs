//! `mailwire check`: a non-interactive session (greeting, capabilities,
//! upgrade, capabilities again, polite quit) turned into one report, as
//! text or JSON, with an exit status scripts can test.

use std::time::Duration;

use serde::Serialize;
use tokio::sync::mpsc;

use base64::Engine as _;

use crate::cert::CertSummary;
use crate::escape::escape_line;
use crate::finding::{Finding, FindingId, Severity, Stage};
use crate::protocol::Capability;
use crate::protocol::command::credential_line;
use crate::protocol::sasl::{self, Mechanism};
use crate::scan::ScanReport;
use crate::session::{
    Direction, Event, Outcome, Response, Session, SessionConfig, SessionError, StartTls,
};
use crate::target::{Target, TlsMode};
use crate::tls::{HandshakeFailure, HandshakeSummary, TlsError, Verdict};

/// Exit status: upgraded (or implicit TLS) and trusted.
pub const EXIT_OK: i32 = 0;
/// Exit status: a TLS problem (not offered, refused, handshake failed, untrusted).
pub const EXIT_TLS: i32 = 1;
/// Exit status: bad usage.
pub const EXIT_USAGE: i32 = 2;
/// Exit status: connection or protocol error.
pub const EXIT_CONNECTION: i32 = 3;
/// Exit status: the server refused a step of a scripted send (AUTH, MAIL
/// FROM, RCPT TO, DATA or the message).
pub const EXIT_SEND: i32 = 4;

/// The worse of two exit statuses, for reports over several checks
/// (domain mode, `--targets`): usage beats a refused send beats a
/// connection error beats a TLS problem beats success.
pub fn worst_exit(a: i32, b: i32) -> i32 {
    fn rank(code: i32) -> u8 {
        match code {
            EXIT_OK => 0,
            EXIT_TLS => 1,
            EXIT_CONNECTION => 2,
            EXIT_SEND => 3,
            _ => 4,
        }
    }
    if rank(b) > rank(a) { b } else { a }
}

/// One line of the conversation.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Step {
    /// Milliseconds since the connection started.
    pub t_ms: u64,
    /// `C` (client) or `S` (server).
    pub dir: Direction,
    /// The bytes as text (invalid UTF-8 replaced, secrets masked), lines
    /// joined by `\n`, no final line ending.
    pub text: String,
    /// The exact bytes, base64, when they are not valid UTF-8 (so `text`
    /// lost some); absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub b64: Option<String>,
    /// True when the line travelled inside TLS.
    pub tls: bool,
    /// What the line was in the conversation (the dialogue's note).
    pub outcome: Outcome,
}

/// A step of the session, in order, by swaks's names: where
/// `--quit-after` stops and how far a scripted send got.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum ScriptStep {
    /// The TCP connection (and the handshake, for implicit TLS).
    Connect,
    /// The greeting (banner), RFC 5321 §4.2.
    Greeting,
    /// EHLO (or the protocol's capability request) before TLS.
    Ehlo,
    /// STARTTLS and EHLO again (RFC 3207 §4.2).
    Tls,
    /// AUTH (RFC 4954).
    Auth,
    /// MAIL FROM (RFC 5321 §4.1.1.2).
    Mail,
    /// RCPT TO, every recipient (RFC 5321 §4.1.1.3).
    Rcpt,
    /// DATA and the message, up to the reply to the final `.` (RFC 5321 §4.1.1.4).
    Data,
}

impl ScriptStep {
    /// The snake_case name, as in JSON and `--quit-after`.
    pub fn as_str(self) -> &'static str {
        match self {
            ScriptStep::Connect => "connect",
            ScriptStep::Greeting => "greeting",
            ScriptStep::Ehlo => "ehlo",
            ScriptStep::Tls => "tls",
            ScriptStep::Auth => "auth",
            ScriptStep::Mail => "mail",
            ScriptStep::Rcpt => "rcpt",
            ScriptStep::Data => "data",
        }
    }
}

/// `--quit-after STEP`.
pub type QuitAfter = ScriptStep;

/// Credentials for a scripted send's AUTH. The password is never printed
/// (no `Debug` of it) and masked in transcripts by the dialogue.
#[derive(Clone)]
pub struct Credentials {
    /// `None`: PLAIN when the server offers it, else LOGIN.
    pub mechanism: Option<Mechanism>,
    pub user: String,
    pub password: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("mechanism", &self.mechanism)
            .field("user", &self.user)
            .field("password", &"(masked)")
            .finish()
    }
}

/// A scripted send, as swaks does it (`--auth`, `--from`, `--to`,
/// `--data`, `--quit-after`): SMTP only.
#[derive(Debug, Clone, Default)]
pub struct Script {
    pub auth: Option<Credentials>,
    /// MAIL FROM address, without the angle brackets; `None`:
    /// `mailwire@` and the EHLO name.
    pub from: Option<String>,
    /// RCPT TO addresses.
    pub to: Vec<String>,
    /// The message (RFC 5322), LF or CRLF line ends; dot-stuffed and
    /// terminated when sent. `None` with recipients: [`test_message`].
    pub message: Option<Vec<u8>>,
    pub quit_after: Option<QuitAfter>,
    /// Header fields (`Name: value`) put before the message (`--header`).
    pub headers: Vec<String>,
    /// Send credentials over plaintext or untrusted TLS.
    pub insecure: bool,
}

impl Script {
    /// True when the script goes past the check's own steps (AUTH or a
    /// mail transaction).
    pub fn sends(&self) -> bool {
        self.auth.is_some() || self.from.is_some() || !self.to.is_empty() || self.message.is_some()
    }

    /// The last step the script wants done.
    fn last_step(&self) -> ScriptStep {
        let natural = if !self.to.is_empty() || self.message.is_some() {
            ScriptStep::Data
        } else if self.from.is_some() {
            ScriptStep::Mail
        } else if self.auth.is_some() {
            ScriptStep::Auth
        } else {
            ScriptStep::Tls
        };
        self.quit_after.unwrap_or(natural)
    }
}

/// The server's negative answer to a step of a scripted send.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Refusal {
    pub step: ScriptStep,
    /// The reply as sent (escaped when shown), lines joined by `\n`.
    pub reply: String,
}

/// How far a scripted send got (the JSON `send` object).
#[derive(Debug, Clone, Serialize, PartialEq, Eq, Default)]
pub struct SendReport {
    /// The last step that completed.
    pub completed: Option<ScriptStep>,
    /// The step the server refused, with its reply.
    pub refused: Option<Refusal>,
    /// AUTH was not sent: the connection was plaintext or its certificate
    /// did not verify, and `--insecure` was not given.
    pub credentials_withheld: bool,
    /// The SASL mechanism used.
    pub mechanism: Option<String>,
    /// Recipients the server accepted.
    pub accepted: Vec<String>,
    /// Size of the message as sent, after dot-stuffing, in bytes.
    pub message_bytes: Option<usize>,
    /// The server's reply to the end of the message (e.g. `250 2.0.0 Ok: queued as …`).
    pub queued: Option<String>,
}

/// A small test message with the header fields RFC 5322 §3.6 requires
/// (Date, From) and a Message-ID, for a send without `--data`. `now` in
/// Unix seconds (formatted as RFC 5322 date-time, UTC).
pub fn test_message(from: &str, to: &[String], ehlo: &str, now: u64) -> Vec<u8> {
    let date = rfc5322_date(now);
    let id = format!("{now}.{}@{ehlo}", std::process::id());
    format!(
        "Date: {date}\r\nFrom: <{from}>\r\nTo: {}\r\nSubject: mailwire test {date}\r\nMessage-ID: <{id}>\r\nX-Mailer: mailwire {}\r\n\r\nThis is a test message sent by mailwire check.\r\n",
        to.iter().map(|t| format!("<{t}>")).collect::<Vec<_>>().join(", "),
        env!("CARGO_PKG_VERSION"),
    )
    .into_bytes()
}

/// `Tue, 01 Dec 2026 00:17:21 +0000` for `secs` since the Unix epoch.
fn rfc5322_date(secs: u64) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let days = secs / 86_400;
    let rem = secs % 86_400;
    // Civil from days (Howard Hinnant's algorithm), valid for any u64 day count here.
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{}, {day:02} {} {year} {:02}:{:02}:{:02} +0000",
        DAYS[(days % 7) as usize],
        MONTHS[(month - 1) as usize],
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Header fields `lines` (`Name: value`) put before `message`.
pub fn with_headers(message: &[u8], lines: &[String]) -> Vec<u8> {
    let mut out = Vec::with_capacity(message.len());
    for l in lines {
        out.extend_from_slice(l.trim_end_matches(['\r', '\n']).as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(message);
    out
}

/// The message as sent after DATA (RFC 5321 §4.5.2): line ends made CRLF,
/// a `.` doubled at the start of every line, a final CRLF if missing, then
/// the terminating `.` line.
///
/// ```text
/// "Hi\n.hidden\n"  ->  "Hi\r\n..hidden\r\n.\r\n"
/// ```
pub fn dot_stuff(message: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(message.len() + message.len() / 32 + 5);
    let mut at_line_start = true;
    let mut i = 0;
    while i < message.len() {
        let b = message[i];
        if at_line_start && b == b'.' {
            out.push(b'.');
        }
        match b {
            b'\r' if message.get(i + 1) == Some(&b'\n') => {
                out.extend_from_slice(b"\r\n");
                i += 1;
                at_line_start = true;
            }
            // A bare CR or LF is not allowed in SMTP (RFC 5321 §2.3.8): made CRLF.
            b'\r' | b'\n' => {
                out.extend_from_slice(b"\r\n");
                at_line_start = true;
            }
            _ => {
                out.push(b);
                at_line_start = false;
            }
        }
        i += 1;
    }
    if !out.is_empty() && !out.ends_with(b"\r\n") {
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b".\r\n");
    out
}

/// How the upgrade to TLS ended (the JSON `starttls.result`).
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum StartTlsResult {
    /// STARTTLS/STLS accepted and the handshake finished.
    Upgraded,
    /// Not advertised, and not forced with `--starttls`; or impossible
    /// because an IMAP `PREAUTH` greeting authenticated the session.
    NotOffered,
    /// The server answered STARTTLS/STLS negatively.
    Refused,
    /// The handshake failed (or timed out), for STARTTLS or implicit TLS.
    HandshakeFailed,
    /// Implicit TLS (smtps, imaps, pop3s): TLS from the first byte.
    Implicit,
    /// The session ended before the upgrade could be tried (connect failed,
    /// greeting refused, wrong service, timeout).
    NotAttempted,
}

impl StartTlsResult {
    /// The snake_case name, as in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            StartTlsResult::Upgraded => "upgraded",
            StartTlsResult::NotOffered => "not_offered",
            StartTlsResult::Refused => "refused",
            StartTlsResult::HandshakeFailed => "handshake_failed",
            StartTlsResult::Implicit => "implicit",
            StartTlsResult::NotAttempted => "not_attempted",
        }
    }
}

/// What happened to the upgrade.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct StartTlsReport {
    /// STARTTLS/STLS was advertised before TLS.
    pub offered: bool,
    pub result: StartTlsResult,
}

/// TLS parameters, as in the JSON `tls` object.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct TlsReport {
    pub version: String,
    pub cipher_suite: String,
    pub kx_group: Option<String>,
    pub alpn: Option<String>,
    pub sni: Option<String>,
    pub ocsp_stapled: bool,
    pub resumed: bool,
    /// i9: the server asked for a client certificate.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_cert: Option<crate::tls::ClientCertRequest>,
}

impl From<&HandshakeSummary> for TlsReport {
    fn from(s: &HandshakeSummary) -> Self {
        TlsReport {
            version: s.version.clone(),
            cipher_suite: s.cipher_suite.clone(),
            kx_group: s.kx_group.clone(),
            alpn: s.alpn.clone(),
            sni: s.sni.clone(),
            ocsp_stapled: s.ocsp_stapled,
            resumed: s.resumed,
            client_cert: s.client_cert.clone(),
        }
    }
}

/// The whole result of a check; serialises to the documented JSON.
#[derive(Debug, Clone, Serialize)]
pub struct CheckReport {
    pub target: Target,
    pub ehlo: Option<String>,
    pub steps: Vec<Step>,
    pub capabilities_before: Vec<String>,
    pub capabilities_after: Vec<String>,
    pub starttls: StartTlsReport,
    pub tls: Option<TlsReport>,
    /// Every certificate the server sent, also when the handshake failed
    /// (`--strict`, a refused handshake signature).
    pub chain: Vec<CertSummary>,
    /// A finding for every problem of every certificate and of the path.
    pub chain_findings: Vec<Finding>,
    pub verification: Option<Verdict>,
    /// i9: the failed handshake: cause, what was offered and chosen, diagnosis.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub handshake_failure: Option<HandshakeFailure>,
    /// i9: `--scan`: versions, cipher suites and groups the server accepts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scan: Option<ScanReport>,
    /// Every finding of the session, in order (README, "Findings").
    pub findings: Vec<Finding>,
    /// A scripted send (`--auth`, `--from`, `--to`, `--data`): how far it got.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub send: Option<SendReport>,
    /// `--quit-after`: the step after which the session was ended.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quit_after: Option<ScriptStep>,
    /// The connection or protocol error that ended the check early.
    pub error: Option<String>,
    /// Exit status, see the `EXIT_*` constants.
    pub exit_code: i32,
    #[serde(skip)]
    pub chain_der: Vec<Vec<u8>>,
}

/// Runs the check. `force_starttls` sends STARTTLS even when not advertised.
/// Never fails: every problem ends up in the report and its exit code.
pub async fn run(config: SessionConfig, force_starttls: bool) -> CheckReport {
    run_recorded(config, force_starttls, None).await
}

/// [`run`], writing every engine event through `record` as it arrives
/// (`--record FILE`).
pub async fn run_recorded(
    config: SessionConfig,
    force_starttls: bool,
    record: Option<crate::replay::RecordSwitch>,
) -> CheckReport {
    run_script(config, force_starttls, record, &Script::default()).await
}

/// [`run_recorded`] with a scripted send or `--quit-after`: after the
/// upgrade, AUTH, MAIL FROM, RCPT TO and DATA as `script` says (SMTP and
/// LMTP only; the caller checks).
pub async fn run_script(
    config: SessionConfig,
    force_starttls: bool,
    record: Option<crate::replay::RecordSwitch>,
    script: &Script,
) -> CheckReport {
    let target = config.target.clone();
    let (tx, mut rx) = mpsc::channel(1024);
    let collector = tokio::spawn(async move {
        let mut events = Vec::new();
        while let Some(e) = rx.recv().await {
            if let Some(switch) = &record {
                switch.observe(&e);
            }
            // A streamed response's bytes only matter to the recording;
            // holding them here would make memory grow with the body.
            if !matches!(e, Event::Chunk { .. }) {
                events.push(e);
            }
        }
        events
    });
    let mut outcome = Drive::default();
    let mut ehlo = None;
    let probe_config = config.clone();
    match Session::connect(config, tx).await {
        Ok(mut session) => {
            if matches!(
                target.protocol,
                crate::target::Protocol::Smtp | crate::target::Protocol::Lmtp
            ) {
                ehlo = Some(session.ehlo_name().to_string());
            }
            outcome = drive(&mut session, &target, force_starttls, script).await;
            if outcome.stop_at_connect {
                session.close().await;
            } else {
                session.quit().await;
            }
        }
        Err(e) => {
            outcome.result = if e.is_tls_failure() {
                StartTlsResult::HandshakeFailed
            } else {
                StartTlsResult::NotAttempted
            };
            outcome.error = Some(e);
        }
    }
    let events = collector.await.unwrap_or_default();
    let mut report = build_report(target, ehlo, events, outcome, script);
    diagnose_refusal(&mut report, &probe_config).await;
    report
}

/// i9: a refusal before any ServerHello (alerts 40, 70, 71, a close) does
/// not say what the server wanted; one more connection with a wide
/// ClientHello does (legacy_tls_only with the version, no_common_cipher,
/// no_common_group). Its findings go before `handshake_failed`.
async fn diagnose_refusal(report: &mut CheckReport, config: &SessionConfig) {
    use crate::tls::client::FailureCause;
    let Some(f) = report.handshake_failure.as_mut() else {
        return;
    };
    if f.chosen.is_some()
        || f.after_handshake
        || !matches!(
            f.alert().map(|a| a.number),
            Some(40 | 47 | 50 | 70 | 71) | None
        )
        || matches!(
            f.cause,
            FailureCause::CertificateRejected | FailureCause::NotTls
        )
    {
        return;
    }
    let extra = crate::scan::diagnose(config).await;
    if extra.is_empty() {
        return;
    }
    for list in [&mut f.findings, &mut report.findings] {
        list.retain(|old| !extra.iter().any(|new| new.id == old.id));
        let at = list
            .iter()
            .position(|x| x.id == FindingId::HandshakeFailed)
            .unwrap_or(list.len());
        list.splice(at..at, extra.iter().cloned());
    }
}

/// i9: `check --scan`: adds the scan of the same server to `report`.
pub async fn add_scan(report: &mut CheckReport, config: &SessionConfig, concurrency: usize) {
    report.scan = Some(crate::scan::scan(config, concurrency).await);
}

struct Drive {
    offered: bool,
    result: StartTlsResult,
    error: Option<SessionError>,
    /// `--quit-after connect`: close without a greeting or QUIT.
    stop_at_connect: bool,
    /// The last step done when `--quit-after` stopped before TLS.
    stopped_before_tls: Option<ScriptStep>,
    send: Option<SendReport>,
    /// Findings of the scripted send (credentials withheld, a refusal).
    findings: Vec<Finding>,
}

impl Default for Drive {
    fn default() -> Self {
        Drive {
            offered: false,
            result: StartTlsResult::NotAttempted,
            error: None,
            stop_at_connect: false,
            stopped_before_tls: None,
            send: None,
            findings: Vec::new(),
        }
    }
}

async fn drive<S>(session: &mut Session<S>, target: &Target, force: bool, script: &Script) -> Drive
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send,
{
    let mut out = Drive::default();
    let last = script.last_step();
    if last == ScriptStep::Connect {
        out.stop_at_connect = true;
        out.stopped_before_tls = Some(ScriptStep::Connect);
        return out;
    }
    let preauth = match session.greeting().await {
        Ok(greeting) => matches!(
            greeting,
            Response::Imap(crate::protocol::imap::Response::Untagged {
                status: Some(crate::protocol::imap::Status::PreAuth),
                ..
            })
        ),
        Err(e) => {
            out.error = Some(e);
            return out;
        }
    };
    if last == ScriptStep::Greeting {
        out.stopped_before_tls = Some(ScriptStep::Greeting);
        return out;
    }
    if let Err(e) = capabilities(session).await {
        out.error = Some(e);
        return out;
    }
    if last == ScriptStep::Ehlo {
        out.stopped_before_tls = Some(ScriptStep::Ehlo);
        return out;
    }
    let implicit = target.tls == TlsMode::Implicit;
    if !implicit {
        upgrade(session, force, preauth, &mut out).await;
    } else {
        out.result = StartTlsResult::Implicit;
    }
    if out.error.is_none() && script.sends() && last > ScriptStep::Tls {
        let mut send = SendReport {
            completed: Some(ScriptStep::Tls),
            ..SendReport::default()
        };
        if let Err(e) = transaction(session, script, last, &mut send, &mut out.findings).await {
            out.error = Some(e);
        }
        out.send = Some(send);
    }
    out
}

/// STARTTLS/STLS and the capabilities again, into `out`.
async fn upgrade<S>(session: &mut Session<S>, force: bool, preauth: bool, out: &mut Drive)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send,
{
    out.offered = session.starttls_offered();
    // PREAUTH: the session is authenticated, where STARTTLS is not allowed
    // (RFC 9051 §6.2.1); the dialogue's preauth_greeting finding says so.
    if preauth {
        out.result = StartTlsResult::NotOffered;
        return;
    }
    // POP3 servers without CAPA (RFC 2449) may still do STLS: try it
    // (RFC 2595 §4 does not require CAPA).
    let capa_failed =
        session.protocol() == crate::target::Protocol::Pop3 && session.capabilities().is_empty();
    if !out.offered && !force && !capa_failed {
        out.result = StartTlsResult::NotOffered;
        return;
    }
    match session.starttls().await {
        Ok(StartTls::Upgraded(_)) => {
            out.result = StartTlsResult::Upgraded;
            if let Err(e) = capabilities(session).await {
                out.error = Some(e);
            }
        }
        Ok(StartTls::Refused(_)) => {
            out.result = if out.offered || force {
                StartTlsResult::Refused
            } else {
                StartTlsResult::NotOffered
            }
        }
        Ok(StartTls::HandshakeFailed(e)) => {
            out.result = StartTlsResult::HandshakeFailed;
            out.error = Some(e);
        }
        Err(e) if e.is_tls_failure() => {
            out.result = StartTlsResult::HandshakeFailed;
            out.error = Some(e);
        }
        Err(e) => out.error = Some(e),
    }
}

/// The text of the last response, for a refusal (lines joined by `\n`).
/// SMTP replies keep their code (`550 …`), so a refusal names it.
fn reply_text(responses: &[Response]) -> String {
    match responses.last() {
        Some(r @ Response::Smtp(reply)) => {
            match reply.lines.first().and_then(|l| l.enhanced.as_ref()) {
                Some(e) => format!("{} {e} {}", reply.code.0, r.text()),
                None => format!("{} {}", reply.code.0, r.text()),
            }
        }
        Some(r) => r.text(),
        None => String::new(),
    }
}

/// A step of the scripted send the server answered negatively.
fn refused(
    step: ScriptStep,
    responses: &[Response],
    send: &mut SendReport,
    findings: &mut Vec<Finding>,
) {
    let reply = reply_text(responses);
    findings.push(Finding::new(
        FindingId::SendRefused,
        Severity::Error,
        if step == ScriptStep::Auth { Stage::Authentication } else { Stage::Transaction },
        format!("the server refused {}: {}", step.as_str(), escape_line(reply.as_bytes())),
        match step {
            ScriptStep::Auth => "Check the user name and password, and that the mechanism is offered after TLS (EHLO lists AUTH).",
            ScriptStep::Mail => "The sender address is refused: check it, and whether the server wants AUTH first (530 5.7.0).",
            ScriptStep::Rcpt => "The recipient is refused: an unknown user, or relaying denied without AUTH (554 5.7.1).",
            _ => "The message was refused: see the reply's enhanced status code (size, content, policy).",
        },
        match step {
            ScriptStep::Auth => "RFC 4954 §6",
            ScriptStep::Mail => "RFC 5321 §4.1.1.2",
            ScriptStep::Rcpt => "RFC 5321 §4.1.1.3",
            _ => "RFC 5321 §4.1.1.4",
        },
    ));
    send.refused = Some(Refusal { step, reply });
}

fn positive(responses: &[Response]) -> bool {
    responses.last().is_some_and(Response::is_positive)
}

/// AUTH, MAIL FROM, RCPT TO, DATA and the message, up to `last`. A
/// refusal ends the script (a finding and `send.refused`); an `Err` is a
/// broken session.
async fn transaction<S>(
    session: &mut Session<S>,
    script: &Script,
    last: ScriptStep,
    send: &mut SendReport,
    findings: &mut Vec<Finding>,
) -> Result<(), SessionError>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send,
{
    if let Some(creds) = &script.auth {
        let secure = session.is_tls() && session.dialogue().is_trusted();
        if !secure && !script.insecure {
            let how = if session.is_tls() {
                "the certificate did not verify"
            } else {
                "the connection is not encrypted"
            };
            findings.push(Finding::new(
                FindingId::CredentialsWithheld,
                Severity::Error,
                Stage::Authentication,
                format!("mailwire did not send the credentials: {how}"),
                "Credentials go only over TLS with a verified certificate. Fix the certificate (or trust its CA with --ca-file), or pass --insecure for a test account.",
                "RFC 8314 §3, RFC 4954 §4",
            ));
            send.credentials_withheld = true;
            return Ok(());
        }
        let offered = |name: &str| {
            session.capabilities().iter().any(|c| {
                let text = c.to_string().to_ascii_uppercase();
                text.starts_with("AUTH") && text.split([' ', '=']).any(|m| m == name)
            })
        };
        let mechanism = match &creds.mechanism {
            Some(m) => m.clone(),
            None if !offered("PLAIN") && offered("LOGIN") => Mechanism::Login,
            None => Mechanism::Plain,
        };
        send.mechanism = Some(mechanism.name().to_string());
        let ok = match mechanism {
            Mechanism::Login => {
                // draft-murchison-sasl-login: 334 for the user name, 334 for
                // the password, then 235.
                let mut r = session.command("AUTH LOGIN").await?;
                if positive(&r) {
                    r = session.command(&sasl::encode(&creds.user)).await?;
                }
                if positive(&r) {
                    r = session.command(&sasl::encode(&creds.password)).await?;
                }
                (positive(&r), r)
            }
            _ => {
                let line = credential_line(
                    session.protocol(),
                    &Mechanism::Plain,
                    &creds.user,
                    &creds.password,
                );
                let r = session.command(&line).await?;
                (positive(&r), r)
            }
        };
        if !ok.0 {
            refused(ScriptStep::Auth, &ok.1, send, findings);
            return Ok(());
        }
        send.completed = Some(ScriptStep::Auth);
    }
    if last < ScriptStep::Mail {
        return Ok(());
    }
    let from = script
        .from
        .clone()
        .unwrap_or_else(|| format!("mailwire@{}", session.ehlo_name()));
    let r = session.command(&format!("MAIL FROM:<{from}>")).await?;
    if !positive(&r) {
        refused(ScriptStep::Mail, &r, send, findings);
        return Ok(());
    }
    send.completed = Some(ScriptStep::Mail);
    if last < ScriptStep::Rcpt {
        return Ok(());
    }
    for to in &script.to {
        let r = session.command(&format!("RCPT TO:<{to}>")).await?;
        if !positive(&r) {
            refused(ScriptStep::Rcpt, &r, send, findings);
            return Ok(());
        }
        send.accepted.push(to.clone());
    }
    send.completed = Some(ScriptStep::Rcpt);
    if last < ScriptStep::Data {
        return Ok(());
    }
    let r = session.command("DATA").await?;
    // 354: start mail input (RFC 5321 §4.3.2).
    if !r
        .last()
        .is_some_and(|x| matches!(x, Response::Smtp(s) if s.code.0 == 354))
    {
        refused(ScriptStep::Data, &r, send, findings);
        return Ok(());
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let message = match &script.message {
        Some(m) => with_headers(m, &script.headers),
        None => with_headers(
            &test_message(&from, &script.to, session.ehlo_name(), now),
            &script.headers,
        ),
    };
    let body = dot_stuff(&message);
    send.message_bytes = Some(body.len());
    session.send_raw(&body).await?;
    let end = session
        .read_response("reply to the end of the message")
        .await?;
    let reply = vec![end.response];
    if !positive(&reply) {
        refused(ScriptStep::Data, &reply, send, findings);
        return Ok(());
    }
    send.queued = Some(reply_text(&reply));
    send.completed = Some(ScriptStep::Data);
    Ok(())
}

/// EHLO (or CAPABILITY, CAPA); SMTP falls back to HELO when EHLO is
/// refused (RFC 5321 §3.2), which means no ESMTP and so no STARTTLS.
async fn capabilities<S>(session: &mut Session<S>) -> Result<(), SessionError>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send,
{
    let responses = session.ask_capabilities().await?;
    let smtp = matches!(
        session.protocol(),
        crate::target::Protocol::Smtp | crate::target::Protocol::Lmtp
    );
    let refused = matches!(responses.last(), Some(Response::Smtp(r)) if r.code.class() == 5);
    if smtp && refused && session.protocol() == crate::target::Protocol::Smtp {
        session.helo().await?;
    }
    Ok(())
}

fn build_report(
    target: Target,
    ehlo: Option<String>,
    events: Vec<Event>,
    outcome: Drive,
    script: &Script,
) -> CheckReport {
    let mut steps = Vec::new();
    let mut before = Vec::new();
    let mut after = Vec::new();
    let mut tls = None;
    let mut findings = Vec::new();
    for event in events {
        match event {
            Event::Data(entry) | Event::Malformed { entry, .. } => {
                if let Some(list) = &entry.note.capabilities {
                    let names: Vec<String> = list.iter().map(Capability::to_string).collect();
                    if entry.tls {
                        after = names;
                    } else {
                        before = names;
                    }
                }
                let shown = entry.redacted();
                let b64 = std::str::from_utf8(&shown)
                    .is_err()
                    .then(|| base64::engine::general_purpose::STANDARD.encode(&shown));
                steps.push(Step {
                    t_ms: ms(entry.at),
                    dir: entry.direction,
                    text: step_text(&shown),
                    b64,
                    tls: entry.tls,
                    outcome: entry.note.outcome,
                });
            }
            Event::Tls(t) => tls = Some(t),
            // The same chain and verdict travel with the error, read below.
            Event::TlsFailed(_) => {}
            Event::Finding { finding, .. } => findings.push(finding),
            // The bytes of a streamed response; its Data entry (a preview) follows.
            Event::Connected { .. } | Event::Closed { .. } | Event::Chunk { .. } => {}
        }
    }
    // i9: a failed handshake keeps its verdict and chain (also --strict).
    let failure: Option<HandshakeFailure> = outcome.error.as_ref().and_then(|e| match e {
        SessionError::Tls(TlsError::Handshake(f)) => Some((**f).clone()),
        _ => None,
    });
    let verification = tls
        .as_ref()
        .map(|t| t.verdict.clone())
        .or_else(|| failure.as_ref().and_then(|f| f.verification.clone()));
    // A server that ends the session with an alert right after the
    // handshake (a refused client certificate) failed the handshake.
    let result = if failure.as_ref().is_some_and(|f| f.after_handshake) {
        StartTlsResult::HandshakeFailed
    } else {
        outcome.result
    };
    let injected = findings
        .iter()
        .any(|f| f.id == FindingId::StarttlsInjection);
    let error = outcome.error.as_ref().map(ToString::to_string);
    let exit_code = if matches!(
        result,
        StartTlsResult::NotOffered | StartTlsResult::Refused | StartTlsResult::HandshakeFailed
    ) || injected
        // Untrusted is the more important answer even if the session broke later.
        || verification.as_ref().is_some_and(|v| !v.trusted)
    {
        EXIT_TLS
    } else if outcome.error.is_some() || tls.is_none() {
        EXIT_CONNECTION
    } else {
        EXIT_OK
    };
    // --quit-after before TLS: the steps asked for were done, or not.
    let exit_code = match outcome.stopped_before_tls {
        Some(_) if outcome.error.is_none() => EXIT_OK,
        _ => exit_code,
    };
    findings.extend(outcome.findings.iter().cloned());
    let exit_code = match &outcome.send {
        Some(send) if send.credentials_withheld => worst_exit(exit_code, EXIT_TLS),
        Some(send) if send.refused.is_some() => worst_exit(exit_code, EXIT_SEND),
        _ => exit_code,
    };
    let (chain, chain_findings, chain_der) = match (&tls, &failure) {
        (Some(t), _) => (
            t.chain.certs.clone(),
            t.chain.findings.clone(),
            t.chain_der.clone(),
        ),
        (None, Some(f)) => (
            f.chain
                .as_ref()
                .map(|c| c.certs.clone())
                .unwrap_or_default(),
            f.chain
                .as_ref()
                .map(|c| c.findings.clone())
                .unwrap_or_default(),
            f.chain_der.clone(),
        ),
        (None, None) => (Vec::new(), Vec::new(), Vec::new()),
    };
    CheckReport {
        target,
        ehlo,
        steps,
        capabilities_before: before,
        capabilities_after: after,
        starttls: StartTlsReport {
            offered: outcome.offered,
            result,
        },
        tls: tls.as_ref().map(|t| TlsReport::from(&t.summary)),
        chain,
        chain_findings,
        verification,
        handshake_failure: failure,
        scan: None,
        findings,
        send: outcome.send,
        quit_after: script.quit_after,
        error,
        exit_code,
        chain_der,
    }
}

fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

fn step_text(raw: &[u8]) -> String {
    let text = String::from_utf8_lossy(raw);
    text.trim_end_matches(['\r', '\n']).replace("\r\n", "\n")
}

impl CheckReport {
    /// The report as one JSON object (see README, "check --json").
    /// Terminal-safe: C0, C1 and bidi controls are written as `\uXXXX`
    /// escapes, so the decoded strings stay exact.
    pub fn to_json(&self) -> String {
        crate::escape::to_safe_json(self, true)
            .unwrap_or_else(|e| format!("{{\"error\":\"cannot serialise: {e}\"}}"))
    }

    /// The human report. Server text is escaped: it may hold control bytes.
    pub fn to_text(&self) -> String {
        let mut s = String::new();
        let mut line = |l: String| {
            s.push_str(&l);
            s.push('\n');
        };
        line(format!("mailwire check {}", self.target));
        line(String::new());
        for step in &self.steps {
            let arrow = match (step.dir, step.tls) {
                (Direction::Client, false) => " ->",
                (Direction::Client, true) => "~>",
                (Direction::Server, false) => "<- ",
                (Direction::Server, true) => "<~",
            };
            for (i, l) in step.text.split('\n').enumerate() {
                let t = if i == 0 {
                    format!("{:>6} ms", step.t_ms)
                } else {
                    " ".repeat(9)
                };
                line(format!("{t} {arrow:<3} {}", escape_line(l.as_bytes())));
            }
        }
        line(String::new());
        line(format!(
            "STARTTLS:      {} (offered: {})",
            self.starttls.result.as_str(),
            yes_no(self.starttls.offered)
        ));
        if !self.capabilities_before.is_empty() {
            // Capability text is the server's: escaped like every line of it.
            line(format!(
                "capabilities before TLS: {}",
                crate::escape::escape_bytes(self.capabilities_before.join(", ").as_bytes())
            ));
        }
        if !self.capabilities_after.is_empty() {
            line(format!(
                "capabilities after TLS:  {}",
                crate::escape::escape_bytes(self.capabilities_after.join(", ").as_bytes())
            ));
        }
        if let Some(t) = &self.tls {
            line(format!("TLS version:   {}", t.version));
            line(format!("cipher suite:  {}", t.cipher_suite));
            line(format!(
                "key exchange:  {}",
                t.kx_group.as_deref().unwrap_or("unknown")
            ));
            line(format!(
                "SNI sent:      {}",
                t.sni.as_deref().unwrap_or("(none)")
            ));
            line(format!(
                "ALPN:          {}",
                t.alpn.as_deref().unwrap_or("(none)")
            ));
            line(format!("OCSP stapled:  {}", yes_no(t.ocsp_stapled)));
        }
        if let Some(f) = &self.handshake_failure {
            line(format!(
                "handshake:     failed: {}",
                escape_line(f.sentence().as_bytes())
            ));
            line(format!(
                "offered:       {}",
                crate::tls::client::offer_text(&f.offered)
            ));
            match &f.chosen {
                Some(c) => line(format!(
                    "server chose:  {} {}{}",
                    c.version,
                    c.cipher_suite,
                    c.group
                        .as_deref()
                        .map(|g| format!(", group {g}"))
                        .unwrap_or_default()
                )),
                None => line("server chose:  (no ServerHello)".into()),
            }
        }
        if let Some(v) = &self.verification {
            line(format!(
                "verification:  {}",
                escape_line(v.headline().as_bytes())
            ));
            line(format!("trust store:   {}", v.trust_store.describe()));
            line(format!(
                "hostname:      {} {}",
                escape_line(v.name_checked.as_bytes()),
                if v.hostname_match {
                    "matches"
                } else {
                    "DOES NOT MATCH"
                }
            ));
        }
        for c in &self.chain {
            let role = if c.depth == 0 {
                "leaf"
            } else if c.self_signed {
                "root"
            } else {
                "intermediate"
            };
            line(String::new());
            let version = if c.version < 3 {
                format!(", X.509 v{}", c.version)
            } else {
                String::new()
            };
            line(format!("certificate {} ({role}{version})", c.depth));
            line(format!(
                "  subject:     {}",
                escape_line(c.subject.as_bytes())
            ));
            line(format!(
                "  issuer:      {}",
                escape_line(c.issuer.as_bytes())
            ));
            line(format!(
                "  valid:       {} .. {} ({} days left)",
                c.not_before, c.not_after, c.days_left
            ));
            if !c.sans.is_empty() {
                line(format!(
                    "  SANs:        {}",
                    escape_line(c.sans.join(", ").as_bytes())
                ));
            }
            if !c.aia.is_empty() {
                line(format!(
                    "  AIA:         {}",
                    escape_line(c.aia.join(", ").as_bytes())
                ));
            }
            line(format!(
                "  key:         {}, signed with {}",
                c.key, c.signature_algorithm
            ));
            line(format!("  SHA-256:     {}", c.sha256));
        }
        if !self.chain_findings.is_empty() {
            line(String::new());
            line("Certificate findings:".into());
            for f in &self.chain_findings {
                for l in f.to_text().lines() {
                    line(format!("  {l}"));
                }
            }
        }
        if !self.findings.is_empty() {
            line(String::new());
            line("Findings:".into());
            for f in &self.findings {
                for l in f.to_text().lines() {
                    line(format!("  {l}"));
                }
            }
        }
        if let Some(scan) = &self.scan {
            line(String::new());
            for l in scan.to_text().lines() {
                line(l.to_string());
            }
            for f in &scan.findings {
                for l in f.to_text().lines() {
                    line(format!("  {l}"));
                }
            }
        }
        if let Some(send) = &self.send {
            line(String::new());
            line(format!(
                "send:          {}",
                match (&send.refused, send.credentials_withheld) {
                    (_, true) => "stopped: credentials withheld".to_string(),
                    (Some(r), _) => format!(
                        "refused at {}: {}",
                        r.step.as_str(),
                        escape_line(r.reply.as_bytes())
                    ),
                    (None, _) => format!(
                        "done up to {}",
                        send.completed.map_or("(nothing)", ScriptStep::as_str)
                    ),
                }
            ));
            if let Some(m) = &send.mechanism {
                line(format!("AUTH mechanism: {m}"));
            }
            if !send.accepted.is_empty() {
                line(format!(
                    "recipients:    {}",
                    escape_line(send.accepted.join(", ").as_bytes())
                ));
            }
            if let Some(n) = send.message_bytes {
                line(format!("message:       {n} bytes sent"));
            }
            if let Some(q) = &send.queued {
                line(format!("accepted:      {}", escape_line(q.as_bytes())));
            }
        }
        if let Some(e) = &self.error {
            line(String::new());
            line(format!("error: {}", escape_line(e.as_bytes())));
        }
        line(format!("exit status {}", self.exit_code));
        s
    }

    /// The chain as PEM, for `--save-chain`.
    pub fn chain_pem(&self) -> String {
        crate::cert::to_pem(&self.chain_der)
    }
}

fn yes_no(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dot_stuffing_doubles_leading_dots_and_terminates() {
        assert_eq!(dot_stuff(b"Hi\n.hidden\n"), b"Hi\r\n..hidden\r\n.\r\n");
        assert_eq!(dot_stuff(b".\r\n"), b"..\r\n.\r\n");
        assert_eq!(dot_stuff(b"no end"), b"no end\r\n.\r\n");
        assert_eq!(dot_stuff(b"a\rb.c\r\n..d"), b"a\r\nb.c\r\n...d\r\n.\r\n");
        assert_eq!(dot_stuff(b""), b".\r\n");
    }

    #[test]
    fn generated_message_has_date_and_message_id() {
        assert_eq!(rfc5322_date(0), "Thu, 01 Jan 1970 00:00:00 +0000");
        assert_eq!(
            rfc5322_date(1_796_084_241),
            "Tue, 01 Dec 2026 00:17:21 +0000"
        );
        assert_eq!(rfc5322_date(951_782_400), "Tue, 29 Feb 2000 00:00:00 +0000");
        let m = String::from_utf8(test_message(
            "a@b.example",
            &["c@d.example".to_string()],
            "client.example",
            0,
        ))
        .unwrap();
        assert!(m.starts_with("Date: Thu, 01 Jan 1970 00:00:00 +0000\r\nFrom: <a@b.example>\r\nTo: <c@d.example>\r\n"), "{m}");
        assert!(m.contains("\r\nMessage-ID: <0."), "{m}");
        assert!(m.contains("@client.example>\r\n"), "{m}");
        let h = with_headers(m.as_bytes(), &["X-A: 1".to_string()]);
        assert!(h.starts_with(b"X-A: 1\r\nDate: "));
    }

    #[test]
    fn the_script_stops_where_asked() {
        let mut s = Script::default();
        assert!(!s.sends());
        assert_eq!(s.last_step(), ScriptStep::Tls);
        s.to = vec!["x@y".into()];
        assert_eq!(s.last_step(), ScriptStep::Data);
        s.quit_after = Some(ScriptStep::Rcpt);
        assert_eq!(s.last_step(), ScriptStep::Rcpt);
        let creds = Credentials {
            mechanism: None,
            user: "u".into(),
            password: "hunter2".into(),
        };
        assert!(!format!("{creds:?}").contains("hunter2"));
    }
}

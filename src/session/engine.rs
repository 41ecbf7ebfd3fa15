//! The session engine: connects, frames responses, upgrades with
//! STARTTLS/STLS or implicit TLS, and reports every step as an [`Event`].
//!
//! Used two ways: driven step by step by `check` ([`Session::command`],
//! [`Session::starttls`]), or as a task owned by the TUI ([`spawn`]) that
//! reads responses as they arrive and runs [`Command`]s from a channel.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio::time::{Instant, timeout};

use super::StreamEnd;
use super::connection::{Connection, Fill, Polled, Raw};
use super::dialogue::{Dialogue, Note, Outcome, Phase};
use super::{Direction, Entry, Event, Origin, Response, TlsEstablished, TlsFailed};
use crate::finding::{Finding, FindingId, Severity, Stage};
use crate::protocol::command::{self, Verb};
use crate::protocol::{self, Capability, Foreign, Limits, Streaming, imap};
use crate::target::{IpVersion, Protocol, Target, TlsMode};
use crate::tls::ClientOptions;
use crate::tls::client::{Client, FailureCause, TlsError};

/// Timeouts for each step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// TCP connect. Default 10 s.
    pub connect: Duration,
    /// Waiting for one whole response (greeting included). Default 30 s,
    /// long enough for the greeting delays of common anti-spam setups.
    pub response: Duration,
    /// TLS handshake. Default 10 s.
    pub handshake: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self {
            connect: Duration::from_secs(10),
            response: Duration::from_secs(30),
            handshake: Duration::from_secs(10),
        }
    }
}

/// Everything needed to open a session.
#[derive(Debug, Clone)]
pub struct SessionConfig {
    pub target: Target,
    /// EHLO/LHLO name; `None` picks this machine's FQDN, else an address
    /// literal of the local address (RFC 5321 §4.1.4).
    pub ehlo: Option<String>,
    pub timeouts: Timeouts,
    pub limits: Limits,
    pub tls: ClientOptions,
    /// Address family to connect over (`-4`/`-6`).
    pub ip: IpVersion,
    /// Responses bigger than this stream (Event::Chunk) instead of being
    /// held whole; `None` holds every response. Default: on, 1 MiB.
    pub streaming: Option<Streaming>,
}

impl SessionConfig {
    /// Defaults for `target`.
    pub fn new(target: Target) -> Self {
        Self {
            target,
            ehlo: None,
            timeouts: Timeouts::default(),
            limits: Limits::default(),
            tls: ClientOptions::default(),
            ip: IpVersion::Any,
            streaming: Some(Streaming::default()),
        }
    }
}

/// What the UI asks the engine to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Send bytes as given (the caller adds CRLF). With `tagged` (IMAP
    /// only) the engine prefixes the next tag and a space, unless the
    /// dialogue says the line continues a literal, a SASL exchange or IDLE.
    Send { bytes: Vec<u8>, tagged: bool },
    /// Send the protocol's STARTTLS verb and, on a positive reply, upgrade.
    StartTls,
    /// Close the connection without a QUIT.
    Close,
}

/// The UI's end of a running engine task.
#[derive(Debug)]
pub struct SessionHandle {
    pub commands: mpsc::Sender<Command>,
    pub events: mpsc::Receiver<Event>,
}

/// How long, at most, to wait for the server to close after it answered
/// QUIT or LOGOUT (RFC 5321 §4.1.1.10: it sends 221, then closes), in ms
/// as a [`Duration`]: 1 s. A conforming server closes within a round trip.
pub const QUIT_CLOSE_WAIT: Duration = Duration::from_secs(1);

/// A response as received, with the dialogue's note.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    pub response: Response,
    pub note: Note,
}

/// Why a step could not finish. Each is also reported as an [`Event`].
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error("cannot connect to {target}: {reason}")]
    Connect { target: String, reason: String },
    #[error("no {what} within {} ms", after.as_millis())]
    Timeout { what: String, after: Duration },
    #[error("connection closed by the server{context}")]
    Closed { context: String },
    #[error("{0}")]
    Protocol(String),
    #[error("{0}")]
    Io(String),
    #[error(transparent)]
    Tls(#[from] TlsError),
    /// The server refused or ended the session, or is not the service asked
    /// for; the finding says which (greeting 554/421, `* BYE`, wrong port).
    #[error("{}", .0.summary)]
    Ended(Box<Finding>),
}

impl SessionError {
    /// True for failures of the TLS handshake itself (including its timeout).
    pub fn is_tls_failure(&self) -> bool {
        match self {
            SessionError::Tls(_) => true,
            SessionError::Timeout { what, .. } => what == HANDSHAKE,
            _ => false,
        }
    }
}

const HANDSHAKE: &str = "TLS handshake";
/// Most junk lines (empty lines, text in no protocol's syntax) skipped while
/// waiting for the greeting or for the reply to one command.
const MAX_JUNK: usize = 100;

/// Result alias for the engine.
pub type Result<T> = std::result::Result<T, SessionError>;

/// How a STARTTLS/STLS attempt ended.
#[derive(Debug)]
pub enum StartTls {
    /// TLS is up; the same data as the emitted [`Event::Tls`].
    Upgraded(Box<TlsEstablished>),
    /// The server answered negatively; the session goes on in plaintext.
    Refused(Response),
    /// The handshake failed (or timed out); the connection is unusable.
    HandshakeFailed(SessionError),
}

/// One live session over a stream `S` (a `TcpStream`, or a duplex pipe in tests).
pub struct Session<S> {
    conn: Connection<S>,
    config: SessionConfig,
    events: mpsc::Sender<Event>,
    start: Instant,
    tags: imap::TagGenerator,
    /// Follows the conversation: framing hints, notes, findings.
    dialogue: Dialogue,
    ehlo: String,
    closed: bool,
    /// A step failed (timeout, refusal): the goodbye is not waited for long.
    failed: bool,
    bytes_sent: u64,
    bytes_received: u64,
}

impl Session<TcpStream> {
    /// Connects to the target (implicit TLS handshake included, not the greeting).
    ///
    /// # Errors
    /// [`SessionError::Connect`], [`SessionError::Timeout`], or a failed handshake.
    pub async fn connect(
        config: SessionConfig,
        events: mpsc::Sender<Event>,
    ) -> Result<Session<TcpStream>> {
        let start = Instant::now();
        let authority = config.target.authority();
        let connect = timeout(
            config.timeouts.connect,
            connect_tcp(&config.target, config.ip),
        )
        .await;
        let at = start.elapsed();
        let stream = match connect {
            Ok(Ok(s)) => s,
            Ok(Err(e)) => {
                let reason = describe_connect_error(&e);
                let finding = Finding::new(
                    FindingId::ConnectFailed,
                    Severity::Error,
                    Stage::Connect,
                    format!("cannot connect to {authority}: {reason}"),
                    connect_advice(&e),
                    "RFC 9293 §3.5",
                );
                let _ = events
                    .send(Event::Finding {
                        at,
                        finding,
                        origin: Origin::Engine,
                    })
                    .await;
                return Err(SessionError::Connect {
                    target: authority,
                    reason,
                });
            }
            Err(_) => {
                let err = SessionError::Timeout {
                    what: format!("TCP connection to {authority}"),
                    after: config.timeouts.connect,
                };
                let finding = Finding::new(
                    FindingId::Timeout,
                    Severity::Error,
                    Stage::Connect,
                    err.to_string(),
                    "Nothing answered: the host is down, a firewall drops the packets, or the port is filtered. Check the address and port, and whether outbound connections to it are allowed (port 25 is often blocked by ISPs).",
                    "RFC 9293 §3.5",
                );
                let _ = events
                    .send(Event::Finding {
                        at,
                        finding,
                        origin: Origin::Engine,
                    })
                    .await;
                return Err(err);
            }
        };
        let _ = stream.set_nodelay(true);
        let peer = stream
            .peer_addr()
            .map(|a| a.to_string())
            .unwrap_or_else(|_| authority.clone());
        let local = stream.local_addr().ok();
        let _ = events.send(Event::Connected { at, peer }).await;
        let quick_ack = {
            use std::os::fd::AsFd;
            stream.as_fd().try_clone_to_owned().ok()
        };
        let mut session = Session::over_at(stream, config, events, start, local);
        if let Some(fd) = quick_ack {
            // See Connection::ack_at_once: a Nagle server's reply after the
            // TLS 1.3 session tickets would wait 40 ms for our delayed ACK.
            session.conn.ack_at_once(fd);
        }
        if session.config.target.tls == TlsMode::Implicit {
            session.upgrade(true).await?;
        }
        Ok(session)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin + Send> Session<S> {
    /// A session over an already connected plaintext stream (tests, replay).
    pub fn over(stream: S, config: SessionConfig, events: mpsc::Sender<Event>) -> Session<S> {
        Session::over_at(stream, config, events, Instant::now(), None)
    }

    fn over_at(
        stream: S,
        config: SessionConfig,
        events: mpsc::Sender<Event>,
        start: Instant,
        local: Option<SocketAddr>,
    ) -> Session<S> {
        let ehlo = config.ehlo.clone().unwrap_or_else(|| default_ehlo(local));
        Session {
            conn: {
                let mut conn = Connection::new(stream, config.limits);
                conn.set_streaming(config.streaming);
                conn
            },
            dialogue: Dialogue::new(config.target.protocol),
            config,
            events,
            start,
            tags: imap::TagGenerator::default(),
            ehlo,
            closed: false,
            failed: false,
            bytes_sent: 0,
            bytes_received: 0,
        }
    }

    /// The EHLO/LHLO name in use.
    pub fn ehlo_name(&self) -> &str {
        &self.ehlo
    }

    /// The protocol spoken.
    pub fn protocol(&self) -> Protocol {
        self.config.target.protocol
    }

    /// Capabilities known now; emptied by a TLS upgrade (RFC 3207 §4.2,
    /// RFC 2595 §3.1), so they must be asked for again.
    pub fn capabilities(&self) -> &[Capability] {
        self.dialogue.capabilities().unwrap_or_default()
    }

    /// The dialogue that follows this session (phase, capabilities, ending).
    pub fn dialogue(&self) -> &Dialogue {
        &self.dialogue
    }

    /// True after a step failed (timeout, refusal, wrong service).
    pub fn has_failed(&self) -> bool {
        self.failed
    }

    /// True once TLS is established.
    pub fn is_tls(&self) -> bool {
        self.conn.is_tls()
    }

    /// True after the peer closed or a fatal error.
    pub fn is_closed(&self) -> bool {
        self.closed
    }

    /// Bytes sent and received so far, TLS overhead excluded.
    pub fn byte_counts(&self) -> (u64, u64) {
        (self.bytes_sent, self.bytes_received)
    }

    /// Capacity of the read buffer in bytes (bounded by the limits).
    pub fn buffer_capacity(&self) -> usize {
        self.conn.buffer_capacity()
    }

    fn now(&self) -> Duration {
        self.start.elapsed()
    }

    async fn emit(&self, event: Event) {
        // A closed receiver means nobody listens any more; the session goes on.
        let _ = self.events.send(event).await;
    }

    async fn finding(&self, finding: Finding, origin: Origin) {
        self.emit(Event::Finding {
            at: self.now(),
            finding,
            origin,
        })
        .await;
    }

    /// Reports `err` as an engine finding of kind `id` and returns it.
    async fn fail(&mut self, id: FindingId, err: SessionError, advice: &str) -> SessionError {
        self.failed = true;
        let stage = self.stage_now();
        let source = match id {
            FindingId::Timeout => "RFC 5321 §4.5.3.2",
            FindingId::LineTooLong | FindingId::ReplyTooLarge => "RFC 5321 §4.5.3.1",
            FindingId::LiteralTooLarge => "RFC 9051 §4.3",
            FindingId::HandshakeFailed => "RFC 8446 §6",
            _ => "",
        };
        let finding = Finding::new(id, Severity::Error, stage, err.to_string(), advice, source);
        self.finding(finding, Origin::Engine).await;
        err
    }

    /// The stage the session is in, for engine findings.
    fn stage_now(&self) -> Stage {
        match self.dialogue.phase() {
            Phase::Greeting => Stage::Greeting,
            Phase::Handshake => Stage::Handshake,
            Phase::Sasl => Stage::Authentication,
            Phase::Data => Stage::Transaction,
            _ => match self.dialogue.awaiting() {
                Some((v, _, _)) if v.asks_capabilities() => Stage::Capabilities,
                Some((Verb::StartTls | Verb::Stls, _, _)) => Stage::Starttls,
                Some((v, _, _)) if v.is_authentication() => Stage::Authentication,
                Some((v, _, _)) if v.is_transaction() => Stage::Transaction,
                Some((Verb::Quit | Verb::Logout, _, _)) => Stage::Close,
                _ => Stage::Command,
            },
        }
    }

    /// The command line with the tag for IMAP: `a1 CAPABILITY`.
    fn tagged(&mut self, line: &str) -> (Option<imap::Tag>, String) {
        if self.protocol() == Protocol::Imap && !self.dialogue.next_line_is_continuation() {
            let tag = self.tags.next_tag();
            let text = format!("{} {line}", tag.0);
            (Some(tag), text)
        } else {
            (None, line.to_string())
        }
    }

    /// Sends `bytes` exactly as given and records them.
    ///
    /// # Errors
    /// [`SessionError::Io`] when the write fails.
    pub async fn send_raw(&mut self, bytes: &[u8]) -> Result<()> {
        if self.closed {
            return Err(SessionError::Closed {
                context: String::new(),
            });
        }
        self.take_unsolicited().await?;
        let at = self.now();
        if let Err(e) = self.conn.write_all(bytes).await {
            self.closed = true;
            let err = SessionError::Io(format!("write failed: {}", describe_io(&e)));
            return Err(self
                .fail(
                    FindingId::ReadFailed,
                    err,
                    "The connection broke while sending: the server or something on the path reset it.",
                )
                .await);
        }
        self.bytes_sent += bytes.len() as u64;
        let (note, findings) = self.dialogue.client(at, bytes);
        let entry = Entry {
            at,
            direction: Direction::Client,
            raw: bytes.to_vec(),
            tls: self.is_tls(),
            note: Box::new(note),
        };
        self.emit(Event::Data(entry)).await;
        for f in findings {
            self.finding(f, Origin::Dialogue).await;
        }
        Ok(())
    }

    /// Before a command is written while none awaits a reply: whatever the
    /// server has already sent cannot answer it. Reads what has arrived
    /// (without waiting) and frames each whole response now, so the
    /// dialogue sees it with nothing pending and reports it as unsolicited
    /// (RFC 5321 §4.1.1, RFC 2920 §3: a server answers only what was
    /// sent), instead of taking it later as this command's reply.
    ///
    /// # Errors
    /// As [`Session::next_response`], when those bytes cannot be framed.
    async fn take_unsolicited(&mut self) -> Result<()> {
        // Not inside a message body either: a server that replies early
        // there (552 mid-DATA) is answering the body, as before.
        if matches!(self.dialogue.phase(), Phase::Greeting | Phase::Data)
            || self.dialogue.awaiting().is_some()
            || self.closed
        {
            return Ok(());
        }
        // A read error is left for the write and the next read to report.
        if let Ok(n) = self.conn.drain_ready().await {
            self.bytes_received += n as u64;
        }
        let mut framed = 0;
        while self.dialogue.awaiting().is_none() && !self.closed {
            // Each is an entry and a finding: a flood of them is cut, as
            // junk is (200,000 extra replies cost 442 MB before).
            if framed >= MAX_JUNK {
                return Err(self.cut_unsolicited_flood(framed).await);
            }
            match self.frame_buffered().await {
                Some(Ok(_)) => framed += 1,
                Some(Err(e)) => return Err(e),
                None => break,
            }
        }
        Ok(())
    }

    /// Ends a session whose server sends reply after reply nobody asked
    /// for: closes the connection and reports it.
    async fn cut_unsolicited_flood(&mut self, count: usize) -> SessionError {
        let held = self.conn.buffered().len();
        let evidence = self.conn.take(held.min(256));
        self.conn.take(held);
        self.conn.shutdown().await;
        self.closed = true;
        self.failed = true;
        let err = SessionError::Protocol(format!(
            "the server sent {count} replies no command asked for; connection closed"
        ));
        let finding = Finding::new(
            FindingId::UnsolicitedReply,
            Severity::Error,
            self.stage_now(),
            err.to_string(),
            "A server answers only what was sent. A stream of replies nobody asked for is a broken or hostile server, or something on the path injecting; the connection was cut to bound memory.",
            "RFC 5321 §4.1.1, RFC 2920 §3",
        )
        .with_evidence(evidence);
        self.finding(finding, Origin::Engine).await;
        self.emit(Event::Closed {
            at: self.now(),
            reason: "connection closed by mailwire: replies nobody asked for without end".into(),
        })
        .await;
        err
    }

    /// Sends one command line (CRLF added; tag added for IMAP).
    /// Returns the tag used, for IMAP.
    ///
    /// # Errors
    /// [`SessionError::Io`] when the write fails.
    pub async fn send_line(&mut self, line: &str) -> Result<Option<imap::Tag>> {
        let (tag, text) = self.tagged(line);
        self.send_raw(format!("{text}\r\n").as_bytes()).await?;
        Ok(tag)
    }

    /// Sequence number of the last command the dialogue saw sent.
    fn last_seq(&self) -> u64 {
        self.dialogue.last_seq()
    }

    /// Frames one response from the buffer, if whole (or the next chunk of
    /// a streamed one). The connection's framers keep their place between
    /// reads, so a big response costs O(n).
    fn parse_buffered(&mut self) -> std::result::Result<Option<Parsed>, protocol::ParseError> {
        if self.conn.buffered().is_empty() {
            return Ok(None);
        }
        let polled = match self.protocol() {
            Protocol::Smtp | Protocol::Lmtp => {
                self.conn.poll_smtp().map(|p| map_polled(p, Response::Smtp))
            }
            Protocol::Imap => self.conn.poll_imap().map(|p| map_polled(p, Response::Imap)),
            Protocol::Pop3 => {
                let expect = self.dialogue.pop3_expect();
                self.conn
                    .poll_pop3(expect)
                    .map(|p| map_polled(p, Response::Pop3))
            }
        }?;
        Ok(match polled {
            Polled::Incomplete => None,
            Polled::Chunk(bytes) => Some(Parsed::Chunk(bytes)),
            Polled::Response { value, raw } => {
                let response = value.unwrap_or_else(|reason| Response::Malformed { reason });
                Some(match raw {
                    Raw::Whole(bytes) => Parsed::Whole(response, bytes),
                    Raw::Streamed(s) => Parsed::Streamed(response, s),
                })
            }
        })
    }

    /// Waits for the next whole response, however long it takes.
    /// Cancel-safe: dropping the future loses no bytes (the TUI selects on it).
    ///
    /// # Errors
    /// [`SessionError::Closed`] on EOF, [`SessionError::Protocol`] when the
    /// stream cannot be framed any more (a line or reply over the limits),
    /// [`SessionError::Ended`] when the bytes are another service's (TLS
    /// records, SSH, HTTP) or the server ended the session; each closes the
    /// session and is reported as a finding.
    pub async fn next_response(&mut self) -> Result<Received> {
        loop {
            if self.closed {
                return Err(SessionError::Closed {
                    context: String::new(),
                });
            }
            if let Some(result) = self.frame_buffered().await {
                return result;
            }
            // Another service on the port announces itself before any line
            // ends (a TLS record has no CRLF at all): say so now, not after
            // a timeout.
            if !self.is_tls()
                && let Some(foreign) = protocol::sniff(self.conn.buffered())
                && matches!(foreign, Foreign::TlsRecord { .. })
            {
                let evidence = self.conn.take(self.conn.buffered().len().min(64));
                let finding = self.foreign_finding(foreign).with_evidence(evidence);
                return Err(self.abandon(finding).await);
            }
            match self.conn.fill().await {
                Ok(Fill::Read(n)) => self.bytes_received += n as u64,
                Ok(Fill::Eof) => {
                    self.closed = true;
                    let held = self.conn.buffered().len();
                    let partial = self.conn.take(held);
                    let context = if held > 0 {
                        format!(
                            " with {held} bytes of an unfinished response: {}",
                            crate::escape::escape_prefix(&partial, 200)
                        )
                    } else {
                        String::new()
                    };
                    let mut findings = self.dialogue.closed(true);
                    if held > 0 {
                        for f in &mut findings {
                            f.evidence = partial.clone();
                        }
                    }
                    for f in findings {
                        self.failed = true;
                        self.finding(f, Origin::Engine).await;
                    }
                    let reason = format!("connection closed by the server{context}");
                    self.emit(Event::Closed {
                        at: self.now(),
                        reason,
                    })
                    .await;
                    return Err(SessionError::Closed { context });
                }
                Err(e) => {
                    self.closed = true;
                    // i9: a TLS alert right after the handshake (116
                    // certificate_required in TLS 1.3) is a TLS failure,
                    // named with its diagnosis; other errors in plain words.
                    let err = match crate::tls::client::alert_after_handshake(&e) {
                        Some(tls) => self.tls_failed(tls).await,
                        None => {
                            let text = crate::tls::client::tls_error_text(&e)
                                .unwrap_or_else(|| describe_io(&e));
                            let err = SessionError::Io(format!("read failed: {text}"));
                            self.fail(
                                FindingId::ReadFailed,
                                err,
                                "The connection broke while reading: reset by the server or by something on the path (firewall, load balancer).",
                            )
                            .await
                        }
                    };
                    self.emit(Event::Closed {
                        at: self.now(),
                        reason: format!("connection lost: {err}"),
                    })
                    .await;
                    return Err(err);
                }
            }
        }
    }

    /// Frames and records the next whole response already buffered, if
    /// any; the chunks of a streamed one are emitted on the way. `None`:
    /// more bytes are needed. Errors as [`Session::next_response`].
    async fn frame_buffered(&mut self) -> Option<Result<Received>> {
        loop {
            let parsed = match self.parse_buffered() {
                Ok(Some(Parsed::Chunk(bytes))) => {
                    // A big response is arriving: its bytes go out as they
                    // come (for a recording), only a preview is kept.
                    self.emit(Event::Chunk {
                        at: self.now(),
                        bytes,
                        tls: self.is_tls(),
                        end: None,
                    })
                    .await;
                    continue;
                }
                Ok(Some(Parsed::Streamed(response, streamed))) => {
                    self.emit(Event::Chunk {
                        at: self.now(),
                        bytes: streamed.last,
                        tls: self.is_tls(),
                        end: Some(StreamEnd {
                            size: streamed.size,
                            sha256: streamed.sha256,
                        }),
                    })
                    .await;
                    Ok(Some((response, streamed.preview)))
                }
                Ok(Some(Parsed::Whole(response, raw))) => Ok(Some((response, raw))),
                Ok(None) => Ok(None),
                Err(e) => Err(e),
            };
            match parsed {
                Ok(Some((response, raw))) => {
                    let note = self.record_response(&response, raw).await;
                    if let Some(f) = self.dialogue.ended().filter(|f| {
                        f.id != FindingId::ServiceClosing
                            || !self
                                .dialogue
                                .awaiting()
                                .is_some_and(|(v, _, _)| *v == Verb::Quit || *v == Verb::Logout)
                    }) {
                        if matches!(f.id, FindingId::WrongService | FindingId::WrongProtocol) {
                            let f = f.clone();
                            return Some(Err(self.abandon(f).await));
                        }
                    }
                    return Some(Ok(Received { response, note }));
                }
                Ok(None) => return None,
                Err(e) => {
                    let held = self.conn.buffered().len();
                    let (id, advice) = match e {
                        protocol::ParseError::LineTooLong { .. } => (
                            FindingId::LineTooLong,
                            "A line this long is no reply: the server is broken or hostile (or this is not a mail port). The connection was cut to bound memory.",
                        ),
                        protocol::ParseError::LiteralTooLarge { .. } => (
                            FindingId::LiteralTooLarge,
                            "The server announced a literal larger than mailwire accepts; raise --max-literal if the data is real.",
                        ),
                        protocol::ParseError::TooManyLines { .. }
                        | protocol::ParseError::ReplyTooLarge { .. }
                        | protocol::ParseError::BodyTooLarge { .. } => (
                            FindingId::ReplyTooLarge,
                            "The server kept sending one response without end (endless 220- continuation lines, a capability list or body that never ends): it is broken or hostile. The connection was cut to bound memory and time.",
                        ),
                    };
                    self.closed = true;
                    let evidence = self.conn.take(held.min(256));
                    self.conn.take(held);
                    self.conn.shutdown().await;
                    // Name what was being answered: "the answer to CAPA exceeds 10000 lines".
                    let answering = match self.dialogue.awaiting() {
                        Some((verb, _, _)) => format!("the answer to {verb}"),
                        None if !self.dialogue.greeted() => "the greeting".to_string(),
                        None => "the server's stream".to_string(),
                    };
                    let err = SessionError::Protocol(format!(
                        "{answering} cannot be framed: {e}; {held} bytes discarded, connection closed"
                    ));
                    self.failed = true;
                    let finding = Finding::new(
                        id,
                        Severity::Error,
                        self.stage_now(),
                        err.to_string(),
                        advice,
                        "RFC 5321 §4.5.3.1",
                    )
                    .with_evidence(evidence);
                    self.finding(finding, Origin::Engine).await;
                    self.emit(Event::Closed {
                        at: self.now(),
                        reason: "connection closed by mailwire: the server's response exceeded the limits".into(),
                    })
                    .await;
                    return Some(Err(err));
                }
            }
        }
    }

    /// The finding for another service recognised on the port.
    fn foreign_finding(&self, foreign: Foreign) -> Finding {
        let me = self.protocol().name().to_ascii_uppercase();
        match foreign {
            Foreign::TlsRecord { content_type, .. } => {
                let (what, secure) = match self.protocol() {
                    Protocol::Smtp | Protocol::Lmtp => ("smtps://", "465"),
                    Protocol::Imap => ("imaps://", "993"),
                    Protocol::Pop3 => ("pop3s://", "995"),
                };
                Finding::new(
                    FindingId::ImplicitTlsPort,
                    Severity::Error,
                    Stage::Greeting,
                    format!(
                        "the server sent a TLS record (content type {content_type}) where a plaintext {me} greeting was expected: this port speaks implicit TLS"
                    ),
                    format!(
                        "Use {what}{}:{} (implicit TLS, usually port {secure}) instead of STARTTLS on this port.",
                        self.config.target.host, self.config.target.port
                    ),
                    "RFC 8314 §3",
                )
            }
            Foreign::Ssh => Finding::new(
                FindingId::WrongService,
                Severity::Error,
                Stage::Greeting,
                format!("this port is an SSH server, not a {me} server"),
                "Check the host and port: the URL points at another service.",
                "RFC 4253 §4.2",
            ),
            Foreign::Http => Finding::new(
                FindingId::WrongService,
                Severity::Error,
                Stage::Greeting,
                format!("this port is an HTTP server, not a {me} server"),
                "Check the host and port: the URL points at another service.",
                "RFC 9112 §4",
            ),
        }
    }

    /// Gives up on a connection that cannot go on: reports `finding` (unless
    /// the dialogue already did), closes, and returns the error.
    async fn abandon(&mut self, finding: Finding) -> SessionError {
        self.failed = true;
        if self.dialogue.ended().map(|f| &f.id) != Some(&finding.id) {
            self.finding(finding.clone(), Origin::Engine).await;
        }
        self.closed = true;
        self.conn.shutdown().await;
        self.emit(Event::Closed {
            at: self.now(),
            reason: format!("closed by mailwire: {}", finding.summary),
        })
        .await;
        SessionError::Ended(Box::new(finding))
    }

    async fn record_response(&mut self, response: &Response, raw: Vec<u8>) -> Note {
        let at = self.now();
        let (note, findings) = self.dialogue.server(at, &raw, response);
        let entry = Entry {
            at,
            direction: Direction::Server,
            raw,
            tls: self.is_tls(),
            note: Box::new(note.clone()),
        };
        match response {
            Response::Malformed { reason } => {
                self.emit(Event::Malformed {
                    entry,
                    reason: reason.clone(),
                })
                .await;
            }
            _ => self.emit(Event::Data(entry)).await,
        }
        for f in findings {
            self.finding(f, Origin::Dialogue).await;
        }
        note
    }

    /// [`Session::next_response`] with the per-response timeout.
    ///
    /// # Errors
    /// As `next_response`, plus [`SessionError::Timeout`] (the session stays open).
    pub async fn read_response(&mut self, what: &str) -> Result<Received> {
        let limit = self.config.timeouts.response;
        match timeout(limit, self.next_response()).await {
            Ok(r) => r,
            Err(_) if self.dialogue.awaiting_continuation() => {
                // A synchronizing literal `{n}` waits for `+` (or a tagged
                // refusal): name that, not "no reply".
                let verb = self
                    .dialogue
                    .awaiting()
                    .map_or_else(|| "the command".to_string(), |(v, _, _)| v.to_string());
                let err = SessionError::Timeout {
                    what: format!("continuation request (+) for the literal {verb} announced"),
                    after: limit,
                };
                self.failed = true;
                let finding = Finding::new(
                    FindingId::Timeout,
                    Severity::Error,
                    self.stage_now(),
                    err.to_string(),
                    "A synchronizing literal {n} must be answered with + (send it) or a tagged NO/BAD (refused). The server did neither: it may not parse literals in this command; a server offering LITERAL+ or LITERAL- accepts {n+} without waiting.",
                    "RFC 9051 §7.5, §4.3",
                );
                self.finding(finding, Origin::Engine).await;
                Err(err)
            }
            Err(_) => {
                let err = SessionError::Timeout {
                    what: what.to_string(),
                    after: limit,
                };
                Err(self
                    .fail(
                        FindingId::Timeout,
                        err,
                        "The server stopped answering. Some servers delay the greeting on purpose (greylisting, tarpitting); raise --timeout to wait longer, or check the server's load and logs.",
                    )
                    .await)
            }
        }
    }

    /// Reads the greeting (banner). IMAP `PREAUTH` is reported: STARTTLS is
    /// then impossible (RFC 9051 §7.1.4, RFC 2595 §3.1).
    ///
    /// # Errors
    /// Timeout or close before a greeting; [`SessionError::Ended`] when the
    /// greeting refuses service (SMTP 554/421, IMAP `* BYE`, POP3 `-ERR`).
    pub async fn greeting(&mut self) -> Result<Response> {
        // Skipped junk (empty lines) is not a greeting. Each junk line is an
        // entry and a finding kept by every consumer, and each resets the
        // per-response timeout, so the count is the bound: a server that
        // sends 100 junk lines before its greeting is no mail server (an
        // endless flood of empty lines grew `check` to 240 MB at 10,000).
        for _ in 0..MAX_JUNK {
            let received = self.read_response("greeting").await?;
            if let Some(f) = self.dialogue.ended() {
                self.failed = true;
                return Err(SessionError::Ended(Box::new(f.clone())));
            }
            if received.note.outcome != Outcome::Junk {
                return Ok(received.response);
            }
        }
        let err = SessionError::Protocol(format!("no greeting after {MAX_JUNK} lines of junk"));
        Err(self
            .fail(
                FindingId::JunkLine,
                err,
                "The server sends lines in no protocol's syntax instead of a greeting: it is broken or hostile, or this is not a mail port.",
            )
            .await)
    }

    /// Sends `line` and reads until its completion: one SMTP reply, one POP3
    /// response, or the IMAP tagged response (untagged ones included), or an
    /// intermediate reply (`334`, `354`, `+`) that asks for more.
    ///
    /// # Errors
    /// Write failure, timeout, close, or [`SessionError::Ended`] when the
    /// server ends the session meanwhile (`421`, `* BYE`).
    pub async fn command(&mut self, line: &str) -> Result<Vec<Response>> {
        Ok(self
            .exchange(line)
            .await?
            .into_iter()
            .map(|r| r.response)
            .collect())
    }

    /// [`Session::command`], returning each response with its note.
    ///
    /// # Errors
    /// As [`Session::command`].
    pub async fn exchange(&mut self, line: &str) -> Result<Vec<Received>> {
        self.send_line(line).await?;
        let seq = self.last_seq();
        let verb = line.split_whitespace().next().unwrap_or(line).to_string();
        self.read_completion(seq, &verb).await
    }

    async fn read_completion(&mut self, seq: u64, verb: &str) -> Result<Vec<Received>> {
        let what = format!("reply to {verb}");
        let mut out = Vec::new();
        // Bounded: a server streaming untagged data forever still hits the
        // limit here, and the timeout per response.
        let mut junk = 0;
        for _ in 0..100_000 {
            let received = self.read_response(&what).await?;
            // Junk (empty lines, text in no protocol's syntax) answers
            // nothing and resets the timeout; every line of it is kept as an
            // entry and a finding, so a flood of it is cut here, not after
            // 100,000 entries (220 MB in `check`).
            if received.note.outcome == Outcome::Junk {
                junk += 1;
                if junk >= MAX_JUNK {
                    let err = SessionError::Protocol(format!(
                        "no reply to {verb} after {junk} lines of junk"
                    ));
                    return Err(self
                        .fail(
                            FindingId::JunkLine,
                            err,
                            "The server sends lines in no protocol's syntax instead of replies: it is broken or hostile, or this is not a mail port. The connection was cut to bound memory.",
                        )
                        .await);
                }
            }
            let answers_this = received.note.answers.as_ref().is_some_and(|a| a.seq == seq);
            let done = answers_this
                && (received.note.completes
                    || matches!(
                        received.note.outcome,
                        Outcome::Intermediate | Outcome::Continuation
                    ));
            // A session the server ended (SMTP 421, `* BYE`) is over even
            // when the ending reply is the one that answers this command:
            // nothing sent after it will be answered (RFC 5321 §3.8,
            // RFC 9051 §7.1.5). The goodbye's own answer is not an ending.
            let goodbye = verb.eq_ignore_ascii_case("QUIT") || verb.eq_ignore_ascii_case("LOGOUT");
            let ended = self.dialogue.ended().cloned().filter(|_| !goodbye);
            out.push(received);
            if done && ended.is_none() {
                return Ok(out);
            }
            if let Some(f) = ended {
                self.failed = true;
                return Err(SessionError::Ended(Box::new(f)));
            }
        }
        let err =
            SessionError::Protocol(format!("no completion for {verb} after 100000 responses"));
        Err(self
            .fail(
                FindingId::ReplyTooLarge,
                err,
                "The server kept sending data without completing the command.",
            )
            .await)
    }

    /// Asks for capabilities the protocol's way: SMTP `EHLO` (LMTP `LHLO`),
    /// IMAP `CAPABILITY`, POP3 `CAPA`.
    ///
    /// # Errors
    /// As [`Session::command`].
    pub async fn ask_capabilities(&mut self) -> Result<Vec<Response>> {
        let line = command::capability_line(self.protocol(), &self.ehlo);
        self.command(&line).await
    }

    /// SMTP: `HELO name`, the fallback when EHLO is refused (RFC 5321 §3.2).
    ///
    /// # Errors
    /// As [`Session::command`].
    pub async fn helo(&mut self) -> Result<Vec<Response>> {
        let line = format!("HELO {}", self.ehlo);
        self.command(&line).await
    }

    /// True when the known capabilities offer the upgrade verb.
    pub fn starttls_offered(&self) -> bool {
        self.dialogue.starttls_offered().unwrap_or(false)
    }

    /// STARTTLS (SMTP RFC 3207, IMAP RFC 2595 §3.1 / RFC 9051 §6.2.1) or
    /// STLS (POP3 RFC 2595 §4), then the handshake on a positive reply.
    ///
    /// Bytes that arrive after the positive reply and before the handshake
    /// are reported as injected and discarded, never fed to TLS: a man in
    /// the middle may have injected them (CVE-2011-0411 class).
    ///
    /// # Errors
    /// Write failure, timeout or close while waiting for the reply.
    pub async fn starttls(&mut self) -> Result<StartTls> {
        let verb = command::starttls_verb(self.protocol());
        let (_, line) = self.tagged(verb.as_str());
        self.starttls_line(format!("{line}\r\n").as_bytes()).await
    }

    /// [`Session::starttls`] with the command line given whole (tag and
    /// CRLF included), as client replay sends a recorded `a2 STARTTLS`.
    ///
    /// # Errors
    /// As [`Session::starttls`].
    pub async fn starttls_line(&mut self, line: &[u8]) -> Result<StartTls> {
        let verb = command::starttls_verb(self.protocol());
        self.send_raw(line).await?;
        let seq = self.last_seq();
        let responses: Vec<Response> = self
            .read_completion(seq, verb.as_str())
            .await?
            .into_iter()
            .map(|r| r.response)
            .collect();
        let Some(last) = responses.last().cloned() else {
            return Err(SessionError::Protocol(format!("no reply to {verb}")));
        };
        if self.dialogue.phase() != Phase::Handshake {
            return Ok(StartTls::Refused(last));
        }
        match self.upgrade(false).await {
            Ok(tls) => Ok(StartTls::Upgraded(tls)),
            Err(e) if e.is_tls_failure() => Ok(StartTls::HandshakeFailed(e)),
            Err(e) => Err(e),
        }
    }

    /// i9 (`check --scan`): sends STARTTLS/STLS and, on the server's
    /// go-ahead, hands back the plaintext stream so a probe can send its own
    /// ClientHello. Bytes after the go-ahead are dropped, never fed to TLS.
    ///
    /// # Errors
    /// Write failure, timeout, close, or [`SessionError::Protocol`] when the
    /// server refuses the upgrade.
    pub async fn into_starttls_stream(mut self) -> Result<S> {
        let verb = command::starttls_verb(self.protocol());
        self.command(verb.as_str()).await?;
        if self.dialogue.phase() != Phase::Handshake {
            return Err(SessionError::Protocol(format!("the server refused {verb}")));
        }
        self.conn
            .take_plain()
            .map(|(stream, _)| stream)
            .ok_or_else(|| SessionError::Protocol("TLS is already active".into()))
    }

    /// i9: reports a failed handshake: its diagnosis (alert, offer, what
    /// the server chose, legacy-only server, client certificate, ...) as
    /// engine findings, or one `handshake_failed` for other TLS errors.
    async fn tls_failed(&mut self, e: TlsError) -> SessionError {
        match &e {
            TlsError::Handshake(failure) => {
                self.failed = true;
                // i9: the chain the server sent is evidence even when the
                // handshake was aborted (`--strict`) or ended by an alert.
                if let Some(chain) = &failure.chain {
                    self.emit(Event::TlsFailed(Box::new(TlsFailed {
                        at: self.now(),
                        reason: match failure.cause {
                            // The verdict is shown beside it; no need to repeat it.
                            FailureCause::CertificateRejected => {
                                "mailwire aborted it (--strict): the chain is untrusted".into()
                            }
                            _ => failure.sentence(),
                        },
                        verdict: failure.verification.clone(),
                        chain_der: failure.chain_der.clone(),
                        chain: chain.clone(),
                    })))
                    .await;
                }
                for f in failure.findings.clone() {
                    self.finding(f, Origin::Engine).await;
                }
                e.into()
            }
            TlsError::Config(_) => {
                self.fail(
                    FindingId::HandshakeFailed,
                    e.into(),
                    "Fix the TLS options (--ca-file, --ca-path, --cert/--key, --servername, --tls-version).",
                )
                .await
            }
        }
    }

    async fn upgrade(&mut self, implicit: bool) -> Result<Box<TlsEstablished>> {
        if !implicit {
            // Catch injected bytes that already arrived in a later segment too.
            let _ = self.conn.drain_ready().await;
        }
        let Some((stream, leftover)) = self.conn.take_plain() else {
            return Err(SessionError::Protocol("TLS is already active".into()));
        };
        if !leftover.is_empty() {
            // Kept as received plaintext, marked as injected: the evidence.
            let at = self.now();
            let (note, findings) = self.dialogue.injected(&leftover);
            self.emit(Event::Data(Entry {
                at,
                direction: Direction::Server,
                raw: leftover,
                tls: false,
                note: Box::new(note),
            }))
            .await;
            for f in findings {
                self.finding(f, Origin::Dialogue).await;
            }
        }
        // i9: the trust store is read inside tls (given roots per connection,
        // the OS store at most once per process and only when needed).
        let client = match Client::new(&self.config.tls, &self.config.target.host) {
            Ok(c) => c,
            Err(e) => {
                self.closed = true;
                return Err(self.tls_failed(e).await);
            }
        };
        let handshake = timeout(self.config.timeouts.handshake, client.handshake(stream)).await;
        let established = match handshake {
            Ok(Ok(e)) => e,
            Ok(Err(e)) => {
                self.closed = true;
                self.dialogue.tls_failed();
                let err = self.tls_failed(e).await;
                self.emit(Event::Closed {
                    at: self.now(),
                    reason: "TLS handshake failed".into(),
                })
                .await;
                return Err(err);
            }
            Err(_) => {
                self.closed = true;
                self.dialogue.tls_failed();
                let err = SessionError::Timeout {
                    what: HANDSHAKE.into(),
                    after: self.config.timeouts.handshake,
                };
                let err = self
                    .fail(
                        FindingId::Timeout,
                        err,
                        "The server accepted the upgrade but never completed the handshake: a TLS-intercepting middlebox or a broken TLS setup.",
                    )
                    .await;
                self.emit(Event::Closed {
                    at: self.now(),
                    reason: "TLS handshake timed out".into(),
                })
                .await;
                return Err(err);
            }
        };
        let tls = Box::new(TlsEstablished {
            at: self.now(),
            summary: established.summary,
            verdict: established.verdict,
            chain_der: established.chain_der,
            chain: established.chain,
        });
        self.conn.set_tls(established.stream);
        // RFC 3207 §4.2 / RFC 2595 §3.1: forget everything learnt before TLS.
        let findings = self.dialogue.tls(&tls);
        self.emit(Event::Tls(tls.clone())).await;
        for f in findings {
            self.finding(f, Origin::Dialogue).await;
        }
        // i9: a client-certificate request, SSLKEYLOGFILE.
        for f in crate::tls::client::session_findings(&tls.summary) {
            self.finding(f, Origin::Engine).await;
        }
        Ok(tls)
    }

    /// Polite goodbye: SMTP `QUIT`, IMAP `LOGOUT`, POP3 `QUIT`; then close.
    /// After a failed step the reply is awaited for at most 2 s: the server
    /// that just timed out or refused is not given another full timeout.
    pub async fn quit(&mut self) {
        if self.closed {
            return;
        }
        let verb = command::quit_verb(self.protocol());
        let wait = if self.failed || self.dialogue.ended().is_some() {
            self.config.timeouts.response.min(Duration::from_secs(2))
        } else {
            self.config.timeouts.response
        };
        let saved = self.config.timeouts.response;
        self.config.timeouts.response = wait;
        let answered = self.command(verb.as_str()).await.is_ok();
        self.config.timeouts.response = saved;
        let mut kept_open = false;
        if answered && !self.closed {
            kept_open = !self.await_close(wait.min(QUIT_CLOSE_WAIT)).await;
            if kept_open {
                let finding = Finding::new(
                    FindingId::NoCloseAfterQuit,
                    Severity::Info,
                    Stage::Close,
                    format!(
                        "the server answered {verb} but did not close the connection (still open, or still sending, after up to {} ms); mailwire closed it",
                        wait.min(QUIT_CLOSE_WAIT).as_millis()
                    ),
                    "After answering QUIT (LOGOUT) the server should close the connection itself. Clients close too, so mail flows, but a server that leaves sessions open ties up its connection slots.",
                    match self.protocol() {
                        Protocol::Smtp | Protocol::Lmtp => "RFC 5321 §4.1.1.10",
                        Protocol::Imap => "RFC 9051 §6.1.3",
                        Protocol::Pop3 => "RFC 1939 §6",
                    },
                );
                // An unfinished line sent after the goodbye is evidence too.
                let held = self.conn.buffered().len();
                let finding = finding.with_evidence(self.conn.take(held.min(256)));
                self.finding(finding, Origin::Engine).await;
            }
        }
        if !self.closed {
            self.conn.shutdown().await;
            self.closed = true;
            self.emit(Event::Closed {
                at: self.now(),
                reason: if kept_open {
                    format!("closed by mailwire: the server kept the connection open after answering {verb}")
                } else if answered {
                    format!("closed after {verb}")
                } else {
                    format!("closed by mailwire after {verb} got no reply")
                },
            })
            .await;
        }
    }

    /// After the goodbye was answered: waits up to `limit` for the server
    /// to close, recording whatever it still sends (framed, so the dialogue
    /// reports it as unsolicited). True when the server closed (EOF or a
    /// broken connection), false when it was still open at `limit`.
    async fn await_close(&mut self, limit: Duration) -> bool {
        let deadline = Instant::now() + limit;
        // Bounded in time and in responses: a server that keeps sending
        // after its goodbye is never read for longer than `limit`.
        let mut framed = 0;
        loop {
            while !self.closed && framed < MAX_JUNK {
                match self.frame_buffered().await {
                    Some(Ok(_)) => framed += 1,
                    Some(Err(_)) => return true,
                    None => break,
                }
            }
            if self.closed {
                return true;
            }
            if framed >= MAX_JUNK || Instant::now() >= deadline {
                return false;
            }
            match tokio::time::timeout_at(deadline, self.conn.fill()).await {
                Ok(Ok(Fill::Read(n))) => self.bytes_received += n as u64,
                // A close without TLS close_notify is a close too.
                Ok(Ok(Fill::Eof) | Err(_)) => return true,
                Err(_) => return false,
            }
        }
    }

    /// Closes without a goodbye.
    pub async fn close(&mut self) {
        if !self.closed {
            self.conn.shutdown().await;
            self.closed = true;
            self.dialogue.closed(false);
            self.emit(Event::Closed {
                at: self.now(),
                reason: "closed by the operator".into(),
            })
            .await;
        }
    }

    /// Runs commands from `commands` while reading responses as they come.
    /// Returns when the connection closes or the command channel is dropped.
    /// A greeting or reply that takes longer than the response timeout is
    /// reported once as a `timeout` finding; the session stays open (the
    /// operator decides), except during IDLE, where waiting is the point.
    pub async fn run(mut self, mut commands: mpsc::Receiver<Command>) {
        let limit = self.config.timeouts.response;
        let mut reported: Option<(u64, bool)> = None;
        loop {
            if self.closed {
                return;
            }
            // What is awaited, and since when: the greeting, or the oldest command.
            let awaited = match self.dialogue.phase() {
                Phase::Greeting => Some((0, Duration::ZERO, "greeting".to_string())),
                Phase::Idle | Phase::Ended | Phase::Handshake => None,
                _ => self
                    .dialogue
                    .awaiting_seq()
                    .filter(|(_, verb, _)| **verb != Verb::Idle)
                    .map(|(seq, verb, at)| (seq, at, format!("reply to {verb}"))),
            };
            let deadline = awaited
                .as_ref()
                .filter(|(seq, _, _)| reported != Some((*seq, true)))
                .map(|(_, at, _)| self.start + *at + limit);
            tokio::select! {
                cmd = commands.recv() => match cmd {
                    None | Some(Command::Close) => {
                        self.close().await;
                        return;
                    }
                    Some(Command::Send { bytes, tagged }) => {
                        let continuation = self.dialogue.next_line_is_continuation();
                        let bytes = if tagged && self.protocol() == Protocol::Imap && !continuation {
                            let tag = self.tags.next_tag();
                            [format!("{} ", tag.0).into_bytes(), bytes].concat()
                        } else {
                            bytes
                        };
                        let _ = self.send_raw(&bytes).await;
                    }
                    Some(Command::StartTls) => {
                        let _ = self.starttls().await;
                    }
                },
                response = self.next_response() => {
                    if response.is_err() {
                        return;
                    }
                }
                _ = sleep_until_opt(deadline) => {
                    if let Some((seq, _, what)) = awaited {
                        reported = Some((seq, true));
                        let err = SessionError::Timeout { what, after: limit };
                        let _ = self
                            .fail(
                                FindingId::Timeout,
                                err,
                                "The server has not answered within --timeout. Keep waiting, send another command, or quit; some servers delay on purpose (greylisting, tarpitting).",
                            )
                            .await;
                    }
                }
            }
        }
    }
}

/// Sleeps until `deadline`, or forever when there is none.
async fn sleep_until_opt(deadline: Option<Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}

/// A connect error in plain words (never the library's Debug text).
fn describe_connect_error(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::ConnectionRefused => {
            "connection refused (nothing listens on that port)".into()
        }
        std::io::ErrorKind::TimedOut => "timed out".into(),
        std::io::ErrorKind::HostUnreachable => "host unreachable".into(),
        std::io::ErrorKind::NetworkUnreachable => "network unreachable".into(),
        std::io::ErrorKind::AddrNotAvailable => "address not available".into(),
        _ => {
            let text = e.to_string();
            if text.contains("failed to lookup address")
                || text.contains("Name or service not known")
            {
                "the host name does not resolve (no such host in DNS)".into()
            } else {
                describe_io(e)
            }
        }
    }
}

fn connect_advice(e: &std::io::Error) -> &'static str {
    match e.kind() {
        std::io::ErrorKind::ConnectionRefused => {
            "The host answered but nothing listens there: check the port, and that the server runs and listens on this address."
        }
        _ => "Check the host name and port, DNS, and whether a firewall blocks the connection.",
    }
}

/// An I/O error as a sentence: the OS message without `(os error N)`.
pub fn describe_io(e: &std::io::Error) -> String {
    let text = e.to_string();
    match text.find(" (os error") {
        Some(i) => text[..i].to_lowercase(),
        None => text,
    }
}

/// Connects and runs the engine on its own task; the UI keeps the handle.
/// Events start with `Connected` (or an `Error` when the connection fails).
pub fn spawn(config: SessionConfig) -> SessionHandle {
    let (cmd_tx, cmd_rx) = mpsc::channel(64);
    let (ev_tx, ev_rx) = mpsc::channel(1024);
    tokio::spawn(async move {
        let events = ev_tx.clone();
        match Session::connect(config, ev_tx).await {
            Ok(session) => session.run(cmd_rx).await,
            Err(e) => {
                let _ = events
                    .send(Event::Closed {
                        at: Duration::ZERO,
                        reason: e.to_string(),
                    })
                    .await;
            }
        }
    });
    SessionHandle {
        commands: cmd_tx,
        events: ev_rx,
    }
}

/// What [`Session::parse_buffered`] found.
enum Parsed {
    /// The next bytes of a streamed response.
    Chunk(Vec<u8>),
    /// A whole response and its bytes.
    Whole(Response, Vec<u8>),
    /// The end of a streamed response: its value (body as a preview) and
    /// what the connection kept of its bytes.
    Streamed(Response, crate::session::connection::Streamed),
}

fn map_polled<T>(p: Polled<T>, f: impl FnOnce(T) -> Response) -> Polled<Response> {
    match p {
        Polled::Incomplete => Polled::Incomplete,
        Polled::Chunk(bytes) => Polled::Chunk(bytes),
        Polled::Response { value, raw } => Polled::Response {
            value: value.map(f),
            raw,
        },
    }
}

/// Opens TCP to `target`, keeping only the addresses of the family `ip`
/// allows (`-4`/`-6`); each is tried in the resolver's order until one
/// accepts. The caller bounds the whole by the connect timeout.
///
/// # Errors
/// The name does not resolve, resolves to no address of that family, or
/// no address accepts the connection (the last address's error).
pub async fn connect_tcp(target: &Target, ip: IpVersion) -> std::io::Result<TcpStream> {
    let authority = target.authority();
    if ip == IpVersion::Any {
        return TcpStream::connect(authority.as_str()).await;
    }
    let mut last = std::io::Error::new(
        std::io::ErrorKind::NotFound,
        format!("{} has no {} address", target.host, ip.label()),
    );
    for addr in tokio::net::lookup_host(authority.as_str()).await? {
        if !ip.allows(addr.ip()) {
            continue;
        }
        match TcpStream::connect(addr).await {
            Ok(stream) => return Ok(stream),
            Err(e) => last = e,
        }
    }
    Err(last)
}

/// The EHLO name used when `--ehlo` is not given: this machine's fully
/// qualified name (as swaks does), else an address literal such as
/// `[127.0.0.1]` (RFC 5321 §4.1.4: "if the client has no meaningful domain name").
pub fn default_ehlo(local: Option<SocketAddr>) -> String {
    if let Some(fqdn) = fqdn() {
        return fqdn;
    }
    match local.map(|a| a.ip()) {
        Some(std::net::IpAddr::V4(a)) => format!("[{a}]"),
        Some(std::net::IpAddr::V6(a)) => format!("[IPv6:{a}]"),
        None => "[127.0.0.1]".to_string(),
    }
}

/// This host's name if it has a dot, or the first dotted alias of it in
/// `/etc/hosts` (what `hostname -f` finds on a typical Linux box).
fn fqdn() -> Option<String> {
    let short = gethostname::gethostname()
        .to_string_lossy()
        .trim()
        .to_string();
    if short.is_empty() {
        return None;
    }
    let usable =
        |n: &str| n.contains('.') && !n.starts_with("localhost") && !n.ends_with(".localdomain");
    if usable(&short) {
        return Some(short);
    }
    let hosts = std::fs::read_to_string("/etc/hosts").ok()?;
    hosts
        .lines()
        .map(|l| l.split('#').next().unwrap_or_default())
        .filter(|l| {
            l.split_whitespace()
                .skip(1)
                .any(|n| n == short || n.split('.').next() == Some(short.as_str()))
        })
        .flat_map(|l| {
            l.split_whitespace()
                .skip(1)
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .find(|n| usable(n) && n.split('.').next() == Some(short.as_str()))
}

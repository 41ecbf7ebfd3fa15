//! The session engine: connects, frames responses, upgrades with
//! STARTTLS/STLS or implicit TLS, and reports every step as an [`Event`].
//!
//! Used two ways: driven step by step by `check` ([`Session::command`],
//! [`Session::starttls`]), or as a task owned by the TUI ([`spawn`]) that
//! reads responses as they arrive and runs [`Command`]s from a channel.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio::time::{Instant, timeout};

use super::connection::{Connection, Fill};
use super::{Direction, Entry, Event, TlsEstablished};
use crate::cert::ChainReport;
use crate::protocol::{self, Capability, Frame, Limits, imap, pop3, smtp};
use crate::target::{Protocol, Target, TlsMode};
use crate::tls::ClientOptions;
use crate::tls::client::{Client, TlsError, root_store};

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
        }
    }
}

/// What the UI asks the engine to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Send bytes exactly as given (the caller adds CRLF). With `tagged`
    /// (IMAP only) the engine prefixes the next tag and a space.
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

/// A framed server response of any of the three protocols.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Response {
    Smtp(smtp::Reply),
    Imap(imap::Response),
    Pop3(pop3::Response),
    /// Did not follow the protocol; shown as is.
    Malformed {
        reason: String,
    },
}

impl Response {
    /// Positive completion in the protocol's terms: SMTP 2xx/3xx, IMAP OK
    /// or PREAUTH, POP3 `+OK`.
    pub fn is_positive(&self) -> bool {
        match self {
            Response::Smtp(r) => (200..400).contains(&r.code.0),
            Response::Imap(imap::Response::Tagged { status, .. }) => *status == imap::Status::Ok,
            Response::Imap(imap::Response::Untagged { status, .. }) => {
                matches!(status, Some(imap::Status::Ok | imap::Status::PreAuth))
            }
            Response::Imap(imap::Response::Continuation { .. }) => true,
            Response::Pop3(pop3::Response::Status { status, .. }) => *status == pop3::Status::Ok,
            Response::Pop3(pop3::Response::Continuation { .. }) => true,
            Response::Malformed { .. } => false,
        }
    }
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
    /// POP3 framing depends on the command: one expectation per line sent.
    pop3_expect: VecDeque<pop3::Expect>,
    /// Upper-cased verb of the last command sent, to spot capability replies.
    last_verb: VecDeque<String>,
    ehlo: String,
    capabilities: Vec<Capability>,
    closed: bool,
    /// The first response (greeting) has arrived; it answers no command.
    greeted: bool,
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
            TcpStream::connect(authority.as_str()),
        )
        .await;
        let at = start.elapsed();
        let stream = match connect {
            Ok(Ok(s)) => s,
            Ok(Err(e)) => {
                let err = SessionError::Connect {
                    target: authority,
                    reason: e.to_string(),
                };
                let _ = events
                    .send(Event::Error {
                        at,
                        message: err.to_string(),
                    })
                    .await;
                return Err(err);
            }
            Err(_) => {
                let err = SessionError::Timeout {
                    what: format!("TCP connection to {authority}"),
                    after: config.timeouts.connect,
                };
                let _ = events
                    .send(Event::Error {
                        at,
                        message: err.to_string(),
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
        let mut session = Session::over_at(stream, config, events, start, local);
        if session.config.target.tls == TlsMode::Implicit {
            session.upgrade().await?;
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
            conn: Connection::new(stream, config.limits),
            config,
            events,
            start,
            tags: imap::TagGenerator::default(),
            pop3_expect: VecDeque::new(),
            last_verb: VecDeque::new(),
            ehlo,
            capabilities: Vec::new(),
            closed: false,
            greeted: false,
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
        &self.capabilities
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

    async fn warn(&self, message: String) {
        self.emit(Event::Warning {
            at: self.now(),
            message,
        })
        .await;
    }

    async fn fail(&mut self, err: SessionError) -> SessionError {
        self.emit(Event::Error {
            at: self.now(),
            message: err.to_string(),
        })
        .await;
        err
    }

    /// The command line with the tag for IMAP: `a1 CAPABILITY`.
    fn tagged(&mut self, line: &str) -> (Option<imap::Tag>, String) {
        if self.protocol() == Protocol::Imap {
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
        let first_line = bytes.split(|&b| b == b'\n').next().unwrap_or_default();
        let text = String::from_utf8_lossy(first_line);
        let text = text.trim_end_matches('\r');
        // POP3 framing is decided per line sent; a message body never goes to POP3.
        for line in bytes.split_inclusive(|&b| b == b'\n') {
            let line = String::from_utf8_lossy(line);
            let line = line.trim_end_matches(['\r', '\n']);
            if self.protocol() == Protocol::Pop3 {
                self.pop3_expect.push_back(pop3::Expect::for_command(line));
            }
        }
        let verb = match self.protocol() {
            Protocol::Imap => text
                .split_whitespace()
                .nth(1)
                .unwrap_or_default()
                .to_ascii_uppercase(),
            _ => text
                .split_whitespace()
                .next()
                .unwrap_or_default()
                .to_ascii_uppercase(),
        };
        self.last_verb.push_back(verb);
        if self.last_verb.len() > 64 {
            self.last_verb.pop_front();
        }
        let entry = Entry {
            at: self.now(),
            direction: Direction::Client,
            raw: bytes.to_vec(),
            tls: self.is_tls(),
        };
        if let Err(e) = self.conn.write_all(bytes).await {
            self.closed = true;
            let err = SessionError::Io(format!("write failed: {e}"));
            return Err(self.fail(err).await);
        }
        self.bytes_sent += bytes.len() as u64;
        self.emit(Event::Data(entry)).await;
        Ok(())
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

    /// Parses one response from the buffer, if whole.
    fn parse_buffered(&mut self) -> std::result::Result<Option<(Response, Vec<u8>)>, String> {
        let limits = self.config.limits;
        let buf = self.conn.buffered();
        if buf.is_empty() {
            return Ok(None);
        }
        let frame = match self.protocol() {
            Protocol::Smtp | Protocol::Lmtp => {
                map_frame(smtp::parse_reply(buf, &limits), Response::Smtp)
            }
            Protocol::Imap => map_frame(imap::parse_response(buf, &limits), Response::Imap),
            Protocol::Pop3 => {
                let expect = match self.pop3_expect.front() {
                    Some(e) if self.greeted => *e,
                    _ => pop3::Expect::Single,
                };
                map_frame(pop3::parse_response(buf, expect, &limits), Response::Pop3)
            }
        }
        .map_err(|e| e.to_string())?;
        match frame {
            Frame::Incomplete => Ok(None),
            Frame::Complete { value, len } => Ok(Some((value, self.conn.take(len)))),
            Frame::Malformed { len, reason } => {
                Ok(Some((Response::Malformed { reason }, self.conn.take(len))))
            }
        }
    }

    /// Waits for the next whole response, however long it takes.
    /// Cancel-safe: dropping the future loses no bytes (the TUI selects on it).
    ///
    /// # Errors
    /// [`SessionError::Closed`] on EOF, [`SessionError::Protocol`] when the
    /// stream cannot be framed any more (e.g. a line over the limit); both
    /// close the session and are reported as events.
    pub async fn next_response(&mut self) -> Result<Response> {
        loop {
            if self.closed {
                return Err(SessionError::Closed {
                    context: String::new(),
                });
            }
            match self.parse_buffered() {
                Ok(Some((response, raw))) => {
                    self.record_response(&response, raw).await;
                    return Ok(response);
                }
                Ok(None) => {}
                Err(reason) => {
                    self.closed = true;
                    let held = self.conn.buffered().len();
                    let err = SessionError::Protocol(format!(
                        "server stream cannot be framed: {reason}; {held} bytes discarded, connection closed"
                    ));
                    self.conn.take(held);
                    self.conn.shutdown().await;
                    return Err(self.fail(err).await);
                }
            }
            match self.conn.fill().await {
                Ok(Fill::Read(n)) => self.bytes_received += n as u64,
                Ok(Fill::Eof) => {
                    self.closed = true;
                    let held = self.conn.buffered().len();
                    let context = if held > 0 {
                        let partial = self.conn.take(held);
                        format!(
                            " with {held} bytes of an unfinished response: {}",
                            crate::escape::escape_bytes(&partial)
                        )
                    } else {
                        String::new()
                    };
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
                    let err = SessionError::Io(format!("read failed: {e}"));
                    return Err(self.fail(err).await);
                }
            }
        }
    }

    async fn record_response(&mut self, response: &Response, raw: Vec<u8>) {
        let entry = Entry {
            at: self.now(),
            direction: Direction::Server,
            raw,
            tls: self.is_tls(),
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
        if self.protocol() == Protocol::Pop3 && self.greeted {
            self.pop3_expect.pop_front();
        }
        let is_final = match response {
            Response::Imap(imap::Response::Tagged { .. }) => true,
            Response::Imap(_) => false,
            _ => true,
        };
        let verb = if !self.greeted {
            self.greeted = true;
            None
        } else if is_final {
            self.last_verb.pop_front()
        } else {
            self.last_verb.front().cloned()
        };
        let caps = match response {
            Response::Smtp(reply)
                if matches!(verb.as_deref(), Some("EHLO" | "LHLO")) && reply.code.0 == 250 =>
            {
                Some(smtp::ehlo_capabilities(reply))
            }
            Response::Imap(r) => imap::capabilities(r),
            Response::Pop3(r @ pop3::Response::Status { body: Some(_), .. })
                if verb.as_deref() == Some("CAPA") =>
            {
                Some(pop3::capa(r))
            }
            _ => None,
        };
        if let Some(list) = caps {
            self.capabilities = list.clone();
            self.emit(Event::Capabilities {
                at: self.now(),
                after_tls: self.is_tls(),
                list,
            })
            .await;
        }
    }

    /// [`Session::next_response`] with the per-response timeout.
    ///
    /// # Errors
    /// As `next_response`, plus [`SessionError::Timeout`] (the session stays open).
    pub async fn read_response(&mut self, what: &str) -> Result<Response> {
        let limit = self.config.timeouts.response;
        match timeout(limit, self.next_response()).await {
            Ok(r) => r,
            Err(_) => {
                let err = SessionError::Timeout {
                    what: what.to_string(),
                    after: limit,
                };
                Err(self.fail(err).await)
            }
        }
    }

    /// Reads the greeting (banner). IMAP `PREAUTH` is noted: STARTTLS is
    /// then impossible (RFC 9051 §7.1.4, RFC 2595 §3.1).
    ///
    /// # Errors
    /// Timeout or close before a greeting.
    pub async fn greeting(&mut self) -> Result<Response> {
        let response = self.read_response("greeting").await?;
        if let Response::Imap(imap::Response::Untagged {
            status: Some(imap::Status::PreAuth),
            ..
        }) = &response
        {
            self.warn(
                "PREAUTH greeting: the session is already authenticated, so STARTTLS cannot be used (RFC 2595 §3.1)"
                    .into(),
            )
            .await;
        }
        Ok(response)
    }

    /// Sends `line` and reads until its completion: one SMTP reply, one POP3
    /// response, or the IMAP tagged response (untagged ones included).
    ///
    /// # Errors
    /// Write failure, timeout or close.
    pub async fn command(&mut self, line: &str) -> Result<Vec<Response>> {
        let tag = self.send_line(line).await?;
        self.read_completion(tag.as_ref(), line).await
    }

    async fn read_completion(
        &mut self,
        tag: Option<&imap::Tag>,
        line: &str,
    ) -> Result<Vec<Response>> {
        let what = format!(
            "reply to {}",
            line.split_whitespace().next().unwrap_or(line)
        );
        let mut out = Vec::new();
        // Bounded: a server streaming untagged data forever still hits the timeout per response.
        for _ in 0..100_000 {
            let response = self.read_response(&what).await?;
            let done = match (&response, tag) {
                (Response::Imap(imap::Response::Tagged { tag: t, .. }), Some(want)) => t == want,
                (
                    Response::Imap(imap::Response::Untagged {
                        status: Some(imap::Status::Bye),
                        ..
                    }),
                    _,
                ) => false,
                (Response::Imap(imap::Response::Continuation { .. }), _) => true,
                (Response::Imap(_), _) | (Response::Malformed { .. }, Some(_)) => false,
                _ => true,
            };
            out.push(response);
            if done {
                return Ok(out);
            }
        }
        Err(self
            .fail(SessionError::Protocol(format!(
                "no completion for {line} after 100000 responses"
            )))
            .await)
    }

    /// Asks for capabilities the protocol's way: SMTP `EHLO` (LMTP `LHLO`),
    /// IMAP `CAPABILITY`, POP3 `CAPA`.
    ///
    /// # Errors
    /// As [`Session::command`].
    pub async fn ask_capabilities(&mut self) -> Result<Vec<Response>> {
        let line = match self.protocol() {
            Protocol::Smtp => format!("EHLO {}", self.ehlo),
            Protocol::Lmtp => format!("LHLO {}", self.ehlo),
            Protocol::Imap => "CAPABILITY".to_string(),
            Protocol::Pop3 => "CAPA".to_string(),
        };
        self.command(&line).await
    }

    /// True when the known capabilities offer the upgrade verb.
    pub fn starttls_offered(&self) -> bool {
        let want = match self.protocol() {
            Protocol::Smtp | Protocol::Lmtp | Protocol::Imap => "STARTTLS",
            Protocol::Pop3 => "STLS",
        };
        self.capabilities.iter().any(|c| c.name == want)
    }

    /// STARTTLS (SMTP RFC 3207, IMAP RFC 2595 §3.1 / RFC 9051 §6.2.1) or
    /// STLS (POP3 RFC 2595 §4), then the handshake on a positive reply.
    ///
    /// Bytes that arrive after the positive reply and before the handshake
    /// are discarded with a warning, never fed to TLS: a man in the middle
    /// may have injected them (CVE-2011-0411 class).
    ///
    /// # Errors
    /// Write failure, timeout or close while waiting for the reply.
    pub async fn starttls(&mut self) -> Result<StartTls> {
        let verb = match self.protocol() {
            Protocol::Pop3 => "STLS",
            _ => "STARTTLS",
        };
        let responses = self.command(verb).await?;
        let Some(last) = responses.last().cloned() else {
            return Err(SessionError::Protocol(format!("no reply to {verb}")));
        };
        let positive = match &last {
            Response::Smtp(r) => r.code.0 == 220,
            other => {
                other.is_positive()
                    && !matches!(other, Response::Imap(imap::Response::Continuation { .. }))
            }
        };
        if !positive {
            return Ok(StartTls::Refused(last));
        }
        match self.upgrade().await {
            Ok(tls) => Ok(StartTls::Upgraded(tls)),
            Err(e) if e.is_tls_failure() => Ok(StartTls::HandshakeFailed(e)),
            Err(e) => Err(e),
        }
    }

    async fn upgrade(&mut self) -> Result<Box<TlsEstablished>> {
        let implicit = !self.greeted;
        if !implicit {
            // Catch injected bytes that already arrived in a later segment too.
            let _ = self.conn.drain_ready().await;
        }
        let Some((stream, leftover)) = self.conn.take_plain() else {
            return Err(SessionError::Protocol("TLS is already active".into()));
        };
        if !leftover.is_empty() {
            self.warn(format!(
                "SECURITY: {} bytes arrived after the {} reply and before the TLS handshake; they were discarded and never treated as TLS data (response injection, CVE-2011-0411): {}",
                leftover.len(),
                if implicit { "connect" } else { "STARTTLS" },
                crate::escape::escape_bytes(&leftover)
            ))
            .await;
        }
        let roots = match root_store(&self.config.tls) {
            Ok(r) => r,
            Err(e) => {
                self.closed = true;
                return Err(self.fail(e.into()).await);
            }
        };
        let client = match Client::new(&self.config.tls, &self.config.target.host, roots) {
            Ok(c) => c,
            Err(e) => {
                self.closed = true;
                return Err(self.fail(e.into()).await);
            }
        };
        let handshake = timeout(self.config.timeouts.handshake, client.handshake(stream)).await;
        let established = match handshake {
            Ok(Ok(e)) => e,
            Ok(Err(e)) => {
                self.closed = true;
                if let TlsError::Handshake {
                    verdict: Some(v),
                    chain_der,
                    ..
                } = &e
                    && !chain_der.is_empty()
                {
                    self.warn(format!(
                        "certificate chain before the failure: {}",
                        v.headline()
                    ))
                    .await;
                }
                return Err(self.fail(e.into()).await);
            }
            Err(_) => {
                self.closed = true;
                let err = SessionError::Timeout {
                    what: HANDSHAKE.into(),
                    after: self.config.timeouts.handshake,
                };
                return Err(self.fail(err).await);
            }
        };
        let now_unix = time::OffsetDateTime::now_utc().unix_timestamp();
        let chain = ChainReport::from_der(&established.chain_der, now_unix, client.name_checked());
        let tls = Box::new(TlsEstablished {
            at: self.now(),
            summary: established.summary,
            verdict: established.verdict,
            chain_der: established.chain_der,
            chain,
        });
        self.conn.set_tls(established.stream);
        // RFC 3207 §4.2 / RFC 2595 §3.1: forget everything learnt before TLS.
        self.capabilities.clear();
        self.last_verb.clear();
        self.pop3_expect.clear();
        self.emit(Event::Tls(tls.clone())).await;
        if !tls.verdict.trusted {
            self.warn(format!("certificate chain {}", tls.verdict.headline()))
                .await;
        }
        Ok(tls)
    }

    /// Polite goodbye: SMTP `QUIT`, IMAP `LOGOUT`, POP3 `QUIT`; then close.
    pub async fn quit(&mut self) {
        if self.closed {
            return;
        }
        let line = if self.protocol() == Protocol::Imap {
            "LOGOUT"
        } else {
            "QUIT"
        };
        if self.command(line).await.is_ok() {
            self.conn.shutdown().await;
            self.closed = true;
            self.emit(Event::Closed {
                at: self.now(),
                reason: format!("closed after {line}"),
            })
            .await;
        }
    }

    /// Closes without a goodbye.
    pub async fn close(&mut self) {
        if !self.closed {
            self.conn.shutdown().await;
            self.closed = true;
            self.emit(Event::Closed {
                at: self.now(),
                reason: "closed by the operator".into(),
            })
            .await;
        }
    }

    /// Runs commands from `commands` while reading responses as they come.
    /// Returns when the connection closes or the command channel is dropped.
    pub async fn run(mut self, mut commands: mpsc::Receiver<Command>) {
        loop {
            if self.closed {
                return;
            }
            tokio::select! {
                cmd = commands.recv() => match cmd {
                    None | Some(Command::Close) => {
                        self.close().await;
                        return;
                    }
                    Some(Command::Send { bytes, tagged }) => {
                        let bytes = if tagged && self.protocol() == Protocol::Imap {
                            let tag = self.tags.next_tag();
                            [format!("{} ", tag.0).into_bytes(), bytes].concat()
                        } else {
                            bytes
                        };
                        let _ = self.send_raw(&bytes).await;
                    }
                    Some(Command::StartTls) => match self.starttls().await {
                        Ok(StartTls::Refused(_)) => {
                            self.warn("STARTTLS refused: the session stays in plaintext".into()).await;
                        }
                        Ok(StartTls::HandshakeFailed(_)) | Ok(StartTls::Upgraded(_)) | Err(_) => {}
                    },
                },
                response = self.next_response() => {
                    if response.is_err() {
                        return;
                    }
                }
            }
        }
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

fn map_frame<T>(
    r: protocol::Result<T>,
    f: impl FnOnce(T) -> Response,
) -> protocol::Result<Response> {
    r.map(|frame| match frame {
        Frame::Incomplete => Frame::Incomplete,
        Frame::Complete { value, len } => Frame::Complete {
            value: f(value),
            len,
        },
        Frame::Malformed { len, reason } => Frame::Malformed { len, reason },
    })
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

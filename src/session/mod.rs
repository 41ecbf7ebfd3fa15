//! The session engine: owns the socket, frames responses with `protocol`,
//! upgrades with `tls`, and reports everything as timestamped [`Event`]s.
//!
//! ```text
//! socket -> Connection (read buffer, Limits) -> protocol::{smtp,imap,pop3} -> Response
//!        -> Dialogue (which command, outcome, phase, secrets, capabilities, findings)
//!        -> Entry { at, direction, raw, tls, note } + Event::Finding
//!        -> check / TUI / recorder / replay
//! ```

pub mod connection;
pub mod dialogue;
pub mod engine;
pub mod transcript;

use std::time::Duration;

use crate::cert::ChainReport;
use crate::tls::{HandshakeSummary, Verdict};

pub use dialogue::{Answer, Awaiting, Dialogue, Note, Outcome, Phase, Sent};
pub use engine::{
    Command, QUIT_CLOSE_WAIT, Session, SessionConfig, SessionError, SessionHandle, StartTls,
    Timeouts, spawn,
};

use crate::finding::Finding;
use crate::protocol::{imap, pop3, smtp};

/// A framed server response of any of the three protocols.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Response {
    Smtp(smtp::Reply),
    Imap(imap::Response),
    Pop3(pop3::Response),
    /// Did not follow the protocol; shown as is, never taken as an answer.
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

    /// The response's text for a one-line summary: the SMTP reply text, the
    /// IMAP human text, the POP3 status text, or the malformed reason.
    pub fn text(&self) -> String {
        match self {
            Response::Smtp(r) => r.text(),
            Response::Imap(r) => r.human_text().to_string(),
            Response::Pop3(pop3::Response::Status { text, .. })
            | Response::Pop3(pop3::Response::Continuation { text }) => text.clone(),
            Response::Malformed { reason } => reason.clone(),
        }
    }
}

/// Who produced a finding: the dialogue (re-derived when a recording is
/// loaded) or the engine and TLS layer (kept from the recording).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Origin {
    Dialogue,
    Engine,
}

/// Who produced a transcript line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Direction {
    /// Sent by mailwire (the client).
    #[serde(rename = "C")]
    Client,
    /// Received from the server.
    #[serde(rename = "S")]
    Server,
}

/// One protocol data unit on the wire: a command as sent or a whole
/// response as received (a multi-line reply is one entry).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Offset from the start of the session.
    pub at: Duration,
    pub direction: Direction,
    /// Exact bytes, line endings included.
    pub raw: Vec<u8>,
    /// True when the bytes travelled inside TLS.
    pub tls: bool,
    /// What the entry means in the conversation (from the dialogue); boxed
    /// so entries stay small in the transcript.
    pub note: Box<Note>,
}

impl Entry {
    /// The bytes with secrets replaced by the placeholder, as shown on
    /// screen and written to recordings (unless `--no-redact`).
    pub fn redacted(&self) -> std::borrow::Cow<'_, [u8]> {
        match self.note.redact(&self.raw) {
            Some(masked) => masked.into(),
            None => self.raw.as_slice().into(),
        }
    }
}

/// TLS established: what was negotiated, the verdict and the chain.
#[derive(Debug, Clone)]
pub struct TlsEstablished {
    pub at: Duration,
    pub summary: HandshakeSummary,
    pub verdict: Verdict,
    /// DER of every certificate the server sent, leaf first.
    pub chain_der: Vec<Vec<u8>>,
    pub chain: ChainReport,
}

/// i9: the TLS handshake failed after the server sent its certificates
/// (`--strict` on an untrusted chain, or an alert after the chain): what
/// the server sent is still shown and recorded, never lost with the
/// connection. The diagnosis itself follows as `Event::Finding`s.
#[derive(Debug, Clone)]
pub struct TlsFailed {
    pub at: Duration,
    /// The failure in one sentence (`HandshakeFailure::sentence`).
    pub reason: String,
    /// The verifier's verdict on the chain; `None` when the handshake
    /// ended before the verifier ran.
    pub verdict: Option<Verdict>,
    /// DER of every certificate the server sent, leaf first.
    pub chain_der: Vec<Vec<u8>>,
    pub chain: ChainReport,
}

/// Everything the engine reports, in order.
#[derive(Debug, Clone)]
pub enum Event {
    /// TCP connected to `peer` (address as text).
    Connected { at: Duration, peer: String },
    /// Bytes sent or a whole response received.
    Data(Entry),
    /// A response that does not follow the protocol; shown, not fatal.
    Malformed { entry: Entry, reason: String },
    /// The TLS handshake finished (possibly with an untrusted chain).
    Tls(Box<TlsEstablished>),
    /// The TLS handshake failed after the server sent its chain; the
    /// connection is closed next.
    TlsFailed(Box<TlsFailed>),
    /// A diagnosis: a peer fault, a risk, or why a step failed.
    Finding {
        at: Duration,
        finding: Finding,
        origin: Origin,
    },
    /// The connection is gone.
    Closed { at: Duration, reason: String },
    /// The next bytes of a server response too big to hold (an IMAP literal
    /// or POP3 body past the streaming threshold, `SessionConfig::streaming`),
    /// exactly as received, in order, for a recording. The last chunk has
    /// `end`; the `Data` entry that follows holds only the response's first
    /// bytes (a preview), which is what the transcript shows.
    Chunk {
        at: Duration,
        bytes: Vec<u8>,
        tls: bool,
        end: Option<StreamEnd>,
    },
}

/// What is known of a streamed response once it has all arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamEnd {
    /// Size on the wire, in bytes.
    pub size: u64,
    /// SHA-256 of all its bytes.
    pub sha256: [u8; 32],
}

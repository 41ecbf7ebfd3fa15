//! The session engine: owns the socket, frames responses with `protocol`,
//! upgrades with `tls`, and reports everything as timestamped [`Event`]s.
//!
//! ```text
//! socket -> Connection (read buffer, Limits) -> protocol::{smtp,imap,pop3}
//!        -> Entry { at, direction, raw, tls } -> Event -> check / TUI / recorder
//! ```

pub mod connection;
pub mod engine;
pub mod transcript;

use std::time::Duration;

use crate::cert::ChainReport;
use crate::tls::{HandshakeSummary, Verdict};

pub use engine::{
    Command, Response, Session, SessionConfig, SessionError, SessionHandle, StartTls, Timeouts,
    spawn,
};

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
    /// Capabilities as advertised (EHLO keywords, IMAP CAPABILITY, POP3 CAPA);
    /// `after_tls` tells the two sets apart (RFC 3207 §4.2).
    Capabilities {
        at: Duration,
        after_tls: bool,
        list: Vec<crate::protocol::Capability>,
    },
    /// Something the operator should notice (e.g. STARTTLS injection).
    Warning { at: Duration, message: String },
    /// A failure that ends the current step (timeout, handshake failure).
    Error { at: Duration, message: String },
    /// The connection is gone.
    Closed { at: Duration, reason: String },
}

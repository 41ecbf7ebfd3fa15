//! The session engine task: one per connection, owning the socket.

use std::time::Duration;

use tokio::sync::mpsc;

use super::Event;
use crate::target::Target;

/// Timeouts, all in milliseconds on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// TCP connect. Default 10 s.
    pub connect: Duration,
    /// Waiting for one whole response (greeting included). Default 30 s,
    /// long enough for greeting delays of common anti-spam setups.
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
    /// EHLO/LHLO name.
    pub ehlo: String,
    pub timeouts: Timeouts,
    pub limits: crate::protocol::Limits,
    pub tls: crate::tls::ClientOptions,
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

/// Placeholder so the module compiles until the engine lands.
pub struct Session;

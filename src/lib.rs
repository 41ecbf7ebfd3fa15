//! mailwire: drive SMTP, IMAP and POP3 sessions by hand, upgrade with
//! STARTTLS, and inspect the negotiated TLS parameters and certificate chain.
//!
//! Layers, bottom up:
//! - [`protocol`]: sans-IO framing and parsing of server responses.
//! - [`tls`], [`cert`]: rustls client/server setup, the recording verifier,
//!   handshake summary and x509 chain report.
//! - [`session`]: the tokio engine that owns the socket and emits events.
//! - [`replay`]: recordings of those events (JSON Lines, secrets masked),
//!   loaded back as the same events.
//! - `check`, `server`, `tui`: consumers of those events.
//! - [`domain`]: a mail domain from outside: MX, MTA-STS, DANE/TLSA and
//!   TLS-RPT, with DNSSEC status (hickory-resolver, reqwest).
//! - [`cli`], [`config`]: the command line and the config file (defaults,
//!   profiles, theme, key bindings), merged into the settings a session
//!   runs with: command line > environment > profile > file > built in.
//! - [`explain`]: the catalogue that says what each line and TLS item means,
//!   with its RFC or IANA source, for the explain pane and lessons.

// Network input must never be unwrapped (STYLE.md habit 7); tests may.
#![warn(clippy::unwrap_used, clippy::expect_used)]

pub mod cert;
pub mod check;
pub mod cli;
pub mod config;
pub mod domain;
pub mod escape;
pub mod explain;
pub mod finding;
pub mod lessons;
pub mod protocol;
pub mod replay;
pub mod scan;
pub mod server;
pub mod session;
pub mod signal;
pub mod target;
pub mod tls;
pub mod tui;

//! Recordings: a session's [`Event`]s written to a file as they happen, and
//! read back so a viewer, an export or a replay sees the same events again.
//!
//! ```text
//! engine -> Event -> Recorder (Redactor masks secrets) -> file.jsonl
//! file.jsonl -> Recording::load -> Recording::event(i) -> Event -> TUI / export
//! ```
//!
//! # Format, version 1
//!
//! JSON Lines (one JSON object per line, `\n` after each, UTF-8). Line 1 is
//! the header; every further line is one event, in the order the engine
//! emitted them. Readers ignore fields they do not know; a new field never
//! needs a new version, a changed meaning does.
//!
//! ```text
//! {"mailwire_recording":1,"mailwire_version":"0.1.0","protocol":"smtp",
//!  "target":{"scheme":"smtp","host":"mail.example.com","port":25},
//!  "started_at":"2026-11-29T07:42:51Z",
//!  "options":{"servername":null,"no_sni":false,"tls_version":null,"strict":false,"ehlo":"client.example"},
//!  "redacted":true}
//! {"t_ms":0,"kind":"connected","peer":"192.0.2.25:25"}
//! {"t_ms":41,"kind":"received","text":"220 mail.example.com ESMTP\r\n","tls":false}
//! {"t_ms":41,"kind":"sent","text":"EHLO client.example\r\n","tls":false}
//! {"t_ms":63,"kind":"capabilities","after_tls":false,"list":[{"name":"STARTTLS","params":[]}]}
//! {"t_ms":97,"kind":"tls","summary":{..HandshakeSummary..},"verdict":{..Verdict..},"chain_pem":["-----BEGIN CERTIFICATE-----\n.."]}
//! {"t_ms":120,"kind":"sent","text":"AUTH PLAIN <redacted 24 bytes>\r\n","tls":true,"redacted":true}
//! {"t_ms":130,"kind":"received","b64":"NTM1IP8NCg==","tls":true}
//! {"t_ms":131,"kind":"malformed","direction":"S","text":"junk\r\n","tls":true,"reason":"no reply code"}
//! {"t_ms":140,"kind":"warning","message":".."}
//! {"t_ms":150,"kind":"error","message":".."}
//! {"t_ms":160,"kind":"closed","message":"closed after QUIT"}
//! ```
//!
//! A handshake that fails after the server sent its chain (`--strict` on
//! an untrusted chain, or an alert) is a `tls_failed` line instead of `tls`:
//!
//! ```text
//! {"t_ms":97,"kind":"tls_failed","message":"mailwire aborted it (--strict): ..","verdict":{..Verdict..},"chain_pem":[".."]}
//! ```
//!
//! A response too big to hold (an IMAP literal or POP3 body past the
//! streaming threshold) is written as it arrives, in `chunk` lines, then its
//! entry with `"chunked":true` and no bytes of its own:
//!
//! ```text
//! {"t_ms":170,"kind":"chunk","text":"+OK 104857600 octets\r\nReceived: ..","tls":true}
//! {"t_ms":171,"kind":"chunk","b64":"..","tls":true}
//! {"t_ms":690,"kind":"received","text":"","tls":true,"chunked":true}
//! ```
//!
//! - `t_ms`: milliseconds since the session started (`Entry::at`, truncated).
//! - `sent` / `received` / `malformed`: the exact bytes, line endings
//!   included, as `text` when they are valid UTF-8, else as standard base64 in
//!   `b64`; `tls` tells whether they travelled inside TLS (default false);
//!   `malformed` adds `reason` and `direction` (`"S"` or `"C"`, default `"S"`).
//! - `redacted: true` marks a line whose secret was replaced by the
//!   [`Redactor`] (default false).
//! - `tls`: the [`HandshakeSummary`](crate::tls::HandshakeSummary) as
//!   `summary`, the [`Verdict`](crate::tls::Verdict) as `verdict`, and the
//!   chain as sent, leaf first, one PEM string per certificate in
//!   `chain_pem`. The [`ChainReport`](crate::cert::ChainReport) is not stored:
//!   it is rebuilt on load, at the time of the handshake, so fixes to the
//!   certificate decoder reach old recordings.
//! - `capabilities`: `after_tls` (RFC 3207 §4.2) and `list` of `{name, params}`.
//! - `connected`: `peer`; `warning`, `error`, `closed`: `message`.
//! - `recording_paused`, `recording_resumed`: no other field; recording
//!   was paused and resumed (Ctrl-R), events between them are missing.
//!   Loaded as findings of the same ids.
//! - `chunk`: the next bytes of a streamed server response (`text` or `b64`,
//!   `tls`); the `received` or `malformed` line with `chunked: true` that
//!   follows (client lines may come between) takes all of them as its bytes.
//! - A kind this version does not know is skipped with a warning.
//!
//! The recorder writes and flushes each line with one write, so a crash or a
//! SIGKILL loses at most the last event; a cut-off last line loads with a
//! warning ([`Recording::warnings`]). Any other damage is an error naming the
//! line. The file is created with mode 0600. The full description, for users,
//! is in `docs/recording-format.md`.

pub mod client;
mod export;
mod format;
mod recorder;
mod recording;
mod tap;

use std::path::PathBuf;

pub use client::{
    Auto, Decision, Operator, ReplayOptions, SecretField, StepOutcome, StepReport,
    run as replay_against,
};
pub use export::{Format, export};
pub use format::{FORMAT_VERSION, Header, RecordedOptions};
pub use recorder::Recorder;
pub use recording::{Loading, MAX_LINE, Recording};
pub use tap::{RecordStatus, RecordSwitch, default_file_name, tap};

#[cfg(doc)]
use crate::session::Event;

/// Why a recording cannot be written or read.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    /// The file cannot be created or opened.
    #[error("cannot open recording {}: {source}", path.display())]
    Open {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The file exists and overwriting it was not asked for (`--force`).
    #[error(
        "recording {} already exists: give --force to overwrite it, or another file name",
        path.display()
    )]
    Exists { path: PathBuf },
    /// Writing the header or an event failed (disk full, file removed, ...).
    #[error("cannot write recording {}: {source}", path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    /// Reading failed below the format (I/O error).
    #[error("cannot read recording {name}: {source}")]
    Read {
        name: String,
        source: std::io::Error,
    },
    /// A line is not what the format allows; `line` counts from 1.
    #[error("{name}: line {line}: {reason}")]
    Corrupt {
        name: String,
        line: usize,
        reason: String,
    },
    /// The header names a format version this build cannot read.
    #[error(
        "{name}: recording format version {found} is not supported (this mailwire reads version {FORMAT_VERSION}); use a newer mailwire"
    )]
    Version { name: String, found: u64 },
}

/// Result alias for this layer.
pub type Result<T> = std::result::Result<T, ReplayError>;

//! The lines of a recording file (format version 1, see [`super`]): the
//! header, and the mapping between an engine [`Event`] and its JSON object.
//! No I/O here: the recorder and the loader own the file.

use std::borrow::Cow;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::finding::Finding;
use crate::session::{Direction, Event, Origin, SessionConfig};
use crate::target::Target;
use crate::tls::{HandshakeSummary, Verdict};

/// The format version this build writes and reads (`mailwire_recording`).
pub const FORMAT_VERSION: u32 = 1;

/// The connection options that change what a session shows, as the CLI
/// flags of the same names set them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct RecordedOptions {
    /// `--servername`: SNI and the name checked (RFC 6066 §3).
    pub servername: Option<String>,
    /// `--no-sni`.
    pub no_sni: bool,
    /// `--tls-version`: `"1.2"` or `"1.3"`.
    pub tls_version: Option<String>,
    /// `--strict`: the handshake was aborted on an untrusted chain.
    pub strict: bool,
    /// `--ehlo`: the EHLO/LHLO name (RFC 5321 §4.1.1.1); `None` for the default.
    pub ehlo: Option<String>,
}

/// Line 1 of a recording: what was recorded, where, when, and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// Version of the mailwire that wrote the file (`CARGO_PKG_VERSION`).
    pub mailwire_version: String,
    /// Server and protocol; the file stores scheme, host and port.
    pub target: Target,
    /// Wall-clock start of the session, UTC, whole seconds; `t_ms` counts from here.
    pub started_at: OffsetDateTime,
    pub options: RecordedOptions,
    /// True when the recorder masked secrets (the default; false with `--no-redact`).
    pub redacted: bool,
}

impl Header {
    /// The header for a session opened with `config`, started at `started_at`,
    /// with redaction on.
    pub fn new(config: &SessionConfig, started_at: OffsetDateTime) -> Header {
        Header {
            mailwire_version: env!("CARGO_PKG_VERSION").to_string(),
            target: config.target.clone(),
            started_at: whole_seconds_utc(started_at),
            options: RecordedOptions {
                servername: config.tls.servername.clone(),
                no_sni: config.tls.no_sni,
                tls_version: config.tls.tls_version.clone(),
                strict: config.tls.strict,
                ehlo: config.ehlo.clone(),
            },
            redacted: true,
        }
    }

    /// Unix seconds at `t_ms` into the session, the `now` for rebuilding a
    /// chain report as it was at the handshake.
    pub(crate) fn unix_at(&self, t_ms: u64) -> i64 {
        let secs = i64::try_from(t_ms / 1000).unwrap_or(i64::MAX);
        self.started_at.unix_timestamp().saturating_add(secs)
    }

    /// Appends the header as one JSON object (no newline).
    pub(crate) fn write_json(&self, out: &mut Vec<u8>) -> serde_json::Result<()> {
        let line = HeaderLine {
            mailwire_recording: u64::from(FORMAT_VERSION),
            mailwire_version: self.mailwire_version.clone(),
            protocol: self.target.protocol.name().to_string(),
            target: TargetLine {
                scheme: self.target.scheme.to_string(),
                host: self.target.host.clone(),
                port: self.target.port,
            },
            started_at: self
                .started_at
                .format(&Rfc3339)
                .unwrap_or_else(|_| self.started_at.unix_timestamp().to_string()),
            options: self.options.clone(),
            redacted: self.redacted,
        };
        serde_json::to_writer(out, &line)
    }

    /// Parses line 1. The version is checked first, so a file from a newer
    /// mailwire gets a clear message rather than a field error.
    pub(crate) fn parse(line: &[u8]) -> Result<Header, HeaderError> {
        #[derive(Deserialize)]
        struct Version {
            mailwire_recording: Option<u64>,
        }
        let version: Version = serde_json::from_slice(line).map_err(|e| {
            HeaderError::Invalid(format!("header is not valid JSON: {}", json_reason(&e)))
        })?;
        match version.mailwire_recording {
            None => {
                return Err(HeaderError::Invalid(
                    "not a mailwire recording: the header has no \"mailwire_recording\" field"
                        .into(),
                ));
            }
            Some(v) if v != u64::from(FORMAT_VERSION) => return Err(HeaderError::Version(v)),
            Some(_) => {}
        }
        let line: HeaderLine = serde_json::from_slice(line)
            .map_err(|e| HeaderError::Invalid(format!("bad header: {}", json_reason(&e))))?;
        let host = if line.target.host.contains(':') {
            format!("[{}]", line.target.host)
        } else {
            line.target.host.clone()
        };
        let target = Target::parse(&format!(
            "{}://{}:{}",
            line.target.scheme, host, line.target.port
        ))
        .map_err(|e| HeaderError::Invalid(format!("bad target in header: {e}")))?;
        if line.protocol != target.protocol.name() {
            return Err(HeaderError::Invalid(format!(
                "header protocol {:?} does not match scheme {:?}",
                line.protocol, line.target.scheme
            )));
        }
        let started_at = OffsetDateTime::parse(&line.started_at, &Rfc3339).map_err(|e| {
            HeaderError::Invalid(format!("bad started_at {:?}: {e}", line.started_at))
        })?;
        Ok(Header {
            mailwire_version: line.mailwire_version,
            target,
            started_at: whole_seconds_utc(started_at),
            options: line.options,
            redacted: line.redacted,
        })
    }
}

/// Why line 1 was refused.
#[derive(Debug)]
pub(crate) enum HeaderError {
    Invalid(String),
    Version(u64),
}

fn whole_seconds_utc(t: OffsetDateTime) -> OffsetDateTime {
    let t = t.to_offset(time::UtcOffset::UTC);
    t.replace_nanosecond(0).unwrap_or(t)
}

#[derive(Serialize, Deserialize)]
struct HeaderLine {
    mailwire_recording: u64,
    mailwire_version: String,
    protocol: String,
    target: TargetLine,
    started_at: String,
    #[serde(default)]
    options: RecordedOptions,
    #[serde(default)]
    redacted: bool,
}

#[derive(Serialize, Deserialize)]
struct TargetLine {
    scheme: String,
    host: String,
    port: u16,
}

/// The `kind` of an event line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Kind {
    Connected,
    Sent,
    Received,
    Malformed,
    Tls,
    /// i9: a failed handshake after the server sent its chain (`message`,
    /// optional `verdict`, `chain_pem`).
    #[serde(rename = "tls_failed")]
    TlsFailed,
    /// A typed finding (`finding` object and `origin`).
    Finding,
    /// Written by mailwire before findings: re-derived from the entries
    /// on load, so skipped.
    Capabilities,
    /// Written by mailwire before findings: loaded as a finding.
    Warning,
    /// Written by mailwire before findings: loaded as a finding.
    Error,
    Closed,
    /// The next bytes of a streamed server response (`text` or `b64`); the
    /// `received` (or `malformed`) line with `"chunked": true` that follows
    /// holds no bytes of its own: its bytes are the chunks before it.
    Chunk,
    /// Recording was paused (Ctrl-R): events until `recording_resumed` are
    /// missing. Loaded as a `recording_paused` finding.
    #[serde(rename = "recording_paused")]
    RecordingPaused,
    /// Recording was resumed after a pause. Loaded as a `recording_resumed` finding.
    #[serde(rename = "recording_resumed")]
    RecordingResumed,
    /// Written by a newer mailwire; skipped with a warning.
    #[serde(other)]
    Unknown,
}

impl Kind {
    /// The name as written in the file.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Connected => "connected",
            Kind::Sent => "sent",
            Kind::Received => "received",
            Kind::Malformed => "malformed",
            Kind::Tls => "tls",
            Kind::TlsFailed => "tls_failed",
            Kind::Finding => "finding",
            Kind::Capabilities => "capabilities",
            Kind::Warning => "warning",
            Kind::Error => "error",
            Kind::Closed => "closed",
            Kind::Chunk => "chunk",
            Kind::RecordingPaused => "recording_paused",
            Kind::RecordingResumed => "recording_resumed",
            Kind::Unknown => "unknown",
        }
    }
}

#[derive(Serialize)]
struct LineOut<'a> {
    t_ms: u64,
    kind: Kind,
    #[serde(skip_serializing_if = "Option::is_none")]
    direction: Option<Direction>,
    #[serde(skip_serializing_if = "Option::is_none")]
    text: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    b64: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tls: Option<bool>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    redacted: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    peer: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    summary: Option<&'a HandshakeSummary>,
    #[serde(skip_serializing_if = "Option::is_none")]
    verdict: Option<&'a Verdict>,
    #[serde(skip_serializing_if = "Option::is_none")]
    chain_pem: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    finding: Option<&'a Finding>,
    #[serde(skip_serializing_if = "Option::is_none")]
    origin: Option<Origin>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    chunked: bool,
}

impl LineOut<'_> {
    fn new(at: std::time::Duration, kind: Kind) -> Self {
        LineOut {
            t_ms: u64::try_from(at.as_millis()).unwrap_or(u64::MAX),
            kind,
            direction: None,
            text: None,
            b64: None,
            tls: None,
            redacted: false,
            reason: None,
            peer: None,
            message: None,
            summary: None,
            verdict: None,
            chain_pem: None,
            finding: None,
            origin: None,
            chunked: false,
        }
    }
}

/// Appends `event` as one JSON object (no newline). `raw` replaces the
/// entry's bytes when given (the masked form); `redacted` sets the flag.
pub(crate) fn write_event(
    out: &mut Vec<u8>,
    event: &Event,
    raw: Option<&[u8]>,
    redacted: bool,
    chunked: bool,
) -> serde_json::Result<()> {
    let line = match event {
        Event::Connected { at, peer } => LineOut {
            peer: Some(peer),
            ..LineOut::new(*at, Kind::Connected)
        },
        Event::Data(entry) | Event::Malformed { entry, .. } => {
            let (kind, direction, reason) = match event {
                Event::Malformed { reason, .. } => (
                    Kind::Malformed,
                    Some(entry.direction),
                    Some(reason.as_str()),
                ),
                _ if entry.direction == Direction::Client => (Kind::Sent, None, None),
                _ => (Kind::Received, None, None),
            };
            // A streamed response's bytes went out as chunks before it.
            let bytes = if chunked {
                &[][..]
            } else {
                raw.unwrap_or(&entry.raw)
            };
            let (text, b64) = match std::str::from_utf8(bytes) {
                Ok(text) => (Some(text), None),
                Err(_) => (None, Some(STANDARD.encode(bytes))),
            };
            LineOut {
                direction,
                text,
                b64,
                tls: Some(entry.tls),
                redacted,
                reason,
                chunked,
                ..LineOut::new(entry.at, kind)
            }
        }
        Event::Chunk { at, bytes, tls, .. } => {
            let (text, b64) = match std::str::from_utf8(bytes) {
                Ok(text) => (Some(text), None),
                Err(_) => (None, Some(STANDARD.encode(bytes))),
            };
            LineOut {
                text,
                b64,
                tls: Some(*tls),
                ..LineOut::new(*at, Kind::Chunk)
            }
        }
        Event::Tls(tls) => LineOut {
            summary: Some(&tls.summary),
            verdict: Some(&tls.verdict),
            chain_pem: Some(
                tls.chain_der
                    .iter()
                    .map(|der| crate::cert::to_pem(std::slice::from_ref(der)))
                    .collect(),
            ),
            ..LineOut::new(tls.at, Kind::Tls)
        },
        Event::TlsFailed(failed) => LineOut {
            message: Some(&failed.reason),
            verdict: failed.verdict.as_ref(),
            chain_pem: Some(
                failed
                    .chain_der
                    .iter()
                    .map(|der| crate::cert::to_pem(std::slice::from_ref(der)))
                    .collect(),
            ),
            ..LineOut::new(failed.at, Kind::TlsFailed)
        },
        Event::Finding {
            at,
            finding,
            origin,
        } => LineOut {
            finding: Some(finding),
            origin: Some(*origin),
            ..LineOut::new(*at, Kind::Finding)
        },
        Event::Closed { at, reason } => LineOut {
            message: Some(reason),
            ..LineOut::new(*at, Kind::Closed)
        },
    };
    serde_json::to_writer(out, &line)
}

/// Appends a pause or resume mark (`recording_paused`,
/// `recording_resumed`) at `at` as one JSON object (no newline).
pub(crate) fn write_mark(
    out: &mut Vec<u8>,
    at: std::time::Duration,
    kind: Kind,
) -> serde_json::Result<()> {
    serde_json::to_writer(out, &LineOut::new(at, kind))
}

/// An event line as read: every field optional, checked per kind by the loader.
#[derive(Deserialize)]
pub(crate) struct LineIn<'a> {
    pub t_ms: u64,
    pub kind: Kind,
    pub direction: Option<Direction>,
    #[serde(borrow)]
    pub text: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub b64: Option<Cow<'a, str>>,
    #[serde(default)]
    pub tls: bool,
    #[serde(default)]
    pub redacted: bool,
    #[serde(borrow)]
    pub reason: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub peer: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub message: Option<Cow<'a, str>>,
    pub summary: Option<HandshakeSummary>,
    pub verdict: Option<Verdict>,
    pub chain_pem: Option<Vec<String>>,
    pub finding: Option<Finding>,
    pub origin: Option<Origin>,
    #[serde(default)]
    pub chunked: bool,
}

impl LineIn<'_> {
    /// Appends the line's bytes (`text` or `b64`) to `out`.
    pub fn bytes_into(&self, out: &mut Vec<u8>) -> Result<(), String> {
        match (&self.text, &self.b64) {
            (Some(text), None) => {
                out.extend_from_slice(text.as_bytes());
                Ok(())
            }
            (None, Some(b64)) => {
                let before = out.len();
                STANDARD.decode_vec(b64.as_bytes(), out).map_err(|e| {
                    out.truncate(before);
                    format!("bad base64 in \"b64\": {e}")
                })
            }
            (Some(_), Some(_)) => Err("both \"text\" and \"b64\" are set".into()),
            (None, None) => Err(format!(
                "a {:?} event needs \"text\" or \"b64\"",
                self.kind.name()
            )),
        }
    }

    /// A required string field.
    pub fn field<'s>(
        &'s self,
        value: &'s Option<Cow<'_, str>>,
        name: &str,
    ) -> Result<&'s str, String> {
        value
            .as_deref()
            .ok_or_else(|| format!("a {:?} event needs {name:?}", self.kind.name()))
    }
}

/// serde_json's message without its "at line 1 column N" (a recording has
/// one JSON value per line, and the line number is the loader's): the column
/// is kept.
pub(crate) fn json_reason(e: &serde_json::Error) -> String {
    let text = e.to_string();
    let suffix = format!(" at line {} column {}", e.line(), e.column());
    match text.strip_suffix(&suffix) {
        Some(message) => format!("{message} (column {})", e.column()),
        None => text,
    }
}

/// Decodes one PEM certificate block (RFC 7468) into DER.
pub(crate) fn pem_to_der(pem: &str) -> Result<Vec<u8>, String> {
    const BEGIN: &str = "-----BEGIN CERTIFICATE-----";
    const END: &str = "-----END CERTIFICATE-----";
    let body = pem
        .split_once(BEGIN)
        .and_then(|(_, rest)| rest.split_once(END))
        .map(|(body, _)| body)
        .ok_or_else(|| {
            format!(
                "a chain_pem entry is not a PEM certificate: {:?}",
                pem.get(..40).unwrap_or(pem)
            )
        })?;
    let b64: String = body.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    STANDARD
        .decode(b64)
        .map_err(|e| format!("bad base64 in chain_pem: {e}"))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn pem_round_trips_and_refuses_junk() {
        let der = vec![0x30, 0x03, 0x02, 0x01, 0x07];
        let pem = crate::cert::to_pem(std::slice::from_ref(&der));
        assert_eq!(pem_to_der(&pem), Ok(der));
        assert!(
            pem_to_der("hello")
                .unwrap_err()
                .contains("not a PEM certificate")
        );
        assert!(
            pem_to_der("-----BEGIN CERTIFICATE-----\n!!\n-----END CERTIFICATE-----\n").is_err()
        );
    }

    #[test]
    fn header_round_trips_ipv6_target_and_options() {
        let mut config = SessionConfig::new(Target::parse("imaps://[::1]:10993").unwrap());
        config.tls.servername = Some("mail.test".into());
        config.tls.strict = true;
        let started = OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap();
        let header = Header::new(&config, started);
        let mut out = Vec::new();
        header.write_json(&mut out).unwrap();
        let text = String::from_utf8(out.clone()).unwrap();
        assert!(text.starts_with(r#"{"mailwire_recording":1,"#), "{text}");
        assert!(
            text.contains(r#""target":{"scheme":"imaps","host":"::1","port":10993}"#),
            "{text}"
        );
        assert!(
            text.contains(r#""started_at":"2027-01-15T08:00:00Z""#),
            "{text}"
        );
        let back = Header::parse(&out).unwrap();
        assert_eq!(back, header);
    }

    #[test]
    fn header_refuses_newer_version_and_foreign_json() {
        assert!(matches!(
            Header::parse(br#"{"mailwire_recording":2}"#),
            Err(HeaderError::Version(2))
        ));
        assert!(
            matches!(Header::parse(br#"{"hello":1}"#), Err(HeaderError::Invalid(m)) if m.contains("not a mailwire recording"))
        );
        let mismatch = br#"{"mailwire_recording":1,"mailwire_version":"0","protocol":"imap","target":{"scheme":"smtp","host":"h","port":25},"started_at":"2026-01-01T00:00:00Z"}"#;
        assert!(
            matches!(Header::parse(mismatch), Err(HeaderError::Invalid(m)) if m.contains("does not match"))
        );
    }
}

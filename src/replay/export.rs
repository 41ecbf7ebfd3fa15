//! Exports a recording for a ticket or another tool: a plain transcript
//! with swaks-style direction markers, one JSON document, or the PEM chain.
//!
//! ```text
//! [   0.041] <- 220 mail.example.com ESMTP
//! [   0.041] -> STARTTLS
//! [   0.097] *** TLS 1.3 established, TLS13_AES_256_GCM_SHA384, X25519, trusted
//! [   0.120] ~> AUTH PLAIN <redacted 20 bytes>
//! [   0.130] <~ 235 2.7.0 Authentication successful
//! ```

use std::fmt::Write as _;

use super::format::write_event;
use super::recording::Recording;
use crate::escape::escape_bytes;
use crate::session::{Direction, Event};

/// What [`export`] produces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Plain transcript: time, direction marker, escaped line.
    Text,
    /// One JSON document: `{"header": {..}, "events": [..]}`, each event as
    /// in the recording file.
    Json,
    /// The certificate chain of the last TLS handshake, PEM (RFC 7468),
    /// leaf first; empty when the session never reached TLS (the CLI says
    /// so and exits 2).
    Pem,
}

/// Renders `recording` as `format`. With `redact`, secrets are masked even
/// when the file was recorded with `--no-redact`; without it, the file's
/// bytes are shown as they are (a redacted file stays redacted).
pub fn export(recording: &Recording, format: Format, redact: bool) -> String {
    match format {
        Format::Text => text(recording, redact),
        Format::Json => json(recording, redact),
        Format::Pem => recording
            .last_chain()
            .map(crate::cert::to_pem)
            .unwrap_or_default(),
    }
}

/// Events in order with the masked bytes (if any) of each.
fn masked_events(
    recording: &Recording,
    redact: bool,
) -> impl Iterator<Item = (usize, Event, Option<Vec<u8>>)> + '_ {
    (0..recording.len()).filter_map(move |i| {
        let event = recording.event(i)?;
        let masked = match &event {
            Event::Data(entry) | Event::Malformed { entry, .. } if redact => {
                entry.note.redact(&entry.raw)
            }
            _ => None,
        };
        Some((i, event, masked))
    })
}

fn json(recording: &Recording, redact: bool) -> String {
    let mut header = recording.header().clone();
    header.redacted |= redact;
    let mut out = Vec::with_capacity(256 + recording.len() * 96);
    out.extend_from_slice(b"{\"header\":");
    // Writing JSON into a Vec<u8> fails only for non-string map keys, which
    // these types do not have; a failed event is left out rather than
    // leaving half an object.
    let _ = header.write_json(&mut out);
    out.extend_from_slice(b",\n\"events\":[");
    let mut first = true;
    for (i, event, masked) in masked_events(recording, redact) {
        let mark = out.len();
        out.extend_from_slice(if first { b"\n" } else { b",\n" });
        let redacted = masked.is_some() || recording.is_redacted(i);
        if write_event(&mut out, &event, masked.as_deref(), redacted, false).is_err() {
            out.truncate(mark);
            continue;
        }
        first = false;
    }
    out.extend_from_slice(b"\n]}\n");
    String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

fn text(recording: &Recording, redact: bool) -> String {
    let header = recording.header();
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# mailwire recording of {} ({}), started {}, written by mailwire {}",
        escape_bytes(header.target.to_string().as_bytes()),
        header.target.protocol,
        crate::cert::rfc3339(header.started_at.unix_timestamp()),
        escape_bytes(header.mailwire_version.as_bytes()),
    );
    let o = &header.options;
    let mut options = Vec::new();
    if let Some(ehlo) = &o.ehlo {
        options.push(format!("--ehlo {}", escape_bytes(ehlo.as_bytes())));
    }
    if let Some(name) = &o.servername {
        options.push(format!("--servername {}", escape_bytes(name.as_bytes())));
    }
    if o.no_sni {
        options.push("--no-sni".into());
    }
    if let Some(v) = &o.tls_version {
        options.push(format!("--tls-version {}", escape_bytes(v.as_bytes())));
    }
    if o.strict {
        options.push("--strict".into());
    }
    if !options.is_empty() {
        let _ = writeln!(out, "# options: {}", options.join(" "));
    }
    let redacted = header.redacted || redact;
    let _ = writeln!(
        out,
        "# credentials: {}",
        if redacted { "redacted" } else { "NOT redacted" }
    );
    for (_, event, masked) in masked_events(recording, redact) {
        text_event(&mut out, &event, masked.as_deref());
    }
    out
}

/// The certificates and chain findings under a handshake line.
fn chain_notes(out: &mut String, at: std::time::Duration, chain: &crate::cert::ChainReport) {
    let stamp = format!("[{:>4}.{:03}]", at.as_secs(), at.subsec_millis());
    let mut note = |text: String| {
        let _ = writeln!(out, "{stamp} *** {}", escape_bytes(text.as_bytes()));
    };
    for cert in &chain.certs {
        note(format!(
            "  certificate {}: {} (issuer {}), not after {}",
            cert.depth, cert.subject, cert.issuer, cert.not_after
        ));
    }
    for finding in &chain.findings {
        note(format!(
            "  {} [{}]: {}",
            finding.severity, finding.id, finding.summary
        ));
    }
}

fn text_event(out: &mut String, event: &Event, masked: Option<&[u8]>) {
    let stamp =
        |at: std::time::Duration| format!("[{:>4}.{:03}]", at.as_secs(), at.subsec_millis());
    let note = |out: &mut String, at, text: &str| {
        let _ = writeln!(out, "{} *** {}", stamp(at), escape_bytes(text.as_bytes()));
    };
    match event {
        Event::Connected { at, peer } => note(out, *at, &format!("connected to {peer}")),
        Event::Data(entry) | Event::Malformed { entry, .. } => {
            // swaks' markers; a tilde means the bytes travelled inside TLS.
            let marker = match (entry.direction, entry.tls) {
                (Direction::Client, false) => "->",
                (Direction::Server, false) => "<-",
                (Direction::Client, true) => "~>",
                (Direction::Server, true) => "<~",
            };
            let raw = masked.unwrap_or(&entry.raw);
            for line in raw.split_inclusive(|&b| b == b'\n') {
                // CRLF is the norm and goes unsaid; a bare LF shows as \n.
                let body = line.strip_suffix(b"\r\n").unwrap_or(line);
                let _ = writeln!(out, "{} {marker} {}", stamp(entry.at), escape_bytes(body));
            }
            if let Event::Malformed { reason, .. } = event {
                note(out, entry.at, &format!("malformed: {reason}"));
            }
            if entry.note.outcome == crate::session::Outcome::Injected {
                note(
                    out,
                    entry.at,
                    "injected: received after the STARTTLS reply, before TLS; discarded",
                );
            }
            // What the dialogue read from the reply (RFC 3207 §4.2: the two
            // sets of an upgrade are told apart).
            if let Some(caps) = entry.note.capabilities.as_ref().filter(|c| !c.is_empty()) {
                let names: Vec<String> = caps.iter().map(ToString::to_string).collect();
                let when = if entry.tls { " after TLS" } else { "" };
                note(
                    out,
                    entry.at,
                    &format!("capabilities{when}: {}", names.join(", ")),
                );
            }
        }
        Event::Tls(tls) => {
            let version = tls
                .summary
                .version
                .strip_prefix("TLSv")
                .map_or(tls.summary.version.clone(), |v| format!("TLS {v}"));
            let mut line = format!("{version} established, {}", tls.summary.cipher_suite);
            if let Some(group) = &tls.summary.kx_group {
                let _ = write!(line, ", {group}");
            }
            let verdict = if tls.verdict.trusted {
                "trusted".to_string()
            } else {
                tls.verdict.headline()
            };
            let _ = write!(line, ", {verdict}");
            note(out, tls.at, &line);
            chain_notes(out, tls.at, &tls.chain);
        }
        Event::TlsFailed(failed) => {
            let verdict = failed
                .verdict
                .as_ref()
                .map_or_else(|| "no verdict".to_string(), |v| v.headline());
            note(
                out,
                failed.at,
                &format!("TLS handshake failed: {} ({verdict})", failed.reason),
            );
            chain_notes(out, failed.at, &failed.chain);
        }
        Event::Finding { at, finding, .. } => {
            note(out, *at, &finding.headline());
            if !finding.evidence.is_empty() {
                note(
                    out,
                    *at,
                    &format!("  evidence: {}", finding.evidence_escaped(200)),
                );
            }
            if !finding.advice.is_empty() {
                note(out, *at, &format!("  advice: {}", finding.advice));
            }
        }
        Event::Closed { at, reason } => note(out, *at, &format!("closed: {reason}")),
        // A loaded recording folds chunks into their entry: none come here.
        Event::Chunk { .. } => {}
    }
}

//! The checks behind each fuzz target, as plain functions over the fuzzer's
//! bytes, so `tests/fuzz_seeds.rs` in the main package runs the same checks
//! on the seeds and on every input a fuzzer once crashed on (stable Rust,
//! part of `cargo test`). Each panics when a property fails.

use std::ops::Range;
use std::time::Duration;

use mailwire::cert::{self, ChainReport};
use mailwire::protocol::Limits;
use mailwire::protocol::command::{self, LiteralRole};
use mailwire::protocol::pop3::{self, Expect};
use mailwire::protocol::{Defect, imap, smtp, sniff};
use mailwire::replay::{self, Format, Recording};
use mailwire::session::{Dialogue, Direction, Entry, Event, Phase};
use mailwire::target::{Protocol, Target};

use super::{Input, Outcome, assert_split_invariant, limits, splits};

/// `fuzz_targets/smtp_reply.rs`: SMTP replies (RFC 5321 §4.2) in random
/// splits equal the whole; the helpers over a parsed reply (EHLO keywords,
/// enhanced status code, text) accept whatever the parser produced.
pub fn smtp_reply(data: &[u8]) {
    let mut input = Input::new(data);
    let limits = limits(input.byte());
    let cuts = splits(&mut input);
    let bytes = input.rest();
    let _ = sniff(bytes);
    let outcomes = assert_split_invariant(bytes, &cuts, |_, buf| smtp::parse_reply(buf, &limits));
    for outcome in outcomes {
        if let Outcome::Complete(reply, raw) = outcome {
            assert!(!reply.lines.is_empty(), "a reply has a line: {raw:?}");
            for defect in &reply.defects {
                let (Defect::ControlBytes { line }
                | Defect::InvalidUtf8 { line }
                | Defect::BareLf { line }) = *defect;
                assert!(line < reply.lines.len(), "{defect:?} of {raw:?}");
            }
            let _ = smtp::ehlo_capabilities(&reply);
            let _ = reply.enhanced();
            let _ = reply.text();
            let _ = reply.code.class();
            let _ = smtp::command_verb(&raw);
        }
    }
}

/// `fuzz_targets/imap_response.rs`: IMAP responses with literals (RFC 9051
/// §2.2, §4.3, §7) in random splits equal the whole; the capability,
/// status, code and text accessors accept whatever the parser produced.
pub fn imap_response(data: &[u8]) {
    let mut input = Input::new(data);
    let limits = limits(input.byte());
    let cuts = splits(&mut input);
    let bytes = input.rest();
    let _ = sniff(bytes);
    let outcomes =
        assert_split_invariant(bytes, &cuts, |_, buf| imap::parse_response(buf, &limits));
    for outcome in outcomes {
        if let Outcome::Complete(response, _) = outcome {
            let _ = imap::capabilities(&response);
            let _ = response.tag();
            let _ = response.status();
            let _ = response.code();
            let _ = response.human_text();
        }
    }
}

/// `fuzz_targets/pop3_response.rs`: POP3 responses (RFC 1939 §3, RFC 2449)
/// in random splits equal the whole. Which responses are multi-line, and
/// which are a CAPA listing (the command each one answers), is chosen by the
/// input, per response, as the engine's queue of expectations does.
pub fn pop3_response(data: &[u8]) {
    let mut input = Input::new(data);
    let limits = limits(input.byte());
    let multi = input.u16();
    let cuts = splits(&mut input);
    let bytes = input.rest();
    // Two bits per response: single, single, multi-line body, CAPA listing.
    let expect = |i: usize| match multi >> (2 * (i % 8)) & 3 {
        2 => Expect::MultiLine,
        3 => Expect::Capabilities,
        _ => Expect::Single,
    };
    let _ = sniff(bytes);
    let outcomes = assert_split_invariant(bytes, &cuts, |i, buf| {
        pop3::parse_response(buf, expect(i), &limits)
    });
    for outcome in outcomes {
        if let Outcome::Complete(response, raw) = outcome {
            let _ = pop3::capa(&response);
            let _ = response.is_ok();
            let _ = Expect::for_command(&String::from_utf8_lossy(&raw));
        }
    }
}

/// `fuzz_targets/chain_report.rs`: the certificate report on arbitrary DER
/// (up to four certificates, any time, any name) never panics and has one
/// row per certificate: a chain a server sends is shown, however broken.
///
/// ```text
/// [now: i64 BE][name len % 64][name][count % 5]([u16 BE len][DER])*[last DER: the rest]
/// ```
pub fn chain_report(data: &[u8]) {
    let mut input = Input::new(data);
    let now = input.i64();
    let name_len = usize::from(input.byte() % 64);
    let name = String::from_utf8_lossy(input.bytes(name_len)).into_owned();
    let count = input.byte() % 5;
    let mut chain = Vec::new();
    for i in 0..count {
        // The last certificate takes the rest, so a seed that is one whole
        // DER certificate needs no length in front.
        let der = if i + 1 == count {
            input.bytes(usize::MAX)
        } else {
            let len = usize::from(input.u16());
            input.bytes(len)
        };
        chain.push(der.to_vec());
    }
    let report = ChainReport::from_der(&chain, now, &name);
    assert_eq!(report.certs.len(), chain.len(), "one row per certificate");
    for der in &chain {
        let _ = cert::sha256_hex(der);
    }
    let _ = cert::rfc3339(now);
    let _ = cert::to_pem(&chain);
    if let Some(leaf) = report.leaf() {
        let _ = cert::name_matches(&leaf.sans, &name);
    }
    let _ = serde_json::to_string(&report);
}

/// `fuzz_targets/recording.rs`: the recording loader (format in
/// `docs/recording-format.md`) returns a recording or an error naming the
/// line, never panics; every accessor and export format works on whatever
/// it loaded.
pub fn recording(data: &[u8]) {
    let Ok(rec) = Recording::read(data, "fuzz") else {
        return;
    };
    for i in 0..rec.len() {
        let _ = rec.event(i);
        let _ = rec.at(i);
        let _ = rec.is_redacted(i);
        let _ = rec.tls_in_force(i);
    }
    assert!(rec.event(rec.len()).is_none());
    let _ = rec.events().count();
    let _ = rec.last_chain();
    let _ = rec.warnings();
    for format in [Format::Text, Format::Json, Format::Pem] {
        for redact in [false, true] {
            let _ = replay::export(&rec, format, redact);
        }
    }
}

/// `fuzz_targets/target_url.rs`: the URL parser accepts or refuses, never
/// panics, and what it accepts prints as a URL that parses back to the same
/// target.
pub fn target_url(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(target) = Target::parse(text) else {
        return;
    };
    let printed = target.to_string();
    let again = Target::parse(&printed)
        .unwrap_or_else(|e| panic!("{text:?} printed as {printed:?}, which does not parse: {e}"));
    assert_eq!(again, target, "{text:?} printed as {printed:?}");
    let _ = target.authority();
}

/// The protocol a target speaks, from one byte.
fn protocol(choice: u8) -> Protocol {
    match choice % 4 {
        0 => Protocol::Smtp,
        1 => Protocol::Lmtp,
        2 => Protocol::Imap,
        _ => Protocol::Pop3,
    }
}

/// Marks the start of every secret the targets plant, so a leak is found
/// by searching the redacted bytes for it.
const MARK: &[u8] = b"zQ9";

/// A planted secret: [`MARK`] then up to 40 input bytes, without CR or LF
/// (a line ending ends the command line, not the secret).
fn secret(input: &mut Input<'_>) -> Vec<u8> {
    let len = usize::from(input.byte() % 41);
    let mut s = MARK.to_vec();
    s.extend(input.bytes(len).iter().map(|&b| match b {
        b'\r' | b'\n' => b'_',
        b => b,
    }));
    s
}

/// A command line that carries `secret` as its credential, for `protocol`
/// (RFC 4954 §4 AUTH, RFC 1939 §7 PASS/APOP, RFC 9051 §6.2.3 LOGIN and
/// §6.2.2 AUTHENTICATE with an initial response, RFC 4959). `tagged`
/// puts an IMAP tag first.
fn credential_line(protocol: Protocol, form: u8, tagged: bool, secret: &[u8]) -> Vec<u8> {
    let head: &[u8] = match (protocol, form % 3) {
        (Protocol::Smtp | Protocol::Lmtp, 0) => b"AUTH PLAIN ",
        (Protocol::Smtp | Protocol::Lmtp, 1) => b"AUTH LOGIN ",
        (Protocol::Smtp | Protocol::Lmtp, _) => b"auth xoauth2 ",
        (Protocol::Imap, 0) => b"LOGIN user ",
        (Protocol::Imap, 1) => b"login \"us er\\\" x\" ",
        (Protocol::Imap, _) => b"AUTHENTICATE PLAIN ",
        (Protocol::Pop3, 0) => b"PASS ",
        (Protocol::Pop3, 1) => b"APOP user ",
        (Protocol::Pop3, _) => b"AUTH PLAIN ",
    };
    let mut line = Vec::new();
    if protocol == Protocol::Imap && tagged {
        line.extend_from_slice(b"a1 ");
    }
    line.extend_from_slice(head);
    line.extend_from_slice(secret);
    line
}

/// Panics unless `secrets` are non-empty ranges within `len` bytes, in
/// order and apart: `command::redact` skips a range that overlaps the one
/// before, so an overlap would show bytes of a secret.
fn assert_spans(what: &str, len: usize, secrets: &[Range<usize>]) {
    let mut pos = 0;
    for s in secrets {
        assert!(
            s.start >= pos && s.start < s.end && s.end <= len,
            "{what}: bad secret spans {secrets:?} of {len} bytes"
        );
        pos = s.end;
    }
}

/// `fuzz_targets/client_command.rs`: the client-command parser
/// (`protocol::command::parse`, RFC 5321 §4.1, RFC 9051 §6, RFC 1939 §5-7)
/// on any line, tagged or untagged, gives ranges within the line, secrets
/// in order; `redact` replaces exactly the secret ranges. A credential planted in a command
/// (AUTH, LOGIN, PASS, APOP, AUTHENTICATE) never survives redaction.
pub fn client_command(data: &[u8]) {
    let mut input = Input::new(data);
    let protocol = protocol(input.byte());
    let mode = input.byte();
    let tagged = mode & 1 == 1;
    let (line, planted) = if mode & 2 == 0 {
        (input.rest().to_vec(), None)
    } else {
        let secret = secret(&mut input);
        (
            credential_line(protocol, mode >> 2, tagged, &secret),
            Some(secret),
        )
    };
    let cmd = command::parse(protocol, &line, tagged);
    assert!(cmd.args.start <= cmd.args.end && cmd.args.end <= line.len());
    assert_spans("parse", line.len(), &cmd.secrets);
    let _ = cmd.args_text(&line);
    let _ = cmd.has_secret();
    let _ = cmd.verb.as_str();

    // `redact` is the line with each range replaced by its placeholder (a
    // range already holding a placeholder stays as it is).
    let redacted = command::redact(&line, &cmd.secrets);
    let mut expected = Vec::new();
    let mut pos = 0;
    for s in &cmd.secrets {
        expected.extend_from_slice(&line[pos..s.start]);
        let bytes = &line[s.clone()];
        if command::placeholder_len(bytes) == Some(bytes.len()) {
            expected.extend_from_slice(bytes);
        } else {
            expected.extend_from_slice(command::placeholder(bytes.len()).as_bytes());
        }
        pos = s.end;
    }
    expected.extend_from_slice(&line[pos..]);
    assert_eq!(
        redacted, expected,
        "redact of {line:?} by {:?}",
        cmd.secrets
    );

    if let Some(secret) = &planted {
        assert!(
            !contains(&redacted, MARK),
            "{protocol:?} secret {secret:?} survives in {:?}",
            String::from_utf8_lossy(&redacted)
        );
    }

    // What the operator typed, masked for the screen. (Not idempotent: a
    // placeholder that replaced a whole unterminated quote is split by the
    // next parse; see ROBUSTNESS.md.)
    if let Ok(text) = std::str::from_utf8(&line)
        && !tagged
    {
        let typed = command::redact_typed(protocol, text);
        if planted.is_some() {
            assert!(!typed.contains("zQ9"), "typed {text:?} shows {typed:?}");
        }
    }

    // What follows an IMAP literal on the same command line.
    for role in [
        LiteralRole::Data,
        LiteralRole::LoginUser,
        LiteralRole::LoginPassword,
    ] {
        let (secrets, _) = command::continue_after_literal(&line, role);
        assert_spans("continue_after_literal", line.len(), &secrets);
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// `fuzz_targets/dialogue.rs`: random sequences of client bytes, server
/// bytes (framed by the protocol parsers, as a recording is), TLS
/// established or failed, injected bytes and closes, fed to
/// `session::Dialogue` (up to 64 events). It never panics; every note's
/// secrets are ranges of its entry, in order; and a credential planted
/// while the dialogue is in the commands or SASL phase never shows in
/// `Entry::redacted()`.
pub fn dialogue(data: &[u8]) {
    let mut input = Input::new(data);
    let protocol = protocol(input.byte());
    let limits = limits(input.byte());
    let mut dialogue = Dialogue::new(protocol);
    let mut at = Duration::ZERO;
    for _ in 0..64 {
        if input.is_empty() {
            break;
        }
        let op = input.byte();
        at += Duration::from_millis(u64::from(op));
        let entry = |direction, raw: Vec<u8>, tls| Entry {
            at,
            direction,
            raw,
            tls,
            note: Box::default(),
        };
        match op % 8 {
            0 | 1 => {
                let len = usize::from(input.byte());
                let raw = input.bytes(len).to_vec();
                annotate(
                    &mut dialogue,
                    Event::Data(entry(Direction::Client, raw, false)),
                    &limits,
                );
            }
            2 | 3 => {
                let len = usize::from(input.byte());
                let raw = input.bytes(len).to_vec();
                let tls = dialogue.is_tls() != (op & 8 == 8);
                annotate(
                    &mut dialogue,
                    Event::Data(entry(Direction::Server, raw, tls)),
                    &limits,
                );
            }
            4 => {
                // A credential where the dialogue must mask it: a SASL
                // response in the SASL phase, a credential command in the
                // commands phase.
                let phase = dialogue.phase();
                let secret = secret(&mut input);
                let mut raw = if phase == Phase::Sasl {
                    secret.clone()
                } else {
                    credential_line(protocol, op >> 3, true, &secret)
                };
                raw.extend_from_slice(b"\r\n");
                let entry = annotate(
                    &mut dialogue,
                    Event::Data(entry(Direction::Client, raw, false)),
                    &limits,
                );
                if matches!(phase, Phase::Commands | Phase::Sasl) {
                    let shown = entry.redacted();
                    assert!(
                        !contains(&shown, MARK),
                        "{protocol:?} in {phase:?}: secret shows in {:?}",
                        String::from_utf8_lossy(&shown)
                    );
                }
            }
            5 => dialogue.tls_established(op & 8 == 8),
            6 => {
                if op & 8 == 8 {
                    dialogue.tls_failed();
                } else {
                    let _ = dialogue.closed(op & 16 == 16);
                }
            }
            _ => {
                let len = usize::from(input.byte());
                let (note, _) = dialogue.injected(input.bytes(len));
                assert!(note.secrets.is_empty());
            }
        }
        let _ = dialogue.phase();
        let _ = dialogue.awaiting();
        let _ = dialogue.capabilities();
        let _ = dialogue.starttls_offered();
        let _ = dialogue.pop3_expect();
        let _ = dialogue.next_line_is_continuation();
    }
    let _ = dialogue.closed(true);
}

/// Runs `event` through the dialogue as a recording's loader does, checks
/// its note and returns the entry.
fn annotate(dialogue: &mut Dialogue, mut event: Event, limits: &Limits) -> Entry {
    let _ = dialogue.annotate(&mut event, limits);
    let (Event::Data(entry) | Event::Malformed { entry, .. }) = event else {
        unreachable!("only entries are annotated here");
    };
    assert_spans("note", entry.raw.len(), &entry.note.secrets);
    if entry.direction == Direction::Server {
        assert!(
            entry.note.secrets.is_empty(),
            "server bytes are never secrets"
        );
    }
    let _ = entry.redacted();
    entry
}

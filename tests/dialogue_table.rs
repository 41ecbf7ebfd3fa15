//! The failure classes of issue 8, one `S:`/`C:` script each, for SMTP,
//! IMAP and POP3 alike. Every script is checked twice:
//!
//! ```text
//! script --sans-IO--> Dialogue --> notes (answers, tag, outcome, phase) + finding ids
//! script --127.0.0.1 server--> mailwire check --json --> finding ids + exit status
//! ```
//!
//! The script language is in `tests/common/script.rs`. The dialogue sees
//! what a live engine would (one entry per `S:` step, framed again by the
//! protocol parsers); `X:`, `F:` and `W:` steps are for the live run only,
//! where the engine (not the dialogue) diagnoses them.

mod common;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::script::{self, ScriptServer, ScriptTls, Step};
use mailwire::protocol::Limits;
use mailwire::session::{Dialogue, Direction, Entry, Event, Note};
use mailwire::target::Protocol;
use test_case::test_case;

/// Findings only the engine or the TLS layer makes (timeouts, framing
/// limits, sniffed bytes, the handshake): the sans-IO run cannot see them.
const ENGINE_ONLY: &[&str] = &[
    "connect_failed",
    "timeout",
    "read_failed",
    "line_too_long",
    "reply_too_large",
    "literal_too_large",
    "handshake_failed",
    "implicit_tls_port",
    "connection_closed",
];

/// `--timeout` of every live run: long enough for loopback, short enough
/// that a wait the check should not make shows in the elapsed time.
const TIMEOUT: &str = "3s";

// ---- SMTP (RFC 5321, RFC 3207) ----------------------------------------------

/// The issue's own example: empty lines after the greeting and after the
/// EHLO reply are skipped, not taken as answers, and STARTTLS still runs.
const SMTP_EMPTY_LINES: &str = r"
S: 220 mail.example.com ESMTP => outcome=positive phase=commands
S: => outcome=junk answers=none phase=commands
C: EHLO client.test
S: 250-mail.example.com\r\n250-STARTTLS\r\n250 8BITMIME => answers=EHLO outcome=positive completes=true
S: => outcome=junk answers=none
C: STARTTLS
S: 220 2.0.0 Ready to start TLS => answers=STARTTLS outcome=positive phase=handshake
T: tls
C: EHLO client.test
S: 250-mail.example.com\r\n250 8BITMIME => answers=EHLO outcome=positive
C: QUIT
S: 221 2.0.0 Bye => answers=QUIT outcome=positive
";

/// A junk line between replies answers nothing; no STARTTLS offered.
const SMTP_JUNK_LINE: &str = r"
S: 220 mail.example.com ESMTP
C: EHLO client.test
S: hello from the middlebox => outcome=junk answers=none
S: 250-mail.example.com\r\n250 8BITMIME => answers=EHLO outcome=positive
C: QUIT
S: 221 2.0.0 Bye
";

/// A 421 greeting is the answer: no EHLO, only QUIT.
const SMTP_GREETING_421: &str = r"
S: 421 4.3.2 mail.example.com Service not available, try later => outcome=negative phase=ended
C: QUIT
";

/// A 554 greeting (RFC 5321 §3.1): refused, no EHLO.
const SMTP_GREETING_554: &str = r"
S: 554 5.7.1 mail.example.com no SMTP service here => outcome=negative phase=ended
C: QUIT
";

/// 421 to a command ends the session.
const SMTP_421_TO_EHLO: &str = r"
S: 220 mail.example.com ESMTP
C: EHLO client.test
S: 421 4.7.0 mail.example.com Error: too many errors => answers=EHLO outcome=negative phase=ended
C: QUIT
";

/// EHLO refused: HELO (RFC 5321 §3.2), and so no STARTTLS.
const SMTP_EHLO_502: &str = r"
S: 220 mail.example.com ESMTP
C: EHLO client.test
S: 502 5.5.2 Error: command not recognized => answers=EHLO outcome=negative phase=commands
C: HELO client.test
S: 250 mail.example.com => answers=HELO outcome=positive
C: QUIT
S: 221 2.0.0 Bye
";

/// A TLS alert record where the greeting should be: implicit TLS port.
const SMTP_TLS_RECORD: &str = r"
X: \x15\x03\x03\x00\x02\x02\x46
W: silent
";

/// An SSH server on the port.
const SMTP_SSH_BANNER: &str = r"
S: SSH-2.0-OpenSSH_9.6p1 Debian-4 => outcome=junk phase=ended
W: silent
";

/// An IMAP server on an SMTP URL.
const SMTP_IMAP_GREETING: &str = r"
S: * OK [CAPABILITY IMAP4rev1 STARTTLS] Dovecot ready. => outcome=junk phase=ended
W: silent
";

/// No STARTTLS, but AUTH offered in plaintext.
const SMTP_NOT_ADVERTISED: &str = r"
S: 220 mail.example.com ESMTP
C: EHLO client.test
S: 250-mail.example.com\r\n250-AUTH PLAIN LOGIN\r\n250 8BITMIME => answers=EHLO outcome=positive
C: QUIT
S: 221 2.0.0 Bye
";

/// `--starttls` sends it anyway; the refusal is quoted.
const SMTP_FORCED_REFUSED: &str = r"
S: 220 mail.example.com ESMTP
C: EHLO client.test
S: 250-mail.example.com\r\n250 8BITMIME
C: STARTTLS
S: 454 4.7.0 TLS not available due to local problem => answers=STARTTLS outcome=negative phase=commands
C: QUIT
S: 221 2.0.0 Bye
";

/// A control byte in one EHLO line keeps every other capability.
const SMTP_CONTROL_BYTE: &str = r"
S: 220 mail.example.com ESMTP
C: EHLO client.test
S: 250-mail.example.com\r\n250-X-\x1b[31mRED\r\n250-STARTTLS\r\n250 8BITMIME => answers=EHLO outcome=positive
C: STARTTLS
S: 220 2.0.0 Ready to start TLS
T: tls
C: EHLO client.test
S: 250 mail.example.com
C: QUIT
S: 221 2.0.0 Bye
";

/// STARTTLS response injection (CVE-2011-0411): bytes after the reply.
const SMTP_INJECTION: &str = r"
S: 220 mail.example.com ESMTP
C: EHLO client.test
S: 250-mail.example.com\r\n250 STARTTLS
C: STARTTLS
S: 220 2.0.0 Ready to start TLS\r\n250-INJECTED => outcome=injected phase=handshake
T: tls
C: EHLO client.test
S: 250 mail.example.com
C: QUIT
S: 221 2.0.0 Bye
";

/// `220-` without end: cut at the reply limit (10,000 lines).
const SMTP_ENDLESS: &str = r"
F: 220-mail.example.com still greeting
";

/// No greeting at all: one `timeout` after --timeout, no second wait.
const SMTP_SILENT: &str = r"
W: silent
";

/// Bare LF line endings are tolerated and reported.
const SMTP_BARE_LF: &str = r"
S: 220 mail.example.com ESMTP\n => outcome=positive
C: EHLO client.test
S: 250-mail.example.com\n250-STARTTLS\n250 8BITMIME\n => answers=EHLO outcome=positive
C: STARTTLS
S: 220 2.0.0 Ready to start TLS
T: tls
C: EHLO client.test
S: 250 mail.example.com
C: QUIT
S: 221 2.0.0 Bye
";

/// Implicit TLS (RFC 8314) is reported as implicit, not as STARTTLS.
const SMTPS_IMPLICIT: &str = r"
T: tls
S: 220 mail.example.com ESMTP => outcome=positive
C: EHLO client.test
S: 250-mail.example.com\r\n250 AUTH PLAIN => answers=EHLO outcome=positive
C: QUIT
S: 221 2.0.0 Bye
";

// ---- IMAP (RFC 9051, RFC 2595) ------------------------------------------------

const IMAP_EMPTY_LINES: &str = r"
S: * OK [CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED] ready => outcome=positive phase=commands
S: => outcome=junk answers=none
C: a1 CAPABILITY
S: * CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED => outcome=untagged answers=none
S: => outcome=junk
S: a1 OK done => answers=CAPABILITY tag=a1 outcome=positive completes=true
C: a2 STARTTLS
S: a2 OK Begin TLS negotiation now => answers=STARTTLS tag=a2 outcome=positive phase=handshake
T: tls
C: a3 CAPABILITY
S: * CAPABILITY IMAP4rev1 AUTH=PLAIN\r\na3 OK done => answers=CAPABILITY tag=a3 outcome=positive
C: a4 LOGOUT
S: * BYE logging out\r\na4 OK done => answers=LOGOUT tag=a4
";

const IMAP_BYE_GREETING: &str = r"
S: * BYE [UNAVAILABLE] Server busy, try again later => outcome=negative phase=ended
C: a1 LOGOUT
";

const IMAP_BYE_LATER: &str = r"
S: * OK ready
C: a1 CAPABILITY
S: * BYE [UNAVAILABLE] shutting down => outcome=negative phase=ended
C: a2 LOGOUT
";

const IMAP_PREAUTH: &str = r"
S: * PREAUTH [CAPABILITY IMAP4rev1 STARTTLS] logged in as demo => outcome=positive
C: a1 CAPABILITY
S: * CAPABILITY IMAP4rev1 STARTTLS\r\na1 OK done
C: a2 LOGOUT
S: * BYE bye\r\na2 OK done
";

const IMAP_TLS_RECORD: &str = r"
X: \x16\x03\x03\x00\x04\x0e\x00\x00\x00
W: silent
";

const IMAP_SMTP_SERVER: &str = r"
S: 220 mail.example.com ESMTP Postfix => outcome=junk phase=ended
W: silent
";

const IMAP_HTTP_BANNER: &str = r"
S: HTTP/1.1 400 Bad Request => outcome=junk phase=ended
W: silent
";

const IMAP_NOT_ADVERTISED: &str = r"
S: * OK ready
C: a1 CAPABILITY
S: * CAPABILITY IMAP4rev1 AUTH=PLAIN\r\na1 OK done => answers=CAPABILITY tag=a1 outcome=positive
C: a2 LOGOUT
S: * BYE bye\r\na2 OK done
";

const IMAP_STARTTLS_REFUSED: &str = r"
S: * OK ready
C: a1 CAPABILITY
S: * CAPABILITY IMAP4rev1 STARTTLS\r\na1 OK done
C: a2 STARTTLS
S: a2 NO [UNAVAILABLE] TLS not available => answers=STARTTLS tag=a2 outcome=negative phase=commands
C: a3 LOGOUT
S: * BYE bye\r\na3 OK done
";

const IMAP_INJECTION: &str = r"
S: * OK ready
C: a1 CAPABILITY
S: * CAPABILITY IMAP4rev1 STARTTLS\r\na1 OK done
C: a2 STARTTLS
S: a2 OK Begin TLS negotiation now\r\n* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] injected => outcome=injected
T: tls
C: a3 CAPABILITY
S: * CAPABILITY IMAP4rev1\r\na3 OK done
C: a4 LOGOUT
S: * BYE bye\r\na4 OK done
";

const IMAP_UNKNOWN_TAG: &str = r"
S: * OK ready
C: a1 CAPABILITY
S: * CAPABILITY IMAP4rev1 STARTTLS => outcome=untagged
S: zz9 OK what => answers=none tag=none
S: a1 OK done => answers=CAPABILITY tag=a1 outcome=positive
C: a2 STARTTLS
S: a2 OK Begin TLS negotiation now
T: tls
C: a3 CAPABILITY
S: * CAPABILITY IMAP4rev1\r\na3 OK done
C: a4 LOGOUT
S: * BYE bye\r\na4 OK done
";

const IMAP_HUGE_LITERAL: &str = r"
S: * OK ready
C: a1 CAPABILITY
X: * CAPABILITY IMAP4rev1 {99999999999}\r\n
W: silent
";

const IMAPS_IMPLICIT: &str = r"
T: tls
S: * OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] ready => outcome=positive
C: a1 CAPABILITY
S: * CAPABILITY IMAP4rev1 AUTH=PLAIN\r\na1 OK done => answers=CAPABILITY outcome=positive
C: a2 LOGOUT
S: * BYE bye\r\na2 OK done
";

// ---- POP3 (RFC 1939, RFC 2449, RFC 2595) ----------------------------------------

const POP3_EMPTY_LINES: &str = r"
S: +OK Dovecot ready. => outcome=positive phase=commands
S: => outcome=junk answers=none
C: CAPA
S: +OK\r\nSTLS\r\nUSER\r\n. => answers=CAPA outcome=positive completes=true
S: => outcome=junk
C: STLS
S: +OK Begin TLS negotiation now => answers=STLS outcome=positive phase=handshake
T: tls
C: CAPA
S: +OK\r\nUSER\r\n. => answers=CAPA outcome=positive
C: QUIT
S: +OK Logging out
";

const POP3_ERR_GREETING: &str = r"
S: -ERR [SYS/TEMP] Server busy, try again later => outcome=negative phase=ended
C: QUIT
";

/// CAPA refused (RFC 2449 is optional): STLS is still tried (RFC 2595 §4).
const POP3_CAPA_ERR: &str = r"
S: +OK ready
C: CAPA
S: -ERR unknown command => answers=CAPA outcome=negative phase=commands
C: STLS
S: +OK Begin TLS negotiation now => answers=STLS outcome=positive phase=handshake
T: tls
C: CAPA
S: -ERR unknown command
C: QUIT
S: +OK bye
";

const POP3_CAPA_ERR_STLS_REFUSED: &str = r"
S: +OK ready
C: CAPA
S: -ERR unknown command
C: STLS
S: -ERR command not recognised => answers=STLS outcome=negative
C: QUIT
S: +OK bye
";

const POP3_TLS_RECORD: &str = r"
X: \x15\x03\x01\x00\x02\x02\x46
W: silent
";

const POP3_IMAP_GREETING: &str = r"
S: * OK [CAPABILITY IMAP4rev1] Dovecot ready. => outcome=junk phase=ended
W: silent
";

const POP3_SSH_BANNER: &str = r"
S: SSH-2.0-OpenSSH_9.6p1 => outcome=junk phase=ended
W: silent
";

const POP3_NOT_ADVERTISED: &str = r"
S: +OK ready
C: CAPA
S: +OK\r\nUSER\r\nSASL PLAIN\r\n. => answers=CAPA outcome=positive
C: QUIT
S: +OK bye
";

const POP3_INJECTION: &str = r"
S: +OK ready
C: CAPA
S: +OK\r\nSTLS\r\n.
C: STLS
S: +OK Begin TLS\r\n+OK injected => outcome=injected phase=handshake
T: tls
C: CAPA
S: +OK\r\nUSER\r\n.
C: QUIT
S: +OK bye
";

const POP3_SILENT_CAPA: &str = r"
S: +OK ready
C: CAPA
W: silent
";

#[test_case("smtp", &["--starttls"], SMTP_EMPTY_LINES, &["empty_line"], 0, "upgraded" ; "smtp empty lines")]
#[test_case("smtp", &[], SMTP_JUNK_LINE, &["junk_line", "starttls_not_advertised"], 1, "not_offered" ; "smtp junk line")]
#[test_case("smtp", &[], SMTP_GREETING_421, &["service_refused"], 3, "not_attempted" ; "smtp greeting 421")]
#[test_case("smtp", &[], SMTP_GREETING_554, &["service_refused"], 3, "not_attempted" ; "smtp greeting 554")]
#[test_case("smtp", &[], SMTP_421_TO_EHLO, &["service_closing"], 3, "not_attempted" ; "smtp 421 to ehlo")]
#[test_case("smtp", &[], SMTP_EHLO_502, &["no_esmtp"], 1, "not_offered" ; "smtp ehlo 502 helo")]
#[test_case("smtp", &[], SMTP_TLS_RECORD, &["implicit_tls_port"], 3, "not_attempted" ; "smtp tls record")]
#[test_case("smtp", &[], SMTP_SSH_BANNER, &["wrong_service"], 3, "not_attempted" ; "smtp ssh banner")]
#[test_case("smtp", &[], SMTP_IMAP_GREETING, &["wrong_protocol"], 3, "not_attempted" ; "smtp imap greeting")]
#[test_case("smtp", &[], SMTP_NOT_ADVERTISED, &["auth_in_plaintext", "starttls_not_advertised"], 1, "not_offered" ; "smtp not advertised")]
#[test_case("smtp", &["--starttls"], SMTP_FORCED_REFUSED, &["starttls_not_advertised", "starttls_refused"], 1, "refused" ; "smtp forced refused")]
#[test_case("smtp", &[], SMTP_CONTROL_BYTE, &["control_bytes"], 0, "upgraded" ; "smtp control byte")]
#[test_case("smtp", &[], SMTP_INJECTION, &["starttls_injection"], 1, "upgraded" ; "smtp injection")]
#[test_case("smtp", &[], SMTP_ENDLESS, &["reply_too_large"], 3, "not_attempted" ; "smtp endless continuation")]
#[test_case("smtp", &[], SMTP_SILENT, &["timeout"], 3, "not_attempted" ; "smtp silent")]
#[test_case("smtp", &[], SMTP_BARE_LF, &["bare_lf"], 0, "upgraded" ; "smtp bare lf")]
#[test_case("smtps", &[], SMTPS_IMPLICIT, &[], 0, "implicit" ; "smtps implicit")]
#[test_case("imap", &[], IMAP_EMPTY_LINES, &["empty_line"], 0, "upgraded" ; "imap empty lines")]
#[test_case("imap", &[], IMAP_BYE_GREETING, &["service_refused"], 3, "not_attempted" ; "imap bye greeting")]
#[test_case("imap", &[], IMAP_BYE_LATER, &["service_closing"], 3, "not_attempted" ; "imap bye later")]
#[test_case("imap", &[], IMAP_PREAUTH, &["preauth_greeting"], 1, "not_offered" ; "imap preauth")]
#[test_case("imap", &[], IMAP_TLS_RECORD, &["implicit_tls_port"], 3, "not_attempted" ; "imap tls record")]
#[test_case("imap", &[], IMAP_SMTP_SERVER, &["wrong_protocol"], 3, "not_attempted" ; "imap smtp server")]
#[test_case("imap", &[], IMAP_HTTP_BANNER, &["wrong_service"], 3, "not_attempted" ; "imap http banner")]
#[test_case("imap", &[], IMAP_NOT_ADVERTISED, &["auth_in_plaintext", "starttls_not_advertised"], 1, "not_offered" ; "imap not advertised")]
#[test_case("imap", &[], IMAP_STARTTLS_REFUSED, &["starttls_refused"], 1, "refused" ; "imap starttls refused")]
#[test_case("imap", &[], IMAP_INJECTION, &["starttls_injection"], 1, "upgraded" ; "imap injection")]
#[test_case("imap", &[], IMAP_UNKNOWN_TAG, &["unknown_tag"], 0, "upgraded" ; "imap unknown tag")]
#[test_case("imap", &[], IMAP_HUGE_LITERAL, &["literal_too_large"], 3, "not_attempted" ; "imap huge literal")]
#[test_case("imaps", &[], IMAPS_IMPLICIT, &[], 0, "implicit" ; "imaps implicit")]
#[test_case("pop3", &[], POP3_EMPTY_LINES, &["empty_line"], 0, "upgraded" ; "pop3 empty lines")]
#[test_case("pop3", &[], POP3_ERR_GREETING, &["service_refused"], 3, "not_attempted" ; "pop3 err greeting")]
#[test_case("pop3", &[], POP3_CAPA_ERR, &["capa_unsupported"], 0, "upgraded" ; "pop3 capa err")]
#[test_case("pop3", &[], POP3_CAPA_ERR_STLS_REFUSED, &["capa_unsupported", "starttls_refused"], 1, "not_offered" ; "pop3 capa err stls refused")]
#[test_case("pop3", &[], POP3_TLS_RECORD, &["implicit_tls_port"], 3, "not_attempted" ; "pop3 tls record")]
#[test_case("pop3", &[], POP3_IMAP_GREETING, &["wrong_protocol"], 3, "not_attempted" ; "pop3 imap greeting")]
#[test_case("pop3", &[], POP3_SSH_BANNER, &["wrong_service"], 3, "not_attempted" ; "pop3 ssh banner")]
#[test_case("pop3", &[], POP3_NOT_ADVERTISED, &["auth_in_plaintext", "starttls_not_advertised"], 1, "not_offered" ; "pop3 not advertised")]
#[test_case("pop3", &[], POP3_INJECTION, &["starttls_injection"], 1, "upgraded" ; "pop3 injection")]
#[test_case("pop3", &[], POP3_SILENT_CAPA, &["timeout"], 3, "not_attempted" ; "pop3 silent capa")]
#[tokio::test]
async fn failure_class(
    scheme: &str,
    args: &[&str],
    script: &str,
    findings: &[&str],
    exit: i32,
    starttls: &str,
) {
    let steps = script::parse(script);
    let protocol = match scheme {
        "smtp" | "smtps" => Protocol::Smtp,
        "imap" | "imaps" => Protocol::Imap,
        _ => Protocol::Pop3,
    };
    let want: BTreeSet<&str> = findings.iter().copied().collect();

    // Sans-IO: the notes, and the findings the dialogue itself makes.
    let (problems, seen) = run_dialogue(protocol, &steps);
    assert!(problems.is_empty(), "notes:\n{}", problems.join("\n"));
    let seen: BTreeSet<&str> = seen.iter().map(String::as_str).collect();
    let want_dialogue: BTreeSet<&str> = want
        .iter()
        .copied()
        .filter(|id| !ENGINE_ONLY.contains(id))
        .collect();
    assert_eq!(
        seen, want_dialogue,
        "the dialogue's findings (engine-only ids left out)"
    );

    // Live: the same script on 127.0.0.1, through `check --json`.
    let tls = Arc::new(ScriptTls::new());
    let server = ScriptServer::start(steps, Arc::clone(&tls)).await;
    let url = format!("{scheme}://{}", server.addr);
    let (json, code, elapsed) = script::check_trusting(&url, &tls.ca_pem, args).await;
    let problems = server.finish().await;
    assert!(
        problems.is_empty(),
        "the client strayed from the script: {problems:?}\n{json:#}"
    );
    let ids = script::finding_ids(&json);
    assert_eq!(
        ids,
        want.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
        "{json:#}"
    );
    assert_eq!(code, exit, "{json:#}");
    assert_eq!(json["exit_code"], exit, "{json:#}");
    assert_eq!(json["starttls"]["result"], starttls, "{json:#}");
    // Every finding is complete: id, severity, stage, summary, advice, source.
    for f in json["findings"].as_array().unwrap() {
        for key in ["severity", "stage", "summary", "advice", "source"] {
            assert!(
                f[key].as_str().is_some_and(|s| !s.is_empty()),
                "finding without {key}: {f:#}"
            );
        }
    }
    // A server that answered is not waited out: only a silent one costs
    // the timeout, once (the QUIT after it waits at most 2 s more).
    let limit = if want.contains("timeout") {
        Duration::from_secs(3 + 2 + 2)
    } else {
        Duration::from_secs(2)
    };
    assert!(elapsed < limit, "check took {elapsed:?}\n{json:#}");
}

/// Feeds the script to a fresh dialogue as the engine would; returns what
/// went against the note expectations and the ids of its findings.
fn run_dialogue(protocol: Protocol, steps: &[Step]) -> (Vec<String>, BTreeSet<String>) {
    let mut dialogue = Dialogue::new(protocol);
    let mut problems = Vec::new();
    let mut ids = BTreeSet::new();
    let mut tls = false;
    for (i, step) in steps.iter().enumerate() {
        let at = Duration::from_millis(i as u64);
        match step {
            Step::Client(line) => {
                let raw = format!("{line}\r\n");
                let (_, findings) = dialogue.client(at, raw.as_bytes());
                ids.extend(findings.into_iter().map(|f| f.id.as_str().to_string()));
            }
            Step::Server { raw, expect } => {
                let mut event = Event::Data(Entry {
                    at,
                    direction: Direction::Server,
                    raw: raw.clone(),
                    tls,
                    note: Box::default(),
                });
                let findings = dialogue.annotate(&mut event, &Limits::default());
                ids.extend(findings.into_iter().map(|f| f.id.as_str().to_string()));
                let Event::Data(entry) = event else {
                    unreachable!()
                };
                for (key, want) in expect {
                    let got = note_field(&entry.note, key);
                    if &got != want {
                        problems.push(format!(
                            "step {} {:?}: {key} is {got}, the script wants {want}",
                            i + 1,
                            String::from_utf8_lossy(raw)
                        ));
                    }
                }
            }
            Step::Tls => {
                dialogue.tls_established(true);
                tls = true;
            }
            Step::Raw(_) | Step::Flood(_) | Step::Silent => {}
        }
    }
    (problems, ids)
}

/// One field of a note as the script spells it.
fn note_field(note: &Note, key: &str) -> String {
    let name = |v: serde_json::Value| v.as_str().unwrap_or_default().to_string();
    match key {
        "answers" => note
            .answers
            .as_ref()
            .map_or("none".into(), |a| a.verb.as_str().to_string()),
        "tag" => note
            .answers
            .as_ref()
            .and_then(|a| a.tag.as_ref())
            .map_or("none".into(), ToString::to_string),
        "outcome" => name(serde_json::to_value(note.outcome).unwrap()),
        "phase" => name(serde_json::to_value(note.phase).unwrap()),
        "completes" => note.completes.to_string(),
        other => panic!("unknown note field {other:?}"),
    }
}

/// A port nobody listens on: `connect_failed`, result `not_attempted`
/// (never an empty string), exit 3.
#[tokio::test]
async fn connect_failed_has_a_result() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    for scheme in ["smtp", "imap", "pop3"] {
        let url = format!("{scheme}://127.0.0.1:{port}");
        let (json, code, _) = script::check_json(&[&url, "--timeout", TIMEOUT]).await;
        assert_eq!(script::finding_ids(&json), ["connect_failed"], "{json:#}");
        assert_eq!(code, 3);
        assert_eq!(json["starttls"]["result"], "not_attempted");
    }
}

/// C1 and bidi controls from the server reach JSON only as `\uXXXX`
/// escapes, and the exact text decodes back from them.
#[tokio::test]
async fn c1_and_bidi_controls_are_escaped_in_json() {
    let greeting = "220 mail.example.com \u{9b}31m ESMTP \u{202e}gnp.exe \u{2066}x\u{2069}";
    let script = format!(
        "S: {greeting}\nC: EHLO client.test\nS: 250 mail.example.com\nC: QUIT\nS: 221 Bye\n"
    );
    let tls = Arc::new(ScriptTls::new());
    let server = ScriptServer::start(script::parse(&script), tls).await;
    let url = format!("smtp://{}", server.addr);
    let (json, code, stdout) =
        script::check_json(&[&url, "--ehlo", "client.test", "--timeout", TIMEOUT]).await;
    assert!(server.finish().await.is_empty());
    assert_eq!(code, 1, "{json:#}");
    let text = String::from_utf8(stdout).unwrap();
    for raw in ['\u{9b}', '\u{202e}', '\u{2066}', '\u{2069}'] {
        assert!(!text.contains(raw), "raw U+{:04X} in the JSON", raw as u32);
    }
    for escaped in ["\\u009b", "\\u202e", "\\u2066", "\\u2069"] {
        assert!(text.contains(escaped), "{escaped} missing from the JSON");
    }
    assert_eq!(
        json["steps"][0]["text"], greeting,
        "the exact text decodes back"
    );
}

/// `--timeout` applies in the TUI too: a server that never greets gets a
/// `timeout` finding on screen after --timeout (1 s), not the default 30 s.
#[test]
fn tui_timeout_finding() {
    if !common::tmux::available("TUI --timeout test") {
        return;
    }
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    // Accepts and says nothing; ends when the test's process does.
    std::thread::spawn(move || {
        let held = listener.accept();
        std::thread::sleep(Duration::from_secs(60));
        drop(held);
    });
    let url = format!("smtp://127.0.0.1:{port}");
    let started = Instant::now();
    let t = common::tmux::Tmux::mailwire("tui-timeout", &[url.as_str(), "--timeout", "1s"]);
    let screen = t.wait_text("no greeting within 1000 ms");
    let elapsed = started.elapsed();
    t.kill();
    assert!(
        elapsed >= Duration::from_millis(900) && elapsed < Duration::from_secs(10),
        "the finding came after {elapsed:?}:\n{screen}"
    );
}

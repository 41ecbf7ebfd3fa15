//! Misbehaviour switches for the built-in server (`serve --quirk NAME`):
//! each turns one well-behaved listener into a server that commits one of
//! the faults mailwire diagnoses, so the client side can be shown and tested
//! against every failure class without a broken real server.
//!
//! ```text
//! accept -> [opening quirk?] --yes--> quirk::opening (replaces the session)
//!                            --no---> smtp/imap/pop3 session
//!                                       |- reply quirks (EHLO 502, CAPA -ERR,
//!                                       |  no STARTTLS, control byte)
//!                                       \- Framed: empty lines, injection
//! ```
//!
//! Where a quirk has no meaning for a protocol (EHLO on IMAP), that
//! listener behaves normally; each variant's doc says where it applies.

use std::time::Duration;

use tokio::io::AsyncWriteExt;

use super::framed::{Framed, MailStream};
use super::{SERVER_HOST, Service};
use crate::target::Protocol;

/// How long an opening quirk waits for the client's next line (its QUIT).
const WAIT: Duration = Duration::from_secs(5);
/// Most lines an endless reply writes before the server gives up on the
/// client cutting it off (2,000,000: past every limit of the client).
const MAX_ENDLESS_LINES: usize = 2_000_000;

/// One misbehaviour of the built-in server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, clap::ValueEnum)]
pub enum Quirk {
    /// An empty line before every reply after the greeting (all protocols;
    /// never between a STARTTLS reply and the handshake).
    EmptyLines,
    /// Greeting refused as "try later": SMTP `421 4.3.2`, IMAP `* BYE`,
    /// POP3 `-ERR [SYS/TEMP]` (RFC 5321 §3.8); then the server hangs up.
    #[value(name = "greeting-421")]
    Greeting421,
    /// Greeting refused for good: SMTP `554 5.7.1` (RFC 5321 §3.1), IMAP
    /// `* BYE`, POP3 `-ERR`; then the server hangs up.
    #[value(name = "greeting-554")]
    Greeting554,
    /// The first command is answered with the end of the session: IMAP
    /// `* BYE` (RFC 9051 §7.1.5), SMTP `421 4.3.2`; POP3 unaffected.
    ImapBye,
    /// SMTP: EHLO is answered `502 5.5.2`, HELO works (RFC 5321 §3.2).
    #[value(name = "ehlo-502")]
    Ehlo502,
    /// POP3: CAPA is answered with a one-line `-ERR` (RFC 2449 is optional);
    /// STLS still works.
    CapaErr,
    /// Plaintext listeners answer the connection with a TLS alert record,
    /// as a port that speaks implicit TLS does.
    TlsOnPlaintext,
    /// An SSH server's banner instead of the greeting.
    SshBanner,
    /// An HTTP server's answer instead of the greeting.
    HttpBanner,
    /// IMAP and POP3 listeners speak SMTP (`220` greeting, `500 5.5.2` to
    /// every command): the wrong service on the port.
    SmtpReplyToImap,
    /// STARTTLS/STLS is neither advertised nor accepted.
    NoStarttls,
    /// One capability line holds an ESC control byte (SMTP EHLO, IMAP
    /// CAPABILITY, POP3 CAPA); STARTTLS is still advertised.
    ControlByteInEhlo,
    /// After the positive STARTTLS/STLS reply, one more plaintext line
    /// before the handshake (STARTTLS response injection, CVE-2011-0411).
    StarttlsInjection,
    /// A reply without end: SMTP `220-` greeting lines, IMAP untagged
    /// `* OK` lines after the first command, POP3 CAPA lines (which the
    /// client streams, bounded by its body limit); stops when the client
    /// hangs up, or after 2,000,000 lines.
    EndlessContinuation,
}

impl Quirk {
    /// The name as given to `--quirk`.
    pub fn name(self) -> String {
        clap::ValueEnum::to_possible_value(&self)
            .map(|v| v.get_name().to_string())
            .unwrap_or_default()
    }
}

/// The quirks one server runs with.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Quirks(Vec<Quirk>);

impl Quirks {
    /// The set of `list` (repeats are harmless).
    pub fn new(list: &[Quirk]) -> Quirks {
        Quirks(list.to_vec())
    }

    /// True when `q` is switched on.
    pub fn has(&self, q: Quirk) -> bool {
        self.0.contains(&q)
    }

    /// The line injected after a positive STARTTLS reply, in the protocol's
    /// syntax, when [`Quirk::StarttlsInjection`] is on.
    pub(crate) fn injection(&self, protocol: Protocol) -> Option<&'static [u8]> {
        self.has(Quirk::StarttlsInjection)
            .then_some(match protocol {
                Protocol::Imap => b"* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] injected\r\n",
                Protocol::Pop3 => b"+OK injected\r\n",
                _ => b"250-AUTH PLAIN injected\r\n",
            })
    }
}

/// True when a quirk replaces the whole session of `service`.
pub(crate) fn replaces_session(quirks: &Quirks, service: Service) -> bool {
    let protocol = service.protocol();
    let plain = service.tls() == crate::target::TlsMode::Starttls;
    quirks.has(Quirk::Greeting421)
        || quirks.has(Quirk::Greeting554)
        || (quirks.has(Quirk::TlsOnPlaintext) && plain)
        || quirks.has(Quirk::SshBanner)
        || quirks.has(Quirk::HttpBanner)
        || (quirks.has(Quirk::SmtpReplyToImap) && protocol != Protocol::Smtp)
        || quirks.has(Quirk::EndlessContinuation)
        || (quirks.has(Quirk::ImapBye) && protocol != Protocol::Pop3)
}

/// Plays the quirk that replaces the session (see [`replaces_session`]).
pub(crate) async fn opening(quirks: &Quirks, service: Service, mut framed: Framed<MailStream>) {
    let protocol = service.protocol();
    let refusal = |permanent: bool| -> String {
        match protocol {
            Protocol::Imap => "* BYE [UNAVAILABLE] Server busy, try again later".into(),
            Protocol::Pop3 => "-ERR [SYS/TEMP] Server busy, try again later".into(),
            _ if permanent => format!("554 5.7.1 {SERVER_HOST} ESMTP not available to you"),
            _ => format!("421 4.3.2 {SERVER_HOST} Service not available, try again later"),
        }
    };
    if quirks.has(Quirk::TlsOnPlaintext) && service.tls() == crate::target::TlsMode::Starttls {
        // A fatal alert 70 protocol_version in a TLS 1.2 record, as an
        // implicit-TLS server answers bytes that are no ClientHello.
        let _ = framed
            .send(&[0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x46])
            .await;
    } else if quirks.has(Quirk::SshBanner) {
        let _ = framed.send_line("SSH-2.0-OpenSSH_9.6p1 Debian-4").await;
        let _ = framed.read_line_within(WAIT).await;
    } else if quirks.has(Quirk::HttpBanner) {
        let _ = framed
            .send(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            .await;
    } else if quirks.has(Quirk::Greeting421) || quirks.has(Quirk::Greeting554) {
        let permanent = !quirks.has(Quirk::Greeting421);
        if framed.send_line(&refusal(permanent)).await.is_ok() {
            // The client's QUIT/LOGOUT, then hang up without an answer.
            let _ = framed.read_line_within(WAIT).await;
        }
    } else if quirks.has(Quirk::SmtpReplyToImap) && protocol != Protocol::Smtp {
        let _ = smtp_everywhere(&mut framed).await;
    } else if quirks.has(Quirk::EndlessContinuation) {
        let _ = endless(protocol, &mut framed).await;
    } else if quirks.has(Quirk::ImapBye) {
        let (greeting, bye) = match protocol {
            Protocol::Imap => (
                "* OK [CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED] mailwire ready.".to_string(),
                "* BYE [UNAVAILABLE] Server shutting down.".to_string(),
            ),
            _ => (
                format!("220 {SERVER_HOST} ESMTP mailwire"),
                format!(
                    "421 4.3.2 {SERVER_HOST} Service shutting down, closing transmission channel"
                ),
            ),
        };
        if framed.send_line(&greeting).await.is_ok() && framed.read_line_within(WAIT).await.is_ok()
        {
            let _ = framed.send_line(&bye).await;
            let _ = framed.read_line_within(WAIT).await;
        }
    }
    framed.close().await;
}

/// An SMTP server on an IMAP or POP3 port.
async fn smtp_everywhere(framed: &mut Framed<MailStream>) -> Result<(), super::framed::WireError> {
    framed
        .send_line(&format!("220 {SERVER_HOST} ESMTP mailwire"))
        .await?;
    // Bounded: the idle timeout ends a silent client, and the loop a chatty one.
    for _ in 0..100 {
        let line = framed.read_line_within(WAIT).await?.text();
        if line.trim().eq_ignore_ascii_case("QUIT") {
            return framed.send_line("221 2.0.0 Bye").await;
        }
        framed
            .send_line("500 5.5.2 Error: command not recognized")
            .await?;
    }
    Ok(())
}

/// A reply that never ends, until the client hangs up.
async fn endless(
    protocol: Protocol,
    framed: &mut Framed<MailStream>,
) -> Result<(), super::framed::WireError> {
    let line: &[u8] = match protocol {
        Protocol::Imap => {
            framed
                .send_line("* OK [CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED] mailwire ready.")
                .await?;
            framed.read_line_within(WAIT).await?;
            b"* OK still busy\r\n"
        }
        Protocol::Pop3 => {
            framed.send_line("+OK mailwire ready.").await?;
            framed.read_line_within(WAIT).await?;
            framed.send_line("+OK").await?;
            b"X-FILLER\r\n"
        }
        _ => b"220-localhost still greeting\r\n",
    };
    // Whole chunks of lines: one write per 64 KiB, not per line.
    let chunk: Vec<u8> = line
        .iter()
        .copied()
        .cycle()
        .take(line.len() * (64 * 1024 / line.len()))
        .collect();
    let per_chunk = chunk.len() / line.len();
    for _ in 0..MAX_ENDLESS_LINES / per_chunk {
        // The client cuts the connection at its limit: the write fails.
        framed.send(&chunk).await?;
    }
    Ok(())
}

/// Writes the injected line on the plaintext stream, before the handshake.
pub(crate) async fn inject(stream: &mut tokio::net::TcpStream, line: &[u8]) {
    let _ = stream.write_all(line).await;
    let _ = stream.flush().await;
}

/// The control-byte capability line, in the protocol's syntax.
pub(crate) const CONTROL_CAPABILITY: &str = "X-\u{1b}RED";

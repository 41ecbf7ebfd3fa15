//! The demo server's POP3 side (RFC 1939) with CAPA (RFC 2449), STLS
//! (RFC 2595 §4) and SASL AUTH (RFC 5034).
//!
//! Replies copy Dovecot 2.3 with `disable_plaintext_auth = yes`: before TLS
//! USER/PASS are refused with `[AUTH]` and CAPA lists no USER and an empty
//! SASL line.
//!
//! ```text
//! S: +OK mailwire ready.
//! C: STLS
//! S: +OK Begin TLS negotiation now.
//! (TLS handshake)
//! C: USER demo            S: +OK
//! C: PASS demo-password   S: +OK Logged in.
//! C: RETR 1               S: +OK 417 octets / dot-stuffed message / .
//! ```

use super::Conn;
use super::framed::{Framed, MailStream, WireError};
use super::mailbox::{Flags, Message};
use super::quirk::{self, Quirk};
use super::sasl::{self, Mechanism, SaslError};
use crate::protocol::command::{self, Verb};
use crate::target::Protocol;

/// Dovecot's pop3-login disconnects after this many unknown commands.
const MAX_BAD_PRELOGIN: u32 = 3;
/// And the pop3 process after this many.
const MAX_BAD_TRANSACTION: u32 = 20;

const PLAINTEXT_DISALLOWED: &str =
    "-ERR [AUTH] Plaintext authentication disallowed on non-secure (SSL/TLS) connections.";

enum Next {
    Continue,
    StartTls,
    Close,
}

/// The TRANSACTION state (RFC 1939 §5): the maildrop as it was at login.
struct Maildrop {
    messages: Vec<Message>,
    deleted: Vec<bool>,
    /// Messages retrieved with RETR; marked \Seen at QUIT, as Dovecot does.
    retrieved: Vec<bool>,
}

struct Session<'a> {
    conn: &'a Conn,
    tls: bool,
    user: Option<String>,
    maildrop: Option<Maildrop>,
    bad: u32,
}

/// Serves one POP3 connection until QUIT, error, timeout or shutdown.
pub(crate) async fn run(conn: &Conn, mut framed: Framed<MailStream>) {
    let mut s = Session {
        conn,
        tls: framed.is_tls(),
        user: None,
        maildrop: None,
        bad: 0,
    };
    if framed.send_line("+OK mailwire ready.").await.is_err() {
        return;
    }
    loop {
        let result = match framed.read_line().await {
            Ok(line) => s.command(&mut framed, &line.text()).await,
            Err(e) => Err(e),
        };
        match result {
            Ok(Next::Continue) => {}
            Ok(Next::Close) => break,
            Ok(Next::StartTls) => {
                if framed.start_tls(&conn.shared.tls).await.is_err() {
                    break;
                }
                s.tls = true;
                s.user = None;
            }
            Err(e) => {
                let farewell = match e {
                    WireError::LineTooLong { .. } => Some("-ERR Input buffer full, aborting"),
                    WireError::Timeout => Some("-ERR Disconnected for inactivity."),
                    WireError::Shutdown => Some("-ERR Server shutting down."),
                    WireError::Closed | WireError::Io(_) => None,
                };
                if let Some(text) = farewell {
                    let _ = framed.send_line(text).await;
                }
                break;
            }
        }
    }
    framed.close().await;
}

/// Dot-stuffs a message for a multi-line response (RFC 1939 §3) and adds
/// the terminating `.` line. At most `body_lines` lines after the header
/// are sent (TOP); `None` sends everything (RETR).
fn multiline(raw: &[u8], body_lines: Option<usize>) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len() + 16);
    let mut in_body = false;
    let mut sent_body = 0usize;
    let mut rest = raw;
    while !rest.is_empty() {
        if in_body && body_lines.is_some_and(|max| sent_body >= max) {
            break;
        }
        let (line, next) = match rest.iter().position(|&b| b == b'\n') {
            Some(i) => (&rest[..=i], &rest[i + 1..]),
            None => (rest, &rest[rest.len()..]),
        };
        let content = line
            .strip_suffix(b"\n")
            .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
            .unwrap_or(line);
        if content.first() == Some(&b'.') {
            out.push(b'.');
        }
        out.extend_from_slice(content);
        out.extend_from_slice(b"\r\n");
        if in_body {
            sent_body += 1;
        } else if content.is_empty() {
            in_body = true;
        }
        rest = next;
    }
    out.extend_from_slice(b".\r\n");
    out
}

/// Parses a message number the way Dovecot does, with its error texts.
fn message_number(arg: &str, count: usize) -> Result<usize, String> {
    if !arg.starts_with(|c: char| c.is_ascii_digit()) {
        return Err(format!("-ERR Invalid message number: {arg}"));
    }
    let digits = arg.len() - arg.trim_start_matches(|c: char| c.is_ascii_digit()).len();
    let (num, noise) = arg.split_at(digits);
    let Ok(n) = num.parse::<usize>() else {
        return Err(format!("-ERR Message number too large: {arg}"));
    };
    if !noise.is_empty() {
        return Err(format!("-ERR Noise after message number: {noise}"));
    }
    if n == 0 || n > count {
        return Err(format!("-ERR There's no message {n}."));
    }
    Ok(n - 1)
}

impl Session<'_> {
    async fn command(
        &mut self,
        framed: &mut Framed<MailStream>,
        line: &str,
    ) -> Result<Next, WireError> {
        // The client's vocabulary (`protocol::command`); PASS keeps its
        // argument whole, spaces included (RFC 1939 §7).
        let parsed = command::parse(Protocol::Pop3, line.as_bytes(), false);
        let verb = parsed.verb.clone();
        let arg = line.get(parsed.args.clone()).unwrap_or_default();
        if self.maildrop.is_some() {
            return self.transaction(framed, &verb, arg).await;
        }
        match verb {
            Verb::Capa => {
                let quirks = &self.conn.shared.quirks;
                if quirks.has(Quirk::CapaErr) {
                    framed.send_line("-ERR Unknown command: CAPA").await?;
                    return Ok(Next::Continue);
                }
                let mut caps = String::from(
                    "+OK\r\nCAPA\r\nTOP\r\nUIDL\r\nRESP-CODES\r\nPIPELINING\r\nAUTH-RESP-CODE\r\n",
                );
                if quirks.has(Quirk::ControlByteInEhlo) {
                    caps.push_str(quirk::CONTROL_CAPABILITY);
                    caps.push_str("\r\n");
                }
                if self.tls {
                    caps.push_str("USER\r\nSASL PLAIN LOGIN\r\n");
                } else if quirks.has(Quirk::NoStarttls) {
                    caps.push_str("SASL\r\n");
                } else {
                    // Dovecot lists SASL with no mechanisms while plaintext
                    // authentication is disabled.
                    caps.push_str("STLS\r\nSASL\r\n");
                }
                caps.push_str(".\r\n");
                framed.send(caps.as_bytes()).await?;
            }
            Verb::Stls => {
                if self.tls {
                    framed.send_line("-ERR TLS is already active.").await?;
                } else if self.conn.shared.quirks.has(Quirk::NoStarttls) {
                    framed.send_line("-ERR Unknown command: STLS").await?;
                } else {
                    framed.send_line("+OK Begin TLS negotiation now.").await?;
                    return Ok(Next::StartTls);
                }
            }
            Verb::User => {
                if !self.tls {
                    framed.send_line(PLAINTEXT_DISALLOWED).await?;
                } else if arg.is_empty() {
                    framed.send_line("-ERR No username given.").await?;
                } else {
                    self.user = Some(arg.to_string());
                    framed.send_line("+OK").await?;
                }
            }
            Verb::Pass => {
                if !self.tls {
                    framed.send_line(PLAINTEXT_DISALLOWED).await?;
                } else if let Some(user) = self.user.take() {
                    let ok = sasl::credentials_ok(user.as_bytes(), arg.as_bytes());
                    self.finish_login(framed, ok).await?;
                } else {
                    framed.send_line("-ERR No username given.").await?;
                }
            }
            Verb::Auth => self.auth(framed, arg).await?,
            Verb::Quit => {
                framed.send_line("+OK Logging out").await?;
                return Ok(Next::Close);
            }
            _ => {
                framed.send_line("-ERR Unknown command.").await?;
                self.bad += 1;
                if self.bad >= MAX_BAD_PRELOGIN {
                    framed
                        .send_line("-ERR Too many invalid bad commands.")
                        .await?;
                    return Ok(Next::Close);
                }
            }
        }
        Ok(Next::Continue)
    }

    async fn finish_login(
        &mut self,
        framed: &mut Framed<MailStream>,
        ok: bool,
    ) -> Result<(), WireError> {
        if !ok {
            return framed.send_line("-ERR [AUTH] Authentication failed.").await;
        }
        let messages = self.conn.shared.mailbox.snapshot();
        let n = messages.len();
        self.maildrop = Some(Maildrop {
            messages,
            deleted: vec![false; n],
            retrieved: vec![false; n],
        });
        framed.send_line("+OK Logged in.").await
    }

    async fn auth(&mut self, framed: &mut Framed<MailStream>, arg: &str) -> Result<(), WireError> {
        if arg.is_empty() {
            // RFC 5034 leaves this open; Dovecot lists usable mechanisms.
            let list = if self.tls {
                "+OK\r\nPLAIN\r\nLOGIN\r\n.\r\n"
            } else {
                "+OK\r\n.\r\n"
            };
            return framed.send(list.as_bytes()).await;
        }
        let (mech_name, initial) = match arg.split_once(' ') {
            Some((m, ir)) => (m, Some(ir.trim())),
            None => (arg, None),
        };
        let Some(mech) = Mechanism::parse(mech_name) else {
            return framed
                .send_line("-ERR [AUTH] Unsupported authentication mechanism.")
                .await;
        };
        if !self.tls {
            return framed
                .send_line("-ERR [AUTH] Plaintext authentication disabled.")
                .await;
        }
        let outcome = sasl::exchange(framed, "+ ", mech, initial).await?;
        match outcome.map_err(|(e, _)| e) {
            Ok(login) => self.finish_login(framed, login.ok).await,
            Err(SaslError::Cancelled) => {
                framed
                    .send_line("-ERR Authentication aborted by client.")
                    .await
            }
            Err(SaslError::InvalidBase64 | SaslError::MalformedPlain) => {
                framed
                    .send_line("-ERR [AUTH] Invalid base64 in response")
                    .await
            }
        }
    }

    async fn transaction(
        &mut self,
        framed: &mut Framed<MailStream>,
        verb: &Verb,
        arg: &str,
    ) -> Result<Next, WireError> {
        let validity = self.conn.shared.mailbox.uid_validity();
        let Some(md) = self.maildrop.as_mut() else {
            return Ok(Next::Close);
        };
        let count = md.messages.len();
        // A message number that names a live message, or the error reply.
        let live = |md: &Maildrop, arg: &str| -> Result<usize, String> {
            let i = message_number(arg, count)?;
            if md.deleted[i] {
                return Err("-ERR Message is deleted.".into());
            }
            Ok(i)
        };
        let reply: Vec<u8> = match verb {
            Verb::Capa => {
                b"+OK\r\nCAPA\r\nTOP\r\nUIDL\r\nRESP-CODES\r\nPIPELINING\r\nAUTH-RESP-CODE\r\n.\r\n"
                    .to_vec()
            }
            Verb::Stat => {
                let (n, size) = md
                    .messages
                    .iter()
                    .zip(&md.deleted)
                    .filter(|(_, d)| !**d)
                    .fold((0, 0), |(n, s), (m, _)| (n + 1, s + m.raw.len()));
                format!("+OK {n} {size}\r\n").into_bytes()
            }
            Verb::List if arg.is_empty() => {
                let live_count = md.deleted.iter().filter(|d| !**d).count();
                let mut out = format!("+OK {live_count} messages:\r\n");
                for (i, m) in md.messages.iter().enumerate() {
                    if !md.deleted[i] {
                        out.push_str(&format!("{} {}\r\n", i + 1, m.raw.len()));
                    }
                }
                out.push_str(".\r\n");
                out.into_bytes()
            }
            Verb::List => match live(md, arg) {
                Ok(i) => format!("+OK {} {}\r\n", i + 1, md.messages[i].raw.len()).into_bytes(),
                Err(e) => format!("{e}\r\n").into_bytes(),
            },
            Verb::Uidl if arg.is_empty() => {
                let mut out = String::from("+OK\r\n");
                for (i, m) in md.messages.iter().enumerate() {
                    if !md.deleted[i] {
                        out.push_str(&format!("{} {}\r\n", i + 1, uidl(m, validity)));
                    }
                }
                out.push_str(".\r\n");
                out.into_bytes()
            }
            Verb::Uidl => match live(md, arg) {
                Ok(i) => {
                    format!("+OK {} {}\r\n", i + 1, uidl(&md.messages[i], validity)).into_bytes()
                }
                Err(e) => format!("{e}\r\n").into_bytes(),
            },
            Verb::Retr => match live(md, arg) {
                Ok(i) => {
                    md.retrieved[i] = true;
                    let m = &md.messages[i];
                    let mut out = format!("+OK {} octets\r\n", m.raw.len()).into_bytes();
                    out.extend_from_slice(&multiline(&m.raw, None));
                    out
                }
                Err(e) => format!("{e}\r\n").into_bytes(),
            },
            Verb::Top => match arg.split_once(' ') {
                // Dovecot wants a space and a line count after the number.
                None if arg.starts_with(|c: char| c.is_ascii_digit()) => {
                    b"-ERR Noise after message number: \r\n".to_vec()
                }
                None => format!("-ERR Invalid message number: {arg}\r\n").into_bytes(),
                Some((num, lines)) => match live(md, num) {
                    Err(e) => format!("{e}\r\n").into_bytes(),
                    Ok(i) => match lines.trim().parse::<usize>() {
                        Ok(n) => {
                            let mut out = b"+OK\r\n".to_vec();
                            out.extend_from_slice(&multiline(&md.messages[i].raw, Some(n)));
                            out
                        }
                        Err(_) => format!("-ERR Invalid size: {lines}\r\n").into_bytes(),
                    },
                },
            },
            Verb::Dele => match live(md, arg) {
                Ok(i) => {
                    md.deleted[i] = true;
                    b"+OK Marked to be deleted.\r\n".to_vec()
                }
                Err(e) => format!("{e}\r\n").into_bytes(),
            },
            Verb::Rset => {
                md.deleted.iter_mut().for_each(|d| *d = false);
                md.retrieved.iter_mut().for_each(|r| *r = false);
                b"+OK\r\n".to_vec()
            }
            Verb::Noop => b"+OK\r\n".to_vec(),
            Verb::Quit => {
                // The UPDATE state (RFC 1939 §6).
                let mailbox = &self.conn.shared.mailbox;
                for (i, m) in md.messages.iter().enumerate() {
                    if md.retrieved[i] && !md.deleted[i] {
                        mailbox.update_flags(m.uid, |f| f.insert(Flags::SEEN));
                    }
                }
                let gone: Vec<u32> = md
                    .messages
                    .iter()
                    .zip(&md.deleted)
                    .filter(|(_, d)| **d)
                    .map(|(m, _)| m.uid)
                    .collect();
                mailbox.expunge(&gone);
                let text = if gone.is_empty() {
                    "+OK Logging out."
                } else {
                    "+OK Logging out, messages deleted."
                };
                framed.send_line(text).await?;
                return Ok(Next::Close);
            }
            _ => {
                self.bad += 1;
                framed
                    .send_line(&format!("-ERR Unknown command: {verb}"))
                    .await?;
                if self.bad >= MAX_BAD_TRANSACTION {
                    framed.send_line("-ERR Too many bad commands.").await?;
                    return Ok(Next::Close);
                }
                return Ok(Next::Continue);
            }
        };
        framed.send(&reply).await?;
        Ok(Next::Continue)
    }
}

/// Dovecot's default `pop3_uidl_format = %08Xu%08Xv`: UID then UIDVALIDITY.
fn uidl(m: &Message, uid_validity: u32) -> String {
    format!("{:08x}{:08x}", m.uid, uid_validity)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is how a test fails
mod tests {
    use super::*;

    #[test]
    fn multiline_stuffs_dots_and_terminates() {
        let raw = b"Subject: x\r\n\r\n.hidden\r\n.\r\nend\r\n";
        assert_eq!(
            multiline(raw, None),
            b"Subject: x\r\n\r\n..hidden\r\n..\r\nend\r\n.\r\n"
        );
    }

    #[test]
    fn multiline_adds_missing_final_crlf() {
        assert_eq!(
            multiline(b"A: b\r\n\r\nno newline", None),
            b"A: b\r\n\r\nno newline\r\n.\r\n"
        );
    }

    #[test]
    fn top_sends_headers_blank_line_and_n_body_lines() {
        let raw = b"A: 1\r\nB: 2\r\n\r\nl1\r\nl2\r\nl3\r\n";
        assert_eq!(multiline(raw, Some(0)), b"A: 1\r\nB: 2\r\n\r\n.\r\n");
        assert_eq!(
            multiline(raw, Some(2)),
            b"A: 1\r\nB: 2\r\n\r\nl1\r\nl2\r\n.\r\n"
        );
        assert_eq!(multiline(raw, Some(99)), multiline(raw, None));
    }

    #[test]
    fn message_numbers_like_dovecot() {
        assert_eq!(message_number("2", 2), Ok(1));
        assert_eq!(
            message_number("9", 2),
            Err("-ERR There's no message 9.".into())
        );
        assert_eq!(
            message_number("0", 2),
            Err("-ERR There's no message 0.".into())
        );
        assert_eq!(
            message_number("x", 2),
            Err("-ERR Invalid message number: x".into())
        );
        assert_eq!(
            message_number("", 2),
            Err("-ERR Invalid message number: ".into())
        );
        assert_eq!(
            message_number("1x", 2),
            Err("-ERR Noise after message number: x".into())
        );
        assert!(
            message_number("99999999999999999999999", 2)
                .unwrap_err()
                .contains("too large")
        );
    }
}

//! The demo server's SMTP side (RFC 5321), with STARTTLS (RFC 3207), AUTH
//! (RFC 4954), PIPELINING (RFC 2920) and enhanced status codes (RFC 3463).
//!
//! Replies copy Postfix 3.7 configured like `tests/realservers`: port 25
//! with `smtpd_tls_security_level=may` and `smtpd_tls_auth_only=yes`,
//! submission with `smtpd_tls_security_level=encrypt` and
//! `smtpd_client_restrictions=permit_sasl_authenticated,reject`.
//!
//! ```text
//! S: 220 localhost ESMTP mailwire
//! C: EHLO client.example
//! S: 250-localhost
//! S: 250-PIPELINING ... 250-STARTTLS ... 250 SMTPUTF8
//! C: STARTTLS
//! S: 220 2.0.0 Ready to start TLS
//! (TLS handshake; all SMTP state is forgotten, RFC 3207 §4.2)
//! ```

use time::format_description::well_known::Rfc2822;

use super::framed::{Framed, MailStream, WireError};
use super::quirk::{self, Quirk};
use super::sasl::{self, Mechanism, SaslError};
use super::{Conn, MAX_MESSAGE_SIZE, SERVER_HOST, Service};
use crate::protocol::command::{self, Verb};
use crate::target::Protocol;

/// Domains delivered to the demo mailbox without authentication.
const LOCAL_DOMAINS: &[&str] = &[
    "localhost",
    "localhost.localdomain",
    "mailwire.test",
    "[127.0.0.1]",
    "[ipv6:::1]",
];
/// Postfix's `smtpd_recipient_limit`.
const MAX_RECIPIENTS: usize = 1000;
/// Postfix's `smtpd_hard_error_limit`: the session ends after this many errors.
const MAX_ERRORS: u32 = 20;

/// What the session loop does after a command.
enum Next {
    Continue,
    StartTls,
    Close,
}

/// One mail transaction: MAIL, RCPT..., DATA (RFC 5321 §3.3).
#[derive(Debug, Default)]
struct Transaction {
    from: String,
    rcpts: Vec<String>,
    /// A RCPT was tried, even if refused: DATA then says "no valid recipients".
    rcpt_tried: bool,
}

struct Session<'a> {
    conn: &'a Conn,
    submission: bool,
    tls: bool,
    helo: Option<String>,
    esmtp: bool,
    auth_user: Option<String>,
    tx: Option<Transaction>,
    errors: u32,
}

/// Serves one SMTP connection until QUIT, error, timeout or shutdown.
pub(crate) async fn run(conn: &Conn, mut framed: Framed<MailStream>) {
    let mut s = Session {
        conn,
        submission: conn.service == Service::Submission,
        tls: framed.is_tls(),
        helo: None,
        esmtp: false,
        auth_user: None,
        tx: None,
        errors: 0,
    };
    if s.reply(&mut framed, &format!("220 {SERVER_HOST} ESMTP mailwire"))
        .await
        .is_err()
    {
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
                // RFC 3207 §4.2: forget everything learned before TLS.
                s.tls = true;
                s.helo = None;
                s.esmtp = false;
                s.auth_user = None;
                s.tx = None;
            }
            Err(e) => {
                let farewell = match e {
                    WireError::LineTooLong { .. } => {
                        Some("500 5.5.0 Error: line too long".to_string())
                    }
                    WireError::Timeout => {
                        Some(format!("421 4.4.2 {SERVER_HOST} Error: timeout exceeded"))
                    }
                    WireError::Shutdown => Some(format!(
                        "421 4.3.2 {SERVER_HOST} Service shutting down, closing transmission channel"
                    )),
                    WireError::Closed | WireError::Io(_) => None,
                };
                if let Some(text) = farewell {
                    let _ = framed.send_line(&text).await;
                }
                break;
            }
        }
    }
    framed.close().await;
}

/// Splits a command line into its verb (the client's vocabulary,
/// `protocol::command`) and its argument text, trimmed.
fn split_command(line: &str) -> (Verb, &str) {
    let parsed = command::parse(Protocol::Smtp, line.trim().as_bytes(), false);
    let rest = line
        .trim()
        .get(parsed.args.clone())
        .unwrap_or_default()
        .trim();
    (parsed.verb, rest)
}

/// A path and its ESMTP parameters from `FROM:<path> params` (RFC 5321 §4.1.2).
fn parse_path<'l>(arg: &'l str, keyword: &str) -> Option<(&'l str, Vec<&'l str>)> {
    let head = arg.get(..keyword.len())?;
    if !head.eq_ignore_ascii_case(keyword) {
        return None;
    }
    let rest = arg[keyword.len()..].trim_start();
    let (path, params) = if let Some(inner) = rest.strip_prefix('<') {
        let end = inner.find('>')?;
        (&inner[..end], &inner[end + 1..])
    } else {
        // Postfix accepts a bare address unless strict RFC 821 mode is on.
        match rest.split_once(' ') {
            Some((p, r)) => (p, r),
            None => (rest, ""),
        }
    };
    if path.contains(char::is_whitespace) || (path.is_empty() && !rest.starts_with('<')) {
        return None;
    }
    Some((path, params.split_whitespace().collect()))
}

/// True when `addr` is delivered here: a local domain or a bare local part
/// (RFC 5321 §4.5.1 requires accepting `postmaster`).
fn is_local(addr: &str) -> bool {
    match addr.rsplit_once('@') {
        None => true,
        Some((_, domain)) => {
            let d = domain.trim_end_matches('.').to_ascii_lowercase();
            LOCAL_DOMAINS.contains(&d.as_str())
        }
    }
}

impl Session<'_> {
    /// Sends one reply and counts errors the way Postfix does.
    async fn reply(
        &mut self,
        framed: &mut Framed<MailStream>,
        text: &str,
    ) -> Result<(), WireError> {
        if text.starts_with('4') || text.starts_with('5') {
            self.errors += 1;
        }
        framed.send_line(text).await
    }

    async fn command(
        &mut self,
        framed: &mut Framed<MailStream>,
        line: &str,
    ) -> Result<Next, WireError> {
        if self.errors >= MAX_ERRORS {
            framed
                .send_line(&format!("421 4.7.0 {SERVER_HOST} Error: too many errors"))
                .await?;
            return Ok(Next::Close);
        }
        let (verb, arg) = split_command(line);
        // Postfix's smtpd_forbidden_commands: an HTTP request or binary junk
        // is not a mail client, so hang up rather than keep answering.
        if matches!(verb.as_str(), "GET" | "POST" | "CONNECT")
            || line
                .bytes()
                .next()
                .is_some_and(|b| !b.is_ascii_alphabetic())
        {
            framed
                .send_line("221 2.7.0 Error: I can break rules, too. Goodbye.")
                .await?;
            return Ok(Next::Close);
        }
        if verb == Verb::Empty {
            self.reply(framed, "500 5.5.2 Error: bad syntax").await?;
            return Ok(Next::Continue);
        }
        // Submission with smtpd_tls_security_level=encrypt: only the
        // commands that lead to TLS work in plaintext.
        if self.submission
            && !self.tls
            && (matches!(
                verb,
                Verb::Auth
                    | Verb::Mail
                    | Verb::Rcpt
                    | Verb::Data
                    | Verb::Vrfy
                    | Verb::Rset
                    | Verb::Bdat
            ) || verb == Verb::Other("ETRN".into()))
        {
            self.reply(framed, "530 5.7.0 Must issue a STARTTLS command first")
                .await?;
            return Ok(Next::Continue);
        }
        match verb {
            Verb::Ehlo => self.ehlo(framed, arg).await,
            Verb::Helo => self.helo(framed, arg).await,
            Verb::StartTls => self.starttls(framed, arg).await,
            Verb::Auth => self.auth(framed, arg).await,
            Verb::Mail => self.mail(framed, arg).await,
            Verb::Rcpt => self.rcpt(framed, arg).await,
            Verb::Data => self.data(framed, arg).await,
            Verb::Rset => {
                if arg.is_empty() {
                    self.tx = None;
                    self.reply(framed, "250 2.0.0 Ok").await?;
                } else {
                    self.reply(framed, "501 5.5.4 Syntax: RSET").await?;
                }
                Ok(Next::Continue)
            }
            Verb::Noop => {
                self.reply(framed, "250 2.0.0 Ok").await?;
                Ok(Next::Continue)
            }
            Verb::Vrfy => {
                if arg.is_empty() {
                    self.reply(framed, "501 5.5.4 Syntax: VRFY address").await?;
                } else {
                    // 252: cannot verify, but will accept and try (RFC 5321 §3.5.3).
                    self.reply(framed, &format!("252 2.0.0 {arg}")).await?;
                }
                Ok(Next::Continue)
            }
            Verb::Quit => {
                framed.send_line("221 2.0.0 Bye").await?;
                Ok(Next::Close)
            }
            _ => {
                self.reply(framed, "500 5.5.2 Error: command not recognized")
                    .await?;
                Ok(Next::Continue)
            }
        }
    }

    async fn ehlo(
        &mut self,
        framed: &mut Framed<MailStream>,
        arg: &str,
    ) -> Result<Next, WireError> {
        if arg.is_empty() {
            self.reply(framed, "501 Syntax: EHLO hostname").await?;
            return Ok(Next::Continue);
        }
        let quirks = &self.conn.shared.quirks;
        if quirks.has(Quirk::Ehlo502) {
            self.reply(framed, "502 5.5.2 Error: command not recognized")
                .await?;
            return Ok(Next::Continue);
        }
        self.helo = Some(arg.to_string());
        self.esmtp = true;
        self.tx = None;
        // Keyword order follows Postfix. STARTTLS only before TLS; AUTH only
        // inside TLS, so a password never crosses the wire in clear text.
        let mut lines = vec![
            SERVER_HOST.to_string(),
            "PIPELINING".into(),
            format!("SIZE {MAX_MESSAGE_SIZE}"),
            "VRFY".into(),
        ];
        if quirks.has(Quirk::ControlByteInEhlo) {
            lines.push(quirk::CONTROL_CAPABILITY.into());
        }
        if self.tls {
            lines.push("AUTH PLAIN LOGIN".into());
        } else if !quirks.has(Quirk::NoStarttls) {
            lines.push("STARTTLS".into());
        }
        lines.extend([
            "ENHANCEDSTATUSCODES".into(),
            "8BITMIME".into(),
            "SMTPUTF8".into(),
        ]);
        let last = lines.len() - 1;
        let mut out = String::new();
        for (i, l) in lines.iter().enumerate() {
            let sep = if i == last { ' ' } else { '-' };
            out.push_str(&format!("250{sep}{l}\r\n"));
        }
        framed.send(out.as_bytes()).await?;
        Ok(Next::Continue)
    }

    async fn helo(
        &mut self,
        framed: &mut Framed<MailStream>,
        arg: &str,
    ) -> Result<Next, WireError> {
        if arg.is_empty() {
            self.reply(framed, "501 Syntax: HELO hostname").await?;
            return Ok(Next::Continue);
        }
        self.helo = Some(arg.to_string());
        self.esmtp = false;
        self.tx = None;
        self.reply(framed, &format!("250 {SERVER_HOST}")).await?;
        Ok(Next::Continue)
    }

    async fn starttls(
        &mut self,
        framed: &mut Framed<MailStream>,
        arg: &str,
    ) -> Result<Next, WireError> {
        if !arg.is_empty() {
            self.reply(framed, "501 5.5.4 Syntax: STARTTLS").await?;
            return Ok(Next::Continue);
        }
        if self.tls {
            self.reply(framed, "554 5.5.1 Error: TLS already active")
                .await?;
            return Ok(Next::Continue);
        }
        if self.conn.shared.quirks.has(Quirk::NoStarttls) {
            self.reply(framed, "502 5.5.1 Error: command not implemented")
                .await?;
            return Ok(Next::Continue);
        }
        framed.send_line("220 2.0.0 Ready to start TLS").await?;
        Ok(Next::StartTls)
    }

    async fn auth(
        &mut self,
        framed: &mut Framed<MailStream>,
        arg: &str,
    ) -> Result<Next, WireError> {
        // smtpd_tls_auth_only: AUTH does not exist before TLS.
        let refusal = if !self.tls {
            Some("503 5.5.1 Error: authentication not enabled")
        } else if self.helo.is_none() {
            Some("503 5.5.1 Error: send HELO/EHLO first")
        } else if self.auth_user.is_some() {
            Some("503 5.5.1 Error: already authenticated")
        } else if self.tx.is_some() {
            Some("503 5.5.1 Error: MAIL transaction in progress")
        } else if arg.is_empty() {
            Some("501 5.5.4 Syntax: AUTH mechanism")
        } else {
            None
        };
        if let Some(text) = refusal {
            self.reply(framed, text).await?;
            return Ok(Next::Continue);
        }
        let (mech_name, initial) = match arg.split_once(' ') {
            Some((m, ir)) => (m, Some(ir.trim())),
            None => (arg, None),
        };
        let Some(mech) = Mechanism::parse(mech_name) else {
            self.reply(
                framed,
                "535 5.7.8 Error: authentication failed: Invalid authentication mechanism",
            )
            .await?;
            return Ok(Next::Continue);
        };
        let outcome = sasl::exchange(framed, "334 ", mech, initial).await?;
        let text = match outcome {
            Ok(sasl::Login { ok: true, user }) => {
                self.auth_user = Some(String::from_utf8_lossy(&user).into_owned());
                "235 2.7.0 Authentication successful"
            }
            // Postfix with Dovecot SASL has no reason to give for a wrong password.
            Ok(sasl::Login { ok: false, .. }) => {
                "535 5.7.8 Error: authentication failed: (reason unavailable)"
            }
            Err((SaslError::Cancelled, _)) => "501 5.7.0 Authentication aborted",
            Err((SaslError::InvalidBase64 | SaslError::MalformedPlain, true)) => {
                "535 5.7.8 Error: authentication failed: Invalid base64 data in initial response"
            }
            Err((SaslError::InvalidBase64 | SaslError::MalformedPlain, false)) => {
                "535 5.7.8 Error: authentication failed: Invalid base64 data in continued response"
            }
        };
        self.reply(framed, text).await?;
        Ok(Next::Continue)
    }

    async fn mail(
        &mut self,
        framed: &mut Framed<MailStream>,
        arg: &str,
    ) -> Result<Next, WireError> {
        if self.tx.is_some() {
            self.reply(framed, "503 5.5.1 Error: nested MAIL command")
                .await?;
            return Ok(Next::Continue);
        }
        let Some((path, params)) = parse_path(arg, "FROM:") else {
            self.reply(framed, "501 5.5.4 Syntax: MAIL FROM:<address>")
                .await?;
            return Ok(Next::Continue);
        };
        for p in params {
            let (key, value) = p.split_once('=').unwrap_or((p, ""));
            let refusal = match key.to_ascii_uppercase().as_str() {
                "SIZE" => match value.parse::<u64>() {
                    Ok(n) if n > MAX_MESSAGE_SIZE as u64 => {
                        Some("552 5.3.4 Message size exceeds fixed limit".to_string())
                    }
                    Ok(_) => None,
                    Err(_) => Some("501 5.5.4 Bad message size syntax".to_string()),
                },
                "BODY" => match value.to_ascii_uppercase().as_str() {
                    "7BIT" | "8BITMIME" => None,
                    _ => Some("501 5.5.4 Unsupported BODY parameter".to_string()),
                },
                "SMTPUTF8" if value.is_empty() => None,
                "AUTH" => None,
                _ => Some(format!("555 5.5.4 Unsupported option: {p}")),
            };
            if let Some(text) = refusal {
                self.reply(framed, &text).await?;
                return Ok(Next::Continue);
            }
        }
        self.tx = Some(Transaction {
            from: path.to_string(),
            ..Transaction::default()
        });
        self.reply(framed, "250 2.1.0 Ok").await?;
        Ok(Next::Continue)
    }

    async fn rcpt(
        &mut self,
        framed: &mut Framed<MailStream>,
        arg: &str,
    ) -> Result<Next, WireError> {
        let authenticated = self.auth_user.is_some();
        let submission = self.submission;
        let peer = self.conn.peer_name();
        let Some(tx) = self.tx.as_mut() else {
            self.reply(framed, "503 5.5.1 Error: need MAIL command")
                .await?;
            return Ok(Next::Continue);
        };
        tx.rcpt_tried = true;
        let text = match parse_path(arg, "TO:") {
            None => "501 5.5.4 Syntax: RCPT TO:<address>".to_string(),
            Some(("", _)) => "501 5.5.4 Syntax: RCPT TO:<address>".to_string(),
            Some((_, params)) if !params.is_empty() => {
                format!("555 5.5.4 Unsupported option: {}", params[0])
            }
            Some(_) if tx.rcpts.len() >= MAX_RECIPIENTS => {
                "452 4.5.3 Error: too many recipients".to_string()
            }
            // smtpd_client_restrictions=permit_sasl_authenticated,reject
            Some(_) if submission && !authenticated => {
                format!("554 5.7.1 <{peer}>: Client host rejected: Access denied")
            }
            Some((path, _)) if is_local(path) || authenticated => {
                tx.rcpts.push(path.to_string());
                "250 2.1.5 Ok".to_string()
            }
            // reject_unauth_destination: no open relay, even for a demo.
            Some((path, _)) => format!("554 5.7.1 <{path}>: Relay access denied"),
        };
        self.reply(framed, &text).await?;
        Ok(Next::Continue)
    }

    async fn data(
        &mut self,
        framed: &mut Framed<MailStream>,
        arg: &str,
    ) -> Result<Next, WireError> {
        if !arg.is_empty() {
            self.reply(framed, "501 5.5.4 Syntax: DATA").await?;
            return Ok(Next::Continue);
        }
        let refusal = match &self.tx {
            None => Some("503 5.5.1 Error: need RCPT command"),
            Some(tx) if tx.rcpts.is_empty() && tx.rcpt_tried => {
                Some("554 5.5.1 Error: no valid recipients")
            }
            Some(tx) if tx.rcpts.is_empty() => Some("503 5.5.1 Error: need RCPT command"),
            Some(_) => None,
        };
        if let Some(text) = refusal {
            self.reply(framed, text).await?;
            return Ok(Next::Continue);
        }
        framed
            .send_line("354 End data with <CR><LF>.<CR><LF>")
            .await?;
        let (body, too_big) = read_data(framed, MAX_MESSAGE_SIZE).await?;
        let tx = self.tx.take().unwrap_or_default();
        if too_big {
            self.reply(framed, "552 5.3.4 Message size exceeds fixed limit")
                .await?;
            return Ok(Next::Continue);
        }
        let id = self.conn.shared.next_queue_id();
        let local: Vec<&String> = tx.rcpts.iter().filter(|r| is_local(r)).collect();
        if let Some(first) = local.first() {
            let stored = self.trace_headers(&tx.from, first, &id, body);
            if self.conn.shared.mailbox.append(stored).is_err() {
                self.reply(framed, "452 4.2.2 Mailbox full").await?;
                return Ok(Next::Continue);
            }
        }
        // Mail for other domains (only after AUTH) is accepted and dropped:
        // nothing ever leaves the machine.
        self.reply(framed, &format!("250 2.0.0 Ok: queued as {id}"))
            .await?;
        Ok(Next::Continue)
    }

    /// Prepends Return-Path and Received (RFC 5321 §4.4) as delivery would.
    fn trace_headers(&self, from: &str, rcpt: &str, id: &str, body: Vec<u8>) -> Vec<u8> {
        // RFC 3848 protocol names.
        let with = match (self.esmtp, self.tls, self.auth_user.is_some()) {
            (false, _, _) => "SMTP",
            (true, false, _) => "ESMTP",
            (true, true, false) => "ESMTPS",
            (true, true, true) => "ESMTPSA",
        };
        let date = time::OffsetDateTime::now_utc()
            .format(&Rfc2822)
            .unwrap_or_default();
        let helo = self.helo.as_deref().unwrap_or("unknown");
        let mut out = format!(
            "Return-Path: <{from}>\r\nReceived: from {helo} ({host} [{ip}])\r\n\tby {SERVER_HOST} (mailwire) with {with} id {id}\r\n\tfor <{rcpt}>; {date}\r\n",
            host = self.conn.peer_host(),
            ip = self.conn.peer.ip(),
        )
        .into_bytes();
        out.extend_from_slice(&body);
        out
    }
}

/// Reads message content up to the lone `.` (RFC 5321 §4.1.1.4), removing
/// dot-stuffing (§4.5.2). Returns the content with CRLF line endings and
/// whether it exceeded `max` (then the rest is read but not kept).
///
/// Only `<CRLF>.<CRLF>` ends the data. A `.` line ending in a bare LF, or
/// following one, is content: treating `<LF>.<LF>` as the end is what
/// makes SMTP smuggling (CVE-2023-51764 and friends) possible.
async fn read_data(
    framed: &mut Framed<MailStream>,
    max: usize,
) -> Result<(Vec<u8>, bool), WireError> {
    let mut body = Vec::new();
    let mut too_big = false;
    let mut prev_crlf = true;
    loop {
        let line = framed.read_line().await?;
        if line.bytes == b"." && line.crlf && prev_crlf {
            return Ok((body, too_big));
        }
        prev_crlf = line.crlf;
        // §4.5.2 removes the leading dot only when other characters follow;
        // a lone "." that is not a terminator (bare LF) stays as it is.
        let content = match line.bytes.strip_prefix(b".") {
            Some(rest) if !rest.is_empty() => rest,
            _ => &line.bytes[..],
        };
        if too_big || body.len() + content.len() + 2 > max {
            too_big = true;
            continue;
        }
        body.extend_from_slice(content);
        body.extend_from_slice(b"\r\n");
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is how a test fails
mod tests {
    use super::*;
    use base64::Engine;
    use base64::engine::general_purpose::STANDARD;

    fn plain_b64(user: &str, pass: &str) -> String {
        STANDARD.encode(format!("\0{user}\0{pass}"))
    }

    #[test]
    fn commands_split_case_insensitively() {
        assert_eq!(
            split_command("ehlo client.example"),
            (Verb::Ehlo, "client.example")
        );
        assert_eq!(split_command("QUIT"), (Verb::Quit, ""));
        assert_eq!(
            split_command("mail FROM:<a@b>  "),
            (Verb::Mail, "FROM:<a@b>")
        );
    }

    #[test]
    fn paths_and_parameters() {
        assert_eq!(
            parse_path("FROM:<a@b> SIZE=10 BODY=8BITMIME", "FROM:"),
            Some(("a@b", vec!["SIZE=10", "BODY=8BITMIME"]))
        );
        assert_eq!(parse_path("from: <>", "FROM:"), Some(("", vec![])));
        assert_eq!(parse_path("FROM:a@b", "FROM:"), Some(("a@b", vec![])));
        assert_eq!(parse_path("TO:<x@y", "TO:"), None);
        assert_eq!(parse_path("FROM:", "FROM:"), None);
        assert_eq!(parse_path("TO:<x@y>", "FROM:"), None);
        assert_eq!(parse_path("F", "FROM:"), None);
    }

    #[test]
    fn local_domains_and_bare_postmaster() {
        assert!(is_local("demo@localhost"));
        assert!(is_local("anyone@MAILWIRE.test."));
        assert!(is_local("postmaster"));
        assert!(is_local("x@[127.0.0.1]"));
        assert!(!is_local("someone@example.com"));
    }

    #[test]
    fn plain_helper_matches_rfc4616_example_shape() {
        assert_eq!(
            plain_b64("demo", "demo-password"),
            "AGRlbW8AZGVtby1wYXNzd29yZA=="
        );
    }
}

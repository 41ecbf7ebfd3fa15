//! The session engine against scripted hostile or broken servers on
//! 127.0.0.1: STARTTLS response injection, an endless line, a missing banner,
//! junk bytes, a reset mid-handshake, a literal whose `+` never comes,
//! continuation requests nobody asked for, replies sent ahead of commands.

use std::sync::Arc;
use std::time::Duration;

use mailwire::check;
use mailwire::finding::{FindingId, Severity};
use mailwire::protocol::Limits;
use mailwire::session::{Event, Session, SessionConfig, SessionError, Timeouts};
use mailwire::target::Target;
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

/// A self-signed localhost certificate and its PEM, for both ends.
struct Pki {
    acceptor: tokio_rustls::TlsAcceptor,
    ca: tempfile::NamedTempFile,
}

fn pki() -> Pki {
    let ck =
        rcgen::generate_simple_self_signed(vec!["localhost".to_string(), "127.0.0.1".to_string()])
            .unwrap();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(ck.signing_key.serialize_der()));
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(vec![ck.cert.der().clone()], key)
    .unwrap();
    let ca = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(ca.path(), ck.cert.pem()).unwrap();
    Pki {
        acceptor: tokio_rustls::TlsAcceptor::from(Arc::new(config)),
        ca,
    }
}

async fn listen() -> (TcpListener, u16) {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = l.local_addr().unwrap().port();
    (l, port)
}

fn config(url: &str, ca: Option<&std::path::Path>) -> SessionConfig {
    let mut c = SessionConfig::new(Target::parse(url).unwrap());
    c.ehlo = Some("client.test".into());
    c.timeouts = Timeouts {
        connect: Duration::from_secs(5),
        response: Duration::from_secs(5),
        handshake: Duration::from_secs(5),
    };
    if let Some(ca) = ca {
        c.tls.ca_files = vec![ca.to_path_buf()];
    }
    c
}

async fn read_line<R: tokio::io::AsyncBufRead + Unpin>(r: &mut R) -> String {
    let mut s = String::new();
    tokio::time::timeout(Duration::from_secs(5), r.read_line(&mut s))
        .await
        .unwrap()
        .unwrap();
    s
}

#[tokio::test]
async fn injected_bytes_after_starttls_reply_are_discarded_with_a_warning() {
    let pki = pki();
    let (listener, port) = listen().await;
    let acceptor = pki.acceptor.clone();
    let server = tokio::spawn(async move {
        let (sock, _) = listener.accept().await.unwrap();
        let mut sock = BufReader::new(sock);
        sock.get_mut()
            .write_all(b"220 fake ESMTP\r\n")
            .await
            .unwrap();
        assert!(read_line(&mut sock).await.starts_with("EHLO"));
        sock.get_mut()
            .write_all(b"250-fake\r\n250 STARTTLS\r\n")
            .await
            .unwrap();
        assert_eq!(read_line(&mut sock).await, "STARTTLS\r\n");
        // The attack: a forged reply rides in the same segment as the 220.
        sock.get_mut()
            .write_all(b"220 2.0.0 Ready\r\n250-INJECTED\r\n250 AUTH PLAIN\r\n")
            .await
            .unwrap();
        let tls = acceptor.accept(sock.into_inner()).await.unwrap();
        let mut tls = BufReader::new(tls);
        assert!(read_line(&mut tls).await.starts_with("EHLO"));
        tls.get_mut()
            .write_all(b"250-fake\r\n250 AUTH PLAIN LOGIN\r\n")
            .await
            .unwrap();
        assert_eq!(read_line(&mut tls).await, "QUIT\r\n");
        tls.get_mut().write_all(b"221 bye\r\n").await.unwrap();
        tls.get_mut().shutdown().await.unwrap();
    });
    let report = check::run(
        config(&format!("smtp://127.0.0.1:{port}"), Some(pki.ca.path())),
        false,
    )
    .await;
    server.await.unwrap();
    assert_eq!(
        report.starttls.result,
        check::StartTlsResult::Upgraded,
        "{}",
        report.to_text()
    );
    // Injection is an error whether or not --strict is given.
    assert_eq!(report.exit_code, check::EXIT_TLS, "{}", report.to_text());
    let finding = report
        .findings
        .iter()
        .find(|f| f.id == FindingId::StarttlsInjection)
        .expect("injection finding");
    assert_eq!(finding.severity, Severity::Error);
    assert!(finding.summary.contains("30 bytes"), "{}", finding.summary);
    assert!(
        String::from_utf8_lossy(&finding.evidence).contains("250-INJECTED\r\n"),
        "{finding:?}"
    );
    // The injected bytes are kept as received plaintext, marked as
    // injected, and never taken as a reply before or after TLS.
    let injected: Vec<_> = report
        .steps
        .iter()
        .filter(|s| s.text.contains("INJECTED"))
        .collect();
    assert_eq!(injected.len(), 1, "{:?}", report.steps);
    assert_eq!(injected[0].outcome, mailwire::session::Outcome::Injected);
    assert!(!injected[0].tls);
    assert_eq!(
        report.capabilities_after,
        vec!["AUTH PLAIN LOGIN".to_string()]
    );
}

#[tokio::test]
async fn endless_line_is_cut_at_the_limit_with_bounded_memory() {
    let (listener, port) = listen().await;
    let server = tokio::spawn(async move {
        let (mut sock, _) = listener.accept().await.unwrap();
        let chunk = vec![b'A'; 64 * 1024];
        // 64 MiB of one line unless the client hangs up first (it must).
        for _ in 0..1024 {
            if sock.write_all(&chunk).await.is_err() {
                return true;
            }
        }
        false
    });
    let mut cfg = config(&format!("smtp://127.0.0.1:{port}"), None);
    cfg.limits = Limits {
        max_line: 256 * 1024,
        ..Limits::default()
    };
    let (tx, mut rx) = mpsc::channel(64);
    let mut session = Session::connect(cfg, tx).await.unwrap();
    let err = session.greeting().await.unwrap_err();
    assert!(matches!(err, SessionError::Protocol(_)), "{err}");
    assert!(err.to_string().contains("262144 bytes"), "{err}");
    // The buffer stayed within the line limit plus one read, doubled: it
    // grows by doubling so that a big response is copied O(1) times per byte.
    assert!(
        session.buffer_capacity() <= 2 * (256 * 1024 + 16 * 1024),
        "capacity {}",
        session.buffer_capacity()
    );
    assert!(session.is_closed());
    drop(session);
    assert!(
        tokio::time::timeout(Duration::from_secs(10), server)
            .await
            .unwrap()
            .unwrap(),
        "client hung up"
    );
    let mut saw_error = false;
    while let Ok(e) = rx.try_recv() {
        saw_error |= matches!(e, Event::Finding { ref finding, .. }
            if finding.id == FindingId::LineTooLong && finding.summary.contains("cannot be framed"));
    }
    assert!(saw_error, "a line_too_long finding reached the UI");
}

#[tokio::test]
async fn missing_banner_times_out_clearly() {
    let (listener, port) = listen().await;
    let server = tokio::spawn(async move {
        let (mut sock, _) = listener.accept().await.unwrap();
        let mut buf = [0u8; 64];
        // Say nothing; wait for the client to give up.
        let _ = tokio::time::timeout(Duration::from_secs(10), sock.read(&mut buf)).await;
    });
    let mut cfg = config(&format!("imap://127.0.0.1:{port}"), None);
    cfg.timeouts.response = Duration::from_millis(300);
    let report = check::run(cfg, false).await;
    assert_eq!(report.exit_code, check::EXIT_CONNECTION);
    assert_eq!(report.error.as_deref(), Some("no greeting within 300 ms"));
    server.abort();
}

#[tokio::test]
async fn binary_junk_and_escape_sequences_are_malformed_events_not_crashes() {
    let (listener, port) = listen().await;
    tokio::spawn(async move {
        let (mut sock, _) = listener.accept().await.unwrap();
        sock.write_all(b"\x1b[2J\x00\xff\xfe junk\r\n220 ok\r\n")
            .await
            .unwrap();
        let mut buf = [0u8; 256];
        let _ = tokio::time::timeout(Duration::from_secs(5), sock.read(&mut buf)).await;
    });
    let (tx, mut rx) = mpsc::channel(64);
    let mut session = Session::connect(config(&format!("smtp://127.0.0.1:{port}"), None), tx)
        .await
        .unwrap();
    // The junk line is skipped (never taken as the greeting) and flagged.
    let greeting = session.greeting().await.unwrap();
    assert!(greeting.is_positive(), "{greeting:?}");
    drop(session);
    let mut malformed = None;
    let mut junk = None;
    while let Some(e) = rx.recv().await {
        match e {
            Event::Malformed { entry, .. } => malformed = Some(entry.raw),
            Event::Finding { finding, .. } if finding.id == FindingId::JunkLine => {
                junk = Some(finding)
            }
            _ => {}
        }
    }
    assert_eq!(
        malformed.as_deref(),
        Some(&b"\x1b[2J\x00\xff\xfe junk\r\n"[..])
    );
    assert_eq!(
        junk.map(|f| f.evidence),
        Some(b"\x1b[2J\x00\xff\xfe junk\r\n".to_vec())
    );
}

#[tokio::test]
async fn reset_during_handshake_is_a_tls_failure() {
    let (listener, port) = listen().await;
    tokio::spawn(async move {
        let (sock, _) = listener.accept().await.unwrap();
        let mut sock = BufReader::new(sock);
        sock.get_mut().write_all(b"+OK ready\r\n").await.unwrap();
        assert_eq!(read_line(&mut sock).await, "CAPA\r\n");
        sock.get_mut()
            .write_all(b"+OK\r\nSTLS\r\nUSER\r\n.\r\n")
            .await
            .unwrap();
        assert_eq!(read_line(&mut sock).await, "STLS\r\n");
        sock.get_mut().write_all(b"+OK go\r\n").await.unwrap();
        let mut hello = [0u8; 16];
        let _ = sock.read(&mut hello).await;
        // Abort: SO_LINGER 0 makes the close a reset.
        let s: TcpStream = sock.into_inner();
        let _ = s.set_zero_linger();
        drop(s);
    });
    let report = check::run(config(&format!("pop3://127.0.0.1:{port}"), None), false).await;
    assert_eq!(
        report.starttls.result,
        check::StartTlsResult::HandshakeFailed,
        "{}",
        report.to_text()
    );
    assert_eq!(report.exit_code, check::EXIT_TLS);
    let err = report.error.clone().unwrap_or_default();
    assert!(err.starts_with("TLS handshake failed: the server"), "{err}");
}

#[tokio::test]
async fn starttls_not_offered_is_a_tls_problem() {
    let (listener, port) = listen().await;
    tokio::spawn(async move {
        let (sock, _) = listener.accept().await.unwrap();
        let mut sock = BufReader::new(sock);
        sock.get_mut()
            .write_all(b"220 plain ESMTP\r\n")
            .await
            .unwrap();
        let _ = read_line(&mut sock).await;
        sock.get_mut()
            .write_all(b"250-plain\r\n250 SIZE 1000\r\n")
            .await
            .unwrap();
        let _ = read_line(&mut sock).await;
        sock.get_mut().write_all(b"221 bye\r\n").await.unwrap();
    });
    let report = check::run(config(&format!("smtp://127.0.0.1:{port}"), None), false).await;
    assert_eq!(report.starttls.result, check::StartTlsResult::NotOffered);
    assert!(!report.starttls.offered);
    assert_eq!(report.exit_code, check::EXIT_TLS);
    assert_eq!(report.capabilities_before, vec!["SIZE 1000".to_string()]);
}

#[tokio::test]
async fn connection_refused_is_exit_3() {
    let (listener, port) = listen().await;
    drop(listener);
    let report = check::run(config(&format!("smtp://127.0.0.1:{port}"), None), false).await;
    assert_eq!(report.exit_code, check::EXIT_CONNECTION);
    assert!(
        report
            .error
            .as_deref()
            .unwrap_or_default()
            .starts_with("cannot connect to 127.0.0.1:"),
        "{:?}",
        report.error
    );
}

/// An IMAP server that greets, then answers each client line with what
/// `answer` says (`None`: says nothing), and collects what it read.
async fn imap_script(
    listener: TcpListener,
    answer: fn(&str) -> Option<&'static [u8]>,
) -> Vec<String> {
    let (sock, _) = listener.accept().await.unwrap();
    let mut sock = BufReader::new(sock);
    sock.get_mut()
        .write_all(b"* OK [CAPABILITY IMAP4rev1] ready\r\n")
        .await
        .unwrap();
    let mut seen = Vec::new();
    loop {
        let mut line = String::new();
        match tokio::time::timeout(Duration::from_secs(5), sock.read_line(&mut line)).await {
            Ok(Ok(n)) if n > 0 => {}
            _ => return seen,
        }
        if let Some(reply) = answer(&line) {
            sock.get_mut().write_all(reply).await.unwrap();
        }
        seen.push(line);
    }
}

async fn imap_session(port: u16, response_ms: u64) -> (Session<TcpStream>, mpsc::Receiver<Event>) {
    let mut cfg = config(&format!("imap://127.0.0.1:{port}"), None);
    cfg.timeouts.response = Duration::from_millis(response_ms);
    let (tx, rx) = mpsc::channel(1024);
    let mut session = Session::connect(cfg, tx).await.unwrap();
    session.greeting().await.unwrap();
    (session, rx)
}

fn findings(rx: &mut mpsc::Receiver<Event>) -> Vec<mailwire::finding::Finding> {
    let mut out = Vec::new();
    while let Ok(e) = rx.try_recv() {
        if let Event::Finding { finding, .. } = e {
            out.push(finding);
        }
    }
    out
}

#[tokio::test]
async fn a_literal_whose_continuation_never_comes_times_out_naming_the_literal() {
    let (listener, port) = listen().await;
    // The server never answers `{5}` with `+` nor refuses it.
    let server = tokio::spawn(imap_script(listener, |_| None));
    let (mut session, mut rx) = imap_session(port, 300).await;
    session.send_line("LOGIN {5}").await.unwrap();
    let err = session.read_response("reply to LOGIN").await.unwrap_err();
    assert!(matches!(err, SessionError::Timeout { .. }), "{err}");
    assert_eq!(
        err.to_string(),
        "no continuation request (+) for the literal LOGIN announced within 300 ms"
    );
    let f = findings(&mut rx);
    let timeout = f
        .iter()
        .find(|f| f.id == FindingId::Timeout)
        .expect("timeout finding");
    assert_eq!(timeout.source, "RFC 9051 §7.5, §4.3");
    assert_eq!(timeout.stage, mailwire::finding::Stage::Authentication);
    drop(session);
    let seen = server.await.unwrap();
    // The literal's bytes were never sent without the server's go-ahead.
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert!(seen[0].ends_with("LOGIN {5}\r\n"), "{seen:?}");
}

#[tokio::test]
async fn a_continuation_request_for_a_command_without_a_literal_is_unsolicited() {
    let (listener, port) = listen().await;
    // CAPABILITY answered with `+` requests and never completed.
    let server = tokio::spawn(imap_script(listener, |line| {
        line.contains("CAPABILITY")
            .then_some(&b"+ send more\r\n+ and more\r\n"[..])
    }));
    let (mut session, mut rx) = imap_session(port, 300).await;
    session.send_line("CAPABILITY").await.unwrap();
    let first = session.read_response("reply to CAPABILITY").await.unwrap();
    assert_eq!(first.note.outcome, mailwire::session::Outcome::Continuation);
    let _ = session.read_response("reply to CAPABILITY").await.unwrap();
    let err = session
        .read_response("reply to CAPABILITY")
        .await
        .unwrap_err();
    assert_eq!(err.to_string(), "no reply to CAPABILITY within 300 ms");
    let f = findings(&mut rx);
    let unsolicited: Vec<_> = f
        .iter()
        .filter(|f| f.id == FindingId::UnsolicitedReply)
        .collect();
    assert_eq!(unsolicited.len(), 2, "{f:?}");
    assert!(
        unsolicited[0]
            .summary
            .contains("while CAPABILITY was waiting for its reply"),
        "{}",
        unsolicited[0].summary
    );
    assert_eq!(unsolicited[0].evidence, b"+ send more\r\n");
    drop(session);
    server.await.unwrap();
}

#[tokio::test]
async fn a_literal_answered_with_plus_is_not_unsolicited_but_a_second_plus_is() {
    let (listener, port) = listen().await;
    let server = tokio::spawn(imap_script(listener, |line| {
        if line.ends_with("{5}\r\n") {
            Some(b"+ go ahead\r\n")
        } else if line.starts_with("alice") {
            // After the literal and the rest of the line: another `+`,
            // then the tagged reply.
            Some(b"+ more?\r\na1 NO [AUTHENTICATIONFAILED] nope\r\n")
        } else {
            None
        }
    }));
    let (mut session, mut rx) = imap_session(port, 2000).await;
    session.send_line("LOGIN {5}").await.unwrap();
    let plus = session.read_response("continuation").await.unwrap();
    assert_eq!(plus.note.outcome, mailwire::session::Outcome::Continuation);
    assert!(
        findings(&mut rx)
            .iter()
            .all(|f| f.id != FindingId::UnsolicitedReply)
    );
    session.send_line("alice hunter2").await.unwrap();
    let _ = session.read_response("reply to LOGIN").await.unwrap();
    let done = session.read_response("reply to LOGIN").await.unwrap();
    assert!(done.note.completes);
    let unsolicited: Vec<_> = findings(&mut rx)
        .into_iter()
        .filter(|f| f.id == FindingId::UnsolicitedReply)
        .collect();
    assert_eq!(unsolicited.len(), 1, "{unsolicited:?}");
    assert_eq!(unsolicited[0].evidence, b"+ more?\r\n");
    drop(session);
    server.await.unwrap();
}

#[tokio::test]
async fn replies_sent_before_a_command_are_not_taken_as_its_reply() {
    let (listener, port) = listen().await;
    let server = tokio::spawn(async move {
        let (sock, _) = listener.accept().await.unwrap();
        let mut sock = BufReader::new(sock);
        sock.get_mut()
            .write_all(b"220 pipelined.test ESMTP\r\n")
            .await
            .unwrap();
        assert!(read_line(&mut sock).await.starts_with("EHLO"));
        // Two replies ahead of any command, in the same segment as EHLO's.
        sock.get_mut()
            .write_all(b"250 pipelined.test\r\n250 extra\r\n250 and another\r\n")
            .await
            .unwrap();
        assert_eq!(read_line(&mut sock).await, "NOOP\r\n");
        sock.get_mut()
            .write_all(b"250 2.0.0 noop ok\r\n")
            .await
            .unwrap();
    });
    let (tx, mut rx) = mpsc::channel(1024);
    let mut session = Session::connect(config(&format!("smtp://127.0.0.1:{port}"), None), tx)
        .await
        .unwrap();
    session.greeting().await.unwrap();
    session.send_line("EHLO client.test").await.unwrap();
    let _ = session.read_response("reply to EHLO").await.unwrap();
    session.send_line("NOOP").await.unwrap();
    let noop = session.read_response("reply to NOOP").await.unwrap();
    match &noop.response {
        mailwire::session::Response::Smtp(r) => assert_eq!(r.text(), "noop ok"),
        other => panic!("{other:?}"),
    }
    let unsolicited: Vec<_> = findings(&mut rx)
        .into_iter()
        .filter(|f| f.id == FindingId::UnsolicitedReply)
        .collect();
    assert_eq!(unsolicited.len(), 2, "{unsolicited:?}");
    assert_eq!(unsolicited[0].evidence, b"250 extra\r\n");
    server.await.unwrap();
}

/// An SMTP server without STARTTLS that answers QUIT with `after_quit`
/// and then closes, or keeps the connection open for 5 s.
async fn smtp_quit_script(listener: TcpListener, after_quit: &'static [u8], close: bool) {
    let (sock, _) = listener.accept().await.unwrap();
    let mut sock = BufReader::new(sock);
    sock.get_mut()
        .write_all(b"220 quit.test ESMTP\r\n")
        .await
        .unwrap();
    assert!(read_line(&mut sock).await.starts_with("EHLO"));
    sock.get_mut()
        .write_all(b"250 quit.test\r\n")
        .await
        .unwrap();
    assert_eq!(read_line(&mut sock).await, "QUIT\r\n");
    sock.get_mut().write_all(after_quit).await.unwrap();
    if !close {
        let mut buf = [0u8; 64];
        let _ = tokio::time::timeout(Duration::from_secs(5), sock.read(&mut buf)).await;
    }
}

#[tokio::test]
async fn a_server_that_closes_after_221_is_not_waited_for() {
    let (listener, port) = listen().await;
    let server = tokio::spawn(smtp_quit_script(listener, b"221 2.0.0 bye\r\n", true));
    let start = std::time::Instant::now();
    let report = check::run(config(&format!("smtp://127.0.0.1:{port}"), None), false).await;
    server.await.unwrap();
    assert!(
        start.elapsed() < Duration::from_millis(900),
        "{:?}",
        start.elapsed()
    );
    assert!(
        report
            .findings
            .iter()
            .all(|f| f.id != FindingId::NoCloseAfterQuit),
        "{}",
        report.to_text()
    );
}

#[tokio::test]
async fn a_server_that_stays_open_after_221_is_named_and_what_it_sends_is_kept() {
    let (listener, port) = listen().await;
    let server = tokio::spawn(smtp_quit_script(
        listener,
        b"221 2.0.0 bye\r\n250 late\r\npartial",
        false,
    ));
    let start = std::time::Instant::now();
    let report = check::run(config(&format!("smtp://127.0.0.1:{port}"), None), false).await;
    let elapsed = start.elapsed();
    server.abort();
    // One QUIT_CLOSE_WAIT, not the 5-s response timeout.
    assert!(
        elapsed >= mailwire::session::QUIT_CLOSE_WAIT && elapsed < Duration::from_secs(3),
        "{elapsed:?}"
    );
    let open = report
        .findings
        .iter()
        .find(|f| f.id == FindingId::NoCloseAfterQuit)
        .expect("no_close_after_quit");
    assert_eq!(open.severity, Severity::Info);
    assert_eq!(open.source, "RFC 5321 §4.1.1.10");
    assert_eq!(open.evidence, b"partial");
    let late = report
        .findings
        .iter()
        .find(|f| f.id == FindingId::UnsolicitedReply)
        .expect("the reply after 221 is unsolicited");
    assert_eq!(late.evidence, b"250 late\r\n");
    // Not a failure of the session: STARTTLS not offered is what fails it.
    assert_eq!(report.exit_code, check::EXIT_TLS, "{}", report.to_text());
}

//! The session engine against scripted hostile or broken servers on
//! 127.0.0.1: STARTTLS response injection, an endless line, a missing banner,
//! junk bytes, a reset mid-handshake.

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

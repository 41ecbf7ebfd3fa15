//! The built-in server under load: beyond `max_connections` sessions per
//! listener a connection gets the protocol's "busy" refusal and is closed,
//! as Postfix and Dovecot do, never silently dropped.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a failed unwrap is how a test fails

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use mailwire::server::{DEFAULT_MAX_CONNECTIONS, ServeOptions, Server};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, RootCertStore};
use test_case::test_case;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, BufReader};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

/// Upper bound for one read or handshake.
const READ_LIMIT: Duration = Duration::from_secs(20);

async fn first_line<S: AsyncRead + Unpin>(stream: S) -> (String, BufReader<S>) {
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    tokio::time::timeout(READ_LIMIT, reader.read_line(&mut line))
        .await
        .expect("no greeting or refusal in time")
        .unwrap();
    (line, reader)
}

/// True when the server closes the connection (EOF) within the read limit.
async fn closed<S: AsyncRead + Unpin>(reader: &mut BufReader<S>) -> bool {
    let mut rest = Vec::new();
    match tokio::time::timeout(READ_LIMIT, reader.read_to_end(&mut rest)).await {
        Ok(Ok(_)) => rest.is_empty(),
        // A reset after the refusal still means closed.
        Ok(Err(_)) => true,
        Err(_) => false,
    }
}

fn tls_config(root_pem: &str) -> Arc<ClientConfig> {
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(root_pem.as_bytes()) {
        roots.add(cert.unwrap()).unwrap();
    }
    Arc::new(
        ClientConfig::builder_with_provider(
            Arc::new(rustls::crypto::aws_lc_rs::default_provider()),
        )
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth(),
    )
}

#[test]
fn the_default_limit_serves_a_thousand() {
    assert_eq!(ServeOptions::default().max_connections, 1000);
    assert_eq!(DEFAULT_MAX_CONNECTIONS, 1000);
}

/// 1,200 connections held open at once on the SMTP listener: the first
/// 1,000 get the greeting, the other 200 get `421 4.3.2` and are closed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twelve_hundred_concurrent_smtp_connections() {
    let server = Server::start(ServeOptions::default()).await.unwrap();
    let addr = server.listener("smtp").unwrap().addr;
    let mut conns = Vec::with_capacity(1200);
    for _ in 0..1200 {
        conns.push(TcpStream::connect(addr).await.unwrap());
    }
    let (mut served, mut refused) = (Vec::new(), 0);
    for tcp in conns {
        let (line, mut reader) = first_line(tcp).await;
        if line.starts_with("220 ") {
            served.push(reader);
        } else {
            assert_eq!(
                line, "421 4.3.2 All server ports are busy, try again later\r\n",
                "a refusal is SMTP's busy reply"
            );
            assert!(closed(&mut reader).await, "refused connection left open");
            refused += 1;
        }
    }
    assert_eq!((served.len(), refused), (1000, 200));

    // A served session is a full session, even at the limit.
    let last = served.last_mut().unwrap();
    tokio::io::AsyncWriteExt::write_all(last.get_mut(), b"EHLO load.test\r\n")
        .await
        .unwrap();
    let mut line = String::new();
    tokio::time::timeout(READ_LIMIT, last.read_line(&mut line))
        .await
        .unwrap()
        .unwrap();
    assert!(line.starts_with("250-"), "{line:?}");

    // Closing a session frees its place (bounded retries: the server
    // learns of the close asynchronously).
    served.truncate(999);
    let mut greeted = false;
    for _ in 0..50 {
        let (line, _reader) = first_line(TcpStream::connect(addr).await.unwrap()).await;
        if line.starts_with("220 ") {
            greeted = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(greeted, "no place freed after a session closed");
    drop(served);
    server.shutdown().await;
}

#[test_case("smtp", "421 4.3.2 All server ports are busy, try again later\r\n"; "smtp")]
#[test_case("submission", "421 4.3.2 All server ports are busy, try again later\r\n"; "submission")]
#[test_case("imap", "* BYE [UNAVAILABLE] Server busy: too many connections, try again later\r\n"; "imap")]
#[test_case("pop3", "-ERR [SYS/TEMP] Server busy: too many connections, try again later\r\n"; "pop3")]
#[tokio::test]
async fn over_the_limit_the_protocol_refusal(listener: &str, refusal: &str) {
    let server = Server::start(ServeOptions {
        max_connections: 2,
        ..ServeOptions::default()
    })
    .await
    .unwrap();
    let addr: SocketAddr = server.listener(listener).unwrap().addr;
    let mut held = Vec::new();
    for _ in 0..2 {
        let (line, reader) = first_line(TcpStream::connect(addr).await.unwrap()).await;
        assert!(!line.contains("busy"), "served: {line:?}");
        held.push(reader);
    }
    let (line, mut reader) = first_line(TcpStream::connect(addr).await.unwrap()).await;
    assert_eq!(line, refusal);
    assert!(closed(&mut reader).await);
    drop(held);
    server.shutdown().await;
}

/// On implicit-TLS listeners the refusal comes inside TLS, where the
/// client can read it.
#[test_case("smtps", "421 4.3.2 "; "smtps")]
#[test_case("imaps", "* BYE [UNAVAILABLE] "; "imaps")]
#[test_case("pop3s", "-ERR [SYS/TEMP] "; "pop3s")]
#[tokio::test]
async fn implicit_tls_refusal_is_inside_tls(listener: &str, prefix: &str) {
    let server = Server::start(ServeOptions {
        max_connections: 1,
        ..ServeOptions::default()
    })
    .await
    .unwrap();
    let addr = server.listener(listener).unwrap().addr;
    let config = tls_config(server.root_pem());
    let connect = || async {
        let tcp = TcpStream::connect(addr).await.unwrap();
        let name = ServerName::try_from("localhost").unwrap();
        tokio::time::timeout(
            READ_LIMIT,
            TlsConnector::from(config.clone()).connect(name, tcp),
        )
        .await
        .unwrap()
        .unwrap()
    };
    let (line, held) = first_line(connect().await).await;
    assert!(!line.contains("busy"), "served: {line:?}");
    let (line, mut reader) = first_line(connect().await).await;
    assert!(line.starts_with(prefix), "{line:?}");
    assert!(closed(&mut reader).await);
    drop(held);
    server.shutdown().await;
}

/// `max_connections: 0` refuses everyone: the limit is exact.
#[tokio::test]
async fn zero_refuses_every_connection() {
    let server = Server::start(ServeOptions {
        max_connections: 0,
        ..ServeOptions::default()
    })
    .await
    .unwrap();
    let addr = server.listener("pop3").unwrap().addr;
    let (line, _) = first_line(TcpStream::connect(addr).await.unwrap()).await;
    assert!(line.starts_with("-ERR [SYS/TEMP]"), "{line:?}");
    server.shutdown().await;
}

//! Behaviour tests for the built-in demo server (`mailwire::server`),
//! driven over 127.0.0.1 by a small raw client: plain TCP, STARTTLS/STLS
//! and implicit TLS, with the server's root PEM as the only trust anchor.
//!
//! Every test runs under [`within`], so a hung server fails fast.
#![allow(clippy::unwrap_used)] // a failed unwrap is how a test fails

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use mailwire::server::pki::LeafKind;
use mailwire::server::{DEMO_PASSWORD, DEMO_USER, ServeOptions, Server};
use mailwire::target::{Protocol, TlsMode};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use test_case::test_case;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

/// Upper bound for a whole test.
const TEST_LIMIT: Duration = Duration::from_secs(60);
/// Upper bound for one read.
const READ_LIMIT: Duration = Duration::from_secs(10);

async fn within<T>(f: impl Future<Output = T>) -> T {
    tokio::time::timeout(TEST_LIMIT, f)
        .await
        .expect("test timed out")
}

async fn start() -> Server {
    Server::start(ServeOptions::default()).await.unwrap()
}

fn addr(server: &Server, name: &str) -> SocketAddr {
    server.listener(name).unwrap().addr
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

/// A client config that trusts only the demo root.
fn strict_config(root_pem: &str) -> Arc<ClientConfig> {
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(root_pem.as_bytes()) {
        roots.add(cert.unwrap()).unwrap();
    }
    Arc::new(
        ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth(),
    )
}

/// Accepts any chain (still checking handshake signatures), to look at
/// what a broken server presents.
#[derive(Debug)]
struct AcceptAnything(Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for AcceptAnything {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }
    fn verify_tls12_signature(
        &self,
        m: &[u8],
        c: &CertificateDer<'_>,
        d: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(m, c, d, &self.0.signature_verification_algorithms)
    }
    fn verify_tls13_signature(
        &self,
        m: &[u8],
        c: &CertificateDer<'_>,
        d: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(m, c, d, &self.0.signature_verification_algorithms)
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

fn permissive_config() -> Arc<ClientConfig> {
    Arc::new(
        ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .unwrap()
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AcceptAnything(provider())))
            .with_no_client_auth(),
    )
}

async fn handshake(
    tcp: TcpStream,
    config: Arc<ClientConfig>,
    name: &str,
) -> std::io::Result<TlsStream<TcpStream>> {
    let name = ServerName::try_from(name.to_string()).unwrap();
    tokio::time::timeout(READ_LIMIT, TlsConnector::from(config).connect(name, tcp))
        .await
        .expect("handshake timed out")
}

enum Io {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
    Gone,
}

/// A raw line client. It never reads past what it needs, so STARTTLS
/// tests can assert that no plaintext is left over.
struct Client {
    io: Io,
    buf: Vec<u8>,
}

impl Client {
    async fn connect(addr: SocketAddr) -> Client {
        let tcp = TcpStream::connect(addr).await.unwrap();
        Client {
            io: Io::Plain(tcp),
            buf: Vec::new(),
        }
    }

    async fn connect_tls(addr: SocketAddr, root_pem: &str, name: &str) -> Client {
        let tcp = TcpStream::connect(addr).await.unwrap();
        let tls = handshake(tcp, strict_config(root_pem), name).await.unwrap();
        Client {
            io: Io::Tls(Box::new(tls)),
            buf: Vec::new(),
        }
    }

    async fn send(&mut self, text: &str) {
        self.send_bytes(text.as_bytes()).await;
    }

    async fn send_bytes(&mut self, bytes: &[u8]) {
        match &mut self.io {
            Io::Plain(s) => s.write_all(bytes).await.unwrap(),
            Io::Tls(s) => {
                s.write_all(bytes).await.unwrap();
                s.flush().await.unwrap();
            }
            Io::Gone => panic!("client has no stream"),
        }
    }

    /// Reads more bytes; 0 means EOF.
    async fn fill(&mut self) -> usize {
        let mut chunk = [0u8; 4096];
        let read = async {
            match &mut self.io {
                Io::Plain(s) => s.read(&mut chunk).await,
                Io::Tls(s) => s.read(&mut chunk).await,
                Io::Gone => Ok(0),
            }
        };
        let n = tokio::time::timeout(READ_LIMIT, read)
            .await
            .expect("read timed out")
            .unwrap_or(0);
        self.buf.extend_from_slice(&chunk[..n]);
        n
    }

    /// The next line without CRLF.
    async fn line(&mut self) -> String {
        loop {
            if let Some(i) = self.buf.iter().position(|&b| b == b'\n') {
                let raw: Vec<u8> = self.buf.drain(..=i).collect();
                let text = String::from_utf8_lossy(&raw);
                return text.trim_end_matches(['\r', '\n']).to_string();
            }
            assert!(
                self.fill().await > 0,
                "connection closed; had {:?}",
                String::from_utf8_lossy(&self.buf)
            );
        }
    }

    async fn exact(&mut self, n: usize) -> Vec<u8> {
        while self.buf.len() < n {
            assert!(self.fill().await > 0, "connection closed inside a literal");
        }
        self.buf.drain(..n).collect()
    }

    /// True when the server closes the connection (EOF or reset) within the limit.
    async fn closed(&mut self) -> bool {
        for _ in 0..1000 {
            if self.fill().await == 0 {
                return true;
            }
        }
        false
    }

    /// One SMTP reply: all lines up to `NNN <text>`.
    async fn smtp(&mut self) -> Vec<String> {
        let mut lines = Vec::new();
        loop {
            let l = self.line().await;
            let last = l.as_bytes().get(3) != Some(&b'-');
            lines.push(l);
            if last || lines.len() > 100 {
                return lines;
            }
        }
    }

    async fn smtp_cmd(&mut self, cmd: &str) -> Vec<String> {
        self.send(&format!("{cmd}\r\n")).await;
        self.smtp().await
    }

    /// Lines up to and including the tagged response.
    async fn imap_until(&mut self, tag: &str) -> Vec<String> {
        let mut lines = Vec::new();
        let prefix = format!("{tag} ");
        for _ in 0..1000 {
            let l = self.line().await;
            let done = l.starts_with(&prefix);
            lines.push(l);
            if done {
                return lines;
            }
        }
        panic!("no tagged response for {tag}: {lines:?}");
    }

    async fn imap_cmd(&mut self, tag: &str, cmd: &str) -> Vec<String> {
        self.send(&format!("{tag} {cmd}\r\n")).await;
        self.imap_until(tag).await
    }

    /// A POP3 multi-line body after its status line: lines up to `.`, unstuffed.
    async fn pop3_multiline(&mut self) -> Vec<String> {
        let mut lines = Vec::new();
        for _ in 0..10_000 {
            let l = self.line().await;
            if l == "." {
                return lines;
            }
            lines.push(l.strip_prefix('.').map(str::to_string).unwrap_or(l));
        }
        panic!("unterminated multi-line response");
    }

    async fn pop3_cmd(&mut self, cmd: &str) -> String {
        self.send(&format!("{cmd}\r\n")).await;
        self.line().await
    }

    /// Upgrades after a STARTTLS/STLS reply, checking nothing was left over.
    async fn start_tls(&mut self, root_pem: &str, name: &str) {
        assert!(
            self.buf.is_empty(),
            "plaintext left before TLS: {:?}",
            self.buf
        );
        let Io::Plain(tcp) = std::mem::replace(&mut self.io, Io::Gone) else {
            panic!("already TLS");
        };
        let tls = handshake(tcp, strict_config(root_pem), name).await.unwrap();
        self.io = Io::Tls(Box::new(tls));
    }

    fn negotiated_version(&self) -> Option<rustls::ProtocolVersion> {
        match &self.io {
            Io::Tls(s) => s.get_ref().1.protocol_version(),
            _ => None,
        }
    }
}

fn plain_ir(user: &str, pass: &str) -> String {
    STANDARD.encode(format!("\0{user}\0{pass}"))
}

// ---------------------------------------------------------------- listeners

#[tokio::test]
async fn seven_listeners_with_protocols_and_tls_modes() {
    within(async {
        let server = start().await;
        let expected = [
            ("smtp", Protocol::Smtp, TlsMode::Starttls),
            ("submission", Protocol::Smtp, TlsMode::Starttls),
            ("smtps", Protocol::Smtp, TlsMode::Implicit),
            ("imap", Protocol::Imap, TlsMode::Starttls),
            ("imaps", Protocol::Imap, TlsMode::Implicit),
            ("pop3", Protocol::Pop3, TlsMode::Starttls),
            ("pop3s", Protocol::Pop3, TlsMode::Implicit),
        ];
        assert_eq!(server.listeners().len(), 7);
        for (l, (name, proto, tls)) in server.listeners().iter().zip(expected) {
            assert_eq!((l.name, l.protocol, l.tls), (name, proto, tls));
            assert!(l.addr.ip().is_loopback());
            assert_ne!(l.addr.port(), 0);
            assert_eq!(l.url(), format!("{name}://127.0.0.1:{}", l.addr.port()));
            let mode = match (tls, proto) {
                (TlsMode::Implicit, _) => "implicit TLS",
                (_, Protocol::Pop3) => "STLS",
                _ => "STARTTLS",
            };
            // The URL first, to copy; then how TLS starts.
            let described = l.describe();
            let (url, note) = described.split_once(' ').unwrap();
            assert_eq!(url, l.url());
            assert_eq!(note.trim_start(), mode);
        }
        assert!(server.listener("lmtp").is_none());
        assert!(server.root_pem().contains("BEGIN CERTIFICATE"));
        server.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn port_base_maps_to_well_known_offsets() {
    within(async {
        // A base derived from the pid keeps parallel runs apart; retry a few
        // bases in case one is taken.
        let mut started = None;
        for attempt in 0..10u16 {
            let base = 20_000 + ((std::process::id() as u16 % 400) + attempt * 431) % 4000 * 10;
            let opts = ServeOptions {
                port_base: Some(base),
                ..ServeOptions::default()
            };
            if let Ok(server) = Server::start(opts).await {
                started = Some((base, server));
                break;
            }
        }
        let (base, server) = started.expect("no free port base found");
        for (name, offset) in [
            ("smtp", 25),
            ("submission", 587),
            ("smtps", 465),
            ("imap", 143),
            ("imaps", 993),
            ("pop3", 110),
            ("pop3s", 995),
        ] {
            assert_eq!(addr(&server, name).port(), base + offset, "{name}");
        }
        let mut c = Client::connect(addr(&server, "imap")).await;
        assert!(c.line().await.starts_with("* OK"));
        server.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn shutdown_says_goodbye_and_stops_listening() {
    within(async {
        let server = start().await;
        let smtp = addr(&server, "smtp");
        let imaps = addr(&server, "imaps");
        let root = server.root_pem().to_string();
        let mut idle_smtp = Client::connect(smtp).await;
        assert!(idle_smtp.line().await.starts_with("220 "));
        let mut idle_imap = Client::connect_tls(imaps, &root, "localhost").await;
        assert!(idle_imap.line().await.starts_with("* OK"));

        tokio::time::timeout(Duration::from_secs(10), server.shutdown())
            .await
            .expect("shutdown hung");

        assert!(idle_smtp.line().await.starts_with("421 4.3.2 "));
        assert!(idle_smtp.closed().await);
        assert_eq!(idle_imap.line().await, "* BYE Server shutting down.");
        assert!(idle_imap.closed().await);
        assert!(
            TcpStream::connect(smtp).await.is_err(),
            "still accepting after shutdown"
        );
        assert!(TcpStream::connect(imaps).await.is_err());
    })
    .await;
}

#[tokio::test]
async fn greeting_delay_holds_the_banner() {
    within(async {
        let opts = ServeOptions {
            greeting_delay: Duration::from_millis(300),
            ..ServeOptions::default()
        };
        let server = Server::start(opts).await.unwrap();
        let started = std::time::Instant::now();
        let mut c = Client::connect(addr(&server, "pop3")).await;
        assert_eq!(c.line().await, "+OK mailwire ready.");
        assert!(started.elapsed() >= Duration::from_millis(300));
        server.shutdown().await;
    })
    .await;
}

// ---------------------------------------------------------------- TLS and PKI

#[test_case("smtp", "localhost" ; "smtp by name")]
#[test_case("smtp", "127.0.0.1" ; "smtp by ip")]
#[test_case("submission", "localhost" ; "submission by name")]
#[test_case("imap", "localhost" ; "imap by name")]
#[test_case("imap", "127.0.0.1" ; "imap by ip")]
#[test_case("pop3", "localhost" ; "pop3 by name")]
#[test_case("pop3", "127.0.0.1" ; "pop3 by ip")]
#[tokio::test]
async fn starttls_completes_with_chain_verified_against_root(listener: &str, name: &str) {
    within(async {
        let server = start().await;
        let root = server.root_pem().to_string();
        let mut c = Client::connect(addr(&server, listener)).await;
        let greeting = c.line().await;
        match listener {
            "imap" => {
                assert_eq!(
                    c.imap_cmd("a", "STARTTLS").await,
                    ["a OK Begin TLS negotiation now."]
                );
            }
            "pop3" => {
                assert_eq!(greeting, "+OK mailwire ready.");
                assert_eq!(c.pop3_cmd("STLS").await, "+OK Begin TLS negotiation now.");
            }
            _ => {
                assert_eq!(greeting, "220 localhost ESMTP mailwire");
                c.smtp_cmd("EHLO client.example").await;
                assert_eq!(
                    c.smtp_cmd("STARTTLS").await,
                    ["220 2.0.0 Ready to start TLS"]
                );
            }
        }
        c.start_tls(&root, name).await;
        assert!(c.negotiated_version().is_some());
        server.shutdown().await;
    })
    .await;
}

#[test_case("smtps" ; "smtps")]
#[test_case("imaps" ; "imaps")]
#[test_case("pop3s" ; "pop3s")]
#[tokio::test]
async fn implicit_tls_listeners_greet_inside_tls_and_offer_auth(listener: &str) {
    within(async {
        let server = start().await;
        let mut c = Client::connect_tls(addr(&server, listener), server.root_pem(), "localhost").await;
        let greeting = c.line().await;
        match listener {
            "smtps" => {
                assert_eq!(greeting, "220 localhost ESMTP mailwire");
                let ehlo = c.smtp_cmd("EHLO client.example").await;
                assert!(ehlo.contains(&"250-AUTH PLAIN LOGIN".to_string()), "{ehlo:?}");
                assert!(!ehlo.iter().any(|l| l.contains("STARTTLS")));
                assert_eq!(c.smtp_cmd("STARTTLS").await, ["554 5.5.1 Error: TLS already active"]);
            }
            "imaps" => {
                assert_eq!(
                    greeting,
                    "* OK [CAPABILITY IMAP4rev1 SASL-IR LITERAL+ ID ENABLE IDLE AUTH=PLAIN AUTH=LOGIN] mailwire ready."
                );
                assert_eq!(c.imap_cmd("a", "STARTTLS").await, ["a BAD TLS is already active."]);
            }
            _ => {
                assert_eq!(greeting, "+OK mailwire ready.");
                c.send("CAPA\r\n").await;
                assert_eq!(c.line().await, "+OK");
                let caps = c.pop3_multiline().await;
                assert!(caps.contains(&"USER".to_string()) && caps.contains(&"SASL PLAIN LOGIN".to_string()));
                assert_eq!(c.pop3_cmd("STLS").await, "-ERR TLS is already active.");
            }
        }
        server.shutdown().await;
    })
    .await;
}

#[test_case(LeafKind::Expired, "expired" ; "expired")]
#[test_case(LeafKind::WrongHost, "not valid for name" ; "wrong host")]
#[test_case(LeafKind::SelfSigned, "unknownissuer" ; "self signed")]
#[test_case(LeafKind::NoIntermediate, "unknownissuer" ; "no intermediate")]
#[tokio::test]
async fn broken_leaves_fail_strict_verification(leaf: LeafKind, reason: &str) {
    within(async {
        let opts = ServeOptions {
            leaf,
            ..ServeOptions::default()
        };
        let server = Server::start(opts).await.unwrap();
        let tcp = TcpStream::connect(addr(&server, "imaps")).await.unwrap();
        let err = handshake(tcp, strict_config(server.root_pem()), "localhost")
            .await
            .expect_err("a broken chain must not verify");
        let text = err.to_string().to_lowercase().replace(['(', ')', '_'], "");
        assert!(text.contains(reason), "{leaf:?}: {err}");
        server.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn expired_leaf_is_presented_with_past_not_after() {
    within(async {
        let opts = ServeOptions {
            leaf: LeafKind::Expired,
            ..ServeOptions::default()
        };
        let server = Server::start(opts).await.unwrap();
        let tcp = TcpStream::connect(addr(&server, "pop3s")).await.unwrap();
        let tls = handshake(tcp, permissive_config(), "localhost")
            .await
            .unwrap();
        let chain: Vec<Vec<u8>> = tls
            .get_ref()
            .1
            .peer_certificates()
            .unwrap()
            .iter()
            .map(|c| c.to_vec())
            .collect();
        assert_eq!(chain.len(), 2, "leaf and intermediate");
        let (_, leaf) = x509_parser::parse_x509_certificate(&chain[0]).unwrap();
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        assert!(
            leaf.validity().not_after.timestamp() < now,
            "leaf is not expired"
        );
        server.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn good_chain_is_leaf_then_intermediate_with_loopback_names() {
    within(async {
        let server = start().await;
        let tcp = TcpStream::connect(addr(&server, "smtps")).await.unwrap();
        let tls = handshake(tcp, strict_config(server.root_pem()), "::1").await;
        // The name ::1 is in the SAN even though we connected over IPv4.
        let tls = tls.unwrap();
        let chain = tls.get_ref().1.peer_certificates().unwrap();
        assert_eq!(chain.len(), 2);
        let (_, leaf) = x509_parser::parse_x509_certificate(&chain[0]).unwrap();
        let (_, int) = x509_parser::parse_x509_certificate(&chain[1]).unwrap();
        assert_eq!(leaf.issuer(), int.subject());
        assert!(leaf.subject().to_string().contains("CN=localhost"));
        server.shutdown().await;
    })
    .await;
}

// ---------------------------------------------------------------- SMTP

#[tokio::test]
async fn smtp_ehlo_offers_starttls_before_and_auth_only_after() {
    within(async {
        let server = start().await;
        let mut c = Client::connect(addr(&server, "smtp")).await;
        assert_eq!(c.smtp().await, ["220 localhost ESMTP mailwire"]);
        assert_eq!(
            c.smtp_cmd("EHLO client.example").await,
            [
                "250-localhost",
                "250-PIPELINING",
                "250-SIZE 10240000",
                "250-VRFY",
                "250-STARTTLS",
                "250-ENHANCEDSTATUSCODES",
                "250-8BITMIME",
                "250 SMTPUTF8"
            ]
        );
        assert_eq!(
            c.smtp_cmd(&format!(
                "AUTH PLAIN {}",
                plain_ir(DEMO_USER, DEMO_PASSWORD)
            ))
            .await,
            ["503 5.5.1 Error: authentication not enabled"]
        );
        assert_eq!(
            c.smtp_cmd("STARTTLS now").await,
            ["501 5.5.4 Syntax: STARTTLS"]
        );
        assert_eq!(
            c.smtp_cmd("STARTTLS").await,
            ["220 2.0.0 Ready to start TLS"]
        );
        c.start_tls(server.root_pem(), "localhost").await;
        // RFC 3207 §4.2: the HELO state is gone, so AUTH needs EHLO again.
        assert_eq!(
            c.smtp_cmd("AUTH PLAIN").await,
            ["503 5.5.1 Error: send HELO/EHLO first"]
        );
        let ehlo = c.smtp_cmd("EHLO client.example").await;
        assert!(
            ehlo.contains(&"250-AUTH PLAIN LOGIN".to_string()),
            "{ehlo:?}"
        );
        assert!(!ehlo.iter().any(|l| l.contains("STARTTLS")));
        assert_eq!(
            c.smtp_cmd("STARTTLS").await,
            ["554 5.5.1 Error: TLS already active"]
        );
        server.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn smtp_full_submission_flow_delivers_into_the_mailbox() {
    within(async {
        let server = start().await;
        let root = server.root_pem().to_string();
        let mut c = Client::connect(addr(&server, "submission")).await;
        c.smtp().await;
        c.smtp_cmd("EHLO client.example").await;
        assert_eq!(
            c.smtp_cmd("MAIL FROM:<demo@localhost>").await,
            ["530 5.7.0 Must issue a STARTTLS command first"]
        );
        assert_eq!(c.smtp_cmd("NOOP").await, ["250 2.0.0 Ok"]);
        assert_eq!(
            c.smtp_cmd("STARTTLS").await,
            ["220 2.0.0 Ready to start TLS"]
        );
        c.start_tls(&root, "localhost").await;
        c.smtp_cmd("EHLO client.example").await;
        // Submission refuses recipients until the client authenticates.
        assert_eq!(
            c.smtp_cmd("MAIL FROM:<demo@localhost>").await,
            ["250 2.1.0 Ok"]
        );
        assert_eq!(
            c.smtp_cmd("RCPT TO:<demo@localhost>").await,
            ["554 5.7.1 <localhost[127.0.0.1]>: Client host rejected: Access denied"]
        );
        assert_eq!(c.smtp_cmd("RSET").await, ["250 2.0.0 Ok"]);
        assert_eq!(c.smtp_cmd("AUTH PLAIN").await, ["334 "]);
        assert_eq!(
            c.smtp_cmd(&plain_ir(DEMO_USER, DEMO_PASSWORD)).await,
            ["235 2.7.0 Authentication successful"]
        );
        assert_eq!(
            c.smtp_cmd("MAIL FROM:<demo@localhost> SIZE=200 BODY=8BITMIME")
                .await,
            ["250 2.1.0 Ok"]
        );
        assert_eq!(
            c.smtp_cmd("RCPT TO:<demo@localhost>").await,
            ["250 2.1.5 Ok"]
        );
        assert_eq!(
            c.smtp_cmd("RCPT TO:<friend@example.com>").await,
            ["250 2.1.5 Ok"]
        );
        assert_eq!(
            c.smtp_cmd("DATA").await,
            ["354 End data with <CR><LF>.<CR><LF>"]
        );
        c.send("Subject: test\r\nFrom: demo@localhost\r\n\r\n..leading dot\r\nline\r\n.\r\n")
            .await;
        let queued = c.smtp().await;
        assert_eq!(queued.len(), 1);
        let id = queued[0]
            .strip_prefix("250 2.0.0 Ok: queued as ")
            .expect("queued reply");
        assert!(
            id.len() >= 10 && id.chars().all(|c| c.is_ascii_hexdigit()),
            "{id}"
        );
        assert_eq!(
            c.smtp_cmd("DATA").await,
            ["503 5.5.1 Error: need RCPT command"]
        );
        assert_eq!(c.smtp_cmd("QUIT").await, ["221 2.0.0 Bye"]);
        assert!(c.closed().await);

        // The message is now message 3, dot-unstuffed, with trace headers.
        let mut p = Client::connect_tls(addr(&server, "pop3s"), &root, "localhost").await;
        p.line().await;
        p.pop3_cmd(&format!("USER {DEMO_USER}")).await;
        assert_eq!(
            p.pop3_cmd(&format!("PASS {DEMO_PASSWORD}")).await,
            "+OK Logged in."
        );
        assert!(p.pop3_cmd("RETR 3").await.ends_with(" octets"));
        let lines = p.pop3_multiline().await;
        assert!(
            lines[0].starts_with("Return-Path: <demo@localhost>"),
            "{lines:?}"
        );
        assert!(lines.iter().any(|l| l.contains("with ESMTPSA id")));
        assert!(lines.ends_with(&[
            "Subject: test".into(),
            "From: demo@localhost".into(),
            String::new(),
            ".leading dot".into(),
            "line".into()
        ]));
        server.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn smtp_auth_failures_login_mechanism_and_cancel() {
    within(async {
        let server = start().await;
        let mut c =
            Client::connect_tls(addr(&server, "smtps"), server.root_pem(), "localhost").await;
        c.smtp().await;
        c.smtp_cmd("EHLO client.example").await;
        assert_eq!(
            c.smtp_cmd("AUTH").await,
            ["501 5.5.4 Syntax: AUTH mechanism"]
        );
        assert_eq!(
            c.smtp_cmd("AUTH CRAM-MD5").await,
            ["535 5.7.8 Error: authentication failed: Invalid authentication mechanism"]
        );
        assert_eq!(
            c.smtp_cmd(&format!("AUTH PLAIN {}", plain_ir(DEMO_USER, "wrong")))
                .await,
            ["535 5.7.8 Error: authentication failed: (reason unavailable)"]
        );
        assert_eq!(
            c.smtp_cmd("AUTH PLAIN !!!").await,
            ["535 5.7.8 Error: authentication failed: Invalid base64 data in initial response"]
        );
        assert_eq!(c.smtp_cmd("AUTH LOGIN").await, ["334 VXNlcm5hbWU6"]);
        assert_eq!(c.smtp_cmd("*").await, ["501 5.7.0 Authentication aborted"]);
        assert_eq!(c.smtp_cmd("AUTH LOGIN").await, ["334 VXNlcm5hbWU6"]);
        assert_eq!(
            c.smtp_cmd(&STANDARD.encode(DEMO_USER)).await,
            ["334 UGFzc3dvcmQ6"]
        );
        assert_eq!(
            c.smtp_cmd(&STANDARD.encode(DEMO_PASSWORD)).await,
            ["235 2.7.0 Authentication successful"]
        );
        assert_eq!(
            c.smtp_cmd("AUTH PLAIN").await,
            ["503 5.5.1 Error: already authenticated"]
        );
        server.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn smtp_sequence_errors_relay_and_pipelining() {
    within(async {
        let server = start().await;
        let mut c = Client::connect(addr(&server, "smtp")).await;
        c.smtp().await;
        assert_eq!(c.smtp_cmd("EHLO").await, ["501 Syntax: EHLO hostname"]);
        assert_eq!(c.smtp_cmd("HELO client.example").await, ["250 localhost"]);
        assert_eq!(c.smtp_cmd("RCPT TO:<demo@localhost>").await, ["503 5.5.1 Error: need MAIL command"]);
        assert_eq!(c.smtp_cmd("DATA").await, ["503 5.5.1 Error: need RCPT command"]);
        assert_eq!(c.smtp_cmd("MAIL FROM:").await, ["501 5.5.4 Syntax: MAIL FROM:<address>"]);
        assert_eq!(c.smtp_cmd("MAIL FROM:<a@b> FOO=bar").await, ["555 5.5.4 Unsupported option: FOO=bar"]);
        assert_eq!(c.smtp_cmd("MAIL FROM:<a@b> SIZE=99999999").await, ["552 5.3.4 Message size exceeds fixed limit"]);
        assert_eq!(c.smtp_cmd("VRFY demo").await, ["252 2.0.0 demo"]);
        assert_eq!(c.smtp_cmd("HELP").await, ["500 5.5.2 Error: command not recognized"]);

        // PIPELINING (RFC 2920): one write, replies in order.
        c.send("MAIL FROM:<sender@example.com>\r\nRCPT TO:<someone@example.com>\r\nRCPT TO:<demo@localhost>\r\nMAIL FROM:<x@y>\r\nNOOP\r\n").await;
        let mut replies = Vec::new();
        for _ in 0..5 {
            replies.extend(c.smtp().await);
        }
        assert_eq!(
            replies,
            [
                "250 2.1.0 Ok",
                "554 5.7.1 <someone@example.com>: Relay access denied",
                "250 2.1.5 Ok",
                "503 5.5.1 Error: nested MAIL command",
                "250 2.0.0 Ok"
            ]
        );
        assert_eq!(c.smtp_cmd("QUIT").await, ["221 2.0.0 Bye"]);
        server.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn smtp_bytes_after_starttls_are_discarded_not_executed() {
    within(async {
        let server = start().await;
        let mut c = Client::connect(addr(&server, "smtp")).await;
        c.smtp().await;
        c.smtp_cmd("EHLO client.example").await;
        // CVE-2011-0411: a command smuggled in the same packet as STARTTLS
        // must not be answered inside TLS.
        c.send("STARTTLS\r\nRSET\r\n").await;
        assert_eq!(c.smtp().await, ["220 2.0.0 Ready to start TLS"]);
        c.start_tls(server.root_pem(), "localhost").await;
        assert_eq!(c.smtp_cmd("NOOP").await, ["250 2.0.0 Ok"]);
        assert_eq!(c.smtp_cmd("QUIT").await, ["221 2.0.0 Bye"]);
        server.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn smtp_data_ends_only_at_crlf_dot_crlf() {
    within(async {
        let server = start().await;
        let root = server.root_pem().to_string();
        let mut c = Client::connect(addr(&server, "smtp")).await;
        c.smtp().await;
        c.smtp_cmd("EHLO client.example").await;
        c.smtp_cmd("MAIL FROM:<alice@mailwire.test>").await;
        c.smtp_cmd("RCPT TO:<demo@localhost>").await;
        assert_eq!(
            c.smtp_cmd("DATA").await,
            ["354 End data with <CR><LF>.<CR><LF>"]
        );
        // SMTP smuggling: <LF>.<LF> is not the end of the data, so the
        // "MAIL FROM" after it is message content, not a second transaction.
        c.send("Subject: smuggle\r\n\r\nfirst\n.\nMAIL FROM:<evil@example.com>\r\n.\r\n")
            .await;
        let replies = c.smtp().await;
        assert_eq!(replies.len(), 1);
        assert!(
            replies[0].starts_with("250 2.0.0 Ok: queued as "),
            "{replies:?}"
        );
        assert_eq!(c.smtp_cmd("NOOP").await, ["250 2.0.0 Ok"]);

        let mut p = Client::connect_tls(addr(&server, "pop3s"), &root, "localhost").await;
        p.line().await;
        p.pop3_cmd(&format!("USER {DEMO_USER}")).await;
        p.pop3_cmd(&format!("PASS {DEMO_PASSWORD}")).await;
        p.pop3_cmd("RETR 3").await;
        let lines = p.pop3_multiline().await;
        assert!(
            lines.ends_with(&[
                "first".into(),
                ".".into(),
                "MAIL FROM:<evil@example.com>".into()
            ]),
            "{lines:?}"
        );
        server.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn smtp_junk_and_over_long_lines_get_errors_and_the_server_survives() {
    within(async {
        let server = start().await;
        let smtp = addr(&server, "smtp");

        let mut c = Client::connect(smtp).await;
        c.smtp().await;
        c.send_bytes(b"\x16\x03\x01\x02\x00\x01\xff\xfe\r\n").await;
        assert_eq!(
            c.smtp().await,
            ["221 2.7.0 Error: I can break rules, too. Goodbye."]
        );
        assert!(c.closed().await);

        let mut c = Client::connect(smtp).await;
        c.smtp().await;
        c.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n").await;
        assert_eq!(
            c.smtp().await,
            ["221 2.7.0 Error: I can break rules, too. Goodbye."]
        );

        let mut c = Client::connect(smtp).await;
        c.smtp().await;
        let long = format!("NOOP {}\r\n", "A".repeat(70_000));
        c.send(&long).await;
        assert_eq!(c.smtp().await, ["500 5.5.0 Error: line too long"]);
        assert!(c.closed().await);

        let mut c = Client::connect(smtp).await;
        c.smtp().await;
        for _ in 0..19 {
            assert_eq!(
                c.smtp_cmd("BOGUS").await,
                ["500 5.5.2 Error: command not recognized"]
            );
        }
        assert_eq!(
            c.smtp_cmd("BOGUS").await,
            ["500 5.5.2 Error: command not recognized"]
        );
        assert_eq!(
            c.smtp_cmd("NOOP").await,
            ["421 4.7.0 localhost Error: too many errors"]
        );
        assert!(c.closed().await);

        let mut c = Client::connect(smtp).await;
        assert_eq!(c.smtp().await, ["220 localhost ESMTP mailwire"]);
        server.shutdown().await;
    })
    .await;
}

// ---------------------------------------------------------------- IMAP

#[tokio::test]
async fn imap_capabilities_and_login_refused_before_tls() {
    within(async {
        let server = start().await;
        let mut c = Client::connect(addr(&server, "imap")).await;
        assert_eq!(
            c.line().await,
            "* OK [CAPABILITY IMAP4rev1 SASL-IR LITERAL+ ID ENABLE IDLE STARTTLS LOGINDISABLED] mailwire ready."
        );
        assert_eq!(
            c.imap_cmd("a", "CAPABILITY").await,
            [
                "* CAPABILITY IMAP4rev1 SASL-IR LITERAL+ ID ENABLE IDLE STARTTLS LOGINDISABLED",
                "a OK Pre-login capabilities listed, post-login capabilities have more."
            ]
        );
        let login = c.imap_cmd("b", &format!("LOGIN {DEMO_USER} {DEMO_PASSWORD}")).await;
        assert_eq!(
            login[1],
            "b NO [PRIVACYREQUIRED] Plaintext authentication disallowed on non-secure (SSL/TLS) connections."
        );
        assert!(login[0].starts_with("* BAD [ALERT] Plaintext authentication not allowed"));
        assert_eq!(
            c.imap_cmd("c", "AUTHENTICATE PLAIN").await,
            ["c NO [PRIVACYREQUIRED] Plaintext authentication disabled."]
        );
        assert_eq!(c.imap_cmd("d", "STARTTLS").await, ["d OK Begin TLS negotiation now."]);
        c.start_tls(server.root_pem(), "localhost").await;
        assert_eq!(
            c.imap_cmd("e", "CAPABILITY").await[0],
            "* CAPABILITY IMAP4rev1 SASL-IR LITERAL+ ID ENABLE IDLE AUTH=PLAIN AUTH=LOGIN"
        );
        assert_eq!(
            c.imap_cmd("f", &format!("LOGIN {DEMO_USER} wrong")).await,
            ["f NO [AUTHENTICATIONFAILED] Authentication failed."]
        );
        assert_eq!(c.imap_cmd("g", "STARTTLS").await, ["g BAD TLS is already active."]);
        server.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn imap_starttls_login_with_literals_select_fetch_logout() {
    within(async {
        let server = start().await;
        let mut c = Client::connect(addr(&server, "imap")).await;
        c.line().await;
        c.imap_cmd("a", "STARTTLS").await;
        c.start_tls(server.root_pem(), "127.0.0.1").await;

        // A synchronizing literal waits for "+ OK"; LITERAL+ does not.
        c.send(&format!("b LOGIN {{{}}}\r\n", DEMO_USER.len())).await;
        assert_eq!(c.line().await, "+ OK");
        c.send(&format!("{DEMO_USER} {{{}+}}\r\n{DEMO_PASSWORD}\r\n", DEMO_PASSWORD.len())).await;
        assert_eq!(
            c.imap_until("b").await,
            ["b OK [CAPABILITY IMAP4rev1 SASL-IR LITERAL+ ID ENABLE IDLE NAMESPACE UNSELECT] Logged in"]
        );

        let select = c.imap_cmd("c", "SELECT INBOX").await;
        assert_eq!(select[0], "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)");
        assert!(select.contains(&"* 2 EXISTS".to_string()), "{select:?}");
        assert!(select.iter().any(|l| l.starts_with("* 0 RECENT")));
        assert!(select.contains(&"* OK [UNSEEN 2] First unseen.".to_string()));
        assert!(select.iter().any(|l| l.starts_with("* OK [UIDVALIDITY ")));
        assert!(select.contains(&"* OK [UIDNEXT 3] Predicted next UID".to_string()));
        assert_eq!(select.last().unwrap(), "c OK [READ-WRITE] Select completed.");

        let sizes = c.imap_cmd("d", "FETCH 1:* (UID FLAGS RFC822.SIZE)").await;
        assert_eq!(sizes.len(), 3);
        assert!(sizes[0].starts_with("* 1 FETCH (UID 1 FLAGS (\\Seen) RFC822.SIZE "));
        assert!(sizes[1].starts_with("* 2 FETCH (UID 2 FLAGS () RFC822.SIZE "));
        let size1: usize = sizes[0]
            .trim_end_matches(')')
            .rsplit(' ')
            .next()
            .unwrap()
            .parse()
            .unwrap();

        // FETCH BODY[]: the literal's byte count must be exact.
        c.send("e FETCH 1 BODY[]\r\n").await;
        let head = c.line().await;
        let n: usize = head
            .strip_prefix("* 1 FETCH (BODY[] {")
            .and_then(|r| r.strip_suffix('}'))
            .expect("literal announcement")
            .parse()
            .unwrap();
        assert_eq!(n, size1);
        let body = c.exact(n).await;
        assert!(body.starts_with(b"Return-Path: "));
        assert!(body.ends_with(b"mailwire\r\n"));
        assert!(!body.windows(2).any(|w| w[1] == b'\n' && w[0] != b'\r'), "bare LF in message");
        assert_eq!(c.line().await, ")");
        assert_eq!(c.imap_until("e").await, ["e OK Fetch completed."]);

        // Fetching message 2 without PEEK marks it seen and says so.
        c.send("f FETCH 2 BODY[TEXT]\r\n").await;
        let head = c.line().await;
        let n: usize = head
            .strip_prefix("* 2 FETCH (BODY[TEXT] {")
            .and_then(|r| r.strip_suffix('}'))
            .unwrap()
            .parse()
            .unwrap();
        let text = c.exact(n).await;
        assert!(text.starts_with(b"Hi Demo,"));
        assert_eq!(c.line().await, " FLAGS (\\Seen))");
        assert_eq!(c.imap_until("f").await, ["f OK Fetch completed."]);

        let env = c.imap_cmd("g", "UID FETCH 2 (ENVELOPE)").await;
        assert!(env[0].starts_with("* 2 FETCH (UID 2 ENVELOPE (\"Tue, 07 Jan 2025 10:30:00 +0000\" \"Lines that start with a dot\""), "{env:?}");

        assert_eq!(
            c.imap_cmd("h", "FETCH 9 FLAGS").await,
            ["h BAD Error in IMAP command FETCH: Invalid messageset."]
        );
        assert_eq!(
            c.imap_cmd("i", "FROB").await,
            ["i BAD Error in IMAP command FROB: Unknown command."]
        );
        // A failed SELECT still closes the previous mailbox (RFC 7162 §3.2.11).
        assert_eq!(
            c.imap_cmd("j", "SELECT Trash").await,
            ["* OK [CLOSED] Previous mailbox closed.", "j NO Mailbox doesn't exist: Trash"]
        );
        assert_eq!(c.imap_cmd("k", "FETCH 1 FLAGS").await, ["k BAD No mailbox selected."]);
        assert_eq!(c.imap_cmd("l", "LOGOUT").await, ["* BYE Logging out", "l OK Logout completed."]);
        assert!(c.closed().await);
        server.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn imap_authenticate_plain_with_and_without_initial_response() {
    within(async {
        let server = start().await;
        let imaps = addr(&server, "imaps");
        let mut c = Client::connect_tls(imaps, server.root_pem(), "localhost").await;
        c.line().await;
        assert_eq!(
            c.imap_cmd("a", "AUTHENTICATE CRAM-MD5").await,
            ["a NO [ALERT] Unsupported authentication mechanism."]
        );
        assert_eq!(
            c.imap_cmd(
                "b",
                &format!("AUTHENTICATE PLAIN {}", plain_ir(DEMO_USER, "nope"))
            )
            .await,
            ["b NO [AUTHENTICATIONFAILED] Authentication failed."]
        );
        c.send("c AUTHENTICATE PLAIN\r\n").await;
        assert_eq!(c.line().await, "+ ");
        c.send("*\r\n").await;
        assert_eq!(
            c.imap_until("c").await,
            ["c BAD Authentication aborted by client."]
        );
        c.send("d AUTHENTICATE PLAIN\r\n").await;
        assert_eq!(c.line().await, "+ ");
        c.send("!!!\r\n").await;
        assert_eq!(
            c.imap_until("d").await,
            ["d NO [ALERT] Invalid base64 in response"]
        );
        c.send("e AUTHENTICATE PLAIN\r\n").await;
        assert_eq!(c.line().await, "+ ");
        c.send(&format!("{}\r\n", plain_ir(DEMO_USER, DEMO_PASSWORD)))
            .await;
        let ok = c.imap_until("e").await;
        assert!(ok[0].starts_with("e OK [CAPABILITY IMAP4rev1 "), "{ok:?}");
        assert!(ok[0].ends_with("] Logged in"));
        assert_eq!(
            c.imap_cmd("f", "LOGIN demo demo-password").await,
            ["f BAD Error in IMAP command LOGIN: Unknown command."]
        );

        // SASL-IR in one line.
        let mut c = Client::connect_tls(imaps, server.root_pem(), "localhost").await;
        c.line().await;
        let ok = c
            .imap_cmd(
                "a",
                &format!("AUTHENTICATE PLAIN {}", plain_ir(DEMO_USER, DEMO_PASSWORD)),
            )
            .await;
        assert!(ok[0].ends_with("] Logged in"), "{ok:?}");
        server.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn imap_idle_announces_new_mail_and_ends_on_done() {
    within(async {
        let server = start().await;
        let root = server.root_pem().to_string();
        let mut c = Client::connect_tls(addr(&server, "imaps"), &root, "localhost").await;
        c.line().await;
        c.imap_cmd(
            "a",
            &format!("AUTHENTICATE PLAIN {}", plain_ir(DEMO_USER, DEMO_PASSWORD)),
        )
        .await;
        c.imap_cmd("b", "SELECT INBOX").await;
        c.send("c IDLE\r\n").await;
        assert_eq!(c.line().await, "+ idling");

        let mut s = Client::connect(addr(&server, "smtp")).await;
        s.smtp().await;
        s.smtp_cmd("EHLO client.example").await;
        s.smtp_cmd("MAIL FROM:<alice@mailwire.test>").await;
        assert_eq!(
            s.smtp_cmd("RCPT TO:<demo@localhost>").await,
            ["250 2.1.5 Ok"]
        );
        s.smtp_cmd("DATA").await;
        s.send("Subject: while idling\r\n\r\nhello\r\n.\r\n").await;
        assert!(s.smtp().await[0].starts_with("250 2.0.0 Ok: queued as "));

        assert_eq!(c.line().await, "* 3 EXISTS");
        assert_eq!(c.line().await, "* 1 RECENT");
        c.send("DONE\r\n").await;
        assert_eq!(c.imap_until("c").await, ["c OK Idle completed."]);
        let flags = c
            .imap_cmd("d", "FETCH 3 (FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
            .await;
        assert!(
            flags[0].starts_with("* 3 FETCH (FLAGS (\\Recent) BODY[HEADER.FIELDS (SUBJECT)] {"),
            "{flags:?}"
        );
        server.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn imap_junk_and_long_lines_before_login() {
    within(async {
        let server = start().await;
        let imap = addr(&server, "imap");
        let mut c = Client::connect(imap).await;
        c.line().await;
        assert_eq!(
            c.imap_cmd("a", "SELECT INBOX").await,
            ["a BAD Error in IMAP command received by server."]
        );
        c.send("\r\n").await;
        assert_eq!(
            c.line().await,
            "* BAD Error in IMAP command received by server."
        );
        // Dovecot's imap-login hangs up on the third bad command.
        c.send("\x00\x01garbage\r\n").await;
        assert_eq!(c.line().await, "* BYE Too many invalid IMAP commands.");
        assert!(c.closed().await);

        let mut c = Client::connect(imap).await;
        c.line().await;
        c.send(&format!("a NOOP {}\r\n", "x".repeat(70_000))).await;
        assert_eq!(c.line().await, "* BYE Input buffer full, aborting");
        assert!(c.closed().await);

        let mut c = Client::connect(imap).await;
        c.line().await;
        c.send("a LOGIN {999999999}\r\n").await;
        assert_eq!(
            c.line().await,
            "a BAD Error in IMAP command received by server."
        );
        assert_eq!(c.imap_cmd("b", "NOOP").await, ["b OK NOOP completed."]);
        server.shutdown().await;
    })
    .await;
}

// ---------------------------------------------------------------- POP3

#[tokio::test]
async fn pop3_capa_before_and_after_stls_and_plaintext_refusal() {
    within(async {
        let server = start().await;
        let mut c = Client::connect(addr(&server, "pop3")).await;
        assert_eq!(c.line().await, "+OK mailwire ready.");
        assert_eq!(c.pop3_cmd("CAPA").await, "+OK");
        assert_eq!(
            c.pop3_multiline().await,
            [
                "CAPA",
                "TOP",
                "UIDL",
                "RESP-CODES",
                "PIPELINING",
                "AUTH-RESP-CODE",
                "STLS",
                "SASL"
            ]
        );
        let refused =
            "-ERR [AUTH] Plaintext authentication disallowed on non-secure (SSL/TLS) connections.";
        assert_eq!(c.pop3_cmd(&format!("USER {DEMO_USER}")).await, refused);
        assert_eq!(c.pop3_cmd(&format!("PASS {DEMO_PASSWORD}")).await, refused);
        assert_eq!(
            c.pop3_cmd("AUTH PLAIN").await,
            "-ERR [AUTH] Plaintext authentication disabled."
        );
        assert_eq!(c.pop3_cmd("STLS").await, "+OK Begin TLS negotiation now.");
        c.start_tls(server.root_pem(), "localhost").await;
        assert_eq!(c.pop3_cmd("CAPA").await, "+OK");
        assert_eq!(
            c.pop3_multiline().await,
            [
                "CAPA",
                "TOP",
                "UIDL",
                "RESP-CODES",
                "PIPELINING",
                "AUTH-RESP-CODE",
                "USER",
                "SASL PLAIN LOGIN"
            ]
        );
        assert_eq!(c.pop3_cmd("PASS x").await, "-ERR No username given.");
        assert_eq!(c.pop3_cmd(&format!("USER {DEMO_USER}")).await, "+OK");
        assert_eq!(
            c.pop3_cmd("PASS wrong").await,
            "-ERR [AUTH] Authentication failed."
        );
        assert_eq!(
            c.pop3_cmd(&format!(
                "AUTH PLAIN {}",
                plain_ir(DEMO_USER, DEMO_PASSWORD)
            ))
            .await,
            "+OK Logged in."
        );
        assert_eq!(c.pop3_cmd("STLS").await, "-ERR Unknown command: STLS");
        server.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn pop3_stls_login_stat_list_retr_top_uidl_dele_quit() {
    within(async {
        let server = start().await;
        let root = server.root_pem().to_string();

        // The reference copy of message 2, fetched through IMAP.
        let mut i = Client::connect_tls(addr(&server, "imaps"), &root, "localhost").await;
        i.line().await;
        i.imap_cmd("a", &format!("LOGIN {DEMO_USER} {DEMO_PASSWORD}"))
            .await;
        i.imap_cmd("b", "EXAMINE INBOX").await;
        i.send("c FETCH 2 BODY.PEEK[]\r\n").await;
        let head = i.line().await;
        let n: usize = head
            .rsplit('{')
            .next()
            .unwrap()
            .trim_end_matches('}')
            .parse()
            .unwrap();
        let stored = i.exact(n).await;
        i.line().await;
        i.imap_until("c").await;
        assert!(
            stored.windows(3).any(|w| w == b"\n.\r"),
            "message 2 should contain a lone dot line"
        );

        let mut c = Client::connect(addr(&server, "pop3")).await;
        c.line().await;
        assert_eq!(c.pop3_cmd("STLS").await, "+OK Begin TLS negotiation now.");
        c.start_tls(&root, "127.0.0.1").await;
        assert_eq!(c.pop3_cmd(&format!("USER {DEMO_USER}")).await, "+OK");
        assert_eq!(
            c.pop3_cmd(&format!("PASS {DEMO_PASSWORD}")).await,
            "+OK Logged in."
        );

        let stat = c.pop3_cmd("STAT").await;
        let parts: Vec<&str> = stat.split(' ').collect();
        assert_eq!(parts[..2], ["+OK", "2"]);
        assert_eq!(c.pop3_cmd("LIST").await, "+OK 2 messages:");
        let list = c.pop3_multiline().await;
        assert_eq!(list.len(), 2);
        let total: usize = list
            .iter()
            .map(|l| l.split(' ').nth(1).unwrap().parse::<usize>().unwrap())
            .sum();
        assert_eq!(total.to_string(), parts[2]);
        assert_eq!(c.pop3_cmd("LIST 2").await, format!("+OK {}", list[1]));
        assert_eq!(c.pop3_cmd("LIST 9").await, "-ERR There's no message 9.");

        // RETR: dot-unstuffed lines rejoined with CRLF equal the stored message.
        assert_eq!(c.pop3_cmd("RETR 2").await, format!("+OK {n} octets"));
        let mut retr = c.pop3_multiline().await.join("\r\n").into_bytes();
        retr.extend_from_slice(b"\r\n");
        assert_eq!(retr, stored);

        assert_eq!(c.pop3_cmd("TOP 1 0").await, "+OK");
        let top = c.pop3_multiline().await;
        assert_eq!(top.last().unwrap(), "");
        assert!(
            top.iter()
                .any(|l| l == "Subject: Welcome to the mailwire demo mailbox")
        );

        assert_eq!(
            c.pop3_cmd("UIDL 1")
                .await
                .split(' ')
                .take(2)
                .collect::<Vec<_>>(),
            ["+OK", "1"]
        );
        assert_eq!(c.pop3_cmd("UIDL").await, "+OK");
        assert_eq!(c.pop3_multiline().await.len(), 2);

        assert_eq!(c.pop3_cmd("DELE 1").await, "+OK Marked to be deleted.");
        assert_eq!(c.pop3_cmd("RETR 1").await, "-ERR Message is deleted.");
        assert!(c.pop3_cmd("STAT").await.starts_with("+OK 1 "));
        assert_eq!(c.pop3_cmd("RSET").await, "+OK");
        assert!(c.pop3_cmd("STAT").await.starts_with("+OK 2 "));
        assert_eq!(c.pop3_cmd("DELE 1").await, "+OK Marked to be deleted.");
        assert_eq!(c.pop3_cmd("FROB").await, "-ERR Unknown command: FROB");
        assert_eq!(
            c.pop3_cmd("QUIT").await,
            "+OK Logging out, messages deleted."
        );
        assert!(c.closed().await);

        let mut c = Client::connect_tls(addr(&server, "pop3s"), &root, "localhost").await;
        c.line().await;
        c.pop3_cmd(&format!("USER {DEMO_USER}")).await;
        c.pop3_cmd(&format!("PASS {DEMO_PASSWORD}")).await;
        assert!(c.pop3_cmd("STAT").await.starts_with("+OK 1 "));
        assert_eq!(c.pop3_cmd("QUIT").await, "+OK Logging out.");
        server.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn pop3_junk_and_long_lines() {
    within(async {
        let server = start().await;
        let pop3 = addr(&server, "pop3");
        let mut c = Client::connect(pop3).await;
        c.line().await;
        assert_eq!(c.pop3_cmd("STAT").await, "-ERR Unknown command.");
        assert_eq!(c.pop3_cmd("\u{7f}\u{1}junk").await, "-ERR Unknown command.");
        c.send("NOOP\r\n").await;
        assert_eq!(c.line().await, "-ERR Unknown command.");
        assert_eq!(c.line().await, "-ERR Too many invalid bad commands.");
        assert!(c.closed().await);

        let mut c = Client::connect(pop3).await;
        c.line().await;
        c.send(&format!("USER {}\r\n", "u".repeat(100_000))).await;
        assert_eq!(c.line().await, "-ERR Input buffer full, aborting");
        assert!(c.closed().await);

        let mut c = Client::connect(pop3).await;
        assert_eq!(c.line().await, "+OK mailwire ready.");
        assert_eq!(c.pop3_cmd("QUIT").await, "+OK Logging out");
        server.shutdown().await;
    })
    .await;
}

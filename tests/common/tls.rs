//! Scripted loopback TLS servers and a throwaway PKI for the TLS and
//! certificate diagnosis tests (tests/tls_diagnosis.rs, tests/scan.rs).
//!
//! - [`Pki`]: certificates made at test time with the `openssl` command
//!   (v1 certificates, RSA-1024, SHA-1, AIA) and rcgen (dates in the past),
//!   in a temporary directory removed on drop.
//! - [`TlsServer`]: an in-process rustls server on 127.0.0.1 that presents
//!   any chain as given (no checks of its own) and speaks just enough IMAP
//!   after the handshake (greeting, CAPABILITY, LOGOUT) for `check` to finish.
//! - [`SServer`]: `openssl s_server` on a free port for what rustls cannot
//!   serve (TLS 1.0, DHE, P-521, SNI alerts); killed on drop.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert, WebPkiClientVerifier};
use rustls::sign::CertifiedKey;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader as TokioBufReader};

/// Runs `openssl` with `args` in `dir`; panics with its output on failure.
pub fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("the openssl command is needed for these tests (apt-get install openssl)");
    assert!(
        out.status.success(),
        "openssl {}:\n{}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A throwaway PKI in a temporary directory.
pub struct Pki {
    pub dir: tempfile::TempDir,
    /// Common name of each certificate made, by file name.
    cns: std::cell::RefCell<std::collections::HashMap<String, String>>,
}

/// Key types for [`Pki::key`].
#[derive(Clone, Copy)]
pub enum Key {
    P256,
    Rsa1024,
    Rsa2048,
}

impl Pki {
    /// A root `Test Root CA` and an intermediate `Test Intermediate CA`
    /// (`root.pem`/`root.key`, `inter.pem`/`inter.key`), EC P-256.
    pub fn new() -> Pki {
        let pki = Pki {
            dir: tempfile::tempdir().expect("temp dir"),
            cns: Default::default(),
        };
        pki.ca("root", "Test Root CA", None, Key::P256);
        pki.ca("inter", "Test Intermediate CA", Some("root"), Key::P256);
        pki
    }

    /// Path of a file in the PKI directory.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// The same as a string, for command lines.
    pub fn p(&self, name: &str) -> String {
        self.path(name).to_str().expect("utf-8 path").to_string()
    }

    /// Writes `NAME.key`.
    pub fn key(&self, name: &str, kind: Key) {
        let out = format!("{name}.key");
        match kind {
            Key::P256 => openssl(
                self.dir.path(),
                &[
                    "genpkey",
                    "-algorithm",
                    "EC",
                    "-pkeyopt",
                    "ec_paramgen_curve:P-256",
                    "-out",
                    &out,
                ],
            ),
            Key::Rsa1024 => openssl(
                self.dir.path(),
                &[
                    "genpkey",
                    "-algorithm",
                    "RSA",
                    "-pkeyopt",
                    "rsa_keygen_bits:1024",
                    "-out",
                    &out,
                ],
            ),
            Key::Rsa2048 => openssl(
                self.dir.path(),
                &[
                    "genpkey",
                    "-algorithm",
                    "RSA",
                    "-pkeyopt",
                    "rsa_keygen_bits:2048",
                    "-out",
                    &out,
                ],
            ),
        }
    }

    /// A CA certificate `NAME.pem` (key `NAME.key`), self-signed or issued by `issuer`.
    pub fn ca(&self, name: &str, cn: &str, issuer: Option<&str>, kind: Key) {
        self.key(name, kind);
        self.sign(
            name,
            cn,
            issuer,
            "basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign,digitalSignature\nsubjectKeyIdentifier=hash\n",
            "sha256",
        );
    }

    /// A leaf `NAME.pem` (key `NAME.key`, EC P-256 unless the key exists)
    /// issued by `issuer` with the extension lines `ext` (none at all makes
    /// an X.509 v1 certificate) and the digest `digest` (`sha256`, `sha1`).
    pub fn leaf(&self, name: &str, cn: &str, issuer: &str, ext: &str, digest: &str) {
        if !self.path(&format!("{name}.key")).exists() {
            self.key(name, Key::P256);
        }
        self.sign(name, cn, Some(issuer), ext, digest);
    }

    fn sign(&self, name: &str, cn: &str, issuer: Option<&str>, ext: &str, digest: &str) {
        self.cns.borrow_mut().insert(name.into(), cn.into());
        let d = self.dir.path();
        let csr = format!("{name}.csr");
        let key = format!("{name}.key");
        let pem = format!("{name}.pem");
        let subj = format!("/O=mailwire tests/CN={cn}");
        openssl(
            d,
            &["req", "-new", "-key", &key, "-subj", &subj, "-out", &csr],
        );
        let mut args: Vec<String> = ["x509", "-req", "-in", &csr, "-days", "30", "-out", &pem]
            .iter()
            .map(|s| s.to_string())
            .collect();
        args.push(format!("-{digest}"));
        match issuer {
            Some(ca) => args.extend([
                "-CA".into(),
                format!("{ca}.pem"),
                "-CAkey".into(),
                format!("{ca}.key"),
                "-set_serial".into(),
                format!("0x{:x}", rand_serial()),
            ]),
            None => args.extend(["-key".into(), key.clone()]),
        }
        if !ext.is_empty() {
            let extfile = format!("{name}.ext");
            std::fs::write(d.join(&extfile), ext).expect("write extfile");
            args.extend(["-extfile".into(), extfile]);
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        openssl(d, &args);
    }

    /// A certificate with chosen dates (days from now, negative in the past),
    /// made with rcgen and signed by `issuer`: `NAME.pem`, key `NAME.key`.
    pub fn dated(
        &self,
        name: &str,
        cn: &str,
        issuer: &str,
        sans: &[&str],
        days: (i64, i64),
        is_ca: bool,
    ) {
        use rcgen::{BasicConstraints, DistinguishedName, DnType, IsCa, Issuer, KeyPair};
        let read = |f: String| std::fs::read_to_string(self.path(&f)).expect("read PEM");
        let issuer_key = KeyPair::from_pem(&read(format!("{issuer}.key"))).expect("issuer key");
        // The issuer's name, encoded as openssl did (O then CN, UTF8String).
        let dn = |cn: &str| {
            let mut dn = DistinguishedName::new();
            dn.push(DnType::OrganizationName, "mailwire tests");
            dn.push(DnType::CommonName, cn);
            dn
        };
        let issuer_cn = self
            .cns
            .borrow()
            .get(issuer)
            .cloned()
            .expect("issuer made here");
        let mut issuer_params = rcgen::CertificateParams::default();
        issuer_params.distinguished_name = dn(&issuer_cn);
        let issuer = Issuer::new(issuer_params, issuer_key);
        self.cns.borrow_mut().insert(name.into(), cn.into());
        let mut params =
            rcgen::CertificateParams::new(sans.iter().map(|s| s.to_string()).collect::<Vec<_>>())
                .expect("names");
        params.distinguished_name = dn(cn);
        let now = time::OffsetDateTime::now_utc();
        params.not_before = now + time::Duration::days(days.0);
        params.not_after = now + time::Duration::days(days.1);
        params.is_ca = if is_ca {
            IsCa::Ca(BasicConstraints::Unconstrained)
        } else {
            IsCa::ExplicitNoCa
        };
        let key = KeyPair::generate().expect("key");
        let cert = params.signed_by(&key, &issuer).expect("sign");
        std::fs::write(self.path(&format!("{name}.pem")), cert.pem()).expect("write");
        std::fs::write(self.path(&format!("{name}.key")), key.serialize_pem()).expect("write");
    }

    /// Concatenates PEM files `parts` (names without `.pem`) into `NAME.pem`.
    pub fn chain(&self, name: &str, parts: &[&str]) -> PathBuf {
        let mut out = String::new();
        for p in parts {
            out.push_str(&std::fs::read_to_string(self.path(&format!("{p}.pem"))).expect("read"));
        }
        let path = self.path(&format!("{name}.pem"));
        std::fs::write(&path, out).expect("write chain");
        path
    }
}

fn rand_serial() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(1);
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    (t & 0xffff_ffff_ffff) ^ (N.fetch_add(1, Ordering::Relaxed) << 48)
}

/// What the in-process server asks of the client.
pub enum ClientAuth {
    None,
    /// Ask for a certificate from this CA, go on without one.
    Optional(PathBuf),
    /// Require a certificate from this CA.
    Required(PathBuf),
}

#[derive(Debug)]
struct Fixed(Arc<CertifiedKey>);

impl ResolvesServerCert for Fixed {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.0.clone())
    }
}

/// An implicit-TLS IMAP server on 127.0.0.1 that presents `chain` as is.
pub struct TlsServer {
    pub port: u16,
    /// Set when a client presented a certificate.
    pub client_cert_seen: Arc<Mutex<bool>>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl TlsServer {
    /// Starts serving `chain` (PEM, leaf first) with `key` (PEM).
    pub fn imaps(chain: &Path, key: &Path, auth: ClientAuth) -> TlsServer {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(chain)
            .expect("chain")
            .collect::<Result<_, _>>()
            .expect("chain PEM");
        let key = PrivateKeyDer::from_pem_file(key).expect("key PEM");
        let signing = provider.key_provider.load_private_key(key).expect("key");
        let certified = Arc::new(CertifiedKey::new(certs, signing));
        let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .expect("versions");
        let roots = |ca: &Path| {
            let mut store = rustls::RootCertStore::empty();
            for c in CertificateDer::pem_file_iter(ca).expect("ca").flatten() {
                store.add(c).expect("root");
            }
            Arc::new(store)
        };
        let builder = match &auth {
            ClientAuth::None => builder.with_no_client_auth(),
            ClientAuth::Optional(ca) => builder.with_client_cert_verifier(
                WebPkiClientVerifier::builder_with_provider(roots(ca), provider.clone())
                    .allow_unauthenticated()
                    .build()
                    .expect("verifier"),
            ),
            ClientAuth::Required(ca) => builder.with_client_cert_verifier(
                WebPkiClientVerifier::builder_with_provider(roots(ca), provider.clone())
                    .build()
                    .expect("verifier"),
            ),
        };
        let config = Arc::new(builder.with_cert_resolver(Arc::new(Fixed(certified))));
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.set_nonblocking(true).expect("nonblocking");
        let port = listener.local_addr().expect("addr").port();
        let seen = Arc::new(Mutex::new(false));
        let seen_task = seen.clone();
        let (stop, mut stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
                let acceptor = tokio_rustls::TlsAcceptor::from(config);
                let mut tasks = tokio::task::JoinSet::new();
                loop {
                    tokio::select! {
                        _ = &mut stopped => break,
                        accepted = listener.accept() => {
                            let Ok((tcp, _)) = accepted else { continue };
                            let acceptor = acceptor.clone();
                            let seen = seen_task.clone();
                            tasks.spawn(async move {
                                let Ok(tls) = acceptor.accept(tcp).await else { return };
                                if tls.get_ref().1.peer_certificates().is_some_and(|c| !c.is_empty()) {
                                    *seen.lock().unwrap() = true;
                                }
                                imap_dialogue(tls).await;
                            });
                        }
                    }
                }
                tasks.abort_all();
            });
        });
        TlsServer {
            port,
            client_cert_seen: seen,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    /// `imaps://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("imaps://127.0.0.1:{}", self.port)
    }
}

impl Drop for TlsServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Greeting, CAPABILITY and LOGOUT; anything else gets BAD. At most 20 lines.
async fn imap_dialogue<S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin>(stream: S) {
    let (read, mut write) = tokio::io::split(stream);
    let mut lines = TokioBufReader::new(read).lines();
    if write
        .write_all(b"* OK [CAPABILITY IMAP4rev1] test server ready\r\n")
        .await
        .is_err()
    {
        return;
    }
    for _ in 0..20 {
        let Ok(Some(line)) = lines.next_line().await else {
            return;
        };
        let mut words = line.split_whitespace();
        let tag = words.next().unwrap_or("*").to_string();
        let verb = words.next().unwrap_or("").to_ascii_uppercase();
        let reply = match verb.as_str() {
            "CAPABILITY" => format!("* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\n{tag} OK done\r\n"),
            "LOGOUT" => format!("* BYE bye\r\n{tag} OK LOGOUT done\r\n"),
            _ => format!("{tag} BAD unknown\r\n"),
        };
        if write.write_all(reply.as_bytes()).await.is_err() {
            return;
        }
        if verb == "LOGOUT" {
            let _ = write.shutdown().await;
            return;
        }
    }
}

/// `openssl s_server` on a free loopback port.
pub struct SServer {
    child: Child,
    // Held open: s_server ends its session when its stdin reaches EOF.
    _stdin: ChildStdin,
    pub port: u16,
}

impl SServer {
    /// Starts `openssl s_server -accept 127.0.0.1:0 ARGS` in `dir` and
    /// waits (at most 10 s) until it listens.
    pub fn start(dir: &Path, args: &[&str]) -> SServer {
        let mut child = Command::new("openssl")
            .arg("s_server")
            .args(["-accept", "127.0.0.1:0"])
            .args(args)
            .current_dir(dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("the openssl command is needed for these tests");
        let stdin = child.stdin.take().expect("stdin");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        // Reads the ACCEPT line, then keeps draining so s_server never blocks on its output.
        std::thread::spawn(move || {
            let mut tx = Some(tx);
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(port) = line
                    .strip_prefix("ACCEPT ")
                    .and_then(|a| a.rsplit(':').next())
                    .and_then(|p| p.trim().parse::<u16>().ok())
                    && let Some(tx) = tx.take()
                {
                    let _ = tx.send(port);
                }
            }
        });
        let Ok(port) = rx.recv_timeout(Duration::from_secs(10)) else {
            let _ = child.kill();
            let _ = child.wait();
            panic!("openssl s_server {args:?} did not start listening");
        };
        SServer {
            child,
            _stdin: stdin,
            port,
        }
    }
}

impl Drop for SServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

//! Real DNS and HTTPS servers for domain mode, from Debian's packages:
//! NSD serving zones signed offline with ldns-signzone (one key per zone,
//! the `test.` key is the trust anchor), and nginx serving MTA-STS
//! policies over HTTPS with a test PKI made here with rcgen.
//!
//! ```text
//! TestPki (rcgen) -- root -> intermediate -> leaves (MX hosts, mta-sts hosts)
//! Dns::start(zones) -- ldns-keygen / ldns-signzone / ldns-key2ds -> nsd -d (127.0.0.1:free port)
//! Https::start(sites) -- nginx (master_process off, 127.0.0.1:free port)
//! ```
//!
//! Each server runs in its own temporary directory, on a port picked free
//! at start, and is stopped (SIGTERM, then SIGKILL) and its directory
//! removed on drop. Without the packages the tests print a loud SKIPPED
//! line and pass; with `MAILWIRE_REQUIRE_REALSERVERS=1` a skip fails.
//! Install with `sudo bash tests/domain/install.sh`.
#![allow(dead_code)]

use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose,
};
use sha2::{Digest, Sha256};

/// How long a server may take to come up.
const START_LIMIT: Duration = Duration::from_secs(15);

/// Skips (or, under `MAILWIRE_REQUIRE_REALSERVERS=1`, fails) a test that
/// needs programs that are not installed.
pub fn skip(why: &str) {
    if std::env::var("MAILWIRE_REQUIRE_REALSERVERS").is_ok_and(|v| v == "1") {
        panic!("domain tests required (MAILWIRE_REQUIRE_REALSERVERS=1) but cannot run: {why}");
    }
    eprintln!(
        "\n*** SKIPPED: domain-mode tests with real NSD/nginx: {why}. Install with `sudo bash tests/domain/install.sh` to run them. ***\n"
    );
}

/// True when `prog` is found (in PATH or /usr/sbin, where nsd and nginx live).
pub fn have(prog: &str) -> Option<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    dirs.extend(["/usr/sbin", "/usr/bin", "/sbin"].map(PathBuf::from));
    dirs.into_iter().map(|d| d.join(prog)).find(|p| p.is_file())
}

/// A port free for both TCP and UDP on 127.0.0.1 right now.
pub fn free_port() -> u16 {
    for _ in 0..50 {
        let tcp = TcpListener::bind("127.0.0.1:0").expect("bind tcp");
        let port = tcp.local_addr().expect("addr").port();
        if UdpSocket::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no free port for TCP and UDP");
}

fn run(cmd: &mut Command) -> String {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Waits until `addr` accepts TCP, or panics with `log` after the limit.
fn wait_ready(addr: SocketAddr, child: &mut Child, log: &Path) {
    let start = Instant::now();
    while start.elapsed() < START_LIMIT {
        if let Ok(Some(status)) = child.try_wait() {
            panic!(
                "server exited ({status}) before listening on {addr}:\n{}",
                std::fs::read_to_string(log).unwrap_or_default()
            );
        }
        if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!(
        "server not listening on {addr} after {START_LIMIT:?}:\n{}",
        std::fs::read_to_string(log).unwrap_or_default()
    );
}

/// SIGTERM, a bounded wait, then SIGKILL.
fn stop(child: &mut Child) {
    let _ = Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .stderr(Stdio::null())
        .status();
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(5) {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
}

// ---------------------------------------------------------------------------
// PKI
// ---------------------------------------------------------------------------

/// A leaf certificate with its key, chain (leaf, intermediate) and files.
pub struct Leaf {
    /// DER, leaf first: leaf, intermediate (the root is not sent).
    pub chain: Vec<Vec<u8>>,
    /// PKCS#8 DER of the key.
    pub key_der: Vec<u8>,
    /// PEM of the chain (leaf, intermediate), for nginx.
    pub chain_pem: String,
    /// PEM of the key.
    pub key_pem: String,
}

impl Leaf {
    /// SHA-256 of the leaf's SubjectPublicKeyInfo, hex (a `3 1 1` TLSA).
    pub fn spki_sha256(&self) -> String {
        let (_, cert) = x509_parser::parse_x509_certificate(&self.chain[0]).expect("parse leaf");
        hex(&Sha256::digest(cert.tbs_certificate.subject_pki.raw))
    }
}

/// Root, intermediate and leaves made at test time.
pub struct TestPki {
    pub root_der: Vec<u8>,
    pub root_pem: String,
    pub intermediate_der: Vec<u8>,
    intermediate: Issuer<'static, KeyPair>,
}

fn dn(cn: &str) -> DistinguishedName {
    let mut d = DistinguishedName::new();
    d.push(DnType::CommonName, cn);
    d
}

impl TestPki {
    pub fn new() -> TestPki {
        let root_key = KeyPair::generate().unwrap();
        let mut rp = CertificateParams::new(Vec::<String>::new()).unwrap();
        rp.distinguished_name = dn("mailwire domain test root");
        rp.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        rp.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let root_cert = rp.self_signed(&root_key).unwrap();
        let root = Issuer::new(rp, root_key);
        let int_key = KeyPair::generate().unwrap();
        let mut ip = CertificateParams::new(Vec::<String>::new()).unwrap();
        ip.distinguished_name = dn("mailwire domain test intermediate");
        ip.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        ip.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let int_cert = ip.signed_by(&int_key, &root).unwrap();
        TestPki {
            root_der: root_cert.der().to_vec(),
            root_pem: root_cert.pem(),
            intermediate_der: int_cert.der().to_vec(),
            intermediate: Issuer::new(ip, int_key),
        }
    }

    /// A leaf for `names` issued by the intermediate; `expired` backdates it.
    pub fn leaf(&self, names: &[&str], expired: bool) -> Leaf {
        let key = KeyPair::generate().unwrap();
        let mut p = CertificateParams::new(names.iter().map(|s| s.to_string()).collect::<Vec<_>>())
            .unwrap();
        p.distinguished_name = dn(names[0]);
        p.is_ca = IsCa::ExplicitNoCa;
        p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let now = time::OffsetDateTime::now_utc();
        if expired {
            p.not_before = now - time::Duration::days(60);
            p.not_after = now - time::Duration::days(1);
        } else {
            p.not_before = now - time::Duration::days(1);
            p.not_after = now + time::Duration::days(30);
        }
        let cert = p.signed_by(&key, &self.intermediate).unwrap();
        let int_pem = pem("CERTIFICATE", &self.intermediate_der);
        Leaf {
            chain: vec![cert.der().to_vec(), self.intermediate_der.clone()],
            key_der: key.serialize_der(),
            chain_pem: format!("{}{}", cert.pem(), int_pem),
            key_pem: key.serialize_pem(),
        }
    }

    /// SHA-256 of a DER certificate, hex (a `2 0 1` TLSA for a CA).
    pub fn cert_sha256(der: &[u8]) -> String {
        hex(&Sha256::digest(der))
    }
}

fn pem(label: &str, der: &[u8]) -> String {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(chunk).unwrap());
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

// ---------------------------------------------------------------------------
// DNS: NSD with zones signed by ldns-signzone
// ---------------------------------------------------------------------------

/// How a child zone is published in `test.`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signing {
    /// Signed, with its DS in `test.`: answers validate.
    Signed,
    /// Not signed, no DS: answers are provably insecure.
    Unsigned,
    /// Signed, but `test.` holds the DS of another key: answers are bogus.
    WrongDs,
}

/// One child zone of `test.` (e.g. `example.test`).
pub struct Zone {
    /// Without the trailing dot: `example.test`.
    pub name: String,
    /// Records in zone-file syntax, relative to the zone (SOA and NS are added).
    pub records: String,
    pub signing: Signing,
}

/// A running NSD serving `test.` and its children.
pub struct Dns {
    pub addr: SocketAddr,
    /// The `test.` DNSKEY in zone-file form: the trust anchor.
    pub trust_anchor: String,
    child: Child,
    dir: tempfile::TempDir,
}

impl Drop for Dns {
    fn drop(&mut self) {
        stop(&mut self.child);
    }
}

fn zone_header(origin: &str) -> String {
    format!(
        "$ORIGIN {origin}.\n$TTL 300\n@ SOA ns.test. hostmaster.test. 1 3600 600 86400 300\n@ NS ns.test.\n"
    )
}

/// Makes a key for `zone` in `dir`, returning its file base name.
fn keygen(dir: &Path, zone: &str) -> String {
    run(Command::new("ldns-keygen").current_dir(dir).args([
        "-a",
        "ECDSAP256SHA256",
        "-k",
        &format!("{zone}."),
    ]))
    .trim()
    .to_string()
}

fn sign(dir: &Path, zone: &str, file: &str, key: &str) {
    run(Command::new("ldns-signzone").current_dir(dir).args([
        "-o",
        &format!("{zone}."),
        file,
        key,
    ]));
}

fn ds(dir: &Path, key: &str) -> String {
    let out =
        run(Command::new("ldns-key2ds")
            .current_dir(dir)
            .args(["-n", "-2", &format!("{key}.key")]));
    out.trim().to_string()
}

impl Dns {
    /// Signs and serves `zones` under a signed `test.`. `None`: skipped.
    pub fn start(zones: &[Zone]) -> Option<Dns> {
        for prog in ["nsd", "ldns-keygen", "ldns-signzone", "ldns-key2ds"] {
            if have(prog).is_none() {
                skip(&format!("{prog} is not installed"));
                return None;
            }
        }
        let dir = tempfile::Builder::new()
            .prefix("mailwire-dns-")
            .tempdir()
            .unwrap();
        let d = dir.path();
        let mut parent = zone_header("test");
        parent.push_str("ns A 127.0.0.1\n");
        let mut conf_zones = String::new();
        for z in zones {
            let label = z
                .name
                .strip_suffix(".test")
                .expect("zones live under test.");
            parent.push_str(&format!("{label} NS ns.test.\n"));
            let file = format!("{}.zone", z.name);
            std::fs::write(
                d.join(&file),
                format!("{}{}\n", zone_header(&z.name), z.records),
            )
            .unwrap();
            let served = match z.signing {
                Signing::Unsigned => file.clone(),
                Signing::Signed | Signing::WrongDs => {
                    let key = keygen(d, &z.name);
                    sign(d, &z.name, &file, &key);
                    let record = if z.signing == Signing::Signed {
                        ds(d, &key)
                    } else {
                        // The DS of a key that signs nothing.
                        let other = keygen(d, &z.name);
                        ds(d, &other)
                    };
                    parent.push_str(&record);
                    parent.push('\n');
                    format!("{file}.signed")
                }
            };
            conf_zones.push_str(&format!(
                "zone:\n  name: {}.\n  zonefile: {served}\n",
                z.name
            ));
        }
        std::fs::write(d.join("test.zone"), parent).unwrap();
        let test_key = keygen(d, "test");
        sign(d, "test", "test.zone", &test_key);
        let anchor = std::fs::read_to_string(d.join(format!("{test_key}.key"))).unwrap();
        // ldns-keygen appends a comment (`;{id = ...}`), which is fine for
        // a zone-file parser; keep only the record line.
        let trust_anchor = anchor
            .lines()
            .find(|l| l.contains("DNSKEY"))
            .unwrap()
            .split(';')
            .next()
            .unwrap()
            .trim()
            .to_string();

        let port = free_port();
        let ds = d.display();
        let conf = format!(
            "server:\n  ip-address: 127.0.0.1@{port}\n  do-ip6: no\n  username: \"\"\n  chroot: \"\"\n  zonesdir: \"{ds}\"\n  database: \"\"\n  zonelistfile: \"{ds}/zone.list\"\n  xfrdfile: \"{ds}/xfrd.state\"\n  xfrdir: \"{ds}\"\n  pidfile: \"{ds}/nsd.pid\"\n  logfile: \"{ds}/nsd.log\"\n  server-count: 1\n  verbosity: 1\nremote-control:\n  control-enable: no\nzone:\n  name: test.\n  zonefile: test.zone.signed\n{conf_zones}"
        );
        std::fs::write(d.join("nsd.conf"), conf).unwrap();
        let log = d.join("nsd.log");
        let mut child = Command::new(have("nsd").unwrap())
            .args(["-d", "-c"])
            .arg(d.join("nsd.conf"))
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(d.join("nsd.err")).unwrap())
            .spawn()
            .expect("start nsd");
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        wait_ready(addr, &mut child, &log);
        Some(Dns {
            addr,
            trust_anchor,
            child,
            dir,
        })
    }
}

// ---------------------------------------------------------------------------
// HTTPS: nginx
// ---------------------------------------------------------------------------

/// What one virtual host answers for `/.well-known/mta-sts.txt`.
pub enum Answer {
    /// 200 with this body and media type.
    Body {
        content_type: &'static str,
        body: String,
    },
    /// A redirect with this status to this URL.
    Redirect(u16, String),
    /// This status, empty body.
    Status(u16),
}

/// One virtual host: its name (SNI, Host) and what it serves.
pub struct Site {
    pub host: String,
    pub answer: Answer,
    /// The certificate it presents.
    pub cert_pem: String,
    pub key_pem: String,
}

/// A running nginx serving `sites` over HTTPS.
pub struct Https {
    pub port: u16,
    child: Child,
    dir: tempfile::TempDir,
}

impl Drop for Https {
    fn drop(&mut self) {
        stop(&mut self.child);
    }
}

impl Https {
    /// Starts nginx; `None`: skipped.
    pub fn start(sites: &[Site]) -> Option<Https> {
        let Some(nginx) = have("nginx") else {
            skip("nginx is not installed");
            return None;
        };
        let dir = tempfile::Builder::new()
            .prefix("mailwire-https-")
            .tempdir()
            .unwrap();
        let d = dir.path();
        let port = free_port();
        let mut servers = String::new();
        for (i, s) in sites.iter().enumerate() {
            std::fs::write(d.join(format!("cert{i}.pem")), &s.cert_pem).unwrap();
            std::fs::write(d.join(format!("key{i}.pem")), &s.key_pem).unwrap();
            let location = match &s.answer {
                Answer::Body { content_type, body } => {
                    std::fs::write(d.join(format!("policy{i}.txt")), body).unwrap();
                    format!(
                        "types {{ }}\n      default_type {content_type};\n      alias {}/policy{i}.txt;",
                        d.display()
                    )
                }
                Answer::Redirect(code, url) => format!("return {code} {url};"),
                Answer::Status(code) => format!("return {code};"),
            };
            servers.push_str(&format!(
                "  server {{\n    listen 127.0.0.1:{port} ssl;\n    server_name {host};\n    ssl_certificate {dir}/cert{i}.pem;\n    ssl_certificate_key {dir}/key{i}.pem;\n    location = /.well-known/mta-sts.txt {{\n      {location}\n    }}\n  }}\n",
                host = s.host,
                dir = d.display(),
            ));
        }
        let dd = d.display();
        let conf = format!(
            "master_process off;\ndaemon off;\nworker_processes 1;\npid {dd}/nginx.pid;\nerror_log {dd}/error.log warn;\nevents {{ worker_connections 64; }}\nhttp {{\n  access_log off;\n  client_body_temp_path {dd}/tmp-body;\n  proxy_temp_path {dd}/tmp-proxy;\n  fastcgi_temp_path {dd}/tmp-fastcgi;\n  uwsgi_temp_path {dd}/tmp-uwsgi;\n  scgi_temp_path {dd}/tmp-scgi;\n{servers}}}\n"
        );
        std::fs::write(d.join("nginx.conf"), conf).unwrap();
        let log = d.join("error.log");
        let mut child = Command::new(nginx)
            .arg("-c")
            .arg(d.join("nginx.conf"))
            .arg("-p")
            .arg(d)
            .arg("-e")
            .arg(&log)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(d.join("nginx.err")).unwrap())
            .spawn()
            .expect("start nginx");
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        wait_ready(addr, &mut child, &log);
        Some(Https { port, child, dir })
    }
}

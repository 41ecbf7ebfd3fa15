//! Trust anchors and which store decided a verdict.
//!
//! ```text
//! --ca-file PEM..  --ca-path DIR  --> given roots (read per connection; small)
//! OS store (bundle file, else rustls-native-certs; Mozilla roots if empty)
//!     --> loaded at most once per process, and only when the given roots
//!         did not verify the chain and --no-system-roots is not set
//! ```
//!
//! `--ca-file` keeps the meaning it has in `openssl s_client`: its roots are
//! added to the OS store. `--no-system-roots` trusts only the given roots
//! (as curl's `--cacert` does). The verdict names the stores consulted and
//! the store whose anchor the chain leads to ([`TrustStore`]).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, TrustAnchor};
use rustls::sign::CertifiedKey;

use super::ClientOptions;
use super::client::TlsError;

/// Where a trust anchor came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RootSource {
    /// The operating system's store (`/etc/ssl/certs/ca-certificates.crt` on Debian).
    Os,
    /// The Mozilla roots compiled into mailwire, used when the OS store is empty.
    Bundled,
    /// A `--ca-file` PEM.
    CaFile,
    /// A `--ca-path` directory.
    CaPath,
    /// The built-in server's root, handed over in memory (`demo`, `check --demo`).
    Demo,
    /// A source this build does not know (from a newer recording).
    #[serde(other)]
    Unknown,
}

impl RootSource {
    /// `OS store`, `--ca-file`, ...
    pub fn label(self) -> &'static str {
        match self {
            RootSource::Os => "OS store",
            RootSource::Bundled => "bundled Mozilla roots (the OS store is empty)",
            RootSource::CaFile => "--ca-file",
            RootSource::CaPath => "--ca-path",
            RootSource::Demo => "the built-in server's root",
            RootSource::Unknown => "unknown store",
        }
    }
}

/// The trust anchor a chain leads to (by issuer name; it may still fail to
/// verify, e.g. when a certificate expired).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Anchor {
    pub source: RootSource,
    /// Subject DN of the anchor, RFC 4514 form.
    pub subject: String,
}

/// Which trust store decided: the stores consulted, in order, and the
/// anchor the chain leads to. Empty in recordings made before mailwire said so.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TrustStore {
    /// The stores consulted, in order (given roots first, then the OS store).
    pub consulted: Vec<RootSource>,
    /// The anchor whose name the chain's top issuer carries; `None` when no
    /// consulted store holds the chain's root.
    pub anchor: Option<Anchor>,
    /// The chain verified up to that anchor (the name is checked apart).
    #[serde(default)]
    pub chain_verified: bool,
}

impl TrustStore {
    /// True for a verdict that does not say (an older recording).
    pub fn is_unknown(&self) -> bool {
        self.consulted.is_empty() && self.anchor.is_none()
    }

    /// `--ca-file, then the OS store`.
    pub fn consulted_text(&self) -> String {
        if self.consulted.is_empty() {
            return "no trust store".into();
        }
        self.consulted
            .iter()
            .map(|s| s.label())
            .collect::<Vec<_>>()
            .join(", then the ")
            .replacen(", then the --", ", then --", usize::MAX)
    }

    /// One line for reports: which store decided and with which anchor.
    pub fn describe(&self) -> String {
        match (&self.anchor, self.chain_verified) {
            (Some(a), true) => format!(
                "{} (anchor \"{}\")",
                a.source.label(),
                crate::escape::escape_bytes(a.subject.as_bytes())
            ),
            (Some(a), false) => format!(
                "{} holds the root \"{}\", but the chain does not verify",
                a.source.label(),
                crate::escape::escape_bytes(a.subject.as_bytes())
            ),
            (None, _) => format!("{}: no anchor for this chain", self.consulted_text()),
        }
    }
}

/// One trust anchor with its source.
#[derive(Debug, Clone)]
pub(crate) struct Root {
    pub anchor: TrustAnchor<'static>,
    pub source: RootSource,
}

/// The given roots, the client certificate and whether the OS store may be consulted.
#[derive(Debug, Clone)]
pub struct TrustConfig {
    pub(crate) given: Vec<Root>,
    pub(crate) system: bool,
    pub(crate) client: Option<Arc<CertifiedKey>>,
}

fn read_pem_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    CertificateDer::pem_file_iter(path)
        .and_then(|it| it.collect())
        .map_err(|e| e.to_string())
}

fn anchors(
    certs: Vec<CertificateDer<'static>>,
    source: RootSource,
    path: &Path,
) -> Result<Vec<Root>, TlsError> {
    certs
        .iter()
        .map(|c| {
            webpki::anchor_from_trusted_cert(c)
                .map(|a| Root {
                    anchor: a.to_owned(),
                    source,
                })
                .map_err(|_| {
                    TlsError::Config(format!(
                        "{} holds a certificate that cannot be used as a trust anchor (not valid X.509 DER)",
                        path.display()
                    ))
                })
        })
        .collect()
}

impl TrustConfig {
    /// Reads `--ca-file`, `--ca-path` and `--cert`/`--key`. Never reads the
    /// OS store: that happens, once per process, only when a chain needs it.
    ///
    /// # Errors
    /// [`TlsError::Config`] naming the file: unreadable, no certificate in
    /// it, a key that does not parse or does not match `--cert`, or
    /// `--no-system-roots` without any given root.
    pub fn load(opts: &ClientOptions) -> Result<TrustConfig, TlsError> {
        let mut given = Vec::new();
        for path in &opts.ca_files {
            let certs = read_pem_certs(path).map_err(|e| {
                TlsError::Config(format!("cannot read CA file {}: {e}", path.display()))
            })?;
            if certs.is_empty() {
                let bytes = std::fs::read(path).unwrap_or_default();
                return Err(TlsError::Config(format!(
                    "CA file {} {}",
                    path.display(),
                    not_a_certificate(&bytes)
                )));
            }
            given.extend(anchors(certs, RootSource::CaFile, path)?);
        }
        if let Some(dir) = &opts.ca_path {
            given.extend(load_ca_path(dir)?);
        }
        for (i, pem) in opts.ca_pem.iter().enumerate() {
            let certs: Vec<CertificateDer<'static>> =
                CertificateDer::pem_slice_iter(pem.as_bytes())
                    .collect::<Result<_, _>>()
                    .map_err(|e| TlsError::Config(format!("trust anchor {i} in memory: {e}")))?;
            if certs.is_empty() {
                return Err(TlsError::Config(format!(
                    "trust anchor {i} in memory holds no certificate"
                )));
            }
            given.extend(anchors(certs, RootSource::Demo, Path::new("memory"))?);
        }
        if opts.no_system_roots && given.is_empty() {
            return Err(TlsError::Config(
                "--no-system-roots needs --ca-file or --ca-path: without them nothing is trusted"
                    .into(),
            ));
        }
        let client = match (&opts.client_cert, &opts.client_key) {
            (None, None) => None,
            (Some(cert), Some(key)) => Some(load_client_cert(cert, key)?),
            _ => {
                return Err(TlsError::Config(
                    "--cert and --key go together: give both".into(),
                ));
            }
        };
        Ok(TrustConfig {
            given,
            system: !opts.no_system_roots,
            client,
        })
    }

    /// True when the OS store may be consulted.
    pub fn uses_system_roots(&self) -> bool {
        self.system
    }

    /// The given roots' sources, in order, without repeats.
    pub(crate) fn given_sources(&self) -> Vec<RootSource> {
        let mut out: Vec<RootSource> = Vec::new();
        for r in &self.given {
            if !out.contains(&r.source) {
                out.push(r.source);
            }
        }
        out
    }
}

/// Every regular file in `dir` that holds PEM certificates (OpenSSL's
/// hashed names and plain `*.pem` alike); other files are skipped, as
/// OpenSSL's `-CApath` lookup would never match them.
fn load_ca_path(dir: &Path) -> Result<Vec<Root>, TlsError> {
    let entries = std::fs::read_dir(dir).map_err(|e| {
        TlsError::Config(format!("cannot read CA directory {}: {e}", dir.display()))
    })?;
    let mut paths: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .collect();
    paths.sort();
    let mut roots = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for path in paths {
        let Ok(certs) = read_pem_certs(&path) else {
            continue;
        };
        // Hashed names are often symlinks to the same certificate.
        let fresh: Vec<_> = certs
            .into_iter()
            .filter(|c| seen.insert(c.as_ref().to_vec()))
            .collect();
        if let Ok(r) = anchors(fresh, RootSource::CaPath, &path) {
            roots.extend(r);
        }
    }
    if roots.is_empty() {
        return Err(TlsError::Config(format!(
            "CA directory {} holds no PEM certificate",
            dir.display()
        )));
    }
    Ok(roots)
}

fn load_client_cert(cert: &Path, key: &Path) -> Result<Arc<CertifiedKey>, TlsError> {
    let chain = read_pem_certs(cert)
        .map_err(|e| TlsError::Config(format!("cannot read --cert {}: {e}", cert.display())))?;
    if chain.is_empty() {
        return Err(TlsError::Config(format!(
            "--cert {} holds no certificate",
            cert.display()
        )));
    }
    let key_der = PrivateKeyDer::from_pem_file(key).map_err(|e| {
        TlsError::Config(format!(
            "--key {}: no private key in PEM form (PKCS#8, PKCS#1 or SEC1): {e}",
            key.display()
        ))
    })?;
    let provider = rustls::crypto::aws_lc_rs::default_provider();
    CertifiedKey::from_der(chain, key_der, &provider)
        .map(Arc::new)
        .map_err(|e| {
            TlsError::Config(format!(
                "--cert {} and --key {} do not form a usable pair: {}",
                cert.display(),
                key.display(),
                super::client::describe_rustls_error(&e)
            ))
        })
}

/// The OS store, as loaded once.
pub(crate) struct OsRoots {
    pub roots: Vec<Root>,
}

static OS_LOADS: AtomicUsize = AtomicUsize::new(0);

/// How many times this process read the OS store (0 or 1), for tests.
pub fn os_store_loads() -> usize {
    OS_LOADS.load(Ordering::Relaxed)
}

/// Bundle files of the common distributions, one file with every root.
const BUNDLES: &[&str] = &[
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/ca-bundle.pem",
    "/etc/ssl/cert.pem",
];

/// The OS store, read on first use and kept for the life of the process.
/// Reads the distribution's bundle file alone when there is one (one file
/// instead of one per certificate in `/etc/ssl/certs`); honours
/// `SSL_CERT_FILE`/`SSL_CERT_DIR` through rustls-native-certs; falls back to
/// the Mozilla roots compiled in when the OS store is empty.
pub(crate) fn os_roots() -> &'static OsRoots {
    static OS: OnceLock<OsRoots> = OnceLock::new();
    OS.get_or_init(|| {
        OS_LOADS.fetch_add(1, Ordering::Relaxed);
        let env_set = std::env::var_os("SSL_CERT_FILE").is_some()
            || std::env::var_os("SSL_CERT_DIR").is_some();
        let bundle = BUNDLES.iter().map(Path::new).find(|p| p.is_file());
        let loaded = match (env_set, bundle) {
            (false, Some(file)) => rustls_native_certs::load_certs_from_paths(Some(file), None),
            _ => rustls_native_certs::load_native_certs(),
        };
        let mut roots: Vec<Root> = loaded
            .certs
            .iter()
            .filter_map(|c| webpki::anchor_from_trusted_cert(c).ok())
            .map(|a| Root {
                anchor: a.to_owned(),
                source: RootSource::Os,
            })
            .collect();
        if roots.is_empty() {
            roots = webpki_roots::TLS_SERVER_ROOTS
                .iter()
                .map(|a| Root {
                    anchor: a.clone(),
                    source: RootSource::Bundled,
                })
                .collect();
        }
        OsRoots { roots }
    })
}

/// Why a `--ca-file` with no certificate is not one, from its PEM labels:
/// a private key or a certificate request is named as such (both are
/// common mix-ups with the CA's certificate), DER is told apart from junk.
pub(crate) fn not_a_certificate(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let labels: Vec<&str> = text
        .split("-----BEGIN ")
        .skip(1)
        .filter_map(|rest| rest.split_once("-----").map(|(label, _)| label))
        .collect();
    let want = "give the CA's certificate (-----BEGIN CERTIFICATE-----)";
    if let Some(label) = labels.iter().find(|l| l.contains("PRIVATE KEY")) {
        format!(
            "is a private key (BEGIN {label}), not a certificate: {want}; a client never needs a private key to trust a server"
        )
    } else if let Some(label) = labels.iter().find(|l| l.contains("CERTIFICATE REQUEST")) {
        format!(
            "is a certificate signing request (BEGIN {label}), not a certificate: {want}, i.e. what the CA issued"
        )
    } else if let Some(label) = labels.first() {
        format!("holds no certificate, only BEGIN {label}: {want}")
    } else if bytes.first() == Some(&0x30) {
        "holds no PEM; it looks like DER: convert it with `openssl x509 -inform der -in FILE -out FILE.pem`".to_string()
    } else {
        format!("holds no certificate: {want}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn consulted_text_reads_as_a_sentence() {
        let t = TrustStore {
            consulted: vec![RootSource::CaFile, RootSource::Os],
            anchor: None,
            chain_verified: false,
        };
        assert_eq!(t.consulted_text(), "--ca-file, then the OS store");
        assert_eq!(
            t.describe(),
            "--ca-file, then the OS store: no anchor for this chain"
        );
        let json = serde_json::to_string(&t).unwrap();
        assert_eq!(
            json,
            r#"{"consulted":["ca_file","os"],"anchor":null,"chain_verified":false}"#
        );
    }

    #[test]
    fn options_are_checked_without_the_os_store() {
        let dir = tempfile::tempdir().unwrap();
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "no certificate here\n").unwrap();
        let err = TrustConfig::load(&ClientOptions {
            ca_files: vec![empty],
            ..ClientOptions::default()
        })
        .unwrap_err();
        assert!(err.to_string().contains("holds no certificate"), "{err}");
        let err = TrustConfig::load(&ClientOptions {
            no_system_roots: true,
            ..ClientOptions::default()
        })
        .unwrap_err();
        assert!(err.to_string().contains("--no-system-roots needs"), "{err}");
        let err = TrustConfig::load(&ClientOptions {
            ca_path: Some(dir.path().to_path_buf()),
            ..ClientOptions::default()
        })
        .unwrap_err();
        assert!(
            err.to_string().contains("holds no PEM certificate"),
            "{err}"
        );
        let err = TrustConfig::load(&ClientOptions {
            client_cert: Some(dir.path().join("c.pem")),
            ..ClientOptions::default()
        })
        .unwrap_err();
        assert!(err.to_string().contains("go together"), "{err}");
    }

    #[test]
    fn a_key_or_a_request_is_named_as_such() {
        let key = b"-----BEGIN PRIVATE KEY-----\nMIGH\n-----END PRIVATE KEY-----\n";
        assert!(not_a_certificate(key).starts_with("is a private key (BEGIN PRIVATE KEY)"));
        let rsa = b"-----BEGIN RSA PRIVATE KEY-----\nMIGH\n-----END RSA PRIVATE KEY-----\n";
        assert!(not_a_certificate(rsa).contains("private key (BEGIN RSA PRIVATE KEY)"));
        let csr = b"-----BEGIN CERTIFICATE REQUEST-----\nMIGH\n-----END CERTIFICATE REQUEST-----\n";
        assert!(not_a_certificate(csr).starts_with("is a certificate signing request"));
        assert!(not_a_certificate(&[0x30, 0x82, 1, 2]).contains("DER"));
        assert!(not_a_certificate(b"hello").starts_with("holds no certificate"));
    }
}

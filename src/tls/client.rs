//! The client side of TLS: build a rustls config per connection from
//! [`ClientOptions`], run the handshake, and summarise what was negotiated.

use std::sync::{Arc, Mutex};

use rustls::client::WebPkiServerVerifier;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, RootCertStore};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_rustls::TlsConnector;

use super::verifier::{ChainShape, Observation, RecordingVerifier, Verdict, verdict};
use super::{ClientOptions, HandshakeSummary};
use crate::cert;

/// An established client TLS stream over `S`.
pub type TlsStream<S> = tokio_rustls::client::TlsStream<S>;

/// Errors before or during the handshake.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// Bad options: unreadable CA file, unknown TLS version, invalid name.
    #[error("{0}")]
    Config(String),
    /// The handshake failed; the message says why in operator terms.
    #[error("TLS handshake failed: {message}")]
    Handshake {
        message: String,
        /// What the verifier saw before the failure (chain may be empty).
        verdict: Option<Box<Verdict>>,
        chain_der: Vec<Vec<u8>>,
    },
}

/// Prepared client TLS for one connection.
pub struct Client {
    config: Arc<ClientConfig>,
    name: ServerName<'static>,
    /// Name checked against the certificate, as text.
    name_text: String,
    /// SNI actually sent.
    sni: Option<String>,
    anchors: Arc<Vec<Vec<u8>>>,
    seen: Arc<Mutex<Observation>>,
}

/// The result of a finished handshake.
pub struct Established<S> {
    pub stream: TlsStream<S>,
    pub summary: HandshakeSummary,
    pub verdict: Verdict,
    /// DER, leaf first, as sent.
    pub chain_der: Vec<Vec<u8>>,
}

/// Trust anchors: the OS store (as `openssl s_client` and swaks use), the
/// Mozilla set from webpki-roots only when the OS store is empty, plus
/// `--ca-file` PEMs.
pub fn root_store(opts: &ClientOptions) -> Result<RootCertStore, TlsError> {
    let mut roots = RootCertStore::empty();
    let native = rustls_native_certs::load_native_certs();
    let (added, _ignored) = roots.add_parsable_certificates(native.certs);
    if added == 0 {
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    }
    for path in &opts.ca_files {
        let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
            .and_then(|it| it.collect())
            .map_err(|e| {
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
        for c in certs {
            roots.add(c).map_err(|e| {
                TlsError::Config(format!("bad certificate in {}: {e}", path.display()))
            })?;
        }
    }
    Ok(roots)
}

/// Why a `--ca-file` with no certificate is not one, from its PEM labels:
/// a private key or a certificate request is named as such (both are
/// common mix-ups with the CA's certificate), DER is told apart from junk.
fn not_a_certificate(bytes: &[u8]) -> String {
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

impl Client {
    /// Prepares TLS towards `host` (the target's host), applying
    /// `--servername`, `--no-sni`, `--tls-version`, `--alpn`, `--strict`.
    ///
    /// # Errors
    /// [`TlsError::Config`] for unreadable CA files, an unknown version or a bad name.
    pub fn new(opts: &ClientOptions, host: &str, roots: RootCertStore) -> Result<Client, TlsError> {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let name_text = opts.servername.clone().unwrap_or_else(|| host.to_string());
        let name = ServerName::try_from(name_text.clone())
            .map_err(|e| TlsError::Config(format!("invalid server name {name_text:?}: {e}")))?;
        let anchors: Vec<Vec<u8>> = roots
            .roots
            .iter()
            .map(|a| a.subject.as_ref().to_vec())
            .collect();
        let webpki = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
            .build()
            .map_err(|e| TlsError::Config(format!("no usable trust anchors: {e}")))?;
        let seen = Arc::new(Mutex::new(Observation::default()));
        let verifier = RecordingVerifier::new(webpki, opts.strict, seen.clone());
        let config = client_config(provider, opts, Arc::new(verifier))?;
        // rustls never sends SNI for an IP address (RFC 6066 §3).
        let sni = match (&name, opts.no_sni) {
            (ServerName::DnsName(d), false) => Some(d.as_ref().to_string()),
            _ => None,
        };
        Ok(Client {
            config: Arc::new(config),
            name,
            name_text,
            sni,
            anchors: Arc::new(anchors),
            seen,
        })
    }

    /// Runs the handshake over `stream`.
    ///
    /// # Errors
    /// [`TlsError::Handshake`] with a plain reason, and the verdict and
    /// chain when the server got as far as sending one.
    pub async fn handshake<S>(&self, stream: S) -> Result<Established<S>, TlsError>
    where
        S: AsyncRead + AsyncWrite + Unpin,
    {
        let connector = TlsConnector::from(self.config.clone());
        let result = connector.connect(self.name.clone(), stream).await;
        let seen = self.seen.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let verdict_now = || {
            (!seen.chain.is_empty())
                .then(|| verdict(&seen, &self.name_text, self.shape(&seen.chain)))
        };
        match result {
            Err(e) => Err(TlsError::Handshake {
                message: describe_io_error(&e),
                verdict: verdict_now().map(Box::new),
                chain_der: seen.chain.clone(),
            }),
            Ok(stream) => {
                let (_, conn) = stream.get_ref();
                let summary = HandshakeSummary {
                    version: conn
                        .protocol_version()
                        .map(version_name)
                        .unwrap_or_default(),
                    cipher_suite: conn
                        .negotiated_cipher_suite()
                        .map(|s| enum_name(s.suite().as_str(), s.suite()))
                        .unwrap_or_default(),
                    kx_group: conn
                        .negotiated_key_exchange_group()
                        .map(|g| enum_name(g.name().as_str(), g.name())),
                    alpn: conn
                        .alpn_protocol()
                        .map(|p| String::from_utf8_lossy(p).into_owned()),
                    sni: self.sni.clone(),
                    resumed: matches!(conn.handshake_kind(), Some(rustls::HandshakeKind::Resumed)),
                    ocsp_stapled: seen.ocsp_stapled,
                };
                let verdict = verdict_now()
                    .unwrap_or_else(|| verdict(&seen, &self.name_text, ChainShape::default()));
                Ok(Established {
                    stream,
                    summary,
                    verdict,
                    chain_der: seen.chain,
                })
            }
        }
    }

    fn shape(&self, chain: &[Vec<u8>]) -> ChainShape {
        let Some(top) = chain.last() else {
            return ChainShape::default();
        };
        let report = cert::ChainReport::from_der(std::slice::from_ref(top), 0, "");
        let top_issuer = cert::issuer_der(top);
        ChainShape {
            top_self_signed: report.certs.first().is_some_and(|c| c.self_signed),
            top_is_ca: report.certs.first().is_some_and(|c| c.is_ca),
            top_issuer_trusted: top_issuer.is_some_and(|i| self.anchors.contains(&i)),
        }
    }

    /// The name the certificate is checked against.
    pub fn name_checked(&self) -> &str {
        &self.name_text
    }
}

fn client_config(
    provider: Arc<CryptoProvider>,
    opts: &ClientOptions,
    verifier: Arc<RecordingVerifier>,
) -> Result<ClientConfig, TlsError> {
    let versions: &[&'static rustls::SupportedProtocolVersion] = match opts.tls_version.as_deref() {
        None => rustls::ALL_VERSIONS,
        Some("1.2") => &[&rustls::version::TLS12],
        Some("1.3") => &[&rustls::version::TLS13],
        Some(other) => {
            return Err(TlsError::Config(format!(
                "unknown TLS version {other:?}: use 1.2 or 1.3"
            )));
        }
    };
    let mut config = ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(versions)
        .map_err(|e| TlsError::Config(e.to_string()))?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    config.enable_sni = !opts.no_sni;
    config.alpn_protocols = opts.alpn.iter().map(|p| p.as_bytes().to_vec()).collect();
    Ok(config)
}

fn version_name(v: rustls::ProtocolVersion) -> String {
    match v {
        rustls::ProtocolVersion::TLSv1_3 => "TLSv1.3".into(),
        rustls::ProtocolVersion::TLSv1_2 => "TLSv1.2".into(),
        other => format!("{other:?}"),
    }
}

fn enum_name(name: Option<&str>, fallback: impl std::fmt::Debug) -> String {
    name.map(str::to_string)
        .unwrap_or_else(|| format!("{fallback:?}"))
}

/// Puts rustls' handshake errors in operator terms.
pub fn describe_io_error(e: &std::io::Error) -> String {
    let Some(tls) = e
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
    else {
        return match e.kind() {
            std::io::ErrorKind::UnexpectedEof => {
                "the server closed the connection during the handshake".into()
            }
            std::io::ErrorKind::ConnectionReset => {
                "the server reset the connection during the handshake".into()
            }
            _ => e.to_string(),
        };
    };
    use rustls::{AlertDescription, Error, PeerIncompatible, PeerMisbehaved};
    match tls {
        Error::PeerIncompatible(PeerIncompatible::ServerDoesNotSupportTls12Or13)
        | Error::AlertReceived(AlertDescription::ProtocolVersion) => {
            "the server only speaks TLS 1.0/1.1 or SSL, which mailwire (rustls) does not implement; \
             these versions are deprecated by RFC 8996. `openssl s_client -tls1` can still talk to it"
                .into()
        }
        Error::AlertReceived(AlertDescription::HandshakeFailure) => {
            "the server sent handshake_failure: no cipher suite, group or signature scheme in common".into()
        }
        Error::InvalidMessage(m) => format!(
            "the server did not answer with TLS ({m:?}): it may not have started TLS, or sent plaintext"
        ),
        Error::PeerMisbehaved(PeerMisbehaved::IllegalMiddleboxChangeCipherSpec) => {
            "the server sent an unexpected ChangeCipherSpec".into()
        }
        Error::InvalidCertificate(c) => format!("certificate rejected (--strict): {c:?}"),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

//! Single-connection TLS probes for `check --scan` and for explaining a
//! failed handshake.
//!
//! ```text
//! handshake_probe: one rustls handshake restricted to one version and the
//!                  given cipher suites / groups  -> Accepted { version, suite, group } | Refused
//! raw_probe:       one hand-built ClientHello offering what rustls does not
//!                  (TLS 1.0/1.1, DHE, RSA key exchange, CBC, P-521, FFDHE)
//!                  -> the server's plaintext answer (ServerHello, HelloRetryRequest, alert)
//! ```
//!
//! A probe never sends application data: it stops after the handshake (or
//! after the server's first flight, for a raw probe) and drops the
//! connection. Handshake signatures are still checked; the certificate is
//! not (a scan asks what the server accepts, not whether to trust it).

use std::sync::Arc;
use std::time::Duration;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, SupportedKxGroup, WebPkiSupportedAlgorithms};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, Error, SignatureScheme, SupportedCipherSuite};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio_rustls::TlsConnector;

use super::hello::{self, RawHello, ServerFlight};
use super::{Alert, group_name, suite_name};
use crate::finding::Finding;

/// A TLS version rustls implements.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
pub enum TlsVersion {
    #[serde(rename = "TLSv1.3")]
    Tls13,
    #[serde(rename = "TLSv1.2")]
    Tls12,
}

impl TlsVersion {
    /// `TLSv1.3` or `TLSv1.2`.
    pub fn name(self) -> &'static str {
        match self {
            TlsVersion::Tls13 => "TLSv1.3",
            TlsVersion::Tls12 => "TLSv1.2",
        }
    }

    fn rustls(self) -> &'static rustls::SupportedProtocolVersion {
        match self {
            TlsVersion::Tls13 => &rustls::version::TLS13,
            TlsVersion::Tls12 => &rustls::version::TLS12,
        }
    }

    fn code(self) -> rustls::ProtocolVersion {
        self.rustls().version
    }
}

/// Every cipher suite the TLS stack (rustls with aws-lc-rs) implements.
fn all_suites() -> &'static [SupportedCipherSuite] {
    rustls::crypto::aws_lc_rs::ALL_CIPHER_SUITES
}

/// Every key-exchange group the TLS stack implements.
fn all_groups() -> &'static [&'static dyn SupportedKxGroup] {
    rustls::crypto::aws_lc_rs::ALL_KX_GROUPS
}

/// Wire codes of the cipher suites rustls implements for `version`, in rustls' order.
pub fn suites_for(version: TlsVersion) -> Vec<u16> {
    all_suites()
        .iter()
        .filter(|s| s.version().version == version.code())
        .map(|s| u16::from(s.suite()))
        .collect()
}

/// Wire codes of the key-exchange groups rustls implements for `version`
/// (the ML-KEM groups exist only in TLS 1.3).
pub fn groups_for(version: TlsVersion) -> Vec<u16> {
    all_groups()
        .iter()
        .filter(|g| g.usable_for_version(version.code()))
        .map(|g| u16::from(g.name()))
        .collect()
}

/// One restricted handshake.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeSpec {
    pub version: TlsVersion,
    /// Wire codes, in the order offered.
    pub suites: Vec<u16>,
    /// Wire codes, in the order offered (the first gets the key share).
    pub groups: Vec<u16>,
    /// SNI to send.
    pub sni: Option<String>,
}

/// What a probe found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProbeOutcome {
    /// The handshake completed with these parameters.
    Accepted { suite: u16, group: Option<u16> },
    /// The server refused (an alert) or the handshake failed otherwise.
    Refused {
        alert: Option<Alert>,
        /// In plain words.
        reason: String,
    },
}

/// Accepts any chain (a scan does not judge trust) but checks handshake
/// signatures with the provider's algorithms.
#[derive(Debug)]
struct AnyChain(WebPkiSupportedAlgorithms);

impl ServerCertVerifier for AnyChain {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_schemes()
    }
}

fn probe_config(spec: &ProbeSpec) -> Result<ClientConfig, String> {
    let base = rustls::crypto::aws_lc_rs::default_provider();
    let cipher_suites = spec
        .suites
        .iter()
        .filter_map(|code| {
            all_suites()
                .iter()
                .find(|s| u16::from(s.suite()) == *code)
                .copied()
        })
        .collect();
    let kx_groups = spec
        .groups
        .iter()
        .filter_map(|code| {
            all_groups()
                .iter()
                .find(|g| u16::from(g.name()) == *code)
                .copied()
        })
        .collect();
    let provider = Arc::new(CryptoProvider {
        cipher_suites,
        kx_groups,
        ..base
    });
    let algorithms = provider.signature_verification_algorithms;
    let mut config = ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[spec.version.rustls()])
        .map_err(|e| super::client::describe_rustls_error(&e))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(AnyChain(algorithms)))
        .with_no_client_auth();
    config.enable_sni = spec.sni.is_some();
    config.resumption = rustls::client::Resumption::disabled();
    Ok(config)
}

/// Runs one restricted handshake over `stream` (plaintext, at the point
/// where the ClientHello goes: after STARTTLS's go-ahead or right after
/// connecting for implicit TLS), bounded by `limit`.
pub async fn handshake_probe<S>(stream: S, spec: &ProbeSpec, limit: Duration) -> ProbeOutcome
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let config = match probe_config(spec) {
        Ok(c) => c,
        Err(reason) => {
            return ProbeOutcome::Refused {
                alert: None,
                reason,
            };
        }
    };
    let name = spec
        .sni
        .clone()
        .and_then(|n| ServerName::try_from(n).ok())
        .unwrap_or_else(|| ServerName::IpAddress(std::net::Ipv4Addr::LOCALHOST.into()));
    let connector = TlsConnector::from(Arc::new(config));
    match tokio::time::timeout(limit, connector.connect(name, stream)).await {
        Err(_) => ProbeOutcome::Refused {
            alert: None,
            reason: format!("no answer within {} ms", limit.as_millis()),
        },
        Ok(Err(e)) => {
            let alert = e
                .get_ref()
                .and_then(|i| i.downcast_ref::<rustls::Error>())
                .and_then(|r| match r {
                    rustls::Error::AlertReceived(d) => Some(Alert::from_rustls(*d)),
                    _ => None,
                });
            ProbeOutcome::Refused {
                alert,
                reason: super::client::describe_io_error(&e),
            }
        }
        Ok(Ok(mut tls)) => {
            let (_, conn) = tls.get_ref();
            let outcome = ProbeOutcome::Accepted {
                suite: conn
                    .negotiated_cipher_suite()
                    .map_or(0, |s| u16::from(s.suite())),
                group: conn
                    .negotiated_key_exchange_group()
                    .map(|g| u16::from(g.name())),
            };
            // close_notify, so the server logs a clean end.
            let _ = tokio::time::timeout(Duration::from_millis(200), tls.shutdown()).await;
            outcome
        }
    }
}

/// Sends one raw ClientHello and reads the server's plaintext answer until
/// it is complete, the server closes, 64 KiB arrived or `limit` passed.
pub async fn raw_probe<S>(mut stream: S, hello: &RawHello, limit: Duration) -> ServerFlight
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut random = [0u8; 64];
    let provider = rustls::crypto::aws_lc_rs::default_provider();
    let _ = provider.secure_random.fill(&mut random);
    let bytes = hello::build_client_hello(hello, &random);
    let mut received = Vec::new();
    let read = async {
        stream.write_all(&bytes).await?;
        stream.flush().await?;
        let mut chunk = [0u8; 4096];
        while received.len() < super::tap::CAPTURE_LIMIT && !hello::answer_complete(&received) {
            let n = stream.read(&mut chunk).await?;
            if n == 0 {
                break;
            }
            received.extend_from_slice(&chunk[..n]);
        }
        Ok::<_, std::io::Error>(())
    };
    let _ = tokio::time::timeout(limit, read).await;
    hello::parse_server_flight(&received)
}

/// The wide diagnosis ClientHello: TLS 1.3 down to 1.0, every common cipher
/// suite and group, so the server's answer shows what it would pick.
pub fn wide_hello(sni: Option<String>) -> RawHello {
    RawHello {
        versions: vec![0x0304, 0x0303, 0x0302, 0x0301],
        cipher_suites: hello::WIDE_SUITES.to_vec(),
        groups: hello::WIDE_GROUPS.to_vec(),
        sni,
    }
}

/// What the server's answer to [`wide_hello`] says about a handshake that
/// failed with rustls' own offer: the legacy version, cipher suite or group
/// it wanted that rustls does not implement.
pub fn diagnose_wide(flight: &ServerFlight) -> Vec<Finding> {
    let Some(h) = flight.hello_after_retry.as_ref().or(flight.hello.as_ref()) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    if h.version <= 0x0302 {
        out.push(super::client::legacy_only(Some(&super::version_name(
            h.version,
        ))));
        return out;
    }
    let version = if h.version == 0x0304 {
        TlsVersion::Tls13
    } else {
        TlsVersion::Tls12
    };
    let ours_suites = suites_for(TlsVersion::Tls13)
        .into_iter()
        .chain(suites_for(TlsVersion::Tls12))
        .map(suite_name)
        .collect::<Vec<_>>();
    if !h.hello_retry && !suites_for(version).contains(&h.cipher_suite) {
        out.push(super::client::no_common_cipher(
            &suite_name(h.cipher_suite),
            &ours_suites,
        ));
    }
    let ours_groups: Vec<String> = groups_for(version).into_iter().map(group_name).collect();
    match (h.group, h.dh_bits) {
        (Some(g), _) if !groups_for(version).contains(&g) => {
            out.push(super::client::no_common_group(&group_name(g), &ours_groups));
        }
        (None, Some(bits)) if out.is_empty() => {
            out.push(super::client::no_common_group(
                &format!("finite-field DH ({bits} bits)"),
                &ours_groups,
            ));
        }
        _ => {}
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::FindingId;

    #[test]
    fn stack_sets_are_what_rustls_implements() {
        assert_eq!(suites_for(TlsVersion::Tls13).len(), 3);
        assert_eq!(suites_for(TlsVersion::Tls12).len(), 6);
        let g13 = groups_for(TlsVersion::Tls13);
        assert!(g13.contains(&0x11ec), "X25519MLKEM768 in TLS 1.3");
        let g12 = groups_for(TlsVersion::Tls12);
        assert!(!g12.contains(&0x11ec) && g12.contains(&0x001d), "{g12:?}");
    }

    #[test]
    fn wide_answers_become_findings() {
        let hello = |version, suite, group, hello_retry| ServerFlight {
            hello: Some(hello::ServerChoice {
                version,
                cipher_suite: suite,
                group,
                hello_retry,
                dh_bits: None,
            }),
            ..ServerFlight::default()
        };
        let ids = |f: &ServerFlight| {
            diagnose_wide(f)
                .into_iter()
                .map(|f| f.id)
                .collect::<Vec<_>>()
        };
        assert_eq!(
            ids(&hello(0x0301, 0xc014, None, false)),
            vec![FindingId::LegacyTlsOnly]
        );
        assert_eq!(
            ids(&hello(0x0304, 0x1302, Some(0x0019), true)),
            vec![FindingId::NoCommonGroup]
        );
        assert_eq!(
            ids(&hello(0x0303, 0x009f, None, false)),
            vec![FindingId::NoCommonCipher]
        );
        assert!(ids(&hello(0x0303, 0xc02f, Some(0x001d), false)).is_empty());
        assert!(diagnose_wide(&ServerFlight::default()).is_empty());
    }
}

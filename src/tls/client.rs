//! The client side of TLS: build a rustls config per connection from
//! [`ClientOptions`], run the handshake over a [`Tap`], and either summarise
//! what was negotiated or explain why it failed.
//!
//! ```text
//! Client::new(opts, host) --TrustConfig::load (given roots, --cert/--key; never the OS store)
//! Client::handshake(stream)
//!   ok  --> Established { stream, summary (+ client certificate request), verdict, chain report }
//!   err --> TlsError::Handshake(HandshakeFailure {
//!              cause: alert 70 protocol_version | certificate rejected (--strict) | not TLS | ...,
//!              offered (parsed from the ClientHello sent), chosen (the ServerHello, if any),
//!              verdict + chain report (when the server got as far as its certificate),
//!              findings: legacy_tls_only, no_common_group, client_cert_required, sni_unrecognized, ... })
//! ```
//!
//! No library error text reaches the operator as `Debug` output: every
//! rustls error is put in plain words here (RFC 8446 §6 for alerts).

use std::io;
use std::sync::{Arc, Mutex};

use rustls::client::ResolvesClientCert;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::ServerName;
use rustls::sign::CertifiedKey;
use rustls::{ClientConfig, SignatureScheme};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_rustls::TlsConnector;

use super::hello::{self, ClientOffer, ServerFlight};
use super::summary::ClientCertRequest;
use super::tap::{Capture, Tap};
use super::trust::TrustConfig;
use super::verifier::{Observation, RecordingVerifier, Verdict};
use super::{Alert, ClientOptions, HandshakeSummary, group_name, suite_name, version_name};
use crate::cert::ChainReport;
use crate::finding::{Finding, FindingId, Severity, Stage};

/// An established client TLS stream over `S`.
pub type TlsStream<S> = tokio_rustls::client::TlsStream<Tap<S>>;

/// Errors before or during the handshake.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// Bad options: unreadable CA file, unknown TLS version, invalid name.
    #[error("{0}")]
    Config(String),
    /// The handshake failed (or the server ended the session with an alert
    /// right after it); the failure says why, with the evidence.
    #[error("TLS handshake failed: {}", .0.sentence())]
    Handshake(Box<HandshakeFailure>),
}

/// What ended a handshake.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FailureCause {
    /// The server sent a fatal alert.
    Alert { number: u8, name: String },
    /// mailwire aborted: the chain is untrusted and `--strict` was given.
    CertificateRejected,
    /// The server's ServerHello chose a version mailwire does not implement.
    ServerVersion { version: String },
    /// The server answered the ClientHello with bytes that are not TLS.
    NotTls,
    /// The server closed the connection without an alert.
    Closed,
    /// The server reset the connection.
    Reset,
    /// mailwire refused what the server chose (in plain words).
    Incompatible { reason: String },
    /// The server broke the TLS protocol (in plain words).
    Protocol { reason: String },
    /// Anything else (an I/O error), in plain words.
    Other { reason: String },
}

/// What mailwire offered in its ClientHello (names as rustls spells them).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Offered {
    pub versions: Vec<String>,
    pub cipher_suites: Vec<String>,
    pub groups: Vec<String>,
    /// The SNI host name sent; `None` for an IP address or `--no-sni`.
    pub sni: Option<String>,
    pub alpn: Vec<String>,
}

/// What the server's ServerHello (or HelloRetryRequest) chose.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Chosen {
    pub version: String,
    pub cipher_suite: String,
    pub group: Option<String>,
    /// The server answered with a HelloRetryRequest (asking for another key share).
    pub hello_retry: bool,
}

/// A failed handshake, with everything known about it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct HandshakeFailure {
    pub cause: FailureCause,
    /// True when the alert arrived after the client finished its side of
    /// the handshake (TLS 1.3: a server refusing the client certificate).
    pub after_handshake: bool,
    pub offered: Offered,
    /// `None` when the server never answered with a ServerHello.
    pub chosen: Option<Chosen>,
    /// The server asked for a client certificate.
    pub client_cert: Option<ClientCertRequest>,
    /// The verdict, when the server got as far as sending its chain.
    pub verification: Option<Verdict>,
    /// The chain report, when the server sent a chain (also with `--strict`).
    #[serde(skip)]
    pub chain: Option<ChainReport>,
    /// DER, leaf first, as sent (empty when none was).
    #[serde(skip)]
    pub chain_der: Vec<Vec<u8>>,
    /// The diagnosis: the alert, legacy-only server, no common group, ...
    pub findings: Vec<Finding>,
}

impl HandshakeFailure {
    /// One sentence in plain words: `the server sent alert 70 protocol_version: ...`.
    pub fn sentence(&self) -> String {
        let when = if self.after_handshake {
            "right after the handshake"
        } else {
            "during the handshake"
        };
        match &self.cause {
            FailureCause::Alert { number, .. } => {
                let a = Alert::new(*number);
                format!("the server sent alert {a} {when}: {}", a.meaning())
            }
            FailureCause::CertificateRejected => format!(
                "mailwire aborted the handshake because the certificate chain is untrusted (--strict): {}",
                self.verification
                    .as_ref()
                    .map_or_else(|| "no verdict".to_string(), Verdict::headline)
            ),
            FailureCause::ServerVersion { version } => format!(
                "the server chose {version}, older than any version mailwire implements (TLS 1.2 and 1.3)"
            ),
            FailureCause::NotTls => {
                "the server did not answer with TLS (it sent plaintext or another protocol)".into()
            }
            FailureCause::Closed => {
                format!("the server closed the connection {when} without an alert")
            }
            FailureCause::Reset => format!("the server reset the connection {when}"),
            FailureCause::Incompatible { reason }
            | FailureCause::Protocol { reason }
            | FailureCause::Other { reason } => reason.clone(),
        }
    }

    /// The alert the server sent, if that ended the handshake.
    pub fn alert(&self) -> Option<Alert> {
        match self.cause {
            FailureCause::Alert { number, .. } => Some(Alert::new(number)),
            _ => None,
        }
    }

    /// True when any finding has this id.
    pub fn has(&self, id: &FindingId) -> bool {
        self.findings.iter().any(|f| &f.id == id)
    }
}

/// Records a server's CertificateRequest and answers it with `--cert`/`--key` if given.
#[derive(Debug)]
struct ClientAuth {
    key: Option<Arc<CertifiedKey>>,
    seen: Arc<Mutex<Option<ClientCertRequest>>>,
}

impl ResolvesClientCert for ClientAuth {
    fn resolve(
        &self,
        root_hint_subjects: &[&[u8]],
        _sigschemes: &[SignatureScheme],
    ) -> Option<Arc<CertifiedKey>> {
        let request = ClientCertRequest {
            acceptable_cas: root_hint_subjects
                .iter()
                .map(|dn| crate::cert::dn_text(dn))
                .collect(),
            sent: self.key.is_some(),
        };
        *self.seen.lock().unwrap_or_else(|p| p.into_inner()) = Some(request);
        self.key.clone()
    }

    fn has_certs(&self) -> bool {
        self.key.is_some()
    }
}

/// Prepared client TLS for one connection.
pub struct Client {
    config: Arc<ClientConfig>,
    name: ServerName<'static>,
    /// Name checked against the certificate, as text.
    name_text: String,
    /// SNI actually sent.
    sni: Option<String>,
    /// The offer as configured (the ClientHello sent is parsed when available).
    offered: Offered,
    /// `--strict`: an untrusted chain aborts the handshake.
    strict: bool,
    seen: Arc<Mutex<Observation>>,
    client_cert: Arc<Mutex<Option<ClientCertRequest>>>,
}

/// The result of a finished handshake.
pub struct Established<S> {
    pub stream: TlsStream<S>,
    pub summary: HandshakeSummary,
    pub verdict: Verdict,
    /// DER, leaf first, as sent.
    pub chain_der: Vec<Vec<u8>>,
    /// Every certificate parsed and every problem found.
    pub chain: ChainReport,
}

/// Trust anchors as a rustls store, for clients that verify strictly
/// (domain mode's MTA-STS policy fetch): the given roots (`--ca-file`,
/// `--ca-path`) and, unless `--no-system-roots`, the OS store, which is
/// read at most once per process (the same copy the verifier uses).
///
/// # Errors
/// [`TlsError::Config`] for unreadable or empty files.
pub fn root_store(opts: &ClientOptions) -> Result<rustls::RootCertStore, TlsError> {
    let trust = TrustConfig::load(opts)?;
    let mut roots: Vec<_> = trust.given.iter().map(|r| r.anchor.clone()).collect();
    if trust.system {
        roots.extend(
            super::trust::os_roots()
                .roots
                .iter()
                .map(|r| r.anchor.clone()),
        );
    }
    Ok(rustls::RootCertStore { roots })
}

/// Checks the trust options (`--ca-file`, `--ca-path`, `--no-system-roots`,
/// `--cert`/`--key`) without connecting and without reading the OS store.
///
/// # Errors
/// [`TlsError::Config`] naming the file or the flag.
pub fn validate_options(opts: &ClientOptions) -> Result<(), TlsError> {
    TrustConfig::load(opts)?;
    protocol_versions(opts)?;
    Ok(())
}

static TLS12_ONLY: &[&rustls::SupportedProtocolVersion] = &[&rustls::version::TLS12];
static TLS13_ONLY: &[&rustls::SupportedProtocolVersion] = &[&rustls::version::TLS13];

fn protocol_versions(
    opts: &ClientOptions,
) -> Result<&'static [&'static rustls::SupportedProtocolVersion], TlsError> {
    match opts.tls_version.as_deref() {
        None => Ok(rustls::ALL_VERSIONS),
        Some("1.2") => Ok(TLS12_ONLY),
        Some("1.3") => Ok(TLS13_ONLY),
        Some(other) => Err(TlsError::Config(format!(
            "unknown TLS version {other:?}: use 1.2 or 1.3"
        ))),
    }
}

/// The offer a config makes, for reports when no ClientHello was captured.
pub(crate) fn offer_of(
    provider: &CryptoProvider,
    versions: &[&'static rustls::SupportedProtocolVersion],
    sni: Option<String>,
    alpn: &[String],
) -> Offered {
    let has = |v: rustls::ProtocolVersion| versions.iter().any(|s| s.version == v);
    let mut out = Offered {
        sni,
        alpn: alpn.to_vec(),
        ..Offered::default()
    };
    for (v, name) in [
        (rustls::ProtocolVersion::TLSv1_3, "TLSv1.3"),
        (rustls::ProtocolVersion::TLSv1_2, "TLSv1.2"),
    ] {
        if has(v) {
            out.versions.push(name.into());
        }
    }
    out.cipher_suites = provider
        .cipher_suites
        .iter()
        .filter(|s| has(s.version().version))
        .map(|s| suite_name(u16::from(s.suite())))
        .collect();
    out.groups = provider
        .kx_groups
        .iter()
        .map(|g| group_name(u16::from(g.name())))
        .collect();
    out
}

fn offered_from_hello(offer: &ClientOffer) -> Offered {
    Offered {
        versions: offer.versions.iter().map(|v| version_name(*v)).collect(),
        // GREASE values (RFC 8701) and the signalling values
        // (TLS_EMPTY_RENEGOTIATION_INFO_SCSV, TLS_FALLBACK_SCSV) are not suites.
        cipher_suites: offer
            .cipher_suites
            .iter()
            .filter(|c| *c & 0x0f0f != 0x0a0a && **c != 0x00ff && **c != 0x5600)
            .map(|c| suite_name(*c))
            .collect(),
        groups: offer
            .groups
            .iter()
            .filter(|c| *c & 0x0f0f != 0x0a0a)
            .map(|g| group_name(*g))
            .collect(),
        sni: offer.sni.clone(),
        alpn: offer.alpn.clone(),
    }
}

impl Client {
    /// Prepares TLS towards `host` (the target's host), applying
    /// `--servername`, `--no-sni`, `--tls-version`, `--alpn`, `--strict`,
    /// `--ca-file`, `--ca-path`, `--no-system-roots`, `--cert`/`--key` and
    /// `SSLKEYLOGFILE`.
    ///
    /// # Errors
    /// [`TlsError::Config`] for unreadable files, an unknown version or a bad name.
    pub fn new(opts: &ClientOptions, host: &str) -> Result<Client, TlsError> {
        let trust = Arc::new(TrustConfig::load(opts)?);
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let name_text = opts.servername.clone().unwrap_or_else(|| host.to_string());
        let name = ServerName::try_from(name_text.clone()).map_err(|_| {
            TlsError::Config(format!(
                "invalid server name {:?}: give a host name or an IP address",
                name_text
            ))
        })?;
        let seen = Arc::new(Mutex::new(Observation::default()));
        let verifier = RecordingVerifier::new(
            provider.signature_verification_algorithms,
            trust.clone(),
            name_text.clone(),
            opts.strict,
            seen.clone(),
        );
        let client_cert = Arc::new(Mutex::new(None));
        let auth = ClientAuth {
            key: trust.client.clone(),
            seen: client_cert.clone(),
        };
        let versions = protocol_versions(opts)?;
        let mut config = ClientConfig::builder_with_provider(provider.clone())
            .with_protocol_versions(versions)
            .map_err(|e| TlsError::Config(describe_rustls_error(&e)))?
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(verifier))
            .with_client_cert_resolver(Arc::new(auth));
        config.enable_sni = !opts.no_sni;
        config.alpn_protocols = opts.alpn.iter().map(|p| p.as_bytes().to_vec()).collect();
        if let Some(log) = super::keylog::key_log() {
            config.key_log = log;
        }
        // rustls never sends SNI for an IP address (RFC 6066 §3).
        let sni = match (&name, opts.no_sni) {
            (ServerName::DnsName(d), false) => Some(d.as_ref().to_string()),
            _ => None,
        };
        let offered = offer_of(&provider, versions, sni.clone(), &opts.alpn);
        Ok(Client {
            config: Arc::new(config),
            name,
            name_text,
            sni,
            offered,
            strict: opts.strict,
            seen,
            client_cert,
        })
    }

    /// Runs the handshake over `stream`.
    ///
    /// # Errors
    /// [`TlsError::Handshake`] with the cause, the offer, the server's
    /// choice, the verdict and chain when the server sent one, and the
    /// diagnosis as findings.
    pub async fn handshake<S>(&self, stream: S) -> Result<Established<S>, TlsError>
    where
        S: AsyncRead + AsyncWrite + Unpin,
    {
        let connector = TlsConnector::from(self.config.clone());
        let result = connector
            .connect(self.name.clone(), Tap::new(stream))
            .into_fallible()
            .await;
        let seen = self.seen.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let client_cert = self
            .client_cert
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        match result {
            Err((e, tap)) => Err(TlsError::Handshake(Box::new(self.failure(
                &e,
                &tap.capture(),
                seen,
                client_cert,
                now,
                false,
            )))),
            Ok(mut stream) => {
                stream.get_mut().0.stop();
                let (_, conn) = stream.get_ref();
                let summary = HandshakeSummary {
                    version: conn
                        .protocol_version()
                        .map(|v| version_name(u16::from(v)))
                        .unwrap_or_default(),
                    cipher_suite: conn
                        .negotiated_cipher_suite()
                        .map(|s| suite_name(u16::from(s.suite())))
                        .unwrap_or_default(),
                    kx_group: conn
                        .negotiated_key_exchange_group()
                        .map(|g| group_name(u16::from(g.name()))),
                    alpn: conn
                        .alpn_protocol()
                        .map(|p| String::from_utf8_lossy(p).into_owned()),
                    sni: self.sni.clone(),
                    resumed: matches!(conn.handshake_kind(), Some(rustls::HandshakeKind::Resumed)),
                    ocsp_stapled: seen.ocsp_stapled,
                    client_cert,
                };
                let verdict = seen
                    .verdict
                    .clone()
                    .unwrap_or_else(|| Verdict::no_certificate(&self.name_text));
                let chain = ChainReport::with_verdict(&seen.chain, now, &verdict);
                Ok(Established {
                    stream,
                    summary,
                    verdict,
                    chain_der: seen.chain,
                    chain,
                })
            }
        }
    }

    /// The name the certificate is checked against.
    pub fn name_checked(&self) -> &str {
        &self.name_text
    }
}

impl Client {
    /// Everything known about a failed handshake.
    fn failure(
        &self,
        err: &io::Error,
        capture: &Capture,
        seen: Observation,
        client_cert: Option<ClientCertRequest>,
        now: i64,
        after_handshake: bool,
    ) -> HandshakeFailure {
        let offered = hello::parse_client_hello(&capture.sent)
            .map(|o| offered_from_hello(&o))
            .unwrap_or_else(|| self.offered.clone());
        let flight = hello::parse_server_flight(&capture.received);
        let chosen = chosen_of(&flight);
        let strict_reject = self.strict && seen.verdict.as_ref().is_some_and(|v| !v.trusted);
        let cause = cause_of(err, &flight, strict_reject);
        let chain = seen
            .verdict
            .as_ref()
            .map(|v| ChainReport::with_verdict(&seen.chain, now, v));
        let mut failure = HandshakeFailure {
            cause,
            after_handshake,
            offered,
            chosen,
            client_cert,
            verification: seen.verdict,
            chain,
            chain_der: seen.chain,
            findings: Vec::new(),
        };
        failure.findings = diagnose(&failure, &flight);
        failure
    }
}

fn chosen_of(flight: &ServerFlight) -> Option<Chosen> {
    let h = flight
        .hello_after_retry
        .as_ref()
        .or(flight.hello.as_ref())?;
    Some(Chosen {
        version: version_name(h.version),
        cipher_suite: suite_name(h.cipher_suite),
        group: h.group.map(group_name).or_else(|| {
            h.dh_bits
                .map(|bits| format!("finite-field DH ({bits} bits)"))
        }),
        hello_retry: flight.hello.as_ref().is_some_and(|h| h.hello_retry),
    })
}

/// The rustls error inside an I/O error, if any.
fn rustls_error(e: &io::Error) -> Option<&rustls::Error> {
    e.get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
}

fn cause_of(err: &io::Error, flight: &ServerFlight, strict_reject: bool) -> FailureCause {
    let alert = |a: Alert| FailureCause::Alert {
        number: a.number,
        name: a.name().to_string(),
    };
    match rustls_error(err) {
        Some(rustls::Error::AlertReceived(desc)) => alert(Alert::from_rustls(*desc)),
        Some(rustls::Error::InvalidCertificate(_)) if strict_reject => {
            FailureCause::CertificateRejected
        }
        Some(rustls::Error::PeerIncompatible(
            rustls::PeerIncompatible::ServerDoesNotSupportTls12Or13,
        )) => FailureCause::ServerVersion {
            version: flight
                .hello
                .as_ref()
                .map_or_else(|| "an older version".into(), |h| version_name(h.version)),
        },
        Some(rustls::Error::InvalidMessage(_)) if flight.not_tls.is_some() => FailureCause::NotTls,
        Some(rustls::Error::PeerIncompatible(_)) => FailureCause::Incompatible {
            reason: describe_rustls_error(
                rustls_error(err).unwrap_or(&rustls::Error::HandshakeNotComplete),
            ),
        },
        Some(
            e @ (rustls::Error::PeerMisbehaved(_)
            | rustls::Error::InvalidMessage(_)
            | rustls::Error::InappropriateMessage { .. }
            | rustls::Error::InappropriateHandshakeMessage { .. }),
        ) => FailureCause::Protocol {
            reason: describe_rustls_error(e),
        },
        Some(other) => FailureCause::Other {
            reason: describe_rustls_error(other),
        },
        None => match (err.kind(), flight.alerts.first()) {
            // A plaintext alert followed by a close: rustls may report the close.
            (_, Some((_, a, _))) => alert(*a),
            (io::ErrorKind::UnexpectedEof, _) if flight.not_tls.is_some() => FailureCause::NotTls,
            (io::ErrorKind::UnexpectedEof, _) => FailureCause::Closed,
            (io::ErrorKind::ConnectionReset, _) => FailureCause::Reset,
            _ => FailureCause::Other {
                reason: format!("the connection failed during the handshake: {err}"),
            },
        },
    }
}

fn handshake_finding(
    id: FindingId,
    severity: Severity,
    summary: String,
    advice: &str,
    source: &str,
) -> Finding {
    Finding::new(id, severity, Stage::Handshake, summary, advice, source)
}

fn list(items: &[String]) -> String {
    if items.is_empty() {
        "(none)".into()
    } else {
        crate::escape::escape_bytes(items.join(", ").as_bytes())
    }
}

/// What the ClientHello offered, in one clause.
pub(crate) fn offer_text(o: &Offered) -> String {
    format!(
        "versions {}; cipher suites {}; groups {}; SNI {}",
        list(&o.versions),
        list(&o.cipher_suites),
        list(&o.groups),
        o.sni.as_deref().map_or_else(
            || "none".to_string(),
            |s| crate::escape::escape_bytes(s.as_bytes())
        )
    )
}

/// The diagnosis of a failed handshake as findings, from the cause, the
/// offer and what the server's plaintext flight showed.
fn diagnose(f: &HandshakeFailure, flight: &ServerFlight) -> Vec<Finding> {
    let mut out = Vec::new();
    let offered_versions = &f.offered.versions;
    let offers = |v: &str| offered_versions.iter().any(|o| o == v);
    if let Some(a) = f.alert() {
        let evidence = flight
            .alerts
            .iter()
            .find(|(_, x, _)| *x == a)
            .map(|(_, _, bytes)| bytes.clone())
            .unwrap_or_default();
        out.push(alert_finding(a, f.after_handshake).with_evidence(evidence));
        match a.number {
            70 if f.chosen.is_none() && offers("TLSv1.2") => out.push(legacy_only(None)),
            70 if f.chosen.is_none() => out.push(handshake_finding(
                FindingId::TlsVersionRefused,
                Severity::Error,
                format!(
                    "the server does not speak {}, the only version offered (--tls-version)",
                    list(offered_versions)
                ),
                "Run again without --tls-version, or enable that version on the server.",
                "RFC 8446 §4.2.1",
            )),
            112 => out.push(sni_finding(f.offered.sni.as_deref(), a)),
            _ => {}
        }
        let no_cert_sent = f.client_cert.as_ref().is_none_or(|c| !c.sent);
        let requested = f.client_cert.is_some() || flight.certificate_request;
        if a.number == 116
            || (requested && no_cert_sent && matches!(a.number, 40 | 42 | 46 | 48 | 49))
        {
            let cas = f
                .client_cert
                .as_ref()
                .filter(|c| !c.acceptable_cas.is_empty())
                .map(|c| format!("; it accepts certificates from {}", list(&c.acceptable_cas)))
                .unwrap_or_default();
            out.push(handshake_finding(
                FindingId::ClientCertRequired,
                Severity::Error,
                format!("the server requires a client certificate and none was sent{cas}"),
                "Give one with --cert FILE --key FILE (PEM), issued by a CA the server accepts.",
                "RFC 8446 §4.3.2, §4.4.2; RFC 5246 §7.4.4",
            ));
        } else if f.client_cert.as_ref().is_some_and(|c| c.sent)
            && matches!(a.number, 42 | 43 | 44 | 45 | 46 | 48 | 49)
        {
            out.push(handshake_finding(
                FindingId::ClientCertRejected,
                Severity::Error,
                format!("the server rejected the client certificate given with --cert (alert {a})"),
                "Check that the certificate is valid, meant for client authentication (EKU clientAuth), and issued by a CA the server trusts.",
                "RFC 8446 §4.4.2.4",
            ));
        }
        if matches!(a.number, 40 | 71) && f.chosen.is_none() && f.offered.sni.is_none() {
            out.push(handshake_finding(
                FindingId::SniMissing,
                Severity::Info,
                "no SNI was sent (the name is an IP address, or --no-sni); a server that picks its certificate by name may refuse such a ClientHello".into(),
                "If the server hosts several names, connect with --servername NAME.",
                "RFC 6066 §3",
            ));
        }
    }
    if let Some(c) = &f.chosen {
        if c.hello_retry
            && let Some(g) = &c.group
            && !f.offered.groups.contains(g)
        {
            out.push(no_common_group(g, &f.offered.groups));
        }
    }
    match &f.cause {
        FailureCause::ServerVersion { version } => out.push(legacy_only(Some(version))),
        FailureCause::NotTls => {
            let bytes = flight.not_tls.clone().unwrap_or_default();
            out.push(
                handshake_finding(
                    FindingId::NotTls,
                    Severity::Error,
                    "the server answered the ClientHello with bytes that are not TLS: it does not speak TLS here (yet)".into(),
                    "For a STARTTLS port use smtp://, imap:// or pop3:// (mailwire sends STARTTLS first); implicit TLS is smtps:// (465), imaps:// (993), pop3s:// (995).",
                    "RFC 8314 §3; RFC 3207",
                )
                .with_evidence(bytes),
            );
        }
        _ => {}
    }
    let chose = match &f.chosen {
        Some(c) => format!(
            "the server chose {} with {}{}{}",
            c.version,
            c.cipher_suite,
            c.group
                .as_deref()
                .map(|g| format!(", group {g}"))
                .unwrap_or_default(),
            if c.hello_retry {
                " (HelloRetryRequest)"
            } else {
                ""
            }
        ),
        None => "the server sent no ServerHello".into(),
    };
    out.push(handshake_finding(
        FindingId::HandshakeFailed,
        Severity::Error,
        format!(
            "the TLS handshake failed: {}. mailwire offered {}; {chose}",
            f.sentence(),
            offer_text(&f.offered)
        ),
        "See the findings above; `mailwire check --scan` lists what the server accepts.",
        "RFC 8446 §4.1",
    ));
    out
}

/// `tls_alert`: the alert by number and name; what it means here and the
/// usual fix come from the explain catalogue (`tls.alert`).
fn alert_finding(a: Alert, after_handshake: bool) -> Finding {
    let (advice, source) = a.explanation();
    handshake_finding(
        FindingId::TlsAlert,
        Severity::Error,
        format!(
            "the server sent alert {a} {}: {}",
            if after_handshake {
                "right after the handshake"
            } else {
                "during the handshake"
            },
            a.meaning()
        ),
        &advice,
        &source,
    )
}

pub(crate) fn legacy_only(version: Option<&str>) -> Finding {
    let what = match version {
        Some(v) => format!("the server chose {v} when offered up to TLS 1.3"),
        None => "the server answered a ClientHello offering TLS 1.3 and 1.2 with alert 70 protocol_version".into(),
    };
    handshake_finding(
        FindingId::LegacyTlsOnly,
        Severity::Error,
        format!(
            "{what}: it only speaks legacy TLS (1.0/1.1 or SSL), older than any version mailwire, like current mail clients, implements"
        ),
        "Enable TLS 1.2 and 1.3 on the server (Postfix: smtpd_tls_protocols = >=TLSv1.2; Dovecot: ssl_min_protocol = TLSv1.2). TLS 1.0/1.1 are deprecated; `openssl s_client -tls1` can still talk to it.",
        "RFC 8996",
    )
}

pub(crate) fn no_common_group(wanted: &str, offered: &[String]) -> Finding {
    handshake_finding(
        FindingId::NoCommonGroup,
        Severity::Error,
        format!(
            "the server wants the key-exchange group {}, which mailwire (rustls) does not implement; mailwire offers {}",
            crate::escape::escape_bytes(wanted.as_bytes()),
            list(offered)
        ),
        "Enable X25519 or P-256 on the server (Postfix: tls_eecdh_auto_curves; Dovecot: ssl_curve_list; OpenSSL: Groups).",
        "RFC 8446 §4.2.7; RFC 8422 §5.1.1",
    )
}

pub(crate) fn no_common_cipher(chosen: &str, offered: &[String]) -> Finding {
    handshake_finding(
        FindingId::NoCommonCipher,
        Severity::Error,
        format!(
            "the server accepts only cipher suites mailwire (rustls) does not implement: offered more, it chose {}; mailwire offers {}",
            crate::escape::escape_bytes(chosen.as_bytes()),
            list(offered)
        ),
        "Enable ECDHE key exchange with AES-GCM or ChaCha20 (TLS 1.2) or TLS 1.3 on the server; DHE, RSA key exchange and CBC suites are not offered by current clients.",
        "RFC 9325 §4.2; RFC 8446 §9.1",
    )
}

fn sni_finding(sni: Option<&str>, a: Alert) -> Finding {
    match sni {
        Some(name) => handshake_finding(
            FindingId::SniUnrecognized,
            Severity::Error,
            format!(
                "the server does not recognise the name {} sent as SNI (alert {a})",
                crate::escape::escape_bytes(name.as_bytes())
            ),
            "Connect with a name the server is configured for (--servername NAME), or add this name to the server's TLS configuration.",
            "RFC 6066 §3",
        ),
        None => handshake_finding(
            FindingId::SniMissing,
            Severity::Error,
            format!(
                "the server needs SNI to choose its certificate, and none was sent (alert {a}): the name is an IP address, or --no-sni was given"
            ),
            "Connect with --servername NAME (the name the server is configured for).",
            "RFC 6066 §3",
        ),
    }
}

/// Findings about an established session: the server asked for a client
/// certificate (RFC 8446 §4.3.2), and TLS secrets are being written to
/// `SSLKEYLOGFILE`.
pub fn session_findings(summary: &HandshakeSummary) -> Vec<Finding> {
    let mut out = Vec::new();
    if let Some(req) = &summary.client_cert {
        let cas = if req.acceptable_cas.is_empty() {
            "it names no acceptable CA".to_string()
        } else {
            format!("it accepts certificates from {}", list(&req.acceptable_cas))
        };
        let (answer, advice) = if req.sent {
            (
                "mailwire sent the certificate given with --cert",
                "The server decides what the certificate allows; check its log if access is refused.",
            )
        } else {
            (
                "none was sent and the server went on without one",
                "Nothing to do unless you need client authentication; then give --cert FILE --key FILE.",
            )
        };
        out.push(handshake_finding(
            FindingId::ClientCertRequested,
            Severity::Info,
            format!("the server asked for a client certificate ({cas}); {answer}"),
            advice,
            "RFC 8446 §4.3.2; RFC 5246 §7.4.4",
        ));
    }
    if let Ok(Some(path)) = super::keylog::status() {
        out.push(handshake_finding(
            FindingId::KeyLog,
            Severity::Warning,
            format!(
                "the TLS secrets of this session are written to {} ({}): anyone who can read that file can decrypt the session",
                crate::escape::escape_bytes(path.display().to_string().as_bytes()),
                super::keylog::ENV
            ),
            "Unset SSLKEYLOGFILE when you no longer need to decrypt captures, and delete the file.",
            "NSS key log format",
        ));
    }
    out
}

/// A TLS alert that ends a session after the handshake (TLS 1.3 servers
/// refuse a missing client certificate only after the client's Finished,
/// so the first read fails): the failure as a [`TlsError`], or `None` when
/// `e` carries no alert.
pub fn alert_after_handshake(e: &io::Error) -> Option<TlsError> {
    let Some(rustls::Error::AlertReceived(desc)) = rustls_error(e) else {
        return None;
    };
    let a = Alert::from_rustls(*desc);
    let mut failure = HandshakeFailure {
        cause: FailureCause::Alert {
            number: a.number,
            name: a.name().to_string(),
        },
        after_handshake: true,
        offered: Offered::default(),
        chosen: None,
        client_cert: None,
        verification: None,
        chain: None,
        chain_der: Vec::new(),
        findings: Vec::new(),
    };
    let mut findings = vec![alert_finding(a, true)];
    if matches!(a.number, 116 | 42 | 46 | 48) {
        findings.push(handshake_finding(
            FindingId::ClientCertRequired,
            Severity::Error,
            format!("the server requires a client certificate it accepts, and refused the session after the handshake (alert {a})"),
            "Give one with --cert FILE --key FILE (PEM), issued by a CA the server accepts.",
            "RFC 8446 §4.3.2, §4.4.2",
        ));
    }
    failure.findings = findings;
    Some(TlsError::Handshake(Box::new(failure)))
}

/// A rustls error in plain words, never its `Debug` text.
pub fn describe_rustls_error(e: &rustls::Error) -> String {
    use rustls::Error as E;
    match e {
        E::AlertReceived(desc) => {
            let a = Alert::from_rustls(*desc);
            format!("the server sent alert {a}: {}", a.meaning())
        }
        E::InvalidMessage(_) => {
            "the server sent a TLS message that does not parse (or plaintext where TLS was expected)".into()
        }
        E::InappropriateMessage { .. } | E::InappropriateHandshakeMessage { .. } => {
            "the server sent a TLS message out of order".into()
        }
        E::PeerIncompatible(p) => format!(
            "the server chose parameters mailwire does not support ({})",
            variant_words(&format!("{p:?}"))
        ),
        E::PeerMisbehaved(p) => format!(
            "the server broke the TLS protocol ({})",
            variant_words(&format!("{p:?}"))
        ),
        E::InvalidCertificate(_) => {
            "the server's certificate or its handshake signature was rejected".into()
        }
        E::NoCertificatesPresented => "the server presented no certificate".into(),
        E::DecryptError => "a TLS record failed to decrypt (keys out of step or corrupted data)".into(),
        E::EncryptError => "a TLS record could not be encrypted".into(),
        E::HandshakeNotComplete => "the handshake did not complete".into(),
        E::PeerSentOversizedRecord => "the server sent a TLS record larger than allowed".into(),
        E::NoApplicationProtocol => "the server supports none of the ALPN protocols offered".into(),
        E::FailedToGetCurrentTime => "this machine's clock could not be read".into(),
        E::FailedToGetRandomBytes => "no random bytes could be obtained".into(),
        E::BadMaxFragmentSize => "the maximum fragment size is out of range".into(),
        E::InconsistentKeys(_) => "the private key does not match the certificate".into(),
        E::General(text) => format!("TLS error: {text}"),
        other => format!(
            "the TLS library failed ({})",
            variant_words(&format!("{other:?}"))
        ),
    }
}

/// `IllegalHelloRetryRequestWithUnofferedNamedGroup(..)` as
/// `illegal hello retry request with unoffered named group`: the variant's
/// name in words, without its fields.
fn variant_words(debug: &str) -> String {
    let name: String = debug
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric())
        .collect();
    let mut out = String::new();
    for (i, c) in name.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push(' ');
        }
        out.push(c.to_ascii_lowercase());
    }
    out
}

/// A TLS error carried by an I/O error on an established connection, in
/// plain words; `None` for errors that are not TLS's.
pub fn tls_error_text(e: &io::Error) -> Option<String> {
    rustls_error(e).map(describe_rustls_error)
}

/// Puts an I/O error from a TLS handshake in operator terms.
pub fn describe_io_error(e: &io::Error) -> String {
    match rustls_error(e) {
        Some(tls) => describe_rustls_error(tls),
        None => match e.kind() {
            io::ErrorKind::UnexpectedEof => {
                "the server closed the connection during the handshake".into()
            }
            io::ErrorKind::ConnectionReset => {
                "the server reset the connection during the handshake".into()
            }
            _ => e.to_string(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_words_never_show_debug_fields() {
        let e = rustls::Error::PeerMisbehaved(
            rustls::PeerMisbehaved::IllegalHelloRetryRequestWithUnofferedNamedGroup,
        );
        assert_eq!(
            describe_rustls_error(&e),
            "the server broke the TLS protocol (illegal hello retry request with unoffered named group)"
        );
        let e = rustls::Error::AlertReceived(rustls::AlertDescription::ProtocolVersion);
        assert_eq!(
            describe_rustls_error(&e),
            "the server sent alert 70 protocol_version: no common TLS version"
        );
        let io = io::Error::new(
            io::ErrorKind::InvalidData,
            rustls::Error::AlertReceived(rustls::AlertDescription::CertificateRequired),
        );
        let Some(TlsError::Handshake(f)) = alert_after_handshake(&io) else {
            panic!("no failure")
        };
        assert!(f.has(&FindingId::ClientCertRequired));
        assert!(f.after_handshake);
        assert!(
            f.sentence().starts_with(
                "the server sent alert 116 certificate_required right after the handshake"
            ),
            "{}",
            f.sentence()
        );
    }
}

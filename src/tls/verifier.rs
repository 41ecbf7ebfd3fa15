//! A server-certificate verifier that records its verdict instead of
//! failing the handshake, so a broken chain can still be inspected (like
//! `openssl s_client`, which reports `Verify return code` and goes on).
//!
//! ```text
//! rustls ServerCertVerifier callback (chain as sent, SNI name, time)
//!   -> webpki against the given roots (--ca-file, --ca-path)
//!   -> only if that fails and the OS store is allowed: webpki against given + OS roots
//!   -> name check; issuer path and anchor by name (cert::issuer_path)
//!   -> Verdict { trusted, error: VerdictCode, detail, trust_store, path }
//! ```
//!
//! Handshake signatures are still checked (rustls' webpki functions with
//! the provider's algorithms): a recorded-but-accepted chain never means an
//! unauthenticated key exchange with a different key than the one in the
//! leaf. With `--strict` an untrusted verdict aborts the handshake, and the
//! verdict is still recorded for the report.

use std::fmt;
use std::str::FromStr;
use std::sync::{Arc, Mutex};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, Error, SignatureScheme};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::trust::{Anchor, Root, RootSource, TrustConfig, TrustStore, os_roots};
use crate::cert::{self, CertFacts};

/// Declares [`VerdictCode`] with its stable snake_case names.
macro_rules! verdict_codes {
    ($($variant:ident => $id:literal, $meaning:literal;)+) => {
        /// Why a chain is untrusted: a closed set of stable codes (JSON, recordings).
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub enum VerdictCode {
            $(#[doc = $meaning] $variant,)+
            /// A code this build does not know (from a newer recording).
            Unknown(String),
        }

        impl VerdictCode {
            /// Every code this build can produce.
            pub const ALL: &'static [VerdictCode] = &[$(VerdictCode::$variant,)+];

            /// The code as in JSON: `missing_intermediate`.
            pub fn as_str(&self) -> &str {
                match self {
                    $(VerdictCode::$variant => $id,)+
                    VerdictCode::Unknown(s) => s,
                }
            }

            /// One line: what the code means.
            pub fn meaning(&self) -> &'static str {
                match self {
                    $(VerdictCode::$variant => $meaning,)+
                    VerdictCode::Unknown(_) => "a verdict this version of mailwire does not know",
                }
            }
        }

        impl FromStr for VerdictCode {
            type Err = std::convert::Infallible;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Ok(match s {
                    $($id => VerdictCode::$variant,)+
                    other => VerdictCode::Unknown(other.to_string()),
                })
            }
        }
    };
}

verdict_codes! {
    Expired => "expired", "A certificate on the path has expired.";
    NotYetValid => "not_yet_valid", "A certificate on the path is not valid yet.";
    SelfSigned => "self_signed", "The leaf is self-signed and not trusted.";
    MissingIntermediate => "missing_intermediate", "The leaf's issuer was not sent and is not a trust anchor.";
    UnknownIssuer => "unknown_issuer", "The chain ends at a root (or issuer) that is not in the trust store.";
    NameMismatch => "name_mismatch", "The leaf is not valid for the name checked.";
    BadSignature => "bad_signature", "A certificate's signature does not verify with its issuer's key.";
    WeakSignature => "weak_signature", "A certificate is signed with an algorithm that is not accepted (SHA-1, MD5).";
    WeakKey => "weak_key", "A certificate's key is too weak to be accepted (RSA under 2048 bits).";
    UnsupportedVersion => "unsupported_version", "A certificate is X.509 v1 or v2, which the verifier refuses.";
    NotACa => "not_a_ca", "A certificate that issues another is not a CA, or a path length limit is exceeded.";
    InvalidPurpose => "invalid_purpose", "The leaf may not be used for TLS server authentication (EKU, or it is a CA).";
    Revoked => "revoked", "A certificate on the path is revoked.";
    NoCertificate => "no_certificate", "The server sent no certificate.";
    BadEncoding => "bad_encoding", "A certificate is malformed (DER, dates, extensions).";
    Other => "other", "The chain failed verification for another reason, named in the detail.";
}

impl fmt::Display for VerdictCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for VerdictCode {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for VerdictCode {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Ok(VerdictCode::from_str(&s).unwrap_or(VerdictCode::Unknown(s)))
    }
}

/// The verification verdict for one handshake.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Verdict {
    /// True only when the chain leads to a trusted root and the name matches.
    pub trusted: bool,
    /// Whether the leaf is valid for the name checked (`--servername`).
    pub hostname_match: bool,
    /// The name the certificate was checked against.
    pub name_checked: String,
    /// Why it is untrusted; `None` when trusted.
    pub error: Option<VerdictCode>,
    /// The reason in plain words, naming the certificate and the usual fix.
    pub detail: Option<String>,
    /// Which trust store decided (absent in recordings made before
    /// mailwire said so, and then not written back either).
    #[serde(default, skip_serializing_if = "TrustStore::is_unknown")]
    pub trust_store: TrustStore,
    /// Positions (as sent, 0 = leaf) of the certificates on the path to
    /// the anchor: the validated path when trusted, else the path by
    /// issuer names as far as it goes. Empty in older recordings.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub path: Vec<usize>,
}

impl Verdict {
    /// One-line text for status bars and reports.
    pub fn headline(&self) -> String {
        match (&self.error, &self.detail) {
            (None, _) => format!("trusted, valid for {}", self.name_checked),
            (Some(code), Some(detail)) => format!("UNTRUSTED ({code}): {detail}"),
            (Some(code), None) => format!("UNTRUSTED ({code})"),
        }
    }

    /// The verdict when the server sent no certificate.
    pub fn no_certificate(name_checked: &str) -> Verdict {
        Verdict {
            name_checked: name_checked.to_string(),
            error: Some(VerdictCode::NoCertificate),
            detail: Some("the server sent no certificate".into()),
            ..Verdict::default()
        }
    }
}

/// What the verifier saw during one handshake.
#[derive(Debug, Default, Clone)]
pub struct Observation {
    /// Leaf first, as sent.
    pub chain: Vec<Vec<u8>>,
    /// The verdict for chain and name (`None` until the server sent a chain).
    pub verdict: Option<Verdict>,
    /// The server stapled an OCSP response.
    pub ocsp_stapled: bool,
}

/// Records the verdict and accepts the chain unless `strict`. Built anew
/// for every connection.
#[derive(Debug)]
pub struct RecordingVerifier {
    algorithms: WebPkiSupportedAlgorithms,
    trust: Arc<TrustConfig>,
    /// The name as the operator gave it, for the verdict.
    name_checked: String,
    strict: bool,
    seen: Arc<Mutex<Observation>>,
}

impl RecordingVerifier {
    /// `seen` receives what the handshake showed.
    pub fn new(
        algorithms: WebPkiSupportedAlgorithms,
        trust: Arc<TrustConfig>,
        name_checked: String,
        strict: bool,
        seen: Arc<Mutex<Observation>>,
    ) -> Self {
        Self {
            algorithms,
            trust,
            name_checked,
            strict,
            seen,
        }
    }
}

impl ServerCertVerifier for RecordingVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, Error> {
        let chain: Vec<Vec<u8>> = std::iter::once(end_entity)
            .chain(intermediates)
            .map(|c| c.as_ref().to_vec())
            .collect();
        let verdict = verify(
            &chain,
            server_name,
            &self.name_checked,
            now,
            &self.trust,
            &self.algorithms,
        );
        let trusted = verdict.trusted;
        let code = verdict.error.clone();
        {
            let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
            seen.chain = chain;
            seen.verdict = Some(verdict);
            seen.ocsp_stapled = !ocsp_response.is_empty();
        }
        if self.strict && !trusted {
            // The alert rustls sends follows from this error; the verdict
            // itself is already recorded.
            let ce = match code {
                Some(VerdictCode::Expired) => CertificateError::Expired,
                Some(VerdictCode::NotYetValid) => CertificateError::NotValidYet,
                Some(VerdictCode::NameMismatch) => CertificateError::NotValidForName,
                Some(VerdictCode::Revoked) => CertificateError::Revoked,
                Some(VerdictCode::BadSignature) => CertificateError::BadSignature,
                Some(
                    VerdictCode::UnknownIssuer
                    | VerdictCode::MissingIntermediate
                    | VerdictCode::SelfSigned,
                ) => CertificateError::UnknownIssuer,
                _ => CertificateError::BadEncoding,
            };
            return Err(Error::InvalidCertificate(ce));
        }
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        match rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms) {
            Err(Error::InvalidCertificate(_)) if webpki::EndEntityCert::try_from(cert).is_err() => {
                verify_with_leaf_key(message, cert, dss, &self.algorithms, false)
            }
            other => other,
        }
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        match rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms) {
            Err(Error::InvalidCertificate(_)) if webpki::EndEntityCert::try_from(cert).is_err() => {
                verify_with_leaf_key(message, cert, dss, &self.algorithms, true)
            }
            other => other,
        }
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// The handshake signature checked with the public key of a leaf webpki
/// will not parse (X.509 v1): the key is taken from the certificate by
/// x509-parser, so the session still proves possession of the leaf's key
/// and the chain can be reported; the verdict stays untrusted.
fn verify_with_leaf_key(
    message: &[u8],
    cert: &CertificateDer<'_>,
    dss: &DigitallySignedStruct,
    algorithms: &WebPkiSupportedAlgorithms,
    tls13: bool,
) -> Result<HandshakeSignatureValid, Error> {
    use x509_parser::prelude::FromDer;
    let bad = || Error::InvalidCertificate(CertificateError::BadSignature);
    let (_, parsed) = x509_parser::certificate::X509Certificate::from_der(cert.as_ref())
        .map_err(|_| Error::InvalidCertificate(CertificateError::BadEncoding))?;
    let spki = rustls::pki_types::SubjectPublicKeyInfoDer::from(parsed.public_key().raw);
    if tls13 {
        return rustls::crypto::verify_tls13_signature_with_raw_key(
            message, &spki, dss, algorithms,
        );
    }
    let key = webpki::RawPublicKeyEntity::try_from(&spki).map_err(|_| bad())?;
    let candidates = algorithms
        .mapping
        .iter()
        .find(|(scheme, _)| *scheme == dss.scheme)
        .map(|(_, algs)| *algs)
        .ok_or_else(bad)?;
    candidates
        .iter()
        .find(|alg| {
            key.verify_signature(**alg, message, dss.signature())
                .is_ok()
        })
        .map(|_| HandshakeSignatureValid::assertion())
        .ok_or_else(bad)
}

/// One webpki path validation against `roots`.
fn validate(
    chain: &[CertificateDer<'_>],
    roots: &[&Root],
    now: UnixTime,
    algorithms: &WebPkiSupportedAlgorithms,
) -> Result<(Vec<usize>, Option<usize>), webpki::Error> {
    let ee = webpki::EndEntityCert::try_from(&chain[0])?;
    let anchors: Vec<_> = roots.iter().map(|r| r.anchor.clone()).collect();
    let path = ee.verify_for_usage(
        algorithms.all,
        &anchors,
        &chain[1..],
        now,
        webpki::KeyUsage::server_auth(),
        None,
        None,
    )?;
    let mut positions = vec![0];
    for c in path.intermediate_certificates() {
        if let Some(i) = chain.iter().position(|d| d.as_ref() == c.der().as_ref()) {
            positions.push(i);
        }
    }
    let anchor = path.anchor();
    let index = anchors.iter().position(|a| {
        a.subject == anchor.subject && a.subject_public_key_info == anchor.subject_public_key_info
    });
    Ok((positions, index))
}

/// Verifies `chain` (as sent) for `server_name` at `now`: the given roots
/// first, the OS store only when they do not verify it (and it may be
/// used). Every answer becomes a [`Verdict`] in plain words.
pub(crate) fn verify(
    chain: &[Vec<u8>],
    server_name: &ServerName<'_>,
    name_checked: &str,
    now: UnixTime,
    trust: &TrustConfig,
    algorithms: &WebPkiSupportedAlgorithms,
) -> Verdict {
    if chain.is_empty() {
        return Verdict::no_certificate(name_checked);
    }
    let ders: Vec<CertificateDer<'_>> = chain
        .iter()
        .map(|d| CertificateDer::from(d.as_slice()))
        .collect();
    let now_secs = i64::try_from(now.as_secs()).unwrap_or(i64::MAX);
    let facts = cert::facts(chain, now_secs);
    let mut consulted = trust.given_sources();
    let given: Vec<&Root> = trust.given.iter().collect();
    let mut roots = given.clone();
    let mut result = if given.is_empty() {
        Err(webpki::Error::UnknownIssuer)
    } else {
        validate(&ders, &given, now, algorithms)
    };
    if result.is_err() && trust.system {
        // Only now is the OS store needed; it is read once per process.
        let os = os_roots();
        if let Some(first) = os.roots.first() {
            consulted.push(first.source);
        }
        roots.extend(os.roots.iter());
        result = validate(&ders, &roots, now, algorithms);
    }
    let name_ok = match webpki::EndEntityCert::try_from(&ders[0]) {
        Ok(ee) => ee.verify_is_valid_for_subject_name(server_name).is_ok(),
        Err(_) => facts[0].parsed && cert::name_matches(&facts[0].summary.sans, name_checked),
    };
    let anchor_of = |root: &Root| Anchor {
        source: root.source,
        subject: cert::name_text(root.anchor.subject.as_ref()),
    };
    let chain_verified = result.is_ok();
    let (error, detail, path, anchor) = match result {
        Ok((mut path, index)) => {
            let root = index.and_then(|i| roots.get(i));
            // A copy of the anchor the server also sent belongs to the path.
            if let Some(r) = root
                && let Some(j) = facts.iter().position(|f| {
                    f.summary.self_signed && f.subject_raw.as_slice() == r.anchor.subject.as_ref()
                })
                && !path.contains(&j)
            {
                path.push(j);
            }
            let anchor = root.map(|r| anchor_of(r));
            if name_ok {
                (None, None, path, anchor)
            } else {
                let (code, detail) = name_detail(&facts[0], name_checked);
                (Some(code), Some(detail), path, anchor)
            }
        }
        Err(e) => {
            let find = |subject: &[u8]| roots.iter().find(|r| r.anchor.subject.as_ref() == subject);
            let path = cert::issuer_path(&facts, &|issuer| find(issuer).is_some());
            let top = &facts[*path.last().unwrap_or(&0)];
            let anchor = if top.summary.self_signed {
                find(&top.subject_raw)
            } else {
                find(&top.issuer_raw)
            }
            .map(|r| anchor_of(r));
            let (code, detail) = classify(&e, &facts, &path, anchor.is_some(), &consulted);
            (Some(code), Some(detail), path, anchor)
        }
    };
    Verdict {
        trusted: error.is_none(),
        hostname_match: name_ok,
        name_checked: name_checked.to_string(),
        error,
        detail,
        trust_store: TrustStore {
            consulted,
            anchor,
            chain_verified,
        },
        path,
    }
}

fn safe(text: &str) -> String {
    crate::escape::escape_bytes(text.as_bytes())
}

fn name_detail(leaf: &CertFacts, name: &str) -> (VerdictCode, String) {
    let sans: Vec<String> = leaf
        .summary
        .sans
        .iter()
        .filter(|s| s.starts_with("DNS:") || s.starts_with("IP:"))
        .map(|s| safe(s))
        .collect();
    let valid_for = if sans.is_empty() {
        "no name (it has no DNS or IP subjectAltName)".to_string()
    } else {
        sans.join(", ")
    };
    (
        VerdictCode::NameMismatch,
        format!(
            "the leaf is valid for {valid_for}, not for {}: connect with a name it lists (--servername) or add this one to the certificate",
            safe(name)
        ),
    )
}

/// The first certificate on the path (else any) for which `pred` holds.
fn first_on<'a>(
    facts: &'a [CertFacts],
    path: &[usize],
    pred: impl Fn(&CertFacts) -> bool,
) -> Option<&'a CertFacts> {
    path.iter()
        .map(|i| &facts[*i])
        .find(|f| pred(f))
        .or_else(|| facts.iter().find(|f| pred(f)))
}

/// Turns webpki's first error into a code and a sentence naming the
/// certificate, using what the chain shows (webpki reports one problem;
/// the chain report lists the others).
fn classify(
    e: &webpki::Error,
    facts: &[CertFacts],
    path: &[usize],
    anchored: bool,
    consulted: &[RootSource],
) -> (VerdictCode, String) {
    use webpki::Error as W;
    let stores = TrustStore {
        consulted: consulted.to_vec(),
        ..TrustStore::default()
    }
    .consulted_text();
    let top = &facts[*path.last().unwrap_or(&0)];
    let leaf = &facts[0];
    match e {
        W::CertExpired { .. } => {
            let f = first_on(facts, path, |f| f.summary.days_left < 0).unwrap_or(leaf);
            (
                VerdictCode::Expired,
                format!(
                    "{} expired on {}: renew it and reload the server",
                    f.label(),
                    f.summary.not_after
                ),
            )
        }
        W::CertNotValidYet { .. } => {
            let f = first_on(facts, path, |f| f.summary.not_yet_valid).unwrap_or(leaf);
            (
                VerdictCode::NotYetValid,
                format!(
                    "{} is not valid before {}: check the server's and this machine's clock",
                    f.label(),
                    f.summary.not_before
                ),
            )
        }
        W::UnknownIssuer if leaf.summary.self_signed && !anchored => (
            VerdictCode::SelfSigned,
            format!(
                "the {} is self-signed and in no trust store consulted ({stores}): use a certificate from a CA, or pass its PEM with --ca-file to trust it",
                leaf.label()
            ),
        ),
        W::UnknownIssuer if !anchored && !top.summary.self_signed && !top.summary.is_ca => {
            let aia = top
                .ca_issuers
                .first()
                .map(|u| format!(" (its AIA caIssuers URL: {})", safe(u)))
                .unwrap_or_default();
            (
                VerdictCode::MissingIntermediate,
                format!(
                    "the server did not send the issuer of the {}: \"{}\" is neither sent nor a trust anchor ({stores}){aia}; serve the full chain, leaf then intermediates",
                    top.label(),
                    safe(&top.summary.issuer)
                ),
            )
        }
        W::UnknownIssuer if !anchored && top.summary.self_signed => (
            VerdictCode::UnknownIssuer,
            format!(
                "the chain ends at the root {}, which is not in the trust store ({stores}): pass it with --ca-file if you trust it",
                top.label()
            ),
        ),
        W::UnknownIssuer if !anchored => (
            VerdictCode::UnknownIssuer,
            format!(
                "{} was issued by \"{}\", which is not in the trust store ({stores}): pass that root with --ca-file if you trust it, or serve the missing intermediate",
                top.label(),
                safe(&top.summary.issuer)
            ),
        ),
        W::UnknownIssuer => (
            VerdictCode::UnknownIssuer,
            "the chain names a trusted root but no path to it verifies: a certificate on the path is not accepted (see the chain findings)".into(),
        ),
        W::UnsupportedCertVersion => {
            let f = first_on(facts, path, |f| f.parsed && f.summary.version < 3).unwrap_or(leaf);
            (
                VerdictCode::UnsupportedVersion,
                format!(
                    "{} is an X.509 v{} certificate; rustls accepts only v3 (with extensions): reissue it as v3",
                    f.label(),
                    f.summary.version
                ),
            )
        }
        W::InvalidSignatureForPublicKey
        | W::SignatureAlgorithmMismatch
        | W::UnsupportedSignatureAlgorithmContext(_)
        | W::UnsupportedSignatureAlgorithmForPublicKeyContext(_) => {
            // A key or hash the verifier refuses also shows up as a
            // signature that "does not verify": name the weak part first.
            if let Some(f) = first_on(facts, path, |f| {
                f.weak_key
                    .as_ref()
                    .is_some_and(|(_, s)| *s == crate::finding::Severity::Error)
            }) {
                let what = f.weak_key.as_ref().map(|(w, _)| w.clone()).unwrap_or_default();
                (
                    VerdictCode::WeakKey,
                    format!("{} has a {what}, which is not accepted: reissue it with at least 2048 bits", f.label()),
                )
            } else if let Some(f) = first_on(facts, path, |f| f.weak_signature.is_some() && !f.summary.self_signed) {
                (
                    VerdictCode::WeakSignature,
                    format!(
                        "{} is signed with {}, which is not accepted: reissue it signed with SHA-256 or better",
                        f.label(),
                        safe(f.weak_signature.as_deref().unwrap_or_default())
                    ),
                )
            } else if matches!(e, W::InvalidSignatureForPublicKey | W::SignatureAlgorithmMismatch) {
                (
                    VerdictCode::BadSignature,
                    "a certificate's signature does not verify with its issuer's key: the chain is mixed up (a wrong intermediate) or corrupted".into(),
                )
            } else {
                (
                    VerdictCode::WeakSignature,
                    "a certificate is signed with an algorithm rustls does not accept".into(),
                )
            }
        }
        W::CaUsedAsEndEntity => (
            VerdictCode::InvalidPurpose,
            "the leaf is a CA certificate, not a server certificate: serve the host's own certificate".into(),
        ),
        W::RequiredEkuNotFoundContext(_) | W::EmptyEkuExtension => (
            VerdictCode::InvalidPurpose,
            "the chain does not allow TLS server authentication (extended key usage without serverAuth): issue a certificate with the serverAuth usage".into(),
        ),
        W::EndEntityUsedAsCa => {
            let f = path.iter().skip(1).map(|i| &facts[*i]).find(|f| !f.summary.is_ca).unwrap_or(top);
            (
                VerdictCode::NotACa,
                format!("{} issues another certificate but is not a CA (basicConstraints): serve the right intermediate", f.label()),
            )
        }
        W::PathLenConstraintViolated => (
            VerdictCode::NotACa,
            "the chain is longer than a CA's path length constraint allows".into(),
        ),
        W::CertRevoked => (VerdictCode::Revoked, "a certificate in the chain is revoked".into()),
        W::CertDistrusted => (
            VerdictCode::Other,
            "the chain uses a CA key that is distrusted (known compromised): get a certificate from another CA".into(),
        ),
        W::NameConstraintViolation | W::MalformedNameConstraint | W::InvalidNetworkMaskConstraint => (
            VerdictCode::Other,
            "a name in the leaf is outside the name constraints of an issuing CA".into(),
        ),
        W::BadDer | W::BadDerTime | W::TrailingData(_) | W::InvalidSerialNumber => (
            VerdictCode::BadEncoding,
            "a certificate is not valid DER (malformed encoding, date or serial number): reinstall it from the CA's files".into(),
        ),
        W::MalformedExtensions | W::ExtensionValueInvalid | W::MalformedDnsIdentifier => (
            VerdictCode::BadEncoding,
            "a certificate has a malformed extension (for example a broken subjectAltName)".into(),
        ),
        W::UnsupportedCriticalExtension => (
            VerdictCode::BadEncoding,
            "a certificate has an extension marked critical that the verifier does not know, so it must refuse it".into(),
        ),
        W::InvalidCertValidity => (
            VerdictCode::BadEncoding,
            "a certificate's validity period ends before it starts".into(),
        ),
        W::MaximumPathBuildCallsExceeded
        | W::MaximumPathDepthExceeded
        | W::MaximumSignatureChecksExceeded
        | W::MaximumNameConstraintComparisonsExceeded => (
            VerdictCode::Other,
            "the chain is too long or tangled to verify (the verifier's path-building limit was reached)".into(),
        ),
        _ => (
            VerdictCode::Other,
            "the chain failed verification for a reason this version of mailwire does not name; compare with openssl s_client -showcerts".into(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_keep_their_json_names() {
        for code in VerdictCode::ALL {
            let json = serde_json::to_string(code).unwrap();
            assert_eq!(json, format!("\"{}\"", code.as_str()));
            let back: VerdictCode = serde_json::from_str(&json).unwrap();
            assert_eq!(&back, code);
        }
        let future: VerdictCode = serde_json::from_str("\"from_the_future\"").unwrap();
        assert_eq!(future, VerdictCode::Unknown("from_the_future".into()));
        // A verdict from an older recording (no trust_store, no path) loads.
        let v: Verdict = serde_json::from_str(
            r#"{"trusted":false,"hostname_match":true,"name_checked":"x","error":"expired","detail":"d"}"#,
        )
        .unwrap();
        assert_eq!(v.error, Some(VerdictCode::Expired));
        assert!(v.path.is_empty() && v.trust_store.consulted.is_empty());
    }
}

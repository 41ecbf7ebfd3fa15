//! A server-certificate verifier that records webpki's verdict instead of
//! failing the handshake, so a broken chain can still be inspected
//! (like `openssl s_client`, which reports `Verify return code` and goes on).
//!
//! Handshake signatures are still checked by the wrapped webpki verifier: a
//! recorded-but-accepted chain never means an unauthenticated key exchange
//! with a different key than the one in the leaf.

use std::sync::{Arc, Mutex};

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::server::ParsedCertificate;
use rustls::{CertificateError, DigitallySignedStruct, Error, SignatureScheme};

/// The verification verdict for one handshake.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Verdict {
    /// True only when the chain leads to a trusted root and the name matches.
    pub trusted: bool,
    /// Whether the leaf is valid for the name checked (`--servername`).
    pub hostname_match: bool,
    /// The name the certificate was checked against.
    pub name_checked: String,
    /// Stable reason code when untrusted: `expired`, `not_yet_valid`,
    /// `self_signed`, `missing_intermediate`, `unknown_issuer`,
    /// `name_mismatch`, `bad_signature`, `invalid_purpose`, `revoked`,
    /// `no_certificate` or `other`. `None` when trusted.
    pub error: Option<String>,
    /// The reason in operator terms, with the usual fix.
    pub detail: Option<String>,
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
}

/// What the verifier saw during one handshake.
#[derive(Debug, Default, Clone)]
pub struct Observation {
    /// Leaf first, as sent.
    pub chain: Vec<Vec<u8>>,
    /// webpki's answer for chain and name.
    pub webpki: Option<Result<(), Error>>,
    /// Name check alone, independent of chain trust.
    pub name_ok: Option<bool>,
    /// The server stapled an OCSP response.
    pub ocsp_stapled: bool,
}

/// Wraps [`WebPkiServerVerifier`], records its verdict, and accepts the
/// chain unless `strict`. Built anew for every connection.
#[derive(Debug)]
pub struct RecordingVerifier {
    inner: Arc<WebPkiServerVerifier>,
    strict: bool,
    seen: Arc<Mutex<Observation>>,
}

impl RecordingVerifier {
    /// `seen` receives what the handshake showed.
    pub fn new(
        inner: Arc<WebPkiServerVerifier>,
        strict: bool,
        seen: Arc<Mutex<Observation>>,
    ) -> Self {
        Self {
            inner,
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
        let result = self
            .inner
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
            .map(|_| ());
        // webpki stops at the first failure (chain before name), so the name is
        // checked on its own to answer "does it match" even for a broken chain.
        let name_ok = ParsedCertificate::try_from(end_entity)
            .ok()
            .map(|parsed| rustls::client::verify_server_name(&parsed, server_name).is_ok());
        {
            let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
            seen.chain = std::iter::once(end_entity)
                .chain(intermediates)
                .map(|c| c.as_ref().to_vec())
                .collect();
            seen.webpki = Some(result.clone());
            seen.name_ok = name_ok;
            seen.ocsp_stapled = !ocsp_response.is_empty();
        }
        match result {
            Err(e) if self.strict => Err(e),
            _ => Ok(ServerCertVerified::assertion()),
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// Facts about the sent chain used to refine webpki's `UnknownIssuer`,
/// which covers three different operator problems.
#[derive(Debug, Clone, Copy, Default)]
pub struct ChainShape {
    /// The last certificate sent names itself as issuer.
    pub top_self_signed: bool,
    /// The last certificate sent is a CA certificate.
    pub top_is_ca: bool,
    /// The issuer of the last certificate sent is one of the trust anchors.
    pub top_issuer_trusted: bool,
}

/// Turns an observation into a verdict.
pub fn verdict(seen: &Observation, name_checked: &str, shape: ChainShape) -> Verdict {
    let hostname_match = seen.name_ok.unwrap_or(false);
    let (mut error, mut detail) = match &seen.webpki {
        None => (
            Some("no_certificate"),
            Some("the server sent no certificate".to_string()),
        ),
        Some(Ok(())) => (None, None),
        Some(Err(e)) => classify(e, name_checked, shape),
    };
    // webpki checks the name after the chain, so a verified chain implies a
    // matching name; guard anyway so `trusted` can never be true with a mismatch.
    if error.is_none() && !hostname_match {
        error = Some("name_mismatch");
        detail = Some(format!("the certificate is not valid for {name_checked}"));
    }
    Verdict {
        trusted: error.is_none(),
        hostname_match,
        name_checked: name_checked.to_string(),
        error: error.map(str::to_string),
        detail,
    }
}

fn classify(e: &Error, name: &str, shape: ChainShape) -> (Option<&'static str>, Option<String>) {
    let (code, text): (&'static str, String) = match e {
        Error::InvalidCertificate(ce) => match ce {
            CertificateError::Expired | CertificateError::ExpiredContext { .. } => (
                "expired",
                "a certificate in the chain has expired: renew it and reload the server".into(),
            ),
            CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => (
                "not_yet_valid",
                "a certificate in the chain is not valid yet: check the server's or this machine's clock".into(),
            ),
            CertificateError::UnknownIssuer if shape.top_self_signed && !shape.top_is_ca => (
                "self_signed",
                "the leaf is self-signed: use a certificate from a CA, or pass its PEM with --ca-file to trust it".into(),
            ),
            CertificateError::UnknownIssuer if shape.top_self_signed => (
                "unknown_issuer",
                "the chain ends in a root that is not trusted here: pass it with --ca-file if you trust it".into(),
            ),
            CertificateError::UnknownIssuer if !shape.top_is_ca && !shape.top_issuer_trusted => (
                "missing_intermediate",
                "the server sent only the leaf and its issuer is not a trusted root: the intermediate is probably missing; serve the full chain (leaf then intermediates)".into(),
            ),
            CertificateError::UnknownIssuer => (
                "unknown_issuer",
                "the chain does not lead to a trusted root: add the missing intermediate, or pass the root with --ca-file".into(),
            ),
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => (
                "name_mismatch",
                format!("the certificate is not valid for {name}: check the SANs, or use --servername with the name it was issued for"),
            ),
            CertificateError::BadSignature | CertificateError::UnsupportedSignatureAlgorithmContext { .. } => (
                "bad_signature",
                "a certificate's signature does not verify with its issuer's key".into(),
            ),
            CertificateError::InvalidPurpose | CertificateError::InvalidPurposeContext { .. } => (
                "invalid_purpose",
                "the leaf is not allowed for TLS server authentication (extended key usage)".into(),
            ),
            CertificateError::Revoked => ("revoked", "a certificate in the chain is revoked".into()),
            other => ("other", format!("{other:?}")),
        },
        other => ("other", other.to_string()),
    };
    (Some(code), Some(text))
}

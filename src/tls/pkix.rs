//! PKIX pieces for domain mode, kept here so rustls types stay in `tls/`:
//! a strict client configuration for the MTA-STS policy fetch (RFC 8461
//! §3.3), and chain verification against one given trust anchor, as a
//! DANE-TA(2) TLSA record names it (RFC 7672 §3.1.2; RFC 7671 §5.2).
//!
//! ```text
//! domain::mta_sts::fetch_policy -> https_client_config(roots) -> reqwest (HTTPS GET)
//! domain::dane::match_chain     -> verify_to_anchor(chain, ta, mx host, now)
//! ```

use std::sync::Arc;
use std::time::Duration;

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::ServerCertVerifier;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, ClientConfig, Error, RootCertStore};

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

/// A client configuration that rejects any chain not leading to `roots` or
/// not valid for the host name: a policy host with a bad certificate is an
/// MTA-STS failure, not something to look at (RFC 8461 §3.3). ALPN offers
/// `http/1.1` only.
///
/// # Errors
/// A message when `roots` is empty or the protocol versions are refused.
pub fn https_client_config(roots: RootCertStore) -> Result<ClientConfig, String> {
    let verifier = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider())
        .build()
        .map_err(|e| format!("no usable trust anchors: {e}"))?;
    let mut config = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS versions refused: {e}"))?
        .with_webpki_verifier(verifier)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

/// Verifies that `chain` (DER, leaf first, as sent) leads to the trust
/// anchor `anchor` (a certificate, DER) and that the leaf is valid for
/// `name` at `now` (Unix seconds). The anchor's own validity period is not
/// checked (RFC 7671 §5.2), the rest of the chain's is.
///
/// # Errors
/// The reason in operator terms: expired, wrong name, not issued by the
/// anchor, unparsable certificate.
pub fn verify_to_anchor(
    chain: &[Vec<u8>],
    anchor: &[u8],
    name: &str,
    now: u64,
) -> Result<(), String> {
    let Some((leaf, rest)) = chain.split_first() else {
        return Err("the server sent no certificate".into());
    };
    let mut roots = RootCertStore::empty();
    roots
        .add(CertificateDer::from(anchor.to_vec()))
        .map_err(|e| format!("the trust anchor certificate does not parse: {e}"))?;
    let verifier = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider())
        .build()
        .map_err(|e| format!("unusable trust anchor: {e}"))?;
    let server_name = ServerName::try_from(name.to_string())
        .map_err(|_| format!("{name:?} is not a host name"))?;
    let intermediates: Vec<CertificateDer<'static>> = rest
        .iter()
        .map(|c| CertificateDer::from(c.clone()))
        .collect();
    verifier
        .verify_server_cert(
            &CertificateDer::from(leaf.clone()),
            &intermediates,
            &server_name,
            &[],
            UnixTime::since_unix_epoch(Duration::from_secs(now)),
        )
        .map(|_| ())
        .map_err(|e| describe(&e, name))
}

/// The TLS reason inside an error chain (as an HTTP client reports a
/// failed handshake), in operator terms; `None` when TLS is not the cause.
pub fn tls_reason(err: &(dyn std::error::Error + 'static), name: &str) -> Option<String> {
    let mut src = Some(err);
    while let Some(e) = src {
        if let Some(tls) = find_rustls(e, 0) {
            return Some(describe(tls, name));
        }
        src = e.source();
    }
    None
}

/// The rustls error in `e`, looking inside (nested) io::Errors, whose
/// `source()` skips the error they wrap. Bounded depth.
fn find_rustls<'a>(e: &'a (dyn std::error::Error + 'static), depth: usize) -> Option<&'a Error> {
    if let Some(tls) = e.downcast_ref::<Error>() {
        return Some(tls);
    }
    if depth < 8 {
        if let Some(inner) = e
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
        {
            let inner: &(dyn std::error::Error + 'static) = inner;
            return find_rustls(inner, depth + 1);
        }
    }
    None
}

fn describe(e: &Error, name: &str) -> String {
    match e {
        Error::InvalidCertificate(c) => match c {
            CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
                "a certificate below the trust anchor has expired".into()
            }
            CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
                "a certificate below the trust anchor is not valid yet".into()
            }
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
                format!("the leaf is not valid for {name}")
            }
            CertificateError::UnknownIssuer => {
                "the chain does not lead to a trusted certificate (unknown issuer)".into()
            }
            CertificateError::BadSignature => "a signature in the chain does not verify".into(),
            CertificateError::BadEncoding => "a certificate does not parse".into(),
            other => format!("the chain does not verify: {other}"),
        },
        other => format!("TLS failed: {other}"),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair};

    fn make_ca(cn: &str) -> (rcgen::Certificate, rcgen::Issuer<'static, KeyPair>) {
        let key = KeyPair::generate().unwrap();
        let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
        p.distinguished_name = rcgen::DistinguishedName::new();
        p.distinguished_name.push(rcgen::DnType::CommonName, cn);
        p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let cert = p.self_signed(&key).unwrap();
        (cert, rcgen::Issuer::new(p, key))
    }

    fn now() -> u64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs()
    }

    #[test]
    fn chain_to_anchor_and_name() {
        let (ca, issuer) = make_ca("Test CA");
        let key = KeyPair::generate().unwrap();
        let leaf = CertificateParams::new(vec!["mx.example.test".to_string()])
            .unwrap()
            .signed_by(&key, &issuer)
            .unwrap();
        let chain = vec![leaf.der().to_vec(), ca.der().to_vec()];
        verify_to_anchor(&chain, ca.der(), "mx.example.test", now()).unwrap();
        let err = verify_to_anchor(&chain, ca.der(), "other.example.test", now()).unwrap_err();
        assert!(err.contains("not valid for other.example.test"), "{err}");
        let (other, _) = make_ca("Other CA");
        let err = verify_to_anchor(&chain, other.der(), "mx.example.test", now()).unwrap_err();
        assert!(err.contains("does not lead"), "{err}");
        assert!(verify_to_anchor(&[], ca.der(), "mx.example.test", now()).is_err());
    }
}

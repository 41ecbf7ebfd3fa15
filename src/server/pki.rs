//! The demo server's test PKI, generated with rcgen at start:
//! root CA -> intermediate CA (pathlen 0) -> leaf for `localhost`,
//! all ECDSA P-256, plus deliberately broken leaves for lessons.
//!
//! ```text
//! mailwire demo root CA            (trust anchor; root_pem())
//!   └─ mailwire demo intermediate CA
//!        └─ localhost              DNS:localhost IP:127.0.0.1 IP:::1, EKU serverAuth
//! ```
//!
//! The server presents `chain_der()` (leaf first). Nothing is written to
//! disk here; `serve_forever` writes the root PEM where the user asks.

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, PKCS_ECDSA_P256_SHA256,
};
use time::{Duration, OffsetDateTime};

use super::{Error, Result};

/// Which leaf the server presents (for demos/lessons of broken chains).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, clap::ValueEnum)]
pub enum LeafKind {
    /// Valid leaf for localhost, 127.0.0.1 and ::1, sent with the intermediate.
    #[default]
    Good,
    /// Same names, but `not_after` lies in the past (RFC 5280 §4.1.2.5).
    Expired,
    /// Valid dates, but the only SAN is `wrong.example` (RFC 6125 §6).
    WrongHost,
    /// A self-signed leaf; the chain is just that leaf.
    SelfSigned,
    /// The good leaf sent without its intermediate, so no path to the root.
    NoIntermediate,
}

/// Test PKI generated at start by rcgen: root -> intermediate -> leaf for localhost, 127.0.0.1, ::1.
pub struct DemoPki {
    leaf: LeafKind,
    root_pem: String,
    /// Leaf first, then the intermediate when the chain has one.
    chain: Vec<Vec<u8>>,
    /// PKCS#8 DER of the leaf key.
    leaf_key: Vec<u8>,
}

impl std::fmt::Debug for DemoPki {
    // The key stays out of debug output.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DemoPki")
            .field("leaf", &self.leaf)
            .field("chain_len", &self.chain.len())
            .finish_non_exhaustive()
    }
}

/// Common name of the trust anchor, as shown in chain reports.
pub const ROOT_CN: &str = "mailwire demo root CA";
/// Common name of the intermediate CA.
pub const INTERMEDIATE_CN: &str = "mailwire demo intermediate CA";

fn pki_err(what: &str) -> impl Fn(rcgen::Error) -> Error + '_ {
    move |e| Error::Pki(format!("{what}: {e}"))
}

fn name(cn: &str) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::OrganizationName, "mailwire demo");
    dn.push(DnType::CommonName, cn);
    dn
}

fn ca_params(cn: &str, constraints: BasicConstraints, now: OffsetDateTime) -> CertificateParams {
    let mut params = CertificateParams::default();
    params.distinguished_name = name(cn);
    params.is_ca = IsCa::Ca(constraints);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    params.use_authority_key_identifier_extension = true;
    params.not_before = now - Duration::days(1);
    params.not_after = now + Duration::days(3650);
    params
}

fn leaf_params(kind: LeafKind, now: OffsetDateTime) -> Result<CertificateParams> {
    let sans: Vec<String> = match kind {
        LeafKind::WrongHost => vec!["wrong.example".into()],
        _ => vec!["localhost".into(), "127.0.0.1".into(), "::1".into()],
    };
    let mut params = CertificateParams::new(sans).map_err(pki_err("leaf names"))?;
    let cn = if kind == LeafKind::WrongHost {
        "wrong.example"
    } else {
        "localhost"
    };
    params.distinguished_name = name(cn);
    params.is_ca = IsCa::ExplicitNoCa;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    params.use_authority_key_identifier_extension = kind != LeafKind::SelfSigned;
    if kind == LeafKind::Expired {
        params.not_before = now - Duration::days(120);
        params.not_after = now - Duration::days(30);
    } else {
        params.not_before = now - Duration::days(1);
        params.not_after = now + Duration::days(90);
    }
    Ok(params)
}

impl DemoPki {
    /// Generates a fresh root, intermediate and the requested leaf.
    ///
    /// # Errors
    /// [`Error::Pki`] when rcgen fails to make a key or sign a certificate.
    pub fn generate(leaf: LeafKind) -> Result<DemoPki> {
        let now = OffsetDateTime::now_utc();
        let alg = &PKCS_ECDSA_P256_SHA256;

        let root_key = KeyPair::generate_for(alg).map_err(pki_err("root key"))?;
        let root_params = ca_params(ROOT_CN, BasicConstraints::Unconstrained, now);
        let root_cert = root_params
            .self_signed(&root_key)
            .map_err(pki_err("root certificate"))?;
        let root = Issuer::new(root_params, root_key);

        let int_key = KeyPair::generate_for(alg).map_err(pki_err("intermediate key"))?;
        let int_params = ca_params(INTERMEDIATE_CN, BasicConstraints::Constrained(0), now);
        let int_cert = int_params
            .signed_by(&int_key, &root)
            .map_err(pki_err("intermediate certificate"))?;
        let intermediate = Issuer::new(int_params, int_key);

        let leaf_key = KeyPair::generate_for(alg).map_err(pki_err("leaf key"))?;
        let params = leaf_params(leaf, now)?;
        let leaf_cert = if leaf == LeafKind::SelfSigned {
            params.self_signed(&leaf_key)
        } else {
            params.signed_by(&leaf_key, &intermediate)
        }
        .map_err(pki_err("leaf certificate"))?;

        let mut chain = vec![leaf_cert.der().to_vec()];
        if matches!(
            leaf,
            LeafKind::Good | LeafKind::Expired | LeafKind::WrongHost
        ) {
            chain.push(int_cert.der().to_vec());
        }
        Ok(DemoPki {
            leaf,
            root_pem: root_cert.pem(),
            chain,
            leaf_key: leaf_key.serialize_der(),
        })
    }

    /// The root CA certificate in PEM: the only trust anchor clients need.
    pub fn root_pem(&self) -> &str {
        &self.root_pem
    }

    /// The chain the server presents, DER, leaf first.
    pub fn chain_der(&self) -> Vec<Vec<u8>> {
        self.chain.clone()
    }

    /// Which leaf this PKI presents.
    pub fn leaf_kind(&self) -> LeafKind {
        self.leaf
    }

    /// PKCS#8 DER of the leaf's private key, for `tls::server::ServerTls`.
    pub fn leaf_key_der(&self) -> &[u8] {
        &self.leaf_key
    }
}

/// SAN entries of a leaf as text, for tests and `describe` output.
#[cfg(test)]
fn san_names(params: &CertificateParams) -> Vec<String> {
    use rcgen::SanType;
    params
        .subject_alt_names
        .iter()
        .map(|s| match s {
            SanType::DnsName(n) => n.to_string(),
            SanType::IpAddress(ip) => ip.to_string(),
            other => format!("{other:?}"),
        })
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is how a test fails
mod tests {
    use super::*;
    use x509_parser::prelude::{FromDer, X509Certificate};

    fn parse(der: &[u8]) -> X509Certificate<'_> {
        X509Certificate::from_der(der).expect("valid DER").1
    }

    #[test]
    fn good_chain_is_leaf_then_intermediate() {
        let pki = DemoPki::generate(LeafKind::Good).unwrap();
        let chain = pki.chain_der();
        assert_eq!(chain.len(), 2);
        let leaf = parse(&chain[0]);
        let int = parse(&chain[1]);
        assert_eq!(leaf.issuer(), int.subject());
        assert!(leaf.validity().is_valid());
        assert!(int.is_ca());
        assert!(pki.root_pem().starts_with("-----BEGIN CERTIFICATE-----"));
    }

    #[test]
    fn leaf_names_cover_localhost_and_loopback() {
        let now = OffsetDateTime::now_utc();
        let good = leaf_params(LeafKind::Good, now).unwrap();
        assert_eq!(san_names(&good), ["localhost", "127.0.0.1", "::1"]);
        let wrong = leaf_params(LeafKind::WrongHost, now).unwrap();
        assert_eq!(san_names(&wrong), ["wrong.example"]);
    }

    #[test]
    fn expired_leaf_ended_in_the_past() {
        let pki = DemoPki::generate(LeafKind::Expired).unwrap();
        let chain = pki.chain_der();
        let leaf = parse(&chain[0]);
        assert!(leaf.validity().not_after.timestamp() < OffsetDateTime::now_utc().unix_timestamp());
        assert_eq!(chain.len(), 2);
    }

    #[test]
    fn self_signed_and_no_intermediate_send_only_the_leaf() {
        let selfs = DemoPki::generate(LeafKind::SelfSigned).unwrap();
        let chain = selfs.chain_der();
        assert_eq!(chain.len(), 1);
        let leaf = parse(&chain[0]);
        assert_eq!(leaf.issuer(), leaf.subject());

        let noint = DemoPki::generate(LeafKind::NoIntermediate).unwrap();
        let chain = noint.chain_der();
        assert_eq!(chain.len(), 1);
        let leaf = parse(&chain[0]);
        assert_ne!(leaf.issuer(), leaf.subject());
    }
}

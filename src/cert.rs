//! Certificate-chain report built with x509-parser: one [`CertSummary`] per
//! certificate the server sent, and chain-level [`Finding`]s.

use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::{GeneralName, ParsedExtension};
use x509_parser::objects::{oid_registry, oid2sn};
use x509_parser::prelude::FromDer;
use x509_parser::x509::X509Name;

/// One certificate, in the fields an operator checks.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CertSummary {
    /// Position in the chain as sent: 0 is the leaf.
    pub depth: usize,
    /// Subject DN in RFC 4514 form.
    pub subject: String,
    /// Subject common name, if any.
    pub subject_cn: Option<String>,
    pub issuer: String,
    pub issuer_cn: Option<String>,
    /// Serial number in hex, colon separated.
    pub serial: String,
    /// RFC 3339, UTC.
    pub not_before: String,
    /// RFC 3339, UTC.
    pub not_after: String,
    /// Whole days until `not_after`, negative once expired.
    pub days_left: i64,
    /// True while `not_before` is in the future.
    pub not_yet_valid: bool,
    /// Subject alternative names: `DNS:name` and `IP:addr`.
    pub sans: Vec<String>,
    /// Public key, e.g. `EC P-256`, `RSA 2048`, `Ed25519`.
    pub key: String,
    /// e.g. `ecdsa-with-SHA256`, `sha256WithRSAEncryption`.
    pub signature_algorithm: String,
    /// SHA-256 of the DER, upper-case hex, colon separated.
    pub sha256: String,
    pub is_ca: bool,
    pub path_len: Option<u32>,
    pub key_usage: Vec<String>,
    pub extended_key_usage: Vec<String>,
    /// Authority Information Access URLs (`OCSP: ...`, `CA Issuers: ...`).
    pub aia: Vec<String>,
    pub self_signed: bool,
}

/// A chain-level observation.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Finding {
    /// `error`, `warning` or `info`.
    pub severity: String,
    pub message: String,
}

/// The whole chain as sent, with findings.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ChainReport {
    pub certs: Vec<CertSummary>,
    pub findings: Vec<Finding>,
}

impl ChainReport {
    /// Builds the report for `chain` (DER, leaf first, as sent) at time
    /// `now` (Unix seconds), checking the leaf against `name` (host name or
    /// IP address as text).
    ///
    /// A certificate that does not parse still gets a row (with the parse
    /// error as its subject) and an `error` finding: a broken chain is shown,
    /// never dropped.
    pub fn from_der(chain: &[Vec<u8>], now: i64, name: &str) -> ChainReport {
        let mut report = ChainReport::default();
        let mut parsed = Vec::new();
        for (depth, der) in chain.iter().enumerate() {
            match X509Certificate::from_der(der) {
                Ok((_, cert)) => {
                    report.certs.push(summarize(depth, der, &cert, now));
                    parsed.push(Some(cert));
                }
                Err(e) => {
                    report.findings.push(Finding::error(format!(
                        "certificate {depth} does not parse: {e}"
                    )));
                    report
                        .certs
                        .push(CertSummary::unparsable(depth, der, &e.to_string()));
                    parsed.push(None);
                }
            }
        }
        report.check_chain(&parsed, name);
        report
    }

    /// The leaf (depth 0), if the server sent any certificate.
    pub fn leaf(&self) -> Option<&CertSummary> {
        self.certs.first()
    }

    fn check_chain(&mut self, parsed: &[Option<X509Certificate<'_>>], name: &str) {
        if parsed.is_empty() {
            self.findings
                .push(Finding::error("the server sent no certificate".into()));
            return;
        }
        // Issuer linkage, RFC 5246 §7.4.2 / RFC 8446 §4.4.2: each certificate
        // should be certified by the one that follows it.
        for (i, pair) in parsed.windows(2).enumerate() {
            if let [Some(child), Some(parent)] = pair
                && child.issuer().as_raw() != parent.subject().as_raw()
            {
                self.findings.push(Finding::warning(format!(
                    "certificate {i} was issued by \"{}\" but certificate {} is \"{}\": the chain is out of order or holds an unrelated certificate",
                    child.issuer(),
                    i + 1,
                    parent.subject()
                )));
            }
        }
        if let Some(Some(top)) = parsed.last() {
            let self_signed = top.subject().as_raw() == top.issuer().as_raw();
            if !self_signed && parsed.len() == 1 && !top.is_ca() {
                self.findings.push(Finding::warning(format!(
                    "only the leaf was sent; its issuer \"{}\" must come from the client's store: serve the intermediate too",
                    top.issuer()
                )));
            }
            if self_signed && parsed.len() > 1 {
                self.findings.push(Finding::info(
                    "the chain includes its root; harmless, but clients ignore it".into(),
                ));
            }
        }
        for c in &self.certs {
            let what = if c.depth == 0 {
                "leaf".to_string()
            } else {
                format!("certificate {}", c.depth)
            };
            if c.days_left < 0 {
                self.findings
                    .push(Finding::error(format!("{what} expired on {}", c.not_after)));
            } else if c.not_yet_valid {
                self.findings.push(Finding::error(format!(
                    "{what} is not valid before {}",
                    c.not_before
                )));
            } else if c.days_left < 30 {
                self.findings.push(Finding::warning(format!(
                    "{what} expires in {} days",
                    c.days_left
                )));
            }
        }
        if let Some(leaf) = self.certs.first()
            && !leaf.sans.is_empty()
            && !name_matches(&leaf.sans, name)
        {
            self.findings.push(Finding::error(format!(
                "the leaf is not valid for {name}; its names are {}",
                leaf.sans.join(", ")
            )));
        }
    }
}

impl Finding {
    fn error(message: String) -> Finding {
        Finding {
            severity: "error".into(),
            message,
        }
    }
    fn warning(message: String) -> Finding {
        Finding {
            severity: "warning".into(),
            message,
        }
    }
    fn info(message: String) -> Finding {
        Finding {
            severity: "info".into(),
            message,
        }
    }
}

impl CertSummary {
    fn unparsable(depth: usize, der: &[u8], error: &str) -> CertSummary {
        CertSummary {
            depth,
            subject: format!("<unparsable: {error}>"),
            subject_cn: None,
            issuer: String::new(),
            issuer_cn: None,
            serial: String::new(),
            not_before: String::new(),
            not_after: String::new(),
            days_left: 0,
            not_yet_valid: false,
            sans: Vec::new(),
            key: String::new(),
            signature_algorithm: String::new(),
            sha256: sha256_hex(der),
            is_ca: false,
            path_len: None,
            key_usage: Vec::new(),
            extended_key_usage: Vec::new(),
            aia: Vec::new(),
            self_signed: false,
        }
    }
}

/// RFC 6125 §6.4 matching of `name` against `DNS:`/`IP:` SANs, with a
/// single left-most wildcard label. Case-insensitive.
pub fn name_matches(sans: &[String], name: &str) -> bool {
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    let ip: Option<std::net::IpAddr> = name.parse().ok();
    sans.iter().any(|san| {
        if let Some(addr) = san.strip_prefix("IP:") {
            return ip.is_some() && addr.parse::<std::net::IpAddr>().ok() == ip;
        }
        let Some(dns) = san.strip_prefix("DNS:") else {
            return false;
        };
        if ip.is_some() {
            return false;
        }
        let dns = dns.to_ascii_lowercase();
        match dns.strip_prefix("*.") {
            Some(rest) => name
                .split_once('.')
                .is_some_and(|(label, tail)| !label.is_empty() && tail == rest),
            None => dns == name,
        }
    })
}

/// Subject DN bytes of the issuer of `der`, to compare with trust anchors.
pub fn issuer_der(der: &[u8]) -> Option<Vec<u8>> {
    X509Certificate::from_der(der)
        .ok()
        .map(|(_, c)| c.issuer().as_raw().to_vec())
}

fn summarize(depth: usize, der: &[u8], cert: &X509Certificate<'_>, now: i64) -> CertSummary {
    let validity = cert.validity();
    let not_after = validity.not_after.timestamp();
    let mut sans = Vec::new();
    let mut key_usage = Vec::new();
    let mut extended_key_usage = Vec::new();
    let mut aia = Vec::new();
    let mut path_len = None;
    for ext in cert.extensions() {
        match ext.parsed_extension() {
            ParsedExtension::SubjectAlternativeName(san) => {
                for gn in &san.general_names {
                    match gn {
                        GeneralName::DNSName(d) => sans.push(format!("DNS:{d}")),
                        GeneralName::IPAddress(bytes) => {
                            sans.push(format!("IP:{}", ip_text(bytes)))
                        }
                        GeneralName::RFC822Name(m) => sans.push(format!("email:{m}")),
                        GeneralName::URI(u) => sans.push(format!("URI:{u}")),
                        _ => {}
                    }
                }
            }
            ParsedExtension::KeyUsage(ku) => {
                key_usage = ku
                    .to_string()
                    .split(", ")
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .collect();
            }
            ParsedExtension::ExtendedKeyUsage(eku) => {
                let flags = [
                    (eku.any, "anyExtendedKeyUsage"),
                    (eku.server_auth, "serverAuth"),
                    (eku.client_auth, "clientAuth"),
                    (eku.code_signing, "codeSigning"),
                    (eku.email_protection, "emailProtection"),
                    (eku.time_stamping, "timeStamping"),
                    (eku.ocsp_signing, "OCSPSigning"),
                ];
                extended_key_usage = flags
                    .iter()
                    .filter(|(on, _)| *on)
                    .map(|(_, n)| n.to_string())
                    .collect();
                extended_key_usage.extend(eku.other.iter().map(|o| o.to_id_string()));
            }
            ParsedExtension::BasicConstraints(bc) => path_len = bc.path_len_constraint,
            ParsedExtension::AuthorityInfoAccess(info) => {
                for ad in info.iter() {
                    if let GeneralName::URI(u) = &ad.access_location {
                        let method = match ad.access_method.to_id_string().as_str() {
                            "1.3.6.1.5.5.7.48.1" => "OCSP",
                            "1.3.6.1.5.5.7.48.2" => "CA Issuers",
                            _ => "other",
                        };
                        aia.push(format!("{method}: {u}"));
                    }
                }
            }
            _ => {}
        }
    }
    CertSummary {
        depth,
        subject: cert.subject().to_string(),
        subject_cn: common_name(cert.subject()),
        issuer: cert.issuer().to_string(),
        issuer_cn: common_name(cert.issuer()),
        serial: colon_hex(cert.raw_serial()),
        not_before: rfc3339(validity.not_before.timestamp()),
        not_after: rfc3339(not_after),
        // Saturating: `now` comes from a recording on replay, and a far
        // `now` must not overflow (found by fuzz/chain_report).
        days_left: not_after.saturating_sub(now).div_euclid(86_400),
        not_yet_valid: validity.not_before.timestamp() > now,
        sans,
        key: key_text(cert),
        signature_algorithm: oid2sn(&cert.signature_algorithm.algorithm, oid_registry())
            .map(str::to_string)
            .unwrap_or_else(|_| cert.signature_algorithm.algorithm.to_id_string()),
        sha256: sha256_hex(der),
        is_ca: cert.is_ca(),
        path_len,
        key_usage,
        extended_key_usage,
        aia,
        self_signed: cert.subject().as_raw() == cert.issuer().as_raw(),
    }
}

fn common_name(name: &X509Name<'_>) -> Option<String> {
    name.iter_common_name()
        .next()
        .and_then(|cn| cn.as_str().ok())
        .map(str::to_string)
}

fn key_text(cert: &X509Certificate<'_>) -> String {
    let spki = cert.public_key();
    let alg = spki.algorithm.algorithm.to_id_string();
    match alg.as_str() {
        "1.2.840.113549.1.1.1" => {
            format!("RSA {}", spki.parsed().map(|k| k.key_size()).unwrap_or(0))
        }
        "1.2.840.10045.2.1" => {
            let curve = spki
                .algorithm
                .parameters
                .as_ref()
                .and_then(|p| p.as_oid().ok())
                .map(|o| o.to_id_string());
            match curve.as_deref() {
                Some("1.2.840.10045.3.1.7") => "EC P-256".into(),
                Some("1.3.132.0.34") => "EC P-384".into(),
                Some("1.3.132.0.35") => "EC P-521".into(),
                Some(other) => format!("EC {other}"),
                None => "EC".into(),
            }
        }
        "1.3.101.112" => "Ed25519".into(),
        "1.3.101.113" => "Ed448".into(),
        other => oid2sn(&spki.algorithm.algorithm, oid_registry())
            .map(str::to_string)
            .unwrap_or_else(|_| other.to_string()),
    }
}

fn ip_text(bytes: &[u8]) -> String {
    match bytes.len() {
        4 => std::net::Ipv4Addr::new(bytes[0], bytes[1], bytes[2], bytes[3]).to_string(),
        16 => {
            let mut a = [0u8; 16];
            a.copy_from_slice(bytes);
            std::net::Ipv6Addr::from(a).to_string()
        }
        _ => colon_hex(bytes),
    }
}

fn colon_hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// SHA-256 fingerprint of DER bytes, as `AB:CD:...`.
pub fn sha256_hex(der: &[u8]) -> String {
    colon_hex(&Sha256::digest(der))
}

/// Unix seconds as RFC 3339 UTC (`2026-11-29T07:42:51Z`).
pub fn rfc3339(unix: i64) -> String {
    OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_else(|| unix.to_string())
}

/// DER certificates as concatenated PEM blocks (RFC 7468), leaf first.
pub fn to_pem(chain: &[Vec<u8>]) -> String {
    use base64::Engine;
    let mut out = String::new();
    for der in chain {
        let b64 = base64::engine::general_purpose::STANDARD.encode(der);
        out.push_str("-----BEGIN CERTIFICATE-----\n");
        for chunk in b64.as_bytes().chunks(64) {
            out.push_str(&String::from_utf8_lossy(chunk));
            out.push('\n');
        }
        out.push_str("-----END CERTIFICATE-----\n");
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is how a test fails
mod tests {
    use super::*;
    use crate::server::pki::{DemoPki, LeafKind};

    /// fuzz/regressions/chain_report/days-left-overflow: a valid chain at the
    /// ends of time overflowed `not_after - now` (a panic in debug builds, a
    /// wrong sign in release ones).
    #[test]
    fn a_far_now_saturates_instead_of_overflowing() {
        let chain = DemoPki::generate(LeafKind::Good).unwrap().chain_der();
        let late = ChainReport::from_der(&chain, i64::MAX, "localhost");
        let leaf = late.leaf().unwrap();
        assert!(leaf.days_left < 0 && !leaf.not_yet_valid, "{leaf:?}");
        assert!(
            late.findings
                .iter()
                .any(|f| f.message.starts_with("leaf expired"))
        );
        let early = ChainReport::from_der(&chain, i64::MIN, "localhost");
        let leaf = early.leaf().unwrap();
        assert!(leaf.days_left > 0 && leaf.not_yet_valid, "{leaf:?}");
        assert!(
            early
                .findings
                .iter()
                .any(|f| f.message.starts_with("leaf is not valid before"))
        );
    }
}

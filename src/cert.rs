//! Certificate-chain report built with x509-parser: one [`CertSummary`] per
//! certificate the server sent, and chain-level [`Finding`]s.

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

//! Certificate-chain report built with x509-parser: one [`CertSummary`] per
//! certificate the server sent, parsed leniently and on its own (v1
//! certificates, RSA-1024, SHA-1, unknown extensions and odd string types
//! all get a row), and a typed [`Finding`] for every problem of every
//! certificate and of the path to the trust anchor.
//!
//! ```text
//! chain DER (as sent) --facts()--> CertFacts per certificate (summary + raw names, EKU, key, ...)
//!        + Verdict (tls::verifier: path, anchor, trust store)  --> ChainReport { certs, findings }
//! ```
//!
//! The report is rebuilt from the DER, the time and the verdict, so a
//! recording shows the same findings on replay (and parser fixes reach old
//! recordings). RFC 5280 §4 (certificate fields), §6.1 (path validation),
//! RFC 9525 (names), RFC 8446 §4.4.2 (chain as sent).

use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::{GeneralName, ParsedExtension};
use x509_parser::objects::{oid_registry, oid2sn};
use x509_parser::prelude::FromDer;
use x509_parser::x509::X509Name;

use crate::finding::{Finding, FindingId, Severity, Stage};
use crate::tls::Verdict;

/// One certificate, in the fields an operator checks.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CertSummary {
    /// Position in the chain as sent: 0 is the leaf.
    pub depth: usize,
    /// X.509 version: 1, 2 or 3 (0 when the certificate does not parse).
    #[serde(default = "v3")]
    pub version: u32,
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

fn v3() -> u32 {
    3
}

/// The whole chain as sent, with a finding for every problem.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ChainReport {
    pub certs: Vec<CertSummary>,
    pub findings: Vec<Finding>,
}

/// What the checks need beyond the summary (crate-internal).
#[derive(Debug, Clone, Default)]
pub(crate) struct CertFacts {
    pub summary: CertSummary,
    /// x509-parser could read it.
    pub parsed: bool,
    /// Subject and issuer Name, DER value without the SEQUENCE header (as
    /// webpki and trust anchors hold it), for issuer linkage.
    pub subject_raw: Vec<u8>,
    pub issuer_raw: Vec<u8>,
    /// Past `not_after` or before `not_before` at the time checked.
    pub out_of_date: bool,
    /// Extended key usage, when the extension is present: (serverAuth, anyExtendedKeyUsage).
    pub eku: Option<(bool, bool)>,
    /// Key usage, when present: (digitalSignature, keyCertSign).
    pub key_usage: Option<(bool, bool)>,
    /// A weak key, with its severity: `RSA 1024-bit key`.
    pub weak_key: Option<(String, Severity)>,
    /// A weak signature algorithm: `sha1WithRSAEncryption`.
    pub weak_signature: Option<String>,
    /// AIA caIssuers URLs (where the issuer's certificate can be fetched).
    pub ca_issuers: Vec<String>,
}

impl CertFacts {
    /// `certificate 1 ("CN=R3,O=Let's Encrypt,C=US")`, escaped for a terminal.
    pub fn label(&self) -> String {
        let role = if self.summary.depth == 0 {
            "leaf".to_string()
        } else {
            format!("certificate {}", self.summary.depth)
        };
        format!("{role} \"{}\"", safe(&self.summary.subject))
    }
}

/// Network text made safe for one line of a report.
fn safe(text: &str) -> String {
    crate::escape::escape_bytes(text.as_bytes())
}

/// Parses every certificate of `chain` (DER, as sent) at time `now` (Unix seconds).
pub(crate) fn facts(chain: &[Vec<u8>], now: i64) -> Vec<CertFacts> {
    chain
        .iter()
        .enumerate()
        .map(|(depth, der)| match X509Certificate::from_der(der) {
            Ok((_, cert)) => cert_facts(depth, der, &cert, now),
            Err(e) => CertFacts {
                summary: CertSummary::unparsable(depth, der, &e.to_string()),
                ..CertFacts::default()
            },
        })
        .collect()
}

/// The positions (as sent) of the certificates on the path from the leaf
/// towards a root, following issuer names: each step takes a certificate
/// sent whose subject is the current one's issuer (preferring one in
/// date), and the walk stops at a self-signed certificate, at an issuer
/// `anchored` says is a trust anchor (a cross-signed copy of that anchor
/// is then not needed), or when no issuer was sent.
pub(crate) fn issuer_path(facts: &[CertFacts], anchored: &dyn Fn(&[u8]) -> bool) -> Vec<usize> {
    if facts.is_empty() {
        return Vec::new();
    }
    let mut path = vec![0];
    let mut current = 0;
    for _ in 0..facts.len() {
        let c = &facts[current];
        if !c.parsed || c.summary.self_signed {
            break;
        }
        let next = (0..facts.len())
            .filter(|j| !path.contains(j) && facts[*j].parsed)
            .filter(|j| facts[*j].subject_raw == c.issuer_raw)
            .min_by_key(|j| (facts[*j].out_of_date, *j));
        let at_anchor = anchored(&c.issuer_raw);
        match next {
            // The root itself was sent: on the path either way.
            Some(j) if facts[j].summary.self_signed => {
                path.push(j);
                break;
            }
            _ if at_anchor => break,
            Some(j) => {
                path.push(j);
                current = j;
            }
            None => break,
        }
    }
    path
}

/// The DER value of a Name (no SEQUENCE header) as RFC 4514 text.
pub(crate) fn name_text(value: &[u8]) -> String {
    let mut der = vec![0x30];
    let len = value.len();
    if len < 0x80 {
        der.push(len as u8);
    } else {
        let bytes: Vec<u8> = len
            .to_be_bytes()
            .into_iter()
            .skip_while(|b| *b == 0)
            .collect();
        der.push(0x80 | bytes.len() as u8);
        der.extend(bytes);
    }
    der.extend_from_slice(value);
    X509Name::from_der(&der)
        .map(|(_, n)| n.to_string())
        .unwrap_or_else(|_| "(unreadable name)".into())
}

/// A DER Name (with its SEQUENCE header, as in a CertificateRequest's
/// certificate_authorities) as RFC 4514 text.
pub(crate) fn dn_text(der: &[u8]) -> String {
    X509Name::from_der(der)
        .map(|(_, n)| n.to_string())
        .unwrap_or_else(|_| name_text(der))
}

/// The content of a DER SEQUENCE (drops tag and length); `raw` as given when malformed.
fn seq_value(raw: &[u8]) -> &[u8] {
    match raw {
        [0x30, len, rest @ ..] if *len < 0x80 => rest,
        [0x30, len, rest @ ..] => {
            let n = usize::from(len & 0x7f);
            rest.get(n..).unwrap_or(raw)
        }
        _ => raw,
    }
}

fn finding(
    id: FindingId,
    severity: Severity,
    summary: String,
    advice: &str,
    source: &str,
) -> Finding {
    Finding::new(id, severity, Stage::Certificate, summary, advice, source)
}

impl ChainReport {
    /// Builds the report for `chain` (DER, leaf first, as sent) at time
    /// `now` (Unix seconds), checking the leaf against `name` (host name or
    /// IP address as text), without a verdict: per-certificate findings
    /// only, the path taken by issuer names.
    ///
    /// A certificate that does not parse still gets a row (with the parse
    /// error as its subject) and an `error` finding: a broken chain is shown,
    /// never dropped.
    pub fn from_der(chain: &[Vec<u8>], now: i64, name: &str) -> ChainReport {
        build(chain, now, name, None)
    }

    /// The full report: [`ChainReport::from_der`] plus what the verdict
    /// knows (the validated path, the trust anchor and the stores
    /// consulted): missing intermediate, untrusted root, self-signed leaf,
    /// certificates sent but not needed, and the verdict itself.
    pub fn with_verdict(chain: &[Vec<u8>], now: i64, verdict: &Verdict) -> ChainReport {
        build(chain, now, &verdict.name_checked, Some(verdict))
    }

    /// The leaf (depth 0), if the server sent any certificate.
    pub fn leaf(&self) -> Option<&CertSummary> {
        self.certs.first()
    }

    /// True when any finding has this id.
    pub fn has(&self, id: &FindingId) -> bool {
        self.findings.iter().any(|f| &f.id == id)
    }
}

fn build(chain: &[Vec<u8>], now: i64, name: &str, verdict: Option<&Verdict>) -> ChainReport {
    let facts = facts(chain, now);
    let mut report = ChainReport {
        certs: facts.iter().map(|f| f.summary.clone()).collect(),
        findings: Vec::new(),
    };
    let out = &mut report.findings;
    if facts.is_empty() {
        out.push(finding(
            FindingId::NoCertificate,
            Severity::Error,
            "the server sent no certificate".into(),
            "A TLS server must present its certificate; check the server's certificate settings (e.g. smtpd_tls_chain_files, ssl_cert).",
            "RFC 8446 §4.4.2",
        ));
        return report;
    }
    let path = match verdict {
        Some(v) if !v.path.is_empty() && v.path.iter().all(|i| *i < facts.len()) => v.path.clone(),
        _ => issuer_path(&facts, &|_| false),
    };
    for f in facts.iter().filter(|f| !f.parsed) {
        out.push(finding(
            FindingId::CertUnparsable,
            Severity::Error,
            format!(
                "certificate {} is not valid X.509 DER ({}); SHA-256 {}",
                f.summary.depth,
                safe(&f.summary.subject),
                f.summary.sha256
            ),
            "The server sends a corrupted certificate file; reinstall the certificate (PEM, leaf first).",
            "RFC 5280 §4.1",
        ));
    }
    let top = path.last().copied().unwrap_or(0);
    for (pos, &i) in path.iter().enumerate() {
        check_on_path(&facts[i], pos, i == top && pos > 0, out);
    }
    check_name(&facts[0], name, verdict, out);
    let in_order: Vec<usize> = (0..path.len()).collect();
    if path != in_order {
        out.push(finding(
            FindingId::ChainOrder,
            Severity::Warning,
            format!(
                "the certificates are not sent in issuing order: the path to the root is {}",
                path.iter()
                    .map(|i| i.to_string())
                    .collect::<Vec<_>>()
                    .join(" -> ")
            ),
            "Send the leaf first, then each issuer in turn (RFC 8446 allows any order after the leaf, but older clients do not).",
            "RFC 5246 §7.4.2; RFC 8446 §4.4.2",
        ));
    }
    for f in facts
        .iter()
        .filter(|f| f.parsed && !path.contains(&f.summary.depth))
    {
        not_needed(f, now, out);
    }
    let top_facts = &facts[top];
    if path.len() > 1 && top_facts.summary.self_signed {
        // Unknown for older recordings: say what the chain alone shows.
        let anchored =
            verdict.is_none_or(|v| v.trust_store.anchor.is_some() || v.trust_store.is_unknown());
        if anchored {
            out.push(finding(
                FindingId::RootSent,
                Severity::Info,
                format!(
                    "the server also sends the root {}; clients ignore it and use their own copy",
                    top_facts.label()
                ),
                "Harmless, but it adds bytes to every handshake; you may drop the root from the served chain.",
                "RFC 8446 §4.4.2",
            ));
        }
    }
    // The verdict itself is the dialogue's `certificate_untrusted` finding.
    if let Some(v) = verdict.filter(|v| !v.trusted) {
        trust_findings(&facts, &path, v, out);
    }
    report
}

/// Checks of one certificate at position `pos` of the path (0 = leaf).
fn check_on_path(f: &CertFacts, pos: usize, is_root_sent: bool, out: &mut Vec<Finding>) {
    if !f.parsed {
        return;
    }
    let s = &f.summary;
    let label = f.label();
    if s.version < 3 {
        out.push(finding(
            FindingId::CertOldVersion,
            Severity::Error,
            format!(
                "{label} is an X.509 v{} certificate: it has no extensions, so it names no host (no SAN) and cannot be marked as a CA; rustls, like current clients, refuses it",
                s.version
            ),
            "Reissue it as an X.509 v3 certificate with a subjectAltName (leaf) or basicConstraints CA:TRUE (CA); with OpenSSL, pass -extfile/-extensions when signing.",
            "RFC 5280 §4.1.2.1",
        ));
    }
    if s.days_left < 0 {
        out.push(finding(
            FindingId::CertExpired,
            Severity::Error,
            format!("{label} expired on {} ({} days ago)", s.not_after, -s.days_left),
            "Renew the certificate (check that automatic renewal runs) and reload the mail server so it serves the new one.",
            "RFC 5280 §4.1.2.5, §6.1.3",
        ));
    } else if s.not_yet_valid {
        out.push(finding(
            FindingId::CertNotYetValid,
            Severity::Error,
            format!("{label} is not valid before {}", s.not_before),
            "A clock is wrong (on the server, the CA or this machine), or a certificate was installed before its start date.",
            "RFC 5280 §4.1.2.5, §6.1.3",
        ));
    } else if s.days_left < 30 {
        out.push(finding(
            FindingId::CertExpiresSoon,
            Severity::Warning,
            format!("{label} expires in {} days, on {}", s.days_left, s.not_after),
            "Renew it now; check that automatic renewal runs and that the server reloads the new certificate.",
            "RFC 5280 §4.1.2.5",
        ));
    }
    if let Some((what, severity)) = &f.weak_key {
        out.push(finding(
            FindingId::WeakKey,
            *severity,
            format!("{label} has a weak key: {what}"),
            "Reissue it with an RSA key of at least 2048 bits or an EC key on P-256 or P-384; clients refuse RSA keys under 2048 bits.",
            "NIST SP 800-131A; CA/B Forum Baseline Requirements §6.1.5",
        ));
    }
    if let Some(alg) = &f.weak_signature {
        if is_root_sent || (pos > 0 && s.self_signed) {
            // A root's self-signature is never checked: trust comes from the store.
        } else {
            out.push(finding(
                FindingId::WeakSignature,
                Severity::Error,
                format!("{label} is signed with {alg}, a hash clients no longer accept (collisions are practical)"),
                "Reissue it signed with SHA-256 or better (sha256WithRSAEncryption, ecdsa-with-SHA256).",
                "RFC 9155; RFC 5280 §4.1.1.2",
            ));
        }
    }
    if pos == 0 {
        if s.is_ca {
            out.push(finding(
                FindingId::CaAsLeaf,
                Severity::Error,
                format!("the {label} is a CA certificate (basicConstraints CA:TRUE); clients refuse a CA certificate as the server's own"),
                "Serve an end-entity certificate for the host, issued by the CA, not the CA certificate itself.",
                "RFC 5280 §4.2.1.9",
            ));
        }
        if let Some((server_auth, any)) = f.eku
            && !server_auth
            && !any
        {
            out.push(finding(
                FindingId::WrongKeyUsage,
                Severity::Error,
                format!(
                    "the {label} is not allowed for TLS server authentication: its extended key usage is {}",
                    or_none(&s.extended_key_usage)
                ),
                "Reissue it with the serverAuth extended key usage (id-kp-serverAuth).",
                "RFC 5280 §4.2.1.12",
            ));
        }
        if let Some((digital_signature, _)) = f.key_usage
            && !digital_signature
            && s.key.starts_with("EC")
        {
            out.push(finding(
                FindingId::WrongKeyUsage,
                Severity::Warning,
                format!(
                    "the {label} has an EC key but its key usage lacks digitalSignature ({}); TLS 1.3 and ECDHE need it",
                    or_none(&s.key_usage)
                ),
                "Reissue it with keyUsage digitalSignature.",
                "RFC 5280 §4.2.1.3; RFC 8446 §4.4.2.2",
            ));
        }
    } else {
        if !s.is_ca {
            let why = if s.version < 3 {
                "it is X.509 v1, which has no basicConstraints"
            } else {
                "basicConstraints CA:TRUE is missing"
            };
            out.push(finding(
                FindingId::NotACa,
                Severity::Error,
                format!("{label} issues the certificate before it on the path but is not a CA: {why}"),
                "Issue the chain from real CA certificates (basicConstraints CA:TRUE, keyUsage keyCertSign), or serve the right intermediate.",
                "RFC 5280 §4.2.1.9, §6.1.4",
            ));
        }
        if let Some((server_auth, any)) = f.eku
            && !server_auth
            && !any
        {
            out.push(finding(
                FindingId::WrongKeyUsage,
                Severity::Error,
                format!(
                    "{label} limits its extended key usage to {}, which excludes TLS server authentication for everything below it",
                    or_none(&s.extended_key_usage)
                ),
                "Use an intermediate whose extended key usage includes serverAuth (or has none).",
                "RFC 5280 §4.2.1.12",
            ));
        }
        if let Some((_, key_cert_sign)) = f.key_usage
            && !key_cert_sign
            && s.is_ca
        {
            out.push(finding(
                FindingId::WrongKeyUsage,
                Severity::Error,
                format!(
                    "{label} is a CA but its key usage lacks keyCertSign ({})",
                    or_none(&s.key_usage)
                ),
                "Reissue the CA certificate with keyUsage keyCertSign.",
                "RFC 5280 §4.2.1.3",
            ));
        }
    }
}

fn or_none(list: &[String]) -> String {
    if list.is_empty() {
        "(none)".into()
    } else {
        safe(&list.join(", "))
    }
}

/// Name match of the leaf, listing every DNS and IP SAN (RFC 9525 §6).
fn check_name(leaf: &CertFacts, name: &str, verdict: Option<&Verdict>, out: &mut Vec<Finding>) {
    if !leaf.parsed || name.is_empty() {
        return;
    }
    let sans: Vec<&String> = leaf
        .summary
        .sans
        .iter()
        .filter(|s| s.starts_with("DNS:") || s.starts_with("IP:"))
        .collect();
    let matches = verdict.map_or_else(
        || name_matches(&leaf.summary.sans, name),
        |v| v.hostname_match,
    );
    if matches {
        return;
    }
    let name_safe = safe(name);
    let is_ip = name
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<std::net::IpAddr>()
        .is_ok();
    let list = sans.iter().map(|s| safe(s)).collect::<Vec<_>>().join(", ");
    let summary = if sans.is_empty() {
        let cn = leaf
            .summary
            .subject_cn
            .as_deref()
            .map(|cn| {
                format!(
                    " Its Common Name \"{}\" is not used for matching.",
                    safe(cn)
                )
            })
            .unwrap_or_default();
        format!(
            "the leaf has no DNS or IP subjectAltName, so it is valid for no name, not for {name_safe}.{cn}"
        )
    } else if is_ip && !sans.iter().any(|s| s.starts_with("IP:")) {
        format!(
            "{name_safe} is an IP address, and the leaf lists only DNS names ({list}): an IP address matches only an IP SAN"
        )
    } else if !is_ip && !sans.iter().any(|s| s.starts_with("DNS:")) {
        format!("{name_safe} is a host name, and the leaf lists only IP addresses ({list})")
    } else {
        format!("the leaf is not valid for {name_safe}; it is valid for {list}")
    };
    out.push(finding(
        FindingId::NameMismatch,
        Severity::Error,
        summary,
        "Connect with a name the certificate lists (--servername NAME), or reissue the certificate with this name as a subjectAltName.",
        "RFC 9525 §6; RFC 5280 §4.2.1.6",
    ));
}

fn not_needed(f: &CertFacts, now: i64, out: &mut Vec<Finding>) {
    let s = &f.summary;
    let state = if s.days_left < 0 {
        format!(", expired on {}", s.not_after)
    } else if s.not_yet_valid {
        format!(", not valid before {}", s.not_before)
    } else {
        String::new()
    };
    let _ = now;
    out.push(finding(
        FindingId::NotNeeded,
        if f.out_of_date { Severity::Warning } else { Severity::Info },
        format!(
            "{} (issued by \"{}\"{state}) was sent, but is not on the path to the trust anchor: sent, not needed",
            f.label(),
            safe(&s.issuer)
        ),
        "Clients skip it, so it does not affect the verdict; remove it from the served chain (some old clients trip over an expired extra certificate).",
        "RFC 8446 §4.4.2",
    ));
}

/// Missing intermediate, untrusted root, self-signed leaf: from the path's
/// top and whether a consulted store holds its issuer.
fn trust_findings(facts: &[CertFacts], path: &[usize], v: &Verdict, out: &mut Vec<Finding>) {
    // An anchor was found, or the verdict predates trust-store reporting
    // (an older recording): nothing to say about the stores.
    if v.trust_store.anchor.is_some() || v.trust_store.is_unknown() {
        return;
    }
    let Some(&top) = path.last() else { return };
    let t = &facts[top];
    if !t.parsed {
        return;
    }
    let stores = v.trust_store.consulted_text();
    let aia = if t.ca_issuers.is_empty() {
        String::new()
    } else {
        format!(
            "; its AIA caIssuers URL is {}",
            safe(&t.ca_issuers.join(", "))
        )
    };
    if top == 0 && t.summary.self_signed {
        out.push(finding(
            FindingId::SelfSignedLeaf,
            Severity::Error,
            format!("the {} is self-signed and not in the trust store ({stores})", t.label()),
            "Install a certificate from a CA (for example via ACME); to trust this one for a private server, pass its PEM with --ca-file.",
            "RFC 5280 §6.1",
        ));
    } else if t.summary.self_signed {
        out.push(finding(
            FindingId::UntrustedRoot,
            Severity::Error,
            format!(
                "the chain ends at the root {} (SHA-256 {}), which is not in the trust store ({stores})",
                t.label(),
                t.summary.sha256
            ),
            "If this is your private CA and you trust it, pass its PEM with --ca-file (or --ca-path); a public server must chain to a root that clients trust.",
            "RFC 5280 §6.1",
        ));
    } else if !t.summary.is_ca {
        out.push(finding(
            FindingId::MissingIntermediate,
            Severity::Error,
            format!(
                "the server sent no certificate for the issuer of the {}: \"{}\" is missing, and it is not in the trust store ({stores}){aia}",
                t.label(),
                safe(&t.summary.issuer)
            ),
            "Serve the full chain, leaf first and then the intermediates (for example fullchain.pem, not cert.pem).",
            "RFC 5280 §6.1; RFC 8446 §4.4.2",
        ));
    } else {
        out.push(finding(
            FindingId::UntrustedRoot,
            Severity::Error,
            format!(
                "the last certificate on the path, {}, was issued by \"{}\", which is not in the trust store ({stores}){aia}",
                t.label(),
                safe(&t.summary.issuer)
            ),
            "If that issuer is a root you trust, pass it with --ca-file; if it is another intermediate, the server must send it too.",
            "RFC 5280 §6.1",
        ));
    }
}

impl CertSummary {
    fn unparsable(depth: usize, der: &[u8], error: &str) -> CertSummary {
        CertSummary {
            depth,
            version: 0,
            subject: format!("<unparsable: {error}>"),
            sha256: sha256_hex(der),
            ..CertSummary::default()
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

fn cert_facts(depth: usize, der: &[u8], cert: &X509Certificate<'_>, now: i64) -> CertFacts {
    let validity = cert.validity();
    let mut eku_flags = None;
    let mut ku_flags = None;
    let mut ca_issuers = Vec::new();
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
                ku_flags = Some((ku.digital_signature(), ku.key_cert_sign()));
                key_usage = ku
                    .to_string()
                    .split(", ")
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .collect();
            }
            ParsedExtension::ExtendedKeyUsage(eku) => {
                eku_flags = Some((eku.server_auth, eku.any));
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
                            "1.3.6.1.5.5.7.48.2" => {
                                ca_issuers.push(u.to_string());
                                "CA Issuers"
                            }
                            _ => "other",
                        };
                        aia.push(format!("{method}: {u}"));
                    }
                }
            }
            _ => {}
        }
    }
    let summary = CertSummary {
        depth,
        version: cert.version().0 + 1,
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
        signature_algorithm: signature_name(&cert.signature_algorithm.algorithm),
        sha256: sha256_hex(der),
        is_ca: cert.is_ca(),
        path_len,
        key_usage,
        extended_key_usage,
        aia,
        self_signed: cert.subject().as_raw() == cert.issuer().as_raw(),
    };
    let not_before = validity.not_before.timestamp();
    CertFacts {
        weak_key: weak_key(cert),
        weak_signature: weak_signature(&cert.signature_algorithm.algorithm.to_id_string())
            .then(|| summary.signature_algorithm.clone()),
        out_of_date: not_after < now || not_before > now,
        summary,
        parsed: true,
        subject_raw: seq_value(cert.subject().as_raw()).to_vec(),
        issuer_raw: seq_value(cert.issuer().as_raw()).to_vec(),
        eku: eku_flags,
        key_usage: ku_flags,
        ca_issuers,
    }
}

/// The usual name of a signature algorithm; the registry lacks some (the
/// ECDSA ones among them), which then show as their OID.
fn signature_name(oid: &x509_parser::der_parser::oid::Oid<'_>) -> String {
    let id = oid.to_id_string();
    let known = match id.as_str() {
        "1.2.840.10045.4.1" => Some("ecdsa-with-SHA1"),
        "1.2.840.10045.4.3.2" => Some("ecdsa-with-SHA256"),
        "1.2.840.10045.4.3.3" => Some("ecdsa-with-SHA384"),
        "1.2.840.10045.4.3.4" => Some("ecdsa-with-SHA512"),
        "1.2.840.113549.1.1.10" => Some("RSASSA-PSS"),
        "1.3.101.112" => Some("Ed25519"),
        "1.3.101.113" => Some("Ed448"),
        "1.2.840.10040.4.3" => Some("dsa-with-SHA1"),
        _ => None,
    };
    match known {
        Some(name) => name.to_string(),
        None => oid2sn(oid, oid_registry())
            .map(str::to_string)
            .unwrap_or(id),
    }
}

/// MD2, MD5 and SHA-1 signature algorithms (RFC 9155: not for TLS 1.2+
/// signatures; CAs stopped issuing them).
fn weak_signature(oid: &str) -> bool {
    matches!(
        oid,
        "1.2.840.113549.1.1.2"
            | "1.2.840.113549.1.1.4"
            | "1.2.840.113549.1.1.5"
            | "1.3.14.3.2.29"
            | "1.2.840.10045.4.1"
            | "1.2.840.10040.4.3"
    )
}

/// RSA under 2048 bits and DSA are refused by clients; EC curves other than
/// P-256/384/521 are unusual enough that most clients cannot use them.
fn weak_key(cert: &X509Certificate<'_>) -> Option<(String, Severity)> {
    let spki = cert.public_key();
    match spki.algorithm.algorithm.to_id_string().as_str() {
        "1.2.840.113549.1.1.1" => {
            let bits = spki.parsed().map(|k| k.key_size()).unwrap_or(0);
            (bits < 2048).then(|| (format!("RSA {bits}-bit key"), Severity::Error))
        }
        "1.2.840.10040.4.1" => Some(("DSA key".into(), Severity::Error)),
        "1.2.840.10045.2.1" => {
            let curve = spki
                .algorithm
                .parameters
                .as_ref()
                .and_then(|p| p.as_oid().ok())
                .map(|o| o.to_id_string());
            match curve.as_deref() {
                Some("1.2.840.10045.3.1.7" | "1.3.132.0.34" | "1.3.132.0.35") => None,
                other => Some((
                    format!(
                        "EC key on the unusual curve {}",
                        other.unwrap_or("(unnamed)")
                    ),
                    Severity::Warning,
                )),
            }
        }
        _ => None,
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
        assert!(late.findings.iter().any(|f| f.id == FindingId::CertExpired));
        let early = ChainReport::from_der(&chain, i64::MIN, "localhost");
        let leaf = early.leaf().unwrap();
        assert!(leaf.days_left > 0 && leaf.not_yet_valid, "{leaf:?}");
        assert!(
            early
                .findings
                .iter()
                .any(|f| f.id == FindingId::CertNotYetValid)
        );
    }

    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};

    /// Root -> intermediate -> leaf for `localhost`, DER, with the time now.
    fn chain() -> (Vec<Vec<u8>>, i64) {
        let ca = |cn: &str| {
            let mut p = CertificateParams::default();
            p.distinguished_name.push(DnType::CommonName, cn);
            p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
            p
        };
        let root_key = KeyPair::generate().unwrap();
        let root_params = ca("Root");
        let root = root_params.self_signed(&root_key).unwrap();
        let root_issuer = Issuer::new(root_params, root_key);
        let int_key = KeyPair::generate().unwrap();
        let int_params = ca("Intermediate");
        let int = int_params.signed_by(&int_key, &root_issuer).unwrap();
        let int_issuer = Issuer::new(int_params, int_key);
        let mut leaf = CertificateParams::new(vec!["localhost".to_string()]).unwrap();
        leaf.distinguished_name
            .push(DnType::CommonName, "localhost");
        let today = OffsetDateTime::now_utc();
        leaf.not_before = today - time::Duration::days(1);
        leaf.not_after = today + time::Duration::days(90);
        let leaf = leaf
            .signed_by(&KeyPair::generate().unwrap(), &int_issuer)
            .unwrap();
        let now = OffsetDateTime::now_utc().unix_timestamp();
        (
            vec![leaf.der().to_vec(), int.der().to_vec(), root.der().to_vec()],
            now,
        )
    }

    fn ids(r: &ChainReport) -> Vec<&str> {
        r.findings.iter().map(|f| f.id.as_str()).collect()
    }

    #[test]
    fn in_order_chain_with_root_has_only_the_root_note() {
        let (c, now) = chain();
        let r = ChainReport::from_der(&c, now, "localhost");
        assert_eq!(r.certs.len(), 3);
        assert_eq!(ids(&r), vec!["root_sent"]);
        let facts = facts(&c, now);
        assert_eq!(issuer_path(&facts, &|_| false), vec![0, 1, 2]);
        // With the root as a trust anchor by name, the sent root still counts.
        let root_subject = facts[2].subject_raw.clone();
        assert_eq!(issuer_path(&facts, &|n| n == root_subject), vec![0, 1, 2]);
        assert_eq!(name_text(&facts[1].subject_raw), "CN=Intermediate");
    }

    #[test]
    fn out_of_order_extra_and_broken_certificates_are_each_named() {
        let (c, now) = chain();
        // Root before intermediate, plus garbage and a copy of the leaf.
        let sent = vec![
            c[0].clone(),
            c[2].clone(),
            c[1].clone(),
            b"junk".to_vec(),
            c[0].clone(),
        ];
        let r = ChainReport::from_der(&sent, now, "localhost");
        assert_eq!(r.certs.len(), 5, "every certificate gets a row");
        assert_eq!(r.certs[3].version, 0);
        let found = ids(&r);
        for id in ["cert_unparsable", "chain_order", "not_needed", "root_sent"] {
            assert!(found.contains(&id), "{id} in {found:?}");
        }
        let order = &r
            .findings
            .iter()
            .find(|f| f.id == FindingId::ChainOrder)
            .unwrap();
        assert!(order.summary.contains("0 -> 2 -> 1"), "{}", order.summary);
    }

    #[test]
    fn name_checks_list_sans() {
        let (c, now) = chain();
        let r = ChainReport::from_der(&c, now, "127.0.0.1");
        let f = r
            .findings
            .iter()
            .find(|f| f.id == FindingId::NameMismatch)
            .unwrap();
        assert!(
            f.summary.contains("127.0.0.1 is an IP address"),
            "{}",
            f.summary
        );
        assert!(f.summary.contains("DNS:localhost"), "{}", f.summary);
        assert!(
            ChainReport::from_der(&c, now, "LOCALHOST.")
                .findings
                .iter()
                .all(|f| f.id != FindingId::NameMismatch)
        );
        let none = ChainReport::from_der(&[], now, "x");
        assert_eq!(ids(&none), vec!["no_certificate"]);
    }

    #[test]
    fn time_makes_certificates_expire_and_expire_soon() {
        let (c, now) = chain();
        let soon = ChainReport::from_der(&c[..2], now + 80 * 86_400, "localhost");
        assert!(
            ids(&soon).contains(&"cert_expires_soon"),
            "{:?}",
            ids(&soon)
        );
        let late = ChainReport::from_der(&c[..2], now + 400 * 86_400, "localhost");
        assert!(ids(&late).contains(&"cert_expired"), "{:?}", ids(&late));
        let early = ChainReport::from_der(&c[..2], now - 400 * 86_400, "localhost");
        assert!(
            ids(&early).contains(&"cert_not_yet_valid"),
            "{:?}",
            ids(&early)
        );
    }
}

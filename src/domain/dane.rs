//! DANE for SMTP (RFC 7672) with TLSA records (RFC 6698, names from RFC
//! 7218): which TLSA record at `_25._tcp.MX` matches the chain the MX host
//! presented, or why none does, and what a DANE sender would do.
//!
//! ```text
//! Resolver::tlsa(mx, 25) -> Answer<Tlsa> (with its DNSSEC status)
//!                                   |
//! chain (DER, leaf first) ----------+--> match_chain -> DaneMatch (per record: matched at depth N,
//!                                   |                   no match, unusable, chain invalid)
//!                                   +--> assess -> DaneReport + findings
//! ```
//!
//! The rules applied (RFC 7672):
//! - TLSA records count only when DNSSEC-validated (§2.2): insecure ones are
//!   ignored by senders, bogus ones make a DANE sender defer delivery.
//! - DANE-EE(3) matches the leaf alone; its names and dates are not checked
//!   (§3.1.1). DANE-TA(2) matches an issuer in the chain (or the full
//!   certificate published in DNS), the chain must verify up to it and the
//!   leaf must be valid for the MX host name (§3.1.2, §3.2.3).
//! - PKIX-TA(0) and PKIX-EE(1) are not used for SMTP (§3.1.3); records with
//!   unknown parameters or a digest of the wrong length are unusable
//!   (RFC 6698 §2.1.3, §7). With no usable record, a DANE sender
//!   still insists on TLS but does not authenticate the server (§2.2).
//! - CNAME expansion of the TLSA base domain (§2.2.3) is not done: TLSA is
//!   looked up at the MX host name as published.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256, Sha512};
use x509_parser::certificate::X509Certificate;
use x509_parser::prelude::FromDer;

use super::dns::{Answer, DnssecStatus, Outcome};
use crate::finding::{Finding, FindingId, Severity, Stage};

/// TLSA certificate usage (RFC 6698 §2.1.1, acronyms from RFC 7218 §2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Usage {
    /// 0: PKIX-TA, a CA that must also be a public trust anchor.
    PkixTa,
    /// 1: PKIX-EE, the leaf, also PKIX-validated.
    PkixEe,
    /// 2: DANE-TA, a trust anchor named by DNS.
    DaneTa,
    /// 3: DANE-EE, the leaf itself.
    DaneEe,
    /// Any other value (unusable).
    Unknown(u8),
}

impl From<u8> for Usage {
    fn from(v: u8) -> Usage {
        match v {
            0 => Usage::PkixTa,
            1 => Usage::PkixEe,
            2 => Usage::DaneTa,
            3 => Usage::DaneEe,
            v => Usage::Unknown(v),
        }
    }
}

impl Usage {
    /// The value on the wire.
    pub fn value(self) -> u8 {
        match self {
            Usage::PkixTa => 0,
            Usage::PkixEe => 1,
            Usage::DaneTa => 2,
            Usage::DaneEe => 3,
            Usage::Unknown(v) => v,
        }
    }

    /// `DANE-EE(3)` and so on; `usage(7)` for unknown values.
    pub fn name(self) -> String {
        match self {
            Usage::PkixTa => "PKIX-TA(0)".into(),
            Usage::PkixEe => "PKIX-EE(1)".into(),
            Usage::DaneTa => "DANE-TA(2)".into(),
            Usage::DaneEe => "DANE-EE(3)".into(),
            Usage::Unknown(v) => format!("usage({v})"),
        }
    }
}

/// TLSA selector (RFC 6698 §2.1.2, RFC 7218 §2.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Selector {
    /// 0: the full certificate (DER).
    Cert,
    /// 1: the SubjectPublicKeyInfo (DER).
    Spki,
    /// Any other value (unusable).
    Unknown(u8),
}

impl From<u8> for Selector {
    fn from(v: u8) -> Selector {
        match v {
            0 => Selector::Cert,
            1 => Selector::Spki,
            v => Selector::Unknown(v),
        }
    }
}

impl Selector {
    /// The value on the wire.
    pub fn value(self) -> u8 {
        match self {
            Selector::Cert => 0,
            Selector::Spki => 1,
            Selector::Unknown(v) => v,
        }
    }

    /// `Cert(0)`, `SPKI(1)`, `selector(N)`.
    pub fn name(self) -> String {
        match self {
            Selector::Cert => "Cert(0)".into(),
            Selector::Spki => "SPKI(1)".into(),
            Selector::Unknown(v) => format!("selector({v})"),
        }
    }
}

/// TLSA matching type (RFC 6698 §2.1.3, RFC 7218 §2.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MatchingType {
    /// 0: the selected bytes themselves.
    Full,
    /// 1: SHA-256 of the selected bytes (32 bytes).
    Sha256,
    /// 2: SHA-512 of the selected bytes (64 bytes).
    Sha512,
    /// Any other value (unusable).
    Unknown(u8),
}

impl From<u8> for MatchingType {
    fn from(v: u8) -> MatchingType {
        match v {
            0 => MatchingType::Full,
            1 => MatchingType::Sha256,
            2 => MatchingType::Sha512,
            v => MatchingType::Unknown(v),
        }
    }
}

impl MatchingType {
    /// The value on the wire.
    pub fn value(self) -> u8 {
        match self {
            MatchingType::Full => 0,
            MatchingType::Sha256 => 1,
            MatchingType::Sha512 => 2,
            MatchingType::Unknown(v) => v,
        }
    }

    /// `Full(0)`, `SHA2-256(1)`, `SHA2-512(2)`, `matching(N)`.
    pub fn name(self) -> String {
        match self {
            MatchingType::Full => "Full(0)".into(),
            MatchingType::Sha256 => "SHA2-256(1)".into(),
            MatchingType::Sha512 => "SHA2-512(2)".into(),
            MatchingType::Unknown(v) => format!("matching({v})"),
        }
    }

    /// The digest length in bytes, `None` for Full and unknown types.
    fn digest_len(self) -> Option<usize> {
        match self {
            MatchingType::Sha256 => Some(32),
            MatchingType::Sha512 => Some(64),
            _ => None,
        }
    }
}

/// One TLSA record (RFC 6698 §2.1).
///
/// ```text
/// _25._tcp.mx.example.test. TLSA 3 1 1 8f0c...e2   (usage selector matching data)
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Tlsa {
    pub usage: Usage,
    pub selector: Selector,
    pub matching: MatchingType,
    /// Certificate association data: bytes, or a digest of them.
    pub data: Vec<u8>,
}

impl Tlsa {
    /// The presentation form: `3 1 1 8f0c…` (lower-case hex).
    pub fn to_text(&self) -> String {
        format!(
            "{} {} {} {}",
            self.usage.value(),
            self.selector.value(),
            self.matching.value(),
            hex(&self.data)
        )
    }

    /// `DANE-EE(3) SPKI(1) SHA2-256(1) 8f0c…` with the data cut to 16 hex digits.
    pub fn describe(&self) -> String {
        let mut h = hex(&self.data);
        if h.len() > 16 {
            h.truncate(16);
            h.push('…');
        }
        format!(
            "{} {} {} {h}",
            self.usage.name(),
            self.selector.name(),
            self.matching.name()
        )
    }

    /// Parses the presentation form `U S M HEX` (hex may contain spaces).
    ///
    /// # Errors
    /// A message naming the bad field.
    pub fn parse(text: &str) -> Result<Tlsa, String> {
        let mut parts = text.split_whitespace();
        let mut num = |what: &str| -> Result<u8, String> {
            let p = parts
                .next()
                .ok_or_else(|| format!("TLSA record lacks its {what}"))?;
            p.parse::<u8>()
                .map_err(|_| format!("TLSA {what} {p:?} is not a number 0-255"))
        };
        let usage = num("usage")?;
        let selector = num("selector")?;
        let matching = num("matching type")?;
        let hexdata: String = parts.collect();
        let data = unhex(&hexdata).ok_or_else(|| format!("TLSA data {hexdata:?} is not hex"))?;
        if data.is_empty() {
            return Err("TLSA record has no data".into());
        }
        Ok(Tlsa {
            usage: usage.into(),
            selector: selector.into(),
            matching: matching.into(),
            data,
        })
    }

    /// Why this record cannot be used by an SMTP sender, if it cannot.
    pub fn unusable(&self) -> Option<Unusable> {
        match self.usage {
            Usage::PkixTa | Usage::PkixEe => return Some(Unusable::PkixUsage(self.usage.value())),
            Usage::Unknown(v) => return Some(Unusable::UnknownUsage(v)),
            Usage::DaneTa | Usage::DaneEe => {}
        }
        if let Selector::Unknown(v) = self.selector {
            return Some(Unusable::UnknownSelector(v));
        }
        if let MatchingType::Unknown(v) = self.matching {
            return Some(Unusable::UnknownMatchingType(v));
        }
        if let Some(expected) = self.matching.digest_len() {
            if self.data.len() != expected {
                return Some(Unusable::BadDigestLength {
                    expected,
                    got: self.data.len(),
                });
            }
        }
        None
    }
}

impl Serialize for Tlsa {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_text())
    }
}

impl<'de> Deserialize<'de> for Tlsa {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Tlsa::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// Why a TLSA record is unusable for SMTP.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Unusable {
    /// Usage 0 or 1: not used for SMTP (RFC 7672 §3.1.3).
    PkixUsage(u8),
    /// A usage value with no meaning (RFC 6698 §7.2).
    UnknownUsage(u8),
    /// A selector value with no meaning (RFC 6698 §7.3).
    UnknownSelector(u8),
    /// A matching type with no meaning (RFC 6698 §7.4).
    UnknownMatchingType(u8),
    /// A digest of the wrong length for its matching type (RFC 6698 §2.1.3).
    BadDigestLength { expected: usize, got: usize },
}

impl Unusable {
    /// The reason in one sentence.
    pub fn text(&self) -> String {
        match self {
            Unusable::PkixUsage(u) => format!(
                "usage {u} ({}) is not used for SMTP: senders treat the record as unusable (RFC 7672 §3.1.3)",
                Usage::from(*u).name()
            ),
            Unusable::UnknownUsage(u) => format!("usage {u} is not defined"),
            Unusable::UnknownSelector(s) => format!("selector {s} is not defined"),
            Unusable::UnknownMatchingType(m) => format!("matching type {m} is not defined"),
            Unusable::BadDigestLength { expected, got } => {
                format!("the digest is {got} bytes long, the matching type needs {expected}")
            }
        }
    }
}

/// What one TLSA record did against the chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum RecordVerdict {
    /// The record matches the certificate at `depth` (0 = leaf), and for
    /// DANE-TA the chain verifies to it with the MX host name. `depth` is
    /// `None` for a DANE-TA certificate published in full in DNS and not
    /// sent by the server.
    Matched { depth: Option<usize> },
    /// The record matches no certificate it may match.
    NoMatch { reason: String },
    /// DANE-TA: the record names a certificate, but the chain does not
    /// verify up to it or the leaf is not valid for the MX host name.
    ChainInvalid {
        depth: Option<usize>,
        reason: String,
    },
    /// The record cannot be used.
    Unusable { why: Unusable },
}

/// One record and its verdict.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordResult {
    pub record: Tlsa,
    pub verdict: RecordVerdict,
}

/// All records against one chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DaneMatch {
    /// In the order of the TLSA RRset.
    pub records: Vec<RecordResult>,
    /// Index in `records` of the first record that matched.
    pub matched: Option<usize>,
}

impl DaneMatch {
    /// The record that matched, if any.
    pub fn matched_record(&self) -> Option<&Tlsa> {
        self.matched.map(|i| &self.records[i].record)
    }

    /// True when at least one record is usable (RFC 7672 §2.2).
    pub fn any_usable(&self) -> bool {
        self.records
            .iter()
            .any(|r| !matches!(r.verdict, RecordVerdict::Unusable { .. }))
    }
}

/// The bytes a selector picks from one certificate, or why not.
fn selected(selector: Selector, der: &[u8]) -> Result<&[u8], String> {
    match selector {
        Selector::Cert => Ok(der),
        Selector::Spki => X509Certificate::from_der(der)
            .map(|(_, c)| c.tbs_certificate.subject_pki.raw)
            .map_err(|e| format!("a certificate does not parse: {e}")),
        Selector::Unknown(v) => Err(format!("selector {v} is not defined")),
    }
}

/// True when `record` matches the certificate `der`.
fn matches_cert(record: &Tlsa, der: &[u8]) -> bool {
    let Ok(bytes) = selected(record.selector, der) else {
        return false;
    };
    match record.matching {
        MatchingType::Full => bytes == record.data.as_slice(),
        MatchingType::Sha256 => Sha256::digest(bytes).as_slice() == record.data.as_slice(),
        MatchingType::Sha512 => Sha512::digest(bytes).as_slice() == record.data.as_slice(),
        MatchingType::Unknown(_) => false,
    }
}

/// Matches every record against `chain` (DER, leaf first, as sent) for
/// the MX host `mx_host` at `now` (Unix seconds). See the module docs for
/// the rules. Never fails: bad certificates make records not match.
pub fn match_chain(records: &[Tlsa], chain: &[Vec<u8>], mx_host: &str, now: u64) -> DaneMatch {
    let mut results = Vec::with_capacity(records.len());
    for record in records {
        let verdict = if let Some(why) = record.unusable() {
            RecordVerdict::Unusable { why }
        } else if chain.is_empty() {
            RecordVerdict::NoMatch {
                reason: "the server presented no certificate".into(),
            }
        } else {
            match record.usage {
                Usage::DaneEe => match_ee(record, chain),
                _ => match_ta(record, chain, mx_host, now),
            }
        };
        results.push(RecordResult {
            record: record.clone(),
            verdict,
        });
    }
    let matched = results
        .iter()
        .position(|r| matches!(r.verdict, RecordVerdict::Matched { .. }));
    DaneMatch {
        records: results,
        matched,
    }
}

fn match_ee(record: &Tlsa, chain: &[Vec<u8>]) -> RecordVerdict {
    // Only the leaf; names and dates are not checked (RFC 7672 §3.1.1).
    if matches_cert(record, &chain[0]) {
        return RecordVerdict::Matched { depth: Some(0) };
    }
    let reason = match chain.iter().skip(1).position(|c| matches_cert(record, c)) {
        Some(i) => format!(
            "it matches certificate {} (an issuer), but DANE-EE(3) must match the leaf: publish it as DANE-TA(2)",
            i + 1
        ),
        None => match selected(record.selector, &chain[0]) {
            Err(e) => e,
            Ok(_) => format!(
                "the leaf's {} does not match",
                match record.selector {
                    Selector::Spki => "public key (SPKI)",
                    _ => "certificate",
                }
            ),
        },
    };
    RecordVerdict::NoMatch { reason }
}

fn match_ta(record: &Tlsa, chain: &[Vec<u8>], mx_host: &str, now: u64) -> RecordVerdict {
    // The trust anchor is an issuer: depth 1 and up (RFC 7672 §3.1.2).
    let hit = chain
        .iter()
        .enumerate()
        .skip(1)
        .find(|(_, c)| matches_cert(record, c));
    let (depth, anchor): (Option<usize>, Vec<u8>) = match hit {
        Some((d, c)) => (Some(d), c.clone()),
        // A full certificate published in DNS may be left out of the chain.
        None if record.selector == Selector::Cert && record.matching == MatchingType::Full => {
            (None, record.data.clone())
        }
        None => {
            let reason = if matches_cert(record, &chain[0]) {
                "it matches the leaf, but DANE-TA(2) must match an issuer: publish it as DANE-EE(3)"
                    .to_string()
            } else if chain.len() == 1 {
                "the server sent only its leaf, so there is no issuer to match: send the chain, or publish the issuer in full (2 0 0)"
                    .to_string()
            } else {
                format!(
                    "no issuer among the {} certificates sent matches",
                    chain.len() - 1
                )
            };
            return RecordVerdict::NoMatch { reason };
        }
    };
    match crate::tls::pkix::verify_to_anchor(chain, &anchor, mx_host, now) {
        Ok(()) => RecordVerdict::Matched { depth },
        Err(reason) => RecordVerdict::ChainInvalid { depth, reason },
    }
}

/// DANE for one MX host: its TLSA answer, the match against the chain it
/// presented (when known), and the findings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DaneReport {
    /// The MX host name.
    pub host: String,
    /// The TLSA lookup at `_25._tcp.HOST`.
    pub tlsa: Answer<Tlsa>,
    /// True when a DANE sender applies DANE to this host: validated TLSA
    /// records exist (RFC 7672 §2.2).
    pub applies: bool,
    /// The records against the chain; `None` when no chain was given or
    /// there are no records.
    pub matching: Option<DaneMatch>,
    pub findings: Vec<Finding>,
}

/// Applies the RFC 7672 rules to one MX host's TLSA answer and, when
/// given, the chain it presented on port 25 (DER, leaf first) at `now`
/// (Unix seconds). `mx_dnssec` is the status of the answer that named the
/// host (the MX RRset, [`super::mx::MxReport::host_list_dnssec`]): DANE
/// applies only when it is validated too (RFC 7672 §2.2.1).
pub fn assess(
    host: &str,
    tlsa: Answer<Tlsa>,
    mx_dnssec: DnssecStatus,
    chain: Option<&[Vec<u8>]>,
    now: u64,
) -> DaneReport {
    let mut findings = Vec::new();
    let rrset_text = tlsa
        .records
        .iter()
        .map(|r| format!("{}. TLSA {}", tlsa.name, r.to_text()))
        .collect::<Vec<_>>()
        .join("\n");
    let has_records = tlsa.outcome == Outcome::Records;
    let applies = has_records
        && tlsa.dnssec == DnssecStatus::Validated
        && mx_dnssec == DnssecStatus::Validated;
    if has_records {
        match tlsa.dnssec {
            DnssecStatus::Validated if mx_dnssec != DnssecStatus::Validated => findings.push(
                Finding::new(
                    FindingId::DaneTlsaInsecure,
                    Severity::Warning,
                    Stage::Dns,
                    format!(
                        "the TLSA records of {host} are validated, but the MX records naming it are not ({mx_dnssec})"
                    ),
                    "An attacker who can forge the unsigned MX answer can name a host without TLSA records, so senders do not apply DANE here: sign the zone that holds the MX records.",
                    "RFC 7672 §2.2.1",
                )
                .with_evidence(rrset_text.clone().into_bytes()),
            ),
            DnssecStatus::Validated => {}
            DnssecStatus::Bogus => findings.push(
                Finding::new(
                    FindingId::DaneTlsaBogus,
                    Severity::Error,
                    Stage::Dns,
                    format!("the TLSA records of {host} fail DNSSEC validation (bogus)"),
                    "A DANE sender cannot tell an attack from a mistake: it defers mail for this MX host and retries; fix the signatures or the DS records of the zone.",
                    "RFC 7672 §2.1.1",
                )
                .with_evidence(rrset_text.clone().into_bytes()),
            ),
            _ => findings.push(
                Finding::new(
                    FindingId::DaneTlsaInsecure,
                    Severity::Warning,
                    Stage::Dns,
                    format!(
                        "{host} publishes TLSA records, but the answer is not DNSSEC-validated ({})",
                        tlsa.dnssec
                    ),
                    "Senders ignore TLSA records that DNSSEC does not validate, so DANE does not protect this host: sign the zone and publish its DS record in the parent.",
                    "RFC 7672 §2.2",
                )
                .with_evidence(rrset_text.clone().into_bytes()),
            ),
        }
    }
    if let Outcome::Failed(reason) = &tlsa.outcome {
        findings.push(Finding::new(
            FindingId::DnsLookupFailed,
            Severity::Warning,
            Stage::Dns,
            format!("the TLSA lookup at {} failed: {reason}", tlsa.name),
            "For an MX host in a signed zone, a DANE sender defers mail when the TLSA lookup fails for any reason other than a validated denial.",
            "RFC 7672 §2.1.1, §2.2.3",
        ));
    }
    let matching = match (has_records, chain) {
        (true, Some(chain)) => Some(match_chain(&tlsa.records, chain, host, now)),
        _ => None,
    };
    // Unusable records are worth a finding even when DANE does not apply:
    // they will be the problem once the zone is signed.
    for r in &tlsa.records {
        if let Some(why) = r.unusable() {
            findings.push(
                Finding::new(
                    FindingId::DaneTlsaUnusable,
                    Severity::Warning,
                    Stage::Policy,
                    format!("TLSA record {} of {host} is unusable: {}", r.describe(), why.text()),
                    "Publish DANE-EE(3) or DANE-TA(2) records with selector 0/1 and matching type 1 (SHA2-256) or 2 (SHA2-512).",
                    "RFC 7672 §3.1.3; RFC 6698 §2.1",
                )
                .with_evidence(format!("{}. TLSA {}", tlsa.name, r.to_text()).into_bytes()),
            );
        }
    }
    if let Some(m) = &matching {
        if !m.any_usable() {
            if applies {
                findings.push(Finding::new(
                    FindingId::DaneNoUsableRecord,
                    Severity::Warning,
                    Stage::Policy,
                    format!("no TLSA record of {host} is usable"),
                    "A DANE sender still requires STARTTLS with this host but cannot authenticate it; publish a usable DANE-EE(3) or DANE-TA(2) record.",
                    "RFC 7672 §2.2",
                ));
            }
        } else if m.matched.is_none() {
            let reasons: Vec<String> = m
                .records
                .iter()
                .filter_map(|r| match &r.verdict {
                    RecordVerdict::NoMatch { reason }
                    | RecordVerdict::ChainInvalid { reason, .. } => {
                        Some(format!("{}: {reason}", r.record.describe()))
                    }
                    _ => None,
                })
                .collect();
            let (severity, advice) = if applies {
                (
                    Severity::Error,
                    "A DANE sender will not deliver to this host: it defers the mail and retries until the records or the certificate are fixed. Publish a TLSA record for the certificate the host presents before switching certificates (RFC 7671).",
                )
            } else {
                (
                    Severity::Warning,
                    "The records are not DNSSEC-validated, so senders ignore them today; they would fail delivery once the zone is signed.",
                )
            };
            findings.push(
                Finding::new(
                    FindingId::DaneMismatch,
                    severity,
                    Stage::Policy,
                    format!(
                        "no TLSA record of {host} matches the certificate chain it presented: {}",
                        reasons.join("; ")
                    ),
                    advice,
                    "RFC 7672 §3.1; RFC 6698 §2.1",
                )
                .with_evidence(rrset_text.clone().into_bytes()),
            );
        }
    }
    DaneReport {
        host: host.to_string(),
        tlsa,
        applies,
        matching,
        findings,
    }
}

/// Lower-case hex of `bytes`.
pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[usize::from(b >> 4)] as char);
        s.push(DIGITS[usize::from(b & 15)] as char);
    }
    s
}

/// Bytes of a hex string (either case); `None` on odd length or a non-hex digit.
pub(crate) fn unhex(s: &str) -> Option<Vec<u8>> {
    let s = s.as_bytes();
    if s.len() % 2 != 0 {
        return None;
    }
    let val = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
    s.chunks(2)
        .map(|p| Some(val(p[0])? << 4 | val(p[1])?))
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn presentation_form_round_trips() {
        let t =
            Tlsa::parse("3 1 1 0123456789ABCDEF0123456789abcdef 0123456789abcdef0123456789abcdef")
                .unwrap();
        assert_eq!(t.usage, Usage::DaneEe);
        assert_eq!(t.selector, Selector::Spki);
        assert_eq!(t.matching, MatchingType::Sha256);
        assert_eq!(t.data.len(), 32);
        assert_eq!(Tlsa::parse(&t.to_text()).unwrap(), t);
        assert!(
            t.describe()
                .starts_with("DANE-EE(3) SPKI(1) SHA2-256(1) 0123456789abcdef…")
        );
        assert_eq!(t.unusable(), None);
    }

    #[test]
    fn malformed_presentation_forms() {
        for bad in [
            "",
            "3",
            "3 1",
            "3 1 1",
            "3 1 1 abc",
            "3 1 1 zz",
            "300 1 1 00",
            "a 1 1 00",
        ] {
            assert!(Tlsa::parse(bad).is_err(), "{bad:?} parsed");
        }
    }

    #[test]
    fn unusable_records() {
        let t = |s: &str| Tlsa::parse(s).unwrap().unusable();
        assert_eq!(t("0 0 1 00"), Some(Unusable::PkixUsage(0)));
        assert_eq!(t("1 1 0 00"), Some(Unusable::PkixUsage(1)));
        assert_eq!(t("4 1 0 00"), Some(Unusable::UnknownUsage(4)));
        assert_eq!(t("3 2 0 00"), Some(Unusable::UnknownSelector(2)));
        assert_eq!(t("3 1 3 00"), Some(Unusable::UnknownMatchingType(3)));
        assert_eq!(
            t("3 1 1 0011"),
            Some(Unusable::BadDigestLength {
                expected: 32,
                got: 2
            })
        );
        assert_eq!(
            t(&format!("2 0 2 {}", "ab".repeat(32))),
            Some(Unusable::BadDigestLength {
                expected: 64,
                got: 32
            })
        );
        assert_eq!(t("3 0 0 3082"), None);
        assert_eq!(Usage::from(255).name(), "usage(255)");
    }

    #[test]
    fn hex_round_trip() {
        assert_eq!(hex(&[0, 0xab, 0xff]), "00abff");
        assert_eq!(unhex("00ABff"), Some(vec![0, 0xab, 0xff]));
        assert_eq!(unhex("0"), None);
        assert_eq!(unhex("g0"), None);
        assert_eq!(unhex(""), Some(vec![]));
    }

    #[test]
    fn no_chain_no_match() {
        let t = Tlsa::parse(&format!("3 1 1 {}", "00".repeat(32))).unwrap();
        let m = match_chain(&[t], &[], "mx.example.test", 0);
        assert!(matches!(
            m.records[0].verdict,
            RecordVerdict::NoMatch { .. }
        ));
        assert_eq!(m.matched, None);
    }

    #[test]
    fn garbage_certificate_matches_nothing_and_does_not_panic() {
        let t = Tlsa::parse(&format!("3 1 1 {}", "00".repeat(32))).unwrap();
        let m = match_chain(
            std::slice::from_ref(&t),
            &[b"not a certificate".to_vec()],
            "mx",
            0,
        );
        assert_eq!(m.matched, None);
        let ta = Tlsa::parse(&format!("2 1 1 {}", "00".repeat(32))).unwrap();
        let m = match_chain(&[ta], &[b"x".to_vec(), b"y".to_vec()], "mx", 0);
        assert_eq!(m.matched, None);
    }
}
